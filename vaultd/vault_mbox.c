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
 * Schema (version 1)
 *
 *	meta(key TEXT PRIMARY KEY, value INTEGER)
 *		"version"	schema version (1)
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
 *	content(id INTEGER PRIMARY KEY, envelope, bodystructure,
 *	    messageid, subject, from_, to_, cc, bcc, headers, body)
 *		What the front computed, same id as the blob.  The small
 *		columns come first: reading the envelope then never walks
 *		the overflow chain of the (up to 32 MB) body text.
 *
 *	fts USING fts5(subject, from_, to_, cc, bcc, headers, body,
 *	    content='content', content_rowid='id', tokenize='trigram')
 *		External content: the text is stored once, in content;
 *		triggers on content keep the index in step.
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
 *
 * Searching.  Substring keys use the trigram index (case-insensitive
 * with Unicode case folding) when the string has at least three
 * characters; shorter strings fall back to LIKE on the stored text,
 * which folds ASCII letters only.  HEADER uses the index as a
 * pre-filter and an SQL function of ours for the field match.
 */

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "util.h"
#include "vault_mbox.h"
#include "vault_vfs.h"

#define SCHEMA_VERSION	1
#define BATCH		64		/* rows per batch in write loops */
#define CHUNK		(64 * 1024)	/* body read size */
#define WCHUNK		(1024 * 1024)	/* append blob write size */
#define UID_LAST	(UINT32_MAX - 1) /* UINT32_MAX is "*" */
#define TRIGRAM		3		/* shortest string for the index */
#define KWLIST_MAX	(2 * MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX)

#define XSTR(x)		#x
#define STR(x)		XSTR(x)

struct mbox {
	sqlite3		*db;
	uint64_t	 counter;
	int		 batch;		/* imports share one transaction */
	unsigned int	 batched;	/* imports in it */
};

/* A folder's row, as the write paths need it. */
struct finfo {
	int64_t		 id;
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
};

struct kwset {
	size_t		 n;
	char		 kw[MBOX_KEYWORDS_MAX][MBOX_KEYWORD_MAX];
};

/* Sequence numbers while walking a folder in uid order. */
struct seqpos {
	uint32_t	 lastuid;	/* messages up to here are counted */
	uint32_t	 seq;		/* how many there are */
};

struct uidvec {
	uint32_t	*v;
	size_t		 n;
	size_t		 cap;
};

/* A message changed by mbox_store(), reported after the commit. */
struct change {
	uint32_t	 uid;
	uint32_t	 seq;
	uint32_t	 flags;
	uint64_t	 modseq;
	int64_t		 internaldate;
	uint64_t	 size;
	char		*keywords;
};

struct changevec {
	struct change	*v;
	size_t		 n;
	size_t		 cap;
};

/* A row read in a store batch. */
struct storerow {
	uint32_t	 uid;
	uint32_t	 flags;
	uint64_t	 modseq;
	int64_t		 internaldate;
	uint64_t	 size;
	char		 keywords[MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX];
};

/* Search translation: a stack of SQL fragments and their parameters. */
#define SP_MAX		(SEARCH_MAX_OPS * 3)

struct sparam {
	int		 text;
	int64_t		 i;
	const char	*s;
};

struct sbuild {
	char		*stack[SEARCH_MAX_OPS];
	int		 depth;
	struct sparam	 p[SP_MAX];
	char		*own[SP_MAX];
	int		 np;
	int		 nown;
	int		 needseq;
	uint32_t	 maxuid;
	uint32_t	 count;
};

static int	 db_fail(struct mbox *, const char *, int);
static int	 db_bindv(sqlite3_stmt *, const char *, va_list);
static int	 db_prepare(struct mbox *, const char *, const char *,
		    sqlite3_stmt **);
static int	 db_exec(struct mbox *, const char *, const char *,
		    const char *, ...);
static int	 db_int(struct mbox *, const char *, int64_t *, const char *,
		    const char *, ...);
static int	 tx_begin(struct mbox *, int);
static int	 tx_commit(struct mbox *);
static int	 tx_end(struct mbox *);
static void	 tx_rollback(struct mbox *);
static int	 schema_create(struct mbox *);
static int	 schema_load(struct mbox *);

static int	 utf8_ok(const unsigned char *, size_t);
static int	 name_norm(const char *, char *);
static int	 name_check(const char *);
static int	 atom_char(int);
static int	 kw_valid(const char *, size_t);
static int	 kw_find(const struct kwset *, const char *);
static int	 kw_add(struct kwset *, const char *, size_t);
static void	 kw_del(struct kwset *, const char *);
static int	 kw_parse(const char *, struct kwset *);
static int	 kw_equal(const struct kwset *, const struct kwset *);
static void	 kw_format(const struct kwset *, char *, size_t);
static int	 bundle_ok(const struct bundle *);
static int	 import_name_ok(const char *);

static int	 uidvec_push(struct uidvec *, uint32_t);
static int	 changevec_push(struct changevec *, const struct change *);
static void	 changevec_free(struct changevec *);
static int	 range_cmp(const void *, const void *);
static int	 ranges_norm(const struct mbox_range *, size_t, uint32_t,
		    struct mbox_range **, size_t *);

static int	 folder_find(struct mbox *, const char *, struct finfo *);
static int	 folder_exists(struct mbox *, const char *);
static int	 folder_save(struct mbox *, const struct finfo *);
static int	 folder_insert(struct mbox *, const char *, uint32_t, int);
static int	 folder_fill(sqlite3_stmt *, struct mbox_folder *);
static int	 uidvalidity_next(struct mbox *, uint32_t *);
static int	 parents_missing(struct mbox *, const char *, size_t *);
static int	 parents_create(struct mbox *, const char *);
static int	 create_path(struct mbox *, const char *, uint32_t);
static int	 folder_maxuid(struct mbox *, int64_t, uint32_t *);
static int	 folder_count(struct mbox *, int64_t, uint32_t *);
static int	 seq_advance(struct mbox *, int64_t, struct seqpos *,
		    uint32_t);
static int	 seq_to_uid(struct mbox *, int64_t, struct mbox_range *,
		    size_t *);
static int	 seq_skip(struct mbox *, sqlite3_stmt *, int64_t,
		    struct seqpos *, uint32_t);
static int	 fetch_ranges(struct mbox *, int64_t,
		    const struct mbox_range *, size_t, int, uint64_t,
		    mbox_msg_cb, void *);
static int	 append_locked(struct mbox *, struct finfo *,
		    const struct bundle *, uint32_t, const char *,
		    uint32_t *);
static int	 blob_fill(struct mbox *, int64_t, const char *, size_t);
static int	 copy_locked(struct mbox *, struct finfo *, struct finfo *,
		    const struct mbox_range *, size_t, int, struct uidvec *);
static int	 store_batch(struct mbox *, sqlite3_stmt *, int64_t, uint32_t,
		    uint32_t, struct storerow *, size_t *);
static int	 store_apply(enum mbox_store_op, uint32_t,
		    const struct kwset *, const struct storerow *, uint32_t *,
		    char *, size_t);

static int	 tolower_ascii(int);
static int	 hdr_match(const unsigned char *, size_t, const char *,
		    size_t, const char *, size_t);
static void	 sql_header(sqlite3_context *, int, sqlite3_value **);
static size_t	 utf8_chars(const char *);
static char	*fts_query(const char *, const char *);
static char	*like_pattern(const char *);
static int64_t	 clamp64(uint64_t);
static int	 sb_int(struct sbuild *, int64_t);
static int	 sb_text(struct sbuild *, const char *, char *);
static int	 sb_substr(struct sbuild *, const char *, const char *,
		    char **);
static int	 sb_key(struct sbuild *, const struct search_op_s *,
		    char **);
static int	 sb_build(struct sbuild *, const struct search_program *,
		    char **);
static void	 sb_free(struct sbuild *);

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
	"CREATE TRIGGER content_ai AFTER INSERT ON content BEGIN"
	" INSERT INTO fts (rowid, subject, from_, to_, cc, bcc, headers,"
	" body) VALUES (new.id, new.subject, new.from_, new.to_, new.cc,"
	" new.bcc, new.headers, new.body); END",
	"CREATE TRIGGER content_ad AFTER DELETE ON content BEGIN"
	" INSERT INTO fts (fts, rowid, subject, from_, to_, cc, bcc,"
	" headers, body) VALUES ('delete', old.id, old.subject, old.from_,"
	" old.to_, old.cc, old.bcc, old.headers, old.body); END",
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
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages"
	" WHEN NOT EXISTS (SELECT 1 FROM messages"
	" WHERE content_id = old.content_id) BEGIN"
	" DELETE FROM content WHERE id = old.content_id;"
	" DELETE FROM blobs WHERE id = old.content_id; END",
	"CREATE TABLE expunged ("
	" folder_id INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (folder_id, uid)) WITHOUT ROWID",
	"CREATE TABLE imported (name TEXT PRIMARY KEY) WITHOUT ROWID",
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

#define SQL_FOLDER_AGG							\
	"SELECT f.id, f.name, f.special, f.subscribed, f.uidvalidity,"	\
	" f.uidnext, f.highestmodseq, count(m.uid),"			\
	" coalesce(sum((m.flags & " STR(MAILFLAG_SEEN) ") = 0), 0),"	\
	" coalesce(sum((m.flags & " STR(MAILFLAG_DELETED) ") != 0), 0),"\
	" coalesce(sum(m.size), 0)"					\
	" FROM folders f LEFT JOIN messages m ON m.folder_id = f.id "

/*
 * SQLite errors.  The message names tables and constraints, never
 * values; the search path, whose FTS errors could quote the query,
 * logs only the generic text (see mbox_search()).
 */
static int
db_fail(struct mbox *m, const char *op, int rc)
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

static int
db_prepare(struct mbox *m, const char *op, const char *sql,
    sqlite3_stmt **st)
{
	int	 rc;

	*st = NULL;
	if ((rc = sqlite3_prepare_v2(m->db, sql, -1, st, NULL)) != SQLITE_OK)
		return (db_fail(m, op, rc));
	return (MBOX_OK);
}

/* Run a statement that returns no rows. */
static int
db_exec(struct mbox *m, const char *op, const char *sql, const char *fmt,
    ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 rc, ret;

	if ((ret = db_prepare(m, op, sql, &st)) != MBOX_OK)
		return (ret);
	va_start(ap, fmt);
	rc = db_bindv(st, fmt, ap);
	va_end(ap);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	else if (rc == SQLITE_ROW)
		rc = SQLITE_MISUSE;
	ret = rc == SQLITE_OK ? MBOX_OK : db_fail(m, op, rc);
	sqlite3_finalize(st);
	return (ret);
}

/*
 * Run a query and return the first column of its first row as an
 * integer; MBOX_ENOTFOUND if it returns no row.
 */
static int
db_int(struct mbox *m, const char *op, int64_t *out, const char *sql,
    const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 rc, ret;

	if ((ret = db_prepare(m, op, sql, &st)) != MBOX_OK)
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
		ret = db_fail(m, op, rc);
	sqlite3_finalize(st);
	return (ret);
}

static int
tx_begin(struct mbox *m, int write)
{
	return (db_exec(m, "begin", write ? "BEGIN IMMEDIATE" : "BEGIN",
	    ""));
}

/* Bump the counter and commit; on failure everything is rolled back. */
static int
tx_commit(struct mbox *m)
{
	int64_t	 counter;
	int	 ret;

	if ((ret = db_int(m, "commit", &counter, "UPDATE meta SET value ="
	    " value + 1 WHERE key = 'counter' RETURNING value", "")) !=
	    MBOX_OK) {
		if (ret == MBOX_ENOTFOUND) {
			log_warnx("mbox: commit: no counter");
			ret = MBOX_EIO;
		}
		tx_rollback(m);
		return (ret);
	}
	if ((ret = db_exec(m, "commit", "COMMIT", "")) != MBOX_OK) {
		tx_rollback(m);
		return (ret);
	}
	m->counter = (uint64_t)counter;
	return (MBOX_OK);
}

/* End a transaction that wrote nothing. */
static int
tx_end(struct mbox *m)
{
	int	 ret;

	if ((ret = db_exec(m, "end", "COMMIT", "")) != MBOX_OK)
		tx_rollback(m);
	return (ret);
}

