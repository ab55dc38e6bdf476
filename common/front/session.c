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

#include <sys/types.h>
#include <sys/time.h>

#include <event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "session.h"

/* One counter for every session of the process: ids in logs are unique. */
static unsigned int	 session_ids;

static void	 session_io(struct io *, int, void *);
static void	 session_free(struct session *);
static void	 session_input(struct session *);
static void	 session_pump(struct session *);
static int	 session_queue(struct session *, const void *, size_t);
static int	 session_spill(struct session *, const void *, size_t);
static int	 session_unspill(struct session *);
static void	 session_stall(struct session *, int);
static void	 session_stall_cb(int, short, void *);
static void	 session_lowat(struct session *);
static void	 session_delay_cb(int, short, void *);

void
session_accept(int fd, const struct msg_listener *l,
    const struct front_client *client, int refused,
    const struct session_proto *proto)
{
	const struct msg_front	*conf = front_conf();
	struct session		*s;
	const char		*msg;

	if (refused != FRONT_OK) {
		/* Best effort: one line on a fresh socket, then goodbye. */
		msg = proto->refusal(refused);
		if (write(fd, msg, strlen(msg)) == -1)
			log_debug("%s: refusal not sent", proto->name);
		close(fd);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s", __func__);
		close(fd);
		front_conn_closed(client);
		return;
	}
	s->client = *client;
	s->listener = *l;
	s->proto = proto;
	s->id = ++session_ids;
	evtimer_set(&s->delay_ev, session_delay_cb, s);
	evtimer_set(&s->stall_ev, session_stall_cb, s);
	if ((s->io = io_new(fd, session_io, s)) == NULL) {
		log_warn("%s: io_new", __func__);
		close(fd);
		front_conn_closed(client);
		free(s);
		return;
	}
	io_set_maxline(s->io, proto->maxline);
	/* No configuration (a unit test): no timeouts. */
	if (conf != NULL)
		io_set_timeouts(s->io, conf->limits.timeout_idle,
		    conf->limits.timeout_session);
	if (proto->start != NULL && proto->start(s) == -1) {
		io_free(s->io);
		front_conn_closed(client);
		free(s);
		return;
	}
	log_info("%s: session %u from %s", proto->name, s->id, s->client.addr);

	if (l->tls == TLSMODE_IMPLICIT) {
		if (front_tls() == NULL) {
			log_warnx("%s: no TLS context: closing session %u",
			    proto->name, s->id);
			session_free(s);
			return;
		}
		s->tls_implicit = 1;
		if (io_start_tls(s->io, front_tls()) == -1) {
			session_free(s);
			return;
		}
		return;
	}
	proto->greet(s);
}

int
session_tls_available(struct session *s)
{
	return (s->listener.tls != TLSMODE_NONE && front_tls() != NULL);
}

int
session_is_tls(struct session *s)
{
	return (io_is_tls(s->io));
}

const char *
session_tls_version(struct session *s)
{
	return (io_tls_version(s->io));
}

const char *
session_tls_cipher(struct session *s)
{
	return (io_tls_cipher(s->io));
}

/* Call right after queueing the protocol's go-ahead reply. */
int
session_starttls(struct session *s)
{
	if (io_start_tls(s->io, front_tls()) == -1) {
		log_warnx("%s: session %u: cannot start TLS", s->proto->name,
		    s->id);
		session_close(s);
		return (-1);
	}
	return (0);
}

/*
 * COMPRESS=DEFLATE from after what is queued now (the go-ahead reply).
 * Output that waits in the overflow would come after it, compressed,
 * though it was written before: -1 until it has gone.
 */
int
session_compress(struct session *s)
{
	if (s->closing || s->ovflen != s->ovfoff)
		return (-1);
	if (io_start_compress(s->io) == -1) {
		log_warnx("%s: session %u: cannot start compression",
		    s->proto->name, s->id);
		return (-1);
	}
	log_info("%s: session %u: compression on", s->proto->name, s->id);
	return (0);
}

int
session_is_compressed(struct session *s)
{
	return (io_is_compressed(s->io));
}

void
session_printf(struct session *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	session_vprintf(s, fmt, ap);
	va_end(ap);
}

