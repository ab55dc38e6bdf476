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
 * SEARCH keys to search programs, and the SEARCH / ESEARCH responses
 * (imapd/imap_search.c).  A program is shown in postfix, one word per
 * operation, so that each case states the whole program it expects.
 * The session in these tests has message i at uid 10 * i.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../imapd/imap.h"
#include "test.h"

TEST_GLOBALS;

static struct imap_search_ctx	 ctx;
static const struct mbox_range	 recent[] = { { 3, 5 }, { 9, 9 } };
static struct imap_search	 srch;
static const char		*err;
static char			 prog[8192];

static uint32_t
seq_uid(void *arg, uint32_t seq)
{
	const struct imap_search_ctx	*c = arg;

	if (seq < 1 || seq > c->exists)
		return (0);
	return (seq * 10);
}

static uint32_t
uid_seq(void *arg, uint32_t uid)
{
	const struct imap_search_ctx	*c = arg;

	if (uid % 10 != 0 || uid / 10 < 1 || uid / 10 > c->exists)
		return (0);
	return (uid / 10);
}

/* A session of n messages, uids 10, 20, ...; "$" unset. */
static void
session(uint32_t n)
{
	memset(&ctx, 0, sizeof(ctx));
	ctx.exists = n;
	ctx.seq_uid = seq_uid;
	ctx.maxuid = n * 10;
	ctx.arg = &ctx;
}

static const char *const opnames[SEARCH_OP_MAX] = {
	"ALL", "AND", "OR", "NOT", "FLAG", "KEYWORD", "UID", "SEQ",
	"LARGER", "SMALLER", "BEFORE", "ON", "SINCE", "SENTBEFORE",
	"SENTON", "SENTSINCE", "MODSEQ", "SUBJECT", "FROM", "TO", "CC",
	"BCC", "HEADER", "BODY", "TEXT"
};

/* The program of srch as text: "FLAG:1 NOT SINCE:1706745600 AND". */
static const char *
show(void)
{
	const struct search_op_s	*o;
	char				 w[700];
	uint32_t			 i;

	prog[0] = '\0';
	for (i = 0; i < srch.prog.nops; i++) {
		o = &srch.prog.ops[i];
		if (o->op >= SEARCH_OP_MAX)
			return ("bad op");
		switch (o->op) {
		case SEARCH_ALL:
		case SEARCH_AND:
		case SEARCH_OR:
		case SEARCH_NOT:
			snprintf(w, sizeof(w), "%s", opnames[o->op]);
			break;
		case SEARCH_UID_RANGE:
		case SEARCH_SEQ_RANGE:
		case SEARCH_ON:
		case SEARCH_SENTON:
			snprintf(w, sizeof(w), "%s:%llu:%llu", opnames[o->op],
			    (unsigned long long)o->num,
			    (unsigned long long)o->num2);
			break;
		case SEARCH_KEYWORD:
		case SEARCH_SUBJECT:
		case SEARCH_FROM:
		case SEARCH_TO:
		case SEARCH_CC:
		case SEARCH_BCC:
		case SEARCH_BODY:
		case SEARCH_TEXT:
			snprintf(w, sizeof(w), "%s:%s", opnames[o->op], o->str);
			break;
		case SEARCH_HEADER:
			snprintf(w, sizeof(w), "%s:%s:%s", opnames[o->op],
			    o->str2, o->str);
			break;
		default:
			snprintf(w, sizeof(w), "%s:%llu", opnames[o->op],
			    (unsigned long long)o->num);
			break;
		}
		if (i > 0)
			strlcat(prog, " ", sizeof(prog));
		strlcat(prog, w, sizeof(prog));
	}
	return (prog);
}

/* Parse the arguments of SEARCH given as the client sends them. */
static int
run(const char *text, size_t len)
{
	struct imap_cmd		 cmd;
	struct imap_arg		*args = NULL;
	size_t			 nargs = 0;
	const char		*perr = NULL;
	int			 r;

	memset(&cmd, 0, sizeof(cmd));
	cmd.buf = text;
	cmd.len = len;
	err = NULL;
	if (imap_parse(&cmd, &args, &nargs, &perr) == -1) {
		err = perr;
		return (-3);
	}
	r = imap_search_parse(args, nargs, &ctx, &srch, &err);
	if (r == 0 && search_check(&srch.prog) != 0)
		r = -4;
	imap_args_free(args);
	return (r);
}