static void
tx_rollback(struct mbox *m)
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
		if ((ret = db_exec(m, "schema", schema_sql[i], "")) !=
		    MBOX_OK)
			return (ret);
	}
	if ((ret = db_exec(m, "schema", "INSERT INTO meta (key, value)"
	    " VALUES ('version', ?1), ('counter', 0), ('uidvalidity', 0)",
	    "i", (int64_t)SCHEMA_VERSION)) != MBOX_OK)
		return (ret);
	for (i = 0; i < sizeof(default_folders) / sizeof(default_folders[0]);
	    i++) {
		if ((ret = folder_insert(m, default_folders[i].name,
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
	int	 ret;

	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	ret = db_int(m, "schema", &v, "SELECT 1 FROM sqlite_master"
	    " WHERE type = 'table' AND name = 'meta'", "");
	if (ret == MBOX_ENOTFOUND) {
		if ((ret = schema_create(m)) != MBOX_OK) {
			tx_rollback(m);
			return (ret);
		}
		return (tx_commit(m));
	}
	if (ret != MBOX_OK)
		goto fail;
	if ((ret = db_int(m, "schema", &v, "SELECT value FROM meta WHERE"
	    " key = 'version'", "")) != MBOX_OK)
		goto fail;
	if (v != SCHEMA_VERSION) {
		log_warnx("mbox: schema version %lld, expected %d",
		    (long long)v, SCHEMA_VERSION);
		ret = MBOX_EIO;
		goto fail;
	}
	if ((ret = db_int(m, "schema", &v, "SELECT value FROM meta WHERE"
	    " key = 'counter'", "")) != MBOX_OK)
		goto fail;
	m->counter = (uint64_t)v;
	return (tx_end(m));
 fail:
	if (ret == MBOX_ENOTFOUND) {
		log_warnx("mbox: schema: meta incomplete");
		ret = MBOX_EIO;
	}
	tx_rollback(m);
	return (ret);
}

/*
 * Strict UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF, and no C1 controls (U+0080-U+009F).
 */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (len - i - 1 < n)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
			return (0);
		i += n + 1;
	}
	return (1);
}

/* The rules for a folder name, without normalisation. */
static int
name_check(const char *in)
{
	size_t		 len, i, comps = 1;
	unsigned char	 c;

	if (in == NULL)
		return (MBOX_EINVAL);
	len = strnlen(in, MBOX_NAME_MAX);
	if (len == 0 || len >= MBOX_NAME_MAX)
		return (MBOX_EINVAL);
	if (in[0] == MBOX_DELIM || in[len - 1] == MBOX_DELIM)
		return (MBOX_EINVAL);
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c < 0x20 || c == 0x7f || c == '%' || c == '*')
			return (MBOX_EINVAL);
		if (c == MBOX_DELIM) {
			if (in[i + 1] == MBOX_DELIM)
				return (MBOX_EINVAL);
			comps++;
		}
	}
	if (comps > MBOX_DEPTH_MAX)
		return (MBOX_EINVAL);
	if (!utf8_ok((const unsigned char *)in, len))
		return (MBOX_EINVAL);
	return (MBOX_OK);
}

/*
 * Check a folder name and copy it to out (MBOX_NAME_MAX bytes), with
 * a first component of "inbox" in any case spelt "INBOX".
 */
static int
name_norm(const char *in, char *out)
{
	int	 ret;

	if ((ret = name_check(in)) != MBOX_OK)
		return (ret);
	if (strlcpy(out, in, MBOX_NAME_MAX) >= MBOX_NAME_MAX)
		return (MBOX_EINVAL);
	if (strncasecmp(out, "INBOX", 5) == 0 &&
	    (out[5] == '\0' || out[5] == MBOX_DELIM))
		memcpy(out, "INBOX", 5);
	return (MBOX_OK);
}

/* IMAP ATOM-CHAR (RFC 9051): no specials, no '\\', no controls. */
static int
atom_char(int c)
{
	if (c <= 0x20 || c >= 0x7f)
		return (0);
	return (strchr("(){%*\"\\]", c) == NULL);
}

static int
kw_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len >= MBOX_KEYWORD_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if (!atom_char((unsigned char)s[i]))
			return (0);
	return (1);
}

/* Keywords compare case-insensitively, as IMAP flags do. */
static int
kw_find(const struct kwset *ks, const char *k)
{
	size_t	 i;

	for (i = 0; i < ks->n; i++)
		if (strcasecmp(ks->kw[i], k) == 0)
			return ((int)i);
	return (-1);
}

static int
kw_add(struct kwset *ks, const char *k, size_t len)
{
	char	 buf[MBOX_KEYWORD_MAX];

	if (!kw_valid(k, len))
		return (MBOX_EINVAL);
	memcpy(buf, k, len);
	buf[len] = '\0';
	if (kw_find(ks, buf) != -1)
		return (MBOX_OK);
	if (ks->n >= MBOX_KEYWORDS_MAX)
		return (MBOX_ELIMIT);
	memcpy(ks->kw[ks->n], buf, len + 1);
	ks->n++;
	return (MBOX_OK);
}

static void
kw_del(struct kwset *ks, const char *k)
{
	int	 i;

	if ((i = kw_find(ks, k)) == -1)
		return;
	/* Keep the order of the others. */
	memmove(ks->kw[i], ks->kw[i + 1],
	    (ks->n - (size_t)i - 1) * sizeof(ks->kw[0]));
	ks->n--;
}

/*
 * Parse a space-separated keyword list (NULL or "" is none):
 * MBOX_EINVAL for a bad keyword, MBOX_ELIMIT for too many.
 */
static int
kw_parse(const char *s, struct kwset *ks)
{
	size_t	 len, i = 0, start, total;
	int	 ret;

	ks->n = 0;
	if (s == NULL)
		return (MBOX_OK);
	/* Longer than any valid list, even with extra spaces. */
	total = strnlen(s, KWLIST_MAX);
	if (total == KWLIST_MAX)
		return (MBOX_ELIMIT);
	while (i < total) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < total && s[i] != ' ')
			i++;
		len = i - start;
		if ((ret = kw_add(ks, s + start, len)) != MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

static int
kw_equal(const struct kwset *a, const struct kwset *b)
{
	size_t	 i;

	if (a->n != b->n)
		return (0);
	for (i = 0; i < a->n; i++)
		if (kw_find(b, a->kw[i]) == -1)
			return (0);
	return (1);
}

/* out has room for MBOX_KEYWORDS_MAX keywords and their spaces. */
static void
kw_format(const struct kwset *ks, char *out, size_t outlen)
{
	size_t	 i;

	out[0] = '\0';
	for (i = 0; i < ks->n; i++) {
		if (i > 0)
			(void)strlcat(out, " ", outlen);
		(void)strlcat(out, ks->kw[i], outlen);
	}
}

/*
 * A bundle is untrusted: pointers must be there for non-empty
 * sections, lengths within the section maxima (as bundle_parse() has
 * them), the message non-empty.
 */
static int
bundle_ok(const struct bundle *b)
{
	size_t	 i, max;

	if (b == NULL)
		return (0);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		switch (i) {
		case BUNDLE_RAW:
			max = BUNDLE_RAW_MAX;
			break;
		case BUNDLE_ENVELOPE:
		case BUNDLE_BODYSTRUCTURE:
		case BUNDLE_HEADERS:
			max = BUNDLE_META_MAX;
			break;
		case BUNDLE_TEXT:
			max = BUNDLE_TEXT_MAX;
			break;
		default:
			max = BUNDLE_FIELD_MAX;
			break;
		}
		if (b->len[i] > max || (b->len[i] > 0 && b->sec[i] == NULL))
			return (0);
	}
	return (b->len[BUNDLE_RAW] > 0);
}

/* Spool entry names: 1..MBOX_IMPORT_NAME_MAX-1 bytes of graphic ASCII. */
static int
import_name_ok(const char *s)
{
	size_t	 i, len;

	if (s == NULL)
		return (0);
	len = strnlen(s, MBOX_IMPORT_NAME_MAX);
	if (len == 0 || len >= MBOX_IMPORT_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return (0);
	return (1);
}

static int
uidvec_push(struct uidvec *uv, uint32_t x)
{
	uint32_t	*nv;
	size_t		 ncap;

	if (uv->n == uv->cap) {
		ncap = uv->cap == 0 ? 64 : uv->cap * 2;
		if ((nv = reallocarray(uv->v, ncap, sizeof(*nv))) == NULL) {
			log_warn("mbox: %s", __func__);
			return (MBOX_EIO);
		}
		uv->v = nv;
		uv->cap = ncap;
	}
	uv->v[uv->n++] = x;
	return (MBOX_OK);
}

static int
changevec_push(struct changevec *cv, const struct change *c)
{
	struct change	*nv;
	size_t		 ncap;

	if (cv->n == cv->cap) {
		ncap = cv->cap == 0 ? 64 : cv->cap * 2;
		if ((nv = reallocarray(cv->v, ncap, sizeof(*nv))) == NULL) {
			log_warn("mbox: %s", __func__);
			return (MBOX_EIO);
		}
		cv->v = nv;
		cv->cap = ncap;
	}
	cv->v[cv->n++] = *c;
	return (MBOX_OK);
}

static void
changevec_free(struct changevec *cv)
{
	size_t	 i;

	for (i = 0; i < cv->n; i++)
		free(cv->v[i].keywords);
	free(cv->v);
	cv->v = NULL;
	cv->n = cv->cap = 0;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct mbox_range	*ra = a, *rb = b;

	if (ra->first != rb->first)
		return (ra->first < rb->first ? -1 : 1);
	if (ra->last != rb->last)
		return (ra->last < rb->last ? -1 : 1);
	return (0);
}

/*
 * Normalise a set: UINT32_MAX ("*") becomes star (the largest uid or
 * sequence number), reversed ranges are swapped, everything above star
 * is dropped (so rows added by this very call are never visited), then
 * the ranges are sorted and merged.  The result may be empty.
 */
static int
ranges_norm(const struct mbox_range *in, size_t n, uint32_t star,
    struct mbox_range **outp, size_t *noutp)
{
	struct mbox_range	*out;
	size_t			 i, k = 0, j;
	uint32_t		 a, b, t;

	*outp = NULL;
	*noutp = 0;
	if (in == NULL || n == 0 || n > MBOX_RANGES_MAX)
		return (MBOX_EINVAL);
	if ((out = reallocarray(NULL, n, sizeof(*out))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	for (i = 0; i < n; i++) {
		a = in[i].first == UINT32_MAX ? star : in[i].first;
		b = in[i].last == UINT32_MAX ? star : in[i].last;
		if (a > b) {
			t = a;
			a = b;
			b = t;
		}
		if (b > star)
			b = star;
		if (a > b)
			continue;
		out[k].first = a;
		out[k].last = b;
		k++;
	}
	if (k > 1) {
		qsort(out, k, sizeof(*out), range_cmp);
		for (i = 1, j = 0; i < k; i++) {
			if (out[i].first <= out[j].last ||
			    out[i].first - 1 == out[j].last) {
				if (out[i].last > out[j].last)
					out[j].last = out[i].last;
			} else
				out[++j] = out[i];
		}
		k = j + 1;
	}
	*outp = out;
	*noutp = k;
	return (MBOX_OK);
}

static int
folder_find(struct mbox *m, const char *name, struct finfo *f)
{
	sqlite3_stmt	*st;
	int		 rc, ret;

	if ((ret = db_prepare(m, "folder", "SELECT id, uidvalidity, uidnext,"
	    " highestmodseq FROM folders WHERE name = ?1", &st)) != MBOX_OK)
		return (ret);
	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) !=
	    SQLITE_OK)
		ret = db_fail(m, "folder", rc);
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f->id = sqlite3_column_int64(st, 0);
		f->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		f->uidnext = (uint32_t)sqlite3_column_int64(st, 2);
		f->highestmodseq = (uint64_t)sqlite3_column_int64(st, 3);
		ret = MBOX_OK;
	} else if (rc == SQLITE_DONE)
		ret = MBOX_ENOTFOUND;
	else
		ret = db_fail(m, "folder", rc);
	sqlite3_finalize(st);
	return (ret);
}

/* MBOX_OK if the folder exists, MBOX_ENOTFOUND if not. */
static int
folder_exists(struct mbox *m, const char *name)
{
	int64_t	 v;

	return (db_int(m, "folder", &v, "SELECT 1 FROM folders WHERE"
	    " name = ?1", "t", name));
}

static int
folder_save(struct mbox *m, const struct finfo *f)
{
	return (db_exec(m, "folder", "UPDATE folders SET uidnext = ?1,"
	    " highestmodseq = ?2 WHERE id = ?3", "iii", (int64_t)f->uidnext,
	    (int64_t)f->highestmodseq, f->id));
}

