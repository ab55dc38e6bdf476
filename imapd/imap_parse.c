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
 * The arguments of an IMAP command as a tree, and the small grammars
 * around them: sequence sets, modified UTF-7 mailbox names, dates,
 * strings and flag lists in responses.  Everything here reads what a
 * client sent, so every length is checked against the buffer: the
 * command buffer is not NUL-terminated and is never read past its end.
 *
 * The parser makes two passes over the buffer.  The first checks the
 * grammar and counts the arguments; the second copies them into one
 * allocation: the argument array (the top level first, then every
 * list's elements) followed by the strings.  A list's elements must be
 * contiguous, so the second pass counts a list's direct elements
 * before filling it; with at most IMAP_NEST_MAX levels, no octet is
 * read more than IMAP_NEST_MAX + 2 times.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"

#define QUOTED_MAX	1024	/* longest string written quoted */
#define KEYWORD_MAX	63	/* MBOX_KEYWORD_MAX - 1, vaultd's limit */
#define DATETIME_MAX	253402300799LL	/* 31-Dec-9999 23:59:59 */
#define ARENA_HDR	16	/* the arena's size, kept aligned */
_Static_assert(ARENA_HDR >= sizeof(size_t) &&
    ARENA_HDR % _Alignof(struct imap_arg) == 0, "arena header");

struct parser {
	const struct imap_cmd	*cmd;
	const unsigned char	*buf;
	size_t			 len;
	size_t			 pos;
	int			 fill;		/* second pass */
	size_t			 nodes;		/* first pass: arguments */
	size_t			 files;		/* files seen, in order */
	struct imap_arg		*arena;		/* second pass */
	size_t			 anext;
	size_t			 acap;
	char			*str;		/* second pass: string room */
	size_t			 strleft;
	const char		*err;
};

static int	 parse_elems(struct parser *, int, struct imap_arg *, size_t,
		    size_t *);
static int	 parse_elem(struct parser *, int, struct imap_arg *);
static int	 parse_atom(struct parser *, struct imap_arg *);
static int	 parse_quoted(struct parser *, struct imap_arg *);
static int	 parse_literal(struct parser *, struct imap_arg *);
static char	*store(struct parser *, size_t);
static int	 atom_char(unsigned char);
static int	 section_name(const char *, size_t);
static int	 astring_char(unsigned char);
static int	 keyword_char(unsigned char);
static int	 b64_value(unsigned char);
static void	 put_char(char *, size_t, size_t *, char);
static void	 put_utf8(char *, size_t, size_t *, uint32_t);
static int	 utf8_next(const unsigned char *, uint32_t *);
static int	 utf8_valid(const unsigned char *, size_t);
static int64_t	 days_from_civil(int64_t, int, int);
static int	 month_days(int64_t, int);
static int	 parse_month(const char *);
static int	 parse_digits(const char *, int, int *);
static void	 put_decimal(char *, int, int64_t);
static int	 parse_day(const char *, int, int64_t *, const char **);
static int	 keyword_add(char *, size_t, size_t *, const char *, size_t);

static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Modified base64 (RFC 3501 5.1.3): "," takes the place of "/". */
static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/*
 * The lenient atom of imap.h: every octet but SP, CTL, "(", ")", "{"
 * and '"'.  "[" is handled by the caller.
 */
static int
atom_char(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return (0);
	return (c != '(' && c != ')' && c != '{' && c != '"');
}

/*
 * What may stand before the "[" of a FETCH section (RFC 9051 6.4.5),
 * in any case: only there do spaces and parentheses up to the matching
 * "]" belong to the atom.
 */
static int
section_name(const char *s, size_t len)
{
	static const char *const names[] = {
		"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) &&
		    strncasecmp(s, names[i], len) == 0)
			return (1);
	return (0);
}

/* ASTRING-CHAR (RFC 9051 9): ATOM-CHAR and "]", 7-bit only. */
static int
astring_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return (0);
	return (strchr("(){%*\"\\", c) == NULL);
}

/* A keyword is an atom; "[" and "]" are refused as well. */
static int
keyword_char(unsigned char c)
{
	return (astring_char(c) && c != ']' && c != '[');
}

/*
 * Room for a string of len octets and its NUL in the second pass.  The
 * first pass bounded the total, so running out is a bug, reported as an
 * error rather than an overflow.
 */
