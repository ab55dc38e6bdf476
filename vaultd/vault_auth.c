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
 *
 * A login that needs Argon2id runs in three steps: here on the loop
 * the limits, the verifier, the directory and the choice of keyslot;
 * then the derivation on a KDF worker (vault_kdf.c), with a copy of
 * the credential; then, back on the loop, the keyslot's AEAD open, the
 * unlock, the limits and the audit line.  The derivation leaves the
 * loop, and so does the unlock's slow part: a locked account's mailbox
 * is opened and checked on a mailbox worker (account_unlock()), and
 * the login waits for that (its fourth step, auth_unlocked()).  The
 * directory and the limits are touched by the loop alone.
 */

#include <sys/types.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "vaultd.h"

/*
 * Who asks: the client's prefix keys (netprefix.h) as the front sent
 * them, for the limits, and as audit lines show them.
 */
struct auth_client {
	char			 narrow[NETPREFIX_KEY_MAX];
	char			 wide[NETPREFIX_KEY_MAX];
	char			 cn[NETPREFIX_KEY_MAX];
	char			 cw[NETPREFIX_KEY_MAX];
};

/* A login waiting for its Argon2id run, then for its mailbox's open. */
struct auth_pending {
	TAILQ_ENTRY(auth_pending) entry;
	struct kdf_job		*job;		/* until derived */
	int			 opening;	/* then waiting for the
						 * mailbox (waiter) */
	struct account_waiter	 waiter;
	enum proc_role		 owner;		/* the front that asked */
	uint32_t		 reqid;
	auth_done_cb		 done;
	void			*arg;
	int			 dummy;		/* no slot: it must fail */
	struct dir_slot		 slot;		/* a copy; nothing secret */
	unsigned char		 id[ACCOUNT_ID_LEN];
	unsigned char		*verifier;	/* KEY_LEN, sodium_malloc'd */
	char			 user[ADDRESS_MAX];
	char			 safe[ADDRESS_MAX];
	struct auth_client	 c;
};

static TAILQ_HEAD(, auth_pending) pending =
    TAILQ_HEAD_INITIALIZER(pending);

/*
 * The kinds of name counted, each with its limit, and how audit lines
 * name it: an account, or a client prefix by its key (netprefix.h).
 */
enum limit_kind {
	LIMIT_ACCOUNT,
	LIMIT_NARROW,
	LIMIT_WIDE,
	LIMIT_KINDS,			/* the kinds that count failures */
	LIMIT_TRUSTED = LIMIT_KINDS	/* an account's known client */
};

static const struct {
	const char	*name;		/* in the tree's keys and audit lines */
	const char	*level;		/* the limit=, in audit lines */
	unsigned int	 max;
} limit_kinds[LIMIT_KINDS + 1] = {
	[LIMIT_ACCOUNT] = { "account", "account", AUTH_ACCOUNT_FAILS },
	[LIMIT_NARROW] = { "client", "per-address", AUTH_NARROW_FAILS },
	[LIMIT_WIDE] = { "network", "per-network", AUTH_WIDE_FAILS },
	[LIMIT_TRUSTED] = { "trusted", "trusted", 0 }
};

/*
 * One tracked name: an account on a network ("address|wide key"), a
 * client prefix's key, or an account and an address it logged in from
 * (LIMIT_TRUSTED, kept until `until').
 */
struct limit {
	RB_ENTRY(limit)	 entry;
	char		 key[16 + ADDRESS_MAX + NETPREFIX_KEY_MAX];
	unsigned int	 fails;
	time_t		 first;		/* start of the counting window */
	time_t		 until;		/* locked out until */
};
RB_HEAD(limit_tree, limit);

static int	 limit_cmp(struct limit *, struct limit *);
static void	 auth_derived(void *, int, const unsigned char *);
static void	 auth_unlocked(void *, struct vault_account *);
static void	 auth_finish(struct auth_pending *, int, struct vault_account *);
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

/*
 * The name an account's failures are counted under: the account on the
 * client's network.  A lockout then stops the network that guessed, not
 * the account's owner elsewhere (issue 14: five wrong passwords from
 * anywhere used to lock the real user out).
 */
