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
 * vaultd's mailbox API as a front sees it: requests composed on one end
 * of a real socketpair, answered by mailapi_request() on the other end
 * against a real vault (directory, account, encrypted mailbox), results
 * read back with their sealed memfds and parsed with the stream reader.
 * Then malformed requests, foreign sessions, and hostile streams thrown
 * at the reader.
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

TEST_GLOBALS;

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
	uint64_t	 modseq;	/* changedsince, unchangedsince,
					 * since */
	char		 folder[MBOX_NAME_MAX];
	char		 folder2[MBOX_NAME_MAX];
	char		 keywords[MBOX_KWLIST_MAX];
	struct mbox_range ranges[MBOX_RANGES_MAX];
};

struct tsearch {
	uint32_t		 session;
	char			 folder[MBOX_NAME_MAX];
	struct search_program	 program;
};

static char		 tmpdir[] = "/tmp/mailapi_test.XXXXXX";
static struct imsgev	 admin_iev;
static struct imsgbuf	 admin_peer;
static struct imsgev	 vault_iev;	/* vaultd's end of the channel */
static struct imsgbuf	 front;		/* the front's end */
static struct vault_account *alice;
static uint32_t		 sid;		/* alice, imapd */
static uint32_t		 sid_bob;	/* bob, imapd */
static uint32_t		 sid_smtpd;	/* alice, but smtpd's */
static uint32_t		 next_reqid = 100;
static struct imsgev	 smtpd_iev;	/* a second front: notices only */
static struct imsgbuf	 smtpd_front;
static struct rlimit	 saved_nofile;

/* The messages appended, by INBOX uid (1-based). */
static const char *const subjects[] = {
	NULL, "project alpha", "project beta", "lunch plans"
};
static char		 raws[4][256];
static char		 envelopes[4][128];

static void	 noop_handler(struct imsgev *, struct imsg *);
static int	 admin(uint32_t, const char *, const char *, const char *);
static int	 bundle_fd(int);
static int	 raw_fd(const char *, size_t);
static void	 req(struct treq *, uint32_t, const char *);
static size_t	 treq_wire(const struct treq *, unsigned char *);
static size_t	 wire(unsigned char *, uint32_t, uint32_t, const void *,
		    size_t, const struct mbox_range *, uint32_t,
		    const struct search_program *, const char *,
		    const char *, const char *);
static void	 vault_pump(int);
static int	 call_raw(uint32_t, const void *, size_t, int, int,
		    struct msg_mbox_result *);
static int	 call(struct treq *, int, struct msg_mbox_result *);
static int	 call_status(struct treq *, int);
static void	*result_buf(int, size_t *);
static int	 status_of_folder(const char *, struct mbox_folder *);
static void	 check_counter(void);
static int	 open_fds(void);
static int	 sync_call(const char *, uint64_t, struct mbox_folder *,
		    uint32_t *, uint32_t *, struct mbox_stream_msg *,
		    uint32_t *);
static void	 search_op(struct search_program *, uint32_t, uint64_t,
		    const char *);
static uint32_t	 search(struct tsearch *, uint32_t *, size_t,
		    int *);
static int	 read_all(const void *, size_t, int);
static void	 test_stream_hostile_bodies(void);
static size_t	 collect(struct imsgbuf *, uint32_t, uint32_t *, size_t,
		    struct msg_mbox_result *);
static int	 call_notified(struct treq *, uint32_t, int,
		    uint32_t *, size_t *, uint32_t *, size_t *);
static int	 same2(const uint32_t *, size_t, uint32_t, uint32_t);
static int	 rm_cb(const char *, const struct stat *, int, struct FTW *);

static void
noop_handler(struct imsgev *iev, struct imsg *imsg)
{
	(void)iev;
	(void)imsg;
}

/* One admin request through a socketpair, as ctld would send it. */
static int
admin(uint32_t op, const char *a1, const char *a2, const char *s1)
{
	struct msg_admin	 m;
	struct imsg		 imsg;
	ssize_t			 n;
	int			 done = -2, i;

	memset(&m, 0, sizeof(m));
	m.op = op;
	strlcpy(m.arg1, a1 ? a1 : "", sizeof(m.arg1));
	strlcpy(m.arg2, a2 ? a2 : "", sizeof(m.arg2));
	strlcpy(m.secret, s1 ? s1 : "", sizeof(m.secret));
	admin_request(&admin_iev, 7, &m);
	CHECK(imsgbuf_flush(&admin_iev.ibuf) == 0);
	for (i = 0; done == -2 && i < 100; i++) {
		n = imsgbuf_read(&admin_peer);
		CHECK(n > 0 || (n == -1 && errno == EAGAIN));
		while ((n = imsg_get(&admin_peer, &imsg)) > 0) {
			if (imsg.hdr.type == IMSG_CTL_OK)
				done = 0;
			else if (imsg.hdr.type == IMSG_CTL_FAIL)
				done = -1;
			imsg_free(&imsg);
		}
		CHECK(n == 0);
	}
	CHECK(done != -2);
	return (done);
}

/* A bundle memfd for INBOX message number i. */
static int
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

/* A bundle memfd for any raw message, with fixed metadata. */
static int
raw_fd(const char *raw, size_t len)
{
	struct bundle	 b;
	int		 fd;

	memset(&b, 0, sizeof(b));
	b.internaldate = 1700000000;
	b.sec[BUNDLE_RAW] = raw;
	b.len[BUNDLE_RAW] = len;
	b.sec[BUNDLE_ENVELOPE] = envelopes[1];
	b.len[BUNDLE_ENVELOPE] = strlen(envelopes[1]);
	b.sec[BUNDLE_BODYSTRUCTURE] = BODYSTRUCTURE;
	b.len[BUNDLE_BODYSTRUCTURE] = strlen(BODYSTRUCTURE);
	CHECK(bundle_write_fd(&b, &fd) == 0);
	return (fd);
}

static void
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
static size_t
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
	memcpy(buf + off, args, argslen);
	off += argslen;
	n = nranges > MBOX_RANGES_MAX + 1 ? MBOX_RANGES_MAX + 1 : nranges;
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
static void
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
 * Send one message, let vaultd answer, read the one result: its fd (or
 * -1), which comes only with MBOX_OK.
 */
static int
call_raw(uint32_t type, const void *data, size_t len, int fd, int checked,
    struct msg_mbox_result *res)
{
	struct pollfd	 pfd;
	struct imsg	 imsg;
	uint32_t	 reqid = next_reqid++;
	ssize_t		 n;
	int		 i, rfd;

	CHECK(imsg_compose(&front, type, reqid, 0, fd, data, len) == 0);
	CHECK(imsgbuf_flush(&front) == 0);
	vault_pump(checked);
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
	/* Exactly one answer. */
	CHECK(imsg_get(&front, &imsg) == 0);
	CHECK(imsgbuf_read(&front) == -1 && errno == EAGAIN);
	if (res->status != MBOX_OK)
		CHECK(rfd == -1 && res->count == 0);
	return (rfd);
}

/*
 * Send q as its operation's typed request: the test's flat fields go
 * to the argument struct of q->op.  A request that msg_check() refuses
 * (vaultd would drop the front) must still get MBOX_EINVAL from the
 * handler, should it ever get there.
 */
static size_t
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
		a.append.flags = q->flags;
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

static int
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
static int
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
static void *
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

static int
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
static void
check_counter(void)
{
	struct dir_account	 da;

	CHECK(dir_account_get(ALICE, &da) == DIR_OK);
	CHECK(da.counter == mbox_counter(alice->mbox));
}

