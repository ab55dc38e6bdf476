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
 * FETCH items and responses (imapd/imap_fetch.c): the items are read
 * through imap_parse() as a client sends them, the records built with
 * mime_parse() as the vault stores them, and every response compared
 * octet for octet.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "mime.h"
#include "msg.h"
#include "section.h"
#include "../../imapd/imap.h"
#include "test.h"

TEST_GLOBALS;

static const char msg_simple[] =
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Subject: Hello\r\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "this is a test.\r\n";

static const char msg_multi[] =
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Subject: Parts\r\n"
    "X-Long: first\r\n"
    " second\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Part one.\r\n"
    "--XX\r\n"
    "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECA2hl\r\n"
    "bGxv\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: Carol <carol@example.org>\r\n"
    "Subject: Inner\r\n"
    "\r\n"
    "Inner body.\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: Quoted-Printable (comment)\r\n"
    "\r\n"
    "Caf=C3=A9 =3D ok=\r\n"
    "end\r\n"
    "--XX\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: x-uuencode\r\n"
    "\r\n"
    "begin 644 x\r\n"
    "--XX--\r\n";

/* A message whose own body is base64: BINARY[] rewrites its header. */
static const char msg_b64[] =
    "Subject: B\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "aGk=\r\n";

static char	 outbuf[64 * 1024];
static size_t	 outlen;
static int	 outover;

static void
out(void *arg, const void *p, size_t n)
{
	(void)arg;
	if (n > sizeof(outbuf) - 1 - outlen) {
		outover = 1;
		return;
	}
	memcpy(outbuf + outlen, p, n);
	outlen += n;
	outbuf[outlen] = '\0';
}

struct rec {
	struct mime_result	 r;
	struct mbox_stream_msg	 m;
	const char		*raw;
	size_t			 rawlen;
};

/* One record at a time; a failed test leaves it to the next. */
static struct rec	 rc;

static void
rec_init(struct rec *rc, const char *raw, size_t len)
{
	mime_result_free(&rc->r);
	memset(rc, 0, sizeof(*rc));
	CHECK(mime_parse(raw, len, &rc->r) == 0);
	rc->raw = raw;
	rc->rawlen = len;
	rc->m.uid = 42;
	rc->m.seq = 7;
	rc->m.modseq = 1234;
	rc->m.flags = MAILFLAG_SEEN | MAILFLAG_FLAGGED;
	strlcpy(rc->m.keywords, "$Label1", sizeof(rc->m.keywords));
	rc->m.internaldate = 760686745;	/* 08-Feb-1994 05:52:25 UTC */
	rc->m.size = len;
	rc->m.envelope = rc->r.envelope;
	rc->m.envlen = rc->r.envelope_len;
	rc->m.bodystructure = rc->r.bodystructure;
	rc->m.bslen = rc->r.bodystructure_len;
}

/* The items as a client sends them, after the sequence set. */
static int
parse(const char *text, int uid, struct imap_fetch **fp, const char **errp)
{
	struct imap_cmd	 cmd;
	struct imap_arg	*args;
	size_t		 nargs;
	const char	*perr;
	int		 r;

	memset(&cmd, 0, sizeof(cmd));
	cmd.buf = text;
	cmd.len = strlen(text);
	*errp = NULL;
	if (imap_parse(&cmd, &args, &nargs, &perr) == -1) {
		*errp = perr;
		return (-2);
	}
	r = imap_fetch_parse(args, nargs, uid, fp, errp);
	imap_args_free(args);
	return (r);
}

/* FETCH text of one message; the response, or NULL if -1. */
static const char *
fetch(const struct rec *rc, const char *text, int uid, int seen,
    unsigned int *flagsp)
{
	struct imap_fetch	*f;
	const char		*err;
	int			 r;

	outlen = 0;
	outover = 0;
	outbuf[0] = '\0';
	CHECK(parse(text, uid, &f, &err) == 0);
	CHECK(f != NULL);
	if (flagsp != NULL)
		*flagsp = imap_fetch_flags(f);
	r = imap_fetch_write(f, rc->m.seq, &rc->m, rc->raw, rc->rawlen, seen,
	    0, out, NULL);
	imap_fetch_free(f);
	CHECK(!outover);
	if (r == -1) {
		CHECK(outlen == 0);
		return (NULL);
	}
	CHECK(r == 0);
	return (outbuf);
}

