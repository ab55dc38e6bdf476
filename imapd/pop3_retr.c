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
 * RETR and TOP (RFC 1939): the raw message from the vault, sent a chunk
 * at a time with dot-stuffing and CRLF line ends.
 *
 * The bodies come by batches.  A RETR or TOP whose message is not in
 * the batch at hand looks at the lines the client pipelined after it
 * (still unread in the input buffer: a hint, nothing is taken) and asks
 * the vault in one MBOX_OP_BODIES for its message and those of the RETR
 * and TOP lines that follow, with higher uids, up to POP3_BATCH_MAX
 * messages and MBOX_BODIES_BUDGET octets by the sizes of the listing
 * (a larger message alone).  The commands that follow are then answered
 * from the batch, in order, each when the input reaches it, under the
 * session's output backpressure.  One round trip per message left the
 * machine idle, as it did for IMAP FETCH.
 *
 * The answer stays in the vault's sealed memfd: imapd holds its fd and
 * where each message is in it, never a copy, and drops it once every
 * body is sent (or DELE'd), or when a command needs another batch.  A
 * message that was asked for, at or below the last uid the vault looked
 * at and not in the answer, was expunged since the login: answered as
 * a single RETR would be.
 *
 * One batch ahead: once half of a batch is sent, the RETR and TOP lines
 * pipelined beyond it (above the last uid it covers) are asked for in
 * a second request, so that the vault reads and decrypts the next
 * bodies while this process stuffs and sends the current ones.  Asked
 * for one batch at a time, the two took turns and each core idled half
 * of the time.  A batch asked for ahead becomes the batch when a
 * command reaches one of its messages; if that answer failed, or the
 * vault stopped short of the message, the command asks again, as
 * without it.  At most two requests of a session are out, and at most
 * two memfds held.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "mbox_stream.h"
#include "peerfd.h"
#include "pop3_local.h"

#define POP3_CHUNK		(16 * 1024)	/* message octets per read */
#define POP3_OUTBUF		(2 * POP3_CHUNK + 16)
#define PEEK_LINES		(2 * POP3_BATCH_MAX) /* lines looked at */
#define PEEK_LINE_MAX		64	/* longer: not a RETR or TOP */

static struct pop3_batch *batch_ask(struct session *,
		    const struct pop3_msg *, uint32_t);
static void	 batch_ahead(struct session *);
static void	 batch_drop(struct pop3_batch *);
static void	 batch_gather(struct session *, struct pop3_batch *,
		    const struct pop3_msg *, uint32_t);
static int	 batch_peek(struct pop3 *, const char *, size_t, uint32_t *);
static int	 batch_asked(const struct pop3_batch *, uint32_t);
static void	 batch_done(void *, struct mbox_result *);
static int	 batch_read(struct pop3_batch *, int, uint32_t, uint64_t);
static struct pop3_body *batch_find(struct pop3_batch *, uint32_t);
static void	 retr_send(struct session *);
static size_t	 retr_stuff(struct pop3 *, const unsigned char *, size_t,
		    unsigned char *, size_t *);

/* Work buffers of the pump: wiped after each chunk (they hold mail). */
static unsigned char		 retr_inbuf[POP3_CHUNK];
static unsigned char		 retr_outbuf[POP3_OUTBUF];

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

/* RETR (top 0) or TOP of message n: from the batch, or a new one. */
void
pop3_retr(struct session *s, struct pop3_msg *m, uint32_t n, int top,
    uint64_t lines)
{
	struct pop3		*p = s->data;
	struct pop3_batch	*b = p->batch;

	p->msgno = n;
	p->top = top;
	p->toplines = lines;
	if (b != NULL && b->fd != -1 && m->uid <= b->last &&
	    batch_asked(b, m->uid)) {
		retr_send(s);
		return;
	}
	/* Asked for ahead: it becomes the batch, answered or not yet. */
	if (p->ahead != NULL && batch_asked(p->ahead, m->uid) &&
	    (p->ahead->fd == -1 || m->uid <= p->ahead->last)) {
		batch_drop(p->batch);
		p->batch = p->ahead;
		p->ahead = NULL;
		if (p->batch->fd != -1)
			retr_send(s);
		else
			session_hold(s);
		return;
	}
	pop3_batch_free(p);
	if ((p->batch = batch_ask(s, m, 0)) == NULL) {
		session_printf(s, "-ERR [SYS/TEMP] The mail store is not "
		    "available; try again later\r\n");
		return;
	}
	session_hold(s);
}

/*
 * A request for the bodies of m (if not NULL) and of the RETR and TOP
 * lines pipelined after the command at hand, or, with m NULL, of those
 * above uid above (asking ahead).  NULL if there is nothing to ask or
 * the request could not be sent.
 */
static struct pop3_batch *
batch_ask(struct session *s, const struct pop3_msg *m, uint32_t above)
{
	struct pop3		*p = s->data;
	struct pop3_batch	*b;
	struct mbox_range	 r[POP3_BATCH_MAX];
	uint32_t		 i, nr = 0;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	b->fd = -1;
	b->s = s;
	batch_gather(s, b, m, above);
	for (i = 0; i < b->nasked; i++) {
		if (nr > 0 && r[nr - 1].last + 1 == b->asked[i]) {
			r[nr - 1].last = b->asked[i];
			continue;
		}
		r[nr].first = r[nr].last = b->asked[i];
		nr++;
	}
	/* The answer stays in its memfd (max 0), read from there. */
	if (nr == 0 || (b->req = pop3_mbox_request(&b->mc, p->vsession,
	    MBOX_OP_BODIES, 0, r, nr, 0, 0, batch_done, b)) == 0) {
		free(b);
		return (NULL);
	}
	return (b);
}

/*
 * Half of the batch is sent: ask for the bodies of the lines pipelined
 * beyond it, once per batch, while the rest goes out.
 */
static void
batch_ahead(struct session *s)
{
	struct pop3		*p = s->data;
	struct pop3_batch	*b = p->batch;
	uint32_t		 above;

	if (p->ahead != NULL || b->ahead_tried || b->left > b->nbodies / 2)
		return;
	b->ahead_tried = 1;
	above = b->nasked > 0 && b->asked[b->nasked - 1] < b->last ?
	    b->asked[b->nasked - 1] : b->last;
	p->ahead = batch_ask(s, NULL, above);
}

/*
 * The uids to ask for: m's first, then those of the RETR and TOP lines
 * pipelined after it, above m's uid (the vault answers in uid order and
 * may cut after any message: m first is always answered), within the
 * budget by the listed sizes.  Without m (asking ahead), the first line
 * whose uid is above takes m's place.  A line it cannot read is passed
 * over: the session answers it in its turn.  QUIT and STLS end the look.
 */
static void
batch_gather(struct session *s, struct pop3_batch *b,
    const struct pop3_msg *m, uint32_t above)
{
	struct pop3		*p = s->data;
	const char		*d = session_data(s), *lf;
	size_t			 left = session_datalen(s), n;
	uint64_t		 total = 0;
	uint32_t		 i, k, lines = 0, first = 0;
	const struct pop3_msg	*x;
	int			 rv;

	b->nasked = 0;
	if (m != NULL) {
		b->asked[b->nasked++] = first = m->uid;
		total = m->size;
	}
	while (left > 0 && b->nasked < POP3_BATCH_MAX &&
	    lines++ < PEEK_LINES) {
		if ((lf = memchr(d, '\n', left)) == NULL)
			break;
		n = (size_t)(lf - d);
		rv = batch_peek(p, d, n, &k);
		left -= n + 1;
		d = lf + 1;
		if (rv == -1)
			break;
		if (rv == 0)
			continue;
		x = &p->msgs[k - 1];
		if (x->flags & MSG_DELE)
			continue;
		if (first == 0) {
			/* Ahead: the first one above, whatever its size. */
			if (x->uid <= above)
				continue;
			b->asked[b->nasked++] = first = x->uid;
			total = x->size;
			continue;
		}
		if (x->uid <= first)
			continue;
		for (i = 0; i < b->nasked; i++)
			if (b->asked[i] == x->uid)
				break;
		if (i < b->nasked)
			continue;
		if (x->size > MBOX_BODIES_BUDGET ||
		    total > MBOX_BODIES_BUDGET - x->size)
			break;
		total += x->size;
		b->asked[b->nasked++] = x->uid;
	}
	qsort(b->asked, b->nasked, sizeof(b->asked[0]), uid_cmp);
}

/*
 * One pipelined line: 1 with *n, the message of a RETR or TOP; 0 for
 * any other line; -1 for a line after which the input means something
 * else (QUIT, STLS).
 */
static int
batch_peek(struct pop3 *p, const char *d, size_t len, uint32_t *n)
{
	char		 line[PEEK_LINE_MAX], *cmd, *arg;
	uint64_t	 v;

	if (len > 0 && d[len - 1] == '\r')
		len--;
	if (len >= sizeof(line))
		return (0);
	memcpy(line, d, len);
	line[len] = '\0';
	cmd = line;
	arg = cmd + strcspn(cmd, " ");
	if (*arg != '\0')
		*arg++ = '\0';
	if (strcasecmp(cmd, "QUIT") == 0 || strcasecmp(cmd, "STLS") == 0)
		return (-1);
	if (strcasecmp(cmd, "RETR") != 0 && strcasecmp(cmd, "TOP") != 0)
		return (0);
	arg += strspn(arg, " ");
	arg[strcspn(arg, " ")] = '\0';
	if (pop3_number(arg, &v) == -1 || v == 0 || v > p->nmsgs)
		return (0);
	*n = (uint32_t)v;
	return (1);
}

static int
batch_asked(const struct pop3_batch *b, uint32_t uid)
{
	return (bsearch(&uid, b->asked, b->nasked, sizeof(b->asked[0]),
	    uid_cmp) != NULL);
}

/*
 * The answer to a batch's request.  The batch at hand: the session
 * waits for it.  A batch asked for ahead: kept for the command that
 * reaches it, or dropped if it failed (that command asks again).
 */
static void
batch_done(void *arg, struct mbox_result *res)
{
	struct pop3_batch	*b = arg;
	struct session		*s = b->s;
	struct pop3		*p = s->data;
	const struct pop3_msg	*m;
	int			 fd, status, ok;

	b->req = 0;
	/* The fd is ours now, kept by the batch or closed here. */
	fd = res->fd;
	res->fd = -1;
	status = res->status;
	ok = status == MBOX_OK && fd != -1 &&
	    batch_read(b, fd, res->count, res->b) == 0;
	if (!ok && fd != -1)
		close(fd);
	if (b == p->ahead) {
		if (!ok) {
			batch_drop(b);
			p->ahead = NULL;
		}
		return;
	}
	if (res->error == ENOTCONN || status == MBOX_ESESSION) {
		pop3_batch_free(p);
		pop3_vault_gone(s);
		return;
	}
	m = &p->msgs[p->msgno - 1];
	if (ok && m->uid > b->last) {
		/* Asked ahead, and the vault stopped short of it. */
		pop3_batch_free(p);
		if ((p->batch = batch_ask(s, m, 0)) != NULL)
			return;
		ok = 0;
	}
	if (!ok) {
		pop3_batch_free(p);
		log_warnx("pop3: session %u: cannot read message %u (status "
		    "%d)", s->id, p->msgno, status);
		session_printf(s, "-ERR [SYS/TEMP] Cannot read the message; "
		    "try again later\r\n");
		session_release(s);
		return;
	}
	retr_send(s);
}

static int
read_full(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t		 n;

	while ((n = pread(fd, buf, len, (off_t)off)) == -1 && errno == EINTR)
		;
	if (n == -1) {
		log_warn("pop3: read batch");
		return (-1);
	}
	return ((size_t)n == len ? 0 : -1);
}

/*
 * Where each body of the answer is, checked as mbox_stream_next_body()
 * checks a buffer: a sealed memfd, records in strictly ascending uid
 * order, each one asked for, none past the end, count of them, and the
 * first uid asked for looked at.
 */
static int
batch_read(struct pop3_batch *b, int fd, uint32_t count, uint64_t last)
{
	struct mbox_stream_body_hdr	 h;
	struct pop3_body		*e;
	size_t				 len;
	uint64_t			 off = 0;
	uint32_t			 prev = 0;

	if (peerfd_size(fd, 0, 0, SIZE_MAX, &len) == -1) {
		log_warn("pop3: batch");
		return (-1);
	}
	b->nbodies = 0;
	while (off < len) {
		if (len - off < sizeof(h) || read_full(fd, &h, sizeof(h),
		    off) == -1)
			goto bad;
		off += sizeof(h);
		if (h.uid <= prev || h.uid == UINT32_MAX || h.pad != 0 ||
		    h.size > BUNDLE_RAW_MAX || h.size > len - off ||
		    !batch_asked(b, h.uid))
			goto bad;
		/* Strictly ascending and asked for: at most nasked. */
		e = &b->bodies[b->nbodies++];
		e->uid = prev = h.uid;
		e->off = off;
		e->size = h.size;
		e->sent = 0;
		off += h.size;
	}
	if (b->nbodies != count || last < b->asked[0])
		goto bad;
	b->last = last > UINT32_MAX ? UINT32_MAX : (uint32_t)last;
	b->left = b->nbodies;
	b->fd = fd;
	return (0);
 bad:
	log_warnx("pop3: malformed bodies from the vault");
	b->nbodies = 0;
	return (-1);
}

static struct pop3_body *
batch_find(struct pop3_batch *b, uint32_t uid)
{
	uint32_t	 lo = 0, hi = b->nbodies, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (b->bodies[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->nbodies && b->bodies[lo].uid == uid)
		return (&b->bodies[lo]);
	return (NULL);
}

/* The batch covers the message: its answer, or that it is gone. */
static void
retr_send(struct session *s)
{
	struct pop3		*p = s->data;
	struct pop3_batch	*b = p->batch;
	struct pop3_body	*e;

	if ((e = batch_find(b, p->msgs[p->msgno - 1].uid)) == NULL) {
		/* Expunged since the login, by IMAP or another session. */
		session_printf(s, "-ERR Message %u is no longer in the "
		    "mailbox\r\n", p->msgno);
		if (b->left == 0)
			pop3_batch_end(p);
		session_release(s);
		return;
	}
	if (!e->sent) {
		e->sent = 1;
		b->left--;
	}
	batch_ahead(s);
	p->off = e->off;
	p->len = e->off + e->size;
	p->bol = 1;
	p->cr = 0;
	p->linelen = 0;
	p->inbody = 0;
	p->stop = 0;
	p->out = OUT_BODY;
	if (p->top)
		session_printf(s, "+OK Top of message follows\r\n");
	else
		session_printf(s, "+OK %llu octets\r\n",
		    (unsigned long long)p->msgs[p->msgno - 1].size);
	session_output(s, pop3_pump);
}

/* DELE: that body will not be sent, the batch need not wait for it. */
void
pop3_batch_forget(struct pop3 *p, uint32_t uid)
{
	struct pop3_body	*e;

	if (p->ahead != NULL && p->ahead->fd != -1 &&
	    (e = batch_find(p->ahead, uid)) != NULL && !e->sent) {
		e->sent = 1;
		p->ahead->left--;
	}
	if (p->batch == NULL || p->batch->fd == -1 ||
	    (e = batch_find(p->batch, uid)) == NULL || e->sent)
		return;
	e->sent = 1;
	if (--p->batch->left == 0 && p->out == OUT_NONE)
		pop3_batch_end(p);
}

/* One batch: its request cancelled if out (no callback then), its fd. */
static void
batch_drop(struct pop3_batch *b)
{
	if (b == NULL)
		return;
	if (b->req != 0)
		front_vault_cancel(b->req);
	if (b->fd != -1)
		close(b->fd);
	free(b);
}

/* Every body of the batch at hand is sent: it goes, the one ahead stays. */
void
pop3_batch_end(struct pop3 *p)
{
	batch_drop(p->batch);
	p->batch = NULL;
}

void
pop3_batch_free(struct pop3 *p)
{
	batch_drop(p->batch);
	p->batch = NULL;
	batch_drop(p->ahead);
	p->ahead = NULL;
}

/* RETR and TOP: one chunk of the message, stuffed; the end after it. */
int
pop3_pump_body(struct session *s)
{
	struct pop3	*p = s->data;
	size_t		 want, used, k;
	ssize_t		 n;

	if (p->stop || p->off >= p->len) {
		k = 0;
		if (!p->bol) {
			/* The last line had no end. */
			if (!p->cr)
				retr_outbuf[k++] = '\r';
			retr_outbuf[k++] = '\n';
		}
		memcpy(retr_outbuf + k, ".\r\n", 3);
		k += 3;
		pop3_out_end(p);
		if (session_write(s, retr_outbuf, k) == -1)
			return (-1);
		return (1);
	}
	want = p->len - p->off > POP3_CHUNK ? POP3_CHUNK :
	    (size_t)(p->len - p->off);
	while ((n = pread(p->batch->fd, retr_inbuf, want, (off_t)p->off)) ==
	    -1 && errno == EINTR)
		;
	if (n <= 0) {
		/* Mid-answer: no -ERR can be said any more. */
		if (n == -1)
			log_warn("pop3: session %u: read message", s->id);
		else
			log_warnx("pop3: session %u: message shorter than "
			    "its size", s->id);
		pop3_out_end(p);
		session_close(s);
		return (-1);
	}
	k = retr_stuff(p, retr_inbuf, (size_t)n, retr_outbuf, &used);
	explicit_bzero(retr_inbuf, (size_t)n);
	p->off += used;
	n = session_write(s, retr_outbuf, k);
	explicit_bzero(retr_outbuf, k);
	if (n == -1) {
		pop3_out_end(p);
		return (-1);
	}
	return (0);
}

/*
 * Copy n octets of message to out (room for 2n): every line end as
 * CRLF, a bare LF included, and a '.' that starts a line doubled (RFC
 * 1939 3).  For TOP, stop after the blank line that ends the header
 * and then after toplines lines of the body.  *used is what was taken.
 */
static size_t
retr_stuff(struct pop3 *p, const unsigned char *in, size_t n,
    unsigned char *out, size_t *used)
{
	const unsigned char	*lf;
	size_t			 i, k = 0, seg;
	int			 empty;

	if (!p->top) {
		/* RETR: whole lines at a time, the hot path of a download. */
		for (i = 0; i < n; ) {
			if (p->bol && in[i] == '.')
				out[k++] = '.';
			lf = memchr(in + i, '\n', n - i);
			seg = (lf != NULL ? (size_t)(lf - in) : n) - i;
			if (seg > 0) {
				memcpy(out + k, in + i, seg);
				k += seg;
				i += seg;
				p->bol = 0;
				p->cr = in[i - 1] == '\r';
			}
			if (lf == NULL)
				break;
			if (!p->cr)
				out[k++] = '\r';
			out[k++] = '\n';
			p->bol = 1;
			p->cr = 0;
			i++;
		}
		*used = n;
		return (k);
	}
	for (i = 0; i < n; i++) {
		if (in[i] != '\n') {
			if (p->bol && in[i] == '.')
				out[k++] = '.';
			out[k++] = in[i];
			p->bol = 0;
			p->cr = in[i] == '\r';
			if (p->linelen < UINT64_MAX)
				p->linelen++;
			continue;
		}
		if (!p->cr)
			out[k++] = '\r';
		out[k++] = '\n';
		empty = p->linelen == 0 || (p->linelen == 1 && p->cr);
		p->bol = 1;
		p->cr = 0;
		p->linelen = 0;
		if (!p->top)
			continue;
		if (!p->inbody) {
			if (empty) {
				p->inbody = 1;
				if (p->toplines == 0)
					p->stop = 1;
			}
		} else if (--p->toplines == 0)
			p->stop = 1;
		if (p->stop) {
			i++;
			break;
		}
	}
	*used = i;
	return (k);
}
