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
 * The commands that ask about messages of the selected mailbox: SEARCH
 * (the vault runs the program imap_search.c makes) and FETCH (the
 * records, then the bodies by batches, written under backpressure).
 * Both work through the view (imap_view.c): sets become uid ranges
 * within what the session has announced, and results are numbered as
 * the view numbers them.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_local.h"
#include "log.h"
#include "mbox_stream.h"

/* -------------------------------------------------------------------
 * SEARCH, with ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).
 */

struct search_state {
	struct imap_search	 search;
	uint32_t		*uids;
	size_t			 n;
};

static void
search_state_free(void *arg)
{
	struct search_state	*st = arg;

	if (st == NULL)
		return;
	free(st->uids);
	/* The search program holds the client's search terms. */
	freezero(st, sizeof(*st));
}

static uint32_t
search_seq_uid(void *arg, uint32_t seq)
{
	return (imap_view_uid(arg, seq));
}

static uint32_t
search_uid_seq(void *arg, uint32_t uid)
{
	return (imap_view_seq(arg, uid));
}

static int
search_keep(void *arg, uint32_t uid)
{
	return (imap_view_seq(arg, uid) != 0);
}

static void
search_respond(struct session *s, uint64_t modseq)
{
	struct imap		*im = s->data;
	struct search_state	*st = im->run.state_data;

	imap_search_respond(&st->search, im->run.tag, im->run.uid, st->uids,
	    st->n, search_uid_seq, im->sel.view, modseq, imap_out, s);
	imap_done(s, "OK SEARCH completed");
}

static void
search_modseq_done(struct session *s, struct mbox_result *r)
{
	search_respond(s, imap_result_modseq(r));
}

static void
search_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct search_state	*st = im->run.state_data;
	struct imap_view	*v = im->sel.view;
	struct imap_search	*se = &st->search;
	struct mbox_req	 q;
	uint32_t		 minmax[2];
	size_t			 nsaved;

	if (r->status != MBOX_OK) {
		if (se->ret & IMAP_SEARCH_RET_SAVE)
			imap_view_save_failed(v);
		imap_no_status(s, r->status, "SEARCH");
		return;
	}
	/* Only messages the session has been told of. */
	if (imap_result_uids(r, search_keep, v, &st->uids, &st->n) == -1) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}

	/*
	 * With only MIN or MAX, SAVE saves just those (RFC 5182 2.4) and
	 * MODSEQ is the highest of theirs (RFC 7162 3.1.5); else both
	 * take every match.
	 */
	nsaved = 0;
	if (st->n > 0 && !(se->ret & (IMAP_SEARCH_RET_ALL |
	    IMAP_SEARCH_RET_COUNT)) &&
	    (se->ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX))) {
		if (se->ret & IMAP_SEARCH_RET_MIN)
			minmax[nsaved++] = st->uids[0];
		if ((se->ret & IMAP_SEARCH_RET_MAX) && (nsaved == 0 ||
		    st->uids[st->n - 1] != st->uids[0]))
			minmax[nsaved++] = st->uids[st->n - 1];
	}
	if (se->ret & IMAP_SEARCH_RET_SAVE) {
		if (nsaved > 0)
			imap_view_save(v, minmax, nsaved);
		else
			imap_view_save(v, st->uids, st->n);
	}
	if (se->modseq && st->n > 0) {
		imap_req_init(s, &q, MBOX_OP_FETCH);
		strlcpy(q.folder, v->name, sizeof(q.folder));
		q.fetch.how = MBOX_FETCH_NOMETA;
		if ((nsaved > 0 ? imap_uids_ranges(minmax, nsaved, &q) :
		    imap_uids_ranges(st->uids, st->n, &q)) == 0) {
			imap_vault(s, &q, -1, IMAP_LIST_MAX,
			    search_modseq_done);
			return;
		}
	}
	search_respond(s, 0);
}

