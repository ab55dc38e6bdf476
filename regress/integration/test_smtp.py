# SMTP reception through the real daemons: smtplib, raw sockets and swaks
# against smtpd; what was delivered is checked in the vault's spool (one
# sealed file per message and recipient) and nowhere in plaintext.

import base64
import os
import re
import shutil
import signal
import smtplib
import subprocess
import time
import unittest

from tresor import (LISTENERS, DaemonCase, client_tls, require_tool,
                    wait_for)

FAST_KDF = "vault kdf ops 1 memory 8M"
PASSWORD = "correct horse battery"
ALICE = "alice@test.example"
BOB = "bob@test.example"


def spool(t):
    """{account directory: set of sealed files} of the vault's spool."""
    top = t.path("vault", "spool")
    out = {}
    if not os.path.isdir(top):
        return out
    for d in os.listdir(top):
        if os.path.isdir(os.path.join(top, d)):
            out[d] = set(os.listdir(os.path.join(top, d)))
    return out


def new_files(before, after):
    """{directory: number of files} that appeared between two spool()s."""
    n = {}
    for d, files in after.items():
        k = len(files - before.get(d, set()))
        if k:
            n[d] = k
    return n


def plaintext_anywhere(t, token):
    """Paths of files under the data directory that hold token."""
    found = []
    for root, dirs, files in os.walk(t.path("vault")):
        for f in files:
            p = os.path.join(root, f)
            try:
                with open(p, "rb") as fp:
                    if token in fp.read():
                        found.append(p)
            except OSError:
                pass
    return found


def reply(c):
    """One reply (all its lines): (code, last line's text)."""
    while True:
        line = c.line()
        if len(line) < 4 or line[3] != "-":
            return int(line[:3]), line[4:]


def message(token, extra="", frm="x@example.org"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: test %s\r\n%s"
            "\r\nbody %s\r\n" % (frm, ALICE, token, extra, token))


class Base(DaemonCase):
    """One Tresor for the class: tests that only read and deliver."""
    extra = FAST_KDF

    @classmethod
    def prepare(cls, t):
        t.add_user(ALICE, PASSWORD)
        t.add_user(BOB, PASSWORD)

    def smtp(self, name="smtp"):
        s = smtplib.SMTP("127.0.0.1", self.t.port(name), timeout=20)
        s.ehlo("client.example")
        return s

    def raw(self, name="smtp", ehlo=True):
        c = self.t.connect(name, timeout=20)
        self.assertEqual(reply(c)[0], 220)
        if ehlo:
            c.send("EHLO client.example\r\n")
            self.assertEqual(reply(c)[0], 250)
        return c

    def token(self):
        return "tok%s" % base64.b32encode(os.urandom(10)).decode().lower()

    def assert_nothing_stored(self, before, token):
        time.sleep(0.3)
        self.assertEqual(new_files(before, spool(self.t)), {})
        self.assertEqual(plaintext_anywhere(self.t, token.encode()), [])


