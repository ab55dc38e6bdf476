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
 * The messages of an APPEND as they travel to vaultd (mbox_proto.h,
 * MBOX_OP_APPEND): entries of flags, keywords and a bundle, one after
 * the other in one memfd, so that a MULTIAPPEND of many messages is
 * one request and one fd.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bundle.h"
#include "mbox_proto.h"
#include "util.h"

int
mbox_append_put(int fd, uint32_t flags, const char *keywords,
    const struct bundle *b)
{
	struct mbox_append_entry	 e;
	struct bundle_hdr		 h;
	uint64_t			 len;
	size_t				 kwlen;
	int				 i;

	if (keywords == NULL)
		keywords = "";
	if ((kwlen = strlen(keywords) + 1) > MBOX_KWLIST_MAX || b == NULL) {
		errno = EINVAL;
		return (-1);
	}
	/* The bundle's length, as bundle_put() will write it. */
	len = sizeof(h);
	for (i = 0; i < BUNDLE_NSECTIONS; i++)
		len += b->len[i];
	memset(&e, 0, sizeof(e));
	e.flags = flags;
	e.kwlen = (uint32_t)kwlen;
	e.len = len;
	if (write_all(fd, &e, sizeof(e)) == -1 ||
	    write_all(fd, keywords, kwlen) == -1)
		return (-1);
	if (bundle_put(fd, b, &len) == -1)
		return (-1);
	/* bundle_put() checked the lengths that were summed above. */
	if (len != e.len) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

int
mbox_append_next(const void *buf, size_t len, size_t *off,
    struct mbox_append_view *v)
{
	struct mbox_append_entry	 e;
	const char			*p = buf;
	size_t				 at = *off;

	/* The buffer may be unaligned: copy the header out. */
	if (at > len || len - at < sizeof(e))
		return (-1);
	memcpy(&e, p + at, sizeof(e));
	at += sizeof(e);
	if (e.kwlen == 0 || e.kwlen > MBOX_KWLIST_MAX ||
	    e.kwlen > len - at || p[at + e.kwlen - 1] != '\0' ||
	    memchr(p + at, '\0', e.kwlen - 1) != NULL)
		return (-1);
	v->flags = e.flags;
	v->keywords = p + at;
	at += e.kwlen;
	if (e.len == 0 || e.len > len - at)
		return (-1);
	v->bundle = p + at;
	v->len = (size_t)e.len;
	*off = at + (size_t)e.len;
	return (0);
}
