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
 * common/front/io.c and common/front/tls.c against a real peer: a one-connection
 * server runs on the event loop in this process, and a client runs in
 * a child (regress/unit/io_client.py, steps given on its command line).
 * Callbacks only record what happens; the checks come after the loop,
 * because a failed CHECK must not jump out of libevent.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <tls.h>

#include "conf.h"
#include "log.h"
#include "io.h"
#include "test.h"

TEST_GLOBALS;

#define CLIENT		"regress/unit/io_client.py"
#define MAXLINES	64
#define LINEMAX		2048
#define DEADLINE_S	20

/* What io_client.py exits with. */
#define CLIENT_OK	0
#define CLIENT_NOTLS	4

struct tc;
typedef int	(*line_fn)(struct tc *, const char *, size_t, int);
typedef int	(*event_fn)(struct tc *, int);
typedef void	(*timer_fn)(struct tc *);

/* One test's connection and everything seen on it. */
struct tc {
	struct io	*io;
	int		 lfd;
	int		 port;
	pid_t		 pid;
	int		 client_status;
	int		 kill_client;
	struct event	 lev;
	struct event	 deadline;
	int		 deadline_hit;
	struct event	 tev;
	timer_fn	 on_timer;

	/* Set up of the accepted connection. */
	size_t		 maxline;
	unsigned int	 idle_s;
	unsigned int	 total_s;
	int		 implicit_tls;
	int		 sndbuf;
	const char	*greeting;
	line_fn		 on_line;
	event_fn	 on_event;
	timer_fn	 on_accept;

	/* What happened. */
	struct timespec	 t0;
	int		 nev[IO_ERROR + 1];
	int		 order[256];
	int		 norder;
	char		 lines[MAXLINES][LINEMAX];
	size_t		 lens[MAXLINES];
	int		 lflags[MAXLINES];
	int		 nlines;
	int		 toolong;
	char		 version[32];
	char		 cipher[128];
	int		 start_rc;
	int		 tls_before;
	size_t		 datalen_after_start;
	double		 t_event[IO_ERROR + 1];
	size_t		 queued_at_lowat;
	size_t		 queued_max;
	size_t		 queued_at_end;
	int		 write_fail_rc;
	int		 error_inside_write;
	int		 in_write;
	int		 timer_lines;
	size_t		 timer_datalen;
	int		 timer_datain;
	size_t		 pat;
	size_t		 pat_total;
	int		 close_after;
	int		 free_on;
	int		 flag;
};

static struct tls	*srvtls;
static char		 tmpdir[64];

static double	 elapsed(struct tc *);
static void	 tc_init(struct tc *);
static void	 finish(struct tc *);
static void	 srv_cb(struct io *, int, void *);
static void	 accept_cb(int, short, void *);
static void	 deadline_cb(int, short, void *);
static void	 test_timer_cb(int, short, void *);
static void	 arm_timer(struct tc *, int, timer_fn);
static void	 spawn_client(struct tc *, const char **);
static void	 reap_client(struct tc *);
static void	 serve(struct tc *, const char **);
static int	 write_pattern(struct tc *, size_t);
static int	 has_line(struct tc *, const char *);
static const char *line_at(struct tc *, int)
		    __attribute__((__noinline__));
static const char *str(const char *) __attribute__((__noinline__));
static int	 run_quiet(char *const []);
static void	*slurp(const char *, size_t *);
static void	 make_cert(void);
static int	 starttls_line(struct tc *, const char *, size_t, int);
static int	 ping_line(struct tc *, const char *, size_t, int);
static void	 tls_roundtrip(const char *, const char *);
static void	 tls_refused(const char *);
static void	 tls_eof(const char *, int);
static int	 pattern_go_line(struct tc *, const char *, size_t, int);
static int	 disconnect_queued(struct tc *, int);
static int	 idle_event(struct tc *, int);
static void	 end_timer(struct tc *);
static int	 total_event(struct tc *, int);
static void	 set_total_timer(struct tc *);
static void	 total_accept(struct tc *);
static void	 resume_b_timer(struct tc *);
static int	 resume_b_line(struct tc *, const char *, size_t, int);
static int	 full_event(struct tc *, int);
static int	 full_line(struct tc *, const char *, size_t, int);
static void	 cap_timer(struct tc *);
static int	 hiwat_line(struct tc *, const char *, size_t, int);
static int	 lowat_event(struct tc *, int);
static int	 lowat_line(struct tc *, const char *, size_t, int);
static void	 resume_timer(struct tc *);
static int	 pause_line(struct tc *, const char *, size_t, int);
static void	 raw_take(struct tc *);
static int	 raw_event(struct tc *, int);
static int	 raw_line(struct tc *, const char *, size_t, int);
static void	 free_now(struct tc *);
static int	 free_line(struct tc *, const char *, size_t, int);
static int	 free_event(struct tc *, int);

static double
elapsed(struct tc *t)
{
	struct timespec	 now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return (-1);
	return ((now.tv_sec - t->t0.tv_sec) +
	    (now.tv_nsec - t->t0.tv_nsec) / 1e9);
}

static void
tc_init(struct tc *t)
{
	memset(t, 0, sizeof(*t));
	t->lfd = -1;
	t->pid = -1;
	t->client_status = -1;
	t->start_rc = -2;
	t->tls_before = -1;
	t->write_fail_rc = -2;
}

