# A flood of failing logins must not stall other accounts (issue 13).
#
# Argon2id is slow on purpose.  vaultd runs it on a pool of worker
# threads (vaultd/vault_kdf.c), so while a flood of logins for accounts
# that do not exist waits for its KDF work, an account that is already
# unlocked is still served: IMAP NOOP and FETCH, a second LOGIN with the
# same password (checked by its verifier, no Argon2id), and an SMTP
# delivery into it.
#
# The assertion is about order, not time: vaultd writes the audit line
# "auth-failure" of a flood login when it answers it, into the log file
# the test shares with the daemons (O_APPEND).  When the unlocked
# account's work is done, the test writes a marker line into the same
# file; at most half of the flood's answers may come before the marker.
# With Argon2id on the event loop (before this change) every flood
# login is answered before the FETCH can be, so all of them come first
# and the test fails.
#
# The configuration raises the KDF cost of the other tests (1 pass,
# 8 MiB, a few ms) to 1 pass of 64 MiB, a fifth of a second or so here:
# enough for the flood to keep the pool busy for a couple of seconds.
# Every socket has a timeout and every wait a deadline; loopback only.
#
# The last class: ctl's Argon2id (user add) is on the pool as well, held
# there by the KDF gate while the logged-in account is served.

import os
import re
import smtplib
import subprocess
import threading
import time

from tresor import DaemonCase, TaggedImap, wait_for

PASSWORD = "correct horse battery"
FLOOD = 10
TIMEOUT = 60
MARKER = "TEST-MARK unlocked account served"


class KdfFlood(DaemonCase):
    extra = "vault kdf ops 1 memory 64M\nvault lock-grace 30s"

    def flood_answers(self):
        return len(re.findall(r"audit: event=auth-failure "
                              r"account=flood\d+@test\.example",
                              self.t.logtext()))

    def test_unlocked_account_served_during_flood(self):
        user = "owner@test.example"
        self.add_user(user, PASSWORD)
        self.deliver(user, "Subject: first\r\n\r\nbefore the flood\r\n")

        # Unlock the account and keep it open.
        good = TaggedImap(self.t, TIMEOUT)
        self.addCleanup(good.close)
        _, r = good.cmd("LOGIN %s \"%s\"" % (user, PASSWORD))
        self.assertTrue(r.startswith("OK"), r)
        _, r = good.cmd("SELECT INBOX")
        self.assertTrue(r.startswith("OK"), r)

        # The flood: logins for accounts that do not exist, each one
        # a dummy Argon2id run in vaultd.
        flood = []
        for i in range(FLOOD):
            c = TaggedImap(self.t, TIMEOUT)
            self.addCleanup(c.close)
            flood.append(c)
        answers = [None] * FLOOD

        def wait_answer(i, c, tag):
            try:
                answers[i] = c.done(tag)[1]
            except Exception as e:      # reported by the main thread
                answers[i] = "error: %r" % e

        threads = []
        for i, c in enumerate(flood):
            tag = c.send("LOGIN flood%d@test.example \"wrong %d\"" % (i, i))
            th = threading.Thread(target=wait_answer, args=(i, c, tag),
                                  daemon=True)
            th.start()
            threads.append(th)
        # Let imapd pass the flood on to vaultd before our commands:
        # not a measurement, only so that the flood is ahead in line.
        time.sleep(0.1)
        before = self.flood_answers()

        # The unlocked account's work, while the flood waits.
        u, r = good.cmd("NOOP")
        self.assertTrue(r.startswith("OK"), r)
        u, r = good.cmd("FETCH 1 (BODY.PEEK[])")
        self.assertTrue(r.startswith("OK"), r)
        self.assertIn("before the flood", "\n".join(u))

        again = TaggedImap(self.t, TIMEOUT)
        self.addCleanup(again.close)
        _, r = again.cmd("LOGIN %s \"%s\"" % (user, PASSWORD))
        self.assertTrue(r.startswith("OK"), r)

        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=TIMEOUT)
        try:
            self.assertEqual(s.sendmail(
                "x@example.org", [user],
                "Subject: second\r\n\r\nduring the flood\r\n"), {})
        finally:
            s.quit()
        # The delivery reaches the open session (EXISTS) at a NOOP.
        wait_for(lambda: "* 2 EXISTS" in good.cmd("NOOP")[0], TIMEOUT,
                 "the delivered message in the open mailbox")
        u, r = good.cmd("FETCH 2 (BODY.PEEK[])")
        self.assertTrue(r.startswith("OK"), r)
        self.assertIn("during the flood", "\n".join(u))

        # The marker goes into the log the daemons write, after
        # everything above was answered.
        with open(self.t.logpath, "a") as f:
            f.write(MARKER + "\n")
        at_marker = self.flood_answers()

        # Now the flood ends, every login refused.
        for th in threads:
            th.join(TIMEOUT)
            self.assertFalse(th.is_alive(), "a flood login got no answer")
        for a in answers:
            self.assertTrue(a is not None and a.startswith("NO"), a)
        wait_for(lambda: self.flood_answers() == FLOOD, TIMEOUT,
                 "every flood login answered by vaultd")

        log = self.t.logtext()
        head = log[:log.index(MARKER)]
        answered_first = len(re.findall(
            r"audit: event=auth-failure account=flood\d+@test\.example",
            head))
        if os.environ.get("TRESOR_TEST_VERBOSE"):
            print("\nflood logins answered by vaultd before the unlocked "
                  "account's commands started: %d, when they were done: "
                  "%d of %d" % (before, answered_first, FLOOD))
        self.assertEqual(answered_first, at_marker)
        self.assertLessEqual(
            answered_first, FLOOD // 2,
            "%d of %d flood logins were answered before the unlocked "
            "account's commands (%d before they started): the flood "
            "stalled the vault" % (answered_first, FLOOD, before))
        self.assertIn("kdf: ", log)


