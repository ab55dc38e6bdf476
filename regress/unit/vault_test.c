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
 * The vault as a whole, without the daemons around it: accounts made
 * through the admin requests, logins, delivery to locked accounts (the
 * spool) and to unlocked ones, the import at unlock, the freshness
 * check, tampering, deletion; and, after all that, not one byte of any
 * message, address or password in clear anywhere under the data
 * directory.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "login_wait.h"
#include "test.h"
#include "util.h"
#include "vault_spool.h"
#include "vault_vfs.h"
#include "vaultd.h"

TEST_GLOBALS;

#define PW_ALICE	"alice's long password"
#define PW_BOB		"bob's long password"

static char		 tmpdir[] = "/tmp/vault_test.XXXXXX";
static struct imsgev	 admin_iev;
static struct imsgbuf	 admin_peer;
static char		 recovery_alice[RECOVERY_TEXT_LEN];
static char		 last_lines[4096];

static void
admin_handler(struct imsgev *iev, struct imsg *imsg)
{
	(void)iev;
	(void)imsg;
}

/*
 * One admin request, run to its answer (the ones that need Argon2id
 * answer from the loop); 0 when vaultd answered OK.  Lines (and a
 * failure's message) in last_lines.
 */
static int
admin(uint32_t op, const char *a1, const char *a2, const char *s1,
    const char *s2)
{
	struct msg_admin	 m;
	int			 done;

	admin_msg(&m, op, a1, a2, s1, s2);
	admin_request(&admin_iev, 7, &m);
	done = admin_answer(&admin_iev, &admin_peer, 7, last_lines,
	    sizeof(last_lines));
	CHECK(done != -2);
	return (done);
}

/* A bundle carrying token in every section. */
static void *
make_bundle(const char *token, size_t *lenp)
{
	struct bundle	 b;
	char		 raw[512], subj[128], text[256];
	void		*data;
	int		 fd;

	snprintf(raw, sizeof(raw), "From: sender@example.org\r\nSubject: "
	    "%s\r\n\r\nThe body says %s.\r\n", token, token);
	snprintf(subj, sizeof(subj), "subject %s", token);
	snprintf(text, sizeof(text), "The body says %s.", token);
	memset(&b, 0, sizeof(b));
	b.internaldate = 1700000000;
	b.sec[BUNDLE_RAW] = raw;
	b.len[BUNDLE_RAW] = strlen(raw);
	b.sec[BUNDLE_ENVELOPE] = "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";
	b.len[BUNDLE_ENVELOPE] = strlen(b.sec[BUNDLE_ENVELOPE]);
	b.sec[BUNDLE_BODYSTRUCTURE] = "(\"TEXT\" \"PLAIN\" NIL NIL NIL "
	    "\"7BIT\" 20 1)";
	b.len[BUNDLE_BODYSTRUCTURE] = strlen(b.sec[BUNDLE_BODYSTRUCTURE]);
	b.sec[BUNDLE_SUBJECT] = subj;
	b.len[BUNDLE_SUBJECT] = strlen(subj);
	b.sec[BUNDLE_TEXT] = text;
	b.len[BUNDLE_TEXT] = strlen(text);
	CHECK(bundle_write_fd(&b, &fd) == 0);
	CHECK(bundle_map(fd, &data, lenp) == 0);
	close(fd);
	return (data);
}

static int
deliver(const char *to, const char *token)
{
	void	*data;
	size_t	 len;
	int	 rc;

	data = make_bundle(token, &len);
	rc = account_deliver(to, data, len);
	bundle_unmap(data, len);
	return (rc);
}

static int
count_cb(void *arg, const struct mbox_msg *m)
{
	(void)m;
	(*(int *)arg)++;
	return (0);
}

static int
inbox_count(struct vault_account *a)
{
	struct mbox_range	 r = { 1, UINT32_MAX };
	int			 n = 0;

	CHECK(mbox_fetch(a->mbox, "INBOX", &r, 1, 0, count_cb, &n) ==
	    MBOX_OK);
	return (n);
}

static unsigned int
spooled(const char *address)
{
	struct dir_account	 da;
	unsigned int		 n;

	CHECK(dir_account_get(address, &da) == DIR_OK);
	CHECK(spool_count(account_spool(), da.id, &n) == 0);
	return (n);
}

