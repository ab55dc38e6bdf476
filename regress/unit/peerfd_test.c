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
 * peerfd: a file handed over by another process is read only when it
 * cannot change under us.  Without PEERFD_UNSEALED an fd must be a
 * memfd sealed against writing, shrinking and growing; each missing
 * seal is refused.  Size bounds hold both ways; a regular file is taken
 * only when the caller says it may be unsealed.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peerfd.h"
#include "test.h"

#define ALL_SEALS	(F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

TEST_GLOBALS;

/* A memfd holding text, with the given seals (0: none). */
static int
memfd(const char *text, int seals)
{
	int	 fd;

	CHECK((fd = memfd_create("peerfd_test", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) != -1);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	if (seals != 0)
		CHECK(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return (fd);
}

static void
test_sealed(void)
{
	void	*buf;
	size_t	 len;
	int	 fd;

	fd = memfd("hello", ALL_SEALS);
	CHECK(peerfd_size(fd, 0, 0, 100, &len) == 0 && len == 5);
	CHECK(peerfd_read(fd, 0, 0, 100, &buf, &len) == 0);
	CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);
	peerfd_free(buf, len, 0);
	/* The same, in guarded memory. */
	CHECK(peerfd_read(fd, PEERFD_SECRET, 0, 100, &buf, &len) == 0);
	CHECK(len == 5 && memcmp(buf, "hello", 5) == 0);
	peerfd_free(buf, len, PEERFD_SECRET);
	close(fd);
}

/* Every one of the three seals is needed; one missing is EPERM. */
static void
test_missing_seals(void)
{
	static const int	 partial[] = {
		0,
		F_SEAL_WRITE | F_SEAL_SHRINK,	/* may grow */
		F_SEAL_WRITE | F_SEAL_GROW,	/* may shrink */
		F_SEAL_SHRINK | F_SEAL_GROW,	/* may be written */
		F_SEAL_SEAL,			/* sealed against seals */
	};
	void		*buf;
	size_t		 i, len;
	int		 fd;

	for (i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		fd = memfd("hello", partial[i]);
		errno = 0;
		CHECK(peerfd_size(fd, 0, 0, 100, &len) == -1 &&
		    errno == EPERM);
		buf = (void *)1;
		errno = 0;
		CHECK(peerfd_read(fd, 0, 0, 100, &buf, &len) == -1 &&
		    errno == EPERM);
		CHECK(buf == NULL && len == 0);
		close(fd);
	}
}

/* min and max are both included; above max is EFBIG, below min EBADMSG. */
static void
test_bounds(void)
{
	void	*buf;
	size_t	 len;
	int	 fd;

	fd = memfd("hello", ALL_SEALS);
	CHECK(peerfd_read(fd, 0, 5, 5, &buf, &len) == 0 && len == 5);
	peerfd_free(buf, len, 0);
	errno = 0;
	CHECK(peerfd_read(fd, 0, 0, 4, &buf, &len) == -1 && errno == EFBIG);
	errno = 0;
	CHECK(peerfd_read(fd, 0, 6, 100, &buf, &len) == -1 &&
	    errno == EBADMSG);
	close(fd);

	/* Empty: a buffer all the same, unless min forbids it. */
	fd = memfd("", ALL_SEALS);
	CHECK(peerfd_read(fd, 0, 0, 100, &buf, &len) == 0);
	CHECK(buf != NULL && len == 0);
	peerfd_free(buf, len, 0);
	errno = 0;
	CHECK(peerfd_read(fd, 0, 1, 100, &buf, &len) == -1 &&
	    errno == EBADMSG);
	close(fd);
}

/* A pipe is no file: refused sealed or not; a closed fd is EBADF. */
static void
test_not_a_file(void)
{
	void	*buf;
	size_t	 len;
	int	 fds[2], fd;

	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "x", 1) == 1);
	errno = 0;
	CHECK(peerfd_read(fds[0], 0, 0, 100, &buf, &len) == -1 &&
	    errno == EPERM);
	errno = 0;
	CHECK(peerfd_read(fds[0], PEERFD_UNSEALED, 0, 100, &buf, &len) ==
	    -1 && errno == EBADMSG);
	close(fds[0]);
	close(fds[1]);

	fd = memfd("hello", ALL_SEALS);
	close(fd);
	errno = 0;
	CHECK(peerfd_read(fd, 0, 0, 100, &buf, &len) == -1 && errno == EBADF);
}

/* PEERFD_UNSEALED takes a regular file (the spool, ctld's PEM files). */
static void
test_unsealed_file(void)
{
	char	 path[] = "/tmp/peerfd_test.XXXXXX";
	void	*buf;
	size_t	 len;
	int	 fd;

	CHECK((fd = mkstemp(path)) != -1);
	CHECK(unlink(path) == 0);
	CHECK(write(fd, "-----BEGIN", 10) == 10);
	errno = 0;
	CHECK(peerfd_read(fd, 0, 0, 100, &buf, &len) == -1 && errno == EPERM);
	CHECK(peerfd_read(fd, PEERFD_UNSEALED | PEERFD_SECRET, 0, 100, &buf,
	    &len) == 0);
	CHECK(len == 10 && memcmp(buf, "-----BEGIN", 10) == 0);
	peerfd_free(buf, len, PEERFD_SECRET);
	close(fd);
}

int
main(void)
{
	if (sodium_init() == -1)
		return (1);
	RUN(test_sealed);
	RUN(test_missing_seals);
	RUN(test_bounds);
	RUN(test_not_a_file);
	RUN(test_unsealed_file);
	TEST_EXIT();
}
