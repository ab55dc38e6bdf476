# IMAP through the real daemons: mail goes in over SMTP (the MX port) or
# APPEND, and is read back with Python's imaplib, raw sockets (for the
# exact octets of each response, and for what imaplib cannot send) and
# curl.  Expected responses are written out by hand from RFC 9051 (and
# RFC 7162 CONDSTORE/QRESYNC, RFC 4731 ESEARCH, RFC 5182 SEARCHRES,
# RFC 3516 BINARY, RFC 4315 UIDPLUS, RFC 6851 MOVE, RFC 7888 LITERAL+).
#
# Every wait has a deadline; nothing sleeps to synchronise.

import base64
import imaplib
import os
import re
import shutil
import socket
import subprocess
import time
import unittest

from tresor import (LISTENERS, DaemonCase, client_tls, require_tool,
                    wait_for)

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"
TIMEOUT = 30

# The capability list, as imap_capability() writes it (RFC 9051 7.2.2).
EXTENSIONS = ("LITERAL+ ENABLE ID IDLE NAMESPACE UNSELECT UIDPLUS "
              "MULTIAPPEND MOVE "
              "CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED "
              "LIST-STATUS ESEARCH SEARCHRES SORT ESORT "
              "THREAD=ORDEREDSUBJECT THREAD=REFERENCES CONDSTORE QRESYNC "
              "STATUS=SIZE "
              "BINARY UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE "
              "APPENDLIMIT=36700160")


def caps(starttls=False, auth=None):
    """The CAPABILITY atoms: auth is "plain", "disabled" or None."""
    c = "IMAP4rev1 IMAP4rev2"
    if starttls:
        c += " STARTTLS"
    if auth == "plain":
        c += " AUTH=PLAIN SASL-IR"
    elif auth == "disabled":
        c += " LOGINDISABLED"
    c += " " + EXTENSIONS
    # Only once logged in: COMPRESS is not valid before.
    if auth is None:
        c += " COMPRESS=DEFLATE"
    return c


def crlf(text):
    return text.replace("\n", "\r\n").encode()


class Conn:
    """A raw IMAP client.  Responses are str (latin-1, so every octet is
    kept), with each literal inline: "{n}" CRLF, its octets, the rest."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.n = 0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
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
        out = b""
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\}$", line)
            if m is None:
                return (out + line).decode("latin-1")
            out += line + b"\r\n" + self.read(int(m.group(1)))

    def tag(self):
        self.n += 1
        return "a%d" % self.n

    def until(self, tag):
        """(untagged responses, tagged response) for tag."""
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + " "):
                return untagged, r
            untagged.append(r)

    def cmd(self, text):
        t = self.tag()
        self.send("%s %s\r\n" % (t, text))
        u, done = self.until(t)
        return u, done[len(t) + 1:]

    def cmd_lit(self, head, data, tail=""):
        """head {n} CRLF data tail, waiting for the continuation."""
        if isinstance(data, str):
            data = data.encode()
        t = self.tag()
        self.send("%s %s {%d}\r\n" % (t, head, len(data)))
        cont = self.response()
        if not cont.startswith("+"):
            return [], cont[len(t) + 1:]
        self.send(data + tail.encode() + b"\r\n")
        u, done = self.until(t)
        return u, done[len(t) + 1:]

    def closed(self, timeout=10.0):
        """True when the server closes the connection (EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, OSError):
            return True
        except socket.timeout:
            return False

    def starttls(self):
        self.sock = client_tls().wrap_socket(self.sock)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class SlowConn(Conn):
    """Reads in small pieces, a little late each time."""

    def _fill(self):
        time.sleep(0.0005)
        chunk = self.sock.recv(4096)
        if not chunk:
            raise EOFError("connection closed; have %r" % self.buf[-200:])
        self.buf += chunk


def literal(data):
    """A literal as the server writes it in a response."""
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    return "{%d}\r\n%s" % (len(data.encode("latin-1")), data)


# A small message, and what RFC 9051 7.5.2 says of it.
SMALL_HEAD = ("From: Alice <alice@example.org>\r\n"
              "To: bob@test.example\r\n"
              "Subject: first\r\n"
              "Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
              "Message-ID: <m1@example.org>\r\n"
              "\r\n")
SMALL_BODY = "Hello, IMAP.\r\nSecond line.\r\n"
SMALL = (SMALL_HEAD + SMALL_BODY).encode()
ALICE = '(("Alice" NIL "alice" "example.org"))'
SMALL_ENV = ('("Wed, 17 Jul 1996 02:23:25 -0700" "first" %s %s %s '
             '((NIL NIL "bob" "test.example")) NIL NIL NIL '
             '"<m1@example.org>")' % (ALICE, ALICE, ALICE))
# Default charset (RFC 2045 5.2); 28 octets in 2 lines; the four
# extension fields of body-ext-1part.
SMALL_BS = ('("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" %d 2 '
            'NIL NIL NIL NIL)' % len(SMALL_BODY))
SMALL_BODYSTR = ('("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" '
                 '%d 2)' % len(SMALL_BODY))

# multipart/mixed holding text (quoted-printable), a message/rfc822 and
# a base64 attachment.  Each part ends in a CRLF of its own before the
# CRLF that belongs to the boundary (RFC 2046 5.1.1), so that octet and
# line counts have one reading.
PART1_BODY = "Hello =C3=A9 world\r\n"
INNER_HEAD = ("From: Dave <dave@example.com>\r\n"
              "Subject: Inner\r\n"
              "Date: Tue, 8 Feb 1994 10:00:00 +0000\r\n"
              "Message-ID: <inner@example.com>\r\n"
              "\r\n")
INNER_BODY = "Inner body line 1\r\nInner body line 2\r\n"
INNER = INNER_HEAD + INNER_BODY
PART3_BODY = "AAECAwQFBgcICQ==\r\n"
PART1_MIME = ("Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Transfer-Encoding: quoted-printable\r\n\r\n")
CORPUS_HEAD = ("From: \"Alice Example\" <alice@example.org>\r\n"
               "To: Bob <bob@test.example>, carol@example.net\r\n"
               "Cc: undisclosed-recipients:;\r\n"
               "Subject: Corpus test\r\n"
               "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
               "Message-ID: <corpus-1@example.org>\r\n"
               "In-Reply-To: <parent@example.org>\r\n"
               "MIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
               "\r\n")
CORPUS_BODY = ("This is a preamble.\r\n"
               "\r\n"
               "--outer\r\n" + PART1_MIME + PART1_BODY + "\r\n"
               "--outer\r\n"
               "Content-Type: message/rfc822\r\n"
               "\r\n" + INNER + "\r\n"
               "--outer\r\n"
               "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
               "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
               "Content-Transfer-Encoding: base64\r\n"
               "\r\n" + PART3_BODY + "\r\n"
               "--outer--\r\n")
CORPUS = (CORPUS_HEAD + CORPUS_BODY).encode()

AE = '(("Alice Example" NIL "alice" "example.org"))'
DAVE = '(("Dave" NIL "dave" "example.com"))'
# Sender and Reply-To default to From; a group is (NIL NIL name NIL)
# ... (NIL NIL NIL NIL); addresses follow each other without a space.
CORPUS_ENV = ('("Mon, 7 Feb 1994 21:52:25 -0800" "Corpus test" %s %s %s '
              '(("Bob" NIL "bob" "test.example")'
              '(NIL NIL "carol" "example.net")) '
              '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) '
              'NIL "<parent@example.org>" "<corpus-1@example.org>")'
              % (AE, AE, AE))
INNER_ENV = ('("Tue, 8 Feb 1994 10:00:00 +0000" "Inner" %s %s %s '
             'NIL NIL NIL NIL "<inner@example.com>")' % (DAVE, DAVE, DAVE))
INNER_BS = ('("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" %d 2 '
            'NIL NIL NIL NIL)' % len(INNER_BODY))
INNER_BODYSTR = ('("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" '
                 '%d 2)' % len(INNER_BODY))
# body-type-msg: fields, envelope, body, lines of the whole
# encapsulated message (5 header lines with the blank one, 2 of body).
CORPUS_BS = (
    '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" '
    '%d 1 NIL NIL NIL NIL)'
    '("MESSAGE" "RFC822" NIL NIL NIL "7BIT" %d %s %s 7 NIL NIL NIL NIL)'
    '("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") NIL NIL "BASE64" '
    '%d NIL ("ATTACHMENT" ("FILENAME" "data.bin")) NIL NIL)'
    ' "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)'
    % (len(PART1_BODY), len(INNER), INNER_ENV, INNER_BS, len(PART3_BODY)))
CORPUS_BODYSTR = (
    '(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" '
    '%d 1)'
    '("MESSAGE" "RFC822" NIL NIL NIL "7BIT" %d %s %s 7)'
    '("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") NIL NIL "BASE64" '
    '%d) "MIXED")'
    % (len(PART1_BODY), len(INNER), INNER_ENV, INNER_BODYSTR,
       len(PART3_BODY)))


def message(subject, body="A body.\r\n", frm="x@example.org", extra=""):
    return ("From: %s\r\nTo: someone@test.example\r\nSubject: %s\r\n%s"
            "\r\n%s" % (frm, subject, extra, body)).encode()


class Base(DaemonCase):
    extra = FAST_KDF
    password = PASSWORD

    def setUp(self):
        super().setUp()
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()

    def connect(self, name="imap", tls=False):
        s = socket.create_connection(("127.0.0.1", self.t.port(name)),
                                     timeout=TIMEOUT)
        if tls:
            s = client_tls().wrap_socket(s)
        c = Conn(s)
        self.conns.append(c)
        greeting = c.response()
        self.assertTrue(greeting.startswith("* OK [CAPABILITY "), greeting)
        return c

    def login(self, user, name="imap", tls=False):
        c = self.connect(name, tls)
        u, done = c.cmd('LOGIN %s "%s"' % (user, PASSWORD))
        self.assertEqual(u, [])
        self.assertEqual(done, "OK [CAPABILITY %s] Logged in" % caps())
        return c

    def select(self, c, mbox="INBOX"):
        u, done = c.cmd("SELECT " + mbox)
        self.assertEqual(done, "OK [READ-WRITE] SELECT completed", u)
        return u

    def append(self, c, msg, mbox="INBOX", flags=None, date=None):
        head = "APPEND " + mbox
        if flags is not None:
            head += " (%s)" % flags
        if date is not None:
            head += ' "%s"' % date
        return c.cmd_lit(head, msg)

    def imaplib_login(self, user, name="imap"):
        if name == "imaps":
            m = imaplib.IMAP4_SSL("127.0.0.1", self.t.port(name),
                                  ssl_context=client_tls(), timeout=TIMEOUT)
        else:
            m = imaplib.IMAP4("127.0.0.1", self.t.port(name),
                              timeout=TIMEOUT)
        m.login(user, PASSWORD)
        return m

    def wait_untagged(self, c, pred, timeout=15.0, what="response"):
        """Read untagged responses (in IDLE) until pred(r) holds."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s within %.0f s; saw %r" %
                                     (what, timeout, seen))
            c.sock.settimeout(left)
            try:
                r = c.response()
            except socket.timeout:
                continue
            finally:
                c.sock.settimeout(TIMEOUT)
            seen.append(r)
            if pred(r):
                return seen

    def noop_until(self, c, pred, timeout=15.0, what="update"):
        """NOOP until one of its untagged responses satisfies pred;
        returns every untagged response seen."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            u, done = c.cmd("NOOP")
            self.assertEqual(done, "OK NOOP completed")
            seen += u
            if any(pred(r) for r in u):
                return seen
            time.sleep(0.05)
        raise AssertionError("no %s at NOOP within %.0f s; saw %r" %
                             (what, timeout, seen))


