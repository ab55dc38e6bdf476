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
 * SORT and THREAD (RFC 5256), with ESORT (RFC 5267 3).  The search
 * keys become a program as for SEARCH (imap_search.c); the vault
 * selects, orders or threads (MBOX_OP_SORT, MBOX_OP_THREAD) from what
 * it stored at delivery, and this file numbers the answer as the view
 * does and writes it.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_local.h"
#include "imap_sort.h"
#include "log.h"
#include "mbox_stream.h"

struct sort_state {
	struct imap_search	 search;
	struct mbox_args_sort	 args;
	uint32_t		*uids;		/* sorted order */
	size_t			 n;
	uint32_t		*depth;		/* THREAD: of each uid */
	size_t			*end;		/* THREAD: subtree ends */
};

/* Buffered numbers: a result of millions is not a write each. */
struct numbuf {
	struct session	*s;
	char		 buf[4096];
	size_t		 len;
};

static void	 sort_state_free(void *);
static uint32_t	 sort_seq_uid(void *, uint32_t);
static void	 nb_put(struct numbuf *, const char *, size_t);
static void	 nb_num(struct numbuf *, const char *, uint32_t);
static void	 nb_u64(struct numbuf *, const char *, uint64_t);
static void	 nb_flush(struct numbuf *);
static uint32_t	 sort_num(struct session *, uint32_t);
static void	 sort_respond(struct session *, uint64_t);
static void	 sort_modseq_done(struct session *, struct mbox_result *);
static void	 sort_done(struct session *, struct mbox_result *);
static void	 thread_chain(struct session *, struct numbuf *, size_t,
		    int);
static void	 thread_done(struct session *, struct mbox_result *);
static void	 sort_start(struct session *, struct imap_arg *, size_t,
		    int);

static void
sort_state_free(void *arg)
{
	struct sort_state	*st = arg;

	if (st == NULL)
		return;
	free(st->uids);
	free(st->depth);
	free(st->end);
	/* The search program holds the client's search terms. */
	freezero(st, sizeof(*st));
}

static uint32_t
sort_seq_uid(void *arg, uint32_t seq)
{
	return (imap_view_uid(arg, seq));
}

static void
nb_flush(struct numbuf *nb)
{
	if (nb->len > 0)
		imap_out(nb->s, nb->buf, nb->len);
	nb->len = 0;
}

static void
nb_put(struct numbuf *nb, const char *p, size_t len)
{
	if (len > sizeof(nb->buf) - nb->len)
		nb_flush(nb);
	if (len > sizeof(nb->buf)) {
		imap_out(nb->s, p, len);
		return;
	}
	memcpy(nb->buf + nb->len, p, len);
	nb->len += len;
}

static void
nb_num(struct numbuf *nb, const char *prefix, uint32_t v)
{
	nb_u64(nb, prefix, v);
}

static void
nb_u64(struct numbuf *nb, const char *prefix, uint64_t v)
{
	char	 tmp[64];
	int	 len;

	len = snprintf(tmp, sizeof(tmp), "%s%llu", prefix,
	    (unsigned long long)v);
	if (len > 0 && (size_t)len < sizeof(tmp))
		nb_put(nb, tmp, (size_t)len);
}

/* A uid as the command numbers it; 0 if the session does not know it. */
static uint32_t
sort_num(struct session *s, uint32_t uid)
{
	struct imap	*im = s->data;
	uint32_t	 seq;

	if (uid == 0 || (seq = imap_view_seq(im->sel.view, uid)) == 0)
		return (0);
	return (im->run.uid ? uid : seq);
}

/*
 * "* SORT n..." or, with RETURN, "* ESEARCH (TAG ..) [UID] MIN MAX
 * COUNT ALL" where MIN and MAX are the first and last in the sorted
 * order and ALL keeps that order (RFC 5267 3.1).
 */
