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
 * The pieces of the IMAP front that do not talk to the network:
 *
 *	imap_parse.c	the arguments of one command, as a tree; sequence
 *			sets; modified UTF-7; dates
 *	imap_search.c	SEARCH keys to a search program for the vault,
 *			and the SEARCH / ESEARCH responses
 *	imap_fetch.c	FETCH items, and the FETCH response of one message
 *
 * imap_session.c assembles a command (its lines and literals) and
 * dispatches it; the commands call these, and the session's other
 * files (imap_local.h) do the talking to the client and to the vault.
 *
 * A command reaches the parser as one buffer: the text after "tag SP
 * command SP", with each literal as the client sent it: "{n}" (or
 * "{n+}", "~{n}") then CRLF then n octets, then the rest of the line.
 * The buffer holds no CRLF but those after a literal's size.  APPEND's
 * messages, which may be large and many (MULTIAPPEND), are kept in a
 * memfd instead, the spool: their "{n}CRLF" stays in the buffer, without
 * the octets, and the assembler lists each in struct imap_cmd's files,
 * by the offset of its "{" (or "~") in the buffer.
 */

#ifndef IMAP_H
#define IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "mbox_stream.h"
#include "search.h"

#define IMAP_NEST_MAX		16	/* parentheses in one command */
#define IMAP_ARGS_MAX		8192	/* arguments in one command */
#define IMAP_INLINE_MAX		(64 * 1024) /* command with its literals */
#define IMAP_FILES_MAX		MBOX_APPEND_MAX /* literals in the spool */
#define IMAP_SEQSET_MAX		MBOX_RANGES_MAX /* ranges in a set */
#define IMAP_DATETIME_LEN	27	/* "dd-Mon-yyyy hh:mm:ss +zzzz" + NUL */

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* also numbers, flags, "1:*", BODY[...]<.> */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,	/* held in memory */
	IMAP_ARG_FILE,		/* a literal held in the spool */
	IMAP_ARG_NIL,		/* the atom NIL, in any case */
	IMAP_ARG_LIST		/* ( ... ) */
};

/*
 * One argument.  Strings (ATOM, QUOTED, LITERAL) are NUL-terminated
 * copies; len does not count the NUL.  A literal may hold a NUL (then
 * strlen() is shorter than len: callers that want a string check
 * imap_arg_string()).  binary is set for a literal8 (~{n}).
 *
 * An atom is read leniently, as clients write them: every octet but
 * SP, CTL, "(", ")", "{", '"', so "[" too ("abc[def" is one atom, RFC
 * 9051 9); and once a FETCH section's name (BODY, BODY.PEEK, BINARY,
 * BINARY.PEEK, BINARY.SIZE, in any case) is followed by "[", everything
 * up to the matching "]" belongs to it, spaces and parentheses too
 * ("BODY.PEEK[HEADER.FIELDS (From To)]<0.100>" is one atom).  A "\"
 * is allowed at the start of an atom ("\Seen") and "*", "%" anywhere.
 */
struct imap_arg {
	enum imap_arg_type	 type;
	int			 binary;
	const char		*str;	/* ATOM, QUOTED, LITERAL */
	size_t			 len;
	struct imap_arg		*list;	/* LIST: its elements */
	size_t			 nlist;
	int			 fd;	/* FILE: the spool */
	size_t			 fdoff;	/* FILE: where it starts there */
	size_t			 fdlen;
};

/*
 * The literals of an APPEND (its messages) do not go into the command
 * buffer: they follow each other in one memfd, the command's spool,
 * and the buffer keeps only their "{n}".  files[] says, in the order of
 * the buffer, where each is.
 */
struct imap_file {
	size_t			 off;	/* of the literal's "{" or "~" */
	size_t			 foff;	/* of its first octet in the spool */
	size_t			 len;
};

struct imap_cmd {
	const char		*buf;
	size_t			 len;
	int			 spool;	/* owned by the assembler, or -1 */
	struct imap_file	*files;
	size_t			 nfiles;
};

/*
 * imap_parse(cmd, &args, &nargs, &err): the arguments of a command,
 * separated by single spaces (RFC 9051 is strict; so are we, except
 * that a trailing space is tolerated).  0, or -1 with err set to a
 * short reason for the BAD reply ("Too deeply nested parentheses",
 * "Unbalanced parentheses", "Invalid literal", "Invalid quoted
 * string", "Too many arguments", ...).  The arguments live in one
 * allocation that imap_args_free() releases (it does not close the
 * files' fds; the assembler owns those).  An empty command gives
 * nargs 0 and args NULL.
 */
int	 imap_parse(const struct imap_cmd *, struct imap_arg **, size_t *,
	    const char **);
void	 imap_args_free(struct imap_arg *);

/* The argument as a string: ATOM, QUOTED or LITERAL holding no NUL;
 * NULL otherwise. */
const char *imap_arg_string(const struct imap_arg *);
/* The argument as an astring (RFC 9051): the same, but an ATOM must
 * hold only ASTRING-CHARs (no "[" ... "]" with spaces, no "%" "*"). */
