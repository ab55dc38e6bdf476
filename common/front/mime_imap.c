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
 * The IMAP strings: ENVELOPE and BODYSTRUCTURE (RFC 9051 7.5.2 and the
 * formal syntax of section 9), the addresses in them, and BODY made
 * from a BODYSTRUCTURE.
 *
 * Levels make the output simpler when it must fit BUNDLE_META_MAX:
 * level 0 is complete; level 1 cuts strings to LEVEL1_STR octets,
 * address lists to LEVEL1_ADDRS and parameter lists to LEVEL1_PARAMS
 * and drops the extension data; level 2 is an envelope of NILs or one
 * opaque part.
 */

#include <sys/types.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "mime.h"

#define LEVEL1_STR	256
#define LEVEL1_ADDRS	20
#define LEVEL1_PARAMS	8
#define BODY_DEPTH_MAX	(2 * MIME_DEPTH_MAX + 8)

#define EMPTY_PART	"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") " \
			"NIL NIL \"7BIT\" 0 0"

/* An address as parsed, each string in its own buffer. */
struct addr {
	struct mbuf	 name;
	struct mbuf	 adl;
	struct mbuf	 mbox;
	struct mbuf	 host;
	struct mbuf	 words;
	struct mbuf	 comment;
};

static void	 imap_string(struct mbuf *, const char *, size_t, int, size_t);
static void	 imap_field(struct mbuf *, const struct mime_str *, int,
		    size_t);
static int	 is_atom(unsigned char);
static size_t	 quoted(const char *, size_t, size_t, struct mbuf *);
static size_t	 atom(const char *, size_t, size_t, struct mbuf *);
static size_t	 domain(const char *, size_t, size_t, struct mbuf *);
static size_t	 addr_junk(const char *, size_t, size_t);
static void	 addr_emit(struct mbuf *, const struct mbuf *,
		    const struct mbuf *, const char *, size_t, const char *,
		    size_t, size_t);
static size_t	 addr_list(const char *, size_t, size_t, size_t, struct addr *,
		    struct mbuf *);
static size_t	 env_addrs(const struct mime_str *, int, struct addr *,
		    struct mbuf *);
static void	 bs_params(struct mbuf *, const struct mime_part *, int);
static void	 bs_param_list(struct mbuf *, const struct mime_params *, int,
		    size_t, size_t);
static void	 bs_enc(struct mbuf *, const struct mime_part *);
static void	 bs_disposition(struct mbuf *, const struct mime_part *,
		    size_t);
static void	 bs_language(struct mbuf *, const struct mime_part *, size_t);
static void	 bs_ext(struct mbuf *, const struct mime_part *, int, size_t);
static void	 bs_part(const char *, const struct mime_part *, int,
		    struct mbuf *);
static size_t	 imap_skip(const char *, size_t, size_t, int);
static size_t	 imap_sp(const char *, size_t, size_t);
static size_t	 imap_strval(const char *, size_t, size_t, const char **,
		    size_t *);
static size_t	 body_conv(const char *, size_t, size_t, int, struct mbuf *);

/*
 * A string: quoted when it is short 7-bit text without CR or LF, a
 * literal otherwise.  NUL becomes U+FFFD.  For text meant for people
 * (subjects, names) TAB, CR and LF become spaces.  cut > 0 shortens
 * the string to at most cut octets, on a UTF-8 boundary.
 */
static void
imap_string(struct mbuf *b, const char *p, size_t n, int human, size_t cut)
{
	unsigned char	 c;
	size_t		 i, extra = 0, run;
	int		 lit = 0;

	if (cut > 0 && n > cut) {
		n = cut;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > MIME_QUOTED_MAX)
		lit = 1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '\0') {
			lit = 1;
			extra += 2;
		} else if (c >= 0x80 || ((c == '\r' || c == '\n') && !human))
			lit = 1;
	}
	if (lit) {
		mbuf_addc(b, '{');
		mbuf_addnum(b, n + extra);
		mbuf_add(b, "}\r\n", 3);
	} else
		mbuf_addc(b, '"');
	for (run = 0, i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '\0' || (human && (c == '\t' || c == '\r' ||
		    c == '\n')) || (!lit && (c == '"' || c == '\\'))) {
			mbuf_add(b, p + run, i - run);
			if (c == '\0')
				mbuf_add(b, "\xef\xbf\xbd", 3);
			else if (human && (c == '\t' || c == '\r' || c == '\n'))
				mbuf_addc(b, ' ');
			else {
				mbuf_addc(b, '\\');
				mbuf_addc(b, c);
			}
			run = i + 1;
		}
	}
	mbuf_add(b, p + run, n - run);
	if (!lit)
		mbuf_addc(b, '"');
}

