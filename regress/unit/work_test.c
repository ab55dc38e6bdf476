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
 * The mailbox workers (vaultd/vault_work.c): per-strand order, strands
 * side by side, waiting for a strand to idle, a failed job's status,
 * draining, background jobs (their thread's priority, promotion
 * behind a foreground job, stopping early).  No assertion depends on
 * speed: parallelism is shown by a
 * job that can only finish after another strand's job has finished,
 * and every wait is bounded (a one-second tick wakes the loop so that
 * a bound is checked even when nothing comes).
 */

#include <sys/types.h>
#include <sys/resource.h>

#include <errno.h>
#include <event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "test.h"
#include "vault_work.h"

TEST_GLOBALS;

#define WAIT_LIMIT	60	/* seconds: only a broken pool waits long */
#define NJOBS		64

struct job {
	struct work_job	 wj;
	int		 id;
	int		 status;	/* what run() returns */
	int		 block;		/* run() waits for release */
	int		 release;	/* run() releases the others */
	int		 release_done;	/* done() does, on the loop */
	int		 got;		/* done()'s status */
};

struct log {
	int		 ran[NJOBS * 2];
	unsigned int	 nran;		/* written on workers, one strand */
	int		 done[NJOBS * 2];
	unsigned int	 ndone;
	int		 idle_at;	/* ndone when the idle call came */
};

static struct log		 lg;
static pthread_mutex_t		 mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 cond = PTHREAD_COND_INITIALIZER;
static int			 released, started;
static atomic_int		 inside;	/* jobs of strand 0 running */
static atomic_int		 overlap;	/* strand 0 ran two at once */
static struct event		 tick;

static void	 wait_started(void);

static void
tick_cb(int fd, short ev, void *arg)
{
	struct timeval	 tv = { 1, 0 };

	(void)fd;
	(void)ev;
	(void)arg;
	evtimer_add(&tick, &tv);
}

/* Wait, bounded, for the release; a timeout is a failed run. */
static int
wait_release(void)
{
	struct timespec	 ts;
	int		 ok = 1;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_LIMIT;
	pthread_mutex_lock(&mtx);
	started = 1;
	pthread_cond_broadcast(&cond);
	while (!released && ok)
		if (pthread_cond_timedwait(&cond, &mtx, &ts) != 0)
			ok = 0;
	pthread_mutex_unlock(&mtx);
	return (ok);
}

static void
do_release(void)
{
	pthread_mutex_lock(&mtx);
	released = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
}

static int
run_cb(void *arg)
{
	struct job	*j = arg;
	int		 rv = j->status;

	if (j->id < NJOBS && atomic_fetch_add(&inside, 1) != 0)
		atomic_store(&overlap, 1);
	if (j->id < NJOBS)
		lg.ran[lg.nran++] = j->id;
	if (j->block && !wait_release())
		rv = -99;
	if (j->release)
		do_release();
	if (j->id < NJOBS)
		atomic_fetch_sub(&inside, 1);
	return (rv);
}

static void
done_cb(void *arg, int status)
{
	struct job	*j = arg;

	j->got = status;
	lg.done[lg.ndone++] = j->id;
	if (j->release_done)
		do_release();
}

static void
idle_cb(void *arg)
{
	(void)arg;
	lg.idle_at = (int)lg.ndone;
}

static void
reset(void)
{
	memset(&lg, 0, sizeof(lg));
	lg.idle_at = -1;
	released = started = 0;
	atomic_store(&inside, 0);
	atomic_store(&overlap, 0);
}

static void
wait_done(unsigned int n)
{
	time_t	 limit = time(NULL) + WAIT_LIMIT;

	while (lg.ndone < n) {
		CHECK(time(NULL) < limit);
		CHECK(event_loop(EVLOOP_ONCE) == 0);
	}
}

static void
pool_up(unsigned int n)
{
	CHECK(work_init() == 0);
	CHECK(work_start(n) == 0);
	CHECK(work_threads() == n);
}

/* A fresh start with n workers and two empty strands. */
static void
two_strands(unsigned int n, struct work_strand *a, struct work_strand *b)
{
	reset();
	pool_up(n);
	work_strand_init(a);
	work_strand_init(b);
}

