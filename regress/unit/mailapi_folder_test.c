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
 * vaultd's mailbox API (mailapi_request()) for folders and sessions, as
 * a front sees it over a real socketpair against a real vault: LIST,
 * CREATE/SUBSCRIBE/RENAME/DELETE, foreign and ended sessions, and the
 * notices sent to the fronts.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "mbox_stream.h"
#include "vault_vfs.h"
#include "vault_work.h"
#include "vaultd.h"
#include "mailapi_fixture.h"
#include "test.h"

TEST_GLOBALS;

static struct imsgev	 smtpd_iev;	/* a second front: notices only */
static struct imsgbuf	 smtpd_front;
static size_t	 collect(struct imsgbuf *, uint32_t, uint32_t *, size_t,
		    struct msg_mbox_result *);
static int	 call_notified(struct treq *, uint32_t, int,
		    uint32_t *, size_t *, uint32_t *, size_t *);
static int	 same2(const uint32_t *, size_t, uint32_t, uint32_t);
static void	 test_list(void);
static void	 test_folders(void);
static void	 test_sessions(void);
static void	 test_queue_bound(void);
static void	 test_notify(void);
static void	 test_index_busy(void);

/* A new mailbox: the six default folders, with their special use. */
static void
test_list(void)
{
	static const struct {
		const char	*name;
		uint32_t	 special;
	} want[] = {
		{ "INBOX", SPECIAL_INBOX }, { "Drafts", SPECIAL_DRAFTS },
		{ "Sent", SPECIAL_SENT }, { "Junk", SPECIAL_JUNK },
		{ "Trash", SPECIAL_TRASH }, { "Archive", SPECIAL_ARCHIVE },
	};
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_stream_r		 r;
	struct mbox_folder	 f;
	void				*buf;
	size_t				 len, i;
	unsigned int			 seen = 0, n = 0;
	int				 fd, rc;

	req(&q, MBOX_OP_LIST, "");
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK);
	CHECK(res.count == nitems(want));
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	while ((rc = mbox_stream_next_folder(&r, &f)) == 1) {
		n++;
		for (i = 0; i < nitems(want); i++)
			if (strcmp(f.name, want[i].name) == 0)
				break;
		CHECK(i < nitems(want));
		CHECK(f.info.special == want[i].special);
		CHECK(f.info.subscribed == 1);
		CHECK(f.info.uidvalidity != 0 && f.info.uidnext == 1);
		CHECK(f.info.exists == 0 && f.info.size == 0);
		seen |= 1U << i;
	}
	CHECK(rc == 0);
	CHECK(n == res.count && seen == (1U << nitems(want)) - 1);
	mbox_stream_free(buf, len);
}

static void
test_folders(void)
{
	struct treq		 q;
	struct mbox_folder	 f;
	uint32_t			 uidvalidity;

	req(&q, MBOX_OP_CREATE, "Work/Projects");
	CHECK(call_status(&q, -1) == MBOX_OK);
	check_counter();
	CHECK(call_status(&q, -1) == MBOX_EEXISTS);
	req(&q, MBOX_OP_CREATE, "bad//name");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_CREATE, "");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_CREATE, "Another");
	q.special = SPECIAL_INBOX;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	CHECK(status_of_folder("Work/Projects", &f) == MBOX_OK);
	CHECK_STR(f.name, "Work/Projects");
	CHECK(f.info.subscribed == 0 && f.info.exists == 0);
	uidvalidity = f.info.uidvalidity;
	CHECK(status_of_folder("Work", &f) == MBOX_OK);
	CHECK(status_of_folder("Nope", &f) == MBOX_ENOTFOUND);

	req(&q, MBOX_OP_SUBSCRIBE, "Work/Projects");
	q.flags = 1;
	CHECK(call_status(&q, -1) == MBOX_OK);
	check_counter();
	CHECK(status_of_folder("Work/Projects", &f) == MBOX_OK);
	CHECK(f.info.subscribed == 1);
	req(&q, MBOX_OP_SUBSCRIBE, "Nope");
	q.flags = 1;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);

	req(&q, MBOX_OP_RENAME, "Work/Projects");
	strlcpy(q.folder2, "Work/Done", sizeof(q.folder2));
	CHECK(call_status(&q, -1) == MBOX_OK);
	check_counter();
	CHECK(status_of_folder("Work/Projects", &f) == MBOX_ENOTFOUND);
	CHECK(status_of_folder("Work/Done", &f) == MBOX_OK);
	CHECK(f.info.uidvalidity == uidvalidity);
	req(&q, MBOX_OP_RENAME, "Work/Done");
	strlcpy(q.folder2, "Archive", sizeof(q.folder2));
	CHECK(call_status(&q, -1) == MBOX_EEXISTS);
	req(&q, MBOX_OP_RENAME, "Nope");
	strlcpy(q.folder2, "Nope2", sizeof(q.folder2));
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);

	req(&q, MBOX_OP_DELETE, "Work/Done");
	CHECK(call_status(&q, -1) == MBOX_OK);
	check_counter();
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	req(&q, MBOX_OP_DELETE, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_DELETE, "inbox");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_DELETE, "Work");
	CHECK(call_status(&q, -1) == MBOX_OK);
	CHECK(status_of_folder("Work", &f) == MBOX_ENOTFOUND);
	check_counter();
}