static char *
store(struct parser *p, size_t len)
{
	char	*s;

	if (p->strleft < len + 1) {
		p->err = "Internal parser error";
		return (NULL);
	}
	s = p->str;
	p->str += len + 1;
	p->strleft -= len + 1;
	s[len] = '\0';
	return (s);
}

/*
 * The elements of the top level (depth 0) or of a list whose "(" has
 * been read, up to the end or the ")".  With out NULL, only count
 * them (into *np) and move past them.
 */
static int
parse_elems(struct parser *p, int depth, struct imap_arg *out, size_t cap,
    size_t *np)
{
	size_t	 n = 0;

	*np = 0;
	if (depth > 0 && p->pos < p->len && p->buf[p->pos] == ')') {
		p->pos++;
		return (0);
	}
	if (depth == 0 && (p->len == 0 ||
	    (p->len == 1 && p->buf[0] == ' ')))
		return (0);
	for (;;) {
		if (p->pos >= p->len) {
			p->err = "Unbalanced parentheses";
			return (-1);
		}
		if (out != NULL && n >= cap) {
			p->err = "Internal parser error";
			return (-1);
		}
		if (parse_elem(p, depth, out != NULL ? &out[n] : NULL) == -1)
			return (-1);
		n++;
		if (p->pos >= p->len) {
			if (depth > 0) {
				p->err = "Unbalanced parentheses";
				return (-1);
			}
			break;
		}
		if (p->buf[p->pos] == ')') {
			if (depth == 0) {
				p->err = "Unbalanced parentheses";
				return (-1);
			}
			p->pos++;
			break;
		}
		if (p->buf[p->pos] != ' ') {
			p->err = "Missing space between arguments";
			return (-1);
		}
		p->pos++;
		/* One space at the end of the command is forgiven. */
		if (depth == 0 && p->pos == p->len)
			break;
	}
	*np = n;
	return (0);
}

static int
parse_elem(struct parser *p, int depth, struct imap_arg *a)
{
	struct imap_arg	*kids;
	size_t		 save, savef, n, m;
	unsigned char	 c;

	if (!p->fill && ++p->nodes > IMAP_ARGS_MAX) {
		p->err = "Too many arguments";
		return (-1);
	}
	if (a != NULL) {
		memset(a, 0, sizeof(*a));
		a->fd = -1;
	}
	c = p->buf[p->pos];
	switch (c) {
	case '(':
		if (depth >= IMAP_NEST_MAX) {
			p->err = "Too deeply nested parentheses";
			return (-1);
		}
		p->pos++;
		if (a == NULL)
			return (parse_elems(p, depth + 1, NULL, 0, &n));
		/*
		 * Count the elements first: they must be contiguous.  The
		 * count walks the literals too: both walks must see the
		 * same files.
		 */
		save = p->pos;
		savef = p->files;
		if (parse_elems(p, depth + 1, NULL, 0, &n) == -1)
			return (-1);
		p->pos = save;
		p->files = savef;
		if (n > p->acap - p->anext) {
			p->err = "Internal parser error";
			return (-1);
		}
		kids = n > 0 ? &p->arena[p->anext] : NULL;
		p->anext += n;
		if (parse_elems(p, depth + 1, kids, n, &m) == -1)
			return (-1);
		if (m != n) {
			p->err = "Internal parser error";
			return (-1);
		}
		a->type = IMAP_ARG_LIST;
		a->list = kids;
		a->nlist = n;
		return (0);
	case ')':
		p->err = depth == 0 ? "Unbalanced parentheses" :
		    "Unexpected space before )";
		return (-1);
	case ' ':
		p->err = "Unexpected space";
		return (-1);
	case '"':
		return (parse_quoted(p, a));
	case '{':
		return (parse_literal(p, a));
	case '~':
		if (p->pos + 1 < p->len && p->buf[p->pos + 1] == '{')
			return (parse_literal(p, a));
		return (parse_atom(p, a));
	default:
		return (parse_atom(p, a));
	}
}

