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
 * The sandbox a child puts itself in before it reads anything from the
 * network or from another process, and ctld's own system call filter
 * (sandbox_supervisor()).  The order matters: the user is looked up
 * while /etc is still visible, memory is locked while we may still
 * raise RLIMIT_MEMLOCK, the data directory is opened before chroot so
 * that Landlock can name it, privileges are dropped before the filters
 * are loaded (the filters do not allow setresuid), and seccomp comes
 * last because it forbids nearly everything done before.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* Fronts serve many clients at once; as root they get at least this. */
#define SANDBOX_NOFILE		65536

struct sandbox_user {
	uid_t	 uid;
	gid_t	 gid;
};

static const char	*sandbox_rolestr(enum proc_role);
static void		 sandbox_getuser(const char *,
			    struct sandbox_user *);
static void		 sandbox_limits(enum proc_role, int);
static int		 sandbox_mlock(void);
static void		 sandbox_dropuser(const struct sandbox_user *);
static int		 sandbox_landlock(enum proc_role, int);
static void		 sandbox_seccomp(enum proc_role);
static void		 sandbox_allow(scmp_filter_ctx, const char *const *,
			    size_t);
#ifdef TRESOR_SANITIZE
static void		 sandbox_refuse(scmp_filter_ctx, const char *const *,
			    size_t);
#endif
static void		 sandbox_names(scmp_filter_ctx, uint32_t,
			    const char *const *, size_t);
static void		 sandbox_allow_args(scmp_filter_ctx);
static void		 sandbox_allow_threads(scmp_filter_ctx);
static void		 sandbox_allow_supervisor(scmp_filter_ctx);
static void		 sandbox_rule(scmp_filter_ctx, uint32_t, int,
			    unsigned int, const struct scmp_arg_cmp *);
static void		 sandbox_sigsys(int, siginfo_t *, void *);

/*
 * role_name() lives in another file that the sandbox should not depend
 * on; the SIGSYS handler also needs the name without calling anything.
 */
static const char *const sandbox_roles[ROLE_COUNT] = {
	[ROLE_CTLD] = "ctld",
	[ROLE_SMTPD] = "smtpd",
	[ROLE_IMAPD] = "imapd",
	[ROLE_VAULTD] = "vaultd",
};

/* Read by the SIGSYS handler: set once before the filter is loaded. */
static const char	*sandbox_trap_role = "?";

/*
 * System calls every sandboxed child may make.  Conditional rules
 * (mmap, mprotect, prlimit64, ioctl, kill, tgkill) are added by
 * sandbox_allow_args().  Names unknown to this architecture (open on
 * arm64, say) are skipped; a name unknown to libseccomp is fatal so a
 * typo cannot silently drop a rule.
 */
static const char *const sandbox_common[] = {
	/* I/O on descriptors handed over or opened before the sandbox. */
	"read", "write", "readv", "writev", "close", "lseek",
	"fcntl", "dup", "dup2", "dup3",
	/*
	 * fstat(): glibc uses newfstatat(fd, "", AT_EMPTY_PATH).  With a
	 * path it only reveals names inside the chroot or, when Landlock
	 * confines us, metadata that Landlock does not cover.
	 */
	"fstat", "newfstatat",
	/*
	 * Messages with ctld and the other children, and syslog(3) on the
	 * socket log_init() connected (LOG_NDELAY) before chroot.  If
	 * syslogd goes away, syslog(3) reconnects with socket(2): that
	 * traps and ctld restarts the child, which then logs again;
	 * refusing it quietly instead would lose audit lines for good.
	 */
	"recvmsg", "sendmsg", "recvfrom", "sendto",
	/* Connected sockets: options, addresses for logs, half-close. */
	"getsockopt", "setsockopt", "getsockname", "getpeername",
	"shutdown",
	/* The event loop (libevent uses epoll; poll/select as fallback). */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
	"select", "pselect6",
	/* Time and sleeping (the vDSO mostly; these are the fallback). */
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
	"time",
	/* Who am I: logging, SQLite and libc ask. */
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"uname",
	/* glibc's qsort() sizes its buffer by the memory installed. */
	"sysinfo",
	/* Randomness for libsodium and libtls. */
	"getrandom",
	/* Memory: malloc and friends (mmap/mprotect are conditional). */
	"brk", "munmap", "mremap", "madvise",
	/* sodium_malloc() locks the pages of keys (vault keys, TLS key). */
	"mlock", "munlock",
	/* Signals, including return from handlers and raise(). */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"restart_syscall",
	/* Locks of libc and the end of the process. */
	"futex", "sched_yield", "sched_getaffinity", "exit", "exit_group",
};

