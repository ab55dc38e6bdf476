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
 * The encrypting VFS's write-ahead log: checksum masking, pages read
 * from the WAL, and a WAL rewritten after a reset.  In SQLite's normal
 * locking mode (vfs_open_db_shared()), unlike production: one case
 * needs a second connection on the live WAL index in the -shm file.
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

static void	 cksum(int, const unsigned char *, size_t, uint32_t *,
		    uint32_t *);
static __dead void rewrite_child(const char *);
static void	 t_wal_mask(void);
static void	 t_wal_page_read(void);
static void	 t_wal_rewrite(void);

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
	db = open1_shared(path);
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
	a = open1_shared(path);
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
	b = open1_shared(path);
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

	if (vfs_open_db_shared(path, key1, dbid1, SQLITE_OPEN_READWRITE |
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
	db = open1_shared(path);
	CHECK(qint(db, "SELECT count(*) FROM t", &rc) == 400);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE v = 2", &rc) == 200);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE v = 3", &rc) == 200);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(hook_n == 0);
	rm_db(path);
}

int
main(void)
{
	vfs_fixture_setup();
	RUN(t_wal_mask);
	RUN(t_wal_page_read);
	RUN(t_wal_rewrite);
	vfs_fixture_teardown();
	TEST_EXIT();
}
