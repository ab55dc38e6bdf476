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
 * The mailbox store tests' shared set-up and helpers: see mbox_fixture.h.
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
#include "mbox_fixture.h"

char			 tdir[PATH_MAX];
unsigned char		 key1[VFS_KEYLEN], key2[VFS_KEYLEN];
unsigned char		 dbid1[VFS_DBIDLEN], dbid2[VFS_DBIDLEN];
struct search_program	 prog;
char			 outbuf[4096];
int			 authfails;

/*
 * A version 4 mailbox made version 3 again: no backlog table, the
 * triggers that indexed inside the store, FTS5's default automerge.  Its backlog must be empty.
 */
const char		 mbox_v3_sql[] =
	"DROP TRIGGER content_ai; DROP TRIGGER content_ad;"
	" DROP TABLE unindexed;"
	" CREATE TRIGGER content_ai AFTER INSERT ON content BEGIN"
	" INSERT INTO fts (rowid, subject, from_, to_, cc, bcc, headers,"
	" body) VALUES (new.id, new.subject, new.from_, new.to_, new.cc,"
	" new.bcc, new.headers, new.body); END;"
	" CREATE TRIGGER content_ad AFTER DELETE ON content BEGIN"
	" INSERT INTO fts (fts, rowid, subject, from_, to_, cc, bcc,"
	" headers, body) VALUES ('delete', old.id, old.subject, old.from_,"
	" old.to_, old.cc, old.bcc, old.headers, old.body); END;"
	" INSERT INTO fts (fts, rank) VALUES ('automerge', 4);"
	" UPDATE meta SET value = 3 WHERE key = 'version'";

void
quiet_hook(const char *path, long long pgno, const char *kind)
{
	(void)path;
	(void)pgno;
	(void)kind;
	authfails++;
}

void
dbpath(char *buf, size_t len, const char *name)
{
	int	 r;

	r = snprintf(buf, len, "%s/%s.db", tdir, name);
	CHECK(r > 0 && (size_t)r < len);
}

void
tpath(char *buf, size_t len, const char *name)
{
	int	 r;

	r = snprintf(buf, len, "%s/%s", tdir, name);
	CHECK(r > 0 && (size_t)r < len);
}

struct mbox *
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
void
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

uint32_t
add(struct mbox *m, const char *folder, struct tmsg *t, uint32_t flags,
    const char *kw)
{
	uint32_t	 uv = 0, uid = 0;

	CHECK(mbox_append(m, folder, &t->b, flags, kw, &uv, &uid) ==
	    MBOX_OK);
	CHECK(uv != 0 && uid != 0);
	return (uid);
}

uint32_t
addsimple(struct mbox *m, const char *folder, const char *subject)
{
	struct tmsg	 t;

	tmsg_init(&t, subject, "a@example.org", "b@example.org", "", "",
	    "hello", "", BASEDATE, BASEDATE);
	return (add(m, folder, &t, 0, NULL));
}

int
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

int
got_uid(void *arg, uint32_t uid)
{
	struct uids	*u = arg;

	if (u->n >= GOT_MAX * 2)
		return (1);
	u->v[u->n++] = uid;
	return (0);
}

/* "uid/seq,uid/seq" */
const char *
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

const char *
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

const char *
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

void
pr_reset(void)
{
	memset(&prog, 0, sizeof(prog));
}

void
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

const char *
srch(struct mbox *m, const char *folder)
{
	struct uids	 u;

	memset(&u, 0, sizeof(u));
	CHECK(mbox_search(m, folder, &prog, got_uid, &u) == MBOX_OK);
	return (fmt_uids(&u));
}

const char *
s1(struct mbox *m, uint32_t op, const char *str)
{
	pr_reset();
	pr_op(op, 0, 0, str, NULL);
	return (srch(m, "INBOX"));
}

struct mbox_folder *
fget(struct mbox *m, const char *name)
{
	static struct mbox_folder	 f;

	memset(&f, 0, sizeof(f));
	CHECK(mbox_folder_get(m, name, &f) == MBOX_OK);
	return (&f);
}

void
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

/*
 * Keys, the directory and the encrypting VFS for one test program; on a
 * failure the program exits.
 */
void
mbox_fixture_setup(void)
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
		exit(1);
	}
	if (vfs_register() != SQLITE_OK) {
		fprintf(stderr, "vfs_register failed\n");
		rm_tree(tdir);
		exit(1);
	}
	vfs_set_authfail_hook(quiet_hook);
}


void
mbox_fixture_teardown(void)
{
	rm_tree(tdir);
}
