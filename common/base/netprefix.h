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
 * Network prefixes, the unit abuse is counted in.  One address is cheap
 * to change: an IPv6 client usually holds a whole /64, and an IPv4
 * attacker can often rotate through neighbours.  So connections and
 * failed logins are counted at two levels: the narrow prefix (IPv4 /32,
 * IPv6 /64: what one host or one subscriber holds) and the wide one
 * (IPv4 /24, IPv6 /48: one network or one site).  An IPv4 address
 * mapped into IPv6 (::ffff:a.b.c.d) counts as IPv4.
 *
 * The key of a prefix is what crosses to vaultd and what is logged:
 * like log_anonaddr(), a keyed hash "a-" and 16 hex digits while
 * addresses are anonymised (the level is in the hashed input, so the
 * two levels never share a key), else the prefix itself,
 * "192.0.2.0/24" or "2001:db8::/48".
 */

#ifndef NETPREFIX_H
#define NETPREFIX_H

#include <sys/socket.h>

#include <stddef.h>

#define NETPREFIX_NARROW	0	/* IPv4 /32, IPv6 /64 */
#define NETPREFIX_WIDE		1	/* IPv4 /24, IPv6 /48 */
#define NETPREFIX_LEVELS	2

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" and NUL, rounded. */
#define NETPREFIX_KEY_MAX	64

struct netprefix {
	unsigned char	 level;		/* NETPREFIX_* */
	unsigned char	 family;	/* 4 or 6 */
	unsigned char	 bits;		/* prefix length */
	unsigned char	 addr[16];	/* masked; IPv4 in the first 4 */
};

int		 netprefix_get(const struct sockaddr *, int,
		    struct netprefix *);
int		 netprefix_cmp(const struct netprefix *,
		    const struct netprefix *);
const char	*netprefix_key(const struct netprefix *, char *, size_t);
const char	*netprefix_sockaddr_key(const struct sockaddr *, int, char *,
		    size_t);
const char	*netprefix_level_name(int);

#endif /* NETPREFIX_H */
