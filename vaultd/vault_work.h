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
 * vault_work.c: the mailbox workers.  Each unlocked account has a
 * strand, a FIFO of jobs that run one at a time in arrival order; the
 * strands share a small pool of threads.  A job's run() is called on a
 * worker, its done() on the event loop afterwards; the strand's next
 * job is handed to a worker only after done() has returned, so done()
 * and the loop may use the account's mailbox between two jobs.
 *
 * Ownership: the strands and the jobs' queues belong to the loop; a
 * worker sees only the one job it runs, between taking it from the
 * pool's run queue and putting it on the done list (both under the
 * pool's mutex).  A job's memory is its submitter's; the pool only
 * links it.
 *
 * Without started workers (unit tests that do not start them, or
 * before the first configuration) a job runs at once on the loop, in
 * the same order: work_submit() then returns after its done(), unless
 * it was called from a done() of the same strand (the job runs when
 * that done() has returned).
 *
 * Background jobs (work_submit_background(): work nobody waits for,
 * such as importing a delivery nobody has asked about yet, or the
 * full-text index) run on a thread of their own at a lower priority,
 * so that on a busy machine they take the cores the foreground leaves.
 * A strand stays one FIFO: a foreground job queued behind background
 * ones makes them foreground (what it waits for is no longer
 * background), and asks them to stop early (work_yield_asked()),
 * whether they run already or not.  Their run() then returns at a
 * point where it may stop: either its normal status (the job ends
 * early) or WORK_YIELDED, and it is called again, on a foreground
 * thread and not asked again, for the rest; done() follows once,
 * after the last call.
 */

#ifndef VAULT_WORK_H
#define VAULT_WORK_H

#include <sys/queue.h>

#include <stdatomic.h>

#define WORK_THREADS_MAX	4	/* and at most the cores */
#define WORK_CANCELLED		(-1000)	/* status of a job never run */
#define WORK_YIELDED		(-1001)	/* run() stopped: the rest, again */

struct work_strand;

struct work_job {
	TAILQ_ENTRY(work_job)	 entry;		/* strand, run queue, done */
	struct work_strand	*strand;
	int			(*run)(void *);	/* on a worker */
	void			(*done)(void *, int); /* on the loop */
	void			*arg;
	int			 status;	/* run()'s answer */
	int			 background;	/* under the pool's lock */
	int			 resumed;	/* yielded, goes on; ditto */
	atomic_int		 yield;		/* stop early, if you can */
};
TAILQ_HEAD(work_jobs, work_job);

struct work_strand {
	struct work_jobs	 jobs;		/* waiting, in order */
	struct work_job		*current;	/* handed out, until done() */
	unsigned int		 paused;	/* work_pause() depth */
	void			(*idle)(void *); /* once, when idle */
	void			*idle_arg;
};

int	 work_init(void);
int	 work_start(unsigned int);
void	 work_stop(void);
unsigned int work_threads(void);
void	 work_strand_init(struct work_strand *);
void	 work_submit(struct work_strand *, struct work_job *,
	    int (*)(void *), void (*)(void *, int), void *);
void	 work_submit_background(struct work_strand *, struct work_job *,
	    int (*)(void *), void (*)(void *, int), void *);
int	 work_yield_asked(void);
int	 work_idle(const struct work_strand *);
void	 work_when_idle(struct work_strand *, void (*)(void *), void *);
void	 work_pause(struct work_strand *);
void	 work_resume(struct work_strand *);
void	 work_drain(struct work_strand *);

#endif /* VAULT_WORK_H */
