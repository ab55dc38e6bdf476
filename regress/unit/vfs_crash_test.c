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
 * Crash durability of the encrypting VFS, children killed with SIGKILL:
 * mid-transaction in WAL mode (and after a restart), mid-checkpoint, in
 * rollback-journal mode, and with the journal not synced.
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

static int	 wait_msg(int, int *, int);
static void	 send_msg(int, int);
static void	 reap(pid_t);
static __dead void crash_child(const char *, int, int, int);
static __dead void ckpt_child(const char *, int);
static __dead void jrnl_child(const char *, int, int);
static void	 t_crash_wal(void);
static void	 t_crash_wal_restart(void);
static void	 t_crash_checkpoint(void);
static void	 t_crash_journal(void);
static void	 t_journal_nosync(void);

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

int
main(void)
{
	vfs_fixture_setup();
	RUN(t_crash_wal);
	RUN(t_crash_wal_restart);
	RUN(t_crash_checkpoint);
	RUN(t_crash_journal);
	RUN(t_journal_nosync);
	vfs_fixture_teardown();
	TEST_EXIT();
}
