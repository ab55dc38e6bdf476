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
 * SORT and THREAD (RFC 5256) arguments: imap_sort_parse.c, which
 * needs only the parser (imap_parse.c), so that the fuzzer reaches it.
 */

#ifndef IMAP_SORT_H
#define IMAP_SORT_H

#include <stddef.h>

#include "imap.h"
#include "sort.h"

/*
 * Parentheses a THREAD response nests at most: below that depth, a
 * branching thread is written flat, its messages in thread order,
 * since nesting is what a client's parser pays for.
 */
#define IMAP_THREAD_NEST_MAX	32

/*
 * imap_sort_parse(args, nargs, thread, &a, &err): the arguments of
 * SORT ([RETURN (options)] (criteria) charset keys) or THREAD
 * (algorithm charset keys) up to the charset, into a.  The index of
 * the charset argument (the search keys follow it), or -1 with err for
 * a BAD reply.  RETURN's options are left to imap_search_parse().
 * Repeated criteria are dropped (sort.h).
 */
int	 imap_sort_parse(const struct imap_arg *, size_t, int,
	    struct mbox_args_sort *, const char **);

#endif /* IMAP_SORT_H */
