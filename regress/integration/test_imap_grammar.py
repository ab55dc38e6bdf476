# The FETCH responses for the MIME corpus (regress/unit/mime/*.eml),
# checked two ways against a real imapd:
#
#   grammar     every response is read by a strict recursive-descent
#               parser written here from RFC 9051 section 9 (envelope,
#               body, body-type-1part / -mpart, body-fields, the
#               extension data, strings, numbers); anything the ABNF
#               does not allow fails the test.
#   semantics   the answers are compared with the message itself: the
#               tree shape as Python's email package sees it, and byte
#               ranges (part bodies, headers, sections of RFC 9051
#               6.4.5) found here by locating the boundaries in the raw
#               octets per RFC 2046 5.1.1 and RFC 5322 2.1, never taken
#               from the server.
#
# Nothing here reads the server's own notion of the structure except
# the answers under test.  A few corpus messages are malformed on
# purpose; common/front/mime.h says how the server degrades them, and where a
# degradation rule changes an answer the comparison follows the rule
# (each place says which).  The grammar is never relaxed for them.
# The rules followed: a multipart without parts is one empty TEXT/PLAIN
# part, whose sections are not compared (noboundaryline,
# noboundaryparam); entities 20 levels down are APPLICATION/OCTET-STREAM
# (deep); the first of repeated fields counts (duplicates); a subject's
# TAB is a SP (folded).  Where email reads octets another way than RFC
# 2046/5322 (noclose, noheader) only that cross-check is skipped.

import dataclasses
import email
import email.policy
import os
import re
import socket
import unittest

from tresor import TOP, DaemonCase

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"
TIMEOUT = 30
CORPUS = os.path.join(TOP, "regress", "unit", "mime")

# common/front/mime.h: "Multiparts and messages nested deeper than
# MIME_DEPTH_MAX are not looked into and are described as
# APPLICATION/OCTET-STREAM".  Counting the message itself as level 0,
# the entity at level 20 is the first one described so (deep.eml).
MIME_DEPTH_MAX = 20

# Items in one FETCH (imapd takes at most 64).
FETCH_BATCH = 32


# ---------------------------------------------------------------------
# The client: raw octets, each response with its literals inline.

class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.n = 0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("ascii")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; have %r" % self.buf[-200:])
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """One response, CRLF removed, literals inline: "{n}" CRLF and
        the n octets.  The framing also follows "{n+}" and "~{n}" so
        that the parser, not the reader, says they are wrong."""
        out = b""
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if m is None:
                return out + line
            out += line + b"\r\n" + self.read(int(m.group(1)))

    def tag(self):
        self.n += 1
        return "g%d" % self.n

    def until(self, tag):
        untagged = []
        t = tag.encode() + b" "
        while True:
            r = self.response()
            if r.startswith(t):
                return untagged, r[len(t):]
            untagged.append(r)

    def cmd(self, text):
        t = self.tag()
        self.send("%s %s\r\n" % (t, text))
        return self.until(t)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------
# RFC 9051 section 9, the parts a FETCH of these items can answer with.

def shown(octets):
    """Octets as a plain literal shows them: NUL as 0x80."""
    return octets.replace(b"\0", b"\x80")


class GrammarError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Envelope:
    date: object
    subject: object
    from_: object
    sender: object
    reply_to: object
    to: object
    cc: object
    bcc: object
    in_reply_to: object
    message_id: object


@dataclasses.dataclass(frozen=True)
class Part:
    """body-type-1part; form is "basic", "text" or "msg"."""
    form: str
    type: bytes
    subtype: bytes
    params: object
    id: object
    desc: object
    enc: bytes
    octets: int
    lines: object
    envelope: object
    body: object
    ext: object


@dataclasses.dataclass(frozen=True)
class Multi:
    """body-type-mpart."""
    parts: tuple
    subtype: bytes
    ext: object


def is_digit(c):
    return 0x30 <= c <= 0x39


