# IMAP conformance, second batch: points where imapd answered otherwise
# than the RFCs say, each checked on a raw connection with the RFC
# section it follows.  ID at its largest (RFC 2971), DELETE of the
# selected mailbox and of a subscribed one (RFC 9051 6.3.4, 7.1; RFC
# 3501 6.3.6, RFC 5258 3.1), MOVE into the same mailbox (RFC 6851 3.3),
# "[" in an atom (RFC 9051 9) and the number 4294967295 that is not "*"
# (RFC 9051 9, seq-number).

import unittest

from test_imap_mailbox import Base as MailboxBase, MSG


class Base(MailboxBase):
    """test_imap_mailbox's logins on a raw connection, our own users."""
    user_prefix = "cb"

    def append(self, c, box, n):
        for _ in range(n):
            self.ok(c, "APPEND %s " % box, MSG.encode())


class LineLimits(Base):
    def test_id_largest_rfc2971_3_3(self):
        # RFC 2971 3.3: up to 30 field-value pairs, fields of at most 30
        # octets, values of at most 1024.  The largest request is one
        # line of about 31 KB; it must be answered like any other.
        pairs = []
        for i in range(30):
            pairs.append('"%s" "%s"' % (("f%02d" % i).ljust(30, "x"),
                                        "v" * 1024))
        u, res = self.ok(self.login(), "ID (%s)" % " ".join(pairs))
        self.assertEqual(u, ['* ID ("name" "Tresor" "vendor" "Tresor")'])
        self.assertEqual(res, "OK ID completed")

    def test_toolong_line_tagged_rfc9051_7_1_5(self):
        # RFC 9051 7.1.5 (BAD): a command refused for its length is
        # answered with its tag when the tag could be read, and the
        # session goes on.
        c = self.login()
        c.n += 1
        tag = "t%d" % c.n
        c.c.send("%s NOOP %s\r\n" % (tag, "x" * 70000))
        self.assertTrue(c.read_line().startswith(tag + " BAD [TOOBIG] "))
        self.assertEqual(c.run("NOOP")[1], "OK NOOP completed")


class DeleteSelected(Base):
    def test_delete_selected_rfc9051_6_3_4(self):
        # RFC 9051 6.3.4: DELETE of the selected mailbox is answered OK;
        # the session leaves the selected state (as after CLOSE without
        # expunge, 7.1 [CLOSED]) and goes on.
        c = self.login()
        self.ok(c, "CREATE Gone")
        self.append(c, "Gone", 2)
        self.ok(c, "SELECT Gone")
        u, res = c.run("DELETE Gone")
        self.assertEqual(res, "OK DELETE completed")
        self.assertIn("* OK [CLOSED] The selected mailbox was deleted", u)
        self.assertEqual(c.run("FETCH 1 FLAGS")[1],
                         "BAD Select a mailbox first")
        self.assertEqual(c.run("NOOP")[1], "OK NOOP completed")
        self.ok(c, "SELECT INBOX")

    def test_delete_selected_elsewhere_rfc9051_7_1(self):
        # Another session with the mailbox selected must not take a
        # wrong tagged answer: a command that needs the mailbox is
        # answered NO [NONEXISTENT] (never OK), and at the next point
        # where untagged responses are allowed the session ends with
        # BYE [UNAVAILABLE] (RFC 9051 7.1.5), that session alone; the
        # deleting one is answered OK.
        user = self.new_user()
        a = self.login(user)
        b = self.login(user)
        self.ok(a, "CREATE Gone2")
        self.append(a, "Gone2", 1)
        self.ok(b, "SELECT Gone2")
        self.assertEqual(a.run("DELETE Gone2")[1], "OK DELETE completed")
        u, res = b.run("FETCH 1 FLAGS")
        self.assertEqual(u, [])
        self.assertTrue(res.startswith("NO [NONEXISTENT]"), res)
        b.n += 1
        b.c.send("t%d NOOP\r\n" % b.n)
        line = b.read_line()
        self.assertEqual(line, "* BYE [UNAVAILABLE] The selected mailbox "
                         "was deleted")
        # Then the end, and no tagged answer.
        rest = b.c.buf
        b.c.sock.settimeout(10)
        while True:
            chunk = b.c.sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        self.assertEqual(rest, b"")
        self.assertEqual(a.run("NOOP")[1], "OK NOOP completed")