/* A parse that must fail with a BAD. */
static int
bad(const char *text, int uid)
{
	struct imap_fetch	*f = NULL;
	struct imap_arg		 a;
	const char		*err;

	switch (parse(text, uid, &f, &err)) {
	case -1:
		break;
	case -2:
		/* Not even a command: give the text as one atom. */
		memset(&a, 0, sizeof(a));
		a.type = IMAP_ARG_ATOM;
		a.str = text;
		a.len = strlen(text);
		if (imap_fetch_parse(&a, 1, uid, &f, &err) != -1)
			return (0);
		break;
	default:
		imap_fetch_free(f);
		return (0);
	}
	return (f == NULL && err != NULL && *err != '\0');
}

static void
test_simple_items(void)
{
	unsigned int	 fl;

	rec_init(&rc, msg_simple, sizeof(msg_simple) - 1);
	CHECK_STR(fetch(&rc, "(FLAGS UID INTERNALDATE RFC822.SIZE)", 0, 0,
	    &fl), "* 7 FETCH (FLAGS (\\Seen \\Flagged $Label1) UID 42 "
	    "INTERNALDATE \"08-Feb-1994 05:52:25 +0000\" RFC822.SIZE 174)\r\n");
	CHECK(fl == IMAP_FETCH_FLAGS);
	CHECK(rc.rawlen == 174);

	/* UID FETCH: UID first, once. */
	CHECK_STR(fetch(&rc, "(flags uid)", 1, 0, &fl),
	    "* 7 FETCH (UID 42 FLAGS (\\Seen \\Flagged $Label1))\r\n");
	CHECK(fl == (IMAP_FETCH_FLAGS | IMAP_FETCH_UID));
	CHECK_STR(fetch(&rc, "RFC822.SIZE", 1, 0, NULL),
	    "* 7 FETCH (UID 42 RFC822.SIZE 174)\r\n");
	/* A repeated item is answered once. */
	CHECK_STR(fetch(&rc, "(UID UID RFC822.SIZE)", 0, 0, NULL),
	    "* 7 FETCH (UID 42 RFC822.SIZE 174)\r\n");

	CHECK_STR(fetch(&rc, "FAST", 0, 0, &fl),
	    "* 7 FETCH (FLAGS (\\Seen \\Flagged $Label1) INTERNALDATE "
	    "\"08-Feb-1994 05:52:25 +0000\" RFC822.SIZE 174)\r\n");
	CHECK(fl == IMAP_FETCH_FLAGS);
	CHECK(fetch(&rc, "all", 0, 0, &fl) != NULL);
	CHECK(fl == (IMAP_FETCH_FLAGS | IMAP_FETCH_META));
	CHECK(strstr(outbuf, " ENVELOPE (") != NULL);
	CHECK(strstr(outbuf, " BODY (") == NULL);
	CHECK(fetch(&rc, "FULL", 0, 0, &fl) != NULL);
	CHECK(fl == (IMAP_FETCH_FLAGS | IMAP_FETCH_META));
	CHECK(strstr(outbuf, " ENVELOPE (") != NULL);
	CHECK(strstr(outbuf, " BODY (\"TEXT\" \"PLAIN\"") != NULL);
	mime_result_free(&rc.r);
}

