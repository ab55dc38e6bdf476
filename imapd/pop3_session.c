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
 * The POP3 dialogue (RFC 1939) with CAPA, response codes and pipelining
 * (RFC 2449, RFC 3206), STLS (RFC 2595) and SASL PLAIN (RFC 5034, RFC
 * 4616), on the account's INBOX in the vault.
 *
 * The login lists the maildrop once (uid and size of every message),
 * numbered 1..n for the whole session.  DELE only marks a message; QUIT
 * (the UPDATE state) asks the vault to flag exactly the marked uids
 * \Deleted and to expunge exactly those, and says +OK only once the
 * vault has done so.  RETR and TOP stream the raw message from the
 * sealed memfd the vault answers with, a chunk at a time, with
 * dot-stuffing and CRLF line ends, asking for the messages of pipelined
 * RETRs in one batch (pop3_retr.c); LIST and UIDL stream the same way.
 *
 * The session runtime (common/front/session.c) carries the rest: a command
 * that waits for the vault holds the input (pipelined lines wait, in
 * order, until it is done), a failed login is answered late with
 * session_delay(), and the multi-line answers are written a chunk at a
 * time by a continuation that the runtime calls as the client reads.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "io.h"
#include "imapd.h"
#include "log.h"
#include "sasl.h"
#include "mbox_client.h"
#include "mbox_stream.h"
#include "peerfd.h"
#include "pop3_local.h"

#define POP3_CHUNK		(16 * 1024)	/* listing octets per write */
#define POP3_OUTBUF		(POP3_CHUNK + 64)

/* The states a command may be given in. */
#define ST_AUTHZ		0x01
#define ST_TRANS		0x02

struct pop3_cmd {
	const char	*name;
	int		 states;
	int		 secret;	/* the line holds a password */
	void		(*fn)(struct session *, char *);
};

static void	 pop3_greet(struct session *);
static void	 pop3_line(struct session *, char *, size_t, int);
static void	 pop3_toolong(struct session *);
static void	 pop3_timeout(struct session *);
static const char *pop3_refusal(int);
static void	 pop3_free(struct session *);
static void	 pop3_tls_ready(struct session *);

static struct pop3 *pop3_get(struct session *);
static void	 pop3_err(struct session *, const char *);
static void	 pop3_command(struct session *, char *, size_t, int);
static int	 pop3_login_allowed(struct session *);
static int	 pop3_split(char *, char **, int);
static struct pop3_msg *pop3_msgarg(struct session *, const char *,
		    uint32_t *);

static void	 pop3_cmd_capa(struct session *, char *);
static void	 pop3_cmd_quit(struct session *, char *);
static void	 pop3_cmd_stls(struct session *, char *);
static void	 pop3_cmd_user(struct session *, char *);
static void	 pop3_cmd_pass(struct session *, char *);
static void	 pop3_cmd_auth(struct session *, char *);
static void	 pop3_cmd_apop(struct session *, char *);
static void	 pop3_cmd_stat(struct session *, char *);
static void	 pop3_cmd_list(struct session *, char *);
static void	 pop3_cmd_uidl(struct session *, char *);
static void	 pop3_cmd_retr(struct session *, char *);
static void	 pop3_cmd_top(struct session *, char *);
static void	 pop3_cmd_dele(struct session *, char *);
static void	 pop3_cmd_noop(struct session *, char *);
static void	 pop3_cmd_rset(struct session *, char *);

static void	 pop3_sasl_response(struct session *, char *, size_t, int);
static void	 pop3_plain(struct session *, const char *);
static void	 pop3_login(struct session *, const char *, const char *);
static void	 pop3_auth_done(void *, struct imsg *);

static int	 pop3_pump_list(struct session *);

const struct session_proto pop3_proto = {
	.name = "pop3",
	.maxline = POP3_LINE_MAX,
	.greet = pop3_greet,
	.line = pop3_line,
	.toolong = pop3_toolong,
	.timeout = pop3_timeout,
	.refusal = pop3_refusal,
	.tls_ready = pop3_tls_ready,
	.free = pop3_free,
};

