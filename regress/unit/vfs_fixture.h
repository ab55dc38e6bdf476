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
 * What the encrypting VFS tests (vfs_*_test.c) share: a mkdtemp
 * directory with two keys and database ids, the authentication-failure
 * hook's record, files read, written and patched byte by byte, SQL run
 * and queried, WAL checksums, and children to crash.
 */

#ifndef VFS_FIXTURE_H
#define VFS_FIXTURE_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

#include <sqlite3.h>

#include "../../vaultd/vault_vfs.h"

#define PAGE		4096
#define FRAME		4120
#define WALHDR		32
#define MAXHOOK		64
#define WAIT_MS		20000

/* Child -> parent messages besides acknowledgements (> 0). */
#define MSG_BIGTXN	(-1)
#define MSG_CKPT	(-2)
#define MSG_CKPTDONE	(-3)

extern char		 tdir[PATH_MAX];
extern unsigned char	 key1[VFS_KEYLEN], key2[VFS_KEYLEN];
extern unsigned char	 dbid1[VFS_DBIDLEN], dbid2[VFS_DBIDLEN];
extern int		 hook_n;
extern long long	 hook_pgno[MAXHOOK];
extern char		 hook_kind[MAXHOOK][16];
extern char		 hook_path[PATH_MAX];

void	 sfmt(char *, size_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
void	 hook(const char *, long long, const char *);
void	 hook_reset(void);
int	 hook_saw(const char *, long long);
const char *P(const char *);
void	 rm_db(const char *);
void	 rm_tree(const char *);
off_t	 fsize(const char *);
unsigned char *slurp(const char *, size_t *);
void	 spit(const char *, const unsigned char *, size_t);
void	 cp(const char *, const char *);
void	 patch(const char *, off_t, const unsigned char *, size_t);
void	 peek(const char *, off_t, unsigned char *, size_t);
void	 flip(const char *, off_t);
int	 file_has(const char *, const char *);
int	 dir_has(const char *, const char *);
int	 ex(sqlite3 *, const char *);
sqlite3_int64 qint(sqlite3 *, const char *, int *);
int	 qok(sqlite3 *, const char *);
char	*qtext(sqlite3 *, const char *);
sqlite3	*open1(const char *);
sqlite3	*open1_shared(const char *);
int	 open_rc(const char *, const unsigned char *,
		    const unsigned char *);
void	 fill_rows(sqlite3 *, int, int, const char *);
uint32_t	 be32(const unsigned char *);

void	 vfs_fixture_setup(void);
void	 vfs_fixture_teardown(void);

#endif /* VFS_FIXTURE_H */
