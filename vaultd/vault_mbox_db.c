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
 * One account's mailbox in an encrypted SQLite database (vault_vfs.c).
 *
 * Schema (version 4)
 *
 *	meta(key TEXT PRIMARY KEY, value INTEGER)
 *		"version"	schema version (4)
 *		"counter"	commit counter: +1 in every committed write
 *				transaction, in that same transaction
 *		"uidvalidity"	the last UIDVALIDITY handed out; the next
 *				is max(last + 1, now), so a value is never
 *				reused in this database, not even for a
 *				re-created name
 *
 *	folders(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE,
 *	    special, subscribed, uidvalidity, uidnext, highestmodseq)
 *		AUTOINCREMENT so a deleted folder's id is never reused.
 *		Every folder's parents exist (create makes them, delete
 *		refuses a folder with children), so children are found by
 *		the name range ["name/", "name0") on the UNIQUE index.
 *
 *	blobs(id INTEGER PRIMARY KEY, raw BLOB)
 *		The raw message, alone in its row so that nothing but
 *		mbox_body_write() ever reads it.  Written and read in
 *		chunks with sqlite3_blob_*.
 *
 *	partmaps(id INTEGER PRIMARY KEY, map BLOB)
 *		Where each MIME part of the message lies in the blob (the
 *		front's part map, common/wire/section.h), same id as the
 *		blob (version 3; messages stored before have none).  A
 *		table of its own, so that reading it walks no overflow
 *		chain of a raw message or of a body text.
 *
 *	content(id INTEGER PRIMARY KEY, envelope, bodystructure,
 *	    messageid, subject, from_, to_, cc, bcc, headers, body)
 *		What the front computed, same id as the blob.  The small
 *		columns come first: reading the envelope then never walks
 *		the overflow chain of the (up to 32 MB) body text.
 *
 *	fts USING fts5(subject, from_, to_, cc, bcc, headers, body,
 *	    content='content', content_rowid='id', tokenize='trigram')
 *		External content: the text is stored once, in content.
 *		automerge 16 (version 4; FTS5's default is 4).
 *		A message is indexed after it is stored, not in the
 *		transaction that stores it (version 4): see unindexed.
 *		The trigger that deletes content deletes its rows from
 *		the index only if it was indexed: FTS5's 'delete' must
 *		be given the very text that was indexed.
 *
 *	unindexed(id INTEGER PRIMARY KEY)
 *		Content not yet in fts (version 4): a trigger adds every
 *		new content row here, mbox_index() moves a batch at a
 *		time into fts, in a transaction of its own, and deleting
 *		content deletes its row here.  Persistent, so a crash
 *		loses no backlog: the next open finds it.  A search that
 *		uses fts indexes the backlog first (mbox_search()).
 *
 *	messages(folder_id, uid, modseq, flags, keywords, internaldate,
 *	    sentdate, size, content_id, PRIMARY KEY(folder_id, uid))
 *	    WITHOUT ROWID
 *		Small rows clustered by (folder, uid): counts, FETCH FLAGS
 *		and SEARCH on flags touch only this table.  A COPY shares
 *		content and blob (messages are immutable); a trigger
 *		deletes them with their last message.  keywords is the
 *		normalised space-separated list.  An index on (folder_id,
 *		modseq) finds what changed since a modseq (CHANGEDSINCE).
 *
 *	expunged(folder_id, uid, modseq, PRIMARY KEY(folder_id, uid))
 *		For QRESYNC VANISHED: what was expunged, at which modseq.
 *
 *	imported(name TEXT PRIMARY KEY)
 *		Spool entries already imported (idempotent import).
 *
 *	subscriptions(name TEXT PRIMARY KEY)
 *		Subscribed names that are no folder (version 2): DELETE
 *		keeps a folder's subscription (RFC 3501 6.3.6), and a
 *		folder made again under the name is subscribed.  Those of
 *		existing folders stay in folders.subscribed; a name is in
 *		one place or the other, never both.
 *
 * Limits.  A message larger than SQLite's length limit (1e9 bytes in
 * Debian's build, a little less than BUNDLE_RAW_MAX) is MBOX_ELIMIT.
 * Uids stop at UINT32_MAX - 1 (UINT32_MAX is "*"), then MBOX_ELIMIT.
 *
 * Transactions.  Every write is one BEGIN IMMEDIATE ... COMMIT (synced:
 * synchronous=FULL).  A write call that turns out to change nothing
 * rolls back, so the counter moves exactly when something was
 * committed.  Callbacks of write calls run after the commit, so that
 * nothing is reported that was not made durable; callbacks of read
 * calls run inside a read transaction while a statement is open, and
 * must not call back into the same struct mbox.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"
#include "vault_vfs.h"

#define SCHEMA_VERSION	4

/*
 * A mailbox's log is checkpointed once it holds MBOX_WAL_CHECKPOINT
 * frames (SQLite's default), not inside the commit that reached it:
 * the commit only marks the mailbox (mbox_checkpoint_due()), and the
 * account runs mbox_checkpoint() as a job of its own after the
 * commit's answer (vault_account.c).  Inside the commit only when the
 * log reached MBOX_WAL_LIMIT frames all the same.
 */
#define MBOX_WAL_CHECKPOINT	1000
#define MBOX_WAL_LIMIT		8000

#if MBOX_STATE_LEN != VFS_STATELEN
#error "MBOX_STATE_LEN is not VFS_STATELEN"
#endif

/* Version 2; a version 1 database gets it when opened. */
#define SQL_SUBSCRIPTIONS						\
	"CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID"

/* Version 3: where each MIME part lies, for FETCH of one part. */
#define SQL_PARTMAPS							\
	"CREATE TABLE partmaps (id INTEGER PRIMARY KEY, map BLOB NOT NULL)"
#define SQL_MESSAGES_AD							\
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages"		\
	" WHEN NOT EXISTS (SELECT 1 FROM messages"			\
	" WHERE content_id = old.content_id) BEGIN"			\
	" DELETE FROM content WHERE id = old.content_id;"		\
	" DELETE FROM partmaps WHERE id = old.content_id;"		\
	" DELETE FROM blobs WHERE id = old.content_id; END"

/*
 * Version 4: the full-text rows of a message are written after it is
 * stored (mbox_index()).  Content deleted before that has no rows to
 * delete: FTS5's 'delete' with a text that was never indexed would
 * corrupt the index.
 */
#define SQL_UNINDEXED							\
	"CREATE TABLE unindexed (id INTEGER PRIMARY KEY)"
/*
 * Version 4: FTS5 merges index segments when automerge of them are at
 * one level (default 4), inside the transaction that wrote the last.
 * The index job writes a segment per batch; at 16, a mailbox that
 * grows by small batches spends far less time merging (bench/README.md)
 * at the cost of more segments for a search to read.
 */
#define SQL_FTS_AUTOMERGE						\
	"INSERT INTO fts (fts, rank) VALUES ('automerge', 16)"
#define SQL_CONTENT_AI							\
	"CREATE TRIGGER content_ai AFTER INSERT ON content BEGIN"	\
	" INSERT INTO unindexed (id) VALUES (new.id); END"
#define SQL_CONTENT_AD							\
	"CREATE TRIGGER content_ad AFTER DELETE ON content BEGIN"	\
	" INSERT INTO fts (fts, rowid, subject, from_, to_, cc, bcc,"	\
	" headers, body) SELECT 'delete', old.id, old.subject,"	\
	" old.from_, old.to_, old.cc, old.bcc, old.headers, old.body"	\
	" WHERE NOT EXISTS (SELECT 1 FROM unindexed"			\
	" WHERE id = old.id);"						\
	" DELETE FROM unindexed WHERE id = old.id; END"

static int	 wal_hook(void *, sqlite3 *, const char *, int);
static int	 db_bindv(sqlite3_stmt *, const char *, va_list);
static int	 schema_create(struct mbox *);
static int	 schema_load(struct mbox *);

static const char *schema_sql[] = {
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
	" WITHOUT ROWID",
	"CREATE TABLE folders ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" special INTEGER NOT NULL,"
	" subscribed INTEGER NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL)",
	"CREATE TABLE blobs (id INTEGER PRIMARY KEY, raw BLOB NOT NULL)",
	"CREATE TABLE content ("
	" id INTEGER PRIMARY KEY,"
	" envelope TEXT NOT NULL,"
	" bodystructure TEXT NOT NULL,"
	" messageid TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" from_ TEXT NOT NULL,"
	" to_ TEXT NOT NULL,"
	" cc TEXT NOT NULL,"
	" bcc TEXT NOT NULL,"
	" headers TEXT NOT NULL,"
	" body TEXT NOT NULL)",
	"CREATE VIRTUAL TABLE fts USING fts5(subject, from_, to_, cc, bcc,"
	" headers, body, content='content', content_rowid='id',"
	" tokenize='trigram')",
	SQL_FTS_AUTOMERGE,
	SQL_UNINDEXED,
	SQL_CONTENT_AI,
	SQL_CONTENT_AD,
	"CREATE TABLE messages ("
	" folder_id INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" flags INTEGER NOT NULL,"
	" keywords TEXT NOT NULL,"
	" internaldate INTEGER NOT NULL,"
	" sentdate INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" content_id INTEGER NOT NULL,"
	" PRIMARY KEY (folder_id, uid)) WITHOUT ROWID",
	"CREATE INDEX messages_content ON messages (content_id)",
	"CREATE INDEX messages_modseq ON messages (folder_id, modseq)",
	SQL_PARTMAPS,
	SQL_MESSAGES_AD,
	"CREATE TABLE expunged ("
	" folder_id INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (folder_id, uid)) WITHOUT ROWID",
	"CREATE TABLE imported (name TEXT PRIMARY KEY) WITHOUT ROWID",
	SQL_SUBSCRIPTIONS,
};

static const struct {
	const char	*name;
	uint32_t	 special;
} default_folders[] = {
	{ "INBOX",	SPECIAL_INBOX },
	{ "Drafts",	SPECIAL_DRAFTS },
	{ "Sent",	SPECIAL_SENT },
	{ "Junk",	SPECIAL_JUNK },
	{ "Trash",	SPECIAL_TRASH },
	{ "Archive",	SPECIAL_ARCHIVE },
};

/*
 * SQLite errors.  The message names tables and constraints, never
 * values; the search path, whose FTS errors could quote the query,
 * logs only the generic text (see mbox_search()).
 */
int
mbox_db_fail(struct mbox *m, const char *op, int rc)
{
	log_warnx("mbox: %s: %s (%d)", op, sqlite3_errmsg(m->db), rc);
	if ((rc & 0xff) == SQLITE_TOOBIG)
		return (MBOX_ELIMIT);
	return (MBOX_EIO);
}

/*
 * Bind parameters 1.. as described by fmt: 'i' an int64_t, 't' a
 * NUL-terminated string that outlives the statement's use.
 */
static int
db_bindv(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	const char	*s;
	int		 i, rc;

	for (i = 0; fmt[i] != '\0'; i++) {
		switch (fmt[i]) {
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 't':
			s = va_arg(ap, const char *);
			rc = sqlite3_bind_text(st, i + 1, s, -1, SQLITE_STATIC);
			break;
		default:
			return (SQLITE_MISUSE);
		}
		if (rc != SQLITE_OK)
			return (rc);
	}
	return (SQLITE_OK);
}

int
mbox_db_prepare(struct mbox *m, const char *op, const char *sql,
    sqlite3_stmt **st)
{
	int	 rc;

	*st = NULL;
	if ((rc = sqlite3_prepare_v2(m->db, sql, -1, st, NULL)) != SQLITE_OK)
		return (mbox_db_fail(m, op, rc));
	return (MBOX_OK);
}

/* Run a statement that returns no rows. */
int
mbox_db_exec(struct mbox *m, const char *op, const char *sql, const char *fmt,
    ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 rc, ret;

	if ((ret = mbox_db_prepare(m, op, sql, &st)) != MBOX_OK)
		return (ret);
	va_start(ap, fmt);
	rc = db_bindv(st, fmt, ap);
	va_end(ap);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	else if (rc == SQLITE_ROW)
		rc = SQLITE_MISUSE;
	ret = rc == SQLITE_OK ? MBOX_OK : mbox_db_fail(m, op, rc);
	sqlite3_finalize(st);
	return (ret);
}

/*
 * Run a query and return the first column of its first row as an
 * integer; MBOX_ENOTFOUND if it returns no row.
 */
int
mbox_db_int(struct mbox *m, const char *op, int64_t *out, const char *sql,
    const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 rc, ret;

	if ((ret = mbox_db_prepare(m, op, sql, &st)) != MBOX_OK)
		return (ret);
	va_start(ap, fmt);
	rc = db_bindv(st, fmt, ap);
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		ret = MBOX_OK;
	} else if (rc == SQLITE_DONE)
		ret = MBOX_ENOTFOUND;
	else
		ret = mbox_db_fail(m, op, rc);
	sqlite3_finalize(st);
	return (ret);
}

int
mbox_tx_begin(struct mbox *m, int write)
{
	return (mbox_db_exec(m, "begin", write ? "BEGIN IMMEDIATE" : "BEGIN",
	    ""));
}

/* Bump the counter and commit; on failure everything is rolled back. */
int
mbox_tx_commit(struct mbox *m)
{
	int64_t	 counter;
	int	 ret;

	if ((ret = mbox_db_int(m, "commit", &counter, "UPDATE meta SET value ="
	    " value + 1 WHERE key = 'counter' RETURNING value", "")) !=
	    MBOX_OK) {
		if (ret == MBOX_ENOTFOUND) {
			log_warnx("mbox: commit: no counter");
			ret = MBOX_EIO;
		}
		mbox_tx_rollback(m);
		return (ret);
	}
	if ((ret = mbox_db_exec(m, "commit", "COMMIT", "")) != MBOX_OK) {
		mbox_tx_rollback(m);
		return (ret);
	}
	m->counter = (uint64_t)counter;
	return (MBOX_OK);
}

/*
 * End a transaction that wrote nothing.  Never after a write, even one
 * undone by a savepoint: every commit that writes pages must move the
 * counter, or the page-state digest recorded with the counter would
 * no longer be the file's.
 */
int
mbox_tx_end(struct mbox *m)
{
	int	 ret;

	if ((ret = mbox_db_exec(m, "end", "COMMIT", "")) != MBOX_OK)
		mbox_tx_rollback(m);
	return (ret);
}

void
mbox_tx_rollback(struct mbox *m)
{
	int	 rc;

	/* An error may already have rolled the transaction back. */
	if (sqlite3_get_autocommit(m->db))
		return;
	if ((rc = sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL)) !=
	    SQLITE_OK)
		log_warnx("mbox: rollback: %s (%d)", sqlite3_errmsg(m->db),
		    rc);
}

