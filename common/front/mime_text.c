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
 * The text of a message for the search index: every part of type TEXT
 * with its transfer encoding undone and converted to UTF-8, HTML
 * reduced to its text, then the file names of the parts.
 *
 * A part is decoded in pieces of CHUNK octets through the stream
 * decoders (transfer encoding, charset, HTML), so memory stays small
 * whatever the size of the part, and decoding stops as soon as the
 * text has reached its ceiling.
 *
 * HTML is reduced with a small state machine, not a parser: tags and
 * comments are dropped, script and style elements with their content,
 * block elements become line breaks, runs of white space one space,
 * and character references (named ones of HTML 4 Latin-1 and the
 * common punctuation, and numeric ones) are decoded.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIME_INTERNAL
#include "mime.h"

#define CHUNK		(64 * 1024)
#define CP_NONE		0xffffffffU	/* a reference to nothing */

enum {
	H_TEXT,
	H_TAGOPEN,	/* after "<" */
	H_TAGNAME,
	H_TAG,		/* attributes, up to ">" */
	H_BANG,		/* after "<!" */
	H_COMMENT,
	H_DECL,		/* <!DOCTYPE ...>, <?xml ...?> */
	H_ENTITY	/* after "&" */
};

/* The entities for U+00A0 to U+00FF, in order. */
static const char *const latin1[96] = {
	"nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect",
	"uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr",
	"deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
	"cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34",
	"iquest",
	"Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig",
	"Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute",
	"Icirc", "Iuml",
	"ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml",
	"times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
	"THORN", "szlig",
	"agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig",
	"ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute",
	"icirc", "iuml",
	"eth", "ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml",
	"divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute",
	"thorn", "yuml",
};

static const struct {
	const char	*name;
	uint32_t	 cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "euro", 0x20ac }, { "hellip", 0x2026 },
	{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "lsquo", 0x2018 },
	{ "rsquo", 0x2019 }, { "sbquo", 0x201a }, { "ldquo", 0x201c },
	{ "rdquo", 0x201d }, { "bdquo", 0x201e }, { "bull", 0x2022 },
	{ "trade", 0x2122 }, { "dagger", 0x2020 }, { "Dagger", 0x2021 },
	{ "permil", 0x2030 }, { "lsaquo", 0x2039 }, { "rsaquo", 0x203a },
	{ "OElig", 0x152 }, { "oelig", 0x153 }, { "Scaron", 0x160 },
	{ "scaron", 0x161 }, { "Yuml", 0x178 }, { "fnof", 0x192 },
	{ "circ", 0x2c6 }, { "tilde", 0x2dc }, { "ensp", 0x2002 },
	{ "emsp", 0x2003 }, { "thinsp", 0x2009 }, { "zwnj", 0x200c },
	{ "zwj", 0x200d }, { "lrm", 0x200e }, { "rlm", 0x200f },
	{ "larr", 0x2190 }, { "uarr", 0x2191 }, { "rarr", 0x2192 },
	{ "darr", 0x2193 }, { "minus", 0x2212 }, { "prime", 0x2032 },
	{ "hearts", 0x2665 },
};

/* Elements that break lines. */
static const char *const blocks[] = {
	"address", "article", "blockquote", "body", "br", "caption", "center",
	"dd", "div", "dl", "dt", "footer", "form", "h1", "h2", "h3", "h4",
	"h5", "h6", "head", "header", "hr", "html", "li", "nav", "ol", "p",
	"pre", "section", "table", "tbody", "tfoot", "thead", "title", "tr",
	"ul",
};

static int	 is_alnum(unsigned char);
static int	 is_space(unsigned char);
static void	 html_put(struct mime_html *, struct mbuf *, const char *,
		    size_t);
static void	 html_putcp(struct mime_html *, struct mbuf *, uint32_t);
static int	 entity_cp(const char *, size_t, uint32_t *);
static void	 entity_end(struct mime_html *, struct mbuf *, int);
static void	 tag_end(struct mime_html *);
static void	 plain_feed(const char *, size_t, struct mbuf *);
static const struct mime_part *part_next(const struct mime_part *,
		    const struct mime_part *);
static int	 is_leaf(const struct mime_part *);
static void	 text_part(const char *, const struct mime_part *,
		    struct mbuf *, struct mbuf *, struct mbuf *);
static void	 file_name(const struct mime_part *, struct mbuf *);

static int
is_alnum(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'));
}

/* White space, and the control characters that stand for nothing. */
static int
is_space(unsigned char c)
{
	return (c <= 0x20 || c == 0x7f);
}

void
mime_html_init(struct mime_html *h)
{
	memset(h, 0, sizeof(*h));
}

