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
 * SASL PLAIN (RFC 4616), shared by the fronts: the client's base64
 * response "authzid NUL authcid NUL passwd" decoded into a user and a
 * password.  Proxy authorisation is not offered: an authzid other than
 * the authcid is refused.  The caller wipes the result after use.
 */

#ifndef SASL_H
#define SASL_H

#include "msg.h"

#define SASL_OK		0
#define SASL_EBASE64	1	/* not base64 */
#define SASL_EFORMAT	2	/* not three fields, or too long */
#define SASL_EAUTHZ	3	/* asks to act as another user */

struct sasl_plain {
	char	 user[MSG_ADDRESS_MAX];
	char	 pass[MSG_SECRET_MAX];
};

int	 sasl_plain_decode(const char *, struct sasl_plain *);

#endif /* SASL_H */
