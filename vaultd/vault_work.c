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
 * The mailbox workers: one account's long SEARCH, big FETCH or synced
 * commit no longer holds up every other account.
 *
 * Per-account strands over a shared pool, not accounts pinned to a
 * thread by a hash: with pinning, two busy accounts that hash alike
 * wait for each other while another thread idles, and a test cannot
 * choose accounts that are sure to run side by side.  Here an account
 * (its strand) has at most one job handed out at a time, and the
 * handed-out jobs of all accounts wait in one FIFO for the next free
 * thread: accounts take turns, and a thread is never idle while an
 * account has work.
 *
 * One job per strand is out at a time, from the moment the loop puts
 * it on the run queue until its done() has returned on the loop: the
 * account's SQLite connection (and the rest of its mailbox state) is
 * used by one thread at a time, with the pool's mutex between the
 * uses (a worker takes the job under it, the loop takes the finished
 * job under it), and done() may read the mailbox (its commit counter)
 * before the next job starts.  The threads share nothing else with
 * the loop: they run the job's run() and touch only what it touches.
 *
 * Completion goes back to the loop as the KDF pool's does, through
 * vault_thread.c: a done list under the mutex and a byte in a pipe.
 *
 * Background work has a thread of its own, at nice WORK_BG_NICE:
 * importing mail into an unlocked account (and its index) is work
 * that a locked account leaves for later, and on a machine that the
 * deliveries keep busy it slowed their seals to half the locked rate
 * (bench/README.md).  At a lower priority it takes what the seals and
 * the requests leave.  Requests never wait for it at that priority: a
 * foreground job behind background ones promotes them (work_promote()),
 * and the one already running stops at its next message.  Had the
 * background shared the foreground threads, renicing a thread back
 * would need a privilege vaultd does not keep (RLIMIT_NICE), so the
 * thread keeps its priority and the job moves instead.  One thread:
 * background work of all accounts takes turns, and never more than
 * one core.  Should it not start, the foreground threads run it.
 */

#include <sys/types.h>
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "log.h"
#include "vault_thread.h"
#include "vault_work.h"

#define WORK_STACK		(2 * 1024 * 1024) /* SQLite recurses */
#define WORK_BG_NICE		10

_Static_assert(WORK_THREADS_MAX + 1 <= THREAD_POOL_MAX, "too many workers");

static struct thread_pool	 tp = THREAD_POOL_INITIALIZER("work");
/* Under tp.lock: */
static struct work_jobs		 work_runq = TAILQ_HEAD_INITIALIZER(work_runq);
static struct work_jobs		 work_bgq = TAILQ_HEAD_INITIALIZER(work_bgq);
static struct work_jobs		 work_done = TAILQ_HEAD_INITIALIZER(work_done);
static pthread_cond_t		 work_finished = PTHREAD_COND_INITIALIZER;
static unsigned int		 work_nfg;	/* foreground threads asked */
static unsigned int		 work_roles;	/* threads that took a role */
static int			 work_has_bg;	/* the background one runs */

/* The job this thread runs (workers only). */
static _Thread_local struct work_job	*work_running;

static void	*work_worker(void *);
static struct work_job *work_take(int);
static void	 work_wake(void);
static int	 work_unqueue(struct work_jobs *, struct work_job *);
static void	 work_run_here(struct work_job *);
static void	 work_readable(void *);
static void	 work_enqueue(struct work_strand *, struct work_job *,
		    int (*)(void *), void (*)(void *, int), void *, int);
static void	 work_promote(struct work_strand *);
static void	 work_dispatch(struct work_strand *);
static void	 work_finish(struct work_job *);

/* Before the sandbox: the pipe to the loop. */
int
work_init(void)
{
	TAILQ_INIT(&work_runq);
	TAILQ_INIT(&work_bgq);
	TAILQ_INIT(&work_done);
	return (thread_pool_init(&tp));
}

/*
 * After the sandbox: n foreground threads, or with 0 one per core up
 * to WORK_THREADS_MAX, and the background one.  A second call does
 * nothing.
 */
