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
 * sandbox_enter() in forked children.  A sandbox cannot be left, so
 * every case runs in its own child: the child enters the sandbox, tries
 * something, and tells the parent through its exit status, its stderr
 * (a pipe the parent reads) and a pipe that carries its sandbox_report.
 * Children guard themselves with alarm() and leave with _exit(), which
 * skips LeakSanitizer's exit check (it needs ptrace, which the filter
 * forbids; sandbox_enter already ran the check in sanitizer builds).
 *
 * ctld's own filter (sandbox_supervisor()) is tested the same way.
 *
 * Meant to run as root (CI does): then children chroot and become
 * "nobody".  As another user the root-only cases say they are skipped.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <linux/landlock.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "test.h"

TEST_GLOBALS;

#define CHILD_ALARM	10	/* seconds a child may live */
#define CHILD_WAIT	20000	/* ms the parent waits for one */

struct child {
	pid_t			 pid;
	int			 errfd;		/* its stderr */
	int			 repfd;		/* its report */
	int			 gofd;		/* tells it to go on */
	int			 status;
	int			 have_report;
	struct sandbox_report	 report;
	char			 err[8192];
	size_t			 errlen;
};

/* A failed check about a child shows the end of what it wrote. */
#define CHECK_CHILD(c, e) do {						\
	if (!(e)) {							\
		snprintf(test_why, sizeof(test_why),			\
		    "%s:%d: %.120s (status %#x) stderr: %.200s",	\
		    __FILE__, __LINE__, #e, (c)->status,		\
		    child_tail(c));					\
		longjmp(test_jmp, 1);					\
	}								\
} while (0)

static void		 setup(void);
static void		 cleanup(void);
static int		 rm_entry(const char *, const struct stat *, int,
			    struct FTW *);
static void		 child_start(struct child *, void (*)(void));
static int		 child_wait_report(struct child *);
static void		 child_finish(struct child *);
static const char	*child_tail(const struct child *);
static int		 child_said(const struct child *, const char *);
static int		 died_of(const struct child *, int);
static void		 expect_sigsys(enum proc_role, void (*)(void), long);
static void		 proc_status(pid_t, char *, size_t);
static int		 proc_limit(pid_t, const char *, unsigned long long *,
			    unsigned long long *);
static int		 can_set_rlimit(int, rlim_t);
static void		 child_enter(enum proc_role, const char *,
			    const char *);
static void		 child_wait_go(void);
static __dead void	 child_fail(const char *);
static void		 body_action(void);
static void		 child_supervisor(void);
static void		 body_supervisor_action(void);

static void	 act_open(void);
#if defined(SYS_open) && !defined(TRESOR_SANITIZE)
static void	 act_sys_open(void);
#endif
static void	 act_openat(void);
static void	 act_socket(void);
static void	 act_execve(void);
static void	 act_fork(void);
static void	 act_clone3(void);
static void	 act_ptrace(void);
static void	 act_mmap_exec(void);
static void	 act_mprotect_exec(void);
static void	 act_setrlimit(void);
static void	 act_kill_other(void);
static void	 act_ioctl(void);
static void	 act_x32(void);
static void	 act_setresuid(void);
static void	 act_mount(void);
static void	 act_socket_packet(void);
static void	 act_kill_group(void);
static void	 act_kill_signal(void);

static void	 body_front_allowed(void);
static void	 body_vaultd_files(void);
static void	 body_vaultd_thread(void);
static void	 body_wait(void);
static void	 body_landlock(void);
static void	 body_ctld(void);
static void	 body_supervisor_allowed(void);
static void	 body_unknown_user(void);

static void	 sandbox_front_open(void);
static void	 sandbox_front_sys_open(void);
static void	 sandbox_imapd_openat(void);
static void	 sandbox_smtpd_socket(void);
static void	 sandbox_vaultd_socket(void);
static void	 sandbox_front_execve(void);
static void	 sandbox_vaultd_execve(void);
static void	 sandbox_front_fork(void);
static void	 sandbox_front_clone3(void);
static void	 sandbox_vaultd_fork(void);
static void	 sandbox_front_ptrace(void);
static void	 sandbox_mmap_exec(void);
static void	 sandbox_mprotect_exec(void);
static void	 sandbox_setrlimit(void);
static void	 sandbox_kill_other(void);
static void	 sandbox_ioctl_other(void);
static void	 sandbox_x32_abi(void);
static void	 sandbox_front_allowed(void);
static void	 sandbox_vaultd_files(void);
static void	 sandbox_vaultd_thread(void);
static void	 sandbox_proc_status(void);
static void	 sandbox_root_chroot(void);
static void	 sandbox_vaultd_status(void);
static void	 sandbox_landlock_unpriv(void);
static void	 sandbox_ctld_refused(void);
static void	 sandbox_unknown_user(void);
static void	 sandbox_supervisor_denied(void);
static void	 sandbox_supervisor_allowed(void);

/* Parent's view of the world, set up once. */
static char		 tmpdir[PATH_MAX];	/* mkdtemp, real path */
static char		 vaultdir[PATH_MAX];	/* tmpdir/vault */
static char		 outside[PATH_MAX];	/* tmpdir/outside */
static char		 newfile[PATH_MAX];	/* tmpdir.new, in /tmp */
static int		 is_root;
static uid_t		 nobody_uid;
static gid_t		 nobody_gid;
static long		 kernel_landlock;	/* 0: none */
static int		 expect_mlock;		/* vaultd mlocks */
static int		 expect_nofile;		/* fronts: >= 65536 */

/* The child's, set before fork. */
static enum proc_role	 c_role;
static const char	*c_dir;
static void		(*c_action)(void);
static pid_t		 c_ppid;
static int		 c_repfd = -1;
static int		 c_gofd = -1;
static struct sandbox_report c_report;

