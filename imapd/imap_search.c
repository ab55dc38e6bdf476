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
 * SEARCH keys to a search program (common/wire/search.h), and the SEARCH and
 * ESEARCH responses.
 *
 * The keys are read by recursive descent and written in postfix order
 * as they are read: a key's operands first, then its operator; keys
 * side by side are joined by SEARCH_AND.  Sequence numbers never reach
 * the vault: they are the session's, so they are turned into uid ranges
 * here, through the session's map.  "*" in a uid set is the session's
 * last uid for the same reason: the client means the last message it
 * knows of, not one that arrived since.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap.h"

#define DAY_SECONDS	86400

struct sbuild {
	struct imap_search		*s;
	const struct imap_search_ctx	*ctx;
	const char			*err;
};

enum key_kind {
	K_ALL,		/* always true */
	K_NONE,		/* always false */
	K_FLAG,		/* SEARCH_FLAG with .flag */
	K_UNFLAG,	/* its negation */
	K_STRING,	/* .op with one string */
	K_DATE,		/* .op with one date */
	K_NUMBER,	/* .op with one number64 */
	K_NOT,
	K_OR,
	K_HEADER,
	K_KEYWORD,
	K_UNKEYWORD,
	K_UID,
	K_MODSEQ,
	K_RECENT,	/* \Recent: the session's ranges */
	K_NEW,		/* RECENT UNSEEN */
	K_OLD		/* NOT RECENT */
};

struct key_def {
	const char	*name;
	enum key_kind	 kind;
	uint32_t	 op;
	uint32_t	 flag;
};

/*
 * RFC 9051 and RFC 3501 6.4.4.  RECENT, NEW and OLD are IMAP4rev1's:
 * an IMAP4rev2 session has no recent message (RFC 9051 dropped
 * \Recent), so for it RECENT and NEW match nothing, OLD everything.
 */
static const struct key_def keydefs[] = {
	{ "ALL", K_ALL, 0, 0 },
	{ "ANSWERED", K_FLAG, 0, MAILFLAG_ANSWERED },
	{ "BCC", K_STRING, SEARCH_BCC, 0 },
	{ "BEFORE", K_DATE, SEARCH_BEFORE, 0 },
	{ "BODY", K_STRING, SEARCH_BODY, 0 },
	{ "CC", K_STRING, SEARCH_CC, 0 },
	{ "DELETED", K_FLAG, 0, MAILFLAG_DELETED },
	{ "DRAFT", K_FLAG, 0, MAILFLAG_DRAFT },
	{ "FLAGGED", K_FLAG, 0, MAILFLAG_FLAGGED },
	{ "FROM", K_STRING, SEARCH_FROM, 0 },
	{ "HEADER", K_HEADER, SEARCH_HEADER, 0 },
	{ "KEYWORD", K_KEYWORD, SEARCH_KEYWORD, 0 },
	{ "LARGER", K_NUMBER, SEARCH_LARGER, 0 },
	{ "MODSEQ", K_MODSEQ, SEARCH_MODSEQ, 0 },
	{ "NEW", K_NEW, 0, 0 },
	{ "NOT", K_NOT, SEARCH_NOT, 0 },
	{ "OLD", K_OLD, 0, 0 },
	{ "ON", K_DATE, SEARCH_ON, 0 },
	{ "OR", K_OR, SEARCH_OR, 0 },
	{ "RECENT", K_RECENT, 0, 0 },
	{ "SEEN", K_FLAG, 0, MAILFLAG_SEEN },
	{ "SENTBEFORE", K_DATE, SEARCH_SENTBEFORE, 0 },
	{ "SENTON", K_DATE, SEARCH_SENTON, 0 },
	{ "SENTSINCE", K_DATE, SEARCH_SENTSINCE, 0 },
	{ "SINCE", K_DATE, SEARCH_SINCE, 0 },
	{ "SMALLER", K_NUMBER, SEARCH_SMALLER, 0 },
	{ "SUBJECT", K_STRING, SEARCH_SUBJECT, 0 },
	{ "TEXT", K_STRING, SEARCH_TEXT, 0 },
	{ "TO", K_STRING, SEARCH_TO, 0 },
	{ "UID", K_UID, SEARCH_UID_RANGE, 0 },
	{ "UNANSWERED", K_UNFLAG, 0, MAILFLAG_ANSWERED },
	{ "UNDELETED", K_UNFLAG, 0, MAILFLAG_DELETED },
	{ "UNDRAFT", K_UNFLAG, 0, MAILFLAG_DRAFT },
	{ "UNFLAGGED", K_UNFLAG, 0, MAILFLAG_FLAGGED },
	{ "UNKEYWORD", K_UNKEYWORD, SEARCH_KEYWORD, 0 },
	{ "UNSEEN", K_UNFLAG, 0, MAILFLAG_SEEN }
};

