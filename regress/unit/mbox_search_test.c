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
 * SEARCH in the mailbox store (vault_mbox_search.c): every key, nested
 * programs, hostile strings, and search_check().
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "search.h"
#include "../../vaultd/vault_mbox.h"
#include "../../vaultd/vault_vfs.h"
#include "mbox_fixture.h"
#include "test.h"

TEST_GLOBALS;

static struct mbox *search_box(const char *);
static void	 t_search(void);
static void	 t_search_strings(void);
static void	 t_search_check(void);
static void	 t_search_deep(void);

/*
 * The search mailbox: uid 1 is expunged first, so uids 2..8 are
 * sequence numbers 1..7.
 */
static struct mbox *
search_box(const char *name)
{
	struct mbox_range	 r;
	struct tmsg		 t;
	struct mbox		*m;

	m = mopen(name);
	addsimple(m, "INBOX", "gone");
	r.first = r.last = 1;
	CHECK(mbox_store(m, "INBOX", &r, 1, STORE_ADD, MAILFLAG_DELETED, NULL,
	    0, NULL, NULL, NULL) == MBOX_OK);
	CHECK(mbox_expunge(m, "INBOX", NULL, 0, NULL, NULL) == MBOX_OK);

	/* uid 2 */
	tmsg_init(&t, "Quarterly report", "Alice <alice@example.org>",
	    "bob@example.net", "", "X-Priority: 1\nX-Bench-Run: abc123\n",
	    "the budget numbers for Q3", "", BASEDATE + 1 * DAY + 10,
	    BASEDATE + 1 * DAY - 3600);
	add(m, "INBOX", &t, MAILFLAG_SEEN, "$Important");
	/* uid 3 */
	tmsg_init(&t, "Re: Lunch?", "bob@example.net", "alice@example.org",
	    "carol@example.com", "X-Bench-Run: def456\n"
	    "X-Long: first part\n second part\n", "pizza at 12",
	    "dave@hidden.example", BASEDATE + 2 * DAY + 10, 0);
	add(m, "INBOX", &t, MAILFLAG_SEEN | MAILFLAG_FLAGGED, "work");
	/* uid 4 */
	tmsg_init(&t, "100% discount_now", "shop@spam.example", "x@y.z", "",
	    "", "50%_off back\\slash and \"quoted\" words", "",
	    BASEDATE + 3 * DAY + 10, BASEDATE + 3 * DAY);
	add(m, "INBOX", &t, 0, NULL);
	/* uid 5 */
	tmsg_init(&t, "Grüße aus München", "jörg@example.de", "x@y.z", "", "",
	    "ÄÖÜ straße 日本語のテキスト", "", BASEDATE + 4 * DAY + 10,
	    BASEDATE + 4 * DAY);
	add(m, "INBOX", &t, MAILFLAG_DELETED, "Work $Later");
	/* uid 6 */
	tmsg_init(&t, "NEAR(a b) OR * ^start (paren) {subject}: x",
	    "ops@example.org", "x@y.z", "", "",
	    "AND OR NOT \"phrase\" col:val", "", BASEDATE + 5 * DAY + 10,
	    BASEDATE + 5 * DAY);
	add(m, "INBOX", &t, MAILFLAG_DRAFT, NULL);
	/* uid 7 */
	tmsg_init(&t, "ab", "z@z", "x@y.z", "", "", "x", "",
	    BASEDATE + 6 * DAY + 10, BASEDATE + 6 * DAY);
	add(m, "INBOX", &t, MAILFLAG_ANSWERED, NULL);
	/* uid 8: a large one */
	tmsg_init(&t, "big one", "z@z", "x@y.z", "", "",
	    "padding padding padding padding padding padding padding "
	    "padding padding padding padding padding padding padding "
	    "padding padding padding padding padding padding padding", "",
	    BASEDATE + 7 * DAY + 10, BASEDATE + 7 * DAY);
	add(m, "INBOX", &t, 0, NULL);
	return (m);
}

