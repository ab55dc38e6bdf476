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
 * Keys of the vault (see DESIGN.md, "Storage and keys").
 *
 *	vault.key	32 random bytes made at first start, mode 0400: the
 *			server key.  Subkeys of it (crypto_kdf) key the
 *			directory database and the spool's server secret.
 *	account keys	a random 256-bit mailbox key and an X25519 key pair
 *			per account, stored only wrapped, once per credential
 *			(a keyslot).  A slot's wrapping key is derived from
 *			its credential with Argon2id and the slot's salt.
 *
 * All secret material lives in sodium_malloc'd memory (guarded, locked,
 * wiped on free).
 */

#ifndef VAULT_KEYS_H
#define VAULT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define KEY_LEN			32
#define ACCOUNT_ID_LEN		16
#define SLOT_SALT_LEN		crypto_pwhash_SALTBYTES		/* 16 */
#define SLOT_NONCE_LEN		crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SLOT_SECRET_LEN		(KEY_LEN + crypto_box_SECRETKEYBYTES)
#define SLOT_WRAPPED_LEN	(SLOT_SECRET_LEN + \
				    crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define RECOVERY_KEY_LEN	32	/* random bytes behind a recovery key */
/*
 * The printed form is 13 groups of 4 joined by 12 dashes: 64
 * characters and the NUL.
 */
#define RECOVERY_TEXT_LEN	65	/* its printed form, with NUL */
#define CREDENTIAL_MAX		1024

/* Subkey ids of vault.key (crypto_kdf context "tresorvk"). */
#define SUBKEY_DIRECTORY	1	/* directory.db page key */
#define SUBKEY_DIRECTORY_ID	2	/* directory.db database id */
#define SUBKEY_SPOOL		3	/* the spool's server secret */
#define SUBKEY_HINT		4	/* finds an app password's slot */

/* Argon2id cost of a keyslot; stored with the slot. */
struct kdf_cost {
	uint64_t	 opslimit;
	size_t		 memlimit;	/* bytes */
};

/* What a keyslot unwraps to: the account's secrets. */
struct account_secrets {
	unsigned char	 mailbox_key[KEY_LEN];
	unsigned char	 box_sk[crypto_box_SECRETKEYBYTES];
};

/* A keyslot as stored in directory.db; nothing in it is secret. */
struct keyslot {
	unsigned char	 salt[SLOT_SALT_LEN];
	unsigned char	 nonce[SLOT_NONCE_LEN];
	unsigned char	 wrapped[SLOT_WRAPPED_LEN];
	struct kdf_cost	 cost;
};

/*
 * The server key: load vault.key, or make it at first start.  The
 * descriptor is the data directory (a real one, not O_PATH: it is
 * fsync'd after a new key is made).  The file must be a regular file
 * of 32 bytes, mode 0400 or 0600, owned by the effective uid.  On
 * success the key is in read-only sodium_malloc'd memory that the
 * caller frees with sodium_free(); returns 0, or -1 after logging why.
 * keys_subkey(): crypto_kdf subkey of the given id and length (within
 * crypto_kdf_BYTES_MIN and _MAX, else fatalx()).
 */
int	 keys_load_server(int, unsigned char **);
void	 keys_subkey(const unsigned char *, uint64_t, unsigned char *,
	    size_t);

/* A new account: fresh secrets and the public half of its box key. */
struct account_secrets *keys_secrets_new(unsigned char *);
void	 keys_secrets_free(struct account_secrets *);

/*
 * Keyslots: wrap the secrets under a credential, or unwrap them.  The
 * arguments after the credential and its length (1 to CREDENTIAL_MAX
 * bytes) are the account id (ACCOUNT_ID_LEN bytes) and the slot id; a
 * slot opens only with the same two.  keys_slot_wrap() returns 0 or
 * -1 (bad length or cost, out of memory).  keys_slot_unwrap() returns
 * the secrets (free with keys_secrets_free()) or NULL, the same NULL
 * for a wrong credential, an altered slot and an invalid stored cost.
 */
int	 keys_slot_wrap(const struct account_secrets *, const char *, size_t,
	    const unsigned char *, uint64_t, const struct kdf_cost *,
	    struct keyslot *);
