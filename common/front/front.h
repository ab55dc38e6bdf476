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
 * front: what smtpd and imapd share as network fronts: listening, the
 * connection limits (in total, per client address and per client
 * network: netprefix.h), the TLS server context, and the channel to
 * vaultd.
 */

#ifndef FRONT_H
#define FRONT_H

#include <sys/socket.h>

#include "child.h"

struct tls;

/* Why a connection is refused before its session starts. */
#define FRONT_OK		0
#define FRONT_TOO_MANY		1	/* over the total limit */
#define FRONT_TOO_MANY_ADDR	2	/* over the per-address limit */
#define FRONT_TOO_MANY_NET	3	/* over the per-network limit */

struct front_client {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 addr[64];	/* as logged */
};

struct front_ops {
	/* A new connection; refused != FRONT_OK: say so and close fd. */
	void	(*accept)(int, const struct msg_listener *,
		    const struct front_client *, int);
	/* A message from vaultd that answers no request (NULL: the
	 * channel is gone); -1 if it is not one this front expects, and
	 * the channel is dropped.  May be NULL. */
	int	(*vault)(struct imsg *);
	/* The configuration changed (limits, domains, TLS). */
	void	(*reconf)(void);
};

void		 front_init(enum proc_role, const struct front_ops *);
void		 front_conn_closed(const struct front_client *);
struct tls	*front_tls(void);
const struct msg_front *front_conf(void);
int		 front_vault_ready(void);
int		 front_vault_compose(uint32_t, uint32_t, int, const void *,
		    size_t);

/*
 * A request to vaultd whose answer comes back to cb (with the answer,
 * or NULL if the vault went away first).  Returns the request id, 0 if
 * the vault is not reachable now (cb is not called then).  A session
 * that ends before the answer cancels its request.
 */
typedef void (*front_vault_cb)(void *, struct imsg *);
uint32_t	 front_vault_request(uint32_t, int, const void *, size_t,
		    front_vault_cb, void *);
void		 front_vault_cancel(uint32_t);

/*
 * Logins, the same for every front: ask the vault (the answer goes to
 * cb like any request's), then read the answer: MBOX_OK with the vault
 * session and account, or why not (MBOX_EAUTH, MBOX_ELOCKED, or
 * MBOX_ETEMP, also when the vault went away or made no sense).
 * Over-long credentials go as empty ones, which the vault refuses and
 * counts like any wrong credential.
 */
uint32_t	 front_auth_request(const char *, const char *,
		    const struct front_client *, enum proto, front_vault_cb,
		    void *);
int		 front_auth_answer(struct imsg *, struct msg_auth_result *);

#endif /* FRONT_H */
