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
 * The tresor.conf(5) parser: a recursive-descent grammar, one
 * statement per line, over the hand-written tokenizer of parse_lex.c,
 * which hides line joining, comments, $macros and included files.
 *
 * On an error the rest of the statement is skipped without further
 * messages, and parsing goes on with the next line: one run reports
 * every bad line.  The checks that concern the configuration as a whole
 * (a listener exists, TLS listeners have a certificate, ...) run only
 * when every statement parsed, so they do not pile up on top of the
 * errors that caused them.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tls.h>

#include "conf.h"
#include "log.h"
#include "parse_local.h"

#define CONF_CONN_MAX		1000000
#define CONF_CONN_ADDR_MAX	100000
#define CONF_SIZE_MIN		1024LL			/* 1K */
#define CONF_SIZE_MAX		(2048LL * 1024 * 1024)	/* 2G */
#define CONF_MAILBOX_MAX	(1LL << 50)		/* 1P */
#define CONF_IDLE_MAX		(24LL * 3600)		/* 24h */
#define CONF_SESSION_MAX	(7LL * 24 * 3600)	/* 7d */

/*
 * The Argon2id costs vaultd accepts (keys_cost_valid()): a cost it
 * would refuse is better caught here, with a file and a line.
 */
#define CONF_KDF_OPS_MIN	1
#define CONF_KDF_OPS_MAX	20
#define CONF_KDF_MEM_MIN	(8LL * 1024 * 1024)		/* 8M */
#define CONF_KDF_MEM_MAX	(4LL * 1024 * 1024 * 1024)	/* 4G */
#define CONF_KDF_MEM_UNIT	1024LL	/* Argon2id counts memory in KiB */
#define CONF_GRACE_MAX		3600LL			/* 1h */

static int	 check_name(const char *, char *, size_t);
static int	 check_user(const char *);
static int	 resolve_addr(const char *, struct sockaddr_storage *,
		    socklen_t *);
