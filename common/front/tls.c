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
 * libtls server contexts for the network fronts.  The certificate and
 * key come from memory (the fronts open no key files); the policy is
 * fixed: TLS 1.2 and 1.3 only, libtls's "secure" cipher list, server
 * preference.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <tls.h>

#include "io.h"

static void	 tls_seterr(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));

static int	 tls_initialised;

static void
tls_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	/* A truncated message is still a message. */
	(void)vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/*
 * A server context from a PEM certificate chain and key in memory.  The
 * caller keeps its buffers and wipes the key when it likes: libtls takes
 * its own copy, and the one kept in the configuration is cleared as soon
 * as the context has loaded it.  ciphers is the TLS 1.2 cipher list
 * (tresor.conf's `tls ciphers`, by default CONF_TLS_CIPHERS_DEFAULT:
 * ECDHE with an AEAD only); TLS 1.3 keeps its own suites.
 */
struct tls *
tls_server_new(const void *cert, size_t certlen, const void *key,
    size_t keylen, const char *ciphers, char *errbuf, size_t errlen)
{
	struct tls_config	*cfg;
	struct tls		*ctx;
	const char		*why;

	tls_seterr(errbuf, errlen, "no error");
	if (cert == NULL || certlen == 0 || key == NULL || keylen == 0) {
		tls_seterr(errbuf, errlen, "missing certificate or key");
		return (NULL);
	}
	if (!tls_initialised) {
		if (tls_init() == -1) {
			tls_seterr(errbuf, errlen, "tls_init failed");
			return (NULL);
		}
		tls_initialised = 1;
	}
	if ((cfg = tls_config_new()) == NULL) {
		tls_seterr(errbuf, errlen, "tls_config_new failed");
		return (NULL);
	}
	if (tls_config_set_protocols(cfg,
	    TLS_PROTOCOL_TLSv1_2 | TLS_PROTOCOL_TLSv1_3) == -1) {
		why = tls_config_error(cfg);
		tls_seterr(errbuf, errlen, "protocols: %s",
		    why != NULL ? why : "failed");
		tls_config_free(cfg);
		return (NULL);
	}
	if (tls_config_set_ciphers(cfg, ciphers) == -1) {
		why = tls_config_error(cfg);
		tls_seterr(errbuf, errlen, "ciphers: %s",
		    why != NULL ? why : "failed");
		tls_config_free(cfg);
		return (NULL);
	}
	if (tls_config_set_keypair_mem(cfg, cert, certlen, key,
	    keylen) == -1) {
		why = tls_config_error(cfg);
		tls_seterr(errbuf, errlen, "keypair: %s",
		    why != NULL ? why : "failed");
		tls_config_free(cfg);
		return (NULL);
	}
	tls_config_prefer_ciphers_server(cfg);

	if ((ctx = tls_server()) == NULL) {
		tls_seterr(errbuf, errlen, "tls_server failed");
		tls_config_clear_keys(cfg);
		tls_config_free(cfg);
		return (NULL);
	}
	if (tls_configure(ctx, cfg) == -1) {
		why = tls_error(ctx);
		tls_seterr(errbuf, errlen, "configure: %s",
		    why != NULL ? why : "failed");
		tls_free(ctx);
		tls_config_clear_keys(cfg);
		tls_config_free(cfg);
		return (NULL);
	}
	/*
	 * The context has loaded the key into its own state; the copy in
	 * the configuration is not needed any more.  The configuration is
	 * reference counted, so freeing it here is safe.
	 */
	tls_config_clear_keys(cfg);
	tls_config_free(cfg);
	return (ctx);
}
