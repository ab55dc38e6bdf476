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
 * mbox_stream: the records vaultd puts in the memfd that comes with an
 * IMSG_MBOX_RESULT, and a reader for the fronts.  The folder record is
 * struct mbox_folder of common/wire/mbox_proto.h, the one both ends use.
 *
 * Both ends run on the same machine, so integers are in host order.
 * Records follow each other with no padding or tag between them: which
 * records a stream holds, and how many, follows from the operation and
 * the result's count (see msg.h).  Every record says its own lengths:
 *
 *	folder	struct mbox_stream_folder_hdr, then namelen bytes of
 *		name (1..MBOX_NAME_MAX-1, no NUL)
 *	message	struct mbox_stream_msg_hdr, then kwlen bytes of
 *		keywords (space-separated, 0..MBOX_KWLIST_MAX-1, no
 *		NUL), envlen bytes of ENVELOPE and bslen bytes of
 *		BODYSTRUCTURE (each 0..MBOX_STREAM_META_MAX; both 0
 *		with MBOX_FETCH_NOMETA and in STORE results)
 *	uid	one uint32_t
 *	pair	two uint32_t: source uid, destination uid (COPY, MOVE)
 *	body	struct mbox_stream_body_hdr (uid 1..UINT32_MAX-1, pad
 *		0, size 0..BUNDLE_RAW_MAX), then size bytes of the raw
 *		message, as they are (any byte, NUL included)
 *
 * What each operation's fd holds (count is the result's count):
 *
 *	LIST		count folder records
 *	STATUS		one folder record
 *	FETCH		count message records, in ascending uid order
 *	BODY		the raw message, not records (a = its size)
 *	STORE		count message records (the messages that
 *			changed), then a uids (those that failed
 *			UNCHANGEDSINCE)
 *	COPY, MOVE	count uid pairs
 *	EXPUNGE,	count uids
 *	VANISHED,
 *	SEARCH
 *	BODIES		count body records, in strictly ascending uid
 *			order (b = the last uid looked at)
 *	SYNC		one folder record, then a uids (vanished), then
 *			count message records (see mbox_proto.h)
 *
 * Those operations pass an fd with every MBOX_OK (it may be empty)
 * and never with an error; the other operations never pass one.
 *
 * The reader trusts nothing in a stream: every length is checked
 * against the maxima above and against what is left of the buffer
 * before it is used, and a malformed stream stays malformed (every
 * later call fails too).  Names and keywords are copied into the
 * caller's record, NUL-terminated; envelope and bodystructure point
 * into the buffer (not NUL-terminated, envlen and bslen bytes; NULL
 * when empty) and stay valid as long as the buffer does.  No string may
 * hold a NUL; their content is not checked beyond that.  A message body
 * is not a string: it points into the buffer too, and may hold
 * anything.
 */

#ifndef MBOX_STREAM_H
#define MBOX_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "msg.h"

#define MBOX_STREAM_BUFSIZE	(64 * 1024)	/* writer buffer */
/* The longest envelope or bodystructure. */
#define MBOX_STREAM_META_MAX	BUNDLE_META_MAX

/* On the wire: fixed-size headers with no padding. */
struct mbox_stream_folder_hdr {
	int64_t		 id;
	uint64_t	 highestmodseq;
	uint64_t	 size;
	uint32_t	 special;
	uint32_t	 subscribed;
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint32_t	 exists;
	uint32_t	 unseen;
	uint32_t	 deleted;
	uint32_t	 namelen;
};

struct mbox_stream_msg_hdr {
	uint64_t	 modseq;
	int64_t		 internaldate;
	uint64_t	 size;
	uint32_t	 uid;
	uint32_t	 seq;
	uint32_t	 flags;
	uint32_t	 kwlen;
	uint32_t	 envlen;
	uint32_t	 bslen;
};

struct mbox_stream_body_hdr {
	uint32_t	 uid;
	uint32_t	 pad;		/* 0 */
	uint64_t	 size;		/* bytes of message that follow */
};

/* A message record, as written and as read. */
struct mbox_stream_msg {
	uint32_t	 uid;
	uint32_t	 seq;
	uint64_t	 modseq;
	uint32_t	 flags;			/* MAILFLAG_* */
	int64_t		 internaldate;
	uint64_t	 size;
	char		 keywords[MBOX_KWLIST_MAX];
	const char	*envelope;	/* not NUL-terminated */
	size_t		 envlen;
	const char	*bodystructure;	/* not NUL-terminated */
	size_t		 bslen;
};

