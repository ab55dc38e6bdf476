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
 * Checkpoints of mailbox logs in a thread of their own.
 *
 * SQLite checkpoints a database's log inside the commit that takes it
 * past 1000 frames.  A mailbox's full-text index makes every delivery
 * or APPEND write some 50 to 100 frames, so one commit in ten to
 * twenty carried a checkpoint: a thousand pages read back from the
 * log, decrypted, encrypted again and written to the database, then
 * synced (issue 13: "a tenth take 40-95 ms").  Here the commit only
 * asks for one, and a thread runs it on a second connection to the
 * same database, while the event loop answers and goes on: in WAL mode
 * a PASSIVE checkpoint never waits for, nor blocks, the writer.
 *
 * One thread for every mailbox, started at the first request; a
 * mailbox is queued at most once.  mbox_close() takes a mailbox off the
 * queue, or waits for its checkpoint to end, before closing anything.
 */

#include <sys/types.h>

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "vault_mbox_db.h"

enum {
	CK_IDLE,
	CK_QUEUED,
	CK_RUNNING
};

static pthread_mutex_t	 ck_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ck_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	 ck_done = PTHREAD_COND_INITIALIZER;
static struct mbox	*ck_head;		/* the queue */
static struct mbox	*ck_tail;
static int		 ck_started;		/* 1 running, -1 cannot */

static void	*ck_main(void *);
static int	 ck_start(void);

static void *
ck_main(void *arg)
{
	struct mbox	*m;
	int		 rc;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&ck_mtx);
		while (ck_head == NULL)
			pthread_cond_wait(&ck_work, &ck_mtx);
		m = ck_head;
		if ((ck_head = m->ck_next) == NULL)
			ck_tail = NULL;
		m->ck_next = NULL;
		m->ck_state = CK_RUNNING;
		pthread_mutex_unlock(&ck_mtx);

		/* PASSIVE: never waits; SQLITE_BUSY is a partial one. */
		rc = sqlite3_wal_checkpoint_v2(m->ckdb, "main",
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warnx("mbox: checkpoint: %s", sqlite3_errstr(rc));

		pthread_mutex_lock(&ck_mtx);
		m->ck_state = CK_IDLE;
		pthread_cond_broadcast(&ck_done);
		pthread_mutex_unlock(&ck_mtx);
	}
	return (NULL);
}

/* With ck_mtx held.  Signals go to the main thread, never to this one. */
static int
ck_start(void)
{
	pthread_attr_t	 attr;
	pthread_t	 t;
	sigset_t	 all, old;
	int		 r;

	if (ck_started != 0)
		return (ck_started == 1 ? 0 : -1);
	ck_started = -1;
	if ((r = pthread_attr_init(&attr)) != 0) {
		log_warnx("mbox: checkpoint thread: %s", strerror(r));
		return (-1);
	}
	(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	if ((r = pthread_sigmask(SIG_SETMASK, &all, &old)) == 0) {
		if ((r = pthread_create(&t, &attr, ck_main, NULL)) == 0)
			ck_started = 1;
		(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_attr_destroy(&attr);
	if (ck_started != 1) {
		log_warnx("mbox: checkpoint thread: %s; checkpoints stay "
		    "inside commits", strerror(r));
		return (-1);
	}
	return (0);
}

int
mbox_ckpt_request(struct mbox *m)
{
	int	 rv = 0;

	if (m->ckdb == NULL)
		return (-1);
	pthread_mutex_lock(&ck_mtx);
	if (m->ck_state != CK_IDLE)
		goto out;		/* one is under way or due */
	if ((rv = ck_start()) == -1)
		goto out;
	m->ck_state = CK_QUEUED;
	m->ck_next = NULL;
	if (ck_tail != NULL)
		ck_tail->ck_next = m;
	else
		ck_head = m;
	ck_tail = m;
	pthread_cond_signal(&ck_work);
 out:
	pthread_mutex_unlock(&ck_mtx);
	return (rv);
}

void
mbox_ckpt_forget(struct mbox *m)
{
	struct mbox	**pp, *prev = NULL;

	pthread_mutex_lock(&ck_mtx);
	if (m->ck_state == CK_QUEUED) {
		for (pp = &ck_head; *pp != NULL; prev = *pp,
		    pp = &(*pp)->ck_next) {
			if (*pp != m)
				continue;
			*pp = m->ck_next;
			if (ck_tail == m)
				ck_tail = prev;
			break;
		}
		m->ck_next = NULL;
		m->ck_state = CK_IDLE;
	}
	while (m->ck_state == CK_RUNNING)
		pthread_cond_wait(&ck_done, &ck_mtx);
	pthread_mutex_unlock(&ck_mtx);
}
