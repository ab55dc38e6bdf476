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
 * Listening sockets.  ctld opens them (ports below 1024 need root) and
 * passes them to the fronts.  On reload a socket whose address and port
 * did not change is kept, so no connection is refused meanwhile.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ctld.h"
#include "log.h"

#define LISTEN_BACKLOG	128

static int	 listen_one(struct listener *);
static int	 same_address(const struct listener *, const struct listener *);

static int
same_address(const struct listener *a, const struct listener *b)
{
	return (a->sslen == b->sslen && a->port == b->port &&
	    memcmp(&a->ss, &b->ss, a->sslen) == 0);
}

static int
listen_one(struct listener *l)
{
	char	 addr[64];
	int	 fd, on = 1;

	conf_listener_addr(l, addr, sizeof(addr));
	if ((fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket for %s port %u", addr, l->port);
		return (-1);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (l->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) == -1)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	l->fd = fd;
	log_debug("listening on %s port %u (%s, tls %s)", addr, l->port,
	    conf_proto_name(l->proto), conf_tlsmode_name(l->tls));
	return (0);
 fail:
	log_warn("cannot listen on %s port %u", addr, l->port);
	close(fd);
	return (-1);
}

/*
 * Open every listener of conf, taking over the sockets of old (may be
 * NULL) that have the same address and port.  -1 if any cannot be
 * opened: then old is left as it was.
 */
int
listen_open(struct conf *conf, struct conf *old)
{
	struct listener	*l, *o;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		l->fd = -1;
		if (old != NULL) {
			TAILQ_FOREACH(o, &old->listeners, entry) {
				if (o->fd != -1 && same_address(l, o)) {
					l->fd = o->fd;
					o->fd = -1;
					break;
				}
			}
		}
		if (l->fd == -1 && listen_one(l) == -1)
			goto fail;
	}
	return (0);
 fail:
	/* Give the sockets taken over back to old, close the rest. */
	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->fd == -1)
			continue;
		if (old != NULL) {
			TAILQ_FOREACH(o, &old->listeners, entry) {
				if (o->fd == -1 && same_address(l, o)) {
					o->fd = l->fd;
					l->fd = -1;
					break;
				}
			}
		}
		if (l->fd != -1)
			close(l->fd);
		l->fd = -1;
	}
	return (-1);
}

void
listen_close(struct conf *conf)
{
	struct listener	*l;

	TAILQ_FOREACH(l, &conf->listeners, entry) {
		if (l->fd != -1)
			close(l->fd);
		l->fd = -1;
	}
}
