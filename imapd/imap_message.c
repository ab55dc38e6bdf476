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
 * The selected mailbox: SELECT and EXAMINE build the session's view of
 * it (imap_view.c), and the commands that change messages work through
 * it: STORE, COPY, MOVE, EXPUNGE, and CLOSE and UNSELECT.  SEARCH and
 * FETCH are imap_query.c's.
 *
 * The vault knows messages by uid only.  Every set a client gives, in
 * sequence numbers or uids, becomes uid ranges here, within what the
 * session has been told of: a message delivered since the last EXISTS
 * is not touched, nor reported, until the session has announced it.
 * Results are reported only for messages in the view, numbered as the
 * view numbers them.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_local.h"
#include "log.h"
#include "mbox_stream.h"

/* Text built up for a tagged reply's response code. */
struct strbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 failed;
};

static void
sb_out(void *arg, const void *data, size_t n)
{
	struct strbuf	*sb = arg;
	size_t		 cap;
	char		*p;

	if (sb->failed)
		return;
	if (sb->len + n + 1 > sb->cap) {
		cap = sb->cap == 0 ? 256 : sb->cap;
		while (cap < sb->len + n + 1)
			cap *= 2;
		if ((p = realloc(sb->p, cap)) == NULL) {
			sb->failed = 1;
			return;
		}
		sb->p = p;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, data, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

#define IMAP_STORE_FLAGS	1
#define IMAP_STORE_ADD		2
#define IMAP_STORE_REMOVE	3

/* -------------------------------------------------------------------
 * SELECT and EXAMINE.
 */

struct select_state {
	struct imap_view	*view;
	int			 condstore;
	int			 qresync;
	uint32_t		 q_uidvalidity;
	uint64_t		 q_modseq;
	struct imap_seqset	 q_known;	/* known uids, or n = 0 */
	int			 q_has_known;
	uint32_t		 exists;
	uint32_t		 unseen_first;
};

static void	 select_status_done(struct session *, struct mbox_result *);
static void	 select_fetch_done(struct session *, struct mbox_result *);
static void	 select_announce(struct session *);
static void	 select_vanished_done(struct session *, struct mbox_result *);
static void	 select_changed_done(struct session *, struct mbox_result *);
static void	 select_finish(struct session *);

static void
select_state_free(void *arg)
{
	struct select_state	*st = arg;

	if (st == NULL)
		return;
	imap_view_free(st->view);
	free(st);
}

/* (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids [...]])) */
static int
select_params(struct session *s, const struct imap_arg *a,
    struct select_state *st)
{
	struct imap		*im = s->data;
	const struct imap_arg	*p, *q;
	size_t			 i;

	if (a->type != IMAP_ARG_LIST)
		return (-1);
	for (i = 0; i < a->nlist; i++) {
		p = &a->list[i];
		if (imap_arg_is(p, "CONDSTORE")) {
			st->condstore = 1;
			continue;
		}
		if (!imap_arg_is(p, "QRESYNC") || i + 1 >= a->nlist ||
		    !(im->conn.enabled & IMAP_EN_QRESYNC))
			return (-1);
		q = &a->list[++i];
		if (q->type != IMAP_ARG_LIST || q->nlist < 2 ||
		    q->nlist > 3 ||
		    imap_arg_number(&q->list[0], &st->q_uidvalidity) == -1 ||
		    st->q_uidvalidity == 0 ||
		    imap_arg_number64(&q->list[1], &st->q_modseq) == -1)
			return (-1);
		if (q->nlist == 3) {
			if (q->list[2].type == IMAP_ARG_LIST)
				continue;	/* seq-match data: not used */
			if (q->list[2].type != IMAP_ARG_ATOM ||
			    imap_seqset_parse(q->list[2].str,
			    &st->q_known) == -1)
				return (-1);
			st->q_has_known = 1;
		}
		st->qresync = 1;
	}
	return (0);
}

static void
select_common(struct session *s, struct imap_arg *args, size_t nargs,
    int readonly)
{
	struct imap		*im = s->data;
	struct select_state	*st;
	struct mbox_req	 q;
	char			 name[MBOX_NAME_MAX];

	if (nargs < 1 || nargs > 2) {
		imap_bad(s, "Syntax: SELECT mailbox [(parameters)]");
		return;
	}
	if (imap_name_in(s, &args[0], name, sizeof(name)) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->view = calloc(1, sizeof(*st->view))) == NULL) {
		free(st);
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	imap_set_state(s, st, select_state_free);
	if (nargs == 2 && select_params(s, &args[1], st) == -1) {
		imap_bad(s, "Invalid SELECT parameters");
		return;
	}
	/* The old mailbox is closed, even if the new one fails. */
	if (im->sel.view != NULL) {
		imap_unselect(s);
		if (im->conn.enabled & (IMAP_EN_REV2 | IMAP_EN_QRESYNC))
			imap_printf(s, "* OK [CLOSED] Previous mailbox "
			    "closed\r\n");
	}
	if (st->condstore)
		im->conn.enabled |= IMAP_EN_CONDSTORE;
	strlcpy(st->view->name, name, sizeof(st->view->name));
	st->view->readonly = readonly;
	imap_req_init(s, &q, MBOX_OP_STATUS);
	strlcpy(q.folder, name, sizeof(q.folder));
	imap_vault(s, &q, -1, IMAP_LIST_MAX, select_status_done);
}

void
imap_cmd_select(struct session *s, struct imap_arg *args, size_t nargs)
{
	select_common(s, args, nargs, 0);
}

void
imap_cmd_examine(struct session *s, struct imap_arg *args, size_t nargs)
{
	select_common(s, args, nargs, 1);
}

static void
select_status_done(struct session *s, struct mbox_result *r)
{
	struct imap			*im = s->data;
	struct select_state		*st = im->run.state_data;
	struct mbox_stream_r		 rd;
	struct mbox_folder	 f;
	struct mbox_req		 q;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "SELECT");
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	if (mbox_stream_next_folder(&rd, &f) != 1) {
		imap_no_status(s, MBOX_EIO, "SELECT");
		return;
	}
	st->view->uidvalidity = f.info.uidvalidity;
	st->view->uidnext = f.info.uidnext;
	st->view->highestmodseq = f.info.highestmodseq;
	imap_req_init(s, &q, MBOX_OP_FETCH);
	strlcpy(q.folder, st->view->name, sizeof(q.folder));
	q.fetch.how = MBOX_FETCH_NOMETA;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	imap_vault(s, &q, -1, IMAP_LIST_MAX, select_fetch_done);
}

static void
select_fetch_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct select_state	*st = im->run.state_data;
	struct imap_view	*v = st->view;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	int			 rv;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "SELECT");
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	while ((rv = mbox_stream_next_msg(&rd, &m)) == 1) {
		if (imap_view_add(v, m.uid, m.modseq) == -1) {
			rv = -1;
			break;
		}
		(void)imap_view_keywords(v, m.keywords);
		if (m.modseq > v->highestmodseq)
			v->highestmodseq = m.modseq;
		if (!(m.flags & MAILFLAG_SEEN) && st->unseen_first == 0)
			st->unseen_first = v->n;
	}
	if (rv == -1) {
		imap_no_status(s, MBOX_EIO, "SELECT");
		return;
	}
	if (v->n > 0 && v->uids[v->n - 1] >= v->uidnext)
		v->uidnext = v->uids[v->n - 1] + 1;
	imap_view_recent(s, v, select_announce);
}

