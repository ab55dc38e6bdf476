# Unlocking an account does not run on vaultd's event loop (issue 13):
# the mailbox of a locked account is opened and checked (every page
# read for its digest) on a mailbox worker, so that other accounts are
# served meanwhile (vaultd/vault_account.c, account_unlock()).
#
# The assertions are on order, not time.  TRESOR_TEST_UNLOCK_GATE names
# a file in the data directory; while it exists, vaultd holds an open
# on its worker (vaultd.8).  So while alice's unlock is held, bob's
# IMAP commands and an SMTP delivery must be answered, and alice's
# LOGIN must not be; then the gate goes and alice's LOGIN is answered.
# With the open on the loop (as before), the loop itself waits at the
# gate: bob's first command is not answered and the test fails on its
# bounded wait.
#
# The rest: two logins of one locked account whose derivations end
# while its mailbox opens share the one open; mail delivered meanwhile
# is sealed into the spool and imported right after; a deletion or a
# stop while the open is held abandons it (the keys wiped, no hang).

import os
import re
import socket

from tresor import DaemonCase, TaggedImap, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M"
PASSWORD = "correct horse battery"
ALICE = "alice@test.example"
BOB = "bob@test.example"
GATE = "unlock.gate"
ENV = "TRESOR_TEST_UNLOCK_GATE"
TIMEOUT = 30


class Imap(TaggedImap):
    """The shared tagged client, with this file's timeout."""

    def __init__(self, t):
        super().__init__(t, TIMEOUT)

    def login(self, user):
        return self.send('LOGIN "%s" "%s"' % (user, PASSWORD))

    def nothing_yet(self):
        """True if no byte has come since the last answer."""
        s = self.c.sock
        s.setblocking(False)
        try:
            data = s.recv(4096, socket.MSG_PEEK)
        except BlockingIOError:
            data = None
        finally:
            s.settimeout(TIMEOUT)
        return data is None


