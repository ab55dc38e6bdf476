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
 * The in-memory configuration: its defaults, the built-in developer
 * configuration, and printing it back in tresor.conf(5) syntax.  The
 * parser is in parse.c.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

static void	 add_default_listener(struct conf *, in_port_t, enum proto,
		    enum tlsmode, int);
static const char *numeric_host(const struct listener *, char *, size_t);
static void	 print_string(FILE *, const char *);
static void	 print_scaled(FILE *, unsigned long long, int);

/* The file's defaults; never NULL (out of memory is fatal). */
struct conf *
conf_new(void)
{
	struct conf	*conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		fatal("%s: calloc", __func__);
	TAILQ_INIT(&conf->domains);
	TAILQ_INIT(&conf->listeners);

	/* gethostname(2) need not terminate a truncated name. */
	if (gethostname(conf->hostname, sizeof(conf->hostname)) == -1)
		conf->hostname[0] = '\0';
	conf->hostname[sizeof(conf->hostname) - 1] = '\0';
	if (conf->hostname[0] == '\0')
		strlcpy(conf->hostname, "localhost", sizeof(conf->hostname));

	strlcpy(conf->datadir, "/var/lib/tresor", sizeof(conf->datadir));
	strlcpy(conf->emptydir, "/var/empty", sizeof(conf->emptydir));
	strlcpy(conf->ctlsock, "/run/tresor/ctl.sock", sizeof(conf->ctlsock));
	strlcpy(conf->ctlgroup, GROUP_CTL, sizeof(conf->ctlgroup));
	strlcpy(conf->tls_ciphers, CONF_TLS_CIPHERS_DEFAULT,
	    sizeof(conf->tls_ciphers));
	strlcpy(conf->user[ROLE_SMTPD], USER_SMTPD,
	    sizeof(conf->user[ROLE_SMTPD]));
	strlcpy(conf->user[ROLE_IMAPD], USER_IMAPD,
	    sizeof(conf->user[ROLE_IMAPD]));
	strlcpy(conf->user[ROLE_VAULTD], USER_VAULTD,
	    sizeof(conf->user[ROLE_VAULTD]));

	conf->limits.max_conn = 1000;
	conf->limits.max_conn_per_addr = 20;
	/* max_conn_per_net stays 0: conf_limits_settle() derives it. */
	conf->limits.max_message_size = 35 * 1024 * 1024;
	conf->limits.max_line_length = CONF_LINE_LENGTH_DEFAULT;
	conf->limits.timeout_idle = 300;
	conf->limits.timeout_session = 3600;

	/* kdf_ops and kdf_memory stay 0: vaultd's own default. */
	conf->vault.lock_grace = 60;
	return (conf);
}

/*
 * The configuration without a file, for a developer: everything under
 * ./var, loopback only, unprivileged ports, a self-signed certificate.
 */
struct conf *
conf_default(void)
{
	struct conf	*conf;
	struct domain	*d;

	conf = conf_new();
	strlcpy(conf->source, "(built-in)", sizeof(conf->source));
	strlcpy(conf->datadir, "var/vault", sizeof(conf->datadir));
	strlcpy(conf->emptydir, "var/empty", sizeof(conf->emptydir));
	strlcpy(conf->ctlsock, DEFAULT_CTLSOCK, sizeof(conf->ctlsock));
	strlcpy(conf->tls_cert, "var/tls/cert.pem", sizeof(conf->tls_cert));
	strlcpy(conf->tls_key, "var/tls/key.pem", sizeof(conf->tls_key));
	conf->tls_selfsigned = 1;
	/* A developer's machine or container may not lock memory. */
	conf->vault.allow_unlocked_memory = 1;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("%s: calloc", __func__);
	strlcpy(d->name, "localhost", sizeof(d->name));
	TAILQ_INSERT_TAIL(&conf->domains, d, entry);

	add_default_listener(conf, 2525, PROTO_SMTP, TLSMODE_STARTTLS, 0);
	add_default_listener(conf, 2587, PROTO_SUBMISSION, TLSMODE_STARTTLS,
	    1);
	add_default_listener(conf, 2465, PROTO_SUBMISSION, TLSMODE_IMPLICIT,
	    0);
	add_default_listener(conf, 1143, PROTO_IMAP, TLSMODE_STARTTLS, 1);
	add_default_listener(conf, 1993, PROTO_IMAP, TLSMODE_IMPLICIT, 0);
	add_default_listener(conf, 1110, PROTO_POP3, TLSMODE_STARTTLS, 1);
	add_default_listener(conf, 1995, PROTO_POP3, TLSMODE_IMPLICIT, 0);
	conf_limits_settle(&conf->limits);
	return (conf);
}

