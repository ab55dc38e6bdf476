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
 * What the tresor.conf(5) parser tests (conf_*_test.c) share.
 *
 * The files under regress/unit/conf/ are copied into a temporary
 * directory with mode 0600 first: the parser refuses files that others
 * could write, and a checkout's modes and owner depend on the umask and
 * on who made it.  Error messages therefore name the copies; in the
 * expected texts "@" stands for the file's path and "^" for the
 * temporary directory.
 */

#ifndef CONF_FIXTURE_H
#define CONF_FIXTURE_H

#include <sys/types.h>

#include <netinet/in.h>

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

#define SRCDIR		"regress/unit/conf"
#define SAMPLE		"etc/tresor.conf"
#define OUT_MAX		16384
#define LISTEN25	"listen on 127.0.0.1 port 25 smtp tls none\n"

/*
 * test.h's CHECK_STR with the strings bounded in the message: with
 * char[PATH_MAX] fields, the unbounded one trips -Wformat-truncation.
 */
#define CHECK_SEQ(a, b) do {						\
	const char *seq_a_ = (a), *seq_b_ = (b);			\
	if (seq_a_ == NULL || seq_b_ == NULL ||				\
	    strcmp(seq_a_, seq_b_) != 0) {				\
		snprintf(test_why, sizeof(test_why),			\
		    "%s:%d: \"%.200s\" != \"%.200s\"", __FILE__,	\
		    __LINE__, seq_a_ ? seq_a_ : "(null)",		\
		    seq_b_ ? seq_b_ : "(null)");			\
		longjmp(test_jmp, 1);					\
	}								\
} while (0)

extern char	 tmpdir[64];	/* "/tmp/conf_test.XXXXXX" */

void	 tmppath(const char *, char *, size_t);
void	 copy_file(const char *, const char *);
void	 copy_tree(const char *, const char *, int);
void	 rm_tree(const char *, int);
void	 write_file(const char *, const char *, size_t, mode_t);
int	 parse_capture(const char *, struct conf **, char *, size_t);
void	 subst(const char *, const char *, char *, size_t);
void	 expect_bad(const char *, int, const char *);
struct conf *parse_good(const char *);
const struct listener *nth_listener(const struct conf *, int);
int	 count_listeners(const struct conf *);
const struct domain *nth_domain(const struct conf *, int);
int	 count_domains(const struct conf *);
void	 check_listener(const struct listener *, int, const char *,
		    in_port_t, enum proto, enum tlsmode, int);

void	 conf_fixture_setup(void);
void	 conf_fixture_teardown(void);

#endif /* CONF_FIXTURE_H */
