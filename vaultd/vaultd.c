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
 * vaultd: the only process that holds keys and opens mailboxes.  It is
 * chrooted to the data directory, runs as its own user with its memory
 * locked, and has no network.  It answers structured requests from the
 * fronts and, for ctl, from ctld, over channels ctld makes; it never
 * parses a network protocol or a MIME message.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "child.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "vault_spool.h"
#include "vault_sqlmem.h"
#include "vault_vfs.h"
#include "vaultd.h"

#define VAULT_MAX_PEERS		8

struct vault_peer {
	struct imsgev	 iev;
	enum proc_role	 role;
	int		 greeted;
};

static struct vault_peer peers[VAULT_MAX_PEERS];

static void	 vaultd_conf(struct child_conf *, struct child_conf *);
static void	 vaultd_peer(enum proc_role, int);
static void	 vaultd_drop(struct vault_peer *);
static void	 vaultd_dispatch(struct imsgev *, struct imsg *);
static int	 vaultd_open(void);
static void	 vaultd_authfail(const char *, long long, const char *);
static void	 vaultd_checkpoint(int, short, void *);
static void	 vaultd_shutdown(void);
static int	 vaultd_ctld(struct imsgev *, struct imsg *);

static const struct child_ops vaultd_ops = {
	vaultd_conf,
	vaultd_peer,
	vaultd_ctld,
	vaultd_shutdown
};

/* How often directory.db's log is copied into it (dir_checkpoint()). */
#define VAULT_CHECKPOINT_SECS	60
static struct event	 ev_checkpoint;

/* A page that failed authentication: somebody altered a database. */
static void
vaultd_authfail(const char *path, long long pgno, const char *kind)
{
	char	 safe[128];

	log_sanitize(safe, sizeof(safe), path);
	log_audit("tamper", "db=%s page=%lld kind=%s", safe, pgno, kind);
}

/*
 * The keys and the directory, at the first configuration: the process
 * is already chrooted (or in the data directory) and sandboxed.
 */
