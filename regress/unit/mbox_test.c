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
 * The mailbox store (vault_mbox_*.c) on real encrypted databases in a
 * mkdtemp directory: folders and names, append/fetch with uid and
 * sequence sets, counts, streamed bodies (one and many at once), STORE
 * with CONDSTORE, keywords, COPY/MOVE, EXPUNGE and VANISHED, SEARCH
 * (every key, nested, hostile strings), search_check(), spool import,
 * reopening, the commit counter, a wrong key and a tampered page.
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
#include "test.h"

TEST_GLOBALS;

#define STAR		UINT32_MAX
#define DAY		86400
#define BASEDATE	1704067200	/* 2024-01-01 00:00:00 UTC */
#define GOT_MAX		64
#define BIGLEN		(3 * 1024 * 1024 + 17)

struct tmsg {
	struct bundle	 b;
	char		 raw[4096];
	char		 env[512];
	char		 hdr[2048];
};

struct got {
	int		 n;
	int		 stopafter;
	uint32_t	 uid[GOT_MAX];
	uint32_t	 seq[GOT_MAX];
	uint32_t	 flags[GOT_MAX];
	uint64_t	 modseq[GOT_MAX];
	int64_t		 idate[GOT_MAX];
	uint64_t	 size[GOT_MAX];
	char		 kw[GOT_MAX][256];
	char		 env[GOT_MAX][128];
	int		 meta[GOT_MAX];
};

struct uids {
	int		 n;
	uint32_t	 v[GOT_MAX * 2];
};

struct flist {
	int			 n;
	struct mbox_folder	 f[16];
};

/* What mbox_bodies() gave, checked piece by piece as it came. */
#define BODIES_MAX	16
struct bodies {
	int		 n;
	int		 calls;
	int		 stopcall;	/* stop at this call (1-based), or 0 */
	int		 bad;		/* a piece out of order */
	uint32_t	 uid[BODIES_MAX];
	uint64_t	 size[BODIES_MAX];
	unsigned char	*data[BODIES_MAX];
	uint64_t	 got;		/* bytes of the current message */
};

struct drain {
	int		 fd;
	unsigned char	*buf;
	size_t		 cap;
	size_t		 len;
	int		 err;
};

static char			 tdir[PATH_MAX];
static unsigned char		 key1[VFS_KEYLEN], key2[VFS_KEYLEN];
static unsigned char		 dbid1[VFS_DBIDLEN], dbid2[VFS_DBIDLEN];
static struct search_program	 prog;
static char			 outbuf[4096];
static int			 authfails;

static void	 quiet_hook(const char *, long long, const char *);
static void	 dbpath(char *, size_t, const char *);
static void	 tpath(char *, size_t, const char *);
static struct mbox *mopen(const char *);
static void	 tmsg_init(struct tmsg *, const char *, const char *,
		    const char *, const char *, const char *, const char *,
		    const char *, int64_t, int64_t);
static uint32_t	 add(struct mbox *, const char *, struct tmsg *, uint32_t,
		    const char *);
static uint32_t	 addsimple(struct mbox *, const char *, const char *);
static struct mbox *search_box(const char *);
static int	 got_msg(void *, const struct mbox_msg *);
static int	 got_uid(void *, uint32_t);
static int	 got_pair(void *, uint32_t, uint32_t);
static int	 got_folder(void *, const struct mbox_folder *);
static int	 got_chunk(void *, uint32_t, uint64_t, uint64_t, const void *,
		    size_t);
static void	 bodies_reset(struct bodies *);
static int	 bodies(struct mbox *, const char *, const struct mbox_range *,
		    size_t, uint64_t, struct bodies *, uint32_t *, uint32_t *);
static const char *fmt_bodies(const struct bodies *);
static const char *fmt_got(const struct got *);
static const char *fmt_uids(const struct uids *);
static const char *fetchs(struct mbox *, const char *, uint32_t, uint32_t,
		    int);
static void	 pr_reset(void);
static void	 pr_op(uint32_t, uint64_t, uint64_t, const char *,
		    const char *);
