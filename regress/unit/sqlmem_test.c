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
 * vault_sqlmem.c: SQLite runs on the wiping allocator, growing and
 * shrinking blocks (group_concat, big blobs), and the allocator cannot
 * be installed once SQLite is initialised.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "test.h"
#include "vault_sqlmem.h"

TEST_GLOBALS;

static void
t_sqlite_runs(void)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	sqlite3_int64	 n;
	int		 i;

	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE t (k INTEGER, v BLOB)",
	    NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, "
	    "randomblob(?1 * 97))", -1, &st, NULL) == SQLITE_OK);
	for (i = 1; i <= 500; i++) {
		CHECK(sqlite3_bind_int(st, 1, i) == SQLITE_OK);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
		CHECK(sqlite3_reset(st) == SQLITE_OK);
	}
	CHECK(sqlite3_finalize(st) == SQLITE_OK);
	/* One string grown by realloc, row after row. */
	CHECK(sqlite3_prepare_v2(db, "SELECT length(group_concat(hex(v), "
	    "'')) FROM t", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	CHECK(n == (sqlite3_int64)2 * 97 * 500 * 501 / 2);
	CHECK(sqlite3_finalize(st) == SQLITE_OK);
	CHECK(sqlite3_memory_used() > 0);
	CHECK(sqlite3_close(db) == SQLITE_OK);
}

static void
t_too_late(void)
{
	/* SQLite is initialised by now: the allocator cannot change. */
	CHECK(sqlmem_init() == -1);
}

int
main(void)
{
	if (sqlmem_init() == -1) {
		printf("not ok - sqlmem_init\n");
		return (1);
	}
	RUN(t_sqlite_runs);
	RUN(t_too_late);
	TEST_EXIT();
}
