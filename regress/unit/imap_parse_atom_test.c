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
 * imapd/imap_parse.c: "[" in atoms.  RFC 9051 9: atom-specials hold
 * resp-specials ("]") but not "[", so "abc[def" is an atom (and an
 * astring: a mailbox name); only a FETCH section, "BODY[...]",
 * "BINARY[...]" and their .PEEK and .SIZE forms, runs to its matching
 * "]" over spaces and parentheses.  The buffers are copied to heap
 * blocks of their exact length, without a NUL, for ASan.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapd/imap.h"
#include "test.h"

TEST_GLOBALS;

static struct imap_cmd	 cmd;
static char		*cmdbuf;
static const char	*err;

static int
parse(const char *s, struct imap_arg **args, size_t *nargs)
{
	size_t	 len = strlen(s);
	int	 r;

	free(cmdbuf);
	if ((cmdbuf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(cmdbuf, s, len);
	memset(&cmd, 0, sizeof(cmd));
	cmd.buf = cmdbuf;
	cmd.len = len;
	err = NULL;
	r = imap_parse(&cmd, args, nargs, &err);
	if (r == -1 && (*args != NULL || *nargs != 0 || err == NULL))
		abort();
	return (r);
}

static int
refused(const char *s, const char *why)
{
	struct imap_arg	*args;
	size_t		 n;

	if (parse(s, &args, &n) != -1) {
		imap_args_free(args);
		return (0);
	}
	return (strcmp(err, why) == 0);
}

/* RFC 9051 9 (atom-specials, ASTRING-CHAR): "[" is an atom's octet. */
static void
test_bracket_in_atom_rfc9051_9(void)
{
	struct imap_arg	*a;
	size_t		 n;

	CHECK(parse("abc[def", &a, &n) == 0);
	CHECK(n == 1 && a[0].type == IMAP_ARG_ATOM);
	CHECK_STR(imap_arg_astring(&a[0]), "abc[def");
	imap_args_free(a);

	/* LIST "" abc[def%: the pattern ends at the line's end. */
	CHECK(parse("\"\" abc[def%", &a, &n) == 0);
	CHECK(n == 2);
	CHECK_STR(imap_arg_string(&a[1]), "abc[def%");
	imap_args_free(a);

	/* Not a section: the space ends the atom, "]" or not. */
	CHECK(parse("a[b c]d [x", &a, &n) == 0);
	CHECK(n == 3);
	CHECK_STR(a[0].str, "a[b");
	CHECK_STR(a[1].str, "c]d");
	CHECK_STR(a[2].str, "[x");
	imap_args_free(a);

	CHECK(parse("[Gmail]/Sent x[", &a, &n) == 0);
	CHECK(n == 2);
	CHECK_STR(imap_arg_astring(&a[0]), "[Gmail]/Sent");
	CHECK_STR(imap_arg_astring(&a[1]), "x[");
	imap_args_free(a);

	/* "(" still ends an atom. */
	CHECK(refused("a[(b)]", "Missing space between arguments"));
}

/* FETCH sections (RFC 9051 6.4.5) keep their spaces and parentheses. */
static void
test_sections(void)
{
	struct imap_arg	*a;
	size_t		 n;

	CHECK(parse("1 (body.peek[HEADER.FIELDS (From To)]<0.10> "
	    "BINARY[1 2] BINARY.PEEK[1]<0.5> BINARY.SIZE[1] BODY[] "
	    "Body[a[b c]d])", &a, &n) == 0);
	CHECK(n == 2 && a[1].nlist == 6);
	CHECK_STR(a[1].list[0].str, "body.peek[HEADER.FIELDS (From To)]<0.10>");
	CHECK_STR(a[1].list[1].str, "BINARY[1 2]");
	CHECK_STR(a[1].list[2].str, "BINARY.PEEK[1]<0.5>");
	CHECK_STR(a[1].list[3].str, "BINARY.SIZE[1]");
	CHECK_STR(a[1].list[4].str, "BODY[]");
	CHECK_STR(a[1].list[5].str, "Body[a[b c]d]");
	imap_args_free(a);

	CHECK(refused("BODY[HEADER", "Unbalanced brackets"));
	CHECK(refused("BODY.PEEK[a[b]", "Unbalanced brackets"));
	CHECK(refused("BINARY[\r\n]", "Unbalanced brackets"));
}

int
main(void)
{
	RUN(test_bracket_in_atom_rfc9051_9);
	RUN(test_sections);
	free(cmdbuf);
	TEST_EXIT();
}
