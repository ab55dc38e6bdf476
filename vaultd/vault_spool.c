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
 * The sealed spool of locked accounts (see vault_spool.h for the seal).
 *
 * vaultd is chrooted and confined by Landlock, so everything here works
 * relative to the spool directory's descriptor: openat, mkdirat,
 * renameat, unlinkat, and fdopendir on a dup of a directory descriptor
 * (closedir closes the dup, not the caller's descriptor).
 *
 * Appends and an import's steps run on mailbox workers, an account's
 * appends one at a time, beside its import: a ".tmp-" file may be an
 * append under way, and only spool_sweep(), at start, before any
 * append, takes one for an interrupted append and removes it.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "peerfd.h"
#include "util.h"
#include "vault_spool.h"
#include "vault_work.h"

#define SPOOL_IDLEN		16	/* account id, bytes */
#define SPOOL_IDHEX		(2 * SPOOL_IDLEN + 1)
#define SPOOL_PKLEN		crypto_scalarmult_BYTES
#define SPOOL_SECRETLEN		32	/* server secret */
#define SPOOL_KEYLEN		crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define SPOOL_NONCELEN		crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SPOOL_TAGLEN		crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SPOOL_MAGICLEN		4
#define SPOOL_HDRLEN		(SPOOL_MAGICLEN + SPOOL_PKLEN + SPOOL_NONCELEN)
#define SPOOL_ADLEN		(SPOOL_MAGICLEN + SPOOL_IDLEN + \
				    SPOOL_NAME_LEN - 1)
#define SPOOL_TMPPREFIX		".tmp-"
#define SPOOL_TMPLEN		(sizeof(SPOOL_TMPPREFIX) - 1 + SPOOL_NAME_LEN)

/*
 * At most this many names are held in memory at once by an import; a
 * larger spool is imported in several windows, oldest first.  Tests may
 * build with a small value to exercise the windows.
 */
#ifndef SPOOL_IMPORT_MAX
#define SPOOL_IMPORT_MAX	1000000
#endif
#if SPOOL_IMPORT_MAX < 2
#error "SPOOL_IMPORT_MAX must leave room after halving"
#endif

struct spool_name {
	char	 s[SPOOL_NAME_LEN];
};

struct spool_list {
	struct spool_name	*v;
	size_t			 n;
	size_t			 cap;
	int			 dropped;	/* newer names left for later */
	char			 limit[SPOOL_NAME_LEN];	/* if dropped */
};

static void	 spool_hex(char *, size_t, const unsigned char *, size_t);
static int	 spool_ishex(const char *, size_t);
static int	 spool_isname(const char *);
static int	 spool_istmp(const char *);
static int	 spool_opendir(int, const char *, int, int *);
static int	 spool_derive(unsigned char *, const unsigned char *,
		    const unsigned char *, const unsigned char *,
		    const unsigned char *, const unsigned char *);
static void	 spool_ad(unsigned char *, const unsigned char *,
		    const char *);
static void	 spool_newname(char *);
static int	 spool_readfile(int, const char *, unsigned char **, size_t *,
		    int *);
static int	 spool_namecmp(const void *, const void *);
static int	 spool_collect(int, const char *, const char *,
		    struct spool_list *);
static int	 spool_list_add(struct spool_list *, const char *);
static int	 spool_open(const char *, const unsigned char *,
		    const unsigned char *, const unsigned char *,
		    const unsigned char *, const unsigned char *, size_t,
		    unsigned char **, size_t *);

/* Lower-case hex of len bytes; out must hold 2 * len + 1. */
static void
spool_hex(char *out, size_t outlen, const unsigned char *bin, size_t len)
{
	if (sodium_bin2hex(out, outlen, bin, len) == NULL)
		fatalx("%s: buffer too small", __func__);
}

/* Exactly n lower-case hex digits, as spool_hex() writes them. */
static int
spool_ishex(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	return (s[i] == '\0');
}

/* Exactly what spool_newname() makes: 32 lower-case hex digits. */
static int
spool_isname(const char *s)
{
	return (spool_ishex(s, SPOOL_NAME_LEN - 1));
}

static int
spool_istmp(const char *s)
{
	return (strncmp(s, SPOOL_TMPPREFIX, sizeof(SPOOL_TMPPREFIX) - 1) == 0);
}

