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
 * Buffered connection I/O on libevent (legacy API, current base), in
 * clear or over libtls.
 *
 * One socket event is kept registered with the flags the connection
 * needs right now (io_reload() recomputes them after every change).
 * With TLS a read may need the socket to be writable and a write may
 * need it readable, so each direction remembers what libtls asked for.
 *
 * The owner's callback may free the io.  Every callback goes through
 * io_callback(), which finishes the free once the callback has returned
 * and tells the caller to touch nothing more.
 */

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <tls.h>

#include "log.h"
#include "io.h"

#define IO_MAXLINE_DEFAULT	1000
/* A line, its CR and LF and nothing else must fit in the input buffer. */
#define IO_MAXLINE_MAX		(IO_IN_MAX - 2)
#define IO_READ_CHUNK		(16 * 1024)
#define IO_TLS_CHUNK		(16 * 1024)
#define IO_BUF_MIN		4096
/* An empty buffer larger than this is given back. */
#define IO_BUF_KEEP		(64 * 1024)

/* Work the event loop does later, never from inside an io_*() call. */
#define IO_DEFER_ERROR		0x01	/* report IO_ERROR */
#define IO_DEFER_DATAIN		0x02	/* report buffered input */
#define IO_DEFER_READ		0x04	/* read what libtls holds */

enum io_state {
	IO_S_CLEAR,
	IO_S_HANDSHAKE,		/* TLS started, not yet established */
	IO_S_TLS
};

struct iobuf {
	char		*data;
	size_t		 off;		/* first byte in use */
	size_t		 len;		/* bytes in use */
	size_t		 cap;
};

struct io {
	int		 fd;
	io_cb		 cb;
	void		*arg;

	struct iobuf	 in;
	struct iobuf	 out;
	char		*line;		/* io_getline()'s copy */
	size_t		 linecap;
	size_t		 maxline;
	char		 head[IO_LINE_HEAD];	/* of the last over-long line */
	size_t		 headlen;

	struct tls	*tls;
	enum io_state	 state;
	size_t		 clear_left;	/* output to send before handshake */

	/* What libtls (or the socket) needs for each kind of work. */
	short		 rwant;
	short		 wwant;
	short		 hwant;
	short		 cwant;

	struct event	 ev;
	short		 evflags;	/* flags ev is registered with */
	int		 evset;
	struct event	 ev_idle;
	struct event	 ev_total;
	struct event	 ev_defer;
	int		 defer;

	unsigned int	 idle_s;
	struct timespec	 started;

	int		 paused;
	int		 discarding;	/* inside an over-long line */
	int		 throttled;	/* output above the high mark */
	int		 closing;
	int		 dead;		/* error or end: no more I/O */
	int		 timedout;
	int		 reading;	/* reading was on at the last reload */
	int		 incb;
	int		 freed;
};

static int	 iobuf_reserve(struct iobuf *, size_t, size_t);
static void	 iobuf_drop(struct iobuf *, size_t);
static void	 iobuf_free(struct iobuf *);

static int	 io_callback(struct io *, int);
static void	 io_destroy(struct io *);
static int	 io_fail(struct io *);
static void	 io_defer(struct io *, int);
static void	 io_die_later(struct io *);
static int	 io_can_read(struct io *);
static void	 io_reload(struct io *);
static void	 io_consume(struct io *, size_t);
static void	 io_keep_head(struct io *, const char *, size_t);
static void	 io_idle_reset(struct io *);
static int	 io_fill(struct io *);
static int	 io_flush(struct io *);
static int	 io_handshake(struct io *);
static int	 io_close_step(struct io *);
static void	 io_dispatch(int, short, void *);
static void	 io_deferred(int, short, void *);
static void	 io_timeout(int, short, void *);

/*
 * Make room for want more bytes at the tail.  The caller has checked
 * that len + want <= max.
 */
static int
iobuf_reserve(struct iobuf *b, size_t want, size_t max)
{
	char	*p;
	size_t	 ncap;

	if (b->cap - b->off - b->len >= want)
		return (0);
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		if (b->cap - b->len >= want)
			return (0);
	}
	ncap = b->cap > 0 ? b->cap : IO_BUF_MIN;
	while (ncap - b->len < want && ncap < max)
		ncap = ncap > max / 2 ? max : ncap * 2;
	if (ncap > max)
		ncap = max;
	if (ncap - b->len < want) {
		errno = ENOBUFS;
		return (-1);
	}
	/* recallocarray wipes the old copy: input holds credentials. */
	if ((p = recallocarray(b->data, b->cap, ncap, 1)) == NULL)
		return (-1);
	b->data = p;
	b->cap = ncap;
	return (0);
}

