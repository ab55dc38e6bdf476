# Each mailbox's pages are bound to its commit counter (issue 14, item
# 1): pages put back from an older copy of the same file, every one of
# them authentic, are refused at login like an older file; a file cut
# short on a page boundary is reported as tampering (item 8); and a
# crash never raises a false alarm.

import imaplib
import os
import re
import signal
import smtplib
import threading

from tresor import DaemonCase, wait_for

PASSWORD = "correct horse battery"
PAGE = 4096
ALICE, BOB = "alice@test.example", "bob@test.example"


class PageStateBase(DaemonCase):
    extra = "vault kdf ops 1 memory 8M\nvault lock-grace 1s"
    per_test = True
    password = PASSWORD

    def mailboxes(self):
        d = self.t.path("vault", "mailboxes")
        return set(f for f in os.listdir(d) if f.endswith(".db"))

    def add_pair(self):
        """alice and bob; returns the path of alice's mailbox file."""
        self.add_user(ALICE)
        (f,) = self.mailboxes()
        self.add_user(BOB)
        return self.t.path("vault", "mailboxes", f)

    def login(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        try:
            typ, _ = m.login(user, PASSWORD)
            return m, typ
        except imaplib.IMAP4.error as e:
            m.shutdown()
            return None, str(e)

    def assert_login(self, user):
        m, typ = self.login(user)
        self.assertEqual(typ, "OK", typ)
        return m

    def assert_refused(self, user):
        m, typ = self.login(user)
        self.assertIsNone(m, "%s logged in" % user)
        self.assertIn("UNAVAILABLE", typ)

    def flags(self, m, seq):
        typ, data = m.fetch(seq, "(FLAGS)")
        self.assertEqual(typ, "OK")
        return data[0]


class PageRollback(PageStateBase):
    def test_older_pages_put_back_are_refused(self):
        """The review's attack: a copy of alice's mailbox taken, a flag
        set, then every page that changed but the first two (the
        header and the page with the commit counter) put back from the
        copy.  Every page is authentic and the counter is the one the
        directory recorded: the digest alone tells."""
        path = self.add_pair()
        for i in range(3):
            self.deliver(ALICE, "Subject: m%d\r\n\r\nbody %d\r\n" % (i, i))
        m = self.assert_login(ALICE)
        m.select("INBOX")
        self.assertNotIn(b"\\Flagged", self.flags(m, "2"))
        m.logout()
        self.t.stop()
        with open(path, "rb") as f:
            old = f.read()

        self.t.start()
        m = self.assert_login(ALICE)
        m.select("INBOX")
        typ, _ = m.store("2", "+FLAGS", "\\Flagged")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Flagged", self.flags(m, "2"))
        m.logout()
        self.t.stop()
        with open(path, "rb") as f:
            new = bytearray(f.read())

        # Page 1 (header, schema) and page 2 (meta: the counter, the
        # first table made) stay current; the others go back.
        spliced = []
        for pg in range(2, min(len(old), len(new)) // PAGE):
            a = pg * PAGE
            if new[a:a + PAGE] != old[a:a + PAGE]:
                new[a:a + PAGE] = old[a:a + PAGE]
                spliced.append(pg + 1)
        self.assertGreaterEqual(len(spliced), 1, "no page changed")
        with open(path, "wb") as f:
            f.write(new)

        self.t.start()
        self.assert_refused(ALICE)
        self.t.wait_log(r"audit: event=mailbox-rollback account=[0-9a-f]{32}"
                        r" kind=pages counter=\d+")
        self.assertNotIn("event=tamper", self.t.logtext())
        m = self.assert_login(BOB)
        m.logout()
        print("(pages put back: %s) " % spliced, end="", flush=True)

    def test_more_messages_then_two_old_pages(self):
        """More mail and a flag after the copy; two older pages (not
        the first two) put back."""
        path = self.add_pair()
        self.deliver(ALICE, "Subject: first\r\n\r\nfirst\r\n")
        m = self.assert_login(ALICE)
        m.logout()
        self.t.stop()
        with open(path, "rb") as f:
            old = f.read()
        self.t.start()
        m = self.assert_login(ALICE)
        m.select("INBOX")
        m.store("1", "+FLAGS", "\\Flagged")
        for i in range(5):
            self.deliver(ALICE, "Subject: more %d\r\n\r\n%s\r\n" % (
                i, "text " * 400))
        m.logout()
        self.t.stop()
        with open(path, "rb") as f:
            new = bytearray(f.read())
        changed = [pg for pg in range(2, len(old) // PAGE)
                   if new[pg * PAGE:(pg + 1) * PAGE] !=
                   old[pg * PAGE:(pg + 1) * PAGE]]
        self.assertGreaterEqual(len(changed), 2, changed)
        for pg in changed[:2]:
            new[pg * PAGE:(pg + 1) * PAGE] = old[pg * PAGE:(pg + 1) * PAGE]
        with open(path, "wb") as f:
            f.write(new)
        self.t.start()
        self.assert_refused(ALICE)
        self.t.wait_log(r"audit: event=mailbox-rollback account=[0-9a-f]{32}"
                        r" kind=pages")
        m = self.assert_login(BOB)
        m.logout()

    def test_unchanged_mailbox_logs_in_again_and_again(self):
        """No false alarm: stops, restarts and locks in between writes."""
        self.add_pair()
        for round_ in range(3):
            self.deliver(ALICE, "Subject: r%d\r\n\r\nx\r\n" % round_)
            m = self.assert_login(ALICE)
            m.select("INBOX")
            m.store("1:*", "+FLAGS", "\\Seen")
            m.logout()
            # Past the lock grace: the mailbox closes (a checkpoint).
            self.t.wait_log(r"alice@test\.example locked", count=round_ + 1)
            m = self.assert_login(ALICE)
            m.logout()
            self.t.stop()
            self.t.start()
        m = self.assert_login(ALICE)
        m.logout()
        self.assertNotIn("mailbox-rollback", self.t.logtext())
        self.assertNotIn("page-state digest is no longer kept",
                         self.t.logtext())


class Truncated(PageStateBase):
    def test_cut_on_a_page_boundary(self):
        path = self.add_pair()
        for i in range(4):
            self.deliver(ALICE, "Subject: t%d\r\n\r\n%s\r\n" % (
                i, "line\r\n" * 500))
        m = self.assert_login(ALICE)
        m.logout()
        self.t.stop()
        size = os.path.getsize(path)
        self.assertGreater(size, 4 * PAGE)
        os.truncate(path, size - 2 * PAGE)
        self.t.start()
        self.assert_refused(ALICE)
        self.t.wait_log(r"audit: event=tamper db=\S*mailboxes/[0-9a-f]{32}"
                        r"\.db page=%d kind=truncated" % (size // PAGE - 1))
        self.assertNotIn("malformed", self.t.logtext())
        m = self.assert_login(BOB)
        m.logout()
        # Asking again changes nothing and crashes nothing.
        self.assert_refused(ALICE)
        self.assertEqual(self.t.status()["vaultd"]["restarts"], 0)


class Crash(PageStateBase):
    extra = "vault kdf ops 1 memory 8M\nvault lock-grace 60s"
    may_exit = ("vaultd",)

    def test_kill_during_deliveries_no_false_alarm(self):
        """vaultd killed -9 while mail goes into the open mailbox (the
        mailbox's commit may land without the directory's): alice logs
        in afterwards, with no rollback alarm."""
        self.add_pair()
        hold = self.assert_login(ALICE)
        sent, stop = [], threading.Event()

        def sender():
            while not stop.is_set():
                try:
                    s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"),
                                     timeout=30)
                    for i in range(20):
                        s.sendmail("x@example.org", [ALICE],
                                   "Subject: c%d\r\n\r\n%s\r\n" % (
                                       len(sent), "y" * 3000))
                        sent.append(1)
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    pass
        th = threading.Thread(target=sender)
        th.start()
        try:
            for kills in range(3):
                want = len(sent) + 15
                wait_for(lambda: len(sent) >= want, 120,
                         "messages delivered")
                before = self.t.status()
                os.kill(before["vaultd"]["pid"], signal.SIGKILL)
                wait_for(lambda: self.t.status(check=False) is not None
                         and self.t.status()["vaultd"]["pid"] not in
                         (None, before["vaultd"]["pid"]) and
                         self.t.status()["vaultd"]["state"] == "running",
                         60, "vaultd restarted")
                m = self.assert_login(ALICE)
                m.select("INBOX")
                m.logout()
        finally:
            stop.set()
            th.join(120)
            try:
                hold.logout()
            except (imaplib.IMAP4.abort, OSError, imaplib.IMAP4.error):
                pass
        m = self.assert_login(ALICE)
        m.logout()
        log = self.t.logtext()
        self.assertNotIn("mailbox-rollback", log)
        self.assertNotIn("page-state digest is no longer kept", log)
        self.assertIsNone(re.search(r"event=tamper db=\S*mailboxes", log))


if __name__ == "__main__":
    import unittest
    unittest.main()
