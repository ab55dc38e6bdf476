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
 * The vault's keys: the server key in vault.key and its subkeys, the
 * account secrets and the keyslots that wrap them, recovery keys and
 * the verifiers that spare Argon2id on reconnects.  docs/keys.md
 * describes the formats and why the default Argon2id cost is what it
 * is.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "vault_keys.h"

#define SERVER_KEY_FILE		"vault.key"
#define SERVER_KEY_TMP		"vault.key.new-"	/* + 16 hex digits */
#define SUBKEY_CONTEXT		"tresorvk"	/* crypto_kdf_CONTEXTBYTES */

/* Associated data of a keyslot: prefix, account, slot id, cost. */
#define SLOT_AD_PREFIX		"tresor-keyslot-v1"
#define SLOT_AD_PREFIX_LEN	(sizeof(SLOT_AD_PREFIX) - 1)
#define SLOT_AD_LEN		(SLOT_AD_PREFIX_LEN + ACCOUNT_ID_LEN + 3 * 8)

/*
 * A recovery key: 32 bytes in base32 are 52 characters (the last one
 * carries 1 bit and 4 zero bits), printed as 13 groups of 4 joined by
 * 12 dashes: 64 characters and a NUL.
 */
#define RECOVERY_CHARS		52
#define RECOVERY_GROUP		4
#define RECOVERY_PRINTED	(RECOVERY_CHARS + \
				    RECOVERY_CHARS / RECOVERY_GROUP - 1 + 1)

/* Bounds of an acceptable Argon2id cost (see docs/keys.md). */
#define COST_OPS_MIN		1
#define COST_OPS_MAX		20
#define COST_MEM_MIN		(8ULL << 20)
#define COST_MEM_MAX		(4ULL << 30)
#define COST_MEM_UNIT		1024

/*
 * The default, measured on the reference machine: about 0.47 s for one
 * derivation and 256 MiB of memory while it runs (docs/keys.md).
 */
#define COST_DEFAULT_OPS	4
#define COST_DEFAULT_MEM	(256U << 20)

static int	 keys_ready(void);
static int	 server_key_open(int);
static int	 server_key_create(int);
static int	 server_key_publish(int, const char *);
static int	 server_key_check(const struct stat *);
static int	 read_full(int, unsigned char *, size_t);
static int	 write_full(int, const unsigned char *, size_t);
static void	 le64enc(unsigned char *, uint64_t);
static void	 slot_ad(unsigned char *, const unsigned char *, uint64_t,
		    const struct kdf_cost *);
static unsigned char *slot_wrapkey(const struct keyslot *, const char *,
		    size_t);
static char	 base32_char(unsigned int);

/*
 * libsodium must be initialised before sodium_malloc() and friends
 * work properly; after the first call this is a cheap check.
 */
static int
keys_ready(void)
{
	if (sodium_init() == -1) {
		log_warnx("keys: sodium_init failed");
		return (0);
	}
	return (1);
}

/*
 * The server key
 */

int
keys_load_server(int dirfd, unsigned char **keyp)
{
	struct stat	 st;
	unsigned char	*key = NULL;
	int		 fd;

	*keyp = NULL;
	if (!keys_ready())
		return (-1);

	if ((fd = server_key_open(dirfd)) == -1 && errno == ENOENT) {
		if (server_key_create(dirfd) == -1)
			return (-1);
		fd = server_key_open(dirfd);
	}
	if (fd == -1) {
		/* O_NOFOLLOW says ELOOP for a symbolic link. */
		if (errno == ELOOP)
			log_warnx("%s: is a symbolic link, refused",
			    SERVER_KEY_FILE);
		else
			log_warn("%s: open", SERVER_KEY_FILE);
		return (-1);
	}

	if (fstat(fd, &st) == -1) {
		log_warn("%s: fstat", SERVER_KEY_FILE);
		goto fail;
	}
	if (server_key_check(&st) == -1)
		goto fail;

	/* Read straight into guarded memory: no copy on the stack. */
	if ((key = sodium_malloc(KEY_LEN)) == NULL) {
		log_warn("%s: sodium_malloc", SERVER_KEY_FILE);
		goto fail;
	}
	if (read_full(fd, key, KEY_LEN) == -1)
		goto fail;
	if (sodium_mprotect_readonly(key) == -1) {
		log_warn("%s: sodium_mprotect_readonly", SERVER_KEY_FILE);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("%s: close", SERVER_KEY_FILE);
		goto fail;
	}
	*keyp = key;
	return (0);

 fail:
	sodium_free(key);
	if (fd != -1)
		close(fd);
	return (-1);
}

