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
 * SORT and THREAD (RFC 5256) on messages in memory: see vault_sort.h.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault_sort.h"

struct tnode {
	struct sort_msg	*msg;		/* NULL: a dummy */
	const char	*id;
	struct tnode	*parent;
	struct tnode	*child;		/* first child */
	struct tnode	*next;		/* next sibling */
	struct tnode	*prev;		/* previous sibling, while linking */
	struct tnode	*hnext;		/* id table chain */
};

/* Step 5's table: a base subject and the root that holds it. */
struct subj {
	const char	*subj;		/* NULL: a free slot */
	struct tnode	*root;
	size_t		 idx;		/* of root in the root array */
};

struct tctx {
	struct tnode	*nodes;
	size_t		 nnodes;
	size_t		 cap;
	struct tnode	**table;
	size_t		 tsize;		/* power of two */
};

static int	 casemap(int);
static size_t	 blob_len(const char *, const char *);
static size_t	 leader_len(const char *, const char *, int *);
static int	 sort_cmp(const void *, const void *);
static int	 date_cmp(const struct tnode *, const struct tnode *);
static int	 node_cmp(const void *, const void *);
static struct tnode *node_first(struct tnode *);
static uint32_t	 id_hash(const char *);
static struct tnode *id_get(struct tctx *, const char *, int);
static int	 is_ancestor(const struct tnode *, const struct tnode *);
static void	 node_unlink(struct tnode *);
static void	 node_link(struct tnode *, struct tnode *);
static int	 cut_deep(struct tctx *);
static struct sort_msg *root_msg(struct tnode *);
static struct subj *subj_slot(struct subj *, size_t, struct tnode *);
static void	 prune(struct tnode **, int);
static int	 sort_siblings(struct tnode **);
static int	 emit(struct tnode *, uint32_t, thread_cb, void *);
static int	 thread_references(struct sort_msg *, size_t, thread_cb,
		    void *);
static int	 thread_ordered(struct sort_msg *, size_t, thread_cb, void *);
static int	 ordered_cmp(const void *, const void *);
static int	 group_cmp(const void *, const void *);

/*
 * Keys of the running sort_msgs(): qsort(3) has no argument.  Per
 * thread: two accounts' SORTs may run at once on mailbox workers.
 */
static _Thread_local const uint8_t	*cmp_keys;
static _Thread_local size_t		 cmp_nkeys;

