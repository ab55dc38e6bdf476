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
 * The IMAP commands on mailboxes as a whole (RFC 9051, RFC 3501):
 * CREATE (with RFC 6154 USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
 * LIST (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154
 * SPECIAL-USE, RFC 3348 CHILDREN), LSUB, STATUS (with RFC 8438 SIZE,
 * RFC 7162 HIGHESTMODSEQ, RFC 7889 APPENDLIMIT), NAMESPACE and
 * the read side of RFC 9208 QUOTA.
 *
 * The vault keeps one flat list of folders, UTF-8 names with "/" as the
 * delimiter, every parent a real folder; it knows nothing of patterns.
 * LIST and LSUB therefore fetch the whole list and do the matching
 * here.  A pattern comes from the client, and so does (indirectly) every
 * folder name: matching runs as a bit-parallel automaton whose cost is
 * bounded by name length times pattern length / 64, never by
 * backtracking.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imap_local.h"
#include "log.h"
#include "mime.h"

/* vaultd's enum mbox_special (vaultd/vault_mbox.h), as the wire has it. */
#define IMAP_SPECIAL_NONE	0
#define IMAP_SPECIAL_INBOX	1
#define IMAP_SPECIAL_DRAFTS	2
#define IMAP_SPECIAL_SENT	3
#define IMAP_SPECIAL_JUNK	4
#define IMAP_SPECIAL_TRASH	5
#define IMAP_SPECIAL_ARCHIVE	6

#define MBOX_DELIM_CHAR		'/'

/* A pattern: reference and pattern joined, in stored (UTF-8) form. */
#define LIST_PATTERN_MAX	(2 * MBOX_NAME_MAX)
#define LIST_PATTERNS_MAX	32	/* in one LIST (RFC 5258 patterns) */
/* Matching work for one LIST, in automaton word steps (~0.3 s). */
#define LIST_WORK_MAX		(128ULL * 1024 * 1024)
#define LIST_WORDS		((LIST_PATTERN_MAX + 64) / 64 + 1)

/* LIST selection and return options. */
#define LSEL_SUBSCRIBED		0x01
#define LSEL_SPECIALUSE		0x02
#define LSEL_RECURSIVE		0x04
#define LRET_SUBSCRIBED		0x01
#define LRET_STATUS		0x02

/* What LIST learns about a folder from the others. */
#define LF_MATCH		0x01	/* matches a pattern */
#define LF_CHILDREN		0x02	/* has descendants */
#define LF_SATDESC		0x04	/* a descendant meets the selection */
#define LF_SUBNOMATCH		0x08	/* a subscribed descendant that
					 * matches no pattern (LSUB) */

enum status_item {
	ST_MESSAGES,
	ST_UIDNEXT,
	ST_UIDVALIDITY,
	ST_UNSEEN,
	ST_DELETED,
	ST_SIZE,
	ST_HIGHESTMODSEQ,
	ST_RECENT,
	ST_APPENDLIMIT
};
#define STATUS_ITEMS_MAX	16

static const struct {
	const char		*name;
	enum status_item	 item;
} status_names[] = {
	{ "MESSAGES",		ST_MESSAGES },
	{ "UIDNEXT",		ST_UIDNEXT },
	{ "UIDVALIDITY",	ST_UIDVALIDITY },
	{ "UNSEEN",		ST_UNSEEN },
	{ "DELETED",		ST_DELETED },
	{ "SIZE",		ST_SIZE },
	{ "HIGHESTMODSEQ",	ST_HIGHESTMODSEQ },
	{ "RECENT",		ST_RECENT },
	{ "APPENDLIMIT",	ST_APPENDLIMIT }
};

static const struct {
	const char	*attr;
	uint32_t	 special;
} special_names[] = {
	{ "\\Drafts",	IMAP_SPECIAL_DRAFTS },
	{ "\\Sent",	IMAP_SPECIAL_SENT },
	{ "\\Junk",	IMAP_SPECIAL_JUNK },
	{ "\\Trash",	IMAP_SPECIAL_TRASH },
	{ "\\Archive",	IMAP_SPECIAL_ARCHIVE }
};

/*
 * A compiled pattern: one token per literal octet or wildcard (runs of
 * wildcards made one: "*" if the run holds one, else "%").  The
 * automaton's state i means "the first i tokens matched"; state ntok
 * accepts.  Sets of states are bit vectors of nw words.
 */
struct lpat {
	size_t		 ntok;
	size_t		 nw;
	int		 never;		/* no folder name can match */
	unsigned char	 row[256];	/* octet -> row of lit, 0: none */
	uint64_t	 star[LIST_WORDS];
	uint64_t	 pct[LIST_WORDS];
	uint64_t	*lit;		/* rows of nw words; row 0 empty */
};

/*
 * A folder as LIST keeps it: the shared record's ids and counts, with
 * the name on the heap (an account may hold 10,000 folders, vaultd's
 * MBOX_FOLDERS_MAX: inline names would make a LIST megabytes).
 */
struct lfolder {
	char			*name;
	struct mbox_folder_info	 info;
	unsigned int		 mark;		/* LF_* */
};

struct list_state {
	int		 lsub;
	unsigned int	 sel;		/* LSEL_* */
	unsigned int	 ret;		/* LRET_* */
	unsigned char	 items[STATUS_ITEMS_MAX];
	size_t		 nitems;
	struct lpat	*pats[LIST_PATTERNS_MAX];
	size_t		 npats;
	struct lfolder	*f;
	size_t		 n;
	size_t		 next;		/* the next to answer */
};

/* STATUS with RECENT: the items and the folder, while RECENT is asked. */
struct status_state {
	unsigned char		 items[STATUS_ITEMS_MAX + 1];
	struct mbox_folder	 f;
};

struct quota_state {
	char		 name[MBOX_NAME_MAX];
};

static struct imap *imap_of(struct session *);
static void	*state_of(struct session *);
static int	 mailbox_in(struct session *, const struct imap_arg *, char *,
		    size_t, int);
static const char *special_attr(uint32_t);
static int	 status_items_parse(const struct imap_arg *, unsigned char *,
		    size_t *);
static void	 status_write(struct session *, const char *,
		    const struct mbox_folder_info *, uint32_t,
		    const unsigned char *, size_t);
static void	 status_recent(struct session *, struct mbox_result *);
static int	 simple_request(struct session *, uint32_t, const char *,
		    const char *, uint32_t, uint32_t, imap_result_cb);
static void	 simple_done(struct session *, struct mbox_result *,
		    const char *);
static void	 create_done(struct session *, struct mbox_result *);
static void	 delete_done(struct session *, struct mbox_result *);
static void	 rename_done(struct session *, struct mbox_result *);
static void	 subscribe_done(struct session *, struct mbox_result *);
static void	 unsubscribe_done(struct session *, struct mbox_result *);
static void	 subscription(struct session *, struct imap_arg *, size_t,
		    int);

static const char *list_string(const struct imap_arg *);
static int	 list_name(struct session *, const struct imap_arg *, char *,
		    size_t);
static struct lpat *lpat_compile(const char *);
static void	 lpat_free(struct lpat *);
static int	 lpat_match(const struct lpat *, const char *);
static int	 list_pattern_add(struct session *, struct list_state *,
		    const char *, const struct imap_arg *);
static void	 list_state_free(void *);
static int	 list_cmp(const void *, const void *);
static int	 list_key_cmp(const void *, const void *);
static int	 list_selected(const struct list_state *,
		    const struct lfolder *);
static int	 list_mark(struct list_state *);
static void	 list_result(struct session *, struct mbox_result *);
static void	 list_emit(struct session *);
static void	 list_start(struct session *);

static void	 status_result(struct session *, struct mbox_result *);
static void	 quotaroot_status(struct session *, struct mbox_result *);
static void	 quotaroot_usage(struct session *, struct mbox_result *);
static void	 getquota_usage(struct session *, struct mbox_result *);
static uint64_t	 kib(uint64_t);

static struct imap *
imap_of(struct session *s)
{
	return (s->data);
}

static void *
state_of(struct session *s)
{
	return (imap_of(s)->run.state_data);
}

/*
 * A mailbox name argument in stored form.  With strip, one trailing
 * delimiter is dropped first (RFC 9051 6.3.4: "foo/" creates "foo").
 */
static int
mailbox_in(struct session *s, const struct imap_arg *arg, char *out,
    size_t size, int strip)
{
	struct imap_arg	 copy;
	const char	*str;
	char		 buf[4 * MBOX_NAME_MAX];
	size_t		 len;

	if (!strip) {
		if (imap_name_in(s, arg, out, size) == -1 || *out == '\0')
			return (-1);
		return (0);
	}
	if ((str = imap_arg_astring(arg)) == NULL)
		return (-1);
	if ((len = strlcpy(buf, str, sizeof(buf))) >= sizeof(buf))
		return (-1);
	if (len > 0 && buf[len - 1] == MBOX_DELIM_CHAR)
		buf[--len] = '\0';
	if (len == 0)
		return (-1);
	memset(&copy, 0, sizeof(copy));
	copy.type = IMAP_ARG_QUOTED;
	copy.str = buf;
	copy.len = len;
	copy.fd = -1;
	if (imap_name_in(s, &copy, out, size) == -1 || *out == '\0')
		return (-1);
	return (0);
}

static const char *
special_attr(uint32_t special)
{
	size_t	 i;

	for (i = 0; i < sizeof(special_names) / sizeof(special_names[0]); i++)
		if (special_names[i].special == special)
			return (special_names[i].attr);
	return (NULL);
}

static uint64_t
kib(uint64_t octets)
{
	return (octets / 1024 + (octets % 1024 != 0));
}

/*
 * Simple operations: one request, one answer, "OK <what> completed".
 */
static int
simple_request(struct session *s, uint32_t op, const char *folder,
    const char *folder2, uint32_t special, uint32_t flags, imap_result_cb cb)
{
	struct mbox_req	 q;

	imap_req_init(s, &q, op);
	if (strlcpy(q.folder, folder, sizeof(q.folder)) >= sizeof(q.folder) ||
	    (folder2 != NULL && strlcpy(q.folder2, folder2,
	    sizeof(q.folder2)) >= sizeof(q.folder2))) {
		imap_bad(s, "Invalid mailbox name");
		return (-1);
	}
	/* The arguments share a union: set only the operation's own. */
	if (op == MBOX_OP_CREATE)
		q.create.special = special;
	else if (op == MBOX_OP_SUBSCRIBE)
		q.subscribe.on = flags;
	/* The answer may come before imap_vault() returns: nothing after. */
	return (imap_vault(s, &q, -1, 0, cb));
}

static void
simple_done(struct session *s, struct mbox_result *r, const char *what)
{
	if (r->status == MBOX_OK)
		imap_done(s, "OK %s completed", what);
	else
		imap_no_status(s, r->status, what);
}

static void
create_done(struct session *s, struct mbox_result *r)
{
	simple_done(s, r, "CREATE");
}

/* DELETE's state when it deletes the selected mailbox: a mark. */
static const char	 deleting_selected[] = "selected";

/*
 * Whether a (stored) name is the selected mailbox's, as the vault
 * compares them: INBOX and its children's first part in any case.
 */
static int
is_selected(struct session *s, const char *name)
{
	struct imap	*im = s->data;
	const char	*v;

	if (im->sel.view == NULL)
		return (0);
	v = im->sel.view->name;
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == MBOX_DELIM_CHAR) &&
	    strncasecmp(v, "INBOX", 5) == 0)
		return (strcmp(name + 5, v + 5) == 0);
	return (strcmp(name, v) == 0);
}

