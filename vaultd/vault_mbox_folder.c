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
 * Folders of a mailbox (vault_mbox_db.c): their names (strict UTF-8,
 * normalised), creation with the missing parents, deletion, renaming
 * (INBOX's messages move), subscriptions and the status counts.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"

#define XSTR(x)		#x
#define STR(x)		XSTR(x)

#define SQL_FOLDER_AGG							\
	"SELECT f.id, f.name, f.special, f.subscribed, f.uidvalidity,"	\
	" f.uidnext, f.highestmodseq, count(m.uid),"			\
	" coalesce(sum((m.flags & " STR(MAILFLAG_SEEN) ") = 0), 0),"	\
	" coalesce(sum((m.flags & " STR(MAILFLAG_DELETED) ") != 0), 0),"\
	" coalesce(sum(m.size), 0)"					\
	" FROM folders f LEFT JOIN messages m ON m.folder_id = f.id "

static int	 utf8_ok(const unsigned char *, size_t);
static int	 name_check(const char *);
static int	 folder_exists(struct mbox *, const char *);
static int	 uidvalidity_next(struct mbox *, uint32_t *);
static int	 folder_fill(sqlite3_stmt *, struct mbox_folder *);
static int	 parents_missing(struct mbox *, const char *, size_t *);
static int	 parents_create(struct mbox *, const char *);
static int	 create_path(struct mbox *, const char *, uint32_t);
static int	 subscriptions_claim(struct mbox *);

/*
 * Strict UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF, and no C1 controls (U+0080-U+009F).
 */
static int
utf8_ok(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (len - i - 1 < n)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
			return (0);
		i += n + 1;
	}
	return (1);
}

/* The rules for a folder name, without normalisation. */
static int
name_check(const char *in)
{
	size_t		 len, i, comps = 1;
	unsigned char	 c;

	if (in == NULL)
		return (MBOX_EINVAL);
	len = strnlen(in, MBOX_NAME_MAX);
	if (len == 0 || len >= MBOX_NAME_MAX)
		return (MBOX_EINVAL);
	if (in[0] == MBOX_DELIM || in[len - 1] == MBOX_DELIM)
		return (MBOX_EINVAL);
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c < 0x20 || c == 0x7f || c == '%' || c == '*')
			return (MBOX_EINVAL);
		if (c == MBOX_DELIM) {
			if (in[i + 1] == MBOX_DELIM)
				return (MBOX_EINVAL);
			comps++;
		}
	}
	if (comps > MBOX_DEPTH_MAX)
		return (MBOX_EINVAL);
	if (!utf8_ok((const unsigned char *)in, len))
		return (MBOX_EINVAL);
	return (MBOX_OK);
}

/*
 * Check a folder name and copy it to out (MBOX_NAME_MAX bytes), with
 * a first component of "inbox" in any case spelt "INBOX".
 */
int
mbox_name_norm(const char *in, char *out)
{
	int	 ret;

	if ((ret = name_check(in)) != MBOX_OK)
		return (ret);
	if (strlcpy(out, in, MBOX_NAME_MAX) >= MBOX_NAME_MAX)
		return (MBOX_EINVAL);
	if (strncasecmp(out, "INBOX", 5) == 0 &&
	    (out[5] == '\0' || out[5] == MBOX_DELIM))
		memcpy(out, "INBOX", 5);
	return (MBOX_OK);
}

int
mbox_folder_find(struct mbox *m, const char *name,
    struct mbox_folder_info *f)
{
	sqlite3_stmt	*st;
	int		 rc, ret;

	if ((ret = mbox_db_prepare(m, "folder", "SELECT id, uidvalidity,"
	    " uidnext, highestmodseq FROM folders WHERE name = ?1", &st)) !=
	    MBOX_OK)
		return (ret);
	if ((rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC)) !=
	    SQLITE_OK)
		ret = mbox_db_fail(m, "folder", rc);
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The write paths need these; the counts stay 0. */
		memset(f, 0, sizeof(*f));
		f->id = sqlite3_column_int64(st, 0);
		f->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		f->uidnext = (uint32_t)sqlite3_column_int64(st, 2);
		f->highestmodseq = (uint64_t)sqlite3_column_int64(st, 3);
		ret = MBOX_OK;
	} else if (rc == SQLITE_DONE)
		ret = MBOX_ENOTFOUND;
	else
		ret = mbox_db_fail(m, "folder", rc);
	sqlite3_finalize(st);
	return (ret);
}

