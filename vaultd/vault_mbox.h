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
 * One account's mailbox: an encrypted SQLite database (vault_vfs.c)
 * with its folders, messages, flags and full-text index.  Enough for
 * IMAP4rev2 with CONDSTORE/QRESYNC and for POP3.
 *
 * Every function returns MBOX_OK or one of the MBOX_E* codes
 * (common/wire/mbox_proto.h, shared with the fronts).  Writes
 * run in one transaction each, committed and synced before the function
 * returns MBOX_OK (synchronous=FULL): an acknowledged change is durable.
 * Each committed write also bumps the mailbox's commit counter (the
 * freshness record kept in directory.db, see docs/).
 */

#ifndef VAULT_MBOX_H
#define VAULT_MBOX_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "mbox_proto.h"
#include "search.h"

#define MBOX_DEPTH_MAX		32	/* levels of '/' in a name */
#define MBOX_FOLDERS_MAX	10000
#define MBOX_DELIM		'/'
#define MBOX_IMPORT_NAME_MAX	256	/* spool entry name, with NUL */
#define MBOX_STATE_LEN		32	/* page-state digest (VFS_STATELEN) */
#define MBOX_INDEX_MAX		1000	/* messages in one mbox_index() */

struct mbox;

struct mbox_msg {
	uint32_t	 uid;
	uint32_t	 seq;			/* 1-based, in uid order */
	uint64_t	 modseq;
	uint32_t	 flags;			/* MAILFLAG_* */
	char		 keywords[MBOX_KWLIST_MAX];	/* space-separated */
	int64_t		 internaldate;
	uint64_t	 size;			/* octets of the raw message */
	const char	*envelope;		/* valid during the callback */
	const char	*bodystructure;
};

/*
 * Callbacks return 0 to go on, non-zero to stop (the call still
 * returns MBOX_OK).  Read calls (list, fetch, search, vanished) call
 * them inside a read transaction: they must not call into the same
 * struct mbox.  Write calls (store, copy, expunge) call them after the
 * commit, so only durable changes are reported.
 */
typedef int (*mbox_folder_cb)(void *, const struct mbox_folder *);
typedef int (*mbox_msg_cb)(void *, const struct mbox_msg *);
typedef int (*mbox_uid_cb)(void *, uint32_t);
typedef int (*mbox_uidpair_cb)(void *, uint32_t, uint32_t);
/* (arg, uid, size, off, chunk, len): a piece of a message's body. */
typedef int (*mbox_chunk_cb)(void *, uint32_t, uint64_t, uint64_t,
    const void *, size_t);