static void
delete_done(struct session *s, struct mbox_result *r)
{
	struct imap	*im = s->data;

	/* The vault refuses to delete a folder that has children. */
	if (r->status == MBOX_EINVAL) {
		imap_done(s, "NO [CANNOT] Delete the mailboxes inside it "
		    "first");
		return;
	}
	if (r->status == MBOX_OK && im->run.state_data == deleting_selected &&
	    im->sel.view != NULL) {
		/*
		 * The session's own mailbox: answer the DELETE and go
		 * back to the authenticated state, as after CLOSE without
		 * expunge (RFC 9051 6.3.4); [CLOSED] (7.1) tells the client
		 * that what follows no longer concerns the mailbox.
		 */
		imap_unselect(s);
		imap_printf(s, "* OK [CLOSED] The selected mailbox was "
		    "deleted\r\n");
	}
	simple_done(s, r, "DELETE");
}

static void
rename_done(struct session *s, struct mbox_result *r)
{
	simple_done(s, r, "RENAME");
}

static void
subscribe_done(struct session *s, struct mbox_result *r)
{
	simple_done(s, r, "SUBSCRIBE");
}

static void
unsubscribe_done(struct session *s, struct mbox_result *r)
{
	simple_done(s, r, "UNSUBSCRIBE");
}

