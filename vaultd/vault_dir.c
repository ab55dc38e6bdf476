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
 * directory.db, the vault's register of domains, accounts, aliases and
 * keyslots.  Schema (version 1):
 *
 *	meta(key PRIMARY KEY, value)
 *	domains(name PRIMARY KEY, created)
 *	accounts(id PRIMARY KEY, address UNIQUE, domain, created, box_pk,
 *	    counter, next_slot, pagestate)
 *	keyslots(account, slot, kind, label, created, salt, nonce, wrapped,
 *	    opslimit, memlimit, hint, PRIMARY KEY (account, slot))
 *	aliases(address PRIMARY KEY, target, created)
 *
 * Addresses are stored lower-cased.  A catch-all alias is "@domain".
 * Deleting an account removes its keyslots in a transaction of their
 * own first: once that is committed the mailbox is unreadable
 * (crypto-shredding), whatever happens to its files after.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_dir.h"
#include "vault_vfs.h"

#define DIR_SCHEMA_VERSION	1

static sqlite3	*dir_db;

static const char dir_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS accounts(id BLOB PRIMARY KEY,"
    " address TEXT NOT NULL UNIQUE, domain TEXT NOT NULL,"
    " created INTEGER NOT NULL, box_pk BLOB NOT NULL,"
    " counter INTEGER NOT NULL DEFAULT 0,"
    " next_slot INTEGER NOT NULL DEFAULT 1, pagestate BLOB);"
    "CREATE TABLE IF NOT EXISTS keyslots(account BLOB NOT NULL,"
    " slot INTEGER NOT NULL, kind INTEGER NOT NULL, label TEXT NOT NULL,"
    " created INTEGER NOT NULL, salt BLOB NOT NULL, nonce BLOB NOT NULL,"
    " wrapped BLOB NOT NULL, opslimit INTEGER NOT NULL,"
    " memlimit INTEGER NOT NULL, hint BLOB NOT NULL,"
    " PRIMARY KEY (account, slot));"
    "CREATE TABLE IF NOT EXISTS aliases(address TEXT PRIMARY KEY,"
    " target TEXT NOT NULL, created INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES ('version', 1);";

static int	 dir_exec(const char *);
static int	 dir_selectors_migrate(void);
static int	 dir_pagestate_migrate(void);
static int	 dir_prepare(const char *, sqlite3_stmt **);
static int	 dir_step_done(sqlite3_stmt *, const char *);
static int	 dir_err(const char *);
static int	 domain_valid(const char *);

static int
dir_err(const char *what)
{
	log_warnx("directory: %s: %s", what, sqlite3_errmsg(dir_db));
	return (DIR_EIO);
}

static int
dir_exec(const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(dir_db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("directory: %s", err != NULL ? err : "exec");
		sqlite3_free(err);
		return (DIR_EIO);
	}
	return (DIR_OK);
}

static int
dir_prepare(const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(dir_db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return (dir_err("prepare"));
	}
	return (DIR_OK);
}

/* Step a statement that returns no row, then finalize it. */
static int
dir_step_done(sqlite3_stmt *st, const char *what)
{
	int	 rc;

	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
		return (DIR_EEXISTS);
	if (rc != SQLITE_DONE)
		return (dir_err(what));
	return (DIR_OK);
}

/*
 * Open (or create) directory.db with the key and database id derived
 * from the server key.
 */
int
dir_open(const char *path, const unsigned char *serverkey)
{
	unsigned char	 key[KEY_LEN], dbid[VFS_DBIDLEN];
	int		 rc;

	keys_subkey(serverkey, SUBKEY_DIRECTORY, key, sizeof(key));
	keys_subkey(serverkey, SUBKEY_DIRECTORY_ID, dbid, sizeof(dbid));
	rc = vfs_open_db(path, key, dbid, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &dir_db);
	sodium_memzero(key, sizeof(key));
	if (rc != SQLITE_OK) {
		log_warnx("directory: cannot open %s: %s", path,
		    sqlite3_errstr(rc));
		dir_db = NULL;
		return (DIR_EIO);
	}
	sqlite3_busy_timeout(dir_db, 5000);
	/* Removed keyslots must not linger in free pages. */
	if (dir_exec("PRAGMA secure_delete = ON") != DIR_OK ||
	    dir_exec(dir_schema) != DIR_OK ||
	    dir_pagestate_migrate() != DIR_OK ||
	    dir_selectors_migrate() != DIR_OK) {
		dir_close();
		return (DIR_EIO);
	}
	return (DIR_OK);
}

/*
 * Directories made before the page-state digest lack its column.  An
 * account without one recorded is not checked at its next unlock,
 * which records it.
 */
static int
dir_pagestate_migrate(void)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(dir_db, "SELECT pagestate FROM accounts"
	    " LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return (DIR_OK);
	}
	log_info("directory: adding the mailboxes' page-state digests");
	return (dir_exec("ALTER TABLE accounts ADD COLUMN pagestate BLOB"));
}

