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
 * The "tresor" VFS: an encrypting shim over SQLite's "unix" VFS.  The
 * I/O patterns it relies on were measured on Debian 12's SQLite 3.40.1
 * and are written up in notes/sqlite-vfs.md.
 *
 * Keys
 *
 *	Each database has a 32-byte key K and a 16-byte database id D,
 *	both supplied by the caller.  Three subkeys are derived with
 *	crypto_kdf_derive_from_key(context "tresorvf"): id 1 encrypts
 *	pages, id 2 masks WAL checksums, id 3 keys the page-state digest
 *	(vault_vfs_state.c).  K itself is never kept: the
 *	per-file memory (sodium_malloc, wiped on close) holds the
 *	subkeys and D.  The caller's key reaches xOpen through a registry
 *	in sodium_malloc memory, named in the URI only by a random
 *	one-time handle ("tkey=<32 hex>") that the open consumes.
 *
 * On-disk format
 *
 *	Page size is 4096 and every page ends with 40 reserved bytes
 *	(SQLITE_FCNTL_RESERVE_BYTES).  A page number P (1-based) is
 *	stored as
 *
 *	    [0, 4056)     XChaCha20-Poly1305-IETF ciphertext of the
 *	                  usable area
 *	    [4056, 4080)  nonce, 24 random bytes, new on every write
 *	    [4080, 4096)  Poly1305 tag
 *
 *	with associated data le64(P) || D.  SQLite never sees the nonce
 *	and tag: a decrypted page is returned with the 40 reserved bytes
 *	zeroed.  This matters: SQLite's WAL checksums cover the reserved
 *	area, and recovery compares them with what xRead returns.
 *
 *	Main database: every 4096-byte page at offset (P-1)*4096 as above.
 *	Page 1, including the 100-byte SQLite header, is encrypted too.
 *
 *	WAL: the 32-byte header is in clear.  Each 4120-byte frame is a
 *	24-byte frame header followed by the page, encrypted as above with
 *	P taken from the frame header.  The frame header is in clear
 *	except its two checksum words (bytes 16-23), which are XORed with
 *	the first 8 bytes of BLAKE2b(key = mask subkey,
 *	D || salt-1 || salt-2 || le64(frame offset)); the salts are those
 *	of the frame header, which equal the WAL header's for every frame
 *	SQLite considers valid.  Without the mask the checksums, computed
 *	by SQLite over the plaintext with public seeds, would let anyone
 *	confirm a guessed page.
 *
 *	Rollback journal: headers and the 4-byte page number and checksum
 *	of each record are in clear; the record's page (4096 bytes at an
 *	offset that is never 4096-aligned) is encrypted as above with the
 *	record's page number.
 *
 *	Temporary files (no name: TEMP_DB, TEMP_JOURNAL, SUBJOURNAL,
 *	TRANSIENT_DB) are XORed with an XChaCha20 keystream indexed by
 *	byte offset, under a random key and nonce made at open and
 *	forgotten at close.  They are encrypted rather than refused
 *	because their layout varies (sorter runs, statement journals,
 *	VACUUM copies) and refusing would turn an innocent missing
 *	"PRAGMA temp_store=MEMORY" into failing queries; vfs_open_db()
 *	sets that pragma anyway, so normally none is opened.  The stream
 *	has no tag and reuses keystream when SQLite rewrites an offset:
 *	it protects a copy of the disk, not a file that an attacker can
 *	read twice while it is open (they are unlinked at open).  The
 *	super-journal, which holds only file names, is left in clear.
 *
 * Failures
 *
 *	A page that fails authentication (including an all-zero page, or
 *	a page cut short by truncation) is SQLITE_IOERR_DATA, and the hook
 *	set with vfs_set_authfail_hook() is called.  In the WAL, a whole
 *	frame read (recovery) that fails is returned zeroed, which SQLite
 *	takes as the end of the log: after a power loss the last,
 *	unacknowledged transaction may be torn.  But if, after a frame
 *	that fails or that SQLite would reject (salts, checksum chain),
 *	two or more later frames of the same WAL generation are
 *	authentic commit frames, that cannot be a crash with
 *	synchronous=FULL (every commit is synced before the next one is
 *	written, so at most one commit can follow a torn frame): the read
 *	fails with SQLITE_IOERR_DATA instead of letting SQLite silently
 *	drop committed transactions.  A failed rollback-journal record
 *	reads as random bytes (so its checksum fails and SQLite stops the
 *	playback there, as for a torn record) if its segment was written
 *	without sync; a record of a synced segment cannot be torn, and
 *	since stopping a playback halfway leaves half a transaction in
 *	the database, that is SQLITE_IOERR_DATA and the journal stays.
 *
 * What this does NOT protect against
 *
 *	- Rollback or replay: a whole file, or its WAL, replaced by an
 *	  older copy, or a single page replaced by an older version of
 *	  the same page of the same database.  Per-page AEAD has no
 *	  freshness; vaultd must compare a commit counter and the
 *	  page-state digest (vault_vfs_state.c) kept elsewhere.
 *	- Truncation of the WAL at a frame boundary, which drops the last
 *	  transactions like a crash would; deletion of the WAL, or damage
 *	  to its clear 32-byte header (SQLite then ignores the whole log);
 *	  deletion of a hot journal or damage to its header (SQLite then
 *	  does not roll back).  (Truncation of the main file is refused
 *	  at open: VFS_FAIL_TRUNCATED.)
 *	- Damage to a WAL frame that at most one authentic commit frame
 *	  follows, i.e. to a frame of the last transaction or to the
 *	  commit frame of the one before: it looks like a torn write, and
 *	  recovery drops those one or two transactions.
 *	- Metadata in clear: file sizes, page numbers of WAL frames and
 *	  journal records, commit markers and database sizes in pages
 *	  (hence transaction boundaries and sizes), WAL salts and
 *	  checkpoint sequence, write order and timing.  The page-1 SQLite
 *	  header is encrypted but the database size follows from the file
 *	  size.
 *	- The -shm file (wal-index) is SQLite's: it holds page numbers and,
 *	  in its header, the unmasked running checksum of the last
 *	  committed frame; someone sampling it after each commit regains
 *	  the confirmation oracle for those frames, and someone writing to
 *	  it while the database is open can point a page read at another
 *	  authentic frame.  locking_mode=EXCLUSIVE keeps it in memory.
 *	- A WAL frame header rewritten at the same offset in the same
 *	  generation (SQLite's checksum rewrite) reuses its mask, so the
 *	  XOR of the two checksum values is visible.
 *	- Anything in the process: keys and plaintext pages live in
 *	  vaultd's memory and SQLite's page cache.
 */

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "vault_vfs.h"
#include "vault_vfs_file.h"

struct vfs_slot {
	unsigned char	 key[VFS_KEYLEN];
	unsigned char	 dbid[VFS_DBIDLEN];
	char		 handle[VFS_HANDLELEN];
	int		 used;
};

static int	 key_take(const char *, struct vfs_keys *);
static int	 key_derive(struct vfs_keys *, const unsigned char *,
		    const unsigned char *);
static char	*make_uri(const char *, const char *);
static int	 pragma_int(sqlite3 *, const char *, sqlite3_int64 *);
static int	 pragma_text(sqlite3 *, const char *, const char *);
static int	 vfs_setup(sqlite3 *, int, int);
static int	 vfs_open(const char *, const unsigned char *,
		    const unsigned char *, int, int, sqlite3 **);

static int	 x_close(sqlite3_file *);
static int	 x_read(sqlite3_file *, void *, int, sqlite3_int64);
static int	 x_write(sqlite3_file *, const void *, int, sqlite3_int64);
static int	 x_truncate(sqlite3_file *, sqlite3_int64);
static int	 x_sync(sqlite3_file *, int);
static int	 x_filesize(sqlite3_file *, sqlite3_int64 *);
static int	 x_lock(sqlite3_file *, int);
static int	 x_unlock(sqlite3_file *, int);
static int	 x_checkreserved(sqlite3_file *, int *);
static int	 x_filecontrol(sqlite3_file *, int, void *);
static int	 x_sectorsize(sqlite3_file *);
static int	 x_devchar(sqlite3_file *);
static int	 x_shmmap(sqlite3_file *, int, int, int, void volatile **);
static int	 x_shmlock(sqlite3_file *, int, int, int);
static void	 x_shmbarrier(sqlite3_file *);
static int	 x_shmunmap(sqlite3_file *, int);

static int	 v_open(sqlite3_vfs *, sqlite3_filename, sqlite3_file *, int,
		    int *);
static int	 v_delete(sqlite3_vfs *, const char *, int);
static int	 v_access(sqlite3_vfs *, const char *, int, int *);
static int	 v_fullpath(sqlite3_vfs *, const char *, int, char *);
static void	*v_dlopen(sqlite3_vfs *, const char *);
static void	 v_dlerror(sqlite3_vfs *, int, char *);
static void	(*v_dlsym(sqlite3_vfs *, void *, const char *))(void);
static void	 v_dlclose(sqlite3_vfs *, void *);
static int	 v_randomness(sqlite3_vfs *, int, char *);
static int	 v_sleep(sqlite3_vfs *, int);
static int	 v_currenttime(sqlite3_vfs *, double *);
static int	 v_lasterror(sqlite3_vfs *, int, char *);
static int	 v_currenttime64(sqlite3_vfs *, sqlite3_int64 *);
static int	 v_setsyscall(sqlite3_vfs *, const char *,
		    sqlite3_syscall_ptr);
static sqlite3_syscall_ptr v_getsyscall(sqlite3_vfs *, const char *);
static const char *v_nextsyscall(sqlite3_vfs *, const char *);

/*
 * Version 2: no xFetch, so the pager never maps the file and always
 * reads through xRead.  The shm methods pass straight through.
 */
static const sqlite3_io_methods vfs_io = {
	2,
	x_close,
	x_read,
	x_write,
	x_truncate,
	x_sync,
	x_filesize,
	x_lock,
	x_unlock,
	x_checkreserved,
	x_filecontrol,
	x_sectorsize,
	x_devchar,
	x_shmmap,
	x_shmlock,
	x_shmbarrier,
	x_shmunmap,
	NULL,
	NULL
};

static sqlite3_vfs	 vfs_vfs;
static int		 vfs_registered;
static struct vfs_slot	*vfs_slots;
static pthread_mutex_t	 vfs_mtx = PTHREAD_MUTEX_INITIALIZER;

/*
 * Key registry.
 */

int
vfs_register(void)
{
	sqlite3_vfs	*real;
	int		 rc = SQLITE_OK;

	if (pthread_mutex_lock(&vfs_mtx) != 0)
		return (SQLITE_ERROR);
	if (vfs_registered)
		goto done;
	if (sodium_init() == -1) {
		log_warnx("%s: sodium_init failed", __func__);
		rc = SQLITE_ERROR;
		goto done;
	}
	if ((real = sqlite3_vfs_find("unix")) == NULL &&
	    (real = sqlite3_vfs_find(NULL)) == NULL) {
		rc = SQLITE_ERROR;
		goto done;
	}
	if (strcmp(real->zName, VFS_NAME) == 0 || real->iVersion < 2) {
		log_warnx("%s: unusable base vfs %s", __func__, real->zName);
		rc = SQLITE_ERROR;
		goto done;
	}
	if (vfs_slots == NULL) {
		if ((vfs_slots = sodium_malloc(REG_SLOTS *
		    sizeof(*vfs_slots))) == NULL) {
			rc = SQLITE_NOMEM;
			goto done;
		}
		sodium_memzero(vfs_slots, REG_SLOTS * sizeof(*vfs_slots));
	}
	memset(&vfs_vfs, 0, sizeof(vfs_vfs));
	vfs_vfs.iVersion = real->iVersion < 3 ? real->iVersion : 3;
	vfs_vfs.szOsFile = (int)ROUND8(sizeof(struct vfs_file)) +
	    real->szOsFile;
	vfs_vfs.mxPathname = real->mxPathname;
	vfs_vfs.zName = VFS_NAME;
	vfs_vfs.pAppData = real;
	vfs_vfs.xOpen = v_open;
	vfs_vfs.xDelete = v_delete;
	vfs_vfs.xAccess = v_access;
	vfs_vfs.xFullPathname = v_fullpath;
	vfs_vfs.xDlOpen = v_dlopen;
	vfs_vfs.xDlError = v_dlerror;
	vfs_vfs.xDlSym = v_dlsym;
	vfs_vfs.xDlClose = v_dlclose;
	vfs_vfs.xRandomness = v_randomness;
	vfs_vfs.xSleep = v_sleep;
	vfs_vfs.xCurrentTime = v_currenttime;
	vfs_vfs.xGetLastError = v_lasterror;
	vfs_vfs.xCurrentTimeInt64 = v_currenttime64;
	if (vfs_vfs.iVersion >= 3) {
		vfs_vfs.xSetSystemCall = v_setsyscall;
		vfs_vfs.xGetSystemCall = v_getsyscall;
		vfs_vfs.xNextSystemCall = v_nextsyscall;
	}
	if ((rc = sqlite3_vfs_register(&vfs_vfs, 0)) == SQLITE_OK)
		vfs_registered = 1;
 done:
	pthread_mutex_unlock(&vfs_mtx);
	return (rc);
}

int
vfs_key_handle(const unsigned char *key, const unsigned char *dbid,
    char *handle, size_t len)
{
	unsigned char	 rnd[HANDLE_HEX / 2];
	struct vfs_slot	*s;
	int		 i, rc;

	if (key == NULL || dbid == NULL || handle == NULL ||
	    len < VFS_HANDLELEN)
		return (SQLITE_MISUSE);
	if ((rc = vfs_register()) != SQLITE_OK)
		return (rc);
	randombytes_buf(rnd, sizeof(rnd));
	if (pthread_mutex_lock(&vfs_mtx) != 0)
		return (SQLITE_ERROR);
	rc = SQLITE_FULL;
	for (i = 0; i < REG_SLOTS; i++) {
		s = &vfs_slots[i];
		if (s->used)
			continue;
		memcpy(s->key, key, VFS_KEYLEN);
		memcpy(s->dbid, dbid, VFS_DBIDLEN);
		sodium_bin2hex(s->handle, sizeof(s->handle), rnd, sizeof(rnd));
		s->used = 1;
		memcpy(handle, s->handle, VFS_HANDLELEN);
		rc = SQLITE_OK;
		break;
	}
	pthread_mutex_unlock(&vfs_mtx);
	if (rc != SQLITE_OK)
		log_warnx("%s: key registry full", __func__);
	return (rc);
}

void
vfs_key_forget(const char *handle)
{
	int	 i;

	if (handle == NULL || vfs_slots == NULL ||
	    strlen(handle) != HANDLE_HEX)
		return;
	if (pthread_mutex_lock(&vfs_mtx) != 0)
		return;
	for (i = 0; i < REG_SLOTS; i++) {
		if (vfs_slots[i].used && sodium_memcmp(vfs_slots[i].handle,
		    handle, HANDLE_HEX) == 0)
			sodium_memzero(&vfs_slots[i], sizeof(vfs_slots[i]));
	}
	pthread_mutex_unlock(&vfs_mtx);
}

static int
key_derive(struct vfs_keys *k, const unsigned char *key,
    const unsigned char *dbid)
{
	if (crypto_kdf_derive_from_key(k->page, sizeof(k->page), KDF_PAGE,
	    KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(k->mask, sizeof(k->mask), KDF_MASK,
	    KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(k->state, sizeof(k->state), KDF_STATE,
	    KDF_CONTEXT, key) != 0)
		return (-1);
	memcpy(k->dbid, dbid, VFS_DBIDLEN);
	return (0);
}

/* Find the slot named by handle, derive its subkeys into k, wipe it. */
static int
key_take(const char *handle, struct vfs_keys *k)
{
	int	 i, rc = -1;

	if (handle == NULL || vfs_slots == NULL ||
	    strlen(handle) != HANDLE_HEX)
		return (-1);
	if (pthread_mutex_lock(&vfs_mtx) != 0)
		return (-1);
	for (i = 0; i < REG_SLOTS; i++) {
		if (!vfs_slots[i].used || sodium_memcmp(vfs_slots[i].handle,
		    handle, HANDLE_HEX) != 0)
			continue;
		rc = key_derive(k, vfs_slots[i].key, vfs_slots[i].dbid);
		sodium_memzero(&vfs_slots[i], sizeof(vfs_slots[i]));
		break;
	}
	pthread_mutex_unlock(&vfs_mtx);
	return (rc);
}

/*
 * io_methods.
 */

static int
x_close(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	rc = vf->real->pMethods->xClose(vf->real);
	vfs_state_close(vf);
	if (vf->keys != NULL)
		sodium_free(vf->keys);
	vf->keys = NULL;
	if (vf->scratch != NULL)
		freezero(vf->scratch, SCRATCH);
	vf->scratch = NULL;
	return (rc);
}

static int
x_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	if (amt <= 0 || off < 0)
		return (vf->real->pMethods->xRead(vf->real, buf, amt, off));
	switch (vf->kind) {
	case VK_MAIN:
		return (vfs_main_read(vf, buf, amt, off));
	case VK_WAL:
		return (vfs_wal_read(vf, buf, amt, off));
	case VK_JOURNAL:
		return (vfs_jrnl_read(vf, buf, amt, off));
	case VK_TEMP:
		return (vfs_temp_read(vf, buf, amt, off));
	case VK_PLAIN:
		break;
	}
	return (vf->real->pMethods->xRead(vf->real, buf, amt, off));
}

static int
x_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	if (amt <= 0 || off < 0)
		return (vf->real->pMethods->xWrite(vf->real, buf, amt, off));
	switch (vf->kind) {
	case VK_MAIN:
		return (vfs_main_write(vf, buf, amt, off));
	case VK_WAL:
		return (vfs_wal_write(vf, buf, amt, off));
	case VK_JOURNAL:
		return (vfs_jrnl_write(vf, buf, amt, off));
	case VK_TEMP:
		return (vfs_temp_write(vf, buf, amt, off));
	case VK_PLAIN:
		break;
	}
	return (vf->real->pMethods->xWrite(vf->real, buf, amt, off));
}

static int
x_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	vf->last_off = -1;
	return (vf->real->pMethods->xTruncate(vf->real, size));
}

