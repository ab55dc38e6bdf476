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
 * imsg: framed messages between Tresor's processes, on the wire format of
 * OpenBSD's imsg (2024 header): a 16-byte header, then the payload.
 *
 *	type	message type (enum imsg_type in msg.h)
 *	len	header + payload length; bit 31 (IMSG_FD_MARK) says that
 *		a file descriptor travels with this message
 *	peerid	free for the caller: a request or session id
 *	pid	the sender's pid
 *
 * Both ends are on the same machine, so the header is in host order.
 * Writes never block: composed messages are queued and pushed out by
 * imsgbuf_write() when the socket is writable.  A message whose length is
 * below the header size or above the buffer's maximum, or that claims an
 * fd that did not arrive, makes imsg_get() fail: the caller drops the peer.
 */

#ifndef IMSG_H
#define IMSG_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)
#define IMSG_FD_MARK		0x80000000U
#define IMSG_MAXSIZE		16384	/* default maximum, header included */
#define IMSG_MAXSIZE_LIMIT	(1U << 24)	/* largest settable maximum */

struct imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;
	uint32_t	 peerid;
	uint32_t	 pid;
};

struct imsg {
	struct imsg_hdr	 hdr;
	void		*data;		/* payload, NULL when empty */
	size_t		 datalen;	/* payload length */
	int		 fd;		/* passed fd or -1; see imsg_get_fd() */
};

struct imsg_out;			/* one queued outgoing message */
struct imsg_fdq;			/* received fds awaiting their message */

struct imsgbuf {
	int		 fd;		/* the socket */
	pid_t		 pid;		/* our pid, put in each header */
	size_t		 maxsize;	/* largest message accepted or sent */
	int		 allow_fd;	/* accept passed fds on read */
	unsigned char	*rbuf;		/* bytes read, not yet parsed */
	size_t		 rlen;
	size_t		 rsize;
	struct imsg_out	*outq;		/* FIFO of messages to send */
	struct imsg_out	*outq_tail;
	size_t		 queued;	/* messages in outq */
	int		*fds;		/* fds received, in arrival order */
	size_t		 nfds;
};

/*
 * Ownership and return values, beyond the obvious:
 *
 * imsg_compose()/imsg_composev() take the fd only when they return 0; on
 * -1 (ERANGE when the payload exceeds maxsize - IMSG_HEADER_SIZE, or
 * ENOMEM) the caller still owns it.  A queued fd is closed once it has
 * been sent, or by imsgbuf_clear().
 *
 * imsgbuf_read() returns the bytes read, 0 at EOF, or -1 with errno:
 * EAGAIN/EINTR (ignore them), EBADMSG (an fd the buffer does not accept,
 * too many fds waiting for their messages, or truncated control data:
 * any fd that came is closed), ERANGE (a bad header is buffered).  It
 * also returns -1/EAGAIN without reading while a complete message is
 * still buffered: after each read, call imsg_get() until it returns 0.
 *
 * imsg_get() fills the imsg even when it returns 0 or -1 (no data, fd
 * -1), so imsg_free() on it is harmless.  imsg_free() closes the fd
 * unless imsg_get_fd() took it.  Call it only on an imsg that
 * imsg_get() filled: on a zeroed struct it would close fd 0.
 */

int	 imsgbuf_init(struct imsgbuf *, int);
void	 imsgbuf_allow_fdpass(struct imsgbuf *);
int	 imsgbuf_set_maxsize(struct imsgbuf *, size_t);
void	 imsgbuf_clear(struct imsgbuf *);
ssize_t	 imsgbuf_read(struct imsgbuf *);
int	 imsgbuf_write(struct imsgbuf *);
int	 imsgbuf_flush(struct imsgbuf *);
size_t	 imsgbuf_queuelen(struct imsgbuf *);

int	 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	 imsg_composev(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const struct iovec *, int);
ssize_t	 imsg_get(struct imsgbuf *, struct imsg *);
int	 imsg_get_fd(struct imsg *);
int	 imsg_get_data(struct imsg *, void *, size_t);
void	 imsg_free(struct imsg *);

#endif /* IMSG_H */