static const char *srch(struct mbox *, const char *);
static const char *s1(struct mbox *, uint32_t, const char *);
static struct mbox_folder *fget(struct mbox *, const char *);
static void	*drain_run(void *);
static int64_t	 rawcount(const char *, const char *);
static void	 rm_tree(const char *);

static void	 t_defaults(void);
static void	 t_names(void);
static void	 t_folders(void);
static void	 t_rename_inbox(void);
static void	 t_append_fetch(void);
static void	 t_fetch_seq(void);
static void	 t_counts(void);
static void	 t_body(void);
static void	 t_bodies(void);
static void	 t_store(void);
static void	 t_condstore(void);
static void	 t_keywords(void);
static void	 t_copy_move(void);
static void	 t_shared_cleanup(void);
static void	 t_expunge(void);
static void	 t_search(void);
static void	 t_search_strings(void);
static void	 t_search_check(void);
static void	 t_import(void);
static void	 t_reopen(void);
static void	 t_counter(void);
static void	 t_wrongkey(void);
static void	 t_tamper(void);

static void
quiet_hook(const char *path, long long pgno, const char *kind)
{
	(void)path;
	(void)pgno;
	(void)kind;
	authfails++;
}

static void
dbpath(char *buf, size_t len, const char *name)
{
	int	 r;

	r = snprintf(buf, len, "%s/%s.db", tdir, name);
	CHECK(r > 0 && (size_t)r < len);
}

static void
tpath(char *buf, size_t len, const char *name)
{
	int	 r;

	r = snprintf(buf, len, "%s/%s", tdir, name);
	CHECK(r > 0 && (size_t)r < len);
}

static struct mbox *
mopen(const char *name)
{
	char		 path[PATH_MAX];
	struct mbox	*m = NULL;

	dbpath(path, sizeof(path), name);
	CHECK(mbox_open(path, key1, dbid1, &m) == MBOX_OK);
	CHECK(m != NULL);
	return (m);
}

/*
 * A message as a front would hand it over.  The sections point into
 * larger buffers and are not NUL-terminated where they end.
 */
static void
tmsg_init(struct tmsg *t, const char *subject, const char *from,
    const char *to, const char *cc, const char *extra, const char *body,
    const char *bcc, int64_t idate, int64_t sdate)
{
	int	 r;

	memset(t, 0, sizeof(*t));
	r = snprintf(t->hdr, sizeof(t->hdr), "Subject: %s\nFrom: %s\n"
	    "To: %s\n%s%s%s%s%s", subject, from, to,
	    cc[0] != '\0' ? "Cc: " : "", cc, cc[0] != '\0' ? "\n" : "",
	    extra, "#trailing garbage not in the section");
	CHECK(r > 0 && (size_t)r < sizeof(t->hdr));
	t->b.sec[BUNDLE_HEADERS] = t->hdr;
	t->b.len[BUNDLE_HEADERS] = strlen(t->hdr) -
	    strlen("#trailing garbage not in the section");
	r = snprintf(t->raw, sizeof(t->raw), "Subject: %s\r\nFrom: %s\r\n"
	    "To: %s\r\n\r\n%s\r\n", subject, from, to, body);
	CHECK(r > 0 && (size_t)r < sizeof(t->raw));
	t->b.sec[BUNDLE_RAW] = t->raw;
	t->b.len[BUNDLE_RAW] = (size_t)r;
	r = snprintf(t->env, sizeof(t->env), "ENV<%s>XXXX", subject);
	CHECK(r > 4 && (size_t)r < sizeof(t->env));
	t->b.sec[BUNDLE_ENVELOPE] = t->env;
	t->b.len[BUNDLE_ENVELOPE] = (size_t)r - 4;
	t->b.sec[BUNDLE_BODYSTRUCTURE] = "(\"text\" \"plain\")trailing";
	t->b.len[BUNDLE_BODYSTRUCTURE] = 16;
	t->b.sec[BUNDLE_SUBJECT] = subject;
	t->b.len[BUNDLE_SUBJECT] = strlen(subject);
	t->b.sec[BUNDLE_FROM] = from;
	t->b.len[BUNDLE_FROM] = strlen(from);
	t->b.sec[BUNDLE_TO] = to;
	t->b.len[BUNDLE_TO] = strlen(to);
	t->b.sec[BUNDLE_CC] = cc;
	t->b.len[BUNDLE_CC] = strlen(cc);
	t->b.sec[BUNDLE_BCC] = bcc;
	t->b.len[BUNDLE_BCC] = strlen(bcc);
	t->b.sec[BUNDLE_MESSAGEID] = "<id@test>";
	t->b.len[BUNDLE_MESSAGEID] = 9;
	t->b.sec[BUNDLE_TEXT] = body;
	t->b.len[BUNDLE_TEXT] = strlen(body);
	t->b.internaldate = idate;
	t->b.sentdate = sdate;
}

