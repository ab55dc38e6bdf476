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
 * The MIME parser: a corpus of tricky messages (regress/unit/mime/NAME.eml)
 * each with the exact ENVELOPE, BODYSTRUCTURE, BODY, search fields, text
 * and section ranges it must give (NAME.expect); the limits (sections
 * never over their bundle maximum, simpler structures when they would
 * be); the stream decoders fed in pieces; dates; a bundle made from a
 * result and read back; and a bounded, seeded fuzz loop over mutations
 * of the corpus that checks every result is well-formed.
 *
 * NAME.expect has one "KEY value" a line; %XX in a value is the octet XX
 * (CR, LF, "%" and the octets of values that are not UTF-8 are written
 * so).  Keys: ENVELOPE, BODYSTRUCTURE, BODY, SUBJECT, FROM, TO, CC, BCC,
 * MESSAGEID, DATE, HEADERS, TEXT, and "SECTION spec value" where value
 * "!ENOENT" or "!EINVAL" is the expected failure.  Lines with # are
 * comments.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "log.h"
#define MIME_INTERNAL
#include "mime.h"
#include "test.h"

TEST_GLOBALS;

#define CORPUS		"regress/unit/mime"
#define FILE_MAX	(4 * 1024 * 1024)
#define FUZZ_ROUNDS	30000
#define FUZZ_MIN_ROUNDS	1000	/* always, however slow the machine */
#define FUZZ_SECONDS	4	/* then more while time allows */

struct file {
	char	*p;
	size_t	 n;
};

static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t	 rng(void);
static int	 read_file(const char *, struct file *);
static size_t	 unescape(const char *, char *);
static void	 fail_diff(const char *, const char *, const char *, size_t,
		    const char *, size_t);
static int	 utf8_ok(const char *, size_t);
static size_t	 imap_nstring(const char *, size_t, size_t);
static size_t	 imap_addrs(const char *, size_t, size_t);
static int	 envelope_ok(const char *, size_t);
static void	 check_sane(const char *, size_t, const struct mime_result *);
static void	 check_expect(const char *, const struct file *,
		    const struct file *);
static int	 parse_ok(const char *, size_t, struct mime_result *);
static char	*repeat(const char *, size_t, size_t *);
static void	 feed_split(int, const char *, size_t, const char *, size_t);
static size_t	 count(const char *, const char *);

static void	 test_corpus(void);
static void	 test_empty(void);
static void	 test_bundle(void);
static void	 test_many_addresses(void);
static void	 test_many_parts(void);
static void	 test_bodystructure_fallback(void);
static void	 test_text_limit(void);
static void	 test_field_limits(void);
static void	 test_streams(void);
static void	 test_dates(void);
static void	 test_body(void);
static void	 test_fuzz(void);

/* xorshift64*: a fixed sequence for a fixed seed. */
static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32));
}

static int
read_file(const char *path, struct file *f)
{
	FILE	*fp;
	size_t	 n;

	f->p = NULL;
	f->n = 0;
	if ((fp = fopen(path, "rb")) == NULL)
		return (-1);
	if ((f->p = malloc(FILE_MAX + 1)) == NULL) {
		fclose(fp);
		return (-1);
	}
	n = fread(f->p, 1, FILE_MAX, fp);
	fclose(fp);
	f->p[n] = '\0';
	f->n = n;
	return (0);
}

/* %XX to octets, in place into out; returns the length. */
static size_t
unescape(const char *s, char *out)
{
	size_t		 n = 0;
	unsigned int	 v;

	while (*s != '\0') {
		if (s[0] == '%' && sscanf(s + 1, "%2x", &v) == 1 &&
		    s[1] != '\0' && s[2] != '\0') {
			out[n++] = (char)v;
			s += 3;
		} else
			out[n++] = *s++;
	}
	out[n] = '\0';
	return (n);
}

/* Report where two strings first differ, then fail the test. */
static void
fail_diff(const char *name, const char *key, const char *got, size_t gl,
    const char *want, size_t wl)
{
	size_t	 i, from;

	for (i = 0; i < gl && i < wl && got[i] == want[i]; i++)
		;
	from = i > 40 ? i - 40 : 0;
	snprintf(test_why, sizeof(test_why), "%s %s differs at %zu: "
	    "got \"%.*s\" want \"%.*s\"", name, key, i,
	    (int)(gl - from < 100 ? gl - from : 100), got + from,
	    (int)(wl - from < 100 ? wl - from : 100), want + from);
	longjmp(test_jmp, 1);
}

static int
utf8_ok(const char *s, size_t n)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, k, need;
	uint32_t		 cp;

	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (u[i] >= 0xc2 && u[i] <= 0xdf)
			need = 1;
		else if (u[i] >= 0xe0 && u[i] <= 0xef)
			need = 2;
		else if (u[i] >= 0xf0 && u[i] <= 0xf4)
			need = 3;
		else
			return (0);
		if (n - i <= need)
			return (0);
		cp = u[i] & (0x3f >> need);
		for (k = 1; k <= need; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += need + 1;
	}
	return (1);
}

/*
 * An independent reader of the ENVELOPE grammar (RFC 9051 9): nstring is
 * NIL, a quoted string or a literal.  Returns the index after, or 0.
 */