/* MBOX_OK if the folder exists, MBOX_ENOTFOUND if not. */
static int
folder_exists(struct mbox *m, const char *name)
{
	int64_t	 v;

	return (mbox_db_int(m, "folder", &v, "SELECT 1 FROM folders WHERE"
	    " name = ?1", "t", name));
}

int
mbox_folder_save(struct mbox *m, const struct mbox_folder_info *f)
{
	return (mbox_db_exec(m, "folder", "UPDATE folders SET uidnext = ?1,"
	    " highestmodseq = ?2 WHERE id = ?3", "iii", (int64_t)f->uidnext,
	    (int64_t)f->highestmodseq, f->id));
}

static int
uidvalidity_next(struct mbox *m, uint32_t *uv)
{
	int64_t	 last, next, now;
	int	 ret;

	if ((ret = mbox_db_int(m, "uidvalidity", &last, "SELECT value FROM meta"
	    " WHERE key = 'uidvalidity'", "")) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	next = last + 1;
	now = (int64_t)time(NULL);
	if (now > next && now <= (int64_t)UINT32_MAX)
		next = now;
	if (next <= 0 || next > (int64_t)UINT32_MAX) {
		log_warnx("mbox: uidvalidity exhausted");
		return (MBOX_ELIMIT);
	}
	if ((ret = mbox_db_exec(m, "uidvalidity", "UPDATE meta SET value = ?1"
	    " WHERE key = 'uidvalidity'", "i", next)) != MBOX_OK)
		return (ret);
	*uv = (uint32_t)next;
	return (MBOX_OK);
}

int
mbox_folder_insert(struct mbox *m, const char *name, uint32_t special,
    int subscribed)
{
	uint32_t	 uv;
	int		 ret;

	if ((ret = uidvalidity_next(m, &uv)) != MBOX_OK)
		return (ret);
	/* A subscription kept when the name was deleted applies again. */
	if ((ret = mbox_db_exec(m, "folder create", "INSERT INTO folders (name,"
	    " special, subscribed, uidvalidity, uidnext, highestmodseq)"
	    " VALUES (?1, ?2, ?3 OR EXISTS (SELECT 1 FROM subscriptions"
	    " WHERE name = ?1), ?4, 1, 1)", "tiii", name, (int64_t)special,
	    (int64_t)(subscribed ? 1 : 0), (int64_t)uv)) != MBOX_OK)
		return (ret);
	return (mbox_db_exec(m, "folder create", "DELETE FROM subscriptions"
	    " WHERE name = ?1", "t", name));
}

/*
 * Kept subscriptions of names that are folders again (after a RENAME
 * onto them): the folders are subscribed, the names leave the table.
 */
static int
subscriptions_claim(struct mbox *m)
{
	int	 ret;

	if ((ret = mbox_db_exec(m, "subscriptions", "UPDATE folders SET"
	    " subscribed = 1 WHERE name IN (SELECT name FROM subscriptions)",
	    "")) != MBOX_OK)
		return (ret);
	return (mbox_db_exec(m, "subscriptions", "DELETE FROM subscriptions"
	    " WHERE name IN (SELECT name FROM folders)", ""));
}

/* Fill f from a row of SQL_FOLDER_AGG. */
static int
folder_fill(sqlite3_stmt *st, struct mbox_folder *f)
{
	const unsigned char	*name;

	memset(f, 0, sizeof(*f));
	f->info.id = sqlite3_column_int64(st, 0);
	if ((name = sqlite3_column_text(st, 1)) == NULL ||
	    strlcpy(f->name, (const char *)name, sizeof(f->name)) >=
	    sizeof(f->name))
		return (MBOX_EIO);
	f->info.special = (uint32_t)sqlite3_column_int64(st, 2);
	f->info.subscribed = sqlite3_column_int64(st, 3) != 0;
	f->info.uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
	f->info.uidnext = (uint32_t)sqlite3_column_int64(st, 5);
	f->info.highestmodseq = (uint64_t)sqlite3_column_int64(st, 6);
	f->info.exists = (uint32_t)sqlite3_column_int64(st, 7);
	f->info.unseen = (uint32_t)sqlite3_column_int64(st, 8);
	f->info.deleted = (uint32_t)sqlite3_column_int64(st, 9);
	f->info.size = (uint64_t)sqlite3_column_int64(st, 10);
	return (MBOX_OK);
}

/* How many ancestors of name do not exist yet. */
static int
parents_missing(struct mbox *m, const char *name, size_t *count)
{
	char	 buf[MBOX_NAME_MAX];
	size_t	 i;
	int	 ret;

	*count = 0;
	if (strlcpy(buf, name, sizeof(buf)) >= sizeof(buf))
		return (MBOX_EINVAL);
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] != MBOX_DELIM)
			continue;
		buf[i] = '\0';
		ret = folder_exists(m, buf);
		buf[i] = MBOX_DELIM;
		if (ret == MBOX_ENOTFOUND)
			(*count)++;
		else if (ret != MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

/* Create the missing ancestors of name, as IMAP CREATE does. */
static int
parents_create(struct mbox *m, const char *name)
{
	char	 buf[MBOX_NAME_MAX];
	size_t	 i;
	int	 ret;

	if (strlcpy(buf, name, sizeof(buf)) >= sizeof(buf))
		return (MBOX_EINVAL);
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] != MBOX_DELIM)
			continue;
		buf[i] = '\0';
		ret = folder_exists(m, buf);
		if (ret == MBOX_ENOTFOUND)
			ret = mbox_folder_insert(m, buf, SPECIAL_NONE, 0);
		buf[i] = MBOX_DELIM;
		if (ret != MBOX_OK)
			return (ret);
	}
	return (MBOX_OK);
}

