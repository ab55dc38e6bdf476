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
 * The message: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030), held in a
 * memfd (never a file on disk) under our Received header, then handed
 * to the vault once per recipient account.
 *
 * DATA is strict, against SMTP smuggling: text lines end in CRLF, and
 * the data ends only at CRLF "." CRLF.  A bare LF or bare CR anywhere,
 * a "." line that ends in LF or follows a line that did, a NUL, or a
 * line longer than limit line-length does not end the data: the data
 * is read to its real end and the message refused then.
 *
 * Long lines: RFC 5321 4.5.3.1.6 makes 1000 octets (with the CRLF) the
 * least a server must take, and 4.5.3.1 asks for no limit where one
 * can be avoided.  Real mail has longer lines (HTML newsletters), and
 * we are its final destination, so lines up to limit line-length (64
 * KiB by default) are taken and stored as they came: a DKIM signature
 * over them still verifies.  A DATA line is held whole in the input
 * buffer until its LF, so the bound is also what one line may cost.
 * BDAT lines get the same bound, counted across chunks, so that BDAT
 * is no way around it.
 *
 * The one reply after the data says what the vault did for every
 * recipient.  SMTP has a single reply for all of them (LMTP would have
 * one each), so: 250 only when every recipient's copy is durable; 554
 * only when every one was refused for good; 451 otherwise.  On a 451
 * the client sends again to all: those already served get a duplicate
 * (better than a loss), and one refused for good is refused at RCPT
 * then, on its own.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bundle.h"
#include "io.h"
#include "log.h"
#include "mime.h"
#include "smtpd.h"
#include "util.h"

#define SMTP_MSGBUF		(64 * 1024)	/* written to the memfd */
#define SMTP_FROM_MAX		2048		/* an unfolded From: */

/* smtp_data_input() holds one whole line in the input buffer. */
_Static_assert(CONF_LINE_LENGTH_MAX <= IO_IN_MAX,
    "limit line-length must fit in the input buffer");

static int	 smtp_msg_open(struct session *);
static void	 smtp_msg_write(struct smtp_msg *, const void *, size_t);
static int	 smtp_msg_flush(struct smtp_msg *);
static size_t	 smtp_received(struct session *, char *, size_t);
static size_t	 smtp_line_max(void);
static void	 smtp_line_long(struct session *, size_t);
static void	 smtp_bdat_lines(struct session *, const char *, size_t);
static const char *smtp_refusal_reply(int, char *, size_t, const char **);
static void	 smtp_msg_end(struct session *);
static void	 smtp_headers(const char *, size_t, unsigned int *, char *,
		    size_t, int *);
static int	 smtp_from_addr(const char *, char *, size_t);
static void	 smtp_from_owner(void *, struct imsg *);
static void	 smtp_deliver(struct session *);
static void	 smtp_deliver_done(void *, struct imsg *);
static void	 smtp_deliver_reply(struct session *);
static void	 smtp_bdat_end(struct session *);