/* End the test: the connection goes, the loop stops. */
static void
finish(struct tc *t)
{
	if (t->io != NULL) {
		t->queued_at_end = io_queued(t->io);
		io_free(t->io);
		t->io = NULL;
	}
	event_loopbreak();
}

/*
 * Through a function, so that the compiler does not size CHECK_STR's
 * message after our arrays.
 */
static const char *
line_at(struct tc *t, int i)
{
	if (i < 0 || i >= t->nlines)
		return (NULL);
	return (t->lines[i]);
}

static const char *
str(const char *s)
{
	return (s);
}

static int
has_line(struct tc *t, const char *s)
{
	int	 i;

	for (i = 0; i < t->nlines; i++)
		if (t->lens[i] == strlen(s) && strcmp(t->lines[i], s) == 0)
			return (1);
	return (0);
}

/*
 * The owner: records events and lines; the test's hooks answer.  A hook
 * returns 1 when the loop over lines must stop (paused, TLS started or
 * the io freed).
 */
static void
srv_cb(struct io *io, int ev, void *arg)
{
	struct tc	*t = arg;
	char		*line;
	size_t		 len;
	int		 flags, r;
	const char	*s;

	if (ev < 0 || ev > IO_ERROR)
		abort();
	if (t->in_write)
		t->error_inside_write = 1;
	t->nev[ev]++;
	t->t_event[ev] = elapsed(t);
	if (t->norder < (int)nitems(t->order))
		t->order[t->norder++] = ev;
	if (t->on_event != NULL && t->on_event(t, ev))
		return;

	switch (ev) {
	case IO_DATAIN:
		while ((r = io_getline(io, &line, &len, &flags)) !=
		    IO_LINE_NONE) {
			if (t->nlines >= MAXLINES)
				break;
			if (r == IO_LINE_TOOLONG) {
				t->toolong++;
				strlcpy(t->lines[t->nlines], "<TOOLONG>",
				    LINEMAX);
				t->lens[t->nlines] = strlen("<TOOLONG>");
				t->nlines++;
				continue;
			}
			if (len >= LINEMAX)
				abort();
			memcpy(t->lines[t->nlines], line, len + 1);
			t->lens[t->nlines] = len;
			t->lflags[t->nlines] = flags;
			t->nlines++;
			if (t->on_line != NULL && t->on_line(t, line, len,
			    flags))
				break;
		}
		break;
	case IO_TLSREADY:
		if ((s = io_tls_version(io)) != NULL)
			strlcpy(t->version, s, sizeof(t->version));
		if ((s = io_tls_cipher(io)) != NULL)
			strlcpy(t->cipher, s, sizeof(t->cipher));
		break;
	case IO_LOWAT:
		break;
	default:
		finish(t);
		break;
	}
}

static void
accept_cb(int fd, short ev, void *arg)
{
	struct tc	*t = arg;
	int		 s;

	(void)ev;
	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) == -1)
		return;
	event_del(&t->lev);
	if (t->sndbuf > 0 && setsockopt(s, SOL_SOCKET, SO_SNDBUF,
	    &t->sndbuf, sizeof(t->sndbuf)) == -1)
		abort();
	if (clock_gettime(CLOCK_MONOTONIC, &t->t0) == -1)
		abort();
	if ((t->io = io_new(s, srv_cb, t)) == NULL)
		abort();
	if (t->maxline > 0)
		io_set_maxline(t->io, t->maxline);
	if (t->idle_s > 0 || t->total_s > 0)
		io_set_timeouts(t->io, t->idle_s, t->total_s);
	if (t->implicit_tls) {
		t->tls_before = io_is_tls(t->io) ||
		    io_tls_version(t->io) != NULL ||
		    io_tls_cipher(t->io) != NULL;
		t->start_rc = io_start_tls(t->io, srvtls);
	}
	if (t->greeting != NULL && io_printf(t->io, "%s\r\n",
	    t->greeting) == -1)
		abort();
	if (t->on_accept != NULL)
		t->on_accept(t);
}

static void
deadline_cb(int fd, short ev, void *arg)
{
	struct tc	*t = arg;

	(void)fd;
	(void)ev;
	t->deadline_hit = 1;
	finish(t);
}

static void
test_timer_cb(int fd, short ev, void *arg)
{
	struct tc	*t = arg;

	(void)fd;
	(void)ev;
	t->on_timer(t);
}

static void
arm_timer(struct tc *t, int ms, timer_fn fn)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	t->on_timer = fn;
	evtimer_del(&t->tev);
	evtimer_set(&t->tev, test_timer_cb, t);
	if (evtimer_add(&t->tev, &tv) == -1)
		abort();
}

