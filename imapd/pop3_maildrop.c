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
 * The POP3 maildrop in the vault (RFC 1939).  At the login it is listed
 * once, STATUS for its UIDVALIDITY then the uid and size of every
 * message, numbered 1..n for the whole session.  At QUIT, the UPDATE
 * state flags exactly the DELE'd uids \Deleted and expunges exactly
 * those, in batches of ranges that hold no other uid, undoing its own
 * flags after a failure; it runs apart from the session, so that a
 * client that goes without waiting still gets its deletions.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mbox_stream.h"
#include "pop3_local.h"

static void	 pop3_status_done(void *, struct mbox_result *);
static void	 pop3_fetch_done(void *, struct mbox_result *);
static int	 pop3_listing(struct pop3 *, const void *, size_t, uint32_t);
static void	 pop3_open_failed(struct session *, const char *, int);

static void	 upd_step(struct pop3_update *);
static size_t	 upd_batch(struct pop3_update *, struct mbox_range *);
static void	 upd_done(void *, struct mbox_result *);
static void	 upd_finish(struct pop3_update *);
static void	 upd_free(struct pop3_update *);

/* The request being sent; mbox_client_send() encodes it at once. */
static struct mbox_req		 pop3_req;

/* -------------------------------------------------------------------
 * Listing the maildrop.
 */

/* One mailbox request on INBOX for the session's vault session. */
uint32_t
pop3_mbox_request(struct mbox_client *c, uint32_t vsession, uint32_t op,
    uint32_t flags, const struct mbox_range *ranges, uint32_t nranges,
    uint32_t store_op, size_t max, mbox_client_cb cb, void *arg)
{
	memset(&pop3_req, 0, sizeof(pop3_req));
	pop3_req.session = vsession;
	pop3_req.op = op;
	if (nranges > MBOX_RANGES_MAX)
		return (0);
	switch (op) {
	case MBOX_OP_FETCH:
		pop3_req.fetch.how = flags;
		break;
	case MBOX_OP_STORE:
		pop3_req.store.op = store_op;
		pop3_req.store.flags = flags;
		break;
	case MBOX_OP_BODY:
		/* One message: its uid is the one range's. */
		if (nranges != 1)
			return (0);
		pop3_req.body.uid = ranges[0].first;
		nranges = 0;
		break;
	default:
		break;
	}
	pop3_req.nranges = nranges;
	if (nranges > 0)
		memcpy(pop3_req.ranges, ranges, nranges * sizeof(*ranges));
	strlcpy(pop3_req.folder, INBOX, sizeof(pop3_req.folder));
	return (mbox_client_send(c, &pop3_req, NULL, -1, max, cb, arg));
}

/* Logged in: list the maildrop, STATUS first for its UIDVALIDITY. */
void
pop3_maildrop_open(struct session *s)
{
	struct pop3	*p = s->data;

	s->req = pop3_mbox_request(&p->mc, p->vsession, MBOX_OP_STATUS, 0,
	    NULL, 0, 0, POP3_STATUS_MAX, pop3_status_done, s);
	if (s->req == 0)
		pop3_open_failed(s, "the vault is not reachable", 0);
}

static void
pop3_status_done(void *arg, struct mbox_result *res)
{
	struct session			*s = arg;
	struct pop3			*p = s->data;
	struct mbox_stream_r		 r;
	struct mbox_folder		 f;
	struct mbox_range		 all;
	int				 rc;

	s->req = 0;
	if (res->error != 0 && res->error != ENOTCONN) {
		errno = res->error;
		log_warn("pop3: session %u: status result", s->id);
		pop3_open_failed(s, "status unreadable", 0);
		return;
	}
	if (res->status != MBOX_OK || res->buf == NULL) {
		pop3_open_failed(s, "status failed", 0);
		return;
	}
	mbox_stream_r_init(&r, res->buf, res->len);
	rc = mbox_stream_next_folder(&r, &f);
	if (rc != 1 || f.info.uidvalidity == 0) {
		pop3_open_failed(s, "malformed status", 0);
		return;
	}
	p->uidvalidity = f.info.uidvalidity;
	all.first = 1;
	all.last = UINT32_MAX;
	s->req = pop3_mbox_request(&p->mc, p->vsession, MBOX_OP_FETCH,
	    MBOX_FETCH_NOMETA, &all, 1, 0, POP3_LISTING_MAX, pop3_fetch_done,
	    s);
	if (s->req == 0)
		pop3_open_failed(s, "the vault is not reachable", 0);
}