class Parser:
    """Reads one response (bytes, without its final CRLF).  Strings
    are bytes, NIL is None.  Quoted strings are 7-bit: the session never
    enables UTF8=ACCEPT or IMAP4rev2.  nul_ok only lets a caller go on
    to compare contents after the strict parse has failed."""

    NEST_MAX = 200

    def __init__(self, data, nul_ok=False):
        self.d = bytes(data)
        self.i = 0
        self.nul_ok = nul_ok
        self.last_quoted = False

    def error(self, what):
        lo = max(0, self.i - 60)
        raise GrammarError("%s at octet %d: %r <HERE> %r" % (
            what, self.i, self.d[lo:self.i], self.d[self.i:self.i + 60]))

    def peek(self):
        return self.d[self.i:self.i + 1]

    def at(self, s):
        # ABNF quoted text is case-insensitive.
        return self.d[self.i:self.i + len(s)].upper() == s.upper()

    def eat(self, s):
        if self.at(s):
            self.i += len(s)
            return True
        return False

    def expect(self, s, what=None):
        if not self.eat(s):
            self.error("expected %s" % (what or repr(s)))

    def sp(self):
        self.expect(b" ", "SP")

    def end(self):
        if self.i != len(self.d):
            self.error("expected the end of the response")

    def number(self, bits=32, nz=False):
        j = self.i
        while j < len(self.d) and is_digit(self.d[j]):
            j += 1
        if j == self.i:
            self.error("expected a number")
        if nz and self.d[self.i] == 0x30:
            self.error("expected nz-number")
        v = int(self.d[self.i:j])
        if v >= 1 << bits:
            self.error("number out of range")
        self.i = j
        return v

    def number64(self):
        return self.number(63)

    # string = quoted / literal; nstring = string / nil

    def string(self):
        c = self.peek()
        if c == b'"':
            return self.quoted()
        if c == b"{":
            return self.literal()
        self.error("expected a string")

    def nstring(self):
        if self.eat(b"NIL"):
            return None
        return self.string()

    def quoted(self):
        self.expect(b'"')
        out = bytearray()
        while True:
            if self.i >= len(self.d):
                self.error("unterminated quoted string")
            c = self.d[self.i]
            if c == 0x22:
                self.i += 1
                self.last_quoted = True
                return bytes(out)
            if c == 0x5c:
                n = self.d[self.i + 1:self.i + 2]
                if n not in (b'"', b"\\"):
                    self.error("backslash not before a quoted-special")
                out += n
                self.i += 2
                continue
            if c in (0x00, 0x0d, 0x0a):
                self.error("NUL, CR or LF in a quoted string")
            if c >= 0x80:
                self.error("8-bit octet in a quoted string")
            out.append(c)
            self.i += 1

    def literal(self):
        self.expect(b"{")
        n = self.number64()
        if self.at(b"+"):
            self.error("non-synchronizing literal from the server")
        self.expect(b"}")
        self.expect(b"\r\n", "CRLF after the literal's length")
        if len(self.d) - self.i < n:
            self.error("literal shorter than its length")
        data = self.d[self.i:self.i + n]
        if b"\0" in data and not self.nul_ok:
            self.i += data.index(b"\0")
            self.error("NUL in a literal (CHAR8 is %x01-ff)")
        self.i += n
        self.last_quoted = False
        return data

    # envelope

    def envelope(self):
        self.expect(b"(", "'(' of envelope")
        v = [self.nstring()]
        self.sp()
        v.append(self.nstring())
        for _ in range(6):
            self.sp()
            v.append(self.addr_list())
        self.sp()
        v.append(self.nstring())
        self.sp()
        v.append(self.nstring())
        self.expect(b")", "')' closing envelope")
        return Envelope(*v)

    def addr_list(self):
        if self.eat(b"NIL"):
            return None
        self.expect(b"(", "'(' of an address list or NIL")
        out = [self.address()]
        while self.peek() == b"(":
            out.append(self.address())
        self.expect(b")", "')' closing an address list")
        return tuple(out)

    def address(self):
        self.expect(b"(", "'(' of address")
        a = [self.nstring()]
        for _ in range(3):
            self.sp()
            a.append(self.nstring())
        self.expect(b")", "')' closing address")
        return tuple(a)

    # body

    def body(self, depth=0):
        if depth > self.NEST_MAX:
            self.error("body nested too deep for this parser")
        self.expect(b"(", "'(' of body")
        if self.peek() == b"(":
            b = self.mpart(depth)
        else:
            b = self.onepart(depth)
        self.expect(b")", "')' closing body")
        return b

    def mpart(self, depth):
        parts = [self.body(depth + 1)]
        while self.peek() == b"(":
            parts.append(self.body(depth + 1))
        self.sp()
        sub = self.string()
        ext = None
        if self.peek() == b" ":
            self.sp()
            ext = (self.fld_param(),) + self.ext_tail()
        return Multi(tuple(parts), sub, ext)

    def onepart(self, depth):
        t = self.string()
        tq = self.last_quoted
        self.sp()
        s = self.string()
        sq = self.last_quoted
        tu, su = t.upper(), s.upper()
        # media-text and media-message are the DQUOTE forms; a TEXT
        # part has lines (7.5.2) and MESSAGE/RFC822 is never a basic
        # part (RFC 3501 says so in the ABNF).  MESSAGE/GLOBAL is a
        # message in IMAP4rev2 and basic in IMAP4rev1 (RFC 9755 6).
        if tq and tu == b"TEXT":
            form = "text"
        elif tq and sq and tu == b"MESSAGE" and su == b"RFC822":
            form = "msg"
        elif tq and sq and tu == b"MESSAGE" and su == b"GLOBAL":
            form = None
        else:
            form = "basic"
        self.sp()
        params = self.fld_param()
        self.sp()
        pid = self.nstring()
        self.sp()
        desc = self.nstring()
        self.sp()
        enc = self.string()
        self.sp()
        octets = self.number()
        if form is None:
            form = "msg" if self.at(b" (") else "basic"
        lines = env = inner = None
        if form == "text":
            self.sp()
            lines = self.number64()
        elif form == "msg":
            self.sp()
            env = self.envelope()
            self.sp()
            inner = self.body(depth + 1)
            self.sp()
            lines = self.number64()
        ext = None
        if self.peek() == b" ":
            self.sp()
            ext = (self.nstring(),) + self.ext_tail()
        return Part(form, t, s, params, pid, desc, enc, octets, lines, env,
                    inner, ext)

    def fld_param(self):
        if self.eat(b"NIL"):
            return None
        self.expect(b"(", "'(' of body-fld-param or NIL")
        out = [self.string()]
        self.sp()
        out.append(self.string())
        while self.peek() == b" ":
            self.sp()
            out.append(self.string())
            self.sp()
            out.append(self.string())
        self.expect(b")", "')' closing body-fld-param")
        return tuple(out)

    def ext_tail(self):
        """[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc
        *(SP body-extension)]]]"""
        out = []
        if self.peek() != b" ":
            return ()
        self.sp()
        out.append(self.fld_dsp())
        if self.peek() != b" ":
            return tuple(out)
        self.sp()
        out.append(self.fld_lang())
        if self.peek() != b" ":
            return tuple(out)
        self.sp()
        out.append(self.nstring())
        while self.peek() == b" ":
            self.sp()
            out.append(self.body_extension(0))
        return tuple(out)

    def fld_dsp(self):
        if self.eat(b"NIL"):
            return None
        self.expect(b"(", "'(' of body-fld-dsp or NIL")
        t = self.string()
        self.sp()
        p = self.fld_param()
        self.expect(b")", "')' closing body-fld-dsp")
        return (t, p)

    def fld_lang(self):
        if self.peek() == b"(":
            self.i += 1
            out = [self.string()]
            while self.peek() == b" ":
                self.sp()
                out.append(self.string())
            self.expect(b")", "')' closing body-fld-lang")
            return tuple(out)
        return self.nstring()

    def body_extension(self, depth):
        if depth > self.NEST_MAX:
            self.error("body-extension nested too deep for this parser")
        if self.peek() == b"(":
            self.i += 1
            out = [self.body_extension(depth + 1)]
            while self.peek() == b" ":
                self.sp()
                out.append(self.body_extension(depth + 1))
            self.expect(b")", "')' closing body-extension")
            return tuple(out)
        if self.i < len(self.d) and is_digit(self.d[self.i]):
            return self.number64()
        return self.nstring()

    # "*" SP nz-number SP "FETCH" SP msg-att

    def fetch_response(self):
        self.expect(b"* ")
        seq = self.number(nz=True)
        self.sp()
        self.expect(b"FETCH")
        self.sp()
        self.expect(b"(", "'(' of msg-att")
        atts = {}
        while True:
            name, value = self.msg_att()
            if name in atts:
                self.error("%s twice" % name)
            atts[name] = value
            if self.peek() != b" ":
                break
            self.sp()
        self.expect(b")", "')' closing msg-att")
        self.end()
        return seq, atts

    def msg_att(self):
        if self.eat(b"UID "):
            return "UID", self.number(nz=True)
        if self.eat(b"RFC822.SIZE "):
            return "RFC822.SIZE", self.number64()
        if self.eat(b"ENVELOPE "):
            return "ENVELOPE", self.envelope()
        if self.eat(b"BODYSTRUCTURE "):
            return "BODYSTRUCTURE", self.body()
        if self.eat(b"BODY["):
            name = "BODY[%s]" % self.section_spec()
            self.expect(b"]", "']' closing section")
            if self.eat(b"<"):
                name += "<%d>" % self.number()
                self.expect(b">")
            self.sp()
            return name, self.nstring()
        if self.eat(b"BODY "):
            return "BODY", self.body()
        if self.eat(b"FLAGS "):
            return "FLAGS", self.flag_list()
        self.error("expected a msg-att")

    def section_spec(self):
        start = self.i
        if self.peek() == b"]":
            return ""
        if self.i < len(self.d) and is_digit(self.d[self.i]):
            self.number(nz=True)
            while (self.peek() == b"." and self.i + 1 < len(self.d) and
                   is_digit(self.d[self.i + 1])):
                self.i += 1
                self.number(nz=True)
            if self.eat(b"."):
                if not self.eat(b"MIME"):
                    self.section_msgtext()
        else:
            self.section_msgtext()
        return self.d[start:self.i].decode("ascii").upper()

    def section_msgtext(self):
        if self.eat(b"HEADER.FIELDS"):
            self.eat(b".NOT")
            self.sp()
            self.expect(b"(")
            self.astring()
            while self.peek() == b" ":
                self.sp()
                self.astring()
            self.expect(b")")
        elif not (self.eat(b"HEADER") or self.eat(b"TEXT")):
            self.error("expected section-msgtext")

    def atom(self, extra=b""):
        j = self.i
        while j < len(self.d):
            c = self.d[j]
            if c <= 0x20 or c >= 0x7f or bytes([c]) in b'(){%*"\\]' + extra:
                break
            j += 1
        if j == self.i:
            self.error("expected an atom")
        v, self.i = self.d[self.i:j], j
        return v

    def astring(self):
        if self.peek() in (b'"', b"{"):
            return self.string()
        return self.atom()

    def flag_list(self):
        self.expect(b"(")
        out = []
        while self.peek() != b")":
            if out:
                self.sp()
            if self.eat(b"\\"):
                out.append(b"\\" + self.atom())
            else:
                out.append(self.atom())
        self.expect(b")")
        return tuple(out)


