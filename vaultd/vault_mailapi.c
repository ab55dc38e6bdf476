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
 * Mailbox operations of logged-in sessions, asked by a front over its
 * channel.  The front is untrusted: every field is checked before use,
 * and a request that is wrong in any way gets MBOX_EINVAL (the
 * channel stays up: msg_check() already refused anything the framing
 * does not allow).  Each request gets exactly one IMSG_MBOX_RESULT.
 *
 * Lists and bodies travel in a memfd that is sealed before it is
 * passed, so that the front can read it without fearing that it
 * changes under it.  Folder names reach the log only through
 * log_sanitize(); message contents never do.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#include "mbox_stream.h"
#include "vaultd.h"

#define RESULT_SEALS	(F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | \
			    F_SEAL_SEAL)

/*
 * One request being answered.  Decoded and checked on the loop, run on
 * its account's strand (vault_work.c), answered on the loop.  The
 * request, the search program and the writer's 64 KiB buffer hold the
 * user's folder names, search words and mail: they are the request's
 * own, and wiped with it.
 */
struct mailreq {
	TAILQ_ENTRY(mailreq)	 entry;		/* pending, for cancel */
	struct imsgev		*iev;		/* NULL: nobody to answer */
	enum proc_role		 role;
	uint32_t		 peerid;
	uint32_t		 session;
	const char		*op;		/* for log lines */
	const char		*folder;	/* unsanitised: never log */
	struct vault_account	*a;		/* the session's, at arrival */
	struct msg_mbox_result	 res;
	int			 fd;	/* the result memfd or -1 */
	int			 infd;	/* APPEND's messages or -1 */
	struct mbox_stream_w	*w;	/* records into fd, or NULL */
	int			 broken; /* a record could not be put */
	int			 uids_started; /* STORE: failed uids begun,
					 * no more records */
	struct timespec		 t0;	/* when the request came */
	uint64_t		 octets; /* BODIES, SECTIONS: of records */
	int			 ran;	/* run_request()'s own answer */
	struct work_job		 job;
	struct mbox_req		 req;
	struct search_program	 prog;
	struct mbox_stream_w	*writer;	/* w's, when records */
};

/* Requests handed to the workers and not yet answered. */
static TAILQ_HEAD(, mailreq)	 pending = TAILQ_HEAD_INITIALIZER(pending);

static const char *const op_names[MBOX_OP_MAX] = {
	[MBOX_OP_LIST] = "list",
	[MBOX_OP_STATUS] = "status",
	[MBOX_OP_CREATE] = "create",
	[MBOX_OP_DELETE] = "delete",
	[MBOX_OP_RENAME] = "rename",
	[MBOX_OP_SUBSCRIBE] = "subscribe",
	[MBOX_OP_FETCH] = "fetch",
	[MBOX_OP_BODY] = "body",
	[MBOX_OP_STORE] = "store",
	[MBOX_OP_COPY] = "copy",
	[MBOX_OP_MOVE] = "move",
	[MBOX_OP_EXPUNGE] = "expunge",
	[MBOX_OP_APPEND] = "append",
	[MBOX_OP_VANISHED] = "vanished",
	[MBOX_OP_USAGE] = "usage",
	[MBOX_OP_BODIES] = "bodies",
	[MBOX_OP_SEARCH] = "search",
	[MBOX_OP_SYNC] = "sync",
	[MBOX_OP_SORT] = "sort",
	[MBOX_OP_THREAD] = "thread",
	[MBOX_OP_RECENT] = "recent",
	[MBOX_OP_SECTIONS] = "sections",
};

static void	 req_init(struct mailreq *, struct imsgev *, enum proc_role,
		    struct imsg *);
static long long elapsed_us(const struct timespec *);
static const char *req_check(const struct mbox_req *,
		    const struct search_program *, int);
