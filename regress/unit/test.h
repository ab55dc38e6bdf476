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
 * A small harness for the C unit tests.  Each test is a function; a
 * failed check ends that test and is reported with file and line.  The
 * output is TAP-like, one line per test, which regress/run counts:
 *
 *	ok - name
 *	not ok - name: file:line: expression
 */

#ifndef TEST_H
#define TEST_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern jmp_buf	 test_jmp;
extern char	 test_why[512];
extern int	 test_failed;

#define CHECK(e) do {							\
	if (!(e)) {							\
		snprintf(test_why, sizeof(test_why), "%s:%d: %s",	\
		    __FILE__, __LINE__, #e);				\
		longjmp(test_jmp, 1);					\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *test_a_ = (a), *test_b_ = (b);			\
	if (test_a_ == NULL || test_b_ == NULL ||			\
	    strcmp(test_a_, test_b_) != 0) {				\
		snprintf(test_why, sizeof(test_why),			\
		    "%s:%d: \"%.200s\" != \"%.200s\"", __FILE__, __LINE__,\
		    test_a_ ? test_a_ : "(null)",			\
		    test_b_ ? test_b_ : "(null)");			\
		longjmp(test_jmp, 1);					\
	}								\
} while (0)

#define RUN(fn) do {							\
	if (setjmp(test_jmp) == 0) {					\
		fn();							\
		printf("ok - %s\n", #fn);				\
	} else {							\
		printf("not ok - %s: %s\n", #fn, test_why);		\
		test_failed++;						\
	}								\
	fflush(stdout);							\
} while (0)

/* Put once in each test program, before main(). */
#define TEST_GLOBALS							\
	jmp_buf	test_jmp;						\
	char	test_why[512];						\
	int	test_failed

#define TEST_EXIT()	return (test_failed ? 1 : 0)

#endif /* TEST_H */