static void
sort_respond(struct session *s, uint64_t modseq)
{
	struct imap		*im = s->data;
	struct sort_state	*st = im->run.state_data;
	struct imap_search	*se = &st->search;
	struct numbuf		 nb;
	uint32_t		 v, first = 0, last = 0;
	size_t			 i, runs = 0;

	nb.s = s;
	nb.len = 0;
	if (!se->esearch) {
		nb_put(&nb, "* SORT", 6);
		for (i = 0; i < st->n; i++)
			nb_num(&nb, " ", sort_num(s, st->uids[i]));
		if (modseq != 0 && st->n > 0) {
			nb_u64(&nb, " (MODSEQ ", modseq);
			nb_put(&nb, ")", 1);
		}
		nb_put(&nb, "\r\n", 2);
		nb_flush(&nb);
		imap_done(s, "OK SORT completed");
		return;
	}
	/* RFC 5182 2.4: SAVE alone asks for no ESEARCH response. */
	if ((se->ret & ~(unsigned int)IMAP_SEARCH_RET_SAVE) == 0) {
		imap_done(s, "OK SORT completed");
		return;
	}
	nb_flush(&nb);
	imap_printf(s, "* ESEARCH (TAG ");
	imap_write_string(im->run.tag, strlen(im->run.tag), 0, imap_out, s);
	imap_printf(s, ")%s", im->run.uid ? " UID" : "");
	if ((se->ret & IMAP_SEARCH_RET_MIN) && st->n > 0)
		nb_num(&nb, " MIN ", sort_num(s, st->uids[0]));
	if ((se->ret & IMAP_SEARCH_RET_MAX) && st->n > 0)
		nb_num(&nb, " MAX ", sort_num(s, st->uids[st->n - 1]));
	if (se->ret & IMAP_SEARCH_RET_COUNT)
		nb_num(&nb, " COUNT ", (uint32_t)st->n);
	if ((se->ret & IMAP_SEARCH_RET_ALL) && st->n > 0) {
		nb_put(&nb, " ALL", 4);
		/* Ascending runs as ranges; the order stays. */
		for (i = 0; i <= st->n; i++) {
			v = i < st->n ? sort_num(s, st->uids[i]) : 0;
			if (i < st->n && first != 0 && v == last + 1) {
				last = v;
				continue;
			}
			if (first != 0) {
				nb_num(&nb, runs++ == 0 ? " " : ",", first);
				if (last != first)
					nb_num(&nb, ":", last);
			}
			first = last = v;
		}
	}
	if (modseq != 0 && st->n > 0)
		nb_u64(&nb, " MODSEQ ", modseq);
	nb_put(&nb, "\r\n", 2);
	nb_flush(&nb);
	imap_done(s, "OK SORT completed");
}

static void
sort_modseq_done(struct session *s, struct mbox_result *r)
{
	sort_respond(s, imap_result_modseq(r));
}

/* The uids in the vault's order, those the session knows. */
static void
sort_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct sort_state	*st = im->run.state_data;
	struct imap_view	*v = im->sel.view;
	struct imap_search	*se = &st->search;
	struct mbox_stream_r	 rd;
	struct mbox_req	 q;
	uint32_t		*asc = NULL, minmax[2], uid;
	size_t			 nsaved;
	int			 rv;

	if (r->status != MBOX_OK) {
		if (se->ret & IMAP_SEARCH_RET_SAVE)
			imap_view_save_failed(v);
		imap_no_status(s, r->status, "SORT");
		return;
	}
	if (r->count > 0 && (st->uids = reallocarray(NULL, r->count,
	    sizeof(*st->uids))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	mbox_stream_r_init(&rd, r->buf != NULL ? r->buf : "", r->len);
	while ((rv = mbox_stream_next_uid(&rd, &uid)) == 1 && st->n < r->count)
		if (imap_view_seq(v, uid) != 0)
			st->uids[st->n++] = uid;
	if (rv == -1) {
		log_warnx("imap: session %u: bad sort records", s->id);
		if (se->ret & IMAP_SEARCH_RET_SAVE)
			imap_view_save_failed(v);
		imap_no_status(s, MBOX_EIO, "SORT");
		return;
	}

	if (se->ret & IMAP_SEARCH_RET_SAVE) {
		/* "$" is a set: ascending, as imap_view_save() wants. */
		if (st->n > 0 && !(se->ret & (IMAP_SEARCH_RET_ALL |
		    IMAP_SEARCH_RET_COUNT)) &&
		    (se->ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX))) {
			nsaved = 0;
			if (se->ret & IMAP_SEARCH_RET_MIN)
				minmax[nsaved++] = st->uids[0];
			if ((se->ret & IMAP_SEARCH_RET_MAX) && (nsaved == 0 ||
			    st->uids[st->n - 1] != st->uids[0]))
				minmax[nsaved++] = st->uids[st->n - 1];
			qsort(minmax, nsaved, sizeof(*minmax), imap_uid_cmp);
			imap_view_save(v, minmax, nsaved);
		} else if (st->n == 0)
			imap_view_save(v, NULL, 0);
		else if ((asc = reallocarray(NULL, st->n,
		    sizeof(*asc))) == NULL)
			imap_view_save_failed(v);
		else {
			memcpy(asc, st->uids, st->n * sizeof(*asc));
			qsort(asc, st->n, sizeof(*asc), imap_uid_cmp);
			imap_view_save(v, asc, st->n);
			free(asc);
		}
	}
	if (se->modseq && st->n > 0 &&
	    (asc = reallocarray(NULL, st->n, sizeof(*asc))) != NULL) {
		/* The highest MODSEQ of the matches (RFC 7162 3.1.5). */
		memcpy(asc, st->uids, st->n * sizeof(*asc));
		qsort(asc, st->n, sizeof(*asc), imap_uid_cmp);
		imap_req_init(s, &q, MBOX_OP_FETCH);
		strlcpy(q.folder, v->name, sizeof(q.folder));
		q.fetch.how = MBOX_FETCH_NOMETA;
		rv = imap_uids_ranges(asc, st->n, &q);
		free(asc);
		if (rv == 0) {
			imap_vault(s, &q, -1, IMAP_LIST_MAX, sort_modseq_done);
			return;
		}
	}
	sort_respond(s, 0);
}

