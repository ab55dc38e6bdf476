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
 * common/front/session.c, the runtime of the fronts, driven over a socketpair
 * by a toy protocol in this process: held lines, the output
 * continuation, delayed replies, the one id counter.  The client end is
 * read and written on the same event loop.  Hooks only record what
 * happens; the checks come after the loop, because a failed CHECK must
 * not jump out of libevent.
 */

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event.h>

#include "io.h"
#include "log.h"
#include "session.h"
#include "test.h"

TEST_GLOBALS;

#define MAXEV		64
#define BIG_CHUNK	(64 * 1024)
#define BIG_TOTAL	(3 * 1024 * 1024)	/* over the socket buffers */
#define HUGE_TOTAL	(IO_OUT_MAX + 1024 * 1024)	/* one write */
#define OUTMAX		(HUGE_TOTAL + 4096)

/* One test: what the session saw and the client got. */
struct tc {
	struct session	*s;
	unsigned int	 id;
	int		 cfd;		/* the client's end */
	struct event	 cev;
	int		 creading;
	struct event	 tev;
	struct timespec	 t0;
	char		 ev[MAXEV][32];	/* what happened, in order */
	double		 evt[MAXEV];	/* when, in seconds */
	int		 nev;
	char		*out;		/* what the client read */
	size_t		 outlen;
	size_t		 produced;	/* octets the continuation wrote */
	size_t		 produced_early;	/* before the client read */
	size_t		 maxqueued;
	size_t		 ovfmax;	/* session_set_overflow() */
	unsigned int	 stall;		/* session_set_stall() */
	int		 freed;
};

static struct tc	 tc;

static double	 elapsed(void);
static void	 record(const char *);
static int	 find(const char *);
static void	 t_greet(struct session *);
static void	 t_line(struct session *, char *, size_t, int);
static void	 t_toolong(struct session *);
static void	 t_timeout(struct session *);
static const char *t_refusal(int);
static void	 t_free(struct session *);
static int	 t_big(struct session *);
static void	 t_huge_done(struct session *);
static void	 release_cb(int, short, void *);
static void	 client_cb(int, short, void *);
static void	 client_start_cb(int, short, void *);
static void	 run(const char *, int);
static void	 test_held_lines(void);
static void	 test_delay(void);
static void	 test_delay_close(void);
static void	 test_continuation(void);
static void	 test_ids(void);
static void	 test_overflow(void);
static void	 test_overflow_cap(void);
static void	 test_stall(void);

static const struct session_proto t_proto = {
	.name = "test",
	.maxline = 64,
	.greet = t_greet,
	.line = t_line,
	.toolong = t_toolong,
	.timeout = t_timeout,
	.refusal = t_refusal,
	.free = t_free,
};

static double
elapsed(void)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((now.tv_sec - tc.t0.tv_sec) +
	    (now.tv_nsec - tc.t0.tv_nsec) / 1e9);
}

static void
record(const char *what)
{
	if (tc.nev == MAXEV)
		return;
	strlcpy(tc.ev[tc.nev], what, sizeof(tc.ev[tc.nev]));
	tc.evt[tc.nev] = elapsed();
	tc.nev++;
}

/* The index of an event, or -1. */
static int
find(const char *what)
{
	int	 i;

	for (i = 0; i < tc.nev; i++)
		if (strcmp(tc.ev[i], what) == 0)
			return (i);
	return (-1);
}

static void
t_greet(struct session *s)
{
	tc.s = s;
	tc.id = s->id;
	session_set_overflow(s, tc.ovfmax);
	session_set_stall(s, tc.stall);
	session_printf(s, "hello\r\n");
}

/*
 * The toy protocol: WAIT holds the input for 100 ms, FAIL and FAILBYE
 * answer after 200 ms (the latter then ends the session), BIG streams
 * BIG_TOTAL octets, HUGE writes HUGE_TOTAL at once and waits for the
 * client to read it, QUIT ends.  Every line is recorded.
 */
static void
t_line(struct session *s, char *line, size_t len, int flags)
{
	struct timeval	 tv;

	(void)len;
	(void)flags;
	record(line);
	if (strcmp(line, "WAIT") == 0) {
		session_hold(s);
		timerclear(&tv);
		tv.tv_usec = 100 * 1000;
		evtimer_set(&tc.tev, release_cb, s);
		evtimer_add(&tc.tev, &tv);
	} else if (strcmp(line, "FAIL") == 0)
		session_delay(s, 200, 0, "NO later\r\n");
	else if (strcmp(line, "FAILBYE") == 0)
		session_delay(s, 200, 1, "NO later\r\nBYE\r\n");
	else if (strcmp(line, "BIG") == 0)
		session_output(s, t_big);
	else if (strcmp(line, "HUGE") == 0) {
		static char	*huge;

		if (huge == NULL && (huge = malloc(HUGE_TOTAL)) == NULL)
			err(1, "malloc");
		memset(huge, 'y', HUGE_TOTAL);
		tc.produced = HUGE_TOTAL;
		if (session_write(s, huge, HUGE_TOTAL) == -1) {
			record("huge refused");
			return;
		}
		session_hold(s);
		if (session_wait_output(s, t_huge_done))
			t_huge_done(s);
	}
	else if (strcmp(line, "QUIT") == 0) {
		session_printf(s, "bye\r\n");
		session_close(s);
	} else
		session_printf(s, "ok %s\r\n", line);
}

