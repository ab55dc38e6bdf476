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
 * child: what every process started by ctld shares.  It owns the channel
 * to ctld on CTLD_FILENO, collects a configuration (IMSG_CONF_START ..
 * IMSG_CONF_END) and hands it whole to the role, sandboxes the process
 * when the first configuration arrives, and passes on new channels to
 * peers.  When ctld goes away, the child exits.
 */

#ifndef CHILD_H
#define CHILD_H

#include <sys/queue.h>

#include "msg.h"
#include "proc.h"

#define CHILD_MAX_LISTENERS	1024
#define CHILD_MAX_DOMAINS	4096
#define CHILD_MAX_PEMSIZE	(1024 * 1024)

struct child_listener {
	TAILQ_ENTRY(child_listener)	 entry;
	struct msg_listener		 conf;
	int				 fd;
	struct event			 ev;
	int				 paused;
};
TAILQ_HEAD(child_listeners, child_listener);

struct child_domain {
	TAILQ_ENTRY(child_domain)	 entry;
	char				 name[CONF_NAME_MAX];
};
TAILQ_HEAD(child_domains, child_domain);

/* One complete configuration, as received from ctld: the common part
 * and the part of this child's role (the other stays zero). */
struct child_conf {
	struct msg_conf		 conf;
	struct msg_front	 front;		/* smtpd, imapd */
	struct msg_vault	 vault;		/* vaultd */
	int			 have_part;	/* its role's part came */
	struct child_domains	 domains;
	struct child_listeners	 listeners;
	unsigned char		*cert;		/* sodium_malloc'd PEM */
	size_t			 certlen;
	unsigned char		*key;
	size_t			 keylen;
};

struct child_ops {
	/* Take the new configuration; the old one is freed after. */
	void	(*conf_apply)(struct child_conf *, struct child_conf *);
	/* A channel to a peer process (ctld made it). */
	void	(*peer)(enum proc_role, int);
	/* Any other message from ctld; -1 if the role takes none such. */
	int	(*ctld)(struct imsgev *, struct imsg *);
	/* The process is about to exit (a signal, or ctld gone); or NULL. */
	void	(*shutdown)(void);
};

void			 child_init(enum proc_role, const struct child_ops *);
const struct child_conf	*child_conf(void);
struct sandbox_report;
const struct sandbox_report *child_report(void);
void			 child_conf_free(struct child_conf *);
int			 child_is_local_domain(const char *);

#endif /* CHILD_H */
