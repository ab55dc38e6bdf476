# Mailbox work of different accounts runs side by side in vaultd
# (vaultd/vault_work.c, issue 13): one account's long SEARCH does not
# hold back another account's requests or a delivery into it.  The
# assertions are on order, not time: B's answers (a FETCH, NOOPs, an
# SMTP delivery into B with its 250) all come while A's SEARCH, queued
# in vaultd before B's first request was sent, has not answered.  The
# SEARCH scans the text of 2000 messages 24 times over (short strings,
# which the trigram index cannot serve): hundreds of times a NOOP, tens
# of times all of B's requests together.  With the workers off (every
# job on the loop, as before) this test fails: B waits for the search.

import imaplib
import re
import smtplib
import socket
import threading
import time

from tresor import DaemonCase, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M"
TIMEOUT = 120
PASSWORD = "correct horse battery"
ALICE = "alice@test.example"
BOB = "bob@test.example"
FILL = 2000
CLIENTS = 8
# Two-character strings: no trigram, so LIKE over every message's text;
# each starts with a letter the text is full of and never matches, so
# LIKE stops at every such letter rather than skipping to the next.
TERMS = [c + "!" for c in "eilnoasthfrgmd"] + [c + "?" for c in "eilnoasthf"]


def message(to, token, lines=500):
    return ("From: <x@example.org>\r\nTo: <%s>\r\nSubject: fill %s\r\n"
            "\r\n%s" % (to, token, ("filler line of message %s, "
                                    "nothing to find here\r\n" % token)
                        * lines))


def login(t, user):
    m = imaplib.IMAP4("127.0.0.1", t.port("imap"), timeout=300)
    m.login(user, PASSWORD)
    return m


class Workers(DaemonCase):
    extra = FAST_KDF + "\nlimit connections per-address 100"
    per_test = True

    def setUp(self):
        super().setUp()
        self.t.add_user(ALICE, PASSWORD)
        self.t.add_user(BOB, PASSWORD)

    def fill(self, user, n):
        """n messages into user over SMTP, CLIENTS at a time."""
        errors = []

        def sender(c):
            try:
                s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"),
                                 timeout=120)
                for i in range(c, n, CLIENTS):
                    s.sendmail("x@example.org", [user],
                               message(user, "%d" % i))
                s.quit()
            except (smtplib.SMTPException, OSError) as e:
                errors.append(e)
        th = [threading.Thread(target=sender, args=(c,))
              for c in range(CLIENTS)]
        for x in th:
            x.start()
        for x in th:
            x.join(600)
        self.assertEqual(errors, [])

    def test_long_search_does_not_hold_back_another_account(self):
        a = login(self.t, ALICE)
        b = login(self.t, BOB)
        try:
            self.fill(ALICE, FILL)
            # Answered once sealed: the strand imports them after.
            wait_for(lambda: self.t.spool_files() == 0, 300,
                     "alice's spool imported")
            typ, data = a.select("INBOX")
            self.assertEqual(typ, "OK", data)
            self.assertEqual(int(data[0]), FILL)
            self.deliver(BOB, message(BOB, "first", 3))
            typ, data = b.select("INBOX")
            self.assertEqual(typ, "OK", data)
            self.assertEqual(int(data[0]), 1)

            # A's SEARCH, sent raw so that this thread goes on.
            queued = len(re.findall(r'search "INBOX": queued',
                                    self.t.logtext()))
            prog = " ".join("OR TEXT %s" % x for x in TERMS[:-1]) + \
                " TEXT %s" % TERMS[-1]
            t0 = time.monotonic()
            a.send(b"S1 SEARCH " + prog.encode() + b"\r\n")
            self.t.wait_log(r'search "INBOX": queued', count=queued + 1,
                            timeout=60)

            # B, meanwhile: FETCH, NOOPs and a delivery with its 250.
            typ, data = b.fetch("1", "(FLAGS BODY.PEEK[HEADER])")
            self.assertEqual(typ, "OK", data)
            for _ in range(5):
                self.assertEqual(b.noop()[0], "OK")
            self.deliver(BOB, message(BOB, "second", 3))
            # Its 250 came once sealed; the NOOP that follows the
            # import's commit says EXISTS 2.
            wait_for(lambda: b.noop()[0] == "OK" and "2" in [
                x.decode() for x in b.untagged_responses.get("EXISTS",
                                                             [])],
                     60, "bob's EXISTS 2")
            typ, data = b.fetch("2", "(BODY.PEEK[HEADER.FIELDS "
                                "(SUBJECT)])")
            self.assertEqual(typ, "OK", data)
            self.assertIn(b"fill second", data[0][1])

            t_b = time.monotonic() - t0
            # ... and A's SEARCH has still not answered.
            a.sock.setblocking(False)
            try:
                early = a.sock.recv(4096)
            except (BlockingIOError, ssl_want_read()):
                early = b""
            finally:
                a.sock.setblocking(True)
            self.assertEqual(early, b"", "the search answered first: " +
                             "\n".join(x for x in
                                       self.t.logtext().splitlines()
                                       if "search" in x)[-2000:])
            self.assertNotRegex(self.t.logtext(),
                                r'search "INBOX": status')

            # A's answer comes, and is right: nothing matches.
            a.sock.settimeout(600)
            rest = b""
            while b"S1 " not in rest:
                chunk = a.sock.recv(65536)
                self.assertNotEqual(chunk, b"", "A's connection closed")
                rest += chunk
            t_a = time.monotonic() - t0
            self.assertIn(b"* SEARCH\r\n", rest)
            self.assertIn(b"S1 OK", rest)
            # For the reader only: no assertion on time.
            print("(B done after %.2f s, A's search after %.2f s) " %
                  (t_b, t_a), end="", flush=True)
        finally:
            for m in (a, b):
                try:
                    m.logout()
                except (imaplib.IMAP4.abort, OSError, imaplib.IMAP4.error):
                    pass


