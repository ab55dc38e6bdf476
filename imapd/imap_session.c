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
 * The IMAP dialogue (RFC 9051, RFC 3501).  This is the session skeleton:
 * greeting, tags, CAPABILITY, NOOP, LOGOUT, STARTTLS, limits and
 * timeouts.  Every other command is answered BAD until the mailbox
 * commands exist; none is faked.
 */

#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include "io.h"
#include "imapd.h"
#include "log.h"

static void	 imap_greet(struct session *);
static void	 imap_line(struct session *, char *, size_t, int);
static void	 imap_toolong(struct session *);
static void	 imap_timeout(struct session *);
static const char *imap_refusal(int);
static void	 imap_bad(struct session *, const char *, const char *);

const struct session_proto imap_proto = {
	.name = "imap",
	.maxline = IMAP_LINE_MAX,
	.greet = imap_greet,
	.line = imap_line,
	.toolong = imap_toolong,
	.timeout = imap_timeout,
	.refusal = imap_refusal,
};

static const char *
imap_refusal(int why)
{
	return (why == FRONT_TOO_MANY_ADDR ?
	    "* BYE [UNAVAILABLE] Too many connections from your address\r\n" :
	    "* BYE [UNAVAILABLE] Too many connections, try again later\r\n");
}

static void
imap_capability(struct session *s)
{
	session_printf(s, "* CAPABILITY IMAP4rev1 IMAP4rev2%s "
	    "LOGINDISABLED\r\n",
	    session_tls_available(s) && !session_is_tls(s) ? " STARTTLS" :
	    "");
}

static void
imap_greet(struct session *s)
{
	session_printf(s, "* OK Tresor IMAP ready\r\n");
}

static void
imap_timeout(struct session *s)
{
	session_printf(s, "* BYE Autologout; idle for too long\r\n");
}

static void
imap_toolong(struct session *s)
{
	imap_bad(s, "*", "Line too long");
}

static void
imap_bad(struct session *s, const char *tag, const char *text)
{
	session_printf(s, "%s BAD %s\r\n", tag, text);
	if (++s->errors >= IMAP_MAX_ERRORS) {
		log_info("imap: session %u: too many errors", s->id);
		session_printf(s, "* BYE Too many invalid commands\r\n");
		session_close(s);
	}
}

/* RFC 9051 tag: 1*<any ASTRING-CHAR except "+">. */
static int
imap_valid_tag(const char *tag)
{
	const unsigned char	*p;

	if (*tag == '\0')
		return (0);
	for (p = (const unsigned char *)tag; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\+", *p))
			return (0);
	return (1);
}

static void
imap_line(struct session *s, char *line, size_t len, int flags)
{
	char	*tag, *cmd, *arg;

	(void)len;
	if (flags & (IO_LINE_NUL | IO_LINE_BARECR)) {
		imap_bad(s, "*", "Invalid characters in command");
		return;
	}
	tag = line;
	cmd = line + strcspn(line, " ");
	if (*cmd == '\0' || !(*cmd = '\0', imap_valid_tag(tag))) {
		imap_bad(s, "*", "Missing or invalid tag");
		return;
	}
	cmd++;
	arg = cmd + strcspn(cmd, " ");
	if (*arg != '\0')
		*arg++ = '\0';

	if (strcasecmp(cmd, "CAPABILITY") == 0 && *arg == '\0') {
		imap_capability(s);
		session_printf(s, "%s OK CAPABILITY completed\r\n", tag);
	} else if (strcasecmp(cmd, "NOOP") == 0 && *arg == '\0') {
		session_printf(s, "%s OK NOOP completed\r\n", tag);
	} else if (strcasecmp(cmd, "LOGOUT") == 0 && *arg == '\0') {
		session_printf(s, "* BYE Logging out\r\n");
		session_printf(s, "%s OK LOGOUT completed\r\n", tag);
		session_close(s);
	} else if (strcasecmp(cmd, "STARTTLS") == 0 && *arg == '\0') {
		if (session_is_tls(s))
			imap_bad(s, tag, "TLS is already active");
		else if (!session_tls_available(s))
			session_printf(s, "%s NO TLS is not available\r\n",
			    tag);
		else {
			session_printf(s, "%s OK Begin TLS negotiation now\r\n",
			    tag);
			session_starttls(s);
		}
	} else
		imap_bad(s, tag, "Unknown command or arguments");
}
