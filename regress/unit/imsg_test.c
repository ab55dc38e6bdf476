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
 * Unit tests for common/base/imsg.c: both ends of each channel live in this
 * process on a non-blocking socketpair, so every loop below only ever
 * makes non-blocking calls and is bounded by an iteration count.  The
 * malformed cases are written with raw send()/sendmsg() on the socket.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "test.h"

#define MAXLOOPS	100000	/* bound on any pump loop */
#define BIGSIZE		(1024 * 1024)

TEST_GLOBALS;

static int	 count_fds(void);
static void	 mkpair(int [2]);
static void	 mkpipe(int [2]);
static void	 fill(unsigned char *, size_t, unsigned int);
static void	 mkhdr(unsigned char *, uint32_t, uint32_t, uint32_t,
		    uint32_t);
static void	 raw_send(int, const void *, size_t, const int *, int);
static int	 pump(struct imsgbuf *, struct imsgbuf *, struct imsg *,
		    int);
static int	 pipe_eof(int);
static int	 fd_open(int);
static void	 check_fd_pipe(int, int, char);

static void	 test_set_maxsize(void);
static void	 test_roundtrip(void);
static void	 test_composev(void);
static void	 test_fdpass(void);
static void	 test_fd_interleave(void);
static void	 test_split_reads(void);
static void	 test_split_fd(void);
static void	 test_large(void);
static void	 test_large_fd(void);
static void	 test_read_refuses_full(void);
static void	 test_bad_len_short(void);
static void	 test_bad_len_big(void);
static void	 test_fdmark_nofd(void);
static void	 test_fd_not_allowed(void);
static void	 test_ctrunc(void);
static void	 test_too_many_fds(void);
static void	 test_compose_too_big(void);
static void	 test_eof(void);
static void	 test_get_data(void);
static void	 test_free_closes(void);
static void	 test_clear_closes(void);
static void	 test_write_epipe(void);
static void	 test_flush(void);

/* Open fds of this process (the directory's own fd included). */
static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static void
mkpair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
}

/* Non-blocking, so that pipe_eof() can tell "closed" from "open". */
static void
mkpipe(int p[2])
{
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
}

static void
fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((i * 31 + seed * 7 + (i >> 8)) & 0xff);
}

static void
mkhdr(unsigned char *out, uint32_t type, uint32_t len, uint32_t peerid,
    uint32_t pid)
{
	struct imsg_hdr	 hdr;

	hdr.type = type;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = pid;
	memcpy(out, &hdr, sizeof(hdr));
}

/* Send bytes (and fds) as they are, bypassing imsg. */
static void
raw_send(int s, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(sizeof(int) * 32)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;

	CHECK(nfds >= 0 && nfds <= 32);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	CHECK(sendmsg(s, &msg, MSG_NOSIGNAL) == (ssize_t)len);
}

/*
 * Move messages from w to r until want of them have been taken from r
 * (stored in out[]).  Fails the test on any error or if it does not get
 * there within MAXLOOPS rounds.
 */
static int
pump(struct imsgbuf *w, struct imsgbuf *r, struct imsg *out, int want)
{
	ssize_t	 n;
	int	 got = 0, loops;

	for (loops = 0; got < want && loops < MAXLOOPS; loops++) {
		CHECK(imsgbuf_write(w) == 0);
		n = imsgbuf_read(r);
		CHECK(n != 0);
		if (n == -1) {
			CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
		}
		CHECK(r->rsize <= r->maxsize + 65536);
		while (got < want) {
			n = imsg_get(r, &out[got]);
			CHECK(n != -1);
			if (n == 0)
				break;
			got++;
		}
	}
	CHECK(got == want);
	return (got);
}

/* 1 if every write end of the pipe whose read end is fd is closed. */
static int
pipe_eof(int fd)
{
	char	 c;

	return (read(fd, &c, 1) == 0);
}

static int
fd_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

/* Write c through wfd and expect it on the pipe read end rfd. */
static void
check_fd_pipe(int wfd, int rfd, char c)
{
	char	 got;

	CHECK(write(wfd, &c, 1) == 1);
	CHECK(read(rfd, &got, 1) == 1);
	CHECK(got == c);
}