/* CREATE mailbox [(USE (attr))] */
void
imap_cmd_create(struct session *s, struct imap_arg *args, size_t nargs)
{
	const struct imap_arg	*p, *use = NULL;
	char			 name[MBOX_NAME_MAX];
	uint32_t		 special = IMAP_SPECIAL_NONE;
	size_t			 i, j;

	if (nargs < 1 || nargs > 2 ||
	    (nargs == 2 && args[1].type != IMAP_ARG_LIST)) {
		imap_bad(s, "Syntax: CREATE mailbox [(USE (attribute))]");
		return;
	}
	if (nargs == 2) {
		/* RFC 4466 create-params: name [value] pairs. */
		p = args[1].list;
		for (i = 0; i < args[1].nlist; i++) {
			if (!imap_arg_is(&p[i], "USE") || use != NULL ||
			    i + 1 >= args[1].nlist ||
			    p[i + 1].type != IMAP_ARG_LIST) {
				imap_bad(s, "Unknown or malformed CREATE "
				    "parameter");
				return;
			}
			use = &p[++i];
		}
	}
	if (mailbox_in(s, &args[0], name, sizeof(name), 1) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	if (use != NULL) {
		for (i = 0; i < use->nlist; i++) {
			for (j = 0; j < sizeof(special_names) /
			    sizeof(special_names[0]); j++)
				if (imap_arg_is(&use->list[i],
				    special_names[j].attr))
					break;
			if (j == sizeof(special_names) /
			    sizeof(special_names[0])) {
				imap_done(s, "NO [USEATTR] Unsupported "
				    "special-use attribute");
				return;
			}
			if (special != IMAP_SPECIAL_NONE) {
				imap_done(s, "NO [USEATTR] One special-use "
				    "attribute per mailbox");
				return;
			}
			special = special_names[j].special;
		}
	}
	(void)simple_request(s, MBOX_OP_CREATE, name, NULL, special, 0,
	    create_done);
}

/* DELETE mailbox */
void
imap_cmd_delete(struct session *s, struct imap_arg *args, size_t nargs)
{
	char	 name[MBOX_NAME_MAX];

	if (nargs != 1) {
		imap_bad(s, "Syntax: DELETE mailbox");
		return;
	}
	if (mailbox_in(s, &args[0], name, sizeof(name), 0) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	if (strcasecmp(name, "INBOX") == 0) {
		imap_done(s, "NO [CANNOT] INBOX cannot be deleted");
		return;
	}
	if (is_selected(s, name))
		imap_set_state(s, (void *)deleting_selected, NULL);
	(void)simple_request(s, MBOX_OP_DELETE, name, NULL, 0, 0,
	    delete_done);
}

/* RENAME from to */
void
imap_cmd_rename(struct session *s, struct imap_arg *args, size_t nargs)
{
	char	 from[MBOX_NAME_MAX], to[MBOX_NAME_MAX];

	if (nargs != 2) {
		imap_bad(s, "Syntax: RENAME mailbox new-name");
		return;
	}
	if (mailbox_in(s, &args[0], from, sizeof(from), 0) == -1 ||
	    mailbox_in(s, &args[1], to, sizeof(to), 1) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	(void)simple_request(s, MBOX_OP_RENAME, from, to, 0, 0, rename_done);
}

static void
subscription(struct session *s, struct imap_arg *args, size_t nargs, int on)
{
	char	 name[MBOX_NAME_MAX];

	if (nargs != 1) {
		imap_bad(s, on ? "Syntax: SUBSCRIBE mailbox" :
		    "Syntax: UNSUBSCRIBE mailbox");
		return;
	}
	if (mailbox_in(s, &args[0], name, sizeof(name), 0) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	(void)simple_request(s, MBOX_OP_SUBSCRIBE, name, NULL, 0, on ? 1 : 0,
	    on ? subscribe_done : unsubscribe_done);
}

void
imap_cmd_subscribe(struct session *s, struct imap_arg *args, size_t nargs)
{
	subscription(s, args, nargs, 1);
}

void
imap_cmd_unsubscribe(struct session *s, struct imap_arg *args, size_t nargs)
{
	subscription(s, args, nargs, 0);
}

/* NAMESPACE: one personal namespace, no prefix (RFC 2342, RFC 9051). */
void
imap_cmd_namespace(struct session *s, struct imap_arg *args, size_t nargs)
{
	(void)args;
	if (nargs != 0) {
		imap_bad(s, "Syntax: NAMESPACE");
		return;
	}
	imap_printf(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	imap_done(s, "OK NAMESPACE completed");
}

/*
 * STATUS items, as a list "(MESSAGES UIDNEXT ...)": -1 for an unknown
 * item, an empty list or too many items.
 */
static int
status_items_parse(const struct imap_arg *list, unsigned char *items,
    size_t *n)
{
	size_t	 i, j;

	if (list->type != IMAP_ARG_LIST || list->nlist == 0 ||
	    list->nlist > STATUS_ITEMS_MAX)
		return (-1);
	for (i = 0; i < list->nlist; i++) {
		for (j = 0; j < sizeof(status_names) /
		    sizeof(status_names[0]); j++)
			if (imap_arg_is(&list->list[i], status_names[j].name))
				break;
		if (j == sizeof(status_names) / sizeof(status_names[0]))
			return (-1);
		items[i] = (unsigned char)status_names[j].item;
	}
	*n = list->nlist;
	return (0);
}

/* "* STATUS name (ITEM n ...)", the items in the order asked. */
static void
status_write(struct session *s, const char *name,
    const struct mbox_folder_info *f, uint32_t recent,
    const unsigned char *items, size_t n)
{
	const struct msg_front	*conf;
	size_t			 i;

	imap_printf(s, "* STATUS ");
	imap_name_out(s, name);
	imap_printf(s, " (");
	for (i = 0; i < n; i++) {
		if (i > 0)
			imap_printf(s, " ");
		switch (items[i]) {
		case ST_MESSAGES:
			imap_printf(s, "MESSAGES %u", f->exists);
			break;
		case ST_UIDNEXT:
			imap_printf(s, "UIDNEXT %u", f->uidnext);
			break;
		case ST_UIDVALIDITY:
			imap_printf(s, "UIDVALIDITY %u", f->uidvalidity);
			break;
		case ST_UNSEEN:
			imap_printf(s, "UNSEEN %u", f->unseen);
			break;
		case ST_DELETED:
			imap_printf(s, "DELETED %u", f->deleted);
			break;
		case ST_SIZE:
			imap_printf(s, "SIZE %llu",
			    (unsigned long long)f->size);
			break;
		case ST_HIGHESTMODSEQ:
			imap_printf(s, "HIGHESTMODSEQ %llu",
			    (unsigned long long)f->highestmodseq);
			break;
		case ST_RECENT:
			imap_printf(s, "RECENT %u", recent);
			break;
		case ST_APPENDLIMIT:
			conf = front_conf();
			if (conf == NULL || conf->limits.max_message_size == 0)
				imap_printf(s, "APPENDLIMIT NIL");
			else
				imap_printf(s, "APPENDLIMIT %llu",
				    (unsigned long long)
				    conf->limits.max_message_size);
			break;
		}
	}
	imap_printf(s, ")\r\n");
}

/* STATUS mailbox (items) */
void
imap_cmd_status(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct mbox_req	 q;
	unsigned char		*items;
	size_t			 n, i;

	if (nargs != 2 || args[1].type != IMAP_ARG_LIST) {
		imap_bad(s, "Syntax: STATUS mailbox (items)");
		return;
	}
	/* The items, then their count, kept until the answer comes. */
	if ((items = calloc(1, STATUS_ITEMS_MAX + 1)) == NULL) {
		imap_no_status(s, MBOX_EIO, "STATUS");
		return;
	}
	imap_set_state(s, items, free);
	if (status_items_parse(&args[1], items, &n) == -1) {
		imap_bad(s, "Unknown or missing STATUS item");
		return;
	}
	items[STATUS_ITEMS_MAX] = (unsigned char)n;
	imap_req_init(s, &q, MBOX_OP_STATUS);
	if (mailbox_in(s, &args[0], q.folder, sizeof(q.folder), 0) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	for (i = 0; i < n; i++)
		if (items[i] == ST_HIGHESTMODSEQ)
			/* RFC 7162 3.1: a CONDSTORE enabling command. */
			imap_condstore_on(s);
	(void)imap_vault(s, &q, -1, IMAP_LIST_MAX, status_result);
}

static void
status_result(struct session *s, struct mbox_result *r)
{
	struct mbox_folder	 sf;
	struct mbox_stream_r	 rd;
	struct status_state	*st;
	struct mbox_req		 q;
	unsigned char		*items = state_of(s);

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "STATUS");
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	if (mbox_stream_next_folder(&rd, &sf) != 1) {
		log_warnx("imap: session %u: STATUS: bad answer from the "
		    "vault", s->id);
		imap_no_status(s, MBOX_EIO, "STATUS");
		return;
	}
	if (memchr(items, ST_RECENT, items[STATUS_ITEMS_MAX]) == NULL) {
		status_write(s, sf.name, &sf.info, 0, items,
		    items[STATUS_ITEMS_MAX]);
		imap_done(s, "OK STATUS completed");
		return;
	}
	/* RECENT: one more question, only when it is asked. */
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_no_status(s, MBOX_EIO, "STATUS");
		return;
	}
	memcpy(st->items, items, sizeof(st->items));
	st->f = sf;
	imap_set_state(s, st, free);
	imap_req_init(s, &q, MBOX_OP_RECENT);
	strlcpy(q.folder, sf.name, sizeof(q.folder));
	(void)imap_vault(s, &q, -1, 0, status_recent);
}

/*
 * STATUS (RECENT): the messages no session has seen yet, those above
 * the folder's recent mark (RFC 3501 2.3.2: each is \Recent for the
 * first session that selects the mailbox).
 */
static void
status_recent(struct session *s, struct mbox_result *r)
{
	struct status_state	*st = state_of(s);

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "STATUS");
		return;
	}
	status_write(s, st->f.name, &st->f.info, (uint32_t)r->b, st->items,
	    st->items[STATUS_ITEMS_MAX]);
	imap_done(s, "OK STATUS completed");
}

/*
 * LIST and LSUB.
 */

/* A list-mailbox: an atom (wildcards allowed), a string, or NIL. */
static const char *
list_string(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_NIL)
		return (imap_arg_astring(a));
	return (imap_arg_string(a));
}

/* A reference or pattern in stored form (UTF-8). */
static int
list_name(struct session *s, const struct imap_arg *a, char *out,
    size_t size)
{
	const char	*str;

	if ((str = list_string(a)) == NULL)
		return (-1);
	if (imap_utf8(s)) {
		if (strlcpy(out, str, size) >= size)
			return (-1);
		return (0);
	}
	return (imap_utf7_decode(str, out, size));
}

static struct lpat *
lpat_compile(const char *p)
{
	struct lpat	*lp;
	size_t		 i, len, nlit = 0, nrows = 0;
	unsigned char	 c;
	int		 star;

	if ((lp = calloc(1, sizeof(*lp))) == NULL)
		return (NULL);
	len = strlen(p);
	if (len >= LIST_PATTERN_MAX) {
		lp->never = 1;
		return (lp);
	}
	/* First pass: tokens and the distinct literal octets. */
	for (i = 0; i < len; ) {
		c = (unsigned char)p[i];
		if (c == '*' || c == '%') {
			star = 0;
			while (i < len && (p[i] == '*' || p[i] == '%'))
				star |= p[i++] == '*';
			if (star)
				lp->star[lp->ntok / 64] |=
				    1ULL << (lp->ntok % 64);
			else
				lp->pct[lp->ntok / 64] |=
				    1ULL << (lp->ntok % 64);
		} else {
			if (lp->row[c] == 0)
				lp->row[c] = (unsigned char)++nrows;
			nlit++;
			i++;
		}
		lp->ntok++;
	}
	/* Every literal takes an octet of the name: too many, no match. */
	if (nlit >= MBOX_NAME_MAX || lp->ntok + 1 > LIST_WORDS * 64) {
		lp->never = 1;
		return (lp);
	}
	lp->nw = (lp->ntok + 1 + 63) / 64;
	if ((lp->lit = calloc((nrows + 1) * lp->nw, sizeof(uint64_t))) ==
	    NULL) {
		free(lp);
		return (NULL);
	}
	for (i = 0, lp->ntok = 0; i < len; lp->ntok++) {
		c = (unsigned char)p[i];
		if (c == '*' || c == '%') {
			while (i < len && (p[i] == '*' || p[i] == '%'))
				i++;
			continue;
		}
		lp->lit[lp->row[c] * lp->nw + lp->ntok / 64] |=
		    1ULL << (lp->ntok % 64);
		i++;
	}
	return (lp);
}

static void
lpat_free(struct lpat *lp)
{
	if (lp == NULL)
		return;
	free(lp->lit);
	free(lp);
}

/*
 * Run the automaton over a name.  "*" matches any octets, "%" any but
 * the delimiter.  INBOX, the one case-insensitive name, is stored in
 * capitals, so an octet of its first component also matches the
 * pattern's lower-case letter.
 */
static int
lpat_match(const struct lpat *lp, const char *name)
{
	uint64_t		 cur[LIST_WORDS], next[LIST_WORDS];
	uint64_t		 m, carry, any;
	const uint64_t		*r1, *r2;
	const unsigned char	*n = (const unsigned char *)name;
	size_t			 w, j, inbox = 0;
	unsigned char		 c;

	if (lp->never)
		return (0);
	if (strncmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == MBOX_DELIM_CHAR))
		inbox = 5;
	memset(cur, 0, sizeof(cur));
	cur[0] = 1;
	/* Wildcards also match nothing; runs were collapsed, so once. */
	cur[0] |= (cur[0] & (lp->star[0] | lp->pct[0])) << 1;
	for (j = 0; n[j] != '\0'; j++) {
		c = n[j];
		r1 = &lp->lit[lp->row[c] * lp->nw];
		r2 = NULL;
		if (j < inbox && c >= 'A' && c <= 'Z')
			r2 = &lp->lit[lp->row[c - 'A' + 'a'] * lp->nw];
		carry = 0;
		any = 0;
		for (w = 0; w < lp->nw; w++) {
			m = cur[w] & (r1[w] | (r2 != NULL ? r2[w] : 0));
			next[w] = (cur[w] & lp->star[w]) |
			    (c != MBOX_DELIM_CHAR ? cur[w] & lp->pct[w] : 0) |
			    (m << 1) | carry;
			carry = m >> 63;
		}
		carry = 0;
		for (w = 0; w < lp->nw; w++) {
			m = next[w] & (lp->star[w] | lp->pct[w]);
			cur[w] = next[w] | (m << 1) | carry;
			carry = m >> 63;
			any |= cur[w];
		}
		if (any == 0)
			return (0);
	}
	return ((cur[lp->ntok / 64] >> (lp->ntok % 64)) & 1);
}

