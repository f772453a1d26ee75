"""Search finds the same posts, in the same order, on SQLite (FTS5) and PostgreSQL.

The same posts go into both engines: the real channel exports of tests/data, imported as
`python -m bot import` imports them, and hand-made posts that stress tokenization
(diacritics, underscores, digits, Kazakh letters, ё, emoji, Greek final sigma, Turkish
dotted İ, very long and repeated words), some of them edited and one deleted afterwards.
Then

- PostgreSQL's index holds, for every post, exactly the terms FTS5 indexes for it;
- a few hundred queries (every word of the corpus, inflected forms, several words, FTS5
  syntax, nothing at all) find the same posts, ranked alike, with the same BM25 ranks;
- paging through a common word gives the same pages;
- and, without PostgreSQL, `fts_tokens` (the tokenizer bridge PostgreSQL's index is
  built with) cuts any text as FTS5 itself does.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from bot.services.export_import import import_export
from storage import IncomingMessage, Media, SearchHit, Source, Storage
from storage.search_text import fts_tokens, index_body, words

DATA = Path(__file__).parent / "data"
#: The exports and the time zone of the computer that wrote each (for old exports only).
EXPORTS = [
    (DATA / "export" / "result.json", ZoneInfo("UTC")),
    (DATA / "real-exports" / "salaf-result.json", ZoneInfo("UTC")),
    (DATA / "real-exports" / "tg2md-result.json", ZoneInfo("Europe/Moscow")),
]
MIGRATION = Path(__file__).parents[1] / "storage" / "migrations" / "0001_posts.sql"

CHANNEL = -1001777000111
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)

#: Hand-made posts: message id -> text. Some share words, so that ranks tie and idf and
#: document length matter.
HAND_MADE: dict[int, str] = {
    1: "Президент Токаев подписал закон о республиканском бюджете на 2026 год.",
    2: "Встреча Токаева с министрами: обсуждали COVID-19 и рост цен на 12,5% за год.",
    3: "Токаеву доложили о паводках. Токаевым подписан указ.",
    4: "Café naïve Ærø — façade, résumé, Straße, coöperate, Øresund, Ångström.",
    5: "Переменные foo_bar и snake_case_name, теги #hash_tag #новости_дня, __dunder__.",
    6: "x² + y³ = z⁴; ½ стакана; ①②③; 2026-04-01; 3.14; 1,000,000; Nº5; 10⁻³.",
    7: "Қазақстан Республикасының Үкіметі әкімдік ғимаратында өңірлік ұлттық үлес "
    "туралы һәм Іле ауданы інжу-маржан.",
    8: "Ёлка на площади зажглась. Новогодняя елка и ёжик, ЁЛКИ-ПАЛКИ.",
    9: "Йогурт и иогурт, май и маи, йод, Йошкар-Ола, воин и войн.",
    10: "🔥🔥🔥",
    11: "Взрыв 💥 в Алматы 🇰🇿 👨\u200d👩\u200d👧 семья эвакуирована.",
    12: "ΟΔΟΣ οδός Σίσυφος σοφός ΣΟΦΟΣ λόγος ΛΟΓΟΣ.",
    13: "İstanbul ISTANBUL istanbul ıslak Iğdır İZMİR izmir.",
    14: "Превысокомногорассмотрительствующий "
    + "а" * 300
    + " pneumonoultramicroscopicsilicovolcanoconiosis "
    + "Z" * 3000,
    15: "налог налог налог налоги налогов налоговая реформа налог",
    16: "Налоговая реформа обсуждается в мажилисе.",
    17: "Курс доллара 512,30 тенге; евро — 560. Нацбанк сообщил.",
    18: "Погода в Астане: снег.",
    19: "Погода в Астане: снег.",
    20: "Погода в Астане: снег.",
    21: "!!! ??? --- …",
    22: "___",
    23: "ＡＢＣ ｔｅｓｔ ﬁnance ǅemal ß SS",
    24: "е\u0308лка и cafe\u0301 с комбинирующими знаками",
    25: "Отменённый рейс Алматы — Париж.",  # deleted below
    26: "Первоначальная версия новости про паводок.",  # edited below
    27: "Подпись к фото про весну.",  # a photo; its caption removed below
    28: "Черновик заметки",  # edited twice; the late older edit is ignored
}
#: (message id, new text) edits, saved after every post.
EDITS = [
    (26, "Новая версия: паводок отступил, Токаев поблагодарил спасателей."),
    (28, "Окончательная заметка про бюджет"),
]
DELETED = 25


def _hand_made() -> list[IncomingMessage]:
    return [
        IncomingMessage(
            channel_id=CHANNEL,
            message_id=message_id,
            date=T0 + timedelta(minutes=message_id),
            source=Source.CHANNEL,
            text=text,
            media=Media("photo", f"f{message_id}", f"u{message_id}") if message_id == 27 else None,
            channel_title="Ручные посты",
        )
        for message_id, text in HAND_MADE.items()
    ]


async def _fill(storage: Storage) -> None:
    for path, zone in EXPORTS:
        await import_export(storage, path, zone=zone)
    for message in _hand_made():
        await storage.posts.save(message)
    edited = T0 + timedelta(days=1)
    for message_id, text in EDITS:
        await storage.posts.save(
            IncomingMessage(CHANNEL, message_id, T0, Source.CHANNEL, text=text, edit_date=edited)
        )
    # The photo's caption is removed; an older edit of 28 arrives late and is ignored.
    await storage.posts.save(
        IncomingMessage(
            CHANNEL,
            27,
            T0,
            Source.CHANNEL,
            media=Media("photo", "f27", "u27"),
            edit_date=edited,
        )
    )
    await storage.posts.save(
        IncomingMessage(
            CHANNEL, 28, T0, Source.CHANNEL, text="Промежуточная", edit_date=T0 + timedelta(hours=1)
        )
    )
    deleted = await storage.posts.find(CHANNEL, DELETED)
    assert deleted is not None
    assert await storage.posts.mark_deleted(deleted.id)
    # An edit of the deleted post must not bring it back into the index.
    await storage.posts.save(
        IncomingMessage(
            CHANNEL,
            DELETED,
            T0,
            Source.CHANNEL,
            text="Рейс Алматы — Париж всё же состоится",
            edit_date=edited,
        )
    )


@dataclass
class StoredPost:
    id: int
    channel_id: int
    message_id: int
    deleted: bool
    text: str


async def _posts(storage: Storage) -> list[StoredPost]:
    async with storage.db.reading() as conn:
        cursor = await conn.execute(
            "SELECT id, channel_id, message_id, deleted, text FROM posts ORDER BY id"
        )
        return [
            StoredPost(int(r[0]), int(r[1]), int(r[2]), bool(r[3]), str(r[4]))
            for r in await cursor.fetchall()
        ]


@dataclass
class Engines:
    sqlite: Storage
    pg: Storage
    posts: list[StoredPost]

    def label(self, post_id: int) -> str:
        post = next(p for p in self.posts if p.id == post_id)
        return (
            f"post {post_id} (message {post.message_id} of {post.channel_id}: {post.text[:60]!r})"
        )


@pytest.fixture
async def engines(tmp_path: Path, pg_database: str) -> AsyncIterator[Engines]:
    """The same posts, saved the same way, in a SQLite file and a PostgreSQL database."""
    sqlite_storage = await Storage.open(tmp_path / "bot.db")
    try:
        pg_storage = await Storage.open(pg_database)
        try:
            await _fill(sqlite_storage)
            await _fill(pg_storage)
            posts = await _posts(sqlite_storage)
            # Search answers with post ids: both engines must have given the same ones.
            assert posts == await _posts(pg_storage)
            yield Engines(sqlite_storage, pg_storage, posts)
        finally:
            await pg_storage.close()
    finally:
        await sqlite_storage.close()


# -- 1. the index ----------------------------------------------------------------------


async def _fts5_terms(storage: Storage) -> dict[int, list[str]]:
    """The terms SQLite's posts_fts holds for each post, in order, as FTS5 reads them."""
    terms: dict[int, list[str]] = {}
    async with storage.db.reading() as conn:
        await conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, posts_fts, 'instance')"
        )
        cursor = await conn.execute("SELECT doc, term FROM temp.v ORDER BY doc, offset")
        for doc, term in await cursor.fetchall():
            terms.setdefault(int(doc), []).append(str(term))
    return terms


