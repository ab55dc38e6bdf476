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
 * SORT and THREAD of a mailbox (vault_mbox_db.c): the search program
 * selects, as for SEARCH; then one read of the folder's rows gives
 * each selected message's sort keys from what was stored at delivery:
 * the dates and size, the decoded subject, the first address of From,
 * To and Cc from the stored ENVELOPE, the Message-ID, and for
 * REFERENCES the References (else In-Reply-To) field of the stored
 * header text.  vault_sort.c orders them.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"
#include "vault_sort.h"

#define ADDR_MAX	256	/* octets of an addr-mailbox we compare */
#define ENV_NEST_MAX	8	/* an ENVELOPE nests 3 deep */

struct uidset {
	uint32_t	*uids;
	size_t		 n;
	size_t		 cap;
	int		 oom;
};

struct envp {
	const char	*p;
	const char	*e;
};

static int	 collect_cb(void *, uint32_t);
static void	 env_ws(struct envp *);
static int	 env_nstring(struct envp *, char *, size_t);
static int	 env_skip(struct envp *);
static char	*env_mailbox(const char *, size_t, int);
static int	 hdr_field(const char *, size_t, const char *, const char **,
		    size_t *);
static int	 msg_refs(struct sort_msg *, const char *, size_t);
static int	 uid_cmp(const void *, const void *);

static int
collect_cb(void *arg, uint32_t uid)
{
	struct uidset	*u = arg;
	uint32_t	*p;
	size_t		 ncap;

	if (u->n == u->cap) {
		ncap = u->cap == 0 ? 256 : u->cap * 2;
		if ((p = reallocarray(u->uids, ncap, sizeof(*p))) == NULL) {
			u->oom = 1;
			return (-1);
		}
		u->uids = p;
		u->cap = ncap;
	}
	u->uids[u->n++] = uid;
	return (0);
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t	 x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return ((x > y) - (x < y));
}

static void
env_ws(struct envp *v)
{
	while (v->p < v->e && *v->p == ' ')
		v->p++;
}

/*
 * An nstring of the stored ENVELOPE (the front wrote it; it is still
 * read with every length checked): NIL, a quoted string or a literal.
 * Its first size - 1 octets go to out, NUL-terminated.  -1 if
 * malformed.
 */
static int
env_nstring(struct envp *v, char *out, size_t size)
{
	const char	*q;
	size_t		 n = 0, len;
	char		*end;
	unsigned long	 l;

	env_ws(v);
	out[0] = '\0';
	if (v->e - v->p >= 3 && strncasecmp(v->p, "NIL", 3) == 0) {
		v->p += 3;
		return (0);
	}
	if (v->p < v->e && *v->p == '"') {
		for (q = v->p + 1; q < v->e && *q != '"'; q++) {
			if (*q == '\\' && q + 1 < v->e)
				q++;
			if (n + 1 < size)
				out[n++] = *q;
		}
		if (q >= v->e)
			return (-1);
		out[n] = '\0';
		v->p = q + 1;
		return (0);
	}
	if (v->p < v->e && *v->p == '{') {
		/* {n}CRLF then n octets; the stored text ends in a NUL. */
		l = strtoul(v->p + 1, &end, 10);
		if (end >= v->e || *end != '}' || v->e - end < 3 ||
		    end[1] != '\r' || end[2] != '\n')
			return (-1);
		q = end + 3;
		if (l > (unsigned long)(v->e - q))
			return (-1);
		len = l < size ? l : size - 1;
		memcpy(out, q, len);
		out[len] = '\0';
		v->p = q + l;
		return (0);
	}
	return (-1);
}

/* Skip one item: an nstring or a parenthesised list. */
static int
env_skip(struct envp *v)
{
	char	 tmp[2];
	int	 depth = 0;

	env_ws(v);
	if (v->p >= v->e || *v->p != '(')
		return (env_nstring(v, tmp, sizeof(tmp)));
	for (;;) {
		env_ws(v);
		if (v->p >= v->e)
			return (-1);
		if (*v->p == '(') {
			if (++depth > ENV_NEST_MAX)
				return (-1);
			v->p++;
		} else if (*v->p == ')') {
			v->p++;
			if (--depth == 0)
				return (0);
		} else if (env_nstring(v, tmp, sizeof(tmp)) == -1)
			return (-1);
	}
}

