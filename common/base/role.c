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
 * The names of the processes' roles (enum proc_role, common.h), for
 * logs, the sandbox and ctl.
 */

#include <string.h>

#include "common.h"

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_CTLD] = "ctld",
	[ROLE_SMTPD] = "smtpd",
	[ROLE_IMAPD] = "imapd",
	[ROLE_VAULTD] = "vaultd",
};

const char *
role_name(enum proc_role role)
{
	if ((unsigned int)role >= ROLE_COUNT)
		return ("unknown");
	return (role_names[role]);
}

int
role_from_name(const char *name)
{
	int	 i;

	for (i = 0; i < ROLE_COUNT; i++)
		if (strcmp(role_names[i], name) == 0)
			return (i);
	return (-1);
}
