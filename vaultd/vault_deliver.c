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
 * Deliveries, sealed into the spool on the mailbox workers.
 *
 * A seal costs two syncs (the file, then its directory).  On the event
 * loop every other account's requests waited for them, one delivery at
 * a time; here the seal runs as a job on a worker while the loop goes
 * on.  The loop does what needs the directory (the bundle's check and
 * the account's lookup, in account_deliver_check()) before, and the
 * answer and the account's import (account_delivered()) after.
 *
 * Order.  The deliveries of one account are sealed one at a time, in
 * arrival order, on one of DELIVER_STRANDS strands chosen by the
 * account's id (random bytes), so that its spool names keep the order
 * of arrival; those of accounts on different strands are sealed side by
 * side.  An unlocked account's own strand (its requests and imports) is
 * another: an import may look at the spool while a seal writes into it,
 * which vault_spool.c allows (temporary name, then rename).
 *
 * Answers.  done(arg, reqid, status) is called exactly once per
 * delivery, on the loop, once the message is durable (MBOX_OK) or
 * refused, unless deliver_cancel(arg) came first: a front whose channel
 * went away is not answered, and its sender will try again (a message
 * sealed meanwhile is delivered; the sender may send it twice).
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "log.h"
#include "vaultd.h"

#define DELIVER_STRANDS		16

struct delivery {
	TAILQ_ENTRY(delivery)	 entry;
	struct work_job		 job;
	deliver_done_cb		 done;		/* NULL once cancelled */
	void			*arg;
	uint32_t		 reqid;
	struct dir_account	 da;
	void			*data;		/* bundle_map()'s copy */
	size_t			 len;
};

static TAILQ_HEAD(, delivery)	 inflight = TAILQ_HEAD_INITIALIZER(inflight);
static struct work_strand	 strands[DELIVER_STRANDS];

static struct work_strand *deliver_strand(const unsigned char *);
static int	 deliver_run(void *);
static void	 deliver_done(void *, int);

void
deliver_init(void)
{
	size_t	 i;

	for (i = 0; i < DELIVER_STRANDS; i++)
		work_strand_init(&strands[i]);
}

static struct work_strand *
deliver_strand(const unsigned char *id)
{
	return (&strands[id[0] % DELIVER_STRANDS]);
}

/*
 * A delivery from a front; takes the bundle.  Refused at once if the
 * bundle or the address is not right, else sealed on a worker.
 */
void
deliver_submit(const char *address, void *data, size_t len,
    deliver_done_cb done, void *arg, uint32_t reqid)
{
	struct delivery	*d;
	int		 status;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("%s", __func__);
		bundle_unmap(data, len);
		done(arg, reqid, MBOX_ETEMP);
		return;
	}
	if ((status = account_deliver_check(address, data, len, &d->da)) !=
	    MBOX_OK) {
		bundle_unmap(data, len);
		free(d);
		done(arg, reqid, status);
		return;
	}
	d->done = done;
	d->arg = arg;
	d->reqid = reqid;
	d->data = data;
	d->len = len;
	TAILQ_INSERT_TAIL(&inflight, d, entry);
	work_submit(deliver_strand(d->da.id), &d->job, deliver_run,
	    deliver_done, d);
}

/* On a worker: the seal and its syncs. */
static int
deliver_run(void *arg)
{
	struct delivery	*d = arg;

	return (account_seal(&d->da, d->data, d->len));
}

/* On the loop: the account's import, then the answer. */
static void
deliver_done(void *arg, int status)
{
	struct delivery	*d = arg;

	if (status == WORK_CANCELLED)
		status = MBOX_ETEMP;
	else if (status == MBOX_OK)
		account_delivered(d->da.id);
	TAILQ_REMOVE(&inflight, d, entry);
	if (d->done != NULL)
		d->done(d->arg, d->reqid, status);
	bundle_unmap(d->data, d->len);
	free(d);
}

/* A front's channel is gone: its deliveries are sealed, not answered. */
void
deliver_cancel(void *arg)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, &inflight, entry)
		if (d->arg == arg)
			d->done = NULL;
}

/*
 * Before an account's spool is removed (the account is deleted): no
 * seal for it may be under way.  The loop waits for the one a worker
 * runs on the account's strand; the others that wait there, some of
 * other accounts, are answered MBOX_ETEMP (their senders try again).
 * For rare, administrator-driven events only.
 */
void
deliver_drain(const unsigned char *id)
{
	work_drain(deliver_strand(id));
}

/* At a stop: every seal under way finished, the waiting ones refused. */
void
deliver_drain_all(void)
{
	size_t	 i;

	for (i = 0; i < DELIVER_STRANDS; i++)
		work_drain(&strands[i]);
}