static void
pop3_fetch_done(void *arg, struct mbox_result *res)
{
	struct session		*s = arg;
	struct pop3		*p = s->data;
	const struct msg_front	*conf = front_conf();
	unsigned int		 idle;
	int			 rc;

	s->req = 0;
	if (res->error == ENOTCONN ||
	    (res->error == 0 && (res->status != MBOX_OK || res->buf == NULL))) {
		pop3_open_failed(s, "fetch failed", 0);
		return;
	}
	if (res->count > POP3_MSGS_MAX) {
		pop3_open_failed(s, "too many messages", 1);
		return;
	}
	if (res->error != 0) {
		rc = res->error == EFBIG;
		errno = res->error;
		log_warn("pop3: session %u: fetch result", s->id);
		pop3_open_failed(s, rc ? "listing too large" :
		    "fetch unreadable", rc);
		return;
	}
	rc = pop3_listing(p, res->buf, res->len, res->count);
	if (rc == -1) {
		pop3_open_failed(s, "malformed listing", 0);
		return;
	}
	p->state = POP3_TRANSACTION;
	/* At least 10 minutes once logged in (RFC 1939 3). */
	idle = conf->limits.timeout_idle;
	if (idle != 0 && idle < POP3_IDLE_MIN)
		idle = POP3_IDLE_MIN;
	session_set_timeouts(s, idle, conf->limits.timeout_session);
	log_info("pop3: session %u: maildrop of %u messages", s->id,
	    p->nmsgs);
	session_printf(s, "+OK Logged in, %u messages (%llu octets)\r\n",
	    p->nmsgs, (unsigned long long)p->size);
	session_release(s);
}

/* The FETCH records: uids ascending, sizes. */
static int
pop3_listing(struct pop3 *p, const void *buf, size_t len, uint32_t count)
{
	struct mbox_stream_r	 r;
	struct mbox_stream_msg	*m;
	struct pop3_msg		*msgs;
	uint64_t		 total = 0;
	uint32_t		 n = 0, last = 0;
	int			 rc, ret = -1;

	if ((m = malloc(sizeof(*m))) == NULL) {
		log_warn("%s", __func__);
		return (-1);
	}
	if ((msgs = calloc(count > 0 ? count : 1, sizeof(*msgs))) == NULL) {
		log_warn("%s", __func__);
		free(m);
		return (-1);
	}
	mbox_stream_r_init(&r, buf, len);
	while ((rc = mbox_stream_next_msg(&r, m)) == 1) {
		if (n == count || m->uid <= last ||
		    m->size > UINT64_MAX - total) {
			log_warnx("%s: bad record", __func__);
			goto out;
		}
		msgs[n].uid = last = m->uid;
		msgs[n].size = m->size;
		msgs[n].flags = (m->flags & MAILFLAG_DELETED) ?
		    MSG_WAS_DELETED : 0;
		total += m->size;
		n++;
	}
	if (rc == -1 || n != count) {
		log_warnx("%s: malformed listing", __func__);
		goto out;
	}
	free(p->msgs);
	p->msgs = msgs;
	msgs = NULL;
	p->nmsgs = n;
	p->ndele = 0;
	p->size = total;
	ret = 0;
 out:
	free(msgs);
	explicit_bzero(m, sizeof(*m));
	free(m);
	return (ret);
}

