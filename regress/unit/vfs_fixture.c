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
 * The encrypting VFS tests' shared set-up and helpers: see vfs_fixture.h.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "../../vaultd/vault_vfs.h"
#include "test.h"
#include "vfs_fixture.h"

char		 tdir[PATH_MAX];
unsigned char	 key1[VFS_KEYLEN], key2[VFS_KEYLEN];
unsigned char	 dbid1[VFS_DBIDLEN], dbid2[VFS_DBIDLEN];
int		 hook_n;
long long	 hook_pgno[MAXHOOK];
char		 hook_kind[MAXHOOK][16];
char		 hook_path[PATH_MAX];

/* snprintf that fails the test instead of truncating. */
void
sfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	CHECK(r >= 0 && (size_t)r < len);
}

void
hook(const char *path, long long pgno, const char *kind)
{
	if (hook_n < MAXHOOK) {
		hook_pgno[hook_n] = pgno;
		strlcpy(hook_kind[hook_n], kind, sizeof(hook_kind[0]));
	}
	strlcpy(hook_path, path, sizeof(hook_path));
	hook_n++;
}

void
hook_reset(void)
{
	hook_n = 0;
	hook_path[0] = '\0';
}

/* Was the hook called with kind (and pgno, unless -1)? */
int
hook_saw(const char *kind, long long pgno)
{
	int	 i;

	for (i = 0; i < hook_n && i < MAXHOOK; i++)
		if (strcmp(hook_kind[i], kind) == 0 &&
		    (pgno == -1 || hook_pgno[i] == pgno))
			return (1);
	return (0);
}

/*
 * A path in the test directory, in one of four rotating buffers: a test
 * keeps at most four at a time.
 */
const char *
P(const char *name)
{
	static char	 buf[4][PATH_MAX];
	static int	 i;

	i = (i + 1) % 4;
	sfmt(buf[i], sizeof(buf[i]), "%s/%s", tdir, name);
	return (buf[i]);
}

void
rm_db(const char *path)
{
	static const char	*sfx[] = { "", "-wal", "-shm", "-journal" };
	char			 p[PATH_MAX];
	size_t			 i;

	for (i = 0; i < nitems(sfx); i++) {
		sfmt(p, sizeof(p), "%s%s", path, sfx[i]);
		if (unlink(p) == -1 && errno != ENOENT)
			CHECK(0);
	}
}

/* Remove a directory and the files in it (one level of subdirectory). */
void
rm_tree(const char *dir)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 p[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sfmt(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

off_t
fsize(const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		return (-1);
	return (st.st_size);
}

unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char	*buf;
	off_t		 sz;
	ssize_t		 n;
	int		 fd;

	CHECK((fd = open(path, O_RDONLY)) != -1);
	CHECK((sz = lseek(fd, 0, SEEK_END)) != -1);
	CHECK((buf = malloc((size_t)sz + 1)) != NULL);
	n = pread(fd, buf, (size_t)sz, 0);
	close(fd);
	CHECK(n == sz);
	*len = (size_t)sz;
	return (buf);
}

void
spit(const char *path, const unsigned char *buf, size_t len)
{
	int	 fd;

	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

void
cp(const char *from, const char *to)
{
	unsigned char	*buf;
	size_t		 len;

	buf = slurp(from, &len);
	spit(to, buf, len);
	free(buf);
}

void
patch(const char *path, off_t off, const unsigned char *buf, size_t len)
{
	int	 fd;

	CHECK((fd = open(path, O_WRONLY)) != -1);
	CHECK(pwrite(fd, buf, len, off) == (ssize_t)len);
	close(fd);
}

void
peek(const char *path, off_t off, unsigned char *buf, size_t len)
{
	int	 fd;

	CHECK((fd = open(path, O_RDONLY)) != -1);
	CHECK(pread(fd, buf, len, off) == (ssize_t)len);
	close(fd);
}

void
flip(const char *path, off_t off)
{
	unsigned char	 c;

	peek(path, off, &c, 1);
	c ^= 0x20;
	patch(path, off, &c, 1);
}

int
file_has(const char *path, const char *tok)
{
	unsigned char	*buf;
	size_t		 len;
	int		 found;

	buf = slurp(path, &len);
	found = memmem(buf, len, tok, strlen(tok)) != NULL;
	free(buf);
	return (found);
}

/* How many regular files in dir contain tok. */
int
dir_has(const char *dir, const char *tok)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 p[PATH_MAX];
	int		 n = 0;

	CHECK((d = opendir(dir)) != NULL);
	while ((de = readdir(d)) != NULL) {
		sfmt(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    file_has(p, tok))
			n++;
	}
	closedir(d);
	return (n);
}

int
ex(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return (sqlite3_extended_errcode(db));
	return (SQLITE_OK);
}

/* First column of the first row; *rc gets the extended result. */
sqlite3_int64
qint(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt	*st;
	sqlite3_int64	 v = -1;
	int		 r;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		*rc = sqlite3_extended_errcode(db);
		return (-1);
	}
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		*rc = SQLITE_OK;
	} else
		*rc = r == SQLITE_DONE ? SQLITE_DONE :
		    sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return (v);
}

