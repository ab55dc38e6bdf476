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
 * keys come out of a keyslot, its mailbox is opened on a mailbox
 * worker: account_unlock()), stays unlocked while a session uses it
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "vault_spool.h"
#include "vaultd.h"

static TAILQ_HEAD(, vault_account) accounts =
    TAILQ_HEAD_INITIALIZER(accounts);
/* Accounts whose mailbox a worker opens (account_unlock()). */
static TAILQ_HEAD(, vault_account) opening =
    TAILQ_HEAD_INITIALIZER(opening);

/*
 * An open under way: what the directory said, read on the loop before
 * the job (the worker reads no directory), what the job found, and the
 * logins that wait for it.
 */
struct account_open {
	struct dir_account		 da;
	struct work_job			 job;
	TAILQ_HEAD(, account_waiter)	 waiters;
	uint64_t			 have;		/* counter found */
	atomic_int			 aborted;	/* the loop gave up */
};

/* account_open_run()'s outcomes, for account_open_done(). */
#define OPEN_OK			0
#define OPEN_EIO		1	/* cannot open (logged by mbox) */
#define OPEN_ROLLBACK_COUNTER	2
#define OPEN_ROLLBACK_PAGES	3
#define OPEN_TAMPER		4	/* the directory's public key */

/* TRESOR_TEST_UNLOCK_GATE: a file name, or empty. */
static char		 gate[64];

/* The spool directory (vaultd.c opens it) and the lock grace. */
static int		 spoolfd = -1;
static unsigned int	 grace;		/* seconds an idle account
					 * stays unlocked */

/* Called after a commit that changed the account's mailbox, if set. */
static void		(*change_cb)(struct vault_account *);

static void	 account_grace_cb(int, short, void *);
static int	 account_import_cb(void *, const char *, const void *, size_t);
static void	 account_changed(struct vault_account *);
static int	 account_import_queued(const struct vault_account *);
static void	 account_import_kick(struct vault_account *, int);
static void	 account_import_soon(struct vault_account *);
static void	 account_import_timer(int, short, void *);
static int	 account_import_run(void *);
static void	 account_import_done(void *, int);
static int	 account_import_busy(const struct vault_account *);
static void	 account_import_end(struct vault_account *);
static int	 account_record(struct vault_account *);
static void	 account_maintain(struct vault_account *, int);
static void	 account_index_later(struct vault_account *);
static int	 account_checkpoint_run(void *);
static void	 account_checkpoint_done(void *, int);
static void	 account_index_cb(int, short, void *);
static void	 account_index_submit(struct vault_account *);
static int	 account_index_run(void *);
static void	 account_index_done(void *, int);
static void	 account_lock_idle(void *);
static void	 account_close(struct vault_account *);
static struct vault_account *account_opening(const unsigned char *);
static int	 account_open_run(void *);
static void	 account_open_done(void *, int);
static void	 account_open_answer(struct vault_account *,
		    struct vault_account *);
static void	 account_open_free(struct vault_account *);
static void	 account_open_free_idle(void *);

/*
 * Spooled messages imported per job, in one transaction: this bounds
 * how long the account's own requests wait for a slice.  Their
 * full-text rows come after, by the index job's batches, as for any
 * other store.
 */
#define IMPORT_SLICE		64

/*
 * A delivery's import waits until deliveries pause for IMPORT_QUIET_MS,
 * and at most IMPORT_WAIT_MS, unless a request of the account comes
 * first (account_request()): a stream of mail goes in by larger
 * slices, each one transaction and one directory write, and while
 * nobody looks the delivery path is not slowed by the index.
 */
#define IMPORT_QUIET_MS		20
#define IMPORT_WAIT_MS		1000

/*
 * The full-text index is written after the store (vault_mbox_index.c),
 * by a background job on the strand (vault_work.h) that indexes at
 * most INDEX_BATCH messages (ACCOUNT_INDEX_BATCH, vaultd.h) or
 * INDEX_BATCH_BYTES of them in one transaction.  The account's own
 * requests wait for one message of it at most: a request queued
 * behind the job asks it to stop, and what it indexed is committed.
 * Fewer, larger transactions write fewer trigram segments for FTS5 to
 * merge: at 64 rather than 16, a stream of 2000 deliveries into an
 * unlocked account cost 142,000 page writes instead of 176,000 and
 * 190 syncs of the mailbox instead of 427.  The job runs when the account
 * has been quiet (no request, no delivery) for INDEX_QUIET_MS, and batch after
 * batch while it stays quiet; while the account is busy, only once the
 * backlog reaches INDEX_BUSY_MAX messages or INDEX_BUSY_BYTES.  The
 * trigram index was more than half of vaultd's work in a stream of
 * APPENDs (perf, 2026-12-08): written between the stores, it made the
 * client wait for it; written after the stream, nobody does.  The
 * bound is what a SEARCH (which indexes the backlog first) may have
 * to write: about a second of indexing on this machine.
 */
