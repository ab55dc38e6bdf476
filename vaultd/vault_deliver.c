/*
 * Copyright (c) 2026 The Tresor developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * Group commit of deliveries into unlocked accounts.
 *
 * Delivering one message into an unlocked mailbox costs a synced SQLite
 * transaction (with its full-text rows) and then a second synced write
 * of the account's commit counter to directory.db.  Done one message at
 * a time that is two syncs per message, and smtpd's sessions wait for
 * each other's syncs in line.  Here the deliveries that arrive while
 * the loop is busy are collected into a group, and the group is
 * committed at once:
 *
 *	1. per account, one transaction appends all of the group's
 *	   messages for it to INBOX (mbox_append_many(): consecutive
 *	   uids, no flags, as a single delivery had), committed and
 *	   synced (synchronous=FULL);
 *	2. then one directory transaction, synced, records the commit
 *	   counter of every mailbox step 1 committed;
 *	3. then, and only then, every delivery of the group is answered.
 *
 * When a group closes.  A channel's read takes at most one message
 * that carries an fd (Linux ends a recvmsg() at the first one), so a
 * backlog of deliveries from smtpd comes in one per pass of the event
 * loop.  The group therefore stays open while the loop keeps bringing
 * deliveries: a timer of zero timeout, which libevent runs after the
 * input that was ready in its pass, closes the group at the first pass
 * that brought none.  A lone message costs one idle pass, no sleep.
 * Bounds: a group closes at once at DELIVER_GROUP_MAX messages or
 * DELIVER_GROUP_BYTES of bundles, and after DELIVER_GROUP_WAIT_MS from
 * its first message even if deliveries keep coming.  The bundles are
 * copies in our memory (bundle_map()), wiped when freed.
 *
 * Who waits for what.  smtpd answers 250 only on MBOX_OK, and MBOX_OK
 * is sent only in step 3, after both syncs: a 250 never precedes the
 * durability of its message, nor the directory record that guards that
 * message's mailbox against a rollback.  A message waits for the group
 * to close (bounded as above) and for the group's commit.
 *
 * Failures.  An account whose transaction fails has its messages
 * tried again one transaction each, so that one message the mailbox
 * refuses (a size limit, say) does not hold back the others; what
 * still fails is MBOX_ETEMP and smtpd answers 4xx.  Other accounts of
 * the group are not touched.  If the directory write fails, each
 * account's counter is tried on its own, and the deliveries of an
 * account whose counter could not be recorded are MBOX_ETEMP, as a
 * single delivery was when its counter write failed (the message is in
 * the mailbox; the sender will try again, so it may come twice).
 *
 * A crash.  Before step 1's commit: nothing of that account's share is
 * stored and nothing was acknowledged.  Between a mailbox commit and
 * step 2: the messages are in the mailbox and its counter is ahead of
 * the directory's record, exactly as a crash between the two writes of
 * a single delivery left it; an unlock accepts a counter higher than
 * the record (docs/storage.md).  Nothing was acknowledged, so the
 * senders send again and those messages may be stored twice; none is
 * lost.  After step 2 and before step 3: the same, with the record up
 * to date.
 *
 * An account can lock (its grace ends, or it is deleted) between the
 * arrival of a delivery and its group's commit: the account is looked
 * up again at the commit, and a delivery whose account is no longer
 * unlocked takes the single path (account_deliver(): sealed into the
 * spool, or refused if the account is gone).  Deliveries into a locked
 * account never join a group: they are sealed into the spool at once,
 * as before.  A front whose channel goes away has its waiting
 * deliveries forgotten (deliver_cancel()): they were not acknowledged,
 * and a new channel must not get answers meant for the old one.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "log.h"
#include "vaultd.h"

struct delivery {
	TAILQ_ENTRY(delivery)	 entry;
	deliver_done_cb		 done;
	void			*arg;
	uint32_t		 reqid;
	int			 status;
	int			 handled;	/* appended or refused */
	int			 committed;	/* in its mailbox */
	struct vault_account	*a;		/* looked up at commit */
	unsigned char		 id[ACCOUNT_ID_LEN];
	char			 address[ADDRESS_MAX];
	void			*data;		/* bundle_map()'s copy */
	size_t			 len;
	struct bundle		 b;		/* points into data */
};

TAILQ_HEAD(delivery_list, delivery);

/* A group's share for one account is one mbox_append_many() call. */
_Static_assert(DELIVER_GROUP_MAX <= MBOX_APPEND_MAX,
    "a delivery group must fit one append");

static struct delivery_list	 group = TAILQ_HEAD_INITIALIZER(group);
static size_t			 group_n;
static size_t			 group_bytes;
static struct event		 group_ev;
static int			 group_ev_set;
static int			 group_added;	/* since the timer last ran */
static struct timespec		 group_opened;

