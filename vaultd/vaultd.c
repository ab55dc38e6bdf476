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
 * vaultd: the only process that holds keys and opens mailboxes.  It is
 * chrooted to the data directory, runs as its own user with its memory
 * locked, and has no network.  It answers structured requests from the
 * fronts and from ctld over channels ctld makes; it never parses a
 * network protocol or a MIME message.
 */

#include <sys/types.h>

#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "proc.h"

#define VAULT_MAX_PEERS		8

struct vault_peer {
	struct imsgev	 iev;
	enum proc_role	 role;
	int		 greeted;
};

static struct vault_peer	 peers[VAULT_MAX_PEERS];

static void	 vaultd_conf(struct child_conf *, struct child_conf *);
static void	 vaultd_peer(enum proc_role, int);
static void	 vaultd_dispatch(struct imsgev *, struct imsg *);

static const struct child_ops vaultd_ops = {
	vaultd_conf,
	vaultd_peer
};

static void
vaultd_conf(struct child_conf *cc, struct child_conf *old)
{
	(void)cc;
	(void)old;
}

/*
 * A channel from a front.  ctld makes a new one whenever the front (or
 * we) restarted; the front's old channel, if any, is dropped.
 */
static void
vaultd_peer(enum proc_role role, int fd)
{
	struct vault_peer	*p, *slot = NULL;
	size_t			 i;

	if (role != ROLE_SMTPD && role != ROLE_IMAPD) {
		log_warnx("unexpected peer %s", role_name(role));
		close(fd);
		return;
	}
	for (i = 0; i < VAULT_MAX_PEERS; i++) {
		p = &peers[i];
		if (p->iev.active && p->role == role) {
			imsgev_clear(&p->iev);
		}
		if (!p->iev.active && slot == NULL)
			slot = p;
	}
	if (slot == NULL) {
		log_warnx("too many peers");
		close(fd);
		return;
	}
	memset(slot, 0, sizeof(*slot));
	slot->role = role;
	if (imsgev_init(&slot->iev, fd, role_name(role), vaultd_dispatch,
	    slot, 1) == -1)
		fatal("%s", __func__);
}

/*
 * Everything from a front is untrusted: a message that is not exactly
 * what its type declares, or not one we take from that peer, drops the
 * channel (ctld notices nothing; the front waits for a new one).
 */
static void
vaultd_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct vault_peer	*p = iev->arg;
	struct msg_peer		 hello;

	if (imsg == NULL) {
		imsgev_clear(iev);
		return;
	}
	switch (imsg->hdr.type) {
	case IMSG_VAULT_HELLO:
		if (imsg_get_data(imsg, &hello, sizeof(hello)) == -1 ||
		    hello.role != p->role || p->greeted)
			break;
		p->greeted = 1;
		hello.role = ROLE_VAULTD;
		imsgev_compose(iev, IMSG_VAULT_HELLO, 0, -1, &hello,
		    sizeof(hello));
		log_info("%s connected", role_name(p->role));
		return;
	default:
		break;
	}
	log_warnx("refused %s message from %s; dropping the channel",
	    msg_type_name(imsg->hdr.type), role_name(p->role));
	log_audit("vault-bad-request", "peer=%s type=%u", role_name(p->role),
	    imsg->hdr.type);
	imsgev_clear(iev);
}

int
main(int argc, char *argv[])
{
	struct proc_opts	 opts;

	proc_child_opts(argc, argv, ROLE_VAULTD, &opts);
	event_init();
	child_init(ROLE_VAULTD, &vaultd_ops);
	log_debug("started");
	event_dispatch();
	fatalx("event loop ended");
}
