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
 * The page cipher of the "tresor" VFS: how each kind of file SQLite
 * opens through the shim is read and written.  Main database pages are
 * sealed one by one, WAL frames are sealed and their checksums masked,
 * rollback journal records carry sealed pages, nameless temp files are
 * XORed with a keystream by offset.  vault_vfs.c registers the VFS,
 * holds the keys and dispatches each read and write here by the file's
 * kind; its header comment describes the on-disk format.
 */

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "log.h"
#include "vault_vfs.h"
#include "vault_vfs_file.h"

static uint32_t	 get_be32(const unsigned char *);
static void	 put_le64(unsigned char *, uint64_t);
static int	 all_zero(const unsigned char *, size_t);
static void	 vfs_default_hook(const char *, long long, const char *);
static void	 make_ad(unsigned char *, const struct vfs_keys *, uint32_t);
static int	 page_seal(const struct vfs_keys *, const unsigned char *,
		    unsigned char *, uint32_t, const unsigned char *);
static int	 page_open(const struct vfs_keys *, unsigned char *, uint32_t);
static int	 wal_mask(const struct vfs_keys *, unsigned char *,
		    sqlite3_int64);
static void	 wal_cksum(int, const unsigned char *, size_t, uint32_t *,
		    uint32_t *);
static int	 stream_xor(const struct vfs_keys *, unsigned char *, size_t,
		    sqlite3_int64);
static int	 wal_read_page(struct vfs_file *, unsigned char *,
		    sqlite3_int64);
static int	 wal_read_frame(struct vfs_file *, unsigned char *,
		    sqlite3_int64);
static int	 wal_frame_valid(struct vfs_file *, const unsigned char *,
		    sqlite3_int64);
static int	 wal_scan(struct vfs_file *, sqlite3_int64, int *);
static int	 wal_write_page(struct vfs_file *, const unsigned char *,
		    uint32_t, unsigned char *);
static int	 jrnl_synced(struct vfs_file *, sqlite3_int64);

static void		(*vfs_hook)(const char *, long long, const char *) =
			    vfs_default_hook;

/*
 * Byte helpers.
 */

