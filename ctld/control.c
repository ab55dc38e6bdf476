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
 * The control socket that ctl(8) talks to.  Mode 0660, owned by root and
 * the admin group; each connection's peer credentials are checked again
 * on accept, so a wrong mode on the file is not enough to get in.  Every
 * request carries IMSG_VERSION in its peer id: a ctl from another build
 * is refused, not misread.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <event.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctld.h"
#include "log.h"

#define CONTROL_MAXCONN	32

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct imsgev		 iev;
	uint32_t		 id;	/* names it in requests to vaultd */
	uid_t			 uid;
	pid_t			 pid;
};
static TAILQ_HEAD(, ctl_conn) ctl_conns = TAILQ_HEAD_INITIALIZER(ctl_conns);

static struct event	 control_ev;
static int		 control_fd = -1;
static char		 control_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static gid_t		 control_gid = (gid_t)-1;
static unsigned int	 control_nconn;
static uint32_t		 control_ids;

static void	 control_accept(int, short, void *);
static void	 control_dispatch(struct imsgev *, struct imsg *);
static void	 control_close(struct ctl_conn *);
static int	 control_allowed(uid_t, gid_t);
static void	 control_status(struct ctl_conn *);
static void	 control_admin(struct ctl_conn *, struct imsg *);
static void	 control_fail(struct ctl_conn *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));

void
control_init(const char *path, const char *group)
{
	struct sockaddr_un	 sun;
	struct group		*gr;
	mode_t			 old_umask;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("control socket path too long: %s", path);
	strlcpy(control_path, path, sizeof(control_path));

	/* Refuse to run twice on one socket. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("%s: socket", __func__);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		fatalx("%s: ctld is already running on this socket", path);
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("unlink %s", path);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("%s: socket", __func__);
	old_umask = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", path);
	umask(old_umask);
	if ((gr = getgrnam(group)) != NULL) {
		control_gid = gr->gr_gid;
		if (geteuid() == 0 && chown(path, 0, control_gid) == -1)
			fatal("chown %s", path);
	} else if (geteuid() == 0)
		log_warnx("group %s does not exist: only root may use ctl",
		    group);
	if (chmod(path, 0660) == -1)
		fatal("chmod %s", path);
	if (listen(fd, 16) == -1)
		fatal("listen %s", path);
	control_fd = fd;
}

/* After event_init(): start accepting. */
void
control_listen(void)
{
	event_set(&control_ev, control_fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	event_add(&control_ev, NULL);
}

void
control_cleanup(void)
{
	struct ctl_conn	*c;

	/* Let pending replies (the answer to "ctl stop") go out. */
	TAILQ_FOREACH(c, &ctl_conns, entry)
		imsgbuf_flush(&c->iev.ibuf);
	if (control_fd != -1) {
		if (event_initialized(&control_ev))
			event_del(&control_ev);
		close(control_fd);
		unlink(control_path);
		control_fd = -1;
	}
}

/* root, ctld's own user, or a member of the admin group. */
static int
control_allowed(uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	gid_t		 groups[64];
	int		 i, ngroups = nitems(groups);

	if (uid == 0 || uid == geteuid())
		return (1);
	if (control_gid == (gid_t)-1)
		return (0);
	if (gid == control_gid)
		return (1);
	if ((pw = getpwuid(uid)) == NULL)
		return (0);
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) == -1)
		return (0);
	for (i = 0; i < ngroups; i++)
		if (groups[i] == control_gid)
			return (1);
	return (0);
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	int		 s;

	(void)event;
	(void)arg;
	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept", __func__);
		return;
	}
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("%s: SO_PEERCRED", __func__);
		close(s);
		return;
	}
	if (!control_allowed(cred.uid, cred.gid)) {
		log_audit("ctl-denied", "uid=%u pid=%d",
		    (unsigned int)cred.uid, (int)cred.pid);
		close(s);
		return;
	}
	if (control_nconn >= CONTROL_MAXCONN) {
		log_warnx("control: too many connections");
		close(s);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s: calloc", __func__);
		close(s);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->id = ++control_ids;
	if (imsgev_init(&c->iev, s, "ctl", control_dispatch, c, 0) == -1) {
		free(c);
		close(s);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl_conns, c, entry);
	control_nconn++;
}

static void
control_close(struct ctl_conn *c)
{
	TAILQ_REMOVE(&ctl_conns, c, entry);
	imsgev_clear(&c->iev);
	free(c);
	control_nconn--;
}

static void
control_fail(struct ctl_conn *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	imsgev_vfail(&c->iev, IMSG_VERSION, fmt, ap);
	va_end(ap);
}

