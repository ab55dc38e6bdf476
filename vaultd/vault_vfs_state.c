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
 * The page-state digest of a database: what binds every page's current
 * version to the commit counter that vaultd records in directory.db.
 * Per-page AEAD cannot tell a page from an older version of itself; a
 * digest of all the pages' versions, recorded outside the file, can.
 *
 *	D = XOR over pages P of BLAKE2b-256(key = state subkey,
 *	    le64(P) || nonce_P || tag_P)
 *
 * where nonce_P and tag_P are the 40 reserved bytes of the sealed page
 * P a full checkpoint leaves in the main file.  The state subkey is id
 * 3 of the database key (vault_vfs.c).  A page put back to an older
 * version, dropped or added changes D, and nobody without the key can
 * compute what D becomes; since each page's share is separate, D is
 * updated page by page without reading the file again.
 *
 * How it is kept, for one connection that is the database's only
 * writer:
 *
 *	- vfs_state_start() checkpoints the WAL into the main file and
 *	  empties it, then reads every page's nonce and tag (40 bytes a
 *	  page; nothing is decrypted but page 1, for the page count).
 *	- Each page written to the WAL gets its share computed from the
 *	  nonce and tag it was just sealed with, and waits, by frame, in
 *	  the pending list.  A page written again in the same transaction
 *	  (cache spill: the page alone, no new header) replaces its
 *	  frame's share.
 *	- A frame header with a non-zero "database size after commit" is
 *	  a commit frame; once the WAL is synced after it (every commit
 *	  is, with synchronous=FULL) the pending frames up to it become
 *	  the state, the later frame of a page winning, and pages past
 *	  the new size leave it.  A transaction that rolls back after
 *	  spilling frames never writes a commit frame: the next one writes
 *	  over its frames from the same place.  A frame written below the
 *	  committed ones, or a page without its header, cannot happen with
 *	  one writer: the digest is then declared lost (logged), not
 *	  guessed, and vfs_state_digest() fails until the next start.
 *	- A new WAL header (the log restarts at offset 32 after a full
 *	  checkpoint) starts a new generation of frames.
 *	- A checkpoint copies a page from the WAL into the main file: it
 *	  reads the frame's page, then writes it.  The write reuses the
 *	  frame's nonce when its page number and content are those just
 *	  read, so the main file gets the very bytes of the frame, same
 *	  tag: D does not change when pages move into the main file, and
 *	  a later start computes the same D.  This is done for every
 *	  database and connection, whether D is kept or not, so that a
 *	  checkpoint by anyone (at close, at the next open, after a
 *	  crash) leaves the same bytes.  (The same nonce with the
 *	  same key, associated data and plaintext gives the same
 *	  ciphertext: nothing new is revealed.)  Any other write to the
 *	  main file while D is kept loses it.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "vault_vfs.h"
#include "vault_vfs_file.h"

/* SQLite never writes the page holding its lock bytes (at 1 GiB). */
#define PENDING_PGNO	((uint32_t)(0x40000000 / PAGE + 1))

static int	 share(const struct vfs_keys *, uint32_t,
		    const unsigned char *, unsigned char *);
static int	 state_set(struct vfs_state *, uint32_t,
		    const unsigned char *);
static void	 state_cut(struct vfs_state *, uint32_t);
static void	 state_lose(struct vfs_file *, struct vfs_state *,
		    const char *);
static void	 state_free(struct vfs_state *);
static struct vfs_state *wal_state(struct vfs_file *);
static int	 main_pages(struct vfs_file *, uint32_t *, sqlite3_int64 *);
static int	 state_scan(sqlite3 *, struct vfs_file *,
		    struct vfs_state **);

/*
 * Page pgno's share of the digest from its 40 reserved bytes (nonce,
 * tag) rsv; all zeros, never sealed (a hole), has none: out is zeroed.
 */
static int
share(const struct vfs_keys *k, uint32_t pgno, const unsigned char *rsv,
    unsigned char *out)
{
	unsigned char	 in[8 + VFS_RESERVE], acc = 0;
	int		 i;

	for (i = 0; i < VFS_RESERVE; i++)
		acc |= rsv[i];
	if (acc == 0) {
		memset(out, 0, VFS_STATELEN);
		return (0);
	}
	for (i = 0; i < 8; i++)
		in[i] = (unsigned char)((uint64_t)pgno >> (8 * i));
	memcpy(in + 8, rsv, VFS_RESERVE);
	if (crypto_generichash(out, VFS_STATELEN, in, sizeof(in), k->state,
	    sizeof(k->state)) != 0)
		return (-1);
	return (0);
}

