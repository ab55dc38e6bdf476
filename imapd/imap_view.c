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
 * The selected mailbox as the session knows it (struct imap_view), and
 * its sync with the vault.
 *
 * The view: the uids the session has announced, in order (a sequence
 * number is a position), with the modseq each was last reported at;
 * sets given by the client become uid ranges within it, so that a
 * message delivered since the last EXISTS is neither touched nor
 * reported until it is announced; and SEARCHRES's saved set "$".
 *
 * The sync: the vault announces changes to an account (IMSG_MBOX_NOTIFY,
 * imap_view_notify()); the view is then dirty, and imap_sync() catches
 * up in one MBOX_OP_SYNC where the protocol allows untagged updates
 * (before a tagged reply, see imap_done(); at once in IDLE), writing
 * EXPUNGE or VANISHED, FETCH FLAGS and EXISTS.
 *
 * The commands and the connection call this file; it calls only the
 * output and vault requests of imap_io.c.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_local.h"
#include "log.h"
#include "mbox_stream.h"

#define IMAP_SYSFLAGS	"\\Answered \\Flagged \\Deleted \\Seen \\Draft"

static void	 sync_done(struct session *, struct mbox_result *);
static void	 sync_gone(struct session *, const char *);
static void	 sync_finish(struct session *);
static void	 sync_recent(struct session *);
static void	 imap_idle_synced(struct session *);

/* -------------------------------------------------------------------
 * The view.
 */

int
imap_uid_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x < y ? -1 : x > y);
}

uint32_t
imap_view_seq(const struct imap_view *v, uint32_t uid)
{
	uint32_t	 lo = 0, hi = v->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->uids[mid] == uid)
			return (mid + 1);
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (0);
}

uint32_t
imap_view_uid(const struct imap_view *v, uint32_t seq)
{
	if (seq == 0 || seq > v->n)
		return (0);
	return (v->uids[seq - 1]);
}

int
imap_view_add(struct imap_view *v, uint32_t uid, uint64_t modseq)
{
	uint32_t	*u;
	uint64_t	*m;
	uint32_t	 cap;

	if (v->n > 0 && uid <= v->uids[v->n - 1])
		return (-1);
	if (v->n == v->cap) {
		cap = v->cap == 0 ? 64 : v->cap * 2;
		if (cap < v->cap)
			return (-1);
		if ((u = reallocarray(v->uids, cap, sizeof(*u))) == NULL)
			return (-1);
		v->uids = u;
		if ((m = reallocarray(v->modseqs, cap, sizeof(*m))) == NULL)
			return (-1);
		v->modseqs = m;
		v->cap = cap;
	}
	v->uids[v->n] = uid;
	v->modseqs[v->n] = modseq;
	v->n++;
	return (0);
}

void
imap_view_free(struct imap_view *v)
{
	if (v == NULL)
		return;
	free(v->uids);
	free(v->modseqs);
	free(v->saved);
	while (v->nkw > 0)
		free(v->kw[--v->nkw]);
	free(v->kw);
	free(v);
}

void
imap_unselect(struct session *s)
{
	struct imap	*im = s->data;

	imap_view_free(im->sel.view);
	im->sel.view = NULL;
	im->sel.dirty = 0;
	if (im->conn.state == IMAP_SELECTED)
		im->conn.state = IMAP_AUTH;
}

/*
 * Messages gone from the mailbox: out of the view, and told: EXPUNGE
 * with their sequence numbers, from the highest down so that none
 * shifts before it is named, or VANISHED once QRESYNC is on.  uids not
 * in the view are skipped (the session knew nothing of them).
 */
