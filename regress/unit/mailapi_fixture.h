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
 * What the mailbox API tests (mailapi_*_test.c) share: a real vault
 * (directory, two accounts, encrypted mailboxes) in a mkdtemp directory,
 * set up by test_setup() and taken down by test_cleanup(), the front's
 * end of a socketpair to vaultd's mailapi_request(), and the helpers
 * that compose requests and read their results.
 */

#ifndef MAILAPI_FIXTURE_H
#define MAILAPI_FIXTURE_H

#include <sys/types.h>
#include <sys/resource.h>

#include <stdint.h>

#include "mbox_stream.h"
#include "vaultd.h"

#define PW_ALICE	"alice's long password"
#define PW_BOB		"bob's long password"
#define ALICE		"alice@test.example"
#define BOB		"bob@test.example"
#define ALL_SEALS	(F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | \
			    F_SEAL_SEAL)
#define RESULT_MAX	(16 * 1024 * 1024)
#define BODYSTRUCTURE	"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 20 1)"

/*
 * A request as the tests write it: flat, every argument in its own
 * field, so that call() can send any combination, right or wrong, as
 * the typed request of its operation.
 */
struct treq {
	uint32_t	 session;
	uint32_t	 op;
	uint32_t	 flags;		/* fetch how, store/append flags,
					 * subscribe on */
	uint32_t	 special;
	uint32_t	 store_op;
	uint32_t	 nranges;
	uint32_t	 count;		/* append: entries, 0 for 1 */
	uint64_t	 modseq;	/* changedsince, unchangedsince,
					 * since */
	char		 folder[MBOX_NAME_MAX];
	char		 folder2[MBOX_NAME_MAX];
	char		 keywords[MBOX_KWLIST_MAX];
	/* One more than a request may carry: the tests send that too. */
	struct mbox_range ranges[MBOX_RANGES_MAX + 1];
};

struct tsearch {
	uint32_t		 session;
	char			 folder[MBOX_NAME_MAX];
	struct search_program	 program;
};

/* The messages appended, by INBOX uid (1-based). */

extern char		 tmpdir[];
extern struct imsgev	 admin_iev;
extern struct imsgbuf	 admin_peer;
extern struct imsgev	 vault_iev;	/* vaultd's end of the channel */
extern struct imsgbuf	 front;		/* the front's end */
extern struct vault_account *alice;
extern uint32_t		 sid;		/* alice, imapd */
extern uint32_t		 sid_bob;	/* bob, imapd */
extern uint32_t		 sid_smtpd;	/* alice, but smtpd's */
extern uint32_t		 next_reqid;
extern struct rlimit	 saved_nofile;
extern const char *const subjects[];
extern char		 raws[4][256];
extern char		 envelopes[4][128];

void	 noop_handler(struct imsgev *, struct imsg *);
extern char		 admin_lines[];
int	 admin(uint32_t, const char *, const char *, const char *);
void	 admin_fill(struct msg_admin *, uint32_t, const char *, const char *,
	    const char *, const char *);
int	 admin2(uint32_t, const char *, const char *, const char *,
		    const char *);
int	 login_full(const char *, const char *, const char *, const char *,
		    struct vault_account **);
int	 bundle_fd(int);
int	 append_fd(int, uint32_t, const char *);
void	 req(struct treq *, uint32_t, const char *);
size_t	 wire(unsigned char *, uint32_t, uint32_t, const void *,
		    size_t, const struct mbox_range *, uint32_t,
		    const struct search_program *, const char *,
		    const char *, const char *);
void	 vault_pump(int);
int	 next_result(uint32_t, struct msg_mbox_result *);
int	 call_raw(uint32_t, const void *, size_t, int, int,
		    struct msg_mbox_result *);
size_t	 treq_wire(const struct treq *, unsigned char *);
int	 call(struct treq *, int, struct msg_mbox_result *);
int	 call_status(struct treq *, int);
void	*result_buf(int, size_t *);
int	 status_of_folder(const char *, struct mbox_folder *);
void	 check_counter(void);
int	 deliver_bundle(const char *, int);
void	 loop_tick(int, short, void *);
void	 wait_flag(const int *);
void	 wait_count(const size_t *, size_t);
void	 test_setup(void);
void	 test_cleanup(void);
int	 rm_cb(const char *, const struct stat *, int, struct FTW *);

void	 mailapi_fixture_setup(void);
void	 mailapi_fixture_teardown(void);

#endif /* MAILAPI_FIXTURE_H */