static int
parse_atom(struct parser *p, struct imap_arg *a)
{
	size_t		 start = p->pos, depth;
	unsigned char	 c;
	char		*s;

	while (p->pos < p->len) {
		c = p->buf[p->pos];
		if (c == '[' &&
		    section_name((const char *)p->buf + start, p->pos - start)) {
			/*
			 * "BODY[HEADER.FIELDS (From To)]": up to the
			 * matching "]" everything but a CTL belongs to the
			 * atom.  A "[" never closed makes the command bad
			 * (rather than guessing where the atom ends).
			 * Elsewhere "[" is an ATOM-CHAR like any other
			 * (RFC 9051 9): "abc[def" is a mailbox name.
			 */
			depth = 0;
			for (;;) {
				if (p->pos >= p->len) {
					p->err = "Unbalanced brackets";
					return (-1);
				}
				c = p->buf[p->pos];
				if (c < 0x20 || c == 0x7f) {
					p->err = "Unbalanced brackets";
					return (-1);
				}
				p->pos++;
				if (c == '[')
					depth++;
				else if (c == ']' && --depth == 0)
					break;
			}
			continue;
		}
		if (!atom_char(c))
			break;
		p->pos++;
	}
	if (p->pos == start) {
		p->err = "Invalid character in command";
		return (-1);
	}
	if (a == NULL)
		return (0);
	a->len = p->pos - start;
	if ((s = store(p, a->len)) == NULL)
		return (-1);
	memcpy(s, p->buf + start, a->len);
	a->str = s;
	a->type = a->len == 3 && strncasecmp(s, "NIL", 3) == 0 ?
	    IMAP_ARG_NIL : IMAP_ARG_ATOM;
	return (0);
}

/* RFC 9051 quoted: only \\ and \" are escapes; no CR, LF or NUL. */
static int
parse_quoted(struct parser *p, struct imap_arg *a)
{
	size_t		 start, n = 0;
	unsigned char	 c;
	char		*s;

	start = ++p->pos;
	for (;;) {
		if (p->pos >= p->len)
			goto bad;
		c = p->buf[p->pos];
		if (c == '"')
			break;
		if (c == '\r' || c == '\n' || c == '\0')
			goto bad;
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				goto bad;
			c = p->buf[p->pos + 1];
			if (c != '\\' && c != '"')
				goto bad;
			p->pos++;
		}
		p->pos++;
		n++;
	}
	p->pos++;	/* the closing quote */
	if (a == NULL)
		return (0);
	if ((s = store(p, n)) == NULL)
		return (-1);
	a->type = IMAP_ARG_QUOTED;
	a->str = s;
	a->len = n;
	for (n = start; p->buf[n] != '"'; n++) {
		if (p->buf[n] == '\\')
			n++;
		*s++ = p->buf[n];
	}
	return (0);
 bad:
	p->err = "Invalid quoted string";
	return (-1);
}

/*
 * "{n}", "{n+}", "~{n}" or "~{n+}", CRLF, then n octets; or, for a
 * literal the assembler kept in the spool, nothing after the CRLF.
 */
static int
parse_literal(struct parser *p, struct imap_arg *a)
{
	const struct imap_file	*f = NULL;
	size_t			 start = p->pos, brace, n = 0;
	int			 binary = 0, digits = 0;
	unsigned char		 c;
	char			*s;

	if (p->buf[p->pos] == '~') {
		binary = 1;
		p->pos++;
	}
	brace = p->pos++;
	while (p->pos < p->len && p->buf[p->pos] >= '0' &&
	    p->buf[p->pos] <= '9') {
		c = p->buf[p->pos++] - '0';
		if (n > (SIZE_MAX - c) / 10)
			goto bad;
		n = n * 10 + c;
		digits++;
	}
	if (digits == 0)
		goto bad;
	if (p->pos < p->len && p->buf[p->pos] == '+')
		p->pos++;
	if (p->len - p->pos < 3 || p->buf[p->pos] != '}' ||
	    p->buf[p->pos + 1] != '\r' || p->buf[p->pos + 2] != '\n')
		goto bad;
	p->pos += 3;

	/* The spool's literals come in the order of the buffer. */
	if (p->files < p->cmd->nfiles &&
	    (p->cmd->files[p->files].off == start ||
	    p->cmd->files[p->files].off == brace)) {
		f = &p->cmd->files[p->files++];
		if (f->len != n)
			goto bad;
		if (a != NULL) {
			a->type = IMAP_ARG_FILE;
			a->binary = binary;
			a->fd = p->cmd->spool;
			a->fdoff = f->foff;
			a->fdlen = f->len;
		}
		return (0);
	}
	if (n > p->len - p->pos)
		goto bad;
	if (a != NULL) {
		if ((s = store(p, n)) == NULL)
			return (-1);
		memcpy(s, p->buf + p->pos, n);
		a->type = IMAP_ARG_LITERAL;
		a->binary = binary;
		a->str = s;
		a->len = n;
	}
	p->pos += n;
	return (0);
 bad:
	p->err = "Invalid literal";
	return (-1);
}

