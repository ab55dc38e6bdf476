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
 * A client address to its network prefixes and their keys
 * (netprefix.h).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "netprefix.h"

/* Prefix lengths by level: IPv4, IPv6. */
static const unsigned char netprefix_bits[NETPREFIX_LEVELS][2] = {
	[NETPREFIX_NARROW] = { 32, 64 },
	[NETPREFIX_WIDE] = { 24, 48 }
};

static void	 mask(unsigned char *, size_t, unsigned int);

/* Clear every bit of addr past the first bits. */
static void
mask(unsigned char *addr, size_t len, unsigned int bits)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			addr[i] &= (unsigned char)(0xff00 >> bits);
			bits = 0;
		}
	}
}

/*
 * The prefix of sa at a level; -1 if sa is neither IPv4 nor IPv6 or the
 * level is unknown.
 */
int
netprefix_get(const struct sockaddr *sa, int level, struct netprefix *np)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	memset(np, 0, sizeof(*np));
	if (level < 0 || level >= NETPREFIX_LEVELS)
		return (-1);
	np->level = level;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		np->family = 4;
		memcpy(np->addr, &sin->sin_addr, 4);
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			np->family = 4;
			memcpy(np->addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			np->family = 6;
			memcpy(np->addr, &sin6->sin6_addr, 16);
		}
		break;
	default:
		return (-1);
	}
	np->bits = netprefix_bits[level][np->family == 4 ? 0 : 1];
	mask(np->addr, np->family == 4 ? 4 : 16, np->bits);
	return (0);
}

int
netprefix_cmp(const struct netprefix *a, const struct netprefix *b)
{
	if (a->level != b->level)
		return (a->level < b->level ? -1 : 1);
	if (a->family != b->family)
		return (a->family < b->family ? -1 : 1);
	return (memcmp(a->addr, b->addr, sizeof(a->addr)));
}

/*
 * The key of a prefix: its keyed hash while addresses are anonymised,
 * else its text.  The hash covers the level, the family and the length
 * as well as the masked address, so an IPv4 /32 whose last octet is 0
 * and its /24 have different keys.
 */
const char *
netprefix_key(const struct netprefix *np, char *buf, size_t len)
{
	unsigned char	 in[3 + sizeof(np->addr)];
	char		 text[INET6_ADDRSTRLEN];
	size_t		 alen = np->family == 4 ? 4 : 16;

	in[0] = np->level;
	in[1] = np->family;
	in[2] = np->bits;
	memcpy(in + 3, np->addr, alen);
	if (log_anonhash(in, 3 + alen, buf, len) == 0)
		return (buf);
	if (inet_ntop(np->family == 4 ? AF_INET : AF_INET6, np->addr, text,
	    sizeof(text)) == NULL)
		strlcpy(text, "unknown", sizeof(text));
	snprintf(buf, len, "%s/%u", text, np->bits);
	return (buf);
}

/* The key of sa's prefix at a level; "unknown" for other families. */
const char *
netprefix_sockaddr_key(const struct sockaddr *sa, int level, char *buf,
    size_t len)
{
	struct netprefix	 np;

	if (netprefix_get(sa, level, &np) == -1) {
		strlcpy(buf, "unknown", len);
		return (buf);
	}
	return (netprefix_key(&np, buf, len));
}

/* The level as audit lines name it: the limit that counts it. */
const char *
netprefix_level_name(int level)
{
	return (level == NETPREFIX_NARROW ? "per-address" : "per-network");
}
