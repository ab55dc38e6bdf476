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
 * Bundles: round trips through a memfd, every malformed header refused
 * by bundle_parse(), random bytes and mutations of a valid bundle never
 * crash and are either refused or parsed consistently, and a sender
 * that changes or shrinks its memfd after handing it over does not
 * change the copy that vaultd parses.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "section.h"
#include "test.h"

TEST_GLOBALS;

#define HDRSZ		sizeof(struct bundle_hdr)
#define FUZZ_ROUNDS	20000
#define FUZZ_MAXLEN	512

static uint64_t	 rng_state;

static uint32_t	 rng(void);
static int	 mkmemfd(void);
static void	 fill_lens(struct bundle *, char *, size_t, size_t *);
static void	 fill(struct bundle *, char *, size_t);
static char	*build(const struct bundle *, size_t *);
static void	 check_same(const struct bundle *, const struct bundle *);
static void	 check_consistent(const char *, size_t,
		    const struct bundle *);
static void	 set_hdr(char *, const struct bundle_hdr *);
static void	 get_hdr(const char *, struct bundle_hdr *);
static int	 parse_fails(const char *, size_t);
static void	 seal(int);

static void	 test_section_max(void);
static void	 test_roundtrip(void);
static void	 test_roundtrip_empty_sections(void);
static void	 test_write_reused_memfd(void);
static void	 test_write_refuses_invalid(void);
static void	 test_short_header(void);
static void	 test_bad_magic_version(void);
static void	 test_section_over_max(void);
static void	 test_length_sum(void);
static void	 test_overflow(void);
static void	 test_nul_in_text(void);
static void	 test_empty_raw(void);
static void	 test_dates(void);
static void	 test_padding(void);
static void	 test_unaligned(void);
static void	 test_map_sizes(void);
static void	 test_map_not_regular(void);
static void	 test_map_unsealed(void);
static void	 test_sender_cannot_change(void);
static void	 test_fuzz_random(void);
static void	 test_fuzz_mutations(void);

/* xorshift64*: a fixed sequence for a fixed seed on every platform. */
static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((uint32_t)((rng_state * 2685821657736338717ULL) >> 32));
}

static int
mkmemfd(void)
{
	int	 fd;

	if ((fd = memfd_create("bundle_test", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		perror("memfd_create");
		abort();
	}
	return (fd);
}

/* Sealed as a front seals a bundle: bundle_map() takes nothing else. */
static void
seal(int fd)
{
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW) == 0);
}

/*
 * A bundle whose sections are carved out of store: each section i gets
 * lens[i] bytes of a pattern that includes no NUL.
 */
static void
fill_lens(struct bundle *b, char *store, size_t storelen, size_t *lens)
{
	size_t	 off = 0, j;
	int	 i;

	memset(b, 0, sizeof(*b));
	b->internaldate = 1700000000;
	b->sentdate = 1699999000;
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		/* A part map is whole nodes; its bytes are not checked. */
		if (i == BUNDLE_PARTMAP)
			lens[i] -= lens[i] % sizeof(struct section_node);
		if (off + lens[i] > storelen)
			abort();
		for (j = 0; j < lens[i]; j++)
			store[off + j] = (char)('A' + (i * 7 + j) % 26);
		b->sec[i] = lens[i] > 0 ? store + off : NULL;
		b->len[i] = lens[i];
		off += lens[i];
	}
}

static void
fill(struct bundle *b, char *store, size_t storelen)
{
	size_t	 lens[BUNDLE_NSECTIONS];
	int	 i;

	for (i = 0; i < BUNDLE_NSECTIONS; i++)
		lens[i] = (size_t)(i + 1) * 3;
	fill_lens(b, store, storelen, lens);
}

