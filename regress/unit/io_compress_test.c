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
 * common/io.c with COMPRESS=DEFLATE (RFC 4978) against a peer using
 * Python's zlib: lines both ways in clear and over TLS, input pipelined
 * behind the command, large output, a decompression bomb (the input
 * buffer fills and reading stops; zlib's memory does not grow), and
 * corrupt input (the connection fails).
 */

#include <sys/socket.h>
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <tls.h>

#include "log.h"
#include "io.h"
#include "test.h"
#include "io_fixture.h"

TEST_GLOBALS;

/* What the server saw of compression, beyond struct tc. */
static int	 z_rc;		/* first io_start_compress() */
static int	 z_rc2;		/* the second */
static size_t	 z_mem;		/* io_compress_mem() once on */
static size_t	 z_mem_max;
static size_t	 z_held_max;	/* input held while the owner waits */
static size_t	 z_total;	/* bomb octets taken */
static size_t	 z_want;
static int	 z_holding;

static void	 z_init(struct tc *);
static void	 z_run(struct tc *, const char **);
static void	 z_sample(struct tc *);
static int	 z_line(struct tc *, const char *, size_t, int);
static int	 bomb_event(struct tc *, int);
static void	 bomb_timer(struct tc *);
static void	 bomb_accept(struct tc *);
static void	 test_lines(void);
static void	 test_lines_tls(void);
static void	 test_pipelined(void);
static void	 test_large_output(void);
static void	 test_bomb(void);
static void	 test_corrupt(void);

/* A connection whose lines go to z_line(). */
static void
z_init(struct tc *t)
{
	tc_init(t);
	t->on_line = z_line;
	z_rc = z_rc2 = -2;
	z_mem = z_mem_max = z_held_max = z_total = z_want = 0;
	z_holding = 0;
}

/* Run it: the client did all its steps, compression came on. */
static void
z_run(struct tc *t, const char **steps)
{
	serve(t, steps);
	CHECK(!t->deadline_hit);
	CHECK(t->client_status == CLIENT_OK);
	CHECK(z_rc == 0);
}

static void
z_sample(struct tc *t)
{
	size_t	 m;

	if (t->io == NULL)
		return;
	if ((m = io_compress_mem(t->io)) > z_mem_max)
		z_mem_max = m;
	if (io_datalen(t->io) > z_held_max)
		z_held_max = io_datalen(t->io);
}

/*
 * COMPRESS: "OK go" in clear, then compression.  GO: the pattern.
 * BYE: close.  Anything else is echoed (compressed once on).
 */
static int
z_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "COMPRESS") == 0) {
		if (z_rc != -2) {
			z_rc2 = io_start_compress(t->io);
			if (io_printf(t->io, "NO active\r\n") == -1)
				abort();
			return (0);
		}
		if (io_printf(t->io, "OK go\r\n") == -1)
			abort();
		z_rc = io_start_compress(t->io);
		z_mem = io_compress_mem(t->io);
		return (0);
	}
	if (strcmp(line, "GO") == 0)
		return (pattern_go_line(t, line, len, flags));
	if (strcmp(line, "BYE") == 0) {
		if (io_printf(t->io, "bye\r\n") == -1)
			abort();
		io_close_when_flushed(t->io);
		return (1);
	}
	z_sample(t);
	if (io_printf(t->io, "echo %s\r\n", line) == -1)
		abort();
	return (0);
}

static void
test_lines(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"expect:hello",
		"send:one\\r\\nCOMPRESS\\r\\n",
		"expect:echo one",
		"expect:OK go",
		"zon",
		"send:two\\r\\nthree\\r\\n",
		"expect:echo two",
		"expect:echo three",
		"send:COMPRESS\\r\\n",
		"expect:NO active",
		"send:after-the-refusal\\r\\nBYE\\r\\n",
		"expect:echo after-the-refusal",
		"expect:bye",
		"eof",
		NULL
	};

	z_init(&t);
	t.greeting = "hello";
	z_run(&t, steps);
	CHECK(z_rc2 == -1);
	CHECK(has_line(&t, "two") && has_line(&t, "three"));
	CHECK(t.nev[IO_ERROR] == 0);
	CHECK(t.nev[IO_DISCONNECTED] == 1);
	/* Fixed once on: windowBits 15, memLevel 5, both ways. */
	printf("compressed connection: zlib holds %zu octets\n", z_mem_max);
	CHECK(z_mem > 0 && z_mem <= 200 * 1024);
	CHECK(z_mem_max <= 200 * 1024);
}