/*
 * App slots made before selectors kept a 16-byte keyed hash of the app
 * password, as good as a verifier to whoever holds vault.key.  They
 * are cut to their selector (the first byte, masked: keys.h), with
 * secure_delete overwriting the old bytes; then the log is emptied,
 * so no copy of them stays in it.  Two old slots of one account may
 * now share a selector: only the first can log in, and a warning
 * names the account, for its owner to make the other again.
 */
static int
dir_selectors_migrate(void)
{
	sqlite3_stmt	*st, *up;
	uint8_t		 sel;
	int		 rc, n = 0;

	if (dir_prepare("UPDATE keyslots SET hint = ? WHERE account = ?"
	    " AND slot = ?", &up) != DIR_OK)
		return (DIR_EIO);
	/* One at a time: the rows change under the query otherwise. */
	for (;;) {
		if (dir_prepare("SELECT account, slot, hint FROM keyslots"
		    " WHERE length(hint) > 1 LIMIT 1", &st) != DIR_OK) {
			sqlite3_finalize(up);
			return (DIR_EIO);
		}
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			sqlite3_finalize(st);
			break;
		}
		sel = ((const uint8_t *)sqlite3_column_blob(st, 2))[0] &
		    (SELECTOR_COUNT - 1);
		sqlite3_bind_blob(up, 1, &sel, 1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(up, 2, sqlite3_column_blob(st, 0),
		    sqlite3_column_bytes(st, 0), SQLITE_TRANSIENT);
		sqlite3_bind_int64(up, 3, sqlite3_column_int64(st, 1));
		sqlite3_finalize(st);
		rc = sqlite3_step(up);
		sqlite3_reset(up);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(up);
			log_warnx("directory: selector: %s",
			    sqlite3_errmsg(dir_db));
			return (DIR_EIO);
		}
		n++;
	}
	sqlite3_finalize(up);
	if (rc != SQLITE_DONE)
		return (DIR_EIO);
	if (n == 0)
		return (DIR_OK);
	if (dir_prepare("SELECT a.address FROM keyslots k JOIN accounts a"
	    " ON a.id = k.account WHERE k.kind = ? GROUP BY k.account,"
	    " k.hint HAVING count(*) > 1", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_int(st, 1, SLOT_APP);
	while (sqlite3_step(st) == SQLITE_ROW)
		log_warnx("directory: %s has two app passwords with one "
		    "selector: only the older logs in; make the other again",
		    sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	log_info("directory: %d app password hints cut to selectors", n);
	return (dir_checkpoint());
}

/*
 * Copy the write-ahead log into directory.db and empty it.  The
 * directory is small and rarely written, so SQLite's own checkpoint
 * (at 1000 pages of log) would almost never come: without this, the
 * accounts and their keyslots would live in directory.db-wal for good,
 * and a copy of directory.db alone would hold none of them.
 */
int
dir_checkpoint(void)
{
	int	 rc;

	if (dir_db == NULL)
		return (DIR_OK);
	if ((rc = sqlite3_wal_checkpoint_v2(dir_db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL)) != SQLITE_OK) {
		log_warnx("directory: checkpoint: %s", sqlite3_errstr(rc));
		return (DIR_EIO);
	}
	return (DIR_OK);
}

/* At shutdown: checkpointed, then closed (which removes the log). */
void
dir_close(void)
{
	if (dir_db == NULL)
		return;
	(void)dir_checkpoint();
	if (sqlite3_close(dir_db) != SQLITE_OK)
		log_warnx("directory: close: %s", sqlite3_errmsg(dir_db));
	dir_db = NULL;
}

/* RFC 1035 host name: labels of letters, digits, hyphens. */
static int
domain_valid(const char *d)
{
	size_t	 len = strlen(d), label = 0;
	size_t	 i;

	if (len == 0 || len > 253)
		return (0);
	for (i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0 || d[i - 1] == '-')
				return (0);
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)d[i]) && d[i] != '-')
			return (0);
		if (label == 0 && d[i] == '-')
			return (0);
		if (++label > 63)
			return (0);
	}
	return (label > 0 && d[len - 1] != '-');
}

