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
 * Logins.
 *
 * A login names an account and gives one of its credentials: the
 * password, an app password or the recovery key.  If the account is
 * unlocked and the credential is one that unlocked it before, a keyed
 * hash of it (the verifier) answers without Argon2id; otherwise the
 * credential must unwrap the keyslot its shape points to, which unlocks
 * the account.  Failures are counted per account and per client
 * prefix, narrow (the address; an IPv6 /64) and wide (its IPv4 /24 or
 * IPv6 /48): past the limits, logins are refused without being checked
 * for a while.  An unknown account costs the same Argon2id run as a
 * known one, so timing does not tell which addresses exist.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "vaultd.h"

/*
 * The kinds of name counted, each with its limit, and how audit lines
 * name it: an account, or a client prefix by its key (netprefix.h).
 */
enum limit_kind {
	LIMIT_ACCOUNT,
	LIMIT_NARROW,
	LIMIT_WIDE,
	LIMIT_KINDS
};

static const struct {
	const char	*name;		/* in the tree's keys and audit lines */
	const char	*level;		/* the limit=, in audit lines */
	unsigned int	 max;
} limit_kinds[LIMIT_KINDS] = {
	[LIMIT_ACCOUNT] = { "account", "account", AUTH_ACCOUNT_FAILS },
	[LIMIT_NARROW] = { "client", "per-address", AUTH_NARROW_FAILS },
	[LIMIT_WIDE] = { "network", "per-network", AUTH_WIDE_FAILS }
};

/* One tracked name: an account address or a client prefix's key. */
struct limit {
	RB_ENTRY(limit)	 entry;
	char		 key[ADDRESS_MAX + 2];
	unsigned int	 fails;
	time_t		 first;		/* start of the counting window */
	time_t		 until;		/* locked out until */
};
RB_HEAD(limit_tree, limit);

static int	 limit_cmp(struct limit *, struct limit *);
RB_PROTOTYPE_STATIC(limit_tree, limit, entry, limit_cmp);
RB_GENERATE_STATIC(limit_tree, limit, entry, limit_cmp);

static struct limit_tree	 limits = RB_INITIALIZER(&limits);
static unsigned int		 nlimits;

static int
limit_cmp(struct limit *a, struct limit *b)
{
	return (strcmp(a->key, b->key));
}

/* Forget entries whose window and lockout are over. */
static void
limit_expire(time_t now)
{
	struct limit	*l, *next;

	RB_FOREACH_SAFE(l, limit_tree, &limits, next) {
		if (now - l->first > AUTH_WINDOW && now >= l->until) {
			RB_REMOVE(limit_tree, &limits, l);
			free(l);
			nlimits--;
		}
	}
}

static struct limit *
limit_get(enum limit_kind kind, const char *name, int create)
{
	struct limit	 key, *l;

	snprintf(key.key, sizeof(key.key), "%s:%s", limit_kinds[kind].name,
	    name);
	if ((l = RB_FIND(limit_tree, &limits, &key)) != NULL || !create)
		return (l);
	if (nlimits >= AUTH_TRACKED_MAX)
		limit_expire(time(NULL));
	if (nlimits >= AUTH_TRACKED_MAX || (l = calloc(1, sizeof(*l))) ==
	    NULL)
		return (NULL);
	strlcpy(l->key, key.key, sizeof(l->key));
	RB_INSERT(limit_tree, &limits, l);
	nlimits++;
	return (l);
}

static int
limit_locked(enum limit_kind kind, const char *name, time_t now)
{
	struct limit	*l;

	return ((l = limit_get(kind, name, 0)) != NULL && now < l->until);
}

/* Count a failure; 1 when this one starts a lockout. */
static int
limit_fail(enum limit_kind kind, const char *name, time_t now)
{
	struct limit	*l;
	unsigned int	 max = limit_kinds[kind].max;

	if ((l = limit_get(kind, name, 1)) == NULL)
		return (0);
	if (now - l->first > AUTH_WINDOW) {
		l->first = now;
		l->fails = 0;
	}
	if (++l->fails >= max && now >= l->until) {
		l->until = now + AUTH_LOCKOUT;
		l->fails = 0;
		l->first = now;
		return (1);
	}
	return (0);
}

