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
 * SEARCH programs of a mailbox (vault_mbox_db.c), translated to one
 * SQL expression with parameters.
 *
 * Searching.  Substring keys use the trigram index (case-insensitive
 * with Unicode case folding) when the string has at least three
 * characters; shorter strings fall back to LIKE on the stored text,
 * which folds ASCII letters only.  HEADER uses the index as a
 * pre-filter and an SQL function of ours for the field match.
 */

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"

#define TRIGRAM		3		/* shortest string for the index */

/*
 * The backlog a search indexes first goes in by larger batches than
 * the maintenance job's: the search waits for all of it anyway.
 */
#define SEARCH_INDEX_BATCH	512
#define SEARCH_INDEX_BYTES	(32 * 1024 * 1024)

/* Search translation: a stack of SQL fragments and their parameters. */
#define SB_NEST_MAX	32	/* parentheses in one another: SQLite's
				 * parser has a fixed stack (YYSTACKDEPTH
				 * 100), and overflows it near 40 */
#define SP_MAX		(SEARCH_MAX_OPS * 3)

struct sparam {
	int		 text;
	int64_t		 i;
	const char	*s;
};

struct sbuild {
	char		*stack[SEARCH_MAX_OPS];
	int		 joined[SEARCH_MAX_OPS]; /* AND, OR, NOT: its top */
	int		 nest[SEARCH_MAX_OPS];	/* parentheses in it */
	int		 depth;
	struct sparam	 p[SP_MAX];
	char		*own[SP_MAX];
	int		 np;
	int		 nown;
	int		 needseq;
	int		 fts;		/* reads the full-text index */
	uint32_t	 maxuid;
	uint32_t	 count;
};

static int	 tolower_ascii(int);
static int	 hdr_match(const unsigned char *, size_t, const char *,
		    size_t, const char *, size_t);
static size_t	 utf8_chars(const char *);
static char	*fts_query(const char *, const char *);
static char	*like_pattern(const char *);
static int	 sb_int(struct sbuild *, int64_t);
static int	 sb_text(struct sbuild *, const char *, char *);
static int	 sb_substr(struct sbuild *, const char *, const char *,
		    char **);
static int	 sb_addr(struct sbuild *, const char *, int, const char *,
		    char **);
static int	 sb_key(struct sbuild *, const struct search_op_s *,
		    char **);
static int	 sb_build(struct sbuild *, const struct search_program *,
		    char **);
static void	 sb_free(struct sbuild *);

static int
tolower_ascii(int c)
{
	return (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/*
 * Is there a field named f (ASCII case-insensitive) in the decoded
 * headers h ("Name: value\n" lines, continuation lines starting with a
 * space or a tab) whose value contains n (ASCII case-insensitive)?  An
 * empty n matches any such field.
 */
static int
hdr_match(const unsigned char *h, size_t hl, const char *f, size_t fl,
    const char *n, size_t nl)
{
	const unsigned char	*v;
	size_t			 pos = 0, e, vl, i, k;

	while (pos < hl) {
		/* The end of this field, with its continuation lines. */
		e = pos;
		for (;;) {
			while (e < hl && h[e] != '\n')
				e++;
			if (e + 1 < hl && (h[e + 1] == ' ' || h[e + 1] == '\t'))
				e++;
			else
				break;
		}
		if (e - pos > fl && h[pos + fl] == ':' &&
		    strncasecmp((const char *)h + pos, f, fl) == 0) {
			v = h + pos + fl + 1;
			vl = e - pos - fl - 1;
			if (nl == 0)
				return (1);
			for (i = 0; nl <= vl && i <= vl - nl; i++) {
				for (k = 0; k < nl; k++)
					if (tolower_ascii(v[i + k]) !=
					    tolower_ascii((unsigned char)n[k]))
						break;
				if (k == nl)
					return (1);
			}
		}
		pos = e + 1;
	}
	return (0);
}

/* SQL: tresor_header(headers, field, string) -> 0 or 1. */
void
mbox_sql_header(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*h, *f, *n;
	size_t			 hl, fl, nl;

	if (argc != 3) {
		sqlite3_result_error(ctx, "tresor_header: arguments", -1);
		return;
	}
	/* Text first, then its length (the conversion may change it). */
	h = sqlite3_value_text(argv[0]);
	hl = (size_t)sqlite3_value_bytes(argv[0]);
	f = sqlite3_value_text(argv[1]);
	fl = (size_t)sqlite3_value_bytes(argv[1]);
	n = sqlite3_value_text(argv[2]);
	nl = (size_t)sqlite3_value_bytes(argv[2]);
	if (h == NULL || f == NULL || n == NULL || fl == 0) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	sqlite3_result_int(ctx, hdr_match(h, hl, (const char *)f, fl,
	    (const char *)n, nl));
}

/* Characters (not bytes) of a UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/*
 * An FTS5 query for the string s as one phrase in the columns cols:
 * "{cols} : "s"", with every '"' doubled, which is the only escape an
 * FTS5 string has: inside it, NEAR, AND, *, ^, ( and ) are plain text.
 */
static char *
fts_query(const char *cols, const char *s)
{
	char	*q;
	size_t	 need, i, k;

	need = strlen(cols) + 2 * strlen(s) + 8;
	if ((q = malloc(need)) == NULL)
		return (NULL);
	k = (size_t)snprintf(q, need, "{%s} : \"", cols);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"')
			q[k++] = '"';
		q[k++] = s[i];
	}
	q[k++] = '"';
	q[k] = '\0';
	return (q);
}

/* A LIKE pattern "%s%" with '%', '_' and the escape '\\' escaped. */
static char *
like_pattern(const char *s)
{
	char	*q;
	size_t	 i, k = 0;

	if ((q = malloc(2 * strlen(s) + 3)) == NULL)
		return (NULL);
	q[k++] = '%';
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			q[k++] = '\\';
		q[k++] = s[i];
	}
	q[k++] = '%';
	q[k] = '\0';
	return (q);
}

