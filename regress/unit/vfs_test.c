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
 * The encrypting VFS, against real files in a mkdtemp directory: round
 * trips, no plaintext at rest (database, WAL, journal, temp files),
 * tamper detection, WAL checksum masking, crash durability with
 * SIGKILL (mid-transaction, mid-checkpoint, rollback journal), the
 * page-1 guard, mmap refusal and the key registry.
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

TEST_GLOBALS;

#define PAGE		4096
#define FRAME		4120
#define WALHDR		32
#define MAXHOOK		64
#define WAIT_MS		20000

/* Child -> parent messages besides acknowledgements (> 0). */
#define MSG_BIGTXN	(-1)
#define MSG_CKPT	(-2)
#define MSG_CKPTDONE	(-3)

static char		 tdir[PATH_MAX];
static unsigned char	 key1[VFS_KEYLEN], key2[VFS_KEYLEN];
static unsigned char	 dbid1[VFS_DBIDLEN], dbid2[VFS_DBIDLEN];

static int		 hook_n;
static long long	 hook_pgno[MAXHOOK];
static char		 hook_kind[MAXHOOK][16];
static char		 hook_path[PATH_MAX];

static void	 sfmt(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static void	 hook(const char *, long long, const char *);
static void	 hook_reset(void);
static int	 hook_saw(const char *, long long);
static const char *P(const char *);
static void	 rm_db(const char *);
static void	 rm_tree(const char *);
static off_t	 fsize(const char *);
static unsigned char *slurp(const char *, size_t *);
static void	 spit(const char *, const unsigned char *, size_t);
static void	 cp(const char *, const char *);
static void	 patch(const char *, off_t, const unsigned char *, size_t);
static void	 peek(const char *, off_t, unsigned char *, size_t);
static void	 flip(const char *, off_t);
static int	 file_has(const char *, const char *);
static int	 dir_has(const char *, const char *);
static int	 fd_has(int, const char *, off_t *);
static int	 ex(sqlite3 *, const char *);
static sqlite3_int64 qint(sqlite3 *, const char *, int *);
static int	 qok(sqlite3 *, const char *);
static char	*qtext(sqlite3 *, const char *);
static sqlite3	*open1(const char *);
static int	 open_rc(const char *, const unsigned char *,
		    const unsigned char *);
static void	 fill_rows(sqlite3 *, int, int, const char *);
static uint32_t	 be32(const unsigned char *);
static void	 cksum(int, const unsigned char *, size_t, uint32_t *,
		    uint32_t *);
static int	 wait_msg(int, int *, int);
static void	 send_msg(int, int);
static void	 reap(pid_t);
static int	 temp_scan(const char *, off_t *);
static void	 make_ab(const char *, const unsigned char *, sqlite3_int64 *,
		    sqlite3_int64 *);
static void	 expect_a_bad(const char *, sqlite3_int64, int);
static int	 wal_variant(const char *, const char *, off_t, int *);
static int	 sort_spill(sqlite3 *, off_t *);
static __dead void wal_child(const char *);
static __dead void crash_child(const char *, int, int, int);
static __dead void rewrite_child(const char *);
static __dead void ckpt_child(const char *, int);
static __dead void jrnl_child(const char *, int, int);

static void	 t_basic(void);
static void	 t_fts5(void);
static void	 t_no_plaintext(void);
static void	 t_wrong_key(void);
static void	 t_tamper_page(void);
static void	 t_swap_transplant(void);
static void	 t_wal_mask(void);
static void	 t_wal_tamper(void);
static void	 t_wal_page_read(void);
static void	 t_wal_rewrite(void);
static void	 t_crash_wal(void);
static void	 t_crash_wal_restart(void);
static void	 t_crash_checkpoint(void);
static void	 t_crash_journal(void);
static void	 t_journal_nosync(void);
static void	 t_page1_guard(void);
static void	 t_bad_io(void);
static void	 t_temp_files(void);
static void	 t_mmap(void);
static void	 t_registry(void);
static void	 t_odd_path(void);
static void	 t_vacuum_into(void);

/*
 * Helpers.
 */

/* snprintf that fails the test instead of truncating. */
static void
sfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	CHECK(r >= 0 && (size_t)r < len);
}

static void
hook(const char *path, long long pgno, const char *kind)
{
	if (hook_n < MAXHOOK) {
		hook_pgno[hook_n] = pgno;
		strlcpy(hook_kind[hook_n], kind, sizeof(hook_kind[0]));
	}
	strlcpy(hook_path, path, sizeof(hook_path));
	hook_n++;
}

static void
hook_reset(void)
{
	hook_n = 0;
	hook_path[0] = '\0';
}

/* Was the hook called with kind (and pgno, unless -1)? */
static int
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
static const char *
P(const char *name)
{
	static char	 buf[4][PATH_MAX];
	static int	 i;

	i = (i + 1) % 4;
	sfmt(buf[i], sizeof(buf[i]), "%s/%s", tdir, name);
	return (buf[i]);
}

static void
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
static void
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

static off_t
fsize(const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		return (-1);
	return (st.st_size);
}

static unsigned char *
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

static void
spit(const char *path, const unsigned char *buf, size_t len)
{
	int	 fd;

	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static void
cp(const char *from, const char *to)
{
	unsigned char	*buf;
	size_t		 len;

	buf = slurp(from, &len);
	spit(to, buf, len);
	free(buf);
}

static void
patch(const char *path, off_t off, const unsigned char *buf, size_t len)
{
	int	 fd;

	CHECK((fd = open(path, O_WRONLY)) != -1);
	CHECK(pwrite(fd, buf, len, off) == (ssize_t)len);
	close(fd);
}

static void
peek(const char *path, off_t off, unsigned char *buf, size_t len)
{
	int	 fd;

	CHECK((fd = open(path, O_RDONLY)) != -1);
	CHECK(pread(fd, buf, len, off) == (ssize_t)len);
	close(fd);
}

static void
flip(const char *path, off_t off)
{
	unsigned char	 c;

	peek(path, off, &c, 1);
	c ^= 0x20;
	patch(path, off, &c, 1);
}

static int
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
static int
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

/* Does the open file fd contain tok?  Adds its size to *total. */
static int
fd_has(int fd, const char *tok, off_t *total)
{
	unsigned char	*buf;
	struct stat	 st;
	ssize_t		 n;
	int		 found;

	CHECK(fstat(fd, &st) == 0);
	*total += st.st_size;
	if (st.st_size == 0)
		return (0);
	CHECK((buf = malloc((size_t)st.st_size)) != NULL);
	n = pread(fd, buf, (size_t)st.st_size, 0);
	found = n > 0 && memmem(buf, (size_t)n, tok, strlen(tok)) != NULL;
	free(buf);
	return (found);
}

static int
ex(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return (sqlite3_extended_errcode(db));
	return (SQLITE_OK);
}

/* First column of the first row; *rc gets the extended result. */
static sqlite3_int64
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
static int
qok(sqlite3 *db, const char *sql)
{
	char	*s;
	int	 ok;

	s = qtext(db, sql);
	ok = s != NULL && strcmp(s, "ok") == 0;
	free(s);
	return (ok);
}

static char *
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
static sqlite3 *
open1(const char *path)
{
	sqlite3	*db = NULL;

	CHECK(vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) == SQLITE_OK);
	CHECK(db != NULL);
	return (db);
}