/*
 * smtpd and imapd: accept clients on the listeners ctld hands over and
 * spool messages in memory (memfd), never on disk.  No open, no new
 * sockets, no new processes, no file system changes.
 */
static const char *const sandbox_front[] = {
	"accept", "accept4",
	"memfd_create", "ftruncate", "pread64", "pwrite64",
};

/*
 * vaultd: SQLite inside its data directory (chroot and Landlock keep it
 * there).  No socket, connect, accept, bind or listen: it only talks on
 * the socketpairs it inherits and logs on the syslog socket.
 */
static const char *const sandbox_vault[] = {
	/* Opening databases, journals and WAL files. */
	"open", "openat",
	/* Reading and writing pages, durability, growing and shrinking. */
	"pread64", "pwrite64", "fsync", "fdatasync", "ftruncate",
	"fallocate",
	/* Mailbox results and bodies go to the fronts as sealed memfds. */
	"memfd_create",
	/* Journals are created, renamed and deleted. */
	"unlink", "unlinkat", "rename", "renameat", "renameat2",
	"mkdir", "mkdirat", "getdents64",
	/* SQLite looks at files and paths before it opens them. */
	"stat", "lstat", "statx", "access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getcwd",
	/* SQLite gives a journal the mode and owner of its database. */
	"fchmod", "fchown",
	"flock",
};

/*
 * ctld, the supervisor, once it has forked the spawner (ctld/spawn.c):
 * it starts no process and runs no program (the spawner does), changes
 * no user, mounts nothing, traces nothing.  socket(2) and kill(2) are
 * conditional (sandbox_allow_supervisor()).
 */
static const char *const sandbox_supervisor_calls[] = {
	/* ctl's connections on the control socket. */
	"accept4",
	/* A channel for each child, between a front and vaultd too. */
	"socketpair",
	/*
	 * Reload opens the listeners that are new; syslog(3) reconnects
	 * when syslogd restarts; NSS may ask nscd on its socket.
	 */
	"bind", "listen", "connect",
	/*
	 * Reload reads the configuration (and what it includes), hands
	 * the certificate and key to the fronts as fds and may make a new
	 * self-signed pair; relative paths are made absolute.  NSS reads
	 * the password and group databases for ctl's access check.
	 */
	"openat", "getcwd",
	/* A pair made half-way is removed; so is the socket at exit. */
	"unlink",
	/* The children: collected when they die. */
	"wait4",
};

#ifdef TRESOR_SANITIZE
/*
 * Sanitizer builds only.  While the program runs normally the ASan and
 * UBSan runtimes need nothing beyond the lists above (tested).  When
 * they report an error they first call readlink("/proc/self/exe") and
 * open("/proc/self/maps") with the raw system calls; trapped, the
 * report would be lost.  Refused with EPERM in the fronts instead, the
 * report is printed (run with ASAN_OPTIONS=symbolize=0: symbolising
 * needs fork and exec, and offsets can be resolved offline).  libc's
 * open() is openat, which still traps, so a front that opens a file
 * still dies in these builds.  vaultd allows both calls anyway.
 */
static const char *const sandbox_sanitize_eperm[] = {
	"open", "readlink",
};

/*
 * ctld in the same builds: the runtime reads its maps as above, prints
 * the report, then would start a symboliser with fork and exec.
 * Refused, the report still comes out (unsymbolised) and ctld then
 * dies of the error it reports.
 */
static const char *const sandbox_sanitize_supervisor[] = {
	"open", "readlink",
	"fork", "vfork", "execve", "execveat", "clone", "clone3",
};
#endif

