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
 * The configuration, as parsed by ctld from tresor.conf(5) or taken from
 * the built-in default.  ctld sends each child only the part it needs
 * (see msg.h); children never read the file.
 */

#ifndef CONF_H
#define CONF_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

#define CONF_NAME_MAX		256	/* host and domain names, with NUL */
#define CONF_USER_MAX		33	/* user and group names, with NUL */
#define CONF_CIPHERS_MAX	512	/* a TLS 1.2 cipher list, with NUL */

/*
 * TLS 1.2 cipher suites offered unless `tls ciphers` says otherwise:
 * forward secrecy (ECDHE) and AEAD only (AES-GCM, ChaCha20-Poly1305).
 * CBC suites (LUCKY13 and its kin), static RSA and anything anonymous
 * are left out.  TLS 1.3 has its own suites, all AEAD, untouched by
 * this list.
 */
#define CONF_TLS_CIPHERS_DEFAULT	"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"

/*
 * limit line-length: the longest text line smtpd takes in a message,
 * in octets with its CRLF.  RFC 5321 4.5.3.1.6's 1000 is the least;
 * the most is what smtpd can hold of one line in its input buffer
 * (IO_IN_MAX, which smtp_data.c checks against this).
 */
#define CONF_LINE_LENGTH_MIN	1000
#define CONF_LINE_LENGTH_MAX	(1024 * 1024)
#define CONF_LINE_LENGTH_DEFAULT (64 * 1024)

enum proto {
	PROTO_SMTP,		/* MX: mail for local domains, no AUTH */
	PROTO_SUBMISSION,	/* authenticated submission */
	PROTO_IMAP,
	PROTO_POP3
};

enum tlsmode {
	TLSMODE_NONE,		/* TLS is not offered */
	TLSMODE_STARTTLS,	/* plaintext, upgraded on request */
	TLSMODE_IMPLICIT	/* TLS from the first byte */
};

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	in_port_t		 port;		/* host order */
	enum proto		 proto;
	enum tlsmode		 tls;
	int			 plaintext_auth; /* passwords without TLS */
	int			 fd;		/* bound socket, or -1 */
};
TAILQ_HEAD(listenerlist, listener);

struct domain {
	TAILQ_ENTRY(domain)	 entry;
	char			 name[CONF_NAME_MAX];
};
TAILQ_HEAD(domainlist, domain);

struct limits {
	unsigned int	 max_conn;		/* per front process */
	unsigned int	 max_conn_per_addr;	/* per IPv4 /32, IPv6 /64 */
	unsigned int	 max_conn_per_net;	/* per IPv4 /24, IPv6 /48 */
	size_t		 max_message_size;	/* octets */
	size_t		 max_line_length;	/* octets with CRLF; smtpd */
	uint64_t	 max_mailbox_size;	/* octets per account; 0: none */
	unsigned int	 timeout_idle;		/* seconds */
	unsigned int	 timeout_session;	/* seconds */
};

/*
 * limit connections per-network, unless the file says: this many times
 * per-address, so that a few hosts of one network (a household, an
 * office behind one /24 or /48) share it without noticing.
 */
#define CONF_CONN_NET_FACTOR	4

/*
 * vaultd's settings.  The Argon2id cost is that of the keyslots vaultd
 * writes (each slot keeps the cost it was made with); kdf_ops and
 * kdf_memory are both 0, for vaultd's built-in default, or both set.
 */
struct vault_conf {
	uint64_t	 kdf_ops;	/* Argon2id passes; 0: the default */
	uint64_t	 kdf_memory;	/* bytes; 0: the default */
	unsigned int	 lock_grace;	/* seconds kept unlocked when idle */
	int		 allow_unlocked_memory; /* run if mlockall fails */
};

struct conf {
	char			 source[PATH_MAX];	/* file or "(built-in)" */
	char			 hostname[CONF_NAME_MAX];
	char			 datadir[PATH_MAX];
	char			 emptydir[PATH_MAX];	/* fronts' chroot */
	char			 ctlsock[PATH_MAX];
	char			 ctlgroup[CONF_USER_MAX];
	char			 user[ROLE_COUNT][CONF_USER_MAX];
	char			 tls_cert[PATH_MAX];
	char			 tls_key[PATH_MAX];
	int			 tls_selfsigned; /* make it if missing */
	char			 tls_ciphers[CONF_CIPHERS_MAX]; /* TLS 1.2 */
	int			 log_plain_addresses;
	struct limits		 limits;
	struct vault_conf	 vault;
	struct domainlist	 domains;
	struct listenerlist	 listeners;
};

struct conf	*conf_new(void);
struct conf	*conf_default(void);
void		 conf_print(FILE *, const struct conf *);
void		 conf_free(struct conf *);
void		 conf_limits_settle(struct limits *);

/* parse.c */
int		 parse_conf(const char *, struct conf **);

const char	*conf_proto_name(enum proto);
const char	*conf_tlsmode_name(enum tlsmode);
int		 conf_listener_is_loopback(const struct listener *);
const char	*conf_listener_addr(const struct listener *, char *, size_t);

#endif /* CONF_H */