static int	 op_has_records(uint32_t);
static int	 op_writes(uint32_t);
static int	 result_open(struct mailreq *, int);
static int	 result_seal(struct mailreq *);
static void	 reply(struct mailreq *, int);
static int	 folder_cb(void *, const struct mbox_folder *);
static int	 folder_put(struct mailreq *, const struct mbox_folder *);
static int	 msg_cb(void *, const struct mbox_msg *);
static int	 uid_cb(void *, uint32_t);
static int	 a_uid_cb(void *, uint32_t);
static int	 run_sync(struct mailreq *, const struct mbox_req *);
static int	 pair_cb(void *, uint32_t, uint32_t);
static int	 chunk_cb(void *, uint32_t, uint64_t, uint64_t, const void *,
		    size_t);
static int	 run_request(struct mailreq *, const struct mbox_req *,
		    const struct search_program *, int);
static int	 run_append(struct mailreq *, const struct mbox_req *, int);
static void	 mailapi_req(struct mailreq *, struct imsg *);
static int	 mailapi_run(void *);
static void	 mailapi_done(void *, int);
static void	 mailapi_free(struct mailreq *);

static void
req_init(struct mailreq *r, struct imsgev *iev, enum proc_role role,
    struct imsg *imsg)
{
	memset(r, 0, sizeof(*r));
	r->iev = iev;
	r->role = role;
	r->peerid = imsg->hdr.peerid;
	r->op = "request";
	r->folder = "";
	r->fd = -1;
	r->infd = -1;
	(void)clock_gettime(CLOCK_MONOTONIC, &r->t0);
}

/* Microseconds since t0: how long vaultd took over a request. */
static long long
elapsed_us(const struct timespec *t0)
{
	struct timespec	 now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return (-1);
	return ((long long)(now.tv_sec - t0->tv_sec) * 1000000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000);
}

/*
 * Why a request is wrong, or NULL.  mbox_req_decode() has checked its
 * shape (sizes, counts, terminated strings); this checks the values.
 */
static const char *
req_check(const struct mbox_req *q, const struct search_program *prog,
    int fd)
{
	switch (q->op) {
	case MBOX_OP_FETCH:
		if ((q->fetch.how & ~MBOX_FETCH_ALL) != 0 ||
		    q->fetch.pad != 0)
			return ("bad fetch flags");
		if ((q->fetch.how & MBOX_FETCH_CHANGEDSINCE) &&
		    (q->fetch.changedsince == 0 ||
		    q->fetch.changedsince > INT64_MAX))
			return ("bad changedsince");
		/* FALLTHROUGH */
	case MBOX_OP_COPY:
	case MBOX_OP_MOVE:
	case MBOX_OP_BODIES:
	case MBOX_OP_SECTIONS:
		if (q->nranges == 0)
			return ("no ranges");
		break;
	case MBOX_OP_STORE:
		if (q->nranges == 0)
			return ("no ranges");
		if (q->store.op != STORE_REPLACE &&
		    q->store.op != STORE_ADD &&
		    q->store.op != STORE_REMOVE)
			return ("bad store operation");
		if ((q->store.flags & ~MAILFLAG_ALL) != 0)
			return ("bad flags");
		break;
	case MBOX_OP_APPEND:
		if (q->append.count == 0 || q->append.count > MBOX_APPEND_MAX)
			return ("bad count");
		break;
	case MBOX_OP_SUBSCRIBE:
		if (q->subscribe.on > 1)
			return ("bad subscription");
		break;
	case MBOX_OP_CREATE:
		if (q->create.special > SPECIAL_ARCHIVE ||
		    q->create.special == SPECIAL_INBOX)
			return ("bad special use");
		break;
	case MBOX_OP_SEARCH:
		if (search_check(prog) == -1)
			return ("bad program");
		break;
	case MBOX_OP_SORT:
	case MBOX_OP_THREAD:
		if (search_check(prog) == -1)
			return ("bad program");
		if (sort_args_check(&q->sort, q->op == MBOX_OP_THREAD) == -1)
			return ("bad sort");
		break;
	case MBOX_OP_SYNC:
		if (q->since.modseq > INT64_MAX)
			return ("bad modseq");
		break;
	case MBOX_OP_RECENT:
		if (q->recent.claim > 1)
			return ("bad claim");
		break;
	default:
		break;
	}
	if (q->op == MBOX_OP_APPEND && fd == -1)
		return ("no message");
	if (q->op != MBOX_OP_APPEND && fd != -1)
		return ("unexpected fd");
	return (NULL);
}

