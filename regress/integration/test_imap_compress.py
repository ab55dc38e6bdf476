# COMPRESS=DEFLATE (RFC 4978): a client with Python's zlib (raw DEFLATE,
# wbits -15) over plain IMAP, STARTTLS and implicit TLS: login, COMPRESS,
# SELECT, FETCH of large bodies, APPEND, IDLE while mail comes over SMTP,
# LOGOUT; COMPRESS twice, before login, with a bad mechanism; corrupt
# input.  And mbsync (isync 1.4 speaks COMPRESS DEFLATE) over IMAPS.

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

# COMPRESS=DEFLATE (RFC 4978): a client with Python's zlib (raw DEFLATE,
# wbits -15) over plain IMAP, STARTTLS and implicit TLS.

import os
import shutil
import socket
import subprocess
import tempfile
import unittest
import zlib

import test_imap as ti
from tresor import client_tls


class ZConn(ti.Conn):
    """test_imap's raw client, compressing both ways once told to."""

    def __init__(self, sock):
        super().__init__(sock)
        self.comp = None
        self.decomp = None
        self.wire_in = 0
        self.plain_in = 0

    def compress(self):
        self.comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.decomp = zlib.decompressobj(-15)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        if self.comp is not None:
            data = (self.comp.compress(data) +
                    self.comp.flush(zlib.Z_SYNC_FLUSH))
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; have %r" % self.buf[-200:])
        if self.decomp is not None:
            self.wire_in += len(chunk)
            chunk = self.decomp.decompress(chunk)
            self.plain_in += len(chunk)
        self.buf += chunk


