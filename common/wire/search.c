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
 * Validation of a search program (search.h).  Both the front that
 * builds a program and vaultd that evaluates it call search_check(): a
 * program arriving over imsg is untrusted, and the evaluator relies on
 * what is checked here (stack discipline, terminated strings).
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "search.h"

static int	 op_key_ok(const struct search_op_s *);
static int	 field_ok(const char *);

/* A header field name (RFC 5322 ftext): 0x21-0x7e except ':'. */
static int
field_ok(const char *s)
{
	size_t	 i;

	if (s[0] == '\0')
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x21 ||
		    (unsigned char)s[i] > 0x7e || s[i] == ':')
			return (0);
	}
	return (1);
}

/* The operands of one key (an operation that pushes a value). */
static int
op_key_ok(const struct search_op_s *o)
{
	switch (o->op) {
	case SEARCH_ALL:
	case SEARCH_LARGER:
	case SEARCH_SMALLER:
	case SEARCH_BEFORE:
	case SEARCH_SINCE:
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTSINCE:
	case SEARCH_MODSEQ:
		return (1);
	case SEARCH_FLAG:
		return ((o->num & ~(uint64_t)MAILFLAG_ALL) == 0);
	case SEARCH_UID_RANGE:
	case SEARCH_SEQ_RANGE:
	case SEARCH_ON:
	case SEARCH_SENTON:
		return (o->num <= o->num2);
	case SEARCH_KEYWORD:
	case SEARCH_SUBJECT:
	case SEARCH_FROM:
	case SEARCH_TO:
	case SEARCH_CC:
	case SEARCH_BCC:
	case SEARCH_BODY:
	case SEARCH_TEXT:
		return (o->str[0] != '\0');
	case SEARCH_HEADER:
		/*
		 * An empty string is allowed here: HEADER <field> ""
		 * means "has that field" (RFC 9051 6.4.4), which no
		 * other key can say.
		 */
		return (field_ok(o->str2));
	default:
		return (0);
	}
}

int
search_check(const struct search_program *p)
{
	const struct search_op_s	*o;
	uint32_t			 i, depth = 0;

	if (p == NULL || p->nops < 1 || p->nops > SEARCH_MAX_OPS)
		return (-1);
	for (i = 0; i < p->nops; i++) {
		o = &p->ops[i];
		if (o->op >= SEARCH_OP_MAX)
			return (-1);
		if (memchr(o->str, '\0', sizeof(o->str)) == NULL ||
		    memchr(o->str2, '\0', sizeof(o->str2)) == NULL)
			return (-1);
		switch (o->op) {
		case SEARCH_AND:
		case SEARCH_OR:
			if (depth < 2)
				return (-1);
			depth--;
			break;
		case SEARCH_NOT:
			if (depth < 1)
				return (-1);
			break;
		default:
			if (!op_key_ok(o))
				return (-1);
			depth++;
			break;
		}
	}
	return (depth == 1 ? 0 : -1);
}
