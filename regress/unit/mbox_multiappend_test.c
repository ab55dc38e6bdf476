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
 * MULTIAPPEND in the mailbox store (mbox_append_many()): several
 * messages in one transaction, with consecutive uids, their own flags
 * and keywords; one bad message and none is stored; the bounds.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "search.h"
#include "../../vaultd/vault_mbox.h"
#include "../../vaultd/vault_vfs.h"
#include "mbox_fixture.h"
#include "test.h"

TEST_GLOBALS;

static void	 t_three(void);
static void	 t_all_or_none(void);
static void	 t_bounds(void);

static void
t_three(void)
{
	struct mbox_append_one	 one[3];
	struct tmsg		 t[3];
	struct got		 g;
	struct mbox_range	 r = { 1, STAR };
	struct mbox		*m;
	uint32_t		 uv = 0, first = 0;

	m = mopen("three");
	(void)addsimple(m, "INBOX", "before");
	tmsg_init(&t[0], "one", "a@x", "b@x", "", "", "1", "", BASEDATE, 0);
	tmsg_init(&t[1], "two", "a@x", "b@x", "", "", "2", "", BASEDATE, 0);
	tmsg_init(&t[2], "three", "a@x", "b@x", "", "", "3", "", BASEDATE,
	    0);
	one[0] = (struct mbox_append_one){ &t[0].b, MAILFLAG_SEEN, "" };
	one[1] = (struct mbox_append_one){ &t[1].b, 0, "k1 k2" };
	one[2] = (struct mbox_append_one){ &t[2].b, MAILFLAG_FLAGGED, NULL };
	CHECK(mbox_append_many(m, "INBOX", one, 3, &uv, &first) == MBOX_OK);
	CHECK(uv == fget(m, "INBOX")->info.uidvalidity);
	CHECK(first == 2);
	CHECK(fget(m, "INBOX")->info.uidnext == 5);
	CHECK(fget(m, "INBOX")->info.exists == 4);
	memset(&g, 0, sizeof(g));
	CHECK(mbox_fetch(m, "INBOX", &r, 1, 0, got_msg, &g) == MBOX_OK);
	CHECK(g.n == 4);
	CHECK(g.uid[1] == 2 && g.flags[1] == MAILFLAG_SEEN);
	CHECK(g.uid[2] == 3 && g.flags[2] == 0);
	CHECK_STR(g.kw[2], "k1 k2");
	CHECK(g.uid[3] == 4 && g.flags[3] == MAILFLAG_FLAGGED);
	mbox_close(m);
}

/* A bad message in the middle: nothing stored, the uids not used. */
static void
t_all_or_none(void)
{
	struct mbox_append_one	 one[3];
	struct tmsg		 t;
	struct mbox		*m;
	uint32_t		 uv = 0, first = 0;

	m = mopen("allornone");
	tmsg_init(&t, "s", "a@x", "b@x", "", "", "x", "", BASEDATE, 0);
	one[0] = (struct mbox_append_one){ &t.b, 0, NULL };
	one[1] = (struct mbox_append_one){ &t.b, 0, "a(b" };
	one[2] = (struct mbox_append_one){ &t.b, 0, NULL };
	CHECK(mbox_append_many(m, "INBOX", one, 3, &uv, &first) ==
	    MBOX_EINVAL);
	CHECK(fget(m, "INBOX")->info.exists == 0);
	CHECK(fget(m, "INBOX")->info.uidnext == 1);
	/* Bad flags are refused before anything starts. */
	one[1] = (struct mbox_append_one){ &t.b, 0x80000000U, NULL };
	CHECK(mbox_append_many(m, "INBOX", one, 3, &uv, &first) ==
	    MBOX_EINVAL);
	/* No such folder. */
	one[1] = one[0];
	CHECK(mbox_append_many(m, "nope", one, 3, &uv, &first) ==
	    MBOX_ENOTFOUND);
	CHECK(fget(m, "INBOX")->info.exists == 0);
	/* And then it works. */
	CHECK(mbox_append_many(m, "INBOX", one, 3, &uv, &first) == MBOX_OK);
	CHECK(first == 1 && fget(m, "INBOX")->info.exists == 3);
	mbox_close(m);
}

static void
t_bounds(void)
{
	struct mbox_append_one	*one;
	struct tmsg		 t;
	struct mbox		*m;
	uint32_t		 uv = 0, first = 0;
	size_t			 i, n = MBOX_APPEND_MAX + 1;

	m = mopen("bounds");
	tmsg_init(&t, "s", "a@x", "b@x", "", "", "x", "", BASEDATE, 0);
	CHECK((one = calloc(n, sizeof(*one))) != NULL);
	for (i = 0; i < n; i++)
		one[i] = (struct mbox_append_one){ &t.b, 0, NULL };
	CHECK(mbox_append_many(m, "INBOX", one, 0, &uv, &first) ==
	    MBOX_EINVAL);
	CHECK(mbox_append_many(m, "INBOX", one, n, &uv, &first) ==
	    MBOX_EINVAL);
	CHECK(mbox_append_many(m, "INBOX", one, n - 1, &uv, &first) ==
	    MBOX_OK);
	CHECK(first == 1);
	CHECK(fget(m, "INBOX")->info.exists == MBOX_APPEND_MAX);
	CHECK(fget(m, "INBOX")->info.uidnext == MBOX_APPEND_MAX + 1);
	free(one);
	mbox_close(m);
}

int
main(void)
{
	mbox_fixture_setup();
	RUN(t_three);
	RUN(t_all_or_none);
	RUN(t_bounds);
	mbox_fixture_teardown();
	TEST_EXIT();
}
