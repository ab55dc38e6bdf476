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
 * An unlock's mailbox open on a mailbox worker (vault_account.c,
 * account_unlock()), on the mailbox API tests' vault with a third
 * account, carol, locked.  The open is held at the test gate (a file
 * in the data directory) while the test looks: the account is not
 * unlocked yet, mail for it is sealed into its spool, a second unlock
 * waits for the same open; once the gate goes both have the one
 * account, and the spool is imported.  An abandoned open (a deletion,
 * a shutdown) answers its waiters with nothing and does not wait for
 * the gate; a cancelled waiter hears nothing (and an account nobody
 * took waits for its grace); a refused open (a
 * rollback) answers nothing and unlocks nothing.  Under the
 * sanitizers, every path must leave nothing allocated.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <event.h>
#include <fcntl.h>
#include <ftw.h>
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
#define PW_CAROL	"carol's long password"
#define GATE		"unlock.gate"

struct waited {
	int			 called;
	struct vault_account	*a;
};

static void
waited_cb(void *arg, struct vault_account *a)
{
	struct waited	*w = arg;

	w->called++;
	w->a = a;
}

/* One pass of the loop, woken by a tick at the latest; bounded. */
static void
pass(void)
{
	static time_t	 limit;
	struct event	 t;
	struct timeval	 tv = { 0, 50000 };

	if (limit == 0)
		limit = time(NULL) + 120;
	CHECK(time(NULL) < limit);
	evtimer_set(&t, loop_tick, NULL);
	evtimer_add(&t, &tv);
	CHECK(event_loop(EVLOOP_ONCE) != -1);
	evtimer_del(&t);
}