static const struct pop3_cmd pop3_cmds[] = {
	{ "CAPA", ST_AUTHZ | ST_TRANS, 0, pop3_cmd_capa },
	{ "QUIT", ST_AUTHZ | ST_TRANS, 0, pop3_cmd_quit },
	{ "STLS", ST_AUTHZ, 0, pop3_cmd_stls },
	{ "USER", ST_AUTHZ, 0, pop3_cmd_user },
	{ "PASS", ST_AUTHZ, 1, pop3_cmd_pass },
	{ "AUTH", ST_AUTHZ, 1, pop3_cmd_auth },
	{ "APOP", ST_AUTHZ, 1, pop3_cmd_apop },
	{ "STAT", ST_TRANS, 0, pop3_cmd_stat },
	{ "LIST", ST_TRANS, 0, pop3_cmd_list },
	{ "UIDL", ST_TRANS, 0, pop3_cmd_uidl },
	{ "RETR", ST_TRANS, 0, pop3_cmd_retr },
	{ "TOP", ST_TRANS, 0, pop3_cmd_top },
	{ "DELE", ST_TRANS, 0, pop3_cmd_dele },
	{ "NOOP", ST_TRANS, 0, pop3_cmd_noop },
	{ "RSET", ST_TRANS, 0, pop3_cmd_rset },
};

/*
 * The work buffer of the listings.  The process runs one thing at a
 * time and no pump keeps anything in it across calls, so one serves
 * every session.
 */
static unsigned char		 pop3_outbuf[POP3_OUTBUF];

static struct pop3 *
pop3_get(struct session *s)
{
	struct pop3	*p;

	if (s->data == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			log_warn("%s", __func__);
			return (NULL);
		}
		p->state = POP3_AUTHORIZATION;
		s->data = p;
	}
	return (s->data);
}

static void
pop3_free(struct session *s)
{
	struct pop3		*p = s->data;

	if (p == NULL)
		return;
	pop3_batch_free(p);
	if (p->update != NULL) {
		/* QUIT was given: the deletions go on without us. */
		log_info("pop3: session %u: client gone during the update",
		    s->id);
		p->update->s = NULL;
	} else if (p->vsession != 0) {
		/* No QUIT: nothing is deleted (RFC 1939 6). */
		pop3_logout(s->id, p->vsession);
	}
	free(p->msgs);
	sodium_memzero(p->user, sizeof(p->user));
	free(p);
	s->data = NULL;
}

static const char *
pop3_refusal(int why)
{
	switch (why) {
	case FRONT_TOO_MANY_ADDR:
		return ("-ERR [SYS/TEMP] Too many connections from your "
		    "address\r\n");
	case FRONT_TOO_MANY_NET:
		return ("-ERR [SYS/TEMP] Too many connections from your "
		    "network\r\n");
	default:
		return ("-ERR [SYS/TEMP] Too many connections, try again "
		    "later\r\n");
	}
}

static void
pop3_greet(struct session *s)
{
	if (pop3_get(s) == NULL) {
		session_printf(s, "-ERR [SYS/TEMP] Out of memory\r\n");
		session_close(s);
		return;
	}
	session_printf(s, "+OK Tresor POP3 ready\r\n");
}

/* STLS done: whatever was learnt in clear is forgotten (RFC 2595 4). */
static void
pop3_tls_ready(struct session *s)
{
	struct pop3	*p = s->data;

	if (p == NULL)
		return;
	p->have_user = 0;
	sodium_memzero(p->user, sizeof(p->user));
}

static void
pop3_timeout(struct session *s)
{
	struct pop3	*p = s->data;

	/* Not in the middle of a multi-line answer. */
	if (p != NULL && p->out != OUT_NONE)
		return;
	session_printf(s, "-ERR Timeout, closing connection\r\n");
}

static void
pop3_toolong(struct session *s)
{
	struct pop3	*p = s->data;

	if (p != NULL && p->state == POP3_SASL) {
		p->state = POP3_AUTHORIZATION;
		session_set_maxline(s, POP3_LINE_MAX);
	}
	pop3_err(s, "-ERR Line too long\r\n");
}

/* A bad command: answered, and counted. */
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

/* Passwords may cross only TLS, or loopback when the config says so. */
static int
pop3_login_allowed(struct session *s)
{
	return (session_is_tls(s) || s->listener.plaintext_auth);
}

static void
pop3_line(struct session *s, char *line, size_t len, int flags)
{
	struct pop3	*p;

	if ((p = pop3_get(s)) == NULL) {
		session_close(s);
		return;
	}
	pop3_command(s, line, len, flags);
}

