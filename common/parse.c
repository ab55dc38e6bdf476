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
 * The tresor.conf(5) parser: a hand-written tokenizer and a
 * recursive-descent grammar, one statement per line.
 *
 * The tokenizer reads the file one physical line at a time (bounded by
 * CONF_LINE_MAX) and hands out words, quoted strings, "=" and the end of
 * each logical line.  It joins lines ending in a backslash, drops
 * comments, expands $macros and moves in and out of included files, so
 * the grammar never sees any of that.  Every token remembers the file
 * and line it came from, which is what errors are reported against.
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

#include "conf.h"
#include "log.h"

#define CONF_LINE_MAX		4096	/* characters, newline excluded */
#define CONF_INCLUDE_DEPTH	8	/* include levels below the main file */
#define CONF_FILES_MAX		1024	/* files opened by one parse */
#define CONF_MACRO_MAX		256
#define CONF_LISTENER_MAX	1024
#define CONF_DOMAIN_MAX		4096
#define CONF_SHOW_MAX		64	/* characters of a token in a message */
#define SHOW_LEN		(CONF_SHOW_MAX + 8) /* quotes, "...", NUL */

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

enum toktype {
	T_EOF,
	T_EOL,
	T_WORD,		/* a bare word or the value of a $macro */
	T_STRING,	/* a quoted string, never a keyword */
	T_EQUAL,
	T_ERROR		/* bad input, already reported */
};

enum kw {
	NOT_KEYWORD = 0,
	KW_ADDRESSES,
	KW_ANONYMISED,
	KW_CERT,
	KW_CHROOT,
	KW_CONNECTIONS,
	KW_CONTROL,
	KW_DATADIR,
	KW_DEFAULT,
	KW_DOMAIN,
	KW_GROUP,
	KW_HOSTNAME,
	KW_IDLE,
	KW_IMAP,
	KW_IMAPD,
	KW_IMPLICIT,
	KW_INCLUDE,
	KW_KDF,
	KW_KEY,
	KW_LIMIT,
	KW_LISTEN,
	KW_LOCK_GRACE,
	KW_LOG,
	KW_MAILBOX_SIZE,
	KW_MEMORY,
	KW_MESSAGE_SIZE,
	KW_NONE,
	KW_ON,
	KW_OPS,
	KW_PER_ADDRESS,
	KW_PLAIN,
	KW_PLAINTEXT_AUTH,
	KW_POP3,
	KW_PORT,
	KW_SELFSIGNED,
	KW_SESSION,
	KW_SMTP,
	KW_SMTPD,
	KW_SOCKET,
	KW_STARTTLS,
	KW_SUBMISSION,
	KW_TIMEOUT,
	KW_TLS,
	KW_USER,
	KW_VAULT,
	KW_VAULTD
};

struct keyword {
	const char	*name;
	enum kw		 kw;
};

/* Sorted by strcmp(3) for bsearch(3); parse_conf() checks the order. */
static const struct keyword keywords[] = {
	{ "addresses",		KW_ADDRESSES },
	{ "anonymised",		KW_ANONYMISED },
	{ "anonymized",		KW_ANONYMISED },
	{ "cert",		KW_CERT },
	{ "chroot",		KW_CHROOT },
	{ "connections",	KW_CONNECTIONS },
	{ "control",		KW_CONTROL },
	{ "datadir",		KW_DATADIR },
	{ "default",		KW_DEFAULT },
	{ "domain",		KW_DOMAIN },
	{ "group",		KW_GROUP },
	{ "hostname",		KW_HOSTNAME },
	{ "idle",		KW_IDLE },
	{ "imap",		KW_IMAP },
	{ "imapd",		KW_IMAPD },
	{ "implicit",		KW_IMPLICIT },
	{ "include",		KW_INCLUDE },
	{ "kdf",		KW_KDF },
	{ "key",		KW_KEY },
	{ "limit",		KW_LIMIT },
	{ "listen",		KW_LISTEN },
	{ "lock-grace",		KW_LOCK_GRACE },
	{ "log",		KW_LOG },
	{ "mailbox-size",	KW_MAILBOX_SIZE },
	{ "memory",		KW_MEMORY },
	{ "message-size",	KW_MESSAGE_SIZE },
	{ "none",		KW_NONE },
	{ "on",			KW_ON },
	{ "ops",		KW_OPS },
	{ "per-address",	KW_PER_ADDRESS },
	{ "plain",		KW_PLAIN },
	{ "plaintext-auth",	KW_PLAINTEXT_AUTH },
	{ "pop3",		KW_POP3 },
	{ "port",		KW_PORT },
	{ "selfsigned",		KW_SELFSIGNED },
	{ "session",		KW_SESSION },
	{ "smtp",		KW_SMTP },
	{ "smtpd",		KW_SMTPD },
	{ "socket",		KW_SOCKET },
	{ "starttls",		KW_STARTTLS },
	{ "submission",		KW_SUBMISSION },
	{ "timeout",		KW_TIMEOUT },
	{ "tls",		KW_TLS },
	{ "user",		KW_USER },
	{ "vault",		KW_VAULT },
	{ "vaultd",		KW_VAULTD }
};

