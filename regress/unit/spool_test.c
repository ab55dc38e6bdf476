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
 * The sealed spool, against real files in a mkdtemp directory: append
 * and import in arrival order, wrong keys, names and accounts bound
 * into the seal, every byte of a file flipped, a callback that stops
 * the import, a crash between the callback's commit and the unlink,
 * stale temporary files, no plaintext at rest, destroy.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "../../vaultd/vault_spool.h"
#include "test.h"

TEST_GLOBALS;

#define IDLEN		16
#define MAXREC		16
#define MAXDATA		(4 * 1024 * 1024)
#define LOGBUF		8192
#define MARKER		"MARKER-7c1e9b-PLAINTEXT-MUST-NOT-REACH-DISK"

struct rec {
	int		 n;
	int		 commits;	/* calls with a NULL name */
	int		 fail_at;	/* cb returns -1 at this call, or -1 */
	char		 name[MAXREC][SPOOL_NAME_LEN];
	unsigned char	*data[MAXREC];
	size_t		 len[MAXREC];
};

static char		 tdir[PATH_MAX];
static int		 spoolfd = -1;
static unsigned char	 id_a[IDLEN], id_b[IDLEN], id_c[IDLEN];
static unsigned char	 pk_a[crypto_box_PUBLICKEYBYTES];
static unsigned char	 sk_a[crypto_box_SECRETKEYBYTES];
static unsigned char	 pk_b[crypto_box_PUBLICKEYBYTES];
static unsigned char	 sk_b[crypto_box_SECRETKEYBYTES];
static unsigned char	 secret[32], secret2[32];
static char		 hex_a[2 * IDLEN + 1], hex_b[2 * IDLEN + 1];
static char		 hex_c[2 * IDLEN + 1];

static int		 audits;
static int		 warnings;
static char		 lastaudit[LOGBUF];

static void	 capture(int, const char *);
static void	 rec_init(struct rec *);
static void	 rec_free(struct rec *);
static int	 rec_cb(void *, const char *, const void *, size_t);
static int	 nfiles(const char *, const char *);
static void	 path2(char *, size_t, const char *, const char *);
static void	 readall(const char *, const char *, unsigned char **,
		    size_t *);
static void	 writeall(const char *, const char *, const void *, size_t);
static void	 rm_rf(int, const char *, int);
static void	 clean(void);
static void	 append3(char [3][SPOOL_NAME_LEN]);

static void	 test_append_import_order(void);
static void	 test_no_spool(void);
static void	 test_step_goes_on(void);
static void	 test_append_refused(void);
static void	 test_wrong_keys(void);
static void	 test_renamed(void);
static void	 test_moved_account(void);
static void	 test_flip_every_byte(void);
static void	 test_truncated_extended(void);
static void	 test_cb_stops(void);
static void	 test_crash_after_commit(void);
static void	 test_stale_tmp(void);
static void	 test_no_plaintext(void);
static void	 test_not_files(void);
static void	 test_bad_names(void);
static void	 test_large(void);
static void	 test_destroy(void);

static const char *const msgs[3] = {
	"From: a@example.org\r\nSubject: one\r\n\r\nfirst\r\n",
	"From: b@example.org\r\nSubject: two\r\n\r\nsecond, longer\r\n",
	"From: c@example.org\r\nSubject: three\r\n\r\n3\r\n",
};

static void
capture(int pri, const char *msg)
{
	(void)pri;
	if (strstr(msg, "audit: event=spool-tamper") != NULL) {
		audits++;
		strlcpy(lastaudit, msg, sizeof(lastaudit));
	} else if (pri == LOG_ERR)
		warnings++;
	fprintf(stderr, "# %s\n", msg);
}

static void
rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->fail_at = -1;
}

static void
rec_free(struct rec *r)
{
	int	 i;

	for (i = 0; i < r->n; i++)
		free(r->data[i]);
	rec_init(r);
}

