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
 * The KDF pool: Argon2id off the event loop.
 *
 * A keyslot costs about half a second of Argon2id by design, and the
 * loop serves every account's mail: run there, four clients trying
 * passwords stall everybody for seconds.  So a few POSIX threads run
 * the derivation, and nothing else: they see a copy of the credential,
 * a salt and a cost, and write a key.  Everything that touches state
 * (SQLite and our VFS, the directory, the accounts, the keyslot's AEAD
 * open, the replies) stays on the loop, which is single-threaded as
 * before; the threads share only this file's queue and done list,
 * under one mutex.  A finished job goes on the done list and a byte in
 * a pipe wakes the loop, which calls the job's callback.
 *
 * Admission: the queue (vault_kdfq.c) is bounded in all and per
 * fairness key, and a job that waits past its deadline is answered
 * KDF_EXPIRED without running, so a flood costs its senders time, not
 * everybody, and a backlog cannot grow older than the deadline.
 *
 * Secrets: the credential copy and the derived key live in guarded
 * memory (sodium_malloc: locked, no core dump, guard pages) and are
 * wiped and freed as soon as they are no longer needed: the
 * credential when the derivation ends, the key after the callback.
 *
 * The sandbox: threads are created after seccomp and Landlock are in
 * force (kdf_start() is called from the first configuration, which
 * comes after sandbox_enter()), so they inherit both.  Landlock has no
 * way to restrict threads that already exist, which is why we do not
 * start them earlier and synchronise the filter with TSYNC instead;
 * seccomp allows clone() with exactly the flags of pthread_create()
 * (common/base/sandbox.c).
 *
 * Priority: a worker puts itself under SCHED_IDLE before its first
 * job (nice KDF_NICE if that fails).  Argon2id is the one piece of
 * vaultd that can keep both cores busy for as long as logins come; at
 * the same priority as the loop and the mailbox workers it took the
 * machine from every session's FETCH and STORE (bench/README.md, the
 * server-like load: p50 4-12 ms against Dovecot's 0.6-1.7).  Niced to
 * 10 it still held a core for a scheduler slice at each wakeup of the
 * others (p50 4-9 ms); under SCHED_IDLE anything else that wakes runs
 * at once (p50 1.3-3.6 ms), and Argon2id runs on what the mail leaves
 * idle.  The price: on a machine that mail keeps fully busy, logins of
 * locked accounts wait, up to the queue's deadline (then "try again"),
 * rather than slow down every session.  Linux applies
 * sched_setscheduler(0) and setpriority(PRIO_PROCESS, 0) to the calling
 * thread only, which is what is meant here; seccomp allows exactly
 * those calls.
 */

#include <sys/types.h>
#include <sys/resource.h>

#include <errno.h>
#include <event.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vault_kdf.h"
#include "vault_thread.h"
#include "vaultd.h"

/*
 * Argon2id is memory-bound: more threads than cores only add memory
 * (each run holds the cost's memory, 256 MiB by default, locked) and
 * make every run slower.  Two keep a second login moving while one
 * runs, on all but a one-core machine.
 */
#define KDF_THREADS_DEFAULT	2
#define KDF_THREADS_MAX		8
#define KDF_STACK		(1024 * 1024)	/* Argon2id needs little */
#define KDF_NICE		10	/* without SCHED_IDLE */

_Static_assert(KDF_THREADS_MAX <= THREAD_POOL_MAX, "too many KDF threads");

static struct thread_pool	 tp = THREAD_POOL_INITIALIZER("kdf");
/* Under tp.lock: */
static struct kdf_queue		 queue;
static struct kdf_jobs		 kdf_done = TAILQ_HEAD_INITIALIZER(kdf_done);
/* The loop's: */
static unsigned int		 deadline_ms;
static struct event		 sweep;
/* TRESOR_TEST_KDF_GATE: a file name, or empty (under tp.lock). */
static char			 gate[64];

static void	 kdf_lock(void);
static void	 kdf_unlock(void);
static void	*kdf_worker(void *);
static void	 kdf_readable(void *);
static void	 kdf_sweep(int, short, void *);
static void	 kdf_sweep_arm(void);
static void	 kdf_deliver(struct kdf_jobs *);
static void	 kdf_free(struct kdf_job *);
static void	 kdf_gate_wait(void);

static void
kdf_lock(void)
{
	thread_pool_lock(&tp);
}

static void
kdf_unlock(void)
{
	thread_pool_unlock(&tp);
}

/* Before the sandbox: the pipe to the loop (vault_thread.c). */
int
kdf_init(void)
{
	if (thread_pool_init(&tp) == -1)
		return (-1);
	TAILQ_INIT(&kdf_done);
	return (0);
}

/*
 * After the sandbox: the workers and the loop's side.  NULL limits
 * mean the defaults; a second call does nothing.
 */
