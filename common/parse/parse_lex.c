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
 * The tresor.conf(5) tokenizer and the token helpers the grammar
 * (parse.c) reads statements with; parse_local.h says how they share a
 * parser.
 *
 * The tokenizer reads the file one physical line at a time (bounded by
 * CONF_LINE_MAX) and hands out words, quoted strings, "=" and the end of
 * each logical line.  It joins lines ending in a backslash, drops
 * comments, expands $macros and moves in and out of included files, so
 * the grammar never sees any of that.  Every token remembers the file
 * and line it came from, which is what errors are reported against.
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
#include "parse_local.h"

struct keyword {
	const char	*name;
	enum kw		 kw;
};

/* Sorted by strcmp(3) for bsearch(3); lex_keywords_check() checks the order. */
static const struct keyword keywords[] = {
	{ "addresses",		KW_ADDRESSES },
	{ "allow-unlocked-memory", KW_ALLOW_UNLOCKED_MEMORY },
	{ "anonymised",		KW_ANONYMISED },
	{ "anonymized",		KW_ANONYMISED },
	{ "cert",		KW_CERT },
	{ "chroot",		KW_CHROOT },
	{ "ciphers",		KW_CIPHERS },
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
	{ "line-length",	KW_LINE_LENGTH },
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
	{ "per-network",	KW_PER_NETWORK },
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

static int	 kw_cmp(const void *, const void *);
static int	 read_line(struct parser *, struct file *);
static void	 lex(struct parser *);
static void	 lex_word(struct parser *, struct file *, struct token *);
static void	 lex_quoted(struct parser *, struct file *, struct token *);
static void	 expand_macro(struct parser *, struct token *);
static int	 all_digits(const char *);

/* The keyword table must stay sorted for bsearch(3). */
void
lex_keywords_check(void)
{
	size_t	 i;

	for (i = 1; i < nitems(keywords); i++)
		if (strcmp(keywords[i - 1].name, keywords[i].name) >= 0)
			fatalx("%s: keyword table unsorted at \"%s\"",
			    __func__, keywords[i].name);
}

/*
 * Error reporting.
 */

void
lex_error(struct parser *p, const char *file, int line, const char *fmt, ...)
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
void
lex_token_error(struct parser *p, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	if (p->tok.type == T_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lex_error(p, p->tok.file, p->tok.line, "%s", msg);
}

/* s, shortened for a message. */
const char *
lex_show(const char *s, char *buf, size_t len)
{
	if (strlen(s) > CONF_SHOW_MAX)
		snprintf(buf, len, "%.*s...", CONF_SHOW_MAX, s);
	else
		strlcpy(buf, s, len);
	return (buf);
}

const char *
lex_describe(const struct token *t, char *buf, size_t len)
{
	char	 s[CONF_SHOW_MAX + 4];

	switch (t->type) {
	case T_EOF:
		return ("end of file");
	case T_EOL:
		return ("end of line");
	default:
		snprintf(buf, len, "\"%s\"", lex_show(t->s, s, sizeof(s)));
		return (buf);
	}
}

int
lex_expected(struct parser *p, const char *what)
{
	char	 buf[SHOW_LEN];

	lex_token_error(p, "expected %s, got %s", what, lex_describe(&p->tok, buf,
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
FILE *
lex_open_file(const char *path, char *why, size_t len)
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
int
lex_push_file(struct parser *p, const char *name, FILE *fp)
{
	struct file	*f;
	char		*s;

	if (p->nnames == nitems(p->names)) {
		lex_error(p, p->tok.file, p->tok.line, "too many included files "
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

void
lex_pop_file(struct parser *p)
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
				lex_error(p, f->name, f->lineno + 1,
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
		lex_error(p, f->name, f->lineno, "line too long (more than %d "
		    "characters)", CONF_LINE_MAX);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)f->line[i];
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			lex_error(p, f->name, f->lineno, "invalid character 0x%02x",
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
				lex_pop_file(p);
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
		lex_error(p, t->file, t->line, "string too long");
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
			lex_error(p, t->file, t->line, "unterminated quoted string");
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
					lex_error(p, t->file, t->line,
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
				lex_error(p, f->name, f->lineno, "bad escape "
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
		lex_error(p, t->file, t->line, "string too long");
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

	if (!lex_macro_name_ok(t->s + 1)) {
		lex_error(p, t->file, t->line, "bad macro reference \"%s\"",
		    lex_show(t->s, buf, sizeof(buf)));
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
	lex_error(p, t->file, t->line, "undefined macro \"%s\"",
	    lex_show(t->s + 1, buf, sizeof(buf)));
	t->type = T_ERROR;
}

struct token *
lex_next(struct parser *p)
{
	if (p->unget)
		p->unget = 0;
	else
		lex(p);
	return (&p->tok);
}

void
lex_unget(struct parser *p)
{
	p->unget = 1;
}

/*
 * After an error: drop what is left of the statement, quietly, up to
 * and including its end of line.
 */
void
lex_skip_statement(struct parser *p)
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

enum kw
lex_keyword(const char *s)
{
	const struct keyword	*k;

	k = bsearch(s, keywords, nitems(keywords), sizeof(keywords[0]),
	    kw_cmp);
	return (k == NULL ? NOT_KEYWORD : k->kw);
}

/* Quoted strings are never keywords. */
enum kw
lex_token_keyword(const struct token *t)
{
	if (t->type != T_WORD)
		return (NOT_KEYWORD);
	return (lex_keyword(t->s));
}

/*
 * Grammar helpers.  Each returns 0, or -1 after reporting the error.
 */

int
lex_expect_eol(struct parser *p)
{
	struct token	*t;
	char		 buf[SHOW_LEN];

	t = lex_next(p);
	if (t->type == T_EOL)
		return (0);
	if (t->type == T_EOF) {
		lex_unget(p);
		return (0);
	}
	lex_token_error(p, "syntax error: unexpected %s", lex_describe(t, buf,
	    sizeof(buf)));
	return (-1);
}

int
lex_expect_keyword(struct parser *p, enum kw kw, const char *what)
{
	if (lex_token_keyword(lex_next(p)) != kw)
		return (lex_expected(p, what));
	return (0);
}

/* A quoted string or a bare word, which must fit in buf. */
int
lex_string(struct parser *p, const char *what, char *buf, size_t len)
{
	struct token	*t;

	t = lex_next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (lex_expected(p, what));
	if (strlcpy(buf, t->s, len) >= len) {
		lex_token_error(p, "string too long");
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
int
lex_scan_number(struct parser *p, const char *what, long long min,
    long long max, long long *v)
{
	struct token	*t;
	const char	*errstr;

	t = lex_next(p);
	if ((t->type != T_WORD && t->type != T_STRING) || !all_digits(t->s))
		return (lex_expected(p, what));
	*v = strtonum(t->s, min, max, &errstr);
	return (errstr != NULL ? 1 : 0);
}

/* A decimal number from min to max; name is used for range errors. */
int
lex_number(struct parser *p, const char *what, const char *name,
    long long min, long long max, long long *v)
{
	char	 buf[SHOW_LEN];
	int	 r;

	if ((r = lex_scan_number(p, what, min, max, v)) == 1) {
		lex_token_error(p, "%s %s is out of range (%lld-%lld)", name,
		    lex_show(p->tok.s, buf, sizeof(buf)), min, max);
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
int
lex_scan_scaled(struct parser *p, const char *kind, long long max,
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
	t = lex_next(p);
	if (t->type != T_WORD && t->type != T_STRING)
		return (lex_expected(p, issize ? "a size" : "a duration"));
	digits = strspn(t->s, "0123456789");
	if (digits == 0)
		return (lex_expected(p, issize ? "a size" : "a duration"));
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
			lex_token_error(p, "bad %s \"%s\": the unit must be %s", kind,
			    lex_show(t->s, buf, sizeof(buf)), issize ?
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
int
lex_scaled(struct parser *p, const char *kind, const char *name,
    const char *range, long long min, long long max, long long *v)
{
	char	 buf[SHOW_LEN];
	int	 r;

	if ((r = lex_scan_scaled(p, kind, max, v)) == -1)
		return (-1);
	if (r == 1 || *v < min) {
		lex_token_error(p, "%s %s is out of range (%s)", name,
		    lex_show(p->tok.s, buf, sizeof(buf)), range);
		return (-1);
	}
	return (0);
}

int
lex_macro_name_ok(const char *s)
{
	if (*s == '\0')
		return (0);
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return (0);
	return (1);
}