static void
spawn_client(struct tc *t, const char **steps)
{
	const char	*argv[64];
	char		 port[16];
	int		 n = 0, i;

	snprintf(port, sizeof(port), "%d", t->port);
	argv[n++] = "python3";
	argv[n++] = CLIENT;
	argv[n++] = port;
	for (i = 0; steps[i] != NULL && n < (int)nitems(argv) - 1; i++)
		argv[n++] = steps[i];
	argv[n] = NULL;

	fflush(stdout);
	fflush(stderr);
	if ((t->pid = fork()) == -1)
		abort();
	if (t->pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* Wait for the client, but not for ever. */
static void
reap_client(struct tc *t)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	pid_t		 r;
	int		 i, status;

	if (t->pid == -1)
		return;
	if (t->kill_client)
		kill(t->pid, SIGKILL);
	for (i = 0; i < 1500; i++) {
		if ((r = waitpid(t->pid, &status, WNOHANG)) == t->pid)
			break;
		if (r == -1 && errno != EINTR)
			break;
		nanosleep(&ts, NULL);
	}
	if (i == 1500) {
		kill(t->pid, SIGKILL);
		if (waitpid(t->pid, &status, 0) == -1)
			status = -1;
		t->client_status = -1;
	} else if (r == t->pid && WIFEXITED(status))
		t->client_status = WEXITSTATUS(status);
	else
		t->client_status = -1;
	t->pid = -1;
}

/* Listen, start the client, run the loop until the test is done. */
static void
serve(struct tc *t, const char **steps)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen;
	struct timeval		 tv = { DEADLINE_S, 0 };
	int			 one = 1;

	if ((t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		abort();
	if (setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(t->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		abort();
	if (listen(t->lfd, 4) == -1)
		abort();
	slen = sizeof(sin);
	if (getsockname(t->lfd, (struct sockaddr *)&sin, &slen) == -1)
		abort();
	t->port = ntohs(sin.sin_port);

	spawn_client(t, steps);

	event_set(&t->lev, t->lfd, EV_READ | EV_PERSIST, accept_cb, t);
	if (event_add(&t->lev, NULL) == -1)
		abort();
	evtimer_set(&t->deadline, deadline_cb, t);
	if (evtimer_add(&t->deadline, &tv) == -1)
		abort();
	evtimer_set(&t->tev, test_timer_cb, t);

	event_dispatch();

	event_del(&t->lev);
	evtimer_del(&t->deadline);
	evtimer_del(&t->tev);
	if (t->io != NULL) {
		io_free(t->io);
		t->io = NULL;
	}
	close(t->lfd);
	t->lfd = -1;
	reap_client(t);
}

/* Queue n bytes of the pattern io_client.py checks. */
static int
write_pattern(struct tc *t, size_t n)
{
	char	 buf[4096];
	size_t	 i, chunk;

	while (n > 0) {
		chunk = n < sizeof(buf) ? n : sizeof(buf);
		for (i = 0; i < chunk; i++)
			buf[i] = 'a' + (t->pat + i) % 26;
		t->in_write = 1;
		if (io_write(t->io, buf, chunk) == -1) {
			t->in_write = 0;
			return (-1);
		}
		t->in_write = 0;
		t->pat += chunk;
		n -= chunk;
		if (io_queued(t->io) > t->queued_max)
			t->queued_max = io_queued(t->io);
	}
	return (0);
}

/* --- Lines ------------------------------------------------------------ */

static void
test_lines(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:one\\r\\ntwo\\nthr\\x00ee\\r\\nfo\\rur\\r\\n"
		    "x\\r\\r\\n\\r\\n\\na\\x00\\rb\\nla",
		"sleep:100",
		"send:st\\r\\n",
		"close",
		NULL
	};

	tc_init(&t);
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.nlines == 9);
	CHECK(t.lens[0] == 3 && strcmp(t.lines[0], "one") == 0);
	CHECK(t.lflags[0] == 0);
	CHECK(t.lens[1] == 3 && strcmp(t.lines[1], "two") == 0);
	CHECK(t.lflags[1] == IO_LINE_BARELF);
	CHECK(t.lens[2] == 6 && memcmp(t.lines[2], "thr\0ee", 7) == 0);
	CHECK(t.lflags[2] == IO_LINE_NUL);
	CHECK(t.lens[3] == 5 && strcmp(t.lines[3], "fo\rur") == 0);
	CHECK(t.lflags[3] == IO_LINE_BARECR);
	CHECK(t.lens[4] == 2 && strcmp(t.lines[4], "x\r") == 0);
	CHECK(t.lflags[4] == IO_LINE_BARECR);
	CHECK(t.lens[5] == 0 && t.lflags[5] == 0);
	CHECK(t.lens[6] == 0 && t.lflags[6] == IO_LINE_BARELF);
	CHECK(t.lens[7] == 4 && memcmp(t.lines[7], "a\0\rb", 5) == 0);
	CHECK(t.lflags[7] ==
	    (IO_LINE_NUL | IO_LINE_BARECR | IO_LINE_BARELF));
	/* A line split over two writes. */
	CHECK(t.lens[8] == 4 && strcmp(t.lines[8], "last") == 0);
	CHECK(t.lflags[8] == 0);
	CHECK(t.nev[IO_DATAIN] >= 2);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
	CHECK(t.toolong == 0);
}

static void
test_maxline_small(void)
{
	struct tc	 t;
	const char	*want[] = {
		"0123456789", "<TOOLONG>", "ok1", "0123456789",
		"<TOOLONG>", "0123456789", "<TOOLONG>", "next", "end"
	};
	const char	*steps[] = {
		"send:0123456789\\r\\n01234567890\\r\\nok1\\r\\n",
		"sleep:50",
		"send:0123456789\\n01234567890\\n",
		"sleep:50",
		/* At the limit, with the LF still to come: not too long. */
		"send:0123456789\\r",
		"sleep:100",
		"send:\\n",
		"sleep:50",
		/* Too long, and the rest trickles in. */
		"send:AAAAAAAAAAAAAAAAAAAA",
		"sleep:100",
		"send:BBBBBBBBBBBBBBBBBBBB",
		"sleep:100",
		"sendrep:C:5000",
		"sleep:100",
		"send:CCCC\\r\\nnext\\r\\n",
		"sleep:50",
		"send:end\\r\\n",
		"close",
		NULL
	};
	size_t		 i;

	tc_init(&t);
	t.maxline = 10;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.nlines == (int)nitems(want));
	for (i = 0; i < nitems(want); i++)
		CHECK_STR(line_at(&t, i), want[i]);
	CHECK(t.lflags[0] == 0);
	CHECK(t.lflags[3] == IO_LINE_BARELF);
	CHECK(t.lflags[5] == 0);
	CHECK(t.toolong == 3);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
}

static void
test_maxline_default(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"sendrep:a:1000",
		"send:\\r\\n",
		"sendrep:b:1001",
		"send:\\r\\nmid\\r\\n",
		"sendrep:c:3000",
		"sleep:100",
		"sendrep:c:3000",
		"sleep:100",
		"send:\\nend\\r\\n",
		"close",
		NULL
	};

	tc_init(&t);
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.nlines == 5);
	CHECK(t.lens[0] == 1000 && t.lines[0][0] == 'a' &&
	    t.lines[0][999] == 'a');
	CHECK_STR(line_at(&t, 1), "<TOOLONG>");
	CHECK_STR(line_at(&t, 2), "mid");
	CHECK_STR(line_at(&t, 3), "<TOOLONG>");
	CHECK_STR(line_at(&t, 4), "end");
	CHECK(t.toolong == 2);
}