static int	 fail(struct sbuild *, const char *);
static int	 emit(struct sbuild *, uint32_t, uint64_t, uint64_t,
		    const char *, const char *);
static int	 emit_none(struct sbuild *);
static int	 emit_range(struct sbuild *, uint32_t, uint32_t, size_t *);
static int	 range_cmp(const void *, const void *);
static size_t	 ranges_merge(struct mbox_range *, size_t);
static uint32_t	 uid_to_seq(const struct imap_search_ctx *, uint32_t);
static int	 key_saved(struct sbuild *);
static int	 key_recent(struct sbuild *);
static int	 key_set(struct sbuild *, const struct imap_arg *, int);
static int	 get_string(struct sbuild *, const struct imap_arg *,
		    const char **);
static int	 key_string(struct sbuild *, uint32_t,
		    const struct imap_arg *);
static int	 key_date(struct sbuild *, uint32_t,
		    const struct imap_arg *);
static int	 key_header(struct sbuild *, const struct imap_arg *,
		    const struct imap_arg *);
static int	 key_keyword(struct sbuild *, const struct imap_arg *, int);
static int	 key_modseq(struct sbuild *, const struct imap_arg *, size_t,
		    size_t *);
static int	 key(struct sbuild *, const struct imap_arg *, size_t,
		    size_t *, int);
static int	 keys(struct sbuild *, const struct imap_arg *, size_t, int);
static int	 parse_return(struct sbuild *, const struct imap_arg *);
static void	 out_str(imap_out_fn, void *, const char *);
static void	 out_num(imap_out_fn, void *, const char *, uint64_t);
static uint32_t	 resp_num(int, uint32_t, uint32_t (*)(void *, uint32_t),
		    void *);

static int
fail(struct sbuild *sb, const char *why)
{
	if (sb->err == NULL)
		sb->err = why;
	return (-1);
}

/* Append one operation; its strings are already known to fit. */
static int
emit(struct sbuild *sb, uint32_t op, uint64_t num, uint64_t num2,
    const char *str, const char *str2)
{
	struct search_program	*p = &sb->s->prog;
	struct search_op_s	*o;

	if (p->nops >= SEARCH_MAX_OPS)
		return (fail(sb, "Search too complex"));
	o = &p->ops[p->nops++];
	memset(o, 0, sizeof(*o));
	o->op = op;
	o->num = num;
	o->num2 = num2;
	if (str != NULL)
		strlcpy(o->str, str, sizeof(o->str));
	if (str2 != NULL)
		strlcpy(o->str2, str2, sizeof(o->str2));
	return (0);
}

/* A key no message satisfies: the program has no constant false. */
static int
emit_none(struct sbuild *sb)
{
	if (emit(sb, SEARCH_ALL, 0, 0, NULL, NULL) == -1 ||
	    emit(sb, SEARCH_NOT, 0, 0, NULL, NULL) == -1)
		return (-1);
	return (0);
}