int
work_start(unsigned int n)
{
	unsigned int	 ncpu;

	if (tp.started)
		return (0);
	ncpu = thread_ncpu();
	if (n == 0)
		n = ncpu < WORK_THREADS_MAX ? ncpu : WORK_THREADS_MAX;
	if (n > WORK_THREADS_MAX)
		n = WORK_THREADS_MAX;
	thread_pool_lock(&tp);
	work_nfg = n;
	work_roles = 0;
	thread_pool_unlock(&tp);
	if (thread_pool_start(&tp, n + 1, WORK_STACK, work_worker,
	    work_readable) == -1)
		return (-1);
	/* Threads that did not start leave the background to the rest. */
	thread_pool_lock(&tp);
	work_has_bg = tp.nthreads > n;
	thread_pool_unlock(&tp);
	log_info("work: %u mailbox worker%s%s", work_threads(),
	    work_threads() == 1 ? "" : "s",
	    tp.nthreads > n ? " and one for background work" : "");
	return (0);
}

/* The foreground threads. */
unsigned int
work_threads(void)
{
	if (!tp.started)
		return (0);
	return (tp.nthreads > work_nfg ? work_nfg : tp.nthreads);
}

/*
 * Stop the threads (each finishes the job it runs) and finish on the
 * loop what they left: jobs done are called back, jobs not yet taken
 * are run here.  For a clean exit and the tests.
 */
void
work_stop(void)
{
	struct work_job	*job;

	thread_pool_stop(&tp);
	while ((job = TAILQ_FIRST(&work_runq)) != NULL ||
	    (job = TAILQ_FIRST(&work_bgq)) != NULL) {
		TAILQ_REMOVE(job->background ? &work_bgq : &work_runq, job,
		    entry);
		work_run_here(job);
		TAILQ_INSERT_TAIL(&work_done, job, entry);
	}
	while ((job = TAILQ_FIRST(&work_done)) != NULL) {
		TAILQ_REMOVE(&work_done, job, entry);
		work_finish(job);
	}
	thread_pool_close(&tp);
}

/*
 * A worker: the next handed-out job, whichever account it is for.
 * The thread that comes after the foreground ones is the background
 * one; it lowers its own priority (this thread only, on Linux).
 */
static void *
work_worker(void *arg)
{
	struct work_job	*job;
	int		 bg, status;

	(void)arg;
	log_thread_defer();
	thread_pool_lock(&tp);
	bg = work_roles++ == work_nfg;
	thread_pool_unlock(&tp);
	if (bg) {
		errno = 0;
		if (setpriority(PRIO_PROCESS, 0, WORK_BG_NICE) == -1 &&
		    errno != 0)
			log_warn("work: setpriority");
	}
	thread_pool_lock(&tp);
	while (!tp.stopping) {
		if ((job = work_take(bg)) == NULL) {
			thread_wait(&tp.work, &tp.lock, "work");
			continue;
		}
		thread_pool_unlock(&tp);
		work_running = job;
		status = job->run(job->arg);
		work_running = NULL;
		thread_pool_lock(&tp);
		if (status == WORK_YIELDED) {
			/*
			 * A request waits behind it: the rest in the
			 * foreground, first (its strand waits for it).
			 */
			job->background = 0;
			job->resumed = 1;
			atomic_store(&job->yield, 0);
			TAILQ_INSERT_HEAD(&work_runq, job, entry);
			work_wake();
			continue;
		}
		job->status = status;
		TAILQ_INSERT_TAIL(&work_done, job, entry);
		if (pthread_cond_broadcast(&work_finished) != 0)
			fatalx("work: pthread_cond_broadcast");
		thread_wake_post(&tp.wake);
	}
	thread_pool_unlock(&tp);
	return (NULL);
}

/*
 * Under tp.lock: the next job for a thread.  The background thread
 * takes background jobs only; the others take foreground ones, and
 * background ones as well when there is no background thread.
 */