static void
pop3_command(struct session *s, char *line, size_t len, int flags)
{
	struct pop3		*p = s->data;
	const struct pop3_cmd	*c = NULL;
	char			*arg;
	size_t			 i;
	int			 st;

	if (p->state == POP3_SASL) {
		pop3_sasl_response(s, line, len, flags);
		sodium_memzero(line, len);
		return;
	}
	if (flags & (IO_LINE_NUL | IO_LINE_BARECR)) {
		sodium_memzero(line, len);
		pop3_err(s, "-ERR Invalid characters in command\r\n");
		return;
	}
	arg = line + strcspn(line, " ");
	if (*arg != '\0')
		*arg++ = '\0';
	for (i = 0; i < nitems(pop3_cmds); i++) {
		if (strcasecmp(line, pop3_cmds[i].name) == 0) {
			c = &pop3_cmds[i];
			break;
		}
	}
	if (c == NULL) {
		sodium_memzero(line, len);
		pop3_err(s, "-ERR Unknown command\r\n");
		return;
	}
	st = p->state == POP3_TRANSACTION ? ST_TRANS : ST_AUTHZ;
	if ((c->states & st) == 0)
		pop3_err(s, "-ERR Command not valid in this state\r\n");
	else
		c->fn(s, arg);
	/* The line may have held a password: wipe it in the buffer. */
	if (c->secret)
		sodium_memzero(line, len);
}

/*
 * Split arguments at spaces, in place: the count, or -1 for more than
 * max.
 */
static int
pop3_split(char *arg, char **v, int max)
{
	int	 n = 0;

	for (;;) {
		while (*arg == ' ')
			arg++;
		if (*arg == '\0')
			return (n);
		if (n == max)
			return (-1);
		v[n++] = arg;
		arg += strcspn(arg, " ");
		if (*arg != '\0')
			*arg++ = '\0';
	}
}

/* Decimal digits only, no sign, into 64 bits. */
int
pop3_number(const char *a, uint64_t *v)
{
	uint64_t	 n = 0;

	if (*a == '\0')
		return (-1);
	for (; *a != '\0'; a++) {
		if (*a < '0' || *a > '9')
			return (-1);
		if (n > (UINT64_MAX - (uint64_t)(*a - '0')) / 10)
			return (-1);
		n = n * 10 + (uint64_t)(*a - '0');
	}
	*v = n;
	return (0);
}

/* A message number argument: the message, or NULL when answered -ERR. */
static struct pop3_msg *
pop3_msgarg(struct session *s, const char *a, uint32_t *nop)
{
	struct pop3	*p = s->data;
	uint64_t	 n;

	if (pop3_number(a, &n) == -1) {
		pop3_err(s, "-ERR Invalid message number\r\n");
		return (NULL);
	}
	if (n == 0 || n > p->nmsgs) {
		session_printf(s, "-ERR No such message\r\n");
		return (NULL);
	}
	if (p->msgs[n - 1].flags & MSG_DELE) {
		session_printf(s, "-ERR Message %llu is deleted\r\n",
		    (unsigned long long)n);
		return (NULL);
	}
	*nop = (uint32_t)n;
	return (&p->msgs[n - 1]);
}

/* End a vault session; the vault locks the account when none is left. */
void
pop3_logout(unsigned int id, uint32_t vsession)
{
	struct msg_session	 ms;

	ms.session = vsession;
	if (front_vault_compose(IMSG_VAULT_LOGOUT, 0, -1, &ms, sizeof(ms)) ==
	    -1)
		log_debug("pop3: session %u: logout not sent", id);
}

/* The vault forgot the session (it restarted): nothing more to do. */
void
pop3_vault_gone(struct session *s)
{
	struct pop3	*p = s->data;

	log_warnx("pop3: session %u: the vault session is gone", s->id);
	p->vsession = 0;
	session_printf(s, "-ERR [SYS/TEMP] The mail store is not available; "
	    "closing\r\n");
	session_close(s);
}