/* The bundle's bytes, made through a memfd and bundle_write(). */
static char *
build(const struct bundle *b, size_t *lenp)
{
	struct stat	 st;
	char		*p;
	size_t		 off;
	ssize_t		 n;
	int		 fd;

	fd = mkmemfd();
	CHECK(bundle_write(fd, b) == 0);
	CHECK(fstat(fd, &st) == 0);
	CHECK(st.st_size > 0);
	CHECK((p = malloc((size_t)st.st_size)) != NULL);
	for (off = 0; off < (size_t)st.st_size; off += (size_t)n) {
		n = pread(fd, p + off, (size_t)st.st_size - off, (off_t)off);
		CHECK(n > 0);
	}
	close(fd);
	*lenp = (size_t)st.st_size;
	return (p);
}

static void
check_same(const struct bundle *a, const struct bundle *b)
{
	int	 i;

	CHECK(a->internaldate == b->internaldate);
	CHECK(a->sentdate == b->sentdate);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		CHECK(a->len[i] == b->len[i]);
		if (a->len[i] > 0)
			CHECK(memcmp(a->sec[i], b->sec[i], a->len[i]) == 0);
	}
}

/* What a successful parse must guarantee, whatever the input was. */
static void
check_consistent(const char *buf, size_t len, const struct bundle *b)
{
	uint64_t	 sum = HDRSZ;
	const char	*expect = buf + HDRSZ;
	int		 i;

	CHECK(b->internaldate >= 0 && b->internaldate <= (INT64_C(1) << 40));
	CHECK(b->sentdate >= 0 && b->sentdate <= (INT64_C(1) << 40));
	CHECK(b->len[BUNDLE_RAW] > 0);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		CHECK(b->len[i] <= bundle_section_max(i));
		if (b->len[i] > 0) {
			CHECK(b->sec[i] == expect);
			CHECK(b->sec[i] >= buf + HDRSZ);
			CHECK(b->sec[i] + b->len[i] <= buf + len);
		}
		if (i != BUNDLE_RAW && b->len[i] > 0)
			CHECK(memchr(b->sec[i], '\0', b->len[i]) == NULL);
		expect += b->len[i];
		sum += b->len[i];
	}
	CHECK(sum == len);
}

static void
set_hdr(char *buf, const struct bundle_hdr *h)
{
	memcpy(buf, h, sizeof(*h));
}

static void
get_hdr(const char *buf, struct bundle_hdr *h)
{
	memcpy(h, buf, sizeof(*h));
}

static int
parse_fails(const char *buf, size_t len)
{
	struct bundle	 b;

	errno = 0;
	if (bundle_parse(buf, len, &b) != -1)
		return (0);
	return (errno == EBADMSG);
}

static void
test_section_max(void)
{
	CHECK(bundle_section_max(BUNDLE_RAW) == BUNDLE_RAW_MAX);
	CHECK(bundle_section_max(BUNDLE_ENVELOPE) == BUNDLE_META_MAX);
	CHECK(bundle_section_max(BUNDLE_BODYSTRUCTURE) == BUNDLE_META_MAX);
	CHECK(bundle_section_max(BUNDLE_HEADERS) == BUNDLE_META_MAX);
	CHECK(bundle_section_max(BUNDLE_SUBJECT) == BUNDLE_FIELD_MAX);
	CHECK(bundle_section_max(BUNDLE_FROM) == BUNDLE_FIELD_MAX);
	CHECK(bundle_section_max(BUNDLE_TO) == BUNDLE_FIELD_MAX);
	CHECK(bundle_section_max(BUNDLE_CC) == BUNDLE_FIELD_MAX);
	CHECK(bundle_section_max(BUNDLE_BCC) == BUNDLE_FIELD_MAX);
	CHECK(bundle_section_max(BUNDLE_MESSAGEID) == BUNDLE_FIELD_MAX);
	CHECK(bundle_section_max(BUNDLE_TEXT) == BUNDLE_TEXT_MAX);
}

