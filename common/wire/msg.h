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
 * Every message that travels between Tresor's processes, declared once.
 *
 * Each type has a fixed payload: a struct below, or nothing; only
 * IMSG_MBOX_REQUEST has a header that declares the sizes of the parts
 * that follow it.  msg_check() refuses a message whose type is unknown,
 * whose payload is not exactly the size its type (or that header)
 * declares, or that carries an fd where none belongs
 * (or lacks one where one must come): the receiver then drops the peer.
 * Strings inside payloads are fixed-size arrays; msg_str() checks that
 * one is NUL-terminated before it is used.
 *
 * Bump IMSG_VERSION whenever a type or payload changes, so that a ctl
 * from another build is refused instead of misread.
 */

#ifndef MSG_H
#define MSG_H

#include <sys/types.h>

#include <stdint.h>

#include "common.h"
#include "conf.h"
#include "imsg.h"
#include "mbox_proto.h"
#include "netprefix.h"
#include "search.h"

#define IMSG_VERSION		12

/* Channels between a front and vaultd carry search programs. */
#define IMSG_VAULT_MAXSIZE	65536

enum imsg_type {
	IMSG_NONE,

	/* ctld to a child: configuration, applied at IMSG_CONF_END.
	 * Each child gets only its own part: IMSG_CONF_FRONT goes to the
	 * fronts alone, IMSG_CONF_VAULT to vaultd alone (msg_conf_for()). */
	IMSG_CONF_START,	/* struct msg_conf: what every child needs */
	IMSG_CONF_FRONT,	/* struct msg_front: fronts only */
	IMSG_CONF_VAULT,	/* struct msg_vault: vaultd only */
	IMSG_CONF_DOMAIN,	/* struct msg_domain */
	IMSG_CONF_LISTENER,	/* struct msg_listener, fd: bound socket */
	IMSG_CONF_TLS_CERT,	/* fd: certificate chain, read to EOF */
	IMSG_CONF_TLS_KEY,	/* fd: private key, read to EOF */
	IMSG_CONF_END,

	/* ctld to a child: wiring and run-time settings. */
	IMSG_SETUP_PEER,	/* struct msg_peer, fd: channel to that peer */
	IMSG_LOG_VERBOSE,	/* struct msg_verbose */
	IMSG_LOG_ANONKEY,	/* struct msg_anonkey */

	/* A child to ctld. */
	IMSG_CHILD_READY,	/* struct msg_ready: how it is sandboxed */
	IMSG_LOG,		/* struct msg_log: a line for syslog */

	/* A front and vaultd, on a channel made by ctld.  The peer id of
	 * a request is the front's request id, echoed in the answer.
	 * Every answer (*_RESULT) starts with an int32_t status from the
	 * one family of mbox_proto.h (MBOX_OK, MBOX_E*). */
	IMSG_VAULT_HELLO,	/* struct msg_peer: who is speaking */
	IMSG_VAULT_AUTH,	/* struct msg_auth */
	IMSG_VAULT_AUTH_RESULT,	/* struct msg_auth_result */
	IMSG_VAULT_LOGOUT,	/* struct msg_session */
	IMSG_VAULT_RCPT,	/* struct msg_rcpt: may mail go there? */
	IMSG_VAULT_RCPT_RESULT,	/* struct msg_rcpt_result */
	IMSG_VAULT_DELIVER,	/* struct msg_deliver, fd: bundle memfd */
	IMSG_VAULT_DELIVER_RESULT, /* struct msg_deliver_result */
	IMSG_MBOX_REQUEST,	/* struct mbox_req_hdr and the parts of its
				 * operation (mbox_proto.h); fd: APPEND's
				 * bundle */
	IMSG_MBOX_RESULT,	/* struct msg_mbox_result (+ fd: records) */
	IMSG_MBOX_NOTIFY,	/* struct msg_session, peer id 0: the
				 * session's account changed; look again */

	/* ctl, through ctld, to vaultd: administration. */
	IMSG_CTL_ADMIN,		/* struct msg_admin */
	IMSG_CTL_LINE,		/* struct msg_line: one line of output */

