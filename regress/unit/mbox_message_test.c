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
 * Changing messages in the mailbox store (vault_mbox_message.c): STORE
 * with CONDSTORE, keywords, COPY/MOVE, the clean-up of shared bodies,
 * EXPUNGE and VANISHED.
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
#include "search.h"
#include "../../vaultd/vault_mbox.h"
#include "../../vaultd/vault_vfs.h"
#include "mbox_fixture.h"
#include "test.h"

TEST_GLOBALS;

static int	 got_pair(void *, uint32_t, uint32_t);
static int64_t	 rawcount(const char *, const char *);
static void	 t_store(void);
static void	 t_condstore(void);
static void	 t_keywords(void);
static void	 t_copy_move(void);
static void	 t_shared_cleanup(void);
static void	 t_expunge(void);

static int
got_pair(void *arg, uint32_t a, uint32_t b)
{
	struct uids	*u = arg;

	if (u->n + 2 > GOT_MAX * 2)
		return (1);
	u->v[u->n++] = a;
	u->v[u->n++] = b;
	return (0);
}

/* Row count of a table, through our own connection (mbox closed). */
static int64_t
rawcount(const char *name, const char *sql)
{
	char		 path[PATH_MAX];
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	int64_t		 v;

	dbpath(path, sizeof(path), name);
	CHECK(vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE, &db) ==
	    SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	CHECK(sqlite3_finalize(st) == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	return (v);
}

static void
t_store(void)
{
	struct mbox_range	 r;
	struct got		 g;
	struct mbox		*m;
	uint64_t		 ms[4], c;
	int			 i;

	m = mopen("store");
	for (i = 1; i <= 3; i++)
		addsimple(m, "INBOX", "st");
	CHECK(fget(m, "INBOX")->info.highestmodseq == 4);
	for (i = 1; i <= 3; i++) {
		memset(&g, 0, sizeof(g));
		r.first = r.last = (uint32_t)i;
		CHECK(mbox_fetch(m, "INBOX", &r, 1, 0, got_msg, &g) ==
		    MBOX_OK);
		ms[i] = g.modseq[0];
	}
	CHECK(ms[1] == 2 && ms[2] == 3 && ms[3] == 4);

	/* Add \Seen to 1:2: both change, each with a new modseq. */
	memset(&g, 0, sizeof(g));
	r.first = 1;
	r.last = 2;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_SEEN, NULL,
	    0, got_msg, NULL, &g) == MBOX_OK);
	CHECK_STR(fmt_got(&g), "1/1,2/2");
	CHECK(g.modseq[0] == 5 && g.modseq[1] == 6);
	CHECK(g.flags[0] == MAILFLAG_SEEN && g.meta[0] == 0);
	CHECK(fget(m, "INBOX")->info.highestmodseq == 6);

	/* Again on 1:3: only 3 changes. */
	memset(&g, 0, sizeof(g));
	r.last = STAR;
	c = mbox_counter(m);
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_SEEN, NULL,
	    0, got_msg, NULL, &g) == MBOX_OK);
	CHECK_STR(fmt_got(&g), "3/3");
	CHECK(g.modseq[0] == 7 && mbox_counter(m) == c + 1);

	/* And again: nothing changes, no modseq, no commit. */
	memset(&g, 0, sizeof(g));
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_SEEN, NULL,
	    0, got_msg, NULL, &g) == MBOX_OK);
	CHECK(g.n == 0 && mbox_counter(m) == c + 1);
	CHECK(fget(m, "INBOX")->info.highestmodseq == 7);

	/* Remove. */
	memset(&g, 0, sizeof(g));
	r.first = r.last = 1;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_REMOVE, MAILFLAG_SEEN,
	    NULL, 0, got_msg, NULL, &g) == MBOX_OK);
	CHECK(g.n == 1 && g.flags[0] == 0 && g.modseq[0] == 8);

	/* Replace flags and keywords. */
	memset(&g, 0, sizeof(g));
	r.first = r.last = 2;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_REPLACE, MAILFLAG_FLAGGED |
	    MAILFLAG_DRAFT, "$Forwarded Work", 0, got_msg, NULL, &g) ==
	    MBOX_OK);
	CHECK(g.n == 1 && g.flags[0] == (MAILFLAG_FLAGGED | MAILFLAG_DRAFT));
	CHECK_STR(g.kw[0], "$Forwarded Work");
	/* The same set in another order and case: no change. */
	memset(&g, 0, sizeof(g));
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_REPLACE, MAILFLAG_FLAGGED |
	    MAILFLAG_DRAFT, "work  $FORWARDED", 0, got_msg, NULL, &g) ==
	    MBOX_OK);
	CHECK(g.n == 0);
	memset(&g, 0, sizeof(g));
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, 0, "WORK Extra", 0,
	    got_msg, NULL, &g) == MBOX_OK);
	CHECK(g.n == 1);
	CHECK_STR(g.kw[0], "$Forwarded Work Extra");
	memset(&g, 0, sizeof(g));
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_REMOVE, MAILFLAG_DRAFT,
	    "work nothere", 0, got_msg, NULL, &g) == MBOX_OK);
	CHECK(g.n == 1 && g.flags[0] == MAILFLAG_FLAGGED);
	CHECK_STR(g.kw[0], "$Forwarded Extra");
	memset(&g, 0, sizeof(g));
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_REPLACE, 0, NULL, 0,
	    got_msg, NULL, &g) == MBOX_OK);
	CHECK(g.n == 1 && g.flags[0] == 0 && g.kw[0][0] == '\0');
	CHECK_STR(fetchs(m, "INBOX", 2, 2, 0), "2/2");

	/* Bad calls. */
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, 0x40, NULL, 0, NULL,
	    NULL, NULL) == MBOX_EINVAL);
	CHECK(mbox_store(m, "INBOX", &r, 1, (enum mbox_store_op)7, 0, NULL,
	    0, NULL, NULL, NULL) == MBOX_EINVAL);
	CHECK(mbox_store(m, "INBOX", &r, 0, STORE_ADD, 0, NULL, 0, NULL,
	    NULL, NULL) == MBOX_EINVAL);
	CHECK(mbox_store(m, "Nope", &r, 1, STORE_ADD, 0, NULL, 0, NULL,
	    NULL, NULL) == MBOX_ENOTFOUND);
	mbox_close(m);
}

