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
 * The structure of a message: header blocks, the part tree, the Date:
 * header, and the public entry points that put the pieces together.
 *
 * The whole message is in memory, so the parser is a single pass of
 * recursive descent with the active boundaries on a stack, like
 * Dovecot's message-parser: a line "--boundary" ends the current part
 * whichever enclosing multipart it belongs to, and the CRLF before it
 * belongs to the delimiter, not to the part.  Each part records offsets
 * into the message; nothing is copied.  Recursion is bounded by
 * MIME_DEPTH_MAX and the number of parts by MIME_PARTS_MAX; every byte
 * is looked at once per level of message/rfc822 nesting at most.
 */

#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MIME_INTERNAL
#include "mime.h"
#include "section.h"

/* As bundle.c: seconds since the epoch below 2^40. */
#define MIME_DATE_MAX		(INT64_C(1) << 40)

/* The active boundaries while parsing, innermost last. */
struct mime_bnd {
	char		 s[MIME_BOUNDARY_MAX];
	size_t		 len;
	int		 closed;	/* its close delimiter was seen */
};

struct mime_tctx {
	const char	*m;
	size_t		 len;
	struct mime_bnd	 b[MIME_DEPTH_MAX + 2];
	int		 nb;
	size_t		 nparts;
	int		 overflow;	/* MIME_PARTS_MAX reached */
	int		 oom;
};

static const struct {
	const char	*name;
	int		 field;
} mime_fields[] = {
	{ "Content-Type",		MF_CTYPE },
	{ "Content-Transfer-Encoding",	MF_CTE },
	{ "Content-ID",			MF_CID },
	{ "Content-Description",	MF_CDESC },
	{ "Content-MD5",		MF_CMD5 },
	{ "Content-Disposition",	MF_CDISP },
	{ "Content-Language",		MF_CLANG },
	{ "Content-Location",		MF_CLOC },
	{ "Date",			MF_DATE },
	{ "Subject",			MF_SUBJECT },
	{ "From",			MF_FROM },
	{ "Sender",			MF_SENDER },
	{ "Reply-To",			MF_REPLYTO },
	{ "To",				MF_TO },
	{ "Cc",				MF_CC },
	{ "Bcc",			MF_BCC },
	{ "In-Reply-To",		MF_INREPLYTO },
	{ "Message-ID",			MF_MSGID },
};

static int	 delim_at(struct mime_tctx *, size_t, int *);
static size_t	 delim_find(struct mime_tctx *, size_t, int *);
static size_t	 body_end(const struct mime_tctx *, size_t, size_t);
static size_t	 next_line(const struct mime_tctx *, size_t);
static size_t	 count_lines(const char *, size_t);
static struct mime_part *part_new(struct mime_tctx *, struct mime_part *);
static void	 part_fields(struct mime_tctx *, struct mime_part *);
static void	 part_type(struct mime_tctx *, struct mime_part *);
static size_t	 part_parse(struct mime_tctx *, struct mime_part *, size_t,
		    int *);
static size_t	 multipart_parse(struct mime_tctx *, struct mime_part *,
		    const char *, size_t, int *);
static int	 date_num(const char *, size_t, size_t *, int, int *);
static int	 date_word(const char *, size_t, size_t *, char *, size_t);
static int64_t	 days_from_civil(int64_t, int, int);
static int	 field_string(const struct mime_str *, char **, size_t *,
		    int);
static int	 headers_section(const char *, const struct mime_part *,
		    char **, size_t *);
static int	 structure(const char *, const struct mime_part *, int,
		    char **, size_t *);
static size_t	 partmap_count(const struct mime_part *);
static uint32_t	 partmap_fill(const struct mime_part *,
		    struct section_node *, uint32_t *);
static int	 partmap_of(const struct mime_part *, size_t, char **,
		    size_t *);

