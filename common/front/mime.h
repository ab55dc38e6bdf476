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
 * mime: turn a received message (RFC 5322, MIME) into what the vault
 * stores for it: the IMAP ENVELOPE and BODYSTRUCTURE strings, the
 * decoded fields and text for SEARCH, and the Date: header.  The input
 * is untrusted; every count and length is bounded and malformed MIME is
 * degraded the way Dovecot does rather than refused.
 *
 * Conventions of the output (clients see them):
 *
 *	ENVELOPE	RFC 9051 7.5.2, with its parentheses.  Date, subject,
 *			in-reply-to and message-id are the raw header values,
 *			unfolded and trimmed (encoded words are not decoded);
 *			the first occurrence of a field counts.  Addresses
 *			are parsed leniently: a missing local part or domain
 *			becomes "MISSING_MAILBOX" or "MISSING_DOMAIN" (as in
 *			Dovecot), so that no address looks like a group.
 *	BODYSTRUCTURE	RFC 9051 7.5.2, extensible form, with its
 *			parentheses.  Media type, subtype, encoding,
 *			disposition type and parameter names are upper-case
 *			(as in the RFC's examples); parameter values are as
 *			sent, RFC 2231 continuations joined (an extended
 *			value stays encoded, under "NAME*").  A text part
 *			without charset gets ("CHARSET" "US-ASCII").  Sizes
 *			are octets of the message as given (line ends not
 *			converted), lines count LF characters.
 *	strings		quoted, unless they hold CR, LF, 8-bit octets or are
 *			longer than 1024 octets: then a literal {n}CRLF.  NUL
 *			octets become U+FFFD, so no section holds a NUL.
 *
 * Degrading: a header ends at the first empty line (or at a boundary
 * of an enclosing multipart, or at the end); a line without a colon is
 * kept as part of the header.  Without Content-Type a part is text/plain
 * (message/rfc822 inside multipart/digest); an invalid Content-Type is
 * treated as absent.  A multipart without usable boundary, or whose
 * boundary never occurs, has no parts and is written with one empty
 * text/plain part, as Dovecot does.  A missing close delimiter ends the
 * parts at the end of the enclosing body.  Delimiter lines match by
 * prefix, the longest active boundary winning.  Multiparts and messages
 * nested deeper than MIME_DEPTH_MAX are not looked into and are
 * described as APPLICATION/OCTET-STREAM; after MIME_PARTS_MAX parts the
 * last one runs to the end of the message.  Only the first
 * MIME_FIELDS_MAX fields of a header are looked at, and only
 * message/rfc822 is read as an encapsulated message (message/global is
 * a basic part, as IMAP4rev1 has it).  When a string would exceed
 * its bundle section, a simpler structure is written (no extension
 * data and shortened strings; then one opaque part, or an envelope of
 * NILs).
 *
 * Search sections (UTF-8, no NUL, each within its bundle maximum):
 *
 *	subject, from, to, cc, bcc, messageid
 *			the first such field, unfolded, encoded words
 *			decoded, control characters made spaces.
 *	headers		every field of the message header, decoded the same
 *			way, one "Name: value\n" line each (a line without
 *			a colon is kept as it is).
 *	text		the parts of type TEXT: transfer encoding undone,
 *			converted to UTF-8, HTML reduced to text, CR dropped
 *			and other control characters made spaces; then the
 *			file names of the parts, one a line.
 *
 * Charsets: UTF-8, US-ASCII, ISO-8859-1 (read as Windows-1252, as
 * browsers do) and Windows-1252 are converted here; the others through
 * iconv(3) with converters that mime_init() opens.  An unknown charset,
 * or one whose converter is not open, is read as UTF-8 with invalid
 * octets replaced by U+FFFD.
 *
 * mime_init()		open the iconv converters of the common charsets.
 *			Call once before the sandbox: iconv_open() loads
 *			files, and mime_parse() itself never calls it.
 * mime_parse(msg, len, out)
 *			fill out (every string allocated and NUL-terminated,
 *			possibly empty); 0, or -1 with errno ENOMEM only.
 *			out is zeroed first and is empty after a failure.
 * mime_result_free(r)	free what mime_parse() allocated; r zeroed.
 * mime_to_bundle(r, raw, rawlen, internaldate, b)
 *			point b at r's strings and the raw message (nothing
 *			is copied: b lives no longer than r and raw); -1 with
 *			errno EINVAL if bundle_write() would refuse it (empty
 *			or too large message, date out of range).
 * mime_bundle_fd(raw, rawlen, internaldate, &fd)
 *			parse the message and write the whole bundle to a new
 *			memfd, sealed against any change, for the vault; 0, or
 *			-1 with errno (EINVAL: bundle_write() refuses it).
 * mime_section(msg, len, section, &off, &n)
 *			the byte range of an IMAP section-spec (RFC 9051
 *			6.4.5) in the message, without the brackets: "",
 *			"HEADER", "TEXT", "1", "1.2", "3.HEADER", "3.TEXT",
 *			"1.2.MIME".  "HEADER.FIELDS (...)" and
 *			"HEADER.FIELDS.NOT (...)" give the HEADER range, for
 *			the caller to filter.  -1 with errno EINVAL for bad
 *			syntax, ENOENT for a part that does not exist,
 *			ENOMEM.
 * mime_partmap(msg, len, &map, &maplen)
 *			the part map of the message (section.h), in a
 *			malloc'd buffer: what the bundle carries for vaultd
 *			and what mime_section() walks; -1 with errno ENOMEM,
 *			or EFBIG for a message above 4 GiB.
 * mime_body(bs, bslen, &out, &outlen)
 *			the non-extensible BODY form of a BODYSTRUCTURE made
 *			by mime_parse() (extension data dropped); -1 with
 *			errno EINVAL if bs is not such a string, ENOMEM.
 */

