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
 * The IMAP connection (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1): reading
 * commands with their literals, dispatching them by state, logging in,
 * and keeping a selected mailbox in step with the vault.
 *
 * A command is assembled in one buffer from its lines and literals
 * (imap.h describes the form the parser reads).  Limits: a line of
 * IMAP_LINE_MAX octets (as long as a command: a maximal ID fits), a
 * command of IMAP_INLINE_MAX with its literals; only APPEND's message
 * may be larger, up to the message size limit, and it goes to a memfd
 * rather than the buffer.  Literals may be non-synchronising of any
 * size (LITERAL+, RFC 7888): one over these limits is refused as a
 * synchronising one would be, and its octets, which come anyway, are
 * read and discarded without being kept, up to the message size limit;
 * beyond that the session is closed (RFC 7888 section 4).  A command
 * refused while it is being assembled is still read to its end, its
 * literals discarded, so that no part of it is taken for a command.
 *
 * While a command runs, the session reads no input: pipelined commands
 * wait in the buffer, in order.  IDLE alone reads while it runs, for
 * its DONE.
 *
 * Changes made elsewhere (smtpd's deliveries, other sessions) come as
 * IMSG_MBOX_NOTIFY from the vault; a session with a mailbox selected
 * then syncs its view (imap_sync) at the next point where the protocol
 * allows untagged EXPUNGE responses, or at once in IDLE.  No polling.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <ctype.h>
#include <errno.h>
#include <event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "io.h"
#include "imap_local.h"
#include "log.h"
#include "mbox_stream.h"
#include "sasl.h"
#include "util.h"

#define CMD_NOTAUTH	0x01	/* valid before login */
#define CMD_AUTH	0x02	/* valid once logged in */
#define CMD_SELECTED	0x04	/* valid with a mailbox selected */
#define CMD_UID		0x08	/* has a UID form */
#define CMD_NOEXPUNGE	0x10	/* no EXPUNGE in its reply (non-UID) */
#define CMD_SECRET	0x20	/* its text holds a password: wipe */

/* A tag fits in what io keeps of an over-long line (imap_toolong). */
_Static_assert(IMAP_TAG_MAX < IO_LINE_HEAD, "IMAP_TAG_MAX");

struct imap_cmd_entry {
	const char	*name;
	unsigned int	 flags;
	imap_cmd_fn	 fn;
};

static TAILQ_HEAD(, imap)	 imap_sessions =
    TAILQ_HEAD_INITIALIZER(imap_sessions);

static void	 imap_greet(struct session *);
static void	 imap_line(struct session *, char *, size_t, int);
static int	 imap_spooled(struct imap *, size_t, ssize_t, size_t);
static const char *imap_spool_add(struct session *, size_t, size_t);
static int	 imap_raw(struct session *, const void *, size_t);
static void	 imap_toolong(struct session *);
static void	 imap_timeout(struct session *);
static const char *imap_refusal(int);
static void	 imap_free(struct session *);

static void	 imap_command(struct session *);
static void	 imap_end(struct session *);
static void	 imap_reject(struct session *, const char *, const char *);
static void	 imap_capability(struct session *, const char *,
		    const char *);

static void	 imap_cmd_capability(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_noop(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_logout(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_starttls(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_login(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_authenticate(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_enable(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_id(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_idle(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_cmd_compress(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_compress_go(struct session *);
static void	 imap_cmd_setquota(struct session *, struct imap_arg *,
		    size_t);
static void	 imap_auth_line(struct session *, char *, size_t, int);
static unsigned int imap_account_sessions(const char *);

const struct session_proto imap_proto = {
	.name = "imap",
	.maxline = IMAP_LINE_MAX,
	.greet = imap_greet,
	.line = imap_line,
	.toolong = imap_toolong,
	.timeout = imap_timeout,
	.refusal = imap_refusal,
	.free = imap_free,
	.raw = imap_raw,
};

/* Sorted by name for bsearch(3). */
static const struct imap_cmd_entry imap_commands[] = {
	{ "APPEND",	CMD_AUTH | CMD_SELECTED, imap_cmd_append },
	{ "AUTHENTICATE", CMD_NOTAUTH | CMD_SECRET, imap_cmd_authenticate },
	{ "CAPABILITY",	CMD_NOTAUTH | CMD_AUTH | CMD_SELECTED,
	    imap_cmd_capability },
	{ "CHECK",	CMD_SELECTED, imap_cmd_noop },
	{ "CLOSE",	CMD_SELECTED, imap_cmd_close },
	{ "COMPRESS",	CMD_AUTH | CMD_SELECTED, imap_cmd_compress },
	{ "COPY",	CMD_SELECTED | CMD_UID, imap_cmd_copy },
	{ "CREATE",	CMD_AUTH | CMD_SELECTED, imap_cmd_create },
	{ "DELETE",	CMD_AUTH | CMD_SELECTED, imap_cmd_delete },
	{ "ENABLE",	CMD_AUTH | CMD_SELECTED, imap_cmd_enable },
	{ "EXAMINE",	CMD_AUTH | CMD_SELECTED, imap_cmd_examine },
	{ "EXPUNGE",	CMD_SELECTED | CMD_UID, imap_cmd_expunge },
	{ "FETCH",	CMD_SELECTED | CMD_UID | CMD_NOEXPUNGE,
	    imap_cmd_fetch },
	{ "GETQUOTA",	CMD_AUTH | CMD_SELECTED, imap_cmd_getquota },
	{ "GETQUOTAROOT", CMD_AUTH | CMD_SELECTED, imap_cmd_getquotaroot },
	{ "ID",		CMD_NOTAUTH | CMD_AUTH | CMD_SELECTED, imap_cmd_id },
	{ "IDLE",	CMD_AUTH | CMD_SELECTED, imap_cmd_idle },
	{ "LIST",	CMD_AUTH | CMD_SELECTED, imap_cmd_list },
	{ "LOGIN",	CMD_NOTAUTH | CMD_SECRET, imap_cmd_login },
	{ "LOGOUT",	CMD_NOTAUTH | CMD_AUTH | CMD_SELECTED,
	    imap_cmd_logout },
	{ "LSUB",	CMD_AUTH | CMD_SELECTED, imap_cmd_lsub },
	{ "MOVE",	CMD_SELECTED | CMD_UID, imap_cmd_move },
	{ "NAMESPACE",	CMD_AUTH | CMD_SELECTED, imap_cmd_namespace },
	{ "NOOP",	CMD_NOTAUTH | CMD_AUTH | CMD_SELECTED, imap_cmd_noop },
	{ "RENAME",	CMD_AUTH | CMD_SELECTED, imap_cmd_rename },
	{ "SEARCH",	CMD_SELECTED | CMD_UID | CMD_NOEXPUNGE,
	    imap_cmd_search },
	{ "SELECT",	CMD_AUTH | CMD_SELECTED, imap_cmd_select },
	{ "SETQUOTA",	CMD_AUTH | CMD_SELECTED, imap_cmd_setquota },
	{ "SORT",	CMD_SELECTED | CMD_UID | CMD_NOEXPUNGE, imap_cmd_sort },
	{ "STARTTLS",	CMD_NOTAUTH, imap_cmd_starttls },
	{ "STATUS",	CMD_AUTH | CMD_SELECTED, imap_cmd_status },
	{ "STORE",	CMD_SELECTED | CMD_UID | CMD_NOEXPUNGE,
	    imap_cmd_store },
	{ "SUBSCRIBE",	CMD_AUTH | CMD_SELECTED, imap_cmd_subscribe },
	{ "THREAD",	CMD_SELECTED | CMD_UID | CMD_NOEXPUNGE,
	    imap_cmd_thread },
	{ "UNSELECT",	CMD_SELECTED, imap_cmd_unselect },
	{ "UNSUBSCRIBE", CMD_AUTH | CMD_SELECTED, imap_cmd_unsubscribe },
};

static struct imap *
imap_get(struct session *s)
{
	struct imap	*im;

	if (s->data == NULL) {
		if ((im = calloc(1, sizeof(*im))) == NULL)
			return (NULL);
		im->s = s;
		im->in.litfd = -1;
		im->in.cmd.spool = -1;
		TAILQ_INSERT_TAIL(&imap_sessions, im, entry);
		s->data = im;
	}
	return (s->data);
}

static void
imap_vault_logout(struct imap *im)
{
	struct msg_session	 ms;

	if (im->conn.vsession == 0)
		return;
	ms.session = im->conn.vsession;
	front_vault_compose(IMSG_VAULT_LOGOUT, 0, -1, &ms, sizeof(ms));
	im->conn.vsession = 0;
}

/* Forget the command being assembled or run. */
static void
imap_cmd_clear(struct imap *im, int wipe)
{
	if (im->run.args != NULL) {
		imap_args_free(im->run.args);
		im->run.args = NULL;
	}
	im->run.nargs = 0;
	if (im->in.cmd.spool != -1)
		close(im->in.cmd.spool);
	im->in.cmd.spool = -1;
	im->in.cmd.nfiles = 0;
	im->in.spoollen = 0;
	im->in.litfd = -1;		/* the spool */
	im->in.litleft = 0;
	im->in.litdiscard = 0;
	if (wipe && im->in.buf != NULL)
		sodium_memzero(im->in.buf, im->in.cap);
	im->in.len = 0;
	if (im->run.state_free != NULL)
		im->run.state_free(im->run.state_data);
	im->run.state_free = NULL;
	im->run.state_data = NULL;
	free(im->run.done_line);
	im->run.done_line = NULL;
	session_wait_output_cancel(im->s);
	im->sel.cont = NULL;
}

static void
imap_free(struct session *s)
{
	struct imap	*im = s->data;

	if (im == NULL)
		return;
	imap_cmd_clear(im, 1);
	imap_vault_logout(im);
	if (im->sel.view != NULL)
		imap_view_free(im->sel.view);
	free(im->in.buf);
	free(im->in.cmd.files);
	TAILQ_REMOVE(&imap_sessions, im, entry);
	free(im);
	s->data = NULL;
}

static const char *
imap_refusal(int why)
{
	switch (why) {
	case FRONT_TOO_MANY_ADDR:
		return ("* BYE [UNAVAILABLE] Too many connections from your "
		    "address\r\n");
	case FRONT_TOO_MANY_NET:
		return ("* BYE [UNAVAILABLE] Too many connections from your "
		    "network\r\n");
	default:
		return ("* BYE [UNAVAILABLE] Too many connections, try again "
		    "later\r\n");
	}
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
	int		 authed = im != NULL && im->conn.state != IMAP_NOTAUTH;

	session_printf(s, "%sCAPABILITY IMAP4rev1 IMAP4rev2%s%s LITERAL+ "
	    "ENABLE ID IDLE NAMESPACE UNSELECT UIDPLUS MULTIAPPEND MOVE "
	    "CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED "
	    "LIST-STATUS "
	    "ESEARCH SEARCHRES "
	    "SORT ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES "
	    "CONDSTORE QRESYNC STATUS=SIZE BINARY "
	    "UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE APPENDLIMIT=%zu%s%s",
	    prefix,
	    session_tls_available(s) && !session_is_tls(s) && !authed ?
	    " STARTTLS" : "",
	    authed ? "" : imap_login_allowed(s) ? " AUTH=PLAIN SASL-IR" :
	    " LOGINDISABLED",
	    front_conf()->limits.max_message_size,
	    authed ? " COMPRESS=DEFLATE" : "", suffix);
}

static void
imap_greet(struct session *s)
{
	if (imap_get(s) == NULL) {
		session_close(s);
		return;
	}
	/*
	 * A FETCH step may write more than the connection queues; a
	 * client that stops reading it is dropped after the idle time of
	 * a session that is not logged in (limit timeout idle): the wait
	 * must end somewhere, and the 30 minutes a logged-in session may
	 * sit idle are for clients that listen.
	 */
	session_set_overflow(s, IMAP_OVERFLOW_MAX);
	session_set_stall(s, front_conf()->limits.timeout_idle);
	imap_capability(s, "* OK [", "] Tresor IMAP ready\r\n");
}

static void
imap_timeout(struct session *s)
{
	session_printf(s, "* BYE Autologout; idle for too long\r\n");
}

/* Too many errors: the session ends. */
static void
imap_count_error(struct session *s)
{
	if (++s->errors >= IMAP_MAX_ERRORS) {
		log_info("imap: session %u: too many errors", s->id);
		imap_printf(s, "* BYE Too many invalid commands\r\n");
		session_close(s);
	}
}

/* -------------------------------------------------------------------
 * Ending the command (output and the vault are imap_io.c's).
 */

void
imap_set_state(struct session *s, void *data, void (*fn)(void *))
{
	struct imap	*im = s->data;

	if (im->run.state_free != NULL)
		im->run.state_free(im->run.state_data);
	im->run.state_data = data;
	im->run.state_free = fn;
}

/*
 * A CONDSTORE enabling command (RFC 7162 3.1).  The first one while a
 * mailbox is selected tells its HIGHESTMODSEQ before the tagged reply:
 * the client may not have kept the one SELECT sent before it used
 * CONDSTORE.
 */
void
imap_condstore_on(struct session *s)
{
	struct imap	*im = s->data;

	if (im->conn.enabled & IMAP_EN_CONDSTORE)
		return;
	im->conn.enabled |= IMAP_EN_CONDSTORE;
	if (im->sel.view != NULL)
		imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		    (unsigned long long)im->sel.view->highestmodseq);
}

/* The tagged reply, after the updates the command may carry. */
static void
imap_done_write(struct session *s)
{
	struct imap	*im = s->data;

	imap_printf(s, "%s %s\r\n", im->run.tag,
	    im->run.done_line != NULL ? im->run.done_line :
	    "NO [SERVERBUG] Out of memory");
	imap_end(s);
}

void
imap_done(struct session *s, const char *fmt, ...)
{
	struct imap	*im = s->data;
	va_list		 ap;

	free(im->run.done_line);
	va_start(ap, fmt);
	if (vasprintf(&im->run.done_line, fmt, ap) == -1)
		im->run.done_line = NULL;
	va_end(ap);
	if (im->sel.view != NULL && im->sel.dirty && !im->run.nosync)
		imap_sync(s, imap_done_write);
	else
		imap_done_write(s);
}

void
imap_bad(struct session *s, const char *text)
{
	struct imap	*im = s->data;

	log_info("imap: session %u: %s: BAD %s", s->id,
	    im->run.name[0] != '\0' ? im->run.name : "command", text);
	imap_printf(s, "%s BAD %s\r\n", im->run.tag, text);
	imap_end(s);
	imap_count_error(s);
}

void
imap_no_status(struct session *s, int status, const char *what)
{
	switch (status) {
	case MBOX_OK:
		imap_done(s, "OK %s completed", what);
		break;
	case MBOX_ENOTFOUND:
		imap_done(s, "NO [NONEXISTENT] %s: no such mailbox or "
		    "message", what);
		break;
	case MBOX_EEXISTS:
		imap_done(s, "NO [ALREADYEXISTS] %s: the mailbox exists",
		    what);
		break;
	case MBOX_EINVAL:
		imap_done(s, "NO [CANNOT] %s: not possible", what);
		break;
	case MBOX_EMODIFIED:
		imap_done(s, "NO [MODIFIED] %s: changed meanwhile", what);
		break;
	case MBOX_ELIMIT:
		imap_done(s, "NO [LIMIT] %s: over a limit", what);
		break;
	case MBOX_ESESSION:
		/* vaultd restarted: its sessions, and the keys, are gone. */
		imap_printf(s, "* BYE [UNAVAILABLE] The mail store "
		    "restarted; log in again\r\n");
		imap_done(s, "NO [UNAVAILABLE] %s: log in again", what);
		session_close(s);
		break;
	default:
		imap_done(s, "NO [UNAVAILABLE] %s: the mail store is not "
		    "available; try again later", what);
		break;
	}
}

/* -------------------------------------------------------------------
 * Reading commands.
 */

static int
imap_valid_tag(const char *tag, size_t len)
{
	size_t	 i;

	if (len == 0 || len >= IMAP_TAG_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if ((unsigned char)tag[i] <= 0x20 ||
		    (unsigned char)tag[i] >= 0x7f ||
		    strchr("(){%*\"\\+", tag[i]) != NULL)
			return (0);
	return (1);
}

/* Room for n more octets in the command buffer. */
static int
imap_buf_grow(struct imap *im, size_t n)
{
	size_t	 want;
	char	*p;

	if (n > IMAP_INLINE_MAX || im->in.len + n > IMAP_INLINE_MAX)
		return (-1);
	if (im->in.len + n <= im->in.cap)
		return (0);
	want = im->in.cap == 0 ? 1024 : im->in.cap;
	while (want < im->in.len + n)
		want *= 2;
	if (want > IMAP_INLINE_MAX)
		want = IMAP_INLINE_MAX;
	/* recallocarray(3) wipes what it frees: passwords pass here. */
	if ((p = recallocarray(im->in.buf, im->in.cap, want, 1)) == NULL)
		return (-1);
	im->in.buf = p;
	im->in.cap = want;
	return (0);
}

/*
 * A literal's announcement at the end of a line: "{n}", "{n+}",
 * "~{n}".  Returns the offset of its "{" (or "~") and fills in n and
 * whether it is non-synchronising; -1 if the line ends otherwise.
 */
static ssize_t
imap_literal_at_end(const char *line, size_t len, size_t *np, int *nonsync)
{
	size_t	 i, n = 0;

	if (len < 3 || line[len - 1] != '}')
		return (-1);
	i = len - 1;
	*nonsync = 0;
	if (line[i - 1] == '+') {
		*nonsync = 1;
		i--;
	}
	if (i == 0 || !isdigit((unsigned char)line[i - 1]))
		return (-1);
	while (i > 0 && isdigit((unsigned char)line[i - 1]))
		i--;
	if (i == 0 || line[i - 1] != '{' || len - 1 - i - *nonsync > 10)
		return (-1);
	for (; isdigit((unsigned char)line[i]); i++) {
		n = n * 10 + (line[i] - '0');
		if (n > UINT32_MAX)
			return (-1);
	}
	*np = n;
	i = len - 1 - *nonsync;
	while (isdigit((unsigned char)line[i - 1]))
		i--;
	i--;	/* the "{" */
	if (i > 0 && line[i - 1] == '~')
		i--;
	return ((ssize_t)i);
}

/*
 * Refuse the command being assembled: the tagged reply now, and the
 * rest of the command is read and dropped (im->run.name is "" then).
 */
static void
imap_reject(struct session *s, const char *tag, const char *text)
{
	struct imap	*im = s->data;

	log_info("imap: session %u: refused: %s", s->id, text);
	imap_printf(s, "%s %s\r\n", tag, text);
	im->run.name[0] = '\0';
	im->run.tag[0] = '\0';
	imap_count_error(s);
}

static void
imap_toolong(struct session *s)
{
	struct imap	*im = s->data;
	char		 tag[IMAP_TAG_MAX];
	const char	*head, *sp;
	size_t		 len;

	if (im == NULL)
		return;
	if (im->in.len > 0) {
		/* In the middle of a command: all of it goes. */
		imap_reject(s, im->run.tag[0] != '\0' ? im->run.tag : "*",
		    "BAD [TOOBIG] Line too long");
		imap_cmd_clear(im, 1);
		return;
	}
	/*
	 * The first line of a command: answer its tag if it has a valid
	 * one, so that the client is not left waiting (RFC 9051 7.1.5).
	 */
	head = session_toolong_head(s, &len);
	if ((sp = memchr(head, ' ', len)) != NULL &&
	    imap_valid_tag(head, (size_t)(sp - head))) {
		memcpy(tag, head, (size_t)(sp - head));
		tag[sp - head] = '\0';
	} else
		(void)strlcpy(tag, "*", sizeof(tag));
	imap_printf(s, "%s BAD [TOOBIG] Line too long (at most %d "
	    "octets)\r\n", tag, IMAP_LINE_MAX);
	imap_count_error(s);
}

/* Octets of a literal: into the buffer, a file, or nowhere. */
static int
imap_raw(struct session *s, const void *data, size_t len)
{
	struct imap	*im = s->data;

	if (im == NULL)
		return (-1);
	im->in.litleft -= len;
	if (im->in.litdiscard) {
		if (im->in.litleft == 0)
			im->in.litdiscard = 0;
		return (0);
	}
	if (im->in.litfd != -1) {
		if (write_all(im->in.litfd, data, len) == -1) {
			log_warn("imap: session %u: literal", s->id);
			return (-1);
		}
		if (im->in.litleft == 0)
			im->in.litfd = -1;
		return (0);
	}
	/* imap_line() made room for the whole literal. */
	memcpy(im->in.buf + im->in.len, data, len);
	im->in.len += len;
	return (0);
}

/* The first line of a command: its tag and name. */
static int
imap_first_line(struct session *s, const char *line, size_t len)
{
	struct imap	*im = s->data;
	const char	*sp, *name, *end;
	size_t		 taglen, namelen;

	if ((sp = memchr(line, ' ', len)) == NULL ||
	    !imap_valid_tag(line, (size_t)(sp - line))) {
		imap_reject(s, "*", "BAD Missing or invalid tag");
		return (-1);
	}
	taglen = (size_t)(sp - line);
	memcpy(im->run.tag, line, taglen);
	im->run.tag[taglen] = '\0';
	name = sp + 1;
	end = memchr(name, ' ', len - taglen - 1);
	namelen = end != NULL ? (size_t)(end - name) : len - taglen - 1;
	if (namelen == 0 || namelen >= sizeof(im->run.name)) {
		imap_reject(s, im->run.tag, "BAD Missing or unknown command");
		return (-1);
	}
	memcpy(im->run.name, name, namelen);
	im->run.name[namelen] = '\0';
	return (0);
}

/*
 * After a refusal, the rest of the command goes: a non-synchronising
 * literal at the end of this line is read and dropped, and so are the
 * lines that continue the command.  (A client that waits for "+" before
 * a literal has its answer and sends no more of the command.)
 */
static void
imap_refuse_rest(struct session *s, const char *line, size_t len)
{
	struct imap	*im = s->data;
	size_t		 n;
	int		 nonsync;

	imap_cmd_clear(im, 1);
	im->in.refusing = 0;
	if (imap_literal_at_end(line, len, &n, &nonsync) == -1 || !nonsync)
		return;
	if (n > front_conf()->limits.max_message_size) {
		imap_printf(s, "* BYE [TOOBIG] Literal too large\r\n");
		session_close(s);
		return;
	}
	im->in.refusing = 1;
	im->in.litdiscard = 1;
	im->in.litleft = n;
	session_raw(s, n);
}

/*
 * Whether a literal goes to the spool: APPEND's messages do, and only
 * they (RFC 3502's MULTIAPPEND sends many); a literal that is the
 * first argument, the mailbox name, stays in the buffer.  A literal of
 * no octets stays there too: it is refused as an empty message.
 */
static int
imap_spooled(struct imap *im, size_t linelen, ssize_t litoff, size_t n)
{
	size_t	 first;

	if (strcasecmp(im->run.name, "APPEND") != 0 || n == 0)
		return (0);
	/* The buffer holds this line and its CRLF only: the first line. */
	first = strlen(im->run.tag) + 1 + strlen(im->run.name) + 1;
	return (im->in.len != linelen + 2 || (size_t)litoff != first);
}

/*
 * Make room for a literal of n octets whose "{" is at off in the
 * buffer: the spool is created with the first, and the messages of
 * one command together are bounded by the message size limit.  NULL,
 * or the reply that refuses the command.
 */
static const char *
imap_spool_add(struct session *s, size_t off, size_t n)
{
	struct imap		*im = s->data;
	struct imap_cmd		*cmd = &im->in.cmd;
	struct imap_file	*f;
	size_t			 cap, limit;

	limit = front_conf()->limits.max_message_size;
	if (n > limit || im->in.spoollen > limit - n)
		return ("NO [TOOBIG] Message too large");
	if (cmd->nfiles == IMAP_FILES_MAX)
		return ("NO [LIMIT] Too many messages in one APPEND");
	if (cmd->nfiles == im->in.filescap) {
		cap = im->in.filescap == 0 ? 4 : im->in.filescap * 2;
		if (cap > IMAP_FILES_MAX)
			cap = IMAP_FILES_MAX;
		if ((f = reallocarray(cmd->files, cap, sizeof(*f))) == NULL)
			goto fail;
		cmd->files = f;
		im->in.filescap = cap;
	}
	if (cmd->spool == -1 && (cmd->spool = memfd_create("imap-append",
	    MFD_CLOEXEC)) == -1)
		goto fail;
	f = &cmd->files[cmd->nfiles++];
	f->off = off;
	f->foff = im->in.spoollen;
	f->len = n;
	im->in.spoollen += n;
	im->in.litfd = cmd->spool;
	return (NULL);
 fail:
	log_warn("imap: session %u: APPEND", s->id);
	return ("NO [SERVERBUG] Cannot take the message now");
}

static void
imap_line(struct session *s, char *line, size_t len, int flags)
{
	struct imap	*im;
	const char	*sp, *why;
	ssize_t		 litoff;
	size_t		 n;
	int		 nonsync;

	if ((im = imap_get(s)) == NULL) {
		session_close(s);
		return;
	}
	if (im->conn.authenticating) {
		im->conn.authenticating = 0;
		imap_auth_line(s, line, len, flags);
		return;
	}
	if (im->sel.idling) {
		im->sel.idling = 0;
		session_hold(s);
		if (strcasecmp(line, "DONE") == 0 &&
		    !(flags & (IO_LINE_NUL | IO_LINE_BARECR)))
			imap_done(s, "OK IDLE terminated");
		else
			imap_bad(s, "Expected DONE");
		return;
	}
	if (im->in.refusing) {
		imap_refuse_rest(s, line, len);
		return;
	}
	if (flags & (IO_LINE_NUL | IO_LINE_BARECR)) {
		/* Answer the command's tag if it has a valid one. */
		if (im->in.len == 0 && (sp = memchr(line, ' ', len)) != NULL &&
		    imap_valid_tag(line, (size_t)(sp - line))) {
			memcpy(im->run.tag, line, (size_t)(sp - line));
			im->run.tag[sp - line] = '\0';
		}
		imap_reject(s, im->run.tag[0] != '\0' ? im->run.tag : "*",
		    "BAD Invalid characters in command");
		imap_refuse_rest(s, line, len);
		return;
	}
	if (im->in.len == 0 && imap_first_line(s, line, len) == -1) {
		imap_refuse_rest(s, line, len);
		return;
	}
	if (imap_buf_grow(im, len + 2) == -1) {
		imap_reject(s, im->run.tag, "BAD [TOOBIG] Command too long");
		imap_refuse_rest(s, line, len);
		return;
	}
	memcpy(im->in.buf + im->in.len, line, len);
	im->in.len += len;

	if ((litoff = imap_literal_at_end(line, len, &n, &nonsync)) == -1) {
		imap_command(s);
		return;
	}
	memcpy(im->in.buf + im->in.len, "\r\n", 2);
	im->in.len += 2;
	if (imap_spooled(im, len, litoff, n)) {
		if ((why = imap_spool_add(s, im->in.len - 2 - len +
		    (size_t)litoff, n)) != NULL) {
			imap_reject(s, im->run.tag, why);
			imap_refuse_rest(s, line, len);
			return;
		}
	} else if (imap_buf_grow(im, n) == -1) {
		imap_reject(s, im->run.tag, "BAD [TOOBIG] Command too long");
		imap_refuse_rest(s, line, len);
		return;
	}
	if (!nonsync)
		imap_printf(s, "+ Ready for literal data\r\n");
	im->in.litleft = n;
	if (n == 0)
		im->in.litfd = -1;
	else
		session_raw(s, n);
}

/* The args of the command: the buffer after "tag name ". */
static void
imap_command(struct session *s)
{
	struct imap			*im = s->data;
	const struct imap_cmd_entry	*c = NULL;
	const char			*err;
	size_t				 i, skip, lo, hi, mid;
	unsigned int			 want;
	int				 cmp;

	im->in.litfd = -1;		/* the spool stays in im->in.cmd */
	im->run.uid = 0;
	im->run.nosync = 0;
	session_hold(s);

	skip = strlen(im->run.tag) + 1 + strlen(im->run.name);
	if (skip < im->in.len)
		skip++;		/* the space after the name */
	im->in.cmd.buf = im->in.buf + skip;
	im->in.cmd.len = im->in.len - skip;
	for (i = 0; i < im->in.cmd.nfiles; i++)
		im->in.cmd.files[i].off -= skip;

	if (strcasecmp(im->run.name, "UID") == 0) {
		im->run.uid = 1;
	}
	if (imap_parse(&im->in.cmd, &im->run.args, &im->run.nargs,
	    &err) == -1) {
		imap_bad(s, err);
		return;
	}
	if (im->run.uid) {
		if (im->run.nargs == 0 ||
		    im->run.args[0].type != IMAP_ARG_ATOM ||
		    strlen(im->run.args[0].str) >= sizeof(im->run.name)) {
			imap_bad(s, "Syntax: UID command arguments");
			return;
		}
		strlcpy(im->run.name, im->run.args[0].str,
		    sizeof(im->run.name));
	}
	for (i = 0; im->run.name[i] != '\0'; i++)
		im->run.name[i] = toupper((unsigned char)im->run.name[i]);
	lo = 0;
	hi = sizeof(imap_commands) / sizeof(imap_commands[0]);
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((cmp = strcmp(im->run.name,
		    imap_commands[mid].name)) == 0) {
			c = &imap_commands[mid];
			break;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (c == NULL || (im->run.uid && !(c->flags & CMD_UID))) {
		imap_bad(s, "Unknown command");
		return;
	}
	want = im->conn.state == IMAP_NOTAUTH ? CMD_NOTAUTH :
	    im->conn.state == IMAP_AUTH ? CMD_AUTH : CMD_SELECTED;
	if (!(c->flags & want)) {
		imap_bad(s, im->conn.state == IMAP_NOTAUTH ? "Log in first" :
		    im->conn.state == IMAP_AUTH && (c->flags & CMD_SELECTED) ?
		    "Select a mailbox first" : "Not valid in this state");
		return;
	}
	if ((c->flags & CMD_NOEXPUNGE) && !im->run.uid)
		im->run.nosync = 1;
	if (im->run.uid)
		c->fn(s, im->run.args + 1, im->run.nargs - 1);
	else
		c->fn(s, im->run.args, im->run.nargs);
	if (c->flags & CMD_SECRET && im->in.buf != NULL)
		sodium_memzero(im->in.buf, im->in.cap);
}

/* The command is over: read the next. */
static void
imap_end(struct session *s)
{
	struct imap	*im = s->data;

	imap_cmd_clear(im, 0);
	im->sel.idling = 0;
	im->run.name[0] = '\0';
	im->run.tag[0] = '\0';
	if (!s->delayed)
		session_release(s);
}

/* -------------------------------------------------------------------
 * Commands of any state.
 */

static int
imap_noargs(struct session *s, size_t nargs)
{
	if (nargs != 0) {
		imap_bad(s, "Unexpected arguments");
		return (0);
	}
	return (1);
}

static void
imap_cmd_capability(struct session *s, struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (!imap_noargs(s, nargs))
		return;
	imap_capability(s, "* ", "\r\n");
	imap_done(s, "OK CAPABILITY completed");
}

static void
imap_cmd_noop(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap	*im = s->data;

	(void)args;
	if (!imap_noargs(s, nargs))
		return;
	imap_done(s, "OK %s completed", im->run.name);
}

static void
imap_cmd_logout(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap	*im = s->data;

	(void)args;
	if (!imap_noargs(s, nargs))
		return;
	imap_printf(s, "* BYE Logging out\r\n");
	imap_printf(s, "%s OK LOGOUT completed\r\n", im->run.tag);
	imap_vault_logout(im);
	imap_end(s);
	session_close(s);
}

static void
imap_cmd_starttls(struct session *s, struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (!imap_noargs(s, nargs))
		return;
	if (session_is_tls(s)) {
		imap_bad(s, "TLS is already active");
		return;
	}
	if (!session_tls_available(s)) {
		imap_done(s, "NO TLS is not available");
		return;
	}
	imap_done(s, "OK Begin TLS negotiation now");
	session_starttls(s);
}

static void
imap_cmd_setquota(struct session *s, struct imap_arg *args, size_t nargs)
{
	(void)args;
	(void)nargs;
	imap_done(s, "NO [NOPERM] Quotas are set by the administrator");
}

/* ENABLE (RFC 5161): what is not known is left out of ENABLED. */
static void
imap_cmd_enable(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap	*im = s->data;
	unsigned int	 add, done = 0;
	size_t		 i;
	char		 line[128] = "* ENABLED";

	if (nargs == 0) {
		imap_bad(s, "Syntax: ENABLE capability ...");
		return;
	}
	for (i = 0; i < nargs; i++) {
		if (args[i].type != IMAP_ARG_ATOM) {
			imap_bad(s, "Syntax: ENABLE capability ...");
			return;
		}
	}
	for (i = 0; i < nargs; i++) {
		if (imap_arg_is(&args[i], "IMAP4rev2"))
			add = IMAP_EN_REV2;
		else if (imap_arg_is(&args[i], "CONDSTORE"))
			add = IMAP_EN_CONDSTORE;
		else if (imap_arg_is(&args[i], "QRESYNC"))
			add = IMAP_EN_QRESYNC | IMAP_EN_CONDSTORE;
		else if (imap_arg_is(&args[i], "UTF8=ACCEPT"))
			add = IMAP_EN_UTF8;
		else
			continue;
		if ((im->conn.enabled & add) == add || (done & add) == add)
			continue;
		done |= add;
		strlcat(line, " ", sizeof(line));
		strlcat(line, add == IMAP_EN_REV2 ? "IMAP4rev2" :
		    add == IMAP_EN_CONDSTORE ? "CONDSTORE" :
		    add == IMAP_EN_UTF8 ? "UTF8=ACCEPT" : "QRESYNC",
		    sizeof(line));
	}
	im->conn.enabled |= done & ~IMAP_EN_CONDSTORE;
	imap_printf(s, "%s\r\n", line);
	if (done & IMAP_EN_CONDSTORE)
		imap_condstore_on(s);
	imap_done(s, "OK ENABLE completed");
}

/* ID (RFC 2971): the client's list is checked, not kept. */
static void
imap_cmd_id(struct session *s, struct imap_arg *args, size_t nargs)
{
	size_t	 i;

	if (nargs != 1 || (args[0].type != IMAP_ARG_NIL &&
	    args[0].type != IMAP_ARG_LIST)) {
		imap_bad(s, "Syntax: ID (field value ...) or ID NIL");
		return;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		if (args[0].nlist % 2 != 0 || args[0].nlist > 60) {
			imap_bad(s, "ID takes at most 30 field-value pairs");
			return;
		}
		for (i = 0; i < args[0].nlist; i++) {
			if (imap_arg_string(&args[0].list[i]) == NULL &&
			    (i % 2 == 0 ||
			    args[0].list[i].type != IMAP_ARG_NIL)) {
				imap_bad(s, "ID fields are strings");
				return;
			}
		}
	}
	imap_printf(s, "* ID (\"name\" \"Tresor\" \"vendor\" "
	    "\"Tresor\")\r\n");
	imap_done(s, "OK ID completed");
}

/* IDLE (RFC 2177): updates as they come, until DONE. */
static void
imap_idle_start(struct session *s)
{
	struct imap	*im = s->data;

	imap_printf(s, "+ idling\r\n");
	im->sel.idling = 1;
	/* The command goes on; only its DONE is read. */
	session_release(s);
}

static void
imap_cmd_idle(struct session *s, struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (!imap_noargs(s, nargs))
		return;
	imap_sync(s, imap_idle_start);
}

/*
 * COMPRESS (RFC 4978).  The tagged OK goes out as it is, and all after
 * it is DEFLATE both ways (inside TLS when TLS is on: STARTTLS comes
 * before login, COMPRESS after).
 */
static void
imap_cmd_compress(struct session *s, struct imap_arg *args, size_t nargs)
{
	if (nargs != 1 || args[0].type != IMAP_ARG_ATOM) {
		imap_bad(s, "Syntax: COMPRESS DEFLATE");
		return;
	}
	if (!imap_arg_is(&args[0], "DEFLATE")) {
		imap_bad(s, "Unknown compression mechanism");
		return;
	}
	if (session_is_compressed(s)) {
		imap_done(s, "NO [COMPRESSIONACTIVE] DEFLATE is already "
		    "active");
		return;
	}
	imap_compress_go(s);
}

/*
 * Not imap_done(): a sync would send updates after the OK, and they
 * must come before it or be compressed.  Output waiting for the client
 * (a large FETCH) goes first, uncompressed, as it was written.
 */
static void
imap_compress_go(struct session *s)
{
	struct imap	*im = s->data;

	if (!session_wait_output(s, imap_compress_go))
		return;
	imap_printf(s, "%s OK DEFLATE active\r\n", im->run.tag);
	if (session_compress(s) == -1) {
		/* The client compresses now: nothing more can be said. */
		session_close(s);
		return;
	}
	imap_end(s);
}

/* -------------------------------------------------------------------
 * Logging in.
 */

/* Logged-in sessions of an account, in this process (all of IMAP). */
static unsigned int
imap_account_sessions(const char *account)
{
	struct imap	*im;
	unsigned int	 n = 0;

	TAILQ_FOREACH(im, &imap_sessions, entry)
		if (im->conn.state != IMAP_NOTAUTH &&
		    strcmp(im->conn.account, account) == 0)
			n++;
	return (n);
}

static void
imap_auth_done(void *arg, struct imsg *imsg)
{
	struct session		*s = arg;
	struct imap		*im = s->data;
	struct msg_auth_result	 ok;
	const struct msg_front	*conf = front_conf();
	const char		*text;
	char			 prefix[IMAP_TAG_MAX + 8];
	unsigned int		 idle;
	int			 reason, bye;

	s->req = 0;
	if ((reason = front_auth_answer(imsg, &ok)) == MBOX_OK &&
	    imap_account_sessions(ok.account) >= IMAP_ACCOUNT_SESSIONS) {
		/* Not a failed login: the credential was right. */
		log_info("imap: session %u: too many sessions for the account",
		    s->id);
		im->conn.vsession = ok.session;
		imap_vault_logout(im);
		imap_done(s, "NO [LIMIT] Too many sessions for this account; "
		    "log out of another first");
		return;
	}
	if (reason == 0) {
		im->conn.state = IMAP_AUTH;
		im->conn.vsession = ok.session;
		strlcpy(im->conn.account, ok.account, sizeof(im->conn.account));
		log_info("imap: session %u: logged in", s->id);
		/*
		 * RFC 9051 5.4: at least 30 minutes idle once logged in.
		 * Mail clients stay connected for days: the session limit
		 * bounds only what comes before the login.
		 */
		idle = conf->limits.timeout_idle;
		if (idle < IMAP_IDLE_TIMEOUT)
			idle = IMAP_IDLE_TIMEOUT;
		session_set_timeouts(s, idle, 0);
		snprintf(prefix, sizeof(prefix), "%s OK [", im->run.tag);
		imap_capability(s, prefix, "] Logged in\r\n");
		imap_end(s);
		return;
	}
	switch (reason) {
	case MBOX_EAUTH:
		im->conn.fails++;
		text = "NO [AUTHENTICATIONFAILED] Authentication failed";
		break;
	case MBOX_ELOCKED:
		im->conn.fails++;
		text = "NO [UNAVAILABLE] Too many failed logins; try again "
		    "later";
		break;
	default:
		text = "NO [UNAVAILABLE] The mail store is not available; "
		    "try again later";
		break;
	}
	/* A failure is answered late, and later each time. */
	bye = im->conn.fails >= IMAP_AUTH_FAILS_MAX;
	session_delay(s, im->conn.fails * 1000, bye, "%s %s\r\n%s",
	    im->run.tag, text, bye ? "* BYE Too many failed logins\r\n" : "");
	imap_end(s);
}

/* Ask the vault; the session reads nothing more until it answers. */
static void
imap_login(struct session *s, const char *user, const char *pass)
{
	if (!imap_login_allowed(s)) {
		imap_done(s, "NO [PRIVACYREQUIRED] Use TLS to log in");
		return;
	}
	s->req = front_auth_request(user, pass, &s->client, PROTO_IMAP,
	    imap_auth_done, s);
	if (s->req == 0)
		imap_done(s, "NO [UNAVAILABLE] The mail store is not "
		    "available; try again later");
}

static void
imap_cmd_login(struct session *s, struct imap_arg *args, size_t nargs)
{
	const char	*user, *pass;

	if (nargs != 2 || (user = imap_arg_astring(&args[0])) == NULL ||
	    (pass = imap_arg_astring(&args[1])) == NULL) {
		imap_bad(s, "Syntax: LOGIN user password");
		return;
	}
	imap_login(s, user, pass);
}

/* AUTHENTICATE PLAIN's response (RFC 4616). */
static void
imap_plain(struct session *s, const char *b64)
{
	struct sasl_plain	 sp;

	if (strcmp(b64, "*") == 0) {
		imap_bad(s, "Authentication cancelled");
		return;
	}
	switch (sasl_plain_decode(b64, &sp)) {
	case SASL_OK:
		imap_login(s, sp.user, sp.pass);
		break;
	case SASL_EBASE64:
		imap_bad(s, "Invalid base64");
		break;
	case SASL_EAUTHZ:
		imap_done(s, "NO [AUTHORIZATIONFAILED] Cannot act as another "
		    "user");
		break;
	default:
		imap_bad(s, "Invalid PLAIN response");
		break;
	}
	sodium_memzero(&sp, sizeof(sp));
}

static void
imap_cmd_authenticate(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap	*im = s->data;
	const char	*ir;

	if (nargs < 1 || nargs > 2 || args[0].type != IMAP_ARG_ATOM) {
		imap_bad(s, "Syntax: AUTHENTICATE mechanism [response]");
		return;
	}
	if (!imap_arg_is(&args[0], "PLAIN")) {
		imap_done(s, "NO Unsupported mechanism");
		return;
	}
	if (!imap_login_allowed(s)) {
		imap_done(s, "NO [PRIVACYREQUIRED] Use TLS to log in");
		return;
	}
	if (nargs == 2) {
		/* SASL-IR (RFC 4959); "=" is an empty response. */
		if ((ir = imap_arg_string(&args[1])) == NULL) {
			imap_bad(s, "Invalid initial response");
			return;
		}
		imap_plain(s, strcmp(ir, "=") == 0 ? "" : ir);
		return;
	}
	im->conn.authenticating = 1;
	imap_printf(s, "+ \r\n");
	/* Read the response line; the command goes on. */
	session_release(s);
}

/* The AUTHENTICATE response, as a line. */
static void
imap_auth_line(struct session *s, char *line, size_t len, int flags)
{
	if (flags & (IO_LINE_NUL | IO_LINE_BARECR))
		imap_bad(s, "Invalid characters in response");
	else {
		session_hold(s);
		imap_plain(s, line);
	}
	sodium_memzero(line, len);
}

/* -------------------------------------------------------------------
 * News from the vault.
 */

/* The vault says an account changed: each of its sessions' views. */
void
imap_notify(uint32_t vsession)
{
	struct imap	*im;

	TAILQ_FOREACH(im, &imap_sessions, entry)
		if (im->conn.vsession == vsession)
			imap_view_notify(im->s);
}

/*
 * The channel to vaultd is gone: vaultd restarted, its sessions and the
 * account keys with it.  A logged-in session cannot go on (a client in
 * IDLE would otherwise wait for news that never comes): it is told and
 * closed, to log in again.
 */
void
imap_vault_lost(void)
{
	struct imap	*im;

	TAILQ_FOREACH(im, &imap_sessions, entry) {
		if (im->conn.vsession == 0)
			continue;
		im->conn.vsession = 0;
		log_info("imap: session %u: the vault session is gone",
		    im->s->id);
		imap_printf(im->s, "* BYE [UNAVAILABLE] The mail store "
		    "restarted; log in again\r\n");
		session_close(im->s);
	}
}