/* One uid range of a set; ranges after the first are ORed in. */
static int
emit_range(struct sbuild *sb, uint32_t lo, uint32_t hi, size_t *count)
{
	if (emit(sb, SEARCH_UID_RANGE, lo, hi, NULL, NULL) == -1)
		return (-1);
	if ((*count)++ > 0 && emit(sb, SEARCH_OR, 0, 0, NULL, NULL) == -1)
		return (-1);
	return (0);
}

static int
range_cmp(const void *a, const void *b)
{
	const struct mbox_range	*ra = a, *rb = b;

	if (ra->first != rb->first)
		return (ra->first < rb->first ? -1 : 1);
	if (ra->last != rb->last)
		return (ra->last < rb->last ? -1 : 1);
	return (0);
}

/*
 * Sort ordered ranges and join those that overlap or touch, so that
 * "1,2,3" costs one operation of the program, not five.
 */
static size_t
ranges_merge(struct mbox_range *r, size_t n)
{
	size_t	 i, m;

	if (n == 0)
		return (0);
	qsort(r, n, sizeof(*r), range_cmp);
	m = 0;
	for (i = 1; i < n; i++) {
		if ((uint64_t)r[i].first <= (uint64_t)r[m].last + 1) {
			if (r[i].last > r[m].last)
				r[m].last = r[i].last;
		} else
			r[++m] = r[i];
	}
	return (m + 1);
}

