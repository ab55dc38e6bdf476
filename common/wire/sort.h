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
 * SORT and THREAD (RFC 5256) as the front asks them of vaultd: a
 * search program selects the messages (as for SEARCH) and these
 * arguments say how the vault orders them.  vaultd orders from what it
 * stored at delivery (dates, size, the decoded subject, the envelope's
 * addresses, Message-ID and the References and In-Reply-To fields of
 * the stored header text), so the front never fetches envelopes to
 * sort.
 */

#ifndef SORT_H
#define SORT_H

#include <stdint.h>

/* Sort keys: a criterion, with SORT_REVERSE or not. */
#define SORT_ARRIVAL		1
#define SORT_CC			2
#define SORT_DATE		3
#define SORT_FROM		4
#define SORT_SIZE		5
#define SORT_SUBJECT		6
#define SORT_TO			7
#define SORT_KEY_LAST		SORT_TO
#define SORT_REVERSE		0x80

/*
 * A criterion given twice never changes the order (the first already
 * decided every tie it could), so the front drops repeats and seven
 * keys at most remain.
 */
#define SORT_KEYS_MAX		8

#define THREAD_ORDEREDSUBJECT	1
#define THREAD_REFERENCES	2

/*
 * Threading reads at most the last THREAD_REFS_MAX ids of a References
 * field, each of at most THREAD_ID_MAX octets (with NUL): a hostile
 * header with thousands of ids costs no more than an ordinary one.
 */
#define THREAD_REFS_MAX		100
#define THREAD_ID_MAX		256

/*
 * The arguments of MBOX_OP_SORT and MBOX_OP_THREAD.  SORT: nkeys keys
 * (1..SORT_KEYS_MAX), thread 0.  THREAD: an algorithm THREAD_*, nkeys
 * 0.  Unused keys are 0.
 */
struct mbox_args_sort {
	uint32_t	 thread;
	uint32_t	 nkeys;
	uint8_t		 keys[SORT_KEYS_MAX];
};

/* 0 if the arguments are valid for the operation (sort or thread). */
int	 sort_args_check(const struct mbox_args_sort *, int);

#endif /* SORT_H */