static void
iobuf_drop(struct iobuf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->off += n;
	b->len -= n;
	if (b->len > 0)
		return;
	b->off = 0;
	if (b->cap > IO_BUF_KEEP)
		iobuf_free(b);
}

static void
iobuf_free(struct iobuf *b)
{
	freezero(b->data, b->cap);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

struct io *
io_new(int fd, io_cb cb, void *arg)
{
	struct io	*io;
	int		 fl;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return (NULL);
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return (NULL);
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return (NULL);
	if ((io = calloc(1, sizeof(*io))) == NULL)
		return (NULL);
	if (clock_gettime(CLOCK_MONOTONIC, &io->started) == -1) {
		free(io);
		return (NULL);
	}
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	io->maxline = IO_MAXLINE_DEFAULT;
	io->state = IO_S_CLEAR;
	io->rwant = EV_READ;
	io->wwant = EV_WRITE;
	io->hwant = EV_READ;
	io->cwant = EV_WRITE;
	evtimer_set(&io->ev_idle, io_timeout, io);
	evtimer_set(&io->ev_total, io_timeout, io);
	evtimer_set(&io->ev_defer, io_deferred, io);
	io_reload(io);
	return (io);
}

void
io_free(struct io *io)
{
	if (io == NULL || io->freed)
		return;
	io->freed = 1;
	/* Inside the callback: io_callback() finishes the job. */
	if (io->incb > 0)
		return;
	io_destroy(io);
}

static void
io_destroy(struct io *io)
{
	if (io->evset)
		event_del(&io->ev);
	evtimer_del(&io->ev_idle);
	evtimer_del(&io->ev_total);
	evtimer_del(&io->ev_defer);
	/* No tls_close(): it could block, and the owner is done anyway. */
	if (io->tls != NULL)
		tls_free(io->tls);
	if (close(io->fd) == -1)
		log_debug("%s: close: %s", __func__, strerror(errno));
	iobuf_free(&io->in);
	iobuf_free(&io->out);
	freezero(io->line, io->linecap);
	free(io);
}

/*
 * Call the owner.  Returns -1 when the owner freed the io: the caller
 * must return at once without touching it.
 */
static int
io_callback(struct io *io, int event)
{
	io->incb++;
	io->cb(io, event, io->arg);
	io->incb--;
	if (io->freed) {
		if (io->incb == 0)
			io_destroy(io);
		return (-1);
	}
	return (0);
}

/* A fatal error found in the event loop: stop and tell the owner now. */
static int
io_fail(struct io *io)
{
	io->dead = 1;
	io_reload(io);
	(void)io_callback(io, IO_ERROR);
	return (-1);
}

/* A fatal error found inside an io_*() call: tell the owner soon. */
static void
io_die_later(struct io *io)
{
	/* Already failed or ended: the owner has heard, or will. */
	if (io->dead)
		return;
	io->dead = 1;
	io_reload(io);
	io_defer(io, IO_DEFER_ERROR);
}

static void
io_defer(struct io *io, int what)
{
	struct timeval	 tv = { 0, 0 };

	io->defer |= what;
	if (evtimer_add(&io->ev_defer, &tv) == -1)
		fatal("%s: evtimer_add", __func__);
}

static int
io_can_read(struct io *io)
{
	return (!io->dead && !io->freed && !io->paused && !io->closing &&
	    !io->throttled && io->state != IO_S_HANDSHAKE &&
	    io->in.len < IO_IN_MAX);
}

/* Register the socket event for what the connection needs now. */
static void
io_reload(struct io *io)
{
	short	 flags = 0;
	int	 rd = 0;

	if (io->freed)
		return;
	if (io->dead) {
		if (io->evset)
			event_del(&io->ev);
		io->evset = 0;
		io->reading = 0;
		return;
	}
	if (io->state == IO_S_HANDSHAKE)
		flags = io->clear_left > 0 ? EV_WRITE : io->hwant;
	else {
		if ((rd = io_can_read(io)))
			flags |= io->rwant;
		if (io->out.len > 0)
			flags |= io->wwant;
		else if (io->closing)
			flags |= io->cwant;
	}

	/*
	 * libtls may hold decrypted input that the socket will never
	 * signal: look for it whenever reading is switched back on.
	 */
	if (rd && !io->reading && io->state == IO_S_TLS)
		io_defer(io, IO_DEFER_READ);
	io->reading = rd;

	if (io->evset && flags == io->evflags)
		return;
	if (io->evset)
		event_del(&io->ev);
	io->evset = 0;
	io->evflags = flags;
	if (flags == 0)
		return;
	event_set(&io->ev, io->fd, flags | EV_PERSIST, io_dispatch, io);
	if (event_add(&io->ev, NULL) == -1) {
		log_warn("%s: event_add", __func__);
		io_die_later(io);
		return;
	}
	io->evset = 1;
}

static void
io_idle_reset(struct io *io)
{
	struct timeval	 tv;

	if (io->idle_s == 0 || io->timedout)
		return;
	tv.tv_sec = io->idle_s;
	tv.tv_usec = 0;
	if (evtimer_add(&io->ev_idle, &tv) == -1) {
		log_warn("%s: evtimer_add", __func__);
		io_die_later(io);
	}
}

/*
 * Read what is there, once in clear (the event is level-triggered) and
 * until libtls has nothing more with TLS.  Returns -1 when the io must
 * not be touched any more.
 */
static int
io_fill(struct io *io)
{
	char	*p, *lf;
	size_t	 room, added = 0, skip;
	ssize_t	 n;
	int	 eof = 0, err = 0, got = 0;

	for (;;) {
		if ((room = IO_IN_MAX - io->in.len) == 0) {
			/*
			 * libtls may keep the rest of a record: make the
			 * next io_reload() that finds reading possible
			 * again look for it.
			 */
			io->reading = 0;
			break;
		}
		if (room > IO_READ_CHUNK)
			room = IO_READ_CHUNK;
		if (iobuf_reserve(&io->in, room, IO_IN_MAX) == -1) {
			log_warn("%s: input buffer", __func__);
			err = 1;
			break;
		}
		p = io->in.data + io->in.off + io->in.len;
		if (io->state == IO_S_TLS) {
			n = tls_read(io->tls, p, room);
			if (n == TLS_WANT_POLLIN) {
				io->rwant = EV_READ;
				break;
			}
			if (n == TLS_WANT_POLLOUT) {
				io->rwant = EV_WRITE;
				break;
			}
			io->rwant = EV_READ;
			if (n == -1)
				log_debug("%s: tls_read: %s", __func__,
				    tls_error(io->tls));
		} else {
			n = read(io->fd, p, room);
			if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK || errno == EINTR))
				break;
			if (n == -1)
				log_debug("%s: read: %s", __func__,
				    strerror(errno));
		}
		if (n < 0) {
			err = 1;
			break;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		got = 1;
		/*
		 * The rest of an over-long line is dropped as it comes;
		 * while discarding the buffer is empty, so the new bytes
		 * are all it would hold.
		 */
		if (io->discarding) {
			if ((lf = memchr(p, '\n', n)) == NULL)
				n = 0;
			else {
				skip = lf - p + 1;
				memmove(p, lf + 1, n - skip);
				n -= skip;
				io->discarding = 0;
			}
		}
		io->in.len += n;
		added += n;
		if (io->state != IO_S_TLS)
			break;
	}

	if (got)
		io_idle_reset(io);
	if (added > 0 && !io->dead) {
		if (io_callback(io, IO_DATAIN) == -1)
			return (-1);
	}
	if (err) {
		if (io->dead)
			return (-1);
		return (io_fail(io));
	}
	if (eof) {
		if (io->dead)
			return (-1);
		io->dead = 1;
		io_reload(io);
		(void)io_callback(io, IO_DISCONNECTED);
		return (-1);
	}
	return (0);
}