/* A header value unfolded, as nstring. */
static void
imap_field(struct mbuf *b, const struct mime_str *f, int human, size_t cut)
{
	struct mbuf	 v;

	if (f->p == NULL) {
		mbuf_adds(b, "NIL");
		return;
	}
	/* A longer value cannot fit in the section anyway. */
	mbuf_init(&v, BUNDLE_META_MAX + 1, 0);
	mime_unfold(f->p, f->n, &v);
	if (v.oom)
		b->oom = 1;
	imap_string(b, v.p != NULL ? v.p : "", v.len, human, cut);
	mbuf_free(&v);
}

/*
 * Addresses (RFC 5322 3.4 and the obsolete syntax), leniently: what
 * cannot be read is skipped up to the next comma.  Display names and
 * group names are the words as written, quoted strings unquoted,
 * encoded words left alone; an addr-spec followed by a comment takes
 * the comment as its name.
 */
static int
is_atom(unsigned char c)
{
	return (c > 0x20 && c != 0x7f && strchr("()<>[]:;@\\,\"", c) ==
	    NULL);
}

/* A quoted string at s[i], unquoted into out. */
static size_t
quoted(const char *s, size_t n, size_t i, struct mbuf *out)
{
	for (i++; i < n && s[i] != '"'; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		if (out != NULL)
			mbuf_addc(out, (unsigned char)s[i]);
	}
	return (i < n ? i + 1 : n);
}

static size_t
atom(const char *s, size_t n, size_t i, struct mbuf *out)
{
	size_t	 j = i;

	while (j < n && is_atom((unsigned char)s[j]))
		j++;
	mbuf_add(out, s + i, j - i);
	return (j);
}

/* A domain: dot-atom or [domain literal], kept as written. */
static size_t
domain(const char *s, size_t n, size_t i, struct mbuf *out)
{
	size_t	 j;

	i = mime_skip_cfws(s, n, i);
	if (i < n && s[i] == '[') {
		for (j = i + 1; j < n && s[j] != ']'; j++)
			if (s[j] == '\\' && j + 1 < n)
				j++;
		j = j < n ? j + 1 : n;
		mbuf_add(out, s + i, j - i);
		return (j);
	}
	return (atom(s, n, i, out));
}

/* Up to the next ',' or ';' outside quotes and comments. */
static size_t
addr_junk(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] != ',' && s[i] != ';') {
		if (s[i] == '"')
			i = quoted(s, n, i, NULL);
		else if (s[i] == '(')
			i = mime_skip_cfws(s, n, i);
		else
			i++;
	}
	return (i);
}

static void
addr_emit(struct mbuf *out, const struct mbuf *name, const struct mbuf *adl,
    const char *mbox, size_t mlen, const char *host, size_t hlen, size_t cut)
{
	mbuf_addc(out, '(');
	if (name != NULL && name->len > 0)
		imap_string(out, name->p, name->len, 1, cut);
	else
		mbuf_adds(out, "NIL");
	mbuf_addc(out, ' ');
	if (adl != NULL && adl->len > 0)
		imap_string(out, adl->p, adl->len, 0, cut);
	else
		mbuf_adds(out, "NIL");
	mbuf_addc(out, ' ');
	if (mbox != NULL)
		imap_string(out, mbox, mlen, 0, cut);
	else
		mbuf_adds(out, "NIL");
	mbuf_addc(out, ' ');
	if (host != NULL)
		imap_string(out, host, hlen, 0, cut);
	else
		mbuf_adds(out, "NIL");
	mbuf_addc(out, ')');
}