static void
pop3_cmd_capa(struct session *s, char *arg)
{
	struct pop3	*p = s->data;
	int		 authz = p->state != POP3_TRANSACTION;

	if (*arg != '\0') {
		pop3_err(s, "-ERR Syntax: CAPA\r\n");
		return;
	}
	session_printf(s, "+OK Capability list follows\r\n"
	    "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (authz && pop3_login_allowed(s))
		session_printf(s, "USER\r\nSASL PLAIN\r\n");
	if (authz && session_tls_available(s) && !session_is_tls(s))
		session_printf(s, "STLS\r\n");
	session_printf(s, "IMPLEMENTATION Tresor\r\n.\r\n");
}

static void
pop3_cmd_quit(struct session *s, char *arg)
{
	struct pop3		*p = s->data;

	if (*arg != '\0') {
		pop3_err(s, "-ERR Syntax: QUIT\r\n");
		return;
	}
	if (p->state == POP3_TRANSACTION && p->ndele > 0) {
		pop3_update_start(s);
		return;
	}
	if (p->vsession != 0) {
		pop3_logout(s->id, p->vsession);
		p->vsession = 0;
	}
	session_printf(s, "+OK Bye\r\n");
	session_close(s);
}

static void
pop3_cmd_stls(struct session *s, char *arg)
{
	struct pop3	*p = s->data;

	if (*arg != '\0')
		pop3_err(s, "-ERR Syntax: STLS\r\n");
	else if (session_is_tls(s))
		pop3_err(s, "-ERR TLS is already active\r\n");
	else if (!session_tls_available(s))
		session_printf(s, "-ERR TLS is not available\r\n");
	else {
		session_printf(s, "+OK Begin TLS negotiation\r\n");
		p->have_user = 0;
		/* Lines pipelined after STLS came in clear: dropped. */
		session_starttls(s);
	}
}

static void
pop3_cmd_user(struct session *s, char *arg)
{
	struct pop3	*p = s->data;
	char		*v[1];

	if (!pop3_login_allowed(s)) {
		session_printf(s, "-ERR [AUTH] TLS is required to log in: "
		    "use STLS\r\n");
		return;
	}
	if (pop3_split(arg, v, 1) != 1) {
		pop3_err(s, "-ERR Syntax: USER name\r\n");
		return;
	}
	if (strlcpy(p->user, v[0], sizeof(p->user)) >= sizeof(p->user)) {
		pop3_err(s, "-ERR User name too long\r\n");
		return;
	}
	p->have_user = 1;
	session_printf(s, "+OK Send PASS\r\n");
}

/* The password is the rest of the line: it may hold spaces. */
static void
pop3_cmd_pass(struct session *s, char *arg)
{
	struct pop3	*p = s->data;

	if (!pop3_login_allowed(s)) {
		session_printf(s, "-ERR [AUTH] TLS is required to log in: "
		    "use STLS\r\n");
		return;
	}
	if (!p->have_user) {
		pop3_err(s, "-ERR Send USER first\r\n");
		return;
	}
	if (*arg == '\0') {
		pop3_err(s, "-ERR Syntax: PASS password\r\n");
		return;
	}
	p->have_user = 0;
	pop3_login(s, p->user, arg);
}

static void
pop3_cmd_auth(struct session *s, char *arg)
{
	struct pop3	*p = s->data;
	char		*v[2];
	int		 n;

	if (!pop3_login_allowed(s)) {
		session_printf(s, "-ERR [AUTH] TLS is required to log in: "
		    "use STLS\r\n");
		return;
	}
	if ((n = pop3_split(arg, v, 2)) == -1) {
		pop3_err(s, "-ERR Syntax: AUTH mechanism [initial-response]"
		    "\r\n");
		return;
	}
	if (n == 0) {
		/* The mechanisms, as clients of RFC 1734 ask. */
		session_printf(s, "+OK\r\nPLAIN\r\n.\r\n");
		return;
	}
	if (strcasecmp(v[0], "PLAIN") != 0) {
		session_printf(s, "-ERR Unsupported mechanism\r\n");
		return;
	}
	if (n == 2) {
		/* "=" is an empty initial response (RFC 5034 4). */
		pop3_plain(s, strcmp(v[1], "=") == 0 ? "" : v[1]);
		return;
	}
	/* The response may be longer than a command (RFC 5034 4). */
	p->state = POP3_SASL;
	session_set_maxline(s, POP3_SASL_LINE_MAX);
	session_printf(s, "+ \r\n");
}

static void
pop3_cmd_apop(struct session *s, char *arg)
{
	(void)arg;
	session_printf(s, "-ERR APOP is not supported\r\n");
}

static void
pop3_sasl_response(struct session *s, char *line, size_t len, int flags)
{
	struct pop3	*p = s->data;

	(void)len;
	p->state = POP3_AUTHORIZATION;
	session_set_maxline(s, POP3_LINE_MAX);
	if (flags & (IO_LINE_NUL | IO_LINE_BARECR))
		pop3_err(s, "-ERR Invalid characters in response\r\n");
	else if (strcmp(line, "*") == 0)
		session_printf(s, "-ERR Authentication cancelled\r\n");
	else
		pop3_plain(s, line);
}

/* AUTH PLAIN's response (RFC 4616). */
static void
pop3_plain(struct session *s, const char *b64)
{
	struct sasl_plain	 sp;

	switch (sasl_plain_decode(b64, &sp)) {
	case SASL_OK:
		pop3_login(s, sp.user, sp.pass);
		break;
	case SASL_EBASE64:
		pop3_err(s, "-ERR Invalid base64\r\n");
		break;
	case SASL_EAUTHZ:
		session_printf(s, "-ERR [AUTH] Cannot act as another user\r\n");
		break;
	default:
		pop3_err(s, "-ERR Invalid PLAIN response\r\n");
		break;
	}
	sodium_memzero(&sp, sizeof(sp));
}

/* Ask the vault; the session reads nothing more until it answers. */
static void
pop3_login(struct session *s, const char *user, const char *pass)
{
	s->req = front_auth_request(user, pass, &s->client, PROTO_POP3,
	    pop3_auth_done, s);
	if (s->req == 0) {
		session_printf(s, "-ERR [SYS/TEMP] The mail store is not "
		    "available; try again later\r\n");
		return;
	}
	session_hold(s);
}

static void
pop3_auth_done(void *arg, struct imsg *imsg)
{
	struct session		*s = arg;
	struct pop3		*p = s->data;
	struct msg_auth_result	 ok;
	const char		*reply;
	int			 reason;

	s->req = 0;
	if ((reason = front_auth_answer(imsg, &ok)) == MBOX_OK) {
		p->vsession = ok.session;
		log_info("pop3: session %u: logged in", s->id);
		pop3_maildrop_open(s);
		return;
	}
	switch (reason) {
	case MBOX_EAUTH:
		p->fails++;
		reply = "-ERR [AUTH] Authentication failed\r\n";
		break;
	case MBOX_ELOCKED:
		/* Not the credentials: waiting is what helps (RFC 3206). */
		p->fails++;
		reply = "-ERR [SYS/TEMP] Too many failed logins; try again "
		    "later\r\n";
		break;
	default:
		reply = "-ERR [SYS/TEMP] The mail store is not available; "
		    "try again later\r\n";
		break;
	}
	/* A failure is answered late, and later each time. */
	if (p->fails >= POP3_AUTH_FAILS_MAX)
		log_info("pop3: session %u: too many failed logins", s->id);
	session_delay(s, p->fails * 1000, p->fails >= POP3_AUTH_FAILS_MAX,
	    "%s", reply);
}

static void
pop3_cmd_stat(struct session *s, char *arg)
{
	struct pop3	*p = s->data;

	if (*arg != '\0') {
		pop3_err(s, "-ERR Syntax: STAT\r\n");
		return;
	}
	session_printf(s, "+OK %u %llu\r\n", p->nmsgs - p->ndele,
	    (unsigned long long)p->size);
}

static void
pop3_cmd_list(struct session *s, char *arg)
{
	struct pop3	*p = s->data;
	struct pop3_msg	*m;
	char		*v[1];
	uint32_t	 n;
	int		 argc;

	if ((argc = pop3_split(arg, v, 1)) == -1) {
		pop3_err(s, "-ERR Syntax: LIST [msg]\r\n");
		return;
	}
	if (argc == 1) {
		if ((m = pop3_msgarg(s, v[0], &n)) != NULL)
			session_printf(s, "+OK %u %llu\r\n", n,
			    (unsigned long long)m->size);
		return;
	}
	session_printf(s, "+OK %u messages (%llu octets)\r\n",
	    p->nmsgs - p->ndele, (unsigned long long)p->size);
	p->out = OUT_LIST;
	p->cursor = 0;
	session_output(s, pop3_pump);
}

static void
pop3_cmd_uidl(struct session *s, char *arg)
{
	struct pop3	*p = s->data;
	struct pop3_msg	*m;
	char		*v[1];
	uint32_t	 n;
	int		 argc;

	if ((argc = pop3_split(arg, v, 1)) == -1) {
		pop3_err(s, "-ERR Syntax: UIDL [msg]\r\n");
		return;
	}
	if (argc == 1) {
		if ((m = pop3_msgarg(s, v[0], &n)) != NULL)
			session_printf(s, "+OK %u %u-%u\r\n", n,
			    p->uidvalidity, m->uid);
		return;
	}
	session_printf(s, "+OK Unique-ID listing follows\r\n");
	p->out = OUT_UIDL;
	p->cursor = 0;
	session_output(s, pop3_pump);
}

static void
pop3_cmd_retr(struct session *s, char *arg)
{
	struct pop3_msg	*m;
	char		*v[1];
	uint32_t	 n;

	if (pop3_split(arg, v, 1) != 1) {
		pop3_err(s, "-ERR Syntax: RETR msg\r\n");
		return;
	}
	if ((m = pop3_msgarg(s, v[0], &n)) != NULL)
		pop3_retr(s, m, n, 0, 0);
}

static void
pop3_cmd_top(struct session *s, char *arg)
{
	struct pop3_msg	*m;
	char		*v[2];
	uint64_t	 lines;
	uint32_t	 n;

	if (pop3_split(arg, v, 2) != 2) {
		pop3_err(s, "-ERR Syntax: TOP msg lines\r\n");
		return;
	}
	if (pop3_number(v[1], &lines) == -1) {
		pop3_err(s, "-ERR Invalid number of lines\r\n");
		return;
	}
	if ((m = pop3_msgarg(s, v[0], &n)) != NULL)
		pop3_retr(s, m, n, 1, lines);
}

static void
pop3_cmd_dele(struct session *s, char *arg)
{
	struct pop3	*p = s->data;
	struct pop3_msg	*m;
	char		*v[1];
	uint32_t	 n;

	if (pop3_split(arg, v, 1) != 1) {
		pop3_err(s, "-ERR Syntax: DELE msg\r\n");
		return;
	}
	if ((m = pop3_msgarg(s, v[0], &n)) == NULL)
		return;
	m->flags |= MSG_DELE;
	pop3_batch_forget(p, m->uid);
	p->ndele++;
	p->size -= m->size;
	session_printf(s, "+OK Message %u deleted\r\n", n);
}

static void
pop3_cmd_noop(struct session *s, char *arg)
{
	if (*arg != '\0') {
		pop3_err(s, "-ERR Syntax: NOOP\r\n");
		return;
	}
	session_printf(s, "+OK\r\n");
}

static void
pop3_cmd_rset(struct session *s, char *arg)
{
	struct pop3	*p = s->data;
	uint32_t	 i;

	if (*arg != '\0') {
		pop3_err(s, "-ERR Syntax: RSET\r\n");
		return;
	}
	for (i = 0; i < p->nmsgs; i++) {
		if (p->msgs[i].flags & MSG_DELE) {
			p->msgs[i].flags &= ~MSG_DELE;
			p->size += p->msgs[i].size;
		}
	}
	p->ndele = 0;
	session_printf(s, "+OK Maildrop has %u messages (%llu octets)\r\n",
	    p->nmsgs, (unsigned long long)p->size);
}

/*
 * The continuation of a multi-line answer (session_output()): a chunk
 * per call.  1: the answer is complete, 0: more to come, -1: the
 * session fails.
 */
int
pop3_pump(struct session *s)
{
	struct pop3	*p = s->data;

	if (p->out == OUT_BODY)
		return (pop3_pump_body(s));
	return (pop3_pump_list(s));
}

/* LIST and UIDL: a chunk of lines, the end line after the last. */
static int
pop3_pump_list(struct session *s)
{
	struct pop3	*p = s->data;
	struct pop3_msg	*m;
	size_t		 k = 0;
	int		 n, done = 0;

	while (k < POP3_CHUNK) {
		if (p->cursor == p->nmsgs) {
			memcpy(pop3_outbuf + k, ".\r\n", 3);
			k += 3;
			done = 1;
			break;
		}
		m = &p->msgs[p->cursor++];
		if (m->flags & MSG_DELE)
			continue;
		if (p->out == OUT_LIST)
			n = snprintf((char *)pop3_outbuf + k,
			    sizeof(pop3_outbuf) - k, "%u %llu\r\n", p->cursor,
			    (unsigned long long)m->size);
		else
			n = snprintf((char *)pop3_outbuf + k,
			    sizeof(pop3_outbuf) - k, "%u %u-%u\r\n", p->cursor,
			    p->uidvalidity, m->uid);
		if (n < 0 || (size_t)n >= sizeof(pop3_outbuf) - k) {
			log_warnx("%s: line too long", __func__);
			pop3_out_end(p);
			session_close(s);
			return (-1);
		}
		k += (size_t)n;
	}
	if (session_write(s, pop3_outbuf, k) == -1) {
		pop3_out_end(p);
		return (-1);
	}
	if (done)
		pop3_out_end(p);
	return (done);
}

/* A multi-line answer is over; a batch whose bodies are all sent goes. */
void
pop3_out_end(struct pop3 *p)
{
	p->out = OUT_NONE;
	if (p->batch != NULL && p->batch->left == 0)
		pop3_batch_end(p);
}