/* ---- the parent's side ---- */

static void
setup(void)
{
	struct passwd	*pw;
	struct rlimit	 rl;
	char		 tmpl[] = "/tmp/sandbox_test.XXXXXX";
	int		 fd;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	if (realpath(tmpl, tmpdir) == NULL) {
		perror("realpath");
		exit(1);
	}
	if ((size_t)snprintf(vaultdir, sizeof(vaultdir), "%s/vault",
	    tmpdir) >= sizeof(vaultdir) ||
	    (size_t)snprintf(outside, sizeof(outside), "%s/outside",
	    tmpdir) >= sizeof(outside) ||
	    (size_t)snprintf(newfile, sizeof(newfile), "%s.new",
	    tmpdir) >= sizeof(newfile)) {
		fprintf(stderr, "path too long\n");
		exit(1);
	}
	/* nobody must be able to walk to its vault and read "outside". */
	if (chmod(tmpdir, 0755) == -1 || mkdir(vaultdir, 0700) == -1) {
		perror(tmpdir);
		exit(1);
	}
	if ((fd = open(outside, O_CREAT | O_WRONLY | O_EXCL, 0644)) == -1 ||
	    write(fd, "outside\n", 8) != 8 || close(fd) == -1) {
		perror(outside);
		exit(1);
	}

	is_root = geteuid() == 0;
	if (is_root) {
		if ((pw = getpwnam("nobody")) == NULL) {
			fprintf(stderr, "no user nobody\n");
			exit(1);
		}
		nobody_uid = pw->pw_uid;
		nobody_gid = pw->pw_gid;
		if (chown(vaultdir, nobody_uid, nobody_gid) == -1) {
			perror(vaultdir);
			exit(1);
		}
	}

	kernel_landlock = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (kernel_landlock == -1)
		kernel_landlock = 0;

	/*
	 * What sandbox_enter can do here: root in a container may lack
	 * CAP_SYS_RESOURCE and then cannot raise hard limits.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		perror("getrlimit");
		exit(1);
	}
	expect_nofile = is_root && (rl.rlim_max >= 65536 ||
	    can_set_rlimit(RLIMIT_NOFILE, 65536));
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == -1) {
		perror("getrlimit");
		exit(1);
	}
#ifdef TRESOR_SANITIZE
	expect_mlock = 0;
#else
	expect_mlock = rl.rlim_max == RLIM_INFINITY ||
	    (is_root && can_set_rlimit(RLIMIT_MEMLOCK, RLIM_INFINITY));
#endif
}

/* Whether a process like us may set both limits of res to v. */
static int
can_set_rlimit(int res, rlim_t v)
{
	struct rlimit	 rl;
	pid_t		 pid;
	int		 status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		rl.rlim_cur = rl.rlim_max = v;
		_exit(setrlimit(res, &rl) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) == -1) {
		perror("waitpid");
		exit(1);
	}
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) == -1)
		perror(path);
	return (0);
}

static void
cleanup(void)
{
	if (nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == -1)
		perror(tmpdir);
}

/*
 * Fork a child that runs body.  Its stderr and its report come back on
 * pipes; it waits on the third for the parent when body asks.
 */
static void
child_start(struct child *c, void (*body)(void))
{
	int	 errp[2], repp[2], gop[2];

	memset(c, 0, sizeof(*c));
	CHECK(pipe2(errp, O_CLOEXEC) == 0);
	CHECK(pipe2(repp, O_CLOEXEC) == 0);
	CHECK(pipe2(gop, O_CLOEXEC) == 0);
	c_ppid = getpid();
	fflush(stdout);
	fflush(stderr);
	CHECK((c->pid = fork()) != -1);
	if (c->pid == 0) {
		alarm(CHILD_ALARM);
		if (dup2(errp[1], STDERR_FILENO) == -1)
			_exit(100);
		close(errp[0]);
		close(errp[1]);
		close(repp[0]);
		close(gop[1]);
		c_repfd = repp[1];
		c_gofd = gop[0];
		body();
		_exit(0);
	}
	close(errp[1]);
	close(repp[1]);
	close(gop[0]);
	c->errfd = errp[0];
	c->repfd = repp[0];
	c->gofd = gop[1];
}

/* Returns 1 once the child has sent its report, 0 if it never will. */
static int
child_wait_report(struct child *c)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	if (c->have_report)
		return (1);
	if (c->repfd == -1)
		return (0);
	pfd.fd = c->repfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, CHILD_WAIT) == 1) {
		n = read(c->repfd, &c->report, sizeof(c->report));
		if (n == (ssize_t)sizeof(c->report))
			c->have_report = 1;
	}
	close(c->repfd);
	c->repfd = -1;
	return (c->have_report);
}

/* Let it go on, collect its stderr and its end; bounded in time. */
static void
child_finish(struct child *c)
{
	struct pollfd	 pfd;
	struct timespec	 start, now;
	ssize_t		 n;
	long		 left;

	(void)child_wait_report(c);
	close(c->gofd);
	c->gofd = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = CHILD_WAIT - ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			kill(c->pid, SIGKILL);
			break;
		}
		pfd.fd = c->errfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (c->errlen + 1 >= sizeof(c->err)) {
			char	 sink[512];

			n = read(c->errfd, sink, sizeof(sink));
		} else
			n = read(c->errfd, c->err + c->errlen,
			    sizeof(c->err) - 1 - c->errlen);
		if (n <= 0)
			break;
		if (c->errlen + 1 < sizeof(c->err))
			c->errlen += n;
	}
	c->err[c->errlen] = '\0';
	close(c->errfd);
	c->errfd = -1;
	while (waitpid(c->pid, &c->status, 0) == -1) {
		if (errno != EINTR) {
			c->status = -1;
			break;
		}
	}
}