#ifdef TRESOR_SANITIZE
/*
 * LeakSanitizer stops the world with ptrace from a cloned thread at
 * exit, which the filter forbids.  Check for leaks now, while that
 * still works; the runtime then skips the check at exit.  Weak, so a
 * UBSan-only build links too.
 */
extern void	__lsan_do_leak_check(void) __attribute__((__weak__));
#endif

void
sandbox_enter(enum proc_role role, const char *dir, const char *user,
    struct sandbox_report *report)
{
	struct sandbox_report	 local;
	struct sandbox_user	 su;
	const char		*name;
	char			 who[64], ll[16];
	int			 dirfd, root;

	if ((int)role < 0 || role >= ROLE_COUNT || role == ROLE_CTLD)
		fatalx("sandbox: role %d is not sandboxed", (int)role);
	name = sandbox_rolestr(role);
	if (dir == NULL)
		fatalx("sandbox: %s: no directory", name);
	if (report == NULL)
		report = &local;
	memset(report, 0, sizeof(*report));
	memset(&su, 0, sizeof(su));

#ifdef TRESOR_SANITIZE
	if (__lsan_do_leak_check != NULL)
		__lsan_do_leak_check();
#endif

	/* 1. The user, while the password database is still visible. */
	root = geteuid() == 0;
	if (root) {
		if (user == NULL)
			fatalx("sandbox: %s: no user to run as", name);
		sandbox_getuser(user, &su);
		snprintf(who, sizeof(who), "%s", user);
	} else {
		log_info("sandbox: %s: not started as root, stays under "
		    "uid %u", name, (unsigned int)geteuid());
		snprintf(who, sizeof(who), "uid %u", (unsigned int)geteuid());
	}

	/* 2. (and 8.) Resource limits, no core files, not dumpable. */
	sandbox_limits(role, root);

	/* 3. Keys must never reach swap. */
	if (role == ROLE_VAULTD)
		report->mlocked = sandbox_mlock();

	/*
	 * 4. The directory: opened first because Landlock needs a
	 * descriptor for it and after chroot the path means nothing.
	 */
	if ((dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("sandbox: %s: %s", name, dir);
	if (root) {
		if (chroot(dir) == -1)
			fatal("sandbox: %s: chroot %s", name, dir);
		if (chdir("/") == -1)
			fatal("sandbox: %s: chdir /", name);
		report->chrooted = 1;
	} else {
		if (chdir(dir) == -1)
			fatal("sandbox: %s: chdir %s", name, dir);
		log_info("sandbox: %s: not started as root, not chrooted "
		    "(working directory %s)", name, dir);
	}

	/* 5. Our own user and group, for good. */
	if (root) {
		sandbox_dropuser(&su);
		report->uid_dropped = 1;
	}

	/* 6. Nothing we could exec would gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: %s: PR_SET_NO_NEW_PRIVS", name);
	report->no_new_privs = 1;

	/* 7. Landlock, where the kernel has it. */
	report->landlock_abi = sandbox_landlock(role, dirfd);
	if (close(dirfd) == -1)
		fatal("sandbox: %s: close", name);

	/* 9. Last: the system call filter. */
	sandbox_seccomp(role);
	report->seccomp = 1;

	/* 10. One line says what is in force (and proves logging works). */
	if (report->landlock_abi > 0)
		snprintf(ll, sizeof(ll), "%d", report->landlock_abi);
	else
		snprintf(ll, sizeof(ll), "no");
	log_info("sandbox: %s chroot=%s user=%s nonewprivs=%d landlock=%s "
	    "seccomp=%d mlock=%s", name, report->chrooted ? dir : "no", who,
	    report->no_new_privs, ll, report->seccomp,
	    role != ROLE_VAULTD ? "n/a" : report->mlocked ? "yes" : "no");
}

static const char *
sandbox_rolestr(enum proc_role role)
{
	if ((int)role < 0 || role >= ROLE_COUNT)
		return ("?");
	return (sandbox_roles[role]);
}

static void
sandbox_getuser(const char *user, struct sandbox_user *su)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno != 0)
			fatal("sandbox: getpwnam %s", user);
		fatalx("unknown user %s", user);
	}
	if (pw->pw_uid == 0)
		fatalx("sandbox: user %s has uid 0, refusing to run as it",
		    user);
	su->uid = pw->pw_uid;
	su->gid = pw->pw_gid;
}