int
imap_parse(const struct imap_cmd *cmd, struct imap_arg **args,
    size_t *nargs, const char **err)
{
	struct parser	 p;
	struct imap_arg	*arena;
	char		*hdr;
	size_t		 ntop, m, size;

	*args = NULL;
	*nargs = 0;
	memset(&p, 0, sizeof(p));
	p.cmd = cmd;
	p.buf = (const unsigned char *)cmd->buf;
	p.len = cmd->buf != NULL ? cmd->len : 0;

	/* First pass: the grammar, and how many arguments. */
	if (parse_elems(&p, 0, NULL, 0, &ntop) == -1)
		goto fail;
	if (p.files != cmd->nfiles) {
		p.err = "Invalid literal";
		goto fail;
	}
	if (ntop == 0)
		return (0);

	/* Strings are no longer than their text in the buffer. */
	if (p.len > SIZE_MAX / 2) {
		p.err = "Command too long";
		goto fail;
	}
	size = p.nodes * sizeof(struct imap_arg) + p.len + p.nodes;
	/* Its size goes in front, for imap_args_free() to wipe it. */
	if ((hdr = malloc(ARENA_HDR + size)) == NULL) {
		p.err = "Out of memory";
		goto fail;
	}
	*(size_t *)hdr = ARENA_HDR + size;
	arena = (struct imap_arg *)(hdr + ARENA_HDR);
	p.fill = 1;
	p.pos = 0;
	p.files = 0;
	p.arena = arena;
	p.acap = p.nodes;
	p.anext = ntop;
	p.str = (char *)(arena + p.nodes);
	p.strleft = p.len + p.nodes;
	if (parse_elems(&p, 0, arena, ntop, &m) == -1 || m != ntop) {
		if (p.err == NULL)
			p.err = "Internal parser error";
		imap_args_free(arena);
		goto fail;
	}
	*args = arena;
	*nargs = ntop;
	return (0);
 fail:
	if (err != NULL)
		*err = p.err;
	return (-1);
}

void
imap_args_free(struct imap_arg *args)
{
	char	*hdr;

	if (args == NULL)
		return;
	/* Arguments hold passwords and messages. */
	hdr = (char *)args - ARENA_HDR;
	explicit_bzero(hdr, *(size_t *)hdr);
	free(hdr);
}

const char *
imap_arg_string(const struct imap_arg *a)
{
	if (a == NULL)
		return (NULL);
	if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_QUOTED &&
	    a->type != IMAP_ARG_LITERAL)
		return (NULL);
	if (memchr(a->str, '\0', a->len) != NULL)
		return (NULL);
	return (a->str);
}

const char *
imap_arg_astring(const struct imap_arg *a)
{
	size_t	 i;

	if (a == NULL)
		return (NULL);
	/* As an astring, the atom NIL is the name "NIL" (RFC 9051 9). */
	if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL) {
		for (i = 0; i < a->len; i++)
			if (!astring_char((unsigned char)a->str[i]))
				return (NULL);
		return (a->str);
	}
	return (imap_arg_string(a));
}

int
imap_arg_is(const struct imap_arg *a, const char *word)
{
	if (a == NULL || word == NULL ||
	    (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL))
		return (0);
	return (a->len == strlen(word) &&
	    strncasecmp(a->str, word, a->len) == 0);
}

int
imap_arg_number64(const struct imap_arg *a, uint64_t *v)
{
	uint64_t	 n = 0;
	size_t		 i;
	unsigned int	 d;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->len == 0)
		return (-1);
	for (i = 0; i < a->len; i++) {
		if (a->str[i] < '0' || a->str[i] > '9')
			return (-1);
		d = a->str[i] - '0';
		/* number64 is a 63-bit unsigned integer (RFC 9051 9). */
		if (n > ((uint64_t)INT64_MAX - d) / 10)
			return (-1);
		n = n * 10 + d;
	}
	*v = n;
	return (0);
}

int
imap_arg_number(const struct imap_arg *a, uint32_t *v)
{
	uint64_t	 n;

	if (imap_arg_number64(a, &n) == -1 || n > UINT32_MAX)
		return (-1);
	*v = (uint32_t)n;
	return (0);
}

/*
 * sequence-set (RFC 9051 9): nz-number has no leading zero; "*" is the
 * largest number in use, which sorts last whatever it turns out to be.
 */
