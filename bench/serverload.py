#!/usr/bin/env python3
"""serverload.py - a load that looks like a real server (issue 13).

Python 3 standard library only, on mailbench.py's helpers (its Imap client,
make_message, lat_summary_ms, emit): every result is a JSON line in the form
mailbench uses, so `mailbench.py summarize` reads them too.

    serverload.py seed    --accounts N --messages M --via smtp|lmtp|append
    serverload.py prime   --accounts N            (one login per account)
    serverload.py run     --accounts N --sessions S --phase-s P ...
    serverload.py summarize FILE...               (markdown table)

Accounts are named by --user-fmt (default load%03d@bench.test, numbered
from 0), all with --password.  `run` has two phases of --phase-s seconds
each, quiet and then flood, and during both:

  - S IMAP sessions (accounts 0..S-1, one thread each) loop over
    SELECT INBOX; UID FETCH 1:* (FLAGS); UID FETCH of one random message's
    BODY.PEEK[]; UID STORE +FLAGS (\\Seen) on one; UID SEARCH BODY of a word;
    IDLE for --idle-s then DONE.  Each operation's latency is recorded by kind
    (idle-start: IDLE to its continuation; idle-done: DONE to the tagged OK).
  - deliveries at --smtp-rate per second to random accounts, one connection
    per message (--deliver smtp or lmtp); the latency is from connect to the
    250 after the data (QUIT is not timed).
  - logins of the otherwise idle accounts (S..N-1) at --login-rate per second:
    connect + LOGIN (idle-login), SELECT INBOX (idle-select), LOGOUT.  The
    least recently used account is taken; a login to an account used less
    than --relock-s ago is recorded apart (idle-login-warm), since on Tresor
    it would find the account still unlocked.

During the flood phase only, a separate process runs --flood-threads threads
that log in as nonexistent users with wrong passwords as fast as the server
answers them (one LOGIN per connection, waiting for its answer), each
connection bound to the next source address of --flood-networks /24s under
127.100.0.0/16 and up (never 127.0.0.0/24, the legitimate clients' network),
--flood-hosts addresses in each.  The flood's own rate and its answers by
kind are reported.

An operation belongs to the phase in which it started.  Open-loop pacing for
deliveries and logins: slot i is due at start + i/rate; a worker pool takes
the slots, and how late each one started is reported (lag_*_ms).

Output of `run`: one line per (phase, operation kind) with count, errors,
p50/p90/p99; one line for the flood; one goal line: p99 of every operation
during the flood within --goal-ratio (2x) of quiet.

Every loop is bounded by a deadline or a count, every socket has a timeout,
and only loopback addresses are used.
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import smtplib
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailbench as mb  # noqa: E402
from mailbench import Imap, ImapError, emit, imap_quote, lat_summary_ms, make_message  # noqa: E402

VERSION = "1.0"
UID_ITEM = re.compile(rb"UID (\d+)")
SEARCH_WORDS = ("quarterly", "zeppelin", "budget", "meeting", "invoice", "schedule",
                "customer", "server", "release", "network", "report", "payment")
PHASES = ("quiet", "flood")
# operation kinds in the order tables show them
KINDS = ("select", "fetch-flags", "fetch-body", "store", "search", "idle-start",
         "idle-done", "smtp", "idle-login", "idle-select", "idle-login-warm", "session-login")


def now():
    return time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes


def user_name(a, i):
    return a.user_fmt % i


# --------------------------------------------------------------------------
# recording
# --------------------------------------------------------------------------


class Recorder:
    """(kind, start, seconds, error-or-None) tuples, from many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, kind, start, secs, err=None):
        with self.lock:
            self.items.append((kind, start, secs, err))

    def timed(self, kind, fn):
        """Run fn(), record its latency (or its error); return its value or
        raise what it raised."""
        t0 = now()
        try:
            r = fn()
        except (ImapError, OSError, smtplib.SMTPException) as e:
            self.add(kind, t0, now() - t0, "%s: %s" % (type(e).__name__, e))
            raise
        self.add(kind, t0, now() - t0)
        return r


# --------------------------------------------------------------------------
# IMAP sessions
# --------------------------------------------------------------------------


def imap_open(a, user):
    im = Imap(a.host, a.imap_port, False, a.timeout)
    im.login(user, a.password)
    return im