/* The view is complete: select it and tell it. */
static void
select_announce(struct session *s)
{
	struct imap		*im = s->data;
	struct select_state	*st = im->run.state_data;
	struct imap_view	*v = st->view;
	struct mbox_req	 q;

	/* The mailbox is selected from here on. */
	imap_view_select(s, v);
	st->view = NULL;
	imap_printf(s, "* %u EXISTS\r\n", v->n);
	if (!(im->conn.enabled & IMAP_EN_REV2)) {
		imap_printf(s, "* %u RECENT\r\n", imap_view_recent_count(v));
		if (st->unseen_first != 0)
			imap_printf(s, "* OK [UNSEEN %u] First unseen\r\n",
			    st->unseen_first);
	}
	imap_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n",
	    v->uidvalidity);
	imap_printf(s, "* OK [UIDNEXT %u] Predicted next UID\r\n",
	    v->uidnext);
	imap_view_flags(s, v);
	imap_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
	    (unsigned long long)v->highestmodseq);
	if (im->conn.enabled & IMAP_EN_REV2) {
		imap_out(s, "* LIST () \"/\" ", 14);
		imap_name_out(s, v->name);
		imap_out(s, "\r\n", 2);
	}
	if (!st->qresync || st->q_uidvalidity != v->uidvalidity) {
		select_finish(s);
		return;
	}
	/* QRESYNC (RFC 7162 3.2.5): what changed since the client's. */
	imap_req_init(s, &q, MBOX_OP_VANISHED);
	strlcpy(q.folder, v->name, sizeof(q.folder));
	q.since.modseq = st->q_modseq;
	imap_vault(s, &q, -1, IMAP_UIDS_MAX, select_vanished_done);
}