static void
lock_all(const char *address)
{
	struct dir_account	 da;
	struct vault_account	*a;

	CHECK(dir_account_get(address, &da) == DIR_OK);
	if ((a = account_unlocked(da.id)) != NULL) {
		session_end_account(a);
		if (account_unlocked(da.id) != NULL)
			account_lock(a);
	}
}


static void
test_setup(void)
{
	struct kdf_cost	 cost;
	int		 sp[2], dirfd, spoolfd;

	CHECK(mkdtemp(tmpdir) != NULL);
	CHECK(chdir(tmpdir) == 0);
	CHECK(vfs_register() == 0);
	CHECK((dirfd = open(".", O_RDONLY | O_DIRECTORY)) != -1);
	CHECK(serverkeys_load(dirfd) == 0);
	CHECK(mkdir(VAULT_MAILBOXES, 0700) == 0);
	CHECK(mkdir(VAULT_SPOOL, 0700) == 0);
	CHECK((spoolfd = open(VAULT_SPOOL, O_RDONLY | O_DIRECTORY)) != -1);
	account_set_spool(spoolfd);
	close(dirfd);
	CHECK(dir_open(VAULT_DIRECTORY, serverkeys_server()) == DIR_OK);
	memset(&cost, 0, sizeof(cost));
	cost.opslimit = 1;
	cost.memlimit = 8 * 1024 * 1024;
	serverkeys_set_cost(&cost);
	account_set_grace(0);
	serverkeys_set_ready(1);
	account_init();
	CHECK(kdf_init() == 0);
	CHECK(kdf_start(NULL) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == 0);
	CHECK(imsgev_init(&admin_iev, sp[0], "ctld", admin_handler, NULL,
	    0) == 0);
	CHECK(imsgbuf_init(&admin_peer, sp[1]) == 0);
}

static void
test_admin_accounts(void)
{
	char	*p;

	CHECK(admin(ADMIN_DOMAIN_ADD, "test.example", NULL, NULL, NULL) == 0);
	CHECK(admin(ADMIN_USER_ADD, "alice@test.example", NULL, PW_ALICE,
	    NULL) == 0);
	CHECK((p = strstr(last_lines, "\n  ")) != NULL);
	strlcpy(recovery_alice, p + 3, sizeof(recovery_alice));
	recovery_alice[strcspn(recovery_alice, "\n")] = '\0';
	CHECK(strlen(recovery_alice) == RECOVERY_TEXT_LEN - 1);
	CHECK(admin(ADMIN_USER_ADD, "bob@test.example", NULL, PW_BOB,
	    NULL) == 0);
	CHECK(admin(ADMIN_USER_ADD, "bob@test.example", NULL, PW_BOB,
	    NULL) == -1);
	CHECK(admin(ADMIN_ALIAS_ADD, "postmaster@test.example",
	    "alice@test.example", NULL, NULL) == 0);
	CHECK(admin(ADMIN_ALIAS_ADD, "@test.example", "bob@test.example",
	    NULL, NULL) == 0);
}

/*
 * The periodic checkpoint: directory.db's log is copied into it and
 * emptied, so the file alone holds every account (issue 14, 5).
 */
static void
test_dir_checkpoint(void)
{
	struct stat	 st;
	char		 wal[64];

	snprintf(wal, sizeof(wal), "%s-wal", VAULT_DIRECTORY);
	CHECK(admin(ADMIN_USER_ADD, "dave@test.example", NULL, PW_ALICE,
	    NULL) == 0);
	CHECK(stat(wal, &st) == 0 && st.st_size > 0);
	CHECK(dir_checkpoint() == DIR_OK);
	CHECK(stat(wal, &st) == 0 && st.st_size == 0);
	CHECK(admin(ADMIN_USER_DEL, "dave@test.example", NULL, NULL, NULL) ==
	    0);
}

static void
test_resolve(void)
{
	char	 out[ADDRESS_MAX];

	CHECK(dir_resolve("Alice@Test.Example", out, sizeof(out)) ==
	    RESOLVE_LOCAL);
	CHECK_STR(out, "alice@test.example");
	CHECK(dir_resolve("postmaster@test.example", out, sizeof(out)) ==
	    RESOLVE_LOCAL);
	CHECK_STR(out, "alice@test.example");
	CHECK(dir_resolve("anything@test.example", out, sizeof(out)) ==
	    RESOLVE_LOCAL);
	CHECK_STR(out, "bob@test.example");
	CHECK(dir_resolve("alice@elsewhere.example", out, sizeof(out)) ==
	    RESOLVE_NONE);
	CHECK(dir_resolve("not an address", out, sizeof(out)) ==
	    RESOLVE_NONE);
}

