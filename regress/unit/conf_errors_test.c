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
 * What the tresor.conf(5) parser says about bad files: each wrong
 * keyword, value, statement and file, several errors at once, and files
 * that others could write.
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

static void	 write_text(const char *, const char *, mode_t);
static void	 test_bad_keyword(void);
static void	 test_bad_port(void);
static void	 test_bad_proto(void);
static void	 test_bad_tlsmode(void);
static void	 test_bad_address(void);
static void	 test_bad_plaintext_auth(void);
static void	 test_bad_duplicate_listener(void);
static void	 test_bad_domain(void);
static void	 test_bad_datadir(void);
static void	 test_bad_macro(void);
static void	 test_bad_include(void);
static void	 test_bad_quote(void);
static void	 test_bad_size(void);
static void	 test_bad_duration(void);
static void	 test_bad_vault(void);
static void	 test_bad_whole(void);
static void	 test_bad_long(void);
static void	 test_bad_permissions(void);
static void	 test_bad_several(void);

static void
write_text(const char *name, const char *text, mode_t mode)
{
	write_file(name, text, strlen(text), mode);
}

static void
test_bad_keyword(void)
{
	expect_bad("bad-keyword.conf", 1,
	    "@:3: syntax error: unexpected \"frobnicate\"\n");
}

static void
test_bad_port(void)
{
	expect_bad("bad-port.conf", 4,
	    "@:1: port 0 is out of range (1-65535)\n"
	    "@:2: port 70000 is out of range (1-65535)\n"
	    "@:3: expected a port number, got \"abc\"\n"
	    "@:4: expected a port number, got \"smtp\"\n");
}

static void
test_bad_proto(void)
{
	expect_bad("bad-proto.conf", 4,
	    "@:2: expected smtp, submission, imap or pop3, got \"smtps\"\n"
	    "@:3: expected port, smtp, submission, imap or pop3, "
	    "got \"ftp\"\n"
	    "@:4: expected smtp, submission, imap or pop3, "
	    "got end of line\n"
	    "@:5: expected tls, plaintext-auth or end of line, "
	    "got \"bogus\"\n");
}

static void
test_bad_tlsmode(void)
{
	expect_bad("bad-tlsmode.conf", 3,
	    "@:2: expected none, starttls or implicit, got \"always\"\n"
	    "@:3: expected none, starttls or implicit, got end of line\n"
	    "@:4: tls given twice\n");
}

static void
test_bad_address(void)
{
	expect_bad("bad-address.conf", 6,
	    "@:2: expected an IP address, * or localhost, "
	    "got \"mail.example.org\"\n"
	    "@:3: expected an IP address, * or localhost, got \"127.1\"\n"
	    "@:4: expected an IP address, * or localhost, "
	    "got \"192.0.2.300\"\n"
	    "@:5: expected an IP address, * or localhost, "
	    "got \"[127.0.0.1]\"\n"
	    "@:6: expected \"on\", got \"at\"\n"
	    "@:7: expected an IP address, * or localhost, got end of line\n");
}

static void
test_bad_plaintext_auth(void)
{
	/* The error is on the line of the plaintext-auth token. */
	expect_bad("bad-plainauth-public.conf", 3,
	    "@:3: plaintext-auth is only allowed on loopback addresses\n"
	    "@:5: plaintext-auth is only allowed on loopback addresses\n"
	    "@:6: plaintext-auth is only allowed on loopback addresses\n");
	expect_bad("bad-plainauth-smtp.conf", 1,
	    "@:2: plaintext-auth makes no sense on smtp listeners: "
	    "they offer no AUTH\n");
}

static void
test_bad_duplicate_listener(void)
{
	expect_bad("bad-dup-listener.conf", 4,
	    "@:2: duplicate listener 127.0.0.1 port 25\n"
	    "@:4: duplicate listener [::1] port 143\n"
	    "@:5: listener 0.0.0.0 port 25 conflicts with listener "
	    "127.0.0.1 port 25\n"
	    "@:7: listener [::1] port 26 conflicts with listener "
	    "[::] port 26\n");
}

static void
test_bad_domain(void)
{
	expect_bad("bad-dup-domain.conf", 1,
	    "@:4: duplicate domain \"example.org\"\n");
	expect_bad("bad-domain.conf", 10,
	    "@:2: bad domain name \"exa_mple.org\": invalid character '_'\n"
	    "@:3: bad domain name \"a..b\": empty label\n"
	    "@:4: bad domain name \"-a.org\": label starts with a hyphen\n"
	    "@:5: bad domain name \"a-.org\": label ends with a hyphen\n"
	    "@:6: bad domain name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaa...\": label longer than 63 characters\n"
	    "@:7: bad domain name \"example.org.\": empty label\n"
	    "@:8: bad domain name \"\": empty name\n"
	    "@:9: bad domain name \"exa mple.org\": invalid character 0x20\n"
	    "@:10: expected a domain name, got end of line\n"
	    "@:11: bad host name \"mx_1.example.org\": "
	    "invalid character '_'\n");
}