class Mx(Base):
    """Port 25 style: mail for the local domains, from anyone."""

    def test_deliver_to_local_account(self):
        tok = self.token()
        before = spool(self.t)
        s = self.smtp()
        self.assertTrue(s.has_extn("pipelining"))
        self.assertTrue(s.has_extn("8bitmime"))
        self.assertTrue(s.has_extn("smtputf8"))
        self.assertTrue(s.has_extn("chunking"))
        self.assertTrue(s.has_extn("enhancedstatuscodes"))
        self.assertEqual(s.esmtp_features["size"], str(35 * 1024 * 1024))
        self.assertFalse(s.has_extn("auth"))
        self.assertEqual(s.sendmail("x@example.org", [ALICE],
                                    message(tok)), {})
        s.quit()
        self.assertEqual(list(new_files(before, spool(self.t)).values()),
                         [1])
        self.assertEqual(plaintext_anywhere(self.t, tok.encode()), [])
        self.t.wait_log(r"audit: event=smtp-transaction client=a-[0-9a-f]+ "
                        r"tls=none from-domain=example\.org rcpts=1 "
                        r"size=\d+ msgid=[0-9a-f]{16} result=accepted")

    def test_starttls_delivery(self):
        tok = self.token()
        before = spool(self.t)
        s = self.smtp()
        s.starttls(context=client_tls())
        s.ehlo("client.example")
        self.assertFalse(s.has_extn("starttls"))
        self.assertEqual(s.sendmail("x@example.org", [ALICE],
                                    message(tok)), {})
        s.quit()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)
        self.t.wait_log(r"smtp-transaction client=\S+ tls=TLSv1\.[23] ")

    def test_unknown_and_relay(self):
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>"),
                         "250 2.1.0 Sender OK")
        t0 = time.monotonic()
        self.assertEqual(c.cmd("RCPT TO:<nobody@test.example>"),
                         "550 5.1.1 Recipient address rejected")
        t1 = time.monotonic()
        self.assertEqual(c.cmd("RCPT TO:<someone@elsewhere.example>"),
                         "550 5.7.1 Relaying denied")
        t2 = time.monotonic()
        # Refusals come after the same fixed delay.
        self.assertGreaterEqual(t1 - t0, 0.45)
        self.assertGreaterEqual(t2 - t1, 0.45)
        # Source routes are accepted and ignored (RFC 5321 4.1.2).
        self.assertEqual(c.cmd("RCPT TO:<@relay.example:%s>" % ALICE),
                         "250 2.1.5 Recipient OK")
        c.cmd("QUIT")
        c.close()

    def test_several_recipients(self):
        tok = self.token()
        before = spool(self.t)
        s = self.smtp()
        refused = s.sendmail("x@example.org", [ALICE, BOB,
                                               "nobody@test.example",
                                               "Alice@Test.Example"],
                             message(tok))
        self.assertEqual(list(refused), ["nobody@test.example"])
        s.quit()
        # One copy per account: alice twice is delivered once.
        self.assertEqual(sorted(new_files(before,
                                          spool(self.t)).values()), [1, 1])

    def test_commands(self):
        # Before EHLO, and EHLO's argument.
        c = self.raw(ehlo=False)
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>"),
                         "503 5.5.1 Send EHLO or HELO first")
        self.assertEqual(c.cmd("EHLO"), "501 5.5.4 Syntax: EHLO hostname")
        self.assertEqual(c.cmd("EHLO bad..name"),
                         "501 5.5.4 Invalid domain name")
        self.assertEqual(c.cmd("EHLO not a name"),
                         "501 5.5.4 Invalid domain name")
        self.assertEqual(c.cmd("HELO [127.0.0.1]"),
                         "250 mx.test.example Hello")
        c.send("HELP\r\n")
        self.assertEqual(reply(c), (214, "2.0.0 End of HELP"))
        for arg in ("alice", "nobody@test.example"):
            self.assertEqual(c.cmd("VRFY " + arg), "252 2.5.2 Cannot VRFY "
                             "user, but will accept message and attempt "
                             "delivery")
        self.assertEqual(c.cmd("EXPN staff"), "502 5.5.1 EXPN not available")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        self.assertEqual(c.cmd("NOOP hello"), "250 2.0.0 OK")
        # HELO: no ESMTP parameters.
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org> SIZE=10"),
                         "555 5.5.4 Parameters need EHLO")
        self.assertEqual(c.cmd("QUIT"),
                         "221 2.0.0 mx.test.example closing connection")
        self.assertTrue(c.closed())

        # Bad sequences and syntax.
        c = self.raw()
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE),
                         "503 5.5.1 Need MAIL before RCPT")
        self.assertEqual(c.cmd("DATA"), "503 5.5.1 Need MAIL command")
        self.assertEqual(c.cmd("MAIL FROM:x@example.org"),
                         "501 5.1.7 Bad sender address syntax")
        self.assertEqual(c.cmd("MAIL TO:<x@example.org>"),
                         "501 5.5.4 Syntax: MAIL FROM:<address>")
        self.assertEqual(c.cmd("MAIL FROM:<>"), "250 2.1.0 Sender OK")
        self.assertEqual(c.cmd("MAIL FROM:<>"),
                         "503 5.5.1 Sender already given")
        self.assertEqual(c.cmd("RCPT TO:<a b@test.example>"),
                         "501 5.1.3 Bad recipient address syntax")
        self.assertEqual(c.cmd("RCPT TO:<%s> NOTIFY=NEVER" % ALICE),
                         "555 5.5.4 Unsupported parameter")
        self.assertEqual(c.cmd("DATA"), "554 5.5.1 No valid recipients")
        self.assertEqual(c.cmd("RSET"), "250 2.0.0 Reset state")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE),
                         "503 5.5.1 Need MAIL before RCPT")
        c.close()

        # Addresses at the edges of RFC 5321's limits.
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<%s@example.org>" % ("a" * 64)),
                         "250 2.1.0 Sender OK")
        self.assertEqual(c.cmd("RSET")[:3], "250")
        self.assertEqual(c.cmd("MAIL FROM:<%s@example.org>" % ("a" * 65)),
                         "501 5.1.7 Bad sender address syntax")
        self.assertEqual(c.cmd('MAIL FROM:<"quoted \\" string"@example.org>'),
                         "250 2.1.0 Sender OK")
        self.assertEqual(c.cmd("RSET")[:3], "250")
        self.assertEqual(c.cmd("MAIL FROM: <x@[192.0.2.1]>"),
                         "250 2.1.0 Sender OK")
        self.assertEqual(c.cmd("RSET")[:3], "250")
        for bad in ("<x@-a.example>", "<.x@example.org>", "<x..y@a.example>",
                    "<x@>", "<@a.example>", "<x@a.example", "<x@a_b.example>"):
            self.assertEqual(c.cmd("MAIL FROM:" + bad),
                             "501 5.1.7 Bad sender address syntax", bad)
        c.close()

    def test_mail_parameters(self):
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org> SIZE=abc"),
                         "501 5.5.4 Bad SIZE value")
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org> SIZE=999999999999"),
                         "552 5.3.4 Message size exceeds fixed maximum "
                         "message size")
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org> BODY=BINARYMIME"),
                         "555 5.5.4 Unsupported BODY type")
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org> FOO=BAR"),
                         "555 5.5.4 Unsupported or repeated parameter")
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org> SIZE=100 "
                               "BODY=8BITMIME"), "250 2.1.0 Sender OK")
        c.close()

    def test_postmaster(self):
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        # No postmaster account in this vault: refused, but parsed.
        self.assertEqual(c.cmd("RCPT TO:<Postmaster>"),
                         "550 5.1.1 Recipient address rejected")
        c.close()

    def test_pipelining(self):
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        c.send("MAIL FROM:<x@example.org>\r\nRCPT TO:<%s>\r\n"
               "RCPT TO:<nobody@test.example>\r\nRCPT TO:<%s>\r\nDATA\r\n"
               % (ALICE, BOB))
        self.assertEqual(c.line(), "250 2.1.0 Sender OK")
        self.assertEqual(c.line(), "250 2.1.5 Recipient OK")
        self.assertEqual(c.line(), "550 5.1.1 Recipient address rejected")
        self.assertEqual(c.line(), "250 2.1.5 Recipient OK")
        self.assertEqual(c.line()[:3], "354")
        c.send(message(tok) + ".\r\nNOOP\r\n")
        self.assertRegex(c.line(), r"^250 2\.0\.0 Message accepted for "
                         r"delivery, id [0-9a-f]{16}$")
        self.assertEqual(c.line(), "250 2.0.0 OK")
        c.close()
        self.assertEqual(sorted(new_files(before,
                                          spool(self.t)).values()), [1, 1])

    def test_8bitmime_smtputf8(self):
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<j\u00f6rg@b\u00fccher.example>"),
                         "553 5.6.7 Non-ASCII address needs SMTPUTF8")
        self.assertEqual(c.cmd("MAIL FROM:<j\u00f6rg@b\u00fccher.example> "
                               "SMTPUTF8 BODY=8BITMIME"),
                         "250 2.1.0 Sender OK")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
        self.assertEqual(c.cmd("DATA")[:3], "354")
        c.send(message(tok, "X-Name: J\u00f6rg \u2603\r\n") + ".\r\n")
        self.assertEqual(reply(c)[0], 250)
        # Invalid UTF-8 is not an address.
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org> SMTPUTF8")[:3],
                         "250")
        c.send(b"RCPT TO:<\xc3(@test.example>\r\n")
        self.assertEqual(c.line(), "501 5.1.3 Bad recipient address syntax")
        c.close()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)
        self.t.wait_log(r"smtp-transaction .*from-domain=b\?\?cher\.example")

    def test_swaks(self):
        require_tool(self, "swaks")
        tok = self.token()
        before = spool(self.t)
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" %
                            self.t.port("smtp"), "--to", ALICE, "--from",
                            "x@example.org", "--helo", "client.example",
                            "--body", "swaks body " + tok,
                            "--timeout", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("250 2.0.0 Message accepted", out)
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)
        self.assertEqual(plaintext_anywhere(self.t, tok.encode()), [])
        # An unknown recipient makes swaks fail (exit status 24).
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" %
                            self.t.port("smtp"), "--to",
                            "nobody@test.example", "--from",
                            "x@example.org", "--timeout", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        self.assertEqual(p.returncode, 24, p.stdout)

    def test_bdat(self):
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        msg = message(tok).encode()
        # One chunk, LAST, pipelined behind MAIL and RCPT.
        c.send(b"MAIL FROM:<x@example.org>\r\nRCPT TO:<%s>\r\n"
               b"BDAT %d LAST\r\n" % (ALICE.encode(), len(msg)) + msg)
        self.assertEqual(c.line(), "250 2.1.0 Sender OK")
        self.assertEqual(c.line(), "250 2.1.5 Recipient OK")
        self.assertRegex(c.line(), r"^250 2\.0\.0 Message accepted")
        # Several chunks, cut anywhere (inside a line, inside CRLF);
        # no dot-stuffing and no line rules in chunks.
        body = (message(tok) + ".\r\n..\r\nbare\nLF\r\n").encode()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[:3], "250")
        cuts = [0, 7, len(body) - 3, len(body)]
        for a, b in zip(cuts, cuts[1:-1]):
            c.send(b"BDAT %d\r\n" % (b - a) + body[a:b])
            self.assertEqual(c.line(), "250 2.0.0 %d octets received" %
                             (b - a))
        c.send(b"BDAT %d LAST\r\n" % (cuts[-1] - cuts[-2]) +
               body[cuts[-2]:])
        self.assertRegex(c.line(), r"^250 2\.0\.0 Message accepted")
        # BDAT 0 LAST ends a message too.
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[:3], "250")
        c.send(b"BDAT %d\r\n" % len(msg) + msg + b"BDAT 0 LAST\r\n")
        self.assertEqual(c.line()[:3], "250")
        self.assertRegex(c.line(), r"^250 2\.0\.0 Message accepted")
        # DATA after BDAT is a bad sequence.
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[:3], "250")
        c.send(b"BDAT 3\r\nabc")
        self.assertEqual(c.line()[:3], "250")
        self.assertEqual(c.cmd("DATA"), "503 5.5.1 DATA after BDAT")
        self.assertEqual(c.cmd("RSET")[:3], "250")
        # Without a transaction the chunk is read and thrown away: its
        # content is not taken as commands.
        c.send(b"BDAT 6\r\nQUIT\r\n")
        self.assertEqual(c.line(), "503 5.5.1 Need MAIL command")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        c.send(b"BDAT 6 LAST\r\nQUIT\r\n")
        self.assertEqual(c.line(), "503 5.5.1 No valid recipients")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        c.close()
        n = new_files(before, spool(self.t))
        self.assertEqual(sum(n.values()), 3)

    def test_bdat_bad_syntax_closes(self):
        for cmd in ("BDAT", "BDAT abc", "BDAT -1", "BDAT 5 FIRST",
                    "BDAT 5 LAST x", "BDAT 1e3"):
            c = self.raw()
            self.assertEqual(c.cmd(cmd), "501 5.5.4 Syntax: BDAT size "
                             "[LAST]; closing connection", cmd)
            self.assertTrue(c.closed(), cmd)

    def test_bare_lf_and_cr_refused(self):
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        for data in ("Subject: %s\r\n\r\nbare\nLF\r\n.\r\n",
                     "Subject: %s\r\n\r\nbare\rCR\r\n.\r\n",
                     "Subject: %s\r\n\r\nends in LF\n"):
            self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
            self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
            self.assertEqual(c.cmd("DATA")[:3], "354")
            c.send(data % tok)
            if data.endswith("LF\n"):
                # A "." after the bare LF would not be the end either:
                # only CRLF "." CRLF is.
                c.send("\r\n.\r\n")
            self.assertEqual(c.line(), "554 5.6.0 Message refused: bare CR "
                             "or LF; lines must end in CRLF")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        c.close()
        self.assert_nothing_stored(before, tok)
        self.t.wait_log(r"smtp-transaction .* result=rejected-bare-cr-lf")

    def test_smuggling(self):
        """Other ends of data are not the end (SMTP smuggling)."""
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        for end in ("\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r"):
            self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
            self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
            self.assertEqual(c.cmd("DATA")[:3], "354")
            # The smuggled transaction would deliver a second message.
            c.send("Subject: %s\r\n\r\nhello%sMAIL FROM:<evil@example.org>"
                   "\r\nRCPT TO:<%s>\r\nDATA\r\nSubject: smuggled %s\r\n"
                   "\r\nsmuggled\r\n.\r\n" % (tok, end, BOB, tok))
            self.assertEqual(c.line()[:9], "554 5.6.0", repr(end))
            # The next reply answers this NOOP: nothing was smuggled.
            self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK", repr(end))
        c.close()
        self.assert_nothing_stored(before, tok)

    def test_nul_refused(self):
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
        self.assertEqual(c.cmd("DATA")[:3], "354")
        c.send("Subject: %s\r\n\r\nnul\x00here\r\n.\r\n" % tok)
        self.assertEqual(c.line(),
                         "554 5.6.0 Message refused: NUL byte in data")
        c.send("NOOP\x00\r\n")
        self.assertEqual(c.line(), "500 5.5.2 Invalid characters in command")
        c.close()
        self.assert_nothing_stored(before, tok)

    def test_long_lines(self):
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        # 998 octets and CRLF, RFC 5321 4.5.3.1.6's least, and longer
        # ones up to limit line-length (64K by default:
        # test_smtp_longline.py has the rest).
        for n in (998, 999, 5000):
            self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
            self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
            self.assertEqual(c.cmd("DATA")[:3], "354")
            c.send("Subject: ok\r\n\r\n" + "a" * n + "\r\n.\r\n")
            self.assertEqual(reply(c)[0], 250)
        # 100 KiB: too long.
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
        self.assertEqual(c.cmd("DATA")[:3], "354")
        c.send("Subject: %s\r\n\r\n%s\r\n.\r\n" % (tok, "b" * 102400))
        self.assertEqual(c.line(), "552 5.3.4 Message refused: a line is "
                         "longer than 65536 octets")
        # A command line over 512 octets.
        self.assertEqual(c.cmd("NOOP " + "x" * 600), "500 5.5.2 Line too long")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        c.close()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 3)
        self.assertEqual(plaintext_anywhere(self.t, tok.encode()), [])

    def test_dot_stuffing(self):
        tok = self.token()
        before = spool(self.t)
        s = self.smtp()
        # smtplib stuffs the dots; the lines "." and ".." are content.
        self.assertEqual(s.sendmail("x@example.org", [ALICE],
                                    message(tok, "") + ".\r\n..\r\n.x\r\n"),
                         {})
        s.quit()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)
        self.t.wait_log(r"rcpts=1 size=%d msgid=\S+ result=accepted" %
                        len(message(tok, "") + ".\r\n..\r\n.x\r\n"))

    def test_too_many_recipients(self):
        before = spool(self.t)
        c = self.raw()
        c.send("MAIL FROM:<x@example.org>\r\n" +
               "RCPT TO:<%s>\r\n" % ALICE * 101)
        self.assertEqual(c.line()[:3], "250")
        for i in range(100):
            self.assertEqual(c.line(), "250 2.1.5 Recipient OK")
        self.assertEqual(c.line(), "452 4.5.3 Too many recipients")
        self.assertEqual(c.cmd("DATA")[:3], "354")
        c.send(message(self.token()) + ".\r\n")
        self.assertEqual(reply(c)[0], 250)
        c.close()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)

    def test_too_many_unknown_recipients(self):
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        for i in range(10):
            self.assertEqual(c.cmd("RCPT TO:<nobody%d@test.example>" % i),
                             "550 5.1.1 Recipient address rejected")
        self.assertEqual(c.cmd("RCPT TO:<nobody10@test.example>"),
                         "421 4.7.0 Too many refused recipients, closing "
                         "connection")
        self.assertTrue(c.closed())
        self.t.wait_log(r"audit: event=smtp-rcpt-limit client=\S+ "
                        r"refused=11 ")

    def test_loop_detected(self):
        tok = self.token()
        before = spool(self.t)
        hops = "".join("Received: from h%d.example by h%d.example; "
                       "Thu, 1 Jan 2026 00:00:00 +0000\r\n" % (i, i + 1)
                       for i in range(51))
        s = self.smtp()
        with self.assertRaises(smtplib.SMTPDataError) as e:
            s.sendmail("x@example.org", [ALICE], hops + message(tok))
        self.assertEqual(e.exception.smtp_code, 554)
        self.assertIn(b"5.4.6", e.exception.smtp_error)
        # 50 are fine.
        self.assertEqual(s.sendmail("x@example.org", [ALICE],
                                    hops.split("\r\n", 1)[1] +
                                    message(self.token())), {})
        s.quit()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)

    def test_auth_not_on_mx(self):
        c = self.raw()
        self.assertEqual(c.cmd("AUTH PLAIN"),
                         "502 5.5.1 AUTH not available on this port")
        c.close()

    def test_bdat_short_chunk_eats_next_command(self):
        """A chunk is as long as announced, whatever it holds."""
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
        c.send(b"BDAT 8\r\nabc")
        c.send(b"NOOP\r\n")     # the chunk ends after "NOOP\r"
        self.assertEqual(c.line(), "250 2.0.0 8 octets received")
        # The lone LF left over is an (empty) command.
        self.assertEqual(c.line(), "500 5.5.1 Command unrecognized")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        c.close()


