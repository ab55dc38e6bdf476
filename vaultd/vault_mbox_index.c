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
 * The full-text index of a mailbox (the fts table, vault_mbox_db.c),
 * written after the messages are stored.  Every store (append,
 * delivery, spool import) only records its content id in unindexed,
 * a trigger's work: the FTS5 rows and the pages they write were most
 * of an APPEND's transaction.  mbox_index() moves a batch of the
 * backlog into fts, in a transaction of its own; vaultd runs it as a
 * job on the account's strand after the answer (vault_account.c),
 * and a SEARCH that uses the index runs it first (mbox_search()).
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"
#include "vault_work.h"

int
mbox_index_due(const struct mbox *m)
{
	return (m != NULL && m->index_due);
}

/*
 * About how many messages wait, and their raw octets: counted as they
 * are stored, so a store rolled back still counts until mbox_index()
 * finds the backlog empty.  For scheduling, never for correctness.
 */
uint64_t
mbox_index_backlog(const struct mbox *m, uint64_t *bytes)
{
	if (m == NULL || !m->index_due) {
		if (bytes != NULL)
			*bytes = 0;
		return (0);
	}
	if (bytes != NULL)
		*bytes = m->backlog_bytes;
	return (m->backlog > 0 ? m->backlog : 1);
}

/*
 * Index up to max messages of the backlog, oldest first, in one
 * transaction; fewer if their raw sizes reach maxbytes (at least one
 * is indexed, however large).  The raw size bounds the text that is
 * indexed closely enough, and is read from the small messages rows.
 * *done (if not NULL) is how many were indexed; mbox_index_due() says
 * whether some are left.  On a background worker, a request of the
 * account that comes meanwhile ends the batch early
 * (work_yield_asked()): what is indexed is committed, the rest waits.
 */
int
mbox_index(struct mbox *m, size_t max, uint64_t maxbytes, size_t *done)
{
	sqlite3_stmt	*sel = NULL, *ins = NULL, *del = NULL;
	int64_t		*ids = NULL, *sizes, v;
	uint64_t	 bytes = 0, chosen = 0;
	size_t		 n = 0, i;
	int		 rc, ret, more;

	if (done != NULL)
		*done = 0;
	if (m == NULL || max == 0 || max > MBOX_INDEX_MAX)
		return (MBOX_EINVAL);
	if (!m->index_due)
		return (MBOX_OK);
	if ((ids = reallocarray(NULL, max, 2 * sizeof(*ids))) == NULL) {
		log_warn("mbox: %s", __func__);
		return (MBOX_EIO);
	}
	sizes = ids + max;
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		goto out;
	if ((ret = mbox_db_prepare(m, "index", "SELECT u.id, coalesce((SELECT"
	    " size FROM messages WHERE content_id = u.id LIMIT 1), 0)"
	    " FROM unindexed u ORDER BY u.id LIMIT ?1", &sel)) != MBOX_OK)
		goto fail;
	if ((rc = sqlite3_bind_int64(sel, 1, (int64_t)max)) != SQLITE_OK)
		goto dberr;
	while (n < max && chosen < maxbytes &&
	    (rc = sqlite3_step(sel)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(sel, 0);
		sizes[n] = sqlite3_column_int64(sel, 1);
		chosen += (uint64_t)sizes[n++];
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(sel);
	sel = NULL;
	if (n == 0) {
		/* A store rolled back: nothing was left to index. */
		m->index_due = 0;
		m->backlog = m->backlog_bytes = 0;
		ret = mbox_tx_end(m);
		goto out;
	}

	if ((ret = mbox_db_prepare(m, "index", "INSERT INTO fts (rowid,"
	    " subject, from_, to_, cc, bcc, headers, body) SELECT id,"
	    " subject, from_, to_, cc, bcc, headers, body FROM content"
	    " WHERE id = ?1", &ins)) != MBOX_OK ||
	    (ret = mbox_db_prepare(m, "index", "DELETE FROM unindexed"
	    " WHERE id = ?1", &del)) != MBOX_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if (i > 0 && work_yield_asked())
			break;
		bytes += (uint64_t)sizes[i];
		if ((rc = sqlite3_reset(ins)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(ins, 1, ids[i])) != SQLITE_OK ||
		    (rc = sqlite3_step(ins)) != SQLITE_DONE ||
		    (rc = sqlite3_reset(del)) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(del, 1, ids[i])) != SQLITE_OK ||
		    (rc = sqlite3_step(del)) != SQLITE_DONE)
			goto dberr;
	}
	n = i;
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	ins = del = NULL;
	ret = mbox_db_int(m, "index", &v, "SELECT 1 FROM unindexed LIMIT 1",
	    "");
	if (ret != MBOX_OK && ret != MBOX_ENOTFOUND)
		goto fail;
	more = ret == MBOX_OK;
	if ((ret = mbox_tx_commit(m)) != MBOX_OK)
		goto out;
	/* After the commit: a failed one leaves the backlog as it was. */
	m->index_due = more;
	m->backlog = more && m->backlog > n ? m->backlog - n : 0;
	m->backlog_bytes = more && m->backlog_bytes > bytes ?
	    m->backlog_bytes - bytes : 0;
	if (done != NULL)
		*done = n;
	goto out;
 dberr:
	ret = mbox_db_fail(m, "index", rc);
 fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	mbox_tx_rollback(m);
 out:
	free(ids);
	return (ret);
}