static void
release_cb(int fd, short event, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)event;
	record("released");
	session_release(s);
}

static int
t_big(struct session *s)
{
	static char	 chunk[BIG_CHUNK];
	size_t		 n;

	if (tc.produced == BIG_TOTAL) {
		session_printf(s, "\r\nEND\r\n");
		record("big done");
		return (1);
	}
	n = BIG_TOTAL - tc.produced;
	if (n > sizeof(chunk))
		n = sizeof(chunk);
	memset(chunk, 'x', n);
	session_write(s, chunk, n);
	tc.produced += n;
	if (session_queued(s) > tc.maxqueued)
		tc.maxqueued = session_queued(s);
	return (0);
}

/* The client has read the huge write down to the low mark. */
static void
t_huge_done(struct session *s)
{
	record("huge done");
	session_printf(s, "\r\nEND\r\n");
	session_release(s);
}

static void
t_toolong(struct session *s)
{
	(void)s;
	record("toolong");
}

static void
t_timeout(struct session *s)
{
	(void)s;
	record("timeout");
}

static const char *
t_refusal(int why)
{
	(void)why;
	return ("no\r\n");
}

static void
t_free(struct session *s)
{
	(void)s;
	record("freed");
	tc.freed = 1;
	tc.s = NULL;
}

/* The client: read all it gets; at EOF, close and stop. */
static void
client_cb(int fd, short event, void *arg)
{
	char	 buf[16384];
	ssize_t	 n;

	(void)event;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (tc.outlen + (size_t)n <= OUTMAX) {
			memcpy(tc.out + tc.outlen, buf, (size_t)n);
			tc.outlen += (size_t)n;
		}
	}
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		event_del(&tc.cev);
		close(fd);
		tc.cfd = -1;
	}
}

static void
client_start_cb(int fd, short event, void *arg)
{
	(void)fd;
	(void)event;
	(void)arg;
	record("client reads");
	tc.produced_early = tc.produced;
	tc.creading = 1;
	event_add(&tc.cev, NULL);
}

/*
 * A session on a socketpair; the client sends input at once (all of
 * it: the lines are pipelined), and starts reading after delay_ms.
 */