/*
 * Check and normalise an address: local@domain, local part of printable
 * ASCII without space, quotes or angle brackets (UTF-8 local parts come
 * with SMTPUTF8 later), lower-cased.  Returns 1 when valid, with the
 * normal form in out.
 */
int
dir_address_valid(const char *in, char *out, size_t outlen)
{
	const char	*at;
	size_t		 i, len = strlen(in);

	if (len == 0 || len >= outlen || len >= ADDRESS_MAX)
		return (0);
	if ((at = strrchr(in, '@')) == NULL || at == in || at - in > 64)
		return (0);
	for (i = 0; in + i < at; i++) {
		unsigned char c = in[i];

		if (c <= 0x20 || c >= 0x7f || strchr("\"<>()[],;:\\@", c))
			return (0);
	}
	if (in[0] == '.' || at[-1] == '.' || strstr(in, "..") != NULL)
		return (0);
	for (i = 0; i < len; i++)
		out[i] = tolower((unsigned char)in[i]);
	out[len] = '\0';
	return (domain_valid(out + (at - in) + 1));
}

int
dir_domain_add(const char *name)
{
	sqlite3_stmt	*st;
	char		 d[256];
	size_t		 i;

	if (strlen(name) >= sizeof(d) || !domain_valid(name))
		return (DIR_EINVAL);
	for (i = 0; name[i] != '\0'; i++)
		d[i] = tolower((unsigned char)name[i]);
	d[i] = '\0';
	if (dir_prepare("INSERT INTO domains VALUES (?, ?)", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_text(st, 1, d, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, time(NULL));
	return (dir_step_done(st, "domain add"));
}

int
dir_domain_exists(const char *name)
{
	sqlite3_stmt	*st;
	int		 found;

	if (dir_prepare("SELECT 1 FROM domains WHERE name = lower(?)", &st) !=
	    DIR_OK)
		return (0);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return (found);
}

/* A domain with accounts or aliases is refused: delete those first. */
int
dir_domain_del(const char *name)
{
	sqlite3_stmt	*st;
	int		 busy, rc;

	if (!dir_domain_exists(name))
		return (DIR_ENOTFOUND);
	if (dir_prepare("SELECT (SELECT count(*) FROM accounts WHERE domain ="
	    " lower(?1)) + (SELECT count(*) FROM aliases WHERE address LIKE"
	    " '%@' || lower(?1))", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return (dir_err("domain del"));
	}
	busy = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	if (busy)
		return (DIR_EBUSY);
	if (dir_prepare("DELETE FROM domains WHERE name = lower(?)", &st) !=
	    DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = dir_step_done(st, "domain del");
	return (rc);
}

static int
dir_list(const char *sql, dir_name_cb cb, void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (dir_prepare(sql, &st) != DIR_OK)
		return (DIR_EIO);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1)) == -1)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return (dir_err("list"));
	return (DIR_OK);
}

int
dir_domain_list(dir_name_cb cb, void *arg)
{
	return (dir_list("SELECT name, '' FROM domains ORDER BY name", cb,
	    arg));
}

int
dir_account_list(dir_name_cb cb, void *arg)
{
	return (dir_list("SELECT address, (SELECT count(*) FROM keyslots"
	    " WHERE account = id) FROM accounts ORDER BY domain, address",
	    cb, arg));
}

int
dir_alias_list(dir_name_cb cb, void *arg)
{
	return (dir_list("SELECT address, target FROM aliases ORDER BY"
	    " address", cb, arg));
}

static int
slot_insert(const unsigned char *id, const struct dir_slot *s)
{
	sqlite3_stmt	*st;

	if (dir_prepare("INSERT INTO keyslots VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
	    " ?, ?, ?)", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_blob(st, 1, id, ACCOUNT_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)s->slot_id);
	sqlite3_bind_int(st, 3, s->kind);
	sqlite3_bind_text(st, 4, s->label, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, time(NULL));
	sqlite3_bind_blob(st, 6, s->ks.salt, sizeof(s->ks.salt),
	    SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 7, s->ks.nonce, sizeof(s->ks.nonce),
	    SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 8, s->ks.wrapped, sizeof(s->ks.wrapped),
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)s->ks.cost.opslimit);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)s->ks.cost.memlimit);
	sqlite3_bind_blob(st, 11, &s->selector, 1, SQLITE_TRANSIENT);
	return (dir_step_done(st, "keyslot insert"));
}