struct token {
	enum toktype	 type;
	const char	*file;		/* one of parser.names */
	int		 line;
	char		 s[PATH_MAX];
};

struct file {
	struct file	*parent;	/* includer; NULL: the main file */
	FILE		*fp;
	const char	*name;		/* one of parser.names */
	int		 depth;
	int		 lineno;
	int		 eof;
	int		 loaded;	/* line[] holds an unfinished line */
	size_t		 len;
	size_t		 pos;
	char		 line[CONF_LINE_MAX + 1];
};

struct macro {
	char	*name;
	char	*value;
};

/* Where each listener was declared, for the checks made at the end. */
struct origin {
	const struct listener	*l;
	const char		*file;
	int			 line;
};

struct parser {
	struct conf	*conf;
	struct file	*file;		/* the one being read */
	char		*names[CONF_FILES_MAX];
	size_t		 nnames;
	struct macro	 macros[CONF_MACRO_MAX];
	size_t		 nmacros;
	struct origin	 origins[CONF_LISTENER_MAX];
	size_t		 nlisteners;
	size_t		 ndomains;
	struct token	 tok;		/* the current token */
	int		 unget;		/* tok is to be read again */
	int		 silent;	/* skipping a bad statement */
	int		 errors;
	const char	*mainfile;
	int		 lastline;	/* of the main file */
	const char	*limit_file;	/* last connection limit statement */
	int		 limit_line;
};

static int	 kw_cmp(const void *, const void *);
static enum kw	 kw_lookup(const char *);
static enum kw	 tok_kw(const struct token *);
static void	 perr(struct parser *, const char *, int, const char *, ...)
		    __attribute__((__format__ (printf, 4, 5)));
