#!/usr/bin/env python3
# The first login after mail was spooled for a locked account, and the
# import that follows it in the background (vaultd imports the spool a
# slice at a time after answering the login):
#
#	bench/import_wait.py --port 11143 --user U --password P \
#	    --expect N [--label L] [--timeout S]
#
# Logs in over IMAP (timed: login_s, from connect to the tagged OK),
# then polls STATUS INBOX (MESSAGES) every 50 ms until it reaches N
# (import_s, from the same start).  One JSON line, as mailbench's.

import argparse
import imaplib
import json
import re
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=11143)
    ap.add_argument("--user", default="bench@bench.test")
    ap.add_argument("--password", default="benchpass")
    ap.add_argument("--expect", type=int, required=True)
    ap.add_argument("--label", default="tresor")
    ap.add_argument("--timeout", type=float, default=1200)
    a = ap.parse_args()

    t0 = time.monotonic()
    m = imaplib.IMAP4(a.host, a.port, timeout=a.timeout)
    m.login(a.user, a.password)
    login = time.monotonic() - t0
    first = None
    errors = []
    while True:
        typ, data = m.status("INBOX", "(MESSAGES)")
        n = int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
        if first is None:
            first = n
        if n >= a.expect:
            break
        if time.monotonic() - t0 > a.timeout:
            errors.append("timeout: %d of %d messages" % (n, a.expect))
            break
        time.sleep(0.05)
    done = time.monotonic() - t0
    m.logout()
    if n != a.expect:
        errors.append("INBOX has %d messages, expected %d" % (n, a.expect))
    rec = {
        "scenario": "spool-import",
        "label": a.label,
        "key": "spool-import",
        "ok": not errors,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "metrics": {"login_s": round(login, 3), "import_s": round(done, 3),
                    "messages_at_login": first},
        "params": {"expect": a.expect},
    }
    if errors:
        rec["errors"] = errors
    print(json.dumps(rec), flush=True)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