int
imap_seqset_parse(const char *s, struct imap_seqset *set)
{
	uint32_t	 v[2], t;
	uint64_t	 n;
	int		 i, star[2], ts;

	if (s == NULL || set == NULL)
		return (-1);
	set->n = 0;
	for (;;) {
		for (i = 0; i < 2; i++) {
			star[i] = 0;
			if (*s == '*') {
				v[i] = UINT32_MAX;
				star[i] = 1;
				s++;
			} else {
				if (*s < '1' || *s > '9')
					return (-1);
				for (n = 0; *s >= '0' && *s <= '9'; s++) {
					n = n * 10 + (uint64_t)(*s - '0');
					if (n > UINT32_MAX)
						return (-1);
				}
				v[i] = (uint32_t)n;
			}
			if (i == 0) {
				if (*s != ':') {
					v[1] = v[0];
					star[1] = star[0];
					break;
				}
				s++;
			}
		}
		/* "*" sorts last, after 4294967295 too. */
		if (v[0] > v[1] || (v[0] == v[1] && star[0] && !star[1])) {
			t = v[0];
			v[0] = v[1];
			v[1] = t;
			ts = star[0];
			star[0] = star[1];
			star[1] = ts;
		}
		if (set->n >= IMAP_SEQSET_MAX)
			return (-1);
		set->r[set->n].first = v[0];
		set->r[set->n].last = v[1];
		set->star[set->n] = (star[0] ? IMAP_SEQ_STAR_FIRST : 0) |
		    (star[1] ? IMAP_SEQ_STAR_LAST : 0);
		set->n++;
		if (*s == '\0')
			return (0);
		if (*s != ',')
			return (-1);
		s++;
	}
}

/*
 * The bounds of range i once "*" is known to be star, in order: "5:*"
 * with star 3 is 3..5, while "5:4294967295" stays 5..4294967295.
 */
void
imap_seqset_range(const struct imap_seqset *set, size_t i, uint32_t star,
    uint32_t *firstp, uint32_t *lastp)
{
	uint32_t	 a, b;

	a = (set->star[i] & IMAP_SEQ_STAR_FIRST) ? star : set->r[i].first;
	b = (set->star[i] & IMAP_SEQ_STAR_LAST) ? star : set->r[i].last;
	*firstp = a < b ? a : b;
	*lastp = a < b ? b : a;
}

void
imap_seqset_write(const uint32_t *v, size_t n, imap_out_fn out, void *arg)
{
	char	 buf[32];
	size_t	 i, j;
	int	 len;

	for (i = 0; i < n; i = j) {
		/* The run v[i] .. v[j - 1] of consecutive numbers. */
		for (j = i + 1; j < n && v[j - 1] != UINT32_MAX &&
		    v[j] == v[j - 1] + 1; j++)
			;
		if (j - 1 == i)
			len = snprintf(buf, sizeof(buf), "%s%u",
			    i > 0 ? "," : "", v[i]);
		else
			len = snprintf(buf, sizeof(buf), "%s%u:%u",
			    i > 0 ? "," : "", v[i], v[j - 1]);
		if (len > 0 && (size_t)len < sizeof(buf))
			out(arg, buf, (size_t)len);
	}
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '+')
		return (62);
	if (c == ',')
		return (63);
	return (-1);
}

/* Append a code point as UTF-8; *np counts what would be written. */
static void
put_utf8(char *out, size_t size, size_t *np, uint32_t cp)
{
	unsigned char	 b[4];
	size_t		 n, i;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	for (i = 0; i < n; i++, (*np)++)
		if (*np < size)
			out[*np] = b[i];
}

static void
put_char(char *out, size_t size, size_t *np, char c)
{
	if (*np < size)
		out[*np] = c;
	(*np)++;
}

/*
 * Decode only the canonical form, the one imap_utf7_encode() writes,
 * so that one name has one spelling: no printable ASCII in base64, no
 * two shifted runs back to back, no spare base64 character or nonzero
 * padding bits.
 */