static int
rec_cb(void *arg, const char *name, const void *data, size_t len)
{
	struct rec	*r = arg;

	if (name == NULL) {
		/* The commit: each was kept already. */
		r->commits++;
		return (0);
	}
	if (r->n == r->fail_at)
		return (-1);
	if (r->n >= MAXREC || len > MAXDATA)
		return (-1);
	if (strlcpy(r->name[r->n], name, SPOOL_NAME_LEN) >= SPOOL_NAME_LEN)
		return (-1);
	if ((r->data[r->n] = malloc(len)) == NULL)
		return (-1);
	memcpy(r->data[r->n], data, len);
	r->len[r->n] = len;
	r->n++;
	return (0);
}

static void
path2(char *buf, size_t len, const char *a, const char *b)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= len)
		abort();
}

/* Entries in spool/<hex> whose name starts with prefix; -1: no dir. */
static int
nfiles(const char *hex, const char *prefix)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, n = 0;

	if ((fd = openat(spoolfd, hex, O_RDONLY | O_DIRECTORY)) == -1)
		return (-1);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	}
	closedir(d);
	return (n);
}

static void
readall(const char *hex, const char *name, unsigned char **pp, size_t *lenp)
{
	struct stat	 st;
	char		 p[PATH_MAX];
	ssize_t		 n;
	int		 fd;

	path2(p, sizeof(p), hex, name);
	CHECK((fd = openat(spoolfd, p, O_RDONLY)) != -1);
	CHECK(fstat(fd, &st) == 0);
	CHECK((*pp = malloc((size_t)st.st_size + 1)) != NULL);
	n = read(fd, *pp, (size_t)st.st_size);
	close(fd);
	CHECK(n == st.st_size);
	*lenp = (size_t)n;
}

static void
writeall(const char *hex, const char *name, const void *buf, size_t len)
{
	char	 p[PATH_MAX];
	int	 fd;

	path2(p, sizeof(p), hex, name);
	CHECK((fd = openat(spoolfd, p, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) != -1);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	CHECK(close(fd) == 0);
}

/* Remove name under dirfd, recursively (depth-bounded). */
static void
rm_rf(int at, const char *name, int depth)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return;
	if (depth > 4)
		return;
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rm_rf(dirfd(d), de->d_name, depth + 1);
	}
	closedir(d);
	(void)unlinkat(at, name, AT_REMOVEDIR);
}

/* Each test starts with an empty spool and fresh counters. */
static void
clean(void)
{
	rm_rf(spoolfd, hex_a, 0);
	rm_rf(spoolfd, hex_b, 0);
	rm_rf(spoolfd, hex_c, 0);
	audits = 0;
	warnings = 0;
	lastaudit[0] = '\0';
}

static void
append3(char names[3][SPOOL_NAME_LEN])
{
	int	 i;

	for (i = 0; i < 3; i++)
		CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[i],
		    strlen(msgs[i]), names[i]) == 0);
}

static void
test_append_import_order(void)
{
	struct rec	 r;
	struct stat	 st;
	char		 names[3][SPOOL_NAME_LEN];
	unsigned int	 n;
	size_t		 j;
	int		 i;

	clean();
	rec_init(&r);
	append3(names);
	for (i = 0; i < 3; i++) {
		CHECK(strlen(names[i]) == SPOOL_NAME_LEN - 1);
		for (j = 0; j < SPOOL_NAME_LEN - 1; j++)
			CHECK(strchr("0123456789abcdef", names[i][j]) !=
			    NULL);
		if (i > 0)
			CHECK(strcmp(names[i - 1], names[i]) < 0);
	}
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 3);
	CHECK(nfiles(hex_a, "") == 3);
	CHECK(fstatat(spoolfd, hex_a, &st, 0) == 0);
	CHECK((st.st_mode & 07777) == 0700);

	n = 99;
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 3);
	CHECK(r.n == 3);
	for (i = 0; i < 3; i++) {
		CHECK_STR(r.name[i], names[i]);
		CHECK(r.len[i] == strlen(msgs[i]));
		CHECK(memcmp(r.data[i], msgs[i], r.len[i]) == 0);
	}
	CHECK(nfiles(hex_a, "") == 0);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 0);
	CHECK(audits == 0);

	/* A second import finds nothing. */
	rec_free(&r);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 0 && r.n == 0);
	rec_free(&r);
}