static const char *
child_tail(const struct child *c)
{
	return (c->errlen > 200 ? c->err + c->errlen - 200 : c->err);
}

static int
child_said(const struct child *c, const char *s)
{
	return (strstr(c->err, s) != NULL);
}

static int
died_of(const struct child *c, int sig)
{
	return (c->status != -1 && WIFSIGNALED(c->status) &&
	    WTERMSIG(c->status) == sig);
}

/*
 * The child enters role's sandbox and makes one forbidden call: it
 * must die of SIGSYS, and the handler must name that very call (a
 * death on some other call would prove nothing).
 */
static void
expect_sigsys(enum proc_role role, void (*action)(void), long nr)
{
	struct child	 c;
	char		 want[128];

	c_role = role;
	c_dir = role == ROLE_VAULTD ? vaultdir : tmpdir;
	c_action = action;
	child_start(&c, role == ROLE_CTLD ? body_supervisor_action :
	    body_action);
	child_finish(&c);
	snprintf(want, sizeof(want), "sandbox: %s made forbidden system "
	    "call %ld\n", role == ROLE_SMTPD ? "smtpd" :
	    role == ROLE_IMAPD ? "imapd" : role == ROLE_CTLD ? "ctld" :
	    "vaultd", nr);
	CHECK_CHILD(&c, c.have_report && c.report.seccomp == 1);
	CHECK_CHILD(&c, died_of(&c, SIGSYS));
	CHECK_CHILD(&c, child_said(&c, want));
}

static void
proc_status(pid_t pid, char *buf, size_t len)
{
	char	 path[64];
	ssize_t	 n;
	int	 fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if ((n = read(fd, buf, len - 1)) < 0)
		n = 0;
	buf[n] = '\0';
	close(fd);
}

/* One line of /proc/<pid>/limits; "unlimited" is ULLONG_MAX. */
static int
proc_limit(pid_t pid, const char *what, unsigned long long *soft,
    unsigned long long *hard)
{
	unsigned long long	*v[2];
	char			 buf[4096], path[64], *p, *end;
	ssize_t			 n;
	int			 fd, i;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	if ((p = strstr(buf, what)) == NULL)
		return (-1);
	p += strlen(what);
	v[0] = soft;
	v[1] = hard;
	for (i = 0; i < 2; i++) {
		p += strspn(p, " ");
		if (strncmp(p, "unlimited", 9) == 0) {
			*v[i] = ULLONG_MAX;
			p += 9;
			continue;
		}
		errno = 0;
		*v[i] = strtoull(p, &end, 10);
		if (end == p || errno != 0)
			return (-1);
		p = end;
	}
	return (0);
}

/* ---- the child's side ---- */

static void
child_enter(enum proc_role role, const char *dir, const char *user)
{
	sandbox_enter(role, dir, user, &c_report);
	if (write(c_repfd, &c_report, sizeof(c_report)) !=
	    (ssize_t)sizeof(c_report))
		child_fail("write report");
}

static void
child_wait_go(void)
{
	char	 b;

	/* EOF is the signal: the parent closes its end. */
	if (read(c_gofd, &b, 1) == -1)
		child_fail("read go");
}

static __dead void
child_fail(const char *why)
{
	char	 buf[256];
	int	 len;

	len = snprintf(buf, sizeof(buf), "FAIL: %s: errno %d\n", why, errno);
	if (len > 0 && write(STDERR_FILENO, buf,
	    (size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1) == -1)
		_exit(2);
	_exit(1);
}

/* ctld's filter, as ctld loads it once the spawner is forked. */
static void
child_supervisor(void)
{
	sandbox_supervisor();
	memset(&c_report, 0, sizeof(c_report));
	c_report.seccomp = 1;
	if (write(c_repfd, &c_report, sizeof(c_report)) !=
	    (ssize_t)sizeof(c_report))
		child_fail("write report");
}

static void
body_supervisor_action(void)
{
	child_supervisor();
	c_action();
	child_fail("the forbidden call returned");
}

static void
body_action(void)
{
	child_enter(c_role, c_dir, "nobody");
	c_action();
	child_fail("the forbidden call returned");
}

static void
act_open(void)
{
	(void)open("/etc/hostname", O_RDONLY);
}

#if defined(SYS_open) && !defined(TRESOR_SANITIZE)
static void
act_sys_open(void)
{
	(void)syscall(SYS_open, "/etc/hostname", O_RDONLY);
}
#endif

#if defined(SYS_open) && defined(TRESOR_SANITIZE)
static void
body_sys_open_eperm(void)
{
	child_enter(c_role, c_dir, "nobody");
	errno = 0;
	if (syscall(SYS_open, "/etc/hostname", O_RDONLY) != -1 ||
	    errno != EPERM)
		child_fail("raw open not refused with EPERM");
	/* libc's open() is openat, which must still trap. */
	(void)open("/etc/hostname", O_RDONLY);
	child_fail("the forbidden call returned");
}
#endif

static void
act_openat(void)
{
	(void)openat(AT_FDCWD, ".", O_RDONLY | O_DIRECTORY);
}

static void
act_socket(void)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
}

static void
act_execve(void)
{
	char	*argv[] = { "true", NULL };
	char	*envp[] = { NULL };

	(void)execve("/bin/true", argv, envp);
}

static void
act_fork(void)
{
	pid_t	 pid;

	if ((pid = fork()) == 0)
		_exit(0);
}

static void
act_clone3(void)
{
	/* Checked before the kernel looks at the (missing) arguments. */
	(void)syscall(SYS_clone3, NULL, 0);
}

static void
act_ptrace(void)
{
	(void)syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
}