static void	 tokerr(struct parser *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static const char *show(const char *, char *, size_t);
static const char *tokdesc(const struct token *, char *, size_t);
static int	 expected(struct parser *, const char *);

static FILE	*open_file(const char *, char *, size_t);
static int	 push_file(struct parser *, const char *, FILE *);
static void	 pop_file(struct parser *);
static int	 read_line(struct parser *, struct file *);
static void	 lex(struct parser *);
static void	 lex_word(struct parser *, struct file *, struct token *);
static void	 lex_quoted(struct parser *, struct file *, struct token *);
static void	 expand_macro(struct parser *, struct token *);
static struct token *next(struct parser *);
static void	 unget(struct parser *);
static void	 skip_statement(struct parser *);

static int	 expect_eol(struct parser *);
static int	 expect_kw(struct parser *, enum kw, const char *);
static int	 get_string(struct parser *, const char *, char *, size_t);
static int	 all_digits(const char *);
static int	 scan_number(struct parser *, const char *, long long,
		    long long, long long *);
static int	 get_number(struct parser *, const char *, const char *,
		    long long, long long, long long *);
static int	 scan_scaled(struct parser *, const char *, long long,
		    long long *);
static int	 get_scaled(struct parser *, const char *, const char *,
		    const char *, long long, long long, long long *);
static int	 check_name(const char *, char *, size_t);
static int	 check_user(const char *);
static int	 valid_macro_name(const char *);
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

	/* The keyword table must stay sorted for bsearch(3). */
	for (i = 1; i < nitems(keywords); i++)
		if (strcmp(keywords[i - 1].name, keywords[i].name) >= 0)
			fatalx("%s: keyword table unsorted at \"%s\"",
			    __func__, keywords[i].name);

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s: calloc", __func__);
	p->conf = conf_new();

	if (strlcpy(p->conf->source, path, sizeof(p->conf->source)) >=
	    sizeof(p->conf->source)) {
		log_warnx("%s: path too long", path);
		p->errors++;
	} else if ((fp = open_file(path, why, sizeof(why))) == NULL) {
		log_warnx("%s: %s", path, why);
		p->errors++;
	} else if (push_file(p, path, fp) == 0) {
		p->mainfile = p->file->name;
		parse_all(p);
		if (p->errors == 0)
			validate(p);
	}

	while (p->file != NULL)
		pop_file(p);
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
 * Error reporting.
 */

static void
perr(struct parser *p, const char *file, int line, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	if (p->silent)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s:%d: %s", file, line, msg);
	p->errors++;
}

/* An error at the current token, unless that token was already one. */
static void
tokerr(struct parser *p, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	if (p->tok.type == T_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	perr(p, p->tok.file, p->tok.line, "%s", msg);
}

/* s, shortened for a message. */
static const char *
show(const char *s, char *buf, size_t len)
{
	if (strlen(s) > CONF_SHOW_MAX)
		snprintf(buf, len, "%.*s...", CONF_SHOW_MAX, s);
	else
		strlcpy(buf, s, len);
	return (buf);
}

static const char *
tokdesc(const struct token *t, char *buf, size_t len)
{
	char	 s[CONF_SHOW_MAX + 4];

	switch (t->type) {
	case T_EOF:
		return ("end of file");
	case T_EOL:
		return ("end of line");
	default:
		snprintf(buf, len, "\"%s\"", show(t->s, s, sizeof(s)));
		return (buf);
	}
}

static int
expected(struct parser *p, const char *what)
{
	char	 buf[SHOW_LEN];

	tokerr(p, "expected %s, got %s", what, tokdesc(&p->tok, buf,
	    sizeof(buf)));
	return (-1);
}

/*
 * Files.
 */

/*
 * Opens a configuration file and refuses one that someone other than
 * root or us could have written: it decides what runs as root.
 */
static FILE *
open_file(const char *path, char *why, size_t len)
{
	struct stat	 st;
	FILE		*fp;
	uid_t		 uid;
	int		 fd, flags;

	/* O_NONBLOCK: a FIFO must not hang us before the check. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		strlcpy(why, strerror(errno), len);
		return (NULL);
	}
	uid = geteuid();
	if (fstat(fd, &st) == -1) {
		strlcpy(why, strerror(errno), len);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		strlcpy(why, "bad permissions: not a regular file", len);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != uid) {
		snprintf(why, len, "bad permissions: owned by uid %u, "
		    "not by root or uid %u", (unsigned int)st.st_uid,
		    (unsigned int)uid);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, len, "bad permissions: writable by group or "
		    "others (mode %03o)", (unsigned int)(st.st_mode & 0777));
		goto fail;
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
		strlcpy(why, strerror(errno), len);
		goto fail;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		strlcpy(why, strerror(errno), len);
		goto fail;
	}
	return (fp);
fail:
	close(fd);
	return (NULL);
}

/* Makes fp, opened as name, the file being read.  Closes fp on error. */
static int
push_file(struct parser *p, const char *name, FILE *fp)
{
	struct file	*f;
	char		*s;

	if (p->nnames == nitems(p->names)) {
		perr(p, p->tok.file, p->tok.line, "too many included files "
		    "(at most %zu)", nitems(p->names));
		fclose(fp);
		return (-1);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (s = strdup(name)) == NULL)
		fatal("%s", __func__);
	p->names[p->nnames++] = s;
	f->name = s;
	f->fp = fp;
	f->parent = p->file;
	f->depth = p->file == NULL ? 0 : p->file->depth + 1;
	p->file = f;
	return (0);
}

static void
pop_file(struct parser *p)
{
	struct file	*f = p->file;

	p->file = f->parent;
	fclose(f->fp);
	free(f);
}

/*
 * Reads the next physical line into f->line.  Returns 1, 0 at the end
 * of the file, or -1 for a line that was reported and dropped (too
 * long, control characters, read error).
 */
static int
read_line(struct parser *p, struct file *f)
{
	size_t	 n = 0, i;
	int	 c, toolong = 0;

	if (f->eof)
		return (0);
	for (;;) {
		if ((c = getc(f->fp)) == EOF) {
			f->eof = 1;
			if (ferror(f->fp)) {
				perr(p, f->name, f->lineno + 1,
				    "read error: %s", strerror(errno));
				return (-1);
			}
			if (n == 0 && !toolong)
				return (0);
			break;
		}
		if (c == '\n')
			break;
		if (n == CONF_LINE_MAX)
			toolong = 1;
		else
			f->line[n++] = c;
	}
	f->lineno++;
	f->line[n] = '\0';
	f->pos = 0;
	f->len = 0;
	if (toolong) {
		perr(p, f->name, f->lineno, "line too long (more than %d "
		    "characters)", CONF_LINE_MAX);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)f->line[i];
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			perr(p, f->name, f->lineno, "invalid character 0x%02x",
			    c);
			return (-1);
		}
	}
	f->len = n;
	return (1);
}

/*
 * The tokenizer.
 */

static void
lex(struct parser *p)
{
	struct token	*t = &p->tok;
	struct file	*f;
	int		 r;

	t->s[0] = '\0';
	for (;;) {
		f = p->file;
		if (!f->loaded) {
			if ((r = read_line(p, f)) == 0) {
				if (f->parent == NULL) {
					p->lastline = f->lineno;
					t->type = T_EOF;
					t->file = f->name;
					t->line = f->lineno;
					return;
				}
				pop_file(p);
				continue;
			}
			f->loaded = 1;
			if (r == -1) {
				/* Dropped: the next token ends the line. */
				t->type = T_ERROR;
				t->file = f->name;
				t->line = f->lineno;
				return;
			}
		}
		while (f->pos < f->len && (f->line[f->pos] == ' ' ||
		    f->line[f->pos] == '\t' || f->line[f->pos] == '\r'))
			f->pos++;
		t->file = f->name;
		t->line = f->lineno;
		if (f->pos == f->len || f->line[f->pos] == '#') {
			f->loaded = 0;
			t->type = T_EOL;
			return;
		}
		if (f->line[f->pos] == '\\' && f->pos + 1 == f->len) {
			/* The statement goes on on the next line. */
			if ((r = read_line(p, f)) == 0) {
				f->loaded = 0;
				t->type = T_EOL;
				return;
			}
			if (r == -1) {
				t->type = T_ERROR;
				t->line = f->lineno;
				return;
			}
			continue;
		}
		break;
	}

	switch (f->line[f->pos]) {
	case '=':
		f->pos++;
		t->type = T_EQUAL;
		strlcpy(t->s, "=", sizeof(t->s));
		break;
	case '"':
		lex_quoted(p, f, t);
		break;
	default:
		lex_word(p, f, t);
		break;
	}
}

static void
lex_word(struct parser *p, struct file *f, struct token *t)
{
	size_t	 n = 0;
	int	 c, toolong = 0;

	while (f->pos < f->len) {
		c = f->line[f->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '#' ||
		    c == '"' || c == '=')
			break;
		/* A backslash ending the line is a continuation. */
		if (c == '\\' && f->pos + 1 == f->len)
			break;
		if (n + 1 < sizeof(t->s))
			t->s[n++] = c;
		else
			toolong = 1;
		f->pos++;
	}
	t->s[n] = '\0';
	if (toolong) {
		perr(p, t->file, t->line, "string too long");
		t->type = T_ERROR;
		return;
	}
	t->type = T_WORD;
	if (t->s[0] == '$')
		expand_macro(p, t);
}

static void
lex_quoted(struct parser *p, struct file *f, struct token *t)
{
	size_t	 n = 0;
	int	 c, r, toolong = 0;

	f->pos++;
	for (;;) {
		if (f->pos == f->len) {
			perr(p, t->file, t->line, "unterminated quoted string");
			t->type = T_ERROR;
			return;
		}
		c = f->line[f->pos++];
		if (c == '"')
			break;
		if (c == '\\') {
			if (f->pos == f->len) {
				/* Continued: the string goes on. */
				if ((r = read_line(p, f)) == 0) {
					/* The end of line comes next. */
					perr(p, t->file, t->line,
					    "unterminated quoted string");
					t->type = T_ERROR;
					return;
				}
				if (r == -1) {
					t->type = T_ERROR;
					return;
				}
				continue;
			}
			c = f->line[f->pos++];
			if (c != '"' && c != '\\') {
				perr(p, f->name, f->lineno, "bad escape "
				    "sequence \"\\%c\" in quoted string", c);
				f->pos = f->len;
				t->type = T_ERROR;
				return;
			}
		}
		if (n + 1 < sizeof(t->s))
			t->s[n++] = c;
		else
			toolong = 1;
	}
	t->s[n] = '\0';
	if (toolong) {
		perr(p, t->file, t->line, "string too long");
		t->type = T_ERROR;
		return;
	}
	t->type = T_STRING;
}

/* A bare word "$name" is replaced by the macro's value, as one word. */
static void
expand_macro(struct parser *p, struct token *t)
{
	char	 buf[SHOW_LEN];
	size_t	 i;

	if (!valid_macro_name(t->s + 1)) {
		perr(p, t->file, t->line, "bad macro reference \"%s\"",
		    show(t->s, buf, sizeof(buf)));
		t->type = T_ERROR;
		return;
	}
	for (i = 0; i < p->nmacros; i++) {
		if (strcmp(p->macros[i].name, t->s + 1) == 0) {
			/* Values are shorter than t->s, see parse_macro(). */
			strlcpy(t->s, p->macros[i].value, sizeof(t->s));
			return;
		}
	}
	perr(p, t->file, t->line, "undefined macro \"%s\"",
	    show(t->s + 1, buf, sizeof(buf)));
	t->type = T_ERROR;
}

static struct token *
next(struct parser *p)
{
	if (p->unget)
		p->unget = 0;
	else
		lex(p);
	return (&p->tok);
}

static void
unget(struct parser *p)
{
	p->unget = 1;
}

/*
 * After an error: drop what is left of the statement, quietly, up to
 * and including its end of line.
 */
static void
skip_statement(struct parser *p)
{
	p->silent = 1;
	while (p->tok.type != T_EOL && p->tok.type != T_EOF) {
		p->unget = 0;
		lex(p);
	}
	p->silent = 0;
	p->unget = p->tok.type == T_EOF;
}

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keyword *)e)->name));
}

