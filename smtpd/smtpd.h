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

#ifndef SMTPD_H
#define SMTPD_H

#include <sys/queue.h>

#include <stdint.h>

#include "msg.h"
#include "session.h"

#define SMTP_LINE_MAX		510	/* 512 with CRLF: RFC 5321 4.5.3.1.4 */
#define SMTP_AUTH_LINE_MAX	12288	/* AUTH lines: RFC 4954 4 */
#define SMTP_HELO_MAX		255	/* a domain: RFC 5321 4.5.3.1.2 */
#define SMTP_LOCAL_MAX		64	/* RFC 5321 4.5.3.1.1 */
#define SMTP_PATH_MAX		256	/* with the brackets: 4.5.3.1.3 */
#define SMTP_MAX_ERRORS		10	/* bad commands before we hang up */
#define SMTP_MAX_RCPTS		100	/* per message: 4.5.3.1.8 */
#define SMTP_MAX_REFUSED	10	/* refused recipients per session */
#define SMTP_MAX_REFUSED_ADDR	30	/* per client address and window */
#define SMTP_REFUSED_WINDOW	3600	/* seconds */
#define SMTP_REFUSED_SLOTS	1024	/* client addresses remembered */
#define SMTP_MAX_AUTH_FAILS	3	/* per session, then 421 */
#define SMTP_MAX_HOPS		50	/* Received headers: a loop */
#define SMTP_RCPT_DELAY_MS	500	/* before a refused recipient's reply */
#define SMTP_ID_LEN		16	/* hex digits of a transaction id */

/* smtp_path() flags. */
#define SMTP_PATH_NULL		0x01	/* <> is allowed (MAIL) */
#define SMTP_PATH_POSTMASTER	0x02	/* <Postmaster> is (RCPT) */

/* What the session reads next. */
enum smtp_rx {
	SMTP_RX_CMD,		/* command lines */
	SMTP_RX_AUTH,		/* a SASL response line */
	SMTP_RX_DATA,		/* DATA: text lines up to CRLF.CRLF */
	SMTP_RX_BDAT		/* BDAT: a chunk of exactly n octets */
};

enum smtp_authstep {
	SMTP_AUTH_NONE,
	SMTP_AUTH_PLAIN,	/* waiting for the PLAIN response */
	SMTP_AUTH_LOGIN_USER,	/* waiting for the LOGIN user name */
	SMTP_AUTH_LOGIN_PASS	/* waiting for the LOGIN password */
};

/* Why a message is refused once its data has ended (bits). */
#define SMTP_BAD_BARE		0x01	/* bare CR or LF, odd end of data */
#define SMTP_BAD_NUL		0x02	/* NUL byte in DATA */
#define SMTP_BAD_LONG		0x04	/* text line over limit line-length */
#define SMTP_BAD_SIZE		0x08	/* over the size limit */
#define SMTP_BAD_IO		0x10	/* the memfd failed */
#define SMTP_BAD_NOTXN		0x20	/* BDAT without MAIL and RCPT */

struct smtp_rcpt {
	TAILQ_ENTRY(smtp_rcpt)	 entry;
	struct session		*s;
	char			 address[MSG_ADDRESS_MAX];	/* as given */
	char			 account[MSG_ADDRESS_MAX];	/* vault's */
	uint32_t		 req;		/* delivery in flight */
	int			 result;	/* MBOX_*, -1 pending */
	int			 same;		/* an earlier one has its
						 * account: not sent twice */
};
TAILQ_HEAD(smtp_rcpts, smtp_rcpt);

/* The message being received, in a memfd. */
struct smtp_msg {
	int			 fd;		/* -1: none */
	char			*buf;		/* not yet written to fd */
	size_t			 buflen;
	size_t			 hdrlen;	/* our Received header */
	size_t			 size;		/* octets from the client */
	int			 bad;		/* SMTP_BAD_* */
	int			 prevbare;	/* last line ended in bare LF */
	int			 inlong;	/* inside an over-long line */
	int			 lastcr;	/* its last byte was a CR */
	size_t			 scanned;	/* DATA: octets of the line
						 * searched for its LF */
	size_t			 linelen;	/* BDAT: octets of the line
						 * so far, across chunks */
	int			 bdat;		/* this transaction uses BDAT */
	int			 last;		/* the chunk is the LAST one */
	uint64_t		 chunk;		/* its declared size */
	uint64_t		 left;		/* octets of it still to read */
	char			*map;		/* the whole, once it ended */
	size_t			 maplen;
};

struct smtp {
	struct session		*s;
	enum smtp_rx		 rx;
	char			 helo[SMTP_HELO_MAX + 1];
	int			 esmtp;		/* EHLO rather than HELO */

	/* Authentication (submission). */
	enum smtp_authstep	 authstep;
	const char		*authmech;	/* for the log */
	char			 authuser[MSG_ADDRESS_MAX];
	uint32_t		 vsession;	/* vault session, logged in */
	char			 account[MSG_ADDRESS_MAX];
	unsigned int		 authfails;

	/* The mail transaction. */
	int			 inmail;	/* MAIL was accepted */
	char			 from[MSG_ADDRESS_MAX];
	int			 smtputf8;
	struct smtp_rcpts	 rcpts;
	unsigned int		 nrcpts;
	unsigned int		 refused;	/* recipients, this session */
	char			 id[SMTP_ID_LEN + 1];
	struct smtp_msg		 msg;
	unsigned int		 ndeliver;	/* deliveries in flight */

	/* What MAIL or RCPT asked the vault about (s->req). */
	char			 pending[MSG_ADDRESS_MAX];
};

/* smtp_session.c */
extern const struct session_proto smtp_proto;
void	 smtp_accept(int, const struct msg_listener *,
	    const struct front_client *, int);
void	 smtp_reply(struct session *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 smtp_error(struct session *, const char *);
void	 smtp_txn_reset(struct session *, const char *);
void	 smtp_set_rx(struct session *, enum smtp_rx);
int	 smtp_submission(struct session *);

/* smtp_parse.c */
int	 smtp_helo_valid(const char *);
int	 smtp_path(char **, char *, size_t, int);
int	 smtp_nonascii(const char *);
const char *smtp_domain(const char *);

/* smtp_auth.c */
void	 smtp_auth(struct session *, char *);
void	 smtp_auth_line(struct session *, char *, size_t, int);
void	 smtp_auth_toolong(struct session *);
void	 smtp_auth_free(struct smtp *);

/* smtp_data.c */
void	 smtp_data(struct session *, char *);
void	 smtp_bdat(struct session *, char *);
int	 smtp_data_input(struct session *);
int	 smtp_bdat_input(struct session *);
void	 smtp_msg_free(struct smtp_msg *);
void	 smtp_data_free(struct smtp *);
void	 smtp_txn_log(struct session *, size_t, const char *);

#endif /* SMTPD_H */