static void
limit_clear(enum limit_kind kind, const char *name)
{
	struct limit	*l;

	if ((l = limit_get(kind, name, 0)) != NULL) {
		RB_REMOVE(limit_tree, &limits, l);
		free(l);
		nlimits--;
	}
}

/* The first kind of the three whose name is locked out, or -1. */
static int
limit_locked_any(const char *account, const char *narrow, const char *wide,
    time_t now)
{
	if (limit_locked(LIMIT_ACCOUNT, account, now))
		return (LIMIT_ACCOUNT);
	if (limit_locked(LIMIT_NARROW, narrow, now))
		return (LIMIT_NARROW);
	if (limit_locked(LIMIT_WIDE, wide, now))
		return (LIMIT_WIDE);
	return (-1);
}

/*
 * A failed login counts against the account and both prefixes; each
 * name that this failure locks out is an audit line, naming the name
 * (as logged: safe) and the limit.
 */
static void
limit_fail_all(const char *account, const char *safe, const char *narrow,
    const char *cn, const char *wide, const char *cw, time_t now)
{
	const char	*names[LIMIT_KINDS] = { account, narrow, wide };
	const char	*shown[LIMIT_KINDS] = { safe, cn, cw };
	int		 k;

	for (k = 0; k < LIMIT_KINDS; k++) {
		if (!limit_fail(k, names[k], now))
			continue;
		log_audit("auth-lockout", "%s=%s limit=%s seconds=%d",
		    limit_kinds[k].name, shown[k], limit_kinds[k].level,
		    AUTH_LOCKOUT);
	}
}

/* One Argon2id run that opens nothing: the time a real check takes. */
static void
auth_dummy(const char *secret, size_t len)
{
	struct keyslot	 dummy;
	unsigned char	 id[ACCOUNT_ID_LEN];

	memset(&dummy, 0, sizeof(dummy));
	dummy.cost = *serverkeys_cost();
	randombytes_buf(dummy.salt, sizeof(dummy.salt));
	randombytes_buf(id, sizeof(id));
	keys_secrets_free(keys_slot_unwrap(&dummy, secret, len, id, 0));
}

/*
 * The one keyslot a credential may open, chosen by its shape: a
 * recovery key (52 base32 digits) the recovery slot; an app password
 * the app slot its hint names; anything else the password slot.  So a
 * check costs one Argon2id run, found or not, and an unknown account
 * costs the same.  With AUTH_NO_APP an app password opens nothing:
 * changes to the account need its password or recovery key.
 */
int
auth_unwrap(const char *user, const char *secret, size_t len, int flags,
    struct dir_account *da, struct account_secrets **out)
{
	struct dir_slot		 slots[SLOTS_MAX];
	struct dir_slot		*target = NULL;
	struct account_secrets	*s;
	unsigned char		 hint[HINT_LEN];
	char			 norm[RECOVERY_TEXT_LEN];
	const char		*cred = secret;
	size_t			 n, i, credlen = len;
	enum slot_kind		 kind = SLOT_PASSWORD;
	int			 rc;

	*out = NULL;
	if ((rc = dir_account_get(user, da)) != DIR_OK) {
		auth_dummy(secret, len);
		return (rc == DIR_ENOTFOUND ? DIR_EDENIED : rc);
	}
	if ((rc = dir_slots(da->id, slots, SLOTS_MAX, &n)) != DIR_OK)
		return (rc);
	if (keys_recovery_normalise(secret, norm, sizeof(norm)) == 0) {
		kind = SLOT_RECOVERY;
		cred = norm;
		credlen = strlen(norm);
	} else if (keys_apppass_shaped(secret)) {
		kind = SLOT_APP;
		keys_hint(serverkeys_server(), da->id, secret, len, hint);
	}
	for (i = 0; i < n && i < SLOTS_MAX && target == NULL; i++) {
		if (slots[i].kind != kind)
			continue;
		if (kind == SLOT_APP && sodium_memcmp(slots[i].hint, hint,
		    HINT_LEN) != 0)
			continue;
		target = &slots[i];
	}
	if (kind == SLOT_APP && (flags & AUTH_NO_APP))
		target = NULL;
	if (target == NULL) {
		auth_dummy(cred, credlen);
		s = NULL;
	} else
		s = keys_slot_unwrap(&target->ks, cred, credlen, da->id,
		    target->slot_id);
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(slots, sizeof(slots));
	if (s == NULL)
		return (DIR_EDENIED);
	*out = s;
	return (DIR_OK);
}

