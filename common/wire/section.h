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
 * section: where an IMAP section (RFC 9051 6.4.5: "1.2", "3.HEADER",
 * "TEXT", "1.2.MIME", with an optional <origin.count>) lies in a
 * message, found from the message's part map rather than from the
 * message itself.
 *
 * The part map is what the front's MIME parser (common/front/mime.c)
 * found: one node per part, in tree order, with the offsets of its
 * header and body.  The front puts it in the bundle, vaultd stores it
 * with the message, and a FETCH of one part asks vaultd for that part
 * alone (MBOX_OP_SECTIONS): vaultd finds the octets here, without
 * parsing mail, and reads only those.  mime_section() in the front goes
 * through the same section_find(), so that both ends cut a message the
 * same way.
 *
 * A map is untrusted input to vaultd (it comes from a front, and from
 * disk): section_find() checks every node it visits against the
 * message's length and the map's size, and every link must point
 * forward, so a walk always ends.
 */

#ifndef SECTION_H
#define SECTION_H

#include <stddef.h>
#include <stdint.h>

#define SECTION_PARTS_MAX	64	/* numbers in a section-part */
#define SECTION_NUM_DIGITS	9	/* digits of one number, at most */
#define SECTION_NODES_MAX	5001	/* MIME_PARTS_MAX and the root */

/* What follows the part numbers. */
enum section_text {
	SECTION_ALL,		/* the part (the whole message without) */
	SECTION_HEADER,		/* HEADER; HEADER.FIELDS too */
	SECTION_TEXT,
	SECTION_MIME,		/* only after part numbers */
	SECTION_NTEXT
};

/* A section, as imapd asks for it and as it travels (mbox_proto.h). */
struct section {
	uint32_t	 nparts;	/* 0..SECTION_PARTS_MAX */
	uint32_t	 text;		/* enum section_text */
	uint32_t	 origin;	/* <origin.count>: from here */
	uint32_t	 count;		/* at most this; 0: to the end */
	uint32_t	 part[SECTION_PARTS_MAX]; /* 1.., unused ones 0 */
};

/* Node flags. */
#define SECTION_N_MULTIPART	0x01	/* has (or could have had)
					 * parts */
#define SECTION_N_MESSAGE	0x02	/* message/rfc822: next node is the
					 * message inside */
#define SECTION_N_OPAQUE	0x04	/* not looked into */
#define SECTION_N_ISMSG		0x08	/* a message: the root, or
					 * the child of a
					 * SECTION_N_MESSAGE */
#define SECTION_N_CHILD		0x10	/* the next node is its first
					 * child */
#define SECTION_N_ALL		0x1f

/*
 * One node of a part map, stored in host order (both ends run on one
 * machine; vaultd keeps the map as it got it).  Offsets are octets of
 * the raw message (BUNDLE_RAW_MAX fits 32 bits).
 */
struct section_node {
	uint32_t	 off;		/* header start */
	uint32_t	 hdr_len;	/* with the empty line */
	uint32_t	 body_off;
	uint32_t	 body_len;
	uint32_t	 flags;		/* SECTION_N_* */
	uint32_t	 next;		/* next sibling's index, or 0 */
};

/*
 * section_parse(spec, s)	fill s (origin and count 0) from a
 *				section-spec without brackets ("", "1.2",
 *				"3.HEADER", "1.MIME"; "HEADER.FIELDS ..."
 *				counts as HEADER); -1 for bad syntax.
 * section_check(s)		0 if s is a section section_find() can
 *				be asked about: counts within bounds, no
 *				part number 0 or above 999999999, unused
 *				numbers 0, MIME only after numbers.
 * section_find(map, maplen, rawlen, s, &off, &n)
 *				the range of s (origin and count not
 *				applied) in a message of rawlen octets
 *				whose part map is maplen bytes at map; -1
 *				if the part does not exist, or the map is
 *				malformed where the walk went.
 * section_cut(s, &off, &n)	apply s's <origin.count> to a range: a
 *				past-the-end origin leaves n 0.
 */
int	 section_parse(const char *, struct section *);
int	 section_check(const struct section *);
int	 section_find(const void *, size_t, uint64_t, const struct section *,
	    uint64_t *, uint64_t *);
void	 section_cut(const struct section *, uint64_t *, uint64_t *);

#endif /* SECTION_H */
