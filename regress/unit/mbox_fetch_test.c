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
 * Reading the mailbox store (vault_mbox_fetch.c): append then fetch with
 * uid and sequence sets, CHANGEDSINCE, and streamed bodies, one and many
 * at once.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "mime.h"
#include "search.h"
#include "section.h"
#include "../../vaultd/vault_mbox.h"
#include "../../vaultd/vault_vfs.h"
#include "mbox_fixture.h"
#include "test.h"

TEST_GLOBALS;

static int	 got_chunk(void *, uint32_t, uint64_t, uint64_t, const void *,
		    size_t);
static void	 bodies_reset(struct bodies *);
static int	 bodies(struct mbox *, const char *, const struct mbox_range *,
		    size_t, uint64_t, struct bodies *, uint32_t *, uint32_t *);
static const char *fmt_bodies(const struct bodies *);
static void	*drain_run(void *);
static const char *sinces(struct mbox *, uint32_t, uint32_t, uint32_t,
		    uint32_t, int, uint64_t);
static void	 t_append_fetch(void);
static void	 t_fetch_seq(void);
static void	 t_changedsince(void);
static void	 t_body(void);
static void	 t_bodies(void);
static void	 t_sections(void);
static void	 t_checkpoint(void);

static int
got_chunk(void *arg, uint32_t uid, uint64_t size, uint64_t off,
    const void *chunk, size_t len)
{
	struct bodies	*b = arg;
	int		 i;

	b->calls++;
	if (b->stopcall != 0 && b->calls >= b->stopcall)
		return (1);
	if (off == 0) {
		/* A new message: the previous one must be whole. */
		if (b->n > 0 && b->got != b->size[b->n - 1])
			b->bad = 1;
		if (b->n >= BODIES_MAX || size > BIGLEN) {
			b->bad = 1;
			return (1);
		}
		i = b->n++;
		b->uid[i] = uid;
		b->size[i] = size;
		CHECK((b->data[i] = malloc(size > 0 ? size : 1)) != NULL);
		b->got = 0;
	}
	i = b->n - 1;
	if (i < 0 || b->uid[i] != uid || b->size[i] != size ||
	    off != b->got || len > 64 * 1024 || len > size - off ||
	    (len == 0 && size != 0) || chunk == NULL) {
		b->bad = 1;
		return (1);
	}
	memcpy(b->data[i] + off, chunk, len);
	b->got += len;
	return (0);
}

static void
bodies_reset(struct bodies *b)
{
	int	 i;

	for (i = 0; i < b->n; i++)
		free(b->data[i]);
	memset(b, 0, sizeof(*b));
}

/* mbox_bodies() into b (reset first); the last message must be whole. */
static int
bodies(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, uint64_t budget, struct bodies *b, uint32_t *count,
    uint32_t *lastuid)
{
	int	 stopcall = b->stopcall, ret;

	bodies_reset(b);
	b->stopcall = stopcall;
	*count = *lastuid = 12345;
	ret = mbox_bodies(m, folder, r, n, budget, got_chunk, b, count,
	    lastuid);
	if (ret == MBOX_OK && b->stopcall == 0) {
		CHECK(b->bad == 0);
		CHECK(b->n == 0 || b->got == b->size[b->n - 1]);
		CHECK(*count == (uint32_t)b->n);
	}
	return (ret);
}

static const char *
fmt_bodies(const struct bodies *b)
{
	size_t	 off = 0;
	int	 i, r;

	outbuf[0] = '\0';
	for (i = 0; i < b->n && off < sizeof(outbuf); i++) {
		r = snprintf(outbuf + off, sizeof(outbuf) - off, "%s%u",
		    i > 0 ? " " : "", b->uid[i]);
		CHECK(r > 0);
		off += (size_t)r;
	}
	return (outbuf);
}

static void *
drain_run(void *arg)
{
	struct drain	*d = arg;
	unsigned char	 extra[16];
	ssize_t		 n;

	for (;;) {
		if (d->len < d->cap)
			n = read(d->fd, d->buf + d->len, d->cap - d->len);
		else
			n = read(d->fd, extra, sizeof(extra));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			d->err = n == -1;
			break;
		}
		if (d->len == d->cap) {
			d->err = 1;	/* more than expected */
			break;
		}
		d->len += (size_t)n;
	}
	return (NULL);
}