static int
seqset_has(const struct imap_seqset *set, uint32_t n)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (n >= set->r[i].first && n <= set->r[i].last)
			return (1);
	return (0);
}

static int
select_vanished_keep(void *arg, uint32_t uid)
{
	struct session		*s = arg;
	struct imap		*im = s->data;
	struct select_state	*st = im->run.state_data;

	/* Only what the client said it knows, and not in the view. */
	if (st->q_has_known && !seqset_has(&st->q_known, uid))
		return (0);
	return (imap_view_seq(im->sel.view, uid) == 0);
}

static void
select_vanished_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct select_state	*st = im->run.state_data;
	struct imap_view	*v = im->sel.view;
	struct mbox_req	 q;
	uint32_t		*uids;
	size_t			 n;

	if (r->status != MBOX_OK ||
	    imap_result_uids(r, select_vanished_keep, s, &uids, &n) == -1) {
		select_finish(s);
		return;
	}
	imap_view_vanished_earlier(s, uids, n);
	free(uids);
	if (v->n == 0 || st->q_modseq >= v->highestmodseq) {
		select_finish(s);
		return;
	}
	imap_req_init(s, &q, MBOX_OP_FETCH);
	strlcpy(q.folder, v->name, sizeof(q.folder));
	q.fetch.how = MBOX_FETCH_NOMETA | MBOX_FETCH_CHANGEDSINCE;
	q.fetch.changedsince = st->q_modseq > 0 ? st->q_modseq : 1;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = v->uids[v->n - 1];
	imap_vault(s, &q, -1, IMAP_LIST_MAX, select_changed_done);
}

static void
select_changed_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	uint32_t		 seq;

	if (r->status == MBOX_OK) {
		mbox_stream_r_init(&rd, r->buf, r->len);
		while (mbox_stream_next_msg(&rd, &m) == 1) {
			if ((seq = imap_view_seq(v, m.uid)) == 0)
				continue;
			imap_flags_fetch(s, seq, &m, 1, 1);
		}
	}
	select_finish(s);
}

static void
select_finish(struct session *s)
{
	struct imap	*im = s->data;

	imap_done(s, "OK [%s] %s completed",
	    im->sel.view->readonly ? "READ-ONLY" : "READ-WRITE",
	    im->sel.view->readonly ? "EXAMINE" : "SELECT");
}

/* -------------------------------------------------------------------
 * CLOSE and UNSELECT.
 */

static void
close_expunged(struct session *s, struct mbox_result *r)
{
	(void)r;
	/* CLOSE reports nothing, even a failure to expunge. */
	imap_unselect(s);
	imap_done(s, "OK CLOSE completed");
}

void
imap_cmd_close(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct mbox_req	 q;

	(void)args;
	if (nargs != 0) {
		imap_bad(s, "Unexpected arguments");
		return;
	}
	if (v->readonly || v->n == 0) {
		imap_unselect(s);
		imap_done(s, "OK CLOSE completed");
		return;
	}
	imap_req_init(s, &q, MBOX_OP_EXPUNGE);
	strlcpy(q.folder, v->name, sizeof(q.folder));
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = v->uids[v->n - 1];
	imap_vault(s, &q, -1, IMAP_UIDS_MAX, close_expunged);
}

void
imap_cmd_unselect(struct session *s, struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (nargs != 0) {
		imap_bad(s, "Unexpected arguments");
		return;
	}
	imap_unselect(s);
	imap_done(s, "OK UNSELECT completed");
}

/* -------------------------------------------------------------------
 * EXPUNGE and UID EXPUNGE.
 */

static void
expunge_done(struct session *s, struct mbox_result *r)
{
	uint32_t	*uids;
	size_t		 n;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "EXPUNGE");
		return;
	}
	if (imap_result_uids(r, NULL, NULL, &uids, &n) == -1) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	imap_view_expunged(s, uids, n);
	free(uids);
	imap_done(s, "OK EXPUNGE completed");
}