/*
 * Inside a write transaction: create name and its missing parents,
 * within the folder limit.  MBOX_EEXISTS if name exists.
 */
static int
create_path(struct mbox *m, const char *name, uint32_t special)
{
	int64_t	 count;
	size_t	 missing;
	int	 ret;

	if ((ret = folder_exists(m, name)) == MBOX_OK)
		return (MBOX_EEXISTS);
	if (ret != MBOX_ENOTFOUND)
		return (ret);
	if ((ret = parents_missing(m, name, &missing)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_db_int(m, "folder create", &count,
	    "SELECT count(*) FROM folders", "")) != MBOX_OK)
		return (ret);
	if ((uint64_t)count + missing + 1 > MBOX_FOLDERS_MAX)
		return (MBOX_ELIMIT);
	if ((ret = parents_create(m, name)) != MBOX_OK)
		return (ret);
	return (mbox_folder_insert(m, name, special, 0));
}

int
mbox_folder_maxuid(struct mbox *m, int64_t fid, uint32_t *maxuid)
{
	int64_t	 v;
	int	 ret;

	if ((ret = mbox_db_int(m, "maxuid", &v, "SELECT coalesce(max(uid), 0)"
	    " FROM messages WHERE folder_id = ?1", "i", fid)) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	*maxuid = (uint32_t)v;
	return (MBOX_OK);
}

int
mbox_folder_count(struct mbox *m, int64_t fid, uint32_t *count)
{
	int64_t	 v;
	int	 ret;

	if ((ret = mbox_db_int(m, "count", &v, "SELECT count(*) FROM messages"
	    " WHERE folder_id = ?1", "i", fid)) != MBOX_OK)
		return (ret == MBOX_ENOTFOUND ? MBOX_EIO : ret);
	*count = (uint32_t)v;
	return (MBOX_OK);
}

int
mbox_folder_list(struct mbox *m, mbox_folder_cb cb, void *arg)
{
	struct mbox_folder	 f;
	const unsigned char	*name;
	sqlite3_stmt		*st;
	int			 rc, ret;

	if (m == NULL || cb == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_db_prepare(m, "folder list", SQL_FOLDER_AGG
	    "GROUP BY f.id ORDER BY f.name", &st)) != MBOX_OK) {
		mbox_tx_rollback(m);
		return (ret);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = folder_fill(st, &f)) != MBOX_OK) {
			log_warnx("mbox: folder list: bad row");
			break;
		}
		if (cb(arg, &f) != 0)
			break;
	}
	if (ret == MBOX_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = mbox_db_fail(m, "folder list", rc);
	sqlite3_finalize(st);
	st = NULL;
	/* Then the subscriptions kept of names that are no folder. */
	if (ret == MBOX_OK && rc == SQLITE_DONE &&
	    (ret = mbox_db_prepare(m, "folder list", "SELECT name FROM"
	    " subscriptions ORDER BY name", &st)) == MBOX_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			memset(&f, 0, sizeof(f));
			f.info.subscribed = MBOX_SUBSCRIBED_NONEXISTENT;
			if ((name = sqlite3_column_text(st, 0)) == NULL ||
			    strlcpy(f.name, (const char *)name,
			    sizeof(f.name)) >= sizeof(f.name)) {
				log_warnx("mbox: folder list: bad row");
				ret = MBOX_EIO;
				break;
			}
			if (cb(arg, &f) != 0)
				break;
		}
		if (ret == MBOX_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
			ret = mbox_db_fail(m, "folder list", rc);
	}
	sqlite3_finalize(st);
	if (ret != MBOX_OK) {
		mbox_tx_rollback(m);
		return (ret);
	}
	return (mbox_tx_end(m));
}