/* Is the result of PRAGMA integrity_check just "ok"? */
int
qok(sqlite3 *db, const char *sql)
{
	char	*s;
	int	 ok;

	s = qtext(db, sql);
	ok = s != NULL && strcmp(s, "ok") == 0;
	free(s);
	return (ok);
}

char *
qtext(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	char		*s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return (NULL);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return (s);
}

/* Open with key1/dbid1, which must work. */
sqlite3 *
open1(const char *path)
{
	sqlite3	*db = NULL;

	CHECK(vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) == SQLITE_OK);
	CHECK(db != NULL);
	return (db);
}

/* The same in normal locking mode: a -shm file, several connections. */
sqlite3 *
open1_shared(const char *path)
{
	sqlite3	*db = NULL;

	CHECK(vfs_open_db_shared(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) == SQLITE_OK);
	CHECK(db != NULL);
	return (db);
}

/* Try an open; return its result, closing any connection. */
int
open_rc(const char *path, const unsigned char *k, const unsigned char *id)
{
	sqlite3	*db = NULL;
	int	 rc;

	rc = vfs_open_db(path, k, id, SQLITE_OPEN_READWRITE, &db);
	if (rc != SQLITE_OK)
		CHECK(db == NULL);
	sqlite3_close(db);
	return (rc);
}

/* Rows from..to-1 in m(id, subject, body), tokens made from tag. */
void
fill_rows(sqlite3 *db, int from, int to, const char *tag)
{
	sqlite3_stmt	*st;
	char		 subj[128];
	unsigned char	*body;
	size_t		 blen = 20000, i;
	int		 n;

	CHECK(ex(db, "CREATE TABLE IF NOT EXISTS m(id INTEGER PRIMARY KEY, "
	    "subject TEXT, body BLOB)") == SQLITE_OK);
	CHECK((body = malloc(blen)) != NULL);
	CHECK(sqlite3_prepare_v2(db, "INSERT INTO m VALUES(?, ?, ?)", -1,
	    &st, NULL) == SQLITE_OK);
	for (n = from; n < to; n++) {
		sfmt(subj, sizeof(subj), "%s-subject-%06d", tag, n);
		/* The body spans overflow pages, with the token throughout. */
		for (i = 0; i < blen; i++)
			body[i] = "abcdefghijklmnopqrstuvwxyz"[(i * 7 + n) % 26];
		for (i = 0; i + 64 < blen; i += 3000)
			sfmt((char *)body + i, 64, "%s-body-%06d", tag, n);
		sqlite3_bind_int(st, 1, n);
		sqlite3_bind_text(st, 2, subj, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 3, body, (int)blen, SQLITE_TRANSIENT);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(body);
}

uint32_t
be32(const unsigned char *p)
{
	return (((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

/*
 * The directory, keys and the encrypting VFS for one test program; on a
 * failure the program exits.
 */
void
vfs_fixture_setup(void)
{
	char	 tmpl[] = "/tmp/vfs_test.XXXXXX";

	log_init(1, LOG_MAIL);
	if (sodium_init() == -1 || mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "setup failed\n");
		exit(1);
	}
	strlcpy(tdir, tmpl, sizeof(tdir));
	/* Before SQLite first looks: its temp files go into tdir. */
	setenv("SQLITE_TMPDIR", tdir, 1);
	randombytes_buf(key1, sizeof(key1));
	randombytes_buf(key2, sizeof(key2));
	randombytes_buf(dbid1, sizeof(dbid1));
	randombytes_buf(dbid2, sizeof(dbid2));
	if (vfs_register() != SQLITE_OK) {
		fprintf(stderr, "vfs_register failed\n");
		exit(1);
	}
	vfs_set_authfail_hook(hook);
}


void
vfs_fixture_teardown(void)
{
	rm_tree(tdir);
}