/* i;ascii-casemap: ASCII letters to upper case, other octets as is. */
static int
casemap(int c)
{
	return (c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
}

/* subj-blob: "[" *BLOBCHAR "]" *WSP; its length at p, or 0. */
static size_t
blob_len(const char *p, const char *e)
{
	const char	*q = p;

	if (q >= e || *q != '[')
		return (0);
	for (q++; q < e && *q != ']'; q++)
		if (*q == '[')
			return (0);
	if (q >= e)
		return (0);
	for (q++; q < e && *q == ' '; q++)
		;
	return ((size_t)(q - p));
}

/*
 * subj-leader: (*subj-blob subj-refwd) / WSP, where subj-refwd is
 * ("RE" / ("FW" ["D"])) *WSP [subj-blob] ":"; its length, or 0.
 */
static size_t
leader_len(const char *p, const char *e, int *refwd)
{
	const char	*q = p;
	size_t		 k;

	*refwd = 0;
	if (q < e && *q == ' ')
		return (1);
	while ((k = blob_len(q, e)) > 0)
		q += k;
	if (e - q >= 2 && q[0] == 'R' && q[1] == 'E')
		q += 2;
	else if (e - q >= 2 && q[0] == 'F' && q[1] == 'W') {
		q += 2;
		if (q < e && *q == 'D')
			q++;
	} else
		return (0);
	while (q < e && *q == ' ')
		q++;
	q += blob_len(q, e);
	if (q >= e || *q != ':')
		return (0);
	*refwd = 1;
	return ((size_t)(q + 1 - p));
}

char *
sort_base_subject(const char *s, size_t len, int *reply)
{
	char		*buf, *b, *e;
	size_t		 i, n = 0, k;
	int		 changed, refwd;

	*reply = 0;
	if ((buf = malloc(len + 1)) == NULL)
		return (NULL);
	/* (1) Whitespace as one space; casemapped for the comparisons. */
	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			if (n > 0 && buf[n - 1] == ' ')
				continue;
			buf[n++] = ' ';
		} else
			buf[n++] = (char)casemap((unsigned char)s[i]);
	}
	b = buf;
	e = buf + n;
	for (;;) {
		/* (2) Trailing "(fwd)" and spaces. */
		for (;;) {
			if (e > b && e[-1] == ' ')
				e--;
			else if (e - b >= 5 && memcmp(e - 5, "(FWD)", 5) == 0) {
				e -= 5;
				*reply = 1;
			} else
				break;
		}
		/* (3), (4) and (5): leaders, then a blob, until none. */
		do {
			changed = 0;
			while ((k = leader_len(b, e, &refwd)) > 0) {
				b += k;
				changed = 1;
				if (refwd)
					*reply = 1;
			}
			if ((k = blob_len(b, e)) > 0 && b + k < e) {
				b += k;
				changed = 1;
			}
		} while (changed);
		/* (6) "[fwd:" ... "]" around it all: again from (2). */
		if (e - b >= 6 && memcmp(b, "[FWD:", 5) == 0 && e[-1] == ']') {
			b += 5;
			e--;
			*reply = 1;
			continue;
		}
		break;
	}
	memmove(buf, b, (size_t)(e - b));
	buf[e - b] = '\0';
	return (buf);
}

int
sort_msg_ids(const char *s, size_t len, char **ids, size_t max)
{
	const char	*p, *e = s + len, *q;
	size_t		 n = 0, i, k;

	if (max == 0)
		return (0);
	for (p = s; p < e; p = q) {
		if (*p != '<') {
			q = p + 1;
			continue;
		}
		for (q = p + 1; q < e && *q != '>' && *q != '<'; q++)
			;
		if (q >= e || *q == '<')
			continue;
		q++;
		/* "<>" or too long: not an id we can use. */
		k = (size_t)(q - p);
		if (k <= 2 || k >= THREAD_ID_MAX)
			continue;
		/* Keep the last max: drop the oldest. */
		if (n == max) {
			free(ids[0]);
			memmove(ids, ids + 1, (max - 1) * sizeof(*ids));
			n--;
		}
		if ((ids[n] = strndup(p, k)) == NULL) {
			for (i = 0; i < n; i++)
				free(ids[i]);
			return (-1);
		}
		n++;
	}
	return ((int)n);
}

void
sort_msg_free(struct sort_msg *m)
{
	size_t	 i;

	free(m->subject);
	free(m->from);
	free(m->to);
	free(m->cc);
	free(m->msgid);
	for (i = 0; i < m->nrefs; i++)
		free(m->refs[i]);
	free(m->refs);
	memset(m, 0, sizeof(*m));
}

/* -------------------------------------------------------------------
 * SORT.
 */

static int
sort_cmp(const void *pa, const void *pb)
{
	const struct sort_msg	*a = pa, *b = pb;
	size_t			 i;
	int			 c;

	for (i = 0; i < cmp_nkeys; i++) {
		c = 0;
		switch (cmp_keys[i] & ~SORT_REVERSE) {
		case SORT_ARRIVAL:
			c = (a->arrival > b->arrival) - (a->arrival < b->arrival);
			break;
		case SORT_DATE:
			c = (a->date > b->date) - (a->date < b->date);
			break;
		case SORT_SIZE:
			c = (a->size > b->size) - (a->size < b->size);
			break;
		case SORT_SUBJECT:
			c = strcmp(a->subject, b->subject);
			break;
		case SORT_FROM:
			c = strcmp(a->from, b->from);
			break;
		case SORT_TO:
			c = strcmp(a->to, b->to);
			break;
		case SORT_CC:
			c = strcmp(a->cc, b->cc);
			break;
		}
		if (c != 0)
			return ((cmp_keys[i] & SORT_REVERSE) ? -c : c);
	}
	/* Ties by sequence number, whatever REVERSE says (RFC 5256 3). */
	return ((a->uid > b->uid) - (a->uid < b->uid));
}

