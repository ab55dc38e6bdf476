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
 * The children: start them, wire them to each other, hand them their
 * configuration, and bring back the ones that die.
 *
 * Each child is its own program, started with clone+exec so that it
 * gets a fresh address space (and fresh stack and malloc secrets) and
 * nothing of ours.  The spawner (spawn.c) does that for us, because we
 * run under a seccomp filter that the children must not inherit; they
 * are still our children.  Its channel to us is on fd 3.  A front (smtpd, imapd) also
 * needs a channel to vaultd: we make a socketpair for each pair and
 * pass one end to each, again every time either side is restarted.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "ctld.h"
#include "log.h"

static void	 child_start(struct child *);
static void	 child_dispatch(struct imsgev *, struct imsg *);
static void	 child_restart_cb(int, short, void *);
static void	 child_wire(struct child *, struct child *);
static int	 child_serves(enum proc_role, enum proto);
static int	 is_front(enum proc_role);

void
supervise_init(void)
{
	struct child	*c;
	struct passwd	*pw;
	int		 role;

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++) {
		c = &ctld->children[role];
		memset(c, 0, sizeof(*c));
		c->role = role;
		c->pid = -1;
		c->state = MSG_STATE_STARTING;
		c->backoff = BACKOFF_MIN;
		evtimer_set(&c->restart_ev, child_restart_cb, c);
		if (geteuid() == 0) {
			strlcpy(c->user, ctld->conf->user[role],
			    sizeof(c->user));
			if ((pw = getpwnam(c->user)) == NULL)
				fatalx("user %s for %s does not exist (run "
				    "scripts/deps.sh or see ctld(8))", c->user,
				    role_name(role));
			c->uid = pw->pw_uid;
		} else {
			c->uid = geteuid();
			if ((pw = getpwuid(c->uid)) != NULL)
				strlcpy(c->user, pw->pw_name, sizeof(c->user));
			else
				snprintf(c->user, sizeof(c->user), "%u",
				    (unsigned int)c->uid);
		}
	}
}

/* vaultd first, so the fronts can be wired to it as they start. */
void
supervise_start_all(void)
{
	child_start(&ctld->children[ROLE_VAULTD]);
	child_start(&ctld->children[ROLE_SMTPD]);
	child_start(&ctld->children[ROLE_IMAPD]);
}

static int
is_front(enum proc_role role)
{
	return (role == ROLE_SMTPD || role == ROLE_IMAPD);
}

static int
child_serves(enum proc_role role, enum proto proto)
{
	switch (proto) {
	case PROTO_SMTP:
	case PROTO_SUBMISSION:
		return (role == ROLE_SMTPD);
	case PROTO_IMAP:
	case PROTO_POP3:
		return (role == ROLE_IMAPD);
	}
	return (0);
}

static void
child_start(struct child *c)
{
	int		 sp[2];
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sp) == -1)
		fatal("%s: socketpair", __func__);

	/* The spawner starts it for us (spawn.c) and closes sp[1]. */
	if ((pid = spawn_child(c->role, sp[1], ctld->foreground,
	    ctld->verbose)) == -1)
		fatal("%s: cannot start %s", __func__, role_name(c->role));

	c->pid = pid;
	c->started = time(NULL);
	c->state = MSG_STATE_STARTING;
	memset(&c->ready, 0, sizeof(c->ready));
	if (imsgev_init(&c->iev, sp[0], role_name(c->role), child_dispatch,
	    c, 0) == -1)
		fatal("%s: imsgev_init", __func__);
	log_debug("started %s, pid %d", role_name(c->role), (int)pid);

	supervise_send_conf(c);
	if (c->role == ROLE_VAULTD) {
		child_wire(&ctld->children[ROLE_SMTPD], c);
		child_wire(&ctld->children[ROLE_IMAPD], c);
	} else
		child_wire(c, &ctld->children[ROLE_VAULTD]);
}

