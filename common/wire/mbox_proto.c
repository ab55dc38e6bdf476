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
 * The wire form of mailbox requests (mbox_proto.h): what each
 * operation takes, and the encoder and decoder both ends share, so
 * that the shapes are written down once.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "mbox_proto.h"

#define PART_NAME	0x01	/* a folder name */
#define PART_NAME2	0x02	/* a second folder name */
#define PART_KW		0x04	/* keywords */
#define PART_RANGES	0x08	/* a set */
#define PART_NODES	0x10	/* a search program */
#define PART_SECTS	0x20	/* sections of messages */

static const struct {
	size_t		 args;	/* bytes of the argument struct */
	unsigned int	 parts;	/* PART_* */
} mbox_ops[MBOX_OP_MAX] = {
	[MBOX_OP_LIST] =	{ 0, 0 },
	[MBOX_OP_STATUS] =	{ 0, PART_NAME },
	[MBOX_OP_CREATE] =	{ sizeof(struct mbox_args_create), PART_NAME },
	[MBOX_OP_DELETE] =	{ 0, PART_NAME },
	[MBOX_OP_RENAME] =	{ 0, PART_NAME | PART_NAME2 },
	[MBOX_OP_SUBSCRIBE] =	{ sizeof(struct mbox_args_subscribe),
				  PART_NAME },
	[MBOX_OP_FETCH] =	{ sizeof(struct mbox_args_fetch),
				  PART_NAME | PART_RANGES },
	[MBOX_OP_BODY] =	{ sizeof(struct mbox_args_body), PART_NAME },
	[MBOX_OP_STORE] =	{ sizeof(struct mbox_args_store),
				  PART_NAME | PART_RANGES | PART_KW },
	[MBOX_OP_COPY] =	{ 0, PART_NAME | PART_NAME2 | PART_RANGES },
	[MBOX_OP_MOVE] =	{ 0, PART_NAME | PART_NAME2 | PART_RANGES },
	[MBOX_OP_EXPUNGE] =	{ 0, PART_NAME | PART_RANGES },
	[MBOX_OP_APPEND] =	{ sizeof(struct mbox_args_append),
				  PART_NAME },
	[MBOX_OP_VANISHED] =	{ sizeof(struct mbox_args_since), PART_NAME },
	[MBOX_OP_USAGE] =	{ 0, 0 },
	[MBOX_OP_BODIES] =	{ 0, PART_NAME | PART_RANGES },
	[MBOX_OP_SEARCH] =	{ 0, PART_NAME | PART_NODES },
	[MBOX_OP_SYNC] =	{ sizeof(struct mbox_args_since), PART_NAME },
	[MBOX_OP_SORT] =	{ sizeof(struct mbox_args_sort),
				  PART_NAME | PART_NODES },
	[MBOX_OP_THREAD] =	{ sizeof(struct mbox_args_sort),
				  PART_NAME | PART_NODES },
	[MBOX_OP_RECENT] =	{ sizeof(struct mbox_args_recent), PART_NAME },
	[MBOX_OP_SECTIONS] =	{ 0, PART_NAME | PART_RANGES | PART_SECTS },
};

/* MBOX_REQ_WIRE_MAX counts fetch's arguments as the largest. */
_Static_assert(sizeof(struct mbox_args_sort) <=
    sizeof(struct mbox_args_fetch), "sort arguments too large");

static size_t	 wire_size(const struct mbox_req_hdr *);

/*
 * The payload size the header declares, or 0 when a count is above its
 * maximum or names a part the operation does not take.  Every term is
 * bounded, so the sum cannot overflow.
 */
static size_t
wire_size(const struct mbox_req_hdr *h)
{
	unsigned int	 parts;

	if (h->op >= MBOX_OP_MAX)
		return (0);
	parts = mbox_ops[h->op].parts;
	if (h->nranges > ((parts & PART_RANGES) ? MBOX_RANGES_MAX : 0) ||
	    h->nnodes > ((parts & PART_NODES) ? SEARCH_MAX_OPS : 0) ||
	    h->namelen > ((parts & PART_NAME) ? MBOX_NAME_MAX - 1 : 0) ||
	    h->name2len > ((parts & PART_NAME2) ? MBOX_NAME_MAX - 1 : 0) ||
	    h->kwlen > ((parts & PART_KW) ? MBOX_KWLIST_MAX - 1 : 0) ||
	    h->nsects > ((parts & PART_SECTS) ? MBOX_SECTIONS_MAX : 0))
		return (0);
	return (sizeof(*h) + mbox_ops[h->op].args +
	    (size_t)h->nranges * sizeof(struct mbox_range) +
	    (size_t)h->nnodes * sizeof(struct search_op_s) +
	    (size_t)h->nsects * sizeof(struct section) +
	    h->namelen + h->name2len + h->kwlen);
}

