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
 * imsg framing over a non-blocking AF_UNIX stream socket.
 *
 * Sending: each composed message is one contiguous buffer (header and
 * payload) in a FIFO.  imsgbuf_write() hands as many of them as it can
 * to one sendmsg(); a message's fd rides on the sendmsg that carries the
 * message's first byte, and a batch never goes past the next message
 * that has an fd, so each sendmsg carries at most one fd.
 *
 * Receiving: the kernel delivers an fd together with the bytes of the
 * sendmsg it came with, so an fd always arrives no later than the first
 * byte of its message.  Received fds wait in a FIFO and imsg_get() gives
 * the oldest one to the next complete message whose header has
 * IMSG_FD_MARK.  The read buffer holds unparsed bytes from its start;
 * imsg_get() moves the rest down after taking a message, and reads are
 * done in bounded chunks so that this copying stays cheap.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define IMSG_READ_CHUNK		16384	/* bytes asked per recvmsg */
#define IMSG_RECV_FDS		16	/* fds room per recvmsg */
#define IMSG_MAX_PENDING_FDS	64	/* fds awaiting their message */
#define IMSG_WRITE_IOV		32	/* messages in one sendmsg */

struct imsg_out {
	struct imsg_out	*next;
	size_t		 len;		/* header + payload */
	size_t		 off;		/* bytes already sent */
	int		 fd;		/* to pass, -1 if none or sent */
	unsigned char	 buf[];
};

static size_t	 imsg_cmsg_nfds(const struct cmsghdr *);
static void	 imsg_closefds(struct msghdr *);
static int	 imsg_fd_pop(struct imsgbuf *);
static int	 imsg_pending(struct imsgbuf *, size_t *);
static void	 imsg_out_free(struct imsg_out *);

int
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	ibuf->fd = fd;
	ibuf->pid = getpid();
	ibuf->maxsize = IMSG_MAXSIZE;
	/* Buffers are allocated on first use: nothing can fail here. */
	return (0);
}

void
imsgbuf_allow_fdpass(struct imsgbuf *ibuf)
{
	ibuf->allow_fd = 1;
}

int
imsgbuf_set_maxsize(struct imsgbuf *ibuf, size_t max)
{
	if (max < IMSG_HEADER_SIZE || max > IMSG_MAXSIZE_LIMIT) {
		errno = EINVAL;
		return (-1);
	}
	ibuf->maxsize = max;
	return (0);
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	struct imsg_out	*m;
	size_t		 i;

	while ((m = ibuf->outq) != NULL) {
		ibuf->outq = m->next;
		imsg_out_free(m);
	}
	ibuf->outq_tail = NULL;
	ibuf->queued = 0;

	for (i = 0; i < ibuf->nfds; i++)
		close(ibuf->fds[i]);
	free(ibuf->fds);
	ibuf->fds = NULL;
	ibuf->nfds = 0;

	freezero(ibuf->rbuf, ibuf->rsize);
	ibuf->rbuf = NULL;
	ibuf->rlen = 0;
	ibuf->rsize = 0;
}

/*
 * Look at the start of the read buffer.  Returns 1 and the message's
 * length when a header is there (it may still be incomplete), 0 when
 * not even a header is buffered, -1/ERANGE when the header is bad.
 */
static int
imsg_pending(struct imsgbuf *ibuf, size_t *lenp)
{
	struct imsg_hdr	 hdr;
	size_t		 len;

	*lenp = 0;
	if (ibuf->rlen < IMSG_HEADER_SIZE)
		return (0);
	memcpy(&hdr, ibuf->rbuf, sizeof(hdr));
	len = hdr.len & ~IMSG_FD_MARK;
	if (len < IMSG_HEADER_SIZE || len > ibuf->maxsize) {
		errno = ERANGE;
		return (-1);
	}
	*lenp = len;
	return (1);
}