/* Locked: sealed into the spool; the next login imports it. */
static void
test_deliver_locked_then_unlock(void)
{
	struct vault_account	*a;

	CHECK(deliver("alice@test.example", "zqtoken0000000001") ==
	    MBOX_OK);
	CHECK(deliver("alice@test.example", "zqtoken0000000002") ==
	    MBOX_OK);
	CHECK(spooled("alice@test.example") == 2);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-client", "w-client", &a) == 0);
	CHECK(spooled("alice@test.example") == 0);
	CHECK(inbox_count(a) == 2);
	/*
	 * Unlocked: sealed too, and answered; imported once deliveries
	 * pause, or before the account's next request (without workers,
	 * at once).
	 */
	CHECK(deliver("alice@test.example", "zqtoken0000000003") ==
	    MBOX_OK);
	CHECK(spooled("alice@test.example") == 1);
	account_request(a);
	CHECK(spooled("alice@test.example") == 0);
	CHECK(inbox_count(a) == 3);
	CHECK(deliver("nobody@nowhere.example", "x") == MBOX_ENOTFOUND);
	lock_all("alice@test.example");
}

static void
test_logins(void)
{
	struct vault_account	*a;
	uint32_t		 sid;

	CHECK(login("alice@test.example", "wrong", 5, "a-c1", "w-c1",
	    &a) == MBOX_EAUTH);
	CHECK(login("nobody@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c1", "w-c1", &a) == MBOX_EAUTH);
	CHECK(login("alice@test.example", recovery_alice,
	    strlen(recovery_alice), "a-c1", "w-c1", &a) == 0);
	CHECK((sid = session_new(ROLE_IMAPD, a)) != 0);
	CHECK(session_get(sid, ROLE_IMAPD) != NULL);
	CHECK(session_get(sid, ROLE_SMTPD) == NULL);
	/* While unlocked, the same credential is checked by verifier. */
	CHECK(login("alice@test.example", recovery_alice,
	    strlen(recovery_alice), "a-c1", "w-c1", &a) == 0);
	session_end(sid, ROLE_IMAPD);
	lock_all("alice@test.example");
}

/*
 * A login waiting for Argon2id belongs to its front: when the front
 * goes away (auth_cancel) the answer is never given and the account is
 * not unlocked; another front's logins go on.  A known verifier
 * answers at once, without queueing.
 */
static void
test_login_cancelled(void)
{
	struct vault_account	*a;
	struct dir_account	 da;
	struct login_wait	 w;
	int			 i;

	memset(&w, 0, sizeof(w));
	CHECK(auth_login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c9", "w-c9", ROLE_SMTPD, 7, login_done, &w, &a) ==
	    AUTH_PENDING);
	auth_cancel(ROLE_SMTPD);
	CHECK(login("bob@test.example", PW_BOB, strlen(PW_BOB), "a-c9",
	    "w-c9", &a) == MBOX_OK);
	/* Same front, same credential: the verifier, no queue. */
	CHECK(auth_login("bob@test.example", PW_BOB, strlen(PW_BOB), "a-c9",
	    "w-c9", ROLE_IMAPD, 8, login_done, &w, &a) == MBOX_OK);
	for (i = 0; i < 20; i++)
		CHECK(event_loop(EVLOOP_NONBLOCK) != -1);
	CHECK(!w.done);
	CHECK(dir_account_get("alice@test.example", &da) == DIR_OK);
	CHECK(account_unlocked(da.id) == NULL);
	lock_all("bob@test.example");
}

/*
 * A raw look at directory.db's keyslots: the length of every app
 * slot's hint, and the largest, through a second connection of the
 * VFS with the directory's key.  With set, the app slot labelled set
 * gets that hint first.
 */
