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

#ifndef VAULTD_H
#define VAULTD_H

#include <sys/queue.h>

#include <event.h>
#include <stdint.h>

#include "msg.h"
#include "proc.h"
#include "vault_dir.h"
#include "vault_keys.h"
#include "vault_mbox.h"
#include "vault_work.h"

#define VAULT_KEYFILE		"vault.key"
#define VAULT_DIRECTORY		"directory.db"
#define VAULT_MAILBOXES		"mailboxes"
#define VAULT_SPOOL		"spool"
#define VAULT_SESSIONS_MAX	65536
#define VAULT_VERIFIERS_MAX	8	/* remembered credentials per account */
/*
 * Mailbox requests one account may have queued or running: the fronts
 * send one per session at a time, and an account has at most some 64
 * sessions; each waiting request holds some 46 KiB of locked memory.
 */
#define VAULT_ACCOUNT_REQUESTS	128

/*
 * Login limits: per account, and per client prefix at two levels
 * (netprefix.h): the narrow one (IPv4 address, IPv6 /64) and the wide
 * one (IPv4 /24, IPv6 /48), so that moving to the next address of one's
 * network does not start the count again.
 */
#define AUTH_WINDOW		900	/* seconds failures are remembered */
#define AUTH_ACCOUNT_FAILS	5	/* then the account is locked out */
#define AUTH_NARROW_FAILS	20	/* then the client's address is */
#define AUTH_WIDE_FAILS		60	/* then the client's network is */
#define AUTH_LOCKOUT		900	/* seconds */
#define AUTH_TRUST		(30 * 86400) /* seconds an address that
					 * logged in is known to the account */
#define AUTH_TRACKED_MAX	100000	/* entries in the limiter */

/*
 * An account whose keys are open: some session uses it, or its grace,
 * or its mailbox is being opened (account_unlock(): then `open' is set
 * and account_unlocked() does not find it).
 * Its mailbox is used by the jobs of its strand (vault_work.h), one at
 * a time, and by the loop only while the strand is idle or inside a
 * job's done(); the other fields are the loop's.
 */
/*
 * A slice of the spool's import, one job on the account's strand.  Two
 * per account: while one runs, a delivery queues the other, so that the
 * account's requests that come after the delivery's answer find the
 * message in (vault_account.c, account_import_kick()).
 */
struct account_import {
	struct work_job		 job;
	struct vault_account	*a;
	int			 busy;		/* submitted, not done */
};

struct vault_account {
	TAILQ_ENTRY(vault_account)	 entry;
	TAILQ_HEAD(, vault_session)	 sessions;
	unsigned char			 id[ACCOUNT_ID_LEN];
	char				 address[ADDRESS_MAX];
	struct account_secrets		*secrets;
	struct mbox			*mbox;
	uint64_t			 counter;	/* at the last notify */
	unsigned char			 box_pk[crypto_box_PUBLICKEYBYTES];
	int				 importing;	/* a spool batch is open */
	struct spool_importer		*import;	/* the spool, under way */
	struct account_import		 imports[2];
	int				 import_loud;	/* the unlock's */
	struct event			 import_ev;	/* a delivery's kick */
	struct timespec			 import_due;	/* at the latest */
	struct work_job			 checkpoint_job;
	int				 checkpointing;	/* job queued */
	struct work_job			 index_job;
	int				 indexing;	/* job queued */
	struct event			 index_ev;	/* the quiet wait */
	unsigned int			 nqueued;	/* requests, ever */
	unsigned int			 index_mark;	/* nqueued at a batch */
	unsigned int			 index_batch;	/* the job's, set on the loop */
	struct work_strand		 strand;	/* its mailbox work */
	int				 locking;	/* when the strand idles */
	unsigned int			 nsessions;
	unsigned int			 nrequests;	/* mailapi's, queued
							 * or running */
	struct event			 grace_ev;
	unsigned char			*verifiers;	/* sodium_malloc'd */
	unsigned int			 nverifiers;
	struct account_open		*open;		/* while its mailbox
							 * opens (unlisted) */
};

