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
 * The tresor.conf(5) statements and the conf helpers: a new and the
 * built-in configuration, a full file, listeners' default ports and
 * addresses, mailbox-size, the vault block, printing and parsing again,
 * etc/tresor.conf itself, and the bounds of the values.
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

static void	 check_file_defaults(const struct conf *);
static void	 check_same(const struct conf *, const struct conf *);
static void	 roundtrip(const char *);
static void	 check_printed(const struct conf *, const char *);
static void	 test_conf_new(void);
static void	 test_conf_default(void);
static void	 test_full(void);
static void	 test_default_ports(void);
static void	 test_addresses(void);
static void	 test_mailbox_size(void);
static void	 test_vault(void);
static void	 test_roundtrip(void);
static void	 test_sample(void);
static void	 test_bounds(void);
static void	 test_conn_per_net(void);

/* What a file leaves alone keeps conf_new()'s value. */
static void
check_file_defaults(const struct conf *conf)
{
	char	 host[CONF_NAME_MAX];

	CHECK(gethostname(host, sizeof(host)) == 0);
	host[sizeof(host) - 1] = '\0';
	CHECK_SEQ(conf->hostname, host[0] != '\0' ? host : "localhost");
	CHECK_SEQ(conf->datadir, "/var/lib/tresor");
	CHECK_SEQ(conf->emptydir, "/var/empty");
	CHECK_SEQ(conf->ctlsock, "/run/tresor/ctl.sock");
	CHECK_SEQ(conf->ctlgroup, GROUP_CTL);
	CHECK_SEQ(conf->user[ROLE_SMTPD], USER_SMTPD);
	CHECK_SEQ(conf->user[ROLE_IMAPD], USER_IMAPD);
	CHECK_SEQ(conf->user[ROLE_VAULTD], USER_VAULTD);
	CHECK(conf->log_plain_addresses == 0);
	CHECK(conf->limits.max_conn == 1000);
	CHECK(conf->limits.max_conn_per_addr == 20);
	CHECK(conf->limits.max_message_size == 36700160);
	CHECK(conf->limits.timeout_idle == 300);
	CHECK(conf->limits.timeout_session == 3600);
	CHECK(conf->vault.kdf_ops == 0);
	CHECK(conf->vault.kdf_memory == 0);
	CHECK(conf->vault.lock_grace == 60);
}

/* Every field but the source. */
static void
check_same(const struct conf *a, const struct conf *b)
{
	const struct listener	*la, *lb;
	const struct domain	*da, *db;
	int			 i;

	CHECK_SEQ(a->hostname, b->hostname);
	CHECK_SEQ(a->datadir, b->datadir);
	CHECK_SEQ(a->emptydir, b->emptydir);
	CHECK_SEQ(a->ctlsock, b->ctlsock);
	CHECK_SEQ(a->ctlgroup, b->ctlgroup);
	for (i = 0; i < ROLE_COUNT; i++)
		CHECK_SEQ(a->user[i], b->user[i]);
	CHECK_SEQ(a->tls_cert, b->tls_cert);
	CHECK_SEQ(a->tls_key, b->tls_key);
	CHECK(a->tls_selfsigned == b->tls_selfsigned);
	CHECK(a->log_plain_addresses == b->log_plain_addresses);
	CHECK(a->limits.max_conn == b->limits.max_conn);
	CHECK(a->limits.max_conn_per_addr == b->limits.max_conn_per_addr);
	CHECK(a->limits.max_conn_per_net == b->limits.max_conn_per_net);
	CHECK(a->limits.max_message_size == b->limits.max_message_size);
	CHECK(a->limits.timeout_idle == b->limits.timeout_idle);
	CHECK(a->limits.timeout_session == b->limits.timeout_session);
	CHECK(a->vault.kdf_ops == b->vault.kdf_ops);
	CHECK(a->vault.kdf_memory == b->vault.kdf_memory);
	CHECK(a->vault.lock_grace == b->vault.lock_grace);

	da = TAILQ_FIRST(&a->domains);
	db = TAILQ_FIRST(&b->domains);
	while (da != NULL && db != NULL) {
		CHECK_SEQ(da->name, db->name);
		da = TAILQ_NEXT(da, entry);
		db = TAILQ_NEXT(db, entry);
	}
	CHECK(da == NULL && db == NULL);

	la = TAILQ_FIRST(&a->listeners);
	lb = TAILQ_FIRST(&b->listeners);
	while (la != NULL && lb != NULL) {
		CHECK(la->sslen == lb->sslen);
		CHECK(memcmp(&la->ss, &lb->ss, la->sslen) == 0);
		CHECK(la->port == lb->port);
		CHECK(la->proto == lb->proto);
		CHECK(la->tls == lb->tls);
		CHECK(la->plaintext_auth == lb->plaintext_auth);
		CHECK(la->fd == lb->fd);
		la = TAILQ_NEXT(la, entry);
		lb = TAILQ_NEXT(lb, entry);
	}
	CHECK(la == NULL && lb == NULL);
}

