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
 * Sessions: small integers, owned by the front that logged in.  A
 * session holds its account unlocked (account_hold()) until it ends.
 * The table is apart from the logins (vault_auth.c) because more than
 * logins use it: the mailbox requests look their session up, the
 * admin ends the sessions of a deleted account, vaultd.c those of a
 * front that went away, and the notifications walk an account's list.
 */

#include <sys/types.h>

#include <stdlib.h>

#include "vaultd.h"

static struct vault_session	*sessions[VAULT_SESSIONS_MAX];
static uint32_t			 session_next = 1;

uint32_t
session_new(enum proc_role owner, struct vault_account *a)
{
	struct vault_session	*s;
	uint32_t		 i, id;

	for (i = 0; i < VAULT_SESSIONS_MAX; i++) {
		id = session_next++;
		if (session_next >= VAULT_SESSIONS_MAX)
			session_next = 1;
		if (id != 0 && sessions[id] == NULL)
			break;
	}
	if (i == VAULT_SESSIONS_MAX)
		return (0);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (0);
	s->id = id;
	s->owner = owner;
	s->account = a;
	sessions[id] = s;
	TAILQ_INSERT_TAIL(&a->sessions, s, entry);
	account_hold(a);
	return (id);
}

struct vault_session *
session_get(uint32_t id, enum proc_role owner)
{
	if (id == 0 || id >= VAULT_SESSIONS_MAX || sessions[id] == NULL ||
	    sessions[id]->owner != owner)
		return (NULL);
	return (sessions[id]);
}

void
session_end(uint32_t id, enum proc_role owner)
{
	struct vault_session	*s;

	if ((s = session_get(id, owner)) == NULL)
		return;
	sessions[id] = NULL;
	TAILQ_REMOVE(&s->account->sessions, s, entry);
	account_release(s->account);
	free(s);
}

/* An account is being deleted: end every session on it. */
void
session_end_account(struct vault_account *a)
{
	uint32_t	 i;

	for (i = 1; i < VAULT_SESSIONS_MAX; i++)
		if (sessions[i] != NULL && sessions[i]->account == a)
			session_end(i, sessions[i]->owner);
}

/* A front went away: its sessions with it. */
void
session_end_all(enum proc_role owner)
{
	uint32_t	 i;

	for (i = 1; i < VAULT_SESSIONS_MAX; i++)
		if (sessions[i] != NULL && sessions[i]->owner == owner)
			session_end(i, owner);
}
