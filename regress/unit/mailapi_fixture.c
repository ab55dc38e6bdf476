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
 * The mailbox API tests' shared vault, channel and request helpers: see
 * mailapi_fixture.h.
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
#include "test.h"
#include "vault_vfs.h"
#include "vaultd.h"
#include "mailapi_fixture.h"
#include "login_wait.h"

char		 tmpdir[] = "/tmp/mailapi_test.XXXXXX";
struct imsgev	 admin_iev;
struct imsgbuf	 admin_peer;
struct imsgev	 vault_iev;	/* vaultd's end of the channel */
struct imsgbuf	 front;		/* the front's end */
struct vault_account *alice;
uint32_t		 sid;		/* alice, imapd */
uint32_t		 sid_bob;	/* bob, imapd */
uint32_t		 sid_smtpd;	/* alice, but smtpd's */
uint32_t		 next_reqid = 100;
struct rlimit	 saved_nofile;
const char *const subjects[] = {
	NULL, "project alpha", "project beta", "lunch plans"
};
char		 raws[4][256];
char		 envelopes[4][128];

void
noop_handler(struct imsgev *iev, struct imsg *imsg)
{
	(void)iev;
	(void)imsg;
}

/*
 * One admin request through a socketpair, as ctld would send it, run
 * to its answer; its lines (and a failure's message) in admin_lines.
 */
char	 admin_lines[4096];

int
admin(uint32_t op, const char *a1, const char *a2, const char *s1)
{
	return (admin2(op, a1, a2, s1, NULL));
}

/* The same with the second secret (user passwd's new password). */
int
admin2(uint32_t op, const char *a1, const char *a2, const char *s1,
    const char *s2)
{
	struct msg_admin	 m;
	int			 done;

	admin_msg(&m, op, a1, a2, s1, s2);
	admin_request(&admin_iev, 7, &m);
	done = admin_answer(&admin_iev, &admin_peer, 7, admin_lines,
	    sizeof(admin_lines));
	CHECK(done != -2);
	return (done);
}

/* An admin request's message (login_wait.h), for the family's tests. */
void
admin_fill(struct msg_admin *m, uint32_t op, const char *a1, const char *a2,
    const char *s1, const char *s2)
{
	admin_msg(m, op, a1, a2, s1, s2);
}

/* A login taken to its end (login_wait.h), for the family's tests. */
int
login_full(const char *user, const char *pw, const char *narrow,
    const char *wide, struct vault_account **out)
{
	return (login(user, pw, strlen(pw), narrow, wide, out));
}

/*
 * The APPEND form of a bundle memfd (closed here): one entry with its
 * flags and keywords, in a new sealed memfd.
 */