static void
test_no_spool(void)
{
	struct rec	 r;
	unsigned int	 n;

	clean();
	rec_init(&r);
	n = 7;
	CHECK(spool_import(spoolfd, id_b, pk_b, sk_b, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 0 && r.n == 0);
	n = 7;
	CHECK(spool_count(spoolfd, id_b, &n) == 0 && n == 0);
	CHECK(spool_destroy(spoolfd, id_b) == 0);
	CHECK(nfiles(hex_b, "") == -1);
}

static void
test_append_refused(void)
{
	unsigned char	 zero[crypto_box_PUBLICKEYBYTES];
	char		 name[SPOOL_NAME_LEN];

	clean();
	name[0] = 'x';
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, "x", 0, name) == -1);
	CHECK(name[0] == '\0');
	/* The length is refused before the data is touched. */
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, "x",
	    (size_t)SPOOL_DATA_MAX + 1, name) == -1);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, "x", SIZE_MAX,
	    name) == -1);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, NULL, 1,
	    name) == -1);
	CHECK(spool_append(spoolfd, id_a, NULL, secret, "x", 1,
	    name) == -1);
	/* A low-order account key: the key agreement fails. */
	memset(zero, 0, sizeof(zero));
	CHECK(spool_append(spoolfd, id_a, zero, secret, "x", 1, name) == -1);
	CHECK(nfiles(hex_a, "") <= 0);

	/* A spool directory that is not writable as a directory. */
	CHECK(spool_append(-1, id_a, pk_a, secret, "x", 1, name) == -1);
	CHECK(nfiles(hex_a, "") <= 0);

	/* NULL name_out is fine. */
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, "x", 1, NULL) == 0);
	CHECK(nfiles(hex_a, "") == 1);
}

static void
test_wrong_keys(void)
{
	struct rec	 r;
	char		 names[3][SPOOL_NAME_LEN];
	char		 want[256];
	unsigned int	 n;

	clean();
	rec_init(&r);
	append3(names);

	/* Another account's secret key. */
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_b, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 0 && r.n == 0);
	CHECK(audits == 3);
	snprintf(want, sizeof(want), "account=%s name=%s", hex_a, names[2]);
	CHECK(strstr(lastaudit, want) != NULL);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 3);

	/* The right account key, another server secret. */
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret2, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 0 && r.n == 0);
	CHECK(audits == 6);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 3);

	/* The right keys, but the wrong public key (it is hashed in). */
	CHECK(spool_import(spoolfd, id_a, pk_b, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 0 && r.n == 0);
	CHECK(audits == 9);

	/* Everything right: all three, intact. */
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 3 && r.n == 3);
	CHECK(memcmp(r.data[1], msgs[1], strlen(msgs[1])) == 0);
	CHECK(audits == 9);
	rec_free(&r);
}

/* A file renamed to another valid name does not open. */
static void
test_renamed(void)
{
	struct rec	 r;
	char		 name[SPOOL_NAME_LEN], other[SPOOL_NAME_LEN];
	char		 from[PATH_MAX], to[PATH_MAX];
	unsigned int	 n;
	int		 i;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
	    strlen(msgs[0]), name) == 0);
	/* Change the time part and, separately, the random part. */
	for (i = 0; i < 2; i++) {
		memcpy(other, name, sizeof(other));
		other[i == 0 ? 3 : 30] = other[i == 0 ? 3 : 30] == '0' ?
		    '1' : '0';
		path2(from, sizeof(from), hex_a, name);
		path2(to, sizeof(to), hex_a, other);
		CHECK(renameat(spoolfd, from, spoolfd, to) == 0);
		CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 1);
		CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb,
		    &r, &n) == 0);
		CHECK(n == 0 && r.n == 0);
		CHECK(audits == i + 1);
		CHECK(strstr(lastaudit, other) != NULL);
		CHECK(nfiles(hex_a, other) == 1);
		CHECK(renameat(spoolfd, to, spoolfd, from) == 0);
	}
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1);
	CHECK_STR(r.name[0], name);
	rec_free(&r);
}

/*
 * Accounts a and c share a key pair here, so only the account id in
 * the associated data tells their files apart.
 */
