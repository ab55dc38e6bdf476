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
 * Reading messages of a mailbox (vault_mbox_db.c): fetch by uid or
 * sequence ranges, changes since a modseq, raw bodies or sections of
 * them, and what vanished.  Sequence numbers are counted while walking
 * a folder in uid order, never stored.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "util.h"
#include "vault_mbox_db.h"

#define CHUNK		(64 * 1024)	/* body read size */

static int	 seq_skip(struct mbox *, sqlite3_stmt *, int64_t,
		    struct seqpos *, uint32_t);
static int	 seq_to_uid(struct mbox *, int64_t, struct mbox_range *,
		    size_t *);
static int	 fetch_ranges(struct mbox *, int64_t,
		    const struct mbox_range *, size_t, int, uint64_t,
		    mbox_msg_cb, void *);
struct rec;
static int	 rec_put(struct rec *, const void *, size_t);
static int	 rec_blob(struct mbox *, struct rec *, sqlite3_blob *,
		    uint64_t, uint64_t, unsigned char *);
static int	 rec_message(struct mbox *, struct rec *, sqlite3_blob *,
		    const void *, size_t, const struct section *, size_t,
		    uint64_t, int, unsigned char *);
static int	 bodies_walk(struct mbox *, const char *,
		    const struct mbox_range *, size_t, const struct section *,
		    size_t, uint64_t, mbox_chunk_cb, void *, uint32_t *,
		    uint32_t *);

/*
 * Before visiting uids from first on: count the messages between the
 * last one counted and first, so that sequence numbers stay right
 * across the ranges of a set (which are sorted and disjoint).
 */