/* One strand's jobs run one at a time, in order, and answer in order. */
static void
strand_fifo(void)
{
	static struct job	 j[NJOBS];
	struct work_strand	 s;
	int			 i;

	reset();
	pool_up(4);
	work_strand_init(&s);
	for (i = 0; i < NJOBS; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].id = i;
		work_submit(&s, &j[i].wj, run_cb, done_cb, &j[i]);
	}
	wait_done(NJOBS);
	work_stop();
	CHECK(lg.nran == NJOBS);
	for (i = 0; i < NJOBS; i++) {
		CHECK(lg.ran[i] == i);
		CHECK(lg.done[i] == i);
	}
	CHECK(atomic_load(&overlap) == 0);
	CHECK(work_idle(&s));
}

/*
 * Two strands run at once: A's job can only finish once B's job has
 * been answered (it waits for the release B's done() makes on the
 * loop), so with one strand at a time A would time out and report -99.
 */
static void
strands_parallel(void)
{
	struct work_strand	 a, b;
	struct job		 ja, jb;

	two_strands(2, &a, &b);
	memset(&ja, 0, sizeof(ja));
	memset(&jb, 0, sizeof(jb));
	ja.id = NJOBS + 1;
	ja.block = 1;
	jb.id = NJOBS + 2;
	jb.release_done = 1;
	work_submit(&a, &ja.wj, run_cb, done_cb, &ja);
	work_submit(&b, &jb.wj, run_cb, done_cb, &jb);
	wait_done(2);
	work_stop();
	CHECK(ja.got == 0);
	CHECK(jb.got == 0);
	CHECK(lg.done[0] == jb.id);
	CHECK(lg.done[1] == ja.id);
}

/*
 * One strand does not wait for another: B's many jobs all answer while
 * A's first job still blocks, and A's next job runs after it.
 */
static void
strand_not_held_back(void)
{
	static struct job	 jb[8];
	struct work_strand	 a, b;
	struct job		 ja[2];
	int			 i;

	two_strands(2, &a, &b);
	memset(ja, 0, sizeof(ja));
	ja[0].id = NJOBS + 1;
	ja[0].block = 1;
	ja[1].id = NJOBS + 2;
	work_submit(&a, &ja[0].wj, run_cb, done_cb, &ja[0]);
	work_submit(&a, &ja[1].wj, run_cb, done_cb, &ja[1]);
	for (i = 0; i < 8; i++) {
		memset(&jb[i], 0, sizeof(jb[i]));
		jb[i].id = i;
		work_submit(&b, &jb[i].wj, run_cb, done_cb, &jb[i]);
	}
	wait_done(8);
	/* All of B answered; A's first still runs, its second waits. */
	for (i = 0; i < 8; i++)
		CHECK(lg.done[i] == i);
	CHECK(!work_idle(&a));
	do_release();
	wait_done(10);
	work_stop();
	CHECK(lg.done[8] == ja[0].id);
	CHECK(lg.done[9] == ja[1].id);
	CHECK(ja[0].got == 0 && ja[1].got == 0);
}

/*
 * A lock waits for the strand: the idle call comes after the last
 * job's done(), not before; a pause holds the strand's next jobs and
 * keeps it from idling until it is lifted.
 */
static void
idle_waits(void)
{
	struct work_strand	 s;
	struct job		 j[4];
	int			 i;

	reset();
	pool_up(2);
	work_strand_init(&s);
	for (i = 0; i < 4; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].id = i;
	}
	j[0].block = 1;
	for (i = 0; i < 3; i++)
		work_submit(&s, &j[i].wj, run_cb, done_cb, &j[i]);
	work_when_idle(&s, idle_cb, NULL);
	CHECK(lg.idle_at == -1);
	do_release();
	wait_done(3);
	CHECK(lg.idle_at == 3);
	CHECK(work_idle(&s));

	/* Paused: a new job waits, and so does the idle call. */
	lg.idle_at = -1;
	work_pause(&s);
	CHECK(!work_idle(&s));
	work_submit(&s, &j[3].wj, run_cb, done_cb, &j[3]);
	work_when_idle(&s, idle_cb, NULL);
	CHECK(lg.idle_at == -1);
	CHECK(lg.ndone == 3 && lg.nran == 3);
	work_resume(&s);
	wait_done(4);
	CHECK(lg.done[3] == 3);
	CHECK(lg.idle_at == 4);
	work_stop();
}

/* A job's status reaches its done(), whatever it is. */
static void
failed_status(void)
{
	struct work_strand	 s;
	struct job		 j[2];

	reset();
	pool_up(1);
	work_strand_init(&s);
	memset(j, 0, sizeof(j));
	j[0].id = 0;
	j[0].status = -5;
	j[1].id = 1;
	j[1].status = 7;
	work_submit(&s, &j[0].wj, run_cb, done_cb, &j[0]);
	work_submit(&s, &j[1].wj, run_cb, done_cb, &j[1]);
	wait_done(2);
	work_stop();
	CHECK(j[0].got == -5);
	CHECK(j[1].got == 7);
}

