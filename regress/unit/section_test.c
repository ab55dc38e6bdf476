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
 * Sections (common/wire/section.c): the spec parser, the checks a
 * section on the wire must pass, and section_find() on part maps it
 * cannot trust: a map that lies (ranges past the message, links that
 * point back or out, unknown flags) makes it fail, never read outside
 * the map or return a range outside the message.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "section.h"
#include "test.h"

TEST_GLOBALS;

static const char msg[] =
    "Subject: s\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
    "--q\r\nContent-Type: text/plain\r\n\r\none\r\n"
    "--q\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\n\r\ninner body\r\n"
    "--q--\r\n";

static void	 t_parse(void);
static void	 t_check(void);
static void	 t_find(void);
static void	 t_lying_maps(void);
static void	 t_cut(void);

static void
t_parse(void)
{
	struct section	 s;

	CHECK(section_parse("", &s) == 0 && s.nparts == 0 &&
	    s.text == SECTION_ALL);
	CHECK(section_parse("1.2.3.MIME", &s) == 0 && s.nparts == 3 &&
	    s.part[2] == 3 && s.text == SECTION_MIME && s.part[3] == 0);
	CHECK(section_parse("header", &s) == 0 && s.text == SECTION_HEADER);
	CHECK(section_parse("2.HEADER.FIELDS (A B)", &s) == 0 &&
	    s.text == SECTION_HEADER && s.nparts == 1);
	CHECK(section_parse("999999999", &s) == 0);
	/* Bad: zero, leading zero, ten digits, MIME alone, trailing dot. */
	CHECK(section_parse("0", &s) == -1);
	CHECK(section_parse("01", &s) == -1);
	CHECK(section_parse("1000000000", &s) == -1);
	CHECK(section_parse("MIME", &s) == -1);
	CHECK(section_parse("1.", &s) == -1);
	CHECK(section_parse("1..2", &s) == -1);
	CHECK(section_parse("1.FOO", &s) == -1);
	CHECK(section_parse(NULL, &s) == -1);
}

static void
t_check(void)
{
	struct section	 s;
	char		 spec[SECTION_PARTS_MAX * 2 + 8];
	size_t		 i;

	for (i = 0; i < SECTION_PARTS_MAX; i++)
		memcpy(spec + 2 * i, "1.", 2);
	spec[2 * SECTION_PARTS_MAX - 1] = '\0';
	CHECK(section_parse(spec, &s) == 0 && section_check(&s) == 0);
	/* One number more than the wire takes. */
	spec[2 * SECTION_PARTS_MAX - 1] = '.';
	memcpy(spec + 2 * SECTION_PARTS_MAX, "1", 2);
	CHECK(section_parse(spec, &s) == -1);

	CHECK(section_parse("1", &s) == 0 && section_check(&s) == 0);
	s.count = 3;
	s.origin = 7;
	CHECK(section_check(&s) == 0);
	s.count = 0;
	CHECK(section_check(&s) == -1);		/* origin, no count */
	s.origin = 0;
	s.part[1] = 1;
	CHECK(section_check(&s) == -1);		/* past nparts */
	s.part[1] = 0;
	s.text = SECTION_NTEXT;
	CHECK(section_check(&s) == -1);
	s.text = SECTION_ALL;
	s.nparts = SECTION_PARTS_MAX + 1;
	CHECK(section_check(&s) == -1);
}

/* Through the map, as mime_section() has it. */
static void
t_find(void)
{
	static const struct {
		const char	*spec;
		const char	*want;		/* NULL: not found */
	} cases[] = {
		{ "1", "one" },
		{ "1.MIME", "Content-Type: text/plain\r\n\r\n" },
		{ "2.HEADER", "Subject: inner\r\n\r\n" },
		{ "2.TEXT", "inner body" },
		{ "2.1", "inner body" },
		{ "1.HEADER", NULL },
		{ "3", NULL },
		{ "2.2", NULL },
		{ "1.1", NULL },
	};
	struct section	 s;
	char		*map;
	size_t		 maplen, i, len = sizeof(msg) - 1;
	uint64_t	 off, n;
	int		 rv;

	CHECK(mime_partmap(msg, len, &map, &maplen) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(section_parse(cases[i].spec, &s) == 0);
		rv = section_find(map, maplen, len, &s, &off, &n);
		if (cases[i].want == NULL) {
			CHECK(rv == -1);
			continue;
		}
		CHECK(rv == 0 && n == strlen(cases[i].want) &&
		    memcmp(msg + off, cases[i].want, n) == 0);
	}
	/* The whole message needs no map; the rest do. */
	CHECK(section_parse("", &s) == 0);
	CHECK(section_find(NULL, 0, len, &s, &off, &n) == 0 && n == len);
	CHECK(section_parse("TEXT", &s) == 0);
	CHECK(section_find(NULL, 0, len, &s, &off, &n) == -1);
	/* A map for a longer message than the one given. */
	CHECK(section_find(map, maplen, 10, &s, &off, &n) == -1);
	/* A map that is not whole nodes. */
	CHECK(section_find(map, maplen - 1, len, &s, &off, &n) == -1);
	free(map);
}