class KdfFloodReturning(DaemonCase):
    """A locked account whose owner comes back from an address it logged
    in from before: its Argon2id run goes before the flood's (the known
    class of vault_kdfq.c), though the flood came first and from the
    same network.  Before the classes it waited behind every one."""
    extra = "vault kdf ops 1 memory 64M\nvault lock-grace 1s"

    def test_returning_client_goes_first(self):
        user = "home@test.example"
        self.add_user(user, PASSWORD)
        c = TaggedImap(self.t, TIMEOUT)
        _, r = c.cmd("LOGIN %s \"%s\"" % (user, PASSWORD))
        self.assertTrue(r.startswith("OK"), r)
        c.cmd("LOGOUT")
        c.close()
        self.t.wait_log(r"home@test\.example locked", timeout=TIMEOUT)

        flood = []
        for i in range(FLOOD):
            f = TaggedImap(self.t, TIMEOUT)
            self.addCleanup(f.close)
            flood.append((f, f.send("LOGIN flood%d@test.example "
                                    "\"wrong %d\"" % (i, i))))
        # Only so that the flood is ahead in line; not a measurement.
        time.sleep(0.1)
        home = TaggedImap(self.t, TIMEOUT)
        self.addCleanup(home.close)
        _, r = home.cmd("LOGIN %s \"%s\"" % (user, PASSWORD))
        self.assertTrue(r.startswith("OK"), r)
        for f, tag in flood:
            _, r = f.done(tag)
            self.assertTrue(r.startswith("NO"), r)
        wait_for(lambda: len(re.findall(
            r"audit: event=auth-failure account=flood\d+@test\.example",
            self.t.logtext())) == FLOOD, TIMEOUT, "every flood answer")
        log = self.t.logtext()
        at = [m.start() for m in re.finditer(
            r"audit: event=auth-success account=home@test\.example", log)]
        self.assertEqual(len(at), 2, "two logins of home")
        before = len(re.findall(
            r"audit: event=auth-failure account=flood\d+@test\.example",
            log[:at[1]]))
        self.assertLessEqual(before, FLOOD // 2,
                             "%d of %d flood logins went before the "
                             "returning client" % (before, FLOOD))


class KdfWorkersIdlePolicy(DaemonCase):
    """The KDF workers run under SCHED_IDLE (vault_kdf.c): Argon2id
    takes what the mail leaves idle.  Read from /proc of the running,
    sandboxed vaultd, so the seccomp rule that lets a worker change its
    own policy is exercised too: were the call refused, vaultd would die
    of SIGSYS or log "kdf: sched_setscheduler"."""

    SCHED_IDLE = 5

    def test_workers_are_idle_class(self):
        pid = self.t.pid("vaultd")
        self.assertIsNotNone(pid)

        def policies():
            return self.t.thread_field("vaultd", 41)

        # The workers start with the first configuration; each changes
        # its policy before its first job.
        wait_for(lambda: sum(1 for v in policies().values()
                             if v == self.SCHED_IDLE) >= 2,
                 TIMEOUT, "two vaultd threads under SCHED_IDLE")
        self.assertEqual(policies()[pid], 0, "the loop stays SCHED_OTHER")
        self.assertNotIn("kdf: sched_setscheduler", self.t.logtext())