#define INDEX_BATCH		ACCOUNT_INDEX_BATCH
#define INDEX_BATCH_BYTES	(1024 * 1024)
#define INDEX_QUIET_MS		50
#define INDEX_BUSY_MAX		1024
#define INDEX_BUSY_BYTES	(8 * 1024 * 1024)
static unsigned int	 index_quiet_ms = INDEX_QUIET_MS;
static uint64_t		 index_busy_max = INDEX_BUSY_MAX;

void
account_init(void)
{
	TAILQ_INIT(&accounts);
	TAILQ_INIT(&opening);
}

void
account_set_grace(unsigned int seconds)
{
	grace = seconds;
}

/*
 * The index's quiet wait (ms) and busy bound (messages); 0 for the
 * defaults.  For the tests, which cannot wait for a machine to be
 * quiet for 50 ms, or APPEND a thousand messages.
 */
void
account_set_index_policy(unsigned int quiet_ms, uint64_t busy_max)
{
	index_quiet_ms = quiet_ms != 0 ? quiet_ms : INDEX_QUIET_MS;
	index_busy_max = busy_max != 0 ? busy_max : INDEX_BUSY_MAX;
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
 * The second half of account_committed(): if the mailbox's counter
 * moved since the last time, say so to the change callback.
 */
static void
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
	account_maintain(a, 1);
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
	account_maintain(a, 0);
	return (rv);
}

/*
 * Maintenance after a commit's answer, as jobs of their own on the
 * strand.  A commit that left the log long: copy it over, not inside
 * the commit (where it made one APPEND in ten or twenty wait for a
 * thousand pages).  Messages not yet indexed: a batch once the account
 * is quiet.  After a batch, the next at once if no request of the
 * account came while it ran: a large backlog (the import of a long
 * absence) is written while nobody asks, and a client that reads
 * (FETCH, POP3 RETR) does not wait for a batch at each request.  After
 * a commit (a write), a batch at once only past the busy bound, so
 * that a stream of stores and batches then take turns and the backlog
 * stops growing.  Not while the account locks: the backlog stays in
 * the mailbox for the next unlock.  Only where no job of the account
 * runs (its done(), a paused or idle strand): it reads the mailbox's
 * state.
 */
static void
account_maintain(struct vault_account *a, int committed)
{
	struct timeval	 tv;
	uint64_t	 n, bytes, busy;

	if (mbox_checkpoint_due(a->mbox) && !a->checkpointing) {
		a->checkpointing = 1;
		work_submit(&a->strand, &a->checkpoint_job,
		    account_checkpoint_run, account_checkpoint_done, a);
	}
	if (a->indexing || a->locking ||
	    (n = mbox_index_backlog(a->mbox, &bytes)) == 0)
		return;
	/*
	 * The unlock's import (import_loud) catches up on a long absence:
	 * its index goes in step, a batch as large as a slice after each
	 * one, so that the account is searchable when the import ends,
	 * not a backlog of thousands for the first SEARCH to write.
	 */
	busy = a->import_loud ? INDEX_BATCH : index_busy_max;
	if (committed ? n >= busy || bytes >= INDEX_BUSY_BYTES :
	    a->nqueued == a->index_mark) {
		account_index_submit(a);
		return;
	}
	/* Again at each commit: the wait starts over. */
	timerclear(&tv);
	tv.tv_sec = index_quiet_ms / 1000;
	tv.tv_usec = (index_quiet_ms % 1000) * 1000;
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
	a->index_mark = a->nqueued;
	a->index_batch = a->import_loud ? IMPORT_SLICE : INDEX_BATCH;
	work_submit_background(&a->strand, &a->index_job, account_index_run,
	    account_index_done, a);
}