static int
vaultd_open(void)
{
	int	 dirfd, spoolfd;

	/* A retry (at reload) after a failed start begins afresh. */
	serverkeys_free();
	if ((spoolfd = account_spool()) != -1)
		close(spoolfd);
	account_set_spool(-1);
	if (vfs_register() != 0) {
		log_warnx("cannot register the encrypting VFS");
		return (-1);
	}
	vfs_set_authfail_hook(vaultd_authfail);
	if ((dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("data directory");
		return (-1);
	}
	if (serverkeys_load(dirfd) == -1) {
		close(dirfd);
		return (-1);
	}
	if ((mkdirat(dirfd, VAULT_MAILBOXES, 0700) == -1 && errno != EEXIST) ||
	    (mkdirat(dirfd, VAULT_SPOOL, 0700) == -1 && errno != EEXIST)) {
		log_warn("cannot make the mailbox and spool directories");
		close(dirfd);
		return (-1);
	}
	if ((spoolfd = openat(dirfd, VAULT_SPOOL, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s", VAULT_SPOOL);
		close(dirfd);
		return (-1);
	}
	account_set_spool(spoolfd);
	close(dirfd);
	/* Before any append: what a crash left half-written goes. */
	if (spool_sweep(spoolfd) == -1)
		log_warnx("%s: stale temporary files remain", VAULT_SPOOL);
	if (dir_open(VAULT_DIRECTORY, serverkeys_server()) != DIR_OK)
		return (-1);
	serverkeys_set_ready(1);
	evtimer_set(&ev_checkpoint, vaultd_checkpoint, NULL);
	vaultd_checkpoint(-1, 0, NULL);
	log_info("vault open");
	return (0);
}

static void
vaultd_checkpoint(int fd, short event, void *arg)
{
	struct timeval	 tv = { VAULT_CHECKPOINT_SECS, 0 };

	(void)fd;
	(void)event;
	(void)arg;
	(void)dir_checkpoint();
	evtimer_add(&ev_checkpoint, &tv);
}

/*
 * A clean stop leaves no database in its log alone: the mailboxes are
 * closed (each checkpointed by SQLite as it closes) and the directory
 * checkpointed and closed, so that a backup of the data directory's
 * *.db files has everything, and the keys are wiped on the way.
 */
static void
vaultd_shutdown(void)
{
	/* ctl's changes under way are dropped, their secrets wiped. */
	admin_cancel_all();
	deliver_drain_all();
	account_lock_all();
	dir_close();
}

static void
vaultd_conf(struct child_conf *cc, struct child_conf *old)
{
	struct child_domain	*d;
	struct kdf_cost		 cost;

	(void)old;
	keys_cost_default(&cost);
	if (cc->vault.kdf_ops != 0) {
		cost.opslimit = cc->vault.kdf_ops;
		cost.memlimit = cc->vault.kdf_memory;
	}
	if (!keys_cost_valid(&cost)) {
		log_warnx("invalid Argon2id cost; using the default");
		keys_cost_default(&cost);
	}
	serverkeys_set_cost(&cost);
	account_set_grace(cc->vault.lock_grace);
	/*
	 * The KDF workers, once: we are sandboxed by now, and threads
	 * made after seccomp and Landlock inherit both (vault_kdf.c).
	 */
	if (kdf_start(NULL) == -1)
		log_warnx("no KDF worker: logins and ctl's key changes will "
		    "be refused");
	/* The mailbox workers, likewise (vault_work.c). */
	if (work_start(0) == -1)
		log_warnx("no mailbox worker: mailbox work runs on the loop");
	/*
	 * Keys in memory that can be swapped out could reach the disk in
	 * the clear: without locked memory the vault stays closed,
	 * unless the configuration says to run anyway.
	 */
	if (!child_report()->mlocked) {
		if (!cc->vault.allow_unlocked_memory) {
			log_warnx("memory cannot be locked: the vault stays "
			    "closed (give vaultd an unlimited RLIMIT_MEMLOCK, "
			    "or set \"vault allow-unlocked-memory\")");
			return;
		}
		log_warnx("memory is not locked: keys may reach swap "
		    "(vault allow-unlocked-memory)");
	}
	if (!serverkeys_ready() && vaultd_open() == -1) {
		log_warnx("the vault is not open: logins and delivery will "
		    "fail until this is fixed");
		return;
	}
	/* A domain named in the configuration file is always served. */
	TAILQ_FOREACH(d, &cc->domains, entry) {
		if (!dir_domain_exists(d->name) &&
		    dir_domain_add(d->name) == DIR_OK)
			log_info("domain %s added from the configuration",
			    d->name);
	}
}

/*
 * A channel from a front.  ctld makes a new one whenever the front (or
 * we) restarted; the front's old channel, if any, is dropped with its
 * sessions.
 */
static void
vaultd_peer(enum proc_role role, int fd)
{
	struct vault_peer	*p, *slot = NULL;
	size_t			 i;

	if (role != ROLE_SMTPD && role != ROLE_IMAPD) {
		log_warnx("unexpected peer %s", role_name(role));
		close(fd);
		return;
	}
	for (i = 0; i < VAULT_MAX_PEERS; i++) {
		p = &peers[i];
		if (p->iev.active && p->role == role)
			vaultd_drop(p);
		if (!p->iev.active && slot == NULL)
			slot = p;
	}
	if (slot == NULL) {
		log_warnx("too many peers");
		close(fd);
		return;
	}
	memset(slot, 0, sizeof(*slot));
	slot->role = role;
	if (imsgev_init(&slot->iev, fd, role_name(role), vaultd_dispatch,
	    slot, 1) == -1 ||
	    imsgbuf_set_maxsize(&slot->iev.ibuf, IMSG_VAULT_MAXSIZE) == -1)
		fatal("%s", __func__);
	/* Bundles travel as fds; their size is checked when read. */
	/*
	 * imapd's sessions hear of changes to their mailboxes; smtpd's
	 * only submit mail and would not know the message.
	 */
	if (role == ROLE_IMAPD)
		notify_set_front(role, &slot->iev);
}

/* A front's channel is gone or refused: its sessions go with it. */
static void
vaultd_drop(struct vault_peer *p)
{
	notify_set_front(p->role, NULL);
	auth_cancel(p->role);
	deliver_cancel(p);
	mailapi_cancel(&p->iev);
	session_end_all(p->role);
	imsgev_clear(&p->iev);
}

/* A login's answer, now or when its Argon2id run is done. */
static void
vault_auth_reply(struct vault_peer *p, uint32_t reqid, int status,
    struct vault_account *a)
{
	struct msg_auth_result	 r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	if (status == MBOX_OK) {
		if ((r.session = session_new(p->role, a)) == 0)
			r.status = MBOX_ETEMP;
		else
			strlcpy(r.account, a->address, sizeof(r.account));
	}
	imsgev_compose(&p->iev, IMSG_VAULT_AUTH_RESULT, reqid, -1, &r,
	    sizeof(r));
}

/*
 * Called back by vault_auth.c on the loop.  The peer is still the one
 * that asked: vaultd_drop() cancels a peer's pending logins.
 */
static void
vault_auth_done(void *arg, uint32_t reqid, int status,
    struct vault_account *a)
{
	vault_auth_reply(arg, reqid, status, a);
}

static void
vault_auth(struct vault_peer *p, uint32_t reqid, struct imsg *imsg)
{
	struct msg_auth		 m;
	struct vault_account	*a;
	int			 status;

	if (imsg_get_data(imsg, &m, sizeof(m)) == -1 || !MSG_STR(m.user) ||
	    !MSG_STR(m.secret) || !MSG_STR(m.client_narrow) ||
	    !MSG_STR(m.client_wide)) {
		sodium_memzero(&m, sizeof(m));
		vault_auth_reply(p, reqid, MBOX_EAUTH, NULL);
		return;
	}
	sodium_memzero(imsg->data, imsg->datalen);
	if (!serverkeys_ready())
		status = MBOX_ETEMP;
	else
		status = auth_login(m.user, m.secret, strlen(m.secret),
		    m.client_narrow, m.client_wide, p->role, reqid,
		    vault_auth_done, p, &a);
	sodium_memzero(&m, sizeof(m));
	if (status != AUTH_PENDING)
		vault_auth_reply(p, reqid, status, a);
}

static void
vault_rcpt(struct vault_peer *p, uint32_t reqid, struct imsg *imsg)
{
	struct msg_rcpt		 m;
	struct msg_rcpt_result	 r;

	memset(&r, 0, sizeof(r));
	if (imsg_get_data(imsg, &m, sizeof(m)) == -1 || !MSG_STR(m.address))
		r.status = MBOX_ENOTFOUND;
	else if (!serverkeys_ready())
		r.status = MBOX_ETEMP;
	else {
		switch (dir_resolve(m.address, r.account, sizeof(r.account))) {
		case RESOLVE_LOCAL:
			r.status = MBOX_OK;
			break;
		case RESOLVE_EXTERNAL:
			r.status = MBOX_OK;
			r.external = 1;
			break;
		default:
			r.status = MBOX_ENOTFOUND;
			r.account[0] = '\0';
			break;
		}
	}
	imsgev_compose(&p->iev, IMSG_VAULT_RCPT_RESULT, reqid, -1, &r,
	    sizeof(r));
}

/* A delivery's answer, once its message is sealed (or refused). */
static void
vault_deliver_done(void *arg, uint32_t reqid, int status)
{
	struct vault_peer		*p = arg;
	struct msg_deliver_result	 r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	imsgev_compose(&p->iev, IMSG_VAULT_DELIVER_RESULT, reqid, -1, &r,
	    sizeof(r));
}

/*
 * The bundle goes to vault_deliver.c, which seals it into the account's
 * spool on a worker and answers once it is durable; vaultd_drop()
 * cancels a peer's answers under way.
 */
static void
vault_deliver(struct vault_peer *p, uint32_t reqid, struct imsg *imsg)
{
	struct msg_deliver		 m;
	void				*data = NULL;
	size_t				 len = 0;
	int				 fd, status;

	fd = imsg_get_fd(imsg);
	if (imsg_get_data(imsg, &m, sizeof(m)) == -1 || !MSG_STR(m.account))
		status = MBOX_EINVAL;
	else if (!serverkeys_ready())
		status = MBOX_ETEMP;
	else if (bundle_map(fd, &data, &len) == -1)
		status = errno == EBADMSG ? MBOX_EINVAL : MBOX_ETEMP;
	else {
		close(fd);
		deliver_submit(m.account, data, len, vault_deliver_done, p,
		    reqid);
		return;
	}
	close(fd);
	vault_deliver_done(p, reqid, status);
}

/*
 * Everything from a front is untrusted: a message that is not exactly
 * what its type declares, or not one we take from a front, drops the
 * channel and its sessions (the front waits for a new one).
 */
static void
vaultd_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct vault_peer	*p = iev->arg;
	struct msg_peer		 hello;
	struct msg_session	 s;

	if (imsg == NULL) {
		vaultd_drop(p);
		return;
	}
	if (imsg->hdr.type != IMSG_VAULT_HELLO && !p->greeted)
		goto bad;
	switch (imsg->hdr.type) {
	case IMSG_VAULT_HELLO:
		if (imsg_get_data(imsg, &hello, sizeof(hello)) == -1 ||
		    hello.role != p->role || p->greeted)
			break;
		p->greeted = 1;
		hello.role = ROLE_VAULTD;
		imsgev_compose(iev, IMSG_VAULT_HELLO, 0, -1, &hello,
		    sizeof(hello));
		log_info("%s connected", role_name(p->role));
		return;
	case IMSG_VAULT_AUTH:
		vault_auth(p, imsg->hdr.peerid, imsg);
		return;
	case IMSG_VAULT_LOGOUT:
		if (imsg_get_data(imsg, &s, sizeof(s)) == -1)
			break;
		session_end(s.session, p->role);
		return;
	case IMSG_VAULT_RCPT:
		vault_rcpt(p, imsg->hdr.peerid, imsg);
		return;
	case IMSG_VAULT_DELIVER:
		vault_deliver(p, imsg->hdr.peerid, imsg);
		return;
	case IMSG_MBOX_REQUEST:
		mailapi_request(&p->iev, p->role, imsg);
		return;
	default:
		break;
	}
 bad:
	log_warnx("refused %s message from %s; dropping the channel",
	    msg_type_name(imsg->hdr.type), role_name(p->role));
	log_audit("vault-bad-request", "peer=%s type=%u", role_name(p->role),
	    imsg->hdr.type);
	vaultd_drop(p);
}

/* Requests from ctld: administration for ctl. */
static int
vaultd_ctld(struct imsgev *iev, struct imsg *imsg)
{
	struct msg_admin	 m;

	if (imsg->hdr.type != IMSG_CTL_ADMIN)
		return (-1);
	if (imsg_get_data(imsg, &m, sizeof(m)) == -1)
		return (-1);
	sodium_memzero(imsg->data, imsg->datalen);
	admin_request(iev, imsg->hdr.peerid, &m);
	sodium_memzero(&m, sizeof(m));
	return (0);
}

int
main(int argc, char *argv[])
{
	struct proc_opts	 opts;

	proc_child_opts(argc, argv, ROLE_VAULTD, &opts);
	/*
	 * What vaultd creates is its own: SQLite makes databases, logs
	 * and their -shm files 0644 less the umask.
	 */
	umask(077);
	/* First of any SQLite call: its freed memory is wiped. */
	if (sqlmem_init() == -1)
		fatalx("cannot install SQLite's wiping allocator");
	event_init();
	/* The pool's pipe now: the sandbox will not let us make one. */
	if (kdf_init() == -1)
		fatalx("cannot prepare the KDF pool");
	if (work_init() == -1)
		fatalx("cannot prepare the mailbox workers");
	deliver_init();
	account_init();
	/* The regression tests' holds on unlocks and KDF runs (vaultd.8). */
	account_set_gate(getenv("TRESOR_TEST_UNLOCK_GATE"));
	kdf_set_gate(getenv("TRESOR_TEST_KDF_GATE"));
	/* Committed changes reach the sessions through vault_notify.c. */
	account_on_change(notify_account);
	child_init(ROLE_VAULTD, &vaultd_ops);
	log_debug("started");
	event_dispatch();
	fatalx("event loop ended");
}