int
mime_lower(int c)
{
	return (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

int
mime_upper(int c)
{
	return (c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
}

/*
 * Header blocks.  [pos, end) is a header as the tree parser delimited
 * it.  A field is its first line and the lines after it that begin with
 * white space; the name is what comes before the colon of the first
 * line, without the white space before the colon (as Dovecot).  A line
 * with no colon, or with a name that is not printable ASCII, is given
 * with a NULL name.
 */

void
mime_hiter_init(struct mime_hiter *it, const char *msg, size_t start,
    size_t end)
{
	it->msg = msg;
	it->pos = start;
	it->end = end;
	it->count = 0;
}

int
mime_hiter_next(struct mime_hiter *it, struct mime_hfield *f)
{
	const char	*m = it->msg, *nl, *colon;
	size_t		 p = it->pos, e, ce, fl, ne, i;
	int		 ok;

	if (p >= it->end || it->count >= MIME_FIELDS_MAX)
		return (0);
	if (m[p] == '\n' || (m[p] == '\r' && p + 1 < it->end &&
	    m[p + 1] == '\n'))
		return (0);

	e = p;
	for (;;) {
		if ((nl = memchr(m + e, '\n', it->end - e)) == NULL) {
			e = it->end;
			break;
		}
		e = (size_t)(nl - m) + 1;
		if (e < it->end && (m[e] == ' ' || m[e] == '\t'))
			continue;
		break;
	}
	it->pos = e;
	it->count++;

	ce = e;
	if (ce > p && m[ce - 1] == '\n')
		ce--;
	if (ce > p && m[ce - 1] == '\r')
		ce--;
	nl = memchr(m + p, '\n', ce - p);
	fl = nl != NULL ? (size_t)(nl - m) : ce;

	memset(f, 0, sizeof(*f));
	f->value = m + p;
	f->valuelen = ce - p;
	if ((colon = memchr(m + p, ':', fl - p)) == NULL)
		return (1);
	ne = (size_t)(colon - m);
	while (ne > p && (m[ne - 1] == ' ' || m[ne - 1] == '\t'))
		ne--;
	ok = ne > p;
	for (i = p; ok && i < ne; i++)
		if ((unsigned char)m[i] < 33 || (unsigned char)m[i] > 126)
			ok = 0;
	if (!ok)
		return (1);
	f->name = m + p;
	f->namelen = ne - p;
	f->value = colon + 1;
	f->valuelen = ce - (size_t)(colon + 1 - m);
	return (1);
}

/*
 * Unfold a field value (RFC 5322 2.2.3: a CRLF or LF before white
 * space goes, the white space stays) and trim white space at both
 * ends.  A CR not before a LF is kept.
 */
void
mime_unfold(const char *p, size_t n, struct mbuf *out)
{
	size_t	 s = 0, e = n, i, run;

	while (s < e && (p[s] == ' ' || p[s] == '\t' || p[s] == '\r' ||
	    p[s] == '\n'))
		s++;
	while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t' ||
	    p[e - 1] == '\r' || p[e - 1] == '\n'))
		e--;
	run = s;
	for (i = s; i < e; i++) {
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < e &&
		    p[i + 1] == '\n')) {
			mbuf_add(out, p + run, i - run);
			run = i + 1;
		}
	}
	mbuf_add(out, p + run, e - run);
}

/*
 * The part tree.
 */

/* Is the line at pos a delimiter of an active boundary?  Which one. */
static int
delim_at(struct mime_tctx *t, size_t pos, int *which)
{
	const char	*m = t->m;
	size_t		 rest, blen = 0;
	int		 i, best = -1;

	if (t->overflow || t->len - pos < 2 || m[pos] != '-' ||
	    m[pos + 1] != '-')
		return (0);
	rest = t->len - pos - 2;
	/* The innermost wins a tie, the longest prefix wins (Dovecot). */
	for (i = t->nb - 1; i >= 0; i--) {
		if (t->b[i].closed || t->b[i].len > rest)
			continue;
		if (memcmp(m + pos + 2, t->b[i].s, t->b[i].len) != 0)
			continue;
		if (best == -1 || t->b[i].len > blen) {
			best = i;
			blen = t->b[i].len;
		}
	}
	if (best == -1)
		return (0);
	*which = best;
	return (1);
}

/* The next delimiter line at or after pos (a line start), or t->len. */
static size_t
delim_find(struct mime_tctx *t, size_t pos, int *which)
{
	const char	*nl;

	if (t->nb == 0 || t->overflow)
		return (t->len);
	while (pos < t->len) {
		if (delim_at(t, pos, which))
			return (pos);
		if ((nl = memchr(t->m + pos, '\n', t->len - pos)) == NULL)
			break;
		pos = (size_t)(nl - t->m) + 1;
	}
	return (t->len);
}

/* Where a body that starts at start ends when a delimiter is at d. */
static size_t
body_end(const struct mime_tctx *t, size_t start, size_t d)
{
	size_t	 e;

	if (d >= t->len)
		return (t->len);
	if (d <= start)
		return (start);
	e = d - 1;			/* the LF of the line before */
	if (e > start && t->m[e - 1] == '\r')
		e--;
	return (e);
}

static size_t
next_line(const struct mime_tctx *t, size_t pos)
{
	const char	*nl;

	if (pos >= t->len)
		return (t->len);
	if ((nl = memchr(t->m + pos, '\n', t->len - pos)) == NULL)
		return (t->len);
	return ((size_t)(nl - t->m) + 1);
}