/*
 * Logged in, but no maildrop: back to AUTHORIZATION (RFC 1939 7).
 * perm: it will not work later either (too large to list).
 */
static void
pop3_open_failed(struct session *s, const char *why, int perm)
{
	struct pop3		*p = s->data;

	log_warnx("pop3: session %u: cannot open the maildrop: %s", s->id,
	    why);
	if (p->vsession != 0) {
		pop3_logout(s->id, p->vsession);
		p->vsession = 0;
	}
	if (perm)
		session_printf(s, "-ERR [SYS/PERM] The maildrop is too large "
		    "for POP3\r\n");
	else
		session_printf(s, "-ERR [SYS/TEMP] Cannot open the maildrop; "
		    "try again later\r\n");
	session_release(s);
}

/* -------------------------------------------------------------------
 * The UPDATE state.
 */

/* QUIT with messages DELE'd: the UPDATE state. */
void
pop3_update_start(struct session *s)
{
	struct pop3		*p = s->data;
	struct pop3_update	*u;
	uint32_t		 i;
	size_t			 k = 0;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->uids = calloc(p->ndele, sizeof(*u->uids))) == NULL ||
	    (u->flags = calloc(p->ndele, sizeof(*u->flags))) == NULL) {
		log_warn("%s", __func__);
		upd_free(u);
		session_printf(s, "-ERR [SYS/TEMP] Some deleted messages not "
		    "removed\r\n");
		session_close(s);
		return;
	}
	for (i = 0; i < p->nmsgs && k < p->ndele; i++) {
		if ((p->msgs[i].flags & MSG_DELE) == 0)
			continue;
		u->uids[k] = p->msgs[i].uid;
		u->flags[k] = p->msgs[i].flags & MSG_WAS_DELETED;
		k++;
	}
	u->nuids = k;
	u->s = s;
	u->id = s->id;
	u->vsession = p->vsession;
	u->phase = UPD_STORE;
	p->vsession = 0;
	p->update = u;
	p->state = POP3_UPDATE;
	session_hold(s);
	upd_step(u);
}

/*
 * The next batch of the phase: ranges of consecutive uids (so that no
 * uid we did not DELE is ever inside one), at most MBOX_RANGES_MAX.
 * In UPD_UNDO only the uids we flagged.  The count of ranges, 0 when
 * the phase has no more.
 */
static size_t
upd_batch(struct pop3_update *u, struct mbox_range *r)
{
	size_t	 i, n = 0;

	for (i = u->pos; i < u->nuids; i++) {
		if (u->phase == UPD_UNDO && (u->flags[i] & MSG_OURS) == 0)
			continue;
		if (n > 0 && r[n - 1].last != UINT32_MAX &&
		    u->uids[i] == r[n - 1].last + 1) {
			r[n - 1].last = u->uids[i];
			continue;
		}
		if (n == MBOX_RANGES_MAX)
			break;
		r[n].first = r[n].last = u->uids[i];
		n++;
	}
	u->next = i;
	return (n);
}

static void
upd_step(struct pop3_update *u)
{
	struct mbox_range	 r[MBOX_RANGES_MAX];
	size_t			 n;

	for (;;) {
		if ((n = upd_batch(u, r)) > 0)
			break;
		/* This phase is done. */
		if (u->phase == UPD_STORE) {
			u->phase = UPD_EXPUNGE;
			u->pos = 0;
			continue;
		}
		upd_finish(u);
		return;
	}
	if (u->phase == UPD_EXPUNGE)
		u->req = pop3_mbox_request(&u->mc, u->vsession,
		    MBOX_OP_EXPUNGE, 0, r, (uint32_t)n, 0, 0, upd_done, u);
	else
		u->req = pop3_mbox_request(&u->mc, u->vsession,
		    MBOX_OP_STORE, MAILFLAG_DELETED, r, (uint32_t)n,
		    u->phase == UPD_STORE ? STORE_ADD : STORE_REMOVE, 0,
		    upd_done, u);
	if (u->req == 0) {
		log_warnx("pop3: session %u: update: the vault is not "
		    "reachable", u->id);
		u->failed = 1;
		upd_finish(u);
	}
}

