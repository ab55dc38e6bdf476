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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <tls.h>
#include <zlib.h>

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

/*
 * COMPRESS=DEFLATE: raw DEFLATE (no zlib header) both ways.  The window
 * is the largest (a client may use it, and ours does not cost the
 * peer); memLevel 5 instead of zlib's 8 takes the deflate state from
 * 256 KB to about 144 KB for a few percent of ratio on mail text.
 * IO_Z_CHUNK bounds the compressed octets held each way.
 */
#define IO_Z_WBITS		(-15)
#define IO_Z_MEMLEVEL		5
#define IO_Z_LEVEL		6
#define IO_Z_CHUNK		(16 * 1024)

/* Work the event loop does later, never from inside an io_*() call. */
#define IO_DEFER_ERROR		0x01	/* report IO_ERROR */
#define IO_DEFER_DATAIN		0x02	/* report buffered input */
#define IO_DEFER_READ		0x04	/* read what libtls or zlib holds */

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

	/* COMPRESS: zout is compressed output, zin compressed input. */
	z_stream	*zdef;
	z_stream	*zinf;
	struct iobuf	 zin;
	struct iobuf	 zout;
	size_t		 plain_left;	/* output to send before deflate */
	size_t		 zmem;		/* bytes zlib holds */
	int		 zdirty;	/* deflate holds unflushed input */
	int		 zmore;		/* inflate may have more output */

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
static int	 io_in_room(struct io *, char **, size_t *);
static ssize_t	 io_read_wire(struct io *, char *, size_t);
static size_t	 io_discard(struct io *, char *, size_t);
static int	 io_filled(struct io *, size_t, int, int, int);
static int	 io_fill(struct io *);
static int	 io_fill_z(struct io *);
static ssize_t	 io_inflate(struct io *, char *, size_t);
static int	 io_deflate(struct io *);
static int	 io_pending(struct io *);
static voidpf	 io_zalloc(voidpf, uInt, uInt);
static void	 io_zfree(voidpf, voidpf);
static void	 io_z_end(struct io *);
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
	io_z_end(io);
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
		if (io_pending(io))
			flags |= io->wwant;
		else if (io->closing)
			flags |= io->cwant;
	}

	/*
	 * libtls may hold decrypted input, and zin and zlib compressed
	 * input, that the socket will never signal: look for it whenever
	 * reading is switched back on.
	 */
	if (rd && !io->reading && (io->state == IO_S_TLS ||
	    io->zinf != NULL))
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
 * Room at the tail of the input buffer for the next read or inflate, at
 * most IO_READ_CHUNK.  1: p and room are set, 0: the buffer is full, -1:
 * no memory.
 */
static int
io_in_room(struct io *io, char **p, size_t *room)
{
	if ((*room = IO_IN_MAX - io->in.len) == 0) {
		/*
		 * libtls may keep the rest of a record, zin and zlib the
		 * rest of compressed input: make the next io_reload() that
		 * finds reading possible again look for it.
		 */
		io->reading = 0;
		return (0);
	}
	if (*room > IO_READ_CHUNK)
		*room = IO_READ_CHUNK;
	if (iobuf_reserve(&io->in, *room, IO_IN_MAX) == -1) {
		log_warn("%s: input buffer", __func__);
		return (-1);
	}
	*p = io->in.data + io->in.off + io->in.len;
	return (1);
}

/*
 * One read from the socket, or from libtls.  Returns the bytes read, 0
 * at the end, -1 on an error, -2 when there is nothing now.
 */
static ssize_t
io_read_wire(struct io *io, char *p, size_t room)
{
	ssize_t	 n;

	if (io->state == IO_S_TLS) {
		n = tls_read(io->tls, p, room);
		if (n == TLS_WANT_POLLIN) {
			io->rwant = EV_READ;
			return (-2);
		}
		if (n == TLS_WANT_POLLOUT) {
			io->rwant = EV_WRITE;
			return (-2);
		}
		io->rwant = EV_READ;
		if (n == -1)
			log_debug("%s: tls_read: %s", __func__,
			    tls_error(io->tls));
		return (n < 0 ? -1 : n);
	}
	n = read(io->fd, p, room);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return (-2);
	if (n == -1)
		log_debug("%s: read: %s", __func__, strerror(errno));
	return (n);
}