/*
 * An account's waiting requests are bounded: with its strand held,
 * VAULT_ACCOUNT_REQUESTS wait and the next is refused at once
 * (MBOX_ETEMP); when the strand goes on, every waiting one is answered.
 */
static void
test_queue_bound(void)
{
	static unsigned char	 buf[MBOX_REQ_WIRE_MAX + 4096];
	struct msg_mbox_result	 res;
	struct treq		 q;
	size_t			 len;
	uint32_t		 first = next_reqid;
	int			 i, fd;

	req(&q, MBOX_OP_USAGE, "");
	len = treq_wire(&q, buf);
	work_pause(&alice->strand);
	for (i = 0; i < VAULT_ACCOUNT_REQUESTS; i++) {
		CHECK(imsg_compose(&front, IMSG_MBOX_REQUEST, next_reqid++, 0,
		    -1, buf, len) == 0);
		CHECK(imsgbuf_flush(&front) == 0);
		vault_pump(1);
	}
	CHECK(alice->nrequests == VAULT_ACCOUNT_REQUESTS);
	CHECK(call_status(&q, -1) == MBOX_ETEMP);
	work_resume(&alice->strand);
	/* Without workers the jobs ran in work_resume(): their answers. */
	CHECK(imsgbuf_flush(&vault_iev.ibuf) == 0);
	for (i = 0; i < VAULT_ACCOUNT_REQUESTS; i++) {
		if ((fd = next_result(first + i, &res)) != -1)
			close(fd);
		CHECK(res.status == MBOX_OK);
	}
	CHECK(alice->nrequests == 0);
	CHECK(call_status(&q, -1) == MBOX_OK);
}

static void
test_sessions(void)
{
	struct treq		 q;
	struct mbox_folder	 f;
	uint32_t			 s;

	req(&q, MBOX_OP_USAGE, "");
	q.session = 9999;
	CHECK(call_status(&q, -1) == MBOX_ESESSION);
	q.session = 0;
	CHECK(call_status(&q, -1) == MBOX_ESESSION);
	q.session = UINT32_MAX;
	CHECK(call_status(&q, -1) == MBOX_ESESSION);
	/* Alice's session, but smtpd's: not for this channel. */
	req(&q, MBOX_OP_LIST, "");
	q.session = sid_smtpd;
	CHECK(call_status(&q, -1) == MBOX_ESESSION);
	/* An APPEND that is refused still has its fd closed. */
	req(&q, MBOX_OP_APPEND, "INBOX");
	q.session = sid_smtpd;
	CHECK(call_status(&q, append_fd(bundle_fd(1), 0, NULL)) ==
	    MBOX_ESESSION);

	/* Bob's session sees Bob's mailbox only. */
	req(&q, MBOX_OP_CREATE, "BobOnly");
	q.session = sid_bob;
	CHECK(call_status(&q, -1) == MBOX_OK);
	CHECK(status_of_folder("BobOnly", &f) == MBOX_ENOTFOUND);

	/* A session that ended is gone. */
	CHECK((s = session_new(ROLE_IMAPD, alice)) != 0);
	req(&q, MBOX_OP_USAGE, "");
	q.session = s;
	CHECK(call_status(&q, -1) == MBOX_OK);
	session_end(s, ROLE_IMAPD);
	CHECK(call_status(&q, -1) == MBOX_ESESSION);
}

/*
 * Read everything vaultd has sent on one front's channel: the sessions
 * of the notices, in order, into sids; and, when reqid is not 0, the
 * one result with that peer id, which must come last.
 */
static size_t
collect(struct imsgbuf *ib, uint32_t reqid, uint32_t *sids, size_t max,
    struct msg_mbox_result *res)
{
	struct msg_session	 ms;
	struct imsg		 imsg;
	ssize_t			 n;
	size_t			 nsids = 0;
	int			 results = 0, fd;