/* DATA */
void
smtp_data(struct session *s, char *arg)
{
	struct smtp	*sm = s->data;

	if (*arg != '\0') {
		smtp_error(s, "501 5.5.4 Syntax: DATA\r\n");
		return;
	}
	if (!sm->inmail) {
		smtp_error(s, "503 5.5.1 Need MAIL command\r\n");
		return;
	}
	if (sm->msg.bdat) {
		smtp_error(s, "503 5.5.1 DATA after BDAT\r\n");
		return;
	}
	if (sm->nrcpts == 0) {
		smtp_error(s, "554 5.5.1 No valid recipients\r\n");
		return;
	}
	if (smtp_msg_open(s) == -1) {
		smtp_reply(s, "451 4.3.0 Cannot take the message now, try "
		    "again later\r\n");
		return;
	}
	smtp_set_rx(s, SMTP_RX_DATA);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

/*
 * A new message: an id, a memfd, and our Received header first
 * (RFC 5321 4.4).
 */
static int
smtp_msg_open(struct session *s)
{
	struct smtp	*sm = s->data;
	struct smtp_msg	*m = &sm->msg;
	unsigned char	 rnd[SMTP_ID_LEN / 2];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(sm->id, sizeof(sm->id), rnd, sizeof(rnd));
	m->size = 0;
	m->bad = 0;
	m->prevbare = 0;
	m->inlong = 0;
	m->scanned = 0;
	m->linelen = 0;
	if ((m->buf = malloc(SMTP_MSGBUF)) == NULL) {
		log_warn("%s", __func__);
		return (-1);
	}
	if ((m->fd = memfd_create("smtp-message", MFD_CLOEXEC)) == -1) {
		log_warn("%s: memfd_create", __func__);
		smtp_msg_free(m);
		return (-1);
	}
	m->hdrlen = m->buflen = smtp_received(s, m->buf, SMTP_MSGBUF);
	return (0);
}

static size_t
smtp_received(struct session *s, char *buf, size_t size)
{
	struct smtp	*sm = s->data;
	struct tm	 tm;
	time_t		 now;
	const char	*version, *cipher;
	char		 proto[16], date[64], tls[256];
	char		 rcpt[MSG_ADDRESS_MAX + 16];
	int		 n;

	now = time(NULL);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm) == 0)
		strlcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", sizeof(date));

	/* RFC 3848 and RFC 6531 4.3: how the message came. */
	if (!sm->esmtp)
		strlcpy(proto, "SMTP", sizeof(proto));
	else
		snprintf(proto, sizeof(proto), "%s%s%s",
		    sm->smtputf8 ? "UTF8SMTP" : "ESMTP",
		    session_is_tls(s) ? "S" : "", sm->vsession != 0 ? "A" : "");

	tls[0] = '\0';
	if (session_is_tls(s) && (version = session_tls_version(s)) != NULL &&
	    (cipher = session_tls_cipher(s)) != NULL)
		snprintf(tls, sizeof(tls), "\r\n\t(using %s with cipher %s)",
		    version, cipher);

	/* One recipient only: never show one to the others. */
	rcpt[0] = '\0';
	if (sm->nrcpts == 1)
		snprintf(rcpt, sizeof(rcpt), "\r\n\tfor <%s>",
		    TAILQ_FIRST(&sm->rcpts)->address);

	n = snprintf(buf, size, "Received: from %s (%s)\r\n"
	    "\tby %s (Tresor) with %s id %s%s%s;\r\n\t%s\r\n",
	    sm->helo, s->client.addr, front_conf()->hostname, proto, sm->id,
	    tls, rcpt, date);
	if (n < 0 || (size_t)n >= size)
		return (0);
	return ((size_t)n);
}

/* Append to the message; errors stick in m->bad. */
static void
smtp_msg_write(struct smtp_msg *m, const void *data, size_t len)
{
	if (m->bad != 0 || m->fd == -1)
		return;
	if (len > SMTP_MSGBUF - m->buflen && smtp_msg_flush(m) == -1)
		return;
	if (len >= SMTP_MSGBUF) {
		if (write_all(m->fd, data, len) == -1) {
			log_warn("%s: message memfd", __func__);
			m->bad |= SMTP_BAD_IO;
		}
		return;
	}
	memcpy(m->buf + m->buflen, data, len);
	m->buflen += len;
}

static int
smtp_msg_flush(struct smtp_msg *m)
{
	if (m->buflen == 0)
		return (0);
	if (write_all(m->fd, m->buf, m->buflen) == -1) {
		log_warn("%s: message memfd", __func__);
		m->bad |= SMTP_BAD_IO;
		return (-1);
	}
	/* The buffer held mail: wipe it as it is reused. */
	explicit_bzero(m->buf, m->buflen);
	m->buflen = 0;
	return (0);
}