static void
test_moved_account(void)
{
	struct rec	 r;
	char		 name[SPOOL_NAME_LEN];
	char		 from[PATH_MAX], to[PATH_MAX];
	unsigned int	 n;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[1],
	    strlen(msgs[1]), name) == 0);
	/* Make c's directory with an append of its own. */
	CHECK(spool_append(spoolfd, id_c, pk_a, secret, msgs[2],
	    strlen(msgs[2]), NULL) == 0);
	path2(from, sizeof(from), hex_a, name);
	path2(to, sizeof(to), hex_c, name);
	CHECK(renameat(spoolfd, from, spoolfd, to) == 0);

	CHECK(spool_import(spoolfd, id_c, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	/* c's own message comes in; a's moved one does not. */
	CHECK(n == 1 && r.n == 1);
	CHECK(r.len[0] == strlen(msgs[2]) &&
	    memcmp(r.data[0], msgs[2], r.len[0]) == 0);
	CHECK(audits == 1);
	CHECK(strstr(lastaudit, hex_c) != NULL);
	CHECK(strstr(lastaudit, name) != NULL);
	CHECK(nfiles(hex_c, name) == 1);

	/* Back home it opens. */
	CHECK(renameat(spoolfd, to, spoolfd, from) == 0);
	rec_free(&r);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1);
	CHECK(memcmp(r.data[0], msgs[1], r.len[0]) == 0);
	rec_free(&r);
}

/* One flipped bit anywhere in the file (magic, key, nonce, body, tag). */
static void
test_flip_every_byte(void)
{
	struct rec	 r;
	unsigned char	*f;
	char		 name[SPOOL_NAME_LEN];
	size_t		 flen, i;
	unsigned int	 n;
	int		 bit;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, "tiny body", 9,
	    name) == 0);
	readall(hex_a, name, &f, &flen);
	CHECK(flen == 9 + SPOOL_OVERHEAD);
	for (i = 0; i < flen; i++) {
		bit = 1 << (i % 8);
		f[i] ^= bit;
		writeall(hex_a, name, f, flen);
		f[i] ^= bit;
		CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb,
		    &r, &n) == 0);
		CHECK(n == 0 && r.n == 0);
		CHECK(audits == (int)i + 1);
	}
	CHECK(nfiles(hex_a, name) == 1);
	writeall(hex_a, name, f, flen);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1 && r.len[0] == 9);
	CHECK(memcmp(r.data[0], "tiny body", 9) == 0);
	free(f);
	rec_free(&r);
}

static void
test_truncated_extended(void)
{
	struct rec	 r;
	unsigned char	*f;
	char		 name[SPOOL_NAME_LEN];
	size_t		 flen, cut;
	unsigned int	 n;
	int		 expect = 0;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
	    strlen(msgs[0]), name) == 0);
	readall(hex_a, name, &f, &flen);
	for (cut = 0; cut < flen; cut++) {
		writeall(hex_a, name, f, cut);
		CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb,
		    &r, &n) == 0);
		CHECK(n == 0 && r.n == 0);
		CHECK(audits == ++expect);
	}
	f[flen] = 0;
	writeall(hex_a, name, f, flen + 1);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 0 && r.n == 0 && audits == ++expect);
	writeall(hex_a, name, f, flen);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1);
	free(f);
	rec_free(&r);
}

static void
test_cb_stops(void)
{
	struct rec	 r;
	char		 names[3][SPOOL_NAME_LEN];
	unsigned int	 n;

	clean();
	rec_init(&r);
	append3(names);
	r.fail_at = 1;
	n = 99;
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == -1);
	CHECK(n == 1 && r.n == 1);
	CHECK_STR(r.name[0], names[0]);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 2);
	CHECK(nfiles(hex_a, names[0]) == 0);
	CHECK(nfiles(hex_a, names[1]) == 1);
	CHECK(nfiles(hex_a, names[2]) == 1);

	/* The next import resumes where it stopped, in order. */
	rec_free(&r);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 2 && r.n == 2);
	CHECK_STR(r.name[0], names[1]);
	CHECK_STR(r.name[1], names[2]);
	CHECK(memcmp(r.data[1], msgs[2], r.len[1]) == 0);
	CHECK(audits == 0);
	rec_free(&r);
}

/*
 * The mailbox of the crash test: one file per committed message, named
 * after the spool name, outside the spool directory.
 */
