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
 * The record streams of mailbox results: written by vaultd into a memfd,
 * read by a front from a copy of it.  See mbox_stream.h for the format.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbox_stream.h"
#include "peerfd.h"
#include "util.h"

/* No padding: nothing uninitialised can reach a stream. */
_Static_assert(sizeof(struct mbox_stream_folder_hdr) == 3 * 8 + 8 * 4,
    "folder header has padding");
_Static_assert(sizeof(struct mbox_stream_msg_hdr) == 3 * 8 + 6 * 4,
    "message header has padding");
_Static_assert(sizeof(struct mbox_stream_body_hdr) == 2 * 4 + 8,
    "body header has padding");
_Static_assert(MBOX_STREAM_META_MAX < UINT32_MAX / 4,
    "record lengths must add up without overflow");
_Static_assert(BUNDLE_RAW_MAX <= SIZE_MAX / 2,
    "a body length must fit a size_t");

static int	 w_flush(struct mbox_stream_w *);
static int	 w_add(struct mbox_stream_w *, const void *, size_t);
static int	 w_fail(struct mbox_stream_w *);
static int	 w_record(struct mbox_stream_w *);
static int	 r_fail(struct mbox_stream_r *);
static int	 r_take(struct mbox_stream_r *, void *, size_t);

void
mbox_stream_w_init(struct mbox_stream_w *w, int fd)
{
	w->fd = fd;
	w->error = 0;
	w->len = 0;
	w->body_left = 0;
	w->lastbody = 0;
}

static int
w_fail(struct mbox_stream_w *w)
{
	w->error = 1;
	return (-1);
}

/* May a new record start?  Not while a body still owes bytes. */
static int
w_record(struct mbox_stream_w *w)
{
	if (w->error)
		return (-1);
	if (w->body_left > 0)
		return (w_fail(w));
	return (0);
}

static int
w_flush(struct mbox_stream_w *w)
{
	if (w->error)
		return (-1);
	if (w->len > 0 && write_all(w->fd, w->buf, w->len) == -1)
		return (w_fail(w));
	w->len = 0;
	return (0);
}