static void
test_envelope_structure(void)
{
	unsigned int	 fl;

	rec_init(&rc, msg_simple, sizeof(msg_simple) - 1);
	CHECK_STR(fetch(&rc, "ENVELOPE", 0, 0, &fl),
	    "* 7 FETCH (ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" "
	    "\"Hello\" ((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((\"Bob\" NIL \"bob\" \"example.org\")) NIL NIL NIL "
	    "\"<1@example.org>\"))\r\n");
	CHECK(fl == IMAP_FETCH_META);
	CHECK_STR(fetch(&rc, "(BODY)", 0, 0, NULL),
	    "* 7 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
	    "NIL NIL \"7BIT\" 29 2))\r\n");
	CHECK_STR(fetch(&rc, "BODYSTRUCTURE", 0, 0, NULL),
	    "* 7 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"US-ASCII\") NIL NIL \"7BIT\" 29 2 NIL NIL NIL NIL))\r\n");

	/* Stored strings missing: still a response that parses. */
	rc.m.envelope = rc.m.bodystructure = NULL;
	rc.m.envlen = rc.m.bslen = 0;
	CHECK_STR(fetch(&rc, "(ENVELOPE BODY BODYSTRUCTURE)", 0, 0, NULL),
	    "* 7 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0) "
	    "BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0))"
	    "\r\n");
	mime_result_free(&rc.r);

	rec_init(&rc, msg_multi, sizeof(msg_multi) - 1);
	CHECK_STR(fetch(&rc, "BODY", 0, 0, NULL),
	    "* 7 FETCH (BODY ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL "
	    "NIL \"7BIT\" 9 0)(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" "
	    "\"a.bin\") NIL NIL \"BASE64\" 14)(\"MESSAGE\" \"RFC822\" NIL NIL "
	    "NIL \"7BIT\" 62 (NIL \"Inner\" ((\"Carol\" NIL \"carol\" "
	    "\"example.org\")) ((\"Carol\" NIL \"carol\" \"example.org\")) "
	    "((\"Carol\" NIL \"carol\" \"example.org\")) NIL NIL NIL NIL NIL) "
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	    "11 0) 3)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL "
	    "\"QUOTED-PRINTABLE\" 22 1)(\"APPLICATION\" \"OCTET-STREAM\" NIL "
	    "NIL NIL \"X-UUENCODE\" 11) \"MIXED\"))\r\n");
	/* BODYSTRUCTURE is the stored string, as it is. */
	CHECK(fetch(&rc, "BODYSTRUCTURE", 0, 0, NULL) != NULL);
	CHECK(outlen == strlen("* 7 FETCH (BODYSTRUCTURE )\r\n") +
	    rc.m.bslen);
	CHECK(memcmp(outbuf + strlen("* 7 FETCH (BODYSTRUCTURE "),
	    rc.m.bodystructure, rc.m.bslen) == 0);
	mime_result_free(&rc.r);
}

static void
test_sections(void)
{
	unsigned int	 fl;
	char		 exp[1024];

	rec_init(&rc, msg_simple, sizeof(msg_simple) - 1);
	snprintf(exp, sizeof(exp), "* 7 FETCH (BODY[] {174}\r\n%s)\r\n",
	    msg_simple);
	CHECK_STR(fetch(&rc, "BODY[]", 0, 0, &fl), exp);
	CHECK(fl == (IMAP_FETCH_RAW | IMAP_FETCH_SEEN));
	CHECK_STR(fetch(&rc, "body.peek[header]", 0, 0, &fl),
	    "* 7 FETCH (BODY[HEADER] {145}\r\n"
	    "From: Alice <alice@example.org>\r\n"
	    "To: Bob <bob@example.org>\r\n"
	    "Subject: Hello\r\n"
	    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
	    "Message-ID: <1@example.org>\r\n"
	    "\r\n)\r\n");
	CHECK(fl == IMAP_FETCH_RAW);
	CHECK_STR(fetch(&rc, "BODY[TEXT]", 0, 0, NULL),
	    "* 7 FETCH (BODY[TEXT] {29}\r\nHello Bob,\r\nthis is a test.\r\n)"
	    "\r\n");
	/* Part 1 of a message that is not multipart is its body. */
	CHECK_STR(fetch(&rc, "BODY.PEEK[1]", 0, 0, NULL),
	    "* 7 FETCH (BODY[1] {29}\r\nHello Bob,\r\nthis is a test.\r\n)"
	    "\r\n");
	CHECK_STR(fetch(&rc, "BODY.PEEK[2]", 0, 0, NULL),
	    "* 7 FETCH (BODY[2] \"\")\r\n");
	mime_result_free(&rc.r);

	rec_init(&rc, msg_multi, sizeof(msg_multi) - 1);
	CHECK_STR(fetch(&rc, "BODY.PEEK[1]", 0, 0, NULL),
	    "* 7 FETCH (BODY[1] {9}\r\nPart one.)\r\n");
	CHECK_STR(fetch(&rc, "BODY.PEEK[2.mime]", 0, 0, NULL),
	    "* 7 FETCH (BODY[2.MIME] {91}\r\n"
	    "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n)\r\n");
	CHECK_STR(fetch(&rc, "BODY.PEEK[2]", 0, 0, NULL),
	    "* 7 FETCH (BODY[2] {14}\r\nAAECA2hl\r\nbGxv)\r\n");
	CHECK_STR(fetch(&rc, "BODY.PEEK[3.HEADER]", 0, 0, NULL),
	    "* 7 FETCH (BODY[3.HEADER] {51}\r\n"
	    "From: Carol <carol@example.org>\r\nSubject: Inner\r\n\r\n)\r\n");
	CHECK_STR(fetch(&rc, "(BODY.PEEK[3.TEXT] BODY.PEEK[3.1])", 0, 0, NULL),
	    "* 7 FETCH (BODY[3.TEXT] {11}\r\nInner body. "
	    "BODY[3.1] {11}\r\nInner body.)\r\n");
	/* Parts that do not exist: the empty string. */
	CHECK_STR(fetch(&rc, "(BODY.PEEK[9] BODY.PEEK[1.HEADER] "
	    "BODY.PEEK[3.2] BODY.PEEK[9.HEADER.FIELDS (From)])", 0, 0, NULL),
	    "* 7 FETCH (BODY[9] \"\" BODY[1.HEADER] \"\" BODY[3.2] \"\" "
	    "BODY[9.HEADER.FIELDS (FROM)] \"\")\r\n");
	mime_result_free(&rc.r);
}

