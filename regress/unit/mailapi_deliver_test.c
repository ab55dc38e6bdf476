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
 * The delivery group (vault_deliver.c) on the mailbox API tests' vault:
 * alice and bob unlocked.  Deliveries to both are collected, committed
 * one transaction per account with one directory write, and answered
 * only then; the group stays open while passes of the loop bring more;
 * an account whose transaction fails does not fail the other; a
 * cancelled front hears nothing; the bounds close a group.  Last, the
 * same with the mailbox workers started: the accounts' transactions on
 * their strands, a delivery for an account whose earlier group still
 * commits held for the next group, the other account not held back,
 * and a lock that waits for the strand.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <event.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "test.h"
#include "vault_mbox_db.h"
#include "vaultd.h"
#include "mailapi_fixture.h"

TEST_GLOBALS;

#define CAROL		"carol@test.example"
#define ANSWERS_MAX	(DELIVER_GROUP_MAX + 8)
/* EVLOOP_NONBLOCK alone runs passes until one has nothing to do. */
#define ONE_PASS	(EVLOOP_ONCE | EVLOOP_NONBLOCK)

/* What the callback saw, in the order it was called. */
struct answer {
	uint32_t	 reqid;
	int		 status;
	uint32_t	 alice_exists;	/* INBOX at the time of the answer */
	uint32_t	 bob_exists;
	int		 alice_recorded; /* directory counter == mailbox's */
	int		 bob_recorded;
};

static struct answer	 answers[ANSWERS_MAX];
static size_t		 nanswers;
static struct vault_account *bob;

static void	 answered(void *, uint32_t, int);
static uint32_t	 inbox_exists(struct vault_account *);
static int	 recorded(const char *, struct vault_account *);
static void	 submit(const char *, int, void *, uint32_t);
static void	 run_loop(void);
static void	 test_stays_open(void);
static void	 test_find_bob(void);
static void	 test_group(void);
static void	 test_failing_account(void);
static void	 test_refused_now(void);
static void	 test_cancel(void);
static void	 test_bound(void);
static void	 test_workers(void);

static uint32_t
inbox_exists(struct vault_account *a)
{
	struct mbox_folder	 f;

	CHECK(mbox_folder_get(a->mbox, "INBOX", &f) == MBOX_OK);
	return (f.info.exists);
}

static int
recorded(const char *address, struct vault_account *a)
{
	struct dir_account	 da;

	CHECK(dir_account_get(address, &da) == DIR_OK);
	return (da.counter == mbox_counter(a->mbox));
}

/* Both INBOXes and counters before a group; no answers yet. */
struct before {
	uint32_t	 a0, b0;
	uint64_t	 ca, cb;
};

static void
before_group(struct before *w)
{
	w->a0 = inbox_exists(alice);
	w->b0 = inbox_exists(bob);
	w->ca = mbox_counter(alice->mbox);
	w->cb = mbox_counter(bob->mbox);
	nanswers = 0;
}

/* The state of both mailboxes is taken when the answer comes. */
static void
answered(void *arg, uint32_t reqid, int status)
{
	struct answer	*w;

	(void)arg;
	CHECK(nanswers < ANSWERS_MAX);
	w = &answers[nanswers++];
	w->reqid = reqid;
	w->status = status;
	w->alice_exists = inbox_exists(alice);
	w->bob_exists = inbox_exists(bob);
	w->alice_recorded = recorded(ALICE, alice);
	w->bob_recorded = recorded(BOB, bob);
}

/* Message i (1..3 of the fixture) to address, as vaultd would pass it. */
static void
submit(const char *address, int i, void *owner, uint32_t reqid)
{
	void	*data;
	size_t	 len;
	int	 fd;

	fd = bundle_fd(i);
	CHECK(bundle_map(fd, &data, &len) == 0);
	close(fd);
	deliver_submit(address, data, len, answered, owner, reqid);
}

/* Passes of the loop until the group is committed (a few at most). */
static void
run_loop(void)
{
	int	 i;

	for (i = 0; i < 10 && deliver_pending() > 0; i++)
		CHECK(event_loop(EVLOOP_NONBLOCK) != -1);
	CHECK(deliver_pending() == 0);
}