/* The operations that answer with an fd. */
static int
op_has_records(uint32_t op)
{
	switch (op) {
	case MBOX_OP_LIST:
	case MBOX_OP_STATUS:
	case MBOX_OP_FETCH:
	case MBOX_OP_BODY:
	case MBOX_OP_STORE:
	case MBOX_OP_COPY:
	case MBOX_OP_MOVE:
	case MBOX_OP_EXPUNGE:
	case MBOX_OP_VANISHED:
	case MBOX_OP_BODIES:
	case MBOX_OP_SECTIONS:
	case MBOX_OP_SEARCH:
	case MBOX_OP_SYNC:
	case MBOX_OP_SORT:
	case MBOX_OP_THREAD:
		return (1);
	default:
		return (0);
	}
}

/* The operations that may commit: the directory must then learn. */
static int
op_writes(uint32_t op)
{
	switch (op) {
	case MBOX_OP_CREATE:
	case MBOX_OP_DELETE:
	case MBOX_OP_RENAME:
	case MBOX_OP_SUBSCRIBE:
	case MBOX_OP_STORE:
	case MBOX_OP_COPY:
	case MBOX_OP_MOVE:
	case MBOX_OP_EXPUNGE:
	case MBOX_OP_APPEND:
	case MBOX_OP_RECENT:		/* a claim commits */
		return (1);
	default:
		return (0);
	}
}