static void
limit_account_name(char *buf, size_t len, const char *account,
    const char *wide)
{
	(void)snprintf(buf, len, "%s|%s", account, wide);
}

/* Has the account logged in from this address, lately? */
static int
limit_trusted(const char *account, const char *narrow, time_t now)
{
	char	 name[ADDRESS_MAX + NETPREFIX_KEY_MAX + 2];

	(void)snprintf(name, sizeof(name), "%s|%s", account, narrow);
	return (limit_locked(LIMIT_TRUSTED, name, now));
}

/* A success: the account knows this address for AUTH_TRUST seconds. */
static void
limit_trust(const char *account, const char *narrow, time_t now)
{
	struct limit	*l;
	char		 name[ADDRESS_MAX + NETPREFIX_KEY_MAX + 2];

	(void)snprintf(name, sizeof(name), "%s|%s", account, narrow);
	if ((l = limit_get(LIMIT_TRUSTED, name, 1)) != NULL) {
		l->first = now;
		l->until = now + AUTH_TRUST;
	}
}

/*
 * The first kind whose name is locked out, or -1.  An address the
 * account logged in from before is not held back by the account's
 * lockout or its network's (someone else on the network guessing),
 * only by its own address's.
 */
static int
limit_locked_any(const char *account, const char *narrow, const char *wide,
    time_t now)
{
	char	 name[ADDRESS_MAX + NETPREFIX_KEY_MAX + 2];
	int	 trusted;

	trusted = limit_trusted(account, narrow, now);
	limit_account_name(name, sizeof(name), account, wide);
	if (!trusted && limit_locked(LIMIT_ACCOUNT, name, now))
		return (LIMIT_ACCOUNT);
	if (limit_locked(LIMIT_NARROW, narrow, now))
		return (LIMIT_NARROW);
	if (!trusted && limit_locked(LIMIT_WIDE, wide, now))
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
	char		 name[ADDRESS_MAX + NETPREFIX_KEY_MAX + 2];
	const char	*names[LIMIT_KINDS] = { name, narrow, wide };
	const char	*shown[LIMIT_KINDS] = { safe, cn, cw };
	int		 k;

	limit_account_name(name, sizeof(name), account, wide);
	for (k = 0; k < LIMIT_KINDS; k++) {
		if (!limit_fail(k, names[k], now))
			continue;
		log_audit("auth-lockout", "%s=%s limit=%s seconds=%d",
		    limit_kinds[k].name, shown[k], limit_kinds[k].level,
		    AUTH_LOCKOUT);
	}
}

/*
 * The one keyslot a credential may open, chosen by its shape: a
 * recovery key (52 base32 digits) the recovery slot; an app password
 * the app slot its selector names; anything else the password slot.  So a
 * check costs one Argon2id run, found or not, and an unknown account
 * costs the same.  With AUTH_NO_APP an app password opens nothing:
 * changes to the account need its password or recovery key.
 * Returns a DIR_ code; with DIR_OK, *found says whether there is a
 * slot (copied to target), and *cred and *credlen are what Argon2id
 * takes: the secret, or the normalised recovery key in norm.
 */