/* Write to a memfd, map it, parse it: the same bundle comes back. */
static void
test_roundtrip(void)
{
	static char	 store[4 * 1024 * 1024];
	struct bundle	 in, out;
	size_t		 lens[BUNDLE_NSECTIONS], len;
	void		*p;
	int		 fd, round, i;

	rng_state = 0x5eed0001;
	for (round = 0; round < 20; round++) {
		for (i = 0; i < BUNDLE_NSECTIONS; i++) {
			switch (rng() % 4) {
			case 0:
				lens[i] = 0;
				break;
			case 1:
				lens[i] = 1;
				break;
			case 2:
				lens[i] = rng() % 300;
				break;
			default:
				lens[i] = rng() % 200000;
				break;
			}
			if (lens[i] > bundle_section_max(i))
				lens[i] = bundle_section_max(i);
		}
		if (lens[BUNDLE_RAW] == 0)
			lens[BUNDLE_RAW] = 1;
		/* Once, a field at exactly its maximum. */
		if (round == 0)
			lens[BUNDLE_SUBJECT] = BUNDLE_FIELD_MAX;
		fill_lens(&in, store, sizeof(store), lens);
		in.internaldate = rng();
		in.sentdate = round % 2 ? 0 : (int64_t)rng();

		fd = mkmemfd();
		CHECK(bundle_write(fd, &in) == 0);
		seal(fd);
		p = NULL;
		CHECK(bundle_map(fd, &p, &len) == 0);
		CHECK(p != NULL);
		{
			uint64_t	 want = HDRSZ;

			for (i = 0; i < BUNDLE_NSECTIONS; i++)
				want += lens[i];
			CHECK(len == want);
		}
		CHECK(bundle_parse(p, len, &out) == 0);
		check_same(&in, &out);
		check_consistent(p, len, &out);
		for (i = 0; i < BUNDLE_NSECTIONS; i++)
			if (out.len[i] == 0)
				CHECK(out.sec[i] == NULL);
		bundle_unmap(p, len);
		close(fd);
	}
}

static void
test_roundtrip_empty_sections(void)
{
	struct bundle	 in, out;
	size_t		 len;
	void		*p;
	int		 fd, i;

	memset(&in, 0, sizeof(in));
	in.sec[BUNDLE_RAW] = "x";
	in.len[BUNDLE_RAW] = 1;
	CHECK(bundle_write_fd(&in, &fd) == 0);
	CHECK(bundle_map(fd, &p, &len) == 0);
	CHECK(len == HDRSZ + 1);
	CHECK(bundle_parse(p, len, &out) == 0);
	CHECK(out.internaldate == 0 && out.sentdate == 0);
	CHECK(out.len[BUNDLE_RAW] == 1 && out.sec[BUNDLE_RAW][0] == 'x');
	for (i = 1; i < BUNDLE_NSECTIONS; i++)
		CHECK(out.len[i] == 0 && out.sec[i] == NULL);
	bundle_unmap(p, len);
	close(fd);
}

/* A memfd that held a longer bundle holds exactly the new one. */
static void
test_write_reused_memfd(void)
{
	static char	 store[4096];
	struct bundle	 big, small, out;
	size_t		 len;
	void		*p;
	int		 fd;

	fill(&big, store, sizeof(store));
	memset(&small, 0, sizeof(small));
	small.sec[BUNDLE_RAW] = "short";
	small.len[BUNDLE_RAW] = 5;
	fd = mkmemfd();
	CHECK(bundle_write(fd, &big) == 0);
	CHECK(bundle_write(fd, &small) == 0);
	seal(fd);
	CHECK(bundle_map(fd, &p, &len) == 0);
	CHECK(len == HDRSZ + 5);
	CHECK(bundle_parse(p, len, &out) == 0);
	check_same(&small, &out);
	bundle_unmap(p, len);
	close(fd);
}

