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
 * Tests of vaultd's KDF pool: the admission queue (vault_kdfq.c) on
 * its own, for order, round-robin fairness, bounds and deadlines; and
 * the pool (vault_kdf.c) with real threads and a real event loop, for
 * results identical to crypto_pwhash on the caller's thread, expiry,
 * refusal and cancellation.  Costs are the smallest valid one except
 * where a job must be slow enough for another to wait behind it.
 */

#include <sys/types.h>

#include <event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "test.h"
#include "vault_kdf.h"
#include "vaultd.h"

TEST_GLOBALS;

#define NJOBS		8
#define WAIT_LIMIT	60	/* seconds: no test loop runs longer */

/* What the callbacks saw, in the order they ran. */
struct seen {
	int		 order[NJOBS * 2];
	int		 status[NJOBS * 2];
	unsigned char	 key[NJOBS * 2][KEY_LEN];
	unsigned int	 n;
};

struct tag {
	struct seen	*seen;
	int		 id;
};

static void
job_init(struct kdf_job *job, int sec)
{
	memset(job, 0, sizeof(*job));
	job->deadline.tv_sec = sec;
}

static const char *
names(struct kdf_job *jobs, struct kdf_queue *q, char *buf, size_t len)
{
	struct kdf_job	*job;
	char		 one[8];

	buf[0] = '\0';
	while ((job = kdfq_pop(q)) != NULL) {
		snprintf(one, sizeof(one), "%d ", (int)(job - jobs));
		strlcat(buf, one, len);
	}
	return (buf);
}

/* One key: first in, first out. */
static void
queue_order(void)
{
	struct kdf_queue	 q;
	struct kdf_job		 jobs[4];
	char			 buf[64];
	int			 i;

	kdfq_init(&q, 64, 16);
	for (i = 0; i < 4; i++) {
		job_init(&jobs[i], 100);
		CHECK(kdfq_push(&q, "c1", KDF_CLASS_OTHER, &jobs[i]) == 0);
	}
	CHECK(q.njobs == 4);
	CHECK_STR(names(jobs, &q, buf, sizeof(buf)), "0 1 2 3 ");
	CHECK(q.njobs == 0);
	CHECK(TAILQ_EMPTY(&q.ring[KDF_CLASS_OTHER]));
	CHECK(kdfq_pop(&q) == NULL);
}

/*
 * The known class (returning clients) goes first, in turns among its
 * keys, and has a bound of its own: a full queue of others does not
 * refuse it.  ctl's class goes before both.
 */
static void
queue_classes(void)
{
	struct kdf_queue	 q;
	struct kdf_job		 jobs[8];
	char			 buf[64];
	int			 i;

	kdfq_init(&q, 3, 3);
	for (i = 0; i < 3; i++) {
		job_init(&jobs[i], 100);
		CHECK(kdfq_push(&q, i == 0 ? "flood1" : "flood2",
		    KDF_CLASS_OTHER, &jobs[i]) == 0);
	}
	job_init(&jobs[5], 100);
	CHECK(kdfq_push(&q, "flood3", KDF_CLASS_OTHER, &jobs[5]) == -1);
	job_init(&jobs[3], 100);
	job_init(&jobs[4], 100);
	CHECK(kdfq_push(&q, "home", KDF_CLASS_KNOWN, &jobs[3]) == 0);
	CHECK(kdfq_push(&q, "office", KDF_CLASS_KNOWN, &jobs[4]) == 0);
	CHECK(kdfq_push(&q, "home", 7, &jobs[5]) == -1);
	/* ctl's, last in, and past the others' full queue. */
	job_init(&jobs[6], 100);
	job_init(&jobs[7], 100);
	CHECK(kdfq_push(&q, "ctl", KDF_CLASS_ADMIN, &jobs[6]) == 0);
	CHECK(kdfq_push(&q, "ctl", KDF_CLASS_ADMIN, &jobs[7]) == 0);
	CHECK(q.njobs == 7);
	CHECK_STR(names(jobs, &q, buf, sizeof(buf)), "6 7 3 4 0 1 2 ");
	CHECK(q.njobs == 0 && q.nclass[KDF_CLASS_KNOWN] == 0 &&
	    q.nclass[KDF_CLASS_ADMIN] == 0);
}

