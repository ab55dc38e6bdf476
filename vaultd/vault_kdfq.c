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
 * The KDF pool's admission queue: who runs Argon2id next.
 *
 * Jobs wait in one FIFO per fairness key (the client a login comes
 * from), and the keys take turns: a worker takes the first job of the
 * key at the head of the ring, and that key goes to the back if it has
 * more.  A client that sends a hundred logins therefore waits behind
 * itself, not in front of everybody else.  The bounds are on waiting
 * jobs, in all and per key; past them a job is refused, not queued, so
 * the queue cannot grow without limit and one key cannot take all of
 * it.  Each class of jobs (vaultd.h: ctl's, returning clients', the
 * rest) has a ring and a bound of its own, and a higher class goes
 * first.  Plain data: the pool's mutex protects it.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "vault_kdf.h"

void
kdfq_init(struct kdf_queue *q, unsigned int max, unsigned int perkey)
{
	int	 c;

	memset(q, 0, sizeof(*q));
	for (c = 0; c < KDF_CLASSES; c++)
		TAILQ_INIT(&q->ring[c]);
	q->max = max;
	q->perkey = perkey;
}

static struct kdf_fairkey *
kdfq_find(struct kdf_queue *q, int class, const char *name)
{
	struct kdf_fairkey	*k;

	TAILQ_FOREACH(k, &q->ring[class], entry)
		if (strcmp(k->name, name) == 0)
			return (k);
	return (NULL);
}

/*
 * Queue a job under a fairness key (longer names are cut, which only
 * merges keys that share a long prefix).  Returns 0, or -1 when the
 * queue or the key's share is full or memory is short: the job is
 * then not queued.
 */
int
kdfq_push(struct kdf_queue *q, const char *name, int class,
    struct kdf_job *job)
{
	struct kdf_fairkey	*k;
	char			 n[KDF_FAIRKEY_MAX];

	if (class < 0 || class >= KDF_CLASSES)
		return (-1);
	strlcpy(n, name, sizeof(n));
	if (q->nclass[class] >= q->max)
		return (-1);
	if ((k = kdfq_find(q, class, n)) == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return (-1);
		strlcpy(k->name, n, sizeof(k->name));
		TAILQ_INIT(&k->jobs);
		k->class = class;
		TAILQ_INSERT_TAIL(&q->ring[class], k, entry);
	} else if (k->njobs >= q->perkey)
		return (-1);
	TAILQ_INSERT_TAIL(&k->jobs, job, entry);
	k->njobs++;
	q->nclass[class]++;
	q->njobs++;
	job->fairkey = k;
	job->state = KDF_QUEUED;
	return (0);
}

/* Take a job out; its key is freed with its last job. */
void
kdfq_remove(struct kdf_queue *q, struct kdf_job *job)
{
	struct kdf_fairkey	*k = job->fairkey;

	TAILQ_REMOVE(&k->jobs, job, entry);
	job->fairkey = NULL;
	k->njobs--;
	q->nclass[k->class]--;
	q->njobs--;
	if (k->njobs == 0) {
		TAILQ_REMOVE(&q->ring[k->class], k, entry);
		free(k);
	}
}

/*
 * The next job: the highest class that has one (ctl's, then the known
 * class), and within a class in round-robin order of the keys; or NULL.
 */
struct kdf_job *
kdfq_pop(struct kdf_queue *q)
{
	struct kdf_fairkey	*k = NULL;
	struct kdf_job		*job;
	int			 c;

	for (c = KDF_CLASSES - 1; c >= 0 && k == NULL; c--)
		k = TAILQ_FIRST(&q->ring[c]);
	if (k == NULL)
		return (NULL);
	job = TAILQ_FIRST(&k->jobs);
	if (k->njobs > 1) {
		/* Its turn is over: to the back of the ring. */
		TAILQ_REMOVE(&q->ring[k->class], k, entry);
		TAILQ_INSERT_TAIL(&q->ring[k->class], k, entry);
	}
	kdfq_remove(q, job);
	return (job);
}

/* 1 if the time a is at or past b. */
int
kdfq_past(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec > b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec >= b->tv_nsec));
}

/*
 * A waiting job whose deadline is past, taken out of the queue, or
 * NULL.  Jobs of one key arrive in order, so only the first of each
 * key can be the oldest.
 */
struct kdf_job *
kdfq_expired(struct kdf_queue *q, const struct timespec *now)
{
	struct kdf_fairkey	*k;
	struct kdf_job		*job;
	int			 c;

	for (c = 0; c < KDF_CLASSES; c++) {
		TAILQ_FOREACH(k, &q->ring[c], entry) {
			job = TAILQ_FIRST(&k->jobs);
			if (kdfq_past(now, &job->deadline)) {
				kdfq_remove(q, job);
				return (job);
			}
		}
	}
	return (NULL);
}
