"""The TLS policy of every listener: TLS 1.2 with forward secrecy and
authenticated encryption only (no CBC suite, so no LUCKY13 and its kin),
TLS 1.3 as it comes, and `tls ciphers` for an operator who needs
otherwise.  Each of the seven listeners is tried: the implicit-TLS ones
directly, the others after their protocol's STARTTLS (SMTP STARTTLS,
IMAP STARTTLS, POP3 STLS), with Python's ssl module and with openssl
s_client."""

import imaplib
import poplib
import smtplib
import socket
import ssl
import subprocess
import unittest

from tresor import CTLD, LISTENERS, DaemonCase, require_tool

# The CBC suites a TLS scanner found on every listener before the
# policy: all ECDHE-ECDSA (the self-signed key is P-256).
CBC_SUITES = (
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-ECDSA-CAMELLIA256-SHA384",
    "ECDHE-ECDSA-CAMELLIA128-SHA256",
)
AEAD_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
)


def client_ctx(cipher=None, tls13=False):
    """A client context that offers exactly one TLS 1.2 suite, or TLS 1.3
    only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        # @SECLEVEL=0: let the client offer what the server must refuse.
        ctx.set_ciphers(cipher + ":@SECLEVEL=0")
    return ctx


def quietly(close):
    """Close a client whose handshake may have failed half-way."""
    try:
        close()
    except OSError:
        pass


def handshake(port, proto, mode, ctx):
    """The suite negotiated on this listener, or raise ssl.SSLError."""
    if mode == "implicit":
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            with ctx.wrap_socket(s) as t:
                return t.cipher()[0]
    if proto in ("smtp", "submission"):
        c = smtplib.SMTP("127.0.0.1", port, timeout=20)
        try:
            c.ehlo("client.example")
            c.starttls(context=ctx)
            return c.sock.cipher()[0]
        finally:
            quietly(c.close)
    if proto == "imap":
        c = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        try:
            c.starttls(ssl_context=ctx)
            return c.sock.cipher()[0]
        finally:
            quietly(c.shutdown)
    c = poplib.POP3("127.0.0.1", port, timeout=20)
    try:
        c.stls(context=ctx)
        return c.sock.cipher()[0]
    finally:
        quietly(c.close)


class DefaultPolicy(DaemonCase):
    def test_cbc_refused_everywhere_bcp195(self):
        """RFC 9325 (BCP 195) 4.2: only AEAD suites with forward secrecy.
        Each CBC suite alone is refused by each of the seven listeners."""
        for name, proto, mode, _ in LISTENERS:
            for suite in CBC_SUITES:
                with self.subTest(listener=name, suite=suite):
                    with self.assertRaises((ssl.SSLError, ConnectionError)):
                        handshake(self.t.port(name), proto, mode,
                                  client_ctx(suite))

    def test_aead_and_tls13_accepted(self):
        for name, proto, mode, _ in LISTENERS:
            for suite in AEAD_SUITES:
                with self.subTest(listener=name, suite=suite):
                    self.assertEqual(handshake(self.t.port(name), proto,
                                               mode, client_ctx(suite)),
                                     suite)
            with self.subTest(listener=name, suite="TLS 1.3"):
                got = handshake(self.t.port(name), proto, mode,
                                client_ctx(tls13=True))
                self.assertTrue(got.startswith("TLS_"), got)

    def test_openssl_s_client(self):
        """The same with openssl s_client, a CBC suite on an implicit and
        on a STARTTLS listener: no cipher is agreed."""
        require_tool(self, "openssl")
        for name, extra in (("smtps", []),
                            ("imap", ["-starttls", "imap"]),
                            ("smtp", ["-starttls", "smtp"])):
            for suite, ok in (("ECDHE-ECDSA-AES128-SHA", False),
                              ("ECDHE-ECDSA-AES128-GCM-SHA256", True)):
                with self.subTest(listener=name, suite=suite):
                    p = subprocess.run(
                        ["openssl", "s_client", "-connect",
                         "127.0.0.1:%d" % self.t.port(name), "-tls1_2",
                         "-cipher", suite + ":@SECLEVEL=0"] + extra,
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, timeout=30)
                    out = p.stdout.decode("utf-8", "replace")
                    if ok:
                        self.assertIn("Cipher is " + suite, out)
                    else:
                        self.assertNotEqual(p.returncode, 0, out)
                        self.assertNotIn("Cipher is " + suite, out)


class SelfSigned(DaemonCase):
    """The built-in configuration's self-signed certificate names what
    the README tells users to connect to: a client that verifies it
    (given the certificate as its trust anchor) accepts 127.0.0.1,
    localhost and ::1 as well as the host name."""

    def test_verifying_clients_accept_loopback_names(self):
        cert = self.t.path("tls", "cert.pem")
        for name in ("127.0.0.1", "localhost", "::1", "mx.test.example"):
            with self.subTest(name=name):
                ctx = ssl.create_default_context(cafile=cert)
                port = self.t.port("smtps")
                with socket.create_connection(("127.0.0.1", port),
                                              timeout=20) as s:
                    with ctx.wrap_socket(s, server_hostname=name) as t:
                        self.assertIn(t.version(), ("TLSv1.2", "TLSv1.3"))
        with self.subTest(name="other.example"):
            ctx = ssl.create_default_context(cafile=cert)
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=20) as s:
                with self.assertRaises(ssl.SSLCertVerificationError):
                    ctx.wrap_socket(s, server_hostname="other.example")

    def test_swaks_tls_verify(self):
        require_tool(self, "swaks")
        p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" %
                            self.t.port("smtps"), "--tlsc", "--tls-verify",
                            "--tls-ca-path", self.t.path("tls", "cert.pem"),
                            "--quit-after", "EHLO", "--timeout", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("250 ENHANCEDSTATUSCODES", out)


class OperatorCiphers(DaemonCase):
    """`tls ciphers "compat"` brings the CBC suites back: the knob
    works, and only the operator can choose it."""
    extra = 'tls ciphers "compat"'

    def test_compat_offers_cbc(self):
        for name in ("smtps", "imaps", "pop3s"):
            port = self.t.port(name)
            self.assertEqual(handshake(port, "", "implicit",
                                       client_ctx("ECDHE-ECDSA-AES128-SHA")),
                             "ECDHE-ECDSA-AES128-SHA")

    def test_ctld_checks_and_prints_the_list(self):
        p = subprocess.run([CTLD, "-n", "-f", self.t.conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        self.assertIn('tls ciphers "compat"\n', out)
        # A list libtls refuses is an error at its file and line.
        bad = self.t.path("bad.conf")
        with open(bad, "w") as f:
            f.write(self.t.conf_text('tls ciphers "NO-SUCH-CIPHER"'))
        p = subprocess.run([CTLD, "-n", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 1, out)
        n = self.t.conf_text('tls ciphers "NO-SUCH-CIPHER"').splitlines(
            ).index('tls ciphers "NO-SUCH-CIPHER"') + 1
        self.assertIn("%s:%d: cipher list not accepted by libtls" % (bad, n),
                      out)


if __name__ == "__main__":
    unittest.main()
