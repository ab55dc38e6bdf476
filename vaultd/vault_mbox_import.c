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
 * The spool import into a mailbox (vault_mbox_db.c): mail that came
 * while the account was locked, imported once (by spool name) and in
 * batches that share one transaction.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"

static int	 import_name_ok(const char *);

/* Spool entry names: 1..MBOX_IMPORT_NAME_MAX-1 bytes of graphic ASCII. */
static int
import_name_ok(const char *s)
{
	size_t	 i, len;

	if (s == NULL)
		return (0);
	len = strnlen(s, MBOX_IMPORT_NAME_MAX);
	if (len == 0 || len >= MBOX_IMPORT_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return (0);
	return (1);
}

int
mbox_import_seen(struct mbox *m, const char *name)
{
	int64_t	 v;

	if (m == NULL || !import_name_ok(name))
		return (MBOX_EINVAL);
	return (mbox_db_int(m, "import", &v, "SELECT 1 FROM imported"
	    " WHERE name = ?1", "t", name));
}

/*
 * One spooled message into INBOX, keyed by its spool name.  Alone it
 * is a transaction of its own; inside mbox_import_begin() and
 * mbox_import_commit() it is a savepoint of the batch's, so that a
 * failure undoes only itself.
 */
int
mbox_import(struct mbox *m, const char *name, const struct bundle *b)
{
	struct mbox_folder_info	 f;
	int64_t		 v;
	uint32_t	 uid;
	int		 ret;

	if (m == NULL || !import_name_ok(name) || !mbox_bundle_ok(b))
		return (MBOX_EINVAL);
	if ((ret = m->batch ?
	    mbox_db_exec(m, "import", "SAVEPOINT import", "") :
	    mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_db_int(m, "import", &v, "SELECT 1 FROM imported"
	    " WHERE name = ?1", "t", name)) == MBOX_OK) {
		ret = MBOX_EEXISTS;
		goto fail;
	}
	if (ret != MBOX_ENOTFOUND)
		goto fail;
	if ((ret = mbox_folder_find(m, "INBOX", &f)) != MBOX_OK ||
	    (ret = mbox_append_locked(m, &f, b, 0, "", &uid)) != MBOX_OK ||
	    (ret = mbox_folder_save(m, &f)) != MBOX_OK ||
	    (ret = mbox_db_exec(m, "import", "INSERT INTO imported (name)"
	    " VALUES (?1)", "t", name)) != MBOX_OK)
		goto fail;
	if (!m->batch)
		return (mbox_tx_commit(m));
	if ((ret = mbox_db_exec(m, "import", "RELEASE import", "")) != MBOX_OK)
		return (ret);
	m->batched++;
	return (MBOX_OK);
 fail:
	if (ret == MBOX_ENOTFOUND) {
		log_warnx("mbox: import: no INBOX");
		ret = MBOX_EIO;
	}
	if (!m->batch)
		mbox_tx_rollback(m);
	else if (!sqlite3_get_autocommit(m->db) &&
	    (mbox_db_exec(m, "import", "ROLLBACK TO import", "") != MBOX_OK ||
	    mbox_db_exec(m, "import", "RELEASE import", "") != MBOX_OK)) {
		/* The batch cannot go on: mbox_import_commit() says so. */
		mbox_tx_rollback(m);
	}
	return (ret);
}

int
mbox_import_begin(struct mbox *m)
{
	int	 ret;

	if (m == NULL || m->batch)
		return (MBOX_EINVAL);
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	m->batch = 1;
	m->batched = 0;
	return (MBOX_OK);
}

/* Commit the batch (MBOX_EIO, and nothing kept, if it was lost). */
int
mbox_import_commit(struct mbox *m)
{
	if (m == NULL || !m->batch)
		return (MBOX_EINVAL);
	m->batch = 0;
	if (sqlite3_get_autocommit(m->db)) {
		log_warnx("mbox: import: the batch was rolled back");
		return (MBOX_EIO);
	}
	if (m->batched == 0) {
		/*
		 * Nothing imported.  Roll back rather than commit: pages
		 * that a failed import wrote and its savepoint undid would
		 * still be written again, a commit that the counter does
		 * not count but the page-state digest does.
		 */
		mbox_tx_rollback(m);
		return (MBOX_OK);
	}
	return (mbox_tx_commit(m));
}

void
mbox_import_abort(struct mbox *m)
{
	if (m == NULL || !m->batch)
		return;
	m->batch = 0;
	mbox_tx_rollback(m);
}
