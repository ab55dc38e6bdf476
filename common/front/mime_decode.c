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
 * Decoding: structured field lexing (RFC 5322 CFWS, RFC 2045 tokens),
 * Content-Type and parameters with RFC 2231 continuations, the transfer
 * encodings (base64 and quoted-printable, as streams), charsets to
 * UTF-8, and RFC 2047 encoded words.
 *
 * Every decoder is lenient the way mail readers are: bad base64
 * characters are skipped, a quoted-printable "=" that starts no escape
 * is kept, an encoded word that does not parse is left as it is, and
 * octets that are not valid in their charset become U+FFFD.
 */

#include <sys/types.h>

#include <errno.h>
#include <iconv.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "mime.h"

#define LABEL_MAX	40		/* normalised charset label */
#define CHARSET_MAX	64		/* in an encoded word */

/*
 * Charsets that need iconv, with the labels (lower case, letters and
 * digits only) that select them.  Where a label names a subset of a
 * larger charset, the larger one is used, as browsers do.
 */
static const struct {
	const char	*name;
	const char	*labels;
} mime_charsets[] = {
	{ "ISO-8859-2",		"iso88592 latin2 l2 csisolatin2 isoir101" },
	{ "ISO-8859-3",		"iso88593 latin3 l3" },
	{ "ISO-8859-4",		"iso88594 latin4 l4" },
	{ "ISO-8859-5",		"iso88595 cyrillic csisolatincyrillic" },
	{ "ISO-8859-6",		"iso88596 arabic" },
	{ "ISO-8859-7",		"iso88597 greek greek8" },
	{ "ISO-8859-8",		"iso88598 iso88598i iso88598e hebrew" },
	{ "WINDOWS-1254",	"iso88599 latin5 l5 windows1254 cp1254 "
				"xcp1254" },
	{ "ISO-8859-10",	"iso885910 latin6 l6" },
	{ "ISO-8859-13",	"iso885913 latin7" },
	{ "ISO-8859-14",	"iso885914 latin8" },
	{ "ISO-8859-15",	"iso885915 latin9 l9 latin0" },
	{ "ISO-8859-16",	"iso885916 latin10" },
	{ "WINDOWS-1250",	"windows1250 cp1250 xcp1250" },
	{ "WINDOWS-1251",	"windows1251 cp1251 xcp1251" },
	{ "WINDOWS-1253",	"windows1253 cp1253" },
	{ "WINDOWS-1255",	"windows1255 cp1255" },
	{ "WINDOWS-1256",	"windows1256 cp1256" },
	{ "WINDOWS-1257",	"windows1257 cp1257" },
	{ "WINDOWS-1258",	"windows1258 cp1258" },
	{ "KOI8-R",		"koi8r koi koi8" },
	{ "KOI8-U",		"koi8u koi8ru" },
	{ "CP866",		"cp866 ibm866 866" },
	{ "CP850",		"cp850 ibm850 850" },
	{ "CP437",		"cp437 ibm437 437" },
	{ "MACINTOSH",		"macintosh mac macroman xmacroman" },
	{ "CP874",		"tis620 windows874 cp874 iso885911" },
	{ "CP932",		"shiftjis sjis xsjis mskanji windows31j cp932 "
				"csshiftjis" },
	{ "EUC-JP",		"eucjp xeucjp" },
	{ "ISO-2022-JP-2",	"iso2022jp iso2022jp2 csiso2022jp" },
	{ "GBK",		"gbk gb2312 cp936 xgbk euccn csgb2312 chinese "
				"gb231280 windows936" },
	{ "GB18030",		"gb18030" },
	{ "BIG5-HKSCS",		"big5 big5hkscs cnbig5 xxbig5 csbig5 cp950" },
	{ "CP949",		"euckr cseuckr ksc56011987 ksc5601 "
				"ksc56011989 windows949 cp949 uhc korean" },
	{ "ISO-2022-KR",	"iso2022kr csiso2022kr" },
	{ "ISO-2022-CN",	"iso2022cn" },
	{ "EUC-TW",		"euctw" },
	{ "UTF-7",		"utf7 unicode11utf7" },
	{ "UTF-16",		"utf16" },
	{ "UTF-16LE",		"utf16le" },
	{ "UTF-16BE",		"utf16be" },
	{ "VISCII",		"viscii" },
};

/* Read as UTF-8 (which US-ASCII is a subset of), and as Windows-1252. */
static const char	 labels_utf8[] = "utf8 unicode11utf8 xunicode20utf8 "
			    "usascii ascii us iso646us csascii ansix341968 "
			    "ansix341986 isoir6 cp367 ibm367 646 xunknown "
			    "unknown8bit";
static const char	 labels_cp1252[] = "iso88591 latin1 l1 cp819 ibm819 "
			    "csisolatin1 isoir100 iso885911987 windows1252 "
			    "cp1252 xcp1252 ansi1252";