/* Join reference and pattern and compile them; -1: answered BAD. */
static int
list_pattern_add(struct session *s, struct list_state *st, const char *ref,
    const struct imap_arg *pat)
{
	char	 buf[LIST_PATTERN_MAX];
	size_t	 len;

	if (st->npats >= LIST_PATTERNS_MAX) {
		imap_bad(s, "Too many patterns");
		return (-1);
	}
	len = strlcpy(buf, ref, sizeof(buf));
	if (len >= sizeof(buf) ||
	    list_name(s, pat, buf + len, sizeof(buf) - len) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return (-1);
	}
	if ((st->pats[st->npats] = lpat_compile(buf)) == NULL) {
		imap_no_status(s, MBOX_EIO, st->lsub ? "LSUB" : "LIST");
		return (-1);
	}
	st->npats++;
	return (0);
}

static void
list_state_free(void *p)
{
	struct list_state	*st = p;
	size_t			 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->npats; i++)
		lpat_free(st->pats[i]);
	for (i = 0; i < st->n; i++)
		free(st->f[i].name);
	free(st->f);
	free(st);
}

static int
list_cmp(const void *a, const void *b)
{
	const struct lfolder	*fa = *(const struct lfolder * const *)a;
	const struct lfolder	*fb = *(const struct lfolder * const *)b;

	return (strcmp(fa->name, fb->name));
}