def idle_once(im, secs):
    """IDLE, wait for the continuation, hold secs, DONE, wait for the tagged
    OK.  Returns (seconds to the continuation, seconds from DONE to OK)."""
    t0 = now()
    tag = im.send("IDLE")
    for _ in range(10000):  # bounded: untagged lines before the continuation
        text, _ = im.read_response()
        if text.startswith(b"+"):
            break
        if text.startswith(tag + b" "):
            raise ImapError("IDLE refused: %r" % text[:200])
    else:
        raise ImapError("no continuation for IDLE")
    t1 = now()
    time.sleep(secs)
    t2 = now()
    im.sock.sendall(b"DONE\r\n")
    im._finish(tag, None)
    return t0, t1 - t0, t2, now() - t2


# --------------------------------------------------------------------------
# paced work: deliveries and idle logins
# --------------------------------------------------------------------------


class Pacer:
    """Slot i is due at t0 + i/rate; slots due at or after t_end are not
    handed out."""

    def __init__(self, rate, t0, t_end):
        self.rate, self.t0, self.t_end = rate, t0, t_end
        self.i = 0
        self.lock = threading.Lock()
        self.lags = []

    def take(self):
        if self.rate <= 0:
            return None
        with self.lock:
            due = self.t0 + self.i / self.rate
            if due >= self.t_end:
                return None
            self.i += 1
        d = due - now()
        if d > 0:
            time.sleep(d)
        lag = now() - due
        with self.lock:
            self.lags.append((due, lag))
        return due


def paced_worker(pacer, job):
    for _ in range(1 << 30):  # bounded: the pacer stops at t_end
        if pacer.take() is None:
            break
        job()


def make_deliverer(a, rec, run_id):
    lock = threading.Lock()
    state = {"n": 0}
    rng = random.Random(a.seed + 1)

    def job():
        with lock:
            i = state["n"]
            state["n"] += 1
            acct = rng.randrange(a.accounts)
        rcpt = user_name(a, acct)
        msg = make_message(a.seed, 5000000 + i, a.size, rcpt, run_id)
        t0 = now()
        c = None
        try:
            if a.deliver == "lmtp":
                c = smtplib.LMTP(a.host, a.smtp_port, local_hostname="serverload.localhost",
                                 timeout=a.timeout)
            else:
                c = smtplib.SMTP(a.host, a.smtp_port, local_hostname="serverload.localhost",
                                 timeout=a.timeout)
            refused = c.sendmail(a.mail_from, [rcpt], msg)
            if refused:
                raise smtplib.SMTPException("refused: %r" % refused)
            rec.add("smtp", t0, now() - t0)
        except (OSError, smtplib.SMTPException) as e:
            rec.add("smtp", t0, now() - t0, "%s: %s" % (type(e).__name__, e))
        if c is not None:
            try:
                c.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return job


def make_idle_login(a, rec):
    lock = threading.Lock()
    free = list(range(a.sessions, a.accounts))  # least recently used first
    last = {}

    def job():
        with lock:
            if not free:
                rec.add("idle-login", now(), 0.0, "no idle account free")
                return
            acct = free.pop(0)
        t = now()
        kind = "idle-login" if t - last.get(acct, -1e9) >= a.relock_s else "idle-login-warm"
        im = None
        try:
            im = rec.timed(kind, lambda: imap_open(a, user_name(a, acct)))
            rec.timed("idle-select", lambda: im.select("INBOX"))
            im.command("LOGOUT")
        except (ImapError, OSError):
            pass
        with lock:
            if im is not None:  # logged in: the account was unlocked until now
                last[acct] = now()
            free.append(acct)
        if im is not None:
            im.close()
    return job


# --------------------------------------------------------------------------
# the failing-login flood (its own process)
# --------------------------------------------------------------------------


