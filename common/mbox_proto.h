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

#include <stdint.h>

/*
 * The status of every vault answer and of every vault_mbox.h call.
 * The front words its protocol's reply from it.
 */
#define MBOX_OK			0
#define MBOX_ENOTFOUND		1	/* no such folder or message */
#define MBOX_EEXISTS		2	/* the folder exists */
#define MBOX_EINVAL		3	/* bad name, bad set, refused */
#define MBOX_EMODIFIED		4	/* CONDSTORE: changed since */
#define MBOX_EIO		5	/* storage error (logged) */
#define MBOX_ELIMIT		6	/* too many folders, too large */
#define MBOX_ESESSION		7	/* no such session: log in again */

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

/* A set of uids (or sequence numbers): ranges, inclusive. */
struct mbox_range {
	uint32_t	 first;
	uint32_t	 last;		/* UINT32_MAX: "*" */
};

/* A folder and its counts, as vaultd reads it and the front gets it. */
struct mbox_folder {
	int64_t		 id;
	char		 name[MBOX_NAME_MAX];
	uint32_t	 special;		/* enum mbox_special */
	uint32_t	 subscribed;		/* 0 or 1 */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint32_t	 exists;		/* messages */
	uint32_t	 unseen;		/* without \Seen */
	uint32_t	 deleted;		/* with \Deleted */
	uint64_t	 size;			/* octets, all messages */
};

enum mbox_op {
	MBOX_OP_LIST,		/* fd: folder records */
	MBOX_OP_STATUS,		/* folder; fd: one folder record */
	MBOX_OP_CREATE,		/* folder, special */
	MBOX_OP_DELETE,		/* folder */
	MBOX_OP_RENAME,		/* folder -> folder2 */
	MBOX_OP_SUBSCRIBE,	/* folder, flags: 1 on, 0 off */
	MBOX_OP_FETCH,		/* folder, ranges, flags: MBOX_FETCH_*;
				 * with MBOX_FETCH_CHANGEDSINCE only the
				 * messages whose modseq > modseq (> 0);
				 * fd: message records */
	MBOX_OP_BODY,		/* folder, ranges[0].first = uid;
				 * a = size; fd: the raw message */
	MBOX_OP_STORE,		/* folder, ranges, store_op (STORE_*),
				 * flags, keywords,
				 * modseq = UNCHANGEDSINCE (0: none);
				 * fd: count changed message records, then
				 * a uids that failed the condition */
	MBOX_OP_COPY,		/* folder -> folder2, ranges; a = uidvalidity
				 * of folder2; fd: uid pairs */
	MBOX_OP_MOVE,		/* as COPY, and expunged from folder */
	MBOX_OP_EXPUNGE,	/* folder, ranges (nranges 0: all \Deleted);
				 * fd: uids */
	MBOX_OP_APPEND,		/* folder, flags, keywords, fd: bundle;
				 * a = uidvalidity, b = uid */
	MBOX_OP_VANISHED,	/* folder, modseq; fd: uids */
	MBOX_OP_USAGE,		/* a = octets, b = messages */
	MBOX_OP_BODIES,		/* see below */
	MBOX_OP_MAX
};

/*
 * MBOX_OP_BODIES: folder, ranges (uids); fd: body records for the
 * messages in the ranges, in ascending uid order, up to
 * MBOX_BODIES_BUDGET octets of message data (always at least one
 * message if any exists); count = records; b = the last uid looked at:
 * every message of the ranges with a uid <= b that exists is in the
 * fd, so a caller goes on after b.  Messages that do not exist are
 * skipped silently.  modseq is not used; flags must be 0.
 *
 * One round trip for many bodies (FETCH 1:* BODY[]), where BODY takes
 * one per message.  b is the uid of the last message in the fd when the
 * budget cut the answer short, else the highest uid of the ranges
 * (UINT32_MAX with "*"): then nothing is left.
 */
#define MBOX_BODIES_BUDGET	(4 * 1024 * 1024)

#endif /* MBOX_PROTO_H */