void
imap_view_expunged(struct session *s, const uint32_t *uids, size_t n)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	uint32_t		*seqs, *gone, seq, i, j, k;
	size_t			 ngone = 0;

	if (v == NULL || n == 0)
		return;
	if ((seqs = reallocarray(NULL, n, sizeof(*seqs))) == NULL ||
	    (gone = reallocarray(NULL, n, sizeof(*gone))) == NULL) {
		free(seqs);
		log_warnx("imap: session %u: out of memory", s->id);
		session_close(s);
		return;
	}
	for (i = 0; i < n; i++)
		if ((seq = imap_view_seq(v, uids[i])) != 0)
			seqs[ngone++] = seq;
	qsort(seqs, ngone, sizeof(*seqs), imap_uid_cmp);
	/* Duplicates would name a message twice. */
	for (i = 0, j = 0; i < ngone; i++)
		if (j == 0 || seqs[j - 1] != seqs[i])
			seqs[j++] = seqs[i];
	ngone = j;
	for (i = 0; i < ngone; i++)
		gone[i] = v->uids[seqs[i] - 1];
	if (ngone > 0 && (im->conn.enabled & IMAP_EN_QRESYNC)) {
		imap_out(s, "* VANISHED ", 11);
		imap_seqset_write(gone, ngone, imap_out, s);
		imap_out(s, "\r\n", 2);
	} else
		for (i = ngone; i > 0; i--)
			imap_printf(s, "* %u EXPUNGE\r\n", seqs[i - 1]);
	/* Compact the view in one pass. */
	for (i = 0, j = 0, k = 0; i < v->n; i++) {
		if (k < ngone && seqs[k] == i + 1) {
			k++;
			continue;
		}
		v->uids[j] = v->uids[i];
		v->modseqs[j] = v->modseqs[i];
		j++;
	}
	v->n = j;
	free(seqs);
	free(gone);
}

/* Sorted uids as few ranges; -1 if there are too many. */
int
imap_uids_ranges(const uint32_t *uids, size_t n, struct mbox_req *q)
{
	size_t	 i;

	q->nranges = 0;
	for (i = 0; i < n; i++) {
		if (q->nranges > 0 &&
		    q->ranges[q->nranges - 1].last + 1 == uids[i]) {
			q->ranges[q->nranges - 1].last = uids[i];
			continue;
		}
		if (q->nranges == MBOX_RANGES_MAX)
			return (-1);
		q->ranges[q->nranges].first = uids[i];
		q->ranges[q->nranges].last = uids[i];
		q->nranges++;
	}
	return (0);
}

/* QRESYNC's report of what vanished before the session knew it. */
void
imap_view_vanished_earlier(struct session *s, const uint32_t *uids,
    size_t n)
{
	if (n == 0)
		return;
	imap_out(s, "* VANISHED (EARLIER) ", 21);
	imap_seqset_write(uids, n, imap_out, s);
	imap_out(s, "\r\n", 2);
}

/*
 * A view that SELECT or EXAMINE built becomes the session's: the
 * mailbox is selected, and up to date.
 */
void
imap_view_select(struct session *s, struct imap_view *v)
{
	struct imap	*im = s->data;

	im->sel.view = v;
	im->conn.state = IMAP_SELECTED;
	im->sel.dirty = 0;
}

/*
 * SEARCHRES (RFC 5182): "$" is now the n sorted uids.  Out of memory,
 * it is an empty set, as for no match.
 */
void
imap_view_save(struct imap_view *v, const uint32_t *uids, size_t n)
{
	free(v->saved);
	v->saved = NULL;
	v->nsaved = 0;
	if (n > 0 && (v->saved = reallocarray(NULL, n,
	    sizeof(*v->saved))) != NULL) {
		memcpy(v->saved, uids, n * sizeof(*uids));
		v->nsaved = n;
	}
	v->saved_valid = 1;
}

/* A search that was to SAVE failed: "$" is empty (RFC 5182 2.1). */
void
imap_view_save_failed(struct imap_view *v)
{
	v->saved_valid = 0;
}