static int
app_hints(size_t *maxlen, const char *set, const unsigned char *hint,
    size_t hintlen)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	unsigned char	 key[KEY_LEN], dbid[VFS_DBIDLEN];
	int		 n = 0;

	*maxlen = 0;
	dir_close();
	keys_subkey(serverkeys_server(), SUBKEY_DIRECTORY, key, sizeof(key));
	keys_subkey(serverkeys_server(), SUBKEY_DIRECTORY_ID, dbid,
	    sizeof(dbid));
	CHECK(vfs_open_db(VAULT_DIRECTORY, key, dbid, SQLITE_OPEN_READWRITE,
	    &db) == SQLITE_OK);
	if (set != NULL) {
		CHECK(sqlite3_prepare_v2(db, "UPDATE keyslots SET hint = ?"
		    " WHERE label = ?", -1, &st, NULL) == SQLITE_OK);
		sqlite3_bind_blob(st, 1, hint, (int)hintlen, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, set, -1, SQLITE_STATIC);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
		CHECK(sqlite3_changes(db) == 1);
		sqlite3_finalize(st);
	}
	CHECK(sqlite3_prepare_v2(db, "SELECT length(hint) FROM keyslots"
	    " WHERE kind = 1", -1, &st, NULL) == SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if ((size_t)sqlite3_column_int(st, 0) > *maxlen)
			*maxlen = (size_t)sqlite3_column_int(st, 0);
		n++;
	}
	sqlite3_finalize(st);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(dir_open(VAULT_DIRECTORY, serverkeys_server()) == DIR_OK);
	sodium_memzero(key, sizeof(key));
	return (n);
}

/* One statement on directory.db through a second connection. */
static void
dir_raw(const char *sql)
{
	sqlite3		*db;
	unsigned char	 key[KEY_LEN], dbid[VFS_DBIDLEN];

	dir_close();
	keys_subkey(serverkeys_server(), SUBKEY_DIRECTORY, key, sizeof(key));
	keys_subkey(serverkeys_server(), SUBKEY_DIRECTORY_ID, dbid,
	    sizeof(dbid));
	CHECK(vfs_open_db(VAULT_DIRECTORY, key, dbid, SQLITE_OPEN_READWRITE,
	    &db) == SQLITE_OK);
	sodium_memzero(key, sizeof(key));
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(dir_open(VAULT_DIRECTORY, serverkeys_server()) == DIR_OK);
}

/*
 * Issue 14, 8: the spool's public key in directory.db must be the
 * account's (its secret key is in the keyslot): alice's swapped for
 * bob's, her unlock is refused, and works again once it is back.
 */
static void
test_spool_key_checked(void)
{
	struct vault_account	*a;

	lock_all("alice@test.example");
	dir_raw("CREATE TABLE saved AS SELECT box_pk FROM accounts"
	    " WHERE address = 'alice@test.example';"
	    "UPDATE accounts SET box_pk = (SELECT box_pk FROM accounts"
	    " WHERE address = 'bob@test.example')"
	    " WHERE address = 'alice@test.example'");
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c9", "w-c9", &a) == MBOX_ETEMP);
	dir_raw("UPDATE accounts SET box_pk = (SELECT box_pk FROM saved)"
	    " WHERE address = 'alice@test.example'; DROP TABLE saved");
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c9", "w-c9", &a) == 0);
	lock_all("alice@test.example");
}

/*
 * Issue 14, 4: an app password's slot keeps a selector of a few bits,
 * not a 16-byte keyed hash that would check a guess without Argon2id;
 * an account's selectors are all different; and a directory of before,
 * with full hints, is cut to selectors at open, its app passwords still
 * good.
 */