/* The session's sequence number of a uid (its uids ascend), or 0. */
static uint32_t
uid_to_seq(const struct imap_search_ctx *ctx, uint32_t uid)
{
	uint32_t	 lo = 1, hi = ctx->exists, mid, u;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		u = ctx->seq_uid(ctx->arg, mid);
		if (u == uid)
			return (mid);
		if (u < uid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return (0);
}

/*
 * "$" (RFC 5182): the saved uids.  They are gathered into runs of
 * consecutive sequence numbers, which the session's map turns into
 * exact uid ranges even across the gaps expunges leave in uids.  A
 * saved uid the session no longer has is left out.
 */
static int
key_saved(struct sbuild *sb)
{
	const struct imap_search_ctx	*ctx = sb->ctx;
	size_t				 i, count = 0;
	uint32_t			 seq, first = 0, last = 0;

	if (!ctx->saved_valid || ctx->saved == NULL || ctx->exists == 0 ||
	    ctx->seq_uid == NULL)
		return (emit_none(sb));
	for (i = 0; i < ctx->nsaved; i++) {
		if ((seq = uid_to_seq(ctx, ctx->saved[i])) == 0)
			continue;
		if (first != 0 && seq >= first && seq <= last + 1) {
			if (seq > last)
				last = seq;
			continue;
		}
		if (first != 0 && emit_range(sb, ctx->seq_uid(ctx->arg, first),
		    ctx->seq_uid(ctx->arg, last), &count) == -1)
			return (-1);
		first = last = seq;
	}
	if (first != 0 && emit_range(sb, ctx->seq_uid(ctx->arg, first),
	    ctx->seq_uid(ctx->arg, last), &count) == -1)
		return (-1);
	if (count == 0)
		return (emit_none(sb));
	return (0);
}

/* The session's recent messages: its uid ranges, ORed. */
static int
key_recent(struct sbuild *sb)
{
	const struct imap_search_ctx	*ctx = sb->ctx;
	size_t				 i, count = 0;

	for (i = 0; i < ctx->nrecent; i++)
		if (emit_range(sb, ctx->recent[i].first, ctx->recent[i].last,
		    &count) == -1)
			return (-1);
	if (count == 0)
		return (emit_none(sb));
	return (0);
}

/*
 * A sequence set of the session's numbers (uid 0) or of uids (uid 1),
 * or "$".  Sequence numbers past the last message are ignored (a range
 * wholly past it matches nothing); "*" is the last message.
 */
static int
key_set(struct sbuild *sb, const struct imap_arg *a, int uid)
{
	const struct imap_search_ctx	*ctx = sb->ctx;
	struct imap_seqset		 set;
	struct mbox_range		*r;
	size_t				 i, n, count = 0;
	uint32_t			 star, lo, hi;

	if (a->type == IMAP_ARG_ATOM && strcmp(a->str, "$") == 0)
		return (key_saved(sb));
	if (a->type != IMAP_ARG_ATOM || imap_seqset_parse(a->str, &set) == -1)
		return (fail(sb, "Invalid sequence set"));
	if (!uid && (ctx->exists == 0 || ctx->seq_uid == NULL))
		return (emit_none(sb));
	star = uid ? ctx->maxuid : ctx->exists;
	n = 0;
	for (i = 0; i < set.n && i < IMAP_SEQSET_MAX; i++) {
		imap_seqset_range(&set, i, star, &lo, &hi);
		/*
		 * The number 4294967295 is not "*" (RFC 9051 9) and no
		 * uid (the vault's stop below it); UINT32_MAX must not
		 * reach the vault, where it means "*".
		 */
		if (hi == UINT32_MAX)
			hi = UINT32_MAX - 1;
		if (lo > hi)
			continue;
		if (hi == 0)
			continue;	/* "*" of an empty mailbox */
		if (lo == 0)
			lo = 1;
		if (!uid) {
			if (lo > ctx->exists)
				continue;
			if (hi > ctx->exists)
				hi = ctx->exists;
		}
		r = &set.r[n++];
		r->first = lo;
		r->last = hi;
	}
	n = ranges_merge(set.r, n);
	for (i = 0; i < n; i++) {
		lo = set.r[i].first;
		hi = set.r[i].last;
		if (!uid) {
			lo = ctx->seq_uid(ctx->arg, lo);
			hi = ctx->seq_uid(ctx->arg, hi);
		}
		if (emit_range(sb, lo, hi, &count) == -1)
			return (-1);
	}
	if (count == 0)
		return (emit_none(sb));
	return (0);
}

/* An astring argument that fits a search_op_s string. */
static int
get_string(struct sbuild *sb, const struct imap_arg *a, const char **sp)
{
	const char	*s;

	if (a->binary || (s = imap_arg_astring(a)) == NULL)
		return (fail(sb, "Invalid search string"));
	if (a->len >= SEARCH_STR_MAX)
		return (fail(sb, "Search string too long"));
	*sp = s;
	return (0);
}

static int
key_string(struct sbuild *sb, uint32_t op, const struct imap_arg *a)
{
	const char	*s, *field;

	if (get_string(sb, a, &s) == -1)
		return (-1);
	if (*s != '\0')
		return (emit(sb, op, 0, 0, s, NULL));
	/*
	 * The empty string is a substring of every text, but search_check()
	 * wants one to search for.  In a field of the envelope it can only
	 * mean that the message has the field; in the text, any message.
	 */
	switch (op) {
	case SEARCH_SUBJECT:
		field = "Subject";
		break;
	case SEARCH_FROM:
		field = "From";
		break;
	case SEARCH_TO:
		field = "To";
		break;
	case SEARCH_CC:
		field = "Cc";
		break;
	case SEARCH_BCC:
		field = "Bcc";
		break;
	default:
		return (emit(sb, SEARCH_ALL, 0, 0, NULL, NULL));
	}
	return (emit(sb, SEARCH_HEADER, 0, 0, "", field));
}

/*
 * A date (RFC 9051 date: bare or quoted).  Days before 1970 are
 * clamped to 0: the vault reads .num as a signed time, and no message
 * is dated before then, so BEFORE matches nothing and SINCE everything,
 * as they would.
 */
static int
key_date(struct sbuild *sb, uint32_t op, const struct imap_arg *a)
{
	const char	*s;
	int64_t		 day, end;

	if ((s = imap_arg_string(a)) == NULL || a->binary ||
	    imap_parse_date(s, &day) == -1)
		return (fail(sb, "Invalid date"));
	end = day + DAY_SECONDS;
	if (day < 0)
		day = 0;
	if (end < 0)
		end = 0;
	if (op == SEARCH_ON || op == SEARCH_SENTON)
		return (emit(sb, op, (uint64_t)day, (uint64_t)end, NULL, NULL));
	return (emit(sb, op, (uint64_t)day, 0, NULL, NULL));
}

/*
 * HEADER field string.  A field name that no header can have (empty,
 * a space or a colon in it) matches nothing.
 */
static int
key_header(struct sbuild *sb, const struct imap_arg *fa,
    const struct imap_arg *va)
{
	const char	*field, *s;
	size_t		 i;

	if (get_string(sb, fa, &field) == -1 || get_string(sb, va, &s) == -1)
		return (-1);
	if (field[0] == '\0')
		return (emit_none(sb));
	for (i = 0; field[i] != '\0'; i++) {
		if ((unsigned char)field[i] < 0x21 ||
		    (unsigned char)field[i] > 0x7e || field[i] == ':')
			return (emit_none(sb));
	}
	return (emit(sb, SEARCH_HEADER, 0, 0, s, field));
}

/*
 * KEYWORD flag-keyword: an atom.  The vault finds nothing for an atom
 * that is not a valid keyword ("\Seen", say), as no message has it.
 */
static int
key_keyword(struct sbuild *sb, const struct imap_arg *a, int un)
{
	const char	*s;

	if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL)
		return (fail(sb, "Invalid keyword"));
	if (get_string(sb, a, &s) == -1)
		return (-1);
	if (emit(sb, SEARCH_KEYWORD, 0, 0, s, NULL) == -1)
		return (-1);
	if (un && emit(sb, SEARCH_NOT, 0, 0, NULL, NULL) == -1)
		return (-1);
	return (0);
}