/*
 * The addresses of an unfolded address-list value, written as the
 * inside of an IMAP address list; returns how many were written.
 */
static size_t
addr_list(const char *s, size_t n, size_t max, size_t cut, struct addr *a,
    struct mbuf *out)
{
	size_t	 i = 0, count = 0, nw;
	int	 group = 0;
	char	 c;

	while (i < n && count < max) {
		i = mime_skip_cfws(s, n, i);
		if (i >= n)
			break;
		if (s[i] == ',') {
			i++;
			continue;
		}
		if (s[i] == ';') {
			if (group) {
				addr_emit(out, NULL, NULL, NULL, 0, NULL, 0,
				    cut);
				group = 0;
			}
			i++;
			continue;
		}

		/* A phrase, or the local part of an addr-spec. */
		mbuf_reset(&a->words);
		for (nw = 0;; nw++) {
			i = mime_skip_cfws(s, n, i);
			if (i < n && s[i] == '"') {
				if (nw > 0)
					mbuf_addc(&a->words, ' ');
				i = quoted(s, n, i, &a->words);
			} else if (i < n && is_atom((unsigned char)s[i])) {
				if (nw > 0)
					mbuf_addc(&a->words, ' ');
				i = atom(s, n, i, &a->words);
			} else
				break;
		}
		c = i < n ? s[i] : '\0';

		if (c == ':' && nw > 0 && !group) {
			addr_emit(out, NULL, NULL, a->words.p, a->words.len,
			    NULL, 0, cut);
			group = 1;
			count++;
			i++;
			continue;
		}

		mbuf_reset(&a->name);
		mbuf_reset(&a->adl);
		mbuf_reset(&a->mbox);
		mbuf_reset(&a->host);
		if (c == '<') {
			mbuf_add(&a->name, a->words.p, a->words.len);
			i = mime_skip_cfws(s, n, i + 1);
			/* obs-route: @a,@b: */
			while (i < n && s[i] == '@') {
				if (a->adl.len > 0)
					mbuf_addc(&a->adl, ',');
				mbuf_addc(&a->adl, '@');
				i = domain(s, n, i + 1, &a->adl);
				i = mime_skip_cfws(s, n, i);
				while (i < n && s[i] == ',')
					i = mime_skip_cfws(s, n, i + 1);
			}
			if (i < n && s[i] == ':')
				i = mime_skip_cfws(s, n, i + 1);
			for (;;) {
				if (i < n && s[i] == '"')
					i = quoted(s, n, i, &a->mbox);
				else if (i < n && is_atom((unsigned char)s[i]))
					i = atom(s, n, i, &a->mbox);
				else
					break;
				i = mime_skip_cfws(s, n, i);
			}
			if (i < n && s[i] == '@')
				i = domain(s, n, i + 1, &a->host);
			i = mime_skip_cfws(s, n, i);
			while (i < n && s[i] != '>' && s[i] != ',' &&
			    s[i] != ';') {
				if (s[i] == '"')
					i = quoted(s, n, i, NULL);
				else
					i++;
			}
			if (i < n && s[i] == '>')
				i++;
		} else if (c == '@') {
			mbuf_add(&a->mbox, a->words.p, a->words.len);
			i = domain(s, n, i + 1, &a->host);
			/* "user@host (Name)": the comment names it. */
			mbuf_reset(&a->comment);
			i = mime_cfws(s, n, i, &a->comment);
			mbuf_add(&a->name, a->comment.p, a->comment.len);
		} else if (nw > 0)
			mbuf_add(&a->mbox, a->words.p, a->words.len);
		else {
			/* Nothing to read here. */
			i++;
			continue;
		}
		addr_emit(out, &a->name, &a->adl,
		    a->mbox.len > 0 ? a->mbox.p : "MISSING_MAILBOX",
		    a->mbox.len > 0 ? a->mbox.len : 15,
		    a->host.len > 0 ? a->host.p : "MISSING_DOMAIN",
		    a->host.len > 0 ? a->host.len : 14, cut);
		count++;
		i = mime_skip_cfws(s, n, i);
		if (i < n && s[i] != ',' && s[i] != ';')
			i = addr_junk(s, n, i);
	}
	if (group)
		addr_emit(out, NULL, NULL, NULL, 0, NULL, 0, cut);
	return (count);
}

