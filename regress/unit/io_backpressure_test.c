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
 * common/io.c under its owner's control with a real peer: pausing and
 * resuming reads (with lines already buffered), the output queue's high
 * and low water marks and its cap, and freeing the connection from
 * inside each kind of callback.
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

static void	 cap_timer(struct tc *);
static int	 hiwat_line(struct tc *, const char *, size_t, int);
static int	 lowat_event(struct tc *, int);
static int	 lowat_line(struct tc *, const char *, size_t, int);
static void	 resume_timer(struct tc *);
static int	 pause_line(struct tc *, const char *, size_t, int);
static void	 resume_b_timer(struct tc *);
static int	 resume_b_line(struct tc *, const char *, size_t, int);
static void	 free_now(struct tc *);
static int	 free_line(struct tc *, const char *, size_t, int);
static int	 free_event(struct tc *, int);
static void	 test_hiwat_and_cap(void);
static void	 test_lowat(void);
static void	 test_pause_resume(void);
static void	 test_resume_buffered(void);
static void	 test_free_in_datain(void);
static void	 test_free_in_lowat(void);
static void	 test_free_in_tlsready(void);
static void	 test_free_in_timeout(void);

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

int
main(void)
{
	io_fixture_setup();
	RUN(test_pause_resume);
	RUN(test_resume_buffered);
	RUN(test_hiwat_and_cap);
	RUN(test_lowat);
	RUN(test_free_in_datain);
	RUN(test_free_in_lowat);
	RUN(test_free_in_timeout);
	RUN(test_free_in_tlsready);
	io_fixture_teardown();
	TEST_EXIT();
}
