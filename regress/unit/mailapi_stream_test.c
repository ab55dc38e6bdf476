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
 * The mailbox stream (mbox_stream.c) that carries mailapi results to a
 * front: records written and read back, and bodies streamed one and many
 * at once.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "mbox_stream.h"
#include "vault_vfs.h"
#include "vaultd.h"
#include "mailapi_fixture.h"
#include "test.h"

TEST_GLOBALS;

static void	 test_stream_bodies(void);
static void	 test_stream_roundtrip(void);

/* Body records through the writer and back. */
static void
test_stream_bodies(void)
{
	static struct mbox_stream_w	 w;
	struct mbox_stream_r		 r;
	unsigned char			*big;
	const char			*data;
	void				*buf;
	size_t				 len, dlen, off, n;
	size_t				 biglen = 200 * 1024 + 3;
	uint32_t			 uid;
	int				 fd, i;

	CHECK((big = malloc(biglen)) != NULL);
	for (off = 0; off < biglen; off++)
		big[off] = (unsigned char)(off * 7);	/* NULs too */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	CHECK(mbox_stream_put_body_hdr(&w, 5, 3) == 0);
	CHECK(mbox_stream_put_bytes(&w, "a\0b", 3) == 0);
	/* In pieces of any size, some larger than the writer's buffer. */
	CHECK(mbox_stream_put_body_hdr(&w, 9, biglen) == 0);
	for (off = 0; off < biglen; off += n) {
		n = off == 0 ? 1 : biglen - off > 70000 ? 70000 : biglen - off;
		CHECK(mbox_stream_put_bytes(&w, big + off, n) == 0);
	}
	CHECK(mbox_stream_put_bytes(&w, NULL, 0) == 0);
	CHECK(mbox_stream_put_body_hdr(&w, 10, 0) == 0);	/* empty */
	CHECK(mbox_stream_put_body_hdr(&w, UINT32_MAX - 1, 1) == 0);
	CHECK(mbox_stream_put_bytes(&w, "z", 1) == 0);
	/* Other records may follow a whole body. */
	CHECK(mbox_stream_put_uid(&w, 77) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 4 * sizeof(struct mbox_stream_body_hdr) + 3 + biglen +
	    1 + 4);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == 5 && dlen == 3 && memcmp(data, "a\0b", 3) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == 9 && dlen == biglen && memcmp(data, big, biglen) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == 10 && dlen == 0 && data != NULL);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == UINT32_MAX - 1 && dlen == 1 && data[0] == 'z');
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 77);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);
	mbox_stream_free(buf, len);
	free(big);

	/* Writer refusals, each sticky: finish fails after any of them. */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC)) != -1);
	for (i = 0; i < 11; i++) {
		mbox_stream_w_init(&w, fd);
		switch (i) {
		case 0:
			CHECK(mbox_stream_put_body_hdr(&w, 0, 1) == -1);
			break;
		case 1:
			CHECK(mbox_stream_put_body_hdr(&w, UINT32_MAX, 1) ==
			    -1);
			break;
		case 2:
			CHECK(mbox_stream_put_body_hdr(&w, 1,
			    (uint64_t)BUNDLE_RAW_MAX + 1) == -1);
			break;
		case 3:		/* uids must rise */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 0) == 0);
			CHECK(mbox_stream_put_body_hdr(&w, 5, 0) == -1);
			break;
		case 4:
			CHECK(mbox_stream_put_body_hdr(&w, 5, 0) == 0);
			CHECK(mbox_stream_put_body_hdr(&w, 4, 0) == -1);
			break;
		case 5:		/* bytes with no body open */
			CHECK(mbox_stream_put_bytes(&w, "x", 1) == -1);
			break;
		case 6:		/* more than announced */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, "xyz", 3) == -1);
			break;
		case 7:		/* another record inside a body */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, "x", 1) == 0);
			CHECK(mbox_stream_put_uid(&w, 1) == -1);
			break;
		case 8:
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_body_hdr(&w, 6, 2) == -1);
			break;
		case 9:
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, NULL, 2) == -1);
			break;
		default:	/* a body cut short: only finish sees it */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, "x", 1) == 0);
			break;
		}
		if (i < 10)
			CHECK(mbox_stream_put_bytes(&w, NULL, 0) == -1);
		CHECK(mbox_stream_w_finish(&w) == -1);
	}
	close(fd);
}