static uint32_t
add(struct mbox *m, const char *folder, struct tmsg *t, uint32_t flags,
    const char *kw)
{
	uint32_t	 uv = 0, uid = 0;

	CHECK(mbox_append(m, folder, &t->b, flags, kw, &uv, &uid) ==
	    MBOX_OK);
	CHECK(uv != 0 && uid != 0);
	return (uid);
}

static uint32_t
addsimple(struct mbox *m, const char *folder, const char *subject)
{
	struct tmsg	 t;

	tmsg_init(&t, subject, "a@example.org", "b@example.org", "", "",
	    "hello", "", BASEDATE, BASEDATE);
	return (add(m, folder, &t, 0, NULL));
}

static int
got_msg(void *arg, const struct mbox_msg *msg)
{
	struct got	*g = arg;
	int		 i;

	if (g->n >= GOT_MAX)
		return (1);
	i = g->n++;
	g->uid[i] = msg->uid;
	g->seq[i] = msg->seq;
	g->flags[i] = msg->flags;
	g->modseq[i] = msg->modseq;
	g->idate[i] = msg->internaldate;
	g->size[i] = msg->size;
	(void)strlcpy(g->kw[i], msg->keywords, sizeof(g->kw[i]));
	g->meta[i] = msg->envelope != NULL && msg->bodystructure != NULL;
	if (msg->envelope != NULL)
		(void)strlcpy(g->env[i], msg->envelope, sizeof(g->env[i]));
	return (g->stopafter != 0 && g->n >= g->stopafter);
}

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

static int
got_uid(void *arg, uint32_t uid)
{
	struct uids	*u = arg;

	if (u->n >= GOT_MAX * 2)
		return (1);
	u->v[u->n++] = uid;
	return (0);
}

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

static int
got_folder(void *arg, const struct mbox_folder *f)
{
	struct flist	*l = arg;

	if (l->n >= 16)
		return (1);
	l->f[l->n++] = *f;
	return (0);
}

/* "uid/seq,uid/seq" */
static const char *
fmt_got(const struct got *g)
{
	char	 one[32];
	int	 i;

	outbuf[0] = '\0';
	for (i = 0; i < g->n; i++) {
		(void)snprintf(one, sizeof(one), "%s%u/%u", i ? "," : "",
		    g->uid[i], g->seq[i]);
		(void)strlcat(outbuf, one, sizeof(outbuf));
	}
	return (outbuf);
}

static const char *
fmt_uids(const struct uids *u)
{
	char	 one[16];
	int	 i;

	outbuf[0] = '\0';
	for (i = 0; i < u->n; i++) {
		(void)snprintf(one, sizeof(one), "%s%u", i ? "," : "",
		    u->v[i]);
		(void)strlcat(outbuf, one, sizeof(outbuf));
	}
	return (outbuf);
}

static const char *
fetchs(struct mbox *m, const char *folder, uint32_t a, uint32_t b, int how)
{
	struct mbox_range	 r;
	static struct got	 g;

	memset(&g, 0, sizeof(g));
	r.first = a;
	r.last = b;
	CHECK(mbox_fetch(m, folder, &r, 1, how, got_msg, &g) == MBOX_OK);
	return (fmt_got(&g));
}

static void
pr_reset(void)
{
	memset(&prog, 0, sizeof(prog));
}

