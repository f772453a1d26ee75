"""Reading "/convert" requests as people type them, converting through the tenge, and
writing numbers the way each language does.

Pure functions only: no I/O, no Telegram, so every form a reader may type is a unit test.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_decimal_symbol, get_group_symbol

from bot.texts import N_
from storage.rates import Rate

TENGE = "KZT"
#: Beyond this an amount is a typo or a test of the bot, not money anyone converts.
MAX_AMOUNT = Decimal(10) ** 12

# Telegram clients and copy-paste bring no-break, narrow and thin spaces into numbers.
_SPACES = str.maketrans(dict.fromkeys("\u00a0\u202f\u2009\u2007\u2002\u2003", " "))
_SYMBOLS = "$€₽₸£"
_TOKEN_RE = re.compile(rf"->|=>|[{_SYMBOLS}→=]|[^\s{_SYMBOLS}→=]+")
_NUMBER_RE = re.compile(r"\d+(?:[ ,.']\d+)*")
_MINUS_RE = re.compile(rf"[-−–]\s*[{_SYMBOLS}]?\s*$")
_CONNECTORS = frozenset({"в", "во", "на", "to", "in", "into", "->", "=>", "→", "="})
_PUNCTUATION = ".,;:!?()«»\"'"

# Russian nouns change their ending with case and number: доллар, доллара, долларов,
# долларах… A stem with the endings it takes matches every form a reader may type.
_M = "(?:|а|у|ом|е|ы|и|ов|ей|ам|ями|ами|ах|ях)"  # masculine endings, generously
_F = "(?:а|ы|и|е|у|ой|ою|ам|ами|ах)"  # feminine -а nouns
# Kazakh adds case and plural suffixes by vowel harmony: долларды, теңгеге, рубльден,
# еуроға, доллармен; any of them, generously.
_KK = (
    "(?:|ды|ді|ты|ті|ны|ні|ға|ге|қа|ке|на|не|а|е|дан|ден|тан|тен|нан|нен|да|де|та|те"
    "|дың|дің|тың|тің|ның|нің|мен|пен|бен|лар|лер|дар|дер|тар|тер)"
)
_CURRENCY_WORDS: tuple[tuple[str, str], ...] = (
    ("USD", rf"usd|\$|us\$|доллар{_M}|доллар{_KK}|долл|бакс{_M}|dollars?|bucks?"),
    ("EUR", rf"eur|€|евро|евро{_KK}|еуро{_KK}|euros?"),
    ("RUB", rf"rub|₽|руб|рубл(?:ь|я|ю|ём|ем|е|и|ей|ям|ями|ях)|рубль{_KK}|roubles?|rubles?"),
    ("KZT", rf"kzt|₸|тенге|теңге{_KK}|тг|tenge"),
    ("CNY", rf"cny|юан(?:ь|я|ю|ем|е|и|ей|ям|ями|ях)|юань{_KK}|yuan"),
    ("GBP", rf"gbp|£|фунт{_M}|pounds?"),
    ("KGS", rf"kgs|сом{_M}|soms?"),
    ("UZS", rf"uzs|сум{_M}|sums?"),
    ("TRY", rf"try|лир{_F}|liras?"),
    ("UAH", rf"uah|гривн{_F}|гривен|hryvnias?"),
    ("CHF", rf"chf|франк{_M}|francs?"),
    ("JPY", rf"jpy|[иий]ен{_F}|yen"),
    ("GEL", r"gel|лари|lari"),
    ("AZN", rf"azn|манат{_M}|manats?"),
    ("AMD", rf"amd|драм{_M}|drams?"),
)
_WORD_RES = tuple((code, re.compile(pattern)) for code, pattern in _CURRENCY_WORDS)
_CODE_RE = re.compile(r"[a-z]{3}")


class Problem(enum.StrEnum):
    """Why a request could not be read; each is the message id of its own answer, with an
    example."""

    EMPTY = N_("convert_empty")
    NOT_AMOUNT = N_("convert_not_amount")
    AMBIGUOUS = N_("convert_ambiguous")
    NOT_POSITIVE = N_("convert_not_positive")
    TOO_LARGE = N_("convert_too_large")
    NO_CURRENCY = N_("convert_no_currency")
    UNKNOWN_CURRENCY = N_("convert_unknown_currency")
    TOO_MANY = N_("convert_too_many")


class ConvertError(ValueError):
    def __init__(self, problem: Problem, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem
        #: The word or number the reader typed that caused the problem.
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ConvertRequest:
    amount: Decimal
    source: str
    #: None: into tenge for a foreign amount, into the usual currencies for tenge.
    target: str | None = None


def currency_code(word: str) -> str | None:
    """The code a word means: "долларах" -> "USD", "€" -> "EUR", "gbp" -> "GBP"; else None.

    Any three Latin letters pass as an ISO code: whether the National Bank quotes it is
    for the caller to check against the rates in hand.
    """
    word = word.casefold().strip(_PUNCTUATION).replace("ё", "е")
    for code, pattern in _WORD_RES:
        if pattern.fullmatch(word):
            return code
    if _CODE_RE.fullmatch(word):
        return word.upper()
    return None


def parse_amount(text: str) -> Decimal:
    """An amount as typed: "1 000,50", "1,000.50" and "1.000,50" are all 1000.50.

    A separator is the decimal one when it comes last and once, unless it could as well
    group thousands ("1,000": a thousand or one?), which is asked back rather than guessed.
    """
    text = text.strip()
    seps = [ch for ch in text if not ch.isdigit()]
    groups = re.split(r"[ ,.']", text)
    if not text or not all(g.isascii() and g.isdigit() for g in groups):
        raise ConvertError(Problem.NOT_AMOUNT, text)
    decimals = ""
    if seps and seps[-1] in ",." and seps.count(seps[-1]) == 1:
        last = groups[-1]
        grouping = seps[:-1]
        if not grouping and len(last) == 3 and len(groups[0]) <= 3 and groups[0] != "0":
            raise ConvertError(Problem.AMBIGUOUS, text)
        decimals = last
        groups, seps = groups[:-1], grouping
    # What is left are thousands separators: one kind, groups of three after the first.
    if seps and (len(set(seps)) != 1 or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        raise ConvertError(Problem.NOT_AMOUNT, text)
    return Decimal("".join(groups) + ("." + decimals if decimals else ""))


def parse_request(text: str) -> ConvertRequest:
    """Read "100 usd", "5000 тенге в рублях", "$100", "1 000,50 eur", "100 eur usd"…"""
    text = " ".join(text.translate(_SPACES).split())
    if not text:
        raise ConvertError(Problem.EMPTY)
    match = _NUMBER_RE.search(text)
    if match is None:
        raise ConvertError(Problem.NOT_AMOUNT, text)
    before, after = text[: match.start()], text[match.end() :]
    amount = parse_amount(match[0])
    if _MINUS_RE.search(before):
        raise ConvertError(Problem.NOT_POSITIVE, "-" + match[0])
    if amount <= 0:
        raise ConvertError(Problem.NOT_POSITIVE, match[0])
    if amount > MAX_AMOUNT:
        raise ConvertError(Problem.TOO_LARGE, match[0])

    codes: list[str] = []
    for token in _TOKEN_RE.findall(before + " " + after):
        word = token.strip(_PUNCTUATION)
        if not word or word.casefold() in _CONNECTORS:
            continue
        if any(ch.isdigit() for ch in word):
            raise ConvertError(Problem.NOT_AMOUNT, text)
        code = currency_code(word)
        if code is None:
            raise ConvertError(Problem.UNKNOWN_CURRENCY, word)
        # "$100 usd": a symbol and a word for one currency.
        if not codes or codes[-1] != code:
            codes.append(code)
    if not codes:
        raise ConvertError(Problem.NO_CURRENCY, match[0])
    if len(codes) > 2:
        raise ConvertError(Problem.TOO_MANY, text)
    return ConvertRequest(amount, codes[0], codes[1] if len(codes) == 2 else None)


def per_unit(code: str, rates: Mapping[str, Rate]) -> Decimal:
    """Tenge for one unit of `code`; KeyError when the National Bank does not quote it."""
    return Decimal(1) if code == TENGE else rates[code].per_unit


def convert(amount: Decimal, source: str, target: str, rates: Mapping[str, Rate]) -> Decimal:
    """`amount` of `source` in `target`, through the tenge. KeyError for an unknown code."""
    return amount * per_unit(source, rates) / per_unit(target, rates)


def round_money(value: Decimal) -> tuple[Decimal, int]:
    """The value rounded for reading and its number of decimals: kopecks for sums, and
    enough digits that a small result (1 tenge in dollars) does not read as zero."""
    places = 2 if value == 0 or abs(value) >= 1 else min(8, max(2, 1 - value.adjusted()))
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP), places


def format_number(value: Decimal, lang: str, places: int = 2) -> str:
    """517.3 -> "517,30" in Russian and Kazakh, "517.30" in English; thousands grouped by
    the language's custom (CLDR's, through Babel): "47 877,00" with a no-break space, which
    keeps the number on one line in a narrow chat bubble."""
    quantized = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    digits = f"{quantized:,.{places}f}"
    point, group = get_decimal_symbol(lang), get_group_symbol(lang)
    return "".join(point if c == "." else group if c == "," else c for c in digits)


def format_short(value: Decimal, lang: str) -> str:
    """A price as the outlet's widget writes it: at most kopecks, no trailing zeros
    ("517,3", "560", "5,79")."""
    rounded = value.quantize(Decimal("0.01"), ROUND_HALF_UP).normalize()
    return format_number(rounded, lang, max(0, -int(rounded.as_tuple().exponent)))


def format_money(value: Decimal, lang: str) -> str:
    rounded, places = round_money(value)
    return format_number(rounded, lang, places)


def format_amount(value: Decimal, lang: str) -> str:
    """An amount the reader typed: as many decimals as they gave, at least none."""
    places = max(0, -int(value.as_tuple().exponent))
    return format_number(value, lang, places)
