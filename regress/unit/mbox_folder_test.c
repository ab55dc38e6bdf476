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
 * The mailbox store's folders and databases (vault_mbox_folder.c,
 * vault_mbox_db.c): defaults, names, create/rename/delete, renaming
 * INBOX, counts, reopening, the commit counter, a wrong key and a
 * tampered page.
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
#include "../../vaultd/vault_mbox_db.h"
#include "../../vaultd/vault_vfs.h"
#include "mbox_fixture.h"
#include "test.h"

TEST_GLOBALS;

static int	 got_folder(void *, const struct mbox_folder *);
static void	 t_defaults(void);
static void	 t_names(void);
static void	 t_folders(void);
static void	 t_rename_inbox(void);
static void	 t_counts(void);
static void	 t_reopen(void);
static void	 t_counter(void);
static void	 t_wrongkey(void);
static void	 t_tamper(void);
static void	 t_subscriptions_rfc3501_6_3_6(void);
static const struct mbox_folder *lfind(const struct flist *, const char *);

static int
got_folder(void *arg, const struct mbox_folder *f)
{
	struct flist	*l = arg;

	if (l->n >= 16)
		return (1);
	l->f[l->n++] = *f;
	return (0);
}

static void
t_defaults(void)
{
	static const char	*names[] = { "Archive", "Drafts", "INBOX",
	    "Junk", "Sent", "Trash" };
	static const uint32_t	 specials[] = { SPECIAL_ARCHIVE,
	    SPECIAL_DRAFTS, SPECIAL_INBOX, SPECIAL_JUNK, SPECIAL_SENT,
	    SPECIAL_TRASH };
	struct flist		 l;
	struct mbox		*m;
	int			 i, j;

	m = mopen("defaults");
	CHECK(mbox_counter(m) == 1);
	memset(&l, 0, sizeof(l));
	CHECK(mbox_folder_list(m, got_folder, &l) == MBOX_OK);
	CHECK(l.n == 6);
	for (i = 0; i < 6; i++) {
		CHECK_STR(l.f[i].name, names[i]);
		CHECK(l.f[i].info.special == specials[i]);
		CHECK(l.f[i].info.subscribed == 1);
		CHECK(l.f[i].info.uidvalidity != 0);
		CHECK(l.f[i].info.uidnext == 1);
		CHECK(l.f[i].info.highestmodseq == 1);
		CHECK(l.f[i].info.exists == 0 && l.f[i].info.size == 0);
		for (j = 0; j < i; j++)
			CHECK(l.f[i].info.uidvalidity !=
			    l.f[j].info.uidvalidity);
	}
	CHECK_STR(fget(m, "inbox")->name, "INBOX");
	CHECK(fget(m, "iNbOx")->info.special == SPECIAL_INBOX);
	CHECK(mbox_folder_get(m, "Nope", fget(m, "INBOX")) ==
	    MBOX_ENOTFOUND);
	mbox_close(m);
}