static void
test_header_fields(void)
{

	rec_init(&rc, msg_multi, sizeof(msg_multi) - 1);
	CHECK_STR(fetch(&rc, "BODY.PEEK[HEADER.FIELDS (Subject From)]", 0, 0,
	    NULL),
	    "* 7 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {51}\r\n"
	    "From: Alice <alice@example.org>\r\n"
	    "Subject: Parts\r\n\r\n)\r\n");
	/* Continuation lines belong to their field; names in any case. */
	CHECK_STR(fetch(&rc, "BODY.PEEK[HEADER.FIELDS (\"x-long\")]", 0, 0,
	    NULL),
	    "* 7 FETCH (BODY[HEADER.FIELDS (X-LONG)] {26}\r\n"
	    "X-Long: first\r\n second\r\n\r\n)\r\n");
	CHECK_STR(fetch(&rc, "BODY[HEADER.FIELDS.NOT (Subject X-Long "
	    "Content-Type MIME-Version)]", 0, 0, NULL),
	    "* 7 FETCH (BODY[HEADER.FIELDS.NOT (SUBJECT X-LONG CONTENT-TYPE "
	    "MIME-VERSION)] {62}\r\n"
	    "From: Alice <alice@example.org>\r\n"
	    "To: Bob <bob@example.org>\r\n\r\n)\r\n");
	/* Nothing matches: only the empty line. */
	CHECK_STR(fetch(&rc, "BODY.PEEK[HEADER.FIELDS (Cc)]", 0, 0, NULL),
	    "* 7 FETCH (BODY[HEADER.FIELDS (CC)] {2}\r\n\r\n)\r\n");
	/* Of an encapsulated message. */
	CHECK_STR(fetch(&rc, "BODY.PEEK[3.HEADER.FIELDS (SUBJECT)]", 0, 0,
	    NULL),
	    "* 7 FETCH (BODY[3.HEADER.FIELDS (SUBJECT)] {18}\r\n"
	    "Subject: Inner\r\n\r\n)\r\n");
	/* A name that needs quoting is written quoted. */
	CHECK_STR(fetch(&rc, "BODY.PEEK[HEADER.FIELDS (\"a%b\")]", 0, 0, NULL),
	    "* 7 FETCH (BODY[HEADER.FIELDS (\"A%B\")] {2}\r\n\r\n)\r\n");
	mime_result_free(&rc.r);
}

static void
test_partial(void)
{

	rec_init(&rc, msg_simple, sizeof(msg_simple) - 1);
	CHECK_STR(fetch(&rc, "BODY.PEEK[]<0.10>", 0, 0, NULL),
	    "* 7 FETCH (BODY[]<0> {10}\r\nFrom: Alic)\r\n");
	CHECK_STR(fetch(&rc, "BODY.PEEK[TEXT]<7.100>", 0, 0, NULL),
	    "* 7 FETCH (BODY[TEXT]<7> {22}\r\nob,\r\nthis is a test.\r\n)"
	    "\r\n");
	CHECK_STR(fetch(&rc, "BODY.PEEK[]<1000000.10>", 0, 0, NULL),
	    "* 7 FETCH (BODY[]<1000000> \"\")\r\n");
	/* Two ranges of one section are two items. */
	CHECK_STR(fetch(&rc, "(BODY.PEEK[TEXT]<0.5> BODY.PEEK[TEXT]<5.5>)", 0,
	    0, NULL),
	    "* 7 FETCH (BODY[TEXT]<0> {5}\r\nHello BODY[TEXT]<5> {5}\r\n Bob,)"
	    "\r\n");
	mime_result_free(&rc.r);
}

