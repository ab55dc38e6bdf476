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
 * The SMTP dialogue (RFC 5321): the session, its commands and the mail
 * transaction up to the message data.  AUTH is in smtp_auth.c, DATA,
 * BDAT and delivery into the vault in smtp_data.c, the syntax of domains
 * and paths in smtp_parse.c.
 *
 * The session runtime (common/front/session.c) does the rest: it reads the
 * input (command lines; DATA and BDAT through our input hook, see
 * smtp_set_rx()), holds it while the vault answers (the client may have
 * pipelined the rest of the transaction behind a RCPT), sends delayed
 * replies, runs STARTTLS and the timeouts, and ends the session.
 *
 * Replies always carry enhanced status codes (RFC 2034, RFC 3463).
 */

#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "io.h"
#include "log.h"
#include "smtpd.h"

/*
 * Refused recipients per client address (anonymised, as logged), over
 * a window: enumeration spread over many sessions.  A fixed table; when
 * it is full the entry whose window started first makes room.
 */
static struct smtp_refused {
	char		 addr[sizeof(((struct front_client *)0)->addr)];
	time_t		 start;
	unsigned int	 count;
} smtp_refused_tab[SMTP_REFUSED_SLOTS];

static int	 smtp_start(struct session *);
static void	 smtp_greet(struct session *);
static void	 smtp_line(struct session *, char *, size_t, int);
static void	 smtp_command(struct session *, char *, size_t, int);
static int	 smtp_input(struct session *);
static void	 smtp_toolong(struct session *);
static void	 smtp_timeout(struct session *);
static const char *smtp_refusal(int);
static void	 smtp_free(struct session *);
static void	 smtp_tls_ready(struct session *);
static size_t	 smtp_maxline(struct session *);
static void	 smtp_ehlo(struct session *, const char *, char *);
static void	 smtp_mail(struct session *, char *);
static void	 smtp_mail_owner(void *, struct imsg *);
static void	 smtp_rcpt(struct session *, char *);
static void	 smtp_rcpt_done(void *, struct imsg *);
static void	 smtp_refuse_rcpt(struct session *, const char *);
static unsigned int smtp_refused_addr(const char *);
static void	 smtp_help(struct session *);

const struct session_proto smtp_proto = {
	.name = "smtp",
	.maxline = SMTP_LINE_MAX,
	.start = smtp_start,
	.greet = smtp_greet,
	.line = smtp_line,
	.toolong = smtp_toolong,
	.timeout = smtp_timeout,
	.refusal = smtp_refusal,
	.tls_ready = smtp_tls_ready,
	.free = smtp_free,
	.input = smtp_input,
};

static const char *
smtp_refusal(int why)
{
	switch (why) {
	case FRONT_TOO_MANY_ADDR:
		return ("421 4.7.0 Too many connections from your address\r\n");
	case FRONT_TOO_MANY_NET:
		return ("421 4.7.0 Too many connections from your network\r\n");
	default:
		return ("421 4.3.2 Too many connections, try again later\r\n");
	}
}

int
smtp_submission(struct session *s)
{
	return (s->listener.proto == PROTO_SUBMISSION);
}

/*
 * Command lines are 512 octets with CRLF; AUTH lines may be longer
 * (RFC 4954 4), so a listener that offers AUTH reads up to that and
 * checks the length of other commands itself.
 */
static size_t
smtp_maxline(struct session *s)
{
	return (smtp_submission(s) ? SMTP_AUTH_LINE_MAX : SMTP_LINE_MAX);
}

/* A new connection: the runtime's, with SMTP's hooks. */
void
smtp_accept(int fd, const struct msg_listener *l,
    const struct front_client *client, int refused)
{
	session_accept(fd, l, client, refused, &smtp_proto);
}

static int
smtp_start(struct session *s)
{
	struct smtp	*sm;

	if ((sm = calloc(1, sizeof(*sm))) == NULL) {
		log_warn("%s", __func__);
		return (-1);
	}
	s->data = sm;
	sm->s = s;
	sm->msg.fd = -1;
	TAILQ_INIT(&sm->rcpts);
	session_set_maxline(s, smtp_maxline(s));
	return (0);
}

/*
 * Everything the session holds: the message, deliveries, the login.
 * (The runtime cancels the request in flight and the delayed reply.)
 */
