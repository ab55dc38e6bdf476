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
 * ctl: Tresor's admin command.  It sends one request to ctld over the
 * control socket and prints the answer.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "imsg.h"
#include "msg.h"

#define CTL_TIMEOUT	30000	/* ms to wait for ctld's answer */
#define INSTALLED_SOCK	"/run/tresor/ctl.sock"

enum action {
	A_STATUS,
	A_RELOAD,
	A_STOP,
	A_LOG_VERBOSE,
	A_LOG_BRIEF,
	A_ADMIN
};

/* What secrets a command asks for, at the terminal or on stdin. */
#define ASK_NONE	0
#define ASK_NEW		1	/* a new password, twice */
#define ASK_CHANGE	2	/* the current credential, then a new one */
#define ASK_CURRENT	3	/* the current credential */

static const struct command {
	const char	*words;
	enum action	 action;
	int		 admin_op;
	int		 nargs;
	int		 ask;
	const char	*args;
	const char	*help;
} commands[] = {
	{ "status", A_STATUS, 0, 0, ASK_NONE, "", "show each process" },
	{ "reload", A_RELOAD, 0, 0, ASK_NONE, "",
	    "read the configuration again" },
	{ "stop", A_STOP, 0, 0, ASK_NONE, "", "stop ctld and its children" },
	{ "log verbose", A_LOG_VERBOSE, 0, 0, ASK_NONE, "",
	    "log debug messages too" },
	{ "log brief", A_LOG_BRIEF, 0, 0, ASK_NONE, "",
	    "log the normal messages" },
	{ "domain add", A_ADMIN, ADMIN_DOMAIN_ADD, 1, ASK_NONE, "DOMAIN",
	    "accept mail for a domain" },
	{ "domain del", A_ADMIN, ADMIN_DOMAIN_DEL, 1, ASK_NONE, "DOMAIN",
	    "remove a domain without accounts" },
	{ "domain list", A_ADMIN, ADMIN_DOMAIN_LIST, 0, ASK_NONE, "",
	    "list the domains" },
	{ "user add", A_ADMIN, ADMIN_USER_ADD, 1, ASK_NEW, "ADDRESS",
	    "create an account; prints its recovery key once" },
	{ "user del", A_ADMIN, ADMIN_USER_DEL, 1, ASK_NONE, "ADDRESS",
	    "delete an account and destroy its mail" },
	{ "user list", A_ADMIN, ADMIN_USER_LIST, 0, ASK_NONE, "",
	    "list the accounts" },
	{ "user passwd", A_ADMIN, ADMIN_USER_PASSWD, 1, ASK_CHANGE, "ADDRESS",
	    "change a password (needs the current one or the recovery key)" },
	{ "apppass add", A_ADMIN, ADMIN_APPPASS_ADD, 2, ASK_CURRENT,
	    "ADDRESS LABEL", "make an app password; prints it once" },
	{ "apppass del", A_ADMIN, ADMIN_APPPASS_DEL, 2, ASK_NONE,
	    "ADDRESS LABEL", "revoke an app password" },
	{ "apppass list", A_ADMIN, ADMIN_APPPASS_LIST, 1, ASK_NONE, "ADDRESS",
	    "list an account's app passwords" },
	{ "alias add", A_ADMIN, ADMIN_ALIAS_ADD, 2, ASK_NONE, "ALIAS TARGET",
	    "deliver ALIAS (or @domain) to TARGET" },
	{ "alias del", A_ADMIN, ADMIN_ALIAS_DEL, 1, ASK_NONE, "ALIAS",
	    "remove an alias" },
	{ "alias list", A_ADMIN, ADMIN_ALIAS_LIST, 0, ASK_NONE, "",
	    "list the aliases" },
};

static int	 use_stdin;

static __dead void	 usage(void);
static const struct command *match(int, char **, int *);
static void		 ask(const char *, char *, size_t);
static int		 ctl_connect(const char *);
static int		 ctl_wait(struct imsgbuf *, struct imsg *);
static void		 show_status(const struct msg_status *);
static const char	*fmt_uptime(int64_t, char *, size_t);

static __dead void
usage(void)
{
	size_t	 i;

	char	 buf[64];

	fprintf(stderr, "usage: %s [-s socket] command [argument ...] "
	    "[--stdin]\ncommands:\n", getprogname());
	for (i = 0; i < nitems(commands); i++) {
		snprintf(buf, sizeof(buf), "%s %s", commands[i].words,
		    commands[i].args);
		fprintf(stderr, "  %-28s %s\n", buf, commands[i].help);
	}
	exit(1);
}

/*
 * The first words given must spell one command, each word possibly a
 * prefix ("st" is ambiguous, "sta" is status); the rest are its
 * arguments, exactly as many as it takes.
 */