static void
t_search(void)
{
	struct mbox	*m;
	uint64_t	 hms;

	m = search_box("search");
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3,4,5,6,7,8");
	CHECK_STR(srch(m, "Sent"), "");

	/* Flags and keywords. */
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_SEEN, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3");
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_SEEN | MAILFLAG_FLAGGED, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "3");
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,4,5,6,7,8");
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_DELETED, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "5");
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_DRAFT, 0, NULL, NULL);
	pr_op(SEARCH_FLAG, MAILFLAG_ANSWERED, 0, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "6,7");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "work"), "3,5");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "WORK"), "3,5");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "$important"), "2");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "wor"), "");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "Work $Later"), "");
	CHECK_STR(s1(m, SEARCH_KEYWORD, "%"), "");

	/* Uid and sequence ranges, "*" included. */
	pr_reset();
	pr_op(SEARCH_UID_RANGE, 3, 5, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "3,4,5");
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 3, 5, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "4,5,6");
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 7, STAR, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");
	pr_reset();
	pr_op(SEARCH_UID_RANGE, 20, STAR, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 1, 1, NULL, NULL);
	pr_op(SEARCH_UID_RANGE, 2, 2, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");

	/* Sizes. */
	pr_reset();
	pr_op(SEARCH_LARGER, 200, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");
	pr_reset();
	pr_op(SEARCH_SMALLER, 60, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "7");
	pr_reset();
	pr_op(SEARCH_LARGER, UINT64_MAX, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "");

	/* Internal dates: day boundaries as the front computes them. */
	pr_reset();
	pr_op(SEARCH_BEFORE, BASEDATE + 3 * DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3");
	pr_reset();
	pr_op(SEARCH_ON, BASEDATE + 3 * DAY, BASEDATE + 4 * DAY, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "4");
	pr_reset();
	pr_op(SEARCH_SINCE, BASEDATE + 6 * DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "7,8");
	/* Sent dates: uid 2 was sent the day before; uid 3 has none. */
	pr_reset();
	pr_op(SEARCH_SENTON, BASEDATE, BASEDATE + DAY, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_SENTBEFORE, BASEDATE + DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_SENTON, BASEDATE + 2 * DAY, BASEDATE + 3 * DAY, NULL,
	    NULL);
	CHECK_STR(srch(m, "INBOX"), "3");
	pr_reset();
	pr_op(SEARCH_SENTSINCE, BASEDATE + 7 * DAY, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "8");

	/* MODSEQ. */
	hms = fget(m, "INBOX")->info.highestmodseq;
	pr_reset();
	pr_op(SEARCH_MODSEQ, hms - 1, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "7,8");
	pr_reset();
	pr_op(SEARCH_MODSEQ, hms + 1, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "");

	/* Address and header fields. */
	CHECK_STR(s1(m, SEARCH_FROM, "alice"), "2");
	CHECK_STR(s1(m, SEARCH_TO, "ALICE@"), "3");
	CHECK_STR(s1(m, SEARCH_CC, "carol"), "3");
	CHECK_STR(s1(m, SEARCH_BCC, "dave"), "3");
	CHECK_STR(s1(m, SEARCH_BCC, "alice"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "abc123", "X-Bench-Run");
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "", "x-bench-run");
	CHECK_STR(srch(m, "INBOX"), "2,3");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "1", "X-Priority");
	CHECK_STR(srch(m, "INBOX"), "2");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "abc", "X-Bench");
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "abc123", "X-Priority");
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "LUNCH", "subject");
	CHECK_STR(srch(m, "INBOX"), "3");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "second part", "X-Long");
	CHECK_STR(srch(m, "INBOX"), "3");

	/* Body and text. */
	CHECK_STR(s1(m, SEARCH_BODY, "budget"), "2");
	CHECK_STR(s1(m, SEARCH_BODY, "PIZZA"), "3");
	CHECK_STR(s1(m, SEARCH_BODY, "alice"), "");
	CHECK_STR(s1(m, SEARCH_TEXT, "alice"), "2,3");
	CHECK_STR(s1(m, SEARCH_TEXT, "pizza"), "3");
	CHECK_STR(s1(m, SEARCH_TEXT, "def456"), "3");

	/* Nesting: (SEEN AND NOT SUBJECT lunch) OR (KEYWORD work AND
	 * NOT DELETED) -> 2 or 3. */
	pr_reset();
	pr_op(SEARCH_FLAG, MAILFLAG_SEEN, 0, NULL, NULL);
	pr_op(SEARCH_SUBJECT, 0, 0, "lunch", NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	pr_op(SEARCH_KEYWORD, 0, 0, "work", NULL);
	pr_op(SEARCH_FLAG, MAILFLAG_DELETED, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3");
	/* NOT (NOT (BODY "at") OR SEQ 2:7) AND ALL -> 2 ("at" short). */
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "at", NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_SEQ_RANGE, 2, 7, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_BODY, 0, 0, "er", NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_SEQ_RANGE, 3, 7, NULL, NULL);
	pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2");

	/* Bad programs and folders. */
	pr_reset();
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK(mbox_search(m, "INBOX", &prog, got_uid, NULL) == MBOX_EINVAL);
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(mbox_search(m, "Nope", &prog, got_uid, NULL) ==
	    MBOX_ENOTFOUND);
	CHECK(mbox_search(m, "INBOX", NULL, got_uid, NULL) == MBOX_EINVAL);
	mbox_close(m);
}