static void
act_mmap_exec(void)
{
	void	*p;

	/* The same call without PROT_EXEC is allowed. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		child_fail("mmap rw");
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void
act_mprotect_exec(void)
{
	void	*p;

	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		child_fail("mmap rw");
	if (mprotect(p, 4096, PROT_READ) == -1)
		child_fail("mprotect read");
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static void
act_setrlimit(void)
{
	struct rlimit	 rl;

	/* Reading a limit is allowed, changing one is not. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		child_fail("getrlimit");
	rl.rlim_cur = rl.rlim_cur > 1 ? rl.rlim_cur - 1 : rl.rlim_cur;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static void
act_kill_other(void)
{
	/* Signalling ourselves is allowed, anyone else is not. */
	if (kill(getpid(), 0) == -1)
		child_fail("kill self");
	(void)kill(c_ppid, 0);
}

static void
act_setresuid(void)
{
	if (setresuid(0, 0, 0) == -1)
		child_fail("setresuid failed instead of trapping");
}

static void
act_mount(void)
{
	(void)syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, NULL);
}

static void
act_socket_packet(void)
{
	int	 fd;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		child_fail("socket inet6");
	close(fd);
	(void)socket(AF_PACKET, SOCK_RAW, 0);
}

/* No such process: a call let through fails with ESRCH, harmlessly. */
#define NO_PID		0x7ffffff0

static void
act_kill_group(void)
{
	/* SIGTERM to a pid is allowed; to a process group it is not. */
	if (kill(NO_PID, SIGTERM) != -1 || errno != ESRCH)
		child_fail("kill pid SIGTERM");
	(void)kill(-NO_PID, SIGTERM);
}

static void
act_kill_signal(void)
{
	if (kill(NO_PID, SIGKILL) != -1 || errno != ESRCH)
		child_fail("kill pid SIGKILL");
	(void)kill(NO_PID, SIGUSR1);
}

static void
act_ioctl(void)
{
	struct winsize	 ws;
	int		 n;

	if (ioctl(c_gofd, FIONREAD, &n) == -1)
		child_fail("FIONREAD");
	(void)ioctl(STDERR_FILENO, TIOCGWINSZ, &ws);
}

static void
act_x32(void)
{
#ifdef __x86_64__
	(void)syscall(__X32_SYSCALL_BIT | SYS_getpid);
#endif
}

/* What a front must still be able to do. */
static void
body_front_allowed(void)
{
	struct rlimit	 rl;
	struct timespec	 ts;
	struct stat	 st;
	unsigned char	 rnd[32];
	char		 buf[16];
	void		*big;
	int		 p[2], fd, n;

	if (pipe(p) == -1)
		child_fail("pipe");
	child_enter(ROLE_SMTPD, tmpdir, "nobody");

	if (write(p[1], "hello", 5) != 5)
		child_fail("write pipe");
	if (ioctl(p[0], FIONREAD, &n) == -1 || n != 5)
		child_fail("FIONREAD");
	if (read(p[0], buf, sizeof(buf)) != 5 || memcmp(buf, "hello", 5))
		child_fail("read pipe");

	if ((fd = memfd_create("spool", MFD_CLOEXEC)) == -1)
		child_fail("memfd_create");
	if (write(fd, "message body", 12) != 12)
		child_fail("write memfd");
	if (pread(fd, buf, 7, 8) != 4 || memcmp(buf, "body", 4) != 0)
		child_fail("pread memfd");
	if (ftruncate(fd, 7) == -1 || fstat(fd, &st) == -1 ||
	    st.st_size != 7)
		child_fail("ftruncate/fstat memfd");
	if (close(fd) == -1)
		child_fail("close memfd");

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		child_fail("getrandom");
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    clock_gettime(CLOCK_REALTIME, &ts) == -1)
		child_fail("clock_gettime");
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		child_fail("getrlimit");
	if (rl.rlim_cur != rl.rlim_max ||
	    (expect_nofile && rl.rlim_cur < 65536))
		child_fail("RLIMIT_NOFILE not raised");
	if (getrlimit(RLIMIT_CORE, &rl) == -1 || rl.rlim_max != 0)
		child_fail("RLIMIT_CORE");
	if (is_root && (getuid() != nobody_uid || getegid() != nobody_gid))
		child_fail("still the old user");
	/* A large block comes from mmap, a small one from brk. */
	if ((big = malloc(4 << 20)) == NULL)
		child_fail("malloc big");
	memset(big, 'x', 4 << 20);
	free(big);
	if (kill(getpid(), 0) == -1)
		child_fail("kill self");
	log_info("front still logs");
	_exit(0);
}

/*
 * What ctld must still be able to do under its filter: ctl's
 * connections and their credentials, channels with fds passed, signals
 * to a pid, reaping, and a reload's files and listeners.
 */
