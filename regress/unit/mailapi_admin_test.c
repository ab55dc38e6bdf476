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
 * ctl's requests that need Argon2id (user add, user passwd, app add)
 * run it on the KDF pool, not on the loop (vault_admin.c), on the
 * mailbox API tests' vault.  Several requests are sent at once here,
 * each with its own peer id, as ctld relays those of several ctl
 * clients.
 *
 * The assertions are on order, not time: the KDF gate (a file in the
 * data directory, TRESOR_TEST_KDF_GATE in vaultd) holds every job on
 * its worker while the test looks, and a derivation's answer can only
 * come through the loop, which the test runs when it chooses.  So
 * while a user add and a passwd are held, alice's requests are
 * answered and theirs are not; and a deletion sent right after a
 * passwd lands while the passwd's Argon2id is under way, whatever the
 * machine's speed.
 *
 * The rest: two adds of one address at once (one wins, the other
 * "already exists"), two password changes at once (one wins, the
 * other is told the account changed), a passwd whose account is
 * deleted, or deleted and made again, meanwhile; a wrong current
 * password with its audit line; two app passwords at once (different
 * selectors); a full queue ("busy, try again", nothing half made);
 * and requests abandoned when vaultd stops (under the sanitizers,
 * nothing left allocated).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vaultd.h"
#include "mailapi_fixture.h"

TEST_GLOBALS;

#define GATE		"kdf.gate"
#define AUDIT		"audit.log"
#define PW_NEW		"a brand new long password"
#define CAROL		"carol@test.example"
#define DAVE		"dave@test.example"
#define ERIN		"erin@test.example"
#define FRANK		"frank@test.example"
#define PW_OTHER	"somebody's long password"
#define PEERS		64

/* The answers to requests sent with send_admin(), by peer id. */
struct answer {
	int	 done;		/* -2 none yet, 0 OK, -1 FAIL */
	char	 lines[1024];	/* and a failure's message */
};
static struct answer	 answers[PEERS];

static void
send_admin(uint32_t peer, uint32_t op, const char *a1, const char *a2,
    const char *s1, const char *s2)
{
	struct msg_admin	 m;

	CHECK(peer < PEERS && peer != 7);	/* 7 is admin()'s */
	answers[peer].done = -2;
	answers[peer].lines[0] = '\0';
	admin_fill(&m, op, a1, a2, s1, s2);
	admin_request(&admin_iev, peer, &m);
	/* The request's secrets are wiped when it returns. */
	CHECK(m.secret[0] == '\0' && m.secret2[0] == '\0');
}

/* What has come on ctld's end so far, without waiting. */
static void
collect(void)
{
	struct imsg		 imsg;
	struct msg_line		 ml;
	struct msg_result	 res;
	struct answer		*a;
	ssize_t			 n;

	CHECK(imsgbuf_flush(&admin_iev.ibuf) == 0);
	n = imsgbuf_read(&admin_peer);
	CHECK(n > 0 || (n == -1 && errno == EAGAIN));
	while ((n = imsg_get(&admin_peer, &imsg)) > 0) {
		CHECK(imsg.hdr.peerid < PEERS);
		a = &answers[imsg.hdr.peerid];
		CHECK(a->done == -2);
		switch (imsg.hdr.type) {
		case IMSG_CTL_LINE:
			CHECK(imsg_get_data(&imsg, &ml, sizeof(ml)) == 0);
			strlcat(a->lines, ml.line, sizeof(a->lines));
			strlcat(a->lines, "\n", sizeof(a->lines));
			break;
		case IMSG_CTL_OK:
			a->done = 0;
			break;
		case IMSG_CTL_FAIL:
			CHECK(imsg_get_data(&imsg, &res, sizeof(res)) == 0);
			strlcat(a->lines, res.message, sizeof(a->lines));
			a->done = -1;
			break;
		default:
			CHECK(0);
		}
		imsg_free(&imsg);
	}
	CHECK(n == 0);
}

/* One pass of the loop, woken by a tick at the latest. */
static void
pass(void)
{
	struct event	 t;
	struct timeval	 tv = { 0, 20000 };

	evtimer_set(&t, loop_tick, NULL);
	evtimer_add(&t, &tv);
	CHECK(event_loop(EVLOOP_ONCE) != -1);
	evtimer_del(&t);
}