static struct work_job *
work_take(int bg)
{
	struct work_job	*job;

	if (!bg && (job = TAILQ_FIRST(&work_runq)) != NULL) {
		TAILQ_REMOVE(&work_runq, job, entry);
		return (job);
	}
	if ((bg || !work_has_bg) && (job = TAILQ_FIRST(&work_bgq)) != NULL) {
		TAILQ_REMOVE(&work_bgq, job, entry);
		return (job);
	}
	return (NULL);
}

/* Under tp.lock: two kinds of threads wait, so every one looks. */
static void
work_wake(void)
{
	if (pthread_cond_broadcast(&tp.work) != 0)
		fatalx("work: pthread_cond_broadcast");
}

/* Under tp.lock: take job off q if it is there (not yet taken). */
static int
work_unqueue(struct work_jobs *q, struct work_job *job)
{
	struct work_job	*j;

	TAILQ_FOREACH(j, q, entry)
		if (j == job) {
			TAILQ_REMOVE(q, job, entry);
			return (1);
		}
	return (0);
}

/* On the loop, nobody asks it to yield: it runs to its end. */
static void
work_run_here(struct work_job *job)
{
	do
		job->status = job->run(job->arg);
	while (job->status == WORK_YIELDED);
}

/*
 * On a worker, for the job's run(): a foreground job waits behind it.
 * Stop at the next point where stopping loses nothing.
 */
int
work_yield_asked(void)
{
	return (work_running != NULL && atomic_load(&work_running->yield));
}

/* The loop: finished jobs to their callbacks, in the order they ended. */
static void
work_readable(void *arg)
{
	struct work_jobs	 ended;
	struct work_job		*job;

	(void)arg;
	TAILQ_INIT(&ended);
	thread_pool_lock(&tp);
	TAILQ_CONCAT(&ended, &work_done, entry);
	thread_pool_unlock(&tp);
	while ((job = TAILQ_FIRST(&ended)) != NULL) {
		TAILQ_REMOVE(&ended, job, entry);
		work_finish(job);
	}
}

void
work_strand_init(struct work_strand *s)
{
	memset(s, 0, sizeof(*s));
	TAILQ_INIT(&s->jobs);
}

/*
 * Queue run(arg) on the strand, behind its other jobs; done(arg,
 * status) follows on the loop with what run() returned, or with
 * WORK_CANCELLED if work_drain() dropped the job unrun.  The job's
 * memory must last until done() is called.
 */
void
work_submit(struct work_strand *s, struct work_job *job, int (*run)(void *),
    void (*done)(void *, int), void *arg)
{
	work_enqueue(s, job, run, done, arg, 0);
}

/* The same, for work nobody waits for (see vault_work.h). */
void
work_submit_background(struct work_strand *s, struct work_job *job,
    int (*run)(void *), void (*done)(void *, int), void *arg)
{
	work_enqueue(s, job, run, done, arg, 1);
}

static void
work_enqueue(struct work_strand *s, struct work_job *job, int (*run)(void *),
    void (*done)(void *, int), void *arg, int background)
{
	memset(job, 0, sizeof(*job));
	job->strand = s;
	job->run = run;
	job->done = done;
	job->arg = arg;
	atomic_init(&job->yield, 0);
	job->background = background;
	if (!background)
		work_promote(s);
	TAILQ_INSERT_TAIL(&s->jobs, job, entry);
	work_dispatch(s);
}

/*
 * A foreground job joins the strand: what waits before it is no
 * longer background, and a background job handed out is moved to the
 * foreground threads if none has taken it yet.  Each of them is asked
 * to stop early too (whether it runs yet or not): somebody waits
 * behind it, so it does the least it must (an index batch one message,
 * then ends; an import slice goes on in the foreground, see
 * WORK_YIELDED).
 */
static void
work_promote(struct work_strand *s)
{
	struct work_job	*job;

	TAILQ_FOREACH(job, &s->jobs, entry)
		if (job->background) {
			job->background = 0;
			atomic_store(&job->yield, 1);
		}
	if ((job = s->current) == NULL || !tp.started)
		return;
	thread_pool_lock(&tp);
	if (job->background) {
		if (work_unqueue(&work_bgq, job)) {
			job->background = 0;
			TAILQ_INSERT_TAIL(&work_runq, job, entry);
			work_wake();
		}
		atomic_store(&job->yield, 1);
	}
	thread_pool_unlock(&tp);
}

