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
 * vaultd's mailbox API (mailapi_request()) against what a broken or
 * hostile front sends, over a real socketpair against a real vault:
 * malformed requests, and no memfd to answer with; and hostile streams
 * thrown at the stream reader.
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

static int	 open_fds(void);
static int	 read_all(const void *, size_t, int);
static void	 test_stream_hostile_bodies(void);
static void	 test_malformed(void);
static void	 test_no_memfd(void);
static void	 test_stream_hostile(void);

static int
open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	CHECK((d = opendir("/proc/self/fd")) != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static void
test_malformed(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	unsigned char		 junk[10];
	int			 fd, nfds;

	nfds = open_fds();
	req(&q, MBOX_OP_STATUS, "INBOX");
	memset(q.folder, 'A', sizeof(q.folder));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_RENAME, "Trash");
	memset(q.folder2, 'A', sizeof(q.folder2));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_STORE, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	memset(q.keywords, 'k', sizeof(q.keywords));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	req(&q, MBOX_OP_FETCH, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);	/* no ranges */
	q.nranges = MBOX_RANGES_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.nranges = UINT32_MAX;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	/* uid 0 at either end of a range. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.nranges = 2;
	q.ranges[0].first = q.ranges[0].last = 1;
	q.ranges[1].first = 0;
	q.ranges[1].last = 3;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.ranges[1].first = 5;
	q.ranges[1].last = 0;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_EXPUNGE, "INBOX");
	q.nranges = MBOX_RANGES_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_COPY, "INBOX");
	strlcpy(q.folder2, "Archive", sizeof(q.folder2));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_BODY, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_BODIES, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);	/* no ranges */
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	CHECK((fd = memfd_create("stray", MFD_CLOEXEC)) != -1);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	q.nranges = MBOX_RANGES_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	req(&q, MBOX_OP_MAX, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, UINT32_MAX, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_SUBSCRIBE, "INBOX");
	q.flags = 2;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	/* A stray fd is refused and closed; a missing one too. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	CHECK((fd = memfd_create("stray", MFD_CLOEXEC)) != -1);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	req(&q, MBOX_OP_LIST, "");
	CHECK(call_status(&q, bundle_fd(1)) == MBOX_EINVAL);
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	/*
	 * What msg_check() would stop before it got here, should it ever
	 * arrive: a short payload, a type that is not a request.
	 */
	memset(junk, 0, sizeof(junk));
	CHECK(call_raw(IMSG_MBOX_REQUEST, junk, sizeof(junk), -1, 0,
	    &res) == -1);
	CHECK(res.status == MBOX_EINVAL);
	CHECK(call_raw(IMSG_VAULT_RCPT, junk, sizeof(junk), -1, 0,
	    &res) == -1);
	CHECK(res.status == MBOX_EINVAL);

	/* Nothing leaked on vaultd's side, nothing changed. */
	CHECK(open_fds() == nfds);
	check_counter();
}

/* No fd for the answer: EIO, and no change made without an answer. */
static void
test_no_memfd(void)
{
	struct treq		 q;
	struct mbox_folder	 f;
	struct rlimit			 rl;
	uint64_t			 before;
	int				 lowest, st1, st2;

	CHECK((lowest = dup(0)) != -1);
	close(lowest);
	before = mbox_counter(alice->mbox);
	rl = saved_nofile;
	rl.rlim_cur = (rlim_t)lowest;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	req(&q, MBOX_OP_LIST, "");
	st1 = call_status(&q, -1);
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_ANSWERED;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	st2 = call_status(&q, -1);
	CHECK(setrlimit(RLIMIT_NOFILE, &saved_nofile) == 0);
	CHECK(st1 == MBOX_EIO);
	CHECK(st2 == MBOX_EIO);
	CHECK(mbox_counter(alice->mbox) == before);
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
}