void
imap_cmd_search(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct imap_search_ctx	 ctx;
	struct search_state	*st;
	const char		*err = "Invalid search";
	int			 rv;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	imap_set_state(s, st, search_state_free);
	memset(&ctx, 0, sizeof(ctx));
	ctx.exists = v->n;
	ctx.seq_uid = search_seq_uid;
	ctx.maxuid = v->n > 0 ? v->uids[v->n - 1] : 0;
	ctx.arg = v;
	ctx.saved = v->saved;
	ctx.nsaved = v->nsaved;
	ctx.saved_valid = v->saved_valid;
	ctx.recent = v->recent;
	ctx.nrecent = v->nrecent;
	rv = imap_search_parse(args, nargs, &ctx, &st->search, &err);
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
		imap_condstore_on(s);
	/* IMAP4rev2 has only ESEARCH (RFC 9051 6.4.4). */
	if ((im->conn.enabled & IMAP_EN_REV2) && !st->search.esearch) {
		st->search.esearch = 1;
		st->search.ret = IMAP_SEARCH_RET_ALL;
	}
	imap_vault_search(s, v->name, &st->search.prog, search_done);
}

/* -------------------------------------------------------------------
 * FETCH.
 */

/*
 * Bodies come from the vault by batches: the messages of up to
 * FETCH_BATCH records, in one request (MBOX_OP_BODIES), so that a FETCH
 * of many bodies is not one round trip per message.
 *
 * One batch ahead, as POP3 does (pop3_retr.c): once half of a batch is
 * written, the next one is asked for in a second request, so that the
 * vault reads and decrypts it while this process writes the current
 * one.  Asked for one at a time, the two took turns (perf of a FETCH
 * of 10,000 bodies: vaultd three quarters of the samples, imapd one
 * quarter, never at once).  Only when the vault answered the whole
 * current batch (else what it left is asked for first).  A batch
 * asked for ahead whose answer failed is asked for again in its turn,
 * as without it.  At most two requests of a session are out, and two
 * answers held.
 */
#define FETCH_BATCH	64

struct fetch_ahead {
	struct mbox_stream_msg	 pend[FETCH_BATCH];
	size_t			 npend;		/* 0: none asked */
	struct mbox_client	 mc;
	uint32_t		 req;		/* out, or 0 */
	int			 answered;
	int			 status;
	void			*bodies;
	size_t			 bodieslen;
	uint32_t		 lastuid;
};

struct fetch_state {
	struct imap_fetch	*f;
	unsigned int		 flags;
	struct section		 sects[MBOX_SECTIONS_MAX]; /* or none: */
	uint32_t		 nsects;	/* 0: whole messages */
	struct mbox_req	 q;
	void			*buf;		/* message records */
	size_t			 len;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;		/* the one being written */
	uint32_t		 seq;
	uint32_t		*seen;		/* uids just made \Seen */
	size_t			 nseen;
	struct mbox_stream_msg	 pend[FETCH_BATCH]; /* waiting for bodies */
	size_t			 npend;
	struct fetch_ahead	 ahead;
	int			 ahead_tried;	/* for this batch */
	int			 ahead_wait;	/* the command waits for it */
	size_t			 ndone;		/* of pend, written */
	void			*bodies;	/* the vault's answer */
	size_t			 bodieslen;
	struct mbox_stream_r	 brd;
	uint32_t		 lastuid;	/* it covers pend up to here */
	uint32_t		 buid;		/* its next body */
	const char		*bdata;
	size_t			 blen;
	int			 brv;
};

static void	 fetch_records(struct session *, struct mbox_result *);
static void	 fetch_next(struct session *);
static void	 fetch_bodies_done(struct session *, struct mbox_result *);
static void	 fetch_bodies_start(struct session *, void *, size_t,
		    uint32_t);
static void	 fetch_bodies_write(struct session *);
static void	 fetch_ahead_ask(struct session *);
static void	 fetch_ahead_done(void *, struct mbox_result *);
static int	 fetch_ahead_take(struct session *);
static void	 fetch_gather(struct session *, struct mbox_stream_msg *,
		    size_t *);