void
session_vprintf(struct session *s, const char *fmt, va_list ap)
{
	char	*line;
	int	 n;

	if (s->closing)
		return;
	if (s->ovfmax == 0) {
		if (io_vprintf(s->io, fmt, ap) == -1)
			log_debug("%s: session %u: output cap reached",
			    s->proto->name, s->id);
		return;
	}
	/* In order behind what overflows. */
	if ((n = vasprintf(&line, fmt, ap)) == -1) {
		log_warn("%s: session %u: vasprintf", s->proto->name, s->id);
		session_close(s);
		return;
	}
	(void)session_write(s, line, (size_t)n);
	freezero(line, (size_t)n);
}

/*
 * Queue output; -1 if nothing more can be written: the session is
 * ending.  With an overflow (session_set_overflow()) the connection's
 * queue takes up to its high mark and the rest waits in the overflow,
 * in order, moved over as the client reads.
 */
int
session_write(struct session *s, const void *buf, size_t len)
{
	size_t	 queued, room;

	if (s->closing)
		return (-1);
	if (len == 0)
		return (0);
	if (s->ovfmax == 0)
		return (session_queue(s, buf, len));
	if (s->ovflen == s->ovfoff) {
		s->ovflen = s->ovfoff = 0;
		queued = io_queued(s->io);
		room = queued < IO_OUT_HIWAT ? IO_OUT_HIWAT - queued : 0;
		if (len <= room)
			return (session_queue(s, buf, len));
		if (room > 0 && session_queue(s, buf, room) == -1)
			return (-1);
		buf = (const char *)buf + room;
		len -= room;
	}
	return (session_spill(s, buf, len));
}

static int
session_queue(struct session *s, const void *buf, size_t len)
{
	if (io_write(s->io, buf, len) == -1) {
		log_debug("%s: session %u: output cap reached",
		    s->proto->name, s->id);
		return (-1);
	}
	return (0);
}

/*
 * Into the overflow.  It may hold message text: grown with
 * recallocarray(), which wipes the old copy, and wiped when emptied.
 */
static int
session_spill(struct session *s, const void *buf, size_t len)
{
	size_t	 want, ncap;
	char	*p;

	if (len > s->ovfmax - (s->ovflen - s->ovfoff)) {
		log_warnx("%s: session %u: output over %zu octets waits for "
		    "the client", s->proto->name, s->id, s->ovfmax);
		session_close(s);
		return (-1);
	}
	if (s->ovfoff > 0 && s->ovflen + len > s->ovfcap) {
		memmove(s->ovf, s->ovf + s->ovfoff, s->ovflen - s->ovfoff);
		s->ovflen -= s->ovfoff;
		explicit_bzero(s->ovf + s->ovflen, s->ovfcap - s->ovflen);
		s->ovfoff = 0;
	}
	want = s->ovflen + len;
	if (want > s->ovfcap) {
		ncap = s->ovfcap > 0 ? s->ovfcap : 65536;
		while (ncap < want)
			ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
		if ((p = recallocarray(s->ovf, s->ovfcap, ncap, 1)) == NULL) {
			log_warn("%s: session %u: output", s->proto->name,
			    s->id);
			session_close(s);
			return (-1);
		}
		s->ovf = p;
		s->ovfcap = ncap;
	}
	memcpy(s->ovf + s->ovflen, buf, len);
	s->ovflen = want;
	if (!s->stall_armed)
		session_stall(s, 1);
	return (0);
}

/* The client read some: move over what overflows.  1 when all is. */
static int
session_unspill(struct session *s)
{
	size_t	 queued, n;

	if (s->ovflen == s->ovfoff)
		return (1);
	queued = io_queued(s->io);
	if (queued >= IO_OUT_HIWAT)
		return (0);
	n = s->ovflen - s->ovfoff;
	if (n > IO_OUT_HIWAT - queued)
		n = IO_OUT_HIWAT - queued;
	if (session_queue(s, s->ovf + s->ovfoff, n) == -1)
		return (0);
	s->ovfoff += n;
	if (s->ovfoff < s->ovflen)
		return (0);
	freezero(s->ovf, s->ovfcap);
	s->ovf = NULL;
	s->ovfcap = s->ovflen = s->ovfoff = 0;
	return (1);
}

/*
 * A protocol that writes more than the connection queues at once (a
 * FETCH of a large message) keeps up to max octets waiting; 0: none.
 */
void
session_set_overflow(struct session *s, size_t max)
{
	s->ovfmax = max;
}

