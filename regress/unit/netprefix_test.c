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
 * netprefix: an address to its narrow (IPv4 /32, IPv6 /64) and wide
 * (IPv4 /24, IPv6 /48) prefixes, IPv4 mapped into IPv6 counted as IPv4,
 * and the keys of those prefixes: plain text without an anonymisation
 * key, a keyed hash with one, never the same key for two levels.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <sodium.h>
#include <string.h>

#include "log.h"
#include "netprefix.h"
#include "test.h"

TEST_GLOBALS;

static struct sockaddr_storage	 ss;

/* A sockaddr for a numeric address, IPv4 or IPv6. */
static const struct sockaddr *
sa(const char *text)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		CHECK(!"not an address");
	return ((const struct sockaddr *)&ss);
}

static const char *
key(const char *addr, int level)
{
	static char	 buf[2][NETPREFIX_KEY_MAX];
	static int	 i;

	i = !i;
	return (netprefix_sockaddr_key(sa(addr), level, buf[i],
	    sizeof(buf[i])));
}

static int
anonymised(const char *k)
{
	size_t	 i;

	if (strlen(k) != 18 || strncmp(k, "a-", 2) != 0)
		return (0);
	for (i = 2; i < 18; i++)
		if (strchr("0123456789abcdef", k[i]) == NULL)
			return (0);
	return (1);
}

static void
test_ipv4_levels(void)
{
	struct netprefix	 np;

	log_set_anonkey(NULL);
	CHECK(netprefix_get(sa("192.0.2.77"), NETPREFIX_NARROW, &np) == 0);
	CHECK(np.family == 4 && np.bits == 32);
	CHECK(memcmp(np.addr, "\xc0\x00\x02\x4d", 4) == 0);
	CHECK(netprefix_get(sa("192.0.2.77"), NETPREFIX_WIDE, &np) == 0);
	CHECK(np.family == 4 && np.bits == 24);
	CHECK(memcmp(np.addr, "\xc0\x00\x02\x00", 4) == 0);
	CHECK_STR(key("192.0.2.77", NETPREFIX_NARROW), "192.0.2.77/32");
	CHECK_STR(key("192.0.2.77", NETPREFIX_WIDE), "192.0.2.0/24");
	CHECK_STR(key("192.0.2.255", NETPREFIX_WIDE), "192.0.2.0/24");
	CHECK_STR(key("192.0.3.1", NETPREFIX_WIDE), "192.0.3.0/24");
	CHECK(netprefix_get(sa("192.0.2.1"), 2, &np) == -1);
	CHECK(netprefix_get(sa("192.0.2.1"), -1, &np) == -1);
}

static void
test_mapped_ipv4(void)
{
	struct netprefix	 a, b;

	log_set_anonkey(NULL);
	CHECK_STR(key("::ffff:192.0.2.77", NETPREFIX_NARROW),
	    "192.0.2.77/32");
	CHECK_STR(key("::ffff:192.0.2.77", NETPREFIX_WIDE), "192.0.2.0/24");
	CHECK(netprefix_get(sa("::ffff:192.0.2.77"), NETPREFIX_WIDE,
	    &a) == 0);
	CHECK(netprefix_get(sa("192.0.2.1"), NETPREFIX_WIDE, &b) == 0);
	CHECK(a.family == 4 && netprefix_cmp(&a, &b) == 0);
	/* Only ::ffff:0:0/96 is mapped; ::192.0.2.77 is plain IPv6. */
	CHECK_STR(key("::c000:24d", NETPREFIX_NARROW), "::/64");
}

static void
test_ipv6_levels(void)
{
	struct netprefix	 a, b;

	log_set_anonkey(NULL);
	CHECK_STR(key("2001:db8:1:2:3:4:5:6", NETPREFIX_NARROW),
	    "2001:db8:1:2::/64");
	CHECK_STR(key("2001:db8:1:2:3:4:5:6", NETPREFIX_WIDE),
	    "2001:db8:1::/48");
	CHECK_STR(key("2001:db8:1:ffff::1", NETPREFIX_WIDE),
	    "2001:db8:1::/48");
	CHECK_STR(key("2001:db8:2::1", NETPREFIX_WIDE), "2001:db8:2::/48");
	/* Two hosts of one /64: one narrow prefix; two /64s of one /48. */
	CHECK(netprefix_get(sa("2001:db8:1:2::1"), NETPREFIX_NARROW,
	    &a) == 0);
	CHECK(netprefix_get(sa("2001:db8:1:2:ffff:ffff:ffff:ffff"),
	    NETPREFIX_NARROW, &b) == 0);
	CHECK(a.family == 6 && a.bits == 64 && netprefix_cmp(&a, &b) == 0);
	CHECK(netprefix_get(sa("2001:db8:1:3::1"), NETPREFIX_NARROW,
	    &b) == 0);
	CHECK(netprefix_cmp(&a, &b) != 0);
	CHECK(netprefix_get(sa("2001:db8:1:2::1"), NETPREFIX_WIDE, &a) == 0);
	CHECK(netprefix_get(sa("2001:db8:1:3::1"), NETPREFIX_WIDE, &b) == 0);
	CHECK(a.bits == 48 && netprefix_cmp(&a, &b) == 0);
	/* The /48 keeps its first six bytes and nothing else. */
	CHECK(memcmp(a.addr, "\x20\x01\x0d\xb8\x00\x01\0\0\0\0\0\0\0\0\0\0",
	    16) == 0);
}