class AdminKdfOffTheLoop(DaemonCase):
    """ctl's Argon2id runs on the KDF pool too (vaultd/vault_admin.c):
    while `ctl user add` for another address waits for its keyslots, an
    account logged in over IMAP is served, and ctl has not returned.

    Order, not time: TRESOR_TEST_KDF_GATE names a file in the data
    directory; while it exists, vaultd holds every KDF job on its worker
    (vaultd.8).  vaultd logs when the add's keyslots go to the pool;
    then the logged-in account's NOOP and FETCH must be answered while
    ctl still waits; then the gate goes and ctl prints the new account.
    With the add's Argon2id on the loop (before), the gate held nothing,
    the log line never came and the test failed on its bounded wait."""
    extra = "vault kdf ops 1 memory 8M\nvault lock-grace 30s"
    per_test = True
    gate_name = "kdf.gate"

    def setUp(self):
        # The gate's name reaches vaultd through ctld's environment.
        os.environ["TRESOR_TEST_KDF_GATE"] = self.gate_name
        try:
            super().setUp()
        finally:
            del os.environ["TRESOR_TEST_KDF_GATE"]
        self.gate = self.t.path("vault", self.gate_name)
        # Never leave vaultd waiting at the gate (it gives up anyway).
        self.addCleanup(self.open_gate)

    def open_gate(self):
        try:
            os.unlink(self.gate)
        except FileNotFoundError:
            pass

    def test_user_add_does_not_hold_imap(self):
        user, new = "owner@test.example", "newcomer@test.example"
        self.add_user(user, PASSWORD)
        self.deliver(user, "Subject: first\r\n\r\nbefore the add\r\n")
        good = TaggedImap(self.t, TIMEOUT)
        self.addCleanup(good.close)
        _, r = good.cmd("LOGIN %s \"%s\"" % (user, PASSWORD))
        self.assertTrue(r.startswith("OK"), r)
        _, r = good.cmd("SELECT INBOX")
        self.assertTrue(r.startswith("OK"), r)

        with open(self.gate, "w"):
            pass
        ctl = subprocess.Popen(
            [self.t.ctl_path, "-s", self.t.sock, "user", "add", new,
             "--stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.t.env())

        def reap():
            if ctl.poll() is None:
                ctl.kill()
            ctl.wait(TIMEOUT)
            ctl.stdout.close()
            ctl.stderr.close()
        self.addCleanup(reap)
        ctl.stdin.write(("another long password\n").encode())
        ctl.stdin.close()
        self.t.wait_log(re.escape(new) + r": user add: its keyslots go "
                        r"to the KDF pool", timeout=TIMEOUT)

        # The logged-in account, meanwhile.
        _, r = good.cmd("NOOP")
        self.assertTrue(r.startswith("OK"), r)
        u, r = good.cmd("FETCH 1 (BODY.PEEK[])")
        self.assertTrue(r.startswith("OK"), r)
        self.assertIn("before the add", "\n".join(u))
        self.assertIsNone(ctl.poll(), "ctl returned while its keyslots "
                          "were held in the KDF pool")
        self.assertNotIn("account-add account=" + new, self.t.logtext())

        self.open_gate()
        # Its answer is a few lines: they fit in the pipes meanwhile.
        ctl.wait(TIMEOUT)
        out, err = ctl.stdout.read().decode(), ctl.stderr.read().decode()
        self.assertEqual(ctl.returncode, 0, err)
        self.assertIn(new + " created.", out)
        self.t.wait_log(r"audit: event=account-add account=" +
                        re.escape(new), timeout=TIMEOUT)
        c = TaggedImap(self.t, TIMEOUT)
        self.addCleanup(c.close)
        _, r = c.cmd("LOGIN %s \"another long password\"" % new)
        self.assertTrue(r.startswith("OK"), r)

    def test_stop_while_held(self):
        # A clean stop with an add's keyslots held: it is abandoned,
        # unanswered, and vaultd does not wait for the gate.
        with open(self.gate, "w"):
            pass
        ctl = subprocess.Popen(
            [self.t.ctl_path, "-s", self.t.sock, "user", "add",
             "held@test.example", "--stdin"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=self.t.env())
        self.addCleanup(lambda: ctl.poll() is None and ctl.kill())
        ctl.stdin.write(b"another long password\n")
        ctl.stdin.close()
        self.t.wait_log(r"held@test\.example: user add: its keyslots go "
                        r"to the KDF pool", timeout=TIMEOUT)
        self.assertEqual(self.t.stop(), 0)
        self.assertIn("held@test.example: user-add abandoned: vaultd "
                      "stops", self.t.logtext())
        self.assertNotEqual(ctl.wait(TIMEOUT), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