struct mbox_stream_w {
	int		 fd;
	int		 error;
	size_t		 len;
	uint64_t	 body_left;	/* bytes the open body still owes */
	uint32_t	 lastbody;	/* uid of the last body */
	unsigned char	 buf[MBOX_STREAM_BUFSIZE];
};

struct mbox_stream_r {
	const unsigned char	*buf;
	size_t			 len;
	size_t			 off;
	int			 error;
	uint32_t		 lastbody;	/* uid of the last body */
};

/*
 * Writer.  mbox_stream_w_init(w, fd) starts a stream on fd (from its
 * current offset).  The put functions return 0, or -1 for a record that
 * breaks the limits above or a failed write; after a failure every call
 * fails.  mbox_stream_w_finish() writes out what is buffered, wipes the
 * buffer and returns -1 if anything failed since init: only then is the
 * stream complete.  mbox_stream_w_abort() only wipes the buffer, for a
 * stream given up on.  One of the two ends every stream.
 *
 * A body record is put in pieces, so that no message need be whole in
 * memory: mbox_stream_put_body_hdr(w, uid, size) opens it, then
 * mbox_stream_put_bytes() adds the message, in as many calls as suit,
 * until exactly size bytes are put.  Until then no other record may
 * be put and finish fails; more bytes than size is a failure too.  Body
 * uids must rise strictly within a stream, as the reader wants them.
 */
void	 mbox_stream_w_init(struct mbox_stream_w *, int);
int	 mbox_stream_put_folder(struct mbox_stream_w *,
	    const struct mbox_folder *);
int	 mbox_stream_put_msg(struct mbox_stream_w *,
	    const struct mbox_stream_msg *);
int	 mbox_stream_put_uid(struct mbox_stream_w *, uint32_t);
int	 mbox_stream_put_pair(struct mbox_stream_w *, uint32_t, uint32_t);
int	 mbox_stream_put_body_hdr(struct mbox_stream_w *, uint32_t,
	    uint64_t);
int	 mbox_stream_put_bytes(struct mbox_stream_w *, const void *, size_t);
int	 mbox_stream_w_finish(struct mbox_stream_w *);
void	 mbox_stream_w_abort(struct mbox_stream_w *);

/*
 * Reader.  mbox_stream_r_init(r, buf, len) reads len bytes at buf.
 * The next functions return 1 with the next record filled in, 0 at the
 * exact end of the buffer, -1 for a malformed record (a length past the
 * end of the buffer or above its maximum, a NUL inside any string, a
 * partial record at the end).
 *
 * mbox_stream_next_body(r, &uid, &data, &len): data points into the
 * buffer at the len bytes of the message (not NUL-terminated).
 * Malformed also: uid 0 or UINT32_MAX, pad not 0, a uid not above the
 * previous body record's in the same stream.
 */
void	 mbox_stream_r_init(struct mbox_stream_r *, const void *, size_t);
int	 mbox_stream_next_folder(struct mbox_stream_r *,
	    struct mbox_folder *);
int	 mbox_stream_next_msg(struct mbox_stream_r *,
	    struct mbox_stream_msg *);
int	 mbox_stream_next_uid(struct mbox_stream_r *, uint32_t *);
int	 mbox_stream_next_pair(struct mbox_stream_r *, uint32_t *,
	    uint32_t *);
int	 mbox_stream_next_body(struct mbox_stream_r *, uint32_t *,
	    const char **, size_t *);

/*
 * mbox_stream_read_fd(fd, max, &buf, &len): copy the content of a
 * result fd into a malloc'd buffer (never NULL on success, even for an
 * empty stream).  The fd must be a sealed memfd (F_SEAL_WRITE,
 * F_SEAL_SHRINK and F_SEAL_GROW): anything else fails with EPERM, so
 * the sender cannot change what is read.  EFBIG above max bytes.  The
 * fd is left open and its offset is not used.
 * mbox_stream_free(buf, len) wipes and frees that buffer (it holds
 * mail metadata or a message).
 */
int	 mbox_stream_read_fd(int, size_t, void **, size_t *);
void	 mbox_stream_free(void *, size_t);

#endif /* MBOX_STREAM_H */