static uint64_t	 rng_state = 0x5eed5ec7;

static uint32_t
rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((uint32_t)(rng_state >> 33));
}

/*
 * Maps changed at random (a field of a node set to a random or a
 * boundary value): whatever section_find() answers stays inside the
 * message.  Run under the sanitizers, any read outside the map fails.
 */
static void
t_lying_maps(void)
{
	static const char *const specs[] = { "1", "2", "2.1", "2.HEADER",
	    "2.TEXT", "1.MIME", "2.2", "TEXT", "HEADER", "1.1.1" };
	struct section_node	 nd;
	struct section		 s;
	char			*map, *bad;
	size_t			 maplen, nn, i, k, len = sizeof(msg) - 1;
	uint64_t		 off, n;
	uint32_t		*f;
	int			 round;

	CHECK(mime_partmap(msg, len, &map, &maplen) == 0);
	nn = maplen / sizeof(nd);
	CHECK(nn == 4);
	CHECK((bad = malloc(maplen)) != NULL);
	for (round = 0; round < 20000; round++) {
		memcpy(bad, map, maplen);
		for (k = 0; k <= (size_t)(rng() % 3); k++) {
			i = rng() % nn;
			memcpy(&nd, bad + i * sizeof(nd), sizeof(nd));
			f = &nd.off + rng() % 6;
			switch (rng() % 4) {
			case 0:
				*f = rng();
				break;
			case 1:
				*f = (uint32_t)len + rng() % 3 - 1;
				break;
			case 2:
				*f = rng() % 8;
				break;
			default:
				*f ^= 1U << (rng() % 32);
				break;
			}
			memcpy(bad + i * sizeof(nd), &nd, sizeof(nd));
		}
		for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
			CHECK(section_parse(specs[i], &s) == 0);
			if (section_find(bad, maplen, len, &s, &off, &n) == 0)
				CHECK(off <= len && n <= len - off);
		}
	}
	/* A sibling link that points back: refused, no loop. */
	memcpy(bad, map, maplen);
	memcpy(&nd, bad + 2 * sizeof(nd), sizeof(nd));
	nd.next = 1;
	memcpy(bad + 2 * sizeof(nd), &nd, sizeof(nd));
	CHECK(section_parse("2", &s) == 0);
	CHECK(section_find(bad, maplen, len, &s, &off, &n) == -1);
	/* A child that would be past the end of the map. */
	memcpy(bad, map, maplen);
	memcpy(&nd, bad + 3 * sizeof(nd), sizeof(nd));
	nd.flags |= SECTION_N_CHILD | SECTION_N_MESSAGE;
	memcpy(bad + 3 * sizeof(nd), &nd, sizeof(nd));
	CHECK(section_parse("2.1.1", &s) == 0);
	CHECK(section_find(bad, maplen, len, &s, &off, &n) == -1);
	free(bad);
	free(map);
}

static void
t_cut(void)
{
	struct section	 s;
	uint64_t	 off, n;

	memset(&s, 0, sizeof(s));
	off = 100;
	n = 50;
	section_cut(&s, &off, &n);		/* no partial */
	CHECK(off == 100 && n == 50);
	s.origin = 10;
	s.count = 5;
	section_cut(&s, &off, &n);
	CHECK(off == 110 && n == 5);
	off = 100;
	n = 12;
	section_cut(&s, &off, &n);		/* across the end */
	CHECK(off == 110 && n == 2);
	off = 100;
	n = 10;
	section_cut(&s, &off, &n);		/* at the end: empty */
	CHECK(n == 0);
	off = 100;
	n = 3;
	section_cut(&s, &off, &n);		/* past it */
	CHECK(n == 0);
}

int
main(void)
{
	RUN(t_parse);
	RUN(t_check);
	RUN(t_find);
	RUN(t_lying_maps);
	RUN(t_cut);
	TEST_EXIT();
}