def parse_body(data):
    p = Parser(data)
    b = p.body()
    p.end()
    return b


def parse_envelope(data):
    p = Parser(data)
    e = p.envelope()
    p.end()
    return e


def strip_ext(b):
    """The non-extensible form: no extension data anywhere."""
    if isinstance(b, Multi):
        return Multi(tuple(strip_ext(p) for p in b.parts), b.subtype, None)
    return dataclasses.replace(
        b, ext=None, body=strip_ext(b.body) if b.body is not None else None)


def has_ext(b):
    if b.ext is not None:
        return True
    if isinstance(b, Multi):
        return any(has_ext(p) for p in b.parts)
    return b.body is not None and has_ext(b.body)


# ---------------------------------------------------------------------
# The message's own structure, from the raw octets.

def lines_of(data):
    """Lines split after each LF, line ends kept."""
    out, i = [], 0
    while i < len(data):
        j = data.find(b"\n", i)
        if j < 0:
            out.append(data[i:])
            break
        out.append(data[i:j + 1])
        i = j + 1
    return out


def header_end(raw, start, end):
    """Where the header of raw[start:end] ends: after the first empty
    line (RFC 5322 2.1), or at the end if there is none."""
    i = start
    for line in lines_of(raw[start:end]):
        i += len(line)
        if line in (b"\r\n", b"\n"):
            return i
    return end