async def test_index_terms_are_fts5s_own(engines: Engines) -> None:
    fts5 = await _fts5_terms(engines.sqlite)
    async with engines.pg.db.reading() as conn:
        for post in engines.posts:
            cursor = await conn.execute(
                "SELECT terms, length FROM posts_fts WHERE post_id = ?", (post.id,)
            )
            row = await cursor.fetchone()
            stored: list[str] = list(row[0]) if row is not None else []
            expected = fts5.get(post.id, [])
            assert stored == expected, f"{engines.label(post.id)}: PostgreSQL's terms differ"
            if row is not None:
                assert row[1] == len(stored), f"{engines.label(post.id)}: wrong length"
            if post.deleted:
                assert not stored, f"{engines.label(post.id)} is deleted but still indexed"

    # The edits reached both indexes; the deleted post and the removed caption left them.
    edited = {p.message_id: p.id for p in engines.posts if p.channel_id == CHANNEL}
    for storage in (engines.sqlite, engines.pg):
        engine = storage.db.dialect.name
        assert await storage.posts.search_ids("первоначальная") == [], engine
        assert await storage.posts.search_ids("отступил") == [edited[26]], engine
        assert await storage.posts.search_ids("черновик") == [], engine
        assert await storage.posts.search_ids("промежуточная") == [], engine
        assert await storage.posts.search_ids("окончательная") == [edited[28]], engine
        assert await storage.posts.search_ids("отменённый") == [], engine
        assert await storage.posts.search_ids("состоится") == [], engine
        assert await storage.posts.search_ids("подпись весну") == [], engine