static void
body_supervisor_allowed(void)
{
	struct sockaddr_in	 sin;
	struct msghdr		 msg;
	struct cmsghdr		*cmsg;
	struct iovec		 iov;
	struct ucred		 cred;
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(sizeof(int))];
	}			 cbuf;
	socklen_t		 len;
	char			 path[PATH_MAX], buf[64];
	int			 sp[2], l, c, a, fd;

	if (getpwnam("nobody") == NULL || getgrnam("nogroup") == NULL)
		child_fail("NSS before the filter");
	child_supervisor();

	/* The group check of ctl's access control, after the filter. */
	if (getpwnam("nobody") == NULL)
		child_fail("getpwnam");
	len = sizeof(cred);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    getsockopt(sp[0], SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.pid != getpid())
		child_fail("socketpair / SO_PEERCRED");

	/* An fd to a child. */
	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = "x";
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	fd = STDERR_FILENO;
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
	if (sendmsg(sp[0], &msg, 0) != 1)
		child_fail("sendmsg fd");
	iov.iov_base = buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	if (recvmsg(sp[1], &msg, MSG_CMSG_CLOEXEC) != 1)
		child_fail("recvmsg fd");
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(fd));
	if (close(fd) == -1)
		child_fail("close passed fd");

	/* A new listener, as on reload, and a connection accepted. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(sin);
	if ((l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1)
		child_fail("listener");
	if (accept4(l, NULL, NULL, SOCK_CLOEXEC) != -1 || errno != EAGAIN)
		child_fail("accept4 with nobody waiting");
	if ((c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(c, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		child_fail("connect");
	while ((a = accept4(l, NULL, NULL, SOCK_CLOEXEC)) == -1 &&
	    errno == EAGAIN)
		;
	if (a == -1)
		child_fail("accept4");
	close(a);
	close(c);
	close(l);

	/* The configuration read again; a half-made pair removed. */
	if (snprintf(path, sizeof(path), "%s/reload.conf", tmpdir) >=
	    (int)sizeof(path))
		child_fail("path too long");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || write(fd, "x", 1) != 1 || close(fd) == -1)
		child_fail("create");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, buf, sizeof(buf)) != 1 || close(fd) == -1)
		child_fail("read");
	if (unlink(path) == -1)
		child_fail("unlink");
	if (getcwd(buf, sizeof(buf)) == NULL && errno != ERANGE)
		child_fail("getcwd");

	/* Signals to a pid, reaping (none to reap here). */
	if (kill(NO_PID, SIGTERM) != -1 || errno != ESRCH)
		child_fail("kill SIGTERM");
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		child_fail("waitpid");
	log_info("ctld still logs");
	_exit(0);
}

/* vaultd works on files beneath its directory, and only there. */
static void
body_vaultd_files(void)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 buf[16];
	int		 fd, found = 0;

	child_enter(ROLE_VAULTD, vaultdir, "nobody");

	if ((fd = open("db.tmp", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
	    0600)) == -1)
		child_fail("open db.tmp");
	if (write(fd, "0123456789", 10) != 10 ||
	    pwrite(fd, "ab", 2, 4) != 2 ||
	    fsync(fd) == -1 || fdatasync(fd) == -1)
		child_fail("write/fsync db.tmp");
	if (pread(fd, buf, 4, 3) != 4 || memcmp(buf, "3ab6", 4) != 0)
		child_fail("pread db.tmp");
	if (fchmod(fd, 0640) == -1)
		child_fail("fchmod");
	if (close(fd) == -1)
		child_fail("close db.tmp");
	if (rename("db.tmp", "db") == -1)
		child_fail("rename");
	if (stat("db", &st) == -1 || st.st_size != 10)
		child_fail("stat db");
	if (access("db", R_OK | W_OK) == -1)
		child_fail("access db");
	if (mkdir("sub", 0700) == -1)
		child_fail("mkdir");
	if ((d = opendir(".")) == NULL)
		child_fail("opendir");
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, "db") == 0)
			found = 1;
	if (closedir(d) == -1 || !found)
		child_fail("readdir");
	if (unlink("db") == -1)
		child_fail("unlink");

	/* Outside: chroot hides it, or Landlock refuses it. */
	errno = 0;
	if ((fd = open("../outside", O_RDONLY)) != -1)
		child_fail("opened ../outside");
	if (errno != ENOENT && errno != EACCES)
		child_fail("../outside: unexpected errno");
	if (!c_report.chrooted && c_report.landlock_abi > 0 &&
	    errno != EACCES)
		child_fail("../outside: Landlock did not refuse");
	_exit(0);
}

/*
 * vaultd's KDF workers are threads made after the sandbox: they must
 * start (clone with pthread's flags, set_robust_list, rseq), inherit
 * Landlock and seccomp, and see clone3 refused with ENOSYS.
 */
static void *
thread_body(void *arg)
{
	int	*result = arg;
	int	 fd;

	*result = 1;
	errno = 0;
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return (NULL);
	*result = 2;
	errno = 0;
	if ((fd = open("../outside", O_RDONLY)) != -1) {
		close(fd);
		return (NULL);
	}
	if (errno != ENOENT && errno != EACCES)
		return (NULL);
	if (!c_report.chrooted && c_report.landlock_abi > 0 &&
	    errno != EACCES)
		return (NULL);
	*result = 0;
	return (NULL);
}

static void
body_vaultd_thread(void)
{
	pthread_t	 t;
	int		 result = -1;

	child_enter(ROLE_VAULTD, vaultdir, "nobody");
	if (pthread_create(&t, NULL, thread_body, &result) != 0)
		child_fail("pthread_create");
	if (pthread_join(t, NULL) != 0)
		child_fail("pthread_join");
	if (result == 1)
		child_fail("clone3 in a thread was not refused with ENOSYS");
	if (result == 2)
		child_fail("a thread escaped Landlock or chroot");
	if (result != 0)
		child_fail("the thread did not run");
	_exit(0);
}

/* Enter, then block until the parent has looked at us. */
static void
body_wait(void)
{
	child_enter(c_role, c_role == ROLE_VAULTD ? vaultdir : tmpdir,
	    "nobody");
	child_wait_go();
	_exit(0);
}

/*
 * Landlock without chroot: become nobody first, so that sandbox_enter
 * takes the unprivileged path (chdir only).
 */