/*
 * Draining (an account deleted): the running job is waited for and
 * answered with its status, the waiting ones are answered unrun.
 */
static void
drain(void)
{
	struct work_strand	 a, b;
	struct job		 ja[3], jb;
	int			 i;

	two_strands(2, &a, &b);
	memset(ja, 0, sizeof(ja));
	memset(&jb, 0, sizeof(jb));
	for (i = 0; i < 3; i++)
		ja[i].id = i;
	ja[0].block = 1;
	for (i = 0; i < 3; i++)
		work_submit(&a, &ja[i].wj, run_cb, done_cb, &ja[i]);
	/* Until A's first job runs on a worker. */
	wait_started();
	/* B's job, on the other worker, lets it finish. */
	jb.id = NJOBS + 1;
	jb.release = 1;
	work_submit(&b, &jb.wj, run_cb, done_cb, &jb);
	work_drain(&a);
	CHECK(ja[0].got == 0);
	CHECK(ja[1].got == WORK_CANCELLED);
	CHECK(ja[2].got == WORK_CANCELLED);
	CHECK(lg.done[0] == 0 && lg.done[1] == 1 && lg.done[2] == 2);
	CHECK(lg.nran == 1);
	CHECK(work_idle(&a));
	wait_done(4);
	work_stop();
	CHECK(jb.got == 0);
}

/*
 * Background jobs.  A bgjob records the priority it ran at and how
 * often it ran; one that waits for a yield polls work_yield_asked()
 * (bounded) and asks to go on in the foreground.
 */
struct bgjob {
	struct work_job	 wj;
	int		 id;
	int		 block;		/* waits for the release */
	int		 wait_yield;	/* waits to be asked to stop */
	int		 calls;
	int		 nice[2];	/* at the first two calls */
	int		 asked;		/* the yield was seen */
	int		 asked_again;	/* seen in the foreground */
	int		 got;
};

static int
nice_now(void)
{
	int	 n;

	errno = 0;
	n = getpriority(PRIO_PROCESS, 0);
	CHECK(errno == 0);
	return (n);
}

static int
bg_run(void *arg)
{
	struct bgjob	*j = arg;
	struct timespec	 ms = { 0, 1000000 };
	time_t		 limit;

	if (j->calls < 2)
		j->nice[j->calls] = nice_now();
	if (j->calls == 0 && !j->wait_yield)
		j->asked = work_yield_asked();
	if (j->calls++ > 0) {
		j->asked_again = work_yield_asked();
		return (7);
	}
	if (j->block && !wait_release())
		return (-99);
	if (j->wait_yield) {
		pthread_mutex_lock(&mtx);
		started = 1;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&mtx);
		limit = time(NULL) + WAIT_LIMIT;
		while (!work_yield_asked() && time(NULL) < limit)
			nanosleep(&ms, NULL);
		j->asked = work_yield_asked();
		return (j->asked ? WORK_YIELDED : -98);
	}
	return (7);
}

static void
bg_done(void *arg, int status)
{
	struct bgjob	*j = arg;

	j->got = status;
	lg.done[lg.ndone++] = j->id;
}

/* Until a job waits in wait_release() or said it started. */
static void
wait_started(void)
{
	struct timespec	 ts;
	int		 ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_LIMIT;
	pthread_mutex_lock(&mtx);
	while (!started)
		if (pthread_cond_timedwait(&cond, &mtx, &ts) != 0)
			break;
	ok = started;
	pthread_mutex_unlock(&mtx);
	CHECK(ok);
}

/* A fresh bgjob. */
static void
bg_init(struct bgjob *j, int id)
{
	memset(j, 0, sizeof(*j));
	j->id = id;
}

/*
 * A fresh pool and two strands; with hold, a background job of strand
 * a that holds the background thread until do_release().
 */
static void
bg_setup(struct work_strand *a, struct work_strand *b, struct bgjob *hold)
{
	two_strands(2, a, b);
	if (hold == NULL)
		return;
	bg_init(hold, 1);
	hold->block = 1;
	work_submit_background(a, &hold->wj, bg_run, bg_done, hold);
	wait_started();
}

