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
 * msg_check() and the channel dispatcher: a message of an unknown type,
 * of the wrong size for its type, or with an fd where none belongs (or
 * without one where one must come) never reaches a handler: the peer is
 * dropped instead.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "test.h"
#include "../../ctld/ctld.h"

TEST_GLOBALS;

/* supervise.c is linked for test_send_conf: ctld.c's part of it. */
struct ctld	*ctld;

void
ctld_shutdown(void)
{
}

int
ctld_reload(char *err, size_t len)
{
	(void)err;
	(void)len;
	return (0);
}

static struct imsg
fake(uint32_t type, size_t len, int fd)
{
	static char	 buf[8192];
	struct imsg	 m;

	memset(&m, 0, sizeof(m));
	m.hdr.type = type;
	m.data = len ? buf : NULL;
	m.datalen = len;
	m.fd = fd;
	return (m);
}

static void
test_check_sizes(void)
{
	struct imsg	 m;

	m = fake(IMSG_CONF_START, sizeof(struct msg_conf), -1);
	CHECK(msg_check(&m) == 0);
	m = fake(IMSG_CONF_START, sizeof(struct msg_conf) - 1, -1);
	CHECK(msg_check(&m) == -1 && errno == EBADMSG);
	m = fake(IMSG_CONF_START, sizeof(struct msg_conf) + 1, -1);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_CONF_END, 0, -1);
	CHECK(msg_check(&m) == 0);
	m = fake(IMSG_CONF_END, 1, -1);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_CTL_STATUS, 0, -1);
	CHECK(msg_check(&m) == 0);
	m = fake(IMSG_CTL_STATUS, sizeof(struct msg_status), -1);
	CHECK(msg_check(&m) == 0);
	m = fake(IMSG_CTL_STATUS, sizeof(struct msg_status) + 4, -1);
	CHECK(msg_check(&m) == -1);
}

/*
 * A mailbox request says its own size: msg_check() takes only the exact
 * size its header declares for its operation, and the encoder and the
 * decoder agree.
 */