/*
 * RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 for everyone: a core file or a
 * ptrace attach by the same user would hand out keys and mail.  Not
 * dumpable also gives the files in /proc/<pid> to root, as we want.
 */
static void
sandbox_limits(enum proc_role role, int root)
{
	struct rlimit	 rl, want;
	const char	*name;

	name = sandbox_rolestr(role);
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("sandbox: %s: setrlimit RLIMIT_CORE", name);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("sandbox: %s: PR_SET_DUMPABLE", name);

	switch (role) {
	case ROLE_SMTPD:
	case ROLE_IMAPD:
		/* One descriptor per client, and more with TLS. */
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			fatal("sandbox: %s: getrlimit RLIMIT_NOFILE", name);
		want = rl;
		if (root && want.rlim_max != RLIM_INFINITY &&
		    want.rlim_max < SANDBOX_NOFILE)
			want.rlim_max = SANDBOX_NOFILE;
		want.rlim_cur = want.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			break;
		/* Root without CAP_SYS_RESOURCE (a container) lands here. */
		log_warn("sandbox: %s: cannot raise RLIMIT_NOFILE to %llu",
		    name, (unsigned long long)want.rlim_max);
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("sandbox: %s: setrlimit RLIMIT_NOFILE", name);
		break;
	case ROLE_VAULTD:
		/*
		 * mlockall(MCL_FUTURE) makes every later mapping count
		 * against RLIMIT_MEMLOCK, checked against our user once
		 * root is gone: with a finite limit malloc would start
		 * failing.  Root lifts the limit before dropping.
		 */
		if (getrlimit(RLIMIT_MEMLOCK, &rl) == -1)
			fatal("sandbox: %s: getrlimit RLIMIT_MEMLOCK", name);
		if (root && rl.rlim_max != RLIM_INFINITY) {
			want.rlim_cur = want.rlim_max = RLIM_INFINITY;
			if (setrlimit(RLIMIT_MEMLOCK, &want) == 0)
				break;
			log_warn("sandbox: %s: cannot lift RLIMIT_MEMLOCK",
			    name);
		}
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_MEMLOCK, &rl) == -1)
			log_warn("sandbox: %s: setrlimit RLIMIT_MEMLOCK", name);
		break;
	default:
		break;
	}
}

/* Returns 1 if all memory, present and future, is locked. */
static int
sandbox_mlock(void)
{
#ifdef TRESOR_SANITIZE
	/* ASan reserves terabytes of shadow memory: it cannot be locked. */
	log_info("sandbox: vaultd: sanitizer build, memory is not locked");
	return (0);
#else
	struct rlimit	 rl;

	/*
	 * Locking with a finite limit would work today and make malloc
	 * fail later (see sandbox_limits), so do not start.
	 */
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == -1)
		fatal("sandbox: getrlimit RLIMIT_MEMLOCK");
	if (rl.rlim_cur != RLIM_INFINITY) {
		log_warnx("sandbox: vaultd: memory is not locked: "
		    "RLIMIT_MEMLOCK is %llu bytes, not unlimited",
		    (unsigned long long)rl.rlim_cur);
		return (0);
	}
	if (mlockall(MCL_CURRENT | MCL_FUTURE) == -1) {
		log_warn("sandbox: vaultd: memory is not locked: mlockall");
		return (0);
	}
	return (1);
#endif
}

static void
sandbox_dropuser(const struct sandbox_user *su)
{
	gid_t	 gid = su->gid;

	if (setgroups(1, &gid) == -1 ||
	    setresgid(su->gid, su->gid, su->gid) == -1 ||
	    setresuid(su->uid, su->uid, su->uid) == -1)
		fatal("cannot drop privileges");

	/* Make sure the way back is closed. */
	if (setuid(0) != -1)
		fatalx("sandbox: could regain uid 0 after dropping it");
	if (su->gid != 0 && setgid(0) != -1)
		fatalx("sandbox: could regain gid 0 after dropping it");
}

