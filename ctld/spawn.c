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
 * The spawner: the one process that starts ctld's children.
 *
 * ctld runs under a seccomp filter (sandbox_supervisor()), and a filter
 * is inherited across fork and execve: a child ctld forked itself would
 * be bound by ctld's filter on top of its own.  So before the filter,
 * ctld forks this small process.  It keeps root's remaining
 * capabilities and no filter, and does one thing: on IMSG_SPAWN it
 * starts the program of that role (its path fixed before the fork, never
 * taken from the request) with the channel that came with the request
 * on CTLD_FILENO and the flags the request allows (-d, -v, -vv), and
 * answers with the pid.
 *
 * The child is made with clone(CLONE_PARENT): its parent is ctld, not
 * the spawner, so SIGCHLD, waitpid() and the restart logic in
 * supervise.c work as they did when ctld forked.  Between clone and
 * execv the child only moves its channel, closes the rest and resets
 * the signals the spawner ignores.
 *
 * A request that is not exactly an IMSG_SPAWN with a known role, flags
 * in range and an fd is refused with an answer (pid -1, EINVAL); a
 * stream that cannot be parsed ends the spawner.  It leaves when ctld
 * does: end of file on the channel, or SIGKILL from PR_SET_PDEATHSIG.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ctld.h"
#include "log.h"

/* The spawner's end of its channel, once it has closed everything else. */
#define SPAWN_FILENO		3
/* ctld gives up on a spawner that does not answer in this time. */
#define SPAWN_TIMEOUT		10

static struct imsgbuf	 spawn_ibuf;	/* ctld's end */
static pid_t		 spawner = -1;

static int	 spawn_request(const struct spawn_programs *, struct imsg *,
		    struct msg_spawn_result *);
static pid_t	 spawn_clone(const char *, char **, int);
static int	 spawn_answer(struct imsgbuf *, pid_t, int);
static void	 spawn_signals(int);

/*
 * Where the children's programs are: beside ctld in the build tree
 * (role/role), else in libexecdir.  Fixed before the spawner exists.
 */
int
spawn_programs(struct spawn_programs *sp, const char *dir, int buildtree)
{
	int	 role, n;

	memset(sp, 0, sizeof(*sp));
	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++) {
		if (buildtree)
			n = snprintf(sp->path[role], sizeof(sp->path[role]),
			    "%s/%s/%s", dir, role_name(role), role_name(role));
		else
			n = snprintf(sp->path[role], sizeof(sp->path[role]),
			    "%s/%s", dir, role_name(role));
		if (n < 0 || (size_t)n >= sizeof(sp->path[role]))
			return (-1);
	}
	return (0);
}

/*
 * In ctld, before its filter and before event_init(): fork the spawner.
 * foreground says where the spawner's log lines go, as for ctld.
 */
void
spawn_init(const struct spawn_programs *sp, int foreground)
{
	struct timeval		 tv;
	pid_t			 ctld_pid = getpid();
	int			 fds[2], rv;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1)
		fatal("%s: socketpair", __func__);
	switch (spawner = fork()) {
	case -1:
		fatal("%s: fork", __func__);
	case 0:
		break;
	default:
		close(fds[1]);
		timerclear(&tv);
		tv.tv_sec = SPAWN_TIMEOUT;
		if (setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)) == -1 || setsockopt(fds[0], SOL_SOCKET,
		    SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
			fatal("%s: setsockopt", __func__);
		if (imsgbuf_init(&spawn_ibuf, fds[0]) == -1)
			fatal("%s: imsgbuf_init", __func__);
		log_debug("spawner started, pid %d", (int)spawner);
		return;
	}

	/* The spawner.  Nothing of ctld's is kept but stdio and the log. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		fatal("spawner: PR_SET_PDEATHSIG");
	if (getppid() != ctld_pid)
		_exit(0);
	(void)prctl(PR_SET_NAME, "ctld-spawner", 0, 0, 0);
	if (!foreground)
		closelog();
	if (fds[1] != SPAWN_FILENO) {
		if (dup2(fds[1], SPAWN_FILENO) == -1)
			fatal("spawner: dup2");
		close(fds[1]);
	}
	if (fcntl(SPAWN_FILENO, F_SETFD, FD_CLOEXEC) == -1)
		fatal("spawner: fcntl");
	closefrom(SPAWN_FILENO + 1);
	log_init(foreground, LOG_MAIL);
	log_procinit("spawner");
	spawn_signals(1);
	rv = spawn_serve(SPAWN_FILENO, sp);
	_exit(rv == 0 ? 0 : 1);
}

pid_t
spawn_pid(void)
{
	return (spawner);
}

/*
 * In ctld: start the child of role with fd as its channel to us.  The
 * fd is the spawner's to close.  Returns the child's pid, or -1 with
 * errno when the spawner could not start it.  A spawner that is gone,
 * answers nonsense or does not answer leaves ctld unable to do its job:
 * that is fatal.
 */
