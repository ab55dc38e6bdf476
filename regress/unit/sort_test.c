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
 * SORT and THREAD (RFC 5256) in vaultd's own terms (vaultd/vault_sort.c):
 * base subjects, msg-id lists, the sort order with its ties, both
 * threading algorithms with RFC 5256's example tree, and the bounds a
 * hostile mailbox meets.  Then the front's argument parser
 * (imapd/imap_sort_parse.c).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapd/imap_sort.h"
#include "../../vaultd/vault_sort.h"
#include "test.h"

TEST_GLOBALS;

/* Each node as "uid/depth ", depth first. */
struct tout {
	char	 buf[65536];
	size_t	 len;
	size_t	 n;		/* nodes */
	size_t	 nmsg;		/* of them messages, not dummies */
	uint32_t maxdepth;
};

static int
tout_cb(void *arg, uint32_t uid, uint32_t depth)
{
	struct tout	*o = arg;
	int		 l;

	o->n++;
	if (uid != 0)
		o->nmsg++;
	if (depth > o->maxdepth)
		o->maxdepth = depth;
	if (o->len + 32 >= sizeof(o->buf))
		return (0);
	l = snprintf(o->buf + o->len, sizeof(o->buf) - o->len, "%u/%u ", uid,
	    depth);
	if (l > 0)
		o->len += (size_t)l;
	return (0);
}

static void
base_is(const char *in, const char *want, int wantreply)
{
	char	*b;
	int	 reply;

	b = sort_base_subject(in, strlen(in), &reply);
	CHECK_STR(b, want);
	CHECK(reply == wantreply);
	free(b);
}

static void
test_base_subject(void)
{
	base_is("Hello", "HELLO", 0);
	base_is("Re: Hello", "HELLO", 1);
	base_is("RE:   re: Hello", "HELLO", 1);
	base_is("Fwd: hello", "HELLO", 1);
	base_is("FW: hello", "HELLO", 1);
	base_is("Re[2]: hello", "HELLO", 1);
	base_is("[list] Re: hello", "HELLO", 1);
	base_is("[list] [x] Re: hello", "HELLO", 1);
	base_is("[list] hello", "HELLO", 0);
	base_is("hello (fwd)", "HELLO", 1);
	base_is("hello (FWD) (fwd)  ", "HELLO", 1);
	base_is("[Fwd: hello]", "HELLO", 1);
	base_is("[fwd: Re: [list] hello (fwd)]", "HELLO", 1);
	base_is("  a\t\tb \r\n c  ", "A B C", 0);
	/* A blob alone stays: removing it would leave nothing. */
	base_is("[blob only]", "[BLOB ONLY]", 0);
	base_is("Re: [blob only]", "[BLOB ONLY]", 1);
	base_is("", "", 0);
	base_is("Re:", "", 1);
	base_is("Ready", "READY", 0);	/* "Re" without ":" */
	base_is("Fwdx: y", "FWDX: Y", 0);
	/* Only ASCII folds (i;ascii-casemap). */
	base_is("caf\xc3\xa9", "CAF\xc3\xa9", 0);
}

static void
test_msg_ids(void)
{
	char	*ids[THREAD_REFS_MAX], big[8000], *p;
	int	 n, i;

	n = sort_msg_ids(" <a@x>  junk <> <b@x>(c) <c@x", 29, ids, 10);
	CHECK(n == 2);
	CHECK_STR(ids[0], "<a@x>");
	CHECK_STR(ids[1], "<b@x>");
	for (i = 0; i < n; i++)
		free(ids[i]);
	/* The last THREAD_REFS_MAX of many. */
	p = big;
	for (i = 0; i < 1000; i++)
		p += snprintf(p, sizeof(big) - (size_t)(p - big), "<%d>", i);
	n = sort_msg_ids(big, strlen(big), ids, THREAD_REFS_MAX);
	CHECK(n == THREAD_REFS_MAX);
	CHECK_STR(ids[0], "<900>");
	CHECK_STR(ids[THREAD_REFS_MAX - 1], "<999>");
	for (i = 0; i < n; i++)
		free(ids[i]);
	/* An id too long to be one is skipped. */
	memset(big, 'a', sizeof(big));
	big[0] = '<';
	big[THREAD_ID_MAX + 5] = '>';
	CHECK(sort_msg_ids(big, THREAD_ID_MAX + 6, ids, 4) == 0);
}