/*
 * One thread from node i: its messages along the chain of single
 * children, then at a branch each child's subtree in parentheses (RFC
 * 5256 4: "(3 6 (4 23)(44 7 96))").  Past IMAP_THREAD_NEST_MAX the rest
 * of the subtree is written flat, in thread order.
 */
static void
thread_chain(struct session *s, struct numbuf *nb, size_t i, int nest)
{
	struct imap		*im = s->data;
	struct sort_state	*st = im->run.state_data;
	uint32_t		 v;
	size_t			 c, j;
	int			 printed = 0;

	for (;;) {
		if ((v = sort_num(s, st->uids[i])) != 0) {
			nb_num(nb, printed ? " " : "", v);
			printed = 1;
		}
		c = i + 1;
		if (c >= st->end[i])
			return;
		if (st->end[c] == st->end[i]) {
			i = c;		/* one child: the chain goes on */
			continue;
		}
		if (nest >= IMAP_THREAD_NEST_MAX) {
			for (j = c; j < st->end[i]; j++)
				if ((v = sort_num(s, st->uids[j])) != 0) {
					nb_num(nb, printed ? " " : "", v);
					printed = 1;
				}
			return;
		}
		if (printed)
			nb_put(nb, " ", 1);
		for (; c < st->end[i]; c = st->end[c]) {
			nb_put(nb, "(", 1);
			thread_chain(s, nb, c, nest + 1);
			nb_put(nb, ")", 1);
		}
		return;
	}
}

/*
 * The vault's (uid, depth) records, depth first: each subtree's end is
 * found with a stack, so that writing needs no other structure.  The
 * depths are checked (a child is one deeper than its parent at most).
 */
static void
thread_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct sort_state	*st = im->run.state_data;
	struct mbox_stream_r	 rd;
	struct numbuf		 nb;
	size_t			*stack = NULL, sp = 0, i;
	uint32_t		 uid, depth;
	int			 rv = 0;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "THREAD");
		return;
	}
	if (r->count > 0 && ((st->uids = reallocarray(NULL, r->count,
	    sizeof(*st->uids))) == NULL || (st->depth = reallocarray(NULL,
	    r->count, sizeof(*st->depth))) == NULL || (st->end =
	    reallocarray(NULL, r->count, sizeof(*st->end))) == NULL ||
	    (stack = reallocarray(NULL, r->count, sizeof(*stack))) == NULL)) {
		free(stack);
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	mbox_stream_r_init(&rd, r->buf != NULL ? r->buf : "", r->len);
	while (st->n < r->count &&
	    (rv = mbox_stream_next_pair(&rd, &uid, &depth)) == 1) {
		if (depth > (st->n == 0 ? 0 : st->depth[st->n - 1] + 1))
			break;
		/* Every open subtree at this depth or deeper ends here. */
		while (sp > 0 && st->depth[stack[sp - 1]] >= depth)
			st->end[stack[--sp]] = st->n;
		st->uids[st->n] = uid;
		st->depth[st->n] = depth;
		stack[sp++] = st->n++;
	}
	while (sp > 0)
		st->end[stack[--sp]] = st->n;
	free(stack);
	if (st->n != r->count) {
		log_warnx("imap: session %u: bad thread records", s->id);
		imap_no_status(s, MBOX_EIO, "THREAD");
		return;
	}
	nb.s = s;
	nb.len = 0;
	nb_put(&nb, "* THREAD", 8);
	for (i = 0; i < st->n; i = st->end[i]) {
		nb_put(&nb, i == 0 ? " (" : "(", i == 0 ? 2 : 1);
		thread_chain(s, &nb, i, 1);
		nb_put(&nb, ")", 1);
	}
	nb_put(&nb, "\r\n", 2);
	nb_flush(&nb);
	imap_done(s, "OK THREAD completed");
}

