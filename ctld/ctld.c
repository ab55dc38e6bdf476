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
 * ctld: Tresor's supervisor.  It reads the configuration, opens the
 * listening sockets and the control socket, starts vaultd, smtpd and
 * imapd, and keeps them running.  It holds no keys and touches no mail.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ctld.h"
#include "log.h"
#include "sandbox.h"

struct ctld		*ctld;
static struct event	 ev_sigterm, ev_sigint, ev_sighup, ev_sigchld;
static struct event	 ev_stop_timeout;

static __dead void	 usage(void);
static void		 ctld_sig(int, short, void *);
static void		 ctld_finish(void);
static void		 ctld_stop_timeout(int, short, void *);
static void		 ctld_find_programs(void);
static void		 ctld_prepare(struct conf *);
static void		 abspath(char *, size_t);
static void		 ensure_dir(const char *, mode_t, uid_t, gid_t);
static void		 ensure_parent(const char *);
static void		 anonkey_rotate(int, short, void *);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-f file]\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct spawn_programs	 progs;
	struct conf		*conf;
	const char		*conffile = NULL;
	int			 ch, check = 0, foreground = 0, verbose = 0;

	log_init(1, LOG_MAIL);
	caps_nodump();
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (sodium_init() == -1)
		fatalx("sodium_init");

	if (conffile != NULL) {
		if (parse_conf(conffile, &conf) != 0)
			fatalx("%s: configuration has errors", conffile);
	} else
		conf = conf_default();
	if (check) {
		conf_print(stdout, conf);
		fprintf(stderr, "configuration OK\n");
		conf_free(conf);
		return (0);
	}

	if ((ctld = calloc(1, sizeof(*ctld))) == NULL)
		fatal("calloc");
	ctld->conf = conf;
	ctld->conffile = conffile;
	ctld->foreground = foreground;
	ctld->verbose = verbose;
	ctld->started = time(NULL);
	ctld_find_programs();
	if (spawn_programs(&progs, ctld->libexecdir, ctld->buildtree) == -1)
		fatalx("%s: path too long", ctld->libexecdir);

	log_procinit("ctld");
	log_setverbose(verbose);

	/* Until daemon(), errors go to the terminal that started us. */
	caps_drop();
	ctld_prepare(conf);
	control_init(conf->ctlsock, conf->ctlgroup);
	if (listen_open(conf, NULL) == -1) {
		control_cleanup();
		fatalx("cannot open the listening sockets");
	}
	if (!foreground && daemon(1, 0) == -1)
		fatal("daemon");
	log_init(foreground, LOG_MAIL);

	/*
	 * The spawner is forked now: after daemon(), so that the children
	 * it makes are ours; before event_init() and our signal handlers,
	 * which it must not share; before the filter, which it must not
	 * pass on to them.
	 */
	signal(SIGPIPE, SIG_IGN);
	spawn_init(&progs, foreground);

	event_init();
	control_listen();
	signal_set(&ev_sigterm, SIGTERM, ctld_sig, NULL);
	signal_set(&ev_sigint, SIGINT, ctld_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, ctld_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, ctld_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	evtimer_set(&ev_stop_timeout, ctld_stop_timeout, NULL);
	evtimer_set(&ctld->anonkey_ev, anonkey_rotate, NULL);
	anonkey_rotate(-1, 0, NULL);

	/*
	 * From here on, only what a running ctld needs (sandbox.c): the
	 * children are started by the spawner, and the first starts take
	 * the same path as every restart.
	 */
	sandbox_supervisor();
	supervise_init();
	supervise_start_all();
	log_info("startup: tresor %s, configuration %s, control socket %s",
	    TRESOR_VERSION, conf->source, conf->ctlsock);

	event_dispatch();
	fatalx("event loop ended");
}

/*
 * The children are found beside us when we run from the source tree
 * (ctld/ctld with smtpd/smtpd one level up), else in LIBEXECDIR.
 */