static int
open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	CHECK((d = opendir("/proc/self/fd")) != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

static void
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
	account_on_change(notify_account);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == 0);
	CHECK(imsgev_init(&admin_iev, sp[0], "ctld", noop_handler, NULL,
	    0) == 0);
	CHECK(imsgbuf_init(&admin_peer, sp[1]) == 0);
	CHECK(admin(ADMIN_DOMAIN_ADD, "test.example", NULL, NULL) == 0);
	CHECK(admin(ADMIN_USER_ADD, ALICE, NULL, PW_ALICE) == 0);
	CHECK(admin(ADMIN_USER_ADD, BOB, NULL, PW_BOB) == 0);

	CHECK(auth_login(ALICE, PW_ALICE, strlen(PW_ALICE), "c1", &a) == 0);
	alice = a;
	CHECK((sid = session_new(ROLE_IMAPD, a)) != 0);
	CHECK((sid_smtpd = session_new(ROLE_SMTPD, a)) != 0);
	CHECK(auth_login(BOB, PW_BOB, strlen(PW_BOB), "c1", &a) == 0);
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

static void
test_append(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_folder	 f;
	uint64_t			 before;
	int				 i, p[2], fd;

	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	for (i = 1; i <= 3; i++) {
		before = mbox_counter(alice->mbox);
		req(&q, MBOX_OP_APPEND, "INBOX");
		q.flags = i == 1 ? MAILFLAG_SEEN : 0;
		strlcpy(q.keywords, i == 3 ? "$Food" : "", sizeof(q.keywords));
		CHECK(call(&q, bundle_fd(i), &res) == -1);
		CHECK(res.status == MBOX_OK);
		CHECK(res.a == f.info.uidvalidity);
		CHECK(res.b == (uint64_t)i);
		CHECK(mbox_counter(alice->mbox) > before);
		check_counter();
	}
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	CHECK(f.info.exists == 3 && f.info.unseen == 2 && f.info.uidnext == 4);
	CHECK(f.info.size == strlen(raws[1]) + strlen(raws[2]) +
	    strlen(raws[3]));

	req(&q, MBOX_OP_APPEND, "Nope");
	CHECK(call_status(&q, bundle_fd(1)) == MBOX_ENOTFOUND);
	req(&q, MBOX_OP_APPEND, "INBOX");
	q.flags = 0x100;
	CHECK(call_status(&q, bundle_fd(1)) == MBOX_EINVAL);
	req(&q, MBOX_OP_APPEND, "INBOX");
	strlcpy(q.keywords, "bad\\keyword", sizeof(q.keywords));
	CHECK(call_status(&q, bundle_fd(1)) == MBOX_EINVAL);
	/* Garbage: a memfd that is no bundle, a pipe, an empty memfd. */
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK((fd = memfd_create("junk", MFD_CLOEXEC)) != -1);
	CHECK(write(fd, "this is not a bundle at all, not even close", 43) ==
	    43);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "xx", 2) == 2);
	CHECK(call_status(&q, p[0]) == MBOX_EINVAL);
	close(p[1]);
	CHECK((fd = memfd_create("empty", MFD_CLOEXEC)) != -1);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	CHECK(f.info.exists == 3);
}