void
imap_cmd_expunge(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct mbox_req	 q;
	int			 rv;

	if (nargs != (im->run.uid ? 1 : 0)) {
		imap_bad(s, im->run.uid ? "Syntax: UID EXPUNGE uid-set" :
		    "Unexpected arguments");
		return;
	}
	if (v->readonly) {
		imap_done(s, "NO [READ-ONLY] The mailbox is read-only");
		return;
	}
	imap_req_init(s, &q, MBOX_OP_EXPUNGE);
	strlcpy(q.folder, v->name, sizeof(q.folder));
	if (im->run.uid) {
		if ((rv = imap_view_ranges(s, &args[0], &q)) == -1) {
			imap_bad(s, "Invalid uid set");
			return;
		}
	} else {
		/* Only what the session knows of. */
		rv = v->n == 0;
		q.nranges = 1;
		q.ranges[0].first = 1;
		q.ranges[0].last = v->n > 0 ? v->uids[v->n - 1] : 0;
	}
	if (rv == 1) {
		imap_done(s, "OK EXPUNGE completed");
		return;
	}
	imap_vault(s, &q, -1, IMAP_UIDS_MAX, expunge_done);
}

/* -------------------------------------------------------------------
 * STORE.
 */

struct store_state {
	int		 silent;
	int		 unchanged;	/* UNCHANGEDSINCE given */
	struct mbox_req q;		/* the ranges, for the FETCH after */
	uint32_t	*failed;
	size_t		 nfailed;
};

static void
store_state_free(void *arg)
{
	struct store_state	*st = arg;

	if (st == NULL)
		return;
	free(st->failed);
	free(st);
}

static void
store_finish(struct session *s)
{
	struct imap		*im = s->data;
	struct store_state	*st = im->run.state_data;
	struct strbuf		 sb;
	uint32_t		*nums;
	size_t			 i, n = 0;

	if (st->nfailed == 0) {
		imap_done(s, "OK STORE completed");
		return;
	}
	/* [MODIFIED set]: uids, or sequence numbers without UID. */
	if ((nums = reallocarray(NULL, st->nfailed, sizeof(*nums))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	for (i = 0; i < st->nfailed; i++) {
		if (im->run.uid)
			nums[n++] = st->failed[i];
		else if ((nums[n] = imap_view_seq(im->sel.view,
		    st->failed[i])) != 0)
			n++;
	}
	qsort(nums, n, sizeof(*nums), imap_uid_cmp);
	memset(&sb, 0, sizeof(sb));
	imap_seqset_write(nums, n, sb_out, &sb);
	free(nums);
	if (sb.failed || sb.p == NULL)
		imap_done(s, "NO [SERVERBUG] Out of memory");
	else
		imap_done(s, "OK [MODIFIED %s] Conditional STORE failed",
		    sb.p);
	free(sb.p);
}

static void
store_fetch_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	uint32_t		 seq;

	if (r->status == MBOX_OK) {
		mbox_stream_r_init(&rd, r->buf, r->len);
		while (mbox_stream_next_msg(&rd, &m) == 1) {
			if ((seq = imap_view_seq(v, m.uid)) == 0)
				continue;
			v->modseqs[seq - 1] = m.modseq;
			imap_flags_fetch(s, seq, &m, im->run.uid,
			    im->conn.enabled & IMAP_EN_CONDSTORE);
		}
	}
	store_finish(s);
}

static void
store_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct store_state	*st = im->run.state_data;
	struct imap_view	*v = im->sel.view;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	uint32_t		 seq, uid, i;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "STORE");
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	for (i = 0; i < r->count; i++) {
		if (mbox_stream_next_msg(&rd, &m) != 1)
			break;
		if ((seq = imap_view_seq(v, m.uid)) == 0)
			continue;
		v->modseqs[seq - 1] = m.modseq;
		/* A new keyword is announced, even with .SILENT. */
		imap_view_keywords_seen(s, m.keywords);
		/* .SILENT still reports the new MODSEQ (RFC 7162 3.1.3). */
		if (st->silent && st->unchanged) {
			imap_printf(s, "* %u FETCH (", seq);
			if (im->run.uid)
				imap_printf(s, "UID %u ", m.uid);
			imap_printf(s, "MODSEQ (%llu))\r\n",
			    (unsigned long long)m.modseq);
		}
	}
	if (r->a > 0 && r->a <= r->count + (uint64_t)IMAP_UIDS_MAX &&
	    (st->failed = reallocarray(NULL, r->a,
	    sizeof(*st->failed))) != NULL) {
		while (st->nfailed < r->a &&
		    mbox_stream_next_uid(&rd, &uid) == 1)
			st->failed[st->nfailed++] = uid;
	}
	if (st->silent) {
		store_finish(s);
		return;
	}
	/* Every message of the set is told its flags, changed or not. */
	st->q.op = MBOX_OP_FETCH;
	memset(&st->q.fetch, 0, sizeof(st->q.fetch));
	st->q.fetch.how = MBOX_FETCH_NOMETA;
	imap_vault(s, &st->q, -1, IMAP_LIST_MAX, store_fetch_done);
}