static void
fetch_state_free(void *arg)
{
	struct fetch_state	*st = arg;

	if (st == NULL)
		return;
	if (st->f != NULL)
		imap_fetch_free(st->f);
	if (st->buf != NULL)
		mbox_stream_free(st->buf, st->len);
	if (st->bodies != NULL)
		mbox_stream_free(st->bodies, st->bodieslen);
	if (st->ahead.req != 0)
		front_vault_cancel(st->ahead.req);
	if (st->ahead.bodies != NULL)
		mbox_stream_free(st->ahead.bodies, st->ahead.bodieslen);
	free(st->seen);
	free(st);
}

static int
fetch_was_seen(const struct fetch_state *st, uint32_t uid)
{
	return (st->nseen > 0 && bsearch(&uid, st->seen, st->nseen,
	    sizeof(*st->seen), imap_uid_cmp) != NULL);
}

/*
 * Write one message's response, from its raw octets or, with nsects,
 * from the vault's record of its sections; -1 ends the command
 * (answered).
 */
static int
fetch_write(struct session *s, const char *data, size_t len)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct mbox_section_view v[MBOX_SECTIONS_MAX];
	const char		*raw = data;
	size_t			 rawlen = len;
	int			 seen, whole = 1, rv;

	if (st->nsects > 0 && data != NULL &&
	    mbox_sections_read(data, len, st->nsects, &whole, &raw, &rawlen,
	    v) == -1) {
		log_warnx("imap: session %u: bad sections record", s->id);
		imap_no_status(s, MBOX_EIO, "FETCH");
		return (-1);
	}
	seen = fetch_was_seen(st, st->m.uid);
	if (st->flags & IMAP_FETCH_FLAGS)
		imap_view_keywords_seen(s, st->m.keywords);
	/* A message stored without a part map comes whole. */
	if (whole)
		rv = imap_fetch_write(st->f, st->seq, &st->m, raw, rawlen,
		    seen, imap_utf8(s), imap_out, s);
	else
		rv = imap_fetch_write_sections(st->f, st->seq, &st->m, v,
		    st->nsects, seen, imap_utf8(s), imap_out, s);
	if (rv == -1) {
		if (errno == EINVAL)
			imap_done(s, "NO [UNKNOWN-CTE] Cannot decode a "
			    "part's transfer encoding");
		else
			imap_done(s, "NO [SERVERBUG] Out of memory");
		return (-1);
	}
	return (0);
}

/* A message over the budget comes alone, however large. */
#define FETCH_BODIES_MAX	(MBOX_BODIES_BUDGET + BUNDLE_RAW_MAX + 65536)

/* The request for the bodies of the messages pend[0..n). */
static void
fetch_bodies_req(struct session *s, const struct mbox_stream_msg *pend,
    size_t n, struct mbox_req *q)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	size_t			 i;

	imap_req_init(s, q, st->nsects > 0 ? MBOX_OP_SECTIONS :
	    MBOX_OP_BODIES);
	strlcpy(q->folder, im->sel.view->name, sizeof(q->folder));
	q->nsects = st->nsects;
	memcpy(q->sects, st->sects, st->nsects * sizeof(st->sects[0]));
	for (i = 0; i < n; i++) {
		if (q->nranges > 0 &&
		    q->ranges[q->nranges - 1].last + 1 == pend[i].uid) {
			q->ranges[q->nranges - 1].last = pend[i].uid;
			continue;
		}
		q->ranges[q->nranges].first = pend[i].uid;
		q->ranges[q->nranges].last = pend[i].uid;
		q->nranges++;
	}
}

/* Ask for the bodies of the pending messages. */
static void
fetch_bodies(struct session *s)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct mbox_req	 q;

	fetch_bodies_req(s, st->pend, st->npend, &q);
	imap_vault(s, &q, -1, FETCH_BODIES_MAX, fetch_bodies_done);
}

