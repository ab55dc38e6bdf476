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
 * Accounts whose keys are open.  An account is unlocked by a login (its
 * keys come out of a keyslot), stays unlocked while a session uses it
 * and for a short grace after the last one ends (mail clients reconnect
 * all the time), and is then locked: its mailbox is closed and its keys
 * wiped.  Mail for an unlocked account goes straight into its mailbox;
 * mail for a locked one is sealed into its spool and imported at the
 * next unlock, in the background: a slice at a time on the account's
 * strand (vault_work.c), the first queued before the login is answered
 * so that the client's first requests come after it.
 *
 * Locking waits for the strand: the mailbox is never closed under a
 * running job.  account_lock() (the grace ended) locks when the strand
 * is idle, unless a new session came meanwhile; account_lock_now() (the
 * account is deleted, vaultd stops) drops the jobs that wait and waits
 * for the one that runs.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "vault_spool.h"
#include "vaultd.h"

static TAILQ_HEAD(, vault_account) accounts =
    TAILQ_HEAD_INITIALIZER(accounts);

/* The spool directory (vaultd.c opens it) and the lock grace. */
static int		 spoolfd = -1;
static unsigned int	 grace;		/* seconds an idle account
					 * stays unlocked */

/* Called after a commit that changed the account's mailbox, if set. */
static void		(*change_cb)(struct vault_account *);

static void	 account_grace_cb(int, short, void *);
static int	 account_import_cb(void *, const char *, const void *, size_t);
static int	 account_import_run(void *);
static void	 account_import_done(void *, int);
static void	 account_import_end(struct vault_account *);
static int	 account_record(struct vault_account *);
static void	 account_maintain(struct vault_account *);
static int	 account_checkpoint_run(void *);
static void	 account_checkpoint_done(void *, int);
static void	 account_index_cb(int, short, void *);
static void	 account_index_submit(struct vault_account *);
static int	 account_index_run(void *);
static void	 account_index_done(void *, int);
static void	 account_lock_idle(void *);
static void	 account_close(struct vault_account *);

/*
 * Spooled messages imported per job, in one transaction: this bounds
 * how long the account's own requests wait for a slice.  Their
 * full-text rows come after, by the index job's batches, as for any
 * other store.
 */
#define IMPORT_SLICE		64

/*
 * The full-text index is written after the store (vault_mbox_index.c),
 * by a job on the strand that indexes at most INDEX_BATCH messages
 * (ACCOUNT_INDEX_BATCH, vaultd.h) or
 * INDEX_BATCH_BYTES of them in one transaction: the account's own
 * requests wait for one batch at most.  The job is queued after an
 * answer once a batch's worth waits, or once the account has been
 * quiet (no commit) for INDEX_QUIET_MS: a client that APPENDs one
 * message after another gets its messages indexed by batches, one
 * synced commit for many, not one each.
 */
#define INDEX_BATCH		ACCOUNT_INDEX_BATCH
#define INDEX_BATCH_BYTES	(256 * 1024)
#define INDEX_QUIET_MS		50

void
account_init(void)
{
	TAILQ_INIT(&accounts);
}

void
account_set_grace(unsigned int seconds)
{
	grace = seconds;
}

/* The spool directory's fd, or -1; the caller keeps it open. */
void
account_set_spool(int fd)
{
	spoolfd = fd;
}

int
account_spool(void)
{
	return (spoolfd);
}

void
account_mailbox_path(const unsigned char *id, char *buf, size_t len)
{
	char	 hex[ACCOUNT_ID_LEN * 2 + 1];

	sodium_bin2hex(hex, sizeof(hex), id, ACCOUNT_ID_LEN);
	snprintf(buf, len, "%s/%s.db", VAULT_MAILBOXES, hex);
}

struct vault_account *
account_unlocked(const unsigned char *id)
{
	struct vault_account	*a;

	TAILQ_FOREACH(a, &accounts, entry)
		if (sodium_memcmp(a->id, id, ACCOUNT_ID_LEN) == 0)
			return (a);
	return (NULL);
}

/*
 * The mailbox's page-state digest to record with its counter (into
 * buf, DIR_STATE_LEN bytes), or NULL if it is not known: then the
 * record says so, and the next unlock checks the counter alone.
 */
const unsigned char *
account_pagestate(struct vault_account *a, unsigned char *buf)
{
	if (mbox_pagestate(a->mbox, buf) != MBOX_OK) {
		log_warnx("%s: the mailbox's page state is not known; "
		    "recorded as unknown", a->address);
		return (NULL);
	}
	return (buf);
}