/* 0x80-0x9f of Windows-1252; holes keep their C1 code point. */
static const uint16_t	 cp1252_hi[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static iconv_t	 mime_cd[nitems(mime_charsets)];
static int	 mime_inited;

static int	 is_token(unsigned char);
static int	 hexval(unsigned char);
static int	 b64val(unsigned char);
static size_t	 skip_quoted(const char *, size_t, size_t);
static size_t	 skip_junk(const char *, size_t, size_t);
static int	 label_in(const char *, const char *);
static int	 utf8_len(const unsigned char *, size_t, size_t *);
static void	 conv_utf8(struct mime_conv *, const unsigned char *, size_t,
		    int, struct mbuf *);
static void	 conv_cp1252(const unsigned char *, size_t, struct mbuf *);
static void	 conv_iconv(struct mime_conv *, const char *, size_t, int,
		    struct mbuf *);
static size_t	 iconv_run(struct mime_conv *, const char *, size_t,
		    struct mbuf *, int *);
static void	 b64_feed(struct mime_cte *, const unsigned char *, size_t,
		    int, struct mbuf *);
static void	 qp_feed(struct mime_cte *, const unsigned char *, size_t,
		    int, struct mbuf *);
static void	 q_decode(const char *, size_t, struct mbuf *);
static int	 word_parse(const char *, size_t, size_t, size_t *, size_t *,
		    size_t *, size_t *, size_t *, int *);
static void	 word_flush(struct mbuf *, char *, struct mbuf *);
static void	 pct_encode(const char *, size_t, struct mbuf *);

/*
 * Lexing.
 */

/* RFC 2045 token characters. */
static int
is_token(unsigned char c)
{
	return (c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) ==
	    NULL);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == '/')
		return (63);
	return (-1);
}

/*
 * White space, line ends and (nested) comments from s[i]: the index
 * after them.  With comment, the text of the last comment (without its
 * outer parentheses, escapes as written) is kept there; addresses take
 * it as a display name.  An unclosed comment runs to the end.
 */
size_t
mime_cfws(const char *s, size_t n, size_t i, struct mbuf *comment)
{
	size_t	 depth, start;

	while (i < n) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			i++;
			continue;
		}
		if (s[i] != '(')
			break;
		depth = 0;
		start = i + 1;
		while (i < n) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && --depth == 0)
				break;
			i++;
		}
		if (comment != NULL) {
			mbuf_reset(comment);
			mbuf_add(comment, s + start, (i < n ? i : n) - start);
		}
		if (i < n)
			i++;
	}
	return (i);
}

/* mime_cfws() where the comments do not matter. */
size_t
mime_skip_cfws(const char *s, size_t n, size_t i)
{
	return (mime_cfws(s, n, i, NULL));
}

/* s[i] is a quote: the index after the closing one (or n). */
static size_t
skip_quoted(const char *s, size_t n, size_t i)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\' && i + 1 < n)
			i++;
	return (i < n ? i + 1 : n);
}

/* To the next ';' outside quotes; at least one character. */
static size_t
skip_junk(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] != ';') {
		if (s[i] == '"')
			i = skip_quoted(s, n, i);
		else
			i++;
	}
	return (i);
}

/* A token into out (NUL-terminated); -1 if empty or too long. */
int
mime_token(const char *s, size_t n, size_t *ip, char *out, size_t cap)
{
	size_t	 i = *ip, k = 0;

	while (i < n && is_token((unsigned char)s[i])) {
		if (k + 1 >= cap)
			return (-1);
		out[k++] = s[i++];
	}
	out[k] = '\0';
	if (k == 0)
		return (-1);
	*ip = i;
	return (0);
}

/* "type/subtype", upper-cased; *rest is where the parameters begin. */
int
mime_ctype(const char *s, size_t n, char *type, char *subtype,
    size_t *rest)
{
	size_t	 i;

	i = mime_skip_cfws(s, n, 0);
	if (mime_token(s, n, &i, type, MIME_TOKEN_MAX + 1) == -1)
		return (-1);
	i = mime_skip_cfws(s, n, i);
	if (i >= n || s[i] != '/')
		return (-1);
	i = mime_skip_cfws(s, n, i + 1);
	if (mime_token(s, n, &i, subtype, MIME_TOKEN_MAX + 1) == -1)
		return (-1);
	for (; *type != '\0'; type++)
		*type = (char)mime_upper((unsigned char)*type);
	for (; *subtype != '\0'; subtype++)
		*subtype = (char)mime_upper((unsigned char)*subtype);
	*rest = i;
	return (0);
}

/*
 * Parameters.  Parsed leniently: a value that is not quoted runs to the
 * next ';' or white space (mailers write boundary=----=_Part without
 * quotes), and junk is skipped up to the next ';'.  Then RFC 2231:
 * name*0, name*1 ... are joined into name, or into name* when the
 * first section is extended; the value then stays encoded (plain
 * sections are %-encoded to match), as Dovecot hands it to clients.
 */