static void
test_app_selectors(void)
{
	struct vault_account	*a;
	struct dir_account	 da;
	struct dir_slot		 slots[SLOTS_MAX];
	crypto_generichash_state hs;
	unsigned char		 k[KEY_LEN], full[16];
	char			 ap[APPPASS_TEXT_LEN], label[16], *p;
	uint64_t		 seen = 0;
	size_t			 maxlen, n, i;

	for (i = 0; i < 12; i++) {
		snprintf(label, sizeof(label), "device%zu", i);
		CHECK(admin(ADMIN_APPPASS_ADD, "bob@test.example", label,
		    PW_BOB, NULL) == 0);
	}
	CHECK((p = strstr(last_lines, "\n  ")) != NULL);
	strlcpy(ap, p + 3, sizeof(ap));
	CHECK(app_hints(&maxlen, NULL, NULL, 0) >= 12);
	CHECK(maxlen == 1);
	CHECK(dir_account_get("bob@test.example", &da) == DIR_OK);
	CHECK(dir_slots(da.id, slots, SLOTS_MAX, &n) == DIR_OK);
	for (i = 0; i < n; i++) {
		if (slots[i].kind != SLOT_APP)
			continue;
		CHECK(slots[i].selector < SELECTOR_COUNT);
		CHECK((seen & (UINT64_C(1) << slots[i].selector)) == 0);
		seen |= UINT64_C(1) << slots[i].selector;
	}
	/* A hint of before: the full keyed hash, as keys_hint made it. */
	keys_subkey(serverkeys_server(), SUBKEY_HINT, k, sizeof(k));
	crypto_generichash_init(&hs, k, sizeof(k), sizeof(full));
	crypto_generichash_update(&hs, da.id, ACCOUNT_ID_LEN);
	crypto_generichash_update(&hs, (const unsigned char *)ap,
	    strlen(ap));
	crypto_generichash_final(&hs, full, sizeof(full));
	CHECK(app_hints(&maxlen, "device11", full, sizeof(full)) >= 12);
	CHECK(maxlen == sizeof(full));
	/* dir_open() at the end of that cut it. */
	CHECK(app_hints(&maxlen, NULL, NULL, 0) >= 12);
	CHECK(maxlen == 1);
	CHECK(login("bob@test.example", ap, strlen(ap), "a-c8", "w-c8",
	    &a) == 0);
	lock_all("bob@test.example");
	for (i = 0; i < 12; i++) {
		snprintf(label, sizeof(label), "device%zu", i);
		CHECK(admin(ADMIN_APPPASS_DEL, "bob@test.example", label,
		    NULL, NULL) == 0);
	}
	sodium_memzero(k, sizeof(k));
}

/* App passwords: found by selector, revoked at once, no use for changes. */
static void
test_app_passwords(void)
{
	struct vault_account	*a;
	char			 ap[APPPASS_TEXT_LEN], *p;

	CHECK(admin(ADMIN_APPPASS_ADD, "alice@test.example", "phone",
	    PW_ALICE, NULL) == 0);
	CHECK((p = strstr(last_lines, "\n  ")) != NULL);
	strlcpy(ap, p + 3, sizeof(ap));
	CHECK(keys_apppass_shaped(ap));
	CHECK(admin(ADMIN_APPPASS_ADD, "alice@test.example", "tablet",
	    PW_ALICE, NULL) == 0);
	CHECK(login("alice@test.example", ap, strlen(ap), "a-c7", "w-c7",
	    &a) == 0);
	/*
	 * A session keeps her unlocked while the requests below run the
	 * loop (the grace here is 0).
	 */
	CHECK(session_new(ROLE_IMAPD, a) != 0);
	/* An app password cannot change the account. */
	CHECK(admin(ADMIN_APPPASS_ADD, "alice@test.example", "laptop", ap,
	    NULL) == -1);
	CHECK(admin(ADMIN_USER_PASSWD, "alice@test.example", NULL, ap,
	    "a brand new password") == -1);
	/* Revoked: refused at once, though the account is still unlocked. */
	CHECK(admin(ADMIN_APPPASS_DEL, "alice@test.example", "phone", NULL,
	    NULL) == 0);
	CHECK(account_unlocked(a->id) != NULL);
	CHECK(login("alice@test.example", ap, strlen(ap), "a-c7", "w-c7",
	    &a) == MBOX_EAUTH);
	lock_all("alice@test.example");
	/* Passwords shaped like the other credentials are refused. */
	CHECK(admin(ADMIN_USER_ADD, "carol@test.example", NULL,
	    "abcd-efgh-jkmn-pqrs", NULL) == -1);
	CHECK(admin(ADMIN_USER_ADD, "carol@test.example", NULL,
	    recovery_alice, NULL) == -1);
}

/*
 * Issue 14, 3: five wrong passwords lock the account out for the
 * network they came from, not for its owner elsewhere; an address the
 * account logged in from before still gets in; and so does a
 * credential an unlocked account knows, from anywhere.
 */