/*
 * Returns the Landlock ABI whose rights are in force, 0 if none.  Only
 * the rights this header knows (and the kernel too) are handled: a
 * right nobody handles stays allowed, so newer headers mean more
 * rights refused.  Fronts get no rule, so no file system at all;
 * vaultd gets everything beneath its directory and nothing else.
 */
static int
sandbox_landlock(enum proc_role role, int dirfd)
{
#ifdef SYS_landlock_create_ruleset
	struct landlock_ruleset_attr		 attr;
	struct landlock_path_beneath_attr	 path;
	const char				*name;
	long					 abi;
	int					 fd, known;

	name = sandbox_rolestr(role);
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi == -1) {
		if (errno == ENOSYS || errno == EOPNOTSUPP) {
			log_info("sandbox: %s: Landlock is not available "
			    "in this kernel", name);
			return (0);
		}
		fatal("sandbox: %s: landlock_create_ruleset version", name);
	}

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs =
	    LANDLOCK_ACCESS_FS_EXECUTE |
	    LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR |
	    LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO |
	    LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	known = 1;
#ifdef LANDLOCK_ACCESS_FS_REFER
	if (abi >= 2) {
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
		known = 2;
	}
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3) {
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
		known = 3;
	}
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
	if (abi >= 5) {
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
		known = 5;
	}
#endif

	if ((fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr),
	    0)) == -1)
		fatal("sandbox: %s: landlock_create_ruleset", name);
	if (role == ROLE_VAULTD) {
		memset(&path, 0, sizeof(path));
		path.allowed_access = attr.handled_access_fs;
		path.parent_fd = dirfd;
		if (syscall(SYS_landlock_add_rule, fd,
		    LANDLOCK_RULE_PATH_BENEATH, &path, 0) == -1)
			fatal("sandbox: %s: landlock_add_rule", name);
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) == -1)
		fatal("sandbox: %s: landlock_restrict_self", name);
	if (close(fd) == -1)
		fatal("sandbox: %s: close", name);
	return (known);
#else
	(void)dirfd;
	log_info("sandbox: %s: built without Landlock",
	    sandbox_rolestr(role));
	return (0);
#endif
}

/*
 * Everything not allowed traps: the SIGSYS handler names the call and
 * the process dies of SIGSYS, which ctld logs and which points straight
 * at a missing rule or an attack.  System calls of another ABI (i386
 * int 0x80, x32 on x86_64) kill the process outright: the rules are
 * written for the native numbers only.
 */
static void
sandbox_seccomp(enum proc_role role)
{
	struct sigaction	 sa;
	scmp_filter_ctx		 ctx;
	const char		*name;
	int			 r;

	name = sandbox_rolestr(role);
	sandbox_trap_role = name;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sandbox: %s: sigaction SIGSYS", name);

	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		fatalx("sandbox: %s: seccomp_init failed", name);
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		fatalx("sandbox: %s: seccomp bad arch action: %s", name,
		    strerror(-r));

	sandbox_allow(ctx, sandbox_common, nitems(sandbox_common));
	sandbox_allow_args(ctx);
	switch (role) {
	case ROLE_SMTPD:
	case ROLE_IMAPD:
		sandbox_allow(ctx, sandbox_front, nitems(sandbox_front));
		break;
	case ROLE_VAULTD:
		sandbox_allow(ctx, sandbox_vault, nitems(sandbox_vault));
		sandbox_allow_threads(ctx);
		break;
	case ROLE_CTLD:
		sandbox_allow(ctx, sandbox_supervisor_calls,
		    nitems(sandbox_supervisor_calls));
		sandbox_allow_supervisor(ctx);
		break;
	default:
		fatalx("sandbox: %s: no system call filter", name);
	}
#ifdef TRESOR_SANITIZE
	if (role == ROLE_SMTPD || role == ROLE_IMAPD)
		sandbox_refuse(ctx, sandbox_sanitize_eperm,
		    nitems(sandbox_sanitize_eperm));
	else if (role == ROLE_CTLD)
		sandbox_refuse(ctx, sandbox_sanitize_supervisor,
		    nitems(sandbox_sanitize_supervisor));
#endif

	if ((r = seccomp_load(ctx)) < 0)
		fatalx("sandbox: %s: seccomp_load: %s", name, strerror(-r));
	seccomp_release(ctx);
}