struct rawparam {
	char	*name;
	size_t	 nlen;
	char	*value;
	size_t	 vlen;
	size_t	 blen;		/* base name length */
	int	 sec;		/* section number, -1 for none */
	int	 ext;
};

static void
pct_encode(const char *s, size_t n, struct mbuf *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	size_t			 i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("*'%()<>@,;:\\\"/[]?=",
		    c) != NULL) {
			mbuf_addc(out, '%');
			mbuf_addc(out, hex[c >> 4]);
			mbuf_addc(out, hex[c & 0xf]);
		} else
			mbuf_addc(out, c);
	}
}

int
mime_params_parse(const char *s, size_t n, struct mime_params *out)
{
	struct rawparam		 raw[MIME_PARAMS_MAX];
	struct mime_param	*op;
	struct mbuf		 nb, vb;
	size_t			 nraw = 0, i = 0, ns, ne, j, k, d, L;
	int			 sec, ok = 1, dup, ext;

	memset(out, 0, sizeof(*out));
	memset(raw, 0, sizeof(raw));
	mbuf_init(&nb, SIZE_MAX, 0);
	mbuf_init(&vb, SIZE_MAX, 0);

	while (nraw < MIME_PARAMS_MAX) {
		i = mime_skip_cfws(s, n, i);
		if (i >= n)
			break;
		if (s[i] == ';') {
			i++;
			continue;
		}
		ns = i;
		while (i < n && s[i] != '=' && s[i] != ';' && s[i] != ' ' &&
		    s[i] != '\t' && s[i] != '\r' && s[i] != '\n' &&
		    s[i] != '(' && s[i] != '"')
			i++;
		ne = i;
		i = mime_skip_cfws(s, n, i);
		if (ne == ns || i >= n || s[i] != '=') {
			/* s[i] is not ';' here: this always advances. */
			i = skip_junk(s, n, i);
			continue;
		}
		i = mime_skip_cfws(s, n, i + 1);
		mbuf_reset(&vb);
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '\r' || s[i] == '\n')
					continue;
				mbuf_addc(&vb, (unsigned char)s[i]);
			}
			if (i < n)
				i++;
		} else {
			j = i;
			while (i < n && s[i] != ';' && s[i] != ' ' &&
			    s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
				i++;
			mbuf_add(&vb, s + j, i - j);
		}
		i = mime_skip_cfws(s, n, i);
		if (i < n && s[i] != ';')
			i = skip_junk(s, n, i);

		mbuf_reset(&nb);
		mbuf_add(&nb, s + ns, ne - ns);
		if (nb.oom || vb.oom) {
			ok = 0;
			break;
		}
		raw[nraw].name = mbuf_take(&nb, &raw[nraw].nlen);
		raw[nraw].value = mbuf_take(&vb, &raw[nraw].vlen);
		if (raw[nraw].name == NULL || raw[nraw].value == NULL) {
			nraw++;
			ok = 0;
			break;
		}
		/* name[*N][*] */
		L = raw[nraw].nlen;
		ext = L > 0 && raw[nraw].name[L - 1] == '*';
		L -= ext;
		raw[nraw].ext = ext;
		raw[nraw].sec = -1;
		raw[nraw].blen = L;
		for (j = L; j > 0 && raw[nraw].name[j - 1] >= '0' &&
		    raw[nraw].name[j - 1] <= '9'; j--)
			;
		if (j < L && L - j <= 3 && j > 1 &&
		    raw[nraw].name[j - 1] == '*') {
			sec = 0;
			for (k = j; k < L; k++)
				sec = sec * 10 + (raw[nraw].name[k] - '0');
			raw[nraw].sec = sec;
			raw[nraw].blen = j - 1;
		}
		nraw++;
	}
	mbuf_free(&nb);
	mbuf_free(&vb);

	if (ok && nraw > 0 &&
	    (out->v = calloc(nraw, sizeof(*out->v))) == NULL)
		ok = 0;
	for (i = 0; ok && i < nraw; i++) {
		if (raw[i].sec > 0)
			continue;
		mbuf_init(&nb, SIZE_MAX, 0);
		mbuf_init(&vb, SIZE_MAX, 0);
		if (raw[i].sec == -1) {
			mbuf_add(&nb, raw[i].name, raw[i].nlen);
			mbuf_add(&vb, raw[i].value, raw[i].vlen);
			ext = raw[i].ext;
		} else {
			/* Sections 0, 1, ... of this base, up to a gap. */
			ext = raw[i].ext;
			for (d = 0; d < 1000; d++) {
				for (k = 0; k < nraw; k++)
					if (raw[k].sec == (int)d &&
					    raw[k].blen == raw[i].blen &&
					    strncasecmp(raw[k].name,
					    raw[i].name, raw[i].blen) == 0)
						break;
				if (k == nraw)
					break;
				if (d == 0 || raw[k].ext || !ext)
					mbuf_add(&vb, raw[k].value,
					    raw[k].vlen);
				else
					pct_encode(raw[k].value, raw[k].vlen,
					    &vb);
			}
			mbuf_add(&nb, raw[i].name, raw[i].blen);
			if (ext)
				mbuf_addc(&nb, '*');
		}
		if (nb.oom || vb.oom) {
			mbuf_free(&nb);
			mbuf_free(&vb);
			ok = 0;
			break;
		}
		for (dup = 0, k = 0; k < out->n && !dup; k++)
			dup = strcasecmp(out->v[k].name, nb.p) == 0;
		if (dup) {
			mbuf_free(&nb);
			mbuf_free(&vb);
			continue;
		}
		op = &out->v[out->n];
		op->ext = ext;
		op->name = mbuf_take(&nb, &L);
		op->value = mbuf_take(&vb, &op->vlen);
		out->n++;
		if (op->name == NULL || op->value == NULL)
			ok = 0;
	}

	for (i = 0; i < nraw; i++) {
		mbuf_strfree(raw[i].name);
		mbuf_strfree(raw[i].value);
	}
	if (!ok) {
		mime_params_free(out);
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

void
mime_params_free(struct mime_params *ps)
{
	size_t	 i;

	if (ps->v != NULL) {
		for (i = 0; i < ps->n; i++) {
			mbuf_strfree(ps->v[i].name);
			mbuf_strfree(ps->v[i].value);
		}
		free(ps->v);
	}
	ps->v = NULL;
	ps->n = 0;
}

/* The parameter called name (name* when ext), case-insensitively. */
const struct mime_param *
mime_params_get(const struct mime_params *ps, const char *name, int ext)
{
	size_t	 i, len;

	len = strlen(name);
	for (i = 0; i < ps->n; i++) {
		if (ps->v[i].ext != ext ||
		    strncasecmp(ps->v[i].name, name, len) != 0)
			continue;
		if (ps->v[i].name[len] == (ext ? '*' : '\0') &&
		    (!ext || ps->v[i].name[len + 1] == '\0'))
			return (&ps->v[i]);
	}
	return (NULL);
}

/*
 * A parameter value as UTF-8 on one line: charset'language'%XX for an
 * extended value, encoded words (which mailers put in file names)
 * otherwise.
 */
void
mime_param_decode(const struct mime_param *p, struct mbuf *out)
{
	struct mime_conv	 c;
	struct mbuf		 raw, d;
	const char		*v = p->value, *q1, *q2 = NULL, *data;
	size_t			 i, n = p->vlen, cslen = 0;

	mbuf_init(&raw, SIZE_MAX, 0);
	mbuf_init(&d, SIZE_MAX, 1);
	if (p->ext) {
		data = v;
		if ((q1 = memchr(v, '\'', n)) != NULL)
			q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - v));
		if (q1 != NULL && q2 != NULL) {
			cslen = (size_t)(q1 - v);
			data = q2 + 1;
		}
		n -= (size_t)(data - v);
		for (i = 0; i < n; i++) {
			if (data[i] == '%' && n - i > 2 &&
			    hexval((unsigned char)data[i + 1]) >= 0 &&
			    hexval((unsigned char)data[i + 2]) >= 0) {
				mbuf_addc(&raw, hexval((unsigned char)
				    data[i + 1]) * 16 +
				    hexval((unsigned char)data[i + 2]));
				i += 2;
			} else
				mbuf_addc(&raw, (unsigned char)data[i]);
		}
		mime_conv_init(&c, v, cslen);
		if (raw.len > 0)
			mime_conv_feed(&c, raw.p, raw.len, 1, &d);
	} else
		mime_decode_words(v, n, &d);
	if (d.len > 0)
		mime_oneline(d.p, d.len, out);
	if (raw.oom || d.oom)
		out->oom = 1;
	mbuf_free(&raw);
	mbuf_free(&d);
}