static int
parse(const char *text)
{
	return (run(text, strlen(text)));
}

/* The program of a search that must parse. */
static const char *
prog_of(const char *text)
{
	if (parse(text) != 0)
		return (err != NULL ? err : "(failed)");
	return (show());
}

static void
test_basic(void)
{
	session(5);
	CHECK_STR(prog_of("UNSEEN SINCE 1-Feb-2024 FROM alice"),
	    "FLAG:1 NOT SINCE:1706745600 AND FROM:alice AND");
	CHECK(srch.esearch == 0 && srch.ret == 0 && srch.modseq == 0);
	CHECK_STR(prog_of("ALL"), "ALL");
	CHECK_STR(prog_of("all"), "ALL");
	CHECK_STR(prog_of("ANSWERED DELETED DRAFT FLAGGED SEEN"),
	    "FLAG:2 FLAG:8 AND FLAG:16 AND FLAG:4 AND FLAG:1 AND");
	CHECK_STR(prog_of("UNANSWERED UNDELETED UNDRAFT UNFLAGGED"),
	    "FLAG:2 NOT FLAG:8 NOT AND FLAG:16 NOT AND FLAG:4 NOT AND");
	/* No \Recent message (every IMAP4rev2 session). */
	CHECK_STR(prog_of("RECENT"), "ALL NOT");
	CHECK_STR(prog_of("NEW"), "ALL NOT");
	CHECK_STR(prog_of("OLD"), "ALL");
	/* The session's recent uid ranges (RFC 3501 2.3.2, 6.4.4). */
	ctx.recent = recent;
	ctx.nrecent = 2;
	CHECK_STR(prog_of("RECENT"), "UID:3:5 UID:9:9 OR");
	CHECK_STR(prog_of("NEW"), "UID:3:5 UID:9:9 OR FLAG:1 NOT AND");
	CHECK_STR(prog_of("OLD"), "UID:3:5 UID:9:9 OR NOT");
	ctx.nrecent = 0;
	CHECK_STR(prog_of("KEYWORD $Forwarded UNKEYWORD Junk"),
	    "KEYWORD:$Forwarded KEYWORD:Junk NOT AND");
	CHECK_STR(prog_of("LARGER 1000 SMALLER 4294967296"),
	    "LARGER:1000 SMALLER:4294967296 AND");
}

static void
test_nesting(void)
{
	session(5);
	CHECK_STR(prog_of("OR (SEEN FLAGGED) NOT OR DELETED DRAFT"),
	    "FLAG:1 FLAG:4 AND FLAG:8 FLAG:16 OR NOT OR");
	CHECK_STR(prog_of("NOT NOT SEEN"), "FLAG:1 NOT NOT");
	CHECK_STR(prog_of("OR OR SEEN DRAFT FLAGGED"),
	    "FLAG:1 FLAG:16 OR FLAG:4 OR");
	CHECK_STR(prog_of("((SEEN)) (DRAFT (FLAGGED DELETED))"),
	    "FLAG:1 FLAG:16 FLAG:4 FLAG:8 AND AND AND");
	CHECK_STR(prog_of("NOT (FROM bob TO carol)"),
	    "FROM:bob TO:carol AND NOT");
	CHECK(parse("()") == -1);
	CHECK_STR(err, "Empty search key list");
	CHECK(parse("SEEN ()") == -1);
}