/* One batch answered. */
static void
upd_done(void *arg, struct mbox_result *res)
{
	struct pop3_update	*u = arg;
	struct mbox_stream_r	 r;
	struct mbox_stream_msg	*m = NULL;
	void			*buf = NULL;
	size_t			 len = 0, i, lo, hi, mid;
	int			 fd, st, rc = -1;

	u->req = 0;
	/* No answer: as before the client, -1. */
	st = res->error == ENOTCONN ? -1 : res->status;
	fd = res->fd;
	res->fd = -1;
	if (st == MBOX_OK && u->phase == UPD_STORE) {
		/* Which uids we flagged: those to unflag after a failure. */
		if (fd != -1 && (m = malloc(sizeof(*m))) != NULL &&
		    mbox_stream_read_fd(fd, POP3_LISTING_MAX, &buf, &len) ==
		    0) {
			mbox_stream_r_init(&r, buf, len);
			while ((rc = mbox_stream_next_msg(&r, m)) == 1) {
				lo = u->pos;
				hi = u->next;
				while (lo < hi) {
					mid = lo + (hi - lo) / 2;
					if (u->uids[mid] < m->uid)
						lo = mid + 1;
					else
						hi = mid;
				}
				if (lo < u->next && u->uids[lo] == m->uid)
					u->flags[lo] |= MSG_OURS;
			}
		}
		if (rc == -1) {
			/* Unreadable: fall back to the flags at login. */
			log_warnx("pop3: session %u: update: bad store "
			    "result", u->id);
			for (i = u->pos; i < u->next; i++)
				if ((u->flags[i] & MSG_WAS_DELETED) == 0)
					u->flags[i] |= MSG_OURS;
		}
		mbox_stream_free(buf, len);
		free(m);
	} else if (st == MBOX_OK && u->phase == UPD_EXPUNGE)
		u->expunged += res->count;
	if (fd != -1)
		close(fd);

	if (st == MBOX_OK) {
		u->pos = u->next;
		upd_step(u);
		return;
	}
	log_warnx("pop3: session %u: update: %s failed (status %d)", u->id,
	    u->phase == UPD_EXPUNGE ? "expunge" : "store", st);
	if (u->phase == UPD_UNDO || st == -1 || st == MBOX_ESESSION) {
		/* Nothing more can be done in this vault session. */
		u->failed = 1;
		upd_finish(u);
		return;
	}
	u->failed = 1;
	u->phase = UPD_UNDO;
	u->pos = 0;
	upd_step(u);
}

/* The answer to QUIT, then the end of the vault session. */
static void
upd_finish(struct pop3_update *u)
{
	struct session		*s = u->s;

	if (u->failed)
		log_warnx("pop3: session %u: update failed, %llu of %zu "
		    "messages expunged", u->id,
		    (unsigned long long)u->expunged, u->nuids);
	else
		log_info("pop3: session %u: %llu messages expunged", u->id,
		    (unsigned long long)u->expunged);
	pop3_logout(u->id, u->vsession);
	if (s != NULL) {
		((struct pop3 *)s->data)->update = NULL;
		if (u->failed)
			session_printf(s, "-ERR [SYS/TEMP] Some deleted "
			    "messages not removed\r\n");
		else
			session_printf(s, "+OK Bye (%zu messages deleted)"
			    "\r\n", u->nuids);
		session_close(s);
	}
	upd_free(u);
}

static void
upd_free(struct pop3_update *u)
{
	if (u == NULL)
		return;
	free(u->uids);
	free(u->flags);
	free(u);
}
