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
 * What vault_vfs.c and vault_vfs_page.c share: the layout constants,
 * the keys of one open file and the file itself.  Only these two files
 * include it.
 */

#ifndef VAULT_VFS_FILE_H
#define VAULT_VFS_FILE_H

#include <stdint.h>

#include <sodium.h>
#include <sqlite3.h>

#include "vault_vfs.h"

#define PAGE		VFS_PAGESIZE
#define USABLE		(VFS_PAGESIZE - VFS_RESERVE)	/* 4056 */
#define NONCE_OFF	USABLE				/* 24 bytes */
#define TAG_OFF		(USABLE + 24)			/* 16 bytes */
#define AD_LEN		(8 + VFS_DBIDLEN)
#define WALHDR		32
#define FRAMEHDR	24
#define FRAME		(FRAMEHDR + PAGE)		/* 4120 */
#define SCRATCH		FRAME
#define REG_SLOTS	16
#define HANDLE_HEX	(VFS_HANDLELEN - 1)
#define KDF_CONTEXT	"tresorvf"
#define KDF_PAGE	1
#define KDF_MASK	2
#define KDF_STATE	3
#define ROUND8(x)	(((x) + 7) & ~(size_t)7)
#define URI_MAX		(3 * PATH_MAX + 64)

enum vfs_kind {
	VK_MAIN,	/* main database: page encryption */
	VK_WAL,		/* WAL: frame encryption and checksum mask */
	VK_JOURNAL,	/* rollback journal: record pages */
	VK_TEMP,	/* nameless temp file: keystream by offset */
	VK_PLAIN	/* super-journal: names only, in clear */
};

struct vfs_keys {
	unsigned char	 page[32];
	unsigned char	 mask[32];
	unsigned char	 state[32];
	unsigned char	 stream[crypto_stream_xchacha20_KEYBYTES];
	unsigned char	 nonce[crypto_stream_xchacha20_NONCEBYTES];
	unsigned char	 dbid[VFS_DBIDLEN];
};

/*
 * The page-state digest of a main database and the bookkeeping that
 * keeps it (vault_vfs_state.c).  h[P - 1] is page P's share of the
 * digest, all zeros for none.  The WAL's frames since its last commit
 * wait in pend until a synced commit frame makes them the state.
 */
struct vfs_pend {
	uint32_t	 pgno;
	unsigned char	 h[VFS_STATELEN];
};

struct vfs_state {
	unsigned char	  d[VFS_STATELEN];
	unsigned char	(*h)[VFS_STATELEN];
	uint32_t	  npages;	/* database size after the last commit */
	uint32_t	  cap;
	int		  lost;		/* lost track: no digest */
	/* WAL frames of this generation not yet committed. */
	struct vfs_pend	 *pend;
	size_t		  npend;
	size_t		  cappend;
	uint64_t	  committed;	/* frames of the generation committed */
	int64_t		  commit_at;	/* commit frame awaiting its sync */
	uint32_t	  commit_size;
};

/* The page last read from the WAL, which a checkpoint then copies. */
struct vfs_hint {
	int		 set;
	uint32_t	 pgno;
	unsigned char	 nonce[24];
	unsigned char	 page[USABLE];
};

struct vfs_file {
	sqlite3_file	 base;		/* must be first */
	sqlite3_file	*real;		/* the unix VFS's file, after us */
	struct vfs_keys	*keys;		/* sodium_malloc'd */
	struct vfs_file	*mainf;		/* WAL: its main database */
	struct vfs_state *st;		/* main database: digest, if kept */
	struct vfs_hint	*hint;		/* main database: checkpoint copy */
	unsigned char	*scratch;	/* SCRATCH bytes */
	const char	*dbpath;	/* main database, for the hook */
	sqlite3_int64	 last_off;	/* offset of the cached pgno */
	sqlite3_int64	 wr_lo;		/* lowest frame written (WAL) */
	uint32_t	 last_pgno;
	enum vfs_kind	 kind;
};

/* vault_vfs.c */
struct vfs_file *vfs_main_file(sqlite3 *);

/* vault_vfs_page.c: reads and writes by kind of file. */
int	 vfs_page1_ok(const unsigned char *);
int	 vfs_main_read(struct vfs_file *, unsigned char *, int,
	    sqlite3_int64);
int	 vfs_main_write(struct vfs_file *, const unsigned char *, int,
	    sqlite3_int64);
int	 vfs_wal_read(struct vfs_file *, unsigned char *, int,
	    sqlite3_int64);
int	 vfs_wal_write(struct vfs_file *, const unsigned char *, int,
	    sqlite3_int64);
int	 vfs_jrnl_read(struct vfs_file *, unsigned char *, int,
	    sqlite3_int64);
int	 vfs_jrnl_write(struct vfs_file *, const unsigned char *, int,
	    sqlite3_int64);
int	 vfs_temp_read(struct vfs_file *, unsigned char *, int,
	    sqlite3_int64);
int	 vfs_temp_write(struct vfs_file *, const unsigned char *, int,
	    sqlite3_int64);

void	 vfs_authfail(struct vfs_file *, long long, const char *);

/* vault_vfs_state.c: the page-state digest's bookkeeping. */
void	 vfs_state_free(struct vfs_file *);
void	 vfs_state_close(struct vfs_file *);
int	 vfs_check_length(sqlite3 *);
const unsigned char *vfs_state_hint(struct vfs_file *, uint32_t,
	    const unsigned char *);
void	 vfs_state_wal_read(struct vfs_file *, const unsigned char *,
	    const unsigned char *, uint32_t);
void	 vfs_state_wal_reset(struct vfs_file *);
void	 vfs_state_wal_header(struct vfs_file *, const unsigned char *,
	    sqlite3_int64);
void	 vfs_state_wal_page(struct vfs_file *, const unsigned char *,
	    uint32_t, sqlite3_int64);
void	 vfs_state_wal_sync(struct vfs_file *);

#endif /* VAULT_VFS_FILE_H */