static int
x_sync(sqlite3_file *f, int flags)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	rc = vf->real->pMethods->xSync(vf->real, flags);
	/* A commit frame is the state once synced (vault_vfs_state.c). */
	if (rc == SQLITE_OK && vf->kind == VK_WAL)
		vfs_state_wal_sync(vf);
	return (rc);
}

static int
x_filesize(sqlite3_file *f, sqlite3_int64 *size)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xFileSize(vf->real, size));
}

static int
x_lock(sqlite3_file *f, int lock)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xLock(vf->real, lock));
}

static int
x_unlock(sqlite3_file *f, int lock)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xUnlock(vf->real, lock));
}

static int
x_checkreserved(sqlite3_file *f, int *res)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xCheckReservedLock(vf->real, res));
}

static int
x_filecontrol(sqlite3_file *f, int op, void *arg)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	const char	*errstr;
	char		**av, *name;
	int		 rc;

	switch (op) {
	case SQLITE_FCNTL_MMAP_SIZE:
		/* Mapped pages would be ciphertext: never map. */
		*(sqlite3_int64 *)arg = 0;
		return (SQLITE_OK);
	case SQLITE_FCNTL_PRAGMA:
		av = arg;
		if (av[1] == NULL || sqlite3_stricmp(av[1], "mmap_size") != 0 ||
		    av[2] == NULL)
			break;
		(void)strtonum(av[2], 0, 0, &errstr);
		if (errstr == NULL)
			break;
		av[0] = sqlite3_mprintf("mmap is disabled by the %s VFS",
		    VFS_NAME);
		return (SQLITE_ERROR);
	case SQLITE_FCNTL_VFSNAME:
		rc = vf->real->pMethods->xFileControl(vf->real, op, arg);
		name = rc == SQLITE_OK ? *(char **)arg : NULL;
		if (name != NULL)
			*(char **)arg = sqlite3_mprintf("%s/%z", VFS_NAME,
			    name);
		else
			*(char **)arg = sqlite3_mprintf("%s", VFS_NAME);
		return (SQLITE_OK);
	}
	return (vf->real->pMethods->xFileControl(vf->real, op, arg));
}

