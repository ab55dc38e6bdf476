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
 * A self-signed certificate for a configuration that asks for one
 * ("tls ... selfsigned", as the built-in default does), made at the first
 * start when neither file exists.  It lets a developer or a first test
 * use STARTTLS and implicit TLS at once; a real server uses a
 * certificate from a CA.  This is the one place Tresor uses libcrypto
 * directly: libtls has no way to make a certificate.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ctld.h"
#include "log.h"

#define SELFSIGN_DAYS	365

static FILE	*create_file(const char *, mode_t);
static int	 add_ext(X509 *, int, const char *);

static FILE *
create_file(const char *path, mode_t mode)
{
	FILE	*fp;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1) {
		log_warn("%s", path);
		return (NULL);
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		log_warn("%s", path);
		close(fd);
		unlink(path);
	}
	return (fp);
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 rv;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return (-1);
	rv = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return (rv);
}

/*
 * 0 when both files exist (or were just made), -1 on error.  Only both
 * missing is repaired: one without the other is the operator's to fix.
 */
int
selfsign_ensure(const char *cert, const char *key, const char *hostname)
{
	struct stat	 sb;
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	FILE		*fp = NULL;
	char		 san[CONF_NAME_MAX + 64];
	int		 have_cert, have_key, ok, rv = -1;

	have_cert = stat(cert, &sb) == 0;
	have_key = stat(key, &sb) == 0;
	if (have_cert && have_key)
		return (0);
	if (have_cert != have_key) {
		log_warnx("%s is missing but %s exists: not making a new "
		    "self-signed pair", have_cert ? key : cert,
		    have_cert ? cert : key);
		return (-1);
	}

	if ((pkey = EVP_EC_gen("P-256")) == NULL)
		goto done;
	if ((x = X509_new()) == NULL)
		goto done;
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(arc4random() & 0x7fffffff)) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)SELFSIGN_DAYS * 24 * 3600) == NULL ||
	    X509_set_pubkey(x, pkey) != 1)
		goto done;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto done;
	snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1,"
	    "IP:::1", hostname);
	if (add_ext(x, NID_subject_alt_name, san) == -1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") == -1)
		goto done;
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto done;

	if ((fp = create_file(key, 0600)) == NULL)
		goto done;
	ok = PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(fp) != 0)
		ok = 0;
	fp = NULL;
	if (!ok) {
		unlink(key);
		goto done;
	}
	if ((fp = create_file(cert, 0644)) == NULL) {
		unlink(key);
		goto done;
	}
	ok = PEM_write_X509(fp, x) == 1;
	if (fclose(fp) != 0)
		ok = 0;
	fp = NULL;
	if (!ok) {
		unlink(cert);
		unlink(key);
		goto done;
	}
	log_info("made a self-signed certificate for %s in %s", hostname,
	    cert);
	rv = 0;
 done:
	if (rv == -1)
		log_warnx("cannot make a self-signed certificate in %s",
		    cert);
	if (fp != NULL)
		fclose(fp);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return (rv);
}