/* Try an open; return its result, closing any connection. */
static int
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
static void
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

static uint32_t
be32(const unsigned char *p)
{
	return (((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

/* SQLite's WAL checksum, independently, from the file format page. */
static void
cksum(int bigend, const unsigned char *p, size_t len, uint32_t *s0,
    uint32_t *s1)
{
	uint32_t	 x, y;
	size_t		 i;

	for (i = 0; i + 8 <= len; i += 8) {
		if (bigend) {
			x = be32(p + i);
			y = be32(p + i + 4);
		} else {
			memcpy(&x, p + i, 4);
			memcpy(&y, p + i + 4, 4);
		}
		*s0 += x + *s1;
		*s1 += y + *s0;
	}
}

/* Read one int from the child, waiting at most ms; 0 on EOF/timeout. */
static int
wait_msg(int fd, int *v, int ms)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) != 1)
		return (0);
	n = read(fd, v, sizeof(*v));
	return (n == sizeof(*v));
}

static void
send_msg(int fd, int v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		_exit(2);
}

static void
reap(pid_t pid)
{
	int	 status;

	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
}

/*
 * Look at every open, unlinked file of ours under tdir (SQLite's temp
 * files); count those containing tok and their total size.
 */
static int
temp_scan(const char *tok, off_t *total)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[PATH_MAX], target[PATH_MAX];
	ssize_t		 n;
	int		 found = 0, fd;
	const char	*errstr;

	*total = 0;
	CHECK((d = opendir("/proc/self/fd")) != NULL);
	while ((de = readdir(d)) != NULL) {
		fd = (int)strtonum(de->d_name, 0, INT_MAX, &errstr);
		if (errstr != NULL)
			continue;
		sfmt(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(p, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, tdir, strlen(tdir)) != 0 ||
		    strstr(target, "(deleted)") == NULL)
			continue;
		found += fd_has(fd, tok, total);
	}
	closedir(d);
	return (found);
}

/*
 * Tests.
 */

static void
t_basic(void)
{
	const char	*path = P("basic.db");
	unsigned char	 raw[16];
	sqlite3		*db;
	char		*s;
	int		 rc;

	rm_db(path);
	db = open1(path);
	s = qtext(db, "PRAGMA journal_mode");
	CHECK(s != NULL && strcmp(s, "wal") == 0);
	free(s);
	CHECK(qint(db, "PRAGMA page_size", &rc) == 4096 && rc == SQLITE_OK);
	CHECK(qint(db, "PRAGMA synchronous", &rc) == 2);
	CHECK(qint(db, "PRAGMA temp_store", &rc) == 2);
	CHECK(vfs_check_header(db, NULL) == SQLITE_OK);
	CHECK(ex(db, "CREATE TABLE t(a INTEGER, b TEXT)") == SQLITE_OK);
	CHECK(ex(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
	    "SELECT x + 1 FROM c WHERE x < 500) INSERT INTO t "
	    "SELECT x, printf('row %d', x) FROM c") == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	/* Page 1 is encrypted: no SQLite header in the raw file. */
	peek(path, 0, raw, sizeof(raw));
	CHECK(memcmp(raw, "SQLite format 3", 16) != 0);
	CHECK(fsize(path) % PAGE == 0 && fsize(path) > 0);

	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM t", &rc) == 500);
	CHECK(qint(db, "SELECT sum(a) FROM t", &rc) == 500 * 501 / 2);
	s = qtext(db, "SELECT b FROM t WHERE a = 123");
	CHECK(s != NULL && strcmp(s, "row 123") == 0);
	free(s);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(vfs_check_header(db, "main") == SQLITE_OK);
	CHECK(vfs_check_header(db, "nosuch") == SQLITE_MISUSE);
	CHECK(sqlite3_file_control(db, "main", SQLITE_FCNTL_VFSNAME, &s) ==
	    SQLITE_OK);
	CHECK(s != NULL && strncmp(s, "tresor/", 7) == 0);
	sqlite3_free(s);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	/* Read-only. */
	db = NULL;
	CHECK(vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READONLY, &db) ==
	    SQLITE_OK);
	CHECK(qint(db, "SELECT count(*) FROM t", &rc) == 500);
	CHECK((ex(db, "DELETE FROM t") & 0xff) == SQLITE_READONLY);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	/* A read-only open cannot make a database. */
	CHECK(vfs_open_db(P("none.db"), key1, dbid1, SQLITE_OPEN_READONLY,
	    &db) != SQLITE_OK && db == NULL);
	rm_db(path);
}

static void
t_fts5(void)
{
	const char	*path = P("fts.db");
	sqlite3		*db;
	int		 rc;

	rm_db(path);
	db = open1(path);
	CHECK(ex(db, "CREATE VIRTUAL TABLE f USING fts5(subject, body, "
	    "tokenize='trigram')") == SQLITE_OK);
	CHECK(ex(db, "INSERT INTO f VALUES('hello world', 'the quick brown "
	    "fox'), ('lorem ipsum', 'jumps over the lazy dog'), "
	    "('Grüße', 'zebra crossing')") == SQLITE_OK);
	CHECK(qint(db, "SELECT count(*) FROM f WHERE f MATCH 'lazy'",
	    &rc) == 1);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM f WHERE f MATCH 'own'",
	    &rc) == 1);
	CHECK(qint(db, "SELECT count(*) FROM f WHERE body LIKE '%ross%'",
	    &rc) == 1);
	CHECK(qint(db, "SELECT count(*) FROM f WHERE f MATCH 'nothing'",
	    &rc) == 0 && rc == SQLITE_OK);
	CHECK(ex(db, "INSERT INTO f(f) VALUES('integrity-check')") ==
	    SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

static void
t_no_plaintext(void)
{
	char		 sub[PATH_MAX], plain[PATH_MAX], path[PATH_MAX];
	char		 p[PATH_MAX];
	sqlite3		*db;
	int		 i, rc;

	/* Everything of this test in its own directory, to scan it all. */
	sfmt(sub, sizeof(sub), "%s/np", tdir);
	CHECK(mkdir(sub, 0700) == 0);
	sfmt(plain, sizeof(plain), "%s/np-plain", tdir);
	CHECK(mkdir(plain, 0700) == 0);

	/* Control: the same data through plain SQLite shows the tokens. */
	sfmt(p, sizeof(p), "%s/p.db", plain);
	CHECK(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, "unix") == SQLITE_OK);
	fill_rows(db, 0, 20, "NPtok");
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(dir_has(plain, "NPtok-subject-000007") == 1);
	CHECK(dir_has(plain, "NPtok-body-000013") == 1);

	sfmt(path, sizeof(path), "%s/m.db", sub);
	db = open1(path);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	CHECK(ex(db, "CREATE VIRTUAL TABLE f USING fts5(subject, "
	    "tokenize='trigram')") == SQLITE_OK);
	fill_rows(db, 0, 20, "NPtok");
	CHECK(ex(db, "INSERT INTO f SELECT subject FROM m") == SQLITE_OK);
	CHECK(qint(db, "SELECT count(*) FROM f WHERE f MATCH "
	    "'\"NPtok-subject-000007\"'", &rc) == 1);

	/* Not checkpointed: it is all in the WAL. */
	sfmt(p, sizeof(p), "%s-wal", path);
	CHECK(fsize(p) > 20 * 20000);
	for (i = 0; i < 20; i++) {
		sfmt(p, sizeof(p), "NPtok-subject-%06d", i);
		CHECK(dir_has(sub, p) == 0);
		sfmt(p, sizeof(p), "NPtok-body-%06d", i);
		CHECK(dir_has(sub, p) == 0);
	}
	CHECK(dir_has(sub, "NPtok") == 0);

	/* Checkpointed: now in the database file too. */
	CHECK(qint(db, "PRAGMA wal_checkpoint(FULL)", &rc) == 0);
	CHECK(fsize(path) > 20 * 20000);
	CHECK(dir_has(sub, "NPtok") == 0);
	CHECK(dir_has(sub, "subject") == 0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(dir_has(sub, "NPtok") == 0);

	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM m WHERE instr(body, "
	    "'NPtok-body-000019') > 0", &rc) == 1);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_tree(sub);
	rm_tree(plain);
}