/*
 * SORT and THREAD: the criteria or algorithm, then the charset and
 * keys through imap_search_parse(), given "[RETURN (..)] CHARSET
 * charset keys" as SEARCH would have them.
 */
static void
sort_start(struct session *s, struct imap_arg *args, size_t nargs,
    int thread)
{
	static const struct imap_arg	 charset = {
		.type = IMAP_ARG_ATOM, .str = "CHARSET", .len = 7, .fd = -1
	};
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct imap_search_ctx	 ctx;
	struct sort_state	*st;
	struct search_program	*p;
	struct imap_arg		*sargs;
	struct mbox_req		 q;
	const char		*err = "Invalid search";
	size_t			 ns = 0, i;
	int			 cs, rv;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	imap_set_state(s, st, sort_state_free);
	if ((cs = imap_sort_parse(args, nargs, thread, &st->args, &err)) ==
	    -1) {
		imap_bad(s, err);
		return;
	}
	if ((sargs = reallocarray(NULL, nargs + 1, sizeof(*sargs))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	if (!thread && cs == 3) {
		sargs[ns++] = args[0];		/* RETURN (options) */
		sargs[ns++] = args[1];
	}
	sargs[ns++] = charset;
	for (i = (size_t)cs; i < nargs; i++)
		sargs[ns++] = args[i];
	memset(&ctx, 0, sizeof(ctx));
	ctx.exists = v->n;
	ctx.seq_uid = sort_seq_uid;
	ctx.maxuid = v->n > 0 ? v->uids[v->n - 1] : 0;
	ctx.arg = v;
	ctx.saved = v->saved;
	ctx.nsaved = v->nsaved;
	ctx.saved_valid = v->saved_valid;
	rv = imap_search_parse(sargs, ns, &ctx, &st->search, &err);
	free(sargs);
	if (rv == -2) {
		imap_done(s, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported "
		    "charset");
		return;
	}
	if (rv == -1) {
		imap_bad(s, err);
		return;
	}
	if (st->search.modseq)
		im->conn.enabled |= IMAP_EN_CONDSTORE;
	if (v->n == 0) {
		if (thread)
			imap_done(s, "OK THREAD completed");
		else
			sort_done(s, &(struct mbox_result){ .status = MBOX_OK,
			    .fd = -1 });
		return;
	}
	/*
	 * Only messages the session was told of: a thread must not
	 * point at one it has not seen, so the vault leaves out those
	 * above the view's last uid (when the program has room).
	 */
	p = &st->search.prog;
	if (p->nops + 2 <= SEARCH_MAX_OPS) {
		memset(&p->ops[p->nops], 0, 2 * sizeof(p->ops[0]));
		p->ops[p->nops].op = SEARCH_UID_RANGE;
		p->ops[p->nops].num = 1;
		p->ops[p->nops].num2 = ctx.maxuid;
		p->ops[p->nops + 1].op = SEARCH_AND;
		p->nops += 2;
	}
	imap_req_init(s, &q, thread ? MBOX_OP_THREAD : MBOX_OP_SORT);
	strlcpy(q.folder, v->name, sizeof(q.folder));
	q.sort = st->args;
	imap_vault_prog(s, &q, p, thread ? thread_done : sort_done);
}

void
imap_cmd_sort(struct session *s, struct imap_arg *args, size_t nargs)
{
	sort_start(s, args, nargs, 0);
}

void
imap_cmd_thread(struct session *s, struct imap_arg *args, size_t nargs)
{
	sort_start(s, args, nargs, 1);
}