int
imap_utf7_decode(const char *in, char *out, size_t size)
{
	const unsigned char	*s = (const unsigned char *)in;
	uint32_t		 bits, nbits, u, hi;
	size_t			 n = 0, units;
	int			 v, shifted = 0;

	if (in == NULL || out == NULL || size == 0)
		return (-1);
	while (*s != '\0') {
		if (*s < 0x20 || *s > 0x7e)
			return (-1);
		if (*s != '&') {
			put_char(out, size, &n, *s++);
			shifted = 0;
			continue;
		}
		if (*++s == '-') {
			put_char(out, size, &n, '&');
			s++;
			shifted = 0;
			continue;
		}
		if (shifted)
			return (-1);
		bits = nbits = hi = 0;
		units = 0;
		while ((v = b64_value(*s)) != -1) {
			s++;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			u = (bits >> nbits) & 0xffff;
			bits &= (1U << nbits) - 1;
			units++;
			if (hi != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					return (-1);
				put_utf8(out, size, &n, 0x10000 +
				    ((hi - 0xd800) << 10) + (u - 0xdc00));
				hi = 0;
			} else if (u >= 0xd800 && u <= 0xdbff)
				hi = u;
			else if (u >= 0xdc00 && u <= 0xdfff)
				return (-1);
			else if (u == 0 || (u >= 0x20 && u <= 0x7e))
				return (-1);
			else
				put_utf8(out, size, &n, u);
		}
		if (*s != '-' || units == 0 || hi != 0 || nbits >= 6 ||
		    bits != 0)
			return (-1);
		s++;
		shifted = 1;
	}
	if (n >= size)
		return (-1);
	out[n] = '\0';
	return (0);
}

/*
 * One UTF-8 sequence: its length, or -1 if it is not the shortest form
 * of a scalar value.  Never reads past a NUL.
 */
static int
utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t	 c, min;
	int		 n, i;

	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return (1);
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return (-1);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (-1);
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (-1);
	*cp = c;
	return (n);
}