static void
t_wrong_key(void)
{
	const char	*path = P("key.db");
	sqlite3		*db;

	rm_db(path);
	db = open1(path);
	CHECK(ex(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)") ==
	    SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	hook_reset();
	CHECK(open_rc(path, key2, dbid1) == SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_DB, 1));
	CHECK(strcmp(hook_path, path) == 0);
	hook_reset();
	CHECK(open_rc(path, key1, dbid2) == SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_DB, 1));
	/* Page 1 itself corrupted: the open fails too. */
	flip(path, 50);
	hook_reset();
	CHECK(open_rc(path, key1, dbid1) == SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_DB, 1));
	flip(path, 50);
	hook_reset();
	CHECK(open_rc(path, key1, dbid1) == SQLITE_OK);
	CHECK(hook_n == 0);
	rm_db(path);
}

/*
 * A checkpointed database with two tables whose root pages hold all
 * their rows; *ra and *rb get those page numbers.
 */
static void
make_ab(const char *path, const unsigned char *id, sqlite3_int64 *ra,
    sqlite3_int64 *rb)
{
	sqlite3	*db = NULL;
	int	 rc;

	rm_db(path);
	CHECK(vfs_open_db(path, key1, id, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) == SQLITE_OK);
	CHECK(ex(db, "CREATE TABLE a(x TEXT); CREATE TABLE b(x TEXT); "
	    "INSERT INTO a VALUES('alpha'), ('beta'); "
	    "INSERT INTO b VALUES('gamma'), ('delta'), ('epsilon')") ==
	    SQLITE_OK);
	*ra = qint(db, "SELECT rootpage FROM sqlite_schema WHERE name='a'",
	    &rc);
	*rb = qint(db, "SELECT rootpage FROM sqlite_schema WHERE name='b'",
	    &rc);
	CHECK(*ra > 1 && *rb > 1 && *ra != *rb);
	CHECK(sqlite3_close(db) == SQLITE_OK);	/* checkpoints */
	CHECK(fsize(path) >= 3 * PAGE);
}

/* Open path; a must fail with IOERR_DATA on page ra, b must work. */
static void
expect_a_bad(const char *path, sqlite3_int64 ra, int b_ok)
{
	sqlite3	*db;
	int	 rc;

	hook_reset();
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM a", &rc) == -1);
	CHECK(rc == SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_DB, ra));
	CHECK(strcmp(hook_path, path) == 0);
	if (b_ok) {
		CHECK(qint(db, "SELECT count(*) FROM b", &rc) == 3);
		CHECK(rc == SQLITE_OK);
	}
	CHECK(sqlite3_close(db) == SQLITE_OK);
}

static void
t_tamper_page(void)
{
	const char	*path = P("tamper.db");
	static const off_t where[] = {
		200,		/* ciphertext */
		4056 + 3,	/* nonce */
		4080 + 9	/* tag */
	};
	unsigned char	 orig[PAGE], zero[PAGE];
	sqlite3_int64	 ra, rb;
	off_t		 base;
	sqlite3		*db;
	size_t		 i;
	int		 rc;

	make_ab(path, dbid1, &ra, &rb);
	base = (off_t)(ra - 1) * PAGE;
	peek(path, base, orig, sizeof(orig));
	for (i = 0; i < nitems(where); i++) {
		flip(path, base + where[i]);
		expect_a_bad(path, ra, 1);
		patch(path, base, orig, sizeof(orig));
	}
	/* An all-zero page is not authentic either. */
	memset(zero, 0, sizeof(zero));
	patch(path, base, zero, sizeof(zero));
	expect_a_bad(path, ra, 1);
	patch(path, base, orig, sizeof(orig));

	/* Restored: everything works, and SQLite repaired nothing. */
	hook_reset();
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM a", &rc) == 2);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(hook_n == 0);
	rm_db(path);
}