static void
sandbox_allow(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	sandbox_names(ctx, SCMP_ACT_ALLOW, names, n);
}

#ifdef TRESOR_SANITIZE
static void
sandbox_refuse(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	sandbox_names(ctx, SCMP_ACT_ERRNO(EPERM), names, n);
}
#endif

static void
sandbox_names(scmp_filter_ctx ctx, uint32_t action, const char *const *names,
    size_t n)
{
	size_t	 i;
	int	 nr;

	for (i = 0; i < n; i++) {
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			fatalx("sandbox: unknown system call %s", names[i]);
		if (nr < 0) {
			/* Not a system call on this architecture. */
			log_debug("sandbox: no %s here", names[i]);
			continue;
		}
		sandbox_rule(ctx, action, nr, 0, NULL);
	}
}

static void
sandbox_allow_args(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	 a[2];
	pid_t			 pid;

	/*
	 * Memory, but never executable: there is no code to load after
	 * start, so PROT_EXEC can only be an exploit making room for its
	 * shellcode.
	 */
	a[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, a);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, a);

	/* getrlimit() is prlimit64(0, res, NULL, old): read our own only. */
	a[0] = SCMP_A0(SCMP_CMP_EQ, 0);
	a[1] = SCMP_A2(SCMP_CMP_EQ, 0);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, a);

	/*
	 * ioctl: bytes waiting, non-blocking mode, and the tty check
	 * that stdio makes (isatty) before its first write.
	 */
	a[0] = SCMP_A1(SCMP_CMP_EQ, FIONREAD);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, a);
	a[0] = SCMP_A1(SCMP_CMP_EQ, FIONBIO);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, a);
	a[0] = SCMP_A1(SCMP_CMP_EQ, TCGETS);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, a);

	/*
	 * Signals to ourselves only: raise() and abort() are tgkill on our
	 * own pid (also the SIGSYS handler's way to die).
	 */
	pid = getpid();
	a[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pid);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, a);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, a);
}

/*
 * vaultd's KDF workers (vaultd/vault_kdf.c) are threads started after
 * this filter and Landlock are in force, so they inherit both: Landlock
 * cannot be applied to threads that already exist, so the alternative
 * (start them first, install seccomp with SECCOMP_FILTER_FLAG_TSYNC)
 * would leave them outside Landlock.  What pthread_create() needs:
 *
 * - clone() with exactly glibc's thread flags: a thread shares memory,
 *   files and signal handlers; anything else, fork() included, traps.
 * - clone3() passes its flags in memory the filter cannot read: it is
 *   refused with ENOSYS, on which glibc falls back to clone().
 * - set_robust_list() and rseq(), which glibc makes in each new
 *   thread.  The stack is mmap'd and its guard page mprotect'd
 *   PROT_NONE (allowed above, never executable); madvise, futex and
 *   exit are in the common list.
 * - sched_setscheduler(0, SCHED_IDLE, ...) and, if that fails,
 *   setpriority(PRIO_PROCESS, 0, n): a KDF worker, and the mailbox
 *   workers' background thread (vaultd/vault_work.c), lower their own
 *   priority (on Linux both calls apply to the calling thread).
 *   Without CAP_SYS_NICE a thread can only lower its priority, and no
 *   other process or thread can be named.
 */