/* A fresh channel between a front and vaultd, one end to each. */
static void
child_wire(struct child *front, struct child *vault)
{
	struct msg_peer	 peer;
	int		 sp[2];

	if (front->pid == -1 || vault->pid == -1 || !front->iev.active ||
	    !vault->iev.active)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sp) == -1)
		fatal("%s: socketpair", __func__);
	memset(&peer, 0, sizeof(peer));
	peer.role = ROLE_VAULTD;
	imsgev_compose(&front->iev, IMSG_SETUP_PEER, 0, sp[0], &peer,
	    sizeof(peer));
	peer.role = front->role;
	imsgev_compose(&vault->iev, IMSG_SETUP_PEER, 0, sp[1], &peer,
	    sizeof(peer));
}

/*
 * The child's part of the configuration, as a sequence of messages it
 * applies at IMSG_CONF_END.  Listener sockets and the certificate and
 * key files travel as fds: the fronts never open a file.
 */
void
supervise_send_conf(struct child *c)
{
	struct conf		*conf = ctld->conf;
	struct msg_conf		 mc;
	struct msg_front	 mcf;
	struct msg_vault	 mcv;
	struct msg_domain	 md;
	struct msg_listener	 ml;
	struct msg_verbose	 mv;
	struct listener		*l;
	struct domain		*d;
	int			 fd, tls = 0;

	memset(&mc, 0, sizeof(mc));
	mc.role = c->role;
	strlcpy(mc.chroot, c->role == ROLE_VAULTD ? conf->datadir :
	    conf->emptydir, sizeof(mc.chroot));
	strlcpy(mc.user, c->user, sizeof(mc.user));
	mc.log_plain_addresses = conf->log_plain_addresses;
	imsgev_compose(&c->iev, IMSG_CONF_START, 0, -1, &mc, sizeof(mc));

	/* Only the child's own part: a front never holds the KDF cost. */
	if (msg_conf_for(IMSG_CONF_VAULT, c->role)) {
		memset(&mcv, 0, sizeof(mcv));
		mcv.kdf_ops = conf->vault.kdf_ops;
		mcv.kdf_memory = conf->vault.kdf_memory;
		mcv.lock_grace = conf->vault.lock_grace;
		mcv.allow_unlocked_memory =
		    conf->vault.allow_unlocked_memory != 0;
		imsgev_compose(&c->iev, IMSG_CONF_VAULT, 0, -1, &mcv,
		    sizeof(mcv));
	} else if (msg_conf_for(IMSG_CONF_FRONT, c->role)) {
		memset(&mcf, 0, sizeof(mcf));
		strlcpy(mcf.hostname, conf->hostname, sizeof(mcf.hostname));
		strlcpy(mcf.tls_ciphers, conf->tls_ciphers,
		    sizeof(mcf.tls_ciphers));
		mcf.limits = conf->limits;
		imsgev_compose(&c->iev, IMSG_CONF_FRONT, 0, -1, &mcf,
		    sizeof(mcf));
	}

	TAILQ_FOREACH(d, &conf->domains, entry) {
		memset(&md, 0, sizeof(md));
		strlcpy(md.name, d->name, sizeof(md.name));
		imsgev_compose(&c->iev, IMSG_CONF_DOMAIN, 0, -1, &md,
		    sizeof(md));
	}

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (!child_serves(c->role, l->proto) || l->fd == -1)
			continue;
		if ((fd = dup(l->fd)) == -1)
			fatal("%s: dup", __func__);
		memset(&ml, 0, sizeof(ml));
		memcpy(&ml.ss, &l->ss, sizeof(ml.ss));
		ml.sslen = l->sslen;
		ml.port = l->port;
		ml.proto = l->proto;
		ml.tls = l->tls;
		ml.plaintext_auth = l->plaintext_auth;
		imsgev_compose(&c->iev, IMSG_CONF_LISTENER, 0, fd, &ml,
		    sizeof(ml));
		if (l->tls != TLSMODE_NONE)
			tls = 1;
	}

	if (tls && is_front(c->role)) {
		if ((fd = open(conf->tls_cert, O_RDONLY | O_CLOEXEC)) == -1)
			log_warn("%s", conf->tls_cert);
		else
			imsgev_compose(&c->iev, IMSG_CONF_TLS_CERT, 0, fd,
			    NULL, 0);
		if ((fd = open(conf->tls_key, O_RDONLY | O_CLOEXEC)) == -1)
			log_warn("%s", conf->tls_key);
		else
			imsgev_compose(&c->iev, IMSG_CONF_TLS_KEY, 0, fd,
			    NULL, 0);
	}
	imsgev_compose(&c->iev, IMSG_CONF_END, 0, -1, NULL, 0);

	mv.verbose = ctld->verbose;
	imsgev_compose(&c->iev, IMSG_LOG_VERBOSE, 0, -1, &mv, sizeof(mv));
	if (!conf->log_plain_addresses)
		imsgev_compose(&c->iev, IMSG_LOG_ANONKEY, 0, -1, ctld->anonkey,
		    sizeof(ctld->anonkey));
}