struct store {
	int	 dirfd;
	int	 crash_at;	/* _exit after committing this call, or -1 */
	int	 calls;
	int	 stored;
	int	 already;
};

static int
store_cb(void *arg, const char *name, const void *data, size_t len)
{
	struct store	*s = arg;
	int		 fd, call;

	if (name == NULL)
		return (0);	/* the commit: each was kept already */
	call = s->calls++;
	if (faccessat(s->dirfd, name, F_OK, 0) == 0) {
		/* Already committed: answer 0 and store nothing. */
		s->already++;
		return (0);
	}
	fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd == -1)
		return (-1);
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		close(fd);
		return (-1);
	}
	close(fd);
	s->stored++;
	if (call == s->crash_at)
		_exit(0);	/* the "crash": committed, not unlinked */
	return (0);
}

static void
test_crash_after_commit(void)
{
	struct store	 s;
	struct stat	 st;
	char		 names[3][SPOOL_NAME_LEN], buf[256];
	unsigned int	 n;
	pid_t		 pid;
	ssize_t		 len;
	int		 status, fd, i;

	clean();
	rm_rf(spoolfd, "store", 0);
	CHECK(mkdirat(spoolfd, "store", 0700) == 0);
	memset(&s, 0, sizeof(s));
	CHECK((s.dirfd = openat(spoolfd, "store", O_RDONLY |
	    O_DIRECTORY)) != -1);
	append3(names);

	s.crash_at = 1;
	fflush(stdout);
	fflush(stderr);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		alarm(20);
		(void)spool_import(spoolfd, id_a, pk_a, sk_a, secret,
		    store_cb, &s, &n);
		_exit(2);	/* should have "crashed" in the callback */
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/*
	 * Two were stored, none removed: a file goes only after the
	 * commit of its batch, which the crash came before.
	 */
	CHECK(nfiles(hex_a, names[0]) == 1);
	CHECK(nfiles(hex_a, names[1]) == 1);
	CHECK(nfiles(hex_a, names[2]) == 1);
	CHECK(nfiles("store", "") == 2);

	s.crash_at = -1;
	s.calls = s.stored = s.already = 0;
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, store_cb, &s,
	    &n) == 0);
	CHECK(n == 3);
	CHECK(s.calls == 3 && s.already == 2 && s.stored == 1);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 0);
	CHECK(nfiles(hex_a, "") == 0);

	/* Each message exactly once, intact. */
	CHECK(nfiles("store", "") == 3);
	for (i = 0; i < 3; i++) {
		CHECK((fd = openat(s.dirfd, names[i], O_RDONLY)) != -1);
		CHECK(fstat(fd, &st) == 0);
		len = read(fd, buf, sizeof(buf));
		close(fd);
		CHECK(len == (ssize_t)strlen(msgs[i]) && len == st.st_size);
		CHECK(memcmp(buf, msgs[i], (size_t)len) == 0);
	}
	close(s.dirfd);
	rm_rf(spoolfd, "store", 0);
}

static int
fail_commit_cb(void *arg, const char *name, const void *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return (name == NULL ? -1 : 0);
}

/* More than a batch: committed every SPOOL_IMPORT_BATCH, then at the end. */
struct batch {
	int	 calls;
	int	 commits;
	int	 since;		/* messages since the last commit */
	int	 most;		/* the most between two commits */
};

static int
batch_cb(void *arg, const char *name, const void *data, size_t len)
{
	struct batch	*b = arg;

	(void)data;
	(void)len;
	if (name == NULL) {
		b->commits++;
		if (b->since > b->most)
			b->most = b->since;
		b->since = 0;
		/* Before the commit, nothing of the batch is gone. */
		return (0);
	}
	b->calls++;
	b->since++;
	return (0);
}

static void
test_batches(void)
{
	struct batch	 b;
	unsigned int	 n;
	int		 i, total = SPOOL_IMPORT_BATCH + 4;

	clean();
	memset(&b, 0, sizeof(b));
	for (i = 0; i < total; i++)
		CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
		    strlen(msgs[0]), NULL) == 0);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, batch_cb, &b,
	    &n) == 0);
	CHECK(n == (unsigned int)total && b.calls == total);
	CHECK(b.commits == 2 && b.most == SPOOL_IMPORT_BATCH);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 0);
	/* A failed commit keeps the whole batch. */
	for (i = 0; i < 3; i++)
		CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
		    strlen(msgs[0]), NULL) == 0);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, fail_commit_cb,
	    NULL, &n) == -1);
	CHECK(n == 0);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 3);
}

