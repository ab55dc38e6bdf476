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
 * The tresor.conf(5) lexer: names, macros, include, units of size and
 * time, and quoting.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "test.h"
#include "conf_fixture.h"
#include "test.h"

TEST_GLOBALS;

static struct listener *make_listener(const char *);
static void	 test_names(void);
static void	 test_macros(void);
static void	 test_include(void);
static void	 test_units(void);
static void	 test_quoting(void);

static struct listener *
make_listener(const char *addr)
{
	static struct listener	 l;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&l.ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&l.ss;

	memset(&l, 0, sizeof(l));
	if (strchr(addr, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		CHECK(inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1);
		l.sslen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		CHECK(inet_pton(AF_INET, addr, &sin->sin_addr) == 1);
		l.sslen = sizeof(*sin);
	}
	l.fd = -1;
	return (&l);
}

static void
test_names(void)
{
	char	 buf[NI_MAXHOST + 2];

	CHECK_SEQ(conf_proto_name(PROTO_SMTP), "smtp");
	CHECK_SEQ(conf_proto_name(PROTO_SUBMISSION), "submission");
	CHECK_SEQ(conf_proto_name(PROTO_IMAP), "imap");
	CHECK_SEQ(conf_proto_name(PROTO_POP3), "pop3");
	CHECK_SEQ(conf_tlsmode_name(TLSMODE_NONE), "none");
	CHECK_SEQ(conf_tlsmode_name(TLSMODE_STARTTLS), "starttls");
	CHECK_SEQ(conf_tlsmode_name(TLSMODE_IMPLICIT), "implicit");

	CHECK(conf_listener_is_loopback(make_listener("127.0.0.1")));
	CHECK(conf_listener_is_loopback(make_listener("127.254.3.9")));
	CHECK(!conf_listener_is_loopback(make_listener("128.0.0.1")));
	CHECK(!conf_listener_is_loopback(make_listener("10.0.0.1")));
	CHECK(!conf_listener_is_loopback(make_listener("0.0.0.0")));
	CHECK(conf_listener_is_loopback(make_listener("::1")));
	CHECK(conf_listener_is_loopback(make_listener("::ffff:127.0.0.1")));
	CHECK(conf_listener_is_loopback(make_listener("::ffff:127.9.9.9")));
	CHECK(!conf_listener_is_loopback(make_listener("::ffff:10.0.0.1")));
	CHECK(!conf_listener_is_loopback(make_listener("::")));
	CHECK(!conf_listener_is_loopback(make_listener("::2")));
	CHECK(!conf_listener_is_loopback(make_listener("fe80::1")));
	CHECK(!conf_listener_is_loopback(make_listener("2001:db8::1")));

	CHECK_SEQ(conf_listener_addr(make_listener("192.0.2.7"), buf,
	    sizeof(buf)), "192.0.2.7");
	CHECK_SEQ(conf_listener_addr(make_listener("::1"), buf, sizeof(buf)),
	    "[::1]");
	CHECK_SEQ(conf_listener_addr(make_listener("2001:DB8:0:0::1"), buf,
	    sizeof(buf)), "[2001:db8::1]");
	/* A short buffer is truncated, not overrun. */
	CHECK_SEQ(conf_listener_addr(make_listener("192.0.2.7"), buf, 5),
	    "192.");
}

static void
test_macros(void)
{
	struct conf	*conf;

	conf = parse_good("macros.conf");
	CHECK_SEQ(conf->hostname, "mx.example.com");
	/* Not expanded inside quotes. */
	CHECK_SEQ(conf->datadir, "/data/$quoted");
	CHECK(conf->limits.max_message_size == 20 * 1024 * 1024);
	CHECK(count_listeners(conf) == 3);
	/* The redefinition won. */
	check_listener(nth_listener(conf, 0), AF_INET, "192.0.2.20", 25,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	/* A macro can stand for a keyword. */
	check_listener(nth_listener(conf, 1), AF_INET, "127.0.0.1", 993,
	    PROTO_IMAP, TLSMODE_IMPLICIT, 0);
	/* other = $lo */
	check_listener(nth_listener(conf, 2), AF_INET, "127.0.0.1", 143,
	    PROTO_IMAP, TLSMODE_STARTTLS, 0);
	conf_free(conf);
}

static void
test_include(void)
{
	struct conf	*conf;

	conf = parse_good("include.conf");
	CHECK_SEQ(conf->hostname, "mx.example.org");
	/* From inc/tls.conf, included relative to include.conf. */
	CHECK_SEQ(conf->tls_cert, "/etc/ssl/c.pem");
	CHECK_SEQ(conf->tls_key, "/etc/ssl/k.pem");
	CHECK(conf->tls_selfsigned == 0);
	/* From inc/limits.conf, included relative to inc/tls.conf. */
	CHECK(conf->limits.max_conn == 77);
	/* In the order read: the included file's domain came first. */
	CHECK_SEQ(nth_domain(conf, 0)->name, "included.example");
	CHECK_SEQ(nth_domain(conf, 1)->name, "example.org");
	CHECK(count_domains(conf) == 2);
	CHECK(count_listeners(conf) == 2);
	check_listener(nth_listener(conf, 0), AF_INET, "127.0.0.1", 2525,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	/* A macro defined in an included file. */
	check_listener(nth_listener(conf, 1), AF_INET, "127.0.0.1", 2526,
	    PROTO_SUBMISSION, TLSMODE_STARTTLS, 0);
	conf_free(conf);
}

static void
test_units(void)
{
	static const struct {
		const char	*stmt;
		size_t		 size;
		unsigned int	 idle, session;
	} cases[] = {
		{ "limit message-size 1024", 1024, 0, 0 },
		{ "limit message-size 1K", 1024, 0, 0 },
		{ "limit message-size 1k", 1024, 0, 0 },
		{ "limit message-size 3000000", 3000000, 0, 0 },
		{ "limit message-size 35M", 36700160, 0, 0 },
		{ "limit message-size 1g", 1073741824, 0, 0 },
		{ "limit message-size 2G", 2147483648U, 0, 0 },
		{ "limit message-size 2097152K", 2147483648U, 0, 0 },
		{ "limit timeout idle 1", 0, 1, 0 },
		{ "limit timeout idle 1s", 0, 1, 0 },
		{ "limit timeout idle 5m", 0, 300, 0 },
		{ "limit timeout idle 24h", 0, 86400, 0 },
		{ "limit timeout idle 1d", 0, 86400, 0 },
		{ "limit timeout idle 86400s", 0, 86400, 0 },
		{ "limit timeout session 7d", 0, 0, 604800 },
		{ "limit timeout session 168h", 0, 0, 604800 },
		{ "limit timeout session 90m", 0, 0, 5400 },
		{ "limit timeout session 2", 0, 0, 2 }
	};
	struct conf	*conf;
	char		 text[256];
	size_t		 i;
	int		 n;

	conf = parse_good("units.conf");
	CHECK(conf->limits.max_message_size == 512 * 1024);
	CHECK(conf->limits.timeout_idle == 90);
	CHECK(conf->limits.timeout_session == 86400);
	conf_free(conf);

	for (i = 0; i < nitems(cases); i++) {
		n = snprintf(text, sizeof(text), "listen on 127.0.0.1 port "
		    "25 smtp tls none\n%s\n", cases[i].stmt);
		CHECK(n > 0 && (size_t)n < sizeof(text));
		write_file("unit.conf", text, n, 0600);
		conf = parse_good("unit.conf");
		if (cases[i].size != 0)
			CHECK(conf->limits.max_message_size == cases[i].size);
		else
			CHECK(conf->limits.max_message_size == 36700160);
		if (cases[i].idle != 0)
			CHECK(conf->limits.timeout_idle == cases[i].idle);
		else
			CHECK(conf->limits.timeout_idle == 300);
		if (cases[i].session != 0)
			CHECK(conf->limits.timeout_session ==
			    cases[i].session);
		else
			CHECK(conf->limits.timeout_session == 3600);
		conf_free(conf);
	}
}

static void
test_quoting(void)
{
	static const char crlf[] = "# CRLF line ends\r\n"
	    "listen on 127.0.0.1 port 25 smtp tls none\r\n"
	    "domain \"a.example\"\r\n";
	static const char noeol[] = "listen on 127.0.0.1 port 25 smtp "
	    "tls none \\";
	struct conf	*conf;

	conf = parse_good("quoting.conf");
	CHECK_SEQ(conf->hostname, "mx.example.org");
	CHECK_SEQ(conf->datadir, "/srv/with space/# not a comment");
	CHECK_SEQ(conf->emptydir, "/srv/quote\"and\\backslash");
	CHECK_SEQ(conf->ctlsock, "/run/bare.sock");
	CHECK_SEQ(conf->ctlgroup, "staff");
	CHECK_SEQ(conf->tls_cert, "/etc/a very long name.pem");
	CHECK_SEQ(conf->tls_key, "/k.pem");
	/* Keywords are plain strings where a string is expected. */
	CHECK_SEQ(conf->user[ROLE_SMTPD], "smtpd");
	CHECK_SEQ(conf->user[ROLE_IMAPD], "imapd");
	CHECK_SEQ(conf->user[ROLE_VAULTD], USER_VAULTD);
	CHECK_SEQ(nth_domain(conf, 0)->name, "example.org");
	CHECK(count_domains(conf) == 1);
	CHECK(count_listeners(conf) == 1);
	check_listener(nth_listener(conf, 0), AF_INET, "127.0.0.1", 2525,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	conf_free(conf);

	write_file("crlf.conf", crlf, sizeof(crlf) - 1, 0600);
	conf = parse_good("crlf.conf");
	CHECK_SEQ(nth_domain(conf, 0)->name, "a.example");
	CHECK(count_listeners(conf) == 1);
	conf_free(conf);

	/* A continuation at the very end of the file ends the statement. */
	write_file("noeol.conf", noeol, sizeof(noeol) - 1, 0600);
	conf = parse_good("noeol.conf");
	check_listener(nth_listener(conf, 0), AF_INET, "127.0.0.1", 25,
	    PROTO_SMTP, TLSMODE_NONE, 0);
	conf_free(conf);
}

int
main(void)
{
	conf_fixture_setup();
	RUN(test_names);
	RUN(test_macros);
	RUN(test_include);
	RUN(test_units);
	RUN(test_quoting);
	conf_fixture_teardown();
	TEST_EXIT();
}