static void
t_swap_transplant(void)
{
	const char	*path = P("swap.db"), *other = P("other.db");
	const char	*old = P("old.db");
	unsigned char	 pa[PAGE], pb[PAGE], po[PAGE];
	sqlite3_int64	 ra, rb, oa, ob;
	sqlite3		*db;
	int		 rc;

	make_ab(path, dbid1, &ra, &rb);
	peek(path, (off_t)(ra - 1) * PAGE, pa, PAGE);
	peek(path, (off_t)(rb - 1) * PAGE, pb, PAGE);

	/* Swap the two pages: both fail. */
	patch(path, (off_t)(ra - 1) * PAGE, pb, PAGE);
	patch(path, (off_t)(rb - 1) * PAGE, pa, PAGE);
	expect_a_bad(path, ra, 0);
	hook_reset();
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM b", &rc) == -1 &&
	    rc == SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_DB, rb));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	patch(path, (off_t)(ra - 1) * PAGE, pa, PAGE);
	patch(path, (off_t)(rb - 1) * PAGE, pb, PAGE);

	/* Same key, same layout, other database id: refused. */
	make_ab(other, dbid2, &oa, &ob);
	CHECK(oa == ra);
	peek(other, (off_t)(oa - 1) * PAGE, po, PAGE);
	patch(path, (off_t)(ra - 1) * PAGE, po, PAGE);
	expect_a_bad(path, ra, 1);
	patch(path, (off_t)(ra - 1) * PAGE, pa, PAGE);

	/*
	 * Not protected, and documented: an older version of the same
	 * page of the same database is accepted (no freshness).
	 */
	cp(path, old);
	db = open1(path);
	CHECK(ex(db, "UPDATE a SET x = 'changed'") == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	peek(old, (off_t)(ra - 1) * PAGE, po, PAGE);
	patch(path, (off_t)(ra - 1) * PAGE, po, PAGE);
	hook_reset();
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM a WHERE x = 'alpha'", &rc) == 1);
	CHECK(hook_n == 0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
	rm_db(other);
	rm_db(old);
}

static void
t_wal_mask(void)
{
	const char	*path = P("mask.db");
	char		 wal[PATH_MAX];
	unsigned char	 wh[WALHDR], fr[FRAME], ondisk[8], clear[8];
	sqlite3_file	*wf = NULL;
	sqlite3		*db;
	uint32_t	 s0, s1;
	off_t		 size, off;
	int		 nframes = 0, differ = 0, big;

	rm_db(path);
	sfmt(wal, sizeof(wal), "%s-wal", path);
	db = open1(path);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	fill_rows(db, 0, 5, "mask");
	CHECK(sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &wf) == SQLITE_OK && wf != NULL);

	peek(wal, 0, wh, sizeof(wh));
	big = wh[3] & 1;
	s0 = be32(wh + 24);
	s1 = be32(wh + 28);
	size = fsize(wal);
	CHECK(size > WALHDR + 10 * FRAME);
	for (off = WALHDR; off + FRAME <= size; off += FRAME) {
		/* The 8-byte read SQLite makes, through the shim. */
		CHECK(wf->pMethods->xRead(wf, clear, 8, off + 16) ==
		    SQLITE_OK);
		peek(wal, off + 16, ondisk, 8);
		if (memcmp(clear, ondisk, 8) != 0)
			differ++;
		/* Whole frame through the shim: the chain must hold. */
		CHECK(wf->pMethods->xRead(wf, fr, FRAME, off) == SQLITE_OK);
		CHECK(memcmp(fr + 16, clear, 8) == 0);
		cksum(big, fr, 8, &s0, &s1);
		cksum(big, fr + 24, PAGE, &s0, &s1);
		CHECK(s0 == be32(fr + 16) && s1 == be32(fr + 20));
		nframes++;
	}
	CHECK(nframes > 10);
	CHECK(differ == nframes);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/*
 * Child for t_wal_tamper: 20 commits, then exit without closing, so
 * the WAL stays uncheckpointed.
 */
static void
wal_child(const char *path)
{
	sqlite3	*db = NULL;
	char	 sql[128];
	int	 i;

	if (vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) != SQLITE_OK ||
	    ex(db, "PRAGMA wal_autocheckpoint=0") != SQLITE_OK ||
	    ex(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, pad BLOB)") !=
	    SQLITE_OK)
		_exit(1);
	for (i = 1; i <= 20; i++) {
		sfmt(sql, sizeof(sql), "INSERT INTO t VALUES(%d, "
		    "zeroblob(3000))", i);
		if (ex(db, sql) != SQLITE_OK)
			_exit(1);
	}
	_exit(0);
}

/* Restore the saved db and WAL, flip one byte, reopen. */
static int
wal_variant(const char *path, const char *wal, off_t where, int *rows)
{
	char		 shm[PATH_MAX];
	sqlite3		*db = NULL;
	unsigned char	*before, *after;
	size_t		 lb, la;
	int		 rc;

	sfmt(shm, sizeof(shm), "%s-shm", path);
	unlink(shm);
	cp(P("saved.db"), path);
	cp(P("saved.db-wal"), wal);
	if (where >= 0)
		flip(wal, where);
	before = slurp(wal, &lb);
	hook_reset();
	*rows = -1;
	rc = vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE, &db);
	if (rc == SQLITE_OK) {
		*rows = (int)qint(db, "SELECT count(*) FROM t", &rc);
		if (rc == SQLITE_OK && !qok(db, "PRAGMA integrity_check"))
			rc = SQLITE_CORRUPT;
		sqlite3_close(db);
		free(before);
		return (rc);
	}
	/* Refused: the evidence is left as it was. */
	after = slurp(wal, &la);
	CHECK(la == lb && memcmp(before, after, la) == 0);
	free(after);
	free(before);
	return (rc);
}

static void
t_wal_tamper(void)
{
	char		 path[PATH_MAX], wal[PATH_MAX];
	unsigned char	 h[24];
	off_t		 size, off, commit[64];
	pid_t		 pid;
	int		 ncommit = 0, rows, status;

	sfmt(path, sizeof(path), "%s/walt.db", tdir);
	sfmt(wal, sizeof(wal), "%s-wal", path);
	rm_db(path);
	CHECK((pid = fork()) != -1);
	if (pid == 0)
		wal_child(path);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cp(path, P("saved.db"));
	cp(wal, P("saved.db-wal"));

	/* Where the commit frames are, from the clear frame headers. */
	size = fsize(wal);
	for (off = WALHDR; off + FRAME <= size; off += FRAME) {
		peek(wal, off, h, sizeof(h));
		if (be32(h + 4) != 0 && ncommit < 64)
			commit[ncommit++] = off;
	}
	/* CREATE TABLE and 20 inserts. */
	CHECK(ncommit == 21);

	/* Intact: all 20 rows come back through recovery. */
	CHECK(wal_variant(path, wal, -1, &rows) == SQLITE_OK);
	CHECK(rows == 20 && hook_n == 0);

	/*
	 * A middle frame corrupted, in its page, its masked checksum or a
	 * salt, with committed frames after it: refused, not rolled back.
	 */
	CHECK(wal_variant(path, wal, commit[5] + 24 + 100, &rows) ==
	    SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_WALFRAME, -1));
	CHECK(hook_saw(VFS_FAIL_WALTAMPER, -1));
	CHECK(wal_variant(path, wal, commit[5] + 17, &rows) ==
	    SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_WALTAMPER, -1));
	CHECK(wal_variant(path, wal, commit[5] + 9, &rows) ==
	    SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_WALTAMPER, -1));
	/* Its page number: the page no longer authenticates. */
	CHECK(wal_variant(path, wal, commit[10] + 3, &rows) ==
	    SQLITE_IOERR_DATA);

	/*
	 * The last frame corrupted looks like a torn write: the last
	 * transaction is dropped and the rest opens, as after a crash.
	 */
	CHECK(wal_variant(path, wal, commit[20] + 24 + 100, &rows) ==
	    SQLITE_OK);
	CHECK(rows == 19);
	CHECK(hook_saw(VFS_FAIL_WALFRAME, -1));
	CHECK(!hook_saw(VFS_FAIL_WALTAMPER, -1));

	/*
	 * Documented limit: the commit frame of the next-to-last
	 * transaction, followed by one commit only, is indistinguishable
	 * from a torn final transaction: the last two are dropped.
	 */
	CHECK(wal_variant(path, wal, commit[19] + 24 + 100, &rows) ==
	    SQLITE_OK);
	CHECK(rows == 18);
	CHECK(!hook_saw(VFS_FAIL_WALTAMPER, -1));

	rm_db(path);
	rm_db(P("saved.db"));
}

/*
 * Child for the crash tests: acknowledged commits, then a large
 * transaction that never commits.  With restart, a big transaction is
 * committed and checkpointed first, so that the acknowledged ones
 * restart the WAL and are followed by older frames.  alarm() bounds
 * its life.
 */