ssize_t
imsgbuf_read(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(sizeof(int) *
				    IMSG_RECV_FDS)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	unsigned char	*p;
	size_t		 want, need, msglen, nfds, total;
	ssize_t		 n;
	int		*fds, r, save_errno;

	if ((r = imsg_pending(ibuf, &msglen)) == -1)
		return (-1);

	/*
	 * Do not pile up more input while a whole message waits to be
	 * taken: the caller drains with imsg_get() first.  Otherwise read
	 * one chunk, or the rest of a large message if that is more; both
	 * keep the buffer below maxsize + IMSG_READ_CHUNK.
	 */
	want = IMSG_READ_CHUNK;
	if (r == 1) {
		if (ibuf->rlen >= msglen) {
			errno = EAGAIN;
			return (-1);
		}
		if (msglen - ibuf->rlen > want)
			want = msglen - ibuf->rlen;
	}
	need = ibuf->rlen + want;
	if (need > ibuf->rsize) {
		/* Not realloc(): the old copy may hold secrets; wipe it. */
		if ((p = malloc(need)) == NULL)
			return (-1);
		if (ibuf->rlen > 0)
			memcpy(p, ibuf->rbuf, ibuf->rlen);
		freezero(ibuf->rbuf, ibuf->rsize);
		ibuf->rbuf = p;
		ibuf->rsize = need;
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = want;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	if ((n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC)) == -1)
		return (-1);

	if (msg.msg_flags & MSG_CTRUNC) {
		imsg_closefds(&msg);
		errno = EBADMSG;
		return (-1);
	}
	/*
	 * An fd sent to a channel that never takes any is a peer bug; so
	 * is a flood of fds that no message claims.  Either way nothing
	 * received in this call is kept.
	 */
	total = 0;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg))
		total += imsg_cmsg_nfds(cmsg);
	if (total > 0) {
		if (!ibuf->allow_fd ||
		    total > IMSG_MAX_PENDING_FDS - ibuf->nfds) {
			imsg_closefds(&msg);
			errno = EBADMSG;
			return (-1);
		}
		if ((fds = reallocarray(ibuf->fds, ibuf->nfds + total,
		    sizeof(int))) == NULL) {
			save_errno = errno;
			imsg_closefds(&msg);
			errno = save_errno;
			return (-1);
		}
		ibuf->fds = fds;
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			nfds = imsg_cmsg_nfds(cmsg);
			/* CMSG_DATA need not be aligned for int. */
			memcpy(ibuf->fds + ibuf->nfds, CMSG_DATA(cmsg),
			    nfds * sizeof(int));
			ibuf->nfds += nfds;
		}
	}

	ibuf->rlen += n;
	return (n);
}

/*
 * The number of fds in a control message; 0 for anything that is not
 * SCM_RIGHTS (such as credentials), which holds nothing to close.
 */
static size_t
imsg_cmsg_nfds(const struct cmsghdr *cmsg)
{
	if (cmsg->cmsg_level != SOL_SOCKET ||
	    cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len < CMSG_LEN(0))
		return (0);
	return ((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
}

/* Close every fd carried by the control data of msg. */
static void
imsg_closefds(struct msghdr *msg)
{
	struct cmsghdr	*cmsg;
	size_t		 i, nfds;
	int		 fd;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		nfds = imsg_cmsg_nfds(cmsg);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			close(fd);
		}
	}
}

/* Take the oldest received fd, or -1 when none is waiting. */
static int
imsg_fd_pop(struct imsgbuf *ibuf)
{
	int	 fd;

	if (ibuf->nfds == 0)
		return (-1);
	fd = ibuf->fds[0];
	ibuf->nfds--;
	memmove(ibuf->fds, ibuf->fds + 1, ibuf->nfds * sizeof(int));
	if (ibuf->nfds == 0) {
		free(ibuf->fds);
		ibuf->fds = NULL;
	}
	return (fd);
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t len)
{
	struct iovec	 iov;

	if (data == NULL && len != 0) {
		errno = EINVAL;
		return (-1);
	}
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	return (imsg_composev(ibuf, type, peerid, pid, fd, &iov, 1));
}

int
imsg_composev(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	struct imsg_hdr	 hdr;
	struct imsg_out	*m;
	size_t		 datalen = 0, max, off;
	int		 i;

	if (iovcnt < 0 || (iov == NULL && iovcnt != 0) || fd < -1) {
		errno = EINVAL;
		return (-1);
	}
	max = ibuf->maxsize - IMSG_HEADER_SIZE;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_base == NULL && iov[i].iov_len != 0) {
			errno = EINVAL;
			return (-1);
		}
		/* Compared one by one, so the sum cannot overflow. */
		if (iov[i].iov_len > max - datalen) {
			errno = ERANGE;
			return (-1);
		}
		datalen += iov[i].iov_len;
	}

	if ((m = malloc(sizeof(*m) + IMSG_HEADER_SIZE + datalen)) == NULL)
		return (-1);
	m->next = NULL;
	m->len = IMSG_HEADER_SIZE + datalen;
	m->off = 0;
	m->fd = fd;

	hdr.type = type;
	hdr.len = (uint32_t)m->len;
	if (fd != -1)
		hdr.len |= IMSG_FD_MARK;
	hdr.peerid = peerid;
	hdr.pid = (uint32_t)(pid == 0 ? ibuf->pid : pid);
	memcpy(m->buf, &hdr, sizeof(hdr));
	off = IMSG_HEADER_SIZE;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		memcpy(m->buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}

	if (ibuf->outq_tail == NULL)
		ibuf->outq = m;
	else
		ibuf->outq_tail->next = m;
	ibuf->outq_tail = m;
	ibuf->queued++;
	return (0);
}