/* Record the mailbox's commit counter and page-state digest. */
static int
account_record(struct vault_account *a)
{
	unsigned char	 ps[DIR_STATE_LEN];

	if (dir_counter_set(a->id, mbox_counter(a->mbox),
	    account_pagestate(a, ps)) != DIR_OK) {
		log_warnx("%s: cannot record the commit counter", a->address);
		return (-1);
	}
	return (0);
}

/*
 * After a write call on the mailbox: record its commit counter and its
 * page-state digest (the freshness check's anchors) and, if the write
 * committed anything, say so to the change callback.  Every write
 * comes through here or through account_indexed(): mailbox requests,
 * deliveries, the spool import at unlock, the full-text index.
 */
int
account_committed(struct vault_account *a)
{
	int	 rv;

	rv = account_record(a);
	account_changed(a);
	return (rv);
}

/*
 * The second half of account_committed(), for a caller that recorded
 * the counter itself (the delivery group writes the counters of all
 * its accounts in one transaction): if the mailbox's counter moved
 * since the last time, say so to the change callback.
 */
void
account_changed(struct vault_account *a)
{
	uint64_t	 counter;

	/* A call that changed nothing committed nothing: no news. */
	counter = mbox_counter(a->mbox);
	if (counter != a->counter) {
		a->counter = counter;
		if (change_cb != NULL)
			change_cb(a);
	}
	account_maintain(a);
}

/*
 * After a job that may have committed the full-text index alone (the
 * index job; a SEARCH indexes the backlog first): the record like any
 * commit's, but no news, as nothing a client sees has changed.  Every
 * other commit was reported before this job ran (its own done() came
 * first), so the counter it moved is the index's.
 */
int
account_indexed(struct vault_account *a)
{
	uint64_t	 counter;
	int		 rv = 0;

	/* A read: nothing to record, and no commit to restart the wait. */
	counter = mbox_counter(a->mbox);
	if (counter == a->counter)
		return (0);
	rv = account_record(a);
	a->counter = counter;
	account_maintain(a);
	return (rv);
}

/*
 * Maintenance after a commit's answer, as jobs of their own on the
 * strand.  A commit that left the log long: copy it over, not inside
 * the commit (where it made one APPEND in ten or twenty wait for a
 * thousand pages).  Messages not yet indexed: a batch now if a
 * batch's worth waits, else once the account is quiet.  Not while
 * the account locks: the backlog stays in the mailbox for the next
 * unlock.  Only where no job of the account runs (its done(), a
 * paused or idle strand): it reads the mailbox's state.
 */
static void
account_maintain(struct vault_account *a)
{
	struct timeval	 tv;
	uint64_t	 n, bytes;

	if (mbox_checkpoint_due(a->mbox) && !a->checkpointing) {
		a->checkpointing = 1;
		work_submit(&a->strand, &a->checkpoint_job,
		    account_checkpoint_run, account_checkpoint_done, a);
	}
	if (a->indexing || a->locking ||
	    (n = mbox_index_backlog(a->mbox, &bytes)) == 0)
		return;
	if (n >= INDEX_BATCH || bytes >= INDEX_BATCH_BYTES) {
		account_index_submit(a);
		return;
	}
	/* Again at each commit: the wait starts over. */
	timerclear(&tv);
	tv.tv_usec = INDEX_QUIET_MS * 1000;
	evtimer_add(&a->index_ev, &tv);
}

/* On a worker, between two of the account's own jobs. */
static int
account_checkpoint_run(void *arg)
{
	struct vault_account	*a = arg;

	return (mbox_checkpoint(a->mbox));
}

/* Failed or cancelled: the next long log asks again. */
static void
account_checkpoint_done(void *arg, int status)
{
	struct vault_account	*a = arg;

	(void)status;
	a->checkpointing = 0;
}

/*
 * The account was quiet for INDEX_QUIET_MS.  A job of the account may
 * run on a worker now: the mailbox is not the loop's to look at, and
 * the index job finds out itself whether anything is left.
 */
static void
account_index_cb(int fd, short event, void *arg)
{
	struct vault_account	*a = arg;

	(void)fd;
	(void)event;
	if (!a->indexing && !a->locking)
		account_index_submit(a);
}

static void
account_index_submit(struct vault_account *a)
{
	evtimer_del(&a->index_ev);
	a->indexing = 1;
	work_submit(&a->strand, &a->index_job, account_index_run,
	    account_index_done, a);
}