/*
 * A new account with its first two keyslots (password, recovery), in
 * one transaction.  The caller made the id, the keys and the slots
 * (wrapped with slot ids 1 and 2).
 */
int
dir_account_add(const char *address, const unsigned char *id,
    const unsigned char *box_pk, const struct dir_slot *pw,
    const struct dir_slot *recovery)
{
	struct dir_account	 a;
	sqlite3_stmt		*st;
	char			 addr[ADDRESS_MAX];
	int			 rc;

	if (!dir_address_valid(address, addr, sizeof(addr)))
		return (DIR_EINVAL);
	if (!dir_domain_exists(strchr(addr, '@') + 1))
		return (DIR_ENOTFOUND);
	if (dir_account_get(addr, &a) == DIR_OK)
		return (DIR_EEXISTS);
	memcpy(a.id, id, sizeof(a.id));

	if (dir_exec("BEGIN IMMEDIATE") != DIR_OK)
		return (DIR_EIO);
	if (dir_prepare("INSERT INTO accounts (id, address, domain, created,"
	    " box_pk, next_slot) VALUES (?, ?, ?, ?, ?, 3)", &st) != DIR_OK)
		goto fail;
	sqlite3_bind_blob(st, 1, a.id, sizeof(a.id), SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, strchr(addr, '@') + 1, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, time(NULL));
	sqlite3_bind_blob(st, 5, box_pk, crypto_box_PUBLICKEYBYTES,
	    SQLITE_TRANSIENT);
	if ((rc = dir_step_done(st, "account add")) != DIR_OK)
		goto fail;
	if (slot_insert(a.id, pw) != DIR_OK ||
	    slot_insert(a.id, recovery) != DIR_OK)
		goto fail;
	if (dir_exec("COMMIT") != DIR_OK)
		goto fail;
	return (DIR_OK);
 fail:
	dir_exec("ROLLBACK");
	return (DIR_EIO);
}