/*
 * Transfer encodings, as streams: feed the body in pieces of any size;
 * final on the last one.
 */

int
mime_cte_kind(const struct mime_str *f)
{
	struct mbuf	 v;
	char		 tok[32];
	size_t		 i;
	int		 kind = CTE_RAW;

	if (f->p == NULL)
		return (CTE_RAW);
	mbuf_init(&v, 256, 0);
	mime_unfold(f->p, f->n, &v);
	if (v.len > 0) {
		i = mime_skip_cfws(v.p, v.len, 0);
		if (mime_token(v.p, v.len, &i, tok, sizeof(tok)) == 0) {
			if (strcasecmp(tok, "base64") == 0)
				kind = CTE_BASE64;
			else if (strcasecmp(tok, "quoted-printable") == 0)
				kind = CTE_QP;
		}
	}
	mbuf_free(&v);
	return (kind);
}

void
mime_cte_init(struct mime_cte *c, int kind)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
}

/* Characters outside the alphabet are skipped; "=" ends a quantum. */
static void
b64_feed(struct mime_cte *c, const unsigned char *s, size_t n, int final,
    struct mbuf *out)
{
	unsigned char	 ob[4096];
	size_t		 i, on = 0;
	int		 v;

	for (i = 0; i < n; i++) {
		if ((v = b64val(s[i])) >= 0) {
			c->bits = (c->bits << 6) | (unsigned int)v;
			c->nbits += 6;
			if (c->nbits >= 8) {
				c->nbits -= 8;
				ob[on++] = (unsigned char)(c->bits >> c->nbits);
				c->bits &= (1U << c->nbits) - 1;
				if (on == sizeof(ob)) {
					mbuf_add(out, ob, on);
					on = 0;
				}
			}
		} else if (s[i] == '=') {
			c->bits = 0;
			c->nbits = 0;
		}
	}
	mbuf_add(out, ob, on);
	if (final) {
		c->bits = 0;
		c->nbits = 0;
	}
}