static const struct command *
match(int argc, char **argv, int *nwords)
{
	const struct command	*found = NULL;
	char			 buf[64], *w, *p;
	size_t			 i;
	int			 n, ok, nfound = 0;

	for (i = 0; i < nitems(commands); i++) {
		strlcpy(buf, commands[i].words, sizeof(buf));
		p = buf;
		ok = 1;
		for (n = 0; p != NULL; n++) {
			w = strsep(&p, " ");
			if (n >= argc || argv[n][0] == '\0' ||
			    strncmp(w, argv[n], strlen(argv[n])) != 0) {
				ok = 0;
				break;
			}
		}
		if (ok && argc - n == commands[i].nargs) {
			found = &commands[i];
			*nwords = n;
			nfound++;
		}
	}
	if (nfound > 1) {
		fprintf(stderr, "%s: ambiguous command\n", getprogname());
		usage();
	}
	if (found == NULL) {
		fprintf(stderr, "%s: unknown command\n", getprogname());
		usage();
	}
	return (found);
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "%s: socket path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			errx(1, "%s: ctld is not running", path);
		err(1, "%s", path);
	}
	return (fd);
}

/* The next message from ctld, or exit on timeout or a closed socket. */
static int
ctl_wait(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct pollfd	 pfd;
	ssize_t		 n;

	for (;;) {
		if ((n = imsg_get(ibuf, imsg)) == -1)
			err(1, "bad answer from ctld");
		if (n > 0) {
			if (msg_check(imsg) == -1)
				errx(1, "bad answer from ctld");
			return (0);
		}
		pfd.fd = ibuf->fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, CTL_TIMEOUT)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (n == 0)
			errx(1, "no answer from ctld");
		if ((n = imsgbuf_read(ibuf)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err(1, "read");
		}
		if (n == 0)
			errx(1, "ctld closed the connection");
	}
}

/*
 * A secret from the terminal, without echo, or one line of stdin with
 * --stdin (for scripts).  Never from the command line, where any user
 * could read it in the process list.
 */
static void
ask(const char *prompt, char *buf, size_t len)
{
	size_t	 n;

	if (use_stdin) {
		if (fgets(buf, len, stdin) == NULL)
			errx(1, "%s: nothing on standard input", prompt);
		n = strcspn(buf, "\r\n");
		if (buf[n] == '\0' && n == len - 1)
			errx(1, "%s: too long", prompt);
		buf[n] = '\0';
		return;
	}
	if (readpassphrase(prompt, buf, len, RPP_REQUIRE_TTY) == NULL)
		errx(1, "cannot read the password from the terminal (use "
		    "--stdin)");
}

static const char *
fmt_uptime(int64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%02lld:%02lld:%02lld",
		    (long long)(s / 86400), (long long)(s % 86400 / 3600),
		    (long long)(s % 3600 / 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%02lld:%02lld:%02lld",
		    (long long)(s / 3600), (long long)(s % 3600 / 60),
		    (long long)(s % 60));
	return (buf);
}

static void
show_status(const struct msg_status *s)
{
	static const char *const states[] = {
		[MSG_STATE_RUNNING] = "running",
		[MSG_STATE_STARTING] = "starting",
		[MSG_STATE_RESTARTING] = "restarting",
		[MSG_STATE_FAILED] = "failed",
	};
	char	 pid[16], up[32];

	if (s->pid == -1)
		strlcpy(pid, "-", sizeof(pid));
	else
		snprintf(pid, sizeof(pid), "%d", s->pid);
	printf("%-8s %-8s %-16s %-11s %-12s %-8u %s\n", role_name(s->role),
	    pid, s->user, s->state < nitems(states) ? states[s->state] : "?",
	    s->pid == -1 ? "-" : fmt_uptime(s->uptime, up, sizeof(up)),
	    s->restarts, s->mlocked == -1 ? "-" : s->mlocked ? "locked" :
	    "NOT-LOCKED");
}