/*
 * O_NONBLOCK so that a FIFO planted under the name cannot hang us in
 * open(); fstat() then refuses it as not a regular file.
 */
static int
server_key_open(int dirfd)
{
	return (openat(dirfd, SERVER_KEY_FILE,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
}

/*
 * Make vault.key at first start.  The key is written and synced under
 * a temporary name first and only then given its name, without
 * replacing anything: a crash at any point leaves either no vault.key
 * (the next start makes one) or a complete one, never an empty or
 * partly written file that a later start would load or refuse.
 */
static int
server_key_create(int dirfd)
{
	char		 tmp[sizeof(SERVER_KEY_TMP) + 16];
	char		 hex[17];
	unsigned char	 rnd[8];
	unsigned char	*key = NULL;
	int		 fd = -1, made;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", SERVER_KEY_TMP,
	    hex) >= sizeof(tmp)) {
		log_warnx("%s: temporary name too long", SERVER_KEY_FILE);
		return (-1);
	}

	if ((key = sodium_malloc(KEY_LEN)) == NULL) {
		log_warn("%s: sodium_malloc", SERVER_KEY_FILE);
		return (-1);
	}
	randombytes_buf(key, KEY_LEN);

	if ((fd = openat(dirfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0400)) == -1) {
		log_warn("%s: create %s", SERVER_KEY_FILE, tmp);
		sodium_free(key);
		return (-1);
	}
	/* The umask may have taken bits away; 0400 is what we check. */
	if (fchmod(fd, 0400) == -1) {
		log_warn("%s: fchmod", tmp);
		goto fail;
	}
	if (write_full(fd, key, KEY_LEN) == -1)
		goto fail;
	sodium_free(key);
	key = NULL;
	if (fsync(fd) == -1) {
		log_warn("%s: fsync", tmp);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("%s: close", tmp);
		goto fail;
	}
	fd = -1;

	if ((made = server_key_publish(dirfd, tmp)) == -1)
		goto fail;
	if (fsync(dirfd) == -1) {
		log_warn("%s: fsync of the data directory", SERVER_KEY_FILE);
		return (-1);
	}
	if (made) {
		log_info("%s: made a new server key", SERVER_KEY_FILE);
		log_audit("server-key-created", "file=%s", SERVER_KEY_FILE);
	}
	return (0);

 fail:
	sodium_free(key);
	if (fd != -1)
		close(fd);
	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		log_warn("%s: unlink", tmp);
	return (-1);
}

/*
 * Give the synced temporary file the name vault.key unless that name
 * exists.  Returns 1 if ours is now vault.key, 0 if another process
 * made one first (ours is dropped and theirs is loaded), -1 on error.
 * RENAME_NOREPLACE is not known to every file system (NFS); link(2)
 * is the portable way to get the same "never replace".
 */
static int
server_key_publish(int dirfd, const char *tmp)
{
	if (renameat2(dirfd, tmp, dirfd, SERVER_KEY_FILE,
	    RENAME_NOREPLACE) == 0)
		return (1);
	if (errno == EEXIST)
		goto lost;
	if (errno != EINVAL) {
		log_warn("%s: rename %s", SERVER_KEY_FILE, tmp);
		return (-1);
	}
	if (linkat(dirfd, tmp, dirfd, SERVER_KEY_FILE, 0) == -1) {
		if (errno == EEXIST)
			goto lost;
		log_warn("%s: link %s", SERVER_KEY_FILE, tmp);
		return (-1);
	}
	if (unlinkat(dirfd, tmp, 0) == -1)
		log_warn("%s: unlink", tmp);
	return (1);

 lost:
	if (unlinkat(dirfd, tmp, 0) == -1)
		log_warn("%s: unlink", tmp);
	return (0);
}

/*
 * A key file that others could read, or that someone else could have
 * put there, is refused rather than repaired: the operator has to look.
 */
