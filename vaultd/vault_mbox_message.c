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
 * Messages of a mailbox (vault_mbox_db.c) that change: append, copy
 * and move, flag and keyword changes (store), expunge; with the
 * keyword sets and uid ranges they take.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"

#define BATCH		64		/* rows per batch in write loops */
#define WCHUNK		(1024 * 1024)	/* append blob write size */
#define UID_LAST	(UINT32_MAX - 1) /* UINT32_MAX is "*" */
#define KWLIST_MAX	(2 * MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX)

struct kwset {
	size_t		 n;
	char		 kw[MBOX_KEYWORDS_MAX][MBOX_KEYWORD_MAX];
};

/* A message changed by mbox_store(), reported after the commit. */
struct change {
	uint32_t	 uid;
	uint32_t	 seq;
	uint32_t	 flags;
	uint64_t	 modseq;
	int64_t		 internaldate;
	uint64_t	 size;
	char		*keywords;
};

struct changevec {
	struct change	*v;
	size_t		 n;
	size_t		 cap;
};

/* A row read in a store batch. */
struct storerow {
	uint32_t	 uid;
	uint32_t	 flags;
	uint64_t	 modseq;
	int64_t		 internaldate;
	uint64_t	 size;
	char		 keywords[MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX];
};

static int	 atom_char(int);
static int	 kw_find(const struct kwset *, const char *);
static int	 kw_add(struct kwset *, const char *, size_t);
static void	 kw_del(struct kwset *, const char *);
static int	 kw_parse(const char *, struct kwset *);
static int	 kw_equal(const struct kwset *, const struct kwset *);
static void	 kw_format(const struct kwset *, char *, size_t);
static int	 uidvec_push(struct uidvec *, uint32_t);
static int	 changevec_push(struct changevec *, const struct change *);
static void	 changevec_free(struct changevec *);
static int	 range_cmp(const void *, const void *);
static int	 blob_fill(struct mbox *, int64_t, const char *, size_t);
static int	 store_batch(struct mbox *, sqlite3_stmt *, int64_t, uint32_t,
		    uint32_t, struct storerow *, size_t *);
static int	 store_apply(enum mbox_store_op, uint32_t,
		    const struct kwset *, const struct storerow *, uint32_t *,
		    char *, size_t);

/* IMAP ATOM-CHAR (RFC 9051): no specials, no '\\', no controls. */
static int
atom_char(int c)
{
	if (c <= 0x20 || c >= 0x7f)
		return (0);
	return (strchr("(){%*\"\\]", c) == NULL);
}

int
mbox_kw_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len >= MBOX_KEYWORD_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if (!atom_char((unsigned char)s[i]))
			return (0);
	return (1);
}

/* Keywords compare case-insensitively, as IMAP flags do. */
static int
kw_find(const struct kwset *ks, const char *k)
{
	size_t	 i;

	for (i = 0; i < ks->n; i++)
		if (strcasecmp(ks->kw[i], k) == 0)
			return ((int)i);
	return (-1);
}

static int
kw_add(struct kwset *ks, const char *k, size_t len)
{
	char	 buf[MBOX_KEYWORD_MAX];

	if (!mbox_kw_valid(k, len))
		return (MBOX_EINVAL);
	memcpy(buf, k, len);
	buf[len] = '\0';
	if (kw_find(ks, buf) != -1)
		return (MBOX_OK);
	if (ks->n >= MBOX_KEYWORDS_MAX)
		return (MBOX_ELIMIT);
	memcpy(ks->kw[ks->n], buf, len + 1);
	ks->n++;
	return (MBOX_OK);
}

static void
kw_del(struct kwset *ks, const char *k)
{
	int	 i;

	if ((i = kw_find(ks, k)) == -1)
		return;
	/* Keep the order of the others. */
	memmove(ks->kw[i], ks->kw[i + 1],
	    (ks->n - (size_t)i - 1) * sizeof(ks->kw[0]));
	ks->n--;
}

/*
 * Parse a space-separated keyword list (NULL or "" is none):
 * MBOX_EINVAL for a bad keyword, MBOX_ELIMIT for too many.
 */