static int
list_key_cmp(const void *key, const void *elem)
{
	const struct lfolder	*f = *(const struct lfolder * const *)elem;

	return (strcmp(key, f->name));
}

/* A subscription kept after its mailbox was deleted (no folder). */
static int
list_nonexistent(const struct lfolder *f)
{
	return (f->info.subscribed == MBOX_SUBSCRIBED_NONEXISTENT);
}

/* Does the folder meet LIST's selection criteria? */
static int
list_selected(const struct list_state *st, const struct lfolder *f)
{
	if (st->lsub || (st->sel & LSEL_SUBSCRIBED))
		if (!f->info.subscribed)
			return (0);
	/* Only the subscriptions show a name that is no mailbox. */
	if (list_nonexistent(f) && !st->lsub &&
	    !(st->sel & LSEL_SUBSCRIBED))
		return (0);
	if ((st->sel & LSEL_SPECIALUSE) &&
	    special_attr(f->info.special) == NULL)
		return (0);
	return (1);
}

/*
 * Mark each folder: does it match, and what do its descendants tell
 * (children, selected descendants, subscribed ones out of the
 * pattern).  Each folder marks its ancestors, found by name in a
 * sorted index: the vault keeps every parent, but we do not count on
 * its order.  0, -1 out of memory, -2 too much matching work.
 */