static void
test_set_maxsize(void)
{
	struct imsgbuf	 ib;

	CHECK(imsgbuf_init(&ib, -1) == 0);
	CHECK(ib.maxsize == IMSG_MAXSIZE);
	CHECK(ib.pid == getpid());
	errno = 0;
	CHECK(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE - 1) == -1);
	CHECK(errno == EINVAL);
	errno = 0;
	CHECK(imsgbuf_set_maxsize(&ib, IMSG_MAXSIZE_LIMIT + 1) == -1);
	CHECK(errno == EINVAL);
	CHECK(ib.maxsize == IMSG_MAXSIZE);
	CHECK(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE) == 0);
	CHECK(ib.maxsize == IMSG_HEADER_SIZE);
	CHECK(imsgbuf_set_maxsize(&ib, IMSG_MAXSIZE_LIMIT) == 0);
	CHECK(ib.maxsize == IMSG_MAXSIZE_LIMIT);
	imsgbuf_clear(&ib);
}

static void
test_roundtrip(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 100, 4000,
	    IMSG_MAXSIZE - IMSG_HEADER_SIZE, 0 };
	struct imsg	 got[8];
	struct imsgbuf	 a, b;
	unsigned char	*buf;
	size_t		 i, n = sizeof(sizes) / sizeof(sizes[0]);
	pid_t		 pid;
	int		 sv[2];

	CHECK(n <= sizeof(got) / sizeof(got[0]));
	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	CHECK((buf = malloc(IMSG_MAXSIZE)) != NULL);
	for (i = 0; i < n; i++) {
		fill(buf, sizes[i], i);
		pid = (i % 2) ? 0 : (pid_t)(4242 + i);
		CHECK(imsg_compose(&a, 100 + i, 0xdead0000U + i, pid, -1,
		    sizes[i] ? buf : NULL, sizes[i]) == 0);
	}
	CHECK(imsgbuf_queuelen(&a) == n);
	pump(&a, &b, got, n);
	CHECK(imsgbuf_queuelen(&a) == 0);
	for (i = 0; i < n; i++) {
		CHECK(got[i].hdr.type == 100 + i);
		CHECK(got[i].hdr.peerid == 0xdead0000U + i);
		if (i % 2)
			CHECK(got[i].hdr.pid == (uint32_t)getpid());
		else
			CHECK(got[i].hdr.pid == 4242 + i);
		CHECK(got[i].hdr.len == IMSG_HEADER_SIZE + sizes[i]);
		CHECK(got[i].datalen == sizes[i]);
		CHECK(got[i].fd == -1);
		if (sizes[i] == 0)
			CHECK(got[i].data == NULL);
		else {
			fill(buf, sizes[i], i);
			CHECK(got[i].data != NULL);
			CHECK(memcmp(got[i].data, buf, sizes[i]) == 0);
		}
		imsg_free(&got[i]);
	}
	CHECK(imsg_get(&b, &got[0]) == 0);
	CHECK(b.rlen == 0);
	free(buf);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_composev(void)
{
	struct iovec	 iov[5], big[3];
	struct imsg	 got[2];
	struct imsgbuf	 a, b;
	int		 sv[2];

	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	iov[0].iov_base = "abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = "defgh";
	iov[2].iov_len = 5;
	iov[3].iov_base = "";
	iov[3].iov_len = 0;
	iov[4].iov_base = "ij";
	iov[4].iov_len = 2;
	CHECK(imsg_composev(&a, 5, 6, 7, -1, iov, 5) == 0);
	CHECK(imsg_composev(&a, 8, 9, 10, -1, NULL, 0) == 0);

	/* Each part fits, their sum does not. */
	big[0].iov_base = iov[0].iov_base;
	big[0].iov_len = IMSG_MAXSIZE / 2;
	big[1] = big[0];
	big[2] = big[0];
	errno = 0;
	CHECK(imsg_composev(&a, 1, 1, 1, -1, big, 3) == -1);
	CHECK(errno == ERANGE);
	CHECK(imsgbuf_queuelen(&a) == 2);

	pump(&a, &b, got, 2);
	CHECK(got[0].hdr.type == 5 && got[0].hdr.peerid == 6 &&
	    got[0].hdr.pid == 7);
	CHECK(got[0].datalen == 10);
	CHECK(memcmp(got[0].data, "abcdefghij", 10) == 0);
	CHECK(got[1].hdr.type == 8 && got[1].hdr.peerid == 9 &&
	    got[1].hdr.pid == 10);
	CHECK(got[1].datalen == 0 && got[1].data == NULL);
	CHECK(got[1].hdr.len == IMSG_HEADER_SIZE);
	imsg_free(&got[0]);
	imsg_free(&got[1]);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fdpass(void)
{
	struct imsg	 got;
	struct imsgbuf	 a, b;
	int		 sv[2], p[2], fd, base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	CHECK(imsg_compose(&a, 1, 2, 0, p[1], "x", 1) == 0);
	CHECK(imsgbuf_write(&a) == 0);
	CHECK(imsgbuf_queuelen(&a) == 0);
	/* Sent: the buffer closed its copy. */
	CHECK(!fd_open(p[1]));

	pump(&a, &b, &got, 1);
	CHECK(got.hdr.len == IMSG_HEADER_SIZE + 1);
	CHECK(got.fd != -1);
	fd = imsg_get_fd(&got);
	CHECK(fd != -1 && got.fd == -1);
	CHECK(imsg_get_fd(&got) == -1);
	imsg_free(&got);
	/* imsg_free() must not close an fd the caller took. */
	CHECK(fd_open(fd));
	check_fd_pipe(fd, p[0], 'h');
	check_fd_pipe(fd, p[0], 'i');
	close(fd);
	CHECK(pipe_eof(p[0]));
	close(p[0]);
	CHECK(b.nfds == 0);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* fd and no-fd messages in one batch: each fd goes to its own message. */
static void
test_fd_interleave(void)
{
	static const int hasfd[] = { 1, 0, 0, 1, 1, 0, 1 };
	struct imsg	 got[7];
	struct imsgbuf	 a, b;
	int		 p[7][2], sv[2], i, base;

	base = count_fds();
	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	for (i = 0; i < 7; i++) {
		p[i][0] = p[i][1] = -1;
		if (hasfd[i])
			mkpipe(p[i]);
		CHECK(imsg_compose(&a, 50 + i, i, 0, p[i][1], &i,
		    sizeof(i)) == 0);
	}
	pump(&a, &b, got, 7);
	for (i = 0; i < 7; i++) {
		CHECK(got[i].hdr.type == (uint32_t)(50 + i));
		CHECK(got[i].hdr.len == IMSG_HEADER_SIZE + sizeof(int));
		if (!hasfd[i]) {
			CHECK(got[i].fd == -1);
			continue;
		}
		CHECK(got[i].fd != -1);
		check_fd_pipe(got[i].fd, p[i][0], 'A' + i);
		imsg_free(&got[i]);
		CHECK(pipe_eof(p[i][0]));
		close(p[i][0]);
	}
	for (i = 0; i < 7; i++)
		imsg_free(&got[i]);
	CHECK(b.nfds == 0);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* Bytes trickle in one at a time: nothing until a message is whole. */
static void
test_split_reads(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE * 2 + 5];
	struct imsg	 m;
	struct imsgbuf	 b;
	size_t		 i, end1 = IMSG_HEADER_SIZE + 5;
	ssize_t		 n;
	int		 sv[2];

	mkpair(sv);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	mkhdr(wire, 7, IMSG_HEADER_SIZE + 5, 9, 77);
	memcpy(wire + IMSG_HEADER_SIZE, "hello", 5);
	mkhdr(wire + end1, 8, IMSG_HEADER_SIZE, 10, 78);
	CHECK(imsg_get(&b, &m) == 0);
	for (i = 0; i < sizeof(wire); i++) {
		CHECK(write(sv[0], wire + i, 1) == 1);
		CHECK(imsgbuf_read(&b) == 1);
		n = imsg_get(&b, &m);
		if (i + 1 == end1) {
			CHECK(n == (ssize_t)end1);
			CHECK(m.hdr.type == 7 && m.hdr.peerid == 9 &&
			    m.hdr.pid == 77);
			CHECK(m.datalen == 5);
			CHECK(memcmp(m.data, "hello", 5) == 0);
			imsg_free(&m);
			CHECK(b.rlen == 0);
		} else if (i + 1 == sizeof(wire)) {
			CHECK(n == IMSG_HEADER_SIZE);
			CHECK(m.hdr.type == 8 && m.datalen == 0);
			imsg_free(&m);
		} else {
			CHECK(n == 0);
			CHECK(m.data == NULL && m.fd == -1);
		}
	}
	/* Nothing more to read. */
	CHECK(imsgbuf_read(&b) == -1 && errno == EAGAIN);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

/* An fd that comes with the first byte of a message read bit by bit. */
static void
test_split_fd(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE + 3];
	struct imsg	 m;
	struct imsgbuf	 b;
	size_t		 i;
	int		 sv[2], p[2], base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	mkhdr(wire, 3, (IMSG_HEADER_SIZE + 3) | IMSG_FD_MARK, 0, 1);
	memcpy(wire + IMSG_HEADER_SIZE, "abc", 3);
	raw_send(sv[0], wire, 1, &p[1], 1);
	close(p[1]);
	for (i = 0; i < sizeof(wire); i++) {
		if (i > 0)
			CHECK(write(sv[0], wire + i, 1) == 1);
		CHECK(imsgbuf_read(&b) == 1);
		CHECK(b.nfds == 1);
		if (i + 1 < sizeof(wire))
			CHECK(imsg_get(&b, &m) == 0);
	}
	CHECK(imsg_get(&b, &m) == (ssize_t)sizeof(wire));
	CHECK(m.hdr.len == sizeof(wire));
	CHECK(m.fd != -1 && b.nfds == 0);
	check_fd_pipe(m.fd, p[0], 'z');
	imsg_free(&m);
	CHECK(pipe_eof(p[0]));
	close(p[0]);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* Messages larger than the socket buffer, writer and reader interleaved. */
static void
test_large(void)
{
	static const size_t sizes[] = { BIGSIZE - IMSG_HEADER_SIZE, 10,
	    BIGSIZE - IMSG_HEADER_SIZE, 0, 300000 };
	struct imsg	 got[5];
	struct imsgbuf	 a, b;
	unsigned char	*buf;
	size_t		 i;
	int		 sv[2], sndbuf = 65536;

	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	CHECK(imsgbuf_set_maxsize(&a, BIGSIZE) == 0);
	CHECK(imsgbuf_set_maxsize(&b, BIGSIZE) == 0);
	CHECK((buf = malloc(BIGSIZE)) != NULL);
	for (i = 0; i < 5; i++) {
		fill(buf, sizes[i], i + 1);
		CHECK(imsg_compose(&a, 1000 + i, i, 0, -1, buf,
		    sizes[i]) == 0);
	}
	/* One megabyte does not fit in the socket: the write must stop. */
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == 0);
	CHECK(imsgbuf_write(&a) == 0);
	CHECK(imsgbuf_queuelen(&a) == 5);
	CHECK(a.outq != NULL);
	pump(&a, &b, got, 5);
	for (i = 0; i < 5; i++) {
		CHECK(got[i].hdr.type == 1000 + i);
		CHECK(got[i].datalen == sizes[i]);
		fill(buf, sizes[i], i + 1);
		if (sizes[i] > 0)
			CHECK(memcmp(got[i].data, buf, sizes[i]) == 0);
		imsg_free(&got[i]);
	}
	/* The read buffer is not kept at its largest. */
	CHECK(b.rsize <= 65536);
	free(buf);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

/* A large message with an fd is written in pieces; its fd goes once. */
static void
test_large_fd(void)
{
	struct imsg	 got[4];
	struct imsgbuf	 a, b;
	unsigned char	*buf;
	int		 sv[2], p1[2], p2[2], base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p1);
	mkpipe(p2);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	CHECK(imsgbuf_set_maxsize(&a, BIGSIZE) == 0);
	CHECK(imsgbuf_set_maxsize(&b, BIGSIZE) == 0);
	CHECK((buf = calloc(1, BIGSIZE)) != NULL);
	CHECK(imsg_compose(&a, 1, 0, 0, -1, buf, 500000) == 0);
	CHECK(imsg_compose(&a, 2, 0, 0, p1[1], buf,
	    BIGSIZE - IMSG_HEADER_SIZE) == 0);
	CHECK(imsg_compose(&a, 3, 0, 0, p2[1], NULL, 0) == 0);
	CHECK(imsg_compose(&a, 4, 0, 0, -1, buf, 700000) == 0);
	pump(&a, &b, got, 4);
	CHECK(got[0].fd == -1 && got[3].fd == -1);
	CHECK(got[1].hdr.type == 2 && got[1].fd != -1);
	CHECK(got[2].hdr.type == 3 && got[2].fd != -1);
	CHECK(b.nfds == 0);
	check_fd_pipe(got[1].fd, p1[0], '1');
	check_fd_pipe(got[2].fd, p2[0], '2');
	imsg_free(&got[0]);
	imsg_free(&got[1]);
	imsg_free(&got[2]);
	imsg_free(&got[3]);
	CHECK(pipe_eof(p1[0]) && pipe_eof(p2[0]));
	close(p1[0]);
	close(p2[0]);
	free(buf);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* While a whole message waits, imsgbuf_read() leaves the socket alone. */
static void
test_read_refuses_full(void)
{
	struct imsg	 m;
	struct imsgbuf	 a, b;
	int		 sv[2];

	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	CHECK(imsg_compose(&a, 1, 0, 0, -1, "one", 3) == 0);
	CHECK(imsgbuf_write(&a) == 0);
	CHECK(imsgbuf_read(&b) == IMSG_HEADER_SIZE + 3);
	CHECK(imsg_compose(&a, 2, 0, 0, -1, "two", 3) == 0);
	CHECK(imsgbuf_write(&a) == 0);
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1);
	CHECK(errno == EAGAIN);
	CHECK(b.rlen == IMSG_HEADER_SIZE + 3);
	CHECK(imsg_get(&b, &m) == IMSG_HEADER_SIZE + 3);
	CHECK(m.hdr.type == 1);
	imsg_free(&m);
	CHECK(imsgbuf_read(&b) == IMSG_HEADER_SIZE + 3);
	CHECK(imsg_get(&b, &m) == IMSG_HEADER_SIZE + 3);
	CHECK(m.hdr.type == 2);
	imsg_free(&m);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_bad_len_short(void)
{
	static const uint32_t lens[] = { 0, 8, IMSG_HEADER_SIZE - 1,
	    IMSG_FD_MARK | 4 };
	unsigned char	 wire[IMSG_HEADER_SIZE];
	struct imsg	 m;
	struct imsgbuf	 b;
	size_t		 i;
	int		 sv[2];

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mkpair(sv);
		CHECK(imsgbuf_init(&b, sv[1]) == 0);
		imsgbuf_allow_fdpass(&b);
		mkhdr(wire, 1, lens[i], 0, 0);
		raw_send(sv[0], wire, sizeof(wire), NULL, 0);
		CHECK(imsgbuf_read(&b) == IMSG_HEADER_SIZE);
		errno = 0;
		CHECK(imsg_get(&b, &m) == -1);
		CHECK(errno == ERANGE);
		CHECK(m.data == NULL && m.fd == -1);
		imsgbuf_clear(&b);
		close(sv[0]);
		close(sv[1]);
	}
}

static void
test_bad_len_big(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE + 4];
	struct imsg	 m;
	struct imsgbuf	 b;
	int		 sv[2];

	/* One past the default maximum. */
	mkpair(sv);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	mkhdr(wire, 1, IMSG_MAXSIZE + 1, 0, 0);
	raw_send(sv[0], wire, IMSG_HEADER_SIZE, NULL, 0);
	CHECK(imsgbuf_read(&b) == IMSG_HEADER_SIZE);
	errno = 0;
	CHECK(imsg_get(&b, &m) == -1);
	CHECK(errno == ERANGE);
	/* Nor does the buffer read on behind a bad header. */
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1);
	CHECK(errno == ERANGE);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* The largest length the field can hold, fd bit aside. */
	mkpair(sv);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	mkhdr(wire, 1, ~IMSG_FD_MARK, 0, 0);
	raw_send(sv[0], wire, IMSG_HEADER_SIZE, NULL, 0);
	CHECK(imsgbuf_read(&b) == IMSG_HEADER_SIZE);
	errno = 0;
	CHECK(imsg_get(&b, &m) == -1);
	CHECK(errno == ERANGE);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* A smaller maximum: exactly maxsize passes, one more does not. */
	mkpair(sv);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	CHECK(imsgbuf_set_maxsize(&b, IMSG_HEADER_SIZE + 4) == 0);
	mkhdr(wire, 1, IMSG_HEADER_SIZE + 4, 0, 0);
	memcpy(wire + IMSG_HEADER_SIZE, "okay", 4);
	raw_send(sv[0], wire, sizeof(wire), NULL, 0);
	mkhdr(wire, 2, IMSG_HEADER_SIZE + 5, 0, 0);
	raw_send(sv[0], wire, sizeof(wire), NULL, 0);
	CHECK(imsgbuf_read(&b) == 2 * (ssize_t)sizeof(wire));
	CHECK(imsg_get(&b, &m) == (ssize_t)sizeof(wire));
	CHECK(m.hdr.type == 1 && memcmp(m.data, "okay", 4) == 0);
	imsg_free(&m);
	errno = 0;
	CHECK(imsg_get(&b, &m) == -1);
	CHECK(errno == ERANGE);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fdmark_nofd(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE + 4];
	struct imsg	 m;
	struct imsgbuf	 b;
	int		 sv[2];

	mkpair(sv);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	mkhdr(wire, 1, (IMSG_HEADER_SIZE + 4) | IMSG_FD_MARK, 0, 0);
	memcpy(wire + IMSG_HEADER_SIZE, "nofd", 4);
	raw_send(sv[0], wire, sizeof(wire), NULL, 0);
	CHECK(imsgbuf_read(&b) == (ssize_t)sizeof(wire));
	errno = 0;
	CHECK(imsg_get(&b, &m) == -1);
	CHECK(errno == EBADMSG);
	CHECK(m.data == NULL && m.fd == -1);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

/* An fd sent to a channel that takes none is closed, never kept. */
static void
test_fd_not_allowed(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE];
	struct imsgbuf	 b;
	int		 sv[2], p[2], base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	mkhdr(wire, 1, IMSG_HEADER_SIZE | IMSG_FD_MARK, 0, 0);
	raw_send(sv[0], wire, sizeof(wire), &p[1], 1);
	close(p[1]);
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1);
	CHECK(errno == EBADMSG);
	CHECK(b.nfds == 0);
	/* The copy that arrived was closed: the pipe has no writer. */
	CHECK(pipe_eof(p[0]));
	close(p[0]);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* More fds in one go than the reader has room for: MSG_CTRUNC. */