/* SEARCH and SORT with a MODSEQ key: the highest of the matches. */
uint64_t
imap_result_modseq(const struct mbox_result *r)
{
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	uint64_t		 max = 0;

	if (r->status != MBOX_OK)
		return (0);
	mbox_stream_r_init(&rd, r->buf, r->len);
	while (mbox_stream_next_msg(&rd, &m) == 1)
		if (m.modseq > max)
			max = m.modseq;
	return (max);
}

/*
 * The uids of a result (VANISHED, EXPUNGE, SEARCH), those that keep
 * (if not NULL) accepts, sorted; *uidsp is NULL when there are none.
 * -1 if out of memory.
 */
int
imap_result_uids(const struct mbox_result *r, int (*keep)(void *, uint32_t),
    void *arg, uint32_t **uidsp, size_t *np)
{
	struct mbox_stream_r	 rd;

	mbox_stream_r_init(&rd, r->buf, r->len);
	return (imap_stream_uids(&rd, r->count, keep, arg, uidsp, np));
}

/* The same for count uids at the reader's position. */
int
imap_stream_uids(struct mbox_stream_r *rd, uint32_t count,
    int (*keep)(void *, uint32_t), void *arg, uint32_t **uidsp, size_t *np)
{
	uint32_t		*uids, uid;
	size_t			 n = 0;

	*uidsp = NULL;
	*np = 0;
	if (count == 0)
		return (0);
	if ((uids = reallocarray(NULL, count, sizeof(*uids))) == NULL)
		return (-1);
	while (n < count && mbox_stream_next_uid(rd, &uid) == 1)
		if (keep == NULL || keep(arg, uid))
			uids[n++] = uid;
	if (n == 0) {
		free(uids);
		return (0);
	}
	qsort(uids, n, sizeof(*uids), imap_uid_cmp);
	*uidsp = uids;
	*np = n;
	return (0);
}

/*
 * A set argument (sequence numbers, or uids for a UID command, or "$")
 * as uid ranges within the view.  0 with q->nranges > 0; 1 if no
 * message can match (an empty mailbox, say); -1 if malformed or
 * invalid (answered BAD by the caller).
 */
int
imap_view_ranges(struct session *s, const struct imap_arg *a,
    struct mbox_req *q)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct imap_seqset	*set;
	uint32_t		 first, last, maxuid;
	size_t			 i;
	int			 rv = 0;

	q->nranges = 0;
	if (a->type != IMAP_ARG_ATOM)
		return (-1);
	if (strcmp(a->str, "$") == 0) {
		if (!v->saved_valid || v->nsaved == 0)
			return (1);
		if (imap_uids_ranges(v->saved, v->nsaved, q) == -1)
			return (-1);
		return (0);
	}
	if ((set = malloc(sizeof(*set))) == NULL)
		return (-1);
	if (imap_seqset_parse(a->str, set) == -1) {
		free(set);
		return (-1);
	}
	maxuid = v->n > 0 ? v->uids[v->n - 1] : 0;
	for (i = 0; i < set->n; i++) {
		if (im->run.uid) {
			/*
			 * "*" is the last message the session knows; the
			 * number 4294967295 is no uid it knows (RFC 9051
			 * 9), so a range is cut at maxuid.
			 */
			imap_seqset_range(set, i, maxuid, &first, &last);
			if (last > maxuid)
				last = maxuid;
			if (first == 0)
				first = 1;
			if (v->n == 0 || first > last)
				continue;
		} else {
			/* "*" of an empty mailbox: nothing to match. */
			if (v->n == 0 &&
			    (set->star[i] & IMAP_SEQ_STAR_LAST))
				continue;
			imap_seqset_range(set, i, v->n, &first, &last);
			if (first == 0 || last > v->n) {
				/* A number the session never gave out. */
				rv = -1;
				break;
			}
			first = v->uids[first - 1];
			last = v->uids[last - 1];
		}
		q->ranges[q->nranges].first = first;
		q->ranges[q->nranges].last = last;
		q->nranges++;
	}
	free(set);
	if (rv == -1)
		return (-1);
	return (q->nranges == 0 ? 1 : 0);
}