static int
x_sectorsize(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xSectorSize(vf->real));
}

static int
x_devchar(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xDeviceCharacteristics(vf->real));
}

static int
x_shmmap(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xShmMap(vf->real, pg, pgsz, extend, pp));
}

static int
x_shmlock(sqlite3_file *f, int offset, int n, int flags)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xShmLock(vf->real, offset, n, flags));
}

static void
x_shmbarrier(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	vf->real->pMethods->xShmBarrier(vf->real);
}

static int
x_shmunmap(sqlite3_file *f, int del)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return (vf->real->pMethods->xShmUnmap(vf->real, del));
}

/*
 * VFS methods.
 */

static int
v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
    int *outflags)
{
	struct vfs_file	*vf = (struct vfs_file *)f, *mf;
	sqlite3_vfs	*real = vfs->pAppData;
	sqlite3_file	*mainf;
	int		 rc;

	memset(vf, 0, sizeof(*vf));
	vf->real = (sqlite3_file *)((char *)f +
	    ROUND8(sizeof(struct vfs_file)));
	vf->last_off = -1;
	vf->wr_lo = INT64_MAX;

	switch (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_TEMP_DB |
	    SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_MAIN_JOURNAL |
	    SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL |
	    SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL)) {
	case SQLITE_OPEN_MAIN_DB:
		vf->kind = VK_MAIN;
		break;
	case SQLITE_OPEN_WAL:
		vf->kind = VK_WAL;
		break;
	case SQLITE_OPEN_MAIN_JOURNAL:
		vf->kind = VK_JOURNAL;
		break;
	case SQLITE_OPEN_TEMP_DB:
	case SQLITE_OPEN_TRANSIENT_DB:
	case SQLITE_OPEN_TEMP_JOURNAL:
	case SQLITE_OPEN_SUBJOURNAL:
		vf->kind = VK_TEMP;
		break;
	case SQLITE_OPEN_SUPER_JOURNAL:
		vf->kind = VK_PLAIN;
		break;
	default:
		log_warnx("%s: unknown file type 0x%x", __func__, flags);
		return (SQLITE_CANTOPEN);
	}

	if (vf->kind != VK_PLAIN) {
		if ((vf->keys = sodium_malloc(sizeof(*vf->keys))) == NULL ||
		    (vf->scratch = malloc(SCRATCH)) == NULL) {
			rc = SQLITE_NOMEM;
			goto fail;
		}
		sodium_memzero(vf->keys, sizeof(*vf->keys));
	}

	switch (vf->kind) {
	case VK_MAIN:
		if (name == NULL) {
			rc = SQLITE_CANTOPEN;
			goto fail;
		}
		vf->dbpath = name;
		if (key_take(sqlite3_uri_parameter(name, "tkey"),
		    vf->keys) == -1) {
			/* No key: it would be written in clear. */
			log_warnx("%s: %s: no key for database", __func__,
			    name);
			rc = SQLITE_CANTOPEN;
			goto fail;
		}
		break;
	case VK_WAL:
	case VK_JOURNAL:
		if (name == NULL ||
		    (mainf = sqlite3_database_file_object(name)) == NULL ||
		    mainf->pMethods != &vfs_io ||
		    (mf = (struct vfs_file *)mainf)->kind != VK_MAIN ||
		    mf->keys == NULL) {
			log_warnx("%s: %s: journal of an unknown database",
			    __func__, name != NULL ? name : "(null)");
			rc = SQLITE_CANTOPEN;
			goto fail;
		}
		memcpy(vf->keys, mf->keys, sizeof(*vf->keys));
		vf->dbpath = sqlite3_filename_database(name);
		vf->mainf = mf;
		break;
	case VK_TEMP:
		randombytes_buf(vf->keys->stream, sizeof(vf->keys->stream));
		randombytes_buf(vf->keys->nonce, sizeof(vf->keys->nonce));
		break;
	case VK_PLAIN:
		vf->dbpath = name;
		break;
	}

	vf->real->pMethods = NULL;
	rc = real->xOpen(real, name, vf->real, flags, outflags);
	if (rc != SQLITE_OK) {
		if (vf->real->pMethods != NULL)
			vf->real->pMethods->xClose(vf->real);
		goto fail;
	}
	vf->base.pMethods = &vfs_io;
	return (SQLITE_OK);

 fail:
	if (vf->keys != NULL)
		sodium_free(vf->keys);
	free(vf->scratch);
	vf->keys = NULL;
	vf->scratch = NULL;
	vf->base.pMethods = NULL;
	return (rc);
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xDelete(real, name, sync));
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *res)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xAccess(real, name, flags, res));
}