int
append_fd(int bfd, uint32_t flags, const char *keywords)
{
	struct bundle	 b;
	void		*data;
	size_t		 len;
	int		 fd;

	CHECK(bundle_map(bfd, &data, &len) == 0);
	close(bfd);
	CHECK(bundle_parse(data, len, &b) == 0);
	CHECK((fd = memfd_create("append", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) != -1);
	CHECK(mbox_append_put(fd, flags, keywords, &b) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == 0);
	bundle_unmap(data, len);
	return (fd);
}

/* A bundle memfd for INBOX message number i. */
int
bundle_fd(int i)
{
	struct bundle	 b;
	int		 fd;

	snprintf(raws[i], sizeof(raws[i]), "From: sender@example.org\r\n"
	    "Subject: %s\r\n\r\nBody of message %d.\r\n", subjects[i], i);
	snprintf(envelopes[i], sizeof(envelopes[i]), "(NIL \"%s\" NIL NIL "
	    "NIL NIL NIL NIL NIL NIL)", subjects[i]);
	memset(&b, 0, sizeof(b));
	b.internaldate = 1700000000 + i;
	b.sec[BUNDLE_RAW] = raws[i];
	b.len[BUNDLE_RAW] = strlen(raws[i]);
	b.sec[BUNDLE_ENVELOPE] = envelopes[i];
	b.len[BUNDLE_ENVELOPE] = strlen(envelopes[i]);
	b.sec[BUNDLE_BODYSTRUCTURE] = BODYSTRUCTURE;
	b.len[BUNDLE_BODYSTRUCTURE] = strlen(BODYSTRUCTURE);
	b.sec[BUNDLE_SUBJECT] = subjects[i];
	b.len[BUNDLE_SUBJECT] = strlen(subjects[i]);
	b.sec[BUNDLE_TEXT] = "Body of message.";
	b.len[BUNDLE_TEXT] = strlen(b.sec[BUNDLE_TEXT]);
	CHECK(bundle_write_fd(&b, &fd) == 0);
	return (fd);
}

void
req(struct treq *q, uint32_t op, const char *folder)
{
	memset(q, 0, sizeof(*q));
	q->session = sid;
	q->op = op;
	strlcpy(q->folder, folder, sizeof(q->folder));
}

/*
 * The wire form of a request, written here rather than by
 * mbox_req_encode() so that it can be wrong: the counts and lengths are
 * what the caller gives (an unterminated name counts its whole array,
 * ranges beyond MBOX_RANGES_MAX + 1 are declared but not sent), so
 * msg_check() and vaultd see every shape a hostile front could send.
 */
size_t
wire(unsigned char *buf, uint32_t session, uint32_t op, const void *args,
    size_t argslen, const struct mbox_range *ranges, uint32_t nranges,
    const struct search_program *prog, const char *folder,
    const char *folder2, const char *kw)
{
	struct mbox_req_hdr	 h;
	size_t			 off = 0, n;

	memset(&h, 0, sizeof(h));
	h.session = session;
	h.op = op;
	h.nranges = nranges;
	h.nnodes = prog != NULL ? prog->nops : 0;
	h.namelen = strnlen(folder, MBOX_NAME_MAX);
	h.name2len = strnlen(folder2, MBOX_NAME_MAX);
	h.kwlen = strnlen(kw, MBOX_KWLIST_MAX);
	memcpy(buf, &h, sizeof(h));
	off += sizeof(h);
	if (argslen > 0)
		memcpy(buf + off, args, argslen);
	off += argslen;
	n = nranges > MBOX_RANGES_MAX + 1 ? MBOX_RANGES_MAX + 1 : nranges;
	if (n > 0)
		memcpy(buf + off, ranges, n * sizeof(*ranges));
	off += n * sizeof(*ranges);
	if (prog != NULL) {
		n = prog->nops > SEARCH_MAX_OPS ? SEARCH_MAX_OPS : prog->nops;
		memcpy(buf + off, prog->ops, n * sizeof(prog->ops[0]));
		off += n * sizeof(prog->ops[0]);
	}
	memcpy(buf + off, folder, h.namelen);
	off += h.namelen;
	memcpy(buf + off, folder2, h.name2len);
	off += h.name2len;
	memcpy(buf + off, kw, h.kwlen);
	off += h.kwlen;
	return (off);
}

/*
 * vaultd's side: take one message off the channel and answer it, as
 * vaultd_dispatch() does (which only passes on what msg_check() took,
 * unless checked is 0).
 */
void
vault_pump(int checked)
{
	struct pollfd	 pfd;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < 200; i++) {
		CHECK((n = imsg_get(&vault_iev.ibuf, &imsg)) != -1);
		if (n > 0)
			break;
		pfd.fd = vault_iev.ibuf.fd;
		pfd.events = POLLIN;
		CHECK(poll(&pfd, 1, 2000) == 1);
		n = imsgbuf_read(&vault_iev.ibuf);
		CHECK(n > 0 || (n == -1 && errno == EAGAIN));
	}
	CHECK(i < 200);
	if (checked)
		CHECK(msg_check(&imsg) == 0);
	mailapi_request(&vault_iev, ROLE_IMAPD, &imsg);
	imsg_free(&imsg);
	CHECK(imsgbuf_flush(&vault_iev.ibuf) == 0);
}