/*
 * Quoted-printable (RFC 2045 6.7): "=XX" is an octet, "=" and optional
 * white space before a line end is a soft line break, and any other
 * "=" is kept as it is.  White space at the end of a line is deleted
 * (6.7 (3): it may have been added in transport), so a run of it is
 * held in qwsbuf until what follows it is known.  States: 0 text, 1
 * after "=", 2 after "=X", 3 after "=" and white space, 4 after "="
 * [white space] CR.
 */
static void
qp_feed(struct mime_cte *c, const unsigned char *s, size_t n, int final,
    struct mbuf *out)
{
	size_t		 i, run = 0;
	unsigned char	 ch;
	int		 h;

	for (i = 0; i < n; i++) {
		ch = s[i];
 again:
		switch (c->qstate) {
		case 0:
			if (ch == ' ' || ch == '\t') {
				mbuf_add(out, s + run, i - run);
				/* Too long a run to be padding: it stays. */
				if (c->qws == sizeof(c->qwsbuf)) {
					mbuf_add(out, c->qwsbuf, c->qws);
					c->qws = 0;
				}
				c->qwsbuf[c->qws++] = ch;
				break;
			}
			/* Held white space directly precedes s[i]. */
			if (c->qws > 0) {
				if (ch != '\r' && ch != '\n')
					mbuf_add(out, c->qwsbuf, c->qws);
				c->qws = 0;
			}
			if (ch != '=')
				continue;
			mbuf_add(out, s + run, i - run);
			c->qstate = 1;
			break;
		case 1:
			if (hexval(ch) >= 0) {
				c->qhex = ch;
				c->qstate = 2;
			} else if (ch == '\n')
				c->qstate = 0;
			else if (ch == '\r')
				c->qstate = 4;
			else if (ch == ' ' || ch == '\t') {
				c->qwsbuf[0] = ch;
				c->qws = 1;
				c->qstate = 3;
			} else {
				mbuf_addc(out, '=');
				c->qstate = 0;
				run = i;
				goto again;
			}
			break;
		case 2:
			if ((h = hexval(ch)) >= 0) {
				mbuf_addc(out, hexval((unsigned char)c->qhex) *
				    16 + h);
				c->qstate = 0;
			} else {
				mbuf_addc(out, '=');
				mbuf_addc(out, c->qhex);
				c->qstate = 0;
				run = i;
				goto again;
			}
			break;
		case 3:
			if ((ch == ' ' || ch == '\t') &&
			    c->qws < sizeof(c->qwsbuf)) {
				c->qwsbuf[c->qws++] = ch;
				break;
			}
			if (ch == '\n') {
				c->qws = 0;
				c->qstate = 0;
				break;
			}
			if (ch == '\r') {
				c->qws = 0;
				c->qstate = 4;
				break;
			}
			mbuf_addc(out, '=');
			mbuf_add(out, c->qwsbuf, c->qws);
			c->qws = 0;
			c->qstate = 0;
			run = i;
			goto again;
		case 4:
			/* "=" CR without LF: a soft break all the same. */
			c->qstate = 0;
			if (ch == '\n')
				break;
			run = i;
			goto again;
		}
		run = i + 1;
	}
	if (c->qstate == 0)
		mbuf_add(out, s + run, n - run);
	if (final) {
		if (c->qstate == 1 || c->qstate == 2 || c->qstate == 3)
			mbuf_addc(out, '=');
		if (c->qstate == 2)
			mbuf_addc(out, c->qhex);
		/* The last line's white space is trailing too. */
		if (c->qstate == 3)
			mbuf_add(out, c->qwsbuf, c->qws);
		c->qws = 0;
		c->qstate = 0;
	}
}

void
mime_cte_feed(struct mime_cte *c, const char *s, size_t n, int final,
    struct mbuf *out)
{
	switch (c->kind) {
	case CTE_BASE64:
		b64_feed(c, (const unsigned char *)s, n, final, out);
		break;
	case CTE_QP:
		qp_feed(c, (const unsigned char *)s, n, final, out);
		break;
	default:
		mbuf_add(out, s, n);
		break;
	}
}