/* Add a parameter; its number is returned (?1 is the folder). */
static int
sb_int(struct sbuild *sb, int64_t v)
{
	if (sb->np >= SP_MAX)
		return (-1);
	sb->p[sb->np].text = 0;
	sb->p[sb->np].i = v;
	sb->np++;
	return (sb->np + 1);
}

/* Add a text parameter; own (may be NULL) is freed with the build. */
static int
sb_text(struct sbuild *sb, const char *s, char *own)
{
	if (own != NULL)
		sb->own[sb->nown++] = own;
	if (s == NULL || sb->np >= SP_MAX)
		return (-1);
	sb->p[sb->np].text = 1;
	sb->p[sb->np].s = s;
	sb->np++;
	return (sb->np + 1);
}

/*
 * A case-insensitive substring test of str in cols, a space-separated
 * list of FTS columns (our own fixed names), which are also the names
 * of the content columns for the LIKE fallback.
 */
static int
sb_substr(struct sbuild *sb, const char *cols, const char *str, char **frag)
{
	const char	*p, *sp;
	char		*q, *e = NULL, *t;
	size_t		 len;
	int		 k, r;

	if (utf8_chars(str) >= TRIGRAM) {
		q = fts_query(cols, str);
		sb->fts = 1;
		if ((k = sb_text(sb, q, q)) == -1)
			return (-1);
		if (asprintf(frag, "s.cid IN (SELECT rowid FROM fts"
		    " WHERE fts MATCH ?%d)", k) == -1)
			return (-1);
		return (0);
	}
	q = like_pattern(str);
	if ((k = sb_text(sb, q, q)) == -1)
		return (-1);
	for (p = cols;;) {
		sp = strchr(p, ' ');
		len = sp != NULL ? (size_t)(sp - p) : strlen(p);
		r = asprintf(&t, "%s%sc.%.*s LIKE ?%d ESCAPE '\\'",
		    e != NULL ? e : "", e != NULL ? " OR " : "", (int)len, p,
		    k);
		free(e);
		if (r == -1)
			return (-1);
		e = t;
		if (sp == NULL)
			break;
		p = sp + 1;
	}
	r = asprintf(frag, "EXISTS (SELECT 1 FROM content c"
	    " WHERE c.id = s.cid AND (%s))", e);
	free(e);
	return (r == -1 ? -1 : 0);
}

/*
 * FROM, TO, CC, BCC: the envelope's field (RFC 3501 6.4.4), whose
 * addresses are mailbox@host without the comments and spaces the
 * header may have, or the decoded header text (display names as
 * people read them).  The envelope test reads every row's envelope:
 * the index cannot find an address the header does not spell out.
 */
static int
sb_addr(struct sbuild *sb, const char *col, int field, const char *str,
    char **frag)
{
	char	*t;
	int	 a, r;

	if (sb_substr(sb, col, str, &t) == -1)
		return (-1);
	if ((a = sb_text(sb, str, NULL)) == -1) {
		free(t);
		return (-1);
	}
	r = asprintf(frag, "(%s OR EXISTS (SELECT 1 FROM content c"
	    " WHERE c.id = s.cid AND tresor_addr(c.envelope, %d, ?%d)))", t,
	    field, a);
	free(t);
	return (r == -1 ? -1 : 0);
}

