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

#include <errno.h>
#include <event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "child.h"
#include "log.h"
#include "peerfd.h"
#include "sandbox.h"

static struct {
	enum proc_role		 role;
	const struct child_ops	*ops;
	struct imsgev		 iev;
	struct child_conf	*conf;		/* in force */
	struct child_conf	*pending;	/* being received */
	int			 sandboxed;
	int			 ready_sent;
	struct sandbox_report	 report;
	struct event		 ev_sigterm, ev_sigint, ev_sighup;
} child;

static void	 child_dispatch(struct imsgev *, struct imsg *);
static void	 child_sig(int, short, void *);
static void	 child_exit(void) __attribute__((__noreturn__));
static struct child_conf *child_conf_new(void);
static void	 child_log(int, const char *);

void
child_init(enum proc_role role, const struct child_ops *ops)
{
	child.role = role;
	child.ops = ops;
	signal(SIGPIPE, SIG_IGN);
	signal_set(&child.ev_sigterm, SIGTERM, child_sig, NULL);
	signal_set(&child.ev_sigint, SIGINT, child_sig, NULL);
	signal_set(&child.ev_sighup, SIGHUP, child_sig, NULL);
	signal_add(&child.ev_sigterm, NULL);
	signal_add(&child.ev_sigint, NULL);
	signal_add(&child.ev_sighup, NULL);
	if (imsgev_init(&child.iev, CTLD_FILENO, "ctld", child_dispatch, NULL,
	    1) == -1)
		fatal("%s: imsgev_init", __func__);
	log_set_forward(child_log);
}

/*
 * A log line, sent to ctld for syslog.  Lines about to end the process
 * (fatal) are flushed at once: the process will not get back to its
 * event loop.  If the channel is gone there is no one left to tell.
 */
static void
child_log(int pri, const char *text)
{
	struct msg_log	 ml;

	if (!child.iev.active)
		return;
	memset(&ml, 0, sizeof(ml));
	ml.priority = pri;
	strlcpy(ml.text, text, sizeof(ml.text));
	if (imsg_compose(&child.iev.ibuf, IMSG_LOG, 0, 0, -1, &ml,
	    sizeof(ml)) == -1)
		return;
	if (pri <= LOG_CRIT)
		imsgbuf_flush(&child.iev.ibuf);
	else
		imsgev_update(&child.iev);
}

/* What the sandbox put in force, for the role to act on. */
const struct sandbox_report *
child_report(void)
{
	return (&child.report);
}

const struct child_conf *
child_conf(void)
{
	return (child.conf);
}

/* Is the domain (any case) one of ours? */
int
child_is_local_domain(const char *name)
{
	struct child_domain	*d;

	if (child.conf == NULL)
		return (0);
	TAILQ_FOREACH(d, &child.conf->domains, entry)
		if (strcasecmp(d->name, name) == 0)
			return (1);
	return (0);
}

/* A clean end: the role puts its state away first. */
static void
child_exit(void)
{
	if (child.ops != NULL && child.ops->shutdown != NULL)
		child.ops->shutdown();
	exit(0);
}

static void
child_sig(int sig, short event, void *arg)
{
	(void)event;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("exiting on signal %d", sig);
		child_exit();
	case SIGHUP:
		/* Reloads come from ctld, over the channel. */
		break;
	}
}

static struct child_conf *
child_conf_new(void)
{
	struct child_conf	*cc;

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		fatal("%s", __func__);
	TAILQ_INIT(&cc->domains);
	TAILQ_INIT(&cc->listeners);
	return (cc);
}

void
child_conf_free(struct child_conf *cc)
{
	struct child_listener	*l;
	struct child_domain	*d;

	if (cc == NULL)
		return;
	while ((l = TAILQ_FIRST(&cc->listeners)) != NULL) {
		TAILQ_REMOVE(&cc->listeners, l, entry);
		if (l->fd != -1)
			close(l->fd);
		free(l);
	}
	while ((d = TAILQ_FIRST(&cc->domains)) != NULL) {
		TAILQ_REMOVE(&cc->domains, d, entry);
		free(d);
	}
	if (cc->cert != NULL)
		sodium_free(cc->cert);
	if (cc->key != NULL)
		sodium_free(cc->key);	/* sodium_free wipes it */
	free(cc);
}

static void
child_count(struct child_conf *cc, size_t *nl, size_t *nd)
{
	struct child_listener	*l;
	struct child_domain	*d;

	*nl = *nd = 0;
	TAILQ_FOREACH(l, &cc->listeners, entry)
		(*nl)++;
	TAILQ_FOREACH(d, &cc->domains, entry)
		(*nd)++;
}

