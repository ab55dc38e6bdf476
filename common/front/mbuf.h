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

#ifndef MBUF_H
#define MBUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * A growing buffer with a ceiling.  Errors are sticky: after a failed
 * allocation (oom) or a cut at the ceiling (full) nothing more is
 * added, so callers check once at the end.  With utf8 set, a cut never
 * splits a UTF-8 sequence.
 */
struct mbuf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	size_t		 max;
	int		 oom;
	int		 full;
	int		 utf8;
};

void	 mbuf_init(struct mbuf *, size_t, int);
void	 mbuf_add(struct mbuf *, const void *, size_t);
void	 mbuf_addc(struct mbuf *, int);
void	 mbuf_adds(struct mbuf *, const char *);
void	 mbuf_addnum(struct mbuf *, uint64_t);
void	 mbuf_addcp(struct mbuf *, uint32_t);
void	 mbuf_reset(struct mbuf *);
void	 mbuf_free(struct mbuf *);
char	*mbuf_take(struct mbuf *, size_t *);
void	 mbuf_strfree(char *);

#endif /* MBUF_H */