/*
 * A client that stops reading while output waits for it is dropped
 * after this many seconds (0: only the idle timeout applies).
 */
void
session_set_stall(struct session *s, unsigned int secs)
{
	s->stall = secs;
}

static void
session_stall(struct session *s, int on)
{
	struct timeval	 tv;

	if (s->stall_armed) {
		evtimer_del(&s->stall_ev);
		s->stall_armed = 0;
	}
	if (!on || s->stall == 0)
		return;
	timerclear(&tv);
	tv.tv_sec = s->stall;
	if (evtimer_add(&s->stall_ev, &tv) == -1) {
		log_warn("%s: evtimer_add", __func__);
		return;
	}
	s->stall_armed = 1;
}

static void
session_stall_cb(int fd, short event, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)event;
	s->stall_armed = 0;
	log_info("%s: session %u: the client stopped reading",
	    s->proto->name, s->id);
	session_close(s);
}

/* Octets queued for the client, not yet sent. */
size_t
session_queued(struct session *s)
{
	return (io_queued(s->io));
}

const char *
session_toolong_head(struct session *s, size_t *len)
{
	return (io_toolong_head(s->io, len));
}

void
session_set_maxline(struct session *s, size_t max)
{
	io_set_maxline(s->io, max);
}

void
session_set_timeouts(struct session *s, unsigned int idle,
    unsigned int total)
{
	io_set_timeouts(s->io, idle, total);
}

/*
 * The next n octets of input are not lines: they go to the protocol's
 * raw hook as they arrive (an IMAP literal), then lines resume.
 */
void
session_raw(struct session *s, size_t n)
{
	s->rawleft = n;
}

/*
 * On: the protocol's input hook takes the input as it likes, with
 * session_data() and session_drop(), until it turns this off.
 */
void
session_own_input(struct session *s, int on)
{
	s->owninput = on;
}

/* Buffered input, valid until the next call on the session. */
size_t
session_datalen(struct session *s)
{
	return (io_datalen(s->io));
}

const void *
session_data(struct session *s)
{
	return (io_data(s->io));
}

void
session_drop(struct session *s, size_t n)
{
	io_drop(s->io, n);
}

/*
 * While the session waits (for the vault, say), it takes no input: not
 * from the socket, and not the lines already buffered, which a client
 * may have pipelined.  Release resumes with those, from the event loop.
 */
void
session_hold(struct session *s)
{
	s->held = 1;
	io_pause(s->io);
}

void
session_release(struct session *s)
{
	s->held = 0;
	io_resume(s->io);
}

/*
 * 1: go on writing.  0: the client has enough to read for now; fn is
 * called once it has read it down, and input is not taken meanwhile if
 * the session holds it.
 */
int
session_wait_output(struct session *s, void (*fn)(struct session *))
{
	if (s->ovflen == s->ovfoff && io_queued(s->io) < IO_OUT_HIWAT) {
		s->drained = NULL;
		return (1);
	}
	s->drained = fn;
	if (!s->stall_armed)
		session_stall(s, 1);
	return (0);
}

/* The command that waited for output is over some other way. */
void
session_wait_output_cancel(struct session *s)
{
	s->drained = NULL;
}

/*
 * Produce output with fn, a chunk per call, as fast as the client reads
 * it; see session.h.
 */
void
session_output(struct session *s, session_cont fn)
{
	s->cont = fn;
	session_pump(s);
}

static void
session_pump(struct session *s)
{
	session_cont	 fn;
	int		 rv = 0;

	while ((fn = s->cont) != NULL) {
		if (s->closing) {
			rv = -1;
			break;
		}
		if (!session_wait_output(s, session_pump)) {
			/* IO_LOWAT brings us back; no input meanwhile. */
			if (!s->held)
				session_hold(s);
			return;
		}
		if ((rv = fn(s)) != 0)
			break;
	}
	s->cont = NULL;
	if (rv == 1)
		session_release(s);
	else
		session_close(s);
}

/*
 * Send a reply after ms milliseconds, taking no input meanwhile; with
 * close set the session ends after it.
 */