/*
 * Parses name, prints it, parses the print: the same configuration.
 * Printing that again gives the same text but for the comment line.
 */
static void
roundtrip(const char *name)
{
	struct conf	*a, *b;
	FILE		*fp;
	char		*t1 = NULL, *t2 = NULL;
	size_t		 l1 = 0, l2 = 0;
	char		 path[PATH_MAX];
	int		 fd;

	a = parse_good(name);
	tmppath("printed.conf", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd != -1);
	CHECK((fp = fdopen(fd, "w")) != NULL);
	conf_print(fp, a);
	CHECK(ferror(fp) == 0);
	CHECK(fclose(fp) == 0);
	b = parse_good("printed.conf");
	check_same(a, b);

	CHECK((fp = open_memstream(&t1, &l1)) != NULL);
	conf_print(fp, a);
	CHECK(fclose(fp) == 0);
	CHECK((fp = open_memstream(&t2, &l2)) != NULL);
	conf_print(fp, b);
	CHECK(fclose(fp) == 0);
	CHECK(strchr(t1, '\n') != NULL && strchr(t2, '\n') != NULL);
	CHECK_SEQ(strchr(t1, '\n'), strchr(t2, '\n'));
	free(t1);
	free(t2);
	conf_free(a);
	conf_free(b);
	unlink(path);
}

/* conf_print() shows line, a whole line, exactly once. */
static void
check_printed(const struct conf *conf, const char *line)
{
	FILE	*fp;
	char	*text = NULL, *hit;
	char	 want[256];
	size_t	 len = 0;
	int	 n;

	n = snprintf(want, sizeof(want), "\n%s\n", line);
	CHECK(n > 0 && (size_t)n < sizeof(want));
	CHECK((fp = open_memstream(&text, &len)) != NULL);
	conf_print(fp, conf);
	CHECK(fclose(fp) == 0);
	hit = strstr(text, want);
	if (hit == NULL || strstr(hit + 1, want) != NULL) {
		snprintf(test_why, sizeof(test_why), "conf_print: \"%.200s\" "
		    "not there exactly once", line);
		free(text);
		longjmp(test_jmp, 1);
	}
	free(text);
}

static void
test_conf_new(void)
{
	struct conf	*conf;

	conf = conf_new();
	CHECK(conf != NULL);
	check_file_defaults(conf);
	CHECK_SEQ(conf->source, "");
	CHECK_SEQ(conf->tls_cert, "");
	CHECK_SEQ(conf->tls_key, "");
	CHECK(conf->tls_selfsigned == 0);
	CHECK(TAILQ_EMPTY(&conf->domains));
	CHECK(TAILQ_EMPTY(&conf->listeners));
	conf_free(conf);
	conf_free(NULL);
}