static int	 same_addr(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
static int	 any_addr(const struct sockaddr_storage *);
static in_port_t default_port(enum proto, enum tlsmode);
static void	 parse_all(struct parser *);
static int	 parse_statement(struct parser *);
static int	 parse_macro(struct parser *, const char *, enum kw,
		    const char *, int);
static int	 parse_include(struct parser *);
static int	 parse_hostname(struct parser *);
static int	 parse_path(struct parser *, const char *, char *, size_t);
static int	 parse_control(struct parser *);
static int	 parse_user(struct parser *);
static int	 parse_tls(struct parser *);
static int	 parse_tls_ciphers(struct parser *);
static int	 parse_domain(struct parser *);
static int	 parse_listen(struct parser *, const char *, int);
static int	 add_listener(struct parser *, const struct sockaddr_storage *,
		    socklen_t, in_port_t, enum proto, enum tlsmode, int,
		    const char *, int);
static int	 parse_limit(struct parser *, const char *, int);
static int	 parse_log(struct parser *);
static int	 parse_vault(struct parser *);
static int	 parse_kdf(struct parser *);
static void	 validate(struct parser *);

int
parse_conf(const char *path, struct conf **confp)
{
	struct parser	*p;
	FILE		*fp;
	char		 why[256];
	size_t		 i;
	int		 errors;

	*confp = NULL;

	lex_keywords_check();

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s: calloc", __func__);
	p->conf = conf_new();

	if (strlcpy(p->conf->source, path, sizeof(p->conf->source)) >=
	    sizeof(p->conf->source)) {
		log_warnx("%s: path too long", path);
		p->errors++;
	} else if ((fp = lex_open_file(path, why, sizeof(why))) == NULL) {
		log_warnx("%s: %s", path, why);
		p->errors++;
	} else if (lex_push_file(p, path, fp) == 0) {
		p->mainfile = p->file->name;
		parse_all(p);
		if (p->errors == 0) {
			conf_limits_settle(&p->conf->limits);
			validate(p);
		}
	}

	while (p->file != NULL)
		lex_pop_file(p);
	for (i = 0; i < p->nmacros; i++) {
		free(p->macros[i].name);
		free(p->macros[i].value);
	}
	for (i = 0; i < p->nnames; i++)
		free(p->names[i]);

	errors = p->errors;
	if (errors == 0)
		*confp = p->conf;
	else
		conf_free(p->conf);
	free(p);
	return (errors);
}

/*
 * A host or domain name: dot-separated labels of letters, digits and
 * hyphens, 1 to 63 characters, not starting or ending with a hyphen;
 * 253 characters at most.
 */
static int
check_name(const char *s, char *why, size_t len)
{
	size_t	 label = 0, i, n;
	int	 c;

	n = strlen(s);
	if (n == 0) {
		strlcpy(why, "empty name", len);
		return (-1);
	}
	if (n > 253) {
		strlcpy(why, "longer than 253 characters", len);
		return (-1);
	}
	for (i = 0; i <= n; i++) {
		c = (unsigned char)s[i];
		if (c == '.' || c == '\0') {
			if (label == 0) {
				strlcpy(why, "empty label", len);
				return (-1);
			}
			if (label > 63) {
				strlcpy(why, "label longer than 63 characters",
				    len);
				return (-1);
			}
			if (s[i - 1] == '-') {
				strlcpy(why, "label ends with a hyphen", len);
				return (-1);
			}
			label = 0;
			continue;
		}
		if (c == '-' && label == 0) {
			strlcpy(why, "label starts with a hyphen", len);
			return (-1);
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-')) {
			if (c > 0x20 && c < 0x7f)
				snprintf(why, len, "invalid character '%c'", c);
			else
				snprintf(why, len, "invalid character 0x%02x",
				    c);
			return (-1);
		}
		label++;
	}
	return (0);
}

/* Portable user and group names: [A-Za-z0-9._-], not starting with -. */
static int
check_user(const char *s)
{
	if (*s == '\0' || *s == '-')
		return (-1);
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return (-1);
	return (0);
}


/*
 * A numeric address, never a name: a listener must not depend on DNS.
 * Returns 0 or -1.  The port is left 0.
 */
static int
resolve_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo	 hints, *res;
	struct in_addr	 in;
	char		 buf[NI_MAXHOST];
	size_t		 n = strlen(s);

	/* "[::1]" is accepted too: it is how conf_listener_addr() shows it. */
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return (-1);
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		if (strchr(buf, ':') == NULL)
			return (-1);
	} else if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return (-1);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(buf, NULL, &hints, &res) != 0)
		return (-1);
	if (res->ai_addrlen > sizeof(*ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6) ||
	    (res->ai_family == AF_INET && inet_pton(AF_INET, buf, &in) != 1)) {
		/* IPv4 as inet_pton(3) reads it, not "127.1" or octal. */
		freeaddrinfo(res);
		return (-1);
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return (a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	}
	a6 = (const struct sockaddr_in6 *)a;
	b6 = (const struct sockaddr_in6 *)b;
	return (memcmp(&a6->sin6_addr, &b6->sin6_addr,
	    sizeof(a6->sin6_addr)) == 0 &&
	    a6->sin6_scope_id == b6->sin6_scope_id);
}

static int
any_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		    htonl(INADDR_ANY));
	return (IN6_IS_ADDR_UNSPECIFIED(
	    &((const struct sockaddr_in6 *)ss)->sin6_addr));
}

static in_port_t
default_port(enum proto proto, enum tlsmode tls)
{
	switch (proto) {
	case PROTO_SMTP:
		return (25);
	case PROTO_SUBMISSION:
		return (tls == TLSMODE_IMPLICIT ? 465 : 587);
	case PROTO_IMAP:
		return (tls == TLSMODE_IMPLICIT ? 993 : 143);
	case PROTO_POP3:
		return (tls == TLSMODE_IMPLICIT ? 995 : 110);
	}
	return (0);
}

/*
 * The grammar.
 */

static void
parse_all(struct parser *p)
{
	struct token	*t;

	for (;;) {
		t = lex_next(p);
		if (t->type == T_EOF)
			break;
		if (t->type == T_EOL)
			continue;
		if (parse_statement(p) == -1)
			lex_skip_statement(p);
	}
}