static void
test_check_mbox_req(void)
{
	static unsigned char	 buf[MBOX_REQ_WIRE_MAX];
	static struct mbox_req	 q, d;
	static struct search_program p, dp;
	struct mbox_req_hdr	 h;
	struct imsg		 m;
	size_t			 len;

	memset(&q, 0, sizeof(q));
	q.session = 7;
	q.op = MBOX_OP_STATUS;
	strlcpy(q.folder, "INBOX", sizeof(q.folder));
	strlcpy(q.folder2, "ignored", sizeof(q.folder2));
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == 0);
	CHECK(len == sizeof(h) + 5);
	memset(&m, 0, sizeof(m));
	m.hdr.type = IMSG_MBOX_REQUEST;
	m.data = buf;
	m.datalen = len;
	m.fd = -1;
	CHECK(msg_check(&m) == 0);
	CHECK(mbox_req_decode(buf, len, &d, &dp) == NULL);
	CHECK(d.session == 7 && d.op == MBOX_OP_STATUS);
	CHECK_STR(d.folder, "INBOX");
	CHECK(d.folder2[0] == '\0');
	/* One byte more or less, a header alone, nothing. */
	m.datalen = len + 1;
	CHECK(msg_check(&m) == -1 && errno == EBADMSG);
	m.datalen = len - 1;
	CHECK(msg_check(&m) == -1);
	m.datalen = sizeof(h) - 1;
	CHECK(msg_check(&m) == -1);
	m.datalen = 0;
	m.data = NULL;
	CHECK(msg_check(&m) == -1);
	m.data = buf;

	/* A part the operation does not take. */
	memcpy(&h, buf, sizeof(h));
	h.name2len = 1;
	memcpy(buf, &h, sizeof(h));
	m.datalen = len + 1;
	CHECK(msg_check(&m) == -1);
	CHECK(mbox_req_decode(buf, len + 1, &d, &dp) != NULL);
	/* A NUL inside a name passes the size check, not the decoder. */
	h.name2len = 0;
	memcpy(buf, &h, sizeof(h));
	buf[sizeof(h) + 2] = '\0';
	m.datalen = len;
	CHECK(msg_check(&m) == 0);
	CHECK(mbox_req_decode(buf, len, &d, &dp) != NULL);
	/* Sections, an unknown operation, counts above their maxima. */
	h.nsects = 1;
	memcpy(buf, &h, sizeof(h));
	CHECK(msg_check(&m) == -1);
	h.nsects = 0;
	h.op = MBOX_OP_MAX;
	memcpy(buf, &h, sizeof(h));
	CHECK(msg_check(&m) == -1);

	/* FETCH: arguments and ranges travel; an overlong set does not. */
	q.op = MBOX_OP_FETCH;
	q.fetch.how = MBOX_FETCH_NOMETA | MBOX_FETCH_CHANGEDSINCE;
	q.fetch.changedsince = 42;
	q.nranges = 2;
	q.ranges[0].first = q.ranges[0].last = 1;
	q.ranges[1].first = 3;
	q.ranges[1].last = UINT32_MAX;
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == 0);
	CHECK(len == sizeof(h) + sizeof(q.fetch) + 2 * 8 + 5);
	CHECK(mbox_req_size_ok(buf, len));
	CHECK(mbox_req_decode(buf, len, &d, &dp) == NULL);
	CHECK(d.fetch.how == q.fetch.how && d.fetch.changedsince == 42);
	CHECK(d.nranges == 2 && d.ranges[1].last == UINT32_MAX);
	q.nranges = MBOX_RANGES_MAX + 1;
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == -1);
	q.nranges = 0;
	q.op = MBOX_OP_STATUS;
	q.nranges = 1;
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == -1);
	q.nranges = 0;

	/* SEARCH: only the program's nodes, bounded. */
	memset(&p, 0, sizeof(p));
	p.nops = 1;
	p.ops[0].op = SEARCH_ALL;
	q.op = MBOX_OP_SEARCH;
	CHECK(mbox_req_encode(&q, &p, buf, &len) == 0);
	CHECK(len == sizeof(h) + sizeof(struct search_op_s) + 5);
	CHECK(mbox_req_decode(buf, len, &d, &dp) == NULL);
	CHECK(dp.nops == 1 && dp.ops[0].op == SEARCH_ALL);
	p.nops = SEARCH_MAX_OPS + 1;
	CHECK(mbox_req_encode(&q, &p, buf, &len) == -1);

	/* SECTIONS: ranges and sections, each checked. */
	q.op = MBOX_OP_SECTIONS;
	q.nranges = 1;
	q.ranges[0].first = q.ranges[0].last = 9;
	q.nsects = 0;
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == 0);
	CHECK(mbox_req_decode(buf, len, &d, &dp) != NULL);	/* none */
	q.nsects = 2;
	CHECK(section_parse("1.2.MIME", &q.sects[0]) == 0);
	CHECK(section_parse("TEXT", &q.sects[1]) == 0);
	q.sects[1].origin = 10;
	q.sects[1].count = 1024;
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == 0);
	CHECK(len == sizeof(h) + 8 + 2 * sizeof(struct section) + 5);
	memset(&m, 0, sizeof(m));
	m.hdr.type = IMSG_MBOX_REQUEST;
	m.data = buf;
	m.datalen = len;
	m.fd = -1;
	CHECK(msg_check(&m) == 0);
	CHECK(mbox_req_decode(buf, len, &d, &dp) == NULL);
	CHECK(d.nsects == 2 && d.sects[0].nparts == 2 &&
	    d.sects[0].part[1] == 2 && d.sects[0].text == SECTION_MIME &&
	    d.sects[1].nparts == 0 && d.sects[1].text == SECTION_TEXT &&
	    d.sects[1].origin == 10 && d.sects[1].count == 1024);
	/* One section too many: the encoder refuses, the size too. */
	q.nsects = MBOX_SECTIONS_MAX + 1;
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == -1);
	q.nsects = 2;
	CHECK(mbox_req_encode(&q, NULL, buf, &len) == 0);
	memcpy(&h, buf, sizeof(h));
	h.nsects = MBOX_SECTIONS_MAX + 1;
	memcpy(buf, &h, sizeof(h));
	CHECK(!mbox_req_size_ok(buf, len));
	/* Bad paths: the size is right, the decoder refuses. */
	{
		static const struct {
			uint32_t	 nparts, text, origin, count;
			uint32_t	 p0, p1;
		} bad[] = {
			{ 1, SECTION_ALL, 0, 0, 0, 0 },	/* part 0 */
			{ 1, SECTION_ALL, 0, 0, 1000000000, 0 },
			{ 0, SECTION_MIME, 0, 0, 0, 0 },	/* MIME alone */
			{ 1, SECTION_NTEXT, 0, 0, 1, 0 },
			{ 1, SECTION_ALL, 0, 0, 1, 3 },	/* unused, not 0 */
			{ 1, SECTION_ALL, 5, 0, 1, 0 },	/* no count */
			{ SECTION_PARTS_MAX + 1, SECTION_ALL, 0, 0, 1, 1 },
		};
		size_t	 k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			memset(&q.sects[1], 0, sizeof(q.sects[1]));
			q.sects[1].nparts = bad[k].nparts;
			q.sects[1].text = bad[k].text;
			q.sects[1].origin = bad[k].origin;
			q.sects[1].count = bad[k].count;
			q.sects[1].part[0] = bad[k].p0;
			q.sects[1].part[1] = bad[k].p1;
			CHECK(mbox_req_encode(&q, NULL, buf, &len) == 0);
			CHECK(mbox_req_size_ok(buf, len));
			CHECK(mbox_req_decode(buf, len, &d, &dp) != NULL);
		}
	}
	q.nsects = 0;
	q.nranges = 0;
	q.op = MBOX_OP_SEARCH;
	/* The largest request still fits a vault channel's message. */
	CHECK(MBOX_REQ_WIRE_MAX + IMSG_HEADER_SIZE <= IMSG_VAULT_MAXSIZE);
}

