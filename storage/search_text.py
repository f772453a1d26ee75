"""What the full-text index holds for a text, and how a reader's query is matched to it.

Words are lower-cased, ё is folded to е, and each word is reduced by Snowball's Russian
stemmer until it stops changing. One pass is not enough for names: "Токаев" stems to
"тока" but "Токаева" to "токаев", which stems on to "тока"; repeated, both meet at one
stem. Queries go through the same function, so any form finds the others.
"""

from __future__ import annotations

import re

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


def query_terms(query: str) -> list[str]:
    """Distinct stems of a reader's query, in order, at most MAX_QUERY_TERMS."""
    seen: dict[str, None] = {}
    for stem in stems(query[:2000]):
        seen.setdefault(stem, None)
        if len(seen) == MAX_QUERY_TERMS:
            break
    return list(seen)


def match_expression(terms: list[str], *, any_term: bool = False) -> str:
    """An FTS5 MATCH expression for stems. Each is quoted, so that no reader's input is
    ever read as FTS5 syntax (AND, NEAR, *, quotes, colons, parentheses)."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    return (" OR " if any_term else " ").join(quoted)