static enum kw
kw_lookup(const char *s)
{
	const struct keyword	*k;

	k = bsearch(s, keywords, nitems(keywords), sizeof(keywords[0]),
	    kw_cmp);
	return (k == NULL ? NOT_KEYWORD : k->kw);
}

/* Quoted strings are never keywords. */
static enum kw
tok_kw(const struct token *t)
{
	if (t->type != T_WORD)
		return (NOT_KEYWORD);
	return (kw_lookup(t->s));
}

/*
 * Grammar helpers.  Each returns 0, or -1 after reporting the error.
 */

static int
expect_eol(struct parser *p)
{
	struct token	*t;
	char		 buf[SHOW_LEN];

	t = next(p);
	if (t->type == T_EOL)
		return (0);
	if (t->type == T_EOF) {
		unget(p);
		return (0);
	}
	tokerr(p, "syntax error: unexpected %s", tokdesc(t, buf,
	    sizeof(buf)));
	return (-1);
}

static int
expect_kw(struct parser *p, enum kw kw, const char *what)
{
	if (tok_kw(next(p)) != kw)
		return (expected(p, what));
	return (0);
}

/* A quoted string or a bare word, which must fit in buf. */
static int
get_string(struct parser *p, const char *what, char *buf, size_t len)
{
	struct token	*t;

	t = next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (expected(p, what));
	if (strlcpy(buf, t->s, len) >= len) {
		tokerr(p, "string too long");
		return (-1);
	}
	return (0);
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return (0);
	return (1);
}

