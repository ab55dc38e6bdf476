#!/usr/bin/env python3
#
# Copyright (c) 2026 The Tresor developers
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
#
# The client side of regress/unit/io_*_test.c (started by io_fixture.c):
# connects to 127.0.0.1:PORT and runs the steps given as arguments, in
# order.
#
#	rcvbuf:N	set SO_RCVBUF (before the connection is made)
#	send:TEXT	send TEXT, with Python escapes (\r \n \x00 ...)
#	sendrep:C:N	send the character C N times
#	sleep:MS	wait without reading
#	expect:TEXT	read one line; it must be TEXT followed by CRLF
#	tls:VER		TLS handshake; VER is any, 1.0, 1.1, 1.2 or 1.3
#	tlsfail:VER	a TLS handshake the server must refuse for its version
#	recvpat:N	read N bytes of the pattern 'a' + i % 26
#	slowpat:N	the same, slowly (a client that lags behind)
#	eof		the server must close now (TLS: with a close_notify)
#	drain		read until the end, whatever comes (or an error)
#	close		close the connection
#	unwrap		send a TLS close_notify, then close
#	zon		raw DEFLATE (RFC 4978) both ways from here on
#	zpipe:A:B	send A in clear and B compressed, in one write;
#			compress what is sent from here on
#	zrecv		decompress what is read from here on
#	zbomb:N		send N octets of 'a' compressed (a few KB for MBs)
#	zraw:HEX	send these octets as they are (corrupt input)
#	zrecvpat:N	recvpat through the decompressor
#
# Exit: 0 all steps passed, 1 a step failed, 2 usage, 3 TLS handshake
# failed, 4 the test cannot be done here (no old TLS in this OpenSSL).

import os
import signal
import socket
import ssl
import sys
import time
import warnings
import zlib

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def fail(code, why):
    sys.stderr.write("io_client: %s\n" % why)
    sys.exit(code)


def tls_context(ver):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ver != "any":
        if ver not in VERSIONS:
            fail(2, "bad TLS version %s" % ver)
        if ver in ("1.0", "1.1"):
            # Old protocols need the old ciphers to be offered at all.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = VERSIONS[ver]
        ctx.maximum_version = VERSIONS[ver]
    return ctx


class Conn:
    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.connected = False
        self.buf = b""
        self.pat = 0
        self.comp = None
        self.decomp = None

    def zon(self):
        self.comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.zrecv()

    def zrecv(self):
        self.decomp = zlib.decompressobj(-15)
        # What came after the last line read is compressed already.
        self.buf = self.decomp.decompress(self.buf)

    def send(self, data):
        if self.comp is not None:
            data = (self.comp.compress(data) +
                    self.comp.flush(zlib.Z_SYNC_FLUSH))
        self.sock.sendall(data)

    def more(self, n):
        """Octets from the peer, decompressed; b"" at the end."""
        while True:
            data = self.sock.recv(n)
            if not data or self.decomp is None:
                return data
            data = self.decomp.decompress(data)
            if data:
                return data

    def connect(self):
        if not self.connected:
            self.sock.connect(("127.0.0.1", self.port))
            self.connected = True

    def recv(self, n):
        if self.buf:
            data, self.buf = self.buf[:n], self.buf[n:]
            return data
        return self.more(n)

    def readline(self):
        while b"\n" not in self.buf:
            data = self.more(4096)
            if not data:
                fail(1, "EOF while reading a line (have %r)" % self.buf)
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def recvpat(self, n, slow):
        got = 0
        while got < n:
            data = self.recv(min(8192, n - got))
            if not data:
                fail(1, "EOF after %d of %d pattern bytes" % (got, n))
            for b in data:
                if b != ord("a") + self.pat % 26:
                    fail(1, "pattern byte %d is %r" % (self.pat, b))
                self.pat += 1
            got += len(data)
            if slow:
                time.sleep(0.002)

    def handshake(self, ver):
        ctx = tls_context(ver)
        try:
            # A TLS end without close_notify is an error, not an EOF.
            self.sock = ctx.wrap_socket(self.sock,
                                        suppress_ragged_eofs=False)
        except ssl.SSLError as e:
            return e
        except OSError as e:
            return e
        return None