static int
uidvalidity_next(struct mbox *m, uint32_t *uv)
{
	int64_t	 last, next, now;
	int	 ret;

	if ((ret = db_int(m, "uidvalidity", &last, "SELECT value FROM meta"
	    " WHERE key = 'uidvalidity'", "")) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	next = last + 1;
	now = (int64_t)time(NULL);
	if (now > next && now <= (int64_t)UINT32_MAX)
		next = now;
	if (next <= 0 || next > (int64_t)UINT32_MAX) {
		log_warnx("mbox: uidvalidity exhausted");
		return (MBOX_ELIMIT);
	}
	if ((ret = db_exec(m, "uidvalidity", "UPDATE meta SET value = ?1"
	    " WHERE key = 'uidvalidity'", "i", next)) != MBOX_OK)
		return (ret);
	*uv = (uint32_t)next;
	return (MBOX_OK);
}

static int
folder_insert(struct mbox *m, const char *name, uint32_t special,
    int subscribed)
{
	uint32_t	 uv;
	int		 ret;

	if ((ret = uidvalidity_next(m, &uv)) != MBOX_OK)
		return (ret);
	return (db_exec(m, "folder create", "INSERT INTO folders (name,"
	    " special, subscribed, uidvalidity, uidnext, highestmodseq)"
	    " VALUES (?1, ?2, ?3, ?4, 1, 1)", "tiii", name, (int64_t)special,
	    (int64_t)(subscribed ? 1 : 0), (int64_t)uv));
}

/* Fill f from a row of SQL_FOLDER_AGG. */
static int
folder_fill(sqlite3_stmt *st, struct mbox_folder *f)
{
	const unsigned char	*name;

	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(st, 0);
	if ((name = sqlite3_column_text(st, 1)) == NULL ||
	    strlcpy(f->name, (const char *)name, sizeof(f->name)) >=
	    sizeof(f->name))
		return (MBOX_EIO);
	f->special = (uint32_t)sqlite3_column_int64(st, 2);
	f->subscribed = sqlite3_column_int64(st, 3) != 0;
	f->uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
	f->uidnext = (uint32_t)sqlite3_column_int64(st, 5);
	f->highestmodseq = (uint64_t)sqlite3_column_int64(st, 6);
	f->exists = (uint32_t)sqlite3_column_int64(st, 7);
	f->unseen = (uint32_t)sqlite3_column_int64(st, 8);
	f->deleted = (uint32_t)sqlite3_column_int64(st, 9);
	f->size = (uint64_t)sqlite3_column_int64(st, 10);
	return (MBOX_OK);
}

/* How many ancestors of name do not exist yet. */
static int
parents_missing(struct mbox *m, const char *name, size_t *count)
{
	char	 buf[MBOX_NAME_MAX];
	size_t	 i;
	int	 ret;

	*count = 0;
	if (strlcpy(buf, name, sizeof(buf)) >= sizeof(buf))
		return (MBOX_EINVAL);
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] != MBOX_DELIM)
			continue;
		buf[i] = '\0';
		ret = folder_exists(m, buf);
		buf[i] = MBOX_DELIM;
		if (ret == MBOX_ENOTFOUND)
			(*count)++;
		else if (ret != MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

/* Create the missing ancestors of name, as IMAP CREATE does. */
static int
parents_create(struct mbox *m, const char *name)
{
	char	 buf[MBOX_NAME_MAX];
	size_t	 i;
	int	 ret;

	if (strlcpy(buf, name, sizeof(buf)) >= sizeof(buf))
		return (MBOX_EINVAL);
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] != MBOX_DELIM)
			continue;
		buf[i] = '\0';
		ret = folder_exists(m, buf);
		if (ret == MBOX_ENOTFOUND)
			ret = folder_insert(m, buf, SPECIAL_NONE, 0);
		buf[i] = MBOX_DELIM;
		if (ret != MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

/*
 * Inside a write transaction: create name and its missing parents,
 * within the folder limit.  MBOX_EEXISTS if name exists.
 */
static int
create_path(struct mbox *m, const char *name, uint32_t special)
{
	int64_t	 count;
	size_t	 missing;
	int	 ret;

	if ((ret = folder_exists(m, name)) == MBOX_OK)
		return (MBOX_EEXISTS);
	if (ret != MBOX_ENOTFOUND)
		return (ret);
	if ((ret = parents_missing(m, name, &missing)) != MBOX_OK)
		return (ret);
	if ((ret = db_int(m, "folder create", &count,
	    "SELECT count(*) FROM folders", "")) != MBOX_OK)
		return (ret);
	if ((uint64_t)count + missing + 1 > MBOX_FOLDERS_MAX)
		return (MBOX_ELIMIT);
	if ((ret = parents_create(m, name)) != MBOX_OK)
		return (ret);
	return (folder_insert(m, name, special, 0));
}

static int
folder_maxuid(struct mbox *m, int64_t fid, uint32_t *maxuid)
{
	int64_t	 v;
	int	 ret;

	if ((ret = db_int(m, "maxuid", &v, "SELECT coalesce(max(uid), 0)"
	    " FROM messages WHERE folder_id = ?1", "i", fid)) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	*maxuid = (uint32_t)v;
	return (MBOX_OK);
}

static int
folder_count(struct mbox *m, int64_t fid, uint32_t *count)
{
	int64_t	 v;
	int	 ret;

	if ((ret = db_int(m, "count", &v, "SELECT count(*) FROM messages"
	    " WHERE folder_id = ?1", "i", fid)) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	*count = (uint32_t)v;
	return (MBOX_OK);
}

/*
 * Before visiting uids from first on: count the messages between the
 * last one counted and first, so that sequence numbers stay right
 * across the ranges of a set (which are sorted and disjoint).
 */
static int
seq_advance(struct mbox *m, int64_t fid, struct seqpos *sp, uint32_t first)
{
	int64_t	 n;
	int	 ret;

	if (first <= sp->lastuid || first - sp->lastuid == 1)
		return (MBOX_OK);
	if ((ret = db_int(m, "seq", &n, "SELECT count(*) FROM messages"
	    " WHERE folder_id = ?1 AND uid > ?2 AND uid < ?3", "iii", fid,
	    (int64_t)sp->lastuid, (int64_t)first)) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	sp->seq += (uint32_t)n;
	sp->lastuid = first - 1;
	return (MBOX_OK);
}

/*
 * seq_advance() with a counting statement prepared once, for a walk
 * that skips messages (CHANGEDSINCE) and so counts before every row.
 */
static int
seq_skip(struct mbox *m, sqlite3_stmt *cnt, int64_t fid, struct seqpos *sp,
    uint32_t first)
{
	int	 rc;

	if (first <= sp->lastuid || first - sp->lastuid == 1)
		return (MBOX_OK);
	if ((rc = sqlite3_reset(cnt)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(cnt, 1, fid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(cnt, 2, sp->lastuid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(cnt, 3, first)) != SQLITE_OK ||
	    (rc = sqlite3_step(cnt)) != SQLITE_ROW)
		return (db_fail(m, "seq", rc == SQLITE_DONE ? SQLITE_CORRUPT :
		    rc));
	sp->seq += (uint32_t)sqlite3_column_int64(cnt, 0);
	sp->lastuid = first - 1;
	return (MBOX_OK);
}

/*
 * Turn normalised sequence-number ranges (within 1..count) into the
 * uid ranges they cover, in place; they stay sorted and disjoint.
 */
static int
seq_to_uid(struct mbox *m, int64_t fid, struct mbox_range *r, size_t *n)
{
	int64_t	 a, b;
	size_t	 i, k = 0;
	int	 ret;

	for (i = 0; i < *n; i++) {
		if (r[i].first == 0)
			r[i].first = 1;
		if (r[i].last < r[i].first)
			continue;
		if ((ret = db_int(m, "seq", &a, "SELECT uid FROM messages"
		    " WHERE folder_id = ?1 ORDER BY uid LIMIT 1 OFFSET ?2",
		    "ii", fid, (int64_t)r[i].first - 1)) != MBOX_OK ||
		    (ret = db_int(m, "seq", &b, "SELECT uid FROM messages"
		    " WHERE folder_id = ?1 ORDER BY uid LIMIT 1 OFFSET ?2",
		    "ii", fid, (int64_t)r[i].last - 1)) != MBOX_OK)
			return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
		r[k].first = (uint32_t)a;
		r[k].last = (uint32_t)b;
		k++;
	}
	*n = k;
	return (MBOX_OK);
}

/*
 * Call cb for every message in the (normalised) uid ranges, in uid
 * order, with sequence numbers.  Without meta, envelope and body
 * structure are not read (and are NULL).  With since > 0, only the
 * messages whose modseq is above it: the index on (folder_id, modseq)
 * finds them, and the messages between them are only counted, for the
 * sequence numbers.  The caller holds a transaction.  A callback that
 * returns non-zero ends the walk.
 */
static int
fetch_ranges(struct mbox *m, int64_t fid, const struct mbox_range *r,
    size_t n, int meta, uint64_t since, mbox_msg_cb cb, void *arg)
{
	static const char *const sql[2][2] = {
		{
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size FROM messages m"
			" WHERE m.folder_id = ?1 AND m.uid >= ?2"
			" AND m.uid <= ?3 ORDER BY m.uid",
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size, c.envelope, c.bodystructure"
			" FROM messages m CROSS JOIN content c"
			" ON c.id = m.content_id"
			" WHERE m.folder_id = ?1 AND m.uid >= ?2"
			" AND m.uid <= ?3 ORDER BY m.uid"
		}, {
			/* Else SQLite reads every row in the uid range. */
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size"
			" FROM messages m INDEXED BY messages_modseq"
			" WHERE m.folder_id = ?1 AND m.modseq > ?4"
			" AND m.uid >= ?2 AND m.uid <= ?3 ORDER BY m.uid",
			"SELECT m.uid, m.modseq, m.flags, m.keywords,"
			" m.internaldate, m.size, c.envelope, c.bodystructure"
			" FROM messages m INDEXED BY messages_modseq"
			" CROSS JOIN content c ON c.id = m.content_id"
			" WHERE m.folder_id = ?1 AND m.modseq > ?4"
			" AND m.uid >= ?2 AND m.uid <= ?3 ORDER BY m.uid"
		}
	};
	struct mbox_msg		 msg;
	struct seqpos		 sp = { 0, 0 };
	sqlite3_stmt		*st = NULL, *cnt = NULL;
	const unsigned char	*kw;
	size_t			 i;
	int			 rc, ret;

	if ((ret = db_prepare(m, "fetch", sql[since > 0][meta != 0],
	    &st)) != MBOX_OK)
		return (ret);
	if (since > 0 && (ret = db_prepare(m, "seq", "SELECT count(*)"
	    " FROM messages WHERE folder_id = ?1 AND uid > ?2 AND uid < ?3",
	    &cnt)) != MBOX_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((ret = seq_advance(m, fid, &sp, r[i].first)) != MBOX_OK)
			goto out;
		if ((rc = sqlite3_reset(st)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 1, fid)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, r[i].first)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 3, r[i].last)) != SQLITE_OK ||
		    (since > 0 && (rc = sqlite3_bind_int64(st, 4,
		    (int64_t)since)) != SQLITE_OK)) {
			ret = db_fail(m, "fetch", rc);
			goto out;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			memset(&msg, 0, sizeof(msg));
			msg.uid = (uint32_t)sqlite3_column_int64(st, 0);
			msg.modseq = (uint64_t)sqlite3_column_int64(st, 1);
			msg.flags = (uint32_t)sqlite3_column_int64(st, 2);
			if ((kw = sqlite3_column_text(st, 3)) == NULL ||
			    strlcpy(msg.keywords, (const char *)kw,
			    sizeof(msg.keywords)) >= sizeof(msg.keywords)) {
				log_warnx("mbox: fetch: bad keywords");
				ret = MBOX_EIO;
				goto out;
			}
			msg.internaldate = sqlite3_column_int64(st, 4);
			msg.size = (uint64_t)sqlite3_column_int64(st, 5);
			if (meta) {
				msg.envelope =
				    (const char *)sqlite3_column_text(st, 6);
				msg.bodystructure =
				    (const char *)sqlite3_column_text(st, 7);
				if (msg.envelope == NULL ||
				    msg.bodystructure == NULL) {
					ret = db_fail(m, "fetch", SQLITE_NOMEM);
					goto out;
				}
			}
			if (since > 0 && (ret = seq_skip(m, cnt, fid, &sp,
			    msg.uid)) != MBOX_OK)
				goto out;
			sp.seq++;
			sp.lastuid = msg.uid;
			msg.seq = sp.seq;
			if (cb(arg, &msg) != 0) {
				ret = MBOX_OK;
				goto out;
			}
		}
		if (rc != SQLITE_DONE) {
			ret = db_fail(m, "fetch", rc);
			goto out;
		}
	}
	ret = MBOX_OK;
 out:
	sqlite3_finalize(cnt);
	sqlite3_finalize(st);
	return (ret);
}

/*
 * Write the message into a zero blob in chunks: binding a 1 GB value
 * would make SQLite build the whole record in memory once more.
 */
static int
blob_fill(struct mbox *m, int64_t id, const char *p, size_t len)
{
	sqlite3_blob	*blob;
	size_t		 off, n;
	int		 rc;

	if ((rc = sqlite3_blob_open(m->db, "main", "blobs", "raw", id, 1,
	    &blob)) != SQLITE_OK)
		return (db_fail(m, "append blob", rc));
	for (off = 0; off < len; off += n) {
		n = len - off > WCHUNK ? WCHUNK : len - off;
		if ((rc = sqlite3_blob_write(blob, p + off, (int)n,
		    (int)off)) != SQLITE_OK) {
			(void)db_fail(m, "append blob", rc);
			sqlite3_blob_close(blob);
			return (MBOX_EIO);
		}
	}
	if ((rc = sqlite3_blob_close(blob)) != SQLITE_OK)
		return (db_fail(m, "append blob", rc));
	return (MBOX_OK);
}

/*
 * Inside a write transaction: store a new message in folder f, which
 * is updated in memory (the caller saves it).
 */
static int
append_locked(struct mbox *m, struct finfo *f, const struct bundle *b,
    uint32_t flags, const char *keywords, uint32_t *uidp)
{
	static const int	 cols[] = { BUNDLE_ENVELOPE,
	    BUNDLE_BODYSTRUCTURE, BUNDLE_MESSAGEID, BUNDLE_SUBJECT,
	    BUNDLE_FROM, BUNDLE_TO, BUNDLE_CC, BUNDLE_BCC, BUNDLE_HEADERS,
	    BUNDLE_TEXT };
	sqlite3_stmt		*st;
	const char		*p;
	int64_t			 id;
	size_t			 i;
	int			 rc, ret;

	if (f->uidnext == 0 || f->uidnext > UID_LAST)
		return (MBOX_ELIMIT);
	if (b->len[BUNDLE_RAW] > (size_t)sqlite3_limit(m->db,
	    SQLITE_LIMIT_LENGTH, -1))
		return (MBOX_ELIMIT);
	if ((ret = db_exec(m, "append blob", "INSERT INTO blobs (raw)"
	    " VALUES (zeroblob(?1))", "i", (int64_t)b->len[BUNDLE_RAW])) !=
	    MBOX_OK)
		return (ret);
	id = sqlite3_last_insert_rowid(m->db);
	if ((ret = blob_fill(m, id, b->sec[BUNDLE_RAW],
	    b->len[BUNDLE_RAW])) != MBOX_OK)
		return (ret);

	if ((ret = db_prepare(m, "append content", "INSERT INTO content"
	    " (id, envelope, bodystructure, messageid, subject, from_, to_,"
	    " cc, bcc, headers, body) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", &st)) !=
	    MBOX_OK)
		return (ret);
	rc = sqlite3_bind_int64(st, 1, id);
	for (i = 0; rc == SQLITE_OK && i < sizeof(cols) / sizeof(cols[0]);
	    i++) {
		/* NULL would bind SQL NULL; the sections are NOT NULL. */
		p = b->len[cols[i]] > 0 ? b->sec[cols[i]] : "";
		rc = sqlite3_bind_text64(st, (int)i + 2, p, b->len[cols[i]],
		    SQLITE_STATIC, SQLITE_UTF8);
	}
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	ret = rc == SQLITE_OK ? MBOX_OK : db_fail(m, "append content", rc);
	sqlite3_finalize(st);
	if (ret != MBOX_OK)
		return (ret);

	f->highestmodseq++;
	if ((ret = db_exec(m, "append", "INSERT INTO messages (folder_id,"
	    " uid, modseq, flags, keywords, internaldate, sentdate, size,"
	    " content_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	    "iiiitiiii", f->id, (int64_t)f->uidnext,
	    (int64_t)f->highestmodseq, (int64_t)flags, keywords,
	    b->internaldate, b->sentdate, (int64_t)b->len[BUNDLE_RAW], id)) !=
	    MBOX_OK)
		return (ret);
	*uidp = f->uidnext++;
	return (MBOX_OK);
}

/*
 * Inside a write transaction: copy the messages of src in the
 * normalised ranges r to dst with new uids, in uid order, sharing
 * their content; with move, expunge them from src.  pairs gets
 * (srcuid, dstuid) for each.  Both folders are saved.
 */
static int
copy_locked(struct mbox *m, struct finfo *src, struct finfo *dst,
    const struct mbox_range *r, size_t nr, int move, struct uidvec *pairs)
{
	sqlite3_stmt	*sel = NULL, *ins = NULL;
	uint32_t	 batch[BATCH], from, newuid;
	size_t		 i, j, got;
	int		 rc, ret;

	if ((ret = db_prepare(m, "copy", "SELECT uid FROM messages"
	    " WHERE folder_id = ?1 AND uid >= ?2 AND uid <= ?3"
	    " ORDER BY uid LIMIT ?4", &sel)) != MBOX_OK)
		goto out;
	if ((ret = db_prepare(m, "copy", "INSERT INTO messages (folder_id,"
	    " uid, modseq, flags, keywords, internaldate, sentdate, size,"
	    " content_id) SELECT ?1, ?2, ?3, flags, keywords, internaldate,"
	    " sentdate, size, content_id FROM messages"
	    " WHERE folder_id = ?4 AND uid = ?5", &ins)) != MBOX_OK)
		goto out;
	for (i = 0; i < nr; i++) {
		from = r[i].first;
		for (;;) {
			/* Read a batch, then write: no open cursor. */
			got = 0;
			if ((rc = sqlite3_reset(sel)) != SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 1, src->id)) !=
			    SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 2, from)) !=
			    SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 3, r[i].last)) !=
			    SQLITE_OK ||
			    (rc = sqlite3_bind_int64(sel, 4, BATCH)) !=
			    SQLITE_OK)
				goto dberr;
			while (got < BATCH &&
			    (rc = sqlite3_step(sel)) == SQLITE_ROW)
				batch[got++] =
				    (uint32_t)sqlite3_column_int64(sel, 0);
			if (got < BATCH && rc != SQLITE_DONE)
				goto dberr;
			if ((rc = sqlite3_reset(sel)) != SQLITE_OK)
				goto dberr;
			for (j = 0; j < got; j++) {
				if (dst->uidnext == 0 ||
				    dst->uidnext > UID_LAST) {
					ret = MBOX_ELIMIT;
					goto out;
				}
				newuid = dst->uidnext++;
				dst->highestmodseq++;
				if ((rc = sqlite3_reset(ins)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 1,
				    dst->id)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 2,
				    newuid)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 3,
				    (int64_t)dst->highestmodseq)) !=
				    SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 4,
				    src->id)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(ins, 5,
				    batch[j])) != SQLITE_OK)
					goto dberr;
				if ((rc = sqlite3_step(ins)) != SQLITE_DONE)
					goto dberr;
				if (sqlite3_changes(m->db) != 1) {
					log_warnx("mbox: copy: row vanished");
					ret = MBOX_EIO;
					goto out;
				}
				if ((ret = uidvec_push(pairs, batch[j])) !=
				    MBOX_OK ||
				    (ret = uidvec_push(pairs, newuid)) !=
				    MBOX_OK)
					goto out;
			}
			if (got < BATCH || batch[got - 1] >= r[i].last)
				break;
			from = batch[got - 1] + 1;
		}
	}
	if (pairs->n == 0) {
		ret = MBOX_OK;
		goto out;
	}
	if ((ret = folder_save(m, dst)) != MBOX_OK)
		goto out;
	if (move) {
		src->highestmodseq++;
		for (i = 0; i < nr; i++) {
			if ((ret = db_exec(m, "move", "INSERT INTO expunged"
			    " (folder_id, uid, modseq) SELECT folder_id, uid,"
			    " ?4 FROM messages WHERE folder_id = ?1 AND"
			    " uid >= ?2 AND uid <= ?3", "iiii", src->id,
			    (int64_t)r[i].first, (int64_t)r[i].last,
			    (int64_t)src->highestmodseq)) != MBOX_OK ||
			    (ret = db_exec(m, "move", "DELETE FROM messages"
			    " WHERE folder_id = ?1 AND uid >= ?2 AND"
			    " uid <= ?3", "iii", src->id, (int64_t)r[i].first,
			    (int64_t)r[i].last)) != MBOX_OK)
				goto out;
		}
		if ((ret = folder_save(m, src)) != MBOX_OK)
			goto out;
	}
	ret = MBOX_OK;
	goto out;
 dberr:
	ret = db_fail(m, "copy", rc);
 out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return (ret);
}