static int
w_add(struct mbox_stream_w *w, const void *p, size_t n)
{
	if (w->error)
		return (-1);
	if (n == 0)
		return (0);
	if (n > sizeof(w->buf) - w->len && w_flush(w) == -1)
		return (-1);
	/* Large pieces (envelopes, bodystructures) go straight out. */
	if (n > sizeof(w->buf)) {
		if (write_all(w->fd, p, n) == -1)
			return (w_fail(w));
		return (0);
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return (0);
}

int
mbox_stream_put_folder(struct mbox_stream_w *w,
    const struct mbox_folder *f)
{
	struct mbox_stream_folder_hdr	 h;
	size_t				 namelen;

	if (w_record(w) == -1)
		return (-1);
	namelen = strnlen(f->name, sizeof(f->name));
	if (namelen == 0 || namelen >= sizeof(f->name))
		return (w_fail(w));
	memset(&h, 0, sizeof(h));
	h.id = f->info.id;
	h.highestmodseq = f->info.highestmodseq;
	h.size = f->info.size;
	h.special = f->info.special;
	h.subscribed = f->info.subscribed;
	h.uidvalidity = f->info.uidvalidity;
	h.uidnext = f->info.uidnext;
	h.exists = f->info.exists;
	h.unseen = f->info.unseen;
	h.deleted = f->info.deleted;
	h.namelen = (uint32_t)namelen;
	if (w_add(w, &h, sizeof(h)) == -1 || w_add(w, f->name, namelen) == -1)
		return (-1);
	return (0);
}

int
mbox_stream_put_msg(struct mbox_stream_w *w, const struct mbox_stream_msg *m)
{
	struct mbox_stream_msg_hdr	 h;
	size_t				 kwlen;

	if (w_record(w) == -1)
		return (-1);
	kwlen = strnlen(m->keywords, sizeof(m->keywords));
	if (kwlen >= sizeof(m->keywords) ||
	    m->envlen > MBOX_STREAM_META_MAX ||
	    m->bslen > MBOX_STREAM_META_MAX ||
	    (m->envlen > 0 && m->envelope == NULL) ||
	    (m->bslen > 0 && m->bodystructure == NULL))
		return (w_fail(w));
	/* The reader refuses a NUL inside; so does the writer. */
	if ((m->envlen > 0 && memchr(m->envelope, '\0', m->envlen) != NULL) ||
	    (m->bslen > 0 &&
	    memchr(m->bodystructure, '\0', m->bslen) != NULL))
		return (w_fail(w));
	memset(&h, 0, sizeof(h));
	h.modseq = m->modseq;
	h.internaldate = m->internaldate;
	h.size = m->size;
	h.uid = m->uid;
	h.seq = m->seq;
	h.flags = m->flags;
	h.kwlen = (uint32_t)kwlen;
	h.envlen = (uint32_t)m->envlen;
	h.bslen = (uint32_t)m->bslen;
	if (w_add(w, &h, sizeof(h)) == -1 ||
	    w_add(w, m->keywords, kwlen) == -1 ||
	    w_add(w, m->envelope, m->envlen) == -1 ||
	    w_add(w, m->bodystructure, m->bslen) == -1)
		return (-1);
	return (0);
}

int
mbox_stream_put_uid(struct mbox_stream_w *w, uint32_t uid)
{
	if (w_record(w) == -1)
		return (-1);
	return (w_add(w, &uid, sizeof(uid)));
}

int
mbox_stream_put_pair(struct mbox_stream_w *w, uint32_t a, uint32_t b)
{
	uint32_t	 v[2];

	if (w_record(w) == -1)
		return (-1);
	v[0] = a;
	v[1] = b;
	return (w_add(w, v, sizeof(v)));
}

int
mbox_stream_put_body_hdr(struct mbox_stream_w *w, uint32_t uid,
    uint64_t size)
{
	struct mbox_stream_body_hdr	 h;

	if (w_record(w) == -1)
		return (-1);
	if (uid == 0 || uid == UINT32_MAX || uid <= w->lastbody ||
	    size > BUNDLE_RAW_MAX)
		return (w_fail(w));
	memset(&h, 0, sizeof(h));
	h.uid = uid;
	h.size = size;
	if (w_add(w, &h, sizeof(h)) == -1)
		return (-1);
	w->lastbody = uid;
	w->body_left = size;
	return (0);
}

/* Bytes of the open body; large pieces bypass the buffer (w_add). */
int
mbox_stream_put_bytes(struct mbox_stream_w *w, const void *p, size_t n)
{
	if (w->error)
		return (-1);
	if (n > w->body_left || (n > 0 && p == NULL))
		return (w_fail(w));
	if (w_add(w, p, n) == -1)
		return (-1);
	w->body_left -= n;
	return (0);
}

int
mbox_stream_w_finish(struct mbox_stream_w *w)
{
	int	 rc;

	/* A body cut short would make the whole stream unreadable. */
	if (w->body_left > 0)
		(void)w_fail(w);
	rc = w_flush(w);
	explicit_bzero(w->buf, sizeof(w->buf));
	w->len = 0;
	return (rc == -1 || w->error ? -1 : 0);
}

void
mbox_stream_w_abort(struct mbox_stream_w *w)
{
	explicit_bzero(w->buf, sizeof(w->buf));
	w->len = 0;
	w->error = 1;
}

void
mbox_stream_r_init(struct mbox_stream_r *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = buf != NULL ? len : 0;
	r->off = 0;
	r->error = 0;
	r->lastbody = 0;
}

static int
r_fail(struct mbox_stream_r *r)
{
	r->error = 1;
	return (-1);
}

/*
 * Copy the next n bytes out (the buffer has no alignment to rely on):
 * 1, 0 at the exact end, -1 if fewer than n are left.
 */
static int
r_take(struct mbox_stream_r *r, void *p, size_t n)
{
	if (r->error)
		return (-1);
	if (r->off == r->len)
		return (0);
	if (r->len - r->off < n)
		return (r_fail(r));
	memcpy(p, r->buf + r->off, n);
	r->off += n;
	return (1);
}

int
mbox_stream_next_folder(struct mbox_stream_r *r, struct mbox_folder *f)
{
	struct mbox_stream_folder_hdr	 h;
	size_t				 start;
	int				 rc;

	start = r->off;
	if ((rc = r_take(r, &h, sizeof(h))) != 1)
		return (rc);
	if (h.namelen == 0 || h.namelen >= sizeof(f->name) ||
	    h.namelen > r->len - r->off ||
	    memchr(r->buf + r->off, '\0', h.namelen) != NULL) {
		r->off = start;
		return (r_fail(r));
	}
	memset(f, 0, sizeof(*f));
	f->info.id = h.id;
	f->info.highestmodseq = h.highestmodseq;
	f->info.size = h.size;
	f->info.special = h.special;
	f->info.subscribed = h.subscribed;
	f->info.uidvalidity = h.uidvalidity;
	f->info.uidnext = h.uidnext;
	f->info.exists = h.exists;
	f->info.unseen = h.unseen;
	f->info.deleted = h.deleted;
	memcpy(f->name, r->buf + r->off, h.namelen);
	f->name[h.namelen] = '\0';
	r->off += h.namelen;
	return (1);
}

int
mbox_stream_next_msg(struct mbox_stream_r *r, struct mbox_stream_msg *m)
{
	struct mbox_stream_msg_hdr	 h;
	const unsigned char		*p;
	size_t				 start, left;
	int				 rc;

	start = r->off;
	if ((rc = r_take(r, &h, sizeof(h))) != 1)
		return (rc);
	left = r->len - r->off;
	/* Each length is bounded first, so the sum cannot overflow. */
	if (h.kwlen >= sizeof(m->keywords) ||
	    h.envlen > MBOX_STREAM_META_MAX || h.bslen > MBOX_STREAM_META_MAX ||
	    (size_t)h.kwlen + h.envlen + h.bslen > left) {
		r->off = start;
		return (r_fail(r));
	}
	p = r->buf + r->off;
	if (memchr(p, '\0', h.kwlen) != NULL ||
	    memchr(p + h.kwlen, '\0', h.envlen) != NULL ||
	    memchr(p + h.kwlen + h.envlen, '\0', h.bslen) != NULL) {
		r->off = start;
		return (r_fail(r));
	}
	memset(m, 0, sizeof(*m));
	m->uid = h.uid;
	m->seq = h.seq;
	m->modseq = h.modseq;
	m->flags = h.flags;
	m->internaldate = h.internaldate;
	m->size = h.size;
	memcpy(m->keywords, p, h.kwlen);
	m->keywords[h.kwlen] = '\0';
	m->envlen = h.envlen;
	m->envelope = h.envlen > 0 ? (const char *)p + h.kwlen : NULL;
	m->bslen = h.bslen;
	m->bodystructure = h.bslen > 0 ?
	    (const char *)p + h.kwlen + h.envlen : NULL;
	r->off += (size_t)h.kwlen + h.envlen + h.bslen;
	return (1);
}

int
mbox_stream_next_uid(struct mbox_stream_r *r, uint32_t *uid)
{
	return (r_take(r, uid, sizeof(*uid)));
}

int
mbox_stream_next_pair(struct mbox_stream_r *r, uint32_t *a, uint32_t *b)
{
	uint32_t	 v[2];
	int		 rc;

	if ((rc = r_take(r, v, sizeof(v))) != 1)
		return (rc);
	*a = v[0];
	*b = v[1];
	return (1);
}

int
mbox_stream_next_body(struct mbox_stream_r *r, uint32_t *uid,
    const char **data, size_t *len)
{
	struct mbox_stream_body_hdr	 h;
	size_t				 start;
	int				 rc;

	start = r->off;
	if ((rc = r_take(r, &h, sizeof(h))) != 1)
		return (rc);
	if (h.uid == 0 || h.uid == UINT32_MAX || h.uid <= r->lastbody ||
	    h.pad != 0 || h.size > BUNDLE_RAW_MAX ||
	    h.size > r->len - r->off) {
		r->off = start;
		return (r_fail(r));
	}
	r->lastbody = h.uid;
	*uid = h.uid;
	*data = (const char *)r->buf + r->off;
	*len = (size_t)h.size;
	r->off += (size_t)h.size;
	return (1);
}

int
mbox_stream_read_fd(int fd, size_t max, void **bufp, size_t *lenp)
{
	return (peerfd_read(fd, 0, 0, max, bufp, lenp));
}

void
mbox_stream_free(void *buf, size_t len)
{
	peerfd_free(buf, len, 0);
}