/*
 * The addr-mailbox of the first address of ENVELOPE field k (2 from,
 * 5 to, 6 cc), casemapped; "" if none or malformed.
 */
static char *
env_mailbox(const char *env, size_t len, int k)
{
	struct envp	 v;
	char		 name[2], mbox[ADDR_MAX];
	int		 i;

	mbox[0] = '\0';
	v.p = env;
	v.e = env + len;
	env_ws(&v);
	if (v.p >= v.e || *v.p++ != '(')
		goto done;
	for (i = 0; i < k; i++)
		if (env_skip(&v) == -1)
			goto done;
	env_ws(&v);
	/* "((" name adl mailbox host ")" ... ")" */
	if (v.e - v.p < 2 || v.p[0] != '(' || v.p[1] != '(')
		goto done;
	v.p += 2;
	if (env_nstring(&v, name, sizeof(name)) == -1 ||
	    env_nstring(&v, name, sizeof(name)) == -1 ||
	    env_nstring(&v, mbox, sizeof(mbox)) == -1)
		mbox[0] = '\0';
 done:
	for (i = 0; mbox[i] != '\0'; i++)
		if (mbox[i] >= 'a' && mbox[i] <= 'z')
			mbox[i] = mbox[i] - 'a' + 'A';
	return (strdup(mbox));
}

/*
 * The value of the first field called name in the stored header text
 * ("Name: value\n" lines, decoded, one per field); 0 if none.
 */
static int
hdr_field(const char *h, size_t hl, const char *name, const char **vp,
    size_t *vl)
{
	const char	*p = h, *e = h + hl, *nl;
	size_t		 nlen = strlen(name);

	while (p < e) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if ((size_t)(nl - p) > nlen && p[nlen] == ':' &&
		    strncasecmp(p, name, nlen) == 0) {
			*vp = p + nlen + 1;
			*vl = (size_t)(nl - *vp);
			return (1);
		}
		p = nl + 1;
	}
	return (0);
}

/*
 * The parents a message names: its References ids (the last
 * THREAD_REFS_MAX), else the first In-Reply-To id.
 */
static int
msg_refs(struct sort_msg *m, const char *h, size_t hl)
{
	const char	*v;
	size_t		 vl;
	int		 n = 0;

	if ((m->refs = calloc(THREAD_REFS_MAX, sizeof(*m->refs))) == NULL)
		return (-1);
	if (hdr_field(h, hl, "References", &v, &vl) &&
	    (n = sort_msg_ids(v, vl, m->refs, THREAD_REFS_MAX)) == -1)
		return (-1);
	if (n == 0 && hdr_field(h, hl, "In-Reply-To", &v, &vl)) {
		/* Only the first id: the last of one is itself. */
		if ((n = sort_msg_ids(v, vl, m->refs, THREAD_REFS_MAX)) == -1)
			return (-1);
		while (n > 1)
			free(m->refs[--n]);
	}
	m->nrefs = (size_t)n;
	return (0);
}

