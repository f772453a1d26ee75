"""Parsing the National Bank's two real feed formats (captures in tests/data/nbk/)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.services.nbk import FeedError, parse_day, parse_feed
from tests.rates_server import HTML_PAGE, RSS_2016, capture, day_capture


def test_per_date_document() -> None:
    feed = parse_feed(day_capture("01.04.2026"))

    assert feed.day == date(2026, 4, 1)
    assert len(feed.rates) == 39
    assert feed.outdated == []
    assert all(rate.day == date(2026, 4, 1) for rate in feed.rates)
    rates = feed.by_code()
    usd = rates["USD"]
    assert (usd.rate, usd.quant, usd.change, usd.trend) == (
        Decimal("478.77"),
        1,
        Decimal("-2.77"),
        "DOWN",
    )
    assert rates["EUR"].rate == Decimal("548.62")
    assert rates["RUB"].rate == Decimal("5.87")


def test_quant_is_kept_and_per_unit_divides_by_it() -> None:
    rates = parse_feed(day_capture("01.04.2026")).by_code()

    assert (rates["HUF"].rate, rates["HUF"].quant) == (Decimal("14.23"), 10)
    assert (rates["AMD"].quant, rates["UZS"].quant, rates["KRW"].quant) == (10, 100, 100)
    assert (rates["IRR"].rate, rates["IRR"].quant) == (Decimal("0.4"), 1000)
    assert rates["IRR"].per_unit == Decimal("0.0004")
    assert rates["KRW"].per_unit == Decimal("0.3129")
    assert rates["USD"].per_unit == Decimal("478.77")


def test_decimals_with_trailing_zeros_dropped_are_exact() -> None:
    rates = parse_feed(day_capture("01.04.2026")).by_code()

    assert rates["GEL"].rate == Decimal("179.5")
    assert rates["JPY"].rate == Decimal("3")
    assert rates["KWD"].rate == Decimal("1560.02")
    assert all(isinstance(rate.rate, Decimal) for rate in rates.values())


def test_change_sign_and_index() -> None:
    rates = parse_feed(day_capture("01.04.2026")).by_code()

    assert (rates["HUF"].change, rates["HUF"].trend) == (Decimal("0.02"), "UP")
    assert (rates["AUD"].change, rates["AUD"].trend) == (Decimal("-2.13"), "DOWN")
    # Unchanged: the index is empty and the change is zero.
    assert (rates["INR"].change, rates["INR"].trend) == (Decimal("0.00"), "")
    for rate in rates.values():
        assert rate.change is not None
        expected = "UP" if rate.change > 0 else "DOWN" if rate.change < 0 else ""
        assert rate.trend == expected, rate.code


def test_change_is_against_the_previous_day_for_the_same_quant() -> None:
    first = parse_feed(day_capture("01.04.2026")).by_code()
    second = parse_feed(day_capture("02.04.2026")).by_code()

    for code in ("USD", "AMD", "KRW", "EUR"):
        assert second[code].rate - first[code].rate == second[code].change, code


def test_rss_with_own_dates_and_two_digit_years() -> None:
    feed = parse_feed(capture(RSS_2016))

    assert feed.day == date(2016, 4, 18)
    rates = feed.by_code()
    assert rates["USD"].rate == Decimal("334.41")
    assert rates["USD"].day == date(2016, 4, 18)
    assert (rates["IRR"].quant, rates["KRW"].quant, rates["BYR"].quant) == (1000, 100, 100)
    assert rates["CAD"].rate == Decimal("260.5")


def test_rss_leaves_out_currencies_no_longer_quoted() -> None:
    feed = parse_feed(capture(RSS_2016))

    codes = {rate.code for rate in feed.rates}
    assert {"LVL", "EEK", "TRL"}.isdisjoint(codes)
    assert len(feed.rates) == 39
    outdated = {rate.code: rate.day for rate in feed.outdated}
    assert outdated == {
        "LVL": date(2013, 12, 31),
        "EEK": date(2010, 12, 31),
        "TRL": date(2005, 1, 5),
    }


def test_one_odd_item_cannot_pass_for_today() -> None:
    items = "".join(
        f"<item><title>{code}</title><pubDate>{day}</pubDate><description>1.5</description>"
        "<quant>1</quant><index></index><change>0.00</change></item>"
        for code, day in [("USD", "18.04.16"), ("EUR", "18.04.16"), ("XYZ", "01.01.30")]
    )
    feed = parse_feed(f"<rss><channel>{items}</channel></rss>")

    assert feed.day == date(2016, 4, 18)
    assert [rate.code for rate in feed.rates] == ["USD", "EUR"]
    assert [rate.code for rate in feed.outdated] == ["XYZ"]


def test_day_without_data_is_empty_not_garbage() -> None:
    body = "<rates><date>05.04.2026</date><info>Нет данных</info></rates>"

    feed = parse_feed(body)

    assert feed.day == date(2026, 4, 5)
    assert feed.rates == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18.04.16", date(2016, 4, 18)),
        ("31.12.13", date(2013, 12, 31)),
        ("05.01.05", date(2005, 1, 5)),
        ("31.12.99", date(1999, 12, 31)),
        ("01.04.2026", date(2026, 4, 1)),
    ],
)
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text) == expected


@pytest.mark.parametrize("text", ["", "2026-04-01", "32.01.2026", "29.02.2025", "1.2"])
def test_parse_day_refuses_non_dates(text: str) -> None:
    with pytest.raises(FeedError):
        parse_day(text)


def _replace(body: bytes, old: str, new: str) -> bytes:
    assert old.encode() in body
    return body.replace(old.encode(), new.encode(), 1)


GOOD = day_capture("01.04.2026")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(HTML_PAGE, id="html"),
        pytest.param(b"<html><body><p>Maintenance</p></body></html>", id="xhtml"),
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n", id="blank"),
        pytest.param(GOOD[: len(GOOD) // 2], id="truncated"),
        pytest.param(GOOD[:-20], id="truncated-end"),
        pytest.param(b'{"rates": []}', id="json"),
        pytest.param(b'<?xml version="1.0" encoding="bogus"?><rates/>', id="bad-encoding"),
        pytest.param(_replace(GOOD, "478.77", "abc"), id="rate-not-a-number"),
        pytest.param(_replace(GOOD, "478.77", "NaN"), id="rate-nan"),
        pytest.param(_replace(GOOD, "478.77", "4.7877e2"), id="rate-exponent"),
        pytest.param(_replace(GOOD, "478.77", "478,77"), id="rate-comma"),
        pytest.param(_replace(GOOD, "478.77", ""), id="rate-empty"),
        pytest.param(_replace(GOOD, "478.77", "-478.77"), id="rate-negative"),
        pytest.param(_replace(GOOD, "478.77", "0"), id="rate-zero"),
        pytest.param(_replace(GOOD, "<quant>10</quant>", "<quant>0</quant>"), id="quant-zero"),
        pytest.param(_replace(GOOD, "<quant>10</quant>", "<quant>ten</quant>"), id="quant-text"),
        pytest.param(_replace(GOOD, "-2.77", "--2.77"), id="change-not-a-number"),
        pytest.param(_replace(GOOD, "<title>USD</title>", "<title>$</title>"), id="bad-code"),
        pytest.param(_replace(GOOD, "<title>EUR</title>", "<title>USD</title>"), id="twice"),
        pytest.param(_replace(GOOD, "01.04.2026", "2026-04-01"), id="bad-date"),
    ],
)
def test_garbage_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(body)