int
mbox_folder_get(struct mbox *m, const char *name, struct mbox_folder *f)
{
	char		 nm[MBOX_NAME_MAX];
	sqlite3_stmt	*st;
	int		 rc, ret;

	if (m == NULL || f == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_db_prepare(m, "folder get", SQL_FOLDER_AGG
	    "WHERE f.name = ?1 GROUP BY f.id", &st)) != MBOX_OK)
		return (ret);
	if ((rc = sqlite3_bind_text(st, 1, nm, -1, SQLITE_STATIC)) !=
	    SQLITE_OK)
		ret = mbox_db_fail(m, "folder get", rc);
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((ret = folder_fill(st, f)) != MBOX_OK)
			log_warnx("mbox: folder get: bad row");
	} else if (rc == SQLITE_DONE)
		ret = MBOX_ENOTFOUND;
	else
		ret = mbox_db_fail(m, "folder get", rc);
	sqlite3_finalize(st);
	return (ret);
}

int
mbox_folder_create(struct mbox *m, const char *name, uint32_t special)
{
	char	 nm[MBOX_NAME_MAX];
	int	 ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if (special > SPECIAL_ARCHIVE || special == SPECIAL_INBOX)
		return (MBOX_EINVAL);
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = create_path(m, nm, special)) != MBOX_OK) {
		mbox_tx_rollback(m);
		return (ret);
	}
	return (mbox_tx_commit(m));
}

int
mbox_folder_delete(struct mbox *m, const char *name)
{
	char		 nm[MBOX_NAME_MAX], hi[MBOX_NAME_MAX + 1];
	struct mbox_folder_info	 f;
	int64_t		 v;
	int		 ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if (strcmp(nm, "INBOX") == 0)
		return (MBOX_EINVAL);
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK)
		goto fail;
	/* Children sort in [name "/", name "0"): '0' follows '/'. */
	(void)snprintf(hi, sizeof(hi), "%s0", nm);
	if ((ret = mbox_db_int(m, "folder delete", &v, "SELECT 1 FROM folders"
	    " WHERE name > ?1 || '/' AND name < ?2 LIMIT 1", "tt", nm, hi)) ==
	    MBOX_OK) {
		ret = MBOX_EINVAL;
		goto fail;
	}
	if (ret != MBOX_ENOTFOUND)
		goto fail;
	/* RFC 3501 6.3.6: the subscription is not removed. */
	if ((ret = mbox_db_exec(m, "folder delete", "INSERT OR IGNORE INTO"
	    " subscriptions (name) SELECT name FROM folders WHERE id = ?1"
	    " AND subscribed != 0", "i", f.id)) != MBOX_OK ||
	    (ret = mbox_db_exec(m, "folder delete", "DELETE FROM messages"
	    " WHERE folder_id = ?1", "i", f.id)) != MBOX_OK ||
	    (ret = mbox_db_exec(m, "folder delete", "DELETE FROM expunged"
	    " WHERE folder_id = ?1", "i", f.id)) != MBOX_OK ||
	    (ret = mbox_db_exec(m, "folder delete", "DELETE FROM folders"
	    " WHERE id = ?1", "i", f.id)) != MBOX_OK)
		goto fail;
	return (mbox_tx_commit(m));
 fail:
	mbox_tx_rollback(m);
	return (ret);
}