static void
test_lines_tls(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"tls:any",
		"expect:hello",
		"send:COMPRESS\\r\\n",
		"expect:OK go",
		"zon",
		"send:inside\\r\\n",
		"expect:echo inside",
		"send:BYE\\r\\n",
		"expect:bye",
		"eof",
		NULL
	};

	z_init(&t);
	t.implicit_tls = 1;
	t.greeting = "hello";
	z_run(&t, steps);
	CHECK(has_line(&t, "inside"));
	CHECK(t.nev[IO_TLSREADY] == 1);
	CHECK(t.nev[IO_ERROR] == 0);
}

/* Compressed input in the same write as the command: not lost. */
static void
test_pipelined(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"zpipe:COMPRESS\\r\\n:a\\r\\nb\\r\\n",
		"expect:OK go",
		"zrecv",
		"expect:echo a",
		"expect:echo b",
		"send:BYE\\r\\n",
		"expect:bye",
		"eof",
		NULL
	};

	z_init(&t);
	z_run(&t, steps);
	CHECK(t.nlines == 4);
	CHECK_STR(line_at(&t, 1), "a");
	CHECK_STR(line_at(&t, 2), "b");
}

/* More than the queue's high mark, read at the client's pace. */
static void
test_large_output(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:COMPRESS\\r\\n",
		"expect:OK go",
		"zon",
		"send:GO\\r\\n",
		"zrecvpat:3000000",
		"send:BYE\\r\\n",
		"expect:bye",
		"eof",
		NULL
	};

	z_init(&t);
	t.pat_total = 3000000;
	t.sndbuf = 16384;
	z_run(&t, steps);
	CHECK(t.queued_max == 3000000);
	CHECK(t.nev[IO_LOWAT] >= 1);
	CHECK(t.nev[IO_ERROR] == 0);
}

/*
 * 64 MB of 'a' compressed to about 64 KB.  The owner first holds its
 * input: the buffer fills to IO_IN_MAX and stops there.  Then it takes
 * everything, a buffer at a time, until all 64 MB have come.
 */
#define BOMB	(64 * 1024 * 1024)

static int
bomb_event(struct tc *t, int ev)
{
	size_t	 n;

	if (ev != IO_DATAIN || z_rc != 0)
		return (0);
	z_sample(t);
	if (z_holding)
		return (1);
	n = io_datalen(t->io);
	z_total += n;
	io_drop(t->io, n);
	if (z_total == z_want && io_printf(t->io, "done %zu\r\n",
	    z_total) == -1)
		abort();
	return (1);
}

static void
bomb_timer(struct tc *t)
{
	size_t	 n;

	z_sample(t);
	z_holding = 0;
	n = io_datalen(t->io);
	z_total += n;
	io_drop(t->io, n);
}

static void
bomb_accept(struct tc *t)
{
	arm_timer(t, 1500, bomb_timer);
}

static void
test_bomb(void)
{
	struct tc	 t;
	char		 done[64];
	const char	*steps[] = {
		"send:COMPRESS\\r\\n",
		"expect:OK go",
		"zon",
		"zbomb:67108864",
		NULL, NULL, NULL
	};

	snprintf(done, sizeof(done), "expect:done %d", BOMB);
	steps[4] = done;
	steps[5] = "close";
	z_init(&t);
	z_want = BOMB;
	z_holding = 1;
	t.on_event = bomb_event;
	t.on_accept = bomb_accept;
	z_run(&t, steps);
	/* Held: the buffer was full, and no fuller. */
	CHECK(z_held_max == IO_IN_MAX);
	CHECK(z_total == BOMB);
	CHECK(z_mem_max <= 200 * 1024);
	CHECK(t.nev[IO_ERROR] == 0);
}

/* A stored block whose length and its complement disagree. */
static void
test_corrupt(void)
{
	struct tc	 t;
	const char	*steps[] = {
		"send:COMPRESS\\r\\n",
		"expect:OK go",
		"zon",
		"send:fine\\r\\n",
		"expect:echo fine",
		"zraw:000500000068656c6c6f",
		"drain",
		NULL
	};

	z_init(&t);
	z_run(&t, steps);
	CHECK(t.nlines == 2);
	CHECK(t.nev[IO_ERROR] == 1);
	CHECK(t.nev[IO_DATAIN] >= 1);
}

int
main(void)
{
	io_fixture_setup();
	RUN(test_lines);
	RUN(test_lines_tls);
	RUN(test_pipelined);
	RUN(test_large_output);
	RUN(test_bomb);
	RUN(test_corrupt);
	io_fixture_teardown();
	TEST_EXIT();
}
