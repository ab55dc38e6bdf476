# IMAP commands on whole mailboxes through the real daemons: CREATE,
# DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (extended, with STATUS and
# special-use), LSUB, STATUS, NAMESPACE, APPEND and the QUOTA reads.
# Exact responses are checked on a raw connection; Python's imaplib runs
# a client's usual sequence on top.

import imaplib
import re
import time
import unittest

from tresor import DaemonCase

FAST_KDF = "vault kdf ops 1 memory 8M\nvault lock-grace 2s"
PASSWORD = "correct horse battery"

MSG = ("From: x@example.org\r\nTo: y@test.example\r\n"
       "Subject: hello\r\n\r\nHello, IMAP.\r\n")

DEFAULT_LIST = [
    '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
    '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
    '* LIST (\\HasNoChildren) "/" "INBOX"',
    '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
    '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
    '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
]


class Conn:
    """A raw IMAP connection: commands with tags, answers as lines."""

    def __init__(self, c):
        self.c = c
        self.n = 0

    def read_line(self):
        """One response line, literals ({n}) folded in."""
        line = self.c.line()
        while True:
            m = re.search(r"\{(\d+)\}$", line)
            if m is None:
                return line
            n = int(m.group(1))
            while len(self.c.buf) < n:
                chunk = self.c.sock.recv(65536)
                if not chunk:
                    raise EOFError("closed inside a literal")
                self.c.buf += chunk
            data, self.c.buf = self.c.buf[:n], self.c.buf[n:]
            line = line + "\r\n" + data.decode("utf-8", "replace") + \
                self.c.line()

    def run(self, text, literal=None):
        """(untagged lines, tagged text without the tag)."""
        self.n += 1
        tag = "t%d" % self.n
        if literal is None:
            self.c.send("%s %s\r\n" % (tag, text))
        else:
            self.c.send(("%s %s{%d}\r\n" % (tag, text, len(literal)))
                        .encode())
            cont = self.c.line()
            if not cont.startswith("+"):
                return [], cont.split(" ", 1)[1]
            self.c.send(literal + b"\r\n")
        untagged = []
        while True:
            line = self.read_line()
            if line.startswith(tag + " "):
                return untagged, line[len(tag) + 1:]
            untagged.append(line)

    def close(self):
        try:
            self.run("LOGOUT")
        except (EOFError, OSError):
            pass
        self.c.close()


class Base(DaemonCase):
    extra = FAST_KDF
    password = PASSWORD
    user_prefix = "m"

    def login(self, user=None):
        if user is None:
            user = self.new_user()
        c = Conn(self.t.connect("imap", timeout=30))
        self.assertTrue(c.c.line().startswith("* OK "))
        _, res = c.run('LOGIN "%s" "%s"' % (user, PASSWORD))
        self.assertTrue(res.startswith("OK "), res)
        self.addCleanup(c.close)
        return c

    def ok(self, c, text, literal=None):
        untagged, res = c.run(text, literal)
        self.assertTrue(res.startswith("OK"), "%s -> %s" % (text, res))
        return untagged, res

    def imaplib(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.t.port("imap"), timeout=30)
        m.login(user, PASSWORD)
        self.addCleanup(m.logout)
        return m