def is_ftext(name):
    return name != b"" and all(33 <= c <= 126 and c != 0x3a for c in name)


def header_fields(block):
    """[(lower-case name, value as written)]: continuation lines are
    part of the field before them, lines without a name are skipped."""
    fields, cur = [], None
    for line in lines_of(block):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t"):
            if cur is not None:
                cur[1] += line
            continue
        k = line.find(b":")
        name = line[:k].rstrip(b" \t") if k > 0 else b""
        if not is_ftext(name):
            cur = None
            continue
        cur = [name.lower(), line[k + 1:]]
        fields.append(cur)
    return [(n, v) for n, v in fields]


def first(fields, name):
    for n, v in fields:
        if n == name:
            return v
    return None


def unfold(v):
    """RFC 5322 2.2.3, and the white space at either end dropped."""
    v = v.replace(b"\r\n", b"").replace(b"\n", b"")
    return v.strip(b" \t")


class Lex:
    """RFC 2045 5.1 tokens, quoted strings and comments."""
    TSPECIALS = b'()<>@,;:\\"/[]?='

    def __init__(self, s):
        self.s, self.i = s, 0

    def cfws(self):
        while self.i < len(self.s):
            c = self.s[self.i:self.i + 1]
            if c in (b" ", b"\t", b"\r", b"\n"):
                self.i += 1
            elif c == b"(":
                depth = 0
                while self.i < len(self.s):
                    c = self.s[self.i:self.i + 1]
                    if c == b"\\":
                        self.i += 1
                    elif c == b"(":
                        depth += 1
                    elif c == b")":
                        depth -= 1
                        if depth == 0:
                            self.i += 1
                            break
                    self.i += 1
            else:
                break

    def eat(self, c):
        if self.s[self.i:self.i + 1] == c:
            self.i += 1
            return True
        return False

    def token(self):
        j = self.i
        while j < len(self.s):
            c = self.s[j]
            if c <= 0x20 or c >= 0x7f or bytes([c]) in self.TSPECIALS:
                break
            j += 1
        v, self.i = self.s[self.i:j], j
        return v

    def quoted(self):
        out = bytearray()
        self.i += 1
        while self.i < len(self.s):
            c = self.s[self.i:self.i + 1]
            if c == b"\\" and self.i + 1 < len(self.s):
                out += self.s[self.i + 1:self.i + 2]
                self.i += 2
            elif c == b'"':
                self.i += 1
                return bytes(out)
            else:
                out += c
                self.i += 1
        return None


def content_type(value):
    """(type, subtype, {name: value}) lower-case, or None when it does
    not parse (RFC 2045 5.2: then the default applies)."""
    lx = Lex(unfold(value))
    lx.cfws()
    t = lx.token()
    lx.cfws()
    if not t or not lx.eat(b"/"):
        return None
    lx.cfws()
    s = lx.token()
    if not s:
        return None
    params = {}
    while True:
        lx.cfws()
        if not lx.eat(b";"):
            break
        lx.cfws()
        a = lx.token()
        lx.cfws()
        if not a or not lx.eat(b"="):
            break
        lx.cfws()
        v = lx.quoted() if lx.s[lx.i:lx.i + 1] == b'"' else lx.token()
        if v is None:
            break
        params.setdefault(a.lower(), v)
    return t.lower().decode(), s.lower().decode(), params


def delimiters(raw, start, end, boundary):
    """The delimiter lines of a multipart body (RFC 2046 5.1.1): "--"
    boundary at the start of a line, then "--" for the close one, then
    only transport padding.  [(line start, next line start, close)],
    up to and including the close delimiter."""
    dash = b"--" + boundary
    out, i = [], start
    for line in lines_of(raw[start:end]):
        text = line[:-1] if line.endswith(b"\n") else line
        if text.endswith(b"\r"):
            text = text[:-1]
        if text.startswith(dash):
            rest = text[len(dash):]
            close = rest.startswith(b"--")
            if close:
                rest = rest[2:]
            if rest.strip(b" \t") == b"":
                out.append((i, i + len(line), close))
                if close:
                    break
        i += len(line)
    return out