static int
kw_parse(const char *s, struct kwset *ks)
{
	size_t	 len, i = 0, start, total;
	int	 ret;

	ks->n = 0;
	if (s == NULL)
		return (MBOX_OK);
	/* Longer than any valid list, even with extra spaces. */
	total = strnlen(s, KWLIST_MAX);
	if (total == KWLIST_MAX)
		return (MBOX_ELIMIT);
	while (i < total) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < total && s[i] != ' ')
			i++;
		len = i - start;
		if ((ret = kw_add(ks, s + start, len)) != MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

static int
kw_equal(const struct kwset *a, const struct kwset *b)
{
	size_t	 i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++)
		if (kw_find(b, a->kw[i]) == -1)
			return (0);
	return (1);
}

/* out has room for MBOX_KEYWORDS_MAX keywords and their spaces. */
static void
kw_format(const struct kwset *ks, char *out, size_t outlen)
{
	size_t	 i;

	out[0] = '\0';
	for (i = 0; i < ks->n; i++) {
		if (i > 0)
			(void)strlcat(out, " ", outlen);
		(void)strlcat(out, ks->kw[i], outlen);
	}
}

/*
 * A bundle is untrusted: pointers must be there for non-empty
 * sections, lengths within the section maxima (as bundle_parse() has
 * them), the message non-empty.
 */
int
mbox_bundle_ok(const struct bundle *b)
{
	size_t	 i, max;

	if (b == NULL)
		return (0);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		max = bundle_section_max(i);
		if (b->len[i] > max || (b->len[i] > 0 && b->sec[i] == NULL))
			return (0);
	}
	return (b->len[BUNDLE_RAW] > 0);
}

static int
uidvec_push(struct uidvec *uv, uint32_t x)
{
	uint32_t	*nv;
	size_t		 ncap;

	if (uv->n == uv->cap) {
		ncap = uv->cap == 0 ? 64 : uv->cap * 2;
		if ((nv = reallocarray(uv->v, ncap, sizeof(*nv))) == NULL) {
			log_warn("mbox: %s", __func__);
			return (MBOX_EIO);
		}
		uv->v = nv;
		uv->cap = ncap;
	}
	uv->v[uv->n++] = x;
	return (MBOX_OK);
}

static int
changevec_push(struct changevec *cv, const struct change *c)
{
	struct change	*nv;
	size_t		 ncap;

	if (cv->n == cv->cap) {
		ncap = cv->cap == 0 ? 64 : cv->cap * 2;
		if ((nv = reallocarray(cv->v, ncap, sizeof(*nv))) == NULL) {
			log_warn("mbox: %s", __func__);
			return (MBOX_EIO);
		}
		cv->v = nv;
		cv->cap = ncap;
	}
	cv->v[cv->n++] = *c;
	return (MBOX_OK);
}

static void
changevec_free(struct changevec *cv)
{
	size_t	 i;

	for (i = 0; i < cv->n; i++)
		free(cv->v[i].keywords);
	free(cv->v);
	cv->v = NULL;
	cv->n = cv->cap = 0;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct mbox_range	*ra = a, *rb = b;

	if (ra->first != rb->first)
		return (ra->first < rb->first ? -1 : 1);
	if (ra->last != rb->last)
		return (ra->last < rb->last ? -1 : 1);
	return (0);
}

/*
 * Normalise a set: UINT32_MAX ("*") becomes star (the largest uid or
 * sequence number), reversed ranges are swapped, everything above star
 * is dropped (so rows added by this very call are never visited), then
 * the ranges are sorted and merged.  The result may be empty.
 */
int
mbox_ranges_norm(const struct mbox_range *in, size_t n, uint32_t star,
    struct mbox_range **outp, size_t *noutp)
{
	struct mbox_range	*out;
	size_t			 i, k = 0, j;
	uint32_t		 a, b, t;

