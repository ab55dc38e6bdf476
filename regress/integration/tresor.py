# Test fixture: a real ctld with its children on loopback high ports, in a
# temporary directory, with a configuration written for the test.
#
#   t = Tresor(extra="limit timeout idle 2s")
#   t.start()            # waits until every child is ready
#   t.port("smtp")       # the plain SMTP port, "smtps", "imap", ...
#   t.ctl("status")
#   t.stop()             # SIGTERM; checks nothing is left behind
#
# Everything is bounded in time: every wait has a deadline and the
# daemon is killed at the end whatever happens.
#
# DaemonCase is the unittest base of the modules that test through the
# daemons: one Tresor per class (or per test), the log checked at the
# end, and helpers to add accounts and deliver mail.

import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CTLD = os.path.join(TOP, "ctld", "ctld")
CTL = os.path.join(TOP, "ctld", "ctl")
ROLES = ("ctld", "smtpd", "imapd", "vaultd")
USERS = {"smtpd": "_tresor-smtpd", "imapd": "_tresor-imapd",
         "vaultd": "_tresor-vaultd"}

# (name, protocol, tls mode, plaintext-auth)
LISTENERS = (
    ("smtp", "smtp", "starttls", False),
    ("submission", "submission", "starttls", True),
    ("smtps", "submission", "implicit", False),
    ("imap", "imap", "starttls", True),
    ("imaps", "imap", "implicit", False),
    ("pop3", "pop3", "starttls", True),
    ("pop3s", "pop3", "implicit", False),
)

# Said in the log only when something went wrong: a seccomp kill, a
# sanitizer report (TRESOR_SANITIZE=1).  A child that exits is logged
# "child-exit role=NAME"; that is wrong too unless the test killed it.
LOG_ALARMS = ("forbidden system call", "Sanitizer", "runtime error:")

IS_ROOT = os.geteuid() == 0
SANITIZE = os.environ.get("TRESOR_SANITIZE") == "1"


