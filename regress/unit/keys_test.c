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
 * Tests of vaultd/vault_keys.c.  Keyslots use the smallest valid cost
 * (1 pass, 8 MiB) so that the many wraps and unwraps stay fast; only
 * cost_default looks at the default, and only to check that it is
 * valid.  With TRESOR_KEYS_BENCH set in the environment, cost_measure
 * also times the candidate costs (seconds each) and prints a table.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "test.h"
#include "vault_keys.h"

TEST_GLOBALS;

#define B32_ALPHABET	"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define PRINTED_LEN	64	/* 13 groups of 4 and 12 dashes */
#define NORMAL_LEN	52
#define MIB		((size_t)1 << 20)

static const struct kdf_cost test_cost = { 1, 8 * MIB };

static char		 tdir[64];
static int		 tdirfd = -1;

static void	 tdir_new(void);
static void	 tdir_done(void);
static int	 tdir_count(void);
static void	 put_file(const char *, size_t, mode_t);
static void	 segv_exit(int);
static int	 b32_value(char);
static int	 b32_roundtrip(const char *);
static void	 fill_id(unsigned char *, unsigned char);
static double	 now(void);
static int	 cmp_double(const void *, const void *);

static void	 server_key_create(void);
static void	 server_key_umask(void);
static void	 server_key_readonly(void);
static void	 server_key_bad_size(void);
static void	 server_key_bad_mode(void);
static void	 server_key_mode_0600(void);
static void	 server_key_symlink(void);
static void	 server_key_not_regular(void);
static void	 server_key_owner(void);
static void	 subkey_derive(void);
static void	 secrets_new(void);
static void	 slot_roundtrip(void);
static void	 slot_wrong_credential(void);
static void	 slot_tamper_bytes(void);
static void	 slot_tamper_cost(void);
static void	 slot_binding(void);
static void	 slot_credential_length(void);
static void	 slot_bad_cost(void);
static void	 slot_format(void);
static void	 recovery_format(void);
static void	 recovery_normalise(void);
static void	 recovery_slot(void);
static void	 verifier(void);
static void	 cost_valid(void);
static void	 cost_default(void);
static void	 cost_measure(void);

/*
 * A fresh temporary directory for one test; the previous one, left
 * behind by a failed check, goes first.
 */
static void
tdir_new(void)
{
	tdir_done();
	snprintf(tdir, sizeof(tdir), "/tmp/keys_test.XXXXXX");
	CHECK(mkdtemp(tdir) != NULL);
	CHECK((tdirfd = open(tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1);
}

static void
tdir_done(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if (tdirfd == -1)
		return;
	if ((fd = dup(tdirfd)) != -1 && (d = fdopendir(fd)) != NULL) {
		/* The dup shares its offset with tdirfd: start over. */
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(tdirfd, de->d_name, 0) == -1 &&
			    errno == EISDIR)
				unlinkat(tdirfd, de->d_name, AT_REMOVEDIR);
		}
		closedir(d);
	}
	close(tdirfd);
	tdirfd = -1;
	if (rmdir(tdir) == -1)
		fprintf(stderr, "rmdir %s: %s\n", tdir, strerror(errno));
}

/* Entries in the test directory, besides . and .. */
static int
tdir_count(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, n = 0;

	CHECK((fd = dup(tdirfd)) != -1);
	CHECK((d = fdopendir(fd)) != NULL);
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return (n);
}

