# The vault through the real daemons: accounts, keyslots and logins
# managed with ctl, checked with IMAP logins, tampering detected.

import ctypes
import imaplib
import os
import re
import resource
import time
import unittest

from tresor import LISTENERS, MEMORY_LOCKS, DaemonCase, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"


class VaultBase(DaemonCase):
    """A fresh Tresor per test: the tests stop it, damage its files and
    lock accounts out."""
    extra = FAST_KDF
    per_test = True

    def ctl_in(self, stdin, *args, check=True):
        return self.t.ctl(*(args + ("--stdin",)), stdin=stdin, timeout=60,
                          check=check)

    def add_user(self, address, password=PASSWORD):
        """Returns the recovery key that ctl printed."""
        out = super().add_user(address, password)
        m = re.search(r"^  ([A-Z2-7]{4}(-[A-Z2-7]{4}){12})$", out, re.M)
        self.assertIsNotNone(m, out)
        return m.group(1)

    def login(self, user, password):
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        try:
            typ, data = m.login(user, password)
            return m, typ
        except imaplib.IMAP4.error as e:
            m.shutdown()
            return None, str(e)


class Accounts(VaultBase):
    def test_domains(self):
        out, _, _ = self.t.ctl("domain", "list")
        self.assertIn("test.example", out.split())   # from the config
        self.t.ctl("domain", "add", "other.example")
        out, _, _ = self.t.ctl("domain", "list")
        self.assertIn("other.example", out.split())
        out, err, rc = self.t.ctl("domain", "add", "not a domain",
                                  check=False)
        self.assertEqual(rc, 1)
        self.assertIn("invalid", err)
        self.add_user("bob@other.example")
        out, err, rc = self.t.ctl("domain", "del", "other.example",
                                  check=False)
        self.assertEqual(rc, 1)
        self.assertIn("still in use", err)
        self.t.ctl("user", "del", "bob@other.example")
        self.t.ctl("domain", "del", "other.example")
        out, _, _ = self.t.ctl("domain", "list")
        self.assertNotIn("other.example", out.split())

    def test_user_add_errors(self):
        self.add_user("alice@test.example")
        for args, stdin, want in (
                (("user", "add", "alice@test.example"), PASSWORD + "\n",
                 "already exists"),
                (("user", "add", "carol@test.example"), "short\n",
                 "at least 8"),
                (("user", "add", "carol@nowhere.example"), PASSWORD + "\n",
                 "not ours"),
                (("user", "add", "no-at-sign"), PASSWORD + "\n",
                 "not a valid address")):
            out, err, rc = self.ctl_in(stdin, *args, check=False)
            self.assertEqual(rc, 1, args)
            self.assertIn(want, err, args)
        out, _, _ = self.t.ctl("user", "list")
        self.assertEqual([l.split()[0] for l in out.splitlines()],
                         ["alice@test.example"])

    def test_login_password_recovery_apppass(self):
        rk = self.add_user("alice@test.example")
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertEqual(typ, "OK")
        m.logout()
        # Case does not matter in the address.
        m, typ = self.login("Alice@Test.Example", PASSWORD)
        self.assertEqual(typ, "OK")
        m.logout()
        # The recovery key, in any case and with or without dashes.
        m, typ = self.login("alice@test.example",
                            rk.lower().replace("-", " "))
        self.assertEqual(typ, "OK")
        m.logout()
        # App passwords: shown once, work, can be listed and revoked.
        out, _, _ = self.ctl_in(PASSWORD + "\n", "apppass", "add",
                                "alice@test.example", "phone")
        ap = re.search(r"^  ([a-z2-9]{4}(-[a-z2-9]{4}){3})$", out,
                       re.M).group(1)
        m, typ = self.login("alice@test.example", ap)
        self.assertEqual(typ, "OK")
        m.logout()
        out, _, _ = self.t.ctl("apppass", "list", "alice@test.example")
        self.assertIn("phone", out)
        self.t.ctl("apppass", "del", "alice@test.example", "phone")
        time.sleep(3)       # past the lock grace: no cached verifier
        m, typ = self.login("alice@test.example", ap)
        self.assertIsNone(m)
        self.assertIn("AUTHENTICATIONFAILED", typ)
        # A wrong credential is refused for apppass add.
        out, err, rc = self.ctl_in("wrong password\n", "apppass", "add",
                                   "alice@test.example", "tablet",
                                   check=False)
        self.assertEqual(rc, 1)
        self.assertIn("wrong password", err)

    def test_passwd(self):
        rk = self.add_user("alice@test.example")
        new = "a new and long password"
        out, err, rc = self.ctl_in("not it\n" + new + "\n", "user",
                                   "passwd", "alice@test.example",
                                   check=False)
        self.assertEqual(rc, 1)
        # With the recovery key (the password is forgotten).
        self.ctl_in(rk + "\n" + new + "\n", "user", "passwd",
                    "alice@test.example")
        time.sleep(3)
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertIsNone(m)
        m, typ = self.login("alice@test.example", new)
        self.assertEqual(typ, "OK")
        m.logout()

    def test_unlock_imports_a_large_spool(self):
        # Enough spooled messages that the import sorts them with a
        # heap buffer (glibc's qsort then asks sysinfo(2)).
        import smtplib
        self.add_user("alice@test.example")
        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=30)
        for i in range(200):
            s.sendmail("x@example.org", ["alice@test.example"],
                       "Subject: %d\r\n\r\nbody %d\r\n" % (i, i))
        s.quit()
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertEqual(typ, "OK")
        m.logout()
        self.t.wait_log(r"alice@test\.example: spool imported, 200 "
                        r"messages")
        self.assertEqual(self.t.status()["vaultd"]["restarts"], 0)

    def test_user_del_destroys(self):
        self.add_user("alice@test.example")
        mboxdir = self.t.path("vault", "mailboxes")
        self.assertEqual(len(os.listdir(mboxdir)), 1)
        self.t.ctl("user", "del", "alice@test.example")
        self.assertEqual(os.listdir(mboxdir), [])
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertIsNone(m)
        self.t.wait_log(r"audit: event=account-del "
                        r"account=alice@test\.example")

    def test_secrets_never_logged_or_stored_in_clear(self):
        rk = self.add_user("alice@test.example")
        m, typ = self.login("alice@test.example", PASSWORD)
        m.logout()
        self.login("alice@test.example", "wrong secret xyz")
        self.t.wait_log(r"audit: event=auth-failure "
                        r"account=alice@test\.example")
        log = self.t.logtext()
        for secret in (PASSWORD, "wrong secret xyz", rk,
                       rk.replace("-", "")):
            self.assertNotIn(secret, log)
        # Nothing of the account in clear anywhere in the data.
        needles = [PASSWORD.encode(), rk.encode(),
                   rk.replace("-", "").encode(), b"alice"]
        for root, _, files in os.walk(self.t.path("vault")):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    data = fh.read()
                for n in needles:
                    self.assertNotIn(n, data, os.path.join(root, f))