static size_t
count_lines(const char *p, size_t n)
{
	const char	*nl, *end = p + n;
	size_t		 c = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		c++;
		p = nl + 1;
	}
	return (c);
}

/*
 * A new child of parent.  The part that reaches MIME_PARTS_MAX is the
 * last: from then on no delimiter is recognised, so it and every part
 * around it run to the end of the message (as Dovecot does).
 */
static struct mime_part *
part_new(struct mime_tctx *t, struct mime_part *parent)
{
	struct mime_part	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		t->oom = 1;
		return (NULL);
	}
	c->parent = parent;
	c->depth = parent->depth + 1;
	if (parent->last == NULL)
		parent->child = c;
	else
		parent->last->next = c;
	parent->last = c;
	parent->nchild++;
	if (++t->nparts >= MIME_PARTS_MAX)
		t->overflow = 1;
	return (c);
}

/* Remember the first of each field that ENVELOPE and BODYSTRUCTURE use. */
static void
part_fields(struct mime_tctx *t, struct mime_part *p)
{
	struct mime_hiter	 it;
	struct mime_hfield	 f;
	size_t			 i;
	int			 k;

	mime_hiter_init(&it, t->m, p->off, p->off + p->hdr_len);
	while (mime_hiter_next(&it, &f)) {
		if (f.name == NULL)
			continue;
		for (i = 0; i < nitems(mime_fields); i++) {
			if (strlen(mime_fields[i].name) != f.namelen ||
			    strncasecmp(mime_fields[i].name, f.name,
			    f.namelen) != 0)
				continue;
			k = mime_fields[i].field;
			if (p->f[k].p == NULL) {
				p->f[k].p = f.value;
				p->f[k].n = f.valuelen;
			}
			break;
		}
	}
}

/*
 * The media type.  An absent or invalid Content-Type is text/plain, or
 * message/rfc822 in a multipart/digest (RFC 2046 5.1.5).
 */
static void
part_type(struct mime_tctx *t, struct mime_part *p)
{
	struct mbuf	 v;
	size_t		 rest;
	int		 ok = 0;

	if (p->f[MF_CTYPE].p != NULL) {
		mbuf_init(&v, MIME_VALUE_MAX, 0);
		mime_unfold(p->f[MF_CTYPE].p, p->f[MF_CTYPE].n, &v);
		if (v.oom)
			t->oom = 1;
		else if (v.len > 0 && mime_ctype(v.p, v.len, p->type,
		    p->subtype, &rest) == 0)
			ok = 1;
		mbuf_free(&v);
	}
	if (!ok) {
		if (p->parent != NULL && (p->parent->flags & MP_DIGEST) &&
		    !(p->parent->flags & MP_OPAQUE)) {
			strlcpy(p->type, "MESSAGE", sizeof(p->type));
			strlcpy(p->subtype, "RFC822", sizeof(p->subtype));
		} else {
			strlcpy(p->type, "TEXT", sizeof(p->type));
			strlcpy(p->subtype, "PLAIN", sizeof(p->subtype));
		}
	}
	if (strcmp(p->type, "TEXT") == 0) {
		p->flags |= MP_TEXT;
		if (strcmp(p->subtype, "HTML") == 0)
			p->flags |= MP_HTML;
	} else if (strcmp(p->type, "MULTIPART") == 0) {
		p->flags |= MP_MULTIPART;
		if (strcmp(p->subtype, "DIGEST") == 0)
			p->flags |= MP_DIGEST;
	} else if (strcmp(p->type, "MESSAGE") == 0 &&
	    strcmp(p->subtype, "RFC822") == 0)
		p->flags |= MP_MESSAGE;
}

/*
 * Parse the part that starts at start: its header, then its body up to
 * the next delimiter of an active boundary.  Returns where that
 * delimiter line starts (t->len for none) and which boundary it is.
 */