/* A file of len random bytes with exactly this mode. */
static void
put_file(const char *name, size_t len, mode_t mode)
{
	unsigned char	 buf[64];
	int		 fd;

	CHECK(len <= sizeof(buf));
	randombytes_buf(buf, sizeof(buf));
	CHECK((fd = openat(tdirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) != -1);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	CHECK(fchmod(fd, mode) == 0);
	CHECK(close(fd) == 0);
}

static void
fill_id(unsigned char *id, unsigned char v)
{
	memset(id, v, ACCOUNT_ID_LEN);
}

/*
 * The server key
 */

static void
server_key_create(void)
{
	struct stat	 st, st2;
	unsigned char	 disk[KEY_LEN + 1];
	unsigned char	*key = NULL, *key2 = NULL;
	int		 fd;

	tdir_new();
	CHECK(keys_load_server(tdirfd, &key) == 0);
	CHECK(key != NULL);

	CHECK(fstatat(tdirfd, "vault.key", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK((st.st_mode & 07777) == 0400);
	CHECK(st.st_size == KEY_LEN);
	CHECK(st.st_uid == geteuid());
	CHECK(st.st_nlink == 1);
	/* The temporary file it was written under is gone. */
	CHECK(tdir_count() == 1);

	/* What is in memory is what is on disk. */
	CHECK((fd = openat(tdirfd, "vault.key", O_RDONLY | O_CLOEXEC)) != -1);
	CHECK(read(fd, disk, sizeof(disk)) == KEY_LEN);
	close(fd);
	CHECK(memcmp(disk, key, KEY_LEN) == 0);
	CHECK(!sodium_is_zero(key, KEY_LEN));

	/* A second start loads the same key and leaves the file alone. */
	CHECK(keys_load_server(tdirfd, &key2) == 0);
	CHECK(key2 != NULL && key2 != key);
	CHECK(memcmp(key, key2, KEY_LEN) == 0);
	CHECK(fstatat(tdirfd, "vault.key", &st2, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(st2.st_ino == st.st_ino);
	CHECK(st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
	    st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
	sodium_free(key);
	sodium_free(key2);

	/* Another data directory gets another key (disk has the first). */
	tdir_new();
	CHECK(keys_load_server(tdirfd, &key) == 0);
	CHECK(memcmp(disk, key, KEY_LEN) != 0);
	sodium_free(key);
	tdir_done();
}

/* The key file is 0400 whatever the umask says. */
static void
server_key_umask(void)
{
	struct stat	 st;
	unsigned char	*key = NULL;
	mode_t		 old;

	tdir_new();
	old = umask(0777);
	if (keys_load_server(tdirfd, &key) != 0) {
		umask(old);
		CHECK(!"keys_load_server failed under umask 0777");
	}
	umask(old);
	CHECK(key != NULL);
	CHECK(fstatat(tdirfd, "vault.key", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK((st.st_mode & 07777) == 0400);
	sodium_free(key);
	tdir_done();
}

static void
segv_exit(int sig)
{
	(void)sig;
	_exit(42);
}

/* The loaded key is read-only: a stray write faults. */
static void
server_key_readonly(void)
{
	struct sigaction	 sa;
	unsigned char		*key = NULL;
	volatile unsigned char	*p;
	pid_t			 pid;
	int			 status;

	tdir_new();
	CHECK(keys_load_server(tdirfd, &key) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = segv_exit;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSEGV, &sa, NULL) == -1 ||
		    sigaction(SIGBUS, &sa, NULL) == -1)
			_exit(2);
		p = key;
		p[0] ^= 1;
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);
	sodium_free(key);
	tdir_done();
}

static void
server_key_bad_size(void)
{
	static unsigned char	 dummy;
	struct stat		 st;
	unsigned char		*key;
	size_t			 sizes[] = { 0, 1, 31, 33, 64 };
	size_t			 i;

	for (i = 0; i < nitems(sizes); i++) {
		tdir_new();
		put_file("vault.key", sizes[i], 0400);
		key = &dummy;
		CHECK(keys_load_server(tdirfd, &key) == -1);
		CHECK(key == NULL);
		/* Refused, not replaced. */
		CHECK(fstatat(tdirfd, "vault.key", &st, 0) == 0);
		CHECK((size_t)st.st_size == sizes[i]);
		CHECK(tdir_count() == 1);
	}
	tdir_done();
}

static void
server_key_bad_mode(void)
{
	unsigned char	*key;
	mode_t		 modes[] = { 0644, 0640, 0604, 0440, 0404, 0700,
			    0500, 0200, 0000, 04400, 01600 };
	size_t		 i;

	for (i = 0; i < nitems(modes); i++) {
		tdir_new();
		put_file("vault.key", KEY_LEN, modes[i]);
		key = NULL;
		CHECK(keys_load_server(tdirfd, &key) == -1);
		CHECK(key == NULL);
	}
	tdir_done();
}

static void
server_key_mode_0600(void)
{
	unsigned char	*key = NULL;

	tdir_new();
	put_file("vault.key", KEY_LEN, 0600);
	CHECK(keys_load_server(tdirfd, &key) == 0);
	CHECK(key != NULL);
	sodium_free(key);
	tdir_done();
}

static void
server_key_symlink(void)
{
	struct stat	 st;
	unsigned char	*key = NULL;

	/* To a perfectly good key file. */
	tdir_new();
	put_file("real.key", KEY_LEN, 0400);
	CHECK(symlinkat("real.key", tdirfd, "vault.key") == 0);
	CHECK(keys_load_server(tdirfd, &key) == -1);
	CHECK(key == NULL);
	CHECK(fstatat(tdirfd, "vault.key", &st, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(S_ISLNK(st.st_mode));

	/* Dangling: nothing may be created through it. */
	tdir_new();
	CHECK(symlinkat("elsewhere.key", tdirfd, "vault.key") == 0);
	CHECK(keys_load_server(tdirfd, &key) == -1);
	CHECK(key == NULL);
	CHECK(fstatat(tdirfd, "elsewhere.key", &st, AT_SYMLINK_NOFOLLOW) ==
	    -1 && errno == ENOENT);
	CHECK(tdir_count() == 1);
	tdir_done();
}

static void
server_key_not_regular(void)
{
	unsigned char	*key = NULL;

	tdir_new();
	CHECK(mkdirat(tdirfd, "vault.key", 0700) == 0);
	CHECK(keys_load_server(tdirfd, &key) == -1);
	CHECK(key == NULL);

	/* A FIFO must not hang the open (main() has an alarm). */
	tdir_new();
	CHECK(mkfifoat(tdirfd, "vault.key", 0400) == 0);
	CHECK(keys_load_server(tdirfd, &key) == -1);
	CHECK(key == NULL);
	tdir_done();
}

/* Someone else's file is refused; only root can set that up. */
static void
server_key_owner(void)
{
	unsigned char	*key = NULL;

	tdir_new();
	put_file("vault.key", KEY_LEN, 0400);
	CHECK(keys_load_server(tdirfd, &key) == 0);
	sodium_free(key);
	key = NULL;
	if (geteuid() != 0) {
		printf("# server_key_owner: not root, ownership not tested\n");
		tdir_done();
		return;
	}
	CHECK(fchownat(tdirfd, "vault.key", 65534, 65534,
	    AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(keys_load_server(tdirfd, &key) == -1);
	CHECK(key == NULL);
	tdir_done();
}

/*
 * Subkeys
 */

static void
subkey_derive(void)
{
	unsigned char	 k1[KEY_LEN], k2[KEY_LEN];
	unsigned char	 a[KEY_LEN], b[KEY_LEN], c[KEY_LEN], d[KEY_LEN];
	unsigned char	 e[KEY_LEN], want[64], got[64];
	unsigned char	 salt[16], personal[16];
	size_t		 i;

	for (i = 0; i < KEY_LEN; i++) {
		k1[i] = i;
		k2[i] = i;
	}
	k2[31] ^= 0x80;

	keys_subkey(k1, SUBKEY_DIRECTORY, a, sizeof(a));
	keys_subkey(k1, SUBKEY_DIRECTORY, b, sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	keys_subkey(k1, SUBKEY_DIRECTORY_ID, c, sizeof(c));
	keys_subkey(k1, SUBKEY_SPOOL, d, sizeof(d));
	CHECK(memcmp(a, c, sizeof(a)) != 0);
	CHECK(memcmp(a, d, sizeof(a)) != 0);
	CHECK(memcmp(c, d, sizeof(c)) != 0);
	CHECK(memcmp(a, k1, sizeof(a)) != 0);
	keys_subkey(k2, SUBKEY_DIRECTORY, e, sizeof(e));
	CHECK(memcmp(a, e, sizeof(a)) != 0);

	/*
	 * The documented construction: BLAKE2b keyed with the server key,
	 * salt le64(id), personalisation "tresorvk".  Anything else would
	 * silently change every derived key.
	 */
	memset(salt, 0, sizeof(salt));
	salt[0] = SUBKEY_SPOOL;
	memset(personal, 0, sizeof(personal));
	memcpy(personal, "tresorvk", 8);
	CHECK(crypto_generichash_blake2b_salt_personal(want, 64, NULL, 0, k1,
	    KEY_LEN, salt, personal) == 0);
	keys_subkey(k1, SUBKEY_SPOOL, got, 64);
	CHECK(memcmp(want, got, 64) == 0);

	/* Other lengths within crypto_kdf's bounds. */
	keys_subkey(k1, SUBKEY_DIRECTORY_ID, got, crypto_kdf_BYTES_MIN);
	keys_subkey(k1, SUBKEY_DIRECTORY_ID, want, crypto_kdf_BYTES_MAX);
	CHECK(!sodium_is_zero(got, crypto_kdf_BYTES_MIN));
}

/*
 * Account secrets and keyslots
 */

static void
secrets_new(void)
{
	struct account_secrets	*s1, *s2;
	unsigned char		 pk1[crypto_box_PUBLICKEYBYTES];
	unsigned char		 pk2[crypto_box_PUBLICKEYBYTES];
	unsigned char		 chk[crypto_box_PUBLICKEYBYTES];

	CHECK((s1 = keys_secrets_new(pk1)) != NULL);
	CHECK((s2 = keys_secrets_new(pk2)) != NULL);
	CHECK(memcmp(s1->mailbox_key, s2->mailbox_key, KEY_LEN) != 0);
	CHECK(memcmp(s1->box_sk, s2->box_sk, sizeof(s1->box_sk)) != 0);
	CHECK(memcmp(pk1, pk2, sizeof(pk1)) != 0);
	CHECK(!sodium_is_zero(s1->mailbox_key, KEY_LEN));
	CHECK(crypto_scalarmult_base(chk, s1->box_sk) == 0);
	CHECK(memcmp(chk, pk1, sizeof(chk)) == 0);
	CHECK(crypto_scalarmult_base(chk, s2->box_sk) == 0);
	CHECK(memcmp(chk, pk2, sizeof(chk)) == 0);
	keys_secrets_free(s1);
	keys_secrets_free(s2);
	keys_secrets_free(NULL);
}

static void
slot_roundtrip(void)
{
	struct account_secrets	*s, *u;
	struct keyslot		 ks, ks2;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 chk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];
	const char		 pw[] = "correct horse battery staple";
	const char		 bin[] = "nul\0inside";

	fill_id(acct, 0xa5);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	CHECK(keys_slot_wrap(s, pw, strlen(pw), acct, 7, &test_cost,
	    &ks) == 0);
	CHECK(ks.cost.opslimit == test_cost.opslimit);
	CHECK(ks.cost.memlimit == test_cost.memlimit);

	CHECK((u = keys_slot_unwrap(&ks, pw, strlen(pw), acct, 7)) != NULL);
	CHECK(memcmp(u->mailbox_key, s->mailbox_key, KEY_LEN) == 0);
	CHECK(memcmp(u->box_sk, s->box_sk, sizeof(u->box_sk)) == 0);
	CHECK(crypto_scalarmult_base(chk, u->box_sk) == 0);
	CHECK(memcmp(chk, pk, sizeof(pk)) == 0);
	keys_secrets_free(u);

	/* The secrets are not in the slot in clear. */
	CHECK(memmem(&ks, sizeof(ks), s->mailbox_key, 8) == NULL);
	CHECK(memmem(&ks, sizeof(ks), s->box_sk, 8) == NULL);

	/* A second wrap of the same secrets shares nothing. */
	CHECK(keys_slot_wrap(s, pw, strlen(pw), acct, 7, &test_cost,
	    &ks2) == 0);
	CHECK(memcmp(ks.salt, ks2.salt, sizeof(ks.salt)) != 0);
	CHECK(memcmp(ks.nonce, ks2.nonce, sizeof(ks.nonce)) != 0);
	CHECK(memcmp(ks.wrapped, ks2.wrapped, sizeof(ks.wrapped)) != 0);
	CHECK((u = keys_slot_unwrap(&ks2, pw, strlen(pw), acct, 7)) != NULL);
	CHECK(memcmp(u->mailbox_key, s->mailbox_key, KEY_LEN) == 0);
	keys_secrets_free(u);

	/* A credential is bytes with a length, NULs included. */
	CHECK(keys_slot_wrap(s, bin, sizeof(bin) - 1, acct, 1, &test_cost,
	    &ks) == 0);
	CHECK(keys_slot_unwrap(&ks, bin, 3, acct, 1) == NULL);
	CHECK((u = keys_slot_unwrap(&ks, bin, sizeof(bin) - 1, acct, 1)) !=
	    NULL);
	keys_secrets_free(u);
	keys_secrets_free(s);
}

static void
slot_wrong_credential(void)
{
	struct account_secrets	*s, *u;
	struct keyslot		 ks;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];
	const char		*right = "correct horse";
	const char		*wrong[] = { "Correct horse", "correct horse ",
				    "correct hors", "correct horsf", "x" };
	size_t			 i;

	fill_id(acct, 1);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	CHECK(keys_slot_wrap(s, right, strlen(right), acct, 1, &test_cost,
	    &ks) == 0);
	for (i = 0; i < nitems(wrong); i++)
		CHECK(keys_slot_unwrap(&ks, wrong[i], strlen(wrong[i]), acct,
		    1) == NULL);
	/* The control: the right one opens it. */
	CHECK((u = keys_slot_unwrap(&ks, right, strlen(right), acct,
	    1)) != NULL);
	keys_secrets_free(u);
	keys_secrets_free(s);
}

/* Every single byte of salt, nonce and ciphertext is covered. */
static void
slot_tamper_bytes(void)
{
	struct account_secrets	*s, *u;
	struct keyslot		 ks, t;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];
	size_t			 i;

	fill_id(acct, 2);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	CHECK(keys_slot_wrap(s, "pw", 2, acct, 3, &test_cost, &ks) == 0);

	t = ks;
	CHECK((u = keys_slot_unwrap(&t, "pw", 2, acct, 3)) != NULL);
	keys_secrets_free(u);

	for (i = 0; i < sizeof(ks.salt); i++) {
		t = ks;
		t.salt[i] ^= 1 << (i % 8);
		CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	}
	for (i = 0; i < sizeof(ks.nonce); i++) {
		t = ks;
		t.nonce[i] ^= 1 << (i % 8);
		CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	}
	for (i = 0; i < sizeof(ks.wrapped); i++) {
		t = ks;
		t.wrapped[i] ^= 1 << (i % 8);
		CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	}
	keys_secrets_free(s);
}

/*
 * The stored cost is bound by the associated data: changed to another
 * valid cost it fails the tag, changed to an invalid one it is refused
 * before Argon2id runs.
 */
static void
slot_tamper_cost(void)
{
	struct account_secrets	*s;
	struct keyslot		 ks, t;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];

	fill_id(acct, 3);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	CHECK(keys_slot_wrap(s, "pw", 2, acct, 3, &test_cost, &ks) == 0);

	t = ks;
	t.cost.opslimit = 2;
	CHECK(keys_cost_valid(&t.cost));
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	t = ks;
	t.cost.memlimit += 1024;
	CHECK(keys_cost_valid(&t.cost));
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	t = ks;
	t.cost.memlimit = 16 * MIB;
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);

	t = ks;
	t.cost.opslimit = 0;
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	t = ks;
	t.cost.opslimit = 21;
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	t = ks;
	t.cost.opslimit |= (uint64_t)1 << 32;
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	t = ks;
	t.cost.memlimit -= 1024;
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	t = ks;
	t.cost.memlimit += 1;
	CHECK(keys_slot_unwrap(&t, "pw", 2, acct, 3) == NULL);
	keys_secrets_free(s);
}

/* A slot opens only for its own account and slot id. */
static void
slot_binding(void)
{
	struct account_secrets	*s, *u;
	struct keyslot		 ks;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN], other[ACCOUNT_ID_LEN];
	size_t			 i;

	fill_id(acct, 4);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	CHECK(keys_slot_wrap(s, "pw", 2, acct, 7, &test_cost, &ks) == 0);
	CHECK((u = keys_slot_unwrap(&ks, "pw", 2, acct, 7)) != NULL);
	keys_secrets_free(u);

	for (i = 0; i < ACCOUNT_ID_LEN; i += 5) {
		memcpy(other, acct, sizeof(other));
		other[i] ^= 0x01;
		CHECK(keys_slot_unwrap(&ks, "pw", 2, other, 7) == NULL);
	}
	CHECK(keys_slot_unwrap(&ks, "pw", 2, acct, 6) == NULL);
	CHECK(keys_slot_unwrap(&ks, "pw", 2, acct, 8) == NULL);
	CHECK(keys_slot_unwrap(&ks, "pw", 2, acct, 0) == NULL);
	/* All eight bytes of the slot id count. */
	CHECK(keys_slot_unwrap(&ks, "pw", 2, acct,
	    7 | ((uint64_t)1 << 56)) == NULL);
	CHECK(keys_slot_unwrap(&ks, "pw", 2, acct,
	    7 | ((uint64_t)1 << 32)) == NULL);
	keys_secrets_free(s);
}

static void
slot_credential_length(void)
{
	struct account_secrets	*s, *u;
	struct keyslot		 ks;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];
	char			 cred[CREDENTIAL_MAX + 1];

	fill_id(acct, 5);
	memset(cred, 'p', sizeof(cred));
	CHECK((s = keys_secrets_new(pk)) != NULL);

	CHECK(keys_slot_wrap(s, "", 0, acct, 1, &test_cost, &ks) == -1);
	CHECK(keys_slot_wrap(s, cred, CREDENTIAL_MAX + 1, acct, 1,
	    &test_cost, &ks) == -1);
	CHECK(keys_slot_wrap(s, cred, CREDENTIAL_MAX, acct, 1, &test_cost,
	    &ks) == 0);

	CHECK(keys_slot_unwrap(&ks, cred, 0, acct, 1) == NULL);
	CHECK(keys_slot_unwrap(&ks, cred, CREDENTIAL_MAX + 1, acct,
	    1) == NULL);
	CHECK((u = keys_slot_unwrap(&ks, cred, CREDENTIAL_MAX, acct,
	    1)) != NULL);
	CHECK(memcmp(u->mailbox_key, s->mailbox_key, KEY_LEN) == 0);
	keys_secrets_free(u);

	/* The shortest credential works too. */
	CHECK(keys_slot_wrap(s, cred, 1, acct, 1, &test_cost, &ks) == 0);
	CHECK((u = keys_slot_unwrap(&ks, cred, 1, acct, 1)) != NULL);
	keys_secrets_free(u);
	keys_secrets_free(s);
}

/* An invalid cost is refused and the output slot is left alone. */
static void
slot_bad_cost(void)
{
	struct account_secrets	*s;
	struct keyslot		 ks, before;
	struct kdf_cost		 bad;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];

	fill_id(acct, 6);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	memset(&ks, 0x5a, sizeof(ks));
	before = ks;

	bad.opslimit = 0;
	bad.memlimit = 8 * MIB;
	CHECK(keys_slot_wrap(s, "pw", 2, acct, 1, &bad, &ks) == -1);
	bad.opslimit = 1;
	bad.memlimit = 4 * MIB;
	CHECK(keys_slot_wrap(s, "pw", 2, acct, 1, &bad, &ks) == -1);
	CHECK(keys_slot_wrap(s, "pw", 2, acct, 1, NULL, &ks) == -1);
	CHECK(memcmp(&ks, &before, sizeof(ks)) == 0);
	keys_secrets_free(s);
}

/*
 * The stored format, rebuilt here from docs/keys.md alone: the key is
 * Argon2id(credential, salt, cost), the plaintext mailbox_key || box_sk
 * and the associated data "tresor-keyslot-v1" || account id ||
 * le64(slot id) || le64(opslimit) || le64(memlimit).  Slots already on
 * disk depend on every byte of this staying as it is.
 */
static void
slot_format(void)
{
	struct account_secrets	*s;
	struct keyslot		 ks;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN], wkey[KEY_LEN];
	unsigned char		 ad[17 + ACCOUNT_ID_LEN + 24];
	unsigned char		 pt[SLOT_SECRET_LEN];
	unsigned long long	 plen;
	uint64_t		 slot_id = 0x0102030405060708ULL, v;
	size_t			 i, j;

	for (i = 0; i < ACCOUNT_ID_LEN; i++)
		acct[i] = 0xf0 + i;
	CHECK((s = keys_secrets_new(pk)) != NULL);
	CHECK(keys_slot_wrap(s, "pw", 2, acct, slot_id, &test_cost,
	    &ks) == 0);
	CHECK(crypto_pwhash(wkey, sizeof(wkey), "pw", 2, ks.salt,
	    test_cost.opslimit, test_cost.memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) == 0);

	memcpy(ad, "tresor-keyslot-v1", 17);
	memcpy(ad + 17, acct, ACCOUNT_ID_LEN);
	for (j = 0; j < 3; j++) {
		v = j == 0 ? slot_id : j == 1 ? test_cost.opslimit :
		    test_cost.memlimit;
		for (i = 0; i < 8; i++)
			ad[17 + ACCOUNT_ID_LEN + 8 * j + i] = v >> (8 * i);
	}
	CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL,
	    ks.wrapped, sizeof(ks.wrapped), ad, sizeof(ad), ks.nonce,
	    wkey) == 0);
	CHECK(plen == SLOT_SECRET_LEN);
	CHECK(memcmp(pt, s->mailbox_key, KEY_LEN) == 0);
	CHECK(memcmp(pt + KEY_LEN, s->box_sk, sizeof(s->box_sk)) == 0);

	/* Without the cost in the associated data it does not open. */
	CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL,
	    ks.wrapped, sizeof(ks.wrapped), ad, sizeof(ad) - 16, ks.nonce,
	    wkey) == -1);
	sodium_memzero(pt, sizeof(pt));
	sodium_memzero(wkey, sizeof(wkey));
	keys_secrets_free(s);
}

