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
 * What vault_kdf.c (the worker pool) and vault_kdfq.c (its admission
 * queue) share, and the unit test looks into; the rest of vaultd uses
 * the API in vaultd.h.
 *
 * A job is owned by the event loop from kdf_submit() until it is
 * answered or cancelled, except while a worker runs it: between
 * kdfq_pop() and its return to the done list only that worker touches
 * the job's input and output.  The queue and the done list are
 * protected by the pool's mutex; the queue functions themselves know
 * nothing of threads.
 */

#ifndef VAULT_KDF_H
#define VAULT_KDF_H

#include <sys/queue.h>

#include <time.h>

#include "vault_keys.h"
#include "vaultd.h"

#define KDF_FAIRKEY_MAX		64

enum kdf_state {
	KDF_QUEUED,		/* waiting in its key's queue */
	KDF_RUNNING,		/* a worker runs Argon2id on it */
	KDF_FINISHED		/* on the done list, for the loop */
};

struct kdf_fairkey;

struct kdf_job {
	TAILQ_ENTRY(kdf_job)	 entry;		/* key queue or done list */
	struct kdf_fairkey	*fairkey;	/* while queued */
	enum kdf_state		 state;
	int			 status;	/* KDF_OK, KDF_EXPIRED, ... */
	int			 cancelled;	/* the loop lost interest */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	/* Input and output, in guarded memory (sodium_malloc). */
	char			*cred;		/* NULL once wiped */
	size_t			 credlen;
	unsigned char		 salt[SLOT_SALT_LEN];
	struct kdf_cost		 cost;
	unsigned char		*key;		/* KEY_LEN */
	void			(*done)(void *, int, const unsigned char *);
	void			*arg;
};
TAILQ_HEAD(kdf_jobs, kdf_job);

/* The jobs of one fairness key, in arrival order. */
struct kdf_fairkey {
	TAILQ_ENTRY(kdf_fairkey) entry;		/* in the round-robin ring */
	char			 name[KDF_FAIRKEY_MAX];
	struct kdf_jobs		 jobs;
	unsigned int		 njobs;
	int			 class;		/* KDF_CLASS_* (vaultd.h) */
};

/* One ring of keys per class, the highest class served first. */
struct kdf_queue {
	TAILQ_HEAD(, kdf_fairkey) ring[KDF_CLASSES]; /* keys with jobs */
	unsigned int		 nclass[KDF_CLASSES];
	unsigned int		 njobs;		/* every class */
	unsigned int		 max;		/* waiting jobs per class */
	unsigned int		 perkey;	/* waiting jobs per key */
};

/* vault_kdfq.c */
void	 kdfq_init(struct kdf_queue *, unsigned int, unsigned int);
int	 kdfq_push(struct kdf_queue *, const char *, int, struct kdf_job *);
struct kdf_job *kdfq_pop(struct kdf_queue *);
struct kdf_job *kdfq_expired(struct kdf_queue *, const struct timespec *);
void	 kdfq_remove(struct kdf_queue *, struct kdf_job *);
int	 kdfq_past(const struct timespec *, const struct timespec *);

#endif /* VAULT_KDF_H */
