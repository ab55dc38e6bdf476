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

#ifndef IMAPD_H
#define IMAPD_H

#include "session.h"

/*
 * A command line, without CRLF: as long as a whole command (imap.h's
 * IMAP_INLINE_MAX), since RFC 2971's largest ID (30 pairs of 30 and
 * 1024 octets, about 31 KB) and long UID sets come on one line.
 */
#define IMAP_LINE_MAX		(64 * 1024)
#define POP3_LINE_MAX		253	/* 255 with CRLF: RFC 2449 4 */
#define IMAP_MAX_ERRORS		20
#define IMAP_ACCOUNT_SESSIONS	32	/* IMAP sessions of one account */
#define POP3_MAX_ERRORS		10

/* POP3 (pop3_session.c). */
#define POP3_SASL_LINE_MAX	4096	/* an AUTH PLAIN response line */
#define POP3_AUTH_FAILS_MAX	3	/* per connection, then closed */
#define POP3_IDLE_MIN		600	/* seconds once logged in: RFC 1939 3 */
#define POP3_MSGS_MAX		1000000	/* messages in one maildrop */
#define POP3_LISTING_MAX	(128 * 1024 * 1024) /* octets of its listing */

/* imap_session.c */
extern const struct session_proto imap_proto;
void	 imap_notify(uint32_t);
void	 imap_vault_lost(void);

/* pop3_session.c */
extern const struct session_proto pop3_proto;

#endif /* IMAPD_H */