/* FETCH uid 1:* and check every record against what was appended. */
static void
test_fetch(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	struct mbox_stream_msg	 m;
	void			*buf;
	size_t			 len;
	uint32_t		 i;
	int			 fd;

	req(&q, MBOX_OP_FETCH, "inbox");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 3);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 1; i <= 3; i++) {
		CHECK(mbox_stream_next_msg(&r, &m) == 1);
		CHECK(m.uid == i && m.seq == i);
		CHECK(m.flags == (i == 1 ? MAILFLAG_SEEN : 0U));
		CHECK_STR(m.keywords, i == 3 ? "$Food" : "");
		CHECK(m.internaldate == 1700000000 + (int64_t)i);
		CHECK(m.size == strlen(raws[i]));
		CHECK(m.modseq > 0);
		CHECK(m.envlen == strlen(envelopes[i]) &&
		    memcmp(m.envelope, envelopes[i], m.envlen) == 0);
		CHECK(m.bslen == strlen(BODYSTRUCTURE) &&
		    memcmp(m.bodystructure, BODYSTRUCTURE, m.bslen) == 0);
	}
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	/* By sequence number, without metadata; "*:2" is "2:*". */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_SEQ | MBOX_FETCH_NOMETA;
	q.nranges = 1;
	q.ranges[0].first = UINT32_MAX;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 2; i <= 3; i++) {
		CHECK(mbox_stream_next_msg(&r, &m) == 1);
		CHECK(m.uid == i && m.seq == i);
		CHECK(m.envlen == 0 && m.envelope == NULL);
		CHECK(m.bslen == 0 && m.bodystructure == NULL);
		CHECK(m.size == strlen(raws[i]));
	}
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	/* Two ranges by uid; nothing matches 7:9. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.nranges = 2;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	q.ranges[1].first = 7;
	q.ranges[1].last = 9;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 3);
	CHECK(m.envlen == strlen(envelopes[3]));
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	req(&q, MBOX_OP_FETCH, "Nope");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	q.flags = 0x08;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
}

static void
test_body(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	void			*buf;
	size_t			 len;
	int			 fd;

	req(&q, MBOX_OP_BODY, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK);
	CHECK(res.a == strlen(raws[2]));
	buf = result_buf(fd, &len);
	CHECK(len == strlen(raws[2]) && memcmp(buf, raws[2], len) == 0);
	mbox_stream_free(buf, len);
	q.ranges[0].first = 99;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	q.ranges[0].first = 0;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
}

static void
test_store(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	struct mbox_stream_msg	 m;
	void			*buf;
	size_t			 len;
	uint64_t		 ms[4], before;
	uint32_t		 i, uid;
	int			 fd;

	/* \Flagged on all three: each changes, with a new modseq. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_FLAGGED;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 3 && res.a == 0);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 1; i <= 3; i++) {
		CHECK(mbox_stream_next_msg(&r, &m) == 1);
		CHECK(m.uid == i && m.seq == i);
		CHECK((m.flags & MAILFLAG_FLAGGED) != 0);
		CHECK(m.envlen == 0 && m.bslen == 0);
		ms[i] = m.modseq;
	}
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);
	CHECK(ms[1] < ms[2] && ms[2] < ms[3]);

	/* Again: nothing changes, nothing is committed, the fd is empty. */
	before = mbox_counter(alice->mbox);
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0 && res.a == 0);
	buf = result_buf(fd, &len);
	CHECK(len == 0);
	mbox_stream_free(buf, len);
	CHECK(mbox_counter(alice->mbox) == before);

	/* A keyword on uid 2 only: it moves past the others. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	strlcpy(q.keywords, "$Work", sizeof(q.keywords));
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 2);
	CHECK_STR(m.keywords, "$Work");
	CHECK(m.modseq > ms[3]);
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);

	/* UNCHANGEDSINCE: 1 and 3 change, 2 fails the condition. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_REMOVE;
	q.flags = MAILFLAG_FLAGGED;
	q.modseq = ms[3];
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 3;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2 && res.a == 1);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 1);
	CHECK((m.flags & MAILFLAG_FLAGGED) == 0);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 3);
	CHECK((m.flags & MAILFLAG_FLAGGED) == 0);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 2);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);

	/* STORE_REPLACE of the keywords; then the refusals. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_REPLACE;
	q.flags = MAILFLAG_SEEN;
	q.nranges = 1;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1 && m.uid == 3);
	CHECK(m.flags == MAILFLAG_SEEN && m.keywords[0] == '\0');
	mbox_stream_free(buf, len);
	q.store_op = 7;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.store_op = STORE_ADD;
	q.flags = 0x40;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.flags = 0;
	strlcpy(q.keywords, "\\Seen", sizeof(q.keywords));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	check_counter();
}

/* FETCH CHANGEDSINCE: what a STORE changed, and nothing else. */
static void
test_changedsince(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_stream_r		 r;
	struct mbox_stream_msg		 m;
	struct mbox_folder	 f;
	void				*buf;
	size_t				 len;
	uint64_t			 since, ms;
	int				 fd;

	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	since = f.info.highestmodseq;
	CHECK(since > 0);
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_CHANGEDSINCE;
	q.modseq = since;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	buf = result_buf(fd, &len);
	CHECK(len == 0);
	mbox_stream_free(buf, len);

	/* \Answered on uid 2: it alone comes back, in full. */
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_ANSWERED;
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	close(fd);
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_CHANGEDSINCE;
	q.modseq = since;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1);
	CHECK(m.uid == 2 && m.seq == 2 && m.modseq > since);
	CHECK((m.flags & MAILFLAG_ANSWERED) != 0);
	CHECK_STR(m.keywords, "$Work");
	CHECK(m.envlen == strlen(envelopes[2]) &&
	    memcmp(m.envelope, envelopes[2], m.envlen) == 0);
	CHECK(m.bslen == strlen(BODYSTRUCTURE));
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
	ms = f.info.highestmodseq;
	CHECK(ms > since);

	/* By sequence number, without metadata, in two ranges. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.flags = MBOX_FETCH_CHANGEDSINCE | MBOX_FETCH_SEQ | MBOX_FETCH_NOMETA;
	q.modseq = since;
	q.nranges = 2;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	q.ranges[1].first = 1;
	q.ranges[1].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &m) == 1);
	CHECK(m.uid == 2 && m.seq == 2 && m.envelope == NULL);
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	mbox_stream_free(buf, len);
	/* Outside the ranges: nothing. */
	q.nranges = 1;
	q.ranges[0].first = 3;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	close(fd);
	/* Since the new highest modseq: nothing. */
	q.modseq = ms;
	q.ranges[0].first = 1;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	close(fd);

	/* The flag needs a modseq, and one SQLite can hold. */
	q.modseq = 0;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.modseq = (uint64_t)INT64_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.modseq = UINT64_MAX;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	/* Without the flag, a modseq changes nothing. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.modseq = ms;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 3);
	close(fd);
}

static void
test_copy_move(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_stream_r		 r;
	struct mbox_folder	 archive, trash, inbox;
	void				*buf;
	size_t				 len;
	uint32_t			 a, b, uid;
	int				 fd;

	CHECK(status_of_folder("Archive", &archive) == MBOX_OK);
	req(&q, MBOX_OP_COPY, "INBOX");
	strlcpy(q.folder2, "Archive", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2);
	CHECK(res.a == archive.info.uidvalidity);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 1 && b == 1);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 2 && b == 2);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("Archive", &archive) == MBOX_OK);
	CHECK(archive.info.exists == 2);

	/* MOVE uid 3 to Trash; INBOX reports it vanished. */
	CHECK(status_of_folder("INBOX", &inbox) == MBOX_OK);
	CHECK(status_of_folder("Trash", &trash) == MBOX_OK);
	req(&q, MBOX_OP_MOVE, "INBOX");
	strlcpy(q.folder2, "Trash", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 3;
	q.ranges[0].last = 3;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	CHECK(res.a == trash.info.uidvalidity);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 3 && b == 1);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 0);
	mbox_stream_free(buf, len);

	req(&q, MBOX_OP_VANISHED, "INBOX");
	q.modseq = inbox.info.highestmodseq;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 3);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("INBOX", &inbox) == MBOX_OK);
	CHECK(inbox.info.exists == 2);

	req(&q, MBOX_OP_COPY, "INBOX");
	strlcpy(q.folder2, "Nope", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	req(&q, MBOX_OP_MOVE, "INBOX");
	strlcpy(q.folder2, "inbox", sizeof(q.folder2));
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
}

static void
test_expunge(void)
{
	struct treq		 q;
	struct msg_mbox_result		 res;
	struct mbox_stream_r		 r;
	struct mbox_folder	 f;
	void				*buf;
	size_t				 len;
	uint32_t			 uid;
	int				 fd;

	req(&q, MBOX_OP_STORE, "Archive");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_DELETED;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 2);
	close(fd);

	/* UID EXPUNGE 2, then everything \Deleted that is left. */
	req(&q, MBOX_OP_EXPUNGE, "Archive");
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 2);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);

	req(&q, MBOX_OP_EXPUNGE, "Archive");
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	check_counter();
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 1);
	CHECK(mbox_stream_next_uid(&r, &uid) == 0);
	mbox_stream_free(buf, len);
	CHECK(status_of_folder("Archive", &f) == MBOX_OK);
	CHECK(f.info.exists == 0);

	/* Nothing left to expunge: OK, empty. */
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 0);
	close(fd);
	req(&q, MBOX_OP_EXPUNGE, "Nope");
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
}

static void
search_op(struct search_program *p, uint32_t op, uint64_t num,
    const char *str)
{
	struct search_op_s	*o = &p->ops[p->nops++];

	o->op = op;
	o->num = num;
	if (str != NULL)
		strlcpy(o->str, str, sizeof(o->str));
}

static uint32_t
search(struct tsearch *s, uint32_t *uids, size_t max, int *status)
{
	static unsigned char	 wbuf[MBOX_REQ_WIRE_MAX + 4096];
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	void			*buf;
	size_t			 len, blen;
	uint32_t		 n = 0;
	int			 fd, ok, rc;

	blen = wire(wbuf, s->session, MBOX_OP_SEARCH, NULL, 0, NULL, 0,
	    &s->program, s->folder, "", "");
	ok = mbox_req_size_ok(wbuf, blen);
	fd = call_raw(IMSG_MBOX_REQUEST, wbuf, blen, -1, ok, &res);
	*status = res.status;
	if (fd == -1)
		return (0);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	while (n < max && (rc = mbox_stream_next_uid(&r, &uids[n])) == 1)
		n++;
	CHECK(mbox_stream_next_uid(&r, &uids[0]) == 0);
	mbox_stream_free(buf, len);
	CHECK(n == res.count);
	return (n);
}

/*
 * One SYNC of folder since modseq: the folder record into f, the
 * vanished uids (*nv of them, up to 8) and the message records (*nm,
 * up to 8, envelope and bodystructure empty).  The status.
 */
static int
sync_call(const char *folder, uint64_t since, struct mbox_folder *f,
    uint32_t *vanished, uint32_t *nv, struct mbox_stream_msg *msgs,
    uint32_t *nm)
{
	struct treq		 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	void			*buf;
	size_t			 len;
	uint32_t		 i;
	int			 fd;

	*nv = *nm = 0;
	req(&q, MBOX_OP_SYNC, folder);
	q.modseq = since;
	if ((fd = call(&q, -1, &res)) == -1)
		return (res.status);
	CHECK(res.a <= 8 && res.count <= 8);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_folder(&r, f) == 1);
	for (i = 0; i < res.a; i++)
		CHECK(mbox_stream_next_uid(&r, &vanished[i]) == 1);
	for (i = 0; i < res.count; i++) {
		CHECK(mbox_stream_next_msg(&r, &msgs[i]) == 1);
		CHECK(msgs[i].envlen == 0 && msgs[i].bslen == 0);
		CHECK(i == 0 || msgs[i].uid > msgs[i - 1].uid);
	}
	/* Exactly that, nothing after. */
	CHECK(r.off == r.len);
	mbox_stream_free(buf, len);
	*nv = res.a;
	*nm = res.count;
	return (MBOX_OK);
}

