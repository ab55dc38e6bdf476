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
 * The SMTP dialogue (RFC 5321).  This is the session skeleton: greeting,
 * EHLO/HELO, STARTTLS (RFC 3207), NOOP, RSET, QUIT, limits and timeouts.
 * Mail transactions (MAIL, RCPT, DATA, BDAT, AUTH) come with delivery
 * into the vault; until then they are answered 502, never faked.
 */

#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include "io.h"
#include "log.h"
#include "smtpd.h"

static void	 smtp_greet(struct session *);
static void	 smtp_line(struct session *, char *, size_t, int);
static void	 smtp_toolong(struct session *);
static void	 smtp_timeout(struct session *);
static const char *smtp_refusal(int);
static void	 smtp_error(struct session *, const char *);

const struct session_proto smtp_proto = {
	.name = "smtp",
	.maxline = SMTP_LINE_MAX,
	.greet = smtp_greet,
	.line = smtp_line,
	.toolong = smtp_toolong,
	.timeout = smtp_timeout,
	.refusal = smtp_refusal,
};

/* Verbs of RFC 5321 and its extensions that are not served yet. */
static const char *const smtp_later[] = {
	"AUTH", "BDAT", "DATA", "EXPN", "HELP", "MAIL", "RCPT", "VRFY"
};

static const char *
smtp_refusal(int why)
{
	return (why == FRONT_TOO_MANY_ADDR ?
	    "421 4.7.0 Too many connections from your address\r\n" :
	    "421 4.3.2 Too many connections, try again later\r\n");
}

static void
smtp_greet(struct session *s)
{
	session_printf(s, "220 %s ESMTP Tresor\r\n", front_conf()->hostname);
}

static void
smtp_timeout(struct session *s)
{
	session_printf(s, "421 4.4.2 %s Timeout, closing connection\r\n",
	    front_conf()->hostname);
}

static void
smtp_toolong(struct session *s)
{
	smtp_error(s, "500 5.5.2 Line too long\r\n");
}

/* A reply to a bad command; too many of them end the session. */
static void
smtp_error(struct session *s, const char *reply)
{
	session_printf(s, "%s", reply);
	if (++s->errors >= SMTP_MAX_ERRORS) {
		log_info("smtp: session %u: too many errors", s->id);
		session_printf(s, "421 4.7.0 Too many errors, closing "
		    "connection\r\n");
		session_close(s);
	}
}

static void
smtp_ehlo(struct session *s, const char *verb, const char *arg)
{
	if (*arg == '\0') {
		smtp_error(s, "501 5.5.4 Syntax: EHLO hostname\r\n");
		return;
	}
	if (strcasecmp(verb, "HELO") == 0) {
		session_printf(s, "250 %s Hello\r\n", front_conf()->hostname);
		return;
	}
	session_printf(s, "250-%s Hello\r\n", front_conf()->hostname);
	if (session_tls_available(s) && !session_is_tls(s))
		session_printf(s, "250-STARTTLS\r\n");
	session_printf(s, "250 ENHANCEDSTATUSCODES\r\n");
}

static void
smtp_line(struct session *s, char *line, size_t len, int flags)
{
	char	*verb, *arg;
	size_t	 i;

	(void)len;
	if (flags & IO_LINE_NUL) {
		smtp_error(s, "500 5.5.2 NUL byte in command\r\n");
		return;
	}
	verb = line;
	arg = line + strcspn(line, " ");
	if (*arg != '\0')
		*arg++ = '\0';
	while (*arg == ' ')
		arg++;

	if (strcasecmp(verb, "EHLO") == 0 || strcasecmp(verb, "HELO") == 0) {
		smtp_ehlo(s, verb, arg);
	} else if (strcasecmp(verb, "STARTTLS") == 0) {
		if (*arg != '\0')
			smtp_error(s, "501 5.5.4 Syntax: STARTTLS\r\n");
		else if (session_is_tls(s))
			smtp_error(s, "503 5.5.1 TLS already active\r\n");
		else if (!session_tls_available(s))
			smtp_error(s, "454 4.7.0 TLS not available\r\n");
		else {
			session_printf(s, "220 2.0.0 Ready to start TLS\r\n");
			session_starttls(s);
		}
	} else if (strcasecmp(verb, "NOOP") == 0) {
		session_printf(s, "250 2.0.0 OK\r\n");
	} else if (strcasecmp(verb, "RSET") == 0) {
		session_printf(s, "250 2.0.0 Reset state\r\n");
	} else if (strcasecmp(verb, "QUIT") == 0) {
		session_printf(s, "221 2.0.0 %s closing connection\r\n",
		    front_conf()->hostname);
		session_close(s);
	} else {
		for (i = 0; i < nitems(smtp_later); i++)
			if (strcasecmp(verb, smtp_later[i]) == 0)
				break;
		if (i < nitems(smtp_later))
			smtp_error(s, "502 5.5.1 Command not implemented\r\n");
		else
			smtp_error(s, "500 5.5.1 Command unrecognized\r\n");
	}
}