/*
 * Every answer of vaultd to a front starts with the same status field,
 * from the one family of mbox_proto.h.
 */
static void
test_check_results(void)
{
	struct imsg	 m;

	CHECK(offsetof(struct msg_auth_result, status) == 0);
	CHECK(offsetof(struct msg_rcpt_result, status) == 0);
	CHECK(offsetof(struct msg_deliver_result, status) == 0);
	CHECK(offsetof(struct msg_mbox_result, status) == 0);
	CHECK(sizeof(((struct msg_auth_result *)0)->status) == 4);
	m = fake(IMSG_VAULT_AUTH_RESULT, sizeof(struct msg_auth_result), -1);
	CHECK(msg_check(&m) == 0);
	m = fake(IMSG_VAULT_AUTH_RESULT, 4, -1);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_VAULT_DELIVER_RESULT, 4, -1);
	CHECK(msg_check(&m) == 0);
	CHECK_STR(msg_type_name(IMSG_VAULT_AUTH_RESULT), "vault-auth-result");
	/* Distinct codes, the mailbox ones unchanged. */
	CHECK(MBOX_OK == 0 && MBOX_ESESSION == 7);
	CHECK(MBOX_EAUTH != MBOX_ELOCKED && MBOX_ELOCKED != MBOX_ETEMP &&
	    MBOX_ETEMP > MBOX_ESESSION);
}

/* vaultd's change notice: a session id, never an fd. */
static void
test_check_notify(void)
{
	struct imsg	 m;

	m = fake(IMSG_MBOX_NOTIFY, sizeof(struct msg_session), -1);
	CHECK(msg_check(&m) == 0);
	m = fake(IMSG_MBOX_NOTIFY, sizeof(struct msg_session) - 1, -1);
	CHECK(msg_check(&m) == -1 && errno == EBADMSG);
	m = fake(IMSG_MBOX_NOTIFY, sizeof(struct msg_session) + 1, -1);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_MBOX_NOTIFY, 0, -1);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_MBOX_NOTIFY, sizeof(struct msg_session), 7);
	CHECK(msg_check(&m) == -1);
	CHECK(sizeof(struct msg_session) == 4);
	CHECK_STR(msg_type_name(IMSG_MBOX_NOTIFY), "mbox-notify");
	/* It sits with the other front-vaultd messages. */
	CHECK(IMSG_MBOX_NOTIFY > IMSG_VAULT_HELLO &&
	    IMSG_MBOX_NOTIFY < IMSG_CTL_ADMIN);
	CHECK(IMSG_VERSION >= 8);
}