/* Text, after the white space it follows (one space or a line break). */
static void
html_put(struct mime_html *h, struct mbuf *out, const char *s, size_t n)
{
	char	 last;

	if (n == 0)
		return;
	if (h->ws > 0 && out->len > 0) {
		last = out->p[out->len - 1];
		if (h->ws == 2 && last != '\n')
			mbuf_addc(out, '\n');
		else if (h->ws == 1 && last != '\n' && last != ' ')
			mbuf_addc(out, ' ');
	}
	h->ws = 0;
	mbuf_add(out, s, n);
}

static void
html_putcp(struct mime_html *h, struct mbuf *out, uint32_t cp)
{
	char	 u[4];
	size_t	 n;

	if (cp == CP_NONE)
		return;
	if (cp < 0x20 || cp == 0x7f || cp == 0xa0 || cp == 0x2002 ||
	    cp == 0x2003 || cp == 0x2009) {
		if (h->ws < 1)
			h->ws = 1;
		return;
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	/* Whole, so that html_put puts the white space before it. */
	html_put(h, out, u, n);
}

/* A character reference without "&" and ";"; 0 if unknown. */
static int
entity_cp(const char *e, size_t n, uint32_t *cp)
{
	uint32_t	 v = 0;
	size_t		 i, k;
	int		 hex, d;

	if (n >= 2 && e[0] == '#') {
		hex = e[1] == 'x' || e[1] == 'X';
		i = hex ? 2 : 1;
		if (i >= n)
			return (0);
		for (; i < n; i++) {
			if (e[i] >= '0' && e[i] <= '9')
				d = e[i] - '0';
			else if (hex && e[i] >= 'a' && e[i] <= 'f')
				d = e[i] - 'a' + 10;
			else if (hex && e[i] >= 'A' && e[i] <= 'F')
				d = e[i] - 'A' + 10;
			else
				return (0);
			if (v <= 0x10ffff)
				v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (v == 0 || v > 0x10ffff)
			v = 0xfffd;
		else if (v >= 0x80 && v <= 0x9f)
			v = mime_cp1252((unsigned char)v);
		*cp = v;
		return (1);
	}
	for (k = 0; k < nitems(latin1); k++) {
		if (strlen(latin1[k]) == n && memcmp(latin1[k], e, n) == 0) {
			*cp = k == 0xad - 0xa0 ? CP_NONE : 0xa0 + (uint32_t)k;
			return (1);
		}
	}
	for (k = 0; k < nitems(entities); k++) {
		if (strlen(entities[k].name) == n &&
		    memcmp(entities[k].name, e, n) == 0) {
			*cp = entities[k].cp;
			if (*cp >= 0x200c && *cp <= 0x200f)
				*cp = CP_NONE;
			return (1);
		}
	}
	return (0);
}

/* The end of a reference: decoded, or kept as it was written. */
static void
entity_end(struct mime_html *h, struct mbuf *out, int semicolon)
{
	uint32_t	 cp;

	if (entity_cp(h->ent, h->nent, &cp))
		html_putcp(h, out, cp);
	else {
		html_put(h, out, "&", 1);
		mbuf_add(out, h->ent, h->nent);
		if (semicolon)
			mbuf_addc(out, ';');
	}
	h->nent = 0;
}

static void
tag_end(struct mime_html *h)
{
	size_t	 k;

	h->name[h->nname] = '\0';
	if (strcmp(h->name, "script") == 0 || strcmp(h->name, "style") == 0) {
		h->skip = h->close ? 0 : (h->name[1] == 'c' ? 1 : 2);
		h->match = 0;
	}
	if (strcmp(h->name, "td") == 0 || strcmp(h->name, "th") == 0) {
		if (h->ws < 1)
			h->ws = 1;
		return;
	}
	for (k = 0; k < nitems(blocks); k++) {
		if (strcmp(h->name, blocks[k]) == 0) {
			h->ws = 2;
			break;
		}
	}
}

void
mime_html_feed(struct mime_html *h, const char *s, size_t n,
    struct mbuf *out)
{
	const char	*target;
	size_t		 i, j;
	unsigned char	 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
 again:
		switch (h->state) {
		case H_TEXT:
			if (h->skip) {
				target = h->skip == 1 ? "</script" : "</style";
				if (mime_lower(c) == target[h->match]) {
					if (target[++h->match] == '\0') {
						h->state = H_TAG;
						h->close = 1;
						h->eq = 0;
						h->quote = 0;
						strlcpy(h->name, target + 2,
						    sizeof(h->name));
						h->nname = strlen(h->name);
						h->match = 0;
					}
				} else
					h->match = c == '<' ? 1 : 0;
				break;
			}
			if (c == '<')
				h->state = H_TAGOPEN;
			else if (c == '&') {
				h->state = H_ENTITY;
				h->nent = 0;
			} else if (is_space(c)) {
				if (h->ws < 1)
					h->ws = 1;
			} else {
				for (j = i + 1; j < n && s[j] != '<' &&
				    s[j] != '&' &&
				    !is_space((unsigned char)s[j]); j++)
					;
				html_put(h, out, s + i, j - i);
				i = j - 1;
			}
			break;
		case H_TAGOPEN:
			if (c == '/' || is_alnum(c)) {
				h->close = c == '/';
				h->nname = 0;
				if (c != '/')
					h->name[h->nname++] =
					    (char)mime_lower(c);
				h->state = H_TAGNAME;
			} else if (c == '!') {
				h->dashes = 0;
				h->state = H_BANG;
			} else if (c == '?')
				h->state = H_DECL;
			else {
				/* "a < b": not a tag. */
				html_put(h, out, "<", 1);
				h->state = H_TEXT;
				goto again;
			}
			break;
		case H_TAGNAME:
			if (is_alnum(c)) {
				if (h->nname + 1 < sizeof(h->name))
					h->name[h->nname++] =
					    (char)mime_lower(c);
				break;
			}
			h->name[h->nname] = '\0';
			h->state = H_TAG;
			h->quote = 0;
			h->eq = 0;
			goto again;
		case H_TAG:
			if (h->quote) {
				if (c == (unsigned char)h->quote)
					h->quote = 0;
			} else if (c == '>') {
				tag_end(h);
				h->state = H_TEXT;
			} else if ((c == '"' || c == '\'') && h->eq)
				h->quote = (char)c;
			else if (c == '=')
				h->eq = 1;
			else if (!is_space(c))
				h->eq = 0;
			break;
		case H_BANG:
			if (c == '-') {
				if (++h->dashes == 2) {
					h->dashes = 0;
					h->state = H_COMMENT;
				}
				break;
			}
			h->state = H_DECL;
			goto again;
		case H_COMMENT:
			if (c == '-')
				h->dashes++;
			else if (c == '>' && h->dashes >= 2)
				h->state = H_TEXT;
			else
				h->dashes = 0;
			break;
		case H_DECL:
			if (c == '>')
				h->state = H_TEXT;
			break;
		case H_ENTITY:
			if (c == ';') {
				entity_end(h, out, 1);
				h->state = H_TEXT;
			} else if ((is_alnum(c) || c == '#') &&
			    h->nent + 1 < sizeof(h->ent))
				h->ent[h->nent++] = (char)c;
			else {
				entity_end(h, out, 0);
				h->state = H_TEXT;
				goto again;
			}
			break;
		}
	}
}

void
mime_html_end(struct mime_html *h, struct mbuf *out)
{
	if (h->state == H_ENTITY)
		entity_end(h, out, 0);
	else if (h->state == H_TAGOPEN)
		html_put(h, out, "<", 1);
	h->state = H_TEXT;
}

/* Plain text: CRs go, other control characters become spaces. */
static void
plain_feed(const char *s, size_t n, struct mbuf *out)
{
	size_t	 i, run = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
			continue;
		if (s[i] == '\n' || s[i] == '\t')
			continue;
		mbuf_add(out, s + run, i - run);
		if (s[i] != '\r')
			mbuf_addc(out, ' ');
		run = i + 1;
	}
	mbuf_add(out, s + run, n - run);
}