/*
 * Programs as deep as SEARCH_MAX_OPS allows: a chain of one operator
 * is written flat and NOT NOT x as x, so SQLite's parser (whose stack
 * overflowed near 40 nested parentheses, "SQL logic error") gets them;
 * what stays nested past SB_NEST_MAX is refused as too complex.
 */
static void
t_search_deep(void)
{
	struct uids	 u;
	struct mbox	*m;
	int		 i;

	m = search_box("deep");
	/* OR of 32 keys, nested to the right: the postfix a b c ... OR OR. */
	pr_reset();
	for (i = 0; i < 31; i++)
		pr_op(SEARCH_SUBJECT, 0, 0, "nowhere", NULL);
	pr_op(SEARCH_SUBJECT, 0, 0, "re", NULL);
	for (i = 0; i < 31; i++)
		pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3,6");
	/* The same to the left, and with AND. */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "re", NULL);
	for (i = 0; i < 31; i++) {
		pr_op(SEARCH_SUBJECT, 0, 0, "e", NULL);
		pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	}
	CHECK_STR(srch(m, "INBOX"), "2,3,6");
	/* 63 NOTs are one. */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "ab", NULL);
	for (i = 0; i < 63; i++)
		pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK_STR(srch(m, "INBOX"), "2,3,4,5,6,8");
	/* NOT and OR in turn cannot be flattened: too complex, not EIO. */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "re", NULL);
	for (i = 0; i < 21; i++) {
		pr_op(SEARCH_SUBJECT, 0, 0, "nowhere", NULL);
		pr_op(SEARCH_OR, 0, 0, NULL, NULL);
		pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	}
	memset(&u, 0, sizeof(u));
	CHECK(mbox_search(m, "INBOX", &prog, got_uid, &u) == MBOX_ELIMIT);
	/* Half as deep is answered: NOT (x OR NOT (y OR ...)). */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "re", NULL);
	for (i = 0; i < 10; i++) {
		pr_op(SEARCH_SUBJECT, 0, 0, "nowhere", NULL);
		pr_op(SEARCH_OR, 0, 0, NULL, NULL);
		pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	}
	CHECK_STR(srch(m, "INBOX"), "2,3,6");
	mbox_close(m);
}

