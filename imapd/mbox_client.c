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
 * The mailbox client of IMAP and POP3 (mbox_client.h): one encoder, one
 * reader of answers, so that both fronts check results the same way.
 */

#include <sys/types.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "front.h"
#include "mbox_client.h"
#include "mbox_stream.h"
#include "msg.h"

static void	 mbox_client_done(void *, struct imsg *);

/* One request is encoded at a time: the wire buffer is shared. */
static unsigned char	 wire[MBOX_REQ_WIRE_MAX];

uint32_t
mbox_client_send(struct mbox_client *c, const struct mbox_req *q,
    const struct search_program *prog, int fd, size_t max,
    mbox_client_cb cb, void *arg)
{
	size_t		 len = 0;
	uint32_t	 id;

	c->max = max;
	c->cb = cb;
	c->arg = arg;
	if (mbox_req_encode(q, prog, wire, &len) == -1) {
		if (fd != -1)
			close(fd);
		return (0);
	}
	id = front_vault_request(IMSG_MBOX_REQUEST, fd, wire, len,
	    mbox_client_done, c);
	/* It held the user's folder names and words. */
	explicit_bzero(wire, len);
	return (id);
}

static void
mbox_client_done(void *arg, struct imsg *imsg)
{
	struct mbox_client	*c = arg;
	struct msg_mbox_result	 res;
	struct mbox_result	 r;

	memset(&r, 0, sizeof(r));
	r.status = MBOX_EIO;
	r.error = ENOTCONN;
	r.fd = -1;
	if (imsg != NULL && imsg->hdr.type == IMSG_MBOX_RESULT &&
	    imsg_get_data(imsg, &res, sizeof(res)) == 0) {
		r.fd = imsg_get_fd(imsg);
		r.status = res.status;
		r.error = 0;
		r.count = res.count;
		r.a = res.a;
		r.b = res.b;
		if (r.status == MBOX_OK && r.fd != -1 && c->max > 0) {
			if (mbox_stream_read_fd(r.fd, c->max, &r.buf,
			    &r.len) == -1) {
				r.status = MBOX_EIO;
				r.error = errno;
			}
			close(r.fd);
			r.fd = -1;
		}
	}
	c->cb(c->arg, &r);
	if (r.fd != -1)
		close(r.fd);
	if (r.buf != NULL)
		mbox_stream_free(r.buf, r.len);
}
