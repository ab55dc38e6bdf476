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
 * Administration, asked by ctl through ctld: domains, accounts, app
 * passwords, aliases.  Zero access shapes what an operator can do: an
 * account's keys are wrapped by its credentials only, so changing a
 * password or adding an app password needs a current credential of that
 * account (its password or recovery key); deleting needs none.
 *
 * Three requests need Argon2id: user add (two keyslots made), user
 * passwd and app add (the current credential opens a keyslot, then a
 * new one is made).  Argon2id does not run here on the loop, which
 * serves every account's mail: a request keeps its state in an
 * admin_pending (its secrets in guarded memory), hands each derivation to
 * the KDF pool (vault_kdf.c) under the admin class and the key "ctl",
 * and goes on in the pool's callback.  The directory may change while
 * a derivation runs (the account deleted, its password changed, the
 * address taken by another user add): it is looked at again before
 * anything is written, and the request fails cleanly if it changed.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vault_spool.h"
#include "vaultd.h"

#define PASSWORD_MIN	8
#define ADMIN_FAIRKEY	"ctl"		/* the KDF pool's key for us */

struct reply {
	struct imsgev	*iev;
	uint32_t	 peerid;
};

/*
 * What a request under way keeps secret, in guarded memory
 * (sodium_malloc): the credentials ctl sent, and what the answer shows
 * once.
 */
struct admin_secrets {
	char		 current[MSG_SECRET_MAX];  /* checked (passwd,
						    * app add) */
	char		 password[MSG_SECRET_MAX]; /* the new password */
	char		 shown[RECOVERY_TEXT_LEN]; /* a new recovery key
						    * or app password */
};
_Static_assert(APPPASS_TEXT_LEN <= RECOVERY_TEXT_LEN,
    "an app password must fit where a recovery key does");

struct admin_pending;

/* A keyslot being made: prepared here, its key derived on the pool. */
struct admin_make {
	struct admin_pending	*op;
	struct kdf_job		*job;		/* while it is derived */
	struct dir_slot		 slot;
};

/*
 * A request that waits for Argon2id.  Each field means one thing for
 * every operation; those an operation does not use stay zero.
 */
struct admin_pending {
	TAILQ_ENTRY(admin_pending) entry;
	struct reply		 r;
	uint32_t		 op;		/* ADMIN_USER_ADD, ... */
	uint32_t		 uid;		/* who asked */
	char			 name[ADDRESS_MAX];	/* as ctl gave it */
	char			 address[ADDRESS_MAX];	/* the account's */
	char			 label[LABEL_MAX];	/* a new app slot's */
	unsigned char		 id[ACCOUNT_ID_LEN];
	unsigned char		 box_pk[crypto_box_PUBLICKEYBYTES];
	/* The check of the current credential (passwd, app add). */
	struct kdf_job		*check;		/* while it is derived */
	int			 dummy;		/* nothing to open: fails */
	struct dir_slot		 opens;		/* the slot it must open */
	/* The keyslots made: two for user add, else one. */
	struct admin_make	 make[2];
	unsigned int		 nmake;
	unsigned int		 pending;	/* of them, not derived yet */
	struct dir_slot		 replaces;	/* passwd: the slot, as read */
	struct account_secrets	*s;		/* the account's keys */
	struct admin_secrets	*sec;
};

static TAILQ_HEAD(, admin_pending)	 ops = TAILQ_HEAD_INITIALIZER(ops);

/* How a request under way ends, when it is not with its change. */
#define END_OK		0	/* answered: done */
#define END_ANSWERED	1	/* answered: a failure said there */
#define END_DENIED	2	/* the current credential opened nothing */
#define END_BUSY	3	/* the KDF pool refused a job */
#define END_TIMEOUT	4	/* a job waited past its deadline */
#define END_NOMEM	5	/* Argon2id or the AEAD: out of memory */
#define END_GONE	6	/* the account was deleted meanwhile */
#define END_CHANGED	7	/* its keyslots changed meanwhile */
#define END_EIO		8	/* the directory failed */