/*
 * Recovery keys
 */

static int
b32_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(B32_ALPHABET, c)) == NULL)
		return (-1);
	return (p - B32_ALPHABET);
}

/*
 * Decode the 52 digits of a printed key to 32 bytes and encode them
 * again with a plain table: the key must be the canonical RFC 4648
 * encoding of 32 bytes (so the 4 spare bits of the last digit are 0).
 */
static int
b32_roundtrip(const char *printed)
{
	unsigned char	 raw[RECOVERY_KEY_LEN];
	char		 digits[NORMAL_LEN + 1], again[NORMAL_LEN + 1];
	unsigned int	 acc = 0, bits = 0;
	size_t		 i, n = 0, r = 0;
	int		 v;

	for (i = 0; printed[i] != '\0'; i++)
		if (printed[i] != '-' && n < NORMAL_LEN)
			digits[n++] = printed[i];
	digits[n] = '\0';
	if (n != NORMAL_LEN)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((v = b32_value(digits[i])) == -1)
			return (-1);
		acc = (acc << 5) | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (r < sizeof(raw))
				raw[r++] = (acc >> bits) & 0xff;
			acc &= (1U << bits) - 1;
		}
	}
	if (r != sizeof(raw) || acc != 0)
		return (-1);
	acc = bits = n = 0;
	for (i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			again[n++] = B32_ALPHABET[(acc >> bits) & 31];
		}
		acc &= (1U << bits) - 1;
	}
	again[n++] = B32_ALPHABET[(acc << (5 - bits)) & 31];
	again[n] = '\0';
	return (strcmp(digits, again) == 0 ? 0 : -1);
}