static void
body_landlock(void)
{
	char	 path[PATH_MAX + 16];
	int	 fd;

	if (is_root && (setgroups(1, &nobody_gid) == -1 ||
	    setresgid(nobody_gid, nobody_gid, nobody_gid) == -1 ||
	    setresuid(nobody_uid, nobody_uid, nobody_uid) == -1))
		child_fail("become nobody");
	/*
	 * The uid change made us not dumpable; undo that so the parent
	 * can see that sandbox_enter itself sets it.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		child_fail("PR_SET_DUMPABLE");
	/* Readable before: what follows is Landlock's doing. */
	if ((fd = open(outside, O_RDONLY)) == -1 || close(fd) == -1)
		child_fail("outside not readable before the sandbox");

	child_enter(ROLE_VAULTD, vaultdir, NULL);

	if ((fd = open("inside", O_CREAT | O_RDWR | O_CLOEXEC, 0600)) == -1)
		child_fail("open inside");
	if (write(fd, "x", 1) != 1 || close(fd) == -1)
		child_fail("write inside");
	snprintf(path, sizeof(path), "%s/inside", vaultdir);
	if ((fd = open(path, O_RDONLY)) == -1 || close(fd) == -1)
		child_fail("open inside by absolute path");
	errno = 0;
	if (open("../outside", O_RDONLY) != -1 || errno != EACCES)
		child_fail("../outside not refused with EACCES");
	errno = 0;
	if (open(outside, O_RDONLY) != -1 || errno != EACCES)
		child_fail("outside (absolute) not refused with EACCES");
	/* /tmp lets anyone create files: only Landlock can say no. */
	errno = 0;
	if (open(newfile, O_CREAT | O_WRONLY, 0600) != -1 || errno != EACCES)
		child_fail("created a file outside");
	child_wait_go();
	_exit(0);
}

static void
body_ctld(void)
{
	sandbox_enter(ROLE_CTLD, tmpdir, "nobody", &c_report);
	child_fail("ctld entered a sandbox");
}

static void
body_unknown_user(void)
{
	sandbox_enter(ROLE_SMTPD, tmpdir, "tresor-no-such-user", &c_report);
	child_fail("entered as an unknown user");
}

/* ---- the tests ---- */

static void
sandbox_front_open(void)
{
	expect_sigsys(ROLE_SMTPD, act_open, SYS_openat);
}

/*
 * The raw open system call (glibc's open() is openat).  Sanitizer
 * builds refuse it with EPERM in fronts instead, so that ASan and UBSan
 * reports get printed (see sandbox.c).
 */
static void
sandbox_front_sys_open(void)
{
#if defined(SYS_open) && defined(TRESOR_SANITIZE)
	struct child	 c;
	char		 want[128];

	c_role = ROLE_SMTPD;
	c_dir = tmpdir;
	child_start(&c, body_sys_open_eperm);
	child_finish(&c);
	snprintf(want, sizeof(want), "sandbox: smtpd made forbidden system "
	    "call %ld\n", (long)SYS_openat);
	CHECK_CHILD(&c, c.have_report && c.report.seccomp == 1);
	CHECK_CHILD(&c, !child_said(&c, "FAIL"));
	CHECK_CHILD(&c, died_of(&c, SIGSYS));
	CHECK_CHILD(&c, child_said(&c, want));
#elif defined(SYS_open)
	expect_sigsys(ROLE_SMTPD, act_sys_open, SYS_open);
#else
	printf("# skip: no open system call here\n");
#endif
}

static void
sandbox_imapd_openat(void)
{
	expect_sigsys(ROLE_IMAPD, act_openat, SYS_openat);
}

static void
sandbox_smtpd_socket(void)
{
	expect_sigsys(ROLE_SMTPD, act_socket, SYS_socket);
}

static void
sandbox_vaultd_socket(void)
{
	expect_sigsys(ROLE_VAULTD, act_socket, SYS_socket);
}

static void
sandbox_front_execve(void)
{
	expect_sigsys(ROLE_SMTPD, act_execve, SYS_execve);
}

static void
sandbox_vaultd_execve(void)
{
	expect_sigsys(ROLE_VAULTD, act_execve, SYS_execve);
}

static void
sandbox_front_fork(void)
{
	expect_sigsys(ROLE_IMAPD, act_fork, SYS_clone);
}

static void
sandbox_front_clone3(void)
{
	expect_sigsys(ROLE_SMTPD, act_clone3, SYS_clone3);
}

static void
sandbox_vaultd_fork(void)
{
	expect_sigsys(ROLE_VAULTD, act_fork, SYS_clone);
}

static void
sandbox_front_ptrace(void)
{
	expect_sigsys(ROLE_SMTPD, act_ptrace, SYS_ptrace);
}

static void
sandbox_mmap_exec(void)
{
	expect_sigsys(ROLE_SMTPD, act_mmap_exec, SYS_mmap);
}

static void
sandbox_mprotect_exec(void)
{
	expect_sigsys(ROLE_VAULTD, act_mprotect_exec, SYS_mprotect);
}

static void
sandbox_setrlimit(void)
{
	expect_sigsys(ROLE_SMTPD, act_setrlimit, SYS_prlimit64);
}

static void
sandbox_kill_other(void)
{
	expect_sigsys(ROLE_IMAPD, act_kill_other, SYS_kill);
}

static void
sandbox_ioctl_other(void)
{
	expect_sigsys(ROLE_SMTPD, act_ioctl, SYS_ioctl);
}

/*
 * An x32 system call has its own numbers: the filter must kill the
 * process (bad-arch action) instead of judging it by x86_64 rules.  No
 * handler message: it is killed, not trapped.
 */
static void
sandbox_x32_abi(void)
{
#ifdef __x86_64__
	struct child	 c;

	c_role = ROLE_SMTPD;
	c_dir = tmpdir;
	c_action = act_x32;
	child_start(&c, body_action);
	child_finish(&c);
	CHECK_CHILD(&c, c.have_report && c.report.seccomp == 1);
	CHECK_CHILD(&c, died_of(&c, SIGSYS));
	CHECK_CHILD(&c, !child_said(&c, "made forbidden system call"));
#else
	printf("# skip: not x86_64\n");
#endif
}

