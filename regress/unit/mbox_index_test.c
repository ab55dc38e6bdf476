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
 * The full-text index written after the store (vault_mbox_index.c):
 * a search sees every message stored before it, content deleted
 * before it was indexed leaves the index alone, the backlog survives
 * a close, batches keep to their bounds, and a version 3 mailbox is
 * upgraded in place.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "search.h"
#include "../../vaultd/vault_mbox.h"
#include "../../vaultd/vault_mbox_db.h"
#include "../../vaultd/vault_vfs.h"
#include "mbox_fixture.h"
#include "test.h"

TEST_GLOBALS;

static uint32_t	 addbody(struct mbox *, const char *, const char *);
static int64_t	 qint(struct mbox *, const char *);
static void	 t_append_search(void);
static void	 t_expunge_unindexed(void);
static void	 t_reopen_backlog(void);
static void	 t_batches(void);
static void	 t_upgrade_v3(void);

static uint32_t
addbody(struct mbox *m, const char *subject, const char *body)
{
	struct tmsg	 t;

	tmsg_init(&t, subject, "a@example.org", "b@example.org", "", "",
	    body, "", BASEDATE, BASEDATE);
	return (add(m, "INBOX", &t, 0, NULL));
}

/* The first column of the first row of a query, as an integer. */
static int64_t
qint(struct mbox *m, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	CHECK(sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (v);
}

/*
 * A store writes no full-text rows, only the backlog; a search with a
 * substring the index answers indexes the backlog first (a write),
 * one that does not use the index commits nothing.
 */
static void
t_append_search(void)
{
	struct mbox	*m;
	uint64_t	 c;

	m = mopen("idx-search");
	CHECK(!mbox_index_due(m));
	CHECK(qint(m, "SELECT v FROM fts_config WHERE k = 'automerge'") ==
	    16);
	CHECK(addbody(m, "first", "the quick brown fox") == 1);
	CHECK(addbody(m, "second", "jumps over the lazy dog") == 2);
	CHECK(mbox_index_due(m));
	CHECK(qint(m, "SELECT count(*) FROM unindexed") == 2);
	CHECK(qint(m, "SELECT count(*) FROM fts_docsize") == 0);

	/* Not the index: short strings, flags.  Nothing written. */
	c = mbox_counter(m);
	CHECK_STR(s1(m, SEARCH_BODY, "ox"), "1");
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "1,2");
	CHECK(mbox_counter(m) == c);
	CHECK(mbox_index_due(m));

	/* The index: the backlog goes in first, in one batch here. */
	CHECK_STR(s1(m, SEARCH_BODY, "lazy"), "2");
	CHECK(mbox_counter(m) == c + 1);
	CHECK(!mbox_index_due(m));
	CHECK(qint(m, "SELECT count(*) FROM unindexed") == 0);
	CHECK(qint(m, "SELECT count(*) FROM fts_docsize") == 2);
	CHECK_STR(s1(m, SEARCH_TEXT, "QUICK"), "1");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "second"), "2");
	CHECK(mbox_counter(m) == c + 1);

	/* Each new message is found by the very next search. */
	CHECK(addbody(m, "third", "a brand new zebra") == 3);
	CHECK_STR(s1(m, SEARCH_BODY, "zebra"), "3");
	CHECK(addbody(m, "fourth", "another zebra") == 4);
	CHECK_STR(s1(m, SEARCH_TEXT, "zebra"), "3,4");
	mbox_close(m);
}

/*
 * Content deleted before it was indexed must leave fts alone: FTS5's
 * 'delete' given a text that was never indexed breaks the index (a
 * later delete of an indexed row then fails as "malformed").
 */
static void
t_expunge_unindexed(void)
{
	struct mbox_range	 r;
	struct mbox		*m;

	m = mopen("idx-expunge");
	CHECK(addbody(m, "kept", "indexed alpha text") == 1);
	CHECK(mbox_index(m, MBOX_INDEX_MAX, UINT64_MAX, NULL) == MBOX_OK);
	CHECK(!mbox_index_due(m));
	CHECK(addbody(m, "gone", "unindexed omega text") == 2);
	CHECK(addbody(m, "copied", "shared sigma text") == 3);
	CHECK(mbox_index_due(m));

	/* A copy shares the content: expunging one copy keeps it. */
	r.first = r.last = 3;
	CHECK(mbox_copy(m, "INBOX", &r, 1, "Archive", 0, NULL, NULL,
	    NULL) == MBOX_OK);
	r.first = 2;
	r.last = 3;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_DELETED,
	    NULL, 0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);
	CHECK(qint(m, "SELECT count(*) FROM unindexed") == 1);
	CHECK(qint(m, "SELECT count(*) FROM content") == 2);

	/* The indexed one can still be deleted from the index. */
	r.first = r.last = 1;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_DELETED,
	    NULL, 0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.exists == 0);
	CHECK_STR(s1(m, SEARCH_BODY, "text"), "");
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "sigma", NULL);
	CHECK_STR(srch(m, "Archive"), "1");
	CHECK(qint(m, "SELECT count(*) FROM fts_docsize") == 1);
	CHECK(sqlite3_exec(m->db, "INSERT INTO fts (fts) VALUES"
	    " ('integrity-check')", NULL, NULL, NULL) == SQLITE_OK);

	/* Expunging the last copy, now indexed, leaves no row behind. */
	r.first = r.last = 1;
	CHECK(mbox_store(m, "Archive", &r, 1, STORE_ADD, MAILFLAG_DELETED,
	    NULL, 0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "Archive", NULL, 0, NULL, NULL) == MBOX_OK);
	CHECK(qint(m, "SELECT count(*) FROM fts_docsize") == 0);
	CHECK(qint(m, "SELECT count(*) FROM content") == 0);
	CHECK(sqlite3_exec(m->db, "INSERT INTO fts (fts) VALUES"
	    " ('integrity-check')", NULL, NULL, NULL) == SQLITE_OK);
	mbox_close(m);
}

