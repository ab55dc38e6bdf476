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
 * ctld/spawn.c: the spawner starts the program of a role, with the fd
 * it was sent on fd 3 and the flags asked for, as a child of its own
 * parent; it refuses every request that is not exactly right, and ends
 * on a broken stream or when its parent's end closes.
 *
 * The "programs" are shell scripts in a temporary build tree: each
 * writes its name, arguments and parent pid to fd 3 and exits 7.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "test.h"
#include "../../ctld/ctld.h"

TEST_GLOBALS;

static char			 top[256];
static struct spawn_programs	 progs;

static const char script[] =
    "#!/bin/sh\n"
    "echo \"${0##*/} $* ppid=$PPID\" >&3\n"
    "exit 7\n";

/*
 * Beside this program rather than in /tmp, which may be mounted
 * noexec: the scripts must run.
 */
static void
make_tree(void)
{
	char	 exe[PATH_MAX], path[PATH_MAX + 32], *slash;
	ssize_t	 n;
	int	 role, fd;

	CHECK((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0);
	exe[n] = '\0';
	CHECK((slash = strrchr(exe, '/')) != NULL);
	*slash = '\0';
	/* mkdtemp()'s template: it replaces the six X's. */
	CHECK(snprintf(top, sizeof(top), "%s/spawn_test.XXXXXX", exe) <
	    (int)sizeof(top));
	CHECK(mkdtemp(top) != NULL);
	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++) {
		CHECK(snprintf(path, sizeof(path), "%s/%s", top,
		    role_name(role)) < (int)sizeof(path));
		CHECK(mkdir(path, 0755) == 0);
		CHECK(snprintf(path, sizeof(path), "%s/%s/%s", top,
		    role_name(role), role_name(role)) < (int)sizeof(path));
		CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755)) !=
		    -1);
		CHECK(write(fd, script, sizeof(script) - 1) ==
		    (ssize_t)sizeof(script) - 1);
		CHECK(close(fd) == 0);
	}
	CHECK(spawn_programs(&progs, top, 1) == 0);
}

static void
remove_tree(void)
{
	char	 path[PATH_MAX + 32];
	int	 role;

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++) {
		snprintf(path, sizeof(path), "%s/%s/%s", top, role_name(role),
		    role_name(role));
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", top, role_name(role));
		rmdir(path);
	}
	rmdir(top);
}

/* What a started script wrote on its fd 3, up to end of file. */
static void
read_all(int fd, char *buf, size_t size)
{
	size_t	 len = 0;
	ssize_t	 n;

	while (len < size - 1 && (n = read(fd, buf + len,
	    size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
}

/* A child that exited with status, whose parent was us. */
static void
reap(pid_t pid, int status)
{
	int	 st;

	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == status);
}

/* A spawner on our end *fd, run by spawn_serve() in a forked process. */
static pid_t
start_spawner(int *fd)
{
	pid_t	 pid;
	int	 sp[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		close(sp[0]);
		_exit(spawn_serve(sp[1], &progs) == 0 ? 0 : 1);
	}
	close(sp[1]);
	*fd = sp[0];
	return (pid);
}

/* Send one request (type, payload, fd or -1); return its answer. */
static void
ask(struct imsgbuf *ib, uint32_t type, const void *data, size_t len, int fd,
    struct msg_spawn_result *mr)
{
	struct imsg	 imsg;
	ssize_t		 n;

	CHECK(imsg_compose(ib, type, 0, 0, fd, data, len) == 0);
	CHECK(imsgbuf_flush(ib) == 0);
	while ((n = imsg_get(ib, &imsg)) == 0)
		CHECK(imsgbuf_read(ib) > 0);
	CHECK(n > 0);
	CHECK(msg_check(&imsg) == 0);
	CHECK(imsg.hdr.type == IMSG_SPAWN_RESULT);
	CHECK(imsg_get_data(&imsg, mr, sizeof(*mr)) == 0);
	imsg_free(&imsg);
}

/*
 * A refused request: answered pid -1/EINVAL, and the fd it carried (if
 * any) closed by the spawner without anyone having written to it.
 */
static void
refused(struct imsgbuf *ib, uint32_t type, const void *data, size_t len,
    int with_fd)
{
	struct msg_spawn_result	 mr;
	char			 buf[64];
	int			 sp[2] = { -1, -1 };

	if (with_fd)
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) ==
		    0);
	ask(ib, type, data, len, sp[1], &mr);
	CHECK(mr.pid == -1 && mr.error == EINVAL);
	if (with_fd) {
		read_all(sp[0], buf, sizeof(buf));
		CHECK_STR(buf, "");
		close(sp[0]);
	}
}