	*outp = NULL;
	*noutp = 0;
	if (in == NULL || n == 0 || n > MBOX_RANGES_MAX)
		return (MBOX_EINVAL);
	if ((out = reallocarray(NULL, n, sizeof(*out))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	for (i = 0; i < n; i++) {
		a = in[i].first == UINT32_MAX ? star : in[i].first;
		b = in[i].last == UINT32_MAX ? star : in[i].last;
		if (a > b) {
			t = a;
			a = b;
			b = t;
		}
		if (b > star)
			b = star;
		if (a > b)
			continue;
		out[k].first = a;
		out[k].last = b;
		k++;
	}
	if (k > 1) {
		qsort(out, k, sizeof(*out), range_cmp);
		for (i = 1, j = 0; i < k; i++) {
			if (out[i].first <= out[j].last ||
			    out[i].first - 1 == out[j].last) {
				if (out[i].last > out[j].last)
					out[j].last = out[i].last;
			} else
				out[++j] = out[i];
		}
		k = j + 1;
	}
	*outp = out;
	*noutp = k;
	return (MBOX_OK);
}

/*
 * Write the message into a zero blob in chunks: binding a 1 GB value
 * would make SQLite build the whole record in memory once more.
 */
static int
blob_fill(struct mbox *m, int64_t id, const char *p, size_t len)
{
	sqlite3_blob	*blob;
	size_t		 off, n;
	int		 rc;

	if ((rc = sqlite3_blob_open(m->db, "main", "blobs", "raw", id, 1,
	    &blob)) != SQLITE_OK)
		return (mbox_db_fail(m, "append blob", rc));
	for (off = 0; off < len; off += n) {
		n = len - off > WCHUNK ? WCHUNK : len - off;
		if ((rc = sqlite3_blob_write(blob, p + off, (int)n,
		    (int)off)) != SQLITE_OK) {
			(void)mbox_db_fail(m, "append blob", rc);
			sqlite3_blob_close(blob);
			return (MBOX_EIO);
		}
	}
	if ((rc = sqlite3_blob_close(blob)) != SQLITE_OK)
		return (mbox_db_fail(m, "append blob", rc));
	return (MBOX_OK);
}

/*
 * Inside a write transaction: store a new message in folder f, which
 * is updated in memory (the caller saves it).
 */
int
mbox_append_locked(struct mbox *m, struct mbox_folder_info *f,
    const struct bundle *b, uint32_t flags, const char *keywords,
    uint32_t *uidp)
{
	static const int	 cols[] = { BUNDLE_ENVELOPE,
	    BUNDLE_BODYSTRUCTURE, BUNDLE_MESSAGEID, BUNDLE_SUBJECT,
	    BUNDLE_FROM, BUNDLE_TO, BUNDLE_CC, BUNDLE_BCC, BUNDLE_HEADERS,
	    BUNDLE_TEXT };
	sqlite3_stmt		*st;
	const char		*p;
	int64_t			 id;
	size_t			 i;
	int			 rc, ret;

	if (f->uidnext == 0 || f->uidnext > UID_LAST)
		return (MBOX_ELIMIT);
	if (b->len[BUNDLE_RAW] > (size_t)sqlite3_limit(m->db,
	    SQLITE_LIMIT_LENGTH, -1))
		return (MBOX_ELIMIT);
	if ((ret = mbox_db_exec(m, "append blob", "INSERT INTO blobs (raw)"
	    " VALUES (zeroblob(?1))", "i", (int64_t)b->len[BUNDLE_RAW])) !=
	    MBOX_OK)
		return (ret);
	id = sqlite3_last_insert_rowid(m->db);
	if ((ret = blob_fill(m, id, b->sec[BUNDLE_RAW],
	    b->len[BUNDLE_RAW])) != MBOX_OK)
		return (ret);

	if ((ret = mbox_db_prepare(m, "append content", "INSERT INTO content"
	    " (id, envelope, bodystructure, messageid, subject, from_, to_,"
	    " cc, bcc, headers, body) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", &st)) !=
	    MBOX_OK)
		return (ret);
	rc = sqlite3_bind_int64(st, 1, id);
	for (i = 0; rc == SQLITE_OK && i < sizeof(cols) / sizeof(cols[0]);
	    i++) {
		/* NULL would bind SQL NULL; the sections are NOT NULL. */
		p = b->len[cols[i]] > 0 ? b->sec[cols[i]] : "";
		rc = sqlite3_bind_text64(st, (int)i + 2, p, b->len[cols[i]],
		    SQLITE_STATIC, SQLITE_UTF8);
	}
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	ret = rc == SQLITE_OK ? MBOX_OK : mbox_db_fail(m, "append content", rc);
	sqlite3_finalize(st);
	if (ret != MBOX_OK)
		return (ret);
	/* A trigger put it in unindexed: mbox_index() takes it from there. */
	m->index_due = 1;
	m->backlog++;
	m->backlog_bytes += b->len[BUNDLE_RAW];

	/*
	 * The part map, as the front made it: checked where it is used
	 * (section_find()), as a map read back from disk must be.
	 */
	if (b->len[BUNDLE_PARTMAP] > 0) {
		if ((ret = mbox_db_prepare(m, "append partmap", "INSERT INTO"
		    " partmaps (id, map) VALUES (?1, ?2)", &st)) != MBOX_OK)
			return (ret);
		if ((rc = sqlite3_bind_int64(st, 1, id)) == SQLITE_OK &&
		    (rc = sqlite3_bind_blob64(st, 2, b->sec[BUNDLE_PARTMAP],
		    b->len[BUNDLE_PARTMAP], SQLITE_STATIC)) == SQLITE_OK &&
		    (rc = sqlite3_step(st)) == SQLITE_DONE)
			rc = SQLITE_OK;
		ret = rc == SQLITE_OK ? MBOX_OK :
		    mbox_db_fail(m, "append partmap", rc);
		sqlite3_finalize(st);
		if (ret != MBOX_OK)
			return (ret);
	}

	f->highestmodseq++;
	if ((ret = mbox_db_exec(m, "append", "INSERT INTO messages (folder_id,"
	    " uid, modseq, flags, keywords, internaldate, sentdate, size,"
	    " content_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	    "iiiitiiii", f->id, (int64_t)f->uidnext,
	    (int64_t)f->highestmodseq, (int64_t)flags, keywords,
	    b->internaldate, b->sentdate, (int64_t)b->len[BUNDLE_RAW], id)) !=
	    MBOX_OK)
		return (ret);
	*uidp = f->uidnext++;
	return (MBOX_OK);
}

/*
 * Inside a write transaction: copy the messages of src in the
 * normalised ranges r to dst with new uids, in uid order, sharing
 * their content; with move, expunge them from src.  pairs gets
 * (srcuid, dstuid) for each.  Both folders are saved.
 */
int
mbox_copy_locked(struct mbox *m, struct mbox_folder_info *src,
    struct mbox_folder_info *dst, const struct mbox_range *r, size_t nr,
    int move, struct uidvec *pairs)
{
	sqlite3_stmt	*sel = NULL, *ins = NULL;
	uint32_t	 batch[BATCH], from, newuid;
	size_t		 i, j, got;
	int		 rc, ret;

	if ((ret = mbox_db_prepare(m, "copy", "SELECT uid FROM messages"
	    " WHERE folder_id = ?1 AND uid >= ?2 AND uid <= ?3"
	    " ORDER BY uid LIMIT ?4", &sel)) != MBOX_OK)
		goto out;
	if ((ret = mbox_db_prepare(m, "copy", "INSERT INTO messages (folder_id,"
	    " uid, modseq, flags, keywords, internaldate, sentdate, size,"
	    " content_id) SELECT ?1, ?2, ?3, flags, keywords, internaldate,"
	    " sentdate, size, content_id FROM messages"
	    " WHERE folder_id = ?4 AND uid = ?5", &ins)) != MBOX_OK)
		goto out;
	for (i = 0; i < nr; i++) {
		from = r[i].first;
		for (;;) {
			/* Read a batch, then write: no open cursor. */
			got = 0;
			if ((rc = sqlite3_reset(sel)) != SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 1, src->id)) !=
			    SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 2, from)) !=
			    SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 3, r[i].last)) !=
			    SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 4, BATCH)) !=
			    SQLITE_OK)
				goto dberr;
			while (got < BATCH &&
			    (rc = sqlite3_step(sel)) == SQLITE_ROW)
				batch[got++] =
				    (uint32_t)sqlite3_column_int64(sel, 0);
			if (got < BATCH && rc != SQLITE_DONE)
				goto dberr;
			if ((rc = sqlite3_reset(sel)) != SQLITE_OK)
				goto dberr;
			for (j = 0; j < got; j++) {
				if (dst->uidnext == 0 ||
				    dst->uidnext > UID_LAST) {
					ret = MBOX_ELIMIT;
					goto out;
				}
				newuid = dst->uidnext++;
				dst->highestmodseq++;
				if ((rc = sqlite3_reset(ins)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 1,
				    dst->id)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 2,
				    newuid)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 3,
				    (int64_t)dst->highestmodseq)) !=
				    SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 4,
				    src->id)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 5,
				    batch[j])) != SQLITE_OK)
					goto dberr;
				if ((rc = sqlite3_step(ins)) != SQLITE_DONE)
					goto dberr;
				if (sqlite3_changes(m->db) != 1) {
					log_warnx("mbox: copy: row vanished");
					ret = MBOX_EIO;
					goto out;
				}
				if ((ret = uidvec_push(pairs, batch[j])) !=
				    MBOX_OK ||
				    (ret = uidvec_push(pairs, newuid)) !=
				    MBOX_OK)
					goto out;
			}
			if (got < BATCH || batch[got - 1] >= r[i].last)
				break;
			from = batch[got - 1] + 1;
		}
	}
	if (pairs->n == 0) {
		ret = MBOX_OK;
		goto out;
	}
	if ((ret = mbox_folder_save(m, dst)) != MBOX_OK)
		goto out;
	if (move) {
		src->highestmodseq++;
		for (i = 0; i < nr; i++) {
			if ((ret = mbox_db_exec(m, "move",
			    "INSERT INTO expunged (folder_id, uid, modseq)"
			    " SELECT folder_id, uid,"
			    " ?4 FROM messages WHERE folder_id = ?1 AND"
			    " uid >= ?2 AND uid <= ?3", "iiii", src->id,
			    (int64_t)r[i].first, (int64_t)r[i].last,
			    (int64_t)src->highestmodseq)) != MBOX_OK ||
			    (ret = mbox_db_exec(m, "move",
			    "DELETE FROM messages"
			    " WHERE folder_id = ?1 AND uid >= ?2 AND"
			    " uid <= ?3", "iii", src->id, (int64_t)r[i].first,
			    (int64_t)r[i].last)) != MBOX_OK)
				goto out;
		}
		if ((ret = mbox_folder_save(m, src)) != MBOX_OK)
			goto out;
	}
	ret = MBOX_OK;
	goto out;
 dberr:
	ret = mbox_db_fail(m, "copy", rc);
 out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return (ret);
}

