# The full-text index written after the answer (vaultd's index job,
# issue 13): a SEARCH that uses the index sees every message stored
# before it, however new, through the real daemons: one APPEND then at
# once UID SEARCH BODY/TEXT; many APPENDs (more than one index batch)
# then one SEARCH that must count them all; an expunge of messages the
# index has not seen yet; another session's search.

import re
import unittest

import test_imap as ti


def note(i, word):
    return ti.message("note %d" % i,
                      body="Entry %d mentions %s today.\r\n" % (i, word))


def uids(u):
    """The uids of a '* SEARCH' response, as a list of ints."""
    lines = [x for x in u if x.startswith("* SEARCH")]
    if len(lines) != 1:
        raise AssertionError("no single SEARCH response: %r" % (u,))
    return [int(x) for x in lines[0].split()[2:]]


class Index(ti.Base):

    def search(self, c, key):
        u, done = c.cmd("UID SEARCH " + key)
        self.assertEqual(done, "OK SEARCH completed", u)
        return uids(u)

    def test_append_then_search(self):
        """Each message is found by the SEARCH that follows its APPEND,
        by body text, by a header (TEXT), case-insensitively."""
        c = self.login(self.new_user())
        self.select(c)
        self.assertEqual(self.append(c, note(1, "Pelican"))[1][:2], "OK")
        self.assertEqual(self.search(c, "BODY pelican"), [1])
        self.assertEqual(self.search(c, 'TEXT "note 1"'), [1])
        self.assertEqual(self.append(c, note(2, "PELICANS"))[1][:2], "OK")
        self.assertEqual(self.search(c, "BODY Pelican"), [1, 2])
        self.assertEqual(self.search(c, "SUBJECT \"note 2\""), [2])
        # Not the index (two characters): the same answer.
        self.assertEqual(self.search(c, "BODY pe"), [1, 2])

    def test_many_appends_then_search(self):
        """300 APPENDs, more than any index batch, then one SEARCH: it
        counts them all; so does another session's, and a search after
        a further burst."""
        user = self.new_user()
        c = self.login(user)
        n = 300
        for i in range(1, n + 1):
            word = "albatross" if i % 3 == 0 else "heron"
            u, done = self.append(c, note(i, word))
            self.assertTrue(done.startswith("OK [APPENDUID"), done)
        self.select(c)
        self.assertEqual(self.search(c, "BODY heron"),
                         [i for i in range(1, n + 1) if i % 3 != 0])
        self.assertEqual(self.search(c, "TEXT albatross"),
                         list(range(3, n + 1, 3)))
        for i in range(n + 1, n + 51):
            self.append(c, note(i, "cormorant"))
        d = self.login(user)
        self.select(d)
        self.assertEqual(self.search(d, "BODY cormorant"),
                         list(range(n + 1, n + 51)))
        self.assertEqual(len(self.search(d, "TEXT entry")), n + 50)

    def test_expunge_before_index(self):
        """Messages expunged right after their APPEND, before the index
        has them, leave the index whole: the others are still found,
        and expunging those works too."""
        c = self.login(self.new_user())
        self.select(c)
        for i in range(1, 6):
            self.append(c, note(i, "gannet"))
        u, done = c.cmd("UID STORE 2:4 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(done, "OK STORE completed", u)
        u, done = c.cmd("EXPUNGE")
        self.assertEqual(done, "OK EXPUNGE completed", u)
        self.assertEqual(self.search(c, "BODY gannet"), [1, 5])
        self.append(c, note(6, "gannet"))
        u, done = c.cmd("UID STORE 1,5 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(done, "OK STORE completed", u)
        u, done = c.cmd("EXPUNGE")
        self.assertEqual(done, "OK EXPUNGE completed", u)
        self.assertEqual(self.search(c, "BODY gannet"), [6])
        self.assertEqual(self.search(c, "TEXT entry"), [6])


if __name__ == "__main__":
    unittest.main()
