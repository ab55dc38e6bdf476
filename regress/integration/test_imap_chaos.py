# IMAP under a stream of random, pipelined, half-valid commands from
# several connections at once: sets out of range, unknown items, bad
# mailbox names, IDLE and stray DONE, binary junk, connections dropped
# mid-answer.  Nothing may crash (DaemonCase checks the log for child
# exits and sanitizer reports), and the server must still answer
# properly at the end.  The sequence is seeded: the same every run,
# only the interleaving with the server's timing varies.

import random
import socket
import time

from tresor import DaemonCase

PASSWORD = "chaos pass word"
SECONDS = 20

COMMANDS = [
    "NOOP", "CAPABILITY", "SELECT INBOX", "EXAMINE INBOX", "SELECT Archive",
    "FETCH {set} {items}", "UID FETCH {set} {items}",
    "STORE {set} {store} ({flags})", "UID STORE {set} {store} ({flags})",
    "COPY {set} {mbox}", "MOVE {set} {mbox}", "UID MOVE {set} {mbox}",
    "EXPUNGE", "UID EXPUNGE {set}", "SEARCH {key}",
    "UID SEARCH RETURN ({ret}) {key}", "CLOSE", "UNSELECT", "IDLE",
    'LIST "" {pattern}',
    'LIST (SUBSCRIBED) "" {pattern} RETURN (CHILDREN STATUS (MESSAGES))',
    'LSUB "" *', "STATUS {mbox} (MESSAGES UIDNEXT UNSEEN SIZE HIGHESTMODSEQ)",
    "CREATE {mbox}", "DELETE {mbox}", "RENAME {mbox} {mbox}",
    "SUBSCRIBE {mbox}", "ENABLE {ext}", "GETQUOTAROOT INBOX", "NAMESPACE",
    "ID NIL", "FETCH $ FLAGS", "CHECK", "SELECT INBOX (QRESYNC (1 1 1:*))",
    "FETCH {set} (FLAGS) (CHANGEDSINCE 1)",
    "UID FETCH {set} (FLAGS) (CHANGEDSINCE 1 VANISHED)",
]
SETS = ["1", "1:*", "*", "2:4", "1,3,5", "100", "0", "4294967295",
        "1:4294967295", "$", "x", "3:1", "*:2"]
ITEMS = ["FLAGS", "(UID FLAGS ENVELOPE)", "BODY.PEEK[]", "BODY[1]",
         "(BODYSTRUCTURE BODY)", "BINARY.PEEK[1]", "BINARY.SIZE[2]",
         "BODY.PEEK[HEADER.FIELDS (From Subject)]<0.20>", "RFC822", "ALL",
         "FULL", "(MODSEQ)", "BODY[9.9.9]", "BODY.PEEK[TEXT]<5.3>", "((("]
KEYS = ["ALL", "UNSEEN", "FROM x", "BODY word", "TEXT hello",
        "OR SEEN DELETED", "NOT 1:3", "SINCE 1-Jan-2020", "LARGER 10",
        "UID 1:*", "MODSEQ 1", "HEADER Subject m", "$", "((((x"]
MBOXES = ["INBOX", "Archive", "Trash", "a/b", '"&Jjo-"', '"x y"', "Nope",
          "&Jjo", "{3}"]
MESSAGE = ("From: x@example.org\r\nSubject: m %d\r\n"
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           "--b\r\n\r\nhello word %d\r\n"
           "--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
           "--b--\r\n")


def command(rnd):
    return rnd.choice(COMMANDS).format(
        set=rnd.choice(SETS), items=rnd.choice(ITEMS),
        store=rnd.choice(["+FLAGS", "-FLAGS.SILENT", "FLAGS",
                          "(UNCHANGEDSINCE 3) +FLAGS"]),
        flags=rnd.choice(["\\Seen", "\\Deleted", "$Label1 \\Flagged",
                          "\\Bogus", ""]),
        mbox=rnd.choice(MBOXES), key=rnd.choice(KEYS),
        ret=rnd.choice(["MIN MAX", "ALL COUNT", "SAVE", ""]),
        pattern=rnd.choice(["*", "%", "a/%", '""']),
        ext=rnd.choice(["IMAP4rev2", "CONDSTORE", "QRESYNC", "UTF8=ACCEPT",
                        "BOGUS"]))


class Chaos(DaemonCase):
    extra = ("vault kdf ops 1 memory 8M\nvault lock-grace 2s\n"
             "limit connections per-address 100")

    def drain(self, c):
        c.settimeout(0.2)
        try:
            while c.recv(65536):
                pass
        except socket.timeout:
            pass

    def open(self, user):
        c = socket.create_connection(("127.0.0.1", self.t.port("imap")),
                                     timeout=10)
        c.recv(4096)
        c.sendall(b'l LOGIN %s "%s"\r\n' % (user.encode(),
                                             PASSWORD.encode()))
        return c

    def test_random_commands(self):
        rnd = random.Random(20261128)
        user = "chaos@test.example"
        self.add_user(user, PASSWORD)
        for i in range(20):
            self.deliver(user, MESSAGE % (i, i))
        conns = []
        sent = 0
        deadline = time.monotonic() + SECONDS
        try:
            while time.monotonic() < deadline:
                if len(conns) < 6:
                    conns.append(self.open(user))
                c = rnd.choice(conns)
                batch = b"".join(b"t%d %s\r\n" % (sent + i,
                                                 command(rnd).encode())
                                 for i in range(rnd.randint(1, 5)))
                if rnd.random() < 0.1:
                    batch += b"DONE\r\n"
                if rnd.random() < 0.05:
                    batch += bytes(rnd.randrange(256) for _ in
                                   range(rnd.randint(1, 200))) + b"\r\n"
                sent += 5
                try:
                    c.sendall(batch)
                    self.drain(c)
                except OSError:
                    conns.remove(c)
                    c.close()
                if rnd.random() < 0.02 and conns:
                    conns.pop().close()
        finally:
            for c in conns:
                c.close()
        self.assertGreater(sent, 100)

        # Still serving, properly, after all that.
        c = self.open(user)
        self.addCleanup(c.close)
        c.settimeout(10)
        buf = b""
        c.sendall(b"z1 NOOP\r\n")
        while b"z1 " not in buf:
            data = c.recv(4096)
            self.assertTrue(data, "imapd closed the connection")
            buf += data
        self.assertIn(b"l OK [CAPABILITY", buf)
        self.assertIn(b"z1 OK NOOP completed", buf)