/* Writer and reader on their own. */
static void
test_stream_roundtrip(void)
{
	static struct mbox_stream_w	 w;
	struct mbox_folder	 f, g;
	struct mbox_stream_msg		 m, n;
	struct mbox_stream_r		 r;
	char				*big;
	void				*buf;
	size_t				 len, biglen = 200 * 1024;
	uint32_t			 a, b;
	int				 fd;

	CHECK((big = malloc(biglen)) != NULL);
	memset(big, 'e', biglen);
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	memset(&f, 0, sizeof(f));
	f.info.id = -5;
	f.info.special = 4;
	f.info.uidvalidity = 77;
	f.info.highestmodseq = UINT64_MAX;
	strlcpy(f.name, "Fo/lder", sizeof(f.name));
	CHECK(mbox_stream_put_folder(&w, &f) == 0);
	memset(&m, 0, sizeof(m));
	m.uid = 9;
	m.seq = 1;
	m.size = 12345;
	strlcpy(m.keywords, "$A $B", sizeof(m.keywords));
	m.envelope = big;
	m.envlen = biglen;		/* more than the buffer */
	m.bodystructure = "(bs)";
	m.bslen = 4;
	CHECK(mbox_stream_put_msg(&w, &m) == 0);
	CHECK(mbox_stream_put_uid(&w, 42) == 0);
	CHECK(mbox_stream_put_pair(&w, 1, 2) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);

	/* Unsealed: refused.  Sealed: read. */
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == -1 &&
	    errno == EPERM);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == -1 &&
	    errno == EPERM);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
	CHECK(mbox_stream_read_fd(fd, 100, &buf, &len) == -1 &&
	    errno == EFBIG);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_folder(&r, &g) == 1);
	CHECK(g.info.id == -5 && g.info.special == 4 &&
	    g.info.uidvalidity == 77 &&
	    g.info.highestmodseq == UINT64_MAX);
	CHECK_STR(g.name, "Fo/lder");
	CHECK(mbox_stream_next_msg(&r, &n) == 1);
	CHECK(n.uid == 9 && n.seq == 1 && n.size == 12345);
	CHECK_STR(n.keywords, "$A $B");
	CHECK(n.envlen == biglen && memcmp(n.envelope, big, biglen) == 0);
	CHECK(n.bslen == 4 && memcmp(n.bodystructure, "(bs)", 4) == 0);
	CHECK(mbox_stream_next_uid(&r, &a) == 1 && a == 42);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 1 && b == 2);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 0);
	mbox_stream_free(buf, len);

	/* Writer refusals are sticky; so are write errors. */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC)) != -1);
	mbox_stream_w_init(&w, fd);
	memset(&f, 0, sizeof(f));
	CHECK(mbox_stream_put_folder(&w, &f) == -1);	/* empty name */
	CHECK(mbox_stream_put_uid(&w, 1) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	mbox_stream_w_init(&w, fd);
	memset(f.name, 'n', sizeof(f.name));		/* unterminated */
	CHECK(mbox_stream_put_folder(&w, &f) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	mbox_stream_w_init(&w, fd);
	m.envlen = MBOX_STREAM_META_MAX + 1;
	CHECK(mbox_stream_put_msg(&w, &m) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	mbox_stream_w_init(&w, fd);
	m.envelope = NULL;
	m.envlen = 3;
	CHECK(mbox_stream_put_msg(&w, &m) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	close(fd);
	CHECK((fd = open("/dev/null", O_RDONLY)) != -1);
	mbox_stream_w_init(&w, fd);
	CHECK(mbox_stream_put_uid(&w, 1) == 0);		/* buffered */
	CHECK(mbox_stream_w_finish(&w) == -1);
	close(fd);
	free(big);

	/* Not a memfd at all, or sealed and empty. */
	CHECK(mbox_stream_read_fd(0, RESULT_MAX, &buf, &len) == -1);
	CHECK((fd = open(".", O_RDONLY | O_DIRECTORY)) != -1);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == -1);
	close(fd);
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	CHECK(buf != NULL && len == 0);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &n) == 0);
	CHECK(mbox_stream_next_folder(&r, &g) == 0);
	mbox_stream_free(buf, len);
	close(fd);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	RUN(test_stream_roundtrip);
	RUN(test_stream_bodies);
	TEST_EXIT();
}
