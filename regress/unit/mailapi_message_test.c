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
 * vaultd's mailbox API (mailapi_request()) for messages, as a front sees
 * it over a real socketpair against a real vault, each step on what the
 * one before left: APPEND, FETCH, BODY, STORE, CHANGEDSINCE, COPY/MOVE,
 * EXPUNGE, SYNC, SEARCH, USAGE and BODIES.
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

static int	 raw_fd(const char *, size_t);
static void	 append_two(int, const char *);
static void	 search_op(struct search_program *, uint32_t, uint64_t,
		    const char *);
static uint32_t	 search(struct tsearch *, uint32_t *, size_t,
		    int *);
static int	 sync_call(const char *, uint64_t, struct mbox_folder *,
		    uint32_t *, uint32_t *, struct mbox_stream_msg *,
		    uint32_t *);
static void	*body_of(const char *, uint32_t, size_t *);
static uint64_t	 bodies_call(const struct mbox_range *, uint32_t,
		    const uint32_t *, size_t);
static void	 test_append(void);
static void	 test_fetch(void);
static void	 test_body(void);
static void	 test_store(void);
static void	 test_changedsince(void);
static void	 test_copy_move(void);
static void	 test_expunge(void);
static void	 test_sync(void);
static void	 test_search(void);
static void	 test_usage(void);
static void	 test_bodies(void);

/*
 * Two APPEND entries into fd, sealed: message 1 as it is, message 2
 * with keywords kw2.
 */
static void
append_two(int fd, const char *kw2)
{
	struct bundle	 b;
	void		*data;
	size_t		 len;
	int		 i, bfd;

	for (i = 1; i <= 2; i++) {
		bfd = bundle_fd(i);
		CHECK(bundle_map(bfd, &data, &len) == 0);
		close(bfd);
		CHECK(bundle_parse(data, len, &b) == 0);
		CHECK(mbox_append_put(fd, 0, i == 2 ? kw2 : NULL, &b) == 0);
		bundle_unmap(data, len);
	}
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == 0);
}

/* A bundle memfd for any raw message, with fixed metadata. */
static int
raw_fd(const char *raw, size_t len)
{
	struct bundle	 b;
	int		 fd;

	memset(&b, 0, sizeof(b));
	b.internaldate = 1700000000;
	b.sec[BUNDLE_RAW] = raw;
	b.len[BUNDLE_RAW] = len;
	b.sec[BUNDLE_ENVELOPE] = envelopes[1];
	b.len[BUNDLE_ENVELOPE] = strlen(envelopes[1]);
	b.sec[BUNDLE_BODYSTRUCTURE] = BODYSTRUCTURE;
	b.len[BUNDLE_BODYSTRUCTURE] = strlen(BODYSTRUCTURE);
	CHECK(bundle_write_fd(&b, &fd) == 0);
	return (fd);
}