/* One key of a search program as an SQL expression. */
static int
sb_key(struct sbuild *sb, const struct search_op_s *o, char **frag)
{
	const char	*datecol;
	char		*q, *e;
	uint64_t	 lo, hi, t;
	int		 a, b, c;

	*frag = NULL;
	datecol = "s.internaldate";
	switch (o->op) {
	case SEARCH_ALL:
		return (asprintf(frag, "1") == -1 ? -1 : 0);
	case SEARCH_FLAG:
		if ((a = sb_int(sb, (int64_t)o->num)) == -1)
			return (-1);
		return (asprintf(frag, "(s.flags & ?%d) = ?%d", a, a) == -1 ?
		    -1 : 0);
	case SEARCH_KEYWORD:
		/* Not a keyword atom: no message can have it. */
		if (!mbox_kw_valid(o->str, strlen(o->str)))
			return (asprintf(frag, "0") == -1 ? -1 : 0);
		if ((a = sb_text(sb, o->str, NULL)) == -1)
			return (-1);
		return (asprintf(frag, "instr(' ' || lower(s.keywords) || ' ',"
		    " ' ' || lower(?%d) || ' ') > 0", a) == -1 ? -1 : 0);
	case SEARCH_UID_RANGE:
	case SEARCH_SEQ_RANGE:
		t = o->op == SEARCH_UID_RANGE ? sb->maxuid : sb->count;
		lo = o->num == UINT32_MAX ? t : o->num;
		hi = o->num2 == UINT32_MAX ? t : o->num2;
		if (lo > hi) {
			t = lo;
			lo = hi;
			hi = t;
		}
		if ((a = sb_int(sb, mbox_clamp64(lo))) == -1 ||
		    (b = sb_int(sb, mbox_clamp64(hi))) == -1)
			return (-1);
		if (o->op == SEARCH_SEQ_RANGE)
			sb->needseq = 1;
		return (asprintf(frag, "s.%s BETWEEN ?%d AND ?%d",
		    o->op == SEARCH_UID_RANGE ? "uid" : "seq", a, b) == -1 ?
		    -1 : 0);
	case SEARCH_LARGER:
	case SEARCH_SMALLER:
		if ((a = sb_int(sb, mbox_clamp64(o->num))) == -1)
			return (-1);
		return (asprintf(frag, "s.size %s ?%d",
		    o->op == SEARCH_LARGER ? ">" : "<", a) == -1 ? -1 : 0);
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		/*
		 * The day as written (RFC 3501 6.4.4), read from the
		 * envelope for old and new messages alike.  No Date:
		 * header: the internal date, as SORT does.
		 */
		datecol = "(CASE WHEN s.sentdate != 0 THEN (SELECT"
		    " tresor_sentday(c.envelope, s.sentdate) FROM content c"
		    " WHERE c.id = s.cid) ELSE s.internaldate END)";
		/* FALLTHROUGH */
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
		if ((a = sb_int(sb, mbox_clamp64(o->num))) == -1)
			return (-1);
		b = 0;
		if ((o->op == SEARCH_ON || o->op == SEARCH_SENTON) &&
		    (b = sb_int(sb, mbox_clamp64(o->num2))) == -1)
			return (-1);
		if (o->op == SEARCH_BEFORE || o->op == SEARCH_SENTBEFORE)
			c = asprintf(frag, "%s < ?%d", datecol, a);
		else if (o->op == SEARCH_SINCE || o->op == SEARCH_SENTSINCE)
			c = asprintf(frag, "%s >= ?%d", datecol, a);
		else
			c = asprintf(frag, "(%s >= ?%d AND %s < ?%d)", datecol,
			    a, datecol, b);
		return (c == -1 ? -1 : 0);
	case SEARCH_MODSEQ:
		if ((a = sb_int(sb, mbox_clamp64(o->num))) == -1)
			return (-1);
		return (asprintf(frag, "s.modseq >= ?%d", a) == -1 ? -1 : 0);
	case SEARCH_SUBJECT:
		return (sb_substr(sb, "subject", o->str, frag));
	case SEARCH_FROM:
		return (sb_addr(sb, "from_", 2, o->str, frag));
	case SEARCH_TO:
		return (sb_addr(sb, "to_", 5, o->str, frag));
	case SEARCH_CC:
		return (sb_addr(sb, "cc", 6, o->str, frag));
	case SEARCH_BCC:
		return (sb_addr(sb, "bcc", 7, o->str, frag));
	case SEARCH_BODY:
		return (sb_substr(sb, "body", o->str, frag));
	case SEARCH_TEXT:
		return (sb_substr(sb, "headers body", o->str, frag));
	case SEARCH_HEADER:
		if ((a = sb_text(sb, o->str2, NULL)) == -1 ||
		    (b = sb_text(sb, o->str, NULL)) == -1)
			return (-1);
		if (asprintf(&e, "EXISTS (SELECT 1 FROM content c"
		    " WHERE c.id = s.cid AND tresor_header(c.headers, ?%d,"
		    " ?%d))", a, b) == -1)
			return (-1);
		if (utf8_chars(o->str) < TRIGRAM) {
			*frag = e;
			return (0);
		}
		/* The index narrows the candidates first. */
		q = fts_query("headers", o->str);
		sb->fts = 1;
		if ((c = sb_text(sb, q, q)) == -1) {
			free(e);
			return (-1);
		}
		a = asprintf(frag, "(s.cid IN (SELECT rowid FROM fts"
		    " WHERE fts MATCH ?%d) AND %s)", c, e);
		free(e);
		return (a == -1 ? -1 : 0);
	default:
		return (-1);
	}
}

