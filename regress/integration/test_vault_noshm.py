# No -shm file in the vault (issue 14, item 8): vaultd opens its
# databases with locking_mode=EXCLUSIVE, so SQLite keeps each WAL index
# in vaultd's memory.  An -shm file beside a database would hold the
# unmasked checksum of its last WAL frame and page numbers, and could
# be written to by anyone who can write the directory.

import imaplib
import os
import signal

from tresor import DaemonCase, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"


class NoShm(DaemonCase):
    extra = FAST_KDF
    per_test = True
    password = PASSWORD
    may_exit = ("vaultd",)

    def vault_files(self, suffix):
        found = []
        for root, dirs, files in os.walk(self.t.path("vault")):
            found += [os.path.join(root, f) for f in files
                      if f.endswith(suffix)]
        return found

    def assert_no_shm(self, when):
        # Some database is in WAL mode right now, so an index exists
        # somewhere: in memory, not on disk.
        self.assertNotEqual(self.vault_files(".db-wal"), [], when)
        self.assertEqual(self.vault_files("-shm"), [], when)

    def login(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        typ, _ = m.login(user, PASSWORD)
        self.assertEqual(typ, "OK")
        return m

    def use_mailbox(self, user, expect):
        m = self.login(user)
        try:
            typ, data = m.select("INBOX")
            self.assertEqual(typ, "OK")
            self.assertEqual(int(data[0]), expect)
            m.store("1", "+FLAGS", "\\Seen")
            m.append("INBOX", None, None,
                     b"Subject: appended\r\n\r\nBy IMAP.\r\n")
            self.assert_no_shm("with %s's mailbox open" % user)
        finally:
            m.logout()

    def test_no_shm_after_deliveries_logins_restarts(self):
        alice = self.new_user(["Subject: one\r\n\r\nOne.\r\n",
                               "Subject: two\r\n\r\nTwo.\r\n"])
        bob = self.new_user(["Subject: three\r\n\r\nThree.\r\n"])
        self.assert_no_shm("after deliveries")
        self.use_mailbox(alice, 2)
        self.use_mailbox(bob, 1)
        self.deliver(alice, "Subject: four\r\n\r\nWhile unlocked.\r\n")
        self.assert_no_shm("after a delivery to an unlocked mailbox")

        # vaultd killed with its databases open: recovery on restart.
        pid = self.t.pid("vaultd")
        os.kill(pid, signal.SIGKILL)

        def back():
            st = self.t.status(check=False)
            return (st is not None and
                    st["vaultd"]["state"] == "running" and
                    st["vaultd"]["pid"] != pid)
        wait_for(back, 30, "vaultd restarted")
        self.assertEqual(self.vault_files("-shm"), [])
        self.use_mailbox(alice, 4)
        self.deliver(bob, "Subject: five\r\n\r\nAfter the restart.\r\n")
        self.use_mailbox(bob, 3)

        # And across a restart of the whole server.
        self.t.stop()
        self.assertEqual(self.vault_files("-shm"), [])
        self.t.start()
        self.use_mailbox(alice, 5)
        self.assert_no_shm("after a restart")
