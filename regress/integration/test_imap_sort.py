# SORT and THREAD (RFC 5256) and ESORT (RFC 5267) through the real
# daemons.  Messages with known Date, Subject, From, To, Cc, Message-ID
# and References go in by APPEND (with a known internal date); the
# orderings SORT must give are computed here, independently of the C
# code: RFC 5256's base subject with regular expressions, the first
# address with Python's email package.  The thread trees are written
# out by hand from RFC 5256 section 4.

import email.header
import email.utils
import imaplib
import re

from test_imap import Base

CRITERIA = ("ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO")


def casemap(s):
    """i;ascii-casemap: only ASCII letters fold."""
    return "".join(c.upper() if "a" <= c <= "z" else c for c in s)


BLOB = r"\[[^\[\]]*\] *"
LEADER = re.compile(r"(?:(?:%s)*(?:re|fwd?) *(?:%s)?:| )" % (BLOB, BLOB),
                    re.I)


def base_subject(s):
    """RFC 5256 2.1, steps (1) to (6); the text and whether a reply or
    forward marker went."""
    s = re.sub(r"[ \t\r\n]+", " ", s)
    reply = False
    while True:
        while True:                                     # (2)
            if s.endswith(" "):
                s = s[:-1]
            elif s.lower().endswith("(fwd)"):
                s = s[:-5]
                reply = True
            else:
                break
        while True:                                     # (3) to (5)
            m = LEADER.match(s)
            if m:
                if m.group(0) != " ":
                    reply = True
                s = s[m.end():]
                continue
            m = re.match(BLOB, s)
            if m and m.end() < len(s):
                s = s[m.end():]
                continue
            break
        if s.lower().startswith("[fwd:") and s.endswith("]"):   # (6)
            s = s[5:-1]
            reply = True
            continue
        break
    return casemap(s), reply


def decoded(value):
    if value is None:
        return ""
    return str(email.header.make_header(email.header.decode_header(value)))


def first_mailbox(value):
    """The addr-mailbox (local part) of the first address, casemapped."""
    if value is None:
        return ""
    addrs = email.utils.getaddresses([value])
    if not addrs or not addrs[0][1]:
        return ""
    return casemap(addrs[0][1].split("@")[0])


def message(fields, body="body\n"):
    head = "".join("%s: %s\n" % (k, v) for k, v in fields if v is not None)
    return (head + "\n" + body).replace("\n", "\r\n").encode()


# (internal date, header fields); seq = position + 1.
SORT_SET = [
    ("05-Jan-2024 10:00:00 +0000", [
        ("Date", "Mon, 01 Jan 2024 10:00:00 +0000"),
        ("Subject", "Re: Hello"),
        ("From", "Zed <zed@x.org>"), ("To", "bob@b.org"),
        ("Cc", "carl@c.org")]),
    ("03-Jan-2024 10:00:00 +0000", [
        ("Date", "Tue, 02 Jan 2024 09:00:00 +0100"),
        ("Subject", "[list] Fwd: hello (fwd)"),
        ("From", "alice@a.org"), ("To", "Yann <yann@y.org>"),
        ("Cc", "anna@a.org, zoe@z.org")]),
    ("04-Jan-2024 10:00:00 +0000", [
        ("Date", "Mon, 01 Jan 2024 10:00:00 +0000"),
        ("Subject", "Apple"),
        ("From", "\"Bob, Jr.\" <bob@b.org>"), ("To", "carol@c.org")]),
    ("01-Jan-2024 10:00:00 +0000", [
        ("Date", "Wed, 03 Jan 2024 10:00:00 +0000"),
        ("Subject", "re: [foo] RE: apple"),
        ("From", "CAROL@c.org"), ("To", "ALICE@a.org")]),
    ("02-Jan-2024 12:00:00 +0000", [
        ("Subject", "[Fwd: Banana]"),
        ("From", "Dave <dave@d.org>, Eve <eve@e.org>"),
        ("To", "zed@x.org")]),
    ("06-Jan-2024 10:00:00 +0000", [
        ("Date", "Thu, 04 Jan 2024 10:00:00 -0500"),
        ("Subject", "  zebra\t stripes  "),
        ("To", "bob@b.org"), ("Cc", "Bea <bea@b.org>")]),
    ("02-Jan-2024 10:00:00 +0000", [
        ("Date", "Mon, 01 Jan 2024 10:00:00 +0000"),
        ("From", "mallory@m.org")]),
    ("07-Jan-2024 10:00:00 +0000", [
        ("Date", "Fri, 05 Jan 2024 10:00:00 +0000"),
        ("Subject", "=?UTF-8?Q?caf=C3=A9?="),
        ("From", "=?UTF-8?Q?Andr=C3=A9?= <andre@a.org>")]),
    ("08-Jan-2024 10:00:00 +0000", [
        ("Date", "Sat, 06 Jan 2024 10:00:00 +0000"),
        ("Subject", "[blob only]"),
        ("From", "alice@a.org"), ("To", "bob@b.org")]),
]

