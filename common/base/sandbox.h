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
 * sandbox: what each child does to itself before it serves anything.
 *
 * In order: look up its user, raise or lower resource limits, lock its
 * memory (vaultd), chroot and chdir, drop to its own user and group,
 * PR_SET_NO_NEW_PRIVS, no core dumps and not dumpable, Landlock where
 * the kernel has it, then a seccomp allow-list made for its role.
 * Started by a normal user, a child does what an unprivileged process
 * can and logs each step it had to skip.
 */

#ifndef SANDBOX_H
#define SANDBOX_H

#include "common.h"

struct sandbox_report {
	int	 chrooted;
	int	 uid_dropped;
	int	 no_new_privs;
	int	 seccomp;
	int	 landlock_abi;	/* 0 when Landlock is not in force */
	int	 mlocked;
};

void	sandbox_enter(enum proc_role, const char *, const char *,
	    struct sandbox_report *);

/*
 * ctld itself: PR_SET_NO_NEW_PRIVS and a seccomp allow-list, after it
 * has forked the process that starts the children (ctld/spawn.c).
 */
void	sandbox_supervisor(void);

#endif /* SANDBOX_H */