static void
test_ctrunc(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE];
	struct imsgbuf	 b;
	int		 sv[2], p[2], fds[32], i, base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	for (i = 0; i < 32; i++)
		fds[i] = p[1];
	mkhdr(wire, 1, IMSG_HEADER_SIZE | IMSG_FD_MARK, 0, 0);
	raw_send(sv[0], wire, sizeof(wire), fds, 32);
	close(p[1]);
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1);
	CHECK(errno == EBADMSG);
	CHECK(b.nfds == 0);
	CHECK(pipe_eof(p[0]));
	close(p[0]);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* Received fds that no message claims are bounded. */
static void
test_too_many_fds(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE];
	struct imsgbuf	 b;
	ssize_t		 n;
	int		 sv[2], p[2], i, base, ok;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	/* A message that never completes, one fd per byte. */
	mkhdr(wire, 1, (IMSG_HEADER_SIZE + 200) | IMSG_FD_MARK, 0, 0);
	raw_send(sv[0], wire, sizeof(wire), &p[1], 1);
	for (i = 0; i < 100; i++)
		raw_send(sv[0], "x", 1, &p[1], 1);
	close(p[1]);
	ok = 0;
	for (i = 0; i < 200; i++) {
		n = imsgbuf_read(&b);
		CHECK(b.nfds <= 64);
		if (n == -1)
			break;
		CHECK(n > 0);
		ok++;
	}
	CHECK(n == -1 && errno == EBADMSG);
	CHECK(ok > 0 && ok <= 64);
	CHECK(!pipe_eof(p[0]));
	imsgbuf_clear(&b);
	CHECK(b.nfds == 0);
	/* What stayed in the socket goes with it. */
	close(sv[0]);
	close(sv[1]);
	CHECK(pipe_eof(p[0]));
	close(p[0]);
	CHECK(count_fds() == base);
}