static void
test_write_refuses_invalid(void)
{
	static char	 store[4096];
	struct bundle	 b;
	struct stat	 st;
	int		 fd;

	fd = mkmemfd();

	fill(&b, store, sizeof(store));
	b.len[BUNDLE_RAW] = 0;
	b.sec[BUNDLE_RAW] = NULL;
	errno = 0;
	CHECK(bundle_write(fd, &b) == -1 && errno == EINVAL);

	fill(&b, store, sizeof(store));
	b.len[BUNDLE_SUBJECT] = BUNDLE_FIELD_MAX + 1;
	errno = 0;
	CHECK(bundle_write(fd, &b) == -1 && errno == EINVAL);

	fill(&b, store, sizeof(store));
	store[b.sec[BUNDLE_FROM] - store] = '\0';
	errno = 0;
	CHECK(bundle_write(fd, &b) == -1 && errno == EINVAL);

	fill(&b, store, sizeof(store));
	b.internaldate = -1;
	errno = 0;
	CHECK(bundle_write(fd, &b) == -1 && errno == EINVAL);

	fill(&b, store, sizeof(store));
	b.sec[BUNDLE_TO] = NULL;
	errno = 0;
	CHECK(bundle_write(fd, &b) == -1 && errno == EINVAL);

	/* Nothing was written. */
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);

	/* NUL in RAW is fine: it is the message as received. */
	fill(&b, store, sizeof(store));
	store[b.sec[BUNDLE_RAW] - store] = '\0';
	CHECK(bundle_write(fd, &b) == 0);
	close(fd);
}

static void
test_short_header(void)
{
	static char	 store[4096];
	struct bundle	 b, out;
	size_t		 len, n;
	char		*buf;

	fill(&b, store, sizeof(store));
	buf = build(&b, &len);
	CHECK(bundle_parse(buf, len, &out) == 0);
	for (n = 0; n < HDRSZ; n++)
		CHECK(parse_fails(buf, n));
	/* Every truncation of a valid bundle is refused, too. */
	for (n = HDRSZ; n < len; n++)
		CHECK(parse_fails(buf, n));
	CHECK(parse_fails(NULL, len));
	errno = 0;
	CHECK(bundle_parse(buf, len, NULL) == -1 && errno == EBADMSG);
	free(buf);
}

static void
test_bad_magic_version(void)
{
	static char	 store[4096];
	struct bundle_hdr h;
	struct bundle	 b;
	size_t		 len;
	char		*buf;

	fill(&b, store, sizeof(store));
	buf = build(&b, &len);
	get_hdr(buf, &h);
	CHECK(h.magic == BUNDLE_MAGIC && h.version == BUNDLE_VERSION);

	h.magic = 0x31425254;	/* byte-swapped */
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));
	h.magic = 0;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));

	h.magic = BUNDLE_MAGIC;
	h.version = 0;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));
	h.version = BUNDLE_VERSION + 1;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));
	h.version = 0xffffffffU;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));
	/* Version 1 had no part map: its place in the header was 0. */
	h.version = 1;
	set_hdr(buf, &h);
	CHECK(h.len[BUNDLE_PARTMAP] > 0 && parse_fails(buf, len));

	h.version = BUNDLE_VERSION;
	set_hdr(buf, &h);
	CHECK(!parse_fails(buf, len));
	free(buf);

	/* A version 1 bundle (a spool file from before) still reads. */
	memset(&b, 0, sizeof(b));
	b.sec[BUNDLE_RAW] = "x";
	b.len[BUNDLE_RAW] = 1;
	buf = build(&b, &len);
	get_hdr(buf, &h);
	h.version = 1;
	set_hdr(buf, &h);
	CHECK(bundle_parse(buf, len, &b) == 0 && b.len[BUNDLE_PARTMAP] == 0 &&
	    b.len[BUNDLE_RAW] == 1);
	free(buf);
}

/*
 * A section one byte over its maximum, with the total size right, is
 * refused: the header is made by hand over a big enough zero buffer.
 */
static void
test_section_over_max(void)
{
	struct bundle_hdr h;
	struct bundle	 out;
	size_t		 len;
	char		*buf;
	int		 i, over;

	for (i = 1; i < BUNDLE_NSECTIONS; i++) {
		for (over = 0; over <= 1; over++) {
			memset(&h, 0, sizeof(h));
			h.magic = BUNDLE_MAGIC;
			h.version = BUNDLE_VERSION;
			h.len[BUNDLE_RAW] = 1;
			h.len[i] = (uint32_t)bundle_section_max(i) + over;
			len = HDRSZ + 1 + h.len[i];
			CHECK((buf = malloc(len)) != NULL);
			memset(buf, 'a', len);
			set_hdr(buf, &h);
			if (over)
				CHECK(parse_fails(buf, len));
			else {
				CHECK(bundle_parse(buf, len, &out) == 0);
				check_consistent(buf, len, &out);
			}
			free(buf);
		}
	}
}