static void
smtp_free(struct session *s)
{
	struct smtp		*sm = s->data;
	struct msg_session	 ms;

	if (sm == NULL)
		return;
	if (sm->inmail)
		smtp_txn_log(s, sm->msg.size, "aborted");
	smtp_data_free(sm);
	smtp_auth_free(sm);
	if (sm->vsession != 0) {
		memset(&ms, 0, sizeof(ms));
		ms.session = sm->vsession;
		front_vault_compose(IMSG_VAULT_LOGOUT, 0, -1, &ms, sizeof(ms));
	}
	freezero(sm, sizeof(*sm));
	s->data = NULL;
}

/*
 * DATA and BDAT: the octets as they come, not as lines (the runtime's
 * own input while smtp_set_rx() says so).  0 when more is needed.
 */
static int
smtp_input(struct session *s)
{
	struct smtp	*sm = s->data;

	if (sm->rx == SMTP_RX_BDAT)
		return (smtp_bdat_input(s));
	return (smtp_data_input(s));
}

void
smtp_set_rx(struct session *s, enum smtp_rx rx)
{
	struct smtp	*sm = s->data;

	sm->rx = rx;
	session_own_input(s, rx == SMTP_RX_DATA || rx == SMTP_RX_BDAT);
	if (rx == SMTP_RX_CMD || rx == SMTP_RX_AUTH)
		session_set_maxline(s, smtp_maxline(s));
}

static void
smtp_greet(struct session *s)
{
	smtp_reply(s, "220 %s ESMTP Tresor\r\n", front_conf()->hostname);
}

static void
smtp_timeout(struct session *s)
{
	smtp_reply(s, "421 4.4.2 %s Timeout, closing connection\r\n",
	    front_conf()->hostname);
}

static void
smtp_toolong(struct session *s)
{
	struct smtp	*sm = s->data;

	if (sm->rx == SMTP_RX_AUTH) {
		smtp_auth_toolong(s);
		return;
	}
	smtp_error(s, "500 5.5.2 Line too long\r\n");
}

void
smtp_reply(struct session *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	session_vprintf(s, fmt, ap);
	va_end(ap);
}

/* A reply to a bad command; too many of them end the session. */
void
smtp_error(struct session *s, const char *reply)
{
	smtp_reply(s, "%s", reply);
	if (++s->errors >= SMTP_MAX_ERRORS) {
		log_info("smtp: session %u: too many errors", s->id);
		smtp_reply(s, "421 4.7.0 Too many errors, closing "
		    "connection\r\n");
		session_close(s);
	}
}

/*
 * End the mail transaction: sender, recipients and message are gone.
 * why, if not NULL, is the audit result of a transaction that ends
 * without a message.
 */
void
smtp_txn_reset(struct session *s, const char *why)
{
	struct smtp	*sm = s->data;

	if (sm->inmail && why != NULL)
		smtp_txn_log(s, sm->msg.size, why);
	smtp_data_free(sm);
	sm->inmail = 0;
	sm->from[0] = '\0';
	sm->smtputf8 = 0;
	sm->id[0] = '\0';
}

/* RFC 3207 4.2: after the handshake the client starts over. */
static void
smtp_tls_ready(struct session *s)
{
	struct smtp		*sm = s->data;
	struct msg_session	 ms;

	smtp_txn_reset(s, "aborted");
	smtp_set_rx(s, SMTP_RX_CMD);
	sm->helo[0] = '\0';
	sm->esmtp = 0;
	sm->authstep = SMTP_AUTH_NONE;
	if (sm->vsession != 0) {
		memset(&ms, 0, sizeof(ms));
		ms.session = sm->vsession;
		front_vault_compose(IMSG_VAULT_LOGOUT, 0, -1, &ms, sizeof(ms));
		sm->vsession = 0;
		sm->account[0] = '\0';
	}
}