/* On a worker: one batch of the backlog, in one transaction. */
static int
account_index_run(void *arg)
{
	struct vault_account	*a = arg;

	return (mbox_index(a->mbox, a->index_batch, (uint64_t)a->index_batch *
	    (INDEX_BATCH_BYTES / INDEX_BATCH), NULL));
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
 *
 * Opening a mailbox reads every page of it (the page-state digest),
 * some 50 ms for 40 MB: that part runs as the first job of the
 * account's strand on a mailbox worker (account_open_run()), with what
 * it needs from the directory read here and carried in the job.  The
 * loop does the rest when the job is done (account_open_done()):
 * records, audit lines, the spool, the answers.  Meanwhile the account
 * is on the opening list, not the unlocked one: mail for it is sealed
 * into its spool as for a locked account (and imported right after),
 * a second login for it waits for this open's outcome (the mailbox is
 * opened exclusively: one connection only), a deletion or a shutdown
 * abandons it (account_unlock_abort()).
 *
 * Returns 0 with *out when the account is unlocked already, -1 when it
 * cannot be, or ACCOUNT_PENDING: cb(arg, account or NULL) follows on
 * the loop, through the waiter w, unless account_unlock_cancel(w).
 * Without started workers (unit tests) the open runs at once, and cb
 * may have been called when ACCOUNT_PENDING is returned.
 */
int
account_unlock(const struct dir_account *da, struct account_secrets *secrets,
    struct account_waiter *w, void (*cb)(void *, struct vault_account *),
    void *arg, struct vault_account **out)
{
	struct vault_account	*a;

	*out = NULL;
	if ((a = account_unlocked(da->id)) != NULL) {
		keys_secrets_free(secrets);
		*out = a;
		return (0);
	}
	w->cb = cb;
	w->arg = arg;
	if ((a = account_opening(da->id)) != NULL) {
		/* The same keys: this open's outcome is the answer. */
		keys_secrets_free(secrets);
		w->account = a;
		TAILQ_INSERT_TAIL(&a->open->waiters, w, entry);
		log_debug("%s: waiting for the mailbox's open", a->address);
		return (ACCOUNT_PENDING);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->open = calloc(1, sizeof(*a->open))) == NULL) {
		free(a);
		keys_secrets_free(secrets);
		return (-1);
	}
	TAILQ_INIT(&a->sessions);
	work_strand_init(&a->strand);
	a->imports[0].a = a->imports[1].a = a;
	memcpy(a->id, da->id, sizeof(a->id));
	memcpy(a->box_pk, da->box_pk, sizeof(a->box_pk));
	strlcpy(a->address, da->address, sizeof(a->address));
	a->secrets = secrets;
	evtimer_set(&a->grace_ev, account_grace_cb, a);
	evtimer_set(&a->import_ev, account_import_timer, a);
	evtimer_set(&a->index_ev, account_index_cb, a);
	if ((a->verifiers = sodium_malloc(VAULT_VERIFIERS_MAX * KEY_LEN)) ==
	    NULL) {
		account_open_free(a);
		return (-1);
	}
	atomic_init(&a->open->aborted, 0);
	a->open->da = *da;
	TAILQ_INIT(&a->open->waiters);
	w->account = a;
	TAILQ_INSERT_TAIL(&a->open->waiters, w, entry);
	TAILQ_INSERT_TAIL(&opening, a, entry);
	log_debug("%s: opening the mailbox", a->address);
	work_submit(&a->strand, &a->open->job, account_open_run,
	    account_open_done, a);
	return (ACCOUNT_PENDING);
}

/* An account whose mailbox is being opened, or NULL. */
static struct vault_account *
account_opening(const unsigned char *id)
{
	struct vault_account	*a;

	TAILQ_FOREACH(a, &opening, entry)
		if (sodium_memcmp(a->id, id, ACCOUNT_ID_LEN) == 0)
			return (a);
	return (NULL);
}

/*
 * For the regression tests only (TRESOR_TEST_UNLOCK_GATE, vaultd.8): a
 * file name in the data directory; while that file exists, a mailbox
 * open waits on its worker before it starts, for at most
 * GATE_MAX_WAIT_MS or until the open is abandoned, so that a test can
 * hold an unlock under way as long as it needs to, whatever the
 * machine's speed.
 */
#define GATE_MAX_WAIT_MS	120000
#define GATE_POLL_MS		10