static void
test_lockout(void)
{
	struct vault_account	*a;
	int			 i;

	/* bob's phone logs in from the network the attack will come from. */
	CHECK(login("bob@test.example", PW_BOB, strlen(PW_BOB), "a-phone",
	    "w-c2", &a) == 0);
	lock_all("bob@test.example");
	for (i = 0; i < AUTH_ACCOUNT_FAILS; i++)
		CHECK(login("bob@test.example", "wrong password", 14,
		    "a-c2", "w-c2", &a) == MBOX_EAUTH);
	/* The network that guessed is locked out, the right password too. */
	CHECK(login("bob@test.example", PW_BOB, strlen(PW_BOB),
	    "a-c2b", "w-c2", &a) == MBOX_ELOCKED);
	/* bob from any other network is not. */
	CHECK(login("bob@test.example", PW_BOB, strlen(PW_BOB),
	    "a-c3", "w-c3", &a) == 0);
	/* Unlocked now: his credential gets in from the locked network. */
	CHECK(login("bob@test.example", PW_BOB, strlen(PW_BOB),
	    "a-c2b", "w-c2", &a) == 0);
	lock_all("bob@test.example");
	/* Again; the address that logged in before is let through. */
	for (i = 0; i < AUTH_ACCOUNT_FAILS; i++)
		CHECK(login("bob@test.example", "wrong password", 14,
		    "a-c2", "w-c2", &a) == MBOX_EAUTH);
	CHECK(login("bob@test.example", PW_BOB, strlen(PW_BOB),
	    "a-c2d", "w-c2", &a) == MBOX_ELOCKED);
	CHECK(login("bob@test.example", PW_BOB, strlen(PW_BOB),
	    "a-phone", "w-c2", &a) == 0);
	lock_all("bob@test.example");
}

/*
 * Failures rotated over the addresses of one network, each address
 * under its own limit and each account under its own: the network is
 * locked out, another network is not, and neither is the account.
 */
static void
test_lockout_network(void)
{
	struct vault_account	*a;
	char			 user[64], narrow[32];
	int			 i;

	for (i = 0; i < AUTH_WIDE_FAILS; i++) {
		snprintf(user, sizeof(user), "nobody%d@test.example",
		    i / (AUTH_ACCOUNT_FAILS - 1));
		snprintf(narrow, sizeof(narrow), "a-n%d",
		    i / (AUTH_NARROW_FAILS - 1));
		CHECK(login(user, "wrong password", 14, narrow, "w-net",
		    &a) == MBOX_EAUTH);
	}
	CHECK(login("alice@test.example", PW_ALICE,
	    strlen(PW_ALICE), "a-fresh", "w-net", &a) == MBOX_ELOCKED);
	CHECK(login("alice@test.example", PW_ALICE,
	    strlen(PW_ALICE), "a-fresh", "w-other", &a) == 0);
	lock_all("alice@test.example");
	/* One address alone: its own limit comes first. */
	for (i = 0; i < AUTH_NARROW_FAILS; i++) {
		snprintf(user, sizeof(user), "none%d@test.example",
		    i / (AUTH_ACCOUNT_FAILS - 1));
		CHECK(login(user, "wrong password", 14, "a-one",
		    "w-third", &a) == MBOX_EAUTH);
	}
	CHECK(login("alice@test.example", PW_ALICE,
	    strlen(PW_ALICE), "a-one", "w-third", &a) == MBOX_ELOCKED);
	CHECK(login("alice@test.example", PW_ALICE,
	    strlen(PW_ALICE), "a-two", "w-third", &a) == 0);
	lock_all("alice@test.example");
}

/* A mailbox put back to an older copy is refused, loudly. */
/* Copy a file whole (the tests' "cp"), 0 or -1. */
static int
copy_file(const char *from, const char *to)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 in, out, rc = -1;

	if ((in = open(from, O_RDONLY)) == -1)
		return (-1);
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		close(in);
		return (-1);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_all(out, buf, n) == -1)
			goto done;
	rc = n == 0 ? 0 : -1;
 done:
	close(in);
	close(out);
	return (rc);
}

