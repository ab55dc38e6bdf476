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
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include <sodium.h>

#include "front.h"
#include "io.h"
#include "log.h"
#include "netprefix.h"

/*
 * Connections per client prefix, at each level (netprefix.h): one tree
 * keyed by the masked address and its level.  The keys are the
 * addresses themselves, not their anonymised keys: those change with
 * the daily log key, and a count must come back down to zero.
 */
struct prefix_count {
	RB_ENTRY(prefix_count)	 entry;
	struct netprefix	 np;
	unsigned int		 count;
};
RB_HEAD(prefix_tree, prefix_count);

static int	 prefix_cmp(struct prefix_count *, struct prefix_count *);
RB_PROTOTYPE_STATIC(prefix_tree, prefix_count, entry, prefix_cmp);
RB_GENERATE_STATIC(prefix_tree, prefix_count, entry, prefix_cmp);

/* A request to vaultd waiting for its answer. */
struct vault_req {
	TAILQ_ENTRY(vault_req)	 entry;
	uint32_t		 id;
	front_vault_cb		 cb;
	void			*arg;
};

static struct {
	enum proc_role		 role;
	const struct front_ops	*ops;
	struct tls		*tls;
	struct imsgev		 vault;
	int			 vault_ready;
	unsigned int		 nconn;
	struct prefix_tree	 prefixes;
	struct event		 ev_resume;
	TAILQ_HEAD(, vault_req)	 reqs;
	uint32_t		 reqid;
} front;

static void	 front_conf_apply(struct child_conf *, struct child_conf *);
static void	 front_peer(enum proc_role, int);
static void	 front_accept(int, short, void *);
static void	 front_resume(int, short, void *);
static void	 front_vault_dispatch(struct imsgev *, struct imsg *);
static void	 front_vault_lost(void);
static int	 prefix_hold(const struct sockaddr_storage *,
		    struct prefix_count *[NETPREFIX_LEVELS]);
static void	 prefix_unhold(struct prefix_count *[NETPREFIX_LEVELS]);

static const struct child_ops front_child_ops = {
	front_conf_apply,
	front_peer,
	NULL,
	NULL
};

static int
prefix_cmp(struct prefix_count *a, struct prefix_count *b)
{
	return (netprefix_cmp(&a->np, &b->np));
}

/*
 * The counts of the prefixes of ss, one per level, made at zero where
 * there is none yet; NULL for a level when ss is not IPv4 or IPv6.
 * -1 when out of memory (and nothing is held).
 */
static int
prefix_hold(const struct sockaddr_storage *ss,
    struct prefix_count *pc[NETPREFIX_LEVELS])
{
	struct prefix_count	 key;
	int			 i;

	for (i = 0; i < NETPREFIX_LEVELS; i++) {
		pc[i] = NULL;
		if (netprefix_get((const struct sockaddr *)ss, i,
		    &key.np) == -1)
			continue;
		if ((pc[i] = RB_FIND(prefix_tree, &front.prefixes,
		    &key)) != NULL)
			continue;
		if ((pc[i] = calloc(1, sizeof(*pc[i]))) == NULL) {
			prefix_unhold(pc);
			return (-1);
		}
		pc[i]->np = key.np;
		RB_INSERT(prefix_tree, &front.prefixes, pc[i]);
	}
	return (0);
}

/* Forget the counts that prefix_hold() made and nothing took up. */
static void
prefix_unhold(struct prefix_count *pc[NETPREFIX_LEVELS])
{
	int	 i;

	for (i = 0; i < NETPREFIX_LEVELS; i++) {
		if (pc[i] != NULL && pc[i]->count == 0) {
			RB_REMOVE(prefix_tree, &front.prefixes, pc[i]);
			free(pc[i]);
		}
		pc[i] = NULL;
	}
}

void
front_init(enum proc_role role, const struct front_ops *ops)
{
	front.role = role;
	front.ops = ops;
	RB_INIT(&front.prefixes);
	TAILQ_INIT(&front.reqs);
	evtimer_set(&front.ev_resume, front_resume, NULL);
	/* OpenSSL reads its configuration file here: before the sandbox. */
	if (tls_init() == -1)
		fatalx("tls_init");
	child_init(role, &front_child_ops);
}