/* The loop until peer's answer has come (bounded: a minute). */
static int
wait_answer(uint32_t peer)
{
	time_t	 limit = time(NULL) + 60;

	for (;;) {
		collect();
		if (answers[peer].done != -2)
			return (answers[peer].done);
		CHECK(time(NULL) < limit);
		pass();
	}
}

static void
gate_close(void)
{
	int	 fd;

	CHECK((fd = open(GATE, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	close(fd);
}

static void
gate_open(void)
{
	CHECK(unlink(GATE) == 0 || errno == ENOENT);
}

/* A login to its end, then the account locked again unless in use. */
static int
try_login(const char *user, const char *pw)
{
	struct vault_account	*a = NULL;
	int			 rc;

	rc = login_full(user, pw, "c9", "w-c9", &a);
	if (rc == MBOX_OK && a->nsessions == 0)
		account_lock(a);
	return (rc);
}

static void
test_gate(void)
{
	kdf_set_gate(GATE);
}

/*
 * While a user add and a password change are held in the pool, the
 * loop serves alice: a STATUS and a login by her verifier are
 * answered, the two requests are not; once the gate goes, they are.
 */
static void
test_loop_not_held(void)
{
	struct mbox_folder	 f;
	struct dir_account	 da;
	struct vault_account	*a;
	int			 i;

	gate_close();
	send_admin(1, ADMIN_USER_ADD, CAROL, NULL, PW_OTHER, NULL);
	send_admin(2, ADMIN_USER_PASSWD, BOB, NULL, PW_BOB, PW_NEW);
	for (i = 0; i < 5; i++)
		pass();
	collect();
	CHECK(answers[1].done == -2 && answers[2].done == -2);

	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	CHECK(login_full(ALICE, PW_ALICE, "c1", "w-c1", &a) == MBOX_OK);
	CHECK(a == alice);
	for (i = 0; i < 5; i++)
		pass();
	collect();
	CHECK(answers[1].done == -2 && answers[2].done == -2);
	CHECK(dir_account_get(CAROL, &da) == DIR_ENOTFOUND);

	gate_open();
	CHECK(wait_answer(1) == 0);
	CHECK(strstr(answers[1].lines, CAROL " created.") != NULL);
	CHECK(wait_answer(2) == 0);
	CHECK(strstr(answers[2].lines, "password changed") != NULL);
	CHECK(try_login(CAROL, PW_OTHER) == MBOX_OK);
	/* bob is unlocked, his old verifier forgotten. */
	CHECK(try_login(BOB, PW_BOB) == MBOX_EAUTH);
	CHECK(try_login(BOB, PW_NEW) == MBOX_OK);
}

/*
 * A deletion sent right after a passwd runs while the passwd's first
 * derivation is on the pool (its answer needs the loop): the passwd
 * is told, and writes nothing.  Deleted and made again under the same
 * address: the new account is another one, left alone.
 */
static void
test_passwd_deleted(void)
{
	struct dir_account	 da;

	CHECK(admin(ADMIN_USER_ADD, DAVE, NULL, PW_OTHER) == 0);
	send_admin(3, ADMIN_USER_PASSWD, DAVE, NULL, PW_OTHER, PW_NEW);
	send_admin(4, ADMIN_USER_DEL, DAVE, NULL, NULL, NULL);
	collect();
	CHECK(answers[4].done == 0);
	CHECK(wait_answer(3) == -1);
	CHECK(strstr(answers[3].lines, "deleted meanwhile") != NULL);
	CHECK(dir_account_get(DAVE, &da) == DIR_ENOTFOUND);

	CHECK(admin(ADMIN_USER_ADD, DAVE, NULL, PW_OTHER) == 0);
	send_admin(5, ADMIN_USER_PASSWD, DAVE, NULL, PW_OTHER, PW_NEW);
	send_admin(6, ADMIN_USER_DEL, DAVE, NULL, NULL, NULL);
	send_admin(8, ADMIN_USER_ADD, DAVE, NULL, PW_ALICE, NULL);
	CHECK(wait_answer(8) == 0);
	CHECK(wait_answer(5) == -1);
	CHECK(strstr(answers[5].lines, "deleted meanwhile") != NULL);
	CHECK(answers[6].done == 0);
	CHECK(try_login(DAVE, PW_NEW) == MBOX_EAUTH);
	CHECK(try_login(DAVE, PW_ALICE) == MBOX_OK);
}

/* Two adds of one address at once: one account, the other refused. */
static void
test_two_adds(void)
{
	int	 a, b;

	send_admin(9, ADMIN_USER_ADD, ERIN, NULL, PW_OTHER, NULL);
	send_admin(10, ADMIN_USER_ADD, ERIN, NULL, PW_NEW, NULL);
	a = wait_answer(9);
	b = wait_answer(10);
	CHECK((a == 0 && b == -1) || (a == -1 && b == 0));
	CHECK(strstr(answers[a == 0 ? 10 : 9].lines, ERIN ": already exists")
	    != NULL);
	CHECK(try_login(ERIN, a == 0 ? PW_OTHER : PW_NEW) == MBOX_OK);
	CHECK(try_login(ERIN, a == 0 ? PW_NEW : PW_OTHER) == MBOX_EAUTH);
}

/* Two password changes at once: one wins, the other changes nothing. */
static void
test_two_passwds(void)
{
	const char	*win, *lose;
	int		 a, b;

	CHECK(admin(ADMIN_USER_ADD, FRANK, NULL, PW_OTHER) == 0);
	send_admin(11, ADMIN_USER_PASSWD, FRANK, NULL, PW_OTHER, PW_NEW);
	send_admin(12, ADMIN_USER_PASSWD, FRANK, NULL, PW_OTHER, PW_ALICE);
	a = wait_answer(11);
	b = wait_answer(12);
	CHECK((a == 0 && b == -1) || (a == -1 && b == 0));
	CHECK(strstr(answers[a == 0 ? 12 : 11].lines,
	    "changed meanwhile, try again") != NULL);
	win = a == 0 ? PW_NEW : PW_ALICE;
	lose = a == 0 ? PW_ALICE : PW_NEW;
	CHECK(try_login(FRANK, lose) == MBOX_EAUTH);
	CHECK(try_login(FRANK, PW_OTHER) == MBOX_EAUTH);
	CHECK(try_login(FRANK, win) == MBOX_OK);
}

/*
 * A wrong current password (or an unknown account) for passwd: the
 * same answer and the same audit line as before; for app add the
 * same answer.  The log goes to stderr here: it is caught in a file.
 */
static void
test_wrong_password(void)
{
	char	 buf[8192];
	ssize_t	 n;
	int	 fd, saved, r1, r2, r3, r4;

	CHECK((fd = open(AUDIT, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	fflush(stderr);
	CHECK((saved = dup(STDERR_FILENO)) != -1);
	CHECK(dup2(fd, STDERR_FILENO) != -1);
	r1 = admin2(ADMIN_USER_PASSWD, ALICE, NULL, "not her password",
	    PW_NEW);
	r2 = admin2(ADMIN_USER_PASSWD, "nobody@test.example", NULL,
	    PW_ALICE, PW_NEW);
	r3 = admin(ADMIN_APPPASS_ADD, ALICE, "phone", "not her password");
	r4 = admin2(ADMIN_USER_PASSWD, ALICE, NULL, "", PW_NEW);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	CHECK(r1 == -1 && r2 == -1 && r3 == -1 && r4 == -1);
	CHECK(strstr(admin_lines, ALICE ": wrong password or recovery key, "
	    "or no such account") != NULL);
	CHECK((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0);
	buf[n] = '\0';
	close(fd);
	CHECK(strstr(buf, "audit: event=passwd-failure account=" ALICE
	    " uid=0\n") != NULL);
	CHECK(strstr(buf, "audit: event=passwd-failure "
	    "account=nobody@test.example uid=0\n") != NULL);
	CHECK(strstr(strstr(buf, "account=nobody") + 1, "passwd-failure") !=
	    NULL);
	CHECK(strstr(buf, "apppass-add") == NULL);
	/* alice still opens with her password. */
	CHECK(try_login(ALICE, PW_ALICE) == MBOX_OK);
}

/* Two app passwords at once: both made, with different selectors. */
static void
test_two_apppasses(void)
{
	struct dir_account	 da;
	struct dir_slot		 slots[SLOTS_MAX];
	char			 ap[2][APPPASS_TEXT_LEN], *p;
	size_t			 n, i, napp = 0;
	int			 j;
	uint8_t			 sel[2] = { 0, 0 };

	send_admin(13, ADMIN_APPPASS_ADD, ALICE, "phone", PW_ALICE, NULL);
	send_admin(14, ADMIN_APPPASS_ADD, ALICE, "tablet", PW_ALICE, NULL);
	CHECK(wait_answer(13) == 0);
	CHECK(wait_answer(14) == 0);
	for (j = 0; j < 2; j++) {
		CHECK((p = strstr(answers[13 + j].lines, "\n  ")) != NULL);
		strlcpy(ap[j], p + 3, sizeof(ap[j]));
		CHECK(keys_apppass_shaped(ap[j]));
	}
	CHECK(dir_account_get(ALICE, &da) == DIR_OK);
	CHECK(dir_slots(da.id, slots, SLOTS_MAX, &n) == DIR_OK);
	for (i = 0; i < n; i++)
		if (slots[i].kind == SLOT_APP)
			sel[napp++ % 2] = slots[i].selector;
	CHECK(napp == 2 && sel[0] != sel[1]);
	/* alice is unlocked: each one's first use is a real check. */
	CHECK(try_login(ALICE, ap[0]) == MBOX_OK);
	CHECK(try_login(ALICE, ap[1]) == MBOX_OK);
}

/*
 * A full queue: the pool's share for ctl is bounded, and a request
 * past it is answered "busy, try again" at once, with nothing of its
 * account made; the others are made once the gate goes.
 */
static void
test_busy(void)
{
	struct dir_account	 da;
	char			 user[64];
	int			 i, busy = 0;

	gate_close();
	for (i = 0; i < 12; i++) {
		snprintf(user, sizeof(user), "many%d@test.example", i);
		send_admin(20 + i, ADMIN_USER_ADD, user, NULL, PW_OTHER,
		    NULL);
	}
	collect();
	for (i = 0; i < 12; i++) {
		if (answers[20 + i].done == -2)
			continue;
		CHECK(answers[20 + i].done == -1);
		CHECK(strstr(answers[20 + i].lines, "busy, try again") !=
		    NULL);
		busy++;
	}
	/* Two workers take a job each, KDF_QUEUE_PERKEY more wait. */
	CHECK(busy >= 12 - (KDF_QUEUE_PERKEY + 2) / 2);
	gate_open();
	for (i = 0; i < 12; i++) {
		snprintf(user, sizeof(user), "many%d@test.example", i);
		if (answers[20 + i].done == -1) {
			CHECK(dir_account_get(user, &da) == DIR_ENOTFOUND);
			continue;
		}
		CHECK(wait_answer(20 + i) == 0);
		CHECK(dir_account_get(user, &da) == DIR_OK);
	}
}

/*
 * vaultd stops with requests under way: they are dropped unanswered,
 * nothing of them is made, and (under the sanitizers) nothing is left
 * allocated.  A request after them is served as usual.
 */
static void
test_cancel_all(void)
{
	struct dir_account	 da;
	int			 i;

	gate_close();
	send_admin(40, ADMIN_USER_ADD, "gone@test.example", NULL, PW_OTHER,
	    NULL);
	send_admin(41, ADMIN_USER_PASSWD, ALICE, NULL, PW_ALICE, PW_NEW);
	send_admin(42, ADMIN_APPPASS_ADD, BOB, "laptop", PW_NEW, NULL);
	admin_cancel_all();
	gate_open();
	CHECK(admin(ADMIN_USER_ADD, "after@test.example", NULL, PW_OTHER) ==
	    0);
	for (i = 0; i < 10; i++)
		pass();
	collect();
	for (i = 40; i <= 42; i++)
		CHECK(answers[i].done == -2 && answers[i].lines[0] == '\0');
	CHECK(dir_account_get("gone@test.example", &da) == DIR_ENOTFOUND);
	CHECK(try_login(ALICE, PW_NEW) == MBOX_EAUTH);
	CHECK(try_login(ALICE, PW_ALICE) == MBOX_OK);
}

int
main(void)
{
	mailapi_fixture_setup();
	RUN(test_setup);
	RUN(test_gate);
	RUN(test_loop_not_held);
	RUN(test_passwd_deleted);
	RUN(test_two_adds);
	RUN(test_two_passwds);
	RUN(test_wrong_password);
	RUN(test_two_apppasses);
	RUN(test_busy);
	RUN(test_cancel_all);
	gate_open();
	RUN(test_cleanup);
	mailapi_fixture_teardown();
	TEST_EXIT();
}
