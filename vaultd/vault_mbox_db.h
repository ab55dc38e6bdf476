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
 * What the vault_mbox_*.c files share, and nobody else may use:
 * vault_mbox.h is the mailbox API.  One struct mbox is one open
 * database; the files split it by role:
 *
 *	vault_mbox_db.c		open and close, schema, statements and
 *				transactions
 *	vault_mbox_folder.c	names, folders, special-use, subscriptions,
 *				status
 *	vault_mbox_message.c	append, copy, store, expunge; keywords and
 *				uid ranges
 *	vault_mbox_fetch.c	fetch, bodies, vanished; sequence numbers
 *	vault_mbox_search.c	SEARCH programs translated to SQL
 *	vault_mbox_import.c	the spool import at unlock
 *	vault_mbox_index.c	the full-text index, after the store
 */

#ifndef VAULT_MBOX_DB_H
#define VAULT_MBOX_DB_H

#include <stdint.h>

#include <sqlite3.h>

#include "vault_mbox.h"

struct mbox {
	sqlite3		*db;
	uint64_t	 counter;
	int		 batch;		/* imports share one transaction */
	unsigned int	 batched;	/* imports in it */
	int		 checkpoint_due; /* the log is long */
	int		 index_due;	/* unindexed may have rows */
	uint64_t	 backlog;	/* about how many, and their */
	uint64_t	 backlog_bytes;	/* raw octets (for scheduling) */
};


/* Sequence numbers while walking a folder in uid order. */
struct seqpos {
	uint32_t	 lastuid;	/* messages up to here are counted */
	uint32_t	 seq;		/* how many there are */
};

struct uidvec {
	uint32_t	*v;
	size_t		 n;
	size_t		 cap;
};

/* vault_mbox_db.c */
int	 mbox_db_fail(struct mbox *, const char *, int);
int	 mbox_db_prepare(struct mbox *, const char *, const char *,
	    sqlite3_stmt **);
int	 mbox_db_exec(struct mbox *, const char *, const char *,
	    const char *, ...);
int	 mbox_db_int(struct mbox *, const char *, int64_t *, const char *,
	    const char *, ...);
int	 mbox_tx_begin(struct mbox *, int);
int	 mbox_tx_commit(struct mbox *);
int	 mbox_tx_end(struct mbox *);
void	 mbox_tx_rollback(struct mbox *);
int64_t	 mbox_clamp64(uint64_t);

/* vault_mbox_folder.c */
int	 mbox_name_norm(const char *, char *);
int	 mbox_folder_find(struct mbox *, const char *,
	    struct mbox_folder_info *);
int	 mbox_folder_save(struct mbox *, const struct mbox_folder_info *);
int	 mbox_folder_insert(struct mbox *, const char *, uint32_t, int);
int	 mbox_folder_maxuid(struct mbox *, int64_t, uint32_t *);
int	 mbox_folder_count(struct mbox *, int64_t, uint32_t *);

/* vault_mbox_message.c */
int	 mbox_kw_valid(const char *, size_t);
int	 mbox_bundle_ok(const struct bundle *);
int	 mbox_ranges_norm(const struct mbox_range *, size_t, uint32_t,
	    struct mbox_range **, size_t *);
int	 mbox_append_locked(struct mbox *, struct mbox_folder_info *,
	    const struct bundle *, uint32_t, const char *, uint32_t *);
int	 mbox_copy_locked(struct mbox *, struct mbox_folder_info *,
	    struct mbox_folder_info *, const struct mbox_range *, size_t, int,
	    struct uidvec *);

/* vault_mbox_fetch.c */
int	 mbox_seq_advance(struct mbox *, int64_t, struct seqpos *,
	    uint32_t);

/* vault_mbox_search.c */
void	 mbox_sql_header(sqlite3_context *, int, sqlite3_value **);

/* vault_mbox_env.c */
void	 mbox_sql_addr(sqlite3_context *, int, sqlite3_value **);
void	 mbox_sql_sentday(sqlite3_context *, int, sqlite3_value **);

#endif /* VAULT_MBOX_DB_H */