/*
 * CONDSTORE (RFC 7162 3.1.5): MODSEQ [entry-name entry-type-req]
 * mod-sequence-valzer.  We keep one mod-sequence per message, so the
 * entry is checked and then ignored, as that section asks.
 */
static int
key_modseq(struct sbuild *sb, const struct imap_arg *args, size_t nargs,
    size_t *ip)
{
	const char	*name;
	uint64_t	 v;

	if (*ip >= nargs)
		return (fail(sb, "Missing search argument"));
	if (imap_arg_number64(&args[*ip], &v) == -1) {
		if ((name = imap_arg_string(&args[*ip])) == NULL ||
		    args[*ip].binary ||
		    strncasecmp(name, "/flags/", 7) != 0 || name[7] == '\0')
			return (fail(sb, "Invalid MODSEQ entry"));
		if (++*ip >= nargs)
			return (fail(sb, "Missing search argument"));
		if (!imap_arg_is(&args[*ip], "priv") &&
		    !imap_arg_is(&args[*ip], "shared") &&
		    !imap_arg_is(&args[*ip], "all"))
			return (fail(sb, "Invalid MODSEQ entry type"));
		if (++*ip >= nargs)
			return (fail(sb, "Missing search argument"));
		if (imap_arg_number64(&args[*ip], &v) == -1)
			return (fail(sb, "Invalid number"));
	}
	(*ip)++;
	sb->s->modseq = 1;
	return (emit(sb, SEARCH_MODSEQ, v, 0, NULL, NULL));
}

/*
 * One key at args[*ip], its arguments after it; *ip is moved past
 * them.  Every level of nesting adds at least one operation, so depth
 * past SEARCH_MAX_OPS could not fit anyway: refusing it there bounds
 * the recursion ("NOT NOT NOT ..." on a long line).
 */