void
account_set_gate(const char *name)
{
	if (name == NULL || *name == '\0' ||
	    strlcpy(gate, name, sizeof(gate)) >= sizeof(gate))
		gate[0] = '\0';
}

static void
account_gate_wait(const struct account_open *o)
{
	struct timespec	 ts = { 0, GATE_POLL_MS * 1000000L };
	unsigned int	 waited;

	for (waited = 0; gate[0] != '\0' && waited < GATE_MAX_WAIT_MS &&
	    !atomic_load(&o->aborted) && access(gate, F_OK) == 0;
	    waited += GATE_POLL_MS)
		(void)nanosleep(&ts, NULL);
}

/*
 * On a worker, as the strand's first job: open the mailbox and check
 * it against what the directory said (a->open->da, read on the loop).
 * Nothing here is logged as an event: the loop does that with the
 * outcome.  The account's fields are this job's alone until its done().
 */
static int
account_open_run(void *arg)
{
	struct vault_account	*a = arg;
	struct account_open	*o = a->open;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 ps[DIR_STATE_LEN];
	char			 path[PATH_MAX];
	int			 rv;

	account_gate_wait(o);
	/* Abandoned meanwhile (account_unlock_abort()): nothing to open. */
	if (atomic_load(&o->aborted))
		return (OPEN_EIO);
	account_mailbox_path(a->id, path, sizeof(path));
	if (mbox_open(path, a->secrets->mailbox_key, a->id, &a->mbox) !=
	    MBOX_OK)
		return (OPEN_EIO);
	o->have = mbox_counter(a->mbox);
	if (o->have < o->da.counter)
		return (OPEN_ROLLBACK_COUNTER);
	/*
	 * At the counter recorded, the pages must be those recorded with
	 * it.  A counter ahead is a crash between the mailbox's commit
	 * and the directory's update: nothing to compare with.
	 */
	if (o->have == o->da.counter && o->da.has_pagestate &&
	    (mbox_pagestate(a->mbox, ps) != MBOX_OK ||
	    sodium_memcmp(ps, o->da.pagestate, sizeof(ps)) != 0))
		rv = OPEN_ROLLBACK_PAGES;
	/*
	 * Mail for the locked account is sealed to the public key in
	 * directory.db: it must be the one whose secret key the keyslot
	 * holds, or a key swapped in the directory would have the next
	 * messages sealed to someone else.
	 */
	else if (crypto_scalarmult_base(pk, a->secrets->box_sk) != 0 ||
	    sodium_memcmp(pk, o->da.box_pk, sizeof(pk)) != 0)
		rv = OPEN_TAMPER;
	else
		rv = OPEN_OK;
	sodium_memzero(ps, sizeof(ps));
	return (rv);
}

/*
 * On the loop: the open's outcome, as account_unlock() used to find it
 * in one go (the same audit and log lines), then the account is
 * unlocked and its waiters answered.  Inside account_unlock_abort()
 * (the job drained), the abort does the rest.
 */