/* Page pgno's share becomes h. */
static int
state_set(struct vfs_state *st, uint32_t pgno, const unsigned char *h)
{
	unsigned char	(*nh)[VFS_STATELEN];
	uint32_t	  ncap;
	int		  i;

	if (pgno == 0)
		return (-1);
	if (pgno > st->cap) {
		ncap = st->cap < 64 ? 64 : st->cap;
		while (ncap < pgno)
			ncap = ncap > UINT32_MAX / 2 ? pgno : ncap * 2;
		if ((nh = reallocarray(st->h, ncap, VFS_STATELEN)) == NULL)
			return (-1);
		memset(nh + st->cap, 0, (size_t)(ncap - st->cap) *
		    VFS_STATELEN);
		st->h = nh;
		st->cap = ncap;
	}
	for (i = 0; i < VFS_STATELEN; i++) {
		st->d[i] ^= st->h[pgno - 1][i] ^ h[i];
		st->h[pgno - 1][i] = h[i];
	}
	return (0);
}

/* The database now has npages pages: those past it leave the digest. */
static void
state_cut(struct vfs_state *st, uint32_t npages)
{
	uint32_t	 p;
	int		 i;

	for (p = npages; p < st->cap; p++) {
		for (i = 0; i < VFS_STATELEN; i++)
			st->d[i] ^= st->h[p][i];
		memset(st->h[p], 0, VFS_STATELEN);
	}
	st->npages = npages;
}

static void
state_lose(struct vfs_file *vf, struct vfs_state *st, const char *why)
{
	if (st->lost)
		return;
	st->lost = 1;
	log_warnx("vault_vfs: %s: the page-state digest is no longer kept: "
	    "%s", vf->dbpath != NULL ? vf->dbpath : "(temp)", why);
}

static void
state_free(struct vfs_state *st)
{
	if (st == NULL)
		return;
	free(st->h);
	free(st->pend);
	free(st);
}

void
vfs_state_free(struct vfs_file *vf)
{
	state_free(vf->st);
	vf->st = NULL;
}

/* At close: the state and the hint, which holds a page in clear. */
void
vfs_state_close(struct vfs_file *vf)
{
	vfs_state_free(vf);
	if (vf->hint != NULL)
		freezero(vf->hint, sizeof(*vf->hint));
	vf->hint = NULL;
}

/* The kept state of a WAL's database, or NULL. */
static struct vfs_state *
wal_state(struct vfs_file *wal)
{
	if (wal->mainf == NULL || wal->mainf->st == NULL ||
	    wal->mainf->st->lost)
		return (NULL);
	return (wal->mainf->st);
}

/*
 * A page read from the WAL (a checkpoint reads each page it copies just
 * before writing it to the main file).  Kept whether or not the digest
 * is: whichever connection checkpoints, the main file must get the
 * frame's own bytes.
 */
void
vfs_state_wal_read(struct vfs_file *wal, const unsigned char *nonce,
    const unsigned char *page, uint32_t pgno)
{
	struct vfs_file	*mf = wal->mainf;

	if (mf == NULL)
		return;
	if (mf->hint == NULL && (mf->hint = calloc(1,
	    sizeof(*mf->hint))) == NULL)
		return;
	mf->hint->set = 1;
	mf->hint->pgno = pgno;
	memcpy(mf->hint->nonce, nonce, sizeof(mf->hint->nonce));
	memcpy(mf->hint->page, page, USABLE);
}

/*
 * A page about to be written to the main file: the nonce to seal it
 * with if it is the page just read from the WAL, else NULL (a new
 * one).  While the digest is kept, nothing else may reach the main
 * file.
 */
const unsigned char *
vfs_state_hint(struct vfs_file *vf, uint32_t pgno, const unsigned char *page)
{
	struct vfs_hint	*hi = vf->hint;

	if (hi != NULL && hi->set && hi->pgno == pgno &&
	    memcmp(hi->page, page, USABLE) == 0) {
		hi->set = 0;
		return (hi->nonce);
	}
	if (vf->st != NULL)
		state_lose(vf, vf->st,
		    "a page reached the main file not from the log");
	return (NULL);
}

/* A new WAL header: a new generation of frames. */
void
vfs_state_wal_reset(struct vfs_file *wal)
{
	struct vfs_state	*st;

	if ((st = wal_state(wal)) == NULL)
		return;
	st->npend = 0;
	st->committed = 0;
	st->commit_at = -1;
}