int
mbox_folder_rename(struct mbox *m, const char *oldname, const char *newname)
{
	char			 on[MBOX_NAME_MAX], nn[MBOX_NAME_MAX];
	char			 hi[MBOX_NAME_MAX + 1];
	struct mbox_folder_info	 src, dst;
	struct uidvec		 pairs = { NULL, 0, 0 };
	struct mbox_range	 all;
	sqlite3_stmt		*st = NULL;
	int64_t			 maxlen, maxdepth, count;
	size_t			 olen, nlen, odepth, ndepth, i, missing;
	int			 rc, ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(oldname, on)) != MBOX_OK ||
	    (ret = mbox_name_norm(newname, nn)) != MBOX_OK)
		return (ret);
	olen = strlen(on);
	nlen = strlen(nn);
	if (strcmp(on, nn) == 0)
		return (MBOX_EEXISTS);
	/* Not beneath itself. */
	if (nlen > olen && strncmp(nn, on, olen) == 0 &&
	    nn[olen] == MBOX_DELIM)
		return (MBOX_EINVAL);
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, on, &src)) != MBOX_OK)
		goto fail;

	if (strcmp(on, "INBOX") == 0) {
		/*
		 * RFC 9051 6.3.6: renaming INBOX moves its messages to a
		 * new folder and leaves INBOX (and its children) alone.
		 */
		if ((ret = create_path(m, nn, SPECIAL_NONE)) != MBOX_OK ||
		    (ret = mbox_folder_find(m, nn, &dst)) != MBOX_OK)
			goto fail;
		if ((ret = mbox_folder_maxuid(m, src.id, &all.last)) != MBOX_OK)
			goto fail;
		all.first = 1;
		if (all.last > 0 && (ret = mbox_copy_locked(m, &src, &dst, &all,
		    1, 1, &pairs)) != MBOX_OK)
			goto fail;
		free(pairs.v);
		return (mbox_tx_commit(m));
	}

	if ((ret = folder_exists(m, nn)) == MBOX_OK) {
		ret = MBOX_EEXISTS;
		goto fail;
	}
	if (ret != MBOX_ENOTFOUND)
		goto fail;
	/* The children must still fit the limits under the new name. */
	(void)snprintf(hi, sizeof(hi), "%s0", on);
	if ((ret = mbox_db_prepare(m, "folder rename", "SELECT"
	    " coalesce(max(length(CAST(name AS BLOB))), 0),"
	    " coalesce(max(length(name) - length(replace(name, '/', ''))), 0)"
	    " FROM folders WHERE name > ?1 || '/' AND name < ?2", &st)) !=
	    MBOX_OK)
		goto fail;
	if ((rc = sqlite3_bind_text(st, 1, on, -1, SQLITE_STATIC)) !=
	    SQLITE_OK ||
	    (rc = sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC)) !=
	    SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW) {
		ret = mbox_db_fail(m, "folder rename", rc);
		goto fail;
	}
	maxlen = sqlite3_column_int64(st, 0);
	maxdepth = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0, odepth = 0; i < olen; i++)
		odepth += on[i] == MBOX_DELIM;
	for (i = 0, ndepth = 0; i < nlen; i++)
		ndepth += nn[i] == MBOX_DELIM;
	if (maxlen > 0 && ((size_t)maxlen - olen + nlen >= MBOX_NAME_MAX ||
	    (size_t)maxdepth - odepth + ndepth + 1 > MBOX_DEPTH_MAX)) {
		ret = MBOX_EINVAL;
		goto fail;
	}
	if ((ret = parents_missing(m, nn, &missing)) != MBOX_OK ||
	    (ret = mbox_db_int(m, "folder rename", &count,
	    "SELECT count(*) FROM folders", "")) != MBOX_OK)
		goto fail;
	if ((uint64_t)count + missing > MBOX_FOLDERS_MAX) {
		ret = MBOX_ELIMIT;
		goto fail;
	}
	if ((ret = parents_create(m, nn)) != MBOX_OK)
		goto fail;
	/* UIDVALIDITY moves with the messages: uids stay valid. */
	if ((ret = mbox_db_exec(m, "folder rename", "UPDATE folders SET"
	    " name = ?1 || CAST(substr(CAST(name AS BLOB), ?2) AS TEXT)"
	    " WHERE name > ?3 || '/' AND name < ?4", "titt", nn,
	    (int64_t)olen + 1, on, hi)) != MBOX_OK ||
	    (ret = mbox_db_exec(m, "folder rename", "UPDATE folders"
	    " SET name = ?1 WHERE id = ?2", "ti", nn, src.id)) != MBOX_OK ||
	    (ret = subscriptions_claim(m)) != MBOX_OK)
		goto fail;
	return (mbox_tx_commit(m));
 fail:
	sqlite3_finalize(st);
	free(pairs.v);
	mbox_tx_rollback(m);
	return (ret);
}