static void
test_conf_default(void)
{
	const struct listener	*l;
	struct conf		*conf;
	FILE			*fp;
	char			*text = NULL;
	size_t			 len = 0;

	conf = conf_default();
	CHECK(conf != NULL);
	CHECK_SEQ(conf->source, "(built-in)");
	CHECK_SEQ(conf->datadir, "var/vault");
	CHECK_SEQ(conf->emptydir, "var/empty");
	CHECK_SEQ(conf->ctlsock, "var/run/ctl.sock");
	CHECK_SEQ(conf->ctlgroup, GROUP_CTL);
	CHECK_SEQ(conf->user[ROLE_SMTPD], USER_SMTPD);
	CHECK_SEQ(conf->user[ROLE_IMAPD], USER_IMAPD);
	CHECK_SEQ(conf->user[ROLE_VAULTD], USER_VAULTD);
	CHECK_SEQ(conf->tls_cert, "var/tls/cert.pem");
	CHECK_SEQ(conf->tls_key, "var/tls/key.pem");
	CHECK(conf->tls_selfsigned == 1);
	CHECK(conf->log_plain_addresses == 0);
	CHECK(conf->limits.max_conn == 1000);
	CHECK(conf->limits.max_conn_per_addr == 20);
	CHECK(conf->limits.max_conn_per_net == 80);
	CHECK(conf->limits.max_message_size == 36700160);
	CHECK(conf->limits.timeout_idle == 300);
	CHECK(conf->limits.timeout_session == 3600);
	CHECK(conf->vault.kdf_ops == 0);
	CHECK(conf->vault.kdf_memory == 0);
	CHECK(conf->vault.lock_grace == 60);
	CHECK(count_domains(conf) == 1);
	CHECK_SEQ(nth_domain(conf, 0)->name, "localhost");

	CHECK(count_listeners(conf) == 7);
	check_listener(nth_listener(conf, 0), AF_INET, "127.0.0.1", 2525,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 1), AF_INET, "127.0.0.1", 2587,
	    PROTO_SUBMISSION, TLSMODE_STARTTLS, 1);
	check_listener(nth_listener(conf, 2), AF_INET, "127.0.0.1", 2465,
	    PROTO_SUBMISSION, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 3), AF_INET, "127.0.0.1", 1143,
	    PROTO_IMAP, TLSMODE_STARTTLS, 1);
	check_listener(nth_listener(conf, 4), AF_INET, "127.0.0.1", 1993,
	    PROTO_IMAP, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 5), AF_INET, "127.0.0.1", 1110,
	    PROTO_POP3, TLSMODE_STARTTLS, 1);
	check_listener(nth_listener(conf, 6), AF_INET, "127.0.0.1", 1995,
	    PROTO_POP3, TLSMODE_IMPLICIT, 0);
	TAILQ_FOREACH(l, &conf->listeners, entry)
		CHECK(conf_listener_is_loopback(l));

	/* What ctld -n shows without a file. */
	CHECK((fp = open_memstream(&text, &len)) != NULL);
	conf_print(fp, conf);
	CHECK(fclose(fp) == 0);
	CHECK(strncmp(text, "# configuration from (built-in)\n", 32) == 0);
	CHECK(strstr(text, "\ndatadir \"var/vault\"\n") != NULL);
	CHECK(strstr(text, "\nchroot \"var/empty\"\n") != NULL);
	CHECK(strstr(text, "\ncontrol socket \"var/run/ctl.sock\" group "
	    "\"" GROUP_CTL "\"\n") != NULL);
	CHECK(strstr(text, "\nuser vaultd \"" USER_VAULTD "\"\n") != NULL);
	CHECK(strstr(text, "\ntls cert \"var/tls/cert.pem\" key "
	    "\"var/tls/key.pem\" selfsigned\n") != NULL);
	CHECK(strstr(text, "\nlog addresses anonymised\n") != NULL);
	CHECK(strstr(text, "\nlimit connections 1000\n") != NULL);
	CHECK(strstr(text, "\nlimit connections per-address 20\n") != NULL);
	CHECK(strstr(text, "\nlimit connections per-network 80\n") != NULL);
	CHECK(strstr(text, "\nlimit message-size 35M\n") != NULL);
	CHECK(strstr(text, "\nlimit timeout idle 5m\n") != NULL);
	CHECK(strstr(text, "\nlimit timeout session 1h\n") != NULL);
	CHECK(strstr(text, "\nvault kdf default\n") != NULL);
	CHECK(strstr(text, "\nvault lock-grace 1m\n") != NULL);
	/* The developer's configuration may run without locked memory. */
	CHECK(strstr(text, "\nvault allow-unlocked-memory\n") != NULL);
	CHECK(strstr(text, "\ndomain \"localhost\"\n") != NULL);
	CHECK(strstr(text, "\nlisten on 127.0.0.1 port 2587 submission tls "
	    "starttls plaintext-auth\nlisten on 127.0.0.1 port 2465 "
	    "submission tls implicit\n") != NULL);
	free(text);
	conf_free(conf);
}