static void
t_names(void)
{
	static const char	*bad[] = { "", "/a", "a/", "a//b", "/",
	    "a\001b", "a\tb", "a\177b", "a%b", "a*b", "\xff", "a\xc0\xaf",
	    "\xed\xa0\x80", "a\xc2\x80", "\xe2\x82", "\xf4\x90\x80\x80" };
	char			 deep[MBOX_DEPTH_MAX * 2 + 8];
	char			 longname[MBOX_NAME_MAX + 1];
	struct mbox_folder	 f;
	struct mbox		*m;
	size_t			 i;

	m = mopen("names");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(mbox_folder_create(m, bad[i], SPECIAL_NONE) ==
		    MBOX_EINVAL);
		CHECK(mbox_folder_get(m, bad[i], &f) == MBOX_EINVAL);
	}
	CHECK(mbox_folder_create(m, NULL, SPECIAL_NONE) == MBOX_EINVAL);

	/* 33 components: too deep; 32: fine. */
	deep[0] = '\0';
	for (i = 0; i < MBOX_DEPTH_MAX + 1; i++)
		(void)strlcat(deep, i ? "/d" : "d", sizeof(deep));
	CHECK(mbox_folder_create(m, deep, SPECIAL_NONE) == MBOX_EINVAL);
	deep[strlen(deep) - 2] = '\0';
	CHECK(mbox_folder_create(m, deep, SPECIAL_NONE) == MBOX_OK);
	CHECK(fget(m, "d/d/d")->info.exists == 0);

	/* MBOX_NAME_MAX bytes: too long; one less: fine. */
	memset(longname, 'n', sizeof(longname));
	longname[MBOX_NAME_MAX] = '\0';
	CHECK(mbox_folder_create(m, longname, SPECIAL_NONE) == MBOX_EINVAL);
	longname[MBOX_NAME_MAX - 1] = '\0';
	CHECK(mbox_folder_create(m, longname, SPECIAL_NONE) == MBOX_OK);

	/* UTF-8, INBOX in any case, special-use checks. */
	CHECK(mbox_folder_create(m, "Ünïcødé/日本語", SPECIAL_NONE) ==
	    MBOX_OK);
	CHECK(fget(m, "Ünïcødé")->info.special == SPECIAL_NONE);
	CHECK(mbox_folder_create(m, "inbox", SPECIAL_NONE) == MBOX_EEXISTS);
	CHECK(mbox_folder_create(m, "Inbox/Sub", SPECIAL_NONE) == MBOX_OK);
	CHECK_STR(fget(m, "INBOX/Sub")->name, "INBOX/Sub");
	CHECK(mbox_folder_create(m, "INBOX/sub2", 99) == MBOX_EINVAL);
	CHECK(mbox_folder_create(m, "Other", SPECIAL_INBOX) == MBOX_EINVAL);
	CHECK(mbox_folder_create(m, "Old Mail", SPECIAL_ARCHIVE) == MBOX_OK);
	CHECK(fget(m, "Old Mail")->info.special == SPECIAL_ARCHIVE);
	CHECK(fget(m, "Old Mail")->info.subscribed == 0);
	mbox_close(m);
}