static void
account_open_done(void *arg, int status)
{
	struct vault_account	*a = arg;
	struct account_open	*o = a->open;
	const struct dir_account *da = &o->da;
	char			 hex[ACCOUNT_ID_LEN * 2 + 1];

	if (atomic_load(&o->aborted))
		return;
	sodium_bin2hex(hex, sizeof(hex), a->id, sizeof(a->id));
	switch (status) {
	case OPEN_OK:
		break;
	case OPEN_ROLLBACK_COUNTER:
		log_audit("mailbox-rollback", "account=%s kind=counter "
		    "have=%llu expected=%llu", hex,
		    (unsigned long long)o->have,
		    (unsigned long long)da->counter);
		log_warnx("%s: the mailbox is older than the directory "
		    "records: refusing it (restored from an old copy?)",
		    a->address);
		goto fail;
	case OPEN_ROLLBACK_PAGES:
		log_audit("mailbox-rollback", "account=%s kind=pages "
		    "counter=%llu", hex, (unsigned long long)da->counter);
		log_warnx("%s: the mailbox's pages are not those the "
		    "directory records: refusing it (pages put back from "
		    "an old copy?)", a->address);
		goto fail;
	case OPEN_TAMPER:
		log_audit("tamper", "db=directory.db account=%s kind=spool-key",
		    hex);
		log_warnx("%s: the directory's public key is not the "
		    "account's: refusing to unlock", a->address);
		goto fail;
	default:
		log_warnx("%s: cannot open the mailbox", a->address);
		goto fail;
	}
	if (account_committed(a) == -1)
		goto fail;
	TAILQ_REMOVE(&opening, a, entry);
	TAILQ_INSERT_TAIL(&accounts, a, entry);
	/*
	 * The spool comes in slices on the account's strand, after the
	 * answer: a login after a long absence is not kept waiting for
	 * it, and the account's own requests take turns with the slices.
	 * Mail sealed while the mailbox opened is in it too: the spool is
	 * looked at now (a seal still under way imports itself when it
	 * is done, account_delivered()).  The first slice is queued
	 * before the answer: a spool of a few messages (the usual case)
	 * is all in when the client lists the mailbox, which queues
	 * behind it.
	 */
	a->import_loud = 1;
	account_import_kick(a, 0);
	if (a->import != NULL)
		log_info("%s unlocked, importing the spool", a->address);
	else
		log_info("%s unlocked", a->address);
	account_open_answer(a, a);
	/* The job is over: work_finish() does not touch it after done(). */
	free(a->open);
	a->open = NULL;
	/* Nobody took it (the logins' fronts went away): the grace. */
	if (a->nsessions == 0)
		account_release(a);
	return;
 fail:
	TAILQ_REMOVE(&opening, a, entry);
	account_open_answer(a, NULL);
	/*
	 * No more maintenance (account_committed() may have queued an
	 * index job or its timer): what is queued runs, then the account
	 * is freed once the strand is idle.
	 */
	a->locking = 1;
	evtimer_del(&a->index_ev);
	/* Freed once this job is over: the strand is the account's. */
	work_when_idle(&a->strand, account_open_free_idle, a);
}

static void
account_open_free_idle(void *arg)
{
	account_open_free(arg);
}

/* Every waiter of the open, once: the account, or NULL. */
static void
account_open_answer(struct vault_account *a, struct vault_account *ans)
{
	struct account_waiter	*w;

	while ((w = TAILQ_FIRST(&a->open->waiters)) != NULL) {
		TAILQ_REMOVE(&a->open->waiters, w, entry);
		w->account = NULL;
		w->cb(w->arg, ans);
	}
}

/* An account that never got unlocked: mailbox closed, keys wiped. */
static void
account_open_free(struct vault_account *a)
{
	if (a->mbox != NULL)
		mbox_close(a->mbox);
	if (a->verifiers != NULL)
		sodium_free(a->verifiers);
	keys_secrets_free(a->secrets);
	if (a->open != NULL)
		sodium_memzero(a->open, sizeof(*a->open));
	free(a->open);
	sodium_memzero(a, sizeof(*a));
	free(a);
}

/*
 * A waiting login is dropped (its front went away): it is not called.
 * The open goes on; an account nobody takes locks after its grace.
 */
void
account_unlock_cancel(struct account_waiter *w)
{
	if (w->account == NULL || w->account->open == NULL)
		return;
	TAILQ_REMOVE(&w->account->open->waiters, w, entry);
	w->account = NULL;
}

/*
 * Abandon the open of an account under way (the account is deleted,
 * vaultd stops): the job is dropped if no worker has it yet, waited
 * for if one runs it (the loop blocks meanwhile, as in
 * account_lock_now()); its waiters are answered NULL, the mailbox is
 * closed and the keys are wiped.
 */
void
account_unlock_abort(const unsigned char *id)
{
	struct vault_account	*a;

	if ((a = account_opening(id)) == NULL)
		return;
	atomic_store(&a->open->aborted, 1);
	work_drain(&a->strand);
	TAILQ_REMOVE(&opening, a, entry);
	log_info("%s: unlock abandoned", a->address);
	account_open_answer(a, NULL);
	account_open_free(a);
}

/*
 * Queue a slice of the spool's import, unless one is queued already
 * and not yet started: that one looks at the spool when it starts, and
 * takes what came before (up to IMPORT_SLICE messages, oldest first).
 * Called at the unlock, once deliveries pause (account_import_soon()),
 * before a request of the account is queued (account_request()), and
 * after a slice that left more.  Requests of the account that come
 * after a delivery's answer therefore queue behind a slice that takes
 * the message, unless a backlog of more than a slice comes first.  An
 * account that is to lock imports no more: the rest stays sealed.
 */
