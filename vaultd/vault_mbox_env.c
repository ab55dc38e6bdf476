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
 * SEARCH keys that RFC 3501 6.4.4 defines on the envelope rather than
 * on the header as written: SENT* compare the date as written,
 * disregarding time and timezone, and FROM, TO, CC and BCC the
 * envelope's addresses.  The front computed the envelope at delivery
 * (content.envelope, IMAP syntax); these SQL functions read it, so
 * that every stored message, old ones included, is searched alike.
 * vaultd still parses no mail: only this text of our own making.
 *
 *	tresor_sentday(envelope, sentdate)
 *		the day of the Date: as written, as the time of its
 *		00:00 UTC.  sentdate (UTC, the front's mime_date()) gives
 *		the day within one; the day of the month as written picks
 *		which of the three (a zone is less than a day away).
 *	tresor_addr(envelope, field, string)
 *		1 if string is in (ASCII case-insensitive) the name or
 *		the mailbox@host of an address of envelope field field
 *		(2 From, 5 To, 6 Cc, 7 Bcc).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "vault_mbox_db.h"

#define DAY		86400
#define ENV_FIELDS	10		/* RFC 9051 7.5.2 ENVELOPE */
#define ENV_DEPTH	8		/* deeper is not an envelope */
#define CMT_DEPTH	16		/* nested comments in a date */

enum {
	ET_BAD = -1,
	ET_END,
	ET_OPEN,
	ET_CLOSE,
	ET_NIL,
	ET_STR
};

struct envtok {
	const char	*p;
	size_t		 n;
	int		 quoted;	/* backslash escapes inside */
};

static int	 env_tok(const char *, size_t, size_t *, struct envtok *);
static int	 env_skip(const char *, size_t, size_t *, int);
static int	 env_field(const char *, size_t, size_t *, int);
static size_t	 env_str(const struct envtok *, char *, size_t);
static int	 env_addr_match(const char *, size_t, size_t *, const char *,
		    char *, size_t);
static int	 has_substr(const char *, size_t, const char *, size_t);
static int	 written_mday(const char *, size_t);

/* The next token of an envelope: ( ) NIL "quoted" or {n} literal. */
static int
env_tok(const char *s, size_t n, size_t *ip, struct envtok *t)
{
	size_t	 i = *ip, len = 0;

	while (i < n && s[i] == ' ')
		i++;
	if (i >= n)
		return (ET_END);
	memset(t, 0, sizeof(*t));
	switch (s[i]) {
	case '(':
		*ip = i + 1;
		return (ET_OPEN);
	case ')':
		*ip = i + 1;
		return (ET_CLOSE);
	case 'N':
		if (n - i < 3 || strncmp(s + i, "NIL", 3) != 0)
			return (ET_BAD);
		*ip = i + 3;
		return (ET_NIL);
	case '"':
		t->p = s + ++i;
		t->quoted = 1;
		while (i < n && s[i] != '"')
			i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
		if (i >= n)
			return (ET_BAD);
		t->n = (size_t)(s + i - t->p);
		*ip = i + 1;
		return (ET_STR);
	case '{':
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (len > n)
				return (ET_BAD);
			len = len * 10 + (size_t)(s[i] - '0');
		}
		if (n - i < 3 || memcmp(s + i, "}\r\n", 3) != 0 ||
		    len > n - i - 3)
			return (ET_BAD);
		t->p = s + i + 3;
		t->n = len;
		*ip = i + 3 + len;
		return (ET_STR);
	default:
		return (ET_BAD);
	}
}

/* Skip one item whose first token was tok: a string, NIL or a list. */
static int
env_skip(const char *s, size_t n, size_t *ip, int tok)
{
	struct envtok	 t;
	int		 depth;

	if (tok == ET_STR || tok == ET_NIL)
		return (0);
	if (tok != ET_OPEN)
		return (-1);
	/* Every token moves on: the loop ends within n tokens. */
	for (depth = 1; depth > 0;) {
		switch (env_tok(s, n, ip, &t)) {
		case ET_OPEN:
			if (++depth > ENV_DEPTH)
				return (-1);
			break;
		case ET_CLOSE:
			depth--;
			break;
		case ET_STR:
		case ET_NIL:
			break;
		default:
			return (-1);
		}
	}
	return (0);
}

/* Position *ip at envelope field k; its first token is returned. */
static int
env_field(const char *s, size_t n, size_t *ip, int k)
{
	struct envtok	 t;
	size_t		 save;
	int		 i, tok;

	*ip = 0;
	if (k < 0 || k >= ENV_FIELDS || env_tok(s, n, ip, &t) != ET_OPEN)
		return (ET_BAD);
	for (i = 0; i < k; i++)
		if (env_skip(s, n, ip, env_tok(s, n, ip, &t)) == -1)
			return (ET_BAD);
	save = *ip;
	tok = env_tok(s, n, ip, &t);
	*ip = save;
	return (tok);
}

/* A string token's text, unescaped, into buf (NUL-terminated). */
static size_t
env_str(const struct envtok *t, char *buf, size_t size)
{
	size_t	 i, k = 0;

	for (i = 0; i < t->n && k + 1 < size; i++) {
		if (t->quoted && t->p[i] == '\\' && i + 1 < t->n)
			i++;
		buf[k++] = t->p[i];
	}
	buf[k] = '\0';
	return (k);
}