static struct sort_msg
mk(uint32_t uid, int64_t date, const char *subject, const char *msgid,
    const char *refs)
{
	struct sort_msg	 m;
	char		*ids[THREAD_REFS_MAX];
	int		 n;

	memset(&m, 0, sizeof(m));
	m.uid = uid;
	m.date = m.arrival = date;
	m.subject = sort_base_subject(subject, strlen(subject), &m.reply);
	m.from = strdup("");
	m.to = strdup("");
	m.cc = strdup("");
	if (msgid != NULL)
		m.msgid = strdup(msgid);
	if (refs != NULL && (n = sort_msg_ids(refs, strlen(refs), ids,
	    THREAD_REFS_MAX)) > 0) {
		m.refs = calloc((size_t)n, sizeof(*m.refs));
		memcpy(m.refs, ids, (size_t)n * sizeof(*ids));
		m.nrefs = (size_t)n;
	}
	return (m);
}

static void
test_sort_order(void)
{
	struct sort_msg	 m[4];
	uint8_t		 k1[] = { SORT_DATE };
	uint8_t		 k2[] = { SORT_DATE | SORT_REVERSE };
	uint8_t		 k3[] = { SORT_SUBJECT, SORT_SIZE | SORT_REVERSE };
	size_t		 i;

	m[0] = mk(4, 100, "b", NULL, NULL);
	m[1] = mk(2, 100, "Re: a", NULL, NULL);
	m[2] = mk(3, 50, "A", NULL, NULL);
	m[3] = mk(1, 100, "b", NULL, NULL);
	m[0].size = 10;
	m[3].size = 20;
	sort_msgs(m, 4, k1, 1);
	CHECK(m[0].uid == 3 && m[1].uid == 1 && m[2].uid == 2 &&
	    m[3].uid == 4);
	/* Ties stay in sequence order under REVERSE too. */
	sort_msgs(m, 4, k2, 1);
	CHECK(m[0].uid == 1 && m[1].uid == 2 && m[2].uid == 4 &&
	    m[3].uid == 3);
	sort_msgs(m, 4, k3, 2);
	CHECK(m[0].uid == 2 && m[1].uid == 3 && m[2].uid == 1 &&
	    m[3].uid == 4);
	for (i = 0; i < 4; i++)
		sort_msg_free(&m[i]);
}

static void
run_thread(struct sort_msg *m, size_t n, int algo, struct tout *o)
{
	size_t	 i;

	memset(o, 0, sizeof(*o));
	CHECK(thread_msgs(m, n, algo, tout_cb, o) == 0);
	for (i = 0; i < n; i++)
		sort_msg_free(&m[i]);
	if (o->len > 0)
		o->buf[--o->len] = '\0';
}

/*
 * RFC 5256 4's example response, "(2)(3 6 (4 23)(44 7 96))", made by
 * References: 6 replies to 3; 4 and 44 to 6; 23 to 4; 7 to 44, 96 to 7.
 */
static void
test_rfc_example(void)
{
	struct sort_msg	 m[8];
	struct tout	 o;

	m[0] = mk(2, 1, "other", "<2@x>", NULL);
	m[1] = mk(3, 2, "topic", "<3@x>", NULL);
	m[2] = mk(4, 4, "Re: topic", "<4@x>", "<3@x> <6@x>");
	m[3] = mk(6, 3, "Re: topic", "<6@x>", "<3@x>");
	m[4] = mk(7, 7, "Re: topic", "<7@x>", "<3@x> <6@x> <44@x>");
	m[5] = mk(23, 5, "Re: topic", "<23@x>", "<3@x> <6@x> <4@x>");
	m[6] = mk(44, 6, "Re: topic", "<44@x>", "<3@x> <6@x>");
	m[7] = mk(96, 8, "Re: topic", "<96@x>", "<3@x> <6@x> <44@x> <7@x>");
	run_thread(m, 8, THREAD_REFERENCES, &o);
	CHECK_STR(o.buf, "2/0 3/0 6/1 4/2 23/3 44/2 7/3 96/4");
}