/*
 * Read up to BATCH messages with uids in [from, last] into rows; the
 * statement is reset afterwards, so the caller may write.
 */
static int
store_batch(struct mbox *m, sqlite3_stmt *sel, int64_t fid, uint32_t from,
    uint32_t last, struct storerow *rows, size_t *gotp)
{
	const unsigned char	*kw;
	size_t			 got = 0;
	int			 rc;

	*gotp = 0;
	if ((rc = sqlite3_reset(sel)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 1, fid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 2, from)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 3, last)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 4, BATCH)) != SQLITE_OK)
		return (mbox_db_fail(m, "store", rc));
	while (got < BATCH && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
		rows[got].uid = (uint32_t)sqlite3_column_int64(sel, 0);
		rows[got].modseq = (uint64_t)sqlite3_column_int64(sel, 1);
		rows[got].flags = (uint32_t)sqlite3_column_int64(sel, 2);
		if ((kw = sqlite3_column_text(sel, 3)) == NULL ||
		    strlcpy(rows[got].keywords, (const char *)kw,
		    sizeof(rows[got].keywords)) >= sizeof(rows[got].keywords)) {
			log_warnx("mbox: store: bad keywords");
			return (MBOX_EIO);
		}
		rows[got].internaldate = sqlite3_column_int64(sel, 4);
		rows[got].size = (uint64_t)sqlite3_column_int64(sel, 5);
		got++;
	}
	if (got < BATCH && rc != SQLITE_DONE)
		return (mbox_db_fail(m, "store", rc));
	if ((rc = sqlite3_reset(sel)) != SQLITE_OK)
		return (mbox_db_fail(m, "store", rc));
	*gotp = got;
	return (MBOX_OK);
}

