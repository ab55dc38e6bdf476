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


# Regions larger than this are address-space reservations, not heaps:
# a sanitizer build maps terabytes of shadow memory readable, which no
# test can read through.  Everything our processes allocate is in far
# smaller regions (glibc's heap and mmaps, ASan's allocator chunks).
REGION_MAX = 1 << 30
CHUNK = 8 << 20


def find_in_memory(pid, needles):
    """The needles found in the readable regions of pid's memory, read
    chunk by chunk; raises OSError if the kernel refuses to let us read
    any of it."""
    found = set()
    overlap = max(len(n) for n in needles) - 1
    readone = False
    refused = None
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps.read().splitlines():
            f = line.split()
            if "r" not in f[1]:
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if hi - lo > REGION_MAX:
                continue
            tail = b""
            at = lo
            while at < hi:
                try:
                    mem.seek(at)
                    data = mem.read(min(CHUNK, hi - at))
                except OSError as e:
                    refused = e
                    break
                if not data:
                    break
                readone = True
                window = tail + data
                for n in needles:
                    if n in window:
                        found.add(n)
                tail = window[-overlap:] if overlap > 0 else b""
                at += len(data)
    if not readone and refused is not None:
        raise refused
    return found


class MemoryWipe(DaemonCase):
    extra = "vault kdf ops 1 memory 8M\nvault lock-grace 1s"
    password = PASSWORD
    per_test = True

    def found(self, role, needles):
        pid = self.t.pid(role)
        self.assertIsNotNone(pid, role)
        try:
            return find_in_memory(pid, needles)
        except OSError as e:
            self.fail("cannot read %s's memory (pid %d) through /proc: %s; "
                      "this test needs root with CAP_SYS_PTRACE to read a "
                      "non-dumpable process's /proc/<pid>/mem" %
                      (role, pid, e))

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
        needles = [t.encode() for t in tokens]
        for role in ("vaultd", "smtpd", "imapd"):
            for n in sorted(self.found(role, needles)):
                found.append("%s in %s" % (n.decode(), role))
        self.assertEqual(found, [], "plaintext left in memory")