/*
 * A login carries both prefix keys of its client, each with room for
 * the longest plain one, and went with a new IMSG_VERSION.
 */
static void
test_check_auth_clients(void)
{
	static const char	 longest[] =
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128";
	struct msg_auth		 a;

	CHECK(sizeof(a.client_narrow) >= sizeof(longest));
	CHECK(sizeof(a.client_wide) >= sizeof(longest));
	CHECK(IMSG_VERSION >= 9);
}

/* Every type has its entry: a name, distinct from the others. */
static void
test_check_table(void)
{
	uint32_t	 i, j;

	for (i = 0; i < IMSG_TYPE_MAX; i++) {
		CHECK(msg_type_name(i) != NULL);
		CHECK(strcmp(msg_type_name(i), "unknown") != 0);
		for (j = 0; j < i; j++)
			CHECK(strcmp(msg_type_name(i), msg_type_name(j)) != 0);
	}
}

static void
test_check_types(void)
{
	struct imsg	 m;

	m = fake(IMSG_NONE, 0, -1);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_TYPE_MAX, 0, -1);
	CHECK(msg_check(&m) == -1);
	m = fake(0xffffffffU, 0, -1);
	CHECK(msg_check(&m) == -1);
	CHECK_STR(msg_type_name(IMSG_CTL_OK), "ctl-ok");
	CHECK_STR(msg_type_name(12345), "unknown");
}

static void
test_check_fds(void)
{
	struct imsg	 m;

	m = fake(IMSG_CONF_LISTENER, sizeof(struct msg_listener), 7);
	CHECK(msg_check(&m) == 0);
	m = fake(IMSG_CONF_LISTENER, sizeof(struct msg_listener), -1);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_CTL_OK, 0, 7);
	CHECK(msg_check(&m) == -1);
	m = fake(IMSG_SETUP_PEER, sizeof(struct msg_peer), -1);
	CHECK(msg_check(&m) == -1);
}

static void
test_str(void)
{
	struct msg_result	 r;

	memset(&r, 'x', sizeof(r));
	CHECK(!MSG_STR(r.message));
	r.message[sizeof(r.message) - 1] = '\0';
	CHECK(MSG_STR(r.message));
}

/* The dispatcher, end to end: what the handler sees. */
static int	 got_ok, got_null;

static void
handler(struct imsgev *iev, struct imsg *imsg)
{
	if (imsg == NULL) {
		got_null++;
		imsgev_clear(iev);
		event_loopexit(NULL);
		return;
	}
	if (imsg->hdr.type == IMSG_CTL_OK)
		got_ok++;
}

static void
timeout_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	event_loopexit(NULL);
}

static void
run_dispatch(uint32_t type, const void *data, size_t len, int fd)
{
	struct imsgev	 iev;
	struct imsgbuf	 out;
	struct event	 deadline;
	struct timeval	 tv = { 2, 0 };
	int		 sp[2];

	got_ok = got_null = 0;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == 0);
	CHECK(imsgev_init(&iev, sp[0], "peer", handler, NULL, 1) == 0);
	CHECK(imsgbuf_init(&out, sp[1]) == 0);
	CHECK(imsg_compose(&out, IMSG_CTL_OK, 0, 0, -1, NULL, 0) == 0);
	CHECK(imsg_compose(&out, type, 0, 0, fd, data, len) == 0);
	CHECK(imsg_compose(&out, IMSG_CTL_OK, 0, 0, -1, NULL, 0) == 0);
	CHECK(imsgbuf_flush(&out) == 0);
	evtimer_set(&deadline, timeout_cb, NULL);
	evtimer_add(&deadline, &tv);
	event_dispatch();
	evtimer_del(&deadline);
	imsgev_clear(&iev);
	imsgbuf_clear(&out);
	close(sp[1]);
}

