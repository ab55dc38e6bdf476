#!/usr/bin/env python3
"""imap_idle_mem.py - server memory per idle, logged-in IMAP connection.

Python 3 standard library only; prints one JSON line on stdout in the
form mailbench.py uses (scenario, label, key, ok, metrics, params, detail),
so `mailbench.py summarize` can put it in a table.

    imap_idle_mem.py --root PID --comm imap,imap-login [-k 200] [--select]
        [--warm 1] [--imap-port 143] [--user U] [--password P] [--label L]

The server processes measured are the descendants of --root (and --root
itself) whose /proc/PID/comm is one of --comm: they are found by walking
the process tree from the root, not by name over the whole machine, so
other instances of the same programs running beside it are not counted.
First it opens --warm connections (default 1) and keeps them, so that
what the first session of an account costs (unlocking it, opening the
mailbox) is not counted per connection.  Before and after opening K more
connections (each: connect, LOGIN, and with --select also SELECT INBOX,
then left idle) it sums VmRSS (and Pss, which
splits shared pages between the processes that map them) over those
processes; the growth divided by K is the figure.  It also sums over the
whole tree under --root (every process, whatever its name), to show what
the --comm selection leaves out.

Only loopback addresses are accepted.  Exit status 1 if not every
connection could be opened and logged in, 2 on a usage error.
"""

import argparse
import ipaddress
import json
import os
import re
import socket
import sys
import time

MAX_CONNS = 5000
MAX_LINE = 1 << 20


class ImapError(Exception):
    pass


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Conn:
    """A bare IMAP connection: enough to log in, SELECT and LOGOUT."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.tag = 0
        line = self.readline()
        if not line.startswith(b"* OK"):
            raise ImapError("bad greeting: %r" % line[:200])

    def readline(self):
        for _ in range(MAX_LINE):  # bounded: one recv per pass
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i + 2], self.buf[i + 2:]
                return line
            if len(self.buf) > MAX_LINE:
                raise ImapError("line too long")
            data = self.sock.recv(65536)
            if not data:
                raise ImapError("server closed the connection")
            self.buf += data
        raise ImapError("line too long")

    def skip_literal(self, line):
        """Consume the literal that a line ending in {N} announces."""
        m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
        if not m:
            return False
        n = int(m.group(1))
        for _ in range(MAX_LINE):  # bounded: one recv per pass
            if len(self.buf) >= n:
                self.buf = self.buf[n:]
                return True
            data = self.sock.recv(65536)
            if not data:
                raise ImapError("server closed the connection")
            self.buf += data
        raise ImapError("literal too long")

    def command(self, cmd):
        self.tag += 1
        tag = b"M%d " % self.tag
        self.sock.sendall(tag + cmd.encode() + b"\r\n")
        for _ in range(1000000):  # bounded: untagged lines of one reply
            line = self.readline()
            self.skip_literal(line)
            if line.startswith(tag):
                if not line[len(tag):].upper().startswith(b"OK"):
                    raise ImapError("%s: %r" % (cmd.split()[0], line[:200]))
                return
        raise ImapError("reply too long")

    def close(self):
        try:
            self.command("LOGOUT")
        except (ImapError, OSError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(root):
    """root and all its descendants."""
    kids = children_map()
    seen = {root}
    stack = [root]
    for _ in range(1000000):  # bounded walk
        if not stack:
            break
        for c in kids.get(stack.pop(), []):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def proc_mem(pid):
    """(comm, VmRSS kB, Pss kB) of one process, or None if it is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            comm = f.read().strip()
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
        pss = 0
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                mp = re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M)
            pss = int(mp.group(1)) if mp else 0
        except OSError:
            pass
    except OSError:
        return None
    if not m:
        return None  # a zombie or a kernel thread
    return comm, int(m.group(1)), pss


def snapshot(root, comms):
    sel = {"rss_kb": 0, "pss_kb": 0, "procs": 0, "by_comm": {}}
    whole = {"rss_kb": 0, "pss_kb": 0, "procs": 0}
    for pid in sorted(tree(root)):
        pm = proc_mem(pid)
        if pm is None:
            continue
        comm, rss, pss = pm
        whole["rss_kb"] += rss
        whole["pss_kb"] += pss
        whole["procs"] += 1
        if comm in comms:
            sel["rss_kb"] += rss
            sel["pss_kb"] += pss
            sel["procs"] += 1
            bc = sel["by_comm"].setdefault(comm, {"rss_kb": 0, "procs": 0})
            bc["rss_kb"] += rss
            bc["procs"] += 1
    return sel, whole