/* SYNC: status, vanished and changed since, in one answer. */
static void
test_sync(void)
{
	struct treq		 q;
	struct mbox_folder	 f, g;
	struct mbox_stream_msg	 m[8];
	struct msg_mbox_result	 res;
	uint32_t		 v[8], nv, nm, i;
	uint64_t		 h0, h1;
	int			 fd;

	req(&q, MBOX_OP_CREATE, "Sync");
	CHECK(call_status(&q, -1) == MBOX_OK);
	for (i = 1; i <= 3; i++) {
		req(&q, MBOX_OP_APPEND, "Sync");
		CHECK(call_status(&q, bundle_fd(i)) == MBOX_OK);
	}
	CHECK(status_of_folder("Sync", &g) == MBOX_OK);
	h0 = g.info.highestmodseq;

	/* Since 0: every message, nothing vanished. */
	CHECK(sync_call("Sync", 0, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(f.info.exists == 3 && f.info.uidnext == 4 &&
	    f.info.highestmodseq == h0);
	CHECK(f.info.uidvalidity == g.info.uidvalidity);
	CHECK_STR(f.name, "Sync");
	CHECK(nv == 0 && nm == 3);
	CHECK(m[0].uid == 1 && m[1].uid == 2 && m[2].uid == 3);
	CHECK(m[0].seq == 1 && m[2].seq == 3);
	/* Since now: the status alone. */
	CHECK(sync_call("Sync", h0, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(f.info.exists == 3 && nv == 0 && nm == 0);

	/* A flag on 2, 1 expunged: both come in one answer. */
	req(&q, MBOX_OP_STORE, "Sync");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_FLAGGED;
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 2;
	CHECK((fd = call(&q, -1, &res)) != -1 && res.status == MBOX_OK);
	close(fd);
	req(&q, MBOX_OP_STORE, "Sync");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_DELETED;
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	CHECK((fd = call(&q, -1, &res)) != -1 && res.status == MBOX_OK);
	close(fd);
	req(&q, MBOX_OP_EXPUNGE, "Sync");
	CHECK((fd = call(&q, -1, &res)) != -1 && res.status == MBOX_OK);
	close(fd);
	CHECK(sync_call("Sync", h0, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(f.info.exists == 2 && f.info.highestmodseq > h0);
	CHECK(nv == 1 && v[0] == 1);
	CHECK(nm == 1 && m[0].uid == 2 && m[0].seq == 1);
	CHECK((m[0].flags & MAILFLAG_FLAGGED) && m[0].modseq > h0);
	h1 = f.info.highestmodseq;
	CHECK(sync_call("Sync", h1, &f, v, &nv, m, &nm) == MBOX_OK);
	CHECK(nv == 0 && nm == 0);

	/* Refused: no folder, a modseq out of range, a set. */
	CHECK(sync_call("Nope", h0, &f, v, &nv, m, &nm) == MBOX_ENOTFOUND);
	CHECK(sync_call("Sync", (uint64_t)INT64_MAX + 1, &f, v, &nv, m,
	    &nm) == MBOX_EINVAL);
	req(&q, MBOX_OP_SYNC, "Sync");
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	/* Another account's session: log in again. */
	req(&q, MBOX_OP_SYNC, "Sync");
	q.session = sid_smtpd;
	CHECK(call_status(&q, -1) == MBOX_ESESSION);

	req(&q, MBOX_OP_DELETE, "Sync");
	CHECK(call_status(&q, -1) == MBOX_OK);
	check_counter();
}

static void
test_search(void)
{
	static struct tsearch	 s;
	uint32_t			 uids[8];
	int				 status;

	/* INBOX: 1 "project alpha" \Seen, 2 "project beta". */
	memset(&s, 0, sizeof(s));
	s.session = sid;
	strlcpy(s.folder, "INBOX", sizeof(s.folder));
	search_op(&s.program, SEARCH_SUBJECT, 0, "project");
	CHECK(search(&s, uids, nitems(uids), &status) == 2);
	CHECK(status == MBOX_OK && uids[0] == 1 && uids[1] == 2);
	search_op(&s.program, SEARCH_FLAG, MAILFLAG_SEEN, NULL);
	search_op(&s.program, SEARCH_NOT, 0, NULL);
	search_op(&s.program, SEARCH_AND, 0, NULL);
	CHECK(search(&s, uids, nitems(uids), &status) == 1);
	CHECK(status == MBOX_OK && uids[0] == 2);

	memset(&s.program, 0, sizeof(s.program));
	search_op(&s.program, SEARCH_SUBJECT, 0, "lunch");
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_OK);
	strlcpy(s.folder, "Trash", sizeof(s.folder));
	CHECK(search(&s, uids, nitems(uids), &status) == 1);
	CHECK(status == MBOX_OK && uids[0] == 1);

	strlcpy(s.folder, "Nope", sizeof(s.folder));
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_ENOTFOUND);
	strlcpy(s.folder, "INBOX", sizeof(s.folder));
	/* Two keys and no operator: not a program. */
	search_op(&s.program, SEARCH_ALL, 0, NULL);
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_EINVAL);
	memset(&s.program, 0, sizeof(s.program));
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_EINVAL);
	search_op(&s.program, SEARCH_ALL, 0, NULL);
	memset(s.folder, 'A', sizeof(s.folder));
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_EINVAL);
	strlcpy(s.folder, "INBOX", sizeof(s.folder));
	s.session = sid_smtpd;
	CHECK(search(&s, uids, nitems(uids), &status) == 0);
	CHECK(status == MBOX_ESESSION);
	s.session = sid;
	CHECK(search(&s, uids, nitems(uids), &status) == 2);
	CHECK(status == MBOX_OK);
}

static void
test_usage(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;

	/* INBOX 1 and 2, Trash 1 (was INBOX 3); Archive is empty. */
	req(&q, MBOX_OP_USAGE, "");
	CHECK(call(&q, -1, &res) == -1);
	CHECK(res.status == MBOX_OK);
	CHECK(res.b == 3);
	CHECK(res.a == strlen(raws[1]) + strlen(raws[2]) + strlen(raws[3]));
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
	CHECK(call_status(&q, bundle_fd(1)) == MBOX_ESESSION);

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
	size_t			 nimap, nsmtp, len;
	void			*data;
	int			 sp[2], fd;

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
	CHECK(call_notified(&q, sid, bundle_fd(1), imap, &nimap, smtp,
	    &nsmtp) == MBOX_OK);
	CHECK(same2(imap, nimap, sid, sid2));
	CHECK(nsmtp == 1 && smtp[0] == sid_smtpd);
	req(&q, MBOX_OP_APPEND, "Notify");
	CHECK(call_notified(&q, sid2, bundle_fd(2), imap, &nimap, smtp,
	    &nsmtp) == MBOX_OK);
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
	fd = bundle_fd(3);
	CHECK(bundle_map(fd, &data, &len) == 0);
	CHECK(account_deliver(ALICE, data, len) == MBOX_OK);
	bundle_unmap(data, len);
	close(fd);
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

static void
test_malformed(void)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	unsigned char		 junk[10];
	int			 fd, nfds;

	nfds = open_fds();
	req(&q, MBOX_OP_STATUS, "INBOX");
	memset(q.folder, 'A', sizeof(q.folder));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_RENAME, "Trash");
	memset(q.folder2, 'A', sizeof(q.folder2));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_STORE, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	memset(q.keywords, 'k', sizeof(q.keywords));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	req(&q, MBOX_OP_FETCH, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);	/* no ranges */
	q.nranges = MBOX_RANGES_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	q.nranges = UINT32_MAX;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_EXPUNGE, "INBOX");
	q.nranges = MBOX_RANGES_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_COPY, "INBOX");
	strlcpy(q.folder2, "Archive", sizeof(q.folder2));
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_BODY, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_BODIES, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);	/* no ranges */
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	CHECK((fd = memfd_create("stray", MFD_CLOEXEC)) != -1);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	q.nranges = MBOX_RANGES_MAX + 1;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	req(&q, MBOX_OP_MAX, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, UINT32_MAX, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);
	req(&q, MBOX_OP_SUBSCRIBE, "INBOX");
	q.flags = 2;
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	/* A stray fd is refused and closed; a missing one too. */
	req(&q, MBOX_OP_FETCH, "INBOX");
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 1;
	CHECK((fd = memfd_create("stray", MFD_CLOEXEC)) != -1);
	CHECK(call_status(&q, fd) == MBOX_EINVAL);
	req(&q, MBOX_OP_LIST, "");
	CHECK(call_status(&q, bundle_fd(1)) == MBOX_EINVAL);
	req(&q, MBOX_OP_APPEND, "INBOX");
	CHECK(call_status(&q, -1) == MBOX_EINVAL);

	/*
	 * What msg_check() would stop before it got here, should it ever
	 * arrive: a short payload, a type that is not a request.
	 */
	memset(junk, 0, sizeof(junk));
	CHECK(call_raw(IMSG_MBOX_REQUEST, junk, sizeof(junk), -1, 0,
	    &res) == -1);
	CHECK(res.status == MBOX_EINVAL);
	CHECK(call_raw(IMSG_VAULT_RCPT, junk, sizeof(junk), -1, 0,
	    &res) == -1);
	CHECK(res.status == MBOX_EINVAL);

	/* Nothing leaked on vaultd's side, nothing changed. */
	CHECK(open_fds() == nfds);
	check_counter();
}

