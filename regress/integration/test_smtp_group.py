# SMTP delivery into an unlocked account through the real daemons: vaultd
# seals each message into the account's spool and answers 250 once that
# is durable; the account's strand imports what came, the deliveries
# that arrived together in one transaction (vaultd/vault_account.c).
# Many concurrent deliveries must each land exactly once; a vaultd
# killed while they are in flight must lose no message whose 250 the
# client saw.

import imaplib
import os
import re
import signal
import smtplib
import threading
import time
from collections import Counter

from tresor import DaemonCase, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M"
PASSWORD = "correct horse battery"
ALICE = "alice@test.example"
CLIENTS = 8
PER_CLIENT = 50


def message(token):
    return ("From: <x@example.org>\r\nTo: <%s>\r\nSubject: test %s\r\n"
            "\r\nbody %s\r\n%s" % (ALICE, token, token,
                                   ("filler line for %s\r\n" % token) * 40))


def login(t):
    m = imaplib.IMAP4("127.0.0.1", t.port("imap"), timeout=60)
    m.login(ALICE, PASSWORD)
    return m


def inbox_tokens(t):
    """Counter of the tokens of every message in alice's INBOX (a login
    also imports what waited in the spool: after it has answered, so
    the spool is waited for)."""
    m = login(t)
    try:
        wait_for(lambda: t.spool_files() == 0, 120,
                 "the spool imported after the login")
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        n = int(data[0])
        got = Counter()
        if n == 0:
            return got
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK", data
        for item in data:
            if isinstance(item, tuple):
                mo = re.search(rb"Subject: test (\S+)", item[1])
                assert mo is not None, item
                got[mo.group(1).decode()] += 1
        assert sum(got.values()) == n, (sum(got.values()), n)
        return got
    finally:
        m.logout()


class GroupCommit(DaemonCase):
    extra = FAST_KDF + "\nlimit connections per-address 100"
    per_test = True
    may_exit = ("vaultd",)

    def setUp(self):
        super().setUp()
        self.t.add_user(ALICE, PASSWORD)

    def sender(self, n, prefix, acked, tried, retries=1):
        """Client thread: n messages over one connection (a new one
        after an error), each tried up to retries times, as an MTA
        would; the tokens whose 250 came go to acked."""
        s = None
        for i in range(n):
            tok = "%s-%d" % (prefix, i)
            for attempt in range(retries):
                try:
                    if s is None:
                        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"),
                                         timeout=60)
                    tried.append(tok)
                    s.sendmail("x@example.org", [ALICE], message(tok))
                    acked.append(tok)
                    break
                except (smtplib.SMTPException, OSError):
                    try:
                        if s is not None:
                            s.close()
                    except OSError:
                        pass
                    s = None
                    time.sleep(0.2)
        if s is not None:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def test_concurrent_into_unlocked(self):
        """8 clients x 50 messages into a logged-in account: every one
        250, every one in INBOX exactly once once the spool is imported
        (while the session stays: no new login imports them), the
        imports accounting for all of them."""
        hold = login(self.t)
        try:
            acked, tried = [], []
            th = [threading.Thread(target=self.sender,
                                   args=(PER_CLIENT, "c%d" % c, acked,
                                         tried))
                  for c in range(CLIENTS)]
            for x in th:
                x.start()
            for x in th:
                x.join(300)
            self.assertEqual(len(acked), CLIENTS * PER_CLIENT)
            wait_for(lambda: self.t.spool_files() == 0, 120,
                     "the spool imported while the session stays")
            got = inbox_tokens(self.t)
            self.assertEqual(set(got), set(acked))
            self.assertEqual(set(got.values()), {1})
            hold.noop()
        finally:
            hold.logout()
        sizes = [int(x) for x in re.findall(
            r"alice@test\.example: spool imported, (\d+) messages?",
            self.t.logtext())]
        self.assertEqual(sum(sizes), CLIENTS * PER_CLIENT)
        print("(%d imports, largest %d) " % (len(sizes), max(sizes)),
              end="", flush=True)

    def test_kill_vaultd_with_deliveries_in_flight(self):
        """vaultd killed -9 while 8 clients deliver into the unlocked
        account: after the restart every message whose 250 a client
        saw is in INBOX.  A message stored whose 250 was lost comes
        again when its client retries: such duplicates are allowed,
        and counted."""
        hold = login(self.t)
        acked, tried = [], []
        th = [threading.Thread(target=self.sender,
                               args=(PER_CLIENT, "k%d" % c, acked, tried,
                                     50))
              for c in range(CLIENTS)]
        for x in th:
            x.start()
        wait_for(lambda: len(acked) >= 60, 120, "60 messages accepted")
        before = self.t.status()
        os.kill(before["vaultd"]["pid"], signal.SIGKILL)
        killed_at = len(acked)
        wait_for(lambda: self.t.status(check=False) is not None and
                 self.t.status()["vaultd"]["pid"] not in
                 (None, before["vaultd"]["pid"]) and
                 self.t.status()["vaultd"]["state"] == "running",
                 60, "vaultd restarted")
        for x in th:
            x.join(300)
        try:
            hold.logout()
        except (imaplib.IMAP4.abort, OSError, imaplib.IMAP4.error):
            pass
        self.assertGreater(len(acked), killed_at)
        got = inbox_tokens(self.t)
        lost = [tok for tok in acked if got[tok] == 0]
        self.assertEqual(lost, [], "acknowledged but not stored")
        dups = sorted(tok for tok, k in got.items() if k > 1)
        unacked = sorted(set(got) - set(acked))
        # Each duplicate was first stored without its 250 reaching the
        # client (vaultd died after the commit, before the answer).
        for tok in dups:
            self.assertGreater(tried.count(tok), 1, tok)
        print("(%d accepted, %d at the kill, %d duplicates, %d stored "
              "unacknowledged) " % (len(acked), killed_at, len(dups),
                                    len(unacked)), end="", flush=True)