/*
 * Read up to BATCH messages with uids in [from, last] into rows; the
 * statement is reset afterwards, so the caller may write.
 */
static int
store_batch(struct mbox *m, sqlite3_stmt *sel, int64_t fid, uint32_t from,
    uint32_t last, struct storerow *rows, size_t *gotp)
{
	const unsigned char	*kw;
	size_t			 got = 0;
	int			 rc;

	*gotp = 0;
	if ((rc = sqlite3_reset(sel)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 1, fid)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 2, from)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 3, last)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(sel, 4, BATCH)) != SQLITE_OK)
		return (db_fail(m, "store", rc));
	while (got < BATCH && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
		rows[got].uid = (uint32_t)sqlite3_column_int64(sel, 0);
		rows[got].modseq = (uint64_t)sqlite3_column_int64(sel, 1);
		rows[got].flags = (uint32_t)sqlite3_column_int64(sel, 2);
		if ((kw = sqlite3_column_text(sel, 3)) == NULL ||
		    strlcpy(rows[got].keywords, (const char *)kw,
		    sizeof(rows[got].keywords)) >= sizeof(rows[got].keywords)) {
			log_warnx("mbox: store: bad keywords");
			return (MBOX_EIO);
		}
		rows[got].internaldate = sqlite3_column_int64(sel, 4);
		rows[got].size = (uint64_t)sqlite3_column_int64(sel, 5);
		got++;
	}
	if (got < BATCH && rc != SQLITE_DONE)
		return (db_fail(m, "store", rc));
	if ((rc = sqlite3_reset(sel)) != SQLITE_OK)
		return (db_fail(m, "store", rc));
	*gotp = got;
	return (MBOX_OK);
}

/*
 * What a STORE makes of one message: its flags in *nf, its keywords
 * formatted in kwout.  MBOX_ELIMIT if it would get too many keywords.
 */
static int
store_apply(enum mbox_store_op op, uint32_t flags, const struct kwset *args,
    const struct storerow *row, uint32_t *nf, char *kwout, size_t kwlen)
{
	struct kwset	 ks;
	size_t		 k;
	int		 ret;

	if (kw_parse(row->keywords, &ks) != MBOX_OK) {
		log_warnx("mbox: store: bad keywords");
		return (MBOX_EIO);
	}
	switch (op) {
	case STORE_REPLACE:
		*nf = flags;
		/* The same set, spelt in another case or order: as is. */
		if (!kw_equal(&ks, args))
			ks = *args;
		break;
	case STORE_ADD:
		*nf = row->flags | flags;
		for (k = 0; k < args->n; k++)
			if ((ret = kw_add(&ks, args->kw[k],
			    strlen(args->kw[k]))) != MBOX_OK)
				return (ret);
		break;
	default:
		*nf = row->flags & ~flags;
		for (k = 0; k < args->n; k++)
			kw_del(&ks, args->kw[k]);
		break;
	}
	kw_format(&ks, kwout, kwlen);
	return (MBOX_OK);
}

