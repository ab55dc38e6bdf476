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
 * What every Tresor program shares: version, process roles, and the
 * compile-time defaults that the built-in configuration starts from.
 */

#ifndef COMMON_H
#define COMMON_H

#define TRESOR_VERSION		"0.1"

#ifndef __dead
#define __dead			__attribute__((__noreturn__))
#endif

#ifndef __unused
#define __unused		__attribute__((__unused__))
#endif

#define nitems(a)		(sizeof(a) / sizeof((a)[0]))

/*
 * The processes.  ctld is the parent; the others are its children and
 * are started by re-executing their own program with the parent's
 * channel on CTLD_FILENO.
 */
enum proc_role {
	ROLE_CTLD,
	ROLE_SMTPD,
	ROLE_IMAPD,
	ROLE_VAULTD,
	ROLE_COUNT
};

/* The channel to ctld that every child finds open at start. */
#define CTLD_FILENO		3

/* Where installed programs live; overridden by the Makefile. */
#ifndef LIBEXECDIR
#define LIBEXECDIR		"/usr/local/libexec/tresor"
#endif

/* The users and group a root-started ctld runs its children as. */
#define USER_SMTPD		"_tresor-smtpd"
#define USER_IMAPD		"_tresor-imapd"
#define USER_VAULTD		"_tresor-vaultd"
#define GROUP_CTL		"_tresor-ctl"

/* The built-in configuration's control socket, which ctl looks for. */
#define DEFAULT_CTLSOCK		"var/run/ctl.sock"

const char	*role_name(enum proc_role);
int		 role_from_name(const char *);

#endif /* COMMON_H */
