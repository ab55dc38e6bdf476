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

/* The one check of SORT and THREAD arguments, for both ends. */

#include <stdint.h>

#include "sort.h"

int
sort_args_check(const struct mbox_args_sort *a, int thread)
{
	unsigned int	 seen = 0, k;
	uint32_t	 i;

	if (thread)
		return ((a->thread == THREAD_ORDEREDSUBJECT ||
		    a->thread == THREAD_REFERENCES) && a->nkeys == 0 ? 0 : -1);
	if (a->thread != 0 || a->nkeys == 0 || a->nkeys > SORT_KEYS_MAX)
		return (-1);
	for (i = 0; i < SORT_KEYS_MAX; i++) {
		k = a->keys[i] & ~SORT_REVERSE;
		if (i >= a->nkeys) {
			if (a->keys[i] != 0)
				return (-1);
			continue;
		}
		/* Each criterion once (see SORT_KEYS_MAX). */
		if (k == 0 || k > SORT_KEY_LAST || (seen & (1U << k)))
			return (-1);
		seen |= 1U << k;
	}
	return (0);
}