static void
t_folders(void)
{
	struct mbox_folder	*f;
	struct mbox		*m;
	uint32_t		 uv, uvb;

	m = mopen("folders");
	CHECK(mbox_folder_create(m, "a/b/c", SPECIAL_NONE) == MBOX_OK);
	CHECK(fget(m, "a")->info.special == SPECIAL_NONE);
	CHECK(fget(m, "a/b")->info.subscribed == 0);
	CHECK(mbox_folder_create(m, "a/b", SPECIAL_NONE) == MBOX_EEXISTS);
	CHECK(mbox_folder_create(m, "a/b/c", SPECIAL_NONE) == MBOX_EEXISTS);

	/* Delete: INBOX and folders with children refused. */
	CHECK(mbox_folder_delete(m, "INBOX") == MBOX_EINVAL);
	CHECK(mbox_folder_delete(m, "inbox") == MBOX_EINVAL);
	CHECK(mbox_folder_delete(m, "a") == MBOX_EINVAL);
	CHECK(mbox_folder_delete(m, "a/b") == MBOX_EINVAL);
	CHECK(mbox_folder_delete(m, "nope") == MBOX_ENOTFOUND);
	/* "a/bc" is not a child of "a/b". */
	CHECK(mbox_folder_create(m, "x", SPECIAL_NONE) == MBOX_OK);
	CHECK(mbox_folder_create(m, "xy", SPECIAL_NONE) == MBOX_OK);
	CHECK(mbox_folder_delete(m, "x") == MBOX_OK);
	CHECK(mbox_folder_get(m, "x", fget(m, "xy")) == MBOX_ENOTFOUND);

	/* A re-created name gets a new UIDVALIDITY and nothing old. */
	CHECK(mbox_folder_create(m, "re", SPECIAL_NONE) == MBOX_OK);
	addsimple(m, "re", "one");
	addsimple(m, "re", "two");
	uv = fget(m, "re")->info.uidvalidity;
	CHECK(fget(m, "re")->info.exists == 2);
	CHECK(mbox_folder_delete(m, "re") == MBOX_OK);
	CHECK(mbox_folder_create(m, "re", SPECIAL_NONE) == MBOX_OK);
	f = fget(m, "re");
	CHECK(f->info.uidvalidity != uv && f->info.uidvalidity != 0);
	CHECK(f->info.exists == 0 && f->info.uidnext == 1);

	/* Rename with children; UIDVALIDITY and messages move along. */
	addsimple(m, "a/b", "in a/b");
	uvb = fget(m, "a/b")->info.uidvalidity;
	CHECK(mbox_folder_rename(m, "a", "z/y") == MBOX_OK);
	CHECK(mbox_folder_get(m, "a", fget(m, "z")) == MBOX_ENOTFOUND);
	CHECK(mbox_folder_get(m, "a/b", fget(m, "z")) == MBOX_ENOTFOUND);
	CHECK(fget(m, "z/y")->info.exists == 0);
	f = fget(m, "z/y/b");
	CHECK(f->info.uidvalidity == uvb && f->info.exists == 1);
	CHECK(fget(m, "z/y/b/c")->info.exists == 0);
	CHECK(mbox_folder_rename(m, "z/y", "xy") == MBOX_EEXISTS);
	CHECK(mbox_folder_rename(m, "z/y", "INBOX") == MBOX_EEXISTS);
	CHECK(mbox_folder_rename(m, "z/y", "z/y") == MBOX_EEXISTS);
	CHECK(mbox_folder_rename(m, "z", "z/q") == MBOX_EINVAL);
	CHECK(mbox_folder_rename(m, "nope", "nope2") == MBOX_ENOTFOUND);
	CHECK(mbox_folder_rename(m, "z", "bad//name") == MBOX_EINVAL);
	CHECK(mbox_folder_rename(m, "zz", "z/y2") == MBOX_ENOTFOUND);

	/* Non-ASCII: children are renamed by bytes, not characters. */
	CHECK(mbox_folder_create(m, "Ä/ö/ü", SPECIAL_NONE) == MBOX_OK);
	CHECK(mbox_folder_rename(m, "Ä", "Éé") == MBOX_OK);
	CHECK(fget(m, "Éé/ö/ü")->info.exists == 0);
	CHECK(mbox_folder_get(m, "Ä/ö", fget(m, "Éé")) == MBOX_ENOTFOUND);

	/* Subscriptions. */
	CHECK(mbox_folder_subscribe(m, "z/y/b", 1) == MBOX_OK);
	CHECK(fget(m, "z/y/b")->info.subscribed == 1);
	CHECK(mbox_folder_subscribe(m, "z/y/b", 0) == MBOX_OK);
	CHECK(fget(m, "z/y/b")->info.subscribed == 0);
	CHECK(mbox_folder_subscribe(m, "nope", 1) == MBOX_ENOTFOUND);
	CHECK(mbox_folder_subscribe(m, "a%", 1) == MBOX_EINVAL);
	mbox_close(m);
}

static void
t_rename_inbox(void)
{
	struct uids	 u;
	struct mbox	*m;
	uint32_t	 uv, hms;

	m = mopen("renameinbox");
	CHECK(mbox_folder_create(m, "INBOX/kid", SPECIAL_NONE) == MBOX_OK);
	addsimple(m, "INBOX", "first");
	addsimple(m, "INBOX", "second");
	uv = fget(m, "INBOX")->info.uidvalidity;
	hms = (uint32_t)fget(m, "INBOX")->info.highestmodseq;
	CHECK(mbox_folder_rename(m, "INBOX", "Old/Inbox") == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.exists == 0);
	CHECK(fget(m, "INBOX")->info.uidnext == 3);
	CHECK(fget(m, "INBOX")->info.uidvalidity == uv);
	CHECK(fget(m, "INBOX")->info.highestmodseq > hms);
	CHECK(fget(m, "INBOX/kid")->info.exists == 0);
	CHECK(fget(m, "Old")->info.exists == 0);
	CHECK(fget(m, "Old/Inbox")->info.exists == 2);
	CHECK(fget(m, "Old/Inbox")->info.uidvalidity != uv);
	CHECK_STR(fetchs(m, "Old/Inbox", 1, STAR, 0), "1/1,2/2");
	memset(&u, 0, sizeof(u));
	CHECK(mbox_vanished(m, "INBOX", hms, got_uid, &u) == MBOX_OK);
	CHECK_STR(fmt_uids(&u), "1,2");
	CHECK(mbox_folder_rename(m, "INBOX", "Old/Inbox") == MBOX_EEXISTS);
	CHECK(s1(m, SEARCH_SUBJECT, "second")[0] == '\0');
	mbox_close(m);
}

