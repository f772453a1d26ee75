"""What the full-text index holds for a text: lower-cased, ё folded to е, Russian stems.

Queries go through the same function, so "Токаева" and "Токаев", "ярмарке" and
"ярмарка" meet on one stem.
"""

from __future__ import annotations

import re

import Stemmer

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_stemmer = Stemmer.Stemmer("russian")
_stemmer.maxCacheSize = 200_000


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("ё", "е"))


def stems(text: str) -> list[str]:
    found = words(text)
    if not found:
        return []
    result: list[str] = _stemmer.stemWords(found)
    return result


def index_body(text: str) -> str:
    return " ".join(stems(text))
