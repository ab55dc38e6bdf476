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
 * What the tresor.conf(5) grammar (parse.c) and its tokenizer
 * (parse_lex.c) share: the tokens, the files being read, the parser's
 * state, and the tokenizer's functions.  Only these two files include
 * it.
 */

#ifndef PARSE_LOCAL_H
#define PARSE_LOCAL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <limits.h>
#include <stdio.h>

#include "conf.h"

#define CONF_LINE_MAX		4096	/* characters, newline excluded */
#define CONF_INCLUDE_DEPTH	8	/* include levels below the main file */
#define CONF_FILES_MAX		1024	/* files opened by one parse */
#define CONF_MACRO_MAX		256
#define CONF_LISTENER_MAX	1024
#define CONF_DOMAIN_MAX		4096
#define CONF_SHOW_MAX		64	/* characters of a token in a message */
#define SHOW_LEN		(CONF_SHOW_MAX + 8) /* quotes, "...", NUL */

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
	KW_ALLOW_UNLOCKED_MEMORY,
	KW_ANONYMISED,
	KW_CERT,
	KW_CHROOT,
	KW_CIPHERS,
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
	KW_LINE_LENGTH,
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
	KW_PER_NETWORK,
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

/* parse_lex.c */
void	 lex_keywords_check(void);
enum kw	 lex_keyword(const char *);
enum kw	 lex_token_keyword(const struct token *);
void	 lex_error(struct parser *, const char *, int, const char *, ...)
	    __attribute__((__format__ (printf, 4, 5)));
void	 lex_token_error(struct parser *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
const char *lex_show(const char *, char *, size_t);
const char *lex_describe(const struct token *, char *, size_t);
int	 lex_expected(struct parser *, const char *);
FILE	*lex_open_file(const char *, char *, size_t);
int	 lex_push_file(struct parser *, const char *, FILE *);
void	 lex_pop_file(struct parser *);
struct token *lex_next(struct parser *);
void	 lex_unget(struct parser *);
void	 lex_skip_statement(struct parser *);
int	 lex_expect_eol(struct parser *);
int	 lex_expect_keyword(struct parser *, enum kw, const char *);
int	 lex_string(struct parser *, const char *, char *, size_t);
int	 lex_scan_number(struct parser *, const char *, long long,
	    long long, long long *);
int	 lex_number(struct parser *, const char *, const char *,
	    long long, long long, long long *);
int	 lex_scan_scaled(struct parser *, const char *, long long,
	    long long *);
int	 lex_scaled(struct parser *, const char *, const char *,
	    const char *, long long, long long, long long *);
int	 lex_macro_name_ok(const char *);

#endif /* PARSE_LOCAL_H */