/*
 * What a STORE makes of one message: its flags in *nf, its keywords
 * formatted in kwout.  MBOX_ELIMIT if it would get too many keywords.
 */
static int
store_apply(enum mbox_store_op op, uint32_t flags, const struct kwset *args,
    const struct storerow *row, uint32_t *nf, char *kwout, size_t kwlen)
{
	struct kwset	 ks;
	size_t		 k;
	int		 ret;

	if (kw_parse(row->keywords, &ks) != MBOX_OK) {
		log_warnx("mbox: store: bad keywords");
		return (MBOX_EIO);
	}
	switch (op) {
	case STORE_REPLACE:
		*nf = flags;
		/* The same set, spelt in another case or order: as is. */
		if (!kw_equal(&ks, args))
			ks = *args;
		break;
	case STORE_ADD:
		*nf = row->flags | flags;
		for (k = 0; k < args->n; k++)
			if ((ret = kw_add(&ks, args->kw[k],
			    strlen(args->kw[k]))) != MBOX_OK)
				return (ret);
		break;
	default:
		*nf = row->flags & ~flags;
		for (k = 0; k < args->n; k++)
			kw_del(&ks, args->kw[k]);
		break;
	}
	kw_format(&ks, kwout, kwlen);
	return (MBOX_OK);
}