	/* ctl and ctld; every request carries IMSG_VERSION in peerid. */
	IMSG_CTL_STATUS,	/* request: empty; reply: struct msg_status */
	IMSG_CTL_RELOAD,
	IMSG_CTL_STOP,
	IMSG_CTL_VERBOSE,	/* struct msg_verbose */
	IMSG_CTL_OK,
	IMSG_CTL_FAIL,		/* struct msg_result */
	IMSG_CTL_END,		/* ends a list of replies */

	/* ctld and its spawner (ctld/spawn.c): start one child. */
	IMSG_SPAWN,		/* struct msg_spawn, fd: the child's channel */
	IMSG_SPAWN_RESULT,	/* struct msg_spawn_result */

	IMSG_TYPE_MAX
};

struct msg_conf {
	uint32_t	 role;		/* enum proc_role of the receiver */
	char		 chroot[PATH_MAX];
	char		 user[CONF_USER_MAX];
	int32_t		 log_plain_addresses;
};

/* The fronts' part: the name they greet with, and their limits. */
struct msg_front {
	char		 hostname[CONF_NAME_MAX];
	char		 tls_ciphers[CONF_CIPHERS_MAX];
	struct limits	 limits;
};

/* vaultd's part: the key derivation cost and the lock grace. */
struct msg_vault {
	uint64_t	 kdf_ops;	/* 0 for the default */
	uint64_t	 kdf_memory;
	uint32_t	 lock_grace;	/* seconds */
	uint32_t	 allow_unlocked_memory; /* 0 or 1 */
};

struct msg_domain {
	char		 name[CONF_NAME_MAX];
};

struct msg_listener {
	struct sockaddr_storage	 ss;
	uint32_t		 sslen;
	uint32_t		 port;
	uint32_t		 proto;		/* enum proto */
	uint32_t		 tls;		/* enum tlsmode */
	int32_t			 plaintext_auth;
};

struct msg_peer {
	uint32_t	 role;		/* enum proc_role of the other end */
};

struct msg_verbose {
	int32_t		 verbose;
};

struct msg_anonkey {
	unsigned char	 key[32];
};

struct msg_ready {
	uint32_t	 role;
	int32_t		 chrooted;
	int32_t		 uid_dropped;
	int32_t		 seccomp;
	int32_t		 landlock_abi;
	int32_t		 mlocked;	/* vaultd: its memory is locked */
};

#define MSG_STATE_RUNNING	0
#define MSG_STATE_STARTING	1
#define MSG_STATE_RESTARTING	2	/* waiting out its backoff */
#define MSG_STATE_FAILED	3	/* crash loop: no more restarts */

struct msg_status {
	uint32_t	 role;
	int32_t		 pid;		/* -1 while not running */
	uint32_t	 uid;
	uint32_t	 state;
	int64_t		 uptime;	/* seconds */
	uint32_t	 restarts;
	int32_t		 mlocked;	/* 1, 0, or -1: not vaultd, or not
					 * ready */
	char		 user[CONF_USER_MAX];
};

/* Children log through ctld, which alone talks to syslog. */
#define MSG_LOG_MAX		1024
struct msg_log {
	int32_t		 priority;
	char		 text[MSG_LOG_MAX];
};

#define MSG_ADDRESS_MAX		320	/* local@domain with NUL */
#define MSG_SECRET_MAX		1024	/* passwords, with NUL */

struct msg_auth {
	char		 user[MSG_ADDRESS_MAX];
	char		 secret[MSG_SECRET_MAX];
	/* The client's prefixes (netprefix.h), for the login limits;
	 * the wide one is also the key to share the vault fairly by. */
	char		 client_narrow[NETPREFIX_KEY_MAX];
	char		 client_wide[NETPREFIX_KEY_MAX];
	uint32_t	 proto;		/* enum proto */
};

/*
 * MBOX_OK with the session and account; or MBOX_EAUTH, MBOX_ELOCKED,
 * MBOX_ETEMP (why the login failed).
 */
struct msg_auth_result {
	int32_t		 status;
	uint32_t	 session;
	char		 account[MSG_ADDRESS_MAX];
};