def flood_address(a, i):
    net = i % a.flood_networks
    host = (i // a.flood_networks) % a.flood_hosts
    return "127.%d.%d.%d" % (100 + net // 256, net % 256, 1 + host)


def flood_login(a, src, user, password):
    """One connection from src, one LOGIN; returns the tagged answer's status
    and response code, e.g. 'NO [AUTHENTICATIONFAILED]'."""
    s = socket.create_connection((a.host, a.imap_port), timeout=a.timeout, source_address=(src, 0))
    try:
        s.settimeout(a.timeout)
        f = s.makefile("rb")
        g = f.readline(4096)
        if not g.startswith(b"* OK"):
            return "greeting " + g[:40].decode("ascii", "replace").strip()
        s.sendall(b"f1 LOGIN " + imap_quote(user).encode() + b" " + imap_quote(password).encode() + b"\r\n")
        for _ in range(100):  # bounded: untagged lines before the answer
            line = f.readline(4096)
            if not line:
                return "closed"
            if line.startswith(b"f1 "):
                w = line[3:].decode("ascii", "replace").split()
                code = w[1] if len(w) > 1 and w[1].startswith("[") else ""
                return (w[0] + " " + code).strip() if w else "empty"
        return "no answer"
    finally:
        s.close()


def flood_process(a, t_start, t_end, conn):
    counter = {"i": 0}
    lock = threading.Lock()
    results = []

    def worker(k):
        rng = random.Random("%d:%d" % (a.seed, k))
        lat, kinds, errors = [], {}, []
        for _ in range(1 << 30):  # bounded by t_end
            if now() >= t_end:
                break
            with lock:
                i = counter["i"]
                counter["i"] += 1
            src = flood_address(a, i)
            user = "nobody%08x@%s" % (rng.getrandbits(32), a.flood_domain)
            t0 = now()
            try:
                what = flood_login(a, src, user, "wrong%08x" % rng.getrandbits(32))
            except OSError as e:
                what = "error " + type(e).__name__
                if len(errors) < 20:
                    errors.append("%s from %s: %s" % (type(e).__name__, src, e))
                time.sleep(0.05)
            lat.append(now() - t0)
            kinds[what] = kinds.get(what, 0) + 1
        with lock:
            results.append((lat, kinds, errors))

    d = t_start - now()
    if d > 0:
        time.sleep(d)
    c0 = time.process_time()
    w0 = now()
    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(a.flood_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, t_end - now()) + a.timeout + 5)
    wall = now() - w0
    lat, kinds, errors = [], {}, []
    with lock:
        for l_, k_, e_ in results:
            lat += l_
            errors += e_
            for k, v in k_.items():
                kinds[k] = kinds.get(k, 0) + v
    conn.send({"lat": lat, "kinds": kinds, "errors": errors[:50], "wall": wall,
               "cpu": time.process_time() - c0, "addresses": min(counter["i"], a.flood_networks * a.flood_hosts)})
    conn.close()


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------


def run_load(a):
    run_id = mb.new_run_id(a.seed)
    if a.sessions > a.accounts:
        mb.die("--sessions may not exceed --accounts")
    rec = Recorder()
    setup0 = now()

    # Sessions log in first, one at a time per --login-par (on Tresor each
    # first login runs Argon2id), outside the measured phases.
    sessions = [None] * a.sessions
    errs = []

    def opener(lo):
        for i in range(lo, a.sessions, a.login_par):
            try:
                sessions[i] = imap_open(a, user_name(a, i))
            except (ImapError, OSError) as e:
                errs.append("session %d login: %s" % (i, e))
    ts = [threading.Thread(target=opener, args=(k,), daemon=True) for k in range(a.login_par)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(a.setup_timeout)
    setup_s = now() - setup0
    mb.log("%d sessions logged in in %.1f s%s" % (sum(1 for s in sessions if s), setup_s,
                                                   ("; %d failed" % len(errs)) if errs else ""))

    t0 = now() + a.settle_s
    t_mid = t0 + a.phase_s
    t_end = t_mid + a.phase_s

    threads = []
    for i in range(a.sessions):
        th = threading.Thread(target=session_main, args=(a, i, sessions[i], rec, t0, t_end,
                                                          random.Random(a.seed * 1000 + i)), daemon=True)
        threads.append(th)
    smtp_p = Pacer(a.smtp_rate, t0, t_end)
    deliver = make_deliverer(a, rec, run_id)
    for _ in range(a.smtp_workers):
        threads.append(threading.Thread(target=paced_worker, args=(smtp_p, deliver), daemon=True))
    login_p = Pacer(a.login_rate, t0, t_end)
    login = make_idle_login(a, rec)
    if a.accounts > a.sessions:
        for _ in range(a.login_workers):
            threads.append(threading.Thread(target=paced_worker, args=(login_p, login), daemon=True))
    parent, child = multiprocessing.Pipe(duplex=False)
    fp = None
    if a.flood_threads > 0:
        fp = multiprocessing.Process(target=flood_process, args=(a, t_mid, t_end, child), daemon=True)
        fp.start()
    c0 = time.process_time()
    for th in threads:
        th.start()
    mb.log("quiet phase: %.0f s, then the flood: %.0f s" % (a.phase_s, a.phase_s))
    for th in threads:
        th.join(max(0.0, t_end - now()) + a.timeout + a.idle_s + 10)
    stuck = sum(1 for th in threads if th.is_alive())
    cpu = time.process_time() - c0
    flood = None
    if fp is not None:
        if parent.poll(max(0.0, t_end - now()) + a.timeout + 10):
            flood = parent.recv()
        fp.join(5)
        if fp.is_alive():
            fp.terminate()

    params = mb.common_params(a, "host", "imap_port", "smtp_port", "deliver", "accounts", "sessions",
                              "phase_s", "smtp_rate", "login_rate", "idle_s", "relock_s", "size",
                              "flood_threads", "flood_networks", "flood_hosts", "seed")
    params["idle_login_note"] = a.idle_login_note
    params["smtp_latency"] = "connect to the 250 after DATA, one connection per message"
    params["run_id"] = run_id
    params["version"] = VERSION

    rc = 0
    with rec.lock:
        items = list(rec.items)
    by = {}
    errors_outside = []
    for kind, start, secs, err in items:
        if start < t0 or start >= t_end:
            if err:
                errors_outside.append("%s: %s" % (kind, err))
            continue
        ph = PHASES[0] if start < t_mid else PHASES[1]
        by.setdefault((ph, kind), ([], []))
        if err:
            by[(ph, kind)][1].append(err)
        else:
            by[(ph, kind)][0].append(secs)
    kinds = [k for k in KINDS if any((ph, k) in by for ph in PHASES)]
    kinds += sorted({k for _, k in by} - set(kinds))
    p99 = {}
    for ph in PHASES:
        for k in kinds:
            if (ph, k) not in by:
                continue
            lat, errs_k = by[(ph, k)]
            m = {"count": len(lat), "errors": len(errs_k),
                 "per_s": round(len(lat) / a.phase_s, 2)}
            m.update(lat_summary_ms(lat))
            if k == "smtp" or k.startswith("idle-login"):
                pc = smtp_p if k == "smtp" else login_p
                lags = [l for due, l in pc.lags if (due < t_mid) == (ph == "quiet")]
                if lags:
                    m["lag_p50_ms"] = round(mb.percentile(lags, 50) * 1000, 3)
                    m["lag_max_ms"] = round(max(lags) * 1000, 3)
            p99[(ph, k)] = m.get("p99_ms")
            rc |= emit(a, "serverload", "serverload %s %s" % (ph, k), m, params, errors=errs_k)

    fm = {}
    ferrs = []
    if flood is not None:
        fl = flood["lat"]
        fm = {"attempts": len(fl), "attempts_per_s": round(len(fl) / flood["wall"], 2) if flood["wall"] else None,
              "addresses": flood["addresses"]}
        fm.update(lat_summary_ms(fl))
        fm.update(mb.client_cpu(flood["cpu"], flood["wall"]))
        ferrs = flood["errors"]
        emit(a, "serverload-flood", "serverload flood logins", fm, params,
             detail={"answers": flood["kinds"]}, errors=ferrs)
    elif a.flood_threads > 0:
        ferrs = ["the flood process reported nothing"]
        emit(a, "serverload-flood", "serverload flood logins", {}, params, errors=ferrs)

    # The goal, per operation kind: p99 during the flood within goal_ratio
    # of quiet, and no errors during the flood that quiet did not have.
    # A kind that failed every time during the flood misses it too.  Warm
    # idle logins and session re-logins are shown but not judged (how
    # many there are depends on timing, not on the server).
    ratios = {}
    over = []
    failing = []
    for k in kinds:
        if k in ("idle-login-warm", "session-login"):
            continue
        q, f = p99.get(("quiet", k)), p99.get(("flood", k))
        qe = len(by.get(("quiet", k), ([], []))[1])
        fe = len(by.get(("flood", k), ([], []))[1])
        if q and f is not None:
            ratios[k] = round(f / q, 2)
            if f > a.goal_ratio * q:
                over.append(k)
        if fe > qe or (q is not None and f is None):
            failing.append(k)
    gm = {"goal_ratio": a.goal_ratio, "goal_met": not over and not failing and bool(ratios),
          "operations_over": len(over), "operations_failing": len(failing)}
    gm.update(mb.client_cpu(cpu, 2 * a.phase_s))
    detail = {"p99_flood_over_quiet": ratios, "over": over, "failing": failing,
              "flood_attempts_per_s": fm.get("attempts_per_s"),
              "session_setup_s": round(setup_s, 2)}
    gerrs = errs + errors_outside[:20]
    if stuck:
        gerrs.append("%d threads still running at the end" % stuck)
    rc |= emit(a, "serverload-goal", "serverload goal: p99 flood <= %gx quiet" % a.goal_ratio,
               gm, params, detail=detail, errors=gerrs)
    return rc


def session_main(a, i, im, rec, t0, t_end, rng):
    """Wait for the start, then run one session's loop (on its open
    connection, or a fresh one if its login failed)."""
    d = t0 - now()
    if d > 0:
        time.sleep(d)
    user = user_name(a, i)
    for _ in range(1 << 30):  # bounded by t_end
        if now() >= t_end:
            break
        try:
            if im is None:
                im = rec.timed("session-login", lambda: imap_open(a, user))
            rec.timed("select", lambda: im.select("INBOX"))
            _, untagged = rec.timed("fetch-flags", lambda: im.command("UID FETCH 1:* (FLAGS)"))
            uids = []
            for text, _ in untagged:
                m = UID_ITEM.search(text)
                if m:
                    uids.append(int(m.group(1)))
            if uids:
                u = rng.choice(uids)
                rec.timed("fetch-body", lambda: im.command("UID FETCH %d (BODY.PEEK[])" % u))
                u = rng.choice(uids)
                rec.timed("store", lambda: im.command("UID STORE %d +FLAGS (\\Seen)" % u))
            w = rng.choice(SEARCH_WORDS)
            rec.timed("search", lambda: im.search("BODY " + w))
            if now() + a.idle_s >= t_end:
                break
            ts, s0, td, s2 = idle_once(im, a.idle_s)
            rec.add("idle-start", ts, s0)
            rec.add("idle-done", td, s2)
        except (ImapError, OSError) as e:
            if im is not None:  # (a failed session-login is recorded as such)
                rec.add("session-error", now(), 0.0, "%s: %s" % (type(e).__name__, e))
                im.close()
            im = None
            time.sleep(0.2)
    if im is not None:
        im.logout()


# --------------------------------------------------------------------------
# setup: seed and prime
# --------------------------------------------------------------------------


def per_account_threads(a, fn):
    """fn(i) for every account, over --par threads; returns (errors, wall)."""
    lock = threading.Lock()
    state = {"next": 0}
    errors = []

    def worker():
        for _ in range(a.accounts):  # bounded
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= a.accounts:
                return
            try:
                fn(i)
            except (ImapError, OSError, smtplib.SMTPException) as e:
                with lock:
                    errors.append("%s: %s: %s" % (user_name(a, i), type(e).__name__, e))
    w0 = now()
    ts = [threading.Thread(target=worker, daemon=True) for _ in range(a.par)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(a.setup_timeout)
    if any(t.is_alive() for t in ts):
        errors.append("setup still running after %g s" % a.setup_timeout)
    return errors, now() - w0


def run_seed(a):
    """--messages small messages into every account: over SMTP or LMTP (one
    connection per account) or by APPEND (one session per account)."""
    run_id = mb.new_run_id(a.seed)

    def msgs(i):
        rcpt = user_name(a, i)
        return [make_message(a.seed, i * 1000 + k, a.size, rcpt, run_id) for k in range(a.messages)]

    def by_smtp(i):
        cls = smtplib.LMTP if a.via == "lmtp" else smtplib.SMTP
        c = cls(a.host, a.smtp_port, local_hostname="serverload.localhost", timeout=a.timeout)
        try:
            for m in msgs(i):
                refused = c.sendmail(a.mail_from, [user_name(a, i)], m)
                if refused:
                    raise smtplib.SMTPException("refused: %r" % refused)
        finally:
            try:
                c.quit()
            except (OSError, smtplib.SMTPException):
                pass

    def by_append(i):
        im = imap_open(a, user_name(a, i))
        try:
            lp = b"LITERAL+" in im.caps
            for m in msgs(i):
                im.append("INBOX", m, lp)
        finally:
            im.logout()

    c0 = time.process_time()
    errors, wall = per_account_threads(a, by_append if a.via == "append" else by_smtp)
    n = a.accounts * a.messages
    m = {"messages": n, "wall_s": round(wall, 3), "msgs_per_s": round(n / wall, 2) if wall else None}
    m.update(mb.client_cpu(time.process_time() - c0, wall))
    params = mb.common_params(a, "accounts", "messages", "size", "via", "par", "seed")
    params["run_id"] = run_id
    return emit(a, "fill", "serverload seed n=%d x %d via %s" % (a.accounts, a.messages, a.via),
                m, params, errors=errors)


def run_prime(a):
    """One login, SELECT, LOGOUT per account (Tresor: imports the spool the
    seeding filled), timed; setup, not part of the comparison."""
    lat = []
    lock = threading.Lock()

    def one(i):
        t0 = now()
        im = imap_open(a, user_name(a, i))
        n = im.select("INBOX")
        im.logout()
        if n < a.expect:
            raise ImapError("INBOX has %d messages, expected at least %d" % (n, a.expect))
        with lock:
            lat.append(now() - t0)
    c0 = time.process_time()
    errors, wall = per_account_threads(a, one)
    m = {"logins": len(lat), "wall_s": round(wall, 3)}
    m.update(lat_summary_ms(lat))
    m.update(mb.client_cpu(time.process_time() - c0, wall))
    params = mb.common_params(a, "accounts", "par", "expect")
    return emit(a, "fill", "serverload prime n=%d" % a.accounts, m, params, errors=errors)


# --------------------------------------------------------------------------
# summarize
# --------------------------------------------------------------------------


def fmt(x):
    if x is None:
        return ""
    if isinstance(x, float):
        return "%.3g" % x if abs(x) < 1000 else "%.0f" % x
    return str(x)


def run_summarize(a):
    """One table row per (operation, peer): count, p50 and p99 of each phase,
    the p99 ratio, errors; then the flood and the goal lines."""
    recs = []
    for path in a.files:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    recs.append(json.loads(line))
    cells = {}
    labels = []
    for r in recs:
        if r.get("label") not in labels and str(r.get("scenario", "")).startswith("serverload"):
            labels.append(r.get("label"))
        if r.get("scenario") != "serverload":
            continue
        _, ph, kind = r["key"].split(" ", 2)
        cells[(kind, r.get("label"), ph)] = r
    kinds = [k for k in KINDS if any(c[0] == k for c in cells)]
    kinds += sorted({c[0] for c in cells} - set(kinds))
    print("| operation | peer | quiet n | quiet p50 ms | quiet p99 ms | flood n | flood p50 ms "
          "| flood p99 ms | p99 flood/quiet | errors q/f |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in kinds:
        for lab in labels:
            q = cells.get((k, lab, "quiet"), {}).get("metrics", {})
            f = cells.get((k, lab, "flood"), {}).get("metrics", {})
            if not q and not f:
                continue
            ratio = f.get("p99_ms") / q["p99_ms"] if q.get("p99_ms") and f.get("p99_ms") is not None else None
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s |" % (
                k, lab, fmt(q.get("count")), fmt(q.get("p50_ms")), fmt(q.get("p99_ms")),
                fmt(f.get("count")), fmt(f.get("p50_ms")), fmt(f.get("p99_ms")),
                fmt(ratio), fmt(q.get("errors", 0)), fmt(f.get("errors", 0))))
    print()
    print("| peer | flood logins/s | attempts | flood p50 ms | answers | goal met | over the goal, or failing "
          "| client CPU % | deliveries | an idle account's login |")
    print("|---|---:|---:|---:|---|---|---|---:|---|---|")
    for lab in labels:
        fl = [r for r in recs if r.get("scenario") == "serverload-flood" and r.get("label") == lab]
        go = [r for r in recs if r.get("scenario") == "serverload-goal" and r.get("label") == lab]
        fm = fl[-1].get("metrics", {}) if fl else {}
        ans = fl[-1].get("detail", {}).get("answers", {}) if fl else {}
        gm = go[-1].get("metrics", {}) if go else {}
        gd = go[-1].get("detail", {}) if go else {}
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            lab, fmt(fm.get("attempts_per_s")), fmt(fm.get("attempts")), fmt(fm.get("p50_ms")),
            ", ".join("%s: %d" % kv for kv in sorted(ans.items())),
            fmt(gm.get("goal_met")),
            ", ".join(gd.get("over", []) + ["%s (errors)" % k for k in gd.get("failing", [])]) or "none",
            fmt(gm.get("client_cpu_pct")), (go[-1].get("params", {}) if go else {}).get("deliver", ""),
            (go[-1].get("params", {}) if go else {}).get("idle_login_note", "")))
    return 0


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------


