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
 * The SQL functions that read stored envelopes for SEARCH
 * (vault_mbox_env.c): SENT* on the date as written and FROM etc. on
 * the envelope's addresses (RFC 3501 6.4.4), on a plain in-memory
 * database, envelopes well formed and not.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "test.h"
#include "vault_mbox_db.h"

TEST_GLOBALS;

#define DAY	86400
/* 2007-03-24 00:00 UTC */
#define MAR24	1174694400LL

static sqlite3	*db;

static int64_t
q_int(const char *sql, const char *text, int64_t i)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC) ==
	    SQLITE_OK);
	CHECK(sqlite3_bind_int64(st, 2, i) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (v);
}

static int64_t
sentday(const char *date, int64_t sent)
{
	char	 env[256];

	snprintf(env, sizeof(env), "(%s \"s\" NIL NIL NIL NIL NIL NIL NIL "
	    "NIL)", date);
	return (q_int("SELECT tresor_sentday(?1, ?2)", env, sent));
}

static int
addr(const char *env, int field, const char *s)
{
	sqlite3_stmt	*st;
	int		 v;

	CHECK(sqlite3_prepare_v2(db, "SELECT tresor_addr(?1, ?2, ?3)", -1,
	    &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_bind_text(st, 1, env, -1, SQLITE_STATIC) == SQLITE_OK);
	CHECK(sqlite3_bind_int(st, 2, field) == SQLITE_OK);
	CHECK(sqlite3_bind_text(st, 3, s, -1, SQLITE_STATIC) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return (v);
}

/* RFC 3501 6.4.4: the date as written, disregarding time and zone. */
static void
test_sentday(void)
{
	/* 24 Mar 23:00 -0500 is 25 Mar 04:00 UTC: written the 24th. */
	CHECK(sentday("\"Sat, 24 Mar 2007 23:00:00 -0500\"",
	    MAR24 + DAY + 4 * 3600) == MAR24);
	/* 25 Mar 01:00 +0300 is 24 Mar 22:00 UTC: written the 25th. */
	CHECK(sentday("\"25 Mar 2007 01:00:00 +0300\"",
	    MAR24 + 22 * 3600) == MAR24 + DAY);
	CHECK(sentday("\" (c) Sat (x) , 24 Mar 2007 12:00 +0000\"",
	    MAR24 + 12 * 3600) == MAR24);
	/* Month ends: 1 Apr written, 31 Mar UTC. */
	CHECK(sentday("\"1 Apr 2007 02:00 +0400\"",
	    MAR24 + 7 * DAY + 22 * 3600) == MAR24 + 8 * DAY);
	/* A literal, as the front writes 8-bit text. */
	CHECK(sentday("{29}\r\n24 Mar 2007 23:00:00 -0500 \xc3\xa9",
	    MAR24 + DAY + 4 * 3600) == MAR24);
	/* Unreadable: the UTC day. */
	CHECK(sentday("NIL", MAR24 + DAY + 4 * 3600) == MAR24 + DAY);
	CHECK(sentday("\"yesterday\"", MAR24 + 5) == MAR24);
	CHECK(sentday("\"99 Mar 2007\"", MAR24 + 5) == MAR24);
	CHECK(q_int("SELECT tresor_sentday(?1, ?2)", "(\"24 Mar", MAR24 + 5)
	    == MAR24);
	CHECK(q_int("SELECT tresor_sentday(?1, ?2)", "", MAR24 + 5) ==
	    MAR24);
}

/* RFC 3501 6.4.4: FROM etc. on the envelope's addresses. */
static void
test_addr(void)
{
	static const char	 env[] = "(NIL \"s\" "
	    "((NIL NIL \"user-from\" \"domain.org\")) NIL NIL "
	    "((\"Alice \\\"A\\\" Example\" NIL \"alice\" \"example.net\")"
	    "(NIL NIL \"x\" \"y.org\")) "
	    "((NIL NIL \"grp\" NIL)(NIL NIL \"bob\" \"example.com\")"
	    "(NIL NIL NIL NIL)) NIL NIL NIL)";

	CHECK(addr(env, 2, "user-from@domain.org") == 1);
	CHECK(addr(env, 2, "USER-FROM@DOMAIN") == 1);
	CHECK(addr(env, 2, "alice") == 0);
	CHECK(addr(env, 5, "alice@example.net") == 1);
	CHECK(addr(env, 5, "\"A\" Ex") == 1);
	CHECK(addr(env, 5, "x@y.org") == 1);
	CHECK(addr(env, 5, "user-from") == 0);
	CHECK(addr(env, 6, "bob@example.com") == 1);
	/* A group's name is no address. */
	CHECK(addr(env, 6, "grp") == 0);
	CHECK(addr(env, 7, "") == 0);
	/* Not envelopes: no match, no error. */
	CHECK(addr("", 2, "a") == 0);
	CHECK(addr("(NIL NIL ((NIL NIL \"a\"", 2, "a") == 0);
	CHECK(addr("(NIL NIL {999}\r\nx", 2, "a") == 0);
	CHECK(addr("((((((((((((((((((", 2, "a") == 0);
	CHECK(addr(env, 42, "a") == 0);
}

static void
setup(void)
{
	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(sqlite3_create_function_v2(db, "tresor_addr", 3, SQLITE_UTF8,
	    NULL, mbox_sql_addr, NULL, NULL, NULL) == SQLITE_OK);
	CHECK(sqlite3_create_function_v2(db, "tresor_sentday", 2,
	    SQLITE_UTF8, NULL, mbox_sql_sentday, NULL, NULL, NULL) ==
	    SQLITE_OK);
}

int
main(void)
{
	RUN(setup);
	if (test_failed)
		TEST_EXIT();
	RUN(test_sentday);
	RUN(test_addr);
	sqlite3_close(db);
	TEST_EXIT();
}