static void
smtp_ehlo(struct session *s, const char *verb, char *arg)
{
	struct smtp	*sm = s->data;
	int		 ehlo;

	ehlo = strcasecmp(verb, "EHLO") == 0;
	if (*arg == '\0') {
		smtp_error(s, ehlo ? "501 5.5.4 Syntax: EHLO hostname\r\n" :
		    "501 5.5.4 Syntax: HELO hostname\r\n");
		return;
	}
	if (!smtp_helo_valid(arg)) {
		smtp_error(s, "501 5.5.4 Invalid domain name\r\n");
		return;
	}
	/* RFC 5321 4.1.4: a new EHLO resets the transaction. */
	smtp_txn_reset(s, "aborted");
	strlcpy(sm->helo, arg, sizeof(sm->helo));
	sm->esmtp = ehlo;
	if (!ehlo) {
		smtp_reply(s, "250 %s Hello\r\n", front_conf()->hostname);
		return;
	}
	smtp_reply(s, "250-%s Hello\r\n", front_conf()->hostname);
	smtp_reply(s, "250-SIZE %zu\r\n",
	    front_conf()->limits.max_message_size);
	smtp_reply(s, "250-PIPELINING\r\n");
	smtp_reply(s, "250-8BITMIME\r\n");
	smtp_reply(s, "250-SMTPUTF8\r\n");
	smtp_reply(s, "250-CHUNKING\r\n");
	if (session_tls_available(s) && !session_is_tls(s))
		smtp_reply(s, "250-STARTTLS\r\n");
	/* Mechanisms are offered only where a password may be sent. */
	if (smtp_submission(s) && sm->vsession == 0 &&
	    (session_is_tls(s) || s->listener.plaintext_auth))
		smtp_reply(s, "250-AUTH PLAIN LOGIN\r\n");
	smtp_reply(s, "250 ENHANCEDSTATUSCODES\r\n");
}

/*
 * MAIL FROM:<reverse-path> [SP params].  On submission the sender must
 * be the account that logged in, or an address that leads to it (the
 * vault says which).
 */
static void
smtp_mail(struct session *s, char *arg)
{
	struct smtp	*sm = s->data;
	struct msg_rcpt	 m;
	const char	*errstr;
	char		 from[MSG_ADDRESS_MAX], *p, *param, *value;
	int		 utf8 = 0, seen_size = 0, seen_body = 0;
	long long	 size;

	if (sm->helo[0] == '\0') {
		smtp_error(s, "503 5.5.1 Send EHLO or HELO first\r\n");
		return;
	}
	if (sm->inmail) {
		smtp_error(s, "503 5.5.1 Sender already given\r\n");
		return;
	}
	if (smtp_submission(s) && sm->vsession == 0) {
		smtp_error(s, "530 5.7.0 Authentication required\r\n");
		return;
	}
	if (strncasecmp(arg, "FROM:", 5) != 0) {
		smtp_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
		return;
	}
	p = arg + 5;
	/* RFC 5321 has no space here, but many clients send one. */
	while (*p == ' ')
		p++;
	if (smtp_path(&p, from, sizeof(from), SMTP_PATH_NULL) == -1 ||
	    (*p != '\0' && *p != ' ')) {
		smtp_error(s, "501 5.1.7 Bad sender address syntax\r\n");
		return;
	}
	while (*p == ' ')
		p++;
	while (*p != '\0') {
		param = p;
		p += strcspn(p, " ");
		if (*p != '\0')
			*p++ = '\0';
		while (*p == ' ')
			p++;
		if ((value = strchr(param, '=')) != NULL)
			*value++ = '\0';
		if (!sm->esmtp) {
			smtp_error(s, "555 5.5.4 Parameters need EHLO\r\n");
			return;
		}
		if (strcasecmp(param, "SIZE") == 0 && value != NULL &&
		    !seen_size) {
			seen_size = 1;
			if (value[strspn(value, "0123456789")] != '\0') {
				smtp_error(s, "501 5.5.4 Bad SIZE value\r\n");
				return;
			}
			size = strtonum(value, 0, LLONG_MAX, &errstr);
			if (errstr != NULL || (unsigned long long)size >
			    front_conf()->limits.max_message_size) {
				smtp_reply(s, "552 5.3.4 Message size exceeds "
				    "fixed maximum message size\r\n");
				return;
			}
		} else if (strcasecmp(param, "BODY") == 0 && value != NULL &&
		    !seen_body) {
			seen_body = 1;
			if (strcasecmp(value, "7BIT") != 0 &&
			    strcasecmp(value, "8BITMIME") != 0) {
				smtp_error(s, "555 5.5.4 Unsupported BODY "
				    "type\r\n");
				return;
			}
		} else if (strcasecmp(param, "SMTPUTF8") == 0 &&
		    value == NULL && !utf8) {
			utf8 = 1;
		} else if (strcasecmp(param, "AUTH") == 0 && value != NULL) {
			/* RFC 4954 5: we trust no one's word for it. */
		} else {
			smtp_error(s, "555 5.5.4 Unsupported or repeated "
			    "parameter\r\n");
			return;
		}
	}
	if (!utf8 && smtp_nonascii(from)) {
		smtp_error(s, "553 5.6.7 Non-ASCII address needs "
		    "SMTPUTF8\r\n");
		return;
	}

	sm->smtputf8 = utf8;
	strlcpy(sm->pending, from, sizeof(sm->pending));
	if (!smtp_submission(s) || strcasecmp(from, sm->account) == 0) {
		smtp_mail_owner(s, NULL);
		return;
	}
	if (from[0] == '\0') {
		smtp_reply(s, "553 5.7.1 Sender address not owned by you\r\n");
		return;
	}
	memset(&m, 0, sizeof(m));
	strlcpy(m.address, from, sizeof(m.address));
	if ((s->req = front_vault_request(IMSG_VAULT_RCPT, -1, &m, sizeof(m),
	    smtp_mail_owner, s)) == 0) {
		smtp_reply(s, "451 4.3.0 Mail store not available, try again "
		    "later\r\n");
		return;
	}
	session_hold(s);
}

