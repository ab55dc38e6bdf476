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
 * imapd: Tresor's IMAP and POP3 front.  Like smtpd, it parses all that
 * clients send and asks vaultd for data with structured requests only.
 */

#include <sys/types.h>

#include <event.h>
#include <stdlib.h>

#include "front.h"
#include "imapd.h"
#include "log.h"
#include "mime.h"
#include "proc.h"

static void	 imapd_accept(int, const struct msg_listener *,
		    const struct front_client *, int);
static int	 imapd_vault(struct imsg *);

static const struct front_ops imapd_ops = {
	imapd_accept,
	imapd_vault,
	NULL
};

static void
imapd_accept(int fd, const struct msg_listener *l,
    const struct front_client *client, int refused)
{
	session_accept(fd, l, client, refused,
	    l->proto == PROTO_POP3 ? &pop3_proto : &imap_proto);
}

/* News from the vault that answers no request: an account changed. */
static int
imapd_vault(struct imsg *imsg)
{
	struct msg_session	 ms;

	if (imsg == NULL) {
		imap_vault_lost();
		return (0);
	}
	if (imsg->hdr.type != IMSG_MBOX_NOTIFY ||
	    imsg_get_data(imsg, &ms, sizeof(ms)) == -1)
		return (-1);
	imap_notify(ms.session);
	return (0);
}

int
main(int argc, char *argv[])
{
	struct proc_opts	 opts;

	proc_child_opts(argc, argv, ROLE_IMAPD, &opts);
	/* APPEND parses messages; the converters load files. */
	mime_init();
	event_init();
	front_init(ROLE_IMAPD, &imapd_ops);
	log_debug("started");
	event_dispatch();
	fatalx("event loop ended");
}
