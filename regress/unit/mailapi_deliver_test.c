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
 * Delivery into unlocked accounts, on the mailbox API tests' vault:
 * alice and bob unlocked.  A delivery is sealed into the account's
 * spool and answered once that is durable; the account's strand then
 * imports what came, a slice per job (vault_account.c).  Without
 * workers the slice runs at once; with them the answer comes before
 * the import, and a request of the account that comes after the answer
 * finds the message in: it queues behind a slice that takes it, even
 * while another slice runs.  An account that is to lock imports no
 * more, and one that comes back takes up what waited.  Last, what
 * vaultd does with a front's delivery (vault_deliver.c): the seal on
 * a worker, the answer on the loop, a cancelled front not answered.
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
#include "vault_spool.h"
#include "vaultd.h"
#include "mailapi_fixture.h"

TEST_GLOBALS;

#define CAROL		"carol@test.example"
#define ROUNDS		20

static struct vault_account *bob;

/* What the front's callback saw, in the order it was called. */
struct answer {
	uint32_t	 reqid;
	int		 status;
};
static struct answer	 answers[8];
static size_t		 nanswers;
static int		 gone;

static void
answered(void *arg, uint32_t reqid, int status)
{
	(void)arg;
	CHECK(nanswers < nitems(answers));
	answers[nanswers].reqid = reqid;
	answers[nanswers].status = status;
	nanswers++;
}

/* Message i (1..3 of the fixture) to address, as vaultd passes it. */
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

static uint32_t	 inbox_exists(struct vault_account *);
static int	 recorded(const char *, struct vault_account *);
static unsigned int spooled(struct vault_account *);
static void	 wait_imported(struct vault_account *);
static void	 test_find_bob(void);
static void	 test_inline(void);
static void	 test_refused(void);
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

/* Sealed messages waiting in the account's spool. */
static unsigned int
spooled(struct vault_account *a)
{
	unsigned int	 n;

	CHECK(spool_count(account_spool(), a->id, &n) == 0);
	return (n);
}

static void
test_find_bob(void)
{
	struct dir_account	 da;

	CHECK(dir_account_get(BOB, &da) == DIR_OK);
	CHECK((bob = account_unlocked(da.id)) != NULL);
}

/* The loop until the account's spool is empty (bounded). */
static void
wait_imported(struct vault_account *a)
{
	time_t	 limit = time(NULL) + 60;

	while (spooled(a) > 0) {
		CHECK(time(NULL) < limit);
		CHECK(event_loop(EVLOOP_ONCE) != -1);
	}
}

/*
 * Without workers a job runs when it is queued.  A delivery is
 * answered sealed; its import waits for deliveries to pause, so that
 * two back to back go in as one transaction; a request of the account
 * (account_request()) does not wait for the pause.
 */
static void
test_inline(void)
{
	uint32_t	 a0, b0;
	uint64_t	 ca;

	a0 = inbox_exists(alice);
	b0 = inbox_exists(bob);
	ca = mbox_counter(alice->mbox);
	CHECK(deliver_bundle(ALICE, 1) == MBOX_OK);
	CHECK(deliver_bundle(ALICE, 2) == MBOX_OK);
	CHECK(inbox_exists(alice) == a0 && spooled(alice) == 2);
	CHECK(evtimer_pending(&alice->import_ev, NULL));
	wait_imported(alice);
	CHECK(inbox_exists(alice) == a0 + 2);
	CHECK(mbox_counter(alice->mbox) == ca + 1);
	CHECK(recorded(ALICE, alice));
	CHECK(alice->import == NULL);

	CHECK(deliver_bundle(BOB, 2) == MBOX_OK);
	CHECK(deliver_bundle(ALICE, 3) == MBOX_OK);
	CHECK(spooled(alice) == 1 && spooled(bob) == 1);
	account_request(alice);
	CHECK(inbox_exists(alice) == a0 + 3 && spooled(alice) == 0);
	CHECK(!evtimer_pending(&alice->import_ev, NULL));
	CHECK(inbox_exists(bob) == b0);
	wait_imported(bob);
	CHECK(inbox_exists(bob) == b0 + 1 && recorded(BOB, bob));
	CHECK(alice->import == NULL && bob->import == NULL);
	check_counter();
}

/* Nothing is sealed for what is refused. */
static void
test_refused(void)
{
	void	*data;
	size_t	 len;
	int	 fd;

	CHECK(deliver_bundle(CAROL, 1) == MBOX_ENOTFOUND);
	fd = bundle_fd(1);
	CHECK(bundle_map(fd, &data, &len) == 0);
	close(fd);
	CHECK(account_deliver(ALICE, data, len / 2) == MBOX_EINVAL);
	bundle_unmap(data, len);
	CHECK(spooled(alice) == 0);
}

/*
 * A job that holds a strand until the test lets it go (bounded: it
 * gives up after a minute and says so), and one that notes how many
 * messages INBOX had when it ran: a request of the account.
 */
static pthread_mutex_t	 hold_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 hold_cond = PTHREAD_COND_INITIALIZER;
static int		 hold_released, hold_done;

struct probe {
	struct work_job		 job;
	struct vault_account	*a;
	uint32_t		 exists;
	uint64_t		 counter;	/* the mailbox's, then */
	int			 done;
};

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