static void
recovery_format(void)
{
	char		 a[128], b[128];
	int		 seen[32];
	size_t		 i, k, groups;

	memset(a, 'x', sizeof(a));
	CHECK(keys_recovery_new(a, PRINTED_LEN + 1) == 0);
	CHECK(strlen(a) == PRINTED_LEN);
	groups = 0;
	for (i = 0; i < PRINTED_LEN; i++) {
		if (i % 5 == 4) {
			CHECK(a[i] == '-');
			continue;
		}
		CHECK(b32_value(a[i]) != -1);
		if (i % 5 == 0)
			groups++;
	}
	CHECK(groups == 13);
	CHECK(b32_roundtrip(a) == 0);

	CHECK(keys_recovery_new(b, sizeof(b)) == 0);
	CHECK(strcmp(a, b) != 0);

	/* Too small a buffer: refused, not truncated. */
	memset(b, 'x', sizeof(b));
	CHECK(keys_recovery_new(b, PRINTED_LEN) == -1);
	CHECK(keys_recovery_new(b, 0) == -1);

	/*
	 * Over many keys every digit turns up, the six digits 2-7 (a
	 * separate arithmetic case in the encoder) included.
	 */
	memset(seen, 0, sizeof(seen));
	for (k = 0; k < 200; k++) {
		CHECK(keys_recovery_new(a, sizeof(a)) == 0);
		CHECK(b32_roundtrip(a) == 0);
		for (i = 0; a[i] != '\0'; i++)
			if (a[i] != '-')
				seen[b32_value(a[i])]++;
	}
	for (i = 0; i < nitems(seen); i++)
		CHECK(seen[i] > 0);
}