static size_t
imap_nstring(const char *s, size_t n, size_t i)
{
	size_t	 len = 0;

	if (n - i >= 3 && memcmp(s + i, "NIL", 3) == 0)
		return (i + 3);
	if (i < n && s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0' ||
			    (unsigned char)s[i] >= 0x80)
				return (0);
			if (s[i] == '\\') {
				if (i + 1 >= n || (s[i + 1] != '"' &&
				    s[i + 1] != '\\'))
					return (0);
				i++;
			}
		}
		return (i < n ? i + 1 : 0);
	}
	if (i < n && s[i] == '{') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			len = len * 10 + (size_t)(s[i] - '0');
		if (n - i < 3 || memcmp(s + i, "}\r\n", 3) != 0 ||
		    n - i - 3 < len)
			return (0);
		return (i + 3 + len);
	}
	return (0);
}

/* NIL or ((name adl mailbox host)...), groups balanced. */
static size_t
imap_addrs(const char *s, size_t n, size_t i)
{
	size_t	 f, start;
	int	 group = 0, nils;

	if (n - i >= 3 && memcmp(s + i, "NIL", 3) == 0)
		return (i + 3);
	if (i >= n || s[i] != '(')
		return (0);
	for (i++; i < n && s[i] == '(';) {
		i++;
		nils = 0;
		for (f = 0; f < 4; f++) {
			if (f > 0 && (i >= n || s[i++] != ' '))
				return (0);
			start = i;
			if ((i = imap_nstring(s, n, i)) == 0)
				return (0);
			if (i - start == 3 && memcmp(s + start, "NIL", 3) == 0)
				nils |= 1 << f;
		}
		if (i >= n || s[i++] != ')')
			return (0);
		if (nils == 0xf) {
			if (!group)
				return (0);
			group = 0;
		} else if (nils == (1 | 2 | 8)) {
			if (group)
				return (0);
			group = 1;
		} else if (nils & (4 | 8))
			return (0);	/* mailbox and host are filled */
	}
	if (group || i >= n || s[i] != ')' || s[i - 1] == '(')
		return (0);
	return (i + 1);
}

static int
envelope_ok(const char *s, size_t n)
{
	size_t	 i = 0, f;

	if (n < 2 || s[0] != '(' || s[n - 1] != ')')
		return (0);
	i = 1;
	for (f = 0; f < 10; f++) {
		if (f > 0 && (i >= n || s[i++] != ' '))
			return (0);
		if (f >= 2 && f <= 7)
			i = imap_addrs(s, n, i);
		else
			i = imap_nstring(s, n, i);
		if (i == 0)
			return (0);
	}
	return (i == n - 1);
}

/* What every result must be, whatever the input. */
static void
check_sane(const char *msg, size_t len, const struct mime_result *r)
{
	struct bundle	 b;
	char		*body;
	size_t		 bl, i;
	const char	*fields[] = { r->subject, r->from, r->to, r->cc, r->bcc,
			    r->messageid };
	size_t		 flens[] = { r->subject_len, r->from_len, r->to_len,
			    r->cc_len, r->bcc_len, r->messageid_len };

	CHECK(r->envelope != NULL && strlen(r->envelope) == r->envelope_len);
	CHECK(r->bodystructure != NULL &&
	    strlen(r->bodystructure) == r->bodystructure_len);
	CHECK(r->headers != NULL && strlen(r->headers) == r->headers_len);
	CHECK(r->text != NULL && strlen(r->text) == r->text_len);
	CHECK(r->envelope_len <= BUNDLE_META_MAX);
	CHECK(r->bodystructure_len <= BUNDLE_META_MAX);
	CHECK(r->headers_len <= BUNDLE_META_MAX);
	CHECK(r->text_len <= BUNDLE_TEXT_MAX);
	CHECK(utf8_ok(r->headers, r->headers_len));
	CHECK(utf8_ok(r->text, r->text_len));
	for (i = 0; i < nitems(fields); i++) {
		CHECK(fields[i] != NULL && strlen(fields[i]) == flens[i]);
		CHECK(flens[i] <= BUNDLE_FIELD_MAX);
		CHECK(utf8_ok(fields[i], flens[i]));
		CHECK(strpbrk(fields[i], "\r\n\t") == NULL);
	}
	CHECK(r->sentdate >= 0 && r->sentdate <= (INT64_C(1) << 40));
	CHECK(envelope_ok(r->envelope, r->envelope_len));
	/* mime_body reads the BODYSTRUCTURE grammar strictly. */
	CHECK(mime_body(r->bodystructure, r->bodystructure_len, &body,
	    &bl) == 0);
	CHECK(bl <= r->bodystructure_len && body[0] == '(');
	free(body);
	if (len > 0) {
		CHECK(mime_to_bundle(r, msg, len, 1, &b) == 0);
		CHECK(b.len[BUNDLE_RAW] == len &&
		    b.sec[BUNDLE_TEXT] == r->text);
	}
}

static int
parse_ok(const char *msg, size_t len, struct mime_result *r)
{
	if (mime_parse(msg, len, r) == -1)
		return (0);
	check_sane(msg, len, r);
	return (1);
}

