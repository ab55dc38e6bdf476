# Abuse counted per network prefix: connections and failed logins spread
# over several addresses of one IPv4 /24 add up for the network, while
# a client of another /24 is not affected.  All of 127.0.0.0/8 is
# loopback on Linux, so each client binds its socket to an address of
# 127.1.2.0/24 (or 127.9.9.0/24 for the other network) before it
# connects to the daemons on 127.0.0.1.  (IPv6 /64 and /48 are covered
# by the unit test regress/unit/netprefix_test.c: loopback has ::1 only.)

import re
import socket
import threading
import unittest

from tresor import DaemonCase, LineClient, wait_for

FAST_KDF = "vault kdf ops 1 memory 8M"
PASSWORD = "correct horse battery"
NET = "127.1.2.%d"
OTHER = "127.9.9.9"

# vaultd's limits (vaultd/vaultd.h): failures per account, per address
# and per network within its window.
ACCOUNT_FAILS = 5
NARROW_FAILS = 20
WIDE_FAILS = 60


def connect_from(src, port, timeout=10.0):
    """A LineClient to 127.0.0.1:port from the local address src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        raise
    return LineClient(s)


class ConnectionLimits(DaemonCase):
    """Two connections per address, four per network."""
    extra = ("limit connections 50\n"
             "limit connections per-address 2\n"
             "limit connections per-network 4\n"
             "log addresses plain")
    per_test = True

    def greeted(self, name, src, want):
        c = connect_from(src, self.t.port(name))
        self.addCleanup(c.close)
        line = c.line()
        self.assertTrue(line.startswith(want), (src, line))
        return c

    def fill(self, name, greeting):
        """Two connections from each of two addresses of the /24."""
        return [self.greeted(name, NET % host, greeting)
                for host in (3, 4) for _ in range(2)]

    def test_smtp_network_full(self):
        held = self.fill("smtp", "220 ")
        # The network is full: a third address of it is refused...
        c = self.greeted("smtp", NET % 5,
                         "421 4.7.0 Too many connections from your network")
        self.assertTrue(c.closed())
        self.t.wait_log(r"audit: event=connection-refused client=127\.1\.2\.5"
                        r" proto=smtp reason=limit-per-network "
                        r"network=127\.1\.2\.0/24")
        # ...an address already at its own limit is refused for that...
        c = self.greeted("smtp", NET % 3,
                         "421 4.7.0 Too many connections from your address")
        self.assertTrue(c.closed())
        # ...and another network is not affected.
        self.greeted("smtp", OTHER, "220 ")
        self.greeted("smtp", "127.9.9.10", "220 ")
        # One connection of the /24 ends: another address may come in.
        self.assertEqual(held[0].cmd("QUIT")[:3], "221")
        self.assertTrue(held[0].closed())
        wait_for(lambda: self.try_greet("smtp", NET % 6, "220 "), 10,
                 "a slot of the network freed")

    def try_greet(self, name, src, want):
        c = connect_from(src, self.t.port(name))
        try:
            return c.line().startswith(want)
        finally:
            c.close()

    def test_imap_network_full(self):
        self.fill("imap", "* OK")
        c = self.greeted("imap", NET % 200, "* BYE [UNAVAILABLE] Too many "
                         "connections from your network")
        self.assertTrue(c.closed())
        self.greeted("imap", OTHER, "* OK")
        self.t.wait_log(r"client=127\.1\.2\.200 proto=imap "
                        r"reason=limit-per-network network=127\.1\.2\.0/24")


class LoginLimits(DaemonCase):
    """Failed logins rotated over addresses and accounts: each address
    and each account stays under its own limit, the network does not."""
    extra = FAST_KDF
    per_test = True
    password = PASSWORD

    def login(self, src, user, password):
        """The tagged answer to one IMAP LOGIN from src."""
        c = connect_from(src, self.t.port("imap"), timeout=30)
        try:
            c.line()
            return c.cmd('a LOGIN %s "%s"' % (user, password))
        finally:
            c.close()

    def test_network_locked_out(self):
        self.add_user("alice@test.example")
        # WIDE_FAILS failures: each address below NARROW_FAILS, each
        # account below ACCOUNT_FAILS.
        per_addr = NARROW_FAILS - 5
        per_account = ACCOUNT_FAILS - 1
        attempts = [(NET % (10 + i // per_addr),
                     "nobody%d@test.example" % (i // per_account))
                    for i in range(WIDE_FAILS)]
        self.assertGreater(len(set(a for a, _ in attempts)), 1)
        answers = []
        lock = threading.Lock()

        def worker(batch):
            for src, user in batch:
                r = self.login(src, user, "wrong password")
                with lock:
                    answers.append(r)

        # Failures are answered late (a second each): some at once,
        # a bounded number of threads, each a bounded list.
        nthreads = 12
        threads = [threading.Thread(target=worker,
                                    args=(attempts[k::nthreads],))
                   for k in range(nthreads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertFalse(any(th.is_alive() for th in threads))
        self.assertEqual(len(answers), WIDE_FAILS)
        for r in answers:
            self.assertEqual(r, "a NO [AUTHENTICATIONFAILED] "
                             "Authentication failed")
        self.t.wait_log(r"audit: event=auth-lockout network=a-[0-9a-f]{16} "
                        r"limit=per-network seconds=\d+")

        # A fresh address of that network, the right password: refused.
        r = self.login(NET % 99, "alice@test.example", PASSWORD)
        self.assertEqual(r, "a NO [UNAVAILABLE] Too many failed logins; "
                         "try again later")
        self.t.wait_log(r"audit: event=auth-refused "
                        r"account=alice@test\.example client=a-[0-9a-f]{16} "
                        r"network=a-[0-9a-f]{16} reason=locked-out "
                        r"limit=per-network")
        # Another network logs in.
        r = self.login(OTHER, "alice@test.example", PASSWORD)
        self.assertTrue(r.startswith("a OK"), r)
        # No address and no account reached its own limit.
        log = self.t.logtext()
        self.assertNotIn("limit=per-address", log)
        self.assertEqual(len(re.findall(r"event=auth-lockout account=",
                                        log)), 0)
        # The keys are the network's, anonymised: one network key for
        # every failure, as many client keys as addresses used.
        fails = re.findall(r"event=auth-failure account=\S+ "
                           r"client=(a-[0-9a-f]{16}) "
                           r"network=(a-[0-9a-f]{16})", log)
        self.assertEqual(len(fails), WIDE_FAILS)
        self.assertEqual(len(set(n for _, n in fails)), 1)
        self.assertEqual(len(set(c for c, _ in fails)),
                         len(set(a for a, _ in attempts)))
        for addr in set(a for a, _ in attempts):
            self.assertNotIn(addr, log)


if __name__ == "__main__":
    unittest.main()