	for (;;) {
		n = imsgbuf_read(ib);
		if (n == -1 && errno == EAGAIN)
			break;
		CHECK(n > 0);
	}
	while ((n = imsg_get(ib, &imsg)) > 0) {
		CHECK(msg_check(&imsg) == 0);
		CHECK(results == 0);
		fd = imsg_get_fd(&imsg);
		if (imsg.hdr.type == IMSG_MBOX_NOTIFY) {
			CHECK(imsg.hdr.peerid == 0 && fd == -1);
			CHECK(imsg_get_data(&imsg, &ms, sizeof(ms)) == 0);
			CHECK(nsids < max);
			sids[nsids++] = ms.session;
		} else {
			CHECK(reqid != 0);
			CHECK(imsg.hdr.type == IMSG_MBOX_RESULT);
			CHECK(imsg.hdr.peerid == reqid);
			CHECK(imsg_get_data(&imsg, res, sizeof(*res)) == 0);
			if (fd != -1)
				close(fd);
			results++;
		}
		imsg_free(&imsg);
	}
	CHECK(n == 0);
	CHECK(results == (reqid != 0 ? 1 : 0));
	return (nsids);
}

/*
 * One request, answered; then what each front got: the notices on the
 * imapd channel (the result's too) and on the smtpd one.  The status.
 */
static int
call_notified(struct treq *q, uint32_t session, int fd,
    uint32_t *imap, size_t *nimap, uint32_t *smtp, size_t *nsmtp)
{
	static unsigned char	 buf[MBOX_REQ_WIRE_MAX + 4096];
	struct msg_mbox_result	 res;
	uint32_t		 reqid = next_reqid++;
	size_t			 len;

	q->session = session;
	len = treq_wire(q, buf);
	CHECK(imsg_compose(&front, IMSG_MBOX_REQUEST, reqid, 0, fd, buf,
	    len) == 0);
	CHECK(imsgbuf_flush(&front) == 0);
	vault_pump(1);
	CHECK(imsgbuf_flush(&smtpd_iev.ibuf) == 0);
	*nimap = collect(&front, reqid, imap, 8, &res);
	*nsmtp = collect(&smtpd_front, 0, smtp, 8, NULL);
	return (res.status);
}

/* Exactly the sessions a and b, in either order. */
static int
same2(const uint32_t *v, size_t n, uint32_t a, uint32_t b)
{
	return (n == 2 && ((v[0] == a && v[1] == b) ||
	    (v[0] == b && v[1] == a)));
}

/*
 * Every committed write tells every session of the account, through
 * the front that holds it; reads, writes that change nothing and other
 * accounts' writes tell nobody.
 */