static void
recovery_normalise(void)
{
	char		 key[128], want[NORMAL_LEN + 1], in[256], out[128];
	const char	*bad = "0189.,_=+/:;!@#\n\r\"'`~";
	size_t		 i, j, n;

	CHECK(keys_recovery_new(key, sizeof(key)) == 0);
	for (i = 0, n = 0; key[i] != '\0'; i++)
		if (key[i] != '-')
			want[n++] = key[i];
	want[n] = '\0';
	CHECK(n == NORMAL_LEN);

	/* As printed. */
	CHECK(keys_recovery_normalise(key, out, sizeof(out)) == 0);
	CHECK_STR(out, want);
	/* Just the digits, exactly big enough an output buffer. */
	CHECK(keys_recovery_normalise(want, out, NORMAL_LEN + 1) == 0);
	CHECK_STR(out, want);
	/* Lower case, spaces and tabs instead of dashes, stray dashes. */
	for (i = 0, n = 0; key[i] != '\0'; i++) {
		if (key[i] == '-')
			in[n++] = (i % 2) ? ' ' : '\t';
		else if (key[i] >= 'A' && key[i] <= 'Z')
			in[n++] = key[i] - 'A' + 'a';
		else
			in[n++] = key[i];
	}
	in[n] = '\0';
	CHECK(keys_recovery_normalise(in, out, sizeof(out)) == 0);
	CHECK_STR(out, want);
	snprintf(in, sizeof(in), "  --%s-- \t", key);
	CHECK(keys_recovery_normalise(in, out, sizeof(out)) == 0);
	CHECK_STR(out, want);

	/* Wrong lengths. */
	CHECK(keys_recovery_normalise("", out, sizeof(out)) == -1);
	CHECK(keys_recovery_normalise("----", out, sizeof(out)) == -1);
	snprintf(in, sizeof(in), "%.51s", want);
	CHECK(keys_recovery_normalise(in, out, sizeof(out)) == -1);
	snprintf(in, sizeof(in), "%sA", want);
	CHECK(keys_recovery_normalise(in, out, sizeof(out)) == -1);
	snprintf(in, sizeof(in), "%s%s", want, want);
	CHECK(keys_recovery_normalise(in, out, sizeof(out)) == -1);
	/* Long input: nothing is written past the output length. */
	memset(out, 'x', sizeof(out));
	CHECK(keys_recovery_normalise(in, out, NORMAL_LEN + 1) == -1);
	for (i = NORMAL_LEN + 1; i < sizeof(out); i++)
		CHECK(out[i] == 'x');
	/* An output buffer without room for the NUL. */
	CHECK(keys_recovery_normalise(want, out, NORMAL_LEN) == -1);
	CHECK(keys_recovery_normalise(NULL, out, sizeof(out)) == -1);

	/* Outside the alphabet, anywhere; and out is wiped after. */
	for (i = 0; bad[i] != '\0'; i++) {
		for (j = 0; j < NORMAL_LEN; j += 17) {
			snprintf(in, sizeof(in), "%s", want);
			in[j] = bad[i];
			memset(out, 'x', sizeof(out));
			CHECK(keys_recovery_normalise(in, out,
			    sizeof(out)) == -1);
			CHECK(sodium_is_zero((unsigned char *)out,
			    sizeof(out)));
		}
	}
	/* Not ASCII. */
	snprintf(in, sizeof(in), "%s", want);
	in[10] = (char)0xc3;
	CHECK(keys_recovery_normalise(in, out, sizeof(out)) == -1);
}