static void
test_rollback_refused(void)
{
	struct vault_account	*a;
	struct dir_account	 da;
	char			 path[PATH_MAX], old[PATH_MAX + 8];
	char			 new[PATH_MAX + 8], side[PATH_MAX + 8];

	CHECK(dir_account_get("alice@test.example", &da) == DIR_OK);
	account_mailbox_path(da.id, path, sizeof(path));
	snprintf(old, sizeof(old), "%s.old", path);
	snprintf(new, sizeof(new), "%s.new", path);
	CHECK(copy_file(path, old) == 0);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c4", "w-c4", &a) == 0);
	CHECK(deliver("alice@test.example", "zqtoken0000000004") ==
	    MBOX_OK);
	account_request(a);
	lock_all("alice@test.example");
	/* Put the older copy back: refused. */
	CHECK(copy_file(path, new) == 0);
	CHECK(copy_file(old, path) == 0);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c4", "w-c4", &a) == MBOX_ETEMP);
	/* The current one again: accepted, with every message. */
	CHECK(rename(new, path) == 0);
	CHECK(unlink(old) == 0);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c4", "w-c4", &a) == 0);
	CHECK(inbox_count(a) == 4);
	lock_all("alice@test.example");
}

/* A whole file into memory (*len bytes); NULL on error. */
static unsigned char *
read_all(const char *path, size_t *len)
{
	struct stat	 sb;
	unsigned char	*buf;
	FILE		*fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return (NULL);
	if (fstat(fileno(fp), &sb) == -1 || (buf = malloc(sb.st_size +
	    1)) == NULL) {
		fclose(fp);
		return (NULL);
	}
	*len = fread(buf, 1, sb.st_size, fp);
	fclose(fp);
	return (buf);
}

/*
 * Issue 14, 1: alice's mailbox at the counter the directory recorded,
 * but with the pages a delivery changed (all but page 1 and page 2,
 * where the counter is) put back from the copy before it: every page
 * is authentic, and the unlock is refused all the same.  A directory
 * from before the digest gets its column; an account without one
 * recorded logs in and has it recorded.
 */
static void
test_pagestate_refused(void)
{
	struct vault_account	*a;
	struct dir_account	 da;
	unsigned char		*cur, *prev;
	char			 path[PATH_MAX], old[PATH_MAX + 8];
	char			 keep[PATH_MAX + 8];
	size_t			 clen, plen, off;
	FILE			*fp;
	int			 spliced = 0;

	CHECK(dir_account_get("alice@test.example", &da) == DIR_OK);
	CHECK(da.has_pagestate);
	account_mailbox_path(da.id, path, sizeof(path));
	snprintf(old, sizeof(old), "%s.old", path);
	snprintf(keep, sizeof(keep), "%s.keep", path);
	CHECK(copy_file(path, old) == 0);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c4", "w-c4", &a) == 0);
	CHECK(deliver("alice@test.example", "zqtoken0000000006") ==
	    MBOX_OK);
	account_request(a);
	lock_all("alice@test.example");
	CHECK(copy_file(path, keep) == 0);

	CHECK((cur = read_all(path, &clen)) != NULL);
	CHECK((prev = read_all(old, &plen)) != NULL);
	for (off = 2 * 4096; off + 4096 <= clen && off + 4096 <= plen;
	    off += 4096) {
		if (memcmp(cur + off, prev + off, 4096) == 0)
			continue;
		memcpy(cur + off, prev + off, 4096);
		spliced++;
	}
	CHECK(spliced > 0);
	CHECK((fp = fopen(path, "wb")) != NULL);
	CHECK(fwrite(cur, 1, clen, fp) == clen);
	CHECK(fclose(fp) == 0);
	free(cur);
	free(prev);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c4", "w-c4", &a) == MBOX_ETEMP);
	CHECK(account_unlocked(da.id) == NULL);

	/* The current file again: accepted. */
	CHECK(rename(keep, path) == 0);
	CHECK(unlink(old) == 0);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c4", "w-c4", &a) == 0);
	CHECK(inbox_count(a) == 5);
	lock_all("alice@test.example");

	/* A directory of before: no column, then no digest, then one. */
	dir_raw("ALTER TABLE accounts DROP COLUMN pagestate");
	CHECK(dir_account_get("alice@test.example", &da) == DIR_OK);
	CHECK(!da.has_pagestate);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c4", "w-c4", &a) == 0);
	lock_all("alice@test.example");
	CHECK(dir_account_get("alice@test.example", &da) == DIR_OK);
	CHECK(da.has_pagestate);
}