static void
t_condstore(void)
{
	struct mbox_range	 r;
	struct uids		 u;
	struct got		 g, before;
	struct mbox		*m;
	int			 i;

	m = mopen("condstore");
	for (i = 1; i <= 4; i++)
		addsimple(m, "INBOX", "cs");
	/* Touch 3: modseqs are now 1:2 2:3 3:6 4:5. */
	r.first = r.last = 3;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_ANSWERED,
	    NULL, 0, NULL, NULL, NULL) == MBOX_OK);
	memset(&before, 0, sizeof(before));
	r.first = 1;
	r.last = STAR;
	CHECK(mbox_fetch(m, "INBOX", &r, 1, 0, got_msg, &before) == MBOX_OK);
	CHECK(before.modseq[2] == 6 && before.modseq[3] == 5);

	/* UNCHANGEDSINCE 4: 3 (modseq 6) and 4 (5) fail. */
	memset(&g, 0, sizeof(g));
	memset(&u, 0, sizeof(u));
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_FLAGGED,
	    NULL, 4, got_msg, NULL, &g) == MBOX_OK);
	CHECK_STR(fmt_got(&g), "1/1,2/2");
	CHECK(g.modseq[0] == 7 && g.modseq[1] == 8);
	memset(&g, 0, sizeof(g));
	r.first = 1;
	r.last = STAR;
	CHECK(mbox_fetch(m, "INBOX", &r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK(g.flags[0] == MAILFLAG_FLAGGED && g.flags[1] == MAILFLAG_FLAGGED);
	CHECK(g.flags[2] == MAILFLAG_ANSWERED && g.flags[3] == 0);
	CHECK(g.modseq[2] == 6 && g.modseq[3] == 5);

	/* Failed uids are reported to failed_cb. */
	memset(&u, 0, sizeof(u));
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_SEEN, NULL,
	    5, NULL, got_uid, &u) == MBOX_OK);
	CHECK_STR(fmt_uids(&u), "1,2,3");
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch(m, "INBOX", &r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK(g.flags[3] == MAILFLAG_SEEN && g.modseq[3] == 9);
	CHECK((g.flags[0] & MAILFLAG_SEEN) == 0);

	/* A message that would not change does not fail. */
	memset(&u, 0, sizeof(u));
	memset(&g, 0, sizeof(g));
	r.first = r.last = 4;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_SEEN, NULL,
	    10, NULL, got_uid, &u) == MBOX_OK);
	CHECK(u.n == 0);
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_SEEN, NULL,
	    10, got_msg, NULL, &g) == MBOX_OK);
	CHECK(g.n == 0);
	mbox_close(m);
}