/*
 * The program (already checked) as one WHERE expression over the
 * subquery "s" of the folder's messages.
 */
static int
sb_build(struct sbuild *sb, const struct search_program *prog, char **expr)
{
	const struct search_op_s	*o;
	char				*frag, *a, *b;
	uint32_t			 i;
	int				 r, ja, jb, na, nb, joined, nest;

	*expr = NULL;
	for (i = 0; i < prog->nops; i++) {
		o = &prog->ops[i];
		joined = -1;
		nest = 1;	/* a key may hold a parenthesis */
		switch (o->op) {
		case SEARCH_AND:
		case SEARCH_OR:
			if (sb->depth < 2)
				return (-1);
			jb = sb->joined[--sb->depth];
			nb = sb->nest[sb->depth] - (jb == (int)o->op);
			b = sb->stack[sb->depth];
			ja = sb->joined[--sb->depth];
			na = sb->nest[sb->depth] - (ja == (int)o->op);
			a = sb->stack[sb->depth];
			/*
			 * A chain of the same operator is written flat,
			 * "(x OR y OR z)", not nested: SQLite's parser
			 * has a fixed stack (YYSTACKDEPTH), and some 30
			 * nested ORs overflowed it ("SQL logic error").
			 */
			r = asprintf(&frag, "(%.*s %s %.*s)",
			    ja == (int)o->op ? (int)strlen(a) - 2 :
			    (int)strlen(a), ja == (int)o->op ? a + 1 : a,
			    o->op == SEARCH_AND ? "AND" : "OR",
			    jb == (int)o->op ? (int)strlen(b) - 2 :
			    (int)strlen(b), jb == (int)o->op ? b + 1 : b);
			free(a);
			free(b);
			if (r == -1)
				return (-1);
			joined = (int)o->op;
			nest = (na > nb ? na : nb) + 1;
			break;
		case SEARCH_NOT:
			if (sb->depth < 1)
				return (-1);
			ja = sb->joined[--sb->depth];
			na = sb->nest[sb->depth];
			a = sb->stack[sb->depth];
			/* NOT NOT x is x: "(NOT " and ")" come off. */
			if (ja == SEARCH_NOT) {
				r = asprintf(&frag, "%.*s",
				    (int)strlen(a) - 6, a + 5);
				nest = na - 1;
			} else {
				r = asprintf(&frag, "(NOT %s)", a);
				joined = SEARCH_NOT;
				nest = na + 1;
			}
			free(a);
			if (r == -1)
				return (-1);
			break;
		default:
			if (sb_key(sb, o, &frag) == -1)
				return (-1);
			break;
		}
		if (sb->depth >= SEARCH_MAX_OPS) {
			free(frag);
			return (-1);
		}
		if (nest > SB_NEST_MAX) {
			free(frag);
			return (-2);
		}
		sb->joined[sb->depth] = joined;
		sb->nest[sb->depth] = nest;
		sb->stack[sb->depth++] = frag;
	}
	if (sb->depth != 1)
		return (-1);
	*expr = sb->stack[0];
	sb->depth = 0;
	return (0);
}

/*
 * The patterns (own) hold the user's search words: wiped before they
 * are freed, like the rest of what a search leaves.
 */