void
supervise_broadcast(uint32_t type, const void *data, size_t len)
{
	int	 role;

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++)
		if (ctld->children[role].pid != -1)
			imsgev_compose(&ctld->children[role].iev, type, 0, -1,
			    data, len);
}

/*
 * A child speaks to us only to say it is ready.  Anything else, or a
 * malformed message, means it is broken: it is stopped and the normal
 * restart path brings it back.
 */
static void
child_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct child	*c = iev->arg;
	struct msg_log	 ml;
	char		*p;

	if (imsg == NULL)
		goto drop;
	switch (imsg->hdr.type) {
	case IMSG_CTL_LINE:
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
		/* Answers to ctl's admin requests; only vaultd gives them. */
		if (c->role != ROLE_VAULTD)
			goto bad;
		control_relay(imsg->hdr.peerid, imsg->hdr.type, imsg->data,
		    imsg->datalen);
		return;
	case IMSG_LOG:
		if (imsg_get_data(imsg, &ml, sizeof(ml)) == -1 ||
		    !MSG_STR(ml.text) || ml.priority < LOG_EMERG ||
		    ml.priority > LOG_DEBUG)
			goto bad;
		/* The name is ours to give: a child cannot pose as another. */
		for (p = ml.text; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		logit(ml.priority, "%s[%d]: %s", role_name(c->role),
		    (int)c->pid, ml.text);
		return;
	case IMSG_CHILD_READY:
		if (imsg_get_data(imsg, &c->ready, sizeof(c->ready)) == -1 ||
		    c->ready.role != (uint32_t)c->role)
			goto bad;
		c->state = MSG_STATE_RUNNING;
		log_info("%s ready, pid %d: chroot %s, %s, seccomp %s, "
		    "landlock %s%s", role_name(c->role), (int)c->pid,
		    c->ready.chrooted ? "yes" : "no",
		    c->ready.uid_dropped ? c->user : "same user",
		    c->ready.seccomp ? "yes" : "no",
		    c->ready.landlock_abi ? "yes" : "no",
		    c->role != ROLE_VAULTD ? "" : c->ready.mlocked ?
		    ", memory locked" : ", memory NOT locked");
		return;
	default:
		goto bad;
	}
 bad:
	log_warnx("unexpected %s message from %s",
	    msg_type_name(imsg->hdr.type), role_name(c->role));
 drop:
	imsgev_clear(iev);
	if (c->pid != -1)
		kill(c->pid, SIGTERM);
}

