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
 * transaction (its full-text rows come later, by batches: the account's
 * index job, vault_account.c) and then a second synced write
 * of the account's commit counter to directory.db.  Done one message at
 * a time that is two syncs per message, and smtpd's sessions wait for
 * each other's syncs in line.  Here the deliveries that arrive while
 * the loop is busy are collected into a group, and the group is
 * committed at once:
 *
 *	1. per account, one transaction appends all of the group's
 *	   messages for it to INBOX (mbox_append_many(): consecutive
 *	   uids, no flags, as a single delivery had), committed and
 *	   synced (synchronous=FULL): a job on the account's strand
 *	   (vault_work.c), so the accounts of a group commit side by
 *	   side and each behind its own earlier requests; an account
 *	   whose job is done holds its strand (work_pause()) until the
 *	   group's end, so that the loop may read its counter;
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
 * The loop does not wait for a group's commit (the workers make it), so
 * a delivery for an account still committing an earlier group stays
 * open until that group ends (deliver_close()), and makes the next
 * group with what else came for it meanwhile.
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
	TAILQ_ENTRY(delivery)	 sentry;	/* in its share */
	deliver_done_cb		 done;
	void			*arg;
	uint32_t		 reqid;
	int			 status;
	int			 handled;	/* appended or refused */
	int			 committed;	/* in its mailbox */
	int			 cancelled;	/* nobody to answer */
	struct vault_account	*a;		/* looked up at commit */
	unsigned char		 id[ACCOUNT_ID_LEN];
	char			 address[ADDRESS_MAX];
	void			*data;		/* bundle_map()'s copy */
	size_t			 len;
	struct bundle		 b;		/* points into data */
};

TAILQ_HEAD(delivery_list, delivery);
TAILQ_HEAD(share_list, delivery);

struct dgroup;

/* One account's part of a committing group: one job on its strand. */
struct dshare {
	struct dgroup		*g;
	struct vault_account	*a;
	struct share_list	 ds;		/* its deliveries */
	size_t			 n;
	size_t			 committed;	/* by the job */
	int			 paused;	/* holds the strand */
	int			 forgotten;	/* locked meanwhile */
	struct work_job		 job;
};

/* A closed group, its accounts' jobs under way. */
struct dgroup {
	TAILQ_ENTRY(dgroup)	 entry;
	struct delivery_list	 list;
	struct dshare		*shares;
	size_t			 nshares;
	size_t			 pending;	/* jobs not yet done */
	size_t			 n, nsingle;
	long long		 waited;
	struct timespec		 t0;
};

static TAILQ_HEAD(, dgroup)	 committing =
    TAILQ_HEAD_INITIALIZER(committing);

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
static void	 deliver_close(int);
static int	 deliver_busy(const unsigned char *);
static void	 deliver_arm(void);
static int	 deliver_share_run(void *);
static void	 deliver_share_done(void *, int);
static void	 deliver_group_end(struct dgroup *);
static void	 deliver_counters(struct dgroup *);

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
		deliver_arm();
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
	deliver_close(0);
}

/* The zero timer: after the input that is ready now has been read. */
static void
deliver_arm(void)
{
	struct timeval	 tv;

	if (!group_ev_set) {
		evtimer_set(&group_ev, deliver_timer, NULL);
		group_ev_set = 1;
	}
	if (!evtimer_pending(&group_ev, NULL)) {
		timerclear(&tv);
		evtimer_add(&group_ev, &tv);
	}
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
	struct dgroup	*g;

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
	/* Committing: the work goes on, the answers are dropped. */
	TAILQ_FOREACH(g, &committing, entry)
		TAILQ_FOREACH(d, &g->list, entry)
			if (d->arg == arg)
				d->cancelled = 1;
}

/*
 * An account locks at once (account_lock_now()) after its strand was
 * drained: the groups still committing leave it alone.  What its job
 * committed is in the mailbox but not acknowledged: MBOX_ETEMP, the
 * senders will try again.
 */
void
deliver_forget(struct vault_account *a)
{
	struct dgroup	*g;
	struct delivery	*d;
	size_t		 i;

	TAILQ_FOREACH(g, &committing, entry) {
		for (i = 0; i < g->nshares; i++) {
			if (g->shares[i].a != a)
				continue;
			g->shares[i].forgotten = 1;
			TAILQ_FOREACH(d, &g->shares[i].ds, sentry)
				d->status = MBOX_ETEMP;
		}
	}
}

/*
 * Step 1 for one account, on a worker: its deliveries of the group in
 * one transaction; if that fails, each in its own.  Only the share's
 * own deliveries are touched.  Returns how many are now committed.
 */
