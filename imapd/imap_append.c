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
 * APPEND (RFC 9051 6.3.12) and MULTIAPPEND (RFC 3502): one or many
 * messages, each with its flags and date, stored together or not at
 * all.
 *
 * The messages arrived in the command's spool (imap_session.c).  Each
 * is parsed here into the vault's bundle (the vault never parses mail)
 * and written, with its flags and keywords, as one entry of the memfd
 * the vault gets; then, when the account has a size limit, the total
 * is checked against what the account holds; then the whole is sent as
 * one request, which the vault stores in one transaction.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mime.h"
#include "imap_local.h"

/* One message of the command, as its arguments give it. */
struct append_msg {
	const struct imap_arg	*flags;		/* or NULL */
	const struct imap_arg	*date;		/* or NULL */
	const struct imap_arg	*msg;		/* LITERAL or FILE */
};

struct append_state {
	struct mbox_req		 q;
	int			 fd;	/* the entries, until sent */
	uint64_t		 size;	/* of the messages */
	uint32_t		 count;
};

static size_t	 append_args(struct imap_arg *, size_t, struct append_msg *,
		    const char **);
static const char *append_entries(struct session *, struct append_state *,
		    const struct append_msg *, size_t);
static const char *append_one(struct session *, int, const char *, size_t,
		    const struct append_msg *);
static struct append_state *append_of(struct session *);
static void	 append_state_free(void *);
static void	 append_usage(struct session *, struct mbox_result *);
static void	 append_send(struct session *);
static void	 append_done(struct session *, struct mbox_result *);

#define APPEND_SYNTAX	"Syntax: APPEND mailbox [(flags)] [date-time] " \
			    "message ..."

/*
 * APPEND mailbox 1*([(flags)] [date-time] message): every message is
 * checked before any is stored, so one bad message refuses them all.
 */
void
imap_cmd_append(struct session *s, struct imap_arg *args, size_t nargs)
{
	struct append_state	*st;
	struct append_msg	*m;
	struct mbox_req		 uq;
	const struct msg_front	*conf = front_conf();
	const char		*why;
	size_t			 n;

	if (nargs < 2) {
		imap_bad(s, APPEND_SYNTAX);
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		imap_no_status(s, MBOX_EIO, "APPEND");
		return;
	}
	st->fd = -1;
	imap_set_state(s, st, append_state_free);
	imap_req_init(s, &st->q, MBOX_OP_APPEND);
	if (imap_name_in(s, &args[0], st->q.folder,
	    sizeof(st->q.folder)) == -1 || st->q.folder[0] == '\0') {
		imap_bad(s, "Invalid mailbox name");
		return;
	}
	/* At most one message per argument after the name. */
	if ((m = calloc(nargs - 1, sizeof(*m))) == NULL) {
		imap_no_status(s, MBOX_EIO, "APPEND");
		return;
	}
	if ((n = append_args(args + 1, nargs - 1, m, &why)) == 0)
		imap_bad(s, why);
	else if ((why = append_entries(s, st, m, n)) != NULL) {
		if (strncmp(why, "BAD ", 4) == 0)
			imap_bad(s, why + 4);
		else
			imap_done(s, "%s", why);
	}
	free(m);
	if (why != NULL)
		return;

	if (conf == NULL || conf->limits.max_mailbox_size == 0) {
		append_send(s);
		return;
	}
	imap_req_init(s, &uq, MBOX_OP_USAGE);
	(void)imap_vault(s, &uq, -1, 0, append_usage);
}

/*
 * The messages of the arguments after the mailbox name; 0 with the BAD
 * reply's text if they do not parse.
 */
static size_t
append_args(struct imap_arg *args, size_t nargs, struct append_msg *m,
    const char **why)
{
	size_t	 i = 0, n = 0;

	*why = APPEND_SYNTAX;
	while (i < nargs) {
		memset(&m[n], 0, sizeof(m[n]));
		if (args[i].type == IMAP_ARG_LIST && i + 1 < nargs)
			m[n].flags = &args[i++];
		/* date-time is a quoted string; a literal is the message. */
		if (i + 1 < nargs && args[i].type == IMAP_ARG_QUOTED)
			m[n].date = &args[i++];
		if (i < nargs && (args[i].type == IMAP_ARG_LITERAL ||
		    args[i].type == IMAP_ARG_FILE))
			m[n].msg = &args[i++];
		else if (i + 1 < nargs && imap_arg_is(&args[i], "UTF8") &&
		    args[i + 1].type == IMAP_ARG_LIST &&
		    args[i + 1].nlist == 1 &&
		    (args[i + 1].list[0].type == IMAP_ARG_LITERAL ||
		    args[i + 1].list[0].type == IMAP_ARG_FILE)) {
			/* RFC 6855 3: the message as UTF8 (literal8). */
			m[n].msg = &args[i + 1].list[0];
			i += 2;
		} else
			return (0);
		if (++n > MBOX_APPEND_MAX) {
			*why = "Too many messages in one APPEND";
			return (0);
		}
	}
	return (n);
}

/*
 * Every message into st->fd as an entry, the fd sealed.  NULL, or the
 * tagged reply that refuses the command.
 */