void
smtp_msg_free(struct smtp_msg *m)
{
	if (m->map != NULL && m->maplen > 0)
		munmap(m->map, m->maplen);
	if (m->fd != -1)
		close(m->fd);
	freezero(m->buf, m->buf != NULL ? SMTP_MSGBUF : 0);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

/* The transaction's recipients and message, and deliveries in flight. */
void
smtp_data_free(struct smtp *sm)
{
	struct smtp_rcpt	*r;

	while ((r = TAILQ_FIRST(&sm->rcpts)) != NULL) {
		TAILQ_REMOVE(&sm->rcpts, r, entry);
		if (r->req != 0)
			front_vault_cancel(r->req);
		free(r);
	}
	sm->nrcpts = 0;
	sm->ndeliver = 0;
	smtp_msg_free(&sm->msg);
}

/*
 * The longest text line taken, in octets with its line end: limit
 * line-length, kept where the input buffer can hold it whatever ctld
 * sent.
 */
static size_t
smtp_line_max(void)
{
	size_t	 max = front_conf()->limits.max_line_length;

	if (max < CONF_LINE_LENGTH_MIN)
		return (CONF_LINE_LENGTH_MIN);
	if (max > CONF_LINE_LENGTH_MAX)
		return (CONF_LINE_LENGTH_MAX);
	return (max);
}

/* A line over the bound: the message will be refused; said once. */
static void
smtp_line_long(struct session *s, size_t linemax)
{
	struct smtp	*sm = s->data;

	if (!(sm->msg.bad & SMTP_BAD_LONG))
		log_info("smtp: session %u: text line over %zu octets",
		    s->id, linemax);
	sm->msg.bad |= SMTP_BAD_LONG;
}

/*
 * DATA input: one line, taken straight from the input buffer so that
 * its exact end (CRLF, bare LF, over-long) is known.  0 when more input
 * is needed.
 */
int
smtp_data_input(struct session *s)
{
	struct smtp	*sm = s->data;
	struct smtp_msg	*m = &sm->msg;
	const char	*buf, *lf, *p;
	size_t		 n, len, clen, max, linemax;
	int		 crlf;

	if ((n = session_datalen(s)) == 0)
		return (0);
	buf = session_data(s);
	max = front_conf()->limits.max_message_size;
	linemax = smtp_line_max();

	/* What was searched before, while the line came, is not again. */
	if (m->scanned > n)
		m->scanned = 0;
	if ((lf = memchr(buf + m->scanned, '\n', n - m->scanned)) == NULL) {
		/*
		 * No end of line yet.  At linemax octets without its LF
		 * the line is too long whatever comes: drop what is there
		 * and remember whether it ended in CR, for when the LF
		 * comes.  Shorter, it waits in the input buffer.
		 */
		if (m->inlong || n >= linemax) {
			smtp_line_long(s, linemax);
			m->inlong = 1;
			m->size += n;
			m->lastcr = buf[n - 1] == '\r';
			m->scanned = 0;
			session_drop(s, n);
		} else
			m->scanned = n;
		return (0);
	}
	m->scanned = 0;
	len = lf - buf;
	if (m->inlong) {
		crlf = len > 0 ? buf[len - 1] == '\r' : m->lastcr;
		m->inlong = 0;
		m->size += len + 1;
		if (!crlf)
			m->bad |= SMTP_BAD_BARE;
		m->prevbare = !crlf;
		session_drop(s, len + 1);
		return (1);
	}
	crlf = len > 0 && buf[len - 1] == '\r';
	clen = crlf ? len - 1 : len;

	/* The end: "." CRLF right after a CRLF, and nothing else. */
	if (crlf && clen == 1 && buf[0] == '.' && !m->prevbare) {
		session_drop(s, len + 1);
		smtp_set_rx(s, SMTP_RX_CMD);
		smtp_msg_end(s);
		return (1);
	}

	if (!crlf || memchr(buf, '\r', clen) != NULL) {
		if (!(m->bad & SMTP_BAD_BARE))
			log_info("smtp: session %u: bare CR or LF in DATA",
			    s->id);
		m->bad |= SMTP_BAD_BARE;
	}
	if (memchr(buf, '\0', clen) != NULL)
		m->bad |= SMTP_BAD_NUL;
	/* As sent: dot-stuffing and the line end count. */
	if (len + 1 > linemax)
		smtp_line_long(s, linemax);
	m->prevbare = !crlf;

	/* Dot-stuffing undone (RFC 5321 4.5.2). */
	p = buf;
	if (clen > 0 && buf[0] == '.') {
		p++;
		clen--;
	}
	m->size += clen + 2;
	if (m->size > max && !(m->bad & SMTP_BAD_SIZE)) {
		log_info("smtp: session %u: message over %zu octets", s->id,
		    max);
		m->bad |= SMTP_BAD_SIZE;
	}
	smtp_msg_write(m, p, clen);
	smtp_msg_write(m, "\r\n", 2);
	session_drop(s, len + 1);
	return (1);
}

/*
 * BDAT chunk-size [LAST].  The chunk follows at once, whatever the
 * reply will be: it is always read, and thrown away when the command
 * fails.  A command that cannot be parsed leaves the octets that
 * follow without meaning, so the session ends.
 */
void
smtp_bdat(struct session *s, char *arg)
{
	struct smtp	*sm = s->data;
	struct smtp_msg	*m = &sm->msg;
	const char	*errstr;
	char		*size, *last;
	long long	 n;
	size_t		 max;

	size = arg;
	last = arg + strcspn(arg, " ");
	if (*last != '\0')
		*last++ = '\0';
	n = -1;
	if (*size != '\0' && size[strspn(size, "0123456789")] == '\0' &&
	    strlen(size) <= 18)
		n = strtonum(size, 0, LLONG_MAX, &errstr);
	if (n == -1 || (*last != '\0' && strcasecmp(last, "LAST") != 0)) {
		log_info("smtp: session %u: bad BDAT command", s->id);
		smtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]; closing "
		    "connection\r\n");
		session_close(s);
		return;
	}
	max = front_conf()->limits.max_message_size;
	if (!sm->inmail || sm->nrcpts == 0)
		m->bad |= SMTP_BAD_NOTXN;
	else if (!m->bdat) {
		if (smtp_msg_open(s) == -1)
			m->bad |= SMTP_BAD_IO;
		m->bdat = 1;
	}
	m->chunk = m->left = (uint64_t)n;
	m->last = *last != '\0';
	if (!(m->bad & SMTP_BAD_NOTXN) && (uint64_t)n > max - m->size &&
	    !(m->bad & SMTP_BAD_SIZE)) {
		log_info("smtp: session %u: message over %zu octets", s->id,
		    max);
		m->bad |= SMTP_BAD_SIZE;
	}
	smtp_set_rx(s, SMTP_RX_BDAT);
}

