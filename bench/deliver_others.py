#!/usr/bin/env python3
"""deliver_others.py - what a stream of mail into one account costs another.

    bench/deliver_others.py [--messages 3000] [--clients 8] [--rounds 3]

Starts a Tresor of its own (regress/integration/tresor.py, loopback
ports), holds alice unlocked with an IMAP session, and --rounds times:
while --clients SMTP connections deliver --messages messages of 8 KiB
to alice (each of which vaultd seals, imports into her mailbox and
indexes), bob's IMAP session sends FETCH 1 (FLAGS) in a loop.  Prints
alice's accepted rate and bob's FETCH latency (p50, p99, max) during
the stream.  Run from the top of the tree, as root like the tests.
"""

import argparse
import imaplib
import os
import smtplib
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "regress", "integration"))
from tresor import Tresor  # noqa: E402

PW = "correct horse battery"
ALICE = "alice@test.example"
BOB = "bob@test.example"
LINE = "the quick brown fox jumps over the lazy dog %06d and more words\r\n"


def stream(t, n, clients):
    def send(c):
        s = smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=600)
        for i in range(c, n, clients):
            body = "".join(LINE % (i * 128 + k) for k in range(120))
            s.sendmail("x@example.org", [ALICE],
                       "Subject: m%d\r\n\r\n%s" % (i, body))
        s.quit()
    th = [threading.Thread(target=send, args=(c,)) for c in range(clients)]
    t0 = time.monotonic()
    for x in th:
        x.start()
    for x in th:
        x.join()
    return n / (time.monotonic() - t0)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    t = Tresor(extra="vault kdf ops 1 memory 8M\n"
               "limit connections per-address 100")
    t.start()
    try:
        t.add_user(ALICE, PW)
        t.add_user(BOB, PW)
        a = imaplib.IMAP4("127.0.0.1", t.port("imap"), timeout=600)
        a.login(ALICE, PW)
        b = imaplib.IMAP4("127.0.0.1", t.port("imap"), timeout=600)
        b.login(BOB, PW)
        s = smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=60)
        s.sendmail("x@example.org", [BOB], "Subject: b\r\n\r\nb\r\n")
        s.quit()
        b.select("INBOX")
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
            rate = stream(t, args.messages, args.clients)
            stop.set()
            p.join()
            print("round %d: alice %.0f msgs/s accepted; bob's FETCH "
                  "p50 %.1f p99 %.1f max %.1f ms (of %d)" %
                  (r + 1, rate, pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3,
                   max(lat) * 1e3, len(lat)), flush=True)
            a.noop()
            time.sleep(5)
    finally:
        t.stop()
        t.cleanup()


if __name__ == "__main__":
    main()