static int
list_mark(struct list_state *st)
{
	struct lfolder	**idx, **hit, *f;
	char		  buf[MBOX_NAME_MAX];
	uint64_t	  names = 0, work = 0;
	size_t		  i, j, k;

	/*
	 * Long patterns over many long names: refuse rather than keep
	 * every other session waiting.  Usual patterns take one word.
	 */
	for (i = 0; i < st->n; i++)
		names += strlen(st->f[i].name) + 1;
	for (k = 0; k < st->npats; k++)
		if (!st->pats[k]->never)
			work += names * st->pats[k]->nw;
	if (work > LIST_WORK_MAX)
		return (-2);
	for (i = 0; i < st->n; i++)
		for (k = 0; k < st->npats; k++)
			if (lpat_match(st->pats[k], st->f[i].name)) {
				st->f[i].mark |= LF_MATCH;
				break;
			}
	if (st->n == 0)
		return (0);
	if ((idx = reallocarray(NULL, st->n, sizeof(*idx))) == NULL)
		return (-1);
	for (i = 0; i < st->n; i++)
		idx[i] = &st->f[i];
	qsort(idx, st->n, sizeof(*idx), list_cmp);
	for (i = 0; i < st->n; i++) {
		f = &st->f[i];
		if (strlcpy(buf, f->name, sizeof(buf)) >= sizeof(buf))
			continue;
		for (j = strlen(buf); j > 0; j--) {
			if (buf[j - 1] != MBOX_DELIM_CHAR)
				continue;
			buf[j - 1] = '\0';
			if ((hit = bsearch(buf, idx, st->n, sizeof(*idx),
			    list_key_cmp)) == NULL)
				continue;
			/* A name that is no mailbox is no child either. */
			if (!list_nonexistent(f))
				(*hit)->mark |= LF_CHILDREN;
			if (list_selected(st, f))
				(*hit)->mark |= LF_SATDESC;
			if (f->info.subscribed && !(f->mark & LF_MATCH))
				(*hit)->mark |= LF_SUBNOMATCH;
		}
	}
	free(idx);
	return (0);
}

/*
 * LIST [(selection)] reference (pattern | (patterns)) [RETURN (options)]
 */