class Limits(VaultBase):
    def test_lockout_and_no_password_before_tls(self):
        self.add_user("alice@test.example")
        fails = 0
        while fails < 5:
            m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
            for _ in range(min(3, 5 - fails)):
                try:
                    m.login("alice@test.example", "bad password %d" % fails)
                    self.fail("login with a bad password worked")
                except imaplib.IMAP4.error as e:
                    self.assertIn("AUTHENTICATIONFAILED", str(e))
                fails += 1
            m.shutdown()
        self.t.wait_log(r"audit: event=auth-lockout "
                        r"account=alice@test\.example")
        # Locked out: even the right password is refused now.
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertIsNone(m)
        self.assertIn("UNAVAILABLE", typ)
        # The implicit-TLS port without plaintext-auth is fine; a
        # plaintext listener without plaintext-auth refuses passwords.

    def test_pipelined_after_login_waits(self):
        self.add_user("alice@test.example")
        c = self.t.connect("imap")
        c.line()
        c.send('a LOGIN alice@test.example "%s"\r\nb NOOP\r\n' % PASSWORD)
        first = c.line()
        self.assertTrue(first.startswith("a OK"), first)
        self.assertEqual(c.line(), "b OK NOOP completed")
        c.close()

    def test_auth_plain_sasl_ir(self):
        self.add_user("alice@test.example")
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        typ, _ = m.authenticate(
            "PLAIN", lambda _: b"\0alice@test.example\0" +
            PASSWORD.encode())
        self.assertEqual(typ, "OK")
        m.logout()
        c = self.t.connect("imap")
        c.line()
        self.assertEqual(c.cmd("a AUTHENTICATE PLAIN !!!"),
                         "a BAD Invalid base64")
        self.assertRegex(c.cmd("b AUTHENTICATE PLAIN"), r"^\+")
        self.assertEqual(c.cmd("*"), "b BAD Authentication cancelled")
        import base64
        bad = base64.b64encode(b"bob@test.example\0alice@test.example\0"
                               + PASSWORD.encode()).decode()
        self.assertEqual(c.cmd("c AUTHENTICATE PLAIN " + bad),
                         "c NO [AUTHORIZATIONFAILED] Cannot act as "
                         "another user")
        self.assertEqual(c.cmd("d AUTHENTICATE CRAM-MD5"),
                         "d NO Unsupported mechanism")
        c.close()