class Login(Base):
    def test_greeting_and_capability(self):
        # The greeting, exactly (connect() only checks its start).
        s = socket.create_connection(("127.0.0.1", self.t.port("imap")),
                                     timeout=TIMEOUT)
        c = Conn(s)
        self.conns.append(c)
        self.assertEqual(c.response(), "* OK [CAPABILITY %s] Tresor IMAP "
                         "ready" % caps(starttls=True, auth="plain"))
        u, done = c.cmd("CAPABILITY")
        self.assertEqual(u, ["* CAPABILITY " +
                             caps(starttls=True, auth="plain")])
        self.assertEqual(done, "OK CAPABILITY completed")
        u, done = c.cmd("capability")
        self.assertEqual(done, "OK CAPABILITY completed")
        u, done = c.cmd("CAPABILITY extra")
        self.assertEqual(done, "BAD Unexpected arguments")
        # After the login: no STARTTLS, no AUTH=, no LOGINDISABLED.
        user = self.new_user()
        self.assertEqual(c.cmd('LOGIN %s "%s"' % (user, PASSWORD)),
                         ([], "OK [CAPABILITY %s] Logged in" % caps()))
        self.assertEqual(c.cmd("CAPABILITY"),
                         (["* CAPABILITY " + caps()],
                          "OK CAPABILITY completed"))

    def test_starttls_then_login(self):
        user = self.new_user([message("over tls")])
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=TIMEOUT)
        try:
            self.assertIn("STARTTLS", m.capabilities)
            typ, data = m.starttls(ssl_context=client_tls())
            self.assertEqual(typ, "OK")
            self.assertIn(m.sock.version(), ("TLSv1.2", "TLSv1.3"))
            # imaplib upper-cases what it keeps.
            self.assertEqual(" ".join(m.capabilities),
                             caps(auth="plain").upper())
            typ, data = m.login(user, PASSWORD)
            self.assertEqual(typ, "OK")
            self.assertEqual(m.select("INBOX"), ("OK", [b"1"]))
            typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertEqual(typ, "OK")
            self.assertEqual(data[0][1], b"Subject: over tls\r\n\r\n")
            self.assertEqual(m.logout()[0], "BYE")
        finally:
            try:
                m.shutdown()
            except OSError:
                pass
        # Commands pipelined behind STARTTLS in clear are dropped, and a
        # second STARTTLS is refused.
        c = self.connect()
        c.send('a1 STARTTLS\r\na2 LOGIN %s "%s"\r\n' % (user, PASSWORD))
        self.assertEqual(c.response(), "a1 OK Begin TLS negotiation now")
        c.starttls()
        c.n = 2
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        self.assertEqual(c.cmd("STARTTLS"), ([], "BAD TLS is already "
                                             "active"))
        u, done = c.cmd('LOGIN %s "%s"' % (user, PASSWORD))
        self.assertTrue(done.startswith("OK [CAPABILITY IMAP4rev1"), done)

    def test_implicit_tls(self):
        user = self.new_user([message("one"), message("two")])
        c = self.connect("imaps", tls=True)
        self.assertIn(c.sock.version(), ("TLSv1.2", "TLSv1.3"))
        u, done = c.cmd("CAPABILITY")
        self.assertEqual(u, ["* CAPABILITY " + caps(auth="plain")])
        self.assertEqual(c.cmd("STARTTLS"), ([], "BAD TLS is already "
                                             "active"))
        m = self.imaplib_login(user, "imaps")
        try:
            self.assertEqual(m.select("INBOX"), ("OK", [b"2"]))
            typ, data = m.search(None, "ALL")
            self.assertEqual((typ, data), ("OK", [b"1 2"]))
            m.close()
        finally:
            m.logout()

    def test_authenticate_plain(self):
        user = self.new_user()
        ok = base64.b64encode(b"\0" + user.encode() + b"\0" +
                              PASSWORD.encode()).decode()
        logged = "OK [CAPABILITY %s] Logged in" % caps()
        # SASL-IR (RFC 4959).
        c = self.connect()
        self.assertEqual(c.cmd("AUTHENTICATE PLAIN " + ok), ([], logged))
        # Without: "+ ", the response, and the tagged reply.
        c = self.connect()
        t = c.tag()
        c.send("%s AUTHENTICATE PLAIN\r\n" % t)
        self.assertEqual(c.response(), "+ ")
        c.send(ok + "\r\n")
        self.assertEqual(c.until(t), ([], t + " " + logged))
        # "*" cancels (RFC 9051 6.2.2: BAD); the session goes on.
        c = self.connect()
        t = c.tag()
        c.send("%s AUTHENTICATE PLAIN\r\n" % t)
        self.assertEqual(c.response(), "+ ")
        c.send("*\r\n")
        self.assertEqual(c.until(t), ([], t + " BAD Authentication "
                                      "cancelled"))
        self.assertEqual(c.cmd("AUTHENTICATE CRAM-MD5"),
                         ([], "NO Unsupported mechanism"))
        self.assertEqual(c.cmd("AUTHENTICATE PLAIN !!!"),
                         ([], "BAD Invalid base64"))
        other = base64.b64encode(b"other@test.example\0" + user.encode() +
                                 b"\0" + PASSWORD.encode()).decode()
        self.assertEqual(c.cmd("AUTHENTICATE PLAIN " + other),
                         ([], "NO [AUTHORIZATIONFAILED] Cannot act as "
                          "another user"))
        self.assertEqual(c.cmd("AUTHENTICATE PLAIN " + ok), ([], logged))
        # imaplib's own AUTHENTICATE (no initial response).
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=TIMEOUT)
        try:
            typ, _ = m.authenticate(
                "PLAIN", lambda _: b"\0" + user.encode() + b"\0" +
                PASSWORD.encode())
            self.assertEqual(typ, "OK")
            self.assertEqual(m.state, "AUTH")
        finally:
            m.logout()

    def test_login_with_literals(self):
        user = self.new_user()
        c = self.connect()
        t = c.tag()
        c.send("%s LOGIN {%d}\r\n" % (t, len(user)))
        self.assertEqual(c.response(), "+ Ready for literal data")
        c.send("%s {%d}\r\n" % (user, len(PASSWORD)))
        self.assertEqual(c.response(), "+ Ready for literal data")
        c.send(PASSWORD + "\r\n")
        self.assertEqual(c.until(t), ([], "%s OK [CAPABILITY %s] Logged in"
                                      % (t, caps())))
        # LITERAL+: no continuation; all in one write.
        c = self.connect()
        t = c.tag()
        c.send("%s LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (
            t, len(user), user, len(PASSWORD), PASSWORD))
        self.assertEqual(c.until(t), ([], "%s OK [CAPABILITY %s] Logged in"
                                      % (t, caps())))

    def test_wrong_password_delay_and_bye(self):
        user = self.new_user()
        c = self.connect()
        for n in (1, 2, 3):
            t0 = time.monotonic()
            self.assertEqual(c.cmd('LOGIN %s "wrong %d"' % (user, n)),
                             ([], "NO [AUTHENTICATIONFAILED] "
                              "Authentication failed"))
            # Later each time: 1, 2, 3 seconds.
            self.assertGreaterEqual(time.monotonic() - t0, n - 0.1)
        self.assertEqual(c.response(), "* BYE Too many failed logins")
        self.assertTrue(c.closed())
        self.assertNotIn("wrong 1", self.t.logtext())
        self.assertNotIn(PASSWORD, self.t.logtext())
        # A bad password does not lock a good one out (fewer than 5).
        c = self.login(user)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_enable_id_namespace_noop_logout(self):
        user = self.new_user()
        c = self.connect()
        self.assertEqual(c.cmd("ENABLE CONDSTORE"), ([], "BAD Log in first"))
        # ID is valid before login (RFC 2971).
        self.assertEqual(c.cmd('ID ("name" "test" "version" NIL)'),
                         (['* ID ("name" "Tresor" "vendor" "Tresor")'],
                          "OK ID completed"))
        self.assertEqual(c.cmd("ID NIL"),
                         (['* ID ("name" "Tresor" "vendor" "Tresor")'],
                          "OK ID completed"))
        self.assertEqual(c.cmd('ID ("name")'),
                         ([], "BAD ID takes at most 30 field-value pairs"))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        self.assertEqual(c.cmd("NAMESPACE"), ([], "BAD Log in first"))
        c.cmd('LOGIN %s "%s"' % (user, PASSWORD))
        self.assertEqual(c.cmd("ENABLE CONDSTORE"),
                         (["* ENABLED CONDSTORE"], "OK ENABLE completed"))
        # Only what this command turned on is listed (RFC 5161 3.1).
        self.assertEqual(c.cmd("ENABLE CONDSTORE"),
                         (["* ENABLED"], "OK ENABLE completed"))
        self.assertEqual(c.cmd("ENABLE QRESYNC"),
                         (["* ENABLED QRESYNC"], "OK ENABLE completed"))
        self.assertEqual(c.cmd("ENABLE X-UNKNOWN IMAP4rev2 UTF8=ACCEPT"),
                         (["* ENABLED IMAP4rev2 UTF8=ACCEPT"],
                          "OK ENABLE completed"))
        self.assertEqual(c.cmd("ENABLE"),
                         ([], "BAD Syntax: ENABLE capability ..."))
        self.assertEqual(c.cmd("NAMESPACE"),
                         (['* NAMESPACE (("" "/")) NIL NIL'],
                          "OK NAMESPACE completed"))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        self.assertEqual(c.cmd("noop"), ([], "OK NOOP completed"))
        self.assertEqual(c.cmd("LOGOUT"),
                         (["* BYE Logging out"], "OK LOGOUT completed"))
        self.assertTrue(c.closed())

    def test_curl(self):
        require_tool(self, "curl")
        user = self.new_user()
        one = message("curl one", "First body.\r\n")
        two = message("curl two", "Second body.\r\n")
        c = self.login(user)
        self.assertTrue(self.append(c, one)[1].startswith("OK [APPENDUID"))
        self.assertTrue(self.append(c, two)[1].startswith("OK [APPENDUID"))
        self.assertEqual(c.cmd('CREATE "Curl Box"'),
                         ([], "OK CREATE completed"))
        c.cmd("LOGOUT")
        base = "imap://127.0.0.1:%d/" % self.t.port("imap")

        def curl(*args):
            p = subprocess.run(["curl", "-s", "--max-time", "30", "--user",
                                "%s:%s" % (user, PASSWORD)] + list(args),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout

        out = curl(base).decode().splitlines()
        self.assertIn('* LIST (\\HasNoChildren) "/" "Curl Box"', out)
        self.assertTrue(any(l.startswith("* LIST (") and
                            l.endswith(' "/" INBOX') or
                            l.endswith(' "/" "INBOX"') for l in out), out)
        self.assertEqual(curl(base + "INBOX;UID=1"), one)
        self.assertEqual(curl(base + "INBOX;UID=2"), two)
        self.assertEqual(curl(base + "INBOX", "-X", "SEARCH ALL"),
                         b"* SEARCH 1 2\r\n")
        self.assertEqual(curl(base + "INBOX", "-X", "SEARCH SUBJECT two"),
                         b"* SEARCH 2\r\n")
        # Over STARTTLS too.
        self.assertEqual(curl("--ssl-reqd", "-k", base + "INBOX;UID=2"),
                         two)


class AccountLimit(Base):
    # More than the per-address default, so that the account's limit
    # is the one reached.
    extra = FAST_KDF + "\nlimit connections per-address 100"

    def test_sessions_per_account(self):
        user = self.new_user()
        other = self.new_user()
        conns = [self.login(user) for _ in range(32)]
        c = self.connect()
        self.assertEqual(c.cmd('LOGIN %s "%s"' % (user, PASSWORD)),
                         ([], "NO [LIMIT] Too many sessions for this "
                          "account; log out of another first"))
        # Not counted as a failed login, and the session goes on.
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        # Another account is not limited by this one.
        o = self.login(other)
        self.assertEqual(o.cmd("NOOP"), ([], "OK NOOP completed"))
        u, done = conns[0].cmd("LOGOUT")
        self.assertEqual(done, "OK LOGOUT completed")
        u, done = c.cmd('LOGIN %s "%s"' % (user, PASSWORD))
        self.assertTrue(done.startswith("OK [CAPABILITY"), done)
        self.assertIn("too many sessions for the account",
                      self.t.logtext())


class NoPlaintextAuth(Base):
    """A loopback STARTTLS listener without plaintext-auth."""
    listeners = tuple((n, p, tls, False) for n, p, tls, _ in LISTENERS)

    def test_logindisabled_before_tls(self):
        user = self.new_user()
        s = socket.create_connection(("127.0.0.1", self.t.port("imap")),
                                     timeout=TIMEOUT)
        c = Conn(s)
        self.conns.append(c)
        self.assertEqual(c.response(), "* OK [CAPABILITY %s] Tresor IMAP "
                         "ready" % caps(starttls=True, auth="disabled"))
        self.assertEqual(c.cmd('LOGIN %s "%s"' % (user, PASSWORD)),
                         ([], "NO [PRIVACYREQUIRED] Use TLS to log in"))
        ok = base64.b64encode(b"\0" + user.encode() + b"\0" +
                              PASSWORD.encode()).decode()
        self.assertEqual(c.cmd("AUTHENTICATE PLAIN " + ok),
                         ([], "NO [PRIVACYREQUIRED] Use TLS to log in"))
        self.assertEqual(c.cmd("AUTHENTICATE PLAIN"),
                         ([], "NO [PRIVACYREQUIRED] Use TLS to log in"))
        self.assertEqual(c.cmd("STARTTLS"),
                         ([], "OK Begin TLS negotiation now"))
        c.starttls()
        self.assertEqual(c.cmd("CAPABILITY"),
                         (["* CAPABILITY " + caps(auth="plain")],
                          "OK CAPABILITY completed"))
        self.assertEqual(c.cmd('LOGIN %s "%s"' % (user, PASSWORD)),
                         ([], "OK [CAPABILITY %s] Logged in" % caps()))
        # imaplib sees LOGINDISABLED and refuses by itself.
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=TIMEOUT)
        try:
            self.assertIn("LOGINDISABLED", m.capabilities)
            m.starttls(ssl_context=client_tls())
            self.assertEqual(m.login(user, PASSWORD)[0], "OK")
        finally:
            m.logout()