/* The current token starts a statement. */
static int
parse_statement(struct parser *p)
{
	struct token	*t = &p->tok;
	const char	*file;
	char		 word[PATH_MAX], buf[SHOW_LEN];
	enum kw		 kw;
	int		 line;

	if (t->type == T_ERROR)
		return (-1);
	if (t->type != T_WORD) {
		lex_token_error(p, "syntax error: unexpected %s", lex_describe(t, buf,
		    sizeof(buf)));
		return (-1);
	}
	strlcpy(word, t->s, sizeof(word));
	file = t->file;
	line = t->line;
	kw = lex_keyword(word);

	/* One token of lookahead tells a macro definition apart. */
	t = lex_next(p);
	if (t->type == T_EQUAL)
		return (parse_macro(p, word, kw, file, line));
	lex_unget(p);

	switch (kw) {
	case KW_INCLUDE:
		return (parse_include(p));
	case KW_HOSTNAME:
		return (parse_hostname(p));
	case KW_DATADIR:
		return (parse_path(p, "datadir", p->conf->datadir,
		    sizeof(p->conf->datadir)));
	case KW_CHROOT:
		return (parse_path(p, "chroot", p->conf->emptydir,
		    sizeof(p->conf->emptydir)));
	case KW_CONTROL:
		return (parse_control(p));
	case KW_USER:
		return (parse_user(p));
	case KW_TLS:
		return (parse_tls(p));
	case KW_DOMAIN:
		return (parse_domain(p));
	case KW_LISTEN:
		return (parse_listen(p, file, line));
	case KW_LIMIT:
		return (parse_limit(p, file, line));
	case KW_LOG:
		return (parse_log(p));
	case KW_VAULT:
		return (parse_vault(p));
	default:
		/* A lexer error on the next token says enough already. */
		if (t->type != T_ERROR)
			lex_error(p, file, line, "syntax error: unexpected \"%s\"",
			    lex_show(word, buf, sizeof(buf)));
		return (-1);
	}
}

/* name = "value" */
static int
parse_macro(struct parser *p, const char *name, enum kw kw,
    const char *file, int line)
{
	struct token	*t;
	struct macro	*m = NULL;
	char		 buf[SHOW_LEN];
	size_t		 i;

	if (kw != NOT_KEYWORD) {
		lex_error(p, file, line, "keyword \"%s\" cannot be a macro name",
		    name);
		return (-1);
	}
	if (!lex_macro_name_ok(name)) {
		lex_error(p, file, line, "bad macro name \"%s\": use letters, "
		    "digits and _", lex_show(name, buf, sizeof(buf)));
		return (-1);
	}
	t = lex_next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (lex_expected(p, "a value"));
	for (i = 0; i < p->nmacros; i++)
		if (strcmp(p->macros[i].name, name) == 0)
			m = &p->macros[i];
	if (m == NULL && p->nmacros == nitems(p->macros)) {
		lex_error(p, file, line, "too many macros (at most %zu)",
		    nitems(p->macros));
		return (-1);
	}
	if (m == NULL) {
		m = &p->macros[p->nmacros];
		if ((m->name = strdup(name)) == NULL ||
		    (m->value = strdup(t->s)) == NULL)
			fatal("%s", __func__);
		p->nmacros++;
	} else {
		/* A later definition replaces the earlier one. */
		free(m->value);
		if ((m->value = strdup(t->s)) == NULL)
			fatal("%s", __func__);
	}
	return (lex_expect_eol(p));
}

/* include "path", relative to the including file's directory */
static int
parse_include(struct parser *p)
{
	FILE		*fp;
	const char	*slash, *file;
	char		 path[PATH_MAX], name[PATH_MAX], why[256];
	int		 line, n;

	if (lex_string(p, "a file name", path, sizeof(path)) == -1)
		return (-1);
	file = p->tok.file;
	line = p->tok.line;
	if (path[0] == '\0') {
		lex_token_error(p, "empty file name");
		return (-1);
	}
	if (path[0] != '/' && (slash = strrchr(file, '/')) != NULL) {
		n = snprintf(name, sizeof(name), "%.*s/%s",
		    (int)(slash - file), file, path);
		if (n < 0 || (size_t)n >= sizeof(name)) {
			lex_token_error(p, "include path too long");
			return (-1);
		}
	} else
		strlcpy(name, path, sizeof(name));
	if (lex_expect_eol(p) == -1)
		return (-1);

	if (p->file->depth >= CONF_INCLUDE_DEPTH) {
		lex_error(p, file, line, "include nested too deeply");
		return (0);
	}
	if ((fp = lex_open_file(name, why, sizeof(why))) == NULL) {
		lex_error(p, file, line, "%s: %s", name, why);
		return (0);
	}
	/* The included file is read from the next token on. */
	lex_push_file(p, name, fp);
	return (0);
}

/* hostname "name" */
static int
parse_hostname(struct parser *p)
{
	char	 name[CONF_NAME_MAX], why[64], buf[SHOW_LEN];

	if (lex_string(p, "a host name", name, sizeof(name)) == -1)
		return (-1);
	if (check_name(name, why, sizeof(why)) == -1) {
		lex_token_error(p, "bad host name \"%s\": %s", lex_show(name, buf,
		    sizeof(buf)), why);
		return (-1);
	}
	if (lex_expect_eol(p) == -1)
		return (-1);
	strlcpy(p->conf->hostname, name, sizeof(p->conf->hostname));
	return (0);
}