static int
v_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xFullPathname(real, name, n, out));
}

static void *
v_dlopen(sqlite3_vfs *vfs, const char *name)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xDlOpen(real, name));
}

static void
v_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	sqlite3_vfs	*real = vfs->pAppData;

	real->xDlError(real, n, msg);
}

static void
(*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xDlSym(real, h, sym));
}

static void
v_dlclose(sqlite3_vfs *vfs, void *h)
{
	sqlite3_vfs	*real = vfs->pAppData;

	real->xDlClose(real, h);
}

static int
v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	if (n <= 0)
		return (0);
	randombytes_buf(out, (size_t)n);
	return (n);
}

static int
v_sleep(sqlite3_vfs *vfs, int usec)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xSleep(real, usec));
}

static int
v_currenttime(sqlite3_vfs *vfs, double *t)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xCurrentTime(real, t));
}

static int
v_lasterror(sqlite3_vfs *vfs, int n, char *msg)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xGetLastError(real, n, msg));
}

static int
v_currenttime64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	sqlite3_vfs	*real = vfs->pAppData;

	if (real->iVersion < 2 || real->xCurrentTimeInt64 == NULL)
		return (SQLITE_ERROR);
	return (real->xCurrentTimeInt64(real, t));
}

static int
v_setsyscall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xSetSystemCall(real, name, p));
}