static void	 deliver_timer(int, short, void *);
static long long deliver_ms_since(const struct timespec *);
static void	 deliver_free(struct delivery *);
static size_t	 deliver_account(struct delivery_list *, struct delivery *);
static void	 deliver_counters(struct vault_account **, size_t,
		    struct delivery_list *);

static void
deliver_free(struct delivery *d)
{
	if (d->data != NULL)
		bundle_unmap(d->data, d->len);
	free(d);
}

/*
 * A delivery from a front: answered now when it is refused or goes to
 * the spool, else put into the open group.
 */
void
deliver_submit(const char *address, void *data, size_t len,
    deliver_done_cb done, void *arg, uint32_t reqid)
{
	struct dir_account	 da;
	struct vault_account	*a;
	struct delivery		*d;
	struct timeval		 tv;
	int			 rc;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("%s", __func__);
		bundle_unmap(data, len);
		done(arg, reqid, MBOX_ETEMP);
		return;
	}
	d->done = done;
	d->arg = arg;
	d->reqid = reqid;
	d->data = data;
	d->len = len;
	if (bundle_parse(data, len, &d->b) == -1)
		d->status = MBOX_EINVAL;
	else if ((rc = dir_account_get(address, &da)) != DIR_OK)
		d->status = rc == DIR_ENOTFOUND ? MBOX_ENOTFOUND : MBOX_ETEMP;
	else if ((a = account_unlocked(da.id)) == NULL || a->import != NULL)
		/* Locked, or its spool still going in: behind the spool. */
		d->status = account_seal(&da, data, len);
	else {
		memcpy(d->id, da.id, sizeof(d->id));
		strlcpy(d->address, da.address, sizeof(d->address));
		if (group_n == 0 &&
		    clock_gettime(CLOCK_MONOTONIC, &group_opened) == -1)
			fatal("clock_gettime");
		TAILQ_INSERT_TAIL(&group, d, entry);
		group_n++;
		group_bytes += len;
		group_added = 1;
		if (group_n >= DELIVER_GROUP_MAX ||
		    group_bytes >= DELIVER_GROUP_BYTES) {
			deliver_flush();
			return;
		}
		if (!group_ev_set) {
			evtimer_set(&group_ev, deliver_timer, NULL);
			group_ev_set = 1;
		}
		/* Zero: after the input that is ready now has been read. */
		if (!evtimer_pending(&group_ev, NULL)) {
			timerclear(&tv);
			evtimer_add(&group_ev, &tv);
		}
		return;
	}
	d->done(d->arg, d->reqid, d->status);
	deliver_free(d);
}

/* Milliseconds from then to now (CLOCK_MONOTONIC). */
static long long
deliver_ms_since(const struct timespec *then)
{
	struct timespec	 now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		fatal("clock_gettime");
	return ((long long)(now.tv_sec - then->tv_sec) * 1000 +
	    (now.tv_nsec - then->tv_nsec) / 1000000);
}

/*
 * After a pass of the loop: one that brought deliveries leaves the
 * group open for another pass, within DELIVER_GROUP_WAIT_MS.
 */
static void
deliver_timer(int fd, short event, void *arg)
{
	struct timeval	 tv;

	(void)fd;
	(void)event;
	(void)arg;
	if (group_added &&
	    deliver_ms_since(&group_opened) < DELIVER_GROUP_WAIT_MS) {
		group_added = 0;
		timerclear(&tv);
		evtimer_add(&group_ev, &tv);
		return;
	}
	deliver_flush();
}

/* Deliveries waiting in the open group. */
size_t
deliver_pending(void)
{
	return (group_n);
}

/*
 * A front's channel is gone: its deliveries in the open group were not
 * acknowledged and nobody is left to hear of them.  They are dropped
 * unstored (their senders will try again) and their callbacks are not
 * called.
 */
void
deliver_cancel(void *arg)
{
	struct delivery	*d, *tmp;

	TAILQ_FOREACH_SAFE(d, &group, entry, tmp) {
		if (d->arg != arg)
			continue;
		TAILQ_REMOVE(&group, d, entry);
		group_n--;
		group_bytes -= d->len;
		deliver_free(d);
	}
	if (group_n == 0 && group_ev_set)
		evtimer_del(&group_ev);
}

/*
 * Step 1 for the account of d: every delivery of the group for it in
 * one transaction; if that fails, each in its own.  Returns how many
 * are now committed.
 */