static void
sandbox_front_allowed(void)
{
	struct child	 c;
	char		 want[PATH_MAX + 128], ll[16], who[32];

	child_start(&c, body_front_allowed);
	child_finish(&c);
	CHECK_CHILD(&c, c.have_report);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CHECK_CHILD(&c, c.report.no_new_privs == 1 && c.report.seccomp == 1);
	CHECK_CHILD(&c, c.report.chrooted == is_root);
	CHECK_CHILD(&c, c.report.uid_dropped == is_root);
	CHECK_CHILD(&c, c.report.mlocked == 0);
	if (kernel_landlock > 0)
		CHECK_CHILD(&c, c.report.landlock_abi >= 1 &&
		    c.report.landlock_abi <= kernel_landlock);
	else
		CHECK_CHILD(&c, c.report.landlock_abi == 0);

	/* The summary line, word for word. */
	if (c.report.landlock_abi > 0)
		snprintf(ll, sizeof(ll), "%d", c.report.landlock_abi);
	else
		snprintf(ll, sizeof(ll), "no");
	if (is_root)
		snprintf(who, sizeof(who), "nobody");
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)geteuid());
	snprintf(want, sizeof(want), "sandbox: smtpd chroot=%s user=%s "
	    "nonewprivs=1 landlock=%s seccomp=1 mlock=n/a\n",
	    is_root ? tmpdir : "no", who, ll);
	CHECK_CHILD(&c, child_said(&c, want));
	CHECK_CHILD(&c, child_said(&c, "front still logs\n"));
}

static void
sandbox_vaultd_thread(void)
{
	struct child	 c;

	child_start(&c, body_vaultd_thread);
	child_finish(&c);
	CHECK_CHILD(&c, c.have_report);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
}

static void
sandbox_vaultd_files(void)
{
	struct child	 c;
	struct stat	 st;
	char		 path[PATH_MAX + 16];

	child_start(&c, body_vaultd_files);
	child_finish(&c);
	CHECK_CHILD(&c, c.have_report);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CHECK_CHILD(&c, c.report.chrooted == is_root);
	CHECK_CHILD(&c, c.report.mlocked == expect_mlock);
	CHECK_CHILD(&c, child_said(&c, expect_mlock ? " mlock=yes\n" :
	    " mlock=no\n"));

	/* What it did is there, as its user. */
	snprintf(path, sizeof(path), "%s/db", vaultdir);
	CHECK(stat(path, &st) == -1 && errno == ENOENT);
	snprintf(path, sizeof(path), "%s/sub", vaultdir);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	if (is_root)
		CHECK(st.st_uid == nobody_uid);
	CHECK(rmdir(path) == 0);
}

/* (d) The kernel's view of a sandboxed front, read by the parent. */
static void
sandbox_proc_status(void)
{
	struct child		 c;
	struct stat		 st;
	unsigned long long	 core[2], nofile[2];
	char			 status[4096], path[64];
	int			 stat_ok, core_ok, nofile_ok;

	c_role = ROLE_SMTPD;
	child_start(&c, body_wait);
	(void)child_wait_report(&c);
	proc_status(c.pid, status, sizeof(status));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c.pid);
	stat_ok = stat(path, &st) == 0;
	core_ok = proc_limit(c.pid, "Max core file size", &core[0],
	    &core[1]) == 0;
	nofile_ok = proc_limit(c.pid, "Max open files", &nofile[0],
	    &nofile[1]) == 0;
	child_finish(&c);

	CHECK_CHILD(&c, c.have_report);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CHECK(strstr(status, "\nNoNewPrivs:\t1\n") != NULL);
	CHECK(strstr(status, "\nSeccomp:\t2\n") != NULL);
	CHECK(core_ok && core[0] == 0 && core[1] == 0);
	CHECK(nofile_ok && nofile[0] == nofile[1]);
	if (expect_nofile)
		CHECK(nofile[0] >= 65536);
	/* Not dumpable: its /proc files belong to root, not to it. */
	CHECK(stat_ok && st.st_uid == 0);
}

/* (e) As root: nobody, in the chroot, with no capabilities left. */
static void
sandbox_root_chroot(void)
{
	struct child	 c;
	char		 status[4096], want[128], root[PATH_MAX];
	char		 cwd[PATH_MAX], path[64];
	ssize_t		 rn, cn;

	if (!is_root) {
		printf("# skip: not root\n");
		return;
	}
	c_role = ROLE_IMAPD;
	child_start(&c, body_wait);
	(void)child_wait_report(&c);
	proc_status(c.pid, status, sizeof(status));
	snprintf(path, sizeof(path), "/proc/%d/root", (int)c.pid);
	rn = readlink(path, root, sizeof(root) - 1);
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)c.pid);
	cn = readlink(path, cwd, sizeof(cwd) - 1);
	child_finish(&c);

	CHECK_CHILD(&c, c.have_report && c.report.chrooted &&
	    c.report.uid_dropped);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n",
	    nobody_uid, nobody_uid, nobody_uid, nobody_uid);
	CHECK(strstr(status, want) != NULL);
	snprintf(want, sizeof(want), "\nGid:\t%u\t%u\t%u\t%u\n",
	    nobody_gid, nobody_gid, nobody_gid, nobody_gid);
	CHECK(strstr(status, want) != NULL);
	snprintf(want, sizeof(want), "\nGroups:\t%u \n", nobody_gid);
	CHECK(strstr(status, want) != NULL);
	CHECK(strstr(status, "\nCapEff:\t0000000000000000\n") != NULL);
	CHECK(strstr(status, "\nCapPrm:\t0000000000000000\n") != NULL);
	CHECK(rn > 0);
	root[rn] = '\0';
	CHECK(strcmp(root, tmpdir) == 0);
	CHECK(cn > 0);
	cwd[cn] = '\0';
	CHECK(strcmp(cwd, tmpdir) == 0);
}