static void
test_dispatch_drops_wrong_size(void)
{
	char	 junk[3] = { 1, 2, 3 };

	run_dispatch(IMSG_CTL_VERBOSE, junk, sizeof(junk), -1);
	/* The message before it was delivered, nothing after it. */
	CHECK(got_ok == 1);
	CHECK(got_null == 1);
}

static void
test_dispatch_drops_unknown_type(void)
{
	run_dispatch(IMSG_TYPE_MAX + 7, NULL, 0, -1);
	CHECK(got_ok == 1);
	CHECK(got_null == 1);
}

static void
test_dispatch_drops_stray_fd(void)
{
	int	 fd;

	CHECK((fd = open("/dev/null", O_RDONLY)) != -1);
	run_dispatch(IMSG_CTL_END, NULL, 0, fd);
	CHECK(got_ok == 1);
	CHECK(got_null == 1);
}

static void
test_dispatch_good(void)
{
	struct msg_verbose	 mv = { 1 };

	run_dispatch(IMSG_CTL_VERBOSE, &mv, sizeof(mv), -1);
	/* No drop: the loop ends on the deadline with both OKs seen. */
	CHECK(got_ok == 2);
	CHECK(got_null == 0);
}

/* Each child's part of the configuration is refused to the others. */
static void
test_conf_for(void)
{
	CHECK(msg_conf_for(IMSG_CONF_FRONT, ROLE_SMTPD));
	CHECK(msg_conf_for(IMSG_CONF_FRONT, ROLE_IMAPD));
	CHECK(!msg_conf_for(IMSG_CONF_FRONT, ROLE_VAULTD));
	CHECK(msg_conf_for(IMSG_CONF_VAULT, ROLE_VAULTD));
	CHECK(!msg_conf_for(IMSG_CONF_VAULT, ROLE_SMTPD));
	CHECK(!msg_conf_for(IMSG_CONF_VAULT, ROLE_IMAPD));
	CHECK(!msg_conf_for(IMSG_CONF_TLS_KEY, ROLE_VAULTD));
	CHECK(!msg_conf_for(IMSG_CONF_LISTENER, ROLE_VAULTD));
	CHECK(msg_conf_for(IMSG_CONF_START, ROLE_VAULTD));
	CHECK(msg_conf_for(IMSG_CONF_START, ROLE_SMTPD));
	CHECK(msg_conf_for(IMSG_CONF_END, ROLE_IMAPD));
}

/*
 * What ctld really sends each child: the fronts get the limits and never
 * the KDF cost or lock grace, vaultd the reverse.
 */