/* An env-from style list, or NIL; returns the number of addresses. */
static size_t
env_addrs(const struct mime_str *f, int level, struct addr *a,
    struct mbuf *out)
{
	struct mbuf	 v, list;
	size_t		 count = 0;

	if (f->p == NULL) {
		mbuf_adds(out, "NIL");
		return (0);
	}
	mbuf_init(&v, MIME_ADDRVALUE_MAX, 0);
	mbuf_init(&list, BUNDLE_META_MAX + 1, 0);
	mime_unfold(f->p, f->n, &v);
	if (v.len > 0)
		count = addr_list(v.p, v.len, level > 0 ? LEVEL1_ADDRS :
		    MIME_ADDRS_MAX, level > 0 ? LEVEL1_STR : 0, a, &list);
	if (count > 0) {
		mbuf_addc(out, '(');
		mbuf_add(out, list.p, list.len);
		mbuf_addc(out, ')');
	} else
		mbuf_adds(out, "NIL");
	if (v.oom || list.oom)
		out->oom = 1;
	if (list.full)
		out->full = 1;
	mbuf_free(&v);
	mbuf_free(&list);
	return (count);
}

/*
 * ENVELOPE of the message whose header is p's.  Sender and Reply-To
 * that are absent or hold no address are the From list (RFC 9051).
 */
int
mime_envelope(const char *msg, const struct mime_part *p, int level,
    struct mbuf *b)
{
	struct addr	 a;
	struct mbuf	 from, tmp;
	size_t		 cut = level > 0 ? LEVEL1_STR : 0, nfrom, k;
	int		 fields[] = { MF_SENDER, MF_REPLYTO };