static void
t_counts(void)
{
	struct mbox_folder	*f;
	struct flist		 l;
	struct tmsg		 t;
	struct mbox		*m;
	uint64_t		 octets = 0, msgs = 0, total = 0;
	int			 i;

	m = mopen("counts");
	tmsg_init(&t, "c", "f", "t", "", "", "x", "", BASEDATE, 0);
	add(m, "INBOX", &t, MAILFLAG_SEEN, NULL);
	add(m, "INBOX", &t, MAILFLAG_SEEN | MAILFLAG_DELETED, NULL);
	add(m, "INBOX", &t, 0, NULL);
	add(m, "INBOX", &t, MAILFLAG_DELETED | MAILFLAG_FLAGGED, NULL);
	add(m, "Sent", &t, MAILFLAG_SEEN, NULL);
	total = t.b.len[BUNDLE_RAW];
	f = fget(m, "INBOX");
	CHECK(f->info.exists == 4 && f->info.unseen == 2 &&
	    f->info.deleted == 2);
	CHECK(f->info.size == 4 * total);
	memset(&l, 0, sizeof(l));
	CHECK(mbox_folder_list(m, got_folder, &l) == MBOX_OK);
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.f[i].name, "INBOX") == 0)
			CHECK(l.f[i].info.exists == 4 &&
			    l.f[i].info.unseen == 2 &&
			    l.f[i].info.deleted == 2 &&
			    l.f[i].info.size == 4 * total);
		else if (strcmp(l.f[i].name, "Sent") == 0)
			CHECK(l.f[i].info.exists == 1 &&
			    l.f[i].info.unseen == 0 &&
			    l.f[i].info.uidnext == 2);
		else
			CHECK(l.f[i].info.exists == 0);
	}
	CHECK(mbox_usage(m, &octets, &msgs) == MBOX_OK);
	CHECK(msgs == 5 && octets == 5 * total);
	mbox_close(m);
}