/* Too big to send: refused, and the caller keeps its fd. */
static void
test_compose_too_big(void)
{
	struct iovec	 iov[2];
	struct imsgbuf	 a;
	unsigned char	*buf;
	int		 sv[2], p[2], base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK((buf = calloc(1, IMSG_MAXSIZE)) != NULL);
	errno = 0;
	CHECK(imsg_compose(&a, 1, 0, 0, p[1], buf,
	    IMSG_MAXSIZE - IMSG_HEADER_SIZE + 1) == -1);
	CHECK(errno == ERANGE);
	CHECK(fd_open(p[1]));
	iov[0].iov_base = buf;
	iov[0].iov_len = IMSG_MAXSIZE - IMSG_HEADER_SIZE;
	iov[1].iov_base = buf;
	iov[1].iov_len = 1;
	errno = 0;
	CHECK(imsg_composev(&a, 1, 0, 0, p[1], iov, 2) == -1);
	CHECK(errno == ERANGE);
	CHECK(fd_open(p[1]));
	CHECK(imsgbuf_queuelen(&a) == 0);

	/* Exactly the maximum is fine, and now the buffer owns the fd. */
	CHECK(imsg_compose(&a, 1, 0, 0, p[1], buf,
	    IMSG_MAXSIZE - IMSG_HEADER_SIZE) == 0);
	CHECK(imsgbuf_queuelen(&a) == 1);
	imsgbuf_clear(&a);
	CHECK(imsgbuf_queuelen(&a) == 0);
	CHECK(pipe_eof(p[0]));
	close(p[0]);
	free(buf);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

static void
test_eof(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE];
	struct imsg	 m;
	struct imsgbuf	 b;
	int		 sv[2];

	mkpair(sv);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	close(sv[0]);
	CHECK(imsgbuf_read(&b) == 0);
	imsgbuf_clear(&b);
	close(sv[1]);

	/* EOF in the middle of a message. */
	mkpair(sv);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	mkhdr(wire, 1, IMSG_HEADER_SIZE + 10, 0, 0);
	raw_send(sv[0], wire, sizeof(wire), NULL, 0);
	close(sv[0]);
	CHECK(imsgbuf_read(&b) == IMSG_HEADER_SIZE);
	CHECK(imsg_get(&b, &m) == 0);
	CHECK(imsgbuf_read(&b) == 0);
	imsgbuf_clear(&b);
	close(sv[1]);
}