int
mbox_req_encode(const struct mbox_req *q, const struct search_program *prog,
    void *buf, size_t *lenp)
{
	struct mbox_req_hdr	 h;
	unsigned char		*p = buf;
	size_t			 len;

	memset(&h, 0, sizeof(h));
	h.session = q->session;
	h.op = q->op;
	if (q->op >= MBOX_OP_MAX)
		return (-1);
	h.nranges = q->nranges;
	if ((mbox_ops[q->op].parts & PART_NODES))
		h.nnodes = prog->nops;
	if ((mbox_ops[q->op].parts & PART_NAME))
		h.namelen = strnlen(q->folder, sizeof(q->folder));
	if ((mbox_ops[q->op].parts & PART_NAME2))
		h.name2len = strnlen(q->folder2, sizeof(q->folder2));
	if ((mbox_ops[q->op].parts & PART_KW))
		h.kwlen = strnlen(q->keywords, sizeof(q->keywords));
	if ((mbox_ops[q->op].parts & PART_SECTS))
		h.nsects = q->nsects;
	if ((len = wire_size(&h)) == 0)
		return (-1);
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	/* Each argument struct sits at the start of the union. */
	memcpy(p, &q->create, mbox_ops[q->op].args);
	p += mbox_ops[q->op].args;
	memcpy(p, q->ranges, h.nranges * sizeof(q->ranges[0]));
	p += h.nranges * sizeof(q->ranges[0]);
	if (h.nnodes > 0) {
		memcpy(p, prog->ops, h.nnodes * sizeof(prog->ops[0]));
		p += h.nnodes * sizeof(prog->ops[0]);
	}
	memcpy(p, q->sects, h.nsects * sizeof(q->sects[0]));
	p += h.nsects * sizeof(q->sects[0]);
	memcpy(p, q->folder, h.namelen);
	p += h.namelen;
	memcpy(p, q->folder2, h.name2len);
	p += h.name2len;
	memcpy(p, q->keywords, h.kwlen);
	*lenp = len;
	return (0);
}

int
mbox_req_size_ok(const void *data, size_t len)
{
	struct mbox_req_hdr	 h;

	if (data == NULL || len < sizeof(h))
		return (0);
	memcpy(&h, data, sizeof(h));
	return (wire_size(&h) == len);
}

const char *
mbox_req_decode(const void *data, size_t len, struct mbox_req *q,
    struct search_program *prog)
{
	struct mbox_req_hdr	 h;
	const unsigned char	*p = data;
	uint32_t		 i;

	if (!mbox_req_size_ok(data, len))
		return ("malformed request");
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	memset(q, 0, sizeof(*q));
	q->session = h.session;
	q->op = h.op;
	memcpy(&q->create, p, mbox_ops[h.op].args);
	p += mbox_ops[h.op].args;
	q->nranges = h.nranges;
	memcpy(q->ranges, p, h.nranges * sizeof(q->ranges[0]));
	p += h.nranges * sizeof(q->ranges[0]);
	/*
	 * uids and sequence numbers are 1 and up (a range may be written
	 * high to low, as "*:2" is).
	 */
	for (i = 0; i < q->nranges; i++)
		if (q->ranges[i].first == 0 || q->ranges[i].last == 0)
			return ("bad range");
	if ((mbox_ops[h.op].parts & PART_NODES)) {
		memset(prog, 0, sizeof(*prog));
		prog->nops = h.nnodes;
		memcpy(prog->ops, p, h.nnodes * sizeof(prog->ops[0]));
		p += h.nnodes * sizeof(prog->ops[0]);
	}
	q->nsects = h.nsects;
	memcpy(q->sects, p, h.nsects * sizeof(q->sects[0]));
	p += h.nsects * sizeof(q->sects[0]);
	if ((mbox_ops[h.op].parts & PART_SECTS) && q->nsects == 0)
		return ("no section");
	for (i = 0; i < q->nsects; i++)
		if (section_check(&q->sects[i]) == -1)
			return ("bad section");
	/* The copies stay NUL-terminated: q was zeroed, lengths < size. */
	memcpy(q->folder, p, h.namelen);
	p += h.namelen;
	memcpy(q->folder2, p, h.name2len);
	p += h.name2len;
	memcpy(q->keywords, p, h.kwlen);
	if (strlen(q->folder) != h.namelen ||
	    strlen(q->folder2) != h.name2len)
		return ("NUL in a folder name");
	if (strlen(q->keywords) != h.kwlen)
		return ("NUL in the keywords");
	return (NULL);
}

int
mbox_sections_read(const void *rec, size_t len, uint32_t nsects, int *wholep,
    const char **rawp, size_t *rawlenp, struct mbox_section_view *v)
{
	struct mbox_sections_hdr h;
	struct mbox_section_res	 r;
	const char		*p = rec;
	size_t			 off;
	uint32_t		 i;

	*wholep = 0;
	*rawp = NULL;
	*rawlenp = 0;
	if (rec == NULL || len < sizeof(h) || nsects > MBOX_SECTIONS_MAX)
		return (-1);
	memcpy(&h, p, sizeof(h));
	if (h.whole > 1 || h.pad != 0)
		return (-1);
	off = sizeof(h);
	if (h.whole) {
		*wholep = 1;
		*rawp = p + off;
		*rawlenp = len - off;
		return (0);
	}
	for (i = 0; i < nsects; i++) {
		if (len - off < sizeof(r))
			return (-1);
		memcpy(&r, p + off, sizeof(r));
		off += sizeof(r);
		if (r.found > 1 || r.pad != 0 || r.len > len - off ||
		    (!r.found && r.len != 0))
			return (-1);
		v[i].found = (int)r.found;
		v[i].p = r.len > 0 ? p + off : NULL;
		v[i].len = (size_t)r.len;
		off += (size_t)r.len;
	}
	return (off == len ? 0 : -1);
}