static void
test_full(void)
{
	struct conf	*conf;

	conf = parse_good("full.conf");
	CHECK_SEQ(conf->hostname, "MX.Example.org");
	CHECK_SEQ(conf->datadir, "/srv/tresor/data");
	CHECK_SEQ(conf->emptydir, "/srv/tresor/empty");
	CHECK_SEQ(conf->ctlsock, "/run/tresor/admin.sock");
	CHECK_SEQ(conf->ctlgroup, "mailadm");
	CHECK_SEQ(conf->user[ROLE_SMTPD], "_smtp");
	CHECK_SEQ(conf->user[ROLE_IMAPD], "_imap");
	CHECK_SEQ(conf->user[ROLE_VAULTD], "_vault");
	CHECK_SEQ(conf->tls_cert, "/etc/tresor/cert.pem");
	CHECK_SEQ(conf->tls_key, "/etc/tresor/key.pem");
	CHECK(conf->tls_selfsigned == 1);
	CHECK(conf->log_plain_addresses == 1);
	CHECK(conf->limits.max_conn == 5000);
	CHECK(conf->limits.max_conn_per_addr == 50);
	CHECK(conf->limits.max_conn_per_net == 120);
	CHECK(conf->limits.max_message_size == 50 * 1024 * 1024);
	CHECK(conf->limits.timeout_idle == 600);
	CHECK(conf->limits.timeout_session == 7200);
	CHECK(conf->vault.kdf_ops == 3);
	CHECK(conf->vault.kdf_memory == 512ULL * 1024 * 1024);
	CHECK(conf->vault.lock_grace == 300);
	check_printed(conf, "vault kdf ops 3 memory 512M");
	check_printed(conf, "vault lock-grace 5m");
	CHECK(conf->vault.allow_unlocked_memory == 1);
	check_printed(conf, "vault allow-unlocked-memory");
	CHECK_SEQ(nth_domain(conf, 0)->name, "example.org");
	CHECK_SEQ(nth_domain(conf, 1)->name, "example.net");	/* lowered */
	CHECK(count_domains(conf) == 2);
	CHECK(count_listeners(conf) == 6);
	check_listener(nth_listener(conf, 0), AF_INET, "192.0.2.1", 25,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 1), AF_INET, "192.0.2.1", 587,
	    PROTO_SUBMISSION, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 2), AF_INET, "192.0.2.1", 465,
	    PROTO_SUBMISSION, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 3), AF_INET6, "[2001:db8::1]", 993,
	    PROTO_IMAP, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 4), AF_INET, "127.0.0.1", 143,
	    PROTO_IMAP, TLSMODE_NONE, 1);
	check_listener(nth_listener(conf, 5), AF_INET6, "[::1]", 110,
	    PROTO_POP3, TLSMODE_STARTTLS, 1);
	conf_free(conf);
}

static void
test_default_ports(void)
{
	struct conf	*conf;

	conf = parse_good("ports.conf");
	CHECK(count_listeners(conf) == 11);
	check_listener(nth_listener(conf, 0), AF_INET, "127.0.0.1", 25,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 1), AF_INET, "127.0.0.1", 587,
	    PROTO_SUBMISSION, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 2), AF_INET, "127.0.0.1", 465,
	    PROTO_SUBMISSION, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 3), AF_INET, "127.0.0.1", 143,
	    PROTO_IMAP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 4), AF_INET, "127.0.0.1", 993,
	    PROTO_IMAP, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 5), AF_INET, "127.0.0.1", 110,
	    PROTO_POP3, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 6), AF_INET, "127.0.0.1", 995,
	    PROTO_POP3, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 7), AF_INET, "127.0.0.2", 25,
	    PROTO_SMTP, TLSMODE_IMPLICIT, 0);
	check_listener(nth_listener(conf, 8), AF_INET, "127.0.0.2", 587,
	    PROTO_SUBMISSION, TLSMODE_NONE, 0);
	check_listener(nth_listener(conf, 9), AF_INET, "127.0.0.2", 143,
	    PROTO_IMAP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 10), AF_INET, "127.0.0.2", 110,
	    PROTO_POP3, TLSMODE_NONE, 0);
	check_file_defaults(conf);
	conf_free(conf);
}