def build_parser():
    c = argparse.ArgumentParser(add_help=False)
    g = c.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1", help="server address (loopback only)")
    g.add_argument("--imap-port", type=int, default=143)
    g.add_argument("--smtp-port", type=int, default=25, help="SMTP, or LMTP with --deliver/--via lmtp")
    g.add_argument("--accounts", type=int, default=200)
    g.add_argument("--user-fmt", default="load%03d@bench.test", help="account names, numbered from 0")
    g.add_argument("--password", default="benchpass")
    g.add_argument("--mail-from", default="sender@example.org")
    g.add_argument("--size", type=int, default=2048, help="message size in bytes")
    g.add_argument("--timeout", type=float, default=30.0, help="socket timeout, seconds")
    g.add_argument("--setup-timeout", type=float, default=1800.0, help="bound on setup steps, seconds")
    g.add_argument("--label", default="")
    g.add_argument("--seed", type=int, default=42)
    p = argparse.ArgumentParser(prog="serverload.py",
                                description="A server-like mixed load, quiet and under a failing-login flood.")
    sub = p.add_subparsers(dest="scenario", required=True)

    s = sub.add_parser("seed", parents=[c], help="(setup) messages into every account")
    s.add_argument("--messages", type=int, default=30)
    s.add_argument("--via", choices=("smtp", "lmtp", "append"), default="smtp")
    s.add_argument("--par", type=int, default=4, help="accounts seeded at once")
    s.set_defaults(func=run_seed)

    s = sub.add_parser("prime", parents=[c], help="(setup) one login per account")
    s.add_argument("--par", type=int, default=2, help="logins at once")
    s.add_argument("--expect", type=int, default=0, help="least number of messages each INBOX must hold")
    s.set_defaults(func=run_prime)

    s = sub.add_parser("run", parents=[c], help="the load: quiet phase, then flood phase")
    s.add_argument("--sessions", type=int, default=50, help="IMAP sessions (accounts 0..S-1)")
    s.add_argument("--phase-s", type=float, default=60.0, help="length of each phase, seconds")
    s.add_argument("--settle-s", type=float, default=2.0, help="pause between the setup and the quiet phase")
    s.add_argument("--idle-s", type=float, default=1.5, help="IDLE held this long in each loop")
    s.add_argument("--deliver", choices=("smtp", "lmtp"), default="smtp")
    s.add_argument("--smtp-rate", type=float, default=20.0, help="deliveries per second")
    s.add_argument("--smtp-workers", type=int, default=8)
    s.add_argument("--login-rate", type=float, default=2.0, help="idle-account logins per second")
    s.add_argument("--login-workers", type=int, default=8)
    s.add_argument("--login-par", type=int, default=2, help="session logins at once before the phases")
    s.add_argument("--relock-s", type=float, default=3.0,
                   help="an idle account used less than this long ago counts as warm")
    s.add_argument("--idle-login-note", default="",
                   help="what an idle-account login costs on this server (copied into the output)")
    s.add_argument("--flood-threads", type=int, default=8)
    s.add_argument("--flood-networks", type=int, default=64, help="source /24s (127.100.0.0 up)")
    s.add_argument("--flood-hosts", type=int, default=16, help="source addresses per /24")
    s.add_argument("--flood-domain", default="bench.test")
    s.add_argument("--goal-ratio", type=float, default=2.0)
    s.set_defaults(func=run_load)

    s = sub.add_parser("summarize", help="markdown table from JSON-lines files")
    s.add_argument("files", nargs="+")
    s.set_defaults(func=run_summarize)
    return p


def main(argv=None):
    a = build_parser().parse_args(argv)
    if a.scenario == "summarize":
        return a.func(a)
    mb.require_loopback(a.host)
    if a.scenario == "run" and a.flood_networks > 256 * 100:
        mb.die("--flood-networks: at most 25600")
    if a.scenario == "run" and not (1 <= a.flood_hosts <= 254):
        mb.die("--flood-hosts: 1 to 254")
    try:
        return a.func(a)
    except (ImapError, OSError, smtplib.SMTPException) as e:
        print(json.dumps({"scenario": a.scenario, "label": a.label, "ok": False,
                          "errors": ["%s: %s" % (type(e).__name__, e)]}), flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