static void
test_binary(void)
{
	unsigned int	 fl;
	static const char exp2[] = "* 7 FETCH (BINARY[2] ~{9}\r\n"
	    "\0\1\2\3hello)\r\n";

	rec_init(&rc, msg_multi, sizeof(msg_multi) - 1);
	CHECK(fetch(&rc, "BINARY.PEEK[2]", 0, 0, &fl) != NULL);
	CHECK(fl == IMAP_FETCH_RAW);
	CHECK(outlen == sizeof(exp2) - 1);
	CHECK(memcmp(outbuf, exp2, outlen) == 0);
	CHECK(fetch(&rc, "BINARY[2]", 0, 0, &fl) != NULL);
	CHECK(fl == (IMAP_FETCH_RAW | IMAP_FETCH_SEEN));
	CHECK_STR(fetch(&rc, "BINARY.SIZE[2]", 0, 0, &fl),
	    "* 7 FETCH (BINARY.SIZE[2] 9)\r\n");
	CHECK(fl == IMAP_FETCH_RAW);
	/* Partial: no NUL in the slice, a plain literal; its <origin>
	 * as for BODY[] (RFC 9051 7.5.2). */
	CHECK_STR(fetch(&rc, "BINARY.PEEK[2]<4.100>", 0, 0, NULL),
	    "* 7 FETCH (BINARY[2]<4> {5}\r\nhello)\r\n");
	/* Quoted-printable, the CTE with a comment. */
	CHECK_STR(fetch(&rc, "(BINARY.PEEK[4] BINARY.SIZE[4])", 0, 0, NULL),
	    "* 7 FETCH (BINARY[4] {13}\r\nCaf\xc3\xa9 = okend "
	    "BINARY.SIZE[4] 13)\r\n");
	/* Identity encodings as they are. */
	CHECK_STR(fetch(&rc, "(BINARY.PEEK[1] BINARY.SIZE[3.1])", 0, 0, NULL),
	    "* 7 FETCH (BINARY[1] {9}\r\nPart one. BINARY.SIZE[3.1] 11)\r\n");
	/* Unknown encoding: nothing written, -1. */
	CHECK(fetch(&rc, "(UID BINARY.PEEK[5])", 0, 0, NULL) == NULL);
	CHECK(errno == EINVAL);
	CHECK(fetch(&rc, "BINARY.SIZE[5]", 0, 0, NULL) == NULL);
	/* Nonexistent part. */
	CHECK_STR(fetch(&rc, "(BINARY.PEEK[9] BINARY.SIZE[9])", 0, 0, NULL),
	    "* 7 FETCH (BINARY[9] \"\" BINARY.SIZE[9] 0)\r\n");
	mime_result_free(&rc.r);

	/* The whole message, its own body encoded. */
	rec_init(&rc, msg_b64, sizeof(msg_b64) - 1);
	CHECK_STR(fetch(&rc, "(BINARY.PEEK[] BINARY.SIZE[] BINARY.SIZE[1])",
	    0, 0, NULL),
	    "* 7 FETCH (BINARY[] {77}\r\n"
	    "Subject: B\r\nContent-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: binary\r\n\r\nhi "
	    "BINARY.SIZE[] 77 BINARY.SIZE[1] 2)\r\n");
	mime_result_free(&rc.r);

	rec_init(&rc, msg_simple, sizeof(msg_simple) - 1);
	CHECK(fetch(&rc, "BINARY.PEEK[]", 0, 0, NULL) != NULL);
	CHECK(outlen == strlen("* 7 FETCH (BINARY[] {174}\r\n)\r\n") + 174);
	mime_result_free(&rc.r);
}