static void
test_get_data(void)
{
	struct imsg	 got[2];
	struct imsgbuf	 a, b;
	uint64_t	 big;
	uint32_t	 v = 0x01020304, w = 0;
	uint16_t	 small;
	int		 sv[2];

	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	CHECK(imsg_compose(&a, 1, 0, 0, -1, &v, sizeof(v)) == 0);
	CHECK(imsg_compose(&a, 2, 0, 0, -1, NULL, 0) == 0);
	pump(&a, &b, got, 2);
	errno = 0;
	CHECK(imsg_get_data(&got[0], &big, sizeof(big)) == -1);
	CHECK(errno == EBADMSG);
	errno = 0;
	CHECK(imsg_get_data(&got[0], &small, sizeof(small)) == -1);
	CHECK(errno == EBADMSG);
	CHECK(imsg_get_data(&got[0], &w, sizeof(w)) == 0);
	CHECK(w == v);
	CHECK(imsg_get_data(&got[1], NULL, 0) == 0);
	errno = 0;
	CHECK(imsg_get_data(&got[1], &w, sizeof(w)) == -1);
	CHECK(errno == EBADMSG);
	imsg_free(&got[0]);
	imsg_free(&got[1]);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

/* imsg_free() closes an fd nobody took. */
static void
test_free_closes(void)
{
	struct imsg	 m;
	struct imsgbuf	 a, b;
	int		 sv[2], p[2], base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);
	CHECK(imsg_compose(&a, 1, 0, 0, p[1], NULL, 0) == 0);
	pump(&a, &b, &m, 1);
	CHECK(m.fd != -1);
	CHECK(!pipe_eof(p[0]));
	imsg_free(&m);
	CHECK(m.fd == -1 && m.data == NULL);
	CHECK(pipe_eof(p[0]));
	close(p[0]);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* imsgbuf_clear() closes fds queued to send and fds not yet claimed. */
static void
test_clear_closes(void)
{
	unsigned char	 wire[IMSG_HEADER_SIZE];
	struct imsgbuf	 a, b;
	ssize_t		 n;
	int		 sv[2], p[2], i, base;

	base = count_fds();
	mkpair(sv);
	mkpipe(p);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	imsgbuf_allow_fdpass(&b);

	/* Queued, never written. */
	for (i = 0; i < 3; i++)
		CHECK(imsg_compose(&a, 1, 0, 0, dup(p[1]), "q", 1) == 0);
	CHECK(imsgbuf_queuelen(&a) == 3);
	CHECK(count_fds() == base + 7);
	imsgbuf_clear(&a);
	CHECK(imsgbuf_queuelen(&a) == 0);
	CHECK(count_fds() == base + 4);

	/*
	 * Received, never taken with imsg_get(): a message still being
	 * read, whose bytes came with three fds.
	 */
	mkhdr(wire, 1, (IMSG_HEADER_SIZE + 100) | IMSG_FD_MARK, 0, 0);
	raw_send(sv[0], wire, sizeof(wire), &p[1], 1);
	raw_send(sv[0], "a", 1, &p[1], 1);
	raw_send(sv[0], "b", 1, &p[1], 1);
	for (i = 0; i < 10 && b.nfds < 3; i++) {
		n = imsgbuf_read(&b);
		CHECK(n > 0);
	}
	CHECK(b.nfds == 3);
	close(p[1]);
	CHECK(!pipe_eof(p[0]));
	imsgbuf_clear(&b);
	CHECK(b.nfds == 0 && b.rlen == 0 && b.rbuf == NULL);
	CHECK(pipe_eof(p[0]));
	/* Not the socket itself. */
	CHECK(fd_open(sv[1]));
	close(p[0]);
	imsgbuf_clear(&a);
	close(sv[0]);
	close(sv[1]);
	CHECK(count_fds() == base);
}

/* A peer that is gone: EPIPE, not SIGPIPE. */
static void
test_write_epipe(void)
{
	struct imsgbuf	 a;
	int		 sv[2];

	CHECK(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	close(sv[1]);
	CHECK(imsg_compose(&a, 1, 0, 0, -1, "x", 1) == 0);
	errno = 0;
	CHECK(imsgbuf_write(&a) == -1);
	CHECK(errno == EPIPE);
	errno = 0;
	CHECK(imsgbuf_flush(&a) == -1);
	CHECK(errno == EPIPE);
	imsgbuf_clear(&a);
	close(sv[0]);
}

static void
test_flush(void)
{
	struct imsg	 got[10];
	struct imsgbuf	 a, b;
	int		 sv[2], i;

	mkpair(sv);
	CHECK(imsgbuf_init(&a, sv[0]) == 0);
	CHECK(imsgbuf_init(&b, sv[1]) == 0);
	CHECK(imsgbuf_flush(&a) == 0);
	for (i = 0; i < 10; i++)
		CHECK(imsg_compose(&a, i, 0, 0, -1, &i, sizeof(i)) == 0);
	CHECK(imsgbuf_flush(&a) == 0);
	CHECK(imsgbuf_queuelen(&a) == 0);
	pump(&a, &b, got, 10);
	for (i = 0; i < 10; i++) {
		CHECK(got[i].hdr.type == (uint32_t)i);
		imsg_free(&got[i]);
	}
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	RUN(test_set_maxsize);
	RUN(test_roundtrip);
	RUN(test_composev);
	RUN(test_fdpass);
	RUN(test_fd_interleave);
	RUN(test_split_reads);
	RUN(test_split_fd);
	RUN(test_large);
	RUN(test_large_fd);
	RUN(test_read_refuses_full);
	RUN(test_bad_len_short);
	RUN(test_bad_len_big);
	RUN(test_fdmark_nofd);
	RUN(test_fd_not_allowed);
	RUN(test_ctrunc);
	RUN(test_too_many_fds);
	RUN(test_compose_too_big);
	RUN(test_eof);
	RUN(test_get_data);
	RUN(test_free_closes);
	RUN(test_clear_closes);
	RUN(test_write_epipe);
	RUN(test_flush);
	TEST_EXIT();
}