static void
test_bad_datadir(void)
{
	expect_bad("bad-datadir.conf", 3,
	    "@:2: datadir must be an absolute path\n"
	    "@:3: chroot must be an absolute path\n"
	    "@:4: expected a directory, got end of line\n");
}

static void
test_bad_macro(void)
{
	expect_bad("bad-macro.conf", 4,
	    "@:2: undefined macro \"nowhere\"\n"
	    "@:3: keyword \"port\" cannot be a macro name\n"
	    "@:4: bad macro name \"my-macro\": use letters, digits and _\n"
	    "@:6: bad macro reference \"$\"\n");
}

static void
test_bad_include(void)
{
	struct conf	*conf = NULL;
	static char	 out[OUT_MAX], exp[OUT_MAX];
	char		 text[64], name[32], path[PATH_MAX], d8[PATH_MAX];
	int		 i;

	expect_bad("bad-include-missing.conf", 1,
	    "@:2: ^/does-not-exist.conf: No such file or directory\n");
	/* Including itself: stopped at the ninth level, once. */
	expect_bad("bad-include-self.conf", 1,
	    "@:2: include nested too deeply\n");

	/* Eight levels are fine: d0 includes d1 ... d8. */
	for (i = 0; i <= 8; i++) {
		if (i < 8)
			snprintf(text, sizeof(text), "include \"d%d.conf\"\n",
			    i + 1);
		else
			strlcpy(text, LISTEN25, sizeof(text));
		snprintf(name, sizeof(name), "d%d.conf", i);
		write_text(name, text, 0600);
	}
	conf_free(parse_good("d0.conf"));

	/* A ninth is not; the error names the file that went too deep. */
	write_text("d8.conf", "include \"d9.conf\"\n", 0600);
	write_text("d9.conf", LISTEN25, 0600);
	tmppath("d0.conf", path, sizeof(path));
	tmppath("d8.conf", d8, sizeof(d8));
	CHECK(parse_capture(path, &conf, out, sizeof(out)) == 1);
	subst("@:1: include nested too deeply\n", d8, exp, sizeof(exp));
	CHECK_SEQ(out, exp);
	CHECK(conf == NULL);

	/* An included file is checked like the main one. */
	write_text("d9.conf", LISTEN25, 0602);
	expect_bad("d8.conf", 1, "@:1: ^/d9.conf: bad permissions: writable "
	    "by group or others (mode 602)\n");
}

static void
test_bad_quote(void)
{
	expect_bad("bad-quote.conf", 3,
	    "@:2: unterminated quoted string\n"
	    "@:3: bad escape sequence \"\\n\" in quoted string\n"
	    "@:4: syntax error: unexpected \"example.net\"\n");
}

static void
test_bad_size(void)
{
	expect_bad("bad-size.conf", 9,
	    "@:2: bad size \"10X\": the unit must be K, M or G\n"
	    "@:3: bad size \"10KB\": the unit must be K, M or G\n"
	    "@:4: message size 512 is out of range (1K-2G)\n"
	    "@:5: message size 3G is out of range (1K-2G)\n"
	    "@:6: message size 99999999999999999999999K is out of range "
	    "(1K-2G)\n"
	    "@:7: expected a size, got \"big\"\n"
	    "@:8: expected a size, got end of line\n"
	    "@:9: expected connections, message-size, mailbox-size, "
	    "line-length or timeout, got end of line\n"
	    "@:10: expected connections, message-size, mailbox-size, "
	    "line-length or timeout, got \"bandwidth\"\n");
}

static void
test_bad_duration(void)
{
	expect_bad("bad-duration.conf", 11,
	    "@:2: bad duration \"5x\": the unit must be s, m, h or d\n"
	    "@:3: idle timeout 25h is out of range (1s-24h)\n"
	    "@:4: idle timeout 0 is out of range (1s-24h)\n"
	    "@:5: session timeout 8d is out of range (1s-7d)\n"
	    "@:6: bad duration \"5M\": the unit must be s, m, h or d\n"
	    "@:7: expected idle or session, got \"forever\"\n"
	    "@:8: connection limit 0 is out of range (1-1000000)\n"
	    "@:9: per-address connection limit 100001 is out of range "
	    "(1-100000)\n"
	    "@:10: expected a number, per-address or per-network, got "
	    "\"many\"\n"
	    "@:11: per-network connection limit 0 is out of range "
	    "(1-1000000)\n"
	    "@:12: per-network connection limit 1000001 is out of range "
	    "(1-1000000)\n");
}

