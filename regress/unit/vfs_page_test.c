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
 * The encrypting VFS's pages, against real files in a mkdtemp directory:
 * round trips (FTS5 too), no plaintext at rest, a wrong key, the page-1
 * guard, bad I/O, temp files, mmap refusal, the key registry, odd paths
 * and VACUUM INTO.
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
#include "test.h"

TEST_GLOBALS;

static int	 fd_has(int, const char *, off_t *);
static int	 temp_scan(const char *, off_t *);
static int	 sort_spill(sqlite3 *, off_t *);
static void	 t_basic(void);
static void	 t_fts5(void);
static void	 t_no_plaintext(void);
static void	 t_wrong_key(void);
static void	 t_page1_guard(void);
static void	 t_bad_io(void);
static void	 t_temp_files(void);
static void	 t_mmap(void);
static void	 t_registry(void);
static void	 t_odd_path(void);
static void	 t_vacuum_into(void);

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
	vfs_fixture_setup();
	RUN(t_basic);
	RUN(t_fts5);
	RUN(t_no_plaintext);
	RUN(t_wrong_key);
	RUN(t_page1_guard);
	RUN(t_bad_io);
	RUN(t_temp_files);
	RUN(t_mmap);
	RUN(t_registry);
	RUN(t_odd_path);
	RUN(t_vacuum_into);
	vfs_fixture_teardown();
	TEST_EXIT();
}
