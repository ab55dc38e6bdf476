# POP3 through the real daemons: mail goes in over SMTP (the MX port),
# comes out with Python's poplib, raw commands and curl, on the STLS and
# the implicit-TLS listeners.  Deletions take effect at QUIT only.

import base64
import imaplib
import poplib
import re
import shutil
import socket
import subprocess
import time
import unittest

from tresor import LISTENERS, DaemonCase, client_tls, require_tool

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"

SIMPLE = "From: x@example.org\r\nSubject: simple\r\n\r\nHello, POP3.\r\n"
DOTS = ("From: x@example.org\r\nSubject: dots\r\n\r\n"
        "line 1\r\n"
        ".starts with a dot\r\n"
        "..two dots\r\n"
        ".\r\n"
        "after a lone dot\r\n"
        "last line\r\n")
BODY_LINES = ["body line %d" % i for i in range(1, 11)]
TOPMSG = ("From: x@example.org\r\nSubject: top\r\nX-Extra: header\r\n\r\n" +
          "".join(l + "\r\n" for l in BODY_LINES))


def read_multi(c):
    """The lines of a multi-line answer as sent (still dot-stuffed)."""
    lines = []
    while True:
        line = c.line()
        if line == ".":
            return lines
        lines.append(line)


class Base(DaemonCase):
    extra = FAST_KDF
    password = PASSWORD

    def pop(self, user, password=PASSWORD, name="pop3"):
        if name == "pop3s":
            p = poplib.POP3_SSL("127.0.0.1", self.t.port(name),
                                context=client_tls(), timeout=30)
        else:
            p = poplib.POP3("127.0.0.1", self.t.port(name), timeout=30)
        p.user(user)
        p.pass_(password)
        return p

    def raw(self, user=None, name="pop3", tls=False):
        """A line client, greeted and (if user) logged in."""
        c = self.t.connect(name, tls=tls, timeout=30)
        self.assertEqual(c.line(), "+OK Tresor POP3 ready")
        if user is not None:
            self.assertEqual(c.cmd("USER " + user), "+OK Send PASS")
            self.assertTrue(c.cmd("PASS " + PASSWORD).startswith(
                "+OK Logged in"))
        return c

    def retr_bytes(self, p, n):
        resp, lines, octets = p.retr(n)
        self.assertTrue(resp.startswith(b"+OK"), resp)
        return b"".join(l + b"\r\n" for l in lines), octets


