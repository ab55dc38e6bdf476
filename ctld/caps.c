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
 * What ctld keeps of root.  ctld stays uid 0 (it starts children that
 * must chroot and change users), but only with the capabilities it and
 * its children use; every other one leaves the bounding set too, so no
 * child exec'd as root gets it back.  See docs/decisions.md and ctld(8).
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctld.h"
#include "log.h"

static const struct {
	int		 cap;
	const char	*name;
} caps_keep[] = {
	/* ctld: chown of the data directory and the control socket. */
	{ CAP_CHOWN,		"chown" },
	/* ctld: mkdir where it is asked to; children: chroot into datadir. */
	{ CAP_DAC_OVERRIDE,	"dac_override" },
	/* ctld: chmod of the data directory once it belongs to vaultd. */
	{ CAP_FOWNER,		"fowner" },
	/* ctld: SIGTERM/SIGKILL to children running as other users. */
	{ CAP_KILL,		"kill" },
	/* children: setgroups, setresgid, setresuid to their users. */
	{ CAP_SETGID,		"setgid" },
	{ CAP_SETUID,		"setuid" },
	/* ctld: ports below 1024, at start and on reload. */
	{ CAP_NET_BIND_SERVICE,	"net_bind_service" },
	/* children: chroot. */
	{ CAP_SYS_CHROOT,	"sys_chroot" },
	/* children: raise RLIMIT_NOFILE, lift RLIMIT_MEMLOCK. */
	{ CAP_SYS_RESOURCE,	"sys_resource" },
};

static int	caps_kept(int);

/* No core file, no ptrace by the same user; the children do the same. */
void
caps_nodump(void)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
}

static int
caps_kept(int cap)
{
	size_t	 i;

	for (i = 0; i < sizeof(caps_keep) / sizeof(caps_keep[0]); i++)
		if (caps_keep[i].cap == cap)
			return (1);
	return (0);
}

/*
 * Drop from the bounding set first (that needs CAP_SETPCAP, which goes
 * next), then from the effective, permitted and inheritable sets.  A
 * capability the machine does not give us is simply not there.
 */
void
caps_drop(void)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 cur[_LINUX_CAPABILITY_U32S_3];
	struct __user_cap_data_struct	 data[_LINUX_CAPABILITY_U32S_3];
	char				 kept[256], missing[256];
	size_t				 i;
	int				 cap, r, bndfail = 0;

	if (geteuid() != 0) {
		log_debug("capabilities: not root, nothing to drop");
		return;
	}

	for (cap = 0; ; cap++) {
		if ((r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) == -1) {
			if (errno == EINVAL)
				break;		/* past the kernel's last */
			fatal("PR_CAPBSET_READ %d", cap);
		}
		if (r == 0 || caps_kept(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
			if (errno != EPERM)
				fatal("PR_CAPBSET_DROP %d", cap);
			bndfail = 1;	/* no CAP_SETPCAP: a container */
		}
	}
	if (bndfail)
		log_warnx("capabilities: no CAP_SETPCAP, the bounding set "
		    "stays as it is");

	memset(&hdr, 0, sizeof(hdr));
	memset(cur, 0, sizeof(cur));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, cur) == -1)
		fatal("capget");
	kept[0] = missing[0] = '\0';
	for (i = 0; i < sizeof(caps_keep) / sizeof(caps_keep[0]); i++) {
		cap = caps_keep[i].cap;
		if (cur[CAP_TO_INDEX(cap)].permitted & CAP_TO_MASK(cap)) {
			data[CAP_TO_INDEX(cap)].permitted |= CAP_TO_MASK(cap);
			data[CAP_TO_INDEX(cap)].effective |= CAP_TO_MASK(cap);
			strlcat(kept, kept[0] ? "," : "", sizeof(kept));
			strlcat(kept, caps_keep[i].name, sizeof(kept));
		} else {
			strlcat(missing, missing[0] ? "," : "",
			    sizeof(missing));
			strlcat(missing, caps_keep[i].name, sizeof(missing));
		}
	}
	/* The inheritable set stays empty. */
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("capset");
	log_info("capabilities: kept %s%s%s", kept[0] ? kept : "none",
	    missing[0] ? "; not given to us: " : "", missing);
}