/*
 * Keys take turns: a key that queued many jobs first does not go
 * before one that queued a single job later.
 */
static void
queue_fairness(void)
{
	struct kdf_queue	 q;
	struct kdf_job		 jobs[7];
	const char		*keys[7] = { "x", "x", "x", "x", "y", "z",
				    "z" };
	char			 buf[64];
	int			 i;

	kdfq_init(&q, 64, 16);
	for (i = 0; i < 7; i++) {
		job_init(&jobs[i], 100);
		CHECK(kdfq_push(&q, keys[i], KDF_CLASS_OTHER, &jobs[i]) == 0);
	}
	/* x0 y4 z5 x1 z6 x2 x3 */
	CHECK_STR(names(jobs, &q, buf, sizeof(buf)), "0 4 5 1 6 2 3 ");

	/* A key that comes back after emptying joins at the back. */
	for (i = 0; i < 3; i++)
		job_init(&jobs[i], 100);
	CHECK(kdfq_push(&q, "x", KDF_CLASS_OTHER, &jobs[0]) == 0);
	CHECK(kdfq_push(&q, "y", KDF_CLASS_OTHER, &jobs[1]) == 0);
	CHECK(kdfq_pop(&q) == &jobs[0]);
	CHECK(kdfq_push(&q, "x", KDF_CLASS_OTHER, &jobs[2]) == 0);
	CHECK_STR(names(jobs, &q, buf, sizeof(buf)), "1 2 ");
}

/* Past the total or a key's share, a job is refused and not queued. */
static void
queue_full(void)
{
	struct kdf_queue	 q;
	struct kdf_job		 jobs[6];
	int			 i;

	kdfq_init(&q, 4, 2);
	for (i = 0; i < 6; i++)
		job_init(&jobs[i], 100);
	CHECK(kdfq_push(&q, "x", KDF_CLASS_OTHER, &jobs[0]) == 0);
	CHECK(kdfq_push(&q, "x", KDF_CLASS_OTHER, &jobs[1]) == 0);
	CHECK(kdfq_push(&q, "x", KDF_CLASS_OTHER, &jobs[2]) == -1);	/* x's share */
	CHECK(jobs[2].fairkey == NULL);
	CHECK(kdfq_push(&q, "y", KDF_CLASS_OTHER, &jobs[3]) == 0);
	CHECK(kdfq_push(&q, "z", KDF_CLASS_OTHER, &jobs[4]) == 0);
	CHECK(kdfq_push(&q, "w", KDF_CLASS_OTHER, &jobs[5]) == -1);	/* the total */
	CHECK(q.njobs == 4);
	/* Room again once one is taken. */
	CHECK(kdfq_pop(&q) == &jobs[0]);
	CHECK(kdfq_push(&q, "w", KDF_CLASS_OTHER, &jobs[5]) == 0);
	while (kdfq_pop(&q) != NULL)
		continue;
	CHECK(q.njobs == 0);
}

/* Expired jobs come out, whichever key they wait under; others stay. */
static void
queue_deadline(void)
{
	struct kdf_queue	 q;
	struct kdf_job		 jobs[4];
	struct timespec		 now = { 50, 0 };

	kdfq_init(&q, 64, 16);
	job_init(&jobs[0], 100);
	job_init(&jobs[1], 10);
	job_init(&jobs[2], 20);
	job_init(&jobs[3], 200);
	CHECK(kdfq_push(&q, "x", KDF_CLASS_OTHER, &jobs[0]) == 0);
	CHECK(kdfq_push(&q, "y", KDF_CLASS_OTHER, &jobs[1]) == 0);
	CHECK(kdfq_push(&q, "y", KDF_CLASS_OTHER, &jobs[2]) == 0);
	CHECK(kdfq_push(&q, "z", KDF_CLASS_OTHER, &jobs[3]) == 0);
	CHECK(kdfq_expired(&q, &now) == &jobs[1]);
	CHECK(kdfq_expired(&q, &now) == &jobs[2]);
	CHECK(kdfq_expired(&q, &now) == NULL);
	CHECK(q.njobs == 2);
	now.tv_sec = 100;	/* at the deadline is past it */
	CHECK(kdfq_expired(&q, &now) == &jobs[0]);
	CHECK(kdfq_pop(&q) == &jobs[3]);
	CHECK(kdfq_pop(&q) == NULL);
}