static int
tolower_ascii(int c)
{
	return (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/*
 * Is there a field named f (ASCII case-insensitive) in the decoded
 * headers h ("Name: value\n" lines, continuation lines starting with a
 * space or a tab) whose value contains n (ASCII case-insensitive)?  An
 * empty n matches any such field.
 */
static int
hdr_match(const unsigned char *h, size_t hl, const char *f, size_t fl,
    const char *n, size_t nl)
{
	const unsigned char	*v;
	size_t			 pos = 0, e, vl, i, k;

	while (pos < hl) {
		/* The end of this field, with its continuation lines. */
		e = pos;
		for (;;) {
			while (e < hl && h[e] != '\n')
				e++;
			if (e + 1 < hl && (h[e + 1] == ' ' || h[e + 1] == '\t'))
				e++;
			else
				break;
		}
		if (e - pos > fl && h[pos + fl] == ':' &&
		    strncasecmp((const char *)h + pos, f, fl) == 0) {
			v = h + pos + fl + 1;
			vl = e - pos - fl - 1;
			if (nl == 0)
				return (1);
			for (i = 0; nl <= vl && i <= vl - nl; i++) {
				for (k = 0; k < nl; k++)
					if (tolower_ascii(v[i + k]) !=
					    tolower_ascii((unsigned char)n[k]))
						break;
				if (k == nl)
					return (1);
			}
		}
		pos = e + 1;
	}
	return (0);
}

/* SQL: tresor_header(headers, field, string) -> 0 or 1. */
static void
sql_header(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const unsigned char	*h, *f, *n;
	size_t			 hl, fl, nl;

	if (argc != 3) {
		sqlite3_result_error(ctx, "tresor_header: arguments", -1);
		return;
	}
	/* Text first, then its length (the conversion may change it). */
	h = sqlite3_value_text(argv[0]);
	hl = (size_t)sqlite3_value_bytes(argv[0]);
	f = sqlite3_value_text(argv[1]);
	fl = (size_t)sqlite3_value_bytes(argv[1]);
	n = sqlite3_value_text(argv[2]);
	nl = (size_t)sqlite3_value_bytes(argv[2]);
	if (h == NULL || f == NULL || n == NULL || fl == 0) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	sqlite3_result_int(ctx, hdr_match(h, hl, (const char *)f, fl,
	    (const char *)n, nl));
}

/* Characters (not bytes) of a UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return (n);
}

/*
 * An FTS5 query for the string s as one phrase in the columns cols:
 * "{cols} : "s"", with every '"' doubled, which is the only escape an
 * FTS5 string has: inside it, NEAR, AND, *, ^, ( and ) are plain text.
 */
static char *
fts_query(const char *cols, const char *s)
{
	char	*q;
	size_t	 need, i, k;

	need = strlen(cols) + 2 * strlen(s) + 8;
	if ((q = malloc(need)) == NULL)
		return (NULL);
	k = (size_t)snprintf(q, need, "{%s} : \"", cols);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"')
			q[k++] = '"';
		q[k++] = s[i];
	}
	q[k++] = '"';
	q[k] = '\0';
	return (q);
}

/* A LIKE pattern "%s%" with '%', '_' and the escape '\\' escaped. */
static char *
like_pattern(const char *s)
{
	char	*q;
	size_t	 i, k = 0;

	if ((q = malloc(2 * strlen(s) + 3)) == NULL)
		return (NULL);
	q[k++] = '%';
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			q[k++] = '\\';
		q[k++] = s[i];
	}
	q[k++] = '%';
	q[k] = '\0';
	return (q);
}

static int64_t
clamp64(uint64_t v)
{
	return (v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* Add a parameter; its number is returned (?1 is the folder). */
static int
sb_int(struct sbuild *sb, int64_t v)
{
	if (sb->np >= SP_MAX)
		return (-1);
	sb->p[sb->np].text = 0;
	sb->p[sb->np].i = v;
	sb->np++;
	return (sb->np + 1);
}

/* Add a text parameter; own (may be NULL) is freed with the build. */
static int
sb_text(struct sbuild *sb, const char *s, char *own)
{
	if (own != NULL)
		sb->own[sb->nown++] = own;
	if (s == NULL || sb->np >= SP_MAX)
		return (-1);
	sb->p[sb->np].text = 1;
	sb->p[sb->np].s = s;
	sb->np++;
	return (sb->np + 1);
}

/*
 * A case-insensitive substring test of str in cols, a space-separated
 * list of FTS columns (our own fixed names), which are also the names
 * of the content columns for the LIKE fallback.
 */
static int
sb_substr(struct sbuild *sb, const char *cols, const char *str, char **frag)
{
	const char	*p, *sp;
	char		*q, *e = NULL, *t;
	size_t		 len;
	int		 k, r;

	if (utf8_chars(str) >= TRIGRAM) {
		q = fts_query(cols, str);
		if ((k = sb_text(sb, q, q)) == -1)
			return (-1);
		if (asprintf(frag, "s.cid IN (SELECT rowid FROM fts"
		    " WHERE fts MATCH ?%d)", k) == -1)
			return (-1);
		return (0);
	}
	q = like_pattern(str);
	if ((k = sb_text(sb, q, q)) == -1)
		return (-1);
	for (p = cols;;) {
		sp = strchr(p, ' ');
		len = sp != NULL ? (size_t)(sp - p) : strlen(p);
		r = asprintf(&t, "%s%sc.%.*s LIKE ?%d ESCAPE '\\'",
		    e != NULL ? e : "", e != NULL ? " OR " : "", (int)len, p,
		    k);
		free(e);
		if (r == -1)
			return (-1);
		e = t;
		if (sp == NULL)
			break;
		p = sp + 1;
	}
	r = asprintf(frag, "EXISTS (SELECT 1 FROM content c"
	    " WHERE c.id = s.cid AND (%s))", e);
	free(e);
	return (r == -1 ? -1 : 0);
}

/* One key of a search program as an SQL expression. */
static int
sb_key(struct sbuild *sb, const struct search_op_s *o, char **frag)
{
	const char	*datecol;
	char		*q, *e;
	uint64_t	 lo, hi, t;
	int		 a, b, c;

	*frag = NULL;
	datecol = "s.internaldate";
	switch (o->op) {
	case SEARCH_ALL:
		return (asprintf(frag, "1") == -1 ? -1 : 0);
	case SEARCH_FLAG:
		if ((a = sb_int(sb, (int64_t)o->num)) == -1)
			return (-1);
		return (asprintf(frag, "(s.flags & ?%d) = ?%d", a, a) == -1 ?
		    -1 : 0);
	case SEARCH_KEYWORD:
		/* Not a keyword atom: no message can have it. */
		if (!kw_valid(o->str, strlen(o->str)))
			return (asprintf(frag, "0") == -1 ? -1 : 0);
		if ((a = sb_text(sb, o->str, NULL)) == -1)
			return (-1);
		return (asprintf(frag, "instr(' ' || lower(s.keywords) || ' ',"
		    " ' ' || lower(?%d) || ' ') > 0", a) == -1 ? -1 : 0);
	case SEARCH_UID_RANGE:
	case SEARCH_SEQ_RANGE:
		t = o->op == SEARCH_UID_RANGE ? sb->maxuid : sb->count;
		lo = o->num == UINT32_MAX ? t : o->num;
		hi = o->num2 == UINT32_MAX ? t : o->num2;
		if (lo > hi) {
			t = lo;
			lo = hi;
			hi = t;
		}
		if ((a = sb_int(sb, clamp64(lo))) == -1 ||
		    (b = sb_int(sb, clamp64(hi))) == -1)
			return (-1);
		if (o->op == SEARCH_SEQ_RANGE)
			sb->needseq = 1;
		return (asprintf(frag, "s.%s BETWEEN ?%d AND ?%d",
		    o->op == SEARCH_UID_RANGE ? "uid" : "seq", a, b) == -1 ?
		    -1 : 0);
	case SEARCH_LARGER:
	case SEARCH_SMALLER:
		if ((a = sb_int(sb, clamp64(o->num))) == -1)
			return (-1);
		return (asprintf(frag, "s.size %s ?%d",
		    o->op == SEARCH_LARGER ? ">" : "<", a) == -1 ? -1 : 0);
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		/* No Date: header: the internal date, as SORT does. */
		datecol = "(CASE WHEN s.sentdate != 0 THEN s.sentdate"
		    " ELSE s.internaldate END)";
		/* FALLTHROUGH */
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
		if ((a = sb_int(sb, clamp64(o->num))) == -1)
			return (-1);
		b = 0;
		if ((o->op == SEARCH_ON || o->op == SEARCH_SENTON) &&
		    (b = sb_int(sb, clamp64(o->num2))) == -1)
			return (-1);
		if (o->op == SEARCH_BEFORE || o->op == SEARCH_SENTBEFORE)
			c = asprintf(frag, "%s < ?%d", datecol, a);
		else if (o->op == SEARCH_SINCE || o->op == SEARCH_SENTSINCE)
			c = asprintf(frag, "%s >= ?%d", datecol, a);
		else
			c = asprintf(frag, "(%s >= ?%d AND %s < ?%d)", datecol,
			    a, datecol, b);
		return (c == -1 ? -1 : 0);
	case SEARCH_MODSEQ:
		if ((a = sb_int(sb, clamp64(o->num))) == -1)
			return (-1);
		return (asprintf(frag, "s.modseq >= ?%d", a) == -1 ? -1 : 0);
	case SEARCH_SUBJECT:
		return (sb_substr(sb, "subject", o->str, frag));
	case SEARCH_FROM:
		return (sb_substr(sb, "from_", o->str, frag));
	case SEARCH_TO:
		return (sb_substr(sb, "to_", o->str, frag));
	case SEARCH_CC:
		return (sb_substr(sb, "cc", o->str, frag));
	case SEARCH_BCC:
		return (sb_substr(sb, "bcc", o->str, frag));
	case SEARCH_BODY:
		return (sb_substr(sb, "body", o->str, frag));
	case SEARCH_TEXT:
		return (sb_substr(sb, "headers body", o->str, frag));
	case SEARCH_HEADER:
		if ((a = sb_text(sb, o->str2, NULL)) == -1 ||
		    (b = sb_text(sb, o->str, NULL)) == -1)
			return (-1);
		if (asprintf(&e, "EXISTS (SELECT 1 FROM content c"
		    " WHERE c.id = s.cid AND tresor_header(c.headers, ?%d,"
		    " ?%d))", a, b) == -1)
			return (-1);
		if (utf8_chars(o->str) < TRIGRAM) {
			*frag = e;
			return (0);
		}
		/* The index narrows the candidates first. */
		q = fts_query("headers", o->str);
		if ((c = sb_text(sb, q, q)) == -1) {
			free(e);
			return (-1);
		}
		a = asprintf(frag, "(s.cid IN (SELECT rowid FROM fts"
		    " WHERE fts MATCH ?%d) AND %s)", c, e);
		free(e);
		return (a == -1 ? -1 : 0);
	default:
		return (-1);
	}
}

/*
 * The program (already checked) as one WHERE expression over the
 * subquery "s" of the folder's messages.
 */
static int
sb_build(struct sbuild *sb, const struct search_program *prog, char **expr)
{
	const struct search_op_s	*o;
	char				*frag, *a, *b;
	uint32_t			 i;
	int				 r;

	*expr = NULL;
	for (i = 0; i < prog->nops; i++) {
		o = &prog->ops[i];
		switch (o->op) {
		case SEARCH_AND:
		case SEARCH_OR:
			if (sb->depth < 2)
				return (-1);
			b = sb->stack[--sb->depth];
			a = sb->stack[--sb->depth];
			r = asprintf(&frag, "(%s %s %s)", a,
			    o->op == SEARCH_AND ? "AND" : "OR", b);
			free(a);
			free(b);
			if (r == -1)
				return (-1);
			break;
		case SEARCH_NOT:
			if (sb->depth < 1)
				return (-1);
			a = sb->stack[--sb->depth];
			r = asprintf(&frag, "(NOT %s)", a);
			free(a);
			if (r == -1)
				return (-1);
			break;
		default:
			if (sb_key(sb, o, &frag) == -1)
				return (-1);
			break;
		}
		if (sb->depth >= SEARCH_MAX_OPS) {
			free(frag);
			return (-1);
		}
		sb->stack[sb->depth++] = frag;
	}
	if (sb->depth != 1)
		return (-1);
	*expr = sb->stack[0];
	sb->depth = 0;
	return (0);
}

static void
sb_free(struct sbuild *sb)
{
	int	 i;

	for (i = 0; i < sb->depth; i++)
		free(sb->stack[i]);
	for (i = 0; i < sb->nown; i++)
		free(sb->own[i]);
	sb->depth = sb->nown = 0;
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
	if ((rc = sqlite3_busy_timeout(m->db, 10000)) != SQLITE_OK ||
	    (rc = sqlite3_create_function_v2(m->db, "tresor_header", 3,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	    sql_header, NULL, NULL, NULL)) != SQLITE_OK) {
		ret = db_fail(m, "open", rc);
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
mbox_folder_list(struct mbox *m, mbox_folder_cb cb, void *arg)
{
	struct mbox_folder	 f;
	sqlite3_stmt		*st;
	int			 rc, ret;

	if (m == NULL || cb == NULL)
		return (MBOX_EINVAL);
	if ((ret = tx_begin(m, 0)) != MBOX_OK)
		return (ret);
	if ((ret = db_prepare(m, "folder list", SQL_FOLDER_AGG
	    "GROUP BY f.id ORDER BY f.name", &st)) != MBOX_OK) {
		tx_rollback(m);
		return (ret);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = folder_fill(st, &f)) != MBOX_OK) {
			log_warnx("mbox: folder list: bad row");
			break;
		}
		if (cb(arg, &f) != 0)
			break;
	}
	if (ret == MBOX_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_fail(m, "folder list", rc);
	sqlite3_finalize(st);
	if (ret != MBOX_OK) {
		tx_rollback(m);
		return (ret);
	}
	return (tx_end(m));
}

int
mbox_folder_get(struct mbox *m, const char *name, struct mbox_folder *f)
{
	char		 nm[MBOX_NAME_MAX];
	sqlite3_stmt	*st;
	int		 rc, ret;

	if (m == NULL || f == NULL)
		return (MBOX_EINVAL);
	if ((ret = name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if ((ret = db_prepare(m, "folder get", SQL_FOLDER_AGG
	    "WHERE f.name = ?1 GROUP BY f.id", &st)) != MBOX_OK)
		return (ret);
	if ((rc = sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC)) !=
	    SQLITE_OK)
		ret = db_fail(m, "folder get", rc);
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = folder_fill(st, f)) != MBOX_OK)
			log_warnx("mbox: folder get: bad row");
	} else if (rc == SQLITE_DONE)
		ret = MBOX_ENOTFOUND;
	else
		ret = db_fail(m, "folder get", rc);
	sqlite3_finalize(st);
	return (ret);
}

int
mbox_folder_create(struct mbox *m, const char *name, uint32_t special)
{
	char	 nm[MBOX_NAME_MAX];
	int	 ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if (special > SPECIAL_ARCHIVE || special == SPECIAL_INBOX)
		return (MBOX_EINVAL);
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = create_path(m, nm, special)) != MBOX_OK) {
		tx_rollback(m);
		return (ret);
	}
	return (tx_commit(m));
}