def big_message(i, size):
    line = ("line %d of a long and rather repetitive message body, "
            "as mail is\r\n" % i)
    body = line * (size // len(line) + 1)
    return ti.message("big %d" % i, body=body)


class Compress(ti.Base):

    def zconnect(self, name="imap", tls=False, starttls=False):
        s = socket.create_connection(("127.0.0.1", self.t.port(name)),
                                     timeout=ti.TIMEOUT)
        if tls:
            s = client_tls().wrap_socket(s)
        c = ZConn(s)
        self.conns.append(c)
        self.assertTrue(c.response().startswith("* OK [CAPABILITY "))
        if starttls:
            self.assertEqual(c.cmd("STARTTLS"),
                             ([], "OK Begin TLS negotiation now"))
            c.starttls()
        return c

    def zlogin(self, user, **kw):
        c = self.zconnect(**kw)
        u, done = c.cmd('LOGIN %s "%s"' % (user, ti.PASSWORD))
        self.assertEqual(done, "OK [CAPABILITY %s] Logged in" % ti.caps())
        self.assertIn("COMPRESS=DEFLATE", done)
        self.assertEqual(c.cmd("COMPRESS DEFLATE"),
                         ([], "OK DEFLATE active"))
        c.compress()
        return c

    def session(self, **kw):
        """The whole of a compressed session, over one kind of link."""
        big = [big_message(i, 300000) for i in range(3)]
        user = self.new_user(big[:2])
        c = self.zlogin(user, **kw)
        # Twice: refused, and still usable.
        self.assertEqual(c.cmd("COMPRESS DEFLATE"),
                         ([], "NO [COMPRESSIONACTIVE] DEFLATE is already "
                          "active"))
        self.assertIn("* 2 EXISTS", self.select(c))
        u, done = c.cmd("FETCH 1:2 BODY.PEEK[]")
        self.assertEqual(done, "OK FETCH completed")
        # Delivered: with a Received field in front.
        self.assertEqual(len(u), 2)
        for i in range(2):
            self.assertTrue(u[i].startswith("* %d FETCH (BODY[] {" %
                                            (i + 1)))
            self.assertTrue(u[i].endswith(big[i].decode() + ")"))
        # Mail text compresses: far fewer octets came over the wire.
        self.assertLess(c.wire_in * 10, c.plain_in)
        u, done = c.cmd_lit("APPEND INBOX", big[2])
        self.assertRegex(done, r"^OK \[APPENDUID \d+ 3\] APPEND completed")
        self.assertIn("* 3 EXISTS", u)
        # IDLE, with a delivery over SMTP coming in.
        t = c.tag()
        c.send("%s IDLE\r\n" % t)
        self.assertEqual(c.response(), "+ idling")
        self.deliver(user, ti.message("while idle"))
        self.wait_untagged(c, lambda r: r == "* 4 EXISTS",
                           what="EXISTS after delivery")
        c.send("DONE\r\n")
        # An IMAP4rev1 session is also told the new message is recent
        # (RFC 3501 7.3.2), which may come just after EXISTS.
        u, done = c.until(t)
        self.assertEqual([r for r in u if r != "* 4 RECENT"], [])
        self.assertEqual(done, t + " OK IDLE terminated")
        u, done = c.cmd("UID FETCH 3 BODY.PEEK[]")
        self.assertEqual(u, ["* 3 FETCH (UID 3 BODY[] %s)" %
                             ti.literal(big[2])])
        u, done = c.cmd("LOGOUT")
        self.assertEqual((u, done), (["* BYE Logging out"],
                                     "OK LOGOUT completed"))
        self.assertTrue(c.closed())

    def test_plain(self):
        self.session()

    def test_starttls(self):
        self.session(starttls=True)

    def test_implicit_tls(self):
        self.session(name="imaps", tls=True)

    def test_before_login(self):
        c = self.zconnect()
        self.assertEqual(c.cmd("COMPRESS DEFLATE"), ([], "BAD Log in first"))
        # Still in clear: the session goes on.
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_bad_mechanism(self):
        user = self.new_user()
        c = self.zconnect()
        c.cmd('LOGIN %s "%s"' % (user, ti.PASSWORD))
        self.assertEqual(c.cmd("COMPRESS LZW"),
                         ([], "BAD Unknown compression mechanism"))
        self.assertEqual(c.cmd("COMPRESS"),
                         ([], "BAD Syntax: COMPRESS DEFLATE"))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))

    def test_corrupt_input(self):
        user = self.new_user()
        c = self.zlogin(user)
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        # A stored block whose length and its complement disagree.
        c.sock.sendall(b"\x00\x05\x00\x00\x00hello")
        self.assertTrue(c.closed())
        self.t.wait_log(r"corrupt compressed input")

    def test_mbsync(self):
        """isync 1.4 asks for COMPRESS DEFLATE when it is offered."""
        ti.require_tool(self, "mbsync")
        msgs = [big_message(i, 50000) for i in range(3)]
        user = self.new_user(msgs)
        d = tempfile.mkdtemp(prefix="tresor-mbsync-z-")
        self.addCleanup(shutil.rmtree, d, True)
        rc = os.path.join(d, "mbsyncrc")
        with open(rc, "w") as f:
            f.write("IMAPAccount tresor\nHost 127.0.0.1\nPort %d\n"
                    "User %s\nPass \"%s\"\nSSLType IMAPS\n"
                    "CertificateFile %s\nTimeout 60\n\n"
                    "IMAPStore remote\nAccount tresor\n\n"
                    "MaildirStore local\nPath %s/\nInbox %s/inbox\n\n"
                    "Channel sync\nFar :remote:\nNear :local:\n"
                    "Patterns INBOX\nCreate Near\nSync Pull\n"
                    "SyncState *\n" % (
                        self.t.port("imaps"), user, ti.PASSWORD,
                        self.t.path("tls", "cert.pem"), d, d))
        p = subprocess.run(["mbsync", "-Dn", "-c", rc, "-a"],
                           capture_output=True, timeout=120, cwd=d,
                           env=dict(os.environ, HOME=d))
        out = (p.stdout + p.stderr).decode(errors="replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("COMPRESS DEFLATE", out)
        got = []
        for sub in ("cur", "new"):
            sd = os.path.join(d, "inbox", sub)
            for n in os.listdir(sd):
                with open(os.path.join(sd, n), "rb") as f:
                    got.append(f.read())
        self.assertEqual(len(got), 3)
        for m in msgs:
            self.assertTrue(any(m.split(b"\r\n\r\n", 1)[1].replace(
                b"\r\n", b"\n") in g.replace(b"\r\n", b"\n")
                for g in got))
        self.t.wait_log(r"imap: session \d+: compression on")


if __name__ == "__main__":
    unittest.main()