void
imap_cmd_list(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct list_state	*st;
	const struct imap_arg	*a, *ref, *pats;
	char			 refbuf[LIST_PATTERN_MAX];
	const char		*str;
	size_t			 i = 0, k, npats;
	int			 root = 1;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_no_status(s, MBOX_EIO, "LIST");
		return;
	}
	imap_set_state(s, st, list_state_free);

	if (nargs > 0 && args[0].type == IMAP_ARG_LIST) {
		for (k = 0; k < args[0].nlist; k++) {
			a = &args[0].list[k];
			if (imap_arg_is(a, "SUBSCRIBED"))
				st->sel |= LSEL_SUBSCRIBED;
			else if (imap_arg_is(a, "SPECIAL-USE"))
				st->sel |= LSEL_SPECIALUSE;
			else if (imap_arg_is(a, "RECURSIVEMATCH"))
				st->sel |= LSEL_RECURSIVE;
			else if (!imap_arg_is(a, "REMOTE")) {
				imap_bad(s, "Unknown LIST selection option");
				return;
			}
		}
		/* RFC 5258 3: it only refines another option. */
		if ((st->sel & LSEL_RECURSIVE) &&
		    !(st->sel & LSEL_SUBSCRIBED)) {
			imap_bad(s, "RECURSIVEMATCH needs SUBSCRIBED");
			return;
		}
		if (st->sel & LSEL_SUBSCRIBED)
			st->ret |= LRET_SUBSCRIBED;
		i++;
	}
	if (nargs < i + 2) {
		imap_bad(s, "Syntax: LIST [(options)] reference pattern "
		    "[RETURN (options)]");
		return;
	}
	ref = &args[i++];
	pats = &args[i++];
	if (i < nargs) {
		if (i + 2 != nargs || !imap_arg_is(&args[i], "RETURN") ||
		    args[i + 1].type != IMAP_ARG_LIST) {
			imap_bad(s, "Syntax: LIST [(options)] reference "
			    "pattern [RETURN (options)]");
			return;
		}
		a = args[i + 1].list;
		for (k = 0; k < args[i + 1].nlist; k++) {
			if (imap_arg_is(&a[k], "SUBSCRIBED"))
				st->ret |= LRET_SUBSCRIBED;
			else if (imap_arg_is(&a[k], "CHILDREN") ||
			    imap_arg_is(&a[k], "SPECIAL-USE"))
				;	/* always returned */
			else if (imap_arg_is(&a[k], "STATUS") &&
			    !(st->ret & LRET_STATUS) &&
			    k + 1 < args[i + 1].nlist &&
			    status_items_parse(&a[k + 1], st->items,
			    &st->nitems) == 0) {
				st->ret |= LRET_STATUS;
				k++;
			} else {
				imap_bad(s, "Unknown or malformed LIST "
				    "return option");
				return;
			}
		}
	}
	if (list_name(s, ref, refbuf, sizeof(refbuf)) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	if (pats->type == IMAP_ARG_LIST) {
		a = pats->list;
		npats = pats->nlist;
		if (npats == 0) {
			imap_bad(s, "Empty pattern list");
			return;
		}
	} else {
		a = pats;
		npats = 1;
	}
	for (k = 0; k < npats; k++) {
		if ((str = list_string(&a[k])) == NULL) {
			imap_bad(s, "Invalid mailbox name");
			return;
		}
		/* An empty pattern asks for the delimiter only. */
		if (*str == '\0')
			continue;
		root = 0;
		if (list_pattern_add(s, st, refbuf, &a[k]) == -1)
			return;
	}
	if (st->ret & LRET_STATUS)
		for (k = 0; k < st->nitems; k++)
			if (st->items[k] == ST_HIGHESTMODSEQ)
				imap_condstore_on(s);
	if (root) {
		imap_printf(s, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		imap_done(s, "OK LIST completed");
		return;
	}
	list_start(s);
}

/* LSUB reference pattern (IMAP4rev1) */
void
imap_cmd_lsub(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct list_state	*st;
	char			 refbuf[LIST_PATTERN_MAX];

	if (nargs != 2) {
		imap_bad(s, "Syntax: LSUB reference pattern");
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_no_status(s, MBOX_EIO, "LSUB");
		return;
	}
	imap_set_state(s, st, list_state_free);
	st->lsub = 1;
	if (list_name(s, &args[0], refbuf, sizeof(refbuf)) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	if (list_pattern_add(s, st, refbuf, &args[1]) == -1)
		return;
	list_start(s);
}

static void
list_start(struct session *s)
{
	struct mbox_req	 q;

	imap_req_init(s, &q, MBOX_OP_LIST);
	(void)imap_vault(s, &q, -1, IMAP_LIST_MAX, list_result);
}

static void
list_result(struct session *s, struct mbox_result *r)
{
	struct list_state		*st = state_of(s);
	struct mbox_folder	 sf;
	struct mbox_stream_r		 rd;
	struct lfolder			*nf;
	size_t				 cap = 0;
	int				 rc;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, st->lsub ? "LSUB" : "LIST");
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	while ((rc = mbox_stream_next_folder(&rd, &sf)) == 1) {
		if (st->n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nf = reallocarray(st->f, cap, sizeof(*nf))) ==
			    NULL)
				goto fail;
			st->f = nf;
		}
		st->f[st->n].info = sf.info;
		st->f[st->n].mark = 0;
		if ((st->f[st->n].name = strdup(sf.name)) == NULL)
			goto fail;
		st->n++;
	}
	if (rc == -1) {
		log_warnx("imap: session %u: LIST: bad answer from the vault",
		    s->id);
		goto fail;
	}
	if ((rc = list_mark(st)) == -2) {
		imap_done(s, "NO [LIMIT] Patterns too long for this many "
		    "mailboxes");
		return;
	}
	if (rc == -1)
		goto fail;
	list_emit(s);
	return;
 fail:
	imap_no_status(s, MBOX_EIO, st->lsub ? "LSUB" : "LIST");
}