static void
crash_child(const char *path, int fd, int nack, int restart)
{
	sqlite3	*db = NULL;
	char	 sql[160];
	int	 i;

	alarm(30);
	if (vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) != SQLITE_OK ||
	    ex(db, "PRAGMA wal_autocheckpoint=0") != SQLITE_OK ||
	    ex(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, "
	    "big INTEGER, pad BLOB)") != SQLITE_OK)
		_exit(1);
	if (restart && (ex(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
	    "SELECT x + 1 FROM c WHERE x < 300) INSERT INTO t(id, big, pad) "
	    "SELECT 1000 + x, 2, randomblob(3000) FROM c") != SQLITE_OK ||
	    ex(db, "PRAGMA wal_checkpoint(PASSIVE)") != SQLITE_OK))
		_exit(1);
	for (i = 1; i <= nack; i++) {
		sfmt(sql, sizeof(sql), "INSERT INTO t VALUES(%d, 0, "
		    "randomblob(2000))", i);
		if (ex(db, sql) != SQLITE_OK)
			_exit(1);
		send_msg(fd, i);	/* committed and synced */
	}
	/* A small cache makes SQLite spill the big transaction to the WAL. */
	if (restart) {
		if (ex(db, "BEGIN; INSERT INTO t(big) VALUES(1)") != SQLITE_OK)
			_exit(1);
	} else if (ex(db, "PRAGMA cache_size=20; BEGIN") != SQLITE_OK ||
	    ex(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
	    "FROM c WHERE x < 1500) INSERT INTO t(big, pad) "
	    "SELECT 1, randomblob(3000) FROM c") != SQLITE_OK)
		_exit(1);
	send_msg(fd, MSG_BIGTXN);
	for (;;)
		pause();
}

static void
t_crash_wal(void)
{
	const char	*path = P("crash.db");
	char		 wal[PATH_MAX];
	sqlite3		*db;
	pid_t		 pid;
	int		 p[2], v, last = 0, rc;

	rm_db(path);
	sfmt(wal, sizeof(wal), "%s-wal", path);
	CHECK(pipe(p) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		close(p[0]);
		crash_child(path, p[1], 40, 0);
	}
	close(p[1]);
	while (wait_msg(p[0], &v, WAIT_MS) && v > 0)
		last = v;
	reap(pid);
	close(p[0]);
	CHECK(last == 40 && v == MSG_BIGTXN);
	/* The uncommitted transaction reached the WAL. */
	CHECK(fsize(wal) > 1000 * PAGE);

	hook_reset();
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM t", &rc) == 40);
	CHECK(qint(db, "SELECT max(id) FROM t", &rc) == 40);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE big = 1", &rc) == 0);
	CHECK(qok(db, "PRAGMA integrity_check"));
	/* And it keeps working after recovery. */
	CHECK(ex(db, "INSERT INTO t VALUES(41, 0, x'00')") == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(hook_n == 0);
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM t", &rc) == 41);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

static void
t_crash_wal_restart(void)
{
	const char	*path = P("restart.db");
	char		 wal[PATH_MAX];
	unsigned char	 wh[WALHDR], fh[24];
	sqlite3		*db;
	off_t		 size;
	pid_t		 pid;
	int		 p[2], v, last = 0, rc;

	rm_db(path);
	sfmt(wal, sizeof(wal), "%s-wal", path);
	CHECK(pipe(p) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		close(p[0]);
		crash_child(path, p[1], 40, 1);
	}
	close(p[1]);
	while (wait_msg(p[0], &v, WAIT_MS) && v > 0)
		last = v;
	reap(pid);
	close(p[0]);
	CHECK(last == 40 && v == MSG_BIGTXN);
	/* The log restarted: its tail is frames of the older generation. */
	size = fsize(wal);
	CHECK(size > 300 * FRAME);
	peek(wal, 0, wh, sizeof(wh));
	peek(wal, WALHDR + ((size - WALHDR) / FRAME - 1) * FRAME, fh,
	    sizeof(fh));
	CHECK(memcmp(wh + 16, fh + 8, 8) != 0);

	/* Recovery stops at the older frames, and that is no tampering. */
	hook_reset();
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE big = 0", &rc) == 40);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE big = 2", &rc) == 300);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE big = 1", &rc) == 0);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(hook_n == 0);
	rm_db(path);
}

/*
 * A live WAL (not recovered) with a corrupted page: the page read fails
 * with IOERR_DATA, other pages are fine.
 */
static void
t_wal_page_read(void)
{
	const char	*path = P("walpage.db");
	char		 wal[PATH_MAX];
	unsigned char	 h[24];
	sqlite3_int64	 ra;
	sqlite3		*a, *b;
	off_t		 size, off, last = -1;
	int		 rc;

	rm_db(path);
	sfmt(wal, sizeof(wal), "%s-wal", path);
	a = open1(path);
	CHECK(ex(a, "PRAGMA wal_autocheckpoint=0; "
	    "CREATE TABLE a(x TEXT); CREATE TABLE b(x TEXT); "
	    "INSERT INTO a VALUES('alpha'); INSERT INTO b VALUES('beta')") ==
	    SQLITE_OK);
	ra = qint(a, "SELECT rootpage FROM sqlite_schema WHERE name='a'", &rc);
	size = fsize(wal);
	for (off = WALHDR; off + FRAME <= size; off += FRAME) {
		peek(wal, off, h, sizeof(h));
		if (be32(h) == (uint32_t)ra)
			last = off;
	}
	CHECK(last != -1);
	flip(wal, last + 24 + 500);

	/* A second connection uses the live wal-index: no recovery. */
	hook_reset();
	b = open1(path);
	CHECK(qint(b, "SELECT count(*) FROM a", &rc) == -1);
	CHECK(rc == SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_WAL, ra));
	CHECK(strcmp(hook_path, path) == 0);
	CHECK(qint(b, "SELECT count(*) FROM b", &rc) == 1 && rc == SQLITE_OK);
	CHECK(sqlite3_close(b) == SQLITE_OK);
	flip(wal, last + 24 + 500);
	CHECK(sqlite3_close(a) == SQLITE_OK);
	rm_db(path);
}

/*
 * Pages written twice to the WAL in one transaction (cache spill): the
 * shim gets bare page writes and SQLite rewrites the frame checksums at
 * commit.  Recovery of the result must accept every frame.
 */
static void
rewrite_child(const char *path)
{
	sqlite3	*db = NULL;

	if (vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) != SQLITE_OK ||
	    ex(db, "PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=10; "
	    "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB); "
	    "BEGIN; "
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < 400) INSERT INTO t SELECT x, 1, randomblob(900) "
	    "FROM c; "
	    "UPDATE t SET v = 2, pad = randomblob(900); "
	    "UPDATE t SET v = 3 WHERE id % 2 = 0; "
	    "COMMIT") != SQLITE_OK)
		_exit(1);
	_exit(0);
}

static void
t_wal_rewrite(void)
{
	const char	*path = P("rewrite.db");
	sqlite3		*db;
	pid_t		 pid;
	int		 status, rc;

	rm_db(path);
	CHECK((pid = fork()) != -1);
	if (pid == 0)
		rewrite_child(path);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	hook_reset();
	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM t", &rc) == 400);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE v = 2", &rc) == 200);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE v = 3", &rc) == 200);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(hook_n == 0);
	rm_db(path);
}