/*
 * \Recent (RFC 3501 2.3.2), for IMAP4rev1 sessions only: the vault
 * keeps per folder the highest uid a session was given as recent; the
 * first session to see a message above it (at SELECT, or when it
 * arrives while selected) moves the mark up to the last message of its
 * view and has those messages as recent.  EXAMINE sees them without
 * moving the mark.  A view keeps them as uid ranges, one per claim
 * (joined when they touch); past IMAP_RECENT_MAX the last range is
 * stretched, which may count as recent a message another session
 * claimed in between.
 */
static void
recent_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct imap_view	*v;
	void			(*cont)(struct session *);
	struct mbox_range	*last;
	uint32_t		 upto;

	/* The view SELECT builds, or the selected one. */
	v = im->sel.recent_view;
	cont = im->sel.recent_cont;
	im->sel.recent_view = NULL;
	im->sel.recent_cont = NULL;
	if (r->status == MBOX_OK && v != NULL && v->n > 0 &&
	    r->a < (upto = v->uids[v->n - 1])) {
		last = v->nrecent > 0 ? &v->recent[v->nrecent - 1] : NULL;
		if (last != NULL && (last->last == r->a ||
		    v->nrecent == IMAP_RECENT_MAX))
			last->last = upto;
		else {
			v->recent[v->nrecent].first = (uint32_t)r->a + 1;
			v->recent[v->nrecent].last = upto;
			v->nrecent++;
		}
	}
	cont(s);
}

void
imap_view_recent(struct session *s, struct imap_view *v,
    void (*cont)(struct session *))
{
	struct imap	*im = s->data;
	struct mbox_req	 q;

	if ((im->conn.enabled & IMAP_EN_REV2) || v->n == 0) {
		cont(s);
		return;
	}
	im->sel.recent_view = v;
	im->sel.recent_cont = cont;
	imap_req_init(s, &q, MBOX_OP_RECENT);
	strlcpy(q.folder, v->name, sizeof(q.folder));
	q.recent.upto = v->uids[v->n - 1];
	q.recent.claim = !v->readonly;
	imap_vault(s, &q, -1, 0, recent_done);
}

