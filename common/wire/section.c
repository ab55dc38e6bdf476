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
 * Finding a section in a message's part map (section.h).  The walk is
 * mime_section()'s of old, on the map instead of the parsed tree: the
 * numbering rules of RFC 9051 6.4.5 as Tresor has always applied them.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "section.h"

#define NONE	UINT32_MAX	/* no node */

struct map {
	const unsigned char	*p;
	uint32_t		 n;
	uint64_t		 rawlen;
};

static int	 node_get(const struct map *, uint32_t,
		    struct section_node *);

int
section_parse(const char *spec, struct section *s)
{
	const char	*kw;
	uint32_t	 v;
	size_t		 k;

	memset(s, 0, sizeof(*s));
	if (spec == NULL)
		return (-1);
	while (*spec >= '1' && *spec <= '9') {
		v = 0;
		for (k = 0; *spec >= '0' && *spec <= '9'; spec++, k++) {
			if (k >= SECTION_NUM_DIGITS)
				return (-1);
			v = v * 10 + (uint32_t)(*spec - '0');
		}
		if (s->nparts >= SECTION_PARTS_MAX)
			return (-1);
		s->part[s->nparts++] = v;
		if (*spec == '\0')
			break;
		if (*spec != '.')
			return (-1);
		spec++;
		if (*spec == '\0')
			return (-1);
	}
	kw = spec;
	if (*kw == '\0')
		s->text = SECTION_ALL;
	else if (strcasecmp(kw, "HEADER") == 0)
		s->text = SECTION_HEADER;
	else if (strcasecmp(kw, "TEXT") == 0)
		s->text = SECTION_TEXT;
	else if (strcasecmp(kw, "MIME") == 0 && s->nparts > 0)
		s->text = SECTION_MIME;
	else if (strncasecmp(kw, "HEADER.FIELDS", 13) == 0 &&
	    (kw[13] == ' ' || (strncasecmp(kw + 13, ".NOT", 4) == 0 &&
	    kw[17] == ' ')))
		s->text = SECTION_HEADER;
	else
		return (-1);
	return (0);
}

int
section_check(const struct section *s)
{
	uint32_t	 i;

	if (s->nparts > SECTION_PARTS_MAX || s->text >= SECTION_NTEXT ||
	    (s->text == SECTION_MIME && s->nparts == 0) ||
	    (s->count == 0 && s->origin != 0))
		return (-1);
	for (i = 0; i < SECTION_PARTS_MAX; i++) {
		if (i < s->nparts && (s->part[i] == 0 ||
		    s->part[i] > 999999999))
			return (-1);
		if (i >= s->nparts && s->part[i] != 0)
			return (-1);
	}
	return (0);
}

/*
 * Node i of the map, checked: within the map, flags known, ranges
 * within the message, a sibling link that points forward and a child
 * that exists.  The map may sit anywhere in memory: copied out.
 */
static int
node_get(const struct map *mp, uint32_t i, struct section_node *nd)
{
	if (i >= mp->n)
		return (-1);
	memcpy(nd, mp->p + (size_t)i * sizeof(*nd), sizeof(*nd));
	if ((nd->flags & ~SECTION_N_ALL) != 0 ||
	    (uint64_t)nd->off + nd->hdr_len > mp->rawlen ||
	    (uint64_t)nd->body_off + nd->body_len > mp->rawlen ||
	    (nd->next != 0 && nd->next <= i) ||
	    ((nd->flags & SECTION_N_CHILD) && i + 1 >= mp->n))
		return (-1);
	return (0);
}

int
section_find(const void *map, size_t maplen, uint64_t rawlen,
    const struct section *s, uint64_t *offp, uint64_t *np)
{
	struct map		 mp;
	struct section_node	 cn, mn, rn;
	uint32_t		 i, k, cur = NONE, m;
	int			 empty = 0;

	*offp = 0;
	*np = 0;
	if (section_check(s) == -1)
		return (-1);
	if (s->nparts == 0 && s->text == SECTION_ALL) {
		*np = rawlen;
		return (0);
	}
	if (map == NULL || maplen == 0 || maplen % sizeof(cn) != 0 ||
	    maplen / sizeof(cn) > SECTION_NODES_MAX)
		return (-1);
	mp.p = map;
	mp.n = (uint32_t)(maplen / sizeof(cn));
	mp.rawlen = rawlen;
	if (node_get(&mp, 0, &rn) == -1)
		return (-1);

	/*
	 * cur is the part a number led to; m is the message (or
	 * multipart) whose parts the next number counts (NONE when cur is
	 * a leaf).
	 */
	m = 0;
	for (i = 0; i < s->nparts; i++) {
		if (empty || m == NONE || node_get(&mp, m, &mn) == -1)
			return (-1);
		if ((mn.flags & SECTION_N_MULTIPART) &&
		    !(mn.flags & SECTION_N_OPAQUE)) {
			if (!(mn.flags & SECTION_N_CHILD) && s->part[i] == 1) {
				/* The empty part of a partless multipart. */
				cur = m;
				cn = mn;
				empty = 1;
				continue;
			}
			cur = (mn.flags & SECTION_N_CHILD) ? m + 1 : NONE;
			for (k = 1; cur != NONE; k++) {
				if (node_get(&mp, cur, &cn) == -1)
					return (-1);
				if (k >= s->part[i])
					break;
				cur = cn.next != 0 ? cn.next : NONE;
			}
			if (cur == NONE)
				return (-1);
		} else if (mn.flags & SECTION_N_ISMSG) {
			/* A message that is not multipart: 1 is its body. */
			if (s->part[i] != 1)
				return (-1);
			cur = m;
			cn = mn;
		} else
			return (-1);
		/* What the next number counts in. */
		if ((cn.flags & SECTION_N_MESSAGE) &&
		    !(cn.flags & SECTION_N_OPAQUE))
			m = (cn.flags & SECTION_N_CHILD) ? cur + 1 : NONE;
		else if ((cn.flags & SECTION_N_MULTIPART) &&
		    !(cn.flags & SECTION_N_OPAQUE) && cur != m)
			m = cur;
		else
			m = NONE;
	}

	if (s->nparts == 0) {
		if (s->text == SECTION_HEADER) {
			*offp = rn.off;
			*np = rn.hdr_len;
		} else {
			/* TEXT: MIME needs numbers. */
			*offp = rn.body_off;
			*np = rn.body_len;
		}
	} else if (empty) {
		if (s->text != SECTION_ALL && s->text != SECTION_MIME)
			return (-1);
		*offp = cn.body_off;
	} else if (s->text == SECTION_ALL) {
		*offp = cn.body_off;
		*np = cn.body_len;
	} else if (s->text == SECTION_MIME) {
		*offp = cn.off;
		*np = cn.hdr_len;
	} else {
		if (!(cn.flags & SECTION_N_MESSAGE) ||
		    (cn.flags & SECTION_N_OPAQUE) ||
		    !(cn.flags & SECTION_N_CHILD) ||
		    node_get(&mp, cur + 1, &mn) == -1)
			return (-1);
		if (s->text == SECTION_HEADER) {
			*offp = mn.off;
			*np = mn.hdr_len;
		} else {
			*offp = mn.body_off;
			*np = mn.body_len;
		}
	}
	return (0);
}

void
section_cut(const struct section *s, uint64_t *offp, uint64_t *np)
{
	if (s->count == 0)
		return;
	if (s->origin >= *np) {
		*offp += *np;
		*np = 0;
		return;
	}
	*offp += s->origin;
	*np -= s->origin;
	if (*np > s->count)
		*np = s->count;
}