int
mbox_folder_subscribe(struct mbox *m, const char *name, int on)
{
	char	 nm[MBOX_NAME_MAX];
	int	 ret;

	if (m == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(name, nm)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_tx_begin(m, 1)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_db_exec(m, "subscribe", "UPDATE folders"
	    " SET subscribed = ?1 WHERE name = ?2 AND subscribed != ?1", "it",
	    (int64_t)(on ? 1 : 0), nm)) != MBOX_OK)
		goto fail;
	if (sqlite3_changes(m->db) > 0)
		return (mbox_tx_commit(m));
	/* A subscription kept after a DELETE goes as any other. */
	if (!on) {
		if ((ret = mbox_db_exec(m, "subscribe", "DELETE FROM"
		    " subscriptions WHERE name = ?1", "t", nm)) != MBOX_OK)
			goto fail;
		if (sqlite3_changes(m->db) > 0)
			return (mbox_tx_commit(m));
	}
	/* Nothing changed: it is already so, or there is no such folder. */
	ret = folder_exists(m, nm);
 fail:
	mbox_tx_rollback(m);
	return (ret);
}

/*
 * \Recent (RFC 3501 2.3.2): the folder's recent mark, the highest uid a
 * session has been given as recent, kept in meta as "recent:<id>" (the
 * folder ids are never reused; a mailbox of before has none: 0).  With
 * claim, the mark moves up to upto, at most the folder's last uid, and
 * the messages above *old up to it are the caller's.  *above is how many
 * messages are above the old mark: STATUS (RECENT).
 */
int
mbox_recent(struct mbox *m, const char *folder, uint32_t upto, int claim,
    uint32_t *old, uint32_t *above)
{
	char			 nm[MBOX_NAME_MAX], key[32];
	struct mbox_folder_info	 f;
	int64_t			 v;
	int			 ret;

	if (m == NULL || old == NULL)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_tx_begin(m, claim)) != MBOX_OK)
		return (ret);
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK)
		goto fail;
	(void)snprintf(key, sizeof(key), "recent:%lld", (long long)f.id);
	ret = mbox_db_int(m, "recent", &v, "SELECT value FROM meta"
	    " WHERE key = ?1", "t", key);
	if (ret == MBOX_ENOTFOUND) {
		v = 0;
		ret = MBOX_OK;
	}
	if (ret != MBOX_OK)
		goto fail;
	*old = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	if (above != NULL) {
		/* The primary key (folder_id, uid) makes this a range. */
		if ((ret = mbox_db_int(m, "recent", &v, "SELECT count(*)"
		    " FROM messages WHERE folder_id = ?1 AND uid > ?2", "ii",
		    f.id, (int64_t)*old)) != MBOX_OK)
			goto fail;
		*above = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)v;
	}
	if (upto >= f.uidnext)
		upto = f.uidnext - 1;
	if (!claim || upto <= *old)
		return (mbox_tx_end(m));
	if ((ret = mbox_db_exec(m, "recent", "INSERT OR REPLACE INTO meta"
	    " (key, value) VALUES (?1, ?2)", "ti", key, (int64_t)upto)) !=
	    MBOX_OK)
		goto fail;
	return (mbox_tx_commit(m));
 fail:
	mbox_tx_rollback(m);
	return (ret);
}