const char *imap_arg_astring(const struct imap_arg *);
/* An atom in any case: 1 if arg is the atom word. */
int	 imap_arg_is(const struct imap_arg *, const char *);
/* A number (RFC 9051 number, or number64 with the 64 variant). */
int	 imap_arg_number(const struct imap_arg *, uint32_t *);
int	 imap_arg_number64(const struct imap_arg *, uint64_t *);

/*
 * Sequence sets (RFC 9051 9, sequence-set): "1", "1:5", "3:*", "*",
 * "1,3:4,9:*".  Numbers 1..4294967295; "*" is UINT32_MAX in r, so that
 * it sorts last, and marked in star: the number 4294967295 is not "*"
 * (seq-number = nz-number / "*"), and only the caller knows the
 * largest number in use.  A reversed range is put in order.  At most
 * IMAP_SEQSET_MAX ranges; "$" is not a sequence set here (the caller
 * handles SEARCHRES).  0, or -1 if malformed or too long.
 */
#define IMAP_SEQ_STAR_FIRST	0x01	/* r[i].first is "*" */
#define IMAP_SEQ_STAR_LAST	0x02	/* r[i].last is "*" */

struct imap_seqset {
	struct mbox_range	 r[IMAP_SEQSET_MAX];
	unsigned char		 star[IMAP_SEQSET_MAX];
	size_t			 n;
};
/* Range i with its "*" (IMAP_SEQ_STAR_*) as star, in order. */
void	 imap_seqset_range(const struct imap_seqset *, size_t, uint32_t,
	    uint32_t *, uint32_t *);
int	 imap_seqset_parse(const char *, struct imap_seqset *);
/* Write a set of sorted, distinct numbers in short form ("1:3,7"). */
typedef void (*imap_out_fn)(void *, const void *, size_t);
void	 imap_seqset_write(const uint32_t *, size_t, imap_out_fn, void *);

/*
 * Mailbox names (RFC 3501 5.1.3).  Decode: modified UTF-7 (as a rev1
 * client sends it) to UTF-8; -1 if invalid (bad base64, a "&" not
 * closed, an encoded run of printable ASCII, "&-" spelt otherwise,
 * bad UTF-16) or if it does not fit.  Encode: UTF-8 (as stored) to
 * modified UTF-7; -1 if not valid UTF-8 or if it does not fit.
 */
int	 imap_utf7_decode(const char *, char *, size_t);
int	 imap_utf7_encode(const char *, char *, size_t);

/*
 * Dates.  imap_parse_date("1-Feb-1994") gives the start of that day
 * in UTC seconds (SEARCH compares days, RFC 9051 6.4.4).
 * imap_parse_datetime("17-Jul-1996 02:44:25 -0700") gives UTC seconds
 * (APPEND, RFC 9051 date-time; the day may have a leading space).
 * imap_format_datetime() writes a date-time in UTC ("+0000"), for
 * INTERNALDATE.  The parsers return 0 or -1.
 */
int	 imap_parse_date(const char *, int64_t *);
int	 imap_parse_datetime(const char *, int64_t *);
void	 imap_format_datetime(int64_t, char [IMAP_DATETIME_LEN]);

/*
 * Strings in responses: a quoted string when it is short and holds
 * only safe octets (no CR, LF, NUL, 8-bit unless utf8), else a
 * literal "{n}CRLF...".  The int is utf8: 8-bit octets may be quoted.
 * (imap_parse.c)
 */
void	 imap_write_string(const char *, size_t, int, imap_out_fn, void *);

/*
 * SEARCH (imap_search.c).  The keys of RFC 9051 6.4.4 and RFC 3501
 * 6.4.4, with CONDSTORE's MODSEQ, are turned into a search program for
 * the vault (common/wire/search.h).  Sequence numbers are the session's:
 * the caller gives their uids through seq_uid, so the vault sees only
 * uid ranges.
 */
struct imap_search_ctx {
	uint32_t	 exists;		/* messages in the session */
	uint32_t	 (*seq_uid)(void *, uint32_t);	/* seq -> uid */
	uint32_t	 maxuid;		/* uid of the last message */
	void		*arg;
	const uint32_t	*saved;		/* "$" (SEARCHRES), sorted uids */
	size_t		 nsaved;
	int		 saved_valid;	/* 0: "$" is an empty set */
	const struct mbox_range *recent; /* \Recent for the session */
	size_t		 nrecent;
};

#define IMAP_SEARCH_RET_MIN	0x01
#define IMAP_SEARCH_RET_MAX	0x02
#define IMAP_SEARCH_RET_ALL	0x04
#define IMAP_SEARCH_RET_COUNT	0x08
#define IMAP_SEARCH_RET_SAVE	0x10

struct imap_search {
	struct search_program	 prog;
	int			 esearch;	/* RETURN given: ESEARCH */
	unsigned int		 ret;		/* IMAP_SEARCH_RET_*; ALL
						 * if RETURN () */
	int			 modseq;	/* a MODSEQ key was used */
};