class Submission(Base):
    """Authenticated submission on 587 (STARTTLS, plaintext-auth on
    loopback in this configuration) and 465 (implicit TLS)."""

    @classmethod
    def prepare(cls, t):
        super().prepare(t)
        t.ctl("alias", "add", "alias@test.example", ALICE)

    def login(self, name="submission", user=ALICE, password=PASSWORD):
        if name == "smtps":
            s = smtplib.SMTP_SSL("127.0.0.1", self.t.port(name), timeout=30,
                                 context=client_tls())
            s.ehlo("client.example")
        else:
            s = self.smtp(name)
        s.login(user, password)
        return s

    def test_auth_required(self):
        c = self.raw("submission")
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE),
                         "530 5.7.0 Authentication required")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB),
                         "503 5.5.1 Need MAIL before RCPT")
        c.close()

    def test_plain_and_send(self):
        tok = self.token()
        before = spool(self.t)
        s = self.smtp("submission")
        self.assertIn("PLAIN", s.esmtp_features["auth"].split())
        self.assertIn("LOGIN", s.esmtp_features["auth"].split())
        code, text = s.login(ALICE, PASSWORD)
        self.assertEqual(code, 235)
        self.assertEqual(text, b"2.7.0 Authentication successful")
        self.assertEqual(s.sendmail(ALICE, [BOB], message(tok, frm=ALICE)),
                         {})
        # Once logged in, AUTH is no longer offered or taken.
        s.ehlo("client.example")
        self.assertFalse(s.has_extn("auth"))
        code, text = s.docmd("AUTH", "PLAIN")
        self.assertEqual((code, text),
                         (503, b"5.5.1 Already authenticated"))
        s.quit()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)
        self.assertEqual(plaintext_anywhere(self.t, tok.encode()), [])
        self.t.wait_log(r"audit: event=smtp-auth client=\S+ mech=plain "
                        r"user=alice@test\.example result=success")
        self.t.wait_log(r"smtp-transaction .*from-domain=test\.example "
                        r"rcpts=1 .*result=accepted")

    def test_login_mechanism(self):
        s = self.smtp("submission")
        s.user, s.password = ALICE, PASSWORD
        code, text = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        self.assertEqual(code, 235)
        s.quit()
        # LOGIN with the user name as initial response, and PLAIN with
        # a 334 continuation, by hand.
        c = self.raw("submission")
        user = base64.b64encode(ALICE.encode()).decode()
        pw = base64.b64encode(PASSWORD.encode()).decode()
        self.assertEqual(c.cmd("AUTH LOGIN " + user), "334 UGFzc3dvcmQ6")
        self.assertEqual(c.cmd(pw), "235 2.7.0 Authentication successful")
        c.close()
        c = self.raw("submission")
        self.assertEqual(c.cmd("AUTH PLAIN"), "334 ")
        self.assertEqual(c.cmd(base64.b64encode(
            b"\0" + ALICE.encode() + b"\0" + PASSWORD.encode()).decode()),
            "235 2.7.0 Authentication successful")
        c.close()
        c = self.raw("submission")
        self.assertEqual(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6")
        self.assertEqual(c.cmd("*"), "501 5.0.0 Authentication cancelled")
        self.assertEqual(c.cmd("AUTH CRAM-MD5"),
                         "504 5.5.4 Unrecognized authentication type")
        self.assertEqual(c.cmd("AUTH PLAIN !!!notbase64"),
                         "501 5.5.2 Cannot decode response")
        c.close()

    def test_implicit_tls(self):
        tok = self.token()
        before = spool(self.t)
        s = self.login("smtps")
        self.assertEqual(s.sendmail(ALICE, [BOB], message(tok, frm=ALICE)),
                         {})
        s.quit()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)
        self.t.wait_log(r"smtp-transaction .*tls=TLSv1\.[23] "
                        r"from-domain=test\.example")

    def test_sender_must_be_owned(self):
        s = self.login()
        code, text = s.mail("bob@test.example")
        self.assertEqual((code, text),
                         (553, b"5.7.1 Sender address not owned by you"))
        self.assertEqual(s.mail("<>")[0], 553)
        self.assertEqual(s.mail("someone@example.org")[0], 553)
        # An alias of the account is the account's.
        self.assertEqual(s.mail("alias@test.example")[0], 250)
        s.rset()
        self.assertEqual(s.mail("Alice@Test.Example")[0], 250)
        s.quit()

    def test_from_header_must_be_owned(self):
        tok = self.token()
        before = spool(self.t)
        s = self.login()
        for frm in ("Bob <bob@test.example>", "someone@example.org",
                    "<alice@test.example>, <bob@test.example>",
                    "undisclosed:;"):
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail(ALICE, [BOB], "From: %s\r\nSubject: %s\r\n\r\n"
                           "x\r\n" % (frm, tok))
            self.assertEqual(e.exception.smtp_code, 550, frm)
            self.assertIn(b"5.7.1", e.exception.smtp_error)
        for frm in ('"Alice, the one" <alice@test.example>',
                    "alias@test.example (Alice)",
                    "Alice\r\n <alias@test.example>"):
            self.assertEqual(s.sendmail(ALICE, [BOB],
                                        "From: %s\r\nSubject: ok\r\n\r\n"
                                        "x\r\n" % frm), {}, frm)
        s.quit()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 3)
        self.assertEqual(plaintext_anywhere(self.t, tok.encode()), [])

    def test_outbound_is_honest_temporary(self):
        s = self.login()
        self.assertEqual(s.mail(ALICE)[0], 250)
        code, text = s.rcpt("someone@example.org")
        self.assertEqual(code, 451)
        self.assertTrue(text.startswith(b"4.4.0 Outbound delivery is not "
                                        b"available yet"), text)
        code, text = s.rcpt("nobody@test.example")
        self.assertEqual((code, text),
                         (550, b"5.1.1 Recipient address rejected"))
        s.quit()

    def test_swaks_submission(self):
        require_tool(self, "swaks")
        tok = self.token()
        before = spool(self.t)
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" %
                            self.t.port("submission"), "--tls",
                            "--auth", "LOGIN", "--auth-user", ALICE,
                            "--auth-password", PASSWORD, "--to", BOB,
                            "--from", ALICE, "--helo", "client.example",
                            "--body", "swaks body " + tok,
                            "--timeout", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("235 2.7.0", out)
        self.assertNotIn(PASSWORD, self.t.logtext())
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)


