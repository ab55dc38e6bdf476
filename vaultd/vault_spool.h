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
 * The spool: mail for an account that is locked (no session has its
 * keys open) waits here, sealed so that only the account can read it.
 *
 * Each message is one file, spool/<account hex>/<name>, written to a
 * temporary name, synced, renamed and the directory synced: once
 * spool_append() returns 0 the message is durable.  The seal:
 *
 *	e = an ephemeral X25519 key pair
 *	k = BLAKE2b-256(key = server secret, e.pk || account pk ||
 *	    X25519(e.sk, account pk))
 *	file = "TRS1" || e.pk || nonce || XChaCha20-Poly1305(k, nonce,
 *	    bundle bytes, ad = "TRS1" || account id || name)
 *
 * Opening a sealed message needs both the account's secret key (kept
 * only inside its keyslots) and the server secret (a subkey of
 * vault.key).  The name is bound into the seal, so files cannot be
 * swapped between names or accounts unnoticed.
 */

#ifndef VAULT_SPOOL_H
#define VAULT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define SPOOL_NAME_LEN		33	/* 32 hex digits and a NUL */
#define SPOOL_MAGIC		"TRS1"
#define SPOOL_OVERHEAD		(4 + crypto_box_PUBLICKEYBYTES + \
				    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + \
				    crypto_aead_xchacha20poly1305_ietf_ABYTES)
/* The largest message spool_append() takes: a bundle fits with room. */
#define SPOOL_DATA_MAX		(1536U * 1024 * 1024)	/* 1.5 GiB */

/*
 * Called once per sealed message at import, oldest first, with the
 * name and the opened bytes (valid only during the call; wiped after).
 * Return 0 once the message is stored, keyed by the name so that a name
 * seen again (an import cut short by a crash after the commit) is
 * answered 0 without storing twice; -1 stops the import and keeps this
 * and every later file.  What cb stored is made durable when it is
 * called with a NULL name (0: committed; -1: nothing since the last
 * commit was kept): after at most SPOOL_IMPORT_BATCH messages, at the
 * end, and before the import stops on a failure.  Files are removed
 * only once committed.
 */
typedef int (*spool_import_cb)(void *, const char *, const void *, size_t);

/* Messages committed together at import (one sync for them all). */
#define SPOOL_IMPORT_BATCH	256

/*
 * All functions take the spool directory as an O_RDONLY|O_DIRECTORY
 * descriptor (not O_PATH: it is fsync'ed), the account id (16 bytes)
 * and return 0 or -1 (logged).
 *
 * spool_append(dirfd, id, account pk, server secret, data, len, name)
 *	Seal data (1 .. SPOOL_DATA_MAX bytes) for the account and store
 *	it durably; name (SPOOL_NAME_LEN bytes, or NULL) receives its
 *	name.  On failure no file is left behind.
 * spool_import(dirfd, id, account pk, account sk, server secret, cb,
 *	    arg, &count)
 *	Open every sealed message in
 *	arrival order, pass it to cb and remove it once cb returns 0.
 *	count is the number delivered.  A file that does not open (wrong
 *	key, tampered, renamed, moved from another account) is audited
 *	("spool-tamper"), never passed to cb, left in place and skipped:
 *	it does not make the import fail, and spool_count() still counts
 *	it afterwards.  No spool for the account: 0 with count 0.
 * spool_import_start(dirfd, id, account pk, account sk, server secret,
 *	    cb, arg, &it)
 * spool_import_step(it, max)
 * spool_import_end(it, &count)
 *	The same import in steps, so that the caller can run other work
 *	between them: each step opens and stores up to max messages
 *	(at most SPOOL_IMPORT_BATCH) and commits them, then removes
 *	their files; 1 while there is more, 0 when the spool is empty,
 *	-1 once stopped (the rest stays for the next import).  A window
 *	used up is followed, within the same step, by the names that
 *	came meanwhile: mail spooled during the import comes in too,
 *	after the older, and a step that starts after a message was
 *	spooled takes it unless max older ones come first.  The
 *	account sk and the server secret must stay valid until the end;
 *	end syncs the directory and frees it.  No spool for the
 *	account, or an empty one: it is NULL, and end does nothing.
 * spool_import_more(it)
 *	After a step returned 0: looks again for names that came since;
 *	1 if there are (the next step takes them), 0 if not, -1 on
 *	error.
 * spool_count(dirfd, id, &n)
 *	Sealed messages waiting (temporary files not counted).
 * spool_sweep(dirfd)
 *	At start, before any append: remove every account's temporary
 *	files (appends a crash cut short).
 * spool_destroy(dirfd, id)
 *	Remove the account's spool directory and everything in it.
 *
 * Appends and import steps may run on different threads at the same
 * time, for the same account: the files are created under a temporary
 * name and renamed, an import never touches a temporary file, and only
 * spool_sweep() removes stale ones.
 */

int	 spool_append(int, const unsigned char *, const unsigned char *,
	    const unsigned char *, const void *, size_t, char *);
int	 spool_import(int, const unsigned char *, const unsigned char *,
	    const unsigned char *, const unsigned char *, spool_import_cb,
	    void *, unsigned int *);
struct spool_importer;
int	 spool_import_start(int, const unsigned char *, const unsigned char *,
	    const unsigned char *, const unsigned char *, spool_import_cb,
	    void *, struct spool_importer **);
int	 spool_import_step(struct spool_importer *, size_t);
int	 spool_import_more(struct spool_importer *);
int	 spool_import_end(struct spool_importer *, unsigned int *);
int	 spool_count(int, const unsigned char *, unsigned int *);
int	 spool_destroy(int, const unsigned char *);
int	 spool_sweep(int);

#endif /* VAULT_SPOOL_H */