/* datadir "/path", chroot "/path" */
static int
parse_path(struct parser *p, const char *what, char *dst, size_t len)
{
	char	 path[PATH_MAX];

	if (lex_string(p, "a directory", path, len) == -1)
		return (-1);
	if (path[0] != '/') {
		lex_token_error(p, "%s must be an absolute path", what);
		return (-1);
	}
	if (lex_expect_eol(p) == -1)
		return (-1);
	strlcpy(dst, path, len);
	return (0);
}

/* control socket "/path" [group "name"] */
static int
parse_control(struct parser *p)
{
	struct sockaddr_un	 sun;
	struct conf		*conf = p->conf;
	char			 path[PATH_MAX], group[CONF_USER_MAX];
	char			 buf[SHOW_LEN];

	if (lex_expect_keyword(p, KW_SOCKET, "\"socket\"") == -1 ||
	    lex_string(p, "a socket path", path, sizeof(path)) == -1)
		return (-1);
	if (path[0] == '\0') {
		lex_token_error(p, "empty socket path");
		return (-1);
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		lex_token_error(p, "socket path too long (at most %zu characters)",
		    sizeof(sun.sun_path) - 1);
		return (-1);
	}
	strlcpy(group, conf->ctlgroup, sizeof(group));
	if (lex_token_keyword(lex_next(p)) == KW_GROUP) {
		if (lex_string(p, "a group name", group, sizeof(group)) == -1)
			return (-1);
		if (check_user(group) == -1) {
			lex_token_error(p, "bad group name \"%s\"", lex_show(group, buf,
			    sizeof(buf)));
			return (-1);
		}
	} else
		lex_unget(p);
	if (lex_expect_eol(p) == -1)
		return (-1);
	strlcpy(conf->ctlsock, path, sizeof(conf->ctlsock));
	strlcpy(conf->ctlgroup, group, sizeof(conf->ctlgroup));
	return (0);
}

/* user (smtpd|imapd|vaultd) "name" */
static int
parse_user(struct parser *p)
{
	char	 name[CONF_USER_MAX], buf[SHOW_LEN];
	int	 role;

	switch (lex_token_keyword(lex_next(p))) {
	case KW_SMTPD:
		role = ROLE_SMTPD;
		break;
	case KW_IMAPD:
		role = ROLE_IMAPD;
		break;
	case KW_VAULTD:
		role = ROLE_VAULTD;
		break;
	default:
		return (lex_expected(p, "smtpd, imapd or vaultd"));
	}
	if (lex_string(p, "a user name", name, sizeof(name)) == -1)
		return (-1);
	if (check_user(name) == -1) {
		lex_token_error(p, "bad user name \"%s\"", lex_show(name, buf,
		    sizeof(buf)));
		return (-1);
	}
	if (lex_expect_eol(p) == -1)
		return (-1);
	strlcpy(p->conf->user[role], name, sizeof(p->conf->user[role]));
	return (0);
}

/* tls cert "path" key "path" [selfsigned], or tls ciphers "list" */
static int
parse_tls(struct parser *p)
{
	struct conf	*conf = p->conf;
	char		 cert[PATH_MAX], key[PATH_MAX];
	int		 selfsigned = 0;

	if (lex_token_keyword(lex_next(p)) == KW_CIPHERS)
		return (parse_tls_ciphers(p));
	lex_unget(p);
	if (lex_expect_keyword(p, KW_CERT, "\"cert\" or \"ciphers\"") == -1 ||
	    lex_string(p, "a certificate file", cert, sizeof(cert)) == -1)
		return (-1);
	if (cert[0] == '\0') {
		lex_token_error(p, "empty certificate file name");
		return (-1);
	}
	if (lex_expect_keyword(p, KW_KEY, "\"key\"") == -1 ||
	    lex_string(p, "a key file", key, sizeof(key)) == -1)
		return (-1);
	if (key[0] == '\0') {
		lex_token_error(p, "empty key file name");
		return (-1);
	}
	if (lex_token_keyword(lex_next(p)) == KW_SELFSIGNED)
		selfsigned = 1;
	else
		lex_unget(p);
	if (lex_expect_eol(p) == -1)
		return (-1);
	strlcpy(conf->tls_cert, cert, sizeof(conf->tls_cert));
	strlcpy(conf->tls_key, key, sizeof(conf->tls_key));
	conf->tls_selfsigned = selfsigned;
	return (0);
}