/* No fd for the answer: EIO, and no change made without an answer. */
static void
test_no_memfd(void)
{
	struct treq		 q;
	struct mbox_folder	 f;
	struct rlimit			 rl;
	uint64_t			 before;
	int				 lowest, st1, st2;

	CHECK((lowest = dup(0)) != -1);
	close(lowest);
	before = mbox_counter(alice->mbox);
	rl = saved_nofile;
	rl.rlim_cur = (rlim_t)lowest;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	req(&q, MBOX_OP_LIST, "");
	st1 = call_status(&q, -1);
	req(&q, MBOX_OP_STORE, "INBOX");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_ANSWERED;
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	st2 = call_status(&q, -1);
	CHECK(setrlimit(RLIMIT_NOFILE, &saved_nofile) == 0);
	CHECK(st1 == MBOX_EIO);
	CHECK(st2 == MBOX_EIO);
	CHECK(mbox_counter(alice->mbox) == before);
	CHECK(status_of_folder("INBOX", &f) == MBOX_OK);
}

#define BULK_BIG	(3 * 1024 * 1024 + 5)

/* One message by BODY, the one-at-a-time way BODIES must match. */
static void *
body_of(const char *folder, uint32_t uid, size_t *lenp)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	void			*buf;
	int			 fd;

	req(&q, MBOX_OP_BODY, folder);
	q.nranges = 1;
	q.ranges[0].first = uid;
	q.ranges[0].last = uid;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK);
	buf = result_buf(fd, lenp);
	CHECK(res.a == *lenp);
	return (buf);
}

/*
 * A BODIES request on "Bulk": the records must be the uids of want, in
 * that order, each exactly the bytes BODY gives for it.  Returns b.
 */
static uint64_t
bodies_call(const struct mbox_range *ranges, uint32_t nranges,
    const uint32_t *want, size_t nwant)
{
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_stream_r	 r;
	const char		*data;
	void			*buf, *one;
	size_t			 len, onelen, dlen, i;
	uint32_t		 uid;
	int			 fd;

	req(&q, MBOX_OP_BODIES, "Bulk");
	q.nranges = nranges;
	memcpy(q.ranges, ranges, nranges * sizeof(*ranges));
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK);
	CHECK(res.count == nwant && res.a == 0);
	buf = result_buf(fd, &len);
	mbox_stream_r_init(&r, buf, len);
	for (i = 0; i < nwant; i++) {
		CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
		CHECK(uid == want[i]);
		one = body_of("Bulk", uid, &onelen);
		CHECK(dlen == onelen && memcmp(data, one, dlen) == 0);
		mbox_stream_free(one, onelen);
	}
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);
	CHECK(r.off == len);
	mbox_stream_free(buf, len);
	return (res.b);
}

/*
 * BODIES end to end: many messages in one answer, ascending, expunged
 * ones skipped, cut by the budget, and b telling where to go on.
 */
