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
 * Importing spooled messages into the mailbox store
 * (vault_mbox_import.c), one and a batch.
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

static void	 t_import(void);
static void	 t_import_batch(void);

static void
t_import(void)
{
	struct tmsg	 t;
	struct mbox	*m;
	uint64_t	 c;

	m = mopen("import");
	tmsg_init(&t, "spooled", "f", "t", "", "", "from the spool", "",
	    BASEDATE, 0);
	CHECK(mbox_import_seen(m, "0123abcd.msg") == MBOX_ENOTFOUND);
	c = mbox_counter(m);
	CHECK(mbox_import(m, "0123abcd.msg", &t.b) == MBOX_OK);
	CHECK(mbox_counter(m) == c + 1);
	CHECK(mbox_import(m, "0123abcd.msg", &t.b) == MBOX_EEXISTS);
	CHECK(mbox_counter(m) == c + 1);
	CHECK(mbox_import_seen(m, "0123abcd.msg") == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.exists == 1);
	CHECK(fget(m, "INBOX")->info.unseen == 1);
	CHECK(mbox_import(m, "other", &t.b) == MBOX_OK);
	CHECK(fget(m, "INBOX")->info.exists == 2);
	CHECK_STR(s1(m, SEARCH_BODY, "spool"), "1,2");
	CHECK(mbox_import(m, "", &t.b) == MBOX_EINVAL);
	CHECK(mbox_import(m, "a b", &t.b) == MBOX_EINVAL);
	CHECK(mbox_import(m, "x", NULL) == MBOX_EINVAL);
	CHECK(mbox_import_seen(m, NULL) == MBOX_EINVAL);
	mbox_close(m);
	m = mopen("import");
	CHECK(mbox_import(m, "0123abcd.msg", &t.b) == MBOX_EEXISTS);
	CHECK(fget(m, "INBOX")->info.exists == 2);
	mbox_close(m);
}

/* Imports in one transaction: all or nothing, each failure its own. */
static void
t_import_batch(void)
{
	struct tmsg	 t;
	struct mbox	*m;
	unsigned char	 d0[MBOX_STATE_LEN], d1[MBOX_STATE_LEN];
	uint64_t	 c;

	m = mopen("batch");
	tmsg_init(&t, "batched", "f", "t", "", "", "from the spool", "",
	    BASEDATE, 0);
	c = mbox_counter(m);
	CHECK(mbox_import_commit(m) == MBOX_EINVAL);	/* none open */
	CHECK(mbox_import_begin(m) == MBOX_OK);
	CHECK(mbox_import_begin(m) == MBOX_EINVAL);	/* one at a time */
	CHECK(mbox_import(m, "a", &t.b) == MBOX_OK);
	CHECK(mbox_import(m, "a", &t.b) == MBOX_EEXISTS); /* only itself */
	CHECK(mbox_import(m, "a b", &t.b) == MBOX_EINVAL);
	CHECK(mbox_import(m, "b", &t.b) == MBOX_OK);
	mbox_import_abort(m);
	CHECK(mbox_counter(m) == c);
	CHECK(fget(m, "INBOX")->info.exists == 0);
	CHECK(mbox_import_seen(m, "a") == MBOX_ENOTFOUND);

	CHECK(mbox_import_begin(m) == MBOX_OK);
	CHECK(mbox_import(m, "a", &t.b) == MBOX_OK);
	CHECK(mbox_import(m, "a", &t.b) == MBOX_EEXISTS);
	CHECK(mbox_import(m, "b", &t.b) == MBOX_OK);
	CHECK(mbox_import_commit(m) == MBOX_OK);
	CHECK(mbox_counter(m) == c + 1);		/* one commit */
	CHECK(fget(m, "INBOX")->info.exists == 2);
	CHECK(mbox_import_seen(m, "b") == MBOX_OK);
	/*
	 * A batch with nothing new commits nothing: neither the counter
	 * nor the pages (their digest) move, nor do they for reads
	 * (once the index holds every message: see mbox_index_test).
	 */
	CHECK(mbox_index(m, MBOX_INDEX_MAX, UINT64_MAX, NULL) == MBOX_OK);
	c = mbox_counter(m);
	CHECK(mbox_pagestate(m, d0) == MBOX_OK);
	CHECK(mbox_import_begin(m) == MBOX_OK);
	CHECK(mbox_import(m, "b", &t.b) == MBOX_EEXISTS);
	CHECK(mbox_import(m, "c d", &t.b) == MBOX_EINVAL);
	CHECK(mbox_import_commit(m) == MBOX_OK);
	CHECK(mbox_counter(m) == c);
	CHECK_STR(s1(m, SEARCH_BODY, "spool"), "1,2");
	CHECK(mbox_pagestate(m, d1) == MBOX_OK);
	CHECK(memcmp(d0, d1, sizeof(d0)) == 0);
	mbox_close(m);
	m = mopen("batch");
	CHECK(mbox_pagestate(m, d1) == MBOX_OK);
	CHECK(memcmp(d0, d1, sizeof(d0)) == 0);
	mbox_close(m);
	m = mopen("batch");
	CHECK(fget(m, "INBOX")->info.exists == 2);
	CHECK_STR(s1(m, SEARCH_BODY, "spool"), "1,2");
	mbox_close(m);
}

int
main(void)
{
	mbox_fixture_setup();
	RUN(t_import);
	RUN(t_import_batch);
	mbox_fixture_teardown();
	TEST_EXIT();
}