class Messages(Base):
    def test_select_examine(self):
        user = self.new_user([message("m%d" % i) for i in range(1, 4)])
        c = self.login(user)
        u, done = c.cmd("SELECT INBOX")
        self.assertEqual(done, "OK [READ-WRITE] SELECT completed")
        self.assertEqual(len(u), 8, u)
        v = re.fullmatch(r"\* OK \[UIDVALIDITY (\d+)\] UIDs valid", u[3])
        self.assertIsNotNone(v, u)
        hm = re.fullmatch(r"\* OK \[HIGHESTMODSEQ (\d+)\] Highest", u[7])
        self.assertIsNotNone(hm, u)
        self.assertGreater(int(hm.group(1)), 0)
        self.assertEqual(u, [
            "* 3 EXISTS",
            "* 3 RECENT",
            "* OK [UNSEEN 1] First unseen",
            "* OK [UIDVALIDITY %s] UIDs valid" % v.group(1),
            "* OK [UIDNEXT 4] Predicted next UID",
            r"* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)",
            r"* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen "
            r"\Draft \*)] Flags permitted",
            "* OK [HIGHESTMODSEQ %s] Highest" % hm.group(1)])
        # EXAMINE: read-only, no permanent flags; STORE refused.
        u, done = c.cmd("EXAMINE INBOX")
        self.assertEqual(done, "OK [READ-ONLY] EXAMINE completed")
        self.assertIn("* OK [PERMANENTFLAGS ()] Flags permitted", u)
        self.assertIn("* 3 EXISTS", u)
        self.assertEqual(c.cmd(r"STORE 1 +FLAGS (\Seen)"),
                         ([], "NO [READ-ONLY] The mailbox is read-only"))
        self.assertEqual(c.cmd("EXPUNGE"),
                         ([], "NO [READ-ONLY] The mailbox is read-only"))
        # Fetching a body in EXAMINE does not set \Seen (RFC 9051 6.3.3).
        u, done = c.cmd("FETCH 1 (BODY[TEXT])")
        self.assertEqual(u, ["* 1 FETCH (BODY[TEXT] %s)" %
                             literal("A body.\r\n")])
        self.assertEqual(c.cmd("FETCH 1 FLAGS"),
                         (["* 1 FETCH (FLAGS ())"], "OK FETCH completed"))
        # IMAP4rev2: no RECENT nor UNSEEN, a LIST response, and the
        # previous mailbox's [CLOSED].
        c.cmd("ENABLE IMAP4rev2")
        u, done = c.cmd("SELECT INBOX")
        self.assertEqual(done, "OK [READ-WRITE] SELECT completed")
        self.assertEqual(u[0], "* OK [CLOSED] Previous mailbox closed")
        self.assertEqual(u[1], "* 3 EXISTS")
        self.assertNotIn("* 0 RECENT", u)
        self.assertFalse([r for r in u if "[UNSEEN" in r], u)
        self.assertTrue(u[-1] in ('* LIST () "/" "INBOX"',
                                  '* LIST () "/" INBOX'), u)
        # A missing mailbox: NO, and no mailbox selected any more.
        u, done = c.cmd("SELECT Nowhere")
        self.assertTrue(done.startswith("NO [NONEXISTENT]"), done)
        self.assertEqual(c.cmd("FETCH 1 FLAGS"),
                         ([], "BAD Select a mailbox first"))
        self.assertEqual(c.cmd("UNSELECT"),
                         ([], "BAD Select a mailbox first"))
        # imaplib agrees.
        m = self.imaplib_login(user)
        try:
            self.assertEqual(m.select("INBOX", readonly=True),
                             ("OK", [b"3"]))
            self.assertEqual(m.response("UIDNEXT"), ("UIDNEXT", [b"4"]))
            self.assertEqual(m.response("UIDVALIDITY"),
                             ("UIDVALIDITY", [v.group(1).encode()]))
        finally:
            m.logout()

    def test_fetch_items(self):
        user = self.new_user()
        c = self.login(user)
        u, done = self.append(c, SMALL, flags=r"\Flagged",
                              date="17-Jul-1996 02:44:25 -0700")
        self.assertRegex(done, r"^OK \[APPENDUID \d+ 1\] APPEND completed$")
        for i in (2, 3):
            self.append(c, message("m%d" % i))
        self.select(c)
        size = len(SMALL)
        self.assertEqual(c.cmd("FETCH 1 (FLAGS UID INTERNALDATE "
                               "RFC822.SIZE)"),
                         (['* 1 FETCH (FLAGS (\\Flagged) UID 1 INTERNALDATE '
                           '"17-Jul-1996 09:44:25 +0000" RFC822.SIZE %d)'
                           % size], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 ENVELOPE"),
                         (["* 1 FETCH (ENVELOPE %s)" % SMALL_ENV],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODYSTRUCTURE"),
                         (["* 1 FETCH (BODYSTRUCTURE %s)" % SMALL_BS],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY"),
                         (["* 1 FETCH (BODY %s)" % SMALL_BODYSTR],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[]"),
                         (["* 1 FETCH (BODY[] %s)" % literal(SMALL)],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[HEADER]"),
                         (["* 1 FETCH (BODY[HEADER] %s)" %
                           literal(SMALL_HEAD)], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[TEXT]"),
                         (["* 1 FETCH (BODY[TEXT] %s)" %
                           literal(SMALL_BODY)], "OK FETCH completed"))
        # A non-multipart message's part 1 is its body.
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[1]"),
                         (["* 1 FETCH (BODY[1] %s)" % literal(SMALL_BODY)],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS "
                               "(SUBJECT)]"),
                         (["* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] %s)" %
                           literal("Subject: first\r\n\r\n")],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT "
                               "(From To Date Message-ID)]"),
                         (["* 1 FETCH (BODY[HEADER.FIELDS.NOT (FROM TO DATE "
                           "MESSAGE-ID)] %s)" %
                           literal("Subject: first\r\n\r\n")],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[]<0.10>"),
                         (["* 1 FETCH (BODY[]<0> %s)" % literal(SMALL[:10])],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[TEXT]<7.100>"),
                         (["* 1 FETCH (BODY[TEXT]<7> %s)" %
                           literal(SMALL_BODY[7:])], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[]<100000.10>"),
                         (['* 1 FETCH (BODY[]<100000> "")'],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"),
                         (["* 1 FETCH (BINARY[1] %s BINARY.SIZE[1] %d)" %
                           (literal(SMALL_BODY), len(SMALL_BODY))],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 RFC822.HEADER"),
                         (["* 1 FETCH (RFC822.HEADER %s)" %
                           literal(SMALL_HEAD)], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 FLAGS"),
                         (["* 1 FETCH (FLAGS (\\Flagged))"],
                          "OK FETCH completed"))
        # Non-PEEK bodies set \Seen, and the FETCH reports FLAGS.
        self.assertEqual(c.cmd("FETCH 1 RFC822"),
                         (["* 1 FETCH (RFC822 %s FLAGS (\\Seen \\Flagged))"
                           % literal(SMALL)], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 2 BODY[1]"),
                         (["* 2 FETCH (BODY[1] %s FLAGS (\\Seen))" %
                           literal("A body.\r\n")], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 3 BINARY[1]"),
                         (["* 3 FETCH (BINARY[1] %s FLAGS (\\Seen))" %
                           literal("A body.\r\n")], "OK FETCH completed"))
        # Already seen: FLAGS only if asked.
        self.assertEqual(c.cmd("FETCH 2 BODY[TEXT]"),
                         (["* 2 FETCH (BODY[TEXT] %s)" %
                           literal("A body.\r\n")], "OK FETCH completed"))
        self.assertEqual(c.cmd("UID FETCH 1:* FLAGS"),
                         (["* 1 FETCH (UID 1 FLAGS (\\Seen \\Flagged))",
                           "* 2 FETCH (UID 2 FLAGS (\\Seen))",
                           "* 3 FETCH (UID 3 FLAGS (\\Seen))"],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 2:3 UID"),
                         (["* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)"],
                          "OK FETCH completed"))
        # The macros (RFC 9051 6.4.5).
        u, done = c.cmd("FETCH 1 FAST")
        self.assertEqual(u, ['* 1 FETCH (FLAGS (\\Seen \\Flagged) '
                             'INTERNALDATE "17-Jul-1996 09:44:25 +0000" '
                             'RFC822.SIZE %d)' % size])
        u, done = c.cmd("FETCH 1 ALL")
        self.assertEqual(u, ['* 1 FETCH (FLAGS (\\Seen \\Flagged) '
                             'INTERNALDATE "17-Jul-1996 09:44:25 +0000" '
                             'RFC822.SIZE %d ENVELOPE %s)' %
                             (size, SMALL_ENV)])
        # Beyond EXISTS: BAD; a UID beyond is simply not there.
        self.assertEqual(c.cmd("FETCH 4 FLAGS"),
                         ([], "BAD Invalid message set"))
        self.assertEqual(c.cmd("FETCH 2:4 FLAGS"),
                         ([], "BAD Invalid message set"))
        self.assertEqual(c.cmd("UID FETCH 4 FLAGS"),
                         ([], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 (FLAGS BOGUS)"),
                         ([], "BAD Unknown FETCH item"))
        self.assertEqual(c.cmd("FETCH 1 BODY[HEADER.FIELDS]"),
                         ([], "BAD Invalid header field list"))
        # imaplib reads the same.
        m = self.imaplib_login(user)
        try:
            m.select("INBOX")
            typ, data = m.uid("FETCH", "1", "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            self.assertEqual(data[0][1], SMALL)
        finally:
            m.logout()

    def test_condstore_fetch_store(self):
        user = self.new_user()
        c = self.login(user)
        for i in (1, 2, 3):
            self.append(c, message("m%d" % i))
        self.assertEqual(c.cmd("ENABLE CONDSTORE"),
                         (["* ENABLED CONDSTORE"], "OK ENABLE completed"))
        u, _ = c.cmd("SELECT INBOX")
        hm = int([re.search(r"\d+", r).group(0) for r in u
                  if "HIGHESTMODSEQ" in r][0])
        u, done = c.cmd("FETCH 1:* (UID MODSEQ)")
        mods = [int(re.search(r"MODSEQ \((\d+)\)", r).group(1)) for r in u]
        self.assertEqual(len(mods), 3)
        self.assertEqual(max(mods), hm)
        self.assertEqual(c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hm),
                         ([], "OK FETCH completed"))
        u, done = c.cmd(r"STORE 2 +FLAGS (\Answered)")
        m = re.fullmatch(r"\* 2 FETCH \(FLAGS \(\\Answered\) MODSEQ "
                         r"\((\d+)\)\)", u[0] if u else "")
        self.assertIsNotNone(m, u)
        m2 = int(m.group(1))
        self.assertGreater(m2, hm)
        self.assertEqual(done, "OK STORE completed")
        self.assertEqual(c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hm),
                         (["* 2 FETCH (FLAGS (\\Answered) MODSEQ (%d))" %
                           m2], "OK FETCH completed"))
        self.assertEqual(c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)"
                               % hm),
                         (["* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (%d))"
                           % m2], "OK FETCH completed"))
        # UNCHANGEDSINCE older than the message: [MODIFIED] (RFC 7162
        # 3.1.3), sequence numbers for STORE, UIDs for UID STORE.
        # The server may tell the current flags of the message that
        # failed the test (RFC 7162 3.1.3, example 8 shows it); nothing
        # else.
        u, done = c.cmd(r"STORE 2 (UNCHANGEDSINCE %d) +FLAGS (\Flagged)"
                        % hm)
        self.assertEqual(done, "OK [MODIFIED 2] Conditional STORE failed")
        self.assertIn(u, ([], ["* 2 FETCH (FLAGS (\\Answered) MODSEQ (%d))"
                               % m2]))
        self._unchanged(c, hm, m2)
        self.assertEqual(c.cmd("FETCH 2 (FLAGS MODSEQ)"),
                         (["* 2 FETCH (FLAGS (\\Answered) MODSEQ (%d))" % m2],
                          "OK FETCH completed"))

    def _unchanged(self, c, hm, m2):
        """UID STORE with UNCHANGEDSINCE hm over uids 1:3, of which 2 was
        changed at m2: 1 and 3 change, 2 is [MODIFIED]."""
        u, done = c.cmd(r"UID STORE 1:3 (UNCHANGEDSINCE %d) FLAGS (\Draft)"
                        % hm)
        self.assertEqual(done, "OK [MODIFIED 2] Conditional STORE failed")
        failed = "* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (%d))" % m2
        if failed in u:
            u = [r for r in u if r != failed]
        self.assertEqual(len(u), 2, u)
        for r, seq in zip(u, (1, 3)):
            m = re.fullmatch(r"\* %d FETCH \(UID %d FLAGS \(\\Draft\) "
                             r"MODSEQ \((\d+)\)\)" % (seq, seq), r)
            self.assertIsNotNone(m, u)
            self.assertGreater(int(m.group(1)), m2)
        return u, done

    def test_corpus_structure(self):
        user = self.new_user()
        c = self.login(user)
        u, done = self.append(c, CORPUS)
        self.assertRegex(done, r"^OK \[APPENDUID \d+ 1\] APPEND completed$")
        self.select(c)
        self.assertEqual(c.cmd("FETCH 1 RFC822.SIZE"),
                         (["* 1 FETCH (RFC822.SIZE %d)" % len(CORPUS)],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 ENVELOPE"),
                         (["* 1 FETCH (ENVELOPE %s)" % CORPUS_ENV],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODYSTRUCTURE"),
                         (["* 1 FETCH (BODYSTRUCTURE %s)" % CORPUS_BS],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BODY"),
                         (["* 1 FETCH (BODY %s)" % CORPUS_BODYSTR],
                          "OK FETCH completed"))
        # Sections (RFC 9051 6.4.5).
        for sect, want in (("1", PART1_BODY),
                           ("1.MIME", PART1_MIME),
                           ("2", INNER),
                           ("2.HEADER", INNER_HEAD),
                           ("2.TEXT", INNER_BODY),
                           ("2.1", INNER_BODY),
                           ("3", PART3_BODY),
                           ("TEXT", CORPUS_BODY),
                           ("HEADER.FIELDS (Subject In-Reply-To)",
                            "Subject: Corpus test\r\n"
                            "In-Reply-To: <parent@example.org>\r\n\r\n"),
                           ("2.HEADER.FIELDS (SUBJECT)",
                            "Subject: Inner\r\n\r\n")):
            name = sect.upper()
            self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[%s]" % sect),
                             (["* 1 FETCH (BODY[%s] %s)" %
                               (name, literal(want))], "OK FETCH completed"),
                             sect)
        # BINARY decodes: 16 octets of UTF-8 text, and 10 octets with a
        # NUL, which need literal8 (RFC 3516 4.3).
        text = "Hello \u00e9 world\r\n".encode()
        self.assertEqual(c.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"),
                         (["* 1 FETCH (BINARY[1] %s BINARY.SIZE[1] %d)" %
                           (literal(text), len(text))],
                          "OK FETCH completed"))
        data = bytes(range(10)).decode("latin-1")
        self.assertEqual(c.cmd("FETCH 1 (BINARY.PEEK[3] BINARY.SIZE[3])"),
                         (["* 1 FETCH (BINARY[3] ~%s BINARY.SIZE[3] 10)" %
                           literal(data)], "OK FETCH completed"))
        # The <origin> as RFC 9051 7.5.2 writes BINARY[...]<<number>>
        # (its ABNF lacks it; erratum 7246, only reported, would drop it).
        self.assertEqual(c.cmd("FETCH 1 BINARY.PEEK[3]<2.3>"),
                         (["* 1 FETCH (BINARY[3]<2> %s)" %
                           literal(data[2:5])], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 BINARY.PEEK[1.MIME]"),
                         ([], "BAD BINARY takes only part numbers"))
        # A part that is not there: empty (or NIL).
        u, done = c.cmd("FETCH 1 BODY.PEEK[4]")
        self.assertEqual(done, "OK FETCH completed")
        self.assertIn(u, (['* 1 FETCH (BODY[4] "")'],
                          ['* 1 FETCH (BODY[4] NIL)']))
        # imaplib can read the structure it gets.
        m = self.imaplib_login(user)
        try:
            m.select("INBOX", readonly=True)
            typ, data = m.fetch("1", "(BODYSTRUCTURE)")
            self.assertEqual(typ, "OK")
            self.assertEqual(data[0].decode(),
                             "1 (BODYSTRUCTURE %s)" % CORPUS_BS)
        finally:
            m.logout()

    def test_envelope_edges(self):
        user = self.new_user()
        c = self.login(user)
        quoting = crlf('From: "Last, First" <lf@example.org>\n'
                       'To: localonly, "Q \\"uote\\"" <q@example.org>\n'
                       'Subject: He said "hi" \\o/\n'
                       'X-Long: first\n'
                       ' second\n'
                       'X-Other: z\n'
                       '\n'
                       'Body.\n')
        eight = ("Subject: Gr\u00fc\u00dfe\r\nFrom: a@example.org\r\n\r\n"
                 "x\r\n").encode()
        nobody = b"Subject: nobody\r\nX-A: y\r\n"
        for m in (quoting, eight, nobody):
            u, done = self.append(c, m)
            self.assertTrue(done.startswith("OK [APPENDUID"), done)
        self.select(c)
        # Quoted specials are escaped; Date, Message-ID absent: NIL; a
        # display name keeps its comma and quotes; an address without a
        # domain must not have a NIL host (that would be a group marker,
        # RFC 9051 7.5.2).
        u, done = c.cmd("FETCH 1 ENVELOPE")
        self.assertEqual(done, "OK FETCH completed")
        lf = '(("Last, First" NIL "lf" "example.org"))'
        m = re.fullmatch(
            re.escape('* 1 FETCH (ENVELOPE (NIL "He said \\"hi\\" \\\\o/" '
                      '%s %s %s ((NIL NIL "localonly" ' % (lf, lf, lf)) +
            r'("[^"]*"|\{\d+\}\r\n[^)]*)' +
            re.escape(')("Q \\"uote\\"" NIL "q" "example.org")) '
                      'NIL NIL NIL NIL))'), u[0] if u else "")
        self.assertIsNotNone(m, u)
        # A folded field comes whole; .NOT leaves all of it out.
        self.assertEqual(c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS (X-Long)]"),
                         (["* 1 FETCH (BODY[HEADER.FIELDS (X-LONG)] %s)" %
                           literal("X-Long: first\r\n second\r\n\r\n")],
                          "OK FETCH completed"))
        u, done = c.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (From To "
                        "Subject X-Other)]")
        self.assertEqual(u, ["* 1 FETCH (BODY[HEADER.FIELDS.NOT (FROM TO "
                             "SUBJECT X-OTHER)] %s)" %
                             literal("X-Long: first\r\n second\r\n\r\n")])
        # 8-bit text cannot be an IMAP4rev1 quoted string: a literal.
        u, done = c.cmd("FETCH 2 ENVELOPE")
        subj = "Gr\u00fc\u00dfe".encode().decode("latin-1")
        self.assertEqual(u, ['* 2 FETCH (ENVELOPE (NIL %s '
                             '((NIL NIL "a" "example.org")) '
                             '((NIL NIL "a" "example.org")) '
                             '((NIL NIL "a" "example.org")) '
                             'NIL NIL NIL NIL NIL))' % literal(subj)])
        # A message that is all header: empty text, a body of 0 octets
        # and 0 lines.
        self.assertEqual(c.cmd("FETCH 3 (RFC822.SIZE BODY.PEEK[TEXT] "
                               "BODYSTRUCTURE)"),
                         (['* 3 FETCH (RFC822.SIZE %d BODY[TEXT] "" '
                           'BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" '
                           '"US-ASCII") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL))'
                           % len(nobody)], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 3 BODY.PEEK[HEADER]"),
                         (["* 3 FETCH (BODY[HEADER] %s)" % literal(nobody)],
                          "OK FETCH completed"))

    def test_append_literal8(self):
        # BINARY (RFC 3516 4.4): APPEND takes a literal8, whose octets
        # may hold NUL; the server stores it or says NO [UNKNOWN-CTE].
        user = self.new_user()
        c = self.login(user)
        msg = (b"Subject: binary\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" +
               bytes(range(256)) + b"\r\n")
        t = c.tag()
        c.send("%s APPEND INBOX ~{%d}\r\n" % (t, len(msg)))
        self.assertEqual(c.response(), "+ Ready for literal data")
        c.send(msg + b"\r\n")
        u, done = c.until(t)
        self.assertRegex(done, r"^%s (OK \[APPENDUID \d+ 1\] APPEND "
                         r"completed|NO \[UNKNOWN-CTE\] .*)$" % t)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        if " OK " not in done:
            return
        self.select(c)
        body = bytes(range(256)) + b"\r\n"
        self.assertEqual(c.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"),
                         (["* 1 FETCH (BINARY[1] ~%s BINARY.SIZE[1] %d)" %
                           (literal(body), len(body))],
                          "OK FETCH completed"))

    def test_pipelining(self):
        user = self.new_user()
        c = self.connect()
        c.send('p1 NOOP\r\np2 LOGIN %s "%s"\r\np3 SELECT INBOX\r\n'
               'p4 APPEND INBOX {%d+}\r\n%s\r\np5 FETCH 1 UID\r\n'
               'p6 SEARCH ALL\r\np7 LOGOUT\r\n' %
               (user, PASSWORD, len(SMALL), SMALL.decode()))
        self.assertEqual(c.until("p1"), ([], "p1 OK NOOP completed"))
        self.assertTrue(c.until("p2")[1].startswith("p2 OK [CAPABILITY"))
        self.assertEqual(c.until("p3")[1], "p3 OK [READ-WRITE] SELECT "
                         "completed")
        u, done = c.until("p4")
        self.assertEqual(u, ["* 1 EXISTS", "* 1 RECENT"])
        self.assertRegex(done, r"^p4 OK \[APPENDUID \d+ 1\]")
        self.assertEqual(c.until("p5"), (["* 1 FETCH (UID 1)"],
                                         "p5 OK FETCH completed"))
        self.assertEqual(c.until("p6"), (["* SEARCH 1"],
                                         "p6 OK SEARCH completed"))
        self.assertEqual(c.until("p7"), (["* BYE Logging out"],
                                         "p7 OK LOGOUT completed"))
        self.assertTrue(c.closed())

    def test_backpressure(self):
        # A client that reads slowly gets everything, in order: FETCH
        # stops writing when the output queue is full and goes on when
        # the client has read (imap_wait_output).
        user = self.new_user()
        c = self.login(user)
        msgs = []
        for n in range(1, 7):
            msg = (b"Subject: big %d\r\n\r\n" % n +
                   b"".join(b"%d %07d " % (n, i) + b"z" * 60 + b"\r\n"
                            for i in range(13000)))
            msgs.append(msg)
            u, done = self.append(c, msg)
            self.assertTrue(done.startswith("OK [APPENDUID"), done)
        c.cmd("LOGOUT")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", self.t.port("imap")))
        slow = SlowConn(sock)
        self.conns.append(slow)
        slow.response()
        slow.cmd('LOGIN %s "%s"' % (user, PASSWORD))
        self.select(slow)
        slow.send("f1 FETCH 1:* BODY.PEEK[]\r\nf2 UID FETCH 1:* "
                  "(RFC822.SIZE)\r\nf3 NOOP\r\n")
        u, done = slow.until("f1")
        self.assertEqual(done, "f1 OK FETCH completed")
        self.assertEqual(len(u), 6)
        for n, (r, msg) in enumerate(zip(u, msgs), 1):
            self.assertTrue(r == "* %d FETCH (BODY[] %s)" %
                            (n, literal(msg)), "message %d differs" % n)
        self.assertEqual(slow.until("f2"),
                         (["* %d FETCH (UID %d RFC822.SIZE %d)" %
                           (n, n, len(m)) for n, m in enumerate(msgs, 1)],
                          "f2 OK FETCH completed"))
        self.assertEqual(slow.until("f3"), ([], "f3 OK NOOP completed"))

    def test_empty_mailbox(self):
        user = self.new_user()
        c = self.login(user)
        u = self.select(c)
        self.assertEqual(u[0], "* 0 EXISTS")
        self.assertIn("* OK [UIDNEXT 1] Predicted next UID", u)
        self.assertEqual(c.cmd("FETCH 1:* FLAGS"),
                         ([], "OK FETCH completed"))
        self.assertEqual(c.cmd("UID FETCH 1:* FLAGS"),
                         ([], "OK FETCH completed"))
        self.assertEqual(c.cmd("SEARCH ALL"),
                         (["* SEARCH"], "OK SEARCH completed"))
        self.assertEqual(c.cmd("FETCH 1 FLAGS"),
                         ([], "BAD Invalid message set"))
        self.assertEqual(c.cmd("EXPUNGE"), ([], "OK EXPUNGE completed"))
        self.assertEqual(c.cmd("CLOSE"), ([], "OK CLOSE completed"))

    def test_store_flags_keywords(self):
        user = self.new_user()
        c = self.login(user)
        for i in (1, 2, 3):
            self.append(c, message("m%d" % i))
        self.select(c)
        self.assertEqual(c.cmd(r"STORE 1 +FLAGS (\Seen)"),
                         ([r"* 1 FETCH (FLAGS (\Seen))"],
                          "OK STORE completed"))
        self.assertEqual(c.cmd(r"STORE 1:2 +FLAGS.SILENT (\Flagged)"),
                         ([], "OK STORE completed"))
        self.assertEqual(c.cmd("FETCH 1:3 FLAGS"),
                         ([r"* 1 FETCH (FLAGS (\Seen \Flagged))",
                           r"* 2 FETCH (FLAGS (\Flagged))",
                           "* 3 FETCH (FLAGS ())"], "OK FETCH completed"))
        self.assertEqual(c.cmd(r"STORE 1 -FLAGS (\Seen)"),
                         ([r"* 1 FETCH (FLAGS (\Flagged))"],
                          "OK STORE completed"))
        self.assertEqual(c.cmd(r"STORE 2 FLAGS (\Answered \Draft)"),
                         ([r"* 2 FETCH (FLAGS (\Answered \Draft))"],
                          "OK STORE completed"))
        # Keywords, kept as given, announced by FLAGS first (RFC 9051
        # 7.3.5); an unknown system flag is refused.
        sysf = r"\Answered \Flagged \Deleted \Seen \Draft"
        self.assertEqual(c.cmd(r"STORE 3 +FLAGS ($Label1 Work)"),
                         (["* FLAGS (%s $Label1 Work)" % sysf,
                           "* OK [PERMANENTFLAGS (%s $Label1 Work \\*)] "
                           "Flags permitted" % sysf,
                           "* 3 FETCH (FLAGS ($Label1 Work))"],
                          "OK STORE completed"))
        self.assertEqual(c.cmd(r"STORE 3 +FLAGS \Seen"),
                         ([r"* 3 FETCH (FLAGS (\Seen $Label1 Work))"],
                          "OK STORE completed"))
        self.assertEqual(c.cmd(r"STORE 3 -FLAGS.SILENT (Work)"),
                         ([], "OK STORE completed"))
        self.assertEqual(c.cmd(r"UID STORE 3 FLAGS ()"),
                         (["* 3 FETCH (UID 3 FLAGS ())"],
                          "OK STORE completed"))
        self.assertEqual(c.cmd(r"STORE 1 +FLAGS (\Bogus)"),
                         ([], "BAD Invalid flags"))
        self.assertEqual(c.cmd(r"STORE 1 FLAGZ (\Seen)"),
                         ([], "BAD Invalid STORE item"))
        self.assertEqual(c.cmd(r"STORE 4 FLAGS (\Seen)"),
                         ([], "BAD Invalid message set"))
        # Permanent: another session sees them.
        m = self.imaplib_login(user)
        try:
            m.select("INBOX", readonly=True)
            typ, data = m.fetch("1:3", "(FLAGS)")
            self.assertEqual(data, [b"1 (FLAGS (\\Flagged))",
                                    b"2 (FLAGS (\\Answered \\Draft))",
                                    b"3 (FLAGS ())"])
        finally:
            m.logout()

    def test_copy_move_expunge(self):
        user = self.new_user()
        c = self.login(user)
        for i in range(1, 6):
            self.append(c, message("m%d" % i))
        self.assertEqual(c.cmd("CREATE Keep"), ([], "OK CREATE completed"))
        u, _ = c.cmd("STATUS Keep (UIDVALIDITY)")
        av = re.search(r"UIDVALIDITY (\d+)", u[0]).group(1)
        self.select(c)
        self.assertEqual(c.cmd("COPY 1:2 Keep"),
                         ([], "OK [COPYUID %s 1:2 1:2] COPY completed" % av))
        self.assertEqual(c.cmd("COPY 1 Nowhere"),
                         ([], "NO [TRYCREATE] No such mailbox"))
        # MOVE (RFC 6851): COPYUID untagged, then EXPUNGE.
        self.assertEqual(c.cmd("MOVE 3 Keep"),
                         (["* OK [COPYUID %s 3 3] Moved" % av,
                           "* 3 EXPUNGE"], "OK MOVE completed"))
        # Now 1 2 4 5 as 1..4.
        self.assertEqual(c.cmd("UID MOVE 5 Keep"),
                         (["* OK [COPYUID %s 5 4] Moved" % av,
                           "* 4 EXPUNGE"], "OK MOVE completed"))
        self.assertEqual(c.cmd("FETCH 1:* UID"),
                         (["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)",
                           "* 3 FETCH (UID 4)"], "OK FETCH completed"))
        # EXPUNGE: only \Deleted, from the highest number down.
        self.assertEqual(c.cmd(r"STORE 1,3 +FLAGS.SILENT (\Deleted)"),
                         ([], "OK STORE completed"))
        self.assertEqual(c.cmd("EXPUNGE"),
                         (["* 3 EXPUNGE", "* 1 EXPUNGE"],
                          "OK EXPUNGE completed"))
        self.assertEqual(c.cmd("FETCH 1:* UID"),
                         (["* 1 FETCH (UID 2)"], "OK FETCH completed"))
        # UID EXPUNGE (RFC 4315): only the \Deleted ones it names.
        # APPEND to the selected mailbox announces it (RFC 9051 6.3.12),
        # recent to this session, which sees it first (RFC 3501 2.3.2).
        self.assertEqual(self.append(c, message("m6"))[0],
                         ["* 2 EXISTS", "* 2 RECENT"])
        self.assertEqual(self.append(c, message("m7"))[0],
                         ["* 3 EXISTS", "* 3 RECENT"])
        self.assertEqual(c.cmd(r"STORE 1:3 +FLAGS.SILENT (\Deleted)"),
                         ([], "OK STORE completed"))
        self.assertEqual(c.cmd("UID EXPUNGE 6"),
                         (["* 2 EXPUNGE"], "OK EXPUNGE completed"))
        self.assertEqual(c.cmd("FETCH 1:* UID"),
                         (["* 1 FETCH (UID 2)", "* 2 FETCH (UID 7)"],
                          "OK FETCH completed"))
        # UNSELECT leaves \Deleted alone; CLOSE expunges silently.
        self.assertEqual(c.cmd("UNSELECT"), ([], "OK UNSELECT completed"))
        u = self.select(c)
        self.assertIn("* 2 EXISTS", u)
        self.assertEqual(c.cmd(r"STORE 2 -FLAGS.SILENT (\Deleted)"),
                         ([], "OK STORE completed"))
        self.assertEqual(c.cmd("CLOSE"), ([], "OK CLOSE completed"))
        self.assertEqual(c.cmd("FETCH 1 UID"),
                         ([], "BAD Select a mailbox first"))
        u = self.select(c)
        self.assertIn("* 1 EXISTS", u)
        self.assertEqual(c.cmd("FETCH 1 UID"),
                         (["* 1 FETCH (UID 7)"], "OK FETCH completed"))
        # CLOSE after EXAMINE expunges nothing.
        c.cmd(r"STORE 1 +FLAGS.SILENT (\Deleted)")
        c.cmd("EXAMINE INBOX")
        self.assertEqual(c.cmd("CLOSE"), ([], "OK CLOSE completed"))
        u = self.select(c)
        self.assertIn("* 1 EXISTS", u)
        # What was copied and moved is in Keep.
        u, done = c.cmd("EXAMINE Keep")
        self.assertIn("* 4 EXISTS", u)
        u, done = c.cmd("FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        self.assertEqual([re.search(r"Subject: (\w+)", r).group(1)
                          for r in u], ["m1", "m2", "m3", "m5"])

    def test_search(self):
        user = self.new_user()
        c = self.login(user)
        pad = "filler line for size\r\n" * 100
        msgs = (
            (message("quarterly report", "apple banana\r\n",
                     frm="Alice <alice@example.org>"),
             r"\Seen", "01-Jan-2019 12:00:00 +0000"),
            (message("lunch", "cherry\r\n", frm="bob@example.org"),
             None, "15-Jun-2020 12:00:00 +0000"),
            (message("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Wien",
                     "banana split\r\n" + pad,
                     frm="carol@example.org"),
             r"\Flagged", "01-Mar-2021 12:00:00 +0000"),
            (message("report draft", "durian\r\n",
                     frm="Alice <alice@example.org>"),
             None, "01-Jan-2022 12:00:00 +0000"),
        )
        for msg, flags, date in msgs:
            u, done = self.append(c, msg, flags=flags, date=date)
            self.assertTrue(done.startswith("OK [APPENDUID"), done)
        self.select(c)
        for query, want in (
                ("ALL", "1 2 3 4"),
                ("UNSEEN", "2 3 4"),
                ("SEEN", "1"),
                ("FLAGGED", "3"),
                ("FROM alice", "1 4"),
                ('FROM "Alice <alice"', "1 4"),
                ("SUBJECT report", "1 4"),
                ("SUBJECT REPORT", "1 4"),
                ("BODY banana", "1 3"),
                ("BODY lunch", ""),
                ("TEXT banana", "1 3"),
                ("TEXT lunch", "2"),
                ("UID 2:3", "2 3"),
                ("2:3", "2 3"),
                ("NOT FROM alice", "2 3"),
                ("OR FROM bob FLAGGED", "2 3"),
                ("(FROM alice SUBJECT draft)", "4"),
                ("SINCE 1-Jan-2021", "3 4"),
                ("BEFORE 1-Jan-2020", "1"),
                ("ON 15-Jun-2020", "2"),
                ("SINCE 15-Jun-2020 BEFORE 16-Jun-2020", "2"),
                ("LARGER 2000", "3"),
                ("SMALLER 2000", "1 2 4"),
                ("CHARSET US-ASCII SUBJECT lunch", "2"),
                ("SUBJECT nothing-like-this", "")):
            self.assertEqual(c.cmd("SEARCH " + query),
                             (["* SEARCH" + (" " + want if want else "")],
                              "OK SEARCH completed"), query)
        self.assertEqual(c.cmd("UID SEARCH UID 2:3"),
                         (["* SEARCH 2 3"], "OK SEARCH completed"))
        self.assertEqual(c.cmd("UID SEARCH 1:4294967295"),
                         (["* SEARCH 1 2 3 4"], "OK SEARCH completed"))
        # UTF-8 in a literal, matched in a decoded encoded-word.
        word = "Gr\u00fc\u00dfe".encode()
        t = c.tag()
        c.send(b"%s SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s\r\n" %
               (t.encode(), len(word), word))
        self.assertEqual(c.until(t), (["* SEARCH 3"],
                                      t + " OK SEARCH completed"))
        u, done = c.cmd("SEARCH CHARSET X-UNKNOWN ALL")
        self.assertEqual(u, [])
        self.assertTrue(done.startswith("NO [BADCHARSET (UTF-8 US-ASCII)]"),
                        done)
        # ESEARCH (RFC 4731).
        t = "a%d" % (c.n + 1)
        self.assertEqual(c.cmd("SEARCH RETURN (MIN MAX COUNT ALL) FROM "
                               "alice"),
                         (['* ESEARCH (TAG "%s") MIN 1 MAX 4 COUNT 2 '
                           'ALL 1,4' % t], "OK SEARCH completed"))
        t = "a%d" % (c.n + 1)
        self.assertEqual(c.cmd("SEARCH RETURN () ALL"),
                         (['* ESEARCH (TAG "%s") ALL 1:4' % t],
                          "OK SEARCH completed"))
        t = "a%d" % (c.n + 1)
        self.assertEqual(c.cmd("SEARCH RETURN (MIN MAX COUNT) SUBJECT "
                               "nothing-like-this"),
                         (['* ESEARCH (TAG "%s") COUNT 0' % t],
                          "OK SEARCH completed"))
        t = "a%d" % (c.n + 1)
        self.assertEqual(c.cmd("UID SEARCH RETURN (COUNT MIN) UNSEEN"),
                         (['* ESEARCH (TAG "%s") UID MIN 2 COUNT 3' % t],
                          "OK SEARCH completed"))
        # SEARCHRES (RFC 5182): SAVE alone returns nothing; "$" is then
        # the result.
        self.assertEqual(c.cmd("SEARCH RETURN (SAVE) SUBJECT report"),
                         ([], "OK SEARCH completed"))
        self.assertEqual(c.cmd("FETCH $ (UID)"),
                         (["* 1 FETCH (UID 1)", "* 4 FETCH (UID 4)"],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("UID FETCH $ (FLAGS)"),
                         (["* 1 FETCH (UID 1 FLAGS (\\Seen))",
                           "* 4 FETCH (UID 4 FLAGS ())"],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("SEARCH $ UNSEEN"),
                         (["* SEARCH 4"], "OK SEARCH completed"))
        u, done = c.cmd("SEARCH BOGUS")
        self.assertTrue(done.startswith("BAD "), done)
        # Deep programs: a chain of 31 ORs and 40 NOTs are answered
        # (SQLite's parser once failed on them: NO [UNAVAILABLE]); NOT
        # and OR in turn 20 deep is too complex, and says so.
        q = "TEXT banana"
        for i in range(31):
            q = "OR TEXT zz%d %s" % (i, q)
        self.assertEqual(c.cmd("SEARCH " + q),
                         (["* SEARCH 1 3"], "OK SEARCH completed"))
        self.assertEqual(c.cmd("SEARCH " + "NOT " * 40 + "TEXT banana"),
                         (["* SEARCH 1 3"], "OK SEARCH completed"))
        q = "TEXT banana"
        for i in range(20):
            q = "NOT OR TEXT zz%d %s" % (i, q)
        u, done = c.cmd("SEARCH " + q)
        self.assertTrue(done.startswith("NO [LIMIT]"), done)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        u, done = c.cmd("SEARCH SINCE 32-Jan-2020")
        self.assertTrue(done.startswith("BAD "), done)
        # imaplib's search.
        m = self.imaplib_login(user)
        try:
            m.select("INBOX", readonly=True)
            self.assertEqual(m.search(None, "FROM", "alice"),
                             ("OK", [b"1 4"]))
            self.assertEqual(m.uid("SEARCH", "LARGER", "2000"),
                             ("OK", [b"3"]))
        finally:
            m.logout()

    def test_rev2_search_is_esearch(self):
        # IMAP4rev2 has no SEARCH response: once IMAP4rev2 is enabled a
        # SEARCH without RETURN answers ESEARCH with ALL (RFC 9051 6.4.4,
        # its example A284: "* ESEARCH (TAG "A284")" for no match;
        # "Clients that support only IMAP4rev2 MUST ignore SEARCH
        # responses").  Without CHARSET, strings are UTF-8.
        user = self.new_user()
        c = self.login(user)
        self.append(c, message("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?="))
        self.append(c, message("second"))
        self.assertEqual(c.cmd("ENABLE IMAP4rev2"),
                         (["* ENABLED IMAP4rev2"], "OK ENABLE completed"))
        self.select(c)
        t = "a%d" % (c.n + 1)
        self.assertEqual(c.cmd("SEARCH ALL"),
                         (['* ESEARCH (TAG "%s") ALL 1:2' % t],
                          "OK SEARCH completed"))
        t = "a%d" % (c.n + 1)
        self.assertEqual(c.cmd("UID SEARCH SUBJECT second"),
                         (['* ESEARCH (TAG "%s") UID ALL 2' % t],
                          "OK SEARCH completed"))
        t = "a%d" % (c.n + 1)
        self.assertEqual(c.cmd("SEARCH SUBJECT nomatch"),
                         (['* ESEARCH (TAG "%s")' % t],
                          "OK SEARCH completed"))
        word = "Gr\u00fc\u00dfe".encode()
        t = c.tag()
        c.send(b"%s SEARCH SUBJECT {%d+}\r\n%s\r\n" %
               (t.encode(), len(word), word))
        self.assertEqual(c.until(t), (['* ESEARCH (TAG "%s") ALL 1' % t],
                                      t + " OK SEARCH completed"))

    def test_append(self):
        user = self.new_user()
        c = self.login(user)
        u, _ = c.cmd("STATUS INBOX (UIDVALIDITY)")
        v = re.search(r"UIDVALIDITY (\d+)", u[0]).group(1)
        self.assertEqual(self.append(c, SMALL, flags=r"\Seen $Work",
                                     date="01-Feb-2020 10:00:00 +0100"),
                         ([], "OK [APPENDUID %s 1] APPEND completed" % v))
        self.assertEqual(self.append(c, SMALL, mbox="Nowhere"),
                         ([], "NO [TRYCREATE] No such mailbox"))
        # 100 KB with a synchronising literal; read back identical.
        big = b"".join(b"Subject: big\r\n\r\n" if i == 0 else
                       (b"%05d " % i) + b"x" * 92 + b"\r\n"
                       for i in range(1025))[:102400]
        big = big[:-2] + b"\r\n"
        self.assertEqual(len(big), 102400)
        self.assertEqual(self.append(c, big),
                         ([], "OK [APPENDUID %s 2] APPEND completed" % v))
        # LITERAL+ (RFC 7888): 100 octets without waiting.
        small = message("nonsync", "x" * (100 - len(message("nonsync",
                                                            ""))))
        self.assertEqual(len(small), 100)
        t = c.tag()
        c.send(b"%s APPEND INBOX {100+}\r\n%s\r\n" % (t.encode(), small))
        self.assertEqual(c.until(t), ([], "%s OK [APPENDUID %s 3] APPEND "
                                      "completed" % (t, v)))
        # Over 4096 octets too (LITERAL+, not LITERAL-).
        t = c.tag()
        c.send(b"%s APPEND INBOX {5000+}\r\n%s\r\n" %
               (t.encode(), b"Subject: yes\r\n\r\n" + b"y" * 4983))
        self.assertEqual(c.until(t), ([], "%s OK [APPENDUID %s 4] APPEND "
                                      "completed" % (t, v)))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        u = self.select(c)
        self.assertIn("* 4 EXISTS", u)
        self.assertEqual(c.cmd("FETCH 1 (FLAGS INTERNALDATE)"),
                         (['* 1 FETCH (FLAGS (\\Seen $Work) INTERNALDATE '
                           '"01-Feb-2020 09:00:00 +0000")'],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 2 BODY.PEEK[]"),
                         (["* 2 FETCH (BODY[] %s)" % literal(big)],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 3 BODY.PEEK[]"),
                         (["* 3 FETCH (BODY[] %s)" % literal(small)],
                          "OK FETCH completed"))
        # Errors.
        self.assertEqual(self.append(c, SMALL, flags=r"\Recent2"),
                         ([], "BAD Invalid flags"))
        self.assertEqual(self.append(c, SMALL, date="31-Feb-2020 "
                                     "10:00:00 +0000"),
                         ([], "BAD Invalid date-time"))
        self._empty_append(c)
        # imaplib's APPEND, into a new mailbox.
        m = self.imaplib_login(user)
        try:
            self.assertEqual(m.create("Outbox")[0], "OK")
            typ, data = m.append("Outbox", r"(\Seen)",
                                 imaplib.Time2Internaldate(time.time()),
                                 SMALL)
            self.assertEqual(typ, "OK")
            self.assertRegex(data[0], rb"^\[APPENDUID \d+ 1\] APPEND "
                             rb"completed$")
        finally:
            m.logout()

    def _empty_append(self, c):
        t = c.tag()
        c.send("%s APPEND INBOX {0}\r\n" % t)
        r = c.response()
        if r.startswith("+"):
            c.send("\r\n")
            u, r = c.until(t)
        self.assertEqual(r, t + " NO Empty message")
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))


class Concurrency(Base):
    def test_idle(self):
        user = self.new_user()
        a = self.login(user)
        self.append(a, message("first"))
        self.assertIn("* 1 EXISTS", self.select(a))
        t = a.tag()
        a.send("%s IDLE\r\n" % t)
        self.assertEqual(a.response(), "+ idling")
        # A delivery shows at once.
        self.deliver(user, message("delivered"))
        self.wait_untagged(a, lambda r: r == "* 2 EXISTS",
                           what="EXISTS after delivery")
        # Another session's flag change.
        b = self.login(user)
        self.select(b)
        self.assertEqual(b.cmd(r"STORE 2 +FLAGS.SILENT (\Flagged)"),
                         ([], "OK STORE completed"))
        self.wait_untagged(a, lambda r: r ==
                           r"* 2 FETCH (UID 2 FLAGS (\Flagged))",
                           what="FETCH FLAGS")
        # Another session's expunge.
        self.assertEqual(b.cmd(r"STORE 1 +FLAGS.SILENT (\Deleted)"),
                         ([], "OK STORE completed"))
        self.assertEqual(b.cmd("EXPUNGE"),
                         (["* 1 EXPUNGE"], "OK EXPUNGE completed"))
        seen = self.wait_untagged(a, lambda r: r == "* 1 EXPUNGE",
                                  what="EXPUNGE")
        for r in seen[:-1]:
            self.assertEqual(r, r"* 1 FETCH (UID 1 FLAGS (\Deleted))")
        # APPEND by B.
        self.append(b, message("appended"))
        seen = self.wait_untagged(a, lambda r: r == "* 2 RECENT",
                                  what="EXISTS and RECENT after APPEND")
        self.assertIn("* 2 EXISTS", seen)
        # DONE and the next command in one write.
        a.send("DONE\r\nx1 NOOP\r\n")
        self.assertEqual(a.until(t), ([], t + " OK IDLE terminated"))
        self.assertEqual(a.until("x1"), ([], "x1 OK NOOP completed"))
        self.assertEqual(a.cmd("FETCH 1:* (UID FLAGS)"),
                         ([r"* 1 FETCH (UID 2 FLAGS (\Flagged))",
                           "* 2 FETCH (UID 3 FLAGS ())"],
                          "OK FETCH completed"))
        # Anything but DONE ends IDLE with BAD.
        t = a.tag()
        a.send("%s IDLE\r\n" % t)
        self.assertEqual(a.response(), "+ idling")
        a.send("NOOP\r\n")
        self.assertEqual(a.until(t), ([], t + " BAD Expected DONE"))
        self.assertEqual(a.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_two_sessions(self):
        user = self.new_user()
        a = self.login(user)
        for i in (1, 2, 3):
            self.append(a, message("m%d" % i))
        self.select(a)
        b = self.login(user)
        self.select(b)
        # B's STORE is seen by A at its next NOOP (the vault's news may
        # take a moment to reach A's session).
        self.assertEqual(b.cmd(r"STORE 2 +FLAGS (\Flagged)"),
                         ([r"* 2 FETCH (FLAGS (\Flagged))"],
                          "OK STORE completed"))
        seen = self.noop_until(a, lambda r: r.startswith("* 2 FETCH"))
        self.assertEqual(seen, [r"* 2 FETCH (UID 2 FLAGS (\Flagged))"])
        # A third session in IDLE tells when imapd has heard of B's
        # expunge.
        w = self.login(user)
        self.select(w)
        wt = w.tag()
        w.send("%s IDLE\r\n" % wt)
        self.assertEqual(w.response(), "+ idling")
        self.assertEqual(b.cmd(r"STORE 1 +FLAGS.SILENT (\Deleted)"),
                         ([], "OK STORE completed"))
        self.assertEqual(b.cmd("EXPUNGE"),
                         (["* 1 EXPUNGE"], "OK EXPUNGE completed"))
        self.wait_untagged(w, lambda r: r == "* 1 EXPUNGE", what="EXPUNGE")
        # A's FETCH, STORE and SEARCH must not say EXPUNGE (RFC 9051
        # 7.5.1), and its numbers stay as they were.
        u, done = a.cmd("FETCH 1:3 (UID)")
        self.assertEqual(done, "OK FETCH completed")
        self.assertFalse([r for r in u if "EXPUNGE" in r], u)
        self.assertIn("* 2 FETCH (UID 2)", u)
        self.assertIn("* 3 FETCH (UID 3)", u)
        u, done = a.cmd(r"STORE 2:3 +FLAGS (\Answered)")
        self.assertEqual(done, "OK STORE completed")
        self.assertEqual(u, [r"* 2 FETCH (FLAGS (\Answered \Flagged))",
                             r"* 3 FETCH (FLAGS (\Answered))"])
        u, done = a.cmd("SEARCH ALL")
        self.assertEqual(done, "OK SEARCH completed")
        self.assertFalse([r for r in u if "EXPUNGE" in r], u)
        # At NOOP, the EXPUNGE comes.  (The vault tells every session of
        # the account in one go, so A has heard by now; NOOP is repeated
        # only so that a slow machine cannot make this fail.)
        self.noop_until(a, lambda r: r == "* 1 EXPUNGE", what="EXPUNGE")
        self.assertEqual(a.cmd("FETCH 1:* (UID)"),
                         (["* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)"],
                          "OK FETCH completed"))
        self.assertEqual(a.cmd("FETCH 3 UID"),
                         ([], "BAD Invalid message set"))
        # A delivery is announced at NOOP.
        self.deliver(user, message("late"))
        self.noop_until(a, lambda r: r == "* 3 EXISTS", what="EXISTS")
        self.assertEqual(a.cmd("FETCH 3 BODY.PEEK[HEADER.FIELDS "
                               "(SUBJECT)]"),
                         (["* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] %s)" %
                           literal("Subject: late\r\n\r\n")],
                          "OK FETCH completed"))
        w.send("DONE\r\n")
        u, done = w.until(wt)
        self.assertEqual(done, wt + " OK IDLE terminated")


    def test_expunge_interleaved(self):
        # B expunges while A (not yet told) expunges too: the EXPUNGE
        # responses A gets, applied in order to A's numbering, must give
        # exactly the mailbox that FETCH then shows.
        user = self.new_user()
        a = self.login(user)
        for i in range(1, 8):
            self.append(a, message("m%d" % i))
        self.select(a)
        b = self.login(user)
        self.select(b)
        w = self.login(user)
        self.select(w)
        wt = w.tag()
        w.send("%s IDLE\r\n" % wt)
        self.assertEqual(w.response(), "+ idling")
        self.assertEqual(b.cmd(r"STORE 2,5 +FLAGS.SILENT (\Deleted)"),
                         ([], "OK STORE completed"))
        self.assertEqual(b.cmd("EXPUNGE"),
                         (["* 5 EXPUNGE", "* 2 EXPUNGE"],
                          "OK EXPUNGE completed"))
        self.wait_untagged(w, lambda r: r == "* 2 EXPUNGE", what="EXPUNGE")
        # A still numbers 1..7 as uids 1..7: 6 is uid 6, 3 is uid 3.
        u, done = a.cmd(r"STORE 3,6 +FLAGS (\Deleted)")
        self.assertEqual(done, "OK STORE completed")
        self.assertEqual(u, [r"* 3 FETCH (FLAGS (\Deleted))",
                             r"* 6 FETCH (FLAGS (\Deleted))"])
        u, done = a.cmd("EXPUNGE")
        self.assertEqual(done, "OK EXPUNGE completed")
        view = list(range(1, 8))
        for r in u:
            m = re.fullmatch(r"\* (\d+) EXPUNGE", r)
            if m is None:
                self.assertRegex(r, r"^\* \d+ FETCH \(UID \d+ FLAGS "
                                 r"\([^)]*\)\)$")
                continue
            n = int(m.group(1))
            self.assertTrue(1 <= n <= len(view), (n, view, u))
            del view[n - 1]
        self.assertEqual(view, [1, 4, 7], u)
        self.assertEqual(a.cmd("FETCH 1:* (UID)"),
                         (["* 1 FETCH (UID 1)", "* 2 FETCH (UID 4)",
                           "* 3 FETCH (UID 7)"], "OK FETCH completed"))
        w.send("DONE\r\n")
        self.assertEqual(w.until(wt)[1], wt + " OK IDLE terminated")

    def test_qresync(self):
        user = self.new_user()
        a = self.login(user)
        for i in (1, 2, 3, 4):
            self.append(a, message("m%d" % i))
        self.assertEqual(a.cmd("ENABLE QRESYNC"),
                         (["* ENABLED QRESYNC"], "OK ENABLE completed"))
        u = self.select(a)
        v = int(re.search(r"UIDVALIDITY (\d+)", " ".join(u)).group(1))
        hm = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(u)).group(1))
        self.assertEqual(a.cmd("UNSELECT"), ([], "OK UNSELECT completed"))
        # Changes made while A is away.
        b = self.login(user)
        self.select(b)
        self.assertEqual(b.cmd(r"STORE 2 +FLAGS.SILENT (\Seen)"),
                         ([], "OK STORE completed"))
        b.cmd(r"STORE 3 +FLAGS.SILENT (\Deleted)")
        self.assertEqual(b.cmd("EXPUNGE"),
                         (["* 3 EXPUNGE"], "OK EXPUNGE completed"))
        # A comes back with what it knew (RFC 7162 3.2.5).
        u, done = a.cmd("SELECT INBOX (QRESYNC (%d %d 1:4))" % (v, hm))
        self.assertEqual(done, "OK [READ-WRITE] SELECT completed")
        self.assertIn("* VANISHED (EARLIER) 3", u)
        changed = [r for r in u if "FETCH" in r]
        self.assertEqual(len(changed), 1, u)
        self.assertRegex(changed[0], r"^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) "
                         r"MODSEQ \(\d+\)\)$")
        self.assertIn("* 3 EXISTS", u)
        # A stale UIDVALIDITY: a plain SELECT, no VANISHED.
        u, done = a.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v + 1, hm))
        self.assertEqual(done, "OK [READ-WRITE] SELECT completed")
        self.assertFalse([r for r in u if "VANISHED" in r or
                          "FETCH" in r], u)
        # Live: with QRESYNC on, VANISHED instead of EXPUNGE.
        b.cmd(r"STORE 1 +FLAGS.SILENT (\Deleted)")
        self.assertEqual(b.cmd("EXPUNGE"),
                         (["* 1 EXPUNGE"], "OK EXPUNGE completed"))
        seen = self.noop_until(a, lambda r: r.startswith("* VANISHED"),
                               what="VANISHED")
        self.assertIn("* VANISHED 1", seen)
        self.assertFalse([r for r in seen if "EXPUNGE" in r], seen)
        self.assertEqual(a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d "
                               "VANISHED)" % hm)[1], "OK FETCH completed")
        u, done = a.cmd("UID FETCH 1:4 (UID) (CHANGEDSINCE 1 VANISHED)")
        self.assertEqual(done, "OK FETCH completed")
        self.assertEqual(u[0], "* VANISHED (EARLIER) 1,3")
        self.assertEqual(a.cmd("FETCH 1:* (UID) (CHANGEDSINCE 1 VANISHED)"),
                         ([], "BAD VANISHED needs UID FETCH and "
                          "CHANGEDSINCE"))


class BadInput(Base):
    def user_selected(self, n=3):
        user = self.new_user()
        c = self.login(user)
        for i in range(1, n + 1):
            self.append(c, message("m%d" % i))
        self.select(c)
        return user, c

    def test_unknown_tag_and_state(self):
        c = self.connect()
        self.assertEqual(c.cmd("FOO"), ([], "BAD Unknown command"))
        self.assertEqual(c.cmd("UID NOOP"), ([], "BAD Unknown command"))
        # No tag: untagged BAD, nothing run.
        c.send("NOOP\r\n")
        self.assertEqual(c.response(), "* BAD Missing or invalid tag")
        c.send("\r\n")
        self.assertEqual(c.response(), "* BAD Missing or invalid tag")
        c.send("a+b NOOP\r\n")
        self.assertEqual(c.response(), "* BAD Missing or invalid tag")
        self.assertEqual(c.cmd("SELECT INBOX"), ([], "BAD Log in first"))
        self.assertEqual(c.cmd("FETCH 1 FLAGS"), ([], "BAD Log in first"))
        user = self.new_user()
        c.cmd('LOGIN %s "%s"' % (user, PASSWORD))
        self.assertEqual(c.cmd("FETCH 1 FLAGS"),
                         ([], "BAD Select a mailbox first"))
        self.assertEqual(c.cmd("CLOSE"), ([], "BAD Select a mailbox first"))
        self.assertEqual(c.cmd('LOGIN %s "%s"' % (user, PASSWORD)),
                         ([], "BAD Not valid in this state"))
        self.assertEqual(c.cmd("STARTTLS"),
                         ([], "BAD Not valid in this state"))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_nesting(self):
        user, c = self.user_selected()
        self.assertEqual(c.cmd("SEARCH " + "(" * 17 + "ALL" + ")" * 17),
                         ([], "BAD Too deeply nested parentheses"))
        self.assertEqual(c.cmd("SEARCH " + "(" * 16 + "ALL" + ")" * 16),
                         (["* SEARCH 1 2 3"], "OK SEARCH completed"))
        self.assertEqual(c.cmd("SEARCH ((ALL)"),
                         ([], "BAD Unbalanced parentheses"))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_sequence_sets(self):
        user, c = self.user_selected()
        for bad in ("0", "1:", "abc", "4294967296", "1,,2", ":1", "1:0",
                    "0:1"):
            self.assertEqual(c.cmd("FETCH %s FLAGS" % bad),
                             ([], "BAD Invalid message set"), bad)
            self.assertEqual(c.cmd("UID FETCH %s FLAGS" % bad),
                             ([], "BAD Invalid message set"), bad)
        self.assertEqual(c.cmd("UID FETCH 1:4294967295 UID"),
                         (["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)",
                           "* 3 FETCH (UID 3)"], "OK FETCH completed"))
        # RFC 9051 9: the number 4294967295 is not "*", and no
        # message has that uid (it was taken as "*" before).
        self.assertEqual(c.cmd("UID FETCH 4294967295 UID"),
                         ([], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 3:1 UID"),
                         (["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)",
                           "* 3 FETCH (UID 3)"], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH * UID"),
                         (["* 3 FETCH (UID 3)"], "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 2,1,2 UID"),
                         (["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)"],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_long_line_and_literal(self):
        user, c = self.user_selected()
        # A line over 64 KiB: BAD [TOOBIG] with its tag (RFC 9051
        # 7.1.5; it was untagged and the command never answered); the
        # session goes on.
        t = c.tag()
        c.send("%s SEARCH SUBJECT %s\r\n" % (t, "x" * 70000))
        self.assertEqual(c.response(), "%s BAD [TOOBIG] Line too long "
                         "(at most 65536 octets)" % t)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        # Just under: fine.
        t = c.tag()
        c.send('%s ID ("x" "%s")\r\n' % (t, "y" * 8000))
        self.assertEqual(c.until(t), (['* ID ("name" "Tresor" "vendor" '
                                       '"Tresor")'], t + " OK ID completed"))
        # A literal over 64 KiB for anything but APPEND: refused before
        # the continuation.
        t = c.tag()
        c.send("%s SEARCH SUBJECT {70000}\r\n" % t)
        self.assertEqual(c.response(), "%s BAD [TOOBIG] Command too long"
                         % t)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        # A whole command over 64 KiB in literals of 40 KiB.
        t = c.tag()
        c.send("%s SEARCH OR SUBJECT {40000}\r\n" % t)
        self.assertEqual(c.response(), "+ Ready for literal data")
        c.send("s" * 40000 + " SUBJECT {40000}\r\n")
        self.assertEqual(c.response(), "%s BAD [TOOBIG] Command too long"
                         % t)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        # A non-synchronising one of 5000 in a command other than
        # APPEND is taken (LITERAL+: the command runs and meets the
        # search key's own limit); one over 64 KiB is refused, its
        # octets read and dropped, and the session goes on.
        t = c.tag()
        c.send("%s SEARCH SUBJECT {5000+}\r\n%s\r\n" % (t, "z" * 5000))
        self.assertEqual(c.until(t), ([], t + " BAD Search string too long"))
        t = c.tag()
        c.send("%s SEARCH SUBJECT {70000+}\r\n%s\r\n" % (t, "z" * 70000))
        u, done = c.until(t)
        self.assertEqual(done, t + " BAD [TOOBIG] Command too long")
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_literal_plus_over_limits(self):
        """RFC 7888 section 4: a non-synchronising literal larger than
        the server takes is answered and its octets read and dropped
        (never held), or, past the message size limit, the session is
        closed without waiting for them."""
        user, c = self.user_selected()
        limit = 35 * 1024 * 1024
        # An APPEND over the limit, announced without waiting: the
        # command is refused and the session closed at once.
        t = c.tag()
        c.send("%s APPEND INBOX {%d+}\r\n" % (t, limit + 1))
        self.assertEqual(c.response(), t + " NO [TOOBIG] Message too large")
        self.assertEqual(c.response(), "* BYE [TOOBIG] Literal too large")
        self.assertTrue(c.closed())
        # Any command with a literal of 4 GB: the same.
        c = self.login(user)
        t = c.tag()
        c.send("%s SEARCH SUBJECT {4000000000+}\r\n" % t)
        self.assertEqual(c.response(), t + " BAD [TOOBIG] Command too long")
        self.assertEqual(c.response(), "* BYE [TOOBIG] Literal too large")
        self.assertTrue(c.closed())
        # Within the limit: read and dropped, and the session goes on;
        # nothing of it is taken for a command.
        c = self.login(user)
        t = c.tag()
        data = ("x9 LOGOUT\r\n" * 100000).encode()
        c.send(b"%s SEARCH SUBJECT {%d+}\r\n" % (t.encode(), len(data)))
        c.send(data + b"\r\n")
        self.assertEqual(c.response(), t + " BAD [TOOBIG] Command too long")
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_bad_mailbox_name_and_nul(self):
        user, c = self.user_selected()
        self.assertEqual(c.cmd("SELECT &Jjo"),
                         ([], "BAD Invalid mailbox name"))
        self.assertEqual(c.cmd("CREATE &Jjo"),
                         ([], "BAD Invalid mailbox name"))
        self.assertEqual(c.cmd('CREATE "&ZeVnLIqe-"'),
                         ([], "OK CREATE completed"))
        self.assertEqual(c.cmd("CREATE &AGE-"),
                         ([], "BAD Invalid mailbox name"))
        # A NUL: the command is not run; the BAD names its tag (RFC 9051
        # 7.1.5: the tagged form when the command is known).
        t = c.tag()
        c.send("%s NOOP\0x\r\n" % t)
        r = c.response()
        self.assertEqual(r, "%s BAD Invalid characters in command" % t)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_nul_command_not_run(self):
        # Whatever the tag, a NUL is refused and nothing runs.
        c = self.connect()
        c.send("x1 LOGOUT\0\r\n")
        r = c.response()
        self.assertRegex(r, r"^(\*|x1) BAD Invalid characters in command$")
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_refused_command_literal_dropped(self):
        # A refused command's non-synchronising literal is read and
        # dropped, never taken for commands (imap_refuse_rest).
        c = self.connect()
        hidden = "x1 LOGOUT\r\n"
        c.send("bad+tag NOOP {%d+}\r\n%s\r\n" % (len(hidden), hidden))
        self.assertEqual(c.response(), "* BAD Missing or invalid tag")
        c.send("a1 NOOP\0 {%d+}\r\n%s\r\n" % (len(hidden), hidden))
        self.assertRegex(c.response(),
                         r"^(\*|a1) BAD Invalid characters in command$")
        t = c.tag()
        c.send("%s SEARCH SUBJECT {70000+}\r\n%s\r\n" % (t, hidden * 6363 +
                                                        "x" * 7))
        u, done = c.until(t)
        self.assertTrue(done.startswith(t + " BAD [TOOBIG]"), done)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        c.sock.settimeout(1)
        with self.assertRaises(socket.timeout):
            c.response()

    def test_too_many_errors(self):
        c = self.connect()
        for i in range(19):
            self.assertEqual(c.cmd("XYZZY"), ([], "BAD Unknown command"))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        t = c.tag()
        c.send("%s XYZZY\r\n" % t)
        self.assertEqual(c.response(), t + " BAD Unknown command")
        self.assertEqual(c.response(), "* BYE Too many invalid commands")
        self.assertTrue(c.closed())


class VaultRestart(Base):
    per_test = True
    may_exit = ("vaultd",)

    def test_idle_session_told_when_vault_restarts(self):
        # vaultd's sessions die with it: a client in IDLE must not wait
        # for news that will never come.
        user = self.new_user()
        c = self.login(user)
        self.select(c)
        c.send("i1 IDLE\r\n")
        self.assertEqual(c.response(), "+ idling")
        os.kill(self.t.pid("vaultd"), 9)
        self.assertEqual(c.response(), "* BYE [UNAVAILABLE] The mail "
                         "store restarted; log in again")
        self.assertTrue(c.closed())
        self.t.wait_log("the vault session is gone")

        # Once vaultd is back, logging in again works.
        def relogin():
            d = self.connect()
            u, done = d.cmd('LOGIN %s "%s"' % (user, PASSWORD))
            if done.startswith("OK [CAPABILITY"):
                return d
            d.close()
            self.conns.remove(d)
            time.sleep(0.2)
            return None
        d = wait_for(relogin, 30, "a login after vaultd's restart")
        self.select(d)


class SlowReader(Base):
    """A client that asks for much and reads nothing."""
    extra = FAST_KDF + "\nlimit timeout idle 5s\nlimit timeout session 20s"

    def imapd_rss(self):
        pid = self.t.pid("imapd")
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def server_state(self, client_port):
        """The TCP state of imapd's side of our connection, or None."""
        want_local = "%04X" % self.t.port("imap")
        want_peer = "%04X" % client_port
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fld = line.split()
                if (fld[1].endswith(":" + want_local) and
                        fld[2].endswith(":" + want_peer)):
                    return fld[3]
        return None

    def test_stalled_fetch(self):
        user = self.new_user()
        c = self.login(user)
        body = b"".join((b"%07d " % i) + b"y" * 70 + b"\r\n"
                        for i in range(13000))
        msg = b"Subject: big\r\n\r\n" + body
        self.assertGreater(len(msg), 1000000)
        for _ in range(10):
            u, done = self.append(c, msg)
            self.assertTrue(done.startswith("OK [APPENDUID"), done)
        c.cmd("LOGOUT")
        # A small receive buffer, so the kernel holds little for us.
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(TIMEOUT)
        s.connect(("127.0.0.1", self.t.port("imap")))
        port = s.getsockname()[1]
        slow = Conn(s)
        self.conns.append(slow)
        slow.response()
        slow.cmd('LOGIN %s "%s"' % (user, PASSWORD))
        self.select(slow)
        rss0 = self.imapd_rss()
        t0 = time.monotonic()
        for _ in range(5):
            slow.send("%s FETCH 1:* BODY.PEEK[]\r\n" % slow.tag())
        # Others are served meanwhile, and imapd does not grow with what
        # it cannot send (10 MB asked five times).
        peak = rss0
        for i in range(3):
            o = self.login(user)
            self.select(o)
            u, done = o.cmd("FETCH 1 RFC822.SIZE")
            self.assertEqual(done, "OK FETCH completed")
            o.cmd("LOGOUT")
            peak = max(peak, self.imapd_rss())
        self.assertLess(peak - rss0, 24 * 1024 * 1024,
                        "imapd grew from %d to %d" % (rss0, peak))
        self.assertEqual(self.server_state(port), "01")    # ESTABLISHED
        # And the stalled one is dropped in the end (here by the session
        # time limit: once logged in the idle limit is 30 minutes).
        wait_for(lambda: self.server_state(port) != "01", 40,
                 "imapd to drop the stalled client")
        self.assertLess(time.monotonic() - t0, 60)
        o = self.login(user)
        self.assertEqual(o.cmd("NOOP"), ([], "OK NOOP completed"))


if __name__ == "__main__":
    unittest.main()
