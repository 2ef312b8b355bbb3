"""Charts for the objective reports, legible in greyscale and described in alt text.

Every chart function returns ``(figure, alt_text)``: the alt text states the chart's
message in words, so the figure is never the only place a finding appears. Lines are
told apart by style and marker as well as colour.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mpsanalysis import periods
from mpsanalysis.report.html import format_count
from mpsanalysis.stats.plotting import label_thousands

__all__ = [
    "plot_financial_year_months",
    "plot_borough_comparison",
    "borough_comparison_html",
    "setup_style",
]

_THIS_YEAR: dict[str, Any] = {"color": "#1d3c78", "linestyle": "-", "marker": "o", "linewidth": 2.2}
_LAST_YEAR: dict[str, Any] = {
    "color": "#8a8a8a",
    "linestyle": "--",
    "marker": "s",
    "linewidth": 1.6,
}


def setup_style() -> None:
    """A plain house style: light grid, no top/right spines, readable sizes."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.figsize": (8, 3.6),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#dddddd",
            "font.size": 10,
            "svg.hashsalt": "mpsanalysis",
        }
    )


def plot_financial_year_months(
    monthly: pd.Series, period_end: pd.Period, title: str, ylabel: str = "Offences per month"
):
    """This financial year's months against the same months last year.

    Returns
    -------
    (matplotlib.figure.Figure, str)
        The figure and its alt text.
    """
    import matplotlib.pyplot as plt

    setup_style()
    fy = periods.financial_year(period_end)
    this = periods.financial_year_window(fy)
    last = periods.financial_year_window(fy - 1)
    labels = [m.strftime("%b") for m in this.months]
    now = monthly.reindex(this.months).to_numpy()
    now = [v if m <= period_end else math.nan for v, m in zip(now, this.months, strict=True)]
    before = monthly.reindex(last.months).to_numpy()
    fig, ax = plt.subplots()
    ax.plot(labels, before, label=periods.financial_year_label(fy - 1), **_LAST_YEAR)
    ax.plot(labels, now, label=periods.financial_year_label(fy), **_THIS_YEAR)
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    label_thousands(ax.yaxis)
    ax.legend(frameon=False, loc="lower right")
    present = [v for v in now if not math.isnan(v)]
    previous = [
        v
        for v, m in zip(before, last.months, strict=True)
        if not math.isnan(v) and m + 12 <= period_end
    ]
    if present and previous and len(present) == len(previous):
        higher = sum(a > b for a, b in zip(present, previous, strict=True))
        alt = (
            f"{title}: monthly counts for {periods.financial_year_label(fy)} so far against "
            f"{periods.financial_year_label(fy - 1)}. This year was higher than last year in "
            f"{higher} of {len(present)} months; the latest month had "
            f"{format_count(present[-1])} against {format_count(previous[-1])}."
        )
    else:
        alt = f"{title}: monthly counts this financial year against last; some months have no data."
    return fig, alt


def _unit(xlabel: str) -> str:
    """What a ranking is by, from the axis label, for the alt text.

    Examples
    --------
    >>> _unit("Offences per 100,000 residents, financial year to date")
    'offences per 100,000 residents'
    """
    return xlabel.removesuffix(", financial year to date").lower()