static void
sandbox_allow_threads(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp	 a[1], b[2];
	const scmp_datum_t	 flags = CLONE_VM | CLONE_FS | CLONE_FILES |
	    CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
	    CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	int			 nr;

	a[0] = SCMP_A0(SCMP_CMP_EQ, flags);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, a);
	if ((nr = seccomp_syscall_resolve_name("clone3")) >= 0)
		sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0, NULL);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(set_robust_list), 0,
	    NULL);
	if ((nr = seccomp_syscall_resolve_name("rseq")) >= 0)
		sandbox_rule(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
	b[0] = SCMP_A0(SCMP_CMP_EQ, PRIO_PROCESS);
	b[1] = SCMP_A1(SCMP_CMP_EQ, 0);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setpriority), 2, b);
	b[0] = SCMP_A0(SCMP_CMP_EQ, 0);
	b[1] = SCMP_A1(SCMP_CMP_EQ, SCHED_IDLE);
	sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_setscheduler), 2, b);
}

/*
 * ctld: new sockets of the families it listens on and logs on only;
 * SIGTERM and SIGKILL to a pid (its children), never to a negative one,
 * which names a process group or, -1, every process.  Pid 0, ctld's own
 * group, cannot be told apart in the same rule and stays allowed.
 */
static void
sandbox_allow_supervisor(scmp_filter_ctx ctx)
{
	static const int	 domains[] = { AF_UNIX, AF_INET, AF_INET6 };
	static const int	 signals[] = { SIGTERM, SIGKILL };
	struct scmp_arg_cmp	 a[2];
	size_t			 i;

	for (i = 0; i < nitems(domains); i++) {
		a[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i]);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, a);
	}
	/*
	 * One comparison per argument: the pid's sign bit (of the 32 the
	 * kernel reads, however the caller extended them) must be clear.
	 */
	for (i = 0; i < nitems(signals); i++) {
		a[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000U, 0);
		a[1] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)signals[i]);
		sandbox_rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 2, a);
	}
}

/*
 * ctld's filter, once the spawner is forked (children must not inherit
 * it: see ctld/spawn.c).  No privilege goes: ctld keeps its user and
 * capabilities, which reload and the control socket need; what goes is
 * every system call it has no use for, execve, fork, ptrace, setuid and
 * mount among them.  A forbidden call traps as in the children.
 */
void
sandbox_supervisor(void)
{
#ifdef TRESOR_SANITIZE
	/* As in sandbox_enter(): LeakSanitizer cannot run at exit. */
	if (__lsan_do_leak_check != NULL)
		__lsan_do_leak_check();
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: ctld: PR_SET_NO_NEW_PRIVS");
	sandbox_seccomp(ROLE_CTLD);
	log_info("sandbox: ctld nonewprivs=1 seccomp=1");
}

static void
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int n,
    const struct scmp_arg_cmp *a)
{
	int	 r;

	if ((r = seccomp_rule_add_array(ctx, action, nr, n, a)) < 0)
		fatalx("sandbox: seccomp rule for system call %d: %s", nr,
		    strerror(-r));
}

/*
 * A forbidden system call.  Only async-signal-safe calls here: format
 * by hand, one write(2) to stderr (syslog(3) is not safe), then die of
 * SIGSYS so that the parent sees why.
 */
static void
sandbox_sigsys(int sig, siginfo_t *si, void *uctx)
{
	struct sigaction	 sa;
	sigset_t		 set;
	const char		*p;
	char			 buf[160], num[16];
	size_t			 len = 0, n = 0;
	unsigned int		 v;
	int			 nr;

	(void)uctx;
	nr = si != NULL ? si->si_syscall : -1;
	v = nr < 0 ? -(unsigned int)nr : (unsigned int)nr;
	do {
		num[n++] = '0' + v % 10;
		v /= 10;
	} while (v != 0 && n < sizeof(num) - 1);
	if (nr < 0)
		num[n++] = '-';

	for (p = "sandbox: "; *p != '\0' && len < sizeof(buf); p++)
		buf[len++] = *p;
	for (p = sandbox_trap_role; *p != '\0' && len < sizeof(buf); p++)
		buf[len++] = *p;
	for (p = " made forbidden system call "; *p != '\0' &&
	    len < sizeof(buf); p++)
		buf[len++] = *p;
	while (n > 0 && len < sizeof(buf))
		buf[len++] = num[--n];
	if (len < sizeof(buf))
		buf[len++] = '\n';
	if (write(STDERR_FILENO, buf, len) == -1) {
		/* Nothing else to tell it to. */
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
	_exit(128 + sig);
}
