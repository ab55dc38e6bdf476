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
 * session: one client connection of a line-based protocol (SMTP, IMAP,
 * POP3) on top of io.  It greets (after the TLS handshake on an
 * implicit-TLS listener), reads lines with the protocol's maximum and
 * hands them to the protocol, runs STARTTLS, applies the timeouts, and
 * returns the connection's slot to the front when it ends.
 */

#ifndef SESSION_H
#define SESSION_H

#include <stddef.h>

#include "front.h"

struct io;
struct session;

struct session_proto {
	const char	*name;
	size_t		 maxline;
	void		(*greet)(struct session *);
	void		(*line)(struct session *, char *, size_t, int);
	void		(*toolong)(struct session *);
	void		(*timeout)(struct session *);
	const char	*(*refusal)(int);	/* FRONT_TOO_MANY... */
	void		(*tls_ready)(struct session *);	/* may be NULL */
	void		(*free)(struct session *);	/* may be NULL */
	void		(*lowat)(struct session *);	/* output drained;
							 * may be NULL */
	/* Octets asked for with session_raw(), as they come; -1 ends
	 * the session.  It must not write to the session. */
	int		(*raw)(struct session *, const void *, size_t);
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
	unsigned int			 errors;	/* bad commands */
	size_t				 rawleft;	/* see session_raw */
	void				*data;		/* the protocol's */
};

void	 session_accept(int, const struct msg_listener *,
	    const struct front_client *, int, const struct session_proto *);
void	 session_printf(struct session *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 session_write(struct session *, const void *, size_t);
size_t	 session_queued(struct session *);
void	 session_close(struct session *);
void	 session_raw(struct session *, size_t);
int	 session_starttls(struct session *);
void	 session_hold(struct session *);
void	 session_release(struct session *);
int	 session_is_tls(struct session *);
int	 session_tls_available(struct session *);

#endif /* SESSION_H */