struct tls *
front_tls(void)
{
	return (front.tls);
}

const struct msg_front *
front_conf(void)
{
	return (child_conf() == NULL ? NULL : &child_conf()->front);
}

/*
 * Start listening on the new configuration's sockets and stop on the
 * old ones; make the TLS context from the certificate and key, then
 * wipe the key (libtls keeps its own copy).
 */
static void
front_conf_apply(struct child_conf *cc, struct child_conf *old)
{
	struct child_listener	*l;
	struct tls		*tls;
	char			 err[256];

	if (old != NULL) {
		TAILQ_FOREACH(l, &old->listeners, entry)
			if (l->fd != -1)
				event_del(&l->ev);
	}
	TAILQ_FOREACH(l, &cc->listeners, entry) {
		event_set(&l->ev, l->fd, EV_READ | EV_PERSIST, front_accept,
		    l);
		event_add(&l->ev, NULL);
	}
	if (cc->cert != NULL && cc->key != NULL) {
		tls = tls_server_new(cc->cert, cc->certlen, cc->key,
		    cc->keylen, cc->front.tls_ciphers, err, sizeof(err));
		sodium_free(cc->key);
		cc->key = NULL;
		cc->keylen = 0;
		if (tls == NULL)
			log_warnx("TLS is not available: %s", err);
		else {
			/* Sessions in progress keep their own references. */
			if (front.tls != NULL)
				tls_free(front.tls);
			front.tls = tls;
		}
	}
	if (front.ops->reconf != NULL)
		front.ops->reconf();
}

static void
front_resume(int fd, short event, void *arg)
{
	struct child_listener	*l;

	(void)fd;
	(void)event;
	(void)arg;
	if (child_conf() == NULL)
		return;
	TAILQ_FOREACH(l, &child_conf()->listeners, entry) {
		if (l->paused) {
			event_add(&l->ev, NULL);
			l->paused = 0;
		}
	}
}

/*
 * io queues a turn's replies and sends them in one write, so Nagle's
 * algorithm only holds a reply back: a second reply written before
 * the client acknowledged the first waits for the client's delayed
 * ACK, 40 ms on Linux (seen as a STORE or APPEND now and then taking
 * 40-95 ms).  A client that sends small pieces is not affected.
 */
static void
front_nodelay(int s, const struct sockaddr_storage *ss)
{
	int	 on = 1;

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return;
	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		log_debug("%s: setsockopt TCP_NODELAY: %s", __func__,
		    strerror(errno));
}