static void
t_keywords(void)
{
	static const char	*bad[] = { "\\Seen", "a(b", "a)b", "a{b",
	    "a]b", "a%b", "a*b", "a\"b", "a\\b", "é", "a\tb", "\\Flagged x" };
	char			 kw[MBOX_KEYWORD_MAX + 1];
	char			 many[MBOX_KEYWORDS_MAX * 8];
	struct mbox_range	 r;
	struct tmsg		 t;
	struct got		 g;
	struct mbox		*m;
	uint32_t		 uv, uid;
	size_t			 i;

	m = mopen("keywords");
	tmsg_init(&t, "k", "f", "t", "", "", "x", "", BASEDATE, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(mbox_append(m, "INBOX", &t.b, 0, bad[i], &uv, &uid) ==
		    MBOX_EINVAL);
	memset(kw, 'k', sizeof(kw));
	kw[MBOX_KEYWORD_MAX] = '\0';
	kw[MBOX_KEYWORD_MAX - 1] = '\0';	/* 63: fine */
	add(m, "INBOX", &t, 0, kw);
	kw[MBOX_KEYWORD_MAX - 1] = 'k';		/* 64: too long */
	CHECK(mbox_append(m, "INBOX", &t.b, 0, kw, &uv, &uid) ==
	    MBOX_EINVAL);

	/* 32 distinct are fine, 33 are too many. */
	many[0] = '\0';
	for (i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		char	 one[8];

		(void)snprintf(one, sizeof(one), "%sk%zu", i ? " " : "", i);
		(void)strlcat(many, one, sizeof(many));
	}
	uid = add(m, "INBOX", &t, 0, many);
	(void)strlcat(many, " k99", sizeof(many));
	CHECK(mbox_append(m, "INBOX", &t.b, 0, many, &uv, &uid) ==
	    MBOX_ELIMIT);
	/* Adding a 33rd by STORE fails and changes nothing. */
	r.first = r.last = 2;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_SEEN, "k99",
	    0, NULL, NULL, NULL) == MBOX_ELIMIT);
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch(m, "INBOX", &r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK(g.n == 1 && g.flags[0] == 0 && strstr(g.kw[0], "k99") == NULL);

	/* Duplicates (any case) and extra spaces are normalised. */
	uid = add(m, "INBOX", &t, 0, "  a  A b $Junk a  ");
	memset(&g, 0, sizeof(g));
	r.first = r.last = uid;
	CHECK(mbox_fetch(m, "INBOX", &r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK_STR(g.kw[0], "a b $Junk");
	uid = add(m, "INBOX", &t, 0, "");
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, 0, "ok bad(", 0,
	    NULL, NULL, NULL) == MBOX_EINVAL);
	mbox_close(m);
}