class Subscriptions(Base):
    def test_delete_keeps_subscription_rfc3501_6_3_6(self):
        # RFC 3501 6.3.6 (and RFC 9051 6.3.4): DELETE does not remove
        # the subscription.  RFC 5258 3.1: LIST (SUBSCRIBED) shows it
        # \NonExistent; LSUB (RFC 3501 6.3.9) with \Noselect.
        c = self.login()
        self.ok(c, "CREATE Kept")
        self.ok(c, "SUBSCRIBE Kept")
        self.ok(c, "DELETE Kept")
        u, _ = self.ok(c, 'LIST (SUBSCRIBED) "" "Kept"')
        self.assertEqual(u, ['* LIST (\\Subscribed \\NonExistent) "/" '
                             '"Kept"'])
        u, _ = self.ok(c, 'LSUB "" "Kept"')
        self.assertEqual(u, ['* LSUB (\\Noselect) "/" "Kept"'])
        u, _ = self.ok(c, 'LIST "" "Kept"')
        self.assertEqual(u, [])
        # Made again, it is subscribed still; UNSUBSCRIBE of the name
        # alone works too.
        self.ok(c, "CREATE Kept")
        u, _ = self.ok(c, 'LIST (SUBSCRIBED) "" "Kept"')
        self.assertEqual(u, ['* LIST (\\HasNoChildren \\Subscribed) "/" '
                             '"Kept"'])
        self.ok(c, "DELETE Kept")
        self.ok(c, "UNSUBSCRIBE Kept")
        u, _ = self.ok(c, 'LSUB "" "*"')
        self.assertNotIn('* LSUB (\\Noselect) "/" "Kept"', u)


class MoveSelf(Base):
    def test_move_to_itself_rfc6851_3_3(self):
        # RFC 6851 3.3: MOVE is COPY then expunge, the target may be the
        # source: the messages get new UIDs in the same mailbox.
        c = self.login()
        self.ok(c, "CREATE Loop")
        self.append(c, "Loop", 2)
        self.ok(c, "SELECT Loop")
        u, res = c.run("UID MOVE 1 Loop")
        self.assertEqual(res, "OK MOVE completed")
        self.assertIn("* OK [COPYUID", u[0])
        self.assertTrue(u[0].split("] ")[0].endswith(" 1 3"), u[0])
        self.assertIn("* 1 EXPUNGE", u)
        self.assertIn("* 2 EXISTS", u)
        u, _ = self.ok(c, "UID SEARCH ALL")
        self.assertEqual(u, ["* SEARCH 2 3"])


class Atoms(Base):
    def test_bracket_in_atom_rfc9051_9(self):
        # RFC 9051 9: "[" is an ATOM-CHAR (resp-specials is "]" only).
        c = self.login()
        self.assertTrue(c.run("SELECT abc[def")[1].startswith(
            "NO [NONEXISTENT]"))
        self.assertEqual(c.run("CREATE abc[def")[1], "OK CREATE completed")
        u, _ = self.ok(c, 'LIST "" abc[def')
        self.assertEqual(u, ['* LIST (\\HasNoChildren) "/" "abc[def"'])
        self.ok(c, "SELECT abc[def")
        self.ok(c, "APPEND abc[def ", MSG.encode())
        u, _ = self.ok(c, "FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])")
        self.assertIn("Subject: hello", u[0])


class Star(Base):
    def test_uid_4294967295_is_not_star_rfc9051_9(self):
        # RFC 9051 9: seq-number = nz-number / "*"; 4294967295 is a
        # number, and no message has that UID.
        c = self.login()
        self.append(c, "INBOX", 2)
        self.ok(c, "SELECT INBOX")
        self.assertEqual(self.ok(c, "UID SEARCH UID 3:4294967295")[0],
                         ["* SEARCH"])
        self.assertEqual(self.ok(c, "UID SEARCH UID 4294967295")[0],
                         ["* SEARCH"])
        self.assertEqual(self.ok(c, "UID SEARCH UID 3:*")[0],
                         ["* SEARCH 2"])
        self.assertEqual(self.ok(c, "UID FETCH 4294967295 UID")[0], [])
        self.assertEqual(self.ok(c, "UID FETCH 2:4294967295 UID")[0],
                         ["* 2 FETCH (UID 2)"])
        self.assertEqual(self.ok(c, "UID FETCH * UID")[0],
                         ["* 2 FETCH (UID 2)"])


if __name__ == "__main__":
    unittest.main()