static void
test_strings(void)
{
	char	 buf[600];

	session(5);
	CHECK_STR(prog_of("SUBJECT \"hello world\" BODY {3}\r\nabc"),
	    "SUBJECT:hello world BODY:abc AND");
	CHECK_STR(prog_of("TEXT \"a \\\"q\\\" b\" CC x BCC y TO z"),
	    "TEXT:a \"q\" b CC:x AND BCC:y AND TO:z AND");
	CHECK_STR(prog_of("HEADER X-Spam-Flag YES"),
	    "HEADER:X-Spam-Flag:YES");
	CHECK_STR(prog_of("HEADER \"List-Id\" \"\""), "HEADER:List-Id:");
	/* No header can have these names. */
	CHECK_STR(prog_of("HEADER \"bad field\" x"), "ALL NOT");
	CHECK_STR(prog_of("HEADER \"Subject:\" x"), "ALL NOT");
	CHECK_STR(prog_of("HEADER \"\" x"), "ALL NOT");
	/* The empty string: the field exists, or anything. */
	CHECK_STR(prog_of("SUBJECT \"\""), "HEADER:Subject:");
	CHECK_STR(prog_of("FROM \"\" TO \"\" CC \"\" BCC \"\""),
	    "HEADER:From: HEADER:To: AND HEADER:Cc: AND HEADER:Bcc: AND");
	CHECK_STR(prog_of("TEXT \"\" BODY \"\""), "ALL ALL AND");
	/* 8-bit text (CHARSET UTF-8) passes as it is. */
	CHECK_STR(prog_of("SUBJECT \"gr\xc3\xbc\xc3\x9f\""),
	    "SUBJECT:gr\xc3\xbc\xc3\x9f");

	/* 255 octets fit; 256 do not, quoted or literal. */
	memcpy(buf, "SUBJECT ", 8);
	memset(buf + 8, 'x', 255);
	buf[8 + 255] = '\0';
	CHECK(parse(buf) == 0);
	CHECK(strlen(srch.prog.ops[0].str) == 255);
	memset(buf + 8, 'x', 256);
	buf[8 + 256] = '\0';
	CHECK(parse(buf) == -1);
	CHECK_STR(err, "Search string too long");
	snprintf(buf, sizeof(buf), "BODY {300}\r\n%0300d", 0);
	CHECK(parse(buf) == -1);
	CHECK_STR(err, "Search string too long");
	snprintf(buf, sizeof(buf), "HEADER {300}\r\n%0300d x", 0);
	CHECK(parse(buf) == -1);
	CHECK_STR(err, "Search string too long");

	/* A literal holding a NUL is no string. */
	CHECK(run("SUBJECT {3}\r\na\0b", 16) == -1);
	/* Nor is a literal8. */
	CHECK(parse("SUBJECT ~{3}\r\nabc") == -1);
	/* NIL is a string here. */
	CHECK_STR(prog_of("SUBJECT NIL KEYWORD nil"),
	    "SUBJECT:NIL KEYWORD:nil AND");
	/* KEYWORD wants an atom. */
	CHECK(parse("KEYWORD \"Junk\"") == -1);
	CHECK(parse("KEYWORD (Junk)") == -1);
}

static void
test_dates(void)
{
	session(5);
	CHECK_STR(prog_of("ON 1-Feb-2024"), "ON:1706745600:1706832000");
	CHECK_STR(prog_of("SENTON \"01-Feb-2024\""),
	    "SENTON:1706745600:1706832000");
	CHECK_STR(prog_of("BEFORE 2-feb-2024 SENTBEFORE 1-Feb-2024"),
	    "BEFORE:1706832000 SENTBEFORE:1706745600 AND");
	CHECK_STR(prog_of("SENTSINCE 1-Feb-2024"), "SENTSINCE:1706745600");
	/* Before 1970: nothing is that old. */
	CHECK_STR(prog_of("BEFORE 1-Jan-1960"), "BEFORE:0");
	CHECK_STR(prog_of("SINCE 1-Jan-1960"), "SINCE:0");
	CHECK_STR(prog_of("ON 1-Jan-1960"), "ON:0:0");
	CHECK_STR(prog_of("ON 31-Dec-1969"), "ON:0:0");
	CHECK_STR(prog_of("ON 1-Jan-1970"), "ON:0:86400");

	CHECK(parse("ON 1-Foo-2024") == -1);
	CHECK_STR(err, "Invalid date");
	CHECK(parse("SINCE 2024-02-01") == -1);
	CHECK(parse("SINCE 32-Jan-2024") == -1);
	CHECK(parse("SINCE 1-Feb-24") == -1);
	CHECK(parse("SINCE \"1-Feb-2024 10:00:00 +0000\"") == -1);
	CHECK(parse("SINCE (1-Feb-2024)") == -1);
	CHECK(parse("BEFORE") == -1);
	CHECK_STR(err, "Missing search argument");
}