static void
t_copy_move(void)
{
	struct mbox_range	 r;
	struct uids		 u;
	struct got		 g;
	struct tmsg		 t;
	struct mbox		*m;
	uint64_t		 hms;
	uint32_t		 uv;
	char			 path[PATH_MAX];
	unsigned char		 buf[256];
	int			 fd, i;
	ssize_t			 n;

	m = mopen("copy");
	for (i = 1; i <= 3; i++) {
		char	 subj[32];

		(void)snprintf(subj, sizeof(subj), "copyme %d", i);
		tmsg_init(&t, subj, "f", "t", "", "", "copied body", "",
		    BASEDATE + i * DAY, 0);
		add(m, "INBOX", &t, i == 2 ? MAILFLAG_FLAGGED : 0,
		    i == 2 ? "Work" : NULL);
	}
	CHECK(mbox_folder_create(m, "Dst", SPECIAL_NONE) == MBOX_OK);

	/* Copy 2:3. */
	memset(&u, 0, sizeof(u));
	uv = 0;
	r.first = 2;
	r.last = STAR;
	CHECK(mbox_copy(m, "INBOX", &r, 1, "Dst", 0, got_pair, &u, &uv) ==
	    MBOX_OK);
	CHECK_STR(fmt_uids(&u), "2,1,3,2");
	CHECK(uv == fget(m, "Dst")->info.uidvalidity);
	CHECK(fget(m, "INBOX")->info.exists == 3 && fget(m,
	    "Dst")->info.exists == 2);
	memset(&g, 0, sizeof(g));
	r.first = 1;
	r.last = STAR;
	CHECK(mbox_fetch(m, "Dst", &r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK(g.n == 2 && g.flags[0] == MAILFLAG_FLAGGED);
	CHECK_STR(g.kw[0], "Work");
	CHECK_STR(g.env[0], "ENV<copyme 2>");
	CHECK(g.idate[0] == BASEDATE + 2 * DAY && g.idate[1] == BASEDATE +
	    3 * DAY);
	/* The copy has its own modseqs in Dst. */
	CHECK(g.modseq[0] == 2 && g.modseq[1] == 3);
	/* The body and the index came along. */
	tpath(path, sizeof(path), "copy.out");
	CHECK((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	CHECK(mbox_body_write(m, "Dst", 1, fd) == MBOX_OK);
	CHECK((n = pread(fd, buf, sizeof(buf), 0)) > 0);
	CHECK(memmem(buf, (size_t)n, "copyme 2", 8) != NULL);
	CHECK(close(fd) == 0);
	CHECK(unlink(path) == 0);
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "copyme 3", NULL);
	CHECK_STR(srch(m, "Dst"), "2");

	/* Move 1:2 to Dst. */
	hms = fget(m, "INBOX")->info.highestmodseq;
	memset(&u, 0, sizeof(u));
	r.first = 1;
	r.last = 2;
	CHECK(mbox_copy(m, "INBOX", &r, 1, "Dst", 1, got_pair, &u, &uv) ==
	    MBOX_OK);
	CHECK_STR(fmt_uids(&u), "1,3,2,4");
	CHECK(fget(m, "INBOX")->info.exists == 1 && fget(m,
	    "Dst")->info.exists == 4);
	CHECK(fget(m, "INBOX")->info.highestmodseq == hms + 1);
	CHECK_STR(fetchs(m, "INBOX", 1, STAR, 0), "3/1");
	memset(&u, 0, sizeof(u));
	CHECK(mbox_vanished(m, "INBOX", hms, got_uid, &u) == MBOX_OK);
	CHECK_STR(fmt_uids(&u), "1,2");
	memset(&u, 0, sizeof(u));
	CHECK(mbox_vanished(m, "INBOX", hms + 1, got_uid, &u) == MBOX_OK);
	CHECK(u.n == 0);
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "copied", NULL);
	CHECK_STR(srch(m, "Dst"), "1,2,3,4");
	CHECK_STR(srch(m, "INBOX"), "3");

	/* Copy within one folder; move to itself (RFC 6851 3.3). */
	memset(&u, 0, sizeof(u));
	r.first = 1;
	r.last = STAR;
	CHECK(mbox_copy(m, "INBOX", &r, 1, "inbox", 0, got_pair, &u, &uv) ==
	    MBOX_OK);
	CHECK_STR(fmt_uids(&u), "3,4");
	memset(&u, 0, sizeof(u));
	CHECK(mbox_copy(m, "INBOX", &r, 1, "INBOX", 1, got_pair, &u, &uv) ==
	    MBOX_OK);
	CHECK_STR(fmt_uids(&u), "3,5,4,6");
	CHECK(fget(m, "INBOX")->info.exists == 2);
	CHECK(fget(m, "INBOX")->info.uidnext == 7);
	CHECK(mbox_copy(m, "Nope", &r, 1, "Dst", 0, NULL, NULL, &uv) ==
	    MBOX_ENOTFOUND);
	CHECK(mbox_copy(m, "INBOX", &r, 1, "Nope", 1, NULL, NULL, &uv) ==
	    MBOX_ENOTFOUND);
	CHECK(fget(m, "INBOX")->info.exists == 2);
	/* Nothing in the set: fine, nothing done. */
	memset(&u, 0, sizeof(u));
	r.first = r.last = 77;
	CHECK(mbox_copy(m, "INBOX", &r, 1, "Dst", 1, got_pair, &u, &uv) ==
	    MBOX_OK);
	CHECK(u.n == 0 && uv == fget(m, "Dst")->info.uidvalidity);
	mbox_close(m);
}

/* Copies share their content; the last one to go takes it along. */
static void
t_shared_cleanup(void)
{
	struct mbox_range	 r;
	struct mbox		*m;
	uint64_t		 o, n;

	m = mopen("shared");
	addsimple(m, "INBOX", "shared one");
	addsimple(m, "INBOX", "shared two");
	CHECK(mbox_folder_create(m, "Copy", SPECIAL_NONE) == MBOX_OK);
	r.first = 1;
	r.last = STAR;
	CHECK(mbox_copy(m, "INBOX", &r, 1, "Copy", 0, NULL, NULL, NULL) ==
	    MBOX_OK);
	CHECK(mbox_usage(m, &o, &n) == MBOX_OK && n == 4);
	mbox_close(m);
	CHECK(rawcount("shared", "SELECT count(*) FROM blobs") == 2);
	CHECK(rawcount("shared", "SELECT count(*) FROM content") == 2);

	m = mopen("shared");
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_DELETED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);
	CHECK(s1(m, SEARCH_SUBJECT, "shared")[0] == '\0');
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "shared", NULL);
	CHECK_STR(srch(m, "Copy"), "1,2");
	mbox_close(m);
	CHECK(rawcount("shared", "SELECT count(*) FROM blobs") == 2);

	m = mopen("shared");
	CHECK(mbox_folder_delete(m, "Copy") == MBOX_OK);
	CHECK(mbox_usage(m, &o, &n) == MBOX_OK && n == 0 && o == 0);
	mbox_close(m);
	CHECK(rawcount("shared", "SELECT count(*) FROM blobs") == 0);
	CHECK(rawcount("shared", "SELECT count(*) FROM content") == 0);
	CHECK(rawcount("shared", "SELECT count(*) FROM expunged") == 2);
	/* The index has nothing left and is consistent. */
	CHECK(rawcount("shared", "SELECT count(*) FROM fts WHERE fts MATCH"
	    " '\"shared\"'") == 0);
	CHECK(rawcount("shared", "SELECT count(*) FROM fts_docsize") == 0);
}