int
kdf_start(const struct kdf_limits *lim)
{
	struct kdf_limits	 l;

	if (tp.started)
		return (0);
	if (lim != NULL)
		l = *lim;
	else
		memset(&l, 0, sizeof(l));
	if (l.threads == 0) {
		l.threads = thread_ncpu();
		if (l.threads > KDF_THREADS_DEFAULT)
			l.threads = KDF_THREADS_DEFAULT;
	}
	if (l.threads > KDF_THREADS_MAX)
		l.threads = KDF_THREADS_MAX;
	if (l.queue == 0)
		l.queue = KDF_QUEUE_MAX;
	if (l.perkey == 0)
		l.perkey = KDF_QUEUE_PERKEY;
	if (l.deadline_ms == 0)
		l.deadline_ms = KDF_DEADLINE * 1000;

	kdfq_init(&queue, l.queue, l.perkey);
	deadline_ms = l.deadline_ms;
	evtimer_set(&sweep, kdf_sweep, NULL);
	if (thread_pool_start(&tp, l.threads, KDF_STACK, kdf_worker,
	    kdf_readable) == -1)
		return (-1);
	log_info("kdf: %u worker%s, queue %u (%u per client), deadline %u ms",
	    tp.nthreads, tp.nthreads == 1 ? "" : "s", l.queue, l.perkey,
	    l.deadline_ms);
	return (0);
}

unsigned int
kdf_threads(void)
{
	return (tp.started ? tp.nthreads : 0);
}

/*
 * For the regression tests only (TRESOR_TEST_KDF_GATE, vaultd.8): a
 * file name in the data directory; while that file exists, a worker
 * that took a job waits before it runs Argon2id, for at most
 * GATE_MAX_WAIT_MS or until the pool stops, so that a test can keep a
 * job in the pool as long as it needs to, whatever the machine's speed.
 */
#define GATE_MAX_WAIT_MS	120000
#define GATE_POLL_MS		10

void
kdf_set_gate(const char *name)
{
	kdf_lock();
	if (name == NULL || *name == '\0' ||
	    strlcpy(gate, name, sizeof(gate)) >= sizeof(gate))
		gate[0] = '\0';
	kdf_unlock();
}

static void
kdf_gate_wait(void)
{
	struct timespec	 ts = { 0, GATE_POLL_MS * 1000000L };
	unsigned int	 waited;
	int		 held;

	for (waited = 0; waited < GATE_MAX_WAIT_MS; waited += GATE_POLL_MS) {
		kdf_lock();
		held = gate[0] != '\0' && !tp.stopping &&
		    access(gate, F_OK) == 0;
		kdf_unlock();
		if (!held)
			return;
		(void)nanosleep(&ts, NULL);
	}
}

/*
 * A worker: take the next job in fair order, derive, hand it back.  A
 * job whose deadline passed while it waited is not run.
 */
static void *
kdf_worker(void *arg)
{
	struct kdf_job	*job;
	struct sched_param	 sp;
	struct timespec	 now;
	int		 status;

	(void)arg;
	log_thread_defer();
	/* This thread only (Linux); a failure costs speed, not safety. */
	memset(&sp, 0, sizeof(sp));
	if (sched_setscheduler(0, SCHED_IDLE, &sp) == -1) {
		log_warn("kdf: sched_setscheduler");
		errno = 0;
		if (setpriority(PRIO_PROCESS, 0, KDF_NICE) == -1 && errno != 0)
			log_warn("kdf: setpriority");
	}
	kdf_lock();
	for (;;) {
		while (!tp.stopping && (job = kdfq_pop(&queue)) == NULL)
			thread_wait(&tp.work, &tp.lock, "kdf");
		if (tp.stopping)
			break;
		if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
			fatalx("kdf: clock_gettime");
		if (kdfq_past(&now, &job->deadline))
			status = KDF_EXPIRED;
		else {
			job->state = KDF_RUNNING;
			kdf_unlock();
			kdf_gate_wait();
			status = keys_wrapkey_derive(job->key, job->cred,
			    job->credlen, job->salt, &job->cost) == 0 ?
			    KDF_OK : KDF_EFAIL;
			kdf_lock();
		}
		/* The credential has served: wipe it now, not later. */
		sodium_free(job->cred);
		job->cred = NULL;
		job->status = status;
		job->state = KDF_FINISHED;
		TAILQ_INSERT_TAIL(&kdf_done, job, entry);
		thread_wake_post(&tp.wake);
	}
	kdf_unlock();
	return (NULL);
}

/* The loop: finished jobs to their callbacks. */
static void
kdf_readable(void *arg)
{
	struct kdf_jobs	 done;

	(void)arg;
	TAILQ_INIT(&done);
	kdf_lock();
	TAILQ_CONCAT(&done, &kdf_done, entry);
	kdf_unlock();
	kdf_deliver(&done);
}

/*
 * Call back and free.  A callback may cancel another job of the list
 * (a front dropped, say): that only marks it, and it is freed here
 * without its callback.
 */