static void
t_append_fetch(void)
{
	struct mbox_range	 r[MBOX_RANGES_MAX + 1];
	struct mbox_folder	*f;
	struct tmsg		 t;
	struct got		 g;
	struct mbox		*m;
	uint32_t		 uv, uid;
	int			 i;

	m = mopen("fetch");
	for (i = 1; i <= 5; i++) {
		char	 subj[32];

		(void)snprintf(subj, sizeof(subj), "message %d", i);
		tmsg_init(&t, subj, "a@x", "b@y", "", "", "body", "",
		    BASEDATE + i, 0);
		CHECK(mbox_append(m, "INBOX", &t.b, 0, NULL, &uv, &uid) ==
		    MBOX_OK);
		CHECK(uid == (uint32_t)i);
		CHECK(uv == fget(m, "INBOX")->info.uidvalidity);
	}
	f = fget(m, "INBOX");
	CHECK(f->info.uidnext == 6 && f->info.highestmodseq == 6 &&
	    f->info.exists == 5);

	memset(&g, 0, sizeof(g));
	r[0].first = 2;
	r[0].last = 4;
	CHECK(mbox_fetch(m, "INBOX", r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK_STR(fmt_got(&g), "2/2,3/3,4/4");
	/* Sections are taken by length, not up to a NUL. */
	CHECK_STR(g.env[0], "ENV<message 2>");
	CHECK(g.meta[0] && g.idate[0] == BASEDATE + 2);
	CHECK(g.modseq[0] == 3 && g.flags[0] == 0 && g.kw[0][0] == '\0');
	CHECK(g.size[0] == strlen("Subject: message 2\r\nFrom: a@x\r\n"
	    "To: b@y\r\n\r\nbody\r\n"));

	CHECK_STR(fetchs(m, "INBOX", STAR, STAR, 0), "5/5");
	CHECK_STR(fetchs(m, "INBOX", STAR, 4, 0), "4/4,5/5");
	CHECK_STR(fetchs(m, "INBOX", 4, 2, 0), "2/2,3/3,4/4");
	CHECK_STR(fetchs(m, "INBOX", 7, STAR, 0), "5/5");
	CHECK_STR(fetchs(m, "INBOX", 7, 9, 0), "");
	CHECK_STR(fetchs(m, "INBOX", 1, STAR, MBOX_FETCH_SEQ),
	    "1/1,2/2,3/3,4/4,5/5");

	/* Overlapping, unsorted ranges come out once each, ascending. */
	memset(&g, 0, sizeof(g));
	r[0].first = 5;
	r[0].last = 5;
	r[1].first = 1;
	r[1].last = 2;
	r[2].first = 3;
	r[2].last = 2;
	CHECK(mbox_fetch(m, "INBOX", r, 3, 0, got_msg, &g) == MBOX_OK);
	CHECK_STR(fmt_got(&g), "1/1,2/2,3/3,5/5");

	/* Without metadata: no envelope. */
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch(m, "INBOX", r, 1, MBOX_FETCH_NOMETA, got_msg, &g) ==
	    MBOX_OK);
	CHECK(g.n == 1 && g.meta[0] == 0 && g.uid[0] == 5);

	/* A callback that says stop. */
	memset(&g, 0, sizeof(g));
	g.stopafter = 2;
	r[0].first = 1;
	r[0].last = STAR;
	CHECK(mbox_fetch(m, "INBOX", r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK(g.n == 2);

	/* Bad calls. */
	CHECK(mbox_fetch(m, "INBOX", r, 0, 0, got_msg, &g) == MBOX_EINVAL);
	for (i = 0; i <= MBOX_RANGES_MAX; i++) {
		r[i].first = 1;
		r[i].last = 1;
	}
	CHECK(mbox_fetch(m, "INBOX", r, MBOX_RANGES_MAX + 1, 0, got_msg,
	    &g) == MBOX_EINVAL);
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch(m, "INBOX", r, MBOX_RANGES_MAX, 0, got_msg, &g) ==
	    MBOX_OK);
	CHECK(g.n == 1);
	CHECK(mbox_fetch(m, "INBOX", r, 1, 0, NULL, &g) == MBOX_EINVAL);
	CHECK(mbox_fetch(m, "INBOX", r, 1, 4, got_msg, &g) == MBOX_EINVAL);
	CHECK(mbox_fetch(m, "Nope", r, 1, 0, got_msg, &g) == MBOX_ENOTFOUND);
	CHECK(mbox_append(m, "Nope", &t.b, 0, NULL, &uv, &uid) ==
	    MBOX_ENOTFOUND);
	CHECK(mbox_append(m, "INBOX", &t.b, 0x20, NULL, &uv, &uid) ==
	    MBOX_EINVAL);
	t.b.len[BUNDLE_RAW] = 0;
	CHECK(mbox_append(m, "INBOX", &t.b, 0, NULL, &uv, &uid) ==
	    MBOX_EINVAL);
	t.b.len[BUNDLE_RAW] = 10;
	t.b.sec[BUNDLE_CC] = NULL;
	t.b.len[BUNDLE_CC] = 3;
	CHECK(mbox_append(m, "INBOX", &t.b, 0, NULL, &uv, &uid) ==
	    MBOX_EINVAL);
	t.b.len[BUNDLE_CC] = 0;
	t.b.len[BUNDLE_SUBJECT] = BUNDLE_FIELD_MAX + 1;
	CHECK(mbox_append(m, "INBOX", &t.b, 0, NULL, &uv, &uid) ==
	    MBOX_EINVAL);
	CHECK(mbox_append(m, "INBOX", NULL, 0, NULL, &uv, &uid) ==
	    MBOX_EINVAL);
	CHECK(fget(m, "INBOX")->info.exists == 5);
	mbox_close(m);
}

static void
t_fetch_seq(void)
{
	struct mbox_range	 r[3];
	struct got		 g;
	struct mbox		*m;
	int			 i;

	m = mopen("fetchseq");
	for (i = 0; i < 6; i++)
		addsimple(m, "INBOX", "s");
	/* Expunge uids 1 and 4: uids 2,3,5,6 are seqs 1,2,3,4. */
	r[0].first = 1;
	r[0].last = 1;
	r[1].first = 4;
	r[1].last = 4;
	CHECK(mbox_store(m, "INBOX", r, 2, STORE_ADD, MAILFLAG_DELETED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);

	CHECK_STR(fetchs(m, "INBOX", 1, STAR, 0), "2/1,3/2,5/3,6/4");
	CHECK_STR(fetchs(m, "INBOX", 4, 6, 0), "5/3,6/4");
	CHECK_STR(fetchs(m, "INBOX", 2, 3, MBOX_FETCH_SEQ), "3/2,5/3");
	CHECK_STR(fetchs(m, "INBOX", STAR, STAR, MBOX_FETCH_SEQ), "6/4");
	CHECK_STR(fetchs(m, "INBOX", STAR, 3, MBOX_FETCH_SEQ), "5/3,6/4");
	CHECK_STR(fetchs(m, "INBOX", 9, 12, MBOX_FETCH_SEQ), "");
	CHECK_STR(fetchs(m, "INBOX", 3, 9, MBOX_FETCH_SEQ), "5/3,6/4");

	memset(&g, 0, sizeof(g));
	r[0].first = 4;
	r[0].last = 4;
	r[1].first = 1;
	r[1].last = 1;
	r[2].first = 3;
	r[2].last = 3;
	CHECK(mbox_fetch(m, "INBOX", r, 3, MBOX_FETCH_SEQ, got_msg, &g) ==
	    MBOX_OK);
	CHECK_STR(fmt_got(&g), "2/1,5/3,6/4");
	/* Uid ranges with holes keep the sequence numbers right. */
	memset(&g, 0, sizeof(g));
	r[0].first = 6;
	r[0].last = 6;
	r[1].first = 3;
	r[1].last = 3;
	CHECK(mbox_fetch(m, "INBOX", r, 2, 0, got_msg, &g) == MBOX_OK);
	CHECK_STR(fmt_got(&g), "3/2,6/4");
	mbox_close(m);
}

/* "uid/seq,..." of what changed since ms in uid ranges a:b (c:d). */
static const char *
sinces(struct mbox *m, uint32_t a, uint32_t b, uint32_t c, uint32_t d,
    int how, uint64_t ms)
{
	struct mbox_range	 r[2];
	static struct got	 g;

	memset(&g, 0, sizeof(g));
	r[0].first = a;
	r[0].last = b;
	r[1].first = c;
	r[1].last = d;
	CHECK(mbox_fetch_since(m, "INBOX", r, c == 0 ? 1 : 2,
	    how | MBOX_FETCH_CHANGEDSINCE, ms, got_msg, &g) == MBOX_OK);
	return (fmt_got(&g));
}

static void
t_changedsince(void)
{
	struct mbox_range	 r[3];
	struct got		 all, g;
	struct mbox		*m;
	uint64_t		 ms;
	char			 want[4096], one[32];
	uint32_t		 i;
	int			 k;

	m = mopen("changedsince");
	for (i = 0; i < 8; i++)
		addsimple(m, "INBOX", "c");
	/* Modseqs 2..9; expunge 2 and 5 (10, 11, then 12). */
	r[0].first = r[0].last = 2;
	r[1].first = r[1].last = 5;
	CHECK(mbox_store(m, "INBOX", r, 2, STORE_ADD, MAILFLAG_DELETED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.highestmodseq == 12);
	/* Uids 1,3,4,6,7,8 are seqs 1..6.  Change 7, 3, then 1. */
	r[0].first = r[0].last = 7;
	CHECK(mbox_store(m, "INBOX", r, 1, STORE_ADD, MAILFLAG_FLAGGED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	r[0].first = r[0].last = 3;
	CHECK(mbox_store(m, "INBOX", r, 1, STORE_ADD, MAILFLAG_SEEN, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	r[0].first = r[0].last = 1;
	CHECK(mbox_store(m, "INBOX", r, 1, STORE_ADD, 0, "$Later", 0, NULL,
	    NULL, NULL) == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.highestmodseq == 15);

	CHECK_STR(sinces(m, 1, STAR, 0, 0, 0, 12), "1/1,3/2,7/5");
	CHECK_STR(sinces(m, 1, STAR, 0, 0, 0, 13), "1/1,3/2");
	CHECK_STR(sinces(m, 1, STAR, 0, 0, 0, 14), "1/1");
	CHECK_STR(sinces(m, 1, STAR, 0, 0, 0, 15), "");
	CHECK_STR(sinces(m, 1, STAR, 0, 0, 0, 1),
	    "1/1,3/2,4/3,6/4,7/5,8/6");
	CHECK_STR(sinces(m, 1, STAR, 0, 0, 0, (uint64_t)INT64_MAX), "");
	/* Only within the ranges, which keep their sequence numbers. */
	CHECK_STR(sinces(m, 2, 6, 0, 0, 0, 12), "3/2");
	CHECK_STR(sinces(m, 8, 7, 1, 1, 0, 12), "1/1,7/5");
	CHECK_STR(sinces(m, 4, 6, 8, STAR, 0, 12), "");
	/* Sequence ranges: 2:5 is uids 3,4,6,7. */
	CHECK_STR(sinces(m, 2, 5, 0, 0, MBOX_FETCH_SEQ, 12), "3/2,7/5");
	CHECK_STR(sinces(m, STAR, STAR, 0, 0, MBOX_FETCH_SEQ, 1), "8/6");

	/* Records as full as a plain FETCH, or without meta if asked. */
	memset(&g, 0, sizeof(g));
	r[0].first = 1;
	r[0].last = STAR;
	CHECK(mbox_fetch_since(m, "INBOX", r, 1, MBOX_FETCH_CHANGEDSINCE, 13,
	    got_msg, &g) == MBOX_OK);
	CHECK(g.n == 2 && g.modseq[0] == 15 && g.modseq[1] == 14);
	CHECK(g.meta[0] && g.meta[1] && g.env[0][0] != '\0');
	CHECK_STR(g.kw[0], "$Later");
	CHECK(g.flags[1] == MAILFLAG_SEEN);
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch_since(m, "INBOX", r, 1, MBOX_FETCH_CHANGEDSINCE |
	    MBOX_FETCH_NOMETA, 13, got_msg, &g) == MBOX_OK);
	CHECK(g.n == 2 && !g.meta[0] && !g.meta[1]);
	/* A callback that stops. */
	memset(&g, 0, sizeof(g));
	g.stopafter = 1;
	CHECK(mbox_fetch_since(m, "INBOX", r, 1, MBOX_FETCH_CHANGEDSINCE, 1,
	    got_msg, &g) == MBOX_OK);
	CHECK_STR(fmt_got(&g), "1/1");

	/* Without the flag the modseq is ignored; with it, it must be set. */
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch_since(m, "INBOX", r, 1, 0, 14, got_msg, &g) ==
	    MBOX_OK);
	CHECK(g.n == 6);
	CHECK(mbox_fetch_since(m, "INBOX", r, 1, MBOX_FETCH_CHANGEDSINCE, 0,
	    got_msg, &g) == MBOX_EINVAL);
	CHECK(mbox_fetch_since(m, "INBOX", r, 1, MBOX_FETCH_CHANGEDSINCE,
	    (uint64_t)INT64_MAX + 1, got_msg, &g) == MBOX_EINVAL);
	CHECK(mbox_fetch(m, "INBOX", r, 1, MBOX_FETCH_CHANGEDSINCE, got_msg,
	    &g) == MBOX_EINVAL);
	CHECK(mbox_fetch_since(m, "INBOX", r, 1, 0x08 |
	    MBOX_FETCH_CHANGEDSINCE, 1, got_msg, &g) == MBOX_EINVAL);
	CHECK(mbox_fetch_since(m, "Nope", r, 1, MBOX_FETCH_CHANGEDSINCE, 1,
	    got_msg, &g) == MBOX_ENOTFOUND);
	CHECK(mbox_fetch_since(m, "INBOX", r, 0, MBOX_FETCH_CHANGEDSINCE, 1,
	    got_msg, &g) == MBOX_EINVAL);

	/*
	 * Many messages, holes, changes scattered: for every modseq, the
	 * answer is the plain FETCH's records whose modseq is above it.
	 */
	for (i = 0; i < 50; i++)
		addsimple(m, "INBOX", "more");
	for (i = 9; i <= 58; i += 7) {
		r[0].first = r[0].last = i;
		CHECK(mbox_store(m, "INBOX", r, 1, STORE_ADD,
		    MAILFLAG_DELETED, NULL, 0, NULL, NULL, NULL) == MBOX_OK);
	}
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);
	for (k = 58; k >= 4; k -= 6) {
		r[0].first = r[0].last = (uint32_t)k;
		CHECK(mbox_store(m, "INBOX", r, 1, STORE_ADD,
		    MAILFLAG_ANSWERED, NULL, 0, NULL, NULL, NULL) == MBOX_OK);
	}
	memset(&all, 0, sizeof(all));
	r[0].first = 1;
	r[0].last = STAR;
	CHECK(mbox_fetch(m, "INBOX", r, 1, MBOX_FETCH_NOMETA, got_msg,
	    &all) == MBOX_OK);
	CHECK(all.n == 48);
	r[0].first = 3;
	r[0].last = 20;
	r[1].first = 30;
	r[1].last = 33;
	r[2].first = 41;
	r[2].last = STAR;
	for (ms = 1; ms <= fget(m, "INBOX")->info.highestmodseq; ms++) {
		want[0] = '\0';
		for (k = 0; k < all.n; k++) {
			if (all.modseq[k] <= ms)
				continue;
			if (all.uid[k] < 3 || (all.uid[k] > 20 &&
			    all.uid[k] < 30) || (all.uid[k] > 33 &&
			    all.uid[k] < 41))
				continue;
			(void)snprintf(one, sizeof(one), "%s%u/%u",
			    want[0] != '\0' ? "," : "", all.uid[k],
			    all.seq[k]);
			(void)strlcat(want, one, sizeof(want));
		}
		memset(&g, 0, sizeof(g));
		CHECK(mbox_fetch_since(m, "INBOX", r, 3,
		    MBOX_FETCH_CHANGEDSINCE | MBOX_FETCH_NOMETA, ms, got_msg,
		    &g) == MBOX_OK);
		CHECK_STR(fmt_got(&g), want);
	}
	mbox_close(m);
}

static void
t_body(void)
{
	struct tmsg	 t;
	struct drain	 d;
	pthread_t	 th;
	unsigned char	*big, *back;
	struct stat	 sb;
	char		 path[PATH_MAX];
	struct mbox	*m;
	uint32_t	 uid;
	size_t		 i;
	int		 p[2], fd, fl;

	CHECK((big = malloc(BIGLEN)) != NULL);
	CHECK((back = malloc(BIGLEN)) != NULL);
	for (i = 0; i < BIGLEN; i++)
		big[i] = (unsigned char)((i * 2654435761U) >> 13);
	m = mopen("body");
	tmsg_init(&t, "big", "f", "t", "", "", "big body", "", BASEDATE, 0);
	t.b.sec[BUNDLE_RAW] = (const char *)big;
	t.b.len[BUNDLE_RAW] = BIGLEN;
	uid = add(m, "INBOX", &t, 0, NULL);
	CHECK(fget(m, "INBOX")->info.size == BIGLEN);

	/* Into a non-blocking pipe drained by a thread. */
	CHECK(pipe(p) == 0);
	CHECK((fl = fcntl(p[1], F_GETFL)) != -1);
	CHECK(fcntl(p[1], F_SETFL, fl | O_NONBLOCK) != -1);
	memset(&d, 0, sizeof(d));
	d.fd = p[0];
	d.buf = back;
	d.cap = BIGLEN;
	CHECK(pthread_create(&th, NULL, drain_run, &d) == 0);
	CHECK(mbox_body_write(m, "INBOX", uid, p[1]) == MBOX_OK);
	CHECK(close(p[1]) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(close(p[0]) == 0);
	CHECK(d.err == 0 && d.len == BIGLEN);
	CHECK(memcmp(big, back, BIGLEN) == 0);

	/* Into a file. */
	tpath(path, sizeof(path), "body.out");
	CHECK((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	CHECK(mbox_body_write(m, "INBOX", uid, fd) == MBOX_OK);
	CHECK(fstat(fd, &sb) == 0 && sb.st_size == BIGLEN);
	CHECK(pread(fd, back, BIGLEN, 0) == BIGLEN);
	CHECK(memcmp(big, back, BIGLEN) == 0);
	CHECK(mbox_body_write(m, "INBOX", uid + 1, fd) == MBOX_ENOTFOUND);
	CHECK(mbox_body_write(m, "Sent", uid, fd) == MBOX_ENOTFOUND);
	CHECK(mbox_body_write(m, "INBOX", uid, -1) == MBOX_EINVAL);
	CHECK(close(fd) == 0);
	CHECK(unlink(path) == 0);
	mbox_close(m);
	free(big);
	free(back);
}

/*
 * Many bodies at once: ranges in any order, gaps and expunged uids
 * skipped, the budget cutting where it must, and a caller going on
 * after lastuid getting the rest.
 */
static void
t_bodies(void)
{
	static struct tmsg	 t[9];
	static const char	*bodytext[9] = { NULL, "one", "two", "three",
	    "four", "five", "six", "big", "eight" };
	struct mbox_range	 r[4];
	struct bodies		 b;
	unsigned char		*big;
	struct mbox		*m;
	const unsigned char	*want[9];
	size_t			 wantlen[9], i;
	uint64_t		 budget;
	uint32_t		 uid, count, last, next, seen[BODIES_MAX];
	int			 j, k, calls;

	CHECK((big = malloc(BIGLEN)) != NULL);
	for (i = 0; i < BIGLEN; i++)
		big[i] = (unsigned char)((i * 2654435761U) >> 11);
	big[100] = '\0';			/* bodies are bytes */
	m = mopen("bodies");
	for (j = 1; j <= 8; j++) {
		tmsg_init(&t[j], "b", "f", "t", "", "", bodytext[j], "",
		    BASEDATE, 0);
		if (j == 7) {
			t[j].b.sec[BUNDLE_RAW] = (const char *)big;
			t[j].b.len[BUNDLE_RAW] = BIGLEN;
		}
		want[j] = (const unsigned char *)t[j].b.sec[BUNDLE_RAW];
		wantlen[j] = t[j].b.len[BUNDLE_RAW];
		CHECK(add(m, "INBOX", &t[j], 0, NULL) == (uint32_t)j);
	}
	r[0].first = 2;
	r[0].last = 2;
	r[1].first = 4;
	r[1].last = 4;
	CHECK(mbox_store(m, "INBOX", r, 2, STORE_ADD, MAILFLAG_DELETED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);
	memset(&b, 0, sizeof(b));

	/* Everything, each message exactly as stored. */
	r[0].first = 1;
	r[0].last = STAR;
	CHECK(bodies(m, "INBOX", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "1 3 5 6 7 8");
	CHECK(count == 6 && last == STAR);
	for (j = 0; j < b.n; j++) {
		uid = b.uid[j];
		CHECK(b.size[j] == wantlen[uid]);
		CHECK(memcmp(b.data[j], want[uid], wantlen[uid]) == 0);
	}

	/* Unsorted, reversed, overlapping, past the end: sorted, once. */
	r[0].first = 6;
	r[0].last = 5;
	r[1].first = 1;
	r[1].last = 1;
	r[2].first = 3;
	r[2].last = 5;
	r[3].first = 200;
	r[3].last = 100;
	CHECK(bodies(m, "inbox", r, 4, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "1 3 5 6");
	CHECK(count == 4 && last == 200);

	/* Only expunged or unknown uids: nothing, done. */
	r[0].first = 2;
	r[0].last = 2;
	r[1].first = 4;
	r[1].last = 4;
	CHECK(bodies(m, "INBOX", r, 2, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK(b.n == 0 && count == 0 && last == 4);
	r[0].first = 50;
	r[0].last = 60;
	CHECK(bodies(m, "INBOX", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK(b.n == 0 && count == 0 && last == 60);

	/*
	 * A budget below any two messages (1 and 6 are the smallest):
	 * exactly one, then go on after it.
	 */
	CHECK(wantlen[1] == wantlen[6]);
	budget = wantlen[1];
	r[0].first = 1;
	r[0].last = STAR;
	CHECK(bodies(m, "INBOX", r, 1, budget, &b, &count, &last) ==
	    MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "1");
	CHECK(count == 1 && last == 1);
	CHECK(memcmp(b.data[0], want[1], wantlen[1]) == 0);
	next = last + 1;
	k = 0;
	for (calls = 0; calls < 20 && last != STAR; calls++) {
		r[0].first = next;
		r[0].last = STAR;
		CHECK(bodies(m, "INBOX", r, 1, budget, &b, &count, &last) ==
		    MBOX_OK);
		/* Small budget: each call brings exactly one. */
		CHECK(count == 1);
		for (j = 0; j < b.n && k < BODIES_MAX; j++) {
			seen[k++] = b.uid[j];
			CHECK(memcmp(b.data[j], want[b.uid[j]],
			    wantlen[b.uid[j]]) == 0);
		}
		CHECK(b.n > 0 && (last == STAR || last == b.uid[b.n - 1]));
		next = last + 1;
	}
	CHECK(calls == 5 && last == STAR);
	CHECK(k == 5 && seen[0] == 3 && seen[1] == 5 && seen[2] == 6 &&
	    seen[3] == 7 && seen[4] == 8);

	/* Exactly two fit; the third would not. */
	budget = wantlen[1] + wantlen[3];
	r[0].first = 1;
	r[0].last = STAR;
	CHECK(bodies(m, "INBOX", r, 1, budget, &b, &count, &last) ==
	    MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "1 3");
	CHECK(last == 3);
	/* Budget 0 still brings one. */
	CHECK(bodies(m, "INBOX", r, 1, 0, &b, &count, &last) == MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "1");
	CHECK(last == 1);

	/* One message larger than the budget comes alone, whole. */
	r[0].first = 7;
	r[0].last = 7;
	CHECK(bodies(m, "INBOX", r, 1, 1000, &b, &count, &last) == MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "7");
	CHECK(last == 7 && b.size[0] == BIGLEN);
	CHECK(memcmp(b.data[0], big, BIGLEN) == 0);
	r[0].first = 6;
	r[0].last = 8;
	CHECK(bodies(m, "INBOX", r, 1, 1000, &b, &count, &last) == MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "6");
	CHECK(last == 6);
	r[0].first = 7;
	CHECK(bodies(m, "INBOX", r, 1, 1000, &b, &count, &last) == MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "7");
	CHECK(last == 7);
	r[0].first = 8;
	CHECK(bodies(m, "INBOX", r, 1, 1000, &b, &count, &last) == MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "8");
	CHECK(last == 8);

	/* An empty folder, a missing one, bad arguments. */
	r[0].first = 1;
	r[0].last = STAR;
	CHECK(bodies(m, "Sent", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK(b.n == 0 && count == 0 && last == STAR);
	CHECK(bodies(m, "Nope", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_ENOTFOUND);
	CHECK(b.n == 0 && count == 0 && last == 0);
	CHECK(bodies(m, "a//b", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_EINVAL);
	CHECK(bodies(m, "INBOX", r, 0, UINT64_MAX, &b, &count, &last) ==
	    MBOX_EINVAL);
	CHECK(bodies(m, "INBOX", NULL, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_EINVAL);
	CHECK(bodies(m, "INBOX", r, MBOX_RANGES_MAX + 1, UINT64_MAX, &b,
	    &count, &last) == MBOX_EINVAL);
	CHECK(mbox_bodies(m, "INBOX", r, 1, 0, NULL, NULL, &count, &last) ==
	    MBOX_EINVAL);
	/* count and lastuid are optional. */
	bodies_reset(&b);
	CHECK(mbox_bodies(m, "INBOX", r, 1, 0, got_chunk, &b, NULL, NULL) ==
	    MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "1");

	/*
	 * A callback that stops, inside the big message (its second
	 * piece) or at once: only whole messages count.
	 */
	r[0].first = 5;
	r[0].last = 8;
	b.stopcall = 4;		/* 5, 6, 7's first piece, 7's second */
	CHECK(bodies(m, "INBOX", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK(count == 2 && last == 6);
	CHECK_STR(fmt_bodies(&b), "5 6 7");
	b.stopcall = 1;
	CHECK(bodies(m, "INBOX", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK(count == 0 && last == 0);
	b.stopcall = 0;

	/* No transaction was left open: a write goes through. */
	uid = addsimple(m, "INBOX", "after");
	CHECK(uid == 9);
	r[0].first = 9;
	r[0].last = 9;
	CHECK(bodies(m, "INBOX", r, 1, UINT64_MAX, &b, &count, &last) ==
	    MBOX_OK);
	CHECK_STR(fmt_bodies(&b), "9");
	bodies_reset(&b);
	mbox_close(m);
	free(big);
}

/*
 * MBOX_OP_SECTIONS at the store: each record holds the sections asked
 * for and nothing else, cut as mime_section() cuts the whole message;
 * a message stored without a part map comes whole; bad sections are
 * refused.
 */
static void
t_sections(void)
{
	static const char *const specs[] = { "1", "2", "2.MIME", "HEADER",
	    "TEXT", "1.MIME", "3", "1.HEADER" };
	struct mime_result	 mr;
	struct bundle		 b;
	struct mbox_section_view v[MBOX_SECTIONS_MAX];
	struct section		 s[MBOX_SECTIONS_MAX];
	struct mbox_range	 r = { 1, UINT32_MAX };
	struct bodies		 got;
	struct mbox		*m;
	char			*msg;
	const char		*raw;
	size_t			 len, i, off, n, big = 100000, rawlen;
	uint32_t		 count, last, u1, u2;
	int			 whole;

	/* A small text part and a large one. */
	CHECK((msg = malloc(big + 512)) != NULL);
	len = (size_t)snprintf(msg, 512, "Subject: parts\r\nContent-Type:"
	    " multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsmall\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n\r\n");
	memset(msg + len, 'x', big);
	len += big;
	memcpy(msg + len, "\r\n--b--\r\n", 10);
	len += 10;
	CHECK(mime_parse(msg, len, &mr) == 0);
	CHECK(mr.partmap_len == 3 * sizeof(struct section_node));
	CHECK(mime_to_bundle(&mr, msg, len, BASEDATE, &b) == 0);
	m = mopen("sections");
	CHECK(mbox_append(m, "INBOX", &b, 0, NULL, &count, &u1) == MBOX_OK);
	/* The same message stored without its map, as before version 3. */
	b.len[BUNDLE_PARTMAP] = 0;
	b.sec[BUNDLE_PARTMAP] = NULL;
	CHECK(mbox_append(m, "INBOX", &b, 0, NULL, &count, &u2) == MBOX_OK);

	for (i = 0; i < nitems(specs); i++)
		CHECK(section_parse(specs[i], &s[i]) == 0);
	/* TEXT<5.10>: the partial is cut in the vault. */
	s[4].origin = 5;
	s[4].count = 10;
	memset(&got, 0, sizeof(got));
	CHECK(mbox_sections(m, "INBOX", &r, 1, s, nitems(specs),
	    MBOX_BODIES_BUDGET, got_chunk, &got, &count, &last) == MBOX_OK);
	CHECK(got.bad == 0 && count == 2 && got.n == 2);
	CHECK(got.uid[0] == u1 && got.uid[1] == u2);

	/* The first: each section as mime_section() has it. */
	CHECK(mbox_sections_read(got.data[0], got.size[0], nitems(specs),
	    &whole, &raw, &rawlen, v) == 0 && !whole);
	for (i = 0; i < nitems(specs); i++) {
		if (mime_section(msg, len, specs[i], &off, &n) == -1) {
			CHECK(errno == ENOENT);
			CHECK(!v[i].found && v[i].len == 0);
			continue;
		}
		if (i == 4) {
			off += 5;
			n = 10;
		}
		CHECK(v[i].found && v[i].len == n);
		CHECK(n == 0 || memcmp(v[i].p, msg + off, n) == 0);
	}
	/* Only the sections travelled: the large part, and little else. */
	CHECK(got.size[0] < big + 600 && got.size[0] > big);
	/* The second: the whole message, to be cut by the front. */
	CHECK(mbox_sections_read(got.data[1], got.size[1], nitems(specs),
	    &whole, &raw, &rawlen, v) == 0 && whole);
	CHECK(rawlen == len && memcmp(raw, msg, len) == 0);

	/* Sections that add up to more than the message: it, once. */
	bodies_reset(&got);
	r.first = r.last = u1;
	CHECK(section_parse("", &s[9]) == 0);
	CHECK(section_parse("2", &s[10]) == 0);
	CHECK(section_parse("TEXT", &s[11]) == 0);
	CHECK(mbox_sections(m, "INBOX", &r, 1, s + 9, 3, MBOX_BODIES_BUDGET,
	    got_chunk, &got, &count, &last) == MBOX_OK);
	CHECK(count == 1 && mbox_sections_read(got.data[0], got.size[0], 3,
	    &whole, &raw, &rawlen, v) == 0 && whole && rawlen == len);

	/* One small part of the large message: a few dozen octets. */
	bodies_reset(&got);
	r.first = r.last = u1;
	CHECK(mbox_sections(m, "INBOX", &r, 1, s, 1, MBOX_BODIES_BUDGET,
	    got_chunk, &got, &count, &last) == MBOX_OK);
	CHECK(count == 1 && got.size[0] == sizeof(struct mbox_sections_hdr) +
	    sizeof(struct mbox_section_res) + 5);

	/* Refused: no section, too many, a bad one. */
	CHECK(mbox_sections(m, "INBOX", &r, 1, s, 0, MBOX_BODIES_BUDGET,
	    got_chunk, &got, &count, &last) == MBOX_EINVAL);
	CHECK(mbox_sections(m, "INBOX", &r, 1, s, MBOX_SECTIONS_MAX + 1,
	    MBOX_BODIES_BUDGET, got_chunk, &got, &count, &last) ==
	    MBOX_EINVAL);
	s[0].part[0] = 0;
	CHECK(mbox_sections(m, "INBOX", &r, 1, s, 1, MBOX_BODIES_BUDGET,
	    got_chunk, &got, &count, &last) == MBOX_EINVAL);

	bodies_reset(&got);
	mbox_close(m);
	mime_result_free(&mr);
	free(msg);
}

static off_t
fsize(const char *path)
{
	struct stat	 st;

	CHECK(stat(path, &st) == 0);
	return (st.st_size);
}

/*
 * A commit that takes the log past 1000 frames does not copy it over
 * itself: it marks the mailbox, and mbox_checkpoint() (the account's
 * job after the answer) copies it.  A mailbox closed with the mark
 * still set loses nothing.
 */
static void
t_checkpoint(void)
{
	char		 path[PATH_MAX], wal[PATH_MAX + 8];
	struct mbox_range r = { 1, UINT32_MAX };
	struct got	 g;
	struct tmsg	 t;
	struct mbox	*m;
	char		*big;
	off_t		 before;
	size_t		 i;
	uint32_t	 uv, uid;
	int		 round;

	CHECK((big = malloc(BIGLEN)) != NULL);
	for (i = 0; i < BIGLEN; i++)
		big[i] = (char)('a' + i % 23);
	dbpath(path, sizeof(path), "ckpt");
	(void)snprintf(wal, sizeof(wal), "%s-wal", path);
	for (round = 0; round < 2; round++) {
		m = mopen("ckpt");
		CHECK(!mbox_checkpoint_due(m));
		before = fsize(path);
		tmsg_init(&t, "big", "a@example.org", "b@example.org", "", "",
		    "x", "", BASEDATE, BASEDATE);
		t.b.sec[BUNDLE_RAW] = big;
		t.b.len[BUNDLE_RAW] = BIGLEN;
		/* Two messages of 3 MiB: more than 1000 frames of 4 KiB. */
		CHECK(mbox_append(m, "INBOX", &t.b, 0, NULL, &uv, &uid) ==
		    MBOX_OK);
		CHECK(mbox_append(m, "INBOX", &t.b, 0, NULL, &uv, &uid) ==
		    MBOX_OK);
		CHECK(fsize(wal) > 1000 * 4096);
		CHECK(mbox_checkpoint_due(m));
		/* The commits did not copy the log over. */
		CHECK(fsize(path) < before + 2 * BIGLEN);
		if (round == 1) {
			/* Closed with the mark set: the close copies. */
			mbox_close(m);
			continue;
		}
		CHECK(mbox_checkpoint(m) == MBOX_OK);
		CHECK(!mbox_checkpoint_due(m));
		CHECK(fsize(path) >= before + 2 * BIGLEN);
		mbox_close(m);
	}
	m = mopen("ckpt");
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch(m, "INBOX", &r, 1, MBOX_FETCH_NOMETA, got_msg, &g) ==
	    MBOX_OK);
	CHECK(g.n == 4);
	for (i = 0; i < 4; i++)
		CHECK(g.size[i] == BIGLEN);
	mbox_close(m);
	free(big);
}

int
main(void)
{
	mbox_fixture_setup();
	RUN(t_append_fetch);
	RUN(t_fetch_seq);
	RUN(t_changedsince);
	RUN(t_body);
	RUN(t_bodies);
	RUN(t_sections);
	RUN(t_checkpoint);
	mbox_fixture_teardown();
	TEST_EXIT();
}
