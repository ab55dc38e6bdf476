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

#ifndef CTLD_H
#define CTLD_H

#include <sys/types.h>

#include <event.h>
#include <limits.h>
#include <time.h>

#include "common.h"
#include "conf.h"
#include "proc.h"

/* Restart policy: backoff doubles from 1 s up to 60 s; 5 deaths inside
 * 60 s is a crash loop and stops the restarts for that child. */
#define BACKOFF_MIN		1
#define BACKOFF_MAX		60
#define CRASHLOOP_DEATHS	5
#define CRASHLOOP_WINDOW	60
#define STABLE_AFTER		60	/* up this long: backoff resets */
#define STOP_GRACE		10	/* seconds before SIGKILL at stop */

struct child {
	enum proc_role	 role;
	pid_t		 pid;		/* -1 when not running */
	uid_t		 uid;
	char		 user[CONF_USER_MAX];
	int		 state;		/* MSG_STATE_* */
	time_t		 started;
	unsigned int	 restarts;	/* since ctld started */
	time_t		 deaths[CRASHLOOP_DEATHS];
	unsigned int	 backoff;	/* seconds before the next start */
	struct event	 restart_ev;
	struct imsgev	 iev;
	struct msg_ready ready;
};

struct ctld {
	struct conf	*conf;
	const char	*conffile;	/* NULL: built-in */
	char		 libexecdir[PATH_MAX];
	int		 buildtree;	/* run from the source tree */
	int		 foreground;
	int		 verbose;
	int		 stopping;
	time_t		 started;
	struct child	 children[ROLE_COUNT];
	unsigned char	 anonkey[32];
	struct event	 anonkey_ev;
};

extern struct ctld	*ctld;

/* The programs the spawner may run, one per child role. */
struct spawn_programs {
	char		 path[ROLE_COUNT][PATH_MAX];
};

/* ctld.c */
void	 ctld_shutdown(void);
int	 ctld_reload(char *, size_t);

/* supervise.c */
void	 supervise_init(void);
void	 supervise_start_all(void);
void	 supervise_reap(void);
void	 supervise_send_conf(struct child *);
void	 supervise_broadcast(uint32_t, const void *, size_t);
void	 supervise_stop_all(void);
void	 supervise_kill_all(void);
void	 supervise_retry_failed(void);
int	 supervise_alive(void);

/* control.c */
void	 control_init(const char *, const char *);
void	 control_listen(void);
void	 control_relay(uint32_t, uint32_t, const void *, size_t);
void	 control_cleanup(void);

/* listen.c */
int	 listen_open(struct conf *, struct conf *);
void	 listen_close(struct conf *);

/* caps.c */
void	 caps_nodump(void);
void	 caps_drop(void);

/* spawn.c */
int	 spawn_programs(struct spawn_programs *, const char *, int);
void	 spawn_init(const struct spawn_programs *, int);
pid_t	 spawn_pid(void);
pid_t	 spawn_child(enum proc_role, int, int, int);
int	 spawn_serve(int, const struct spawn_programs *);

/* selfsign.c */
int	 selfsign_ensure(const char *, const char *, const char *);

#endif /* CTLD_H */