static void
test_bad_vault(void)
{
	expect_bad("bad-vault.conf", 38,
	    "@:2: expected kdf, lock-grace or allow-unlocked-memory, got end of line\n"
	    "@:3: expected kdf, lock-grace or allow-unlocked-memory, got \"keys\"\n"
	    "@:4: expected default or ops, got end of line\n"
	    "@:5: expected default or ops, got \"fast\"\n"
	    "@:6: syntax error: unexpected \"now\"\n"
	    "@:7: expected a number, got end of line\n"
	    "@:8: expected a number, got \"many\"\n"
	    "@:9: kdf ops must be between 1 and 20\n"
	    "@:10: kdf ops must be between 1 and 20\n"
	    "@:11: kdf ops must be between 1 and 20\n"
	    "@:12: expected a number, got \"-1\"\n"
	    "@:13: expected \"memory\", got end of line\n"
	    "@:14: expected \"memory\", got \"mem\"\n"
	    "@:15: expected a size, got end of line\n"
	    "@:16: kdf memory must be between 8M and 4G\n"
	    "@:17: kdf memory must be between 8M and 4G\n"
	    "@:18: kdf memory must be between 8M and 4G\n"
	    "@:19: kdf memory must be between 8M and 4G\n"
	    "@:20: kdf memory must be between 8M and 4G\n"
	    "@:21: kdf memory must be a multiple of 1K\n"
	    "@:22: bad size \"64MB\": the unit must be K, M or G\n"
	    "@:23: kdf memory must be between 8M and 4G\n"
	    "@:24: syntax error: unexpected \"extra\"\n"
	    "@:25: expected default or ops, got \"memory\"\n"
	    "@:26: expected a duration, got end of line\n"
	    "@:27: lock-grace must be at most 1h\n"
	    "@:28: lock-grace must be at most 1h\n"
	    "@:29: lock-grace must be at most 1h\n"
	    "@:30: lock-grace must be at most 1h\n"
	    "@:31: bad duration \"5x\": the unit must be s, m, h or d\n"
	    "@:32: bad duration \"5M\": the unit must be s, m, h or d\n"
	    "@:33: expected a duration, got \"soon\"\n"
	    "@:34: expected a duration, got \"-1\"\n"
	    "@:35: syntax error: unexpected \"20s\"\n"
	    "@:36: expected kdf, lock-grace or allow-unlocked-memory, got \"kdf\"\n"
	    "@:37: expected default or ops, got \"ops\"\n"
	    "@:38: syntax error: unexpected \"lock-grace\"\n"
	    "@:39: keyword \"kdf\" cannot be a macro name\n");
}

static void
test_bad_whole(void)
{
	/* Reported against the main file's last line. */
	expect_bad("bad-nolistener.conf", 1, "@:4: no listener configured\n");
	write_file("empty.conf", "", 0, 0600);
	expect_bad("empty.conf", 1, "@:0: no listener configured\n");
	expect_bad("bad-notls.conf", 2,
	    "@:2: listener on 127.0.0.1 port 993 needs TLS but no tls "
	    "cert/key is configured\n"
	    "@:4: listener on [::1] port 25 needs TLS but no tls cert/key "
	    "is configured\n");
	expect_bad("bad-limits.conf", 1,
	    "@:3: per-address connection limit 500 exceeds the connection "
	    "limit 100\n");
	expect_bad("bad-netlimits.conf", 1,
	    "@:3: per-network connection limit 10 is below the "
	    "per-address limit 20\n");
	expect_bad("bad-netlimits-total.conf", 1,
	    "@:3: per-network connection limit 200 exceeds the connection "
	    "limit 100\n");
}