/*
 * Half of the batch is written: the next FETCH_BATCH records (those
 * still in the view) go into a request of their own.
 */
static void
fetch_ahead_ask(struct session *s)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct fetch_ahead	*a = &st->ahead;
	struct mbox_req	 q;

	st->ahead_tried = 1;
	fetch_gather(s, a->pend, &a->npend);
	if (a->npend == 0)
		return;
	log_debug("imap: session %u: fetch: %zu bodies asked for ahead",
	    s->id, a->npend);
	fetch_bodies_req(s, a->pend, a->npend, &q);
	a->answered = 0;
	if ((a->req = mbox_client_send(&a->mc, &q, NULL, -1,
	    FETCH_BODIES_MAX, fetch_ahead_done, s)) == 0) {
		/* Not sent: asked for again in its turn. */
		a->answered = 1;
		a->status = MBOX_EIO;
	}
}

/* The answer to the batch asked for ahead: kept, or taken at once. */
static void
fetch_ahead_done(void *arg, struct mbox_result *r)
{
	struct session		*s = arg;
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct fetch_ahead	*a = &st->ahead;

	a->req = 0;
	a->answered = 1;
	a->status = r->status;
	if (r->status == MBOX_OK) {
		a->bodies = r->buf;
		a->bodieslen = r->len;
		a->lastuid = r->b;
		r->buf = NULL;
		r->len = 0;
	}
	if (st->ahead_wait) {
		st->ahead_wait = 0;
		if (fetch_ahead_take(s))
			fetch_next(s);
	}
}

/*
 * The current batch is written: the one asked for ahead becomes it.
 * 0 if the command waits for it (or goes on without fetch_next()), 1
 * if fetch_next() should go on.
 */
static int
fetch_ahead_take(struct session *s)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct fetch_ahead	*a = &st->ahead;
	void			*buf;
	size_t			 len;

	if (!a->answered) {
		st->ahead_wait = 1;
		return (0);
	}
	memcpy(st->pend, a->pend, a->npend * sizeof(st->pend[0]));
	st->npend = a->npend;
	a->npend = 0;
	a->answered = 0;
	st->ahead_tried = 0;
	if (a->status != MBOX_OK) {
		/* Asked for again, as without asking ahead. */
		return (1);
	}
	buf = a->bodies;
	len = a->bodieslen;
	a->bodies = NULL;
	a->bodieslen = 0;
	/* Last: the command may end in it, and st with it. */
	fetch_bodies_start(s, buf, len, a->lastuid);
	return (0);
}

/*
 * The messages in order, pausing while the client catches up; those
 * whose bodies are asked for wait in pend for the vault's answer.
 */
static void
fetch_next(struct session *s)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	int			 rv;

	for (;;) {
		if (!session_wait_output(s, fetch_next))
			return;
		if (st->npend == 0 && st->ahead.npend > 0 &&
		    !fetch_ahead_take(s))
			return;
		if (st->npend > 0) {
			fetch_bodies(s);
			return;
		}
		if ((rv = mbox_stream_next_msg(&st->rd, &st->m)) != 1) {
			if (rv == -1)
				log_warnx("imap: session %u: bad fetch "
				    "records", s->id);
			imap_done(s, "OK FETCH completed");
			return;
		}
		if ((st->seq = imap_view_seq(im->sel.view, st->m.uid)) == 0)
			continue;
		if (fetch_was_seen(st, st->m.uid))
			st->m.flags |= MAILFLAG_SEEN;
		if (!(st->flags & IMAP_FETCH_RAW)) {
			if (fetch_write(s, NULL, 0) == -1)
				return;
			continue;
		}
		/* Gather a batch, then ask for its bodies. */
		st->pend[st->npend++] = st->m;
		fetch_gather(s, st->pend, &st->npend);
	}
}

/*
 * The next records into pend, up to FETCH_BATCH in all: those still
 * in the view, with \Seen if this command set it.
 */