/* A listener on 127.0.0.1 (the port is also set in the sockaddr). */
static void
add_default_listener(struct conf *conf, in_port_t port, enum proto proto,
    enum tlsmode tls, int plaintext_auth)
{
	struct listener		*l;
	struct sockaddr_in	*sin;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("%s: calloc", __func__);
	sin = (struct sockaddr_in *)&l->ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l->sslen = sizeof(*sin);
	l->port = port;
	l->proto = proto;
	l->tls = tls;
	l->plaintext_auth = plaintext_auth;
	l->fd = -1;
	TAILQ_INSERT_TAIL(&conf->listeners, l, entry);
}

void
conf_free(struct conf *conf)
{
	struct listener	*l;
	struct domain	*d;

	if (conf == NULL)
		return;
	while ((l = TAILQ_FIRST(&conf->listeners)) != NULL) {
		TAILQ_REMOVE(&conf->listeners, l, entry);
		free(l);
	}
	while ((d = TAILQ_FIRST(&conf->domains)) != NULL) {
		TAILQ_REMOVE(&conf->domains, d, entry);
		free(d);
	}
	free(conf);
}

/*
 * The limits that follow from others when the file leaves them out:
 * the per-network connection limit is CONF_CONN_NET_FACTOR times the
 * per-address one, within the total.
 */
void
conf_limits_settle(struct limits *lim)
{
	unsigned long long	 v;

	if (lim->max_conn_per_net != 0)
		return;
	v = (unsigned long long)lim->max_conn_per_addr * CONF_CONN_NET_FACTOR;
	if (v > lim->max_conn)
		v = lim->max_conn;
	lim->max_conn_per_net = v;
}

const char *
conf_proto_name(enum proto proto)
{
	switch (proto) {
	case PROTO_SMTP:
		return ("smtp");
	case PROTO_SUBMISSION:
		return ("submission");
	case PROTO_IMAP:
		return ("imap");
	case PROTO_POP3:
		return ("pop3");
	}
	return ("unknown");
}

const char *
conf_tlsmode_name(enum tlsmode tls)
{
	switch (tls) {
	case TLSMODE_NONE:
		return ("none");
	case TLSMODE_STARTTLS:
		return ("starttls");
	case TLSMODE_IMPLICIT:
		return ("implicit");
	}
	return ("unknown");
}

/* 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6. */
int
conf_listener_is_loopback(const struct listener *l)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (l->ss.ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)&l->ss;
		return ((ntohl(sin->sin_addr.s_addr) >> 24) == 127);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)&l->ss;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return (1);
		return (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	}
	return (0);
}