/* BDAT input: the chunk's octets as they are.  0 when more is needed. */
int
smtp_bdat_input(struct session *s)
{
	struct smtp	*sm = s->data;
	struct smtp_msg	*m = &sm->msg;
	size_t		 n;

	if (m->left > 0) {
		if ((n = session_datalen(s)) == 0)
			return (0);
		if (n > m->left)
			n = m->left;
		if (!(m->bad & SMTP_BAD_NOTXN)) {
			m->size += n;
			smtp_bdat_lines(s, session_data(s), n);
		}
		smtp_msg_write(m, session_data(s), n);
		session_drop(s, n);
		m->left -= n;
		if (m->left > 0)
			return (0);
	}
	smtp_set_rx(s, SMTP_RX_CMD);
	smtp_bdat_end(s);
	return (1);
}

/*
 * BDAT has no line syntax (no dot-stuffing; a bare CR or LF is the
 * client's business), but its text lines get DATA's bound: octets up
 * to and with each LF, counted across chunks.
 */
static void
smtp_bdat_lines(struct session *s, const char *p, size_t n)
{
	struct smtp	*sm = s->data;
	struct smtp_msg	*m = &sm->msg;
	const char	*lf;
	size_t		 k, linemax;

	linemax = smtp_line_max();
	while (n > 0) {
		if ((lf = memchr(p, '\n', n)) == NULL) {
			/* Saturated: past the bound, the count is moot. */
			if (n > linemax - m->linelen) {
				smtp_line_long(s, linemax);
				m->linelen = linemax;
			} else
				m->linelen += n;
			return;
		}
		k = lf - p + 1;
		if (k > linemax - m->linelen)
			smtp_line_long(s, linemax);
		m->linelen = 0;
		p += k;
		n -= k;
	}
}