/* On a worker: one batch of the backlog, in one transaction. */
static int
account_index_run(void *arg)
{
	struct vault_account	*a = arg;

	return (mbox_index(a->mbox, INDEX_BATCH, INDEX_BATCH_BYTES, NULL));
}

/*
 * On the loop: the record, then the next batch.  Failed: the next
 * commit tries again, not this job at once (nor in a loop); cancelled:
 * the account locks.
 */
static void
account_index_done(void *arg, int status)
{
	struct vault_account	*a = arg;

	a->indexing = 0;
	if (status == WORK_CANCELLED)
		return;
	if (status != MBOX_OK) {
		log_warnx("%s: the full-text index could not be written; "
		    "searches will index first", a->address);
		/* A failed batch rolled back: no counter moved. */
		return;
	}
	(void)account_indexed(a);
}

/*
 * Who hears of committed changes (vaultd.c sets it at start-up; the
 * notification goes through vault_notify.c).  The storage layer says
 * only what changed, never how the fronts are told.
 */
void
account_on_change(void (*cb)(struct vault_account *))
{
	change_cb = cb;
}

/*
 * Spooled messages go in by batches, one transaction each: a sync per
 * message made the first login after a long absence take minutes.
 */
static int
account_import_cb(void *arg, const char *name, const void *data, size_t len)
{
	struct vault_account	*a = arg;
	struct bundle		 b;
	int			 rc;

	if (name == NULL) {
		if (!a->importing)
			return (0);
		a->importing = 0;
		return (mbox_import_commit(a->mbox) == MBOX_OK ? 0 : -1);
	}
	if (!a->importing) {
		if (mbox_import_begin(a->mbox) != MBOX_OK)
			return (-1);
		a->importing = 1;
	}
	if (bundle_parse(data, len, &b) == -1) {
		/* Sealed by us, so this is damage: keep it, say so. */
		log_warnx("%s: spooled message %s is malformed", a->address,
		    name);
		return (-1);
	}
	rc = mbox_import(a->mbox, name, &b);
	if (rc != MBOX_OK && rc != MBOX_EEXISTS)
		return (-1);
	return (0);
}

/*
 * Open an account with the secrets a keyslot gave: its mailbox, checked
 * against the commit counter and page-state digest in the directory (an
 * older mailbox than the directory remembers, or one at the same
 * counter whose pages are not those recorded, is a rollback and is
 * refused), then the mail that waited in the spool.  Takes ownership
 * of secrets.
 */
int
account_unlock(const struct dir_account *da, struct account_secrets *secrets,
    struct vault_account **out)
{
	struct vault_account	*a;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 ps[DIR_STATE_LEN];
	char			 path[PATH_MAX], hex[ACCOUNT_ID_LEN * 2 + 1];
	int			 rc;

	if ((a = account_unlocked(da->id)) != NULL) {
		keys_secrets_free(secrets);
		*out = a;
		return (0);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		keys_secrets_free(secrets);
		return (-1);
	}
	TAILQ_INIT(&a->sessions);
	work_strand_init(&a->strand);
	evtimer_set(&a->grace_ev, account_grace_cb, a);
	evtimer_set(&a->index_ev, account_index_cb, a);
	memcpy(a->id, da->id, sizeof(a->id));
	strlcpy(a->address, da->address, sizeof(a->address));
	a->secrets = secrets;
	if ((a->verifiers = sodium_malloc(VAULT_VERIFIERS_MAX * KEY_LEN)) ==
	    NULL)
		goto fail;

