"""The full-text index of live posts, on either engine, finding the same posts.

Both index the same terms: Snowball stems of the post's words (storage/search_text.py),
as FTS5's unicode61 tokenizer reads them. SQLite keeps them in an FTS5 table; PostgreSQL
in an array per post with a GIN index, the tokens cut by that same tokenizer (through
an in-memory SQLite table), and ranks them by the BM25 formula FTS5 uses.
"""

from __future__ import annotations

from typing import Protocol

from storage.engine import Connection, Dialect, SyncConnection
from storage.search_text import fts_tokens, index_body, match_expression

#: How many of the newest matches of a query are ranked.
SEARCH_WINDOW = 1000


class SearchIndex(Protocol):
    def put(self, conn: SyncConnection, post_id: int, text: str) -> None:
        """Index a post's text (replacing what was indexed); an empty text is removed."""

    def remove_sql(self) -> str:
        """The statement that takes a post (by id) out of the index."""

    async def ranked(
        self, conn: Connection, terms: list[str], any_term: bool, limit: int, offset: int
    ) -> list[tuple[int, float]]:
        """(post id, rank) of a page of matches, best (lowest rank) first, newer first
        among equals; every term must match unless `any_term`."""

    async def matches(self, conn: Connection, terms: list[str]) -> bool:
        """Whether any post has every term."""


class Fts5Index:
    def put(self, conn: SyncConnection, post_id: int, text: str) -> None:
        conn.execute("DELETE FROM posts_fts WHERE rowid = ?", (post_id,))
        if text:
            conn.execute(
                "INSERT INTO posts_fts (rowid, body) VALUES (?, ?)", (post_id, index_body(text))
            )

    def remove_sql(self) -> str:
        return "DELETE FROM posts_fts WHERE rowid = ?"

    async def ranked(
        self, conn: Connection, terms: list[str], any_term: bool, limit: int, offset: int
    ) -> list[tuple[int, float]]:
        # bm25() is lower for better matches; ids grow with time, so newer first among
        # equals. Ranked in SQL, on the database thread, and only the page comes back.
        cursor = await conn.execute(
            """
            SELECT id, rank FROM (
                SELECT rowid AS id, bm25(posts_fts) AS rank FROM posts_fts
                 WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT ?
            ) ORDER BY round(rank, 3), id DESC LIMIT ? OFFSET ?
            """,
            (match_expression(terms, any_term=any_term), SEARCH_WINDOW, limit, offset),
        )
        return [(int(r[0]), float(r[1])) for r in await cursor.fetchall()]

    async def matches(self, conn: Connection, terms: list[str]) -> bool:
        cursor = await conn.execute(
            "SELECT 1 FROM posts_fts WHERE posts_fts MATCH ? LIMIT 1", (match_expression(terms),)
        )
        return await cursor.fetchone() is not None


#: FTS5's bm25() defaults.
_K1, _B = 1.2, 0.75


class PgIndex:
    def put(self, conn: SyncConnection, post_id: int, text: str) -> None:
        conn.execute("DELETE FROM posts_fts WHERE post_id = ?", (post_id,))
        if text:
            # A text without words (emoji alone) is kept with no terms, as FTS5 keeps it:
            # BM25's count of posts and their average length are then the same on both.
            terms = fts_tokens(index_body(text))
            conn.execute(
                "INSERT INTO posts_fts (post_id, terms, length) VALUES (?, ?, ?)",
                (post_id, terms, len(terms)),
            )

    def remove_sql(self) -> str:
        return "DELETE FROM posts_fts WHERE post_id = ?"

    async def ranked(
        self, conn: Connection, terms: list[str], any_term: bool, limit: int, offset: int
    ) -> list[tuple[int, float]]:
        # FTS5's bm25: -Σ idf·tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen)) over the query's
        # terms, idf = ln((N − n + 0.5) / (n + 0.5)), at least 1e-6; N and the average
        # length over the whole index, n the posts holding the term.
        cursor = await conn.execute(
            f"""
            WITH totals AS (
                SELECT count(*)::float8 AS n, coalesce(avg(length), 1)::float8 AS avglen
                  FROM posts_fts
            ), weights AS (
                SELECT q.term,
                       greatest(ln((t.n - h.n + 0.5) / (h.n + 0.5)), 1e-6) AS idf
                  FROM unnest(:terms::text[]) AS q(term)
                 CROSS JOIN totals AS t
                 CROSS JOIN LATERAL (
                     SELECT count(*)::float8 AS n FROM posts_fts
                      WHERE posts_fts.terms @> ARRAY[q.term]
                 ) AS h
            ), hits AS (
                SELECT post_id, terms, length FROM posts_fts
                 WHERE terms {"&&" if any_term else "@>"} :terms::text[]
                 ORDER BY post_id DESC LIMIT :window
            ), ranked AS (
                SELECT hits.post_id AS id,
                       -sum(w.idf * f.tf * {_K1 + 1}
                            / (f.tf + {_K1} * (1 - {_B} + {_B} * hits.length / t.avglen)))
                           AS rank
                  FROM hits
                 CROSS JOIN totals AS t
                 CROSS JOIN weights AS w
                 CROSS JOIN LATERAL (
                     SELECT count(*)::float8 AS tf FROM unnest(hits.terms) AS term
                      WHERE term = w.term
                 ) AS f
                 GROUP BY hits.post_id
            )
            SELECT id, rank FROM ranked
             ORDER BY round(rank::numeric, 3), id DESC LIMIT :limit OFFSET :offset
            """,
            {
                "terms": terms,
                "window": SEARCH_WINDOW,
                "limit": limit,
                "offset": offset,
            },
        )
        return [(int(r[0]), float(r[1])) for r in await cursor.fetchall()]

    async def matches(self, conn: Connection, terms: list[str]) -> bool:
        cursor = await conn.execute(
            "SELECT 1 FROM posts_fts WHERE terms @> ?::text[] LIMIT 1", (terms,)
        )
        return await cursor.fetchone() is not None


_INDEXES: dict[str, SearchIndex] = {"sqlite": Fts5Index(), "postgresql": PgIndex()}


def index_for(dialect: Dialect) -> SearchIndex:
    return _INDEXES[dialect.name]