static int
key(struct sbuild *sb, const struct imap_arg *args, size_t nargs,
    size_t *ip, int depth)
{
	const struct imap_arg	*a;
	const struct key_def	*k = NULL;
	size_t			 i, need;
	uint64_t		 v;

	if (depth > SEARCH_MAX_OPS)
		return (fail(sb, "Search too complex"));
	if (*ip >= nargs)
		return (fail(sb, "Missing search key"));
	a = &args[(*ip)++];
	if (a->type == IMAP_ARG_LIST) {
		if (a->nlist == 0)
			return (fail(sb, "Empty search key list"));
		return (keys(sb, a->list, a->nlist, depth + 1));
	}
	if (a->type != IMAP_ARG_ATOM)
		return (fail(sb, "Invalid search key"));
	for (i = 0; i < sizeof(keydefs) / sizeof(keydefs[0]); i++) {
		if (imap_arg_is(a, keydefs[i].name)) {
			k = &keydefs[i];
			break;
		}
	}
	if (k == NULL) {
		/* Not a key: a sequence set, or "$", or garbage. */
		if (a->str[0] != '$' && (a->str[0] < '0' || a->str[0] > '9') &&
		    a->str[0] != '*')
			return (fail(sb, "Unknown search key"));
		return (key_set(sb, a, 0));
	}

	switch (k->kind) {
	case K_STRING:
	case K_DATE:
	case K_NUMBER:
	case K_KEYWORD:
	case K_UNKEYWORD:
	case K_UID:
		need = 1;
		break;
	case K_HEADER:
		need = 2;
		break;
	default:
		need = 0;
		break;
	}
	if (nargs - *ip < need)
		return (fail(sb, "Missing search argument"));
	a = &args[*ip];
	*ip += need;

	switch (k->kind) {
	case K_ALL:
		return (emit(sb, SEARCH_ALL, 0, 0, NULL, NULL));
	case K_NONE:
		return (emit_none(sb));
	case K_RECENT:
		return (key_recent(sb));
	case K_NEW:
		/* No recent message: the constants, as rev2 always has. */
		if (sb->ctx->nrecent == 0)
			return (emit_none(sb));
		if (key_recent(sb) == -1 ||
		    emit(sb, SEARCH_FLAG, MAILFLAG_SEEN, 0, NULL, NULL) == -1 ||
		    emit(sb, SEARCH_NOT, 0, 0, NULL, NULL) == -1)
			return (-1);
		return (emit(sb, SEARCH_AND, 0, 0, NULL, NULL));
	case K_OLD:
		if (sb->ctx->nrecent == 0)
			return (emit(sb, SEARCH_ALL, 0, 0, NULL, NULL));
		if (key_recent(sb) == -1)
			return (-1);
		return (emit(sb, SEARCH_NOT, 0, 0, NULL, NULL));
	case K_FLAG:
		return (emit(sb, SEARCH_FLAG, k->flag, 0, NULL, NULL));
	case K_UNFLAG:
		if (emit(sb, SEARCH_FLAG, k->flag, 0, NULL, NULL) == -1)
			return (-1);
		return (emit(sb, SEARCH_NOT, 0, 0, NULL, NULL));
	case K_STRING:
		return (key_string(sb, k->op, a));
	case K_DATE:
		return (key_date(sb, k->op, a));
	case K_NUMBER:
		if (imap_arg_number64(a, &v) == -1)
			return (fail(sb, "Invalid number"));
		return (emit(sb, k->op, v, 0, NULL, NULL));
	case K_NOT:
		if (key(sb, args, nargs, ip, depth + 1) == -1)
			return (-1);
		return (emit(sb, SEARCH_NOT, 0, 0, NULL, NULL));
	case K_OR:
		if (key(sb, args, nargs, ip, depth + 1) == -1 ||
		    key(sb, args, nargs, ip, depth + 1) == -1)
			return (-1);
		return (emit(sb, SEARCH_OR, 0, 0, NULL, NULL));
	case K_HEADER:
		return (key_header(sb, a, a + 1));
	case K_KEYWORD:
		return (key_keyword(sb, a, 0));
	case K_UNKEYWORD:
		return (key_keyword(sb, a, 1));
	case K_UID:
		return (key_set(sb, a, 1));
	case K_MODSEQ:
		return (key_modseq(sb, args, nargs, ip));
	}
	return (fail(sb, "Unknown search key"));
}

