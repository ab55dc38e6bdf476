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

#include <errno.h>
#include <string.h>

#include "msg.h"

#define FD_NO		0
#define FD_MUST		1
#define FD_MAYBE	2

/* The payload size and fd rule of each type: the one place they live. */
static const struct {
	const char	*name;
	size_t		 size;
	int		 fd;
	/* For a payload that says its own size: 1 if it is right. */
	int		(*size_ok)(const void *, size_t);
} msg_spec[IMSG_TYPE_MAX] = {
	[IMSG_NONE] =		{ "none", 0, FD_NO },
	[IMSG_CONF_START] =	{ "conf-start", sizeof(struct msg_conf), FD_NO },
	[IMSG_CONF_FRONT] =	{ "conf-front", sizeof(struct msg_front),
				  FD_NO },
	[IMSG_CONF_VAULT] =	{ "conf-vault", sizeof(struct msg_vault),
				  FD_NO },
	[IMSG_CONF_DOMAIN] =	{ "conf-domain", sizeof(struct msg_domain),
				  FD_NO },
	[IMSG_CONF_LISTENER] =	{ "conf-listener", sizeof(struct msg_listener),
				  FD_MUST },
	[IMSG_CONF_TLS_CERT] =	{ "conf-tls-cert", 0, FD_MUST },
	[IMSG_CONF_TLS_KEY] =	{ "conf-tls-key", 0, FD_MUST },
	[IMSG_CONF_END] =	{ "conf-end", 0, FD_NO },
	[IMSG_SETUP_PEER] =	{ "setup-peer", sizeof(struct msg_peer),
				  FD_MUST },
	[IMSG_LOG_VERBOSE] =	{ "log-verbose", sizeof(struct msg_verbose),
				  FD_NO },
	[IMSG_LOG_ANONKEY] =	{ "log-anonkey", sizeof(struct msg_anonkey),
				  FD_NO },
	[IMSG_LOG] =		{ "log", sizeof(struct msg_log), FD_NO },
	[IMSG_CHILD_READY] =	{ "child-ready", sizeof(struct msg_ready),
				  FD_NO },
	[IMSG_VAULT_HELLO] =	{ "vault-hello", sizeof(struct msg_peer),
				  FD_NO },
	[IMSG_VAULT_AUTH] =	{ "vault-auth", sizeof(struct msg_auth), FD_NO },
	[IMSG_VAULT_AUTH_RESULT] = { "vault-auth-result",
				  sizeof(struct msg_auth_result), FD_NO },
	[IMSG_VAULT_LOGOUT] =	{ "vault-logout", sizeof(struct msg_session),
				  FD_NO },
	[IMSG_VAULT_RCPT] =	{ "vault-rcpt", sizeof(struct msg_rcpt), FD_NO },
	[IMSG_VAULT_RCPT_RESULT] = { "vault-rcpt-result",
				  sizeof(struct msg_rcpt_result), FD_NO },
	[IMSG_VAULT_DELIVER] =	{ "vault-deliver", sizeof(struct msg_deliver),
				  FD_MUST },
	[IMSG_VAULT_DELIVER_RESULT] = { "vault-deliver-result",
				  sizeof(struct msg_deliver_result), FD_NO },
	[IMSG_MBOX_REQUEST] =	{ "mbox-request", 0, FD_MAYBE,
				  mbox_req_size_ok },
	[IMSG_MBOX_RESULT] =	{ "mbox-result",
				  sizeof(struct msg_mbox_result), FD_MAYBE },
	[IMSG_MBOX_NOTIFY] =	{ "mbox-notify", sizeof(struct msg_session),
				  FD_NO },
	[IMSG_CTL_ADMIN] =	{ "ctl-admin", sizeof(struct msg_admin), FD_NO },
	[IMSG_CTL_LINE] =	{ "ctl-line", sizeof(struct msg_line), FD_NO },
	[IMSG_CTL_STATUS] =	{ "ctl-status", 0, FD_NO },
	[IMSG_CTL_RELOAD] =	{ "ctl-reload", 0, FD_NO },
	[IMSG_CTL_STOP] =	{ "ctl-stop", 0, FD_NO },
	[IMSG_CTL_VERBOSE] =	{ "ctl-verbose", sizeof(struct msg_verbose),
				  FD_NO },
	[IMSG_CTL_OK] =		{ "ctl-ok", 0, FD_NO },
	[IMSG_CTL_FAIL] =	{ "ctl-fail", sizeof(struct msg_result), FD_NO },
	[IMSG_CTL_END] =	{ "ctl-end", 0, FD_NO },
	[IMSG_SPAWN] =		{ "spawn", sizeof(struct msg_spawn), FD_MUST },
	[IMSG_SPAWN_RESULT] =	{ "spawn-result",
				  sizeof(struct msg_spawn_result), FD_NO },
};

/*
 * 0 when the message is well formed for its type; -1 (errno EBADMSG)
 * otherwise.  The reply form of IMSG_CTL_STATUS carries a struct
 * msg_status, so for that type both sizes are accepted; the dispatcher
 * knows which direction it reads.
 */
int
msg_check(const struct imsg *imsg)
{
	uint32_t	 type = imsg->hdr.type;

	if (type == IMSG_NONE || type >= IMSG_TYPE_MAX)
		goto bad;
	if (type == IMSG_CTL_STATUS &&
	    imsg->datalen == sizeof(struct msg_status) && imsg->fd == -1)
		return (0);
	if (msg_spec[type].size_ok != NULL) {
		if (!msg_spec[type].size_ok(imsg->data, imsg->datalen))
			goto bad;
	} else if (imsg->datalen != msg_spec[type].size)
		goto bad;
	if (msg_spec[type].fd != FD_MAYBE &&
	    (msg_spec[type].fd == FD_MUST) != (imsg->fd != -1))
		goto bad;
	return (0);
 bad:
	errno = EBADMSG;
	return (-1);
}

/*
 * 1 when a configuration message of this type is for a child of this
 * role, else 0.  A front must never hold vaultd's settings, nor vaultd
 * the fronts': ctld sends by this rule and each child refuses a part
 * that breaks it.  Listeners and the TLS key pair are the fronts' too.
 * Types that are not role-specific are for every role.
 */
int
msg_conf_for(uint32_t type, enum proc_role role)
{
	switch (type) {
	case IMSG_CONF_FRONT:
	case IMSG_CONF_LISTENER:
	case IMSG_CONF_TLS_CERT:
	case IMSG_CONF_TLS_KEY:
		return (role == ROLE_SMTPD || role == ROLE_IMAPD);
	case IMSG_CONF_VAULT:
		return (role == ROLE_VAULTD);
	default:
		return (1);
	}
}

const char *
msg_type_name(uint32_t type)
{
	if (type >= IMSG_TYPE_MAX)
		return ("unknown");
	return (msg_spec[type].name);
}

/* 1 when a fixed-size string field holds its NUL terminator. */
int
msg_str(const char *field, size_t size)
{
	return (memchr(field, '\0', size) != NULL);
}