/* A frame header (in clear, as SQLite gave it) was written at foff. */
void
vfs_state_wal_header(struct vfs_file *wal, const unsigned char *hdr,
    sqlite3_int64 foff)
{
	struct vfs_state	*st;
	struct vfs_pend		*np;
	uint64_t		 i, j;
	uint32_t		 pgno, size;
	size_t			 ncap;

	if ((st = wal_state(wal)) == NULL)
		return;
	i = (uint64_t)(foff - WALHDR) / FRAME;
	if (i < st->committed)
		return;		/* not a frame of this transaction */
	j = i - st->committed;
	pgno = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	size = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 |
	    (uint32_t)hdr[6] << 8 | hdr[7];
	if (j > st->npend) {
		state_lose(wal->mainf, st, "a WAL frame out of order");
		return;
	}
	if (j == st->npend) {
		if (st->npend == st->cappend) {
			ncap = st->cappend < 64 ? 64 : st->cappend * 2;
			if ((np = reallocarray(st->pend, ncap,
			    sizeof(*np))) == NULL) {
				state_lose(wal->mainf, st, "out of memory");
				return;
			}
			st->pend = np;
			st->cappend = ncap;
		}
		st->npend++;
		memset(&st->pend[j], 0, sizeof(st->pend[j]));
		st->pend[j].pgno = pgno;
	} else if (st->pend[j].pgno != pgno) {
		/* A frame of a transaction that rolled back, reused. */
		memset(&st->pend[j], 0, sizeof(st->pend[j]));
		st->pend[j].pgno = pgno;
	}
	/* Headers are also rewritten with new checksums before the sync. */
	if (size != 0) {
		st->commit_at = (int64_t)i;
		st->commit_size = size;
	} else if ((int64_t)i == st->commit_at)
		st->commit_at = -1;
}

/* Page pgno was sealed into the frame at foff (sealed: its 4096 bytes). */
void
vfs_state_wal_page(struct vfs_file *wal, const unsigned char *sealed,
    uint32_t pgno, sqlite3_int64 foff)
{
	struct vfs_state	*st;
	uint64_t		 i, j;

	if ((st = wal_state(wal)) == NULL)
		return;
	i = (uint64_t)(foff - WALHDR) / FRAME;
	if (i < st->committed) {
		state_lose(wal->mainf, st, "a committed WAL frame rewritten");
		return;
	}
	j = i - st->committed;
	if (j >= st->npend || st->pend[j].pgno != pgno) {
		state_lose(wal->mainf, st, "a WAL page without its header");
		return;
	}
	/* Below an unsynced commit frame: that commit did not happen. */
	if (st->commit_at >= 0 && (int64_t)i < st->commit_at)
		st->commit_at = -1;
	if (share(wal->keys, pgno, sealed + USABLE, st->pend[j].h) == -1)
		state_lose(wal->mainf, st, "cannot hash a page");
}

/*
 * The WAL was synced: a commit frame written before it is durable, and
 * its transaction's frames become the state.
 */
void
vfs_state_wal_sync(struct vfs_file *wal)
{
	struct vfs_state	*st;
	static const unsigned char zero[VFS_STATELEN];
	uint64_t		 n, k;

	if ((st = wal_state(wal)) == NULL || st->commit_at < 0)
		return;
	n = (uint64_t)st->commit_at - st->committed + 1;
	if (n > st->npend) {
		state_lose(wal->mainf, st, "a commit frame not seen");
		return;
	}
	for (k = 0; k < n; k++) {
		if (memcmp(st->pend[k].h, zero, sizeof(zero)) == 0) {
			state_lose(wal->mainf, st, "a WAL frame not sealed");
			return;
		}
		if (st->pend[k].pgno == PENDING_PGNO)
			continue;
		if (state_set(st, st->pend[k].pgno, st->pend[k].h) == -1) {
			state_lose(wal->mainf, st, "out of memory");
			return;
		}
	}
	state_cut(st, st->commit_size);
	memmove(st->pend, st->pend + n, (size_t)(st->npend - n) *
	    sizeof(*st->pend));
	st->npend -= n;
	st->committed += n;
	st->commit_at = -1;
}

/*
 * The main file's page count, from page 1 (decrypted) if its in-header
 * size is valid (file format, 1.3.7), else from its length; and its
 * length.
 */
static int
main_pages(struct vfs_file *vf, uint32_t *npages, sqlite3_int64 *size)
{
	unsigned char	 h[100];
	int		 rc;

	if ((rc = vf->real->pMethods->xFileSize(vf->real, size)) !=
	    SQLITE_OK)
		return (rc);
	rc = vf->base.pMethods->xRead(&vf->base, h, sizeof(h), 0);
	if (rc == SQLITE_IOERR_SHORT_READ)
		*npages = 0;
	else if (rc != SQLITE_OK)
		return (rc);
	else if (memcmp(h + 24, h + 92, 4) == 0 && (h[28] | h[29] | h[30] |
	    h[31]) != 0)
		*npages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 |
		    (uint32_t)h[30] << 8 | h[31];
	else
		*npages = (uint32_t)(*size / PAGE);
	return (SQLITE_OK);
}

/*
 * At open, before any SQL: a main file shorter than the pages page 1
 * counts was cut (SQLite would call it malformed), unless a log that
 * may hold the missing pages is there (after a crash in the middle of
 * a checkpoint); vfs_state_start() checks again once it is copied in.
 */