class Ent:
    """An entity of the message: header raw[start:hdr_end] (with its
    empty line), body raw[hdr_end:end].  kind is "leaf", "multipart",
    "message" (children: the encapsulated message) or "opaque"."""

    def __init__(self, raw, start, end, default, depth):
        self.raw, self.start, self.end, self.depth = raw, start, end, depth
        self.hdr_end = header_end(raw, start, end)
        self.fields = header_fields(raw[start:self.hdr_end])
        v = first(self.fields, b"content-type")
        ct = content_type(v) if v is not None else None
        if ct is None:
            ct = default + ({},)
        self.type, self.subtype, self.params = ct
        self.children = []
        self.kind = "leaf"
        nested = self.type == "multipart" or (
            self.type, self.subtype) == ("message", "rfc822")
        if nested and depth >= MIME_DEPTH_MAX:
            self.kind = "opaque"
        elif self.type == "multipart":
            self.kind = "multipart"
            # RFC 2046 5.1.5: in a digest the default is message/rfc822.
            dflt = (("message", "rfc822") if self.subtype == "digest"
                    else ("text", "plain"))
            b = self.params.get(b"boundary")
            ds = delimiters(raw, self.hdr_end, end, b) if b else []
            for k, (ls, nxt, close) in enumerate(ds):
                if close:
                    break
                if k + 1 < len(ds):
                    # The line end before a delimiter belongs to it.
                    e = ds[k + 1][0]
                    if e > nxt and raw[e - 1:e] == b"\n":
                        e -= 1
                        if e > nxt and raw[e - 1:e] == b"\r":
                            e -= 1
                else:
                    # No close delimiter (malformed): the part runs to
                    # the end of the enclosing body, as mime.h says.
                    e = end
                self.children.append(Ent(raw, nxt, e, dflt, depth + 1))
        elif (self.type, self.subtype) == ("message", "rfc822"):
            self.kind = "message"
            self.children = [Ent(raw, self.hdr_end, end, ("text", "plain"),
                                 depth + 1)]

    @property
    def header(self):
        return self.raw[self.start:self.hdr_end]

    @property
    def body(self):
        return self.raw[self.hdr_end:self.end]


def shape_of_tree(e):
    if e.kind == "opaque":
        return ("application", "octet-stream", None)
    if e.kind in ("multipart", "message"):
        return (e.type, e.subtype, [shape_of_tree(c) for c in e.children])
    return (e.type, e.subtype, None)


def shape_of_email(m, depth=0):
    mt, st = m.get_content_type().split("/", 1)
    if depth >= MIME_DEPTH_MAX and (mt == "multipart" or
                                    (mt, st) == ("message", "rfc822")):
        return ("application", "octet-stream", None)
    if mt == "multipart" or (mt, st) == ("message", "rfc822"):
        pl = m.get_payload()
        kids = pl if isinstance(pl, list) else []
        return (mt, st, [shape_of_email(p, depth + 1) for p in kids])
    return (mt, st, None)


def shape_of_body(b):
    if isinstance(b, Multi):
        return ("multipart", b.subtype.decode("latin-1").lower(),
                [shape_of_body(p) for p in b.parts])
    t = b.type.decode("latin-1").lower()
    s = b.subtype.decode("latin-1").lower()
    if b.form == "msg":
        return (t, s, [shape_of_body(b.body)])
    return (t, s, None)


def degraded_shape(shape):
    """mime.h: "A multipart without usable boundary, or whose boundary
    never occurs, has no parts and is written with one empty text/plain
    part" (body-type-mpart needs 1*body)."""
    t, s, kids = shape
    if kids is None:
        return shape
    if t == "multipart" and not kids:
        return (t, s, [("text", "plain", None)])
    return (t, s, [degraded_shape(k) for k in kids])


def email_leaves(e, m, out):
    """(entity, email part) for the leaves where both trees agree."""
    if e.kind == "leaf" and not m.is_multipart():
        out.append((e, m))
    elif e.kind in ("multipart", "message") and m.is_multipart():
        pl = m.get_payload()
        if len(pl) == len(e.children):
            for c, p in zip(e.children, pl):
                email_leaves(c, p, out)
    return out


def email_raw_payload(m):
    """The body octets as email has them, or None when only a decoded
    form is on offer."""
    pl = m.get_payload()
    if isinstance(pl, str) and pl.isascii():
        return pl.encode("ascii")
    cte = (m.get("content-transfer-encoding") or "7bit").strip().lower()
    if cte in ("7bit", "8bit", "binary"):
        return m.get_payload(decode=True)
    return None


def sections(msg):
    """{section-spec: octets} per RFC 9051 6.4.5 for every part of the
    message, with the header and text of the message."""
    out = {"": msg.raw[msg.start:msg.end], "HEADER": msg.header,
           "TEXT": msg.body}
    number_message(msg, "", out)
    return out


def number_message(m, prefix, out):
    # "Non-[MIME-IMB] messages, and non-multipart [MIME-IMB] messages
    # with no encapsulated message, only have a part 1": the body of the
    # message, whose MIME header is the message's header.
    if m.kind == "multipart":
        for k, c in enumerate(m.children, 1):
            number_part(c, "%s%d" % (prefix, k), out)
    else:
        number_part(m, prefix + "1", out)


def number_part(p, s, out):
    out[s] = p.body
    out[s + ".MIME"] = p.header
    if p.kind == "multipart":
        # Without parts the server makes one up (degraded_shape); it
        # has no octets of the message to compare with.
        for k, c in enumerate(p.children, 1):
            number_part(c, "%s.%d" % (s, k), out)
    elif p.kind == "message":
        inner = p.children[0]
        out[s + ".HEADER"] = inner.header
        out[s + ".TEXT"] = inner.body
        number_message(inner, s + ".", out)


def env_value(fields, name, human):
    """What mime.h says the envelope holds for a field: the raw value of
    its first occurrence, unfolded and trimmed.  Subjects are text for
    people: TAB (and a lone CR) become SP (common/front/mime_imap.c); a NUL
    would be U+FFFD.  None when absent."""
    v = first(fields, name)
    if v is None:
        return None
    v = unfold(v)
    v = v.strip(b"\r")
    if human:
        v = v.replace(b"\t", b" ").replace(b"\r", b" ")
    return v.replace(b"\0", "\ufffd".encode())


