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
 * Bundles: the fronts write them into a memfd, vaultd reads them back.
 * Everything in a bundle that vaultd receives is untrusted: the sender
 * is a front that parses mail from the network and may be compromised.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "peerfd.h"
#include "section.h"
#include "util.h"

/* Seconds since the epoch: 2^40 is some 34,800 years away. */
#define BUNDLE_DATE_MAX		(INT64_C(1) << 40)

/* Version 1's header, with one length less, had the same size. */
_Static_assert(offsetof(struct bundle_hdr, len) + BUNDLE_PARTMAP *
    sizeof(uint32_t) + sizeof(uint32_t) == sizeof(struct bundle_hdr),
    "bundle header: version 1 no longer reads as version 2");

static uint64_t	 bundle_size_max(void);
static int	 bundle_check(const struct bundle_hdr *, const char *const *,
		    const size_t *);

size_t
bundle_section_max(enum bundle_section sec)
{
	switch (sec) {
	case BUNDLE_RAW:
		return (BUNDLE_RAW_MAX);
	case BUNDLE_ENVELOPE:
	case BUNDLE_BODYSTRUCTURE:
	case BUNDLE_HEADERS:
		return (BUNDLE_META_MAX);
	case BUNDLE_SUBJECT:
	case BUNDLE_FROM:
	case BUNDLE_TO:
	case BUNDLE_CC:
	case BUNDLE_BCC:
	case BUNDLE_MESSAGEID:
		return (BUNDLE_FIELD_MAX);
	case BUNDLE_TEXT:
		return (BUNDLE_TEXT_MAX);
	case BUNDLE_PARTMAP:
		return (SECTION_NODES_MAX * sizeof(struct section_node));
	default:
		return (0);
	}
}

/* The largest bundle that can be valid: the header and every maximum. */
static uint64_t
bundle_size_max(void)
{
	uint64_t	 sum;
	int		 i;

	sum = sizeof(struct bundle_hdr);
	for (i = 0; i < BUNDLE_NSECTIONS; i++)
		sum += bundle_section_max(i);
	return (sum);
}

/*
 * The rules shared by the parser and the writer, so that a front cannot
 * produce a bundle that vaultd would refuse: lengths within their
 * maxima, dates within bounds, a message that is not empty, and no NUL
 * in the text sections (vaultd hands them to SQLite as text).  The
 * lengths are checked one by one before they are summed, and the sum is
 * taken in 64 bits: twelve values below 2^32 cannot overflow it.
 */
static int
bundle_check(const struct bundle_hdr *h, const char *const *sec,
    const size_t *len)
{
	int	 i;

	if (h->internaldate < 0 || h->internaldate > BUNDLE_DATE_MAX)
		return (-1);
	if (h->sentdate < 0 || h->sentdate > BUNDLE_DATE_MAX)
		return (-1);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		if (len[i] > bundle_section_max(i))
			return (-1);
		if (len[i] > 0 && sec[i] == NULL)
			return (-1);
		if (i != BUNDLE_RAW && i != BUNDLE_PARTMAP && len[i] > 0 &&
		    memchr(sec[i], '\0', len[i]) != NULL)
			return (-1);
	}
	if (len[BUNDLE_PARTMAP] % sizeof(struct section_node) != 0)
		return (-1);
	if (len[BUNDLE_RAW] == 0)
		return (-1);
	return (0);
}

int
bundle_parse(const void *buf, size_t len, struct bundle *b)
{
	struct bundle_hdr	 h;
	const char		*p = buf;
	const char		*sec[BUNDLE_NSECTIONS];
	size_t			 slen[BUNDLE_NSECTIONS];
	uint64_t		 sum, off;
	size_t			 pad;
	int			 i;

	if (buf == NULL || b == NULL || len < sizeof(h))
		goto bad;
	/* The buffer may be unaligned: copy the header out. */
	memcpy(&h, p, sizeof(h));
	if (h.magic != BUNDLE_MAGIC)
		goto bad;
	/*
	 * Version 1 (sealed into a spool before the part map came) has
	 * the same header, with zero padding where the map's length is:
	 * such a bundle reads as one without a map.
	 */
	if (h.version != BUNDLE_VERSION &&
	    (h.version != 1 || h.len[BUNDLE_PARTMAP] != 0))
		goto bad;

	/*
	 * Padding at the end of the header (the struct has some on LP64)
	 * must be zero, so that one message has one encoding.
	 */
	off = offsetof(struct bundle_hdr, len) + sizeof(h.len);
	for (pad = off; pad < sizeof(h); pad++)
		if (p[pad] != '\0')
			goto bad;

	sum = 0;
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		if (h.len[i] > bundle_section_max(i))
			goto bad;
		sum += h.len[i];
	}
	if (sum != (uint64_t)len - sizeof(h))
		goto bad;

	off = sizeof(h);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		slen[i] = h.len[i];
		sec[i] = slen[i] > 0 ? p + off : NULL;
		off += slen[i];
	}
	if (bundle_check(&h, sec, slen) == -1)
		goto bad;

	memset(b, 0, sizeof(*b));
	b->internaldate = h.internaldate;
	b->sentdate = h.sentdate;
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		b->sec[i] = sec[i];
		b->len[i] = slen[i];
	}
	return (0);

 bad:
	errno = EBADMSG;
	return (-1);
}