/* Nothing waits, nothing runs, nobody paused it. */
int
work_idle(const struct work_strand *s)
{
	return (s->current == NULL && s->paused == 0 &&
	    TAILQ_EMPTY(&s->jobs));
}

/*
 * cb(arg) once the strand is idle: now if it is.  One waiter at a
 * time; cb may free the strand's owner.
 */
void
work_when_idle(struct work_strand *s, void (*cb)(void *), void *arg)
{
	s->idle = cb;
	s->idle_arg = arg;
	work_dispatch(s);
}

/*
 * Hold the strand's next jobs back until work_resume() (the tests use
 * it to hold an account's work at a known point).
 */
void
work_pause(struct work_strand *s)
{
	s->paused++;
}

void
work_resume(struct work_strand *s)
{
	if (s->paused > 0)
		s->paused--;
	work_dispatch(s);
}

/*
 * Hand the strand's first job out, unless one is out or the strand is
 * paused; an idle strand calls its waiter.  Without workers the job
 * runs here, and the next after it.
 */
static void
work_dispatch(struct work_strand *s)
{
	struct work_job	*job;
	void		(*cb)(void *);

	for (;;) {
		if (s->current != NULL || s->paused > 0)
			return;
		if ((job = TAILQ_FIRST(&s->jobs)) == NULL) {
			if ((cb = s->idle) != NULL) {
				s->idle = NULL;
				/* Last: it may free the strand. */
				cb(s->idle_arg);
			}
			return;
		}
		TAILQ_REMOVE(&s->jobs, job, entry);
		s->current = job;
		if (tp.started) {
			thread_pool_lock(&tp);
			TAILQ_INSERT_TAIL(job->background ? &work_bgq :
			    &work_runq, job, entry);
			work_wake();
			thread_pool_unlock(&tp);
			return;
		}
		work_run_here(job);
		work_finish(job);
		/* work_finish() dispatched the rest. */
		return;
	}
}

/*
 * A job is over: its done() while the strand still counts it as out,
 * then the strand's next job.
 */
static void
work_finish(struct work_job *job)
{
	struct work_strand	*s = job->strand;

	job->done(job->arg, job->status);
	s->current = NULL;
	work_dispatch(s);
}

/*
 * The strand's owner goes away now (an account deleted, a shutdown):
 * the jobs that wait are dropped (their done() with WORK_CANCELLED, in
 * order), and one a worker runs is waited for and finished.  On the
 * loop, which blocks meanwhile: for rare events only.  A pause is left
 * to whoever paused the strand.
 */
void
work_drain(struct work_strand *s)
{
	struct work_job	*job, *d;
	int		 taken;

	/* Its owner is going: nobody waits for it to idle. */
	s->idle = NULL;
	for (;;) {
		if ((job = s->current) != NULL) {
			thread_pool_lock(&tp);
			/*
			 * Not yet taken by a worker: never run.  (One that
			 * yielded is back on the run queue half done: it is
			 * waited for like one that runs.)
			 */
			job = s->current;
			taken = 1;
			if (job->background ? work_unqueue(&work_bgq, job) :
			    !job->resumed && work_unqueue(&work_runq, job)) {
				job->status = WORK_CANCELLED;
				taken = 0;
			}
			while (taken) {
				TAILQ_FOREACH(d, &work_done, entry)
					if (d == job)
						break;
				if (d != NULL) {
					TAILQ_REMOVE(&work_done, job, entry);
					break;
				}
				thread_wait(&work_finished, &tp.lock, "work");
			}
			thread_pool_unlock(&tp);
			job->done(job->arg, job->status);
			s->current = NULL;
			continue;
		}
		if ((job = TAILQ_FIRST(&s->jobs)) == NULL)
			break;
		TAILQ_REMOVE(&s->jobs, job, entry);
		job->status = WORK_CANCELLED;
		s->current = job;
		job->done(job->arg, job->status);
		s->current = NULL;
	}
	s->idle = NULL;
}