class Unlock(DaemonCase):
    extra = FAST_KDF + "\nvault lock-grace 30s"
    per_test = True

    def setUp(self):
        # The gate's name reaches vaultd through ctld's environment.
        os.environ[ENV] = GATE
        try:
            super().setUp()
        finally:
            del os.environ[ENV]
        self.gate = self.t.path("vault", GATE)
        # Never leave vaultd waiting at the gate (it gives up anyway).
        self.addCleanup(self.open_gate)
        self.t.add_user(ALICE, PASSWORD)
        self.t.add_user(BOB, PASSWORD)
        self.clients = []
        self.addCleanup(self.close_clients)

    def close_clients(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass

    def imap(self):
        c = Imap(self.t)
        self.clients.append(c)
        return c

    def close_gate(self):
        with open(self.gate, "w"):
            pass

    def open_gate(self):
        try:
            os.unlink(self.gate)
        except FileNotFoundError:
            pass

    def count(self, pattern):
        return len(re.findall(pattern, self.t.logtext()))

    def hold_unlock(self, client):
        """Alice's LOGIN sent on client, her open held at the gate."""
        opening = self.count(re.escape(ALICE) + r": opening the mailbox")
        self.close_gate()
        tag = client.login(ALICE)
        self.t.wait_log(re.escape(ALICE) + r": opening the mailbox",
                        count=opening + 1, timeout=TIMEOUT)
        return tag

    def test_unlock_does_not_hold_back_others(self):
        # Mail that waits for alice, who has never logged in.
        self.deliver(ALICE, "Subject: old\r\n\r\nbefore\r\n")
        self.deliver(BOB, "Subject: first\r\n\r\nbefore\r\n")
        b = self.imap()
        self.assertTrue(b.cmd('LOGIN "%s" "%s"' % (BOB, PASSWORD))[1]
                        .startswith("OK"))
        self.assertTrue(b.cmd("SELECT INBOX")[1].startswith("OK"))

        a1, a2 = self.imap(), self.imap()
        t1 = self.hold_unlock(a1)
        # Bob, meanwhile: FETCH (the vault's work), NOOP, a delivery
        # with its 250, and the new message.
        untagged, res = b.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS "
                              "(SUBJECT)])")
        self.assertTrue(res.startswith("OK"), res)
        self.assertIn("Subject: first", "\n".join(untagged))
        self.assertTrue(b.cmd("NOOP")[1].startswith("OK"))
        self.deliver(BOB, "Subject: during\r\n\r\nwhile alice opens\r\n")
        # Its 250 came once sealed; a NOOP after the import's commit
        # says EXISTS 2.
        seen = []

        def exists2():
            untagged, res = b.cmd("NOOP")
            self.assertTrue(res.startswith("OK"), res)
            seen.extend(untagged)
            return any(re.match(r"\* 2 EXISTS", x) for x in seen)
        wait_for(exists2, TIMEOUT, "bob's EXISTS 2")
        untagged, res = b.cmd("FETCH 2 (BODY.PEEK[HEADER.FIELDS "
                              "(SUBJECT)])")
        self.assertTrue(res.startswith("OK"), res)
        self.assertIn("Subject: during", "\n".join(untagged))
        # Mail for alice while her mailbox opens: into her spool.
        sealed = self.count(re.escape(ALICE) + r": sealed into the spool")
        self.deliver(ALICE, "Subject: sealed\r\n\r\nwhile opening\r\n")
        self.t.wait_log(re.escape(ALICE) + r": sealed into the spool",
                        count=sealed + 1, timeout=TIMEOUT)

        # A second login of the same account, its key derived while
        # the first's open is held: it waits for that open.
        waiting = self.count(re.escape(ALICE) +
                             r": waiting for the mailbox's open")
        t2 = a2.login(ALICE)
        self.t.wait_log(re.escape(ALICE) +
                        r": waiting for the mailbox's open",
                        count=waiting + 1, timeout=TIMEOUT)
        # (vaultd's lines come in order: an open started before that
        # line would be in the log by now.)
        self.assertEqual(self.count(re.escape(ALICE) +
                                    r": opening the mailbox"), 1)

        # ... and neither of alice's logins has been answered.
        self.assertTrue(a1.nothing_yet(), "alice's login answered")
        self.assertTrue(a2.nothing_yet(), "alice's second login answered")
        self.assertEqual(self.count(re.escape(ALICE) + r" unlocked"), 0)

        self.open_gate()
        self.assertTrue(a1.done(t1)[1].startswith("OK"))
        self.assertTrue(a2.done(t2)[1].startswith("OK"))
        self.t.wait_log(re.escape(ALICE) + r" unlocked", timeout=TIMEOUT)
        untagged, res = a1.cmd("SELECT INBOX")
        self.assertTrue(res.startswith("OK"), res)
        self.assertIn("* 2 EXISTS", untagged)
        self.assertTrue(a2.cmd("SELECT INBOX")[1].startswith("OK"))
        untagged, res = a2.cmd("FETCH 2 (BODY.PEEK[HEADER.FIELDS "
                               "(SUBJECT)])")
        self.assertTrue(res.startswith("OK"), res)
        self.assertIn("Subject: sealed", "\n".join(untagged))
        # One open for both logins.
        self.t.wait_log(re.escape(ALICE) + r": spool imported, 2 messages",
                        timeout=TIMEOUT)
        self.assertEqual(self.count(re.escape(ALICE) + r" unlocked"), 1)

    def test_delete_while_opening(self):
        b = self.imap()
        self.assertTrue(b.cmd('LOGIN "%s" "%s"' % (BOB, PASSWORD))[1]
                        .startswith("OK"))
        a = self.imap()
        tag = self.hold_unlock(a)
        # The gate is still closed: the deletion does not wait for it.
        self.t.ctl("user", "del", ALICE)
        self.t.wait_log(re.escape(ALICE) + r": unlock abandoned",
                        timeout=TIMEOUT)
        _, res = a.done(tag)
        self.assertTrue(res.startswith("NO"), res)
        self.assertTrue(os.path.exists(self.gate))
        self.assertNotRegex(self.t.logtext(),
                            re.escape(ALICE) + r" unlocked")
        # Bob is not disturbed.
        self.assertTrue(b.cmd("SELECT INBOX")[1].startswith("OK"))

    def test_stop_while_opening(self):
        a = self.imap()
        self.hold_unlock(a)
        # A clean stop with the gate closed: the open is abandoned.
        self.assertEqual(self.t.stop(), 0)
        self.assertRegex(self.t.logtext(),
                         re.escape(ALICE) + r": unlock abandoned")