static const char *const needles[] = {
	"zqtoken", "alice", "bob@", "sender@example.org", "The body says",
	PW_ALICE, PW_BOB, "postmaster", "test.example", NULL
};
static int	 found_plaintext;

static int
scan_file(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	FILE	*fp;
	char	*buf;
	size_t	 i, n;

	(void)f;
	if (type != FTW_F || sb->st_size == 0)
		return (0);
	if ((fp = fopen(path, "rb")) == NULL)
		return (0);
	if ((buf = malloc(sb->st_size)) == NULL) {
		fclose(fp);
		return (0);
	}
	n = fread(buf, 1, sb->st_size, fp);
	fclose(fp);
	for (i = 0; needles[i] != NULL; i++) {
		if (memmem(buf, n, needles[i], strlen(needles[i])) != NULL) {
			fprintf(stderr, "plaintext \"%s\" in %s\n", needles[i],
			    path);
			found_plaintext++;
		}
	}
	if (memmem(buf, n, recovery_alice, 8) != NULL)
		found_plaintext++;
	free(buf);
	return (0);
}

static void
test_no_plaintext_at_rest(void)
{
	/* Something in every state: spooled, imported, in the WAL. */
	CHECK(deliver("bob@test.example", "zqtoken0000000005") == MBOX_OK);
	CHECK(spooled("bob@test.example") == 1);
	found_plaintext = 0;
	CHECK(nftw(".", scan_file, 16, FTW_PHYS) == 0);
	CHECK(found_plaintext == 0);
}

static void
test_tampered_mailbox(void)
{
	struct vault_account	*a;
	struct dir_account	 da;
	char			 path[PATH_MAX];
	unsigned char		 b;
	int			 fd;

	CHECK(dir_account_get("alice@test.example", &da) == DIR_OK);
	account_mailbox_path(da.id, path, sizeof(path));
	CHECK((fd = open(path, O_RDWR)) != -1);
	CHECK(pread(fd, &b, 1, 4096 + 200) == 1);
	b ^= 0x10;
	CHECK(pwrite(fd, &b, 1, 4096 + 200) == 1);
	close(fd);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c5", "w-c5", &a) == MBOX_ETEMP);
	/* Another account is not affected. */
	CHECK(deliver("bob@test.example", "zqtoken0000000006") == MBOX_OK);
	CHECK((fd = open(path, O_RDWR)) != -1);
	b ^= 0x10;
	CHECK(pwrite(fd, &b, 1, 4096 + 200) == 1);
	close(fd);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c5", "w-c5", &a) == 0);
	lock_all("alice@test.example");
}

static void
test_delete_account(void)
{
	struct dir_account	 da;
	struct vault_account	*a;
	char			 path[PATH_MAX];

	CHECK(dir_account_get("alice@test.example", &da) == DIR_OK);
	account_mailbox_path(da.id, path, sizeof(path));
	CHECK(admin(ADMIN_USER_DEL, "alice@test.example", NULL, NULL, NULL) ==
	    0);
	CHECK(access(path, F_OK) == -1 && errno == ENOENT);
	CHECK(login("alice@test.example", PW_ALICE, strlen(PW_ALICE),
	    "a-c6", "w-c6", &a) == MBOX_EAUTH);
	CHECK(admin(ADMIN_DOMAIN_DEL, "test.example", NULL, NULL, NULL) ==
	    -1);
}

static int
rm_cb(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	return (remove(path));
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	if (sodium_init() == -1)
		return (1);
	event_init();
	RUN(test_setup);
	RUN(test_admin_accounts);
	RUN(test_dir_checkpoint);
	RUN(test_resolve);
	RUN(test_deliver_locked_then_unlock);
	RUN(test_logins);
	RUN(test_login_cancelled);
	RUN(test_app_passwords);
	RUN(test_app_selectors);
	RUN(test_spool_key_checked);
	RUN(test_lockout);
	RUN(test_lockout_network);
	RUN(test_rollback_refused);
	RUN(test_pagestate_refused);
	RUN(test_no_plaintext_at_rest);
	RUN(test_tampered_mailbox);
	RUN(test_delete_account);
	kdf_stop();
	dir_close();
	if (chdir("/") == 0)
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	TEST_EXIT();
}