int
dir_account_get(const char *address, struct dir_account *a)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(a, 0, sizeof(*a));
	if (dir_prepare("SELECT id, address, box_pk, counter, created,"
	    " pagestate FROM accounts WHERE address = lower(?)", &st) !=
	    DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_text(st, 1, address, -1, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return (rc == SQLITE_DONE ? DIR_ENOTFOUND :
		    dir_err("account get"));
	}
	if (sqlite3_column_bytes(st, 0) != ACCOUNT_ID_LEN ||
	    sqlite3_column_bytes(st, 2) != crypto_box_PUBLICKEYBYTES) {
		sqlite3_finalize(st);
		log_warnx("directory: account %s is damaged", address);
		return (DIR_EIO);
	}
	memcpy(a->id, sqlite3_column_blob(st, 0), ACCOUNT_ID_LEN);
	strlcpy(a->address, (const char *)sqlite3_column_text(st, 1),
	    sizeof(a->address));
	memcpy(a->box_pk, sqlite3_column_blob(st, 2),
	    crypto_box_PUBLICKEYBYTES);
	a->counter = (uint64_t)sqlite3_column_int64(st, 3);
	a->created = sqlite3_column_int64(st, 4);
	if (sqlite3_column_type(st, 5) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 5) == DIR_STATE_LEN) {
		memcpy(a->pagestate, sqlite3_column_blob(st, 5),
		    DIR_STATE_LEN);
		a->has_pagestate = 1;
	} else if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
		sqlite3_finalize(st);
		log_warnx("directory: account %s is damaged", address);
		return (DIR_EIO);
	}
	sqlite3_finalize(st);
	return (DIR_OK);
}

/*
 * Delete an account: first its keyslots, committed on their own (from
 * then on nobody can read its mail), then the account itself.  The id
 * is returned so that the caller can remove the files.
 */
int
dir_account_del(const char *address, unsigned char *id)
{
	struct dir_account	 a;
	sqlite3_stmt		*st;
	int			 rc;

	if ((rc = dir_account_get(address, &a)) != DIR_OK)
		return (rc);
	memcpy(id, a.id, ACCOUNT_ID_LEN);
	if (dir_prepare("DELETE FROM keyslots WHERE account = ?", &st) !=
	    DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_blob(st, 1, a.id, sizeof(a.id), SQLITE_TRANSIENT);
	if ((rc = dir_step_done(st, "keyslots del")) != DIR_OK)
		return (rc);
	if (dir_prepare("DELETE FROM accounts WHERE id = ?", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_blob(st, 1, a.id, sizeof(a.id), SQLITE_TRANSIENT);
	return (dir_step_done(st, "account del"));
}

/*
 * An account's commit counter and, with it, its mailbox's page-state
 * digest at that commit; NULL records that it is not known, so that
 * no older digest is taken for the new counter's.
 */
int
dir_counter_set(const unsigned char *id, uint64_t counter,
    const unsigned char *pagestate)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (dir_prepare("UPDATE accounts SET counter = ?, pagestate = ?"
	    " WHERE id = ?", &st) != DIR_OK)
		return (DIR_EIO);
	rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)counter);
	if (rc == SQLITE_OK)
		rc = pagestate != NULL ? sqlite3_bind_blob(st, 2, pagestate,
		    DIR_STATE_LEN, SQLITE_TRANSIENT) :
		    sqlite3_bind_null(st, 2);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 3, id, ACCOUNT_ID_LEN,
		    SQLITE_TRANSIENT);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return (dir_err("counter"));
	}
	return (dir_step_done(st, "counter"));
}

/*
 * A fresh slot id for a credential about to be wrapped (the id is bound
 * into the wrapping).  Ids are never reused, so a removed credential's
 * slot cannot come back; an id reserved and then not used is harmless.
 */
