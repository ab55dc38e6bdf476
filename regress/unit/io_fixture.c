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
 * The io tests' shared server, client and certificate: see io_fixture.h.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <tls.h>

#include "conf.h"
#include "log.h"
#include "io.h"
#include "test.h"
#include "io_fixture.h"

struct tls	*srvtls;
char		 tmpdir[64];

double
elapsed(struct tc *t)
{
	struct timespec	 now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return (-1);
	return ((now.tv_sec - t->t0.tv_sec) +
	    (now.tv_nsec - t->t0.tv_nsec) / 1e9);
}

void
tc_init(struct tc *t)
{
	memset(t, 0, sizeof(*t));
	t->lfd = -1;
	t->pid = -1;
	t->client_status = -1;
	t->start_rc = -2;
	t->tls_before = -1;
	t->write_fail_rc = -2;
}

/* End the test: the connection goes, the loop stops. */
void
finish(struct tc *t)
{
	if (t->io != NULL) {
		t->queued_at_end = io_queued(t->io);
		io_free(t->io);
		t->io = NULL;
	}
	event_loopbreak();
}

/*
 * Through a function, so that the compiler does not size CHECK_STR's
 * message after our arrays.
 */
const char *
line_at(struct tc *t, int i)
{
	if (i < 0 || i >= t->nlines)
		return (NULL);
	return (t->lines[i]);
}

const char *
str(const char *s)
{
	return (s);
}

int
has_line(struct tc *t, const char *s)
{
	int	 i;

	for (i = 0; i < t->nlines; i++)
		if (t->lens[i] == strlen(s) && strcmp(t->lines[i], s) == 0)
			return (1);
	return (0);
}

/*
 * The owner: records events and lines; the test's hooks answer.  A hook
 * returns 1 when the loop over lines must stop (paused, TLS started or
 * the io freed).
 */
void
srv_cb(struct io *io, int ev, void *arg)
{
	struct tc	*t = arg;
	char		*line;
	size_t		 len;
	int		 flags, r;
	const char	*s;

	if (ev < 0 || ev > IO_ERROR)
		abort();
	if (t->in_write)
		t->error_inside_write = 1;
	t->nev[ev]++;
	t->t_event[ev] = elapsed(t);
	if (t->norder < (int)nitems(t->order))
		t->order[t->norder++] = ev;
	if (t->on_event != NULL && t->on_event(t, ev))
		return;

	switch (ev) {
	case IO_DATAIN:
		while ((r = io_getline(io, &line, &len, &flags)) !=
		    IO_LINE_NONE) {
			if (t->nlines >= MAXLINES)
				break;
			if (r == IO_LINE_TOOLONG) {
				t->toolong++;
				strlcpy(t->lines[t->nlines], "<TOOLONG>",
				    LINEMAX);
				t->lens[t->nlines] = strlen("<TOOLONG>");
				t->nlines++;
				continue;
			}
			if (len >= LINEMAX)
				abort();
			memcpy(t->lines[t->nlines], line, len + 1);
			t->lens[t->nlines] = len;
			t->lflags[t->nlines] = flags;
			t->nlines++;
			if (t->on_line != NULL && t->on_line(t, line, len,
			    flags))
				break;
		}
		break;
	case IO_TLSREADY:
		if ((s = io_tls_version(io)) != NULL)
			strlcpy(t->version, s, sizeof(t->version));
		if ((s = io_tls_cipher(io)) != NULL)
			strlcpy(t->cipher, s, sizeof(t->cipher));
		break;
	case IO_LOWAT:
		break;
	default:
		finish(t);
		break;
	}
}

void
accept_cb(int fd, short ev, void *arg)
{
	struct tc	*t = arg;
	int		 s;

	(void)ev;
	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) == -1)
		return;
	event_del(&t->lev);
	if (t->sndbuf > 0 && setsockopt(s, SOL_SOCKET, SO_SNDBUF,
	    &t->sndbuf, sizeof(t->sndbuf)) == -1)
		abort();
	if (clock_gettime(CLOCK_MONOTONIC, &t->t0) == -1)
		abort();
	if ((t->io = io_new(s, srv_cb, t)) == NULL)
		abort();
	if (t->maxline > 0)
		io_set_maxline(t->io, t->maxline);
	if (t->idle_s > 0 || t->total_s > 0)
		io_set_timeouts(t->io, t->idle_s, t->total_s);
	if (t->implicit_tls) {
		t->tls_before = io_is_tls(t->io) ||
		    io_tls_version(t->io) != NULL ||
		    io_tls_cipher(t->io) != NULL;
		t->start_rc = io_start_tls(t->io, srvtls);
	}
	if (t->greeting != NULL && io_printf(t->io, "%s\r\n",
	    t->greeting) == -1)
		abort();
	if (t->on_accept != NULL)
		t->on_accept(t);
}

void
deadline_cb(int fd, short ev, void *arg)
{
	struct tc	*t = arg;

	(void)fd;
	(void)ev;
	t->deadline_hit = 1;
	finish(t);
}

void
test_timer_cb(int fd, short ev, void *arg)
{
	struct tc	*t = arg;

	(void)fd;
	(void)ev;
	t->on_timer(t);
}

void
arm_timer(struct tc *t, int ms, timer_fn fn)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	t->on_timer = fn;
	evtimer_del(&t->tev);
	evtimer_set(&t->tev, test_timer_cb, t);
	if (evtimer_add(&t->tev, &tv) == -1)
		abort();
}