int
main(int argc, char *argv[])
{
	const struct command	*cmd;
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	struct msg_verbose	 mv;
	struct msg_status	 st;
	struct msg_result	 res;
	struct msg_admin	 adm;
	struct msg_line		 ml;
	char			 again[MSG_SECRET_MAX];
	const char		*sock = NULL;
	uint32_t		 type;
	int			 ch, fd, i, j, nwords = 0, header = 0, rv = 0;

	/* --stdin may stand anywhere; take it out before getopt. */
	for (i = j = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stdin") == 0)
			use_stdin = 1;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	argv[argc] = NULL;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	cmd = match(argc, argv, &nwords);
	memset(&adm, 0, sizeof(adm));
	if (cmd->action == A_ADMIN) {
		adm.op = cmd->admin_op;
		if (cmd->nargs > 0 && strlcpy(adm.arg1, argv[nwords],
		    sizeof(adm.arg1)) >= sizeof(adm.arg1))
			errx(1, "%s: too long", argv[nwords]);
		if (cmd->nargs > 1 && strlcpy(adm.arg2, argv[nwords + 1],
		    sizeof(adm.arg2)) >= sizeof(adm.arg2))
			errx(1, "%s: too long", argv[nwords + 1]);
		switch (cmd->ask) {
		case ASK_NEW:
			ask("New password: ", adm.secret, sizeof(adm.secret));
			if (!use_stdin) {
				ask("Again: ", again, sizeof(again));
				if (strcmp(again, adm.secret) != 0)
					errx(1, "the passwords differ");
			}
			break;
		case ASK_CHANGE:
			ask("Current password or recovery key: ", adm.secret,
			    sizeof(adm.secret));
			ask("New password: ", adm.secret2,
			    sizeof(adm.secret2));
			if (!use_stdin) {
				ask("Again: ", again, sizeof(again));
				if (strcmp(again, adm.secret2) != 0)
					errx(1, "the passwords differ");
			}
			break;
		case ASK_CURRENT:
			ask("Password of the account: ", adm.secret,
			    sizeof(adm.secret));
			break;
		}
		explicit_bzero(again, sizeof(again));
	}

	/* In the source tree, the built-in configuration's socket. */
	if (sock == NULL)
		sock = access(DEFAULT_CTLSOCK, F_OK) == 0 ? DEFAULT_CTLSOCK :
		    INSTALLED_SOCK;
	fd = ctl_connect(sock);
	if (imsgbuf_init(&ibuf, fd) == -1)
		err(1, "imsgbuf_init");

	memset(&mv, 0, sizeof(mv));
	switch (cmd->action) {
	case A_STATUS:
		type = IMSG_CTL_STATUS;
		break;
	case A_RELOAD:
		type = IMSG_CTL_RELOAD;
		break;
	case A_STOP:
		type = IMSG_CTL_STOP;
		break;
	case A_LOG_VERBOSE:
	case A_LOG_BRIEF:
		type = IMSG_CTL_VERBOSE;
		mv.verbose = cmd->action == A_LOG_VERBOSE ? 2 : 0;
		break;
	case A_ADMIN:
		type = IMSG_CTL_ADMIN;
		break;
	default:
		abort();
	}
	if (type == IMSG_CTL_ADMIN)
		rv = imsg_compose(&ibuf, type, IMSG_VERSION, 0, -1, &adm,
		    sizeof(adm));
	else
		rv = imsg_compose(&ibuf, type, IMSG_VERSION, 0, -1,
		    type == IMSG_CTL_VERBOSE ? &mv : NULL,
		    type == IMSG_CTL_VERBOSE ? sizeof(mv) : 0);
	explicit_bzero(&adm, sizeof(adm));
	if (rv == -1 || imsgbuf_flush(&ibuf) == -1)
		err(1, "%s", sock);

	for (;;) {
		ctl_wait(&ibuf, &imsg);
		switch (imsg.hdr.type) {
		case IMSG_CTL_STATUS:
			if (imsg_get_data(&imsg, &st, sizeof(st)) == -1 ||
			    !MSG_STR(st.user))
				errx(1, "bad answer from ctld");
			if (!header++)
				printf("%-8s %-8s %-16s %-11s %-12s %-8s "
				    "%s\n", "PROCESS", "PID", "USER", "STATE",
				    "UPTIME", "RESTARTS", "MEMORY");
			show_status(&st);
			imsg_free(&imsg);
			continue;
		case IMSG_CTL_LINE:
			if (imsg_get_data(&imsg, &ml, sizeof(ml)) == -1 ||
			    !MSG_STR(ml.line))
				errx(1, "bad answer from ctld");
			printf("%s\n", ml.line);
			explicit_bzero(&ml, sizeof(ml));
			imsg_free(&imsg);
			continue;
		case IMSG_CTL_END:
		case IMSG_CTL_OK:
			break;
		case IMSG_CTL_FAIL:
			if (imsg_get_data(&imsg, &res, sizeof(res)) == -1 ||
			    !MSG_STR(res.message))
				errx(1, "bad answer from ctld");
			fprintf(stderr, "%s: %s\n", getprogname(),
			    res.message);
			rv = 1;
			break;
		default:
			errx(1, "unexpected answer from ctld");
		}
		imsg_free(&imsg);
		break;
	}
	imsgbuf_clear(&ibuf);
	close(fd);
	return (rv);
}