/*
 * Open spool/<hex>.  With create, make it if missing and sync the spool
 * directory so the new entry survives a crash.  Returns 0 with *fdp set,
 * 0 with *fdp == -1 if it does not exist and create is 0, or -1.
 */
static int
spool_opendir(int spooldirfd, const char *hex, int create, int *fdp)
{
	int	 fd;

	*fdp = -1;
	if (create) {
		if (mkdirat(spooldirfd, hex, 0700) == 0) {
			if (fsync(spooldirfd) == -1) {
				log_warn("%s: fsync spool directory",
				    __func__);
				return (-1);
			}
		} else if (errno != EEXIST) {
			log_warn("%s: mkdirat %s", __func__, hex);
			return (-1);
		}
	}
	fd = openat(spooldirfd, hex,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT && !create)
			return (0);
		log_warn("%s: open %s", __func__, hex);
		return (-1);
	}
	*fdp = fd;
	return (0);
}

/*
 * k = BLAKE2b-256(key = server secret, epk || account pk || X25519).
 * The X25519 result is hashed with both public keys, as libsodium's
 * crypto_kx does, rather than used as a key itself; the server secret
 * as the hash key means the account key alone opens nothing.
 */
static int
spool_derive(unsigned char *k, const unsigned char *secret,
    const unsigned char *sk, const unsigned char *pk,
    const unsigned char *epk, const unsigned char *apk)
{
	crypto_generichash_state	 st;
	unsigned char			 shared[crypto_scalarmult_BYTES];
	int				 rv = -1;

	/* Fails on a low-order point: a forged epk, or a broken apk. */
	if (crypto_scalarmult(shared, sk, pk) != 0)
		goto done;
	if (crypto_generichash_init(&st, secret, SPOOL_SECRETLEN,
	    SPOOL_KEYLEN) != 0 ||
	    crypto_generichash_update(&st, epk, SPOOL_PKLEN) != 0 ||
	    crypto_generichash_update(&st, apk, SPOOL_PKLEN) != 0 ||
	    crypto_generichash_update(&st, shared, sizeof(shared)) != 0 ||
	    crypto_generichash_final(&st, k, SPOOL_KEYLEN) != 0)
		goto done;
	rv = 0;
 done:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(shared, sizeof(shared));
	if (rv == -1)
		sodium_memzero(k, SPOOL_KEYLEN);
	return (rv);
}

/* ad = "TRS1" || account id || name */
static void
spool_ad(unsigned char *ad, const unsigned char *id, const char *name)
{
	memcpy(ad, SPOOL_MAGIC, SPOOL_MAGICLEN);
	memcpy(ad + SPOOL_MAGICLEN, id, SPOOL_IDLEN);
	memcpy(ad + SPOOL_MAGICLEN + SPOOL_IDLEN, name, SPOOL_NAME_LEN - 1);
}

/*
 * 16 hex digits of the time in nanoseconds, then 16 random ones: names
 * sort in arrival order.  Within this process the time part only ever
 * grows, even if the clock steps back.
 */
static void
spool_newname(char *name)
{
	static pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t		 last;
	struct timespec		 ts;
	unsigned char		 b[16];
	uint64_t		 t;
	int			 i;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 || ts.tv_sec < 0)
		t = 0;
	else
		t = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	/* Appends run on several workers. */
	if (pthread_mutex_lock(&mtx) != 0)
		fatalx("%s: mutex", __func__);
	if (t <= last)
		t = last + 1;
	last = t;
	if (pthread_mutex_unlock(&mtx) != 0)
		fatalx("%s: mutex", __func__);
	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(t >> (56 - 8 * i));
	randombytes_buf(b + 8, 8);
	spool_hex(name, SPOOL_NAME_LEN, b, sizeof(b));
}