static int
server_key_check(const struct stat *st)
{
	mode_t	 mode;

	if (!S_ISREG(st->st_mode)) {
		log_warnx("%s: not a regular file", SERVER_KEY_FILE);
		return (-1);
	}
	if (st->st_uid != geteuid()) {
		log_warnx("%s: owned by uid %lu, not by uid %lu",
		    SERVER_KEY_FILE, (unsigned long)st->st_uid,
		    (unsigned long)geteuid());
		return (-1);
	}
	mode = st->st_mode & 07777;
	if (mode != 0400 && mode != 0600) {
		log_warnx("%s: bad permissions %04o, want 0400 or 0600",
		    SERVER_KEY_FILE, (unsigned int)mode);
		return (-1);
	}
	if (st->st_size != KEY_LEN) {
		log_warnx("%s: %lld bytes, want %d", SERVER_KEY_FILE,
		    (long long)st->st_size, KEY_LEN);
		return (-1);
	}
	return (0);
}

static int
read_full(int fd, unsigned char *buf, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;

	while (off < len) {
		if ((n = read(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s: read", SERVER_KEY_FILE);
			return (-1);
		}
		if (n == 0) {
			log_warnx("%s: short read", SERVER_KEY_FILE);
			return (-1);
		}
		off += n;
	}
	return (0);
}

static int
write_full(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;

	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s: write", SERVER_KEY_FILE);
			return (-1);
		}
		off += n;
	}
	return (0);
}

/*
 * A subkey of the server key.  A bad length is a bug in the caller.
 */
void
keys_subkey(const unsigned char *serverkey, uint64_t id, unsigned char *out,
    size_t len)
{
	if (len < crypto_kdf_BYTES_MIN || len > crypto_kdf_BYTES_MAX)
		fatalx("%s: bad subkey length %zu", __func__, len);
	if (crypto_kdf_derive_from_key(out, len, id, SUBKEY_CONTEXT,
	    serverkey) != 0)
		fatalx("%s: crypto_kdf_derive_from_key", __func__);
}

/*
 * Account secrets
 */

struct account_secrets *
keys_secrets_new(unsigned char *pk)
{
	struct account_secrets	*s;

	if (!keys_ready())
		return (NULL);
	if ((s = sodium_malloc(sizeof(*s))) == NULL) {
		log_warn("%s: sodium_malloc", __func__);
		return (NULL);
	}
	randombytes_buf(s->mailbox_key, sizeof(s->mailbox_key));
	if (crypto_box_keypair(pk, s->box_sk) != 0) {
		log_warnx("%s: crypto_box_keypair", __func__);
		sodium_free(s);
		return (NULL);
	}
	return (s);
}

void
keys_secrets_free(struct account_secrets *s)
{
	/* sodium_free() wipes the memory and accepts NULL. */
	sodium_free(s);
}

/*
 * Keyslots
 */

