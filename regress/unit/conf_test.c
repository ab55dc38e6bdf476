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
 * Tests of the tresor.conf(5) parser and the conf helpers.
 *
 * The files under regress/unit/conf/ are copied into a temporary
 * directory with mode 0600 first: the parser refuses files that others
 * could write, and a checkout's modes and owner depend on the umask and
 * on who made it.  Error messages therefore name the copies; in the
 * expected texts below "@" stands for the file's path and "^" for the
 * temporary directory.
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

#define SRCDIR		"regress/unit/conf"
#define SAMPLE		"etc/tresor.conf"
#define OUT_MAX		16384
#define LISTEN25	"listen on 127.0.0.1 port 25 smtp tls none\n"

/*
 * test.h's CHECK_STR with the strings bounded in the message: with
 * char[PATH_MAX] fields, the unbounded one trips -Wformat-truncation.
 */
#define CHECK_SEQ(a, b) do {						\
	const char *seq_a_ = (a), *seq_b_ = (b);			\
	if (seq_a_ == NULL || seq_b_ == NULL ||				\
	    strcmp(seq_a_, seq_b_) != 0) {				\
		snprintf(test_why, sizeof(test_why),			\
		    "%s:%d: \"%.200s\" != \"%.200s\"", __FILE__,	\
		    __LINE__, seq_a_ ? seq_a_ : "(null)",		\
		    seq_b_ ? seq_b_ : "(null)");			\
		longjmp(test_jmp, 1);					\
	}								\
} while (0)

TEST_GLOBALS;

static char	 tmpdir[64];	/* "/tmp/conf_test.XXXXXX" */

static void	 copy_file(const char *, const char *);
static void	 copy_tree(const char *, const char *, int);
static void	 rm_tree(const char *, int);
static void	 tmppath(const char *, char *, size_t);
static void	 write_file(const char *, const char *, size_t, mode_t);
static void	 write_text(const char *, const char *, mode_t);
static int	 parse_capture(const char *, struct conf **, char *, size_t);
static void	 subst(const char *, const char *, char *, size_t);
static void	 expect_bad(const char *, int, const char *);
static struct conf *parse_good(const char *);
static const struct listener *nth_listener(const struct conf *, int);
static int	 count_listeners(const struct conf *);
static const struct domain *nth_domain(const struct conf *, int);
static int	 count_domains(const struct conf *);
static void	 check_listener(const struct listener *, int, const char *,
		    in_port_t, enum proto, enum tlsmode, int);
static void	 check_file_defaults(const struct conf *);
static void	 check_same(const struct conf *, const struct conf *);
static void	 roundtrip(const char *);
static struct listener *make_listener(const char *);
static void	 check_printed(const struct conf *, const char *);

/*
 * Helpers.
 */

static void
tmppath(const char *name, char *buf, size_t len)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", tmpdir, name);
	CHECK(n > 0 && (size_t)n < len);
}

/* Copies the file src to dst, mode 0600. */
static void
copy_file(const char *src, const char *dst)
{
	char	 buf[8192];
	ssize_t	 n;
	int	 in, out;

	if ((in = open(src, O_RDONLY)) == -1 ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1) {
		fprintf(stderr, "copy %s: %s\n", src, strerror(errno));
		exit(1);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			fprintf(stderr, "%s: short write\n", dst);
			exit(1);
		}
	if (n == -1 || fchmod(out, 0600) == -1) {
		fprintf(stderr, "copy %s: %s\n", src, strerror(errno));
		exit(1);
	}
	close(in);
	close(out);
}

/* Copies dir's regular files (and one level of subdirectories). */
static void
copy_tree(const char *src, const char *dst, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 s[PATH_MAX], t[PATH_MAX];

	if ((d = opendir(src)) == NULL) {
		fprintf(stderr, "%s: %s\n", src, strerror(errno));
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, de->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
		if (stat(s, &st) == -1) {
			fprintf(stderr, "%s: %s\n", s, strerror(errno));
			exit(1);
		}
		if (S_ISDIR(st.st_mode) && depth < 2) {
			if (mkdir(t, 0700) == -1) {
				fprintf(stderr, "%s: %s\n", t, strerror(errno));
				exit(1);
			}
			copy_tree(s, t, depth + 1);
		} else if (S_ISREG(st.st_mode))
			copy_file(s, t);
	}
	closedir(d);
}