static size_t
part_parse(struct mime_tctx *t, struct mime_part *p, size_t start,
    int *which)
{
	struct mime_params	 params;
	const struct mime_param	*bp;
	struct mime_part	*c;
	struct mbuf		 v;
	const char		*m = t->m, *nl;
	size_t			 pos, d = t->len, end, rest;
	int			 at_delim = 0;

	*which = -1;
	p->off = start;
	pos = start;
	for (;;) {
		if (pos >= t->len) {
			p->hdr_len = t->len - start;
			p->body_off = t->len;
			break;
		}
		if (t->nb > 0 && delim_at(t, pos, which)) {
			/* A header cut short by a boundary: no body. */
			p->body_off = body_end(t, start, pos);
			p->hdr_len = p->body_off - start;
			at_delim = 1;
			d = pos;
			break;
		}
		if (m[pos] == '\n' || (m[pos] == '\r' && pos + 1 < t->len &&
		    m[pos + 1] == '\n')) {
			p->body_off = pos + (m[pos] == '\n' ? 1 : 2);
			p->hdr_len = p->body_off - start;
			break;
		}
		if ((nl = memchr(m + pos, '\n', t->len - pos)) == NULL)
			pos = t->len;
		else
			pos = (size_t)(nl - m) + 1;
	}

	part_fields(t, p);
	part_type(t, p);
	if ((p->flags & (MP_MULTIPART | MP_MESSAGE)) &&
	    (p->depth >= MIME_DEPTH_MAX || t->overflow))
		p->flags |= MP_OPAQUE;

	if (at_delim) {
		/* An encapsulated message that is not there: empty. */
		if ((p->flags & MP_MESSAGE) && !(p->flags & MP_OPAQUE) &&
		    (c = part_new(t, p)) != NULL) {
			c->off = c->body_off = p->body_off;
			strlcpy(c->type, "TEXT", sizeof(c->type));
			strlcpy(c->subtype, "PLAIN", sizeof(c->subtype));
			c->flags = MP_TEXT;
		}
		return (d);
	}

	if ((p->flags & MP_MULTIPART) && !(p->flags & MP_OPAQUE) &&
	    p->f[MF_CTYPE].p != NULL) {
		mbuf_init(&v, MIME_VALUE_MAX, 0);
		mime_unfold(p->f[MF_CTYPE].p, p->f[MF_CTYPE].n, &v);
		memset(&params, 0, sizeof(params));
		if (v.oom)
			t->oom = 1;
		else if (mime_ctype(v.p, v.len, p->type, p->subtype,
		    &rest) == 0 && mime_params_parse(v.p + rest,
		    v.len - rest, &params) == -1)
			t->oom = 1;
		bp = mime_params_get(&params, "boundary", 0);
		/* A boundary that cannot be a line prefix is no boundary. */
		if (bp != NULL && bp->vlen > 0 &&
		    bp->vlen <= MIME_BOUNDARY_MAX &&
		    memchr(bp->value, '\n', bp->vlen) == NULL &&
		    memchr(bp->value, '\r', bp->vlen) == NULL &&
		    t->nb < (int)nitems(t->b))
			d = multipart_parse(t, p, bp->value, bp->vlen, which);
		else
			d = delim_find(t, p->body_off, which);
		mime_params_free(&params);
		mbuf_free(&v);
	} else if ((p->flags & MP_MESSAGE) && !(p->flags & MP_OPAQUE)) {
		if ((c = part_new(t, p)) == NULL)
			return (t->len);
		d = part_parse(t, c, p->body_off, which);
	} else
		d = delim_find(t, p->body_off, which);

	end = body_end(t, p->body_off, d);
	p->body_len = end - p->body_off;
	if (!(p->flags & MP_MULTIPART) || (p->flags & MP_OPAQUE))
		p->body_lines = count_lines(m + p->body_off, p->body_len);
	return (d);
}

/*
 * The body of a multipart: preamble, parts, epilogue.  A close
 * delimiter retires the boundary (later lines that match it are
 * epilogue); a delimiter of an enclosing multipart ends this one too.
 */
static size_t
multipart_parse(struct mime_tctx *t, struct mime_part *p, const char *bnd,
    size_t blen, int *which)
{
	struct mime_part	*c;
	size_t			 d, after;
	int			 k, w = -1;

	k = t->nb++;
	memcpy(t->b[k].s, bnd, blen);
	t->b[k].len = blen;
	t->b[k].closed = 0;

	d = delim_find(t, p->body_off, &w);
	while (d < t->len && w == k) {
		after = d + 2 + blen;
		if (t->len - after >= 2 && t->m[after] == '-' &&
		    t->m[after + 1] == '-') {
			t->b[k].closed = 1;
			d = delim_find(t, next_line(t, d), &w);
			continue;
		}
		if ((c = part_new(t, p)) == NULL) {
			d = t->len;
			break;
		}
		d = part_parse(t, c, next_line(t, d), &w);
	}
	t->nb = k;
	*which = d < t->len ? w : -1;
	return (d);
}

int
mime_tree(const char *msg, size_t len, struct mime_part **rootp)
{
	struct mime_tctx	*t;
	struct mime_part	*root;
	int			 w;

	*rootp = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (-1);
	if ((root = calloc(1, sizeof(*root))) == NULL) {
		free(t);
		return (-1);
	}
	t->m = msg;
	t->len = len;
	t->nparts = 1;
	(void)part_parse(t, root, 0, &w);
	if (t->oom) {
		free(t);
		mime_tree_free(root);
		errno = ENOMEM;
		return (-1);
	}
	free(t);
	*rootp = root;
	return (0);
}