/* The backlog is in the database: a close (or a crash) keeps it. */
static void
t_reopen_backlog(void)
{
	struct mbox	*m;
	uint64_t	 c;
	size_t		 done;

	m = mopen("idx-reopen");
	CHECK(addbody(m, "one", "persistent backlog one") == 1);
	CHECK(addbody(m, "two", "persistent backlog two") == 2);
	c = mbox_counter(m);
	mbox_close(m);

	m = mopen("idx-reopen");
	CHECK(mbox_counter(m) == c);
	CHECK(mbox_index_due(m));
	CHECK(mbox_index(m, 1, UINT64_MAX, &done) == MBOX_OK && done == 1);
	CHECK(mbox_counter(m) == c + 1);
	CHECK(mbox_index_due(m));
	mbox_close(m);

	m = mopen("idx-reopen");
	CHECK(mbox_index_due(m));
	CHECK_STR(s1(m, SEARCH_BODY, "backlog"), "1,2");
	CHECK(!mbox_index_due(m));
	mbox_close(m);

	m = mopen("idx-reopen");
	CHECK(!mbox_index_due(m));
	CHECK(mbox_index(m, 1, UINT64_MAX, &done) == MBOX_OK && done == 0);
	mbox_close(m);
}

/* A batch stops at its count or at its bytes, after one at least. */
static void
t_batches(void)
{
	struct mbox	*m;
	uint64_t	 c;
	size_t		 done;
	int		 i;

	m = mopen("idx-batch");
	for (i = 0; i < 5; i++)
		CHECK(addbody(m, "batch", "batched words") == (uint32_t)i + 1);
	CHECK(mbox_index(m, 0, UINT64_MAX, &done) == MBOX_EINVAL);
	CHECK(mbox_index(m, MBOX_INDEX_MAX + 1, UINT64_MAX, &done) ==
	    MBOX_EINVAL);
	c = mbox_counter(m);
	CHECK(mbox_index(m, 2, UINT64_MAX, &done) == MBOX_OK && done == 2);
	CHECK(mbox_counter(m) == c + 1);
	CHECK(mbox_index(m, 10, 1, &done) == MBOX_OK && done == 1);
	CHECK(qint(m, "SELECT count(*) FROM unindexed") == 2);
	CHECK(mbox_index(m, 10, UINT64_MAX, &done) == MBOX_OK && done == 2);
	CHECK(!mbox_index_due(m));
	CHECK(mbox_counter(m) == c + 3);
	CHECK_STR(s1(m, SEARCH_BODY, "batched"), "1,2,3,4,5");
	CHECK(mbox_counter(m) == c + 3);
	mbox_close(m);
}

/*
 * A version 3 mailbox (indexed inside the store) opens as version 4:
 * an upgrade that counts, an empty backlog, and its messages deleted
 * from the index as before.
 */
static void
t_upgrade_v3(void)
{
	struct mbox_range	 r;
	struct mbox		*m;
	uint64_t		 c;

	m = mopen("idx-v3");
	CHECK(sqlite3_exec(m->db, mbox_v3_sql, NULL, NULL, NULL) ==
	    SQLITE_OK);
	/* Stored by the version 3 triggers: indexed at once. */
	CHECK(addbody(m, "old", "stored under three") == 1);
	CHECK(qint(m, "SELECT count(*) FROM fts_docsize") == 1);
	c = mbox_counter(m);
	mbox_close(m);

	m = mopen("idx-v3");
	CHECK(mbox_counter(m) == c + 1);
	CHECK(qint(m, "SELECT value FROM meta WHERE key = 'version'") == 4);
	CHECK(qint(m, "SELECT v FROM fts_config WHERE k = 'automerge'") ==
	    16);
	CHECK(!mbox_index_due(m));
	CHECK(qint(m, "SELECT count(*) FROM unindexed") == 0);
	CHECK(addbody(m, "new", "stored under four") == 2);
	CHECK(mbox_index_due(m));
	CHECK_STR(s1(m, SEARCH_BODY, "stored"), "1,2");
	r.first = r.last = 1;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_DELETED,
	    NULL, 0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);
	CHECK_STR(s1(m, SEARCH_BODY, "stored"), "2");
	CHECK(qint(m, "SELECT count(*) FROM fts_docsize") == 1);
	mbox_close(m);

	/* Opened again: version 4 already, nothing to upgrade. */
	m = mopen("idx-v3");
	c = mbox_counter(m);
	mbox_close(m);
	m = mopen("idx-v3");
	CHECK(mbox_counter(m) == c);
	mbox_close(m);
}

int
main(void)
{
	mbox_fixture_setup();
	RUN(t_append_search);
	RUN(t_expunge_unindexed);
	RUN(t_reopen_backlog);
	RUN(t_batches);
	RUN(t_upgrade_v3);
	mbox_fixture_teardown();
	TEST_EXIT();
}