static void
test_append(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_folder	 f;
	uint64_t			 before;
	int				 i, p[2], fd;

	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	for (i = 1; i <= 3; i++) {
		before = mbox_counter(alice->mbox);
		req(&q, MBOX_OP_APPEND, "INBOX");
		CHECK(call(&q, append_fd(bundle_fd(i), i == 1 ? MAILFLAG_SEEN :
		    0, i == 3 ? "$Food" : NULL), &res) == -1);
		CHECK(res.status == MBOX_OK);
		CHECK(res.a == f.info.uidvalidity);
		CHECK(res.b == (uint64_t)i);
		CHECK(mbox_counter(alice->mbox) > before);
		check_counter();
	}
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	CHECK(f.info.exists == 3 && f.info.unseen == 2 && f.info.uidnext == 4);
	CHECK(f.info.size == strlen(raws[1]) + strlen(raws[2]) +
	    strlen(raws[3]));

	req(&q, MBOX_OP_APPEND, "Nope");
	CHECK(call_status(&q, append_fd(bundle_fd(1), 0, NULL)) ==
	    MBOX_ENOTFOUND);
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK(call_status(&q, append_fd(bundle_fd(1), 0x100, NULL)) ==
	    MBOX_EINVAL);
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK(call_status(&q, append_fd(bundle_fd(1), 0, "bad\\keyword")) ==
	    MBOX_EINVAL);
	/* MULTIAPPEND: two entries in one fd, consecutive uids. */
	req(&q, MBOX_OP_CREATE, "Multi");
	CHECK(call_status(&q, -1) == MBOX_OK);
	CHECK((fd = memfd_create("two", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	append_two(fd, "$Two");
	req(&q, MBOX_OP_APPEND, "Multi");
	q.count = 2;
	CHECK(call(&q, fd, &res) == -1);
	CHECK(res.status == MBOX_OK && res.b == 1);
	CHECK(status_of_folder("Multi", &f) == MBOX_OK);
	CHECK(f.info.exists == 2 && f.info.uidnext == 3);
	/* A bad keyword in the second: neither is stored. */
	CHECK((fd = memfd_create("bad", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	append_two(fd, "bad\\kw");
	req(&q, MBOX_OP_APPEND, "Multi");
	q.count = 2;
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	CHECK(status_of_folder("Multi", &f) == MBOX_OK);
	CHECK(f.info.exists == 2 && f.info.uidnext == 3);
	req(&q, MBOX_OP_DELETE, "Multi");
	CHECK(call_status(&q, -1) == MBOX_OK);
	/* A bare bundle is not an APPEND entry. */
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK(call_status(&q, bundle_fd(1)) == MBOX_EINVAL);
	/* Counts: none, past the maximum, more than the fd holds. */
	req(&q, MBOX_OP_APPEND, "INBOX");
	q.count = MBOX_APPEND_MAX + 1;
	CHECK(call_status(&q, append_fd(bundle_fd(1), 0, NULL)) ==
	    MBOX_EINVAL);
	req(&q, MBOX_OP_APPEND, "INBOX");
	q.count = 2;
	CHECK(call_status(&q, append_fd(bundle_fd(1), 0, NULL)) ==
	    MBOX_EINVAL);
	/* Garbage: a memfd that is no bundle, a pipe, an empty memfd. */
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK((fd = memfd_create("junk", MFD_CLOEXEC)) != -1);
	CHECK(write(fd, "this is not a bundle at all, not even close", 43) ==
	    43);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "xx", 2) == 2);
	CHECK(call_status(&q, p[0]) == MBOX_EINVAL);
	close(p[1]);
	CHECK((fd = memfd_create("empty", MFD_CLOEXEC)) != -1);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	CHECK(f.info.exists == 3);
}

/* FETCH uid 1:* and check every record against what was appended. */
static void
test_fetch(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	struct mbox_stream_msg	 m;
	void			*buf;
	size_t			 len;
	uint32_t		 i;
	int			 fd;

	req(&q, MBOX_OP_FETCH, "inbox");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 3);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 1; i <= 3; i++) {
		CHECK(mbox_stream_next_msg(&r, &m) == 1);
		CHECK(m.uid == i && m.seq == i);
		CHECK(m.flags == (i == 1 ? MAILFLAG_SEEN : 0U));
		CHECK_STR(m.keywords, i == 3 ? "$Food" : "");
		CHECK(m.internaldate == 1700000000 + (int64_t)i);
		CHECK(m.size == strlen(raws[i]));
		CHECK(m.modseq > 0);
		CHECK(m.envlen == strlen(envelopes[i]) &&
		    memcmp(m.envelope, envelopes[i], m.envlen) == 0);
		CHECK(m.bslen == strlen(BODYSTRUCTURE) &&
		    memcmp(m.bodystructure, BODYSTRUCTURE, m.bslen) == 0);
	}
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	/* By sequence number, without metadata; "*:2" is "2:*". */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_SEQ | MBOX_FETCH_NOMETA;
	q.nranges = 1;
	q.ranges[0].first = UINT32_MAX;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 2; i <= 3; i++) {
		CHECK(mbox_stream_next_msg(&r, &m) == 1);
		CHECK(m.uid == i && m.seq == i);
		CHECK(m.envlen == 0 && m.envelope == NULL);
		CHECK(m.bslen == 0 && m.bodystructure == NULL);
		CHECK(m.size == strlen(raws[i]));
	}
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	/* Two ranges by uid; nothing matches 7:9. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.nranges = 2;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	q.ranges[1].first = 7;
	q.ranges[1].last = 9;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 3);
	CHECK(m.envlen == strlen(envelopes[3]));
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	req(&q, MBOX_OP_FETCH, "Nope");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	q.flags = 0x08;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
}

static void
test_body(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	void			*buf;
	size_t			 len;
	int			 fd;

	req(&q, MBOX_OP_BODY, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK);
	CHECK(res.a == strlen(raws[2]));
	buf = result_buf(fd, &len);
	CHECK(len == strlen(raws[2]) && memcmp(buf, raws[2], len) == 0);
	mbox_stream_free(buf, len);
	q.ranges[0].first = 99;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	q.ranges[0].first = 0;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
}

static void
test_store(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	struct mbox_stream_msg	 m;
	void			*buf;
	size_t			 len;
	uint64_t		 ms[4], before;
	uint32_t		 i, uid;
	int			 fd;

	/* \Flagged on all three: each changes, with a new modseq. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_FLAGGED;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 3 && res.a == 0);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 1; i <= 3; i++) {
		CHECK(mbox_stream_next_msg(&r, &m) == 1);
		CHECK(m.uid == i && m.seq == i);
		CHECK((m.flags & MAILFLAG_FLAGGED) != 0);
		CHECK(m.envlen == 0 && m.bslen == 0);
		ms[i] = m.modseq;
	}
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);
	CHECK(ms[1] < ms[2] && ms[2] < ms[3]);

	/* Again: nothing changes, nothing is committed, the fd is empty. */
	before = mbox_counter(alice->mbox);
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0 && res.a == 0);
	buf = result_buf(fd, &len);
	CHECK(len == 0);
	mbox_stream_free(buf, len);
	CHECK(mbox_counter(alice->mbox) == before);

	/* A keyword on uid 2 only: it moves past the others. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	strlcpy(q.keywords, "$Work", sizeof(q.keywords));
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 2);
	CHECK_STR(m.keywords, "$Work");
	CHECK(m.modseq > ms[3]);
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	/* UNCHANGEDSINCE: 1 and 3 change, 2 fails the condition. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_REMOVE;
	q.flags = MAILFLAG_FLAGGED;
	q.modseq = ms[3];
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 3;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2 && res.a == 1);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 1);
	CHECK((m.flags & MAILFLAG_FLAGGED) == 0);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 3);
	CHECK((m.flags & MAILFLAG_FLAGGED) == 0);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 2);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);

	/* STORE_REPLACE of the keywords; then the refusals. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_REPLACE;
	q.flags = MAILFLAG_SEEN;
	q.nranges = 1;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 3);
	CHECK(m.flags == MAILFLAG_SEEN && m.keywords[0] == '\0');
	mbox_stream_free(buf, len);
	q.store_op = 7;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.store_op = STORE_ADD;
	q.flags = 0x40;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.flags = 0;
	strlcpy(q.keywords, "\\Seen", sizeof(q.keywords));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	check_counter();
}

/* FETCH CHANGEDSINCE: what a STORE changed, and nothing else. */
static void
test_changedsince(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_stream_r		 r;
	struct mbox_stream_msg		 m;
	struct mbox_folder	 f;
	void				*buf;
	size_t				 len;
	uint64_t			 since, ms;
	int				 fd;

	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	since = f.info.highestmodseq;
	CHECK(since > 0);
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_CHANGEDSINCE;
	q.modseq = since;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	buf = result_buf(fd, &len);
	CHECK(len == 0);
	mbox_stream_free(buf, len);

	/* \Answered on uid 2: it alone comes back, in full. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_ANSWERED;
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	close(fd);
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_CHANGEDSINCE;
	q.modseq = since;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1);
	CHECK(m.uid == 2 && m.seq == 2 && m.modseq > since);
	CHECK((m.flags & MAILFLAG_ANSWERED) != 0);
	CHECK_STR(m.keywords, "$Work");
	CHECK(m.envlen == strlen(envelopes[2]) &&
	    memcmp(m.envelope, envelopes[2], m.envlen) == 0);
	CHECK(m.bslen == strlen(BODYSTRUCTURE));
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	ms = f.info.highestmodseq;
	CHECK(ms > since);

	/* By sequence number, without metadata, in two ranges. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_CHANGEDSINCE | MBOX_FETCH_SEQ | MBOX_FETCH_NOMETA;
	q.modseq = since;
	q.nranges = 2;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	q.ranges[1].first = 1;
	q.ranges[1].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1);
	CHECK(m.uid == 2 && m.seq == 2 && m.envelope == NULL);
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);
	/* Outside the ranges: nothing. */
	q.nranges = 1;
	q.ranges[0].first = 3;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	close(fd);
	/* Since the new highest modseq: nothing. */
	q.modseq = ms;
	q.ranges[0].first = 1;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	close(fd);

	/* The flag needs a modseq, and one SQLite can hold. */
	q.modseq = 0;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.modseq = (uint64_t)INT64_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.modseq = UINT64_MAX;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	/* Without the flag, a modseq changes nothing. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.modseq = ms;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 3);
	close(fd);
}

static void
test_copy_move(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_stream_r		 r;
	struct mbox_folder	 archive, trash, inbox;
	void				*buf;
	size_t				 len;
	uint32_t			 a, b, uid;
	int				 fd;

	CHECK(status_of_folder("Archive", &archive) == MBOX_OK);
	req(&q, MBOX_OP_COPY, "INBOX");
	strlcpy(q.folder2, "Archive", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2);
	CHECK(res.a == archive.info.uidvalidity);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 1 && b == 1);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 2 && b == 2);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("Archive", &archive) == MBOX_OK);
	CHECK(archive.info.exists == 2);

	/* MOVE uid 3 to Trash; INBOX reports it vanished. */
	CHECK(status_of_folder("INBOX", &inbox) == MBOX_OK);
	CHECK(status_of_folder("Trash", &trash) == MBOX_OK);
	req(&q, MBOX_OP_MOVE, "INBOX");
	strlcpy(q.folder2, "Trash", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	CHECK(res.a == trash.info.uidvalidity);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 3 && b == 1);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 0);
	mbox_stream_free(buf, len);

	req(&q, MBOX_OP_VANISHED, "INBOX");
	q.modseq = inbox.info.highestmodseq;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 3);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("INBOX", &inbox) == MBOX_OK);
	CHECK(inbox.info.exists == 2);

	req(&q, MBOX_OP_COPY, "INBOX");
	strlcpy(q.folder2, "Nope", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	/* MOVE to the folder itself: a copy, then an expunge (RFC 6851
	 * 3.3); Archive's uid 2 becomes 3. */
	req(&q, MBOX_OP_MOVE, "Archive");
	strlcpy(q.folder2, "Archive", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 2 && b == 3);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("Archive", &archive) == MBOX_OK);
	CHECK(archive.info.exists == 2);
}

