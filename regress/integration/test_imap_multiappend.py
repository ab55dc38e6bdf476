# MULTIAPPEND (RFC 3502): several messages in one APPEND, each with its
# own flags and date, stored together or not at all, with consecutive
# uids in APPENDUID (RFC 4315).  Through the real daemons on a raw
# connection: synchronising and non-synchronising literals, literal8,
# every kind of refusal (bad flags, bad date, an empty message, too many
# messages, too many octets, over quota) leaving the mailbox as it was
# and the session usable, and a session with the mailbox selected
# seeing all of them at once.

import re
import unittest

import test_imap as ti


def msg(i, size=0):
    body = "Message number %d.\r\n" % i
    if size:
        body += "z" * max(0, size - len(body) - 2) + "\r\n"
    return ti.message("multi %d" % i, body=body)


class MultiBase(ti.Base):
    """The helpers; no tests of its own."""

    def multiappend(self, c, items, mbox="INBOX", sync=True, tail=""):
        """APPEND mbox with items [(flags, date, data)], flags and date
        None when absent; (untagged, tagged) with the tag stripped.
        With sync, each literal waits for its "+"; a refusal instead of
        "+" ends the command there."""
        t = c.tag()
        head = "%s APPEND %s" % (t, mbox)
        for i, (flags, date, data) in enumerate(items):
            if flags is not None:
                head += " (%s)" % flags
            if date is not None:
                head += ' "%s"' % date
            head += " {%d%s}\r\n" % (len(data), "" if sync else "+")
            c.send(head.encode("latin-1"))
            if sync:
                r = c.response()
                if not r.startswith("+"):
                    self.assertTrue(r.startswith(t + " "), r)
                    return [], r[len(t) + 1:]
            c.send(data)
            head = ""
        c.send(tail.encode() + b"\r\n")
        u, done = c.until(t)
        return u, done[len(t) + 1:]

    def uidvalidity(self, c, mbox="INBOX"):
        u, _ = c.cmd("STATUS %s (UIDVALIDITY)" % mbox)
        return int(re.search(r"UIDVALIDITY (\d+)", u[0]).group(1))

    def messages(self, c, mbox="INBOX"):
        u, done = c.cmd("STATUS %s (MESSAGES UIDNEXT)" % mbox)
        self.assertEqual(done, "OK STATUS completed")
        m = re.search(r"MESSAGES (\d+) UIDNEXT (\d+)", u[0])
        return int(m.group(1)), int(m.group(2))


class Multi(MultiBase):

    def test_three_messages(self):
        """RFC 3502 6.3.11: each message has its flags and date; the
        uids are consecutive; read back exactly."""
        c = self.login(self.new_user())
        v = self.uidvalidity(c)
        items = [(r"\Seen", "01-Feb-2020 10:00:00 +0100", msg(1)),
                 (None, None, msg(2, 9000)),
                 (r"\Flagged $Work", "02-Mar-2021 11:30:00 +0000", msg(3))]
        self.assertEqual(self.multiappend(c, items),
                         ([], "OK [APPENDUID %d 1:3] APPEND completed" % v))
        u = self.select(c)
        self.assertIn("* 3 EXISTS", u)
        u, done = c.cmd("UID FETCH 1:* (FLAGS INTERNALDATE)")
        self.assertEqual(done, "OK FETCH completed")
        self.assertEqual(u[0], '* 1 FETCH (UID 1 FLAGS (\\Seen) '
                         'INTERNALDATE "01-Feb-2020 09:00:00 +0000")')
        self.assertTrue(u[1].startswith("* 2 FETCH (UID 2 FLAGS () "),
                        u[1])
        self.assertEqual(u[2], '* 3 FETCH (UID 3 FLAGS (\\Flagged $Work) '
                         'INTERNALDATE "02-Mar-2021 11:30:00 +0000")')
        for i, (_, _, data) in enumerate(items, 1):
            self.assertEqual(c.cmd("FETCH %d BODY.PEEK[]" % i),
                             (["* %d FETCH (BODY[] %s)" %
                               (i, ti.literal(data))],
                              "OK FETCH completed"))
        # A plain APPEND after it goes on from uid 4 (this IMAP4rev1
        # session sees it first: \Recent).
        self.assertEqual(self.append(c, msg(4)),
                         (["* 4 EXISTS", "* 4 RECENT"],
                          "OK [APPENDUID %d 4] APPEND completed" % v))

    def test_nonsync_and_literal8(self):
        """LITERAL+ literals need no "+"; a literal8 (RFC 3516) message
        may hold NUL, and the UTF8 form (RFC 6855) goes in a list."""
        c = self.login(self.new_user())
        v = self.uidvalidity(c)
        self.assertEqual(self.multiappend(c, [(None, None, msg(i))
                                              for i in range(1, 6)],
                                          sync=False),
                         ([], "OK [APPENDUID %d 1:5] APPEND completed" % v))
        binary = ti.message("bin", body="a\0b\r\n")
        t = c.tag()
        c.send(b"%s APPEND INBOX ~{%d+}\r\n%s UTF8 (~{%d+}\r\n%s)\r\n" %
               (t.encode(), len(binary), binary, len(msg(7)), msg(7)))
        self.assertEqual(c.until(t),
                         ([], "%s OK [APPENDUID %d 6:7] APPEND completed"
                          % (t, v)))
        self.assertEqual(self.messages(c), (7, 8))

    def test_all_or_none(self):
        """One bad message refuses them all: nothing is stored, no uid
        is used, the session goes on."""
        c = self.login(self.new_user())
        good = (None, None, msg(1))
        cases = [
            ([good, (r"\Bogus", None, msg(2))], "BAD Invalid flags"),
            ([good, (None, "31-Feb-2020 10:00:00 +0000", msg(2))],
             "BAD Invalid date-time"),
            ([good, good, (None, None, b"")], "NO Empty message"),
            ([good, (None, None, ti.message("nul", body="a\0b\r\n"))],
             "BAD NUL in a literal: send the message as ~{n}"),
        ]
        for items, want in cases:
            self.assertEqual(self.multiappend(c, items), ([], want))
            self.assertEqual(self.messages(c), (0, 1))
            self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        # No message after the last one's flags: a syntax error.
        self.assertEqual(self.multiappend(c, [good], tail=r" (\Seen)")[1],
                         "BAD Syntax: APPEND mailbox [(flags)] "
                         "[date-time] message ...")
        self.assertEqual(self.multiappend(c, [good, good], mbox="Nowhere"),
                         ([], "NO [TRYCREATE] No such mailbox"))
        self.assertEqual(self.messages(c), (0, 1))
        v = self.uidvalidity(c)
        self.assertEqual(self.multiappend(c, [good, good]),
                         ([], "OK [APPENDUID %d 1:2] APPEND completed" % v))

    def test_thousand(self):
        """MBOX_APPEND_MAX (1000) messages in one command; one more is
        refused at its literal and nothing is stored."""
        c = self.login(self.new_user())
        v = self.uidvalidity(c)
        items = [(r"\Seen" if i % 2 else None, None, msg(i))
                 for i in range(1, 1001)]
        self.assertEqual(self.multiappend(c, items, sync=False),
                         ([], "OK [APPENDUID %d 1:1000] APPEND completed"
                          % v))
        self.assertEqual(self.messages(c), (1000, 1001))
        u, _ = c.cmd("STATUS INBOX (UNSEEN)")
        self.assertEqual(u, ['* STATUS "INBOX" (UNSEEN 500)'])
        # 1001 in another mailbox: refused when the 1001st announces
        # itself; the octets that follow are read and dropped.
        self.assertEqual(c.cmd("CREATE Many")[1], "OK CREATE completed")
        items.append((None, None, msg(1001)))
        u, done = self.multiappend(c, items, mbox="Many", sync=False)
        self.assertEqual(done, "NO [LIMIT] Too many messages in one "
                         "APPEND")
        self.assertEqual(self.messages(c, "Many"), (0, 1))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))


