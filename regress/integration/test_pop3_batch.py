# POP3 RETR pipelined: the bodies come from the vault by batches, the
# next one asked for while the last is sent
# (imapd/pop3_retr.c).  Every answer must still be the message, byte for
# byte and in the order asked, whatever the batches: messages of many
# sizes, some over the batch budget (4 MiB), DELE and RSET between the
# RETRs, and messages expunged by another session after the login.

import random
import re
import smtplib
import socket

from tresor import DaemonCase

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"
MiB = 1024 * 1024


def message(i, size, rnd):
    """Message i, about size octets, with lines that need stuffing."""
    head = ("From: x@example.org\r\nSubject: batch %d\r\n"
            "Message-ID: <batch-%d@test.example>\r\n\r\n" % (i, i))
    lines = []
    n = len(head)
    k = 0
    while n < size:
        k += 1
        if k % 7 == 0:
            line = "." * (1 + k % 3) + " dotted %d" % k
        elif k % 11 == 0:
            line = ""
        else:
            line = "%d-%d " % (i, k) + "".join(
                rnd.choice("abcdefghij ") for _ in range(rnd.randint(0, 76)))
        lines.append(line + "\r\n")
        n += len(line) + 2
    return (head + "".join(lines)).encode()


class Reader:
    """POP3 answers off a socket, multi-line ones unstuffed to bytes."""

    def __init__(self, sock):
        self.f = sock.makefile("rb")

    def line(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise AssertionError("no CRLF: %r" % line[-80:])
        return line[:-2]

    def multi(self):
        parts = []
        while True:
            line = self.f.readline()
            if not line.endswith(b"\r\n"):
                raise AssertionError("no CRLF: %r" % line[-80:])
            if line == b".\r\n":
                return b"".join(parts)
            if line.startswith(b"."):
                line = line[1:]
            parts.append(line)


class Batches(DaemonCase):
    extra = FAST_KDF + "\nlimit message-size 35M"
    password = PASSWORD

    def deliver_all(self, user, msgs):
        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=120)
        try:
            for m in msgs:
                self.assertEqual(s.sendmail("x@example.org", [user], m), {})
        finally:
            s.quit()

    def imported(self, user):
        """Log in and wait until the spool delivered to the locked
        account is in its mailbox (vaultd imports it after the login)."""
        sock, r = self.login(user)
        try:
            self.t.wait_log(re.escape(user) + r": spool imported",
                            timeout=120)
        finally:
            sock.close()

    def login(self, user):
        sock = socket.create_connection(("127.0.0.1", self.t.port("pop3")),
                                        timeout=120)
        r = Reader(sock)
        self.assertEqual(r.line(), b"+OK Tresor POP3 ready")
        sock.sendall(b"USER %s\r\nPASS %s\r\n" % (user.encode(),
                                                   PASSWORD.encode()))
        self.assertEqual(r.line(), b"+OK Send PASS")
        self.assertTrue(r.line().startswith(b"+OK Logged in"))
        return sock, r

    def listing(self, sock, r):
        sock.sendall(b"LIST\r\n")
        self.assertTrue(r.line().startswith(b"+OK"))
        return {int(a): int(b) for a, b in
                (l.split() for l in r.multi().splitlines())}

    def check_retr(self, r, n, msg, sizes):
        self.assertEqual(r.line(), b"+OK %d octets" % sizes[n])
        data = r.multi()
        # Our Received field, then the message as it was sent.
        self.assertTrue(data.startswith(b"Received: from "), data[:80])
        self.assertTrue(data.endswith(msg), "message %d differs" % n)
        self.assertEqual(len(data), sizes[n])

    def test_200_pipelined_retrs_of_many_sizes(self):
        rnd = random.Random(1939)
        sizes = []
        for i in range(200):
            if i in (17, 120, 121):
                sizes.append(rnd.randint(4 * MiB + 1, 6 * MiB))
            elif i % 25 == 3:
                sizes.append(rnd.randint(300 * 1024, 2 * MiB))
            else:
                sizes.append(rnd.randint(60, 40 * 1024))
        msgs = [message(i, sz, rnd) for i, sz in enumerate(sizes)]
        user = self.new_user()
        self.deliver_all(user, msgs)
        self.imported(user)
        sock, r = self.login(user)
        try:
            listed = self.listing(sock, r)
            self.assertEqual(len(listed), 200)
            # All in one write, and in an order that is not the uids'
            # for a stretch, so that some batches start mid-way.
            order = list(range(1, 201))
            order[50:60] = reversed(order[50:60])
            sock.sendall(b"".join(b"RETR %d\r\n" % n for n in order) +
                         b"QUIT\r\n")
            for n in order:
                self.check_retr(r, n, msgs[n - 1], listed)
            self.assertEqual(r.line(), b"+OK Bye")
        finally:
            sock.close()

    def test_batches_asked_ahead(self):
        """700 messages, pipelined in one write: three batches of 256,
        each next one asked for while the last is sent.  A DELE and a TOP
        inside the batch asked ahead; then a client that goes away with
        a batch asked ahead; a third session still reads the mailbox."""
        rnd = random.Random(7088)
        msgs = [message(i, rnd.randint(60, 3000), rnd) for i in range(700)]
        user = self.new_user()
        self.deliver_all(user, msgs)
        self.imported(user)
        sock, r = self.login(user)
        try:
            listed = self.listing(sock, r)
            self.assertEqual(len(listed), 700)
            cmds = []
            for n in range(1, 701):
                if n == 400:
                    cmds += [b"DELE 400", b"RETR 400"]
                elif n == 500:
                    cmds.append(b"TOP 500 0")
                else:
                    cmds.append(b"RETR %d" % n)
            sock.sendall(b"".join(c + b"\r\n" for c in cmds) + b"QUIT\r\n")
            for n in range(1, 701):
                if n == 400:
                    self.assertEqual(r.line(), b"+OK Message 400 deleted")
                    self.assertEqual(r.line(), b"-ERR Message 400 is deleted")
                elif n == 500:
                    self.assertEqual(r.line(), b"+OK Top of message follows")
                    top = r.multi()
                    self.assertTrue(top.endswith(
                        msgs[499].split(b"\r\n\r\n")[0] + b"\r\n\r\n"))
                else:
                    self.check_retr(r, n, msgs[n - 1], listed)
            self.assertEqual(r.line(), b"+OK Bye (1 messages deleted)")
        finally:
            sock.close()
        # Gone with a batch asked ahead (or on its way): nothing breaks.
        sock, r = self.login(user)
        try:
            sock.sendall(b"".join(b"RETR %d\r\n" % n
                                  for n in range(1, 700)))
            for n in range(1, 200):
                self.assertTrue(r.line().startswith(b"+OK"))
                r.multi()
        finally:
            sock.close()
        sock, r = self.login(user)
        try:
            listed = self.listing(sock, r)
            self.assertEqual(len(listed), 699)
            sock.sendall(b"RETR 699\r\nQUIT\r\n")
            self.check_retr(r, 699, msgs[699], listed)
            self.assertEqual(r.line(), b"+OK Bye")
        finally:
            sock.close()
        log = self.t.logtext()
        self.assertNotIn("malformed bodies", log)
        self.assertNotIn("cannot read message", log)

    def test_dele_and_retr_interleaved(self):
        rnd = random.Random(4616)
        msgs = [message(i, rnd.randint(100, 20000), rnd) for i in range(12)]
        user = self.new_user()
        self.deliver_all(user, msgs)
        self.imported(user)
        sock, r = self.login(user)
        try:
            listed = self.listing(sock, r)
            sock.sendall(b"RETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\n"
                         b"RETR 1\r\nDELE 4\r\nRETR 4\r\nRETR 3\r\n"
                         b"RSET\r\nRETR 4\r\nRETR 1\r\nDELE 5\r\n"
                         b"TOP 6 0\r\nRETR 7\r\nDELE 7\r\nRETR 12\r\n"
                         b"STAT\r\nQUIT\r\n")
            self.check_retr(r, 1, msgs[0], listed)
            self.assertEqual(r.line(), b"+OK Message 1 deleted")
            self.check_retr(r, 2, msgs[1], listed)
            self.assertEqual(r.line(), b"+OK Message 2 deleted")
            self.assertEqual(r.line(), b"-ERR Message 1 is deleted")
            self.assertEqual(r.line(), b"+OK Message 4 deleted")
            self.assertEqual(r.line(), b"-ERR Message 4 is deleted")
            self.check_retr(r, 3, msgs[2], listed)
            self.assertTrue(r.line().startswith(b"+OK Maildrop has 12"))
            self.check_retr(r, 4, msgs[3], listed)
            self.check_retr(r, 1, msgs[0], listed)
            self.assertEqual(r.line(), b"+OK Message 5 deleted")
            self.assertEqual(r.line(), b"+OK Top of message follows")
            top = r.multi()
            self.assertTrue(top.endswith(msgs[5].split(b"\r\n\r\n")[0] +
                                         b"\r\n\r\n"), top[-200:])
            self.check_retr(r, 7, msgs[6], listed)
            self.assertEqual(r.line(), b"+OK Message 7 deleted")
            self.check_retr(r, 12, msgs[11], listed)
            self.assertEqual(r.line(), b"+OK 10 %d" %
                             (sum(listed.values()) - listed[5] - listed[7]))
            self.assertEqual(r.line(), b"+OK Bye (2 messages deleted)")
        finally:
            sock.close()
        # Exactly 5 and 7 went.
        sock, r = self.login(user)
        try:
            sock.sendall(b"RETR 5\r\nRETR 6\r\nRETR 10\r\nQUIT\r\n")
            self.assertEqual(r.line(), b"+OK %d octets" % listed[6])
            self.assertTrue(r.multi().endswith(msgs[5]))
            self.assertEqual(r.line(), b"+OK %d octets" % listed[8])
            self.assertTrue(r.multi().endswith(msgs[7]))
            self.assertEqual(r.line(), b"+OK %d octets" % listed[12])
            self.assertTrue(r.multi().endswith(msgs[11]))
            self.assertEqual(r.line(), b"+OK Bye")
        finally:
            sock.close()

    def test_expunged_after_login_inside_a_batch(self):
        rnd = random.Random(1734)
        msgs = [message(i, rnd.randint(100, 5000), rnd) for i in range(6)]
        user = self.new_user()
        self.deliver_all(user, msgs)
        self.imported(user)
        a, ra = self.login(user)
        b, rb = self.login(user)
        try:
            listed = self.listing(b, rb)
            a.sendall(b"DELE 2\r\nDELE 5\r\nDELE 6\r\nQUIT\r\n")
            self.assertEqual(ra.line(), b"+OK Message 2 deleted")
            self.assertEqual(ra.line(), b"+OK Message 5 deleted")
            self.assertEqual(ra.line(), b"+OK Message 6 deleted")
            self.assertEqual(ra.line(), b"+OK Bye (3 messages deleted)")
            # b still numbers them; the batch of its RETRs lacks 2, 5
            # and 6, the last uid (above what the vault has now).
            b.sendall(b"".join(b"RETR %d\r\n" % n for n in range(1, 7)) +
                      b"RETR 6\r\nQUIT\r\n")
            for n in list(range(1, 7)) + [6]:
                if n in (2, 5, 6):
                    self.assertEqual(rb.line(), b"-ERR Message %d is no "
                                     b"longer in the mailbox" % n)
                else:
                    self.check_retr(rb, n, msgs[n - 1], listed)
            self.assertEqual(rb.line(), b"+OK Bye")
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    import unittest
    unittest.main()
