"""Everything the bot says, from the gettext catalogs in bot/locales/ (one folder per
language: a fourth language is a catalog, not a code change).

Message ids are stable keys ("digest_header"); Russian is the reference catalog. The
catalogs are read as .po files and compiled in memory when the bot starts, so there is no
build step to forget, and a catalog that does not compile stops the bot at once.

Templates use str.format fields; `t()` HTML-escapes every value, so a headline with "<"
never breaks a message.
"""

from __future__ import annotations

import gettext
import html
import io
from pathlib import Path
from typing import Final

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "messages"
DEFAULT_LANGUAGE: Final = "ru"
#: Telegram languages read as Russian when the bot has no catalog of their own.
_READ_AS_RUSSIAN: Final = frozenset({"uk", "be"})


def compile_catalog(po: Path) -> gettext.GNUTranslations:
    """A .po catalog, compiled by Babel as `pybabel compile` would."""
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parent.parent.name, abort_invalid=True)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class CatalogI18n(I18n):
    """aiogram's I18n over the .po catalogs themselves."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return {
            po.parent.parent.name: compile_catalog(po)
            for po in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po"))
        }


i18n: Final = CatalogI18n(path=LOCALES, default_locale=DEFAULT_LANGUAGE, domain=DOMAIN)
#: The languages the bot speaks, its default first.
LANGUAGES: Final[tuple[str, ...]] = (
    DEFAULT_LANGUAGE,
    *sorted(lang for lang in i18n.available_locales if lang != DEFAULT_LANGUAGE),
)


def N_(key: str) -> str:
    """Marks a message id that is looked up later (extraction finds it here)."""
    return key


def language_of(code: str | None) -> str:
    """The bot's language for a Telegram language_code: its own catalog if there is one
    (kk, ru, en), Russian for Ukrainian and Belarusian, English for any other, and Russian
    when Telegram does not say."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.replace("_", "-").split("-")[0].lower()
    if base in LANGUAGES:
        return base
    return DEFAULT_LANGUAGE if base in _READ_AS_RUSSIAN else "en"


def menu_languages() -> dict[str | None, str]:
    """Telegram's language_code of each command menu and the language it is written in:
    one per catalog, Russian for the apps read as Russian, and for every other app (no
    code) the language those readers are answered in."""
    return {
        None: language_of("und"),
        **{code: DEFAULT_LANGUAGE for code in sorted(_READ_AS_RUSSIAN)},
        **{code: code for code in LANGUAGES},
    }


def template(lang: str, key: str, n: int | None = None) -> str:
    """The text `key` in `lang` as the catalog has it: in the default language where the
    catalog lacks it (the tests see that no catalog does)."""
    for locale in dict.fromkeys((lang, DEFAULT_LANGUAGE)):
        if locale not in i18n.locales:
            continue
        found = i18n.gettext(key, locale=locale) if n is None else i18n.gettext(key, key, n, locale)
        if found != key:
            return found
    raise KeyError(key)


def t(lang: str, key: str, /, **values: object) -> str:
    """The text `key` in `lang`, with every value HTML-escaped."""
    return _filled(template(lang, key), values)


def tn(lang: str, key: str, n: int, /, **values: object) -> str:
    """The text `key` in `lang` in the plural form for `n`, with every value HTML-escaped."""
    return _filled(template(lang, key, n), values)


def plain(lang: str, key: str, /, **values: object) -> str:
    """The text `key` in `lang` without escaping: for pieces that are passed on to `t()`,
    which escapes them once."""
    return template(lang, key).format(**values)


def plain_n(lang: str, key: str, n: int, /, **values: object) -> str:
    """`plain()` in the plural form for `n`."""
    return template(lang, key, n).format(**values)


def _filled(text: str, values: dict[str, object]) -> str:
    if not values:
        return text
    # A lone surrogate a reader typed ("\ud800" in the update's JSON) cannot go out as
    # UTF-8: echoed back, it becomes "?".
    return text.format(
        **{
            k: html.escape(str(v).encode("utf-8", "replace").decode(), quote=False)
            for k, v in values.items()
        }
    )
