#!/usr/bin/env python3
"""admin_others.py - what one `ctl user add` costs the other accounts.

    bench/admin_others.py [--adds 5] [--kdf "ops 4 memory 256M"]

Starts a Tresor of its own (regress/integration/tresor.py, in a
temporary directory, loopback ports) at the default Argon2id cost (or
--kdf), logs owner in over IMAP, then --adds times: runs `ctl user add`
for a new address and, until ctl returns, sends `STATUS INBOX
(MESSAGES)` (answered by vaultd) in a loop.  Prints the adds' average
time and the longest STATUS that overlapped each add (median and
maximum).  With the add's Argon2id on vaultd's event loop (before
issue 13's change for ctl) the longest STATUS is about the whole add;
with it on the KDF pool, tens of milliseconds on a 2-core machine
(where the two KDF threads take both cores while they run).  Run from
the top of the tree, as root like the tests.
"""

import argparse
import os
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "regress", "integration"))
import tresor  # noqa: E402
from tresor import TaggedImap, Tresor  # noqa: E402

PW = "correct horse battery"
OWNER = "owner@test.example"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adds", type=int, default=5)
    ap.add_argument("--kdf", default="",
                    help='a "vault kdf" setting, e.g. "ops 1 memory 64M"')
    a = ap.parse_args()
    extra = "vault lock-grace 300s"
    if a.kdf:
        extra += "\nvault kdf " + a.kdf
    t = Tresor(extra=extra, verbose=False)
    t.start()
    try:
        t.add_user(OWNER, PW)
        c = TaggedImap(t, 120)
        _, r = c.cmd('LOGIN %s "%s"' % (OWNER, PW))
        assert r.startswith("OK"), r
        worst, took = [], []
        for i in range(a.adds):
            p = subprocess.Popen(
                [tresor.CTL, "-s", t.sock, "user", "add",
                 "new%d@test.example" % i, "--stdin"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=t.env())
            t0 = time.monotonic()
            p.stdin.write(b"another long password\n")
            p.stdin.close()
            longest = 0.0
            while p.poll() is None:
                s = time.monotonic()
                _, r = c.cmd("STATUS INBOX (MESSAGES)")
                assert r.startswith("OK"), r
                longest = max(longest, time.monotonic() - s)
            took.append(time.monotonic() - t0)
            err = p.stderr.read()
            p.stdout.close()
            p.stderr.close()
            assert p.returncode == 0, err
            worst.append(longest)
        worst.sort()
        print("%d user adds, %.2f s each on average; the longest STATUS "
              "during an add: median %.1f ms, max %.1f ms" % (
                  a.adds, sum(took) / a.adds,
                  worst[a.adds // 2] * 1000, worst[-1] * 1000))
        c.close()
    finally:
        t.stop()
        t.cleanup()


if __name__ == "__main__":
    main()
