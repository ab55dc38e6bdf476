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
 * The tresor.conf(5) parser tests' shared set-up and helpers: see
 * conf_fixture.h.
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

char	 tmpdir[64];	/* "/tmp/conf_test.XXXXXX" */

void
tmppath(const char *name, char *buf, size_t len)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", tmpdir, name);
	CHECK(n > 0 && (size_t)n < len);
}

/* Copies the file src to dst, mode 0600. */
void
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
void
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

void
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

void
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

/* parse_conf() with what it logs to stderr caught in out. */
int
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
void
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
void
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

struct conf *
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

const struct listener *
nth_listener(const struct conf *conf, int n)
{
	const struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		if (n-- == 0)
			return (l);
	CHECK(!"no such listener");
	return (NULL);
}

int
count_listeners(const struct conf *conf)
{
	const struct listener	*l;
	int			 n = 0;

	TAILQ_FOREACH(l, &conf->listeners, entry)
		n++;
	return (n);
}

const struct domain *
nth_domain(const struct conf *conf, int n)
{
	const struct domain	*d;

	TAILQ_FOREACH(d, &conf->domains, entry)
		if (n-- == 0)
			return (d);
	CHECK(!"no such domain");
	return (NULL);
}

int
count_domains(const struct conf *conf)
{
	const struct domain	*d;
	int			 n = 0;

	TAILQ_FOREACH(d, &conf->domains, entry)
		n++;
	return (n);
}

/* addr is as conf_listener_addr() shows it. */
void
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

/* Copy regress/unit/conf/ and etc/tresor.conf; exits on a failure. */
void
conf_fixture_setup(void)
{
	char	 sample[PATH_MAX];

	log_init(1, LOG_MAIL);
	strlcpy(tmpdir, "/tmp/conf_test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	copy_tree(SRCDIR, tmpdir, 0);
	snprintf(sample, sizeof(sample), "%s/sample.conf", tmpdir);
	copy_file(SAMPLE, sample);
}


void
conf_fixture_teardown(void)
{
	rm_tree(tmpdir, 0);
}
