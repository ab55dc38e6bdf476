# FETCH of sections (issue 13): BODY[1.2], BODY[2.MIME], BODY[3.TEXT],
# BINARY[1], BODY[]<o.c> and the rest come from the vault cut to the
# part asked for (MBOX_OP_SECTIONS), not as whole messages.  Over a
# corpus of MIME messages (nested multiparts, message/rfc822 at the top
# and inside, digests, empty parts, a part without header, encoded
# parts), every section of every part, with partials around part ends,
# is fetched through the real daemons and compared octet for octet with
# what a small MIME model written here (RFC 2046, RFC 9051 6.4.5)
# computes from the whole message.  vaultd's debug log says how many
# octets each answer carried: for one part of a large message, the part
# and not the message.

import base64
import email.parser
import os
import quopri
import re
import unittest

import test_imap as ti

HERE = os.path.dirname(os.path.abspath(__file__))
MIME_DIR = os.path.join(HERE, "..", "unit", "mime")


# ---------------------------------------------------------------------
# A MIME model, for well-formed CRLF messages only: the corpus is.

class Part:
    def __init__(self, start, end, hdr, body, ctype, params):
        self.start, self.end = start, end
        self.hdr = hdr            # (start, end), with the empty line
        self.body = body          # (start, end)
        self.ctype = ctype        # "text/plain"
        self.params = params
        self.children = []        # parts of a multipart
        self.inner = None         # the message of a message/rfc822

    @property
    def multipart(self):
        return self.ctype.startswith("multipart/")


def header_fields(raw):
    """[(name, text)] of a header block (without its empty line)."""
    fields = []
    for line in raw.split(b"\r\n"):
        if line == b"":
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line + b"\r\n")
            continue
        name = line.split(b":", 1)[0] if b":" in line else None
        fields.append((name, line + b"\r\n"))
    return fields


