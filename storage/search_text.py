"""What the full-text index holds for a text, and how a reader's query is matched to it.

Words are lower-cased, ё is folded to е, and each word is reduced by Snowball's Russian
stemmer until it stops changing. One pass is not enough for names: "Токаев" stems to
"тока" but "Токаева" to "токаев", which stems on to "тока"; repeated, both meet at one
stem. Queries go through the same function, so any form finds the others.

The index then holds the stems as FTS5's unicode61 tokenizer cuts and folds them ("café"
is "cafe", "foo_bar" two terms); fts_tokens() gives that cut in Python, for PostgreSQL's
index and for queries, so that both engines hold and look for the same terms.
"""

from __future__ import annotations

import re
import sqlite3
import threading

import Stemmer

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_stemmer = Stemmer.Stemmer("russian")
_stemmer.maxCacheSize = 200_000

#: Words of a query that are used; the rest of a very long query is ignored.
MAX_QUERY_TERMS = 12


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("ё", "е"))


def stems(text: str) -> list[str]:
    result: list[str] = words(text)
    # Snowball stems converge in two or three passes; four is a safe bound.
    for _ in range(4):
        again: list[str] = _stemmer.stemWords(result)
        if again == result:
            break
        result = again
    return result


def index_body(text: str) -> str:
    return " ".join(stems(text))


#: The tokenizer of SQLite's posts_fts table (storage/migrations/0001_posts.sql).
TOKENIZER = "unicode61 remove_diacritics 2"


class _Tokenizer(threading.local):
    conn: sqlite3.Connection | None = None


_TOKENIZER = _Tokenizer()


def fts_tokens(body: str) -> list[str]:
    """The terms FTS5 indexes for `body`, in order: its tokenizer's own output, read back
    from an in-memory table of this thread (about 0.2 ms for a 300-word post)."""
    conn = _TOKENIZER.conn
    if conn is None:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5 (body, tokenize = '{TOKENIZER}')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
        _TOKENIZER.conn = conn
    conn.execute("BEGIN")
    try:
        conn.execute("INSERT INTO t (rowid, body) VALUES (1, ?)", (body,))
        return [str(row[0]) for row in conn.execute("SELECT term FROM v ORDER BY offset")]
    finally:
        conn.execute("ROLLBACK")


def query_terms(query: str) -> list[str]:
    """Distinct stems of a reader's query, in order, at most MAX_QUERY_TERMS."""
    seen: dict[str, None] = {}
    for stem in stems(query[:2000]):
        seen.setdefault(stem, None)
        if len(seen) == MAX_QUERY_TERMS:
            break
    return list(seen)


def search_terms(query: str) -> list[str]:
    """Distinct index terms of a reader's query, in order, at most MAX_QUERY_TERMS: its
    stems as the index holds them (a stem FTS5 cuts in two is two terms, each needed)."""
    seen: dict[str, None] = {}
    for term in fts_tokens(" ".join(query_terms(query))):
        seen.setdefault(term, None)
    return list(seen)[:MAX_QUERY_TERMS]


def match_expression(terms: list[str], *, any_term: bool = False) -> str:
    """An FTS5 MATCH expression for index terms. Each is quoted, so that no reader's input
    is ever read as FTS5 syntax (AND, NEAR, *, quotes, colons, parentheses)."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    return (" OR " if any_term else " ").join(quoted)