static void
test_expunge(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_stream_r		 r;
	struct mbox_folder	 f;
	void				*buf;
	size_t				 len;
	uint32_t			 uid;
	int				 fd;

	req(&q, MBOX_OP_STORE, "Archive");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_DELETED;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2);
	close(fd);

	/* UID EXPUNGE 3 (was 2 before the MOVE to Archive itself), then
	 * everything \Deleted that is left. */
	req(&q, MBOX_OP_EXPUNGE, "Archive");
	q.nranges = 1;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 3);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);

	req(&q, MBOX_OP_EXPUNGE, "Archive");
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 1);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("Archive", &f) == MBOX_OK);
	CHECK(f.info.exists == 0);

	/* Nothing left to expunge: OK, empty. */
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	close(fd);
	req(&q, MBOX_OP_EXPUNGE, "Nope");
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
}

static void
search_op(struct search_program *p, uint32_t op, uint64_t num,
    const char *str)
{
	struct search_op_s	*o = &p->ops[p->nops++];

	o->op = op;
	o->num = num;
	if (str != NULL)
		strlcpy(o->str, str, sizeof(o->str));
}

static uint32_t
search(struct tsearch *s, uint32_t *uids, size_t max, int *status)
{
	static unsigned char	 wbuf[MBOX_REQ_WIRE_MAX + 4096];
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	void			*buf;
	size_t			 len, blen;
	uint32_t		 n = 0;
	int			 fd, ok, rc;

	blen = wire(wbuf, s->session, MBOX_OP_SEARCH, NULL, 0, NULL, 0,
	    &s->program, s->folder, "", "");
	ok = mbox_req_size_ok(wbuf, blen);
	fd = call_raw(IMSG_MBOX_REQUEST, wbuf, blen, -1, ok, &res);
	*status = res.status;
	if (fd == -1)
		return (0);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	while (n < max && (rc = mbox_stream_next_uid(&r, &uids[n])) == 1)
		n++;
	CHECK(mbox_stream_next_uid(&r, &uids[0]) == 0);
	mbox_stream_free(buf, len);
	CHECK(n == res.count);
	return (n);
}