/* The normalised text is the credential of a recovery keyslot. */
static void
recovery_slot(void)
{
	struct account_secrets	*s, *u;
	struct keyslot		 ks;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];
	char			 key[128], cred[128], typed[256];
	char			 other[128], ocred[128];
	size_t			 i, n;

	fill_id(acct, 7);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	CHECK(keys_recovery_new(key, sizeof(key)) == 0);
	CHECK(keys_recovery_normalise(key, cred, sizeof(cred)) == 0);
	CHECK(keys_slot_wrap(s, cred, strlen(cred), acct, 99, &test_cost,
	    &ks) == 0);

	/* Typed back in lower case with spaces. */
	for (i = 0, n = 0; key[i] != '\0'; i++) {
		if (key[i] == '-')
			typed[n++] = ' ';
		else if (key[i] >= 'A' && key[i] <= 'Z')
			typed[n++] = key[i] - 'A' + 'a';
		else
			typed[n++] = key[i];
	}
	typed[n] = '\0';
	memset(cred, 0, sizeof(cred));
	CHECK(keys_recovery_normalise(typed, cred, sizeof(cred)) == 0);
	CHECK((u = keys_slot_unwrap(&ks, cred, strlen(cred), acct,
	    99)) != NULL);
	CHECK(memcmp(u->mailbox_key, s->mailbox_key, KEY_LEN) == 0);
	CHECK(memcmp(u->box_sk, s->box_sk, sizeof(u->box_sk)) == 0);
	keys_secrets_free(u);

	/* The text as printed, with its dashes, is not the credential. */
	CHECK(keys_slot_unwrap(&ks, key, strlen(key), acct, 99) == NULL);
	/* Nor is another recovery key. */
	CHECK(keys_recovery_new(other, sizeof(other)) == 0);
	CHECK(keys_recovery_normalise(other, ocred, sizeof(ocred)) == 0);
	CHECK(keys_slot_unwrap(&ks, ocred, strlen(ocred), acct, 99) == NULL);
	keys_secrets_free(s);
}

