# Two-way synchronisation with mbsync (isync): 300 messages put on the
# server by APPEND are pulled into a local Maildir over IMAPS (the test's
# self-signed certificate pinned with CertificateFile); then flags are
# changed, messages deleted and added on both sides, and after the next
# run both sides must hold exactly the same messages with the same flags.

import imaplib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from tresor import DaemonCase, client_tls, require_tool

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"
USER = "sync@test.example"
TIMEOUT = 30
MBSYNC_TIMEOUT = 300
COUNT = 300

# Maildir info letters (maildir(5)) and the IMAP flags they stand for.
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered",
                 "S": "\\Seen", "T": "\\Deleted"}


def message(n):
    return ("From: sender%d@example.org\r\n"
            "To: %s\r\n"
            "Subject: sync message %d\r\n"
            "Message-ID: <sync-%d@example.org>\r\n"
            "Date: Mon, 1 Jan 2024 10:%02d:%02d +0000\r\n"
            "\r\n"
            "Body of message %d.\r\n" % (n, USER, n, n, (n // 60) % 60,
                                         n % 60, n)).encode()


class Raw:
    """Just enough IMAP to pipeline APPENDs with LITERAL+."""

    def __init__(self, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock = client_tls().wrap_socket(s)
        self.buf = b""
        self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def until(self, tag):
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return line[len(tag) + 1:]

    def close(self):
        self.sock.close()


class Mbsync(DaemonCase):
    extra = FAST_KDF
    password = PASSWORD

    def setUp(self):
        super().setUp()
        require_tool(self, "mbsync")
        self.dir = tempfile.mkdtemp(prefix="tresor-mbsync-")
        self.maildir = os.path.join(self.dir, "mail")
        self.inbox = os.path.join(self.maildir, "INBOX")
        os.mkdir(self.maildir)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def imap(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.t.port("imaps"),
                              ssl_context=client_tls(), timeout=TIMEOUT)
        m.login(USER, PASSWORD)
        return m

    def append_many(self, numbers):
        """APPEND each message in one pipelined write (LITERAL+)."""
        r = Raw(self.t.port("imaps"))
        try:
            r.sock.sendall(b'l LOGIN %s "%s"\r\n' % (USER.encode(),
                                                     PASSWORD.encode()))
            self.assertTrue(r.until("l").startswith("OK"))
            out = []
            for i, n in enumerate(numbers):
                msg = message(n)
                self.assertLess(len(msg), 4096)
                out.append(b"p%d APPEND INBOX {%d+}\r\n%s\r\n" %
                           (i, len(msg), msg))
            r.sock.sendall(b"".join(out))
            for i in range(len(numbers)):
                self.assertRegex(r.until("p%d" % i),
                                 r"^OK \[APPENDUID \d+ \d+\] APPEND "
                                 r"completed$")
        finally:
            r.close()

    def write_rc(self):
        rc = os.path.join(self.dir, "mbsyncrc")
        with open(rc, "w") as f:
            f.write("IMAPAccount tresor\n"
                    "Host 127.0.0.1\n"
                    "Port %d\n"
                    "User %s\n"
                    "Pass \"%s\"\n"
                    "SSLType IMAPS\n"
                    "CertificateFile %s\n"
                    "Timeout 60\n"
                    "\n"
                    "IMAPStore remote\n"
                    "Account tresor\n"
                    "\n"
                    "MaildirStore local\n"
                    "Path %s/\n"
                    "Inbox %s\n"
                    "\n"
                    "Channel sync\n"
                    "Far :remote:\n"
                    "Near :local:\n"
                    "Patterns INBOX\n"
                    "Create Near\n"
                    "Expunge Both\n"
                    "Sync All\n"
                    "SyncState *\n" % (
                        self.t.port("imaps"), USER, PASSWORD,
                        self.t.path("tls", "cert.pem"), self.maildir,
                        self.inbox))
        return rc

    def mbsync(self, rc):
        p = subprocess.run(["mbsync", "-c", rc, "-a"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=MBSYNC_TIMEOUT, cwd=self.dir,
                           env=dict(os.environ, HOME=self.dir))
        self.assertEqual(p.returncode, 0, "mbsync failed:\n%s\n%s" % (
            p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace")))
        return p

    def local(self):
        """{message number: (set of flags, path)} of the Maildir."""
        out = {}
        for sub in ("cur", "new"):
            d = os.path.join(self.inbox, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                path = os.path.join(d, name)
                with open(path, "rb") as f:
                    data = f.read()
                m = re.search(rb"Message-ID: <sync-(\d+)@example.org>", data)
                self.assertIsNotNone(m, path)
                n = int(m.group(1))
                self.assertNotIn(n, out, "twice in the Maildir: %d" % n)
                flags = set()
                if ":2," in name:
                    for ch in name.split(":2,", 1)[1]:
                        if ch in MAILDIR_FLAGS:
                            flags.add(MAILDIR_FLAGS[ch])
                out[n] = (flags, path)
        return out

    def remote(self):
        """{message number: set of flags} on the server."""
        m = self.imap()
        try:
            typ, data = m.select("INBOX", readonly=True)
            self.assertEqual(typ, "OK")
            out = {}
            if int(data[0]) == 0:
                return out
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                                "(MESSAGE-ID)])")
            self.assertEqual(typ, "OK")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0])
                            .group(1).decode().split())
                n = int(re.search(rb"<sync-(\d+)@", item[1]).group(1))
                self.assertNotIn(n, out, "twice on the server: %d" % n)
                out[n] = flags
            return out
        finally:
            m.logout()

    def set_local_flags(self, path, flags):
        """Rename a Maildir file to carry these flags, in cur/."""
        name = os.path.basename(path).split(":2,", 1)[0]
        letters = "".join(sorted(k for k, v in MAILDIR_FLAGS.items()
                                 if v in flags))
        new = os.path.join(self.inbox, "cur", name + ":2," + letters)
        os.rename(path, new)

    def test_two_way(self):
        self.add_user(USER)
        self.append_many(range(1, COUNT + 1))
        rc = self.write_rc()

        # First run: everything comes down.
        self.mbsync(rc)
        local = self.local()
        self.assertEqual(sorted(local), list(range(1, COUNT + 1)))
        self.assertTrue(all(f == set() for f, _ in local.values()))
        # The same octets, but for mbsync's own X-TUID field and line
        # ends (a Maildir holds LF).
        with open(local[7][1], "rb") as f:
            data = re.sub(rb"(?m)^X-TUID: .*\n", b"", f.read())
        self.assertEqual(data, message(7).replace(b"\r\n", b"\n"))

        # Local changes: seen, flagged, deleted, new.
        for n in range(1, 21):
            self.set_local_flags(local[n][1], {"\\Seen"})
        for n in range(21, 26):
            self.set_local_flags(local[n][1], {"\\Flagged", "\\Seen"})
        for n in range(26, 36):
            os.unlink(local[n][1])
        for n in range(401, 406):
            path = os.path.join(self.inbox, "new",
                                "%d.P%dQ%d.test" % (int(time.time()),
                                                    os.getpid(), n))
            with open(path, "wb") as f:
                f.write(message(n).replace(b"\r\n", b"\n"))

        # Server changes, by number = uid (APPENDed in order).
        m = self.imap()
        try:
            m.select("INBOX")
            self.assertEqual(m.uid("STORE", "40:49", "+FLAGS.SILENT",
                                   "(\\Flagged)")[0], "OK")
            self.assertEqual(m.uid("STORE", "50:59", "+FLAGS.SILENT",
                                   "(\\Seen \\Answered)")[0], "OK")
            self.assertEqual(m.uid("STORE", "60:69", "+FLAGS.SILENT",
                                   "(\\Deleted)")[0], "OK")
            typ, data = m.expunge()
            self.assertEqual(typ, "OK")
            self.assertEqual(len([d for d in data if d is not None]), 10)
            m.close()
        finally:
            m.logout()
        self.append_many(range(301, 306))

        # Second run: both sides converge.
        self.mbsync(rc)
        want = {}
        for n in list(range(1, 301)) + list(range(301, 306)) + \
                list(range(401, 406)):
            if 26 <= n <= 35 or 60 <= n <= 69:
                continue
            f = set()
            if n <= 20:
                f = {"\\Seen"}
            elif n <= 25:
                f = {"\\Seen", "\\Flagged"}
            elif 40 <= n <= 49:
                f = {"\\Flagged"}
            elif 50 <= n <= 59:
                f = {"\\Seen", "\\Answered"}
            want[n] = f
        self.assertEqual(len(want), COUNT - 20 + 10)
        local = {n: f for n, (f, _) in self.local().items()}
        remote = self.remote()
        self.assertEqual(sorted(remote), sorted(want))
        self.assertEqual(sorted(local), sorted(want))
        for n in want:
            self.assertEqual(remote[n], want[n], "server, message %d" % n)
            self.assertEqual(local[n], want[n], "Maildir, message %d" % n)

        # A third run has nothing to do and changes nothing.
        self.mbsync(rc)
        self.assertEqual({n: f for n, (f, _) in self.local().items()}, want)
        self.assertEqual(self.remote(), want)


if __name__ == "__main__":
    unittest.main()
