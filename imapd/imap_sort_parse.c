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
 * The arguments of SORT and THREAD before their search keys: the sort
 * criteria (RFC 5256 3) or the threading algorithm.
 */

#include <sys/types.h>

#include <string.h>

#include "imap_sort.h"

int
imap_sort_parse(const struct imap_arg *args, size_t nargs, int thread,
    struct mbox_args_sort *a, const char **err)
{
	static const struct {
		const char	*name;
		uint8_t		 key;
	} crit[] = {
		{ "ARRIVAL",	SORT_ARRIVAL },
		{ "CC",		SORT_CC },
		{ "DATE",	SORT_DATE },
		{ "FROM",	SORT_FROM },
		{ "SIZE",	SORT_SIZE },
		{ "SUBJECT",	SORT_SUBJECT },
		{ "TO",		SORT_TO },
	};
	const struct imap_arg	*l;
	unsigned int		 seen = 0;
	size_t			 i = 0, j, k;
	uint8_t			 rev;

	memset(a, 0, sizeof(*a));
	if (thread) {
		if (nargs < 3) {
			*err = "Syntax: THREAD algorithm charset keys";
			return (-1);
		}
		if (imap_arg_is(&args[0], "ORDEREDSUBJECT"))
			a->thread = THREAD_ORDEREDSUBJECT;
		else if (imap_arg_is(&args[0], "REFERENCES"))
			a->thread = THREAD_REFERENCES;
		else {
			*err = "Unknown threading algorithm";
			return (-1);
		}
		return (1);
	}
	if (nargs > 0 && imap_arg_is(&args[0], "RETURN"))
		i = 2;
	if (nargs < i + 3) {
		*err = "Syntax: SORT (criteria) charset keys";
		return (-1);
	}
	if (args[i].type != IMAP_ARG_LIST || args[i].nlist == 0) {
		*err = "Invalid sort criteria";
		return (-1);
	}
	l = args[i].list;
	for (j = 0; j < args[i].nlist; j++) {
		rev = 0;
		if (imap_arg_is(&l[j], "REVERSE")) {
			rev = SORT_REVERSE;
			if (++j == args[i].nlist) {
				*err = "REVERSE without a criterion";
				return (-1);
			}
		}
		for (k = 0; k < sizeof(crit) / sizeof(crit[0]); k++)
			if (imap_arg_is(&l[j], crit[k].name))
				break;
		if (k == sizeof(crit) / sizeof(crit[0])) {
			*err = "Unknown sort criterion";
			return (-1);
		}
		/* A repeat changes nothing: the first decided. */
		if (seen & (1U << crit[k].key))
			continue;
		seen |= 1U << crit[k].key;
		a->keys[a->nkeys++] = crit[k].key | rev;
	}
	return ((int)i + 1);
}