/*
 * Charsets.
 */

void
mime_init(void)
{
	size_t	 i;

	if (mime_inited)
		return;
	for (i = 0; i < nitems(mime_charsets); i++)
		mime_cd[i] = iconv_open("UTF-8", mime_charsets[i].name);
	mime_inited = 1;
}

uint32_t
mime_cp1252(unsigned char c)
{
	if (c >= 0x80 && c <= 0x9f)
		return (cp1252_hi[c - 0x80]);
	return (c);
}

/* Is the normalised label one of the space-separated list? */
static int
label_in(const char *label, const char *list)
{
	const char	*p = list;
	size_t		 len;

	len = strlen(label);
	while ((p = strstr(p, label)) != NULL) {
		if ((p == list || p[-1] == ' ') &&
		    (p[len] == ' ' || p[len] == '\0'))
			return (1);
		p += len;
	}
	return (0);
}

/*
 * Select the converter for a charset label: lower case, letters and
 * digits only, an RFC 2231 "*language" cut off.  Anything unknown, or
 * unknown here because mime_init() was not called, is read as UTF-8.
 */
void
mime_conv_init(struct mime_conv *c, const char *cs, size_t n)
{
	char	 label[LABEL_MAX + 1];
	size_t	 i, k = 0;

	memset(c, 0, sizeof(*c));
	c->kind = CONV_UTF8;
	for (i = 0; i < n && cs[i] != '*'; i++) {
		if (!((cs[i] >= 'a' && cs[i] <= 'z') ||
		    (cs[i] >= 'A' && cs[i] <= 'Z') ||
		    (cs[i] >= '0' && cs[i] <= '9')))
			continue;
		if (k == LABEL_MAX)
			return;
		label[k++] = (char)mime_lower((unsigned char)cs[i]);
	}
	label[k] = '\0';
	if (k == 0 || label_in(label, labels_utf8))
		return;
	if (label_in(label, labels_cp1252)) {
		c->kind = CONV_CP1252;
		return;
	}
	if (!mime_inited)
		return;
	for (i = 0; i < nitems(mime_charsets); i++) {
		if (!label_in(label, mime_charsets[i].labels))
			continue;
		if (mime_cd[i] == (iconv_t)-1)
			return;
		c->kind = CONV_ICONV;
		c->cd = mime_cd[i];
		/* Back to the initial shift state. */
		(void)iconv(c->cd, NULL, NULL, NULL, NULL);
		return;
	}
}

/*
 * The length of the valid UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), -1 if what there is
 * could still become valid, or 0 if it is invalid: then *bad is the
 * length of its longest valid prefix (at least 1), which is replaced
 * by one U+FFFD (the "maximal subpart" rule of Unicode and WHATWG), so
 * that the output does not depend on how the input was cut.
 */
static int
utf8_len(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char	 c = s[0], d;
	int		 need, i;

	*bad = 1;
	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3;
	else
		return (0);
	for (i = 1; i <= need; i++) {
		if ((size_t)i >= n)
			return (-1);
		d = s[i];
		if ((d & 0xc0) != 0x80 || (i == 1 && ((c == 0xe0 && d < 0xa0) ||
		    (c == 0xed && d > 0x9f) || (c == 0xf0 && d < 0x90) ||
		    (c == 0xf4 && d > 0x8f)))) {
			*bad = (size_t)i;
			return (0);
		}
	}
	return (need + 1);
}

static void
conv_utf8(struct mime_conv *c, const unsigned char *s, size_t n, int final,
    struct mbuf *out)
{
	size_t	 i = 0, run, bad;
	int	 l;

	/* Complete the sequence the last piece ended in. */
	while (c->ncarry > 0) {
		if (i >= n) {
			if (final) {
				mbuf_addcp(out, 0xfffd);
				c->ncarry = 0;
			}
			return;
		}
		c->carry[c->ncarry++] = s[i++];
		if ((l = utf8_len(c->carry, c->ncarry, &bad)) == -1)
			continue;
		if (l > 0)
			mbuf_add(out, c->carry, (size_t)l);
		else {
			/* The carry was the maximal subpart. */
			mbuf_addcp(out, 0xfffd);
			i--;
		}
		c->ncarry = 0;
	}

	run = i;
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_len(s + i, n - i, &bad)) > 0) {
			i += (size_t)l;
			continue;
		}
		mbuf_add(out, s + run, i - run);
		if (l == -1 && !final) {
			c->ncarry = n - i;
			memcpy(c->carry, s + i, c->ncarry);
			return;
		}
		mbuf_addcp(out, 0xfffd);
		i = l == -1 ? n : i + bad;
		run = i;
	}
	mbuf_add(out, s + run, i - run);
}

