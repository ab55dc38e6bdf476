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
 * FETCH: the items of a FETCH command (RFC 9051 6.4.5, the rev1 items
 * of RFC 3501, BINARY of RFC 3516, MODSEQ and the modifiers of RFC
 * 7162), and the FETCH response of one message.
 *
 * Items are checked completely when the command is parsed, so that a
 * bad one is a BAD before anything is asked of the vault.  A section
 * is kept in two forms: the spec that mime_section() takes ("1.2",
 * "3.HEADER", "TEXT"; HEADER.FIELDS is fetched as HEADER and filtered
 * here) and the name of the response item, upper-cased ("BODY[1.2]",
 * "BODY[HEADER.FIELDS (FROM TO)]").
 *
 * Writing a response first gathers every item's content: whatever can
 * fail (an unknown transfer encoding, memory) fails before the first
 * octet is written.  Contents point into the raw message when they can;
 * only filtered headers, decoded BINARY sections and the BODY form of
 * the structure are copies, and those are wiped when freed.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "mime.h"

#include "imap.h"

#define FETCH_ITEMS_MAX		64	/* items in one FETCH */
#define FETCH_FIELDS_MAX	64	/* names in HEADER.FIELDS (...) */
#define FETCH_FIELD_LEN		256	/* a header field name */
#define FETCH_PARTS_MAX		64	/* numbers of a section-part */
/* A spec: FETCH_PARTS_MAX numbers of at most 10 digits, dots, MIME. */
#define FETCH_SPEC_MAX		(FETCH_PARTS_MAX * 11 + 16)
#define FETCH_NAME_MAX		(FETCH_SPEC_MAX + 32 + FETCH_FIELDS_MAX * \
				    (FETCH_FIELD_LEN * 2 + 3))
#define FETCH_CHUNK		8192	/* decoding for BINARY.SIZE */

/* Written when a stored string is missing, so the response parses. */
#define FETCH_NO_ENVELOPE	"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
#define FETCH_NO_BODY \
	"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)"

enum fetch_kind {
	FK_UID,
	FK_FLAGS,
	FK_INTERNALDATE,
	FK_RFC822_SIZE,
	FK_ENVELOPE,
	FK_BODY,
	FK_BODYSTRUCTURE,
	FK_MODSEQ,
	FK_RFC822,
	FK_RFC822_HEADER,
	FK_RFC822_TEXT,
	FK_SECTION,		/* BODY[...], BODY.PEEK[...] */
	FK_BINARY,		/* BINARY[...], BINARY.PEEK[...] */
	FK_BINARY_SIZE
};

/* What follows the part numbers of a section. */
enum fetch_text {
	FT_NONE,
	FT_HEADER,
	FT_TEXT,
	FT_MIME,
	FT_FIELDS,
	FT_FIELDS_NOT
};

static const struct {
	const char	*name;
	int		 kind;
	unsigned int	 flags;
} fetch_simple[] = {
	{ "UID",		FK_UID,			0 },
	{ "FLAGS",		FK_FLAGS,		IMAP_FETCH_FLAGS },
	{ "INTERNALDATE",	FK_INTERNALDATE,	0 },
	{ "RFC822.SIZE",	FK_RFC822_SIZE,		0 },
	{ "ENVELOPE",		FK_ENVELOPE,		IMAP_FETCH_META },
	{ "BODY",		FK_BODY,		IMAP_FETCH_META },
	{ "BODYSTRUCTURE",	FK_BODYSTRUCTURE,	IMAP_FETCH_META },
	{ "MODSEQ",		FK_MODSEQ,		IMAP_FETCH_MODSEQ },
	{ "RFC822",		FK_RFC822,
	    IMAP_FETCH_RAW | IMAP_FETCH_SEEN },
	{ "RFC822.HEADER",	FK_RFC822_HEADER,	IMAP_FETCH_RAW },
	{ "RFC822.TEXT",	FK_RFC822_TEXT,
	    IMAP_FETCH_RAW | IMAP_FETCH_SEEN },
};