static void
fetch_gather(struct session *s, struct mbox_stream_msg *pend, size_t *npend)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct mbox_stream_msg	 m;
	int			 rv = 0;

	while (*npend < FETCH_BATCH &&
	    (rv = mbox_stream_next_msg(&st->rd, &m)) == 1) {
		if (imap_view_seq(im->sel.view, m.uid) == 0)
			continue;
		if (fetch_was_seen(st, m.uid))
			m.flags |= MAILFLAG_SEEN;
		pend[(*npend)++] = m;
	}
	if (rv == -1)
		log_warnx("imap: session %u: bad fetch records", s->id);
}

/*
 * The bodies of a prefix of the pending messages, up to the vault's
 * last uid: those it did not send were expunged meanwhile and are left
 * out.  The rest wait for the next request.  The answer is kept and
 * written a message at a time, so that a slow reader costs the batch
 * and one message's answer, not the batch twice.
 */
static void
fetch_bodies_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	void			*buf;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "FETCH");
		return;
	}
	buf = r->buf;
	r->buf = NULL;
	st->ahead_tried = 0;
	fetch_bodies_start(s, buf, r->len, r->b);
}

/* The bodies of pend up to lastuid, in buf (the batch's now). */
static void
fetch_bodies_start(struct session *s, void *buf, size_t len,
    uint32_t lastuid)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;

	st->bodies = buf;
	st->bodieslen = len;
	st->lastuid = lastuid;
	st->ndone = 0;
	mbox_stream_r_init(&st->brd, st->bodies != NULL ? st->bodies : "",
	    st->bodieslen);
	st->brv = mbox_stream_next_body(&st->brd, &st->buid, &st->bdata,
	    &st->blen);
	fetch_bodies_write(s);
}

static void
fetch_bodies_write(struct session *s)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct mbox_stream_msg	*p;

	for (; st->ndone < st->npend; st->ndone++) {
		p = &st->pend[st->ndone];
		if (p->uid > st->lastuid)
			break;
		while (st->brv == 1 && st->buid < p->uid)
			st->brv = mbox_stream_next_body(&st->brd, &st->buid,
			    &st->bdata, &st->blen);
		if (st->brv == -1) {
			imap_no_status(s, MBOX_EIO, "FETCH");
			return;
		}
		if (st->brv != 1 || st->buid != p->uid)
			continue;
		if (!session_wait_output(s, fetch_bodies_write))
			return;
		if (!st->ahead_tried && st->ndone >= st->npend / 2 &&
		    st->lastuid >= st->pend[st->npend - 1].uid)
			fetch_ahead_ask(s);
		st->m = *p;
		st->seq = imap_view_seq(im->sel.view, st->m.uid);
		if (st->seq != 0 && fetch_write(s, st->bdata, st->blen) == -1)
			return;
	}
	mbox_stream_free(st->bodies, st->bodieslen);
	st->bodies = NULL;
	st->bodieslen = 0;
	if (st->ndone == 0) {
		/* No progress: the vault broke its word. */
		imap_no_status(s, MBOX_EIO, "FETCH");
		return;
	}
	memmove(st->pend, st->pend + st->ndone,
	    (st->npend - st->ndone) * sizeof(*st->pend));
	st->npend -= st->ndone;
	st->ndone = 0;
	fetch_next(s);
}

static void
fetch_records(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "FETCH");
		return;
	}
	/* Keep the records: the messages are written one by one. */
	st->buf = r->buf;
	st->len = r->len;
	r->buf = NULL;
	r->len = 0;
	mbox_stream_r_init(&st->rd, st->buf != NULL ? st->buf : "",
	    st->len);
	fetch_next(s);
}

static void
fetch_get(struct session *s)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	uint64_t		 since = imap_fetch_changedsince(st->f);

	st->q.op = MBOX_OP_FETCH;
	memset(&st->q.fetch, 0, sizeof(st->q.fetch));
	st->q.fetch.how = (st->flags & IMAP_FETCH_META) ? 0 :
	    MBOX_FETCH_NOMETA;
	if (since > 0) {
		st->q.fetch.how |= MBOX_FETCH_CHANGEDSINCE;
		st->q.fetch.changedsince = since;
	}
	imap_vault(s, &st->q, -1, IMAP_LIST_MAX, fetch_records);
}