/*
 * Interrupted appends are never delivered, never counted, left alone
 * by an import (an append may be under way on another thread), and
 * removed by the sweep at start.
 */
static void
test_stale_tmp(void)
{
	struct rec	 r;
	char		 name[SPOOL_NAME_LEN], keep[SPOOL_NAME_LEN];
	char		 from[PATH_MAX], to[PATH_MAX];
	unsigned int	 n;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
	    strlen(msgs[0]), name) == 0);
	/* A complete, valid seal under a temporary name. */
	path2(from, sizeof(from), hex_a, name);
	snprintf(to, sizeof(to), "%s/.tmp-%s", hex_a, name);
	CHECK(renameat(spoolfd, from, spoolfd, to) == 0);
	writeall(hex_a, ".tmp-0123", "junk", 4);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[1],
	    strlen(msgs[1]), keep) == 0);
	CHECK(nfiles(hex_a, ".tmp-") == 2);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 1);

	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1);
	CHECK_STR(r.name[0], keep);
	CHECK(nfiles(hex_a, ".tmp-") == 2 && nfiles(hex_a, "") == 2);
	CHECK(spool_sweep(spoolfd) == 0);
	CHECK(nfiles(hex_a, "") == 0);
	CHECK(audits == 0);
	rec_free(&r);
}

/*
 * An import in steps, its last look made before another message came
 * (a step on a mailbox worker, an append on the loop): looking again
 * finds it, and a temporary file of an append under way is left alone
 * by any look but the first.
 */
static void
test_import_more(void)
{
	struct spool_importer	*it;
	struct rec		 r;
	char			 first[SPOOL_NAME_LEN], second[SPOOL_NAME_LEN];
	unsigned int		 n;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
	    strlen(msgs[0]), first) == 0);
	CHECK(spool_import_start(spoolfd, id_a, pk_a, sk_a, secret, rec_cb,
	    &r, &it) == 0 && it != NULL);
	CHECK(spool_import_step(it, 64) == 0);
	CHECK(r.n == 1);
	CHECK(spool_import_more(it) == 0);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[1],
	    strlen(msgs[1]), second) == 0);
	writeall(hex_a, ".tmp-0123", "junk", 4);
	CHECK(spool_import_more(it) == 1);
	CHECK(spool_import_step(it, 64) == 0);
	CHECK(spool_import_more(it) == 0);
	CHECK(nfiles(hex_a, ".tmp-") == 1);
	CHECK(spool_import_end(it, &n) == 0);
	CHECK(n == 2 && r.n == 2);
	CHECK_STR(r.name[0], first);
	CHECK_STR(r.name[1], second);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 0);
	rec_free(&r);
}

static void
test_no_plaintext(void)
{
	struct rec	 r;
	struct stat	 st;
	unsigned char	*msg, *f;
	char		 name[SPOOL_NAME_LEN], p[PATH_MAX];
	size_t		 mlen, flen, i;
	unsigned int	 n;

	clean();
	rec_init(&r);
	mlen = 20 * strlen(MARKER);
	CHECK((msg = malloc(mlen)) != NULL);
	for (i = 0; i < 20; i++)
		memcpy(msg + i * strlen(MARKER), MARKER, strlen(MARKER));
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msg, mlen,
	    name) == 0);
	readall(hex_a, name, &f, &flen);
	CHECK(flen == mlen + SPOOL_OVERHEAD);
	CHECK(memcmp(f, SPOOL_MAGIC, 4) == 0);
	CHECK(memmem(f, flen, MARKER, strlen(MARKER)) == NULL);
	CHECK(memmem(f, flen, "MARKER", 6) == NULL);
	CHECK(memmem(f, flen, secret, sizeof(secret)) == NULL);
	CHECK(memmem(f, flen, sk_a, sizeof(sk_a)) == NULL);
	path2(p, sizeof(p), hex_a, name);
	CHECK(fstatat(spoolfd, p, &st, 0) == 0);
	CHECK((st.st_mode & 07777) == 0600);
	free(f);

	/* Two appends of the same message differ entirely. */
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msg, mlen,
	    NULL) == 0);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 2 && r.len[0] == mlen && r.len[1] == mlen);
	CHECK(memcmp(r.data[0], msg, mlen) == 0);
	CHECK(memcmp(r.data[1], msg, mlen) == 0);
	free(msg);
	rec_free(&r);
}