/*
 * tls ciphers "list": the TLS 1.2 cipher suites, in libtls's words
 * ("secure", "compat", ...) or OpenSSL's cipher-list syntax.  Checked
 * here with libtls itself, so that a list the fronts would refuse is an
 * error with a file and a line, not a front without TLS.
 */
static int
parse_tls_ciphers(struct parser *p)
{
	struct tls_config	*cfg;
	char			 list[CONF_CIPHERS_MAX];
	const char		*why;
	int			 rv = 0;

	if (lex_string(p, "a cipher list", list, sizeof(list)) == -1)
		return (-1);
	if (list[0] == '\0') {
		lex_token_error(p, "empty cipher list");
		return (-1);
	}
	if ((cfg = tls_config_new()) == NULL)
		fatalx("%s: tls_config_new failed", __func__);
	if (tls_config_set_ciphers(cfg, list) == -1) {
		why = tls_config_error(cfg);
		lex_token_error(p, "cipher list not accepted by libtls: %s",
		    why != NULL ? why : "no usable cipher");
		rv = -1;
	}
	tls_config_free(cfg);
	if (rv == -1 || lex_expect_eol(p) == -1)
		return (-1);
	strlcpy(p->conf->tls_ciphers, list, sizeof(p->conf->tls_ciphers));
	return (0);
}

/* domain "name" */
static int
parse_domain(struct parser *p)
{
	struct domain	*d;
	char		 name[CONF_NAME_MAX], why[64], buf[SHOW_LEN];
	size_t		 i;

	if (lex_string(p, "a domain name", name, sizeof(name)) == -1)
		return (-1);
	if (check_name(name, why, sizeof(why)) == -1) {
		lex_token_error(p, "bad domain name \"%s\": %s", lex_show(name, buf,
		    sizeof(buf)), why);
		return (-1);
	}
	/* Domains compare without regard to case; keep one spelling. */
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] += 'a' - 'A';
	TAILQ_FOREACH(d, &p->conf->domains, entry) {
		if (strcmp(d->name, name) == 0) {
			lex_token_error(p, "duplicate domain \"%s\"", name);
			return (-1);
		}
	}
	if (p->ndomains == CONF_DOMAIN_MAX) {
		lex_token_error(p, "too many domains (at most %d)", CONF_DOMAIN_MAX);
		return (-1);
	}
	if (lex_expect_eol(p) == -1)
		return (-1);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("%s: calloc", __func__);
	strlcpy(d->name, name, sizeof(d->name));
	TAILQ_INSERT_TAIL(&p->conf->domains, d, entry);
	p->ndomains++;
	return (0);
}