/*
 * The sender is accepted (imsg NULL and no request: nothing to check),
 * or the vault said where the address leads.
 */
static void
smtp_mail_owner(void *arg, struct imsg *imsg)
{
	struct session		*s = arg;
	struct smtp		*sm = s->data;
	struct msg_rcpt_result	 r;
	int			 asked;

	asked = s->req != 0;
	s->req = 0;
	if (asked) {
		session_release(s);
		if (imsg == NULL ||
		    imsg->hdr.type != IMSG_VAULT_RCPT_RESULT ||
		    imsg_get_data(imsg, &r, sizeof(r)) == -1 ||
		    !MSG_STR(r.account)) {
			smtp_reply(s, "451 4.3.0 Mail store not available, "
			    "try again later\r\n");
			return;
		}
		if (r.status == MBOX_ETEMP) {
			smtp_reply(s, "451 4.3.0 Mail store not available, "
			    "try again later\r\n");
			return;
		}
		if (r.status != MBOX_OK || r.external ||
		    strcasecmp(r.account, sm->account) != 0) {
			log_info("smtp: session %u: sender address not owned",
			    s->id);
			smtp_reply(s, "553 5.7.1 Sender address not owned by "
			    "you\r\n");
			return;
		}
	}
	strlcpy(sm->from, sm->pending, sizeof(sm->from));
	sm->inmail = 1;
	smtp_reply(s, "250 2.1.0 Sender OK\r\n");
}