static void
test_addresses(void)
{
	struct conf	*conf;

	conf = parse_good("addrs.conf");
	CHECK(count_listeners(conf) == 9);
	/* "*" is both wildcards, "localhost" both loopbacks. */
	check_listener(nth_listener(conf, 0), AF_INET, "0.0.0.0", 25,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 1), AF_INET6, "[::]", 25,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 2), AF_INET, "127.0.0.1", 587,
	    PROTO_SUBMISSION, TLSMODE_STARTTLS, 1);
	check_listener(nth_listener(conf, 3), AF_INET6, "[::1]", 587,
	    PROTO_SUBMISSION, TLSMODE_STARTTLS, 1);
	check_listener(nth_listener(conf, 4), AF_INET6, "[2001:db8::25]",
	    2525, PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 5), AF_INET6, "[2001:db8::26]",
	    2525, PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 6), AF_INET6, "[::1]", 143,
	    PROTO_IMAP, TLSMODE_NONE, 1);
	check_listener(nth_listener(conf, 7), AF_INET, "127.0.0.1", 143,
	    PROTO_IMAP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 8), AF_INET6, "[::ffff:127.0.0.1]",
	    110, PROTO_POP3, TLSMODE_NONE, 1);
	CHECK(!conf_listener_is_loopback(nth_listener(conf, 0)));
	CHECK(!conf_listener_is_loopback(nth_listener(conf, 1)));
	CHECK(conf_listener_is_loopback(nth_listener(conf, 8)));
	conf_free(conf);
}

/* limit mailbox-size: a size of 1M or more, or none (the default). */
#define LISTEN_LINE	"listen on 127.0.0.1 port 25 smtp tls none\n"
static void
test_mailbox_size(void)
{
	static const struct {
		const char	*value;
		uint64_t	 size;
		int		 ok;
	} cases[] = {
		{ "none", 0, 1 },
		{ "1M", 1048576, 1 },
		{ "10G", 10737418240ULL, 1 },
		{ "1048576", 1048576, 1 },
		{ "512K", 0, 0 },
		{ "10X", 0, 0 },
		{ "5m", 5242880, 1 },
		{ "big", 0, 0 },
	};
	struct conf	*conf;
	char		 text[256], out[OUT_MAX], path[PATH_MAX];
	size_t		 i;
	int		 n;

	write_file("mbsize.conf", LISTEN_LINE, strlen(LISTEN_LINE), 0600);
	conf = parse_good("mbsize.conf");
	CHECK(conf->limits.max_mailbox_size == 0);
	conf_free(conf);
	for (i = 0; i < nitems(cases); i++) {
		n = snprintf(text, sizeof(text), "%slimit mailbox-size %s\n",
		    LISTEN_LINE, cases[i].value);
		CHECK(n > 0 && (size_t)n < sizeof(text));
		write_file("mbsize.conf", text, n, 0600);
		tmppath("mbsize.conf", path, sizeof(path));
		conf = NULL;
		n = parse_capture(path, &conf, out, sizeof(out));
		if (cases[i].ok) {
			CHECK(n == 0 && conf != NULL);
			if (conf != NULL) {
				CHECK(conf->limits.max_mailbox_size ==
				    cases[i].size);
				conf_free(conf);
			}
		} else {
			CHECK(n == 1 && conf == NULL);
			CHECK(strstr(out, "mbsize.conf:2:") != NULL);
		}
	}
}

