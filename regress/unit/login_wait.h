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
 * What vault_test.c and the mailapi fixture share: a login taken to
 * its end.  Static, in a header: the two are linked into different
 * tests, and nothing else wants it.
 */

#ifndef LOGIN_WAIT_H
#define LOGIN_WAIT_H

#include <event.h>
#include <string.h>

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

#endif /* LOGIN_WAIT_H */