static void
pr_op(uint32_t op, uint64_t num, uint64_t num2, const char *str,
    const char *str2)
{
	struct search_op_s	*o;

	CHECK(prog.nops < SEARCH_MAX_OPS);
	o = &prog.ops[prog.nops++];
	o->op = op;
	o->num = num;
	o->num2 = num2;
	if (str != NULL)
		CHECK(strlcpy(o->str, str, sizeof(o->str)) < sizeof(o->str));
	if (str2 != NULL)
		CHECK(strlcpy(o->str2, str2, sizeof(o->str2)) <
		    sizeof(o->str2));
}

static const char *
srch(struct mbox *m, const char *folder)
{
	struct uids	 u;

	memset(&u, 0, sizeof(u));
	CHECK(mbox_search(m, folder, &prog, got_uid, &u) == MBOX_OK);
	return (fmt_uids(&u));
}

static const char *
s1(struct mbox *m, uint32_t op, const char *str)
{
	pr_reset();
	pr_op(op, 0, 0, str, NULL);
	return (srch(m, "INBOX"));
}

static struct mbox_folder *
fget(struct mbox *m, const char *name)
{
	static struct mbox_folder	 f;

	memset(&f, 0, sizeof(f));
	CHECK(mbox_folder_get(m, name, &f) == MBOX_OK);
	return (&f);
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
rm_tree(const char *dir)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		(void)unlink(path);
	}
	(void)closedir(d);
	(void)rmdir(dir);
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

	/* Copy within one folder; move to itself refused. */
	memset(&u, 0, sizeof(u));
	r.first = 1;
	r.last = STAR;
	CHECK(mbox_copy(m, "INBOX", &r, 1, "inbox", 0, got_pair, &u, &uv) ==
	    MBOX_OK);
	CHECK_STR(fmt_uids(&u), "3,4");
	CHECK(mbox_copy(m, "INBOX", &r, 1, "INBOX", 1, NULL, NULL, &uv) ==
	    MBOX_EINVAL);
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

/*
 * The search mailbox: uid 1 is expunged first, so uids 2..8 are
 * sequence numbers 1..7.
 */
static struct mbox *
search_box(const char *name)
{
	struct mbox_range	 r;
	struct tmsg		 t;
	struct mbox		*m;

	m = mopen(name);
	addsimple(m, "INBOX", "gone");
	r.first = r.last = 1;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_DELETED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);

	/* uid 2 */
	tmsg_init(&t, "Quarterly report", "Alice <alice@example.org>",
	    "bob@example.net", "", "X-Priority: 1\nX-Bench-Run: abc123\n",
	    "the budget numbers for Q3", "", BASEDATE + 1 * DAY + 10,
	    BASEDATE + 1 * DAY - 3600);
	add(m, "INBOX", &t, MAILFLAG_SEEN, "$Important");
	/* uid 3 */
	tmsg_init(&t, "Re: Lunch?", "bob@example.net", "alice@example.org",
	    "carol@example.com", "X-Bench-Run: def456\n"
	    "X-Long: first part\n second part\n", "pizza at 12",
	    "dave@hidden.example", BASEDATE + 2 * DAY + 10, 0);
	add(m, "INBOX", &t, MAILFLAG_SEEN | MAILFLAG_FLAGGED, "work");
	/* uid 4 */
	tmsg_init(&t, "100% discount_now", "shop@spam.example", "x@y.z", "",
	    "", "50%_off back\\slash and \"quoted\" words", "",
	    BASEDATE + 3 * DAY + 10, BASEDATE + 3 * DAY);
	add(m, "INBOX", &t, 0, NULL);
	/* uid 5 */
	tmsg_init(&t, "Grüße aus München", "jörg@example.de", "x@y.z", "", "",
	    "ÄÖÜ straße 日本語のテキスト", "", BASEDATE + 4 * DAY + 10,
	    BASEDATE + 4 * DAY);
	add(m, "INBOX", &t, MAILFLAG_DELETED, "Work $Later");
	/* uid 6 */
	tmsg_init(&t, "NEAR(a b) OR * ^start (paren) {subject}: x",
	    "ops@example.org", "x@y.z", "", "",
	    "AND OR NOT \"phrase\" col:val", "", BASEDATE + 5 * DAY + 10,
	    BASEDATE + 5 * DAY);
	add(m, "INBOX", &t, MAILFLAG_DRAFT, NULL);
	/* uid 7 */
	tmsg_init(&t, "ab", "z@z", "x@y.z", "", "", "x", "",
	    BASEDATE + 6 * DAY + 10, BASEDATE + 6 * DAY);
	add(m, "INBOX", &t, MAILFLAG_ANSWERED, NULL);
	/* uid 8: a large one */
	tmsg_init(&t, "big one", "z@z", "x@y.z", "", "",
	    "padding padding padding padding padding padding padding "
	    "padding padding padding padding padding padding padding "
	    "padding padding padding padding padding padding padding", "",
	    BASEDATE + 7 * DAY + 10, BASEDATE + 7 * DAY);
	add(m, "INBOX", &t, 0, NULL);
	return (m);
}