/* listen on ADDRESS [port N] PROTO [tls MODE] [plaintext-auth] */
static int
parse_listen(struct parser *p, const char *file, int line)
{
	struct sockaddr_storage	 ss[2];
	struct token		*t;
	const char		*pa_file = NULL;
	socklen_t		 sslen[2];
	long long		 port = 0;
	enum proto		 proto;
	enum tlsmode		 tls = TLSMODE_STARTTLS;
	size_t			 naddr, i;
	int			 pa_line = 0, seen_tls = 0;

	if (lex_expect_keyword(p, KW_ON, "\"on\"") == -1)
		return (-1);
	t = lex_next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (lex_expected(p, "an IP address, * or localhost"));
	if (strcmp(t->s, "*") == 0) {
		naddr = 2;
		if (resolve_addr("0.0.0.0", &ss[0], &sslen[0]) == -1 ||
		    resolve_addr("::", &ss[1], &sslen[1]) == -1)
			fatalx("%s: cannot make wildcard addresses", __func__);
	} else if (strcmp(t->s, "localhost") == 0) {
		naddr = 2;
		if (resolve_addr("127.0.0.1", &ss[0], &sslen[0]) == -1 ||
		    resolve_addr("::1", &ss[1], &sslen[1]) == -1)
			fatalx("%s: cannot make loopback addresses", __func__);
	} else {
		naddr = 1;
		if (resolve_addr(t->s, &ss[0], &sslen[0]) == -1)
			return (lex_expected(p, "an IP address, * or localhost"));
	}

	t = lex_next(p);
	if (lex_token_keyword(t) == KW_PORT) {
		if (lex_number(p, "a port number", "port", 1, 65535,
		    &port) == -1)
			return (-1);
		t = lex_next(p);
	}
	switch (lex_token_keyword(t)) {
	case KW_SMTP:
		proto = PROTO_SMTP;
		break;
	case KW_SUBMISSION:
		proto = PROTO_SUBMISSION;
		break;
	case KW_IMAP:
		proto = PROTO_IMAP;
		break;
	case KW_POP3:
		proto = PROTO_POP3;
		break;
	default:
		return (lex_expected(p, port == 0 ?
		    "port, smtp, submission, imap or pop3" :
		    "smtp, submission, imap or pop3"));
	}

	/* The options, in any order, each at most once. */
	for (;;) {
		t = lex_next(p);
		if (t->type == T_EOL)
			break;
		if (t->type == T_EOF) {
			lex_unget(p);
			break;
		}
		switch (lex_token_keyword(t)) {
		case KW_TLS:
			if (seen_tls) {
				lex_token_error(p, "tls given twice");
				return (-1);
			}
			seen_tls = 1;
			switch (lex_token_keyword(lex_next(p))) {
			case KW_NONE:
				tls = TLSMODE_NONE;
				break;
			case KW_STARTTLS:
				tls = TLSMODE_STARTTLS;
				break;
			case KW_IMPLICIT:
				tls = TLSMODE_IMPLICIT;
				break;
			default:
				return (lex_expected(p,
				    "none, starttls or implicit"));
			}
			break;
		case KW_PLAINTEXT_AUTH:
			if (pa_file != NULL) {
				lex_token_error(p, "plaintext-auth given twice");
				return (-1);
			}
			pa_file = t->file;
			pa_line = t->line;
			break;
		default:
			return (lex_expected(p, "tls, plaintext-auth or "
			    "end of line"));
		}
	}

	if (port == 0)
		port = default_port(proto, tls);
	if (pa_file != NULL) {
		if (proto == PROTO_SMTP) {
			lex_error(p, pa_file, pa_line, "plaintext-auth makes no "
			    "sense on smtp listeners: they offer no AUTH");
			return (0);
		}
		for (i = 0; i < naddr; i++) {
			struct listener	 l;

			memset(&l, 0, sizeof(l));
			memcpy(&l.ss, &ss[i], sizeof(l.ss));
			l.sslen = sslen[i];
			if (!conf_listener_is_loopback(&l)) {
				lex_error(p, pa_file, pa_line, "plaintext-auth is "
				    "only allowed on loopback addresses");
				return (0);
			}
		}
	}
	for (i = 0; i < naddr; i++)
		if (add_listener(p, &ss[i], sslen[i], port, proto, tls,
		    pa_file != NULL, file, line) == -1)
			return (0);
	return (0);
}

/*
 * Adds one listener, unless it would clash with an earlier one: the
 * same address and port, or an address and the wildcard of its family
 * on the same port, which bind(2) would refuse.
 */
static int
add_listener(struct parser *p, const struct sockaddr_storage *ss,
    socklen_t sslen, in_port_t port, enum proto proto, enum tlsmode tls,
    int plaintext_auth, const char *file, int line)
{
	struct listener	*l, *o;
	char		 a[NI_MAXHOST + 2], b[NI_MAXHOST + 2];

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("%s: calloc", __func__);
	memcpy(&l->ss, ss, sizeof(l->ss));
	l->sslen = sslen;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)&l->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&l->ss)->sin6_port = htons(port);
	l->port = port;
	l->proto = proto;
	l->tls = tls;
	l->plaintext_auth = plaintext_auth;
	l->fd = -1;

	TAILQ_FOREACH(o, &p->conf->listeners, entry) {
		if (o->port != port || o->ss.ss_family != ss->ss_family)
			continue;
		if (same_addr(&o->ss, ss)) {
			lex_error(p, file, line, "duplicate listener %s port %u",
			    conf_listener_addr(l, a, sizeof(a)), port);
			free(l);
			return (-1);
		}
		if (any_addr(&o->ss) || any_addr(ss)) {
			lex_error(p, file, line, "listener %s port %u conflicts "
			    "with listener %s port %u",
			    conf_listener_addr(l, a, sizeof(a)), port,
			    conf_listener_addr(o, b, sizeof(b)), o->port);
			free(l);
			return (-1);
		}
	}
	if (p->nlisteners == CONF_LISTENER_MAX) {
		lex_error(p, file, line, "too many listeners (at most %d)",
		    CONF_LISTENER_MAX);
		free(l);
		return (-1);
	}
	p->origins[p->nlisteners].l = l;
	p->origins[p->nlisteners].file = file;
	p->origins[p->nlisteners].line = line;
	p->nlisteners++;
	TAILQ_INSERT_TAIL(&p->conf->listeners, l, entry);
	return (0);
}