static void
ctld_find_programs(void)
{
	char	 self[PATH_MAX], probe[PATH_MAX];
	char	*top;
	ssize_t	 n;

	strlcpy(ctld->libexecdir, LIBEXECDIR, sizeof(ctld->libexecdir));
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return;
	self[n] = '\0';
	if (n < 10 || strcmp(self + n - 10, "/ctld/ctld") != 0)
		return;
	self[n - 10] = '\0';
	top = self;
	if (snprintf(probe, sizeof(probe), "%s/smtpd/smtpd", top) >=
	    (int)sizeof(probe) || access(probe, X_OK) == -1)
		return;
	strlcpy(ctld->libexecdir, top, sizeof(ctld->libexecdir));
	ctld->buildtree = 1;
}

/* Relative paths in the configuration are taken from where we start. */
static void
abspath(char *path, size_t size)
{
	char	 cwd[PATH_MAX], tmp[PATH_MAX];

	if (path[0] == '/' || path[0] == '\0')
		return;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal("getcwd");
	if (snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path) >=
	    (int)sizeof(tmp) || strlcpy(path, tmp, size) >= size)
		fatalx("path too long: %s/%s", cwd, path);
}

/* Make the directory a path is in when it is missing; never change one. */
static void
ensure_parent(const char *path)
{
	char	 dir[PATH_MAX];

	strlcpy(dir, path, sizeof(dir));
	if (mkdir(dirname(dir), 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", dir);
}

/* A directory we own: made if missing, its owner and mode enforced. */
static void
ensure_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat	 sb;

	if (mkdir(path, mode) == -1 && errno != EEXIST)
		fatal("mkdir %s", path);
	if (stat(path, &sb) == -1)
		fatal("stat %s", path);
	if (!S_ISDIR(sb.st_mode))
		fatalx("%s is not a directory", path);
	if (geteuid() != 0)
		return;
	if ((sb.st_uid != uid || sb.st_gid != gid) &&
	    chown(path, uid, gid) == -1)
		fatal("chown %s", path);
	if ((sb.st_mode & 07777) != mode && chmod(path, mode) == -1)
		fatal("chmod %s", path);
}

/*
 * Absolute paths, the directories the children need, and the self-signed
 * certificate if the configuration asks for one.
 */
static void
ctld_prepare(struct conf *conf)
{
	struct passwd	*pw;
	uid_t		 vuid = geteuid();
	gid_t		 vgid = getegid();

	abspath(conf->datadir, sizeof(conf->datadir));
	abspath(conf->emptydir, sizeof(conf->emptydir));
	abspath(conf->ctlsock, sizeof(conf->ctlsock));
	abspath(conf->tls_cert, sizeof(conf->tls_cert));
	abspath(conf->tls_key, sizeof(conf->tls_key));

	if (geteuid() == 0) {
		if ((pw = getpwnam(conf->user[ROLE_VAULTD])) == NULL)
			fatalx("user %s does not exist (run scripts/deps.sh "
			    "or see ctld(8))", conf->user[ROLE_VAULTD]);
		vuid = pw->pw_uid;
		vgid = pw->pw_gid;
	}

	/* The parent of the data directory, e.g. ./var, for the default. */
	ensure_parent(conf->datadir);
	ensure_dir(conf->datadir, 0700, vuid, vgid);
	ensure_dir(conf->emptydir, 0755, 0, 0);
	ensure_parent(conf->ctlsock);
	if (conf->tls_selfsigned && conf->tls_cert[0] != '\0') {
		ensure_parent(conf->tls_cert);
		ensure_parent(conf->tls_key);
		if (selfsign_ensure(conf->tls_cert, conf->tls_key,
		    conf->hostname) == -1)
			fatalx("no certificate");
	}
}

/*
 * A new key for the address hashes in the logs, at start and then at
 * each midnight UTC, handed to every child.
 */
static void
anonkey_rotate(int fd, short event, void *arg)
{
	struct timeval	 tv;
	time_t		 now = time(NULL);

	(void)fd;
	(void)event;
	(void)arg;
	randombytes_buf(ctld->anonkey, sizeof(ctld->anonkey));
	if (ctld->conf->log_plain_addresses)
		log_set_anonkey(NULL);
	else
		log_set_anonkey(ctld->anonkey);
	if (fd != -1 && !ctld->conf->log_plain_addresses)
		supervise_broadcast(IMSG_LOG_ANONKEY, ctld->anonkey,
		    sizeof(ctld->anonkey));
	timerclear(&tv);
	tv.tv_sec = 86400 - now % 86400;
	evtimer_add(&ctld->anonkey_ev, &tv);
}

static void
ctld_sig(int sig, short event, void *arg)
{
	char	 err[256];

	(void)event;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		ctld_shutdown();
		break;
	case SIGHUP:
		if (ctld_reload(err, sizeof(err)) == -1)
			log_warnx("reload: %s", err);
		break;
	case SIGCHLD:
		supervise_reap();
		if (ctld->stopping && supervise_alive() == 0)
			ctld_finish();
		break;
	}
}