static void
imsg_out_free(struct imsg_out *m)
{
	if (m->fd != -1)
		close(m->fd);
	/* Messages carry passwords on their way to vaultd. */
	freezero(m, sizeof(*m) + m->len);
}

int
imsgbuf_write(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct iovec	 iov[IMSG_WRITE_IOV];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct imsg_out	*m;
	size_t		 left, part;
	ssize_t		 n;
	int		 iovcnt, fd;

	while (ibuf->outq != NULL) {
		/*
		 * Gather the head message (from where the last partial
		 * write stopped) and the messages after it, up to the next
		 * one that carries an fd: its fd must go with its own first
		 * byte.
		 */
		fd = -1;
		iovcnt = 0;
		for (m = ibuf->outq; m != NULL && iovcnt < IMSG_WRITE_IOV;
		    m = m->next) {
			if (m->fd != -1) {
				if (iovcnt > 0)
					break;
				/*
				 * Still held, so none of this message has
				 * gone yet: the fd goes with this sendmsg.
				 */
				fd = m->fd;
			}
			iov[iovcnt].iov_base = m->buf + m->off;
			iov[iovcnt].iov_len = m->len - m->off;
			iovcnt++;
		}

		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = iovcnt;
		if (fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}

		if ((n = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (-1);
		}
		if (n == 0)
			return (0);

		/* The fd went out with the first byte: ours is a copy. */
		if (fd != -1) {
			close(ibuf->outq->fd);
			ibuf->outq->fd = -1;
		}
		for (left = n; left > 0; ) {
			m = ibuf->outq;
			part = m->len - m->off;
			if (part > left)
				part = left;
			m->off += part;
			left -= part;
			if (m->off < m->len)
				break;
			ibuf->outq = m->next;
			if (ibuf->outq == NULL)
				ibuf->outq_tail = NULL;
			ibuf->queued--;
			imsg_out_free(m);
		}
	}
	return (0);
}

int
imsgbuf_flush(struct imsgbuf *ibuf)
{
	struct pollfd	 pfd;

	while (ibuf->outq != NULL) {
		if (imsgbuf_write(ibuf) == -1)
			return (-1);
		if (ibuf->outq == NULL)
			break;
		pfd.fd = ibuf->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		/* A peer that is gone makes the next write fail. */
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return (-1);
	}
	return (0);
}

size_t
imsgbuf_queuelen(struct imsgbuf *ibuf)
{
	return (ibuf->queued);
}

ssize_t
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	void		*data = NULL;
	size_t		 len, datalen;
	int		 r;

	memset(imsg, 0, sizeof(*imsg));
	imsg->fd = -1;

	if ((r = imsg_pending(ibuf, &len)) != 1)
		return (r);
	if (ibuf->rlen < len)
		return (0);

	memcpy(&hdr, ibuf->rbuf, sizeof(hdr));
	if ((hdr.len & IMSG_FD_MARK) && ibuf->nfds == 0) {
		errno = EBADMSG;
		return (-1);
	}
	datalen = len - IMSG_HEADER_SIZE;
	if (datalen > 0) {
		if ((data = malloc(datalen)) == NULL)
			return (-1);
		memcpy(data, ibuf->rbuf + IMSG_HEADER_SIZE, datalen);
	}
	if (hdr.len & IMSG_FD_MARK)
		imsg->fd = imsg_fd_pop(ibuf);
	hdr.len = (uint32_t)len;
	imsg->hdr = hdr;
	imsg->data = data;
	imsg->datalen = datalen;

	ibuf->rlen -= len;
	if (ibuf->rlen > 0)
		memmove(ibuf->rbuf, ibuf->rbuf + len, ibuf->rlen);
	/* No stale copy of the message stays behind in the buffer. */
	explicit_bzero(ibuf->rbuf + ibuf->rlen, len);
	if (ibuf->rlen == 0 && ibuf->rsize > IMSG_READ_CHUNK) {
		/* Do not keep the room a large message needed. */
		freezero(ibuf->rbuf, ibuf->rsize);
		ibuf->rbuf = NULL;
		ibuf->rsize = 0;
	}
	return ((ssize_t)len);
}

int
imsg_get_fd(struct imsg *imsg)
{
	int	 fd = imsg->fd;

	imsg->fd = -1;
	return (fd);
}

int
imsg_get_data(struct imsg *imsg, void *buf, size_t len)
{
	if (imsg->datalen != len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(buf, imsg->data, len);
	return (0);
}

void
imsg_free(struct imsg *imsg)
{
	freezero(imsg->data, imsg->datalen);
	imsg->data = NULL;
	imsg->datalen = 0;
	if (imsg->fd != -1)
		close(imsg->fd);
	imsg->fd = -1;
}