int
mbox_sort(struct mbox *m, const char *folder,
    const struct search_program *prog, const struct mbox_args_sort *a,
    mbox_uid_cb uid_cb, mbox_uidpair_cb pair_cb, void *arg)
{
	char			 nm[MBOX_NAME_MAX];
	struct mbox_folder_info	 f;
	struct uidset		 u;
	struct sort_msg		*msgs = NULL, *sm;
	sqlite3_stmt		*st = NULL;
	const char		*s, *ids[1];
	size_t			 n = 0, i, len;
	int64_t			 sent;
	uint32_t		 uid;
	int			 rc, ret, thread = a->thread != 0;

	memset(&u, 0, sizeof(u));
	if (sort_args_check(a, thread) == -1)
		return (MBOX_EINVAL);
	if ((ret = mbox_name_norm(folder, nm)) != MBOX_OK)
		return (ret);
	/*
	 * The selection, in its own read; vaultd runs one request at a
	 * time, so nothing changes before the read below.
	 */
	if ((ret = mbox_search(m, folder, prog, collect_cb, &u)) != MBOX_OK)
		goto out;
	if (u.oom) {
		log_warnx("mbox: sort: out of memory");
		ret = MBOX_EIO;
		goto out;
	}
	if (u.n == 0)
		goto out;
	qsort(u.uids, u.n, sizeof(*u.uids), uid_cmp);
	if ((msgs = calloc(u.n, sizeof(*msgs))) == NULL) {
		ret = MBOX_EIO;
		goto out;
	}
	if ((ret = mbox_tx_begin(m, 0)) != MBOX_OK)
		goto out;
	if ((ret = mbox_folder_find(m, nm, &f)) != MBOX_OK)
		goto fail;
	if ((ret = mbox_db_prepare(m, "sort", "SELECT m.uid, m.internaldate,"
	    " m.sentdate, m.size, c.subject, c.envelope, c.messageid,"
	    " CASE WHEN ?2 THEN c.headers ELSE '' END"
	    " FROM messages m JOIN content c ON c.id = m.content_id"
	    " WHERE m.folder_id = ?1 ORDER BY m.uid", &st)) != MBOX_OK)
		goto fail;
	if ((rc = sqlite3_bind_int64(st, 1, f.id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, a->thread == THREAD_REFERENCES)) !=
	    SQLITE_OK) {
		ret = mbox_db_fail(m, "sort", rc);
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uid = (uint32_t)sqlite3_column_int64(st, 0);
		if (n >= u.n || bsearch(&uid, u.uids, u.n, sizeof(*u.uids),
		    uid_cmp) == NULL)
			continue;
		sm = &msgs[n++];
		sm->uid = uid;
		sm->arrival = sqlite3_column_int64(st, 1);
		sent = sqlite3_column_int64(st, 2);
		/* No Date: the internal date (RFC 5256 2.2). */
		sm->date = sent != 0 ? sent : sm->arrival;
		sm->size = (uint64_t)sqlite3_column_int64(st, 3);
		s = (const char *)sqlite3_column_text(st, 4);
		len = (size_t)sqlite3_column_bytes(st, 4);
		if ((sm->subject = sort_base_subject(s != NULL ? s : "",
		    s != NULL ? len : 0, &sm->reply)) == NULL)
			goto oom;
		s = (const char *)sqlite3_column_text(st, 5);
		len = (size_t)sqlite3_column_bytes(st, 5);
		if (s == NULL) {
			s = "";
			len = 0;
		}
		if ((sm->from = env_mailbox(s, len, 2)) == NULL ||
		    (sm->to = env_mailbox(s, len, 5)) == NULL ||
		    (sm->cc = env_mailbox(s, len, 6)) == NULL)
			goto oom;
		if (!thread)
			continue;
		s = (const char *)sqlite3_column_text(st, 6);
		len = (size_t)sqlite3_column_bytes(st, 6);
		if (s != NULL && sort_msg_ids(s, len, (char **)ids, 1) == 1)
			sm->msgid = (char *)ids[0];
		s = (const char *)sqlite3_column_text(st, 7);
		len = (size_t)sqlite3_column_bytes(st, 7);
		if (a->thread == THREAD_REFERENCES &&
		    msg_refs(sm, s != NULL ? s : "", s != NULL ? len : 0) == -1)
			goto oom;
	}
	if (rc != SQLITE_DONE) {
		ret = mbox_db_fail(m, "sort", rc);
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((ret = mbox_tx_end(m)) != MBOX_OK)
		goto out;

	if (!thread) {
		sort_msgs(msgs, n, a->keys, a->nkeys);
		for (i = 0; i < n; i++)
			if (uid_cb(arg, msgs[i].uid) != 0)
				break;
	} else if (thread_msgs(msgs, n, (int)a->thread, pair_cb, arg) == -1) {
		log_warnx("mbox: thread: out of memory");
		ret = MBOX_EIO;
	}
	goto out;
 oom:
	log_warnx("mbox: sort: out of memory");
	ret = MBOX_EIO;
 fail:
	sqlite3_finalize(st);
	mbox_tx_rollback(m);
 out:
	for (i = 0; i < n; i++)
		sort_msg_free(&msgs[i]);
	free(msgs);
	free(u.uids);
	return (ret);
}