/* --- TLS -------------------------------------------------------------- */

static int
starttls_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "STARTTLS") == 0) {
		if (io_printf(t->io, "220 go\r\n") == -1)
			abort();
		t->tls_before = io_is_tls(t->io) ||
		    io_tls_version(t->io) != NULL;
		t->start_rc = io_start_tls(t->io, srvtls);
		t->datalen_after_start = io_datalen(t->io);
		/* Output queued now must go out over TLS. */
		if (io_printf(t->io, "250 secure\r\n") == -1)
			abort();
		return (1);
	}
	if (strcmp(line, "AFTER") == 0) {
		if (io_printf(t->io, "250 after\r\n") == -1)
			abort();
		io_close_when_flushed(t->io);
		return (1);
	}
	if (io_printf(t->io, "500 what\r\n") == -1)
		abort();
	return (0);
}

static void
test_starttls_injection(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:STARTTLS\\r\\nINJECTED\\r\\n",
		"expect:220 go",
		"tls:any",
		"expect:250 secure",
		"send:AFTER\\r\\n",
		"expect:250 after",
		"eof",
		NULL
	};

	tc_init(&t);
	t.on_line = starttls_line;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.start_rc == 0);
	CHECK(t.tls_before == 0);
	CHECK(t.datalen_after_start == 0);
	CHECK(t.nev[IO_TLSREADY] == 1);
	CHECK(!has_line(&t, "INJECTED"));
	CHECK(t.nlines == 2);
	CHECK_STR(line_at(&t, 0), "STARTTLS");
	CHECK_STR(line_at(&t, 1), "AFTER");
	CHECK(strcmp(t.version, "TLSv1.2") == 0 ||
	    strcmp(t.version, "TLSv1.3") == 0);
	CHECK(t.cipher[0] != '\0');
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
	CHECK(t.queued_at_end == 0);
}

static int
ping_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "PING") == 0) {
		t->flag = io_is_tls(t->io);
		if (io_printf(t->io, "PONG\r\n") == -1)
			abort();
		io_close_when_flushed(t->io);
		return (1);
	}
	return (0);
}

static void
tls_roundtrip(const char *ver, const char *want)
{
	struct tc	 t;
	char		 tlsstep[32];
	const char	*steps[] = {
		tlsstep,
		"expect:* OK hello",
		"send:PING\\r\\n",
		"expect:PONG",
		"eof",
		NULL
	};

	snprintf(tlsstep, sizeof(tlsstep), "tls:%s", ver);
	tc_init(&t);
	t.implicit_tls = 1;
	t.greeting = "* OK hello";
	t.on_line = ping_line;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.start_rc == 0);
	CHECK(t.tls_before == 0);
	CHECK(t.nev[IO_TLSREADY] == 1);
	CHECK(t.order[0] == IO_TLSREADY);
	CHECK(t.flag == 1);
	CHECK(has_line(&t, "PING"));
	if (want != NULL)
		CHECK_STR(str(t.version), want);
	else
		CHECK(strcmp(t.version, "TLSv1.2") == 0 ||
		    strcmp(t.version, "TLSv1.3") == 0);
	CHECK(t.cipher[0] != '\0');
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
}

static void
test_implicit_tls(void)
{
	tls_roundtrip("any", NULL);
}

static void
test_tls12_accepted(void)
{
	tls_roundtrip("1.2", "TLSv1.2");
}

static void
test_tls13_accepted(void)
{
	tls_roundtrip("1.3", "TLSv1.3");
}