void
sort_msgs(struct sort_msg *msgs, size_t n, const uint8_t *keys, size_t nkeys)
{
	cmp_keys = keys;
	cmp_nkeys = nkeys;
	qsort(msgs, n, sizeof(*msgs), sort_cmp);
}

/* -------------------------------------------------------------------
 * THREAD.
 */

/* A dummy sorts as its first child (sorted first). */
static struct tnode *
node_first(struct tnode *t)
{
	while (t->msg == NULL && t->child != NULL)
		t = t->child;
	return (t);
}

/* Sent date, then sequence number. */
static int
date_cmp(const struct tnode *x, const struct tnode *y)
{
	const struct sort_msg	*a, *b;

	a = node_first((struct tnode *)x)->msg;
	b = node_first((struct tnode *)y)->msg;
	if (a == NULL || b == NULL)
		return ((a != NULL) - (b != NULL));
	if (a->date != b->date)
		return ((a->date > b->date) - (a->date < b->date));
	return ((a->uid > b->uid) - (a->uid < b->uid));
}

static int
node_cmp(const void *pa, const void *pb)
{
	return (date_cmp(*(struct tnode *const *)pa,
	    *(struct tnode *const *)pb));
}

/* FNV-1a. */
static uint32_t
id_hash(const char *s)
{
	uint32_t	 h = 2166136261U;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619U;
	return (h);
}

/* The container of id, made (a dummy) if create and missing. */
static struct tnode *
id_get(struct tctx *c, const char *id, int create)
{
	struct tnode	*t;
	uint32_t	 h;

	h = id_hash(id) & (uint32_t)(c->tsize - 1);
	for (t = c->table[h]; t != NULL; t = t->hnext)
		if (strcmp(t->id, id) == 0)
			return (t);
	if (!create || c->nnodes >= c->cap)
		return (NULL);
	t = &c->nodes[c->nnodes++];
	t->id = id;
	t->hnext = c->table[h];
	c->table[h] = t;
	return (t);
}

/*
 * Is a an ancestor of b (or b itself)?  A chain longer than
 * THREAD_DEPTH_MAX counts as one: the link asked for is not made.
 */
static int
is_ancestor(const struct tnode *a, const struct tnode *b)
{
	size_t	 n;

	for (n = 0; b != NULL; b = b->parent, n++) {
		if (b == a || n > THREAD_DEPTH_MAX)
			return (1);
	}
	return (0);
}

/*
 * Siblings are doubly linked while step 1 links and unlinks, so that
 * neither costs the number of siblings (a message with thousands of
 * replies); the steps after it only sort and splice, by next, and link
 * with node_link().
 */
static void
node_unlink(struct tnode *t)
{
	if (t->parent == NULL)
		return;
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		t->parent->child = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->parent = NULL;
	t->next = t->prev = NULL;
}

/* t (without a parent) as the first child of p: siblings are sorted later. */
static void
node_link(struct tnode *t, struct tnode *p)
{
	t->next = p->child;
	t->prev = NULL;
	if (p->child != NULL)
		p->child->prev = t;
	p->child = t;
	t->parent = p;
}

/*
 * Cut every node deeper than THREAD_DEPTH_MAX from its parent (it then
 * starts a thread), walking breadth first without recursion: after
 * this, the recursive steps are bounded.
 */