/* A key per level: even when the masked addresses are equal. */
static void
test_levels_distinct(void)
{
	struct netprefix	 a, b;
	unsigned char		 k[ANONKEY_LEN];

	CHECK(netprefix_get(sa("192.0.2.0"), NETPREFIX_NARROW, &a) == 0);
	CHECK(netprefix_get(sa("192.0.2.0"), NETPREFIX_WIDE, &b) == 0);
	CHECK(memcmp(a.addr, b.addr, sizeof(a.addr)) == 0);
	CHECK(netprefix_cmp(&a, &b) != 0);
	log_set_anonkey(NULL);
	CHECK(strcmp(key("192.0.2.0", NETPREFIX_NARROW),
	    key("192.0.2.0", NETPREFIX_WIDE)) != 0);
	memset(k, 7, sizeof(k));
	log_set_anonkey(k);
	CHECK(strcmp(key("192.0.2.0", NETPREFIX_NARROW),
	    key("192.0.2.0", NETPREFIX_WIDE)) != 0);
	CHECK(strcmp(key("2001:db8:1::", NETPREFIX_NARROW),
	    key("2001:db8:1::", NETPREFIX_WIDE)) != 0);
	log_set_anonkey(NULL);
}

static void
test_anonymised(void)
{
	unsigned char	 k[ANONKEY_LEN];
	char		 same[NETPREFIX_KEY_MAX], addr[ANONADDR_LEN];

	memset(k, 1, sizeof(k));
	log_set_anonkey(k);
	CHECK(anonymised(key("192.0.2.77", NETPREFIX_NARROW)));
	CHECK(anonymised(key("192.0.2.77", NETPREFIX_WIDE)));
	CHECK(anonymised(key("2001:db8:1:2::1", NETPREFIX_NARROW)));
	CHECK(anonymised(key("2001:db8:1:2::1", NETPREFIX_WIDE)));
	/* One /24, one wide key; different hosts, different narrow. */
	CHECK_STR(key("192.0.2.77", NETPREFIX_WIDE),
	    key("192.0.2.78", NETPREFIX_WIDE));
	CHECK(strcmp(key("192.0.2.77", NETPREFIX_NARROW),
	    key("192.0.2.78", NETPREFIX_NARROW)) != 0);
	CHECK(strcmp(key("192.0.2.77", NETPREFIX_WIDE),
	    key("192.0.3.77", NETPREFIX_WIDE)) != 0);
	CHECK_STR(key("2001:db8:1:2::1", NETPREFIX_NARROW),
	    key("2001:db8:1:2:ffff::9", NETPREFIX_NARROW));
	CHECK_STR(key("2001:db8:1:2::1", NETPREFIX_WIDE),
	    key("2001:db8:1:7::1", NETPREFIX_WIDE));
	CHECK_STR(key("::ffff:192.0.2.77", NETPREFIX_WIDE),
	    key("192.0.2.1", NETPREFIX_WIDE));
	/* The text never shows through, and another key hashes apart. */
	CHECK(strstr(key("192.0.2.77", NETPREFIX_WIDE), "192") == NULL);
	strlcpy(same, key("192.0.2.77", NETPREFIX_WIDE), sizeof(same));
	memset(k, 2, sizeof(k));
	log_set_anonkey(k);
	CHECK(strcmp(same, key("192.0.2.77", NETPREFIX_WIDE)) != 0);
	/* The same shape as the logged address. */
	CHECK(anonymised(log_anonaddr(sa("192.0.2.77"), addr, sizeof(addr))));
	log_set_anonkey(NULL);
}

static void
test_not_inet(void)
{
	struct sockaddr_storage	 un;
	struct netprefix	 np;
	char			 buf[NETPREFIX_KEY_MAX];

	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	CHECK(netprefix_get((struct sockaddr *)&un, NETPREFIX_NARROW,
	    &np) == -1);
	CHECK_STR(netprefix_sockaddr_key((struct sockaddr *)&un,
	    NETPREFIX_WIDE, buf, sizeof(buf)), "unknown");
	CHECK_STR(netprefix_level_name(NETPREFIX_NARROW), "per-address");
	CHECK_STR(netprefix_level_name(NETPREFIX_WIDE), "per-network");
}

int
main(void)
{
	if (sodium_init() == -1)
		return (1);
	RUN(test_ipv4_levels);
	RUN(test_mapped_ipv4);
	RUN(test_ipv6_levels);
	RUN(test_levels_distinct);
	RUN(test_anonymised);
	RUN(test_not_inet);
	TEST_EXIT();
}