/* One message: MULTIAPPEND's transaction with one entry. */
int
mbox_append(struct mbox *m, const char *folder, const struct bundle *b,
    uint32_t flags, const char *keywords, uint32_t *uidvalidity,
    uint32_t *uidp)
{
	struct mbox_append_one	 one;

	one.b = b;
	one.flags = flags;
	one.keywords = keywords;
	return (mbox_append_many(m, folder, &one, 1, uidvalidity, uidp));
}

int
mbox_append_many(struct mbox *m, const char *folder,
    const struct mbox_append_one *msgs, size_t n, uint32_t *uidvalidity,
    uint32_t *first)
{
	char		 nm[MBOX_NAME_MAX];
	char		 kw[MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX];
	struct kwset	 ks;
	struct mbox_folder_info	 f;
	uint32_t	 uid, uid0 = 0;
	size_t		 i;
	int		 ret;

	if (m == NULL || msgs == NULL || n == 0 || n > MBOX_APPEND_MAX)
		return (MBOX_EINVAL);
	for (i = 0; i < n; i++)
		if (!mbox_bundle_ok(msgs[i].b) ||
		    (msgs[i].flags & ~MAILFLAG_ALL) != 0)
			return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		/* A bad keyword list in any message: none is stored. */
		if ((ret = kw_parse(msgs[i].keywords, &ks)) != MBOX_OK)
			goto fail;
		kw_format(&ks, kw, sizeof(kw));
		if ((ret = mbox_append_locked(m, &f, msgs[i].b,
		    msgs[i].flags, kw, &uid)) != MBOX_OK)
			goto fail;
		if (i == 0)
			uid0 = uid;
	}
	if ((ret = mbox_folder_save(m, &f)) != MBOX_OK)
		goto fail;
	explicit_bzero(&ks, sizeof(ks));
	if ((ret = mbox_tx_commit(m)) != MBOX_OK)
		return (ret);
	if (uidvalidity != NULL)
		*uidvalidity = f.uidvalidity;
	if (first != NULL)
		*first = uid0;
	return (MBOX_OK);
fail:
	explicit_bzero(&ks, sizeof(ks));
	mbox_tx_rollback(m);
	return (ret);
}