/* Iterative, so that a long list of siblings costs no stack. */
void
mime_tree_free(struct mime_part *p)
{
	struct mime_part	*next;

	while (p != NULL) {
		if (p->child != NULL) {
			/* Splice the children in front of the siblings. */
			p->last->next = p->next;
			next = p->child;
		} else
			next = p->next;
		free(p);
		p = next;
	}
}

/*
 * The Date: header (RFC 5322 3.3 and the obsolete forms of 4.3) as
 * seconds since the epoch, or 0 if it cannot be read.  Two-digit years
 * are 1950-2049, three-digit ones 1900+; alphabetic zones other than
 * the North American ones count as +0000.
 */
static int
date_num(const char *s, size_t n, size_t *ip, int maxdigits, int *v)
{
	size_t	 i = *ip;
	int	 d = 0, val = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9' && d < maxdigits) {
		val = val * 10 + (s[i] - '0');
		i++;
		d++;
	}
	if (d == 0)
		return (0);
	*ip = i;
	*v = val;
	return (d);
}

static int
date_word(const char *s, size_t n, size_t *ip, char *w, size_t cap)
{
	size_t	 i = *ip, k = 0;

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') ||
	    (s[i] >= 'A' && s[i] <= 'Z'))) {
		if (k + 1 < cap)
			w[k++] = (char)mime_lower((unsigned char)s[i]);
		i++;
	}
	w[k] = '\0';
	if (i == *ip)
		return (0);
	*ip = i;
	return (1);
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

int64_t
mime_date(const char *s, size_t n)
{
	static const char	 months[] =
			    "janfebmaraprmayjunjulaugsepoctnovdec";
	static const int	 mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31,
				    30, 31, 30, 31 };
	static const struct {
		const char	*name;
		int		 off;
	} zones[] = {
		{ "edt", -4 * 60 }, { "est", -5 * 60 }, { "cdt", -5 * 60 },
		{ "cst", -6 * 60 }, { "mdt", -6 * 60 }, { "mst", -7 * 60 },
		{ "pdt", -7 * 60 }, { "pst", -8 * 60 },
	};
	char			 w[16];
	const char		*mp;
	size_t			 i = 0, k, save;
	int64_t			 t;
	int			 day, mon, year, hh, mm, ss = 0, off = 0;
	int			 yd, zh, zm, dim;

	i = mime_skip_cfws(s, n, i);
	save = i;
	if (date_word(s, n, &i, w, sizeof(w))) {
		/* A day name, with or without its comma. */
		i = mime_skip_cfws(s, n, i);
		if (i < n && s[i] == ',')
			i = mime_skip_cfws(s, n, i + 1);
	} else
		i = save;
	if (!date_num(s, n, &i, 2, &day))
		return (0);
	i = mime_skip_cfws(s, n, i);
	if (i < n && s[i] == '-')
		i++;
	if (!date_word(s, n, &i, w, sizeof(w)) || strlen(w) < 3)
		return (0);
	w[3] = '\0';
	if ((mp = strstr(months, w)) == NULL || (mp - months) % 3 != 0)
		return (0);
	mon = (int)(mp - months) / 3 + 1;
	i = mime_skip_cfws(s, n, i);
	if (i < n && s[i] == '-')
		i++;
	if ((yd = date_num(s, n, &i, 4, &year)) == 0)
		return (0);
	if (yd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (yd == 3)
		year += 1900;
	i = mime_skip_cfws(s, n, i);
	if (!date_num(s, n, &i, 2, &hh))
		return (0);
	i = mime_skip_cfws(s, n, i);
	if (i >= n || s[i] != ':')
		return (0);
	i = mime_skip_cfws(s, n, i + 1);
	if (!date_num(s, n, &i, 2, &mm))
		return (0);
	i = mime_skip_cfws(s, n, i);
	if (i < n && s[i] == ':') {
		i = mime_skip_cfws(s, n, i + 1);
		if (!date_num(s, n, &i, 2, &ss))
			return (0);
		i = mime_skip_cfws(s, n, i);
	}
	if (i < n && (s[i] == '+' || s[i] == '-')) {
		save = i + 1;
		if (n - save >= 4 && date_num(s, n, &save, 2, &zh) == 2 &&
		    date_num(s, n, &save, 2, &zm) == 2 && zh <= 23 && zm <= 59)
			off = (s[i] == '-' ? -1 : 1) * (zh * 60 + zm);
	} else if (date_word(s, n, &i, w, sizeof(w))) {
		for (k = 0; k < nitems(zones); k++)
			if (strcmp(w, zones[k].name) == 0)
				off = zones[k].off;
	}

	dim = mdays[mon - 1];
	if (mon == 2 && (year % 4 == 0 && (year % 100 != 0 ||
	    year % 400 == 0)))
		dim = 29;
	if (year < 1900 || day < 1 || day > dim || hh > 23 || mm > 59 ||
	    ss > 60)
		return (0);
	t = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 +
	    ss - (int64_t)off * 60;
	if (t < 0 || t > MIME_DATE_MAX)
		return (0);
	return (t);
}