/* One or more keys, ANDed. */
static int
keys(struct sbuild *sb, const struct imap_arg *args, size_t nargs,
    int depth)
{
	size_t	 i = 0, n = 0;

	if (nargs == 0)
		return (fail(sb, "Missing search key"));
	while (i < nargs) {
		if (key(sb, args, nargs, &i, depth) == -1)
			return (-1);
		if (n++ > 0 && emit(sb, SEARCH_AND, 0, 0, NULL, NULL) == -1)
			return (-1);
	}
	return (0);
}

/* RETURN (options) of ESEARCH (RFC 4731) and SEARCHRES (RFC 5182). */
static int
parse_return(struct sbuild *sb, const struct imap_arg *list)
{
	static const struct {
		const char	*name;
		unsigned int	 bit;
	} opts[] = {
		{ "MIN",	IMAP_SEARCH_RET_MIN },
		{ "MAX",	IMAP_SEARCH_RET_MAX },
		{ "ALL",	IMAP_SEARCH_RET_ALL },
		{ "COUNT",	IMAP_SEARCH_RET_COUNT },
		{ "SAVE",	IMAP_SEARCH_RET_SAVE }
	};
	size_t	 i, j;

	if (list->type != IMAP_ARG_LIST)
		return (fail(sb, "Invalid RETURN options"));
	sb->s->esearch = 1;
	for (i = 0; i < list->nlist; i++) {
		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++)
			if (imap_arg_is(&list->list[i], opts[j].name))
				break;
		if (j == sizeof(opts) / sizeof(opts[0]))
			return (fail(sb, "Unknown RETURN option"));
		sb->s->ret |= opts[j].bit;
	}
	if (sb->s->ret == 0)
		sb->s->ret = IMAP_SEARCH_RET_ALL;
	return (0);
}

int
imap_search_parse(const struct imap_arg *args, size_t nargs,
    const struct imap_search_ctx *ctx, struct imap_search *search,
    const char **err)
{
	struct sbuild	 sb;
	const char	*cs;
	size_t		 i = 0;

	memset(search, 0, sizeof(*search));
	memset(&sb, 0, sizeof(sb));
	sb.s = search;
	sb.ctx = ctx;

	if (nargs > 0 && imap_arg_is(&args[0], "RETURN")) {
		if (nargs < 2) {
			fail(&sb, "Missing RETURN options");
			goto bad;
		}
		if (parse_return(&sb, &args[1]) == -1)
			goto bad;
		i = 2;
	}
	if (i < nargs && imap_arg_is(&args[i], "CHARSET")) {
		if (i + 1 >= nargs || args[i + 1].binary ||
		    (cs = imap_arg_astring(&args[i + 1])) == NULL) {
			fail(&sb, "Invalid CHARSET");
			goto bad;
		}
		if (strcasecmp(cs, "UTF-8") != 0 &&
		    strcasecmp(cs, "US-ASCII") != 0) {
			if (err != NULL)
				*err = "Unsupported charset";
			return (-2);
		}
		i += 2;
	}
	if (keys(&sb, args + i, nargs - i, 0) == -1)
		goto bad;
	if (search_check(&search->prog) == -1) {
		fail(&sb, "Invalid search");
		goto bad;
	}
	return (0);

 bad:
	if (err != NULL)
		*err = sb.err;
	return (-1);
}

static void
out_str(imap_out_fn out, void *arg, const char *s)
{
	out(arg, s, strlen(s));
}