int
mbox_store(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, enum mbox_store_op op, uint32_t flags, const char *keywords,
    uint64_t unchangedsince, mbox_msg_cb changed_cb, mbox_uid_cb failed_cb,
    void *arg)
{
	char			 nm[MBOX_NAME_MAX];
	char			 kwout[MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX];
	struct kwset		 args;
	struct mbox_folder_info	 f;
	struct mbox_range	*nr = NULL;
	struct storerow		*rows = NULL;
	struct seqpos		 sp = { 0, 0 };
	struct uidvec		 failed = { NULL, 0, 0 };
	struct changevec	 changed = { NULL, 0, 0 };
	struct change		 ch;
	struct mbox_msg		 msg;
	sqlite3_stmt		*sel = NULL, *upd = NULL;
	size_t			 nn, i, j, got;
	uint32_t		 maxuid, from, nf;
	int			 rc, ret, stop;

	if (m == NULL || (flags & ~MAILFLAG_ALL) != 0 ||
	    (op != STORE_REPLACE && op != STORE_ADD && op != STORE_REMOVE))
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK ||
	    (ret = kw_parse(keywords, &args)) != MBOX_OK)
		return (ret);
	if (r == NULL || n == 0 || n > MBOX_RANGES_MAX)
		return (MBOX_EINVAL);
	if ((rows = calloc(BATCH, sizeof(*rows))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		goto out;
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = mbox_folder_maxuid(m, f.id, &maxuid)) != MBOX_OK ||
	    (ret = mbox_ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = mbox_db_prepare(m, "store", "SELECT uid, modseq, flags,"
	    " keywords, internaldate, size FROM messages WHERE folder_id = ?1"
	    " AND uid >= ?2 AND uid <= ?3 ORDER BY uid LIMIT ?4", &sel)) !=
	    MBOX_OK ||
	    (ret = mbox_db_prepare(m, "store", "UPDATE messages SET flags = ?1,"
	    " keywords = ?2, modseq = ?3 WHERE folder_id = ?4 AND uid = ?5",
	    &upd)) != MBOX_OK)
		goto fail;
	for (i = 0; i < nn; i++) {
		if ((ret = mbox_seq_advance(m, f.id, &sp, nr[i].first)) !=
		    MBOX_OK)
			goto fail;
		from = nr[i].first;
		for (;;) {
			if ((ret = store_batch(m, sel, f.id, from, nr[i].last,
			    rows, &got)) != MBOX_OK)
				goto fail;
			for (j = 0; j < got; j++) {
				sp.seq++;
				sp.lastuid = rows[j].uid;
				if (unchangedsince != 0 &&
				    rows[j].modseq > unchangedsince) {
					if ((ret = uidvec_push(&failed,
					    rows[j].uid)) != MBOX_OK)
						goto fail;
					continue;
				}
				if ((ret = store_apply(op, flags, &args,
				    &rows[j], &nf, kwout, sizeof(kwout))) !=
				    MBOX_OK)
					goto fail;
				if (nf == rows[j].flags &&
				    strcmp(kwout, rows[j].keywords) == 0)
					continue;
				f.highestmodseq++;
				if ((rc = sqlite3_reset(upd)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 1, nf)) !=
				    SQLITE_OK ||
				    (rc = sqlite3_bind_text(upd, 2, kwout, -1,
				    SQLITE_STATIC)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 3,
				    (int64_t)f.highestmodseq)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 4, f.id)) !=
				    SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 5,
				    rows[j].uid)) != SQLITE_OK ||
				    (rc = sqlite3_step(upd)) != SQLITE_DONE)
					goto dberr;
				memset(&ch, 0, sizeof(ch));
				ch.uid = rows[j].uid;
				ch.seq = sp.seq;
				ch.flags = nf;
				ch.modseq = f.highestmodseq;
				ch.internaldate = rows[j].internaldate;
				ch.size = rows[j].size;
				if ((ch.keywords = strdup(kwout)) == NULL) {
					log_warn("mbox: %s", __func__);
					ret = MBOX_EIO;
					goto fail;
				}
				if ((ret = changevec_push(&changed, &ch)) !=
				    MBOX_OK) {
					free(ch.keywords);
					goto fail;
				}
			}
			if (got < BATCH || rows[got - 1].uid >= nr[i].last)
				break;
			from = rows[got - 1].uid + 1;
		}
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sel = upd = NULL;
	if (changed.n == 0)
		mbox_tx_rollback(m);
	else if ((ret = mbox_folder_save(m, &f)) != MBOX_OK ||
	    (ret = mbox_tx_commit(m)) != MBOX_OK) {
		mbox_tx_rollback(m);
		goto out;
	}

	/* Committed: now tell. */
	stop = 0;
	for (i = 0; changed_cb != NULL && !stop && i < changed.n; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.uid = changed.v[i].uid;
		msg.seq = changed.v[i].seq;
		msg.modseq = changed.v[i].modseq;
		msg.flags = changed.v[i].flags;
		(void)strlcpy(msg.keywords, changed.v[i].keywords,
		    sizeof(msg.keywords));
		msg.internaldate = changed.v[i].internaldate;
		msg.size = changed.v[i].size;
		stop = changed_cb(arg, &msg) != 0;
	}
	for (i = 0; failed_cb != NULL && !stop && i < failed.n; i++)
		stop = failed_cb(arg, failed.v[i]) != 0;
	ret = MBOX_OK;
	goto out;
 dberr:
	ret = mbox_db_fail(m, "store", rc);
 fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	mbox_tx_rollback(m);
 out:
	changevec_free(&changed);
	free(failed.v);
	free(nr);
	free(rows);
	return (ret);
}

int
mbox_copy(struct mbox *m, const char *srcname, const struct mbox_range *r,
    size_t n, const char *dstname, int move, mbox_uidpair_cb cb, void *arg,
    uint32_t *uidvalidity)
{
	char			 sn[MBOX_NAME_MAX], dn[MBOX_NAME_MAX];
	struct mbox_folder_info	 src, dst;
	struct mbox_range	*nr = NULL;
	struct uidvec		 pairs = { NULL, 0, 0 };
	size_t			 nn, i;
	uint32_t		 maxuid;
	int			 ret;

	if (m == NULL || r == NULL || n == 0 || n > MBOX_RANGES_MAX)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(srcname, sn)) != MBOX_OK ||
	    (ret = mbox_name_norm(dstname, dn)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, sn, &src)) != MBOX_OK ||
	    (ret = mbox_folder_find(m, dn, &dst)) != MBOX_OK ||
	    (ret = mbox_folder_maxuid(m, src.id, &maxuid)) != MBOX_OK ||
	    (ret = mbox_ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if (src.id == dst.id) {
		/*
		 * A copy into the same folder: one folder row to keep.  A
		 * move there is a copy, then the originals expunged (RFC
		 * 6851 3.3): the ranges end at the old last uid, so the
		 * copies, above it, stay.
		 */
		if ((ret = mbox_copy_locked(m, &dst, &dst, nr, nn, move,
		    &pairs)) != MBOX_OK)
			goto fail;
	} else if ((ret = mbox_copy_locked(m, &src, &dst, nr, nn, move,
	    &pairs)) != MBOX_OK)
		goto fail;
	if (pairs.n == 0)
		mbox_tx_rollback(m);
	else if ((ret = mbox_tx_commit(m)) != MBOX_OK)
		goto out;
	if (uidvalidity != NULL)
		*uidvalidity = dst.uidvalidity;
	for (i = 0; cb != NULL && i + 1 < pairs.n; i += 2)
		if (cb(arg, pairs.v[i], pairs.v[i + 1]) != 0)
			break;
	ret = MBOX_OK;
	goto out;
 fail:
	mbox_tx_rollback(m);
 out:
	free(pairs.v);
	free(nr);
	return (ret);
}