static void
t_reopen(void)
{
	struct mbox_range	 r;
	struct mbox_folder	 f1;
	struct got		 g;
	struct tmsg		 t;
	struct mbox		*m;
	uint64_t		 c;

	m = mopen("reopen");
	CHECK(mbox_folder_create(m, "Keep/Me", SPECIAL_NONE) == MBOX_OK);
	tmsg_init(&t, "persistent", "f", "t", "", "", "durable text", "",
	    BASEDATE, 0);
	add(m, "Keep/Me", &t, MAILFLAG_FLAGGED, "Kw1 kw2");
	f1 = *fget(m, "Keep/Me");
	c = mbox_counter(m);
	mbox_close(m);

	m = mopen("reopen");
	CHECK(mbox_counter(m) == c);
	CHECK(memcmp(fget(m, "Keep/Me"), &f1, sizeof(f1)) == 0);
	memset(&g, 0, sizeof(g));
	r.first = 1;
	r.last = STAR;
	CHECK(mbox_fetch(m, "Keep/Me", &r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK(g.n == 1 && g.flags[0] == MAILFLAG_FLAGGED);
	CHECK_STR(g.kw[0], "Kw1 kw2");
	CHECK_STR(g.env[0], "ENV<persistent>");
	/* The search indexed what the close left unindexed: a write. */
	CHECK(mbox_index_due(m));
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "DURABLE", NULL);
	CHECK_STR(srch(m, "Keep/Me"), "1");
	CHECK(!mbox_index_due(m));
	CHECK(mbox_counter(m) == c + 1);
	CHECK(addsimple(m, "Keep/Me", "next") == 2);
	CHECK(mbox_counter(m) == c + 2);
	mbox_close(m);
}

static void
t_counter(void)
{
	struct mbox_range	 r, none;
	struct mbox_folder	 f;
	struct tmsg		 t;
	struct uids		 u;
	struct got		 g;
	struct mbox		*m;
	uint64_t		 c, o, n;
	char			 path[PATH_MAX];
	int			 fd;

#define STEP(expr, d) do {						\
	c = mbox_counter(m);						\
	CHECK(expr);							\
	CHECK(mbox_counter(m) == c + (d));				\
} while (0)

	m = mopen("counter");
	tmsg_init(&t, "cnt", "f", "t", "", "", "counted", "", BASEDATE, 0);
	r.first = 1;
	r.last = STAR;
	tpath(path, sizeof(path), "counter.out");
	CHECK((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);

	/* Writes: +1 each. */
	STEP(mbox_folder_create(m, "C/D", SPECIAL_NONE) == MBOX_OK, 1);
	STEP(mbox_append(m, "INBOX", &t.b, 0, NULL, NULL, NULL) == MBOX_OK,
	    1);
	STEP(mbox_append(m, "INBOX", &t.b, 0, NULL, NULL, NULL) == MBOX_OK,
	    1);
	STEP(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_DELETED,
	    "x", 0, NULL, NULL, NULL) == MBOX_OK, 1);
	STEP(mbox_copy(m, "INBOX", &r, 1, "C/D", 0, NULL, NULL, NULL) ==
	    MBOX_OK, 1);
	STEP(mbox_copy(m, "C/D", &r, 1, "C", 1, NULL, NULL, NULL) ==
	    MBOX_OK, 1);
	STEP(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK, 1);
	STEP(mbox_folder_subscribe(m, "C", 1) == MBOX_OK, 1);
	STEP(mbox_folder_rename(m, "C", "E") == MBOX_OK, 1);
	STEP(mbox_folder_delete(m, "E/D") == MBOX_OK, 1);
	STEP(mbox_import(m, "imp1", &t.b) == MBOX_OK, 1);
	STEP(mbox_index(m, MBOX_INDEX_MAX, UINT64_MAX, NULL) == MBOX_OK, 1);
	/* Nothing left to index: nothing committed. */
	STEP(mbox_index(m, MBOX_INDEX_MAX, UINT64_MAX, NULL) == MBOX_OK, 0);

	/* Reads: nothing. */
	memset(&g, 0, sizeof(g));
	memset(&u, 0, sizeof(u));
	STEP(mbox_fetch(m, "E", &r, 1, 0, got_msg, &g) == MBOX_OK, 0);
	STEP(mbox_folder_get(m, "E", &f) == MBOX_OK, 0);
	STEP(mbox_folder_list(m, got_folder, &(struct flist){ 0 }) ==
	    MBOX_OK, 0);
	STEP(mbox_body_write(m, "E", 1, fd) == MBOX_OK, 0);
	STEP(strcmp(s1(m, SEARCH_BODY, "counted"), "3") == 0, 0);
	STEP(mbox_vanished(m, "INBOX", 0, got_uid, &u) == MBOX_OK, 0);
	STEP(mbox_usage(m, &o, &n) == MBOX_OK, 0);
	STEP(mbox_import_seen(m, "imp1") == MBOX_OK, 0);

	/* Failed or empty writes: nothing. */
	STEP(mbox_folder_create(m, "E", SPECIAL_NONE) == MBOX_EEXISTS, 0);
	STEP(mbox_folder_subscribe(m, "E", 1) == MBOX_OK, 0);
	STEP(mbox_folder_delete(m, "INBOX") == MBOX_EINVAL, 0);
	STEP(mbox_import(m, "imp1", &t.b) == MBOX_EEXISTS, 0);
	STEP(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK, 0);
	STEP(mbox_store(m, "E", &r, 1, STORE_ADD, MAILFLAG_DELETED, "x", 0,
	    NULL, NULL, NULL) == MBOX_OK, 0);
	STEP(mbox_append(m, "Nope", &t.b, 0, NULL, NULL, NULL) ==
	    MBOX_ENOTFOUND, 0);
	none.first = 50;
	none.last = 60;
	STEP(mbox_copy(m, "INBOX", &none, 1, "E", 0, NULL, NULL, NULL) ==
	    MBOX_OK, 0);
	STEP(mbox_copy(m, "INBOX", &r, 1, "E", 0, NULL, NULL, NULL) ==
	    MBOX_OK, 1);
#undef STEP
	CHECK(close(fd) == 0);
	CHECK(unlink(path) == 0);
	mbox_close(m);
}