static void
smtp_bdat_end(struct session *s)
{
	struct smtp	*sm = s->data;
	struct smtp_msg	*m = &sm->msg;
	const char	*reply, *result;
	char		 buf[128];

	if (m->bad & SMTP_BAD_NOTXN) {
		/* No transaction: nothing of it is kept. */
		m->bad &= ~SMTP_BAD_NOTXN;
		if (!m->bdat)
			smtp_msg_free(m);
		smtp_error(s, !sm->inmail ?
		    "503 5.5.1 Need MAIL command\r\n" :
		    "503 5.5.1 No valid recipients\r\n");
		return;
	}
	if (m->last) {
		smtp_msg_end(s);
		return;
	}
	if (m->bad != 0) {
		/* RFC 3030 2: a failed chunk fails the transaction. */
		reply = smtp_refusal_reply(m->bad, buf, sizeof(buf),
		    &result);
		smtp_txn_reset(s, result);
		smtp_reply(s, "%s", reply);
		return;
	}
	smtp_reply(s, "250 2.0.0 %llu octets received\r\n",
	    (unsigned long long)m->chunk);
}

/*
 * The reply and audit result for a message refused for m->bad; buf
 * holds a reply that has a number in it.
 */
static const char *
smtp_refusal_reply(int bad, char *buf, size_t len, const char **result)
{
	if (bad & SMTP_BAD_BARE) {
		*result = "rejected-bare-cr-lf";
		return ("554 5.6.0 Message refused: bare CR or LF; lines "
		    "must end in CRLF\r\n");
	}
	if (bad & SMTP_BAD_NUL) {
		*result = "rejected-nul";
		return ("554 5.6.0 Message refused: NUL byte in data\r\n");
	}
	if (bad & SMTP_BAD_LONG) {
		*result = "rejected-long-line";
		(void)snprintf(buf, len, "552 5.3.4 Message refused: a line "
		    "is longer than %zu octets\r\n", smtp_line_max());
		return (buf);
	}
	if (bad & SMTP_BAD_SIZE) {
		*result = "rejected-size";
		return ("552 5.3.4 Message size exceeds fixed maximum message "
		    "size\r\n");
	}
	*result = "tempfail-local";
	return ("451 4.3.0 Cannot take the message now, try again later\r\n");
}

/*
 * The data has ended (DATA's dot, BDAT LAST): refuse what was bad,
 * check the hops and, on submission, the From: header; then deliver.
 */