/*
 * One SYNC of folder since modseq: the folder record into f, the
 * vanished uids (*nv of them, up to 8) and the message records (*nm,
 * up to 8, envelope and bodystructure empty).  The status.
 */
static int
sync_call(const char *folder, uint64_t since, struct mbox_folder *f,
    uint32_t *vanished, uint32_t *nv, struct mbox_stream_msg *msgs,
    uint32_t *nm)
{
	struct treq		 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	void			*buf;
	size_t			 len;
	uint32_t		 i;
	int			 fd;

	*nv = *nm = 0;
	req(&q, MBOX_OP_SYNC, folder);
	q.modseq = since;
	if ((fd = call(&q, -1, &res)) == -1)
		return (res.status);
	CHECK(res.a <= 8 && res.count <= 8);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_folder(&r, f) == 1);
	for (i = 0; i < res.a; i++)
		CHECK(mbox_stream_next_uid(&r, &vanished[i]) == 1);
	for (i = 0; i < res.count; i++) {
		CHECK(mbox_stream_next_msg(&r, &msgs[i]) == 1);
		CHECK(msgs[i].envlen == 0 && msgs[i].bslen == 0);
		CHECK(i == 0 || msgs[i].uid > msgs[i - 1].uid);
	}
	/* Exactly that, nothing after. */
	CHECK(r.off == r.len);
	mbox_stream_free(buf, len);
	*nv = res.a;
	*nm = res.count;
	return (MBOX_OK);
}