static sqlite3_syscall_ptr
v_getsyscall(sqlite3_vfs *vfs, const char *name)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xGetSystemCall(real, name));
}

static const char *
v_nextsyscall(sqlite3_vfs *vfs, const char *name)
{
	sqlite3_vfs	*real = vfs->pAppData;

	return (real->xNextSystemCall(real, name));
}

/*
 * Opening a database.
 */

/*
 * "file:<path>?vfs=tresor&tkey=<handle>", with the path's '%', '?',
 * '#' and non-printing bytes escaped.  An absolute path gets an empty
 * authority so that one starting with "//" is not taken for a host.
 */
static char *
make_uri(const char *path, const char *handle)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	size_t			 len, n = 0;
	char			*uri;
	int			 r;

	len = strlen(path);
	if (len == 0 || len >= PATH_MAX)
		return (NULL);
	if ((uri = malloc(URI_MAX)) == NULL)
		return (NULL);
	if (strlcpy(uri, path[0] == '/' ? "file://" : "file:", URI_MAX) >=
	    URI_MAX)
		goto fail;
	n = strlen(uri);
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (n + 4 >= URI_MAX)
			goto fail;
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' ||
		    *p >= 0x7f) {
			uri[n++] = '%';
			uri[n++] = hex[*p >> 4];
			uri[n++] = hex[*p & 0xf];
		} else
			uri[n++] = (char)*p;
	}
	r = snprintf(uri + n, URI_MAX - n, "?vfs=%s&tkey=%s", VFS_NAME,
	    handle);
	if (r < 0 || (size_t)r >= URI_MAX - n)
		goto fail;
	return (uri);
 fail:
	free(uri);
	return (NULL);
}