/* Read a copy of exactly len bytes, so that ASan sees any overrun. */
static int
read_all(const void *data, size_t len, int kind)
{
	struct mbox_stream_r		 r;
	struct mbox_folder	 f;
	struct mbox_stream_msg		 m;
	unsigned char			*copy;
	const char			*body;
	size_t				 dlen, k;
	unsigned int			 sum = 0;
	uint32_t			 a, b;
	int				 rc, n = 0, i;

	CHECK((copy = malloc(len > 0 ? len : 1)) != NULL);
	if (len > 0)
		memcpy(copy, data, len);
	mbox_stream_r_init(&r, copy, len);
	for (i = 0; i < 100; i++) {
		switch (kind) {
		case 0:
			rc = mbox_stream_next_folder(&r, &f);
			break;
		case 1:
			rc = mbox_stream_next_msg(&r, &m);
			if (rc == 1) {
				/* Touch every byte it points at. */
				CHECK(m.envlen == 0 || memchr(m.envelope,
				    '\0', m.envlen) == NULL);
				CHECK(m.bslen == 0 || memchr(m.bodystructure,
				    '\0', m.bslen) == NULL);
				CHECK(strlen(m.keywords) < sizeof(m.keywords));
			}
			break;
		case 2:
			rc = mbox_stream_next_uid(&r, &a);
			break;
		case 4:
			rc = mbox_stream_next_body(&r, &a, &body, &dlen);
			if (rc == 1) {
				/* Touch every byte it points at. */
				CHECK(a != 0 && a != UINT32_MAX);
				for (k = 0; k < dlen; k++)
					sum += (unsigned char)body[k];
			}
			break;
		default:
			rc = mbox_stream_next_pair(&r, &a, &b);
			break;
		}
		if (rc != 1)
			break;
		n++;
	}
	CHECK(i < 100);
	(void)sum;
	free(copy);
	/* A failure is for good. */
	if (rc == -1) {
		CHECK(mbox_stream_next_uid(&r, &a) == -1);
		return (-1);
	}
	return (n);
}

/* Body records cut anywhere, and headers that lie. */
static void
test_stream_hostile_bodies(void)
{
	static struct mbox_stream_w	 w;
	static const struct {
		uint32_t	 uid;
		uint32_t	 pad;
		uint64_t	 size;
	} bad[] = {
		{ 0, 0, 64 }, { UINT32_MAX, 0, 64 }, { 1, 1, 64 },
		{ 1, 0x80000000U, 64 }, { 1, 0, 65 }, { 1, 0, UINT64_MAX },
		{ 1, 0, (uint64_t)BUNDLE_RAW_MAX + 1 },
		{ 1, 0, ((uint64_t)1 << 32) + 64 },
	};
	struct mbox_stream_body_hdr	 bh;
	unsigned char			 hb[2 * sizeof(bh) + 64];
	void				*buf;
	size_t				 len, cut, i;
	int				 fd, rc;

	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	CHECK(mbox_stream_put_body_hdr(&w, 3, 10) == 0);
	CHECK(mbox_stream_put_bytes(&w, "0123456789", 10) == 0);
	CHECK(mbox_stream_put_body_hdr(&w, 8, 5) == 0);
	CHECK(mbox_stream_put_bytes(&w, "abcde", 5) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 2 * sizeof(bh) + 15);
	CHECK(read_all(buf, len, 4) == 2);
	for (cut = 0; cut < len; cut++) {
		rc = read_all(buf, cut, 4);
		CHECK(rc == (cut == 0 ? 0 : cut == sizeof(bh) + 10 ? 1 : -1));
	}
	mbox_stream_free(buf, len);

	/* uid 0 or "*", pad set, a size past the end or above the max. */
	memset(hb, 'x', sizeof(hb));
	for (i = 0; i < nitems(bad); i++) {
		memset(&bh, 0, sizeof(bh));
		bh.uid = bad[i].uid;
		bh.pad = bad[i].pad;
		bh.size = bad[i].size;
		memcpy(hb, &bh, sizeof(bh));
		CHECK(read_all(hb, sizeof(bh) + 64, 4) == -1);
	}
	memset(&bh, 0, sizeof(bh));
	bh.uid = 1;
	bh.size = 64;
	memcpy(hb, &bh, sizeof(bh));
	CHECK(read_all(hb, sizeof(bh) + 64, 4) == 1);
	CHECK(read_all(hb, sizeof(bh) + 63, 4) == -1);
	CHECK(read_all(hb, sizeof(bh) - 1, 4) == -1);	/* cut header */

	/* Uids must rise from record to record. */
	for (i = 0; i < 3; i++) {
		memset(&bh, 0, sizeof(bh));
		bh.uid = 5;
		memcpy(hb, &bh, sizeof(bh));
		bh.uid = i == 0 ? 5 : i == 1 ? 4 : 6;
		memcpy(hb + sizeof(bh), &bh, sizeof(bh));
		CHECK(read_all(hb, 2 * sizeof(bh), 4) == (i == 2 ? 2 : -1));
	}
}