/*
 * A login waiting for an account's mailbox to open (account_unlock()):
 * cb(arg, account) on the loop when it is open, cb(arg, NULL) when it
 * failed or was abandoned, never after account_unlock_cancel().
 */
struct account_waiter {
	TAILQ_ENTRY(account_waiter)	 entry;
	void				(*cb)(void *, struct vault_account *);
	void				*arg;
	struct vault_account		*account;	/* the one it waits for */
};

struct vault_session {
	TAILQ_ENTRY(vault_session) entry;	/* in its account's list */
	uint32_t		 id;
	enum proc_role		 owner;		/* the front that holds it */
	struct vault_account	*account;
};

/* vault_account.c */
#define ACCOUNT_INDEX_BATCH	64	/* messages per index job */
void	 account_init(void);
struct vault_account *account_unlocked(const unsigned char *);
#define ACCOUNT_PENDING	1	/* account_unlock(): the waiter is called */
int	 account_unlock(const struct dir_account *,
	    struct account_secrets *, struct account_waiter *,
	    void (*)(void *, struct vault_account *), void *,
	    struct vault_account **);
void	 account_unlock_cancel(struct account_waiter *);
void	 account_unlock_abort(const unsigned char *);
void	 account_set_gate(const char *);
void	 account_hold(struct vault_account *);
void	 account_release(struct vault_account *);
void	 account_lock(struct vault_account *);
void	 account_lock_now(struct vault_account *);
void	 account_lock_all(void);
int	 account_deliver(const char *, const void *, size_t);
int	 account_deliver_check(const char *, const void *, size_t,
	    struct dir_account *);
int	 account_seal(const struct dir_account *, const void *, size_t);
void	 account_delivered(const unsigned char *);
void	 account_request(struct vault_account *);
void	 account_mailbox_path(const unsigned char *, char *, size_t);
int	 account_committed(struct vault_account *);
const unsigned char *account_pagestate(struct vault_account *,
	    unsigned char *);
int	 account_indexed(struct vault_account *);
void	 account_on_change(void (*)(struct vault_account *));
void	 account_set_grace(unsigned int);
void	 account_set_index_policy(unsigned int, uint64_t);
void	 account_set_spool(int);
int	 account_spool(void);

/*
 * vault_deliver.c: deliveries sealed into the spool on the mailbox
 * workers.  deliver_submit() takes the bundle (a bundle_map() copy) and
 * calls done(arg, reqid, status) exactly once, on the loop, unless
 * deliver_cancel(arg) came first.
 */
typedef void (*deliver_done_cb)(void *, uint32_t, int);
void	 deliver_init(void);
void	 deliver_submit(const char *, void *, size_t, deliver_done_cb,
	    void *, uint32_t);
void	 deliver_cancel(void *);
void	 deliver_drain(const unsigned char *);
void	 deliver_drain_all(void);

/* vault_serverkeys.c */
int	 serverkeys_load(int);
void	 serverkeys_free(void);
const unsigned char *serverkeys_server(void);
const unsigned char *serverkeys_spool(void);
const unsigned char *serverkeys_verifier(void);
void	 serverkeys_set_cost(const struct kdf_cost *);
const struct kdf_cost *serverkeys_cost(void);
void	 serverkeys_set_ready(int);
int	 serverkeys_ready(void);

/*
 * vault_kdf.c: Argon2id on worker threads, so that logins do not stall
 * the loop.  Bounds: KDF_QUEUE_MAX jobs waiting in all, and
 * KDF_QUEUE_PERKEY per fairness key (the keys take turns); a job that
 * waits KDF_DEADLINE seconds is answered KDF_EXPIRED without running.
 * A struct kdf_limits with zeros takes these defaults (and a number of
 * threads of min(2, cores)).
 */