	account_mailbox_path(a->id, path, sizeof(path));
	if ((rc = mbox_open(path, secrets->mailbox_key, a->id, &a->mbox)) !=
	    MBOX_OK) {
		log_warnx("%s: cannot open the mailbox", a->address);
		goto fail;
	}
	if (mbox_counter(a->mbox) < da->counter) {
		sodium_bin2hex(hex, sizeof(hex), a->id, sizeof(a->id));
		log_audit("mailbox-rollback", "account=%s kind=counter "
		    "have=%llu expected=%llu", hex,
		    (unsigned long long)mbox_counter(a->mbox),
		    (unsigned long long)da->counter);
		log_warnx("%s: the mailbox is older than the directory "
		    "records: refusing it (restored from an old copy?)",
		    a->address);
		goto fail;
	}
	/*
	 * At the counter recorded, the pages must be those recorded with
	 * it.  A counter ahead is a crash between the mailbox's commit
	 * and the directory's update: nothing to compare with.
	 */
	if (mbox_counter(a->mbox) == da->counter && da->has_pagestate &&
	    (mbox_pagestate(a->mbox, ps) != MBOX_OK ||
	    sodium_memcmp(ps, da->pagestate, sizeof(ps)) != 0)) {
		sodium_bin2hex(hex, sizeof(hex), a->id, sizeof(a->id));
		log_audit("mailbox-rollback", "account=%s kind=pages "
		    "counter=%llu", hex, (unsigned long long)da->counter);
		log_warnx("%s: the mailbox's pages are not those the "
		    "directory records: refusing it (pages put back from "
		    "an old copy?)", a->address);
		goto fail;
	}
	/*
	 * Mail for the locked account is sealed to the public key in
	 * directory.db: it must be the one whose secret key the keyslot
	 * holds, or a key swapped in the directory would have the next
	 * messages sealed to someone else.
	 */
	if (crypto_scalarmult_base(pk, secrets->box_sk) != 0 ||
	    sodium_memcmp(pk, da->box_pk, sizeof(pk)) != 0) {
		sodium_bin2hex(hex, sizeof(hex), a->id, sizeof(a->id));
		log_audit("tamper", "db=directory.db account=%s kind=spool-key",
		    hex);
		log_warnx("%s: the directory's public key is not the "
		    "account's: refusing to unlock", a->address);
		goto fail;
	}
	/*
	 * The spool comes in slices on the account's strand, after the
	 * answer: a login after a long absence is not kept waiting for
	 * it, and the account's own requests take turns with the slices.
	 */
	if (spool_import_start(spoolfd, a->id, da->box_pk,
	    secrets->box_sk, serverkeys_spool(), account_import_cb, a,
	    &a->import) == -1)
		log_warnx("%s: the spool cannot be imported; it stays for "
		    "the next unlock", a->address);
	if (account_committed(a) == -1) {
		(void)spool_import_end(a->import, NULL);
		a->import = NULL;
		goto fail;
	}
	TAILQ_INSERT_TAIL(&accounts, a, entry);
	if (a->import != NULL) {
		log_info("%s unlocked, importing the spool", a->address);
		/*
		 * The first slice is queued before the answer: a spool of
		 * a few messages (the usual case) is all in when the
		 * client lists the mailbox, which queues behind it.
		 */
		work_submit(&a->strand, &a->import_job, account_import_run,
		    account_import_done, a);
	} else
		log_info("%s unlocked", a->address);
	*out = a;
	return (0);
 fail:
	/* A maintenance job account_committed() may have queued. */
	evtimer_del(&a->index_ev);
	work_drain(&a->strand);
	if (a->mbox != NULL)
		mbox_close(a->mbox);
	if (a->verifiers != NULL)
		sodium_free(a->verifiers);
	keys_secrets_free(a->secrets);
	free(a);
	return (-1);
}

/* On a worker: one slice of the spool, in one transaction. */
static int
account_import_run(void *arg)
{
	struct vault_account	*a = arg;
	int			 rc;

	rc = spool_import_step(a->import, IMPORT_SLICE);
	if (a->importing) {
		/* Stopped before the batch's commit: it comes again. */
		mbox_import_abort(a->mbox);
		a->importing = 0;
	}
	return (rc);
}

/* On the loop: the counter and the news, then the next slice. */
static void
account_import_done(void *arg, int rc)
{
	struct vault_account	*a = arg;

	if (rc == WORK_CANCELLED) {
		/* The account locks now: the rest stays in the spool. */
		account_import_end(a);
		return;
	}
	/* The sessions hear of what came in (vault_notify.c). */
	(void)account_committed(a);
	/*
	 * The step's last look ran on a worker while the loop may have
	 * sealed more into the spool (the import was not over yet for
	 * deliver_submit()): look again here, where no delivery can come
	 * between the look and the end of the import.
	 */
	if (rc == 0)
		rc = spool_import_more(a->import);
	if (rc == 1) {
		work_submit(&a->strand, &a->import_job, account_import_run,
		    account_import_done, a);
		return;
	}
	if (rc == -1)
		log_warnx("%s: the spool was not fully imported; the rest "
		    "stays for the next unlock", a->address);
	account_import_end(a);
}

/* The import is over (or the account locks): say what came in. */
static void
account_import_end(struct vault_account *a)
{
	unsigned int	 imported;

	if (a->import == NULL)
		return;
	(void)spool_import_end(a->import, &imported);
	a->import = NULL;
	log_info("%s: spool imported, %u message%s", a->address, imported,
	    imported == 1 ? "" : "s");
}

