"""Cities of MARKET_CITIES as readers type them: "Астана", "astana", "Нур-Султан"."""

from __future__ import annotations

from collections.abc import Sequence

from bot.texts import N_, plain

# The slug kurs.kz uses for a city, and the other names people call it by. A slug of
# MARKET_CITIES not listed here is still known by the slug itself.
ALIASES: dict[str, tuple[str, ...]] = {
    "almaty": ("алматы", "алма-ата", "almaty", "alma-ata"),
    "astana": ("астана", "нур-султан", "нурсултан", "astana", "nur-sultan", "nursultan"),
    "shymkent": ("шымкент", "чимкент", "shymkent", "chimkent"),
    "karaganda": ("караганда", "қарағанды", "karaganda", "karagandy"),
    "aktobe": ("актобе", "ақтөбе", "aktobe"),
    "pavlodar": ("павлодар", "pavlodar"),
    "oskemen": ("усть-каменогорск", "өскемен", "оскемен", "oskemen", "ust-kamenogorsk"),
    "atyrau": ("атырау", "atyrau"),
}


def _key(word: str) -> str:
    return word.casefold().replace("ё", "е").strip(".,;:!?()«»\"'")


def city_slug(word: str, cities: Sequence[str]) -> str | None:
    """The slug of MARKET_CITIES that `word` names, or None."""
    key = _key(word)
    for slug in cities:
        if key == slug or key in ALIASES.get(slug, ()):
            return slug
    return None


#: The message id of each city's name.
NAMES = {
    "almaty": N_("city_almaty"),
    "astana": N_("city_astana"),
    "shymkent": N_("city_shymkent"),
    "karaganda": N_("city_karaganda"),
    "aktobe": N_("city_aktobe"),
    "pavlodar": N_("city_pavlodar"),
    "oskemen": N_("city_oskemen"),
    "atyrau": N_("city_atyrau"),
}


def city_name(slug: str, lang: str) -> str:
    """A city's name: "Астана" for astana; a slug the texts do not name, capitalised."""
    key = NAMES.get(slug)
    return plain(lang, key) if key else slug.replace("-", " ").title()


def city_list(cities: Sequence[str], lang: str) -> str:
    return ", ".join(city_name(slug, lang) for slug in cities)