int
mbox_seq_advance(struct mbox *m, int64_t fid, struct seqpos *sp, uint32_t first)
{
	int64_t	 n;
	int	 ret;

	if (first <= sp->lastuid || first - sp->lastuid == 1)
		return (MBOX_OK);
	if ((ret = mbox_db_int(m, "seq", &n, "SELECT count(*) FROM messages"
	    " WHERE folder_id = ?1 AND uid > ?2 AND uid < ?3", "iii", fid,
	    (int64_t)sp->lastuid, (int64_t)first)) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	sp->seq += (uint32_t)n;
	sp->lastuid = first - 1;
	return (MBOX_OK);
}

/*
 * mbox_seq_advance() with a counting statement prepared once, for a walk
 * that skips messages (CHANGEDSINCE) and so counts before every row.
 */
static int
seq_skip(struct mbox *m, sqlite3_stmt *cnt, int64_t fid, struct seqpos *sp,
    uint32_t first)
{
	int	 rc;

	if (first <= sp->lastuid || first - sp->lastuid == 1)
		return (MBOX_OK);
	if ((rc = sqlite3_reset(cnt)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(cnt, 1, fid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(cnt, 2, sp->lastuid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(cnt, 3, first)) != SQLITE_OK ||
	    (rc = sqlite3_step(cnt)) != SQLITE_ROW)
		return (mbox_db_fail(m, "seq",
		    rc == SQLITE_DONE ? SQLITE_CORRUPT : rc));
	sp->seq += (uint32_t)sqlite3_column_int64(cnt, 0);
	sp->lastuid = first - 1;
	return (MBOX_OK);
}

/*
 * Turn normalised sequence-number ranges (within 1..count) into the
 * uid ranges they cover, in place; they stay sorted and disjoint.
 */
static int
seq_to_uid(struct mbox *m, int64_t fid, struct mbox_range *r, size_t *n)
{
	int64_t	 a, b;
	size_t	 i, k = 0;
	int	 ret;

	for (i = 0; i < *n; i++) {
		if (r[i].first == 0)
			r[i].first = 1;
		if (r[i].last < r[i].first)
			continue;
		if ((ret = mbox_db_int(m, "seq", &a, "SELECT uid FROM messages"
		    " WHERE folder_id = ?1 ORDER BY uid LIMIT 1 OFFSET ?2",
		    "ii", fid, (int64_t)r[i].first - 1)) != MBOX_OK ||
		    (ret = mbox_db_int(m, "seq", &b, "SELECT uid FROM messages"
		    " WHERE folder_id = ?1 ORDER BY uid LIMIT 1 OFFSET ?2",
		    "ii", fid, (int64_t)r[i].last - 1)) != MBOX_OK)
			return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
		r[k].first = (uint32_t)a;
		r[k].last = (uint32_t)b;
		k++;
	}
	*n = k;
	return (MBOX_OK);
}

/*
 * Call cb for every message in the (normalised) uid ranges, in uid
 * order, with sequence numbers.  Without meta, envelope and body
 * structure are not read (and are NULL).  With since > 0, only the
 * messages whose modseq is above it: the index on (folder_id, modseq)
 * finds them, and the messages between them are only counted, for the
 * sequence numbers.  The caller holds a transaction.  A callback that
 * returns non-zero ends the walk.
 */
static int
fetch_ranges(struct mbox *m, int64_t fid, const struct mbox_range *r,
    size_t n, int meta, uint64_t since, mbox_msg_cb cb, void *arg)
{
	static const char *const sql[2][2] = {
		{
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size FROM messages m"
			" WHERE m.folder_id = ?1 AND m.uid >= ?2"
			" AND m.uid <= ?3 ORDER BY m.uid",
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size, c.envelope, c.bodystructure"
			" FROM messages m CROSS JOIN content c"
			" ON c.id = m.content_id"
			" WHERE m.folder_id = ?1 AND m.uid >= ?2"
			" AND m.uid <= ?3 ORDER BY m.uid"
		}, {
			/* Else SQLite reads every row in the uid range. */
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size"
			" FROM messages m INDEXED BY messages_modseq"
			" WHERE m.folder_id = ?1 AND m.modseq > ?4"
			" AND m.uid >= ?2 AND m.uid <= ?3 ORDER BY m.uid",
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size, c.envelope, c.bodystructure"
			" FROM messages m INDEXED BY messages_modseq"
			" CROSS JOIN content c ON c.id = m.content_id"
			" WHERE m.folder_id = ?1 AND m.modseq > ?4"
			" AND m.uid >= ?2 AND m.uid <= ?3 ORDER BY m.uid"
		}
	};
	struct mbox_msg		 msg;
	struct seqpos		 sp = { 0, 0 };
	sqlite3_stmt		*st = NULL, *cnt = NULL;
	const unsigned char	*kw;
	size_t			 i;
	int			 rc, ret;

	if ((ret = mbox_db_prepare(m, "fetch", sql[since > 0][meta != 0],
	    &st)) != MBOX_OK)
		return (ret);
	if (since > 0 && (ret = mbox_db_prepare(m, "seq", "SELECT count(*)"
	    " FROM messages WHERE folder_id = ?1 AND uid > ?2 AND uid < ?3",
	    &cnt)) != MBOX_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((ret = mbox_seq_advance(m, fid, &sp, r[i].first)) !=
		    MBOX_OK)
			goto out;
		if ((rc = sqlite3_reset(st)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 1, fid)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, r[i].first)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 3, r[i].last)) != SQLITE_OK ||
		    (since > 0 && (rc = sqlite3_bind_int64(st, 4,
		    (int64_t)since)) != SQLITE_OK)) {
			ret = mbox_db_fail(m, "fetch", rc);
			goto out;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			memset(&msg, 0, sizeof(msg));
			msg.uid = (uint32_t)sqlite3_column_int64(st, 0);
			msg.modseq = (uint64_t)sqlite3_column_int64(st, 1);
			msg.flags = (uint32_t)sqlite3_column_int64(st, 2);
			if ((kw = sqlite3_column_text(st, 3)) == NULL ||
			    strlcpy(msg.keywords, (const char *)kw,
			    sizeof(msg.keywords)) >= sizeof(msg.keywords)) {
				log_warnx("mbox: fetch: bad keywords");
				ret = MBOX_EIO;
				goto out;
			}
			msg.internaldate = sqlite3_column_int64(st, 4);
			msg.size = (uint64_t)sqlite3_column_int64(st, 5);
			if (meta) {
				msg.envelope =
				    (const char *)sqlite3_column_text(st, 6);
				msg.bodystructure =
				    (const char *)sqlite3_column_text(st, 7);
				if (msg.envelope == NULL ||
				    msg.bodystructure == NULL) {
					ret = mbox_db_fail(m, "fetch",
					    SQLITE_NOMEM);
					goto out;
				}
			}
			if (since > 0 && (ret = seq_skip(m, cnt, fid, &sp,
			    msg.uid)) != MBOX_OK)
				goto out;
			sp.seq++;
			sp.lastuid = msg.uid;
			msg.seq = sp.seq;
			if (cb(arg, &msg) != 0) {
				ret = MBOX_OK;
				goto out;
			}
		}
		if (rc != SQLITE_DONE) {
			ret = mbox_db_fail(m, "fetch", rc);
			goto out;
		}
	}
	ret = MBOX_OK;
 out:
	sqlite3_finalize(cnt);
	sqlite3_finalize(st);
	return (ret);
}