/*
 * The rest of an over-long line is dropped as it comes; while
 * discarding the buffer is empty, so the n new bytes at p are all it
 * would hold.  Returns how many of them to keep.
 */
static size_t
io_discard(struct io *io, char *p, size_t n)
{
	char	*lf;
	size_t	 skip;

	if (!io->discarding)
		return (n);
	if ((lf = memchr(p, '\n', n)) == NULL)
		return (0);
	skip = lf - p + 1;
	memmove(p, lf + 1, n - skip);
	io->discarding = 0;
	return (n - skip);
}

/* After a fill: tell the owner.  -1 when the io must not be touched. */
static int
io_filled(struct io *io, size_t added, int got, int eof, int err)
{
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
 * Read what is there, once in clear (the event is level-triggered) and
 * until libtls has nothing more with TLS.  Returns -1 when the io must
 * not be touched any more.
 */
static int
io_fill(struct io *io)
{
	char	*p;
	size_t	 room, added = 0;
	ssize_t	 n;
	int	 eof = 0, err = 0, got = 0, r;

	if (io->zinf != NULL)
		return (io_fill_z(io));
	for (;;) {
		if ((r = io_in_room(io, &p, &room)) <= 0) {
			err = r == -1;
			break;
		}
		if ((n = io_read_wire(io, p, room)) == -2)
			break;
		if (n < 0) {
			err = 1;
			break;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		got = 1;
		n = io_discard(io, p, n);
		io->in.len += n;
		added += n;
		if (io->state != IO_S_TLS)
			break;
	}
	return (io_filled(io, added, got, eof, err));
}

/*
 * The same with COMPRESS: compressed octets go to zin (at most
 * IO_Z_CHUNK) and are inflated into the input buffer, never past
 * IO_IN_MAX.  When the input buffer is full the rest waits in zin and
 * in zlib, and nothing more is read from the socket: a small input
 * that inflates to much (a bomb) fills the buffer and stops there,
 * like uncompressed input.  One call inflates at most IO_IN_MAX octets
 * (what is discarded counts) and then lets the other connections run.
 */
static int
io_fill_z(struct io *io)
{
	char	*p;
	size_t	 room, added = 0, made = 0;
	ssize_t	 n;
	int	 eof = 0, err = 0, got = 0, reads = 0, r;

	for (;;) {
		if (made >= IO_IN_MAX && io->in.len < IO_IN_MAX) {
			io_defer(io, IO_DEFER_READ);
			break;
		}
		if ((r = io_in_room(io, &p, &room)) <= 0) {
			err = r == -1;
			break;
		}
		if (io->zin.len > 0 || io->zmore) {
			if ((n = io_inflate(io, p, room)) == -1) {
				err = 1;
				break;
			}
			if (n > 0) {
				made += n;
				n = io_discard(io, p, n);
				io->in.len += n;
				added += n;
				continue;
			}
		}
		/* zin is used up: read more, once in clear. */
		if (reads > 0 && io->state != IO_S_TLS)
			break;
		if (iobuf_reserve(&io->zin, IO_Z_CHUNK, IO_Z_CHUNK) == -1) {
			log_warn("%s: compressed input buffer", __func__);
			err = 1;
			break;
		}
		n = io_read_wire(io, io->zin.data + io->zin.off +
		    io->zin.len, IO_Z_CHUNK - io->zin.len);
		if (n == -2)
			break;
		if (n < 0) {
			err = 1;
			break;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		got = 1;
		reads++;
		io->zin.len += n;
	}
	return (io_filled(io, added, got, eof, err));
}

/*
 * Inflate what zin holds into room octets at p.  Returns the octets
 * made (0: zin is used up), -1 if the stream is corrupt or ended.
 */
static ssize_t
io_inflate(struct io *io, char *p, size_t room)
{
	z_stream	*z = io->zinf;
	size_t		 used, made;
	int		 r;

	/* Nothing in zin (zmore): no pointer arithmetic on NULL. */
	z->next_in = io->zin.len > 0 ?
	    (Bytef *)(io->zin.data + io->zin.off) : Z_NULL;
	z->avail_in = io->zin.len;
	z->next_out = (Bytef *)p;
	z->avail_out = room;
	r = inflate(z, Z_NO_FLUSH);
	used = io->zin.len - z->avail_in;
	made = room - z->avail_out;
	iobuf_drop(&io->zin, used);
	/* A full output may leave more inside zlib, without input. */
	io->zmore = z->avail_out == 0;
	if (r == Z_BUF_ERROR) {
		/* No progress possible: more input is needed. */
		io->zmore = 0;
		return (made);
	}
	if (r == Z_STREAM_END) {
		log_warnx("io: fd %d: the client ended its compressed "
		    "stream", io->fd);
		return (-1);
	}
	if (r != Z_OK) {
		log_warnx("io: fd %d: corrupt compressed input: %s", io->fd,
		    z->msg != NULL ? z->msg : "inflate failed");
		return (-1);
	}
	return (made);
}

/*
 * Compress queued output into zout, as far as zout has room.  Every
 * time the queue is used up the stream is flushed (Z_SYNC_FLUSH): the
 * client gets each reply whole, now.  Returns -1 on a zlib error.
 */
static int
io_deflate(struct io *io)
{
	z_stream	*z = io->zdef;
	size_t		 n, room, used, made;
	int		 flush, r;

	/* What was queued before COMPRESS goes out first, as it is. */
	if (io->plain_left > 0)
		return (0);
	for (;;) {
		n = io->out.len;
		if (n == 0 && !io->zdirty)
			return (0);
		if (iobuf_reserve(&io->zout, 1, IO_Z_CHUNK) == -1) {
			/* Full: the socket drains it.  Empty: no memory. */
			if (io->zout.len > 0)
				return (0);
			log_warn("%s: compressed output buffer", __func__);
			return (-1);
		}
		room = io->zout.cap - io->zout.off - io->zout.len;
		if (n > IO_Z_CHUNK)
			n = IO_Z_CHUNK;
		flush = n == io->out.len ? Z_SYNC_FLUSH : Z_NO_FLUSH;
		z->next_in = (Bytef *)(io->out.data + io->out.off);
		z->avail_in = n;
		z->next_out = (Bytef *)(io->zout.data + io->zout.off +
		    io->zout.len);
		z->avail_out = room;
		r = deflate(z, flush);
		if (r != Z_OK && r != Z_BUF_ERROR) {
			log_warnx("io: fd %d: deflate: %s", io->fd,
			    z->msg != NULL ? z->msg : "failed");
			return (-1);
		}
		used = n - z->avail_in;
		made = room - z->avail_out;
		iobuf_drop(&io->out, used);
		io->zout.len += made;
		/* A sync flush is done when it left room in the output. */
		io->zdirty = !(flush == Z_SYNC_FLUSH && z->avail_out > 0);
		if (used == 0 && made == 0)
			return (0);
	}
}

/* Anything still to send. */
static int
io_pending(struct io *io)
{
	return (io->out.len > 0 || io->zout.len > 0 || io->zdirty);
}

/*
 * zlib's memory: counted, and wiped when given back (it held message
 * text and, in the window, what the client sent).
 */
static voidpf
io_zalloc(voidpf opaque, uInt items, uInt size)
{
	struct io	*io = opaque;
	size_t		*p, n;

	if (size != 0 && items > (SIZE_MAX - sizeof(max_align_t)) / size)
		return (Z_NULL);
	n = (size_t)items * size;
	/* The length goes in front, in a slot that keeps the alignment. */
	if ((p = calloc(1, n + sizeof(max_align_t))) == NULL)
		return (Z_NULL);
	*p = n;
	io->zmem += n;
	return ((char *)p + sizeof(max_align_t));
}

static void
io_zfree(voidpf opaque, voidpf address)
{
	struct io	*io = opaque;
	size_t		*p;

	if (address == Z_NULL)
		return;
	p = (size_t *)(void *)((char *)address - sizeof(max_align_t));
	io->zmem -= *p;
	freezero(p, *p + sizeof(max_align_t));
}

static void
io_z_end(struct io *io)
{
	if (io->zdef != NULL) {
		(void)deflateEnd(io->zdef);
		freezero(io->zdef, sizeof(*io->zdef));
		io->zdef = NULL;
	}
	if (io->zinf != NULL) {
		(void)inflateEnd(io->zinf);
		freezero(io->zinf, sizeof(*io->zinf));
		io->zinf = NULL;
	}
	iobuf_free(&io->zin);
	iobuf_free(&io->zout);
}

/*
 * Write what the socket takes.  Before the handshake only the bytes
 * queued before io_start_tls() go out, in clear.  Returns -1 when the
 * io must not be touched any more.
 */
static int
io_flush(struct io *io)
{
	struct iobuf	*b;
	size_t		 before, n;
	ssize_t		 w;

	before = io->out.len;
	for (;;) {
		/*
		 * With COMPRESS the socket takes zout, which deflate fills
		 * from the queue as it drains: the queue still holds what
		 * the client has not got, in clear, for the marks.
		 */
		b = &io->out;
		if (io->zdef != NULL && io->plain_left == 0) {
			if (io_deflate(io) == -1)
				return (io_fail(io));
			b = &io->zout;
		}
		if (b->len == 0)
			break;
		n = b->len;
		if (io->state == IO_S_HANDSHAKE) {
			if (io->clear_left == 0)
				break;
			if (n > io->clear_left)
				n = io->clear_left;
		}
		if (b == &io->out && io->plain_left > 0 && n > io->plain_left)
			n = io->plain_left;
		if (io->state == IO_S_TLS) {
			/*
			 * libtls retries with a buffer that may have moved
			 * but is never shorter: the queue only grows until
			 * this write is done.
			 */
			if (n > IO_TLS_CHUNK)
				n = IO_TLS_CHUNK;
			w = tls_write(io->tls, b->data + b->off, n);
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
			w = send(io->fd, b->data + b->off, n, MSG_NOSIGNAL);
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
		if (b == &io->out && io->plain_left > 0)
			io->plain_left -= w;
		iobuf_drop(b, w);
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

	if (io_pending(io) && (ev & io->wwant)) {
		if (io_flush(io) == -1)
			return;
	}
	/* The owner may have changed everything from IO_LOWAT. */
	if (io->dead || io->state == IO_S_HANDSHAKE) {
		io_reload(io);
		return;
	}
	if (io->closing && !io_pending(io) && (ev & io->cwant)) {
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
	if ((what & IO_DEFER_READ) && (io->state == IO_S_TLS ||
	    io->zinf != NULL) && io_can_read(io)) {
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
	/* TLS under compression would be TLS inside DEFLATE: no. */
	if (ctx == NULL || io->tls != NULL || io->zdef != NULL || io->dead ||
	    io->closing)
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

/*
 * COMPRESS=DEFLATE (RFC 4978) from here on, both ways.  What is queued
 * now (the tagged OK) goes out as it is; what is written after is
 * compressed.  Input buffered after the command line is the start of
 * the client's compressed stream: it moves to zin.
 */
int
io_start_compress(struct io *io)
{
	z_stream	*d = NULL, *f = NULL;
	struct iobuf	 t;

	if (io->zdef != NULL || io->dead || io->closing ||
	    io->state == IO_S_HANDSHAKE)
		return (-1);
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (f = calloc(1, sizeof(*f))) == NULL) {
		log_warn("%s: calloc", __func__);
		free(d);
		return (-1);
	}
	d->zalloc = f->zalloc = io_zalloc;
	d->zfree = f->zfree = io_zfree;
	d->opaque = f->opaque = io;
	if (deflateInit2(d, IO_Z_LEVEL, Z_DEFLATED, IO_Z_WBITS,
	    IO_Z_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		log_warnx("%s: deflateInit2 failed", __func__);
		free(d);
		free(f);
		return (-1);
	}
	if (inflateInit2(f, IO_Z_WBITS) != Z_OK) {
		log_warnx("%s: inflateInit2 failed", __func__);
		(void)deflateEnd(d);
		free(d);
		free(f);
		return (-1);
	}
	io->zdef = d;
	io->zinf = f;
	io->plain_left = io->out.len;
	io->discarding = 0;
	if (io->in.len > 0) {
		t = io->zin;
		io->zin = io->in;
		io->in = t;
	}
	io->reading = 0;	/* io_reload() looks at zin */
	io_reload(io);
	return (0);
}

int
io_is_compressed(struct io *io)
{
	return (io->zdef != NULL);
}

size_t
io_compress_mem(struct io *io)
{
	return (io->zmem);
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