static void
le64enc(unsigned char *p, uint64_t v)
{
	int	 i;

	for (i = 0; i < 8; i++) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/*
 * The associated data binds the ciphertext to its account, its slot
 * and its cost: a slot copied to another account or slot, or stored
 * back with other cost numbers, does not open.
 */
static void
slot_ad(unsigned char *ad, const unsigned char *account_id,
    uint64_t slot_id, const struct kdf_cost *cost)
{
	unsigned char	*p = ad;

	memcpy(p, SLOT_AD_PREFIX, SLOT_AD_PREFIX_LEN);
	p += SLOT_AD_PREFIX_LEN;
	memcpy(p, account_id, ACCOUNT_ID_LEN);
	p += ACCOUNT_ID_LEN;
	le64enc(p, slot_id);
	p += 8;
	le64enc(p, cost->opslimit);
	p += 8;
	le64enc(p, (uint64_t)cost->memlimit);
}

/*
 * Argon2id alone: the key a credential and a salt make at a cost.  No
 * logging and no state, so the KDF workers (vault_kdf.c) call it from
 * their threads; the caller checked the cost and the length.
 */
int
keys_wrapkey_derive(unsigned char *wkey, const char *cred, size_t credlen,
    const unsigned char *salt, const struct kdf_cost *cost)
{
	if (crypto_pwhash(wkey, KEY_LEN, cred, credlen, salt,
	    cost->opslimit, cost->memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(wkey, KEY_LEN);
		return (-1);
	}
	return (0);
}

/* The slot's wrapping key, from the credential and the slot's salt. */
static unsigned char *
slot_wrapkey(const struct keyslot *ks, const char *cred, size_t credlen)
{
	unsigned char	*wkey;

	if ((wkey = sodium_malloc(KEY_LEN)) == NULL) {
		log_warn("%s: sodium_malloc", __func__);
		return (NULL);
	}
	if (keys_wrapkey_derive(wkey, cred, credlen, ks->salt,
	    &ks->cost) == -1) {
		/* Only resources fail here: the cost was checked. */
		log_warnx("%s: Argon2id with %zu KiB failed (out of memory?)",
		    __func__, ks->cost.memlimit / 1024);
		sodium_free(wkey);
		return (NULL);
	}
	return (wkey);
}

/*
 * The first half of a wrap: a new slot's fresh salt and nonce, and its
 * cost.  Cheap; the Argon2id of the credential with this salt comes
 * next (keys_wrapkey_derive(), on a KDF worker or here).
 */
int
keys_slot_prepare(struct keyslot *slot, const struct kdf_cost *cost)
{
	if (!keys_ready())
		return (-1);
	if (!keys_cost_valid(cost)) {
		log_warnx("%s: invalid Argon2id cost", __func__);
		return (-1);
	}
	memset(slot, 0, sizeof(*slot));
	randombytes_buf(slot->salt, sizeof(slot->salt));
	randombytes_buf(slot->nonce, sizeof(slot->nonce));
	slot->cost = *cost;
	return (0);
}

/*
 * The second half: the secrets wrapped into the prepared slot under
 * the key Argon2id made from its salt, bound to the account and the
 * slot id.  Once per prepared slot: its nonce is used here.
 */
int
keys_slot_seal(struct keyslot *slot, const struct account_secrets *s,
    const unsigned char *wkey, const unsigned char *account_id,
    uint64_t slot_id)
{
	unsigned char		 ad[SLOT_AD_LEN];
	unsigned long long	 clen;
	unsigned char		*pt = NULL;
	int			 rv = -1;

	if (!keys_ready())
		return (-1);
	if (!keys_cost_valid(&slot->cost)) {
		log_warnx("%s: invalid Argon2id cost", __func__);
		return (-1);
	}
	if ((pt = sodium_malloc(SLOT_SECRET_LEN)) == NULL) {
		log_warn("%s: sodium_malloc", __func__);
		return (-1);
	}
	memcpy(pt, s->mailbox_key, KEY_LEN);
	memcpy(pt + KEY_LEN, s->box_sk, crypto_box_SECRETKEYBYTES);
	slot_ad(ad, account_id, slot_id, &slot->cost);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(slot->wrapped, &clen,
	    pt, SLOT_SECRET_LEN, ad, sizeof(ad), NULL, slot->nonce,
	    wkey) != 0 || clen != SLOT_WRAPPED_LEN) {
		log_warnx("%s: encryption failed", __func__);
		sodium_memzero(slot->wrapped, sizeof(slot->wrapped));
		goto done;
	}
	rv = 0;
 done:
	sodium_free(pt);
	return (rv);
}

/* The whole wrap on the caller's thread (the unit tests). */
int
keys_slot_wrap(const struct account_secrets *s, const char *cred,
    size_t credlen, const unsigned char *account_id, uint64_t slot_id,
    const struct kdf_cost *cost, struct keyslot *slot)
{
	struct keyslot		 ks;
	unsigned char		*wkey;
	int			 rv;

	if (credlen == 0 || credlen > CREDENTIAL_MAX) {
		log_warnx("%s: credential empty or too long", __func__);
		return (-1);
	}
	if (keys_slot_prepare(&ks, cost) == -1)
		return (-1);
	if ((wkey = slot_wrapkey(&ks, cred, credlen)) == NULL)
		return (-1);
	rv = keys_slot_seal(&ks, s, wkey, account_id, slot_id);
	sodium_free(wkey);
	if (rv == 0)
		*slot = ks;
	return (rv);
}

/*
 * A wrong credential, a slot altered anywhere (salt, nonce, ciphertext,
 * cost) or a slot presented for another account or slot id all end in
 * the same NULL: the AEAD tag does not verify.  The comparison is the
 * AEAD's own, in constant time.
 */
struct account_secrets *
keys_slot_unwrap(const struct keyslot *slot, const char *cred,
    size_t credlen, const unsigned char *account_id, uint64_t slot_id)
{
	struct account_secrets	*s;
	unsigned char		*wkey;

	if (!keys_ready())
		return (NULL);
	if (credlen == 0 || credlen > CREDENTIAL_MAX) {
		log_debug("%s: credential empty or too long", __func__);
		return (NULL);
	}
	/* Stored numbers: never hand Argon2id a cost we would not set. */
	if (!keys_cost_valid(&slot->cost)) {
		log_debug("%s: keyslot with an invalid cost", __func__);
		return (NULL);
	}
	if ((wkey = slot_wrapkey(slot, cred, credlen)) == NULL)
		return (NULL);
	s = keys_slot_open(slot, wkey, account_id, slot_id);
	sodium_free(wkey);
	return (s);
}

/*
 * The second half of an unwrap, once Argon2id has made the wrapping
 * key (here or in a KDF worker): the AEAD open, cheap, on the loop.
 */
struct account_secrets *
keys_slot_open(const struct keyslot *slot, const unsigned char *wkey,
    const unsigned char *account_id, uint64_t slot_id)
{
	struct account_secrets	*s = NULL;
	unsigned char		 ad[SLOT_AD_LEN];
	unsigned long long	 plen;
	unsigned char		*pt = NULL;

	if (!keys_ready())
		return (NULL);
	if (!keys_cost_valid(&slot->cost)) {
		log_debug("%s: keyslot with an invalid cost", __func__);
		return (NULL);
	}
	if ((pt = sodium_malloc(SLOT_SECRET_LEN)) == NULL) {
		log_warn("%s: sodium_malloc", __func__);
		goto done;
	}
	slot_ad(ad, account_id, slot_id, &slot->cost);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL,
	    slot->wrapped, SLOT_WRAPPED_LEN, ad, sizeof(ad), slot->nonce,
	    wkey) != 0 || plen != SLOT_SECRET_LEN) {
		log_debug("%s: keyslot did not open", __func__);
		goto done;
	}
	if ((s = sodium_malloc(sizeof(*s))) == NULL) {
		log_warn("%s: sodium_malloc", __func__);
		goto done;
	}
	memcpy(s->mailbox_key, pt, KEY_LEN);
	memcpy(s->box_sk, pt + KEY_LEN, crypto_box_SECRETKEYBYTES);

 done:
	sodium_free(pt);
	return (s);
}

