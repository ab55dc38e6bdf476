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
 * directory.db: domains, accounts, aliases and keyslots.  It is
 * encrypted like every database (vault_vfs.c) under a subkey of
 * vault.key; it holds no secret in clear: the account keys in it are
 * wrapped by the accounts' credentials.
 */

#ifndef VAULT_DIR_H
#define VAULT_DIR_H

#include <stdint.h>

#include "vault_keys.h"

#define ADDRESS_MAX		320	/* local@domain, with NUL */
#define LABEL_MAX		64	/* an app password's label */
#define SLOTS_MAX		32	/* keyslots per account */
#define DIR_STATE_LEN		32	/* a mailbox's page-state digest */

#define DIR_OK			0
#define DIR_ENOTFOUND		1
#define DIR_EEXISTS		2
#define DIR_EINVAL		3
#define DIR_EIO			4
#define DIR_EBUSY		5	/* e.g. a domain still has accounts */
#define DIR_EDENIED		6	/* credential did not unwrap */

enum slot_kind {
	SLOT_PASSWORD,
	SLOT_APP,
	SLOT_RECOVERY
};

struct dir_account {
	unsigned char	 id[ACCOUNT_ID_LEN];
	char		 address[ADDRESS_MAX];
	unsigned char	 box_pk[crypto_box_PUBLICKEYBYTES];
	uint64_t	 counter;	/* last commit counter of its mailbox */
	unsigned char	 pagestate[DIR_STATE_LEN];
	int		 has_pagestate;	/* recorded with the counter */
	int64_t		 created;
};

struct dir_slot {
	uint64_t	 slot_id;
	enum slot_kind	 kind;
	char		 label[LABEL_MAX];
	uint8_t		 selector;	/* app passwords only */
	int64_t		 created;
	struct keyslot	 ks;
};

/* What an address leads to (RCPT TO). */
#define RESOLVE_NONE		0	/* not ours, or no such address */
#define RESOLVE_LOCAL		1	/* an account: its address is set */
#define RESOLVE_EXTERNAL	2	/* alias to a remote address */

typedef int (*dir_name_cb)(void *, const char *, const char *);

int	 dir_open(const char *, const unsigned char *);
void	 dir_close(void);
int	 dir_checkpoint(void);
int	 dir_address_valid(const char *, char *, size_t);

int	 dir_domain_add(const char *);
int	 dir_domain_del(const char *);
int	 dir_domain_list(dir_name_cb, void *);
int	 dir_domain_exists(const char *);

int	 dir_account_add(const char *, const unsigned char *,
	    const unsigned char *, const struct dir_slot *,
	    const struct dir_slot *);
int	 dir_account_get(const char *, struct dir_account *);
int	 dir_account_del(const char *, unsigned char *);
int	 dir_account_list(dir_name_cb, void *);
int	 dir_counter_set(const unsigned char *, uint64_t,
	    const unsigned char *);

int	 dir_slot_reserve(const unsigned char *, uint64_t *);
int	 dir_slot_add(const unsigned char *, const struct dir_slot *);
int	 dir_slot_replace(const unsigned char *, const struct dir_slot *);
int	 dir_slot_del(const unsigned char *, enum slot_kind, const char *);
int	 dir_slots(const unsigned char *, struct dir_slot *, size_t,
	    size_t *);

int	 dir_alias_add(const char *, const char *);
int	 dir_alias_del(const char *);
int	 dir_alias_list(dir_name_cb, void *);
int	 dir_resolve(const char *, char *, size_t);

#endif /* VAULT_DIR_H */