int
mbox_folder_delete(struct mbox *m, const char *name)
{
	char		 nm[MBOX_NAME_MAX], hi[MBOX_NAME_MAX + 1];
	struct finfo	 f;
	int64_t		 v;
	int		 ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if (strcmp(nm, "INBOX") == 0)
		return (MBOX_EINVAL);
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK)
		goto fail;
	/* Children sort in [name "/", name "0"): '0' follows '/'. */
	(void)snprintf(hi, sizeof(hi), "%s0", nm);
	if ((ret = db_int(m, "folder delete", &v, "SELECT 1 FROM folders"
	    " WHERE name > ?1 || '/' AND name < ?2 LIMIT 1", "tt", nm, hi)) ==
	    MBOX_OK) {
		ret = MBOX_EINVAL;
		goto fail;
	}
	if (ret != MBOX_ENOTFOUND)
		goto fail;
	if ((ret = db_exec(m, "folder delete", "DELETE FROM messages"
	    " WHERE folder_id = ?1", "i", f.id)) != MBOX_OK ||
	    (ret = db_exec(m, "folder delete", "DELETE FROM expunged"
	    " WHERE folder_id = ?1", "i", f.id)) != MBOX_OK ||
	    (ret = db_exec(m, "folder delete", "DELETE FROM folders"
	    " WHERE id = ?1", "i", f.id)) != MBOX_OK)
		goto fail;
	return (tx_commit(m));
 fail:
	tx_rollback(m);
	return (ret);
}

int
mbox_folder_rename(struct mbox *m, const char *oldname, const char *newname)
{
	char			 on[MBOX_NAME_MAX], nn[MBOX_NAME_MAX];
	char			 hi[MBOX_NAME_MAX + 1];
	struct finfo		 src, dst;
	struct uidvec		 pairs = { NULL, 0, 0 };
	struct mbox_range	 all;
	sqlite3_stmt		*st = NULL;
	int64_t			 maxlen, maxdepth, count;
	size_t			 olen, nlen, odepth, ndepth, i, missing;
	int			 rc, ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = name_norm(oldname, on)) != MBOX_OK ||
	    (ret = name_norm(newname, nn)) != MBOX_OK)
		return (ret);
	olen = strlen(on);
	nlen = strlen(nn);
	if (strcmp(on, nn) == 0)
		return (MBOX_EEXISTS);
	/* Not beneath itself. */
	if (nlen > olen && strncmp(nn, on, olen) == 0 &&
	    nn[olen] == MBOX_DELIM)
		return (MBOX_EINVAL);
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = folder_find(m, on, &src)) != MBOX_OK)
		goto fail;

	if (strcmp(on, "INBOX") == 0) {
		/*
		 * RFC 9051 6.3.6: renaming INBOX moves its messages to a
		 * new folder and leaves INBOX (and its children) alone.
		 */
		if ((ret = create_path(m, nn, SPECIAL_NONE)) != MBOX_OK ||
		    (ret = folder_find(m, nn, &dst)) != MBOX_OK)
			goto fail;
		if ((ret = folder_maxuid(m, src.id, &all.last)) != MBOX_OK)
			goto fail;
		all.first = 1;
		if (all.last > 0 && (ret = copy_locked(m, &src, &dst, &all,
		    1, 1, &pairs)) != MBOX_OK)
			goto fail;
		free(pairs.v);
		return (tx_commit(m));
	}

	if ((ret = folder_exists(m, nn)) == MBOX_OK) {
		ret = MBOX_EEXISTS;
		goto fail;
	}
	if (ret != MBOX_ENOTFOUND)
		goto fail;
	/* The children must still fit the limits under the new name. */
	(void)snprintf(hi, sizeof(hi), "%s0", on);
	if ((ret = db_prepare(m, "folder rename", "SELECT"
	    " coalesce(max(length(CAST(name AS BLOB))), 0),"
	    " coalesce(max(length(name) - length(replace(name, '/', ''))), 0)"
	    " FROM folders WHERE name > ?1 || '/' AND name < ?2", &st)) !=
	    MBOX_OK)
		goto fail;
	if ((rc = sqlite3_bind_text(st, 1, on, -1, SQLITE_STATIC)) !=
	    SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC)) !=
	    SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW) {
		ret = db_fail(m, "folder rename", rc);
		goto fail;
	}
	maxlen = sqlite3_column_int64(st, 0);
	maxdepth = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0, odepth = 0; i < olen; i++)
		odepth += on[i] == MBOX_DELIM;
	for (i = 0, ndepth = 0; i < nlen; i++)
		ndepth += nn[i] == MBOX_DELIM;
	if (maxlen > 0 && ((size_t)maxlen - olen + nlen >= MBOX_NAME_MAX ||
	    (size_t)maxdepth - odepth + ndepth + 1 > MBOX_DEPTH_MAX)) {
		ret = MBOX_EINVAL;
		goto fail;
	}
	if ((ret = parents_missing(m, nn, &missing)) != MBOX_OK ||
	    (ret = db_int(m, "folder rename", &count,
	    "SELECT count(*) FROM folders", "")) != MBOX_OK)
		goto fail;
	if ((uint64_t)count + missing > MBOX_FOLDERS_MAX) {
		ret = MBOX_ELIMIT;
		goto fail;
	}
	if ((ret = parents_create(m, nn)) != MBOX_OK)
		goto fail;
	/* UIDVALIDITY moves with the messages: uids stay valid. */
	if ((ret = db_exec(m, "folder rename", "UPDATE folders SET"
	    " name = ?1 || CAST(substr(CAST(name AS BLOB), ?2) AS TEXT)"
	    " WHERE name > ?3 || '/' AND name < ?4", "titt", nn,
	    (int64_t)olen + 1, on, hi)) != MBOX_OK ||
	    (ret = db_exec(m, "folder rename", "UPDATE folders SET name = ?1"
	    " WHERE id = ?2", "ti", nn, src.id)) != MBOX_OK)
		goto fail;
	return (tx_commit(m));
 fail:
	sqlite3_finalize(st);
	free(pairs.v);
	tx_rollback(m);
	return (ret);
}

int
mbox_folder_subscribe(struct mbox *m, const char *name, int on)
{
	char	 nm[MBOX_NAME_MAX];
	int	 ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = db_exec(m, "subscribe", "UPDATE folders SET subscribed ="
	    " ?1 WHERE name = ?2 AND subscribed != ?1", "it",
	    (int64_t)(on ? 1 : 0), nm)) != MBOX_OK)
		goto fail;
	if (sqlite3_changes(m->db) > 0)
		return (tx_commit(m));
	/* Nothing changed: it is already so, or there is no such folder. */
	ret = folder_exists(m, nm);
 fail:
	tx_rollback(m);
	return (ret);
}

int
mbox_append(struct mbox *m, const char *folder, const struct bundle *b,
    uint32_t flags, const char *keywords, uint32_t *uidvalidity,
    uint32_t *uidp)
{
	char		 nm[MBOX_NAME_MAX];
	char		 kw[MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX];
	struct kwset	 ks;
	struct finfo	 f;
	uint32_t	 uid;
	int		 ret;

	if (m == NULL || !bundle_ok(b) || (flags & ~MAILFLAG_ALL) != 0)
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK ||
	    (ret = kw_parse(keywords, &ks)) != MBOX_OK)
		return (ret);
	kw_format(&ks, kw, sizeof(kw));
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = append_locked(m, &f, b, flags, kw, &uid)) != MBOX_OK ||
	    (ret = folder_save(m, &f)) != MBOX_OK) {
		tx_rollback(m);
		return (ret);
	}
	if ((ret = tx_commit(m)) != MBOX_OK)
		return (ret);
	if (uidvalidity != NULL)
		*uidvalidity = f.uidvalidity;
	if (uidp != NULL)
		*uidp = uid;
	return (MBOX_OK);
}

int
mbox_fetch(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, int how, mbox_msg_cb cb, void *arg)
{
	return (mbox_fetch_since(m, folder, r, n, how, 0, cb, arg));
}