int
imap_utf7_encode(const char *in, char *out, size_t size)
{
	const unsigned char	*s = (const unsigned char *)in;
	uint32_t		 cp, bits, nbits, u[2];
	size_t			 n = 0;
	int			 len, nu, i;

	if (in == NULL || out == NULL || size == 0)
		return (-1);
	while (*s != '\0') {
		if (*s >= 0x20 && *s <= 0x7e) {
			put_char(out, size, &n, *s);
			if (*s == '&')
				put_char(out, size, &n, '-');
			s++;
			continue;
		}
		/* All that is not printable ASCII, in one shifted run. */
		put_char(out, size, &n, '&');
		bits = nbits = 0;
		while (*s != '\0' && (*s < 0x20 || *s > 0x7e)) {
			if ((len = utf8_next(s, &cp)) == -1)
				return (-1);
			s += len;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				u[0] = 0xd800 + (cp >> 10);
				u[1] = 0xdc00 + (cp & 0x3ff);
				nu = 2;
			} else {
				u[0] = cp;
				nu = 1;
			}
			for (i = 0; i < nu; i++) {
				bits = (bits << 16) | u[i];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					put_char(out, size, &n,
					    b64_chars[(bits >> nbits) & 0x3f]);
				}
				bits &= (1U << nbits) - 1;
			}
		}
		if (nbits > 0)
			put_char(out, size, &n,
			    b64_chars[(bits << (6 - nbits)) & 0x3f]);
		put_char(out, size, &n, '-');
	}
	if (n >= size)
		return (-1);
	out[n] = '\0';
	return (0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	/* Count years from March, so that February's day is the last. */
	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static int
month_days(int64_t y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return (29);
	return (days[m - 1]);
}

/* "Jan" .. "Dec" in any case: 1 .. 12, or -1. */
static int
parse_month(const char *s)
{
	int	 i;

	for (i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return (i + 1);
	return (-1);
}

/* Exactly n digits. */
static int
parse_digits(const char *s, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		*v = *v * 10 + (s[i] - '0');
	}
	return (0);
}

/*
 * "d-Mon-yyyy" or "dd-Mon-yyyy", then whatever follows in *end.  The
 * day may be "dd", "d" or, with sp, " d" (date-day-fixed).
 */
static int
parse_day(const char *s, int sp, int64_t *days, const char **end)
{
	int	 d, m, y, lead = 0;

	if (sp && s[0] == ' ') {
		lead = 1;
		s++;
	}
	if (parse_digits(s, 1, &d) == -1)
		return (-1);
	s++;
	if (!lead && s[0] >= '0' && s[0] <= '9') {
		d = d * 10 + (s[0] - '0');
		s++;
	}
	if (s[0] != '-' || (m = parse_month(s + 1)) == -1 || s[4] != '-')
		return (-1);
	s += 5;
	if (parse_digits(s, 4, &y) == -1)
		return (-1);
	if (d < 1 || d > month_days(y, m))
		return (-1);
	*days = days_from_civil(y, m, d);
	*end = s + 4;
	return (0);
}

int
imap_parse_date(const char *s, int64_t *t)
{
	const char	*end;
	int64_t		 days;

	if (s == NULL || parse_day(s, 0, &days, &end) == -1 ||
	    *end != '\0')
		return (-1);
	*t = days * 86400;
	return (0);
}

int
imap_parse_datetime(const char *s, int64_t *t)
{
	const char	*p;
	int64_t		 days;
	int		 hh, mm, ss, zh, zm, sign;

	if (s == NULL || parse_day(s, 1, &days, &p) == -1)
		return (-1);
	/* Day-fixed: " d" or "dd" (a bare "d" is taken too). */
	if (p[0] != ' ' || parse_digits(p + 1, 2, &hh) == -1 ||
	    p[3] != ':' || parse_digits(p + 4, 2, &mm) == -1 ||
	    p[6] != ':' || parse_digits(p + 7, 2, &ss) == -1 ||
	    p[9] != ' ' || (p[10] != '+' && p[10] != '-') ||
	    parse_digits(p + 11, 2, &zh) == -1 ||
	    parse_digits(p + 13, 2, &zm) == -1 || p[15] != '\0')
		return (-1);
	/* A leap second (:60) counts as the next second. */
	if (hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
		return (-1);
	sign = p[10] == '-' ? -1 : 1;
	*t = days * 86400 + hh * 3600 + mm * 60 + ss -
	    sign * (zh * 3600 + zm * 60);
	return (0);
}

/* v in exactly n digits, with leading zeros. */
static void
put_decimal(char *s, int n, int64_t v)
{
	while (n-- > 0) {
		s[n] = '0' + v % 10;
		v /= 10;
	}
}

void
imap_format_datetime(int64_t t, char buf[IMAP_DATETIME_LEN])
{
	int64_t	 days, secs, z, era, doe, yoe, y, doy, mp, d, m;

	/* INTERNALDATE has four-digit years; nonsense shows as the epoch. */
	if (t < 0 || t > DATETIME_MAX)
		t = 0;
	days = t / 86400;
	secs = t % 86400;
	/* The inverse of days_from_civil(), for days >= 0. */
	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	if (m <= 2)
		y++;
	/* "dd-Mon-yyyy hh:mm:ss +0000", every field of fixed width. */
	memcpy(buf, "00-Mon-0000 00:00:00 +0000", IMAP_DATETIME_LEN);
	put_decimal(buf, 2, d);
	memcpy(buf + 3, months[m - 1], 3);
	put_decimal(buf + 7, 4, y);
	put_decimal(buf + 12, 2, secs / 3600);
	put_decimal(buf + 15, 2, secs / 60 % 60);
	put_decimal(buf + 18, 2, secs % 60);
}

/*
 * Whether s is valid UTF-8 (a quoted string in IMAP4rev2 must be;
 * anything else goes out as a literal).  s may hold NULs, which the
 * caller has already refused, so sequences end inside s.
 */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	unsigned char	 b[4];
	uint32_t	 cp;
	size_t		 i, k;
	int		 n;

	for (i = 0; i < len; i += n) {
		if (s[i] < 0x80) {
			n = 1;
			continue;
		}
		/* Copy at most 4 octets, NUL-padded, for utf8_next(). */
		memset(b, 0, sizeof(b));
		for (k = 0; k < 4 && i + k < len; k++)
			b[k] = s[i + k];
		if ((n = utf8_next(b, &cp)) == -1)
			return (0);
	}
	return (1);
}

void
imap_write_string(const char *str, size_t len, int utf8, imap_out_fn out,
    void *arg)
{
	const unsigned char	*s = (const unsigned char *)str;
	char			 hdr[32];
	size_t			 i, from;
	int			 quoted = len <= QUOTED_MAX, eight = 0, n;

	if (s == NULL)
		len = 0;
	for (i = 0; quoted && i < len; i++) {
		if (s[i] >= 0x80 && utf8)
			eight = 1;
		else if (s[i] < 0x20 || s[i] > 0x7e)
			quoted = 0;
	}
	if (quoted && eight && !utf8_valid(s, len))
		quoted = 0;
	if (quoted) {
		out(arg, "\"", 1);
		for (i = from = 0; i < len; i++) {
			if (s[i] != '"' && s[i] != '\\')
				continue;
			if (i > from)
				out(arg, s + from, i - from);
			out(arg, "\\", 1);
			from = i;
		}
		if (len > from)
			out(arg, s + from, len - from);
		out(arg, "\"", 1);
		return;
	}
	n = snprintf(hdr, sizeof(hdr), "{%zu}\r\n", len);
	if (n > 0 && (size_t)n < sizeof(hdr))
		out(arg, hdr, (size_t)n);
	if (len > 0)
		out(arg, s, len);
}

void
imap_flags_write(uint32_t flags, const char *keywords, imap_out_fn out,
    void *arg)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} sys[] = {
		{ MAILFLAG_SEEN,	"\\Seen" },
		{ MAILFLAG_ANSWERED,	"\\Answered" },
		{ MAILFLAG_FLAGGED,	"\\Flagged" },
		{ MAILFLAG_DELETED,	"\\Deleted" },
		{ MAILFLAG_DRAFT,	"\\Draft" },
	};
	const char	*k, *e;
	size_t		 i;
	int		 first = 1;

	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		if ((flags & sys[i].bit) == 0)
			continue;
		if (!first)
			out(arg, " ", 1);
		out(arg, sys[i].name, strlen(sys[i].name));
		first = 0;
	}
	if (keywords == NULL)
		return;
	/* One space between keywords, whatever the stored list holds. */
	for (k = keywords; *k != '\0'; k = e) {
		if (*k == ' ') {
			e = k + 1;
			continue;
		}
		for (e = k; *e != '\0' && *e != ' '; e++)
			;
		if (!first)
			out(arg, " ", 1);
		out(arg, k, (size_t)(e - k));
		first = 0;
	}
}