def parse_entity(b, start, end, default="text/plain"):
    if b.startswith(b"\r\n", start) and start + 2 <= end:
        hend = start + 2
    else:
        i = b.find(b"\r\n\r\n", start, end)
        hend = end if i < 0 else i + 4
        # A header that runs to its part's end takes the CRLF of the
        # delimiter after it as its empty line (Tresor's parser always
        # has), so its MIME header ends with CRLF CRLF.
        if i < 0 and end > start and b[end - 2:end + 2] == b"\r\n\r\n":
            hend = end + 2
    hp = email.parser.BytesHeaderParser()
    h = hp.parsebytes(b[start:hend])
    ctype = (h.get_content_type() if h.get("Content-Type") else default)
    params = dict((k.lower(), v) for k, v in (h.get_params() or [])
                  if v != "") if h.get("Content-Type") else {}
    cte = (h.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    p = Part(start, end, (start, hend), (hend, max(hend, end)),
             ctype.lower(), params)
    p.cte = cte
    if p.multipart:
        delim = b"--" + params["boundary"].encode()
        # delimiter lines: at the body's start, or after a CRLF
        pos, starts = hend, []
        while True:
            if b.startswith(delim, pos) and (pos == hend or
                                             b[pos - 2:pos] == b"\r\n"):
                close = b.startswith(b"--", pos + len(delim))
                eol = b.find(b"\r\n", pos, end)
                starts.append((pos, eol + 2, close))
                if close:
                    break
                pos = eol + 2
                continue
            nxt = b.find(b"\r\n" + delim, pos, end)
            if nxt < 0:
                break
            pos = nxt + 2
        sub = ("message/rfc822" if ctype == "multipart/digest"
               else "text/plain")
        for (d0, after, close), (n0, _, _) in zip(starts, starts[1:]):
            pend = n0 - 2 if n0 - 2 >= after else after
            p.children.append(parse_entity(b, after, pend, sub))
    elif p.ctype == "message/rfc822":
        p.inner = parse_entity(b, hend, end)
    return p


def paths(msg, prefix=()):
    """[(path, part)] of every part of the message msg, in order: the
    parts of a multipart, or its body as part 1; inside each, the parts
    of an encapsulated message or of a multipart part."""
    out = []
    for i, c in enumerate(msg.children if msg.multipart else [msg], 1):
        path = prefix + (i,)
        out.append((path, c))
        if c.ctype == "message/rfc822" and c.inner is not None:
            out += paths(c.inner, path)
        elif c.multipart and c is not msg:
            out += paths(c, path)
    return out


def resolve(root, nums, kw):
    """(start, end) of a section in the message, or None."""
    if not nums:
        if kw == "":
            return (root.start, root.end)
        return root.hdr if kw == "HEADER" else root.body
    m, cur = root, None
    for n in nums:
        if m is None:
            return None
        if m.multipart:
            if n < 1 or n > len(m.children):
                return None
            cur = m.children[n - 1]
        else:
            if n != 1:
                return None
            cur = m
        if cur.ctype == "message/rfc822" and cur.inner is not None:
            m = cur.inner
        elif cur.multipart and cur is not m:
            m = cur
        else:
            m = None
    if kw == "":
        return cur.body
    if kw == "MIME":
        return cur.hdr
    if cur.ctype != "message/rfc822" or cur.inner is None:
        return None
    return cur.inner.hdr if kw == "HEADER" else cur.inner.body


def cut(data, partial):
    if partial is None:
        return data
    o, c = partial
    return data[o:o + c]


def decode(cte, data):
    if cte == "base64":
        return base64.b64decode(data)
    if cte == "quoted-printable":
        return quopri.decodestring(data)
    return data


# ---------------------------------------------------------------------
# The corpus.

def crlf(s):
    return s.replace("\n", "\r\n").encode()


NESTED = crlf("""From: Nest <nest@example.org>
To: someone@test.example
Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="A"

preamble
--A
Content-Type: text/plain

first part
--A
Content-Type: multipart/alternative; boundary="B"

--B
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 soft=
break
--B
Content-Type: text/html

<p>html</p>
--B--
epilogue of B
--A
Content-Type: message/rfc822

From: Inner <inner@example.org>
Subject: inner message
Content-Type: multipart/mixed; boundary="C"

--C
Content-Type: text/plain

inner text
--C
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODw==
--C--
--A
Content-Type: text/plain

--A

a part without a header
--A
Content-Type: message/rfc822

Subject: flat inner

flat inner body
--A--
""")

SIMPLE = crlf("""From: a@example.org
To: b@test.example
Subject: plain
Date: Mon, 7 Feb 1994 21:52:25 -0800

Just text,
two lines.
""")

TOPMSG = crlf("""From: wrap@example.org
Subject: a message in a message
Content-Type: message/rfc822

From: wrapped@example.org
Subject: wrapped
Content-Type: multipart/mixed; boundary="W"

--W
Content-Type: text/plain

w1
--W
Content-Type: text/plain

w2
--W--
""")

BASE64TOP = crlf("""From: b64@example.org
Subject: encoded top
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

aGVsbG8sIHdvcmxkIQ==
""")


def big_message():
    """A small text part and a large attachment."""
    att = base64.encodebytes(bytes(range(256)) * 1200).replace(b"\n",
                                                               b"\r\n")
    return crlf("""From: big@example.org
Subject: big
Content-Type: multipart/mixed; boundary="Z"

--Z
Content-Type: text/plain

the small part
--Z
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

""") + att + b"--Z--\r\n"


def corpus():
    msgs = [("nested", NESTED), ("simple", SIMPLE), ("topmsg", TOPMSG),
            ("base64top", BASE64TOP), ("imapcorpus", ti.CORPUS)]
    for name in ("nested", "alternative", "digest"):
        with open(os.path.join(MIME_DIR, name + ".eml"), "rb") as f:
            msgs.append(("eml-" + name, f.read()))
    return msgs


# ---------------------------------------------------------------------
# Responses.

def parse_fetch(resp):
    """{item name: value} of one FETCH response; literals as bytes."""
    m = re.match(r"\* \d+ FETCH \(", resp)
    assert m, resp
    i, out = m.end(), {}
    while resp[i] != ")":
        j, depth = i, 0
        while True:
            ch = resp[j]
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch == " " and depth == 0:
                break
            j += 1
        name, i = resp[i:j], j + 1
        if resp.startswith('""', i):
            val, i = b"", i + 2
        elif resp[i] == "{" or resp.startswith("~{", i):
            k = resp.index("}", i)
            n = int(resp[resp.index("{", i) + 1:k])
            start = k + 3
            val, i = resp[start:start + n].encode("latin-1"), start + n
        elif resp[i] == "(":
            k = resp.index(")", i)
            val, i = resp[i:k + 1], k + 1
        else:
            k = i
            while resp[k] not in " )":
                k += 1
            val, i = resp[i:k].encode(), k
        out[name] = val
        if resp[i] == " ":
            i += 1
    return out


class Sections(ti.Base):

    def fetch(self, c, uid, items):
        u, done = c.cmd("UID FETCH %d (%s)" % (uid, items))
        self.assertEqual(done, "OK FETCH completed", (items, u))
        self.assertEqual(len(u), 1, (items, u))
        return parse_fetch(u[0])

    def cases(self, raw):
        """(item, response name, expected octets) for every section."""
        root = parse_entity(raw, 0, len(raw))
        out = []

        def section(spec, rng, partials=(None,)):
            data = b"" if rng is None else raw[rng[0]:rng[1]]
            for pt in partials:
                suffix = "" if pt is None else "<%d.%d>" % pt
                name = "BODY[%s]" % spec + ("" if pt is None else
                                             "<%d>" % pt[0])
                out.append(("BODY.PEEK[%s]%s" % (spec, suffix), name,
                            cut(data, pt)))

        def partials(n):
            return (None, (0, 1), (0, n + 10), (1, 5), (max(n - 1, 0), 7),
                    (n, 4), (n + 5, 3))

        for kw in ("", "HEADER", "TEXT"):
            rng = resolve(root, (), kw)
            section(kw, rng, partials(rng[1] - rng[0]))
        for path, part in paths(root):
            spec = ".".join(map(str, path))
            for kw in ("", ".MIME") + ((".HEADER", ".TEXT") if
                                       part.ctype == "message/rfc822"
                                       else ()):
                rng = resolve(root, path, kw.lstrip("."))
                n = 0 if rng is None else rng[1] - rng[0]
                section(spec + kw, rng, partials(n))
            if not part.multipart and part.ctype != "message/rfc822":
                b = part.body
                data = decode(part.cte, raw[b[0]:b[1]])
                out.append(("BINARY.PEEK[%s]" % spec, "BINARY[%s]" % spec,
                            data))
                out.append(("BINARY.PEEK[%s]<1.4>" % spec,
                            "BINARY[%s]<1>" % spec, data[1:5]))
                out.append(("BINARY.SIZE[%s]" % spec,
                            "BINARY.SIZE[%s]" % spec,
                            str(len(data)).encode()))
        # Partials of the whole message across every part's end.
        for path, part in paths(root):
            for o in (part.body[1] - 3, part.hdr[1] - 2):
                if o >= 0:
                    section("", (0, len(raw)), ((o, 9),))
                    section("TEXT", root.body, ((max(o - root.body[0], 0),
                                                 9),))
        # Parts that do not exist.
        for spec in ("9", "1.9.9", "99.MIME", "1.1.1.1.1.1.TEXT"):
            nums = tuple(int(x) for x in spec.split(".") if x.isdigit())
            kw = spec.split(".")[-1] if not spec[-1].isdigit() else ""
            section(spec, resolve(root, nums, kw))
        # Header fields: filtered first, then the partial.
        for spec, rng in [("", root.hdr)] + [
                ("%s." % ".".join(map(str, p)), q.inner.hdr)
                for p, q in paths(root)
                if q.ctype == "message/rfc822" and q.inner is not None]:
            fl = [f for name, f in header_fields(raw[rng[0]:rng[1]])
                  if name is not None and name.lower() in (b"subject",
                                                           b"from")]
            want = b"".join(fl) + b"\r\n"
            out.append(("BODY.PEEK[%sHEADER.FIELDS (SUBJECT FROM)]" % spec,
                        "BODY[%sHEADER.FIELDS (SUBJECT FROM)]" % spec,
                        want))
            out.append(("BODY.PEEK[%sHEADER.FIELDS (SUBJECT FROM)]<2.5>"
                        % spec, "BODY[%sHEADER.FIELDS (SUBJECT FROM)]<2>"
                        % spec, want[2:7]))
        return out

    def test_every_section_of_the_corpus(self):
        msgs = corpus()
        user = self.new_user()
        c = self.login(user)
        for _, raw in msgs:
            _, done = self.append(c, raw)
            self.assertTrue(done.startswith("OK"), done)
        self.select(c)
        checked = 0
        for uid, (name, raw) in enumerate(msgs, 1):
            cases = self.cases(raw)
            for item, rname, want in cases:
                with self.subTest(message=name, item=item):
                    got = self.fetch(c, uid, item)
                    self.assertEqual(got.get(rname), want,
                                     "%s %s" % (name, item))
                    checked += 1
            # Several sections in one FETCH, then more than one request
            # takes (the whole message then comes, cut in imapd).
            uniq, names = [], set()
            for case in cases:
                if case[1] not in names:
                    names.add(case[1])
                    uniq.append(case)
            for group in (uniq[:6], uniq[:40]):
                items = " ".join(i for i, _, _ in group)
                got = self.fetch(c, uid, items)
                for item, rname, want in group:
                    self.assertEqual(got.get(rname), want,
                                     "%s %s (in a group)" % (name, item))
        self.assertGreater(checked, 500)
        # Most of them went as sections, not as whole messages.
        n = len(re.findall(r'sections "INBOX": status 0', self.t.logtext()))
        self.assertGreater(n, checked * 3 // 4)

    def test_only_the_part_travels(self):
        raw = big_message()
        root = parse_entity(raw, 0, len(raw))
        user = self.new_user()
        c = self.login(user)
        self.append(c, raw)
        self.select(c)
        rx = r'sections "INBOX": status 0, 1 records, (\d+) octets'

        def octets():
            return [int(x) for x in re.findall(rx, self.t.logtext())]
        before = len(octets())
        b = root.children[0].body
        got = self.fetch(c, 1, "BODY.PEEK[1]")
        self.assertEqual(got["BODY[1]"], raw[b[0]:b[1]])
        # The vault's answer: one record of the small part.
        self.t.wait_log(rx, before + 1)
        self.assertGreater(len(raw), 300000)
        self.assertLess(octets()[before], 200)
        # A partial of the whole message: the octets asked for only.
        got = self.fetch(c, 1, "BODY.PEEK[]<1000.1024>")
        self.assertEqual(got["BODY[]<1000>"], raw[1000:2024])
        self.t.wait_log(rx, before + 2)
        self.assertLess(octets()[before + 1], 1024 + 100)
        # BINARY of the attachment: the part, decoded in imapd.
        b = root.children[1].body
        got = self.fetch(c, 1, "BINARY.PEEK[2]<0.10>")
        self.assertEqual(got["BINARY[2]<0>"],
                         base64.b64decode(raw[b[0]:b[1]])[:10])
        # BODY[] is the whole message, as before.
        got = self.fetch(c, 1, "BODY.PEEK[]")
        self.assertEqual(got["BODY[]"], raw)


if __name__ == "__main__":
    unittest.main()
