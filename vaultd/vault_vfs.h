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
 * The encrypting SQLite VFS ("tresor") that vaultd opens every database
 * through.  See the comment at the top of vault_vfs.c for the on-disk
 * format and for what it does not protect against.
 */

#ifndef VAULT_VFS_H
#define VAULT_VFS_H

#include <stddef.h>

#include <sqlite3.h>

#define VFS_NAME	"tresor"
#define VFS_KEYLEN	32	/* database key */
#define VFS_DBIDLEN	16	/* database id, bound into every page */
#define VFS_PAGESIZE	4096
#define VFS_RESERVE	40	/* nonce (24) + tag (16) at the end of a page */
#define VFS_HANDLELEN	33	/* key handle: 32 hex digits and a NUL */
#define VFS_STATELEN	32	/* page-state digest */

/* Kinds passed to the authentication-failure hook. */
#define VFS_FAIL_DB		"db"		/* main database page */
#define VFS_FAIL_WAL		"wal"		/* WAL page read */
#define VFS_FAIL_WALFRAME	"wal-frame"	/* WAL frame: end of log */
#define VFS_FAIL_WALTAMPER	"wal-tamper"	/* bad frame before good */
#define VFS_FAIL_JOURNAL	"journal"	/* rollback journal record */
#define VFS_FAIL_TRUNCATED	"truncated"	/* main file cut short */

/*
 * Register the "tresor" VFS (not as the default).  Idempotent.
 * Returns SQLITE_OK or an SQLite error code.
 */
int	vfs_register(void);

/*
 * Open (creating it if flags allow) the encrypted database at path with
 * a 32-byte key and a 16-byte database id.  flags are sqlite3_open_v2()
 * flags; SQLITE_OPEN_URI and SQLITE_OPEN_EXRESCODE are added.  A new
 * database is set up with reserve 40 and page size 4096; unless opened
 * read-only, every database is put in WAL mode (which on a new one
 * writes page 1).  Then page 1 is checked through the shim (page size
 * 4096, reserve 40, else SQLITE_NOTADB) and synchronous=FULL,
 * temp_store=MEMORY and mmap_size=0 are set and verified.  Returns
 * SQLITE_OK with *dbp set, or an extended SQLite error code with *dbp
 * NULL: a wrong key or database id gives SQLITE_IOERR_DATA (8202).
 */
int	vfs_open_db(const char *, const unsigned char *, const unsigned char *,
	    int, sqlite3 **);

/*
 * vfs_open_db() opens for writing with locking_mode=EXCLUSIVE, set
 * before the WAL is first opened: the WAL index stays in this process's
 * heap and no -shm file exists, and no other connection may use the
 * database while this one is open (it gets SQLITE_BUSY).  Production
 * opens each database once, for writing.  A read-only open keeps normal
 * locking (an exclusive lock needs a writable descriptor).
 * vfs_open_db_shared() keeps SQLite's normal locking, with the index in
 * a -shm file, for tests that open one database twice.
 */
int	vfs_open_db_shared(const char *, const unsigned char *,
	    const unsigned char *, int, sqlite3 **);

/*
 * Called on every detected authentication failure with the main
 * database's path, the page number (-1 if unknown) and one of the
 * VFS_FAIL_* kinds.  It runs inside an SQLite call: it must not use the
 * connection.  NULL restores the default, which logs with log_warnx().
 * Set it before opening databases: it is read without a lock.
 */
void	vfs_set_authfail_hook(void (*)(const char *, long long,
	    const char *));

/*
 * For ATTACH, VACUUM INTO and backup targets: register a key and get a
 * one-time handle for a "file:<path>?vfs=tresor&tkey=<handle>" URI, so
 * the key never appears in SQL text.  The first main-database open that
 * names the handle consumes it; vfs_key_forget() drops an unused one.
 * Returns SQLITE_OK, SQLITE_FULL (too many pending) or SQLITE_MISUSE.
 */
int	vfs_key_handle(const unsigned char *, const unsigned char *, char *,
	    size_t);
void	vfs_key_forget(const char *);

/*
 * Check, through the shim's own decrypting read, that page 1 of the
 * named schema ("main" if NULL) says page size 4096 and reserve 40.
 * Returns SQLITE_OK, SQLITE_CORRUPT if it does not, or the read error.
 */
int	vfs_check_header(sqlite3 *, const char *);

/*
 * The page-state digest of a database (vault_vfs_state.c): the XOR
 * over its pages P of BLAKE2b-256(key = state subkey, le64(P) ||
 * nonce || tag), for the sealed version of each page that a full
 * checkpoint would leave in the main file.  Any page put back to an
 * older version, or missing, changes it.
 *
 * vfs_state_start() checkpoints the WAL into the main file and empties
 * it (TRUNCATE), checks that the file holds every page page 1 counts
 * (else the hook is called with VFS_FAIL_TRUNCATED and the result is
 * SQLITE_IOERR_DATA), reads every page's nonce and tag (no decryption)
 * and from then on keeps the digest up to date at each commit, for
 * the connection that called it, which must be the database's only
 * writer.  vfs_state_digest() gives the digest of the last commit:
 * SQLITE_OK, or SQLITE_ERROR if it is not kept (not started, or lost
 * track: logged).  vfs_state_scan() computes it afresh from the file
 * the same way as vfs_state_start() but changes nothing that is kept;
 * it is how the tests check the bookkeeping.
 */
int	vfs_state_start(sqlite3 *, unsigned char *);
int	vfs_state_digest(sqlite3 *, unsigned char *);
int	vfs_state_scan(sqlite3 *, unsigned char *);

#endif /* VAULT_VFS_H */