#ifndef MIME_H
#define MIME_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"

struct mime_result {
	char		*envelope;
	size_t		 envelope_len;
	char		*bodystructure;
	size_t		 bodystructure_len;
	char		*subject;
	size_t		 subject_len;
	char		*from;
	size_t		 from_len;
	char		*to;
	size_t		 to_len;
	char		*cc;
	size_t		 cc_len;
	char		*bcc;
	size_t		 bcc_len;
	char		*messageid;
	size_t		 messageid_len;
	char		*headers;
	size_t		 headers_len;
	char		*text;
	size_t		 text_len;
	char		*partmap;	/* section.h */
	size_t		 partmap_len;
	int64_t		 sentdate;	/* Date: header, or 0 */
};

void	 mime_init(void);
int	 mime_parse(const char *, size_t, struct mime_result *);
void	 mime_result_free(struct mime_result *);
int	 mime_to_bundle(const struct mime_result *, const char *, size_t,
	    int64_t, struct bundle *);
int	 mime_bundle_fd(const char *, size_t, int64_t, int *);
int	 mime_section(const char *, size_t, const char *, size_t *,
	    size_t *);
int	 mime_partmap(const char *, size_t, char **, size_t *);
int	 mime_body(const char *, size_t, char **, size_t *);

#ifdef MIME_INTERNAL
/*
 * Shared by common/front/mime*.c only: the part tree and the decoders (the
 * buffers are in mbuf.h).  Nothing below is an interface for other code.
 */

#include <iconv.h>

#include "common.h"
#include "mbuf.h"

#define MIME_DEPTH_MAX		20	/* multipart/message nesting */
#define MIME_PARTS_MAX		5000	/* parts in one message */
#define MIME_FIELDS_MAX		1000	/* fields looked at per header */
#define MIME_BOUNDARY_MAX	200	/* RFC 2046 says 70 */
#define MIME_PARAMS_MAX		64	/* parameters per field */
#define MIME_TOKEN_MAX		127	/* media type, subtype */
#define MIME_ADDRS_MAX		1000	/* addresses per field */
#define MIME_QUOTED_MAX		1024	/* longer strings are literals */
#define MIME_VALUE_MAX		(1024 * 1024)	/* of a field value looked at */
#define MIME_ADDRVALUE_MAX	(8 * 1024 * 1024)	/* of an address list */

/* The header fields a part remembers: the first of each. */
enum mime_field {
	MF_CTYPE,
	MF_CTE,
	MF_CID,
	MF_CDESC,
	MF_CMD5,
	MF_CDISP,
	MF_CLANG,
	MF_CLOC,
	MF_DATE,
	MF_SUBJECT,
	MF_FROM,
	MF_SENDER,
	MF_REPLYTO,
	MF_TO,
	MF_CC,
	MF_BCC,
	MF_INREPLYTO,
	MF_MSGID,
	MF_NFIELDS
};

/* A range of the message; p is NULL when absent. */
struct mime_str {
	const char	*p;
	size_t		 n;
};

#define MP_MULTIPART	0x01	/* has (or could have had) parts */
#define MP_MESSAGE	0x02	/* message/rfc822: child is the message */
#define MP_TEXT		0x04	/* text/... */
#define MP_OPAQUE	0x08	/* multipart/message not looked into */
#define MP_DIGEST	0x10	/* multipart/digest */
#define MP_HTML		0x20	/* text/html */

