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
 * What the mailbox store tests (mbox_*_test.c) share: messages to add,
 * collectors for the callbacks, search programs, and a mkdtemp
 * directory with two keys in which each test opens its databases.
 */

#ifndef MBOX_FIXTURE_H
#define MBOX_FIXTURE_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

#include "search.h"
#include "../../vaultd/vault_mbox.h"
#include "../../vaultd/vault_vfs.h"

#define STAR		UINT32_MAX
#define DAY		86400
#define BASEDATE	1704067200	/* 2024-01-01 00:00:00 UTC */
#define GOT_MAX		64
#define BIGLEN		(3 * 1024 * 1024 + 17)

struct tmsg {
	struct bundle	 b;
	char		 raw[4096];
	char		 env[512];
	char		 hdr[2048];
};

struct got {
	int		 n;
	int		 stopafter;
	uint32_t	 uid[GOT_MAX];
	uint32_t	 seq[GOT_MAX];
	uint32_t	 flags[GOT_MAX];
	uint64_t	 modseq[GOT_MAX];
	int64_t		 idate[GOT_MAX];
	uint64_t	 size[GOT_MAX];
	char		 kw[GOT_MAX][256];
	char		 env[GOT_MAX][128];
	int		 meta[GOT_MAX];
};

struct uids {
	int		 n;
	uint32_t	 v[GOT_MAX * 2];
};

struct flist {
	int			 n;
	struct mbox_folder	 f[16];
};

/* What mbox_bodies() gave, checked piece by piece as it came. */
#define BODIES_MAX	16
struct bodies {
	int		 n;
	int		 calls;
	int		 stopcall;	/* stop at this call (1-based), or 0 */
	int		 bad;		/* a piece out of order */
	uint32_t	 uid[BODIES_MAX];
	uint64_t	 size[BODIES_MAX];
	unsigned char	*data[BODIES_MAX];
	uint64_t	 got;		/* bytes of the current message */
};

struct drain {
	int		 fd;
	unsigned char	*buf;
	size_t		 cap;
	size_t		 len;
	int		 err;
};

extern char			 tdir[PATH_MAX];
extern unsigned char		 key1[VFS_KEYLEN], key2[VFS_KEYLEN];
extern unsigned char		 dbid1[VFS_DBIDLEN], dbid2[VFS_DBIDLEN];
extern struct search_program	 prog;
extern char			 outbuf[4096];
extern int			 authfails;
extern const char		 mbox_v3_sql[];

void	 quiet_hook(const char *, long long, const char *);
void	 dbpath(char *, size_t, const char *);
void	 tpath(char *, size_t, const char *);
struct mbox *mopen(const char *);
void	 tmsg_init(struct tmsg *, const char *, const char *,
		    const char *, const char *, const char *, const char *,
		    const char *, int64_t, int64_t);
uint32_t	 add(struct mbox *, const char *, struct tmsg *, uint32_t,
		    const char *);
uint32_t	 addsimple(struct mbox *, const char *, const char *);
int	 got_msg(void *, const struct mbox_msg *);
int	 got_uid(void *, uint32_t);
const char *fmt_got(const struct got *);
const char *fmt_uids(const struct uids *);
const char *fetchs(struct mbox *, const char *, uint32_t, uint32_t,
		    int);
void	 pr_reset(void);
void	 pr_op(uint32_t, uint64_t, uint64_t, const char *,
		    const char *);
const char *srch(struct mbox *, const char *);
const char *s1(struct mbox *, uint32_t, const char *);
struct mbox_folder *fget(struct mbox *, const char *);
void	 rm_tree(const char *);

void	 mbox_fixture_setup(void);
void	 mbox_fixture_teardown(void);

#endif /* MBOX_FIXTURE_H */