static void
tls_refused(const char *ver)
{
	struct tc	 t;
	char		 tlsstep[32];
	const char	*steps[] = { tlsstep, NULL };

	snprintf(tlsstep, sizeof(tlsstep), "tlsfail:%s", ver);
	tc_init(&t);
	t.implicit_tls = 1;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	/* 4: this OpenSSL cannot even offer it; the test proves nothing. */
	CHECK(t.client_status != CLIENT_NOTLS);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.start_rc == 0);
	CHECK(t.nev[IO_TLSREADY] == 0);
	CHECK(t.nev[IO_DATAIN] == 0);
	CHECK(t.nev[IO_ERROR] == 1);
	CHECK(t.version[0] == '\0');
}

static void
test_tls10_refused(void)
{
	tls_refused("1.0");
}

static void
test_tls11_refused(void)
{
	tls_refused("1.1");
}


/* GO: queue the pattern, then close once it is all out if asked. */
static int
pattern_go_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "GO") != 0)
		return (0);
	if (write_pattern(t, t->pat_total) == -1)
		abort();
	if (t->close_after) {
		io_close_when_flushed(t->io);
		return (1);
	}
	return (0);
}

static int
disconnect_queued(struct tc *t, int ev)
{
	if (ev == IO_DISCONNECTED)
		t->queued_at_end = io_queued(t->io);
	return (0);
}

static void
test_tls_close_when_flushed(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"tls:any",
		"send:GO\\r\\n",
		"recvpat:700000",
		"eof",
		NULL
	};

	tc_init(&t);
	t.implicit_tls = 1;
	t.on_line = pattern_go_line;
	t.on_event = disconnect_queued;
	t.pat_total = 700000;
	t.close_after = 1;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.nev[IO_TLSREADY] == 1);
	CHECK(t.queued_max > IO_OUT_HIWAT);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
	CHECK(t.queued_at_end == 0);
}

/* --- End of connection ------------------------------------------------ */

static void
tls_eof(const char *how, int strict)
{
	struct tc	 t;
	const char	*steps[] = { "tls:any", "send:hi\\r\\n", how, NULL };

	tc_init(&t);
	t.implicit_tls = 1;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.nlines == 1);
	CHECK_STR(line_at(&t, 0), "hi");
	if (strict)
		CHECK(t.nev[IO_DISCONNECTED] == 1 && t.nev[IO_ERROR] == 0);
	else
		CHECK(t.nev[IO_DISCONNECTED] + t.nev[IO_ERROR] == 1);
}

/* The client ends TLS properly: that is a disconnection. */
static void
test_tls_eof_close_notify(void)
{
	tls_eof("unwrap", 1);
}

/* The client just drops TCP (a reset here: it left data unread). */
static void
test_tls_eof_ragged(void)
{
	tls_eof("close", 0);
}

static void
test_eof(void)
{
	struct tc	 t;
	const char	*steps[] = { "send:hi\\r\\n", "close", NULL };

	tc_init(&t);
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.nlines == 1);
	CHECK_STR(line_at(&t, 0), "hi");
	CHECK(t.nev[IO_DATAIN] >= 1);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
	CHECK(t.norder >= 2 && t.order[0] == IO_DATAIN);
	CHECK(t.order[t.norder - 1] == IO_DISCONNECTED);
}

static void
test_close_when_flushed(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:GO\\r\\n",
		"recvpat:1000000",
		"eof",
		NULL
	};

	tc_init(&t);
	t.on_line = pattern_go_line;
	t.on_event = disconnect_queued;
	t.pat_total = 1000000;
	t.close_after = 1;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.queued_max == 1000000);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
	CHECK(t.queued_at_end == 0);
}

/* --- Timeouts ---------------------------------------------------------- */

static int
idle_event(struct tc *t, int ev)
{
	if (ev != IO_TIMEOUT)
		return (0);
	if (io_printf(t->io, "421 idle\r\n") == -1)
		abort();
	io_close_when_flushed(t->io);
	return (1);
}

static void
test_idle_timeout(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:a\\r\\n",
		"sleep:600",
		"send:b\\r\\n",
		"sleep:600",
		"send:c\\r\\n",
		"expect:421 idle",
		"eof",
		NULL
	};

	tc_init(&t);
	t.idle_s = 1;
	t.on_event = idle_event;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.nlines == 3);
	CHECK(t.nev[IO_TIMEOUT] == 1);
	/* Input at 0.6 s and 1.2 s pushed it back: about 2.2 s. */
	CHECK(t.t_event[IO_TIMEOUT] >= 1.9);
	CHECK(t.t_event[IO_TIMEOUT] <= 3.5);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
}

static void
end_timer(struct tc *t)
{
	finish(t);
}

static int
total_event(struct tc *t, int ev)
{
	if (ev != IO_TIMEOUT)
		return (0);
	/* Keep the connection: a second timeout must not come. */
	if (t->nev[IO_TIMEOUT] == 1)
		arm_timer(t, 2000, end_timer);
	return (1);
}

/* Set late, the session limit still counts from io_new(). */
static void
set_total_timer(struct tc *t)
{
	io_set_timeouts(t->io, 1, 1);
}

static void
total_accept(struct tc *t)
{
	arm_timer(t, 800, set_total_timer);
}