static void
run(const char *input, int delay_ms)
{
	size_t			 ovfmax = tc.ovfmax;
	unsigned int		 stall = tc.stall;
	struct msg_listener	 l;
	struct front_client	 client;
	struct timeval		 tv;
	struct event		 start;
	int			 sv[2];

	free(tc.out);
	memset(&tc, 0, sizeof(tc));
	tc.ovfmax = ovfmax;
	tc.stall = stall;
	if ((tc.out = malloc(OUTMAX)) == NULL)
		err(1, "malloc");
	clock_gettime(CLOCK_MONOTONIC, &tc.t0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		err(1, "socketpair");
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		err(1, "fcntl");
	tc.cfd = sv[1];
	memset(&l, 0, sizeof(l));
	l.tls = TLSMODE_NONE;
	memset(&client, 0, sizeof(client));
	strlcpy(client.addr, "test", sizeof(client.addr));
	session_accept(sv[0], &l, &client, FRONT_OK, &t_proto);
	if (write(sv[1], input, strlen(input)) != (ssize_t)strlen(input))
		err(1, "write");
	event_set(&tc.cev, sv[1], EV_READ | EV_PERSIST, client_cb, NULL);
	if (delay_ms == 0) {
		tc.creading = 1;
		event_add(&tc.cev, NULL);
	} else {
		evtimer_set(&start, client_start_cb, NULL);
		timerclear(&tv);
		tv.tv_sec = delay_ms / 1000;
		tv.tv_usec = (delay_ms % 1000) * 1000;
		evtimer_add(&start, &tv);
	}
	/* Ends when the session and the client are gone. */
	event_dispatch();
	if (tc.cfd != -1)
		close(tc.cfd);
	tc.out[tc.outlen < OUTMAX ? tc.outlen : OUTMAX - 1] = '\0';
}

/* Lines pipelined behind one that waits come after the release. */
static void
test_held_lines(void)
{
	run("A\r\nWAIT\r\nB\r\nC\r\nQUIT\r\n", 0);
	CHECK(tc.freed);
	CHECK(tc.nev == 7);
	CHECK_STR(tc.ev[0], "A");
	CHECK_STR(tc.ev[1], "WAIT");
	CHECK_STR(tc.ev[2], "released");
	CHECK_STR(tc.ev[3], "B");
	CHECK_STR(tc.ev[4], "C");
	CHECK_STR(tc.ev[5], "QUIT");
	CHECK(tc.evt[3] >= 0.09);
	CHECK_STR(tc.out, "hello\r\nok A\r\nok B\r\nok C\r\nbye\r\n");
}

/* A delayed reply comes late, and what follows it comes after it. */
static void
test_delay(void)
{
	int	 next;

	run("FAIL\r\nNEXT\r\nQUIT\r\n", 0);
	CHECK(tc.freed);
	CHECK((next = find("NEXT")) == 1);
	CHECK(tc.evt[next] >= 0.19);
	CHECK_STR(tc.out, "hello\r\nNO later\r\nok NEXT\r\nbye\r\n");
}

/* With close set, the session ends after the reply: nothing more. */
static void
test_delay_close(void)
{
	run("FAILBYE\r\nNEXT\r\n", 0);
	CHECK(tc.freed);
	CHECK(find("NEXT") == -1);
	CHECK_STR(tc.out, "hello\r\nNO later\r\nBYE\r\n");
}

/*
 * The continuation produces only as fast as the client reads: while the
 * client does not read, the queue stays near its high mark and the line
 * pipelined behind BIG waits; then all of it comes, in order.
 */
static void
test_continuation(void)
{
	char	*end;
	size_t	 i;
	int	 big, reads, done, after;

	run("BIG\r\nAFTER\r\nQUIT\r\n", 300);
	CHECK(tc.freed);
	CHECK((big = find("BIG")) == 0);
	CHECK((reads = find("client reads")) != -1);
	CHECK((done = find("big done")) != -1);
	CHECK((after = find("AFTER")) != -1);
	CHECK(reads < done && done < after);
	CHECK(tc.produced_early < BIG_TOTAL / 2);
	CHECK(tc.maxqueued < IO_OUT_HIWAT + BIG_CHUNK);
	CHECK(tc.produced == BIG_TOTAL);
	CHECK(tc.outlen == strlen("hello\r\n") + BIG_TOTAL +
	    strlen("\r\nEND\r\nok AFTER\r\nbye\r\n"));
	CHECK(strncmp(tc.out, "hello\r\n", 7) == 0);
	for (i = 7; i < 7 + BIG_TOTAL; i++)
		CHECK(tc.out[i] == 'x');
	end = tc.out + 7 + BIG_TOTAL;
	CHECK_STR(end, "\r\nEND\r\nok AFTER\r\nbye\r\n");
}

/* Every session of the process takes its id from the one counter. */
static void
test_ids(void)
{
	unsigned int	 first;

	run("QUIT\r\n", 0);
	first = tc.id;
	run("QUIT\r\n", 0);
	CHECK(tc.id == first + 1);
}

/*
 * With an overflow, one write may exceed the connection's hard cap: it
 * waits for the client, in order, and the continuation comes once the
 * client has read it.
 */
static void
test_overflow(void)
{
	size_t	 i;
	int	 reads, done, after;

	tc.ovfmax = HUGE_TOTAL;
	tc.stall = 0;
	run("HUGE\r\nAFTER\r\nQUIT\r\n", 200);
	CHECK(tc.freed);
	CHECK(find("huge refused") == -1);
	CHECK((reads = find("client reads")) != -1);
	CHECK((done = find("huge done")) != -1);
	CHECK((after = find("AFTER")) != -1);
	CHECK(reads < done && done < after);
	CHECK(tc.outlen == 7 + HUGE_TOTAL +
	    strlen("\r\nEND\r\nok AFTER\r\nbye\r\n"));
	for (i = 7; i < 7 + HUGE_TOTAL; i++)
		CHECK(tc.out[i] == 'y');
	CHECK_STR(tc.out + 7 + HUGE_TOTAL, "\r\nEND\r\nok AFTER\r\nbye\r\n");
}

/* More than the overflow takes ends the session. */
static void
test_overflow_cap(void)
{
	tc.ovfmax = 1024 * 1024;
	tc.stall = 0;
	run("HUGE\r\nAFTER\r\n", 200);
	CHECK(tc.freed);
	CHECK(find("huge refused") != -1);
	CHECK(find("AFTER") == -1);
}

/*
 * A client that leaves the output unread is dropped after the stall:
 * when it reads again, only what the connection had queued comes.
 */
static void
test_stall(void)
{
	tc.ovfmax = HUGE_TOTAL;
	tc.stall = 1;
	run("HUGE\r\nAFTER\r\n", 3000);
	tc.ovfmax = 0;
	tc.stall = 0;
	CHECK(tc.freed);
	CHECK(find("huge done") == -1);
	CHECK(find("AFTER") == -1);
	CHECK(tc.outlen < HUGE_TOTAL / 2);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	signal(SIGPIPE, SIG_IGN);
	if (event_init() == NULL)
		errx(1, "event_init");
	RUN(test_held_lines);
	RUN(test_delay);
	RUN(test_delay_close);
	RUN(test_continuation);
	RUN(test_ids);
	RUN(test_overflow);
	RUN(test_overflow_cap);
	RUN(test_stall);
	free(tc.out);
	TEST_EXIT();
}
