# The foundation: ctld starts its three children on loopback, each
# sandboxed, greets on every port, supervises, reloads, stops cleanly.

import imaplib
import os
import poplib
import pwd
import signal
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from tresor import (CTL, CTLD, IS_ROOT, ROLES, USERS, DaemonCase, Tresor,
                    client_tls, wait_for)


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(l.split(":", 1) for l in f.read().splitlines()
                    if ":" in l)


class Running(DaemonCase):
    """One daemon for the read-only checks."""

    def test_status_lists_every_process(self):
        st = self.t.status()
        self.assertEqual(sorted(st), sorted(ROLES))
        for role in ROLES:
            self.assertEqual(st[role]["state"], "running", role)
            self.assertIsNotNone(st[role]["pid"])
            self.assertEqual(st[role]["restarts"], 0)
        self.assertEqual(st["ctld"]["pid"], self.t.proc.pid)
        if IS_ROOT:
            for role, user in USERS.items():
                self.assertEqual(st[role]["user"], user)

    def test_children_sandboxed(self):
        st = self.t.status()
        for role in ("smtpd", "imapd", "vaultd"):
            pid = st[role]["pid"]
            ps = proc_status(pid)
            self.assertEqual(ps["NoNewPrivs"].strip(), "1", role)
            self.assertEqual(ps["Seccomp"].strip(), "2", role)
            if IS_ROOT:
                uid = pwd.getpwnam(USERS[role]).pw_uid
                self.assertEqual(ps["Uid"].split(),
                                 [str(uid)] * 4, role)
                root = os.readlink("/proc/%d/root" % pid)
                want = self.t.path("vault" if role == "vaultd" else
                                   "empty")
                self.assertEqual(root, want, role)

    def test_children_are_separate_programs(self):
        st = self.t.status()
        for role in ("smtpd", "imapd", "vaultd"):
            exe = os.readlink("/proc/%d/exe" % st[role]["pid"])
            self.assertTrue(exe.endswith("/%s/%s" % (role, role)), exe)

    def test_fronts_wired_to_vaultd(self):
        self.t.wait_log(r"smtpd\[\d+\]: connected to vaultd")
        self.t.wait_log(r"imapd\[\d+\]: connected to vaultd")
        self.t.wait_log(r"vaultd\[\d+\]: smtpd connected")
        self.t.wait_log(r"vaultd\[\d+\]: imapd connected")

    def test_smtp_greeting_and_commands(self):
        c = self.t.connect("smtp")
        self.assertRegex(c.line(), r"^220 mx\.test\.example ESMTP")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.example>"),
                         "503 5.5.1 Send EHLO or HELO first")
        self.assertEqual(c.cmd("FROBNICATE"),
                         "500 5.5.1 Command unrecognized")
        self.assertEqual(c.cmd("QUIT")[:3], "221")
        self.assertTrue(c.closed())

    def test_smtp_starttls_with_smtplib(self):
        s = smtplib.SMTP("127.0.0.1", self.t.port("submission"),
                         timeout=10)
        code, msg = s.ehlo("client.example")
        self.assertEqual(code, 250)
        self.assertTrue(s.has_extn("starttls"))
        code, _ = s.starttls(context=client_tls())
        self.assertEqual(code, 220)
        self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))
        code, _ = s.ehlo("client.example")
        self.assertEqual(code, 250)
        self.assertFalse(s.has_extn("starttls"))
        self.assertEqual(s.noop()[0], 250)
        s.quit()

    def test_smtp_second_starttls_refused(self):
        c = self.t.connect("smtp")
        c.line()
        self.assertEqual(c.cmd("STARTTLS")[:3], "220")
        c.starttls()
        self.assertEqual(c.cmd("STARTTLS"),
                         "503 5.5.1 TLS already active")
        c.close()

    def test_smtp_pipelined_before_starttls_discarded(self):
        c = self.t.connect("smtp")
        c.line()
        c.send("STARTTLS\r\nFROBNICATE\r\n")
        self.assertEqual(c.line()[:3], "220")
        c.starttls()
        # The injected FROBNICATE must not be answered inside TLS.
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        c.close()

    def test_smtps_implicit_tls(self):
        s = smtplib.SMTP_SSL("127.0.0.1", self.t.port("smtps"),
                             timeout=10, context=client_tls())
        self.assertEqual(s.ehlo("client.example")[0], 250)
        self.assertIn(s.sock.version(), ("TLSv1.2", "TLSv1.3"))
        s.quit()

    def test_tls_1_1_refused(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError) as e:
            self.fail("client cannot offer TLS 1.1: %s" % e)
        s = socket.create_connection(("127.0.0.1", self.t.port("smtps")),
                                     timeout=10)
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            ctx.wrap_socket(s).recv(100)
        s.close()

    def test_smtp_line_too_long(self):
        c = self.t.connect("smtp")
        c.line()
        self.assertEqual(c.cmd("NOOP " + "x" * 600),
                         "500 5.5.2 Line too long")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 OK")
        c.close()

    def test_smtp_too_many_errors(self):
        c = self.t.connect("smtp")
        c.line()
        for _ in range(9):
            self.assertEqual(c.cmd("BOGUS")[:3], "500")
        self.assertEqual(c.cmd("BOGUS")[:3], "500")
        self.assertEqual(c.line()[:3], "421")
        self.assertTrue(c.closed())

    def test_imap_greeting_capability_logout(self):
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=10)
        self.assertIn(b"Tresor", m.welcome)
        typ, data = m.capability()
        self.assertEqual(typ, "OK")
        self.assertIn(b"STARTTLS", data[0])
        # plaintext-auth on this loopback listener: passwords allowed.
        self.assertIn(b"AUTH=PLAIN", data[0])
        self.assertNotIn(b"LOGINDISABLED", data[0])
        self.assertEqual(m.noop()[0], "OK")
        typ, _ = m.logout()
        self.assertEqual(typ, "BYE")

    def test_imap_starttls_and_implicit(self):
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=10)
        m.starttls(ssl_context=client_tls())
        typ, data = m.capability()
        self.assertNotIn(b"STARTTLS", data[0])
        m.logout()
        m = imaplib.IMAP4_SSL("127.0.0.1", self.t.port("imaps"),
                              ssl_context=client_tls(), timeout=10)
        self.assertEqual(m.noop()[0], "OK")
        m.logout()

    def test_imap_bad_input(self):
        c = self.t.connect("imap")
        self.assertTrue(c.line().startswith("* OK"))
        self.assertEqual(c.cmd("a1 FROBNICATE"), "a1 BAD Unknown command")
        self.assertEqual(c.cmd("a2 SELECT INBOX"), "a2 BAD Log in first")
        self.assertEqual(c.cmd("NOTAG"), "* BAD Missing or invalid tag")
        self.assertEqual(c.cmd("a+b NOOP"), "* BAD Missing or invalid tag")
        self.assertEqual(c.cmd("a3 NOOP " + "x" * 70000),
                         "a3 BAD [TOOBIG] Line too long (at most 65536 "
                         "octets)")
        self.assertEqual(c.cmd("a4 NOOP"), "a4 OK NOOP completed")
        c.close()

    def test_pop3_greeting_capa_stls(self):
        p = poplib.POP3("127.0.0.1", self.t.port("pop3"), timeout=10)
        self.assertIn(b"+OK", p.getwelcome())
        caps = p.capa()
        self.assertIn("STLS", caps)
        p.stls(context=client_tls())
        self.assertNotIn("STLS", p.capa())
        p.quit()
        p = poplib.POP3_SSL("127.0.0.1", self.t.port("pop3s"),
                            context=client_tls(), timeout=10)
        self.assertIn(b"+OK", p.getwelcome())
        p.quit()

    def test_pop3_bad_input(self):
        c = self.t.connect("pop3")
        self.assertTrue(c.line().startswith("+OK"))
        self.assertEqual(c.cmd("FROB"), "-ERR Unknown command")
        self.assertEqual(c.cmd("USER " + "x" * 300), "-ERR Line too long")
        self.assertEqual(c.cmd("QUIT"), "+OK Bye")
        self.assertTrue(c.closed())

    def test_ctl_log_verbose_and_brief(self):
        out, err, rc = self.t.ctl("log", "verbose")
        self.assertEqual(rc, 0)
        out, err, rc = self.t.ctl("log", "brief")
        self.assertEqual(rc, 0)
        self.t.wait_log(r"audit: event=ctl uid=\d+ command=log-brief")

    def test_ctl_usage_errors(self):
        out, err, rc = self.t.ctl("frobnicate", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("unknown command", err)
        self.assertIn("usage:", err)
        out, err, rc = self.t.ctl("s", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("ambiguous command", err)
        out, err, rc = self.t.ctl("sta", check=True)
        self.assertIn("PROCESS", out)

    @unittest.skipUnless(IS_ROOT, "needs root to run ctl as another user")
    def test_ctl_refused_for_other_users(self):
        # The socket is 0660 root:_tresor-ctl: nobody cannot connect.
        out, err, rc = self.t.ctl("status", user="nobody", check=False)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")

    def test_ctl_no_daemon(self):
        p = subprocess.run([CTL, "-s", self.t.path("nonexistent.sock"),
                            "status"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"ctld is not running", p.stderr)

    def test_audit_addresses_anonymised(self):
        c = self.t.connect("smtp")
        c.line()
        c.cmd("QUIT")
        c.close()
        self.t.wait_log(r"smtp: session \d+ from a-[0-9a-f]{16}")
        self.assertNotIn("from 127.0.0.1", self.t.logtext())


def restarted(t, role, before):
    """One snapshot: role runs again, under a new pid."""
    st = t.status()[role]
    return (st["state"] == "running" and st["pid"] is not None and
            st["pid"] != before[role]["pid"])


class Supervision(unittest.TestCase):
    """Each test gets its own daemon: these kill things."""

    def setUp(self):
        self.t = Tresor()
        self.t.start()

    def tearDown(self):
        try:
            self.t.stop()
        finally:
            self.t.cleanup()

    def test_front_killed_comes_back_alone(self):
        for role, port in (("smtpd", "smtp"), ("imapd", "imap")):
            before = self.t.status()
            os.kill(before[role]["pid"], signal.SIGKILL)
            # The others keep serving meanwhile.
            other = "imap" if port == "smtp" else "smtp"
            c = self.t.connect(other)
            self.assertTrue(c.line()[:1] in ("2", "*"))
            c.close()
            wait_for(lambda: restarted(self.t, role, before), 30,
                     role + " restarted")
            after = self.t.status()
            self.assertEqual(after[role]["restarts"], 1)
            for r in ROLES:
                if r != role:
                    self.assertEqual(after[r]["pid"], before[r]["pid"])
            c = self.t.connect(port)
            self.assertTrue(c.line()[:1] in ("2", "*"))
            c.close()
        self.t.wait_log(r"audit: event=child-restart role=smtpd")

    def test_vaultd_killed_fronts_rewired(self):
        before = self.t.status()
        os.kill(before["vaultd"]["pid"], signal.SIGKILL)
        wait_for(lambda: restarted(self.t, "vaultd", before), 30,
                 "vaultd restarted")
        self.t.wait_log(r"smtpd\[\d+\]: connected to vaultd", count=2)
        self.t.wait_log(r"imapd\[\d+\]: connected to vaultd", count=2)
        after = self.t.status()
        self.assertEqual(after["smtpd"]["pid"], before["smtpd"]["pid"])
        self.assertEqual(after["imapd"]["pid"], before["imapd"]["pid"])

    def test_sigterm_leaves_nothing(self):
        st = self.t.status()
        pids = [st[r]["pid"] for r in ROLES]
        rc = self.t.stop()
        self.assertEqual(rc, 0)
        for pid in pids:
            self.assertFalse(os.path.exists("/proc/%d" % pid) and
                             open("/proc/%d/stat" % pid).read().split()[2]
                             != "Z", "pid %d still there" % pid)
        self.assertFalse(os.path.exists(self.t.sock))

    def test_ctl_stop(self):
        pid = self.t.proc.pid
        out, err, rc = self.t.ctl("stop")
        self.assertEqual(rc, 0)
        self.t.proc.wait(30)
        self.assertEqual(self.t.proc.returncode, 0)
        self.assertFalse(os.path.exists("/proc/%d" % pid) and
                         open("/proc/%d/stat" % pid).read().split()[2]
                         != "Z")

    def test_crash_loop_stops_restarts(self):
        # Five deaths inside a minute: ctld gives up on the child.
        for i in range(5):
            st = wait_for(lambda: (lambda s: s if s["imapd"]["state"] ==
                                   "running" else None)(self.t.status()),
                          40, "imapd running")
            os.kill(st["imapd"]["pid"], signal.SIGKILL)
            wait_for(lambda: self.t.status()["imapd"]["pid"] !=
                     st["imapd"]["pid"] or
                     self.t.status()["imapd"]["state"] != "running",
                     20, "imapd noticed dead")
        wait_for(lambda: self.t.status()["imapd"]["state"] == "failed",
                 20, "imapd failed")
        self.t.wait_log(r"audit: event=crash-loop role=imapd")
        # Others still serve; reload gives it another chance.
        c = self.t.connect("smtp")
        self.assertEqual(c.line()[:3], "220")
        c.close()
        self.t.ctl("reload")
        wait_for(lambda: self.t.status()["imapd"]["state"] == "running",
                 20, "imapd back after reload")

    def test_reload_new_listener_and_bad_config(self):
        # A good change: a new listener appears after reload.
        from tresor import free_ports
        newport = free_ports(1)[0]
        self.t.write_conf("listen on 127.0.0.1 port %d smtp tls none" %
                          newport)
        self.t.ctl("reload")
        def greets():
            try:
                s = socket.create_connection(("127.0.0.1", newport), 2)
                data = s.recv(100)
                s.close()
            except OSError:
                return False
            return data.startswith(b"220 ")
        wait_for(greets, 20, "new listener")
        # A bad change: refused, and the running configuration stays.
        self.t.write_conf("listen on 127.0.0.1 port 0 smtp")
        out, err, rc = self.t.ctl("reload", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("has errors", err)
        self.t.wait_log(r"tresor\.conf:\d+: ")
        self.assertTrue(greets())
        # SIGHUP reloads too.
        self.t.write_conf("")
        self.t.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: not greets(), 20, "listener removed by SIGHUP")

    def test_connection_limits(self):
        self.t.stop()
        self.t.cleanup()
        self.t = Tresor(extra="limit connections 3\n"
                        "limit connections per-address 2")
        self.t.start()
        a = self.t.connect("smtp")
        b = self.t.connect("smtp")
        self.assertEqual(a.line()[:3], "220")
        self.assertEqual(b.line()[:3], "220")
        c = self.t.connect("smtp")
        self.assertEqual(c.line(),
                         "421 4.7.0 Too many connections from your address")
        self.assertTrue(c.closed())
        self.t.wait_log(r"audit: event=connection-refused client=a-[0-9a-f]+"
                        r" proto=smtp reason=limit-per-address")
        a.cmd("QUIT")
        a.closed()
        wait_for(lambda: self.t.connect("smtp").line()[:3] == "220", 10,
                 "slot freed")

    def test_idle_timeout(self):
        self.t.stop()
        self.t.cleanup()
        self.t = Tresor(extra="limit timeout idle 2s")
        self.t.start()
        c = self.t.connect("smtp")
        c.line()
        c.sock.settimeout(15)
        self.assertRegex(c.line(), r"^421 4\.4\.2 .*Timeout")
        self.assertTrue(c.closed())
        c = self.t.connect("pop3")
        c.line()
        c.sock.settimeout(15)
        self.assertEqual(c.line(), "-ERR Timeout, closing connection")


class Daemonised(unittest.TestCase):
    """Without -d: ctld detaches and the children log through it."""

    def test_children_stay_up_when_logging_through_ctld(self):
        t = Tresor()
        try:
            p = subprocess.run([CTLD, "-v", "-f", t.conf], timeout=30,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=t.env())
            self.assertEqual(p.returncode, 0, p.stderr)
            wait_for(lambda: (t.status(check=False) or {}).get(
                "smtpd", {}).get("state") == "running", 20, "smtpd up")
            # Sessions make the fronts log; they must not die of it.
            for name in ("smtp", "imap", "pop3"):
                c = t.connect(name)
                c.line()
                c.close()
            time.sleep(1)
            st = t.status()
            for role in ROLES:
                self.assertEqual(st[role]["state"], "running", role)
                self.assertEqual(st[role]["restarts"], 0, role)
            # A second ctld on the same socket is refused, on stderr.
            p = subprocess.run([CTLD, "-f", t.conf], timeout=30,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=t.env())
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"already", p.stderr)
            pid = st["ctld"]["pid"]
            t.ctl("stop")
            wait_for(lambda: not os.path.exists("/proc/%d" % pid), 30,
                     "ctld gone")
        finally:
            # Detached: stop it whatever happened above.
            if os.path.exists(t.sock):
                t.ctl("stop", check=False)
            t.cleanup()


def imsg_types():
    """enum imsg_type's numbers, read from common/wire/msg.h."""
    import re
    from tresor import TOP
    text = open(os.path.join(TOP, "common", "wire", "msg.h")).read()
    body = text[text.index("enum imsg_type {"):]
    body = body[:body.index("};")]
    names = re.findall(r"^\s*(IMSG_[A-Z_]+),", body, re.M)
    return {n: i for i, n in enumerate(names)}


class ControlProtocol(unittest.TestCase):
    def test_version_mismatch_refused(self):
        import struct
        t = Tresor()
        try:
            t.start()
            types = imsg_types()
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(t.sock)
            # A request from "another build": the wrong version.
            s.sendall(struct.pack("=IIII", types["IMSG_CTL_STATUS"], 16,
                                  99999, os.getpid()))
            hdr = b""
            while len(hdr) < 16:
                hdr += s.recv(16 - len(hdr))
            typ, length, peerid, pid = struct.unpack("=IIII", hdr)
            self.assertEqual(typ, types["IMSG_CTL_FAIL"])
            body = b""
            while len(body) < length - 16:
                body += s.recv(length - 16 - len(body))
            self.assertIn(b"protocol", body)
            # A malformed one (wrong size for its type) drops us.
            s.sendall(struct.pack("=IIII", types["IMSG_CTL_VERBOSE"], 17,
                                  int(peerid), 0) + b"x")
            self.assertEqual(s.recv(100), b"")
            s.close()
            # ctld itself is unharmed.
            self.assertEqual(t.status()["ctld"]["state"], "running")
        finally:
            t.stop()
            t.cleanup()


@unittest.skipUnless(IS_ROOT, "needs root to become another user")
class Unprivileged(unittest.TestCase):
    """Started by a normal user: separate, sandboxed as far as can be."""

    def test_runs_as_nobody(self):
        t = Tresor()
        try:
            pw = pwd.getpwnam("nobody")
            for root, dirs, files in os.walk(t.dir):
                os.chown(root, pw.pw_uid, pw.pw_gid)
                for f in files:
                    os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)

            def drop():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
            t.log = open(t.logpath, "ab")
            t.proc = subprocess.Popen([CTLD, "-d", "-v", "-f", t.conf],
                                      stdout=t.log,
                                      stderr=subprocess.STDOUT, cwd=t.dir,
                                      env=t.env(), preexec_fn=drop)
            t.wait_ready()
            st = t.status()
            for role in ("smtpd", "imapd", "vaultd"):
                ps = proc_status(st[role]["pid"])
                self.assertEqual(ps["Uid"].split()[0], str(pw.pw_uid))
                self.assertEqual(ps["NoNewPrivs"].strip(), "1", role)
                self.assertEqual(ps["Seccomp"].strip(), "2", role)
            t.wait_log(r"not started as root")
            c = t.connect("smtp")
            self.assertEqual(c.line()[:3], "220")
            c.close()
        finally:
            t.stop()
            t.cleanup()


class CheckMode(unittest.TestCase):
    def test_n_prints_config(self):
        t = Tresor()
        try:
            p = subprocess.run([CTLD, "-n", "-f", t.conf],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"configuration OK", p.stderr)
            self.assertIn(("listen on 127.0.0.1 port %d smtp" %
                           t.port("smtp")).encode(), p.stdout)
        finally:
            t.cleanup()

    def test_n_builtin_default(self):
        p = subprocess.run([CTLD, "-n"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0)
        for port in (2525, 2587, 2465, 1143, 1993, 1110, 1995):
            self.assertIn(("port %d" % port).encode(), p.stdout)

    def test_n_bad_config(self):
        t = Tresor(extra="listen on 127.0.0.1 port 99999 smtp\nbogus")
        try:
            p = subprocess.run([CTLD, "-n", "-f", t.conf],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10)
            self.assertEqual(p.returncode, 1)
            err = p.stderr.decode()
            self.assertRegex(err, r"tresor\.conf:14: ")
            self.assertRegex(err, r"tresor\.conf:15: ")
        finally:
            t.cleanup()


if __name__ == "__main__":
    unittest.main()