struct mime_part {
	struct mime_part	*parent;
	struct mime_part	*child;		/* first */
	struct mime_part	*last;		/* last child */
	struct mime_part	*next;		/* sibling */
	size_t			 off;		/* header start */
	size_t			 hdr_len;	/* with the empty line */
	size_t			 body_off;
	size_t			 body_len;
	size_t			 body_lines;
	size_t			 nchild;
	int			 depth;
	int			 flags;
	char			 type[MIME_TOKEN_MAX + 1];	/* upper */
	char			 subtype[MIME_TOKEN_MAX + 1];
	struct mime_str		 f[MF_NFIELDS];
};

/* One header field of a header block, as the iterator gives it. */
struct mime_hfield {
	const char	*name;		/* NULL for a line without a name */
	size_t		 namelen;
	const char	*value;		/* after the colon, folded */
	size_t		 valuelen;
};

struct mime_hiter {
	const char	*msg;
	size_t		 pos;
	size_t		 end;
	size_t		 count;
};

/* A parameter after RFC 2231 joining. */
struct mime_param {
	char		*name;		/* as sent, "*" kept if extended */
	char		*value;
	size_t		 vlen;
	int		 ext;		/* value is charset'lang'%XX */
};

struct mime_params {
	struct mime_param	*v;
	size_t			 n;
};

enum mime_cte_kind {
	CTE_RAW,
	CTE_BASE64,
	CTE_QP
};

/* White space a quoted-printable decoder holds back (a line's end, or
 * after a soft "="), at most. */
#define MIME_QP_WS_MAX	200

struct mime_cte {
	int		 kind;
	unsigned int	 bits;
	int		 nbits;
	int		 qstate;
	int		 qhex;
	size_t		 qws;
	char		 qwsbuf[MIME_QP_WS_MAX];
};

enum mime_conv_kind {
	CONV_UTF8,
	CONV_CP1252,
	CONV_ICONV
};

struct mime_conv {
	int		 kind;
	iconv_t		 cd;
	unsigned char	 carry[16];
	size_t		 ncarry;
};

struct mime_html {
	int		 state;
	int		 ws;		/* pending white space: 0, 1, 2 (\n) */
	int		 skip;		/* inside script or style */
	size_t		 match;		/* of the closing tag when skipping */
	char		 name[16];	/* tag name */
	size_t		 nname;
	int		 close;		/* </tag> */
	char		 quote;		/* in an attribute value */
	int		 eq;		/* after "=" in a tag */
	char		 ent[34];	/* entity being read */
	size_t		 nent;
	size_t		 dashes;	/* in a comment */
};

/* mime.c */
void	 mime_hiter_init(struct mime_hiter *, const char *, size_t, size_t);
int	 mime_hiter_next(struct mime_hiter *, struct mime_hfield *);
void	 mime_unfold(const char *, size_t, struct mbuf *);
int	 mime_tree(const char *, size_t, struct mime_part **);
void	 mime_tree_free(struct mime_part *);
int64_t	 mime_date(const char *, size_t);
int	 mime_lower(int);
int	 mime_upper(int);

/* mime_decode.c */
size_t	 mime_cfws(const char *, size_t, size_t, struct mbuf *);
size_t	 mime_skip_cfws(const char *, size_t, size_t);
int	 mime_token(const char *, size_t, size_t *, char *, size_t);
int	 mime_ctype(const char *, size_t, char *, char *, size_t *);
int	 mime_params_parse(const char *, size_t, struct mime_params *);
void	 mime_params_free(struct mime_params *);
const struct mime_param *
	 mime_params_get(const struct mime_params *, const char *, int);
void	 mime_param_decode(const struct mime_param *, struct mbuf *);
int	 mime_cte_kind(const struct mime_str *);
void	 mime_cte_init(struct mime_cte *, int);
void	 mime_cte_feed(struct mime_cte *, const char *, size_t, int,
	    struct mbuf *);
void	 mime_conv_init(struct mime_conv *, const char *, size_t);
void	 mime_conv_feed(struct mime_conv *, const char *, size_t, int,
	    struct mbuf *);
void	 mime_utf8_valid(const char *, size_t, struct mbuf *);
uint32_t mime_cp1252(unsigned char);
void	 mime_decode_words(const char *, size_t, struct mbuf *);
void	 mime_decode_field(const char *, size_t, struct mbuf *);
void	 mime_oneline(const char *, size_t, struct mbuf *);

/* mime_imap.c */
int	 mime_envelope(const char *, const struct mime_part *, int,
	    struct mbuf *);
int	 mime_bodystructure(const char *, const struct mime_part *, int,
	    struct mbuf *);

/* mime_text.c */
void	 mime_html_init(struct mime_html *);
void	 mime_html_feed(struct mime_html *, const char *, size_t,
	    struct mbuf *);
void	 mime_html_end(struct mime_html *, struct mbuf *);
int	 mime_text(const char *, const struct mime_part *, struct mbuf *);

#endif /* MIME_INTERNAL */

#endif /* MIME_H */