async def test_bm25_statistics_agree(engines: Engines) -> None:
    """BM25 counts the posts in the index (N) and their average length: a post indexed on
    one engine and not on the other shifts every rank of the other."""
    async with engines.sqlite.db.reading() as conn:
        cursor = await conn.execute("SELECT rowid FROM posts_fts ORDER BY rowid")
        in_fts5 = [int(r[0]) for r in await cursor.fetchall()]
    async with engines.pg.db.reading() as conn:
        cursor = await conn.execute("SELECT post_id FROM posts_fts ORDER BY post_id")
        in_pg = [int(r[0]) for r in await cursor.fetchall()]
    only_one = [f"only in FTS5: {engines.label(i)}" for i in sorted(set(in_fts5) - set(in_pg))]
    only_one += [
        f"only in PostgreSQL: {engines.label(i)}" for i in sorted(set(in_pg) - set(in_fts5))
    ]
    why = "so BM25's N and average length differ, and with them every rank"
    assert not only_one, f"posts indexed on one engine only ({why}):\n  " + "\n  ".join(only_one)


# -- 2. queries ------------------------------------------------------------------------

#: Forms of words the corpus holds in other forms.
INFLECTED = [
    "Токаев", "Токаева", "Токаеву", "токаевым", "ТОКАЕВЕ", "бюджет", "бюджета", "бюджетом",
    "налог", "налоги", "налогов", "налоговый", "ёлка", "елка", "ЁЛКИ", "елочка", "ёжик",
    "йогурт", "иогурт", "йод", "иод", "воин", "войн", "паводки", "паводков", "погоды",
    "Астана", "Астаны", "Алматы", "cafe", "CAFÉ", "café", "naive", "NAÏVE", "aero", "ærø",
    "aerø", "strasse", "straße", "oresund", "angstrom", "resume", "cooperate",
    "Қазақстан", "казакстан", "үкімет", "укимет", "інжу", "инжу", "ιστανμπουλ",
    "οδος", "ΟΔΟΣ", "σοφος", "σοφοσ", "λογος", "istanbul", "İSTANBUL", "izmir", "İzmir",
    "islak", "ıslak", "igdir", "covid", "COVID-19", "19", "2026", "12,5", "12", "5",
    "x²", "x2", "½", "①", "3.14", "nº5", "abc", "test", "finance", "ﬁnance", "dzemal",
    "ǆemal", "ss", "ß", "foo_bar", "foo", "bar", "#hash_tag", "hash", "tag",
    "новости_дня", "dunder", "__dunder__", "snake", "case_name",
    "превысокомногорассмотрительствующий", "а" * 300, "а" * 299,
    "pneumonoultramicroscopicsilicovolcanoconiosis", "Z" * 3000, "z" * 2500,
    "е\u0308лка", "cafe\u0301", "Allah", "ALLAH", "redmi", "Ajio",
]  # fmt: skip
#: Several words: some posts have them all; for some no post has, so any word is enough.
SEVERAL = [
    "Токаев бюджет", "Токаев подписал закон", "погода Астана снег", "налог реформа",
    "налоговая реформа мажилис", "Токаев café", "ёлка Straße", "Токаев паводок указ",
    "погода Париж", "Allah redmi", "курс доллара тенге", "курс евро Токаев", "foo_bar tag",
    "covid 19 цены", "нетакогослова Токаев", "нетакогослова ещёнет", "Алматы семья взрыв",
    "снег снег снег", "Токаева Токаеву Токаевым", "x² y³ z⁴",
    "один два три четыре пять шесть семь восемь девять десять одиннадцать двенадцать "
    "тринадцать Токаев",
]  # fmt: skip
#: FTS5 syntax must never be read as syntax, on either engine.
SYNTAX = [
    '"Токаев"', '"Токаев бюджет"', "Токаев*", "ток*", "NEAR(Токаев бюджет)",
    "NEAR(Токаев бюджет, 2)", "Токаев AND бюджет", "Токаев OR café", "Токаев NOT бюджет",
    "(Токаев)", "(Токаев OR", "body:Токаев", "body : снег", "{body}: снег", "-Токаев",
    "Токаев -бюджет", "^Токаев", "+снег", '"unterminated', "''", '""', "*", "AND", "OR",
    "NOT", "NEAR", ":", "-", "(", ")", "^", "rowid:1", "posts_fts", "снег\"; DROP TABLE posts; --",
    "%", "_", "?", ":terms", "$1", "'; SELECT 1; --",
]  # fmt: skip
EMPTY = ["", " ", "   ", "\n\t", "\u00a0", "🔥", "🔥🔥 💥", "🇰🇿", "👨\u200d👩\u200d👧", "!!!", "—"]
#: At most this many of the corpus' own words are queried (chosen evenly, not at random).
CORPUS_WORDS = 300