int
vfs_check_length(sqlite3 *db)
{
	struct vfs_file	*vf;
	struct stat	 sb;
	sqlite3_int64	 size;
	const char	*wal;
	uint32_t	 npages;
	int		 rc;

	if ((vf = vfs_main_file(db)) == NULL)
		return (SQLITE_MISUSE);
	sqlite3_mutex_enter(sqlite3_db_mutex(db));
	rc = main_pages(vf, &npages, &size);
	sqlite3_mutex_leave(sqlite3_db_mutex(db));
	if (rc != SQLITE_OK || size >= (sqlite3_int64)npages * PAGE)
		return (rc);
	if ((wal = sqlite3_filename_wal(vf->dbpath)) != NULL &&
	    stat(wal, &sb) == 0 && sb.st_size > WALHDR)
		return (SQLITE_OK);
	vfs_authfail(vf, size / PAGE + 1, VFS_FAIL_TRUNCATED);
	return (SQLITE_IOERR_DATA);
}

/*
 * Checkpoint and empty the WAL, check the main file's length against
 * page 1's page count, and compute the digest from every page's nonce
 * and tag into a new state.
 */
static int
state_scan(sqlite3 *db, struct vfs_file *vf, struct vfs_state **out)
{
	struct vfs_state	*st;
	unsigned char		 rsv[VFS_RESERVE], sh[VFS_STATELEN];
	sqlite3_int64		 size;
	uint32_t		 npages, p;
	int			 rc, nlog = -1, nckpt = -1;

	*out = NULL;
	rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_TRUNCATE,
	    &nlog, &nckpt);
	if (rc != SQLITE_OK)
		return (rc);
	if (nlog > 0)
		return (SQLITE_BUSY);
	if ((rc = main_pages(vf, &npages, &size)) != SQLITE_OK)
		return (rc);
	if (size < (sqlite3_int64)npages * PAGE) {
		vfs_authfail(vf, size / PAGE + 1, VFS_FAIL_TRUNCATED);
		return (SQLITE_IOERR_DATA);
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return (SQLITE_NOMEM);
	st->commit_at = -1;
	for (p = 1; p <= npages; p++) {
		if (p == PENDING_PGNO)
			continue;
		rc = vf->real->pMethods->xRead(vf->real, rsv, sizeof(rsv),
		    (sqlite3_int64)p * PAGE - VFS_RESERVE);
		if (rc != SQLITE_OK) {
			state_free(st);
			return (rc == SQLITE_IOERR_SHORT_READ ?
			    SQLITE_IOERR_DATA : rc);
		}
		if (share(vf->keys, p, rsv, sh) == -1 ||
		    state_set(st, p, sh) == -1) {
			state_free(st);
			return (SQLITE_NOMEM);
		}
	}
	st->npages = npages;
	*out = st;
	return (SQLITE_OK);
}

int
vfs_state_start(sqlite3 *db, unsigned char *d)
{
	struct vfs_state	*st;
	struct vfs_file		*vf;
	int			 rc;

	if ((vf = vfs_main_file(db)) == NULL)
		return (SQLITE_MISUSE);
	sqlite3_mutex_enter(sqlite3_db_mutex(db));
	vfs_state_free(vf);
	if ((rc = state_scan(db, vf, &st)) == SQLITE_OK) {
		vf->st = st;
		if (d != NULL)
			memcpy(d, st->d, VFS_STATELEN);
	}
	sqlite3_mutex_leave(sqlite3_db_mutex(db));
	return (rc);
}

int
vfs_state_scan(sqlite3 *db, unsigned char *d)
{
	struct vfs_state	*st;
	struct vfs_file		*vf;
	int			 rc;

	if ((vf = vfs_main_file(db)) == NULL || d == NULL)
		return (SQLITE_MISUSE);
	sqlite3_mutex_enter(sqlite3_db_mutex(db));
	if ((rc = state_scan(db, vf, &st)) == SQLITE_OK) {
		memcpy(d, st->d, VFS_STATELEN);
		state_free(st);
	}
	sqlite3_mutex_leave(sqlite3_db_mutex(db));
	return (rc);
}

int
vfs_state_digest(sqlite3 *db, unsigned char *d)
{
	struct vfs_file	*vf;
	int		 rc = SQLITE_ERROR;

	if ((vf = vfs_main_file(db)) == NULL || d == NULL)
		return (SQLITE_MISUSE);
	sqlite3_mutex_enter(sqlite3_db_mutex(db));
	if (vf->st != NULL && !vf->st->lost) {
		if (vf->st->commit_at >= 0)
			state_lose(vf, vf->st, "a commit was not synced");
		else {
			memcpy(d, vf->st->d, VFS_STATELEN);
			rc = SQLITE_OK;
		}
	}
	sqlite3_mutex_leave(sqlite3_db_mutex(db));
	return (rc);
}