/* Run a one-row pragma and return its integer value. */
static int
pragma_int(sqlite3 *db, const char *sql, sqlite3_int64 *val)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return (sqlite3_extended_errcode(db));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*val = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return (rc);
}

/* Run a one-row pragma and check that it answers expect. */
static int
pragma_text(sqlite3 *db, const char *sql, const char *expect)
{
	sqlite3_stmt		*st;
	const unsigned char	*s;
	int			 rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		return (sqlite3_extended_errcode(db));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = sqlite3_column_text(st, 0);
		if (s != NULL && sqlite3_stricmp((const char *)s, expect) == 0)
			rc = SQLITE_OK;
		else {
			log_warnx("%s: %s: got %s", __func__, sql,
			    s != NULL ? (const char *)s : "NULL");
			rc = SQLITE_ERROR;
		}
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_ERROR;
	else
		rc = sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return (rc);
}

/* The shim's main-database file of a connection, or NULL. */
struct vfs_file *
vfs_main_file(sqlite3 *db)
{
	sqlite3_file	*f = NULL;

	if (db == NULL || sqlite3_file_control(db, "main",
	    SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || f == NULL ||
	    f->pMethods != &vfs_io ||
	    ((struct vfs_file *)f)->kind != VK_MAIN)
		return (NULL);
	return ((struct vfs_file *)f);
}

int
vfs_check_header(sqlite3 *db, const char *schema)
{
	struct vfs_file	*vf;
	sqlite3_file	*f = NULL;
	unsigned char	 h[100];
	int		 rc;

	if (db == NULL)
		return (SQLITE_MISUSE);
	if (sqlite3_file_control(db, schema != NULL ? schema : "main",
	    SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || f == NULL ||
	    f->pMethods != &vfs_io ||
	    (vf = (struct vfs_file *)f)->kind != VK_MAIN)
		return (SQLITE_MISUSE);
	sqlite3_mutex_enter(sqlite3_db_mutex(db));
	rc = f->pMethods->xRead(f, h, sizeof(h), 0);
	sqlite3_mutex_leave(sqlite3_db_mutex(db));
	if (rc == SQLITE_IOERR_SHORT_READ || (rc == SQLITE_OK &&
	    !vfs_page1_ok(h))) {
		log_warnx("%s: %s: page 1 is not page size %d, reserve %d",
		    __func__, vf->dbpath, PAGE, VFS_RESERVE);
		rc = SQLITE_NOTADB;
	}
	return (rc);
}

/*
 * Settings, in the order that works (notes/sqlite-vfs.md section 1):
 * exclusive locking before the WAL is first opened, so that its index
 * stays in our heap and no -shm file is ever made; the reserve and page
 * size before anything writes page 1, which journal_mode=WAL does at
 * once.
 */
static int
vfs_setup(sqlite3 *db, int flags, int exclusive)
{
	sqlite3_file	*f = NULL;
	sqlite3_int64	 size, v;
	int		 rc, n = VFS_RESERVE;

	if ((rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER,
	    &f)) != SQLITE_OK || f == NULL || f->pMethods != &vfs_io)
		return (SQLITE_ERROR);
	if ((rc = f->pMethods->xFileSize(f, &size)) != SQLITE_OK)
		return (rc);
	/* A file cut short is tampering, not SQLite's "malformed". */
	if (size > 0 && (rc = vfs_check_length(db)) != SQLITE_OK)
		return (rc);
	if (!(flags & SQLITE_OPEN_READONLY)) {
		if (exclusive && (rc = pragma_text(db,
		    "PRAGMA locking_mode=EXCLUSIVE", "exclusive")) != SQLITE_OK)
			return (rc);
		if (size == 0) {
			/* Always OK, even when it did nothing: checked below. */
			(void)sqlite3_file_control(db, "main",
			    SQLITE_FCNTL_RESERVE_BYTES, &n);
			if ((rc = sqlite3_exec(db, "PRAGMA page_size=4096",
			    NULL, NULL, NULL)) != SQLITE_OK)
				return (sqlite3_extended_errcode(db));
		}
		if ((rc = pragma_text(db, "PRAGMA journal_mode=WAL", "wal")) !=
		    SQLITE_OK)
			return (rc);
	}
	if ((rc = vfs_check_header(db, "main")) != SQLITE_OK)
		return (rc);
	if ((rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; "
	    "PRAGMA temp_store=MEMORY; PRAGMA mmap_size=0", NULL, NULL,
	    NULL)) != SQLITE_OK)
		return (sqlite3_extended_errcode(db));
	if ((rc = pragma_int(db, "PRAGMA synchronous", &v)) != SQLITE_OK)
		return (rc);
	if (v != 2)
		return (SQLITE_ERROR);
	if ((rc = pragma_int(db, "PRAGMA temp_store", &v)) != SQLITE_OK)
		return (rc);
	if (v != 2)
		return (SQLITE_ERROR);
	if ((rc = pragma_int(db, "PRAGMA mmap_size", &v)) != SQLITE_OK)
		return (rc);
	if (v != 0)
		return (SQLITE_ERROR);
	return (SQLITE_OK);
}