static uint32_t
get_be32(const unsigned char *p)
{
	return (((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static int
all_zero(const unsigned char *p, size_t len)
{
	unsigned char	 acc = 0;
	size_t		 i;

	for (i = 0; i < len; i++)
		acc |= p[i];
	return (acc == 0);
}

/*
 * Page 1 must say page size 4096 and reserve 40, or the shim would
 * overwrite 40 bytes that SQLite believes are its own.
 */
int
vfs_page1_ok(const unsigned char *h)
{
	return (memcmp(h, "SQLite format 3", 16) == 0 &&
	    h[16] == (PAGE >> 8) && h[17] == (PAGE & 0xff) &&
	    h[20] == VFS_RESERVE);
}

/*
 * Authentication-failure reporting.
 */

static void
vfs_default_hook(const char *path, long long pgno, const char *kind)
{
	log_warnx("vault_vfs: authentication failure in %s: %s page %lld",
	    path, kind, pgno);
}

void
vfs_set_authfail_hook(void (*hook)(const char *, long long, const char *))
{
	vfs_hook = hook != NULL ? hook : vfs_default_hook;
}

void
vfs_authfail(struct vfs_file *vf, long long pgno, const char *kind)
{
	vfs_hook(vf->dbpath != NULL ? vf->dbpath : "(temp)", pgno, kind);
}

/*
 * Page encryption.
 */

static void
make_ad(unsigned char *ad, const struct vfs_keys *k, uint32_t pgno)
{
	put_le64(ad, pgno);
	memcpy(ad + 8, k->dbid, VFS_DBIDLEN);
}

/*
 * Encrypt page pgno from in to out, with a new nonce, or with nonce if
 * not NULL: only ever the nonce of the same page number with the same
 * content (a checkpoint's copy, vault_vfs_state.c), which then gives
 * the same ciphertext and tag again and reveals nothing new.
 */
static int
page_seal(const struct vfs_keys *k, const unsigned char *in,
    unsigned char *out, uint32_t pgno, const unsigned char *nonce)
{
	unsigned char	 ad[AD_LEN];

	make_ad(ad, k, pgno);
	if (nonce != NULL)
		memcpy(out + NONCE_OFF, nonce, 24);
	else
		randombytes_buf(out + NONCE_OFF, 24);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out,
	    out + TAG_OFF, NULL, in, USABLE, ad, sizeof(ad), NULL,
	    out + NONCE_OFF, k->page) != 0)
		return (-1);
	return (0);
}

/*
 * Decrypt page pgno in place and zero its reserved area: SQLite must
 * get back exactly the zeros it wrote there.  -1 if not authentic.
 */
static int
page_open(const struct vfs_keys *k, unsigned char *p, uint32_t pgno)
{
	unsigned char	 ad[AD_LEN];

	make_ad(ad, k, pgno);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(p, NULL, p,
	    USABLE, p + TAG_OFF, ad, sizeof(ad), p + NONCE_OFF, k->page) != 0)
		return (-1);
	memset(p + USABLE, 0, VFS_RESERVE);
	return (0);
}

/*
 * XOR the checksum words of the WAL frame header hdr, which sits at
 * offset off, with the keyed mask.  Its own involution: masks on write
 * and unmasks on read.
 */
static int
wal_mask(const struct vfs_keys *k, unsigned char *hdr, sqlite3_int64 off)
{
	unsigned char	 in[VFS_DBIDLEN + 8 + 8], out[16];
	int		 i;

	memcpy(in, k->dbid, VFS_DBIDLEN);
	memcpy(in + VFS_DBIDLEN, hdr + 8, 8);
	put_le64(in + VFS_DBIDLEN + 8, (uint64_t)off);
	if (crypto_generichash(out, sizeof(out), in, sizeof(in), k->mask,
	    sizeof(k->mask)) != 0)
		return (-1);
	for (i = 0; i < 8; i++)
		hdr[16 + i] ^= out[i];
	return (0);
}

/*
 * SQLite's WAL checksum (file format, section 4.3), continued from
 * (*s0, *s1) over len bytes; words are big-endian if bigend.
 */
static void
wal_cksum(int bigend, const unsigned char *p, size_t len, uint32_t *s0,
    uint32_t *s1)
{
	uint32_t	 a = *s0, b = *s1, x, y;
	size_t		 i;

	for (i = 0; i + 8 <= len; i += 8) {
		if (bigend) {
			x = get_be32(p + i);
			y = get_be32(p + i + 4);
		} else {
			x = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
			    (uint32_t)p[i + 2] << 16 |
			    (uint32_t)p[i + 3] << 24;
			y = (uint32_t)p[i + 4] | (uint32_t)p[i + 5] << 8 |
			    (uint32_t)p[i + 6] << 16 |
			    (uint32_t)p[i + 7] << 24;
		}
		a += x + b;
		b += y + a;
	}
	*s0 = a;
	*s1 = b;
}

/* Temp files: XOR len bytes at file offset off with the keystream. */
static int
stream_xor(const struct vfs_keys *k, unsigned char *p, size_t len,
    sqlite3_int64 off)
{
	unsigned char	 blk[64];
	uint64_t	 ic = (uint64_t)off / 64;
	size_t		 skip = (size_t)((uint64_t)off % 64), n, i;

	if (skip != 0 && len > 0) {
		memset(blk, 0, sizeof(blk));
		if (crypto_stream_xchacha20_xor_ic(blk, blk, sizeof(blk),
		    k->nonce, ic, k->stream) != 0)
			return (-1);
		n = sizeof(blk) - skip;
		if (n > len)
			n = len;
		for (i = 0; i < n; i++)
			p[i] ^= blk[skip + i];
		explicit_bzero(blk, sizeof(blk));
		p += n;
		len -= n;
		ic++;
	}
	if (len > 0 && crypto_stream_xchacha20_xor_ic(p, p, len, k->nonce,
	    ic, k->stream) != 0)
		return (-1);
	return (0);
}


/*
 * Main database.
 */

int
vfs_main_read(struct vfs_file *vf, unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	unsigned char	*page;
	sqlite3_int64	 poff = off - off % PAGE;
	size_t		 in = (size_t)(off % PAGE);
	uint32_t	 pgno = (uint32_t)(poff / PAGE + 1);
	int		 rc;

	/* A read inside one page is served from the whole page. */
	if (in + (size_t)amt > PAGE) {
		log_warnx("%s: %s: read of %d at %lld crosses a page",
		    __func__, vf->dbpath, amt, (long long)off);
		return (SQLITE_IOERR_READ);
	}
	page = (in == 0 && amt == PAGE) ? buf : vf->scratch;
	rc = vf->real->pMethods->xRead(vf->real, page, PAGE, poff);
	if (rc == SQLITE_IOERR_SHORT_READ) {
		if (!all_zero(page, PAGE)) {
			/* Part of the page is there: truncated. */
			memset(buf, 0, amt);
			vfs_authfail(vf, pgno, VFS_FAIL_DB);
			return (SQLITE_IOERR_DATA);
		}
		memset(buf, 0, amt);
		return (rc);
	}
	if (rc != SQLITE_OK)
		return (rc);
	if (page_open(vf->keys, page, pgno) == -1) {
		memset(buf, 0, amt);
		vfs_authfail(vf, pgno, VFS_FAIL_DB);
		return (SQLITE_IOERR_DATA);
	}
	if (page != buf)
		memcpy(buf, page + in, amt);
	return (SQLITE_OK);
}

int
vfs_main_write(struct vfs_file *vf, const unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	uint32_t	 pgno;

	if (amt != PAGE || off % PAGE != 0) {
		log_warnx("%s: %s: partial page write of %d at %lld",
		    __func__, vf->dbpath, amt, (long long)off);
		return (SQLITE_IOERR_WRITE);
	}
	pgno = (uint32_t)(off / PAGE + 1);
	if (pgno == 1 && !vfs_page1_ok(buf)) {
		log_warnx("%s: %s: page 1 lacks page size %d / reserve %d",
		    __func__, vf->dbpath, PAGE, VFS_RESERVE);
		return (SQLITE_IOERR_WRITE);
	}
	if (page_seal(vf->keys, buf, vf->scratch, pgno,
	    vfs_state_hint(vf, pgno, buf)) == -1)
		return (SQLITE_IOERR_WRITE);
	return (vf->real->pMethods->xWrite(vf->real, vf->scratch, PAGE, off));
}

/*
 * WAL.
 */

int
vfs_wal_read(struct vfs_file *vf, unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	unsigned char	 hdr[FRAMEHDR];
	sqlite3_int64	 foff;
	size_t		 fo;
	int		 rc;

	if (off + amt <= WALHDR)
		return (vf->real->pMethods->xRead(vf->real, buf, amt, off));
	if (off < WALHDR)
		goto bad;
	fo = (size_t)((off - WALHDR) % FRAME);
	foff = off - (sqlite3_int64)fo;
	if (fo == 0 && amt == FRAME)
		return (wal_read_frame(vf, buf, foff));
	if (fo == FRAMEHDR && amt == PAGE)
		return (wal_read_page(vf, buf, foff));
	if (fo + (size_t)amt <= FRAMEHDR) {
		/* Header fields, such as the 8 checksum bytes. */
		rc = vf->real->pMethods->xRead(vf->real, hdr, FRAMEHDR, foff);
		if (rc == SQLITE_IOERR_SHORT_READ) {
			memset(buf, 0, amt);
			return (rc);
		}
		if (rc != SQLITE_OK)
			return (rc);
		if (wal_mask(vf->keys, hdr, foff) == -1)
			return (SQLITE_IOERR_READ);
		memcpy(buf, hdr + fo, amt);
		return (SQLITE_OK);
	}
 bad:
	log_warnx("%s: %s: unexpected WAL read of %d at %lld", __func__,
	    vf->dbpath, amt, (long long)off);
	return (SQLITE_IOERR_READ);
}

/* A page read from the frame at foff: failure is an error. */
static int
wal_read_page(struct vfs_file *vf, unsigned char *buf, sqlite3_int64 foff)
{
	unsigned char	*fr = vf->scratch, nonce[24];
	uint32_t	 pgno;
	int		 rc;

	rc = vf->real->pMethods->xRead(vf->real, fr, FRAME, foff);
	if (rc == SQLITE_IOERR_SHORT_READ && all_zero(fr, FRAME)) {
		memset(buf, 0, PAGE);
		return (rc);
	}
	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
		return (rc);
	pgno = get_be32(fr);
	memcpy(nonce, fr + FRAMEHDR + NONCE_OFF, sizeof(nonce));
	if (rc != SQLITE_OK || page_open(vf->keys, fr + FRAMEHDR, pgno) == -1) {
		memset(buf, 0, PAGE);
		vfs_authfail(vf, pgno, VFS_FAIL_WAL);
		return (SQLITE_IOERR_DATA);
	}
	memcpy(buf, fr + FRAMEHDR, PAGE);
	/* Perhaps a checkpoint's read: its write may reuse the nonce. */
	vfs_state_wal_read(vf, nonce, buf, pgno);
	return (SQLITE_OK);
}

/*
 * A whole frame, header and page: how recovery and the checksum rewrite
 * read the log.  See "Failures" at the top.
 */
static int
wal_read_frame(struct vfs_file *vf, unsigned char *buf, sqlite3_int64 foff)
{
	uint32_t	 pgno;
	int		 rc, tamper = 0, valid;

	rc = vf->real->pMethods->xRead(vf->real, buf, FRAME, foff);
	if (rc == SQLITE_IOERR_SHORT_READ) {
		memset(buf, 0, FRAME);
		return (rc);
	}
	if (rc != SQLITE_OK)
		return (rc);
	pgno = get_be32(buf);
	if (wal_mask(vf->keys, buf, foff) == -1)
		return (SQLITE_IOERR_READ);
	if (pgno != 0 && page_open(vf->keys, buf + FRAMEHDR, pgno) == 0) {
		/* Our own frames, being re-checksummed: nothing to check. */
		if (foff >= vf->wr_lo)
			return (SQLITE_OK);
		if ((valid = wal_frame_valid(vf, buf, foff)) == -1)
			return (SQLITE_IOERR_READ);
		if (valid)
			return (SQLITE_OK);
		/* SQLite will stop here; nothing committed may follow. */
		if (wal_scan(vf, foff + FRAME, &tamper) == -1)
			return (SQLITE_IOERR_READ);
		if (!tamper)
			return (SQLITE_OK);
		memset(buf, 0, FRAME);
		vfs_authfail(vf, pgno, VFS_FAIL_WALTAMPER);
		return (SQLITE_IOERR_DATA);
	}
	/*
	 * Not authentic.  Zeros (page number 0) end the log; raw bytes
	 * would let an attacker forge a frame SQLite accepts.
	 */
	memset(buf, 0, FRAME);
	if (foff >= vf->wr_lo) {
		vfs_authfail(vf, pgno, VFS_FAIL_WAL);
		return (SQLITE_IOERR_DATA);
	}
	vfs_authfail(vf, pgno, VFS_FAIL_WALFRAME);
	if (wal_scan(vf, foff + FRAME, &tamper) == -1)
		return (SQLITE_IOERR_READ);
	if (tamper) {
		vfs_authfail(vf, pgno, VFS_FAIL_WALTAMPER);
		return (SQLITE_IOERR_DATA);
	}
	return (SQLITE_OK);
}

/*
 * Would SQLite accept the (decrypted, unmasked) frame fr at foff: same
 * salts as the WAL header and a checksum that continues the previous
 * frame's?  1 yes, 0 no, -1 on error.
 */
static int
wal_frame_valid(struct vfs_file *vf, const unsigned char *fr,
    sqlite3_int64 foff)
{
	unsigned char	 wh[WALHDR], prev[FRAMEHDR];
	uint32_t	 s0, s1;
	int		 rc;

	rc = vf->real->pMethods->xRead(vf->real, wh, WALHDR, 0);
	if (rc != SQLITE_OK)
		return (-1);
	if (memcmp(wh + 16, fr + 8, 8) != 0)
		return (0);
	if (foff == WALHDR) {
		s0 = get_be32(wh + 24);
		s1 = get_be32(wh + 28);
	} else {
		rc = vf->real->pMethods->xRead(vf->real, prev, FRAMEHDR,
		    foff - FRAME);
		if (rc != SQLITE_OK || wal_mask(vf->keys, prev,
		    foff - FRAME) == -1)
			return (-1);
		s0 = get_be32(prev + 16);
		s1 = get_be32(prev + 20);
	}
	wal_cksum(wh[3] & 1, fr, 8, &s0, &s1);
	wal_cksum(wh[3] & 1, fr + FRAMEHDR, PAGE, &s0, &s1);
	return (s0 == get_be32(fr + 16) && s1 == get_be32(fr + 20));
}

/*
 * After a frame that ends the log at from - FRAME: count the authentic
 * commit frames of the current generation that follow.  With
 * synchronous=FULL a crash leaves at most one (the unacknowledged
 * transaction's own commit); two mean committed data is being cut off.
 */
static int
wal_scan(struct vfs_file *vf, sqlite3_int64 from, int *tamper)
{
	unsigned char	 wh[WALHDR], *fr = vf->scratch;
	sqlite3_int64	 size, off;
	uint32_t	 pgno;
	int		 n = 0;

	*tamper = 0;
	if (vf->real->pMethods->xFileSize(vf->real, &size) != SQLITE_OK ||
	    vf->real->pMethods->xRead(vf->real, wh, WALHDR, 0) != SQLITE_OK)
		return (-1);
	for (off = from; off + FRAME <= size; off += FRAME) {
		if (vf->real->pMethods->xRead(vf->real, fr, FRAMEHDR, off) !=
		    SQLITE_OK)
			return (-1);
		pgno = get_be32(fr);
		if (pgno == 0 || get_be32(fr + 4) == 0 ||
		    memcmp(fr + 8, wh + 16, 8) != 0)
			continue;
		if (vf->real->pMethods->xRead(vf->real, fr, FRAME, off) !=
		    SQLITE_OK)
			return (-1);
		if (page_open(vf->keys, fr + FRAMEHDR, pgno) == 0 && ++n >= 2) {
			*tamper = 1;
			break;
		}
	}
	return (0);
}

int
vfs_wal_write(struct vfs_file *vf, const unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	unsigned char	 hdr[FRAMEHDR], pg[4];
	sqlite3_int64	 foff;
	uint32_t	 pgno;
	size_t		 fo;
	int		 rc;

	if (off == 0 && amt == WALHDR) {
		/* A new generation: the frames that follow are new. */
		vf->wr_lo = INT64_MAX;
		vf->last_off = -1;
		vfs_state_wal_reset(vf);
		return (vf->real->pMethods->xWrite(vf->real, buf, amt, off));
	}
	if (off + amt <= WALHDR)
		return (vf->real->pMethods->xWrite(vf->real, buf, amt, off));
	if (off < WALHDR)
		goto bad;
	fo = (size_t)((off - WALHDR) % FRAME);
	foff = off - (sqlite3_int64)fo;
	if (fo == 0 && amt == FRAMEHDR) {
		memcpy(hdr, buf, FRAMEHDR);
		if (wal_mask(vf->keys, hdr, foff) == -1)
			return (SQLITE_IOERR_WRITE);
		vf->last_off = foff;
		vf->last_pgno = get_be32(hdr);
		rc = vf->real->pMethods->xWrite(vf->real, hdr, FRAMEHDR, off);
		if (rc == SQLITE_OK && foff < vf->wr_lo)
			vf->wr_lo = foff;
		if (rc == SQLITE_OK)
			vfs_state_wal_header(vf, buf, foff);
		return (rc);
	}
	if (fo == FRAMEHDR && amt == PAGE) {
		/*
		 * Usually right after its header; a page rewritten in the
		 * same transaction comes alone, so read its number back.
		 */
		if (vf->last_off == foff)
			pgno = vf->last_pgno;
		else {
			rc = vf->real->pMethods->xRead(vf->real, pg,
			    sizeof(pg), foff);
			if (rc != SQLITE_OK)
				return (SQLITE_IOERR_WRITE);
			pgno = get_be32(pg);
		}
		if ((rc = wal_write_page(vf, buf, pgno, vf->scratch)) !=
		    SQLITE_OK)
			return (rc);
		rc = vf->real->pMethods->xWrite(vf->real, vf->scratch, PAGE,
		    off);
		if (rc == SQLITE_OK)
			vfs_state_wal_page(vf, vf->scratch, pgno, foff);
		return (rc);
	}
	if (fo == 0 && amt == FRAME) {
		memcpy(hdr, buf, FRAMEHDR);
		pgno = get_be32(hdr);
		if (wal_mask(vf->keys, hdr, foff) == -1)
			return (SQLITE_IOERR_WRITE);
		if ((rc = wal_write_page(vf, buf + FRAMEHDR, pgno,
		    vf->scratch + FRAMEHDR)) != SQLITE_OK)
			return (rc);
		memcpy(vf->scratch, hdr, FRAMEHDR);
		vf->last_off = foff;
		vf->last_pgno = pgno;
		rc = vf->real->pMethods->xWrite(vf->real, vf->scratch, FRAME,
		    off);
		if (rc == SQLITE_OK && foff < vf->wr_lo)
			vf->wr_lo = foff;
		if (rc == SQLITE_OK) {
			vfs_state_wal_header(vf, buf, foff);
			vfs_state_wal_page(vf, vf->scratch + FRAMEHDR, pgno,
			    foff);
		}
		return (rc);
	}
 bad:
	log_warnx("%s: %s: unexpected WAL write of %d at %lld", __func__,
	    vf->dbpath, amt, (long long)off);
	return (SQLITE_IOERR_WRITE);
}

/* Check and encrypt a WAL page for pgno into out. */
static int
wal_write_page(struct vfs_file *vf, const unsigned char *page,
    uint32_t pgno, unsigned char *out)
{
	if (pgno == 0) {
		log_warnx("%s: %s: WAL page without a page number",
		    __func__, vf->dbpath);
		return (SQLITE_IOERR_WRITE);
	}
	/*
	 * SQLite's frame checksum covers the reserved area, and reads give
	 * back zeros there: anything else would make recovery drop the
	 * frame, silently, after a crash.
	 */
	if (!all_zero(page + USABLE, VFS_RESERVE)) {
		log_warnx("%s: %s: page %u has data in its reserved bytes",
		    __func__, vf->dbpath, pgno);
		return (SQLITE_IOERR_WRITE);
	}
	if (pgno == 1 && !vfs_page1_ok(page)) {
		log_warnx("%s: %s: page 1 lacks page size %d / reserve %d",
		    __func__, vf->dbpath, PAGE, VFS_RESERVE);
		return (SQLITE_IOERR_WRITE);
	}
	if (page_seal(vf->keys, page, out, pgno, NULL) == -1)
		return (SQLITE_IOERR_WRITE);
	return (SQLITE_OK);
}

/*
 * Rollback journal.  A record is a 4-byte page number, the page (the
 * only 4096-byte access at an offset that is not 4096-aligned) and a
 * 4-byte checksum, in three calls.
 */

/*
 * Is the record starting at rec counted by its segment header?  With
 * synchronous=NORMAL or FULL, SQLite writes the magic and record count
 * only once the records are synced, so such a record was complete on
 * disk and a failure is tampering, not a torn write.  A no-sync
 * journal (count 0xffffffff) or an unreadable header gives 0.
 */
static int
jrnl_synced(struct vfs_file *vf, sqlite3_int64 rec)
{
	static const unsigned char magic[8] = {
		0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7
	};
	unsigned char	 h[28];
	sqlite3_int64	 off = 0, end;
	uint32_t	 nrec, sector = 0;

	while (off <= rec) {
		if (vf->real->pMethods->xRead(vf->real, h, sizeof(h), off) !=
		    SQLITE_OK || memcmp(h, magic, sizeof(magic)) != 0)
			return (0);
		nrec = get_be32(h + 8);
		if (sector == 0) {
			/* The first header's sector size holds for all. */
			sector = get_be32(h + 20);
			if (sector < 512 || sector > 65536 ||
			    (sector & (sector - 1)) != 0)
				return (0);
		}
		if (nrec == 0xffffffff)
			return (0);
		end = off + sector + (sqlite3_int64)nrec * (PAGE + 8);
		if (rec < end)
			return (rec >= off + sector);
		/* The next header is at the next sector boundary. */
		off = (end + sector - 1) / sector * sector;
	}
	return (0);
}

int
vfs_jrnl_read(struct vfs_file *vf, unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	unsigned char	 pg[4];
	uint32_t	 pgno;
	int		 rc;

	if (amt != PAGE || off % PAGE == 0)
		return (vf->real->pMethods->xRead(vf->real, buf, amt, off));
	if (off < 4)
		return (SQLITE_IOERR_READ);
	if ((rc = vf->real->pMethods->xRead(vf->real, pg, sizeof(pg),
	    off - 4)) != SQLITE_OK) {
		memset(buf, 0, amt);
		return (rc);
	}
	pgno = get_be32(pg);
	rc = vf->real->pMethods->xRead(vf->real, buf, amt, off);
	if (rc != SQLITE_OK)
		return (rc);
	if (page_open(vf->keys, buf, pgno) == -1) {
		/*
		 * Unpredictable bytes, never the raw ones: the record's
		 * checksum fails and playback stops, as for a torn write.
		 * But stopping a playback halfway leaves half a transaction
		 * in the database, so a record that cannot be torn is an
		 * error: the journal stays and so does the evidence.
		 */
		randombytes_buf(buf, amt);
		vfs_authfail(vf, pgno, VFS_FAIL_JOURNAL);
		if (jrnl_synced(vf, off - 4))
			return (SQLITE_IOERR_DATA);
	}
	return (SQLITE_OK);
}

int
vfs_jrnl_write(struct vfs_file *vf, const unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	unsigned char	 pg[4];
	uint32_t	 pgno;
	int		 rc;

	if (amt == 4) {
		vf->last_off = off + 4;
		vf->last_pgno = get_be32(buf);
	}
	if (amt != PAGE || off % PAGE == 0)
		return (vf->real->pMethods->xWrite(vf->real, buf, amt, off));
	if (vf->last_off == off)
		pgno = vf->last_pgno;
	else {
		if (off < 4 || (rc = vf->real->pMethods->xRead(vf->real, pg,
		    sizeof(pg), off - 4)) != SQLITE_OK)
			return (SQLITE_IOERR_WRITE);
		pgno = get_be32(pg);
	}
	if (page_seal(vf->keys, buf, vf->scratch, pgno, NULL) == -1)
		return (SQLITE_IOERR_WRITE);
	return (vf->real->pMethods->xWrite(vf->real, vf->scratch, PAGE, off));
}

/*
 * Temp files.
 */

int
vfs_temp_read(struct vfs_file *vf, unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	sqlite3_int64	 size;
	size_t		 n;
	int		 rc;

	rc = vf->real->pMethods->xRead(vf->real, buf, amt, off);
	if (rc == SQLITE_OK)
		n = (size_t)amt;
	else if (rc == SQLITE_IOERR_SHORT_READ) {
		/* Decrypt what was there; the zeros past the end stay. */
		if (vf->real->pMethods->xFileSize(vf->real, &size) !=
		    SQLITE_OK)
			return (SQLITE_IOERR_READ);
		n = size > off ? (size_t)(size - off) : 0;
		if (n > (size_t)amt)
			n = (size_t)amt;
	} else
		return (rc);
	if (stream_xor(vf->keys, buf, n, off) == -1)
		return (SQLITE_IOERR_READ);
	return (rc);
}

int
vfs_temp_write(struct vfs_file *vf, const unsigned char *buf, int amt,
    sqlite3_int64 off)
{
	size_t	 n;
	int	 rc;

	while (amt > 0) {
		n = (size_t)amt < SCRATCH ? (size_t)amt : SCRATCH;
		memcpy(vf->scratch, buf, n);
		if (stream_xor(vf->keys, vf->scratch, n, off) == -1)
			return (SQLITE_IOERR_WRITE);
		rc = vf->real->pMethods->xWrite(vf->real, vf->scratch, (int)n,
		    off);
		if (rc != SQLITE_OK)
			return (rc);
		buf += n;
		off += (sqlite3_int64)n;
		amt -= (int)n;
	}
	return (SQLITE_OK);
}