static void
test_numbers(void)
{
	session(5);
	CHECK(parse("LARGER abc") == -1);
	CHECK_STR(err, "Invalid number");
	CHECK(parse("LARGER -1") == -1);
	CHECK(parse("LARGER 12x") == -1);
	CHECK(parse("SMALLER \"\"") == -1);
	CHECK(parse("SMALLER 99999999999999999999999") == -1);
	CHECK_STR(prog_of("LARGER 0"), "LARGER:0");
}

static void
test_seqsets(void)
{
	session(5);
	CHECK_STR(prog_of("1:3"), "UID:10:30");
	CHECK_STR(prog_of("2,4:*"), "UID:20:20 UID:40:50 OR");
	/* Touching and overlapping ranges are joined. */
	CHECK_STR(prog_of("1,2,3"), "UID:10:30");
	CHECK_STR(prog_of("3:1,2:4"), "UID:10:40");
	CHECK_STR(prog_of("5,1"), "UID:10:10 UID:50:50 OR");
	/* Past the last message: cut, or nothing. */
	CHECK_STR(prog_of("4:10"), "UID:40:50");
	CHECK_STR(prog_of("7:9"), "ALL NOT");
	CHECK_STR(prog_of("7:9,2"), "UID:20:20");
	CHECK_STR(prog_of("*"), "UID:50:50");
	CHECK_STR(prog_of("9:*"), "UID:50:50");
	CHECK_STR(prog_of("*:2"), "UID:20:50");
	CHECK_STR(prog_of("1:* SEEN"), "UID:10:50 FLAG:1 AND");
	CHECK_STR(prog_of("NOT 2:3"), "UID:20:30 NOT");

	CHECK(parse("0") == -1);
	CHECK_STR(err, "Invalid sequence set");
	CHECK(parse("1:") == -1);
	CHECK(parse("1,,2") == -1);
	CHECK(parse("1a") == -1);
	CHECK(parse("$1") == -1);

	/* An empty session: every set is empty. */
	session(0);
	CHECK_STR(prog_of("1:*"), "ALL NOT");
	CHECK_STR(prog_of("*"), "ALL NOT");
	CHECK_STR(prog_of("1"), "ALL NOT");
}

static void
test_uidsets(void)
{
	session(5);
	CHECK_STR(prog_of("UID 1:*"), "UID:1:50");
	CHECK_STR(prog_of("UID 100:*"), "UID:50:100");
	CHECK_STR(prog_of("UID *"), "UID:50:50");
	CHECK_STR(prog_of("UID 3,1,2,7:9"), "UID:1:3 UID:7:9 OR");
	CHECK_STR(prog_of("UID 4294967294"), "UID:4294967294:4294967294");
	CHECK_STR(prog_of("uid 20:30 NOT UID 25"),
	    "UID:20:30 UID:25:25 NOT AND");
	CHECK(parse("UID") == -1);
	CHECK(parse("UID x") == -1);
	CHECK_STR(err, "Invalid sequence set");
	CHECK(parse("UID \"1:3\"") == -1);
	CHECK(parse("UID 0") == -1);

	/* An empty mailbox: "*" is no uid. */
	session(0);
	CHECK_STR(prog_of("UID *"), "ALL NOT");
	CHECK_STR(prog_of("UID 5:*"), "UID:1:5");
}

static void
test_saved(void)
{
	static const uint32_t	 s1[] = { 10, 20, 40, 50 };
	static const uint32_t	 s2[] = { 10, 15, 20, 30, 999 };
	static const uint32_t	 s3[] = { 15, 999 };

	session(5);
	CHECK_STR(prog_of("$"), "ALL NOT");
	CHECK_STR(prog_of("UID $"), "ALL NOT");

	ctx.saved = s1;
	ctx.nsaved = 4;
	ctx.saved_valid = 1;
	CHECK_STR(prog_of("$"), "UID:10:20 UID:40:50 OR");
	CHECK_STR(prog_of("UID $ SEEN"), "UID:10:20 UID:40:50 OR FLAG:1 AND");
	/* Saved uids the session no longer has are left out. */
	ctx.saved = s2;
	ctx.nsaved = 5;
	CHECK_STR(prog_of("$"), "UID:10:30");
	ctx.saved = s3;
	ctx.nsaved = 2;
	CHECK_STR(prog_of("$"), "ALL NOT");
	ctx.nsaved = 0;
	CHECK_STR(prog_of("$"), "ALL NOT");
	ctx.saved = s1;
	ctx.nsaved = 4;
	ctx.saved_valid = 0;
	CHECK_STR(prog_of("$"), "ALL NOT");
	CHECK(parse("$,1") == -1);
	CHECK(parse("UID $:3") == -1);
}

