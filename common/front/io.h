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
 * io: one client connection on libevent, in clear or over libtls.
 *
 * The owner gets events through one callback and pulls input out as
 * lines (with a hard maximum length) or as raw bytes (for message data
 * and literals).  Output is queued and written when the socket allows;
 * when too much is queued the connection stops reading its input until
 * the client has caught up (IO_LOWAT tells the owner it may produce
 * more), and past a hard cap it is an error.  Timeouts: idle (no input)
 * and total (the whole session).
 *
 * STARTTLS: io_start_tls() discards every byte the client sent before
 * the handshake, so no command can be smuggled across the upgrade.
 *
 * The contract, in short (common/front/io.c has the details):
 * - io_new() makes the socket non-blocking and starts reading; it owns
 *   the fd from then on (io_free() closes it).  On failure (NULL) the
 *   fd is left alone.  The caller has done event_init().
 * - Events come only from the event loop, never from inside an io_*()
 *   call.  The callback may call io_free() on its io.  After IO_ERROR or
 *   IO_DISCONNECTED nothing more happens: the owner frees the io.
 *   IO_TIMEOUT comes once; the connection still works after it (to say
 *   goodbye with io_close_when_flushed()).  The idle timer also runs
 *   while reading is paused or held back by a full output queue.
 * - io_getline()'s line and io_data()'s bytes are valid until the next
 *   io_*() call on that io.
 * - io_resume() with input already buffered brings an IO_DATAIN soon.
 * - io_close_when_flushed() gives the client IO_LINGER seconds to read
 *   what is queued; then the connection fails (IO_ERROR).
 * - io_write() and friends return -1 once the connection has failed
 *   (the IO_ERROR is on its way) or has ended.
 * - io_start_tls() returns -1 if TLS was already started or the
 *   connection is failed or closing.  io_is_tls(), io_tls_version() and
 *   io_tls_cipher() answer for an established session only (after
 *   IO_TLSREADY).
 * - io_start_compress() turns on COMPRESS=DEFLATE (RFC 4978) both
 *   ways, after what is queued: it returns -1 if compression is on
 *   already, during a TLS handshake, or once failed or closing.  The
 *   lines, raw data, queue and marks are the uncompressed octets.
 *   io_compress_mem() is what zlib holds for the io (fixed once on).
 * - libtls writes with write(2): the process must ignore SIGPIPE.
 */

#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <stdarg.h>

struct io;
struct tls;

enum io_event {
	IO_TLSREADY,		/* TLS handshake done */
	IO_DATAIN,		/* new input is buffered */
	IO_LOWAT,		/* output queue drained below the low mark */
	IO_TIMEOUT,		/* idle or session timeout */
	IO_DISCONNECTED,	/* peer closed the connection */
	IO_ERROR		/* I/O or TLS error, or output cap exceeded */
};

/* Results of io_getline(). */
#define IO_LINE_NONE		0	/* no complete line yet */
#define IO_LINE_OK		1
#define IO_LINE_TOOLONG		(-1)	/* over the limit; it was discarded */

/* Flags a line came with (io_getline's last argument). */
#define IO_LINE_BARELF		0x01	/* ended in LF without CR */
#define IO_LINE_NUL		0x02	/* holds a NUL byte */
#define IO_LINE_BARECR		0x04	/* holds a CR not followed by LF */

#define IO_OUT_HIWAT		(256 * 1024)
#define IO_OUT_LOWAT		(64 * 1024)
#define IO_OUT_MAX		(4 * 1024 * 1024)
#define IO_IN_MAX		(1024 * 1024)	/* buffered raw input */
#define IO_LINGER		10	/* seconds to flush when closing */
#define IO_LINE_HEAD		256	/* kept of an over-long line */

typedef void (*io_cb)(struct io *, int, void *);

struct io	*io_new(int, io_cb, void *);
void		 io_free(struct io *);
void		 io_set_maxline(struct io *, size_t);
/* The first (at most IO_LINE_HEAD) octets of the last line that
 * io_getline() discarded as too long. */
const char	*io_toolong_head(struct io *, size_t *);
void		 io_set_timeouts(struct io *, unsigned int, unsigned int);
int		 io_start_tls(struct io *, struct tls *);
int		 io_is_tls(struct io *);
const char	*io_tls_version(struct io *);
const char	*io_tls_cipher(struct io *);
int		 io_fd(struct io *);
int		 io_start_compress(struct io *);
int		 io_is_compressed(struct io *);
size_t		 io_compress_mem(struct io *);

int		 io_getline(struct io *, char **, size_t *, int *);
size_t		 io_datalen(struct io *);
const void	*io_data(struct io *);
void		 io_drop(struct io *, size_t);
void		 io_pause(struct io *);
void		 io_resume(struct io *);

int		 io_write(struct io *, const void *, size_t);
int		 io_printf(struct io *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
int		 io_vprintf(struct io *, const char *, va_list)
		    __attribute__((__format__ (printf, 2, 0)));
size_t		 io_queued(struct io *);
void		 io_close_when_flushed(struct io *);

/* TLS contexts (tls.c). */
struct tls	*tls_server_new(const void *, size_t, const void *, size_t,
		    const char *, char *, size_t);

#endif /* IO_H */