/* RCPT TO:<forward-path>: the vault says whether mail may go there. */
static void
smtp_rcpt(struct session *s, char *arg)
{
	struct smtp		*sm = s->data;
	struct msg_rcpt		 m;
	const struct child_conf	*cc;
	struct child_domain	*d;
	char			 to[MSG_ADDRESS_MAX], *p;

	if (!sm->inmail) {
		smtp_error(s, "503 5.5.1 Need MAIL before RCPT\r\n");
		return;
	}
	if (sm->msg.bdat) {
		smtp_error(s, "503 5.5.1 RCPT after BDAT\r\n");
		return;
	}
	if (strncasecmp(arg, "TO:", 3) != 0) {
		smtp_error(s, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
		return;
	}
	p = arg + 3;
	while (*p == ' ')
		p++;
	if (smtp_path(&p, to, sizeof(to), SMTP_PATH_POSTMASTER) == -1) {
		smtp_error(s, "501 5.1.3 Bad recipient address syntax\r\n");
		return;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0') {
		smtp_error(s, "555 5.5.4 Unsupported parameter\r\n");
		return;
	}
	if (!sm->smtputf8 && smtp_nonascii(to)) {
		smtp_error(s, "553 5.6.7 Non-ASCII address needs "
		    "SMTPUTF8\r\n");
		return;
	}
	if (sm->nrcpts >= SMTP_MAX_RCPTS) {
		smtp_reply(s, "452 4.5.3 Too many recipients\r\n");
		return;
	}
	/* RFC 5321 4.5.1: <Postmaster> alone is ours, the first domain. */
	if (strcasecmp(to, "postmaster") == 0) {
		cc = child_conf();
		if (cc == NULL || (d = TAILQ_FIRST(&cc->domains)) == NULL ||
		    (size_t)snprintf(to, sizeof(to), "postmaster@%s",
		    d->name) >= sizeof(to)) {
			smtp_refuse_rcpt(s, "550 5.1.1 Recipient address "
			    "rejected\r\n");
			return;
		}
	}
	memset(&m, 0, sizeof(m));
	strlcpy(m.address, to, sizeof(m.address));
	strlcpy(sm->pending, to, sizeof(sm->pending));
	if ((s->req = front_vault_request(IMSG_VAULT_RCPT, -1, &m, sizeof(m),
	    smtp_rcpt_done, s)) == 0) {
		smtp_reply(s, "451 4.3.0 Mail store not available, try again "
		    "later\r\n");
		return;
	}
	session_hold(s);
}

static void
smtp_rcpt_done(void *arg, struct imsg *imsg)
{
	struct session		*s = arg;
	struct smtp		*sm = s->data;
	struct smtp_rcpt	*r;
	struct msg_rcpt_result	 res;
	int			 external, local;

	s->req = 0;
	if (imsg == NULL || imsg->hdr.type != IMSG_VAULT_RCPT_RESULT ||
	    imsg_get_data(imsg, &res, sizeof(res)) == -1 ||
	    !MSG_STR(res.account))
		res.status = MBOX_ETEMP;
	local = child_is_local_domain(smtp_domain(sm->pending));
	/* An alias to a remote address is ours to refuse, as an unknown. */
	external = res.status == MBOX_OK && res.external;

	switch (external ? MBOX_ENOTFOUND : res.status) {
	case MBOX_OK:
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			log_warn("%s", __func__);
			break;
		}
		r->s = s;
		r->result = -1;
		strlcpy(r->address, sm->pending, sizeof(r->address));
		strlcpy(r->account, res.account, sizeof(r->account));
		TAILQ_INSERT_TAIL(&sm->rcpts, r, entry);
		sm->nrcpts++;
		session_release(s);
		smtp_reply(s, "250 2.1.5 Recipient OK\r\n");
		return;
	case MBOX_ENOTFOUND:
		if (smtp_submission(s) && (external || !local)) {
			/* Honest: it is us, not the address. */
			session_release(s);
			smtp_reply(s, "451 4.4.0 Outbound delivery is not "
			    "available yet; cannot send to that address\r\n");
			return;
		}
		/*
		 * On a local domain an unknown address and one we know but
		 * will not take (an alias to a remote address, which would
		 * need relaying) get the same words after the same delay.
		 */
		if (local)
			smtp_refuse_rcpt(s, "550 5.1.1 Recipient address "
			    "rejected\r\n");
		else
			smtp_refuse_rcpt(s, "550 5.7.1 Relaying denied\r\n");
		return;
	default:
		break;
	}
	session_release(s);
	smtp_reply(s, "451 4.3.0 Mail store not available, try again "
	    "later\r\n");
}

/* Count one refused recipient for a client address; the new count. */
static unsigned int
smtp_refused_addr(const char *addr)
{
	struct smtp_refused	*e, *slot = NULL;
	time_t			 now;
	size_t			 i;

	now = time(NULL);
	for (i = 0; i < SMTP_REFUSED_SLOTS; i++) {
		e = &smtp_refused_tab[i];
		if (e->addr[0] != '\0' && strcmp(e->addr, addr) == 0) {
			slot = e;
			break;
		}
		if (slot == NULL || e->addr[0] == '\0' ||
		    (slot->addr[0] != '\0' && e->start < slot->start))
			slot = e;
	}
	if (strcmp(slot->addr, addr) != 0 ||
	    now - slot->start >= SMTP_REFUSED_WINDOW || now < slot->start) {
		strlcpy(slot->addr, addr, sizeof(slot->addr));
		slot->start = now;
		slot->count = 0;
	}
	return (++slot->count);
}

/*
 * A refused recipient: the reply comes after a fixed delay, and past a
 * few of them in the session, or more from the client's address within
 * the window, the session ends (recipient enumeration).
 */
static void
smtp_refuse_rcpt(struct session *s, const char *reply)
{
	struct smtp	*sm = s->data;
	unsigned int	 byaddr;

	byaddr = smtp_refused_addr(s->client.addr);
	if (++sm->refused > SMTP_MAX_REFUSED ||
	    byaddr > SMTP_MAX_REFUSED_ADDR) {
		log_info("smtp: session %u: too many refused recipients",
		    s->id);
		log_audit("smtp-rcpt-limit", "client=%s refused=%u "
		    "refused-by-address=%u", s->client.addr, sm->refused,
		    byaddr);
		session_delay(s, SMTP_RCPT_DELAY_MS, 1, "421 4.7.0 Too many "
		    "refused recipients, closing connection\r\n");
		return;
	}
	session_delay(s, SMTP_RCPT_DELAY_MS, 0, "%s", reply);
}