static void
front_accept(int fd, short event, void *arg)
{
	struct child_listener	*l = arg, *o;
	const struct msg_front	*conf = front_conf();
	struct front_client	 client;
	struct prefix_count	*pc[NETPREFIX_LEVELS];
	struct timeval		 tv;
	char			 net[NETPREFIX_KEY_MAX];
	unsigned int		 max_net;
	int			 i, s, refused = FRONT_OK;

	(void)event;
	memset(&client, 0, sizeof(client));
	client.sslen = sizeof(client.ss);
	if ((s = accept4(fd, (struct sockaddr *)&client.ss, &client.sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Out of descriptors: stop accepting for a second. */
			log_warnx("out of file descriptors: pausing accept");
			TAILQ_FOREACH(o, &child_conf()->listeners, entry) {
				event_del(&o->ev);
				o->paused = 1;
			}
			timerclear(&tv);
			tv.tv_sec = 1;
			evtimer_add(&front.ev_resume, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	log_anonaddr((struct sockaddr *)&client.ss, client.addr,
	    sizeof(client.addr));
	front_nodelay(s, &client.ss);

	if (prefix_hold(&client.ss, pc) == -1) {
		log_warn("%s", __func__);
		close(s);
		return;
	}
	/* A configuration from before the per-network limit: none. */
	if ((max_net = conf->limits.max_conn_per_net) == 0)
		max_net = conf->limits.max_conn;
	if (front.nconn >= conf->limits.max_conn)
		refused = FRONT_TOO_MANY;
	else if (pc[NETPREFIX_NARROW] != NULL &&
	    pc[NETPREFIX_NARROW]->count >= conf->limits.max_conn_per_addr)
		refused = FRONT_TOO_MANY_ADDR;
	else if (pc[NETPREFIX_WIDE] != NULL &&
	    pc[NETPREFIX_WIDE]->count >= max_net)
		refused = FRONT_TOO_MANY_NET;

	switch (refused) {
	case FRONT_OK:
		front.nconn++;
		for (i = 0; i < NETPREFIX_LEVELS; i++)
			if (pc[i] != NULL)
				pc[i]->count++;
		break;
	case FRONT_TOO_MANY_NET:
		log_audit("connection-refused", "client=%s proto=%s "
		    "reason=limit-per-network network=%s", client.addr,
		    conf_proto_name(l->conf.proto),
		    netprefix_key(&pc[NETPREFIX_WIDE]->np, net, sizeof(net)));
		prefix_unhold(pc);
		break;
	default:
		log_audit("connection-refused", "client=%s proto=%s reason=%s",
		    client.addr, conf_proto_name(l->conf.proto),
		    refused == FRONT_TOO_MANY ? "limit-total" :
		    "limit-per-address");
		prefix_unhold(pc);
		break;
	}
	front.ops->accept(s, &l->conf, &client, refused);
}

/* A session accepted with FRONT_OK has ended. */
void
front_conn_closed(const struct front_client *client)
{
	struct prefix_count	 key, *pc;
	int			 i;

	for (i = 0; i < NETPREFIX_LEVELS; i++) {
		if (netprefix_get((const struct sockaddr *)&client->ss, i,
		    &key.np) == -1 ||
		    (pc = RB_FIND(prefix_tree, &front.prefixes, &key)) == NULL)
			continue;
		if (--pc->count == 0) {
			RB_REMOVE(prefix_tree, &front.prefixes, pc);
			free(pc);
		}
	}
	if (front.nconn > 0)
		front.nconn--;
}

/* Every request in flight fails: the vault that had it is gone. */
static void
front_vault_lost(void)
{
	struct vault_req	*r;

	front.vault_ready = 0;
	while ((r = TAILQ_FIRST(&front.reqs)) != NULL) {
		TAILQ_REMOVE(&front.reqs, r, entry);
		r->cb(r->arg, NULL);
		free(r);
	}
	if (front.ops->vault != NULL)
		front.ops->vault(NULL);
}

uint32_t
front_vault_request(uint32_t type, int fd, const void *data, size_t len,
    front_vault_cb cb, void *arg)
{
	struct vault_req	*r;

	if (!front.vault_ready || (r = calloc(1, sizeof(*r))) == NULL) {
		if (fd != -1)
			close(fd);
		return (0);
	}
	if (++front.reqid == 0)
		front.reqid = 1;
	r->id = front.reqid;
	r->cb = cb;
	r->arg = arg;
	if (imsgev_compose(&front.vault, type, r->id, fd, data, len) == -1) {
		free(r);
		return (0);
	}
	TAILQ_INSERT_TAIL(&front.reqs, r, entry);
	return (r->id);
}

void
front_vault_cancel(uint32_t id)
{
	struct vault_req	*r;

	TAILQ_FOREACH(r, &front.reqs, entry) {
		if (r->id == id) {
			TAILQ_REMOVE(&front.reqs, r, entry);
			free(r);
			return;
		}
	}
}

/* A new channel to vaultd replaces the old one (vaultd restarted). */
static void
front_peer(enum proc_role role, int fd)
{
	struct msg_peer	 hello;

	if (role != ROLE_VAULTD) {
		log_warnx("unexpected peer %s", role_name(role));
		close(fd);
		return;
	}
	if (front.vault.active) {
		imsgev_clear(&front.vault);
		front_vault_lost();
	}
	if (imsgev_init(&front.vault, fd, "vaultd", front_vault_dispatch,
	    NULL, 1) == -1 ||
	    imsgbuf_set_maxsize(&front.vault.ibuf, IMSG_VAULT_MAXSIZE) == -1)
		fatal("%s", __func__);
	memset(&hello, 0, sizeof(hello));
	hello.role = front.role;
	imsgev_compose(&front.vault, IMSG_VAULT_HELLO, 0, -1, &hello,
	    sizeof(hello));
}

static void
front_vault_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct msg_peer		 hello;
	struct vault_req	*r;

	if (imsg == NULL) {
		log_warnx("lost the channel to vaultd; waiting for a new one");
		imsgev_clear(iev);
		front_vault_lost();
		return;
	}
	if (imsg->hdr.type == IMSG_VAULT_HELLO) {
		if (imsg_get_data(imsg, &hello, sizeof(hello)) == -1 ||
		    hello.role != ROLE_VAULTD) {
			log_warnx("bad hello from vaultd");
			imsgev_clear(iev);
			front_vault_lost();
			return;
		}
		front.vault_ready = 1;
		log_info("connected to vaultd");
		return;
	}
	TAILQ_FOREACH(r, &front.reqs, entry) {
		if (r->id == imsg->hdr.peerid) {
			TAILQ_REMOVE(&front.reqs, r, entry);
			r->cb(r->arg, imsg);
			free(r);
			return;
		}
	}
	/* The answer to a cancelled request, or a notification. */
	if (imsg->hdr.peerid != 0 && imsg->hdr.type != IMSG_VAULT_HELLO)
		return;
	if (front.ops->vault == NULL || front.ops->vault(imsg) == -1) {
		log_warnx("unexpected %s message from vaultd",
		    msg_type_name(imsg->hdr.type));
		imsgev_clear(iev);
		front_vault_lost();
	}
}

int
front_vault_ready(void)
{
	return (front.vault_ready);
}

int
front_vault_compose(uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (!front.vault_ready) {
		if (fd != -1)
			close(fd);
		errno = ENOTCONN;
		return (-1);
	}
	return (imsgev_compose(&front.vault, type, peerid, fd, data, len));
}

/*
 * The client goes as the keys of its narrow and wide prefixes: vaultd
 * counts failed logins per prefix at both levels, and never learns
 * the address itself unless addresses are logged plain.
 */
uint32_t
front_auth_request(const char *user, const char *pass,
    const struct front_client *client, enum proto proto, front_vault_cb cb,
    void *arg)
{
	struct msg_auth	 m;
	uint32_t	 id;

	memset(&m, 0, sizeof(m));
	if (strlcpy(m.user, user, sizeof(m.user)) >= sizeof(m.user) ||
	    strlcpy(m.secret, pass, sizeof(m.secret)) >= sizeof(m.secret))
		sodium_memzero(m.secret, sizeof(m.secret));
	netprefix_sockaddr_key((const struct sockaddr *)&client->ss,
	    NETPREFIX_NARROW, m.client_narrow, sizeof(m.client_narrow));
	netprefix_sockaddr_key((const struct sockaddr *)&client->ss,
	    NETPREFIX_WIDE, m.client_wide, sizeof(m.client_wide));
	m.proto = proto;
	id = front_vault_request(IMSG_VAULT_AUTH, -1, &m, sizeof(m), cb, arg);
	sodium_memzero(&m, sizeof(m));
	return (id);
}

int
front_auth_answer(struct imsg *imsg, struct msg_auth_result *res)
{
	if (imsg == NULL || imsg->hdr.type != IMSG_VAULT_AUTH_RESULT ||
	    imsg_get_data(imsg, res, sizeof(*res)) == -1)
		return (MBOX_ETEMP);
	/* A success must say who: else the vault is not making sense. */
	if (res->status == MBOX_OK &&
	    (!MSG_STR(res->account) || res->session == 0))
		return (MBOX_ETEMP);
	return (res->status);
}