static int
cut_deep(struct tctx *c)
{
	struct tnode	**q, *t, *ch, *nx;
	uint32_t	*depth;
	size_t		 head = 0, tail = 0, i;

	if ((q = reallocarray(NULL, c->nnodes + 1, sizeof(*q))) == NULL)
		return (-1);
	if ((depth = calloc(c->nnodes + 1, sizeof(*depth))) == NULL) {
		free(q);
		return (-1);
	}
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].parent == NULL)
			q[tail++] = &c->nodes[i];
	while (head < tail) {
		t = q[head++];
		for (ch = t->child; ch != NULL; ch = nx) {
			nx = ch->next;
			depth[ch - c->nodes] = depth[t - c->nodes] + 1;
			if (depth[ch - c->nodes] > THREAD_DEPTH_MAX) {
				node_unlink(ch);
				depth[ch - c->nodes] = 0;
			}
			if (tail < c->nnodes)
				q[tail++] = ch;
		}
	}
	free(depth);
	free(q);
	return (0);
}

/* The message a root stands for: a dummy's first child (RFC 5256 4). */
static struct sort_msg *
root_msg(struct tnode *t)
{
	return (node_first(t)->msg);
}

/*
 * The slot of t's base subject in the table (size a power of two,
 * above the number of roots, so a free slot always exists), or NULL
 * when t has an empty base subject, which is not gathered.
 */
static struct subj *
subj_slot(struct subj *tab, size_t size, struct tnode *t)
{
	struct sort_msg	*m;
	size_t		 h;

	if ((m = root_msg(t)) == NULL || m->subject[0] == '\0')
		return (NULL);
	h = id_hash(m->subject) & (size - 1);
	while (tab[h].root != NULL && strcmp(tab[h].subj, m->subject) != 0)
		h = (h + 1) & (size - 1);
	return (&tab[h]);
}

/*
 * Step 3: dummies without children go; a dummy's children take its
 * place, except at the root, where only a single child does.
 */
static void
prune(struct tnode **list, int root)
{
	struct tnode	**pp, *t, *ch, *last, *p;

	for (pp = list; (t = *pp) != NULL;) {
		prune(&t->child, 0);
		if (t->msg != NULL) {
			pp = &t->next;
			continue;
		}
		if (t->child == NULL) {
			*pp = t->next;
			continue;
		}
		if (root && t->child->next != NULL) {
			pp = &t->next;
			continue;
		}
		/* Splice the children in where the dummy was. */
		p = t->parent;
		for (ch = last = t->child; ch != NULL; ch = ch->next) {
			ch->parent = p;
			last = ch;
		}
		last->next = t->next;
		*pp = t->child;
		t->child = NULL;
		/* The promoted children were pruned already. */
		pp = &last->next;
	}
}

/* Step 6: each set of siblings by sent date, children first. */
static int
sort_siblings(struct tnode **list)
{
	struct tnode	**a, *t;
	size_t		 n = 0, i;

	for (t = *list; t != NULL; t = t->next) {
		if (sort_siblings(&t->child) == -1)
			return (-1);
		n++;
	}
	if (n < 2)
		return (0);
	if ((a = reallocarray(NULL, n, sizeof(*a))) == NULL)
		return (-1);
	for (i = 0, t = *list; t != NULL; t = t->next)
		a[i++] = t;
	qsort(a, n, sizeof(*a), node_cmp);
	for (i = 0; i + 1 < n; i++)
		a[i]->next = a[i + 1];
	a[n - 1]->next = NULL;
	*list = a[0];
	free(a);
	return (0);
}

static int
emit(struct tnode *t, uint32_t depth, thread_cb cb, void *arg)
{
	int	 rc;

	for (; t != NULL; t = t->next) {
		if ((rc = cb(arg, t->msg != NULL ? t->msg->uid : 0, depth)) !=
		    0)
			return (rc);
		if ((rc = emit(t->child, depth + 1, cb, arg)) != 0)
			return (rc);
	}
	return (0);
}

