# FETCH of many bodies asks the vault for the next batch while it
# writes the current one (imapd/imap_query.c, "One batch ahead").  The
# tests check what a client must see whatever the timing: every body,
# once, in order, the right one; sections too; large messages that make
# the vault cut a batch short (then nothing is asked ahead and the rest
# is asked for first); messages expunged by another session before the
# FETCH (the vault leaves them out, imapd writes the others); and a
# client that hangs up in the middle, with a request ahead out: imapd
# lives on and serves the next session.  The test of every body and
# the one of 60 KiB messages also find imapd's debug line for a batch
# asked for ahead, so the path under test is the one that ran.

import imaplib
import re
import smtplib
import socket
import time

from tresor import DaemonCase, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M"
PASSWORD = "correct horse battery"
USER = "ahead@test.example"
N = 300
BIG = (50, 51, 120)             # 3 MiB each: a batch's budget is 4 MiB
BIG_SIZE = 3 * 1024 * 1024


def body_of(i):
    if i in BIG:
        line = "big message %03d filler line of seventy octets or so....\r\n" % i
        return line * (BIG_SIZE // len(line))
    return ("line %d of message %03d\r\n" % (0, i)) + "".join(
        "line %d of message %03d\r\n" % (k, i) for k in range(1, 200))


def message(i):
    return ("From: <x@example.org>\r\nTo: <%s>\r\nSubject: ahead %03d\r\n"
            "\r\n%s" % (USER, i, body_of(i)))


def login():
    return imaplib.IMAP4("127.0.0.1", PORT[0], timeout=120)


PORT = [0]


class FetchAhead(DaemonCase):
    extra = FAST_KDF + "\nlimit connections per-address 100"

    @classmethod
    def prepare(cls, t):
        t.add_user(USER, PASSWORD)
        PORT[0] = t.port("imap")
        s = smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=120)
        for i in range(1, N + 1):
            s.sendmail("x@example.org", [USER], message(i))
        s.quit()

    def session(self):
        m = login()
        m.login(USER, PASSWORD)
        wait_for(lambda: int(m.status("INBOX", "(MESSAGES)")[1][0]
                             .split()[-1].rstrip(b")")) >= N - 40,
                 60, "the messages in INBOX")
        return m

    def subject_no(self, raw):
        mo = re.search(rb"Subject: ahead (\d{3})", raw)
        self.assertIsNotNone(mo)
        return int(mo.group(1))

    def test_1_every_body_once_in_order(self):
        m = self.session()
        wait_for(lambda: int(m.status("INBOX", "(MESSAGES)")[1][0]
                             .split()[-1].rstrip(b")")) == N,
                 60, "all %d messages" % N)
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        got = [d for d in data if isinstance(d, tuple)]
        self.assertEqual(len(got), N)
        uids = []
        for k, (head, raw) in enumerate(got):
            uids.append(int(re.search(rb"UID (\d+)", head).group(1)))
            i = self.subject_no(raw)
            self.assertEqual(i, k + 1)
            # After the Received: field smtpd adds, the message as sent.
            self.assertTrue(raw.endswith(b"\r\n" + message(i).encode()))
        self.assertEqual(uids, sorted(set(uids)))
        m.logout()
        wait_for(lambda: asked_ahead(self.t) >= 1, 20,
                 "a batch asked for ahead")

    def test_2_sections_across_batches(self):
        m = self.session()
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        got = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(got), N)
        for k, raw in enumerate(got):
            self.assertEqual(raw, b"Subject: ahead %03d\r\n\r\n" % (k + 1))
        m.logout()

    def test_3_hang_up_in_the_middle(self):
        pid = self.t.pid("imapd")
        for cut in (1, 20000, 600000):
            c = socket.create_connection(("127.0.0.1", PORT[0]), 30)
            c.recv(4096)
            c.sendall(b"a LOGIN %s \"%s\"\r\nb SELECT INBOX\r\n"
                      b"c UID FETCH 1:* (BODY.PEEK[])\r\n" %
                      (USER.encode(), PASSWORD.encode()))
            seen = 0
            while seen < cut:
                d = c.recv(65536)
                if not d:
                    break
                seen += len(d)
            c.close()
        # imapd is the same process and serves the next session whole.
        self.assertEqual(self.t.pid("imapd"), pid)
        m = self.session()
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        self.assertEqual(len([d for d in data if isinstance(d, tuple)]),
                         N)
        m.logout()

    def test_4_expunged_by_another_session(self):
        a = self.session()
        a.select("INBOX")
        b = self.session()
        b.select("INBOX")
        gone = list(range(90, 131))
        typ, _ = b.store("%d:%d" % (gone[0], gone[-1]), "+FLAGS",
                         "(\\Deleted)")
        self.assertEqual(typ, "OK")
        typ, _ = b.expunge()
        self.assertEqual(typ, "OK")
        b.logout()
        # a has not heard of it: its FETCH names them, the vault does
        # not have them, and every other one comes.
        typ, data = a.fetch("1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        nos = [self.subject_no(d[1]) for d in data if isinstance(d, tuple)]
        self.assertEqual(nos, [i for i in range(1, N + 1)
                               if i not in gone])
        typ, _ = a.noop()
        self.assertEqual(typ, "OK")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            typ, data = a.status("INBOX", "(MESSAGES)")
            if b"MESSAGES %d" % (N - len(gone)) in data[0]:
                break
            time.sleep(0.1)
        self.assertIn(b"MESSAGES %d" % (N - len(gone)), data[0])
        a.logout()


def asked_ahead(t):
    return len(re.findall(r"fetch: \d+ bodies asked for ahead", t.logtext()))


class AskedAhead(DaemonCase):
    """130 messages of 60 KiB: two full batches of 64 and one of 2, so
    the next batch is asked for twice while one is written."""
    extra = FAST_KDF
    per_test = True

    def test_batches_of_60k(self):
        self.t.add_user(USER, PASSWORD)
        big = "%s\r\n" % ("y" * 78)
        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=120)
        for i in range(1, 131):
            s.sendmail("x@example.org", [USER],
                       "Subject: wide %03d\r\n\r\n%s" % (i, big * 768))
        s.quit()
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=60)
        m.login(USER, PASSWORD)
        wait_for(lambda: b"MESSAGES 130" in m.status("INBOX",
                                                     "(MESSAGES)")[1][0],
                 60, "130 messages")
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        got = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(got), 130)
        for k, raw in enumerate(got):
            self.assertIn(b"Subject: wide %03d\r\n\r\n" % (k + 1), raw)
            self.assertTrue(raw.endswith(big.encode() * 768))
        m.logout()
        wait_for(lambda: asked_ahead(self.t) >= 2, 20,
                 "two batches asked for ahead")

if __name__ == "__main__":
    import unittest
    unittest.main()
