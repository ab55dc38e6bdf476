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
 * Telling the fronts' sessions that their mailbox changed.  The
 * account layer (vault_account.c) only reports a committed change,
 * through the callback vaultd.c registers with account_on_change();
 * what the fronts are sent, and over which channel, is decided here.
 * Not in vaultd.c itself: that file is left out of libvaultd, and the
 * unit tests (mailapi_folder_test) check the very messages sent here.
 */

#include <sys/types.h>

#include <string.h>

#include "log.h"
#include "vaultd.h"

/* Where the notifications for each front's sessions go, if anywhere. */
static struct imsgev	*fronts[ROLE_COUNT];

/* The channel to the front of a role, for notifications; or NULL. */
void
notify_set_front(enum proc_role role, struct imsgev *iev)
{
	if ((unsigned int)role < ROLE_COUNT)
		fronts[role] = iev;
}

/*
 * Tell every session on the account, the one that made the change too,
 * that it should look again: one IMSG_MBOX_NOTIFY each, to the front
 * that holds it.  Sessions of a front that has no channel set here
 * (smtpd's, which only submit) get none.
 */
void
notify_account(struct vault_account *a)
{
	struct vault_session	*s;
	struct msg_session	 m;
	struct imsgev		*iev;
	unsigned int		 n = 0;

	TAILQ_FOREACH(s, &a->sessions, entry) {
		if ((unsigned int)s->owner >= ROLE_COUNT ||
		    (iev = fronts[s->owner]) == NULL)
			continue;
		memset(&m, 0, sizeof(m));
		m.session = s->id;
		if (imsgev_compose(iev, IMSG_MBOX_NOTIFY, 0, -1, &m,
		    sizeof(m)) == 0)
			n++;
	}
	if (n > 0)
		log_debug("%s: changed; %u session%s notified", a->address,
		    n, n == 1 ? "" : "s");
}