void
imap_cmd_store(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct store_state	*st;
	struct mbox_req	*q;
	const struct imap_arg	*item, *mods;
	const char		*name;
	uint64_t		 since = 0;
	uint32_t		 flags;
	int			 rv, op;
	size_t			 i = 1;

	if (nargs < 3 || nargs > 4) {
		imap_bad(s, "Syntax: STORE set [(UNCHANGEDSINCE n)] "
		    "(+|-)FLAGS[.SILENT] flags");
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	imap_set_state(s, st, store_state_free);
	q = &st->q;
	imap_req_init(s, q, MBOX_OP_STORE);
	strlcpy(q->folder, v->name, sizeof(q->folder));
	if ((rv = imap_view_ranges(s, &args[0], q)) == -1) {
		imap_bad(s, "Invalid message set");
		return;
	}
	if (nargs == 4) {
		mods = &args[i++];
		if (mods->type != IMAP_ARG_LIST || mods->nlist != 2 ||
		    !imap_arg_is(&mods->list[0], "UNCHANGEDSINCE") ||
		    imap_arg_number64(&mods->list[1], &since) == -1) {
			imap_bad(s, "Invalid STORE modifier");
			return;
		}
		st->unchanged = 1;
		imap_condstore_on(s);
	}
	item = &args[i++];
	if (item->type != IMAP_ARG_ATOM) {
		imap_bad(s, "Invalid STORE item");
		return;
	}
	name = item->str;
	op = IMAP_STORE_FLAGS;
	if (*name == '+' || *name == '-')
		op = *name++ == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
	if (strcasecmp(name, "FLAGS.SILENT") == 0)
		st->silent = 1;
	else if (strcasecmp(name, "FLAGS") != 0) {
		imap_bad(s, "Invalid STORE item");
		return;
	}
	if (imap_flags_parse(&args[i], &flags, q->keywords,
	    sizeof(q->keywords)) == -1) {
		imap_bad(s, "Invalid flags");
		return;
	}
	if (v->readonly) {
		imap_done(s, "NO [READ-ONLY] The mailbox is read-only");
		return;
	}
	if (rv == 1) {
		imap_done(s, "OK STORE completed");
		return;
	}
	q->store.flags = flags;
	q->store.op = op == IMAP_STORE_ADD ? STORE_ADD :
	    op == IMAP_STORE_REMOVE ? STORE_REMOVE : STORE_REPLACE;
	/* UNCHANGEDSINCE 0 fails for every message (RFC 7162 3.1.3). */
	q->store.unchangedsince = since;
	if (st->unchanged && since == 0) {
		imap_done(s, "OK [MODIFIED %s] Conditional STORE failed",
		    args[0].str);
		return;
	}
	imap_vault(s, q, -1, IMAP_LIST_MAX, store_done);
}

/* -------------------------------------------------------------------
 * COPY and MOVE (RFC 6851), with COPYUID (RFC 4315).
 */

/* Numbers in the given order, runs as ranges. */
static void
write_ordered(struct strbuf *sb, const uint32_t *v, size_t n)
{
	char	 num[32];
	size_t	 i = 0, j;
	int	 len;

	while (i < n) {
		j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (j > i)
			len = snprintf(num, sizeof(num), "%s%u:%u",
			    i > 0 ? "," : "", v[i], v[j]);
		else
			len = snprintf(num, sizeof(num), "%s%u",
			    i > 0 ? "," : "", v[i]);
		sb_out(sb, num, (size_t)len);
		i = j + 1;
	}
}

static void
copy_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct mbox_stream_r	 rd;
	struct strbuf		 sb;
	uint32_t		*src = NULL, *dst = NULL;
	size_t			 n = 0;
	int			 move = strcmp(im->run.name, "MOVE") == 0;

	if (r->status == MBOX_ENOTFOUND) {
		imap_done(s, "NO [TRYCREATE] No such mailbox");
		return;
	}
	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, im->run.name);
		return;
	}
	if (r->count > 0 &&
	    ((src = reallocarray(NULL, r->count, sizeof(*src))) == NULL ||
	    (dst = reallocarray(NULL, r->count, sizeof(*dst))) == NULL)) {
		free(src);
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	while (n < r->count &&
	    mbox_stream_next_pair(&rd, &src[n], &dst[n]) == 1)
		n++;
	if (n == 0) {
		imap_done(s, "OK %s completed", im->run.name);
		return;
	}
	memset(&sb, 0, sizeof(sb));
	write_ordered(&sb, src, n);
	sb_out(&sb, " ", 1);
	write_ordered(&sb, dst, n);
	if (sb.failed) {
		free(sb.p);
		free(src);
		free(dst);
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	if (move) {
		imap_printf(s, "* OK [COPYUID %llu %s] Moved\r\n",
		    (unsigned long long)r->a, sb.p);
		imap_view_expunged(s, src, n);
		imap_done(s, "OK MOVE completed");
	} else
		imap_done(s, "OK [COPYUID %llu %s] COPY completed",
		    (unsigned long long)r->a, sb.p);
	free(sb.p);
	free(src);
	free(dst);
}

/*
 * limit mailbox-size: the account's usage and the sizes of what would
 * be copied, before the COPY (as APPEND checks before it stores).
 */
struct copy_state {
	struct mbox_req	 q;
	uint64_t		 usage;
};

static void
copy_sizes_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct copy_state	*st = im->run.state_data;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	uint64_t		 total = st->usage;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "COPY");
		return;
	}
	mbox_stream_r_init(&rd, r->buf != NULL ? r->buf : "", r->len);
	while (mbox_stream_next_msg(&rd, &m) == 1)
		if (imap_view_seq(im->sel.view, m.uid) != 0)
			total += m.size;
	if (total > front_conf()->limits.max_mailbox_size) {
		imap_done(s, "NO [OVERQUOTA] The mailbox is full");
		return;
	}
	imap_vault(s, &st->q, -1, IMAP_UIDS_MAX, copy_done);
}