static const char *
append_entries(struct session *s, struct append_state *st,
    const struct append_msg *m, size_t n)
{
	const struct imap_arg	*a;
	const char		*why = NULL;
	void			*map = NULL;
	size_t			 i, len, spoollen = 0;
	int			 spool = -1;

	/* The spool's literals, mapped once for all the messages. */
	for (i = 0; i < n; i++) {
		a = m[i].msg;
		if (a->type == IMAP_ARG_FILE && a->fdoff + a->fdlen >
		    spoollen) {
			spool = a->fd;
			spoollen = a->fdoff + a->fdlen;
		}
	}
	if (spool != -1 && (map = mmap(NULL, spoollen, PROT_READ,
	    MAP_PRIVATE, spool, 0)) == MAP_FAILED) {
		log_warn("imap: session %u: APPEND: mmap", s->id);
		return ("NO [UNAVAILABLE] Cannot take the message now, try "
		    "again later");
	}
	if ((st->fd = memfd_create("imap-append", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		log_warn("imap: session %u: APPEND: memfd", s->id);
		why = "NO [UNAVAILABLE] Cannot take the message now, try "
		    "again later";
		goto done;
	}
	for (i = 0; i < n && why == NULL; i++) {
		a = m[i].msg;
		len = a->type == IMAP_ARG_FILE ? a->fdlen : a->len;
		why = append_one(s, st->fd, a->type == IMAP_ARG_FILE ?
		    (const char *)map + a->fdoff : a->str, len, &m[i]);
		st->size += len;
	}
	if (why == NULL && fcntl(st->fd, F_ADD_SEALS, F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		log_warn("imap: session %u: APPEND: seal", s->id);
		why = "NO [UNAVAILABLE] Cannot take the message now, try "
		    "again later";
	}
	st->count = (uint32_t)n;
	st->q.append.count = (uint32_t)n;
 done:
	if (map != NULL)
		(void)munmap(map, spoollen);
	return (why);
}

/* One message as an entry at the end of fd; NULL or the refusal. */
static const char *
append_one(struct session *s, int fd, const char *raw, size_t len,
    const struct append_msg *m)
{
	const struct msg_front	*conf = front_conf();
	struct mime_result	 r;
	struct bundle		 b;
	char			 kw[MBOX_KWLIST_MAX];
	uint32_t		 flags = 0;
	int64_t			 when;
	int			 rc, saved;

	kw[0] = '\0';
	if (m->flags != NULL && imap_flags_parse(m->flags, &flags, kw,
	    sizeof(kw)) == -1)
		return ("BAD Invalid flags");
	when = time(NULL);
	if (m->date != NULL && (imap_arg_string(m->date) == NULL ||
	    imap_parse_datetime(imap_arg_string(m->date), &when) == -1))
		return ("BAD Invalid date-time");
	if (len == 0)
		return ("NO Empty message");
	if (conf != NULL && conf->limits.max_message_size != 0 &&
	    len > conf->limits.max_message_size)
		return ("NO [TOOBIG] Message too large");
	/* NUL may travel only in a literal8 (RFC 3516, RFC 9051 4.3). */
	if (!m->msg->binary && memchr(raw, '\0', len) != NULL)
		return ("BAD NUL in a literal: send the message as ~{n}");
	if (mime_parse(raw, len, &r) == -1) {
		log_warn("imap: session %u: APPEND: parse", s->id);
		return ("NO [UNAVAILABLE] Cannot take the message now, try "
		    "again later");
	}
	rc = 0;
	if (mime_to_bundle(&r, raw, len, when, &b) == -1 ||
	    mbox_append_put(fd, flags, kw, &b) == -1)
		rc = -1;
	saved = errno;
	mime_result_free(&r);
	if (rc == -1) {
		if (saved == EINVAL)
			return ("NO [LIMIT] The message cannot be stored");
		errno = saved;
		log_warn("imap: session %u: APPEND: bundle", s->id);
		return ("NO [UNAVAILABLE] Cannot take the message now, try "
		    "again later");
	}
	return (NULL);
}

static struct append_state *
append_of(struct session *s)
{
	struct imap	*im = s->data;

	return (im->run.state_data);
}

static void
append_state_free(void *p)
{
	struct append_state	*st = p;

	if (st == NULL)
		return;
	if (st->fd != -1)
		close(st->fd);
	/* The request held the user's folder name. */
	explicit_bzero(&st->q, sizeof(st->q));
	free(st);
}

static void
append_usage(struct session *s, struct mbox_result *r)
{
	struct append_state	*st = append_of(s);
	const struct msg_front	*conf = front_conf();
	uint64_t		 limit;

	if (r->status != MBOX_OK) {
		imap_no_status(s, r->status, "APPEND");
		return;
	}
	limit = conf != NULL ? conf->limits.max_mailbox_size : 0;
	if (limit != 0 && (r->a > limit || st->size > limit - r->a)) {
		imap_done(s, "NO [OVERQUOTA] The mailbox is full");
		return;
	}
	append_send(s);
}

static void
append_send(struct session *s)
{
	struct append_state	*st = append_of(s);
	int			 fd = st->fd;

	/* imap_vault() takes the fd over, whatever happens. */
	st->fd = -1;
	(void)imap_vault(s, &st->q, fd, 0, append_done);
}

/* APPENDUID (RFC 4315): the uidvalidity and the uids, consecutive. */
static void
append_done(struct session *s, struct mbox_result *r)
{
	struct append_state	*st = append_of(s);

	switch (r->status) {
	case MBOX_OK:
		if (st->count == 1)
			imap_done(s, "OK [APPENDUID %llu %llu] APPEND "
			    "completed", (unsigned long long)r->a,
			    (unsigned long long)r->b);
		else
			imap_done(s, "OK [APPENDUID %llu %llu:%llu] APPEND "
			    "completed", (unsigned long long)r->a,
			    (unsigned long long)r->b,
			    (unsigned long long)(r->b + st->count - 1));
		break;
	case MBOX_ENOTFOUND:
		imap_done(s, "NO [TRYCREATE] No such mailbox");
		break;
	default:
		imap_no_status(s, r->status, "APPEND");
		break;
	}
}
