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
 * libFuzzer target for the MIME parser:
 *
 *	make regress/fuzz/mime_fuzz	(the Makefile lists its sources)
 *	cp -r regress/unit/mime corpus
 *	./regress/fuzz/mime_fuzz -max_len=65536 -max_total_time=60 corpus
 *
 * Besides crashes and leaks it stops on a result that breaks the
 * promises of mime.h: a section over its bundle maximum, a NUL in one,
 * a BODYSTRUCTURE that mime_body() cannot read, a section range
 * outside the message.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "mbox_proto.h"
#include "mime.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const specs[] = {
		"", "1", "2", "1.1", "2.1", "1.2.3", "TEXT", "HEADER",
		"1.MIME", "2.HEADER", "2.TEXT",
	};
	static int		 inited;
	struct mime_result	 r;
	struct mbox_append_view	 v;
	struct bundle		 b;
	const char		*msg = (const char *)data;
	char			*body;
	size_t			 bl, off, len, i;

	if (!inited) {
		mime_init();
		inited = 1;
	}
	/* The same octets as the APPEND entries a front hands vaultd. */
	off = 0;
	while (mbox_append_next(data, size, &off, &v) == 0) {
		if (off > size || (const uint8_t *)v.bundle < data ||
		    v.len > size || (const uint8_t *)v.bundle + v.len !=
		    data + off || strlen(v.keywords) >= MBOX_KWLIST_MAX)
			abort();
		(void)bundle_parse(v.bundle, v.len, &b);
	}
	if (mime_parse(msg, size, &r) == -1)
		return (0);
	if (r.envelope_len > BUNDLE_META_MAX ||
	    r.bodystructure_len > BUNDLE_META_MAX ||
	    r.headers_len > BUNDLE_META_MAX || r.text_len > BUNDLE_TEXT_MAX ||
	    r.subject_len > BUNDLE_FIELD_MAX ||
	    strlen(r.envelope) != r.envelope_len ||
	    strlen(r.bodystructure) != r.bodystructure_len ||
	    strlen(r.headers) != r.headers_len ||
	    strlen(r.text) != r.text_len ||
	    strlen(r.subject) != r.subject_len)
		abort();
	if (mime_body(r.bodystructure, r.bodystructure_len, &body, &bl) == -1)
		abort();
	free(body);
	if (size > 0 && mime_to_bundle(&r, msg, size, 0, &b) == -1)
		abort();
	mime_result_free(&r);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (mime_section(msg, size, specs[i], &off, &len) == 0 &&
		    (off > size || len > size - off))
			abort();
	return (0);
}
