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
 * The mailbox protocol between the fronts (imapd's IMAP and POP3) and
 * vaultd, declared once for both ends: the operations, the one status
 * family every vault answer carries, the fetch flags and store
 * operations, and the folder record.  vaultd's mailbox layer
 * (vault_mbox.h) speaks the same words, so nothing is translated at
 * the seam.
 */

#ifndef MBOX_PROTO_H
#define MBOX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "search.h"
#include "section.h"
#include "sort.h"

/*
 * The status of every vault answer (logins, recipients and deliveries
 * as well as mailbox operations: the first member of each result
 * struct in msg.h) and of every vault_mbox.h call.  The front words its
 * protocol's reply from it.
 */
#define MBOX_OK			0
#define MBOX_ENOTFOUND		1	/* no such folder or message */
#define MBOX_EEXISTS		2	/* the folder exists */
#define MBOX_EINVAL		3	/* bad name, bad set, refused */
#define MBOX_EMODIFIED		4	/* CONDSTORE: changed since */
#define MBOX_EIO		5	/* storage error (logged) */
#define MBOX_ELIMIT		6	/* too many folders, too large */
#define MBOX_ESESSION		7	/* no such session: log in again */
#define MBOX_EAUTH		8	/* wrong user or credential */
#define MBOX_ELOCKED		9	/* too many failures: wait */
#define MBOX_ETEMP		10	/* the vault cannot now: try later */

#define MBOX_NAME_MAX		1024	/* folder name, UTF-8, with NUL */
#define MBOX_KEYWORD_MAX	64	/* one keyword, with NUL */
#define MBOX_KEYWORDS_MAX	32	/* keywords per message */
/* A space-separated keyword list, with NUL. */
#define MBOX_KWLIST_MAX		(MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX)
#define MBOX_RANGES_MAX		1024	/* ranges in one set */

/* FETCH "how": bits. */
#define MBOX_FETCH_SEQ		0x01	/* ranges are sequence numbers */
#define MBOX_FETCH_NOMETA	0x02	/* no envelope/bodystructure */
#define MBOX_FETCH_CHANGEDSINCE	0x04	/* modseq > changedsince */
#define MBOX_FETCH_ALL		0x07

enum mbox_store_op {
	STORE_REPLACE,
	STORE_ADD,
	STORE_REMOVE
};

enum mbox_special {
	SPECIAL_NONE,
	SPECIAL_INBOX,
	SPECIAL_DRAFTS,
	SPECIAL_SENT,
	SPECIAL_JUNK,
	SPECIAL_TRASH,
	SPECIAL_ARCHIVE
};

/*
 * A set of uids (or sequence numbers): ranges, inclusive.  UINT32_MAX
 * is "*" (the folder's last uid) and never a uid: the vault's uids stop
 * below it.  A client's number 4294967295, which is not "*" (RFC 9051
 * 9), never comes here as UINT32_MAX: imapd cuts it to the largest uid
 * it knows, or drops a range that holds no other.
 */
struct mbox_range {
	uint32_t	 first;
	uint32_t	 last;		/* UINT32_MAX: "*" */
};

/*
 * A folder's ids and counts: the one declaration of them.  Holders of
 * folders add the name as they keep it (struct mbox_folder inline;
 * imapd's LIST, which may hold thousands, on the heap).
 */
struct mbox_folder_info {
	int64_t		 id;
	uint32_t	 special;		/* enum mbox_special */
	uint32_t	 subscribed;		/* 0, 1 or MBOX_SUBSCRIBED_... */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint32_t	 exists;		/* messages */
	uint32_t	 unseen;		/* without \Seen */
	uint32_t	 deleted;		/* with \Deleted */
	uint64_t	 size;			/* octets, all messages */
};

/*
 * In MBOX_OP_LIST's records only: a subscription kept after its
 * mailbox was deleted (RFC 3501 6.3.6); the name is no folder and the
 * rest of the record is 0.
 */
#define MBOX_SUBSCRIBED_NONEXISTENT	2

/* A folder, as vaultd reads it and the front gets it. */
struct mbox_folder {
	char			 name[MBOX_NAME_MAX];
	struct mbox_folder_info	 info;
};

/*
 * The operations.  After each: the parts of its request (see
 * struct mbox_req below), then what its IMSG_MBOX_RESULT carries.
 */
enum mbox_op {
	MBOX_OP_LIST,		/* -; fd: folder records */
	MBOX_OP_STATUS,		/* folder; fd: one folder record */
	MBOX_OP_CREATE,		/* folder, create */
	MBOX_OP_DELETE,		/* folder */
	MBOX_OP_RENAME,		/* folder -> folder2 */
	MBOX_OP_SUBSCRIBE,	/* folder, subscribe */
	MBOX_OP_FETCH,		/* folder, ranges, fetch; with
				 * MBOX_FETCH_CHANGEDSINCE only the messages
				 * whose modseq > fetch.changedsince (> 0);
				 * fd: message records */
	MBOX_OP_BODY,		/* folder, body; a = size; fd: the raw
				 * message */
	MBOX_OP_STORE,		/* folder, ranges, keywords, store
				 * (unchangedsince 0: none); fd: count
				 * changed message records, then a uids that
				 * failed the condition */
	MBOX_OP_COPY,		/* folder -> folder2, ranges; a = uidvalidity
				 * of folder2; fd: uid pairs */
	MBOX_OP_MOVE,		/* as COPY, and expunged from folder */
	MBOX_OP_EXPUNGE,	/* folder, ranges (none: all \Deleted);
				 * fd: uids */
	MBOX_OP_APPEND,		/* folder, append; fd: the messages, see
				 * below; a = uidvalidity, b = first uid */
	MBOX_OP_VANISHED,	/* folder, since; fd: uids */
	MBOX_OP_USAGE,		/* -; a = octets, b = messages */
	MBOX_OP_BODIES,		/* folder, ranges: see below */
	MBOX_OP_SEARCH,		/* folder, search program; fd: uids */
	MBOX_OP_SYNC,		/* folder, since: see below */
	MBOX_OP_SORT,		/* folder, search program, sort (sort.h);
				 * fd: uids in the sorted order */
	MBOX_OP_THREAD,		/* folder, search program, sort; fd: uid
				 * pairs (uid, depth): the threads' messages
				 * depth first, roots at depth 0, uid 0 for
				 * a dummy (only at the root) */
	MBOX_OP_RECENT,		/* folder, recent; a = the mark before,
				 * b = messages above it (no claim) */
	MBOX_OP_SECTIONS,	/* folder, ranges, sections: see below */
	MBOX_OP_MAX
};

/*
 * MBOX_OP_BODIES: folder, ranges (uids); fd: body records for the
 * messages in the ranges, in ascending uid order, up to
 * MBOX_BODIES_BUDGET octets of message data (always at least one
 * message if any exists); count = records; b = the last uid looked at:
 * every message of the ranges with a uid <= b that exists is in the
 * fd, so a caller goes on after b.  Messages that do not exist are
 * skipped silently.
 *
 * One round trip for many bodies (FETCH 1:* BODY[]), where BODY takes
 * one per message.  b is the uid of the last message in the fd when the
 * budget cut the answer short, else the highest uid of the ranges
 * (UINT32_MAX with "*"): then nothing is left.
 */
#define MBOX_BODIES_BUDGET	(4 * 1024 * 1024)

/*
 * MBOX_OP_SECTIONS: folder, ranges (uids), nsects sections
 * (1..MBOX_SECTIONS_MAX, each as section_check() wants it); count, b
 * and the budget as MBOX_OP_BODIES, but each body record holds, in
 * place of the message, a struct mbox_sections_hdr and then either
 *
 *	(whole 1) the raw message: it was stored without a part map
 *		(before schema version 3), or the sections would add up
 *		to more than it, and the caller cuts it;
 *	(whole 0) for each section in the order asked, a struct
 *		mbox_section_res and len octets: the section with its
 *		<origin.count> applied (section_find(), section_cut()),
 *		found 0 and len 0 for a part that does not exist.
 *
 * FETCH BODY[1.2], BODY[2.MIME], BINARY[3] or BODY[]<0.1024>: the
 * vault reads only the octets asked for, and only those travel.  The
 * budget counts the octets sent.
 */
#define MBOX_SECTIONS_MAX	16

struct mbox_sections_hdr {
	uint32_t	 whole;		/* 0 or 1 */
	uint32_t	 pad;		/* 0 */
};

struct mbox_section_res {
	uint32_t	 found;		/* 0 or 1 */
	uint32_t	 pad;		/* 0 */
	uint64_t	 len;		/* octets that follow */
};

/* One section of a record as read: pointing into the record. */
struct mbox_section_view {
	int		 found;
	const char	*p;		/* NULL when len is 0 */
	size_t		 len;
};

/*
 * mbox_sections_read(rec, len, nsects, &whole, &raw, &rawlen, v): read
 * the body record of MBOX_OP_SECTIONS at rec (len bytes) for a request
 * of nsects sections: whole and raw (the message) or v[0..nsects-1].
 * -1 if the record is malformed: a flag other than 0 or 1, pad not 0,
 * lengths that do not add up to len exactly.
 */
int	 mbox_sections_read(const void *, size_t, uint32_t, int *,
	    const char **, size_t *, struct mbox_section_view *);

/*
 * MBOX_OP_SYNC: folder, since.modseq M (the highest modseq the caller
 * knows, 0 for none); fd: one folder record (its status now), then a
 * uids (the messages expunged since M), then count message records
 * without envelope or bodystructure (every message whose modseq is
 * above M, or every message when M is 0), in ascending uid order.  When
 * the folder's highestmodseq is M, nothing changed: a and count are 0.
 *
 * What a session with the folder selected needs after a change, in one
 * round trip instead of three (STATUS, VANISHED, FETCH CHANGEDSINCE),
 * and read in one pass of vaultd, so no write falls between the parts.
 */

/*
 * MBOX_OP_APPEND: folder, append.count (1..MBOX_APPEND_MAX); fd: a
 * sealed memfd of count entries, one after the other, nothing after
 * the last: each a struct mbox_append_entry, then kwlen octets of
 * keywords (a space-separated list with its NUL; kwlen 1 for none),
 * then len octets of bundle (bundle.h).  All the messages are stored,
 * with consecutive uids from b, or none is (MULTIAPPEND, RFC 3502
 * 6.3.11).  A plain APPEND is count 1.
 */
#define MBOX_APPEND_MAX		1000	/* messages in one APPEND */

struct mbox_append_entry {
	uint32_t	 flags;		/* MAILFLAG_* */
	uint32_t	 kwlen;		/* with the NUL: 1..MBOX_KWLIST_MAX */
	uint64_t	 len;		/* of the bundle */
};

/* One entry as read, pointing into the buffer it was read from. */
struct mbox_append_view {
	uint32_t	 flags;
	const char	*keywords;	/* NUL-terminated */
	const void	*bundle;
	size_t		 len;
};

/*
 * mbox_append_put(fd, flags, keywords, b)	write one entry at fd's
 *		current offset (keywords NULL for none); -1 with EINVAL
 *		for keywords or a bundle the reader would refuse.
 * mbox_append_next(buf, len, &off, &v)	the entry at off in buf, off
 *		moved past it; -1 if it is malformed or runs past len.
 *		The bundle is not parsed (bundle_parse() is the
 *		caller's), nor are flags and keywords checked beyond
 *		their framing.
 */
struct bundle;
int	 mbox_append_put(int, uint32_t, const char *, const struct bundle *);
int	 mbox_append_next(const void *, size_t, size_t *,
	    struct mbox_append_view *);

/*
 * MBOX_OP_RECENT: the folder's recent mark, the highest uid a session
 * has been given as \Recent (RFC 3501 2.3.2): the messages above it
 * are recent for the next session that looks.  With claim, the mark
 * becomes upto (never lower, never past the folder's last uid): the
 * messages between the old mark and upto are the caller's.  Without
 * claim, b = how many messages are above the mark (STATUS RECENT).
 */

/* The arguments of the operations that take more than names and sets. */
struct mbox_args_create {
	uint32_t	 special;	/* SPECIAL_NONE, DRAFTS..ARCHIVE */
};

struct mbox_args_subscribe {
	uint32_t	 on;		/* 1 on, 0 off */
};

struct mbox_args_fetch {
	uint32_t	 how;		/* MBOX_FETCH_* */
	uint32_t	 pad;		/* 0 */
	uint64_t	 changedsince;	/* with MBOX_FETCH_CHANGEDSINCE */
};

struct mbox_args_body {
	uint32_t	 uid;
};

struct mbox_args_store {
	uint32_t	 op;		/* enum mbox_store_op */
	uint32_t	 flags;		/* MAILFLAG_* */
	uint64_t	 unchangedsince; /* 0: none */
};

struct mbox_args_append {
	uint32_t	 count;		/* entries in the fd */
};

struct mbox_args_since {
	uint64_t	 modseq;
};

struct mbox_args_recent {
	uint32_t	 upto;
	uint32_t	 claim;		/* 0 or 1 */
};

/*
 * A request as both ends hold it in memory: the session, the
 * operation, its arguments (the member of the union named after the
 * operation's kind, see enum mbox_op) and the parts it takes.  Names
 * and keywords are NUL-terminated here.
 */
struct mbox_req {
	uint32_t	 session;
	uint32_t	 op;		/* enum mbox_op */
	union {
		struct mbox_args_create		 create;
		struct mbox_args_subscribe	 subscribe;
		struct mbox_args_fetch		 fetch;
		struct mbox_args_body		 body;
		struct mbox_args_store		 store;
		struct mbox_args_append		 append;
		struct mbox_args_since		 since;
		struct mbox_args_sort		 sort;
		struct mbox_args_recent		 recent;
	};
	uint32_t	 nranges;
	uint32_t	 nsects;
	struct section	 sects[MBOX_SECTIONS_MAX];
	char		 folder[MBOX_NAME_MAX];
	char		 folder2[MBOX_NAME_MAX];
	char		 keywords[MBOX_KWLIST_MAX];
	struct mbox_range ranges[MBOX_RANGES_MAX];
};

/*
 * On the wire, an IMSG_MBOX_REQUEST is this header, then the
 * operation's argument struct (if it has one), then nranges struct
 * mbox_range, nnodes struct search_op_s (SEARCH, SORT, THREAD), nsects
 * struct section (SECTIONS), and the bytes of folder, folder2 and
 * keywords, without NUL.  Every count must be 0
 * for an operation that does not take that part, and the lengths must
 * add up to exactly the payload: so each operation carries what it
 * needs and nothing else, and a request is a few dozen bytes instead
 * of a fixed 12 KiB.
 */
struct mbox_req_hdr {
	uint32_t	 session;
	uint32_t	 op;		/* enum mbox_op */
	uint32_t	 nranges;	/* 0..MBOX_RANGES_MAX */
	uint32_t	 nnodes;	/* 0..SEARCH_MAX_OPS */
	uint32_t	 namelen;	/* 0..MBOX_NAME_MAX - 1 */
	uint32_t	 name2len;	/* 0..MBOX_NAME_MAX - 1 */
	uint32_t	 kwlen;		/* 0..MBOX_KWLIST_MAX - 1 */
	uint32_t	 nsects;	/* 0..MBOX_SECTIONS_MAX */
};

/* The largest request: every part at its maximum (the largest
 * argument structs are fetch's and sort's, of the same size). */
#define MBOX_REQ_WIRE_MAX	(sizeof(struct mbox_req_hdr) + \
	    sizeof(struct mbox_args_fetch) + \
	    MBOX_RANGES_MAX * sizeof(struct mbox_range) + \
	    SEARCH_MAX_OPS * sizeof(struct search_op_s) + \
	    MBOX_SECTIONS_MAX * sizeof(struct section) + \
	    2 * (MBOX_NAME_MAX - 1) + MBOX_KWLIST_MAX - 1)

/*
 * mbox_req_encode(q, prog, buf, &len): the wire form of q into buf (of
 * MBOX_REQ_WIRE_MAX bytes), only the parts q->op takes; prog is the
 * program of a SEARCH (else ignored).  -1 if q does not fit its
 * operation's limits.
 * mbox_req_size_ok(data, len): 1 if len is exactly what the header at
 * data declares for its operation (what msg_check() asks).
 * mbox_req_decode(data, len, &q, &prog): the reverse of encode, with
 * every size and count checked, no NUL allowed inside a name or the
 * keywords, and every section as section_check() wants it (SECTIONS
 * takes at least one); prog is filled for a SEARCH, SORT or THREAD
 * (search_check() is the
 * caller's).  NULL, or why the request is malformed.  Values (flags,
 * store operations...) are the receiver's to check.
 */
int		 mbox_req_encode(const struct mbox_req *,
		    const struct search_program *, void *, size_t *);
int		 mbox_req_size_ok(const void *, size_t);
const char	*mbox_req_decode(const void *, size_t, struct mbox_req *,
		    struct search_program *);

#endif /* MBOX_PROTO_H */