static void
test_length_sum(void)
{
	static char	 store[4096];
	struct bundle_hdr h, orig;
	struct bundle	 b;
	size_t		 len;
	char		*buf, *big;
	int		 i;

	fill(&b, store, sizeof(store));
	buf = build(&b, &len);
	get_hdr(buf, &orig);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		h = orig;
		h.len[i]++;
		set_hdr(buf, &h);
		CHECK(parse_fails(buf, len));
		h = orig;
		if (h.len[i] > 0) {
			h.len[i]--;
			set_hdr(buf, &h);
			CHECK(parse_fails(buf, len));
		}
	}
	set_hdr(buf, &orig);
	CHECK(!parse_fails(buf, len));

	/* Trailing bytes after the last section. */
	CHECK((big = malloc(len + 1)) != NULL);
	memcpy(big, buf, len);
	big[len] = 'z';
	CHECK(parse_fails(big, len + 1));
	free(big);
	free(buf);
}

/*
 * Lengths chosen to wrap a 32-bit (or sloppy 64-bit) sum around to the
 * buffer size: every one is refused.
 */
static void
test_overflow(void)
{
	struct bundle_hdr h;
	size_t		 len;
	char		 buf[HDRSZ + 16];
	int		 i;

	len = sizeof(buf);
	memset(buf, 'a', sizeof(buf));

	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	for (i = 0; i < BUNDLE_NSECTIONS; i++)
		h.len[i] = 0xffffffffU;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));

	/* 16 + 0xfffffff0 + 0x10 wraps to 16 in 32 bits. */
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	h.len[BUNDLE_RAW] = 16;
	h.len[BUNDLE_TEXT] = 0xfffffff0U;
	h.len[BUNDLE_SUBJECT] = 0x10;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));

	/* RAW alone huge, the others making up the difference mod 2^32. */
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	h.len[BUNDLE_RAW] = 0x80000008U;
	h.len[BUNDLE_ENVELOPE] = 0x80000008U;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));

	/* Each within its maximum, the sum far beyond the buffer. */
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	for (i = 0; i < BUNDLE_NSECTIONS; i++)
		h.len[i] = (uint32_t)bundle_section_max(i);
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, len));

	/* A size_t length that a 32-bit comparison would truncate. */
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	h.len[BUNDLE_RAW] = 16;
	set_hdr(buf, &h);
	CHECK(!parse_fails(buf, len));
	/*
	 * The same header with a size 2^32 larger (never read past the
	 * header: the sum is compared first).
	 */
	if (sizeof(size_t) > 4)
		CHECK(parse_fails(buf, len + (size_t)UINT32_MAX + 1));
}

static void
test_nul_in_text(void)
{
	static char	 store[4096];
	struct bundle	 b;
	size_t		 len, off;
	char		*buf;
	int		 i;

	fill(&b, store, sizeof(store));
	buf = build(&b, &len);
	CHECK(!parse_fails(buf, len));
	off = HDRSZ + b.len[BUNDLE_RAW];
	for (i = 1; i < BUNDLE_NSECTIONS; i++) {
		CHECK(b.len[i] > 0);
		if (i == BUNDLE_PARTMAP) {
			/* Binary: a NUL is allowed. */
			buf[off] = '\0';
			CHECK(!parse_fails(buf, len));
			buf[off] = 'A';
			off += b.len[i];
			continue;
		}
		/* First and last byte of the section. */
		buf[off] = '\0';
		CHECK(parse_fails(buf, len));
		buf[off] = 'A';
		buf[off + b.len[i] - 1] = '\0';
		CHECK(parse_fails(buf, len));
		buf[off + b.len[i] - 1] = 'A';
		CHECK(!parse_fails(buf, len));
		off += b.len[i];
	}
	/* In RAW a NUL is allowed. */
	buf[HDRSZ] = '\0';
	CHECK(!parse_fails(buf, len));
	free(buf);
}