def ssl_want_read():
    """imaplib's socket is plain here; this keeps the except tuple
    valid if the test ever runs over TLS."""
    try:
        import ssl
        return ssl.SSLWantReadError
    except ImportError:
        return socket.timeout


class BackgroundThread(DaemonCase):
    """Work nobody waits for yet (the import of deliveries, the index)
    runs on one more mailbox worker, niced (vaultd/vault_work.c).  Read
    from /proc of the running, sandboxed vaultd, so the seccomp rule
    that lets a thread lower its own priority is exercised: were the
    call refused, vaultd would die of SIGSYS or log "work:
    setpriority".  Then a stream of deliveries into an unlocked account
    goes in through that thread, every message found afterwards."""
    extra = FAST_KDF + "\nlimit connections per-address 100"

    def nices(self):
        return self.t.thread_field("vaultd", 19)

    def test_one_niced_thread_imports_a_stream(self):
        wait_for(lambda: sorted(self.nices().values()).count(10) == 1,
                 TIMEOUT, "one vaultd thread at nice 10")
        self.assertEqual(self.nices()[self.t.pid("vaultd")], 0,
                         "the loop keeps its priority")
        self.assertIn("and one for background work", self.t.logtext())
        self.assertNotIn("work: setpriority", self.t.logtext())

        self.t.add_user(ALICE, PASSWORD)
        m = login(self.t, ALICE)
        n = 300
        errors = []

        def sender(c):
            try:
                s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"),
                                 timeout=120)
                for i in range(c, n, 4):
                    s.sendmail("x@example.org", [ALICE],
                               message(ALICE, "bg%d" % i, lines=40))
                s.quit()
            except (smtplib.SMTPException, OSError) as e:
                errors.append(e)
        th = [threading.Thread(target=sender, args=(c,)) for c in range(4)]
        for x in th:
            x.start()
        for x in th:
            x.join(600)
        self.assertEqual(errors, [])
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        wait_for(lambda: int(m.status("INBOX", "(MESSAGES)")[1][0]
                             .split()[-1].rstrip(b")")) == n,
                 TIMEOUT, "all %d messages in INBOX" % n)
        typ, data = m.uid("SEARCH", "SUBJECT", '"fill bg299"')
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data[0].split()), 1)
        m.logout()