static void
kdf_deliver(struct kdf_jobs *done)
{
	struct kdf_job	*job;

	while ((job = TAILQ_FIRST(done)) != NULL) {
		TAILQ_REMOVE(done, job, entry);
		if (!job->cancelled)
			job->done(job->arg, job->status,
			    job->status == KDF_OK ? job->key : NULL);
		kdf_free(job);
	}
}

/*
 * Deadlines are also checked on the loop, once a second while jobs
 * wait: with every worker busy on long runs, an expired job is
 * answered at once rather than when a worker comes to it.
 */
static void
kdf_sweep(int fd, short event, void *arg)
{
	struct kdf_jobs	 expired;
	struct kdf_job	*job;
	struct timespec	 now;

	(void)fd;
	(void)event;
	(void)arg;
	TAILQ_INIT(&expired);
	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		fatal("kdf: clock_gettime");
	kdf_lock();
	while ((job = kdfq_expired(&queue, &now)) != NULL) {
		job->status = KDF_EXPIRED;
		job->state = KDF_FINISHED;
		TAILQ_INSERT_TAIL(&expired, job, entry);
	}
	kdf_unlock();
	kdf_deliver(&expired);
	kdf_sweep_arm();
}

static void
kdf_sweep_arm(void)
{
	struct timeval	 tv = { 1, 0 };
	unsigned int	 n;

	kdf_lock();
	n = queue.njobs;
	kdf_unlock();
	if (n > 0 && !evtimer_pending(&sweep, NULL) &&
	    evtimer_add(&sweep, &tv) == -1)
		log_warnx("kdf: evtimer_add");
}

/*
 * Queue Argon2id of the credential with a salt and a cost, under a
 * fairness key in a class (KDF_CLASS_*, vaultd.h).  The
 * callback runs on the loop with KDF_OK and the key (KEY_LEN bytes,
 * wiped after the callback returns: copy nothing out of it but what
 * it opens), or with KDF_EXPIRED or KDF_EFAIL and NULL.  Returns the
 * job, for kdf_cancel(), or NULL when the job is refused: the pool is
 * not running, the queue or the fairness key's share of it is full,
 * the input is out of bounds or memory is short.
 */
struct kdf_job *
kdf_submit(const char *fairkey, int class, const char *cred, size_t credlen,
    const unsigned char *salt, const struct kdf_cost *cost,
    void (*done)(void *, int, const unsigned char *), void *arg)
{
	struct kdf_job	*job;
	int		 rc;

	if (!tp.started || credlen == 0 || credlen > CREDENTIAL_MAX ||
	    !keys_cost_valid(cost))
		return (NULL);
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return (NULL);
	if ((job->cred = sodium_malloc(credlen)) == NULL ||
	    (job->key = sodium_malloc(KEY_LEN)) == NULL ||
	    clock_gettime(CLOCK_MONOTONIC, &job->deadline) == -1) {
		kdf_free(job);
		return (NULL);
	}
	memcpy(job->cred, cred, credlen);
	job->credlen = credlen;
	memcpy(job->salt, salt, sizeof(job->salt));
	job->cost = *cost;
	job->done = done;
	job->arg = arg;
	job->deadline.tv_sec += deadline_ms / 1000;
	job->deadline.tv_nsec += (long)(deadline_ms % 1000) * 1000000;
	if (job->deadline.tv_nsec >= 1000000000) {
		job->deadline.tv_sec++;
		job->deadline.tv_nsec -= 1000000000;
	}

	kdf_lock();
	if ((rc = kdfq_push(&queue, fairkey, class, job)) == 0)
		thread_pool_signal(&tp);
	kdf_unlock();
	if (rc == -1) {
		kdf_free(job);
		return (NULL);
	}
	kdf_sweep_arm();
	return (job);
}

/*
 * The loop no longer wants the answer (its front went away): a waiting
 * job is freed now, a running or finished one when it comes back, in
 * both cases wiped and without its callback.
 */
void
kdf_cancel(struct kdf_job *job)
{
	kdf_lock();
	if (job->state == KDF_QUEUED) {
		kdfq_remove(&queue, job);
		kdf_unlock();
		kdf_free(job);
		return;
	}
	job->cancelled = 1;
	kdf_unlock();
}

static void
kdf_free(struct kdf_job *job)
{
	/* sodium_free() wipes, and takes NULL. */
	sodium_free(job->cred);
	sodium_free(job->key);
	free(job);
}

/*
 * Stop the workers and forget every job without calling back (tests,
 * and a clean exit); kdf_init() and kdf_start() may follow.  A worker
 * in the middle of a run finishes it first.
 */
void
kdf_stop(void)
{
	struct kdf_job	*job;

	if (tp.started) {
		thread_pool_stop(&tp);
		evtimer_del(&sweep);
		while ((job = kdfq_pop(&queue)) != NULL)
			kdf_free(job);
		while ((job = TAILQ_FIRST(&kdf_done)) != NULL) {
			TAILQ_REMOVE(&kdf_done, job, entry);
			kdf_free(job);
		}
	}
	thread_pool_close(&tp);
}