/* Child: batches acknowledged, then a checkpoint to be killed in. */
static void
ckpt_child(const char *path, int fd)
{
	sqlite3	*db = NULL;
	int	 i;

	alarm(30);
	if (vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) != SQLITE_OK ||
	    ex(db, "PRAGMA wal_autocheckpoint=0") != SQLITE_OK ||
	    ex(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, "
	    "pad BLOB)") != SQLITE_OK)
		_exit(1);
	for (i = 1; i <= 10; i++) {
		if (ex(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
		    "SELECT x + 1 FROM c WHERE x < 200) INSERT INTO t(pad) "
		    "SELECT randomblob(3500) FROM c") != SQLITE_OK)
			_exit(1);
		send_msg(fd, i);
	}
	send_msg(fd, MSG_CKPT);
	if (ex(db, "PRAGMA wal_checkpoint(TRUNCATE)") != SQLITE_OK)
		_exit(1);
	send_msg(fd, MSG_CKPTDONE);
	for (;;)
		pause();
}

static void
t_crash_checkpoint(void)
{
	static const int delay_us[] = { 0, 2000, 8000, 20000 };
	const char	*path = P("ckpt.db");
	struct timespec	 ts;
	sqlite3		*db;
	sqlite3_int64	 total = 0;
	size_t		 i;
	pid_t		 pid;
	int		 p[2], v, last, rc, mid = 0;

	rm_db(path);
	for (i = 0; i < nitems(delay_us); i++) {
		CHECK(pipe(p) == 0);
		CHECK((pid = fork()) != -1);
		if (pid == 0) {
			close(p[0]);
			ckpt_child(path, p[1]);
		}
		close(p[1]);
		last = 0;
		while (wait_msg(p[0], &v, WAIT_MS) && v > 0)
			last = v;
		CHECK(last == 10 && v == MSG_CKPT);
		ts.tv_sec = 0;
		ts.tv_nsec = delay_us[i] * 1000L;
		nanosleep(&ts, NULL);
		reap(pid);
		/* Did the checkpoint finish before the kill? */
		if (!wait_msg(p[0], &v, 0))
			mid++;
		close(p[0]);
		total += 10 * 200;

		db = open1(path);
		CHECK(qint(db, "SELECT count(*) FROM t", &rc) == total);
		CHECK(qok(db, "PRAGMA integrity_check"));
		CHECK(sqlite3_close(db) == SQLITE_OK);
	}
	/* At least one kill landed inside the checkpoint. */
	fprintf(stderr, "# t_crash_checkpoint: %d of %zu kills before the "
	    "checkpoint finished\n", mid, nitems(delay_us));
	CHECK(mid > 0);
	rm_db(path);
}

/*
 * Child: DELETE journal mode, acknowledged rows, then a hot journal,
 * written with synchronous=OFF if nosync.
 */
static void
jrnl_child(const char *path, int fd, int nosync)
{
	sqlite3	*db = NULL;
	char	*s;

	alarm(30);
	if (vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) != SQLITE_OK)
		_exit(1);
	if ((s = qtext(db, "PRAGMA journal_mode=DELETE")) == NULL ||
	    strcmp(s, "delete") != 0)
		_exit(1);
	free(s);
	fill_rows(db, 0, 30, "JRtok");
	send_msg(fd, 30);
	if (nosync && ex(db, "PRAGMA synchronous=OFF") != SQLITE_OK)
		_exit(1);
	/* Rewrite every page with a tiny cache: the journal is synced
	 * and pages spill into the database before the kill. */
	if (ex(db, "PRAGMA cache_size=5; BEGIN; UPDATE m SET "
	    "subject = 'gone', body = randomblob(20000)") != SQLITE_OK)
		_exit(1);
	send_msg(fd, MSG_BIGTXN);
	for (;;)
		pause();
}

static void
t_crash_journal(void)
{
	char		 sub[PATH_MAX], path[PATH_MAX], jr[PATH_MAX];
	char		 saved[PATH_MAX], savedj[PATH_MAX];
	unsigned char	 hdr[4];
	sqlite3		*db;
	uint32_t	 sector;
	pid_t		 pid;
	int		 p[2], v, rc;

	sfmt(sub, sizeof(sub), "%s/jr", tdir);
	CHECK(mkdir(sub, 0700) == 0);
	sfmt(path, sizeof(path), "%s/j.db", sub);
	sfmt(jr, sizeof(jr), "%s-journal", path);
	CHECK(pipe(p) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		close(p[0]);
		jrnl_child(path, p[1], 0);
	}
	close(p[1]);
	CHECK(wait_msg(p[0], &v, WAIT_MS) && v == 30);
	CHECK(wait_msg(p[0], &v, WAIT_MS) && v == MSG_BIGTXN);
	reap(pid);
	close(p[0]);

	/* A hot journal full of original pages, none of them readable. */
	CHECK(fsize(jr) > 20 * 20000);
	CHECK(dir_has(sub, "JRtok") == 0);
	CHECK(dir_has(sub, "subject") == 0);

	/*
	 * A record of a synced segment that fails authentication cannot
	 * be a torn write: the open fails and the journal stays.
	 */
	sfmt(saved, sizeof(saved), "%s/saved", sub);
	sfmt(savedj, sizeof(savedj), "%s/saved-journal", sub);
	cp(path, saved);
	cp(jr, savedj);
	peek(jr, 20, hdr, 4);
	sector = be32(hdr);
	CHECK(sector >= 512 && sector <= 65536);
	peek(jr, sector, hdr, 4);
	flip(jr, sector + 4 + 1000);
	hook_reset();
	CHECK(open_rc(path, key1, dbid1) == SQLITE_IOERR_DATA);
	CHECK(hook_saw(VFS_FAIL_JOURNAL, be32(hdr)));
	CHECK(fsize(jr) > 20 * 20000);
	cp(saved, path);
	cp(savedj, jr);
	unlink(saved);
	unlink(savedj);
	sfmt(saved, sizeof(saved), "%s-wal", path);
	unlink(saved);
	sfmt(saved, sizeof(saved), "%s-shm", path);
	unlink(saved);

	hook_reset();
	db = open1(path);	/* rolls back, then back to WAL */
	CHECK(qint(db, "SELECT count(*) FROM m WHERE subject LIKE "
	    "'JRtok-subject-%'", &rc) == 30);
	CHECK(qint(db, "SELECT count(*) FROM m WHERE instr(body, "
	    "'JRtok-body-000029') > 0", &rc) == 1);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(hook_n == 0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(fsize(jr) == -1);
	rm_tree(sub);
}

/*
 * A journal written without sync may end in a torn record, so there a
 * failed record only ends the playback, as SQLite does for a bad
 * checksum: the open works (the transaction is rolled back up to that
 * record) and the hook reports it.
 */
static void
t_journal_nosync(void)
{
	char		 sub[PATH_MAX], path[PATH_MAX], jr[PATH_MAX];
	unsigned char	 hdr[4];
	uint32_t	 sector;
	pid_t		 pid;
	int		 p[2], v;

	sfmt(sub, sizeof(sub), "%s/jn", tdir);
	CHECK(mkdir(sub, 0700) == 0);
	sfmt(path, sizeof(path), "%s/j.db", sub);
	sfmt(jr, sizeof(jr), "%s-journal", path);
	CHECK(pipe(p) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		close(p[0]);
		jrnl_child(path, p[1], 1);
	}
	close(p[1]);
	CHECK(wait_msg(p[0], &v, WAIT_MS) && v == 30);
	CHECK(wait_msg(p[0], &v, WAIT_MS) && v == MSG_BIGTXN);
	reap(pid);
	close(p[0]);

	CHECK(fsize(jr) > 20 * 20000);
	CHECK(dir_has(sub, "JRtok") == 0);
	peek(jr, 8, hdr, 4);
	CHECK(be32(hdr) == 0xffffffff);
	peek(jr, 20, hdr, 4);
	sector = be32(hdr);
	CHECK(sector >= 512 && sector <= 65536);
	peek(jr, sector, hdr, 4);
	flip(jr, sector + 4 + 1000);
	hook_reset();
	CHECK(open_rc(path, key1, dbid1) == SQLITE_OK);
	CHECK(hook_saw(VFS_FAIL_JOURNAL, be32(hdr)));
	CHECK(fsize(jr) == -1);
	rm_tree(sub);
}

static void
t_page1_guard(void)
{
	const char	*path = P("guard.db");
	char		 h[VFS_HANDLELEN], uri[PATH_MAX + 128];
	sqlite3		*db = NULL;
	char		*s;

	rm_db(path);
	CHECK(vfs_key_handle(key1, dbid1, h, sizeof(h)) == SQLITE_OK);
	sfmt(uri, sizeof(uri), "file:%s?vfs=tresor&tkey=%s", path, h);
	/* Raw SQLite through the shim, without setting the reserve. */
	CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL) == SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	s = qtext(db, "PRAGMA journal_mode=WAL");
	free(s);
	CHECK(sqlite3_extended_errcode(db) == SQLITE_IOERR_WRITE);
	CHECK(ex(db, "CREATE TABLE t(x)") == SQLITE_IOERR_WRITE);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(fsize(path) == 0);
	rm_db(path);
}

