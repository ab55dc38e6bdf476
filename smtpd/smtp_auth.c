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
 * SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, on submission
 * listeners only, checked by the vault.  Passwords cross only TLS, or a
 * listener whose configuration allows them in clear (loopback).  Each
 * failure is answered later than the one before; a few end the session.
 * Every buffer that held a password is wiped.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "io.h"
#include "log.h"
#include "sasl.h"
#include "smtpd.h"

/* authzid NUL authcid NUL passwd, and a NUL of ours. */
#define SMTP_SASL_MAX	(MSG_ADDRESS_MAX * 2 + MSG_SECRET_MAX + 2)

static int	 smtp_b64(const char *, unsigned char *, size_t, size_t *);
static void	 smtp_auth_plain(struct session *, const char *);
static void	 smtp_auth_login(struct session *, const char *, const char *);
static void	 smtp_auth_failed(struct session *, const char *);
static void	 smtp_auth_done(void *, struct imsg *);
static void	 smtp_auth_audit(struct session *, const char *, const char *);

/*
 * Decode a SASL response into out (NUL-terminated, so at most max - 1
 * octets).  "=" is the empty initial response (RFC 4954 4).
 */
static int
smtp_b64(const char *in, unsigned char *out, size_t max, size_t *len)
{
	*len = 0;
	if (strcmp(in, "=") == 0) {
		out[0] = '\0';
		return (0);
	}
	if (sodium_base642bin(out, max - 1, in, strlen(in), NULL, len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return (-1);
	out[*len] = '\0';
	return (0);
}

/* AUTH mechanism [initial-response] */
void
smtp_auth(struct session *s, char *arg)
{
	struct smtp	*sm = s->data;
	unsigned char	 user[MSG_ADDRESS_MAX];
	char		*mech, *initial;
	size_t		 len;

	if (!smtp_submission(s)) {
		smtp_error(s, "502 5.5.1 AUTH not available on this port\r\n");
		return;
	}
	if (!sm->esmtp) {
		smtp_error(s, "503 5.5.1 Send EHLO first\r\n");
		return;
	}
	if (sm->vsession != 0) {
		smtp_error(s, "503 5.5.1 Already authenticated\r\n");
		return;
	}
	if (sm->inmail) {
		smtp_error(s, "503 5.5.1 AUTH not allowed during a mail "
		    "transaction\r\n");
		return;
	}
	if (!session_is_tls(s) && !s->listener.plaintext_auth) {
		smtp_error(s, "538 5.7.11 Encryption required for requested "
		    "authentication mechanism\r\n");
		return;
	}
	mech = arg;
	initial = arg + strcspn(arg, " ");
	if (*initial != '\0')
		*initial++ = '\0';
	if (*mech == '\0' || strchr(initial, ' ') != NULL) {
		smtp_error(s, "501 5.5.4 Syntax: AUTH mechanism "
		    "[initial-response]\r\n");
		return;
	}

	if (strcasecmp(mech, "PLAIN") == 0) {
		sm->authmech = "plain";
		if (*initial != '\0') {
			smtp_auth_plain(s, initial);
			return;
		}
		sm->authstep = SMTP_AUTH_PLAIN;
		smtp_set_rx(s, SMTP_RX_AUTH);
		smtp_reply(s, "334 \r\n");
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		sm->authmech = "login";
		if (*initial == '\0') {
			sm->authstep = SMTP_AUTH_LOGIN_USER;
			smtp_set_rx(s, SMTP_RX_AUTH);
			smtp_reply(s, "334 VXNlcm5hbWU6\r\n");
			return;
		}
		if (smtp_b64(initial, user, sizeof(user), &len) == -1 ||
		    strlen((char *)user) != len) {
			smtp_error(s, "501 5.5.2 Cannot decode response\r\n");
			return;
		}
		strlcpy(sm->authuser, (char *)user, sizeof(sm->authuser));
		sm->authstep = SMTP_AUTH_LOGIN_PASS;
		smtp_set_rx(s, SMTP_RX_AUTH);
		smtp_reply(s, "334 UGFzc3dvcmQ6\r\n");
	} else
		smtp_error(s, "504 5.5.4 Unrecognized authentication type\r\n");
}

/* A response line of the exchange. */
void
smtp_auth_line(struct session *s, char *line, size_t len, int flags)
{
	struct smtp		*sm = s->data;
	unsigned char		 buf[MSG_SECRET_MAX];
	enum smtp_authstep	 step;
	size_t			 n;

	step = sm->authstep;
	sm->authstep = SMTP_AUTH_NONE;
	smtp_set_rx(s, SMTP_RX_CMD);
	if (strcmp(line, "*") == 0) {
		smtp_error(s, "501 5.0.0 Authentication cancelled\r\n");
		goto done;
	}
	if (flags & (IO_LINE_NUL | IO_LINE_BARECR)) {
		smtp_error(s, "501 5.5.2 Cannot decode response\r\n");
		goto done;
	}
	switch (step) {
	case SMTP_AUTH_PLAIN:
		smtp_auth_plain(s, line);
		break;
	case SMTP_AUTH_LOGIN_USER:
		if (smtp_b64(line, buf, MSG_ADDRESS_MAX, &n) == -1 ||
		    strlen((char *)buf) != n) {
			smtp_error(s, "501 5.5.2 Cannot decode response\r\n");
			break;
		}
		strlcpy(sm->authuser, (char *)buf, sizeof(sm->authuser));
		sm->authstep = SMTP_AUTH_LOGIN_PASS;
		smtp_set_rx(s, SMTP_RX_AUTH);
		smtp_reply(s, "334 UGFzc3dvcmQ6\r\n");
		break;
	case SMTP_AUTH_LOGIN_PASS:
		if (smtp_b64(line, buf, sizeof(buf), &n) == -1 ||
		    strlen((char *)buf) != n) {
			smtp_error(s, "501 5.5.2 Cannot decode response\r\n");
			break;
		}
		smtp_auth_login(s, sm->authuser, (char *)buf);
		break;
	default:
		smtp_error(s, "503 5.5.1 No authentication in progress\r\n");
		break;
	}
 done:
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(line, len);
}

void
smtp_auth_toolong(struct session *s)
{
	struct smtp	*sm = s->data;

	sm->authstep = SMTP_AUTH_NONE;
	smtp_set_rx(s, SMTP_RX_CMD);
	smtp_error(s, "500 5.5.6 Authentication exchange line is too "
	    "long\r\n");
}

void
smtp_auth_free(struct smtp *sm)
{
	sodium_memzero(sm->authuser, sizeof(sm->authuser));
}

/* AUTH PLAIN's response (RFC 4616). */
static void
smtp_auth_plain(struct session *s, const char *b64)
{
	struct sasl_plain	 sp;

	switch (sasl_plain_decode(b64, &sp)) {
	case SASL_OK:
		smtp_auth_login(s, sp.user, sp.pass);
		break;
	case SASL_EBASE64:
		smtp_error(s, "501 5.5.2 Cannot decode response\r\n");
		break;
	case SASL_EAUTHZ:
		smtp_auth_audit(s, "", "authzid-refused");
		smtp_auth_failed(s, "535 5.7.8 Cannot act as another "
		    "user\r\n");
		break;
	default:
		smtp_error(s, "501 5.5.2 Invalid PLAIN response\r\n");
		break;
	}
	sodium_memzero(&sp, sizeof(sp));
}

static void
smtp_auth_audit(struct session *s, const char *user, const char *result)
{
	struct smtp	*sm = s->data;
	char		 u[MSG_ADDRESS_MAX];

	log_sanitize(u, sizeof(u), user);
	log_audit("smtp-auth", "client=%s mech=%s user=%s result=%s",
	    s->client.addr, sm->authmech != NULL ? sm->authmech : "-",
	    u[0] != '\0' ? u : "-", result);
}

/*
 * A failed attempt: answered late, and later each time; the last one
 * allowed ends the session.
 */
static void
smtp_auth_failed(struct session *s, const char *reply)
{
	struct smtp	*sm = s->data;

	sm->authfails++;
	if (sm->authfails >= SMTP_MAX_AUTH_FAILS) {
		log_info("smtp: session %u: too many failed authentications",
		    s->id);
		session_delay(s, sm->authfails * 1000, 1, "%s421 4.7.0 Too "
		    "many failed authentications, closing connection\r\n",
		    reply);
	} else
		session_delay(s, sm->authfails * 1000, 0, "%s", reply);
}

/* Ask the vault; the session reads nothing more until it answers. */
static void
smtp_auth_login(struct session *s, const char *user, const char *pass)
{
	struct smtp	*sm = s->data;

	if (user != sm->authuser && strlcpy(sm->authuser, user,
	    sizeof(sm->authuser)) >= sizeof(sm->authuser)) {
		smtp_auth_audit(s, user, "failure");
		smtp_auth_failed(s, "535 5.7.8 Authentication credentials "
		    "invalid\r\n");
		return;
	}
	s->req = front_auth_request(user, pass, &s->client,
	    s->listener.proto, smtp_auth_done, s);
	if (s->req == 0) {
		smtp_auth_audit(s, user, "tempfail");
		smtp_reply(s, "454 4.7.0 Temporary authentication failure\r\n");
		return;
	}
	session_hold(s);
}

static void
smtp_auth_done(void *arg, struct imsg *imsg)
{
	struct session		*s = arg;
	struct smtp		*sm = s->data;
	struct msg_auth_result	 ok;
	int			 reason;
	const char		*reply, *result;

	s->req = 0;
	if ((reason = front_auth_answer(imsg, &ok)) == MBOX_OK) {
		sm->vsession = ok.session;
		strlcpy(sm->account, ok.account, sizeof(sm->account));
		smtp_auth_audit(s, sm->authuser, "success");
		sodium_memzero(sm->authuser, sizeof(sm->authuser));
		session_release(s);
		smtp_reply(s, "235 2.7.0 Authentication successful\r\n");
		return;
	}
	switch (reason) {
	case MBOX_EAUTH:
		result = "failure";
		reply = "535 5.7.8 Authentication credentials invalid\r\n";
		break;
	case MBOX_ELOCKED:
		result = "locked";
		reply = "454 4.7.0 Too many failed logins, try again "
		    "later\r\n";
		break;
	default:
		result = "tempfail";
		reply = "454 4.7.0 Temporary authentication failure\r\n";
		break;
	}
	smtp_auth_audit(s, sm->authuser, result);
	sodium_memzero(sm->authuser, sizeof(sm->authuser));
	if (reason == MBOX_EAUTH || reason == MBOX_ELOCKED)
		smtp_auth_failed(s, reply);
	else {
		session_release(s);
		smtp_reply(s, "%s", reply);
	}
}