/* RFC 5256 4, REFERENCES. */
static int
thread_references(struct sort_msg *msgs, size_t n, thread_cb cb, void *arg)
{
	struct tctx	 c;
	struct tnode	*t, *self, *prev, *root = NULL, **rootp, **roots = NULL;
	struct tnode	*o, *d, *ch, *nx;
	struct subj	*stab = NULL, *sp;
	size_t		 i, k, nroots, ssize, total = n;
	int		 rc = -1;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < n; i++)
		total += msgs[i].nrefs;
	/* Room for a dummy per root in step 5 too. */
	c.cap = 2 * total + 1;
	for (c.tsize = 16; c.tsize < 2 * total; c.tsize *= 2)
		;
	if ((c.nodes = calloc(c.cap, sizeof(*c.nodes))) == NULL ||
	    (c.table = calloc(c.tsize, sizeof(*c.table))) == NULL)
		goto out;

	/* (1) The id table and the links of References. */
	for (i = 0; i < n; i++) {
		self = NULL;
		if (msgs[i].msgid != NULL &&
		    (self = id_get(&c, msgs[i].msgid, 1)) != NULL &&
		    self->msg != NULL)
			self = NULL;	/* a duplicate id: unique */
		if (self == NULL) {
			self = &c.nodes[c.nnodes++];
			self->id = "";
		}
		self->msg = &msgs[i];
		prev = NULL;
		for (k = 0; k < msgs[i].nrefs; k++) {
			if ((t = id_get(&c, msgs[i].refs[k], 1)) == NULL)
				goto out;
			if (prev != NULL && t->parent == NULL && t != prev &&
			    !is_ancestor(t, prev))
				node_link(t, prev);
			prev = t;
		}
		/* The last reference is the parent, whatever was. */
		node_unlink(self);
		if (prev != NULL && !is_ancestor(self, prev))
			node_link(self, prev);
	}
	if (cut_deep(&c) == -1)
		goto out;

	/* (2) The root set, (3) pruned. */
	rootp = &root;
	for (i = 0; i < c.nnodes; i++) {
		t = &c.nodes[i];
		if (t->parent != NULL)
			continue;
		*rootp = t;
		rootp = &t->next;
	}
	*rootp = NULL;
	prune(&root, 1);

	/* (4) Sorted by sent date (a dummy by its first child). */
	if (sort_siblings(&root) == -1)
		goto out;

	/* (5) Gathered by base subject. */
	for (nroots = 0, t = root; t != NULL; t = t->next)
		nroots++;
	for (ssize = 16; ssize < 2 * nroots; ssize *= 2)
		;
	if ((roots = reallocarray(NULL, nroots + 1, sizeof(*roots))) == NULL ||
	    (stab = calloc(ssize, sizeof(*stab))) == NULL)
		goto out;
	for (i = 0, t = root; t != NULL; t = t->next)
		roots[i++] = t;
	/*
	 * A: the table holds, for each subject, the root that wins: a
	 * dummy over a message, a message over a reply.
	 */
	for (i = 0; i < nroots; i++) {
		t = roots[i];
		if ((sp = subj_slot(stab, ssize, t)) == NULL)
			continue;
		if (sp->root == NULL) {
			sp->subj = root_msg(t)->subject;
			sp->root = t;
			sp->idx = i;
			continue;
		}
		o = sp->root;
		if (o->msg != NULL && (t->msg == NULL ||
		    (o->msg->reply && !t->msg->reply))) {
			sp->root = t;
			sp->idx = i;
		}
	}
	/* C: every other root with that subject joins the winner. */
	for (i = 0; i < nroots; i++) {
		if ((t = roots[i]) == NULL ||
		    (sp = subj_slot(stab, ssize, t)) == NULL ||
		    (o = sp->root) == t)
			continue;
		if (o->msg == NULL && t->msg == NULL) {
			for (ch = t->child; ch != NULL; ch = nx) {
				nx = ch->next;
				ch->parent = NULL;
				node_link(ch, o);
			}
			t->child = NULL;
		} else if (o->msg == NULL || (t->msg != NULL &&
		    t->msg->reply && !o->msg->reply))
			node_link(t, o);
		else {
			if (c.nnodes >= c.cap)
				goto out;
			d = &c.nodes[c.nnodes++];
			d->id = "";
			node_link(o, d);
			node_link(t, d);
			/* The dummy takes the winner's place. */
			roots[sp->idx] = d;
			sp->root = d;
		}
		roots[i] = NULL;
	}
	rootp = &root;
	for (i = 0; i < nroots; i++) {
		if ((t = roots[i]) == NULL)
			continue;
		*rootp = t;
		rootp = &t->next;
	}
	*rootp = NULL;

	/* (6) Every set of siblings by sent date, and (7) out. */
	if (sort_siblings(&root) == -1)
		goto out;
	rc = emit(root, 0, cb, arg);
 out:
	free(stab);
	free(roots);
	free(c.table);
	free(c.nodes);
	return (rc);
}