int
auth_target(const struct dir_account *da, const char *secret, size_t len,
    int flags, struct dir_slot *target, int *found, char *norm,
    size_t normlen, const char **cred, size_t *credlen)
{
	struct dir_slot		 slots[SLOTS_MAX];
	uint8_t			 sel = 0;
	size_t			 n, i;
	enum slot_kind		 kind = SLOT_PASSWORD;
	int			 rc;

	*found = 0;
	*cred = secret;
	*credlen = len;
	if ((rc = dir_slots(da->id, slots, SLOTS_MAX, &n)) != DIR_OK)
		return (rc);
	if (keys_recovery_normalise(secret, norm, normlen) == 0) {
		kind = SLOT_RECOVERY;
		*cred = norm;
		*credlen = strlen(norm);
	} else if (keys_apppass_shaped(secret)) {
		kind = SLOT_APP;
		sel = keys_selector(serverkeys_server(), da->id, secret, len);
	}
	for (i = 0; i < n && i < SLOTS_MAX && !*found; i++) {
		if (slots[i].kind != kind)
			continue;
		if (kind == SLOT_APP && slots[i].selector != sel)
			continue;
		*target = slots[i];
		*found = 1;
	}
	if (kind == SLOT_APP && (flags & AUTH_NO_APP))
		*found = 0;
	sodium_memzero(slots, sizeof(slots));
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

static void
auth_succeeded(const char *u, const char *safe, const struct auth_client *c)
{
	char	 name[ADDRESS_MAX + NETPREFIX_KEY_MAX + 2];

	limit_account_name(name, sizeof(name), u, c->wide);
	limit_clear(LIMIT_ACCOUNT, name);
	limit_trust(u, c->narrow, time(NULL));
	log_audit("auth-success", "account=%s client=%s network=%s", safe,
	    c->cn, c->cw);
}

static void
auth_failed(const char *u, const char *safe, const struct auth_client *c)
{
	log_audit("auth-failure", "account=%s client=%s network=%s", safe,
	    c->cn, c->cw);
	limit_fail_all(u, safe, c->narrow, c->cn, c->wide, c->cw, time(NULL));
}

static void
auth_pending_free(struct auth_pending *p)
{
	sodium_free(p->verifier);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

/* The slot is still in the directory, byte for byte. */
int
auth_slot_unchanged(const struct dir_account *da, const struct dir_slot *was)
{
	struct dir_slot	 slots[SLOTS_MAX];
	size_t		 n, i;
	int		 same = 0;

	if (dir_slots(da->id, slots, SLOTS_MAX, &n) != DIR_OK)
		return (0);
	for (i = 0; i < n && i < SLOTS_MAX; i++)
		if (slots[i].slot_id == was->slot_id &&
		    slots[i].kind == was->kind &&
		    memcmp(slots[i].ks.salt, was->ks.salt,
		    sizeof(was->ks.salt)) == 0 &&
		    memcmp(slots[i].ks.nonce, was->ks.nonce,
		    sizeof(was->ks.nonce)) == 0 &&
		    memcmp(slots[i].ks.wrapped, was->ks.wrapped,
		    sizeof(was->ks.wrapped)) == 0 &&
		    slots[i].ks.cost.opslimit == was->ks.cost.opslimit &&
		    slots[i].ks.cost.memlimit == was->ks.cost.memlimit)
			same = 1;
	return (same);
}

/*
 * The one place that decides whose turn a login's Argon2id run waits
 * in: the fairness key, the client's wide prefix (an IPv4 /24, an IPv6
 * /48): logins from one network queue behind each other, not in front
 * of other networks', however many addresses the network rotates
 * through.
 */
static struct kdf_job *
auth_submit(const char *fairkey, int class, struct auth_pending *p,
    const char *cred, size_t credlen, const unsigned char *salt,
    const struct kdf_cost *cost)
{
	return (kdf_submit(fairkey, class, cred, credlen, salt, cost,
	    auth_derived, p));
}

/*
 * Step three of a login, on the loop: the wrapping key is derived (or
 * the job expired).  The directory may have changed while Argon2id
 * ran: the slot must still be there as it was, or the client is told
 * to try again (a password changed meanwhile must not let the old one
 * in).
 */
static void
auth_derived(void *arg, int status, const unsigned char *key)
{
	struct auth_pending	*p = arg;
	struct dir_account	 da;
	struct account_secrets	*s;
	struct vault_account	*a = NULL;
	int			 rv, rc;

	p->job = NULL;
	if (status != KDF_OK) {
		log_audit("auth-refused", "account=%s client=%s network=%s "
		    "reason=%s", p->safe, p->c.cn, p->c.cw,
		    status == KDF_EXPIRED ? "timeout" : "no-memory");
		rv = MBOX_ETEMP;
		goto done;
	}
	if (p->dummy)
		goto fail;
	if ((rc = dir_account_get(p->user, &da)) == DIR_ENOTFOUND ||
	    (rc == DIR_OK && sodium_memcmp(da.id, p->id, ACCOUNT_ID_LEN) !=
	    0))
		goto fail;
	if (rc != DIR_OK) {
		rv = MBOX_ETEMP;
		goto done;
	}
	if (!auth_slot_unchanged(&da, &p->slot)) {
		log_audit("auth-refused", "account=%s client=%s network=%s "
		    "reason=changed", p->safe, p->c.cn, p->c.cw);
		rv = MBOX_ETEMP;
		goto done;
	}
	if ((s = keys_slot_open(&p->slot.ks, key, da.id,
	    p->slot.slot_id)) == NULL)
		goto fail;
	/* Set first: auth_unlocked() may come before the return. */
	p->opening = 1;
	switch (account_unlock(&da, s, &p->waiter, auth_unlocked, p, &a)) {
	case ACCOUNT_PENDING:
		/* auth_unlocked() answers; p may be gone already. */
		return;
	case 0:
		p->opening = 0;
		auth_finish(p, MBOX_OK, a);
		return;
	default:
		p->opening = 0;
		rv = MBOX_ETEMP;
		goto done;
	}
 fail:
	auth_failed(p->user, p->safe, &p->c);
	rv = MBOX_EAUTH;
 done:
	auth_finish(p, rv, NULL);
}

/*
 * Step four, on the loop, for a login that unlocked its account: the
 * mailbox is open (or could not be, or the open was abandoned).  The
 * credential may have been changed or revoked while it opened: it is
 * checked again, so that an old one is neither let in nor remembered.
 */
static void
auth_unlocked(void *arg, struct vault_account *a)
{
	struct auth_pending	*p = arg;
	struct dir_account	 da;

	p->opening = 0;
	if (a == NULL) {
		auth_finish(p, MBOX_ETEMP, NULL);
		return;
	}
	if (dir_account_get(p->user, &da) != DIR_OK ||
	    sodium_memcmp(da.id, p->id, ACCOUNT_ID_LEN) != 0 ||
	    !auth_slot_unchanged(&da, &p->slot)) {
		log_audit("auth-refused", "account=%s client=%s network=%s "
		    "reason=changed", p->safe, p->c.cn, p->c.cw);
		auth_finish(p, MBOX_ETEMP, NULL);
		return;
	}
	auth_finish(p, MBOX_OK, a);
}

/* The login's answer: the limits, the audit line, the callback. */
static void
auth_finish(struct auth_pending *p, int rv, struct vault_account *a)
{
	TAILQ_REMOVE(&pending, p, entry);
	if (rv == MBOX_OK) {
		verifier_remember(a, p->verifier);
		auth_succeeded(p->user, p->safe, &p->c);
	}
	p->done(p->arg, p->reqid, rv, rv == MBOX_OK ? a : NULL);
	auth_pending_free(p);
}

/*
 * Check a login.  Returns MBOX_OK with the unlocked account, or
 * MBOX_EAUTH, MBOX_ELOCKED or MBOX_ETEMP, when the answer needs no
 * Argon2id (a locked-out name, a credential the unlocked account
 * knows, a full queue); otherwise AUTH_PENDING, and the callback gets
 * the answer.  Every failure and lockout is an audit line; the
 * credential never appears in any log, and is wiped from every copy
 * made here before the answer.
 */
int
auth_login(const char *user, const char *secret, size_t len,
    const char *narrow, const char *wide, enum proc_role owner,
    uint32_t reqid, auth_done_cb done, void *arg, struct vault_account **out)
{
	static const unsigned char no_id[ACCOUNT_ID_LEN];
	struct auth_pending	*p = NULL;
	struct dir_account	 da;
	struct vault_account	*a;
	struct kdf_cost		 cost;
	unsigned char		 salt[SLOT_SALT_LEN];
	unsigned char		 v[KEY_LEN];
	struct auth_client	 c;
	char			 u[ADDRESS_MAX], safe[ADDRESS_MAX];
	char			 norm[RECOVERY_TEXT_LEN];
	const char		*cred = secret;
	size_t			 credlen = len;
	time_t			 now = time(NULL);
	int			 rc, found = 0, locked;

	*out = NULL;
	if (!dir_address_valid(user, u, sizeof(u)))
		strlcpy(u, "(invalid)", sizeof(u));
	log_sanitize(safe, sizeof(safe), u);
	strlcpy(c.narrow, narrow, sizeof(c.narrow));
	strlcpy(c.wide, wide, sizeof(c.wide));
	log_sanitize(c.cn, sizeof(c.cn), narrow);
	log_sanitize(c.cw, sizeof(c.cw), wide);
	/*
	 * An unlocked account that knows this credential: its owner, let
	 * in whatever the limits say (a lockout must not be a weapon
	 * against the mail clients that were logged in a minute ago).
	 * The keyed hash is made for every login, so that a locked or
	 * unknown account answers in the same time.
	 */
	rc = dir_account_get(u, &da);
	a = rc == DIR_OK ? account_unlocked(da.id) : NULL;
	if (len > 0 && len < MSG_SECRET_MAX) {
		keys_verifier(serverkeys_verifier(), rc == DIR_OK ? da.id :
		    no_id, secret, len, v);
		if (a != NULL && verifier_known(a, v)) {
			sodium_memzero(v, sizeof(v));
			auth_succeeded(u, safe, &c);
			*out = a;
			return (MBOX_OK);
		}
		sodium_memzero(v, sizeof(v));
	}
	if ((locked = limit_locked_any(u, c.narrow, c.wide, now)) != -1) {
		log_audit("auth-refused", "account=%s client=%s network=%s "
		    "reason=locked-out limit=%s", safe, c.cn, c.cw,
		    limit_kinds[locked].level);
		return (MBOX_ELOCKED);
	}
	if (len == 0 || len >= MSG_SECRET_MAX) {
		auth_failed(u, safe, &c);
		return (MBOX_EAUTH);
	}
	if (rc != DIR_OK && rc != DIR_ENOTFOUND)
		return (MBOX_ETEMP);

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->verifier = sodium_malloc(KEY_LEN)) == NULL) {
		free(p);
		return (MBOX_ETEMP);
	}
	p->owner = owner;
	p->reqid = reqid;
	p->done = done;
	p->arg = arg;
	strlcpy(p->user, u, sizeof(p->user));
	strlcpy(p->safe, safe, sizeof(p->safe));
	p->c = c;
	if (rc == DIR_OK) {
		memcpy(p->id, da.id, sizeof(p->id));
		if ((rc = auth_target(&da, secret, len, 0, &p->slot, &found,
		    norm, sizeof(norm), &cred, &credlen)) != DIR_OK) {
			auth_pending_free(p);
			sodium_memzero(norm, sizeof(norm));
			return (MBOX_ETEMP);
		}
		keys_verifier(serverkeys_verifier(), da.id, secret, len,
		    p->verifier);
	}
	if (found) {
		memcpy(salt, p->slot.ks.salt, sizeof(salt));
		cost = p->slot.ks.cost;
	} else {
		/* Same work, same queue, so the same time from outside. */
		p->dummy = 1;
		randombytes_buf(salt, sizeof(salt));
		cost = *serverkeys_cost();
	}
	if (!keys_cost_valid(&cost)) {
		/* A stored cost we would never write opens nothing. */
		sodium_memzero(norm, sizeof(norm));
		auth_pending_free(p);
		auth_failed(u, safe, &c);
		return (MBOX_EAUTH);
	}
	/* A returning client goes before the rest (vault_kdfq.c). */
	p->job = auth_submit(c.wide, limit_trusted(u, c.narrow, now) ?
	    KDF_CLASS_KNOWN : KDF_CLASS_OTHER, p, cred, credlen, salt, &cost);
	sodium_memzero(norm, sizeof(norm));
	if (p->job == NULL) {
		auth_pending_free(p);
		log_audit("auth-refused", "account=%s client=%s network=%s "
		    "reason=busy", safe, c.cn, c.cw);
		return (MBOX_ETEMP);
	}
	TAILQ_INSERT_TAIL(&pending, p, entry);
	return (AUTH_PENDING);
}

/*
 * A front went away: its logins are dropped, their answers discarded
 * (an unlock under way goes on: the account locks after its grace).
 */
void
auth_cancel(enum proc_role owner)
{
	struct auth_pending	*p, *next;

	TAILQ_FOREACH_SAFE(p, &pending, entry, next) {
		if (p->owner != owner)
			continue;
		TAILQ_REMOVE(&pending, p, entry);
		if (p->opening)
			account_unlock_cancel(&p->waiter);
		else
			kdf_cancel(p->job);
		auth_pending_free(p);
	}
}
