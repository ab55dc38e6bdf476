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

#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "util.h"

/* How long a non-blocking fd's reader may stall before we give up. */
#define WRITE_WAIT_MS	30000

/*
 * Write all of buf, across short writes and interruptions.  A
 * non-blocking fd (vaultd writes message bodies into pipes too) is
 * waited on with poll() rather than failed on EAGAIN, for at most
 * WRITE_WAIT_MS at a time (then ETIMEDOUT).  0, or -1 with errno (EIO
 * if the file takes nothing).
 */
int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	struct pollfd		 pfd;
	ssize_t			 n;
	int			 r;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return (-1);
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			if ((r = poll(&pfd, 1, WRITE_WAIT_MS)) == -1 &&
			    errno != EINTR)
				return (-1);
			if (r == 0) {
				errno = ETIMEDOUT;
				return (-1);
			}
			continue;
		}
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}
