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
 * libFuzzer target for imapd's parsers (imapd/imap_parse.c): command
 * arguments, sequence sets, modified UTF-7 and dates, with the
 * round trips that must hold; and SORT's and THREAD's criteria
 * (imapd/imap_sort_parse.c) on every argument list that parses.  Run
 * by "make fuzz-run".
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "imap_sort.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct out {
	char	*buf;
	size_t	 len;
	size_t	 size;
};

static void
out_fn(void *arg, const void *p, size_t len)
{
	struct out	*o = arg;

	if (len > o->size - o->len)
		abort();
	memcpy(o->buf + o->len, p, len);
	o->len += len;
}

/* Every node of a tree: well formed, and the helpers do not crash. */
static void
walk(const struct imap_arg *a, size_t n, int depth)
{
	char		 kw[MBOX_KWLIST_MAX];
	uint32_t	 flags, v;
	uint64_t	 v64;
	const char	*s;
	size_t		 i;

	if (depth > IMAP_NEST_MAX)
		abort();
	for (i = 0; i < n; i++, a++) {
		switch (a->type) {
		case IMAP_ARG_ATOM:
		case IMAP_ARG_NIL:
		case IMAP_ARG_QUOTED:
		case IMAP_ARG_LITERAL:
			if (a->str == NULL || a->str[a->len] != '\0')
				abort();
			if (a->type != IMAP_ARG_LITERAL &&
			    strlen(a->str) != a->len)
				abort();
			if ((a->type == IMAP_ARG_ATOM ||
			    a->type == IMAP_ARG_NIL) && a->len == 0)
				abort();
			break;
		case IMAP_ARG_LIST:
			if ((a->nlist == 0) != (a->list == NULL))
				abort();
			walk(a->list, a->nlist, depth + 1);
			(void)imap_flags_parse(a, &flags, kw, sizeof(kw));
			break;
		default:
			/* No files were given. */
			abort();
		}
		if ((s = imap_arg_string(a)) != NULL && strlen(s) != a->len)
			abort();
		if ((s = imap_arg_astring(a)) != NULL && strlen(s) != a->len)
			abort();
		(void)imap_arg_is(a, "NIL");
		(void)imap_arg_number(a, &v);
		(void)imap_arg_number64(a, &v64);
	}
}

/* SORT or THREAD criteria: a success is valid for the vault. */
static void
fuzz_sort(const struct imap_arg *args, size_t nargs, int thread)
{
	struct mbox_args_sort	 a;
	const char		*err = NULL;
	int			 rv;

	rv = imap_sort_parse(args, nargs, thread, &a, &err);
	if (rv == -1) {
		if (err == NULL)
			abort();
		return;
	}
	if (rv < 1 || (size_t)rv >= nargs || sort_args_check(&a, thread) != 0)
		abort();
}

static void
fuzz_parse(const uint8_t *data, size_t len)
{
	struct imap_cmd	 cmd;
	struct imap_arg	*args;
	size_t		 nargs;
	const char	*err;
	char		*buf;

	/* A block of the exact size, so ASan sees a read past the end. */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return;
	memcpy(buf, data, len);
	memset(&cmd, 0, sizeof(cmd));
	cmd.buf = buf;
	cmd.len = len;
	err = NULL;
	if (imap_parse(&cmd, &args, &nargs, &err) == 0) {
		if ((nargs == 0) != (args == NULL))
			abort();
		walk(args, nargs, 0);
		fuzz_sort(args, nargs, 0);
		fuzz_sort(args, nargs, 1);
		imap_args_free(args);
	} else if (err == NULL || args != NULL || nargs != 0)
		abort();
	free(buf);
}

/* A string written for a response must parse back to itself. */
static void
fuzz_write_string(const char *s, size_t len, int utf8)
{
	struct imap_cmd	 cmd;
	struct imap_arg	*args;
	struct out	 o;
	size_t		 nargs;
	const char	*err;

	o.size = 2 * len + 32;
	o.len = 0;
	if ((o.buf = malloc(o.size)) == NULL)
		return;
	imap_write_string(s, len, utf8, out_fn, &o);
	memset(&cmd, 0, sizeof(cmd));
	cmd.buf = o.buf;
	cmd.len = o.len;
	if (imap_parse(&cmd, &args, &nargs, &err) == -1 || nargs != 1 ||
	    (args[0].type != IMAP_ARG_QUOTED &&
	    args[0].type != IMAP_ARG_LITERAL) ||
	    args[0].len != len || memcmp(args[0].str, s, len) != 0)
		abort();
	imap_args_free(args);
	free(o.buf);
}

static void
fuzz_strings(const char *s)
{
	struct imap_seqset	 set;
	char			 dec[1024], enc[1024], dt[IMAP_DATETIME_LEN];
	int64_t			 t, t2;
	size_t			 i;

	if (imap_seqset_parse(s, &set) == 0) {
		if (set.n == 0 || set.n > IMAP_SEQSET_MAX)
			abort();
		for (i = 0; i < set.n; i++)
			if (set.r[i].first == 0 ||
			    set.r[i].first > set.r[i].last)
				abort();
	}

	/* Decode then encode gives the input back, and the other way. */
	if (imap_utf7_decode(s, dec, sizeof(dec)) == 0) {
		if (imap_utf7_encode(dec, enc, sizeof(enc)) == -1 ||
		    strcmp(enc, s) != 0)
			abort();
	}
	if (imap_utf7_encode(s, enc, sizeof(enc)) == 0) {
		if (imap_utf7_decode(enc, dec, sizeof(dec)) == -1 ||
		    strcmp(dec, s) != 0)
			abort();
	}

	if (imap_parse_datetime(s, &t) == 0 && t >= 0 &&
	    t <= 253402300799LL) {
		imap_format_datetime(t, dt);
		if (imap_parse_datetime(dt, &t2) == -1 || t2 != t)
			abort();
	}
	if (imap_parse_date(s, &t) == 0) {
		if (t % 86400 != 0)
			abort();
		if (t >= 0 && t <= 253402300799LL) {
			imap_format_datetime(t, dt);
			dt[11] = '\0';
			if (imap_parse_date(dt, &t2) == -1 || t2 != t)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s;

	if (len > IMAP_INLINE_MAX)
		return (0);
	fuzz_parse(data, len);

	if (len > 512)
		return (0);
	fuzz_write_string((const char *)data, len, 0);
	fuzz_write_string((const char *)data, len, 1);
	if ((s = malloc(len + 1)) == NULL)
		return (0);
	memcpy(s, data, len);
	s[len] = '\0';
	fuzz_strings(s);
	free(s);
	return (0);
}