void
account_hold(struct vault_account *a)
{
	a->nsessions++;
	evtimer_del(&a->grace_ev);
	/* A lock waiting for the strand is off: somebody came back. */
	a->locking = 0;
}

/* A session ended: with none left, lock after the grace period. */
void
account_release(struct vault_account *a)
{
	struct timeval	 tv;

	if (a->nsessions > 0)
		a->nsessions--;
	if (a->nsessions > 0)
		return;
	timerclear(&tv);
	tv.tv_sec = grace;
	evtimer_add(&a->grace_ev, &tv);
}

static void
account_grace_cb(int fd, short event, void *arg)
{
	(void)fd;
	(void)event;
	account_lock(arg);
}

/*
 * Lock when the strand is idle: at once if it is, else after its last
 * job's answer.  A session that comes meanwhile (account_hold()) calls
 * it off.
 */
void
account_lock(struct vault_account *a)
{
	evtimer_del(&a->grace_ev);
	a->locking = 1;
	work_when_idle(&a->strand, account_lock_idle, a);
}

static void
account_lock_idle(void *arg)
{
	struct vault_account	*a = arg;

	if (a->locking)
		account_close(a);
}

/*
 * Lock now (the account is deleted, vaultd stops): the jobs that wait
 * are answered unrun, one that runs is waited for (the loop blocks
 * for as long), and a delivery group forgets the account.
 */
void
account_lock_now(struct vault_account *a)
{
	evtimer_del(&a->grace_ev);
	a->locking = 1;
	work_drain(&a->strand);
	deliver_forget(a);
	account_close(a);
}

/* Close the mailbox and wipe the keys. */
static void
account_close(struct vault_account *a)
{
	evtimer_del(&a->grace_ev);
	evtimer_del(&a->index_ev);
	/* Every slice committed: the rest stays for the next unlock. */
	account_import_end(a);
	TAILQ_REMOVE(&accounts, a, entry);
	mbox_close(a->mbox);
	keys_secrets_free(a->secrets);
	sodium_free(a->verifiers);
	log_info("%s locked", a->address);
	free(a);
}

/* Every unlocked account, at shutdown: mailboxes closed, keys wiped. */
void
account_lock_all(void)
{
	struct vault_account	*a;

	while ((a = TAILQ_FIRST(&accounts)) != NULL)
		account_lock_now(a);
}

/*
 * Deliver a bundle to an account: into its mailbox when it is unlocked,
 * sealed into its spool otherwise.  MBOX_OK only once it is durable;
 * else MBOX_ENOTFOUND (no such account), MBOX_EINVAL (a bad bundle) or
 * MBOX_ETEMP.
 */
int
account_deliver(const char *address, const void *data, size_t len)
{
	struct dir_account	 da;
	struct vault_account	*a;
	struct bundle		 b;
	uint32_t		 uidvalidity, uid;
	int			 rc;

	if (bundle_parse(data, len, &b) == -1)
		return (MBOX_EINVAL);
	if ((rc = dir_account_get(address, &da)) == DIR_ENOTFOUND)
		return (MBOX_ENOTFOUND);
	if (rc != DIR_OK)
		return (MBOX_ETEMP);
	/*
	 * While the spool is imported, new mail queues behind it; while
	 * the account's strand has work, the mailbox is not the loop's.
	 */
	if ((a = account_unlocked(da.id)) != NULL && a->import == NULL &&
	    work_idle(&a->strand)) {
		if (mbox_append(a->mbox, "INBOX", &b, 0, "", &uidvalidity,
		    &uid) != MBOX_OK)
			return (MBOX_ETEMP);
		if (account_committed(a) == -1)
			return (MBOX_ETEMP);
		log_debug("%s: delivered as uid %u", a->address, uid);
		return (MBOX_OK);
	}
	return (account_seal(&da, data, len));
}

/*
 * Seal a bundle into the spool of a locked account: MBOX_OK once it is
 * durable, else MBOX_ETEMP.
 */
int
account_seal(const struct dir_account *da, const void *data, size_t len)
{
	char	 name[SPOOL_NAME_LEN];

	if (spool_append(spoolfd, da->id, da->box_pk, serverkeys_spool(),
	    data, len, name) == -1)
		return (MBOX_ETEMP);
	log_debug("%s: sealed into the spool as %s", da->address, name);
	return (MBOX_OK);
}