def _extreme(data: pd.Series, fmt: str, value: float) -> str:
    """The borough with a highest or lowest value as shown, or how many share it: with
    homicides per 1,000 residents at two decimals, many boroughs show 0.00, and naming
    one of them as "lowest" was arbitrary. Boroughs that only look tied at two decimals
    (drug trafficking per 1,000 in 2010: "lowest: 6 boroughs (0.12)", from 0.115 to
    0.124) are told apart with a third or fourth decimal; truly equal values stay tied.

    Examples
    --------
    >>> rates = pd.Series([0.0, 0.0, 0.004, 0.03], index=["Brent", "Barnet", "Ealing", "Hackney"])
    >>> _extreme(rates, "{:,.2f}", rates.iloc[0]), _extreme(rates, "{:,.2f}", rates.iloc[-1])
    ('2 boroughs (0.000)', 'Hackney (0.03)')
    >>> close = pd.Series([0.118, 0.121, 0.5], index=["Richmond", "Sutton", "Lambeth"])
    >>> _extreme(close, "{:,.2f}", close.iloc[0])
    'Richmond (0.118)'
    """
    tied: list = []
    shown = fmt.format(value)
    formats = [fmt] if fmt == "{:,.0f}" else [fmt, "{:,.3f}", "{:,.4f}"]
    for candidate in formats:
        shown = candidate.format(value)
        tied = [name for name, v in data.items() if candidate.format(v) == shown]
        exact = all(data[name] == value for name in tied)
        if len(tied) == 1 or exact:
            break
    return f"{tied[0]} ({shown})" if len(tied) == 1 else f"{len(tied)} boroughs ({shown})"


#: Bar colours of the borough ranking: every borough, and the page's own borough (which
#: is also hatched, so it stands out in greyscale).
_BAR_COLOUR = "#9db0d3"
_OWN_BAR_COLOUR = "#1d3c78"


def plot_borough_comparison(
    values: pd.Series,
    title: str,
    xlabel: str,
    highlight: str | None = None,
    london_value: float | None = None,
):
    """Horizontal bars, one per borough, sorted, with the London figure as a line.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    data = values.dropna().sort_values()
    return _comparison_figure(data, title, xlabel, highlight, london_value), _comparison_alt(
        data, title, xlabel
    )


def borough_comparison_html(
    values: pd.Series,
    title: str,
    xlabel: str,
    highlight: str | None,
    london_value: float | None,
    caption: str,
) -> str:
    """The chart of :func:`plot_borough_comparison` as the report's ``<figure>`` HTML.

    The chart is the same on London's page and on every borough's page except for the
    highlighted bar, so it is drawn once per chart and kernel and each borough's bar is
    highlighted in the drawing (:func:`mpsanalysis.report.html.highlighted_figure_html`):
    the bytes are those of drawing it for that borough.
    """
    from mpsanalysis.report.html import highlighted_figure_html

    setup_style()
    data = values.dropna().sort_values()
    names = list(data.index)
    position = names.index(highlight) if highlight in names else None

    def build(shown: int | None):
        return _comparison_figure(
            data, title, xlabel, None if shown is None else names[shown], london_value
        )

    key = ([(str(n), float(v)) for n, v in data.items()], title, xlabel, london_value)
    return highlighted_figure_html(
        build, position, len(data), _BAR_COLOUR, key, _comparison_alt(data, title, xlabel), caption
    )


def _comparison_figure(
    data: pd.Series, title: str, xlabel: str, highlight: str | None, london_value: float | None
):
    import matplotlib.pyplot as plt

    setup_style()
    fig, ax = plt.subplots(figsize=(8, max(4.5, 0.22 * len(data))))
    colours = [_OWN_BAR_COLOUR if name == highlight else _BAR_COLOUR for name in data.index]
    hatches = ["//" if name == highlight else "" for name in data.index]
    bars = ax.barh(data.index, data.to_numpy(), color=colours, edgecolor="#333333", linewidth=0.4)
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    if london_value is not None and not math.isnan(london_value):
        ax.axvline(
            london_value,
            color="#000000",
            linestyle=":",
            linewidth=1.5,
            label=f"London {london_value:,.2f}",
        )
        ax.legend(frameon=False, loc="lower right")
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", visible=False)
    return fig


def _comparison_alt(data: pd.Series, title: str, xlabel: str) -> str:
    if len(data):
        whole = bool((data % 1 == 0).all())
        fmt = "{:,.0f}" if whole else "{:,.2f}"
        return (
            f"{title}: {len(data)} boroughs ranked by {_unit(xlabel)}. Highest: "
            f"{_extreme(data, fmt, data.iloc[-1])}; lowest: {_extreme(data, fmt, data.iloc[0])}."
        )
    return f"{title}: no borough figures for this period."