/* SYNC: status, vanished and changed since, in one answer. */
static void
test_sync(void)
{
	struct treq		 q;
	struct mbox_folder	 f, g;
	struct mbox_stream_msg	 m[8];
	struct msg_mbox_result	 res;
	uint32_t		 v[8], nv, nm, i;
	uint64_t		 h0, h1;
	int			 fd;

	req(&q, MBOX_OP_CREATE, "Sync");
	CHECK(call_status(&q, -1) == MBOX_OK);
	for (i = 1; i <= 3; i++) {
		req(&q, MBOX_OP_APPEND, "Sync");
		CHECK(call_status(&q, append_fd(bundle_fd(i), 0, NULL)) ==
		    MBOX_OK);
	}
	CHECK(status_of_folder("Sync", &g) == MBOX_OK);
	h0 = g.info.highestmodseq;

	/* Since 0: every message, nothing vanished. */
	CHECK(sync_call("Sync", 0, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(f.info.exists == 3 && f.info.uidnext == 4 &&
	    f.info.highestmodseq == h0);
	CHECK(f.info.uidvalidity == g.info.uidvalidity);
	CHECK_STR(f.name, "Sync");
	CHECK(nv == 0 && nm == 3);
	CHECK(m[0].uid == 1 && m[1].uid == 2 && m[2].uid == 3);
	CHECK(m[0].seq == 1 && m[2].seq == 3);
	/* Since now: the status alone. */
	CHECK(sync_call("Sync", h0, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(f.info.exists == 3 && nv == 0 && nm == 0);

	/* A flag on 2, 1 expunged: both come in one answer. */
	req(&q, MBOX_OP_STORE, "Sync");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_FLAGGED;
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 2;
	CHECK((fd = call(&q, -1, &res)) != -1 && res.status == MBOX_OK);
	close(fd);
	req(&q, MBOX_OP_STORE, "Sync");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_DELETED;
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	CHECK((fd = call(&q, -1, &res)) != -1 && res.status == MBOX_OK);
	close(fd);
	req(&q, MBOX_OP_EXPUNGE, "Sync");
	CHECK((fd = call(&q, -1, &res)) != -1 && res.status == MBOX_OK);
	close(fd);
	CHECK(sync_call("Sync", h0, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(f.info.exists == 2 && f.info.highestmodseq > h0);
	CHECK(nv == 1 && v[0] == 1);
	CHECK(nm == 1 && m[0].uid == 2 && m[0].seq == 1);
	CHECK((m[0].flags & MAILFLAG_FLAGGED) && m[0].modseq > h0);
	h1 = f.info.highestmodseq;
	CHECK(sync_call("Sync", h1, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(nv == 0 && nm == 0);

	/* Refused: no folder, a modseq out of range, a set. */
	CHECK(sync_call("Nope", h0, &f, v, &nv, m, &nm) == MBOX_ENOTFOUND);
	CHECK(sync_call("Sync", (uint64_t)INT64_MAX + 1, &f, v, &nv, m,
	    &nm) == MBOX_EINVAL);
	req(&q, MBOX_OP_SYNC, "Sync");
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	/* Another account's session: log in again. */
	req(&q, MBOX_OP_SYNC, "Sync");
	q.session = sid_smtpd;
	CHECK(call_status(&q, -1) == MBOX_ESESSION);

	req(&q, MBOX_OP_DELETE, "Sync");
	CHECK(call_status(&q, -1) == MBOX_OK);
	check_counter();
}

static void
test_search(void)
{
	static struct tsearch	 s;
	uint32_t			 uids[8];
	int				 status;

	/* INBOX: 1 "project alpha" \Seen, 2 "project beta". */
	memset(&s, 0, sizeof(s));
	s.session = sid;
	strlcpy(s.folder, "INBOX", sizeof(s.folder));
	search_op(&s.program, SEARCH_SUBJECT, 0, "project");
	CHECK(search(&s, uids, nitems(uids), &status) == 2);
	CHECK(status == MBOX_OK && uids[0] == 1 && uids[1] == 2);
	search_op(&s.program, SEARCH_FLAG, MAILFLAG_SEEN, NULL);
	search_op(&s.program, SEARCH_NOT, 0, NULL);
	search_op(&s.program, SEARCH_AND, 0, NULL);
	CHECK(search(&s, uids, nitems(uids), &status) == 1);
	CHECK(status == MBOX_OK && uids[0] == 2);

	memset(&s.program, 0, sizeof(s.program));
	search_op(&s.program, SEARCH_SUBJECT, 0, "lunch");
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_OK);
	strlcpy(s.folder, "Trash", sizeof(s.folder));
	CHECK(search(&s, uids, nitems(uids), &status) == 1);
	CHECK(status == MBOX_OK && uids[0] == 1);

	strlcpy(s.folder, "Nope", sizeof(s.folder));
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_ENOTFOUND);
	strlcpy(s.folder, "INBOX", sizeof(s.folder));
	/* Two keys and no operator: not a program. */
	search_op(&s.program, SEARCH_ALL, 0, NULL);
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_EINVAL);
	memset(&s.program, 0, sizeof(s.program));
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_EINVAL);
	search_op(&s.program, SEARCH_ALL, 0, NULL);
	memset(s.folder, 'A', sizeof(s.folder));
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_EINVAL);
	strlcpy(s.folder, "INBOX", sizeof(s.folder));
	s.session = sid_smtpd;
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_ESESSION);
	s.session = sid;
	CHECK(search(&s, uids, nitems(uids), &status) == 2);
	CHECK(status == MBOX_OK);
}

static void
test_usage(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;

	/* INBOX 1 and 2, Trash 1 (was INBOX 3); Archive is empty. */
	req(&q, MBOX_OP_USAGE, "");
	CHECK(call(&q, -1, &res) == -1);
	CHECK(res.status == MBOX_OK);
	CHECK(res.b == 3);
	CHECK(res.a == strlen(raws[1]) + strlen(raws[2]) + strlen(raws[3]));
}

#define BULK_BIG	(3 * 1024 * 1024 + 5)

/* One message by BODY, the one-at-a-time way BODIES must match. */
static void *
body_of(const char *folder, uint32_t uid, size_t *lenp)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	void			*buf;
	int			 fd;

	req(&q, MBOX_OP_BODY, folder);
	q.nranges = 1;
	q.ranges[0].first = uid;
	q.ranges[0].last = uid;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK);
	buf = result_buf(fd, lenp);
	CHECK(res.a == *lenp);
	return (buf);
}