static void
test_bad_long(void)
{
	static const char ctl[] = LISTEN25 "hostname \"a\001b\"\n"
	    "domain \"x\0y\"\n";
	struct conf	*conf;
	char		*text;
	size_t		 n;

	if ((text = malloc(16384)) == NULL)
		CHECK(!"malloc");

	/* 4096 characters are fine, 4097 are not. */
	memcpy(text, "hostname ", 9);
	memset(text + 9, 'a', 4097 - 9);
	memcpy(text + 4097, "\nlisten on 127.0.0.1 port 25 smtp tls none\n"
	    "bogus\n", 49);
	write_file("long.conf", text, 4097 + 49, 0600);
	expect_bad("long.conf", 2, "@:1: line too long (more than 4096 "
	    "characters)\n@:3: syntax error: unexpected \"bogus\"\n");
	/* Now 4096: the line is read, the name is what is wrong. */
	memmove(text + 4096, text + 4097, 49);
	write_file("long.conf", text, 4096 + 49, 0600);
	expect_bad("long.conf", 2, "@:1: string too long\n"
	    "@:3: syntax error: unexpected \"bogus\"\n");

	/* A string longer than its field. */
	n = snprintf(text, 16384, "listen on 127.0.0.1 port 25 smtp tls "
	    "none\nuser smtpd \"%040d\"\nhostname \"a%0300d\"\n", 0, 0);
	write_file("long.conf", text, n, 0600);
	expect_bad("long.conf", 2, "@:2: string too long\n"
	    "@:3: string too long\n");

	/* A string longer than PATH_MAX - 1, over two lines. */
	memcpy(text, "datadir \"/", 10);
	memset(text + 10, 'a', 3000);
	memcpy(text + 3010, "\\\n", 2);
	memset(text + 3012, 'b', 3000);
	memcpy(text + 6012, "\"\nlisten on 127.0.0.1 port 25 smtp tls none\n"
	    "bogus\n", 50);
	write_file("long.conf", text, 6062, 0600);
	expect_bad("long.conf", 2, "@:1: string too long\n"
	    "@:4: syntax error: unexpected \"bogus\"\n");
	/* Within PATH_MAX - 1 it is fine. */
	memset(text + 10, 'a', 1000);
	memcpy(text + 1010, "\\\n", 2);
	memset(text + 1012, 'b', 1000);
	memcpy(text + 2012, "\"\nlisten on 127.0.0.1 port 25 smtp tls none\n",
	    44);
	write_file("long.conf", text, 2056, 0600);
	conf = parse_good("long.conf");
	CHECK(strlen(conf->datadir) == 2001);
	CHECK(conf->datadir[1000] == 'a' && conf->datadir[1001] == 'b');
	conf_free(conf);

	/* Control characters are refused, NUL included. */
	write_file("long.conf", ctl, sizeof(ctl) - 1, 0600);
	expect_bad("long.conf", 2, "@:2: invalid character 0x01\n"
	    "@:3: invalid character 0x00\n");
	free(text);
}

static void
test_bad_permissions(void)
{
	static const char good[] = LISTEN25;
	char	 path[PATH_MAX];

	write_file("perm.conf", good, sizeof(good) - 1, 0666);
	expect_bad("perm.conf", 1, "@: bad permissions: writable by group or "
	    "others (mode 666)\n");
	write_file("perm.conf", good, sizeof(good) - 1, 0620);
	expect_bad("perm.conf", 1, "@: bad permissions: writable by group or "
	    "others (mode 620)\n");
	/* Readable by all is not a problem: it holds no secret. */
	write_file("perm.conf", good, sizeof(good) - 1, 0644);
	conf_free(parse_good("perm.conf"));

	if (geteuid() == 0) {
		tmppath("perm.conf", path, sizeof(path));
		CHECK(chown(path, 12345, 0) == 0);
		expect_bad("perm.conf", 1, "@: bad permissions: owned by uid "
		    "12345, not by root or uid 0\n");
	}

	tmppath("subdir", path, sizeof(path));
	CHECK(mkdir(path, 0700) == 0);
	expect_bad("subdir", 1, "@: bad permissions: not a regular file\n");
	CHECK(rmdir(path) == 0);

	expect_bad("no-such-file.conf", 1, "@: No such file or directory\n");
}

static void
test_bad_several(void)
{
	/*
	 * Each bad line is reported once, with its own line, and the
	 * rest of a bad line (an undefined macro, an open quote) adds
	 * nothing; the checks of the whole are not made.
	 */
	expect_bad("bad-several.conf", 6,
	    "@:3: port 0 is out of range (1-65535)\n"
	    "@:4: syntax error: unexpected \"bogus\"\n"
	    "@:6: bad domain name \"bad_domain.org\": invalid character '_'\n"
	    "@:7: bad size \"10X\": the unit must be K, M or G\n"
	    "@:8: duplicate listener 127.0.0.1 port 25\n"
	    "@:10: expected anonymised or plain, got \"everywhere\"\n");
}

int
main(void)
{
	conf_fixture_setup();
	RUN(test_bad_keyword);
	RUN(test_bad_port);
	RUN(test_bad_proto);
	RUN(test_bad_tlsmode);
	RUN(test_bad_address);
	RUN(test_bad_plaintext_auth);
	RUN(test_bad_duplicate_listener);
	RUN(test_bad_domain);
	RUN(test_bad_datadir);
	RUN(test_bad_macro);
	RUN(test_bad_include);
	RUN(test_bad_quote);
	RUN(test_bad_size);
	RUN(test_bad_duration);
	RUN(test_bad_vault);
	RUN(test_bad_whole);
	RUN(test_bad_long);
	RUN(test_bad_permissions);
	RUN(test_bad_several);
	conf_fixture_teardown();
	TEST_EXIT();
}