/* A directory, a FIFO and a symlink under valid names: skipped. */
static void
test_not_files(void)
{
	struct rec	 r;
	char		 name[SPOOL_NAME_LEN], p[PATH_MAX];
	unsigned int	 n;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[2],
	    strlen(msgs[2]), name) == 0);
	path2(p, sizeof(p), hex_a, "00000000000000000000000000000001");
	CHECK(mkdirat(spoolfd, p, 0700) == 0);
	path2(p, sizeof(p), hex_a, "00000000000000000000000000000002");
	CHECK(mkfifoat(spoolfd, p, 0600) == 0);
	path2(p, sizeof(p), hex_a, "00000000000000000000000000000003");
	CHECK(symlinkat(name, spoolfd, p) == 0);

	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1);
	CHECK_STR(r.name[0], name);
	CHECK(audits == 3);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 3);
	/* destroy removes them all, the empty directory included. */
	CHECK(spool_destroy(spoolfd, id_a) == 0);
	CHECK(nfiles(hex_a, "") == -1);
	rec_free(&r);
}

static void
test_bad_names(void)
{
	struct rec	 r;
	char		 name[SPOOL_NAME_LEN], upper[SPOOL_NAME_LEN];
	unsigned int	 n;
	size_t		 i;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
	    strlen(msgs[0]), name) == 0);
	writeall(hex_a, "README", "hello", 5);
	writeall(hex_a, "0123456789abcdef0123456789abcdef0", "x", 1);
	writeall(hex_a, "0123456789abcdef0123456789abcde", "x", 1);
	memcpy(upper, name, sizeof(upper));
	for (i = 0; i < sizeof(upper) - 1; i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] -= 'a' - 'A';
	if (strcmp(upper, name) == 0)
		upper[0] = 'A';
	writeall(hex_a, upper, "x", 1);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 1);
	warnings = 0;
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1);
	CHECK(warnings == 4);
	CHECK(audits == 0);
	CHECK(nfiles(hex_a, "") == 4);
	CHECK(spool_destroy(spoolfd, id_a) == 0);
	CHECK(nfiles(hex_a, "") == -1);
	rec_free(&r);
}

static void
test_large(void)
{
	struct rec	 r;
	unsigned char	*msg;
	unsigned int	 n;
	size_t		 mlen = 3 * 1024 * 1024 + 17;

	clean();
	rec_init(&r);
	CHECK((msg = malloc(mlen)) != NULL);
	randombytes_buf(msg, mlen);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msg, mlen,
	    NULL) == 0);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1 && r.len[0] == mlen);
	CHECK(memcmp(r.data[0], msg, mlen) == 0);
	free(msg);
	rec_free(&r);
}