/*
 * The next result on the front's end, for request reqid: its fd (or
 * -1), which comes only with MBOX_OK.
 */
int
next_result(uint32_t reqid, struct msg_mbox_result *res)
{
	struct pollfd	 pfd;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 i, rfd;

	for (i = 0; i < 200; i++) {
		CHECK((n = imsg_get(&front, &imsg)) != -1);
		if (n > 0)
			break;
		pfd.fd = front.fd;
		pfd.events = POLLIN;
		CHECK(poll(&pfd, 1, 2000) == 1);
		n = imsgbuf_read(&front);
		CHECK(n > 0 || (n == -1 && errno == EAGAIN));
	}
	CHECK(i < 200);
	CHECK(imsg.hdr.type == IMSG_MBOX_RESULT);
	CHECK(imsg.hdr.peerid == reqid);
	CHECK(msg_check(&imsg) == 0);
	CHECK(imsg_get_data(&imsg, res, sizeof(*res)) == 0);
	rfd = imsg_get_fd(&imsg);
	imsg_free(&imsg);
	if (res->status != MBOX_OK)
		CHECK(rfd == -1 && res->count == 0);
	return (rfd);
}

/*
 * Send one message, let vaultd answer, read the one result: its fd (or
 * -1), which comes only with MBOX_OK.
 */
int
call_raw(uint32_t type, const void *data, size_t len, int fd, int checked,
    struct msg_mbox_result *res)
{
	struct imsg	 imsg;
	uint32_t	 reqid = next_reqid++;
	int		 rfd;

	CHECK(imsg_compose(&front, type, reqid, 0, fd, data, len) == 0);
	CHECK(imsgbuf_flush(&front) == 0);
	vault_pump(checked);
	rfd = next_result(reqid, res);
	/* Exactly one answer. */
	CHECK(imsg_get(&front, &imsg) == 0);
	CHECK(imsgbuf_read(&front) == -1 && errno == EAGAIN);
	return (rfd);
}

/*
 * Send q as its operation's typed request: the test's flat fields go
 * to the argument struct of q->op.  A request that msg_check() refuses
 * (vaultd would drop the front) must still get MBOX_EINVAL from the
 * handler, should it ever get there.
 */
size_t
treq_wire(const struct treq *q, unsigned char *buf)
{
	struct mbox_req		 a;
	const struct mbox_range	*ranges = q->ranges;
	uint32_t		 nranges = q->nranges;
	size_t			 argslen = 0;

	memset(&a, 0, sizeof(a));
	switch (q->op) {
	case MBOX_OP_CREATE:
		a.create.special = q->special;
		argslen = sizeof(a.create);
		break;
	case MBOX_OP_SUBSCRIBE:
		a.subscribe.on = q->flags;
		argslen = sizeof(a.subscribe);
		break;
	case MBOX_OP_FETCH:
		a.fetch.how = q->flags;
		a.fetch.changedsince = q->modseq;
		argslen = sizeof(a.fetch);
		break;
	case MBOX_OP_BODY:
		a.body.uid = nranges > 0 ? ranges[0].first : 0;
		argslen = sizeof(a.body);
		nranges = 0;
		break;
	case MBOX_OP_STORE:
		a.store.op = q->store_op;
		a.store.flags = q->flags;
		a.store.unchangedsince = q->modseq;
		argslen = sizeof(a.store);
		break;
	case MBOX_OP_APPEND:
		a.append.count = q->count != 0 ? q->count : 1;
		argslen = sizeof(a.append);
		break;
	case MBOX_OP_VANISHED:
	case MBOX_OP_SYNC:
		a.since.modseq = q->modseq;
		argslen = sizeof(a.since);
		break;
	default:
		break;
	}
	return (wire(buf, q->session, q->op, &a.create, argslen, ranges,
	    nranges, NULL, q->folder, q->folder2, q->keywords));
}