static void
test_empty_raw(void)
{
	struct bundle_hdr h;
	char		 buf[HDRSZ + 4];

	memset(buf, 'a', sizeof(buf));
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	h.len[BUNDLE_SUBJECT] = 4;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, sizeof(buf)));
	/* Only a header. */
	h.len[BUNDLE_SUBJECT] = 0;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, HDRSZ));
	/* The same with RAW instead is fine. */
	h.len[BUNDLE_RAW] = 4;
	set_hdr(buf, &h);
	CHECK(!parse_fails(buf, sizeof(buf)));
}

static void
test_dates(void)
{
	struct bundle_hdr h;
	struct bundle	 out;
	char		 buf[HDRSZ + 1];

	buf[HDRSZ] = 'm';
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	h.len[BUNDLE_RAW] = 1;

	h.internaldate = INT64_C(1) << 40;
	h.sentdate = INT64_C(1) << 40;
	set_hdr(buf, &h);
	CHECK(bundle_parse(buf, sizeof(buf), &out) == 0);
	CHECK(out.internaldate == INT64_C(1) << 40);
	CHECK(out.sentdate == INT64_C(1) << 40);

	h.internaldate = (INT64_C(1) << 40) + 1;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, sizeof(buf)));
	h.internaldate = -1;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, sizeof(buf)));
	h.internaldate = INT64_MIN;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, sizeof(buf)));
	h.internaldate = INT64_MAX;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, sizeof(buf)));

	h.internaldate = 1700000000;
	h.sentdate = 0;
	set_hdr(buf, &h);
	CHECK(bundle_parse(buf, sizeof(buf), &out) == 0);
	CHECK(out.sentdate == 0 && out.internaldate == 1700000000);
	h.sentdate = -1;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, sizeof(buf)));
	h.sentdate = INT64_MAX;
	set_hdr(buf, &h);
	CHECK(parse_fails(buf, sizeof(buf)));
}

/* The padding after the last length (on LP64) must be zero. */
static void
test_padding(void)
{
	struct bundle_hdr h;
	size_t		 end;
	char		 buf[HDRSZ + 1];

	end = offsetof(struct bundle_hdr, len) + sizeof(h.len);
	buf[HDRSZ] = 'm';
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	h.len[BUNDLE_RAW] = 1;
	set_hdr(buf, &h);
	memset(buf + end, 0, HDRSZ - end);
	CHECK(!parse_fails(buf, sizeof(buf)));
	if (end < HDRSZ) {
		buf[HDRSZ - 1] = 1;
		CHECK(parse_fails(buf, sizeof(buf)));
	}
}

/* A bundle at an odd address parses (UBSan checks the alignment). */
static void
test_unaligned(void)
{
	static char	 store[4096];
	struct bundle	 b, out;
	size_t		 len;
	char		*buf, *odd;

	fill(&b, store, sizeof(store));
	buf = build(&b, &len);
	CHECK((odd = malloc(len + 1)) != NULL);
	memcpy(odd + 1, buf, len);
	CHECK(bundle_parse(odd + 1, len, &out) == 0);
	check_same(&b, &out);
	check_consistent(odd + 1, len, &out);
	free(odd);
	free(buf);
}