/* Compare a result with the lines of its .expect file. */
static void
check_expect(const char *name, const struct file *eml,
    const struct file *exp)
{
	static const struct {
		const char	*key;
		size_t		 off;
		size_t		 lenoff;
	} keys[] = {
#define K(k, f) { k, offsetof(struct mime_result, f), \
	offsetof(struct mime_result, f ## _len) }
		K("ENVELOPE", envelope), K("BODYSTRUCTURE", bodystructure),
		K("SUBJECT", subject), K("FROM", from), K("TO", to),
		K("CC", cc), K("BCC", bcc), K("MESSAGEID", messageid),
		K("HEADERS", headers), K("TEXT", text),
#undef K
	};
	struct mime_result	 r;
	char			*lines, *line, *next, *val, *want, *sp, *body;
	char			 spec[128];
	const char		*got;
	size_t			 wl, gl, k, off, slen, checked = 0;
	int			 rc;

	CHECK(parse_ok(eml->p, eml->n, &r));
	CHECK((lines = strdup(exp->p)) != NULL);
	CHECK((want = malloc(exp->n + 1)) != NULL);
	for (line = lines; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		val = strchr(line, ' ');
		if (val != NULL)
			*val++ = '\0';
		else
			val = line + strlen(line);
		if (strcmp(line, "SECTION") == 0) {
			/* SECTION spec value; "" is the empty spec. */
			CHECK((sp = strchr(val, ' ')) != NULL);
			*sp++ = '\0';
			CHECK(strlcpy(spec, strcmp(val, "\"\"") == 0 ? "" : val,
			    sizeof(spec)) < sizeof(spec));
			rc = mime_section(eml->p, eml->n, spec, &off, &slen);
			if (strcmp(sp, "!ENOENT") == 0)
				CHECK(rc == -1 && errno == ENOENT);
			else if (strcmp(sp, "!EINVAL") == 0)
				CHECK(rc == -1 && errno == EINVAL);
			else {
				CHECK(rc == 0 && off <= eml->n &&
				    slen <= eml->n - off);
				wl = unescape(sp, want);
				if (slen != wl || memcmp(eml->p + off, want,
				    wl) != 0)
					fail_diff(name, spec, eml->p + off,
					    slen, want, wl);
			}
			checked++;
			continue;
		}
		wl = unescape(val, want);
		if (strcmp(line, "DATE") == 0) {
			CHECK(r.sentdate == strtoll(want, NULL, 10));
			checked++;
			continue;
		}
		if (strcmp(line, "BODY") == 0) {
			CHECK(mime_body(r.bodystructure, r.bodystructure_len,
			    &body, &gl) == 0);
			if (gl != wl || memcmp(body, want, wl) != 0) {
				free(body);
				fail_diff(name, line, r.bodystructure,
				    r.bodystructure_len, want, wl);
			}
			free(body);
			checked++;
			continue;
		}
		for (k = 0; k < nitems(keys); k++)
			if (strcmp(line, keys[k].key) == 0)
				break;
		if (k == nitems(keys)) {
			snprintf(test_why, sizeof(test_why),
			    "%s: unknown key %s", name, line);
			longjmp(test_jmp, 1);
		}
		got = *(char **)(void *)((char *)&r + keys[k].off);
		gl = *(size_t *)(void *)((char *)&r + keys[k].lenoff);
		if (gl != wl || memcmp(got, want, wl) != 0)
			fail_diff(name, line, got, gl, want, wl);
		checked++;
	}
	free(want);
	free(lines);
	mime_result_free(&r);
	CHECK(checked >= 10);
}

static void
test_corpus(void)
{
	struct dirent	**ents;
	struct file	 eml, exp;
	char		 path[512], name[256];
	size_t		 len;
	int		 n, i, files = 0;

	CHECK((n = scandir(CORPUS, &ents, NULL, alphasort)) > 0);
	for (i = 0; i < n; i++) {
		len = strlen(ents[i]->d_name);
		if (len > 7 &&
		    strcmp(ents[i]->d_name + len - 7, ".expect") == 0) {
			/* Every expectation has its message. */
			snprintf(path, sizeof(path), "%s/%.*s.eml", CORPUS,
			    (int)(len - 7), ents[i]->d_name);
			CHECK(access(path, R_OK) == 0);
		}
		if (len <= 4 || strcmp(ents[i]->d_name + len - 4, ".eml") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 4),
		    ents[i]->d_name);
		snprintf(path, sizeof(path), "%s/%s.eml", CORPUS, name);
		CHECK(read_file(path, &eml) == 0);
		snprintf(path, sizeof(path), "%s/%s.expect", CORPUS, name);
		CHECK(read_file(path, &exp) == 0);
		check_expect(name, &eml, &exp);
		free(eml.p);
		free(exp.p);
		files++;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	CHECK(files >= 28);
}

static void
test_empty(void)
{
	struct mime_result	 r;
	struct bundle		 b;

	CHECK(parse_ok("", 0, &r));
	CHECK_STR(r.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECK_STR(r.bodystructure, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	    "\"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)");
	CHECK(r.text_len == 0 && r.headers_len == 0 && r.sentdate == 0);
	/* An empty message cannot be stored. */
	CHECK(mime_to_bundle(&r, "", 0, 1, &b) == -1 && errno == EINVAL);
	CHECK(mime_to_bundle(&r, "x", 1, -1, &b) == -1 && errno == EINVAL);
	mime_result_free(&r);
	CHECK(r.envelope == NULL);
	mime_result_free(&r);

	CHECK(parse_ok(NULL, 0, &r));
	CHECK_STR(r.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	mime_result_free(&r);

	/* Just an empty line: an empty header, an empty body. */
	CHECK(parse_ok("\r\n", 2, &r));
	CHECK(strstr(r.bodystructure, "\"7BIT\" 0 0 ") != NULL);
	mime_result_free(&r);
}

/* A result through bundle_write, bundle_map and bundle_parse. */
static void
test_bundle(void)
{
	struct mime_result	 r;
	struct bundle		 b, back;
	struct file		 eml;
	void			*p;
	size_t			 len;
	int			 fd, i;

	CHECK(read_file(CORPUS "/mixed2231.eml", &eml) == 0);
	CHECK(parse_ok(eml.p, eml.n, &r));
	CHECK(mime_to_bundle(&r, eml.p, eml.n, 1700000000, &b) == 0);
	CHECK(b.internaldate == 1700000000 && b.sentdate == r.sentdate);
	CHECK(bundle_write_fd(&b, &fd) == 0);
	CHECK(bundle_map(fd, &p, &len) == 0);
	CHECK(bundle_parse(p, len, &back) == 0);
	for (i = 0; i < BUNDLE_NSECTIONS; i++) {
		CHECK(back.len[i] == b.len[i]);
		CHECK(b.len[i] == 0 || memcmp(back.sec[i], b.sec[i],
		    b.len[i]) == 0);
	}
	CHECK(back.len[BUNDLE_TEXT] > 0 && back.len[BUNDLE_BODYSTRUCTURE] > 0);
	bundle_unmap(p, len);
	close(fd);
	mime_result_free(&r);
	free(eml.p);
}

static char *
repeat(const char *unit, size_t times, size_t *lenp)
{
	size_t	 ul, i;
	char	*p;

	ul = strlen(unit);
	if ((p = malloc(ul * times + 1)) == NULL)
		return (NULL);
	for (i = 0; i < times; i++)
		memcpy(p + i * ul, unit, ul);
	p[ul * times] = '\0';
	*lenp = ul * times;
	return (p);
}

static size_t
count(const char *s, const char *what)
{
	size_t	 n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return (n);
}

/*
 * Address lists far beyond BUNDLE_META_MAX: the envelope falls back to
 * at most 20 addresses a list and names of at most 256 octets.
 */
static void
test_many_addresses(void)
{
	struct mime_result	 r;
	char			*msg, *name;
	size_t			 len, nl, i, off = 0, cap;
	int			 k, n;

	CHECK((name = repeat("n", 400, &nl)) != NULL);
	cap = 3 * 1000 * 500 + 1024;
	CHECK((msg = malloc(cap)) != NULL);
	for (k = 0; k < 3; k++) {
		n = snprintf(msg + off, cap - off, "%s: ",
		    k == 0 ? "From" : k == 1 ? "To" : "Cc");
		off += (size_t)n;
		for (i = 0; i < 1000; i++) {
			n = snprintf(msg + off, cap - off, "%s%s <u%zu@x.test>",
			    i > 0 ? ",\r\n " : "", name, i);
			CHECK(n > 0 && (size_t)n < cap - off);
			off += (size_t)n;
		}
		off += (size_t)snprintf(msg + off, cap - off, "\r\n");
	}
	off += (size_t)snprintf(msg + off, cap - off,
	    "Subject: s\r\n\r\nx\r\n");
	len = off;
	CHECK(parse_ok(msg, len, &r));
	/* from, sender, reply-to, to, cc: 20 addresses each. */
	CHECK(count(r.envelope, "\" NIL \"u") == 5 * 20);
	CHECK(count(r.envelope, "\"u19\"") == 5);
	CHECK(count(r.envelope, "\"u20\"") == 0);
	/* The names are cut to 256 octets. */
	CHECK(strstr(r.envelope, name) == NULL);
	name[256] = '\0';
	CHECK(count(r.envelope, name) == 5 * 20);
	/* The search fields keep what fits. */
	CHECK(r.to_len == BUNDLE_FIELD_MAX || r.to_len > BUNDLE_FIELD_MAX - 4);
	mime_result_free(&r);
	free(msg);
	free(name);
}

/*
 * More parts than MIME_PARTS_MAX: the part that reaches the limit runs
 * to the end of the message, boundaries and all.
 */
static void
test_many_parts(void)
{
	struct mime_result	 r;
	char			*msg, *p;
	size_t			 len, off, hl;
	const char		*hdr = "Content-Type: multipart/mixed; "
				    "boundary=B\r\n\r\n";

	CHECK((p = repeat("--B\r\nContent-Type: text/plain\r\n\r\nword\r\n",
	    6000, &len)) != NULL);
	hl = strlen(hdr);
	CHECK((msg = malloc(hl + len + 8)) != NULL);
	memcpy(msg, hdr, hl);
	memcpy(msg + hl, p, len);
	memcpy(msg + hl + len, "--B--\r\n", 7);
	len += hl + 7;
	CHECK(parse_ok(msg, len, &r));
	/* The root is part 1 of MIME_PARTS_MAX. */
	CHECK(count(r.bodystructure, "(\"TEXT\" \"PLAIN\"") ==
	    MIME_PARTS_MAX - 1);
	/*
	 * The last part holds the rest: its "word", the 1001 parts after
	 * it and the close delimiter, all as its text.
	 */
	CHECK(strstr(r.bodystructure, "\"7BIT\" 39052 4006 NIL NIL NIL NIL) "
	    "\"MIXED\"") != NULL);
	CHECK(count(r.text, "word") == 6000);
	CHECK(mime_section(msg, len, "4999", &off, &hl) == 0);
	CHECK(hl == 6 + 1001 * 39 + 7 && off + hl == len);
	CHECK(mime_section(msg, len, "5000", &off, &hl) == -1 &&
	    errno == ENOENT);
	mime_result_free(&r);
	free(msg);
	free(p);
}

/*
 * BODYSTRUCTURE too large: first without extension data and with short
 * strings, then as one opaque part.
 */
static void
test_bodystructure_fallback(void)
{
	struct mime_result	 r;
	char			 unit[1024], *msg, *p, *body;
	size_t			 len, bl, n;
	const char		*hdr = "Content-Type: multipart/mixed; "
				    "boundary=B\r\n\r\n";
	const char		*opaque = "(\"APPLICATION\" \"OCTET-STREAM\" "
				    "NIL NIL NIL \"7BIT\" ";

	for (n = 2000; n <= 4000; n += 2000) {
		(void)snprintf(unit, sizeof(unit), "--B\r\n"
		    "Content-Type: application/x\r\nContent-ID: <%0600d>\r\n"
		    "\r\nx\r\n", 0);
		CHECK((p = repeat(unit, n, &len)) != NULL);
		CHECK((msg = malloc(strlen(hdr) + len + 8)) != NULL);
		memcpy(msg, hdr, strlen(hdr));
		memcpy(msg + strlen(hdr), p, len);
		memcpy(msg + strlen(hdr) + len, "--B--\r\n", 7);
		len += strlen(hdr) + 7;
		CHECK(parse_ok(msg, len, &r));
		if (n == 2000) {
			/* Level 1: BODY and BODYSTRUCTURE are the same. */
			CHECK(mime_body(r.bodystructure, r.bodystructure_len,
			    &body, &bl) == 0);
			CHECK(bl == r.bodystructure_len &&
			    strcmp(body, r.bodystructure) == 0);
			free(body);
			CHECK(count(r.bodystructure, "\"APPLICATION\" \"X\"") ==
			    n);
			/* "<" and 255 digits. */
			CHECK(strstr(r.bodystructure, "\"<0000") != NULL);
			CHECK(count(r.bodystructure, "0\" NIL \"7BIT\" 1)") ==
			    n);
		} else {
			CHECK(strncmp(r.bodystructure, opaque,
			    strlen(opaque)) == 0);
			CHECK(strtoul(r.bodystructure + strlen(opaque), NULL,
			    10) == len - strlen(hdr));
		}
		mime_result_free(&r);
		free(msg);
		free(p);
	}
}

/* The text stops at BUNDLE_TEXT_MAX, on a character boundary. */
static void
test_text_limit(void)
{
	struct mime_result	 r;
	char			*msg, *p;
	size_t			 len;
	const char		*hdr = "Content-Type: text/plain; "
				    "charset=utf-8\r\n\r\n";

	/* 3-octet characters: BUNDLE_TEXT_MAX is not a multiple of 3. */
	CHECK((p = repeat("\xe2\x82\xac", BUNDLE_TEXT_MAX / 3 + 10,
	    &len)) != NULL);
	CHECK((msg = malloc(strlen(hdr) + len)) != NULL);
	memcpy(msg, hdr, strlen(hdr));
	memcpy(msg + strlen(hdr), p, len);
	len += strlen(hdr);
	CHECK(parse_ok(msg, len, &r));
	CHECK(r.text_len == BUNDLE_TEXT_MAX / 3 * 3);
	mime_result_free(&r);
	free(msg);
	free(p);
}

/*
 * Long fields are cut to BUNDLE_FIELD_MAX; the header section keeps
 * whole lines; only MIME_FIELDS_MAX fields are looked at.
 */
static void
test_field_limits(void)
{
	struct mime_result	 r;
	char			*msg, *p;
	size_t			 len, off, i, cap;
	int			 n;

	CHECK((p = repeat("\xc3\xa9", 50000, &len)) != NULL);
	cap = len + 64;
	CHECK((msg = malloc(cap)) != NULL);
	n = snprintf(msg, cap, "Subject: %s\r\n\r\nx", p);
	CHECK(parse_ok(msg, (size_t)n, &r));
	/* 64 KiB is even: whole characters fit exactly. */
	CHECK(r.subject_len == BUNDLE_FIELD_MAX);
	CHECK(r.headers_len == strlen("Subject: ") + BUNDLE_FIELD_MAX + 1);
	/* The envelope string is a literal of all 100000 octets. */
	CHECK(strstr(r.envelope, "{100000}\r\n") != NULL);
	mime_result_free(&r);
	free(msg);
	free(p);

	/* 1200 fields; the Subject after field 1000 is not seen. */
	cap = 1300 * 32;
	CHECK((msg = malloc(cap)) != NULL);
	for (off = 0, i = 0; i < 1200; i++)
		off += (size_t)snprintf(msg + off, cap - off,
		    "X-F%zu: v\r\n", i);
	off += (size_t)snprintf(msg + off, cap - off,
	    "Subject: late\r\n\r\nbody\r\n");
	CHECK(parse_ok(msg, off, &r));
	CHECK(r.subject_len == 0);
	CHECK(strncmp(r.envelope, "(NIL NIL ", 9) == 0);
	CHECK(strstr(r.headers, "X-F999: v\n") != NULL);
	CHECK(strstr(r.headers, "X-F1000:") == NULL);
	CHECK(strstr(r.bodystructure, "\"7BIT\" 6 1 ") != NULL);
	mime_result_free(&r);
	free(msg);

	/* Headers over BUNDLE_META_MAX: whole lines only. */
	CHECK((p = repeat("y", 60000, &len)) != NULL);
	cap = 20 * (len + 16) + 16;
	CHECK((msg = malloc(cap)) != NULL);
	for (off = 0, i = 0; i < 20; i++)
		off += (size_t)snprintf(msg + off, cap - off,
		    "X-L%02zu: %s\r\n", i, p);
	off += (size_t)snprintf(msg + off, cap - off, "\r\nx");
	CHECK(parse_ok(msg, off, &r));
	CHECK(r.headers_len == 17 * (len + 8));
	CHECK(r.headers[r.headers_len - 1] == '\n');
	mime_result_free(&r);
	free(msg);
	free(p);
}

/*
 * The stream decoders give the same output whatever the pieces they
 * are fed in: kind 0 transfer encoding, 1 charset, 2 HTML.
 */
static void
feed_split(int what, const char *arg, size_t arglen, const char *in,
    size_t n)
{
	struct mime_cte		 cte;
	struct mime_conv	 conv;
	struct mime_html	 h;
	struct mbuf		 whole, parts;
	size_t			 off, k, step;

	for (step = 1; step <= 7; step++) {
		mbuf_init(&whole, SIZE_MAX, 0);
		mbuf_init(&parts, SIZE_MAX, 0);
		for (k = 0; k < 2; k++) {
			struct mbuf	*out = k == 0 ? &whole : &parts;
			size_t		 piece = k == 0 ? n : step;

			if (what == 0)
				mime_cte_init(&cte, (int)arglen);
			else if (what == 1)
				mime_conv_init(&conv, arg, arglen);
			else
				mime_html_init(&h);
			for (off = 0; off < n || off == 0; off += piece) {
				size_t	 m = n - off < piece ? n - off : piece;
				int	 final = off + m >= n;

				if (what == 0)
					mime_cte_feed(&cte, in + off, m, final,
					    out);
				else if (what == 1)
					mime_conv_feed(&conv, in + off, m,
					    final, out);
				else
					mime_html_feed(&h, in + off, m, out);
				if (n == 0)
					break;
			}
			if (what == 2)
				mime_html_end(&h, out);
		}
		CHECK(!whole.oom && !parts.oom);
		if (whole.len != parts.len || (whole.len > 0 &&
		    memcmp(whole.p, parts.p, whole.len) != 0))
			fail_diff("stream", arg != NULL ? arg : "cte",
			    parts.p, parts.len, whole.p, whole.len);
		mbuf_free(&whole);
		mbuf_free(&parts);
	}
}

static void
test_streams(void)
{
	struct mime_conv	 conv;
	struct mime_cte		 cte;
	struct mime_html	 h;
	struct mbuf		 out;
	static const char	 qp[] =
				    "a=3D=\r\nb =\r\n=E9=e9=ZZ=\r= \t\r\nc=4";
	static const char	 b64[] = "SGVs bG8*h\r\nIQ==w6Q=";
	static const char	 gb[] = "\x81\x30\x81\x30\xc4\xe3\xba\xc3"
				    "\xff\x41";
	static const char	 jis[] = "\x1b$B$3$s$K$A$O\x1b(B ok";
	static const char	 utf8[] = "a\xc3\xa4\xe2\x82\xac\xf0\x9f\x98"
				    "\x80\xc3\x28\xe2\x82\xed\xa0\x80\xf4\x90";
	static const char	 html[] = "<p>a&amp;b &#x20AC;<script>x</scr"
				    "</script>&lt;<!-- c -- -->&nbsp;t</p>"
				    "&eacute";

	feed_split(0, NULL, CTE_QP, qp, sizeof(qp) - 1);
	feed_split(0, NULL, CTE_BASE64, b64, sizeof(b64) - 1);
	feed_split(1, "utf-8", 5, utf8, sizeof(utf8) - 1);
	feed_split(1, "windows-1252", 12, "\x80\x93x\x94", 4);
	feed_split(1, "gb18030", 7, gb, sizeof(gb) - 1);
	feed_split(1, "iso-2022-jp", 11, jis, sizeof(jis) - 1);
	feed_split(2, "html", 4, html, sizeof(html) - 1);

	/* And the outputs are right. */
	mbuf_init(&out, SIZE_MAX, 0);
	mime_cte_init(&cte, CTE_QP);
	mime_cte_feed(&cte, qp, sizeof(qp) - 1, 1, &out);
	CHECK(out.len == 12 && memcmp(out.p, "a=b \xe9\xe9=ZZc=4", 12) == 0);
	mbuf_reset(&out);
	mime_cte_init(&cte, CTE_BASE64);
	mime_cte_feed(&cte, b64, sizeof(b64) - 1, 1, &out);
	CHECK_STR(out.p, "Hello!!\xc3\xa4");
	mbuf_reset(&out);
	mime_conv_init(&conv, "utf-8", 5);
	mime_conv_feed(&conv, utf8, sizeof(utf8) - 1, 1, &out);
	/* One U+FFFD a maximal subpart: c3, e2 82, ed, a0, 80, f4, 90. */
	CHECK_STR(out.p, "a\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"
	    "\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd");
	mbuf_reset(&out);
	mime_conv_init(&conv, "GB18030", 7);
	mime_conv_feed(&conv, gb, sizeof(gb) - 1, 1, &out);
	CHECK_STR(out.p, "\xc2\x80\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbf\xbd"
	    "A");
	mbuf_reset(&out);
	mime_conv_init(&conv, "ISO-2022-JP", 11);
	mime_conv_feed(&conv, jis, sizeof(jis) - 1, 1, &out);
	CHECK_STR(out.p, "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1"
	    "\xe3\x81\xaf ok");
	mbuf_reset(&out);
	mime_html_init(&h);
	mime_html_feed(&h, html, sizeof(html) - 1, &out);
	mime_html_end(&h, &out);
	CHECK_STR(out.p, "a&b \xe2\x82\xac< t\n\xc3\xa9");
	mbuf_reset(&out);
	/* Unknown charsets are read as UTF-8. */
	mime_conv_init(&conv, "x-no-such-charset", 17);
	mime_conv_feed(&conv, "\xc3\xa4\xe4", 3, 1, &out);
	CHECK_STR(out.p, "\xc3\xa4\xef\xbf\xbd");
	mbuf_free(&out);
}

static void
test_dates(void)
{
	static const struct {
		const char	*s;
		int64_t		 t;
	} dates[] = {
		{ "Thu, 13 Feb 1969 23:32:54 -0330", 0 },	/* < 1970 */
		{ "Fri, 21 Nov 1997 09:55:06 -0600", 880127706 },
		{ "21 Nov 97 09:55:06 GMT", 880106106 },
		{ "Tue, 1 Jul 2003 10:52:37 +0200", 1057049557 },
		{ "1 Jan 2000 00:00 +0000", 946684800 },
		{ "Sat, 29 Feb 2020 12:00:00 EST", 1582995600 },
		{ "Sat, 29 Feb 2020 12:00:00 PDT", 1583002800 },
		{ "Mon (day), 02 Mar 2020 (c) 12:00:00 +0100 (CET)",
		    1583146800 },
		{ "2 March 2020 12:00:00 Z", 1583150400 },
		{ "02-Mar-2020 12:00:00 +0000", 1583150400 },
		{ "31 Dec 2049 23:59:60 +0000", 2524608000 },
		{ "1 Jan 49 00:00:00 +0000", 2493072000 },
		{ "1 Jan 50 00:00:00 +0000", -631152000 },
		{ "30 Feb 2020 00:00:00 +0000", 0 },
		{ "29 Feb 2100 00:00:00 +0000", 0 },
		{ "1 Foo 2020 00:00:00 +0000", 0 },
		{ "1 Jan 2020 24:00:00 +0000", 0 },
		{ "1 Jan 2020", 0 },
		{ "garbage", 0 },
		{ "", 0 },
		{ "1 Jan 99999 00:00:00", 0 },
	};
	size_t	 i;
	int64_t	 t;

	for (i = 0; i < nitems(dates); i++) {
		t = mime_date(dates[i].s, strlen(dates[i].s));
		if (t != (dates[i].t < 0 ? 0 : dates[i].t)) {
			snprintf(test_why, sizeof(test_why), "date \"%s\": "
			    "%lld", dates[i].s, (long long)t);
			longjmp(test_jmp, 1);
		}
	}
}

static void
test_body(void)
{
	static const char *const bad[] = {
		"", "(", "()", "(\"TEXT\")",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1)",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 2",
		"((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 2))",
		"(\"A\" \"B\" NIL NIL NIL \"7BIT\" 1) x",
		"(\"A\" \"B\" {5}\r\nab NIL NIL \"7BIT\" 1)",
		"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 1 NIL 2)",
	};
	const char	*ext = "(\"A\" \"B\" (\"N\" {3}\r\n\xc3\xa4x) NIL NIL "
			    "\"7BIT\" 1 NIL (\"INLINE\" NIL) NIL NIL)";
	char		*out;
	size_t		 i, len;

	for (i = 0; i < nitems(bad); i++) {
		if (mime_body(bad[i], strlen(bad[i]), &out, &len) != -1 ||
		    errno != EINVAL) {
			snprintf(test_why, sizeof(test_why), "accepted %s",
			    bad[i]);
			longjmp(test_jmp, 1);
		}
	}
	CHECK(mime_body(ext, strlen(ext), &out, &len) == 0);
	CHECK_STR(out, "(\"A\" \"B\" (\"N\" {3}\r\n\xc3\xa4x) NIL NIL "
	    "\"7BIT\" 1)");
	free(out);
}

/*
 * Mutations of the corpus: flips, insertions of MIME syntax, deletions,
 * duplications, splices and truncations, with a fixed seed.  Each
 * result must pass check_sane() and every section must lie inside the
 * message.
 */
static void
test_fuzz(void)
{
	static const char *const bits[] = {
		"\r\n", "\n", "--", "\r\n--", "=?", "?=", "=?utf-8?b?", "?q?",
		";", "\"", "(", ")", ":", "<", ">", "@", ",", "=", "&", "&#",
		"<script>", "</p>", "*0*=", "'", "%", "\t", " ", "\x00",
		"\xc3", "\xff", "\r\n\r\n",
		("Content-Type: multipart/mixed; boundary="),
		"Content-Type: message/rfc822\r\n\r\n",
		"Content-Transfer-Encoding: base64\r\n",
		"Content-Transfer-Encoding: quoted-printable\r\n",
		"charset=iso-2022-jp", "charset=utf-16", "{99}\r\n",
	};
	static const char *const specs[] = {
		"", "1", "2", "1.1", "1.2", "2.1", "TEXT", "HEADER", "1.MIME",
		"2.HEADER", "2.TEXT", "1.1.1", "3",
	};
	struct dirent		**ents;
	struct mime_result	 r;
	struct file		*corpus;
	char			 path[512], *buf;
	size_t			 ncorpus = 0, len, cap, i, m, pos, k, n2, off;
	size_t			 slen;
	time_t			 start;
	int			 n, j, rounds;

	CHECK((n = scandir(CORPUS, &ents, NULL, alphasort)) > 0);
	CHECK((corpus = calloc((size_t)n, sizeof(*corpus))) != NULL);
	for (j = 0; j < n; j++) {
		len = strlen(ents[j]->d_name);
		if (len > 4 && strcmp(ents[j]->d_name + len - 4, ".eml") == 0) {
			snprintf(path, sizeof(path), "%s/%s", CORPUS,
			    ents[j]->d_name);
			CHECK(read_file(path, &corpus[ncorpus]) == 0);
			ncorpus++;
		}
		free(ents[j]);
	}
	free(ents);
	CHECK(ncorpus > 0);

	cap = 64 * 1024;
	CHECK((buf = malloc(cap)) != NULL);
	start = time(NULL);
	for (rounds = 0; rounds < FUZZ_ROUNDS; rounds++) {
		if (rounds >= FUZZ_MIN_ROUNDS &&
		    time(NULL) - start >= FUZZ_SECONDS)
			break;
		k = rng() % ncorpus;
		len = corpus[k].n < cap / 2 ? corpus[k].n : cap / 2;
		memcpy(buf, corpus[k].p, len);
		for (m = 1 + rng() % 8; m > 0; m--) {
			pos = len > 0 ? rng() % (len + 1) : 0;
			switch (rng() % 7) {
			case 0:		/* flip a byte */
				if (pos < len)
					buf[pos] ^= (char)(1 << (rng() % 8));
				break;
			case 1:		/* insert a piece of syntax */
				i = rng() % nitems(bits);
				n2 = bits[i][0] == '\0' ? 1 : strlen(bits[i]);
				if (len + n2 >= cap)
					break;
				memmove(buf + pos + n2, buf + pos, len - pos);
				memcpy(buf + pos, bits[i], n2);
				len += n2;
				break;
			case 2:		/* delete a range */
				n2 = rng() % 64;
				if (pos + n2 > len)
					n2 = len - pos;
				memmove(buf + pos, buf + pos + n2,
				    len - pos - n2);
				len -= n2;
				break;
			case 3:		/* duplicate a range */
				n2 = rng() % 256;
				if (pos + n2 > len)
					n2 = len - pos;
				if (len + n2 >= cap)
					break;
				memmove(buf + pos + n2, buf + pos, len - pos);
				len += n2;
				break;
			case 4:		/* splice in another message */
				i = rng() % ncorpus;
				off = rng() % (corpus[i].n + 1);
				n2 = rng() % 512;
				if (off + n2 > corpus[i].n)
					n2 = corpus[i].n - off;
				if (len + n2 >= cap)
					break;
				memmove(buf + pos + n2, buf + pos, len - pos);
				memcpy(buf + pos, corpus[i].p + off, n2);
				len += n2;
				break;
			case 5:		/* truncate */
				len = pos;
				break;
			default:	/* a random byte */
				if (len + 1 >= cap)
					break;
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (char)rng();
				len++;
				break;
			}
		}
		CHECK(parse_ok(buf, len, &r));
		mime_result_free(&r);
		for (i = 0; i < nitems(specs); i++) {
			if (mime_section(buf, len, specs[i], &off, &slen) == 0)
				CHECK(off <= len && slen <= len - off);
			else
				CHECK(errno == ENOENT);
		}
	}
	printf("# fuzz: %d rounds\n", rounds);
	CHECK(rounds >= FUZZ_MIN_ROUNDS);
	free(buf);
	for (i = 0; i < ncorpus; i++)
		free(corpus[i].p);
	free(corpus);
}

int
main(void)
{
	log_init(1, LOG_MAIL);
	mime_init();

	RUN(test_corpus);
	RUN(test_empty);
	RUN(test_bundle);
	RUN(test_many_addresses);
	RUN(test_many_parts);
	RUN(test_bodystructure_fallback);
	RUN(test_text_limit);
	RUN(test_field_limits);
	RUN(test_streams);
	RUN(test_dates);
	RUN(test_body);
	RUN(test_fuzz);
	TEST_EXIT();
}