def main():
    if len(sys.argv) < 2:
        fail(2, "usage: io_client.py port step ...")
    signal.alarm(30)
    # TLS 1.0 and 1.1 are deprecated: that is the point of the test.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    c = Conn(int(sys.argv[1]))
    for step in sys.argv[2:]:
        op, _, arg = step.partition(":")
        if op != "rcvbuf":
            c.connect()
        if op == "rcvbuf":
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                              int(arg))
        elif op == "send":
            data = arg.encode("latin-1").decode("unicode_escape")
            c.send(data.encode("latin-1"))
        elif op == "sendrep":
            ch, _, n = arg.partition(":")
            c.send(ch.encode("latin-1") * int(n))
        elif op == "zon":
            c.zon()
        elif op == "zpipe":
            a, _, b = arg.partition(":")
            a = a.encode("latin-1").decode("unicode_escape")
            b = b.encode("latin-1").decode("unicode_escape")
            c.comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            c.sock.sendall(a.encode("latin-1") +
                           c.comp.compress(b.encode("latin-1")) +
                           c.comp.flush(zlib.Z_SYNC_FLUSH))
        elif op == "zrecv":
            c.zrecv()
        elif op == "zbomb":
            # In pieces: the server stops reading when its buffer is
            # full, and this must not need more than that in memory.
            left = int(arg)
            block = b"a" * 65536
            while left > 0:
                n = min(left, len(block))
                c.sock.sendall(c.comp.compress(block[:n]))
                left -= n
            c.sock.sendall(c.comp.flush(zlib.Z_SYNC_FLUSH))
        elif op == "zraw":
            c.sock.sendall(bytes.fromhex(arg))
        elif op == "zrecvpat":
            c.recvpat(int(arg), False)
        elif op == "sleep":
            time.sleep(int(arg) / 1000.0)
        elif op == "expect":
            line = c.readline()
            want = arg.encode("latin-1") + b"\r\n"
            if line != want:
                fail(1, "expected %r, got %r" % (want, line))
        elif op == "tls":
            err = c.handshake(arg)
            if err is not None:
                fail(3, "handshake: %s" % err)
        elif op == "tlsfail":
            err = c.handshake(arg)
            if err is None:
                fail(1, "handshake with TLS %s succeeded (%s)" %
                     (arg, c.sock.version()))
            reason = getattr(err, "reason", None) or str(err)
            if "NO_PROTOCOLS_AVAILABLE" in str(reason) or \
               "NO_CIPHERS_AVAILABLE" in str(reason):
                fail(4, "cannot offer TLS %s here: %s" % (arg, err))
            if os.environ.get("IO_CLIENT_VERBOSE"):
                sys.stderr.write("io_client: refused: %s\n" % err)
            # The server must refuse the version, not fail otherwise.
            if "PROTOCOL_VERSION" not in str(err):
                fail(1, "TLS %s failed, but not on the version: %s" %
                     (arg, err))
        elif op == "recvpat":
            c.recvpat(int(arg), False)
        elif op == "slowpat":
            c.recvpat(int(arg), True)
        elif op == "eof":
            data = c.recv(1)
            if data:
                fail(1, "expected EOF, got %r" % data)
        elif op == "drain":
            try:
                while c.recv(65536):
                    pass
            except OSError:
                pass
        elif op == "close":
            c.sock.close()
        elif op == "unwrap":
            # Waits for the server's close_notify, which may not come.
            c.sock.settimeout(2)
            try:
                c.sock.unwrap()
            except OSError:
                pass
            c.sock.close()
        else:
            fail(2, "unknown step %s" % step)
    sys.exit(0)


if __name__ == "__main__":
    try:
        main()
    except socket.timeout:
        fail(1, "timed out")
    except OSError as e:
        fail(1, "error: %s" % e)
