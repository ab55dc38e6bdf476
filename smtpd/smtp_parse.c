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
 * The syntax of what SMTP clients name: the EHLO domain and the paths of
 * MAIL and RCPT (RFC 5321 4.1.2, with the UTF-8 of RFC 6531 3.3).  Every
 * byte is checked here, before anything is copied or sent to vaultd.
 */

#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include "smtpd.h"

#define SMTP_LABEL_MAX		63

static size_t	 utf8_seq(const unsigned char *);
static int	 is_atext(int);
static int	 parse_dotstring(const unsigned char **);
static int	 parse_quoted(const unsigned char **);
static int	 parse_literal(const unsigned char **);
static int	 parse_domain(const unsigned char **, int);
static int	 parse_adl(const unsigned char **);

/*
 * The length of the well-formed UTF-8 sequence of two to four octets at
 * p (no overlong forms, no surrogates, nothing past U+10FFFF), or 0.
 * p is NUL-terminated, so a short sequence stops at the NUL.
 */
static size_t
utf8_seq(const unsigned char *p)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return (0);
	if (p[1] < lo || p[1] > hi)
		return (0);
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	return (n);
}

/* RFC 5322 atext. */
static int
is_atext(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL));
}

/* Dot-string = Atom *("." Atom); atext or UTF-8 (RFC 6531 3.3). */
static int
parse_dotstring(const unsigned char **pp)
{
	const unsigned char	*p = *pp;
	size_t			 n, atom = 0;

	for (;;) {
		if (*p >= 0x80) {
			if ((n = utf8_seq(p)) == 0)
				return (-1);
			p += n;
			atom++;
		} else if (is_atext(*p)) {
			p++;
			atom++;
		} else if (*p == '.' && atom > 0) {
			p++;
			atom = 0;
		} else
			break;
	}
	if (atom == 0)
		return (-1);
	*pp = p;
	return (0);
}

/* Quoted-string with qtextSMTP and quoted-pairSMTP (and UTF-8). */
static int
parse_quoted(const unsigned char **pp)
{
	const unsigned char	*p = *pp + 1;
	size_t			 n;

	for (;;) {
		if (*p == '"')
			break;
		if (*p == '\\') {
			if (p[1] < 32 || p[1] > 126)
				return (-1);
			p += 2;
		} else if (*p >= 0x80) {
			if ((n = utf8_seq(p)) == 0)
				return (-1);
			p += n;
		} else if (*p >= 32 && *p <= 126)
			p++;
		else
			return (-1);
	}
	*pp = p + 1;
	return (0);
}

/* address-literal: "[" 1*dcontent "]", dcontent = %d33-90 / %d94-126. */
static int
parse_literal(const unsigned char **pp)
{
	const unsigned char	*p = *pp + 1;

	while (*p != ']') {
		if (*p < 33 || *p > 126 || *p == '[' || *p == '\\')
			return (-1);
		p++;
	}
	if (p == *pp + 1)
		return (-1);
	*pp = p + 1;
	return (0);
}

/*
 * Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str],
 * or an address literal.  UTF-8 counts as letters (U-labels) when utf8
 * is set.  A label is at most 63 octets, the domain at most 255.
 */
static int
parse_domain(const unsigned char **pp, int utf8)
{
	const unsigned char	*p = *pp, *label;
	size_t			 n;

	if (*p == '[') {
		if (parse_literal(&p) == -1)
			return (-1);
	} else {
		for (;;) {
			label = p;
			while (*p != '\0') {
				if ((*p >= 'a' && *p <= 'z') ||
				    (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9') || *p == '-')
					p++;
				else if (*p >= 0x80 && utf8 &&
				    (n = utf8_seq(p)) > 0)
					p += n;
				else
					break;
			}
			if (p == label || *label == '-' || p[-1] == '-' ||
			    p - label > SMTP_LABEL_MAX)
				return (-1);
			if (*p != '.')
				break;
			p++;
		}
	}
	if (p - *pp > SMTP_HELO_MAX)
		return (-1);
	*pp = p;
	return (0);
}

/* A-d-l = At-domain *( "," At-domain ) ":", accepted and ignored. */
static int
parse_adl(const unsigned char **pp)
{
	const unsigned char	*p = *pp;

	for (;;) {
		if (*p++ != '@' || parse_domain(&p, 1) == -1)
			return (-1);
		if (*p == ':')
			break;
		if (*p++ != ',')
			return (-1);
	}
	*pp = p + 1;
	return (0);
}

/*
 * The EHLO or HELO argument: a domain or an address literal, alone.
 * Underscores are allowed in labels: some clients have them in their
 * host names, and refusing them would stop mail for no gain.
 */
int
smtp_helo_valid(const char *arg)
{
	const unsigned char	*p = (const unsigned char *)arg;
	const unsigned char	*label;

	if (*p == '\0' || strlen(arg) > SMTP_HELO_MAX)
		return (0);
	if (*p == '[')
		return (parse_literal(&p) == 0 && *p == '\0');
	for (;;) {
		label = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			p++;
		if (p == label || p - label > SMTP_LABEL_MAX ||
		    *label == '-' || p[-1] == '-')
			return (0);
		if (*p == '\0')
			return (1);
		if (*p != '.')
			return (0);
		/* A final dot (the root) is allowed. */
		if (*++p == '\0')
			return (1);
	}
}

/*
 * A path at *pp, "<" [ A-d-l ":" ] Mailbox ">", or "<>" with
 * SMTP_PATH_NULL, or "<Postmaster>" with SMTP_PATH_POSTMASTER.  The
 * mailbox (local@domain, the source route dropped; "" for the null path,
 * "postmaster" alone) goes to out.  *pp is left after the ">".  -1 if
 * the syntax is wrong or a length limit of RFC 5321 4.5.3.1 is passed.
 */
int
smtp_path(char **pp, char *out, size_t outlen, int flags)
{
	const unsigned char	*start, *p, *local;
	size_t			 n;

	start = p = (const unsigned char *)*pp;
	if (*p++ != '<')
		return (-1);
	if (*p == '>') {
		if (!(flags & SMTP_PATH_NULL) || outlen == 0)
			return (-1);
		out[0] = '\0';
		*pp += 2;
		return (0);
	}
	if (*p == '@' && parse_adl(&p) == -1)
		return (-1);
	local = p;
	if (*p == '"') {
		if (parse_quoted(&p) == -1)
			return (-1);
	} else if (parse_dotstring(&p) == -1)
		return (-1);
	if (p - local > SMTP_LOCAL_MAX)
		return (-1);
	if (*p == '>' && (flags & SMTP_PATH_POSTMASTER) && p - local == 10 &&
	    strncasecmp((const char *)local, "postmaster", 10) == 0) {
		if (strlcpy(out, "postmaster", outlen) >= outlen)
			return (-1);
		*pp = (char *)p + 1;
		return (0);
	}
	if (*p != '@')
		return (-1);
	p++;
	if (parse_domain(&p, 1) == -1)
		return (-1);
	if (*p++ != '>' || p - start > SMTP_PATH_MAX)
		return (-1);
	n = p - 1 - local;
	if (n >= outlen)
		return (-1);
	memcpy(out, local, n);
	out[n] = '\0';
	*pp = (char *)p;
	return (0);
}

int
smtp_nonascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return (1);
	return (0);
}

/* The domain of local@domain ("" when there is none). */
const char *
smtp_domain(const char *address)
{
	const char	*at;

	if ((at = strrchr(address, '@')) == NULL)
		return ("");
	return (at + 1);
}