static void
seen_cb(void *arg, int status, const unsigned char *key)
{
	struct tag	*t = arg;
	struct seen	*s = t->seen;

	if (s->n >= nitems(s->order))
		return;
	s->order[s->n] = t->id;
	s->status[s->n] = status;
	if (key != NULL)
		memcpy(s->key[s->n], key, KEY_LEN);
	s->n++;
}

/* Run the loop until n callbacks came, or fail after WAIT_LIMIT. */
static void
wait_for(struct seen *s, unsigned int n)
{
	time_t	 limit = time(NULL) + WAIT_LIMIT;

	while (s->n < n) {
		CHECK(time(NULL) < limit);
		CHECK(event_loop(EVLOOP_ONCE) == 0);
	}
}

static void
pool_start(unsigned int threads, unsigned int queue, unsigned int perkey,
    unsigned int deadline_ms)
{
	struct kdf_limits	 l;

	memset(&l, 0, sizeof(l));
	l.threads = threads;
	l.queue = queue;
	l.perkey = perkey;
	l.deadline_ms = deadline_ms;
	CHECK(kdf_init() == 0);
	CHECK(kdf_start(&l) == 0);
	CHECK(kdf_threads() == threads);
}

/* The workers compute what crypto_pwhash computes here. */
static void
pool_same_as_sync(void)
{
	struct kdf_cost	 cost = { 1, 8U << 20 };
	struct seen	 s;
	struct tag	 tags[NJOBS];
	unsigned char	 salts[NJOBS][SLOT_SALT_LEN];
	unsigned char	 want[KEY_LEN];
	char		 pw[32];
	unsigned int	 i;
	int		 id;

	memset(&s, 0, sizeof(s));
	pool_start(2, 0, 0, 0);
	for (i = 0; i < NJOBS; i++) {
		randombytes_buf(salts[i], sizeof(salts[i]));
		snprintf(pw, sizeof(pw), "password %u", i);
		tags[i].seen = &s;
		tags[i].id = i;
		CHECK(kdf_submit(i % 2 ? "odd" : "even", KDF_CLASS_OTHER, pw, strlen(pw),
		    salts[i], &cost, seen_cb, &tags[i]) != NULL);
	}
	wait_for(&s, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		CHECK(s.status[i] == KDF_OK);
		id = s.order[i];
		snprintf(pw, sizeof(pw), "password %d", id);
		CHECK(crypto_pwhash(want, KEY_LEN, pw, strlen(pw), salts[id],
		    cost.opslimit, cost.memlimit,
		    crypto_pwhash_ALG_ARGON2ID13) == 0);
		CHECK(sodium_memcmp(want, s.key[i], KEY_LEN) == 0);
		CHECK(keys_wrapkey_derive(want, pw, strlen(pw), salts[id],
		    &cost) == 0);
		CHECK(sodium_memcmp(want, s.key[i], KEY_LEN) == 0);
	}
	kdf_stop();
}

/*
 * One worker, one slow job: the jobs behind it wait past a short
 * deadline and are answered KDF_EXPIRED without a key; a full share
 * refuses at once.
 */
