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
 * Checking and copying a file passed by a peer: see peerfd.h.  Every
 * reader of such an fd (bundles, mailbox results, POP3 bodies, spool
 * files, the TLS key pair) comes through here, so the seal check is
 * never forgotten.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peerfd.h"

#ifndef F_SEAL_WRITE
#error "memfd sealing (F_ADD_SEALS, F_GET_SEALS) is needed"
#endif

#define PEERFD_SEALS	(F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

/*
 * The size of the file behind fd, between min and max octets both
 * included.  -1 with errno EPERM if it lacks a seal it must have,
 * EBADMSG if it is not a regular file or is shorter than min, EFBIG if
 * it is longer than max, or that of fstat.
 */
int
peerfd_size(int fd, int flags, size_t min, size_t max, size_t *lenp)
{
	struct stat	 st;
	int		 seals;

	*lenp = 0;
	if (!(flags & PEERFD_UNSEALED) &&
	    ((seals = fcntl(fd, F_GET_SEALS)) == -1 ||
	    (seals & PEERFD_SEALS) != PEERFD_SEALS)) {
		/* A closed fd is EBADF, not a missing seal. */
		if (fcntl(fd, F_GETFD) != -1)
			errno = EPERM;
		return (-1);
	}
	if (fstat(fd, &st) == -1)
		return (-1);
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size < min) {
		errno = EBADMSG;
		return (-1);
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		return (-1);
	}
	*lenp = (size_t)st.st_size;
	return (0);
}

/*
 * A copy of the whole file behind fd, checked as peerfd_size() does;
 * free it with peerfd_free() and the same flags.  A file that shrinks
 * while it is read (possible only with PEERFD_UNSEALED) is refused with
 * EBADMSG.  The fd is left open.
 */
int
peerfd_read(int fd, int flags, size_t min, size_t max, void **bufp,
    size_t *lenp)
{
	unsigned char	*buf;
	size_t		 len, off;
	ssize_t		 n;
	int		 saved_errno;

	*bufp = NULL;
	*lenp = 0;
	if (peerfd_size(fd, flags, min, max, &len) == -1)
		return (-1);
	/* One octet at least: an empty file still gets a buffer to free. */
	if (flags & PEERFD_SECRET)
		buf = sodium_malloc(len > 0 ? len : 1);
	else
		buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return (-1);
	off = 0;
	while (off < len) {
		if ((n = pread(fd, buf + off, len - off, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0) {
			/* Shrunk since fstat: only an unsealed file can. */
			errno = EBADMSG;
			goto fail;
		}
		off += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return (0);
 fail:
	saved_errno = errno;
	peerfd_free(buf, len, flags);
	errno = saved_errno;
	return (-1);
}

/* The copy may be a message in clear or a key: wipe it as it goes. */
void
peerfd_free(void *buf, size_t len, int flags)
{
	if (buf == NULL)
		return;
	if (flags & PEERFD_SECRET)
		sodium_free(buf);
	else
		freezero(buf, len > 0 ? len : 1);
}