static void
t_search(void)
{
	struct mbox	*m;
	uint64_t	 hms;

	m = search_box("search");
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3,4,5,6,7,8");
	CHECK_STR(srch(m, "Sent"), "");

	/* Flags and keywords. */
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_SEEN, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3");
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_SEEN | MAILFLAG_FLAGGED, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "3");
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,4,5,6,7,8");
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_DELETED, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "5");
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_DRAFT, 0, NULL, NULL);
	pr_op(SEARCH_FLAG, MAILFLAG_ANSWERED, 0, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "6,7");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "work"), "3,5");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "WORK"), "3,5");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "$important"), "2");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "wor"), "");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "Work $Later"), "");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "%"), "");

	/* Uid and sequence ranges, "*" included. */
	pr_reset();
	pr_op(SEARCH_UID_RANGE, 3, 5, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "3,4,5");
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 3, 5, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "4,5,6");
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 7, STAR, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");
	pr_reset();
	pr_op(SEARCH_UID_RANGE, 20, STAR, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 1, 1, NULL, NULL);
	pr_op(SEARCH_UID_RANGE, 2, 2, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");

	/* Sizes. */
	pr_reset();
	pr_op(SEARCH_LARGER, 200, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");
	pr_reset();
	pr_op(SEARCH_SMALLER, 60, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "7");
	pr_reset();
	pr_op(SEARCH_LARGER, UINT64_MAX, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "");

	/* Internal dates: day boundaries as the front computes them. */
	pr_reset();
	pr_op(SEARCH_BEFORE, BASEDATE + 3 * DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3");
	pr_reset();
	pr_op(SEARCH_ON, BASEDATE + 3 * DAY, BASEDATE + 4 * DAY, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "4");
	pr_reset();
	pr_op(SEARCH_SINCE, BASEDATE + 6 * DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "7,8");
	/* Sent dates: uid 2 was sent the day before; uid 3 has none. */
	pr_reset();
	pr_op(SEARCH_SENTON, BASEDATE, BASEDATE + DAY, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_SENTBEFORE, BASEDATE + DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_SENTON, BASEDATE + 2 * DAY, BASEDATE + 3 * DAY, NULL,
	    NULL);
	CHECK_STR(srch(m, "INBOX"), "3");
	pr_reset();
	pr_op(SEARCH_SENTSINCE, BASEDATE + 7 * DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");

	/* MODSEQ. */
	hms = fget(m, "INBOX")->info.highestmodseq;
	pr_reset();
	pr_op(SEARCH_MODSEQ, hms - 1, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "7,8");
	pr_reset();
	pr_op(SEARCH_MODSEQ, hms + 1, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "");

	/* Address and header fields. */
	CHECK_STR(s1(m, SEARCH_FROM, "alice"), "2");
	CHECK_STR(s1(m, SEARCH_TO, "ALICE@"), "3");
	CHECK_STR(s1(m, SEARCH_CC, "carol"), "3");
	CHECK_STR(s1(m, SEARCH_BCC, "dave"), "3");
	CHECK_STR(s1(m, SEARCH_BCC, "alice"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "abc123", "X-Bench-Run");
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "", "x-bench-run");
	CHECK_STR(srch(m, "INBOX"), "2,3");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "1", "X-Priority");
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "abc", "X-Bench");
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "abc123", "X-Priority");
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "LUNCH", "subject");
	CHECK_STR(srch(m, "INBOX"), "3");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "second part", "X-Long");
	CHECK_STR(srch(m, "INBOX"), "3");

	/* Body and text. */
	CHECK_STR(s1(m, SEARCH_BODY, "budget"), "2");
	CHECK_STR(s1(m, SEARCH_BODY, "PIZZA"), "3");
	CHECK_STR(s1(m, SEARCH_BODY, "alice"), "");
	CHECK_STR(s1(m, SEARCH_TEXT, "alice"), "2,3");
	CHECK_STR(s1(m, SEARCH_TEXT, "pizza"), "3");
	CHECK_STR(s1(m, SEARCH_TEXT, "def456"), "3");

	/* Nesting: (SEEN AND NOT SUBJECT lunch) OR (KEYWORD work AND
	 * NOT DELETED) -> 2 or 3. */
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_SEEN, 0, NULL, NULL);
	pr_op(SEARCH_SUBJECT, 0, 0, "lunch", NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	pr_op(SEARCH_KEYWORD, 0, 0, "work", NULL);
	pr_op(SEARCH_FLAG, MAILFLAG_DELETED, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3");
	/* NOT (NOT (BODY "at") OR SEQ 2:7) AND ALL -> 2 ("at" short). */
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "at", NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_SEQ_RANGE, 2, 7, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "er", NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_SEQ_RANGE, 3, 7, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");

	/* Bad programs and folders. */
	pr_reset();
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK(mbox_search(m, "INBOX", &prog, got_uid, NULL) == MBOX_EINVAL);
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(mbox_search(m, "Nope", &prog, got_uid, NULL) ==
	    MBOX_ENOTFOUND);
	CHECK(mbox_search(m, "INBOX", NULL, got_uid, NULL) == MBOX_EINVAL);
	mbox_close(m);
}

static void
t_search_strings(void)
{
	struct mbox	*m;

	m = search_box("strings");
	/* Case-insensitive substrings through the index. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "quarterly"), "2");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "QUARTERLY REPORT"), "2");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "rterly rep"), "2");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "Quarterly  report"), "");
	/* Short strings: LIKE, with its wildcards escaped. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "re"), "2,3,6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "AB"), "7");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "%"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "_"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "%_"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "\\"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "12"), "3");
	CHECK_STR(s1(m, SEARCH_BODY, "x"), "7");
	CHECK_STR(s1(m, SEARCH_TEXT, "Q3"), "2");
	CHECK_STR(s1(m, SEARCH_FROM, "ö"), "5");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "?"), "3");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "'"), "");
	/* Wildcards and quotes in longer strings: literal. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "100% discount_now"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "0% d"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "%%%"), "");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "___"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "_off"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "k\\sl"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "\"quoted\""), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "and \"quo"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "\""), "4,6");
	CHECK_STR(s1(m, SEARCH_BODY, "\"\""), "");
	/* FTS5 syntax is text. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "NEAR(a b)"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "OR * ^start"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "(paren)"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "{subject}:"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "^start"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "*"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "NEAR"), "6");
	CHECK_STR(s1(m, SEARCH_BODY, "AND OR NOT"), "6");
	CHECK_STR(s1(m, SEARCH_BODY, "col:val"), "6");
	CHECK_STR(s1(m, SEARCH_BODY, "OR"), "2,4,6");
	/* Injection attempts match nothing. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "a\" OR \"b"), "");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "\" OR subject:*"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "')) OR 1=1 --"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "%' OR '1'='1"), "");
	CHECK_STR(s1(m, SEARCH_TEXT, "* OR *"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "\" OR \"", "X-Bench-Run");
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "%", "X-Bench-Run");
	CHECK_STR(srch(m, "INBOX"), "");
	/* UTF-8: the index folds Unicode case, LIKE only ASCII. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "MÜNCHEN"), "5");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "grüße"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "äöü"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "日本語"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "語"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "テキスト"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "ß"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "\xf0\x9f\x98\x80"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b"),
	    "");
	/* Invalid UTF-8 from a hostile front: no match, no error. */
	CHECK_STR(s1(m, SEARCH_BODY, "\xff\xfe\xfd"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "\xc3"), "");
	mbox_close(m);
}

static void
t_search_check(void)
{
	struct search_program	*p = &prog;
	int			 i;

	/* Valid ones first. */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(search_check(p) == 0);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "", "X-Any");
	CHECK(search_check(p) == 0);
	pr_reset();
	for (i = 0; i < 32; i++)
		pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	for (i = 0; i < 31; i++)
		pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK(p->nops == SEARCH_MAX_OPS && search_check(p) == 0);

	CHECK(search_check(NULL) == -1);
	pr_reset();
	CHECK(search_check(p) == -1);			/* no ops */
	p->nops = SEARCH_MAX_OPS + 1;
	CHECK(search_check(p) == -1);			/* too many */
	pr_reset();
	pr_op(SEARCH_OP_MAX, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* bad op */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* underflow */
	pr_reset();
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* underflow */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* leftover */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "x", NULL);
	memset(p->ops[0].str, 'a', sizeof(p->ops[0].str));
	CHECK(search_check(p) == -1);			/* unterminated */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	memset(p->ops[0].str2, 'a', sizeof(p->ops[0].str2));
	CHECK(search_check(p) == -1);			/* unterminated */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "", NULL);
	CHECK(search_check(p) == -1);			/* empty string */
	pr_reset();
	pr_op(SEARCH_KEYWORD, 0, 0, "", NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_TEXT, 0, 0, "", NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "");
	CHECK(search_check(p) == -1);			/* no field */
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "Bad:Name");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "Bad Name");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "Bad\001");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "B\xc3\xa4" "d");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_UID_RANGE, 5, 4, NULL, NULL);
	CHECK(search_check(p) == -1);			/* reversed */
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 5, 4, NULL, NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_ON, 10, 9, NULL, NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_FLAG, 0x20, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* unknown flag */
	pr_reset();
	for (i = 0; i < SEARCH_MAX_OPS; i++)
		pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);
}