/*
 * Recovery keys
 */

/*
 * RFC 4648 base32 digit of v (0-31) without a table lookup or a branch
 * on the secret value: 'A' + v for 0-25, '2' + (v - 26) for 26-31.
 */
static char
base32_char(unsigned int v)
{
	unsigned int	 over;

	over = (25U - v) >> (sizeof(unsigned int) * 8 - 1);	/* v > 25 */
	return ((char)('A' + v - over * ('A' + 26 - '2')));
}

int
keys_recovery_new(char *buf, size_t len)
{
	unsigned char	 raw[RECOVERY_KEY_LEN];
	unsigned int	 acc = 0, bits = 0;
	size_t		 i, n = 0, out = 0;
	char		 digits[RECOVERY_CHARS];

	if (len < RECOVERY_PRINTED) {
		log_warnx("%s: buffer of %zu bytes, need %d", __func__, len,
		    RECOVERY_PRINTED);
		return (-1);
	}
	randombytes_buf(raw, sizeof(raw));

	for (i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			digits[n++] = base32_char((acc >> bits) & 31);
		}
		acc &= (1U << bits) - 1;
	}
	if (bits > 0)
		digits[n++] = base32_char((acc << (5 - bits)) & 31);

	for (i = 0; i < n; i++) {
		if (i > 0 && i % RECOVERY_GROUP == 0)
			buf[out++] = '-';
		buf[out++] = digits[i];
	}
	buf[out] = '\0';

	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(digits, sizeof(digits));
	sodium_memzero(&acc, sizeof(acc));
	return (0);
}

/*
 * What a user types back: any case, with or without the dashes, with
 * spaces or tabs.  The result (52 upper-case digits) is the credential
 * of the recovery keyslot.  Digits 0, 1, 8 and 9 are not in the
 * alphabet and are refused, not guessed at.
 */