/* The first index of the view whose uid is >= uid. */
static uint32_t
view_lower(const struct imap_view *v, uint32_t uid)
{
	uint32_t	 lo = 0, hi = v->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

uint32_t
imap_view_recent_count(const struct imap_view *v)
{
	uint32_t	 n = 0;
	size_t		 i;

	for (i = 0; i < v->nrecent; i++)
		n += view_lower(v, v->recent[i].last + 1) -
		    view_lower(v, v->recent[i].first);
	return (n);
}

/*
 * The keywords in use in the selected mailbox, as FLAGS announces them
 * (RFC 9051 7.3.5): those of its messages at SELECT, then every one a
 * message record brings.  None is withdrawn while the mailbox stays
 * selected (a client may keep offering it); past IMAP_VIEW_KW_MAX the
 * rest go unannounced rather than make FLAGS unbounded.
 *
 * imap_view_keywords(v, list) adds the keywords of a space-separated
 * list; 1 if one was new.
 */
int
imap_view_keywords(struct imap_view *v, const char *list)
{
	const char	*p, *e;
	char		*nk;
	size_t		 len, i, need;
	int		 added = 0;

	/* A list holds at most MBOX_KEYWORDS_MAX: the loop is bounded. */
	for (p = list; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		len = (size_t)(e - p);
		for (i = 0; i < v->nkw; i++)
			if (strlen(v->kw[i]) == len &&
			    strncasecmp(v->kw[i], p, len) == 0)
				break;
		if (i < v->nkw || v->nkw >= IMAP_VIEW_KW_MAX)
			continue;
		need = v->nkw + 1;
		if ((nk = strndup(p, len)) == NULL)
			continue;
		if (need > v->kwcap) {
			char	**a;

			if ((a = reallocarray(v->kw, need * 2,
			    sizeof(*a))) == NULL) {
				free(nk);
				continue;
			}
			v->kw = a;
			v->kwcap = need * 2;
		}
		v->kw[v->nkw++] = nk;
		added = 1;
	}
	return (added);
}

/* "* FLAGS" with the keywords in use, and PERMANENTFLAGS. */
void
imap_view_flags(struct session *s, const struct imap_view *v)
{
	size_t	 i;

	imap_printf(s, "* FLAGS (%s", IMAP_SYSFLAGS);
	for (i = 0; i < v->nkw; i++)
		imap_printf(s, " %s", v->kw[i]);
	imap_printf(s, ")\r\n* OK [PERMANENTFLAGS (");
	if (!v->readonly) {
		imap_printf(s, "%s", IMAP_SYSFLAGS);
		for (i = 0; i < v->nkw; i++)
			imap_printf(s, " %s", v->kw[i]);
		imap_printf(s, " \\*");
	}
	imap_printf(s, ")] Flags permitted\r\n");
}

/*
 * A message record of the selected mailbox is about to be told: if it
 * has a keyword FLAGS never announced, announce it first.
 */
void
imap_view_keywords_seen(struct session *s, const char *list)
{
	struct imap	*im = s->data;

	if (im->sel.view != NULL && imap_view_keywords(im->sel.view, list))
		imap_view_flags(s, im->sel.view);
}

/*
 * "* seq FETCH (UID u FLAGS (...) MODSEQ (m))": a message's flags as
 * an update or a STORE's answer.  uid and modseq are left out when 0.
 */
void
imap_flags_fetch(struct session *s, uint32_t seq,
    const struct mbox_stream_msg *m, int uid, int modseq)
{
	imap_view_keywords_seen(s, m->keywords);
	imap_printf(s, "* %u FETCH (", seq);
	if (uid)
		imap_printf(s, "UID %u ", m->uid);
	imap_out(s, "FLAGS (", 7);
	imap_flags_write(m->flags, m->keywords, imap_out, s);
	if (modseq)
		imap_printf(s, ") MODSEQ (%llu))\r\n",
		    (unsigned long long)m->modseq);
	else
		imap_out(s, "))\r\n", 4);
}


/* -------------------------------------------------------------------
 * Keeping the view in step with the vault.
 */

static void
sync_finish(struct session *s)
{
	struct imap	*im = s->data;
	void		(*cont)(struct session *) = im->sel.cont;

	im->sel.syncing = 0;
	im->sel.cont = NULL;
	cont(s);
}

/*
 * Bring the view up to date in one round trip (MBOX_OP_SYNC): the
 * folder's status, what vanished and what changed since the view's
 * highest modseq.
 */
void
imap_sync(struct session *s, void (*cont)(struct session *))
{
	struct imap		*im = s->data;
	struct mbox_req		 q;

	if (im->sel.view == NULL || !im->sel.dirty || im->sel.syncing) {
		cont(s);
		return;
	}
	im->sel.dirty = 0;
	im->sel.resync = 0;
	im->sel.syncing = 1;
	im->sel.cont = cont;
	imap_req_init(s, &q, MBOX_OP_SYNC);
	strlcpy(q.folder, im->sel.view->name, sizeof(q.folder));
	q.since.modseq = im->sel.view->highestmodseq;
	imap_vault(s, &q, -1, IMAP_LIST_MAX, sync_done);
}

/* The mailbox went away under the session: it cannot go on. */
static void
sync_gone(struct session *s, const char *why)
{
	log_info("imap: session %u: selected mailbox %s", s->id, why);
	imap_printf(s, "* BYE [UNAVAILABLE] The selected mailbox was %s\r\n",
	    why);
	session_close(s);
	sync_finish(s);
}

static void
sync_done(struct session *s, struct mbox_result *r)
{
	struct imap		*im = s->data;
	struct imap_view	*v = im->sel.view;
	struct mbox_stream_r	 rd;
	struct mbox_stream_msg	 m;
	struct mbox_folder	 f;
	uint32_t		*uids, seq, added = 0;
	size_t			 n;
	int			 condstore;

	if (r->status == MBOX_ENOTFOUND) {
		sync_gone(s, "deleted");
		return;
	}
	if (r->status != MBOX_OK || r->a > UINT32_MAX) {
		/* Try again at the next chance. */
		im->sel.dirty = 1;
		sync_finish(s);
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	if (mbox_stream_next_folder(&rd, &f) != 1) {
		sync_finish(s);
		return;
	}
	if (f.info.uidvalidity != v->uidvalidity) {
		sync_gone(s, "replaced");
		return;
	}
	if (f.info.highestmodseq == v->highestmodseq &&
	    f.info.uidnext == v->uidnext) {
		sync_finish(s);
		return;
	}
	if (imap_stream_uids(&rd, (uint32_t)r->a, NULL, NULL, &uids,
	    &n) == -1) {
		im->sel.dirty = 1;
		sync_finish(s);
		return;
	}
	imap_view_expunged(s, uids, n);
	free(uids);

	condstore = (im->conn.enabled & IMAP_EN_CONDSTORE) != 0;
	while (mbox_stream_next_msg(&rd, &m) == 1) {
		if ((seq = imap_view_seq(v, m.uid)) != 0) {
			if (m.modseq <= v->modseqs[seq - 1])
				continue;
			v->modseqs[seq - 1] = m.modseq;
			imap_flags_fetch(s, seq, &m, 1, condstore);
		} else if (v->n == 0 || m.uid > v->uids[v->n - 1]) {
			if (imap_view_add(v, m.uid, m.modseq) == -1)
				break;
			imap_view_keywords_seen(s, m.keywords);
			added++;
		}
	}
	if (f.info.highestmodseq > v->highestmodseq)
		v->highestmodseq = f.info.highestmodseq;
	if (f.info.uidnext > v->uidnext)
		v->uidnext = f.info.uidnext;
	if (added > 0) {
		imap_printf(s, "* %u EXISTS\r\n", v->n);
		/* The new messages may be this session's \Recent. */
		if (!(im->conn.enabled & IMAP_EN_REV2)) {
			imap_view_recent(s, v, sync_recent);
			return;
		}
	}
	sync_finish(s);
}

/* RECENT after EXISTS, for an IMAP4rev1 session (RFC 3501 7.3.2). */
static void
sync_recent(struct session *s)
{
	struct imap	*im = s->data;

	if (im->sel.view != NULL)
		imap_printf(s, "* %u RECENT\r\n",
		    imap_view_recent_count(im->sel.view));
	sync_finish(s);
}

/* IDLE goes on after a sync: another if news came meanwhile. */
static void
imap_idle_synced(struct session *s)
{
	struct imap	*im = s->data;

	/* News that came during the sync. */
	if (im->sel.idling && im->sel.resync) {
		im->sel.resync = 0;
		imap_sync(s, imap_idle_synced);
		return;
	}
	session_release(s);
}

/*
 * The vault says the session's account changed.  With a mailbox
 * selected, the session looks again: at once in IDLE (unless a request
 * is in flight), else at the next allowed point.
 */
void
imap_view_notify(struct session *s)
{
	struct imap	*im = s->data;

	if (im->sel.view == NULL)
		return;
	im->sel.dirty = 1;
	if (im->sel.syncing)
		im->sel.resync = 1;
	else if (im->sel.idling && s->req == 0) {
		session_hold(s);
		imap_sync(s, imap_idle_synced);
	}
}