static int
deliver_share_run(void *arg)
{
	struct dshare		*sh = arg;
	struct mbox_append_one	 one[DELIVER_GROUP_MAX];
	struct delivery		*ds[DELIVER_GROUP_MAX], *d;
	struct vault_account	*a = sh->a;
	uint32_t		 uid, uidvalidity;
	size_t			 i, n = 0, ok = 0;
	int			 rc;

	TAILQ_FOREACH(d, &sh->ds, sentry) {
		d->handled = 1;
		one[n].b = &d->b;
		one[n].flags = 0;
		one[n].keywords = "";
		ds[n++] = d;
	}
	if (n == 0)
		return (0);
	if ((rc = mbox_append_many(a->mbox, "INBOX", one, n, &uidvalidity,
	    &uid)) == MBOX_OK) {
		for (i = 0; i < n; i++) {
			ds[i]->status = MBOX_OK;
			ds[i]->committed = 1;
			log_debug("%s: delivered as uid %u", a->address,
			    uid + (uint32_t)i);
		}
		return ((int)n);
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
	return ((int)ok);
}

/*
 * Back on the loop: an account that committed holds its strand until
 * the group's directory write; the last share ends the group.
 */
static void
deliver_share_done(void *arg, int status)
{
	struct dshare	*sh = arg;
	struct dgroup	*g = sh->g;
	struct delivery	*d;

	if (status == WORK_CANCELLED) {
		/* The account locked at once: nothing was stored. */
		TAILQ_FOREACH(d, &sh->ds, sentry)
			d->status = MBOX_ETEMP;
	} else if ((sh->committed = (size_t)status) > 0) {
		work_pause(&sh->a->strand);
		sh->paused = 1;
	}
	if (--g->pending == 0)
		deliver_group_end(g);
}

/*
 * Step 2: the counters of the accounts that committed, in one
 * directory transaction.  Should it fail, each account on its own; the
 * deliveries of an account whose counter is not recorded fail.  Their
 * strands are paused: the loop may read the mailboxes.
 */
static void
deliver_counters(struct dgroup *g)
{
	struct dir_counter	 c[DELIVER_GROUP_MAX];
	struct dshare		*sh[DELIVER_GROUP_MAX];
	struct delivery		*d;
	unsigned char		 ps[DELIVER_GROUP_MAX][DIR_STATE_LEN];
	size_t			 i, n = 0;

	for (i = 0; i < g->nshares; i++) {
		if (g->shares[i].committed == 0 || g->shares[i].forgotten)
			continue;
		sh[n] = &g->shares[i];
		c[n].id = sh[n]->a->id;
		c[n].counter = mbox_counter(sh[n]->a->mbox);
		c[n].pagestate = account_pagestate(sh[n]->a, ps[n]);
		n++;
	}
	if (n == 0 || dir_counters_set(c, n) == DIR_OK)
		return;
	log_warnx("cannot record the commit counters of a delivery group; "
	    "trying each account alone");
	for (i = 0; i < n; i++) {
		if (dir_counter_set(c[i].id, c[i].counter, c[i].pagestate) ==
		    DIR_OK)
			continue;
		log_warnx("%s: cannot record the commit counter",
		    sh[i]->a->address);
		TAILQ_FOREACH(d, &sh[i]->ds, sentry)
			if (d->committed)
				d->status = MBOX_ETEMP;
	}
}

/* Close the whole open group now (the bounds; the tests). */
void
deliver_flush(void)
{
	deliver_close(1);
}

/* An account with a share of a group still committing. */
static int
deliver_busy(const unsigned char *id)
{
	struct dgroup	*g;
	size_t		 i;

	TAILQ_FOREACH(g, &committing, entry)
		for (i = 0; i < g->nshares; i++)
			if (!g->shares[i].forgotten && memcmp(g->shares[i].a->id,
			    id, ACCOUNT_ID_LEN) == 0)
				return (1);
	return (0);
}

/*
 * Close the open group and commit it: the three steps at the top of
 * this file, in that order; step 1 on the accounts' strands, the rest
 * in deliver_group_end() when the last of them is done.
 *
 * Unless forced, deliveries for an account whose share of an earlier
 * group still commits stay open until that group ends: as when the
 * loop committed a group itself, what comes in meanwhile makes the
 * next group, and an account pays one transaction for it rather than
 * one per idle pass of the loop.  The other accounts' deliveries go at
 * once, so none waits behind another account's work.
 */
static void
deliver_close(int force)
{
	struct delivery_list	 l = TAILQ_HEAD_INITIALIZER(l);
	struct dgroup		*g;
	struct dshare		*sh;
	struct delivery		*d, *tmp;
	size_t			 n = 0, i, nshares;

	if (group_ev_set)
		evtimer_del(&group_ev);
	TAILQ_FOREACH_SAFE(d, &group, entry, tmp) {
		if (!force && deliver_busy(d->id))
			continue;
		TAILQ_REMOVE(&group, d, entry);
		TAILQ_INSERT_TAIL(&l, d, entry);
		group_n--;
		group_bytes -= d->len;
		n++;
	}
	group_added = 0;
	if (n == 0)
		return;
	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->shares = calloc(n, sizeof(*g->shares))) == NULL) {
		/* Not acknowledged: the senders will try again. */
		log_warn("%s", __func__);
		free(g);
		while ((d = TAILQ_FIRST(&l)) != NULL) {
			TAILQ_REMOVE(&l, d, entry);
			d->done(d->arg, d->reqid, MBOX_ETEMP);
			deliver_free(d);
		}
		return;
	}
	TAILQ_INIT(&g->list);
	TAILQ_CONCAT(&g->list, &l, entry);
	g->n = n;
	g->waited = deliver_ms_since(&group_opened);
	if (clock_gettime(CLOCK_MONOTONIC, &g->t0) == -1)
		fatal("clock_gettime");

	/*
	 * Each account as it is now; one that locked, or began importing
	 * its spool, meanwhile takes the single path (the spool).  The
	 * others get a share each.
	 */
	TAILQ_FOREACH(d, &g->list, entry) {
		if ((d->a = account_unlocked(d->id)) == NULL ||
		    d->a->import != NULL) {
			d->handled = 1;
			d->status = account_deliver(d->address, d->data,
			    d->len);
			g->nsingle++;
			continue;
		}
		for (i = 0; i < g->nshares; i++)
			if (g->shares[i].a == d->a)
				break;
		sh = &g->shares[i];
		if (i == g->nshares) {
			g->nshares++;
			sh->g = g;
			sh->a = d->a;
			TAILQ_INIT(&sh->ds);
		}
		TAILQ_INSERT_TAIL(&sh->ds, d, sentry);
		sh->n++;
	}
	TAILQ_INSERT_TAIL(&committing, g, entry);
	if ((nshares = g->pending = g->nshares) == 0) {
		deliver_group_end(g);
		return;
	}
	/*
	 * Step 1, on the strands.  Without workers a job runs here and
	 * the last one ends the group: g is not touched after it.
	 */
	sh = g->shares;
	for (i = 0; i < nshares; i++)
		work_submit(&sh[i].a->strand, &sh[i].job, deliver_share_run,
		    deliver_share_done, &sh[i]);
}

