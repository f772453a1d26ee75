"""PNG line charts of stored rates, sized and lettered to be read on a phone.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, so no GUI backend, no
global figure state, and nothing to close. Plotting converts Decimal to float; that only
places pixels, the numbers in the caption come from the Decimals.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, DateFormatter, DateLocator, DayLocator
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from storage.rates import Rate

WIDTH_PX, HEIGHT_PX, DPI = 1200, 800, 100
# matplotlib's caches (fonts, text layout) are not thread-safe; charts are drawn in a
# worker thread so as not to stall the event loop, one at a time.
_DRAWING = threading.Lock()


@dataclass(frozen=True, slots=True)
class Line:
    """A line drawn beside the official rate (the exchange offices' buy and sell)."""

    label: str
    points: Sequence[tuple[date, Decimal]] = field(default_factory=list)
    color: str = "#2e7d32"


def series(history: Sequence[Rate]) -> list[tuple[date, Decimal]]:
    """One point per stored day: tenge for the latest quote's `quant` units.

    Rescaled per unit, so a change of quant (a redenomination) does not draw a cliff.
    """
    if not history:
        return []
    quant = history[-1].quant
    by_day = {rate.day: rate.per_unit * quant for rate in history}
    return sorted(by_day.items())


def build_figure(
    points: Sequence[tuple[date, Decimal]],
    *,
    title: str,
    ylabel: str,
    number: Callable[[float], str],
    label: str | None = None,
    others: Sequence[Line] = (),
) -> Figure:
    """The chart as a Figure (tests look at its data); `number` formats axis values.

    `others` are drawn thinner beside the main line, with a legend naming each."""
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    days = [day for day, _ in points]
    values = [float(value) for _, value in points]
    axes.plot(
        days,  # type: ignore[arg-type]  # matplotlib takes dates; its stubs say float
        values,
        color="#1565c0",
        linewidth=4,
        marker="o" if len(points) <= 40 else None,
        markersize=7,
        label=label,
    )
    for other in others:
        axes.plot(
            [day for day, _ in other.points],  # type: ignore[arg-type]  # dates, as above
            [float(value) for _, value in other.points],
            color=other.color,
            linewidth=2.5,
            marker="o" if len(other.points) <= 40 else None,
            markersize=5,
            label=other.label,
        )
    if others:
        axes.legend(fontsize=16, loc="best")
    if values:
        axes.annotate(
            number(values[-1]),
            xy=(days[-1], values[-1]),
            xytext=(-12, 14),
            textcoords="offset points",
            ha="right",
            fontsize=22,
            fontweight="bold",
            color="#0d47a1",
        )
    axes.set_title(title, fontsize=28, pad=16)
    axes.set_ylabel(ylabel, fontsize=20)
    axes.tick_params(labelsize=18)
    axes.grid(True, alpha=0.35)
    every_day = sorted({*days, *(day for other in others for day, _ in other.points)})
    span = (every_day[-1] - every_day[0]).days if every_day else 0
    # matplotlib.dates has no type hints yet. Whole days only: the automatic locator
    # would put hours between the few days of a short history.
    locator: DateLocator = (
        DayLocator(interval=max(1, -(-(span + 1) // 7)))  # type: ignore[no-untyped-call]
        if span < 30
        else AutoDateLocator(minticks=3, maxticks=7)  # type: ignore[no-untyped-call]
    )
    formatter = DateFormatter("%d.%m" if span <= 120 else "%m.%Y")  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(formatter)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: number(value)))
    axes.margins(x=0.03, y=0.12)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    with _DRAWING:
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def render_chart(
    points: Sequence[tuple[date, Decimal]],
    *,
    title: str,
    ylabel: str,
    number: Callable[[float], str],
    label: str | None = None,
    others: Sequence[Line] = (),
) -> bytes:
    """A 1200×800 PNG line chart of the points (and of `others` beside them)."""
    with _DRAWING:
        figure = build_figure(
            points, title=title, ylabel=ylabel, number=number, label=label, others=others
        )
    return to_png(figure)