int
spool_append(int spooldirfd, const unsigned char *id,
    const unsigned char *apk, const unsigned char *secret, const void *data,
    size_t len, char *name_out)
{
	unsigned char	 esk[crypto_scalarmult_SCALARBYTES];
	unsigned char	 k[SPOOL_KEYLEN];
	unsigned char	 hdr[SPOOL_HDRLEN];
	unsigned char	 ad[SPOOL_ADLEN];
	unsigned char	 tag[SPOOL_TAGLEN];
	unsigned char	*c = NULL;
	char		 hex[SPOOL_IDHEX];
	char		 name[SPOOL_NAME_LEN];
	char		 tmp[SPOOL_TMPLEN];
	int		 dirfd = -1, fd = -1, created = 0, renamed = 0;
	int		 rv = -1;

	if (name_out != NULL)
		name_out[0] = '\0';
	if (id == NULL || apk == NULL || secret == NULL || data == NULL) {
		log_warnx("%s: missing argument", __func__);
		return (-1);
	}
	if (len == 0 || len > SPOOL_DATA_MAX) {
		log_warnx("%s: refusing a message of %zu bytes", __func__,
		    len);
		return (-1);
	}
	if (sodium_init() == -1) {
		log_warnx("%s: sodium_init failed", __func__);
		return (-1);
	}
	spool_hex(hex, sizeof(hex), id, SPOOL_IDLEN);

	/* The seal, in memory first: nothing on disk if it fails. */
	memcpy(hdr, SPOOL_MAGIC, SPOOL_MAGICLEN);
	if (crypto_box_keypair(hdr + SPOOL_MAGICLEN, esk) != 0 ||
	    spool_derive(k, secret, esk, apk, hdr + SPOOL_MAGICLEN,
	    apk) == -1) {
		log_warnx("%s: account=%s: key agreement failed", __func__,
		    hex);
		goto done;
	}
	randombytes_buf(hdr + SPOOL_MAGICLEN + SPOOL_PKLEN, SPOOL_NONCELEN);
	spool_newname(name);
	spool_ad(ad, id, name);
	if ((c = malloc(len)) == NULL) {
		log_warn("%s: malloc", __func__);
		goto done;
	}
	if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(c, tag, NULL,
	    data, len, ad, sizeof(ad), NULL, hdr + SPOOL_MAGICLEN + SPOOL_PKLEN,
	    k) != 0) {
		log_warnx("%s: account=%s: encryption failed", __func__, hex);
		goto done;
	}

	if (spool_opendir(spooldirfd, hex, 1, &dirfd) == -1)
		goto done;
	(void)snprintf(tmp, sizeof(tmp), "%s%s", SPOOL_TMPPREFIX, name);
	fd = openat(dirfd, tmp,
	    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("%s: account=%s: open %s", __func__, hex, tmp);
		goto done;
	}
	created = 1;
	if (write_all(fd, hdr, sizeof(hdr)) == -1 ||
	    write_all(fd, c, len) == -1 ||
	    write_all(fd, tag, sizeof(tag)) == -1) {
		log_warn("%s: account=%s: write %s", __func__, hex, tmp);
		goto done;
	}
	if (fsync(fd) == -1) {
		log_warn("%s: account=%s: fsync %s", __func__, hex, tmp);
		goto done;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("%s: account=%s: close %s", __func__, hex, tmp);
		goto done;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		log_warn("%s: account=%s: rename %s", __func__, hex, tmp);
		goto done;
	}
	renamed = 1;
	if (fsync(dirfd) == -1) {
		log_warn("%s: account=%s: fsync directory", __func__, hex);
		goto done;
	}
	if (name_out != NULL)
		memcpy(name_out, name, SPOOL_NAME_LEN);
	rv = 0;

 done:
	if (fd != -1)
		(void)close(fd);
	/*
	 * On failure nothing may stay: the sender is told the message
	 * was not taken and will try again.
	 */
	if (rv == -1 && dirfd != -1) {
		if (renamed && unlinkat(dirfd, name, 0) == -1)
			log_warn("%s: account=%s: unlink %s", __func__, hex,
			    name);
		else if (!renamed && created &&
		    unlinkat(dirfd, tmp, 0) == -1)
			log_warn("%s: account=%s: unlink %s", __func__, hex,
			    tmp);
	}
	if (dirfd != -1)
		(void)close(dirfd);
	free(c);
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(k, sizeof(k));
	return (rv);
}

/*
 * Read a whole spool file into malloc'd memory.  *tamper is set when
 * the file is not what an append leaves (not a regular file, of an
 * impossible size, changing while read): the caller skips it.  -1 with
 * *tamper == 0 is an I/O error.
 *
 * A spool file is a regular file in vaultd's own data directory and
 * cannot be sealed, hence PEERFD_UNSEALED.  That is safe here: only
 * vaultd writes the spool, and a file changed while it is read fails
 * its authentication in spool_open() or is refused as shrunk.
 */