static void
test_vault(void)
{
	static const struct {
		const char	*stmts;
		uint64_t	 ops, mem;
		unsigned int	 grace;
		const char	*kdf, *lock;	/* as conf_print() shows them */
	} cases[] = {
		{ "", 0, 0, 60, "vault kdf default", "vault lock-grace 1m" },
		{ "vault kdf default", 0, 0, 60, "vault kdf default",
		    "vault lock-grace 1m" },
		{ "vault kdf ops 1 memory 8M", 1, 8ULL << 20, 60,
		    "vault kdf ops 1 memory 8M", "vault lock-grace 1m" },
		{ "vault kdf ops 20 memory 4G", 20, 4ULL << 30, 60,
		    "vault kdf ops 20 memory 4G", NULL },
		{ "vault kdf ops 4 memory 256m", 4, 256ULL << 20, 60,
		    "vault kdf ops 4 memory 256M", NULL },
		{ "vault kdf ops 5 memory 1g", 5, 1ULL << 30, 60,
		    "vault kdf ops 5 memory 1G", NULL },
		{ "vault kdf ops 3 memory 4194304K", 3, 4ULL << 30, 60,
		    "vault kdf ops 3 memory 4G", NULL },
		{ "vault kdf ops 2 memory 8388608", 2, 8ULL << 20, 60,
		    "vault kdf ops 2 memory 8M", NULL },
		{ "vault kdf ops 2 memory 8389632", 2, 8389632, 60,
		    "vault kdf ops 2 memory 8193K", NULL },
		{ "vault kdf ops 007 memory 12288k", 7, 12ULL << 20, 60,
		    "vault kdf ops 7 memory 12M", NULL },
		{ "vault kdf ops \"6\" memory \"32M\"", 6, 32ULL << 20, 60,
		    "vault kdf ops 6 memory 32M", NULL },
		{ "vault kdf ops 4 memory 64M\nvault kdf default", 0, 0, 60,
		    "vault kdf default", NULL },
		{ "vault kdf default\nvault kdf ops 2 memory 16M", 2,
		    16ULL << 20, 60, "vault kdf ops 2 memory 16M", NULL },
		{ "vault kdf ops 4 \\\n    memory 64M  # comment", 4,
		    64ULL << 20, 60, "vault kdf ops 4 memory 64M", NULL },
		{ "o = 4\nm = \"128M\"\ng = 2m\nvault kdf ops $o memory $m\n"
		    "vault lock-grace $g", 4, 128ULL << 20, 120,
		    "vault kdf ops 4 memory 128M", "vault lock-grace 2m" },
		{ "vault lock-grace 0", 0, 0, 0, "vault kdf default",
		    "vault lock-grace 0s" },
		{ "vault lock-grace 0s", 0, 0, 0, NULL, "vault lock-grace 0s" },
		{ "vault lock-grace 0h", 0, 0, 0, NULL, "vault lock-grace 0s" },
		{ "vault lock-grace 1s", 0, 0, 1, NULL, "vault lock-grace 1s" },
		{ "vault lock-grace 90", 0, 0, 90, NULL,
		    "vault lock-grace 90s" },
		{ "vault lock-grace 5m", 0, 0, 300, NULL,
		    "vault lock-grace 5m" },
		{ "vault lock-grace 1h", 0, 0, 3600, NULL,
		    "vault lock-grace 1h" },
		{ "vault lock-grace 60m", 0, 0, 3600, NULL,
		    "vault lock-grace 1h" },
		{ "vault lock-grace 3600", 0, 0, 3600, NULL,
		    "vault lock-grace 1h" },
		{ "vault lock-grace 3599s", 0, 0, 3599, NULL,
		    "vault lock-grace 3599s" },
		{ "vault lock-grace 30\nvault lock-grace 45s", 0, 0, 45, NULL,
		    "vault lock-grace 45s" }
	};
	struct conf	*conf;
	char		 text[512];
	size_t		 i;
	int		 n;

	conf = parse_good("vault.conf");
	CHECK(conf->vault.kdf_ops == 6);
	CHECK(conf->vault.kdf_memory == 1ULL << 30);
	CHECK(conf->vault.lock_grace == 0);
	check_printed(conf, "vault kdf ops 6 memory 1G");
	check_printed(conf, "vault lock-grace 0s");
	conf_free(conf);

	for (i = 0; i < nitems(cases); i++) {
		n = snprintf(text, sizeof(text), LISTEN25 "%s\n",
		    cases[i].stmts);
		CHECK(n > 0 && (size_t)n < sizeof(text));
		write_file("vault-good.conf", text, n, 0600);
		conf = parse_good("vault-good.conf");
		CHECK(conf->vault.kdf_ops == cases[i].ops);
		CHECK(conf->vault.kdf_memory == cases[i].mem);
		CHECK(conf->vault.lock_grace == cases[i].grace);
		if (cases[i].kdf != NULL)
			check_printed(conf, cases[i].kdf);
		if (cases[i].lock != NULL)
			check_printed(conf, cases[i].lock);
		conf_free(conf);
		roundtrip("vault-good.conf");
	}
}

static void
test_roundtrip(void)
{
	roundtrip("full.conf");
	roundtrip("macros.conf");
	roundtrip("include.conf");
	roundtrip("ports.conf");
	roundtrip("addrs.conf");
	roundtrip("units.conf");
	roundtrip("quoting.conf");
	roundtrip("vault.conf");
}

