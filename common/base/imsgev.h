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
 * imsgev: an imsg channel on the event loop.
 *
 * A struct imsgev reads, checks and dispatches messages.  The handler is
 * called once per well-formed message; when the peer closes the channel
 * or sends anything malformed (bad framing, unknown type, wrong size,
 * a missing or stray fd) the problem is logged and the handler is called
 * with a NULL message: it must then drop the peer with imsgev_clear().
 */

#ifndef IMSGEV_H
#define IMSGEV_H

#include <event.h>
#include <stdarg.h>
#include <stdint.h>

#include "imsg.h"
#include "msg.h"

struct imsgev;
typedef void (*imsgev_handler)(struct imsgev *, struct imsg *);

struct imsgev {
	struct imsgbuf	 ibuf;
	struct event	 ev;
	imsgev_handler	 handler;
	void		*arg;
	const char	*name;		/* the peer, for log lines */
	short		 events;
	int		 active;
};

int	 imsgev_init(struct imsgev *, int, const char *, imsgev_handler,
	    void *, int);
void	 imsgev_clear(struct imsgev *);
int	 imsgev_compose(struct imsgev *, uint32_t, uint32_t, int,
	    const void *, size_t);
void	 imsgev_update(struct imsgev *);
int	 imsgev_vfail(struct imsgev *, uint32_t, const char *, va_list)
	    __attribute__((__format__(__printf__, 3, 0)));

#endif /* IMSGEV_H */
