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
	CHECK(IMSG_VERSION >= 5);
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
	RUN(test_check_notify);
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