/* The sample shipped in etc/ stays valid. */
static void
test_sample(void)
{
	struct conf	*conf;

	conf = parse_good("sample.conf");
	CHECK_SEQ(conf->hostname, "mx.example.org");
	CHECK_SEQ(conf->datadir, "/var/lib/tresor");
	CHECK_SEQ(conf->tls_cert, "/etc/tresor/tls/fullchain.pem");
	CHECK_SEQ(conf->tls_key, "/etc/tresor/tls/privkey.pem");
	CHECK(conf->tls_selfsigned == 0);
	CHECK(conf->vault.kdf_ops == 0);
	CHECK(conf->vault.kdf_memory == 0);
	CHECK(conf->vault.lock_grace == 60);
	CHECK(count_domains(conf) == 2);
	CHECK(count_listeners(conf) == 12);
	check_listener(nth_listener(conf, 0), AF_INET, "192.0.2.25", 25,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 1), AF_INET6, "[2001:db8::25]", 25,
	    PROTO_SMTP, TLSMODE_STARTTLS, 0);
	check_listener(nth_listener(conf, 11), AF_INET6, "[::1]", 143,
	    PROTO_IMAP, TLSMODE_NONE, 1);
	conf_free(conf);
	roundtrip("sample.conf");
}

static void
test_bounds(void)
{
	char	*text;
	size_t	 n = 0, size = 1 << 20;
	int	 i;

	if ((text = malloc(size)) == NULL)
		CHECK(!"malloc");

	/* 256 macros, then one more. */
	for (i = 0; i < 257; i++)
		n += snprintf(text + n, size - n, "m%d = \"%d\"\n", i, i);
	n += snprintf(text + n, size - n, "m0 = \"again\"\n"
	    "listen on 127.0.0.1 port $m255 smtp tls none\n");
	write_file("bounds.conf", text, n, 0600);
	expect_bad("bounds.conf", 1, "@:257: too many macros (at most 256)\n");

	/* 1024 listeners, then one more. */
	n = 0;
	for (i = 0; i < 1025; i++)
		n += snprintf(text + n, size - n, "listen on 127.0.%d.%d "
		    "port 25 smtp tls none\n", i / 200, 1 + i % 200);
	write_file("bounds.conf", text, n, 0600);
	expect_bad("bounds.conf", 1, "@:1025: too many listeners "
	    "(at most 1024)\n");

	/* 4096 domains, then one more. */
	n = strlcpy(text, LISTEN25, size);
	for (i = 0; i < 4097; i++)
		n += snprintf(text + n, size - n, "domain \"d%d.example\"\n",
		    i);
	write_file("bounds.conf", text, n, 0600);
	expect_bad("bounds.conf", 1, "@:4098: too many domains "
	    "(at most 4096)\n");
	free(text);
}

/*
 * limit connections per-network: as the file says, else four times
 * per-address within the total, whatever order the statements come in.
 */
static void
test_conn_per_net(void)
{
	static const struct {
		const char	*text;
		unsigned int	 addr, net;
	} cases[] = {
		{ "", 20, 80 },
		{ "limit connections per-address 100\n", 100, 400 },
		{ "limit connections 50\n", 20, 50 },
		{ "limit connections per-network 30\n", 20, 30 },
		{ "limit connections per-network 5\n"
		    "limit connections per-address 5\n", 5, 5 },
		{ "limit connections per-address 2\n"
		    "limit connections 3\n", 2, 3 },
		{ "limit connections 1000000\n"
		    "limit connections per-network 1000000\n", 20, 1000000 }
	};
	struct conf	*conf;
	char		 text[512];
	size_t		 i, n;

	for (i = 0; i < nitems(cases); i++) {
		n = strlcpy(text, LISTEN25, sizeof(text));
		n += strlcpy(text + n, cases[i].text, sizeof(text) - n);
		CHECK(n < sizeof(text));
		write_file("net.conf", text, n, 0600);
		conf = parse_good("net.conf");
		CHECK(conf->limits.max_conn_per_addr == cases[i].addr);
		CHECK(conf->limits.max_conn_per_net == cases[i].net);
		conf_free(conf);
	}
}

int
main(void)
{
	conf_fixture_setup();
	RUN(test_conf_new);
	RUN(test_conf_default);
	RUN(test_full);
	RUN(test_default_ports);
	RUN(test_addresses);
	RUN(test_mailbox_size);
	RUN(test_vault);
	RUN(test_roundtrip);
	RUN(test_sample);
	RUN(test_bounds);
	RUN(test_conn_per_net);
	conf_fixture_teardown();
	TEST_EXIT();
}
