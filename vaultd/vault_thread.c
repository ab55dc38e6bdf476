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
 * The parts of a thread pool that do not depend on its jobs: see
 * vault_thread.h.  Both pools start their threads after seccomp and
 * Landlock are in force, so the threads inherit both (vault_kdf.c's
 * top comment says why not earlier).
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vault_thread.h"

static void	 thread_wake_readable(int, short, void *);

/* Before the sandbox: the pipe. */
int
thread_wake_init(struct thread_wake *w, const char *who)
{
	memset(w, 0, sizeof(*w));
	w->who = who;
	if (pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("%s: pipe2", who);
		w->pipe[0] = w->pipe[1] = -1;
		return (-1);
	}
	return (0);
}

/* On the loop: cb(arg) runs whenever a thread has posted. */
int
thread_wake_start(struct thread_wake *w, void (*cb)(void *), void *arg)
{
	if (w->pipe[0] == -1)
		fatalx("%s: started before it was prepared", w->who);
	w->cb = cb;
	w->arg = arg;
	event_set(&w->ev, w->pipe[0], EV_READ | EV_PERSIST,
	    thread_wake_readable, w);
	if (event_add(&w->ev, NULL) == -1) {
		log_warnx("%s: event_add", w->who);
		return (-1);
	}
	w->added = 1;
	return (0);
}

/* From a thread, after its result is where the loop will look. */
void
thread_wake_post(struct thread_wake *w)
{
	/* A full pipe already has the loop's attention. */
	if (write(w->pipe[1], "", 1) == -1 && errno != EAGAIN)
		fatalx("%s: write to the loop: %s", w->who, strerror(errno));
}

static void
thread_wake_readable(int fd, short event, void *arg)
{
	struct thread_wake	*w = arg;
	char			 buf[64];
	ssize_t			 n;

	(void)event;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		continue;
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		fatal("%s: read", w->who);
	/* The threads' log lines come before what they finished. */
	log_flush_deferred();
	w->cb(w->arg);
}

void
thread_wake_stop(struct thread_wake *w)
{
	if (w->added)
		event_del(&w->ev);
	w->added = 0;
}

void
thread_wake_close(struct thread_wake *w)
{
	int	 i;

	thread_wake_stop(w);
	for (i = 0; i < 2; i++) {
		if (w->pipe[i] != -1)
			close(w->pipe[i]);
		w->pipe[i] = -1;
	}
}

/* Before the sandbox: the pool's wake-up pipe. */
int
thread_pool_init(struct thread_pool *p)
{
	return (thread_wake_init(&p->wake, p->who));
}

/*
 * After the sandbox: n threads (at most THREAD_POOL_MAX) running
 * fn(p), and done(p) on the loop whenever one posts.  Returns -1 when
 * no thread starts.  A second call does nothing.
 */
int
thread_pool_start(struct thread_pool *p, unsigned int n, size_t stack,
    void *(*fn)(void *), void (*done)(void *))
{
	if (p->started)
		return (0);
	if (n > THREAD_POOL_MAX)
		n = THREAD_POOL_MAX;
	p->stopping = 0;
	if (thread_wake_start(&p->wake, done, p) == -1)
		return (-1);
	if ((p->nthreads = thread_spawn(p->threads, n, stack, fn, p,
	    p->who)) == 0) {
		thread_wake_stop(&p->wake);
		return (-1);
	}
	p->started = 1;
	return (0);
}

/*
 * Stop the threads: each finishes what it runs and returns when it
 * sees the flag.  The pipe stays for a new start.
 */
void
thread_pool_stop(struct thread_pool *p)
{
	if (!p->started)
		return;
	thread_pool_lock(p);
	p->stopping = 1;
	if (pthread_cond_broadcast(&p->work) != 0)
		fatalx("%s: pthread_cond_broadcast", p->who);
	thread_pool_unlock(p);
	thread_join(p->threads, p->nthreads, p->who);
	p->nthreads = 0;
	p->started = 0;
	thread_wake_stop(&p->wake);
}

void
thread_pool_close(struct thread_pool *p)
{
	thread_pool_stop(p);
	thread_wake_close(&p->wake);
}

void
thread_pool_lock(struct thread_pool *p)
{
	thread_mutex_lock(&p->lock, p->who);
}

void
thread_pool_unlock(struct thread_pool *p)
{
	thread_mutex_unlock(&p->lock, p->who);
}

/* Under the lock: there is work for one thread. */
void
thread_pool_signal(struct thread_pool *p)
{
	if (pthread_cond_signal(&p->work) != 0)
		fatalx("%s: pthread_cond_signal", p->who);
}

/* Cores we may run on, from the affinity mask (no /sys in a chroot). */
unsigned int
thread_ncpu(void)
{
	cpu_set_t	 set;
	int		 n;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == -1 ||
	    (n = CPU_COUNT(&set)) < 1)
		return (1);
	return ((unsigned int)n);
}

/*
 * Start up to n threads running fn(arg), each with a stack of the
 * given size; returns how many started.  They block every signal:
 * signals are the loop's business (libevent), and a trap of the
 * seccomp filter is delivered to the thread that made the call
 * whatever its mask.
 */
unsigned int
thread_spawn(pthread_t *t, unsigned int n, size_t stack, void *(*fn)(void *),
    void *arg, const char *who)
{
	pthread_attr_t	 attr;
	sigset_t	 all, old;
	unsigned int	 i;
	int		 r;

	if ((r = pthread_attr_init(&attr)) != 0 ||
	    (r = pthread_attr_setstacksize(&attr, stack)) != 0)
		fatalx("%s: pthread_attr: %s", who, strerror(r));
	sigfillset(&all);
	if ((r = pthread_sigmask(SIG_SETMASK, &all, &old)) != 0)
		fatalx("%s: pthread_sigmask: %s", who, strerror(r));
	for (i = 0; i < n; i++) {
		if ((r = pthread_create(&t[i], &attr, fn, arg)) != 0) {
			log_warnx("%s: pthread_create: %s", who, strerror(r));
			break;
		}
	}
	if ((r = pthread_sigmask(SIG_SETMASK, &old, NULL)) != 0)
		fatalx("%s: pthread_sigmask: %s", who, strerror(r));
	pthread_attr_destroy(&attr);
	return (i);
}

void
thread_join(pthread_t *t, unsigned int n, const char *who)
{
	unsigned int	 i;
	int		 r;

	for (i = 0; i < n; i++)
		if ((r = pthread_join(t[i], NULL)) != 0)
			fatalx("%s: pthread_join: %s", who, strerror(r));
}

/* A lock that cannot be taken is a bug we cannot work around. */
void
thread_mutex_lock(pthread_mutex_t *m, const char *who)
{
	int	 r;

	if ((r = pthread_mutex_lock(m)) != 0)
		fatalx("%s: pthread_mutex_lock: %s", who, strerror(r));
}

void
thread_mutex_unlock(pthread_mutex_t *m, const char *who)
{
	int	 r;

	if ((r = pthread_mutex_unlock(m)) != 0)
		fatalx("%s: pthread_mutex_unlock: %s", who, strerror(r));
}

void
thread_wait(pthread_cond_t *c, pthread_mutex_t *m, const char *who)
{
	int	 r;

	if ((r = pthread_cond_wait(c, m)) != 0)
		fatalx("%s: pthread_cond_wait: %s", who, strerror(r));
}