static void
t_import(void)
{
	struct tmsg	 t;
	struct mbox	*m;
	uint64_t	 c;

	m = mopen("import");
	tmsg_init(&t, "spooled", "f", "t", "", "", "from the spool", "",
	    BASEDATE, 0);
	CHECK(mbox_import_seen(m, "0123abcd.msg") == MBOX_ENOTFOUND);
	c = mbox_counter(m);
	CHECK(mbox_import(m, "0123abcd.msg", &t.b) == MBOX_OK);
	CHECK(mbox_counter(m) == c + 1);
	CHECK(mbox_import(m, "0123abcd.msg", &t.b) == MBOX_EEXISTS);
	CHECK(mbox_counter(m) == c + 1);
	CHECK(mbox_import_seen(m, "0123abcd.msg") == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.exists == 1);
	CHECK(fget(m, "INBOX")->info.unseen == 1);
	CHECK(mbox_import(m, "other", &t.b) == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.exists == 2);
	CHECK_STR(s1(m, SEARCH_BODY, "spool"), "1,2");
	CHECK(mbox_import(m, "", &t.b) == MBOX_EINVAL);
	CHECK(mbox_import(m, "a b", &t.b) == MBOX_EINVAL);
	CHECK(mbox_import(m, "x", NULL) == MBOX_EINVAL);
	CHECK(mbox_import_seen(m, NULL) == MBOX_EINVAL);
	mbox_close(m);
	m = mopen("import");
	CHECK(mbox_import(m, "0123abcd.msg", &t.b) == MBOX_EEXISTS);
	CHECK(fget(m, "INBOX")->info.exists == 2);
	mbox_close(m);
}

