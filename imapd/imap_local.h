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
 * What the files of the IMAP session share:
 *
 *	imap_session.c	the connection: assembling commands from lines and
 *			literals, dispatch, ending a command, logging in,
 *			ENABLE, ID, IDLE, news from the vault
 *	imap_view.c	the selected mailbox's view (uids, sequence
 *			numbers, ranges, expunges, SEARCHRES) and its sync
 *			with the vault (MBOX_OP_SYNC, IDLE's updates)
 *	imap_io.c	output to the client, vault requests, mailbox
 *			names; it calls none of the other files
 *	imap_mailbox.c	commands on mailboxes as a whole: CREATE, DELETE,
 *			RENAME, (UN)SUBSCRIBE, LIST, LSUB, STATUS,
 *			NAMESPACE, GETQUOTA, GETQUOTAROOT
 *	imap_append.c	APPEND, MULTIAPPEND (RFC 3502)
 *	imap_message.c	SELECT, EXAMINE and the commands that change
 *			messages: STORE, COPY, MOVE, EXPUNGE, CLOSE,
 *			UNSELECT
 *	imap_query.c	SEARCH and FETCH
 *	imap_sort.c	SORT and THREAD (RFC 5256), ESORT (RFC 5267)
 *
 * The files depend one way: the commands call the session, the view
 * and io; the session calls the view and io; the view calls io.
 *
 * Every command runs the same way: the dispatcher holds the session's
 * input and calls the command's function with its parsed arguments;
 * the function asks the vault (imap_vault) as often as it needs, each
 * answer arriving in a callback, and ends the command exactly once with
 * imap_done() or imap_bad().  Those write the tagged reply (after any
 * pending untagged updates that are allowed at that point), free the
 * command's state and resume reading.
 */

#ifndef IMAP_LOCAL_H
#define IMAP_LOCAL_H

#include <sys/queue.h>

#include <event.h>

#include "bundle.h"
#include "imap.h"
#include "imapd.h"
#include "mbox_client.h"
#include "session.h"

#define IMAP_TAG_MAX		128
#define IMAP_CMDNAME_MAX	32
#define IMAP_AUTH_FAILS_MAX	3	/* per connection, then BYE */
#define IMAP_IDLE_TIMEOUT	1800	/* seconds once logged in */
#define IMAP_LIST_MAX		(64 * 1024 * 1024)   /* result records */
#define IMAP_UIDS_MAX		(16 * 1024 * 1024)   /* uid records */
#define IMAP_VIEW_KW_MAX	1024	/* keywords FLAGS announces */
#define IMAP_RECENT_MAX		16	/* \Recent uid ranges per view */
/* Output waiting for the client: one FETCH step, a large message twice. */
#define IMAP_OVERFLOW_MAX	(2 * (size_t)BUNDLE_RAW_MAX)

enum imap_state {
	IMAP_NOTAUTH,
	IMAP_AUTH,
	IMAP_SELECTED
};

/* What ENABLE turned on (RFC 5161). */
#define IMAP_EN_REV2		0x01	/* IMAP4rev2 */
#define IMAP_EN_CONDSTORE	0x02
#define IMAP_EN_QRESYNC		0x04	/* implies CONDSTORE */
#define IMAP_EN_UTF8		0x08	/* UTF8=ACCEPT (and rev2) */

/*
 * The selected mailbox as this session knows it: its messages' uids in
 * ascending order (a message's sequence number is its index + 1), and
 * the modseq of each as last reported, so that a change is announced
 * once.  Changes made elsewhere reach the view only through
 * imap_sync(), at the points where the protocol allows them.
 */
struct imap_view {
	char		 name[MBOX_NAME_MAX];	/* stored (UTF-8) form */
	int		 readonly;		/* EXAMINE */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint32_t	*uids;
	uint64_t	*modseqs;
	uint32_t	 n;
	uint32_t	 cap;
	uint32_t	*saved;			/* SEARCHRES "$", sorted */
	size_t		 nsaved;
	int		 saved_valid;
	char		**kw;			/* keywords FLAGS announced */
	size_t		 nkw;
	size_t		 kwcap;
	struct mbox_range recent[IMAP_RECENT_MAX]; /* \Recent uids */
	size_t		 nrecent;
};

/* A vault answer (mbox_client.h), its records read from the fd. */
typedef void (*imap_result_cb)(struct session *, struct mbox_result *);

/*
 * A session is made of parts, each owned by the file of its role:
 *
 * conn	the connection (imap_session.c): logged in or not, as whom,
 *	what ENABLE turned on.  The commands read enabled.
 * in	the command being assembled from lines and literals
 *	(imap_session.c); nothing else looks at it.
 * run	the command running (imap_session.c's dispatch and the
 *	commands): its tag, name and arguments, the vault's answer
 *	awaited, the command's own state, the tagged reply held back
 *	while a sync writes the updates before it.
 * sel	the selected mailbox and its sync with the vault (imap_view.c);
 *	IDLE (imap_session.c) sets idling, which tells a notification
 *	to sync at once.
 */
struct imap_conn {
	enum imap_state		 state;
	unsigned int		 enabled;	/* IMAP_EN_* */
	uint32_t		 vsession;	/* vault session, 0 if none */
	char			 account[MSG_ADDRESS_MAX];
	int			 authenticating; /* AUTHENTICATE's "+ " */
	unsigned int		 fails;		/* failed logins */
};

struct imap_assembly {
	char			*buf;		/* lines and literals */
	size_t			 len;
	size_t			 cap;
	struct imap_cmd		 cmd;		/* what the parser reads */
	size_t			 filescap;	/* of cmd.files */
	size_t			 spoollen;	/* octets in cmd.spool */
	size_t			 litleft;	/* octets of literal to come */
	int			 litfd;		/* the spool while a literal
						 * goes there, or -1 */
	int			 litdiscard;	/* an over-limit {n+}: drop */
	int			 refusing;	/* the rest of a refused
						 * command: drop it */
};

struct imap_command {
	char			 tag[IMAP_TAG_MAX];
	char			 name[IMAP_CMDNAME_MAX];
	int			 uid;		/* UID FETCH etc. */
	int			 nosync;	/* no EXPUNGE in its reply */
	struct imap_arg		*args;
	size_t			 nargs;
	imap_result_cb		 req_cb;	/* the answer awaited (the
						 * request is s->req) */
	struct mbox_client	 mc;		/* its client state */
	void			*state_data;	/* the command's own state */
	void			(*state_free)(void *);
	char			*done_line;	/* tagged reply after a sync */
};

struct imap_selected {
	struct imap_view	*view;		/* NULL: none selected */
	int			 dirty;		/* the vault said: changed */
	int			 syncing;
	int			 resync;	/* news came while syncing */
	void			(*cont)(struct session *); /* after sync */
	int			 idling;	/* in IDLE */
	struct imap_view	*recent_view;	/* imap_view_recent()'s */
	void			(*recent_cont)(struct session *);
};

struct imap {
	struct session		*s;
	TAILQ_ENTRY(imap)	 entry;		/* every IMAP session */
	struct imap_conn	 conn;
	struct imap_assembly	 in;
	struct imap_command	 run;
	struct imap_selected	 sel;
};

/*
 * imap_io.c, for every part (imap_session.c: imap_done, imap_bad,
 * imap_no_status, imap_set_state, which end a command):
 *
 * imap_out(s, p, n)	write octets to the client (an imap_out_fn; its
 *			argument is the session).
 * imap_printf(s, ...)	write formatted text, an untagged response say.
 * imap_done(s, ...)	end the command: the text after the tag, as in
 *			imap_done(s, "OK [APPENDUID %u %u] APPEND completed",
 *			v, u).  "NO ..." and "BAD ..." too.
 * imap_bad(s, text)	end the command with "tag BAD text" and count the
 *			error (too many close the session).
 * imap_no_status(s, status, what)
 *			end the command with the NO (or BYE) that fits a
 *			vault status MBOX_*: [NONEXISTENT], [ALREADYEXISTS],
 *			[CANNOT], [LIMIT], [UNAVAILABLE], [SERVERBUG]...
 * imap_set_state(s, p, fn)
 *			the command's own state: fn(p) runs when it ends.
 * imap_condstore_on(s)	a CONDSTORE enabling command ran: the first one
 *			with a mailbox selected writes its HIGHESTMODSEQ.
 * imap_req_init(s, q, op)
 *			zero q and fill in the session and the operation.
 * imap_vault(s, q, fd, max, cb)
 *			send q (and fd, which it takes over, or -1); cb gets
 *			the answer, with the result fd's content in buf (at
 *			most max octets, else MBOX_EIO), freed after cb
 *			returns.  cb always comes, even when the vault cannot
 *			be reached (MBOX_EIO), possibly before imap_vault
 *			returns: call it last.  imap_vault_search() likewise,
 *			and imap_vault_prog(s, q, prog, cb) for the other
 *			requests with a search program (SORT, THREAD).
 *			The request in flight is the runtime's s->req: a
 *			session that ends first cancels it, and cb is then
 *			not called (nothing is left to call it for).
 * imap_utf8(s)		mailbox names are UTF-8 (IMAP4rev2 or UTF8=ACCEPT
 *			enabled), not modified UTF-7.
 * imap_name_in(s, arg, out, size)
 *			a mailbox name argument (astring) in its stored
 *			form; -1 if not a valid name (answer BAD).
 * imap_name_out(s, name)
 *			write a stored name as the client expects it.
 *
 * Output that waits for the client (a loop that writes much stops and
 * goes on in a continuation) is session_wait_output(), in session.h.
 */
void	 imap_out(void *, const void *, size_t);	/* arg: session */
void	 imap_printf(struct session *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
int	 imap_vault(struct session *, struct mbox_req *, int, size_t,
	    imap_result_cb);
int	 imap_vault_search(struct session *, const char *,
	    const struct search_program *, imap_result_cb);
int	 imap_vault_prog(struct session *, struct mbox_req *,
	    const struct search_program *, imap_result_cb);
void	 imap_req_init(struct session *, struct mbox_req *, uint32_t);
int	 imap_utf8(struct session *);
int	 imap_name_in(struct session *, const struct imap_arg *, char *,
	    size_t);
void	 imap_name_out(struct session *, const char *);

/* imap_session.c */
void	 imap_done(struct session *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 imap_bad(struct session *, const char *);
void	 imap_no_status(struct session *, int, const char *);
void	 imap_set_state(struct session *, void *, void (*)(void *));
void	 imap_condstore_on(struct session *);

/*
 * imap_view.c: the selected mailbox's view and its sync.
 *
 * imap_view_seq(v, uid), imap_view_uid(v, seq)
 *			a message's sequence number, or uid; 0 if none.
 * imap_view_add(v, uid, modseq)
 *			append a message (uid above all others); -1 if not.
 * imap_view_ranges(s, arg, q)
 *			a set argument (sequence numbers, uids for a UID
 *			command, or "$") as uid ranges in q within the view:
 *			0; 1 if nothing can match; -1 if invalid (BAD).
 * imap_view_expunged(s, uids, n)
 *			messages gone: out of the view, told as EXPUNGE
 *			or VANISHED.
 * imap_view_vanished_earlier(s, uids, n)
 *			QRESYNC: "* VANISHED (EARLIER) uids".
 * imap_view_select(s, v)
 *			v, built by SELECT, is the selected mailbox.
 * imap_view_save(v, uids, n), imap_view_save_failed(v)
 *			SEARCHRES: "$" is now uids; or empty.
 * imap_view_free(v), imap_unselect(s)
 *			free a view; leave the selected mailbox.
 * imap_view_notify(s)	the account changed (imap_notify()).
 * imap_sync(s, cont)	bring the view up to date with the vault, writing
 *			the untagged responses, then call cont.
 * imap_flags_fetch(s, seq, m, uid, modseq)
 *			"* seq FETCH (FLAGS ...)" for a message, after
 *			"* FLAGS" if it has a keyword not yet announced.
 * imap_view_recent(s, v, cont)
 *			IMAP4rev1 (RFC 3501 2.3.2): the messages of the
 *			view above the folder's recent mark are this
 *			session's \Recent (claimed unless EXAMINE); then
 *			cont.  imap_view_recent_count(v): how many.
 * imap_view_keywords(v, list), imap_view_flags(s, v),
 * imap_view_keywords_seen(s, list)
 *			the keywords in use that FLAGS announces: add a
 *			list's (1: one was new); write FLAGS and
 *			PERMANENTFLAGS; both, if a list has a new one.
 * imap_result_uids(r, keep, arg, &uids, &n), imap_stream_uids(...)
 *			the uids of an answer, filtered by keep, sorted.
 * imap_result_modseq(r)
 *			the highest MODSEQ among an answer's message
 *			records; 0 if none or the answer failed.
 * imap_uids_ranges(uids, n, q)
 *			sorted uids as ranges in q; -1 if too many.
 * imap_uid_cmp		qsort(3) order of uids.
 */
uint32_t imap_view_seq(const struct imap_view *, uint32_t);
uint32_t imap_view_uid(const struct imap_view *, uint32_t);
int	 imap_view_add(struct imap_view *, uint32_t, uint64_t);
int	 imap_view_ranges(struct session *, const struct imap_arg *,
	    struct mbox_req *);
void	 imap_view_expunged(struct session *, const uint32_t *, size_t);
void	 imap_view_vanished_earlier(struct session *, const uint32_t *,
	    size_t);
void	 imap_view_select(struct session *, struct imap_view *);
void	 imap_view_save(struct imap_view *, const uint32_t *, size_t);
void	 imap_view_save_failed(struct imap_view *);
void	 imap_view_free(struct imap_view *);
void	 imap_unselect(struct session *);
void	 imap_view_notify(struct session *);
void	 imap_sync(struct session *, void (*)(struct session *));
void	 imap_view_recent(struct session *, struct imap_view *,
	    void (*)(struct session *));
uint32_t imap_view_recent_count(const struct imap_view *);
int	 imap_view_keywords(struct imap_view *, const char *);
void	 imap_view_flags(struct session *, const struct imap_view *);
void	 imap_view_keywords_seen(struct session *, const char *);
void	 imap_flags_fetch(struct session *, uint32_t,
	    const struct mbox_stream_msg *, int, int);
int	 imap_result_uids(const struct mbox_result *,
	    int (*)(void *, uint32_t), void *, uint32_t **, size_t *);
uint64_t imap_result_modseq(const struct mbox_result *);
int	 imap_stream_uids(struct mbox_stream_r *, uint32_t,
	    int (*)(void *, uint32_t), void *, uint32_t **, size_t *);
int	 imap_uids_ranges(const uint32_t *, size_t, struct mbox_req *);
int	 imap_uid_cmp(const void *, const void *);

/* The commands: imap_mailbox.c, imap_message.c, imap_query.c and
 * imap_sort.c. */
typedef void (*imap_cmd_fn)(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_create(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_delete(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_rename(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_subscribe(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_unsubscribe(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_list(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_lsub(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_status(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_namespace(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_append(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_getquota(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_getquotaroot(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_select(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_examine(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_fetch(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_store(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_copy(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_move(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_expunge(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_search(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_sort(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_thread(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_close(struct session *, struct imap_arg *, size_t);
void	 imap_cmd_unselect(struct session *, struct imap_arg *, size_t);

#endif /* IMAP_LOCAL_H */
