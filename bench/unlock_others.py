#!/usr/bin/env python3
"""unlock_others.py - what one account's unlock costs the others.

    bench/unlock_others.py [--messages 500] [--rounds 5]

Starts a Tresor of its own (regress/integration/tresor.py, in a
temporary directory, loopback ports), gives alice a mailbox of
--messages messages of some 200 KB (about 320 MB on disk for 500), lets
her account lock, then --rounds times: while bob's IMAP session sends
FETCH 1 (FLAGS) in a loop, alice logs in (her mailbox is opened and
checked: every page read for its digest), and the longest FETCH that
overlapped her login is printed with the login's time.  With the open
on vaultd's event loop (before issue 13's change) bob's longest FETCH
is about as long as alice's login; with it on a mailbox worker, a few
milliseconds.  Run from the top of the tree, as root like the tests.
"""

import argparse
import os
import smtplib
import sys
import threading
import time
import imaplib

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "regress", "integration"))
from tresor import Tresor  # noqa: E402

PW = "correct horse battery"
ALICE = "alice@test.example"
BOB = "bob@test.example"


def fill(t, n):
    body = ("x" * 76 + "\r\n") * 2600

    def send(c):
        s = smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=600)
        for i in range(c, n, 4):
            s.sendmail("x@example.org", [ALICE],
                       "Subject: m%d\r\n\r\n%s" % (i, body))
        s.quit()
    th = [threading.Thread(target=send, args=(c,)) for c in range(4)]
    for x in th:
        x.start()
    for x in th:
        x.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    t = Tresor(extra="vault kdf ops 1 memory 8M\nvault lock-grace 1s\n"
               "limit connections per-address 100")
    t.start()
    try:
        t.add_user(ALICE, PW)
        t.add_user(BOB, PW)
        a = imaplib.IMAP4("127.0.0.1", t.port("imap"), timeout=600)
        a.login(ALICE, PW)
        fill(t, args.messages)
        a.logout()
        t.wait_log(r"alice@test\.example locked", timeout=120)
        md = t.path("vault", "mailboxes")
        size = sum(os.path.getsize(os.path.join(md, f))
                   for f in os.listdir(md))
        b = imaplib.IMAP4("127.0.0.1", t.port("imap"), timeout=600)
        b.login(BOB, PW)
        s = smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=60)
        s.sendmail("x@example.org", [BOB], "Subject: b\r\n\r\nb\r\n")
        s.quit()
        b.select("INBOX")
        print("alice's mailbox: %.0f MB" % (size / 1e6))
        for r in range(args.rounds):
            stop = threading.Event()
            lat = []

            def pinger():
                while not stop.is_set():
                    t0 = time.monotonic()
                    b.fetch("1", "(FLAGS)")
                    lat.append(time.monotonic() - t0)
            p = threading.Thread(target=pinger)
            p.start()
            a = imaplib.IMAP4("127.0.0.1", t.port("imap"), timeout=600)
            t0 = time.monotonic()
            a.login(ALICE, PW)
            tl = time.monotonic() - t0
            stop.set()
            p.join()
            a.logout()
            t.wait_log(r"alice@test\.example locked", count=r + 2,
                       timeout=120)
            print("alice's login %.0f ms; bob's longest FETCH %.1f ms "
                  "(of %d)" % (tl * 1e3, max(lat) * 1e3, len(lat)))
    finally:
        t.stop()
        t.cleanup()


if __name__ == "__main__":
    main()