static void
test_stream_hostile(void)
{
	static struct mbox_stream_w	 w;
	struct mbox_stream_folder_hdr	 fh;
	struct mbox_stream_msg_hdr	 mh;
	struct mbox_folder	 f;
	struct mbox_stream_msg		 m;
	struct mbox_stream_r		 r;
	unsigned char			 hb[sizeof(fh) + sizeof(mh) + 64];
	void				*buf;
	const char			*data;
	size_t				 len, cut, i, dlen;
	uint32_t			 uid;
	int				 fd, rc;

	/* A valid stream of two folders and two messages, cut anywhere. */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	memset(&f, 0, sizeof(f));
	strlcpy(f.name, "INBOX", sizeof(f.name));
	CHECK(mbox_stream_put_folder(&w, &f) == 0);
	strlcpy(f.name, "Sent", sizeof(f.name));
	CHECK(mbox_stream_put_folder(&w, &f) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 2 * sizeof(fh) + 5 + 4);
	CHECK(read_all(buf, len, 0) == 2);
	for (cut = 0; cut < len; cut++) {
		rc = read_all(buf, cut, 0);
		if (cut == 0)
			CHECK(rc == 0);
		else if (cut == sizeof(fh) + 5)
			CHECK(rc == 1);
		else
			CHECK(rc == -1);
	}
	mbox_stream_free(buf, len);

	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	memset(&m, 0, sizeof(m));
	strlcpy(m.keywords, "$K", sizeof(m.keywords));
	m.envelope = "(env)";
	m.envlen = 5;
	m.bodystructure = "(bs)";
	m.bslen = 4;
	CHECK(mbox_stream_put_msg(&w, &m) == 0);
	CHECK(mbox_stream_put_msg(&w, &m) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 2 * (sizeof(mh) + 2 + 5 + 4));
	CHECK(read_all(buf, len, 1) == 2);
	for (cut = 0; cut < len; cut++) {
		rc = read_all(buf, cut, 1);
		CHECK(rc == (cut == 0 ? 0 : cut == len / 2 ? 1 : -1));
	}
	/* Uids and pairs over the same bytes: only the length matters. */
	CHECK(read_all(buf, len & ~(size_t)3, 2) == (int)(len / 4));
	CHECK(read_all(buf, (len & ~(size_t)3) - 1, 2) == -1);
	CHECK(read_all(buf, 4, 3) == -1);
	CHECK(read_all(buf, 8, 3) == 1);
	mbox_stream_free(buf, len);

	/* Lengths past the end, huge, or with a NUL where none may be. */
	memset(&fh, 0, sizeof(fh));
	memset(hb, 'x', sizeof(hb));
	for (i = 0; i < 5; i++) {
		static const uint32_t	 bad[] = { 0, UINT32_MAX, 2000,
			    MBOX_NAME_MAX, 65 };
		fh.namelen = bad[i];
		memcpy(hb, &fh, sizeof(fh));
		CHECK(read_all(hb, sizeof(fh) + 64, 0) == -1);
	}
	fh.namelen = 64;
	memcpy(hb, &fh, sizeof(fh));
	CHECK(read_all(hb, sizeof(fh) + 64, 0) == 1);
	hb[sizeof(fh) + 10] = '\0';
	CHECK(read_all(hb, sizeof(fh) + 64, 0) == -1);

	memset(hb, 'x', sizeof(hb));
	for (i = 0; i < 8; i++) {
		static const uint32_t	 bad[][3] = {
			{ 65, 0, 0 }, { 0, 65, 0 }, { 0, 0, 65 },
			{ UINT32_MAX, 0, 0 }, { 0, UINT32_MAX, 0 },
			{ 0, 0, UINT32_MAX },
			{ MBOX_KWLIST_MAX, 0, 0 },
			{ 40, MBOX_STREAM_META_MAX, MBOX_STREAM_META_MAX },
		};
		memset(&mh, 0, sizeof(mh));
		mh.kwlen = bad[i][0];
		mh.envlen = bad[i][1];
		mh.bslen = bad[i][2];
		memcpy(hb, &mh, sizeof(mh));
		CHECK(read_all(hb, sizeof(mh) + 64, 1) == -1);
	}
	memset(&mh, 0, sizeof(mh));
	mh.kwlen = 20;
	mh.envlen = 30;
	mh.bslen = 14;
	memcpy(hb, &mh, sizeof(mh));
	CHECK(read_all(hb, sizeof(mh) + 64, 1) == 1);
	for (i = 0; i < 64; i += 13) {
		hb[sizeof(mh) + i] = '\0';
		CHECK(read_all(hb, sizeof(mh) + 64, 1) == -1);
		hb[sizeof(mh) + i] = 'x';
	}
	CHECK(read_all(hb, sizeof(mh) + 64, 1) == 1);

	/* A NULL buffer reads as empty. */
	mbox_stream_r_init(&r, NULL, 5);
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);

	test_stream_hostile_bodies();
}

int
main(void)
{
	mailapi_fixture_setup();
	RUN(test_setup);
	RUN(test_malformed);
	RUN(test_no_memfd);
	/* Should a check in it have failed with the limit lowered. */
	if (setrlimit(RLIMIT_NOFILE, &saved_nofile) == -1)
		return (1);
	RUN(test_stream_hostile);
	RUN(test_cleanup);
	mailapi_fixture_teardown();
	TEST_EXIT();
}