int
mbox_fetch(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, int how, mbox_msg_cb cb, void *arg)
{
	return (mbox_fetch_since(m, folder, r, n, how, 0, cb, arg));
}

int
mbox_fetch_since(struct mbox *m, const char *folder,
    const struct mbox_range *r, size_t n, int how, uint64_t changedsince,
    mbox_msg_cb cb, void *arg)
{
	char			 nm[MBOX_NAME_MAX];
	struct mbox_folder_info	 f;
	struct mbox_range	*nr = NULL;
	size_t			 nn;
	uint32_t		 star;
	int			 ret;

	if (m == NULL || cb == NULL || r == NULL || n == 0 ||
	    n > MBOX_RANGES_MAX || (how & ~(MBOX_FETCH_SEQ |
	    MBOX_FETCH_NOMETA | MBOX_FETCH_CHANGEDSINCE)) != 0)
		return (MBOX_EINVAL);
	if ((how & MBOX_FETCH_CHANGEDSINCE) == 0)
		changedsince = 0;
	else if (changedsince == 0 || changedsince > INT64_MAX)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK)
		goto fail;
	if (how & MBOX_FETCH_SEQ)
		ret = mbox_folder_count(m, f.id, &star);
	else
		ret = mbox_folder_maxuid(m, f.id, &star);
	if (ret != MBOX_OK ||
	    (ret = mbox_ranges_norm(r, n, star, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((how & MBOX_FETCH_SEQ) &&
	    (ret = seq_to_uid(m, f.id, nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = fetch_ranges(m, f.id, nr, nn,
	    (how & MBOX_FETCH_NOMETA) == 0, changedsince, cb, arg)) !=
	    MBOX_OK)
		goto fail;
	free(nr);
	return (mbox_tx_end(m));
 fail:
	free(nr);
	mbox_tx_rollback(m);
	return (ret);
}

int
mbox_body_write(struct mbox *m, const char *folder, uint32_t uid, int fd)
{
	char		 nm[MBOX_NAME_MAX];
	struct mbox_folder_info	 f;
	sqlite3_blob	*blob = NULL;
	unsigned char	*buf = NULL;
	int64_t		 id;
	int		 len, off, k, rc, ret;

	if (m == NULL || fd < 0 || uid == 0 || uid == UINT32_MAX)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((buf = malloc(CHUNK)) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	/* One read transaction: the blob cannot go away under us. */
	if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
		goto out;
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = mbox_db_int(m, "body", &id, "SELECT content_id FROM messages"
	    " WHERE folder_id = ?1 AND uid = ?2", "ii", f.id, (int64_t)uid)) !=
	    MBOX_OK)
		goto fail;
	if ((rc = sqlite3_blob_open(m->db, "main", "blobs", "raw", id, 0,
	    &blob)) != SQLITE_OK) {
		ret = mbox_db_fail(m, "body", rc);
		goto fail;
	}
	len = sqlite3_blob_bytes(blob);
	for (off = 0; off < len; off += k) {
		k = len - off > CHUNK ? CHUNK : len - off;
		if ((rc = sqlite3_blob_read(blob, buf, k, off)) != SQLITE_OK) {
			ret = mbox_db_fail(m, "body", rc);
			goto fail;
		}
		if (write_all(fd, buf, (size_t)k) == -1) {
			log_warn("mbox: body: write");
			ret = MBOX_EIO;
			goto fail;
		}
	}
	rc = sqlite3_blob_close(blob);
	blob = NULL;
	if (rc != SQLITE_OK) {
		ret = mbox_db_fail(m, "body", rc);
		goto fail;
	}
	ret = mbox_tx_end(m);
	goto out;
 fail:
	if (blob != NULL)
		sqlite3_blob_close(blob);
	mbox_tx_rollback(m);
 out:
	free(buf);
	return (ret);
}

/*
 * A record being given to a chunk callback: its uid, its size and how
 * much of it was given.
 */
struct rec {
	mbox_chunk_cb	 cb;
	void		*arg;
	uint32_t	 uid;
	uint64_t	 size;
	uint64_t	 off;
};

/* Bytes of a record; -1 if the callback stopped. */
static int
rec_put(struct rec *rc, const void *p, size_t len)
{
	if (rc->cb(rc->arg, rc->uid, rc->size, rc->off, p, len) != 0)
		return (-1);
	rc->off += len;
	return (0);
}

/*
 * The octets [off, off + n) of the open blob into the record, in
 * chunks through buf: only those pages of the blob are asked for.
 * MBOX_OK, MBOX_EIO, or 1 if the callback stopped.
 */
static int
rec_blob(struct mbox *m, struct rec *rc, sqlite3_blob *blob, uint64_t off,
    uint64_t n, unsigned char *buf)
{
	uint64_t	 done;
	int		 k, rv;

	for (done = 0; done < n; done += (uint64_t)k) {
		k = n - done > CHUNK ? CHUNK : (int)(n - done);
		if ((rv = sqlite3_blob_read(blob, buf, k,
		    (int)(off + done))) != SQLITE_OK)
			return (mbox_db_fail(m, "bodies", rv));
		if (rec_put(rc, buf, (size_t)k) == -1)
			return (1);
	}
	return (MBOX_OK);
}

/*
 * One message's record.  Without sections: the raw message.  With
 * them (MBOX_OP_SECTIONS): a struct mbox_sections_hdr, then the raw
 * message if it has no part map, else each section's result and
 * octets.  The record's size is known before its first byte, so the
 * budget is checked here: 1 (nothing given) when it would go over.
 * MBOX_OK, MBOX_EIO, or 1 if the callback or the budget stopped it.
 */
static int
rec_message(struct mbox *m, struct rec *rc, sqlite3_blob *blob,
    const void *map, size_t maplen, const struct section *sects,
    size_t nsects, uint64_t room, int first, unsigned char *buf)
{
	struct mbox_sections_hdr h;
	struct mbox_section_res	 res;
	uint64_t		 off[MBOX_SECTIONS_MAX], n[MBOX_SECTIONS_MAX];
	uint64_t		 len;
	size_t			 i;
	int			 found[MBOX_SECTIONS_MAX], ret;

	len = (uint64_t)sqlite3_blob_bytes(blob);
	memset(&h, 0, sizeof(h));
	if (nsects == 0)
		rc->size = len;
	else if (map == NULL) {
		h.whole = 1;
		rc->size = sizeof(h) + len;
	} else {
		rc->size = sizeof(h);
		for (i = 0; i < nsects; i++) {
			found[i] = section_find(map, maplen, len, &sects[i],
			    &off[i], &n[i]) == 0;
			if (found[i])
				section_cut(&sects[i], &off[i], &n[i]);
			else
				off[i] = n[i] = 0;
			rc->size += sizeof(res) + n[i];
		}
		/*
		 * Sections that overlap (BODY[] and BODY[TEXT], say) can add
		 * up to more than the message: then the message goes, once,
		 * and the front cuts it.  No record is larger than the
		 * message and the sections' headers.
		 */
		if (rc->size > sizeof(h) + nsects * sizeof(res) + len) {
			h.whole = 1;
			rc->size = sizeof(h) + len;
		}
	}
	/* The first always goes, however large. */
	if (!first && rc->size > room)
		return (1);
	rc->off = 0;
	if (nsects > 0 && rec_put(rc, &h, sizeof(h)) == -1)
		return (1);
	if (nsects == 0 || h.whole) {
		/* An empty message: one call with len 0. */
		if (len == 0 && nsects == 0)
			return (rec_put(rc, "", 0) == -1 ? 1 : MBOX_OK);
		return (rec_blob(m, rc, blob, 0, len, buf));
	}
	for (i = 0; i < nsects; i++) {
		memset(&res, 0, sizeof(res));
		res.found = found[i];
		res.len = n[i];
		if (rec_put(rc, &res, sizeof(res)) == -1)
			return (1);
		if ((ret = rec_blob(m, rc, blob, off[i], n[i], buf)) !=
		    MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

/*
 * Many bodies in one transaction, for FETCH of many BODY[] at once:
 * one round trip between front and vault instead of one per message.
 * The blob handle moves from row to row (sqlite3_blob_reopen) rather
 * than being opened for each message.  With sections, the part map
 * comes with each row, and only the sections' octets are read.
 */
static int
bodies_walk(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, const struct section *sects, size_t nsects, uint64_t budget,
    mbox_chunk_cb cb, void *arg, uint32_t *countp, uint32_t *lastuidp)
{
	char			 nm[MBOX_NAME_MAX];
	struct mbox_folder_info	 f;
	struct mbox_range	*nr = NULL;
	struct rec		 rec;
	sqlite3_stmt		*st = NULL;
	sqlite3_blob		*blob = NULL;
	unsigned char		*buf = NULL;
	const void		*map;
	uint64_t		 total = 0;
	int64_t			 id;
	size_t			 nn, i, maplen;
	uint32_t		 maxuid, end = 0, count = 0, last = 0, uid;
	int			 rc, ret, cut = 0;

	if (countp != NULL)
		*countp = 0;
	if (lastuidp != NULL)
		*lastuidp = 0;
	if (m == NULL || cb == NULL || r == NULL || n == 0 ||
	    n > MBOX_RANGES_MAX || nsects > MBOX_SECTIONS_MAX)
		return (MBOX_EINVAL);
	for (i = 0; i < nsects; i++)
		if (section_check(&sects[i]) == -1)
			return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	/* Where the ranges end as asked, before "*" becomes a uid. */
	for (i = 0; i < n; i++) {
		if (r[i].first > end)
			end = r[i].first;
		if (r[i].last > end)
			end = r[i].last;
	}
	if ((buf = malloc(CHUNK)) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	rec.cb = cb;
	rec.arg = arg;
	if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
		goto out;
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = mbox_folder_maxuid(m, f.id, &maxuid)) != MBOX_OK ||
	    (ret = mbox_ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = mbox_db_prepare(m, "bodies", nsects == 0 ?
	    "SELECT m.uid, m.content_id FROM messages m"
	    " WHERE m.folder_id = ?1 AND m.uid >= ?2 AND m.uid <= ?3"
	    " ORDER BY m.uid" :
	    "SELECT m.uid, m.content_id, p.map FROM messages m"
	    " LEFT JOIN partmaps p ON p.id = m.content_id"
	    " WHERE m.folder_id = ?1 AND m.uid >= ?2 AND m.uid <= ?3"
	    " ORDER BY m.uid", &st)) != MBOX_OK)
		goto fail;
	for (i = 0; i < nn && !cut; i++) {
		if ((rc = sqlite3_reset(st)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, nr[i].first)) !=
		    SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 3, nr[i].last)) != SQLITE_OK) {
			ret = mbox_db_fail(m, "bodies", rc);
			goto fail;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			uid = (uint32_t)sqlite3_column_int64(st, 0);
			id = sqlite3_column_int64(st, 1);
			map = NULL;
			maplen = 0;
			if (nsects > 0 && sqlite3_column_type(st, 2) ==
			    SQLITE_BLOB) {
				map = sqlite3_column_blob(st, 2);
				maplen = (size_t)sqlite3_column_bytes(st, 2);
				if (map == NULL) {
					ret = mbox_db_fail(m, "bodies",
					    SQLITE_NOMEM);
					goto fail;
				}
			}
			if (blob == NULL)
				rc = sqlite3_blob_open(m->db, "main", "blobs",
				    "raw", id, 0, &blob);
			else
				rc = sqlite3_blob_reopen(blob, id);
			if (rc != SQLITE_OK) {
				ret = mbox_db_fail(m, "bodies", rc);
				goto fail;
			}
			rec.uid = uid;
			ret = rec_message(m, &rec, blob, map, maplen, sects,
			    nsects, budget > total ? budget - total : 0,
			    count == 0, buf);
			if (ret == 1) {
				/* Only whole messages count. */
				cut = 1;
				goto done;
			}
			if (ret != MBOX_OK)
				goto fail;
			count++;
			total += rec.size;
			last = uid;
		}
		if (rc != SQLITE_DONE) {
			ret = mbox_db_fail(m, "bodies", rc);
			goto fail;
		}
	}
 done:
	sqlite3_finalize(st);
	st = NULL;
	if (blob != NULL) {
		rc = sqlite3_blob_close(blob);
		blob = NULL;
		if (rc != SQLITE_OK) {
			ret = mbox_db_fail(m, "bodies", rc);
			goto fail;
		}
	}
	if ((ret = mbox_tx_end(m)) != MBOX_OK)
		goto out;
	if (countp != NULL)
		*countp = count;
	if (lastuidp != NULL)
		*lastuidp = cut ? last : end;
	goto out;
 fail:
	sqlite3_finalize(st);
	if (blob != NULL)
		sqlite3_blob_close(blob);
	mbox_tx_rollback(m);
 out:
	free(nr);
	if (buf != NULL)
		freezero(buf, CHUNK);
	return (ret);
}

int
mbox_bodies(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, uint64_t budget, mbox_chunk_cb cb, void *arg,
    uint32_t *countp, uint32_t *lastuidp)
{
	return (bodies_walk(m, folder, r, n, NULL, 0, budget, cb, arg,
	    countp, lastuidp));
}

int
mbox_sections(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, const struct section *sects, size_t nsects, uint64_t budget,
    mbox_chunk_cb cb, void *arg, uint32_t *countp, uint32_t *lastuidp)
{
	if (nsects == 0)
		return (MBOX_EINVAL);
	return (bodies_walk(m, folder, r, n, sects, nsects, budget, cb, arg,
	    countp, lastuidp));
}

int
mbox_vanished(struct mbox *m, const char *folder, uint64_t modseq,
    mbox_uid_cb cb, void *arg)
{
	char		 nm[MBOX_NAME_MAX];
	struct mbox_folder_info	 f;
	sqlite3_stmt	*st = NULL;
	int		 rc, ret;

	if (m == NULL || cb == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = mbox_db_prepare(m, "vanished", "SELECT uid FROM expunged"
	    " WHERE folder_id = ?1 AND modseq > ?2 ORDER BY uid", &st)) !=
	    MBOX_OK)
		goto fail;
	if ((rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, mbox_clamp64(modseq))) !=
	    SQLITE_OK) {
		ret = mbox_db_fail(m, "vanished", rc);
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(arg, (uint32_t)sqlite3_column_int64(st, 0)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = mbox_db_fail(m, "vanished", rc);
		goto fail;
	}
	sqlite3_finalize(st);
	return (mbox_tx_end(m));
 fail:
	sqlite3_finalize(st);
	mbox_tx_rollback(m);
	return (ret);
}
