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
 * What vaultd's two thread pools share (vault_kdf.c for Argon2id,
 * vault_work.c for mailbox work): starting threads that take no
 * signals, a mutex that cannot fail quietly, and the way a thread
 * wakes the event loop when it has finished something.
 *
 * A pool (struct thread_pool) is the threads, the mutex and the
 * condition they wait on for work, the stop flag and the wake-up; what
 * the work is and where finished jobs go is the pool's owner's.
 *
 * The wake-up: a pipe made before the sandbox (which allows no pipe2),
 * both ends non-blocking.  A thread writes a byte after putting its
 * result where the loop looks (a full pipe already has the loop's
 * attention); the loop drains the pipe and calls the pool's callback,
 * which takes the results under the pool's own mutex.
 */

#ifndef VAULT_THREAD_H
#define VAULT_THREAD_H

#include <event.h>
#include <pthread.h>

struct thread_wake {
	int		 pipe[2];
	struct event	 ev;
	int		 added;
	void		(*cb)(void *);
	void		*arg;
	const char	*who;		/* for fatal messages */
};

int	 thread_wake_init(struct thread_wake *, const char *);
int	 thread_wake_start(struct thread_wake *, void (*)(void *), void *);
void	 thread_wake_post(struct thread_wake *);
void	 thread_wake_stop(struct thread_wake *);
void	 thread_wake_close(struct thread_wake *);

#define THREAD_POOL_MAX		8

struct thread_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;		/* work to take, or stop */
	int			 stopping;	/* under lock */
	pthread_t		 threads[THREAD_POOL_MAX];
	unsigned int		 nthreads;
	struct thread_wake	 wake;		/* done -> loop */
	int			 started;
	const char		*who;
};

#define THREAD_POOL_INITIALIZER(name) {					\
	.lock = PTHREAD_MUTEX_INITIALIZER,				\
	.work = PTHREAD_COND_INITIALIZER,				\
	.wake = { .pipe = { -1, -1 } },					\
	.who = (name),							\
}

int	 thread_pool_init(struct thread_pool *);
int	 thread_pool_start(struct thread_pool *, unsigned int, size_t,
	    void *(*)(void *), void (*)(void *));
void	 thread_pool_stop(struct thread_pool *);
void	 thread_pool_close(struct thread_pool *);
void	 thread_pool_lock(struct thread_pool *);
void	 thread_pool_unlock(struct thread_pool *);
void	 thread_pool_signal(struct thread_pool *);

unsigned int thread_ncpu(void);
unsigned int thread_spawn(pthread_t *, unsigned int, size_t,
	    void *(*)(void *), void *, const char *);
void	 thread_join(pthread_t *, unsigned int, const char *);
void	 thread_mutex_lock(pthread_mutex_t *, const char *);
void	 thread_mutex_unlock(pthread_mutex_t *, const char *);
void	 thread_wait(pthread_cond_t *, pthread_mutex_t *, const char *);

#endif /* VAULT_THREAD_H */