def per_conn(after, before, k):
    return round((after - before) / k, 1) if k else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", type=int, required=True, help="PID of the server's top process")
    p.add_argument("--comm", required=True,
                   help="comma-separated process names (/proc/PID/comm) to count under --root")
    p.add_argument("-k", "--conns", type=int, default=200)
    p.add_argument("--select", action="store_true", help="SELECT INBOX on every connection")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--imap-port", type=int, default=143)
    p.add_argument("--user", default="bench@bench.test")
    p.add_argument("--password", default="benchpass")
    p.add_argument("--label", default="")
    p.add_argument("--warm", type=int, default=1,
                   help="connections opened (and SELECTs done) before the first snapshot and kept "
                        "open, so that unlocking the account is not counted as per-connection")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait before each snapshot")
    p.add_argument("--timeout", type=float, default=60.0)
    a = p.parse_args()
    try:
        if not ipaddress.ip_address(a.host).is_loopback:
            raise ValueError
    except ValueError:
        print("imap_idle_mem: --host must be a loopback address", file=sys.stderr)
        return 2
    if not 1 <= a.conns <= MAX_CONNS:
        print("imap_idle_mem: -k must be 1..%d" % MAX_CONNS, file=sys.stderr)
        return 2
    if not os.path.isdir("/proc/%d" % a.root):
        print("imap_idle_mem: no process %d" % a.root, file=sys.stderr)
        return 2
    comms = set(c for c in a.comm.split(",") if c)

    errors = []
    conns = []
    if not 0 <= a.warm <= 10:
        print("imap_idle_mem: --warm must be 0..10", file=sys.stderr)
        return 2
    for i in range(a.conns + a.warm):
        if i == a.warm:
            time.sleep(a.settle)
            before, wbefore = snapshot(a.root, comms)
            t0 = time.perf_counter()
        c = None
        try:
            c = Conn(a.host, a.imap_port, a.timeout)
            c.command("LOGIN %s %s" % (quote(a.user), quote(a.password)))
            if a.select:
                c.command("SELECT INBOX")
        except (ImapError, OSError) as e:
            errors.append("connection %d: %s" % (i, e))
            if c is not None:
                c.close()
            break
        conns.append(c)
    if len(conns) < a.warm:
        for c in conns:
            c.close()
        rec = {"scenario": "imap-idle-mem", "label": a.label, "ok": False, "errors": errors}
        print(json.dumps(rec), flush=True)
        return 1
    connect_s = time.perf_counter() - t0
    time.sleep(a.settle)
    after, wafter = snapshot(a.root, comms)
    k = len(conns) - a.warm
    for c in conns:
        c.close()
    if k != a.conns:
        errors.insert(0, "opened only %d of %d connections" % (k, a.conns))
    metrics = {
        "conns": k,
        "rss_kb_per_conn": per_conn(after["rss_kb"], before["rss_kb"], k),
        "pss_kb_per_conn": per_conn(after["pss_kb"], before["pss_kb"], k),
        "procs_per_conn": round((after["procs"] - before["procs"]) / k, 3) if k else None,
        "tree_rss_kb_per_conn": per_conn(wafter["rss_kb"], wbefore["rss_kb"], k),
        "tree_pss_kb_per_conn": per_conn(wafter["pss_kb"], wbefore["pss_kb"], k),
        "rss_kb_before": before["rss_kb"],
        "rss_kb_after": after["rss_kb"],
        "connect_s": round(connect_s, 3),
    }
    rec = {
        "scenario": "imap-idle-mem",
        "label": a.label,
        "key": "imap-idle-mem k=%d%s" % (a.conns, " select" if a.select else ""),
        "ok": not errors,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "metrics": metrics,
        "params": {"host": a.host, "imap_port": a.imap_port, "conns": a.conns,
                   "select": a.select, "warm": a.warm, "root": a.root, "comm": sorted(comms),
                   "settle": a.settle},
        "detail": {"before": before, "after": after, "tree_before": wbefore, "tree_after": wafter},
    }
    if errors:
        rec["errors"] = errors[:20]
    print(json.dumps(rec), flush=True)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
