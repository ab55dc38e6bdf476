"""ctld itself (issue 14, item 7): no core file, not dumpable, and as
root only the capabilities it and its children use, in its bounding set
too; a seccomp allow-list on ctld, with the children started by a
spawner forked before it so that they do not inherit it, and still
ctld's children.  Everything else must still work with that: reload, a
child restarted, ctl, a stop that signals children of other users."""

import os
import pwd
import signal
import subprocess
import unittest

from tresor import CTLD, IS_ROOT, DaemonCase, Tresor, wait_for

# Keep in step with caps_keep[] in ctld/caps.c.
KEPT = {
    "chown": 0,
    "dac_override": 1,
    "fowner": 3,
    "kill": 5,
    "setgid": 6,
    "setuid": 7,
    "net_bind_service": 10,
    "sys_chroot": 18,
    "sys_resource": 24,
}
KEPT_MASK = sum(1 << bit for bit in KEPT.values())
CAP_SETPCAP = 8


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict((k, v.strip()) for k, v in
                    (l.split(":", 1) for l in f.read().splitlines()
                     if ":" in l))


def ppid(pid):
    return int(proc_status(pid)["PPid"])


def gone(pid):
    """The process no longer runs (gone, or a zombie nobody reaped)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    raise AssertionError("no core limit in /proc/%d/limits" % pid)


@unittest.skipUnless(IS_ROOT, "capabilities are dropped by root only")
class AsRoot(DaemonCase):
    may_exit = ("smtpd",)     # killed to see it restarted

    def ctld_pid(self):
        return self.t.proc.pid

    def check_caps(self):
        mine = proc_status(os.getpid())
        prm = int(mine["CapPrm"], 16)
        bnd = int(mine["CapBnd"], 16)
        ps = proc_status(self.ctld_pid())
        self.assertEqual(int(ps["CapEff"], 16), KEPT_MASK & prm,
                         ps["CapEff"])
        self.assertEqual(int(ps["CapPrm"], 16), KEPT_MASK & prm,
                         ps["CapPrm"])
        self.assertEqual(int(ps["CapInh"], 16), 0)
        self.assertEqual(int(ps["CapAmb"], 16), 0)
        if prm & (1 << CAP_SETPCAP):
            self.assertEqual(int(ps["CapBnd"], 16), KEPT_MASK & bnd,
                             ps["CapBnd"])
        else:
            self.assertEqual(int(ps["CapBnd"], 16), bnd)

    def test_capabilities(self):
        self.check_caps()
        self.t.wait_log(r"capabilities: kept chown,")

    def test_children_have_none(self):
        st = self.t.status()
        setpcap = (int(proc_status(os.getpid())["CapPrm"], 16) &
                   (1 << CAP_SETPCAP))
        for role in ("smtpd", "imapd", "vaultd"):
            ps = proc_status(st[role]["pid"])
            for s in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
                self.assertEqual(int(ps[s], 16), 0, (role, s, ps[s]))
            if setpcap:
                self.assertEqual(int(ps["CapBnd"], 16) & ~KEPT_MASK, 0,
                                 (role, ps["CapBnd"]))
            self.assertEqual(core_limit(st[role]["pid"]), ["0", "0"])

    def test_no_core(self):
        self.assertEqual(core_limit(self.ctld_pid()), ["0", "0"])

    def test_still_works_after_reload_and_restart(self):
        self.t.ctl("reload")
        self.t.wait_log(r"configuration reloaded")
        before = self.t.status()
        os.kill(before["smtpd"]["pid"], signal.SIGKILL)

        def back():
            st = self.t.status(check=False)
            return (st is not None and
                    st["smtpd"]["state"] == "running" and
                    st["smtpd"]["pid"] != before["smtpd"]["pid"])
        wait_for(back, 30, "smtpd restarted")
        c = self.t.connect("smtp")
        self.assertEqual(c.line()[:3], "220")
        c.close()
        self.check_caps()


class Seccomp(DaemonCase):
    """ctld under its own filter; the children under theirs alone."""
    may_exit = ("smtpd", "imapd")

    def spawner(self):
        roles = set(st["pid"] for st in self.t.status().values())
        others = [k for k in self.t.children_of_ctld() if k not in roles]
        self.assertEqual(len(others), 1, others)
        return others[0]

    def test_ctld_filtered(self):
        ps = proc_status(self.t.proc.pid)
        self.assertEqual(ps["Seccomp"], "2")
        self.assertEqual(ps["NoNewPrivs"], "1")
        if "Seccomp_filters" in ps:
            self.assertEqual(ps["Seccomp_filters"], "1")
        self.t.wait_log(r"sandbox: ctld nonewprivs=1 seccomp=1")

    def test_children_are_ctlds_with_their_own_filter(self):
        st = self.t.status()
        for role in ("smtpd", "imapd", "vaultd"):
            pid = st[role]["pid"]
            self.assertEqual(ppid(pid), self.t.proc.pid, role)
            ps = proc_status(pid)
            self.assertEqual(ps["Seccomp"], "2", role)
            # One filter, their own: ctld's did not come along.
            if "Seccomp_filters" in ps:
                self.assertEqual(ps["Seccomp_filters"], "1", role)

    def test_spawner_unfiltered(self):
        ps = proc_status(self.spawner())
        self.assertEqual(ps["Name"], "ctld-spawner")
        self.assertEqual(int(ps["PPid"]), self.t.proc.pid)
        self.assertEqual(ps["Seccomp"], "0")
        self.assertEqual(ps["NoNewPrivs"], "0")

    def test_restart_and_ctl_under_the_filter(self):
        """kill -9 of both fronts: ctld reaps them (SIGCHLD, waitpid),
        has the spawner start new ones, which are again its children;
        ctl status, verbose, reload and user add go through."""
        before = self.t.status()
        for role in ("smtpd", "imapd"):
            os.kill(before[role]["pid"], signal.SIGKILL)

        def back():
            st = self.t.status(check=False)
            return (st is not None and
                    all(st[r]["state"] == "running" and
                        st[r]["pid"] != before[r]["pid"]
                        for r in ("smtpd", "imapd")))
        wait_for(back, 30, "smtpd and imapd restarted")
        st = self.t.status()
        for role in ("smtpd", "imapd"):
            self.assertEqual(ppid(st[role]["pid"]), self.t.proc.pid)
        self.t.ctl("log", "brief")
        self.t.ctl("log", "verbose")
        self.t.ctl("reload")
        self.t.add_user("seccomp@test.example", "correct horse battery")
        c = self.t.connect("imap")
        self.assertTrue(c.line().startswith("* OK"))
        c.close()
        self.assertEqual(proc_status(self.t.proc.pid)["Seccomp"], "2")


class SpawnerLifetime(unittest.TestCase):
    """The spawner and ctld go together, whichever dies first."""

    def setUp(self):
        self.t = Tresor()
        try:
            self.t.start()
        except Exception:
            self.t.cleanup()
            raise

    def tearDown(self):
        try:
            self.t.stop()
        finally:
            self.t.cleanup()

    def family(self):
        st = self.t.status()
        kids = self.t.children_of_ctld()
        roles = [st[r]["pid"] for r in ("smtpd", "imapd", "vaultd")]
        spawner = [k for k in kids if k not in roles]
        self.assertEqual(len(spawner), 1)
        return spawner[0], roles

    def test_ctld_killed(self):
        spawner, roles = self.family()
        self.t.proc.kill()
        self.t.proc.wait(10)
        for pid in [spawner] + roles:
            wait_for(lambda: gone(pid), 20, "pid %d to go" % pid)

    def test_stop_kills_a_stuck_child(self):
        """A child that ignores SIGTERM (stopped) is killed after the
        grace period; ctld waits for it and exits, though the spawner,
        also its child, is still there."""
        spawner, roles = self.family()
        os.kill(roles[0], signal.SIGSTOP)
        self.assertEqual(self.t.stop(timeout=60), 0)
        self.assertIn("killing them", self.t.logtext())
        for pid in [spawner] + roles:
            wait_for(lambda: gone(pid), 20, "pid %d to go" % pid)

    def test_spawner_killed(self):
        spawner, roles = self.family()
        os.kill(spawner, signal.SIGKILL)
        self.assertEqual(self.t.proc.wait(20), 1)
        self.assertIn("the spawner exited", self.t.logtext())
        for pid in roles:
            wait_for(lambda: gone(pid), 20, "pid %d to go" % pid)


class NotDumpable(unittest.TestCase):
    """Not dumpable: /proc/<pid> belongs to root and the process's own
    user cannot read its environment.  Seen from an unprivileged ctld,
    where the difference shows."""

    def test_not_dumpable(self):
        t = Tresor()
        pw = pwd.getpwnam("nobody") if IS_ROOT else None
        try:
            if IS_ROOT:
                for root, dirs, files in os.walk(t.dir):
                    os.chown(root, pw.pw_uid, pw.pw_gid)
                    for f in files:
                        os.chown(os.path.join(root, f), pw.pw_uid,
                                 pw.pw_gid)

            def drop():
                if pw is not None:
                    os.setgroups([])
                    os.setgid(pw.pw_gid)
                    os.setuid(pw.pw_uid)
            t.log = open(t.logpath, "ab")
            t.proc = subprocess.Popen([CTLD, "-d", "-v", "-f", t.conf],
                                      stdout=t.log,
                                      stderr=subprocess.STDOUT, cwd=t.dir,
                                      env=t.env(), preexec_fn=drop)
            t.wait_ready()
            pid = t.proc.pid
            uid = pw.pw_uid if pw is not None else os.getuid()
            self.assertEqual(proc_status(pid)["Uid"].split()[0], str(uid))
            self.assertEqual(os.stat("/proc/%d/environ" % pid).st_uid, 0)
            self.assertEqual(core_limit(pid), ["0", "0"])
            if pw is not None:
                r = subprocess.run(["cat", "/proc/%d/environ" % pid],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE,
                                   preexec_fn=drop, timeout=30)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(b"Permission denied", r.stderr)
        finally:
            t.stop()
            t.cleanup()


if __name__ == "__main__":
    unittest.main()