/*
 * limit connections [per-address|per-network] N
 * limit message-size SIZE
 * limit line-length SIZE
 * limit mailbox-size SIZE|none
 * limit timeout (idle|session) DURATION
 */
static int
parse_limit(struct parser *p, const char *file, int line)
{
	struct limits	*lim = &p->conf->limits;
	long long	 v;

	switch (lex_token_keyword(lex_next(p))) {
	case KW_CONNECTIONS:
		switch (lex_token_keyword(lex_next(p))) {
		case KW_PER_ADDRESS:
			if (lex_number(p, "a number", "per-address "
			    "connection limit", 1, CONF_CONN_ADDR_MAX,
			    &v) == -1 || lex_expect_eol(p) == -1)
				return (-1);
			lim->max_conn_per_addr = v;
			break;
		case KW_PER_NETWORK:
			if (lex_number(p, "a number", "per-network "
			    "connection limit", 1, CONF_CONN_MAX,
			    &v) == -1 || lex_expect_eol(p) == -1)
				return (-1);
			lim->max_conn_per_net = v;
			break;
		default:
			lex_unget(p);
			if (lex_number(p, "a number, per-address or "
			    "per-network", "connection limit", 1,
			    CONF_CONN_MAX, &v) == -1 ||
			    lex_expect_eol(p) == -1)
				return (-1);
			lim->max_conn = v;
			break;
		}
		p->limit_file = file;
		p->limit_line = line;
		return (0);
	case KW_MESSAGE_SIZE:
		if (lex_scaled(p, "size", "message size", "1K-2G",
		    CONF_SIZE_MIN, CONF_SIZE_MAX, &v) == -1 ||
		    lex_expect_eol(p) == -1)
			return (-1);
		lim->max_message_size = v;
		return (0);
	case KW_LINE_LENGTH:
		if (lex_scaled(p, "size", "line length", "1000-1M",
		    CONF_LINE_LENGTH_MIN, CONF_LINE_LENGTH_MAX, &v) == -1 ||
		    lex_expect_eol(p) == -1)
			return (-1);
		lim->max_line_length = v;
		return (0);
	case KW_MAILBOX_SIZE:
		if (lex_token_keyword(lex_next(p)) == KW_NONE) {
			if (lex_expect_eol(p) == -1)
				return (-1);
			lim->max_mailbox_size = 0;
			return (0);
		}
		lex_unget(p);
		if (lex_scaled(p, "size", "mailbox size", "1M-1P",
		    1024LL * 1024, CONF_MAILBOX_MAX, &v) == -1 ||
		    lex_expect_eol(p) == -1)
			return (-1);
		lim->max_mailbox_size = v;
		return (0);
	case KW_TIMEOUT:
		switch (lex_token_keyword(lex_next(p))) {
		case KW_IDLE:
			if (lex_scaled(p, "duration", "idle timeout",
			    "1s-24h", 1, CONF_IDLE_MAX, &v) == -1 ||
			    lex_expect_eol(p) == -1)
				return (-1);
			lim->timeout_idle = v;
			return (0);
		case KW_SESSION:
			if (lex_scaled(p, "duration", "session timeout",
			    "1s-7d", 1, CONF_SESSION_MAX, &v) == -1 ||
			    lex_expect_eol(p) == -1)
				return (-1);
			lim->timeout_session = v;
			return (0);
		default:
			return (lex_expected(p, "idle or session"));
		}
	default:
		return (lex_expected(p, "connections, message-size, "
		    "mailbox-size, line-length or timeout"));
	}
}

/* log addresses (anonymised|plain) */
static int
parse_log(struct parser *p)
{
	int	 plain;

	if (lex_expect_keyword(p, KW_ADDRESSES, "\"addresses\"") == -1)
		return (-1);
	switch (lex_token_keyword(lex_next(p))) {
	case KW_ANONYMISED:
		plain = 0;
		break;
	case KW_PLAIN:
		plain = 1;
		break;
	default:
		return (lex_expected(p, "anonymised or plain"));
	}
	if (lex_expect_eol(p) == -1)
		return (-1);
	p->conf->log_plain_addresses = plain;
	return (0);
}

/*
 * vault kdf default
 * vault kdf ops N memory SIZE
 * vault lock-grace DURATION
 * vault allow-unlocked-memory
 */