static void
test_total_timeout(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:x\\r\\n", "sleep:250", "send:x\\r\\n", "sleep:250",
		"send:x\\r\\n", "sleep:250", "send:x\\r\\n", "sleep:250",
		"send:x\\r\\n", "sleep:250", "send:x\\r\\n", "sleep:250",
		"send:x\\r\\n", "sleep:5000",
		NULL
	};

	tc_init(&t);
	t.idle_s = 1;
	t.on_accept = total_accept;
	t.on_event = total_event;
	t.kill_client = 1;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	/*
	 * Once: input went on after it (the idle timer is not re-armed)
	 * and then stopped for over a second.
	 */
	CHECK(t.nev[IO_TIMEOUT] == 1);
	CHECK(t.t_event[IO_TIMEOUT] >= 0.9);
	/* Counted from the io_set_timeouts() call, it would be 1.8 s. */
	CHECK(t.t_event[IO_TIMEOUT] <= 1.5);
	/* The connection still worked after the timeout. */
	CHECK(t.nlines == 7);
	CHECK(t.nev[IO_ERROR] == 0);
	CHECK(t.nev[IO_DISCONNECTED] == 0);
}

/* --- Output queue ------------------------------------------------------ */

static void
cap_timer(struct tc *t)
{
	int	 i;

	t->timer_lines = t->nlines;
	t->timer_datalen = io_datalen(t->io);
	t->timer_datain = t->nev[IO_DATAIN];
	for (i = 0; i < 4000; i++)
		if (write_pattern(t, 4096) == -1)
			break;
	t->write_fail_rc = i < 4000 ? -1 : 0;
	/* Once failed, always failed; IO_ERROR comes from the loop. */
	t->in_write = 1;
	t->flag = io_write(t->io, "x", 1) == -1 &&
	    io_printf(t->io, "y") == -1;
	t->in_write = 0;
}

static int
hiwat_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "GO") == 0) {
		if (write_pattern(t, 300000) == -1)
			abort();
		arm_timer(t, 1500, cap_timer);
	}
	return (0);
}

static void
test_hiwat_and_cap(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"rcvbuf:4096",
		"send:GO\\r\\n",
		"sleep:500",
		"send:MORE\\r\\n",
		"sleep:20000",
		NULL
	};

	tc_init(&t);
	t.sndbuf = 4096;
	t.on_line = hiwat_line;
	t.kill_client = 1;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	/* Over the high mark, MORE stayed in the socket. */
	CHECK(t.timer_lines == 1);
	CHECK(t.timer_datalen == 0);
	CHECK(t.timer_datain == 1);
	CHECK(!has_line(&t, "MORE"));
	/* The cap: refused, bounded, and reported later. */
	CHECK(t.write_fail_rc == -1);
	CHECK(t.queued_max <= IO_OUT_MAX);
	CHECK(t.queued_max > IO_OUT_MAX - 2 * 4096);
	CHECK(t.flag == 1);
	CHECK(t.error_inside_write == 0);
	CHECK(t.nev[IO_ERROR] == 1);
}

static int
lowat_event(struct tc *t, int ev)
{
	if (ev == IO_LOWAT && t->nev[IO_LOWAT] == 1)
		t->queued_at_lowat = io_queued(t->io);
	return (0);
}

static int
lowat_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "GO") == 0) {
		if (write_pattern(t, 300000) == -1)
			abort();
	} else if (strcmp(line, "DONE") == 0) {
		t->timer_datain = t->nev[IO_LOWAT];
		if (io_printf(t->io, "BYE\r\n") == -1)
			abort();
		io_close_when_flushed(t->io);
		return (1);
	}
	return (0);
}

static void
test_lowat(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"rcvbuf:4096",
		"send:GO\\r\\n",
		"sleep:300",
		"slowpat:300000",
		"send:DONE\\r\\n",
		"expect:BYE",
		"eof",
		NULL
	};

	tc_init(&t);
	t.sndbuf = 4096;
	t.on_line = lowat_line;
	t.on_event = lowat_event;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.queued_max > IO_OUT_HIWAT);
	CHECK(t.nev[IO_LOWAT] == 1);
	CHECK(t.queued_at_lowat <= IO_OUT_LOWAT);
	/* IO_LOWAT came before DONE could be read. */
	CHECK(t.timer_datain == 1);
	CHECK(has_line(&t, "DONE"));
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
}

/* --- Owner control ----------------------------------------------------- */

static void
resume_timer(struct tc *t)
{
	t->timer_lines = t->nlines;
	t->timer_datalen = io_datalen(t->io);
	t->timer_datain = t->nev[IO_DATAIN];
	io_resume(t->io);
}

static int
pause_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "A") == 0) {
		io_pause(t->io);
		arm_timer(t, 800, resume_timer);
		return (1);
	}
	if (strcmp(line, "C") == 0) {
		if (io_printf(t->io, "OK\r\n") == -1)
			abort();
		io_close_when_flushed(t->io);
		return (1);
	}
	return (0);
}

static void
test_pause_resume(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:A\\r\\nB\\r\\n",
		"sleep:300",
		"send:C\\r\\n",
		"expect:OK",
		"eof",
		NULL
	};

	tc_init(&t);
	t.on_line = pause_line;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	/* Paused: B waited in the buffer, C in the socket. */
	CHECK(t.timer_lines == 1);
	CHECK(t.timer_datalen == 3);
	CHECK(t.timer_datain == 1);
	CHECK(t.nlines == 3);
	CHECK_STR(line_at(&t, 0), "A");
	CHECK_STR(line_at(&t, 1), "B");
	CHECK_STR(line_at(&t, 2), "C");
	CHECK(t.nev[IO_DISCONNECTED] == 1);
}