pid_t
spawn_child(enum proc_role role, int fd, int foreground, int verbose)
{
	struct msg_spawn	 ms;
	struct msg_spawn_result	 mr;
	struct imsg		 imsg;
	ssize_t			 n;

	memset(&ms, 0, sizeof(ms));
	ms.role = role;
	ms.foreground = foreground != 0;
	ms.verbose = verbose < 0 ? 0 : verbose > 2 ? 2 : verbose;
	if (imsg_compose(&spawn_ibuf, IMSG_SPAWN, 0, 0, fd, &ms,
	    sizeof(ms)) == -1)
		fatal("%s: imsg_compose", __func__);
	if (imsgbuf_flush(&spawn_ibuf) == -1)
		fatal("%s: the spawner does not listen", __func__);
	for (;;) {
		if ((n = imsg_get(&spawn_ibuf, &imsg)) == -1)
			fatal("%s: bad answer from the spawner", __func__);
		if (n > 0)
			break;
		if ((n = imsgbuf_read(&spawn_ibuf)) == 0)
			fatalx("%s: the spawner is gone", __func__);
		if (n == -1 && errno == EAGAIN)
			fatalx("%s: the spawner does not answer", __func__);
		if (n == -1 && errno != EINTR)
			fatal("%s: read from the spawner", __func__);
	}
	if (msg_check(&imsg) == -1 || imsg.hdr.type != IMSG_SPAWN_RESULT ||
	    imsg_get_data(&imsg, &mr, sizeof(mr)) == -1)
		fatalx("%s: bad answer from the spawner", __func__);
	imsg_free(&imsg);
	if (mr.pid <= 0) {
		errno = mr.pid == -1 && mr.error > 0 ? mr.error : EPROTO;
		return (-1);
	}
	return (mr.pid);
}

/*
 * The spawner's loop on fd, blocking: one request, one answer.
 * Returns 0 at end of file (ctld is gone), -1 when the stream breaks.
 */
int
spawn_serve(int fd, const struct spawn_programs *sp)
{
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	struct msg_spawn_result	 mr;
	ssize_t			 n;
	int			 rv = -1;

	if (imsgbuf_init(&ibuf, fd) == -1) {
		log_warn("spawner: imsgbuf_init");
		return (-1);
	}
	imsgbuf_allow_fdpass(&ibuf);
	for (;;) {
		if ((n = imsg_get(&ibuf, &imsg)) == -1) {
			log_warnx("spawner: malformed message from ctld");
			break;
		}
		if (n == 0) {
			if ((n = imsgbuf_read(&ibuf)) == 0) {
				rv = 0;
				break;
			}
			if (n == -1 && errno != EINTR && errno != EAGAIN) {
				log_warn("spawner: read");
				break;
			}
			continue;
		}
		if (spawn_request(sp, &imsg, &mr) == -1)
			log_warnx("spawner: refused a request (%s, %zu "
			    "bytes, fd %s)", msg_type_name(imsg.hdr.type),
			    imsg.datalen, imsg.fd == -1 ? "no" : "yes");
		imsg_free(&imsg);
		if (spawn_answer(&ibuf, mr.pid, mr.error) == -1) {
			log_warn("spawner: answer");
			break;
		}
	}
	imsgbuf_clear(&ibuf);
	return (rv);
}

/* Check one request and act on it; -1 if it was refused. */
static int
spawn_request(const struct spawn_programs *sp, struct imsg *imsg,
    struct msg_spawn_result *mr)
{
	struct msg_spawn	 ms;
	char			*argv[4];
	pid_t			 pid;
	int			 argc = 0, fd;

	mr->pid = -1;
	mr->error = EINVAL;
	if (msg_check(imsg) == -1 || imsg->hdr.type != IMSG_SPAWN ||
	    imsg_get_data(imsg, &ms, sizeof(ms)) == -1)
		return (-1);
	if (ms.role != ROLE_SMTPD && ms.role != ROLE_IMAPD &&
	    ms.role != ROLE_VAULTD)
		return (-1);
	if (ms.foreground > 1 || ms.verbose > 2)
		return (-1);
	if ((fd = imsg_get_fd(imsg)) == -1)
		return (-1);

	argv[argc++] = (char *)role_name(ms.role);
	if (ms.foreground)
		argv[argc++] = "-d";
	if (ms.verbose > 0)
		argv[argc++] = ms.verbose > 1 ? "-vv" : "-v";
	argv[argc] = NULL;

	pid = spawn_clone(sp->path[ms.role], argv, fd);
	mr->error = pid == -1 ? errno : 0;
	mr->pid = pid;
	close(fd);
	return (0);
}

/*
 * A new process whose parent is our parent (ctld), as fork() would
 * make it for ctld.  The raw system call: glibc has no wrapper for
 * clone without a new stack, and the child does nothing glibc's fork()
 * would have had to prepare for (no malloc, no stdio but one line).
 */
static pid_t
spawn_clone(const char *path, char **argv, int fd)
{
	long	 pid;

	pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL,
	    NULL);
	if (pid != 0)
		return ((pid_t)pid);

	/* The child.  dup2 clears close-on-exec on the copy. */
	if (fd == CTLD_FILENO) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(fd, CTLD_FILENO) == -1)
		_exit(127);
	closefrom(CTLD_FILENO + 1);
	spawn_signals(0);
	execv(path, argv);
	dprintf(STDERR_FILENO, "ctld: cannot run %s: %s\n", path,
	    strerror(errno));
	_exit(127);
}

/*
 * The spawner leaves with ctld, not with the terminal's ^C or a
 * signal meant for the process group; its children get the default
 * dispositions back, as they had under fork from ctld.
 */
static void
spawn_signals(int ignore)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = ignore ? SIG_IGN : SIG_DFL;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
}

static int
spawn_answer(struct imsgbuf *ibuf, pid_t pid, int error)
{
	struct msg_spawn_result	 mr;

	memset(&mr, 0, sizeof(mr));
	mr.pid = pid;
	mr.error = pid == -1 ? error : 0;
	if (imsg_compose(ibuf, IMSG_SPAWN_RESULT, 0, 0, -1, &mr,
	    sizeof(mr)) == -1)
		return (-1);
	return (imsgbuf_flush(ibuf));
}