static void
smtp_msg_end(struct session *s)
{
	struct smtp	*sm = s->data;
	struct smtp_msg	*m = &sm->msg;
	struct msg_rcpt	 mr;
	const char	*reply, *result;
	char		 from[MSG_ADDRESS_MAX], buf[128];
	unsigned int	 hops;
	int		 nfrom;
	void		*p;

	if (m->bad == 0 && smtp_msg_flush(m) == 0) {
		m->maplen = m->hdrlen + m->size;
		if ((p = mmap(NULL, m->maplen, PROT_READ, MAP_PRIVATE, m->fd,
		    0)) == MAP_FAILED) {
			log_warn("%s: mmap", __func__);
			m->maplen = 0;
			m->bad |= SMTP_BAD_IO;
		} else
			m->map = p;
	}
	if (m->bad != 0) {
		reply = smtp_refusal_reply(m->bad, buf, sizeof(buf),
		    &result);
		smtp_txn_reset(s, result);
		smtp_reply(s, "%s", reply);
		return;
	}

	smtp_headers(m->map + m->hdrlen, m->size, &hops, from, sizeof(from),
	    &nfrom);
	if (hops > SMTP_MAX_HOPS) {
		log_info("smtp: session %u: mail loop (%u hops)", s->id,
		    hops);
		smtp_txn_reset(s, "rejected-loop");
		smtp_reply(s, "554 5.4.6 Too many hops: mail loop\r\n");
		return;
	}
	if (!smtp_submission(s) || nfrom == 0 ||
	    (nfrom == 1 && (strcasecmp(from, sm->account) == 0 ||
	    strcasecmp(from, sm->from) == 0))) {
		smtp_deliver(s);
		return;
	}
	if (nfrom != 1) {
		smtp_txn_reset(s, "rejected-from");
		smtp_reply(s, "550 5.7.1 From: header must be one address of "
		    "yours\r\n");
		return;
	}
	/* Another address: it must lead to the account too. */
	memset(&mr, 0, sizeof(mr));
	strlcpy(mr.address, from, sizeof(mr.address));
	if ((s->req = front_vault_request(IMSG_VAULT_RCPT, -1, &mr,
	    sizeof(mr), smtp_from_owner, s)) == 0) {
		smtp_txn_reset(s, "tempfail");
		smtp_reply(s, "451 4.3.0 Mail store not available, try again "
		    "later\r\n");
		return;
	}
	session_hold(s);
}

static void
smtp_from_owner(void *arg, struct imsg *imsg)
{
	struct session		*s = arg;
	struct smtp		*sm = s->data;
	struct msg_rcpt_result	 r;

	s->req = 0;
	session_release(s);
	if (imsg == NULL || imsg->hdr.type != IMSG_VAULT_RCPT_RESULT ||
	    imsg_get_data(imsg, &r, sizeof(r)) == -1 || !MSG_STR(r.account) ||
	    r.status == MBOX_ETEMP) {
		smtp_txn_reset(s, "tempfail");
		smtp_reply(s, "451 4.3.0 Mail store not available, try again "
		    "later\r\n");
		return;
	}
	if (r.status != MBOX_OK || r.external ||
	    strcasecmp(r.account, sm->account) != 0) {
		log_info("smtp: session %u: From: address not owned", s->id);
		smtp_txn_reset(s, "rejected-from");
		smtp_reply(s, "550 5.7.1 From: header must be one address of "
		    "yours\r\n");
		return;
	}
	smtp_deliver(s);
}

/*
 * Look through the message header: count the Received fields and find
 * the address of From: (nfrom: 0 without From:, 1 with one mailbox in
 * from, 2 when it cannot be read as exactly one).
 */