static void
smtp_help(struct session *s)
{
	smtp_reply(s, "214-2.0.0 This is Tresor; commands:\r\n"
	    "214-2.0.0   EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT\r\n"
	    "214-2.0.0   HELP VRFY STARTTLS%s\r\n"
	    "214 2.0.0 End of HELP\r\n",
	    smtp_submission(s) ? " AUTH" : "");
}

/* A line: a command, or the response AUTH waits for. */
static void
smtp_line(struct session *s, char *line, size_t len, int flags)
{
	struct smtp	*sm = s->data;

	if (sm->rx == SMTP_RX_AUTH)
		smtp_auth_line(s, line, len, flags);
	else
		smtp_command(s, line, len, flags);
}

static void
smtp_command(struct session *s, char *line, size_t len, int flags)
{
	char	*verb, *arg;

	if (flags & (IO_LINE_NUL | IO_LINE_BARECR)) {
		smtp_error(s, "500 5.5.2 Invalid characters in command\r\n");
		return;
	}
	verb = line;
	arg = line + strcspn(line, " ");
	if (*arg != '\0')
		*arg++ = '\0';
	while (*arg == ' ')
		arg++;
	if (len > SMTP_LINE_MAX && strcasecmp(verb, "AUTH") != 0) {
		smtp_toolong(s);
		return;
	}

	if (strcasecmp(verb, "EHLO") == 0 || strcasecmp(verb, "HELO") == 0) {
		smtp_ehlo(s, verb, arg);
	} else if (strcasecmp(verb, "MAIL") == 0) {
		smtp_mail(s, arg);
	} else if (strcasecmp(verb, "RCPT") == 0) {
		smtp_rcpt(s, arg);
	} else if (strcasecmp(verb, "DATA") == 0) {
		smtp_data(s, arg);
	} else if (strcasecmp(verb, "BDAT") == 0) {
		smtp_bdat(s, arg);
	} else if (strcasecmp(verb, "AUTH") == 0) {
		smtp_auth(s, arg);
		/* The line may hold a password. */
		explicit_bzero(line, len);
	} else if (strcasecmp(verb, "STARTTLS") == 0) {
		if (*arg != '\0')
			smtp_error(s, "501 5.5.4 Syntax: STARTTLS\r\n");
		else if (session_is_tls(s))
			smtp_error(s, "503 5.5.1 TLS already active\r\n");
		else if (!session_tls_available(s))
			smtp_error(s, "454 4.7.0 TLS not available\r\n");
		else {
			smtp_reply(s, "220 2.0.0 Ready to start TLS\r\n");
			session_starttls(s);
		}
	} else if (strcasecmp(verb, "RSET") == 0) {
		if (*arg != '\0')
			smtp_error(s, "501 5.5.4 Syntax: RSET\r\n");
		else {
			smtp_txn_reset(s, "aborted");
			smtp_reply(s, "250 2.0.0 Reset state\r\n");
		}
	} else if (strcasecmp(verb, "NOOP") == 0) {
		smtp_reply(s, "250 2.0.0 OK\r\n");
	} else if (strcasecmp(verb, "QUIT") == 0) {
		if (*arg != '\0')
			smtp_error(s, "501 5.5.4 Syntax: QUIT\r\n");
		else {
			smtp_reply(s, "221 2.0.0 %s closing connection\r\n",
			    front_conf()->hostname);
			session_close(s);
		}
	} else if (strcasecmp(verb, "HELP") == 0) {
		smtp_help(s);
	} else if (strcasecmp(verb, "VRFY") == 0) {
		/* RFC 5321 3.5.3: no account is confirmed or denied. */
		if (*arg == '\0')
			smtp_error(s, "501 5.5.4 Syntax: VRFY address\r\n");
		else
			smtp_reply(s, "252 2.5.2 Cannot VRFY user, but will "
			    "accept message and attempt delivery\r\n");
	} else if (strcasecmp(verb, "EXPN") == 0) {
		smtp_reply(s, "502 5.5.1 EXPN not available\r\n");
	} else
		smtp_error(s, "500 5.5.1 Command unrecognized\r\n");
}
