"""/convert requests as readers type them, conversion through the tenge, number formats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services.convert import (
    ConvertError,
    ConvertRequest,
    Problem,
    convert,
    currency_code,
    format_money,
    format_number,
    parse_amount,
    parse_request,
)
from bot.services.nbk import parse_feed
from tests.rates_server import day_capture

D = Decimal
RATES = parse_feed(day_capture("03.04.2026")).by_code()  # USD 472.31, EUR 543.72, RUB 5.86


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100 usd", ConvertRequest(D(100), "USD")),
        ("100 USD KZT", ConvertRequest(D(100), "USD", "KZT")),
        ("5000 тенге в рублях", ConvertRequest(D(5000), "KZT", "RUB")),
        # Kazakh: no preposition, the target takes the dative ending.
        ("100 долларды теңгеге", ConvertRequest(D(100), "USD", "KZT")),
        ("5000 теңгені рубльге", ConvertRequest(D(5000), "KZT", "RUB")),
        ("100 еуро", ConvertRequest(D(100), "EUR")),
        ("50 юаньды теңгеге", ConvertRequest(D(50), "CNY", "KZT")),
        ("1 000,50 eur", ConvertRequest(D("1000.50"), "EUR")),
        ("1\u00a0000,50 eur", ConvertRequest(D("1000.50"), "EUR")),
        ("1\u202f000,50 eur", ConvertRequest(D("1000.50"), "EUR")),
        ("$100", ConvertRequest(D(100), "USD")),
        ("100$", ConvertRequest(D(100), "USD")),
        ("100 долларов", ConvertRequest(D(100), "USD")),
        ("100 eur usd", ConvertRequest(D(100), "EUR", "USD")),
        ("100 eur to usd", ConvertRequest(D(100), "EUR", "USD")),
        ("100 usd in rub", ConvertRequest(D(100), "USD", "RUB")),
        ("100 USD -> EUR", ConvertRequest(D(100), "USD", "EUR")),
        ("€50 в тенге", ConvertRequest(D(50), "EUR", "KZT")),
        ("₸ 5000", ConvertRequest(D(5000), "KZT")),
        ("5000₸ в $", ConvertRequest(D(5000), "KZT", "USD")),
        ("₽1000", ConvertRequest(D(1000), "RUB")),
        ("1,000.50 usd", ConvertRequest(D("1000.50"), "USD")),
        ("1.000,50 eur", ConvertRequest(D("1000.50"), "EUR")),
        ("1,000,000 kzt", ConvertRequest(D(1000000), "KZT")),
        ("0,125 usd", ConvertRequest(D("0.125"), "USD")),
        ("1,5 евро", ConvertRequest(D("1.5"), "EUR")),
        ("2.75 usd", ConvertRequest(D("2.75"), "USD")),
        ("100 долларах в рублях", ConvertRequest(D(100), "USD", "RUB")),
        ("1 доллар", ConvertRequest(D(1), "USD")),
        ("2 доллара", ConvertRequest(D(2), "USD")),
        ("1 рубль", ConvertRequest(D(1), "RUB")),
        ("3 рубля", ConvertRequest(D(3), "RUB")),
        ("500 рублей", ConvertRequest(D(500), "RUB")),
        ("500 РУБЛЕЙ В ТЕНГЕ", ConvertRequest(D(500), "RUB", "KZT")),
        ("10 тыщ", None),  # an unknown word, see the bad inputs
        ("100 юаней", ConvertRequest(D(100), "CNY")),
        ("100 gbp", ConvertRequest(D(100), "GBP")),
        ("100 usd.", ConvertRequest(D(100), "USD")),
        ("  100   usd  ", ConvertRequest(D(100), "USD")),
    ],
)
def test_parse_request(text: str, expected: ConvertRequest | None) -> None:
    if expected is None:
        with pytest.raises(ConvertError):
            parse_request(text)
        return
    assert parse_request(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", Problem.EMPTY),
        ("   ", Problem.EMPTY),
        ("usd", Problem.NOT_AMOUNT),
        ("сто долларов", Problem.NOT_AMOUNT),
        ("1e3 usd", Problem.NOT_AMOUNT),
        ("12 34 usd", Problem.NOT_AMOUNT),
        ("100 usd 200", Problem.NOT_AMOUNT),
        ("1,000 usd", Problem.AMBIGUOUS),
        ("-100 usd", Problem.NOT_POSITIVE),
        ("−100 usd", Problem.NOT_POSITIVE),
        ("-$100", Problem.NOT_POSITIVE),
        ("0 usd", Problem.NOT_POSITIVE),
        ("0,00 usd", Problem.NOT_POSITIVE),
        ("1000000000001 usd", Problem.TOO_LARGE),
        ("10 000 000 000 000 тенге", Problem.TOO_LARGE),
        ("100", Problem.NO_CURRENCY),
        ("100 в", Problem.NO_CURRENCY),
        ("100 зайцев", Problem.UNKNOWN_CURRENCY),
        ("100 usd в попугаях", Problem.UNKNOWN_CURRENCY),
        ("100 usd eur rub", Problem.TOO_MANY),
    ],
)
def test_bad_requests(text: str, problem: Problem) -> None:
    with pytest.raises(ConvertError) as caught:
        parse_request(text)
    assert caught.value.problem is problem


def test_unknown_word_is_reported_back() -> None:
    with pytest.raises(ConvertError) as caught:
        parse_request("100 зайцев")
    assert caught.value.detail == "зайцев"


def test_largest_amount_passes() -> None:
    assert parse_request("1 000 000 000 000 тенге").amount == D(10) ** 12


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("доллар", "USD"),
        ("долларов", "USD"),
        ("ДОЛЛАРАХ", "USD"),
        ("$", "USD"),
        ("евро", "EUR"),
        ("€", "EUR"),
        ("рублём", "RUB"),
        ("рублями", "RUB"),
        ("₽", "RUB"),
        ("тенге", "KZT"),
        ("₸", "KZT"),
        ("тг", "KZT"),
        ("юаней", "CNY"),
        ("сомов", "KGS"),
        ("cny", "CNY"),
        ("xyz", "XYZ"),  # three Latin letters pass as a code; the rates decide
        ("зайцев", None),
        ("сумма", None),
    ],
)
def test_currency_code(word: str, code: str | None) -> None:
    assert currency_code(word) == code


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100", D(100)),
        ("1 000", D(1000)),
        ("1'000", D(1000)),
        ("1 000 000,5", D("1000000.5")),
        ("1000,500", D("1000.500")),
        ("0.5", D("0.5")),
    ],
)
def test_parse_amount(text: str, value: Decimal) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["1.000.5", "1,000 000", "1 00", "10 000,000,5"])
def test_parse_amount_refuses_mixed_grouping(text: str) -> None:
    with pytest.raises(ConvertError):
        parse_amount(text)


def test_convert_to_and_from_tenge() -> None:
    assert convert(D(100), "USD", "KZT", RATES) == D("47231.00")
    assert convert(D(47231), "KZT", "USD", RATES) == D(100)
    assert convert(D(5000), "KZT", "KZT", RATES) == D(5000)


def test_convert_between_foreign_currencies_goes_through_tenge() -> None:
    result = convert(D(100), "EUR", "USD", RATES)
    assert result == D(100) * D("543.72") / D("472.31")
    assert format_money(result, "en") == "115.12"


def test_convert_respects_quant() -> None:
    # 100 KRW = 31.15 tenge, 1000 IRR = 0.4 tenge.
    assert convert(D(100), "KRW", "KZT", RATES) == D("31.15")
    assert convert(D(1000), "IRR", "KZT", RATES) == D("0.4")
    assert convert(D(1), "HUF", "KZT", RATES) == D("1.417")


def test_convert_unknown_code_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        convert(D(1), "XYZ", "KZT", RATES)


@pytest.mark.parametrize(
    ("value", "lang", "text"),
    [
        (D("517.3"), "ru", "517,30"),
        (D("517.3"), "en", "517.30"),
        (D("47231"), "ru", "47\u00a0231,00"),
        (D("47231"), "en", "47,231.00"),
        (D("1234567.891"), "ru", "1\u00a0234\u00a0567,89"),
        (D("-2.77"), "ru", "-2,77"),
        (D("0.005"), "en", "0.01"),  # half up, as money is rounded
    ],
)
def test_format_number(value: Decimal, lang: str, text: str) -> None:
    assert format_number(value, lang) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("10.5867"), "10,59"),
        (D("0.2117"), "0,21"),
        (D("0.00211"), "0,0021"),
        (D("0"), "0,00"),
    ],
)
def test_small_results_do_not_read_as_zero(value: Decimal, text: str) -> None:
    assert format_money(value, "ru") == text