int
mbox_fetch_since(struct mbox *m, const char *folder,
    const struct mbox_range *r, size_t n, int how, uint64_t changedsince,
    mbox_msg_cb cb, void *arg)
{
	char			 nm[MBOX_NAME_MAX];
	struct finfo		 f;
	struct mbox_range	*nr = NULL;
	size_t			 nn;
	uint32_t		 star;
	int			 ret;

	if (m == NULL || cb == NULL || r == NULL || n == 0 ||
	    n > MBOX_RANGES_MAX || (how & ~(MBOX_FETCH_SEQ |
	    MBOX_FETCH_NOMETA | MBOX_FETCH_CHANGEDSINCE)) != 0)
		return (MBOX_EINVAL);
	if ((how & MBOX_FETCH_CHANGEDSINCE) == 0)
		changedsince = 0;
	else if (changedsince == 0 || changedsince > INT64_MAX)
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((ret = tx_begin(m, 0)) != MBOX_OK)
		return (ret);
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK)
		goto fail;
	if (how & MBOX_FETCH_SEQ)
		ret = folder_count(m, f.id, &star);
	else
		ret = folder_maxuid(m, f.id, &star);
	if (ret != MBOX_OK ||
	    (ret = ranges_norm(r, n, star, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((how & MBOX_FETCH_SEQ) &&
	    (ret = seq_to_uid(m, f.id, nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = fetch_ranges(m, f.id, nr, nn,
	    (how & MBOX_FETCH_NOMETA) == 0, changedsince, cb, arg)) !=
	    MBOX_OK)
		goto fail;
	free(nr);
	return (tx_end(m));
 fail:
	free(nr);
	tx_rollback(m);
	return (ret);
}

int
mbox_body_write(struct mbox *m, const char *folder, uint32_t uid, int fd)
{
	char		 nm[MBOX_NAME_MAX];
	struct finfo	 f;
	sqlite3_blob	*blob = NULL;
	unsigned char	*buf = NULL;
	int64_t		 id;
	int		 len, off, k, rc, ret;

	if (m == NULL || fd < 0 || uid == 0 || uid == UINT32_MAX)
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((buf = malloc(CHUNK)) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	/* One read transaction: the blob cannot go away under us. */
	if ((ret = tx_begin(m, 0)) != MBOX_OK)
		goto out;
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = db_int(m, "body", &id, "SELECT content_id FROM messages"
	    " WHERE folder_id = ?1 AND uid = ?2", "ii", f.id, (int64_t)uid)) !=
	    MBOX_OK)
		goto fail;
	if ((rc = sqlite3_blob_open(m->db, "main", "blobs", "raw", id, 0,
	    &blob)) != SQLITE_OK) {
		ret = db_fail(m, "body", rc);
		goto fail;
	}
	len = sqlite3_blob_bytes(blob);
	for (off = 0; off < len; off += k) {
		k = len - off > CHUNK ? CHUNK : len - off;
		if ((rc = sqlite3_blob_read(blob, buf, k, off)) != SQLITE_OK) {
			ret = db_fail(m, "body", rc);
			goto fail;
		}
		if (write_all(fd, buf, (size_t)k) == -1) {
			log_warn("mbox: body: write");
			ret = MBOX_EIO;
			goto fail;
		}
	}
	rc = sqlite3_blob_close(blob);
	blob = NULL;
	if (rc != SQLITE_OK) {
		ret = db_fail(m, "body", rc);
		goto fail;
	}
	ret = tx_end(m);
	goto out;
 fail:
	if (blob != NULL)
		sqlite3_blob_close(blob);
	tx_rollback(m);
 out:
	free(buf);
	return (ret);
}

/*
 * Many bodies in one transaction, for FETCH of many BODY[] at once:
 * one round trip between front and vault instead of one per message.
 * The blob handle moves from row to row (sqlite3_blob_reopen) rather
 * than being opened for each message.
 */
int
mbox_bodies(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, uint64_t budget, mbox_chunk_cb cb, void *arg,
    uint32_t *countp, uint32_t *lastuidp)
{
	char			 nm[MBOX_NAME_MAX];
	struct finfo		 f;
	struct mbox_range	*nr = NULL;
	sqlite3_stmt		*st = NULL;
	sqlite3_blob		*blob = NULL;
	unsigned char		*buf = NULL;
	uint64_t		 total = 0;
	int64_t			 id;
	size_t			 nn, i;
	uint32_t		 maxuid, end = 0, count = 0, last = 0, uid;
	int			 len, off, k, rc, ret, cut = 0;

	if (countp != NULL)
		*countp = 0;
	if (lastuidp != NULL)
		*lastuidp = 0;
	if (m == NULL || cb == NULL || r == NULL || n == 0 ||
	    n > MBOX_RANGES_MAX)
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	/* Where the ranges end as asked, before "*" becomes a uid. */
	for (i = 0; i < n; i++) {
		if (r[i].first > end)
			end = r[i].first;
		if (r[i].last > end)
			end = r[i].last;
	}
	if ((buf = malloc(CHUNK)) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	if ((ret = tx_begin(m, 0)) != MBOX_OK)
		goto out;
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = folder_maxuid(m, f.id, &maxuid)) != MBOX_OK ||
	    (ret = ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = db_prepare(m, "bodies", "SELECT uid, content_id FROM"
	    " messages WHERE folder_id = ?1 AND uid >= ?2 AND uid <= ?3"
	    " ORDER BY uid", &st)) != MBOX_OK)
		goto fail;
	for (i = 0; i < nn && !cut; i++) {
		if ((rc = sqlite3_reset(st)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, nr[i].first)) !=
		    SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 3, nr[i].last)) != SQLITE_OK) {
			ret = db_fail(m, "bodies", rc);
			goto fail;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			uid = (uint32_t)sqlite3_column_int64(st, 0);
			id = sqlite3_column_int64(st, 1);
			if (blob == NULL)
				rc = sqlite3_blob_open(m->db, "main", "blobs",
				    "raw", id, 0, &blob);
			else
				rc = sqlite3_blob_reopen(blob, id);
			if (rc != SQLITE_OK) {
				ret = db_fail(m, "bodies", rc);
				goto fail;
			}
			len = sqlite3_blob_bytes(blob);
			/* The first always goes, however large. */
			if (count > 0 && total + (uint64_t)len > budget) {
				cut = 1;
				break;
			}
			off = 0;
			do {
				k = len - off > CHUNK ? CHUNK : len - off;
				if (k > 0 && (rc = sqlite3_blob_read(blob, buf,
				    k, off)) != SQLITE_OK) {
					ret = db_fail(m, "bodies", rc);
					goto fail;
				}
				if (cb(arg, uid, (uint64_t)len, (uint64_t)off,
				    buf, (size_t)k) != 0) {
					/* Only whole messages count. */
					cut = 1;
					goto done;
				}
				off += k;
			} while (off < len);
			count++;
			total += (uint64_t)len;
			last = uid;
		}
		if (!cut && rc != SQLITE_DONE) {
			ret = db_fail(m, "bodies", rc);
			goto fail;
		}
	}
 done:
	sqlite3_finalize(st);
	st = NULL;
	if (blob != NULL) {
		rc = sqlite3_blob_close(blob);
		blob = NULL;
		if (rc != SQLITE_OK) {
			ret = db_fail(m, "bodies", rc);
			goto fail;
		}
	}
	if ((ret = tx_end(m)) != MBOX_OK)
		goto out;
	if (countp != NULL)
		*countp = count;
	if (lastuidp != NULL)
		*lastuidp = cut ? last : end;
	goto out;
 fail:
	sqlite3_finalize(st);
	if (blob != NULL)
		sqlite3_blob_close(blob);
	tx_rollback(m);
 out:
	free(nr);
	if (buf != NULL)
		freezero(buf, CHUNK);
	return (ret);
}

int
mbox_store(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, enum mbox_store_op op, uint32_t flags, const char *keywords,
    uint64_t unchangedsince, mbox_msg_cb changed_cb, mbox_uid_cb failed_cb,
    void *arg)
{
	char			 nm[MBOX_NAME_MAX];
	char			 kwout[MBOX_KEYWORDS_MAX * MBOX_KEYWORD_MAX];
	struct kwset		 args;
	struct finfo		 f;
	struct mbox_range	*nr = NULL;
	struct storerow		*rows = NULL;
	struct seqpos		 sp = { 0, 0 };
	struct uidvec		 failed = { NULL, 0, 0 };
	struct changevec	 changed = { NULL, 0, 0 };
	struct change		 ch;
	struct mbox_msg		 msg;
	sqlite3_stmt		*sel = NULL, *upd = NULL;
	size_t			 nn, i, j, got;
	uint32_t		 maxuid, from, nf;
	int			 rc, ret, stop;

	if (m == NULL || (flags & ~MAILFLAG_ALL) != 0 ||
	    (op != STORE_REPLACE && op != STORE_ADD && op != STORE_REMOVE))
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK ||
	    (ret = kw_parse(keywords, &args)) != MBOX_OK)
		return (ret);
	if (r == NULL || n == 0 || n > MBOX_RANGES_MAX)
		return (MBOX_EINVAL);
	if ((rows = calloc(BATCH, sizeof(*rows))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		goto out;
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = folder_maxuid(m, f.id, &maxuid)) != MBOX_OK ||
	    (ret = ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = db_prepare(m, "store", "SELECT uid, modseq, flags,"
	    " keywords, internaldate, size FROM messages WHERE folder_id = ?1"
	    " AND uid >= ?2 AND uid <= ?3 ORDER BY uid LIMIT ?4", &sel)) !=
	    MBOX_OK ||
	    (ret = db_prepare(m, "store", "UPDATE messages SET flags = ?1,"
	    " keywords = ?2, modseq = ?3 WHERE folder_id = ?4 AND uid = ?5",
	    &upd)) != MBOX_OK)
		goto fail;
	for (i = 0; i < nn; i++) {
		if ((ret = seq_advance(m, f.id, &sp, nr[i].first)) != MBOX_OK)
			goto fail;
		from = nr[i].first;
		for (;;) {
			if ((ret = store_batch(m, sel, f.id, from, nr[i].last,
			    rows, &got)) != MBOX_OK)
				goto fail;
			for (j = 0; j < got; j++) {
				sp.seq++;
				sp.lastuid = rows[j].uid;
				if (unchangedsince != 0 &&
				    rows[j].modseq > unchangedsince) {
					if ((ret = uidvec_push(&failed,
					    rows[j].uid)) != MBOX_OK)
						goto fail;
					continue;
				}
				if ((ret = store_apply(op, flags, &args,
				    &rows[j], &nf, kwout, sizeof(kwout))) !=
				    MBOX_OK)
					goto fail;
				if (nf == rows[j].flags &&
				    strcmp(kwout, rows[j].keywords) == 0)
					continue;
				f.highestmodseq++;
				if ((rc = sqlite3_reset(upd)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 1, nf)) !=
				    SQLITE_OK ||
				    (rc = sqlite3_bind_text(upd, 2, kwout, -1,
				    SQLITE_STATIC)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 3,
				    (int64_t)f.highestmodseq)) != SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 4, f.id)) !=
				    SQLITE_OK ||
				    (rc = sqlite3_bind_int64(upd, 5,
				    rows[j].uid)) != SQLITE_OK ||
				    (rc = sqlite3_step(upd)) != SQLITE_DONE)
					goto dberr;
				memset(&ch, 0, sizeof(ch));
				ch.uid = rows[j].uid;
				ch.seq = sp.seq;
				ch.flags = nf;
				ch.modseq = f.highestmodseq;
				ch.internaldate = rows[j].internaldate;
				ch.size = rows[j].size;
				if ((ch.keywords = strdup(kwout)) == NULL) {
					log_warn("mbox: %s", __func__);
					ret = MBOX_EIO;
					goto fail;
				}
				if ((ret = changevec_push(&changed, &ch)) !=
				    MBOX_OK) {
					free(ch.keywords);
					goto fail;
				}
			}
			if (got < BATCH || rows[got - 1].uid >= nr[i].last)
				break;
			from = rows[got - 1].uid + 1;
		}
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sel = upd = NULL;
	if (changed.n == 0)
		tx_rollback(m);
	else if ((ret = folder_save(m, &f)) != MBOX_OK ||
	    (ret = tx_commit(m)) != MBOX_OK) {
		tx_rollback(m);
		goto out;
	}

	/* Committed: now tell. */
	stop = 0;
	for (i = 0; changed_cb != NULL && !stop && i < changed.n; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.uid = changed.v[i].uid;
		msg.seq = changed.v[i].seq;
		msg.modseq = changed.v[i].modseq;
		msg.flags = changed.v[i].flags;
		(void)strlcpy(msg.keywords, changed.v[i].keywords,
		    sizeof(msg.keywords));
		msg.internaldate = changed.v[i].internaldate;
		msg.size = changed.v[i].size;
		stop = changed_cb(arg, &msg) != 0;
	}
	for (i = 0; failed_cb != NULL && !stop && i < failed.n; i++)
		stop = failed_cb(arg, failed.v[i]) != 0;
	ret = MBOX_OK;
	goto out;
 dberr:
	ret = db_fail(m, "store", rc);
 fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	tx_rollback(m);
 out:
	changevec_free(&changed);
	free(failed.v);
	free(nr);
	free(rows);
	return (ret);
}

