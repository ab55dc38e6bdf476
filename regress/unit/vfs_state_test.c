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
 * The page-state digest (vault_vfs_state.c): the digest kept commit by
 * commit must equal the one computed by reading the file, through
 * commits, cache spills that roll back or commit, WAL restarts,
 * databases that shrink, reopening and a crash; and a page put back to
 * an older version, or a file cut short, must show.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "../../vaultd/vault_vfs.h"
#include "test.h"
#include "vfs_fixture.h"

TEST_GLOBALS;

static sqlite3	*open_kept(const char *, unsigned char *);
static void	 same(sqlite3 *);
static void	 kept(sqlite3 *, unsigned char *);
static __dead void crash_child(const char *, int);
static void	 t_commits(void);
static void	 t_spill_rollback(void);
static void	 t_spill_commit(void);
static void	 t_wal_restart(void);
static void	 t_shrink(void);
static void	 t_reopen(void);
static void	 t_crash(void);
static void	 t_old_page(void);
static void	 t_truncated(void);
static void	 t_cost(void);

/* Open and start keeping the digest; d gets it if not NULL. */
static sqlite3 *
open_kept(const char *path, unsigned char *d)
{
	sqlite3	*db;

	db = open1(path);
	CHECK(vfs_state_start(db, d) == SQLITE_OK);
	return (db);
}

/* The digest kept equals the one read from the file, now. */
static void
same(sqlite3 *db)
{
	unsigned char	 a[VFS_STATELEN], b[VFS_STATELEN];

	CHECK(vfs_state_digest(db, a) == SQLITE_OK);
	CHECK(vfs_state_scan(db, b) == SQLITE_OK);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	/* Scanning (which checkpoints) did not disturb what is kept. */
	CHECK(vfs_state_digest(db, b) == SQLITE_OK);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
}

static void
kept(sqlite3 *db, unsigned char *d)
{
	CHECK(vfs_state_digest(db, d) == SQLITE_OK);
}

/* Commits, each checked; the digest moves with every one. */
static void
t_commits(void)
{
	const char	*path = P("commits.db");
	unsigned char	 d0[VFS_STATELEN], d1[VFS_STATELEN];
	sqlite3		*db;
	int		 i;

	rm_db(path);
	db = open_kept(path, d0);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	same(db);
	for (i = 0; i < 6; i++) {
		fill_rows(db, i * 5, i * 5 + 5, "commit");
		kept(db, d1);
		CHECK(memcmp(d0, d1, sizeof(d0)) != 0);
		memcpy(d0, d1, sizeof(d0));
		if (i % 2 == 1)
			same(db);
	}
	/* A flag-sized change to one row moves it too. */
	CHECK(ex(db, "UPDATE m SET subject = 'flagged' WHERE id = 3") ==
	    SQLITE_OK);
	kept(db, d1);
	CHECK(memcmp(d0, d1, sizeof(d0)) != 0);
	same(db);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/*
 * A transaction larger than the page cache spills pages into the WAL
 * (some of them twice: page-only rewrites), then rolls back: nothing
 * committed, the digest does not move; the next commit writes over
 * the spilled frames.
 */
static void
t_spill_rollback(void)
{
	const char	*path = P("spill.db");
	unsigned char	 d0[VFS_STATELEN], d1[VFS_STATELEN];
	sqlite3		*db;
	int		 rc;

	rm_db(path);
	db = open_kept(path, NULL);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=10; "
	    "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB); "
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < 300) INSERT INTO t SELECT x, 1, randomblob(900) "
	    "FROM c") == SQLITE_OK);
	kept(db, d0);
	CHECK(ex(db, "BEGIN; UPDATE t SET v = 2, pad = randomblob(900); "
	    "UPDATE t SET v = 3 WHERE id % 2 = 0; "
	    "INSERT INTO t SELECT id + 1000, 4, randomblob(2000) FROM t; "
	    "ROLLBACK") == SQLITE_OK);
	kept(db, d1);
	CHECK(memcmp(d0, d1, sizeof(d0)) == 0);
	same(db);
	/* Again without the checkpoint that same() made. */
	CHECK(ex(db, "BEGIN; UPDATE t SET pad = randomblob(1000); "
	    "ROLLBACK") == SQLITE_OK);
	CHECK(ex(db, "UPDATE t SET v = 5 WHERE id = 7") == SQLITE_OK);
	same(db);
	CHECK(qint(db, "SELECT count(*) FROM t WHERE v = 1", &rc) == 299);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/* Spilled and rewritten pages in a transaction that commits. */