/*
 * Write what the socket takes.  Before the handshake only the bytes
 * queued before io_start_tls() go out, in clear.  Returns -1 when the
 * io must not be touched any more.
 */
static int
io_flush(struct io *io)
{
	size_t	 before, n;
	ssize_t	 w;

	before = io->out.len;
	while (io->out.len > 0) {
		n = io->out.len;
		if (io->state == IO_S_HANDSHAKE) {
			if (io->clear_left == 0)
				break;
			if (n > io->clear_left)
				n = io->clear_left;
		}
		if (io->state == IO_S_TLS) {
			/*
			 * libtls retries with a buffer that may have moved
			 * but is never shorter: the queue only grows until
			 * this write is done.
			 */
			if (n > IO_TLS_CHUNK)
				n = IO_TLS_CHUNK;
			w = tls_write(io->tls, io->out.data + io->out.off, n);
			if (w == TLS_WANT_POLLIN) {
				io->wwant = EV_READ;
				break;
			}
			if (w == TLS_WANT_POLLOUT) {
				io->wwant = EV_WRITE;
				break;
			}
			io->wwant = EV_WRITE;
			if (w == -1) {
				log_debug("%s: tls_write: %s", __func__,
				    tls_error(io->tls));
				return (io_fail(io));
			}
		} else {
			/* A closed peer is an error, not a SIGPIPE. */
			w = send(io->fd, io->out.data + io->out.off, n,
			    MSG_NOSIGNAL);
			if (w == -1) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == EINTR)
					break;
				log_debug("%s: send: %s", __func__,
				    strerror(errno));
				return (io_fail(io));
			}
		}
		if (w <= 0)
			break;
		if (io->state == IO_S_HANDSHAKE)
			io->clear_left -= w;
		iobuf_drop(&io->out, w);
	}
	if (io->throttled && io->out.len <= IO_OUT_LOWAT)
		io->throttled = 0;
	if (before > IO_OUT_LOWAT && io->out.len <= IO_OUT_LOWAT)
		return (io_callback(io, IO_LOWAT));
	return (0);
}