static int
spool_readfile(int dirfd, const char *name, unsigned char **pp,
    size_t *lenp, int *tamper)
{
	void	*p;
	int	 fd;

	*pp = NULL;
	*lenp = 0;
	*tamper = 0;
	/* O_NONBLOCK: a FIFO planted here must not hang vaultd. */
	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			*tamper = 1;
		else
			log_warn("%s: open %s", __func__, name);
		return (-1);
	}
	if (peerfd_read(fd, PEERFD_UNSEALED, SPOOL_OVERHEAD + 1,
	    SPOOL_DATA_MAX + SPOOL_OVERHEAD, &p, lenp) == -1) {
		if (errno == EBADMSG || errno == EFBIG)
			*tamper = 1;
		else
			log_warn("%s: read %s", __func__, name);
		(void)close(fd);
		return (-1);
	}
	(void)close(fd);
	*pp = p;
	return (0);
}

/*
 * Open one sealed file.  On success the plaintext is in sodium_malloc'd
 * memory (guarded, locked when possible, wiped by sodium_free).  Any
 * failure here is a file that does not authenticate.
 */
static int
spool_open(const char *name, const unsigned char *id,
    const unsigned char *apk, const unsigned char *ask,
    const unsigned char *secret, const unsigned char *f, size_t flen,
    unsigned char **mp, size_t *mlenp)
{
	unsigned char	 k[SPOOL_KEYLEN];
	unsigned char	 ad[SPOOL_ADLEN];
	unsigned char	*m = NULL;
	const unsigned char *epk, *nonce, *c, *tag;
	size_t		 clen;
	int		 rv = -1;

	*mp = NULL;
	*mlenp = 0;
	if (flen <= SPOOL_OVERHEAD ||
	    memcmp(f, SPOOL_MAGIC, SPOOL_MAGICLEN) != 0)
		return (-1);
	epk = f + SPOOL_MAGICLEN;
	nonce = epk + SPOOL_PKLEN;
	c = nonce + SPOOL_NONCELEN;
	clen = flen - SPOOL_OVERHEAD;
	tag = c + clen;

	if (spool_derive(k, secret, ask, epk, epk, apk) == -1)
		goto done;
	if ((m = sodium_malloc(clen)) == NULL) {
		log_warn("%s: %s: sodium_malloc", __func__, name);
		goto done;
	}
	spool_ad(ad, id, name);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(m, NULL,
	    c, clen, tag, ad, sizeof(ad), nonce, k) != 0)
		goto done;
	*mp = m;
	*mlenp = clen;
	m = NULL;
	rv = 0;
 done:
	if (m != NULL)
		sodium_free(m);
	sodium_memzero(k, sizeof(k));
	return (rv);
}

static int
spool_namecmp(const void *a, const void *b)
{
	const struct spool_name	*x = a, *y = b;

	return (strcmp(x->s, y->s));
}

/*
 * Keep the SPOOL_IMPORT_MAX smallest (oldest) names without holding
 * more than that many: when the list is full, sort it and drop its
 * newer half; from then on only names older than the newest one kept
 * then (the limit, which only decreases) are taken.  So every name
 * dropped or refused is newer than every name kept.
 */
static int
spool_list_add(struct spool_list *l, const char *name)
{
	struct spool_name	*v;
	size_t			 ncap;

	if (l->dropped && strcmp(name, l->limit) >= 0)
		return (0);
	if (l->n == SPOOL_IMPORT_MAX) {
		qsort(l->v, l->n, sizeof(l->v[0]), spool_namecmp);
		l->n = SPOOL_IMPORT_MAX / 2;
		l->dropped = 1;
		memcpy(l->limit, l->v[l->n - 1].s, sizeof(l->limit));
		if (strcmp(name, l->limit) >= 0)
			return (0);
	}
	if (l->n == l->cap) {
		ncap = l->cap == 0 ? 64 : l->cap * 2;
		if (ncap > SPOOL_IMPORT_MAX)
			ncap = SPOOL_IMPORT_MAX;
		if ((v = reallocarray(l->v, ncap, sizeof(*v))) == NULL) {
			log_warn("%s: reallocarray", __func__);
			return (-1);
		}
		l->v = v;
		l->cap = ncap;
	}
	memcpy(l->v[l->n].s, name, SPOOL_NAME_LEN);
	l->n++;
	return (0);
}

