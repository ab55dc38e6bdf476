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

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"

static int		 log_foreground;
static int		 log_verbose;
static const char	*log_procname;
static unsigned char	 log_anonkey[ANONKEY_LEN];
static int		 log_anonymise;
static void		(*log_forward)(int, const char *);

/*
 * Lines logged by a helper thread (vaultd's pools) while they go to
 * ctld: the channel belongs to the event loop, so they wait here until
 * the loop forwards them (log_flush_deferred()).  Bounded: past
 * LOG_DEFERRED_MAX waiting lines, more are counted and dropped.
 */
#define LOG_DEFERRED_MAX	256
struct log_line {
	TAILQ_ENTRY(log_line)	 entry;
	int			 pri;
	char			 text[];
};
static _Thread_local int	 log_in_thread;
static pthread_mutex_t		 log_mtx = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, log_line)	 log_deferred =
    TAILQ_HEAD_INITIALIZER(log_deferred);
static unsigned int		 log_ndeferred, log_ndropped;

static void	 log_defer(int, const char *);

/*
 * foreground: write to stderr instead of syslog.  LOG_NDELAY opens the
 * syslog socket now, so logging still works after chroot.
 */
void
log_init(int foreground, int facility)
{
	log_foreground = foreground;
	if (!foreground)
		openlog(getprogname(), LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *name)
{
	log_procname = name;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

void
log_set_anonkey(const unsigned char *key)
{
	if (key == NULL) {
		sodium_memzero(log_anonkey, sizeof(log_anonkey));
		log_anonymise = 0;
		return;
	}
	memcpy(log_anonkey, key, sizeof(log_anonkey));
	log_anonymise = 1;
}

/*
 * A sandboxed child cannot reconnect to syslog (that needs socket(2))
 * and should not be trusted to name itself there: when not in the
 * foreground it hands each line to ctld instead.
 */
void
log_set_forward(void (*fn)(int, const char *))
{
	log_forward = fn;
}

/* The calling thread is a helper: its lines to ctld wait for the loop. */
void
log_thread_defer(void)
{
	log_in_thread = 1;
}

static void
log_defer(int pri, const char *msg)
{
	struct log_line	*l;
	size_t		 len = strlen(msg) + 1;

	if (pthread_mutex_lock(&log_mtx) != 0)
		return;
	if (log_ndeferred >= LOG_DEFERRED_MAX ||
	    (l = malloc(sizeof(*l) + len)) == NULL)
		log_ndropped++;
	else {
		l->pri = pri;
		memcpy(l->text, msg, len);
		TAILQ_INSERT_TAIL(&log_deferred, l, entry);
		log_ndeferred++;
	}
	pthread_mutex_unlock(&log_mtx);
}

/* On the loop: what helper threads logged, forwarded in order. */
void
log_flush_deferred(void)
{
	TAILQ_HEAD(, log_line)	 lines = TAILQ_HEAD_INITIALIZER(lines);
	struct log_line		*l;
	unsigned int		 dropped;

	if (pthread_mutex_lock(&log_mtx) != 0)
		return;
	TAILQ_CONCAT(&lines, &log_deferred, entry);
	log_ndeferred = 0;
	dropped = log_ndropped;
	log_ndropped = 0;
	pthread_mutex_unlock(&log_mtx);
	while ((l = TAILQ_FIRST(&lines)) != NULL) {
		TAILQ_REMOVE(&lines, l, entry);
		if (log_forward != NULL)
			log_forward(l->pri, l->text);
		free(l);
	}
	if (dropped > 0)
		logit(LOG_WARNING, "%u log lines of helper threads dropped",
		    dropped);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* A line that ends the process cannot wait for the loop. */
	if (!log_foreground && log_forward != NULL && log_in_thread &&
	    pri > LOG_CRIT) {
		log_defer(pri, msg);
		errno = saved_errno;
		return;
	}
	if (log_foreground) {
		if (log_procname != NULL)
			fprintf(stderr, "%s[%d]: %s\n", log_procname,
			    (int)getpid(), msg);
		else
			fprintf(stderr, "%s\n", msg);
		fflush(stderr);
	} else if (log_forward != NULL)
		log_forward(pri, msg);
	else
		syslog(pri, "%s", msg);
	errno = saved_errno;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

static void
vlog_errno(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved_errno = errno;

	if (fmt == NULL) {
		logit(pri, "%s", strerror(saved_errno));
	} else {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		logit(pri, "%s: %s", msg, strerror(saved_errno));
	}
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/*
 * One audit line: "audit: event=<event> <fields>".  The caller passes
 * the fields as key=value pairs and sanitises network-supplied values.
 */
void
log_audit(const char *event, const char *fmt, ...)
{
	char	 fields[1536];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	logit(LOG_NOTICE, "audit: event=%s %s", event, fields);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

/* The address in clear, "addr" or "[addr]:port" style is not needed. */
const char *
log_sockaddr(const struct sockaddr *sa)
{
	static char	 buf[NI_MAXHOST];
	socklen_t	 len;

	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, buf, sizeof(buf), NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(buf, "(unknown)", sizeof(buf));
	return (buf);
}

/*
 * The keyed BLAKE2b hash of data as logged: "a-" and 16 hex digits.
 * Returns -1, and leaves buf alone, when addresses are logged plain.
 */
int
log_anonhash(const void *data, size_t dlen, char *buf, size_t len)
{
	unsigned char	 h[8];

	if (!log_anonymise)
		return (-1);
	crypto_generichash(h, sizeof(h), data, dlen, log_anonkey,
	    sizeof(log_anonkey));
	snprintf(buf, len, "a-%02x%02x%02x%02x%02x%02x%02x%02x",
	    h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
	return (0);
}

/*
 * The address as logged: a keyed BLAKE2b hash of it, "a-" and 16 hex
 * digits, or the address itself when no key is set.
 */
const char *
log_anonaddr(const struct sockaddr *sa, char *buf, size_t len)
{
	const void	*addr;
	size_t		 alen;

	if (!log_anonymise) {
		strlcpy(buf, log_sockaddr(sa), len);
		return (buf);
	}
	if (sa->sa_family == AF_INET6) {
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		alen = sizeof(struct in6_addr);
	} else if (sa->sa_family == AF_INET) {
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
		alen = sizeof(struct in_addr);
	} else {
		strlcpy(buf, "a-unknown", len);
		return (buf);
	}
	log_anonhash(addr, alen, buf, len);
	return (buf);
}

/*
 * Copy a network-supplied string for a log line: printable ASCII only,
 * everything else (and spaces and '=', which would break key=value) as
 * '?' or '_'.
 */
void
log_sanitize(char *dst, size_t len, const char *src)
{
	size_t	 i;

	if (len == 0)
		return;
	for (i = 0; i + 1 < len && src[i] != '\0'; i++) {
		unsigned char c = src[i];

		if (c == ' ' || c == '=')
			dst[i] = '_';
		else if (c < 0x21 || c > 0x7e)
			dst[i] = '?';
		else
			dst[i] = c;
	}
	dst[i] = '\0';
}