# Threads: (subject, message-id, references, in-reply-to, date).
THREAD_SET = [
    ("Lunch", "<a@x>", None, None, "Mon, 01 Jan 2024 10:00:00 +0000"),
    ("Re: Lunch", "<b@x>", "<a@x>", "<a@x>",
     "Mon, 01 Jan 2024 11:00:00 +0000"),
    ("Re: Lunch", "<c@x>", "<a@x> <b@x>", None,
     "Mon, 01 Jan 2024 12:00:00 +0000"),
    ("Re: Party", "<d@x>", "<p@x>", None, "Tue, 02 Jan 2024 10:00:00 +0000"),
    ("Re: Party", "<e@x>", "<p@x>", None, "Tue, 02 Jan 2024 11:00:00 +0000"),
    ("Report", "<f@x>", None, None, "Wed, 03 Jan 2024 10:00:00 +0000"),
    ("Re: Report", "<g@x>", None, None, "Wed, 03 Jan 2024 11:00:00 +0000"),
    ("Loop", "<h@x>", "<i@x>", None, "Thu, 04 Jan 2024 10:00:00 +0000"),
    ("Re: Loop", "<i@x>", "<h@x>", None, "Thu, 04 Jan 2024 11:00:00 +0000"),
    ("Orphan", None, None, None, "Fri, 05 Jan 2024 10:00:00 +0000"),
    ("Meeting", "<k@x>", None, None, "Sat, 06 Jan 2024 10:00:00 +0000"),
    ("Meeting", "<l@x>", None, None, "Sat, 06 Jan 2024 11:00:00 +0000"),
    # No Message-ID and no References: In-Reply-To names the parent.
    ("Re: Lunch", None, None, "<c@x>", "Mon, 01 Jan 2024 13:00:00 +0000"),
]

# By hand, RFC 5256 4: A-B-C-M a chain (M through In-Reply-To); D and
# E under the dummy of the missing <p@x>, kept at the root with two
# children; G ("Re: Report") joins F by subject; the loop H <-> I is
# broken with H under I (I's own link would close it); K and L share a
# base subject, neither a reply: a new dummy holds both.
REFERENCES = "(1 2 3 13)((4)(5))(6 7)(9 8)(10)((11)(12))"
# By base subject, the first by date the root, the rest its children.
ORDEREDSUBJECT = "(1 (2)(3)(13))(4 5)(6 7)(8 9)(10)(11 12)"


def thread_message(subject, msgid, refs, irt, date):
    return message([("Date", date), ("Subject", subject),
                    ("From", "t@x.org"), ("Message-ID", msgid),
                    ("References", refs), ("In-Reply-To", irt)])


class SortCase(Base):
    def setUp(self):
        super().setUp()
        # One account per class: each class has its own daemons.
        cls = type(self)
        if "fixture" not in cls.__dict__:
            cls.fixture = self.make_fixture()
        self.user = cls.fixture

    def make_fixture(self):
        user = self.new_user()
        c = self.login(user)
        for date, fields in SORT_SET:
            u, done = self.append(c, message(fields), date=date)
            self.assertTrue(done.startswith("OK"), done)
        u, done = c.cmd("CREATE Threads")
        self.assertTrue(done.startswith("OK"), done)
        for t in THREAD_SET:
            u, done = self.append(c, thread_message(*t), mbox="Threads")
            self.assertTrue(done.startswith("OK"), done)
        c.cmd("LOGOUT")
        return user

    def expected(self, keys):
        """Sequence numbers of SORT_SET in the order of keys, computed
        with stable sorts from the last key to the first."""
        rows = []
        for i, (idate, fields) in enumerate(SORT_SET):
            f = dict(fields)
            arrival = self.idate(idate)
            sent = (email.utils.parsedate_to_datetime(f["Date"]).timestamp()
                    if "Date" in f else arrival)
            rows.append({
                "seq": i + 1,
                "ARRIVAL": arrival,
                "DATE": sent,
                "SIZE": len(message(fields)),
                "SUBJECT": base_subject(decoded(f.get("Subject")))[0],
                "FROM": first_mailbox(f.get("From")),
                "TO": first_mailbox(f.get("To")),
                "CC": first_mailbox(f.get("Cc")),
            })
        for key in reversed(keys):
            rev = key.startswith("REVERSE ")
            name = key.split()[-1]
            rows.sort(key=lambda r: r[name], reverse=rev)
        return [r["seq"] for r in rows]

    @staticmethod
    def idate(s):
        d, t, z = s.split(" ")
        day, mon, year = d.split("-")
        return email.utils.parsedate_to_datetime(
            "%s %s %s %s %s" % (day, mon, year, t, z)).timestamp()

    def sorted_seqs(self, c, text):
        u, done = c.cmd(text)
        self.assertEqual(done, "OK SORT completed", u)
        lines = [r for r in u if r.startswith("* SORT")]
        self.assertEqual(len(lines), 1, u)
        return [int(x) for x in lines[0].split()[2:]]