static void
test_notify(void)
{
	struct treq	 q;
	uint32_t		 imap[8], smtp[8], sid2;
	size_t			 nimap, nsmtp;
	int			 sp[2];

	CHECK((sid2 = session_new(ROLE_IMAPD, alice)) != 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == 0);
	CHECK(imsgev_init(&smtpd_iev, sp[0], "smtpd", noop_handler, NULL,
	    1) == 0);
	CHECK(imsgbuf_init(&smtpd_front, sp[1]) == 0);

	/* No channel set: nobody hears (what the tests before relied on). */
	req(&q, MBOX_OP_CREATE, "Notify");
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);
	notify_set_front(ROLE_IMAPD, &vault_iev);
	notify_set_front(ROLE_SMTPD, &smtpd_iev);

	/* APPEND by one session: both imapd sessions, and smtpd's. */
	req(&q, MBOX_OP_APPEND, "Notify");
	CHECK(call_notified(&q, sid, append_fd(bundle_fd(1), 0, NULL), imap,
	    &nimap, smtp, &nsmtp) == MBOX_OK);
	CHECK(same2(imap, nimap, sid, sid2));
	CHECK(nsmtp == 1 && smtp[0] == sid_smtpd);
	req(&q, MBOX_OP_APPEND, "Notify");
	CHECK(call_notified(&q, sid2, append_fd(bundle_fd(2), 0, NULL),
	    imap, &nimap, smtp, &nsmtp) == MBOX_OK);
	CHECK(same2(imap, nimap, sid, sid2));
	CHECK(nsmtp == 1 && smtp[0] == sid_smtpd);

	/* STORE by the other; again, and it changes nothing: no news. */
	req(&q, MBOX_OP_STORE, "Notify");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_DELETED;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	CHECK(call_notified(&q, sid2, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(same2(imap, nimap, sid, sid2));
	CHECK(nsmtp == 1 && smtp[0] == sid_smtpd);
	CHECK(call_notified(&q, sid2, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);

	/* EXPUNGE; then with nothing left to expunge, no news. */
	req(&q, MBOX_OP_EXPUNGE, "Notify");
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(same2(imap, nimap, sid, sid2));
	CHECK(nsmtp == 1 && smtp[0] == sid_smtpd);
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);

	/* Reads tell nobody. */
	req(&q, MBOX_OP_LIST, "");
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);
	req(&q, MBOX_OP_FETCH, "Notify");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	CHECK(call_notified(&q, sid2, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);
	req(&q, MBOX_OP_STATUS, "Notify");
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);
	req(&q, MBOX_OP_BODIES, "Notify");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);
	/* Nor do failed writes. */
	req(&q, MBOX_OP_CREATE, "Notify");
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_EEXISTS);
	CHECK(nimap == 0 && nsmtp == 0);

	/* Bob's write tells Bob's session only. */
	req(&q, MBOX_OP_CREATE, "BobNotify");
	CHECK(call_notified(&q, sid_bob, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 1 && imap[0] == sid_bob && nsmtp == 0);

	/* A delivery into the unlocked account tells them too. */
	CHECK(deliver_bundle(ALICE, 3) == MBOX_OK);
	/* Its import, as the account's next request would start it. */
	account_request(alice);
	CHECK(imsgbuf_flush(&vault_iev.ibuf) == 0);
	CHECK(imsgbuf_flush(&smtpd_iev.ibuf) == 0);
	nimap = collect(&front, 0, imap, nitems(imap), NULL);
	nsmtp = collect(&smtpd_front, 0, smtp, nitems(smtp), NULL);
	CHECK(same2(imap, nimap, sid, sid2));
	CHECK(nsmtp == 1 && smtp[0] == sid_smtpd);

	/* A session that ended hears nothing more. */
	session_end(sid2, ROLE_IMAPD);
	req(&q, MBOX_OP_DELETE, "Notify");
	CHECK(call_notified(&q, sid, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 1 && imap[0] == sid);
	CHECK(nsmtp == 1 && smtp[0] == sid_smtpd);

	/* Channels unset: quiet again for the tests after this one. */
	notify_set_front(ROLE_IMAPD, NULL);
	notify_set_front(ROLE_SMTPD, NULL);
	req(&q, MBOX_OP_DELETE, "BobNotify");
	CHECK(call_notified(&q, sid_bob, -1, imap, &nimap, smtp, &nsmtp) ==
	    MBOX_OK);
	CHECK(nimap == 0 && nsmtp == 0);
	check_counter();
	imsgev_clear(&smtpd_iev);
	imsgbuf_clear(&smtpd_front);
	close(smtpd_front.fd);
}

/* The loop until the account's index backlog is at most max. */
static void
wait_backlog(uint64_t max)
{
	struct event	 t;
	struct timeval	 tv = { 0, 10000 };
	time_t		 limit = time(NULL) + 60;

	evtimer_set(&t, loop_tick, NULL);
	while (alice->indexing ||
	    mbox_index_backlog(alice->mbox, NULL) > max) {
		CHECK(time(NULL) < limit);
		evtimer_add(&t, &tv);
		CHECK(event_loop(EVLOOP_ONCE) != -1);
	}
	evtimer_del(&t);
}

/*
 * The full-text index waits while the account is busy: a stream of
 * APPENDs below the busy bound leaves the backlog to grow (before, a
 * batch came after every 16th); past the bound a batch follows the
 * commit, and batch after batch while nobody asks.  The quiet wait is
 * an hour here, so only the busy rule can write the index.
 */
static void
test_index_busy(void)
{
	struct treq	 q;
	int		 i;

	account_set_index_policy(1, 24);
	wait_backlog(0);
	account_set_index_policy(3600 * 1000, 24);
	for (i = 0; i < 23; i++) {
		req(&q, MBOX_OP_APPEND, "INBOX");
		CHECK(call_status(&q, append_fd(bundle_fd(1 + i % 3), 0,
		    NULL)) == MBOX_OK);
		CHECK(!alice->indexing);
		CHECK(mbox_index_backlog(alice->mbox, NULL) ==
		    (uint64_t)i + 1);
	}
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK(call_status(&q, append_fd(bundle_fd(1), 0, NULL)) == MBOX_OK);
	wait_backlog(0);
	account_set_index_policy(0, 0);
}

int
main(void)
{
	mailapi_fixture_setup();
	RUN(test_setup);
	RUN(test_list);
	RUN(test_folders);
	RUN(test_sessions);
	RUN(test_queue_bound);
	RUN(test_notify);
	RUN(test_index_busy);
	RUN(test_cleanup);
	mailapi_fixture_teardown();
	TEST_EXIT();
}