class NoPlaintextAuth(VaultBase):
    """A loopback STARTTLS listener without plaintext-auth."""
    listeners = tuple((n, p, tls, False) for n, p, tls, _ in LISTENERS)

    def test_login_needs_tls(self):
        self.add_user("alice@test.example")
        c = self.t.connect("imap")
        self.assertIn("LOGINDISABLED", c.line())
        self.assertEqual(c.cmd('a LOGIN alice@test.example "x"'),
                         "a NO [PRIVACYREQUIRED] Use TLS to log in")
        c.close()
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        from tresor import client_tls
        m.starttls(ssl_context=client_tls())
        typ, _ = m.login("alice@test.example", PASSWORD)
        self.assertEqual(typ, "OK")
        m.logout()


class CleanStop(VaultBase):
    def test_stop_leaves_no_database_in_its_log(self):
        """A stopped vault's *.db files hold everything: no -wal file is
        left with content (issue 14, 5), so a backup of directory.db and
        the mailboxes without their logs loses no account, key or
        message."""
        self.add_user("alice@test.example")
        self.deliver("alice@test.example",
                     "Subject: kept\r\n\r\nKept across a stop.\r\n")
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertEqual(typ, "OK")
        m.select("INBOX")
        m.store("1", "+FLAGS", "\\Flagged")
        # Every file of the vault is vaultd's alone (issue 14, 8).
        vault = self.t.path("vault")
        for root, dirs, files in os.walk(vault):
            for f in dirs + files:
                mode = os.stat(os.path.join(root, f)).st_mode
                self.assertEqual(mode & 0o077, 0,
                                 "%s is %o" % (f, mode & 0o777))
        # Stop while alice is unlocked, her mailbox open.
        self.t.stop()
        m.shutdown()
        vault = self.t.path("vault")
        logs = []
        for d in (vault, os.path.join(vault, "mailboxes")):
            for f in os.listdir(d):
                if f.endswith("-wal") or f.endswith("-shm"):
                    path = os.path.join(d, f)
                    logs.append((f, os.path.getsize(path)))
                    os.unlink(path)
        self.assertEqual([x for x in logs if x[0].endswith("-wal") and
                          x[1] > 0], [], logs)
        # Only the *.db files: the account, its key and the flag are
        # there.
        self.t.start()
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertEqual(typ, "OK", typ)
        try:
            typ, data = m.select("INBOX")
            self.assertEqual(data, [b"1"])
            typ, data = m.fetch("1", "(FLAGS)")
            self.assertIn(b"\\Flagged", data[0])
        finally:
            m.logout()
        out, _, _ = self.t.ctl("user", "list")
        self.assertIn("alice@test.example", out)