class MultiTooBig(MultiBase):
    extra = ti.FAST_KDF + "\nlimit message-size 64K"

    def login(self, user):
        c = self.connect()
        _, done = c.cmd('LOGIN %s "%s"' % (user, ti.PASSWORD))
        self.assertTrue(done.startswith("OK [CAPABILITY "), done)
        self.assertIn(" APPENDLIMIT=65536 ", done)
        return c

    def test_total_over_limit(self):
        """The messages of one APPEND together are bounded by the
        message size limit: the literal that passes it is refused with
        [TOOBIG] before its octets are sent."""
        c = self.login(self.new_user())
        items = [(None, None, msg(i, 30 * 1024)) for i in range(1, 4)]
        self.assertEqual(self.multiappend(c, items),
                         ([], "NO [TOOBIG] Message too large"))
        self.assertEqual(self.messages(c), (0, 1))
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed"))
        v = self.uidvalidity(c)
        self.assertEqual(self.multiappend(c, items[:2]),
                         ([], "OK [APPENDUID %d 1:2] APPEND completed" % v))


class MultiQuota(MultiBase):
    # 1 MiB, in octets: the smallest limit there is.
    extra = ti.FAST_KDF + "\nlimit mailbox-size 1048576"

    def test_over_quota(self):
        """Over the account's limit together, though each would fit:
        [OVERQUOTA], none stored."""
        c = self.login(self.new_user())
        items = [(None, None, msg(i, 400000)) for i in range(1, 4)]
        self.assertEqual(self.multiappend(c, items),
                         ([], "NO [OVERQUOTA] The mailbox is full"))
        self.assertEqual(self.messages(c), (0, 1))
        v = self.uidvalidity(c)
        self.assertEqual(self.multiappend(c, items[:2]),
                         ([], "OK [APPENDUID %d 1:2] APPEND completed" % v))


class MultiSelected(MultiBase):

    def test_other_session_sees_all(self):
        """A session with the mailbox selected learns of every message
        of the MULTIAPPEND (one EXISTS with the new count)."""
        user = self.new_user()
        a = self.login(user)
        self.assertIn("* 0 EXISTS", self.select(a))
        b = self.login(user)
        items = [(None, None, msg(i)) for i in range(1, 5)]
        _, done = self.multiappend(b, items)
        self.assertTrue(done.startswith("OK [APPENDUID "), done)
        self.noop_until(a, lambda u: "* 4 EXISTS" in u,
                        what="* 4 EXISTS")
        u, done = a.cmd("FETCH 1:* (UID)")
        self.assertEqual(u, ["* %d FETCH (UID %d)" % (i, i)
                             for i in range(1, 5)])


if __name__ == "__main__":
    unittest.main()