class Transaction(Base):
    def test_user_pass_stat_list_uidl_retr(self):
        user = self.new_user([SIMPLE, DOTS, TOPMSG])
        p = self.pop(user)
        try:
            count, size = p.stat()
            self.assertEqual(count, 3)
            resp, lst, _ = p.list()
            self.assertEqual(resp, b"+OK 3 messages (%d octets)" % size)
            sizes = [int(l.split()[1]) for l in lst]
            self.assertEqual([int(l.split()[0]) for l in lst], [1, 2, 3])
            self.assertEqual(sum(sizes), size)
            self.assertEqual(p.list(2), b"+OK 2 %d" % sizes[1])
            # UIDL: UIDVALIDITY-UID, with the IMAP UIDs of a new
            # mailbox (1, 2, 3) and one UIDVALIDITY.
            resp, uidl, _ = p.uidl()
            ids = [l.split()[1].decode() for l in uidl]
            self.assertEqual([l.split()[0] for l in uidl],
                             [b"1", b"2", b"3"])
            validity = {i.split("-")[0] for i in ids}
            self.assertEqual(len(validity), 1)
            self.assertEqual([i.split("-")[1] for i in ids],
                             ["1", "2", "3"])
            self.assertEqual(p.uidl(3), b"+OK 3 " + ids[2].encode())
            for n, msg in ((1, SIMPLE), (2, DOTS), (3, TOPMSG)):
                data, octets = self.retr_bytes(p, n)
                # Our Received field, then the message as sent.
                self.assertTrue(data.startswith(b"Received: from "), data)
                self.assertTrue(data.endswith(msg.encode()), data)
                # The size announced is the size sent.
                self.assertEqual(len(data), sizes[n - 1])
                self.assertEqual(octets, sizes[n - 1])
            self.assertEqual(p.noop(), b"+OK")
        finally:
            p.quit()

    def test_dot_stuffing_on_the_wire(self):
        user = self.new_user([DOTS])
        c = self.raw(user)
        try:
            size = int(c.cmd("LIST 1").split()[2])
            self.assertEqual(c.cmd("RETR 1"), "+OK %d octets" % size)
            lines = read_multi(c)
            body = lines[lines.index("") + 1:]
            self.assertEqual(body, ["line 1", "..starts with a dot",
                                    "...two dots", "..",
                                    "after a lone dot", "last line"])
            unstuffed = [l[1:] if l.startswith(".") else l for l in lines]
            self.assertEqual(sum(len(l) + 2 for l in unstuffed), size)
            # TOP stuffs too.
            self.assertEqual(c.cmd("TOP 1 4"), "+OK Top of message follows")
            lines = read_multi(c)
            self.assertEqual(lines[lines.index("") + 1:],
                             ["line 1", "..starts with a dot",
                              "...two dots", ".."])
            self.assertEqual(c.cmd("QUIT"), "+OK Bye")
        finally:
            c.close()

    def test_top(self):
        user = self.new_user([TOPMSG])
        p = self.pop(user)
        try:
            full, _ = self.retr_bytes(p, 1)
            head = full[:full.index(b"\r\n\r\n") + 2].split(b"\r\n")[:-1]
            resp, lines, _ = p.top(1, 0)
            self.assertEqual(resp, b"+OK Top of message follows")
            self.assertEqual(lines, head + [b""])
            resp, lines, _ = p.top(1, 3)
            self.assertEqual(lines, head + [b""] +
                             [l.encode() for l in BODY_LINES[:3]])
            resp, lines, _ = p.top(1, 10)
            self.assertEqual(b"".join(l + b"\r\n" for l in lines), full)
            resp, lines, _ = p.top(1, 99999999999)
            self.assertEqual(b"".join(l + b"\r\n" for l in lines), full)
            for bad in ("TOP 1", "TOP 1 -1", "TOP 1 x", "TOP x 1",
                        "TOP 1 2 3"):
                with self.assertRaises(poplib.error_proto, msg=bad):
                    p._shortcmd(bad)
            with self.assertRaisesRegex(poplib.error_proto,
                                        "No such message"):
                p.top(2, 0)
        finally:
            p.quit()

    def test_large_message_streams(self):
        # Larger than the output queue's high mark, many chunks.
        lines = ["%06d %s" % (i, "x" * 70) for i in range(40000)]
        big = ("From: x@example.org\r\nSubject: big\r\n\r\n" +
               "".join(l + "\r\n" for l in lines))
        user = self.new_user([big, SIMPLE])
        p = self.pop(user)
        try:
            sizes = [int(l.split()[1]) for l in p.list()[1]]
            data, octets = self.retr_bytes(p, 1)
            self.assertEqual(len(data), sizes[0])
            self.assertEqual(octets, sizes[0])
            self.assertTrue(data.endswith(big.encode()))
            whole = data
            # The session goes on normally after it.
            data, _ = self.retr_bytes(p, 2)
            self.assertTrue(data.endswith(SIMPLE.encode()))
        finally:
            p.quit()
        # A client that reads slowly still gets every octet.
        c = self.raw(user)
        try:
            c.send("RETR 1\r\nNOOP\r\n")
            time.sleep(1.0)
            self.assertEqual(c.line(), "+OK %d octets" % sizes[0])
            got = read_multi(c)
            self.assertEqual("".join(l + "\r\n" for l in got).encode(),
                             whole)
            self.assertEqual(c.line(), "+OK")
        finally:
            c.close()

    def test_dele_quit_removes(self):
        user = self.new_user([SIMPLE, DOTS, TOPMSG])
        p = self.pop(user)
        uidl = p.uidl()[1]
        self.assertEqual(p.dele(2), b"+OK Message 2 deleted")
        self.assertEqual(p.stat()[0], 2)
        # Deleted: refused, and left out of the listings.
        with self.assertRaisesRegex(poplib.error_proto, "is deleted"):
            p.retr(2)
        with self.assertRaisesRegex(poplib.error_proto, "is deleted"):
            p.dele(2)
        self.assertEqual([l.split()[0] for l in p.list()[1]], [b"1", b"3"])
        self.assertEqual(p.uidl()[1], [uidl[0], uidl[2]])
        self.assertEqual(p.quit(),
                         b"+OK Bye (1 messages deleted)")
        p = self.pop(user)
        try:
            self.assertEqual(p.stat()[0], 2)
            # The survivors keep their unique ids, renumbered 1..n.
            ids = [l.split()[1] for l in p.uidl()[1]]
            self.assertEqual(ids, [uidl[0].split()[1], uidl[2].split()[1]])
            data, _ = self.retr_bytes(p, 2)
            self.assertTrue(data.endswith(TOPMSG.encode()))
        finally:
            p.quit()

    def test_dele_rset_keeps(self):
        user = self.new_user([SIMPLE, DOTS])
        p = self.pop(user)
        total = p.stat()
        p.dele(1)
        p.dele(2)
        self.assertEqual(p.stat(), (0, 0))
        resp = p.rset()
        self.assertEqual(resp, b"+OK Maildrop has 2 messages (%d octets)"
                         % total[1])
        self.assertEqual(p.stat(), total)
        self.assertEqual(p.quit(), b"+OK Bye")
        p = self.pop(user)
        try:
            self.assertEqual(p.stat(), total)
        finally:
            p.quit()

    def test_dele_then_dropped_connection_keeps(self):
        user = self.new_user([SIMPLE, DOTS])
        c = self.raw(user)
        self.assertEqual(c.cmd("DELE 1"), "+OK Message 1 deleted")
        self.assertEqual(c.cmd("STAT").split()[1], "1")
        ended = len(re.findall(r"pop3: session \d+ ended",
                               self.t.logtext()))
        c.close()
        self.t.wait_log(r"pop3: session \d+ ended", count=ended + 1)
        p = self.pop(user)
        try:
            self.assertEqual(p.stat()[0], 2)
        finally:
            p.quit()

    def test_uidl_stable_across_sessions(self):
        user = self.new_user([SIMPLE, DOTS])
        p = self.pop(user)
        first = p.uidl()[1]
        p.quit()
        self.deliver(user, TOPMSG)
        p = self.pop(user)
        try:
            second = p.uidl()[1]
            self.assertEqual(second[:2], first)
            self.assertEqual(len(second), 3)
            self.assertEqual(second[2].split()[1].split(b"-")[0],
                             first[0].split()[1].split(b"-")[0])
        finally:
            p.quit()

    def test_numbers_out_of_range_and_syntax(self):
        user = self.new_user([SIMPLE])
        c = self.raw(user)
        try:
            for cmd, want in (
                    ("RETR 0", "-ERR No such message"),
                    ("RETR 2", "-ERR No such message"),
                    ("RETR 4294967296", "-ERR No such message"),
                    ("RETR 99999999999999999999999",
                     "-ERR Invalid message number"),
                    ("RETR abc", "-ERR Invalid message number"),
                    ("RETR -1", "-ERR Invalid message number"),
                    ("RETR", "-ERR Syntax: RETR msg"),
                    ("RETR 1 2", "-ERR Syntax: RETR msg"),
                    ("LIST 2", "-ERR No such message"),
                    ("UIDL 0", "-ERR No such message"),
                    ("DELE 7", "-ERR No such message"),
                    ("LIST 1 2", "-ERR Syntax: LIST [msg]"),
                    ("STAT 1", "-ERR Syntax: STAT"),
                    ("NOOP x", "-ERR Syntax: NOOP")):
                self.assertEqual(c.cmd(cmd), want, cmd)
            # The session is still fine.
            self.assertEqual(c.cmd("stat").split()[:2], ["+OK", "1"])
        finally:
            c.close()

    def test_wrong_state(self):
        user = self.new_user([SIMPLE])
        c = self.raw()
        try:
            for cmd in ("RETR 1", "STAT", "LIST", "UIDL", "DELE 1", "NOOP",
                        "RSET", "TOP 1 1"):
                self.assertEqual(c.cmd(cmd),
                                 "-ERR Command not valid in this state")
            self.assertEqual(c.cmd("PASS " + PASSWORD),
                             "-ERR Send USER first")
            self.assertEqual(c.cmd("APOP x y"), "-ERR APOP is not supported")
        finally:
            c.close()
        # Each of those counted as an error: a new connection.
        c = self.raw()
        try:
            self.assertEqual(c.cmd("USER " + user), "+OK Send PASS")
            self.assertTrue(c.cmd("PASS " + PASSWORD).startswith(
                "+OK Logged in, 1 messages"))
            for cmd in ("USER " + user, "PASS x", "AUTH PLAIN", "STLS",
                        "APOP x y"):
                self.assertEqual(c.cmd(cmd),
                                 "-ERR Command not valid in this state")
            self.assertEqual(c.cmd("QUIT"), "+OK Bye")
            self.assertTrue(c.closed())
        finally:
            c.close()

    def test_long_line_unknown_command_and_error_limit(self):
        c = self.raw()
        try:
            self.assertEqual(c.cmd("NOOP " + "x" * 300), "-ERR Line too long")
            # 255 octets with CRLF is the longest line taken.
            self.assertEqual(c.cmd("USER " + "a" * 248),
                             "+OK Send PASS")
            self.assertEqual(c.cmd("USER " + "a" * 249),
                             "-ERR Line too long")
            self.assertEqual(c.cmd("FOO"), "-ERR Unknown command")
            self.assertEqual(c.cmd("USER\0x"),
                             "-ERR Invalid characters in command")
            self.assertEqual(c.cmd("CAPA x"), "-ERR Syntax: CAPA")
            self.assertEqual(c.cmd("CAPA"), "+OK Capability list follows")
            read_multi(c)
            for i in range(4):
                self.assertEqual(c.cmd("XYZZY"), "-ERR Unknown command")
            self.assertEqual(c.cmd("XYZZY"), "-ERR Unknown command")
            self.assertEqual(c.line(), "-ERR Too many invalid commands")
            self.assertTrue(c.closed())
        finally:
            c.close()

    def test_pipelining(self):
        user = self.new_user([SIMPLE, DOTS])
        c = self.raw()
        try:
            # Everything in one write, the login included.
            c.send("CAPA\r\nUSER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\n"
                   "RETR 1\r\nDELE 1\r\nTOP 2 0\r\nUIDL 2\r\nRSET\r\n"
                   "NOOP\r\nQUIT\r\n" % (user, PASSWORD))
            self.assertEqual(c.line(), "+OK Capability list follows")
            self.assertIn("PIPELINING", read_multi(c))
            self.assertEqual(c.line(), "+OK Send PASS")
            self.assertTrue(c.line().startswith("+OK Logged in, 2"))
            self.assertTrue(c.line().startswith("+OK 2 "))
            self.assertTrue(c.line().startswith("+OK 2 messages"))
            self.assertEqual(len(read_multi(c)), 2)
            self.assertTrue(c.line().endswith(" octets"))
            self.assertEqual(read_multi(c)[-1], "Hello, POP3.")
            self.assertEqual(c.line(), "+OK Message 1 deleted")
            self.assertEqual(c.line(), "+OK Top of message follows")
            self.assertEqual(read_multi(c)[-1], "")
            self.assertRegex(c.line(), r"^\+OK 2 \d+-2$")
            self.assertTrue(c.line().startswith("+OK Maildrop has 2"))
            self.assertEqual(c.line(), "+OK")
            self.assertEqual(c.line(), "+OK Bye")
            self.assertTrue(c.closed())
        finally:
            c.close()

    def test_two_sessions(self):
        # One session deletes what the other has listed.
        user = self.new_user([SIMPLE, DOTS, TOPMSG])
        a = self.pop(user)
        b = self.pop(user)
        try:
            before = b.stat()
            a.dele(1)
            self.assertEqual(a.quit(), b"+OK Bye (1 messages deleted)")
            with self.assertRaisesRegex(poplib.error_proto,
                                        "Message 1 is no longer in the "
                                        "mailbox"):
                b.retr(1)
            with self.assertRaisesRegex(poplib.error_proto, "no longer"):
                b.top(1, 0)
            # Its maildrop is the one it listed at its login.
            self.assertEqual(b.stat(), before)
            data, _ = self.retr_bytes(b, 2)
            self.assertTrue(data.endswith(DOTS.encode()))
            # Deleting the vanished one again is harmless.
            b.dele(1)
            b.dele(3)
            self.assertEqual(b.quit(), b"+OK Bye (2 messages deleted)")
        finally:
            for p in (a, b):
                try:
                    p.close()
                except OSError:
                    pass
        p = self.pop(user)
        try:
            self.assertEqual(p.stat()[0], 1)
            data, _ = self.retr_bytes(p, 1)
            self.assertTrue(data.endswith(DOTS.encode()))
        finally:
            p.quit()

    def test_imap_deletes_while_pop3_reads(self):
        # IMAP flags a message \Deleted while POP3 has the maildrop
        # open: the flag alone changes nothing for POP3; once IMAP
        # expunges it, POP3 says so for that message and goes on.
        user = self.new_user([SIMPLE, DOTS, TOPMSG])
        p = self.pop(user)
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        try:
            self.assertEqual(p.stat()[0], 3)
            uidl = p.uidl()[1]
            m.login(user, PASSWORD)
            self.assertEqual(m.select("INBOX")[0], "OK")
            typ, data = m.store("2", "+FLAGS", "(\\Deleted)")
            self.assertEqual(typ, "OK")
            self.assertIn(b"\\Deleted", data[0])
            data, _ = self.retr_bytes(p, 2)
            self.assertTrue(data.endswith(DOTS.encode()))
            # POP3's UIDL is IMAP's UIDVALIDITY and UID.
            typ, data = m.fetch("2", "(UID)")
            uid = re.search(rb"UID (\d+)", data[0]).group(1)
            self.assertTrue(uidl[1].endswith(b"." + uid) or
                            uidl[1].split()[1].endswith(uid), uidl)
            self.assertEqual(m.expunge(), ("OK", [b"2"]))
            with self.assertRaisesRegex(poplib.error_proto,
                                        "Message 2 is no longer in the "
                                        "mailbox"):
                p.retr(2)
            data, _ = self.retr_bytes(p, 3)
            self.assertTrue(data.endswith(TOPMSG.encode()))
            p.dele(1)
            self.assertEqual(p.quit(), b"+OK Bye (1 messages deleted)")
            # IMAP sees POP3's deletion at its next NOOP.
            typ, data = m.noop()
            self.assertEqual(m.untagged_responses.get("EXPUNGE"), [b"1"])
            typ, data = m.search(None, "ALL")
            self.assertEqual(data, [b"1"])
        finally:
            try:
                m.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            try:
                p.close()
            except OSError:
                pass

    def test_quit_then_gone_still_deletes(self):
        user = self.new_user([SIMPLE, DOTS])
        c = self.raw(user)
        c.send("DELE 1\r\nQUIT\r\n")
        c.close()
        deadline = time.monotonic() + 10
        while True:
            p = self.pop(user)
            try:
                count = p.stat()[0]
            finally:
                p.quit()
            if count == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(count, 1)