static void
t_search_strings(void)
{
	struct mbox	*m;

	m = search_box("strings");
	/* Case-insensitive substrings through the index. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "quarterly"), "2");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "QUARTERLY REPORT"), "2");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "rterly rep"), "2");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "Quarterly  report"), "");
	/* Short strings: LIKE, with its wildcards escaped. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "re"), "2,3,6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "AB"), "7");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "%"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "_"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "%_"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "\\"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "12"), "3");
	CHECK_STR(s1(m, SEARCH_BODY, "x"), "7");
	CHECK_STR(s1(m, SEARCH_TEXT, "Q3"), "2");
	CHECK_STR(s1(m, SEARCH_FROM, "ö"), "5");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "?"), "3");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "'"), "");
	/* Wildcards and quotes in longer strings: literal. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "100% discount_now"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "0% d"), "4");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "%%%"), "");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "___"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "_off"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "k\\sl"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "\"quoted\""), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "and \"quo"), "4");
	CHECK_STR(s1(m, SEARCH_BODY, "\""), "4,6");
	CHECK_STR(s1(m, SEARCH_BODY, "\"\""), "");
	/* FTS5 syntax is text. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "NEAR(a b)"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "OR * ^start"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "(paren)"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "{subject}:"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "^start"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "*"), "6");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "NEAR"), "6");
	CHECK_STR(s1(m, SEARCH_BODY, "AND OR NOT"), "6");
	CHECK_STR(s1(m, SEARCH_BODY, "col:val"), "6");
	CHECK_STR(s1(m, SEARCH_BODY, "OR"), "2,4,6");
	/* Injection attempts match nothing. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "a\" OR \"b"), "");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "\" OR subject:*"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "')) OR 1=1 --"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "%' OR '1'='1"), "");
	CHECK_STR(s1(m, SEARCH_TEXT, "* OR *"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "\" OR \"", "X-Bench-Run");
	CHECK_STR(srch(m, "INBOX"), "");
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "%", "X-Bench-Run");
	CHECK_STR(srch(m, "INBOX"), "");
	/* UTF-8: the index folds Unicode case, LIKE only ASCII. */
	CHECK_STR(s1(m, SEARCH_SUBJECT, "MÜNCHEN"), "5");
	CHECK_STR(s1(m, SEARCH_SUBJECT, "grüße"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "äöü"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "日本語"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "語"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "テキスト"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "ß"), "5");
	CHECK_STR(s1(m, SEARCH_BODY, "\xf0\x9f\x98\x80"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b"),
	    "");
	/* Invalid UTF-8 from a hostile front: no match, no error. */
	CHECK_STR(s1(m, SEARCH_BODY, "\xff\xfe\xfd"), "");
	CHECK_STR(s1(m, SEARCH_BODY, "\xc3"), "");
	mbox_close(m);
}

static void
t_search_check(void)
{
	struct search_program	*p = &prog;
	int			 i;

	/* Valid ones first. */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(search_check(p) == 0);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "", "X-Any");
	CHECK(search_check(p) == 0);
	pr_reset();
	for (i = 0; i < 32; i++)
		pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	for (i = 0; i < 31; i++)
		pr_op(SEARCH_OR, 0, 0, NULL, NULL);
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK(p->nops == SEARCH_MAX_OPS && search_check(p) == 0);

	CHECK(search_check(NULL) == -1);
	pr_reset();
	CHECK(search_check(p) == -1);			/* no ops */
	p->nops = SEARCH_MAX_OPS + 1;
	CHECK(search_check(p) == -1);			/* too many */
	pr_reset();
	pr_op(SEARCH_OP_MAX, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* bad op */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	pr_op(SEARCH_AND, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* underflow */
	pr_reset();
	pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* underflow */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* leftover */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "x", NULL);
	memset(p->ops[0].str, 'a', sizeof(p->ops[0].str));
	CHECK(search_check(p) == -1);			/* unterminated */
	pr_reset();
	pr_op(SEARCH_ALL, 0, 0, NULL, NULL);
	memset(p->ops[0].str2, 'a', sizeof(p->ops[0].str2));
	CHECK(search_check(p) == -1);			/* unterminated */
	pr_reset();
	pr_op(SEARCH_SUBJECT, 0, 0, "", NULL);
	CHECK(search_check(p) == -1);			/* empty string */
	pr_reset();
	pr_op(SEARCH_KEYWORD, 0, 0, "", NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_TEXT, 0, 0, "", NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "");
	CHECK(search_check(p) == -1);			/* no field */
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "Bad:Name");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "Bad Name");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "Bad\001");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_HEADER, 0, 0, "x", "B\xc3\xa4" "d");
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_UID_RANGE, 5, 4, NULL, NULL);
	CHECK(search_check(p) == -1);			/* reversed */
	pr_reset();
	pr_op(SEARCH_SEQ_RANGE, 5, 4, NULL, NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_ON, 10, 9, NULL, NULL);
	CHECK(search_check(p) == -1);
	pr_reset();
	pr_op(SEARCH_FLAG, 0x20, 0, NULL, NULL);
	CHECK(search_check(p) == -1);			/* unknown flag */
	pr_reset();
	for (i = 0; i < SEARCH_MAX_OPS; i++)
		pr_op(SEARCH_NOT, 0, 0, NULL, NULL);
	CHECK(search_check(p) == -1);
}

int
main(void)
{
	mbox_fixture_setup();
	RUN(t_search);
	RUN(t_search_strings);
	RUN(t_search_check);
	RUN(t_search_deep);
	mbox_fixture_teardown();
	TEST_EXIT();
}
