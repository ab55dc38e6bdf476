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
 * What the files of the POP3 session share:
 *
 *	pop3_session.c	the dialogue: commands, logging in, the
 *			multi-line answers (LIST, UIDL, RETR, TOP)
 *	pop3_maildrop.c	the maildrop in the vault: listing it at the
 *			login, and the UPDATE state (QUIT deletes the
 *			DELE'd messages, and only those)
 *	pop3_retr.c	RETR and TOP: the bodies by batches, and the
 *			stuffed answer
 */

#ifndef POP3_LOCAL_H
#define POP3_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "imapd.h"
#include "mbox_client.h"

#define POP3_STATUS_MAX		(64 * 1024)	/* one folder record */

/* What a message of the maildrop carries. */
#define MSG_DELE		0x01	/* DELE in this session */
#define MSG_WAS_DELETED		0x02	/* \Deleted in the vault at login */
#define MSG_OURS		0x04	/* UPDATE: \Deleted set by us */

#define INBOX			"INBOX"

enum pop3_state {
	POP3_AUTHORIZATION,
	POP3_SASL,		/* AUTH PLAIN waits for the response line */
	POP3_TRANSACTION,
	POP3_UPDATE		/* QUIT: the vault is deleting */
};

enum pop3_out {
	OUT_NONE,
	OUT_LIST,
	OUT_UIDL,
	OUT_BODY
};

enum upd_phase {
	UPD_STORE,		/* +\Deleted on the DELE'd uids */
	UPD_EXPUNGE,		/* expunge exactly those */
	UPD_UNDO		/* after a failure: -\Deleted where we set it */
};

struct pop3_msg {
	uint64_t	 size;
	uint32_t	 uid;
	uint32_t	 flags;		/* MSG_* */
};

/* Messages asked for in one request (RETR pipelined, see pop3_retr.c). */
#define POP3_BATCH_MAX		256

/* A message of a batch: where its octets are in the vault's memfd. */
struct pop3_body {
	uint64_t	 off;
	uint64_t	 size;
	uint32_t	 uid;
	int		 sent;		/* answered, or DELE'd */
};

/*
 * The bodies of a batch, as the vault answered MBOX_OP_BODIES: they
 * stay in its sealed memfd (at most MBOX_BODIES_BUDGET, or one larger
 * message) and are read from there a chunk at a time.  asked holds the
 * uids of the request, ascending: one of them at or below last that is
 * not in bodies was expunged meanwhile.
 */
struct pop3_batch {
	int		 fd;		/* -1 while the request is out */
	uint32_t	 req;		/* the request, while it is out */
	struct mbox_client mc;		/* its client state */
	struct session	*s;
	int		 ahead_tried;	/* looked for the next batch */
	uint32_t	 last;		/* the vault looked up to this uid */
	uint32_t	 nasked;
	uint32_t	 nbodies;
	uint32_t	 left;		/* bodies not sent yet */
	uint32_t	 asked[POP3_BATCH_MAX];
	struct pop3_body bodies[POP3_BATCH_MAX];
};

/*
 * The UPDATE state, apart from the session: a client that sent QUIT
 * and went away without waiting still gets its deletions.  It owns the
 * vault session from QUIT on and logs it out when done.
 */
struct pop3_update {
	struct session	*s;		/* NULL once the client is gone */
	unsigned int	 id;		/* the session's, for the log */
	uint32_t	 vsession;
	uint32_t	 req;
	struct mbox_client mc;		/* the request's client state */
	enum upd_phase	 phase;
	uint32_t	*uids;		/* the DELE'd ones, ascending */
	uint8_t		*flags;		/* MSG_WAS_DELETED, MSG_OURS */
	size_t		 nuids;
	size_t		 pos;		/* first uid of the batch */
	size_t		 next;		/* first uid after it */
	uint64_t	 expunged;
	int		 failed;
};

struct pop3 {
	enum pop3_state	 state;
	struct mbox_client mc;		/* its client state (mailbox) */
	uint32_t	 vsession;	/* vault session once logged in */
	char		 user[MSG_ADDRESS_MAX];
	int		 have_user;
	unsigned int	 fails;

	/* The maildrop, as listed at the login. */
	struct pop3_msg	*msgs;
	uint32_t	 nmsgs;
	uint32_t	 uidvalidity;
	uint32_t	 ndele;
	uint64_t	 size;		/* octets, without the DELE'd */

	/* A multi-line answer on its way out. */
	enum pop3_out	 out;
	uint32_t	 cursor;	/* LIST, UIDL: next message */
	uint32_t	 msgno;		/* RETR, TOP: which one */
	int		 top;
	struct pop3_batch *batch;	/* RETR, TOP: the bodies */
	struct pop3_batch *ahead;	/* the next, asked for early */
	uint64_t	 off;		/* in the batch's memfd: next octet */
	uint64_t	 len;		/* and the end of the message */
	uint64_t	 toplines;	/* body lines still to send */
	uint64_t	 linelen;	/* octets so far on this line */
	int		 bol;		/* at the start of a line */
	int		 cr;		/* the last octet was a CR */
	int		 inbody;
	int		 stop;		/* TOP: enough lines */

	struct pop3_update *update;
};

/*
 * pop3_mbox_request(c, vsession, op, flags, ranges, nranges, store_op,
 *     max, cb, arg)
 *			one mailbox request on INBOX; the request id, or 0
 *			if it could not be sent (cb is then not called).
 * pop3_maildrop_open(s)	logged in: list the maildrop, then answer the
 *			login.
 * pop3_update_start(s)	QUIT with messages DELE'd: delete them, answer,
 *			close.
 * pop3_logout(id, vsession)
 *			end a vault session (pop3_session.c).
 * pop3_vault_gone(s)	the vault forgot the session: say so, close.
 * pop3_number(a, &v)	a decimal argument, 0 or -1.
 * pop3_pump(s)		the continuation of a multi-line answer.
 * pop3_out_end(p)	a multi-line answer is over.
 *
 * pop3_retr(s, m, n, top, lines)
 *			RETR (top 0) or TOP of message n, m: from the
 *			batch, or a new batch asked for.
 * pop3_pump_body(s)	a chunk of that answer.
 * pop3_batch_forget(p, uid)
 *			DELE: the body will not be sent.
 * pop3_batch_end(p)	the batch is used up: drop it, keep the one
 *			asked for ahead.
 * pop3_batch_free(p)	drop the batch and the one asked for ahead.
 */
uint32_t pop3_mbox_request(struct mbox_client *, uint32_t, uint32_t,
	    uint32_t, const struct mbox_range *, uint32_t, uint32_t, size_t,
	    mbox_client_cb, void *);
void	 pop3_maildrop_open(struct session *);
void	 pop3_update_start(struct session *);
void	 pop3_logout(unsigned int, uint32_t);
void	 pop3_vault_gone(struct session *);
int	 pop3_number(const char *, uint64_t *);
int	 pop3_pump(struct session *);
void	 pop3_out_end(struct pop3 *);

void	 pop3_retr(struct session *, struct pop3_msg *, uint32_t, int,
	    uint64_t);
int	 pop3_pump_body(struct session *);
void	 pop3_batch_forget(struct pop3 *, uint32_t);
void	 pop3_batch_end(struct pop3 *);
void	 pop3_batch_free(struct pop3 *);

#endif /* POP3_LOCAL_H */