static void
smtp_headers(const char *msg, size_t len, unsigned int *hops, char *from,
    size_t fromlen, int *nfrom)
{
	char		 field[SMTP_FROM_MAX];
	const char	*p, *end, *eol, *q;
	size_t		 flen = 0, n;
	int		 infrom = 0, overflow = 0;

	*hops = 0;
	*nfrom = 0;
	from[0] = '\0';
	p = msg;
	end = msg + len;
	while (p < end) {
		if ((eol = memchr(p, '\n', end - p)) == NULL)
			eol = end;
		n = eol - p;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* the end of the header */
		if (*p == ' ' || *p == '\t') {
			/* A continuation line: unfold it. */
			if (infrom) {
				if (n >= sizeof(field) - flen)
					overflow = 1;
				else {
					memcpy(field + flen, p, n);
					flen += n;
				}
			}
		} else {
			infrom = 0;
			if ((q = memchr(p, ':', n)) != NULL) {
				n = q - p;
				while (n > 0 && (p[n - 1] == ' ' ||
				    p[n - 1] == '\t'))
					n--;
				if (n == 8 && strncasecmp(p, "Received", 8) ==
				    0)
					(*hops)++;
				else if (n == 4 && strncasecmp(p, "From", 4) ==
				    0) {
					if (++*nfrom == 1) {
						infrom = 1;
						n = (eol - q - 1);
						if (n > 0 && q[n] == '\r')
							n--;
						if (n >= sizeof(field))
							overflow = 1;
						else {
							memcpy(field, q + 1, n);
							flen = n;
						}
					}
				}
			}
		}
		p = eol + 1;
	}
	if (*nfrom == 0)
		return;
	field[flen] = '\0';
	if (*nfrom > 1 || overflow ||
	    smtp_from_addr(field, from, fromlen) == -1)
		*nfrom = 2;
}

/*
 * The one address of a From: value (RFC 5322 3.4): the angle-addr if
 * there is one, else the addr-spec; comments are dropped and quoted
 * strings (display names) skipped.  -1 for none, for several, and for
 * one that is not a plain local@domain.
 */
static int
smtp_from_addr(const char *v, char *out, size_t outlen)
{
	char		 buf[SMTP_FROM_MAX];
	const char	*p;
	size_t		 n = 0, lt = 0, gt = 0, len;
	int		 depth = 0, quote = 0, angle = 0, nangle = 0;

	for (p = v; *p != '\0'; p++) {
		if (n + 2 >= sizeof(buf))
			return (-1);
		if (depth > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			continue;
		}
		if (quote) {
			if (*p == '\\' && p[1] != '\0')
				buf[n++] = *p++;
			else if (*p == '"')
				quote = 0;
			buf[n++] = *p;
			continue;
		}
		switch (*p) {
		case '(':
			depth = 1;
			buf[n++] = ' ';
			continue;
		case '"':
			quote = 1;
			break;
		case '<':
			if (nangle++ > 0)
				return (-1);
			angle = 1;
			lt = n;
			break;
		case '>':
			if (!angle)
				return (-1);
			angle = 0;
			gt = n;
			break;
		case ',':
		case ';':
		case ':':
			/* Several mailboxes, or a group. */
			if (!angle)
				return (-1);
			break;
		default:
			break;
		}
		buf[n++] = *p;
	}
	if (depth != 0 || quote || angle)
		return (-1);
	buf[n] = '\0';
	if (nangle > 0) {
		p = buf + lt + 1;
		len = gt - lt - 1;
	} else {
		p = buf + strspn(buf, " \t\r\n");
		len = strcspn(p, " \t\r\n");
		if (p[len + strspn(p + len, " \t\r\n")] != '\0')
			return (-1);
	}
	if (len == 0 || len >= outlen || memchr(p, '@', len) == NULL)
		return (-1);
	memcpy(out, p, len);
	out[len] = '\0';
	if (strpbrk(out, " \t\r\n\"(),;:<>[]\\") != NULL)
		return (-1);
	return (0);
}