/*
 * List the sealed messages of one account directory newer than after
 * ("" for all), oldest first.
 */
static int
spool_collect(int dirfd, const char *hex, const char *after,
    struct spool_list *l)
{
	struct dirent	*de;
	DIR		*dir;
	char		 safe[64];
	int		 fd, rv = 0;

	if ((fd = dup(dirfd)) == -1) {
		log_warn("%s: account=%s: dup", __func__, hex);
		return (-1);
	}
	if ((dir = fdopendir(fd)) == NULL) {
		log_warn("%s: account=%s: fdopendir", __func__, hex);
		(void)close(fd);
		return (-1);
	}
	rewinddir(dir);
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno != 0) {
				log_warn("%s: account=%s: readdir", __func__,
				    hex);
				rv = -1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/*
		 * An append under way (on a mailbox worker), or one a crash
		 * cut short: spool_sweep() removes those at start.
		 */
		if (spool_istmp(de->d_name))
			continue;
		if (!spool_isname(de->d_name)) {
			/* Said once, at the first look of an import. */
			if (after[0] != '\0')
				continue;
			log_sanitize(safe, sizeof(safe), de->d_name);
			log_warnx("%s: account=%s: ignoring \"%s\": not a "
			    "spool name", __func__, hex, safe);
			continue;
		}
		if (strcmp(de->d_name, after) <= 0)
			continue;
		if (spool_list_add(l, de->d_name) == -1) {
			rv = -1;
			break;
		}
	}
	if (closedir(dir) == -1 && rv == 0) {
		log_warn("%s: account=%s: closedir", __func__, hex);
		rv = -1;
	}
	if (rv == 0 && l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), spool_namecmp);
	return (rv);
}

/*
 * The messages cb has stored since the last commit: committed now, then
 * their files removed.  -1 if the commit or a removal failed.
 */
static int
spool_commit(int dirfd, const char *hex, struct spool_name *pend,
    size_t *npend, spool_import_cb cb, void *arg, unsigned int *count,
    unsigned int *removed)
{
	size_t	 i;

	if (*npend == 0)
		return (0);
	if (cb(arg, NULL, NULL, 0) != 0) {
		log_warnx("%s: account=%s: %zu messages not committed, "
		    "import stopped", __func__, hex, *npend);
		*npend = 0;
		return (-1);
	}
	*count += *npend;
	for (i = 0; i < *npend; i++) {
		/*
		 * Committed, keyed by its name: if this unlink is lost in
		 * a crash the next import sees the name again and the
		 * callback answers 0 without storing it twice.  That is
		 * also why one directory sync at the end is enough.
		 */
		if (unlinkat(dirfd, pend[i].s, 0) == -1) {
			log_warn("%s: account=%s: unlink %s", __func__, hex,
			    pend[i].s);
			*npend = 0;
			return (-1);
		}
		(*removed)++;
	}
	*npend = 0;
	return (0);
}

/*
 * Import: see vault_spool.h; an import under way.  A file that fails to authenticate is
 * audited and left in place for the operator: it does not fail the
 * import (the rest of the mail still comes in); the number of such
 * files is logged, and spool_count() afterwards still counts them.
 *
 * The names are taken in windows of at most SPOOL_IMPORT_MAX, oldest
 * first; each window starts after the newest name of the one before,
 * so a file that stays (it did not open) is looked at only once.
 */
struct spool_importer {
	struct spool_list	 l;		/* the window */
	size_t			 next;		/* of l, the next to open */
	struct spool_name	 pend[SPOOL_IMPORT_BATCH];
	size_t			 npend;		/* stored, not committed */
	unsigned char		 id[SPOOL_IDLEN];
	unsigned char		 apk[crypto_box_PUBLICKEYBYTES];
	const unsigned char	*ask;
	const unsigned char	*secret;
	spool_import_cb		 cb;
	void			*arg;
	char			 hex[SPOOL_IDHEX];
	char			 after[SPOOL_NAME_LEN];
	unsigned int		 count, failed, removed;
	int			 dirfd;
	int			 rv;		/* -1 once stopped */
};