static void
conv_cp1252(const unsigned char *s, size_t n, struct mbuf *out)
{
	size_t	 i, run = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x80)
			continue;
		mbuf_add(out, s + run, i - run);
		mbuf_addcp(out, mime_cp1252(s[i]));
		run = i + 1;
	}
	mbuf_add(out, s + run, n - run);
}

/*
 * Convert as much of s as iconv can; returns what was consumed and sets
 * *err to 0, EILSEQ (the octet at the returned offset is invalid) or
 * EINVAL (an incomplete sequence begins there).
 */
static size_t
iconv_run(struct mime_conv *c, const char *s, size_t n, struct mbuf *out,
    int *err)
{
	char	 ob[4096];
	char	*ip = (char *)s, *op;
	size_t	 il = n, ol;

	*err = 0;
	while (il > 0) {
		op = ob;
		ol = sizeof(ob);
		if (iconv(c->cd, &ip, &il, &op, &ol) == (size_t)-1) {
			mbuf_add(out, ob, sizeof(ob) - ol);
			if (errno == E2BIG)
				continue;
			*err = errno == EINVAL ? EINVAL : EILSEQ;
			break;
		}
		mbuf_add(out, ob, sizeof(ob) - ol);
	}
	return (n - il);
}

static void
conv_iconv(struct mime_conv *c, const char *s, size_t n, int final,
    struct mbuf *out)
{
	char	 ob[64];
	char	*op;
	size_t	 k, ol;
	int	 err;

	/* Feed the carried sequence one more octet at a time. */
	while (c->ncarry > 0 && n > 0) {
		c->carry[c->ncarry++] = (unsigned char)*s++;
		n--;
		k = iconv_run(c, (const char *)c->carry, c->ncarry, out, &err);
		if (err == EILSEQ) {
			mbuf_addcp(out, 0xfffd);
			k++;
		}
		memmove(c->carry, c->carry + k, c->ncarry - k);
		c->ncarry -= k;
		if (c->ncarry == sizeof(c->carry)) {
			mbuf_addcp(out, 0xfffd);
			c->ncarry = 0;
		}
	}

	while (n > 0) {
		k = iconv_run(c, s, n, out, &err);
		s += k;
		n -= k;
		if (err == EILSEQ) {
			mbuf_addcp(out, 0xfffd);
			s++;
			n--;
		} else if (err == EINVAL) {
			if (!final && n < sizeof(c->carry)) {
				memcpy(c->carry, s, n);
				c->ncarry = n;
				break;
			}
			mbuf_addcp(out, 0xfffd);
			s++;
			n--;
		} else
			break;
	}

	if (final) {
		if (c->ncarry > 0)
			mbuf_addcp(out, 0xfffd);
		c->ncarry = 0;
		op = ob;
		ol = sizeof(ob);
		if (iconv(c->cd, NULL, NULL, &op, &ol) != (size_t)-1)
			mbuf_add(out, ob, sizeof(ob) - ol);
	}
}

void
mime_conv_feed(struct mime_conv *c, const char *s, size_t n, int final,
    struct mbuf *out)
{
	switch (c->kind) {
	case CONV_CP1252:
		conv_cp1252((const unsigned char *)s, n, out);
		break;
	case CONV_ICONV:
		conv_iconv(c, s, n, final, out);
		break;
	default:
		conv_utf8(c, (const unsigned char *)s, n, final, out);
		break;
	}
}

void
mime_utf8_valid(const char *s, size_t n, struct mbuf *out)
{
	struct mime_conv	 c;

	memset(&c, 0, sizeof(c));
	c.kind = CONV_UTF8;
	conv_utf8(&c, (const unsigned char *)s, n, 1, out);
}

/* Control characters become spaces: the value fits on one line. */
void
mime_oneline(const char *s, size_t n, struct mbuf *out)
{
	size_t	 i, run = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7f)
			continue;
		mbuf_add(out, s + run, i - run);
		mbuf_addc(out, ' ');
		run = i + 1;
	}
	mbuf_add(out, s + run, n - run);
}

/*
 * RFC 2047 encoded words.
 */

/*
 * An encoded word at s[i] ("=?charset?B?text?=")?  Sets the charset and
 * text ranges, the encoding and the index after it.
 */
static int
word_parse(const char *s, size_t n, size_t i, size_t *end, size_t *cs,
    size_t *cslen, size_t *txt, size_t *txtlen, int *enc)
{
	size_t	 j;

	*end = i;
	if (n - i < 8 || s[i] != '=' || s[i + 1] != '?')
		return (0);
	j = i + 2;
	*cs = j;
	while (j < n && s[j] != '?') {
		if ((unsigned char)s[j] <= 0x20 ||
		    (unsigned char)s[j] >= 0x7f || j - *cs >= CHARSET_MAX)
			return (0);
		j++;
	}
	if (j == *cs || n - j < 5)
		return (0);
	*cslen = j - *cs;
	j++;
	if (s[j] != 'B' && s[j] != 'b' && s[j] != 'Q' && s[j] != 'q')
		return (0);
	*enc = mime_upper((unsigned char)s[j]);
	if (s[j + 1] != '?')
		return (0);
	j += 2;
	*txt = j;
	while (j + 1 < n && !(s[j] == '?' && s[j + 1] == '=')) {
		if ((unsigned char)s[j] <= 0x20 ||
		    (unsigned char)s[j] >= 0x7f) {
			*end = j;
			return (0);
		}
		j++;
	}
	if (j + 1 >= n) {
		*end = n;
		return (0);
	}
	*txtlen = j - *txt;
	*end = j + 2;
	return (1);
}