static int
schema_create(struct mbox *m)
{
	size_t	 i;
	int	 ret;

	for (i = 0; i < sizeof(schema_sql) / sizeof(schema_sql[0]); i++) {
		if ((ret = mbox_db_exec(m, "schema", schema_sql[i], "")) !=
		    MBOX_OK)
			return (ret);
	}

	if ((ret = mbox_db_exec(m, "schema", "INSERT INTO meta (key, value)"
	    " VALUES ('version', ?1), ('counter', 0), ('uidvalidity', 0)",
	    "i", (int64_t)SCHEMA_VERSION)) != MBOX_OK)
		return (ret);
	for (i = 0; i < sizeof(default_folders) / sizeof(default_folders[0]);
	    i++) {
		if ((ret = mbox_folder_insert(m, default_folders[i].name,
		    default_folders[i].special, 1)) != MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

/* Create the schema of a new database, or check an existing one. */
static int
schema_load(struct mbox *m)
{
	int64_t	 v;
	int	 ret, upgraded = 0;

	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	ret = mbox_db_int(m, "schema", &v, "SELECT 1 FROM sqlite_master"
	    " WHERE type = 'table' AND name = 'meta'", "");
	if (ret == MBOX_ENOTFOUND) {
		if ((ret = schema_create(m)) != MBOX_OK) {
			mbox_tx_rollback(m);
			return (ret);
		}
		return (mbox_tx_commit(m));
	}
	if (ret != MBOX_OK)
		goto fail;
	if ((ret = mbox_db_int(m, "schema", &v, "SELECT value FROM meta WHERE"
	    " key = 'version'", "")) != MBOX_OK)
		goto fail;
	/*
	 * Upgrades, in this transaction, with the version and a commit
	 * that counts.  Version 1 had no subscriptions apart from
	 * folders: the table, empty, is all it lacks.  Version 2 had no
	 * part maps: its messages keep none (a FETCH of one of their
	 * parts gets the whole message, as before), and the trigger
	 * that deletes a message's content learns of the new table.
	 * Version 3 indexed in the transaction that stored: every
	 * message is indexed, the backlog starts empty, and the
	 * triggers on content and the index's automerge are those of
	 * version 4.
	 */
	if (v >= 1 && v < SCHEMA_VERSION) {
		if ((v == 1 && (ret = mbox_db_exec(m, "schema",
		    SQL_SUBSCRIPTIONS, "")) != MBOX_OK) ||
		    (v <= 2 && ((ret = mbox_db_exec(m, "schema", SQL_PARTMAPS,
		    "")) != MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", "DROP TRIGGER messages_ad",
		    "")) != MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", SQL_MESSAGES_AD, "")) !=
		    MBOX_OK)) ||
		    (ret = mbox_db_exec(m, "schema", SQL_UNINDEXED, "")) !=
		    MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", "DROP TRIGGER content_ai",
		    "")) != MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", "DROP TRIGGER content_ad",
		    "")) != MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", SQL_CONTENT_AI, "")) !=
		    MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", SQL_CONTENT_AD, "")) !=
		    MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", SQL_FTS_AUTOMERGE, "")) !=
		    MBOX_OK ||
		    (ret = mbox_db_exec(m, "schema", "UPDATE meta SET"
		    " value = ?1 WHERE key = 'version'", "i",
		    (int64_t)SCHEMA_VERSION)) != MBOX_OK)
			goto fail;
		log_info("mbox: schema upgraded from version %lld to %d",
		    (long long)v, SCHEMA_VERSION);
		v = SCHEMA_VERSION;
		upgraded = 1;
	}
	if (v != SCHEMA_VERSION) {
		log_warnx("mbox: schema version %lld, expected %d",
		    (long long)v, SCHEMA_VERSION);
		ret = MBOX_EIO;
		goto fail;
	}
	if ((ret = mbox_db_int(m, "schema", &v, "SELECT value FROM meta WHERE"
	    " key = 'counter'", "")) != MBOX_OK)
		goto fail;
	m->counter = (uint64_t)v;
	/* A backlog left by a crash (or a close) is indexed now. */
	if ((ret = mbox_db_int(m, "schema", &v, "SELECT count(*) FROM"
	    " unindexed", "")) != MBOX_OK)
		goto fail;
	m->backlog = (uint64_t)v;
	m->index_due = v > 0;
	if (v > 0 && (ret = mbox_db_int(m, "schema", &v, "SELECT"
	    " coalesce(sum((SELECT size FROM messages WHERE content_id ="
	    " u.id LIMIT 1)), 0) FROM unindexed u", "")) != MBOX_OK)
		goto fail;
	m->backlog_bytes = m->index_due ? (uint64_t)v : 0;
	/* An upgrade is a write: it moves the counter like any other. */
	return (upgraded ? mbox_tx_commit(m) : mbox_tx_end(m));
 fail:
	if (ret == MBOX_ENOTFOUND) {
		log_warnx("mbox: schema: meta incomplete");
		ret = MBOX_EIO;
	}
	mbox_tx_rollback(m);
	return (ret);
}

