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
 * What vault_test.c and the mailapi fixture share: a login, and an
 * admin request, taken to their end.  Static, in a header: the two are
 * linked into different tests, and nothing else wants it.
 */

#ifndef LOGIN_WAIT_H
#define LOGIN_WAIT_H

#include <errno.h>
#include <event.h>
#include <string.h>
#include <time.h>

#include "vaultd.h"

/*
 * A login to its end: auth_login() and, when Argon2id is queued on
 * the KDF pool, the event loop until the answer comes back.
 */
struct login_wait {
	int			 done;
	int			 status;
	struct vault_account	*a;
};

static void
login_done(void *arg, uint32_t reqid, int status, struct vault_account *a)
{
	struct login_wait	*w = arg;

	(void)reqid;
	w->done = 1;
	w->status = status;
	w->a = a;
}

static int
login(const char *user, const char *secret, size_t len, const char *narrow,
    const char *wide, struct vault_account **out)
{
	struct login_wait	 w;
	int			 rc;

	memset(&w, 0, sizeof(w));
	rc = auth_login(user, secret, len, narrow, wide, ROLE_IMAPD, 1,
	    login_done, &w, out);
	if (rc != AUTH_PENDING)
		return (rc);
	while (!w.done)
		if (event_loop(EVLOOP_ONCE) == -1)
			return (MBOX_ETEMP);
	*out = w.a;
	return (w.status);
}

/* An admin request as ctld passes it on; NULL strings are empty. */
static inline void
admin_msg(struct msg_admin *m, uint32_t op, const char *a1, const char *a2,
    const char *s1, const char *s2)
{
	memset(m, 0, sizeof(*m));
	m->op = op;
	strlcpy(m->arg1, a1 ? a1 : "", sizeof(m->arg1));
	strlcpy(m->arg2, a2 ? a2 : "", sizeof(m->arg2));
	strlcpy(m->secret, s1 ? s1 : "", sizeof(m->secret));
	strlcpy(m->secret2, s2 ? s2 : "", sizeof(m->secret2));
}

static void
admin_tick(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/*
 * The answer to the one admin request under way on a channel whose
 * vaultd end is iev and whose ctld end is peer: the event loop runs
 * (a tick wakes it, so that a KDF job finished on a worker is seen)
 * until IMSG_CTL_OK or IMSG_CTL_FAIL comes for peerid, at most a
 * minute.  The lines, and a failure's message, go to lines.  Returns
 * 0 for OK, -1 for FAIL, -2 for no answer, a broken channel or an
 * answer for another peer id.
 */
static int
admin_answer(struct imsgev *iev, struct imsgbuf *peer, uint32_t peerid,
    char *lines, size_t len)
{
	struct event		 t;
	struct timeval		 tv = { 0, 20000 };
	struct imsg		 imsg;
	struct msg_line		 ml;
	struct msg_result	 res;
	time_t			 limit;
	ssize_t			 n;
	int			 done = -2, bad = 0;

	lines[0] = '\0';
	limit = time(NULL) + 60;
	evtimer_set(&t, admin_tick, NULL);
	while (done == -2 && !bad && time(NULL) < limit) {
		if (imsgbuf_flush(&iev->ibuf) == -1)
			break;
		n = imsgbuf_read(peer);
		if (n == 0 || (n == -1 && errno != EAGAIN))
			break;
		while (done == -2 && !bad && (n = imsg_get(peer, &imsg)) > 0) {
			if (imsg.hdr.peerid != peerid)
				bad = 1;
			else if (imsg.hdr.type == IMSG_CTL_LINE &&
			    imsg_get_data(&imsg, &ml, sizeof(ml)) == 0) {
				strlcat(lines, ml.line, len);
				strlcat(lines, "\n", len);
			} else if (imsg.hdr.type == IMSG_CTL_OK)
				done = 0;
			else if (imsg.hdr.type == IMSG_CTL_FAIL &&
			    imsg_get_data(&imsg, &res, sizeof(res)) == 0) {
				strlcat(lines, res.message, len);
				done = -1;
			} else
				bad = 1;
			imsg_free(&imsg);
		}
		if (n == -1 || done != -2 || bad)
			break;
		evtimer_add(&t, &tv);
		if (event_loop(EVLOOP_ONCE) == -1)
			break;
	}
	evtimer_del(&t);
	return (bad ? -2 : done);
}

#endif /* LOGIN_WAIT_H */