/*
 * A credential was revoked or replaced: an unlocked account forgets
 * every verifier, so the old one cannot log in again meanwhile.
 */
void
auth_forget(const unsigned char *id)
{
	struct vault_account	*a;

	if ((a = account_unlocked(id)) == NULL)
		return;
	sodium_memzero(a->verifiers, VAULT_VERIFIERS_MAX * KEY_LEN);
	a->nverifiers = 0;
}

/* A verifier the account remembers: the credential unlocked it before. */
static int
verifier_known(struct vault_account *a, const unsigned char *v)
{
	unsigned int	 i;
	int		 found = 0;

	for (i = 0; i < a->nverifiers; i++)
		found |= sodium_memcmp(a->verifiers + i * KEY_LEN, v,
		    KEY_LEN) == 0;
	return (found);
}

static void
verifier_remember(struct vault_account *a, const unsigned char *v)
{
	if (verifier_known(a, v))
		return;
	if (a->nverifiers == VAULT_VERIFIERS_MAX) {
		memmove(a->verifiers, a->verifiers + KEY_LEN,
		    (VAULT_VERIFIERS_MAX - 1) * KEY_LEN);
		a->nverifiers--;
	}
	memcpy(a->verifiers + a->nverifiers * KEY_LEN, v, KEY_LEN);
	a->nverifiers++;
}

/*
 * Check a login.  Returns MBOX_OK with the unlocked account, or
 * MBOX_EAUTH, MBOX_ELOCKED or MBOX_ETEMP.  Every failure and lockout is
 * an audit line; the credential never appears in any log.
 */
int
auth_login(const char *user, const char *secret, size_t len,
    const char *narrow, const char *wide, struct vault_account **out)
{
	struct dir_account	 da;
	struct account_secrets	*s;
	struct vault_account	*a;
	unsigned char		 v[KEY_LEN];
	char			 u[ADDRESS_MAX], safe[ADDRESS_MAX];
	char			 cn[NETPREFIX_KEY_MAX], cw[NETPREFIX_KEY_MAX];
	time_t			 now = time(NULL);
	int			 rc, locked;

	*out = NULL;
	if (!dir_address_valid(user, u, sizeof(u)))
		strlcpy(u, "(invalid)", sizeof(u));
	log_sanitize(safe, sizeof(safe), u);
	log_sanitize(cn, sizeof(cn), narrow);
	log_sanitize(cw, sizeof(cw), wide);
	if ((locked = limit_locked_any(u, narrow, wide, now)) != -1) {
		log_audit("auth-refused", "account=%s client=%s network=%s "
		    "reason=locked-out limit=%s", safe, cn, cw,
		    limit_kinds[locked].level);
		return (MBOX_ELOCKED);
	}
	if (len == 0 || len >= MSG_SECRET_MAX)
		goto fail;

	/* An unlocked account may know this credential already. */
	if (dir_account_get(u, &da) == DIR_OK &&
	    (a = account_unlocked(da.id)) != NULL) {
		keys_verifier(serverkeys_verifier(), da.id, secret, len, v);
		if (verifier_known(a, v)) {
			sodium_memzero(v, sizeof(v));
			goto ok;
		}
	}

	if ((rc = auth_unwrap(u, secret, len, 0, &da, &s)) == DIR_EDENIED)
		goto fail;
	if (rc != DIR_OK)
		return (MBOX_ETEMP);
	if (account_unlock(&da, s, &a) == -1)
		return (MBOX_ETEMP);
	keys_verifier(serverkeys_verifier(), da.id, secret, len, v);
	verifier_remember(a, v);
	sodium_memzero(v, sizeof(v));
 ok:
	limit_clear(LIMIT_ACCOUNT, u);
	log_audit("auth-success", "account=%s client=%s network=%s", safe,
	    cn, cw);
	*out = a;
	return (0);
 fail:
	log_audit("auth-failure", "account=%s client=%s network=%s", safe,
	    cn, cw);
	limit_fail_all(u, safe, narrow, cn, wide, cw, now);
	return (MBOX_EAUTH);
}