static void
test_rfc822(void)
{
	unsigned int	 fl;
	char		 exp[1024];

	rec_init(&rc, msg_simple, sizeof(msg_simple) - 1);
	snprintf(exp, sizeof(exp), "* 7 FETCH (RFC822 {174}\r\n%s)\r\n",
	    msg_simple);
	CHECK_STR(fetch(&rc, "RFC822", 0, 0, &fl), exp);
	CHECK(fl == (IMAP_FETCH_RAW | IMAP_FETCH_SEEN));
	CHECK(fetch(&rc, "RFC822.HEADER", 0, 0, &fl) != NULL);
	CHECK(strncmp(outbuf, "* 7 FETCH (RFC822.HEADER {145}\r\nFrom: ",
	    38) == 0);
	CHECK(fl == IMAP_FETCH_RAW);
	CHECK_STR(fetch(&rc, "RFC822.TEXT", 0, 0, &fl),
	    "* 7 FETCH (RFC822.TEXT {29}\r\nHello Bob,\r\nthis is a test.\r\n)"
	    "\r\n");
	CHECK(fl == (IMAP_FETCH_RAW | IMAP_FETCH_SEEN));
	mime_result_free(&rc.r);
}

static void
test_seen_modseq(void)
{
	struct imap_fetch	*f;
	const char		*err;
	unsigned int		 fl;

	rec_init(&rc, msg_simple, sizeof(msg_simple) - 1);
	/* \Seen just set: FLAGS comes along, at the end. */
	CHECK_STR(fetch(&rc, "BODY[TEXT]<0.5>", 1, 1, &fl),
	    "* 7 FETCH (UID 42 BODY[TEXT]<0> {5}\r\nHello FLAGS (\\Seen "
	    "\\Flagged $Label1))\r\n");
	CHECK(fl == (IMAP_FETCH_RAW | IMAP_FETCH_SEEN | IMAP_FETCH_UID));
	CHECK_STR(fetch(&rc, "(FLAGS RFC822.SIZE)", 0, 1, NULL),
	    "* 7 FETCH (FLAGS (\\Seen \\Flagged $Label1) RFC822.SIZE 174)"
	    "\r\n");

	CHECK_STR(fetch(&rc, "(MODSEQ UID)", 0, 0, &fl),
	    "* 7 FETCH (MODSEQ (1234) UID 42)\r\n");
	CHECK(fl == IMAP_FETCH_MODSEQ);
	/* CHANGEDSINCE implies MODSEQ in every response. */
	CHECK_STR(fetch(&rc, "(FLAGS) (CHANGEDSINCE 12345)", 1, 0, &fl),
	    "* 7 FETCH (UID 42 FLAGS (\\Seen \\Flagged $Label1) MODSEQ (1234))"
	    "\r\n");
	CHECK(fl == (IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ | IMAP_FETCH_UID));
	CHECK_STR(fetch(&rc, "(MODSEQ FLAGS) (CHANGEDSINCE 1)", 0, 1, NULL),
	    "* 7 FETCH (MODSEQ (1234) FLAGS (\\Seen \\Flagged $Label1))\r\n");

	CHECK(parse("FLAGS (CHANGEDSINCE 99 VANISHED)", 1, &f, &err) == 0);
	CHECK(imap_fetch_changedsince(f) == 99);
	CHECK(imap_fetch_vanished(f) == 1);
	imap_fetch_free(f);
	CHECK(parse("FLAGS (changedsince 9223372036854775807)", 0, &f,
	    &err) == 0);
	CHECK(imap_fetch_changedsince(f) == UINT64_C(9223372036854775807));
	CHECK(imap_fetch_vanished(f) == 0);
	imap_fetch_free(f);
	CHECK(parse("FLAGS", 0, &f, &err) == 0);
	CHECK(imap_fetch_changedsince(f) == 0);
	CHECK(imap_fetch_vanished(f) == 0);
	imap_fetch_free(f);
	mime_result_free(&rc.r);
}