int
spool_import_start(int spooldirfd, const unsigned char *id,
    const unsigned char *apk, const unsigned char *ask,
    const unsigned char *secret, spool_import_cb cb, void *arg,
    struct spool_importer **out)
{
	struct spool_importer	*it;
	char			 hex[SPOOL_IDHEX];
	int			 dirfd;

	*out = NULL;
	if (id == NULL || apk == NULL || ask == NULL || secret == NULL ||
	    cb == NULL) {
		log_warnx("%s: missing argument", __func__);
		return (-1);
	}
	if (sodium_init() == -1) {
		log_warnx("%s: sodium_init failed", __func__);
		return (-1);
	}
	spool_hex(hex, sizeof(hex), id, SPOOL_IDLEN);
	if (spool_opendir(spooldirfd, hex, 0, &dirfd) == -1)
		return (-1);
	if (dirfd == -1)
		return (0);
	if ((it = calloc(1, sizeof(*it))) == NULL) {
		log_warn("%s", __func__);
		(void)close(dirfd);
		return (-1);
	}
	memcpy(it->id, id, sizeof(it->id));
	memcpy(it->apk, apk, sizeof(it->apk));
	memcpy(it->hex, hex, sizeof(it->hex));
	it->ask = ask;
	it->secret = secret;
	it->cb = cb;
	it->arg = arg;
	it->dirfd = dirfd;
	/* The first window now: an empty spool needs no import. */
	if (spool_collect(dirfd, hex, it->after, &it->l) == -1) {
		(void)spool_import_end(it, NULL);
		return (-1);
	}
	if (it->l.n == 0) {
		(void)spool_import_end(it, NULL);
		return (0);
	}
	*out = it;
	return (0);
}

/*
 * Open, store and commit up to max messages (at most
 * SPOOL_IMPORT_BATCH): one transaction.  When the window is used up
 * with room left in the step, the step goes on with the names that
 * came meanwhile (the next window starts after the newest name of this
 * one): mail spooled while the import runs comes in too, after the
 * older, and a step that starts after a message was spooled takes it
 * unless max older ones come first.
 */
int
spool_import_step(struct spool_importer *it, size_t max)
{
	struct spool_list	*l = &it->l;
	const char		*name;
	unsigned char		*f, *m;
	size_t			 flen, mlen;
	int			 tamper, r, more = -1;

	if (it->rv == -1)
		return (-1);
	if (max == 0 || max > SPOOL_IMPORT_BATCH)
		max = SPOOL_IMPORT_BATCH;
	while (it->npend < max) {
		/* A background slice that a request waits for stops here. */
		if (it->npend > 0 && work_yield_asked())
			break;
		if (it->next == l->n) {
			if ((more = spool_import_more(it)) == -1)
				goto stop;
			if (more == 0)
				break;
		}
		name = l->v[it->next].s;
		if (spool_readfile(it->dirfd, name, &f, &flen,
		    &tamper) == -1) {
			if (!tamper)
				goto stop;
			log_audit("spool-tamper", "account=%s name=%s "
			    "reason=file", it->hex, name);
			it->failed++;
			it->next++;
			continue;
		}
		r = spool_open(name, it->id, it->apk, it->ask, it->secret, f,
		    flen, &m, &mlen);
		free(f);
		if (r == -1) {
			log_audit("spool-tamper", "account=%s name=%s "
			    "reason=seal", it->hex, name);
			it->failed++;
			it->next++;
			continue;
		}
		r = it->cb(it->arg, name, m, mlen);
		sodium_free(m);
		if (r != 0) {
			log_warnx("%s: account=%s: %s not stored, import "
			    "stopped", __func__, it->hex, name);
			goto stop;
		}
		memcpy(it->pend[it->npend++].s, name, SPOOL_NAME_LEN);
		it->next++;
	}
	if (spool_commit(it->dirfd, it->hex, it->pend, &it->npend, it->cb,
	    it->arg, &it->count, &it->removed) == -1) {
		it->rv = -1;
		return (-1);
	}
	/* Stopped at max at the end of a window: is there more? */
	if (more == 0)
		return (0);
	return (spool_import_more(it));
 stop:
	/* What came before it is kept. */
	(void)spool_commit(it->dirfd, it->hex, it->pend, &it->npend, it->cb,
	    it->arg, &it->count, &it->removed);
	it->rv = -1;
	return (-1);
}