static size_t
deliver_account(struct delivery_list *g, struct delivery *first)
{
	struct mbox_append_one	 one[DELIVER_GROUP_MAX];
	struct delivery		*ds[DELIVER_GROUP_MAX], *d;
	struct vault_account	*a = first->a;
	uint32_t		 uid, uidvalidity;
	size_t			 i, n = 0, ok = 0;
	int			 rc;

	TAILQ_FOREACH(d, g, entry) {
		if (d->handled || d->a != a || n == DELIVER_GROUP_MAX)
			continue;
		d->handled = 1;
		one[n].b = &d->b;
		one[n].flags = 0;
		one[n].keywords = "";
		ds[n++] = d;
	}
	if ((rc = mbox_append_many(a->mbox, "INBOX", one, n, &uidvalidity,
	    &uid)) == MBOX_OK) {
		for (i = 0; i < n; i++) {
			ds[i]->status = MBOX_OK;
			ds[i]->committed = 1;
			log_debug("%s: delivered as uid %u", a->address,
			    uid + (uint32_t)i);
		}
		return (n);
	}
	if (n > 1)
		log_warnx("%s: a group of %zu deliveries failed (%d); "
		    "trying each alone", a->address, n, rc);
	for (i = 0; i < n; i++) {
		ds[i]->status = MBOX_ETEMP;
		if (n == 1 || mbox_append(a->mbox, "INBOX", &ds[i]->b, 0, "",
		    &uidvalidity, &uid) != MBOX_OK)
			continue;
		ds[i]->status = MBOX_OK;
		ds[i]->committed = 1;
		log_debug("%s: delivered as uid %u", a->address, uid);
		ok++;
	}
	return (ok);
}

/*
 * Step 2: the counters of the n accounts that committed, in one
 * directory transaction.  Should it fail, each account on its own; the
 * deliveries of an account whose counter is not recorded fail.
 */
static void
deliver_counters(struct vault_account **acc, size_t n,
    struct delivery_list *g)
{
	struct dir_counter	 c[DELIVER_GROUP_MAX];
	struct delivery		*d;
	unsigned char		 ps[DELIVER_GROUP_MAX][DIR_STATE_LEN];
	size_t			 i;

	for (i = 0; i < n; i++) {
		c[i].id = acc[i]->id;
		c[i].counter = mbox_counter(acc[i]->mbox);
		c[i].pagestate = account_pagestate(acc[i], ps[i]);
	}
	if (dir_counters_set(c, n) == DIR_OK)
		return;
	log_warnx("cannot record the commit counters of a delivery group; "
	    "trying each account alone");
	for (i = 0; i < n; i++) {
		if (dir_counter_set(c[i].id, c[i].counter, c[i].pagestate) ==
		    DIR_OK)
			continue;
		log_warnx("%s: cannot record the commit counter",
		    acc[i]->address);
		TAILQ_FOREACH(d, g, entry)
			if (d->a == acc[i] && d->committed)
				d->status = MBOX_ETEMP;
	}
}

/*
 * Close the open group and commit it: the three steps at the top of
 * this file, in that order.
 */
void
deliver_flush(void)
{
	struct delivery_list	 g = TAILQ_HEAD_INITIALIZER(g);
	struct vault_account	*acc[DELIVER_GROUP_MAX];
	struct delivery		*d;
	struct timespec		 t0, t1;
	long long		 waited, mailboxes, directory;
	size_t			 nacc = 0, n, ncommitted = 0, nsingle = 0, i;

	if (group_ev_set)
		evtimer_del(&group_ev);
	TAILQ_CONCAT(&g, &group, entry);
	n = group_n;
	group_n = 0;
	group_bytes = 0;
	group_added = 0;
	if (n == 0)
		return;
	waited = deliver_ms_since(&group_opened);
	if (clock_gettime(CLOCK_MONOTONIC, &t0) == -1)
		fatal("clock_gettime");

	/*
	 * Each account as it is now; one that locked, or began importing
	 * its spool, meanwhile takes the single path (the spool).
	 */
	TAILQ_FOREACH(d, &g, entry) {
		if ((d->a = account_unlocked(d->id)) != NULL &&
		    d->a->import == NULL)
			continue;
		d->handled = 1;
		d->status = account_deliver(d->address, d->data, d->len);
		nsingle++;
	}
	/* Step 1, account by account. */
	TAILQ_FOREACH(d, &g, entry) {
		if (d->handled)
			continue;
		if (deliver_account(&g, d) > 0 && nacc < DELIVER_GROUP_MAX)
			acc[nacc++] = d->a;
	}
	mailboxes = deliver_ms_since(&t0);
	if (clock_gettime(CLOCK_MONOTONIC, &t1) == -1)
		fatal("clock_gettime");
	/* Step 2: one directory write for the group. */
	deliver_counters(acc, nacc, &g);
	directory = deliver_ms_since(&t1);
	for (i = 0; i < nacc; i++)
		account_changed(acc[i]);
	/* Step 3: only now the answers. */
	while ((d = TAILQ_FIRST(&g)) != NULL) {
		TAILQ_REMOVE(&g, d, entry);
		if (d->committed && d->status == MBOX_OK)
			ncommitted++;
		d->done(d->arg, d->reqid, d->status);
		deliver_free(d);
	}
	log_debug("delivery group: %zu message%s, %zu committed into %zu "
	    "account%s, %zu by the single path; waited %lld ms, mailboxes "
	    "%lld ms, directory %lld ms", n, n == 1 ? "" : "s", ncommitted,
	    nacc, nacc == 1 ? "" : "s", nsingle, waited, mailboxes,
	    directory);
}