/* Imports in one transaction: all or nothing, each failure its own. */
static void
t_import_batch(void)
{
	struct tmsg	 t;
	struct mbox	*m;
	uint64_t	 c;

	m = mopen("batch");
	tmsg_init(&t, "batched", "f", "t", "", "", "from the spool", "",
	    BASEDATE, 0);
	c = mbox_counter(m);
	CHECK(mbox_import_commit(m) == MBOX_EINVAL);	/* none open */
	CHECK(mbox_import_begin(m) == MBOX_OK);
	CHECK(mbox_import_begin(m) == MBOX_EINVAL);	/* one at a time */
	CHECK(mbox_import(m, "a", &t.b) == MBOX_OK);
	CHECK(mbox_import(m, "a", &t.b) == MBOX_EEXISTS); /* only itself */
	CHECK(mbox_import(m, "a b", &t.b) == MBOX_EINVAL);
	CHECK(mbox_import(m, "b", &t.b) == MBOX_OK);
	mbox_import_abort(m);
	CHECK(mbox_counter(m) == c);
	CHECK(fget(m, "INBOX")->info.exists == 0);
	CHECK(mbox_import_seen(m, "a") == MBOX_ENOTFOUND);

	CHECK(mbox_import_begin(m) == MBOX_OK);
	CHECK(mbox_import(m, "a", &t.b) == MBOX_OK);
	CHECK(mbox_import(m, "a", &t.b) == MBOX_EEXISTS);
	CHECK(mbox_import(m, "b", &t.b) == MBOX_OK);
	CHECK(mbox_import_commit(m) == MBOX_OK);
	CHECK(mbox_counter(m) == c + 1);		/* one commit */
	CHECK(fget(m, "INBOX")->info.exists == 2);
	CHECK(mbox_import_seen(m, "b") == MBOX_OK);
	/* A batch with nothing new commits nothing. */
	CHECK(mbox_import_begin(m) == MBOX_OK);
	CHECK(mbox_import(m, "b", &t.b) == MBOX_EEXISTS);
	CHECK(mbox_import_commit(m) == MBOX_OK);
	CHECK(mbox_counter(m) == c + 1);
	mbox_close(m);
	m = mopen("batch");
	CHECK(fget(m, "INBOX")->info.exists == 2);
	CHECK_STR(s1(m, SEARCH_BODY, "spool"), "1,2");
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
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "DURABLE", NULL);
	CHECK_STR(srch(m, "Keep/Me"), "1");
	CHECK(addsimple(m, "Keep/Me", "next") == 2);
	CHECK(mbox_counter(m) == c + 1);
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

