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

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "session.h"

static unsigned int	 session_ids;

static void	 session_io(struct io *, int, void *);
static void	 session_free(struct session *);
static void	 session_lines(struct session *);

void
session_accept(int fd, const struct msg_listener *l,
    const struct front_client *client, int refused,
    const struct session_proto *proto)
{
	const struct msg_front	*conf = front_conf();
	struct session		*s;
	const char		*msg;

	if (refused != FRONT_OK) {
		/* Best effort: one line on a fresh socket, then goodbye. */
		msg = proto->refusal(refused);
		if (write(fd, msg, strlen(msg)) == -1)
			log_debug("%s: refusal not sent", proto->name);
		close(fd);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s", __func__);
		close(fd);
		front_conn_closed(client);
		return;
	}
	s->client = *client;
	s->listener = *l;
	s->proto = proto;
	s->id = ++session_ids;
	if ((s->io = io_new(fd, session_io, s)) == NULL) {
		log_warn("%s: io_new", __func__);
		close(fd);
		front_conn_closed(client);
		free(s);
		return;
	}
	io_set_maxline(s->io, proto->maxline);
	io_set_timeouts(s->io, conf->limits.timeout_idle,
	    conf->limits.timeout_session);
	log_info("%s: session %u from %s", proto->name, s->id, s->client.addr);

	if (l->tls == TLSMODE_IMPLICIT) {
		if (front_tls() == NULL) {
			log_warnx("%s: no TLS context: closing session %u",
			    proto->name, s->id);
			session_free(s);
			return;
		}
		s->tls_implicit = 1;
		if (io_start_tls(s->io, front_tls()) == -1) {
			session_free(s);
			return;
		}
		return;
	}
	proto->greet(s);
}

int
session_tls_available(struct session *s)
{
	return (s->listener.tls != TLSMODE_NONE && front_tls() != NULL);
}

int
session_is_tls(struct session *s)
{
	return (io_is_tls(s->io));
}

/* Call right after queueing the protocol's go-ahead reply. */
int
session_starttls(struct session *s)
{
	if (io_start_tls(s->io, front_tls()) == -1) {
		log_warnx("%s: session %u: cannot start TLS", s->proto->name,
		    s->id);
		session_close(s);
		return (-1);
	}
	return (0);
}

void
session_printf(struct session *s, const char *fmt, ...)
{
	va_list	 ap;

	if (s->closing)
		return;
	va_start(ap, fmt);
	if (io_vprintf(s->io, fmt, ap) == -1)
		log_debug("%s: session %u: output cap reached",
		    s->proto->name, s->id);
	va_end(ap);
}

void
session_write(struct session *s, const void *buf, size_t len)
{
	if (s->closing)
		return;
	if (io_write(s->io, buf, len) == -1)
		log_debug("%s: session %u: output cap reached",
		    s->proto->name, s->id);
}

/* Octets queued for the client, not yet sent. */
size_t
session_queued(struct session *s)
{
	return (io_queued(s->io));
}

/*
 * The next n octets of input are not lines: they go to the protocol's
 * raw hook as they arrive (an IMAP literal), then lines resume.
 */
void
session_raw(struct session *s, size_t n)
{
	s->rawleft = n;
}

/*
 * While the session waits (for the vault, say), it takes no input: not
 * from the socket, and not the lines already buffered, which a client
 * may have pipelined.  Release resumes with those.
 */
void
session_hold(struct session *s)
{
	s->held = 1;
	io_pause(s->io);
}

void
session_release(struct session *s)
{
	s->held = 0;
	io_resume(s->io);
}

/* Send what is queued, then end the session. */
void
session_close(struct session *s)
{
	if (s->closing)
		return;
	s->closing = 1;
	io_close_when_flushed(s->io);
}

static void
session_free(struct session *s)
{
	log_info("%s: session %u ended", s->proto->name, s->id);
	if (s->proto->free != NULL)
		s->proto->free(s);
	io_free(s->io);
	front_conn_closed(&s->client);
	free(s);
}

static void
session_lines(struct session *s)
{
	char	*line;
	size_t	 len;
	int	 flags, rv;

	while (!s->closing && !s->held) {
		if (s->rawleft > 0) {
			if ((len = io_datalen(s->io)) == 0)
				break;
			if (len > s->rawleft)
				len = s->rawleft;
			s->rawleft -= len;
			rv = s->proto->raw(s, io_data(s->io), len);
			io_drop(s->io, len);
			if (rv == -1)
				session_close(s);
			continue;
		}
		rv = io_getline(s->io, &line, &len, &flags);
		if (rv == IO_LINE_NONE)
			break;
		if (rv == IO_LINE_TOOLONG) {
			log_info("%s: session %u: line too long",
			    s->proto->name, s->id);
			s->proto->toolong(s);
			continue;
		}
		s->proto->line(s, line, len, flags);
	}
}

static void
session_io(struct io *io, int event, void *arg)
{
	struct session	*s = arg;

	(void)io;
	switch (event) {
	case IO_TLSREADY:
		log_info("%s: session %u: %s %s", s->proto->name, s->id,
		    io_tls_version(s->io), io_tls_cipher(s->io));
		if (s->tls_implicit)
			s->proto->greet(s);
		else if (s->proto->tls_ready != NULL)
			s->proto->tls_ready(s);
		session_lines(s);
		break;
	case IO_DATAIN:
		session_lines(s);
		break;
	case IO_LOWAT:
		if (s->proto->lowat != NULL)
			s->proto->lowat(s);
		break;
	case IO_TIMEOUT:
		if (s->closing) {
			session_free(s);
			break;
		}
		log_info("%s: session %u: timeout", s->proto->name, s->id);
		s->proto->timeout(s);
		session_close(s);
		break;
	case IO_DISCONNECTED:
	case IO_ERROR:
		session_free(s);
		break;
	}
}
