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
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vault_spool.h"
#include "vaultd.h"

#define PASSWORD_MIN	8

struct reply {
	struct imsgev	*iev;
	uint32_t	 peerid;
};

static void	 reply_line(struct reply *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static void	 reply_ok(struct reply *);
static void	 reply_fail(struct reply *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static const char *dir_strerror(int);

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

/* Wrap secrets into a new keyslot of the given kind. */
static int
slot_make(const unsigned char *id, uint64_t slot_id,
    const struct account_secrets *s, enum slot_kind kind, const char *label,
    const char *cred, struct dir_slot *slot)
{
	memset(slot, 0, sizeof(*slot));
	slot->slot_id = slot_id;
	slot->kind = kind;
	strlcpy(slot->label, label, sizeof(slot->label));
	return (keys_slot_wrap(s, cred, strlen(cred), id, slot_id,
	    serverkeys_cost(), &slot->ks));
}

static void
user_add(struct reply *r, struct msg_admin *m)
{
	struct account_secrets	*s;
	struct dir_slot		 pw, rk;
	struct dir_account	 da;
	struct mbox		*mbox;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 id[ACCOUNT_ID_LEN], ps[DIR_STATE_LEN];
	char			 recovery[RECOVERY_TEXT_LEN];
	char			 norm[RECOVERY_TEXT_LEN], path[PATH_MAX];
	char			 addr[ADDRESS_MAX];
	int			 rc;

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
	if ((s = keys_secrets_new(pk)) == NULL) {
		reply_fail(r, "out of memory");
		return;
	}
	/* The id is bound into each keyslot, so it comes first. */
	randombytes_buf(id, sizeof(id));
	if (keys_recovery_new(recovery, sizeof(recovery)) == -1 ||
	    keys_recovery_normalise(recovery, norm, sizeof(norm)) == -1 ||
	    slot_make(id, 1, s, SLOT_PASSWORD, "password", m->secret,
	    &pw) == -1 ||
	    slot_make(id, 2, s, SLOT_RECOVERY, "recovery", norm, &rk) == -1) {
		reply_fail(r, "cannot derive keys (out of memory?)");
		goto done;
	}
	if ((rc = dir_account_add(addr, id, pk, &pw, &rk)) != DIR_OK) {
		reply_fail(r, "%s: %s", addr, dir_strerror(rc));
		goto done;
	}
	account_mailbox_path(id, path, sizeof(path));
	if (mbox_open(path, s->mailbox_key, id, &mbox) != MBOX_OK) {
		dir_account_del(addr, id);
		unlink(path);
		reply_fail(r, "%s: cannot create the mailbox", addr);
		goto done;
	}
	/* The new mailbox's counter and pages, as anchors for its unlock. */
	if (dir_counter_set(id, mbox_counter(mbox), mbox_pagestate(mbox,
	    ps) == MBOX_OK ? ps : NULL) != DIR_OK)
		log_warnx("%s: cannot record the commit counter", addr);
	mbox_close(mbox);
	log_audit("account-add", "account=%s uid=%u", addr, m->uid);
	reply_line(r, "%s created.", addr);
	reply_line(r, "Recovery key (shown once; keep it offline, it opens "
	    "the mailbox):");
	reply_line(r, "  %s", recovery);
	reply_ok(r);
 done:
	sodium_memzero(recovery, sizeof(recovery));
	sodium_memzero(norm, sizeof(norm));
	keys_secrets_free(s);
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
	struct dir_account	 da;
	struct account_secrets	*s;
	struct dir_slot		 slots[SLOTS_MAX], slot;
	char			 addr[ADDRESS_MAX];
	size_t			 n, i;
	int			 rc;

	if (!password_ok(r, m->secret2))
		return;
	rc = auth_unwrap(m->arg1, m->secret, strlen(m->secret), AUTH_NO_APP,
	    &da, &s);
	if (rc != DIR_OK) {
		log_sanitize(addr, sizeof(addr), m->arg1);
		log_audit("passwd-failure", "account=%s uid=%u", addr,
		    m->uid);
		reply_fail(r, "%s: %s", m->arg1, rc == DIR_EDENIED ?
		    "wrong password or recovery key, or no such account" :
		    dir_strerror(rc));
		return;
	}
	if (dir_slots(da.id, slots, SLOTS_MAX, &n) != DIR_OK)
		goto fail;
	for (i = 0; i < n && i < SLOTS_MAX; i++)
		if (slots[i].kind == SLOT_PASSWORD)
			break;
	if (i == n || i == SLOTS_MAX)
		goto fail;
	if (slot_make(da.id, slots[i].slot_id, s, SLOT_PASSWORD, "password",
	    m->secret2, &slot) == -1 || dir_slot_replace(da.id, &slot) !=
	    DIR_OK)
		goto fail;
	keys_secrets_free(s);
	auth_forget(da.id);
	log_audit("passwd", "account=%s uid=%u", da.address, m->uid);
	reply_line(r, "%s: password changed.", da.address);
	reply_ok(r);
	return;
 fail:
	keys_secrets_free(s);
	reply_fail(r, "%s: the password could not be changed", m->arg1);
}

/*
 * A new app password whose selector no app slot of the account has
 * (keys.h): draw again while it collides.  There are 64 selectors and
 * at most SLOTS_MAX slots, so a free one is always found, in a few
 * draws; the bound only guards against a broken random source.
 */
_Static_assert(SELECTOR_COUNT <= 64 && SELECTOR_COUNT > SLOTS_MAX,
    "the selectors must fit a uint64_t and outnumber the slots");

static int
apppass_draw(const struct dir_account *da, char *pass, size_t len,
    uint8_t *sel)
{
	struct dir_slot	 slots[SLOTS_MAX];
	uint64_t	 used = 0;
	size_t		 n, i;
	int		 tries;

	if (dir_slots(da->id, slots, SLOTS_MAX, &n) != DIR_OK)
		return (-1);
	for (i = 0; i < n && i < SLOTS_MAX; i++)
		if (slots[i].kind == SLOT_APP)
			used |= UINT64_C(1) << slots[i].selector;
	sodium_memzero(slots, sizeof(slots));
	for (tries = 0; tries < 1000; tries++) {
		keys_apppass_new(pass, len);
		*sel = keys_selector(serverkeys_server(), da->id, pass,
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
	struct dir_account	 da;
	struct account_secrets	*s;
	struct dir_slot		 slot;
	char			 pass[APPPASS_TEXT_LEN], label[LABEL_MAX];
	uint64_t		 slot_id;
	uint8_t			 sel;
	int			 rc;

	if (m->arg2[0] == '\0' || strlen(m->arg2) >= LABEL_MAX) {
		reply_fail(r, "an app password needs a label of 1 to %d "
		    "characters", LABEL_MAX - 1);
		return;
	}
	rc = auth_unwrap(m->arg1, m->secret, strlen(m->secret), AUTH_NO_APP,
	    &da, &s);
	if (rc != DIR_OK) {
		reply_fail(r, "%s: %s", m->arg1, rc == DIR_EDENIED ?
		    "wrong password or recovery key, or no such account" :
		    dir_strerror(rc));
		return;
	}
	if (apppass_draw(&da, pass, sizeof(pass), &sel) == -1) {
		reply_fail(r, "%s: cannot add the app password: too many",
		    da.address);
		goto done;
	}
	if ((rc = dir_slot_reserve(da.id, &slot_id)) != DIR_OK ||
	    slot_make(da.id, slot_id, s, SLOT_APP, m->arg2, pass, &slot) ==
	    -1) {
		reply_fail(r, "%s: cannot add the app password: %s",
		    da.address, dir_strerror(rc));
		goto done;
	}
	slot.selector = sel;
	if ((rc = dir_slot_add(da.id, &slot)) != DIR_OK) {
		reply_fail(r, "%s: cannot add the app password: %s",
		    da.address, dir_strerror(rc));
		goto done;
	}
	log_sanitize(label, sizeof(label), m->arg2);
	log_audit("apppass-add", "account=%s label=%s uid=%u", da.address,
	    label, m->uid);
	reply_line(r, "App password \"%s\" for %s (shown once):", m->arg2,
	    da.address);
	reply_line(r, "  %s", pass);
	reply_ok(r);
 done:
	sodium_memzero(pass, sizeof(pass));
	keys_secrets_free(s);
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
 * IMSG_CTL_OK or IMSG_CTL_FAIL, with the request's peer id.  The
 * secrets in the request are wiped before returning.
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