#define KDF_QUEUE_MAX		64
#define KDF_QUEUE_PERKEY	16
#define KDF_DEADLINE		10	/* seconds */
#define KDF_OK			0	/* the key is derived */
#define KDF_EXPIRED		1	/* waited past the deadline, not run */
#define KDF_EFAIL		2	/* Argon2id failed (memory) */
struct kdf_limits {
	unsigned int	 threads;
	unsigned int	 queue;
	unsigned int	 perkey;
	unsigned int	 deadline_ms;
};
/*
 * Classes of jobs, each with its ring of keys and its own bound, the
 * higher served first: logins from an address the account logged in
 * from before (a returning client) before all other logins, so that a
 * flood from more networks than the pool has turns for cannot time them
 * out; and before any login, ctl's key changes (vault_admin.c), under
 * the one key "ctl": they come from root on the local socket, a few at
 * a time, and the operator waits for each (docs/decisions.md).
 */
#define KDF_CLASS_OTHER		0
#define KDF_CLASS_KNOWN		1
#define KDF_CLASS_ADMIN		2
#define KDF_CLASSES		3
struct kdf_job;
int	 kdf_init(void);
int	 kdf_start(const struct kdf_limits *);
void	 kdf_stop(void);
void	 kdf_set_gate(const char *);
unsigned int kdf_threads(void);
struct kdf_job *kdf_submit(const char *, int, const char *, size_t,
	    const unsigned char *, const struct kdf_cost *,
	    void (*)(void *, int, const unsigned char *), void *);
void	 kdf_cancel(struct kdf_job *);

/*
 * vault_auth.c.  auth_login() answers at once (MBOX_OK with the
 * account, MBOX_EAUTH, MBOX_ELOCKED, MBOX_ETEMP) when it can, or
 * returns AUTH_PENDING and later calls the callback on the loop with
 * the argument, the request id, the status and the account.  Pending
 * logins belong to the front that asked: auth_cancel() forgets that
 * front's, and their callbacks are never called.
 */
#define AUTH_PENDING	(-1)
typedef void (*auth_done_cb)(void *, uint32_t, int, struct vault_account *);
int	 auth_login(const char *, const char *, size_t, const char *,
	    const char *, enum proc_role, uint32_t, auth_done_cb, void *,
	    struct vault_account **);
void	 auth_cancel(enum proc_role);
/*
 * For ctl's changes (vault_admin.c), which check a current credential
 * the same way but run the Argon2id themselves: auth_target() chooses
 * the keyslot a credential may open (AUTH_NO_APP: never an app slot),
 * auth_slot_unchanged() says whether it is still there as it was.
 */
#define AUTH_NO_APP	0x01	/* an app password opens nothing */
int	 auth_target(const struct dir_account *, const char *, size_t, int,
	    struct dir_slot *, int *, char *, size_t, const char **,
	    size_t *);
int	 auth_slot_unchanged(const struct dir_account *,
	    const struct dir_slot *);
void	 auth_forget(const unsigned char *);

/* vault_session.c */
uint32_t session_new(enum proc_role, struct vault_account *);
void	 session_end(uint32_t, enum proc_role);
void	 session_end_all(enum proc_role);
void	 session_end_account(struct vault_account *);
struct vault_session *session_get(uint32_t, enum proc_role);

/* vault_notify.c */
void	 notify_set_front(enum proc_role, struct imsgev *);
void	 notify_account(struct vault_account *);

/* vault_mailapi.c */
void	 mailapi_request(struct imsgev *, enum proc_role, struct imsg *);
void	 mailapi_cancel(struct imsgev *);

/*
 * vault_admin.c.  admin_request() answers ctl's request now, or, for
 * the requests that need Argon2id (user add, user passwd, app add),
 * once their KDF jobs are done, on the loop.  admin_cancel_all()
 * forgets every request under way, unanswered (vaultd stops).
 */
void	 admin_request(struct imsgev *, uint32_t, struct msg_admin *);
void	 admin_cancel_all(void);

#endif /* VAULTD_H */