/*
 * Verifiers
 */

static void
verifier(void)
{
	unsigned char	 vk1[KEY_LEN], vk2[KEY_LEN];
	unsigned char	 a1[ACCOUNT_ID_LEN], a2[ACCOUNT_ID_LEN];
	unsigned char	 v[KEY_LEN], w[KEY_LEN], want[KEY_LEN];
	unsigned char	 msg[ACCOUNT_ID_LEN + 16];

	randombytes_buf(vk1, sizeof(vk1));
	memcpy(vk2, vk1, sizeof(vk2));
	vk2[0] ^= 1;
	fill_id(a1, 8);
	fill_id(a2, 8);
	a2[15] ^= 1;

	keys_verifier(vk1, a1, "secret", 6, v);
	keys_verifier(vk1, a1, "secret", 6, w);
	CHECK(memcmp(v, w, sizeof(v)) == 0);
	CHECK(!sodium_is_zero(v, sizeof(v)));

	keys_verifier(vk1, a2, "secret", 6, w);
	CHECK(memcmp(v, w, sizeof(v)) != 0);
	keys_verifier(vk1, a1, "secreT", 6, w);
	CHECK(memcmp(v, w, sizeof(v)) != 0);
	keys_verifier(vk1, a1, "secret!", 7, w);
	CHECK(memcmp(v, w, sizeof(v)) != 0);
	keys_verifier(vk1, a1, "secret", 5, w);
	CHECK(memcmp(v, w, sizeof(v)) != 0);
	keys_verifier(vk2, a1, "secret", 6, w);
	CHECK(memcmp(v, w, sizeof(v)) != 0);

	/* The documented construction: BLAKE2b(vkey; account || cred). */
	memcpy(msg, a1, ACCOUNT_ID_LEN);
	memcpy(msg + ACCOUNT_ID_LEN, "secret", 6);
	CHECK(crypto_generichash(want, sizeof(want), msg, ACCOUNT_ID_LEN + 6,
	    vk1, sizeof(vk1)) == 0);
	CHECK(memcmp(v, want, sizeof(v)) == 0);
}