class Login(Base):
    def test_capa_before_and_after_login(self):
        user = self.new_user([SIMPLE])
        c = self.raw()
        try:
            self.assertEqual(c.cmd("CAPA"), "+OK Capability list follows")
            self.assertEqual(read_multi(c),
                             ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                              "PIPELINING", "USER", "SASL PLAIN", "STLS",
                              "IMPLEMENTATION Tresor"])
            c.cmd("USER " + user)
            c.cmd("PASS " + PASSWORD)
            self.assertEqual(c.cmd("CAPA"), "+OK Capability list follows")
            self.assertEqual(read_multi(c),
                             ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE",
                              "PIPELINING", "IMPLEMENTATION Tresor"])
        finally:
            c.close()

    def test_stls(self):
        user = self.new_user([SIMPLE])
        p = poplib.POP3("127.0.0.1", self.t.port("pop3"), timeout=30)
        try:
            self.assertIn("STLS", p.capa())
            p.stls(context=client_tls())
            caps = p.capa()
            self.assertNotIn("STLS", caps)
            self.assertIn("USER", caps)
            p.user(user)
            p.pass_(PASSWORD)
            self.assertEqual(p.stat()[0], 1)
            data, _ = self.retr_bytes(p, 1)
            self.assertTrue(data.endswith(SIMPLE.encode()))
            # A second STLS is not valid any more.
            with self.assertRaises(poplib.error_proto):
                p._shortcmd("STLS")
        finally:
            p.quit()
        # Commands sent after STLS in clear are not executed.
        c = self.raw()
        try:
            c.send("STLS\r\nUSER %s\r\n" % user)
            self.assertEqual(c.line(), "+OK Begin TLS negotiation")
            c.starttls()
            self.assertEqual(c.cmd("PASS " + PASSWORD),
                             "-ERR Send USER first")
            self.assertEqual(c.cmd("STLS"), "-ERR TLS is already active")
        finally:
            c.close()

    def test_implicit_tls(self):
        user = self.new_user([SIMPLE, DOTS])
        p = poplib.POP3_SSL("127.0.0.1", self.t.port("pop3s"),
                            context=client_tls(), timeout=30)
        try:
            self.assertIn(p.sock.version(), ("TLSv1.2", "TLSv1.3"))
            caps = p.capa()
            self.assertNotIn("STLS", caps)
            self.assertIn("USER", caps)
            self.assertEqual(caps["SASL"], ["PLAIN"])
            p.user(user)
            p.pass_(PASSWORD)
            self.assertEqual(p.stat()[0], 2)
            data, _ = self.retr_bytes(p, 2)
            self.assertTrue(data.endswith(DOTS.encode()))
            p.dele(1)
            self.assertTrue(p.quit().endswith(b"(1 messages deleted)"))
        finally:
            p.close()
        p = self.pop(user, name="pop3s")
        try:
            self.assertEqual(p.stat()[0], 1)
        finally:
            p.quit()

    def test_auth_plain(self):
        user = self.new_user([SIMPLE])
        ok = base64.b64encode(b"\0" + user.encode() + b"\0" +
                              PASSWORD.encode()).decode()
        # With the initial response.
        c = self.raw()
        try:
            self.assertEqual(c.cmd("AUTH"), "+OK")
            self.assertEqual(read_multi(c), ["PLAIN"])
            self.assertEqual(c.cmd("AUTH CRAM-MD5"),
                             "-ERR Unsupported mechanism")
            self.assertEqual(c.cmd("AUTH PLAIN !!!"), "-ERR Invalid base64")
            self.assertEqual(c.cmd("AUTH PLAIN ="),
                             "-ERR Invalid PLAIN response")
            bad = base64.b64encode(b"someone@test.example\0" +
                                   user.encode() + b"\0" +
                                   PASSWORD.encode()).decode()
            self.assertEqual(c.cmd("AUTH PLAIN " + bad),
                             "-ERR [AUTH] Cannot act as another user")
            self.assertRegex(c.cmd("AUTH PLAIN " + ok),
                             r"^\+OK Logged in, 1 messages "
                             r"\(\d+ octets\)$")
            self.assertEqual(c.cmd("STAT").split()[1], "1")
        finally:
            c.close()
        # Without: "+ ", then the response; "*" cancels.
        c = self.raw()
        try:
            self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
            self.assertEqual(c.cmd("*"), "-ERR Authentication cancelled")
            self.assertEqual(c.cmd("auth plain"), "+ ")
            self.assertRegex(c.cmd(ok), r"^\+OK Logged in, 1 messages")
            self.assertEqual(c.cmd("QUIT"), "+OK Bye")
        finally:
            c.close()
        # The response may be longer than a command line.
        c = self.raw()
        try:
            self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
            long = base64.b64encode(b"\0" + user.encode() + b"\0" +
                                    b"p" * 400).decode()
            self.assertGreater(len(long), 255)
            t0 = time.monotonic()
            self.assertEqual(c.cmd(long), "-ERR [AUTH] Authentication failed")
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        finally:
            c.close()

    def test_curl(self):
        require_tool(self, "curl")
        user = self.new_user([SIMPLE, DOTS])
        p = self.pop(user)
        want = [self.retr_bytes(p, n)[0] for n in (1, 2)]
        p.quit()
        for n in (1, 2):
            out = subprocess.run(
                ["curl", "-s", "--max-time", "30", "--user",
                 "%s:%s" % (user, PASSWORD),
                 "pop3://127.0.0.1:%d/%d" % (self.t.port("pop3"), n)],
                stdout=subprocess.PIPE, timeout=60)
            self.assertEqual(out.returncode, 0)
            self.assertEqual(out.stdout, want[n - 1])
        # And the listing, over STLS.
        out = subprocess.run(
            ["curl", "-s", "--max-time", "30", "--ssl-reqd", "-k",
             "--user", "%s:%s" % (user, PASSWORD),
             "pop3://127.0.0.1:%d/" % self.t.port("pop3")],
            stdout=subprocess.PIPE, timeout=60)
        self.assertEqual(out.returncode, 0)
        self.assertEqual(out.stdout.split(b"\r\n")[0],
                         b"1 %d" % len(want[0]))

    def test_bad_password_delay_and_close(self):
        user = self.new_user()
        c = self.raw()
        try:
            for n in (1, 2, 3):
                self.assertEqual(c.cmd("USER " + user), "+OK Send PASS")
                t0 = time.monotonic()
                self.assertEqual(c.cmd("PASS wrong password %d" % n),
                                 "-ERR [AUTH] Authentication failed")
                # Later each time: 1, 2, 3 seconds.
                self.assertGreaterEqual(time.monotonic() - t0, n - 0.1)
            self.assertTrue(c.closed())
        finally:
            c.close()
        log = self.t.logtext()
        self.assertNotIn("wrong password", log)
        self.assertNotIn(PASSWORD, log)