int
dir_slot_reserve(const unsigned char *id, uint64_t *slot_id)
{
	sqlite3_stmt	*st;
	size_t		 n;
	int		 rc;

	if ((rc = dir_slots(id, NULL, 0, &n)) != DIR_OK)
		return (rc);
	if (n >= SLOTS_MAX)
		return (DIR_EBUSY);
	if (dir_prepare("UPDATE accounts SET next_slot = next_slot + 1 WHERE"
	    " id = ? RETURNING next_slot - 1", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_blob(st, 1, id, ACCOUNT_ID_LEN, SQLITE_TRANSIENT);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return (rc == SQLITE_DONE ? DIR_ENOTFOUND :
		    dir_err("slot reserve"));
	}
	*slot_id = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (DIR_OK);
}

/* Store a slot wrapped with an id from dir_slot_reserve(). */
int
dir_slot_add(const unsigned char *id, const struct dir_slot *s)
{
	return (slot_insert(id, s));
}

/* A slot rewrapped under a new credential (password change). */
int
dir_slot_replace(const unsigned char *id, const struct dir_slot *s)
{
	sqlite3_stmt	*st;

	if (dir_prepare("UPDATE keyslots SET salt = ?, nonce = ?, wrapped = ?,"
	    " opslimit = ?, memlimit = ?, created = ? WHERE account = ? AND"
	    " slot = ?", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_blob(st, 1, s->ks.salt, sizeof(s->ks.salt),
	    SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, s->ks.nonce, sizeof(s->ks.nonce),
	    SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, s->ks.wrapped, sizeof(s->ks.wrapped),
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)s->ks.cost.opslimit);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)s->ks.cost.memlimit);
	sqlite3_bind_int64(st, 6, time(NULL));
	sqlite3_bind_blob(st, 7, id, ACCOUNT_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)s->slot_id);
	if (dir_step_done(st, "keyslot replace") != DIR_OK)
		return (DIR_EIO);
	return (sqlite3_changes(dir_db) == 1 ? DIR_OK : DIR_ENOTFOUND);
}