static void
t_wrongkey(void)
{
	char		 path[PATH_MAX];
	struct mbox	*m;

	m = mopen("wrongkey");
	addsimple(m, "INBOX", "secret");
	mbox_close(m);
	dbpath(path, sizeof(path), "wrongkey");
	authfails = 0;
	m = (struct mbox *)&m;
	CHECK(mbox_open(path, key2, dbid1, &m) == MBOX_EIO);
	CHECK(m == NULL);
	CHECK(mbox_open(path, key1, dbid2, &m) == MBOX_EIO);
	CHECK(m == NULL);
	CHECK(authfails > 0);
	CHECK(mbox_open(NULL, key1, dbid1, &m) == MBOX_EINVAL);
	/* Still fine with the right key. */
	m = mopen("wrongkey");
	CHECK(fget(m, "INBOX")->info.exists == 1);
	mbox_close(m);
}

/*
 * A damaged page inside the 3 MB body: reading the body fails with
 * MBOX_EIO, never garbage, while FETCH and SEARCH, which must not read
 * bodies, still work.
 */
static void
t_tamper(void)
{
	char		 path[PATH_MAX], out[PATH_MAX];
	unsigned char	*big, c;
	struct stat	 sb;
	struct tmsg	 t;
	struct mbox	*m;
	off_t		 off;
	size_t		 i;
	int		 fd, ofd;

	CHECK((big = malloc(BIGLEN)) != NULL);
	for (i = 0; i < BIGLEN; i++)
		big[i] = (unsigned char)(i * 7);
	m = mopen("tamper");
	tmsg_init(&t, "tampered", "f", "t", "", "", "indexed text", "",
	    BASEDATE, 0);
	t.b.sec[BUNDLE_RAW] = (const char *)big;
	t.b.len[BUNDLE_RAW] = BIGLEN;
	add(m, "INBOX", &t, 0, NULL);
	mbox_close(m);
	free(big);

	dbpath(path, sizeof(path), "tamper");
	CHECK(stat(path, &sb) == 0 && sb.st_size > BIGLEN);
	off = (sb.st_size / 2 / VFS_PAGESIZE) * VFS_PAGESIZE + 1000;
	CHECK((fd = open(path, O_RDWR)) != -1);
	CHECK(pread(fd, &c, 1, off) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	CHECK(close(fd) == 0);

	authfails = 0;
	m = mopen("tamper");
	CHECK_STR(fetchs(m, "INBOX", 1, 1, 0), "1/1");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "tampered"), "1");
	CHECK_STR(s1(m, SEARCH_BODY, "indexed"), "1");
	CHECK(authfails == 0);
	tpath(out, sizeof(out), "tamper.out");
	CHECK((ofd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	CHECK(mbox_body_write(m, "INBOX", 1, ofd) == MBOX_EIO);
	CHECK(authfails > 0);
	CHECK(close(ofd) == 0);
	CHECK(unlink(out) == 0);
	mbox_close(m);
}

static const struct mbox_folder *
lfind(const struct flist *l, const char *name)
{
	int	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->f[i].name, name) == 0)
			return (&l->f[i]);
	return (NULL);
}

/*
 * RFC 3501 6.3.6: DELETE does not remove the subscription.  The name
 * stays subscribed, listed as no folder, until UNSUBSCRIBE or until a
 * folder has the name again (CREATE, a parent made, RENAME onto it).
 * A version 1 database gets the table when opened.
 */