static void
copy_usage_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct copy_state	*st = im->run.state_data;
	struct mbox_req	 q;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "COPY");
		return;
	}
	st->usage = r->a;
	q = st->q;
	q.op = MBOX_OP_FETCH;
	memset(&q.fetch, 0, sizeof(q.fetch));
	q.fetch.how = MBOX_FETCH_NOMETA;
	q.folder2[0] = '\0';
	imap_vault(s, &q, -1, IMAP_LIST_MAX, copy_sizes_done);
}

static void
copy_quota(struct session *s, const struct mbox_req *cq)
{
	struct copy_state	*st;
	struct mbox_req	 q;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_done(s, "NO [SERVERBUG] Out of memory");
		return;
	}
	st->q = *cq;
	imap_set_state(s, st, free);
	imap_req_init(s, &q, MBOX_OP_USAGE);
	imap_vault(s, &q, -1, 0, copy_usage_done);
}

static void
copy_common(struct session *s, struct imap_arg *args, size_t nargs,
    int move)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct mbox_req	 q;
	int			 rv;

	if (nargs != 2) {
		imap_bad(s, move ? "Syntax: MOVE set mailbox" :
		    "Syntax: COPY set mailbox");
		return;
	}
	imap_req_init(s, &q, move ? MBOX_OP_MOVE : MBOX_OP_COPY);
	strlcpy(q.folder, v->name, sizeof(q.folder));
	if ((rv = imap_view_ranges(s, &args[0], &q)) == -1) {
		imap_bad(s, "Invalid message set");
		return;
	}
	if (imap_name_in(s, &args[1], q.folder2, sizeof(q.folder2)) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	if (move && v->readonly) {
		imap_done(s, "NO [READ-ONLY] The mailbox is read-only");
		return;
	}
	if (rv == 1) {
		imap_done(s, "OK %s completed", move ? "MOVE" : "COPY");
		return;
	}
	/* A COPY adds to the account's size; a MOVE does not. */
	if (!move && front_conf()->limits.max_mailbox_size != 0) {
		copy_quota(s, &q);
		return;
	}
	imap_vault(s, &q, -1, IMAP_UIDS_MAX, copy_done);
}

void
imap_cmd_copy(struct session *s, struct imap_arg *args, size_t nargs)
{
	copy_common(s, args, nargs, 0);
}

void
imap_cmd_move(struct session *s, struct imap_arg *args, size_t nargs)
{
	copy_common(s, args, nargs, 1);
}