/* Base subject, then sent date, then sequence number. */
static int
ordered_cmp(const void *pa, const void *pb)
{
	const struct sort_msg	*a = *(struct sort_msg *const *)pa;
	const struct sort_msg	*b = *(struct sort_msg *const *)pb;
	int			 c;

	if ((c = strcmp(a->subject, b->subject)) != 0)
		return (c);
	if (a->date != b->date)
		return ((a->date > b->date) - (a->date < b->date));
	return ((a->uid > b->uid) - (a->uid < b->uid));
}

/* Sent date, then sequence number, of the first of each group. */
static int
group_cmp(const void *pa, const void *pb)
{
	const struct sort_msg	*a = **(struct sort_msg **const *)pa;
	const struct sort_msg	*b = **(struct sort_msg **const *)pb;

	if (a->date != b->date)
		return ((a->date > b->date) - (a->date < b->date));
	return ((a->uid > b->uid) - (a->uid < b->uid));
}

/*
 * RFC 5256 4, ORDEREDSUBJECT: the messages of one base subject make a
 * thread, the first by sent date its root and the others its children;
 * threads in the order of their roots' sent dates.
 */
static int
thread_ordered(struct sort_msg *msgs, size_t n, thread_cb cb, void *arg)
{
	struct sort_msg	**a = NULL, ***g = NULL;
	size_t		 i, j, ng = 0;
	int		 rc = -1;

	if (n == 0)
		return (0);
	if ((a = reallocarray(NULL, n + 1, sizeof(*a))) == NULL ||
	    (g = reallocarray(NULL, n, sizeof(*g))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		a[i] = &msgs[i];
	a[n] = NULL;
	qsort(a, n, sizeof(*a), ordered_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(a[i - 1]->subject, a[i]->subject) != 0)
			g[ng++] = &a[i];
	qsort(g, ng, sizeof(*g), group_cmp);
	rc = 0;
	for (i = 0; i < ng && rc == 0; i++) {
		rc = cb(arg, g[i][0]->uid, 0);
		for (j = 1; rc == 0 && g[i][j] != NULL &&
		    strcmp(g[i][j]->subject, g[i][0]->subject) == 0; j++)
			rc = cb(arg, g[i][j]->uid, 1);
	}
 out:
	free(g);
	free(a);
	return (rc);
}

int
thread_msgs(struct sort_msg *msgs, size_t n, int algo, thread_cb cb,
    void *arg)
{
	switch (algo) {
	case THREAD_ORDEREDSUBJECT:
		return (thread_ordered(msgs, n, cb, arg));
	case THREAD_REFERENCES:
		return (thread_references(msgs, n, cb, arg));
	default:
		return (-1);
	}
}