int
call(struct treq *q, int fd, struct msg_mbox_result *res)
{
	static unsigned char	 buf[MBOX_REQ_WIRE_MAX + 4096];
	size_t			 len;
	int			 ok;

	len = treq_wire(q, buf);
	ok = mbox_req_size_ok(buf, len);
	fd = call_raw(IMSG_MBOX_REQUEST, buf, len, fd, ok, res);
	if (!ok)
		CHECK(res->status == MBOX_EINVAL);
	return (fd);
}

/* For requests whose answer has no fd: just the status. */
int
call_status(struct treq *q, int fd)
{
	struct msg_mbox_result	 res;

	CHECK(call(q, fd, &res) == -1);
	return (res.status);
}

/*
 * The result fd must be sealed for good and rewound; read it and close
 * it.
 */
void *
result_buf(int fd, size_t *lenp)
{
	struct stat	 st;
	void		*buf;
	char		 c = 'x';

	CHECK(fd != -1);
	CHECK(fcntl(fd, F_GET_SEALS) == ALL_SEALS);
	CHECK(lseek(fd, 0, SEEK_CUR) == 0);
	CHECK(write(fd, &c, 1) == -1 && errno == EPERM);
	CHECK(fstat(fd, &st) == 0);
	CHECK(ftruncate(fd, st.st_size + 1) == -1 && errno == EPERM);
	if (st.st_size > 0)
		CHECK(ftruncate(fd, 0) == -1 && errno == EPERM);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == -1 &&
	    errno == EPERM);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, lenp) == 0);
	close(fd);
	return (buf);
}

int
status_of_folder(const char *name, struct mbox_folder *f)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	void			*buf;
	size_t			 len;
	int			 fd;

	req(&q, MBOX_OP_STATUS, name);
	if ((fd = call(&q, -1, &res)) == -1)
		return (res.status);
	CHECK(res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_folder(&r, f) == 1);
	CHECK(mbox_stream_next_folder(&r, f) == 0);
	mbox_stream_free(buf, len);
	return (MBOX_OK);
}

/* The directory records what the mailbox has committed. */
void
check_counter(void)
{
	struct dir_account	 da;

	CHECK(dir_account_get(ALICE, &da) == DIR_OK);
	CHECK(da.counter == mbox_counter(alice->mbox));
}

/* Message i (1..3) to address, as vaultd passes a delivery on. */
int
deliver_bundle(const char *address, int i)
{
	void	*data;
	size_t	 len;
	int	 fd, rc;

	fd = bundle_fd(i);
	CHECK(bundle_map(fd, &data, &len) == 0);
	close(fd);
	rc = account_deliver(address, data, len);
	bundle_unmap(data, len);
	return (rc);
}