static int
parse_vault(struct parser *p)
{
	long long	 v;
	int		 r;

	switch (lex_token_keyword(lex_next(p))) {
	case KW_KDF:
		return (parse_kdf(p));
	case KW_LOCK_GRACE:
		/* 0 is allowed: lock as soon as the last session ends. */
		if ((r = lex_scan_scaled(p, "duration", CONF_GRACE_MAX, &v)) == -1)
			return (-1);
		if (r == 1) {
			lex_token_error(p, "lock-grace must be at most 1h");
			return (-1);
		}
		if (lex_expect_eol(p) == -1)
			return (-1);
		p->conf->vault.lock_grace = v;
		return (0);
	case KW_ALLOW_UNLOCKED_MEMORY:
		if (lex_expect_eol(p) == -1)
			return (-1);
		p->conf->vault.allow_unlocked_memory = 1;
		return (0);
	default:
		return (lex_expected(p, "kdf, lock-grace or "
		    "allow-unlocked-memory"));
	}
}

/* The Argon2id cost of the keyslots vaultd writes, after "vault kdf". */
static int
parse_kdf(struct parser *p)
{
	long long	 ops, mem;
	int		 r;

	switch (lex_token_keyword(lex_next(p))) {
	case KW_DEFAULT:
		if (lex_expect_eol(p) == -1)
			return (-1);
		p->conf->vault.kdf_ops = 0;
		p->conf->vault.kdf_memory = 0;
		return (0);
	case KW_OPS:
		break;
	default:
		return (lex_expected(p, "default or ops"));
	}

	if ((r = lex_scan_number(p, "a number", CONF_KDF_OPS_MIN,
	    CONF_KDF_OPS_MAX, &ops)) == -1)
		return (-1);
	if (r == 1) {
		lex_token_error(p, "kdf ops must be between %d and %d",
		    CONF_KDF_OPS_MIN, CONF_KDF_OPS_MAX);
		return (-1);
	}
	if (lex_expect_keyword(p, KW_MEMORY, "\"memory\"") == -1)
		return (-1);
	if ((r = lex_scan_scaled(p, "size", CONF_KDF_MEM_MAX, &mem)) == -1)
		return (-1);
	if (r == 1 || mem < CONF_KDF_MEM_MIN) {
		lex_token_error(p, "kdf memory must be between 8M and 4G");
		return (-1);
	}
	/* Only a plain number of bytes can miss: K, M and G are whole. */
	if (mem % CONF_KDF_MEM_UNIT != 0) {
		lex_token_error(p, "kdf memory must be a multiple of 1K");
		return (-1);
	}
	if (lex_expect_eol(p) == -1)
		return (-1);
	p->conf->vault.kdf_ops = ops;
	p->conf->vault.kdf_memory = mem;
	return (0);
}

/* The checks on the whole configuration, once every statement parsed. */
static void
validate(struct parser *p)
{
	struct conf	*conf = p->conf;
	struct limits	*lim = &conf->limits;
	const char	*lim_file;
	char		 a[NI_MAXHOST + 2];
	size_t		 i;

	if (TAILQ_EMPTY(&conf->listeners))
		lex_error(p, p->mainfile, p->lastline, "no listener configured");
	for (i = 0; i < p->nlisteners; i++) {
		if (p->origins[i].l->tls == TLSMODE_NONE ||
		    conf->tls_cert[0] != '\0')
			continue;
		lex_error(p, p->origins[i].file, p->origins[i].line,
		    "listener on %s port %u needs TLS but no tls cert/key "
		    "is configured", conf_listener_addr(p->origins[i].l, a,
		    sizeof(a)), p->origins[i].l->port);
	}
	lim_file = p->limit_file != NULL ? p->limit_file : p->mainfile;
	if (lim->max_conn_per_addr > lim->max_conn)
		lex_error(p, lim_file, p->limit_line, "per-address connection "
		    "limit %u exceeds the connection limit %u",
		    lim->max_conn_per_addr, lim->max_conn);
	else if (lim->max_conn_per_net > lim->max_conn)
		lex_error(p, lim_file, p->limit_line, "per-network connection "
		    "limit %u exceeds the connection limit %u",
		    lim->max_conn_per_net, lim->max_conn);
	else if (lim->max_conn_per_net < lim->max_conn_per_addr)
		lex_error(p, lim_file, p->limit_line, "per-network connection "
		    "limit %u is below the per-address limit %u",
		    lim->max_conn_per_net, lim->max_conn_per_addr);
}