static void
test_bodies(void)
{
	static const char *const small[] = {
		"From: a@example.org\r\nSubject: one\r\n\r\nFirst.\r\n",
		"From: a@example.org\r\nSubject: two\r\n\r\nSecond.\r\n",
		"From: a@example.org\r\nSubject: five\r\n\r\nFifth.\r\n",
	};
	struct treq	 q;
	struct msg_mbox_result	 res;
	struct mbox_range	 rg[3];
	char			*big;
	void			*buf;
	size_t			 i, len;
	uint32_t		 want[2];
	int			 fd;

	CHECK((big = malloc(BULK_BIG)) != NULL);
	for (i = 0; i < BULK_BIG; i++)
		big[i] = "Subject: big\r\n"[i % 14];
	req(&q, MBOX_OP_CREATE, "Bulk");
	CHECK(call_status(&q, -1) == MBOX_OK);
	/* Uids 1 small, 2 small, 3 big, 4 big (another), 5 small. */
	for (i = 1; i <= 5; i++) {
		req(&q, MBOX_OP_APPEND, "Bulk");
		if (i == 3 || i == 4) {
			big[BULK_BIG - 3] = i == 3 ? 'x' : 'y';
			fd = raw_fd(big, BULK_BIG);
		} else
			fd = raw_fd(small[i == 5 ? 2 : i - 1],
			    strlen(small[i == 5 ? 2 : i - 1]));
		CHECK(call(&q, fd, &res) == -1);
		CHECK(res.status == MBOX_OK && res.b == i);
	}
	req(&q, MBOX_OP_STORE, "Bulk");
	q.store_op = STORE_ADD;
	q.flags = MAILFLAG_DELETED;
	q.nranges = 1;
	q.ranges[0].first = 2;
	q.ranges[0].last = 2;
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	/* Two statements: the order of arguments is unspecified. */
	buf = result_buf(fd, &len);
	mbox_stream_free(buf, len);
	req(&q, MBOX_OP_EXPUNGE, "Bulk");
	fd = call(&q, -1, &res);
	CHECK(res.status == MBOX_OK && res.count == 1);
	/* Two statements: the order of arguments is unspecified. */
	buf = result_buf(fd, &len);
	mbox_stream_free(buf, len);

	/* 1:*: the budget stops before the second big one. */
	CHECK(1 + 2 * (size_t)BULK_BIG > MBOX_BODIES_BUDGET);
	rg[0].first = 1;
	rg[0].last = UINT32_MAX;
	want[0] = 1;
	want[1] = 3;
	CHECK(bodies_call(rg, 1, want, 2) == 3);
	/* Going on after b: the rest, and b says there is no more. */
	rg[0].first = 4;
	want[0] = 4;
	want[1] = 5;
	CHECK(bodies_call(rg, 1, want, 2) == UINT32_MAX);
	/* Unsorted and reversed, with the expunged uid: ascending, once. */
	rg[0].first = 5;
	rg[0].last = 5;
	rg[1].first = 1;
	rg[1].last = 2;
	rg[2].first = 2;
	rg[2].last = 1;
	want[0] = 1;
	want[1] = 5;
	CHECK(bodies_call(rg, 3, want, 2) == 5);
	/* Nothing there: an empty stream, and done. */
	rg[0].first = 7;
	rg[0].last = 9;
	CHECK(bodies_call(rg, 1, want, 0) == 9);

	/* BODY (and so BODIES) gives back the bytes appended. */
	buf = body_of("Bulk", 3, &len);
	big[BULK_BIG - 3] = 'x';
	CHECK(len == BULK_BIG && memcmp(buf, big, len) == 0);
	mbox_stream_free(buf, len);
	buf = body_of("Bulk", 5, &len);
	CHECK(len == strlen(small[2]) && memcmp(buf, small[2], len) == 0);
	mbox_stream_free(buf, len);

	/* No such folder, here or for another account; no such session. */
	req(&q, MBOX_OP_BODIES, "Nope");
	q.nranges = 1;
	q.ranges[0].first = 1;
	q.ranges[0].last = UINT32_MAX;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	strlcpy(q.folder, "Bulk", sizeof(q.folder));
	q.session = sid_bob;
	CHECK(call_status(&q, -1) == MBOX_ENOTFOUND);
	q.session = sid_smtpd;		/* alice's, but another role's */
	CHECK(call_status(&q, -1) == MBOX_ESESSION);
	check_counter();
	free(big);
}

/* Body records through the writer and back. */
static void
test_stream_bodies(void)
{
	static struct mbox_stream_w	 w;
	struct mbox_stream_r		 r;
	unsigned char			*big;
	const char			*data;
	void				*buf;
	size_t				 len, dlen, off, n;
	size_t				 biglen = 200 * 1024 + 3;
	uint32_t			 uid;
	int				 fd, i;

	CHECK((big = malloc(biglen)) != NULL);
	for (off = 0; off < biglen; off++)
		big[off] = (unsigned char)(off * 7);	/* NULs too */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	CHECK(mbox_stream_put_body_hdr(&w, 5, 3) == 0);
	CHECK(mbox_stream_put_bytes(&w, "a\0b", 3) == 0);
	/* In pieces of any size, some larger than the writer's buffer. */
	CHECK(mbox_stream_put_body_hdr(&w, 9, biglen) == 0);
	for (off = 0; off < biglen; off += n) {
		n = off == 0 ? 1 : biglen - off > 70000 ? 70000 : biglen - off;
		CHECK(mbox_stream_put_bytes(&w, big + off, n) == 0);
	}
	CHECK(mbox_stream_put_bytes(&w, NULL, 0) == 0);
	CHECK(mbox_stream_put_body_hdr(&w, 10, 0) == 0);	/* empty */
	CHECK(mbox_stream_put_body_hdr(&w, UINT32_MAX - 1, 1) == 0);
	CHECK(mbox_stream_put_bytes(&w, "z", 1) == 0);
	/* Other records may follow a whole body. */
	CHECK(mbox_stream_put_uid(&w, 77) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 4 * sizeof(struct mbox_stream_body_hdr) + 3 + biglen +
	    1 + 4);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == 5 && dlen == 3 && memcmp(data, "a\0b", 3) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == 9 && dlen == biglen && memcmp(data, big, biglen) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == 10 && dlen == 0 && data != NULL);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 1);
	CHECK(uid == UINT32_MAX - 1 && dlen == 1 && data[0] == 'z');
	CHECK(mbox_stream_next_uid(&r, &uid) == 1 && uid == 77);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);
	mbox_stream_free(buf, len);
	free(big);

	/* Writer refusals, each sticky: finish fails after any of them. */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC)) != -1);
	for (i = 0; i < 11; i++) {
		mbox_stream_w_init(&w, fd);
		switch (i) {
		case 0:
			CHECK(mbox_stream_put_body_hdr(&w, 0, 1) == -1);
			break;
		case 1:
			CHECK(mbox_stream_put_body_hdr(&w, UINT32_MAX, 1) ==
			    -1);
			break;
		case 2:
			CHECK(mbox_stream_put_body_hdr(&w, 1,
			    (uint64_t)BUNDLE_RAW_MAX + 1) == -1);
			break;
		case 3:		/* uids must rise */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 0) == 0);
			CHECK(mbox_stream_put_body_hdr(&w, 5, 0) == -1);
			break;
		case 4:
			CHECK(mbox_stream_put_body_hdr(&w, 5, 0) == 0);
			CHECK(mbox_stream_put_body_hdr(&w, 4, 0) == -1);
			break;
		case 5:		/* bytes with no body open */
			CHECK(mbox_stream_put_bytes(&w, "x", 1) == -1);
			break;
		case 6:		/* more than announced */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, "xyz", 3) == -1);
			break;
		case 7:		/* another record inside a body */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, "x", 1) == 0);
			CHECK(mbox_stream_put_uid(&w, 1) == -1);
			break;
		case 8:
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_body_hdr(&w, 6, 2) == -1);
			break;
		case 9:
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, NULL, 2) == -1);
			break;
		default:	/* a body cut short: only finish sees it */
			CHECK(mbox_stream_put_body_hdr(&w, 5, 2) == 0);
			CHECK(mbox_stream_put_bytes(&w, "x", 1) == 0);
			break;
		}
		if (i < 10)
			CHECK(mbox_stream_put_bytes(&w, NULL, 0) == -1);
		CHECK(mbox_stream_w_finish(&w) == -1);
	}
	close(fd);
}