static void
t_expunge(void)
{
	struct mbox_range	 r[2];
	struct uids		 u;
	struct mbox		*m;
	uint64_t		 h0, h1, c;
	int			 i;

	m = mopen("expunge");
	for (i = 1; i <= 6; i++)
		addsimple(m, "INBOX", "ex");
	r[0].first = 1;
	r[0].last = 1;
	r[1].first = 3;
	r[1].last = 5;
	CHECK(mbox_store(m, "INBOX", r, 2, STORE_ADD, MAILFLAG_DELETED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.deleted == 4);
	h0 = fget(m, "INBOX")->info.highestmodseq;

	/* UID EXPUNGE 1:3: only the \Deleted ones in the set. */
	memset(&u, 0, sizeof(u));
	r[0].first = 3;
	r[0].last = 1;
	CHECK(mbox_expunge(m, "INBOX", r, 1, got_uid, &u) == MBOX_OK);
	CHECK_STR(fmt_uids(&u), "1,3");
	CHECK_STR(fetchs(m, "INBOX", 1, STAR, 0), "2/1,4/2,5/3,6/4");
	h1 = fget(m, "INBOX")->info.highestmodseq;
	CHECK(h1 == h0 + 1);

	/* EXPUNGE: the rest. */
	memset(&u, 0, sizeof(u));
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, got_uid, &u) == MBOX_OK);
	CHECK_STR(fmt_uids(&u), "4,5");
	CHECK(fget(m, "INBOX")->info.exists == 2 &&
	    fget(m, "INBOX")->info.deleted == 0);

	memset(&u, 0, sizeof(u));
	CHECK(mbox_vanished(m, "INBOX", h0, got_uid, &u) == MBOX_OK);
	CHECK_STR(fmt_uids(&u), "1,3,4,5");
	memset(&u, 0, sizeof(u));
	CHECK(mbox_vanished(m, "INBOX", h1, got_uid, &u) == MBOX_OK);
	CHECK_STR(fmt_uids(&u), "4,5");
	memset(&u, 0, sizeof(u));
	CHECK(mbox_vanished(m, "Sent", 0, got_uid, &u) == MBOX_OK);
	CHECK(u.n == 0);
	CHECK(mbox_vanished(m, "Nope", 0, got_uid, &u) == MBOX_ENOTFOUND);

	/* Nothing to expunge: no commit. */
	c = mbox_counter(m);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, got_uid, &u) == MBOX_OK);
	CHECK(mbox_counter(m) == c);
	CHECK(mbox_body_write(m, "INBOX", 4, 1) == MBOX_ENOTFOUND);
	CHECK(mbox_expunge(m, "INBOX", r, 0, NULL, NULL) == MBOX_EINVAL);
	CHECK(mbox_expunge(m, "Nope", NULL, 0, NULL, NULL) ==
	    MBOX_ENOTFOUND);
	/* Uids are never reused. */
	CHECK(addsimple(m, "INBOX", "after") == 7);
	mbox_close(m);
}

int
main(void)
{
	mbox_fixture_setup();
	RUN(t_store);
	RUN(t_condstore);
	RUN(t_keywords);
	RUN(t_copy_move);
	RUN(t_shared_cleanup);
	RUN(t_expunge);
	mbox_fixture_teardown();
	TEST_EXIT();
}