/* Steps 2 and 3, the strands let go, the group freed. */
static void
deliver_group_end(struct dgroup *g)
{
	struct delivery	*d;
	struct timespec	 t1;
	long long	 mailboxes, directory;
	size_t		 i, nacc = 0, ncommitted = 0;

	TAILQ_REMOVE(&committing, g, entry);
	mailboxes = deliver_ms_since(&g->t0);
	if (clock_gettime(CLOCK_MONOTONIC, &t1) == -1)
		fatal("clock_gettime");
	/* Step 2: one directory write for the group. */
	deliver_counters(g);
	directory = deliver_ms_since(&t1);
	for (i = 0; i < g->nshares; i++) {
		if (g->shares[i].committed == 0 || g->shares[i].forgotten)
			continue;
		account_changed(g->shares[i].a);
		nacc++;
	}
	/* Step 3: only now the answers. */
	while ((d = TAILQ_FIRST(&g->list)) != NULL) {
		TAILQ_REMOVE(&g->list, d, entry);
		if (d->committed && d->status == MBOX_OK)
			ncommitted++;
		if (!d->cancelled)
			d->done(d->arg, d->reqid, d->status);
		deliver_free(d);
	}
	log_debug("delivery group: %zu message%s, %zu committed into %zu "
	    "account%s, %zu by the single path; waited %lld ms, mailboxes "
	    "%lld ms, directory %lld ms", g->n, g->n == 1 ? "" : "s",
	    ncommitted, nacc, nacc == 1 ? "" : "s", g->nsingle, g->waited,
	    mailboxes, directory);
	/*
	 * Last: a strand let go may be idle and its account lock and be
	 * freed (account_lock()).
	 */
	for (i = 0; i < g->nshares; i++)
		if (g->shares[i].paused && !g->shares[i].forgotten)
			work_resume(&g->shares[i].a->strand);
	free(g->shares);
	free(g);
	/* What waited for this group's accounts, after the next pass. */
	if (group_n > 0)
		deliver_arm();
}