/* A background job runs at a lower priority than a foreground one. */
static void
background_nice(void)
{
	struct work_strand	 a, b;
	struct bgjob		 fg, bg;

	bg_setup(&a, &b, NULL);
	bg_init(&fg, 1);
	bg_init(&bg, 2);
	work_submit(&a, &fg.wj, bg_run, bg_done, &fg);
	work_submit_background(&b, &bg.wj, bg_run, bg_done, &bg);
	wait_done(2);
	work_stop();
	CHECK(fg.got == 7 && bg.got == 7);
	CHECK(bg.nice[0] > fg.nice[0]);
}

/*
 * A foreground job behind a background one that no thread has taken
 * yet (the background thread is held by another strand's job) makes
 * it foreground: both answer while the background thread is still
 * held, the promoted one first, at the foreground's priority and
 * asked to stop early.
 */
static void
background_promoted(void)
{
	struct work_strand	 a, b;
	struct bgjob		 hold, j[2];

	bg_setup(&a, &b, &hold);
	bg_init(&j[0], 2);
	bg_init(&j[1], 3);
	work_submit_background(&b, &j[0].wj, bg_run, bg_done, &j[0]);
	work_submit(&b, &j[1].wj, bg_run, bg_done, &j[1]);
	wait_done(2);
	CHECK(lg.done[0] == 2 && lg.done[1] == 3);
	CHECK(hold.got == 0 && hold.calls == 1);
	CHECK(j[0].nice[0] == j[1].nice[0]);
	/* Promoted, it is asked to do the least; the one behind is not. */
	CHECK(j[0].asked == 1 && j[1].asked == 0);
	do_release();
	wait_done(3);
	work_stop();
	CHECK(hold.got == 7);
	CHECK(hold.nice[0] > j[1].nice[0]);
}

/*
 * A foreground job behind a running background one asks it to stop:
 * it sees the request, yields, is called again in the foreground for
 * the rest (where nobody asks it to stop), and answers once, before
 * the job that asked.
 */
static void
background_yields(void)
{
	struct work_strand	 a, b;
	struct bgjob		 y, k;

	bg_setup(&a, &b, NULL);
	bg_init(&y, 1);
	y.wait_yield = 1;
	bg_init(&k, 2);
	work_submit_background(&a, &y.wj, bg_run, bg_done, &y);
	wait_started();
	work_submit(&a, &k.wj, bg_run, bg_done, &k);
	wait_done(2);
	work_stop();
	CHECK(y.asked == 1);
	CHECK(y.calls == 2);
	CHECK(y.asked_again == 0);
	CHECK(y.got == 7 && k.got == 7);
	CHECK(y.nice[1] == k.nice[0]);
	CHECK(y.nice[0] > k.nice[0]);
	CHECK(lg.ndone == 2 && lg.done[0] == 1 && lg.done[1] == 2);
}

/* A drain drops a background job no thread has taken: never run. */
static void
background_drained(void)
{
	struct work_strand	 a, b;
	struct bgjob		 hold, j;

	bg_setup(&a, &b, &hold);
	bg_init(&j, 2);
	work_submit_background(&b, &j.wj, bg_run, bg_done, &j);
	work_drain(&b);
	CHECK(j.got == WORK_CANCELLED && j.calls == 0);
	CHECK(work_idle(&b));
	do_release();
	wait_done(2);
	work_stop();
	CHECK(hold.got == 7);
}

/* Without workers a job runs at once, in order, done() included. */
static void
no_workers(void)
{
	struct work_strand	 s;
	struct job		 j[3];
	int			 i;

	reset();
	CHECK(work_threads() == 0);
	work_strand_init(&s);
	for (i = 0; i < 3; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].id = i;
		j[i].status = i;
		work_submit(&s, &j[i].wj, run_cb, done_cb, &j[i]);
		CHECK(lg.ndone == (unsigned int)i + 1);
		CHECK(j[i].got == i);
	}
	work_when_idle(&s, idle_cb, NULL);
	CHECK(lg.idle_at == 3);
}

int
main(void)
{
	struct timeval	 tv = { 1, 0 };

	log_init(1, LOG_MAIL);
	event_init();
	evtimer_set(&tick, tick_cb, NULL);
	evtimer_add(&tick, &tv);
	RUN(strand_fifo);
	RUN(strands_parallel);
	RUN(strand_not_held_back);
	RUN(idle_waits);
	RUN(failed_status);
	RUN(drain);
	RUN(background_nice);
	RUN(background_promoted);
	RUN(background_yields);
	RUN(background_drained);
	RUN(no_workers);
	TEST_EXIT();
}