/* Add a keyword to buf (used octets in *used) unless it is there. */
static int
keyword_add(char *buf, size_t size, size_t *used, const char *kw,
    size_t len)
{
	const char	*k, *e;

	for (k = buf; k < buf + *used; k = e + 1) {
		if ((e = memchr(k, ' ', (size_t)(buf + *used - k))) == NULL)
			e = buf + *used;
		if ((size_t)(e - k) == len && strncasecmp(k, kw, len) == 0)
			return (0);
	}
	/* The keyword, a space before it unless first, and the NUL. */
	if (size - *used < len + (*used > 0) + 1)
		return (-1);
	if (*used > 0)
		buf[(*used)++] = ' ';
	memcpy(buf + *used, kw, len);
	*used += len;
	buf[*used] = '\0';
	return (0);
}

int
imap_flags_parse(const struct imap_arg *arg, uint32_t *flags, char *kwbuf,
    size_t kwsize)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} sys[] = {
		{ MAILFLAG_SEEN,	"\\Seen" },
		{ MAILFLAG_ANSWERED,	"\\Answered" },
		{ MAILFLAG_FLAGGED,	"\\Flagged" },
		{ MAILFLAG_DELETED,	"\\Deleted" },
		{ MAILFLAG_DRAFT,	"\\Draft" },
		{ 0,			"\\Recent" },
	};
	const struct imap_arg	*a;
	size_t			 n, i, j, used = 0;

	if (arg == NULL || flags == NULL)
		return (-1);
	*flags = 0;
	if (kwbuf != NULL && kwsize > 0)
		kwbuf[0] = '\0';
	if (arg->type == IMAP_ARG_LIST) {
		a = arg->list;
		n = arg->nlist;
	} else {
		a = arg;
		n = 1;
	}
	for (i = 0; i < n; i++, a++) {
		/* A flag is an atom; the atom NIL is a keyword like any. */
		if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL)
			return (-1);
		if (a->str[0] == '\\') {
			for (j = 0; j < sizeof(sys) / sizeof(sys[0]); j++)
				if (strcasecmp(a->str, sys[j].name) == 0)
					break;
			if (j == sizeof(sys) / sizeof(sys[0]))
				return (-1);
			*flags |= sys[j].bit;
			continue;
		}
		if (a->len == 0 || a->len > KEYWORD_MAX)
			return (-1);
		for (j = 0; j < a->len; j++)
			if (!keyword_char((unsigned char)a->str[j]))
				return (-1);
		if (kwbuf == NULL ||
		    keyword_add(kwbuf, kwsize, &used, a->str, a->len) == -1)
			return (-1);
	}
	return (0);
}
