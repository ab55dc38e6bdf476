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
 * SQLite's memory, wiped on free.
 *
 * The VFS decrypts every page into SQLite's page cache, and SQLite
 * copies rows into statement and result buffers: all of it is an
 * account's plaintext mail.  SQLite frees those blocks with free(3),
 * which leaves their contents in the heap long after the account is
 * locked (issue 14).  So vaultd hands SQLite these methods before any
 * other SQLite call: each block carries its size in a header, and is
 * wiped with explicit_bzero(3) when SQLite frees it, and when a realloc
 * moves it.  The header is 16 bytes so the block stays aligned for any
 * type, as malloc(3)'s is.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vault_sqlmem.h"

#define SQLMEM_HDR	16

static void *
sqlmem_malloc(int n)
{
	unsigned char	*p;

	if (n <= 0)
		return (NULL);
	if ((p = malloc(SQLMEM_HDR + (size_t)n)) == NULL)
		return (NULL);
	memcpy(p, &n, sizeof(n));
	return (p + SQLMEM_HDR);
}

static int
sqlmem_size(void *v)
{
	int	 n;

	if (v == NULL)
		return (0);
	memcpy(&n, (unsigned char *)v - SQLMEM_HDR, sizeof(n));
	return (n);
}

static void
sqlmem_free(void *v)
{
	unsigned char	*p;

	if (v == NULL)
		return;
	p = (unsigned char *)v - SQLMEM_HDR;
	explicit_bzero(p, SQLMEM_HDR + (size_t)sqlmem_size(v));
	free(p);
}

/* Never realloc(3): it would leave the old block unwiped. */
static void *
sqlmem_realloc(void *v, int n)
{
	void	*nv;
	int	 old;

	if ((nv = sqlmem_malloc(n)) == NULL)
		return (NULL);
	if (v != NULL) {
		old = sqlmem_size(v);
		memcpy(nv, v, (size_t)(old < n ? old : n));
		sqlmem_free(v);
	}
	return (nv);
}

static int
sqlmem_roundup(int n)
{
	if (n > INT32_MAX - 7)
		return (n);
	return ((n + 7) & ~7);
}

static int
sqlmem_xinit(void *arg)
{
	(void)arg;
	return (SQLITE_OK);
}

static void
sqlmem_xshutdown(void *arg)
{
	(void)arg;
}

static const sqlite3_mem_methods sqlmem_methods = {
	sqlmem_malloc,
	sqlmem_free,
	sqlmem_realloc,
	sqlmem_size,
	sqlmem_roundup,
	sqlmem_xinit,
	sqlmem_xshutdown,
	NULL
};

int
sqlmem_init(void)
{
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &sqlmem_methods) !=
	    SQLITE_OK)
		return (-1);
	return (0);
}