static int
fetch_vanished_keep(void *arg, uint32_t uid)
{
	struct fetch_state	*st = arg;
	size_t			 i;

	for (i = 0; i < st->q.nranges; i++)
		if (uid >= st->q.ranges[i].first && uid <= st->q.ranges[i].last)
			return (1);
	return (0);
}

static void
fetch_vanished_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	uint32_t		*uids;
	size_t			 n;

	if (r->status == MBOX_OK && imap_result_uids(r,
	    fetch_vanished_keep, im->run.state_data, &uids, &n) == 0) {
		imap_view_vanished_earlier(s, uids, n);
		free(uids);
	}
	fetch_get(s);
}

static void
fetch_seen_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct fetch_state	*st = im->run.state_data;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	struct mbox_req	 q;
	uint32_t		 seq;

	if (r->status == MBOX_OK && r->count > 0 &&
	    (st->seen = reallocarray(NULL, r->count,
	    sizeof(*st->seen))) != NULL) {
		mbox_stream_r_init(&rd, r->buf, r->len);
		while (st->nseen < r->count &&
		    mbox_stream_next_msg(&rd, &m) == 1) {
			st->seen[st->nseen++] = m.uid;
			if ((seq = imap_view_seq(im->sel.view, m.uid)) != 0)
				im->sel.view->modseqs[seq - 1] = m.modseq;
		}
		qsort(st->seen, st->nseen, sizeof(*st->seen), imap_uid_cmp);
	}
	if (imap_fetch_vanished(st->f)) {
		imap_req_init(s, &q, MBOX_OP_VANISHED);
		strlcpy(q.folder, im->sel.view->name, sizeof(q.folder));
		q.since.modseq = imap_fetch_changedsince(st->f);
		imap_vault(s, &q, -1, IMAP_UIDS_MAX, fetch_vanished_done);
		return;
	}
	fetch_get(s);
}

void
imap_cmd_fetch(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct fetch_state	*st;
	struct mbox_req	 q;
	const char		*err = "Invalid FETCH items";
	int			 rv;

	if (nargs < 2) {
		imap_bad(s, "Syntax: FETCH set items");
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	imap_set_state(s, st, fetch_state_free);
	imap_req_init(s, &st->q, MBOX_OP_FETCH);
	strlcpy(st->q.folder, v->name, sizeof(st->q.folder));
	if ((rv = imap_view_ranges(s, &args[0], &st->q)) == -1) {
		imap_bad(s, "Invalid message set");
		return;
	}
	if (imap_fetch_parse(args + 1, nargs - 1, im->run.uid, &st->f,
	    &err) == -1) {
		imap_bad(s, err);
		return;
	}
	st->flags = imap_fetch_flags(st->f);
	/* Parts of messages, or whole ones. */
	if ((st->flags & IMAP_FETCH_RAW) &&
	    imap_fetch_sections(st->f, st->sects, &st->nsects) == -1)
		st->nsects = 0;
	if (st->flags & IMAP_FETCH_MODSEQ)
		imap_condstore_on(s);
	if (rv == 1) {
		imap_done(s, "OK FETCH completed");
		return;
	}
	if ((st->flags & IMAP_FETCH_SEEN) && !v->readonly) {
		/* Reading a body sets \Seen; the change is reported. */
		q = st->q;
		q.op = MBOX_OP_STORE;
		memset(&q.store, 0, sizeof(q.store));
		q.store.op = STORE_ADD;
		q.store.flags = MAILFLAG_SEEN;
		imap_vault(s, &q, -1, IMAP_LIST_MAX, fetch_seen_done);
		return;
	}
	fetch_seen_done(s, &(struct mbox_result){ .status = MBOX_EIO });
}