static void
test_destroy(void)
{
	struct rec	 r;
	char		 names[3][SPOOL_NAME_LEN];
	unsigned int	 n;

	clean();
	rec_init(&r);
	append3(names);
	writeall(hex_a, ".tmp-00", "x", 1);
	writeall(hex_a, "stray", "x", 1);
	CHECK(spool_append(spoolfd, id_b, pk_b, secret, msgs[0],
	    strlen(msgs[0]), NULL) == 0);

	CHECK(spool_destroy(spoolfd, id_a) == 0);
	CHECK(nfiles(hex_a, "") == -1);
	CHECK(faccessat(spoolfd, hex_a, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 0);
	CHECK(spool_import(spoolfd, id_a, pk_a, sk_a, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 0 && r.n == 0);
	/* Twice is fine. */
	CHECK(spool_destroy(spoolfd, id_a) == 0);

	/* b is untouched. */
	CHECK(spool_count(spoolfd, id_b, &n) == 0 && n == 1);
	CHECK(spool_import(spoolfd, id_b, pk_b, sk_b, secret, rec_cb, &r,
	    &n) == 0);
	CHECK(n == 1 && r.n == 1);
	rec_free(&r);
}

/*
 * A step whose window is used up goes on with what came since, in the
 * same transaction, up to its max; stopped at max at the end of a
 * window, it says whether more came.
 */
static void
test_step_goes_on(void)
{
	struct spool_importer	*it;
	struct rec		 r;
	char			 names[4][SPOOL_NAME_LEN];
	unsigned int		 n;
	int			 i;

	clean();
	rec_init(&r);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
	    strlen(msgs[0]), names[0]) == 0);
	CHECK(spool_import_start(spoolfd, id_a, pk_a, sk_a, secret, rec_cb,
	    &r, &it) == 0 && it != NULL);
	for (i = 1; i < 3; i++)
		CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[i],
		    strlen(msgs[i]), names[i]) == 0);
	/* The window held one name; the step takes all three at once. */
	CHECK(spool_import_step(it, 64) == 0);
	CHECK(r.n == 3 && r.commits == 1);
	/* One that came after the last look: the next step finds it. */
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[0],
	    strlen(msgs[0]), names[3]) == 0);
	CHECK(spool_import_step(it, 1) == 0);
	CHECK(r.n == 4 && r.commits == 2);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[1],
	    strlen(msgs[1]), names[0]) == 0);
	CHECK(spool_append(spoolfd, id_a, pk_a, secret, msgs[2],
	    strlen(msgs[2]), names[1]) == 0);
	CHECK(spool_import_step(it, 1) == 1);
	CHECK(r.n == 5 && r.commits == 3);
	CHECK(spool_import_step(it, 1) == 0);
	CHECK(r.n == 6 && r.commits == 4);
	CHECK_STR(r.name[4], names[0]);
	CHECK_STR(r.name[5], names[1]);
	CHECK(spool_import_end(it, &n) == 0 && n == 6);
	CHECK(spool_count(spoolfd, id_a, &n) == 0 && n == 0);
	rec_free(&r);
}

int
main(void)
{
	char	*d;

	log_init(0, LOG_MAIL);
	log_set_forward(capture);
	if (sodium_init() == -1) {
		fprintf(stderr, "sodium_init failed\n");
		return (1);
	}
	if (strlcpy(tdir, "/tmp/spool_test.XXXXXX", sizeof(tdir)) >=
	    sizeof(tdir) || (d = mkdtemp(tdir)) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	if ((spoolfd = open(tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		perror(tdir);
		return (1);
	}
	randombytes_buf(id_a, sizeof(id_a));
	randombytes_buf(id_b, sizeof(id_b));
	randombytes_buf(id_c, sizeof(id_c));
	randombytes_buf(secret, sizeof(secret));
	randombytes_buf(secret2, sizeof(secret2));
	if (crypto_box_keypair(pk_a, sk_a) != 0 ||
	    crypto_box_keypair(pk_b, sk_b) != 0)
		return (1);
	sodium_bin2hex(hex_a, sizeof(hex_a), id_a, sizeof(id_a));
	sodium_bin2hex(hex_b, sizeof(hex_b), id_b, sizeof(id_b));
	sodium_bin2hex(hex_c, sizeof(hex_c), id_c, sizeof(id_c));

	RUN(test_append_import_order);
	RUN(test_no_spool);
	RUN(test_append_refused);
	RUN(test_wrong_keys);
	RUN(test_renamed);
	RUN(test_moved_account);
	RUN(test_flip_every_byte);
	RUN(test_truncated_extended);
	RUN(test_cb_stops);
	RUN(test_crash_after_commit);
	RUN(test_batches);
	RUN(test_stale_tmp);
	RUN(test_import_more);
	RUN(test_no_plaintext);
	RUN(test_not_files);
	RUN(test_bad_names);
	RUN(test_large);
	RUN(test_destroy);
	RUN(test_step_goes_on);

	clean();
	rm_rf(spoolfd, "store", 0);
	close(spoolfd);
	if (rmdir(tdir) == -1)
		perror(tdir);
	TEST_EXIT();
}
