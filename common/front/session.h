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
 * session: the one runtime of the fronts.  A session is one client
 * connection of a line-based protocol (SMTP, IMAP, POP3) on top of io.
 * The runtime does everything that is not the protocol: it greets
 * (after the TLS handshake on an implicit-TLS listener), reads input in
 * the shape the protocol asks for, runs STARTTLS, holds input while the
 * session waits, paces large output, sends delayed replies, applies the
 * timeouts, forgets a vault request when the session ends first, and
 * returns the connection's slot to the front.  The protocol files parse
 * commands and write replies; nothing else.
 *
 * Lifetime.  session_accept() makes the session (its id comes from the
 * one counter of the process) and calls the protocol's start hook, then
 * greet.  The session ends when the client goes, the connection fails,
 * or after session_close() once the output is sent; the free hook then
 * lets the protocol drop what it holds, and the session is gone: no
 * hook is called for it after that.
 *
 * Input, in one of three shapes, in the order it came:
 * - lines (the default), at most maxline octets (session_set_maxline()),
 *   to the line hook; an over-long line is discarded and the toolong
 *   hook called instead;
 * - raw octets: session_raw(s, n) hands the next n octets to the raw
 *   hook as they come (an IMAP literal), then lines resume;
 * - the protocol's own: while session_own_input(s, 1), the input hook
 *   takes octets itself with session_data() and session_drop() (SMTP
 *   DATA, which must see each line's exact end, and BDAT chunks).  It
 *   returns 0 when it needs more input.
 *
 * Held input.  A session that waits takes no input: session_hold()
 * until session_release().  The complete lines a client pipelined meanwhile
 * stay in the connection's input buffer, unread, in order, and reading
 * from the socket stops: the held input is bounded by IO_IN_MAX and by
 * the line length, and a client that sends more only fills its own
 * socket buffers.  Release hands the held lines over, in order, from the
 * event loop.  STARTTLS discards them (io_start_tls()): nothing sent
 * in clear is taken after the handshake.
 *
 * The vault request in flight.  A session that asks the vault puts the
 * request id in s->req and holds its input; the answer's handler sets
 * s->req to 0 (and releases or goes on).  A session that ends while
 * s->req is set cancels the request, so the late answer is dropped by
 * the front and never reaches a freed session.  SMTP, POP3 and IMAP
 * all keep their one request there.
 *
 * Output.  session_printf() and session_write() queue output (past the
 * connection's hard cap the connection fails).  Output that must wait
 * for the client has one mechanism, in two forms:
 * - session_wait_output(s, fn) returns 1 while the output queue is
 *   below its high mark (go on writing); else 0, and the runtime calls
 *   fn once the client has read the queue down to its low mark
 *   (IO_LOWAT).  A command that writes in steps (IMAP FETCH, LIST)
 *   calls it before each step, with itself as fn.
 *   session_wait_output_cancel() forgets fn (the command ended).
 * - session_output(s, fn), the same as a loop: the runtime calls fn
 *   while the queue is below its high mark; fn writes a chunk and
 *   returns 0 while it has more, 1 when done, -1 when the session must
 *   end (fn may have said so with session_close()).  The input is held
 *   while fn waits for the client, and released when fn is done (POP3
 *   RETR, LIST).
 * A protocol whose one step may exceed the connection's hard cap (one
 * FETCH response holds whole messages) gives the session an overflow
 * with session_set_overflow(s, max): what does not fit under the high
 * mark waits there, in order, up to max octets (more ends the session),
 * and is moved over as the client reads; it is wiped when emptied.
 * session_set_stall(s, secs) drops a client that leaves output unread
 * for secs seconds; without it the idle timeout still runs.
 *
 * Delayed replies.  session_delay(s, ms, close, fmt, ...) holds the
 * input, and after ms milliseconds sends the reply, then releases the
 * input or, with close set, ends the session (after a failed login:
 * later each time; after a refused recipient).
 *
 * A session does one thing at a time: hold, a request in flight, a
 * continuation and a delay all stand for the command being answered, and
 * the first of them that finishes the command releases the input.
 */

#ifndef SESSION_H
#define SESSION_H

#include <event.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "front.h"


struct io;
struct session;

/* 1: done, 0: more to come (call again), -1: the session ends. */
typedef int	(*session_cont)(struct session *);

struct session_proto {
	const char	*name;
	size_t		 maxline;
	/* The session is made: set up the protocol's data; -1 refuses. */
	int		(*start)(struct session *);	/* may be NULL */
	void		(*greet)(struct session *);
	void		(*line)(struct session *, char *, size_t, int);
	void		(*toolong)(struct session *);
	void		(*timeout)(struct session *);
	const char	*(*refusal)(int);	/* FRONT_TOO_MANY... */
	void		(*tls_ready)(struct session *);	/* may be NULL */
	void		(*free)(struct session *);	/* may be NULL */
	/* Octets asked for with session_raw(), as they come; -1 ends
	 * the session.  It must not write to the session. */
	int		(*raw)(struct session *, const void *, size_t);
	/* Input while session_own_input(); 0 when more is needed. */
	int		(*input)(struct session *);	/* may be NULL */
};

struct session {
	struct io			*io;
	struct front_client		 client;
	struct msg_listener		 listener;
	const struct session_proto	*proto;
	unsigned int			 id;
	int				 closing;
	int				 held;	/* waiting: no input */
	int				 tls_implicit;
	int				 owninput;	/* proto->input */
	unsigned int			 errors;	/* bad commands */
	size_t				 rawleft;	/* see session_raw */
	uint32_t			 req;	/* vault request in flight */
	session_cont			 cont;	/* see session_output */
	void				(*drained)(struct session *);
	char				*ovf;	/* output over the high mark */
	size_t				 ovflen;
	size_t				 ovfoff;
	size_t				 ovfcap;
	size_t				 ovfmax;	/* 0: no overflow */
	struct event			 stall_ev;
	int				 stall_armed;
	unsigned int			 stall;		/* seconds, 0: off */
	struct event			 delay_ev;
	int				 delayed;
	int				 delay_close;
	char				*reply;	/* the delayed reply, allocated */
	size_t				 replylen;
	void				*data;		/* the protocol's */
};

void	 session_accept(int, const struct msg_listener *,
	    const struct front_client *, int, const struct session_proto *);

/* Input */
void	 session_hold(struct session *);
void	 session_release(struct session *);
void	 session_raw(struct session *, size_t);
void	 session_own_input(struct session *, int);
size_t	 session_datalen(struct session *);
const void *session_data(struct session *);
void	 session_drop(struct session *, size_t);
void	 session_set_maxline(struct session *, size_t);
/* In the toolong hook: the start of the line discarded (at most
 * 256 octets, IO_LINE_HEAD in io.h; not NUL-terminated). */
const char *session_toolong_head(struct session *, size_t *);
void	 session_set_timeouts(struct session *, unsigned int, unsigned int);

/* Output */
void	 session_printf(struct session *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 session_vprintf(struct session *, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
int	 session_write(struct session *, const void *, size_t);
size_t	 session_queued(struct session *);
int	 session_wait_output(struct session *, void (*)(struct session *));
void	 session_wait_output_cancel(struct session *);
void	 session_output(struct session *, session_cont);
void	 session_set_overflow(struct session *, size_t);
void	 session_set_stall(struct session *, unsigned int);
void	 session_delay(struct session *, unsigned int, int, const char *, ...)
	    __attribute__((__format__ (printf, 4, 5)));
void	 session_close(struct session *);

/* TLS */
int	 session_starttls(struct session *);
int	 session_is_tls(struct session *);
int	 session_tls_available(struct session *);
const char *session_tls_version(struct session *);
const char *session_tls_cipher(struct session *);

/* COMPRESS=DEFLATE (RFC 4978), right after the go-ahead reply. */
int	 session_compress(struct session *);
int	 session_is_compressed(struct session *);

#endif /* SESSION_H */