/* A slice queued and not yet started: it takes what came before it. */
static int
account_import_queued(const struct vault_account *a)
{
	int	 i;

	for (i = 0; i < 2; i++)
		if (a->imports[i].busy &&
		    a->strand.current != &a->imports[i].job)
			return (1);
	return (0);
}

static void
account_import_kick(struct vault_account *a, int background)
{
	struct account_import	*im;

	evtimer_del(&a->import_ev);
	if (a->locking)
		return;
	if (a->import == NULL) {
		/* On the loop: the first look removes stale temporaries. */
		if (spool_import_start(spoolfd, a->id, a->box_pk,
		    a->secrets->box_sk, serverkeys_spool(), account_import_cb,
		    a, &a->import) == -1) {
			log_warnx("%s: the spool cannot be imported; it stays "
			    "for the next unlock", a->address);
			a->import = NULL;
		}
		if (a->import == NULL) {
			a->import_loud = 0;
			return;
		}
	}
	if (account_import_queued(a))
		return;
	/* At most one runs (the strand's current): the other is free. */
	im = a->imports[0].busy ? &a->imports[1] : &a->imports[0];
	im->busy = 1;
	if (background)
		work_submit_background(&a->strand, &im->job,
		    account_import_run, account_import_done, im);
	else
		work_submit(&a->strand, &im->job, account_import_run,
		    account_import_done, im);
}

/*
 * After a delivery: a slice soon, once deliveries pause (see
 * IMPORT_QUIET_MS), unless a slice is queued that will take it.
 */
static void
account_import_soon(struct vault_account *a)
{
	struct timespec	 now;
	struct timeval	 tv;
	long long	 left;

	if (a->locking || account_import_queued(a))
		return;
	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		fatal("clock_gettime");
	if (!evtimer_pending(&a->import_ev, NULL)) {
		a->import_due = now;
		a->import_due.tv_sec += IMPORT_WAIT_MS / 1000;
		a->import_due.tv_nsec += (IMPORT_WAIT_MS % 1000) * 1000000L;
		if (a->import_due.tv_nsec >= 1000000000L) {
			a->import_due.tv_sec++;
			a->import_due.tv_nsec -= 1000000000L;
		}
	}
	left = (long long)(a->import_due.tv_sec - now.tv_sec) * 1000 +
	    (a->import_due.tv_nsec - now.tv_nsec) / 1000000;
	if (left > IMPORT_QUIET_MS)
		left = IMPORT_QUIET_MS;
	if (left <= 0) {
		evtimer_del(&a->import_ev);
		account_import_kick(a, 1);
		return;
	}
	tv.tv_sec = 0;
	tv.tv_usec = left * 1000;
	evtimer_add(&a->import_ev, &tv);
}

static void
account_import_timer(int fd, short event, void *arg)
{
	(void)fd;
	(void)event;
	account_import_kick(arg, 1);
}

/*
 * A request of the account is about to be queued.  Mail answered
 * before it goes in before it: what a client was told was delivered,
 * it finds (unless a backlog of more than a slice waits).  And the
 * account is not quiet: a waiting index batch waits on.
 */
void
account_request(struct vault_account *a)
{
	a->nqueued++;
	account_index_later(a);
	if (evtimer_pending(&a->import_ev, NULL))
		account_import_kick(a, 0);
}

/*
 * The account is busy (a request, a delivery): a waiting index job
 * waits INDEX_QUIET_MS again.
 */
static void
account_index_later(struct vault_account *a)
{
	struct timeval	 tv;

	if (evtimer_pending(&a->index_ev, NULL)) {
		timerclear(&tv);
		tv.tv_sec = index_quiet_ms / 1000;
		tv.tv_usec = (index_quiet_ms % 1000) * 1000;
		evtimer_add(&a->index_ev, &tv);
	}
}

/* On a worker: one slice of the spool, in one transaction. */
static int
account_import_run(void *arg)
{
	struct account_import	*im = arg;
	struct vault_account	*a = im->a;
	int			 rc;

	rc = spool_import_step(a->import, IMPORT_SLICE);
	if (a->importing) {
		/* Stopped before the batch's commit: it comes again. */
		mbox_import_abort(a->mbox);
		a->importing = 0;
	}
	/* A request waits: the rest of the slice in the foreground. */
	if (rc == 1 && work_yield_asked())
		return (WORK_YIELDED);
	return (rc);
}