	(void)msg;
	if (level >= 2) {
		mbuf_adds(b, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return (0);
	}
	memset(&a, 0, sizeof(a));
	mbuf_init(&a.name, SIZE_MAX, 0);
	mbuf_init(&a.adl, SIZE_MAX, 0);
	mbuf_init(&a.mbox, SIZE_MAX, 0);
	mbuf_init(&a.host, SIZE_MAX, 0);
	mbuf_init(&a.words, SIZE_MAX, 0);
	mbuf_init(&a.comment, SIZE_MAX, 0);
	mbuf_init(&from, BUNDLE_META_MAX + 1, 0);
	mbuf_init(&tmp, BUNDLE_META_MAX + 1, 0);

	mbuf_addc(b, '(');
	imap_field(b, &p->f[MF_DATE], 0, cut);
	mbuf_addc(b, ' ');
	imap_field(b, &p->f[MF_SUBJECT], 1, cut);
	mbuf_addc(b, ' ');
	nfrom = env_addrs(&p->f[MF_FROM], level, &a, &from);
	mbuf_add(b, from.p, from.len);
	for (k = 0; k < nitems(fields); k++) {
		mbuf_addc(b, ' ');
		mbuf_reset(&tmp);
		if (env_addrs(&p->f[fields[k]], level, &a, &tmp) > 0 ||
		    nfrom == 0)
			mbuf_add(b, tmp.p, tmp.len);
		else
			mbuf_add(b, from.p, from.len);
		if (tmp.oom)
			b->oom = 1;
		if (tmp.full)
			b->full = 1;
	}
	mbuf_addc(b, ' ');
	(void)env_addrs(&p->f[MF_TO], level, &a, b);
	mbuf_addc(b, ' ');
	(void)env_addrs(&p->f[MF_CC], level, &a, b);
	mbuf_addc(b, ' ');
	(void)env_addrs(&p->f[MF_BCC], level, &a, b);
	mbuf_addc(b, ' ');
	imap_field(b, &p->f[MF_INREPLYTO], 0, cut);
	mbuf_addc(b, ' ');
	imap_field(b, &p->f[MF_MSGID], 0, cut);
	mbuf_addc(b, ')');

	if (from.oom || a.name.oom || a.adl.oom || a.mbox.oom ||
	    a.host.oom || a.words.oom || a.comment.oom)
		b->oom = 1;
	if (from.full)
		b->full = 1;
	mbuf_free(&from);
	mbuf_free(&tmp);
	mbuf_free(&a.name);
	mbuf_free(&a.adl);
	mbuf_free(&a.mbox);
	mbuf_free(&a.host);
	mbuf_free(&a.words);
	mbuf_free(&a.comment);
	return (b->oom ? -1 : 0);
}

/*
 * BODYSTRUCTURE.
 */

/* ("NAME" "value" ...) or NIL; text gets CHARSET US-ASCII by default. */
static void
bs_param_list(struct mbuf *b, const struct mime_params *ps, int text,
    size_t max, size_t cut)
{
	size_t	 i, k, written = 0;
	int	 charset = 0;

	for (i = 0; i < ps->n && written < max; i++) {
		mbuf_addc(b, written == 0 ? '(' : ' ');
		/* Upper-case names; they are short ASCII tokens. */
		mbuf_addc(b, '"');
		for (k = 0; ps->v[i].name[k] != '\0' && (cut == 0 ||
		    k < cut); k++) {
			if (ps->v[i].name[k] == '"' || ps->v[i].name[k] == '\\')
				mbuf_addc(b, '\\');
			if ((unsigned char)ps->v[i].name[k] < 0x20 ||
			    (unsigned char)ps->v[i].name[k] >= 0x7f)
				mbuf_addc(b, '_');
			else
				mbuf_addc(b, mime_upper(
				    (unsigned char)ps->v[i].name[k]));
		}
		mbuf_adds(b, "\" ");
		imap_string(b, ps->v[i].value, ps->v[i].vlen, 0, cut);
		if (strcasecmp(ps->v[i].name, "charset") == 0)
			charset = 1;
		written++;
	}
	if (text && !charset) {
		mbuf_adds(b, written == 0 ? "(" : " ");
		mbuf_adds(b, "\"CHARSET\" \"US-ASCII\"");
		written++;
	}
	mbuf_adds(b, written > 0 ? ")" : "NIL");
}

/* The Content-Type parameters of p. */
static void
bs_params(struct mbuf *b, const struct mime_part *p, int level)
{
	struct mime_params	 ps;
	struct mbuf		 v;
	char			 type[MIME_TOKEN_MAX + 1];
	char			 subtype[MIME_TOKEN_MAX + 1];
	size_t			 rest;

	memset(&ps, 0, sizeof(ps));
	mbuf_init(&v, MIME_VALUE_MAX, 0);
	if (p->f[MF_CTYPE].p != NULL)
		mime_unfold(p->f[MF_CTYPE].p, p->f[MF_CTYPE].n, &v);
	if (v.len > 0 && mime_ctype(v.p, v.len, type, subtype, &rest) == 0 &&
	    strcmp(type, p->type) == 0 && strcmp(subtype, p->subtype) == 0) {
		if (mime_params_parse(v.p + rest, v.len - rest, &ps) == -1)
			b->oom = 1;
	}
	if (v.oom)
		b->oom = 1;
	bs_param_list(b, &ps, (p->flags & MP_TEXT) != 0,
	    level > 0 ? LEVEL1_PARAMS : MIME_PARAMS_MAX,
	    level > 0 ? LEVEL1_STR : 0);
	mime_params_free(&ps);
	mbuf_free(&v);
}

static void
bs_enc(struct mbuf *b, const struct mime_part *p)
{
	struct mbuf	 v;
	char		 tok[64];
	size_t		 i, k;

	mbuf_init(&v, 1024, 0);
	if (p->f[MF_CTE].p != NULL)
		mime_unfold(p->f[MF_CTE].p, p->f[MF_CTE].n, &v);
	i = v.len > 0 ? mime_skip_cfws(v.p, v.len, 0) : 0;
	if (v.len > 0 && mime_token(v.p, v.len, &i, tok, sizeof(tok)) == 0) {
		for (k = 0; tok[k] != '\0'; k++)
			tok[k] = (char)mime_upper((unsigned char)tok[k]);
		imap_string(b, tok, strlen(tok), 0, 0);
	} else
		mbuf_adds(b, "\"7BIT\"");
	mbuf_free(&v);
}

static void
bs_disposition(struct mbuf *b, const struct mime_part *p, size_t cut)
{
	struct mime_params	 ps;
	struct mbuf		 v;
	char			 tok[MIME_TOKEN_MAX + 1];
	size_t			 i = 0, k;

	memset(&ps, 0, sizeof(ps));
	mbuf_init(&v, MIME_VALUE_MAX, 0);
	if (p->f[MF_CDISP].p != NULL)
		mime_unfold(p->f[MF_CDISP].p, p->f[MF_CDISP].n, &v);
	if (v.len > 0)
		i = mime_skip_cfws(v.p, v.len, 0);
	if (v.len == 0 || mime_token(v.p, v.len, &i, tok, sizeof(tok)) == -1) {
		mbuf_adds(b, "NIL");
		if (v.oom)
			b->oom = 1;
		mbuf_free(&v);
		return;
	}
	for (k = 0; tok[k] != '\0'; k++)
		tok[k] = (char)mime_upper((unsigned char)tok[k]);
	if (mime_params_parse(v.p + i, v.len - i, &ps) == -1)
		b->oom = 1;
	mbuf_addc(b, '(');
	imap_string(b, tok, strlen(tok), 0, 0);
	mbuf_addc(b, ' ');
	bs_param_list(b, &ps, 0, MIME_PARAMS_MAX, cut);
	mbuf_addc(b, ')');
	mime_params_free(&ps);
	mbuf_free(&v);
}

/* Content-Language: a list of language tags, or NIL. */
static void
bs_language(struct mbuf *b, const struct mime_part *p, size_t cut)
{
	struct mbuf	 v;
	char		 tok[MIME_TOKEN_MAX + 1];
	size_t		 i = 0, count = 0;

	mbuf_init(&v, MIME_VALUE_MAX, 0);
	if (p->f[MF_CLANG].p != NULL)
		mime_unfold(p->f[MF_CLANG].p, p->f[MF_CLANG].n, &v);
	while (i < v.len && count < MIME_PARAMS_MAX) {
		i = mime_skip_cfws(v.p, v.len, i);
		if (i >= v.len)
			break;
		if (mime_token(v.p, v.len, &i, tok, sizeof(tok)) == 0) {
			mbuf_addc(b, count == 0 ? '(' : ' ');
			imap_string(b, tok, strlen(tok), 0, cut);
			count++;
		} else
			i++;
	}
	mbuf_adds(b, count > 0 ? ")" : "NIL");
	if (v.oom)
		b->oom = 1;
	mbuf_free(&v);
}

/* body-ext-1part after md5, and body-ext-mpart after the parameters. */
static void
bs_ext(struct mbuf *b, const struct mime_part *p, int multipart,
    size_t cut)
{
	if (!multipart) {
		mbuf_addc(b, ' ');
		imap_field(b, &p->f[MF_CMD5], 0, cut);
	}
	mbuf_addc(b, ' ');
	bs_disposition(b, p, cut);
	mbuf_addc(b, ' ');
	bs_language(b, p, cut);
	mbuf_addc(b, ' ');
	imap_field(b, &p->f[MF_CLOC], 0, cut);
}

static void
bs_part(const char *msg, const struct mime_part *p, int level,
    struct mbuf *b)
{
	const struct mime_part	*c;
	size_t			 cut = level > 0 ? LEVEL1_STR : 0;
	int			 opaque;

