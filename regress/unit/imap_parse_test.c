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
 * imapd/imap_parse.c: command arguments, sequence sets, modified UTF-7,
 * dates, strings and flags.  Every command buffer is copied to a heap
 * block of its exact length, without a NUL, so that ASan reports any
 * read past its end.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapd/imap.h"
#include "test.h"

TEST_GLOBALS;

struct out {
	char	 buf[8192];
	size_t	 len;
};

static void
out_fn(void *arg, const void *p, size_t len)
{
	struct out	*o = arg;

	if (len > sizeof(o->buf) - 1 - o->len)
		abort();
	memcpy(o->buf + o->len, p, len);
	o->len += len;
	o->buf[o->len] = '\0';
}

static struct imap_cmd	 cmd;
static char		*cmdbuf;
static const char	*err;

/* Parse len octets of s (which may hold NULs), with cmd.files as set. */
static int
parse_n(const char *s, size_t len, struct imap_arg **args, size_t *nargs)
{
	int	 r;

	free(cmdbuf);
	if ((cmdbuf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(cmdbuf, s, len);
	cmd.buf = cmdbuf;
	cmd.len = len;
	err = NULL;
	r = imap_parse(&cmd, args, nargs, &err);
	if (r == -1 && (*args != NULL || *nargs != 0 || err == NULL))
		abort();
	return (r);
}

static int
parse(const char *s, struct imap_arg **args, size_t *nargs)
{
	return (parse_n(s, strlen(s), args, nargs));
}

/* Parse s and expect it refused with reason why. */
static int
refused(const char *s, size_t len, const char *why)
{
	struct imap_arg	*args;
	size_t		 n;

	if (parse_n(s, len, &args, &n) != -1) {
		imap_args_free(args);
		return (0);
	}
	return (strcmp(err, why) == 0);
}

#define REFUSED(s, why)	refused((s), sizeof(s) - 1, (why))

static int
accepted(const char *s, size_t want)
{
	struct imap_arg	*args;
	size_t		 n;

	if (parse(s, &args, &n) == -1)
		return (0);
	imap_args_free(args);
	return (n == want);
}

static void
test_parse_basic(void)
{
	static const char	 s[] = "a \"b c\" {3}\r\nx\0y (1 2 (3)) NIL "
	    "nil () ~{2+}\r\n\0\1 \"\"";
	struct imap_arg		*a;
	size_t			 n;

	memset(&cmd, 0, sizeof(cmd));
	CHECK(parse_n(s, sizeof(s) - 1, &a, &n) == 0);
	CHECK(n == 9);
	CHECK(a[0].type == IMAP_ARG_ATOM && a[0].len == 1);
	CHECK_STR(a[0].str, "a");
	CHECK(a[1].type == IMAP_ARG_QUOTED && a[1].len == 3);
	CHECK_STR(a[1].str, "b c");
	CHECK(a[2].type == IMAP_ARG_LITERAL && a[2].len == 3 &&
	    !a[2].binary);
	CHECK(memcmp(a[2].str, "x\0y", 4) == 0);
	CHECK(imap_arg_string(&a[2]) == NULL);
	CHECK(a[3].type == IMAP_ARG_LIST && a[3].nlist == 3 && a[3].fd == -1);
	CHECK_STR(a[3].list[0].str, "1");
	CHECK_STR(a[3].list[1].str, "2");
	CHECK(a[3].list[2].type == IMAP_ARG_LIST && a[3].list[2].nlist == 1);
	CHECK_STR(a[3].list[2].list[0].str, "3");
	CHECK(a[4].type == IMAP_ARG_NIL && a[5].type == IMAP_ARG_NIL);
	CHECK(imap_arg_is(&a[5], "NIL"));
	CHECK(a[6].type == IMAP_ARG_LIST && a[6].nlist == 0 &&
	    a[6].list == NULL);
	CHECK(a[7].type == IMAP_ARG_LITERAL && a[7].binary && a[7].len == 2);
	CHECK(memcmp(a[7].str, "\0\1", 3) == 0);
	CHECK(a[8].type == IMAP_ARG_QUOTED && a[8].len == 0);
	CHECK_STR(imap_arg_string(&a[8]), "");
	imap_args_free(a);

	/* Empty commands. */
	CHECK(parse("", &a, &n) == 0 && a == NULL && n == 0);
	CHECK(parse(" ", &a, &n) == 0 && a == NULL && n == 0);
	imap_args_free(NULL);
}

static void
test_parse_spaces(void)
{
	memset(&cmd, 0, sizeof(cmd));
	CHECK(accepted("a b", 2));
	CHECK(accepted("a b ", 2));
	CHECK(accepted("(a) ", 1));
	CHECK(REFUSED("a  b", "Unexpected space"));
	CHECK(REFUSED("a  ", "Unexpected space"));
	CHECK(REFUSED(" a", "Unexpected space"));
	CHECK(REFUSED("(a )", "Unexpected space before )"));
	CHECK(REFUSED("( a)", "Unexpected space"));
	CHECK(REFUSED("( )", "Unexpected space"));
	CHECK(REFUSED("a(b)", "Missing space between arguments"));
	CHECK(REFUSED("(a)(b)", "Missing space between arguments"));
	CHECK(REFUSED("\"a\"b", "Missing space between arguments"));
	CHECK(REFUSED("a\tb", "Missing space between arguments"));
	CHECK(REFUSED("\r\n", "Invalid character in command"));
	CHECK(REFUSED("a \x01", "Invalid character in command"));
}

static void
test_parse_nesting(void)
{
	char	 s[64];
	int	 i;

	memset(&cmd, 0, sizeof(cmd));
	for (i = 0; i < 16; i++) {
		s[i] = '(';
		s[16 + i] = ')';
	}
	s[32] = '\0';
	CHECK(accepted(s, 1));
	for (i = 0; i < 17; i++) {
		s[i] = '(';
		s[17 + i] = ')';
	}
	s[34] = '\0';
	CHECK(refused(s, 34, "Too deeply nested parentheses"));
	CHECK(REFUSED("(a", "Unbalanced parentheses"));
	CHECK(REFUSED("(a ", "Unbalanced parentheses"));
	CHECK(REFUSED("(", "Unbalanced parentheses"));
	CHECK(REFUSED("a)", "Unbalanced parentheses"));
	CHECK(REFUSED(")", "Unbalanced parentheses"));
	CHECK(REFUSED("((a) b", "Unbalanced parentheses"));
	CHECK(REFUSED("(a)) b", "Unbalanced parentheses"));
	CHECK(REFUSED("a )", "Unbalanced parentheses"));
}

static void
test_parse_quoted(void)
{
	struct imap_arg	*a;
	size_t		 n;

	memset(&cmd, 0, sizeof(cmd));
	CHECK(parse("\"a\\\\b\\\"c\" \"caf\xc3\xa9\" \"t\tab\"", &a, &n) == 0);
	CHECK(n == 3);
	CHECK_STR(a[0].str, "a\\b\"c");
	CHECK(a[0].len == 5);
	CHECK_STR(a[1].str, "caf\xc3\xa9");
	CHECK_STR(a[2].str, "t\tab");
	imap_args_free(a);
	CHECK(REFUSED("\"a\\b\"", "Invalid quoted string"));
	CHECK(REFUSED("\"ab", "Invalid quoted string"));
	CHECK(REFUSED("\"ab\\", "Invalid quoted string"));
	CHECK(REFUSED("\"ab\\\"", "Invalid quoted string"));
	CHECK(REFUSED("\"a\rb\"", "Invalid quoted string"));
	CHECK(REFUSED("\"a\nb\"", "Invalid quoted string"));
	CHECK(REFUSED("\"a\0b\"", "Invalid quoted string"));
	CHECK(REFUSED("\"", "Invalid quoted string"));
}

static void
test_parse_literal(void)
{
	struct imap_arg	*a;
	size_t		 n;

	memset(&cmd, 0, sizeof(cmd));
	CHECK(parse("({2}\r\nab {0}\r\n) {1+}\r\n)", &a, &n) == 0);
	CHECK(n == 2);
	CHECK(a[0].type == IMAP_ARG_LIST && a[0].nlist == 2);
	CHECK_STR(a[0].list[0].str, "ab");
	CHECK(a[0].list[1].type == IMAP_ARG_LITERAL && a[0].list[1].len == 0);
	CHECK(a[1].type == IMAP_ARG_LITERAL);
	CHECK_STR(a[1].str, ")");
	imap_args_free(a);

	CHECK(REFUSED("{4}\r\nab", "Invalid literal"));
	CHECK(REFUSED("{3}\r\nab", "Invalid literal"));
	CHECK(REFUSED("{2}\nab", "Invalid literal"));
	CHECK(REFUSED("{2}\r", "Invalid literal"));
	CHECK(REFUSED("{2}", "Invalid literal"));
	CHECK(REFUSED("{2", "Invalid literal"));
	CHECK(REFUSED("{", "Invalid literal"));
	CHECK(REFUSED("~{", "Invalid literal"));
	CHECK(REFUSED("{}\r\n", "Invalid literal"));
	CHECK(REFUSED("{-1}\r\n", "Invalid literal"));
	CHECK(REFUSED("{2 }\r\nab", "Invalid literal"));
	CHECK(REFUSED("{2++}\r\nab", "Invalid literal"));
	CHECK(REFUSED("{99999999999999999999999999}\r\nab",
	    "Invalid literal"));
	CHECK(REFUSED("{18446744073709551615}\r\nab", "Invalid literal"));
	CHECK(REFUSED("{2}\r\nabc", "Missing space between arguments"));
	CHECK(accepted("{2}\r\nab c", 2));
	CHECK(accepted("~{2}\r\nab", 1));
	/* "~" alone starts an atom (a mailbox "~peter"). */
	CHECK(accepted("~peter/mail ~", 2));
}

static void
test_parse_file(void)
{
	struct imap_file files[3];
	struct imap_arg	*a;
	size_t		 n;

	memset(&cmd, 0, sizeof(cmd));
	memset(files, 0, sizeof(files));
	cmd.files = files;
	cmd.spool = 42;
	cmd.nfiles = 1;
	files[0].off = 6;
	files[0].foff = 0;
	files[0].len = 100000;
	CHECK(parse("INBOX {100000}\r\n", &a, &n) == 0);
	CHECK(n == 2);
	CHECK(a[1].type == IMAP_ARG_FILE && a[1].fd == 42 &&
	    a[1].fdoff == 0 && a[1].fdlen == 100000 && !a[1].binary);
	CHECK(imap_arg_string(&a[1]) == NULL);
	imap_args_free(a);

	/* A literal8 is known by its "~" or its "{". */
	CHECK(REFUSED("INBOX (\\Seen) ~{100000+}\r\n x", "Invalid literal"));
	files[0].off = 14;
	CHECK(parse("INBOX (\\Seen) ~{100000+}\r\n x", &a, &n) == 0);
	CHECK(n == 4);
	CHECK(a[2].type == IMAP_ARG_FILE && a[2].binary && a[2].fd == 42);
	CHECK_STR(a[3].str, "x");
	imap_args_free(a);
	files[0].off = 15;
	CHECK(parse("INBOX (\\Seen) ~{100000+}\r\n", &a, &n) == 0);
	CHECK(n == 3 && a[2].type == IMAP_ARG_FILE);
	imap_args_free(a);

	/* MULTIAPPEND: several, in order, each at its place in the spool. */
	cmd.nfiles = 3;
	files[0].off = 6;
	files[0].len = 5;
	files[1].off = 20;
	files[1].foff = 5;
	files[1].len = 7;
	files[2].off = 26;
	files[2].foff = 12;
	files[2].len = 3;
	CHECK(parse("INBOX {5}\r\n (\\Seen) {7}\r\n {3}\r\n", &a, &n) == 0);
	CHECK(n == 5);
	CHECK(a[1].type == IMAP_ARG_FILE && a[1].fdoff == 0 &&
	    a[1].fdlen == 5);
	CHECK(a[3].type == IMAP_ARG_FILE && a[3].fdoff == 5 &&
	    a[3].fdlen == 7);
	CHECK(a[4].type == IMAP_ARG_FILE && a[4].fdoff == 12 &&
	    a[4].fdlen == 3);
	imap_args_free(a);
	/* A literal8 message, then the UTF8 form in a list. */
	cmd.nfiles = 2;
	files[0].off = 6;
	files[1].off = 20;
	CHECK(parse("INBOX ~{5+}\r\n UTF8 (~{7+}\r\n)", &a, &n) == 0);
	CHECK(n == 4);
	CHECK(a[1].type == IMAP_ARG_FILE && a[1].binary);
	CHECK(a[3].type == IMAP_ARG_LIST && a[3].nlist == 1 &&
	    a[3].list[0].type == IMAP_ARG_FILE && a[3].list[0].binary &&
	    a[3].list[0].fdoff == 5);
	imap_args_free(a);
	cmd.nfiles = 3;
	files[1].off = 20;
	files[2].off = 26;
	/* Out of order, or one not found: refused. */
	files[1].off = 26;
	files[2].off = 20;
	CHECK(REFUSED("INBOX {5}\r\n (\\Seen) {7}\r\n {3}\r\n",
	    "Invalid literal"));
	cmd.nfiles = 1;

	/* The size must agree; every file must be found. */
	files[0].off = 6;
	files[0].len = 99999;
	CHECK(REFUSED("INBOX {100000}\r\n", "Invalid literal"));
	files[0].len = 100000;
	files[0].off = 0;
	CHECK(REFUSED("INBOX {100000}\r\n", "Invalid literal"));
	CHECK(REFUSED("", "Invalid literal"));
	memset(&cmd, 0, sizeof(cmd));
}

static void
test_parse_atoms(void)
{
	struct imap_arg	*a;
	size_t		 n;

	memset(&cmd, 0, sizeof(cmd));
	CHECK(parse("1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>) "
	    "[Gmail]/Sent \\Seen BODY[] caf\xc3\xa9 a]b NILS", &a, &n) == 0);
	CHECK(n == 8);
	CHECK_STR(a[0].str, "1:*");
	CHECK(a[1].nlist == 2);
	CHECK_STR(a[1].list[1].str,
	    "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
	CHECK(a[1].list[1].type == IMAP_ARG_ATOM);
	CHECK_STR(a[2].str, "[Gmail]/Sent");
	CHECK_STR(a[3].str, "\\Seen");
	CHECK_STR(a[4].str, "BODY[]");
	CHECK_STR(a[5].str, "caf\xc3\xa9");
	CHECK_STR(a[6].str, "a]b");
	CHECK(a[7].type == IMAP_ARG_ATOM);
	imap_args_free(a);

	CHECK(parse("BODY[a[b c]d] x", &a, &n) == 0);
	CHECK(n == 2);
	CHECK_STR(a[0].str, "BODY[a[b c]d]");
	imap_args_free(a);
	CHECK(REFUSED("BODY[HEADER", "Unbalanced brackets"));
	CHECK(REFUSED("BODY[a[b]", "Unbalanced brackets"));
	CHECK(REFUSED("BODY[\r\n]", "Unbalanced brackets"));
	CHECK(REFUSED("a\x7f", "Missing space between arguments"));
}

static void
test_parse_limits(void)
{
	const size_t	 max = IMAP_ARGS_MAX;
	char		*s;
	size_t		 i;

	memset(&cmd, 0, sizeof(cmd));
	if ((s = malloc(2 * (max + 1) + 3)) == NULL)
		abort();
	/* IMAP_ARGS_MAX atoms. */
	for (i = 0; i < max; i++) {
		s[2 * i] = 'a';
		s[2 * i + 1] = ' ';
	}
	s[2 * max - 1] = '\0';
	CHECK(accepted(s, max));
	s[2 * max - 1] = ' ';
	s[2 * max] = 'a';
	s[2 * max + 1] = '\0';
	CHECK(refused(s, strlen(s), "Too many arguments"));

	/* A list and its max - 1 elements: max arguments; one more fails. */
	s[0] = '(';
	for (i = 0; i < max - 1; i++) {
		s[2 * i + 1] = 'a';
		s[2 * i + 2] = ' ';
	}
	s[2 * (max - 1)] = ')';
	s[2 * (max - 1) + 1] = '\0';
	CHECK(accepted(s, 1));
	s[2 * (max - 1)] = ' ';
	s[2 * (max - 1) + 1] = 'a';
	s[2 * (max - 1) + 2] = ')';
	s[2 * (max - 1) + 3] = '\0';
	CHECK(refused(s, strlen(s), "Too many arguments"));
	free(s);
}

static void
test_arg_helpers(void)
{
	static const char	 lit[] = "{3}\r\na\0b {2}\r\nab";
	struct imap_arg	*a;
	size_t		 n;
	uint32_t	 v;
	uint64_t	 v64;

	memset(&cmd, 0, sizeof(cmd));
	CHECK(parse("INBOX [Gmail]/Sent a% a* \\Seen BODY[x y] \"a%\" NiL "
	    "() 4294967295 4294967296 +1 0 9223372036854775807 "
	    "9223372036854775808 007 \"12\" 1a caf\xc3\xa9", &a, &n) == 0);
	CHECK(n == 19);
	CHECK_STR(imap_arg_astring(&a[0]), "INBOX");
	CHECK_STR(imap_arg_astring(&a[1]), "[Gmail]/Sent");
	CHECK(imap_arg_astring(&a[2]) == NULL);
	CHECK_STR(imap_arg_string(&a[2]), "a%");
	CHECK(imap_arg_astring(&a[3]) == NULL);
	CHECK(imap_arg_astring(&a[4]) == NULL);
	CHECK(imap_arg_astring(&a[5]) == NULL);
	CHECK_STR(imap_arg_astring(&a[6]), "a%");
	CHECK_STR(imap_arg_astring(&a[7]), "NiL");
	CHECK(imap_arg_string(&a[7]) == NULL);
	CHECK(imap_arg_string(&a[8]) == NULL);
	CHECK(imap_arg_astring(&a[8]) == NULL);
	CHECK(imap_arg_astring(&a[18]) == NULL);
	CHECK_STR(imap_arg_string(&a[18]), "caf\xc3\xa9");
	CHECK(imap_arg_is(&a[0], "inbox"));
	CHECK(!imap_arg_is(&a[0], "INBOXX"));
	CHECK(!imap_arg_is(&a[0], "INBO"));
	CHECK(!imap_arg_is(&a[6], "a%"));
	CHECK(imap_arg_is(&a[7], "nil"));
	CHECK(!imap_arg_is(&a[8], ""));

	CHECK(imap_arg_number(&a[9], &v) == 0 && v == UINT32_MAX);
	CHECK(imap_arg_number(&a[10], &v) == -1);
	CHECK(imap_arg_number64(&a[10], &v64) == 0 && v64 == 4294967296ULL);
	CHECK(imap_arg_number(&a[11], &v) == -1);
	CHECK(imap_arg_number(&a[12], &v) == 0 && v == 0);
	CHECK(imap_arg_number64(&a[13], &v64) == 0 &&
	    v64 == 9223372036854775807ULL);
	CHECK(imap_arg_number64(&a[14], &v64) == -1);
	CHECK(imap_arg_number(&a[15], &v) == 0 && v == 7);
	CHECK(imap_arg_number(&a[16], &v) == -1);
	CHECK(imap_arg_number(&a[17], &v) == -1);
	CHECK(imap_arg_number(&a[8], &v) == -1);
	imap_args_free(a);

	CHECK(parse("{3}\r\na\0b {2}\r\nab", &a, &n) == -1);
	CHECK(parse_n(lit, sizeof(lit) - 1, &a, &n) == 0 && n == 2);
	CHECK(imap_arg_string(&a[0]) == NULL);
	CHECK(imap_arg_astring(&a[0]) == NULL);
	CHECK_STR(imap_arg_astring(&a[1]), "ab");
	imap_args_free(a);
}

static int
seqset(const char *s, const char *want)
{
	struct imap_seqset	 set;
	struct out		 o;
	size_t			 i;
	int			 n;

	if (imap_seqset_parse(s, &set) == -1)
		return (want == NULL);
	if (want == NULL)
		return (0);
	o.len = 0;
	o.buf[0] = '\0';
	for (i = 0; i < set.n; i++) {
		n = snprintf(o.buf + o.len, sizeof(o.buf) - o.len, "%s%u-%u",
		    i > 0 ? " " : "", set.r[i].first, set.r[i].last);
		if (n < 0 || (size_t)n >= sizeof(o.buf) - o.len)
			abort();
		o.len += n;
	}
	return (strcmp(o.buf, want) == 0);
}

static void
test_seqset(void)
{
	struct imap_seqset	 set;
	char			*s;
	size_t			 i;
	uint32_t		 v1, v2;

	CHECK(seqset("1", "1-1"));
	CHECK(seqset("1:5", "1-5"));
	CHECK(seqset("5:1", "1-5"));
	CHECK(seqset("*", "4294967295-4294967295"));
	CHECK(seqset("3:*", "3-4294967295"));
	CHECK(seqset("*:3", "3-4294967295"));
	CHECK(seqset("1,3:4,9:*", "1-1 3-4 9-4294967295"));
	CHECK(seqset("4294967295", "4294967295-4294967295"));
	/* RFC 9051 9: "*" and the number 4294967295 stay apart. */
	CHECK(imap_seqset_parse("4294967295,*,*:3,4294967295:*,*:4294967295",
	    &set) == 0 && set.n == 5);
	CHECK(set.star[0] == 0);
	CHECK(set.star[1] == (IMAP_SEQ_STAR_FIRST | IMAP_SEQ_STAR_LAST));
	CHECK(set.star[2] == IMAP_SEQ_STAR_LAST && set.r[2].first == 3);
	CHECK(set.star[3] == IMAP_SEQ_STAR_LAST);
	CHECK(set.star[4] == IMAP_SEQ_STAR_LAST);
	imap_seqset_range(&set, 0, 10, &v1, &v2);
	CHECK(v1 == 4294967295U && v2 == 4294967295U);
	imap_seqset_range(&set, 1, 10, &v1, &v2);
	CHECK(v1 == 10 && v2 == 10);
	imap_seqset_range(&set, 2, 10, &v1, &v2);
	CHECK(v1 == 3 && v2 == 10);
	imap_seqset_range(&set, 3, 10, &v1, &v2);
	CHECK(v1 == 10 && v2 == 4294967295U);
	CHECK(imap_seqset_parse("12:*", &set) == 0);
	imap_seqset_range(&set, 0, 10, &v1, &v2);
	CHECK(v1 == 10 && v2 == 12);
	CHECK(seqset("2,1,2", "2-2 1-1 2-2"));
	CHECK(seqset("4294967296", NULL));
	CHECK(seqset("99999999999999999999", NULL));
	CHECK(seqset("0", NULL));
	CHECK(seqset("0:3", NULL));
	CHECK(seqset("01", NULL));
	CHECK(seqset("", NULL));
	CHECK(seqset("1,,2", NULL));
	CHECK(seqset("1,", NULL));
	CHECK(seqset(",1", NULL));
	CHECK(seqset("1:", NULL));
	CHECK(seqset(":3", NULL));
	CHECK(seqset("1:2:3", NULL));
	CHECK(seqset("1 ", NULL));
	CHECK(seqset("1, 2", NULL));
	CHECK(seqset("$", NULL));
	CHECK(seqset("-1", NULL));
	CHECK(seqset("+1", NULL));
	CHECK(seqset("**", NULL));
	CHECK(imap_seqset_parse(NULL, &set) == -1);

	/* 1024 ranges fit, 1025 do not. */
	if ((s = malloc(2 * 1025 + 1)) == NULL)
		abort();
	for (i = 0; i < 1025; i++) {
		s[2 * i] = '1' + i % 9;
		s[2 * i + 1] = ',';
	}
	s[2 * 1024 - 1] = '\0';
	CHECK(imap_seqset_parse(s, &set) == 0 && set.n == 1024);
	s[2 * 1024 - 1] = ',';
	s[2 * 1025 - 1] = '\0';
	CHECK(imap_seqset_parse(s, &set) == -1);
	free(s);
}

static void
test_seqset_write(void)
{
	static const uint32_t	 a[] = { 1, 2, 3, 7, 9, 10 };
	static const uint32_t	 b[] = { 5 };
	static const uint32_t	 c[] = { 4294967293U, 4294967294U,
	    4294967295U };
	static const uint32_t	 d[] = { 1, 3, 5 };
	struct out		 o;

	o.len = 0;
	imap_seqset_write(a, 6, out_fn, &o);
	CHECK_STR(o.buf, "1:3,7,9:10");
	o.len = 0;
	imap_seqset_write(b, 1, out_fn, &o);
	CHECK_STR(o.buf, "5");
	o.len = 0;
	imap_seqset_write(c, 3, out_fn, &o);
	CHECK_STR(o.buf, "4294967293:4294967295");
	o.len = 0;
	imap_seqset_write(d, 3, out_fn, &o);
	CHECK_STR(o.buf, "1,3,5");
	o.len = 0;
	o.buf[0] = '\0';
	imap_seqset_write(a, 0, out_fn, &o);
	CHECK(o.len == 0);
}

/* Decode s; it must give want, and encoding that must give s back. */
static int
utf7_pair(const char *s, const char *want)
{
	char	 dec[256], enc[256];

	if (imap_utf7_decode(s, dec, sizeof(dec)) == -1 ||
	    strcmp(dec, want) != 0)
		return (0);
	if (imap_utf7_encode(dec, enc, sizeof(enc)) == -1)
		return (0);
	return (strcmp(enc, s) == 0);
}

static void
test_utf7(void)
{
	char	 buf[64];

	CHECK(utf7_pair("INBOX", "INBOX"));
	CHECK(utf7_pair("", ""));
	CHECK(utf7_pair("~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
	    "\xe8\xaa\x9e"));
	CHECK(utf7_pair("&-", "&"));
	CHECK(utf7_pair("A&-B&-&-", "A&B&&"));
	CHECK(utf7_pair("Entw&APw-rfe", "Entw\xc3\xbc" "rfe"));
	/* U+1F600, a surrogate pair. */
	CHECK(utf7_pair("&2D3eAA-", "\xf0\x9f\x98\x80"));
	CHECK(utf7_pair("x&2D3eANg93gA-y",
	    "x\xf0\x9f\x98\x80\xf0\x9f\x98\x80y"));
	CHECK(utf7_pair("&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9"));
	CHECK(utf7_pair("&AOk-&-&AOk-", "\xc3\xa9&\xc3\xa9"));
	/* Controls are not printable: they go in base64. */
	CHECK(utf7_pair("a&AAk-b", "a\tb"));

	CHECK(imap_utf7_decode("&Jjo", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&Jjo!", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&AGE-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&ACY-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&AAA-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&AOk", buf, sizeof(buf)) == -1);
	/* Nonzero leftover bits; a spare base64 character. */
	CHECK(imap_utf7_decode("&AOl-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&AOkA-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&AO-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&AOkA6QDpA-", buf, sizeof(buf)) == -1);
	/* Unpaired surrogates. */
	CHECK(imap_utf7_decode("&2D0-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&3gA-", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&2D0AZQ-", buf, sizeof(buf)) == -1);
	/* Two shifted runs back to back are one run spelt twice. */
	CHECK(imap_utf7_decode("&AOk-&AOk-", buf, sizeof(buf)) == -1);
	/* Raw 8-bit, controls, "/" of plain base64. */
	CHECK(imap_utf7_decode("caf\xc3\xa9", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("a\tb", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("a\x7f", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_decode("&U/BTFw-", buf, sizeof(buf)) == -1);
	/* Room: "INBOX" needs 6 octets. */
	CHECK(imap_utf7_decode("INBOX", buf, 5) == -1);
	CHECK(imap_utf7_decode("INBOX", buf, 6) == 0);
	CHECK(imap_utf7_decode("&AOk-", buf, 2) == -1);
	CHECK(imap_utf7_decode("&AOk-", buf, 3) == 0);

	/* Encode refuses what is not UTF-8. */
	CHECK(imap_utf7_encode("caf\xe9", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_encode("\xc0\xaf", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_encode("\xed\xa0\x80", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_encode("\xf4\x90\x80\x80", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_encode("\xf0\x9f\x98", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_encode("\xc3", buf, sizeof(buf)) == -1);
	CHECK(imap_utf7_encode("&", buf, 2) == -1);
	CHECK(imap_utf7_encode("&", buf, 3) == 0);
	CHECK_STR(buf, "&-");
	CHECK(imap_utf7_encode("\xc3\xa9", buf, 5) == -1);
	CHECK(imap_utf7_encode("\xc3\xa9", buf, 6) == 0);
	CHECK_STR(buf, "&AOk-");
}

static void
test_dates(void)
{
	char	 buf[IMAP_DATETIME_LEN];
	int64_t	 t;

	CHECK(imap_parse_date("1-Feb-1994", &t) == 0 && t == 760060800);
	CHECK(imap_parse_date("01-feb-1994", &t) == 0 && t == 760060800);
	CHECK(imap_parse_date("1-JAN-1970", &t) == 0 && t == 0);
	CHECK(imap_parse_date("31-Dec-1969", &t) == 0 && t == -86400);
	CHECK(imap_parse_date("29-Feb-2024", &t) == 0 && t == 1709164800);
	CHECK(imap_parse_date("29-Feb-2000", &t) == 0);
	CHECK(imap_parse_date("29-Feb-2023", &t) == -1);
	CHECK(imap_parse_date("29-Feb-1900", &t) == -1);
	CHECK(imap_parse_date("31-Apr-2024", &t) == -1);
	CHECK(imap_parse_date("0-Jan-2024", &t) == -1);
	CHECK(imap_parse_date("32-Jan-2024", &t) == -1);
	CHECK(imap_parse_date("001-Jan-2024", &t) == -1);
	CHECK(imap_parse_date(" 1-Jan-2024", &t) == -1);
	CHECK(imap_parse_date("1-Jan-24", &t) == -1);
	CHECK(imap_parse_date("1-Jan-20245", &t) == -1);
	CHECK(imap_parse_date("1-Foo-2024", &t) == -1);
	CHECK(imap_parse_date("1-Ja", &t) == -1);
	CHECK(imap_parse_date("1-Jan-2024 ", &t) == -1);
	CHECK(imap_parse_date("", &t) == -1);

	CHECK(imap_parse_datetime("17-Jul-1996 02:44:25 -0700", &t) == 0 &&
	    t == 837596665);
	CHECK(imap_parse_datetime(" 5-Mar-2024 10:00:00 +0000", &t) == 0 &&
	    t == 1709632800);
	CHECK(imap_parse_datetime("05-mar-2024 10:00:00 +0130", &t) == 0 &&
	    t == 1709632800 - 5400);
	CHECK(imap_parse_datetime("5-Mar-2024 10:00:00 +0000", &t) == 0 &&
	    t == 1709632800);
	CHECK(imap_parse_datetime("31-Dec-2016 23:59:60 +0000", &t) == 0 &&
	    t == 1483228800);
	CHECK(imap_parse_datetime(" 15-Mar-2024 10:00:00 +0000", &t) == -1);
	CHECK(imap_parse_datetime("29-Feb-2023 10:00:00 +0000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 24:00:00 +0000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 10:60:00 +0000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 10:00:61 +0000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 10:00:00 +0060", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 10:00:00 0000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 10:00:00 +000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 10:00:00 +00000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 1:00:00 +0000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024  10:00:00 +0000", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024 10:00:00", &t) == -1);
	CHECK(imap_parse_datetime("05-Mar-2024", &t) == -1);

	imap_format_datetime(837596665, buf);
	CHECK_STR(buf, "17-Jul-1996 09:44:25 +0000");
	imap_format_datetime(1709632800, buf);
	CHECK_STR(buf, "05-Mar-2024 10:00:00 +0000");
	imap_format_datetime(1709164800 + 86399, buf);
	CHECK_STR(buf, "29-Feb-2024 23:59:59 +0000");
	imap_format_datetime(253402300799LL, buf);
	CHECK_STR(buf, "31-Dec-9999 23:59:59 +0000");
	imap_format_datetime(253402300800LL, buf);
	CHECK_STR(buf, "01-Jan-1970 00:00:00 +0000");
	imap_format_datetime(-1, buf);
	CHECK_STR(buf, "01-Jan-1970 00:00:00 +0000");
	imap_format_datetime(INT64_MIN, buf);
	CHECK_STR(buf, "01-Jan-1970 00:00:00 +0000");
	CHECK(imap_parse_datetime(buf, &t) == 0 && t == 0);
	imap_format_datetime(951782400, buf);
	CHECK_STR(buf, "29-Feb-2000 00:00:00 +0000");
}

static void
test_write_string(void)
{
	struct out	 o;
	char		 big[1025];

	o.len = 0;
	imap_write_string("INBOX", 5, 0, out_fn, &o);
	CHECK_STR(o.buf, "\"INBOX\"");
	o.len = 0;
	imap_write_string("a\"b\\c", 5, 0, out_fn, &o);
	CHECK_STR(o.buf, "\"a\\\"b\\\\c\"");
	o.len = 0;
	imap_write_string("", 0, 0, out_fn, &o);
	CHECK_STR(o.buf, "\"\"");
	o.len = 0;
	imap_write_string("a\r\nb", 4, 1, out_fn, &o);
	CHECK_STR(o.buf, "{4}\r\na\r\nb");
	o.len = 0;
	imap_write_string("caf\xc3\xa9", 5, 0, out_fn, &o);
	CHECK_STR(o.buf, "{5}\r\ncaf\xc3\xa9");
	o.len = 0;
	imap_write_string("caf\xc3\xa9", 5, 1, out_fn, &o);
	CHECK_STR(o.buf, "\"caf\xc3\xa9\"");
	/* Not UTF-8: a literal even for a UTF-8 client. */
	o.len = 0;
	imap_write_string("caf\xe9", 4, 1, out_fn, &o);
	CHECK_STR(o.buf, "{4}\r\ncaf\xe9");
	o.len = 0;
	imap_write_string("a\0b", 3, 1, out_fn, &o);
	CHECK(o.len == 8 && memcmp(o.buf, "{3}\r\na\0b", 8) == 0);
	o.len = 0;
	imap_write_string("a\tb", 3, 1, out_fn, &o);
	CHECK_STR(o.buf, "{3}\r\na\tb");

	memset(big, 'x', sizeof(big));
	o.len = 0;
	imap_write_string(big, 1024, 0, out_fn, &o);
	CHECK(o.len == 1026 && o.buf[0] == '"' && o.buf[1025] == '"');
	o.len = 0;
	imap_write_string(big, 1025, 0, out_fn, &o);
	CHECK(o.len == 1025 + 8 && memcmp(o.buf, "{1025}\r\nx", 9) == 0);
}

static void
test_flags_write(void)
{
	struct out	 o;

	o.len = 0;
	o.buf[0] = '\0';
	imap_flags_write(0, NULL, out_fn, &o);
	CHECK_STR(o.buf, "");
	o.len = 0;
	imap_flags_write(MAILFLAG_ALL, "", out_fn, &o);
	CHECK_STR(o.buf, "\\Seen \\Answered \\Flagged \\Deleted \\Draft");
	o.len = 0;
	imap_flags_write(MAILFLAG_DELETED | MAILFLAG_SEEN, "$Label1 Junk",
	    out_fn, &o);
	CHECK_STR(o.buf, "\\Seen \\Deleted $Label1 Junk");
	o.len = 0;
	imap_flags_write(0, " $A  $B ", out_fn, &o);
	CHECK_STR(o.buf, "$A $B");
}

static int
flags(const char *s, int want, uint32_t wflags, const char *wkw,
    size_t kwsize)
{
	struct imap_arg	*a;
	size_t		 n;
	uint32_t	 f;
	char		 kw[256];
	int		 r;

	memset(&cmd, 0, sizeof(cmd));
	if (parse(s, &a, &n) == -1 || n != 1)
		return (0);
	r = imap_flags_parse(a, &f, kw, kwsize);
	imap_args_free(a);
	if (r != want)
		return (0);
	return (r == -1 || (f == wflags && strcmp(kw, wkw) == 0));
}

static void
test_flags_parse(void)
{
	char	 kw[64], s[80];

	CHECK(flags("()", 0, 0, "", 256));
	CHECK(flags("(\\Seen \\deleted \\ANSWERED \\Flagged \\Draft)", 0,
	    MAILFLAG_ALL, "", 256));
	CHECK(flags("\\Seen", 0, MAILFLAG_SEEN, "", 256));
	CHECK(flags("$Label1", 0, 0, "$Label1", 256));
	CHECK(flags("(\\Recent $Junk)", 0, 0, "$Junk", 256));
	CHECK(flags("($Junk \\Seen $junk Work $JUNK nil)", 0,
	    MAILFLAG_SEEN, "$Junk Work nil", 256));
	CHECK(flags("(\\Foo)", -1, 0, "", 256));
	CHECK(flags("(\\)", -1, 0, "", 256));
	CHECK(flags("(\\*)", -1, 0, "", 256));
	CHECK(flags("(\"Seen\")", -1, 0, "", 256));
	CHECK(flags("((\\Seen))", -1, 0, "", 256));
	CHECK(flags("(a%)", -1, 0, "", 256));
	CHECK(flags("(a*)", -1, 0, "", 256));
	CHECK(flags("(a]b)", -1, 0, "", 256));
	CHECK(flags("(a[b])", -1, 0, "", 256));
	CHECK(flags("(a\\b)", -1, 0, "", 256));
	CHECK(flags("(caf\xc3\xa9)", -1, 0, "", 256));
	CHECK(flags("{3}\r\nabc", -1, 0, "", 256));
	/* Room: "ab cd" needs 6 octets. */
	CHECK(flags("(ab cd)", 0, 0, "ab cd", 6));
	CHECK(flags("(ab cd)", -1, 0, "", 5));
	CHECK(flags("(ab cd ab)", 0, 0, "ab cd", 6));
	CHECK(flags("(\\Seen)", 0, MAILFLAG_SEEN, "", 1));

	/* 63 octets is the longest keyword. */
	memset(kw, 'k', 63);
	kw[63] = '\0';
	snprintf(s, sizeof(s), "(%s)", kw);
	CHECK(flags(s, 0, 0, kw, 256));
	snprintf(s, sizeof(s), "(%sk)", kw);
	CHECK(flags(s, -1, 0, "", 256));
}

int
main(void)
{
	RUN(test_parse_basic);
	RUN(test_parse_spaces);
	RUN(test_parse_nesting);
	RUN(test_parse_quoted);
	RUN(test_parse_literal);
	RUN(test_parse_file);
	RUN(test_parse_atoms);
	RUN(test_parse_limits);
	RUN(test_arg_helpers);
	RUN(test_seqset);
	RUN(test_seqset_write);
	RUN(test_utf7);
	RUN(test_dates);
	RUN(test_write_string);
	RUN(test_flags_write);
	RUN(test_flags_parse);
	free(cmdbuf);
	TEST_EXIT();
}
