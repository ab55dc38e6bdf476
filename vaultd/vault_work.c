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
 */

#include <sys/types.h>

#include <pthread.h>
#include <string.h>

#include "log.h"
#include "vault_thread.h"
#include "vault_work.h"

#define WORK_STACK		(2 * 1024 * 1024) /* SQLite recurses */

_Static_assert(WORK_THREADS_MAX <= THREAD_POOL_MAX, "too many workers");

static struct thread_pool	 tp = THREAD_POOL_INITIALIZER("work");
/* Under tp.lock: */
static struct work_jobs		 work_runq = TAILQ_HEAD_INITIALIZER(work_runq);
static struct work_jobs		 work_done = TAILQ_HEAD_INITIALIZER(work_done);
static pthread_cond_t		 work_finished = PTHREAD_COND_INITIALIZER;

static void	*work_worker(void *);
static void	 work_readable(void *);
static void	 work_dispatch(struct work_strand *);
static void	 work_finish(struct work_job *);

/* Before the sandbox: the pipe to the loop. */
int
work_init(void)
{
	TAILQ_INIT(&work_runq);
	TAILQ_INIT(&work_done);
	return (thread_pool_init(&tp));
}

/*
 * After the sandbox: n threads, or with 0 one per core up to
 * WORK_THREADS_MAX.  A second call does nothing.
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
	if (thread_pool_start(&tp, n, WORK_STACK, work_worker,
	    work_readable) == -1)
		return (-1);
	log_info("work: %u mailbox worker%s", tp.nthreads,
	    tp.nthreads == 1 ? "" : "s");
	return (0);
}

unsigned int
work_threads(void)
{
	return (tp.started ? tp.nthreads : 0);
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
	while ((job = TAILQ_FIRST(&work_runq)) != NULL) {
		TAILQ_REMOVE(&work_runq, job, entry);
		job->status = job->run(job->arg);
		TAILQ_INSERT_TAIL(&work_done, job, entry);
	}
	while ((job = TAILQ_FIRST(&work_done)) != NULL) {
		TAILQ_REMOVE(&work_done, job, entry);
		work_finish(job);
	}
	thread_pool_close(&tp);
}

/* A worker: the next handed-out job, whichever account it is for. */
static void *
work_worker(void *arg)
{
	struct work_job	*job;

	(void)arg;
	log_thread_defer();
	thread_pool_lock(&tp);
	while (!tp.stopping) {
		if ((job = TAILQ_FIRST(&work_runq)) == NULL) {
			thread_wait(&tp.work, &tp.lock, "work");
			continue;
		}
		TAILQ_REMOVE(&work_runq, job, entry);
		thread_pool_unlock(&tp);
		job->status = job->run(job->arg);
		thread_pool_lock(&tp);
		TAILQ_INSERT_TAIL(&work_done, job, entry);
		if (pthread_cond_broadcast(&work_finished) != 0)
			fatalx("work: pthread_cond_broadcast");
		thread_wake_post(&tp.wake);
	}
	thread_pool_unlock(&tp);
	return (NULL);
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
	memset(job, 0, sizeof(*job));
	job->strand = s;
	job->run = run;
	job->done = done;
	job->arg = arg;
	TAILQ_INSERT_TAIL(&s->jobs, job, entry);
	work_dispatch(s);
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
			TAILQ_INSERT_TAIL(&work_runq, job, entry);
			thread_pool_signal(&tp);
			thread_pool_unlock(&tp);
			return;
		}
		job->status = job->run(job->arg);
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
			/* Not yet taken by a worker: never run. */
			taken = 1;
			TAILQ_FOREACH(job, &work_runq, entry)
				if (job == s->current)
					break;
			if (job != NULL) {
				TAILQ_REMOVE(&work_runq, job, entry);
				job->status = WORK_CANCELLED;
				taken = 0;
			}
			job = s->current;
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