	if (b->oom || b->full)
		return;
	/* A message/rfc822 always has its message (checked anyway). */
	opaque = (p->flags & MP_OPAQUE) || ((p->flags & MP_MESSAGE) &&
	    p->child == NULL);
	mbuf_addc(b, '(');
	if ((p->flags & MP_MULTIPART) && !opaque) {
		if (p->child == NULL) {
			mbuf_adds(b, EMPTY_PART);
			mbuf_adds(b, level == 0 ? " NIL NIL NIL NIL)" : ")");
		}
		for (c = p->child; c != NULL; c = c->next)
			bs_part(msg, c, level, b);
		mbuf_addc(b, ' ');
		imap_string(b, p->subtype, strlen(p->subtype), 0, 0);
		if (level == 0) {
			mbuf_addc(b, ' ');
			bs_params(b, p, level);
			bs_ext(b, p, 1, cut);
		}
		mbuf_addc(b, ')');
		return;
	}

	if (opaque)
		mbuf_adds(b, "\"APPLICATION\" \"OCTET-STREAM\" NIL");
	else {
		imap_string(b, p->type, strlen(p->type), 0, 0);
		mbuf_addc(b, ' ');
		imap_string(b, p->subtype, strlen(p->subtype), 0, 0);
		mbuf_addc(b, ' ');
		bs_params(b, p, level);
	}
	mbuf_addc(b, ' ');
	imap_field(b, &p->f[MF_CID], 0, cut);
	mbuf_addc(b, ' ');
	imap_field(b, &p->f[MF_CDESC], 1, cut);
	mbuf_addc(b, ' ');
	bs_enc(b, p);
	mbuf_addc(b, ' ');
	mbuf_addnum(b, p->body_len);
	if ((p->flags & MP_TEXT) && !opaque) {
		mbuf_addc(b, ' ');
		mbuf_addnum(b, p->body_lines);
	} else if ((p->flags & MP_MESSAGE) && !opaque && p->child != NULL) {
		mbuf_addc(b, ' ');
		(void)mime_envelope(msg, p->child, level, b);
		mbuf_addc(b, ' ');
		bs_part(msg, p->child, level, b);
		mbuf_addc(b, ' ');
		mbuf_addnum(b, p->body_lines);
	}
	if (level == 0)
		bs_ext(b, p, 0, cut);
	mbuf_addc(b, ')');
}

int
mime_bodystructure(const char *msg, const struct mime_part *root,
    int level, struct mbuf *b)
{
	if (level >= 2) {
		mbuf_adds(b, "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL "
		    "\"7BIT\" ");
		mbuf_addnum(b, root->body_len);
		mbuf_addc(b, ')');
	} else
		bs_part(msg, root, level, b);
	return (b->oom ? -1 : 0);
}

/*
 * BODY from BODYSTRUCTURE: the same, without extension data.  The
 * input is checked as it is read, since it comes back from storage.
 */

/* The end of the value at i: NIL, number, string, literal or list. */
static size_t
imap_skip(const char *s, size_t n, size_t i, int depth)
{
	size_t	 len = 0, k;

	if (i >= n || depth > BODY_DEPTH_MAX)
		return (0);
	if (s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++)
			if (s[i] == '\\')
				i++;
		return (i < n ? i + 1 : 0);
	}
	if (s[i] == '{') {
		for (k = i + 1; k < n && s[k] >= '0' && s[k] <= '9'; k++) {
			if (len > BUNDLE_META_MAX)
				return (0);
			len = len * 10 + (size_t)(s[k] - '0');
		}
		if (k == i + 1 || n - k < 3 || s[k] != '}' ||
		    s[k + 1] != '\r' || s[k + 2] != '\n' || n - (k + 3) < len)
			return (0);
		return (k + 3 + len);
	}
	if (s[i] == '(') {
		for (i++; i < n && s[i] != ')';) {
			if ((k = imap_skip(s, n, i, depth + 1)) == 0)
				return (0);
			i = k;
			if (i < n && s[i] == ' ')
				i++;
		}
		return (i < n ? i + 1 : 0);
	}
	for (k = i; k < n && s[k] != ' ' && s[k] != ')' && s[k] != '(' &&
	    s[k] != '"'; k++)
		;
	return (k > i ? k : 0);
}