int
main(void)
{
	size_t	 i;

	log_init(1, LOG_MAIL);
	/* A watchdog: the whole run must finish. */
	alarm(120);
	for (i = 0; i < sizeof(key1); i++) {
		key1[i] = (unsigned char)(i + 1);
		key2[i] = (unsigned char)(i + 2);
	}
	for (i = 0; i < sizeof(dbid1); i++) {
		dbid1[i] = (unsigned char)(0xa0 + i);
		dbid2[i] = (unsigned char)(0xb0 + i);
	}
	(void)snprintf(tdir, sizeof(tdir), "/tmp/mbox_test.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	if (vfs_register() != SQLITE_OK) {
		fprintf(stderr, "vfs_register failed\n");
		rm_tree(tdir);
		return (1);
	}
	vfs_set_authfail_hook(quiet_hook);

	RUN(t_defaults);
	RUN(t_names);
	RUN(t_folders);
	RUN(t_rename_inbox);
	RUN(t_append_fetch);
	RUN(t_fetch_seq);
	RUN(t_changedsince);
	RUN(t_counts);
	RUN(t_body);
	RUN(t_bodies);
	RUN(t_store);
	RUN(t_condstore);
	RUN(t_keywords);
	RUN(t_copy_move);
	RUN(t_shared_cleanup);
	RUN(t_expunge);
	RUN(t_search);
	RUN(t_search_strings);
	RUN(t_search_check);
	RUN(t_import);
	RUN(t_import_batch);
	RUN(t_reopen);
	RUN(t_counter);
	RUN(t_wrongkey);
	RUN(t_tamper);

	rm_tree(tdir);
	TEST_EXIT();
}