static void
test_errors(void)
{
	char	 big[4096];
	size_t	 i;
	int	 n;

	CHECK(bad("FOO", 0));
	CHECK(bad("(FLAGS FOO)", 0));
	CHECK(bad("()", 0));
	CHECK(bad("(FLAGS (UID))", 0));
	CHECK(bad("\"FLAGS\"", 0));
	/* Macros only alone. */
	CHECK(bad("(ALL)", 0));
	CHECK(bad("(FLAGS FAST)", 0));
	CHECK(bad("(FULL UID)", 0));
	/* Sections. */
	CHECK(bad("BODY[", 0));
	CHECK(bad("BODY[]]", 0));
	CHECK(bad("BODY[0]", 0));
	CHECK(bad("BODY[1.0]", 0));
	CHECK(bad("BODY[01]", 0));
	CHECK(bad("BODY[1.]", 0));
	CHECK(bad("BODY[.1]", 0));
	CHECK(bad("BODY[MIME]", 0));
	CHECK(bad("BODY[HEADERS]", 0));
	CHECK(bad("BODY[1.FOO]", 0));
	CHECK(bad("BODY[TEXT.1]", 0));
	CHECK(bad("BODY[HEADER ]", 0));
	CHECK(bad("BODY[HEADER.FIELDS]", 0));
	CHECK(bad("BODY[HEADER.FIELDS ()]", 0));
	CHECK(bad("BODY[HEADER.FIELDS (From]", 0));
	CHECK(bad("BODY[HEADER.FIELDS (Fr:om)]", 0));
	CHECK(bad("BODY[HEADER.FIELDS (\"\")]", 0));
	CHECK(bad("BODY[HEADER.FIELDS (\"a b\")]", 0));
	/* A trailing space is tolerated. */
	CHECK(bad("BODY[HEADER.FIELDS (From)] ", 0) == 0);
	CHECK(bad("BODY.PEEK", 0));
	CHECK(bad("BODY.PEAK[]", 0));
	CHECK(bad("BODYX[]", 0));
	/* Partials. */
	CHECK(bad("BODY[]<0.0>", 0));
	CHECK(bad("BODY[]<0>", 0));
	CHECK(bad("BODY[]<.5>", 0));
	CHECK(bad("BODY[]<1.5", 0));
	CHECK(bad("BODY[]<1.5>x", 0));
	CHECK(bad("BODY[]<4294967296.1>", 0));
	CHECK(bad("BODY[]<-1.5>", 0));
	CHECK(bad("BINARY.SIZE[1]<0.5>", 0));
	/* BINARY takes part numbers only. */
	CHECK(bad("BINARY[HEADER]", 0));
	CHECK(bad("BINARY.PEEK[1.TEXT]", 0));
	CHECK(bad("BINARY.SIZE[1.MIME]", 0));
	CHECK(bad("BINARY[HEADER.FIELDS (From)]", 0));
	CHECK(bad("BINARY", 0));
	/* Modifiers. */
	CHECK(bad("FLAGS (CHANGEDSINCE 0)", 0));
	CHECK(bad("FLAGS (CHANGEDSINCE)", 0));
	CHECK(bad("FLAGS (CHANGEDSINCE x)", 0));
	CHECK(bad("FLAGS (CHANGEDSINCE 9223372036854775808)", 0));
	CHECK(bad("FLAGS (CHANGEDSINCE 5 CHANGEDSINCE 6)", 0));
	CHECK(bad("FLAGS (VANISHED)", 1));
	CHECK(bad("FLAGS (CHANGEDSINCE 5 VANISHED)", 0));
	CHECK(bad("FLAGS (VANISHED CHANGEDSINCE 5)", 0));
	CHECK(bad("FLAGS (FOO)", 0));
	CHECK(bad("FLAGS ()", 0));
	CHECK(bad("FLAGS CHANGEDSINCE", 0));
	CHECK(bad("FLAGS (CHANGEDSINCE 5) (VANISHED)", 1));
	CHECK(!bad("FLAGS (VANISHED CHANGEDSINCE 5)", 1));

	/* Too many items, too many header fields. */
	n = snprintf(big, sizeof(big), "(");
	for (i = 0; i < 65; i++)
		n += snprintf(big + n, sizeof(big) - n, "%sBODY[%zu]",
		    i ? " " : "", i + 1);
	snprintf(big + n, sizeof(big) - n, ")");
	CHECK(bad(big, 0));
	n = snprintf(big, sizeof(big), "(");
	for (i = 0; i < 64; i++)
		n += snprintf(big + n, sizeof(big) - n, "%sBODY[%zu]",
		    i ? " " : "", i + 1);
	snprintf(big + n, sizeof(big) - n, ")");
	CHECK(!bad(big, 0));
	n = snprintf(big, sizeof(big), "BODY[HEADER.FIELDS (");
	for (i = 0; i < 65; i++)
		n += snprintf(big + n, sizeof(big) - n, "%sX-%zu",
		    i ? " " : "", i);
	snprintf(big + n, sizeof(big) - n, ")]");
	CHECK(bad(big, 0));
	memset(big, 'A', 300);
	memcpy(big, "BODY[HEADER.FIELDS (", 20);
	memcpy(big + 300, ")]", 3);
	CHECK(bad(big, 0));
}