/*
 * When the window is used up: the names that came after its newest.
 * 1 if there are, 0 if not, -1 on error.
 */
int
spool_import_more(struct spool_importer *it)
{
	struct spool_list	*l = &it->l;

	if (it->rv == -1)
		return (-1);
	if (it->next < l->n)
		return (1);
	if (l->n > 0)
		memcpy(it->after, l->v[l->n - 1].s, sizeof(it->after));
	l->n = 0;
	l->dropped = 0;
	it->next = 0;
	if (spool_collect(it->dirfd, it->hex, it->after, l) == -1) {
		it->rv = -1;
		return (-1);
	}
	return (l->n > 0);
}

int
spool_import_end(struct spool_importer *it, unsigned int *countp)
{
	int	 rv;

	if (countp != NULL)
		*countp = 0;
	if (it == NULL)
		return (0);
	rv = it->rv;
	/* Stopped between steps: what is stored but not committed goes. */
	it->npend = 0;
	if (it->removed > 0 && fsync(it->dirfd) == -1) {
		log_warn("%s: account=%s: fsync directory", __func__,
		    it->hex);
		rv = -1;
	}
	if (it->failed > 0)
		log_warnx("%s: account=%s: %u sealed message%s did not "
		    "open and %s kept", __func__, it->hex, it->failed,
		    it->failed == 1 ? "" : "s", it->failed == 1 ? "is" :
		    "are");
	if (countp != NULL)
		*countp = it->count;
	free(it->l.v);
	(void)close(it->dirfd);
	sodium_memzero(it, sizeof(*it));
	free(it);
	return (rv);
}

int
spool_import(int spooldirfd, const unsigned char *id,
    const unsigned char *apk, const unsigned char *ask,
    const unsigned char *secret, spool_import_cb cb, void *arg,
    unsigned int *countp)
{
	struct spool_importer	*it;
	int			 r;

	if (countp != NULL)
		*countp = 0;
	if (spool_import_start(spooldirfd, id, apk, ask, secret, cb, arg,
	    &it) == -1)
		return (-1);
	if (it == NULL)
		return (0);
	while ((r = spool_import_step(it, SPOOL_IMPORT_BATCH)) == 1)
		;
	return (spool_import_end(it, countp));
}

int
spool_count(int spooldirfd, const unsigned char *id, unsigned int *np)
{
	struct dirent	*de;
	DIR		*dir;
	char		 hex[SPOOL_IDHEX];
	unsigned int	 n = 0;
	int		 dirfd, rv = 0;

	if (np != NULL)
		*np = 0;
	if (id == NULL || np == NULL) {
		log_warnx("%s: missing argument", __func__);
		return (-1);
	}
	spool_hex(hex, sizeof(hex), id, SPOOL_IDLEN);
	if (spool_opendir(spooldirfd, hex, 0, &dirfd) == -1)
		return (-1);
	if (dirfd == -1)
		return (0);
	if ((dir = fdopendir(dirfd)) == NULL) {
		log_warn("%s: account=%s: fdopendir", __func__, hex);
		(void)close(dirfd);
		return (-1);
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno != 0) {
				log_warn("%s: account=%s: readdir", __func__,
				    hex);
				rv = -1;
			}
			break;
		}
		if (spool_isname(de->d_name) && n < UINT_MAX)
			n++;
	}
	if (closedir(dir) == -1 && rv == 0) {
		log_warn("%s: account=%s: closedir", __func__, hex);
		rv = -1;
	}
	if (rv == 0)
		*np = n;
	return (rv);
}

/*
 * At start, before any append: remove the temporary files of appends
 * that a crash cut short in every account's spool (nobody was told
 * those messages were taken).  -1 if one could not be removed.
 */