static int
has_substr(const char *h, size_t hl, const char *nd, size_t nl)
{
	size_t	 i;

	if (nl == 0)
		return (1);
	for (i = 0; nl <= hl && i <= hl - nl; i++)
		if (strncasecmp(h + i, nd, nl) == 0)
			return (1);
	return (0);
}

/*
 * The address at *ip (after its "("): does nd match its name or its
 * mailbox@host?  buf (size at least the envelope's length + 2) is
 * scratch space.  -1 if the envelope is malformed.
 */
static int
env_addr_match(const char *s, size_t n, size_t *ip, const char *nd,
    char *buf, size_t size)
{
	struct envtok	 t[4], end;
	size_t		 k, len;
	int		 i, tok;

	/* (name adl mailbox host) */
	for (i = 0; i < 4; i++) {
		tok = env_tok(s, n, ip, &t[i]);
		if (tok == ET_NIL)
			t[i].p = NULL;
		else if (tok != ET_STR)
			return (-1);
	}
	if (env_tok(s, n, ip, &end) != ET_CLOSE)
		return (-1);
	if (t[0].p != NULL) {
		len = env_str(&t[0], buf, size);
		if (has_substr(buf, len, nd, strlen(nd)))
			return (1);
	}
	/* A group's start or end has no host: nothing to match. */
	if (t[2].p == NULL || t[3].p == NULL)
		return (0);
	k = env_str(&t[2], buf, size);
	if (k + 2 < size) {
		buf[k++] = '@';
		k += env_str(&t[3], buf + k, size - k);
	}
	return (has_substr(buf, k, nd, strlen(nd)));
}

/* SQL: tresor_addr(envelope, field, string) -> 0 or 1. */
void
mbox_sql_addr(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct envtok	 t;
	const char	*s, *nd;
	char		*buf;
	size_t		 n, i;
	int		 r = 0, tok;

	if (argc != 3) {
		sqlite3_result_error(ctx, "tresor_addr: arguments", -1);
		return;
	}
	s = (const char *)sqlite3_value_text(argv[0]);
	n = (size_t)sqlite3_value_bytes(argv[0]);
	nd = (const char *)sqlite3_value_text(argv[2]);
	if (s == NULL || nd == NULL ||
	    env_field(s, n, &i, sqlite3_value_int(argv[1])) != ET_OPEN) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	if ((buf = malloc(n + 2)) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	(void)env_tok(s, n, &i, &t);
	/* Each address takes at least one token: bounded by n. */
	while ((tok = env_tok(s, n, &i, &t)) == ET_OPEN)
		if ((r = env_addr_match(s, n, &i, nd, buf, n + 2)) != 0)
			break;
	free(buf);
	sqlite3_result_int(ctx, r == 1);
}

/*
 * The day of the month of a date as written (RFC 5322 3.3, with the
 * obsolete forms mime_date() takes): CFWS, an optional day name and
 * comma, then one or two digits.  0 if there is none.
 */
static int
written_mday(const char *s, size_t n)
{
	size_t	 i = 0;
	int	 depth, d = 0, k;

	for (k = 0; k < 3; k++) {
		/* Comments and white space, before and after a day name. */
		for (;;) {
			while (i < n && (s[i] == ' ' || s[i] == '\t' ||
			    s[i] == '\r' || s[i] == '\n'))
				i++;
			if (i >= n || s[i] != '(')
				break;
			for (depth = 0; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '(' && ++depth > CMT_DEPTH)
					return (0);
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			i++;
		}
		if (k == 0 && i < n && ((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z'))) {
			while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= 'a' && s[i] <= 'z')))
				i++;
		} else if (k == 1 && i < n && s[i] == ',')
			i++;
	}
	for (k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '9'; k++, i++)
		d = d * 10 + (s[i] - '0');
	return (d >= 1 && d <= 31 ? d : 0);
}

/* SQL: tresor_sentday(envelope, sentdate) -> 00:00 UTC of that day. */
void
mbox_sql_sentday(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct envtok	 t;
	struct tm	 tm;
	const char	*s;
	char		 buf[256];
	int64_t		 sent, day, d;
	time_t		 tt;
	size_t		 n, i, len;
	int		 mday = 0;

	if (argc != 2) {
		sqlite3_result_error(ctx, "tresor_sentday: arguments", -1);
		return;
	}
	sent = sqlite3_value_int64(argv[1]);
	day = sent / DAY;
	s = (const char *)sqlite3_value_text(argv[0]);
	n = (size_t)sqlite3_value_bytes(argv[0]);
	if (s != NULL && env_field(s, n, &i, 0) == ET_STR &&
	    env_tok(s, n, &i, &t) == ET_STR) {
		len = env_str(&t, buf, sizeof(buf));
		mday = written_mday(buf, len);
	}
	/* The days of the month of three days in a row all differ. */
	for (d = day - 1; mday != 0 && d <= day + 1; d++) {
		tt = (time_t)(d * DAY);
		if (gmtime_r(&tt, &tm) != NULL && tm.tm_mday == mday) {
			day = d;
			break;
		}
	}
	sqlite3_result_int64(ctx, day * DAY);
}