static void
t_spill_commit(void)
{
	const char	*path = P("spillc.db");
	sqlite3		*db;

	rm_db(path);
	db = open_kept(path, NULL);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=10; "
	    "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad BLOB); "
	    "BEGIN; "
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < 400) INSERT INTO t SELECT x, 1, randomblob(900) "
	    "FROM c; "
	    "UPDATE t SET v = 2, pad = randomblob(900); "
	    "UPDATE t SET v = 3 WHERE id % 2 = 0; "
	    "COMMIT") == SQLITE_OK);
	same(db);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/*
 * Checkpoints in the middle (SQLite's own, PASSIVE, RESTART): the log
 * starts again at offset 32 and the digest follows.
 */
static void
t_wal_restart(void)
{
	const char	*path = P("restart.db");
	sqlite3		*db;
	int		 i;

	rm_db(path);
	db = open_kept(path, NULL);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=20") == SQLITE_OK);
	for (i = 0; i < 8; i++) {
		fill_rows(db, i * 10, i * 10 + 10, "restart");
		if (i == 2)
			CHECK(ex(db, "PRAGMA wal_checkpoint(PASSIVE)") ==
			    SQLITE_OK);
		if (i == 5)
			CHECK(ex(db, "PRAGMA wal_checkpoint(RESTART)") ==
			    SQLITE_OK);
	}
	same(db);
	/* After same()'s TRUNCATE the log restarts from nothing. */
	fill_rows(db, 100, 110, "restart");
	CHECK(ex(db, "DELETE FROM m WHERE id < 20") == SQLITE_OK);
	same(db);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/* Commits that make the database smaller. */
static void
t_shrink(void)
{
	const char	*path = P("shrink.db");
	sqlite3		*db;
	sqlite3_int64	 before, after;
	int		 rc;

	rm_db(path);
	db = open_kept(path, NULL);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	fill_rows(db, 0, 60, "shrink");
	before = qint(db, "PRAGMA page_count", &rc);
	CHECK(ex(db, "DELETE FROM m WHERE id >= 10") == SQLITE_OK);
	same(db);
	CHECK(ex(db, "VACUUM") == SQLITE_OK);
	after = qint(db, "PRAGMA page_count", &rc);
	CHECK(after < before);
	same(db);
	/* Incremental vacuum: each step a commit that shrinks. */
	CHECK(ex(db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM") == SQLITE_OK);
	fill_rows(db, 100, 150, "shrink");
	CHECK(ex(db, "DELETE FROM m WHERE id >= 110") == SQLITE_OK);
	before = qint(db, "PRAGMA page_count", &rc);
	CHECK(ex(db, "PRAGMA incremental_vacuum(20)") == SQLITE_OK);
	same(db);
	CHECK(ex(db, "PRAGMA incremental_vacuum") == SQLITE_OK);
	after = qint(db, "PRAGMA page_count", &rc);
	CHECK(after < before);
	same(db);
	CHECK(qok(db, "PRAGMA integrity_check"));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/*
 * Closed (SQLite checkpoints at close) and reopened, with and without
 * a log left behind: the start computes the digest last kept.
 */
static void
t_reopen(void)
{
	const char	*path = P("reopen.db");
	unsigned char	 d0[VFS_STATELEN], d1[VFS_STATELEN];
	sqlite3		*db, *other;

	rm_db(path);
	db = open_kept(path, NULL);
	fill_rows(db, 0, 30, "reopen");
	kept(db, d0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	db = open_kept(path, d1);
	CHECK(memcmp(d0, d1, sizeof(d0)) == 0);

	/*
	 * A log that survives: a second connection holds it open, which
	 * needs normal locking (vaultd's own opens are exclusive).  The
	 * exclusive open below then recovers the log.
	 */
	CHECK(sqlite3_close(db) == SQLITE_OK);
	db = open1_shared(path);
	CHECK(vfs_state_start(db, NULL) == SQLITE_OK);
	other = open1_shared(path);
	CHECK(ex(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	fill_rows(db, 30, 40, "reopen");
	CHECK(ex(db, "UPDATE m SET subject = 'x' WHERE id = 5") == SQLITE_OK);
	kept(db, d0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(fsize(P("reopen.db-wal")) > WALHDR);
	CHECK(sqlite3_close(other) == SQLITE_OK);
	db = open_kept(path, d1);
	CHECK(memcmp(d0, d1, sizeof(d0)) == 0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/*
 * The child commits, reporting the digest after each commit, then
 * starts a large transaction and is killed in its middle.
 */
static void
crash_child(const char *path, int fd)
{
	unsigned char	 d[VFS_STATELEN];
	sqlite3		*db = NULL;
	int		 i;

	alarm(30);
	if (vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &db) != SQLITE_OK ||
	    vfs_state_start(db, NULL) != SQLITE_OK ||
	    ex(db, "PRAGMA wal_autocheckpoint=50; PRAGMA cache_size=20; "
	    "CREATE TABLE t(id INTEGER PRIMARY KEY, pad BLOB)") != SQLITE_OK)
		_exit(1);
	for (i = 0; i < 40; i++) {
		if (ex(db, "INSERT INTO t(pad) VALUES (randomblob(3000))") !=
		    SQLITE_OK || vfs_state_digest(db, d) != SQLITE_OK)
			_exit(1);
		if (write(fd, d, sizeof(d)) != sizeof(d))
			_exit(1);
	}
	if (ex(db, "BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
	    "SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO t(pad) "
	    "SELECT randomblob(3000) FROM c") != SQLITE_OK)
		_exit(1);
	memset(d, 0xff, sizeof(d));
	if (write(fd, d, sizeof(d)) != sizeof(d))
		_exit(1);
	for (;;)
		pause();
}

/* kill -9 in the middle of a transaction: no false alarm after. */
static void
t_crash(void)
{
	const char	*path = P("crash.db");
	unsigned char	 last[VFS_STATELEN], d[VFS_STATELEN];
	unsigned char	 end[VFS_STATELEN];
	struct pollfd	 pfd;
	sqlite3		*db;
	pid_t		 pid;
	int		 fds[2], n = 0, rc;

	rm_db(path);
	memset(end, 0xff, sizeof(end));
	CHECK(pipe(fds) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		close(fds[0]);
		crash_child(path, fds[1]);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	for (;;) {
		CHECK(poll(&pfd, 1, WAIT_MS) == 1);
		CHECK(read(fds[0], d, sizeof(d)) == sizeof(d));
		if (memcmp(d, end, sizeof(d)) == 0)
			break;
		memcpy(last, d, sizeof(d));
		n++;
	}
	close(fds[0]);
	CHECK(n == 40);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &rc, 0) == pid);
	CHECK(fsize(P("crash.db-wal")) > WALHDR);
	db = open_kept(path, d);
	CHECK(memcmp(d, last, sizeof(d)) == 0);
	CHECK(qint(db, "SELECT count(*) FROM t", &rc) == 40);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

/*
 * The review's attack: the page holding a counter kept, two other
 * pages put back from an older copy of the same file.  Every page
 * still authenticates; the digest does not match.
 */
static void
t_old_page(void)
{
	const char	*path = P("old.db"), *copy = P("old-copy.db");
	unsigned char	 d0[VFS_STATELEN], d1[VFS_STATELEN];
	unsigned char	*a, *b;
	sqlite3		*db;
	size_t		 alen, blen, off;
	int		 rc, changed = 0;

	rm_db(path);
	rm_db(copy);
	db = open_kept(path, NULL);
	fill_rows(db, 0, 20, "old");
	CHECK(sqlite3_close(db) == SQLITE_OK);
	cp(path, copy);
	db = open_kept(path, NULL);
	CHECK(ex(db, "UPDATE m SET subject = 'changed' WHERE id IN (2, 15)") ==
	    SQLITE_OK);
	kept(db, d0);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	/* Put back the older version of every page that changed but 1. */
	a = slurp(path, &alen);
	b = slurp(copy, &blen);
	for (off = PAGE; off < alen && off < blen; off += PAGE) {
		if (memcmp(a + off, b + off, PAGE) == 0)
			continue;
		memcpy(a + off, b + off, PAGE);
		changed++;
	}
	CHECK(changed >= 1);
	spit(path, a, alen);
	free(a);
	free(b);

	hook_reset();
	db = open_kept(path, d1);
	CHECK(memcmp(d0, d1, sizeof(d0)) != 0);
	/* Each page alone is authentic: nothing else would notice. */
	CHECK(qint(db, "SELECT count(*) FROM m WHERE subject = 'changed'",
	    &rc) == 0 && rc == SQLITE_OK);
	CHECK(hook_n == 0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
	rm_db(copy);
}

/*
 * A file cut on a page boundary: the start refuses it and says so,
 * before any SQL reads a missing page.
 */
static void
t_truncated(void)
{
	const char	*path = P("trunc.db");
	unsigned char	*a;
	sqlite3		*db = NULL;
	size_t		 alen;

	rm_db(path);
	db = open_kept(path, NULL);
	fill_rows(db, 0, 20, "trunc");
	CHECK(sqlite3_close(db) == SQLITE_OK);
	a = slurp(path, &alen);
	CHECK(alen > 4 * PAGE);
	spit(path, a, alen - 2 * PAGE);
	free(a);
	hook_reset();
	CHECK(vfs_open_db(path, key1, dbid1, SQLITE_OPEN_READWRITE, &db) ==
	    SQLITE_IOERR_DATA);
	CHECK(db == NULL);
	CHECK(hook_saw(VFS_FAIL_TRUNCATED, (long long)(alen / PAGE - 1)));
	CHECK(hook_n == 1);
	rm_db(path);
}

#define COST_COMMITS	200

static double
ms(const struct timespec *a, const struct timespec *b)
{
	return ((b->tv_sec - a->tv_sec) * 1e3 +
	    (b->tv_nsec - a->tv_nsec) / 1e6);
}

/*
 * The cost at open of a database of about 40 MB (10,000 pages) and of
 * a commit; printed, not asserted (machine speed).  TRESOR_STATE_PAGES
 * sets another size.
 */
static void
t_cost(void)
{
	const char	*path = P("cost.db"), *env;
	unsigned char	 d[VFS_STATELEN];
	struct timespec	 t0, t1, c0, c1;
	sqlite3		*db;
	sqlite3_int64	 pages;
	double		 plain;
	long		 want = 10000;
	int		 rc, i;

	if ((env = getenv("TRESOR_STATE_PAGES")) != NULL)
		want = strtol(env, NULL, 10);
	rm_db(path);
	db = open1(path);
	CHECK(ex(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, pad BLOB)") ==
	    SQLITE_OK);
	{
		char	 sql[200];

		sfmt(sql, sizeof(sql), "WITH RECURSIVE c(x) AS (SELECT 1 "
		    "UNION ALL SELECT x + 1 FROM c WHERE x < %ld) INSERT INTO "
		    "t(pad) SELECT randomblob(3500) FROM c", want);
		CHECK(ex(db, sql) == SQLITE_OK);
	}
	CHECK(sqlite3_close(db) == SQLITE_OK);
	/* Commits without the digest, then with it. */
	db = open1(path);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (i = 0; i < COST_COMMITS; i++)
		CHECK(ex(db, "UPDATE t SET pad = randomblob(3500) WHERE id = "
		    "abs(random() % 1000) + 1") == SQLITE_OK);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	plain = ms(&t0, &t1);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	db = open1(path);
	pages = qint(db, "PRAGMA page_count", &rc);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(vfs_state_start(db, d) == SQLITE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (i = 0; i < COST_COMMITS; i++)
		CHECK(ex(db, "UPDATE t SET pad = randomblob(3500) WHERE id = "
		    "abs(random() % 1000) + 1") == SQLITE_OK);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	same(db);
	printf("# state: %lld pages (%.1f MB): start %.1f ms; %d one-row "
	    "commits: CPU %.1f ms without the digest, %.1f ms with it\n",
	    (long long)pages, pages * PAGE / 1e6, ms(&t0, &t1), COST_COMMITS,
	    plain, ms(&c0, &c1));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	rm_db(path);
}

int
main(void)
{
	vfs_fixture_setup();
	RUN(t_commits);
	RUN(t_spill_rollback);
	RUN(t_spill_commit);
	RUN(t_wal_restart);
	RUN(t_shrink);
	RUN(t_reopen);
	RUN(t_crash);
	RUN(t_old_page);
	RUN(t_truncated);
	RUN(t_cost);
	vfs_fixture_teardown();
	TEST_EXIT();
}