static void
resume_b_timer(struct tc *t)
{
	t->timer_lines = t->nlines;
	t->timer_datalen = io_datalen(t->io);
	io_resume(t->io);
}

static int
resume_b_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "A") == 0) {
		io_pause(t->io);
		arm_timer(t, 300, resume_b_timer);
		return (1);
	}
	if (strcmp(line, "B") == 0) {
		if (io_printf(t->io, "B seen\r\n") == -1)
			abort();
		io_close_when_flushed(t->io);
		return (1);
	}
	return (0);
}

/*
 * B is buffered when the owner pauses, and nothing more comes from the
 * client until B is answered: io_resume() itself must bring it.
 */
static void
test_resume_buffered(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:A\\r\\nB\\r\\n",
		"expect:B seen",
		"eof",
		NULL
	};

	tc_init(&t);
	t.on_line = resume_b_line;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.timer_lines == 1);
	CHECK(t.timer_datalen == 3);
	CHECK(t.nlines == 2);
	CHECK_STR(line_at(&t, 1), "B");
}

/*
 * Raw input over TLS that fills the input buffer in the middle of a
 * record: the rest of the record waits inside libtls, and the socket
 * says nothing more.  The owner drains only a full buffer.
 */
static int
full_event(struct tc *t, int ev)
{
	size_t	 n;

	if (ev != IO_DATAIN || !t->flag)
		return (0);
	n = io_datalen(t->io);
	if (n > t->queued_max)
		t->queued_max = n;
	if (n < IO_IN_MAX && t->pat + n < t->pat_total)
		return (1);
	t->pat += n;
	io_drop(t->io, n);
	if (t->pat == t->pat_total) {
		t->flag = 0;
		if (io_printf(t->io, "got %zu\r\n", t->pat) == -1)
			abort();
		io_close_when_flushed(t->io);
	}
	return (1);
}

static int
full_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "BLOB") == 0) {
		/* The rest is raw: pick it up with full_event(). */
		t->flag = 1;
		return (1);
	}
	return (0);
}

static void
test_tls_full_buffer(void)
{
	struct tc	 t;
	char		 want[64], rest[64];
	const char	*steps[] = {
		"tls:any",
		"send:BLOB\\r\\n",
		"sleep:100",
		/* 5000 + 63 records of 16 KB + one that crosses 1 MB. */
		"sendrep:x:5000",
		rest,
		want,
		"eof",
		NULL
	};

	tc_init(&t);
	t.implicit_tls = 1;
	t.on_line = full_line;
	t.on_event = full_event;
	t.pat_total = IO_IN_MAX + 100;
	snprintf(rest, sizeof(rest), "sendrep:x:%d", IO_IN_MAX + 100 - 5000);
	snprintf(want, sizeof(want), "expect:got %d", IO_IN_MAX + 100);
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK(t.queued_max == IO_IN_MAX);
	CHECK(t.pat == t.pat_total);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
}

/* Raw bytes: take RAW's 10 bytes when they are all there. */
static void
raw_take(struct tc *t)
{
	if (io_datalen(t->io) < 10)
		return;
	memcpy(t->cipher, io_data(t->io), 10);
	t->cipher[10] = '\0';
	io_drop(t->io, 10);
	t->flag = 0;
}

static int
raw_event(struct tc *t, int ev)
{
	if (ev == IO_DATAIN && t->flag) {
		raw_take(t);
		/* Still short: wait for more. */
		if (t->flag)
			return (1);
	}
	return (0);
}

static int
raw_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "RAW 10") == 0) {
		t->flag = 1;
		raw_take(t);
		return (t->flag);
	}
	if (strcmp(line, "tail") == 0) {
		io_close_when_flushed(t->io);
		return (1);
	}
	return (0);
}

static void
test_raw_data(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:RAW 10\\r\\n01\\n3",
		"sleep:200",
		"send:456789tail\\r\\n",
		"eof",
		NULL
	};

	tc_init(&t);
	t.on_line = raw_line;
	t.on_event = raw_event;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.client_status == CLIENT_OK);
	CHECK_STR(str(t.cipher), "01\n3456789");
	CHECK(t.nlines == 2);
	CHECK_STR(line_at(&t, 1), "tail");
}

/* --- Freeing from inside the callback ---------------------------------- */

static void
free_now(struct tc *t)
{
	io_free(t->io);
	t->io = NULL;
	t->flag = 1;
	event_loopbreak();
}

static int
free_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)line;
	(void)len;
	(void)flags;
	if (io_printf(t->io, "bye\r\n") == -1)
		abort();
	free_now(t);
	return (1);
}

static void
test_free_in_datain(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:hello\\r\\nmore\\r\\n", "drain", NULL
	};

	tc_init(&t);
	t.on_line = free_line;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.flag == 1);
	CHECK(t.nlines == 1);
	CHECK(t.client_status == CLIENT_OK);
}

static int
free_event(struct tc *t, int ev)
{
	if (ev != t->free_on)
		return (0);
	free_now(t);
	return (1);
}