static void
test_return(void)
{
	session(5);
	CHECK_STR(prog_of("RETURN (MIN MAX) ALL"), "ALL");
	CHECK(srch.esearch == 1);
	CHECK(srch.ret == (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX));
	CHECK_STR(prog_of("RETURN () SEEN"), "FLAG:1");
	CHECK(srch.esearch == 1 && srch.ret == IMAP_SEARCH_RET_ALL);
	CHECK_STR(prog_of("RETURN (save) SEEN"), "FLAG:1");
	CHECK(srch.esearch == 1 && srch.ret == IMAP_SEARCH_RET_SAVE);
	CHECK_STR(prog_of("return (min count ALL save max) 1"), "UID:10:10");
	CHECK(srch.ret == (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX |
	    IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT |
	    IMAP_SEARCH_RET_SAVE));
	CHECK(parse("RETURN (FOO) ALL") == -1);
	CHECK_STR(err, "Unknown RETURN option");
	CHECK(parse("RETURN (PARTIAL 1:10) ALL") == -1);
	CHECK(parse("RETURN ((MIN)) ALL") == -1);
	CHECK(parse("RETURN ALL") == -1);
	CHECK(parse("RETURN") == -1);
	CHECK(parse("RETURN (MIN)") == -1);
	CHECK_STR(err, "Missing search key");
	/* RETURN comes first or not at all. */
	CHECK(parse("SEEN RETURN (MIN)") == -1);
}

static void
test_charset(void)
{
	session(5);
	CHECK_STR(prog_of("CHARSET UTF-8 ALL"), "ALL");
	CHECK_STR(prog_of("CHARSET us-ascii SEEN"), "FLAG:1");
	CHECK_STR(prog_of("RETURN (COUNT) CHARSET \"utf-8\" ALL"), "ALL");
	CHECK(srch.esearch == 1 && srch.ret == IMAP_SEARCH_RET_COUNT);
	CHECK(parse("CHARSET ISO-8859-1 ALL") == -2);
	CHECK(parse("charset KOI8-R SUBJECT x") == -2);
	CHECK(parse("CHARSET") == -1);
	CHECK(parse("CHARSET UTF-8") == -1);
	CHECK(parse("CHARSET (UTF-8) ALL") == -1);
	/* CHARSET after RETURN, not before. */
	CHECK(parse("CHARSET UTF-8 RETURN (MIN) ALL") == -1);
}

static void
test_modseq(void)
{
	session(5);
	CHECK_STR(prog_of("MODSEQ 620162338"), "MODSEQ:620162338");
	CHECK(srch.modseq == 1);
	CHECK_STR(prog_of("SEEN"), "FLAG:1");
	CHECK(srch.modseq == 0);
	CHECK_STR(prog_of("MODSEQ \"/flags/\\\\draft\" all 620162338 SEEN"),
	    "MODSEQ:620162338 FLAG:1 AND");
	CHECK(srch.modseq == 1);
	CHECK_STR(prog_of("OR MODSEQ \"/flags/$Junk\" priv 5 MODSEQ 0"),
	    "MODSEQ:5 MODSEQ:0 OR");
	CHECK(parse("MODSEQ \"/flags/x\" bogus 5") == -1);
	CHECK(parse("MODSEQ \"/other/x\" all 5") == -1);
	CHECK(parse("MODSEQ \"/flags/x\" all") == -1);
	CHECK(parse("MODSEQ \"/flags/x\" all x") == -1);
	CHECK(parse("MODSEQ x") == -1);
	CHECK(parse("MODSEQ") == -1);
	CHECK(parse("MODSEQ -1") == -1);
}