/*
 * A BODIES request on "Bulk": the records must be the uids of want, in
 * that order, each exactly the bytes BODY gives for it.  Returns b.
 */
static uint64_t
bodies_call(const struct mbox_range *ranges, uint32_t nranges,
    const uint32_t *want, size_t nwant)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	const char		*data;
	void			*buf, *one;
	size_t			 len, onelen, dlen, i;
	uint32_t		 uid;
	int			 fd;

	req(&q, MBOX_OP_BODIES, "Bulk");
	q.nranges = nranges;
	memcpy(q.ranges, ranges, nranges * sizeof(*ranges));
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK);
	CHECK(res.count == nwant && res.a == 0);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 0; i < nwant; i++) {
		CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
		CHECK(uid == want[i]);
		one = body_of("Bulk", uid, &onelen);
		CHECK(dlen == onelen && memcmp(data, one, dlen) == 0);
		mbox_stream_free(one, onelen);
	}
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);
	CHECK(r.off == len);
	mbox_stream_free(buf, len);
	return (res.b);
}

/*
 * BODIES end to end: many messages in one answer, ascending, expunged
 * ones skipped, cut by the budget, and b telling where to go on.
 */
static void
test_bodies(void)
{
	static const char *const small[] = {
		"From: a@example.org\r\nSubject: one\r\n\r\nFirst.\r\n",
		"From: a@example.org\r\nSubject: two\r\n\r\nSecond.\r\n",
		"From: a@example.org\r\nSubject: five\r\n\r\nFifth.\r\n",
	};
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_range	 rg[3];
	char			*big;
	void			*buf;
	size_t			 i, len;
	uint32_t		 want[2];
	int			 fd;

	CHECK((big = malloc(BULK_BIG)) != NULL);
	for (i = 0; i < BULK_BIG; i++)
		big[i] = "Subject: big\r\n"[i % 14];
	req(&q, MBOX_OP_CREATE, "Bulk");
	CHECK(call_status(&q, -1) == MBOX_OK);
	/* Uids 1 small, 2 small, 3 big, 4 big (another), 5 small. */
	for (i = 1; i <= 5; i++) {
		req(&q, MBOX_OP_APPEND, "Bulk");
		if (i == 3 || i == 4) {
			big[BULK_BIG - 3] = i == 3 ? 'x' : 'y';
			fd = raw_fd(big, BULK_BIG);
		} else
			fd = raw_fd(small[i == 5 ? 2 : i - 1],
			    strlen(small[i == 5 ? 2 : i - 1]));
		CHECK(call(&q, append_fd(fd, 0, NULL), &res) == -1);
		CHECK(res.status == MBOX_OK && res.b == i);
	}
	req(&q, MBOX_OP_STORE, "Bulk");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_DELETED;
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	/* Two statements: the order of arguments is unspecified. */
	buf = result_buf(fd, &len);
	mbox_stream_free(buf, len);
	req(&q, MBOX_OP_EXPUNGE, "Bulk");
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	/* Two statements: the order of arguments is unspecified. */
	buf = result_buf(fd, &len);
	mbox_stream_free(buf, len);

	/* 1:*: the budget stops before the second big one. */
	CHECK(1 + 2 * (size_t)BULK_BIG > MBOX_BODIES_BUDGET);
	rg[0].first = 1;
	rg[0].last = UINT32_MAX;
	want[0] = 1;
	want[1] = 3;
	CHECK(bodies_call(rg, 1, want, 2) == 3);
	/* Going on after b: the rest, and b says there is no more. */
	rg[0].first = 4;
	want[0] = 4;
	want[1] = 5;
	CHECK(bodies_call(rg, 1, want, 2) == UINT32_MAX);
	/* Unsorted and reversed, with the expunged uid: ascending, once. */
	rg[0].first = 5;
	rg[0].last = 5;
	rg[1].first = 1;
	rg[1].last = 2;
	rg[2].first = 2;
	rg[2].last = 1;
	want[0] = 1;
	want[1] = 5;
	CHECK(bodies_call(rg, 3, want, 2) == 5);
	/* Nothing there: an empty stream, and done. */
	rg[0].first = 7;
	rg[0].last = 9;
	CHECK(bodies_call(rg, 1, want, 0) == 9);

	/* BODY (and so BODIES) gives back the bytes appended. */
	buf = body_of("Bulk", 3, &len);
	big[BULK_BIG - 3] = 'x';
	CHECK(len == BULK_BIG && memcmp(buf, big, len) == 0);
	mbox_stream_free(buf, len);
	buf = body_of("Bulk", 5, &len);
	CHECK(len == strlen(small[2]) && memcmp(buf, small[2], len) == 0);
	mbox_stream_free(buf, len);

	/* No such folder, here or for another account; no such session. */
	req(&q, MBOX_OP_BODIES, "Nope");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	strlcpy(q.folder, "Bulk", sizeof(q.folder));
	q.session = sid_bob;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	q.session = sid_smtpd;		/* alice's, but another role's */
	CHECK(call_status(&q, -1) == MBOX_ESESSION);
	check_counter();
	free(big);
}

int
main(void)
{
	mailapi_fixture_setup();
	RUN(test_setup);
	RUN(test_append);
	RUN(test_fetch);
	RUN(test_body);
	RUN(test_store);
	RUN(test_changedsince);
	RUN(test_copy_move);
	RUN(test_expunge);
	RUN(test_sync);
	RUN(test_search);
	RUN(test_usage);
	RUN(test_bodies);
	RUN(test_cleanup);
	mailapi_fixture_teardown();
	TEST_EXIT();
}