/* An unsigned count or modseq as SQLite's signed integer, saturated. */
int64_t
mbox_clamp64(uint64_t v)
{
	return (v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* After every commit of the mailbox's connection. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct mbox	*m = arg;
	int		 rc;

	if (pages < MBOX_WAL_CHECKPOINT)
		return (SQLITE_OK);
	if (pages < MBOX_WAL_LIMIT) {
		m->checkpoint_due = 1;
		return (SQLITE_OK);
	}
	if ((rc = sqlite3_wal_checkpoint_v2(db, name,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL)) != SQLITE_OK &&
	    rc != SQLITE_BUSY)
		log_warnx("mbox: checkpoint: %s", sqlite3_errstr(rc));
	else
		m->checkpoint_due = 0;
	return (SQLITE_OK);
}

/* A commit left the log long enough to be copied over. */
int
mbox_checkpoint_due(const struct mbox *m)
{
	return (m->checkpoint_due);
}

/* Copy the log into the database (the next commit restarts it). */
int
mbox_checkpoint(struct mbox *m)
{
	int	 rc;

	m->checkpoint_due = 0;
	if ((rc = sqlite3_wal_checkpoint_v2(m->db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL)) != SQLITE_OK) {
		log_warnx("mbox: checkpoint: %s", sqlite3_errstr(rc));
		return (MBOX_EIO);
	}
	return (MBOX_OK);
}

int
mbox_open(const char *path, const unsigned char *key,
    const unsigned char *dbid, struct mbox **mp)
{
	struct mbox	*m;
	int		 rc, ret;

	if (mp == NULL)
		return (MBOX_EINVAL);
	*mp = NULL;
	if (path == NULL || key == NULL || dbid == NULL)
		return (MBOX_EINVAL);
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	/* vfs_open_db() logs its own failures (a wrong key among them). */
	if ((rc = vfs_open_db(path, key, dbid, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, &m->db)) != SQLITE_OK) {
		free(m);
		return (MBOX_EIO);
	}
	/*
	 * The digest of the pages as found, before SQL reads any of them
	 * (a missing one is reported as such), then kept at each commit.
	 */
	if ((rc = vfs_state_start(m->db, NULL)) != SQLITE_OK) {
		log_warnx("mbox: %s: cannot read the page state: %s (%d)",
		    path, sqlite3_errstr(rc), rc);
		ret = MBOX_EIO;
		goto fail;
	}
	/* In place of SQLite's checkpoint inside the commit. */
	(void)sqlite3_wal_hook(m->db, wal_hook, m);
	if ((rc = sqlite3_busy_timeout(m->db, 10000)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(m->db, "tresor_header", 3,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	    mbox_sql_header, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(m->db, "tresor_addr", 3,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	    mbox_sql_addr, NULL, NULL, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(m->db, "tresor_sentday", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	    mbox_sql_sentday, NULL, NULL, NULL)) != SQLITE_OK) {
		ret = mbox_db_fail(m, "open", rc);
		goto fail;
	}
	if ((ret = schema_load(m)) != MBOX_OK)
		goto fail;
	*mp = m;
	return (MBOX_OK);
 fail:
	mbox_close(m);
	return (ret);
}

void
mbox_close(struct mbox *m)
{
	int	 rc;

	if (m == NULL)
		return;
	if (m->db != NULL && (rc = sqlite3_close(m->db)) != SQLITE_OK)
		log_warnx("mbox: close: %s (%d)", sqlite3_errstr(rc), rc);
	free(m);
}

uint64_t
mbox_counter(struct mbox *m)
{
	return (m != NULL ? m->counter : 0);
}

int
mbox_pagestate(struct mbox *m, unsigned char *out)
{
	if (m == NULL || out == NULL)
		return (MBOX_EINVAL);
	if (vfs_state_digest(m->db, out) != SQLITE_OK)
		return (MBOX_EIO);
	return (MBOX_OK);
}

int
mbox_usage(struct mbox *m, uint64_t *octets, uint64_t *messages)
{
	sqlite3_stmt	*st;
	int		 rc, ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_db_prepare(m, "usage", "SELECT count(*),"
	    " coalesce(sum(size), 0) FROM messages", &st)) != MBOX_OK)
		return (ret);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (messages != NULL)
			*messages = (uint64_t)sqlite3_column_int64(st, 0);
		if (octets != NULL)
			*octets = (uint64_t)sqlite3_column_int64(st, 1);
		ret = MBOX_OK;
	} else
		ret = mbox_db_fail(m, "usage", rc);
	sqlite3_finalize(st);
	return (ret);
}