/* Writer and reader on their own. */
static void
test_stream_roundtrip(void)
{
	static struct mbox_stream_w	 w;
	struct mbox_folder	 f, g;
	struct mbox_stream_msg		 m, n;
	struct mbox_stream_r		 r;
	char				*big;
	void				*buf;
	size_t				 len, biglen = 200 * 1024;
	uint32_t			 a, b;
	int				 fd;

	CHECK((big = malloc(biglen)) != NULL);
	memset(big, 'e', biglen);
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	memset(&f, 0, sizeof(f));
	f.info.id = -5;
	f.info.special = 4;
	f.info.uidvalidity = 77;
	f.info.highestmodseq = UINT64_MAX;
	strlcpy(f.name, "Fo/lder", sizeof(f.name));
	CHECK(mbox_stream_put_folder(&w, &f) == 0);
	memset(&m, 0, sizeof(m));
	m.uid = 9;
	m.seq = 1;
	m.size = 12345;
	strlcpy(m.keywords, "$A $B", sizeof(m.keywords));
	m.envelope = big;
	m.envlen = biglen;		/* more than the buffer */
	m.bodystructure = "(bs)";
	m.bslen = 4;
	CHECK(mbox_stream_put_msg(&w, &m) == 0);
	CHECK(mbox_stream_put_uid(&w, 42) == 0);
	CHECK(mbox_stream_put_pair(&w, 1, 2) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);

	/* Unsealed: refused.  Sealed: read. */
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == -1 &&
	    errno == EPERM);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == -1 &&
	    errno == EPERM);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) == 0);
	CHECK(mbox_stream_read_fd(fd, 100, &buf, &len) == -1 &&
	    errno == EFBIG);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_folder(&r, &g) == 1);
	CHECK(g.info.id == -5 && g.info.special == 4 &&
	    g.info.uidvalidity == 77 &&
	    g.info.highestmodseq == UINT64_MAX);
	CHECK_STR(g.name, "Fo/lder");
	CHECK(mbox_stream_next_msg(&r, &n) == 1);
	CHECK(n.uid == 9 && n.seq == 1 && n.size == 12345);
	CHECK_STR(n.keywords, "$A $B");
	CHECK(n.envlen == biglen && memcmp(n.envelope, big, biglen) == 0);
	CHECK(n.bslen == 4 && memcmp(n.bodystructure, "(bs)", 4) == 0);
	CHECK(mbox_stream_next_uid(&r, &a) == 1 && a == 42);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 1 && a == 1 && b == 2);
	CHECK(mbox_stream_next_pair(&r, &a, &b) == 0);
	mbox_stream_free(buf, len);

	/* Writer refusals are sticky; so are write errors. */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC)) != -1);
	mbox_stream_w_init(&w, fd);
	memset(&f, 0, sizeof(f));
	CHECK(mbox_stream_put_folder(&w, &f) == -1);	/* empty name */
	CHECK(mbox_stream_put_uid(&w, 1) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	mbox_stream_w_init(&w, fd);
	memset(f.name, 'n', sizeof(f.name));		/* unterminated */
	CHECK(mbox_stream_put_folder(&w, &f) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	mbox_stream_w_init(&w, fd);
	m.envlen = MBOX_STREAM_META_MAX + 1;
	CHECK(mbox_stream_put_msg(&w, &m) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	mbox_stream_w_init(&w, fd);
	m.envelope = NULL;
	m.envlen = 3;
	CHECK(mbox_stream_put_msg(&w, &m) == -1);
	CHECK(mbox_stream_w_finish(&w) == -1);
	close(fd);
	CHECK((fd = open("/dev/null", O_RDONLY)) != -1);
	mbox_stream_w_init(&w, fd);
	CHECK(mbox_stream_put_uid(&w, 1) == 0);		/* buffered */
	CHECK(mbox_stream_w_finish(&w) == -1);
	close(fd);
	free(big);

	/* Not a memfd at all, or sealed and empty. */
	CHECK(mbox_stream_read_fd(0, RESULT_MAX, &buf, &len) == -1);
	CHECK((fd = open(".", O_RDONLY | O_DIRECTORY)) != -1);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == -1);
	close(fd);
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	CHECK(buf != NULL && len == 0);
	mbox_stream_r_init(&r, buf, len);
	CHECK(mbox_stream_next_msg(&r, &n) == 0);
	CHECK(mbox_stream_next_folder(&r, &g) == 0);
	mbox_stream_free(buf, len);
	close(fd);
}

/* Read a copy of exactly len bytes, so that ASan sees any overrun. */
static int
read_all(const void *data, size_t len, int kind)
{
	struct mbox_stream_r		 r;
	struct mbox_folder	 f;
	struct mbox_stream_msg		 m;
	unsigned char			*copy;
	const char			*body;
	size_t				 dlen, k;
	unsigned int			 sum = 0;
	uint32_t			 a, b;
	int				 rc, n = 0, i;

	CHECK((copy = malloc(len > 0 ? len : 1)) != NULL);
	if (len > 0)
		memcpy(copy, data, len);
	mbox_stream_r_init(&r, copy, len);
	for (i = 0; i < 100; i++) {
		switch (kind) {
		case 0:
			rc = mbox_stream_next_folder(&r, &f);
			break;
		case 1:
			rc = mbox_stream_next_msg(&r, &m);
			if (rc == 1) {
				/* Touch every byte it points at. */
				CHECK(m.envlen == 0 || memchr(m.envelope,
				    '\0', m.envlen) == NULL);
				CHECK(m.bslen == 0 || memchr(m.bodystructure,
				    '\0', m.bslen) == NULL);
				CHECK(strlen(m.keywords) < sizeof(m.keywords));
			}
			break;
		case 2:
			rc = mbox_stream_next_uid(&r, &a);
			break;
		case 4:
			rc = mbox_stream_next_body(&r, &a, &body, &dlen);
			if (rc == 1) {
				/* Touch every byte it points at. */
				CHECK(a != 0 && a != UINT32_MAX);
				for (k = 0; k < dlen; k++)
					sum += (unsigned char)body[k];
			}
			break;
		default:
			rc = mbox_stream_next_pair(&r, &a, &b);
			break;
		}
		if (rc != 1)
			break;
		n++;
	}
	CHECK(i < 100);
	(void)sum;
	free(copy);
	/* A failure is for good. */
	if (rc == -1) {
		CHECK(mbox_stream_next_uid(&r, &a) == -1);
		return (-1);
	}
	return (n);
}

/* Body records cut anywhere, and headers that lie. */
static void
test_stream_hostile_bodies(void)
{
	static struct mbox_stream_w	 w;
	static const struct {
		uint32_t	 uid;
		uint32_t	 pad;
		uint64_t	 size;
	} bad[] = {
		{ 0, 0, 64 }, { UINT32_MAX, 0, 64 }, { 1, 1, 64 },
		{ 1, 0x80000000U, 64 }, { 1, 0, 65 }, { 1, 0, UINT64_MAX },
		{ 1, 0, (uint64_t)BUNDLE_RAW_MAX + 1 },
		{ 1, 0, ((uint64_t)1 << 32) + 64 },
	};
	struct mbox_stream_body_hdr	 bh;
	unsigned char			 hb[2 * sizeof(bh) + 64];
	void				*buf;
	size_t				 len, cut, i;
	int				 fd, rc;

	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	CHECK(mbox_stream_put_body_hdr(&w, 3, 10) == 0);
	CHECK(mbox_stream_put_bytes(&w, "0123456789", 10) == 0);
	CHECK(mbox_stream_put_body_hdr(&w, 8, 5) == 0);
	CHECK(mbox_stream_put_bytes(&w, "abcde", 5) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 2 * sizeof(bh) + 15);
	CHECK(read_all(buf, len, 4) == 2);
	for (cut = 0; cut < len; cut++) {
		rc = read_all(buf, cut, 4);
		CHECK(rc == (cut == 0 ? 0 : cut == sizeof(bh) + 10 ? 1 : -1));
	}
	mbox_stream_free(buf, len);

	/* uid 0 or "*", pad set, a size past the end or above the max. */
	memset(hb, 'x', sizeof(hb));
	for (i = 0; i < nitems(bad); i++) {
		memset(&bh, 0, sizeof(bh));
		bh.uid = bad[i].uid;
		bh.pad = bad[i].pad;
		bh.size = bad[i].size;
		memcpy(hb, &bh, sizeof(bh));
		CHECK(read_all(hb, sizeof(bh) + 64, 4) == -1);
	}
	memset(&bh, 0, sizeof(bh));
	bh.uid = 1;
	bh.size = 64;
	memcpy(hb, &bh, sizeof(bh));
	CHECK(read_all(hb, sizeof(bh) + 64, 4) == 1);
	CHECK(read_all(hb, sizeof(bh) + 63, 4) == -1);
	CHECK(read_all(hb, sizeof(bh) - 1, 4) == -1);	/* cut header */

	/* Uids must rise from record to record. */
	for (i = 0; i < 3; i++) {
		memset(&bh, 0, sizeof(bh));
		bh.uid = 5;
		memcpy(hb, &bh, sizeof(bh));
		bh.uid = i == 0 ? 5 : i == 1 ? 4 : 6;
		memcpy(hb + sizeof(bh), &bh, sizeof(bh));
		CHECK(read_all(hb, 2 * sizeof(bh), 4) == (i == 2 ? 2 : -1));
	}
}

static void
test_stream_hostile(void)
{
	static struct mbox_stream_w	 w;
	struct mbox_stream_folder_hdr	 fh;
	struct mbox_stream_msg_hdr	 mh;
	struct mbox_folder	 f;
	struct mbox_stream_msg		 m;
	struct mbox_stream_r		 r;
	unsigned char			 hb[sizeof(fh) + sizeof(mh) + 64];
	void				*buf;
	const char			*data;
	size_t				 len, cut, i, dlen;
	uint32_t			 uid;
	int				 fd, rc;

	/* A valid stream of two folders and two messages, cut anywhere. */
	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	memset(&f, 0, sizeof(f));
	strlcpy(f.name, "INBOX", sizeof(f.name));
	CHECK(mbox_stream_put_folder(&w, &f) == 0);
	strlcpy(f.name, "Sent", sizeof(f.name));
	CHECK(mbox_stream_put_folder(&w, &f) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 2 * sizeof(fh) + 5 + 4);
	CHECK(read_all(buf, len, 0) == 2);
	for (cut = 0; cut < len; cut++) {
		rc = read_all(buf, cut, 0);
		if (cut == 0)
			CHECK(rc == 0);
		else if (cut == sizeof(fh) + 5)
			CHECK(rc == 1);
		else
			CHECK(rc == -1);
	}
	mbox_stream_free(buf, len);

	CHECK((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) !=
	    -1);
	mbox_stream_w_init(&w, fd);
	memset(&m, 0, sizeof(m));
	strlcpy(m.keywords, "$K", sizeof(m.keywords));
	m.envelope = "(env)";
	m.envlen = 5;
	m.bodystructure = "(bs)";
	m.bslen = 4;
	CHECK(mbox_stream_put_msg(&w, &m) == 0);
	CHECK(mbox_stream_put_msg(&w, &m) == 0);
	CHECK(mbox_stream_w_finish(&w) == 0);
	CHECK(fcntl(fd, F_ADD_SEALS, ALL_SEALS) == 0);
	CHECK(mbox_stream_read_fd(fd, RESULT_MAX, &buf, &len) == 0);
	close(fd);
	CHECK(len == 2 * (sizeof(mh) + 2 + 5 + 4));
	CHECK(read_all(buf, len, 1) == 2);
	for (cut = 0; cut < len; cut++) {
		rc = read_all(buf, cut, 1);
		CHECK(rc == (cut == 0 ? 0 : cut == len / 2 ? 1 : -1));
	}
	/* Uids and pairs over the same bytes: only the length matters. */
	CHECK(read_all(buf, len & ~(size_t)3, 2) == (int)(len / 4));
	CHECK(read_all(buf, (len & ~(size_t)3) - 1, 2) == -1);
	CHECK(read_all(buf, 4, 3) == -1);
	CHECK(read_all(buf, 8, 3) == 1);
	mbox_stream_free(buf, len);

	/* Lengths past the end, huge, or with a NUL where none may be. */
	memset(&fh, 0, sizeof(fh));
	memset(hb, 'x', sizeof(hb));
	for (i = 0; i < 5; i++) {
		static const uint32_t	 bad[] = { 0, UINT32_MAX, 2000,
			    MBOX_NAME_MAX, 65 };
		fh.namelen = bad[i];
		memcpy(hb, &fh, sizeof(fh));
		CHECK(read_all(hb, sizeof(fh) + 64, 0) == -1);
	}
	fh.namelen = 64;
	memcpy(hb, &fh, sizeof(fh));
	CHECK(read_all(hb, sizeof(fh) + 64, 0) == 1);
	hb[sizeof(fh) + 10] = '\0';
	CHECK(read_all(hb, sizeof(fh) + 64, 0) == -1);

	memset(hb, 'x', sizeof(hb));
	for (i = 0; i < 8; i++) {
		static const uint32_t	 bad[][3] = {
			{ 65, 0, 0 }, { 0, 65, 0 }, { 0, 0, 65 },
			{ UINT32_MAX, 0, 0 }, { 0, UINT32_MAX, 0 },
			{ 0, 0, UINT32_MAX },
			{ MBOX_KWLIST_MAX, 0, 0 },
			{ 40, MBOX_STREAM_META_MAX, MBOX_STREAM_META_MAX },
		};
		memset(&mh, 0, sizeof(mh));
		mh.kwlen = bad[i][0];
		mh.envlen = bad[i][1];
		mh.bslen = bad[i][2];
		memcpy(hb, &mh, sizeof(mh));
		CHECK(read_all(hb, sizeof(mh) + 64, 1) == -1);
	}
	memset(&mh, 0, sizeof(mh));
	mh.kwlen = 20;
	mh.envlen = 30;
	mh.bslen = 14;
	memcpy(hb, &mh, sizeof(mh));
	CHECK(read_all(hb, sizeof(mh) + 64, 1) == 1);
	for (i = 0; i < 64; i += 13) {
		hb[sizeof(mh) + i] = '\0';
		CHECK(read_all(hb, sizeof(mh) + 64, 1) == -1);
		hb[sizeof(mh) + i] = 'x';
	}
	CHECK(read_all(hb, sizeof(mh) + 64, 1) == 1);

	/* A NULL buffer reads as empty. */
	mbox_stream_r_init(&r, NULL, 5);
	CHECK(mbox_stream_next_msg(&r, &m) == 0);
	CHECK(mbox_stream_next_body(&r, &uid, &data, &dlen) == 0);

	test_stream_hostile_bodies();
}

static void
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

static int
rm_cb(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	return (remove(path));
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	if (sodium_init() == -1)
		return (1);
	event_init();
	if (getrlimit(RLIMIT_NOFILE, &saved_nofile) == -1)
		return (1);
	RUN(test_setup);
	RUN(test_list);
	RUN(test_folders);
	RUN(test_append);
	RUN(test_fetch);
	RUN(test_body);
	RUN(test_store);
	RUN(test_changedsince);
	RUN(test_copy_move);
	RUN(test_expunge);
	RUN(test_sync);
	RUN(test_search);
	RUN(test_usage);
	RUN(test_sessions);
	RUN(test_notify);
	RUN(test_malformed);
	RUN(test_no_memfd);
	/* Should a check in it have failed with the limit lowered. */
	if (setrlimit(RLIMIT_NOFILE, &saved_nofile) == -1)
		return (1);
	RUN(test_bodies);
	RUN(test_stream_roundtrip);
	RUN(test_stream_bodies);
	RUN(test_stream_hostile);
	RUN(test_cleanup);
	dir_close();
	close(account_spool());
	serverkeys_free();
	if (chdir("/") == 0)
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	TEST_EXIT();
}
