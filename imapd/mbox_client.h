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
 * imapd's one client of the vault's mailbox operations, for IMAP and
 * POP3 alike: it encodes a request (common/wire/mbox_proto.h), sends it with
 * a request id, and hands the answer to a callback as a struct
 * mbox_result, with the records already read from the sealed memfd
 * when the caller gave a maximum.
 *
 * The caller keeps a struct mbox_client (one per request in flight)
 * and the request id; front_vault_cancel(id) cancels as for any vault
 * request, and the callback is then never called.
 */

#ifndef MBOX_CLIENT_H
#define MBOX_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mbox_proto.h"

/* An answer, as the callback gets it. */
struct mbox_result {
	int		 status;	/* MBOX_OK, MBOX_E* */
	int		 error;		/* with MBOX_EIO from here: errno;
					 * ENOTCONN: no answer came */
	uint32_t	 count;
	uint64_t	 a;
	uint64_t	 b;
	void		*buf;		/* the fd's content, if read */
	size_t		 len;
	int		 fd;		/* the fd if not read, else -1; a
					 * callback that keeps it sets -1 */
};

typedef void (*mbox_client_cb)(void *, struct mbox_result *);

struct mbox_client {
	size_t		 max;	/* read the fd up to this; 0: leave it */
	mbox_client_cb	 cb;
	void		*arg;
};

/*
 * mbox_client_send(c, q, prog, fd, max, cb, arg): send q (prog for a
 * SEARCH), with fd (APPEND's bundle, or -1, closed in any case).  The
 * request id, or 0 if it could not be sent (cb is then not called).
 * After cb returns, the buffer is freed and an fd left in the result
 * closed.
 */
uint32_t mbox_client_send(struct mbox_client *, const struct mbox_req *,
	    const struct search_program *, int, size_t, mbox_client_cb,
	    void *);

#endif /* MBOX_CLIENT_H */