/*
 * Write the bundle at fd's current offset, so that several can follow
 * each other (an APPEND of many messages); *lenp is what was written.
 * Invalid bundles are refused here with EINVAL rather than at vaultd.
 */
int
bundle_put(int fd, const struct bundle *b, uint64_t *lenp)
{
	struct bundle_hdr	 h;
	uint64_t		 total;
	int			 i;

	if (b == NULL) {
		errno = EINVAL;
		return (-1);
	}
	memset(&h, 0, sizeof(h));
	h.magic = BUNDLE_MAGIC;
	h.version = BUNDLE_VERSION;
	h.internaldate = b->internaldate;
	h.sentdate = b->sentdate;
	total = sizeof(h);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		if (b->len[i] > bundle_section_max(i)) {
			errno = EINVAL;
			return (-1);
		}
		h.len[i] = (uint32_t)b->len[i];
		total += b->len[i];
	}
	if (bundle_check(&h, b->sec, b->len) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (write_all(fd, &h, sizeof(h)) == -1)
		return (-1);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		if (b->len[i] == 0)
			continue;
		if (write_all(fd, b->sec[i], b->len[i]) == -1)
			return (-1);
	}
	if (lenp != NULL)
		*lenp = total;
	return (0);
}

/*
 * The bundle is written from offset 0 and a longer old content cut
 * off, so a reused memfd holds exactly one bundle.
 */
int
bundle_write(int fd, const struct bundle *b)
{
	struct stat	 st;
	uint64_t	 total;

	if (lseek(fd, 0, SEEK_SET) == -1)
		return (-1);
	if (bundle_put(fd, b, &total) == -1)
		return (-1);
	if (fstat(fd, &st) == -1)
		return (-1);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > total &&
	    ftruncate(fd, (off_t)total) == -1)
		return (-1);
	return (0);
}

/*
 * The bundle in a new memfd, sealed so that neither we nor anyone we
 * hand it to can change it: bundle_map() on the other side refuses an
 * fd without these seals.  F_SEAL_SEAL fixes the set of seals: a
 * seal is never removed, and with it none can be added later.
 */
int
bundle_write_fd(const struct bundle *b, int *fdp)
{
	int	 fd, saved_errno;

	*fdp = -1;
	if ((fd = memfd_create("bundle", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return (-1);
	if (bundle_write(fd, b) == -1)
		goto fail;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1)
		goto fail;
	*fdp = fd;
	return (0);
 fail:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return (-1);
}

/*
 * Copy the bundle out of the sender's memfd into memory of our own.
 *
 * The memfd is shared with the front that wrote it: mapped, its content
 * could change under the parser (checked lengths, then different bytes)
 * and a shrink would turn reads into SIGBUS.  It must be sealed with
 * F_SEAL_WRITE, F_SEAL_SHRINK and F_SEAL_GROW (bundle_write_fd() does),
 * so nothing changes while it is read.  A sealed memfd could be mapped
 * safely, but the copy is used always: bundle_unmap() is given only a
 * pointer and a length and could not tell a mapping from a copy, the
 * raw message is copied into the mailbox database anyway, and one code
 * path is one thing to get right.  The cost is memory for one more copy
 * of the message while it is stored (bounded by bundle_size_max()).
 *
 * Any fd that is not such a memfd, is empty or is larger than the
 * largest bundle is refused with EBADMSG.
 */
int
bundle_map(int fd, void **pp, size_t *lenp)
{
	if (pp == NULL || lenp == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (peerfd_read(fd, 0, 1, (size_t)bundle_size_max(), pp,
	    lenp) == -1) {
		if (errno == EPERM || errno == EFBIG)
			errno = EBADMSG;
		return (-1);
	}
	return (0);
}

/* The copy holds a message in clear: wipe it before it is freed. */
void
bundle_unmap(void *p, size_t len)
{
	peerfd_free(p, len, 0);
}