static void
test_map_sizes(void)
{
	uint64_t	 max;
	size_t		 len;
	void		*p;
	int		 fd, i;

	/* Empty. */
	fd = mkmemfd();
	seal(fd);
	p = (void *)1;
	errno = 0;
	CHECK(bundle_map(fd, &p, &len) == -1 && errno == EBADMSG);
	CHECK(p == NULL);

	/* One byte over the largest possible bundle (sparse, not read). */
	max = HDRSZ;
	for (i = 0; i < BUNDLE_NSECTIONS; i++)
		max += bundle_section_max(i);
	close(fd);
	fd = mkmemfd();
	CHECK(ftruncate(fd, (off_t)max + 1) == 0);
	seal(fd);
	errno = 0;
	CHECK(bundle_map(fd, &p, &len) == -1 && errno == EBADMSG);
	CHECK(p == NULL);

	/* A short garbage file is copied; bundle_parse refuses it. */
	close(fd);
	fd = mkmemfd();
	CHECK(pwrite(fd, "garbage", 7, 0) == 7);
	seal(fd);
	CHECK(bundle_map(fd, &p, &len) == 0);
	CHECK(len == 7 && memcmp(p, "garbage", 7) == 0);
	CHECK(parse_fails(p, len));
	bundle_unmap(p, len);
	bundle_unmap(NULL, 0);
	close(fd);

	/* A closed descriptor. */
	errno = 0;
	CHECK(bundle_map(fd, &p, &len) == -1 && errno == EBADF);
}

static void
test_map_not_regular(void)
{
	size_t	 len;
	void	*p;
	int	 fds[2];

	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "x", 1) == 1);
	errno = 0;
	CHECK(bundle_map(fds[0], &p, &len) == -1 && errno == EBADMSG);
	close(fds[0]);
	close(fds[1]);
}

/*
 * A sender that could still change its memfd (write into it, map it
 * writable, shrink or grow it) is refused: the bundle must come sealed.
 */
static void
test_map_unsealed(void)
{
	static char	 store[8192];
	struct bundle	 in;
	size_t		 len;
	void		*p;
	int		 fd;

	fill(&in, store, sizeof(store));
	fd = mkmemfd();
	CHECK(bundle_write(fd, &in) == 0);
	errno = 0;
	CHECK(bundle_map(fd, &p, &len) == -1 && errno == EBADMSG);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK) == 0);
	errno = 0;
	CHECK(bundle_map(fd, &p, &len) == -1 && errno == EBADMSG);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
	CHECK(bundle_map(fd, &p, &len) == 0);
	bundle_unmap(p, len);
	close(fd);
}

/*
 * The sender keeps its memfd, sealed: it can no longer write into it,
 * map it writable or shrink it, so the copy is what it sent.
 */
static void
test_sender_cannot_change(void)
{
	static char	 store[8192];
	struct bundle	 in, out;
	size_t		 len;
	void		*p, *evil;
	int		 fd;

	fill(&in, store, sizeof(store));
	CHECK(bundle_write_fd(&in, &fd) == 0);
	CHECK(bundle_map(fd, &p, &len) == 0);
	CHECK(bundle_parse(p, len, &out) == 0);
	evil = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(evil == MAP_FAILED && errno == EPERM);
	CHECK(pwrite(fd, "ZZZZ", 4, (off_t)HDRSZ) == -1 && errno == EPERM);
	CHECK(ftruncate(fd, 0) == -1 && errno == EPERM);
	CHECK(ftruncate(fd, (off_t)len + 1) == -1 && errno == EPERM);
	check_same(&in, &out);
	check_consistent(p, len, &out);
	bundle_unmap(p, len);
	close(fd);
}

/* Random bytes, with and without a valid magic and version. */
static void
test_fuzz_random(void)
{
	struct bundle_hdr h;
	struct bundle	 out;
	size_t		 len, j;
	char		*buf;
	int		 round, accepted = 0;

	rng_state = 0x5eed0002;
	for (round = 0; round < FUZZ_ROUNDS; round++) {
		len = rng() % FUZZ_MAXLEN;
		CHECK((buf = malloc(len + 1)) != NULL);
		for (j = 0; j < len; j++)
			buf[j] = (char)rng();
		if (round % 2 && len >= HDRSZ) {
			get_hdr(buf, &h);
			h.magic = BUNDLE_MAGIC;
			h.version = BUNDLE_VERSION;
			set_hdr(buf, &h);
		}
		errno = 0;
		if (bundle_parse(buf, len, &out) == 0) {
			check_consistent(buf, len, &out);
			accepted++;
		} else
			CHECK(errno == EBADMSG);
		free(buf);
	}
	/* Random lengths essentially never add up. */
	CHECK(accepted < FUZZ_ROUNDS / 100);
}