/*
 * imap_search_parse(args, nargs, ctx, &search, &err): args are those
 * after SEARCH (or UID SEARCH): [RETURN (...)] [CHARSET x] keys.  Only
 * the charsets UTF-8 and US-ASCII are accepted; another is -2 (the
 * caller answers NO [BADCHARSET (UTF-8 US-ASCII)]).  0, -1 with err
 * for a BAD reply, -2 for a charset.
 */
int	 imap_search_parse(const struct imap_arg *, size_t,
	    const struct imap_search_ctx *, struct imap_search *,
	    const char **);

/*
 * The response to a search whose matching uids (sorted ascending) are
 * given: "* SEARCH ..." or, with esearch, "* ESEARCH (TAG "tag") [UID]
 * MIN .. MAX .. COUNT .. ALL ..".  Numbers are uids with uid, sequence
 * numbers (through uid_seq, 0 for a uid the session does not know:
 * left out) without.  modseq, if not 0, is appended as "(MODSEQ n)"
 * (SEARCH) or "MODSEQ n" (ESEARCH).  Ends with CRLF.
 */
void	 imap_search_respond(const struct imap_search *, const char *,
	    int, const uint32_t *, size_t, uint32_t (*)(void *, uint32_t),
	    void *, uint64_t, imap_out_fn, void *);

/*
 * FETCH (imap_fetch.c).  imap_fetch_parse() reads the items after the
 * sequence set: one item, a macro (ALL, FAST, FULL) or a list, then an
 * optional list of modifiers (CHANGEDSINCE n, VANISHED).  What the
 * session must get from the vault for them follows from the flags.
 */
#define IMAP_FETCH_META		0x01	/* ENVELOPE or BODY/BODYSTRUCTURE */
#define IMAP_FETCH_RAW		0x02	/* BODY[..], BINARY, RFC822... */
#define IMAP_FETCH_SEEN		0x04	/* a non-PEEK body: sets \Seen */
#define IMAP_FETCH_MODSEQ	0x08	/* MODSEQ asked (CONDSTORE) */
#define IMAP_FETCH_UID		0x10	/* UID in every response */
#define IMAP_FETCH_FLAGS	0x20	/* FLAGS asked */

struct imap_fetch;

/*
 * uid is set for UID FETCH (UID is then always returned).  changedsince
 * is 0 if not given; vanished is set for the VANISHED modifier (only
 * valid with UID FETCH and CHANGEDSINCE: else an error).  0 or -1 with
 * err for a BAD reply.
 */
int	 imap_fetch_parse(const struct imap_arg *, size_t, int,
	    struct imap_fetch **, const char **);
void	 imap_fetch_free(struct imap_fetch *);
unsigned int imap_fetch_flags(const struct imap_fetch *);
uint64_t imap_fetch_changedsince(const struct imap_fetch *);
int	 imap_fetch_vanished(const struct imap_fetch *);

/*
 * Write "* seq FETCH (...)CRLF" for one message: m is its record (with
 * envelope and bodystructure when IMAP_FETCH_META was asked), raw its
 * octets when IMAP_FETCH_RAW was asked (else NULL).  flags_seen tells
 * that \Seen was just set (so FLAGS is included even if not asked,
 * per RFC 9051 6.4.5), with m->flags already holding it.  utf8 allows
 * 8-bit octets in quoted strings.  -1 (nothing written) if a BINARY
 * section cannot be decoded: the caller answers NO
 * [UNKNOWN-CTE]; 0 otherwise.
 */
int	 imap_fetch_write(const struct imap_fetch *, uint32_t,
	    const struct mbox_stream_msg *, const char *, size_t, int, int,
	    imap_out_fn, void *);

/*
 * A FETCH whose items need parts of messages rather than whole ones
 * asks the vault for those sections alone (MBOX_OP_SECTIONS).
 * imap_fetch_sections(f, list, &n) lists them (list of
 * MBOX_SECTIONS_MAX; equal ones once) and notes in f which item takes
 * which; -1 when the whole message is needed (BINARY[], only BODY[]
 * and RFC822, too many sections): then imap_fetch_write() on raw
 * messages.  imap_fetch_write_sections() writes one message's response
 * from the vault's answer: v[0..nv-1] in the order of the list.
 */
int	 imap_fetch_sections(struct imap_fetch *, struct section *,
	    uint32_t *);
int	 imap_fetch_write_sections(const struct imap_fetch *, uint32_t,
	    const struct mbox_stream_msg *, const struct mbox_section_view *,
	    uint32_t, int, int, imap_out_fn, void *);

/* Flags and keywords: "\Seen \Deleted $Label1". */
void	 imap_flags_write(uint32_t, const char *, imap_out_fn, void *);
/* A flag list from a LIST argument or a single flag atom: system
 * flags to MAILFLAG_* and keywords (atoms, at most MBOX_KEYWORD_MAX-1
 * octets each, kept as given) to a space-separated list without
 * duplicates.  \Recent is ignored (rev2 dropped it).  -1 for an
 * unknown backslash-flag, a bad keyword, or a list that does not fit
 * the buffer. */
int	 imap_flags_parse(const struct imap_arg *, uint32_t *, char *,
	    size_t);

#endif /* IMAP_H */