/* Sub-page and cross-page I/O on the main file, called directly. */
static void
t_bad_io(void)
{
	const char	*path = P("badio.db");
	unsigned char	 pg[PAGE], small[100];
	sqlite3_file	*f = NULL;
	sqlite3		*db;
	size_t		 i;

	rm_db(path);
	db = open1(path);
	CHECK(ex(db, "CREATE TABLE t(x)") == SQLITE_OK);
	CHECK(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER,
	    &f) == SQLITE_OK && f != NULL);
	/* Sub-page reads come from the decrypted page. */
	CHECK(f->pMethods->xRead(f, small, 16, 0) == SQLITE_OK);
	CHECK(memcmp(small, "SQLite format 3", 16) == 0);
	CHECK(f->pMethods->xRead(f, pg, PAGE, 0) == SQLITE_OK);
	CHECK(pg[20] == 40 && pg[16] == 0x10 && pg[17] == 0);
	/* Reserved bytes read back as zeros. */
	for (i = PAGE - 40; i < PAGE; i++)
		CHECK(pg[i] == 0);
	CHECK(f->pMethods->xRead(f, small, 100, PAGE - 50) ==
	    SQLITE_IOERR_READ);
	CHECK(f->pMethods->xWrite(f, small, 100, 0) == SQLITE_IOERR_WRITE);
	CHECK(f->pMethods->xWrite(f, pg, PAGE, 10) == SQLITE_IOERR_WRITE);
	/* The page-1 guard, directly: reserve 0 is refused. */
	pg[20] = 0;
	CHECK(f->pMethods->xWrite(f, pg, PAGE, 0) == SQLITE_IOERR_WRITE);
	pg[20] = 40;
	pg[16] = 0x20;
	CHECK(f->pMethods->xWrite(f, pg, PAGE, 0) == SQLITE_IOERR_WRITE);
	/* Past the end: zeros and a short read. */
	memset(pg, 0xff, sizeof(pg));
	CHECK(f->pMethods->xRead(f, pg, PAGE, 1000 * PAGE) ==
	    SQLITE_IOERR_SHORT_READ);
	CHECK(pg[0] == 0 && pg[PAGE - 1] == 0);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/*
 * Temp files are encrypted (the chosen policy): with temp_store=FILE a
 * big sort spills to a temp file in tdir; it holds no token, while the
 * same sort through plain SQLite does.
 */