int
mbox_copy(struct mbox *m, const char *srcname, const struct mbox_range *r,
    size_t n, const char *dstname, int move, mbox_uidpair_cb cb, void *arg,
    uint32_t *uidvalidity)
{
	char			 sn[MBOX_NAME_MAX], dn[MBOX_NAME_MAX];
	struct finfo		 src, dst;
	struct mbox_range	*nr = NULL;
	struct uidvec		 pairs = { NULL, 0, 0 };
	size_t			 nn, i;
	uint32_t		 maxuid;
	int			 ret;

	if (m == NULL || r == NULL || n == 0 || n > MBOX_RANGES_MAX)
		return (MBOX_EINVAL);
	if ((ret = name_norm(srcname, sn)) != MBOX_OK ||
	    (ret = name_norm(dstname, dn)) != MBOX_OK)
		return (ret);
	if (move && strcmp(sn, dn) == 0)
		return (MBOX_EINVAL);
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = folder_find(m, sn, &src)) != MBOX_OK ||
	    (ret = folder_find(m, dn, &dst)) != MBOX_OK ||
	    (ret = folder_maxuid(m, src.id, &maxuid)) != MBOX_OK ||
	    (ret = ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if (src.id == dst.id) {
		/* A copy into the same folder: one folder row to keep. */
		if ((ret = copy_locked(m, &dst, &dst, nr, nn, 0, &pairs)) !=
		    MBOX_OK)
			goto fail;
	} else if ((ret = copy_locked(m, &src, &dst, nr, nn, move,
	    &pairs)) != MBOX_OK)
		goto fail;
	if (pairs.n == 0)
		tx_rollback(m);
	else if ((ret = tx_commit(m)) != MBOX_OK)
		goto out;
	if (uidvalidity != NULL)
		*uidvalidity = dst.uidvalidity;
	for (i = 0; cb != NULL && i + 1 < pairs.n; i += 2)
		if (cb(arg, pairs.v[i], pairs.v[i + 1]) != 0)
			break;
	ret = MBOX_OK;
	goto out;
 fail:
	tx_rollback(m);
 out:
	free(pairs.v);
	free(nr);
	return (ret);
}

int
mbox_expunge(struct mbox *m, const char *folder, const struct mbox_range *r,
    size_t n, mbox_uid_cb cb, void *arg)
{
	static const struct mbox_range	 all = { 1, UINT32_MAX - 1 };
	char				 nm[MBOX_NAME_MAX];
	struct finfo			 f;
	struct mbox_range		*nr = NULL;
	struct uidvec			 uids = { NULL, 0, 0 };
	sqlite3_stmt			*st = NULL;
	size_t				 nn, i;
	uint32_t			 maxuid;
	int				 rc, ret;

	if (m == NULL || (r != NULL && (n == 0 || n > MBOX_RANGES_MAX)))
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if (r == NULL) {
		r = &all;
		n = 1;
	}
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = folder_maxuid(m, f.id, &maxuid)) != MBOX_OK ||
	    (ret = ranges_norm(r, n, maxuid, &nr, &nn)) != MBOX_OK)
		goto fail;
	if ((ret = db_prepare(m, "expunge", "SELECT uid FROM messages"
	    " WHERE folder_id = ?1 AND uid >= ?2 AND uid <= ?3 AND"
	    " (flags & ?4) != 0 ORDER BY uid", &st)) != MBOX_OK)
		goto fail;
	for (i = 0; i < nn; i++) {
		if ((rc = sqlite3_reset(st)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 2, nr[i].first)) !=
		    SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 3, nr[i].last)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(st, 4, MAILFLAG_DELETED)) !=
		    SQLITE_OK) {
			ret = db_fail(m, "expunge", rc);
			goto fail;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if ((ret = uidvec_push(&uids,
			    (uint32_t)sqlite3_column_int64(st, 0))) != MBOX_OK)
				goto fail;
		if (rc != SQLITE_DONE) {
			ret = db_fail(m, "expunge", rc);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (uids.n == 0) {
		tx_rollback(m);
		ret = MBOX_OK;
		goto out;
	}
	/* One new modseq for everything this call expunges. */
	f.highestmodseq++;
	for (i = 0; i < nn; i++) {
		if ((ret = db_exec(m, "expunge", "INSERT INTO expunged"
		    " (folder_id, uid, modseq) SELECT folder_id, uid, ?5"
		    " FROM messages WHERE folder_id = ?1 AND uid >= ?2 AND"
		    " uid <= ?3 AND (flags & ?4) != 0", "iiiii", f.id,
		    (int64_t)nr[i].first, (int64_t)nr[i].last,
		    (int64_t)MAILFLAG_DELETED, (int64_t)f.highestmodseq)) !=
		    MBOX_OK ||
		    (ret = db_exec(m, "expunge", "DELETE FROM messages"
		    " WHERE folder_id = ?1 AND uid >= ?2 AND uid <= ?3 AND"
		    " (flags & ?4) != 0", "iiii", f.id, (int64_t)nr[i].first,
		    (int64_t)nr[i].last, (int64_t)MAILFLAG_DELETED)) != MBOX_OK)
			goto fail;
	}
	if ((ret = folder_save(m, &f)) != MBOX_OK ||
	    (ret = tx_commit(m)) != MBOX_OK)
		goto fail;
	for (i = 0; cb != NULL && i < uids.n; i++)
		if (cb(arg, uids.v[i]) != 0)
			break;
	ret = MBOX_OK;
	goto out;
 fail:
	sqlite3_finalize(st);
	tx_rollback(m);
 out:
	free(uids.v);
	free(nr);
	return (ret);
}

int
mbox_search(struct mbox *m, const char *folder,
    const struct search_program *prog, mbox_uid_cb cb, void *arg)
{
	char		 nm[MBOX_NAME_MAX];
	struct sbuild	*sb = NULL;
	struct finfo	 f;
	sqlite3_stmt	*st = NULL;
	char		*expr = NULL, *sql = NULL;
	int		 i, rc, ret;

	if (m == NULL || cb == NULL || search_check(prog) == -1)
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	if ((ret = tx_begin(m, 0)) != MBOX_OK)
		goto out;
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = folder_maxuid(m, f.id, &sb->maxuid)) != MBOX_OK ||
	    (ret = folder_count(m, f.id, &sb->count)) != MBOX_OK)
		goto fail;
	if (sb_build(sb, prog, &expr) == -1) {
		log_warnx("mbox: search: cannot build the query");
		ret = MBOX_EIO;
		goto fail;
	}
	if (asprintf(&sql, "SELECT s.uid FROM (SELECT m.uid AS uid,"
	    " m.modseq AS modseq, m.flags AS flags, m.keywords AS keywords,"
	    " m.internaldate AS internaldate, m.sentdate AS sentdate,"
	    " m.size AS size, m.content_id AS cid%s FROM messages m"
	    " WHERE m.folder_id = ?1) AS s WHERE %s ORDER BY s.uid",
	    sb->needseq ? ", row_number() OVER (ORDER BY m.uid) AS seq" : "",
	    expr) == -1) {
		sql = NULL;
		log_warnx("mbox: search: asprintf");
		ret = MBOX_EIO;
		goto fail;
	}
	/*
	 * Errors here are logged without sqlite3_errmsg(): an FTS5
	 * message could quote the user's search string.
	 */
	if ((rc = sqlite3_prepare_v2(m->db, sql, -1, &st, NULL)) !=
	    SQLITE_OK)
		goto dberr;
	if ((rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK)
		goto dberr;
	for (i = 0; i < sb->np; i++) {
		if (sb->p[i].text)
			rc = sqlite3_bind_text(st, i + 2, sb->p[i].s, -1,
			    SQLITE_STATIC);
		else
			rc = sqlite3_bind_int64(st, i + 2, sb->p[i].i);
		if (rc != SQLITE_OK)
			goto dberr;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(arg, (uint32_t)sqlite3_column_int64(st, 0)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	ret = tx_end(m);
	goto out;
 dberr:
	log_warnx("mbox: search: %s (%d)", sqlite3_errstr(rc), rc);
	ret = (rc & 0xff) == SQLITE_TOOBIG ? MBOX_ELIMIT : MBOX_EIO;
 fail:
	sqlite3_finalize(st);
	tx_rollback(m);
 out:
	free(sql);
	free(expr);
	if (sb != NULL) {
		sb_free(sb);
		free(sb);
	}
	return (ret);
}

int
mbox_vanished(struct mbox *m, const char *folder, uint64_t modseq,
    mbox_uid_cb cb, void *arg)
{
	char		 nm[MBOX_NAME_MAX];
	struct finfo	 f;
	sqlite3_stmt	*st = NULL;
	int		 rc, ret;

	if (m == NULL || cb == NULL)
		return (MBOX_EINVAL);
	if ((ret = name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((ret = tx_begin(m, 0)) != MBOX_OK)
		return (ret);
	if ((ret = folder_find(m, nm, &f)) != MBOX_OK ||
	    (ret = db_prepare(m, "vanished", "SELECT uid FROM expunged"
	    " WHERE folder_id = ?1 AND modseq > ?2 ORDER BY uid", &st)) !=
	    MBOX_OK)
		goto fail;
	if ((rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, clamp64(modseq))) != SQLITE_OK) {
		ret = db_fail(m, "vanished", rc);
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(arg, (uint32_t)sqlite3_column_int64(st, 0)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = db_fail(m, "vanished", rc);
		goto fail;
	}
	sqlite3_finalize(st);
	return (tx_end(m));
 fail:
	sqlite3_finalize(st);
	tx_rollback(m);
	return (ret);
}

int
mbox_import_seen(struct mbox *m, const char *name)
{
	int64_t	 v;

	if (m == NULL || !import_name_ok(name))
		return (MBOX_EINVAL);
	return (db_int(m, "import", &v, "SELECT 1 FROM imported"
	    " WHERE name = ?1", "t", name));
}

/*
 * One spooled message into INBOX, keyed by its spool name.  Alone it
 * is a transaction of its own; inside mbox_import_begin() and
 * mbox_import_commit() it is a savepoint of the batch's, so that a
 * failure undoes only itself.
 */
int
mbox_import(struct mbox *m, const char *name, const struct bundle *b)
{
	struct finfo	 f;
	int64_t		 v;
	uint32_t	 uid;
	int		 ret;

	if (m == NULL || !import_name_ok(name) || !bundle_ok(b))
		return (MBOX_EINVAL);
	if ((ret = m->batch ? db_exec(m, "import", "SAVEPOINT import", "") :
	    tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = db_int(m, "import", &v, "SELECT 1 FROM imported"
	    " WHERE name = ?1", "t", name)) == MBOX_OK) {
		ret = MBOX_EEXISTS;
		goto fail;
	}
	if (ret != MBOX_ENOTFOUND)
		goto fail;
	if ((ret = folder_find(m, "INBOX", &f)) != MBOX_OK ||
	    (ret = append_locked(m, &f, b, 0, "", &uid)) != MBOX_OK ||
	    (ret = folder_save(m, &f)) != MBOX_OK ||
	    (ret = db_exec(m, "import", "INSERT INTO imported (name)"
	    " VALUES (?1)", "t", name)) != MBOX_OK)
		goto fail;
	if (!m->batch)
		return (tx_commit(m));
	if ((ret = db_exec(m, "import", "RELEASE import", "")) != MBOX_OK)
		return (ret);
	m->batched++;
	return (MBOX_OK);
 fail:
	if (ret == MBOX_ENOTFOUND) {
		log_warnx("mbox: import: no INBOX");
		ret = MBOX_EIO;
	}
	if (!m->batch)
		tx_rollback(m);
	else if (!sqlite3_get_autocommit(m->db) &&
	    (db_exec(m, "import", "ROLLBACK TO import", "") != MBOX_OK ||
	    db_exec(m, "import", "RELEASE import", "") != MBOX_OK)) {
		/* The batch cannot go on: mbox_import_commit() says so. */
		tx_rollback(m);
	}
	return (ret);
}

int
mbox_import_begin(struct mbox *m)
{
	int	 ret;

	if (m == NULL || m->batch)
		return (MBOX_EINVAL);
	if ((ret = tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	m->batch = 1;
	m->batched = 0;
	return (MBOX_OK);
}

/* Commit the batch (MBOX_EIO, and nothing kept, if it was lost). */
int
mbox_import_commit(struct mbox *m)
{
	if (m == NULL || !m->batch)
		return (MBOX_EINVAL);
	m->batch = 0;
	if (sqlite3_get_autocommit(m->db)) {
		log_warnx("mbox: import: the batch was rolled back");
		return (MBOX_EIO);
	}
	if (m->batched == 0)
		return (tx_end(m));
	return (tx_commit(m));
}

void
mbox_import_abort(struct mbox *m)
{
	if (m == NULL || !m->batch)
		return;
	m->batch = 0;
	tx_rollback(m);
}

int
mbox_usage(struct mbox *m, uint64_t *octets, uint64_t *messages)
{
	sqlite3_stmt	*st;
	int		 rc, ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = db_prepare(m, "usage", "SELECT count(*),"
	    " coalesce(sum(size), 0) FROM messages", &st)) != MBOX_OK)
		return (ret);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (messages != NULL)
			*messages = (uint64_t)sqlite3_column_int64(st, 0);
		if (octets != NULL)
			*octets = (uint64_t)sqlite3_column_int64(st, 1);
		ret = MBOX_OK;
	} else
		ret = db_fail(m, "usage", rc);
	sqlite3_finalize(st);
	return (ret);
}