/* Answer a batch, then wait for the client to read it. */
static void
list_emit(struct session *s)
{
	struct list_state	*st = state_of(s);
	struct lfolder		*f;
	const char		*sp;
	int			 sel, childinfo;

	while (st->next < st->n) {
		/* Much output waits until the client reads (list_emit). */
		if (!session_wait_output(s, list_emit))
			return;
		f = &st->f[st->next++];
		if (!(f->mark & LF_MATCH))
			continue;
		sel = list_selected(st, f);
		if (st->lsub) {
			/*
			 * RFC 3501 6.3.9: a parent that "%" stops at,
			 * whose subscribed child is not listed, is
			 * shown as \Noselect.
			 */
			if (sel && !list_nonexistent(f))
				imap_printf(s, "* LSUB () \"/\" ");
			else if (sel || (f->mark & LF_SUBNOMATCH))
				imap_printf(s, "* LSUB (\\Noselect) \"/\" ");
			else
				continue;
			imap_name_out(s, f->name);
			imap_printf(s, "\r\n");
			continue;
		}
		childinfo = !sel && (st->sel & LSEL_RECURSIVE) &&
		    (f->mark & LF_SATDESC);
		if (!sel && !childinfo)
			continue;
		if (list_nonexistent(f)) {
			/*
			 * RFC 5258 3.1: a subscription whose mailbox is
			 * gone is listed \NonExistent (which implies
			 * \Noselect), without STATUS.
			 */
			imap_printf(s, "* LIST (%s\\NonExistent) \"/\" ",
			    (st->ret & LRET_SUBSCRIBED) ? "\\Subscribed " :
			    "");
			imap_name_out(s, f->name);
			if (childinfo)
				imap_printf(s, " (\"CHILDINFO\" "
				    "(\"SUBSCRIBED\"))");
			imap_printf(s, "\r\n");
			continue;
		}
		imap_printf(s, "* LIST (%s",
		    (f->mark & LF_CHILDREN) ? "\\HasChildren" :
		    "\\HasNoChildren");
		if ((sp = special_attr(f->info.special)) != NULL)
			imap_printf(s, " %s", sp);
		if ((st->ret & LRET_SUBSCRIBED) && f->info.subscribed)
			imap_printf(s, " \\Subscribed");
		imap_printf(s, ") \"/\" ");
		imap_name_out(s, f->name);
		if (childinfo)
			imap_printf(s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
		imap_printf(s, "\r\n");
		if (st->ret & LRET_STATUS)
			status_write(s, f->name, &f->info, 0, st->items,
			    st->nitems);
	}
	imap_done(s, st->lsub ? "OK LSUB completed" : "OK LIST completed");
}

/*
 * GETQUOTAROOT mailbox, GETQUOTA root (RFC 9208): one root, "", for the
 * whole account, when the configuration sets a mailbox size limit.
 */
void
imap_cmd_getquotaroot(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct quota_state	*st;
	struct mbox_req	 q;

	if (nargs != 1) {
		imap_bad(s, "Syntax: GETQUOTAROOT mailbox");
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_no_status(s, MBOX_EIO, "GETQUOTAROOT");
		return;
	}
	imap_set_state(s, st, free);
	imap_req_init(s, &q, MBOX_OP_STATUS);
	if (mailbox_in(s, &args[0], q.folder, sizeof(q.folder), 0) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	/* The mailbox must exist; its status says how it is spelt. */
	(void)imap_vault(s, &q, -1, IMAP_LIST_MAX, quotaroot_status);
}

static void
quotaroot_status(struct session *s, struct mbox_result *r)
{
	struct quota_state		*st = state_of(s);
	const struct msg_front		*conf = front_conf();
	struct mbox_folder	 sf;
	struct mbox_stream_r		 rd;
	struct mbox_req		 q;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "GETQUOTAROOT");
		return;
	}
	mbox_stream_r_init(&rd, r->buf, r->len);
	if (mbox_stream_next_folder(&rd, &sf) != 1) {
		imap_no_status(s, MBOX_EIO, "GETQUOTAROOT");
		return;
	}
	(void)strlcpy(st->name, sf.name, sizeof(st->name));
	if (conf == NULL || conf->limits.max_mailbox_size == 0) {
		imap_printf(s, "* QUOTAROOT ");
		imap_name_out(s, st->name);
		imap_printf(s, "\r\n");
		imap_done(s, "OK GETQUOTAROOT completed");
		return;
	}
	imap_req_init(s, &q, MBOX_OP_USAGE);
	(void)imap_vault(s, &q, -1, 0, quotaroot_usage);
}

static void
quotaroot_usage(struct session *s, struct mbox_result *r)
{
	struct quota_state	*st = state_of(s);
	const struct msg_front	*conf = front_conf();

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "GETQUOTAROOT");
		return;
	}
	imap_printf(s, "* QUOTAROOT ");
	imap_name_out(s, st->name);
	imap_printf(s, " \"\"\r\n");
	imap_printf(s, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
	    (unsigned long long)kib(r->a),
	    (unsigned long long)kib(conf != NULL ?
	    conf->limits.max_mailbox_size : 0));
	imap_done(s, "OK GETQUOTAROOT completed");
}

void
imap_cmd_getquota(struct session *s, struct imap_arg *args, size_t nargs)
{
	const struct msg_front	*conf = front_conf();
	struct mbox_req	 q;
	const char		*root;

	if (nargs != 1 || (root = imap_arg_astring(&args[0])) == NULL) {
		imap_bad(s, "Syntax: GETQUOTA root");
		return;
	}
	if (*root != '\0' || conf == NULL ||
	    conf->limits.max_mailbox_size == 0) {
		imap_done(s, "NO [NONEXISTENT] No such quota root");
		return;
	}
	imap_req_init(s, &q, MBOX_OP_USAGE);
	(void)imap_vault(s, &q, -1, 0, getquota_usage);
}

static void
getquota_usage(struct session *s, struct mbox_result *r)
{
	const struct msg_front	*conf = front_conf();

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "GETQUOTA");
		return;
	}
	imap_printf(s, "* QUOTA \"\" (STORAGE %llu %llu)\r\n",
	    (unsigned long long)kib(r->a),
	    (unsigned long long)kib(conf != NULL ?
	    conf->limits.max_mailbox_size : 0));
	imap_done(s, "OK GETQUOTA completed");
}
