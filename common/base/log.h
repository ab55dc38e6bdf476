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
 * Logging: syslog (facility mail) or stderr in the foreground.
 *
 * Audit lines record security events with one fixed shape that is easy
 * to grep and to parse:
 *
 *	audit: event=<name> key=value key=value ...
 *
 * Values are made safe by the caller with log_sanitize() when they come
 * from the network.  Client addresses go through log_anonaddr(), which
 * replaces them with a keyed hash.  ctld makes the key and hands it to
 * its children; it makes a new one each day, so one day's events can be
 * tied together but no address is kept.  Without a key (NULL), addresses
 * are logged as they are.
 */

#ifndef LOG_H
#define LOG_H

#include <sys/socket.h>

#include <stdarg.h>
#include <stddef.h>

#include "common.h"

#define ANONADDR_LEN	24	/* "a-" + 16 hex digits + NUL, rounded */

void	log_init(int, int);
void	log_procinit(const char *);
void	log_setverbose(int);
int	log_getverbose(void);
#define ANONKEY_LEN	32
void	log_set_anonkey(const unsigned char *);
void	log_set_forward(void (*)(int, const char *));
void	log_thread_defer(void);
void	log_flush_deferred(void);
void	log_warn(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
void	log_audit(const char *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	logit(int, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	vlog(int, const char *, va_list)
	    __attribute__((__format__ (printf, 2, 0)));
__dead void fatal(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));
__dead void fatalx(const char *, ...)
	    __attribute__((__format__ (printf, 1, 2)));

const char	*log_sockaddr(const struct sockaddr *);
const char	*log_anonaddr(const struct sockaddr *, char *, size_t);
int		 log_anonhash(const void *, size_t, char *, size_t);
void		 log_sanitize(char *, size_t, const char *);

#endif /* LOG_H */