class AuthAbuse(Base):
    """A fresh Tresor per test: failures feed the vault's rate limits.
    The extra listener is submission with STARTTLS and no plaintext
    passwords."""
    listeners = LISTENERS + (("strict", "submission", "starttls", False),)
    per_test = True

    @classmethod
    def prepare(cls, t):
        t.add_user(ALICE, PASSWORD)

    def test_bad_password_delay_and_disconnect(self):
        c = self.raw("submission")
        bad = base64.b64encode(b"\0" + ALICE.encode() +
                               b"\0wrong password").decode()
        t0 = time.monotonic()
        self.assertEqual(c.cmd("AUTH PLAIN " + bad),
                         "535 5.7.8 Authentication credentials invalid")
        t1 = time.monotonic()
        self.assertEqual(c.cmd("AUTH PLAIN " + bad),
                         "535 5.7.8 Authentication credentials invalid")
        t2 = time.monotonic()
        self.assertGreaterEqual(t1 - t0, 0.9)
        self.assertGreaterEqual(t2 - t1, 1.9)
        self.assertEqual(c.cmd("AUTH PLAIN " + bad)[:3], "535")
        self.assertEqual(c.line(), "421 4.7.0 Too many failed "
                         "authentications, closing connection")
        self.assertTrue(c.closed())
        self.t.wait_log(r"audit: event=smtp-auth client=\S+ mech=plain "
                        r"user=alice@test\.example result=failure", count=3)
        self.assertNotIn("wrong password", self.t.logtext())
        # smtplib sees 535 as an error.
        s = self.smtp("submission")
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            s.login(ALICE, "another wrong one")
        self.assertEqual(e.exception.smtp_code, 535)
        s.close()

    def test_auth_needs_tls(self):
        c = self.raw("strict")
        c.send("EHLO client.example\r\n")
        lines = []
        while True:
            line = c.line()
            lines.append(line)
            if line[3] == " ":
                break
        self.assertIn("250-STARTTLS", lines)
        self.assertFalse([l for l in lines if "AUTH" in l])
        self.assertEqual(c.cmd("AUTH PLAIN"), "538 5.7.11 Encryption "
                         "required for requested authentication mechanism")
        self.assertEqual(c.cmd("STARTTLS")[:3], "220")
        c.starttls()
        # RFC 3207: the client starts over with EHLO.
        self.assertEqual(c.cmd("AUTH PLAIN"), "503 5.5.1 Send EHLO first")
        c.send("EHLO client.example\r\n")
        lines = []
        while True:
            line = c.line()
            lines.append(line)
            if line[3] == " ":
                break
        self.assertIn("250-AUTH PLAIN LOGIN", lines)
        self.assertNotIn("250-STARTTLS", lines)
        self.assertEqual(c.cmd("AUTH PLAIN " + base64.b64encode(
            b"\0" + ALICE.encode() + b"\0" + PASSWORD.encode()).decode()),
            "235 2.7.0 Authentication successful")
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE)[:3], "250")
        c.close()
        self.t.wait_log(r"audit: event=smtp-auth .* result=success")