static const char *
numeric_host(const struct listener *l, char *buf, size_t len)
{
	socklen_t	 sslen;

	sslen = l->ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo((const struct sockaddr *)&l->ss, sslen, buf, len,
	    NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(buf, "(unknown)", len);
	return (buf);
}

/* The numeric address without the port; IPv6 in brackets. */
const char *
conf_listener_addr(const struct listener *l, char *buf, size_t len)
{
	char	 host[NI_MAXHOST];

	numeric_host(l, host, sizeof(host));
	if (l->ss.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]", host);
	else
		strlcpy(buf, host, len);
	return (buf);
}

/*
 * The configuration in tresor.conf(5) syntax, every setting explicit,
 * so that parsing the output gives the same configuration back.
 */
void
conf_print(FILE *fp, const struct conf *conf)
{
	const struct listener	*l;
	const struct domain	*d;
	const char		*s;
	char			 host[NI_MAXHOST];

	/* The source is a path from the command line: keep it one line. */
	fputs("# configuration from ", fp);
	if (conf->source[0] == '\0')
		fputs("(defaults)", fp);
	for (s = conf->source; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
	fputc('\n', fp);
	fputs("hostname ", fp);
	print_string(fp, conf->hostname);
	fputs("\ndatadir ", fp);
	print_string(fp, conf->datadir);
	fputs("\nchroot ", fp);
	print_string(fp, conf->emptydir);
	fputs("\ncontrol socket ", fp);
	print_string(fp, conf->ctlsock);
	fputs(" group ", fp);
	print_string(fp, conf->ctlgroup);
	fputs("\nuser smtpd ", fp);
	print_string(fp, conf->user[ROLE_SMTPD]);
	fputs("\nuser imapd ", fp);
	print_string(fp, conf->user[ROLE_IMAPD]);
	fputs("\nuser vaultd ", fp);
	print_string(fp, conf->user[ROLE_VAULTD]);
	fputc('\n', fp);
	if (conf->tls_cert[0] != '\0') {
		fputs("tls cert ", fp);
		print_string(fp, conf->tls_cert);
		fputs(" key ", fp);
		print_string(fp, conf->tls_key);
		fputs(conf->tls_selfsigned ? " selfsigned\n" : "\n", fp);
	}
	if (strcmp(conf->tls_ciphers, CONF_TLS_CIPHERS_DEFAULT) != 0) {
		fputs("tls ciphers ", fp);
		print_string(fp, conf->tls_ciphers);
		fputc('\n', fp);
	}
	fprintf(fp, "log addresses %s\n", conf->log_plain_addresses ?
	    "plain" : "anonymised");
	fprintf(fp, "limit connections %u\n", conf->limits.max_conn);
	fprintf(fp, "limit connections per-address %u\n",
	    conf->limits.max_conn_per_addr);
	fprintf(fp, "limit connections per-network %u\n",
	    conf->limits.max_conn_per_net);
	fputs("limit message-size ", fp);
	print_scaled(fp, conf->limits.max_message_size, 1);
	fputs("\nlimit line-length ", fp);
	print_scaled(fp, conf->limits.max_line_length, 1);
	fputs("\nlimit mailbox-size ", fp);
	if (conf->limits.max_mailbox_size == 0)
		fputs("none", fp);
	else
		print_scaled(fp, conf->limits.max_mailbox_size, 1);
	fputs("\nlimit timeout idle ", fp);
	print_scaled(fp, conf->limits.timeout_idle, 0);
	fputs("\nlimit timeout session ", fp);
	print_scaled(fp, conf->limits.timeout_session, 0);
	fputc('\n', fp);
	if (conf->vault.kdf_ops == 0 && conf->vault.kdf_memory == 0)
		fputs("vault kdf default\n", fp);
	else {
		fprintf(fp, "vault kdf ops %llu memory ",
		    (unsigned long long)conf->vault.kdf_ops);
		print_scaled(fp, conf->vault.kdf_memory, 1);
		fputc('\n', fp);
	}
	fputs("vault lock-grace ", fp);
	print_scaled(fp, conf->vault.lock_grace, 0);
	fputc('\n', fp);
	if (conf->vault.allow_unlocked_memory)
		fputs("vault allow-unlocked-memory\n", fp);

	TAILQ_FOREACH(d, &conf->domains, entry) {
		fputs("domain ", fp);
		print_string(fp, d->name);
		fputc('\n', fp);
	}
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		fprintf(fp, "listen on %s port %u %s tls %s%s\n",
		    numeric_host(l, host, sizeof(host)), l->port,
		    conf_proto_name(l->proto), conf_tlsmode_name(l->tls),
		    l->plaintext_auth ? " plaintext-auth" : "");
	}
}

/* A quoted string, with '"' and '\' escaped. */
static void
print_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* A size or a duration in the largest unit that divides it exactly. */
static void
print_scaled(FILE *fp, unsigned long long v, int size)
{
	static const struct {
		char			 c;
		unsigned long long	 mult;
	} sizes[] = {
		{ 'G', 1024ULL * 1024 * 1024 }, { 'M', 1024ULL * 1024 },
		{ 'K', 1024ULL }
	}, times[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 }
	};
	size_t	 i;

	if (size) {
		for (i = 0; i < nitems(sizes); i++) {
			if (v != 0 && v % sizes[i].mult == 0) {
				fprintf(fp, "%llu%c", v / sizes[i].mult,
				    sizes[i].c);
				return;
			}
		}
		fprintf(fp, "%llu", v);
		return;
	}
	for (i = 0; i < nitems(times); i++) {
		if (v != 0 && v % times[i].mult == 0) {
			fprintf(fp, "%llu%c", v / times[i].mult, times[i].c);
			return;
		}
	}
	fprintf(fp, "%llus", v);
}