/* Remove an app password's slot, by label. */
int
dir_slot_del(const unsigned char *id, enum slot_kind kind, const char *label)
{
	sqlite3_stmt	*st;

	if (dir_prepare("DELETE FROM keyslots WHERE account = ? AND kind = ?"
	    " AND label = ?", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_blob(st, 1, id, ACCOUNT_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_text(st, 3, label, -1, SQLITE_TRANSIENT);
	if (dir_step_done(st, "keyslot del") != DIR_OK)
		return (DIR_EIO);
	return (sqlite3_changes(dir_db) > 0 ? DIR_OK : DIR_ENOTFOUND);
}

/* The account's slots (at most max of them; *n tells how many exist). */
int
dir_slots(const unsigned char *id, struct dir_slot *out, size_t max,
    size_t *n)
{
	sqlite3_stmt	*st;
	struct dir_slot	*s;
	int		 rc;

	*n = 0;
	if (dir_prepare("SELECT slot, kind, label, created, salt, nonce,"
	    " wrapped, opslimit, memlimit, hint FROM keyslots WHERE account"
	    " = ? ORDER BY slot", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_blob(st, 1, id, ACCOUNT_ID_LEN, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n < max) {
			s = &out[*n];
			memset(s, 0, sizeof(*s));
			if (sqlite3_column_bytes(st, 4) != SLOT_SALT_LEN ||
			    sqlite3_column_bytes(st, 5) != SLOT_NONCE_LEN ||
			    sqlite3_column_bytes(st, 6) != SLOT_WRAPPED_LEN)
				continue;	/* damaged: never unwraps */
			s->slot_id = (uint64_t)sqlite3_column_int64(st, 0);
			s->kind = sqlite3_column_int(st, 1);
			strlcpy(s->label, (const char *)
			    sqlite3_column_text(st, 2), sizeof(s->label));
			s->created = sqlite3_column_int64(st, 3);
			memcpy(s->ks.salt, sqlite3_column_blob(st, 4),
			    SLOT_SALT_LEN);
			memcpy(s->ks.nonce, sqlite3_column_blob(st, 5),
			    SLOT_NONCE_LEN);
			memcpy(s->ks.wrapped, sqlite3_column_blob(st, 6),
			    SLOT_WRAPPED_LEN);
			s->ks.cost.opslimit =
			    (uint64_t)sqlite3_column_int64(st, 7);
			s->ks.cost.memlimit =
			    (size_t)sqlite3_column_int64(st, 8);
			/* One byte; a full hint of before is its first. */
			if (sqlite3_column_bytes(st, 9) >= 1)
				s->selector = ((const uint8_t *)
				    sqlite3_column_blob(st, 9))[0] &
				    (SELECTOR_COUNT - 1);
		}
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (dir_err("keyslots"));
	return (DIR_OK);
}

/*
 * alias: "user@domain" or "@domain" (catch-all) of a local domain, to
 * a target address (a local account, or an external address kept for
 * when outbound delivery exists).
 */
int
dir_alias_add(const char *alias, const char *target)
{
	sqlite3_stmt	*st;
	char		 a[ADDRESS_MAX], t[ADDRESS_MAX], probe[ADDRESS_MAX];
	const char	*domain;

	if (alias[0] == '@') {
		if (snprintf(probe, sizeof(probe), "x%s", alias) >=
		    (int)sizeof(probe) ||
		    !dir_address_valid(probe, a, sizeof(a)))
			return (DIR_EINVAL);
		memmove(a, a + 1, strlen(a));
	} else if (!dir_address_valid(alias, a, sizeof(a)))
		return (DIR_EINVAL);
	if (!dir_address_valid(target, t, sizeof(t)))
		return (DIR_EINVAL);
	domain = strchr(a, '@') + 1;
	if (!dir_domain_exists(domain))
		return (DIR_ENOTFOUND);
	if (dir_prepare("SELECT 1 FROM accounts WHERE address = ?", &st) !=
	    DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		sqlite3_finalize(st);
		return (DIR_EEXISTS);	/* an account has that address */
	}
	sqlite3_finalize(st);
	if (dir_prepare("INSERT INTO aliases VALUES (?, ?, ?)", &st) != DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, t, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time(NULL));
	return (dir_step_done(st, "alias add"));
}

int
dir_alias_del(const char *alias)
{
	sqlite3_stmt	*st;

	if (dir_prepare("DELETE FROM aliases WHERE address = lower(?)", &st) !=
	    DIR_OK)
		return (DIR_EIO);
	sqlite3_bind_text(st, 1, alias, -1, SQLITE_TRANSIENT);
	if (dir_step_done(st, "alias del") != DIR_OK)
		return (DIR_EIO);
	return (sqlite3_changes(dir_db) > 0 ? DIR_OK : DIR_ENOTFOUND);
}

static int
resolve_alias(const char *key, char *target, size_t len)
{
	sqlite3_stmt	*st;
	int		 found = 0;

	if (dir_prepare("SELECT target FROM aliases WHERE address = ?", &st) !=
	    DIR_OK)
		return (0);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		strlcpy(target, (const char *)sqlite3_column_text(st, 0),
		    len);
		found = 1;
	}
	sqlite3_finalize(st);
	return (found);
}

/*
 * Where mail for an address goes: an account (its address in out), an
 * external target, or nowhere.  Aliases are followed one level (an
 * alias to another alias is not expanded: it would allow loops).
 */
int
dir_resolve(const char *address, char *out, size_t outlen)
{
	struct dir_account	 a;
	char			 addr[ADDRESS_MAX], target[ADDRESS_MAX];

	if (!dir_address_valid(address, addr, sizeof(addr)))
		return (RESOLVE_NONE);
	if (!dir_domain_exists(strchr(addr, '@') + 1))
		return (RESOLVE_NONE);
	if (dir_account_get(addr, &a) == DIR_OK) {
		strlcpy(out, a.address, outlen);
		return (RESOLVE_LOCAL);
	}
	if (!resolve_alias(addr, target, sizeof(target)) &&
	    !resolve_alias(strchr(addr, '@'), target, sizeof(target)))
		return (RESOLVE_NONE);
	if (dir_account_get(target, &a) == DIR_OK) {
		strlcpy(out, a.address, outlen);
		return (RESOLVE_LOCAL);
	}
	if (dir_domain_exists(strchr(target, '@') + 1))
		return (RESOLVE_NONE);	/* local domain, no such account */
	strlcpy(out, target, outlen);
	return (RESOLVE_EXTERNAL);
}