# ---------------------------------------------------------------------
# The parser on its own: what it must take and what it must refuse.

PLAIN = b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1)'
IMG = b'("IMAGE" "PNG" NIL "<i@x>" NIL "BASE64" 12 NIL NIL NIL NIL)'
ENV = (b'("Mon, 1 Jan 2024 00:00:00 +0000" "s" (("A" NIL "a" "x.test")) '
       b'(("A" NIL "a" "x.test")) (("A" NIL "a" "x.test")) '
       b'((NIL NIL "g" NIL)(NIL NIL "b" "y.test")(NIL NIL NIL NIL)) '
       b'NIL NIL NIL "<m@x.test>")')


class GrammarSelfTest(unittest.TestCase):
    def ok(self, data, parse=parse_body):
        try:
            return parse(data)
        except GrammarError as e:
            self.fail("refused %r: %s" % (data, e))

    def bad(self, data, parse=parse_body):
        with self.assertRaises(GrammarError, msg=repr(data)):
            parse(data)

    def test_accepts(self):
        b = self.ok(PLAIN)
        self.assertEqual((b.form, b.octets, b.lines, b.ext),
                         ("text", 10, 1, None))
        b = self.ok(b"(" + PLAIN + IMG + b' "MIXED")')
        self.assertEqual(len(b.parts), 2)
        self.assertEqual(b.parts[1].ext, (None, None, None, None))
        # Every optional tail of body-ext-mpart, extensions nested.
        b = self.ok(b"(" + PLAIN + b' "MIXED" ("BOUNDARY" "x") '
                    b'("INLINE" NIL) ("en" "de") "loc" 7 ("a" (1 NIL)))')
        self.assertEqual(b.ext, ((b"BOUNDARY", b"x"), (b"INLINE", None),
                                 (b"en", b"de"), b"loc", 7,
                                 (b"a", (1, None))))
        self.ok(b"(" + PLAIN + b' "MIXED" NIL)')
        # Literals, escapes, lower-case NIL, message/rfc822.
        b = self.ok(b'("TEXT" {5}\r\nP"\\)L nil NIL "\\"\\\\" '
                    b'"7BIT" 0 0)')
        self.assertEqual((b.form, b.subtype, b.params, b.desc),
                         ("text", b'P"\\)L', None, b'"\\'))
        b = self.ok(b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 30 ' + ENV +
                    b" " + PLAIN + b" 3 NIL NIL NIL NIL)")
        self.assertEqual((b.form, b.envelope.subject, b.lines),
                         ("msg", b"s", 3))
        self.assertEqual(b.envelope.to[2], (None, None, None, None))
        self.ok(ENV, parse_envelope)
        self.ok(b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
                parse_envelope)
        seq, atts = Parser(b'* 3 FETCH (UID 9 BODY[1.2.MIME] {2}\r\nab '
                           b'BODY[HEADER] "" BODY[] NIL RFC822.SIZE 0 '
                           b'BODY[2.HEADER.FIELDS (A "B")]<0> "x")'
                           ).fetch_response()
        self.assertEqual((seq, atts["UID"], atts["BODY[1.2.MIME]"],
                          atts["BODY[HEADER]"], atts["BODY[]"]),
                         (3, 9, b"ab", b"", None))

    def test_refuses(self):
        for data in (
                b'( "MIXED")',                      # no part at all
                b'("MIXED")',
                b"(" + PLAIN + b" " + PLAIN + b' "MIXED")',  # SP between
                b"(" + PLAIN + b" NIL)",            # NIL media-subtype
                b'("TEXT" NIL NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" "PLAIN" NIL NIL NIL NIL 1 1)',   # NIL encoding
                b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" -1 1)',
                b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 4294967296 1)',
                b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1)',  # no lines
                b'("TEXT" "PLAIN" NIL NIL "7BIT" 1 1)',    # field missing
                b'("TEXT" "PLAIN" () NIL NIL "7BIT" 1 1)',
                b'("TEXT" "PLAIN" ("A") NIL NIL "7BIT" 1 1)',
                b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 NIL ())',
                b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 NIL NIL ())',
                b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 )',
                b'("TEXT"  "PLAIN" NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" "PL\\AIN" NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" "PL\xc3\xa4" NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" "P\rL" NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" {2+}\r\nPL NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" {2}\r\nP\0 NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" ~{2}\r\nPL NIL NIL NIL "7BIT" 1 1)',
                b'("TEXT" {3}\r\nPL',
                b'("TEXT" PLAIN NIL NIL NIL "7BIT" 1 1)',   # atom
                b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 30 ' + PLAIN +
                b" 3)",                              # no envelope
                b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 30)',
                PLAIN + b" ",                        # trailing octets
                PLAIN[:-1]):
            self.bad(data)
        for data in (
                b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL)",   # 9 fields
                b"(NIL NIL () NIL NIL NIL NIL NIL NIL NIL)",
                b'(NIL NIL (("A" NIL "a")) NIL NIL NIL NIL NIL NIL NIL)',
                b'(NIL NIL (("A" NIL "a" "x") ("B" NIL "b" "x")) NIL NIL '
                b"NIL NIL NIL NIL NIL)",
                b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL )"):
            self.bad(data, parse_envelope)
        for data in (b"* 0 FETCH (UID 1)", b"* 1 FETCH (UID 0)",
                     b"* 1 FETCH (UID 1 UID 1)", b"* 1 FETCH ()",
                     b"* 1 FETCH (BODY[0] NIL)", b"* 1 FETCH (BODY[1.] NIL)",
                     b"* 1 FETCH (BODY[MIME] NIL)",
                     b"* 1 FETCH (RFC822.SIZE -1)",
                     b"* 1 FETCH (BODY[] {1}\r\n\0)"):
            self.bad(data, lambda d: Parser(d).fetch_response())