static int
sort_spill(sqlite3 *db, off_t *total)
{
	sqlite3_stmt	*st;
	char		 prev[64] = "", cur[64];
	int		 found, n = 1;

	CHECK(ex(db, "PRAGMA temp_store=FILE; PRAGMA cache_size=10; "
	    "CREATE TABLE s(k TEXT, pad TEXT); "
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < 6000) INSERT INTO s SELECT printf('TMPtok-%06d', "
	    "(x * 7919) % 6000), printf('%.600c', 'p') FROM c") == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT k, pad FROM s ORDER BY k",
	    -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	/* Sorted and spilled: the temp file is open now. */
	found = temp_scan("TMPtok", total);
	strlcpy(prev, (const char *)sqlite3_column_text(st, 0),
	    sizeof(prev));
	while (sqlite3_step(st) == SQLITE_ROW) {
		strlcpy(cur, (const char *)sqlite3_column_text(st, 0),
		    sizeof(cur));
		CHECK(strcmp(prev, cur) < 0);
		memcpy(prev, cur, sizeof(prev));
		n++;
	}
	CHECK(sqlite3_finalize(st) == SQLITE_OK);
	CHECK(n == 6000);
	CHECK(strcmp(prev, "TMPtok-005999") == 0);
	return (found);
}

static void
t_temp_files(void)
{
	const char	*path = P("temp.db"), *plain = P("tplain.db");
	sqlite3		*db;
	off_t		 total;
	int		 rc;

	rm_db(plain);
	CHECK(sqlite3_open_v2(plain, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, "unix") == SQLITE_OK);
	CHECK(sort_spill(db, &total) > 0);
	CHECK(total > 1024 * 1024);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	rm_db(path);
	db = open1(path);
	CHECK(sort_spill(db, &total) == 0);
	CHECK(total > 1024 * 1024);
	/* An index build and VACUUM through temp files work too. */
	CHECK(ex(db, "CREATE INDEX s_k ON s(k, pad)") == SQLITE_OK);
	CHECK(ex(db, "VACUUM") == SQLITE_OK);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(qint(db, "SELECT count(*) FROM s", &rc) == 6000);
	CHECK(vfs_check_header(db, NULL) == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(file_has(path, "TMPtok") == 0);
	rm_db(path);
	rm_db(plain);
}

static void
t_mmap(void)
{
	const char	*path = P("mmap.db");
	sqlite3_int64	 sz = 1 << 20;
	sqlite3		*db;
	int		 rc;

	rm_db(path);
	db = open1(path);
	CHECK(ex(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)") ==
	    SQLITE_OK);
	CHECK(ex(db, "PRAGMA mmap_size=1000000") != SQLITE_OK);
	CHECK(strstr(sqlite3_errmsg(db), "mmap") != NULL);
	CHECK(qint(db, "PRAGMA mmap_size", &rc) == 0 && rc == SQLITE_OK);
	CHECK(ex(db, "PRAGMA mmap_size=0") == SQLITE_OK);
	CHECK(sqlite3_file_control(db, "main", SQLITE_FCNTL_MMAP_SIZE,
	    &sz) == SQLITE_OK);
	CHECK(sz == 0);
	CHECK(qint(db, "SELECT x FROM t", &rc) == 1);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

static void
t_registry(void)
{
	const char	*path = P("reg.db"), *fn, *k;
	char		 hex[2 * VFS_KEYLEN + 1], h[VFS_HANDLELEN];
	char		 hs[20][VFS_HANDLELEN], uri[PATH_MAX + 128];
	sqlite3		*db = NULL;
	int		 i, n;

	rm_db(path);
	db = open1(path);
	CHECK(ex(db, "CREATE TABLE t(x)") == SQLITE_OK);
	/* Neither the key nor anything key-like in the names SQLite keeps. */
	sodium_bin2hex(hex, sizeof(hex), key1, sizeof(key1));
	fn = sqlite3_db_filename(db, "main");
	CHECK(fn != NULL && strcasestr(fn, hex) == NULL);
	CHECK(strcmp(fn, path) == 0);
	for (i = 0; (k = sqlite3_uri_key(fn, i)) != NULL; i++) {
		CHECK(strcasestr(k, hex) == NULL);
		CHECK(strcasestr(sqlite3_uri_parameter(fn, k), hex) == NULL);
	}
	CHECK(sqlite3_close(db) == SQLITE_OK);

	/* A handle works once. */
	CHECK(vfs_key_handle(key1, dbid1, h, sizeof(h)) == SQLITE_OK);
	CHECK(strlen(h) == VFS_HANDLELEN - 1);
	sfmt(uri, sizeof(uri), "file:%s?vfs=tresor&tkey=%s", path, h);
	CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_URI, NULL) == SQLITE_OK);
	CHECK(qint(db, "SELECT count(*) FROM t", &n) == 0 && n == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_URI, NULL) == SQLITE_CANTOPEN);
	sqlite3_close(db);

	/* No key, a made-up key, a forgotten key: refused. */
	sfmt(uri, sizeof(uri), "file:%s?vfs=tresor", path);
	CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_URI, NULL) == SQLITE_CANTOPEN);
	sqlite3_close(db);
	sfmt(uri, sizeof(uri), "file:%s?vfs=tresor&tkey=%s", P("new.db"),
	    "00112233445566778899aabbccddeeff");
	CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL) == SQLITE_CANTOPEN);
	sqlite3_close(db);
	CHECK(vfs_key_handle(key1, dbid1, h, sizeof(h)) == SQLITE_OK);
	vfs_key_forget(h);
	sfmt(uri, sizeof(uri), "file:%s?vfs=tresor&tkey=%s", path, h);
	CHECK(sqlite3_open_v2(uri, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_URI, NULL) == SQLITE_CANTOPEN);
	sqlite3_close(db);
	CHECK(fsize(P("new.db")) == -1);

	/* The registry is bounded. */
	for (n = 0; n < 20; n++)
		if (vfs_key_handle(key1, dbid1, hs[n], sizeof(hs[n])) !=
		    SQLITE_OK)
			break;
	CHECK(n > 0 && n < 20);
	CHECK(vfs_key_handle(key1, dbid1, h, sizeof(h)) == SQLITE_FULL);
	for (i = 0; i < n; i++)
		vfs_key_forget(hs[i]);
	CHECK(vfs_key_handle(key1, dbid1, h, 4) == SQLITE_MISUSE);
	rm_db(path);
}

/* Characters that mean something in a URI survive the trip. */
static void
t_odd_path(void)
{
	const char	*path = P("we?ird %41 #name&tkey=x.db");
	sqlite3		*db;
	int		 rc;

	rm_db(path);
	db = open1(path);
	CHECK(strcmp(sqlite3_db_filename(db, "main"), path) == 0);
	CHECK(ex(db, "CREATE TABLE t(x); INSERT INTO t VALUES(7)") ==
	    SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(fsize(path) > 0);
	db = open1(path);
	CHECK(qint(db, "SELECT x FROM t", &rc) == 7);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

static void
t_vacuum_into(void)
{
	const char	*path = P("vsrc.db"), *out = P("vout.db");
	char		 h[VFS_HANDLELEN], sql[PATH_MAX + 128];
	sqlite3		*db;
	int		 rc;

	rm_db(path);
	rm_db(out);
	db = open1(path);
	fill_rows(db, 0, 10, "VItok");
	CHECK(vfs_key_handle(key1, dbid2, h, sizeof(h)) == SQLITE_OK);
	sfmt(sql, sizeof(sql), "VACUUM INTO 'file:%s?vfs=tresor&"
	    "tkey=%s'", out, h);
	CHECK(ex(db, sql) == SQLITE_OK);
	/* Without a handle the copy would be plaintext: refused. */
	sfmt(sql, sizeof(sql), "VACUUM INTO 'file:%s-2?vfs=tresor'", out);
	CHECK(ex(db, sql) != SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	CHECK(file_has(out, "VItok") == 0);
	CHECK(open_rc(out, key1, dbid1) == SQLITE_IOERR_DATA);
	CHECK(vfs_open_db(out, key1, dbid2, SQLITE_OPEN_READWRITE, &db) ==
	    SQLITE_OK);
	CHECK(qint(db, "SELECT count(*) FROM m", &rc) == 10);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);

	/* ATTACH by handle: the key is not in the SQL either. */
	db = open1(path);
	CHECK(vfs_key_handle(key1, dbid2, h, sizeof(h)) == SQLITE_OK);
	sfmt(sql, sizeof(sql), "ATTACH 'file:%s?vfs=tresor&tkey=%s' AS o",
	    out, h);
	CHECK(ex(db, sql) == SQLITE_OK);
	CHECK(qint(db, "SELECT count(*) FROM o.m", &rc) == 10);
	CHECK(vfs_check_header(db, "o") == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
	rm_db(out);
}

int
main(void)
{
	char	 tmpl[] = "/tmp/vfs_test.XXXXXX";

	log_init(1, LOG_MAIL);
	if (sodium_init() == -1 || mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "setup failed\n");
		return (1);
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
		return (1);
	}
	vfs_set_authfail_hook(hook);

	RUN(t_basic);
	RUN(t_fts5);
	RUN(t_no_plaintext);
	RUN(t_wrong_key);
	RUN(t_tamper_page);
	RUN(t_swap_transplant);
	RUN(t_wal_mask);
	RUN(t_wal_tamper);
	RUN(t_wal_page_read);
	RUN(t_wal_rewrite);
	RUN(t_crash_wal);
	RUN(t_crash_wal_restart);
	RUN(t_crash_checkpoint);
	RUN(t_crash_journal);
	RUN(t_journal_nosync);
	RUN(t_page1_guard);
	RUN(t_bad_io);
	RUN(t_temp_files);
	RUN(t_mmap);
	RUN(t_registry);
	RUN(t_odd_path);
	RUN(t_vacuum_into);

	rm_tree(tdir);
	TEST_EXIT();
}
