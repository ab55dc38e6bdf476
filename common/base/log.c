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

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
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

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
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