void
session_delay(struct session *s, unsigned int ms, int close, const char *fmt,
    ...)
{
	struct timeval	 tv;
	va_list		 ap;
	char		*reply;
	int		 n;

	/* Allocated only while it waits: most sessions never need one. */
	va_start(ap, fmt);
	n = vasprintf(&reply, fmt, ap);
	va_end(ap);
	if (n == -1) {
		log_warn("%s: vasprintf", __func__);
		session_close(s);
		return;
	}
	freezero(s->reply, s->replylen);
	s->reply = reply;
	s->replylen = (size_t)n + 1;
	s->delay_close = close;
	session_hold(s);
	timerclear(&tv);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	s->delayed = 1;
	if (evtimer_add(&s->delay_ev, &tv) == -1) {
		log_warn("%s: evtimer_add", __func__);
		session_delay_cb(-1, 0, s);
	}
}

static void
session_delay_cb(int fd, short event, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)event;
	s->delayed = 0;
	(void)session_write(s, s->reply, s->replylen - 1);
	freezero(s->reply, s->replylen);
	s->reply = NULL;
	s->replylen = 0;
	if (s->delay_close) {
		session_close(s);
		return;
	}
	session_release(s);
}

/* Send what is queued, then end the session. */
void
session_close(struct session *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	io_close_when_flushed(s->io);
}

static void
session_free(struct session *s)
{
	log_info("%s: session %u ended", s->proto->name, s->id);
	/* Its answer, if it comes, finds nobody: the front drops it. */
	if (s->req != 0)
		front_vault_cancel(s->req);
	if (s->delayed)
		evtimer_del(&s->delay_ev);
	freezero(s->reply, s->replylen);
	if (s->stall_armed)
		evtimer_del(&s->stall_ev);
	s->cont = NULL;
	s->drained = NULL;
	if (s->proto->free != NULL)
		s->proto->free(s);
	freezero(s->ovf, s->ovfcap);
	io_free(s->io);
	front_conn_closed(&s->client);
	freezero(s, sizeof(*s));
}

/*
 * Hand the input over in the shape the protocol expects now, until it
 * is used up or the session waits: the rest stays buffered.
 */
static void
session_input(struct session *s)
{
	char	*line;
	size_t	 len;
	int	 flags, rv;

	while (!s->closing && !s->held) {
		if (s->rawleft > 0) {
			if ((len = io_datalen(s->io)) == 0)
				break;
			if (len > s->rawleft)
				len = s->rawleft;
			s->rawleft -= len;
			rv = s->proto->raw(s, io_data(s->io), len);
			io_drop(s->io, len);
			if (rv == -1)
				session_close(s);
			continue;
		}
		if (s->owninput) {
			if (s->proto->input(s) == 0)
				break;
			continue;
		}
		rv = io_getline(s->io, &line, &len, &flags);
		if (rv == IO_LINE_NONE)
			break;
		if (rv == IO_LINE_TOOLONG) {
			log_info("%s: session %u: line too long",
			    s->proto->name, s->id);
			s->proto->toolong(s);
			continue;
		}
		s->proto->line(s, line, len, flags);
	}
}

/* The output queue is down to its low mark. */
static void
session_lowat(struct session *s)
{
	void	(*fn)(struct session *);

	/* Ending: what overflows is not sent, nothing more is written. */
	if (s->closing)
		return;
	/* The client read some: any wait for it starts again. */
	if (!session_unspill(s)) {
		session_stall(s, 1);
		return;
	}
	session_stall(s, 0);
	if ((fn = s->drained) == NULL)
		return;
	s->drained = NULL;
	fn(s);
}

static void
session_io(struct io *io, int event, void *arg)
{
	struct session	*s = arg;

	(void)io;
	switch (event) {
	case IO_TLSREADY:
		log_info("%s: session %u: %s %s", s->proto->name, s->id,
		    io_tls_version(s->io), io_tls_cipher(s->io));
		if (s->tls_implicit)
			s->proto->greet(s);
		else if (s->proto->tls_ready != NULL)
			s->proto->tls_ready(s);
		session_input(s);
		break;
	case IO_DATAIN:
		session_input(s);
		break;
	case IO_LOWAT:
		session_lowat(s);
		break;
	case IO_TIMEOUT:
		if (s->closing) {
			session_free(s);
			break;
		}
		log_info("%s: session %u: timeout", s->proto->name, s->id);
		s->proto->timeout(s);
		session_close(s);
		break;
	case IO_DISCONNECTED:
	case IO_ERROR:
		session_free(s);
		break;
	}
}