static void
test_free_in_lowat(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:GO\\r\\n", "sleep:300", "drain", NULL
	};

	tc_init(&t);
	t.on_line = pattern_go_line;
	t.on_event = free_event;
	t.free_on = IO_LOWAT;
	t.pat_total = 300000;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.flag == 1);
	CHECK(t.nev[IO_LOWAT] == 1);
	CHECK(t.client_status == CLIENT_OK);
}

static void
test_free_in_tlsready(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"tls:any", "send:data\\r\\n", "drain", NULL
	};

	tc_init(&t);
	t.implicit_tls = 1;
	t.on_event = free_event;
	t.free_on = IO_TLSREADY;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.flag == 1);
	CHECK(t.nev[IO_TLSREADY] == 1);
	CHECK(t.nlines == 0);
}

static void
test_free_in_timeout(void)
{
	struct tc	 t;
	const char	*steps[] = { "send:x\\r\\n", "drain", NULL };

	tc_init(&t);
	t.idle_s = 1;
	t.on_event = free_event;
	t.free_on = IO_TIMEOUT;
	serve(&t, steps);
	CHECK(!t.deadline_hit);
	CHECK(t.flag == 1);
	CHECK(t.nev[IO_TIMEOUT] == 1);
	CHECK(t.client_status == CLIENT_OK);
}

/* --- tls.c -------------------------------------------------------------- */

static void
test_tls_server_new_errors(void)
{
	struct tls	*ctx;
	char		 err[256];
	const char	 junk[] = "-----BEGIN CERTIFICATE-----\nxx\n";

	err[0] = '\0';
	ctx = tls_server_new(NULL, 0, NULL, 0, CONF_TLS_CIPHERS_DEFAULT, err,
	    sizeof(err));
	CHECK(ctx == NULL);
	CHECK(err[0] != '\0');
	err[0] = '\0';
	ctx = tls_server_new(junk, sizeof(junk) - 1, junk, sizeof(junk) - 1,
	    CONF_TLS_CIPHERS_DEFAULT, err, sizeof(err));
	CHECK(ctx == NULL);
	CHECK(err[0] != '\0');
	/* No room for a message is not a crash. */
	ctx = tls_server_new(junk, sizeof(junk) - 1, junk, sizeof(junk) - 1,
	    CONF_TLS_CIPHERS_DEFAULT, NULL, 0);
	CHECK(ctx == NULL);
}

/* --- Set up ------------------------------------------------------------- */

static int
run_quiet(char *const argv[])
{
	pid_t	 pid;
	int	 fd, status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		return (-1);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	if ((buf = calloc(1, 65536)) == NULL) {
		fclose(f);
		return (NULL);
	}
	n = fread(buf, 1, 65535, f);
	fclose(f);
	if (n == 0 || n == 65535) {
		free(buf);
		return (NULL);
	}
	*len = n;
	return (buf);
}

/* A throwaway ECDSA P-256 certificate for localhost. */
static void
make_cert(void)
{
	char	 cert[128], key[128], err[256];
	char	*certbuf, *keybuf;
	size_t	 certlen, keylen;
	char	*argv[] = {
		"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
		"-days", "1", "-keyout", key, "-out", cert, NULL
	};

	strlcpy(tmpdir, "/tmp/io_test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	if (run_quiet(argv) != 0)
		fatalx("openssl req failed");
	if ((certbuf = slurp(cert, &certlen)) == NULL ||
	    (keybuf = slurp(key, &keylen)) == NULL)
		fatalx("cannot read the certificate");
	unlink(cert);
	unlink(key);
	if (rmdir(tmpdir) == -1)
		fatal("rmdir %s", tmpdir);
	if ((srvtls = tls_server_new(certbuf, certlen, keybuf, keylen,
	    CONF_TLS_CIPHERS_DEFAULT, err,
	    sizeof(err))) == NULL)
		fatalx("tls_server_new: %s", err);
	freezero(keybuf, keylen);
	free(certbuf);
}

int
main(void)
{
	struct event_base	*base;

	log_init(1, LOG_MAIL);
	/* libtls writes with write(2): a closed peer must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_init()) == NULL)
		fatalx("event_init");
	make_cert();

	RUN(test_lines);
	RUN(test_maxline_small);
	RUN(test_maxline_default);
	RUN(test_raw_data);
	RUN(test_eof);
	RUN(test_pause_resume);
	RUN(test_resume_buffered);
	RUN(test_close_when_flushed);
	RUN(test_idle_timeout);
	RUN(test_total_timeout);
	RUN(test_hiwat_and_cap);
	RUN(test_lowat);
	RUN(test_free_in_datain);
	RUN(test_free_in_lowat);
	RUN(test_free_in_timeout);
	RUN(test_free_in_tlsready);
	RUN(test_starttls_injection);
	RUN(test_implicit_tls);
	RUN(test_tls12_accepted);
	RUN(test_tls13_accepted);
	RUN(test_tls10_refused);
	RUN(test_tls11_refused);
	RUN(test_tls_close_when_flushed);
	RUN(test_tls_full_buffer);
	RUN(test_tls_eof_close_notify);
	RUN(test_tls_eof_ragged);
	RUN(test_tls_server_new_errors);

	tls_free(srvtls);
	event_base_free(base);
	TEST_EXIT();
}