static void
gate_close(void)
{
	int	 fd;

	CHECK((fd = open(GATE, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	close(fd);
}

/* carol's keys, as her password slot gives them (Argon2id here). */
static struct account_secrets *
carol_secrets(struct dir_account *da)
{
	struct account_secrets	*s = NULL;
	struct dir_slot		 slots[SLOTS_MAX];
	size_t			 n, i;

	CHECK(dir_account_get(CAROL, da) == DIR_OK);
	CHECK(dir_slots(da->id, slots, SLOTS_MAX, &n) == DIR_OK);
	for (i = 0; i < n && i < SLOTS_MAX && s == NULL; i++)
		if (slots[i].kind == SLOT_PASSWORD)
			s = keys_slot_unwrap(&slots[i].ks, PW_CAROL,
			    strlen(PW_CAROL), da->id, slots[i].slot_id);
	CHECK(s != NULL);
	return (s);
}

static int
count_cb(void *arg, const struct mbox_msg *m)
{
	(void)m;
	(*(int *)arg)++;
	return (0);
}

static void
test_carol(void)
{
	CHECK(work_init() == 0);
	CHECK(work_start(2) == 0);
	CHECK(admin(ADMIN_USER_ADD, CAROL, NULL, PW_CAROL) == 0);
	account_set_gate(GATE);
}

/*
 * Two unlocks of carol while her open is held: one open, both have
 * the account once it is done; a delivery meanwhile goes to her spool
 * and is imported after.
 */
static void
test_two_unlocks(void)
{
	struct account_waiter	 w1, w2;
	struct waited		 r1, r2;
	struct dir_account	 da;
	struct vault_account	*a = NULL, *out;
	struct mbox_range	 all = { 1, UINT32_MAX };
	unsigned int		 n;
	int			 count = 0, idle = 0;

	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	gate_close();
	CHECK(account_unlock(&da, carol_secrets(&da), &w1, waited_cb, &r1,
	    &out) == ACCOUNT_PENDING);
	CHECK(account_unlock(&da, carol_secrets(&da), &w2, waited_cb, &r2,
	    &out) == ACCOUNT_PENDING);
	/* Held: not unlocked; mail for carol is sealed meanwhile. */
	CHECK(account_unlocked(da.id) == NULL);
	CHECK(deliver_bundle(CAROL, 1) == MBOX_OK);
	CHECK(spool_count(account_spool(), da.id, &n) == 0 && n == 1);
	CHECK(r1.called == 0 && r2.called == 0);

	CHECK(unlink(GATE) == 0);
	wait_flag(&r2.called);
	CHECK(r1.called == 1 && r2.called == 1);
	CHECK((a = account_unlocked(da.id)) != NULL);
	CHECK(r1.a == a && r2.a == a);
	/* The spool's import, then the mailbox is the loop's. */
	while (!idle) {
		idle = a->import == NULL && work_idle(&a->strand);
		if (!idle)
			pass();
	}
	CHECK(mbox_fetch(a->mbox, "INBOX", &all, 1, 0, count_cb, &count) ==
	    MBOX_OK);
	CHECK(count == 1);
	CHECK(spool_count(account_spool(), da.id, &n) == 0 && n == 0);
	/* A third unlock finds it unlocked, at once. */
	CHECK(account_unlock(&da, carol_secrets(&da), &w1, waited_cb, &r1,
	    &out) == 0 && out == a);
	account_lock_now(a);
	CHECK(account_unlocked(da.id) == NULL);
}

/*
 * Abandoned while held (what a deletion and a shutdown do): the
 * waiters hear nothing but NULL, a cancelled one nothing at all, and
 * the abandon does not wait for the gate.
 */
static void
test_abandon(void)
{
	struct account_waiter	 w1, w2;
	struct waited		 r1, r2;
	struct dir_account	 da;
	struct vault_account	*out;

	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	gate_close();
	CHECK(account_unlock(&da, carol_secrets(&da), &w1, waited_cb, &r1,
	    &out) == ACCOUNT_PENDING);
	CHECK(account_unlock(&da, carol_secrets(&da), &w2, waited_cb, &r2,
	    &out) == ACCOUNT_PENDING);
	account_unlock_cancel(&w2);
	account_unlock_abort(da.id);
	CHECK(r1.called == 1 && r1.a == NULL);
	CHECK(r2.called == 0);
	CHECK(account_unlocked(da.id) == NULL);
	CHECK(access(GATE, F_OK) == 0);
	/* Nothing left to abandon; a cancel after the answer is harmless. */
	account_unlock_abort(da.id);
	account_unlock_cancel(&w1);
	CHECK(unlink(GATE) == 0);

	/* And once more, the open not held: every unlock is abandoned. */
	CHECK(account_unlock(&da, carol_secrets(&da), &w1, waited_cb, &r1,
	    &out) == ACCOUNT_PENDING);
	account_unlock_abort(da.id);
	CHECK(r1.called == 2 && r1.a == NULL);
	CHECK(account_unlocked(da.id) == NULL);
}

/*
 * Every waiter cancelled (the logins' fronts went away): the open goes
 * on, and the account, which no session holds, waits for its grace.
 */
static void
test_nobody_waits(void)
{
	struct account_waiter	 w;
	struct waited		 r;
	struct dir_account	 da;
	struct vault_account	*a, *out;

	memset(&r, 0, sizeof(r));
	gate_close();
	CHECK(account_unlock(&da, carol_secrets(&da), &w, waited_cb, &r,
	    &out) == ACCOUNT_PENDING);
	account_unlock_cancel(&w);
	CHECK(unlink(GATE) == 0);
	while ((a = account_unlocked(da.id)) == NULL)
		pass();
	CHECK(r.called == 0);
	CHECK(a->nsessions == 0);
	CHECK(evtimer_pending(&a->grace_ev, NULL));
	account_lock_now(a);
	CHECK(account_unlocked(da.id) == NULL);
}

/* A mailbox older than the directory's record is refused. */
static void
test_rollback_refused(void)
{
	struct account_waiter	 w;
	struct waited		 r;
	struct dir_account	 da;
	struct vault_account	*out;

	memset(&r, 0, sizeof(r));
	CHECK(dir_account_get(CAROL, &da) == DIR_OK);
	CHECK(dir_counter_set(da.id, da.counter + 5, NULL) == DIR_OK);
	CHECK(account_unlock(&da, carol_secrets(&da), &w, waited_cb, &r,
	    &out) == ACCOUNT_PENDING);
	wait_flag(&r.called);
	CHECK(r.called == 1 && r.a == NULL);
	CHECK(account_unlocked(da.id) == NULL);
	/* Its account and strand are freed once the job is over. */
	CHECK(event_loop(EVLOOP_NONBLOCK) != -1);
	work_stop();
}

int
main(void)
{
	mailapi_fixture_setup();
	RUN(test_setup);
	RUN(test_carol);
	RUN(test_two_unlocks);
	RUN(test_abandon);
	RUN(test_nobody_waits);
	RUN(test_rollback_refused);
	RUN(test_cleanup);
	mailapi_fixture_teardown();
	TEST_EXIT();
}