/* Depth first, parents before children. */
static const struct mime_part *
part_next(const struct mime_part *p, const struct mime_part *root)
{
	if (p->child != NULL && !(p->flags & MP_OPAQUE))
		return (p->child);
	while (p != root) {
		if (p->next != NULL)
			return (p->next);
		p = p->parent;
	}
	return (NULL);
}

static int
is_leaf(const struct mime_part *p)
{
	return (p->child == NULL && (!(p->flags & MP_MULTIPART) ||
	    (p->flags & MP_OPAQUE)));
}

static void
text_part(const char *msg, const struct mime_part *p, struct mbuf *out,
    struct mbuf *d1, struct mbuf *d2)
{
	struct mime_params	 ps;
	const struct mime_param	*cs;
	struct mime_cte		 cte;
	struct mime_conv	 conv;
	struct mime_html	 h;
	struct mbuf		 v;
	char			 type[MIME_TOKEN_MAX + 1];
	char			 subtype[MIME_TOKEN_MAX + 1];
	size_t			 off, k, rest;
	int			 html = (p->flags & MP_HTML) != 0, final;

	memset(&ps, 0, sizeof(ps));
	mbuf_init(&v, MIME_VALUE_MAX, 0);
	if (p->f[MF_CTYPE].p != NULL)
		mime_unfold(p->f[MF_CTYPE].p, p->f[MF_CTYPE].n, &v);
	if (v.len > 0 && mime_ctype(v.p, v.len, type, subtype, &rest) == 0 &&
	    mime_params_parse(v.p + rest, v.len - rest, &ps) == -1)
		out->oom = 1;
	if (v.oom)
		out->oom = 1;
	if ((cs = mime_params_get(&ps, "charset", 0)) != NULL)
		mime_conv_init(&conv, cs->value, cs->vlen);
	else
		mime_conv_init(&conv, "", 0);
	mime_params_free(&ps);
	mbuf_free(&v);