/*
 * Mutations of a valid bundle: flipped bits and bytes, lengths nudged
 * or replaced, truncation and extension.  Each result is refused or
 * parsed consistently; some of each must occur.
 */
static void
test_fuzz_mutations(void)
{
	static char	 store[4096];
	struct bundle_hdr h;
	struct bundle	 b, out;
	size_t		 len, mlen, pos;
	char		*valid, *buf;
	int		 round, k, k2, nmut, accepted = 0, refused = 0;

	fill(&b, store, sizeof(store));
	valid = build(&b, &len);
	CHECK((buf = malloc(len + 64)) != NULL);
	rng_state = 0x5eed0003;
	for (round = 0; round < FUZZ_ROUNDS; round++) {
		memcpy(buf, valid, len);
		mlen = len;
		nmut = 1 + rng() % 4;
		for (k = 0; k < nmut; k++) {
			switch (rng() % 7) {
			case 0:
				pos = rng() % mlen;
				buf[pos] ^= (char)(1 << (rng() % 8));
				break;
			case 1:
				pos = rng() % mlen;
				buf[pos] = (char)rng();
				break;
			case 2:
				/* A byte of the header. */
				pos = rng() % HDRSZ;
				buf[pos] = (char)rng();
				break;
			case 3:
				get_hdr(buf, &h);
				k2 = rng() % BUNDLE_NSECTIONS;
				h.len[k2] += rng() % 5 - 2;
				set_hdr(buf, &h);
				break;
			case 4:
				get_hdr(buf, &h);
				h.len[rng() % BUNDLE_NSECTIONS] = rng();
				set_hdr(buf, &h);
				break;
			case 5:
				if (mlen > 1)
					mlen -= 1 + rng() % (mlen > 16 ? 16 :
					    mlen - 1);
				break;
			default:
				if (mlen + 16 <= len + 64) {
					memset(buf + mlen, 'q', 16);
					mlen += 1 + rng() % 16;
				}
				break;
			}
		}
		/*
		 * Balance one length against the size now and then, so
		 * that the checks after the sum are reached too.
		 */
		if (round % 3 == 0 && mlen >= HDRSZ) {
			uint64_t	 sum = 0;
			int		 i;

			get_hdr(buf, &h);
			for (i = 1; i < BUNDLE_NSECTIONS; i++)
				sum += h.len[i];
			h.len[BUNDLE_RAW] = (uint32_t)(mlen - HDRSZ - sum);
			set_hdr(buf, &h);
		}
		errno = 0;
		if (bundle_parse(buf, mlen, &out) == 0) {
			check_consistent(buf, mlen, &out);
			accepted++;
		} else {
			CHECK(errno == EBADMSG);
			refused++;
		}
	}
	CHECK(accepted > 0 && refused > 0);
	free(buf);
	free(valid);
}

int
main(void)
{
	log_init(1, LOG_MAIL);

	RUN(test_section_max);
	RUN(test_roundtrip);
	RUN(test_roundtrip_empty_sections);
	RUN(test_write_reused_memfd);
	RUN(test_write_refuses_invalid);
	RUN(test_short_header);
	RUN(test_bad_magic_version);
	RUN(test_section_over_max);
	RUN(test_length_sum);
	RUN(test_overflow);
	RUN(test_nul_in_text);
	RUN(test_empty_raw);
	RUN(test_dates);
	RUN(test_padding);
	RUN(test_unaligned);
	RUN(test_map_sizes);
	RUN(test_map_not_regular);
	RUN(test_map_unsealed);
	RUN(test_sender_cannot_change);
	RUN(test_fuzz_random);
	RUN(test_fuzz_mutations);
	TEST_EXIT();
}