/* Milliseconds since t0. */
static long long
ms_since(const struct timespec *t0)
{
	struct timespec	 now;

	CHECK(clock_gettime(CLOCK_MONOTONIC, &now) == 0);
	return ((now.tv_sec - t0->tv_sec) * 1000LL +
	    (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/*
 * A pass of the loop that brought a delivery keeps the group open for
 * the next one; the first pass without closes it.  The group also
 * closes DELIVER_GROUP_WAIT_MS after it opened: on a machine slow
 * enough to pass that here, the test checks that instead (a slow
 * machine must not fail it).
 */
static void
test_stays_open(void)
{
	struct timespec	 t0;
	uint64_t	 ca;
	int		 i, timed_out = 0;

	ca = mbox_counter(alice->mbox);
	nanswers = 0;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &t0) == 0);
	submit(ALICE, 1, NULL, 40);
	for (i = 0; i < 3 && !timed_out; i++) {
		CHECK(event_loop(ONE_PASS) != -1);
		if (ms_since(&t0) >= DELIVER_GROUP_WAIT_MS) {
			timed_out = 1;
			break;
		}
		CHECK(nanswers == 0 && deliver_pending() == (size_t)i + 1);
		submit(ALICE, 2, NULL, 41 + i);
	}
	if (!timed_out) {
		CHECK(event_loop(ONE_PASS) != -1);
		if (ms_since(&t0) < DELIVER_GROUP_WAIT_MS) {
			CHECK(nanswers == 0 && deliver_pending() == 4);
			CHECK(event_loop(ONE_PASS) != -1);
			CHECK(nanswers == 4 && deliver_pending() == 0);
			CHECK(mbox_counter(alice->mbox) == ca + 1);
		}
	}
	/* Whatever the clock did, every delivery is answered and stored. */
	run_loop();
	CHECK(nanswers == (size_t)(timed_out ? i + 1 : 4));
	for (i = 0; (size_t)i < nanswers; i++)
		CHECK(answers[i].status == MBOX_OK);
	check_counter();
}

static void
test_find_bob(void)
{
	struct dir_account	 da;

	CHECK(dir_account_get(BOB, &da) == DIR_OK);
	CHECK((bob = account_unlocked(da.id)) != NULL);
}

/*
 * Three messages for alice and two for bob: nothing is answered before
 * the group commits; then all five, each answer after both mailboxes
 * hold their messages and the directory records both counters.  Each
 * account's share took one transaction: its counter moved by one.
 */
static void
test_group(void)
{
	struct before	 w;
	uint32_t	 a0, b0;
	uint64_t	 ca, cb;
	size_t		 i;

	before_group(&w);
	a0 = w.a0;
	b0 = w.b0;
	ca = w.ca;
	cb = w.cb;
	submit(ALICE, 1, NULL, 1);
	submit(BOB, 2, NULL, 2);
	submit(ALICE, 2, NULL, 3);
	submit(ALICE, 3, NULL, 4);
	submit(BOB, 3, NULL, 5);
	CHECK(nanswers == 0);
	CHECK(deliver_pending() == 5);
	CHECK(inbox_exists(alice) == a0 && inbox_exists(bob) == b0);

	run_loop();
	CHECK(deliver_pending() == 0);
	CHECK(nanswers == 5);
	for (i = 0; i < nanswers; i++) {
		CHECK(answers[i].reqid == i + 1);
		CHECK(answers[i].status == MBOX_OK);
		CHECK(answers[i].alice_exists == a0 + 3);
		CHECK(answers[i].bob_exists == b0 + 2);
		CHECK(answers[i].alice_recorded && answers[i].bob_recorded);
	}
	CHECK(mbox_counter(alice->mbox) == ca + 1);
	CHECK(mbox_counter(bob->mbox) == cb + 1);
	check_counter();
}

/*
 * bob's INBOX can take no more uids: his transaction fails, and so
 * does each of his messages tried alone.  alice's are stored and
 * answered MBOX_OK all the same.
 */
static void
test_failing_account(void)
{
	int64_t		 uidnext;
	uint32_t	 a0, b0;
	uint64_t	 cb;
	size_t		 i;

	CHECK(mbox_db_int(bob->mbox, "test", &uidnext, "SELECT uidnext FROM"
	    " folders WHERE name = 'INBOX'", "") == MBOX_OK);
	CHECK(mbox_db_exec(bob->mbox, "test", "UPDATE folders SET uidnext ="
	    " ?1 WHERE name = 'INBOX'", "i", (int64_t)UINT32_MAX) == MBOX_OK);
	a0 = inbox_exists(alice);
	b0 = inbox_exists(bob);
	cb = mbox_counter(bob->mbox);
	nanswers = 0;
	submit(BOB, 1, NULL, 10);
	submit(ALICE, 1, NULL, 11);
	submit(BOB, 2, NULL, 12);
	submit(ALICE, 2, NULL, 13);
	CHECK(nanswers == 0);
	run_loop();
	CHECK(nanswers == 4);
	for (i = 0; i < nanswers; i++) {
		if (answers[i].reqid == 10 || answers[i].reqid == 12)
			CHECK(answers[i].status == MBOX_ETEMP);
		else
			CHECK(answers[i].status == MBOX_OK);
		CHECK(answers[i].alice_exists == a0 + 2);
		CHECK(answers[i].alice_recorded);
	}
	CHECK(inbox_exists(bob) == b0);
	CHECK(mbox_counter(bob->mbox) == cb);
	check_counter();
	CHECK(mbox_db_exec(bob->mbox, "test", "UPDATE folders SET uidnext ="
	    " ?1 WHERE name = 'INBOX'", "i", uidnext) == MBOX_OK);
}

/*
 * What never joins a group is answered at once: an unknown address, a
 * malformed bundle, and a locked account (sealed into its spool).
 */
static void
test_refused_now(void)
{
	void	*data;

	nanswers = 0;
	submit("nobody@test.example", 1, NULL, 20);
	CHECK(nanswers == 1 && answers[0].status == MBOX_ENOTFOUND);
	CHECK((data = malloc(16)) != NULL);
	memset(data, 'x', 16);
	deliver_submit(ALICE, data, 16, answered, NULL, 21);
	CHECK(nanswers == 2 && answers[1].status == MBOX_EINVAL);
	CHECK(admin(ADMIN_USER_ADD, CAROL, NULL, "carol's long password") ==
	    0);
	submit(CAROL, 1, NULL, 22);
	CHECK(nanswers == 3 && answers[2].status == MBOX_OK);
	CHECK(deliver_pending() == 0);
}

/* A front that goes away hears nothing, and its messages are dropped. */
static void
test_cancel(void)
{
	int		 gone, stays;
	uint32_t	 a0;

	a0 = inbox_exists(alice);
	nanswers = 0;
	submit(ALICE, 1, &gone, 30);
	submit(ALICE, 2, &stays, 31);
	submit(ALICE, 3, &gone, 32);
	deliver_cancel(&gone);
	CHECK(deliver_pending() == 1);
	run_loop();
	CHECK(nanswers == 1 && answers[0].reqid == 31 &&
	    answers[0].status == MBOX_OK);
	CHECK(inbox_exists(alice) == a0 + 1);
	deliver_cancel(&stays);
	run_loop();
	CHECK(nanswers == 1);
}

/* A full group commits as its last message comes, without the loop. */
static void
test_bound(void)
{
	uint32_t	 a0, i;
	uint64_t	 ca;

	a0 = inbox_exists(alice);
	ca = mbox_counter(alice->mbox);
	nanswers = 0;
	for (i = 0; i < DELIVER_GROUP_MAX; i++) {
		CHECK(nanswers == 0);
		submit(ALICE, 1 + i % 3, NULL, 100 + i);
	}
	CHECK(nanswers == DELIVER_GROUP_MAX);
	CHECK(deliver_pending() == 0);
	for (i = 0; i < DELIVER_GROUP_MAX; i++)
		CHECK(answers[i].status == MBOX_OK);
	CHECK(inbox_exists(alice) == a0 + DELIVER_GROUP_MAX);
	/*
	 * One commit for the group; then, after the answers, the index
	 * jobs (run at once here, without workers), a batch each.
	 */
	CHECK(mbox_counter(alice->mbox) == ca + 1 +
	    DELIVER_GROUP_MAX / ACCOUNT_INDEX_BATCH);
	CHECK(mbox_index_backlog(alice->mbox, NULL) < ACCOUNT_INDEX_BATCH);
	check_counter();
}

/*
 * A job that holds a strand until the test lets it go (bounded: it
 * gives up after a minute and says so).
 */
static pthread_mutex_t	 hold_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 hold_cond = PTHREAD_COND_INITIALIZER;
static int		 hold_released, hold_done;

static int
hold_run(void *arg)
{
	struct timespec	 ts;
	int		 rv = 0;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	pthread_mutex_lock(&hold_mtx);
	while (!hold_released && rv == 0)
		if (pthread_cond_timedwait(&hold_cond, &hold_mtx, &ts) != 0)
			rv = -1;
	pthread_mutex_unlock(&hold_mtx);
	return (rv);
}

static void
hold_finish(void *arg, int status)
{
	(void)arg;
	hold_done = status == 0 ? 1 : -1;
}

static void
hold_release(void)
{
	pthread_mutex_lock(&hold_mtx);
	hold_released = 1;
	pthread_cond_broadcast(&hold_cond);
	pthread_mutex_unlock(&hold_mtx);
}

static void
tick(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/* The loop until n answers came (bounded; a tick wakes it). */
static void
wait_answers(size_t n)
{
	struct event	 t;
	struct timeval	 tv = { 0, 100000 };
	time_t		 limit = time(NULL) + 60;

	evtimer_set(&t, tick, NULL);
	while (nanswers < n) {
		CHECK(time(NULL) < limit);
		evtimer_add(&t, &tv);
		CHECK(event_loop(EVLOOP_ONCE) != -1);
	}
	evtimer_del(&t);
}

static void
test_workers(void)
{
	struct work_job	 hold;
	struct before	 w;
	uint64_t	 ca;
	size_t		 i;

	CHECK(work_init() == 0);
	CHECK(work_start(2) == 0);

	/* A group like test_group()'s, its shares on the workers. */
	before_group(&w);
	submit(BOB, 2, NULL, 2);
	submit(ALICE, 1, NULL, 1);
	submit(ALICE, 2, NULL, 3);
	deliver_flush();
	CHECK(nanswers == 0);
	wait_answers(3);
	for (i = 0; i < 3; i++) {
		CHECK(answers[i].status == MBOX_OK);
		CHECK(answers[i].alice_exists == w.a0 + 2);
		CHECK(answers[i].bob_exists == w.b0 + 1);
		CHECK(answers[i].alice_recorded && answers[i].bob_recorded);
	}
	CHECK(mbox_counter(alice->mbox) == w.ca + 1);
	CHECK(mbox_counter(bob->mbox) == w.cb + 1);

	/*
	 * alice's strand held: her next group cannot commit, so what
	 * comes for her meanwhile stays open, pass after pass; bob's
	 * delivery goes through all the same.
	 */
	ca = mbox_counter(alice->mbox);
	nanswers = 0;
	hold_released = hold_done = 0;
	work_submit(&alice->strand, &hold, hold_run, hold_finish, NULL);
	submit(ALICE, 1, NULL, 60);
	deliver_flush();
	submit(ALICE, 2, NULL, 61);
	for (i = 0; i < 5; i++)
		CHECK(event_loop(ONE_PASS) != -1);
	CHECK(nanswers == 0 && deliver_pending() == 1);
	submit(BOB, 1, NULL, 63);
	wait_answers(1);
	CHECK(answers[0].reqid == 63 && answers[0].status == MBOX_OK);
	CHECK(deliver_pending() == 1);
	submit(ALICE, 3, NULL, 62);
	for (i = 0; i < 5; i++)
		CHECK(event_loop(ONE_PASS) != -1);
	CHECK(nanswers == 1 && deliver_pending() == 2);

	/* A lock now waits for the strand; a new session calls it off. */
	account_lock(alice);
	CHECK(account_unlocked(alice->id) == alice);
	account_hold(alice);

	hold_release();
	wait_answers(4);
	CHECK(hold_done == 1);
	CHECK(answers[1].reqid == 60);
	CHECK(answers[2].reqid == 61 && answers[3].reqid == 62);
	for (i = 1; i < 4; i++)
		CHECK(answers[i].status == MBOX_OK);
	/* 60 in its group, 61 and 62 together in the next. */
	CHECK(mbox_counter(alice->mbox) == ca + 2);
	CHECK(work_idle(&alice->strand));
	CHECK(account_unlocked(alice->id) == alice);
	account_release(alice);
	check_counter();
	work_stop();
}

int
main(void)
{
	mailapi_fixture_setup();
	RUN(test_setup);
	RUN(test_find_bob);
	RUN(test_group);
	RUN(test_stays_open);
	RUN(test_failing_account);
	RUN(test_refused_now);
	RUN(test_cancel);
	RUN(test_bound);
	RUN(test_workers);
	RUN(test_cleanup);
	mailapi_fixture_teardown();
	TEST_EXIT();
}