/*
 * Folder names are UTF-8 with '/' as the delimiter; "INBOX" in any
 * case (also as the first component) means INBOX.  A bad name is
 * MBOX_EINVAL everywhere.
 *
 * mbox_open(path, key32, dbid16, &mbox): a new database gets INBOX,
 * Drafts, Sent, Junk, Trash and Archive, subscribed.  A wrong key, a
 * tampered file or an unknown schema version is MBOX_EIO.
 * mbox_counter(): the commit counter, +1 per committed write; a write
 * call that changes nothing commits nothing.
 * mbox_index(mbox, max, maxbytes, &done): messages are stored without
 * their full-text rows, which mbox_index() writes afterwards: up to
 * max (1..MBOX_INDEX_MAX) of the oldest unindexed messages, fewer if
 * their raw sizes reach maxbytes (one at least), in one transaction
 * (a write: the counter moves).  mbox_index_due() says whether some
 * may be left, also after a crash or a reopen; mbox_index_backlog()
 * about how many and their raw octets (for scheduling only).
 * mbox_search() indexes
 * the whole backlog itself before a search that uses the index.
 * mbox_pagestate(mbox, out): the page-state digest (MBOX_STATE_LEN
 * bytes) of the last commit, which vaultd records with the counter
 * (vault_vfs_state.c); MBOX_EIO if it is not known (logged).  At open,
 * before anything is written, it is the digest of the file as found.
 *
 * mbox_folder_create(name, special): special-use (SPECIAL_NONE or
 * DRAFTS..ARCHIVE); missing parents are created (unsubscribed, as is
 * the new folder).  mbox_folder_rename() renames the children too and
 * keeps UIDVALIDITY; renaming INBOX moves its messages instead.
 *
 * mbox_fetch(): "*" is UINT32_MAX, reversed ranges are swapped;
 * messages in ascending uid order, with sequence numbers.
 * mbox_fetch_since(): the same, and with MBOX_FETCH_CHANGEDSINCE only
 * the messages whose modseq is above changedsince, which must then be
 * 1..INT64_MAX (else MBOX_EINVAL); without it, changedsince is
 * ignored.  Sequence numbers still count every message.  mbox_fetch()
 * is mbox_fetch_since() with changedsince 0.
 * mbox_bodies(folder, ranges, n, budget, cb, arg, &count, &lastuid):
 * the raw messages of the uid ranges ("*" is UINT32_MAX; unsorted and
 * overlapping ranges are fine), in ascending uid order, in one read
 * transaction.  Each message comes to cb in pieces of at most 64 KiB,
 * in order: (uid, size, off, chunk, len) with off from 0 up, until
 * off + len == size (an empty message: one call with len 0), so the
 * whole message is never in memory.  The walk stops before a message
 * that would take the total of the sizes given above budget, unless
 * none was given yet (so one larger than budget comes alone).  count
 * is the messages given; lastuid the uid of the last one when budget
 * cut the walk short, else the highest uid named in the ranges
 * (UINT32_MAX with "*"), even if no message matched: every message of
 * the ranges up to lastuid that exists was given.  A callback that
 * stops (non-zero) ends the walk, maybe inside a message: count and
 * lastuid then cover the messages given whole (lastuid 0 if none), and
 * the call returns MBOX_OK.  MBOX_ENOTFOUND if the folder is missing.
 * mbox_sections(folder, ranges, n, sects, nsects, budget, cb, arg,
 * &count, &lastuid): as mbox_bodies(), but each message's record is
 * the MBOX_OP_SECTIONS one of mbox_proto.h (1..MBOX_SECTIONS_MAX
 * sections, each passing section_check(), else MBOX_EINVAL): the
 * sections found in the message's stored part map, and only their
 * octets read from the blob; the whole message for one stored without
 * a map.  size, and the budget, count the record.
 * mbox_store(): uid ranges.  keywords is a space-separated list of
 * IMAP atoms (no system flags): MBOX_EINVAL if malformed, MBOX_ELIMIT
 * if a message would get more than MBOX_KEYWORDS_MAX.  Keywords compare
 * case-insensitively.  A message with modseq > unchangedsince (when
 * not 0) is left alone and reported to failed_cb; only messages that
 * really change get a new modseq and go to changed_cb (envelope NULL).
 * The call returns MBOX_OK even when some failed the condition.
 * mbox_copy(): MBOX_ENOTFOUND if a folder is missing; the uid pairs in
 * source uid order; *uidvalidity is the destination's.
 * mbox_expunge(): ranges NULL means every \Deleted message; one new
 * modseq for what one call expunges.
 * mbox_search(): MBOX_EINVAL if search_check() fails.  Substrings of
 * three or more characters are matched case-insensitively with Unicode
 * case folding (trigram index), shorter ones folding ASCII only.
 * UINT32_MAX in a UID or sequence range means "*".  Sent-date keys use
 * the internal date for a message without a Date: header.
 * mbox_sort(): SORT (a->thread 0: uid_cb is given the selected
 * messages' uids in order) or THREAD (pair_cb is given (uid, depth)
 * depth first, uid 0 for a dummy); MBOX_EINVAL for bad arguments
 * (sort.h).
 * mbox_import(name, bundle): MBOX_EEXISTS (and no change) if the spool
 * entry was imported already; names are 1..MBOX_IMPORT_NAME_MAX-1
 * graphic ASCII characters.  Between mbox_import_begin() and
 * mbox_import_commit() (or mbox_import_abort()) imports share one
 * transaction: durable only once committed, and a failed one undoes
 * only itself.
 */