static void
test_errors(void)
{
	char	 buf[1024];
	size_t	 i;

	session(5);
	CHECK(parse("FOO") == -1);
	CHECK_STR(err, "Unknown search key");
	CHECK(parse("SEEN FOO") == -1);
	CHECK(parse("\"SEEN\"") == -1);
	CHECK(parse("NIL") == -1);
	CHECK(parse("FUZZY SUBJECT x") == -1);
	CHECK(parse("") == -1);
	CHECK_STR(err, "Missing search key");
	CHECK(parse("FROM") == -1);
	CHECK_STR(err, "Missing search argument");
	CHECK(parse("HEADER X") == -1);
	CHECK(parse("OR SEEN") == -1);
	CHECK(parse("NOT") == -1);
	CHECK(parse("KEYWORD") == -1);
	CHECK(parse("LARGER") == -1);
	CHECK(parse("SEEN NOT") == -1);

	/* 32 keys are 63 operations: they fit; 33 do not. */
	buf[0] = '\0';
	for (i = 0; i < 32; i++)
		strlcat(buf, i ? " SEEN" : "SEEN", sizeof(buf));
	CHECK(parse(buf) == 0 && srch.prog.nops == 63);
	strlcat(buf, " SEEN", sizeof(buf));
	CHECK(parse(buf) == -1);
	CHECK_STR(err, "Search too complex");
	/* 63 NOTs on one key fit; deeper nesting does not. */
	buf[0] = '\0';
	for (i = 0; i < 63; i++)
		strlcat(buf, "NOT ", sizeof(buf));
	strlcat(buf, "ALL", sizeof(buf));
	CHECK(parse(buf) == 0 && srch.prog.nops == 64);
	buf[0] = '\0';
	for (i = 0; i < 200; i++)
		strlcat(buf, "NOT ", sizeof(buf));
	strlcat(buf, "ALL", sizeof(buf));
	CHECK(parse(buf) == -1);
	CHECK_STR(err, "Search too complex");
	/* A set of 32 separate ranges is 63 operations; 33 too many. */
	snprintf(buf, sizeof(buf), "UID 1");
	for (i = 1; i < 32; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    ",%zu", 1 + 2 * i);
	CHECK(parse(buf) == 0 && srch.prog.nops == 63);
	CHECK(srch.prog.ops[62].op == SEARCH_OR);
	strlcat(buf, ",1000", sizeof(buf));
	CHECK(parse(buf) == -1);
	CHECK_STR(err, "Search too complex");
}

/* Response output, collected. */
struct outbuf {
	char	 s[4096];
	size_t	 len;
};