/*
 * A decimal number from min to max.  Returns 0, 1 for a number out of
 * range (not reported: the caller says what the range is), or -1 after
 * reporting that there is no number.
 */
static int
scan_number(struct parser *p, const char *what, long long min,
    long long max, long long *v)
{
	struct token	*t;
	const char	*errstr;

	t = next(p);
	if ((t->type != T_WORD && t->type != T_STRING) || !all_digits(t->s))
		return (expected(p, what));
	*v = strtonum(t->s, min, max, &errstr);
	return (errstr != NULL ? 1 : 0);
}

/* A decimal number from min to max; name is used for range errors. */
static int
get_number(struct parser *p, const char *what, const char *name,
    long long min, long long max, long long *v)
{
	char	 buf[SHOW_LEN];
	int	 r;

	if ((r = scan_number(p, what, min, max, v)) == 1) {
		tokerr(p, "%s %s is out of range (%lld-%lld)", name,
		    show(p->tok.s, buf, sizeof(buf)), min, max);
		return (-1);
	}
	return (r);
}

/*
 * A number with an optional unit, as in "35M" or "5m": a size in bytes
 * (kind "size": K, M, G, powers of 1024) or a duration in seconds (kind
 * "duration": s, m, h, d).  Returns 0 with the value from 0 to max, 1
 * for a value above max (not reported), or -1 after reporting a bad
 * token.
 */
static int
scan_scaled(struct parser *p, const char *kind, long long max,
    long long *v)
{
	static const struct {
		char		 c;
		long long	 mult;
	} sizes[] = {
		{ 'K', 1024LL }, { 'M', 1024LL * 1024 },
		{ 'G', 1024LL * 1024 * 1024 }
	}, times[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }
	};
	struct token	*t;
	const char	*errstr;
	char		 num[32], buf[SHOW_LEN];
	long long	 n, mult = 1;
	size_t		 i, digits;
	int		 issize;

	issize = strcmp(kind, "size") == 0;
	t = next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (expected(p, issize ? "a size" : "a duration"));
	digits = strspn(t->s, "0123456789");
	if (digits == 0)
		return (expected(p, issize ? "a size" : "a duration"));
	if (t->s[digits] != '\0') {
		mult = 0;
		if (t->s[digits + 1] == '\0') {
			if (issize) {
				for (i = 0; i < nitems(sizes); i++)
					if (sizes[i].c == t->s[digits] ||
					    sizes[i].c + 'a' - 'A' ==
					    t->s[digits])
						mult = sizes[i].mult;
			} else {
				for (i = 0; i < nitems(times); i++)
					if (times[i].c == t->s[digits])
						mult = times[i].mult;
			}
		}
		if (mult == 0) {
			tokerr(p, "bad %s \"%s\": the unit must be %s", kind,
			    show(t->s, buf, sizeof(buf)), issize ?
			    "K, M or G" : "s, m, h or d");
			return (-1);
		}
	}
	/* Too many digits is simply out of range. */
	if (digits >= sizeof(num))
		return (1);
	memcpy(num, t->s, digits);
	num[digits] = '\0';
	n = strtonum(num, 0, max, &errstr);
	/* Divided, not multiplied: n * mult must not overflow. */
	if (errstr != NULL || n > max / mult)
		return (1);
	*v = n * mult;
	return (0);
}

