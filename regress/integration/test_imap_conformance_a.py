# IMAP conformance, first batch: deviations an independent conformance
# run found, each checked over a raw session against the RFC section
# named in the test.  SENT* dates as written (RFC 3501/9051 6.4.4),
# BINARY of quoted-printable and partial BINARY (RFC 2045 6.7, RFC 3516,
# RFC 9051 7.5.2), \Recent for IMAP4rev1 sessions (RFC 3501 2.3.2),
# FLAGS announcing keywords (RFC 9051 7.3.5), ESEARCH MODSEQ and the
# first CONDSTORE enabling command (RFC 7162 3.1, 3.1.5), SEARCH FROM
# etc. against the envelope (RFC 3501 6.4.4).

import re
import unittest

from test_imap import Base, message


def dated(subject, date, frm="x@example.org", to="someone@test.example"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n\r\n"
            "A body.\r\n" % (frm, to, subject, date)).encode()


class Conformance(Base):
    def searches(self, c, cases):
        """SEARCH key for each (key, the matches wanted) of cases."""
        for key, want in cases:
            self.assertEqual(c.cmd("SEARCH " + key),
                             (["* SEARCH" + (" " + want if want else "")],
                              "OK SEARCH completed"), key)

    def test_rfc3501_6_4_4_senton_date_as_written(self):
        """SENTON/SENTBEFORE/SENTSINCE take the Date: as written,
        disregarding time and timezone (RFC 3501 6.4.4, RFC 9051
        6.4.4)."""
        user = self.new_user([
            dated("late", "Sat, 24 Mar 2007 23:00:00 -0500"),
            dated("early", "Sun, 25 Mar 2007 01:00:00 +0300"),
            dated("noon", "24 Mar 2007 12:00:00 +0000")])
        c = self.login(user)
        self.select(c)
        self.searches(c, (("SENTON 24-Mar-2007", "1 3"),
                          ("SENTON 25-Mar-2007", "2"),
                          ("SENTBEFORE 25-Mar-2007", "1 3"),
                          ("SENTSINCE 25-Mar-2007", "2"),
                          ("SENTSINCE 24-Mar-2007", "1 2 3"),
                          ("SENTBEFORE 24-Mar-2007", "")))

    def test_rfc2045_6_7_binary_qp_trailing_space(self):
        """BINARY decodes quoted-printable deleting trailing whitespace
        (RFC 2045 6.7 (3)); a partial BINARY answer has its <origin>
        (RFC 3516 4.2, RFC 9051 7.5.2)."""
        body = ("--b\r\nContent-Type: text/plain\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                "one  \r\ntwo=20 \t\r\nthr= \r\nee\r\n--b--\r\n")
        user = self.new_user([
            ("From: x@example.org\r\nTo: y@test.example\r\nSubject: qp\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body)])
        c = self.login(user)
        self.select(c)
        # The CRLF before the boundary is the boundary's.
        want = b"one\r\ntwo \r\nthree"
        self.assertEqual(c.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"),
                         (["* 1 FETCH (BINARY[1] {%d}\r\n%s "
                           "BINARY.SIZE[1] %d)" % (len(want), want.decode(),
                                                   len(want))],
                          "OK FETCH completed"))
        self.assertEqual(c.cmd("FETCH 1 (BINARY.PEEK[1]<5.3>)"),
                         (["* 1 FETCH (BINARY[1]<5> {3}\r\n%s)" %
                           want[5:8].decode()], "OK FETCH completed"))

    def test_rfc7162_3_1_5_esearch_min_modseq(self):
        """RETURN (MIN) with MODSEQ gives the MIN message's modseq; MIN
        and MAX the higher of theirs (RFC 7162 3.1.5)."""
        user = self.new_user()
        c = self.login(user)
        for i in (1, 2, 3):
            self.append(c, message("m%d" % i))
        self.assertEqual(c.cmd("ENABLE CONDSTORE"),
                         (["* ENABLED CONDSTORE"], "OK ENABLE completed"))
        self.select(c)
        c.cmd(r"STORE 3 +FLAGS.SILENT (\Flagged)")
        u, _ = c.cmd("FETCH 1:3 (MODSEQ)")
        mods = [int(re.search(r"MODSEQ \((\d+)\)", r).group(1)) for r in u]
        self.assertEqual(len(mods), 3, u)
        t = c.tag()
        c.send("%s UID SEARCH RETURN (MIN) MODSEQ 1\r\n" % t)
        self.assertEqual(c.until(t),
                         (['* ESEARCH (TAG "%s") UID MIN 1 MODSEQ %d'
                           % (t, mods[0])], "%s OK SEARCH completed" % t))
        t = c.tag()
        c.send("%s UID SEARCH RETURN (MIN MAX) 1:2 MODSEQ 1\r\n" % t)
        self.assertEqual(c.until(t),
                         (['* ESEARCH (TAG "%s") UID MIN 1 MAX 2 MODSEQ %d'
                           % (t, max(mods[:2]))],
                          "%s OK SEARCH completed" % t))
        t = c.tag()
        c.send("%s UID SEARCH RETURN (MAX COUNT) MODSEQ 1\r\n" % t)
        self.assertEqual(c.until(t),
                         (['* ESEARCH (TAG "%s") UID MAX 3 COUNT 3 '
                           'MODSEQ %d' % (t, max(mods))],
                          "%s OK SEARCH completed" % t))

    def test_rfc7162_3_1_first_enabling_command_highestmodseq(self):
        """The first CONDSTORE enabling command on a selected mailbox
        sends HIGHESTMODSEQ once, before its tagged reply (RFC 7162
        3.1)."""
        user = self.new_user()
        c = self.login(user)
        for i in (1, 2):
            self.append(c, message("m%d" % i))
        u = self.select(c)
        hm = [r for r in u if "HIGHESTMODSEQ" in r]
        self.assertEqual(len(hm), 1, u)
        u, done = c.cmd("FETCH 1 (MODSEQ)")
        self.assertEqual(done, "OK FETCH completed")
        self.assertEqual([r for r in u if "HIGHESTMODSEQ" in r], hm, u)
        self.assertTrue(u[0].startswith("* OK [HIGHESTMODSEQ"), u)
        u, done = c.cmd("FETCH 2 (MODSEQ)")
        self.assertEqual([r for r in u if "HIGHESTMODSEQ" in r], [], u)
        # STORE ... UNCHANGEDSINCE in another session.
        d = self.login(user)
        self.select(d)
        u, done = d.cmd(r"STORE 1 (UNCHANGEDSINCE 1000) +FLAGS (\Seen)")
        self.assertEqual(done, "OK STORE completed")
        self.assertEqual(len([r for r in u if "HIGHESTMODSEQ" in r]), 1, u)

    def test_rfc3501_2_3_2_recent(self):
        """\\Recent for IMAP4rev1 sessions: the first session to see a
        message, at SELECT or when it arrives, has it as recent, no
        other does; EXAMINE does not take it (RFC 3501 2.3.2, 6.3.1,
        6.3.2, 7.3.2; SEARCH RECENT, NEW, OLD: 6.4.4).  IMAP4rev2
        sessions have none (RFC 9051 removed it)."""
        user = self.new_user([message("r1"), message("r2")])
        c = self.login(user)
        u, done = c.cmd("EXAMINE INBOX")
        self.assertIn("* 2 RECENT", u)
        u = self.select(c)
        self.assertIn("* 2 RECENT", u)
        for key, want in (("RECENT", " 1 2"), ("NEW", " 1 2"), ("OLD", ""),
                          ("NOT RECENT", "")):
            self.assertEqual(c.cmd("SEARCH " + key),
                             (["* SEARCH" + want], "OK SEARCH completed"),
                             key)
        c.cmd(r"STORE 1 +FLAGS.SILENT (\Seen)")
        self.assertEqual(c.cmd("SEARCH NEW"),
                         (["* SEARCH 2"], "OK SEARCH completed"))
        # Another session: nothing recent, and EXAMINE after it too.
        d = self.login(user)
        u = self.select(d)
        self.assertIn("* 0 RECENT", u)
        self.assertEqual(d.cmd("SEARCH RECENT"),
                         (["* SEARCH"], "OK SEARCH completed"))
        self.assertEqual(d.cmd("SEARCH OLD"),
                         (["* SEARCH 1 2"], "OK SEARCH completed"))
        d.cmd("LOGOUT")
        # A message arriving while selected: EXISTS, then RECENT.
        self.deliver(user, message("r3"))
        seen = self.noop_until(c, lambda r: r == "* 3 EXISTS")
        self.assertEqual(seen[seen.index("* 3 EXISTS") + 1], "* 3 RECENT",
                         seen)
        self.assertEqual(c.cmd("SEARCH RECENT"),
                         (["* SEARCH 1 2 3"], "OK SEARCH completed"))
        # IMAP4rev2: no RECENT, no \Recent taken.
        self.deliver(user, message("r4"))
        e = self.login(user)
        self.assertEqual(e.cmd("ENABLE IMAP4rev2"),
                         (["* ENABLED IMAP4rev2"], "OK ENABLE completed"))
        u = self.select(e)
        self.assertEqual([r for r in u if "RECENT" in r or "Recent" in r],
                         [], u)
        f = self.login(user)
        u = self.select(f)
        self.assertIn("* 1 RECENT", u)
        self.assertEqual(f.cmd("SEARCH RECENT"),
                         (["* SEARCH 4"], "OK SEARCH completed"))

    def test_rfc3501_6_3_10_status_recent(self):
        """STATUS (RECENT) counts the messages no session has taken as
        \\Recent yet (RFC 3501 6.3.10, 2.3.2); once a session selects
        the mailbox they are its own and the count is 0 again."""
        user = self.new_user([message("s1"), message("s2")])
        c = self.login(user)
        self.assertEqual(c.cmd("STATUS INBOX (MESSAGES RECENT UNSEEN)"),
                         (['* STATUS "INBOX" (MESSAGES 2 RECENT 2 UNSEEN '
                           '2)'], "OK STATUS completed"))
        d = self.login(user)
        self.assertIn("* 2 RECENT", self.select(d))
        self.assertEqual(c.cmd("STATUS INBOX (RECENT)"),
                         (['* STATUS "INBOX" (RECENT 0)'],
                          "OK STATUS completed"))
        self.deliver(user, message("s3"))
        self.noop_until(d, lambda r: r == "* 3 RECENT")
        d.cmd("LOGOUT")
        self.deliver(user, message("s4"))
        self.assertEqual(c.cmd("STATUS INBOX (RECENT MESSAGES)"),
                         (['* STATUS "INBOX" (RECENT 1 MESSAGES 4)'],
                          "OK STATUS completed"))
        self.assertTrue(c.cmd("STATUS Nowhere (RECENT)")[1].startswith(
            "NO [NONEXISTENT] "))

    def test_rfc9051_7_3_5_flags_announce_keywords(self):
        """FLAGS lists the keywords in use at SELECT, and again, with
        PERMANENTFLAGS, when a new one appears: by this session's STORE,
        another session's STORE or APPEND (RFC 9051 7.3.5, 7.1 and
        2.3.2)."""
        sys = r"\Answered \Flagged \Deleted \Seen \Draft"
        user = self.new_user()
        c = self.login(user)
        self.append(c, message("kw"), flags="$Foo")
        u = self.select(c)
        self.assertIn("* FLAGS (%s $Foo)" % sys, u)
        self.assertIn("* OK [PERMANENTFLAGS (%s $Foo \\*)] Flags "
                      "permitted" % sys, u)
        u, done = c.cmd("EXAMINE INBOX")
        self.assertIn("* FLAGS (%s $Foo)" % sys, u)
        self.assertIn("* OK [PERMANENTFLAGS ()] Flags permitted", u)
        self.select(c)
        # This session's STORE: FLAGS before the FETCH that shows it.
        u, done = c.cmd("STORE 1 +FLAGS (bar)")
        self.assertEqual(done, "OK STORE completed")
        self.assertEqual(u[:2], ["* FLAGS (%s $Foo bar)" % sys,
                                 "* OK [PERMANENTFLAGS (%s $Foo bar \\*)] "
                                 "Flags permitted" % sys], u)
        self.assertEqual(len(u), 3, u)
        u, done = c.cmd("STORE 1 +FLAGS.SILENT (quux)")
        self.assertEqual(u[0], "* FLAGS (%s $Foo bar quux)" % sys)
        # A known keyword is not announced again.
        u, done = c.cmd("STORE 1 -FLAGS (bar)")
        self.assertEqual([r for r in u if "FLAGS (" in r and "FETCH"
                          not in r], [], u)
        # Another session's STORE and APPEND, seen at sync.
        d = self.login(user)
        self.select(d)
        d.cmd("STORE 1 +FLAGS (baz)")
        self.append(d, message("kw2"), flags="zot")
        seen = self.noop_until(c, lambda r: r.startswith("* 2 EXISTS"))
        fl = [r for r in seen if r.startswith("* FLAGS")]
        self.assertEqual(fl[-1], "* FLAGS (%s $Foo bar quux baz zot)" % sys,
                         seen)
        i = seen.index(fl[0])
        self.assertTrue(seen[i + 1].startswith("* OK [PERMANENTFLAGS"), seen)

    def test_rfc3501_6_4_4_search_from_envelope(self):
        """SEARCH FROM/TO/CC/BCC match the envelope's addresses, comments
        and spaces gone (RFC 3501 6.4.4); display names still match."""
        user = self.new_user([
            ("From: <user-from (comment)@ (comment) domain.org>\r\n"
             "To: Alice Example <alice (x) @ example.net>\r\n"
             "Cc: grp: bob @example.com;\r\n"
             "Subject: envelope\r\n\r\nA body.\r\n"),
            message("other")])
        c = self.login(user)
        self.select(c)
        self.searches(c, (('FROM "user-from@domain.org"', "1"),
                          ('FROM "user-from@"', "1"),
                          ('TO "alice@example.net"', "1"),
                          ('TO "Alice Example"', "1"),
                          ('CC "bob@example.com"', "1"),
                          ('FROM "x@example.org"', "2"),
                          ('FROM "nobody@domain.org"', "")))


if __name__ == "__main__":
    unittest.main()