def no_memlock():
    """In ctld's process before exec: a small RLIMIT_MEMLOCK that it and
    its children cannot lift (no CAP_SYS_RESOURCE), as in a container
    without it."""
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (65536, 65536))
    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP, CAP_SYS_RESOURCE = 24, 24
    if libc.prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl PR_CAPBSET_DROP")


class MemoryLocked(VaultBase):
    def test_status_says_memory_locked(self):
        """ctl status shows whether vaultd's memory is locked (issue 14,
        6): it is where the machine lets it lift RLIMIT_MEMLOCK, in a
        build without sanitizers."""
        st = self.t.status()
        self.assertEqual(st["vaultd"]["memory"],
                         "locked" if MEMORY_LOCKS else "NOT-LOCKED")
        for role in ("ctld", "smtpd", "imapd"):
            self.assertEqual(st[role]["memory"], "-")


class MemoryNotLocked(VaultBase):
    """Without locked memory the vault stays closed, unless told."""
    allow_unlocked_memory = False
    preexec = no_memlock

    def test_vault_stays_closed(self):
        self.t.wait_log(r"memory cannot be locked: the vault stays closed")
        self.assertEqual(self.t.status()["vaultd"]["memory"], "NOT-LOCKED")
        out, err, rc = self.t.ctl("user", "add", "alice@test.example",
                                  "--stdin", stdin="%s\n%s\n" % (
                                      PASSWORD, PASSWORD), check=False)
        self.assertEqual(rc, 1)
        self.assertIn("not open", err)


class MemoryNotLockedAllowed(VaultBase):
    allow_unlocked_memory = True
    preexec = no_memlock

    def test_vault_opens_when_allowed(self):
        self.t.wait_log(r"memory is not locked: keys may reach swap")
        self.assertEqual(self.t.status()["vaultd"]["memory"], "NOT-LOCKED")
        self.add_user("alice@test.example")
        m, typ = self.login("alice@test.example", PASSWORD)
        self.assertEqual(typ, "OK")
        m.logout()


class Tamper(VaultBase):
    def test_tampered_mailbox_refused_others_fine(self):
        self.add_user("alice@test.example")
        self.add_user("bob@test.example")
        st = self.t.status()
        # Stop the vault's writers, then flip a byte in alice's mailbox.
        self.t.stop()
        mboxdir = self.t.path("vault", "mailboxes")
        files = sorted(f for f in os.listdir(mboxdir) if f.endswith(".db"))
        self.assertEqual(len(files), 2)
        # Which file is alice's is not visible from outside; damage
        # both's second page differently and check each login fails
        # alone: damage one, check, restore, damage the other.
        for f in files:
            path = os.path.join(mboxdir, f)
            with open(path, "rb") as fh:
                orig = fh.read()
            data = bytearray(orig)
            data[4096 + 100] ^= 0x01
            with open(path, "wb") as fh:
                fh.write(data)
            self.t.start()
            results = {}
            for user in ("alice@test.example", "bob@test.example"):
                m, typ = self.login(user, PASSWORD)
                results[user] = m is not None
                if m is not None:
                    m.logout()
            self.assertEqual(sorted(results.values()), [False, True],
                             results)
            self.t.wait_log(r"audit: event=tamper db=\S*mailboxes/")
            self.t.stop()
            with open(path, "wb") as fh:
                fh.write(orig)
        del st

    def test_tampered_directory_refused(self):
        self.add_user("alice@test.example")
        self.t.stop()
        path = self.t.path("vault", "directory.db")
        with open(path, "r+b") as fh:
            fh.seek(100)
            b = fh.read(1)
            fh.seek(100)
            fh.write(bytes([b[0] ^ 0x80]))
        self.t.start()
        self.t.wait_log(r"audit: event=tamper db=\S*directory\.db page=1")
        out, err, rc = self.t.ctl("user", "list", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("not open", err)


if __name__ == "__main__":
    unittest.main()