/* vaultd: the same filter mode, and its memory locked. */
static void
sandbox_vaultd_status(void)
{
	struct child	 c;
	char		 status[4096];
	const char	*p;

	c_role = ROLE_VAULTD;
	child_start(&c, body_wait);
	(void)child_wait_report(&c);
	proc_status(c.pid, status, sizeof(status));
	child_finish(&c);

	CHECK_CHILD(&c, c.have_report);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CHECK(strstr(status, "\nNoNewPrivs:\t1\n") != NULL);
	CHECK(strstr(status, "\nSeccomp:\t2\n") != NULL);
	CHECK((p = strstr(status, "\nVmLck:")) != NULL);
	p += strlen("\nVmLck:");
	p += strspn(p, " \t");
	if (expect_mlock)
		CHECK(*p >= '1' && *p <= '9');
	else
		CHECK(*p == '0');
}

/* (f) Landlock alone confines an unprivileged vaultd. */
static void
sandbox_landlock_unpriv(void)
{
	struct child	 c;
	struct stat	 st;
	char		 path[PATH_MAX + 16];
	int		 stat_ok, created;

	if (kernel_landlock <= 0) {
		printf("# skip: no Landlock in this kernel\n");
		return;
	}
	child_start(&c, body_landlock);
	(void)child_wait_report(&c);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c.pid);
	stat_ok = stat(path, &st) == 0;
	child_finish(&c);
	CHECK_CHILD(&c, c.have_report);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CHECK_CHILD(&c, c.report.chrooted == 0 && c.report.uid_dropped == 0);
	CHECK_CHILD(&c, c.report.landlock_abi >= 1);
	CHECK_CHILD(&c, child_said(&c, "not chrooted"));
	CHECK_CHILD(&c, child_said(&c, " chroot=no "));
	snprintf(path, sizeof(path), "%s/inside", vaultdir);
	CHECK(unlink(path) == 0);
	created = access(newfile, F_OK) == 0;
	if (created)
		(void)unlink(newfile);
	CHECK(!created);
	/* Not dumpable: its /proc files belong to root, not to nobody. */
	CHECK(stat_ok && st.st_uid == 0);
}

static void
sandbox_ctld_refused(void)
{
	struct child	 c;

	child_start(&c, body_ctld);
	child_finish(&c);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1);
	CHECK_CHILD(&c, !c.have_report);
	CHECK_CHILD(&c, child_said(&c, "is not sandboxed"));
}

/*
 * ctld's own filter: no process, program, user change, trace or mount;
 * sockets of its families only; SIGTERM and SIGKILL to a pid only.
 */
static void
sandbox_supervisor_denied(void)
{
#ifndef TRESOR_SANITIZE
	/* Sanitizer builds refuse these with EPERM (the symboliser). */
	expect_sigsys(ROLE_CTLD, act_execve, SYS_execve);
	expect_sigsys(ROLE_CTLD, act_fork, SYS_clone);
	expect_sigsys(ROLE_CTLD, act_clone3, SYS_clone3);
#endif
	expect_sigsys(ROLE_CTLD, act_ptrace, SYS_ptrace);
	expect_sigsys(ROLE_CTLD, act_setresuid, SYS_setresuid);
	expect_sigsys(ROLE_CTLD, act_mount, SYS_mount);
	expect_sigsys(ROLE_CTLD, act_socket_packet, SYS_socket);
	expect_sigsys(ROLE_CTLD, act_kill_group, SYS_kill);
	expect_sigsys(ROLE_CTLD, act_kill_signal, SYS_kill);
	expect_sigsys(ROLE_CTLD, act_mmap_exec, SYS_mmap);
	expect_sigsys(ROLE_CTLD, act_setrlimit, SYS_prlimit64);
}

static void
sandbox_supervisor_allowed(void)
{
	struct child	 c;

	child_start(&c, body_supervisor_allowed);
	child_finish(&c);
	CHECK_CHILD(&c, c.have_report && c.report.seccomp == 1);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	CHECK_CHILD(&c, child_said(&c, "sandbox: ctld nonewprivs=1 "
	    "seccomp=1"));
	CHECK_CHILD(&c, child_said(&c, "ctld still logs"));
}

static void
sandbox_unknown_user(void)
{
	struct child	 c;

	if (!is_root) {
		printf("# skip: not root (the user is ignored)\n");
		return;
	}
	child_start(&c, body_unknown_user);
	child_finish(&c);
	CHECK_CHILD(&c, WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1);
	CHECK_CHILD(&c, child_said(&c, "unknown user tresor-no-such-user\n"));
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	setup();

	RUN(sandbox_front_open);
	RUN(sandbox_front_sys_open);
	RUN(sandbox_imapd_openat);
	RUN(sandbox_smtpd_socket);
	RUN(sandbox_vaultd_socket);
	RUN(sandbox_front_execve);
	RUN(sandbox_vaultd_execve);
	RUN(sandbox_front_fork);
	RUN(sandbox_front_clone3);
	RUN(sandbox_vaultd_fork);
	RUN(sandbox_front_ptrace);
	RUN(sandbox_mmap_exec);
	RUN(sandbox_mprotect_exec);
	RUN(sandbox_setrlimit);
	RUN(sandbox_kill_other);
	RUN(sandbox_ioctl_other);
	RUN(sandbox_x32_abi);
	RUN(sandbox_front_allowed);
	RUN(sandbox_vaultd_files);
	RUN(sandbox_vaultd_thread);
	RUN(sandbox_proc_status);
	RUN(sandbox_root_chroot);
	RUN(sandbox_vaultd_status);
	RUN(sandbox_landlock_unpriv);
	RUN(sandbox_ctld_refused);
	RUN(sandbox_unknown_user);
	RUN(sandbox_supervisor_denied);
	RUN(sandbox_supervisor_allowed);

	cleanup();
	TEST_EXIT();
}