static void
pool_deadline_and_full(void)
{
	struct kdf_cost	 slow = { 4, 64U << 20 }, fast = { 1, 8U << 20 };
	struct seen	 s;
	struct tag	 tags[4];
	unsigned char	 salt[SLOT_SALT_LEN];
	int		 i;

	memset(&s, 0, sizeof(s));
	randombytes_buf(salt, sizeof(salt));
	pool_start(1, 8, 2, 30);
	for (i = 0; i < 4; i++) {
		tags[i].seen = &s;
		tags[i].id = i;
	}
	CHECK(kdf_submit("a", KDF_CLASS_OTHER, "slow", 4, salt, &slow, seen_cb,
	    &tags[0]) != NULL);
	CHECK(kdf_submit("b", KDF_CLASS_OTHER, "late", 4, salt, &fast, seen_cb,
	    &tags[1]) != NULL);
	CHECK(kdf_submit("b", KDF_CLASS_OTHER, "late", 4, salt, &fast, seen_cb,
	    &tags[2]) != NULL);
	/* b's share of 2 is taken, whatever the worker did meanwhile. */
	CHECK(kdf_submit("b", KDF_CLASS_OTHER, "refused", 7, salt, &fast, seen_cb,
	    &tags[3]) == NULL);
	wait_for(&s, 3);
	for (i = 0; i < 3; i++) {
		if (s.order[i] == 0)
			CHECK(s.status[i] == KDF_OK);
		else
			CHECK(s.status[i] == KDF_EXPIRED);
	}
	kdf_stop();
}

/*
 * Cancelled jobs are never answered, queued or running; the others
 * are.  (Under ASan this also shows nothing is used after it is
 * freed.)
 */
static void
pool_cancel(void)
{
	struct kdf_cost	 slow = { 2, 32U << 20 }, fast = { 1, 8U << 20 };
	struct kdf_job	*jobs[4];
	struct seen	 s;
	struct tag	 tags[4];
	unsigned char	 salt[SLOT_SALT_LEN];
	int		 i;

	memset(&s, 0, sizeof(s));
	randombytes_buf(salt, sizeof(salt));
	pool_start(1, 0, 0, 0);
	for (i = 0; i < 4; i++) {
		tags[i].seen = &s;
		tags[i].id = i;
		CHECK((jobs[i] = kdf_submit("k", KDF_CLASS_OTHER, "pw", 2, salt,
		    i == 0 ? &slow : &fast, seen_cb, &tags[i])) != NULL);
	}
	kdf_cancel(jobs[0]);	/* running, most likely */
	kdf_cancel(jobs[2]);	/* queued behind it */
	wait_for(&s, 2);
	CHECK(s.n == 2);
	CHECK(s.order[0] == 1 && s.order[1] == 3);
	CHECK(s.status[0] == KDF_OK && s.status[1] == KDF_OK);
	kdf_stop();
}

/* Out-of-bounds input and a pool that is not running refuse. */
static void
pool_refuses(void)
{
	struct kdf_cost	 cost = { 1, 8U << 20 }, bad = { 0, 1024 };
	struct seen	 s;
	struct tag	 t = { &s, 0 };
	unsigned char	 salt[SLOT_SALT_LEN];

	memset(&s, 0, sizeof(s));
	memset(salt, 0, sizeof(salt));
	CHECK(kdf_submit("k", KDF_CLASS_OTHER, "pw", 2, salt, &cost, seen_cb, &t) == NULL);
	pool_start(1, 0, 0, 0);
	CHECK(kdf_submit("k", KDF_CLASS_OTHER, "pw", 0, salt, &cost, seen_cb, &t) == NULL);
	CHECK(kdf_submit("k", KDF_CLASS_OTHER, "pw", 2, salt, &bad, seen_cb, &t) == NULL);
	kdf_stop();
	CHECK(s.n == 0);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	if (sodium_init() == -1)
		return (1);
	event_init();
	RUN(queue_order);
	RUN(queue_fairness);
	RUN(queue_classes);
	RUN(queue_full);
	RUN(queue_deadline);
	RUN(pool_same_as_sync);
	RUN(pool_deadline_and_full);
	RUN(pool_cancel);
	RUN(pool_refuses);
	TEST_EXIT();
}