/* Called on SIGCHLD: collect the dead and decide about restarts. */
void
supervise_reap(void)
{
	struct child	*c;
	struct timeval	 tv;
	char		 cause[64];
	time_t		 now;
	pid_t		 pid;
	unsigned int	 i, recent;
	int		 status, role;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == spawn_pid()) {
			/* Without it no child can be started again. */
			if (!ctld->stopping)
				fatalx("the spawner exited (status %d)",
				    status);
			continue;
		}
		c = NULL;
		for (role = ROLE_SMTPD; role < ROLE_COUNT; role++)
			if (ctld->children[role].pid == pid)
				c = &ctld->children[role];
		if (c == NULL)
			continue;

		if (WIFSIGNALED(status))
			snprintf(cause, sizeof(cause), "signal-%d",
			    WTERMSIG(status));
		else
			snprintf(cause, sizeof(cause), "exit-%d",
			    WEXITSTATUS(status));
		now = time(NULL);
		imsgev_clear(&c->iev);
		c->pid = -1;
		if (ctld->stopping) {
			log_debug("%s stopped (%s)", role_name(c->role),
			    cause);
			continue;
		}
		log_warnx("lost child: %s, pid %d, %s", role_name(c->role),
		    (int)pid, cause);
		log_audit("child-exit", "role=%s pid=%d cause=%s",
		    role_name(c->role), (int)pid, cause);

		/* Crash loop: CRASHLOOP_DEATHS within CRASHLOOP_WINDOW. */
		memmove(&c->deaths[1], &c->deaths[0],
		    sizeof(c->deaths[0]) * (CRASHLOOP_DEATHS - 1));
		c->deaths[0] = now;
		for (i = 0, recent = 0; i < CRASHLOOP_DEATHS; i++)
			if (c->deaths[i] != 0 &&
			    now - c->deaths[i] < CRASHLOOP_WINDOW)
				recent++;
		if (recent >= CRASHLOOP_DEATHS) {
			c->state = MSG_STATE_FAILED;
			log_warnx("%s is in a crash loop (%u deaths in %d "
			    "seconds): not restarting it; fix the cause and "
			    "run \"ctl reload\"", role_name(c->role), recent,
			    CRASHLOOP_WINDOW);
			log_audit("crash-loop", "role=%s deaths=%u",
			    role_name(c->role), recent);
			continue;
		}

		if (now - c->started >= STABLE_AFTER)
			c->backoff = BACKOFF_MIN;
		c->state = MSG_STATE_RESTARTING;
		timerclear(&tv);
		tv.tv_sec = c->backoff;
		evtimer_add(&c->restart_ev, &tv);
		log_info("restarting %s in %u s", role_name(c->role),
		    c->backoff);
		c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
		    c->backoff * 2;
	}
}

static void
child_restart_cb(int fd, short event, void *arg)
{
	struct child	*c = arg;

	(void)fd;
	(void)event;
	if (ctld->stopping || c->pid != -1)
		return;
	c->restarts++;
	child_start(c);
	log_audit("child-restart", "role=%s pid=%d restarts=%u",
	    role_name(c->role), (int)c->pid, c->restarts);
}

/*
 * After "ctl reload": children given up on after a crash loop get
 * another chance.
 */
void
supervise_retry_failed(void)
{
	struct child	*c;
	int		 role;

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++) {
		c = &ctld->children[role];
		if (c->state != MSG_STATE_FAILED)
			continue;
		memset(c->deaths, 0, sizeof(c->deaths));
		c->backoff = BACKOFF_MIN;
		c->restarts++;
		child_start(c);
	}
}

void
supervise_stop_all(void)
{
	int	 role;

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++) {
		evtimer_del(&ctld->children[role].restart_ev);
		if (ctld->children[role].pid != -1)
			kill(ctld->children[role].pid, SIGTERM);
	}
}

void
supervise_kill_all(void)
{
	struct child	*c;
	int		 role;

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++)
		if (ctld->children[role].pid != -1)
			kill(ctld->children[role].pid, SIGKILL);
	/*
	 * Each by its pid: the spawner is our child too and lives until
	 * we exit, so waiting for any child would never end.
	 */
	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++) {
		c = &ctld->children[role];
		while (c->pid != -1 && waitpid(c->pid, NULL, 0) == -1 &&
		    errno == EINTR)
			;
		c->pid = -1;
	}
}

int
supervise_alive(void)
{
	int	 role, n = 0;

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++)
		if (ctld->children[role].pid != -1)
			n++;
	return (n);
}