/* Stop the children first; we leave when the last one is gone. */
void
ctld_shutdown(void)
{
	struct timeval	 tv;

	if (ctld->stopping)
		return;
	ctld->stopping = 1;
	log_info("stopping");
	supervise_stop_all();
	if (supervise_alive() == 0)
		ctld_finish();
	timerclear(&tv);
	tv.tv_sec = STOP_GRACE;
	evtimer_add(&ev_stop_timeout, &tv);
}

static void
ctld_stop_timeout(int fd, short event, void *arg)
{
	(void)fd;
	(void)event;
	(void)arg;
	log_warnx("children still running after %d s: killing them",
	    STOP_GRACE);
	supervise_kill_all();
	ctld_finish();
}

static void
ctld_finish(void)
{
	control_cleanup();
	listen_close(ctld->conf);
	log_info("exiting");
	exit(0);
}

/*
 * Read the configuration again.  On any error the running one stays.
 * What cannot change without a restart (directories, users, the control
 * socket) keeps its old value, with a warning.
 */
int
ctld_reload(char *err, size_t errlen)
{
	struct conf	*conf, *old = ctld->conf;
	int		 role;

	if (ctld->conffile != NULL) {
		if (parse_conf(ctld->conffile, &conf) != 0) {
			snprintf(err, errlen, "%s has errors; the running "
			    "configuration is kept", ctld->conffile);
			return (-1);
		}
	} else
		conf = conf_default();
	abspath(conf->datadir, sizeof(conf->datadir));
	abspath(conf->emptydir, sizeof(conf->emptydir));
	abspath(conf->ctlsock, sizeof(conf->ctlsock));
	abspath(conf->tls_cert, sizeof(conf->tls_cert));
	abspath(conf->tls_key, sizeof(conf->tls_key));

#define KEEP(field, what) do {						\
	if (strcmp(conf->field, old->field) != 0) {			\
		log_warnx("reload: %s changed; it takes effect when "	\
		    "ctld is restarted", what);				\
		strlcpy(conf->field, old->field, sizeof(conf->field));	\
	}								\
} while (0)
	KEEP(datadir, "datadir");
	KEEP(emptydir, "chroot");
	KEEP(ctlsock, "control socket");
	KEEP(ctlgroup, "control socket group");
	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++)
		KEEP(user[role], "a process user");
#undef KEEP

	if (conf->tls_selfsigned && conf->tls_cert[0] != '\0' &&
	    selfsign_ensure(conf->tls_cert, conf->tls_key,
	    conf->hostname) == -1) {
		conf_free(conf);
		snprintf(err, errlen, "no certificate; the running "
		    "configuration is kept");
		return (-1);
	}
	if (listen_open(conf, old) == -1) {
		conf_free(conf);
		snprintf(err, errlen, "cannot open the listening sockets; the "
		    "running configuration is kept");
		return (-1);
	}
	listen_close(old);
	conf_free(old);
	ctld->conf = conf;
	if (conf->log_plain_addresses)
		log_set_anonkey(NULL);
	else
		log_set_anonkey(ctld->anonkey);

	for (role = ROLE_SMTPD; role < ROLE_COUNT; role++)
		if (ctld->children[role].pid != -1)
			supervise_send_conf(&ctld->children[role]);
	supervise_retry_failed();
	log_info("configuration reloaded from %s", conf->source);
	return (0);
}