/*
 * The two sources of an item's octets agree: the response written from
 * the sections the vault would send (imap_fetch_sections(), then
 * section_find() and section_cut() on the message's part map, as
 * vaultd does) is the one written from the whole message.
 */
static void
test_sections_source(void)
{
	static const char *const items[] = {
		"BODY.PEEK[1]", "BODY.PEEK[2]", "BODY[1.MIME]",
		"(BODY.PEEK[2]<3.10> BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.5>)",
		"(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<2.9> UID)",
		"(BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2]<1.3>)",
		"(RFC822.HEADER RFC822.TEXT FLAGS)", "BODY.PEEK[9]",
		"(BODY.PEEK[1.HEADER] BODY.PEEK[]<0.20> BODY.PEEK[1]<900.5>)",
		"(RFC822.SIZE BODY.PEEK[2.MIME] BODY.PEEK[TEXT]<40.4000>)",
	};
	static char		 want[sizeof(outbuf)];
	struct section		 sects[MBOX_SECTIONS_MAX];
	struct mbox_section_view v[MBOX_SECTIONS_MAX];
	struct imap_fetch	*f;
	const char		*msgs[] = { msg_multi, msg_simple, msg_b64 };
	const char		*err;
	char			*map;
	size_t			 i, k, maplen, wantlen;
	uint64_t		 off, n;
	uint32_t		 ns, j;

	for (k = 0; k < nitems(msgs); k++) {
		rec_init(&rc, msgs[k], strlen(msgs[k]));
		CHECK(mime_partmap(rc.raw, rc.rawlen, &map, &maplen) == 0);
		for (i = 0; i < nitems(items); i++) {
			CHECK(fetch(&rc, items[i], 0, 0, NULL) != NULL);
			memcpy(want, outbuf, outlen + 1);
			wantlen = outlen;

			CHECK(parse(items[i], 0, &f, &err) == 0);
			CHECK(imap_fetch_sections(f, sects, &ns) == 0);
			CHECK(ns > 0 && ns <= MBOX_SECTIONS_MAX);
			for (j = 0; j < ns; j++) {
				memset(&v[j], 0, sizeof(v[j]));
				if (section_find(map, maplen, rc.rawlen,
				    &sects[j], &off, &n) == -1)
					continue;
				section_cut(&sects[j], &off, &n);
				v[j].found = 1;
				v[j].p = n > 0 ? rc.raw + off : NULL;
				v[j].len = n;
			}
			outlen = 0;
			outover = 0;
			outbuf[0] = '\0';
			CHECK(imap_fetch_write_sections(f, rc.m.seq, &rc.m, v,
			    ns, 0, 0, out, NULL) == 0);
			imap_fetch_free(f);
			CHECK(!outover);
			CHECK(outlen == wantlen &&
			    memcmp(outbuf, want, wantlen) == 0);
		}
		free(map);
	}
	/* Whole messages: BINARY[], or BODY[] alone. */
	CHECK(parse("BINARY.PEEK[]", 0, &f, &err) == 0);
	CHECK(imap_fetch_sections(f, sects, &ns) == -1);
	imap_fetch_free(f);
	CHECK(parse("(BODY.PEEK[] RFC822)", 0, &f, &err) == 0);
	CHECK(imap_fetch_sections(f, sects, &ns) == -1);
	imap_fetch_free(f);
	/* Equal sections go once. */
	CHECK(parse("(BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[1])", 0, &f,
	    &err) == 0);
	CHECK(imap_fetch_sections(f, sects, &ns) == 0 && ns == 2);
	imap_fetch_free(f);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	mime_init();
	RUN(test_simple_items);
	RUN(test_envelope_structure);
	RUN(test_sections);
	RUN(test_header_fields);
	RUN(test_partial);
	RUN(test_binary);
	RUN(test_rfc822);
	RUN(test_seen_modseq);
	RUN(test_errors);
	RUN(test_sections_source);
	mime_result_free(&rc.r);
	TEST_EXIT();
}