/* One delivery per recipient account, each with its own fd. */
static void
smtp_deliver(struct session *s)
{
	struct smtp		*sm = s->data;
	struct smtp_msg		*m = &sm->msg;
	struct smtp_rcpt	*r, *o;
	struct msg_deliver	 md;
	int			 fd, dfd;

	if (mime_bundle_fd(m->map, m->maplen, time(NULL), &fd) == -1) {
		log_warn("%s: cannot make the bundle", __func__);
		smtp_txn_reset(s, "tempfail-local");
		smtp_reply(s, "451 4.3.0 Cannot take the message now, try "
		    "again later\r\n");
		return;
	}
	/* The bundle has its own copy. */
	munmap(m->map, m->maplen);
	m->map = NULL;
	m->maplen = 0;
	close(m->fd);
	m->fd = -1;

	sm->ndeliver = 0;
	TAILQ_FOREACH(r, &sm->rcpts, entry) {
		TAILQ_FOREACH(o, &sm->rcpts, entry) {
			if (o == r)
				break;
			if (strcasecmp(o->account, r->account) == 0) {
				r->same = 1;
				break;
			}
		}
		if (r->same)
			continue;
		memset(&md, 0, sizeof(md));
		strlcpy(md.account, r->account, sizeof(md.account));
		if ((dfd = dup(fd)) == -1) {
			log_warn("%s: dup", __func__);
			r->result = MBOX_ETEMP;
			continue;
		}
		r->req = front_vault_request(IMSG_VAULT_DELIVER, dfd, &md,
		    sizeof(md), smtp_deliver_done, r);
		if (r->req == 0)
			r->result = MBOX_ETEMP;
		else
			sm->ndeliver++;
	}
	close(fd);
	if (sm->ndeliver == 0) {
		smtp_deliver_reply(s);
		return;
	}
	session_hold(s);
}

static void
smtp_deliver_done(void *arg, struct imsg *imsg)
{
	struct smtp_rcpt		*r = arg;
	struct session			*s = r->s;
	struct smtp			*sm = s->data;
	struct msg_deliver_result	 res;

	r->req = 0;
	if (imsg == NULL || imsg->hdr.type != IMSG_VAULT_DELIVER_RESULT ||
	    imsg_get_data(imsg, &res, sizeof(res)) == -1)
		r->result = MBOX_ETEMP;
	else
		r->result = res.status;
	if (--sm->ndeliver > 0)
		return;
	session_release(s);
	smtp_deliver_reply(s);
}

/* Every delivery has answered: the one reply (see the top). */
static void
smtp_deliver_reply(struct session *s)
{
	struct smtp		*sm = s->data;
	struct smtp_rcpt	*r;
	unsigned int		 ok = 0, temp = 0, perm = 0;

	TAILQ_FOREACH(r, &sm->rcpts, entry) {
		if (r->same)
			continue;
		switch (r->result) {
		case MBOX_OK:
			ok++;
			break;
		case MBOX_ENOTFOUND:
		case MBOX_EINVAL:
			log_warnx("smtp: session %u: the vault refused the "
			    "message for a recipient (%d)", s->id, r->result);
			perm++;
			break;
		default:
			temp++;
			break;
		}
	}
	if (temp == 0 && perm == 0) {
		smtp_reply(s, "250 2.0.0 Message accepted for delivery, id "
		    "%s\r\n", sm->id);
		smtp_txn_reset(s, "accepted");
	} else if (temp == 0 && ok == 0) {
		smtp_reply(s, "554 5.0.0 Message refused by the mail "
		    "store\r\n");
		smtp_txn_reset(s, "rejected-store");
	} else {
		smtp_reply(s, "451 4.3.0 Message not stored for every "
		    "recipient, try again later\r\n");
		smtp_txn_reset(s, ok > 0 ? "tempfail-partial" : "tempfail");
	}
}

/* One audit line per transaction. */
void
smtp_txn_log(struct session *s, size_t size, const char *result)
{
	struct smtp	*sm = s->data;
	const char	*tls = NULL;
	char		 dom[SMTP_HELO_MAX + 1];

	if (session_is_tls(s))
		tls = session_tls_version(s);
	if (sm->from[0] == '\0')
		strlcpy(dom, "<>", sizeof(dom));
	else
		log_sanitize(dom, sizeof(dom), smtp_domain(sm->from));
	log_audit("smtp-transaction", "client=%s tls=%s from-domain=%s "
	    "rcpts=%u size=%zu msgid=%s result=%s", s->client.addr,
	    tls != NULL ? tls : "none", dom, sm->nrcpts, size,
	    sm->id[0] != '\0' ? sm->id : "-", result);
}