class SizeLimit(Base):
    extra = FAST_KDF + "\nlimit message-size 10K"

    def test_size(self):
        tok = self.token()
        before = spool(self.t)
        s = self.smtp()
        self.assertEqual(s.esmtp_features["size"], "10240")
        code, text = s.mail("x@example.org", ["SIZE=20000"])
        self.assertEqual(code, 552)
        self.assertEqual(text, b"5.3.4 Message size exceeds fixed maximum "
                         b"message size")
        s.rset()
        big = message(tok) + ("y" * 70 + "\r\n") * 300
        # smtplib announces the size: refused at MAIL.
        with self.assertRaises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("x@example.org", [ALICE], big)
        self.assertEqual(e.exception.smtp_code, 552)
        # Unannounced: read to the end, then refused.
        self.assertEqual(s.mail("x@example.org")[0], 250)
        self.assertEqual(s.rcpt(ALICE)[0], 250)
        code, text = s.data(big)
        self.assertEqual((code, text), (552, b"5.3.4 Message size exceeds "
                                        b"fixed maximum message size"))
        # The session goes on, and a message under the limit is taken.
        self.assertEqual(s.noop()[0], 250)
        self.assertEqual(s.sendmail("x@example.org", [ALICE],
                                    message(self.token()) +
                                    "z" * 900 + "\r\n"), {})
        s.quit()
        # BDAT: one chunk too big, or the sum of several.
        c = self.raw()
        for chunks in ((20000,), (6000, 6000)):
            self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
            self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
            for i, n in enumerate(chunks):
                last = i == len(chunks) - 1
                c.send(b"BDAT %d%s\r\n" % (n, b" LAST" if last else b"") +
                       (tok.encode() * n)[:n])
                if last:
                    self.assertEqual(c.line(), "552 5.3.4 Message size "
                                     "exceeds fixed maximum message size")
                else:
                    self.assertEqual(c.line()[:3], "250")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        c.close()
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)
        self.assertEqual(plaintext_anywhere(self.t, tok.encode()), [])
        self.t.wait_log(r"smtp-transaction .* result=rejected-size")


