# The spool of a locked account is imported after the login is answered,
# a slice per turn of vaultd's event loop (vault_account.c): the login
# does not wait for it, the messages appear as they come in, every one
# exactly once, also when vaultd is killed in the middle and restarted.

import imaplib
import os
import re
import signal
import smtplib

from tresor import DaemonCase, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M"
PASSWORD = "correct horse battery"
N = 2000


class SpoolImport(DaemonCase):
    extra = FAST_KDF + "\nvault lock-grace 60s"
    may_exit = ("vaultd",)    # killed in the middle of an import
    password = PASSWORD

    def spool(self, user, n):
        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=60)
        try:
            for i in range(n):
                self.assertEqual(s.sendmail(
                    "x@example.org", [user],
                    "Subject: spooled %d\r\n\r\nbody %d\r\n" % (i, i)), {})
        finally:
            s.quit()

    def login(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=60)
        typ, _ = m.login(user, PASSWORD)
        self.assertEqual(typ, "OK")
        return m

    def messages(self, m):
        typ, data = m.status("INBOX", "(MESSAGES)")
        self.assertEqual(typ, "OK")
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def subjects(self, m):
        typ, _ = m.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        return [re.search(rb"Subject: spooled (\d+)", d[1]).group(1)
                for d in data if isinstance(d, tuple)]

    def assert_all_once(self, m):
        got = self.subjects(m)
        self.assertEqual(len(got), N)
        self.assertEqual(sorted(int(x) for x in got), list(range(N)))
        # In the order they arrived.
        self.assertEqual([int(x) for x in got], list(range(N)))

    def test_login_answered_before_the_import_ends(self):
        user = self.new_user()
        self.spool(user, N)
        m = self.login(user)
        try:
            # Right after the answer, the import is still going on...
            first = self.messages(m)
            self.assertLess(first, N)
            # ...and the messages appear as it goes.
            wait_for(lambda: self.messages(m) == N, 300, "the import")
            acct = re.escape(user)
            self.t.wait_log(acct + r": spool imported, %d messages" % N)
            log = self.t.logtext()
            ok = re.search(r"event=auth-success account=" + acct, log)
            done = re.search(acct + r": spool imported", log)
            unlocked = re.search(acct + r" unlocked, importing the spool",
                                 log)
            self.assertTrue(ok and done and unlocked)
            self.assertLess(unlocked.start(), done.start())
            self.assertLess(ok.start(), done.start())
            self.assert_all_once(m)
        finally:
            m.logout()

    def test_vaultd_killed_during_the_import(self):
        user = self.new_user()
        self.spool(user, N)
        m = self.login(user)
        # Some slices in, not all.
        n = wait_for(lambda: (lambda k: k if k >= 64 else 0)(
            self.messages(m)), 120, "a first slice")
        self.assertLess(n, N)
        pid = self.t.pid("vaultd")
        os.kill(pid, signal.SIGKILL)
        try:
            m.shutdown()
        except OSError:
            pass
        wait_for(lambda: self.t.pid("vaultd") not in (None, pid), 60,
                 "a new vaultd")
        self.t.wait_ready(timeout=60)
        m = wait_for(lambda: self.try_login(user), 60, "a login")
        try:
            wait_for(lambda: self.messages(m) == N, 300, "the import")
            self.assert_all_once(m)
        finally:
            m.logout()

    def try_login(self, user):
        try:
            return self.login(user)
        except (imaplib.IMAP4.error, OSError, AssertionError):
            return None


if __name__ == "__main__":
    import unittest
    unittest.main()
