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
 * libFuzzer target for smtpd's command-argument parsers: the EHLO
 * name, and MAIL FROM / RCPT TO paths with every flag.  Run by
 * "make fuzz-run".
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*line, *p, out[SMTP_PATH_MAX + 1];
	int	 flags;

	if (len > 4096)
		return (0);
	if ((line = malloc(len + 1)) == NULL)
		return (0);
	memcpy(line, data, len);
	line[len] = '\0';
	(void)smtp_helo_valid(line);
	(void)smtp_nonascii(line);
	for (flags = 0; flags < 4; flags++) {
		p = line;
		if (smtp_path(&p, out, sizeof(out), flags) == 0) {
			/* The parsed mailbox must be within the limits. */
			if (strlen(out) > SMTP_PATH_MAX)
				abort();
			(void)smtp_domain(out);
			(void)smtp_nonascii(out);
		}
	}
	free(line);
	return (0);
}
