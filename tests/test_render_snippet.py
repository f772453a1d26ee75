"""Search snippets: the matching words of a post, found without stemming every word."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import matching_words, snippet
from storage.search_text import query_terms, stems

WORDS = [
    "Токаев",
    "Токаева",
    "ёлка",
    "ЁЛКИ",
    "елки",
    "ремонт",
    "ремонта",
    "дорог",
    "дороги",
    "İstanbul",
    "Астана",
    "астанинцы",
    "в",
    "и",
    "2025",
    "COVID-19",
    "ненастный",
    "стенной",
]


def stem_every_word(text: str, wanted: set[str]) -> list[tuple[int, int]]:
    """What the shortcut must equal: each word stemmed as the index stems it."""
    return [m.span() for m in re.finditer(r"\w+", text) if next(iter(stems(m[0])), "") in wanted]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(
        st.one_of(
            st.sampled_from(WORDS),
            st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяİ", min_size=1, max_size=9),
        ),
        max_size=40,
    ).map(" ".join),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
)
def test_the_same_words_as_stemming_every_word(text: str, query: str) -> None:
    wanted = set(query_terms(query))
    assert matching_words(text, wanted) == stem_every_word(text, wanted)


def test_any_form_of_the_word_is_bold() -> None:
    found = snippet(
        "Президент Токаева встретился. Токаев заявил; ЁЛКИ и ёлка", query_terms("Токаев ёлки")
    )
    assert found == (
        "Президент <b>Токаева</b> встретился. <b>Токаев</b> заявил; <b>ЁЛКИ</b> и <b>ёлка</b>"
    )