class Crash(Base):
    """kill -9 of vaultd or smtpd while a message comes: the client gets
    250 only if the message is stored."""
    may_exit = ("smtpd", "vaultd")

    def test_kill_vaultd_during_data(self):
        outcomes = []
        # 0: killed before the end of data; 1: right after it; 2: a
        # little after it; 3: before the end, and back before it.
        mark = None
        for i in range(4):
            # The previous round's vaultd must be back, and smtpd must
            # have its answer to the greeting (logged after the kill).
            if mark is not None:
                wait_for(lambda: re.search(
                    r"smtpd\[\d+\]: connected to vaultd",
                    self.t.logtext()[mark:]) is not None, 60,
                    "smtpd wired to the new vaultd")
            tok = self.token()
            before = spool(self.t)
            c = self.raw()
            self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
            self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
            self.assertEqual(c.cmd("DATA")[:3], "354")
            msg = message(tok) + ("line %s\r\n" % tok) * 2000
            half = len(msg) // 2
            c.send(msg[:half])
            pid = self.t.pid("vaultd")
            mark = len(self.t.logtext())
            if i in (0, 3):
                hello = r"smtpd\[\d+\]: connected to vaultd"
                n = len(re.findall(hello, self.t.logtext()))
                os.kill(pid, signal.SIGKILL)
                if i == 3:
                    # smtpd has a channel to the new vaultd.
                    self.t.wait_log(hello, count=n + 1, timeout=60)
                c.send(msg[half:] + ".\r\n")
            else:
                c.send(msg[half:] + ".\r\n")
                if i == 2:
                    time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
            try:
                r = c.line()
            except (EOFError, OSError):
                r = None
            c.close()
            self.t.wait_ready(timeout=60)
            got = sum(new_files(before, spool(self.t)).values())
            if r is not None and r.startswith("250"):
                self.assertEqual(got, 1, "250 but not stored (case %d)" % i)
            else:
                self.assertTrue(r is None or r.startswith("451"), r)
                self.assertLessEqual(got, 1)
            if i == 3:
                self.assertTrue(r is not None and r.startswith("250"), r)
            self.assertEqual(plaintext_anywhere(self.t, tok.encode()), [])
            outcomes.append(r[:3] if r else None)
        print("(replies %s) " % outcomes, end="", flush=True)
        # Once the vault is back, mail flows again.
        before = spool(self.t)

        def delivered():
            try:
                s = self.smtp()
                s.sendmail("x@example.org", [ALICE],
                           message(self.token()))
                s.quit()
                return True
            except smtplib.SMTPException:
                return False
        wait_for(delivered, 30, "delivery after the crash")
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)

    def test_kill_smtpd_during_data(self):
        """No 250, nothing stored, and a new smtpd takes mail."""
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
        self.assertEqual(c.cmd("DATA")[:3], "354")
        c.send(message(tok))
        os.kill(self.t.pid("smtpd"), signal.SIGKILL)
        try:
            c.send(".\r\n")
            r = c.line()
        except (EOFError, OSError):
            r = None
        c.close()
        self.assertIsNone(r)
        self.t.wait_ready(timeout=60)
        self.assert_nothing_stored(before, tok)

        def delivered():
            try:
                s = self.smtp()
                s.sendmail("x@example.org", [ALICE], message(self.token()))
                s.quit()
                return True
            except (smtplib.SMTPException, OSError):
                return False
        wait_for(delivered, 30, "delivery by the new smtpd")
        self.assertEqual(sum(new_files(before, spool(self.t)).values()), 1)