struct msg_session {
	uint32_t	 session;
};

struct msg_rcpt {
	char		 address[MSG_ADDRESS_MAX];
};

/*
 * MBOX_OK: a local account (or an alias to one), or with external 1 an
 * alias to a remote address; MBOX_ENOTFOUND: no such address here;
 * MBOX_ETEMP: the vault cannot now.
 */
struct msg_rcpt_result {
	int32_t		 status;
	uint32_t	 external;
	char		 account[MSG_ADDRESS_MAX];
};

struct msg_deliver {
	char		 account[MSG_ADDRESS_MAX];
};

/*
 * MBOX_OK: stored durably; MBOX_ENOTFOUND: no such account;
 * MBOX_EINVAL: the bundle was refused; MBOX_ETEMP: not stored, try
 * again later.
 */
struct msg_deliver_result {
	int32_t		 status;
};

enum admin_op {
	ADMIN_DOMAIN_ADD,
	ADMIN_DOMAIN_DEL,
	ADMIN_DOMAIN_LIST,
	ADMIN_USER_ADD,
	ADMIN_USER_DEL,
	ADMIN_USER_LIST,
	ADMIN_USER_PASSWD,
	ADMIN_APPPASS_ADD,
	ADMIN_APPPASS_DEL,
	ADMIN_APPPASS_LIST,
	ADMIN_ALIAS_ADD,
	ADMIN_ALIAS_DEL,
	ADMIN_ALIAS_LIST,
	ADMIN_OP_MAX
};

/* An admin request; secrets are wiped by each hop after use. */
struct msg_admin {
	uint32_t	 op;		/* enum admin_op */
	uint32_t	 uid;		/* who asked (ctld fills it in) */
	char		 arg1[MSG_ADDRESS_MAX];
	char		 arg2[MSG_ADDRESS_MAX];
	char		 secret[MSG_SECRET_MAX];
	char		 secret2[MSG_SECRET_MAX];
};

/*
 * Mailbox operations of a logged-in session (IMAP, POP3), in the
 * protocol of common/wire/mbox_proto.h.  Every request gets exactly one
 * IMSG_MBOX_RESULT with the same peer id: a status (MBOX_OK or an
 * MBOX_E* code), a few numbers, and for the operations that return
 * lists or bodies an fd: a sealed memfd holding the records
 * (common/wire/mbox_stream.h) or the raw message.
 *
 * Unasked, vaultd sends imapd an IMSG_MBOX_NOTIFY (peer id 0) for each
 * of its sessions on an account every time a write to that account's
 * mailbox commits: a request of any session (the one that asked
 * included) or a delivery.  (smtpd's sessions only submit mail and get
 * none.)  It says nothing of what changed; the front looks again
 * (MBOX_OP_SYNC, one request for all it needs).  One comes per
 * committed write and session, so a front may fold several into one
 * look; to the session that asked, it comes just before the
 * IMSG_MBOX_RESULT of its request.
 */
struct msg_mbox_result {
	int32_t		 status;	/* MBOX_OK, MBOX_E* */
	uint32_t	 count;		/* records in the fd */
	uint64_t	 a;
	uint64_t	 b;
};

struct msg_line {
	char		 line[512];
};

struct msg_result {
	char		 message[256];
};

/*
 * Which child to start and its flags (-d, -v or -vv).  The program is
 * the spawner's to choose from the role: ctld never names a path.
 */
struct msg_spawn {
	uint32_t	 role;		/* ROLE_SMTPD, ROLE_IMAPD, ROLE_VAULTD */
	uint32_t	 foreground;	/* 0 or 1 */
	uint32_t	 verbose;	/* 0, 1 or 2 */
};

struct msg_spawn_result {
	int32_t		 pid;		/* -1: refused or failed */
	int32_t		 error;		/* errno when pid is -1 */
};

int		 msg_check(const struct imsg *);
int		 msg_conf_for(uint32_t, enum proc_role);
const char	*msg_type_name(uint32_t);
int		 msg_str(const char *, size_t);
#define MSG_STR(field)	msg_str((field), sizeof(field))

#endif /* MSG_H */