static void
t_subscriptions_rfc3501_6_3_6(void)
{
	struct flist			 l;
	const struct mbox_folder	*f;
	struct mbox			*m;
	uint64_t			 c;

	m = mopen("subs");
	CHECK(mbox_folder_create(m, "Gone", SPECIAL_NONE) == MBOX_OK);
	CHECK(mbox_folder_subscribe(m, "Gone", 1) == MBOX_OK);
	CHECK(mbox_folder_delete(m, "Gone") == MBOX_OK);
	memset(&l, 0, sizeof(l));
	CHECK(mbox_folder_list(m, got_folder, &l) == MBOX_OK);
	CHECK(l.n == 7);
	CHECK((f = lfind(&l, "Gone")) != NULL &&
	    f->info.subscribed == MBOX_SUBSCRIBED_NONEXISTENT &&
	    f->info.uidvalidity == 0);
	CHECK(mbox_folder_get(m, "Gone", &l.f[0]) == MBOX_ENOTFOUND);

	/* A parent made for a child is the folder again, subscribed. */
	CHECK(mbox_folder_create(m, "Gone/Child", SPECIAL_NONE) == MBOX_OK);
	CHECK(fget(m, "Gone")->info.subscribed == 1);
	CHECK(fget(m, "Gone/Child")->info.subscribed == 0);
	memset(&l, 0, sizeof(l));
	CHECK(mbox_folder_list(m, got_folder, &l) == MBOX_OK);
	CHECK(l.n == 8);
	CHECK(mbox_folder_delete(m, "Gone/Child") == MBOX_OK);
	CHECK(mbox_folder_delete(m, "Gone") == MBOX_OK);

	/* UNSUBSCRIBE of the name alone. */
	CHECK(mbox_folder_subscribe(m, "Gone", 0) == MBOX_OK);
	CHECK(mbox_folder_subscribe(m, "Gone", 0) == MBOX_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	CHECK(mbox_folder_list(m, got_folder, &l) == MBOX_OK);
	CHECK(l.n == 6 && lfind(&l, "Gone") == NULL);

	/* RENAME onto a kept name takes its subscription. */
	CHECK(mbox_folder_create(m, "X", SPECIAL_NONE) == MBOX_OK);
	CHECK(mbox_folder_subscribe(m, "X", 1) == MBOX_OK);
	CHECK(mbox_folder_delete(m, "X") == MBOX_OK);
	CHECK(mbox_folder_create(m, "Y", SPECIAL_NONE) == MBOX_OK);
	CHECK(mbox_folder_rename(m, "Y", "X") == MBOX_OK);
	CHECK(fget(m, "X")->info.subscribed == 1);
	memset(&l, 0, sizeof(l));
	CHECK(mbox_folder_list(m, got_folder, &l) == MBOX_OK);
	CHECK(l.n == 7 && lfind(&l, "Y") == NULL);

	/*
	 * Back to version 1: no subscriptions, no part maps, the old
	 * trigger.  Opening upgrades, as a write.
	 */
	CHECK(sqlite3_exec(m->db, mbox_v3_sql, NULL, NULL, NULL) ==
	    SQLITE_OK);
	CHECK(sqlite3_exec(m->db, "DROP TABLE subscriptions;"
	    " DROP TABLE partmaps; DROP TRIGGER messages_ad;"
	    " CREATE TRIGGER messages_ad AFTER DELETE ON messages"
	    " WHEN NOT EXISTS (SELECT 1 FROM messages"
	    " WHERE content_id = old.content_id) BEGIN"
	    " DELETE FROM content WHERE id = old.content_id;"
	    " DELETE FROM blobs WHERE id = old.content_id; END;"
	    " UPDATE meta SET value = 1 WHERE key = 'version'", NULL, NULL,
	    NULL) == SQLITE_OK);
	c = mbox_counter(m);
	mbox_close(m);
	m = mopen("subs");
	CHECK(mbox_counter(m) == c + 1);
	CHECK(mbox_folder_delete(m, "X") == MBOX_OK);
	memset(&l, 0, sizeof(l));
	CHECK(mbox_folder_list(m, got_folder, &l) == MBOX_OK);
	CHECK(l.n == 7 && (f = lfind(&l, "X")) != NULL &&
	    f->info.subscribed == MBOX_SUBSCRIBED_NONEXISTENT);
	mbox_close(m);
}

int
main(void)
{
	mbox_fixture_setup();
	RUN(t_defaults);
	RUN(t_names);
	RUN(t_folders);
	RUN(t_rename_inbox);
	RUN(t_counts);
	RUN(t_reopen);
	RUN(t_counter);
	RUN(t_wrongkey);
	RUN(t_tamper);
	RUN(t_subscriptions_rfc3501_6_3_6);
	mbox_fixture_teardown();
	TEST_EXIT();
}