class Mailboxes(Base):
    def test_list_default_and_root(self):
        c = self.login()
        self.assertEqual(self.ok(c, 'LIST "" "*"'),
                         (DEFAULT_LIST, "OK LIST completed"))
        self.assertEqual(self.ok(c, 'LIST "" ""'),
                         (['* LIST (\\Noselect) "/" ""'],
                          "OK LIST completed"))
        self.assertEqual(self.ok(c, 'LIST "" inbox')[0],
                         ['* LIST (\\HasNoChildren) "/" "INBOX"'])
        self.assertEqual(self.ok(c, 'LIST "" "In%"')[0],
                         ['* LIST (\\HasNoChildren) "/" "INBOX"'])
        self.assertEqual(self.ok(c, 'LIST "" "x*"')[0], [])
        self.assertEqual(self.ok(c, 'NAMESPACE'),
                         (['* NAMESPACE (("" "/")) NIL NIL'],
                          "OK NAMESPACE completed"))
        self.assertEqual(c.run('LIST ""')[1],
                         "BAD Syntax: LIST [(options)] reference pattern "
                         "[RETURN (options)]")
        self.assertEqual(c.run('LIST (BOGUS) "" "*"')[1],
                         "BAD Unknown LIST selection option")
        self.assertEqual(c.run('LIST (RECURSIVEMATCH) "" "*"')[1],
                         "BAD RECURSIVEMATCH needs SUBSCRIBED")

    def test_create_delete_rename(self):
        c = self.login()
        self.assertEqual(c.run("CREATE Work/")[1], "OK CREATE completed")
        self.assertEqual(c.run("CREATE work")[1], "OK CREATE completed")
        self.assertTrue(c.run("CREATE Work")[1].startswith(
            "NO [ALREADYEXISTS]"))
        self.assertEqual(c.run("CREATE Projects/2024/Q1")[1],
                         "OK CREATE completed")
        self.assertEqual(self.ok(c, 'LIST "" "%"')[0], DEFAULT_LIST[:4] + [
            '* LIST (\\HasChildren) "/" "Projects"'] + DEFAULT_LIST[4:] + [
            '* LIST (\\HasNoChildren) "/" "Work"',
            '* LIST (\\HasNoChildren) "/" "work"'])
        self.assertEqual(self.ok(c, 'LIST Projects/ "*"')[0], [
            '* LIST (\\HasChildren) "/" "Projects/2024"',
            '* LIST (\\HasNoChildren) "/" "Projects/2024/Q1"'])
        self.assertEqual(self.ok(c, 'LIST "" "Projects/%"')[0], [
            '* LIST (\\HasChildren) "/" "Projects/2024"'])
        self.assertEqual(c.run("RENAME Projects Old/Stuff")[1],
                         "OK RENAME completed")
        self.assertEqual(self.ok(c, 'LIST "" "Old*"')[0], [
            '* LIST (\\HasChildren) "/" "Old"',
            '* LIST (\\HasChildren) "/" "Old/Stuff"',
            '* LIST (\\HasChildren) "/" "Old/Stuff/2024"',
            '* LIST (\\HasNoChildren) "/" "Old/Stuff/2024/Q1"'])
        self.assertTrue(c.run("RENAME Projects X")[1].startswith(
            "NO [NONEXISTENT]"))
        self.assertTrue(c.run("RENAME Work work")[1].startswith(
            "NO [ALREADYEXISTS]"))
        self.assertTrue(c.run("DELETE Old/Stuff")[1].startswith(
            "NO [CANNOT]"))
        self.assertTrue(c.run("DELETE Nope")[1].startswith(
            "NO [NONEXISTENT]"))
        self.assertEqual(c.run("DELETE inbox")[1],
                         "NO [CANNOT] INBOX cannot be deleted")
        for name in ("Old/Stuff/2024/Q1", "Old/Stuff/2024", "Old/Stuff",
                     "Old", "Work", "work"):
            self.assertEqual(c.run("DELETE %s" % name)[1],
                             "OK DELETE completed")
        self.assertEqual(self.ok(c, 'LIST "" "*"')[0], DEFAULT_LIST)
        self.assertEqual(c.run("CREATE")[1],
                         "BAD Syntax: CREATE mailbox [(USE (attribute))]")
        self.assertEqual(c.run("CREATE /")[1], "BAD Invalid mailbox name")
        self.assertEqual(c.run("DELETE")[1], "BAD Syntax: DELETE mailbox")
        self.assertEqual(c.run("RENAME a")[1],
                         "BAD Syntax: RENAME mailbox new-name")

    def test_rename_inbox_moves_messages(self):
        c = self.login()
        self.ok(c, "APPEND INBOX ", MSG.encode())
        self.ok(c, "APPEND INBOX ", MSG.encode())
        self.assertEqual(c.run("RENAME INBOX Saved")[1],
                         "OK RENAME completed")
        u, _ = self.ok(c, "STATUS INBOX (MESSAGES)")
        self.assertEqual(u, ['* STATUS "INBOX" (MESSAGES 0)'])
        u, _ = self.ok(c, "STATUS Saved (MESSAGES)")
        self.assertEqual(u, ['* STATUS "Saved" (MESSAGES 2)'])

    def test_create_special_use(self):
        c = self.login()
        self.assertEqual(c.run("CREATE Spam2 (USE (\\Junk))")[1],
                         "OK CREATE completed")
        self.assertEqual(c.run("CREATE x (USE (\\Flagged))")[1],
                         "NO [USEATTR] Unsupported special-use attribute")
        self.assertEqual(c.run("CREATE x (USE (\\Sent \\Trash))")[1],
                         "NO [USEATTR] One special-use attribute per "
                         "mailbox")
        self.assertEqual(c.run("CREATE x (FOO (\\Sent))")[1],
                         "BAD Unknown or malformed CREATE parameter")
        self.assertEqual(self.ok(c, 'LIST "" Spam2')[0],
                         ['* LIST (\\HasNoChildren \\Junk) "/" "Spam2"'])
        self.assertEqual(self.ok(c, 'LIST (SPECIAL-USE) "" "*"')[0], [
            DEFAULT_LIST[0], DEFAULT_LIST[1], DEFAULT_LIST[3],
            DEFAULT_LIST[4],
            '* LIST (\\HasNoChildren \\Junk) "/" "Spam2"',
            DEFAULT_LIST[5]])

    def test_subscribe_lsub_recursivematch(self):
        c = self.login()
        self.ok(c, "CREATE a/b")
        self.assertEqual(c.run("SUBSCRIBE a/b")[1],
                         "OK SUBSCRIBE completed")
        self.assertTrue(c.run("SUBSCRIBE nope")[1].startswith(
            "NO [NONEXISTENT]"))
        self.assertEqual(self.ok(c, 'LSUB "" "%"')[0], [
            '* LSUB () "/" "Archive"', '* LSUB () "/" "Drafts"',
            '* LSUB () "/" "INBOX"', '* LSUB () "/" "Junk"',
            '* LSUB () "/" "Sent"', '* LSUB () "/" "Trash"',
            '* LSUB (\\Noselect) "/" "a"'])
        self.assertEqual(self.ok(c, 'LSUB "" "a*"')[0],
                         ['* LSUB () "/" "a/b"'])
        self.assertEqual(self.ok(c, 'LIST (SUBSCRIBED) "" "a*"')[0],
                         ['* LIST (\\HasNoChildren \\Subscribed) "/" '
                          '"a/b"'])
        self.assertEqual(
            self.ok(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "a"')[0],
            ['* LIST (\\HasChildren) "/" "a" ("CHILDINFO" '
             '("SUBSCRIBED"))'])
        self.assertEqual(
            self.ok(c, 'LIST "" ("a" "a/b" "nope") RETURN (SUBSCRIBED)')[0],
            ['* LIST (\\HasChildren) "/" "a"',
             '* LIST (\\HasNoChildren \\Subscribed) "/" "a/b"'])
        self.assertEqual(c.run("UNSUBSCRIBE a/b")[1],
                         "OK UNSUBSCRIBE completed")
        self.assertEqual(self.ok(c, 'LSUB "" "a*"')[0], [])
        self.assertEqual(self.ok(c, 'LIST (SUBSCRIBED) "" "a*"')[0], [])

    def test_status_and_list_status(self):
        c = self.login()
        u, _ = self.ok(c, "CAPABILITY")
        limit = int(re.search(r"APPENDLIMIT=(\d+)", u[0]).group(1))
        _, r1 = self.ok(c, "APPEND INBOX (\\Seen) ", MSG.encode())
        _, r2 = self.ok(c, 'APPEND INBOX "07-Jul-2020 10:00:00 +0200" ',
                        MSG.encode())
        m1 = re.match(r"OK \[APPENDUID (\d+) 1\] APPEND completed$", r1)
        m2 = re.match(r"OK \[APPENDUID (\d+) 2\] APPEND completed$", r2)
        self.assertIsNotNone(m1, r1)
        self.assertIsNotNone(m2, r2)
        self.assertEqual(m1.group(1), m2.group(1))
        u, res = self.ok(c, "STATUS inbox (MESSAGES UIDNEXT UIDVALIDITY "
                         "UNSEEN DELETED SIZE RECENT APPENDLIMIT)")
        self.assertEqual(res, "OK STATUS completed")
        self.assertEqual(u, ['* STATUS "INBOX" (MESSAGES 2 UIDNEXT 3 '
                             'UIDVALIDITY %s UNSEEN 1 DELETED 0 SIZE %d '
                             'RECENT 2 APPENDLIMIT %d)' %
                             (m1.group(1), 2 * len(MSG), limit)])
        u, _ = self.ok(c, "STATUS INBOX (HIGHESTMODSEQ UIDNEXT)")
        self.assertRegex(u[0], r'^\* STATUS "INBOX" \(HIGHESTMODSEQ \d+ '
                         r'UIDNEXT 3\)$')
        self.assertTrue(c.run("STATUS Nope (MESSAGES)")[1].startswith(
            "NO [NONEXISTENT]"))
        self.assertEqual(c.run("STATUS INBOX (BOGUS)")[1],
                         "BAD Unknown or missing STATUS item")
        self.assertEqual(c.run("STATUS INBOX")[1],
                         "BAD Syntax: STATUS mailbox (items)")
        u, _ = self.ok(c, 'LIST "" (INBOX Sent) RETURN (CHILDREN '
                       'STATUS (MESSAGES UNSEEN))')
        self.assertEqual(u, [
            '* LIST (\\HasNoChildren) "/" "INBOX"',
            '* STATUS "INBOX" (MESSAGES 2 UNSEEN 1)',
            '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
            '* STATUS "Sent" (MESSAGES 0 UNSEEN 0)'])

    def test_append_errors(self):
        c = self.login()
        self.assertEqual(c.run("APPEND Nope ", MSG.encode())[1],
                         "NO [TRYCREATE] No such mailbox")
        self.assertEqual(c.run("APPEND INBOX (\\Bogus) ", MSG.encode())[1],
                         "BAD Invalid flags")
        self.assertEqual(c.run('APPEND INBOX "garbage" ', MSG.encode())[1],
                         "BAD Invalid date-time")
        self.assertEqual(c.run("APPEND INBOX")[1],
                         "BAD Syntax: APPEND mailbox [(flags)] [date-time] "
                         "message ...")
        self.assertEqual(c.run("APPEND INBOX ", b"")[1], "NO Empty message")
        # MULTIAPPEND (RFC 3502) is test_imap_multiappend.py's.
        c.n += 1
        c.c.send("m1 APPEND INBOX {5+}\r\nHello {5+}\r\nHello\r\n")
        line = c.read_line()
        self.assertTrue(line.startswith("m1 OK [APPENDUID "), line)
        self.assertTrue(line.endswith(" 1:2] APPEND completed"), line)
        u, _ = self.ok(c, "STATUS INBOX (MESSAGES)")
        self.assertEqual(u, ['* STATUS "INBOX" (MESSAGES 2)'])

    def test_utf7_and_utf8_names(self):
        c = self.login()
        self.assertEqual(c.run("CREATE &ZeVnLIqe-")[1],
                         "OK CREATE completed")
        self.assertEqual(c.run("CREATE &Jjo")[1],
                         "BAD Invalid mailbox name")
        self.assertEqual(self.ok(c, 'LIST "" "&ZeVnLIqe-"')[0],
                         ['* LIST (\\HasNoChildren) "/" "&ZeVnLIqe-"'])
        self.ok(c, "ENABLE IMAP4rev2")
        self.assertEqual(self.ok(c, 'LIST "" "\u65e5*"')[0],
                         ['* LIST (\\HasNoChildren) "/" "\u65e5\u672c'
                          '\u8a9e"'])

    def test_many_folders_slow_reader(self):
        c = self.login()
        names = ["F%04d/%s" % (i, "n" * 400) for i in range(800)]
        c.c.send("".join('c%d CREATE "%s"\r\n' % (i, n)
                         for i, n in enumerate(names)))
        for i in range(len(names)):
            self.assertEqual(c.read_line(), "c%d OK CREATE completed" % i)
        # More than the server queues at once: it must wait for us.
        c.c.send('L1 LIST "" "*"\r\n')
        time.sleep(1)
        lines = []
        while True:
            line = c.read_line()
            if line.startswith("L1 "):
                break
            lines.append(line)
        self.assertEqual(line, "L1 OK LIST completed")
        self.assertEqual(len(lines), 6 + 2 * len(names))
        self.assertEqual(lines[0], DEFAULT_LIST[0])
        self.assertEqual(lines[2:4], [
            '* LIST (\\HasChildren) "/" "F0000"',
            '* LIST (\\HasNoChildren) "/" "%s"' % names[0]])
        u, _ = self.ok(c, 'LIST "" "F07%"')
        self.assertEqual(len(u), 100)

    def test_quota_without_limit(self):
        c = self.login()
        self.assertEqual(self.ok(c, "GETQUOTAROOT inbox"),
                         (['* QUOTAROOT "INBOX"'],
                          "OK GETQUOTAROOT completed"))
        self.assertEqual(c.run('GETQUOTA ""')[1],
                         "NO [NONEXISTENT] No such quota root")
        self.assertTrue(c.run("GETQUOTAROOT Nope")[1].startswith(
            "NO [NONEXISTENT]"))

    def test_imaplib(self):
        user = self.new_user()
        m = self.imaplib(user)
        self.assertEqual(m.create("Lib")[0], "OK")
        self.assertEqual(m.subscribe("Lib")[0], "OK")
        typ, data = m.list('""', "L*")
        self.assertEqual((typ, data), ("OK", [b'(\\HasNoChildren) "/" '
                                               b'"Lib"']))
        typ, data = m.lsub('""', "Lib")
        self.assertEqual((typ, data), ("OK", [b'() "/" "Lib"']))
        typ, data = m.append("Lib", "(\\Flagged)",
                             imaplib.Time2Internaldate(1600000000),
                             MSG.encode())
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0].decode(),
                         r"^\[APPENDUID \d+ 1\] APPEND completed$")
        typ, data = m.status("Lib", "(MESSAGES UIDNEXT)")
        self.assertEqual((typ, data),
                         ("OK", [b'"Lib" (MESSAGES 1 UIDNEXT 2)']))
        self.assertEqual(m.rename("Lib", "Lib2")[0], "OK")
        self.assertEqual(m.status("Lib2", "(MESSAGES)")[1],
                         [b'"Lib2" (MESSAGES 1)'])
        self.assertEqual(m.unsubscribe("Lib2")[0], "OK")
        self.assertEqual(m.delete("Lib2")[0], "OK")
        self.assertEqual(m.namespace(),
                         ("OK", [b'(("" "/")) NIL NIL']))
        typ, data = m.getquotaroot("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.delete("Lib2")[0], "NO")


class Quota(Base):
    # 1 MiB, in octets: "1M" is refused by the parser (reported).
    extra = FAST_KDF + "\nlimit mailbox-size 1048576"

    def test_quota_with_limit(self):
        c = self.login()
        self.assertEqual(self.ok(c, "GETQUOTAROOT inbox"),
                         (['* QUOTAROOT "INBOX" ""',
                           '* QUOTA "" (STORAGE 0 1024)'],
                          "OK GETQUOTAROOT completed"))
        self.assertEqual(self.ok(c, 'GETQUOTA ""'),
                         (['* QUOTA "" (STORAGE 0 1024)'],
                          "OK GETQUOTA completed"))
        self.assertEqual(c.run('GETQUOTA "other"')[1],
                         "NO [NONEXISTENT] No such quota root")
        big = (MSG + "x" * 76 + "\r\n") * 4800       # about 700 KiB
        big = big.encode()
        self.ok(c, "APPEND INBOX ", big)
        u, _ = self.ok(c, "GETQUOTA \"\"")
        kib = (len(big) + 1023) // 1024
        self.assertEqual(u, ['* QUOTA "" (STORAGE %d 1024)' % kib])
        self.assertEqual(c.run("APPEND INBOX ", big)[1],
                         "NO [OVERQUOTA] The mailbox is full")
        # A small one still fits.
        self.ok(c, "APPEND INBOX ", MSG.encode())
        u, _ = self.ok(c, "STATUS INBOX (MESSAGES)")
        self.assertEqual(u, ['* STATUS "INBOX" (MESSAGES 2)'])

    def test_copy_within_quota(self):
        c = self.login()
        big = ((MSG + "x" * 76 + "\r\n") * 4800).encode()
        self.ok(c, "APPEND INBOX ", big)
        self.ok(c, "SELECT INBOX")
        # A copy of the big one would pass the limit; a move does not
        # add to the account, and a copy of a small one fits.
        self.assertEqual(c.run("COPY 1 Archive")[1],
                         "NO [OVERQUOTA] The mailbox is full")
        u, _ = self.ok(c, "STATUS Archive (MESSAGES)")
        self.assertEqual(u, ['* STATUS "Archive" (MESSAGES 0)'])
        self.ok(c, "APPEND INBOX ", MSG.encode())
        u, res = c.run("COPY 2 Archive")
        self.assertTrue(res.startswith("OK [COPYUID "), res)
        u, res = c.run("MOVE 1 Archive")
        self.assertEqual(res, "OK MOVE completed")
        u, _ = self.ok(c, "STATUS Archive (MESSAGES)")
        self.assertEqual(u, ['* STATUS "Archive" (MESSAGES 2)'])


class TooBig(Base):
    extra = FAST_KDF + "\nlimit message-size 64K"

    def test_append_too_big(self):
        c = self.login()
        big = b"Subject: big\r\n\r\n" + b"y" * (70 * 1024) + b"\r\n"
        res = c.run("APPEND INBOX ", big)[1]
        self.assertTrue(res.startswith("NO [TOOBIG]"), res)
        u, _ = self.ok(c, "STATUS INBOX (MESSAGES APPENDLIMIT)")
        self.assertEqual(u, ['* STATUS "INBOX" (MESSAGES 0 APPENDLIMIT '
                             '65536)'])


if __name__ == "__main__":
    unittest.main()