static int
io_handshake(struct io *io)
{
	int	 r;

	r = tls_handshake(io->tls);
	if (r == TLS_WANT_POLLIN) {
		io->hwant = EV_READ;
		return (0);
	}
	if (r == TLS_WANT_POLLOUT) {
		io->hwant = EV_WRITE;
		return (0);
	}
	if (r == -1) {
		log_debug("%s: tls_handshake: %s", __func__,
		    tls_error(io->tls));
		return (io_fail(io));
	}
	io->state = IO_S_TLS;
	io->rwant = EV_READ;
	io->wwant = EV_WRITE;
	io_idle_reset(io);
	return (io_callback(io, IO_TLSREADY));
}

/*
 * Everything is written: close TLS as far as it goes without waiting
 * for the peer, then tell the owner.  Returns -1 when done (the io must
 * not be touched any more), 0 when libtls needs to write first.
 */
static int
io_close_step(struct io *io)
{
	int	 r;

	if (io->state == IO_S_TLS) {
		r = tls_close(io->tls);
		if (r == TLS_WANT_POLLOUT) {
			io->cwant = EV_WRITE;
			return (0);
		}
		/* TLS_WANT_POLLIN would wait for the peer: that is enough. */
		if (r == -1)
			log_debug("%s: tls_close: %s", __func__,
			    tls_error(io->tls));
	}
	io->dead = 1;
	io_reload(io);
	(void)io_callback(io, IO_DISCONNECTED);
	return (-1);
}

static void
io_dispatch(int fd, short ev, void *arg)
{
	struct io	*io = arg;

	(void)fd;
	if (io->dead)
		return;

	if (io->state == IO_S_HANDSHAKE) {
		if (io->clear_left > 0) {
			if ((ev & EV_WRITE) && io_flush(io) == -1)
				return;
		} else if (ev & io->hwant) {
			if (io_handshake(io) == -1)
				return;
		}
		io_reload(io);
		return;
	}

	if (io->out.len > 0 && (ev & io->wwant)) {
		if (io_flush(io) == -1)
			return;
	}
	/* The owner may have changed everything from IO_LOWAT. */
	if (io->dead || io->state == IO_S_HANDSHAKE) {
		io_reload(io);
		return;
	}
	if (io->closing && io->out.len == 0 && (ev & io->cwant)) {
		if (io_close_step(io) == -1)
			return;
	} else if (io_can_read(io) && (ev & io->rwant)) {
		if (io_fill(io) == -1)
			return;
	}
	io_reload(io);
}

static void
io_deferred(int fd, short ev, void *arg)
{
	struct io	*io = arg;
	int		 what;

	(void)fd;
	(void)ev;
	what = io->defer;
	io->defer = 0;
	if (what & IO_DEFER_ERROR) {
		(void)io_callback(io, IO_ERROR);
		return;
	}
	if (io->dead)
		return;
	if ((what & IO_DEFER_DATAIN) && io->in.len > 0 && !io->paused) {
		if (io_callback(io, IO_DATAIN) == -1)
			return;
	}
	if ((what & IO_DEFER_READ) && io->state == IO_S_TLS &&
	    io_can_read(io)) {
		if (io_fill(io) == -1)
			return;
	}
	io_reload(io);
}