/* A fresh memfd for the answer, with a record writer on it if asked. */
static int
result_open(struct mailreq *r, int records)
{
	if ((r->fd = memfd_create("mbox-result",
	    MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1) {
		log_warn("mailapi: memfd_create");
		return (MBOX_EIO);
	}
	if (records) {
		if ((r->writer = malloc(sizeof(*r->writer))) == NULL) {
			log_warn("mailapi: writer");
			return (MBOX_EIO);
		}
		mbox_stream_w_init(r->writer, r->fd);
		r->w = r->writer;
	}
	return (MBOX_OK);
}

/* Complete the records, seal the memfd and rewind it for the front. */
static int
result_seal(struct mailreq *r)
{
	int	 rc = MBOX_OK;

	if (r->w != NULL) {
		if (mbox_stream_w_finish(r->w) == -1 || r->broken) {
			log_warnx("mailapi: %s: cannot write the result",
			    r->op);
			rc = MBOX_EIO;
		}
		r->w = NULL;
	}
	if (rc == MBOX_OK && r->fd != -1) {
		if (fcntl(r->fd, F_ADD_SEALS, RESULT_SEALS) == -1) {
			log_warn("mailapi: %s: seal", r->op);
			rc = MBOX_EIO;
		} else if (lseek(r->fd, 0, SEEK_SET) == -1) {
			log_warn("mailapi: %s: lseek", r->op);
			rc = MBOX_EIO;
		}
	}
	return (rc);
}

/* The one answer (MBOX_OK or MBOX_E*); the fd goes only with OK. */
static void
reply(struct mailreq *r, int status)
{
	char	 safe[MBOX_NAME_MAX];
	int	 fd = -1;

	if (r->w != NULL) {
		/* Abandoned after a failure: still wipe the buffer. */
		mbox_stream_w_abort(r->w);
		r->w = NULL;
	}
	r->res.status = status;
	if (r->res.status == MBOX_OK)
		fd = r->fd;
	else {
		if (r->fd != -1)
			close(r->fd);
		r->res.count = 0;
		r->res.a = r->res.b = 0;
	}
	r->fd = -1;
	log_sanitize(safe, sizeof(safe), r->folder);
	if (r->res.status == MBOX_EIO)
		log_warnx("mailapi: %s session %u: %s \"%s\": failed",
		    role_name(r->role), r->session, r->op, safe);
	else
		log_debug("mailapi: %s session %u: %s \"%s\": status %d, "
		    "%u records, %llu octets, %lld us", role_name(r->role),
		    r->session, r->op, safe, r->res.status, r->res.count,
		    (unsigned long long)r->octets, elapsed_us(&r->t0));
	/* imsgev_compose() owns fd from here, even when it fails. */
	if (r->iev != NULL)
		(void)imsgev_compose(r->iev, IMSG_MBOX_RESULT, r->peerid, fd,
		    &r->res, sizeof(r->res));
	else if (fd != -1)
		close(fd);
}

static int
folder_put(struct mailreq *r, const struct mbox_folder *f)
{
	if (r->res.count == UINT32_MAX) {
		r->broken = 1;
		return (-1);
	}
	if (mbox_stream_put_folder(r->w, f) == -1)
		return (-1);
	r->res.count++;
	return (0);
}

/*
 * The callbacks stop the walk when a record cannot be put; the writer
 * or r->broken remembers it, and result_seal() makes it MBOX_EIO.
 */
static int
folder_cb(void *arg, const struct mbox_folder *f)
{
	return (folder_put(arg, f) == -1);
}

static int
msg_cb(void *arg, const struct mbox_msg *m)
{
	struct mailreq		*r = arg;
	struct mbox_stream_msg	 sm;

	/* STORE: the changed records must all come before the uids. */
	if (r->uids_started || r->res.count == UINT32_MAX) {
		r->broken = 1;
		return (1);
	}
	sm.uid = m->uid;
	sm.seq = m->seq;
	sm.modseq = m->modseq;
	sm.flags = m->flags;
	sm.internaldate = m->internaldate;
	sm.size = m->size;
	if (strlcpy(sm.keywords, m->keywords, sizeof(sm.keywords)) >=
	    sizeof(sm.keywords)) {
		r->broken = 1;
		return (1);
	}
	sm.envelope = m->envelope;
	sm.envlen = m->envelope != NULL ? strlen(m->envelope) : 0;
	sm.bodystructure = m->bodystructure;
	sm.bslen = m->bodystructure != NULL ? strlen(m->bodystructure) : 0;
	if (mbox_stream_put_msg(r->w, &sm) == -1)
		return (1);
	r->res.count++;
	return (0);
}

static int
uid_cb(void *arg, uint32_t uid)
{
	struct mailreq	*r = arg;

	if (r->res.count == UINT32_MAX) {
		r->broken = 1;
		return (1);
	}
	if (mbox_stream_put_uid(r->w, uid) == -1)
		return (1);
	r->res.count++;
	return (0);
}

/*
 * A uid counted in a, not in count: STORE's that failed UNCHANGEDSINCE,
 * SYNC's that vanished.
 */
static int
a_uid_cb(void *arg, uint32_t uid)
{
	struct mailreq	*r = arg;

	r->uids_started = 1;
	if (r->res.a >= UINT32_MAX) {
		r->broken = 1;
		return (1);
	}
	if (mbox_stream_put_uid(r->w, uid) == -1)
		return (1);
	r->res.a++;
	return (0);
}

static int
pair_cb(void *arg, uint32_t src, uint32_t dst)
{
	struct mailreq	*r = arg;

	if (r->res.count == UINT32_MAX) {
		r->broken = 1;
		return (1);
	}
	if (mbox_stream_put_pair(r->w, src, dst) == -1)
		return (1);
	r->res.count++;
	return (0);
}

/* BODIES, SECTIONS: a piece of a record; the first opens it. */
static int
chunk_cb(void *arg, uint32_t uid, uint64_t size, uint64_t off,
    const void *chunk, size_t len)
{
	struct mailreq	*r = arg;

	if (off == 0) {
		if (r->res.count == UINT32_MAX) {
			r->broken = 1;
			return (1);
		}
		if (mbox_stream_put_body_hdr(r->w, uid, size) == -1)
			return (1);
		r->res.count++;
	}
	if (mbox_stream_put_bytes(r->w, chunk, len) == -1)
		return (1);
	r->octets += len;
	return (0);
}

/*
 * The messages of an APPEND, one or many (MULTIAPPEND): every entry is
 * read and its bundle checked before anything is stored, and they are
 * stored in one transaction.  The copy of the fd holds mail in clear
 * and is wiped when freed.
 */
static int
run_append(struct mailreq *r, const struct mbox_req *q, int fd)
{
	struct mbox_append_view	 v;
	struct mbox_append_one	*one = NULL;
	struct bundle		*b = NULL;
	void			*data;
	size_t			 len, off = 0;
	uint32_t		 i, uidvalidity, uid;
	int			 rc = MBOX_EINVAL;

	if (bundle_map(fd, &data, &len) == -1) {
		if (errno == EBADMSG)
			return (MBOX_EINVAL);
		log_warn("mailapi: append: cannot read the messages");
		return (MBOX_EIO);
	}
	if ((one = calloc(q->append.count, sizeof(*one))) == NULL ||
	    (b = calloc(q->append.count, sizeof(*b))) == NULL) {
		log_warn("mailapi: append");
		rc = MBOX_EIO;
		goto done;
	}
	for (i = 0; i < q->append.count; i++) {
		if (mbox_append_next(data, len, &off, &v) == -1 ||
		    bundle_parse(v.bundle, v.len, &b[i]) == -1)
			goto done;
		one[i].b = &b[i];
		one[i].flags = v.flags;
		one[i].keywords = v.keywords;
	}
	if (off != len)
		goto done;
	if ((rc = mbox_append_many(r->a->mbox, q->folder, one,
	    q->append.count, &uidvalidity, &uid)) == MBOX_OK) {
		r->res.a = uidvalidity;
		r->res.b = uid;
	}
 done:
	free(one);
	free(b);
	bundle_unmap(data, len);
	return (rc);
}

/*
 * The folder, what vanished since and what changed since, in one
 * answer.  An account's requests run one at a time (vault_work.c), so
 * no write comes between the three reads.
 */
static int
run_sync(struct mailreq *r, const struct mbox_req *q)
{
	struct mbox_range	 all = { 1, UINT32_MAX };
	struct mbox_folder	 f;
	struct mbox		*m = r->a->mbox;
	uint64_t		 since = q->since.modseq;
	int			 rc;

	if ((rc = mbox_folder_get(m, q->folder, &f)) != MBOX_OK)
		return (rc);
	if (folder_put(r, &f) == -1)
		return (MBOX_EIO);
	/* count is for the message records. */
	r->res.count = 0;
	if (f.info.highestmodseq == since)
		return (MBOX_OK);
	if ((rc = mbox_vanished(m, q->folder, since, a_uid_cb, r)) !=
	    MBOX_OK)
		return (rc);
	/* Unlike STORE's, SYNC's records come after its uids. */
	r->uids_started = 0;
	return (mbox_fetch_since(m, q->folder, &all, 1, MBOX_FETCH_NOMETA |
	    (since > 0 ? MBOX_FETCH_CHANGEDSINCE : 0), since, msg_cb, r));
}

static int
run_request(struct mailreq *r, const struct mbox_req *q,
    const struct search_program *prog, int fd)
{
	const struct mbox_range	*ranges = q->ranges;
	struct mbox_folder	 f;
	struct mbox		*m = r->a->mbox;
	struct stat		 st;
	uint32_t		 uidvalidity, lastuid, above;
	int			 rc;

	if (op_has_records(q->op) &&
	    (rc = result_open(r, q->op != MBOX_OP_BODY)) != MBOX_OK)
		return (rc);
	switch (q->op) {
	case MBOX_OP_LIST:
		return (mbox_folder_list(m, folder_cb, r));
	case MBOX_OP_STATUS:
		if ((rc = mbox_folder_get(m, q->folder, &f)) != MBOX_OK)
			return (rc);
		return (folder_put(r, &f) == -1 ? MBOX_EIO : MBOX_OK);
	case MBOX_OP_CREATE:
		return (mbox_folder_create(m, q->folder, q->create.special));
	case MBOX_OP_DELETE:
		return (mbox_folder_delete(m, q->folder));
	case MBOX_OP_RENAME:
		return (mbox_folder_rename(m, q->folder, q->folder2));
	case MBOX_OP_SUBSCRIBE:
		return (mbox_folder_subscribe(m, q->folder,
		    (int)q->subscribe.on));
	case MBOX_OP_FETCH:
		return (mbox_fetch_since(m, q->folder, ranges, q->nranges,
		    (int)q->fetch.how, q->fetch.changedsince, msg_cb, r));
	case MBOX_OP_BODY:
		/* The raw message itself, not records. */
		if ((rc = mbox_body_write(m, q->folder, q->body.uid,
		    r->fd)) != MBOX_OK)
			return (rc);
		if (fstat(r->fd, &st) == -1) {
			log_warn("mailapi: body: fstat");
			return (MBOX_EIO);
		}
		r->res.a = (uint64_t)st.st_size;
		return (MBOX_OK);
	case MBOX_OP_STORE:
		return (mbox_store(m, q->folder, ranges, q->nranges,
		    (enum mbox_store_op)q->store.op, q->store.flags,
		    q->keywords, q->store.unchangedsince, msg_cb, a_uid_cb,
		    r));
	case MBOX_OP_COPY:
	case MBOX_OP_MOVE:
		if ((rc = mbox_copy(m, q->folder, ranges, q->nranges,
		    q->folder2, q->op == MBOX_OP_MOVE, pair_cb, r,
		    &uidvalidity)) == MBOX_OK)
			r->res.a = uidvalidity;
		return (rc);
	case MBOX_OP_EXPUNGE:
		return (mbox_expunge(m, q->folder,
		    q->nranges > 0 ? ranges : NULL, q->nranges, uid_cb, r));
	case MBOX_OP_APPEND:
		return (run_append(r, q, fd));
	case MBOX_OP_VANISHED:
		return (mbox_vanished(m, q->folder, q->since.modseq, uid_cb,
		    r));
	case MBOX_OP_USAGE:
		return (mbox_usage(m, &r->res.a, &r->res.b));
	case MBOX_OP_BODIES:
		if ((rc = mbox_bodies(m, q->folder, ranges, q->nranges,
		    MBOX_BODIES_BUDGET, chunk_cb, r, NULL, &lastuid)) ==
		    MBOX_OK)
			r->res.b = lastuid;
		return (rc);
	case MBOX_OP_SECTIONS:
		if ((rc = mbox_sections(m, q->folder, ranges, q->nranges,
		    q->sects, q->nsects, MBOX_BODIES_BUDGET, chunk_cb, r, NULL,
		    &lastuid)) == MBOX_OK)
			r->res.b = lastuid;
		return (rc);
	case MBOX_OP_SEARCH:
		return (mbox_search(m, q->folder, prog, uid_cb, r));
	case MBOX_OP_SYNC:
		return (run_sync(r, q));
	case MBOX_OP_SORT:
	case MBOX_OP_THREAD:
		return (mbox_sort(m, q->folder, prog, &q->sort, uid_cb, pair_cb,
		    r));
	case MBOX_OP_RECENT:
		/* Counting is for a look without a claim: STATUS. */
		if ((rc = mbox_recent(m, q->folder, q->recent.upto,
		    q->recent.claim, &lastuid, q->recent.claim ? NULL :
		    &above)) == MBOX_OK) {
			r->res.a = lastuid;
			r->res.b = q->recent.claim ? 0 : above;
		}
		return (rc);
	default:
		return (MBOX_EINVAL);
	}
}

/*
 * On the loop: decode, check, find the session, then hand the work to
 * the account's strand.  A request refused here is answered at once.
 */
static void
mailapi_req(struct mailreq *r, struct imsg *imsg)
{
	struct vault_session	*s;
	const char		*why;
	char			 safe[MBOX_NAME_MAX];
	int			 status;

	r->infd = imsg_get_fd(imsg);
	if ((why = mbox_req_decode(imsg->data, imsg->datalen, &r->req,
	    &r->prog)) != NULL) {
		log_warnx("mailapi: %s: refused request: %s",
		    role_name(r->role), why);
		status = MBOX_EINVAL;
		goto done;
	}
	r->session = r->req.session;
	if ((why = req_check(&r->req, &r->prog, r->infd)) != NULL) {
		log_warnx("mailapi: %s session %u: refused request: %s",
		    role_name(r->role), r->req.session, why);
		status = MBOX_EINVAL;
		goto done;
	}
	r->op = op_names[r->req.op];
	r->folder = r->req.folder;
	if ((s = session_get(r->req.session, r->role)) == NULL) {
		status = MBOX_ESESSION;
		goto done;
	}
	/*
	 * The account outlives the job: it locks only when its strand
	 * is idle (account_lock()), whatever happens to the session.
	 */
	r->a = s->account;
	if (r->a->nrequests >= VAULT_ACCOUNT_REQUESTS) {
		log_warnx("mailapi: %s session %u: %s: %u requests of the "
		    "account already wait", role_name(r->role), r->session,
		    r->op, r->a->nrequests);
		r->a = NULL;
		status = MBOX_ETEMP;
		goto done;
	}
	r->a->nrequests++;
	log_sanitize(safe, sizeof(safe), r->folder);
	log_debug("mailapi: %s session %u: %s \"%s\": queued",
	    role_name(r->role), r->session, r->op, safe);
	TAILQ_INSERT_TAIL(&pending, r, entry);
	/* Mail answered before it goes in first; no index batch now. */
	account_request(r->a);
	work_submit(&r->a->strand, &r->job, mailapi_run, mailapi_done, r);
	return;
 done:
	reply(r, status);
	mailapi_free(r);
}

/* On a worker: the SQL work and the result, nothing else. */
static int
mailapi_run(void *arg)
{
	struct mailreq	*r = arg;
	int		 rc;

	rc = r->ran = run_request(r, &r->req, &r->prog, r->infd);
	if (rc == MBOX_OK && op_has_records(r->req.op))
		rc = result_seal(r);
	return (rc);
}

/* Back on the loop, before the account's next job: the answer. */
static void
mailapi_done(void *arg, int status)
{
	struct mailreq	*r = arg;

	TAILQ_REMOVE(&pending, r, entry);
	r->a->nrequests--;
	if (status == WORK_CANCELLED) {
		/* The account went away first (deleted, or a shutdown). */
		reply(r, MBOX_ESESSION);
		mailapi_free(r);
		return;
	}
	/*
	 * A committed change must reach the directory, whatever happens
	 * to the answer.  If it cannot (logged), the change still stands
	 * and the front is told so: only the rollback check lags behind
	 * until the next write.
	 */
	if (r->ran == MBOX_OK && op_writes(r->req.op))
		(void)account_committed(r->a);
	else
		/* A SEARCH may have indexed the backlog first. */
		(void)account_indexed(r->a);
	reply(r, status);
	mailapi_free(r);
}

/* The request's copy of the user's words and mail, wiped. */
static void
mailapi_free(struct mailreq *r)
{
	if (r->infd != -1)
		close(r->infd);
	if (r->writer != NULL)
		freezero(r->writer, sizeof(*r->writer));
	freezero(r, sizeof(*r));
}

void
mailapi_request(struct imsgev *iev, enum proc_role role, struct imsg *imsg)
{
	struct mailreq	*r, fail;
	int		 fd;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("mailapi");
		if ((fd = imsg_get_fd(imsg)) != -1)
			close(fd);
		req_init(&fail, iev, role, imsg);
		reply(&fail, MBOX_ETEMP);
		return;
	}
	req_init(r, iev, role, imsg);
	switch (imsg->hdr.type) {
	case IMSG_MBOX_REQUEST:
		mailapi_req(r, imsg);
		break;
	default:
		log_warnx("mailapi: %s: unexpected %s", role_name(role),
		    msg_type_name(imsg->hdr.type));
		reply(r, MBOX_EINVAL);
		mailapi_free(r);
		break;
	}
}

/*
 * A front's channel is gone: its requests still run (their work may
 * commit, and the account's order stands), but their answers are
 * dropped; a new channel must not get answers meant for the old one.
 */
void
mailapi_cancel(struct imsgev *iev)
{
	struct mailreq	*r;

	TAILQ_FOREACH(r, &pending, entry)
		if (r->iev == iev)
			r->iev = NULL;
}