class TestSort(SortCase):
    def test_capability(self):
        c = self.connect()
        u, done = c.cmd("CAPABILITY")
        atoms = u[0].split()
        for cap in ("SORT", "ESORT", "THREAD=ORDEREDSUBJECT",
                    "THREAD=REFERENCES"):
            self.assertIn(cap, atoms)
        # Not done: say nothing of them.
        self.assertNotIn("CONTEXT=SORT", atoms)
        self.assertNotIn("SORT=DISPLAY", atoms)

    def test_base_subject_helper(self):
        # The Python side of the comparison, on RFC 5256's forms.
        self.assertEqual(base_subject("Re: [list] Fwd: hello (fwd)"),
                         ("HELLO", True))
        self.assertEqual(base_subject("[Fwd: Re: x]"), ("X", True))
        self.assertEqual(base_subject("[blob only]"), ("[BLOB ONLY]", False))
        self.assertEqual(base_subject("  a\t b "), ("A B", False))

    def test_each_criterion(self):
        c = self.login(self.user)
        self.select(c)
        for crit in CRITERIA:
            for rev in ("", "REVERSE "):
                key = rev + crit
                self.assertEqual(
                    self.sorted_seqs(c, "SORT (%s) UTF-8 ALL" % key),
                    self.expected([key]), key)

    def test_several_keys(self):
        c = self.login(self.user)
        self.select(c)
        for keys in (["SUBJECT", "REVERSE DATE"], ["FROM", "SIZE"],
                     ["REVERSE TO", "ARRIVAL"], ["DATE", "REVERSE SUBJECT"],
                     ["CC", "REVERSE FROM", "DATE"]):
            self.assertEqual(
                self.sorted_seqs(c, "SORT (%s) US-ASCII ALL" %
                                 " ".join(keys)),
                self.expected(keys), keys)
        # A repeated criterion changes nothing.
        self.assertEqual(self.sorted_seqs(c, "SORT (DATE REVERSE DATE) "
                                          "UTF-8 ALL"),
                         self.expected(["DATE"]))

    def test_search_keys_select(self):
        c = self.login(self.user)
        self.select(c)
        want = [s for s in self.expected(["SUBJECT"])
                if "a.org" in dict(SORT_SET[s - 1][1]).get("From", "")]
        self.assertEqual(self.sorted_seqs(
            c, "SORT (SUBJECT) UTF-8 FROM a.org"), want)
        self.assertEqual(self.sorted_seqs(
            c, "SORT (SUBJECT) UTF-8 OR 1 3:4"),
            [s for s in self.expected(["SUBJECT"]) if s in (1, 3, 4)])
        self.assertEqual(self.sorted_seqs(
            c, "SORT (DATE) UTF-8 SUBJECT nothing-matches"), [])

    def test_uid_sort(self):
        c = self.login(self.user)
        u = self.select(c)
        # The uids, in sequence order.
        u, done = c.cmd("UID SEARCH ALL")
        uids = [int(x) for x in u[0].split()[2:]]
        u, done = c.cmd("UID SORT (REVERSE ARRIVAL) UTF-8 ALL")
        self.assertEqual(done, "OK SORT completed")
        self.assertEqual(u, ["* SORT " + " ".join(
            str(uids[s - 1]) for s in self.expected(["REVERSE ARRIVAL"]))])

    def test_imaplib(self):
        m = self.imaplib_login(self.user)
        try:
            m.select("INBOX")
            typ, data = m.sort("(SUBJECT)", "UTF-8", "ALL")
            self.assertEqual(typ, "OK")
            self.assertEqual([int(x) for x in data[0].split()],
                             self.expected(["SUBJECT"]))
            typ, data = m.uid("SORT", "(DATE)", "UTF-8", "ALL")
            self.assertEqual(typ, "OK")
            self.assertEqual(len(data[0].split()), len(SORT_SET))
            m.select("Threads")
            typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
            self.assertEqual((typ, data), ("OK", [REFERENCES.encode()]))
        finally:
            m.logout()

    def test_bad_inputs(self):
        c = self.login(self.user)
        self.select(c)
        for cmd in ("SORT () UTF-8 ALL", "SORT (FOO) UTF-8 ALL",
                    "SORT (REVERSE) UTF-8 ALL", "SORT (DATE REVERSE) UTF-8 ALL",
                    "SORT DATE UTF-8 ALL", "SORT (DATE) UTF-8",
                    "SORT (DATE)", "SORT", "SORT (DATE) UTF-8 FOO",
                    "SORT RETURN (BOGUS) (DATE) UTF-8 ALL",
                    "SORT RETURN (DATE) UTF-8 ALL",
                    "THREAD FOO UTF-8 ALL", "THREAD REFERENCES UTF-8",
                    "THREAD", "THREAD (REFERENCES) UTF-8 ALL"):
            u, done = c.cmd(cmd)
            self.assertTrue(done.startswith("BAD "), (cmd, done))
        for cmd in ("SORT (DATE) KOI8-R ALL", "THREAD REFERENCES KOI8-R ALL",
                    "SORT RETURN (COUNT) (DATE) ISO-8859-1 ALL"):
            u, done = c.cmd(cmd)
            self.assertEqual(done, "NO [BADCHARSET (UTF-8 US-ASCII)] "
                             "Unsupported charset", cmd)
        # The session goes on.
        u, done = c.cmd("NOOP")
        self.assertEqual(done, "OK NOOP completed")
        self.assertEqual(self.sorted_seqs(c, "SORT (SIZE) UTF-8 ALL"),
                         self.expected(["SIZE"]))

    def test_not_selected(self):
        c = self.login(self.user)
        u, done = c.cmd("SORT (DATE) UTF-8 ALL")
        self.assertTrue(done.startswith("BAD") or done.startswith("NO"),
                        done)
        u, done = c.cmd("THREAD REFERENCES UTF-8 ALL")
        self.assertTrue(done.startswith("BAD") or done.startswith("NO"),
                        done)