/* The integration test's set: chain, dummy, subjects, loop, no ids. */
static void
test_references(void)
{
	struct sort_msg	 m[13];
	struct tout	 o;

	m[0] = mk(1, 10, "Lunch", "<a@x>", NULL);
	m[1] = mk(2, 11, "Re: Lunch", "<b@x>", "<a@x>");
	m[2] = mk(3, 12, "Re: Lunch", "<c@x>", "<a@x> <b@x>");
	m[3] = mk(4, 20, "Re: Party", "<d@x>", "<p@x>");
	m[4] = mk(5, 21, "Re: Party", "<e@x>", "<p@x>");
	m[5] = mk(6, 30, "Report", "<f@x>", NULL);
	m[6] = mk(7, 31, "Re: Report", "<g@x>", NULL);
	m[7] = mk(8, 40, "Loop", "<h@x>", "<i@x>");
	m[8] = mk(9, 41, "Re: Loop", "<i@x>", "<h@x>");
	m[9] = mk(10, 50, "Orphan", NULL, NULL);
	m[10] = mk(11, 60, "Meeting", "<k@x>", NULL);
	m[11] = mk(12, 61, "Meeting", "<l@x>", NULL);
	m[12] = mk(13, 13, "Re: Lunch", NULL, "<c@x>");
	run_thread(m, 13, THREAD_REFERENCES, &o);
	CHECK_STR(o.buf, "1/0 2/1 3/2 13/3 0/0 4/1 5/1 6/0 7/1 9/0 8/1 "
	    "10/0 0/0 11/1 12/1");
}

static void
test_orderedsubject(void)
{
	struct sort_msg	 m[5];
	struct tout	 o;

	m[0] = mk(1, 30, "Re: b", NULL, NULL);
	m[1] = mk(2, 10, "a", NULL, NULL);
	m[2] = mk(3, 20, "b", NULL, NULL);
	m[3] = mk(4, 5, "Fwd: a", NULL, NULL);
	m[4] = mk(5, 20, "[x] B (fwd)", NULL, NULL);
	run_thread(m, 5, THREAD_ORDEREDSUBJECT, &o);
	CHECK_STR(o.buf, "4/0 2/1 3/0 5/1 1/1");
}

/* A message naming itself, and duplicate Message-IDs. */
static void
test_self_and_duplicates(void)
{
	struct sort_msg	 m[3];
	struct tout	 o;

	m[0] = mk(1, 1, "x", "<s@x>", "<s@x>");
	m[1] = mk(2, 2, "y", "<s@x>", "<s@x>");
	m[2] = mk(3, 3, "z", "<t@x>", "<s@x> <t@x> <s@x>");
	run_thread(m, 3, THREAD_REFERENCES, &o);
	CHECK(o.n == 3);
	CHECK_STR(o.buf, "1/0 2/1 3/1");
}

/* A chain deeper than THREAD_DEPTH_MAX is cut, not recursed into. */
static void
test_deep_chain(void)
{
	struct sort_msg	*m;
	struct tout	 o;
	char		 id[32], ref[32];
	size_t		 i, n = THREAD_DEPTH_MAX * 3;

	CHECK((m = calloc(n, sizeof(*m))) != NULL);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "<%zu@x>", i);
		snprintf(ref, sizeof(ref), "<%zu@x>", i - 1);
		m[i] = mk((uint32_t)i + 1, (int64_t)i, "deep", id,
		    i > 0 ? ref : NULL);
	}
	run_thread(m, n, THREAD_REFERENCES, &o);
	free(m);
	CHECK(o.nmsg == n);
	CHECK(o.maxdepth <= THREAD_DEPTH_MAX + 2);
}