static void
child_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct child_conf	*cc, *old;
	struct child_listener	*l;
	struct child_domain	*d;
	struct msg_peer		 peer;
	struct msg_verbose	 mv;
	struct msg_anonkey	 ak;
	struct msg_ready	 ready;
	void			*buf;
	size_t			 nl, nd;
	int			 fd;

	if (imsg == NULL) {
		/* ctld is gone: so are we. */
		log_info("ctld went away, exiting");
		child_exit();
	}

	/* A part of the configuration that is not ours: ctld is wrong. */
	if (!msg_conf_for(imsg->hdr.type, child.role))
		fatalx("%s for another role from ctld",
		    msg_type_name(imsg->hdr.type));

	switch (imsg->hdr.type) {
	case IMSG_CONF_START:
		child_conf_free(child.pending);
		cc = child.pending = child_conf_new();
		if (imsg_get_data(imsg, &cc->conf, sizeof(cc->conf)) == -1 ||
		    cc->conf.role != (uint32_t)child.role ||
		    !MSG_STR(cc->conf.chroot) || !MSG_STR(cc->conf.user))
			fatalx("bad configuration from ctld");
		if (!child.sandboxed) {
			sandbox_enter(child.role, cc->conf.chroot,
			    cc->conf.user, &child.report);
			child.sandboxed = 1;
		}
		break;
	case IMSG_CONF_FRONT:
		if ((cc = child.pending) == NULL || cc->have_part ||
		    imsg_get_data(imsg, &cc->front, sizeof(cc->front)) == -1 ||
		    !MSG_STR(cc->front.hostname) ||
		    !MSG_STR(cc->front.tls_ciphers))
			fatalx("bad front configuration from ctld");
		cc->have_part = 1;
		break;
	case IMSG_CONF_VAULT:
		if ((cc = child.pending) == NULL || cc->have_part ||
		    imsg_get_data(imsg, &cc->vault, sizeof(cc->vault)) == -1)
			fatalx("bad vault configuration from ctld");
		cc->have_part = 1;
		break;
	case IMSG_CONF_DOMAIN:
		if ((cc = child.pending) == NULL)
			fatalx("domain outside a configuration");
		child_count(cc, &nl, &nd);
		if (nd >= CHILD_MAX_DOMAINS)
			fatalx("too many domains");
		if ((d = calloc(1, sizeof(*d))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, d->name, sizeof(d->name)) == -1 ||
		    !MSG_STR(d->name))
			fatalx("bad domain from ctld");
		TAILQ_INSERT_TAIL(&cc->domains, d, entry);
		break;
	case IMSG_CONF_LISTENER:
		if ((cc = child.pending) == NULL)
			fatalx("listener outside a configuration");
		child_count(cc, &nl, &nd);
		if (nl >= CHILD_MAX_LISTENERS)
			fatalx("too many listeners");
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal("%s", __func__);
		if (imsg_get_data(imsg, &l->conf, sizeof(l->conf)) == -1 ||
		    l->conf.sslen > sizeof(l->conf.ss))
			fatalx("bad listener from ctld");
		l->fd = imsg_get_fd(imsg);
		TAILQ_INSERT_TAIL(&cc->listeners, l, entry);
		break;
	case IMSG_CONF_TLS_CERT:
	case IMSG_CONF_TLS_KEY:
		if ((cc = child.pending) == NULL)
			fatalx("certificate outside a configuration");
		/*
		 * ctld opened these files from its configuration: they
		 * cannot be sealed, and ctld is trusted not to change them
		 * under us (a shrink would be refused).
		 */
		fd = imsg_get_fd(imsg);
		if (imsg->hdr.type == IMSG_CONF_TLS_CERT) {
			peerfd_free(cc->cert, cc->certlen, PEERFD_SECRET);
			cc->cert = NULL;
			cc->certlen = 0;
			if (peerfd_read(fd, PEERFD_UNSEALED | PEERFD_SECRET, 0,
			    CHILD_MAX_PEMSIZE - 1, &buf, &cc->certlen) == -1)
				log_warn("cannot read the certificate");
			cc->cert = buf;
		} else {
			peerfd_free(cc->key, cc->keylen, PEERFD_SECRET);
			cc->key = NULL;
			cc->keylen = 0;
			if (peerfd_read(fd, PEERFD_UNSEALED | PEERFD_SECRET, 0,
			    CHILD_MAX_PEMSIZE - 1, &buf, &cc->keylen) == -1)
				log_warn("cannot read the private key");
			cc->key = buf;
		}
		close(fd);
		break;
	case IMSG_CONF_END:
		if ((cc = child.pending) == NULL)
			fatalx("configuration end without start");
		if (!cc->have_part)
			fatalx("configuration without the %s part",
			    role_name(child.role));
		child.pending = NULL;
		old = child.conf;
		child.conf = cc;
		if (cc->conf.log_plain_addresses)
			log_set_anonkey(NULL);
		child.ops->conf_apply(cc, old);
		child_conf_free(old);
		if (!child.ready_sent) {
			memset(&ready, 0, sizeof(ready));
			ready.role = child.role;
			ready.chrooted = child.report.chrooted;
			ready.uid_dropped = child.report.uid_dropped;
			ready.seccomp = child.report.seccomp;
			ready.landlock_abi = child.report.landlock_abi;
			ready.mlocked = child.report.mlocked;
			imsgev_compose(&child.iev, IMSG_CHILD_READY, 0, -1,
			    &ready, sizeof(ready));
			child.ready_sent = 1;
		}
		break;
	case IMSG_SETUP_PEER:
		if (imsg_get_data(imsg, &peer, sizeof(peer)) == -1 ||
		    peer.role >= ROLE_COUNT)
			fatalx("bad peer from ctld");
		child.ops->peer(peer.role, imsg_get_fd(imsg));
		break;
	case IMSG_LOG_VERBOSE:
		if (imsg_get_data(imsg, &mv, sizeof(mv)) == -1)
			fatalx("bad verbosity from ctld");
		log_setverbose(mv.verbose);
		break;
	case IMSG_LOG_ANONKEY:
		if (imsg_get_data(imsg, &ak, sizeof(ak)) == -1)
			fatalx("bad key from ctld");
		log_set_anonkey(ak.key);
		sodium_memzero(&ak, sizeof(ak));
		break;
	default:
		if (child.ops->ctld != NULL &&
		    child.ops->ctld(iev, imsg) == 0)
			break;
		log_warnx("unexpected %s message from ctld",
		    msg_type_name(imsg->hdr.type));
		exit(1);
	}
}
