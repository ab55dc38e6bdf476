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
 * locking_mode=EXCLUSIVE in every read-write vfs_open_db(): the WAL
 * index stays in the process and no -shm file is ever made, not while
 * writing, not after a crash and the recovery that follows.  A second
 * connection to an open database is refused.  vfs_open_db_shared()
 * keeps normal locking and its -shm file: the check below can see one.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "vfs_fixture.h"

TEST_GLOBALS;

static int
exists(const char *path)
{
	struct stat	 sb;

	return (stat(path, &sb) == 0);
}

static void
t_exclusive_no_shm(void)
{
	const char	*path = P("excl.db");
	char		 wal[PATH_MAX], shm[PATH_MAX];
	sqlite3		*db, *db2 = NULL;
	char		*s;
	int		 rc;

	rm_db(path);
	sfmt(wal, sizeof(wal), "%s-wal", path);
	sfmt(shm, sizeof(shm), "%s-shm", path);
	db = open1(path);
	s = qtext(db, "PRAGMA locking_mode");
	CHECK(s != NULL && strcmp(s, "exclusive") == 0);
	free(s);
	s = qtext(db, "PRAGMA journal_mode");
	CHECK(s != NULL && strcmp(s, "wal") == 0);
	free(s);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	fill_rows(db, 0, 200, "excl");
	CHECK(fsize(wal) > WALHDR);
	CHECK(!exists(shm));

	/* Nobody else gets in while it is open. */
	rc = vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE, &db2);
	CHECK((rc & 0xff) == SQLITE_BUSY && db2 == NULL);
	CHECK(!exists(shm));

	CHECK(ex(db, "PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
	fill_rows(db, 200, 300, "more");
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(!exists(shm));

	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM m", &rc) == 300);
	CHECK(!exists(shm));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/* Killed with a WAL full of commits: recovery rebuilds the index in memory. */
static void
t_exclusive_crash(void)
{
	const char	*path = P("crash.db");
	char		 shm[PATH_MAX], wal[PATH_MAX];
	sqlite3		*db;
	pid_t		 pid;
	int		 rc, status;

	rm_db(path);
	sfmt(wal, sizeof(wal), "%s-wal", path);
	sfmt(shm, sizeof(shm), "%s-shm", path);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		db = NULL;
		if (vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_CREATE, &db) != SQLITE_OK ||
		    ex(db, "PRAGMA wal_autocheckpoint=0; "
		    "CREATE TABLE m(id INTEGER PRIMARY KEY, v BLOB); "
		    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
		    "FROM c WHERE x < 100) INSERT INTO m SELECT x, "
		    "randomblob(3000) FROM c") != SQLITE_OK)
			_exit(1);
		/* As kill -9 would: no close, no checkpoint. */
		_exit(exists(shm) ? 2 : 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(fsize(wal) > WALHDR);
	CHECK(!exists(shm));

	db = open1(path);
	CHECK(qint(db, "SELECT count(*) FROM m", &rc) == 100);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(!exists(shm));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/* The control: normal locking makes the -shm file the test looks for. */
static void
t_shared_has_shm(void)
{
	const char	*path = P("shared.db");
	char		 shm[PATH_MAX];
	sqlite3		*a, *b;
	int		 rc;

	rm_db(path);
	sfmt(shm, sizeof(shm), "%s-shm", path);
	a = open1_shared(path);
	fill_rows(a, 0, 10, "shared");
	CHECK(exists(shm));
	b = open1_shared(path);
	CHECK(qint(b, "SELECT count(*) FROM m", &rc) == 10);
	CHECK(sqlite3_close(b) == SQLITE_OK);
	CHECK(sqlite3_close(a) == SQLITE_OK);
	rm_db(path);
	unlink(shm);
}

int
main(void)
{
	vfs_fixture_setup();
	RUN(t_exclusive_no_shm);
	RUN(t_exclusive_crash);
	RUN(t_shared_has_shm);
	vfs_fixture_teardown();
	TEST_EXIT();
}
