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
 * What the io tests (io_*_test.c) share: a one-connection server on the
 * event loop in this process, against a client in a child
 * (regress/unit/io_client.py, steps given on its command line), with a
 * throwaway certificate for TLS.  Callbacks only record what happens in
 * a struct tc; the checks come after the loop, because a failed CHECK
 * must not jump out of libevent.
 */

#ifndef IO_FIXTURE_H
#define IO_FIXTURE_H

#include <sys/types.h>

#include <time.h>

#include <event.h>
#include <tls.h>

#include "io.h"

#define CLIENT		"regress/unit/io_client.py"
#define MAXLINES	64
#define LINEMAX		2048
#define DEADLINE_S	20

/* What io_client.py exits with. */
#define CLIENT_OK	0
#define CLIENT_NOTLS	4

struct tc;
typedef int	(*line_fn)(struct tc *, const char *, size_t, int);
typedef int	(*event_fn)(struct tc *, int);
typedef void	(*timer_fn)(struct tc *);

/* One test's connection and everything seen on it. */
struct tc {
	struct io	*io;
	int		 lfd;
	int		 port;
	pid_t		 pid;
	int		 client_status;
	int		 kill_client;
	struct event	 lev;
	struct event	 deadline;
	int		 deadline_hit;
	struct event	 tev;
	timer_fn	 on_timer;

	/* Set up of the accepted connection. */
	size_t		 maxline;
	unsigned int	 idle_s;
	unsigned int	 total_s;
	int		 implicit_tls;
	int		 sndbuf;
	const char	*greeting;
	line_fn		 on_line;
	event_fn	 on_event;
	timer_fn	 on_accept;

	/* What happened. */
	struct timespec	 t0;
	int		 nev[IO_ERROR + 1];
	int		 order[256];
	int		 norder;
	char		 lines[MAXLINES][LINEMAX];
	size_t		 lens[MAXLINES];
	int		 lflags[MAXLINES];
	int		 nlines;
	int		 toolong;
	char		 version[32];
	char		 cipher[128];
	int		 start_rc;
	int		 tls_before;
	size_t		 datalen_after_start;
	double		 t_event[IO_ERROR + 1];
	size_t		 queued_at_lowat;
	size_t		 queued_max;
	size_t		 queued_at_end;
	int		 write_fail_rc;
	int		 error_inside_write;
	int		 in_write;
	int		 timer_lines;
	size_t		 timer_datalen;
	int		 timer_datain;
	size_t		 pat;
	size_t		 pat_total;
	int		 close_after;
	int		 free_on;
	int		 flag;
};

extern struct tls	*srvtls;
extern char		 tmpdir[64];

double	 elapsed(struct tc *);
void	 tc_init(struct tc *);
void	 finish(struct tc *);
const char *line_at(struct tc *, int)
		    __attribute__((__noinline__));
const char *str(const char *) __attribute__((__noinline__));
int	 has_line(struct tc *, const char *);
void	 srv_cb(struct io *, int, void *);
void	 accept_cb(int, short, void *);
void	 deadline_cb(int, short, void *);
void	 test_timer_cb(int, short, void *);
void	 arm_timer(struct tc *, int, timer_fn);
void	 spawn_client(struct tc *, const char **);
void	 reap_client(struct tc *);
void	 serve(struct tc *, const char **);
int	 write_pattern(struct tc *, size_t);
int	 pattern_go_line(struct tc *, const char *, size_t, int);
int	 disconnect_queued(struct tc *, int);
int	 run_quiet(char *const []);
void	*slurp(const char *, size_t *);
void	 make_cert(void);

void	 io_fixture_setup(void);
void	 io_fixture_teardown(void);

#endif /* IO_FIXTURE_H */