static void	 reply_line(struct reply *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static void	 reply_ok(struct reply *);
static void	 reply_fail(struct reply *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static const char *dir_strerror(int);
static struct admin_pending *op_new(struct reply *, const struct msg_admin *);
static void	 op_free(struct admin_pending *);
static void	 op_end(struct admin_pending *, int);
static int	 op_make(struct admin_pending *, uint64_t, enum slot_kind,
		    const char *, const char *);
static void	 op_made(void *, int, const unsigned char *);
static void	 op_start_check(struct admin_pending *);
static int	 op_check(struct admin_pending *);
static void	 op_checked(void *, int, const unsigned char *);
static int	 op_current(struct admin_pending *, struct dir_account *);
static int	 user_add_done(struct admin_pending *);
static int	 passwd_make(struct admin_pending *);
static int	 passwd_done(struct admin_pending *);
static int	 apppass_make(struct admin_pending *);
static int	 apppass_done(struct admin_pending *);

static void
reply_line(struct reply *r, const char *fmt, ...)
{
	struct msg_line	 ml;
	va_list		 ap;

	memset(&ml, 0, sizeof(ml));
	va_start(ap, fmt);
	vsnprintf(ml.line, sizeof(ml.line), fmt, ap);
	va_end(ap);
	imsgev_compose(r->iev, IMSG_CTL_LINE, r->peerid, -1, &ml, sizeof(ml));
	sodium_memzero(&ml, sizeof(ml));
}

static void
reply_ok(struct reply *r)
{
	imsgev_compose(r->iev, IMSG_CTL_OK, r->peerid, -1, NULL, 0);
}

static void
reply_fail(struct reply *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	imsgev_vfail(r->iev, r->peerid, fmt, ap);
	va_end(ap);
}

static const char *
dir_strerror(int rc)
{
	switch (rc) {
	case DIR_ENOTFOUND:
		return ("not found");
	case DIR_EEXISTS:
		return ("already exists");
	case DIR_EINVAL:
		return ("invalid name or address");
	case DIR_EBUSY:
		return ("still in use");
	case DIR_EDENIED:
		return ("wrong password or recovery key");
	default:
		return ("storage error (see the log)");
	}
}

static int
password_ok(struct reply *r, const char *pw)
{
	char	 norm[RECOVERY_TEXT_LEN];
	size_t	 len = strlen(pw);

	if (len < PASSWORD_MIN) {
		reply_fail(r, "the password must have at least %d characters",
		    PASSWORD_MIN);
		return (0);
	}
	if (len >= MSG_SECRET_MAX) {
		reply_fail(r, "the password is too long");
		return (0);
	}
	/* A login takes these shapes for the other kinds of credential. */
	if (keys_recovery_normalise(pw, norm, sizeof(norm)) == 0 ||
	    keys_apppass_shaped(pw)) {
		sodium_memzero(norm, sizeof(norm));
		reply_fail(r, "that has the shape of a recovery key or an app "
		    "password; choose another password");
		return (0);
	}
	return (1);
}

static const char *
op_name(uint32_t op)
{
	switch (op) {
	case ADMIN_USER_ADD:
		return ("user-add");
	case ADMIN_USER_PASSWD:
		return ("user-passwd");
	case ADMIN_APPPASS_ADD:
		return ("apppass-add");
	default:
		return ("admin");
	}
}

static struct admin_pending *
op_new(struct reply *r, const struct msg_admin *m)
{
	struct admin_pending	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return (NULL);
	if ((op->sec = sodium_malloc(sizeof(*op->sec))) == NULL) {
		free(op);
		return (NULL);
	}
	memset(op->sec, 0, sizeof(*op->sec));
	op->r = *r;
	op->op = m->op;
	op->uid = m->uid;
	strlcpy(op->name, m->arg1, sizeof(op->name));
	TAILQ_INSERT_TAIL(&ops, op, entry);
	return (op);
}

/*
 * Every path ends here: jobs still on the pool are cancelled (their
 * copies of the credentials wiped there), the keys and secrets wiped.
 */
static void
op_free(struct admin_pending *op)
{
	size_t	 i;

	TAILQ_REMOVE(&ops, op, entry);
	if (op->check != NULL)
		kdf_cancel(op->check);
	for (i = 0; i < nitems(op->make); i++)
		if (op->make[i].job != NULL)
			kdf_cancel(op->make[i].job);
	keys_secrets_free(op->s);
	sodium_free(op->sec);
	sodium_memzero(op, sizeof(*op));
	free(op);
}

/* The answer for a request that ends without its change. */
static void
op_end(struct admin_pending *op, int why)
{
	struct reply	*r = &op->r;
	const char	*reason;
	char		 safe[ADDRESS_MAX];

	log_sanitize(safe, sizeof(safe), op->name);
	switch (why) {
	case END_OK:
	case END_ANSWERED:
		return;
	case END_DENIED:
		if (op->op == ADMIN_USER_PASSWD)
			log_audit("passwd-failure", "account=%s uid=%u", safe,
			    op->uid);
		reply_fail(r, "%s: wrong password or recovery key, or no "
		    "such account", op->name);
		return;
	case END_EIO:
		if (op->op == ADMIN_USER_PASSWD)
			reply_fail(r, "%s: the password could not be changed",
			    op->name);
		else
			reply_fail(r, "%s: %s", op->name,
			    dir_strerror(DIR_EIO));
		return;
	case END_BUSY:
		reason = "busy";
		break;
	case END_TIMEOUT:
		reason = "timeout";
		break;
	case END_NOMEM:
		reason = "no-memory";
		break;
	case END_GONE:
		reason = "deleted";
		break;
	default:
		reason = "changed";
		break;
	}
	log_audit("admin-refused", "op=%s account=%s uid=%u reason=%s",
	    op_name(op->op), safe, op->uid, reason);
	switch (why) {
	case END_BUSY:
	case END_TIMEOUT:
		reply_fail(r, "%s: busy, try again", op->name);
		break;
	case END_NOMEM:
		reply_fail(r, "cannot derive keys (out of memory?)");
		break;
	case END_GONE:
		reply_fail(r, "%s: not found (deleted meanwhile)", op->name);
		break;
	default:
		reply_fail(r, "%s: changed meanwhile, try again", op->name);
		break;
	}
}

/*
 * A new keyslot: a fresh salt and nonce here, the key derived from
 * the credential on the pool (which copies it), the secrets sealed in
 * op_made().  0, or -1 when the pool refuses.
 */
static int
op_make(struct admin_pending *op, uint64_t slot_id, enum slot_kind kind,
    const char *label, const char *cred)
{
	struct admin_make	*mk;

	if (op->nmake == nitems(op->make))
		fatalx("%s: too many keyslots", __func__);
	mk = &op->make[op->nmake];
	memset(mk, 0, sizeof(*mk));
	mk->op = op;
	mk->slot.slot_id = slot_id;
	mk->slot.kind = kind;
	strlcpy(mk->slot.label, label, sizeof(mk->slot.label));
	if (keys_slot_prepare(&mk->slot.ks, serverkeys_cost()) == -1)
		return (-1);
	if ((mk->job = kdf_submit(ADMIN_FAIRKEY, KDF_CLASS_ADMIN, cred,
	    strlen(cred), mk->slot.ks.salt, &mk->slot.ks.cost, op_made,
	    mk)) == NULL)
		return (-1);
	op->nmake++;
	op->pending++;
	return (0);
}

/*
 * A keyslot's key is derived (or its job expired): seal it; when the
 * last one is, the request's change.  A failure ends the request at
 * once, and the other derivation is cancelled.
 */
static void
op_made(void *arg, int status, const unsigned char *key)
{
	struct admin_make	*mk = arg;
	struct admin_pending	*op = mk->op;
	int			 rc;

	mk->job = NULL;
	op->pending--;
	if (status == KDF_OK && keys_slot_seal(&mk->slot.ks, op->s, key,
	    op->id, mk->slot.slot_id) == -1)
		status = KDF_EFAIL;
	if (status == KDF_OK && op->pending > 0)
		return;
	if (status != KDF_OK)
		rc = status == KDF_EXPIRED ? END_TIMEOUT : END_NOMEM;
	else if (op->op == ADMIN_USER_ADD)
		rc = user_add_done(op);
	else if (op->op == ADMIN_USER_PASSWD)
		rc = passwd_done(op);
	else
		rc = apppass_done(op);
	op_end(op, rc);
	op_free(op);
}

/*
 * The current credential's check (passwd, app add), the way a login
 * checks it (vault_auth.c): the slot its shape chooses, never an app
 * slot, one Argon2id run; with nothing to open, a dummy run of the
 * same cost, so an unknown account costs the same.  Returns DIR_OK
 * when the run is on the pool, -1 when the pool refused it, or
 * another DIR_ code.
 */
static int
op_check(struct admin_pending *op)
{
	struct dir_account	 da;
	struct kdf_cost		 cost;
	unsigned char		 salt[SLOT_SALT_LEN];
	char			 norm[RECOVERY_TEXT_LEN];
	const char		*cred = op->sec->current;
	size_t			 credlen;
	int			 rc, found = 0;

	if ((credlen = strlen(cred)) == 0)
		return (DIR_EDENIED);
	memset(norm, 0, sizeof(norm));
	if ((rc = dir_account_get(op->name, &da)) == DIR_OK) {
		strlcpy(op->address, da.address, sizeof(op->address));
		memcpy(op->id, da.id, sizeof(op->id));
		rc = auth_target(&da, op->sec->current, credlen, AUTH_NO_APP,
		    &op->opens, &found, norm, sizeof(norm), &cred, &credlen);
	} else if (rc == DIR_ENOTFOUND)
		rc = DIR_OK;
	if (rc != DIR_OK) {
		sodium_memzero(norm, sizeof(norm));
		return (rc);
	}
	if (found && keys_cost_valid(&op->opens.ks.cost)) {
		memcpy(salt, op->opens.ks.salt, sizeof(salt));
		cost = op->opens.ks.cost;
	} else {
		op->dummy = 1;
		randombytes_buf(salt, sizeof(salt));
		cost = *serverkeys_cost();
	}
	op->check = kdf_submit(ADMIN_FAIRKEY, KDF_CLASS_ADMIN, cred, credlen,
	    salt, &cost, op_checked, op);
	sodium_memzero(norm, sizeof(norm));
	return (op->check != NULL ? DIR_OK : -1);
}

/* Start the check, or answer why not. */
static void
op_start_check(struct admin_pending *op)
{
	int	 rc;

	if ((rc = op_check(op)) == DIR_OK)
		return;
	if (rc == -1)
		op_end(op, END_BUSY);
	else if (rc == DIR_EDENIED)
		op_end(op, END_DENIED);
	else
		reply_fail(&op->r, "%s: %s", op->name, dir_strerror(rc));
	op_free(op);
}

/*
 * The check's key is derived: the account must still be the one
 * checked, with the slot as it was; then the slot opens, or the
 * credential was wrong.  Then the new keyslot.
 */
static void
op_checked(void *arg, int status, const unsigned char *key)
{
	struct admin_pending	*op = arg;
	struct dir_account	 da;
	int			 rc;

	op->check = NULL;
	if (status != KDF_OK)
		rc = status == KDF_EXPIRED ? END_TIMEOUT : END_NOMEM;
	else if (op->dummy)
		rc = END_DENIED;
	else if ((rc = op_current(op, &da)) == END_OK) {
		if ((op->s = keys_slot_open(&op->opens.ks, key, op->id,
		    op->opens.slot_id)) == NULL)
			rc = END_DENIED;
		else if (op->op == ADMIN_USER_PASSWD)
			rc = passwd_make(op);
		else
			rc = apppass_make(op);
	}
	if (rc == END_OK)
		return;
	op_end(op, rc);
	op_free(op);
}

/*
 * The account is still the one checked (not deleted, nor deleted and
 * made again), and the slot its credential opened is still there as
 * it was (a password changed meanwhile must not let the old one make
 * changes).  END_OK, END_GONE, END_CHANGED or END_EIO.
 */
static int
op_current(struct admin_pending *op, struct dir_account *da)
{
	int	 rc;

	if ((rc = dir_account_get(op->address, da)) == DIR_ENOTFOUND ||
	    (rc == DIR_OK && sodium_memcmp(da->id, op->id, ACCOUNT_ID_LEN) !=
	    0))
		return (END_GONE);
	if (rc != DIR_OK)
		return (END_EIO);
	if (!auth_slot_unchanged(da, &op->opens))
		return (END_CHANGED);
	return (END_OK);
}

static void
user_add(struct reply *r, struct msg_admin *m)
{
	struct admin_pending	*op;
	struct dir_account	 da;
	char			 norm[RECOVERY_TEXT_LEN];
	char			 addr[ADDRESS_MAX];
	int			 ok;

	if (!dir_address_valid(m->arg1, addr, sizeof(addr))) {
		reply_fail(r, "%s: not a valid address", m->arg1);
		return;
	}
	if (!dir_domain_exists(strchr(addr, '@') + 1)) {
		reply_fail(r, "%s: the domain is not ours (ctl domain add)",
		    strchr(addr, '@') + 1);
		return;
	}
	if (dir_account_get(addr, &da) == DIR_OK) {
		reply_fail(r, "%s: already exists", addr);
		return;
	}
	if (!password_ok(r, m->secret))
		return;
	if ((op = op_new(r, m)) == NULL) {
		reply_fail(r, "out of memory");
		return;
	}
	strlcpy(op->address, addr, sizeof(op->address));
	strlcpy(op->sec->password, m->secret, sizeof(op->sec->password));
	/* The id is bound into each keyslot, so it comes first. */
	randombytes_buf(op->id, sizeof(op->id));
	memset(norm, 0, sizeof(norm));
	if ((op->s = keys_secrets_new(op->box_pk)) == NULL ||
	    keys_recovery_new(op->sec->shown, sizeof(op->sec->shown)) == -1 ||
	    keys_recovery_normalise(op->sec->shown, norm, sizeof(norm)) ==
	    -1) {
		reply_fail(r, "cannot derive keys (out of memory?)");
		op_free(op);
		return;
	}
	/* Both at once: two workers run them side by side. */
	ok = op_make(op, 1, SLOT_PASSWORD, "password",
	    op->sec->password) == 0 &&
	    op_make(op, 2, SLOT_RECOVERY, "recovery", norm) == 0;
	sodium_memzero(norm, sizeof(norm));
	if (!ok) {
		op_end(op, END_BUSY);
		op_free(op);
		return;
	}
	log_debug("%s: user add: its keyslots go to the KDF pool", addr);
}

/*
 * Both keyslots are made.  Meanwhile the domain may have gone, or
 * another user add of the address finished first: nothing is written
 * then.
 */
static int
user_add_done(struct admin_pending *op)
{
	struct reply		*r = &op->r;
	struct dir_account	 da;
	struct mbox		*mbox;
	unsigned char		 ps[DIR_STATE_LEN];
	unsigned char		 id[ACCOUNT_ID_LEN];
	char			 path[PATH_MAX];
	const char		*domain;
	int			 rc;

	/* A valid address (user_add() checked it): it has its '@'. */
	domain = strchr(op->address, '@') + 1;
	if (!dir_domain_exists(domain)) {
		reply_fail(r, "%s: the domain is not ours (ctl domain add)",
		    domain);
		return (END_ANSWERED);
	}
	if (dir_account_get(op->address, &da) == DIR_OK) {
		reply_fail(r, "%s: already exists", op->address);
		return (END_ANSWERED);
	}
	if ((rc = dir_account_add(op->address, op->id, op->box_pk,
	    &op->make[0].slot, &op->make[1].slot)) != DIR_OK) {
		reply_fail(r, "%s: %s", op->address, dir_strerror(rc));
		return (END_ANSWERED);
	}
	account_mailbox_path(op->id, path, sizeof(path));
	if (mbox_open(path, op->s->mailbox_key, op->id, &mbox) != MBOX_OK) {
		dir_account_del(op->address, id);
		unlink(path);
		reply_fail(r, "%s: cannot create the mailbox", op->address);
		return (END_ANSWERED);
	}
	/* The new mailbox's counter and pages, as anchors for its unlock. */
	if (dir_counter_set(op->id, mbox_counter(mbox), mbox_pagestate(mbox,
	    ps) == MBOX_OK ? ps : NULL) != DIR_OK)
		log_warnx("%s: cannot record the commit counter", op->address);
	mbox_close(mbox);
	log_audit("account-add", "account=%s uid=%u", op->address, op->uid);
	reply_line(r, "%s created.", op->address);
	reply_line(r, "Recovery key (shown once; keep it offline, it opens "
	    "the mailbox):");
	reply_line(r, "  %s", op->sec->shown);
	reply_ok(r);
	return (END_OK);
}

static void
user_del(struct reply *r, struct msg_admin *m)
{
	struct dir_account	 da;
	struct vault_account	*a;
	unsigned char		 id[ACCOUNT_ID_LEN];
	char			 path[PATH_MAX], side[PATH_MAX + 8];
	const char		*suffix[] = { "", "-wal", "-shm", "-journal" };
	size_t			 i;
	int			 rc;

	if ((rc = dir_account_get(m->arg1, &da)) != DIR_OK) {
		reply_fail(r, "%s: %s", m->arg1, dir_strerror(rc));
		return;
	}
	if ((a = account_unlocked(da.id)) != NULL) {
		session_end_account(a);
		/* Its files go next: no job may hold them open. */
		account_lock_now(a);
	}
	/* An unlock under way is abandoned: its worker lets go first. */
	account_unlock_abort(da.id);
	/* Keyslots first: from here on the mailbox cannot be read. */
	if ((rc = dir_account_del(da.address, id)) != DIR_OK) {
		reply_fail(r, "%s: %s", da.address, dir_strerror(rc));
		return;
	}
	account_mailbox_path(id, path, sizeof(path));
	for (i = 0; i < nitems(suffix); i++) {
		snprintf(side, sizeof(side), "%s%s", path, suffix[i]);
		if (unlink(side) == -1 && errno != ENOENT)
			log_warn("unlink %s", side);
	}
	/* No seal for it may write into the spool as it goes. */
	deliver_drain(id);
	spool_destroy(account_spool(), id);
	log_audit("account-del", "account=%s uid=%u", da.address, m->uid);
	reply_line(r, "%s deleted; its keys are destroyed.", da.address);
	reply_ok(r);
}

/* Replace the password: needs the current password or recovery key. */
static void
user_passwd(struct reply *r, struct msg_admin *m)
{
	struct admin_pending	*op;

	if (!password_ok(r, m->secret2))
		return;
	if ((op = op_new(r, m)) == NULL) {
		reply_fail(r, "out of memory");
		return;
	}
	strlcpy(op->sec->current, m->secret, sizeof(op->sec->current));
	strlcpy(op->sec->password, m->secret2, sizeof(op->sec->password));
	op_start_check(op);
}

/* The current credential opened its slot: the new password's slot. */
static int
passwd_make(struct admin_pending *op)
{
	struct dir_slot	 slots[SLOTS_MAX];
	size_t		 n, i;
	int		 rc = END_EIO;

	if (dir_slots(op->id, slots, SLOTS_MAX, &n) != DIR_OK)
		goto done;
	for (i = 0; i < n && i < SLOTS_MAX; i++)
		if (slots[i].kind == SLOT_PASSWORD)
			break;
	if (i == n || i == SLOTS_MAX)
		goto done;
	op->replaces = slots[i];
	rc = op_make(op, slots[i].slot_id, SLOT_PASSWORD, "password",
	    op->sec->password) == 0 ? END_OK : END_BUSY;
 done:
	sodium_memzero(slots, sizeof(slots));
	return (rc);
}

/*
 * The new slot is made; it replaces the password slot unless that
 * changed meanwhile (another passwd finished first).
 */
static int
passwd_done(struct admin_pending *op)
{
	struct dir_account	 da;
	int			 rc;

	if ((rc = op_current(op, &da)) != END_OK)
		return (rc);
	if (!auth_slot_unchanged(&da, &op->replaces))
		return (END_CHANGED);
	if (dir_slot_replace(op->id, &op->make[0].slot) != DIR_OK)
		return (END_EIO);
	auth_forget(op->id);
	log_audit("passwd", "account=%s uid=%u", da.address, op->uid);
	reply_line(&op->r, "%s: password changed.", da.address);
	reply_ok(&op->r);
	return (END_OK);
}

/*
 * A new app password whose selector no app slot of the account has
 * (keys.h), nor one another app add of the account is making: draw
 * again while it collides.  There are 64 selectors and at most
 * SLOTS_MAX slots, so a free one is always found, in a few draws; the
 * bound only guards against a broken random source.
 */
_Static_assert(SELECTOR_COUNT <= 64 && SELECTOR_COUNT > SLOTS_MAX,
    "the selectors must fit a uint64_t and outnumber the slots");

static int
apppass_draw(struct admin_pending *op, uint8_t *sel)
{
	struct dir_slot	 slots[SLOTS_MAX];
	struct admin_pending	*o;
	uint64_t	 used = 0;
	char		*pass = op->sec->shown;
	size_t		 len = sizeof(op->sec->shown), n, i;
	int		 tries;

	if (dir_slots(op->id, slots, SLOTS_MAX, &n) != DIR_OK)
		return (-1);
	for (i = 0; i < n && i < SLOTS_MAX; i++)
		if (slots[i].kind == SLOT_APP)
			used |= UINT64_C(1) << slots[i].selector;
	sodium_memzero(slots, sizeof(slots));
	TAILQ_FOREACH(o, &ops, entry)
		if (o != op && o->op == ADMIN_APPPASS_ADD && o->nmake > 0 &&
		    memcmp(o->id, op->id, ACCOUNT_ID_LEN) == 0)
			used |= UINT64_C(1) << o->make[0].slot.selector;
	for (tries = 0; tries < 1000; tries++) {
		keys_apppass_new(pass, len);
		*sel = keys_selector(serverkeys_server(), op->id, pass,
		    strlen(pass));
		if ((used & (UINT64_C(1) << *sel)) == 0)
			return (0);
	}
	sodium_memzero(pass, len);
	return (-1);
}

static void
apppass_add(struct reply *r, struct msg_admin *m)
{
	struct admin_pending	*op;

	if (m->arg2[0] == '\0' || strlen(m->arg2) >= LABEL_MAX) {
		reply_fail(r, "an app password needs a label of 1 to %d "
		    "characters", LABEL_MAX - 1);
		return;
	}
	if ((op = op_new(r, m)) == NULL) {
		reply_fail(r, "out of memory");
		return;
	}
	strlcpy(op->label, m->arg2, sizeof(op->label));
	strlcpy(op->sec->current, m->secret, sizeof(op->sec->current));
	op_start_check(op);
}

/* The current credential opened its slot: the app password's slot. */
static int
apppass_make(struct admin_pending *op)
{
	uint64_t	 slot_id;
	uint8_t		 sel;
	int		 rc;

	if (apppass_draw(op, &sel) == -1) {
		reply_fail(&op->r, "%s: cannot add the app password: too many",
		    op->address);
		return (END_ANSWERED);
	}
	if ((rc = dir_slot_reserve(op->id, &slot_id)) != DIR_OK) {
		reply_fail(&op->r, "%s: cannot add the app password: %s",
		    op->address, dir_strerror(rc));
		return (END_ANSWERED);
	}
	if (op_make(op, slot_id, SLOT_APP, op->label, op->sec->shown) == -1)
		return (END_BUSY);
	op->make[0].slot.selector = sel;
	return (END_OK);
}

/*
 * The app slot is made; it is stored if the account still has room
 * and the selector is still free (both are kept so by the draw and
 * the reservation; this is the last word).
 */
static int
apppass_done(struct admin_pending *op)
{
	struct dir_account	 da;
	struct dir_slot		 slots[SLOTS_MAX];
	char			 label[LABEL_MAX];
	size_t			 n, i;
	int			 rc, taken = 0;

	if ((rc = op_current(op, &da)) != END_OK)
		return (rc);
	if (dir_slots(op->id, slots, SLOTS_MAX, &n) != DIR_OK)
		return (END_EIO);
	for (i = 0; i < n && i < SLOTS_MAX; i++)
		if (slots[i].kind == SLOT_APP &&
		    slots[i].selector == op->make[0].slot.selector)
			taken = 1;
	sodium_memzero(slots, sizeof(slots));
	if (n >= SLOTS_MAX) {
		reply_fail(&op->r, "%s: cannot add the app password: too many",
		    da.address);
		return (END_ANSWERED);
	}
	if (taken)
		return (END_CHANGED);
	if ((rc = dir_slot_add(op->id, &op->make[0].slot)) != DIR_OK) {
		reply_fail(&op->r, "%s: cannot add the app password: %s",
		    da.address, dir_strerror(rc));
		return (END_ANSWERED);
	}
	log_sanitize(label, sizeof(label), op->label);
	log_audit("apppass-add", "account=%s label=%s uid=%u", da.address,
	    label, op->uid);
	reply_line(&op->r, "App password \"%s\" for %s (shown once):",
	    op->label, da.address);
	reply_line(&op->r, "  %s", op->sec->shown);
	reply_ok(&op->r);
	return (END_OK);
}

static void
apppass_del(struct reply *r, struct msg_admin *m)
{
	struct dir_account	 da;
	char			 label[LABEL_MAX];
	int			 rc;

	if ((rc = dir_account_get(m->arg1, &da)) != DIR_OK ||
	    (rc = dir_slot_del(da.id, SLOT_APP, m->arg2)) != DIR_OK) {
		reply_fail(r, "%s %s: %s", m->arg1, m->arg2,
		    dir_strerror(rc));
		return;
	}
	auth_forget(da.id);
	log_sanitize(label, sizeof(label), m->arg2);
	log_audit("apppass-del", "account=%s label=%s uid=%u", da.address,
	    label, m->uid);
	reply_ok(r);
}

static void
apppass_list(struct reply *r, struct msg_admin *m)
{
	struct dir_account	 da;
	struct dir_slot		 slots[SLOTS_MAX];
	struct tm		 tm;
	char			 when[32];
	size_t			 n, i;
	int			 rc;

	if ((rc = dir_account_get(m->arg1, &da)) != DIR_OK ||
	    (rc = dir_slots(da.id, slots, SLOTS_MAX, &n)) != DIR_OK) {
		reply_fail(r, "%s: %s", m->arg1, dir_strerror(rc));
		return;
	}
	for (i = 0; i < n && i < SLOTS_MAX; i++) {
		if (slots[i].kind != SLOT_APP)
			continue;
		gmtime_r(&slots[i].created, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		reply_line(r, "%-24s created %s UTC", slots[i].label, when);
	}
	reply_ok(r);
}

static int
list_cb(void *arg, const char *a, const char *b)
{
	struct reply	*r = arg;

	if (b != NULL && b[0] != '\0')
		reply_line(r, "%-40s %s", a, b);
	else
		reply_line(r, "%s", a);
	return (0);
}

/*
 * One admin request from ctl.  The reply is a few IMSG_CTL_LINEs and
 * IMSG_CTL_OK or IMSG_CTL_FAIL, with the request's peer id: now, or
 * for user add, user passwd and app add once their Argon2id runs are
 * done (the copies they keep are their own).  The secrets in the
 * request are wiped before returning.
 */
void
admin_request(struct imsgev *iev, uint32_t peerid, struct msg_admin *m)
{
	struct reply	 r = { iev, peerid };
	int		 rc = DIR_OK;

	if (!MSG_STR(m->arg1) || !MSG_STR(m->arg2) || !MSG_STR(m->secret) ||
	    !MSG_STR(m->secret2) || m->op >= ADMIN_OP_MAX) {
		reply_fail(&r, "malformed request");
		goto done;
	}
	if (!serverkeys_ready()) {
		reply_fail(&r, "the vault is not open (see the log)");
		goto done;
	}
	switch (m->op) {
	case ADMIN_DOMAIN_ADD:
		if ((rc = dir_domain_add(m->arg1)) == DIR_OK)
			log_audit("domain-add", "domain=%s uid=%u", m->arg1,
			    m->uid);
		break;
	case ADMIN_DOMAIN_DEL:
		if ((rc = dir_domain_del(m->arg1)) == DIR_OK)
			log_audit("domain-del", "domain=%s uid=%u", m->arg1,
			    m->uid);
		break;
	case ADMIN_DOMAIN_LIST:
		rc = dir_domain_list(list_cb, &r);
		break;
	case ADMIN_USER_ADD:
		user_add(&r, m);
		goto done;
	case ADMIN_USER_DEL:
		user_del(&r, m);
		goto done;
	case ADMIN_USER_LIST:
		rc = dir_account_list(list_cb, &r);
		break;
	case ADMIN_USER_PASSWD:
		user_passwd(&r, m);
		goto done;
	case ADMIN_APPPASS_ADD:
		apppass_add(&r, m);
		goto done;
	case ADMIN_APPPASS_DEL:
		apppass_del(&r, m);
		goto done;
	case ADMIN_APPPASS_LIST:
		apppass_list(&r, m);
		goto done;
	case ADMIN_ALIAS_ADD:
		if ((rc = dir_alias_add(m->arg1, m->arg2)) == DIR_OK)
			log_audit("alias-add", "alias=%s target=%s uid=%u",
			    m->arg1, m->arg2, m->uid);
		break;
	case ADMIN_ALIAS_DEL:
		if ((rc = dir_alias_del(m->arg1)) == DIR_OK)
			log_audit("alias-del", "alias=%s uid=%u", m->arg1,
			    m->uid);
		break;
	case ADMIN_ALIAS_LIST:
		rc = dir_alias_list(list_cb, &r);
		break;
	}
	if (rc == DIR_OK)
		reply_ok(&r);
	else
		reply_fail(&r, "%s: %s", m->arg1, dir_strerror(rc));
 done:
	sodium_memzero(m->secret, sizeof(m->secret));
	sodium_memzero(m->secret2, sizeof(m->secret2));
}

/*
 * vaultd stops: the requests under way are dropped unanswered, their
 * jobs cancelled, their keys and secrets wiped (op_free()).
 */
void
admin_cancel_all(void)
{
	struct admin_pending	*op;
	char		 safe[ADDRESS_MAX];

	while ((op = TAILQ_FIRST(&ops)) != NULL) {
		log_sanitize(safe, sizeof(safe), op->name);
		log_info("%s: %s abandoned: vaultd stops", safe,
		    op_name(op->op));
		op_free(op);
	}
}