int
mbox_expunge(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, mbox_uid_cb cb, void *arg)
{
	static const struct mbox_range	 all = { 1, UINT32_MAX - 1 };
	char				 nm[MBOX_NAME_MAX];
	struct mbox_folder_info		 f;
	struct mbox_range		*nr = NULL;
	struct uidvec			 uids = { NULL, 0, 0 };
	sqlite3_stmt			*st = NULL;
	size_t				 nn, i;
	uint32_t			 maxuid;
	int				 rc, ret;

	if (m == NULL || (r != NULL && (n == 0 || n > MBOX_RANGES_MAX)))
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if (r == NULL) {
		r = &all;
		n = 1;
	}
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = mbox_folder_maxuid(m, f.id, &maxuid)) != MBOX_OK ||
	    (ret = mbox_ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = mbox_db_prepare(m, "expunge", "SELECT uid FROM messages"
	    " WHERE folder_id = ?1 AND uid >= ?2 AND uid <= ?3 AND"
	    " (flags & ?4) != 0 ORDER BY uid", &st)) != MBOX_OK)
		goto fail;
	for (i = 0; i < nn; i++) {
		if ((rc = sqlite3_reset(st)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, nr[i].first)) !=
		    SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 3, nr[i].last)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 4, MAILFLAG_DELETED)) !=
		    SQLITE_OK) {
			ret = mbox_db_fail(m, "expunge", rc);
			goto fail;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if ((ret = uidvec_push(&uids,
			    (uint32_t)sqlite3_column_int64(st, 0))) != MBOX_OK)
				goto fail;
		if (rc != SQLITE_DONE) {
			ret = mbox_db_fail(m, "expunge", rc);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (uids.n == 0) {
		mbox_tx_rollback(m);
		ret = MBOX_OK;
		goto out;
	}
	/* One new modseq for everything this call expunges. */
	f.highestmodseq++;
	for (i = 0; i < nn; i++) {
		if ((ret = mbox_db_exec(m, "expunge", "INSERT INTO expunged"
		    " (folder_id, uid, modseq) SELECT folder_id, uid, ?5"
		    " FROM messages WHERE folder_id = ?1 AND uid >= ?2 AND"
		    " uid <= ?3 AND (flags & ?4) != 0", "iiiii", f.id,
		    (int64_t)nr[i].first, (int64_t)nr[i].last,
		    (int64_t)MAILFLAG_DELETED, (int64_t)f.highestmodseq)) !=
		    MBOX_OK ||
		    (ret = mbox_db_exec(m, "expunge", "DELETE FROM messages"
		    " WHERE folder_id = ?1 AND uid >= ?2 AND uid <= ?3 AND"
		    " (flags & ?4) != 0", "iiii", f.id, (int64_t)nr[i].first,
		    (int64_t)nr[i].last, (int64_t)MAILFLAG_DELETED)) != MBOX_OK)
			goto fail;
	}
	if ((ret = mbox_folder_save(m, &f)) != MBOX_OK ||
	    (ret = mbox_tx_commit(m)) != MBOX_OK)
		goto fail;
	for (i = 0; cb != NULL && i < uids.n; i++)
		if (cb(arg, uids.v[i]) != 0)
			break;
	ret = MBOX_OK;
	goto out;
 fail:
	sqlite3_finalize(st);
	mbox_tx_rollback(m);
 out:
	free(uids.v);
	free(nr);
	return (ret);
}
