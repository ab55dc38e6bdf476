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
 * What every part of an IMAP session uses to talk: output to the
 * client, requests to the vault, and mailbox names in both directions.
 * It calls nothing of the session's other files, so that the view
 * (imap_view.c), the commands and the connection (imap_session.c) all
 * build on it without depending on one another in a circle.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_local.h"
#include "log.h"

static int	 imap_name_valid(const char *);

/* -------------------------------------------------------------------
 * Output.
 */

/*
 * Everything the commands write goes through here: the session's
 * output, with its overflow (see imap_greet() in imap_session.c).
 */
void
imap_out(void *arg, const void *buf, size_t len)
{
	(void)session_write(arg, buf, len);
}

void
imap_printf(struct session *s, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n == -1) {
		log_warn("imap: session %u: vasprintf", s->id);
		session_close(s);
		return;
	}
	imap_out(s, line, (size_t)n);
	free(line);
}

/* -------------------------------------------------------------------
 * The vault.
 */

void
imap_req_init(struct session *s, struct mbox_req *q, uint32_t op)
{
	struct imap	*im = s->data;

	memset(q, 0, sizeof(*q));
	q->session = im->conn.vsession;
	q->op = op;
}

static void
imap_vault_done(void *arg, struct mbox_result *r)
{
	struct session		*s = arg;
	struct imap		*im = s->data;
	imap_result_cb		 cb = im->run.req_cb;

	s->req = 0;
	im->run.req_cb = NULL;
	if (r->error == ENOTCONN)
		log_info("imap: session %u: the vault went away", s->id);
	else if (r->error != 0) {
		errno = r->error;
		log_warn("imap: session %u: vault result", s->id);
	}
	cb(s, r);
}

static int
imap_vault_send(struct session *s, struct mbox_req *q,
    const struct search_program *prog, int fd, size_t max,
    imap_result_cb cb)
{
	struct imap		*im = s->data;
	struct mbox_result	 r;

	q->session = im->conn.vsession;
	im->run.req_cb = cb;
	if ((s->req = mbox_client_send(&im->run.mc, q, prog, fd, max,
	    imap_vault_done, s)) == 0) {
		im->run.req_cb = NULL;
		memset(&r, 0, sizeof(r));
		r.status = MBOX_EIO;
		r.fd = -1;
		cb(s, &r);
		return (-1);
	}
	return (0);
}

int
imap_vault(struct session *s, struct mbox_req *q, int fd, size_t max,
    imap_result_cb cb)
{
	return (imap_vault_send(s, q, NULL, fd, max, cb));
}

int
imap_vault_search(struct session *s, const char *folder,
    const struct search_program *prog, imap_result_cb cb)
{
	static struct mbox_req	 q;
	struct mbox_result	 r;

	imap_req_init(s, &q, MBOX_OP_SEARCH);
	if (strlcpy(q.folder, folder, sizeof(q.folder)) >= sizeof(q.folder)) {
		memset(&r, 0, sizeof(r));
		r.status = MBOX_EIO;
		r.fd = -1;
		cb(s, &r);
		return (-1);
	}
	return (imap_vault_send(s, &q, prog, -1, IMAP_UIDS_MAX, cb));
}

/* A request that carries a search program (SORT, THREAD). */
int
imap_vault_prog(struct session *s, struct mbox_req *q,
    const struct search_program *prog, imap_result_cb cb)
{
	return (imap_vault_send(s, q, prog, -1, IMAP_UIDS_MAX, cb));
}

/* -------------------------------------------------------------------
 * Mailbox names.
 */

int
imap_utf8(struct session *s)
{
	struct imap	*im = s->data;

	return ((im->conn.enabled & (IMAP_EN_REV2 | IMAP_EN_UTF8)) != 0);
}

/* Valid UTF-8, no control characters. */
static int
imap_name_valid(const char *p)
{
	const unsigned char	*u = (const unsigned char *)p;
	uint32_t		 cp;
	int			 n, i;

	while (*u != '\0') {
		if (*u < 0x80) {
			if (*u < 0x20 || *u == 0x7f)
				return (0);
			u++;
			continue;
		}
		if ((*u & 0xe0) == 0xc0) {
			n = 1;
			cp = *u & 0x1f;
		} else if ((*u & 0xf0) == 0xe0) {
			n = 2;
			cp = *u & 0x0f;
		} else if ((*u & 0xf8) == 0xf0) {
			n = 3;
			cp = *u & 0x07;
		} else
			return (0);
		for (i = 1; i <= n; i++) {
			if ((u[i] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (u[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0))
			return (0);
		u += n + 1;
	}
	return (1);
}

int
imap_name_in(struct session *s, const struct imap_arg *a, char *out,
    size_t outsz)
{
	const char	*name;

	if ((name = imap_arg_astring(a)) == NULL)
		return (-1);
	if (imap_utf8(s)) {
		if (strlcpy(out, name, outsz) >= outsz)
			return (-1);
	} else if (imap_utf7_decode(name, out, outsz) == -1)
		return (-1);
	return (imap_name_valid(out) ? 0 : -1);
}

void
imap_name_out(struct session *s, const char *name)
{
	char	 buf[MBOX_NAME_MAX * 3];

	if (imap_utf8(s)) {
		imap_write_string(name, strlen(name), 1, imap_out, s);
		return;
	}
	if (imap_utf7_encode(name, buf, sizeof(buf)) == -1) {
		/* Stored names are valid UTF-8; cannot happen. */
		imap_write_string("", 0, 0, imap_out, s);
		return;
	}
	imap_write_string(buf, strlen(buf), 0, imap_out, s);
}