struct account_secrets *keys_slot_unwrap(const struct keyslot *,
	    const char *, size_t, const unsigned char *, uint64_t);

/*
 * An unwrap in two halves, for a caller that runs Argon2id elsewhere
 * (vault_kdf.c's workers).  keys_wrapkey_derive(): KEY_LEN bytes of
 * wrapping key from the credential, a salt of SLOT_SALT_LEN bytes and
 * a cost the caller checked; 0, or -1 (out of memory, the output
 * wiped).  It logs nothing and touches no state: any thread may call
 * it.  keys_slot_open(): the secrets the slot wraps under that key, or
 * NULL, as keys_slot_unwrap().
 */
int	 keys_wrapkey_derive(unsigned char *, const char *, size_t,
	    const unsigned char *, const struct kdf_cost *);
struct account_secrets *keys_slot_open(const struct keyslot *,
	    const unsigned char *, const unsigned char *, uint64_t);

/*
 * A wrap in the same two halves, for vaultd's loop: keys_slot_prepare()
 * gives a new slot a fresh salt and nonce and the cost (0, or -1 for a
 * cost out of bounds); the caller derives the wrapping key from the
 * credential and the slot's salt with keys_wrapkey_derive() (on a KDF
 * worker); keys_slot_seal() then wraps the secrets into the slot under
 * that key, for the account id and slot id (0, or -1: out of memory).
 * Seal a prepared slot once.  keys_slot_wrap() and keys_slot_unwrap()
 * do it all on the caller's thread: for the tests, never on the loop.
 */
int	 keys_slot_prepare(struct keyslot *, const struct kdf_cost *);
int	 keys_slot_seal(struct keyslot *, const struct account_secrets *,
	    const unsigned char *, const unsigned char *, uint64_t);

/*
 * Recovery keys: random, printed once in groups of base32.
 * keys_recovery_new(): 32 random bytes as "ABCD-EFGH-...-WXYZ" (13
 * groups of 4 digits of RFC 4648 base32); 0, or -1 if the buffer is
 * smaller than 65 bytes.  keys_recovery_normalise(): what a user types
 * back (any case; '-', spaces and tabs ignored) to the 52 upper-case
 * digits that are the recovery keyslot's credential; 0, or -1 (and the
 * output wiped) for anything else; the output needs 53 bytes.
 */
int	 keys_recovery_new(char *, size_t);
int	 keys_recovery_normalise(const char *, char *, size_t);

/*
 * App passwords: 16 random characters of a 32-letter alphabet (80
 * bits) in groups of 4, "abcd-efgh-jkmn-pqrs".  Their shape tells a
 * login to look for an app-password slot, and a selector of
 * SELECTOR_BITS bits (of a keyed hash of the account id and the app
 * password, stored with its slot) says which: one Argon2id run per
 * login however many app passwords an account has.  The selector is
 * unique among an account's app slots (vault_admin.c draws app
 * passwords until it is).  It is not a verifier: whoever holds
 * vault.key learns from it only which of 64 buckets a guess falls
 * in, and still needs Argon2id to test one.
 */
#define APPPASS_TEXT_LEN	20	/* with NUL */
#define SELECTOR_BITS		6
#define SELECTOR_COUNT		(1 << SELECTOR_BITS)
void	 keys_apppass_new(char *, size_t);
int	 keys_apppass_shaped(const char *);
uint8_t	 keys_selector(const unsigned char *, const unsigned char *,
	    const char *, size_t);

/*
 * Verifiers for accounts already unlocked: a keyed hash, no Argon2id.
 * Arguments: the per-process verifier key (KEY_LEN), the account id,
 * the credential and its length, and KEY_LEN bytes of output.  Compare
 * verifiers with sodium_memcmp().
 */
void	 keys_verifier(const unsigned char *, const unsigned char *,
	    const char *, size_t, unsigned char *);

/*
 * Argon2id cost checks and the built-in default.  keys_cost_valid()
 * returns 1 for opslimit 1 to 20 and memlimit 8 MiB to 4 GiB in whole
 * KiB, else 0.  The default and why: docs/keys.md.
 */
void	 keys_cost_default(struct kdf_cost *);
int	 keys_cost_valid(const struct kdf_cost *);

#endif /* VAULT_KEYS_H */
