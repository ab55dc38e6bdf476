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
 * bundle: a message as a front hands it to vaultd, in one memfd.
 *
 * The front parses the message (it is the one that may parse untrusted
 * MIME); vaultd stores what the front computed and never parses mail.
 * The layout is a fixed header, then the sections in order:
 *
 *	struct bundle_hdr	magic, version, dates, section lengths
 *	raw			the message as received (RFC 5322)
 *	envelope		IMAP ENVELOPE, as the server will send it
 *	bodystructure		IMAP BODYSTRUCTURE, as the server will send it
 *	subject, from, to, cc, bcc, messageid
 *				decoded to UTF-8, for SEARCH
 *	headers			every header field, decoded, "Name: value\n"
 *	text			the decoded text of the body, for the index
 *	partmap			where each MIME part lies in raw
 *				(section.h), so that vaultd can send one
 *				part alone (version 2; version 1 has none)
 *
 * bundle_parse() checks every length against the size it was given and
 * against the section's maximum before anything is used: a bundle is
 * untrusted input to vaultd.
 */

#ifndef BUNDLE_H
#define BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define BUNDLE_MAGIC		0x54524231U	/* "TRB1" */
#define BUNDLE_VERSION		2

enum bundle_section {
	BUNDLE_RAW,
	BUNDLE_ENVELOPE,
	BUNDLE_BODYSTRUCTURE,
	BUNDLE_SUBJECT,
	BUNDLE_FROM,
	BUNDLE_TO,
	BUNDLE_CC,
	BUNDLE_BCC,
	BUNDLE_MESSAGEID,
	BUNDLE_HEADERS,
	BUNDLE_TEXT,
	BUNDLE_PARTMAP,
	BUNDLE_NSECTIONS
};

#define BUNDLE_RAW_MAX		(1024U * 1024 * 1024)	/* 1 GiB */
#define BUNDLE_META_MAX		(1024U * 1024)		/* envelope etc. */
#define BUNDLE_FIELD_MAX	(64U * 1024)		/* subject etc. */
#define BUNDLE_TEXT_MAX		(32U * 1024 * 1024)	/* index text */

struct bundle_hdr {
	uint32_t	 magic;
	uint32_t	 version;
	int64_t		 internaldate;	/* seconds since the epoch */
	int64_t		 sentdate;	/* Date: header, or 0 */
	uint32_t	 len[BUNDLE_NSECTIONS];
};

/* A parsed bundle: pointers into the caller's buffer. */
struct bundle {
	int64_t		 internaldate;
	int64_t		 sentdate;
	const char	*sec[BUNDLE_NSECTIONS];	/* not NUL-terminated */
	size_t		 len[BUNDLE_NSECTIONS];
};

/*
 * bundle_section_max(sec)	the largest length a section may have.
 * bundle_parse(buf, len, b)	check an untrusted bundle of exactly len
 *				bytes and point b into buf; -1 with errno
 *				EBADMSG if anything is wrong.
 * bundle_put(fd, b, &len)	write b at fd's current offset; len is
 *				what was written; -1 with EINVAL for a
 *				bundle that bundle_parse would refuse.
 * bundle_write(fd, b)		write b from offset 0 of fd (a memfd),
 *				cutting off any longer old content; -1
 *				with EINVAL for a bundle that bundle_parse
 *				would refuse.
 * bundle_write_fd(b, &fd)	write b into a new memfd and seal it
 *				against writing, shrinking and growing:
 *				what a front hands vaultd.
 * bundle_map(fd, &p, &len)	copy the whole content of fd (a sealed
 *				memfd of another process) into private
 *				memory; EBADMSG for an fd that is not
 *				sealed so, or an empty or too large file.
 *				Release with bundle_unmap.
 * bundle_unmap(p, len)		wipe and free what bundle_map returned.
 */
size_t	 bundle_section_max(enum bundle_section);
int	 bundle_parse(const void *, size_t, struct bundle *);
int	 bundle_put(int, const struct bundle *, uint64_t *);
int	 bundle_write(int, const struct bundle *);
int	 bundle_write_fd(const struct bundle *, int *);
int	 bundle_map(int, void **, size_t *);
void	 bundle_unmap(void *, size_t);

#endif /* BUNDLE_H */
