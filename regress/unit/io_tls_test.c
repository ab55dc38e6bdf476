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
 * common/io.c and common/tls.c over TLS with a real peer: STARTTLS (and
 * what is injected before it), implicit TLS, the protocol versions taken
 * and refused, closing when flushed, a full buffer, the end of a
 * connection with and without close_notify, and tls_server_new() errors.
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
#include "io_fixture.h"
#include "test.h"

TEST_GLOBALS;

static int	 starttls_line(struct tc *, const char *, size_t, int);
static int	 ping_line(struct tc *, const char *, size_t, int);
static void	 tls_roundtrip(const char *, const char *);
static void	 tls_refused(const char *);
static void	 tls_eof(const char *, int);
static int	 full_event(struct tc *, int);
static int	 full_line(struct tc *, const char *, size_t, int);
static void	 test_starttls_injection(void);
static void	 test_implicit_tls(void);
static void	 test_tls12_accepted(void);
static void	 test_tls13_accepted(void);
static void	 test_tls10_refused(void);
static void	 test_tls11_refused(void);
static void	 test_tls_close_when_flushed(void);
static void	 test_tls_eof_close_notify(void);
static void	 test_tls_eof_ragged(void);
static void	 test_tls_full_buffer(void);
static void	 test_tls_server_new_errors(void);

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

int
main(void)
{
	io_fixture_setup();
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
	io_fixture_teardown();
	TEST_EXIT();
}
