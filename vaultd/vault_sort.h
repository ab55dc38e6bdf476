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
 * SORT and THREAD (RFC 5256) over messages already selected and read
 * (vault_mbox_sort.c reads them): base subjects, the sort order and
 * the two threading algorithms.  No SQL here, so that the unit tests
 * run them on crafted messages.
 */

#ifndef VAULT_SORT_H
#define VAULT_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "sort.h"

/*
 * Links that would make a chain of parents longer than this are not
 * made, and a deeper message starts a thread of its own: the
 * algorithm's walks and recursion stay bounded whatever the References
 * fields say.
 */
#define THREAD_DEPTH_MAX	256

/*
 * One message as the algorithms see it.  The strings are the caller's
 * (freed by sort_msg_free()); subject, from, to and cc are already
 * i;ascii-casemapped ("" when absent), msgid NULL when the message has
 * no valid Message-ID, refs its References ids in order (at most
 * THREAD_REFS_MAX; the In-Reply-To id when it has none).
 */
struct sort_msg {
	uint32_t	 uid;
	int64_t		 arrival;	/* internal date */
	int64_t		 date;		/* sent date, else arrival */
	uint64_t	 size;
	char		*subject;	/* base subject */
	int		 reply;		/* Re:, Fwd: or (fwd) removed */
	char		*from;		/* addr-mailbox, first address */
	char		*to;
	char		*cc;
	char		*msgid;
	char		**refs;
	size_t		 nrefs;
};

typedef int (*thread_cb)(void *, uint32_t, uint32_t);

/*
 * sort_base_subject(s, len, &reply): the base subject of s (RFC 5256
 * 2.1), casemapped, malloc'd; reply tells whether a reply or forward
 * marker was removed.  NULL if out of memory.
 * sort_msg_ids(s, len, ids, max): the msg-ids ("<...>") in s, the last
 * max of them, malloc'd into ids; how many, or -1.
 * sort_msgs(msgs, n, keys, nkeys): sort by the keys (SORT_* with
 * SORT_REVERSE), ties by uid (the sequence number's order).
 * thread_msgs(msgs, n, algo, cb, arg): the threads, cb(arg, uid, depth)
 * for every node depth first (uid 0 for a dummy); -1 if out of memory,
 * else 0 (or cb's non-zero, which stops the walk).
 */
char	*sort_base_subject(const char *, size_t, int *);
int	 sort_msg_ids(const char *, size_t, char **, size_t);
void	 sort_msgs(struct sort_msg *, size_t, const uint8_t *, size_t);
int	 thread_msgs(struct sort_msg *, size_t, int, thread_cb, void *);
void	 sort_msg_free(struct sort_msg *);

#endif /* VAULT_SORT_H */