# ---------------------------------------------------------------------
# The corpus through imapd.

class Corpus(DaemonCase):
    extra = FAST_KDF
    user = "grammar@test.example"

    @classmethod
    def prepare(cls, t):
        t.add_user(cls.user, PASSWORD)

    def setUp(self):
        super().setUp()
        self.conns = []

    def tearDown(self):
        # LOGOUT, so that the account's sessions (32 at most) are gone
        # before the next test logs in.
        for c in self.conns:
            try:
                c.cmd("LOGOUT")
            except (OSError, EOFError):
                pass
            c.close()

    def login(self):
        s = socket.create_connection(("127.0.0.1", self.t.port("imap")),
                                     timeout=TIMEOUT)
        c = Conn(s)
        self.conns.append(c)
        self.assertTrue(c.response().startswith(b"* OK "))
        u, done = c.cmd('LOGIN %s "%s"' % (self.user, PASSWORD))
        self.assertTrue(done.startswith(b"OK "), done)
        return c

    def append(self, c, raw):
        """APPEND as a literal; with a NUL, as a literal8 (RFC 3516 4.4),
        since a literal cannot hold one (RFC 9051 4.3).  The UID."""
        t = c.tag()
        c.send("%s APPEND INBOX %s{%d}\r\n" %
               (t, "~" if b"\0" in raw else "", len(raw)))
        cont = c.response()
        self.assertTrue(cont.startswith(b"+"), cont)
        c.send(raw + b"\r\n")
        u, done = c.until(t)
        m = re.match(rb"OK \[APPENDUID \d+ (\d+)\] ", done)
        self.assertIsNotNone(m, done)
        return int(m.group(1))

    def fetch(self, c, uid, items, errs, what):
        """UID FETCH, its one FETCH response parsed strictly: the
        attributes, or None.  A grammar error is recorded in errs; the
        contents are then read again letting NUL through, so that the
        other comparisons still run."""
        u, done = c.cmd("UID FETCH %d (%s)" % (uid, " ".join(items)))
        if done != b"OK FETCH completed":
            errs.append("%s: tagged %r" % (what, done))
            return None
        rs = [r for r in u if re.match(rb"\* \d+ FETCH ", r)]
        if len(rs) != 1:
            errs.append("%s: %d FETCH responses: %r" % (what, len(rs), u))
            return None
        try:
            _, atts = Parser(rs[0]).fetch_response()
        except GrammarError as e:
            errs.append("GRAMMAR %s: %s" % (what, e))
            try:
                _, atts = Parser(rs[0], nul_ok=True).fetch_response()
            except GrammarError:
                return None
        if atts.get("UID") != uid:
            errs.append("%s: UID %r, not %d" % (what, atts.get("UID"), uid))
        return atts

    def check_message(self, name):
        with open(os.path.join(CORPUS, name + ".eml"), "rb") as f:
            raw = f.read()
        tree = Ent(raw, 0, len(raw), ("text", "plain"), 0)
        errs = []

        def eq(got, want, what):
            if got != want:
                errs.append("%s:\n      got  %r\n      want %r" %
                            (what, got, want))

        # The splitter here against the email package: same tree, and
        # where email gives the octets of a leaf, the same octets.
        em = email.message_from_bytes(raw, policy=email.policy.compat32)
        eq(shape_of_tree(tree), shape_of_email(em), "tree: here vs email")
        if name not in EMAIL_OCTETS_DIFFER:
            for e, m in email_leaves(tree, em, []):
                b = email_raw_payload(m)
                if b is not None:
                    eq(e.body, b, "octets of a %s/%s leaf: here vs email" %
                       (e.type, e.subtype))

        c = self.login()
        uid = self.append(c, raw)
        u, done = c.cmd("EXAMINE INBOX")
        self.assertTrue(done.startswith(b"OK [READ-ONLY]"), done)

        items = ["ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.SIZE",
                 "BODY.PEEK[]"]
        atts = self.fetch(c, uid, items, errs, "FETCH (%s)" %
                          " ".join(items))
        if atts is None:
            self.fail("\n".join(errs))
        eq(sorted(atts), sorted(["UID", "ENVELOPE", "BODYSTRUCTURE",
                                 "BODY", "RFC822.SIZE", "BODY[]"]),
           "items answered")
        eq(atts.get("RFC822.SIZE"), len(raw), "RFC822.SIZE")
        # A literal cannot hold NUL: the server shows 0x80 there.
        eq(atts.get("BODY[]"), shown(raw), "BODY[]")
        bs, body = atts.get("BODYSTRUCTURE"), atts.get("BODY")
        if bs is not None and body is not None:
            eq(body, strip_ext(bs), "BODY vs BODYSTRUCTURE without "
               "extension data")
            if has_ext(body):
                errs.append("BODY has extension data: %r" % (body,))
        if bs is not None:
            eq(shape_of_body(bs), degraded_shape(shape_of_tree(tree)),
               "BODYSTRUCTURE tree")
            self.compare(tree, bs, "", errs)
        if "ENVELOPE" in atts:
            self.compare_envelope(tree, atts["ENVELOPE"], "ENVELOPE", errs)

        want = sections(tree)
        names = list(want)
        for k in range(0, len(names), FETCH_BATCH):
            batch = names[k:k + FETCH_BATCH]
            peeks = ["BODY.PEEK[%s]" % s for s in batch]
            got = self.fetch(c, uid, peeks, errs,
                             "FETCH (%s)" % " ".join(peeks))
            if got is None:
                continue
            for s in batch:
                eq(got.get("BODY[%s]" % s), shown(want[s]), "BODY[%s]" % s)
        if b"\0" in raw:
            # BINARY (RFC 3516) gives the octets as they are, in a
            # literal8; a plain literal with a NUL is refused.
            u, done = c.cmd("UID FETCH %d (BINARY.PEEK[])" % uid)
            eq(done, b"OK FETCH completed", "FETCH BINARY.PEEK[]")
            eq([re.sub(rb"^\* \d+ ", b"* n ", r) for r in u],
               [b"* n FETCH (UID %d BINARY[] ~{%d}\r\n" %
                (uid, len(raw)) + raw + b")"], "BINARY[]")
            t = c.tag()
            c.send("%s APPEND INBOX {%d}\r\n" % (t, len(raw)))
            cont = c.response()
            self.assertTrue(cont.startswith(b"+"), cont)
            c.send(raw + b"\r\n")
            u, done = c.until(t)
            eq(done, b"BAD NUL in a literal: send the message as ~{n}",
               "APPEND of NUL in a plain literal")
        if errs:
            self.fail("%s: %d problem(s)\n  %s" %
                      (name, len(errs), "\n  ".join(errs)))

    def test_corpus_present(self):
        # The tests below are made from the files: none would run if
        # the corpus went missing.
        names = [f for f in os.listdir(CORPUS) if f.endswith(".eml")]
        self.assertGreaterEqual(len(names), 29)

    def compare_envelope(self, e, env, what, errs):
        for field, name, human in (("date", b"date", False),
                                   ("subject", b"subject", True),
                                   ("in_reply_to", b"in-reply-to", False),
                                   ("message_id", b"message-id", False)):
            want = env_value(e.fields, name, human)
            got = getattr(env, field)
            if got != want:
                errs.append("%s %s:\n      got  %r\n      want %r" %
                            (what, field, got, want))

    def compare(self, e, b, path, errs):
        """The part e of the message against its description b."""
        where = "BODYSTRUCTURE part %s" % (path or "(message)")

        def eq(got, want, what):
            if got != want:
                errs.append("%s %s: got %r, want %r" % (where, what, got,
                                                        want))

        if e.kind == "multipart":
            if not isinstance(b, Multi):
                errs.append("%s: not a multipart: %r" % (where, b))
                return
            eq(b.subtype.upper(), e.subtype.upper().encode(), "subtype")
            if not e.children:
                # Degraded (mime.h): one empty text/plain part.
                p = b.parts[0] if len(b.parts) == 1 else None
                eq(p is not None and (p.type.upper(), p.subtype.upper(),
                                      p.octets, p.lines),
                   (b"TEXT", b"PLAIN", 0, 0), "stand-in part")
                return
            if len(b.parts) != len(e.children):
                errs.append("%s: %d parts, want %d" % (
                    where, len(b.parts), len(e.children)))
                return
            for k, (c, p) in enumerate(zip(e.children, b.parts), 1):
                self.compare(c, p, "%s%s%d" % (path, "." if path else "",
                                               k), errs)
            return
        if not isinstance(b, Part):
            errs.append("%s: a multipart: %r" % (where, b))
            return
        if e.kind == "opaque":
            want = (b"APPLICATION", b"OCTET-STREAM")
        else:
            want = (e.type.upper().encode(), e.subtype.upper().encode())
        eq((b.type.upper(), b.subtype.upper()), want, "media type")
        eq(b.octets, len(e.body), "body-fld-octets")
        if e.kind == "message":
            eq(b.form, "msg", "form")
            eq(b.lines, e.body.count(b"\n"), "body-fld-lines")
            if b.form == "msg":
                self.compare_envelope(e.children[0], b.envelope,
                                      where + " envelope", errs)
                self.compare(e.children[0], b.body,
                             path + ".(message)", errs)
        elif e.type == "text" and e.kind != "opaque":
            eq(b.form, "text", "form")
            eq(b.lines, e.body.count(b"\n"), "body-fld-lines")
        else:
            eq(b.form, "basic", "form")


# mime.h degradations where the email package reads the octets another
# way than RFC 2046/5322 and the server do.
EMAIL_OCTETS_DIFFER = {
    # No close delimiter: email drops the last part's final CRLF as if a
    # delimiter followed; with none, mime.h (and this file) let the part
    # run to the end of the enclosing body.
    "noclose",
    # No empty line: RFC 5322 makes every line header (the body is
    # absent), as mime.h does; email takes the lines as body.
    "noheader",
}


def _add_tests():
    for f in sorted(os.listdir(CORPUS)):
        if not f.endswith(".eml"):
            continue
        name = f[:-4]

        def test(self, name=name):
            self.check_message(name)
        setattr(Corpus, "test_" + re.sub(r"\W", "_", name), test)


_add_tests()


if __name__ == "__main__":
    unittest.main()