static void
sb_free(struct sbuild *sb)
{
	int	 i;

	for (i = 0; i < sb->depth; i++)
		if (sb->stack[i] != NULL)
			freezero(sb->stack[i], strlen(sb->stack[i]) + 1);
	for (i = 0; i < sb->nown; i++)
		if (sb->own[i] != NULL)
			freezero(sb->own[i], strlen(sb->own[i]) + 1);
	sb->depth = sb->nown = 0;
}

int
mbox_search(struct mbox *m, const char *folder,
    const struct search_program *prog, mbox_uid_cb cb, void *arg)
{
	char		 nm[MBOX_NAME_MAX];
	struct sbuild	*sb = NULL;
	struct mbox_folder_info	 f;
	sqlite3_stmt	*st = NULL;
	char		*expr = NULL, *sql = NULL;
	int		 i, r, rc, ret;

	if (m == NULL || cb == NULL || search_check(prog) == -1)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
		goto out;
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = mbox_folder_maxuid(m, f.id, &sb->maxuid)) != MBOX_OK ||
	    (ret = mbox_folder_count(m, f.id, &sb->count)) != MBOX_OK)
		goto fail;
	if ((r = sb_build(sb, prog, &expr)) != 0) {
		if (r == -2)
			log_debug("mbox: search: nested too deep");
		else
			log_warnx("mbox: search: cannot build the query");
		ret = r == -2 ? MBOX_ELIMIT : MBOX_EIO;
		goto fail;
	}
	/*
	 * The index must hold every message stored before the search:
	 * the backlog goes in first, in batches, then the search starts
	 * over in a read of its own.  Matching the unindexed rows with
	 * LIKE instead would fold ASCII only, where the trigram index
	 * folds Unicode: the same search would find different messages.
	 */
	if (sb->fts && m->index_due) {
		if ((ret = mbox_tx_end(m)) != MBOX_OK)
			goto out;
		while (m->index_due)
			if ((ret = mbox_index(m, SEARCH_INDEX_BATCH,
			    SEARCH_INDEX_BYTES, NULL)) != MBOX_OK)
				goto out;
		free(expr);
		expr = NULL;
		sb_free(sb);
		memset(sb, 0, sizeof(*sb));
		if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
			goto out;
		if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK ||
		    (ret = mbox_folder_maxuid(m, f.id, &sb->maxuid)) !=
		    MBOX_OK ||
		    (ret = mbox_folder_count(m, f.id, &sb->count)) != MBOX_OK)
			goto fail;
		if (sb_build(sb, prog, &expr) != 0) {
			log_warnx("mbox: search: cannot build the query");
			ret = MBOX_EIO;
			goto fail;
		}
	}
	if (asprintf(&sql, "SELECT s.uid FROM (SELECT m.uid AS uid,"
	    " m.modseq AS modseq, m.flags AS flags, m.keywords AS keywords,"
	    " m.internaldate AS internaldate, m.sentdate AS sentdate,"
	    " m.size AS size, m.content_id AS cid%s FROM messages m"
	    " WHERE m.folder_id = ?1) AS s WHERE %s ORDER BY s.uid",
	    sb->needseq ? ", row_number() OVER (ORDER BY m.uid) AS seq" : "",
	    expr) == -1) {
		sql = NULL;
		log_warnx("mbox: search: asprintf");
		ret = MBOX_EIO;
		goto fail;
	}
	/*
	 * Errors here are logged without sqlite3_errmsg(): an FTS5
	 * message could quote the user's search string.
	 */
	if ((rc = sqlite3_prepare_v2(m->db, sql, -1, &st, NULL)) !=
	    SQLITE_OK)
		goto dberr;
	if ((rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK)
		goto dberr;
	for (i = 0; i < sb->np; i++) {
		if (sb->p[i].text)
			rc = sqlite3_bind_text(st, i + 2, sb->p[i].s, -1,
			    SQLITE_STATIC);
		else
			rc = sqlite3_bind_int64(st, i + 2, sb->p[i].i);
		if (rc != SQLITE_OK)
			goto dberr;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(arg, (uint32_t)sqlite3_column_int64(st, 0)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	ret = mbox_tx_end(m);
	goto out;
 dberr:
	log_warnx("mbox: search: %s (%d)", sqlite3_errstr(rc), rc);
	ret = (rc & 0xff) == SQLITE_TOOBIG ? MBOX_ELIMIT : MBOX_EIO;
 fail:
	sqlite3_finalize(st);
	mbox_tx_rollback(m);
 out:
	free(sql);
	free(expr);
	if (sb != NULL) {
		sb_free(sb);
		free(sb);
	}
	return (ret);
}
