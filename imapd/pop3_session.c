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
 * The POP3 dialogue (RFC 1939, RFC 2449, RFC 2595).  This is the session
 * skeleton: greeting, CAPA, STLS, QUIT, limits and timeouts.  Commands
 * that need a mailbox are answered -ERR until POP3 access exists.
 */

#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include "io.h"
#include "imapd.h"
#include "log.h"

static void	 pop3_greet(struct session *);
static void	 pop3_line(struct session *, char *, size_t, int);
static void	 pop3_toolong(struct session *);
static void	 pop3_timeout(struct session *);
static const char *pop3_refusal(int);
static void	 pop3_err(struct session *, const char *);

const struct session_proto pop3_proto = {
	.name = "pop3",
	.maxline = POP3_LINE_MAX,
	.greet = pop3_greet,
	.line = pop3_line,
	.toolong = pop3_toolong,
	.timeout = pop3_timeout,
	.refusal = pop3_refusal,
};

static const char *
pop3_refusal(int why)
{
	return (why == FRONT_TOO_MANY_ADDR ?
	    "-ERR [SYS/TEMP] Too many connections from your address\r\n" :
	    "-ERR [SYS/TEMP] Too many connections, try again later\r\n");
}

static void
pop3_greet(struct session *s)
{
	session_printf(s, "+OK Tresor POP3 ready\r\n");
}

static void
pop3_timeout(struct session *s)
{
	session_printf(s, "-ERR Timeout, closing connection\r\n");
}

static void
pop3_toolong(struct session *s)
{
	pop3_err(s, "-ERR Line too long\r\n");
}

static void
pop3_err(struct session *s, const char *reply)
{
	session_printf(s, "%s", reply);
	if (++s->errors >= POP3_MAX_ERRORS) {
		log_info("pop3: session %u: too many errors", s->id);
		session_printf(s, "-ERR Too many invalid commands\r\n");
		session_close(s);
	}
}

static void
pop3_line(struct session *s, char *line, size_t len, int flags)
{
	char	*arg;

	(void)len;
	if (flags & IO_LINE_NUL) {
		pop3_err(s, "-ERR Invalid characters in command\r\n");
		return;
	}
	arg = line + strcspn(line, " ");
	if (*arg != '\0')
		*arg++ = '\0';

	if (strcasecmp(line, "CAPA") == 0 && *arg == '\0') {
		session_printf(s, "+OK Capability list follows\r\n");
		if (session_tls_available(s) && !session_is_tls(s))
			session_printf(s, "STLS\r\n");
		session_printf(s, "RESP-CODES\r\nIMPLEMENTATION Tresor\r\n"
		    ".\r\n");
	} else if (strcasecmp(line, "STLS") == 0 && *arg == '\0') {
		if (session_is_tls(s))
			pop3_err(s, "-ERR TLS is already active\r\n");
		else if (!session_tls_available(s))
			pop3_err(s, "-ERR TLS is not available\r\n");
		else {
			session_printf(s, "+OK Begin TLS negotiation\r\n");
			session_starttls(s);
		}
	} else if (strcasecmp(line, "QUIT") == 0 && *arg == '\0') {
		session_printf(s, "+OK Bye\r\n");
		session_close(s);
	} else
		pop3_err(s, "-ERR Unknown command\r\n");
}
