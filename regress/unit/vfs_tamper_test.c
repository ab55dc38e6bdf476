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
 * Tamper detection in the encrypting VFS: a changed page, pages swapped
 * or transplanted between databases, and a changed WAL.
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

static void	 make_ab(const char *, const unsigned char *, sqlite3_int64 *,
		    sqlite3_int64 *);
static void	 expect_a_bad(const char *, sqlite3_int64, int);
static __dead void wal_child(const char *);
static int	 wal_variant(const char *, const char *, off_t, int *);
static void	 t_tamper_page(void);
static void	 t_swap_transplant(void);
static void	 t_wal_tamper(void);

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

int
main(void)
{
	vfs_fixture_setup();
	RUN(t_tamper_page);
	RUN(t_swap_transplant);
	RUN(t_wal_tamper);
	vfs_fixture_teardown();
	TEST_EXIT();
}