int
keys_recovery_normalise(const char *in, char *out, size_t outlen)
{
	size_t	 n = 0;
	char	 c;

	if (in == NULL || outlen < RECOVERY_CHARS + 1)
		return (-1);
	for (; *in != '\0'; in++) {
		c = *in;
		if (c == '-' || c == ' ' || c == '\t')
			continue;
		if (c >= 'a' && c <= 'z')
			c = c - 'a' + 'A';
		if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
			goto bad;
		if (n == RECOVERY_CHARS)
			goto bad;
		out[n++] = c;
	}
	if (n != RECOVERY_CHARS)
		goto bad;
	out[n] = '\0';
	return (0);

 bad:
	/* out may hold part of a recovery key by now. */
	sodium_memzero(out, outlen);
	return (-1);
}

/*
 * Verifiers
 */

void
keys_verifier(const unsigned char *vkey, const unsigned char *account_id,
    const char *cred, size_t credlen, unsigned char *out)
{
	crypto_generichash_state	 st;

	/* The account id has a fixed length: no ambiguity with cred. */
	if (crypto_generichash_init(&st, vkey, KEY_LEN, KEY_LEN) != 0 ||
	    crypto_generichash_update(&st, account_id, ACCOUNT_ID_LEN) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)cred,
	    credlen) != 0 ||
	    crypto_generichash_final(&st, out, KEY_LEN) != 0)
		fatalx("%s: crypto_generichash", __func__);
	sodium_memzero(&st, sizeof(st));
}

/*
 * Argon2id cost
 */

void
keys_cost_default(struct kdf_cost *c)
{
	c->opslimit = COST_DEFAULT_OPS;
	c->memlimit = COST_DEFAULT_MEM;
}

/*
 * The bounds keep a stored cost from asking for absurd work or memory
 * (an altered slot should fail quickly, not stall vaultd) and from
 * being weaker than anything we would have written.
 */
int
keys_cost_valid(const struct kdf_cost *c)
{
	uint64_t	 mem;

	if (c == NULL)
		return (0);
	if (c->opslimit < COST_OPS_MIN || c->opslimit > COST_OPS_MAX ||
	    c->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    c->opslimit > crypto_pwhash_OPSLIMIT_MAX)
		return (0);
	mem = c->memlimit;
	if (mem < COST_MEM_MIN || mem > COST_MEM_MAX ||
	    mem % COST_MEM_UNIT != 0 ||
	    c->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    c->memlimit > crypto_pwhash_MEMLIMIT_MAX)
		return (0);
	return (1);
}

static const char apppass_alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";

void
keys_apppass_new(char *buf, size_t len)
{
	size_t	 i, o = 0;

	if (len < APPPASS_TEXT_LEN)
		fatalx("%s: buffer too small", __func__);
	for (i = 0; i < 16; i++) {
		if (i > 0 && i % 4 == 0)
			buf[o++] = '-';
		buf[o++] = apppass_alphabet[randombytes_uniform(
		    sizeof(apppass_alphabet) - 1)];
	}
	buf[o] = '\0';
}

/* 1 when the credential has an app password's shape. */
int
keys_apppass_shaped(const char *cred)
{
	size_t	 i;

	if (strlen(cred) != APPPASS_TEXT_LEN - 1)
		return (0);
	for (i = 0; i < APPPASS_TEXT_LEN - 1; i++) {
		if (i % 5 == 4) {
			if (cred[i] != '-')
				return (0);
		} else if (strchr(apppass_alphabet, cred[i]) == NULL)
			return (0);
	}
	return (1);
}

/*
 * The selector of an app password: SELECTOR_BITS of keyed BLAKE2b of
 * the account id and it.  The hash is the 16-byte one the full hints
 * of before were, so that a stored hint cut to its first byte and
 * masked is the selector (vault_dir.c migrates them).
 */
#define HINT_HASH_LEN	16
uint8_t
keys_selector(const unsigned char *serverkey,
    const unsigned char *account_id, const char *cred, size_t len)
{
	crypto_generichash_state	 st;
	unsigned char			 k[KEY_LEN], h[HINT_HASH_LEN];
	uint8_t				 sel;

	keys_subkey(serverkey, SUBKEY_HINT, k, sizeof(k));
	crypto_generichash_init(&st, k, sizeof(k), sizeof(h));
	crypto_generichash_update(&st, account_id, ACCOUNT_ID_LEN);
	crypto_generichash_update(&st, (const unsigned char *)cred, len);
	crypto_generichash_final(&st, h, sizeof(h));
	sel = h[0] & (SELECTOR_COUNT - 1);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(&st, sizeof(st));
	return (sel);
}
