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

#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "sasl.h"

/*
 * "=" stands for an empty response (RFC 4954 4), which is not a valid
 * PLAIN message either.  The decoded bytes are wiped before returning.
 */
int
sasl_plain_decode(const char *b64, struct sasl_plain *out)
{
	unsigned char	 buf[MSG_ADDRESS_MAX * 2 + MSG_SECRET_MAX + 2];
	char		*authz, *authc, *pass;
	size_t		 len, alen, clen;
	int		 rc = SASL_EFORMAT;

	memset(out, 0, sizeof(*out));
	if (strcmp(b64, "=") == 0)
		return (SASL_EFORMAT);
	if (sodium_base642bin(buf, sizeof(buf) - 1, b64, strlen(b64), NULL,
	    &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		sodium_memzero(buf, sizeof(buf));
		return (SASL_EBASE64);
	}
	buf[len] = '\0';
	authz = (char *)buf;
	alen = strlen(authz);
	if (alen + 1 >= len)
		goto done;
	authc = authz + alen + 1;
	clen = strlen(authc);
	if (clen == 0 || alen + clen + 2 > len)
		goto done;
	pass = authc + clen + 1;
	if (pass + strlen(pass) != (char *)buf + len)
		goto done;
	if (*authz != '\0' && strcasecmp(authz, authc) != 0) {
		rc = SASL_EAUTHZ;
		goto done;
	}
	if (strlcpy(out->user, authc, sizeof(out->user)) >= sizeof(out->user) ||
	    strlcpy(out->pass, pass, sizeof(out->pass)) >= sizeof(out->pass)) {
		sodium_memzero(out, sizeof(*out));
		goto done;
	}
	rc = SASL_OK;
 done:
	sodium_memzero(buf, sizeof(buf));
	return (rc);
}