/* The single space that must follow; 0 if it is not there. */
static size_t
imap_sp(const char *s, size_t n, size_t i)
{
	return (i > 0 && i < n && s[i] == ' ' ? i + 1 : 0);
}

/* A quoted string's content (no escapes expected in types). */
static size_t
imap_strval(const char *s, size_t n, size_t i, const char **v, size_t *vl)
{
	size_t	 e;

	if ((e = imap_skip(s, n, i, 0)) == 0 || s[i] != '"')
		return (0);
	*v = s + i + 1;
	*vl = e - i - 2;
	return (e);
}

/* Convert the body at i; returns the index after it, or 0. */
static size_t
body_conv(const char *s, size_t n, size_t i, int depth, struct mbuf *out)
{
	const char	*t = NULL, *st = NULL;
	size_t		 tl = 0, stl = 0, e, k, f;

	if (depth > BODY_DEPTH_MAX || i >= n || s[i] != '(')
		return (0);
	mbuf_addc(out, '(');
	i++;
	if (i < n && s[i] == '(') {
		while (i < n && s[i] == '(') {
			if ((i = body_conv(s, n, i, depth + 1, out)) == 0)
				return (0);
		}
		if ((i = imap_sp(s, n, i)) == 0 ||
		    (e = imap_skip(s, n, i, depth)) == 0)
			return (0);
		mbuf_addc(out, ' ');
		mbuf_add(out, s + i, e - i);
		i = e;
	} else {
		/* type subtype params id desc enc size */
		if ((e = imap_strval(s, n, i, &t, &tl)) == 0)
			return (0);
		k = i;
		for (f = 0; f < 7; f++) {
			if (f > 0 && (i = imap_sp(s, n, i)) == 0)
				return (0);
			if (f == 1 && (imap_strval(s, n, i, &st, &stl)) == 0)
				return (0);
			if ((i = imap_skip(s, n, i, depth)) == 0)
				return (0);
		}
		mbuf_add(out, s + k, i - k);
		if (tl == 4 && strncasecmp(t, "TEXT", 4) == 0) {
			if ((i = imap_sp(s, n, i)) == 0 ||
			    (e = imap_skip(s, n, i, depth)) == 0)
				return (0);
			mbuf_addc(out, ' ');
			mbuf_add(out, s + i, e - i);
			i = e;
		} else if (tl == 7 && strncasecmp(t, "MESSAGE", 7) == 0 &&
		    stl == 6 && strncasecmp(st, "RFC822", 6) == 0) {
			/* envelope body lines */
			if ((i = imap_sp(s, n, i)) == 0 ||
			    (e = imap_skip(s, n, i, depth)) == 0)
				return (0);
			mbuf_addc(out, ' ');
			mbuf_add(out, s + i, e - i);
			if ((i = imap_sp(s, n, e)) == 0)
				return (0);
			mbuf_addc(out, ' ');
			if ((i = body_conv(s, n, i, depth + 1, out)) == 0 ||
			    (i = imap_sp(s, n, i)) == 0 ||
			    (e = imap_skip(s, n, i, depth)) == 0)
				return (0);
			mbuf_addc(out, ' ');
			mbuf_add(out, s + i, e - i);
			i = e;
		}
	}
	/* Extension data, skipped. */
	while (i < n && s[i] == ' ') {
		if ((e = imap_skip(s, n, i + 1, depth)) == 0)
			return (0);
		i = e;
	}
	if (i >= n || s[i] != ')')
		return (0);
	mbuf_addc(out, ')');
	return (i + 1);
}

int
mime_body(const char *bs, size_t len, char **outp, size_t *outlenp)
{
	struct mbuf	 b;

	if (bs == NULL || outp == NULL || outlenp == NULL) {
		errno = EINVAL;
		return (-1);
	}
	*outp = NULL;
	*outlenp = 0;
	mbuf_init(&b, BUNDLE_META_MAX, 0);
	if (len == 0 || body_conv(bs, len, 0, 0, &b) != len || b.full) {
		mbuf_free(&b);
		errno = b.oom ? ENOMEM : EINVAL;
		return (-1);
	}
	if ((*outp = mbuf_take(&b, outlenp)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}