/* The real path ctld takes: spawn_init() then spawn_child(). */
static void
test_start(void)
{
	char	 buf[128], want[128];
	pid_t	 pid;
	int	 sp[2];

	spawn_init(&progs, 1);
	CHECK(spawn_pid() > 0);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK((pid = spawn_child(ROLE_SMTPD, sp[1], 1, 1)) > 0);
	read_all(sp[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "smtpd -d -v ppid=%d", (int)getpid());
	CHECK_STR(buf, want);
	close(sp[0]);
	/* Ours to reap, not the spawner's. */
	reap(pid, 7);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK((pid = spawn_child(ROLE_VAULTD, sp[1], 0, 5)) > 0);
	read_all(sp[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "vaultd -vv ppid=%d", (int)getpid());
	CHECK_STR(buf, want);
	close(sp[0]);
	reap(pid, 7);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK((pid = spawn_child(ROLE_IMAPD, sp[1], 0, 0)) > 0);
	read_all(sp[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "imapd  ppid=%d", (int)getpid());
	CHECK_STR(buf, want);
	close(sp[0]);
	reap(pid, 7);

	/* The spawner itself is still there: nothing reaped it. */
	CHECK(waitpid(spawn_pid(), NULL, WNOHANG) == 0);
}

static void
test_refuse(void)
{
	struct imsgbuf		 ib;
	struct msg_spawn	 ms;
	struct msg_spawn_result	 mr;
	char			 buf[128], want[128];
	pid_t			 spawner, pid;
	int			 fd, sp[2];

	spawner = start_spawner(&fd);
	CHECK(imsgbuf_init(&ib, fd) == 0);

	/* Roles it does not start: ctld itself, past the end. */
	memset(&ms, 0, sizeof(ms));
	ms.role = ROLE_CTLD;
	refused(&ib, IMSG_SPAWN, &ms, sizeof(ms), 1);
	ms.role = ROLE_COUNT;
	refused(&ib, IMSG_SPAWN, &ms, sizeof(ms), 1);
	ms.role = 0xffffffffU;
	refused(&ib, IMSG_SPAWN, &ms, sizeof(ms), 1);

	/* Flags out of range. */
	ms.role = ROLE_SMTPD;
	ms.foreground = 2;
	refused(&ib, IMSG_SPAWN, &ms, sizeof(ms), 1);
	ms.foreground = 0;
	ms.verbose = 3;
	refused(&ib, IMSG_SPAWN, &ms, sizeof(ms), 1);
	ms.verbose = 0;

	/* No channel, a short or long payload, another type. */
	refused(&ib, IMSG_SPAWN, &ms, sizeof(ms), 0);
	refused(&ib, IMSG_SPAWN, &ms, sizeof(ms) - 1, 1);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &ms, sizeof(ms));
	refused(&ib, IMSG_SPAWN, buf, sizeof(ms) + 4, 1);
	refused(&ib, IMSG_SPAWN_RESULT, &mr, sizeof(mr), 0);
	refused(&ib, IMSG_CTL_STOP, NULL, 0, 0);
	refused(&ib, IMSG_TYPE_MAX + 7, &ms, sizeof(ms), 1);

	/* None of that started anything, and a good request still works. */
	CHECK(waitpid(-1, NULL, WNOHANG) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	ms.role = ROLE_IMAPD;
	ms.verbose = 1;
	ask(&ib, IMSG_SPAWN, &ms, sizeof(ms), sp[1], &mr);
	CHECK((pid = mr.pid) > 0);
	read_all(sp[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "imapd -v ppid=%d", (int)getpid());
	CHECK_STR(buf, want);
	close(sp[0]);
	reap(pid, 7);

	/* Its parent's end closes: it leaves, cleanly. */
	imsgbuf_clear(&ib);
	close(fd);
	reap(spawner, 0);
}

/* A header that cannot be framed ends the spawner; it starts nothing. */
static void
test_broken_stream(void)
{
	struct imsg_hdr	 hdr;
	pid_t		 spawner;
	int		 fd;

	spawner = start_spawner(&fd);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = IMSG_SPAWN;
	hdr.len = 4;
	CHECK(write(fd, &hdr, sizeof(hdr)) == sizeof(hdr));
	reap(spawner, 1);
	close(fd);

	/* Claims an fd that never came. */
	spawner = start_spawner(&fd);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = IMSG_SPAWN;
	hdr.len = (sizeof(hdr) + sizeof(struct msg_spawn)) | IMSG_FD_MARK;
	CHECK(write(fd, &hdr, sizeof(hdr)) == sizeof(hdr));
	CHECK(write(fd, "\1\0\0\0\0\0\0\0\0\0\0\0",
	    sizeof(struct msg_spawn)) == sizeof(struct msg_spawn));
	reap(spawner, 1);
	close(fd);
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

/* A program that cannot run: a pid all the same, which exits 127. */
static void
test_exec_fails(void)
{
	struct spawn_programs	 saved = progs;
	struct imsgbuf		 ib;
	struct msg_spawn	 ms;
	struct msg_spawn_result	 mr;
	pid_t			 spawner;
	int			 fd, sp[2];

	strlcpy(progs.path[ROLE_SMTPD], "/nonexistent/smtpd",
	    sizeof(progs.path[ROLE_SMTPD]));
	spawner = start_spawner(&fd);
	progs = saved;
	CHECK(imsgbuf_init(&ib, fd) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	memset(&ms, 0, sizeof(ms));
	ms.role = ROLE_SMTPD;
	ask(&ib, IMSG_SPAWN, &ms, sizeof(ms), sp[1], &mr);
	CHECK(mr.pid > 0);
	reap(mr.pid, 127);
	close(sp[0]);
	imsgbuf_clear(&ib);
	close(fd);
	reap(spawner, 0);
}

static void
test_paths(void)
{
	struct spawn_programs	 sp;
	char			 longdir[PATH_MAX];

	CHECK(spawn_programs(&sp, "/usr/libexec/tresor", 0) == 0);
	CHECK_STR(sp.path[ROLE_SMTPD], "/usr/libexec/tresor/smtpd");
	CHECK_STR(sp.path[ROLE_VAULTD], "/usr/libexec/tresor/vaultd");
	CHECK(spawn_programs(&sp, "/src/tresor", 1) == 0);
	CHECK_STR(sp.path[ROLE_IMAPD], "/src/tresor/imapd/imapd");
	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	CHECK(spawn_programs(&sp, longdir, 0) == -1);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	signal(SIGPIPE, SIG_IGN);
	RUN(make_tree);
	RUN(test_paths);
	RUN(test_refuse);
	RUN(test_broken_stream);
	RUN(test_exec_fails);
	/* Last: its spawner lives until we exit. */
	RUN(test_start);
	remove_tree();
	TEST_EXIT();
}
