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
 * greeting, tags, CAPABILITY, NOOP, LOGOUT, STARTTLS, and logging in with
 * LOGIN or AUTHENTICATE PLAIN (RFC 4616, with SASL-IR, RFC 4959) against
 * the vault.  The mailbox commands come with the IMAP issue; until then
 * they are answered BAD, never faked.
 */

#include <sys/types.h>

#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "io.h"
#include "imapd.h"
#include "log.h"
#include "sasl.h"

#define IMAP_TAG_MAX		128
#define IMAP_AUTH_FAILS_MAX	3	/* per connection, then BYE */

enum imap_state {
	IMAP_NOTAUTH,
	IMAP_AUTHENTICATING,	/* AUTHENTICATE waits for the response */
	IMAP_WAITING,		/* a login is with the vault */
	IMAP_AUTH
};

struct imap {
	enum imap_state	 state;
	char		 tag[IMAP_TAG_MAX];
	uint32_t	 req;		/* vault request in flight */
	uint32_t	 vsession;	/* vault session once logged in */
	char		 account[MSG_ADDRESS_MAX];
	unsigned int	 fails;
	struct event	 delay_ev;	/* holds back a failure's answer */
	int		 delayed;
	char		 reply[256];
};

static void	 imap_greet(struct session *);
static void	 imap_line(struct session *, char *, size_t, int);
static void	 imap_toolong(struct session *);
static void	 imap_timeout(struct session *);
static const char *imap_refusal(int);
static void	 imap_free(struct session *);
static void	 imap_bad(struct session *, const char *, const char *);

const struct session_proto imap_proto = {
	.name = "imap",
	.maxline = IMAP_LINE_MAX,
	.greet = imap_greet,
	.line = imap_line,
	.toolong = imap_toolong,
	.timeout = imap_timeout,
	.refusal = imap_refusal,
	.free = imap_free,
};

static struct imap *
imap_get(struct session *s)
{
	struct imap	*im;

	if (s->data == NULL) {
		if ((im = calloc(1, sizeof(*im))) == NULL)
			return (NULL);
		s->data = im;
	}
	return (s->data);
}

static void
imap_free(struct session *s)
{
	struct imap		*im = s->data;
	struct msg_session	 ms;

	if (im == NULL)
		return;
	if (im->req != 0)
		front_vault_cancel(im->req);
	if (im->delayed)
		evtimer_del(&im->delay_ev);
	if (im->vsession != 0) {
		ms.session = im->vsession;
		front_vault_compose(IMSG_VAULT_LOGOUT, 0, -1, &ms, sizeof(ms));
	}
	free(im);
	s->data = NULL;
}

static const char *
imap_refusal(int why)
{
	return (why == FRONT_TOO_MANY_ADDR ?
	    "* BYE [UNAVAILABLE] Too many connections from your address\r\n" :
	    "* BYE [UNAVAILABLE] Too many connections, try again later\r\n");
}

/* Passwords may cross only TLS, or loopback when the config says so. */
static int
imap_login_allowed(struct session *s)
{
	return (session_is_tls(s) || s->listener.plaintext_auth);
}

static void
imap_capability(struct session *s, const char *prefix, const char *suffix)
{
	struct imap	*im = s->data;

	session_printf(s, "%sCAPABILITY IMAP4rev1 IMAP4rev2%s%s%s",
	    prefix,
	    session_tls_available(s) && !session_is_tls(s) ? " STARTTLS" : "",
	    im != NULL && im->state == IMAP_AUTH ? "" :
	    imap_login_allowed(s) ? " AUTH=PLAIN SASL-IR" : " LOGINDISABLED",
	    suffix);
}