class Timeouts(Base):
    extra = FAST_KDF + "\nlimit timeout idle 2s"

    def test_idle_timeouts(self):
        c = self.raw()
        t0 = time.monotonic()
        self.assertEqual(c.line(), "421 4.4.2 mx.test.example Timeout, "
                         "closing connection")
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)
        self.assertTrue(c.closed())
        # In the middle of DATA too; nothing is stored.
        tok = self.token()
        before = spool(self.t)
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
        self.assertEqual(c.cmd("DATA")[:3], "354")
        c.send(message(tok))
        self.assertEqual(c.line()[:9], "421 4.4.2")
        self.assertTrue(c.closed())
        self.assert_nothing_stored(before, tok)
        self.t.wait_log(r"smtp-transaction .* result=aborted")


class Limits(Base):
    """STARTTLS, and enumeration from one client address."""

    def test_starttls_discards_pipelined(self):
        c = self.raw()
        c.send("STARTTLS\r\nMAIL FROM:<x@example.org>\r\n")
        self.assertEqual(c.line()[:3], "220")
        c.starttls()
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        # The EHLO from before TLS is forgotten (RFC 3207 4.2).
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>"),
                         "503 5.5.1 Send EHLO or HELO first")
        self.assertEqual(c.cmd("STARTTLS"), "503 5.5.1 TLS already active")
        c.close()

    def test_refused_per_address(self):
        """Enumeration spread over sessions: 30 refusals per address."""
        import threading
        results = []

        def probe(k):
            c = self.raw()
            c.send("MAIL FROM:<x@example.org>\r\n" +
                   "".join("RCPT TO:<n%d-%d@test.example>\r\n" % (k, i)
                           for i in range(10)))
            got = [c.line() for _ in range(11)]
            results.append(got)
            c.close()
        threads = [threading.Thread(target=probe, args=(k,))
                   for k in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        self.assertEqual(len(results), 3)
        for got in results:
            self.assertEqual(got[0][:3], "250")
            self.assertEqual(set(got[1:]),
                             {"550 5.1.1 Recipient address rejected"})
        c = self.raw()
        self.assertEqual(c.cmd("MAIL FROM:<x@example.org>")[:3], "250")
        # Known recipients are still taken; the next refusal ends it.
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<nobody@test.example>"),
                         "421 4.7.0 Too many refused recipients, closing "
                         "connection")
        self.assertTrue(c.closed())
        self.t.wait_log(r"smtp-rcpt-limit client=\S+ refused=1 "
                        r"refused-by-address=31")


if __name__ == "__main__":
    unittest.main()