static int
account_import_busy(const struct vault_account *a)
{
	return (a->imports[0].busy || a->imports[1].busy);
}

/*
 * On the loop: the counter and the news, then the next slice if this
 * one left more.  A delivery while the slice ran queued the other job,
 * which goes on; with none queued and nothing left, the import is over
 * until the next delivery.
 */
static void
account_import_done(void *arg, int rc)
{
	struct account_import	*im = arg;
	struct vault_account	*a = im->a;

	im->busy = 0;
	if (rc != WORK_CANCELLED) {
		/* The sessions hear of what came in (vault_notify.c). */
		(void)account_committed(a);
		if (rc == -1)
			log_warnx("%s: the spool was not fully imported; the "
			    "rest stays for the next unlock", a->address);
		else if (rc == 1)
			account_import_kick(a, 1);
	}
	if (!account_import_busy(a))
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
	/* The unlock's import is news; a delivery's is routine. */
	if (a->import_loud)
		log_info("%s: spool imported, %u message%s", a->address,
		    imported, imported == 1 ? "" : "s");
	else
		log_debug("%s: spool imported, %u message%s", a->address,
		    imported, imported == 1 ? "" : "s");
	a->import_loud = 0;
}

void
account_hold(struct vault_account *a)
{
	a->nsessions++;
	evtimer_del(&a->grace_ev);
	/*
	 * A lock waiting for the strand is off: somebody came back, and
	 * what was delivered meanwhile stayed in the spool.
	 */
	if (a->locking) {
		a->locking = 0;
		account_import_kick(a, 1);
	}
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
 * for as long).
 */
void
account_lock_now(struct vault_account *a)
{
	evtimer_del(&a->grace_ev);
	a->locking = 1;
	work_drain(&a->strand);
	account_close(a);
}

/* Close the mailbox and wipe the keys. */
static void
account_close(struct vault_account *a)
{
	evtimer_del(&a->grace_ev);
	evtimer_del(&a->import_ev);
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

	while ((a = TAILQ_FIRST(&opening)) != NULL)
		account_unlock_abort(a->id);
	while ((a = TAILQ_FIRST(&accounts)) != NULL)
		account_lock_now(a);
}

/*
 * Deliver a bundle to an account: sealed into its spool, locked or not.
 * MBOX_OK only once it is durable; else MBOX_ENOTFOUND (no such
 * account), MBOX_EINVAL (a bad bundle) or MBOX_ETEMP.
 *
 * An unlocked account's mail takes the same way in: the seal is one
 * file write and one sync, and the account's strand then imports what
 * came in slices (account_import_kick()), so that the deliveries that
 * arrive together go into the mailbox as one transaction and one
 * directory write, with their index.  The answer does not wait for
 * that: the message is durable in the spool, as for a locked account
 * (docs/decisions.md).  vaultd seals on a worker (vault_deliver.c);
 * this is the same in one call, for the tests.
 */
int
account_deliver(const char *address, const void *data, size_t len)
{
	struct dir_account	 da;
	int			 rc;

	if ((rc = account_deliver_check(address, data, len, &da)) !=
	    MBOX_OK || (rc = account_seal(&da, data, len)) != MBOX_OK)
		return (rc);
	account_delivered(da.id);
	return (MBOX_OK);
}

/*
 * On the loop, before the seal: the bundle is well-formed and the
 * address is an account's (its directory entry into da).
 */
int
account_deliver_check(const char *address, const void *data, size_t len,
    struct dir_account *da)
{
	struct bundle	 b;
	int		 rc;

	if (bundle_parse(data, len, &b) == -1)
		return (MBOX_EINVAL);
	if ((rc = dir_account_get(address, da)) == DIR_ENOTFOUND)
		return (MBOX_ENOTFOUND);
	if (rc != DIR_OK)
		return (MBOX_ETEMP);
	return (MBOX_OK);
}

/*
 * Seal a bundle into the account's spool: MBOX_OK once it is durable,
 * else MBOX_ETEMP.  Safe on a mailbox worker: it touches the spool
 * directory and the server's spool secret, nothing of the loop's.
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

/* On the loop, after a seal: an unlocked account imports it soon. */
void
account_delivered(const unsigned char *id)
{
	struct vault_account	*a;

	if ((a = account_unlocked(id)) != NULL) {
		/* Mail streaming in keeps the index waiting too. */
		account_index_later(a);
		account_import_soon(a);
	}
}
