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
 * A search program: what an IMAP SEARCH asks, as the front sends it to
 * vaultd.  The front parses the client's search keys; vaultd evaluates
 * the program in SQL and the full-text index, never by reading bodies.
 *
 * The program is a list of at most SEARCH_MAX_OPS operations in postfix
 * order: keys push a truth value, SEARCH_AND and SEARCH_OR pop two and
 * push one, SEARCH_NOT pops one and pushes one.  A valid program leaves
 * exactly one value.  search_check() validates a program before use.
 */

#ifndef SEARCH_H
#define SEARCH_H

#include <stdint.h>

/* System flags (RFC 9051 2.3.2), as stored and as searched. */
#define MAILFLAG_SEEN		0x01
#define MAILFLAG_ANSWERED	0x02
#define MAILFLAG_FLAGGED	0x04
#define MAILFLAG_DELETED	0x08
#define MAILFLAG_DRAFT		0x10
#define MAILFLAG_ALL		0x1f

#define SEARCH_MAX_OPS		64
#define SEARCH_STR_MAX		256	/* with NUL */

enum search_op {
	SEARCH_ALL,		/* every message */
	SEARCH_AND,
	SEARCH_OR,
	SEARCH_NOT,
	SEARCH_FLAG,		/* flags has all of .num (MAILFLAG_*) */
	SEARCH_KEYWORD,		/* keyword .str is set */
	SEARCH_UID_RANGE,	/* .num <= uid <= .num2 */
	SEARCH_SEQ_RANGE,	/* .num <= seq <= .num2 (1-based) */
	SEARCH_LARGER,		/* size > .num */
	SEARCH_SMALLER,		/* size < .num */
	SEARCH_BEFORE,		/* internal date < .num (day start, UTC) */
	SEARCH_ON,		/* .num <= internal date < .num2 */
	SEARCH_SINCE,		/* internal date >= .num */
	SEARCH_SENTBEFORE,	/* the same on the Date: header */
	SEARCH_SENTON,
	SEARCH_SENTSINCE,
	SEARCH_MODSEQ,		/* modseq >= .num */
	SEARCH_SUBJECT,		/* substring .str, case-insensitive */
	SEARCH_FROM,
	SEARCH_TO,
	SEARCH_CC,
	SEARCH_BCC,
	SEARCH_HEADER,		/* header field .str2 contains .str */
	SEARCH_BODY,		/* body text contains .str */
	SEARCH_TEXT,		/* headers or body text contain .str */
	SEARCH_OP_MAX
};

struct search_op_s {
	uint32_t	 op;
	uint32_t	 pad;
	uint64_t	 num;
	uint64_t	 num2;
	char		 str[SEARCH_STR_MAX];
	char		 str2[SEARCH_STR_MAX];	/* SEARCH_HEADER: field */
};

struct search_program {
	uint32_t		 nops;
	uint32_t		 pad;
	struct search_op_s	 ops[SEARCH_MAX_OPS];
};

int	 search_check(const struct search_program *);

#endif /* SEARCH_H */