static int
probe_run(void *arg)
{
	struct probe	*p = arg;
	struct mbox_folder f;

	if (mbox_folder_get(p->a->mbox, "INBOX", &f) != MBOX_OK)
		return (-1);
	p->exists = f.info.exists;
	p->counter = mbox_counter(p->a->mbox);
	return (0);
}

static void
probe_finish(void *arg, int status)
{
	struct probe	*p = arg;

	p->done = status == 0 ? 1 : -1;
}

/* As vault_mailapi.c queues a request. */
static void
probe_submit(struct probe *p, struct vault_account *a)
{
	memset(p, 0, sizeof(*p));
	p->a = a;
	account_request(a);
	work_submit(&a->strand, &p->job, probe_run, probe_finish, p);
}

static void
test_workers(void)
{
	struct work_job	 hold;
	struct probe	 p, pb;
	uint32_t	 a0, b0;
	uint64_t	 ca;
	int		 i;

	CHECK(work_init() == 0);
	deliver_init();
	CHECK(work_start(2) == 0);

	/*
	 * alice's strand held: three deliveries are answered at once
	 * and wait sealed, while bob's goes in.  A request after the
	 * answers finds all three, imported in one transaction.
	 */
	a0 = inbox_exists(alice);
	b0 = inbox_exists(bob);
	ca = mbox_counter(alice->mbox);
	hold_released = hold_done = 0;
	work_submit(&alice->strand, &hold, hold_run, hold_finish, NULL);
	for (i = 1; i <= 3; i++)
		CHECK(deliver_bundle(ALICE, i) == MBOX_OK);
	CHECK(spooled(alice) == 3);
	CHECK(deliver_bundle(BOB, 1) == MBOX_OK);
	probe_submit(&pb, bob);
	wait_flag(&pb.done);
	CHECK(pb.done == 1 && pb.exists == b0 + 1);
	probe_submit(&p, alice);
	CHECK(hold_done == 0 && spooled(alice) == 3);
	hold_release();
	wait_flag(&p.done);
	CHECK(hold_done == 1 && p.done == 1);
	CHECK(p.exists == a0 + 3);
	/* One import commit; the index's batches may come after. */
	CHECK(p.counter == ca + 1);
	CHECK(spooled(alice) == 0 && recorded(ALICE, alice));

	/*
	 * Deliveries back to back, each followed by a request: whether
	 * the slice of the one before still runs or not, the request
	 * finds every message answered before it.
	 */
	for (i = 0; i < ROUNDS; i++) {
		a0 = inbox_exists(alice);
		CHECK(deliver_bundle(ALICE, 1 + i % 3) == MBOX_OK);
		CHECK(deliver_bundle(ALICE, 1 + (i + 1) % 3) == MBOX_OK);
		probe_submit(&p, alice);
		wait_flag(&p.done);
		CHECK(p.done == 1 && p.exists == a0 + 2);
	}
	CHECK(work_idle(&alice->strand) && alice->import == NULL);

	/*
	 * An account that is to lock imports no more: the message waits
	 * sealed, no import started.  A session that comes back calls
	 * the lock off and takes it up.
	 */
	a0 = inbox_exists(alice);
	hold_released = hold_done = 0;
	work_submit(&alice->strand, &hold, hold_run, hold_finish, NULL);
	account_lock(alice);
	CHECK(deliver_bundle(ALICE, 2) == MBOX_OK);
	CHECK(spooled(alice) == 1 && alice->import == NULL);
	account_hold(alice);
	CHECK(alice->import != NULL);
	probe_submit(&p, alice);
	hold_release();
	wait_flag(&p.done);
	CHECK(hold_done == 1 && account_unlocked(alice->id) == alice);
	CHECK(p.exists == a0 + 1 && spooled(alice) == 0);
	account_release(alice);
	check_counter();

	/*
	 * From a front: sealed on a worker, answered on the loop; a
	 * cancelled front hears nothing, but its message is in; an
	 * unknown address is refused at once.
	 */
	a0 = inbox_exists(alice);
	b0 = inbox_exists(bob);
	nanswers = 0;
	submit(ALICE, 1, NULL, 1);
	submit(CAROL, 2, NULL, 2);
	CHECK(nanswers == 1 && answers[0].reqid == 2 &&
	    answers[0].status == MBOX_ENOTFOUND);
	submit(BOB, 3, &gone, 3);
	submit(ALICE, 2, NULL, 4);
	deliver_cancel(&gone);
	wait_count(&nanswers, 3);
	CHECK(answers[1].status == MBOX_OK && answers[2].status == MBOX_OK);
	CHECK((answers[1].reqid == 1 && answers[2].reqid == 4) ||
	    (answers[1].reqid == 4 && answers[2].reqid == 1));
	probe_submit(&p, alice);
	probe_submit(&pb, bob);
	wait_flag(&p.done);
	wait_flag(&pb.done);
	CHECK(p.exists == a0 + 2 && pb.exists == b0 + 1);
	CHECK(nanswers == 3);
	deliver_drain_all();
	work_stop();
}

int
main(void)
{
	mailapi_fixture_setup();
	RUN(test_setup);
	RUN(test_find_bob);
	RUN(test_inline);
	RUN(test_refused);
	RUN(test_workers);
	RUN(test_cleanup);
	mailapi_fixture_teardown();
	TEST_EXIT();
}