static void
collect(void *arg, const void *p, size_t n)
{
	struct outbuf	*o = arg;

	if (n >= sizeof(o->s) - o->len)
		n = sizeof(o->s) - o->len - 1;
	memcpy(o->s + o->len, p, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static struct outbuf	 ob;

static const char *
respond(const char *args, int uid, const uint32_t *uids, size_t n,
    uint64_t modseq)
{
	if (parse(args) != 0)
		return ("(parse failed)");
	memset(&ob, 0, sizeof(ob));
	imap_search_respond(&srch, "A1", uid, uids, n, uid_seq, &ctx, modseq,
	    collect, &ob);
	return (ob.s);
}

static void
test_respond_search(void)
{
	static const uint32_t	 u[] = { 10, 20, 30, 70 };
	static const uint32_t	 gone[] = { 70, 80 };

	session(5);
	CHECK_STR(respond("ALL", 1, u, 4, 0), "* SEARCH 10 20 30 70\r\n");
	/* uid 70 is not in the session: left out of the numbers. */
	CHECK_STR(respond("ALL", 0, u, 4, 0), "* SEARCH 1 2 3\r\n");
	CHECK_STR(respond("ALL", 0, u, 0, 0), "* SEARCH\r\n");
	CHECK_STR(respond("ALL", 1, u, 0, 0), "* SEARCH\r\n");
	CHECK_STR(respond("ALL", 0, u, 0, 917162500), "* SEARCH\r\n");
	CHECK_STR(respond("ALL", 0, u, 2, 917162500),
	    "* SEARCH 1 2 (MODSEQ 917162500)\r\n");
	CHECK_STR(respond("ALL", 1, u, 1, 18446744073709551615ULL),
	    "* SEARCH 10 (MODSEQ 18446744073709551615)\r\n");
	CHECK_STR(respond("ALL", 0, gone, 2, 5), "* SEARCH\r\n");
}

static void
test_respond_esearch(void)
{
	static const uint32_t	 u[] = { 10, 20, 30, 50 };
	static const uint32_t	 v[] = { 1, 2, 3, 5, 7, 8, 4294967295U };
	static const uint32_t	 gone[] = { 70, 80 };
	static const uint32_t	 mixed[] = { 20, 25, 30, 40, 60 };

	session(5);
	CHECK_STR(respond("RETURN (MIN MAX COUNT ALL) ALL", 1, u, 4, 0),
	    "* ESEARCH (TAG \"A1\") UID MIN 10 MAX 50 COUNT 4"
	    " ALL 10,20,30,50\r\n");
	CHECK_STR(respond("RETURN (ALL COUNT MAX MIN) ALL", 0, u, 4, 0),
	    "* ESEARCH (TAG \"A1\") MIN 1 MAX 5 COUNT 4 ALL 1:3,5\r\n");
	CHECK_STR(respond("RETURN () ALL", 0, u, 4, 0),
	    "* ESEARCH (TAG \"A1\") ALL 1:3,5\r\n");
	CHECK_STR(respond("RETURN () ALL", 1, v, 7, 0),
	    "* ESEARCH (TAG \"A1\") UID ALL 1:3,5,7:8,4294967295\r\n");
	CHECK_STR(respond("RETURN (MIN) ALL", 0, u + 1, 1, 0),
	    "* ESEARCH (TAG \"A1\") MIN 2\r\n");
	CHECK_STR(respond("RETURN (MAX) ALL", 1, u, 4, 0),
	    "* ESEARCH (TAG \"A1\") UID MAX 50\r\n");
	/* Translated: unknown uids dropped, runs of sequence numbers. */
	CHECK_STR(respond("RETURN (MIN MAX COUNT ALL) ALL", 0, mixed, 5, 0),
	    "* ESEARCH (TAG \"A1\") MIN 2 MAX 4 COUNT 3 ALL 2:4\r\n");

	/* No match: COUNT 0 only, never MIN, MAX or ALL. */
	CHECK_STR(respond("RETURN () ALL", 0, u, 0, 0),
	    "* ESEARCH (TAG \"A1\")\r\n");
	CHECK_STR(respond("RETURN (MIN MAX ALL) ALL", 1, u, 0, 0),
	    "* ESEARCH (TAG \"A1\") UID\r\n");
	CHECK_STR(respond("RETURN (COUNT) ALL", 0, u, 0, 0),
	    "* ESEARCH (TAG \"A1\") COUNT 0\r\n");
	CHECK_STR(respond("RETURN (COUNT MIN) ALL", 1, u, 0, 77),
	    "* ESEARCH (TAG \"A1\") UID COUNT 0\r\n");
	CHECK_STR(respond("RETURN (COUNT ALL) ALL", 0, gone, 2, 77),
	    "* ESEARCH (TAG \"A1\") COUNT 0\r\n");

	/* CONDSTORE. */
	CHECK_STR(respond("RETURN (ALL) MODSEQ 5", 0, u, 3, 12345),
	    "* ESEARCH (TAG \"A1\") ALL 1:3 MODSEQ 12345\r\n");
	CHECK_STR(respond("RETURN (COUNT) MODSEQ 5", 1, u, 3, 12345),
	    "* ESEARCH (TAG \"A1\") UID COUNT 3 MODSEQ 12345\r\n");

	/* SAVE alone: no response at all (RFC 5182). */
	CHECK_STR(respond("RETURN (SAVE) ALL", 0, u, 4, 0), "");
	CHECK_STR(respond("RETURN (SAVE) ALL", 1, u, 0, 9), "");
	CHECK_STR(respond("RETURN (SAVE MIN) ALL", 0, u, 4, 0),
	    "* ESEARCH (TAG \"A1\") MIN 1\r\n");
}

int
main(void)
{
	RUN(test_basic);
	RUN(test_nesting);
	RUN(test_strings);
	RUN(test_dates);
	RUN(test_numbers);
	RUN(test_seqsets);
	RUN(test_uidsets);
	RUN(test_saved);
	RUN(test_return);
	RUN(test_charset);
	RUN(test_modseq);
	RUN(test_errors);
	RUN(test_respond_search);
	RUN(test_respond_esearch);
	TEST_EXIT();
}