static void
status_one(struct ctl_conn *c, const struct child *ch)
{
	struct msg_status	 s;

	memset(&s, 0, sizeof(s));
	s.role = ch->role;
	s.pid = ch->pid;
	s.uid = ch->uid;
	s.state = ch->state;
	s.uptime = ch->pid == -1 ? 0 : time(NULL) - ch->started;
	s.restarts = ch->restarts;
	s.mlocked = ch->role != ROLE_VAULTD || ch->state !=
	    MSG_STATE_RUNNING ? -1 : ch->ready.mlocked != 0;
	strlcpy(s.user, ch->user, sizeof(s.user));
	imsgev_compose(&c->iev, IMSG_CTL_STATUS, IMSG_VERSION, -1, &s,
	    sizeof(s));
}

static void
control_status(struct ctl_conn *c)
{
	struct child	 self;
	struct passwd	*pw;
	int		 role;

	memset(&self, 0, sizeof(self));
	self.role = ROLE_CTLD;
	self.pid = getpid();
	self.uid = geteuid();
	self.state = MSG_STATE_RUNNING;
	self.started = ctld->started;
	if ((pw = getpwuid(self.uid)) != NULL)
		strlcpy(self.user, pw->pw_name, sizeof(self.user));
	status_one(c, &self);
	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++)
		status_one(c, &ctld->children[role]);
	imsgev_compose(&c->iev, IMSG_CTL_END, IMSG_VERSION, -1, NULL, 0);
}

/*
 * Administration is vaultd's: pass the request on, tagged with this
 * connection's id, and relay what comes back (control_relay).  The
 * request may hold passwords: no copy is kept here.
 */
static void
control_admin(struct ctl_conn *c, struct imsg *imsg)
{
	struct child		*vault = &ctld->children[ROLE_VAULTD];
	struct msg_admin	 m;

	if (imsg_get_data(imsg, &m, sizeof(m)) == -1) {
		control_fail(c, "bad request");
		return;
	}
	explicit_bzero(imsg->data, imsg->datalen);
	if (m.op >= ADMIN_OP_MAX) {
		control_fail(c, "bad request");
	} else if (vault->pid == -1 || !vault->iev.active) {
		control_fail(c, "vaultd is not running");
	} else {
		m.uid = c->uid;
		log_audit("ctl", "uid=%u command=admin op=%u",
		    (unsigned int)c->uid, m.op);
		imsgev_compose(&vault->iev, IMSG_CTL_ADMIN, c->id, -1, &m,
		    sizeof(m));
	}
	explicit_bzero(&m, sizeof(m));
}

/* An answer from vaultd for connection id; dropped if it went away. */
void
control_relay(uint32_t id, uint32_t type, const void *data, size_t len)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl_conns, entry) {
		if (c->id == id) {
			imsgev_compose(&c->iev, type, IMSG_VERSION, -1, data,
			    len);
			return;
		}
	}
}

static void
control_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_conn		*c = iev->arg;
	struct msg_verbose	 mv;
	char			 err[256];

	if (imsg == NULL) {
		control_close(c);
		return;
	}
	if (imsg->hdr.peerid != IMSG_VERSION) {
		control_fail(c, "ctl speaks protocol %u, ctld speaks %u: use "
		    "the ctl of this installation", imsg->hdr.peerid,
		    IMSG_VERSION);
		return;
	}
	switch (imsg->hdr.type) {
	case IMSG_CTL_STATUS:
		if (imsg->datalen != 0)
			break;
		control_status(c);
		return;
	case IMSG_CTL_RELOAD:
		log_audit("ctl", "uid=%u command=reload",
		    (unsigned int)c->uid);
		if (ctld_reload(err, sizeof(err)) == -1)
			control_fail(c, "%s", err);
		else
			imsgev_compose(&c->iev, IMSG_CTL_OK, IMSG_VERSION, -1,
			    NULL, 0);
		return;
	case IMSG_CTL_STOP:
		log_audit("ctl", "uid=%u command=stop", (unsigned int)c->uid);
		imsgev_compose(&c->iev, IMSG_CTL_OK, IMSG_VERSION, -1, NULL,
		    0);
		ctld_shutdown();
		return;
	case IMSG_CTL_ADMIN:
		control_admin(c, imsg);
		return;
	case IMSG_CTL_VERBOSE:
		if (imsg_get_data(imsg, &mv, sizeof(mv)) == -1 ||
		    mv.verbose < 0 || mv.verbose > 3)
			break;
		log_audit("ctl", "uid=%u command=log-%s",
		    (unsigned int)c->uid, mv.verbose ? "verbose" : "brief");
		ctld->verbose = mv.verbose;
		log_setverbose(mv.verbose);
		supervise_broadcast(IMSG_LOG_VERBOSE, &mv, sizeof(mv));
		imsgev_compose(&c->iev, IMSG_CTL_OK, IMSG_VERSION, -1, NULL,
		    0);
		return;
	default:
		break;
	}
	log_warnx("control: bad request %s from uid %u",
	    msg_type_name(imsg->hdr.type), (unsigned int)c->uid);
	control_fail(c, "bad request");
}