/* The macros, expanded as RFC 9051 6.4.5 has them. */
static const struct {
	const char	*name;
	const char	*items[5];
} fetch_macros[] = {
	{ "ALL",	{ "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
			  NULL } },
	{ "FAST",	{ "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL } },
	{ "FULL",	{ "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
			  "BODY" } },
};

struct fetch_item {
	int		 kind;
	int		 text;		/* enum fetch_text */
	size_t		 nparts;	/* numbers in the section-part */
	int		 partial;	/* <origin.count> given */
	uint32_t	 origin;
	uint32_t	 count;
	char		*spec;		/* for mime_section() */
	char		*name;		/* in the response, without <origin> */
	char		*fields;	/* upper-case, each NUL-terminated */
	size_t		 nfields;
	uint32_t	 sidx[2];	/* imap_fetch_sections(): the item's */
	int		 sn;		/* 0..2 sections in that list */
	int		 pushed;	/* its <origin.count> went along */
};

struct imap_fetch {
	struct fetch_item	 items[FETCH_ITEMS_MAX];
	size_t			 nitems;
	unsigned int		 flags;		/* IMAP_FETCH_* */
	uint64_t		 changedsince;
	int			 vanished;
	int			 uid;
};

/*
 * Where items find the octets of sections: the whole message (raw,
 * cut here by mime_section()), or the sections the vault cut
 * (imap_fetch_sections()).
 */
struct fetch_src {
	const char			*raw;
	size_t				 rawlen;
	const struct mbox_section_view	*v;	/* NULL: raw */
	uint32_t			 nv;
};

/* An item's content, gathered before writing. */
struct fetch_data {
	const char	*p;
	size_t		 n;
	char		*buf;		/* a copy to wipe and free, or NULL */
	size_t		 buflen;
	uint64_t	 size;		/* BINARY.SIZE */
};

static int	 parse_item(struct imap_fetch *, const char *, size_t,
		    const char **);
static int	 parse_section(struct fetch_item *, const char *, size_t,
		    size_t *, int, struct mbuf *, const char **);
static int	 parse_fields(struct fetch_item *, const char *, size_t,
		    size_t *, struct mbuf *, const char **);
static int	 parse_number(const char *, size_t, size_t *, uint32_t *);
static int	 parse_modifiers(struct imap_fetch *, const struct imap_arg *,
		    const char **);
static int	 add_simple(struct imap_fetch *, const char *, size_t);
static int	 item_dup(const struct imap_fetch *,
		    const struct fetch_item *);
static void	 item_free(struct fetch_item *);
static int	 section_range(const char *, size_t, const char *,
		    const char **, size_t *);
static int	 src_range(const struct fetch_src *,
		    const struct fetch_item *, int, const char *,
		    const char **, size_t *);
static int	 sects_add(struct section *, uint32_t *,
		    const struct section *, uint32_t *);
static int	 fetch_write(const struct imap_fetch *, uint32_t,
		    const struct mbox_stream_msg *, const struct fetch_src *,
		    int, imap_out_fn, void *);
static int	 field_listed(const struct fetch_item *, const char *,
		    size_t);
static int	 fields_filter(const struct fetch_item *, const char *,
		    size_t, struct fetch_data *);
static int	 cte_of(const char *, size_t);
static int	 decode(int, const char *, size_t, struct mbuf *);
static int	 decoded_size(int, const char *, size_t, uint64_t *);
static int	 binary_whole(const char *, size_t, int,
		    struct fetch_data *);
static int	 binary_get(const struct fetch_item *,
		    const struct fetch_src *, struct fetch_data *);
static int	 gather(const struct fetch_item *,
		    const struct mbox_stream_msg *, const struct fetch_src *,
		    struct fetch_data *);
static void	 slice(const struct fetch_item *, struct fetch_data *);
static void	 put(imap_out_fn, void *, const char *);
static void	 put_num(imap_out_fn, void *, uint64_t);
static void	 put_literal(imap_out_fn, void *, const char *, size_t,
		    int);

/*
 * Parsing.
 */

int
imap_fetch_parse(const struct imap_arg *args, size_t nargs, int uid,
    struct imap_fetch **fp, const char **errp)
{
	struct imap_fetch	*f;
	const struct imap_arg	*a;
	size_t			 i, j, k;

	*fp = NULL;
	*errp = "Invalid FETCH arguments";
	if (args == NULL || nargs == 0) {
		*errp = "Missing FETCH items";
		return (-1);
	}
	if (nargs > 2)
		return (-1);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		*errp = "Out of memory";
		return (-1);
	}
	f->uid = uid;
	if (uid)
		f->flags |= IMAP_FETCH_UID;

	a = &args[0];
	if (a->type == IMAP_ARG_LIST) {
		if (a->nlist == 0) {
			*errp = "Empty FETCH item list";
			goto fail;
		}
		if (a->nlist > FETCH_ITEMS_MAX) {
			*errp = "Too many FETCH items";
			goto fail;
		}
		for (i = 0; i < a->nlist; i++) {
			if (a->list[i].type != IMAP_ARG_ATOM) {
				*errp = "Invalid FETCH item";
				goto fail;
			}
			for (k = 0; k < nitems(fetch_macros); k++)
				if (imap_arg_is(&a->list[i],
				    fetch_macros[k].name))
					break;
			if (k < nitems(fetch_macros)) {
				*errp = "FETCH macro inside a list";
				goto fail;
			}
			if (parse_item(f, a->list[i].str, a->list[i].len,
			    errp) == -1)
				goto fail;
		}
	} else if (a->type == IMAP_ARG_ATOM) {
		for (k = 0; k < nitems(fetch_macros); k++)
			if (imap_arg_is(a, fetch_macros[k].name))
				break;
		if (k < nitems(fetch_macros)) {
			for (j = 0; j < nitems(fetch_macros[k].items) &&
			    fetch_macros[k].items[j] != NULL; j++)
				if (add_simple(f, fetch_macros[k].items[j],
				    strlen(fetch_macros[k].items[j])) == -1)
					goto fail;
		} else if (parse_item(f, a->str, a->len, errp) == -1)
			goto fail;
	} else {
		*errp = "Invalid FETCH item";
		goto fail;
	}

	if (nargs == 2 && parse_modifiers(f, &args[1], errp) == -1)
		goto fail;

	*fp = f;
	return (0);

 fail:
	imap_fetch_free(f);
	return (-1);
}

/* (CHANGEDSINCE n) and (VANISHED), RFC 7162 3.1.4 and 3.2.6. */
static int
parse_modifiers(struct imap_fetch *f, const struct imap_arg *a,
    const char **errp)
{
	size_t		 i;
	uint64_t	 v;

	if (a->type != IMAP_ARG_LIST || a->nlist == 0) {
		*errp = "Invalid FETCH modifiers";
		return (-1);
	}
	for (i = 0; i < a->nlist; i++) {
		if (imap_arg_is(&a->list[i], "CHANGEDSINCE")) {
			if (f->changedsince != 0 || i + 1 >= a->nlist ||
			    imap_arg_number64(&a->list[i + 1], &v) == -1 ||
			    v == 0 || v > (uint64_t)INT64_MAX) {
				*errp = "Invalid CHANGEDSINCE";
				return (-1);
			}
			f->changedsince = v;
			i++;
		} else if (imap_arg_is(&a->list[i], "VANISHED")) {
			if (f->vanished) {
				*errp = "Invalid FETCH modifiers";
				return (-1);
			}
			f->vanished = 1;
		} else {
			*errp = "Unknown FETCH modifier";
			return (-1);
		}
	}
	if (f->vanished && (!f->uid || f->changedsince == 0)) {
		*errp = "VANISHED needs UID FETCH and CHANGEDSINCE";
		return (-1);
	}
	/* RFC 7162 3.1.4.1: CHANGEDSINCE makes every response show MODSEQ. */
	if (f->changedsince != 0)
		f->flags |= IMAP_FETCH_MODSEQ;
	return (0);
}

/* An item without a section: UID, FLAGS, ... RFC822.TEXT. */
static int
add_simple(struct imap_fetch *f, const char *s, size_t len)
{
	struct fetch_item	*it;
	size_t			 i, k;

	for (k = 0; k < nitems(fetch_simple); k++)
		if (strlen(fetch_simple[k].name) == len &&
		    strncasecmp(fetch_simple[k].name, s, len) == 0)
			break;
	if (k == nitems(fetch_simple))
		return (-1);
	f->flags |= fetch_simple[k].flags;
	for (i = 0; i < f->nitems; i++)
		if (f->items[i].kind == fetch_simple[k].kind)
			return (0);
	if (f->nitems >= FETCH_ITEMS_MAX)
		return (-1);
	it = &f->items[f->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = fetch_simple[k].kind;
	return (0);
}

static int
parse_item(struct imap_fetch *f, const char *s, size_t len,
    const char **errp)
{
	struct fetch_item	 it;
	struct mbuf		 name;
	const char		*br;
	size_t			 plen, i;
	int			 peek = 0;

	if (s == NULL || len == 0) {
		*errp = "Invalid FETCH item";
		return (-1);
	}
	if ((br = memchr(s, '[', len)) == NULL) {
		if (add_simple(f, s, len) == -1) {
			*errp = "Unknown FETCH item";
			return (-1);
		}
		return (0);
	}

	memset(&it, 0, sizeof(it));
	mbuf_init(&name, FETCH_NAME_MAX, 0);
	plen = (size_t)(br - s);
	if (plen == 4 && strncasecmp(s, "BODY", 4) == 0)
		it.kind = FK_SECTION;
	else if (plen == 9 && strncasecmp(s, "BODY.PEEK", 9) == 0) {
		it.kind = FK_SECTION;
		peek = 1;
	} else if (plen == 6 && strncasecmp(s, "BINARY", 6) == 0)
		it.kind = FK_BINARY;
	else if (plen == 11 && strncasecmp(s, "BINARY.PEEK", 11) == 0) {
		it.kind = FK_BINARY;
		peek = 1;
	} else if (plen == 11 && strncasecmp(s, "BINARY.SIZE", 11) == 0)
		it.kind = FK_BINARY_SIZE;
	else {
		*errp = "Unknown FETCH item";
		return (-1);
	}
	mbuf_adds(&name, it.kind == FK_SECTION ? "BODY[" :
	    it.kind == FK_BINARY ? "BINARY[" : "BINARY.SIZE[");

	i = plen + 1;
	if (parse_section(&it, s, len, &i, it.kind != FK_SECTION, &name,
	    errp) == -1)
		goto fail;
	mbuf_addc(&name, ']');

	if (i < len && s[i] == '<') {
		if (it.kind == FK_BINARY_SIZE) {
			*errp = "BINARY.SIZE takes no partial";
			goto fail;
		}
		i++;
		if (parse_number(s, len, &i, &it.origin) == -1 ||
		    i >= len || s[i] != '.')
			goto badpartial;
		i++;
		if (parse_number(s, len, &i, &it.count) == -1 ||
		    it.count == 0 || i >= len || s[i] != '>')
			goto badpartial;
		i++;
		it.partial = 1;
	}
	if (i != len) {
		*errp = "Invalid FETCH item";
		goto fail;
	}
	if ((it.name = mbuf_take(&name, &plen)) == NULL) {
		*errp = "Out of memory";
		goto fail;
	}

	f->flags |= IMAP_FETCH_RAW;
	if (!peek && it.kind != FK_BINARY_SIZE)
		f->flags |= IMAP_FETCH_SEEN;
	if (item_dup(f, &it)) {
		item_free(&it);
		return (0);
	}
	if (f->nitems >= FETCH_ITEMS_MAX) {
		*errp = "Too many FETCH items";
		goto fail;
	}
	f->items[f->nitems++] = it;
	return (0);

 badpartial:
	*errp = "Invalid partial range";
 fail:
	mbuf_free(&name);
	item_free(&it);
	return (-1);
}

/*
 * The section text after "[", up to and with the "]": section-spec
 * of RFC 9051, or with binary only a section-part (RFC 3516 4.2).
 * The normalised form is added to name; the spec for mime_section()
 * goes to it->spec.
 */
static int
parse_section(struct fetch_item *it, const char *s, size_t len, size_t *ip,
    int binary, struct mbuf *name, const char **errp)
{
	static const struct {
		const char	*kw;
		int		 text;
		const char	*spec;
	} kws[] = {
		{ "HEADER.FIELDS.NOT",	FT_FIELDS_NOT,	"HEADER" },
		{ "HEADER.FIELDS",	FT_FIELDS,	"HEADER" },
		{ "HEADER",		FT_HEADER,	"HEADER" },
		{ "TEXT",		FT_TEXT,	"TEXT" },
		{ "MIME",		FT_MIME,	"MIME" },
	};
	struct mbuf	 spec;
	size_t		 i = *ip, w, k;
	uint32_t	 v;
	int		 need_kw = 0;

	*errp = "Invalid section";
	mbuf_init(&spec, FETCH_SPEC_MAX, 0);

	while (i < len && s[i] >= '1' && s[i] <= '9') {
		if (parse_number(s, len, &i, &v) == -1 ||
		    ++it->nparts > FETCH_PARTS_MAX)
			goto fail;
		if (it->nparts > 1) {
			mbuf_addc(&spec, '.');
			mbuf_addc(name, '.');
		}
		mbuf_addnum(&spec, v);
		mbuf_addnum(name, v);
		if (i < len && s[i] == '.') {
			i++;
			if (i < len && s[i] >= '1' && s[i] <= '9')
				continue;
			need_kw = 1;
		}
		break;
	}

	if (need_kw || (it->nparts == 0 && i < len && s[i] != ']')) {
		for (w = i; w < len && s[w] != ' ' && s[w] != ']'; w++)
			;
		for (k = 0; k < nitems(kws); k++)
			if (strlen(kws[k].kw) == w - i &&
			    strncasecmp(kws[k].kw, s + i, w - i) == 0)
				break;
		if (k == nitems(kws) || (kws[k].text == FT_MIME &&
		    it->nparts == 0))
			goto fail;
		if (binary) {
			*errp = "BINARY takes only part numbers";
			goto fail;
		}
		it->text = kws[k].text;
		if (it->nparts > 0) {
			mbuf_addc(&spec, '.');
			mbuf_addc(name, '.');
		}
		mbuf_adds(&spec, kws[k].spec);
		mbuf_adds(name, kws[k].kw);
		i = w;
		if (it->text == FT_FIELDS || it->text == FT_FIELDS_NOT) {
			if (parse_fields(it, s, len, &i, name, errp) == -1)
				goto fail;
		}
	}
	if (i >= len || s[i] != ']')
		goto fail;
	if (spec.oom || spec.full || name->oom || name->full) {
		*errp = "Invalid section";
		goto fail;
	}
	if ((it->spec = mbuf_take(&spec, &w)) == NULL) {
		*errp = "Out of memory";
		goto fail;
	}
	*ip = i + 1;
	return (0);

 fail:
	mbuf_free(&spec);
	return (-1);
}

/*
 * SP "(" header-fld-name *(SP header-fld-name) ")": names as atoms or
 * quoted strings.  Only what can be a field name (RFC 5322 ftext) is
 * taken, so that every name written back is an atom or a plain quoted
 * string.
 */
static int
parse_fields(struct fetch_item *it, const char *s, size_t len, size_t *ip,
    struct mbuf *name, const char **errp)
{
	struct mbuf	 fl;
	char		 fn[FETCH_FIELD_LEN + 1];
	size_t		 i = *ip, n, k;
	int		 quoted, needq;
	unsigned char	 c;

	*errp = "Invalid header field list";
	if (i + 1 >= len || s[i] != ' ' || s[i + 1] != '(')
		return (-1);
	i += 2;
	mbuf_init(&fl, FETCH_FIELDS_MAX * (FETCH_FIELD_LEN + 1), 0);
	mbuf_adds(name, " (");
	for (;;) {
		n = 0;
		quoted = 0;
		if (i < len && s[i] == '"') {
			quoted = 1;
			i++;
		}
		while (i < len) {
			c = (unsigned char)s[i];
			if (quoted) {
				if (c == '"')
					break;
				if (c == '\\' && i + 1 < len &&
				    (s[i + 1] == '"' || s[i + 1] == '\\'))
					c = (unsigned char)s[++i];
				else if (c == '\\')
					goto fail;
			} else if (c == ' ' || c == ')' || c == '(' ||
			    c == ']' || c == '"' || c == '{' || c == '\\' ||
			    c == '%' || c == '*')
				break;
			if (c < 33 || c > 126 || c == ':' ||
			    n >= FETCH_FIELD_LEN)
				goto fail;
			fn[n++] = (char)mime_upper(c);
			i++;
		}
		if (quoted) {
			if (i >= len)
				goto fail;
			i++;
		}
		if (n == 0)
			goto fail;
		fn[n] = '\0';
		if (++it->nfields > FETCH_FIELDS_MAX) {
			*errp = "Too many header fields";
			goto fail;
		}
		mbuf_add(&fl, fn, n + 1);

		if (it->nfields > 1)
			mbuf_addc(name, ' ');
		needq = strpbrk(fn, "()]{%*\"\\") != NULL;
		if (needq)
			mbuf_addc(name, '"');
		for (k = 0; k < n; k++) {
			if (fn[k] == '"' || fn[k] == '\\')
				mbuf_addc(name, '\\');
			mbuf_addc(name, fn[k]);
		}
		if (needq)
			mbuf_addc(name, '"');

		if (i < len && s[i] == ' ') {
			i++;
			continue;
		}
		if (i < len && s[i] == ')') {
			i++;
			break;
		}
		goto fail;
	}
	mbuf_addc(name, ')');
	if (fl.oom || fl.full) {
		*errp = "Out of memory";
		goto fail;
	}
	if ((it->fields = mbuf_take(&fl, &n)) == NULL) {
		*errp = "Out of memory";
		goto fail;
	}
	*ip = i;
	return (0);

 fail:
	mbuf_free(&fl);
	return (-1);
}

/* number (RFC 9051): digits, at most 4294967295. */
static int
parse_number(const char *s, size_t len, size_t *ip, uint32_t *vp)
{
	uint64_t	 v = 0;
	size_t		 i = *ip, k = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (++k > 10)
			return (-1);
		v = v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	if (k == 0 || v > UINT32_MAX)
		return (-1);
	*ip = i;
	*vp = (uint32_t)v;
	return (0);
}

/* Is the same response item already asked for? */
static int
item_dup(const struct imap_fetch *f, const struct fetch_item *it)
{
	const struct fetch_item	*o;
	size_t			 i;

	for (i = 0; i < f->nitems; i++) {
		o = &f->items[i];
		if (o->kind != it->kind || o->name == NULL ||
		    strcmp(o->name, it->name) != 0 ||
		    o->partial != it->partial)
			continue;
		if (!it->partial || (o->origin == it->origin &&
		    o->count == it->count))
			return (1);
	}
	return (0);
}

static void
item_free(struct fetch_item *it)
{
	free(it->spec);
	free(it->name);
	free(it->fields);
	memset(it, 0, sizeof(*it));
}

void
imap_fetch_free(struct imap_fetch *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nitems; i++)
		item_free(&f->items[i]);
	free(f);
}

unsigned int
imap_fetch_flags(const struct imap_fetch *f)
{
	return (f->flags);
}

uint64_t
imap_fetch_changedsince(const struct imap_fetch *f)
{
	return (f->changedsince);
}

int
imap_fetch_vanished(const struct imap_fetch *f)
{
	return (f->vanished);
}

/*
 * Contents.
 */

/*
 * The range of a section in the message; a section that does not
 * exist (or that names a part no message can have) is empty, with p
 * NULL.  -1 only for ENOMEM.
 */
static int
section_range(const char *raw, size_t rawlen, const char *spec,
    const char **pp, size_t *np)
{
	size_t	 off, n;

	*pp = NULL;
	*np = 0;
	if (mime_section(raw, rawlen, spec, &off, &n) == -1)
		return (errno == ENOMEM ? -1 : 0);
	if (raw == NULL || off > rawlen || n > rawlen - off)
		return (0);
	*pp = raw + off;
	*np = n;
	return (0);
}

/*
 * The range of an item's k-th section (0: the section, 1: its part's
 * MIME header, for BINARY) in src; p NULL when it does not exist.
 * spec is the section as mime_section() takes it, for a raw src.
 */
static int
src_range(const struct fetch_src *src, const struct fetch_item *it, int k,
    const char *spec, const char **pp, size_t *np)
{
	const struct mbox_section_view	*v;

	if (src->v == NULL)
		return (section_range(src->raw, src->rawlen, spec, pp, np));
	*pp = NULL;
	*np = 0;
	if (k >= it->sn || it->sidx[k] >= src->nv)
		return (0);
	v = &src->v[it->sidx[k]];
	if (!v->found)
		return (0);
	/* Found and empty is "", not absent. */
	*pp = v->p != NULL ? v->p : "";
	*np = v->len;
	return (0);
}

/* Add s to the list (equal ones once); its index to *ip. */
static int
sects_add(struct section *list, uint32_t *np, const struct section *s,
    uint32_t *ip)
{
	uint32_t	 i;

	for (i = 0; i < *np; i++)
		if (memcmp(&list[i], s, sizeof(*s)) == 0)
			break;
	if (i == *np) {
		if (*np >= MBOX_SECTIONS_MAX)
			return (-1);
		list[(*np)++] = *s;
	}
	*ip = i;
	return (0);
}

int
imap_fetch_sections(struct imap_fetch *f, struct section *list,
    uint32_t *np)
{
	struct fetch_item	*it;
	struct section		 s;
	const char		*spec;
	size_t			 i;
	int			 useful = 0;

	*np = 0;
	for (i = 0; i < f->nitems; i++) {
		it = &f->items[i];
		it->sn = 0;
		it->pushed = 0;
		switch (it->kind) {
		case FK_RFC822:
			spec = "";
			break;
		case FK_RFC822_HEADER:
			spec = "HEADER";
			break;
		case FK_RFC822_TEXT:
			spec = "TEXT";
			break;
		case FK_SECTION:
		case FK_BINARY:
		case FK_BINARY_SIZE:
			spec = it->spec;
			break;
		default:
			continue;
		}
		/* BINARY[] rewrites the header: it needs the message. */
		if (it->kind != FK_SECTION && it->kind != FK_RFC822 &&
		    it->kind != FK_RFC822_HEADER &&
		    it->kind != FK_RFC822_TEXT && it->nparts == 0)
			return (-1);
		if (section_parse(spec, &s) == -1)
			return (-1);
		/*
		 * A partial goes along when it applies to the octets as
		 * they are: not after HEADER.FIELDS filtering nor after
		 * BINARY decoding.
		 */
		if (it->kind == FK_SECTION && it->partial &&
		    it->text != FT_FIELDS && it->text != FT_FIELDS_NOT) {
			s.origin = it->origin;
			s.count = it->count;
			it->pushed = 1;
		}
		if (s.nparts > 0 || s.text != SECTION_ALL || s.count != 0)
			useful = 1;
		if (sects_add(list, np, &s, &it->sidx[it->sn++]) == -1)
			return (-1);
		if (it->kind == FK_BINARY || it->kind == FK_BINARY_SIZE) {
			/* The part's own header says its encoding. */
			s.text = SECTION_MIME;
			if (sects_add(list, np, &s, &it->sidx[it->sn++]) == -1)
				return (-1);
		}
	}
	return (useful && *np > 0 ? 0 : -1);
}

static int
field_listed(const struct fetch_item *it, const char *name, size_t len)
{
	const char	*f = it->fields;
	size_t		 i, flen;

	for (i = 0; i < it->nfields; i++) {
		flen = strlen(f);
		if (flen == len && strncasecmp(f, name, len) == 0)
			return (1);
		f += flen + 1;
	}
	return (0);
}

/*
 * HEADER.FIELDS and HEADER.FIELDS.NOT: the fields of the header at
 * [hdr, hdr + n) whose names are (or are not) listed, each with its
 * continuation lines, then the empty line (RFC 9051 6.4.5).  A line
 * without a field name counts as an unlisted field.
 */
static int
fields_filter(const struct fetch_item *it, const char *hdr, size_t n,
    struct fetch_data *d)
{
	struct mime_hiter	 hi;
	struct mime_hfield	 hf;
	struct mbuf		 b;
	size_t			 start;
	int			 listed;

	mbuf_init(&b, n + 8, 0);
	mime_hiter_init(&hi, hdr, 0, n);
	for (;;) {
		start = hi.pos;
		if (!mime_hiter_next(&hi, &hf))
			break;
		listed = hf.name != NULL &&
		    field_listed(it, hf.name, hf.namelen);
		if (listed != (it->text == FT_FIELDS))
			continue;
		mbuf_add(&b, hdr + start, hi.pos - start);
		if (hi.pos > start && hdr[hi.pos - 1] != '\n')
			mbuf_add(&b, "\r\n", 2);
	}
	mbuf_add(&b, "\r\n", 2);
	if (b.oom || b.full) {
		mbuf_free(&b);
		errno = ENOMEM;
		return (-1);
	}
	if ((d->buf = mbuf_take(&b, &d->buflen)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	d->p = d->buf;
	d->n = d->buflen;
	return (0);
}

/*
 * The transfer encoding a header declares (RFC 2045 6): CTE_RAW for
 * the identity ones (7bit, 8bit, binary, none given), CTE_BASE64,
 * CTE_QP, or -1 for any other (RFC 3516 4.3: UNKNOWN-CTE).
 */
static int
cte_of(const char *hdr, size_t n)
{
	struct mime_hiter	 hi;
	struct mime_hfield	 hf;
	char			 tok[32];
	size_t			 i;

	if (hdr == NULL || n == 0)
		return (CTE_RAW);
	mime_hiter_init(&hi, hdr, 0, n);
	while (mime_hiter_next(&hi, &hf)) {
		if (hf.name == NULL || hf.namelen != 25 ||
		    strncasecmp(hf.name, "Content-Transfer-Encoding", 25) != 0)
			continue;
		i = mime_skip_cfws(hf.value, hf.valuelen, 0);
		if (i >= hf.valuelen)
			return (CTE_RAW);
		if (mime_token(hf.value, hf.valuelen, &i, tok,
		    sizeof(tok)) == -1)
			return (-1);
		if (strcasecmp(tok, "7bit") == 0 ||
		    strcasecmp(tok, "8bit") == 0 ||
		    strcasecmp(tok, "binary") == 0)
			return (CTE_RAW);
		if (strcasecmp(tok, "base64") == 0)
			return (CTE_BASE64);
		if (strcasecmp(tok, "quoted-printable") == 0)
			return (CTE_QP);
		return (-1);
	}
	return (CTE_RAW);
}

/* Decoding never makes data longer: n octets are room enough. */
static int
decode(int kind, const char *s, size_t n, struct mbuf *b)
{
	struct mime_cte	 c;

	mime_cte_init(&c, kind);
	mime_cte_feed(&c, s, n, 1, b);
	if (b->oom || b->full) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/* The decoded length, without holding the decoded data. */
static int
decoded_size(int kind, const char *s, size_t n, uint64_t *sizep)
{
	struct mime_cte	 c;
	struct mbuf	 b;
	size_t		 off = 0, take;
	uint64_t	 total = 0;

	mbuf_init(&b, FETCH_CHUNK + 16, 0);
	mime_cte_init(&c, kind);
	do {
		take = n - off > FETCH_CHUNK ? FETCH_CHUNK : n - off;
		mime_cte_feed(&c, s + off, take, off + take == n, &b);
		if (b.oom || b.full) {
			freezero(b.p, b.cap);
			errno = ENOMEM;
			return (-1);
		}
		total += b.len;
		if (b.p != NULL)
			explicit_bzero(b.p, b.cap);
		mbuf_reset(&b);
		off += take;
	} while (off < n);
	freezero(b.p, b.cap);
	*sizep = total;
	return (0);
}

/*
 * BINARY[]: the whole message.  When its body is encoded, the header
 * is given with its Content-Transfer-Encoding fields replaced by
 * "binary", so that what the client gets describes itself.
 */
static int
binary_whole(const char *raw, size_t rawlen, int sizeonly,
    struct fetch_data *d)
{
	struct mime_hiter	 hi;
	struct mime_hfield	 hf;
	struct mbuf		 b;
	const char		*hdr, *body;
	size_t			 hn, bn, start, off;
	int			 kind;

	if (section_range(raw, rawlen, "HEADER", &hdr, &hn) == -1 ||
	    section_range(raw, rawlen, "TEXT", &body, &bn) == -1)
		return (-1);
	if ((kind = cte_of(hdr, hn)) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (kind == CTE_RAW || hdr == NULL) {
		d->p = raw;
		d->n = raw != NULL ? rawlen : 0;
		d->size = d->n;
		return (0);
	}

	mbuf_init(&b, hn + bn + 64, 0);
	off = (size_t)(hdr - raw);
	mime_hiter_init(&hi, raw, off, off + hn);
	for (;;) {
		start = hi.pos;
		if (!mime_hiter_next(&hi, &hf))
			break;
		if (hf.name != NULL && hf.namelen == 25 &&
		    strncasecmp(hf.name, "Content-Transfer-Encoding",
		    25) == 0)
			continue;
		mbuf_add(&b, raw + start, hi.pos - start);
		if (hi.pos > start && raw[hi.pos - 1] != '\n')
			mbuf_add(&b, "\r\n", 2);
	}
	mbuf_adds(&b, "Content-Transfer-Encoding: binary\r\n\r\n");
	if (body != NULL && decode(kind, body, bn, &b) == -1) {
		freezero(b.p, b.cap);
		return (-1);
	}
	if (b.oom || b.full) {
		freezero(b.p, b.cap);
		errno = ENOMEM;
		return (-1);
	}
	if (sizeonly) {
		d->size = b.len;
		freezero(b.p, b.cap);
		return (0);
	}
	if ((d->buf = mbuf_take(&b, &d->buflen)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	d->p = d->buf;
	d->n = d->size = d->buflen;
	return (0);
}

/* BINARY[part] and BINARY.SIZE[part]: the part's body, decoded. */
static int
binary_get(const struct fetch_item *it, const struct fetch_src *src,
    struct fetch_data *d)
{
	struct mbuf	 b;
	char		 mspec[FETCH_SPEC_MAX + 8];
	const char	*hdr, *body;
	size_t		 hn, bn;
	int		 kind;

	if (it->nparts == 0)
		return (binary_whole(src->raw, src->v == NULL ? src->rawlen :
		    0, it->kind == FK_BINARY_SIZE, d));
	if (src_range(src, it, 0, it->spec, &body, &bn) == -1)
		return (-1);
	if (body == NULL)
		return (0);
	/* The part's own header says how its body is encoded. */
	(void)snprintf(mspec, sizeof(mspec), "%s.MIME", it->spec);
	if (src_range(src, it, 1, mspec, &hdr, &hn) == -1)
		return (-1);
	if ((kind = cte_of(hdr, hn)) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (kind == CTE_RAW) {
		d->p = body;
		d->n = d->size = bn;
		return (0);
	}
	if (it->kind == FK_BINARY_SIZE)
		return (decoded_size(kind, body, bn, &d->size));

	mbuf_init(&b, bn + 16, 0);
	if (decode(kind, body, bn, &b) == -1) {
		freezero(b.p, b.cap);
		return (-1);
	}
	if ((d->buf = mbuf_take(&b, &d->buflen)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	d->p = d->buf;
	d->n = d->size = d->buflen;
	return (0);
}

/* <origin.count>: a past-the-end origin gives the empty string. */
static void
slice(const struct fetch_item *it, struct fetch_data *d)
{
	if (!it->partial)
		return;
	if (it->origin >= d->n) {
		d->p = NULL;
		d->n = 0;
		return;
	}
	d->p += it->origin;
	d->n -= it->origin;
	if (d->n > it->count)
		d->n = it->count;
}

/* An item's content; -1 with errno EINVAL (unknown CTE) or ENOMEM. */
static int
gather(const struct fetch_item *it, const struct mbox_stream_msg *m,
    const struct fetch_src *src, struct fetch_data *d)
{
	const char	*hdr;
	size_t		 hn;
	int		 r = 0;

	switch (it->kind) {
	case FK_BODY:
		/* A stored structure mime_body() cannot read: the fallback. */
		d->p = FETCH_NO_BODY;
		d->n = strlen(FETCH_NO_BODY);
		if (m->bodystructure == NULL || m->bslen == 0)
			break;
		if (mime_body(m->bodystructure, m->bslen, &d->buf,
		    &d->buflen) == 0) {
			d->p = d->buf;
			d->n = d->buflen;
		} else if (errno == ENOMEM)
			r = -1;
		break;
	case FK_RFC822:
		if (src->v == NULL) {
			d->p = src->raw;
			d->n = src->raw != NULL ? src->rawlen : 0;
		} else
			r = src_range(src, it, 0, "", &d->p, &d->n);
		break;
	case FK_RFC822_HEADER:
		r = src_range(src, it, 0, "HEADER", &d->p, &d->n);
		break;
	case FK_RFC822_TEXT:
		r = src_range(src, it, 0, "TEXT", &d->p, &d->n);
		break;
	case FK_SECTION:
		if ((r = src_range(src, it, 0, it->spec, &hdr, &hn)) == -1)
			break;
		if (hdr != NULL && (it->text == FT_FIELDS ||
		    it->text == FT_FIELDS_NOT))
			r = fields_filter(it, hdr, hn, d);
		else {
			d->p = hdr;
			d->n = hn;
		}
		/* The vault cut a partial it was given. */
		if (r == 0 && (src->v == NULL || !it->pushed))
			slice(it, d);
		break;
	case FK_BINARY:
	case FK_BINARY_SIZE:
		if ((r = binary_get(it, src, d)) == 0)
			slice(it, d);
		break;
	default:
		break;
	}
	return (r);
}

/*
 * Writing.
 */

static void
put(imap_out_fn out, void *arg, const char *s)
{
	out(arg, s, strlen(s));
}

static void
put_num(imap_out_fn out, void *arg, uint64_t v)
{
	char	 num[24];
	int	 n;

	n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	if (n > 0 && (size_t)n < sizeof(num))
		out(arg, num, (size_t)n);
}

/*
 * Body contents go as literals, even short ones, since they may hold
 * line ends; the empty string is "".  lit8 allows "~{n}" (RFC 3516
 * 4.3) when the octets hold a NUL.
 */
static void
put_literal(imap_out_fn out, void *arg, const char *p, size_t n, int lit8)
{
	const char	*nul;
	char		 c = (char)0x80;

	if (n == 0 || p == NULL) {
		put(out, arg, "\"\"");
		return;
	}
	nul = memchr(p, '\0', n);
	put(out, arg, lit8 && nul != NULL ? "~{" : "{");
	put_num(out, arg, n);
	put(out, arg, "}\r\n");
	if (lit8 || nul == NULL) {
		out(arg, p, n);
		return;
	}
	/*
	 * A literal may not hold NUL (RFC 9051 4.3): a message stored
	 * with one (APPEND of a literal8) shows 0x80 there, as Dovecot
	 * does; BINARY gives the octets as they are.
	 */
	while (nul != NULL) {
		out(arg, p, (size_t)(nul - p));
		out(arg, &c, 1);
		n -= (size_t)(nul - p) + 1;
		p = nul + 1;
		nul = n > 0 ? memchr(p, '\0', n) : NULL;
	}
	if (n > 0)
		out(arg, p, n);
}

int
imap_fetch_write(const struct imap_fetch *f, uint32_t seq,
    const struct mbox_stream_msg *m, const char *raw, size_t rawlen,
    int flags_seen, int utf8, imap_out_fn out, void *arg)
{
	struct fetch_src	 src;

	/* Strings written here are never quoted 8-bit: utf8 is moot. */
	(void)utf8;
	memset(&src, 0, sizeof(src));
	src.raw = raw;
	src.rawlen = raw != NULL ? rawlen : 0;
	return (fetch_write(f, seq, m, &src, flags_seen, out, arg));
}

int
imap_fetch_write_sections(const struct imap_fetch *f, uint32_t seq,
    const struct mbox_stream_msg *m, const struct mbox_section_view *v,
    uint32_t nv, int flags_seen, int utf8, imap_out_fn out, void *arg)
{
	struct fetch_src	 src;

	(void)utf8;
	memset(&src, 0, sizeof(src));
	src.v = v;
	src.nv = nv;
	return (fetch_write(f, seq, m, &src, flags_seen, out, arg));
}

static int
fetch_write(const struct imap_fetch *f, uint32_t seq,
    const struct mbox_stream_msg *m, const struct fetch_src *src,
    int flags_seen, imap_out_fn out, void *arg)
{
	struct fetch_data	 d[FETCH_ITEMS_MAX];
	const struct fetch_item	*it;
	char			 date[IMAP_DATETIME_LEN];
	size_t			 i;
	int			 first = 1, asked_flags = 0, asked_modseq = 0;
	int			 save;

	memset(d, 0, sizeof(d));
	for (i = 0; i < f->nitems; i++) {
		if (gather(&f->items[i], m, src, &d[i]) == -1) {
			save = errno;
			for (i = 0; i < f->nitems; i++)
				if (d[i].buf != NULL)
					freezero(d[i].buf, d[i].buflen);
			errno = save;
			return (-1);
		}
	}

	put(out, arg, "* ");
	put_num(out, arg, seq);
	put(out, arg, " FETCH (");
	if (f->uid) {
		put(out, arg, "UID ");
		put_num(out, arg, m->uid);
		first = 0;
	}
	for (i = 0; i < f->nitems; i++) {
		it = &f->items[i];
		if (it->kind == FK_UID && f->uid)
			continue;
		if (!first)
			put(out, arg, " ");
		first = 0;
		switch (it->kind) {
		case FK_UID:
			put(out, arg, "UID ");
			put_num(out, arg, m->uid);
			break;
		case FK_FLAGS:
			asked_flags = 1;
			put(out, arg, "FLAGS (");
			imap_flags_write(m->flags, m->keywords, out, arg);
			put(out, arg, ")");
			break;
		case FK_INTERNALDATE:
			imap_format_datetime(m->internaldate, date);
			put(out, arg, "INTERNALDATE \"");
			put(out, arg, date);
			put(out, arg, "\"");
			break;
		case FK_RFC822_SIZE:
			put(out, arg, "RFC822.SIZE ");
			put_num(out, arg, m->size);
			break;
		case FK_ENVELOPE:
			put(out, arg, "ENVELOPE ");
			if (m->envelope != NULL && m->envlen > 0)
				out(arg, m->envelope, m->envlen);
			else
				put(out, arg, FETCH_NO_ENVELOPE);
			break;
		case FK_BODY:
			put(out, arg, "BODY ");
			out(arg, d[i].p, d[i].n);
			break;
		case FK_BODYSTRUCTURE:
			put(out, arg, "BODYSTRUCTURE ");
			if (m->bodystructure != NULL && m->bslen > 0)
				out(arg, m->bodystructure, m->bslen);
			else
				put(out, arg, FETCH_NO_BODY);
			break;
		case FK_MODSEQ:
			asked_modseq = 1;
			put(out, arg, "MODSEQ (");
			put_num(out, arg, m->modseq);
			put(out, arg, ")");
			break;
		case FK_RFC822:
			put(out, arg, "RFC822 ");
			put_literal(out, arg, d[i].p, d[i].n, 0);
			break;
		case FK_RFC822_HEADER:
			put(out, arg, "RFC822.HEADER ");
			put_literal(out, arg, d[i].p, d[i].n, 0);
			break;
		case FK_RFC822_TEXT:
			put(out, arg, "RFC822.TEXT ");
			put_literal(out, arg, d[i].p, d[i].n, 0);
			break;
		case FK_SECTION:
		case FK_BINARY:
			/*
			 * A partial BINARY has its <origin> too, as BODY[]
			 * does: RFC 9051 7.5.2 writes BINARY[...]<<number>>
			 * (its ABNF lacks it), and a client matching the
			 * answer to a partial request needs it.
			 */
			put(out, arg, it->name);
			if (it->partial) {
				put(out, arg, "<");
				put_num(out, arg, it->origin);
				put(out, arg, ">");
			}
			put(out, arg, " ");
			put_literal(out, arg, d[i].p, d[i].n,
			    it->kind == FK_BINARY);
			break;
		case FK_BINARY_SIZE:
			put(out, arg, it->name);
			put(out, arg, " ");
			put_num(out, arg, d[i].size);
			break;
		}
	}
	if (flags_seen && !asked_flags) {
		if (!first)
			put(out, arg, " ");
		first = 0;
		put(out, arg, "FLAGS (");
		imap_flags_write(m->flags, m->keywords, out, arg);
		put(out, arg, ")");
	}
	if ((f->flags & IMAP_FETCH_MODSEQ) && !asked_modseq) {
		if (!first)
			put(out, arg, " ");
		put(out, arg, "MODSEQ (");
		put_num(out, arg, m->modseq);
		put(out, arg, ")");
	}
	put(out, arg, ")\r\n");

	for (i = 0; i < f->nitems; i++)
		if (d[i].buf != NULL)
			freezero(d[i].buf, d[i].buflen);
	return (0);
}