/* A timer's callback that does nothing: it wakes the loop. */
void
loop_tick(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/*
 * The loop until *n reaches want (bounded: a minute; a tick wakes it,
 * so that work finished on a worker is seen).
 */
void
wait_count(const size_t *n, size_t want)
{
	struct event	 t;
	struct timeval	 tv = { 0, 50000 };
	time_t		 limit = time(NULL) + 60;

	evtimer_set(&t, loop_tick, NULL);
	while (*n < want) {
		CHECK(time(NULL) < limit);
		evtimer_add(&t, &tv);
		CHECK(event_loop(EVLOOP_ONCE) != -1);
	}
	evtimer_del(&t);
}

/* The loop until *flag is set, bounded as wait_count(). */
void
wait_flag(const int *flag)
{
	struct event	 t;
	struct timeval	 tv = { 0, 50000 };
	time_t		 limit = time(NULL) + 60;

	evtimer_set(&t, loop_tick, NULL);
	while (*flag == 0) {
		CHECK(time(NULL) < limit);
		evtimer_add(&t, &tv);
		CHECK(event_loop(EVLOOP_ONCE) != -1);
	}
	evtimer_del(&t);
}

void
test_setup(void)
{
	struct kdf_cost		 cost;
	struct vault_account	*a;
	int			 sp[2], dirfd, spoolfd;

	CHECK(mkdtemp(tmpdir) != NULL);
	CHECK(chdir(tmpdir) == 0);
	CHECK(vfs_register() == 0);
	CHECK((dirfd = open(".", O_RDONLY | O_DIRECTORY)) != -1);
	CHECK(serverkeys_load(dirfd) == 0);
	close(dirfd);
	CHECK(mkdir(VAULT_MAILBOXES, 0700) == 0);
	CHECK(mkdir(VAULT_SPOOL, 0700) == 0);
	CHECK((spoolfd = open(VAULT_SPOOL, O_RDONLY | O_DIRECTORY)) != -1);
	account_set_spool(spoolfd);
	CHECK(dir_open(VAULT_DIRECTORY, serverkeys_server()) == DIR_OK);
	memset(&cost, 0, sizeof(cost));
	cost.opslimit = 1;
	cost.memlimit = 8 * 1024 * 1024;
	serverkeys_set_cost(&cost);
	account_set_grace(3600);
	serverkeys_set_ready(1);
	account_init();
	CHECK(kdf_init() == 0);
	CHECK(kdf_start(NULL) == 0);
	account_on_change(notify_account);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == 0);
	CHECK(imsgev_init(&admin_iev, sp[0], "ctld", noop_handler, NULL,
	    0) == 0);
	CHECK(imsgbuf_init(&admin_peer, sp[1]) == 0);
	CHECK(admin(ADMIN_DOMAIN_ADD, "test.example", NULL, NULL) == 0);
	CHECK(admin(ADMIN_USER_ADD, ALICE, NULL, PW_ALICE) == 0);
	CHECK(admin(ADMIN_USER_ADD, BOB, NULL, PW_BOB) == 0);

	CHECK(login(ALICE, PW_ALICE, strlen(PW_ALICE), "c1", "w-c1",
	    &a) == 0);
	alice = a;
	CHECK((sid = session_new(ROLE_IMAPD, a)) != 0);
	CHECK((sid_smtpd = session_new(ROLE_SMTPD, a)) != 0);
	CHECK(login(BOB, PW_BOB, strlen(PW_BOB), "c1", "w-c1", &a) == 0);
	CHECK((sid_bob = session_new(ROLE_IMAPD, a)) != 0);

	/* The front's channel, set up as vaultd sets up its peers. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == 0);
	CHECK(imsgev_init(&vault_iev, sp[0], "imapd", noop_handler, NULL,
	    1) == 0);
	CHECK(imsgbuf_set_maxsize(&vault_iev.ibuf, IMSG_VAULT_MAXSIZE) == 0);
	CHECK(imsgbuf_init(&front, sp[1]) == 0);
	imsgbuf_allow_fdpass(&front);
	CHECK(imsgbuf_set_maxsize(&front, IMSG_VAULT_MAXSIZE) == 0);
}

void
test_cleanup(void)
{
	struct dir_account	 da;

	session_end(sid, ROLE_IMAPD);
	session_end(sid_smtpd, ROLE_SMTPD);
	session_end(sid_bob, ROLE_IMAPD);
	account_lock(alice);
	CHECK(dir_account_get(BOB, &da) == DIR_OK);
	CHECK(account_unlocked(da.id) != NULL);
	account_lock(account_unlocked(da.id));
	imsgev_clear(&vault_iev);
	imsgbuf_clear(&front);
	close(front.fd);
	imsgev_clear(&admin_iev);
	imsgbuf_clear(&admin_peer);
	close(admin_peer.fd);
}

int
rm_cb(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	return (remove(path));
}

/* What every program needs before test_setup(); exits on a failure. */
void
mailapi_fixture_setup(void)
{
	log_init(1, LOG_MAIL);
	if (sodium_init() == -1)
		exit(1);
	event_init();
	if (getrlimit(RLIMIT_NOFILE, &saved_nofile) == -1)
		exit(1);
}


/* After test_cleanup(): close the vault and remove its directory. */
void
mailapi_fixture_teardown(void)
{
	kdf_stop();
	dir_close();
	close(account_spool());
	serverkeys_free();
	if (chdir("/") == 0)
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