/*
 * Putting it together.
 */

/* A search field: unfolded and decoded (or only unfolded: message-id). */
static int
field_string(const struct mime_str *f, char **sp, size_t *lenp, int decode)
{
	struct mbuf	 b, u, v;

	mbuf_init(&b, BUNDLE_FIELD_MAX, 1);
	mbuf_init(&u, MIME_VALUE_MAX, 0);
	mbuf_init(&v, SIZE_MAX, 1);
	if (f->p != NULL && decode)
		mime_decode_field(f->p, f->n, &b);
	else if (f->p != NULL) {
		mime_unfold(f->p, f->n, &u);
		if (u.len > 0)
			mime_utf8_valid(u.p, u.len, &v);
		if (v.len > 0)
			mime_oneline(v.p, v.len, &b);
		if (u.oom || v.oom)
			b.oom = 1;
	}
	mbuf_free(&u);
	mbuf_free(&v);
	*sp = mbuf_take(&b, lenp);
	return (*sp == NULL ? -1 : 0);
}

/* Every field of the message header, one decoded line each. */
static int
headers_section(const char *msg, const struct mime_part *root, char **sp,
    size_t *lenp)
{
	struct mime_hiter	 it;
	struct mime_hfield	 f;
	struct mbuf		 h, v;
	size_t			 need;
	int			 oom = 0;

	mbuf_init(&h, BUNDLE_META_MAX, 1);
	mbuf_init(&v, BUNDLE_FIELD_MAX, 1);
	mime_hiter_init(&it, msg, root->off, root->off + root->hdr_len);
	while (!oom && mime_hiter_next(&it, &f)) {
		mbuf_reset(&v);
		mime_decode_field(f.value, f.valuelen, &v);
		if (v.oom) {
			oom = 1;
			break;
		}
		need = v.len + 1 + (f.name != NULL ? f.namelen + 2 : 0);
		if (f.name == NULL && v.len == 0)
			continue;
		/* Whole lines only. */
		if (need > h.max - h.len)
			break;
		if (f.name != NULL) {
			mbuf_add(&h, f.name, f.namelen);
			mbuf_add(&h, ": ", 2);
		}
		mbuf_add(&h, v.p, v.len);
		mbuf_addc(&h, '\n');
	}
	mbuf_free(&v);
	if (oom)
		h.oom = 1;
	*sp = mbuf_take(&h, lenp);
	return (*sp == NULL ? -1 : 0);
}

/*
 * ENVELOPE or BODYSTRUCTURE, simpler at each level until it fits in
 * BUNDLE_META_MAX.  The last level always fits.
 */
static int
structure(const char *msg, const struct mime_part *root, int bs, char **sp,
    size_t *lenp)
{
	struct mbuf	 b;
	int		 level;

	for (level = 0; level < 3; level++) {
		mbuf_init(&b, BUNDLE_META_MAX, 0);
		if (bs)
			(void)mime_bodystructure(msg, root, level, &b);
		else
			(void)mime_envelope(msg, root, level, &b);
		if (b.oom || !b.full)
			break;
		mbuf_free(&b);
	}
	*sp = mbuf_take(&b, lenp);
	return (*sp == NULL ? -1 : 0);
}

void
mime_result_free(struct mime_result *r)
{
	if (r == NULL)
		return;
	mbuf_strfree(r->envelope);
	mbuf_strfree(r->bodystructure);
	mbuf_strfree(r->subject);
	mbuf_strfree(r->from);
	mbuf_strfree(r->to);
	mbuf_strfree(r->cc);
	mbuf_strfree(r->bcc);
	mbuf_strfree(r->messageid);
	mbuf_strfree(r->headers);
	mbuf_strfree(r->text);
	free(r->partmap);
	memset(r, 0, sizeof(*r));
}

