# Plaintext mail does not stay in the daemons' memory once it is no
# longer needed (issue 14, item 2): after an account's messages went in
# by SMTP, were read by IMAP and the account locked, none of their text
# is left in vaultd's, smtpd's or imapd's memory.  The memory is read
# through /proc/<pid>/mem, as root; the daemons are not dumpable, so
# this needs CAP_SYS_PTRACE, and the test fails (not skips) without it.

import imaplib
import os
import re
import secrets
import time

from tresor import DaemonCase, wait_for

PASSWORD = "correct horse battery"


def token(kind):
    return "%s%s" % (kind, secrets.token_hex(12).upper())


def message(user, subject, body, attach):
    return ("From: x@example.org\r\nTo: %s\r\nSubject: %s\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"
            "--b0\r\nContent-Type: text/plain\r\n\r\n%s\r\n"
            "--b0\r\nContent-Type: text/plain; name=\"a.txt\"\r\n"
            "Content-Disposition: attachment; filename=\"a.txt\"\r\n\r\n"
            "%s\r\n--b0--\r\n" % (user, subject, body, attach))


def read_memory(pid):
    """The readable regions of pid's memory, joined; raises OSError if
    the kernel refuses to let us read it at all."""
    out = []
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        regions = maps.read().splitlines()
        refused = None
        for line in regions:
            f = line.split()
            if "r" not in f[1]:
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            try:
                mem.seek(lo)
                out.append(mem.read(hi - lo))
            except OSError as e:
                refused = e
                continue
        if not out and refused is not None:
            raise refused
    return b"".join(out)


class MemoryWipe(DaemonCase):
    extra = "vault kdf ops 1 memory 8M\nvault lock-grace 1s"
    password = PASSWORD
    per_test = True

    def readable(self, role):
        pid = self.t.pid(role)
        self.assertIsNotNone(pid, role)
        try:
            data = read_memory(pid)
        except OSError as e:
            self.fail("cannot read %s's memory (pid %d) through /proc: %s; "
                      "this test needs root with CAP_SYS_PTRACE to read a "
                      "non-dumpable process's /proc/<pid>/mem" %
                      (role, pid, e))
        self.assertGreater(len(data), 0, role)
        return data

    def test_no_plaintext_after_lock(self):
        user = self.new_user()
        tokens = []

        def mail():
            t = [token("SUBJ"), token("BODY"), token("ATTACH")]
            tokens.extend(t)
            return message(user, *t)

        # One into the spool (locked), one into the open mailbox.
        self.deliver(user, mail())
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        m.login(user, PASSWORD)
        self.deliver(user, mail())
        wait_for(lambda: m.select("INBOX")[1][0] == b"2", 60,
                 "both messages")
        typ, data = m.fetch("1:*", "(BODY[] BODY[HEADER.FIELDS (SUBJECT)]"
                            " BODY[2])")
        self.assertEqual(typ, "OK")
        fetched = b"".join(x[1] for x in data if isinstance(x, tuple))
        for t in tokens:
            self.assertIn(t.encode(), fetched)
        typ, data = m.search(None, "BODY", tokens[1])
        self.assertEqual(typ, "OK")
        m.logout()

        self.t.wait_log(re.escape(user) + r" locked", timeout=30)
        # Let the fronts finish with their sessions.
        time.sleep(1)
        found = []
        for role in ("vaultd", "smtpd", "imapd"):
            data = self.readable(role)
            for t in tokens:
                if t.encode() in data:
                    found.append("%s in %s" % (t, role))
        self.assertEqual(found, [], "plaintext left in memory")