int	 mbox_open(const char *, const unsigned char *, const unsigned char *,
	    struct mbox **);
void	 mbox_close(struct mbox *);
uint64_t mbox_counter(struct mbox *);
int	 mbox_checkpoint_due(const struct mbox *);
int	 mbox_checkpoint(struct mbox *);
int	 mbox_pagestate(struct mbox *, unsigned char *);
int	 mbox_index_due(const struct mbox *);
uint64_t mbox_index_backlog(const struct mbox *, uint64_t *);
int	 mbox_index(struct mbox *, size_t, uint64_t, size_t *);

int	 mbox_folder_list(struct mbox *, mbox_folder_cb, void *);
int	 mbox_folder_get(struct mbox *, const char *, struct mbox_folder *);
int	 mbox_folder_create(struct mbox *, const char *, uint32_t);
int	 mbox_folder_delete(struct mbox *, const char *);
int	 mbox_folder_rename(struct mbox *, const char *, const char *);
int	 mbox_folder_subscribe(struct mbox *, const char *, int);

int	 mbox_append(struct mbox *, const char *, const struct bundle *,
	    uint32_t, const char *, uint32_t *, uint32_t *);

/*
 * MULTIAPPEND (RFC 3502): n messages, each with its flags and keywords,
 * in one transaction: all are stored or none.  Their uids follow each
 * other from *first.  At most MBOX_APPEND_MAX messages.
 */
struct mbox_append_one {
	const struct bundle	*b;
	uint32_t		 flags;
	const char		*keywords;
};
int	 mbox_append_many(struct mbox *, const char *,
	    const struct mbox_append_one *, size_t, uint32_t *, uint32_t *);
int	 mbox_fetch(struct mbox *, const char *, const struct mbox_range *,
	    size_t, int, mbox_msg_cb, void *);
int	 mbox_fetch_since(struct mbox *, const char *,
	    const struct mbox_range *, size_t, int, uint64_t, mbox_msg_cb,
	    void *);
int	 mbox_body_write(struct mbox *, const char *, uint32_t, int);
int	 mbox_bodies(struct mbox *, const char *, const struct mbox_range *,
	    size_t, uint64_t, mbox_chunk_cb, void *, uint32_t *, uint32_t *);
int	 mbox_sections(struct mbox *, const char *, const struct mbox_range *,
	    size_t, const struct section *, size_t, uint64_t, mbox_chunk_cb,
	    void *, uint32_t *, uint32_t *);
int	 mbox_store(struct mbox *, const char *, const struct mbox_range *,
	    size_t, enum mbox_store_op, uint32_t, const char *, uint64_t,
	    mbox_msg_cb, mbox_uid_cb, void *);
int	 mbox_copy(struct mbox *, const char *, const struct mbox_range *,
	    size_t, const char *, int, mbox_uidpair_cb, void *,
	    uint32_t *);
int	 mbox_expunge(struct mbox *, const char *, const struct mbox_range *,
	    size_t, mbox_uid_cb, void *);
int	 mbox_search(struct mbox *, const char *,
	    const struct search_program *, mbox_uid_cb, void *);
int	 mbox_sort(struct mbox *, const char *,
	    const struct search_program *, const struct mbox_args_sort *,
	    mbox_uid_cb, mbox_uidpair_cb, void *);
int	 mbox_vanished(struct mbox *, const char *, uint64_t, mbox_uid_cb,
	    void *);
int	 mbox_import_seen(struct mbox *, const char *);
int	 mbox_import(struct mbox *, const char *, const struct bundle *);
int	 mbox_import_begin(struct mbox *);
int	 mbox_import_commit(struct mbox *);
void	 mbox_import_abort(struct mbox *);
int	 mbox_usage(struct mbox *, uint64_t *, uint64_t *);
int	 mbox_recent(struct mbox *, const char *, uint32_t, int, uint32_t *,
	    uint32_t *);

#endif /* VAULT_MBOX_H */
