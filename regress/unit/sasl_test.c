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

/* SASL PLAIN decoding: the one copy the three fronts share. */

#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "log.h"
#include "sasl.h"
#include "test.h"

TEST_GLOBALS;

static int
decode(const char *raw, size_t len, struct sasl_plain *sp)
{
	char	 b64[8192];

	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)raw, len,
	    sodium_base64_VARIANT_ORIGINAL);
	return (sasl_plain_decode(b64, sp));
}

static void
test_good(void)
{
	struct sasl_plain	 sp;

	CHECK(decode("\0alice@example.org\0secret", 25, &sp) == SASL_OK);
	CHECK_STR(sp.user, "alice@example.org");
	CHECK_STR(sp.pass, "secret");
	/* authzid equal to authcid (any case) is fine. */
	CHECK(decode("ALICE@example.org\0alice@example.org\0pw", 38, &sp) ==
	    SASL_OK);
	CHECK_STR(sp.pass, "pw");
}

static void
test_bad(void)
{
	struct sasl_plain	 sp;
	char			 big[MSG_SECRET_MAX + 40];

	CHECK(sasl_plain_decode("!!!", &sp) == SASL_EBASE64);
	CHECK(sasl_plain_decode("=", &sp) == SASL_EFORMAT);
	CHECK(decode("no separators", 13, &sp) == SASL_EFORMAT);
	CHECK(decode("\0only-one", 9, &sp) == SASL_EFORMAT);
	CHECK(decode("\0\0pw", 4, &sp) == SASL_EFORMAT);	/* no authcid */
	CHECK(decode("\0a\0b\0c", 6, &sp) == SASL_EFORMAT);	/* a 4th */
	CHECK(decode("bob\0alice\0pw", 12, &sp) == SASL_EAUTHZ);
	CHECK(sp.user[0] == '\0' && sp.pass[0] == '\0');
	/* A password longer than any credential: refused, not cut. */
	memset(big, 'x', sizeof(big));
	big[0] = '\0';
	big[2] = '\0';
	CHECK(decode(big, sizeof(big), &sp) == SASL_EFORMAT);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	if (sodium_init() == -1)
		return (1);
	RUN(test_good);
	RUN(test_bad);
	TEST_EXIT();
}