int
mime_parse(const char *msg, size_t len, struct mime_result *r)
{
	struct mime_part	*root = NULL;
	struct mbuf		 b;

	memset(r, 0, sizeof(*r));
	if (msg == NULL) {
		msg = "";
		len = 0;
	}
	if (mime_tree(msg, len, &root) == -1)
		goto fail;

	if (structure(msg, root, 0, &r->envelope, &r->envelope_len) == -1 ||
	    structure(msg, root, 1, &r->bodystructure,
	    &r->bodystructure_len) == -1)
		goto fail;
	if (field_string(&root->f[MF_SUBJECT], &r->subject,
	    &r->subject_len, 1) == -1 ||
	    field_string(&root->f[MF_FROM], &r->from, &r->from_len, 1) == -1 ||
	    field_string(&root->f[MF_TO], &r->to, &r->to_len, 1) == -1 ||
	    field_string(&root->f[MF_CC], &r->cc, &r->cc_len, 1) == -1 ||
	    field_string(&root->f[MF_BCC], &r->bcc, &r->bcc_len, 1) == -1 ||
	    field_string(&root->f[MF_MSGID], &r->messageid,
	    &r->messageid_len, 0) == -1)
		goto fail;
	if (headers_section(msg, root, &r->headers, &r->headers_len) == -1)
		goto fail;
	if (partmap_of(root, len, &r->partmap, &r->partmap_len) == -1)
		goto fail;

	mbuf_init(&b, BUNDLE_TEXT_MAX, 1);
	(void)mime_text(msg, root, &b);
	if ((r->text = mbuf_take(&b, &r->text_len)) == NULL)
		goto fail;

	if (root->f[MF_DATE].p != NULL) {
		mbuf_init(&b, 4096, 0);
		mime_unfold(root->f[MF_DATE].p, root->f[MF_DATE].n, &b);
		if (!b.oom && b.len > 0)
			r->sentdate = mime_date(b.p, b.len);
		mbuf_free(&b);
		if (b.oom)
			goto fail;
	}

	mime_tree_free(root);
	return (0);

 fail:
	mime_tree_free(root);
	mime_result_free(r);
	errno = ENOMEM;
	return (-1);
}

int
mime_to_bundle(const struct mime_result *r, const char *raw, size_t rawlen,
    int64_t internaldate, struct bundle *b)
{
	int	 i;

	if (r == NULL || b == NULL || raw == NULL || rawlen == 0 ||
	    rawlen > BUNDLE_RAW_MAX || internaldate < 0 ||
	    internaldate > MIME_DATE_MAX || r->sentdate < 0 ||
	    r->sentdate > MIME_DATE_MAX) {
		errno = EINVAL;
		return (-1);
	}
	memset(b, 0, sizeof(*b));
	b->internaldate = internaldate;
	b->sentdate = r->sentdate;
	b->sec[BUNDLE_RAW] = raw;
	b->len[BUNDLE_RAW] = rawlen;
	b->sec[BUNDLE_ENVELOPE] = r->envelope;
	b->len[BUNDLE_ENVELOPE] = r->envelope_len;
	b->sec[BUNDLE_BODYSTRUCTURE] = r->bodystructure;
	b->len[BUNDLE_BODYSTRUCTURE] = r->bodystructure_len;
	b->sec[BUNDLE_SUBJECT] = r->subject;
	b->len[BUNDLE_SUBJECT] = r->subject_len;
	b->sec[BUNDLE_FROM] = r->from;
	b->len[BUNDLE_FROM] = r->from_len;
	b->sec[BUNDLE_TO] = r->to;
	b->len[BUNDLE_TO] = r->to_len;
	b->sec[BUNDLE_CC] = r->cc;
	b->len[BUNDLE_CC] = r->cc_len;
	b->sec[BUNDLE_BCC] = r->bcc;
	b->len[BUNDLE_BCC] = r->bcc_len;
	b->sec[BUNDLE_MESSAGEID] = r->messageid;
	b->len[BUNDLE_MESSAGEID] = r->messageid_len;
	b->sec[BUNDLE_HEADERS] = r->headers;
	b->len[BUNDLE_HEADERS] = r->headers_len;
	b->sec[BUNDLE_TEXT] = r->text;
	b->len[BUNDLE_TEXT] = r->text_len;
	b->sec[BUNDLE_PARTMAP] = r->partmap;
	b->len[BUNDLE_PARTMAP] = r->partmap_len;
	/* A result from mime_parse() always passes; check anyway. */
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		if (b->len[i] > bundle_section_max(i) ||
		    (b->len[i] > 0 && b->sec[i] == NULL) ||
		    (i != BUNDLE_RAW && i != BUNDLE_PARTMAP &&
		    b->len[i] > 0 &&
		    memchr(b->sec[i], '\0', b->len[i]) != NULL)) {
			memset(b, 0, sizeof(*b));
			errno = EINVAL;
			return (-1);
		}
	}
	return (0);
}