static void
imap_greet(struct session *s)
{
	imap_capability(s, "* OK [", "] Tresor IMAP ready\r\n");
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

	if (*tag == '\0' || strlen(tag) >= IMAP_TAG_MAX)
		return (0);
	for (p = (const unsigned char *)tag; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\+", *p))
			return (0);
	return (1);
}

/*
 * One astring argument: an atom or a quoted string (RFC 9051 4.3).
 * Literals are not taken on this line-based path yet.  Advances *pp;
 * returns the argument NUL-terminated in place, or NULL if malformed.
 */
static char *
imap_astring(char **pp)
{
	char	*p = *pp, *start, *o;

	if (*p == '"') {
		start = o = ++p;
		for (;;) {
			if (*p == '\0')
				return (NULL);
			if (*p == '"')
				break;
			if (*p == '\\') {
				p++;
				if (*p != '"' && *p != '\\')
					return (NULL);
			}
			*o++ = *p++;
		}
		p++;
		*o = '\0';
	} else {
		start = p;
		while (*p != '\0' && *p != ' ') {
			if ((unsigned char)*p < 0x21 || *p == 0x7f ||
			    strchr("(){%*\"\\", *p) != NULL)
				return (NULL);
			p++;
		}
		if (p == start)
			return (NULL);
	}
	if (*p == ' ')
		*p++ = '\0';
	else if (*p != '\0')
		return (NULL);
	*pp = p;
	return (start);
}

static void
imap_delay_cb(int fd, short event, void *arg)
{
	struct session	*s = arg;
	struct imap	*im = s->data;

	(void)fd;
	(void)event;
	im->delayed = 0;
	session_printf(s, "%s", im->reply);
	if (im->fails >= IMAP_AUTH_FAILS_MAX) {
		session_printf(s, "* BYE Too many failed logins\r\n");
		session_close(s);
		return;
	}
	session_release(s);
}

static void
imap_auth_done(void *arg, struct imsg *imsg)
{
	struct session		*s = arg;
	struct imap		*im = s->data;
	struct msg_auth_ok	 ok;
	struct timeval		 tv;
	char			 prefix[IMAP_TAG_MAX + 8];
	int			 reason;

	im->req = 0;
	im->state = IMAP_NOTAUTH;
	if ((reason = front_auth_answer(imsg, &ok)) == 0) {
		im->state = IMAP_AUTH;
		im->vsession = ok.session;
		strlcpy(im->account, ok.account, sizeof(im->account));
		log_info("imap: session %u: logged in", s->id);
		snprintf(prefix, sizeof(prefix), "%s OK [", im->tag);
		imap_capability(s, prefix, "] Logged in\r\n");
		session_release(s);
		return;
	}
	switch (reason) {
	case AUTH_FAIL_BAD:
		im->fails++;
		snprintf(im->reply, sizeof(im->reply), "%s NO "
		    "[AUTHENTICATIONFAILED] Authentication failed\r\n",
		    im->tag);
		break;
	case AUTH_FAIL_LOCKED:
		im->fails++;
		snprintf(im->reply, sizeof(im->reply), "%s NO [UNAVAILABLE] "
		    "Too many failed logins; try again later\r\n", im->tag);
		break;
	default:
		snprintf(im->reply, sizeof(im->reply), "%s NO [UNAVAILABLE] "
		    "The mail store is not available; try again later\r\n",
		    im->tag);
		break;
	}
	/* A failure is answered late, and later each time. */
	evtimer_set(&im->delay_ev, imap_delay_cb, s);
	timerclear(&tv);
	tv.tv_sec = im->fails;
	im->delayed = 1;
	evtimer_add(&im->delay_ev, &tv);
}

/* Ask the vault; the session reads nothing more until it answers. */
static void
imap_login(struct session *s, const char *tag, const char *user,
    const char *pass)
{
	struct imap	*im = s->data;

	if (tag != im->tag)
		strlcpy(im->tag, tag, sizeof(im->tag));
	im->req = front_auth_request(user, pass, s->client.addr, PROTO_IMAP,
	    imap_auth_done, s);
	if (im->req == 0) {
		session_printf(s, "%s NO [UNAVAILABLE] The mail store is not "
		    "available; try again later\r\n", tag);
		return;
	}
	im->state = IMAP_WAITING;
	session_hold(s);
}

/* AUTHENTICATE PLAIN's response (RFC 4616). */
static void
imap_plain(struct session *s, const char *tag, const char *b64)
{
	struct sasl_plain	 sp;

	if (strcmp(b64, "*") == 0) {
		imap_bad(s, tag, "Authentication cancelled");
		return;
	}
	switch (sasl_plain_decode(b64, &sp)) {
	case SASL_OK:
		imap_login(s, tag, sp.user, sp.pass);
		break;
	case SASL_EBASE64:
		imap_bad(s, tag, "Invalid base64");
		break;
	case SASL_EAUTHZ:
		session_printf(s, "%s NO [AUTHORIZATIONFAILED] Cannot act as "
		    "another user\r\n", tag);
		break;
	default:
		imap_bad(s, tag, "Invalid PLAIN response");
		break;
	}
	sodium_memzero(&sp, sizeof(sp));
}

static void
imap_line(struct session *s, char *line, size_t len, int flags)
{
	struct imap		*im;
	struct msg_session	 ms;
	char			*tag, *cmd, *arg, *user, *pass, *mech;

	if ((im = imap_get(s)) == NULL) {
		session_close(s);
		return;
	}
	if (flags & (IO_LINE_NUL | IO_LINE_BARECR)) {
		imap_bad(s, "*", "Invalid characters in command");
		return;
	}
	if (im->state == IMAP_AUTHENTICATING) {
		im->state = IMAP_NOTAUTH;
		imap_plain(s, im->tag, line);
		sodium_memzero(line, len);
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
		imap_capability(s, "* ", "\r\n");
		session_printf(s, "%s OK CAPABILITY completed\r\n", tag);
	} else if (strcasecmp(cmd, "NOOP") == 0 && *arg == '\0') {
		session_printf(s, "%s OK NOOP completed\r\n", tag);
	} else if (strcasecmp(cmd, "LOGOUT") == 0 && *arg == '\0') {
		session_printf(s, "* BYE Logging out\r\n");
		session_printf(s, "%s OK LOGOUT completed\r\n", tag);
		if (im->vsession != 0) {
			ms.session = im->vsession;
			front_vault_compose(IMSG_VAULT_LOGOUT, 0, -1, &ms,
			    sizeof(ms));
			im->vsession = 0;
		}
		session_close(s);
	} else if (strcasecmp(cmd, "STARTTLS") == 0 && *arg == '\0') {
		if (session_is_tls(s))
			imap_bad(s, tag, "TLS is already active");
		else if (im->state == IMAP_AUTH)
			imap_bad(s, tag, "Already logged in");
		else if (!session_tls_available(s))
			session_printf(s, "%s NO TLS is not available\r\n",
			    tag);
		else {
			session_printf(s, "%s OK Begin TLS negotiation now\r\n",
			    tag);
			session_starttls(s);
		}
	} else if (strcasecmp(cmd, "LOGIN") == 0 ||
	    strcasecmp(cmd, "AUTHENTICATE") == 0) {
		if (im->state == IMAP_AUTH)
			imap_bad(s, tag, "Already logged in");
		else if (!imap_login_allowed(s))
			session_printf(s, "%s NO [PRIVACYREQUIRED] Use TLS to "
			    "log in\r\n", tag);
		else if (strcasecmp(cmd, "LOGIN") == 0) {
			if ((user = imap_astring(&arg)) == NULL ||
			    (pass = imap_astring(&arg)) == NULL ||
			    *arg != '\0')
				imap_bad(s, tag, "Syntax: LOGIN user password");
			else
				imap_login(s, tag, user, pass);
		} else {
			mech = arg;
			arg += strcspn(arg, " ");
			if (*arg != '\0')
				*arg++ = '\0';
			if (strcasecmp(mech, "PLAIN") != 0)
				session_printf(s, "%s NO Unsupported "
				    "mechanism\r\n", tag);
			else if (*arg != '\0')
				imap_plain(s, tag, arg);
			else {
				strlcpy(im->tag, tag, sizeof(im->tag));
				im->state = IMAP_AUTHENTICATING;
				session_printf(s, "+ \r\n");
			}
		}
		/* The line held the password: wipe it in the buffer. */
		sodium_memzero(line, len);
	} else
		imap_bad(s, tag, "Unknown command or arguments");
}