void
spawn_client(struct tc *t, const char **steps)
{
	const char	*argv[64];
	char		 port[16];
	int		 n = 0, i;

	snprintf(port, sizeof(port), "%d", t->port);
	argv[n++] = "python3";
	argv[n++] = CLIENT;
	argv[n++] = port;
	for (i = 0; steps[i] != NULL && n < (int)nitems(argv) - 1; i++)
		argv[n++] = steps[i];
	argv[n] = NULL;

	fflush(stdout);
	fflush(stderr);
	if ((t->pid = fork()) == -1)
		abort();
	if (t->pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* Wait for the client, but not for ever. */
void
reap_client(struct tc *t)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	pid_t		 r;
	int		 i, status;

	if (t->pid == -1)
		return;
	if (t->kill_client)
		kill(t->pid, SIGKILL);
	for (i = 0; i < 1500; i++) {
		if ((r = waitpid(t->pid, &status, WNOHANG)) == t->pid)
			break;
		if (r == -1 && errno != EINTR)
			break;
		nanosleep(&ts, NULL);
	}
	if (i == 1500) {
		kill(t->pid, SIGKILL);
		if (waitpid(t->pid, &status, 0) == -1)
			status = -1;
		t->client_status = -1;
	} else if (r == t->pid && WIFEXITED(status))
		t->client_status = WEXITSTATUS(status);
	else
		t->client_status = -1;
	t->pid = -1;
}

/* Listen, start the client, run the loop until the test is done. */
void
serve(struct tc *t, const char **steps)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen;
	struct timeval		 tv = { DEADLINE_S, 0 };
	int			 one = 1;

	if ((t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		abort();
	if (setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	if (bind(t->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		abort();
	if (listen(t->lfd, 4) == -1)
		abort();
	slen = sizeof(sin);
	if (getsockname(t->lfd, (struct sockaddr *)&sin, &slen) == -1)
		abort();
	t->port = ntohs(sin.sin_port);

	spawn_client(t, steps);

	event_set(&t->lev, t->lfd, EV_READ | EV_PERSIST, accept_cb, t);
	if (event_add(&t->lev, NULL) == -1)
		abort();
	evtimer_set(&t->deadline, deadline_cb, t);
	if (evtimer_add(&t->deadline, &tv) == -1)
		abort();
	evtimer_set(&t->tev, test_timer_cb, t);

	event_dispatch();

	event_del(&t->lev);
	evtimer_del(&t->deadline);
	evtimer_del(&t->tev);
	if (t->io != NULL) {
		io_free(t->io);
		t->io = NULL;
	}
	close(t->lfd);
	t->lfd = -1;
	reap_client(t);
}

/* Queue n bytes of the pattern io_client.py checks. */
int
write_pattern(struct tc *t, size_t n)
{
	char	 buf[4096];
	size_t	 i, chunk;

	while (n > 0) {
		chunk = n < sizeof(buf) ? n : sizeof(buf);
		for (i = 0; i < chunk; i++)
			buf[i] = 'a' + (t->pat + i) % 26;
		t->in_write = 1;
		if (io_write(t->io, buf, chunk) == -1) {
			t->in_write = 0;
			return (-1);
		}
		t->in_write = 0;
		t->pat += chunk;
		n -= chunk;
		if (io_queued(t->io) > t->queued_max)
			t->queued_max = io_queued(t->io);
	}
	return (0);
}

/* GO: queue the pattern, then close once it is all out if asked. */
int
pattern_go_line(struct tc *t, const char *line, size_t len, int flags)
{
	(void)len;
	(void)flags;
	if (strcmp(line, "GO") != 0)
		return (0);
	if (write_pattern(t, t->pat_total) == -1)
		abort();
	if (t->close_after) {
		io_close_when_flushed(t->io);
		return (1);
	}
	return (0);
}

int
disconnect_queued(struct tc *t, int ev)
{
	if (ev == IO_DISCONNECTED)
		t->queued_at_end = io_queued(t->io);
	return (0);
}

/* --- Set up ------------------------------------------------------------- */

int
run_quiet(char *const argv[])
{
	pid_t	 pid;
	int	 fd, status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1)
		return (-1);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

void *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	if ((buf = calloc(1, 65536)) == NULL) {
		fclose(f);
		return (NULL);
	}
	n = fread(buf, 1, 65535, f);
	fclose(f);
	if (n == 0 || n == 65535) {
		free(buf);
		return (NULL);
	}
	*len = n;
	return (buf);
}

/* A throwaway ECDSA P-256 certificate for localhost. */
void
make_cert(void)
{
	char	 cert[128], key[128], err[256];
	char	*certbuf, *keybuf;
	size_t	 certlen, keylen;
	char	*argv[] = {
		"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
		"-days", "1", "-keyout", key, "-out", cert, NULL
	};

	strlcpy(tmpdir, "/tmp/io_test.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	if (run_quiet(argv) != 0)
		fatalx("openssl req failed");
	if ((certbuf = slurp(cert, &certlen)) == NULL ||
	    (keybuf = slurp(key, &keylen)) == NULL)
		fatalx("cannot read the certificate");
	unlink(cert);
	unlink(key);
	if (rmdir(tmpdir) == -1)
		fatal("rmdir %s", tmpdir);
	if ((srvtls = tls_server_new(certbuf, certlen, keybuf, keylen,
	    CONF_TLS_CIPHERS_DEFAULT, err, sizeof(err))) == NULL)
		fatalx("tls_server_new: %s", err);
	freezero(keybuf, keylen);
	free(certbuf);
}

static struct event_base	*base;

/* The event loop and the certificate; exits on a failure. */
void
io_fixture_setup(void)
{
	log_init(1, LOG_MAIL);
	/* libtls writes with write(2): a closed peer must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_init()) == NULL)
		fatalx("event_init");
	make_cert();
}


void
io_fixture_teardown(void)
{
	tls_free(srvtls);
	event_base_free(base);
}
