"""The translation catalogs: every message in every language, with the same placeholders
as the reference, compiling, and nothing the bot says left in code."""

from __future__ import annotations

import ast
import io
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.texts import DEFAULT_LANGUAGE, LANGUAGES, LOCALES, N_, i18n, tn

BOT = Path(__file__).resolve().parent.parent / "bot"
#: The functions whose argument is a message id, as `pybabel extract -k` takes them.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "t": (2,),
    "tn": (2,),
    "plain": (2,),
    "plain_n": (2,),
    "N_": None,
}
CYRILLIC = re.compile("[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")


def load(lang: str) -> Catalog:
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=lang, abort_invalid=True)


def entries(catalog: Catalog) -> dict[str, Message]:
    return {str(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}


def forms(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def extracted() -> dict[str, list[str]]:
    """Message ids the code uses, as `pybabel extract` finds them, and where."""
    found: dict[str, list[str]] = {}
    for path, line, message, _, _ in extract_from_dir(
        BOT, method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else message[0]
        if key:
            found.setdefault(key, []).append(f"{path}:{line}")
    return found


def test_the_bot_speaks_every_language_of_its_catalogs() -> None:
    assert LANGUAGES == ("ru", "en", "kk")
    assert set(i18n.available_locales) == set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_catalog_compiles_without_errors(lang: str) -> None:
    catalog = load(lang)
    assert list(catalog.check()) == []
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.tell() > 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_with_the_references_placeholders(lang: str) -> None:
    reference = entries(load(DEFAULT_LANGUAGE))
    catalog = entries(load(lang))
    assert sorted(catalog) == sorted(reference), "message ids differ from the reference's"
    untranslated = [key for key, m in catalog.items() if m.fuzzy or not all(forms(m))]
    assert untranslated == []
    differing = [
        (key, text)
        for key, m in catalog.items()
        for text in forms(m)
        if fields(text) != fields(forms(reference[key])[0])
    ]
    assert differing == []
    plural = {key for key, m in catalog.items() if m.pluralizable}
    assert plural == {key for key, m in reference.items() if m.pluralizable}
    assert all(len(forms(catalog[key])) == load(lang).num_plurals for key in plural)


def test_extraction_finds_exactly_the_catalogs_messages() -> None:
    """Every id the code asks for is in the catalogs, and every id there is asked for: a
    message looked up by a computed name would hide from translators."""
    in_code = extracted()
    in_catalog = set(entries(load(DEFAULT_LANGUAGE)))
    assert {key: where for key, where in in_code.items() if key not in in_catalog} == {}
    assert sorted(in_catalog - set(in_code)) == []


def test_a_message_id_marked_in_code_is_its_own_value() -> None:
    assert N_("digest_header") == "digest_header"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", ["1 день", "2 дня", "5 дней", "11 дней", "21 день", "22 дня"]),
        ("kk", ["1 күн", "2 күн", "5 күн", "11 күн", "21 күн", "22 күн"]),
        ("en", ["1 day", "2 days", "5 days", "11 days", "21 days", "22 days"]),
    ],
)
def test_plural_forms_follow_each_languages_rules(lang: str, expected: list[str]) -> None:
    titles = [
        tn(lang, "chart_title", n, quant=1, code="USD", days=n) for n in (1, 2, 5, 11, 21, 22)
    ]
    assert [title.split(", ")[-1] for title in titles] == expected


def _literals(path: Path) -> Iterator[tuple[int, str]]:
    """The string literals of a module, its docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def test_no_sentence_for_readers_is_left_in_code() -> None:
    """Russian or Kazakh in code is only what readers type (city names, currency words,
    "вчера"), matched case-folded: lower case, one token. Anything else reads as a text
    for readers that belongs in the catalogs."""
    left = [
        f"{path.relative_to(BOT.parent)}:{line}: {value!r}"
        for path in sorted(BOT.rglob("*.py"))
        for line, value in _literals(path)
        if CYRILLIC.search(value) and (value != value.casefold() or re.search(r"\s", value))
    ]
    assert left == []


_SENDERS = {"answer", "send_message", "edit_text", "reply", "InlineKeyboardButton", "BotCommand"}


def test_no_literal_text_goes_to_telegram() -> None:
    """What the bot sends or shows on a button comes through the catalogs, never as a
    literal in the call."""
    sent = []
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            if name not in _SENDERS:
                continue
            values = [
                *node.args,
                *(k.value for k in node.keywords if k.arg in ("text", "description")),
            ]
            sent += [
                f"{path.relative_to(BOT.parent)}:{node.lineno}"
                for value in values
                if isinstance(value, ast.Constant | ast.JoinedStr)
                and re.search(r"[^\W\d_]{2}", ast.unparse(value))
            ]
    assert sent == []


#: Telegram's limits, in characters, for texts set on the bot itself.
PROFILE_LIMITS = {"bot_description": 512, "bot_short_description": 120}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_profile_texts_and_command_descriptions_fit_telegrams_limits(lang: str) -> None:
    catalog = entries(load(lang))
    too_long = {
        key: len(forms(catalog[key])[0])
        for key in catalog
        if len(forms(catalog[key])[0])
        > PROFILE_LIMITS.get(key, 256 if key.startswith("cmd_") else 10**9)
    }
    assert too_long == {}