class TestThread(SortCase):
    def thread(self, c, text):
        u, done = c.cmd(text)
        self.assertEqual(done, "OK THREAD completed", u)
        self.assertEqual(len(u), 1, u)
        self.assertTrue(u[0].startswith("* THREAD"), u)
        return u[0][len("* THREAD "):]

    def test_references(self):
        c = self.login(self.user)
        self.select(c, "Threads")
        self.assertEqual(self.thread(c, "THREAD REFERENCES UTF-8 ALL"),
                         REFERENCES)

    def test_orderedsubject(self):
        c = self.login(self.user)
        self.select(c, "Threads")
        self.assertEqual(self.thread(c, "THREAD ORDEREDSUBJECT UTF-8 ALL"),
                         ORDEREDSUBJECT)

    def test_uid_thread_and_keys(self):
        c = self.login(self.user)
        self.select(c, "Threads")
        u, done = c.cmd("UID SEARCH ALL")
        uids = [int(x) for x in u[0].split()[2:]]
        got = self.thread(c, "UID THREAD REFERENCES UTF-8 ALL")
        want = re.sub(r"\d+", lambda m: str(uids[int(m.group(0)) - 1]),
                      REFERENCES)
        self.assertEqual(got, want)
        # Only the messages the keys select: B's parent A is left out,
        # so B heads its thread.
        self.assertEqual(self.thread(c, "THREAD REFERENCES UTF-8 2:3"),
                         "(2 3)")
        self.assertEqual(self.thread(c, "THREAD REFERENCES UTF-8 "
                                     "SUBJECT nothing-matches"), "")

    def test_imaplib_orderedsubject(self):
        m = self.imaplib_login(self.user)
        try:
            m.select("Threads")
            typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
            self.assertEqual((typ, data), ("OK", [ORDEREDSUBJECT.encode()]))
        finally:
            m.logout()

    def test_hostile_references(self):
        # Thousands of ids in References: only the last 100 count, and
        # the answer comes.
        user = self.new_user()
        c = self.login(user)
        refs = " ".join("<r%d@x>" % i for i in range(3000))
        for msg in (message([("Subject", "root"), ("Message-ID", "<r2999@x>"),
                             ("Date", "Mon, 01 Jan 2024 10:00:00 +0000")]),
                    message([("Subject", "Re: root"), ("Message-ID", "<z@x>"),
                             ("References", refs),
                             ("Date", "Mon, 01 Jan 2024 11:00:00 +0000")])):
            u, done = self.append(c, msg)
            self.assertTrue(done.startswith("OK"), done)
        self.select(c)
        self.assertEqual(self.thread(c, "THREAD REFERENCES UTF-8 ALL"),
                         "(1 2)")

    def test_nesting_capped(self):
        # A chain that branches at every level: 40 levels of nesting
        # asked, IMAP_THREAD_NEST_MAX (32) given, the rest flat.
        user = self.new_user()
        c = self.login(user)
        n = 40
        for k in range(n):
            # c(k) replies to c(k-1); the leaf l(k) to c(k).
            for mid, last in (("<c%d@x>" % k, k), ("<l%d@x>" % k, k + 1)):
                refs = " ".join("<c%d@x>" % i for i in range(last)) or None
                msg = message([("Subject", "deep"), ("Message-ID", mid),
                               ("References", refs),
                               ("Date", "Mon, 01 Jan 2024 10:%02d:%02d +0000"
                                % (k, 0 if mid[1] == "c" else 1))])
                u, done = self.append(c, msg)
                self.assertTrue(done.startswith("OK"), done)
        self.select(c)
        got = self.thread(c, "THREAD REFERENCES UTF-8 ALL")
        depth = top = 0
        for ch in got:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            top = max(top, depth)
        self.assertEqual(depth, 0)
        self.assertEqual(top, 32)
        self.assertEqual(sorted(int(x) for x in re.findall(r"\d+", got)),
                         list(range(1, 2 * n + 1)))
        # The first levels as RFC 5256 writes them.
        self.assertTrue(got.startswith("(1 (2)(3 (4)(5 (6)(7"), got[:40])