class Lockout(Base):
    def test_locked_out(self):
        user = self.new_user([SIMPLE])
        fails = 0
        while fails < 5:
            c = self.raw()
            try:
                for _ in range(min(3, 5 - fails)):
                    c.cmd("USER " + user)
                    self.assertEqual(c.cmd("PASS bad %d" % fails),
                                     "-ERR [AUTH] Authentication failed")
                    fails += 1
            finally:
                c.close()
        self.t.wait_log(r"audit: event=auth-lockout account=%s" %
                        user.replace(".", r"\."))
        c = self.raw()
        try:
            c.cmd("USER " + user)
            self.assertEqual(c.cmd("PASS " + PASSWORD),
                             "-ERR [SYS/TEMP] Too many failed logins; "
                             "try again later")
        finally:
            c.close()


class NoPlaintextAuth(Base):
    """A loopback STARTTLS listener without plaintext-auth."""
    listeners = tuple((n, p, tls, False) for n, p, tls, _ in LISTENERS)

    def test_credentials_need_tls(self):
        user = self.new_user([SIMPLE])
        c = self.raw()
        try:
            self.assertEqual(c.cmd("CAPA"), "+OK Capability list follows")
            caps = read_multi(c)
            self.assertNotIn("USER", caps)
            self.assertNotIn("SASL PLAIN", caps)
            self.assertIn("STLS", caps)
            for cmd in ("USER " + user, "PASS x", "AUTH PLAIN"):
                self.assertEqual(c.cmd(cmd), "-ERR [AUTH] TLS is required "
                                 "to log in: use STLS")
            self.assertEqual(c.cmd("STLS"), "+OK Begin TLS negotiation")
            c.starttls()
            self.assertEqual(c.cmd("CAPA"), "+OK Capability list follows")
            caps = read_multi(c)
            self.assertIn("USER", caps)
            self.assertIn("SASL PLAIN", caps)
            self.assertNotIn("STLS", caps)
            self.assertEqual(c.cmd("USER " + user), "+OK Send PASS")
            self.assertRegex(c.cmd("PASS " + PASSWORD),
                             r"^\+OK Logged in, 1 messages")
        finally:
            c.close()


class IdleTimeout(Base):
    extra = FAST_KDF + "\nlimit timeout idle 2s"

    def test_idle_timeout(self):
        user = self.new_user([SIMPLE])
        # Before the login: the configured idle time.
        c = self.raw()
        try:
            t0 = time.monotonic()
            self.assertEqual(c.line(), "-ERR Timeout, closing connection")
            self.assertLess(time.monotonic() - t0, 10)
            self.assertTrue(c.closed())
        finally:
            c.close()
        # Logged in: at least 10 minutes (RFC 1939 3).
        c = self.raw(user)
        try:
            c.sock.settimeout(4)
            with self.assertRaises(socket.timeout):
                c.line()
            c.sock.settimeout(30)
            self.assertEqual(c.cmd("NOOP"), "+OK")
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