int
vfs_open_db(const char *path, const unsigned char *key,
    const unsigned char *dbid, int flags, sqlite3 **dbp)
{
	return (vfs_open(path, key, dbid, flags, 1, dbp));
}

int
vfs_open_db_shared(const char *path, const unsigned char *key,
    const unsigned char *dbid, int flags, sqlite3 **dbp)
{
	return (vfs_open(path, key, dbid, flags, 0, dbp));
}

static int
vfs_open(const char *path, const unsigned char *key,
    const unsigned char *dbid, int flags, int exclusive, sqlite3 **dbp)
{
	char	 handle[VFS_HANDLELEN], *uri;
	sqlite3	*db = NULL;
	int	 rc;

	if (dbp == NULL)
		return (SQLITE_MISUSE);
	*dbp = NULL;
	if (path == NULL || key == NULL || dbid == NULL)
		return (SQLITE_MISUSE);
	if ((rc = vfs_key_handle(key, dbid, handle, sizeof(handle))) !=
	    SQLITE_OK)
		return (rc);
	if ((uri = make_uri(path, handle)) == NULL) {
		vfs_key_forget(handle);
		explicit_bzero(handle, sizeof(handle));
		return (SQLITE_CANTOPEN);
	}
	rc = sqlite3_open_v2(uri, &db, flags | SQLITE_OPEN_URI |
	    SQLITE_OPEN_EXRESCODE, VFS_NAME);
	/* Normally consumed by xOpen already. */
	vfs_key_forget(handle);
	explicit_bzero(handle, sizeof(handle));
	freezero(uri, URI_MAX);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(db, 1);
		rc = vfs_setup(db, flags, exclusive);
	}
	if (rc != SQLITE_OK) {
		log_warnx("%s: %s: %s (%d)", __func__, path,
		    db != NULL && sqlite3_errcode(db) != SQLITE_OK ?
		    sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
		sqlite3_close(db);
		return (rc);
	}
	*dbp = db;
	return (SQLITE_OK);
}