def _can_lock_memory():
    """Whether a process of ours may lift RLIMIT_MEMLOCK, as vaultd must
    to lock its memory: not in a container without CAP_SYS_RESOURCE."""
    r = subprocess.run([sys.executable, "-c",
                        "import resource as r; i = r.RLIM_INFINITY; "
                        "r.setrlimit(r.RLIMIT_MEMLOCK, (i, i))"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
    return r.returncode == 0


# vaultd locks its memory here (and the tests say so), or the machine
# cannot, or the build never does (ASan's shadow is terabytes): then the
# tests' configurations let the vault open anyway.
MEMORY_LOCKS = not SANITIZE and _can_lock_memory()


# Tools the tests run, and the Debian package that brings each (all in
# scripts/deps.sh).  A missing tool fails the test that needs it, naming
# the package: a test is never skipped because the machine lacks a tool.
TOOLS = {
    "swaks": "swaks",
    "curl": "curl",
    "mbsync": "isync",
    "openssl": "openssl",
}


def require_tool(tc, name):
    """Fail tc unless name can run; swaks also needs TLS (Net::SSLeay)."""
    if shutil.which(name) is None:
        tc.fail("%s is not installed: scripts/deps.sh installs the Debian "
                "package %s" % (name, TOOLS[name]))
    if name == "swaks":
        p = subprocess.run(["perl", "-MNet::SSLeay", "-e", "1"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            tc.fail("swaks cannot do TLS without Net::SSLeay: scripts/"
                    "deps.sh installs the Debian package libnet-ssleay-perl")


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Tresor:
    def __init__(self, extra="", listeners=LISTENERS, verbose=True,
                 allow_unlocked_memory=not MEMORY_LOCKS, preexec=None):
        self.allow_unlocked_memory = allow_unlocked_memory
        self.preexec = preexec       # run in ctld's process before exec
        self.dir = tempfile.mkdtemp(prefix="tresor-test-")
        os.chmod(self.dir, 0o755)
        self.extra = extra
        self.listeners = listeners
        self.ports = dict(zip([l[0] for l in listeners],
                              free_ports(len(listeners))))
        self.sock = os.path.join(self.dir, "run", "ctl.sock")
        self.conf = os.path.join(self.dir, "tresor.conf")
        self.logpath = os.path.join(self.dir, "ctld.log")
        self.proc = None
        self.verbose = verbose
        self.ctl_path = CTL
        self.write_conf()

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def spool_files(self):
        """Files in vaultd's spool, every account's: sealed messages
        waiting for an import (or an append under way)."""
        n = 0
        for root, dirs, files in os.walk(self.path("vault", "spool")):
            n += len(files)
        return n

    def port(self, name):
        return self.ports[name]

    def conf_text(self, extra=None):
        lines = [
            'hostname "mx.test.example"',
            'datadir "%s"' % self.path("vault"),
            'chroot "%s"' % self.path("empty"),
            'control socket "%s"' % self.sock,
            'tls cert "%s" key "%s" selfsigned' % (
                self.path("tls", "cert.pem"), self.path("tls", "key.pem")),
            'domain "test.example"',
        ]
        for name, proto, tls, pa in self.listeners:
            lines.append("listen on 127.0.0.1 port %d %s tls %s%s" % (
                self.ports[name], proto, tls,
                " plaintext-auth" if pa else ""))
        lines.append(self.extra if extra is None else extra)
        # Where memory cannot be locked (MEMORY_LOCKS), the vault must
        # be told to open anyway; last, so that the lines of extra keep
        # their numbers.
        if self.allow_unlocked_memory:
            lines.append("vault allow-unlocked-memory")
        return "\n".join(lines) + "\n"

    def write_conf(self, extra=None):
        with open(self.conf, "w") as f:
            f.write(self.conf_text(extra))
        os.chmod(self.conf, 0o644)

    def env(self):
        env = dict(os.environ)
        if SANITIZE:
            # Sandboxed children cannot run LeakSanitizer (it needs
            # ptrace); leaks are checked by the unit tests.
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1"
        return env

    def start(self):
        args = [CTLD, "-d", "-f", self.conf]
        if self.verbose:
            args.append("-v")
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     cwd=self.dir, env=self.env(),
                                     preexec_fn=self.preexec)
        self.wait_ready()
        return self

    def wait_ready(self, timeout=30.0):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("ctld exited %s:\n%s" % (
                    self.proc.returncode, self.logtext()))
            st = self.status(check=False)
            if st is None:
                return False
            return all(st.get(r, {}).get("state") == "running"
                       for r in ROLES)
        wait_for(ready, timeout, "every process ready")

    def logtext(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, count=1, timeout=20.0):
        rx = re.compile(pattern)
        return wait_for(lambda: len(rx.findall(self.logtext())) >= count,
                        timeout, "log line /%s/ x%d" % (pattern, count))

    def ctl(self, *args, user=None, check=True, stdin=None, timeout=30):
        """(stdout, stderr, exit status) of ctl with these arguments;
        stdin (str) is written to its standard input."""
        cmd = [CTL, "-s", self.sock] + list(args)
        kw = {}
        if user is not None:
            import pwd
            pw = pwd.getpwnam(user)

            def drop():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
            kw["preexec_fn"] = drop
        if stdin is not None:
            kw["input"] = stdin.encode()
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout,
                           env=self.env(), **kw)
        out = p.stdout.decode(), p.stderr.decode(), p.returncode
        if check and p.returncode != 0:
            raise AssertionError("ctl %s failed: %s" % (args, out))
        return out

    def add_user(self, user, password):
        """ctl user add, the password on standard input (the key
        derivation can take a while); returns what ctl printed."""
        out, err, rc = self.ctl("user", "add", user, "--stdin",
                                stdin=password + "\n", timeout=60,
                                check=False)
        if rc != 0:
            raise AssertionError("user add %s: %r" % (user, err))
        return out

    def status(self, check=True):
        """{role: {pid, user, state, uptime, restarts, memory}} from ctl
        status."""
        out, err, rc = self.ctl("status", check=check)
        if rc != 0:
            return None
        st = {}
        for line in out.splitlines()[1:]:
            f = line.split()
            if len(f) != 7:
                raise AssertionError("bad status line: %r" % line)
            st[f[0]] = {"pid": None if f[1] == "-" else int(f[1]),
                        "user": f[2], "state": f[3], "uptime": f[4],
                        "restarts": int(f[5]), "memory": f[6]}
        return st

    def pid(self, role):
        return self.status()[role]["pid"]

    def thread_field(self, role, field):
        """{tid: int} of one field of /proc/PID/task/TID/stat for each
        thread of role's process (proc(5) numbering: 19 is nice, 41 the
        scheduling policy)."""
        pid = self.pid(role)
        out = {}
        tasks = "/proc/%d/task" % pid
        for tid in os.listdir(tasks):
            try:
                with open("%s/%s/stat" % (tasks, tid)) as f:
                    st = f.read()
            except OSError:
                continue
            # After "(comm)" come the fields from 3 (state) on.
            out[int(tid)] = int(st.rsplit(")", 1)[1].split()[field - 3])
        return out

    def children_of_ctld(self):
        """pids whose parent is ctld, from /proc."""
        kids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if self.proc and ppid == self.proc.pid:
                kids.append(int(d))
        return kids

    def stop(self, timeout=30.0):
        """SIGTERM ctld; returns its exit status."""
        if self.proc is None:
            return None
        kids = self.children_of_ctld()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError("ctld did not stop on SIGTERM")
        rc = self.proc.returncode
        for k in kids:
            wait_for(lambda: not os.path.exists("/proc/%d" % k) or
                     open("/proc/%d/stat" % k).read().split()[2] == "Z",
                     10, "child %d to exit" % k)
        self.proc = None
        self.log.close()
        return rc

    def cleanup(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # Small line-protocol client helpers.

    def connect(self, name, tls=False, timeout=10.0):
        s = socket.create_connection(("127.0.0.1", self.ports[name]),
                                     timeout=timeout)
        if tls:
            s = client_tls().wrap_socket(s)
        return LineClient(s)


class LineClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def closed(self, timeout=10.0):
        """True when the server closes the connection (EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def starttls(self):
        self.sock = client_tls().wrap_socket(self.sock)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def check_log(log, may_exit=()):
    """No child died but those in may_exit, and no alarm was logged."""
    bads = ["child-exit role=%s" % r for r in ROLES[1:]
            if r not in may_exit]
    for bad in bads + list(LOG_ALARMS):
        if bad in log:
            raise AssertionError("%r in the log:\n%s" % (bad, log[-4000:]))


class TaggedImap:
    """A minimal IMAP client over LineClient: commands by tag, their
    untagged lines and tagged answer; for tests that must send a
    command and read its answer later, in an order they choose."""

    def __init__(self, t, timeout=30):
        self.c = t.connect("imap", timeout=timeout)
        self.n = 0
        greeting = self.c.line()
        assert greeting.startswith("* OK"), greeting

    def send(self, text):
        self.n += 1
        tag = "t%d" % self.n
        self.c.send("%s %s\r\n" % (tag, text))
        return tag

    def done(self, tag):
        """The untagged lines and the tagged one, for tag."""
        untagged = []
        while True:
            line = self.c.line()
            if line.startswith(tag + " "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)

    def cmd(self, text):
        return self.done(self.send(text))

    def close(self):
        self.c.close()


class DaemonCase(unittest.TestCase):
    """Tests against one Tresor, configured by the class attributes; its
    log is checked when it stops.  With per_test, every test has a fresh
    Tresor (for tests whose traces would spoil the next one)."""
    extra = ""
    listeners = LISTENERS
    allow_unlocked_memory = None  # None: not MEMORY_LOCKS
    preexec = None                # a function run in ctld before exec
    per_test = False
    may_exit = ()             # roles the tests kill on purpose
    password = None           # add_user()'s default
    user_prefix = "u"         # new_user() makes u1@test.example, ...
    users = 0

    @classmethod
    def prepare(cls, t):
        """Called once t has started: accounts every test wants."""

    @classmethod
    def start_tresor(cls):
        kw = {}
        if cls.allow_unlocked_memory is not None:
            kw["allow_unlocked_memory"] = cls.allow_unlocked_memory
        if cls.preexec is not None:
            kw["preexec"] = cls.preexec
        t = Tresor(extra=cls.extra, listeners=cls.listeners, **kw)
        try:
            t.start()
            cls.prepare(t)
        except Exception:
            try:
                t.stop()
            finally:
                t.cleanup()
            raise
        return t

    @classmethod
    def stop_tresor(cls, t):
        try:
            log = t.logtext()
            t.stop()
        finally:
            t.cleanup()
        check_log(log, cls.may_exit)

    @classmethod
    def setUpClass(cls):
        if not cls.per_test:
            cls.t = cls.start_tresor()

    @classmethod
    def tearDownClass(cls):
        if not cls.per_test:
            cls.stop_tresor(cls.t)

    def setUp(self):
        if self.per_test:
            self.t = self.start_tresor()
            # Cleanups run after tearDown(): a subclass's connections
            # are closed before the daemons stop.
            self.addCleanup(self.stop_tresor, self.t)

    def add_user(self, user, password=None):
        """Adds the account; returns what ctl printed."""
        if password is None:
            password = self.password
        return self.t.add_user(user, password)

    def new_user(self, messages=()):
        """A fresh account (user_prefix and a number, with the class's
        password), with these messages delivered to it by SMTP."""
        DaemonCase.users += 1
        user = "%s%d@test.example" % (self.user_prefix, DaemonCase.users)
        self.add_user(user)
        for m in messages:
            self.deliver(user, m)
        return user

    def deliver(self, user, msg):
        """msg (str or bytes) to user over the MX port; every recipient
        taken."""
        s = smtplib.SMTP("127.0.0.1", self.t.port("smtp"), timeout=30)
        try:
            self.assertEqual(s.sendmail("x@example.org", [user], msg), {})
        finally:
            s.quit()