static void
test_send_conf(void)
{
	static const enum proc_role	 roles[] = {
		ROLE_SMTPD, ROLE_IMAPD, ROLE_VAULTD
	};
	struct child		 c;
	struct imsgbuf		 in;
	struct imsg		 m;
	struct msg_front	 mf;
	struct msg_vault	 mv;
	size_t			 i;
	ssize_t			 n;
	int			 sp[2], seen[IMSG_TYPE_MAX];

	CHECK((ctld = calloc(1, sizeof(*ctld))) != NULL);
	if (ctld == NULL)
		return;
	CHECK((ctld->conf = conf_default()) != NULL);
	ctld->conf->vault.kdf_ops = 4;
	ctld->conf->vault.kdf_memory = 1 << 26;
	ctld->conf->vault.lock_grace = 99;
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		memset(&c, 0, sizeof(c));
		memset(seen, 0, sizeof(seen));
		c.role = roles[i];
		CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
		CHECK(imsgev_init(&c.iev, sp[0], "child", NULL, NULL, 1) == 0);
		supervise_send_conf(&c);
		CHECK(imsgbuf_flush(&c.iev.ibuf) == 0);
		shutdown(sp[0], SHUT_WR);
		CHECK(imsgbuf_init(&in, sp[1]) == 0);
		imsgbuf_allow_fdpass(&in);
		/* Take each whole message before reading on (imsgbuf_read). */
		for (;;) {
			if (imsg_get(&in, &m) <= 0) {
				if ((n = imsgbuf_read(&in)) == 0)
					break;
				CHECK(n > 0 || errno == EAGAIN);
				if (n == -1 && errno != EAGAIN)
					break;
				continue;
			}
			CHECK(msg_check(&m) == 0);
			CHECK(msg_conf_for(m.hdr.type, c.role));
			if (m.hdr.type < IMSG_TYPE_MAX)
				seen[m.hdr.type]++;
			if (m.hdr.type == IMSG_CONF_FRONT) {
				CHECK(imsg_get_data(&m, &mf, sizeof(mf)) == 0);
				CHECK(mf.limits.max_conn == 1000);
			}
			if (m.hdr.type == IMSG_CONF_VAULT) {
				CHECK(imsg_get_data(&m, &mv, sizeof(mv)) == 0);
				CHECK(mv.kdf_ops == 4 && mv.lock_grace == 99);
			}
			if (m.fd != -1)
				close(m.fd);
			imsg_free(&m);
		}
		CHECK(seen[IMSG_CONF_START] == 1 && seen[IMSG_CONF_END] == 1);
		if (c.role == ROLE_VAULTD) {
			CHECK(seen[IMSG_CONF_VAULT] == 1);
			CHECK(seen[IMSG_CONF_FRONT] == 0);
		} else {
			CHECK(seen[IMSG_CONF_FRONT] == 1);
			CHECK(seen[IMSG_CONF_VAULT] == 0);
		}
		imsgbuf_clear(&in);
		close(sp[1]);
		imsgev_clear(&c.iev);
	}
	conf_free(ctld->conf);
	free(ctld);
	ctld = NULL;
}

static void
fail(struct imsgev *iev, uint32_t peerid, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	CHECK(imsgev_vfail(iev, peerid, fmt, ap) == 0);
	va_end(ap);
}

/* ctld's and vaultd's failure replies: one IMSG_CTL_FAIL, cut to fit. */
static void
test_vfail(void)
{
	struct imsgev		 iev;
	struct imsgbuf		 in;
	struct imsg		 m;
	struct msg_result	 res;
	char			 longarg[400];
	int			 sp[2];

	memset(longarg, 'x', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
	CHECK(imsgev_init(&iev, sp[0], "ctl", NULL, NULL, 0) == 0);
	fail(&iev, 42, "%s: not found", "bob@example.org");
	fail(&iev, 7, "%s", longarg);
	CHECK(imsgbuf_flush(&iev.ibuf) == 0);
	CHECK(imsgbuf_init(&in, sp[1]) == 0);
	CHECK(imsgbuf_read(&in) > 0);
	CHECK(imsg_get(&in, &m) > 0);
	CHECK(msg_check(&m) == 0 && m.hdr.type == IMSG_CTL_FAIL);
	CHECK(m.hdr.peerid == 42);
	CHECK(imsg_get_data(&m, &res, sizeof(res)) == 0);
	CHECK_STR(res.message, "bob@example.org: not found");
	imsg_free(&m);
	if (imsg_get(&in, &m) <= 0)
		CHECK(imsgbuf_read(&in) > 0 && imsg_get(&in, &m) > 0);
	CHECK(m.hdr.peerid == 7);
	CHECK(imsg_get_data(&m, &res, sizeof(res)) == 0);
	CHECK(strlen(res.message) == sizeof(res.message) - 1);
	imsg_free(&m);
	imsgbuf_clear(&in);
	close(sp[1]);
	imsgev_clear(&iev);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	event_init();
	RUN(test_check_sizes);
	RUN(test_check_types);
	RUN(test_check_mbox_req);
	RUN(test_check_results);
	RUN(test_check_notify);
	RUN(test_check_auth_clients);
	RUN(test_check_table);
	RUN(test_check_fds);
	RUN(test_str);
	RUN(test_dispatch_drops_wrong_size);
	RUN(test_dispatch_drops_unknown_type);
	RUN(test_dispatch_drops_stray_fd);
	RUN(test_dispatch_good);
	RUN(test_conf_for);
	RUN(test_send_conf);
	RUN(test_vfail);
	TEST_EXIT();
}