static void
q_decode(const char *s, size_t n, struct mbuf *out)
{
	size_t	 i;
	int	 h1, h2;

	for (i = 0; i < n; i++) {
		if (s[i] == '_')
			mbuf_addc(out, ' ');
		else if (s[i] == '=' && n - i > 2 &&
		    (h1 = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (h2 = hexval((unsigned char)s[i + 2])) >= 0) {
			mbuf_addc(out, h1 * 16 + h2);
			i += 2;
		} else
			mbuf_addc(out, (unsigned char)s[i]);
	}
}

/* Convert the octets of a run of encoded words in one charset. */
static void
word_flush(struct mbuf *acc, char *cs, struct mbuf *out)
{
	struct mime_conv	 c;

	if (acc->len > 0) {
		mime_conv_init(&c, cs, strlen(cs));
		mime_conv_feed(&c, acc->p, acc->len, 1, out);
	}
	if (acc->oom)
		out->oom = 1;
	mbuf_reset(acc);
	cs[0] = '\0';
}

/*
 * Decode the encoded words of an unfolded value into UTF-8.  White
 * space between two encoded words goes; adjacent words in the same
 * charset are joined before conversion, so that a character split
 * across two words comes out whole.  Text that is not an encoded word
 * is taken as UTF-8 (RFC 6532), invalid octets replaced.
 */
void
mime_decode_words(const char *s, size_t n, struct mbuf *out)
{
	struct mime_cte	 cte;
	struct mbuf	 acc;
	char		 cs[CHARSET_MAX + 1], wcs[CHARSET_MAX + 1];
	size_t		 i = 0, j, end, c0, cl, t0, tl, ws = 0, nofind = 0;
	int		 enc, prev = 0, inws = 0, ok;

	mbuf_init(&acc, SIZE_MAX, 0);
	cs[0] = '\0';
	while (i < n) {
		/*
		 * A word whose text met white space or the end before "?="
		 * tells that no word starting before that point can end
		 * either: they are not tried, so the scan stays linear.
		 */
		ok = 0;
		if (s[i] == '=' && i >= nofind) {
			ok = word_parse(s, n, i, &end, &c0, &cl, &t0, &tl,
			    &enc);
			if (!ok && end > i)
				nofind = end;
		}
		if (ok) {
			memcpy(wcs, s + c0, cl);
			wcs[cl] = '\0';
			if (!prev || strcasecmp(wcs, cs) != 0)
				word_flush(&acc, cs, out);
			if (!prev && inws)
				mime_utf8_valid(s + ws, i - ws, out);
			inws = 0;
			strlcpy(cs, wcs, sizeof(cs));
			if (enc == 'B') {
				mime_cte_init(&cte, CTE_BASE64);
				mime_cte_feed(&cte, s + t0, tl, 1, &acc);
			} else
				q_decode(s + t0, tl, &acc);
			prev = 1;
			i = end;
			continue;
		}
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			/* Held until we know what follows it. */
			if (!inws) {
				inws = 1;
				ws = i;
			}
			i++;
			continue;
		}
		word_flush(&acc, cs, out);
		if (inws)
			mime_utf8_valid(s + ws, i - ws, out);
		inws = 0;
		prev = 0;
		/* Plain text up to the next white space or "=?". */
		for (j = i + 1; j < n && s[j] != ' ' && s[j] != '\t' &&
		    s[j] != '\r' && s[j] != '\n'; j++)
			if (s[j] == '=' && j + 1 < n && s[j + 1] == '?')
				break;
		mime_utf8_valid(s + i, j - i, out);
		i = j;
	}
	word_flush(&acc, cs, out);
	if (inws)
		mime_utf8_valid(s + ws, n - ws, out);
	mbuf_free(&acc);
}

/* A header value as one line of UTF-8: unfolded, words decoded. */
void
mime_decode_field(const char *s, size_t n, struct mbuf *out)
{
	struct mbuf	 u, d;

	mbuf_init(&u, MIME_VALUE_MAX, 1);
	mbuf_init(&d, SIZE_MAX, 1);
	mime_unfold(s, n, &u);
	if (u.len > 0)
		mime_decode_words(u.p, u.len, &d);
	if (d.len > 0)
		mime_oneline(d.p, d.len, out);
	if (u.oom || d.oom)
		out->oom = 1;
	mbuf_free(&u);
	mbuf_free(&d);
}