/* A prefix (" MIN ", say) and a number. */
static void
out_num(imap_out_fn out, void *arg, const char *prefix, uint64_t v)
{
	char	 buf[64];
	int	 len;

	len = snprintf(buf, sizeof(buf), "%s%llu", prefix,
	    (unsigned long long)v);
	if (len > 0 && (size_t)len < sizeof(buf))
		out(arg, buf, (size_t)len);
}

/* A matching uid as the response shows it; 0 to leave it out. */
static uint32_t
resp_num(int uid, uint32_t u, uint32_t (*uid_seq)(void *, uint32_t),
    void *arg)
{
	if (uid)
		return (u);
	if (uid_seq == NULL)
		return (0);
	return (uid_seq(arg, u));
}

/*
 * The numbers are translated as they are written, twice for ESEARCH
 * (once to count, once for ALL), rather than into a copy: nothing to
 * allocate, so nothing to fail, however many messages match.  ALL is
 * written in runs ("2,10:11") from that stream.
 */
void
imap_search_respond(const struct imap_search *search, const char *tag,
    int uid, const uint32_t *uids, size_t n,
    uint32_t (*uid_seq)(void *, uint32_t), void *arg, uint64_t modseq,
    imap_out_fn out, void *outarg)
{
	size_t		 i, count = 0, runs = 0;
	uint32_t	 v, min = 0, max = 0, first = 0, last = 0;

	if (!search->esearch) {
		out_str(out, outarg, "* SEARCH");
		for (i = 0; i < n; i++) {
			if ((v = resp_num(uid, uids[i], uid_seq, arg)) == 0)
				continue;
			out_num(out, outarg, " ", v);
			count++;
		}
		if (modseq != 0 && count > 0) {
			out_num(out, outarg, " (MODSEQ ", modseq);
			out_str(out, outarg, ")");
		}
		out_str(out, outarg, "\r\n");
		return;
	}

	/* RFC 5182 2.4: SAVE alone asks for no ESEARCH response. */
	if ((search->ret & ~(unsigned int)IMAP_SEARCH_RET_SAVE) == 0)
		return;

	for (i = 0; i < n; i++) {
		if ((v = resp_num(uid, uids[i], uid_seq, arg)) == 0)
			continue;
		if (count == 0 || v < min)
			min = v;
		if (count == 0 || v > max)
			max = v;
		count++;
	}

	out_str(out, outarg, "* ESEARCH (TAG ");
	if (tag == NULL)
		tag = "";
	imap_write_string(tag, strlen(tag), 0, out, outarg);
	out_str(out, outarg, ")");
	if (uid)
		out_str(out, outarg, " UID");
	/* RFC 4731 3.1: no MIN, MAX or ALL when nothing matched. */
	if ((search->ret & IMAP_SEARCH_RET_MIN) && count > 0)
		out_num(out, outarg, " MIN ", min);
	if ((search->ret & IMAP_SEARCH_RET_MAX) && count > 0)
		out_num(out, outarg, " MAX ", max);
	if (search->ret & IMAP_SEARCH_RET_COUNT)
		out_num(out, outarg, " COUNT ", count);
	if ((search->ret & IMAP_SEARCH_RET_ALL) && count > 0) {
		out_str(out, outarg, " ALL");
		for (i = 0; i <= n; i++) {
			v = 0;
			if (i < n &&
			    (v = resp_num(uid, uids[i], uid_seq, arg)) == 0)
				continue;
			if (i < n && first != 0 && v == last + 1) {
				last = v;
				continue;
			}
			/* The run so far ends: write it. */
			if (first != 0) {
				out_num(out, outarg, runs++ == 0 ? " " : ",",
				    first);
				if (last != first)
					out_num(out, outarg, ":", last);
			}
			first = last = v;
		}
	}
	if (modseq != 0 && count > 0)
		out_num(out, outarg, " MODSEQ ", modseq);
	out_str(out, outarg, "\r\n");
}