int
spool_sweep(int spooldirfd)
{
	struct dirent	*de, *te;
	DIR		*top, *dir;
	char		 safe[64];
	int		 fd, dirfd, rv = 0;

	if ((fd = dup(spooldirfd)) == -1) {
		log_warn("%s: dup", __func__);
		return (-1);
	}
	if ((top = fdopendir(fd)) == NULL) {
		log_warn("%s: fdopendir", __func__);
		(void)close(fd);
		return (-1);
	}
	rewinddir(top);
	while ((errno = 0, de = readdir(top)) != NULL) {
		/* An account's directory: its id in hex. */
		if (!spool_ishex(de->d_name, SPOOL_IDHEX - 1))
			continue;
		if (spool_opendir(spooldirfd, de->d_name, 0, &dirfd) == -1) {
			rv = -1;
			continue;
		}
		if (dirfd == -1)
			continue;
		if ((dir = fdopendir(dirfd)) == NULL) {
			log_warn("%s: account=%s: fdopendir", __func__,
			    de->d_name);
			(void)close(dirfd);
			rv = -1;
			continue;
		}
		while ((errno = 0, te = readdir(dir)) != NULL) {
			if (!spool_istmp(te->d_name))
				continue;
			log_sanitize(safe, sizeof(safe), te->d_name);
			if (unlinkat(dirfd, te->d_name, 0) == -1) {
				log_warn("%s: account=%s: unlink stale %s",
				    __func__, de->d_name, safe);
				rv = -1;
				continue;
			}
			log_info("%s: account=%s: removed stale %s", __func__,
			    de->d_name, safe);
		}
		if (errno != 0) {
			log_warn("%s: account=%s: readdir", __func__,
			    de->d_name);
			rv = -1;
		}
		(void)closedir(dir);
	}
	if (errno != 0) {
		log_warn("%s: readdir", __func__);
		rv = -1;
	}
	(void)closedir(top);
	return (rv);
}

/*
 * Remove an account's spool: every entry, then the directory.  Entries
 * are unlinked while the directory is read, which may make readdir skip
 * some; the passes repeat until one removes nothing (bounded).
 */
int
spool_destroy(int spooldirfd, const unsigned char *id)
{
	struct dirent	*de;
	DIR		*dir;
	char		 hex[SPOOL_IDHEX];
	unsigned int	 removed;
	int		 dirfd, fd, pass, rv = 0;

	if (id == NULL) {
		log_warnx("%s: missing argument", __func__);
		return (-1);
	}
	spool_hex(hex, sizeof(hex), id, SPOOL_IDLEN);
	if (spool_opendir(spooldirfd, hex, 0, &dirfd) == -1)
		return (-1);
	if (dirfd == -1)
		return (0);

	for (pass = 0; pass < 8 && rv == 0; pass++) {
		if ((fd = dup(dirfd)) == -1) {
			log_warn("%s: account=%s: dup", __func__, hex);
			rv = -1;
			break;
		}
		if ((dir = fdopendir(fd)) == NULL) {
			log_warn("%s: account=%s: fdopendir", __func__, hex);
			(void)close(fd);
			rv = -1;
			break;
		}
		rewinddir(dir);
		removed = 0;
		for (;;) {
			errno = 0;
			if ((de = readdir(dir)) == NULL) {
				if (errno != 0) {
					log_warn("%s: account=%s: readdir",
					    __func__, hex);
					rv = -1;
				}
				break;
			}
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			/*
			 * Nothing here makes directories; an empty one
			 * (left by hand) goes too, anything deeper is an
			 * error for the operator.
			 */
			if (unlinkat(dirfd, de->d_name, 0) == -1 &&
			    (errno != EISDIR || unlinkat(dirfd, de->d_name,
			    AT_REMOVEDIR) == -1)) {
				log_warn("%s: account=%s: unlink", __func__,
				    hex);
				rv = -1;
				break;
			}
			removed++;
		}
		if (closedir(dir) == -1 && rv == 0) {
			log_warn("%s: account=%s: closedir", __func__, hex);
			rv = -1;
		}
		if (removed == 0)
			break;
	}
	(void)close(dirfd);
	if (rv == -1)
		return (-1);
	if (unlinkat(spooldirfd, hex, AT_REMOVEDIR) == -1) {
		log_warn("%s: account=%s: rmdir", __func__, hex);
		return (-1);
	}
	if (fsync(spooldirfd) == -1) {
		log_warn("%s: fsync spool directory", __func__);
		return (-1);
	}
	return (0);
}