static void
rm_tree(const char *dir, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 s[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(s, sizeof(s), "%s/%s", dir, de->d_name);
		if (lstat(s, &st) == 0 && S_ISDIR(st.st_mode) && depth < 3)
			rm_tree(s, depth + 1);
		else
			unlink(s);
	}
	closedir(d);
	rmdir(dir);
}

static void
write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	char	 path[PATH_MAX];
	int	 fd;

	tmppath(name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd != -1);
	CHECK(write(fd, text, len) == (ssize_t)len);
	CHECK(fchmod(fd, mode) == 0);
	CHECK(close(fd) == 0);
}

static void
write_text(const char *name, const char *text, mode_t mode)
{
	write_file(name, text, strlen(text), mode);
}

/* parse_conf() with what it logs to stderr caught in out. */
static int
parse_capture(const char *path, struct conf **conf, char *out, size_t len)
{
	char	 cap[PATH_MAX];
	ssize_t	 n;
	size_t	 got = 0;
	int	 fd, saved, errors;

	tmppath("stderr.txt", cap, sizeof(cap));
	fd = open(cap, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd != -1);
	fflush(stderr);
	saved = dup(2);
	CHECK(saved != -1);
	CHECK(dup2(fd, 2) != -1);
	errors = parse_conf(path, conf);
	fflush(stderr);
	CHECK(dup2(saved, 2) != -1);
	close(saved);

	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	while (got + 1 < len && (n = read(fd, out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(fd);
	unlink(cap);
	return (errors);
}

/* Replaces "@" with path and "^" with the temporary directory. */
static void
subst(const char *in, const char *path, char *out, size_t len)
{
	size_t	 n = 0;
	const char *r;

	for (; *in != '\0'; in++) {
		if (*in == '@' || *in == '^') {
			r = *in == '@' ? path : tmpdir;
			CHECK(n + strlen(r) < len);
			memcpy(out + n, r, strlen(r));
			n += strlen(r);
		} else {
			CHECK(n + 1 < len);
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

/* Parsing name fails with exactly the errors in want. */
static void
expect_bad(const char *name, int nerrors, const char *want)
{
	struct conf	*conf = (struct conf *)1;
	static char	 out[OUT_MAX], exp[OUT_MAX];
	char		 path[PATH_MAX];
	int		 n;

	tmppath(name, path, sizeof(path));
	n = parse_capture(path, &conf, out, sizeof(out));
	subst(want, path, exp, sizeof(exp));
	CHECK_SEQ(out, exp);
	CHECK(n == nerrors);
	CHECK(conf == NULL);
}

static struct conf *
parse_good(const char *name)
{
	struct conf	*conf = NULL;
	static char	 out[OUT_MAX];
	char		 path[PATH_MAX];
	int		 n;

	tmppath(name, path, sizeof(path));
	n = parse_capture(path, &conf, out, sizeof(out));
	CHECK_SEQ(out, "");
	CHECK(n == 0);
	CHECK(conf != NULL);
	CHECK_SEQ(conf->source, path);
	return (conf);
}

static const struct listener *
nth_listener(const struct conf *conf, int n)
{
	const struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (n-- == 0)
			return (l);
	CHECK(!"no such listener");
	return (NULL);
}

static int
count_listeners(const struct conf *conf)
{
	const struct listener	*l;
	int			 n = 0;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		n++;
	return (n);
}

static const struct domain *
nth_domain(const struct conf *conf, int n)
{
	const struct domain	*d;

	TAILQ_FOREACH(d, &conf->domains, entry)
		if (n-- == 0)
			return (d);
	CHECK(!"no such domain");
	return (NULL);
}

static int
count_domains(const struct conf *conf)
{
	const struct domain	*d;
	int			 n = 0;

	TAILQ_FOREACH(d, &conf->domains, entry)
		n++;
	return (n);
}

/* addr is as conf_listener_addr() shows it. */
static void
check_listener(const struct listener *l, int family, const char *addr,
    in_port_t port, enum proto proto, enum tlsmode tls, int pa)
{
	char	 buf[NI_MAXHOST + 2];

	CHECK(l != NULL);
	CHECK(l->ss.ss_family == family);
	CHECK_SEQ(conf_listener_addr(l, buf, sizeof(buf)), addr);
	CHECK(l->port == port);
	if (family == AF_INET) {
		CHECK(l->sslen == sizeof(struct sockaddr_in));
		CHECK(ntohs(((const struct sockaddr_in *)&l->ss)->sin_port) ==
		    port);
	} else {
		CHECK(l->sslen == sizeof(struct sockaddr_in6));
		CHECK(ntohs(((const struct sockaddr_in6 *)&l->ss)->sin6_port) ==
		    port);
	}
	CHECK(l->proto == proto);
	CHECK(l->tls == tls);
	CHECK(l->plaintext_auth == pa);
	CHECK(l->fd == -1);
}

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

/*
 * Tests.
 */

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
	CHECK(strstr(text, "\nlimit message-size 35M\n") != NULL);
	CHECK(strstr(text, "\nlimit timeout idle 5m\n") != NULL);
	CHECK(strstr(text, "\nlimit timeout session 1h\n") != NULL);
	CHECK(strstr(text, "\nvault kdf default\n") != NULL);
	CHECK(strstr(text, "\nvault lock-grace 1m\n") != NULL);
	CHECK(strstr(text, "\ndomain \"localhost\"\n") != NULL);
	CHECK(strstr(text, "\nlisten on 127.0.0.1 port 2587 submission tls "
	    "starttls plaintext-auth\nlisten on 127.0.0.1 port 2465 "
	    "submission tls implicit\n") != NULL);
	free(text);
	conf_free(conf);
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
	CHECK(conf->limits.max_message_size == 50 * 1024 * 1024);
	CHECK(conf->limits.timeout_idle == 600);
	CHECK(conf->limits.timeout_session == 7200);
	CHECK(conf->vault.kdf_ops == 3);
	CHECK(conf->vault.kdf_memory == 512ULL * 1024 * 1024);
	CHECK(conf->vault.lock_grace == 300);
	check_printed(conf, "vault kdf ops 3 memory 512M");
	check_printed(conf, "vault lock-grace 5m");
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
	    "@:9: expected connections, message-size, mailbox-size or "
	    "timeout, got end of line\n"
	    "@:10: expected connections, message-size, mailbox-size or "
	    "timeout, got \"bandwidth\"\n");
}

static void
test_bad_duration(void)
{
	expect_bad("bad-duration.conf", 9,
	    "@:2: bad duration \"5x\": the unit must be s, m, h or d\n"
	    "@:3: idle timeout 25h is out of range (1s-24h)\n"
	    "@:4: idle timeout 0 is out of range (1s-24h)\n"
	    "@:5: session timeout 8d is out of range (1s-7d)\n"
	    "@:6: bad duration \"5M\": the unit must be s, m, h or d\n"
	    "@:7: expected idle or session, got \"forever\"\n"
	    "@:8: connection limit 0 is out of range (1-1000000)\n"
	    "@:9: per-address connection limit 100001 is out of range "
	    "(1-100000)\n"
	    "@:10: expected a number or per-address, got \"many\"\n");
}

static void
test_bad_vault(void)
{
	expect_bad("bad-vault.conf", 38,
	    "@:2: expected kdf or lock-grace, got end of line\n"
	    "@:3: expected kdf or lock-grace, got \"keys\"\n"
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
	    "@:36: expected kdf or lock-grace, got \"kdf\"\n"
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

int
main(void)
{
	char	 sample[PATH_MAX];

	log_init(1, LOG_MAIL);
	strlcpy(tmpdir, "/tmp/conf_test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	copy_tree(SRCDIR, tmpdir, 0);
	snprintf(sample, sizeof(sample), "%s/sample.conf", tmpdir);
	copy_file(SAMPLE, sample);

	RUN(test_conf_new);
	RUN(test_conf_default);
	RUN(test_names);
	RUN(test_full);
	RUN(test_macros);
	RUN(test_include);
	RUN(test_default_ports);
	RUN(test_addresses);
	RUN(test_units);
	RUN(test_mailbox_size);
	RUN(test_vault);
	RUN(test_quoting);
	RUN(test_roundtrip);
	RUN(test_sample);
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
	RUN(test_bounds);

	rm_tree(tmpdir, 0);
	TEST_EXIT();
}
