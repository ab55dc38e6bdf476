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
 * mbuf: the growing buffer with a ceiling that the MIME code builds its
 * strings in (see mbuf.h).
 */

#include <sys/types.h>

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbuf.h"

static int	 mbuf_grow(struct mbuf *, size_t);

void
mbuf_init(struct mbuf *b, size_t max, int utf8)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->utf8 = utf8;
}

/* Room for need more bytes and a NUL; the capacity stays near max. */
static int
mbuf_grow(struct mbuf *b, size_t need)
{
	size_t	 ncap;
	char	*np;

	if (b->cap - b->len > need)
		return (0);
	ncap = b->cap > 0 ? b->cap : 128;
	while (ncap - b->len <= need) {
		if (ncap > SIZE_MAX / 2) {
			b->oom = 1;
			return (-1);
		}
		ncap *= 2;
	}
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1;
	/* recallocarray wipes the old copy: the buffers hold mail. */
	if ((np = recallocarray(b->p, b->cap, ncap, 1)) == NULL) {
		b->oom = 1;
		return (-1);
	}
	b->p = np;
	b->cap = ncap;
	return (0);
}

void
mbuf_add(struct mbuf *b, const void *v, size_t n)
{
	const unsigned char	*s = v;
	size_t			 take;

	if (b->oom || b->full || n == 0)
		return;
	take = n;
	if (n > b->max - b->len) {
		take = b->max - b->len;
		/* s[take] is the first octet left out. */
		if (b->utf8)
			while (take > 0 && (s[take] & 0xc0) == 0x80)
				take--;
		b->full = 1;
		if (take == 0)
			return;
	}
	if (mbuf_grow(b, take) == -1)
		return;
	memcpy(b->p + b->len, s, take);
	b->len += take;
	b->p[b->len] = '\0';
}

void
mbuf_addc(struct mbuf *b, int c)
{
	unsigned char	 ch = (unsigned char)c;

	mbuf_add(b, &ch, 1);
}

void
mbuf_adds(struct mbuf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

void
mbuf_addnum(struct mbuf *b, uint64_t v)
{
	char	 num[24];
	int	 n;

	n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	if (n > 0 && (size_t)n < sizeof(num))
		mbuf_add(b, num, (size_t)n);
}

/* A code point as UTF-8; anything not a scalar value is U+FFFD. */
void
mbuf_addcp(struct mbuf *b, uint32_t cp)
{
	unsigned char	 u[4];

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		mbuf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		mbuf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		mbuf_add(b, u, 3);
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		mbuf_add(b, u, 4);
	}
}

/* Empty (and wipe) the buffer but keep its memory and its ceiling. */
void
mbuf_reset(struct mbuf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->len);
	b->len = 0;
	b->full = 0;
}

/* Wiped: what went through an mbuf is mail, or parsed from it. */
void
mbuf_free(struct mbuf *b)
{
	freezero(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
}

/*
 * Free what mbuf_take() returned, wiped whole: the allocation may be
 * larger than the string (its capacity, or octets after a NUL).
 */
void
mbuf_strfree(char *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* The content as an allocated string ("" when empty), or NULL. */
char *
mbuf_take(struct mbuf *b, size_t *lenp)
{
	char	*p;

	if (b->oom) {
		mbuf_free(b);
		return (NULL);
	}
	if (b->p == NULL) {
		if ((p = strdup("")) == NULL)
			return (NULL);
		*lenp = 0;
		return (p);
	}
	p = b->p;
	*lenp = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return (p);
}