class TestEsort(SortCase):
    def esearch(self, c, text):
        u, done = c.cmd(text)
        self.assertEqual(done, "OK SORT completed", u)
        return u

    def test_return_options(self):
        c = self.login(self.user)
        self.select(c)
        order = self.expected(["SUBJECT"])
        u = self.esearch(c, "SORT RETURN (MIN MAX COUNT) (SUBJECT) "
                         "UTF-8 ALL")
        t = "a%d" % c.n
        self.assertEqual(u, ['* ESEARCH (TAG "%s") MIN %d MAX %d COUNT %d'
                             % (t, order[0], order[-1], len(order))])
        u = self.esearch(c, "SORT RETURN (ALL) (SUBJECT) UTF-8 ALL")
        t = "a%d" % c.n
        runs = []
        for s in order:
            if runs and runs[-1][1] + 1 == s:
                runs[-1][1] = s
            else:
                runs.append([s, s])
        all_ = ",".join("%d" % a if a == b else "%d:%d" % (a, b)
                        for a, b in runs)
        self.assertEqual(u, ['* ESEARCH (TAG "%s") ALL %s' % (t, all_)])
        # RETURN (): ALL.
        u = self.esearch(c, "SORT RETURN () (SUBJECT) UTF-8 ALL")
        self.assertEqual(u, ['* ESEARCH (TAG "a%d") ALL %s' % (c.n, all_)])
        # Nothing matched: COUNT 0 only.
        u = self.esearch(c, "SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 "
                         "SUBJECT nothing-matches")
        self.assertEqual(u, ['* ESEARCH (TAG "a%d") COUNT 0' % c.n])

    def test_uid_esort(self):
        c = self.login(self.user)
        self.select(c)
        u, done = c.cmd("UID SEARCH ALL")
        uids = [int(x) for x in u[0].split()[2:]]
        order = [uids[s - 1] for s in self.expected(["REVERSE SIZE"])]
        u = self.esearch(c, "UID SORT RETURN (MIN MAX) (REVERSE SIZE) "
                         "UTF-8 ALL")
        self.assertEqual(u, ['* ESEARCH (TAG "a%d") UID MIN %d MAX %d'
                             % (c.n, order[0], order[-1])])

    def test_save(self):
        # SEARCHRES with ESORT (RFC 5182 2.4): "$" is the matches.
        c = self.login(self.user)
        self.select(c)
        u = self.esearch(c, "SORT RETURN (SAVE) (DATE) UTF-8 3:5")
        self.assertEqual(u, [])
        u, done = c.cmd("SEARCH $")
        self.assertEqual(u, ["* SEARCH 3 4 5"])