static void
io_timeout(int fd, short ev, void *arg)
{
	struct io	*io = arg;

	(void)fd;
	(void)ev;
	if (io->dead || io->timedout)
		return;
	io->timedout = 1;
	evtimer_del(&io->ev_idle);
	evtimer_del(&io->ev_total);
	(void)io_callback(io, IO_TIMEOUT);
}

void
io_set_maxline(struct io *io, size_t max)
{
	if (max > IO_MAXLINE_MAX)
		max = IO_MAXLINE_MAX;
	io->maxline = max;
}

void
io_set_timeouts(struct io *io, unsigned int idle_s, unsigned int total_s)
{
	struct timespec	 now, end;
	struct timeval	 tv;

	if (io->timedout || io->closing)
		return;
	io->idle_s = idle_s;
	if (idle_s > 0)
		io_idle_reset(io);
	else
		evtimer_del(&io->ev_idle);

	if (total_s == 0) {
		evtimer_del(&io->ev_total);
		return;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		fatal("%s: clock_gettime", __func__);
	/* The session limit counts from io_new(), not from now. */
	end = io->started;
	end.tv_sec += total_s;
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	if (end.tv_sec > now.tv_sec ||
	    (end.tv_sec == now.tv_sec && end.tv_nsec > now.tv_nsec)) {
		tv.tv_sec = end.tv_sec - now.tv_sec;
		if (end.tv_nsec >= now.tv_nsec)
			tv.tv_usec = (end.tv_nsec - now.tv_nsec) / 1000;
		else {
			tv.tv_sec--;
			tv.tv_usec = (end.tv_nsec + 1000000000L -
			    now.tv_nsec) / 1000;
		}
	}
	if (evtimer_add(&io->ev_total, &tv) == -1) {
		log_warn("%s: evtimer_add", __func__);
		io_die_later(io);
	}
}

int
io_start_tls(struct io *io, struct tls *ctx)
{
	if (ctx == NULL || io->tls != NULL || io->dead || io->closing)
		return (-1);
	if (tls_accept_socket(ctx, &io->tls, io->fd) == -1) {
		log_warnx("%s: tls_accept_socket: %s", __func__,
		    tls_error(ctx));
		io->tls = NULL;
		return (-1);
	}
	/*
	 * Whatever the client sent before the handshake is dropped: a
	 * command pipelined after STARTTLS must not be taken as if it
	 * had come over TLS.  Reading stays off until the handshake, so
	 * anything still in the socket goes to libtls (and fails it).
	 */
	iobuf_drop(&io->in, io->in.len);
	io->discarding = 0;
	io->state = IO_S_HANDSHAKE;
	io->clear_left = io->out.len;
	io->hwant = EV_READ;
	io_reload(io);
	return (0);
}

int
io_is_tls(struct io *io)
{
	return (io->state == IO_S_TLS);
}

const char *
io_tls_version(struct io *io)
{
	if (io->state != IO_S_TLS)
		return (NULL);
	return (tls_conn_version(io->tls));
}

const char *
io_tls_cipher(struct io *io)
{
	if (io->state != IO_S_TLS)
		return (NULL);
	return (tls_conn_cipher(io->tls));
}

int
io_fd(struct io *io)
{
	return (io->fd);
}

/* Take n bytes off the input; reading may start again. */
static void
io_consume(struct io *io, size_t n)
{
	iobuf_drop(&io->in, n);
	io_reload(io);
}

/*
 * The start of a line about to be discarded as too long: the protocol
 * may want to answer its command (an IMAP tag).
 */
static void
io_keep_head(struct io *io, const char *buf, size_t len)
{
	io->headlen = len < sizeof(io->head) ? len : sizeof(io->head);
	memcpy(io->head, buf, io->headlen);
}

const char *
io_toolong_head(struct io *io, size_t *len)
{
	*len = io->headlen;
	return (io->head);
}

int
io_getline(struct io *io, char **line, size_t *len, int *flags)
{
	char	*buf, *lf, *p;
	size_t	 n, clen, ncap;
	int	 f = 0;

	*line = NULL;
	*len = 0;
	*flags = 0;
	if (io->in.len == 0)
		return (IO_LINE_NONE);
	buf = io->in.data + io->in.off;

	if ((lf = memchr(buf, '\n', io->in.len)) == NULL) {
		/*
		 * Too long already, unless the last byte is a CR that the
		 * coming LF will turn into the terminator.
		 */
		if (io->in.len > io->maxline + 1 ||
		    (io->in.len == io->maxline + 1 &&
		    buf[io->in.len - 1] != '\r')) {
			io_keep_head(io, buf, io->in.len);
			io->discarding = 1;
			io_consume(io, io->in.len);
			return (IO_LINE_TOOLONG);
		}
		return (IO_LINE_NONE);
	}

	n = lf - buf;
	clen = n;
	if (clen > 0 && buf[clen - 1] == '\r')
		clen--;
	else
		f |= IO_LINE_BARELF;
	if (clen > io->maxline) {
		io_keep_head(io, buf, clen);
		io_consume(io, n + 1);
		return (IO_LINE_TOOLONG);
	}

	if (io->linecap < clen + 1) {
		ncap = clen + 1 < 128 ? 128 : clen + 1;
		if ((p = recallocarray(io->line, io->linecap, ncap, 1)) ==
		    NULL) {
			log_warn("%s: line buffer", __func__);
			io_die_later(io);
			return (IO_LINE_NONE);
		}
		io->line = p;
		io->linecap = ncap;
	}
	memcpy(io->line, buf, clen);
	io->line[clen] = '\0';
	if (memchr(io->line, '\0', clen) != NULL)
		f |= IO_LINE_NUL;
	/* The CR of a CRLF is gone: any CR left is a bare one. */
	if (memchr(io->line, '\r', clen) != NULL)
		f |= IO_LINE_BARECR;
	io_consume(io, n + 1);

	*line = io->line;
	*len = clen;
	*flags = f;
	return (IO_LINE_OK);
}

size_t
io_datalen(struct io *io)
{
	return (io->in.len);
}

const void *
io_data(struct io *io)
{
	if (io->in.data == NULL)
		return ("");
	return (io->in.data + io->in.off);
}

void
io_drop(struct io *io, size_t n)
{
	io_consume(io, n);
}

void
io_pause(struct io *io)
{
	io->paused = 1;
	io_reload(io);
}

void
io_resume(struct io *io)
{
	if (!io->paused)
		return;
	io->paused = 0;
	/* Input that came before the pause was never handled. */
	if (io->in.len > 0 && !io->dead)
		io_defer(io, IO_DEFER_DATAIN);
	io_reload(io);
}

int
io_write(struct io *io, const void *data, size_t len)
{
	if (io->dead || io->freed)
		return (-1);
	if (len == 0)
		return (0);
	if (len > IO_OUT_MAX - io->out.len) {
		log_debug("%s: output queue over %d bytes", __func__,
		    IO_OUT_MAX);
		io_die_later(io);
		return (-1);
	}
	if (iobuf_reserve(&io->out, len, IO_OUT_MAX) == -1) {
		log_warn("%s: output buffer", __func__);
		io_die_later(io);
		return (-1);
	}
	memcpy(io->out.data + io->out.off + io->out.len, data, len);
	io->out.len += len;
	if (io->out.len > IO_OUT_HIWAT)
		io->throttled = 1;
	io_reload(io);
	return (0);
}

int
io_printf(struct io *io, const char *fmt, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = io_vprintf(io, fmt, ap);
	va_end(ap);
	return (r);
}

int
io_vprintf(struct io *io, const char *fmt, va_list ap)
{
	char	*s;
	int	 n, r;

	if (io->dead || io->freed)
		return (-1);
	if ((n = vasprintf(&s, fmt, ap)) == -1) {
		log_warn("%s: vasprintf", __func__);
		io_die_later(io);
		return (-1);
	}
	r = io_write(io, s, n);
	freezero(s, n);
	return (r);
}

size_t
io_queued(struct io *io)
{
	return (io->out.len);
}

/* A closing connection whose client does not read is dropped. */
static void
io_linger(int fd, short ev, void *arg)
{
	struct io	*io = arg;

	(void)fd;
	(void)ev;
	if (io->dead)
		return;
	log_debug("io: output not read within %d s of closing; dropped",
	    IO_LINGER);
	(void)io_fail(io);
}

void
io_close_when_flushed(struct io *io)
{
	struct timeval	 tv;

	if (io->dead || io->closing)
		return;
	io->closing = 1;
	/* The total timer is done with: it now bounds the flush. */
	evtimer_del(&io->ev_total);
	evtimer_set(&io->ev_total, io_linger, io);
	tv.tv_sec = IO_LINGER;
	tv.tv_usec = 0;
	if (evtimer_add(&io->ev_total, &tv) == -1) {
		log_warn("%s: evtimer_add", __func__);
		io_die_later(io);
	}
	io_reload(io);
}