def _queries(posts: list[StoredPost]) -> list[str]:
    live = [p for p in posts if not p.deleted]
    hand_made = {w for p in live if p.channel_id == CHANNEL for w in words(p.text)}
    counts = Counter(w for p in live for w in set(words(p.text)))
    others = sorted(w for w in counts if w not in hand_made)
    budget = max(CORPUS_WORDS - len(hand_made), 1)
    step = max(len(others) // budget, 1)
    chosen = sorted(hand_made) + others[::step][:budget]
    result: dict[str, None] = {}
    for query in [*chosen, *INFLECTED, *SEVERAL, *SYNTAX, *EMPTY]:
        result.setdefault(query, None)
    return list(result)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def _tie_order_only(sqlite_hits: list[SearchHit], pg_hits: list[SearchHit]) -> bool:
    """Whether two rankings hold the same posts with the same ranks (within 1e-6), so
    that they can differ only where a rank rounds to another thousandth on one engine
    than on the other (both order by round(rank, 3), then newer first)."""
    pg_ranks = {h.post.id: h.rank for h in pg_hits}
    return {h.post.id for h in sqlite_hits} == set(pg_ranks) and all(
        _close(h.rank, pg_ranks[h.post.id]) for h in sqlite_hits
    )


def _show(hits: list[SearchHit]) -> str:
    return ", ".join(f"{h.post.id}:{h.rank:.9g}" for h in hits)


async def test_same_posts_for_the_same_query(engines: Engines) -> None:
    queries = _queries(engines.posts)
    assert len(queries) > 300
    found_any = 0
    different_sets: list[str] = []
    different_order: list[str] = []
    tie_order: list[str] = []
    different_ranks: list[str] = []
    for query in queries:
        ids = [
            set(await storage.posts.search_ids(query, limit=1000))
            for storage in (engines.sqlite, engines.pg)
        ]
        if ids[0] != ids[1]:
            different_sets.append(
                f"{query[:80]!r}: only SQLite {sorted(ids[0] - ids[1])}, "
                f"only PostgreSQL {sorted(ids[1] - ids[0])}"
            )
        found_any += bool(ids[0])
        sqlite_hits = await engines.sqlite.posts.search(query, limit=50)
        pg_hits = await engines.pg.posts.search(query, limit=50)
        if [h.post.id for h in sqlite_hits] != [h.post.id for h in pg_hits]:
            line = (
                f"{query[:80]!r}:\n    SQLite     {_show(sqlite_hits)}\n"
                f"    PostgreSQL {_show(pg_hits)}"
            )
            (tie_order if _tie_order_only(sqlite_hits, pg_hits) else different_order).append(line)
        pg_ranks = {h.post.id: h.rank for h in pg_hits}
        for hit in sqlite_hits:
            other = pg_ranks.get(hit.post.id)
            if other is not None and not _close(hit.rank, other):
                different_ranks.append(
                    f"{query[:80]!r}: {engines.label(hit.post.id)}: SQLite {hit.rank!r}, "
                    f"PostgreSQL {other!r}"
                )
    # The query list is no list of misses.
    assert found_any > len(queries) // 2, f"only {found_any} of {len(queries)} queries found posts"
    # Every difference is counted; the first few of each kind are shown.
    report = []
    for what, lines in [
        ("queries find other posts", different_sets),
        ("queries rank otherwise", different_order),
        (
            "queries order ties otherwise (same ranks within 1e-6, rounded to another "
            "thousandth on one engine)",
            tie_order,
        ),
        ("ranks differ by more than 1e-6 (relative)", different_ranks),
    ]:
        if lines:
            report.append(f"{len(lines)} {what}:\n  " + "\n  ".join(lines[:15]))
    assert not report, "\n".join(report)


# -- 3. paging -------------------------------------------------------------------------


async def _pages(storage: Storage, query: str, size: int = 5) -> list[int]:
    ids: list[int] = []
    offset = 0
    while True:
        page = await storage.posts.search(query, limit=size, offset=offset)
        assert len(page) <= size
        ids += [hit.post.id for hit in page]
        if len(page) < size:
            return ids
        offset += size


async def test_pages_are_the_same(engines: Engines) -> None:
    counts = Counter(w for p in engines.posts if not p.deleted for w in set(words(p.text)))
    common = max(sorted(counts), key=lambda w: counts[w])
    for query in [common, "налог", "погода Астана", "Токаев", "нетакогослова Токаев"]:
        on_sqlite = await _pages(engines.sqlite, query)
        on_pg = await _pages(engines.pg, query)
        assert on_sqlite, f"{query!r} finds nothing"
        assert on_sqlite == on_pg, f"pages of {query!r} differ"
        whole = await engines.sqlite.posts.search_ids(query, limit=1000)
        assert on_sqlite == whole, f"pages of {query!r} are not the whole ranking"
        assert len(set(on_sqlite)) == len(on_sqlite), f"pages of {query!r} repeat a post"
    assert counts[common] > 20, f"{common!r} is in {counts[common]} posts only"


# -- 4. the tokenizer bridge -----------------------------------------------------------

# Hypothesis keeps its caches (and would keep its example database) outside the repo.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "newsmirror-bot-hypothesis")

TOKENS = settings(
    # 200 examples take about 0.2 s.
    max_examples=200,
    # CI explores the same examples each run; a developer's runs explore new ones.
    derandomize=bool(os.environ.get("CI")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

LETTERS = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
    "aeinoszAEINOSZáàâäãåæçéèêëíìîïñóòôöõøœßúùûüýÿÆØÅŁłİıĞğŞşǅǆŉẞ"
    "ΣσςΟΔοδάΆ"
    "ＡＢｃﬁﬂ"
)
OTHERS = "0123456789²³¹½①٣_ .,;:!?-—–'\"«»()[]{}*^+/\\#@%&\n\t\u00a0\u200d🔥🇰🇿"
TEXT = st.text(
    st.one_of(
        st.sampled_from(LETTERS),
        st.sampled_from(OTHERS),
        # Combining marks, which unicode61 with remove_diacritics 2 drops or keeps.
        st.characters(min_codepoint=0x300, max_codepoint=0x36F),
        st.characters(codec="utf-8", exclude_characters="\x00"),
    ),
    max_size=120,
)


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    """An FTS5 table made as the migration makes SQLite's posts_fts."""
    sql = MIGRATION.read_text(encoding="utf-8")
    create = re.search(r"CREATE VIRTUAL TABLE posts_fts USING fts5 \(.*?\);", sql, re.DOTALL)
    assert create is not None, f"no posts_fts in {MIGRATION}"
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as conn:
        conn.execute(create.group(0))
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(posts_fts, 'instance')")
        yield conn


def _fts5_tokens(conn: sqlite3.Connection, body: str) -> list[str]:
    conn.execute("DELETE FROM posts_fts")
    conn.execute("INSERT INTO posts_fts (rowid, body) VALUES (1, ?)", (body,))
    return [str(row[0]) for row in conn.execute("SELECT term FROM v ORDER BY offset")]


@TOKENS
@given(text=TEXT)
def test_fts_tokens_cut_as_fts5_does(fts5: sqlite3.Connection, text: str) -> None:
    body = index_body(text)
    assert fts_tokens(body) == _fts5_tokens(fts5, body), f"text {text!r}, body {body!r}"
