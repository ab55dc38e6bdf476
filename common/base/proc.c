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

#include <sys/types.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"
#include "log.h"
#include "proc.h"

/*
 * Options every child takes: -d (log to stderr), -v (more verbose).
 * Anything else is a mistake by whoever started it.
 */
void
proc_child_opts(int argc, char **argv, enum proc_role role,
    struct proc_opts *opts)
{
	int	 ch;

	memset(opts, 0, sizeof(*opts));
	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			opts->foreground = 1;
			break;
		case 'v':
			opts->verbose++;
			break;
		default:
			fprintf(stderr, "usage: %s [-dv]\n", role_name(role));
			exit(1);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s [-dv]\n", role_name(role));
		exit(1);
	}
	log_init(opts->foreground, LOG_MAIL);
	log_procinit(role_name(role));
	log_setverbose(opts->verbose);
	if (fcntl(CTLD_FILENO, F_GETFD) == -1 || isatty(CTLD_FILENO))
		fatalx("%s is started by ctld, not by hand",
		    role_name(role));
	if (sodium_init() == -1)
		fatalx("sodium_init");
}
