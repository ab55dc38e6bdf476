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
 * The keys this vaultd process holds for itself, and the settings that
 * go with them: the server key (vault.key), the spool's subkey of it,
 * the verifier key (random, never leaves this process), the Argon2id
 * cost new keyslots get, and whether the vault is open.  This file is
 * their one owner; everybody else asks through serverkeys_*().
 *
 * Not in vault_keys.c: that file is the key formats and operations
 * (keyslots, subkeys, hints, verifiers), stateless and tested on its
 * own; this one is one process's state.
 */

#include <sys/types.h>

#include <sodium.h>

#include "vaultd.h"

static struct {
	unsigned char		*serverkey;	/* sodium_malloc'd */
	unsigned char		*spoolkey;	/* the spool's server secret */
	unsigned char		*verifierkey;	/* random, this process only */
	struct kdf_cost		 cost;
	int			 ready;		/* keys and directory open */
} sk;

/*
 * Load vault.key from the data directory (making it at first start)
 * and derive the others.  Keys from an earlier call are wiped first,
 * so that a retry after a failed start begins afresh.  0 or -1.
 */
int
serverkeys_load(int dirfd)
{
	serverkeys_free();
	if (keys_load_server(dirfd, &sk.serverkey) == -1)
		return (-1);
	if ((sk.spoolkey = sodium_malloc(KEY_LEN)) == NULL ||
	    (sk.verifierkey = sodium_malloc(KEY_LEN)) == NULL)
		return (-1);
	keys_subkey(sk.serverkey, SUBKEY_SPOOL, sk.spoolkey, KEY_LEN);
	randombytes_buf(sk.verifierkey, KEY_LEN);
	return (0);
}

/* Wipe and free the keys (sodium_free() wipes). */
void
serverkeys_free(void)
{
	if (sk.serverkey != NULL)
		sodium_free(sk.serverkey);
	if (sk.spoolkey != NULL)
		sodium_free(sk.spoolkey);
	if (sk.verifierkey != NULL)
		sodium_free(sk.verifierkey);
	sk.serverkey = sk.spoolkey = sk.verifierkey = NULL;
}

const unsigned char *
serverkeys_server(void)
{
	return (sk.serverkey);
}

const unsigned char *
serverkeys_spool(void)
{
	return (sk.spoolkey);
}

const unsigned char *
serverkeys_verifier(void)
{
	return (sk.verifierkey);
}

/* The Argon2id cost of new keyslots (and of the dummy unwrap). */
void
serverkeys_set_cost(const struct kdf_cost *cost)
{
	sk.cost = *cost;
}

const struct kdf_cost *
serverkeys_cost(void)
{
	return (&sk.cost);
}

/* Set by vaultd.c once the keys, the spool and the directory are open. */
void
serverkeys_set_ready(int ready)
{
	sk.ready = ready;
}

int
serverkeys_ready(void)
{
	return (sk.ready);
}
