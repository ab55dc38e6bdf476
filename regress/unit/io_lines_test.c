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
 * common/io.c reading lines and raw data from a real peer: lines and
 * their maximum length, raw data, end of file, closing when flushed, and
 * the idle and total timeouts.
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

#include "log.h"
#include "io.h"
#include "test.h"
#include "io_fixture.h"
#include "test.h"

TEST_GLOBALS;

static int	 idle_event(struct tc *, int);
static void	 end_timer(struct tc *);
static int	 total_event(struct tc *, int);
static void	 set_total_timer(struct tc *);
static void	 total_accept(struct tc *);
static void	 raw_take(struct tc *);
static int	 raw_event(struct tc *, int);
static int	 raw_line(struct tc *, const char *, size_t, int);
static void	 test_lines(void);
static void	 test_maxline_small(void);
static void	 test_maxline_default(void);
static void	 test_eof(void);
static void	 test_close_when_flushed(void);
static void	 test_idle_timeout(void);
static void	 test_total_timeout(void);
static void	 test_raw_data(void);

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

int
main(void)
{
	io_fixture_setup();
	RUN(test_lines);
	RUN(test_maxline_small);
	RUN(test_maxline_default);
	RUN(test_raw_data);
	RUN(test_eof);
	RUN(test_close_when_flushed);
	RUN(test_idle_timeout);
	RUN(test_total_timeout);
	io_fixture_teardown();
	TEST_EXIT();
}
