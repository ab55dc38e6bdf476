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
 * imsgev: an imsg channel on the event loop (see imsgev.h).
 */

#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "log.h"

static void	 imsgev_dispatch(int, short, void *);

/*
 * The channel whose handler is running, and whether that handler cleared
 * it (and perhaps freed the memory it lives in): then the dispatcher must
 * not touch it again.  Handlers never nest.
 */
static struct imsgev	*dispatching;
static int		 dispatching_cleared;

int
imsgev_init(struct imsgev *iev, int fd, const char *name,
    imsgev_handler handler, void *arg, int allow_fd)
{
	memset(iev, 0, sizeof(*iev));
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		return (-1);
	if (allow_fd)
		imsgbuf_allow_fdpass(&iev->ibuf);
	iev->handler = handler;
	iev->arg = arg;
	iev->name = name;
	iev->active = 1;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events, imsgev_dispatch, iev);
	event_add(&iev->ev, NULL);
	return (0);
}

/* Stop listening, drop queued messages and close the channel. */
void
imsgev_clear(struct imsgev *iev)
{
	if (!iev->active)
		return;
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
	iev->active = 0;
	if (iev == dispatching)
		dispatching_cleared = 1;
}

void
imsgev_update(struct imsgev *iev)
{
	short	 events = EV_READ;

	if (!iev->active)
		return;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	/* The event is not persistent: add it again after each dispatch. */
	iev->events = events;
	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, events, imsgev_dispatch, iev);
	event_add(&iev->ev, NULL);
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (!iev->active) {
		if (fd != -1)
			close(fd);
		errno = EPIPE;
		return (-1);
	}
	if (imsg_compose(&iev->ibuf, type, peerid, 0, fd, data, len) == -1) {
		log_warn("%s: message to %s", __func__, iev->name);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	imsgev_update(iev);
	return (0);
}

/*
 * Answer a request with IMSG_CTL_FAIL and a message for the user: ctld
 * to ctl and vaultd to ctl (through ctld) word their failures the same
 * way.  A message longer than struct msg_result holds is cut.
 */
int
imsgev_vfail(struct imsgev *iev, uint32_t peerid, const char *fmt,
    va_list ap)
{
	struct msg_result	 res;

	memset(&res, 0, sizeof(res));
	(void)vsnprintf(res.message, sizeof(res.message), fmt, ap);
	return (imsgev_compose(iev, IMSG_CTL_FAIL, peerid, -1, &res,
	    sizeof(res)));
}

static void
imsgev_lost(struct imsgev *iev, const char *why)
{
	/* A peer that hangs up is for the handler to judge; the rest is bad. */
	if (strcmp(why, "closed") == 0)
		log_debug("channel to %s: %s", iev->name, why);
	else
		log_warnx("channel to %s: %s", iev->name, why);
	iev->handler(iev, NULL);
}

static void
imsgev_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	(void)fd;
	dispatching = iev;
	dispatching_cleared = 0;
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			imsgev_lost(iev, strerror(errno));
			goto done;
		}
	}
	if (event & EV_READ) {
		n = imsgbuf_read(&iev->ibuf);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			imsgev_lost(iev, strerror(errno));
			goto done;
		}
		if (n == 0) {
			imsgev_lost(iev, "closed");
			goto done;
		}
		for (;;) {
			if ((n = imsg_get(&iev->ibuf, &imsg)) == -1) {
				imsgev_lost(iev, strerror(errno));
				goto done;
			}
			if (n == 0)
				break;
			if (msg_check(&imsg) == -1) {
				log_warnx("%s: bad message type %u (%s), "
				    "%zu bytes, fd %s", iev->name,
				    imsg.hdr.type, msg_type_name(imsg.hdr.type),
				    imsg.datalen, imsg.fd == -1 ? "no" : "yes");
				imsg_free(&imsg);
				imsgev_lost(iev, "malformed message");
				goto done;
			}
			iev->handler(iev, &imsg);
			imsg_free(&imsg);
			if (dispatching_cleared)
				goto done;
		}
	}
	imsgev_update(iev);
 done:
	dispatching = NULL;
}