	mime_cte_init(&cte, mime_cte_kind(&p->f[MF_CTE]));
	mime_html_init(&h);
	if (out->len > 0 && out->p[out->len - 1] != '\n')
		mbuf_addc(out, '\n');
	for (off = 0; off < p->body_len && !out->full && !out->oom; off += k) {
		k = p->body_len - off < CHUNK ? p->body_len - off : CHUNK;
		final = off + k == p->body_len;
		mbuf_reset(d1);
		mbuf_reset(d2);
		mime_cte_feed(&cte, msg + p->body_off + off, k, final, d1);
		mime_conv_feed(&conv, d1->p != NULL ? d1->p : "", d1->len,
		    final, d2);
		if (d1->oom || d2->oom)
			out->oom = 1;
		else if (html)
			mime_html_feed(&h, d2->p != NULL ? d2->p : "", d2->len,
			    out);
		else
			plain_feed(d2->p != NULL ? d2->p : "", d2->len, out);
	}
	if (html)
		mime_html_end(&h, out);
}

/* The file name of a part, from Content-Disposition or Content-Type. */
static void
file_name(const struct mime_part *p, struct mbuf *out)
{
	static const struct {
		int		 field;
		const char	*param;
	} where[] = { { MF_CDISP, "filename" }, { MF_CTYPE, "name" } };
	struct mime_params	 ps;
	const struct mime_param	*fp;
	struct mbuf		 v, name;
	char			 tok[MIME_TOKEN_MAX + 1];
	size_t			 i, k, rest;

	mbuf_init(&name, BUNDLE_FIELD_MAX, 1);
	for (k = 0; k < nitems(where) && name.len == 0 && !name.oom; k++) {
		if (p->f[where[k].field].p == NULL)
			continue;
		memset(&ps, 0, sizeof(ps));
		mbuf_init(&v, MIME_VALUE_MAX, 0);
		mime_unfold(p->f[where[k].field].p, p->f[where[k].field].n,
		    &v);
		rest = 0;
		i = v.len > 0 ? mime_skip_cfws(v.p, v.len, 0) : 0;
		if (v.len > 0 && (where[k].field == MF_CDISP ?
		    mime_token(v.p, v.len, &i, tok, sizeof(tok)) == 0 :
		    mime_ctype(v.p, v.len, tok, tok, &i) == 0))
			rest = i;
		if (v.len > 0 && mime_params_parse(v.p + rest, v.len - rest,
		    &ps) == -1)
			name.oom = 1;
		if ((fp = mime_params_get(&ps, where[k].param, 1)) == NULL)
			fp = mime_params_get(&ps, where[k].param, 0);
		if (fp != NULL)
			mime_param_decode(fp, &name);
		if (v.oom)
			name.oom = 1;
		mime_params_free(&ps);
		mbuf_free(&v);
	}
	if (name.oom)
		out->oom = 1;
	else if (name.len > 0) {
		if (out->len > 0 && out->p[out->len - 1] != '\n')
			mbuf_addc(out, '\n');
		mbuf_add(out, name.p, name.len);
		mbuf_addc(out, '\n');
	}
	mbuf_free(&name);
}

int
mime_text(const char *msg, const struct mime_part *root, struct mbuf *out)
{
	const struct mime_part	*p;
	struct mbuf		 d1, d2;

	mbuf_init(&d1, SIZE_MAX, 0);
	mbuf_init(&d2, SIZE_MAX, 0);
	for (p = root; p != NULL && !out->full && !out->oom;
	    p = part_next(p, root))
		if (is_leaf(p) && (p->flags & MP_TEXT))
			text_part(msg, p, out, &d1, &d2);
	for (p = root; p != NULL && !out->full && !out->oom;
	    p = part_next(p, root))
		if (is_leaf(p))
			file_name(p, out);
	mbuf_free(&d1);
	mbuf_free(&d2);
	return (out->oom ? -1 : 0);
}