/* A size or a duration from min to max; name and range for errors. */
static int
get_scaled(struct parser *p, const char *kind, const char *name,
    const char *range, long long min, long long max, long long *v)
{
	char	 buf[SHOW_LEN];
	int	 r;

	if ((r = scan_scaled(p, kind, max, v)) == -1)
		return (-1);
	if (r == 1 || *v < min) {
		tokerr(p, "%s %s is out of range (%s)", name,
		    show(p->tok.s, buf, sizeof(buf)), range);
		return (-1);
	}
	return (0);
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

static int
valid_macro_name(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return (0);
	return (1);
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
		t = next(p);
		if (t->type == T_EOF)
			break;
		if (t->type == T_EOL)
			continue;
		if (parse_statement(p) == -1)
			skip_statement(p);
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
		tokerr(p, "syntax error: unexpected %s", tokdesc(t, buf,
		    sizeof(buf)));
		return (-1);
	}
	strlcpy(word, t->s, sizeof(word));
	file = t->file;
	line = t->line;
	kw = kw_lookup(word);

	/* One token of lookahead tells a macro definition apart. */
	t = next(p);
	if (t->type == T_EQUAL)
		return (parse_macro(p, word, kw, file, line));
	unget(p);

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
			perr(p, file, line, "syntax error: unexpected \"%s\"",
			    show(word, buf, sizeof(buf)));
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
		perr(p, file, line, "keyword \"%s\" cannot be a macro name",
		    name);
		return (-1);
	}
	if (!valid_macro_name(name)) {
		perr(p, file, line, "bad macro name \"%s\": use letters, "
		    "digits and _", show(name, buf, sizeof(buf)));
		return (-1);
	}
	t = next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (expected(p, "a value"));
	for (i = 0; i < p->nmacros; i++)
		if (strcmp(p->macros[i].name, name) == 0)
			m = &p->macros[i];
	if (m == NULL && p->nmacros == nitems(p->macros)) {
		perr(p, file, line, "too many macros (at most %zu)",
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
	return (expect_eol(p));
}

/* include "path", relative to the including file's directory */
static int
parse_include(struct parser *p)
{
	FILE		*fp;
	const char	*slash, *file;
	char		 path[PATH_MAX], name[PATH_MAX], why[256];
	int		 line, n;

	if (get_string(p, "a file name", path, sizeof(path)) == -1)
		return (-1);
	file = p->tok.file;
	line = p->tok.line;
	if (path[0] == '\0') {
		tokerr(p, "empty file name");
		return (-1);
	}
	if (path[0] != '/' && (slash = strrchr(file, '/')) != NULL) {
		n = snprintf(name, sizeof(name), "%.*s/%s",
		    (int)(slash - file), file, path);
		if (n < 0 || (size_t)n >= sizeof(name)) {
			tokerr(p, "include path too long");
			return (-1);
		}
	} else
		strlcpy(name, path, sizeof(name));
	if (expect_eol(p) == -1)
		return (-1);

	if (p->file->depth >= CONF_INCLUDE_DEPTH) {
		perr(p, file, line, "include nested too deeply");
		return (0);
	}
	if ((fp = open_file(name, why, sizeof(why))) == NULL) {
		perr(p, file, line, "%s: %s", name, why);
		return (0);
	}
	/* The included file is read from the next token on. */
	push_file(p, name, fp);
	return (0);
}

/* hostname "name" */
static int
parse_hostname(struct parser *p)
{
	char	 name[CONF_NAME_MAX], why[64], buf[SHOW_LEN];

	if (get_string(p, "a host name", name, sizeof(name)) == -1)
		return (-1);
	if (check_name(name, why, sizeof(why)) == -1) {
		tokerr(p, "bad host name \"%s\": %s", show(name, buf,
		    sizeof(buf)), why);
		return (-1);
	}
	if (expect_eol(p) == -1)
		return (-1);
	strlcpy(p->conf->hostname, name, sizeof(p->conf->hostname));
	return (0);
}

/* datadir "/path", chroot "/path" */
static int
parse_path(struct parser *p, const char *what, char *dst, size_t len)
{
	char	 path[PATH_MAX];

	if (get_string(p, "a directory", path, len) == -1)
		return (-1);
	if (path[0] != '/') {
		tokerr(p, "%s must be an absolute path", what);
		return (-1);
	}
	if (expect_eol(p) == -1)
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

	if (expect_kw(p, KW_SOCKET, "\"socket\"") == -1 ||
	    get_string(p, "a socket path", path, sizeof(path)) == -1)
		return (-1);
	if (path[0] == '\0') {
		tokerr(p, "empty socket path");
		return (-1);
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		tokerr(p, "socket path too long (at most %zu characters)",
		    sizeof(sun.sun_path) - 1);
		return (-1);
	}
	strlcpy(group, conf->ctlgroup, sizeof(group));
	if (tok_kw(next(p)) == KW_GROUP) {
		if (get_string(p, "a group name", group, sizeof(group)) == -1)
			return (-1);
		if (check_user(group) == -1) {
			tokerr(p, "bad group name \"%s\"", show(group, buf,
			    sizeof(buf)));
			return (-1);
		}
	} else
		unget(p);
	if (expect_eol(p) == -1)
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

	switch (tok_kw(next(p))) {
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
		return (expected(p, "smtpd, imapd or vaultd"));
	}
	if (get_string(p, "a user name", name, sizeof(name)) == -1)
		return (-1);
	if (check_user(name) == -1) {
		tokerr(p, "bad user name \"%s\"", show(name, buf,
		    sizeof(buf)));
		return (-1);
	}
	if (expect_eol(p) == -1)
		return (-1);
	strlcpy(p->conf->user[role], name, sizeof(p->conf->user[role]));
	return (0);
}

/* tls cert "path" key "path" [selfsigned] */
static int
parse_tls(struct parser *p)
{
	struct conf	*conf = p->conf;
	char		 cert[PATH_MAX], key[PATH_MAX];
	int		 selfsigned = 0;

	if (expect_kw(p, KW_CERT, "\"cert\"") == -1 ||
	    get_string(p, "a certificate file", cert, sizeof(cert)) == -1)
		return (-1);
	if (cert[0] == '\0') {
		tokerr(p, "empty certificate file name");
		return (-1);
	}
	if (expect_kw(p, KW_KEY, "\"key\"") == -1 ||
	    get_string(p, "a key file", key, sizeof(key)) == -1)
		return (-1);
	if (key[0] == '\0') {
		tokerr(p, "empty key file name");
		return (-1);
	}
	if (tok_kw(next(p)) == KW_SELFSIGNED)
		selfsigned = 1;
	else
		unget(p);
	if (expect_eol(p) == -1)
		return (-1);
	strlcpy(conf->tls_cert, cert, sizeof(conf->tls_cert));
	strlcpy(conf->tls_key, key, sizeof(conf->tls_key));
	conf->tls_selfsigned = selfsigned;
	return (0);
}

/* domain "name" */
static int
parse_domain(struct parser *p)
{
	struct domain	*d;
	char		 name[CONF_NAME_MAX], why[64], buf[SHOW_LEN];
	size_t		 i;

	if (get_string(p, "a domain name", name, sizeof(name)) == -1)
		return (-1);
	if (check_name(name, why, sizeof(why)) == -1) {
		tokerr(p, "bad domain name \"%s\": %s", show(name, buf,
		    sizeof(buf)), why);
		return (-1);
	}
	/* Domains compare without regard to case; keep one spelling. */
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			name[i] += 'a' - 'A';
	TAILQ_FOREACH(d, &p->conf->domains, entry) {
		if (strcmp(d->name, name) == 0) {
			tokerr(p, "duplicate domain \"%s\"", name);
			return (-1);
		}
	}
	if (p->ndomains == CONF_DOMAIN_MAX) {
		tokerr(p, "too many domains (at most %d)", CONF_DOMAIN_MAX);
		return (-1);
	}
	if (expect_eol(p) == -1)
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

	if (expect_kw(p, KW_ON, "\"on\"") == -1)
		return (-1);
	t = next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (expected(p, "an IP address, * or localhost"));
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
			return (expected(p, "an IP address, * or localhost"));
	}

	t = next(p);
	if (tok_kw(t) == KW_PORT) {
		if (get_number(p, "a port number", "port", 1, 65535,
		    &port) == -1)
			return (-1);
		t = next(p);
	}
	switch (tok_kw(t)) {
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
		return (expected(p, port == 0 ?
		    "port, smtp, submission, imap or pop3" :
		    "smtp, submission, imap or pop3"));
	}

	/* The options, in any order, each at most once. */
	for (;;) {
		t = next(p);
		if (t->type == T_EOL)
			break;
		if (t->type == T_EOF) {
			unget(p);
			break;
		}
		switch (tok_kw(t)) {
		case KW_TLS:
			if (seen_tls) {
				tokerr(p, "tls given twice");
				return (-1);
			}
			seen_tls = 1;
			switch (tok_kw(next(p))) {
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
				return (expected(p,
				    "none, starttls or implicit"));
			}
			break;
		case KW_PLAINTEXT_AUTH:
			if (pa_file != NULL) {
				tokerr(p, "plaintext-auth given twice");
				return (-1);
			}
			pa_file = t->file;
			pa_line = t->line;
			break;
		default:
			return (expected(p, "tls, plaintext-auth or "
			    "end of line"));
		}
	}

	if (port == 0)
		port = default_port(proto, tls);
	if (pa_file != NULL) {
		if (proto == PROTO_SMTP) {
			perr(p, pa_file, pa_line, "plaintext-auth makes no "
			    "sense on smtp listeners: they offer no AUTH");
			return (0);
		}
		for (i = 0; i < naddr; i++) {
			struct listener	 l;

			memset(&l, 0, sizeof(l));
			memcpy(&l.ss, &ss[i], sizeof(l.ss));
			l.sslen = sslen[i];
			if (!conf_listener_is_loopback(&l)) {
				perr(p, pa_file, pa_line, "plaintext-auth is "
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
			perr(p, file, line, "duplicate listener %s port %u",
			    conf_listener_addr(l, a, sizeof(a)), port);
			free(l);
			return (-1);
		}
		if (any_addr(&o->ss) || any_addr(ss)) {
			perr(p, file, line, "listener %s port %u conflicts "
			    "with listener %s port %u",
			    conf_listener_addr(l, a, sizeof(a)), port,
			    conf_listener_addr(o, b, sizeof(b)), o->port);
			free(l);
			return (-1);
		}
	}
	if (p->nlisteners == CONF_LISTENER_MAX) {
		perr(p, file, line, "too many listeners (at most %d)",
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
 * limit connections [per-address] N
 * limit message-size SIZE
 * limit mailbox-size SIZE|none
 * limit timeout (idle|session) DURATION
 */
static int
parse_limit(struct parser *p, const char *file, int line)
{
	struct limits	*lim = &p->conf->limits;
	long long	 v;

	switch (tok_kw(next(p))) {
	case KW_CONNECTIONS:
		if (tok_kw(next(p)) == KW_PER_ADDRESS) {
			if (get_number(p, "a number", "per-address "
			    "connection limit", 1, CONF_CONN_ADDR_MAX,
			    &v) == -1 || expect_eol(p) == -1)
				return (-1);
			lim->max_conn_per_addr = v;
		} else {
			unget(p);
			if (get_number(p, "a number or per-address",
			    "connection limit", 1, CONF_CONN_MAX, &v) == -1 ||
			    expect_eol(p) == -1)
				return (-1);
			lim->max_conn = v;
		}
		p->limit_file = file;
		p->limit_line = line;
		return (0);
	case KW_MESSAGE_SIZE:
		if (get_scaled(p, "size", "message size", "1K-2G",
		    CONF_SIZE_MIN, CONF_SIZE_MAX, &v) == -1 ||
		    expect_eol(p) == -1)
			return (-1);
		lim->max_message_size = v;
		return (0);
	case KW_MAILBOX_SIZE:
		if (tok_kw(next(p)) == KW_NONE) {
			if (expect_eol(p) == -1)
				return (-1);
			lim->max_mailbox_size = 0;
			return (0);
		}
		unget(p);
		if (get_scaled(p, "size", "mailbox size", "1M-1P",
		    1024LL * 1024, CONF_MAILBOX_MAX, &v) == -1 ||
		    expect_eol(p) == -1)
			return (-1);
		lim->max_mailbox_size = v;
		return (0);
	case KW_TIMEOUT:
		switch (tok_kw(next(p))) {
		case KW_IDLE:
			if (get_scaled(p, "duration", "idle timeout",
			    "1s-24h", 1, CONF_IDLE_MAX, &v) == -1 ||
			    expect_eol(p) == -1)
				return (-1);
			lim->timeout_idle = v;
			return (0);
		case KW_SESSION:
			if (get_scaled(p, "duration", "session timeout",
			    "1s-7d", 1, CONF_SESSION_MAX, &v) == -1 ||
			    expect_eol(p) == -1)
				return (-1);
			lim->timeout_session = v;
			return (0);
		default:
			return (expected(p, "idle or session"));
		}
	default:
		return (expected(p, "connections, message-size, mailbox-size "
		    "or timeout"));
	}
}

/* log addresses (anonymised|plain) */
static int
parse_log(struct parser *p)
{
	int	 plain;

	if (expect_kw(p, KW_ADDRESSES, "\"addresses\"") == -1)
		return (-1);
	switch (tok_kw(next(p))) {
	case KW_ANONYMISED:
		plain = 0;
		break;
	case KW_PLAIN:
		plain = 1;
		break;
	default:
		return (expected(p, "anonymised or plain"));
	}
	if (expect_eol(p) == -1)
		return (-1);
	p->conf->log_plain_addresses = plain;
	return (0);
}

/*
 * vault kdf default
 * vault kdf ops N memory SIZE
 * vault lock-grace DURATION
 */
static int
parse_vault(struct parser *p)
{
	long long	 v;
	int		 r;

	switch (tok_kw(next(p))) {
	case KW_KDF:
		return (parse_kdf(p));
	case KW_LOCK_GRACE:
		/* 0 is allowed: lock as soon as the last session ends. */
		if ((r = scan_scaled(p, "duration", CONF_GRACE_MAX, &v)) == -1)
			return (-1);
		if (r == 1) {
			tokerr(p, "lock-grace must be at most 1h");
			return (-1);
		}
		if (expect_eol(p) == -1)
			return (-1);
		p->conf->vault.lock_grace = v;
		return (0);
	default:
		return (expected(p, "kdf or lock-grace"));
	}
}

/* The Argon2id cost of the keyslots vaultd writes, after "vault kdf". */
static int
parse_kdf(struct parser *p)
{
	long long	 ops, mem;
	int		 r;

	switch (tok_kw(next(p))) {
	case KW_DEFAULT:
		if (expect_eol(p) == -1)
			return (-1);
		p->conf->vault.kdf_ops = 0;
		p->conf->vault.kdf_memory = 0;
		return (0);
	case KW_OPS:
		break;
	default:
		return (expected(p, "default or ops"));
	}

	if ((r = scan_number(p, "a number", CONF_KDF_OPS_MIN,
	    CONF_KDF_OPS_MAX, &ops)) == -1)
		return (-1);
	if (r == 1) {
		tokerr(p, "kdf ops must be between %d and %d",
		    CONF_KDF_OPS_MIN, CONF_KDF_OPS_MAX);
		return (-1);
	}
	if (expect_kw(p, KW_MEMORY, "\"memory\"") == -1)
		return (-1);
	if ((r = scan_scaled(p, "size", CONF_KDF_MEM_MAX, &mem)) == -1)
		return (-1);
	if (r == 1 || mem < CONF_KDF_MEM_MIN) {
		tokerr(p, "kdf memory must be between 8M and 4G");
		return (-1);
	}
	/* Only a plain number of bytes can miss: K, M and G are whole. */
	if (mem % CONF_KDF_MEM_UNIT != 0) {
		tokerr(p, "kdf memory must be a multiple of 1K");
		return (-1);
	}
	if (expect_eol(p) == -1)
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
	char		 a[NI_MAXHOST + 2];
	size_t		 i;

	if (TAILQ_EMPTY(&conf->listeners))
		perr(p, p->mainfile, p->lastline, "no listener configured");
	for (i = 0; i < p->nlisteners; i++) {
		if (p->origins[i].l->tls == TLSMODE_NONE ||
		    conf->tls_cert[0] != '\0')
			continue;
		perr(p, p->origins[i].file, p->origins[i].line,
		    "listener on %s port %u needs TLS but no tls cert/key "
		    "is configured", conf_listener_addr(p->origins[i].l, a,
		    sizeof(a)), p->origins[i].l->port);
	}
	if (conf->limits.max_conn_per_addr > conf->limits.max_conn)
		perr(p, p->limit_file != NULL ? p->limit_file : p->mainfile,
		    p->limit_line, "per-address connection "
		    "limit %u exceeds the connection limit %u",
		    conf->limits.max_conn_per_addr, conf->limits.max_conn);
}