static void
test_args_check(void)
{
	struct mbox_args_sort	 a;

	memset(&a, 0, sizeof(a));
	CHECK(sort_args_check(&a, 0) == -1);
	a.nkeys = 2;
	a.keys[0] = SORT_DATE;
	a.keys[1] = SORT_SUBJECT | SORT_REVERSE;
	CHECK(sort_args_check(&a, 0) == 0);
	CHECK(sort_args_check(&a, 1) == -1);
	a.keys[1] = SORT_DATE | SORT_REVERSE;
	CHECK(sort_args_check(&a, 0) == -1);
	a.keys[1] = SORT_KEY_LAST + 1;
	CHECK(sort_args_check(&a, 0) == -1);
	a.keys[1] = SORT_TO;
	a.keys[5] = SORT_CC;		/* past nkeys */
	CHECK(sort_args_check(&a, 0) == -1);
	memset(&a, 0, sizeof(a));
	a.thread = THREAD_REFERENCES;
	CHECK(sort_args_check(&a, 1) == 0);
	a.thread = 3;
	CHECK(sort_args_check(&a, 1) == -1);
}

static int
parse(const char *text, int thread, struct mbox_args_sort *a)
{
	struct imap_cmd	 cmd;
	struct imap_arg	*args;
	size_t		 nargs;
	const char	*err = NULL;
	int		 rv;

	memset(&cmd, 0, sizeof(cmd));
	cmd.buf = text;
	cmd.len = strlen(text);
	CHECK(imap_parse(&cmd, &args, &nargs, &err) == 0);
	rv = imap_sort_parse(args, nargs, thread, a, &err);
	if (rv == -1)
		CHECK(err != NULL);
	imap_args_free(args);
	return (rv);
}

static void
test_parse(void)
{
	struct mbox_args_sort	 a;

	CHECK(parse("(REVERSE date subject) UTF-8 ALL", 0, &a) == 1);
	CHECK(a.nkeys == 2 && a.keys[0] == (SORT_DATE | SORT_REVERSE) &&
	    a.keys[1] == SORT_SUBJECT);
	CHECK(parse("RETURN (MIN) (ARRIVAL CC FROM SIZE TO) UTF-8 ALL", 0,
	    &a) == 3);
	CHECK(a.nkeys == 5);
	CHECK(parse("(DATE DATE REVERSE DATE SIZE) UTF-8 ALL", 0, &a) == 1);
	CHECK(a.nkeys == 2 && a.keys[1] == SORT_SIZE);
	CHECK(parse("() UTF-8 ALL", 0, &a) == -1);
	CHECK(parse("(FOO) UTF-8 ALL", 0, &a) == -1);
	CHECK(parse("(REVERSE) UTF-8 ALL", 0, &a) == -1);
	CHECK(parse("(REVERSE REVERSE DATE) UTF-8 ALL", 0, &a) == -1);
	CHECK(parse("DATE UTF-8 ALL", 0, &a) == -1);
	CHECK(parse("(DATE) UTF-8", 0, &a) == -1);
	CHECK(parse("((DATE)) UTF-8 ALL", 0, &a) == -1);
	CHECK(parse("REFERENCES UTF-8 ALL", 1, &a) == 1);
	CHECK(a.thread == THREAD_REFERENCES);
	CHECK(parse("orderedsubject UTF-8 ALL", 1, &a) == 1);
	CHECK(a.thread == THREAD_ORDEREDSUBJECT);
	CHECK(parse("REFS UTF-8 ALL", 1, &a) == -1);
	CHECK(parse("REFERENCES UTF-8", 1, &a) == -1);
}

int
main(void)
{
	RUN(test_base_subject);
	RUN(test_msg_ids);
	RUN(test_sort_order);
	RUN(test_rfc_example);
	RUN(test_references);
	RUN(test_orderedsubject);
	RUN(test_self_and_duplicates);
	RUN(test_deep_chain);
	RUN(test_args_check);
	RUN(test_parse);
	TEST_EXIT();
}
