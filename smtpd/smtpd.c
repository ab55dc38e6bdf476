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
 * smtpd: Tresor's SMTP front.  It faces the internet: it parses every
 * untrusted byte so that vaultd never has to.  Started by ctld, never by
 * hand; it sandboxes itself when its configuration arrives.
 */

#include <sys/types.h>

#include <event.h>
#include <stdlib.h>

#include "front.h"
#include "log.h"
#include "mime.h"
#include "proc.h"
#include "smtpd.h"

static const struct front_ops smtpd_ops = {
	smtp_accept,
	NULL,
	NULL
};

int
main(int argc, char *argv[])
{
	struct proc_opts	 opts;

	proc_child_opts(argc, argv, ROLE_SMTPD, &opts);
	/* iconv loads its converters from files: before the sandbox. */
	mime_init();
	event_init();
	front_init(ROLE_SMTPD, &smtpd_ops);
	log_debug("started");
	event_dispatch();
	fatalx("event loop ended");
}