/*
 * The part map of a parsed message (section.h): the tree in order, each
 * node with its offsets and what section_find() needs of its type.
 */
static size_t
partmap_count(const struct mime_part *p)
{
	const struct mime_part	*c;
	size_t			 n = 1;

	for (c = p->child; c != NULL; c = c->next)
		n += partmap_count(c);
	return (n);
}

static uint32_t
partmap_fill(const struct mime_part *p, struct section_node *v, uint32_t *ip)
{
	const struct mime_part	*c;
	uint32_t		 me = (*ip)++, ci, prev = 0;

	memset(&v[me], 0, sizeof(v[me]));
	v[me].off = (uint32_t)p->off;
	v[me].hdr_len = (uint32_t)p->hdr_len;
	v[me].body_off = (uint32_t)p->body_off;
	v[me].body_len = (uint32_t)p->body_len;
	if (p->flags & MP_MULTIPART)
		v[me].flags |= SECTION_N_MULTIPART;
	if (p->flags & MP_MESSAGE)
		v[me].flags |= SECTION_N_MESSAGE;
	if (p->flags & MP_OPAQUE)
		v[me].flags |= SECTION_N_OPAQUE;
	if (p->parent == NULL || (p->parent->flags & MP_MESSAGE))
		v[me].flags |= SECTION_N_ISMSG;
	if (p->child != NULL)
		v[me].flags |= SECTION_N_CHILD;
	for (c = p->child; c != NULL; c = c->next) {
		ci = partmap_fill(c, v, ip);
		if (c != p->child)
			v[prev].next = ci;
		prev = ci;
	}
	return (me);
}

static int
partmap_of(const struct mime_part *root, size_t len, char **mapp,
    size_t *maplenp)
{
	struct section_node	*v;
	size_t			 n;
	uint32_t		 i = 0;

	*mapp = NULL;
	*maplenp = 0;
	if (len > UINT32_MAX) {
		errno = EFBIG;
		return (-1);
	}
	n = partmap_count(root);
	if (n > SECTION_NODES_MAX) {
		errno = EFBIG;
		return (-1);
	}
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return (-1);
	(void)partmap_fill(root, v, &i);
	*mapp = (char *)v;
	*maplenp = n * sizeof(*v);
	return (0);
}

int
mime_partmap(const char *msg, size_t len, char **mapp, size_t *maplenp)
{
	struct mime_part	*root = NULL;
	int			 rv;

	*mapp = NULL;
	*maplenp = 0;
	if (msg == NULL)
		len = 0;
	if (mime_tree(msg != NULL ? msg : "", len, &root) == -1)
		return (-1);
	rv = partmap_of(root, len, mapp, maplenp);
	mime_tree_free(root);
	return (rv);
}

/*
 * mime_section: the spec as section_parse() reads it, found in the
 * message's part map by section_find(), as vaultd finds it.
 */
int
mime_section(const char *msg, size_t len, const char *section,
    size_t *offp, size_t *lenp)
{
	struct section	 s;
	char		*map;
	size_t		 maplen;
	uint64_t	 off, n;
	int		 rv;

	if (section == NULL || offp == NULL || lenp == NULL ||
	    section_parse(section, &s) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (msg == NULL)
		len = 0;
	/* The whole message needs no map. */
	if (s.nparts == 0 && s.text == SECTION_ALL) {
		*offp = 0;
		*lenp = len;
		return (0);
	}
	if (mime_partmap(msg, len, &map, &maplen) == -1)
		return (-1);
	rv = section_find(map, maplen, len, &s, &off, &n);
	free(map);
	if (rv == -1) {
		errno = ENOENT;
		return (-1);
	}
	*offp = (size_t)off;
	*lenp = (size_t)n;
	return (0);
}

/*
 * The message as the vault takes it, in a new sealed memfd (see
 * bundle_write_fd()): the raw message and what the parser makes of it
 * (envelope, body structure, search text), so that vaultd never parses
 * mail.
 */
int
mime_bundle_fd(const char *raw, size_t len, int64_t internaldate, int *fdp)
{
	struct mime_result	 r;
	struct bundle		 b;
	int			 fd, saved;

	*fdp = -1;
	if (mime_parse(raw, len, &r) == -1)
		return (-1);
	if (mime_to_bundle(&r, raw, len, internaldate, &b) == -1)
		goto fail;
	if (bundle_write_fd(&b, &fd) == -1)
		goto fail;
	mime_result_free(&r);
	*fdp = fd;
	return (0);
 fail:
	saved = errno;
	mime_result_free(&r);
	errno = saved;
	return (-1);
}