/*
 * Argon2id cost
 */

static void
cost_valid(void)
{
	struct kdf_cost	 c;

	CHECK(!keys_cost_valid(NULL));
	CHECK(keys_cost_valid(&test_cost));

	c.memlimit = 8 * MIB;
	c.opslimit = 0;
	CHECK(!keys_cost_valid(&c));
	c.opslimit = 1;
	CHECK(keys_cost_valid(&c));
	c.opslimit = 20;
	CHECK(keys_cost_valid(&c));
	c.opslimit = 21;
	CHECK(!keys_cost_valid(&c));
	c.opslimit = UINT64_MAX;
	CHECK(!keys_cost_valid(&c));

	c.opslimit = 3;
	c.memlimit = 8 * MIB - 1024;
	CHECK(!keys_cost_valid(&c));
	c.memlimit = 8 * MIB;
	CHECK(keys_cost_valid(&c));
	c.memlimit = 8 * MIB + 1;
	CHECK(!keys_cost_valid(&c));
	c.memlimit = 8 * MIB + 512;
	CHECK(!keys_cost_valid(&c));
	c.memlimit = 8 * MIB + 1024;
	CHECK(keys_cost_valid(&c));
	c.memlimit = 0;
	CHECK(!keys_cost_valid(&c));
#if SIZE_MAX > 0xffffffffUL
	c.memlimit = (size_t)4 << 30;
	CHECK(keys_cost_valid(&c));
	c.memlimit = ((size_t)4 << 30) - 1024;
	CHECK(keys_cost_valid(&c));
	c.memlimit = ((size_t)4 << 30) + 1024;
	CHECK(!keys_cost_valid(&c));
	c.memlimit = SIZE_MAX;
	CHECK(!keys_cost_valid(&c));
#endif
}

/* Only checked, never run: it takes about half a second. */
static void
cost_default(void)
{
	struct kdf_cost	 c;

	memset(&c, 0, sizeof(c));
	keys_cost_default(&c);
	CHECK(keys_cost_valid(&c));
	/* Never weaker than libsodium's "interactive" preset. */
	CHECK(c.opslimit >= crypto_pwhash_OPSLIMIT_INTERACTIVE);
	CHECK(c.memlimit >= crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/*
 * The measurement behind keys_cost_default() (docs/keys.md): one
 * keyslot wrap per run, which is one Argon2id derivation plus an AEAD
 * of 64 bytes, as a login costs.  Median of three.
 */
static void
cost_measure(void)
{
	struct {
		uint64_t	 ops;
		size_t		 mib;
	} cand[] = { { 2, 64 }, { 3, 64 }, { 2, 128 }, { 3, 256 },
	    { 4, 256 } };
	struct account_secrets	*s;
	struct kdf_cost		 c;
	struct keyslot		 ks;
	unsigned char		 pk[crypto_box_PUBLICKEYBYTES];
	unsigned char		 acct[ACCOUNT_ID_LEN];
	double			 t[3], t0;
	size_t			 i, r;

	fill_id(acct, 9);
	CHECK((s = keys_secrets_new(pk)) != NULL);
	for (i = 0; i < nitems(cand); i++) {
		c.opslimit = cand[i].ops;
		c.memlimit = cand[i].mib * MIB;
		for (r = 0; r < nitems(t); r++) {
			t0 = now();
			CHECK(keys_slot_wrap(s, "pw", 2, acct, 1, &c,
			    &ks) == 0);
			t[r] = now() - t0;
		}
		qsort(t, nitems(t), sizeof(t[0]), cmp_double);
		printf("# ops %llu mem %4zu MiB: median %.3f s "
		    "(min %.3f, max %.3f)\n", (unsigned long long)c.opslimit,
		    cand[i].mib, t[1], t[0], t[2]);
	}
	keys_secrets_free(s);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	if (sodium_init() == -1) {
		printf("not ok - sodium_init\n");
		return (1);
	}
	/* Nothing here may hang: a FIFO opened for reading would. */
	alarm(120);

	RUN(server_key_create);
	RUN(server_key_umask);
	RUN(server_key_readonly);
	RUN(server_key_bad_size);
	RUN(server_key_bad_mode);
	RUN(server_key_mode_0600);
	RUN(server_key_symlink);
	RUN(server_key_not_regular);
	RUN(server_key_owner);
	RUN(subkey_derive);
	RUN(secrets_new);
	RUN(slot_roundtrip);
	RUN(slot_wrong_credential);
	RUN(slot_tamper_bytes);
	RUN(slot_tamper_cost);
	RUN(slot_binding);
	RUN(slot_credential_length);
	RUN(slot_bad_cost);
	RUN(slot_format);
	RUN(recovery_format);
	RUN(recovery_normalise);
	RUN(recovery_slot);
	RUN(verifier);
	RUN(cost_valid);
	RUN(cost_default);
	if (getenv("TRESOR_KEYS_BENCH") != NULL) {
		alarm(0);
		RUN(cost_measure);
	}
	tdir_done();
	TEST_EXIT();
}
