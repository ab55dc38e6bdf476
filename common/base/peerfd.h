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
 * peerfd: the one way to read a file another process handed us as an
 * fd.  A sender that keeps its end could change the file while we read
 * it, or after we checked its size, so by default the fd must be a
 * memfd sealed against writing, shrinking and growing: then what we
 * read is what was checked, and nothing can change under us.
 */

#ifndef PEERFD_H
#define PEERFD_H

#include <stddef.h>

/*
 * PEERFD_UNSEALED: take a regular file that cannot be sealed.  Only for
 * a file from a process we trust or from our own storage, where a
 * change while we read does no harm (see the callers): its size is
 * taken once from fstat, a shrink is refused, a growth ignored.
 * PEERFD_SECRET: the copy is in sodium_malloc'd memory (guarded, kept
 * out of swap), for private keys.
 */
#define PEERFD_UNSEALED	0x01
#define PEERFD_SECRET	0x02

int	 peerfd_size(int, int, size_t, size_t, size_t *);
int	 peerfd_read(int, int, size_t, size_t, void **, size_t *);
void	 peerfd_free(void *, size_t, int);

#endif /* PEERFD_H */
