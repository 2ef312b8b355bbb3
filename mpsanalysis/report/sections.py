"""Report sections built on the other public sources: wards, homicide, stop and search,
police.uk outcomes, force comparisons, harm and maps.

Every section is data first: its numbers are a tidy :class:`pandas.DataFrame` with real
dtypes (counts int64, or nullable Int64 where a count can be missing or withheld; rates
and shares float; years int64; months as Periods), its charts are matplotlib Figures,
and its HTML is rendered from those. Numbers are formatted (thousands separators, %,
signs) only when the HTML is rendered, with the ``format_*`` helpers of
:mod:`mpsanalysis.report.html`; nothing parses a formatted string back into a number.

:data:`SECTIONS` names each section's three functions (see :class:`Section`); the
``*_html`` functions are each section's HTML as the notebooks call it. A source missing
from the processed store gives a plain sentence in the HTML, an empty table whose
``attrs["note"]`` holds that sentence, and no figure (None), never a crash. Demographic
and ward breakdowns pass through statistical disclosure control
(:mod:`mpsanalysis.stats.disclosure`).

No section uses data from after the report's period end. A source with no data for the
period (ward data before 2018, force data for periods ending before March 2020,
data.police.uk before 2017) gives one plain sentence and nothing else; data older than
the period is shown only with its own period in the text or caption. The rules per
source are in docs/reports.md ("Period rules for the source sections").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from mpsanalysis import boroughs, periods
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest import store
from mpsanalysis.measures import compute as measures
from mpsanalysis.report.html import (
    callout_html,
    escape,
    figure_html,
    format_change,
    format_count,
    format_percent,
    join_in_words,
    lower_first,
    table_html,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mpsanalysis.measures.catalogue import Objective

__all__ = [
    "Section",
    "SECTIONS",
    "ward_concentration_html",
    "ward_concentration_table",
    "ward_concentration_figure",
    "homicide_html",
    "homicide_table",
    "young_victims_html",
    "young_victims_table",
    "stop_search_html",
    "stop_search_table",
    "outcomes_html",
    "outcomes_table",
    "force_comparison_html",
    "force_comparison_table",
    "harm_html",
    "harm_table",
    "borough_map_html",
    "borough_map_table",
    "borough_map_figure",
    "funnel_html",
    "funnel_table",
    "funnel_figure",
]


class ReportLike(Protocol):
    """What a section reads of its report (an ObjectiveReport)."""

    objective: Objective
    geography: str
    period_end: pd.Period
    window: periods.Window
    rows: Sequence[Any]  # each with .result (a MeasureResult) and .assessment


# --------------------------------------------------------------------------- helpers
def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _read(name: str, **kwargs) -> pd.DataFrame | None:
    try:
        return store.read_table(name, **kwargs)
    except DataValidationError:
        return None


def _not_built(what: str, source: str) -> str:
    """Why a source's table is missing, in words for the reviewer: its files were not
    supplied (the build log says so, and names the folder the analyst fills), or the
    store was built without it (``mpsanalysis build --borough-only``)."""
    if store.not_supplied(source):
        return (
            f"The {what} was not supplied when the data for this report were prepared, "
            "so this section has no figures."
        )
    return (
        f"The {what} was left out when the data for this report were prepared, so this "
        "section has no figures."
    )


def _unavailable(message: str) -> pd.DataFrame:
    """An empty table saying, in ``attrs["note"]``, why the section has no numbers."""
    frame = pd.DataFrame()
    frame.attrs["note"] = message
    return frame


def _note(frame: pd.DataFrame) -> str | None:
    """The sentence of an unavailable section's table, or None when it has numbers."""
    note = frame.attrs.get("note")
    return str(note) if frame.empty and note else None


def _interval(low: float, high: float) -> str:
    return f"{low * 100:.1f}% to {high * 100:.1f}%"


def _count(value: object) -> str:
    """A count for a table cell: pandas' missing values (NA, NaN) read 'n/a'."""
    return format_count(None if pd.isna(value) else float(value))  # type: ignore[arg-type]


def _month(value: pd.Period) -> str:
    return value.strftime("%b %Y")


def _with_attrs(frame: pd.DataFrame, **attrs: object) -> pd.DataFrame:
    frame.attrs.update(attrs)
    return frame


def _choose(part: str, parts: dict[str, pd.DataFrame], section: str) -> pd.DataFrame:
    if part not in parts:
        from mpsanalysis.errors import ParameterError

        raise ParameterError(
            f"part {part!r} of the {section} section is not one of: {', '.join(parts)}"
        )
    return parts[part]


# --------------------------------------------------------------------------- wards
def _ward_window(
    period_end: pd.Period, months: list[pd.Period], boundaries: dict | None = None
) -> periods.Window | None:
    """The 12 months to the period end if the ward data has them all, else the latest 12
    consecutive months before it; None when the ward data has no 12 consecutive months
    ending by the period end. Months after the period end are never used. With
    ``boundaries`` (month -> ward boundary vintage), the 12 months must all be on one set
    of ward boundaries: the same ward name under 2014 and 2022 codes is two areas, and
    a year that spans both would count some wards twice.

    Examples
    --------
    >>> months = list(pd.period_range("2017-03", "2019-02", freq="M"))
    >>> _ward_window(pd.Period("2018-06", "M"), months).label
    'Jul 2017 to Jun 2018'
    >>> _ward_window(pd.Period("2019-12", "M"), months).label  # in a gap: the latest before
    'Mar 2018 to Feb 2019'
    >>> _ward_window(pd.Period("2017-12", "M"), months) is None  # never months after the end
    True
    >>> later = list(pd.period_range("2020-09", "2022-08", freq="M"))
    >>> boundaries = {m: "2014" if m < pd.Period("2021-12", "M") else "2022" for m in later}
    >>> _ward_window(pd.Period("2021-12", "M"), later, boundaries).label  # one set of wards
    'Dec 2020 to Nov 2021'
    """
    present = set(months)
    if not present:
        return None
    end = min(period_end, max(present))
    while end - 11 >= min(present):
        window = periods.rolling_12_months(end)
        if all(m in present for m in window.months) and (
            boundaries is None or len({boundaries.get(m) for m in window.months}) == 1
        ):
            return window
        end -= 1
    return None


def _ward_boundaries_by_month(wards: pd.DataFrame) -> pd.DataFrame:
    """The ward boundaries (``"2014"`` or ``"2022"``) of each month of the ward table:
    ``month``, ``boundaries`` (worked out once per version of the table file)."""
    from mpsanalysis.ingest.sources.wards import detect_ward_vintage

    codes = wards[["month", "ward_code"]].drop_duplicates()
    rows = [
        (month, detect_ward_vintage(group.astype(str)))
        for month, group in codes.groupby("month", observed=True)["ward_code"]
    ]
    return pd.DataFrame(rows, columns=["month", "boundaries"])


def ward_concentration_table(
    report: ReportLike, measure_id: str, top_share: float = 0.2
) -> pd.DataFrame:
    """Counts of a measure by ward over 12 months, for the concentration section.

    Returns
    -------
    pandas.DataFrame
        One row per ward with any count, in ward-code order: ``ward_code``,
        ``ward_name``, ``borough_name``, ``ward`` (label "name (borough)"), ``count``
        (int64), ``share`` (float, of the geography's total) and ``most_challenged``
        (bool: among the fewest wards holding ``top_share`` of the total,
        :func:`mpsanalysis.stats.concentration.top_units`). ``attrs``: ``window`` (the
        12 months, a :class:`mpsanalysis.periods.Window`) and ``measure`` (its title).
        Counts are not disclosure-controlled here; the HTML table is.
    """
    from mpsanalysis.stats.concentration import top_units

    measure = report.objective.measure(measure_id)
    filters = measure.categories.get("new", ())
    if not store.table_exists("ward_crime"):
        return _unavailable(_not_built("ward-level crime data", "ward_crime"))
    if not filters:
        return _unavailable(f"Ward-level data does not cover {measure.title.lower()}.")
    try:
        by_month = store.derived_table(
            "ward_crime", _ward_boundaries_by_month, columns=["month", "ward_code"]
        )
    except DataValidationError:
        return _unavailable(_not_built("ward-level crime data", "ward_crime"))
    boundaries = dict(zip(by_month["month"], by_month["boundaries"], strict=True))
    available = sorted(boundaries)
    window = _ward_window(report.period_end, available, boundaries)
    if window is None:
        return _unavailable(
            f"Ward-level crime data starts in {_month(available[0])}, so it has no 12 "
            "months up to this report's period end."
        )
    # The measure's ward rows are the same for every report of the objective: a kernel
    # selects them once (store.remembered) and each report takes its borough's.
    rows = store.remembered(_ward_measure_rows, tuple(filters), window.start, window.end)
    if report.geography != boroughs.LONDON:
        rows = rows[rows["borough_name"].eq(report.geography)]
    rows = rows[~rows["borough_code"].isin([boroughs.AIRPORTS_CODE, boroughs.UNKNOWN_CODE])]
    if rows.empty:
        return _unavailable(
            f"No ward-level {measure.title.lower()} for {window.label}: the ward files "
            "publish fewer minor categories in later releases."
        )
    counts = rows.groupby(["ward_code", "ward_name", "borough_name"])["count"].sum()
    table = counts.reset_index()
    table.insert(
        3,
        "ward",
        [f"{n} ({b})" for n, b in zip(table["ward_name"], table["borough_name"], strict=True)],
    )
    table["count"] = table["count"].astype("int64")
    table["share"] = table["count"] / table["count"].sum()
    top = top_units(pd.Series(table["count"].to_numpy(), index=table["ward"]), share=top_share)
    table["most_challenged"] = table["ward"].isin(top.index)
    return _with_attrs(
        table,
        window=window,
        measure=measure.title,
        latest=window.end == report.period_end,
        boundary_change=window.end != report.period_end
        and all(m in boundaries for m in periods.rolling_12_months(report.period_end).months),
    )


def _ward_measure_rows(filters: tuple, start: pd.Period, end: pd.Period) -> pd.DataFrame:
    """The ward table's rows in the catalogue's category ``filters`` from ``start`` to
    ``end``, every borough."""
    wards = store.read_table(
        "ward_crime",
        filters=[("month", ">=", start.to_timestamp()), ("month", "<=", end.to_timestamp())],
    )
    return wards.loc[
        measures.category_mask(wards, filters),
        ["ward_code", "ward_name", "borough_code", "borough_name", "count"],
    ]


def _ward_series(table: pd.DataFrame) -> pd.Series:
    return pd.Series(table["count"].to_numpy(), index=table["ward"].to_numpy())


def _lorenz_figure(table: pd.DataFrame, where: str) -> Figure:
    import matplotlib.pyplot as plt

    from mpsanalysis.stats.concentration import plot_lorenz

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    title = f"{table.attrs['measure']}: concentration across wards, {where}"
    plot_lorenz(_ward_series(table), title, unit_label="wards", ax=ax)
    return fig


def ward_concentration_figure(
    report: ReportLike, measure_id: str, top_share: float = 0.2
) -> Figure | None:
    """The Lorenz curve of the measure across wards (None when there are no ward data)."""
    table = ward_concentration_table(report, measure_id, top_share)
    return None if _note(table) else _lorenz_figure(table, report.geography)


def ward_concentration_html(report: ReportLike, measure_id: str, top_share: float = 0.2) -> str:
    """Where a crime concentrates: the fewest wards holding 25% and 50% of it, the Lorenz
    curve and Gini coefficient, and the most challenged wards (small counts [c])."""
    from mpsanalysis.report.html import ward_table_html
    from mpsanalysis.stats.concentration import (
        gini_coefficient,
        smallest_share_holding,
        top_units,
    )

    table = ward_concentration_table(report, measure_id, top_share)
    note = _note(table)
    if note:
        return _p(note)
    window, title_case = table.attrs["window"], table.attrs["measure"]
    by_ward = _ward_series(table)
    quarter = smallest_share_holding(by_ward, 0.25)
    half = smallest_share_holding(by_ward, 0.5)
    gini = gini_coefficient(by_ward)
    where = report.geography
    text = (
        f"In {window.label}, {quarter['n_units']} of {quarter['total_units']} wards in {where} "
        f"({format_percent(quarter['share_of_units'] * 100)}) held a quarter of all "
        f"{title_case.lower()}, and {half['n_units']} "
        f"({format_percent(half['share_of_units'] * 100)}) held half. The Gini coefficient "
        f"is {gini:.2f} (0 would mean every ward had the same count; 1, all in one ward)."
    )
    fig = _lorenz_figure(table, where)
    title = f"{title_case}: concentration across wards, {where}"
    alt = f"{title}, {window.label}. {text}"
    top = top_units(by_ward, share=top_share)
    shown = pd.DataFrame({"Ward": top.index, title_case: top["count"].astype(int).to_numpy()})
    of = f"{format_percent(top_share * 100, 0)} of {title_case.lower()} in {where}"
    which = (
        f"The most challenged ward, which alone holds at least {of}"
        if len(top) == 1
        else f"The most challenged {len(top)} wards, the fewest that together hold at least {of}"
    )
    caption = f"{which}: {format_percent(top['cumulative_share'].iloc[-1] * 100)}, {window.label}"
    older = (
        []
        if table.attrs["latest"]
        else [
            _p(
                f"The ward boundaries changed within the 12 months to "
                f"{_month(report.period_end)} (the ward files use the May 2022 wards from "
                f"{_month(window.end + 1)}), and a year over two sets of wards would count "
                f"some areas twice: this section shows {window.label}, the latest 12 months "
                "on one set of ward boundaries."
            )
            if table.attrs["boundary_change"]
            else _p(
                f"The ward data has no figures for the 12 months to {_month(report.period_end)}: "
                f"this section shows {window.label}, the latest 12 months before it."
            )
        ]
    )
    return (
        "".join(older)
        + _p(text)
        + figure_html(
            fig,
            alt,
            title + f", {window.label}. Source: London Datastore, MPS recorded crime by ward.",
        )
        + ward_table_html(shown, caption, totals=False)
    )


# --------------------------------------------------------------------------- homicide
HOMICIDE_BREAKDOWNS = {
    "age-group": ("age_group", "age group"),
    "sex": ("sex", "sex"),
    "method": ("method", "method"),
    "domestic-abuse": ("domestic_abuse", "domestic abuse"),
}


def _homicide(report: ReportLike) -> pd.DataFrame | None:
    """Homicide victims of the report's geography up to the period end (never after)."""
    victims = _read("homicide_victims")
    if victims is None:
        return None
    first, last = victims["month"].min(), victims["month"].max()  # what the data covers
    # Every category of each breakdown in the whole data, so that a geography's table
    # lists the categories it had none of too (see _homicide_breakdown).
    categories = {
        column: sorted(victims[column].dropna().unique(), key=str)
        for column, _ in HOMICIDE_BREAKDOWNS.values()
    }
    if report.geography != boroughs.LONDON:
        victims = victims[victims["borough_name"].eq(report.geography)]
    victims = victims[victims["month"].le(report.period_end)].copy()
    victims.attrs.update(first_month=first, last_month=last, categories=categories)
    return victims


def _years_shown(victims: pd.DataFrame, report: ReportLike, n: int = 10) -> list[int]:
    """The last ``n`` complete calendar years that end by the period end and that the
    data covers (a year before the data starts is not shown as a year without victims).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> data = pd.DataFrame({"month": pd.period_range("2003-01", "2020-12", freq="M")})
    >>> _years_shown(data, SimpleNamespace(period_end=pd.Period("2010-10", "M")))
    [2003, 2004, 2005, 2006, 2007, 2008, 2009]
    >>> _years_shown(data, SimpleNamespace(period_end=pd.Period("2016-12", "M")))[-1]
    2016
    >>> _years_shown(data, SimpleNamespace(period_end=pd.Period("2025-12", "M")))[-1]
    2020
    """
    first = victims.attrs.get("first_month", victims["month"].min())
    last = victims.attrs.get("last_month", victims["month"].max())
    first_year = first.year if first.month == 1 else first.year + 1
    last_year = last.year if last.month == 12 else last.year - 1
    end = report.period_end
    last_year = min(last_year, end.year if end.month == 12 else end.year - 1)
    return list(range(max(first_year, last_year - n + 1), last_year + 1))


def _homicide_not_yet(victims: pd.DataFrame) -> str:
    return (
        f"The MPS homicide data starts in {_month(victims.attrs['first_month'])}: it has "
        "no complete calendar year up to this report's period end."
    )


#: The row of a homicide breakdown that holds each year's victims, published whole in
#: the victims-by-year table (so the breakdown is protected against it).
ALL_VICTIMS = "All victims"
#: The row of the age breakdown that holds each year's victims under 25, published in
#: the protect-young-people reports.
UNDER_25 = "Under 25"


def _homicide_breakdown(
    recent: pd.DataFrame, column: str, latest: list[int], categories: list
) -> pd.DataFrame:
    """Victims by one characteristic and year, small counts withheld: a long frame with
    ``category``, ``year`` (Int64) and ``victims`` (Int64; <NA> where withheld).

    Every category of the characteristic is a row (``categories``: those of the whole
    homicide data), with 0 where the geography had none, so that a table does not show
    by its missing rows that no victim was, say, female. Each year's victims, which the
    victims-by-year table publishes, are a known total: no withheld count can be worked
    out from them, and a year of fewer victims than the threshold is withheld whole
    (any breakdown of so few would give them away)."""
    from mpsanalysis.stats.disclosure import SUPPRESSED, suppress_small_counts
    from mpsanalysis.stats.homicide import count_victims_by

    table = count_victims_by(recent, [column, "year"]).pivot(
        index=column, columns="year", values="victims"
    )
    # every year is a column and every category a row, with 0 where there were none
    table = table.reindex(index=categories, columns=latest).fillna(0).astype(int)
    table.columns = [str(c) for c in table.columns]
    table.index = [
        ("Domestic abuse" if v is True else "Not domestic abuse")
        if column == "domestic_abuse"
        else str(v)
        for v in table.index
    ]
    # Victims under 25 a year are published too (the protect-young-people objective's
    # young victims): a known subtotal of the age bands.
    young: list[str] = []
    if column == "age_group":
        from mpsanalysis.ingest.sources.homicide import YOUNG_AGE_GROUPS

        young = [g for g in YOUNG_AGE_GROUPS if g in table.index]
    # Each year on its own, against its own published totals, and no total over the
    # years: a year then withholds the same cells in every report that shows it, so
    # that reports of overlapping years, read side by side, give nothing away (a
    # reviewer worked a withheld count out from two reports whose three-year windows
    # overlapped, through their Total columns and differing patterns).
    withheld: dict[str, pd.Series] = {}
    for year in table.columns:
        one = table[[year]].copy()
        one.loc[ALL_VICTIMS] = one[year].sum()
        subtotals = {}
        if young:
            one.loc[UNDER_25] = one.loc[young, year].sum()
            subtotals = {UNDER_25: young}
        shown = suppress_small_counts(
            one,
            [year],
            total_row=ALL_VICTIMS,
            total_row_published=True,
            subtotal_rows=subtotals,
        )
        withheld[year] = shown[year].drop(index=[ALL_VICTIMS, *subtotals]).eq(SUPPRESSED)
    return pd.DataFrame(
        {
            "category": [c for c in table.index for _ in latest],
            "year": pd.array([y for _ in table.index for y in latest], dtype="Int64"),
            "victims": pd.array(
                [
                    None if withheld[str(y)].at[c] else int(table.at[c, str(y)])
                    for c in table.index
                    for y in latest
                ],
                dtype="Int64",
            ),
        }
    )


def _homicide_parts(report: ReportLike) -> dict[str, pd.DataFrame] | str:
    from mpsanalysis.stats.homicide import compute_solved_rate

    victims = _homicide(report)
    if victims is None:
        return _not_built("MPS homicide data", "homicide")
    years = _years_shown(victims, report)
    if not years:
        return _homicide_not_yet(victims)
    shown = victims[victims["year"].isin(years)]
    if shown.empty:
        return "The MPS homicide data has no victims for these years."
    solved = compute_solved_rate(shown, by=["year"]).set_index("year")
    by_year = solved.reindex(years)  # a year without victims (small boroughs) has 0
    for column in ("victims", "solved"):
        by_year[column] = by_year[column].fillna(0).astype("int64")
    empty = by_year["victims"].eq(0)
    for column in ("solved_rate", "solved_rate_low", "solved_rate_high"):
        by_year[column] = by_year[column].astype(float).mask(empty)
    by_year = by_year.rename_axis("year").reset_index()
    by_year["year"] = by_year["year"].astype("int64")
    by_year = by_year[
        ["year", "victims", "solved", "solved_rate", "solved_rate_low", "solved_rate_high"]
    ]
    latest = years[-3:]
    recent = victims[victims["year"].isin(latest)]
    parts = {"years": by_year}
    for part, (column, _) in HOMICIDE_BREAKDOWNS.items():
        parts[part] = (
            _homicide_breakdown(recent, column, latest, victims.attrs["categories"][column])
            if not recent.empty
            else pd.DataFrame(
                {
                    "category": pd.Series(dtype=str),
                    "year": pd.Series(dtype="Int64"),
                    "victims": pd.Series(dtype="Int64"),
                }
            )
        )
    for frame in parts.values():
        _with_attrs(
            frame,
            first_month=victims.attrs["first_month"],
            last_month=victims.attrs["last_month"],
            breakdown_years=latest,
        )
    return parts


def homicide_table(report: ReportLike, part: str = "years") -> pd.DataFrame:
    """Homicide victims from the MPS homicide data, for the report's geography.

    Parameters
    ----------
    part : str
        ``"years"`` (default): ``year``, ``victims``, ``solved`` (int64),
        ``solved_rate`` and its Wilson 95% interval ``solved_rate_low``/``_high``
        (float, NaN in a year without victims), for the 10 years shown.
        ``"age-group"``, ``"sex"``, ``"method"`` or ``"domestic-abuse"``: victims of
        the last 3 of those years by that characteristic, a long frame with
        ``category``, ``year`` (Int64, <NA> on each category's total row) and
        ``victims`` (Int64, <NA> where withheld by disclosure control).

    ``attrs``: ``first_month`` and ``last_month`` the data covers, ``breakdown_years``.
    """
    parts = _homicide_parts(report)
    if isinstance(parts, str):
        return _unavailable(parts)
    return _choose(part, parts, "homicide")


def _nothing_shown(frame: pd.DataFrame) -> bool:
    """Whether a homicide breakdown shows no victim: every count withheld or 0."""
    return bool(frame["victims"].fillna(0).eq(0).all())


def _breakdown_html(frame: pd.DataFrame, title: str, caption: str) -> str:
    from mpsanalysis.stats.disclosure import SUPPRESSED

    years = [int(y) for y in frame["year"].dropna().unique()]
    rows = []
    for category, group in frame.groupby("category", sort=False):
        cells = [SUPPRESSED if pd.isna(v) else _count(v) for v in group["victims"]]
        rows.append([str(category), *cells])
    return table_html([title.capitalize(), *map(str, years)], rows, caption)


def homicide_html(report: ReportLike) -> str:
    """Homicide victims by year, age group, sex, method and domestic abuse, and the
    solved rate with Wilson intervals, from the MPS homicide data."""
    parts = _homicide_parts(report)
    if isinstance(parts, str):
        return _p(parts)
    by_year = parts["years"]
    years = by_year["year"].tolist()
    first, last = by_year.attrs["first_month"], by_year.attrs["last_month"]
    out = []
    if report.period_end > last:
        out.append(
            callout_html(
                f"The published MPS homicide data covers {_month(first)} to {_month(last)}; "
                f"the tables below end with {years[-1]}, before this report's period.",
                "note",
            )
        )
    rows = []
    for r in by_year.itertuples():
        if r.victims > 0:
            rows.append(
                [
                    str(r.year),
                    _count(r.victims),
                    _count(r.solved),
                    format_percent(r.solved_rate * 100),
                    _interval(r.solved_rate_low, r.solved_rate_high),
                ]
            )
        else:
            rows.append([str(r.year), "0", "0", "no victims", ""])
    out.append(
        table_html(
            ["Year", "Victims", "Solved", "Solved rate", "95% interval (Wilson)"],
            rows,
            f"Homicide victims and the solved rate by year, {report.geography}",
        )
    )
    out.append(
        _p(
            "Solved status is as published: recent cases have had less time to be "
            "solved, so the latest years' rates are provisional. These tables count "
            "victims by the calendar year their homicide was recorded, from the MPS "
            "homicide data; the headline counts homicide offences recorded in the "
            "financial year, from the recorded crime figures, so the two sets of "
            "figures differ."
        )
    )
    latest = by_year.attrs["breakdown_years"]
    label = f"{latest[0]} to {latest[-1]}"
    if parts["sex"].empty:
        out.append(
            _p(
                f"No homicide victims in {report.geography} from {label}, so there "
                "is no breakdown by age group, sex, method or domestic abuse."
            )
        )
        return "".join(out)
    if all(_nothing_shown(parts[part]) for part in HOMICIDE_BREAKDOWNS):
        from mpsanalysis.stats.disclosure import default_threshold

        threshold = default_threshold()
        few = by_year[by_year["year"].isin(latest)]["victims"]
        why = (
            f"each year had fewer than {threshold} victims, and this report does not "
            "break down so few"
            if few.lt(threshold).all()
            else f"every count of a breakdown is under {threshold}, or would let one be "
            "worked out from the totals"
        )
        out.append(
            _p(
                f"Victims by age group, sex, method and domestic abuse are not shown for "
                f"{report.geography}, {label}: {why} "
                "(its disclosure rule). The yearly victims and solved cases above, and the "
                "victims under 25 in the report on protecting young people, are shown in "
                "full: they are the plan's own measures, and the MPS publishes a record of "
                "every victim."
            )
        )
        return "".join(out)
    for part, (_, title) in HOMICIDE_BREAKDOWNS.items():
        out.append(
            _breakdown_html(
                parts[part],
                title,
                f"Homicide victims by {title}, {report.geography}, {label} "
                "([c]: fewer than the disclosure threshold, or withheld so it cannot be worked out)",
            )
        )
    return "".join(out)


def young_victims_table(report: ReportLike) -> pd.DataFrame:
    """Homicide victims aged under 25 by year: ``year``, ``young_victims``, ``victims``
    (int64), ``young_share`` and its Wilson 95% interval (float); a year with no victims
    has no row. ``attrs``: ``first_month`` and ``last_month`` the data covers,
    ``years`` (the complete years looked at, with or without victims)."""
    from mpsanalysis.stats.homicide import young_victims

    victims = _homicide(report)
    if victims is None:
        return _unavailable(_not_built("MPS homicide data", "homicide"))
    years = _years_shown(victims, report)
    if not years:
        return _unavailable(_homicide_not_yet(victims))
    table = young_victims(victims[victims["year"].isin(years)])
    table.attrs.update(
        first_month=victims.attrs["first_month"],
        last_month=victims.attrs["last_month"],
        years=list(years),
    )
    return table


def young_victims_html(report: ReportLike) -> str:
    """Homicide victims aged under 25 by year, and their share of all victims."""
    table = young_victims_table(report)
    note = _note(table)
    if note:
        return _p(note)
    rows = [
        [
            str(r.year),
            _count(r.young_victims),
            _count(r.victims),
            format_percent(r.young_share * 100),
            _interval(r.young_share_low, r.young_share_high),
        ]
        for r in table.itertuples()
    ]
    out = []
    first, last = table.attrs["first_month"], table.attrs["last_month"]
    if report.period_end > last:
        out.append(
            callout_html(
                f"The published MPS homicide data covers {_month(first)} to {_month(last)}; "
                f"the table below ends with {table.attrs['years'][-1]}, before this "
                "report's period.",
                "note",
            )
        )
    caption = f"Young homicide victims (aged under 25), {report.geography}"
    without = [str(y) for y in table.attrs["years"] if y not in set(table["year"])]
    if without:
        caption += f"; no victims in {join_in_words(without)}, so not listed"
    out.append(
        table_html(
            ["Year", "Victims under 25", "All victims", "Share under 25", "95% interval (Wilson)"],
            rows,
            caption,
        )
    )
    out.append(
        _small_counts_shown(
            [table["young_victims"], table["victims"]],
            "unlike in the breakdowns of the homicide report: victims under 25 are the "
            "plan's own measure, and the MPS publishes a record of every homicide victim",
        )
    )
    return "".join(out)


def _small_counts_shown(counts: list[pd.Series], why: str) -> str:
    """The sentence saying why a table shows counts under the disclosure threshold in
    full ('' when it shows none): other tables of the reports withhold such counts
    ([c]), so without it two pages seem to disagree."""
    from mpsanalysis.stats.disclosure import default_threshold

    threshold = default_threshold()
    if not pd.concat(counts).between(1, threshold - 1).any():
        return ""
    return _p(f"Counts under {threshold} are shown in full here, {why}.")


# --------------------------------------------------------------------------- stop and search
ETHNICITY_LABELS = {"self_defined": "self-defined", "officer_defined": "officer-defined"}

#: The columns of the store's data.police.uk tables that the stop and search and outcomes
#: sections use: read only these (the stop and search table has 20 columns, 105 MB in
#: memory in full, about a third of that in these).
STOP_SEARCH_COLUMNS = (
    "month",
    "borough_name",
    "object_of_search",
    "is_arrest",
    "is_positive_outcome",
    "self_defined_group",
    "officer_defined_ethnicity",
)
POLICEUK_CRIME_COLUMNS = (
    "crime_id",
    "month",
    "borough_name",
    "crime_type",
    "is_positive_outcome",
    "last_outcome_category",
)
#: The last outcome category of a crime whose outcome the published data do not give.
NO_OUTCOME = "Status update unavailable"
POLICEUK_OUTCOME_COLUMNS = ("crime_id", "month")


def _up_to_period(table: pd.DataFrame, period_end: pd.Period, what: str) -> pd.DataFrame | str:
    """A data.police.uk table cut to the months up to the report's period end, or the
    sentence saying the records start after the period."""
    if table["month"].min() > period_end:
        return (
            f"The data.police.uk {what} start in {_month(table['month'].min())}, after "
            "this report's period."
        )
    return table[table["month"].le(period_end)]


def _stop_search_parts(report: ReportLike) -> dict[str, pd.DataFrame] | str:
    from mpsanalysis.stats.stop_search import compare_ethnicity, summarise_searches

    searches = _read("stop_search", columns=STOP_SEARCH_COLUMNS)
    if searches is None:
        return _not_built("stop and search data", "stop_search")
    searches = _up_to_period(searches, report.period_end, "stop and search records")
    if isinstance(searches, str):
        return searches
    if report.geography != boroughs.LONDON:
        searches = searches[searches["borough_name"].eq(report.geography)]
    objects = summarise_searches(searches, by=["object_of_search"]).sort_values(
        "searches", ascending=False
    )
    ethnicity = pd.concat(
        [
            compare_ethnicity(searches, ethnicity=kind).assign(ethnicity=kind)
            for kind in ETHNICITY_LABELS
        ],
        ignore_index=True,
    )
    ethnicity = ethnicity[["ethnicity", *ethnicity.columns[:-1]]]
    parts = {
        "overall": summarise_searches(searches, by=[]),
        "object": objects.reset_index(drop=True),
        "ethnicity": ethnicity,
    }
    for frame in parts.values():
        _with_attrs(frame, first_month=searches["month"].min(), last_month=searches["month"].max())
    return parts


def stop_search_table(report: ReportLike, part: str = "overall") -> pd.DataFrame:
    """Stop and search from data.police.uk, for the report's geography.

    Parameters
    ----------
    part : str
        ``"overall"`` (default, one row), ``"object"`` (one row per object of search,
        most searches first) or ``"ethnicity"`` (one row per ``ethnicity`` kind,
        ``"self_defined"`` or ``"officer_defined"``, and ``ethnic_group``, with
        ``share`` of searches). Counts (``searches``, ``arrests``,
        ``positive_outcomes``) are int64; rates and shares are floats with Wilson 95%
        intervals (``*_low``, ``*_high``).

    ``attrs``: ``first_month`` and ``last_month`` the records cover.
    """
    parts = _stop_search_parts(report)
    if isinstance(parts, str):
        return _unavailable(parts)
    return _choose(part, parts, "stop and search")


def stop_search_html(report: ReportLike) -> str:
    """Stop and search: searches by month, object of search, arrest and positive-outcome
    rates, and shares and outcome rates by ethnicity, with Wilson intervals."""
    parts = _stop_search_parts(report)
    if isinstance(parts, str):
        return _p(parts)
    overall = parts["overall"]
    first, last = overall.attrs["first_month"], overall.attrs["last_month"]
    period = f"{_month(first)} to {_month(last)}"
    note = (
        f"Stop and search records from data.police.uk are shown for {period}, the "
        "months they cover"
        + (
            " up to this report's period end"
            if last == report.period_end
            else "; they end before this report's period"
        )
        + ". They are shown for the equality and confidence questions the committee "
        "reports raise."
    )
    out = [callout_html(note, "note")]
    o = overall.iloc[0]
    out.append(
        _p(
            f"{_count(o.searches)} searches in {report.geography}, {period}: "
            f"{format_percent(o.arrest_rate * 100)} led to an arrest (95% interval "
            f"{_interval(o.arrest_rate_low, o.arrest_rate_high)}) and "
            f"{format_percent(o.positive_rate * 100)} to any positive outcome "
            f"({_interval(o.positive_rate_low, o.positive_rate_high)})."
        )
    )
    rows = [
        [
            str(r.object_of_search),
            _count(r.searches),
            format_percent(r.arrest_rate * 100),
            format_percent(r.positive_rate * 100),
        ]
        for r in parts["object"].itertuples()
    ]
    out.append(
        table_html(
            ["Object of search", "Searches", "Arrest rate", "Positive outcome rate"],
            rows,
            f"Searches by object of search, {report.geography}, {period}",
        )
    )
    ethnicity = parts["ethnicity"]
    for kind, label in ETHNICITY_LABELS.items():
        rows = [
            [
                str(r.ethnic_group),
                _count(r.searches),
                format_percent(r.share * 100),
                _interval(r.share_low, r.share_high),
                format_percent(r.arrest_rate * 100),
                _interval(r.arrest_rate_low, r.arrest_rate_high),
            ]
            for r in ethnicity[ethnicity["ethnicity"].eq(kind)].itertuples()
        ]
        out.append(
            table_html(
                [
                    "Ethnic group",
                    "Searches",
                    "Share of searches",
                    "95% interval",
                    "Arrest rate",
                    "95% interval",
                ],
                rows,
                f"Searches by {label} ethnicity, {report.geography}, {period} "
                "(Wilson 95% intervals)",
            )
        )
    out.append(
        _small_counts_shown(
            [parts["object"]["searches"], ethnicity["searches"]],
            "unlike in the ward and homicide tables of these reports: data.police.uk "
            "publishes every search as a record of its own",
        )
    )
    return "".join(out)


# --------------------------------------------------------------------------- outcomes
def _outcomes_every_borough(period_end: pd.Period) -> dict[str, Any] | str:
    """The outcomes section's figures for every borough and London up to ``period_end``
    (the same for every report of a period: see :func:`_outcomes_parts`)."""
    from mpsanalysis.stats.outcomes import (
        compute_outcome_lag,
        compute_positive_outcome_rate,
    )

    crimes = _read("policeuk_crimes", columns=POLICEUK_CRIME_COLUMNS)
    if crimes is None:
        return _not_built("data.police.uk street-level data", "policeuk_street")
    crimes = _up_to_period(crimes, period_end, "street-level crime and outcome records")
    if isinstance(crimes, str):
        return crimes
    by_borough = compute_positive_outcome_rate(crimes, by=["borough_name"])
    by_borough = by_borough[by_borough["borough_name"].notna()].sort_values("borough_name")
    unknown = crimes["last_outcome_category"].eq(NO_OUTCOME).groupby(crimes["borough_name"]).sum()
    by_borough["no_outcome"] = (
        unknown.reindex(by_borough["borough_name"]).fillna(0).astype("int64").to_numpy()
    )
    outcomes = _read("policeuk_outcomes", columns=POLICEUK_OUTCOME_COLUMNS)
    if outcomes is None:
        lag = _unavailable(_not_built("data.police.uk outcomes data", "policeuk_street"))
    else:
        outcomes = outcomes[outcomes["month"].le(period_end)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warning is read from lag.attrs instead
            lag = compute_outcome_lag(outcomes, crimes)
    attrs = {
        "crime_types": sorted(crimes["crime_type"].unique()),
        "first_month": crimes["month"].min(),
        "last_month": crimes["month"].max(),
    }
    return {"boroughs": by_borough, "lag": lag, "attrs": attrs}


def _outcomes_parts(report: ReportLike) -> dict[str, pd.DataFrame] | str:
    # Every report of a period works out the same figures for every borough, so a
    # kernel works them out once (store.remembered) and each report takes its borough.
    every = store.remembered(_outcomes_every_borough, report.period_end)
    if isinstance(every, str):
        return every
    by_borough, attrs = every["boroughs"], every["attrs"]
    if report.geography != boroughs.LONDON:
        by_borough = by_borough[by_borough["borough_name"].eq(report.geography)]
    return {
        "boroughs": _with_attrs(by_borough.reset_index(drop=True), **attrs),
        "lag": _with_attrs(every["lag"], **attrs),
    }


def outcomes_table(report: ReportLike, part: str = "boroughs") -> pd.DataFrame:
    """Outcomes of crimes from data.police.uk.

    Parameters
    ----------
    part : str
        ``"boroughs"`` (default): ``borough_name``, ``crimes``, ``positive_outcomes``
        (int64), ``positive_rate`` (charge or summons) and its Wilson 95% interval
        (float), and ``no_outcome`` (int64: crimes whose last outcome is "Status update
        unavailable", counted as not charged), for the report's geography. ``"lag"``: the distribution of months from
        crime to outcome (``months_to_outcome``, ``outcomes``, ``share``,
        ``cumulative_share``), for London; ``attrs["warning"]`` when it cannot show
        how long outcomes take.

    ``attrs``: ``crime_types`` the files hold, ``first_month``, ``last_month``.
    """
    parts = _outcomes_parts(report)
    if isinstance(parts, str):
        return _unavailable(parts)
    return _choose(part, parts, "outcomes")


def outcomes_html(report: ReportLike) -> str:
    """Positive outcomes (charge or summons) by borough from data.police.uk, with Wilson
    intervals, and how long outcomes take to arrive."""
    parts = _outcomes_parts(report)
    if isinstance(parts, str):
        return _p(parts)
    by_borough, lag = parts["boroughs"], parts["lag"]
    types = by_borough.attrs["crime_types"]
    out = []
    if len(types) == 1:
        out.append(
            callout_html(
                f"The data.police.uk files supplied hold {types[0].lower()} only (filtered by "
                "their author): the figures below are for that crime type, never all crime.",
                "warning",
            )
        )
    rows = [
        [
            str(r.borough_name),
            _count(r.crimes),
            format_percent(r.positive_rate * 100),
            _interval(r.positive_rate_low, r.positive_rate_high),
        ]
        for r in by_borough.itertuples()
    ]
    first, last = by_borough.attrs["first_month"], by_borough.attrs["last_month"]
    out.append(
        table_html(
            ["Borough", "Crimes", "Charge or summons", "95% interval (Wilson)"],
            rows,
            f"{', '.join(types)}: crimes charged or summonsed, by borough, {_month(first)} to "
            f"{_month(last)} (data.police.uk)"
            + (
                ": these months end before this report's period"
                if last < report.window.start
                else ""
            ),
        )
    )
    crimes_total, unknown_total = (
        int(by_borough["crimes"].sum()),
        int(by_borough["no_outcome"].sum()),
    )
    if unknown_total:
        out.append(
            _p(
                f"For {format_percent(unknown_total / crimes_total * 100)} of these crimes "
                f"({_count(unknown_total)} of {_count(crimes_total)}) the published data "
                f"give no outcome ('{NO_OUTCOME.lower()}'); they count as not charged, so "
                + (
                    "the rates above are the lowest the true rates can be."
                    if len(by_borough) > 1
                    else "the rate above is the lowest the true rate can be."
                )
            )
        )
    if by_borough["borough_name"].eq(boroughs.CITY_OF_LONDON).any():
        city = by_borough.loc[by_borough["borough_name"].eq(boroughs.CITY_OF_LONDON), "crimes"]
        out.append(
            _p(
                f"The City of London row counts {_count(city.iloc[0])} crimes that the MPS "
                "recorded at places inside the City, which has its own police force (the City of "
                "London Police): data.police.uk places each crime by its location on the "
                "map, not by the force area of the team that dealt with it."
            )
        )
    if not _note(lag):
        out.append(_p(_describe_lag(lag)))
    return "".join(out)


def _describe_lag(lag: pd.DataFrame) -> str:
    """A sentence on how long outcomes take, from compute_outcome_lag's distribution."""
    if lag.empty:
        return "No outcome can be matched to its crime, so the time to an outcome is unknown."
    # The analysts' table keeps compute_outcome_lag's warning (with its share of
    # outcomes in the crime's month) in attrs; the page says what it means.
    if lag.attrs.get("warning") or int(lag["months_to_outcome"].max()) == 0:
        return (
            "Every outcome in the files supplied falls in its crime's own month: each "
            "month's outcomes file was cut down to that month's crimes, so how long "
            "outcomes take to arrive cannot be measured from them."
        )
    half = int(lag.loc[lag["cumulative_share"] >= 0.5, "months_to_outcome"].iloc[0])
    most = int(lag.loc[lag["cumulative_share"] >= 0.9, "months_to_outcome"].iloc[0])
    return (
        f"Half of all outcomes are recorded within {half} month(s) of the crime month "
        f"and 90% within {most}; figures for recent months will still change."
    )


# --------------------------------------------------------------------------- forces
def force_comparison_table(
    report: ReportLike, offences, title: str = "", per: int = 1000
) -> pd.DataFrame:
    """The MPS and its most similar forces (Home Office police recorded crime, 2019/20):
    ``force_name``, ``role`` (force, similar, msf_average, msf_pooled),
    ``financial_year``, ``offences`` and ``population`` (Int64; <NA> for the MSF
    average, a mean of rates), ``rate`` per ``per`` population and
    ``pct_vs_msf_average`` (float). ``offences`` is any filter
    :func:`mpsanalysis.stats.forces.compare_similar_forces` accepts; ``title`` is
    only used by the HTML."""
    years = _read("force_crime", columns=["financial_year"])
    if years is None:
        return _unavailable(_not_built("Home Office force data", "force_crime"))
    labels = sorted(years["financial_year"].unique())
    ended = [
        y
        for y in labels
        if periods.financial_year_window(periods.parse_financial_year(y)).end <= report.period_end
    ]
    if not ended:
        return _unavailable(
            f"The Home Office force data supplied covers {', '.join(labels)} only, which "
            "ends after this report's period, so there is no force comparison."
        )
    # the same for every report of the objective: worked out once a kernel
    table = store.remembered(_similar_forces, offences, ended[-1], per)
    for column in ("offences", "population"):
        table[column] = table[column].round().astype("Int64")
    return table


def _similar_forces(offences, year: str, per: int) -> pd.DataFrame:
    from mpsanalysis.stats.forces import compare_similar_forces

    return compare_similar_forces(offences, year=year, per=per)


#: The table's summary rows in words ("MSF average" and "MSF pooled" in the analysts'
#: table of :func:`mpsanalysis.stats.forces.compare_similar_forces`).
_FORCE_ROW_NAMES = {
    "msf_average": "Average of the similar forces",
    "msf_pooled": "The similar forces together",
}


def force_comparison_html(report: ReportLike, offences, title: str, per: int = 1000) -> str:
    """An HMIC-style table: the MPS against its most similar forces, rates per ``per``
    population, and each force's difference from the most-similar-force average."""
    table = force_comparison_table(report, offences, title, per)
    note = _note(table)
    if note:
        return _p(note)
    rows = [
        [
            _FORCE_ROW_NAMES.get(str(r.role), str(r.force_name)),
            _count(r.offences),
            f"{r.rate:,.3f}",
            "" if r.role == "msf_average" else format_change(r.pct_vs_msf_average, 0),
        ]
        for r in table.itertuples()
    ]
    year = str(table["financial_year"].iloc[0])
    return table_html(
        ["Force", "Offences", f"Per {per:,} population", "Difference from the average"],
        rows,
        f"{title}: the MPS and its most similar forces (MSF), {year} "
        "(Home Office police recorded crime)",
    ) + _p(
        "The most similar forces are Greater Manchester, Merseyside, West Midlands and "
        "West Yorkshire: the group is HMIC's published most-similar-force group for the "
        "MPS. Their average is the mean of the four forces' rates (each force counts "
        "equally), and the last column compares each rate with it; the row for the "
        "similar forces together divides their combined offences by their combined "
        "population. The latest year supplied that ends by this report's period end is "
        f"{year}. The Metropolitan Police's offences here are the Home Office's, by "
        "Home Office offence code; they can differ from the London Datastore counts "
        "used elsewhere in this report for the same year, which the MPS extracts at "
        "another time and groups into its own categories."
    )


# --------------------------------------------------------------------------- harm
def _contains(total, part) -> bool:
    """Whether every category of measure ``part`` (current classification) is inside
    measure ``total``'s categories, so adding both would count offences twice."""
    outer = total.categories.get("new", ())
    inner = part.categories.get("new", ())
    if not outer or not inner:
        return False

    def inside(f) -> bool:
        return any(
            o.major.casefold() == f.major.casefold()
            and (
                not o.minor
                or bool(f.minor)
                and {m.casefold() for m in f.minor} <= {m.casefold() for m in o.minor}
            )
            for o in outer
        )

    return all(inside(f) for f in inner)


def harm_table(report: ReportLike) -> pd.DataFrame:
    """A harm-weighted view of every measure of the report, financial year to date, in
    the current crime classification.

    Returns
    -------
    pandas.DataFrame
        One row per measure of the objective, in the report's order: ``measure_id``,
        ``measure`` (title), ``offences`` (Int64; <NA> when not counted), ``harm``
        (float: offences weighted by the ONS Crime Severity Score; NaN when not
        weighted), ``harm_share`` (float, percent of the harm of the weighted measures,
        which sum to 100; NaN for the others), ``weighted`` (bool) and ``reason`` (why a
        measure is not weighted; "" when it is). ``attrs``: ``window`` (the financial
        year to date), ``measures`` (how many measures) and ``weighted`` (how many of
        them are weighted, whole or in parts). A measure is not weighted when it is not
        a borough crime count, is not published in the current classification, when
        that classification does not cover the window, when it contains another measure
        shown (it would count offences twice) or when a category of it has no severity
        weight. A measure that contains others is weighted in parts: they have their
        own rows, and its other offences a row after it (``measure_id``
        ``"<id>:other"``, e.g. violence against the person other than violence with
        injury and homicide), so that the shares cover all its offences, each once.
        Shares are never taken over a set that leaves a measure out without the table
        saying so (``reason``).
    """
    weights = _read("severity_minor_categories")
    if weights is None:
        return _unavailable(_not_built("ONS crime severity weights", "severity_weights"))
    weight = dict(
        zip(weights["minor_category"].str.casefold(), weights["severity_weight"], strict=True)
    )
    crime = measures.load_borough_crime()
    window = report.window
    current_months = set(crime.loc[crime["classification"].eq("new"), "month"].unique())
    covered = all(m in current_months for m in window.months)
    shown = [row.result.measure for row in report.rows]
    # A measure the headline calls "not published" for the window (no FYTD figure in the
    # data available, e.g. knife possession in the 2024 release) has no offences to weigh.
    published = {row.result.measure.id: row.result.comparison is not None for row in report.rows}
    counted = [m for m in shown if m.source == "borough-crime" and m.categories.get("new")]

    worked_out: dict[str, tuple[pd.Series, pd.DataFrame]] = {}

    def offences_by_minor(m) -> tuple[pd.Series, pd.DataFrame]:
        """A measure's offences in the window and area, by (case-folded) minor
        category, and its rows (worked out once a measure: a part of a total is
        asked for again when the total is split)."""
        if m.id not in worked_out:
            rows = measures.measure_rows(m, "new")
            inside = rows[rows["month"].between(window.start, window.end)]
            if report.geography != boroughs.LONDON:
                inside = inside[inside["borough_name"].eq(report.geography)]
            by_minor = inside.groupby(inside["minor_category"].str.casefold())["count"].sum()
            worked_out[m.id] = (by_minor, inside)
        return worked_out[m.id]

    records: list[tuple[str, str, int | None, float, bool, str]] = []
    for m in shown:
        offences: int | None = None
        harm = float("nan")
        reason = ""
        contained = [o.title for o in counted if o is not m and _contains(m, o)]
        if m.source != "borough-crime":
            reason = "not a count of recorded crime by borough, so it has no severity weight"
        elif not m.categories.get("new"):
            reason = "not published in the current crime classification"
        elif not published[m.id]:
            reason = f"not published for {window.label} in the data available"
        elif not covered:
            reason = (
                "the current crime classification starts in "
                f"{_month(min(current_months))}, after this period's start"
                if current_months
                else "the current crime classification is not in the store"
            )
        else:
            by_minor, inside = offences_by_minor(m)
            offences = int(by_minor.sum())
            missing = [k for k in by_minor.index if k not in weight or pd.isna(weight[k])]
            if contained:
                reason = (
                    f"includes {', '.join(contained)}: left out so that no offence counts twice"
                )
                # the parts' categories are inside its own (``_contains``), so taking
                # their counts away, category by category, leaves its other offences
                rest_minor = by_minor.copy()
                for part in (o for o in counted if o.title in contained):
                    rest_minor = rest_minor.sub(offences_by_minor(part)[0], fill_value=0)
                rest_minor = rest_minor[rest_minor > 0]
                if not any(k not in weight or pd.isna(weight[k]) for k in rest_minor.index):
                    # its other offences get a row of their own, so that the shares
                    # cover all of it (each offence once), not only the parts shown
                    others = join_in_words([lower_first(t) for t in contained])
                    reason = (
                        f"shown in parts, so that no offence counts twice: {others} in "
                        "their own rows, its other offences in the next row"
                    )
                    records.append((m.id, m.title, offences, harm, False, reason))
                    records.append(
                        (
                            f"{m.id}:other",
                            f"{m.title}, other than {others}",
                            int(rest_minor.sum()),
                            float(sum(rest_minor[k] * weight[k] for k in rest_minor.index)),
                            True,
                            "",
                        )
                    )
                    continue
            elif missing:
                names = sorted(
                    inside.loc[
                        inside["minor_category"].str.casefold().isin(missing), "minor_category"
                    ].unique()
                )
                reason = f"no severity weight for {', '.join(names)}"
            else:
                harm = float(sum(by_minor[k] * weight[k] for k in by_minor.index))
        records.append((m.id, m.title, offences, harm, reason == "", reason))
    table = pd.DataFrame(
        records, columns=["measure_id", "measure", "offences", "harm", "weighted", "reason"]
    )
    table["offences"] = pd.array(table["offences"].tolist(), dtype="Int64")
    table["harm"] = table["harm"].astype(float)
    table["weighted"] = table["weighted"].astype(bool)
    n_weighted = int(table["weighted"].sum())
    if not n_weighted:
        reasons = sorted(set(table["reason"]))
        return _unavailable(
            "No measure of this objective can be weighted by harm for "
            f"{window.label}: {'; '.join(reasons)}."
        )
    total = table.loc[table["weighted"], "harm"].sum()
    table["harm_share"] = (table["harm"] / total * 100) if total else float("nan")
    table = table[["measure_id", "measure", "offences", "harm", "harm_share", "weighted", "reason"]]
    is_rest = table["measure_id"].str.endswith(":other")
    in_parts = {i.removesuffix(":other") for i in table.loc[is_rest, "measure_id"]}
    n_covered = int(table.loc[~is_rest, "weighted"].sum()) + len(in_parts)
    return _with_attrs(table, window=window, weighted=n_covered, measures=int((~is_rest).sum()))


def harm_html(report: ReportLike) -> str:
    """A harm-weighted view: FYTD counts weighted by the ONS Crime Severity Score, every
    measure listed, with the reason where a measure is not weighted."""
    table = harm_table(report)
    note = _note(table)
    if note:
        return _p(note)
    rows = [
        [
            r.measure,
            _count(r.offences),
            _count(r.harm) if r.weighted else "[x]",
            format_percent(r.harm_share) if r.weighted else "[x]",
            "" if r.weighted else str(r.reason)[:1].upper() + str(r.reason)[1:],
        ]
        for r in table.itertuples()
    ]
    weighted, n = table.attrs["weighted"], table.attrs["measures"]
    scope = (
        "share of the harm of all its measures"
        if weighted == n
        else f"share of the harm of the {weighted} of its {n} measures that are weighted "
        "([x]: not weighted, for the reason given)"
    )
    if table["measure_id"].str.endswith(":other").any():
        scope += ", each offence counted once"
    return table_html(
        [
            "Measure",
            "Offences, year to date",
            "Harm (severity-weighted)",
            "Share of harm",
            "Not weighted because",
        ],
        rows,
        f"Harm-weighted view, {report.geography}, {table.attrs['window'].label}: {scope}",
    ) + _p(
        "Harm weights each offence by the ONS Crime Severity Score weight of its "
        "category (the average custodial days of sentences, weighted over the "
        "category's Home Office offence codes; see docs/data-sources.md). Counts "
        "show volume; harm shows where the damage is." + _harm_classification_note(report, table)
    )


def _harm_classification_note(report: ReportLike, table: pd.DataFrame) -> str:
    """Why the harm table's offences differ from the headline's, when the headline
    counts a measure in the previous MPS classification: the weights are set on the
    current classification's categories, so the harm table always counts in it (''
    when every measure of the headline uses the current classification)."""
    older = [
        row.result.measure.title
        for row in report.rows
        if row.result.classification not in (None, "new")
        and row.result.comparison is not None
        and row.result.measure.id
        in set(table.loc[table["weighted"], "measure_id"])
        | {i.removesuffix(":other") for i in table["measure_id"] if i.endswith(":other")}
    ]
    if not older:
        return ""
    first = next(r for r in report.rows if r.result.measure.title == older[0])
    counted = table.set_index("measure_id").loc[first.result.measure.id, "offences"]
    return (
        f" The offences here are counted in {measures.CLASSIFICATION_LABELS['new']}, whose "
        "categories the weights are set on; the headline counts "
        f"{join_in_words([lower_first(t) for t in older])} in "
        f"{measures.CLASSIFICATION_LABELS['old']}, so the counts differ (for example, "
        f"{lower_first(older[0])}: {_count(counted)} here, "
        f"{_count(first.result.comparison.current)} in the headline)."
    )


# --------------------------------------------------------------------------- maps, funnel
_NO_RATES = "No borough rates for this measure and period."


def borough_map_table(report: ReportLike, measure_id: str) -> pd.DataFrame:
    """Borough counts of a measure this financial year to date and last year, with
    population and rate per 1,000 residents, or the measure's own ``rate_per``
    (:func:`mpsanalysis.measures.compute.borough_rates`): ``borough``, ``borough_code``,
    ``current``, ``previous``, ``population`` (int64), ``percent_change`` and ``rate``
    (float). ``attrs``: ``measure`` (its title) and ``per``."""
    found = _rates_measure(report, measure_id)
    if found is None:
        return _unavailable(_NO_RATES)
    return _rates_table(found[0], report.period_end, found[1])


def _rates_measure(report: ReportLike, measure_id: str) -> tuple[Any, str] | None:
    """The measure and its classification this period, when borough rates can be shown."""
    rows = [r for r in report.rows if r.result.measure.id == measure_id]
    if not rows or rows[0].result.classification is None:
        return None
    return rows[0].result.measure, rows[0].result.classification


def _rates_table(measure, period_end, classification: str) -> pd.DataFrame:
    try:
        table = measures.borough_rates(measure, period_end, classification)
    except (DataValidationError, ValueError):
        return _unavailable(_NO_RATES)
    return _with_attrs(table, measure=measure.title, per=measure.rate_per)


def _same_on_every_page(render: Callable[..., str], report: ReportLike, measure_id: str) -> str:
    """A section about all boroughs that is the same on London's page and on every
    borough's page of an objective (the borough maps, the funnel plot), worked out once
    per kernel for all of them.

    ``render(measure, period_end, classification, label, drawing)`` must depend only on
    its arguments and the store: :func:`mpsanalysis.ingest.store.remembered` keeps its
    HTML, keyed on them and on the store files it read (a rebuilt table is read again),
    and notes the same files as this report's inputs when it gives the HTML back.
    ``drawing`` is only part of the key: the chart format and matplotlib's settings,
    which the charts depend on. The borough boundaries are read once per process
    (:func:`mpsanalysis.ingest.sources.maps.read_borough_boundaries`) either way.
    """
    from mpsanalysis.report.html import chart_format, drawing_settings

    found = _rates_measure(report, measure_id)
    if found is None:
        return _p(_NO_RATES)
    drawing = (chart_format(), drawing_settings())
    measure, classification = found
    return store.remembered(
        render, measure, report.period_end, classification, report.window.label, drawing
    )


def _map_figure(table: pd.DataFrame, kind: str) -> Figure | None:
    from mpsanalysis.report.maps import plot_borough_choropleth

    title, residents = table.attrs["measure"], _per_residents(table)
    if kind == "rate":
        rate = pd.Series(table["rate"].to_numpy(), index=table["borough_code"])
        return plot_borough_choropleth(rate, f"{title} {residents}", label=residents)
    if kind == "change":
        change = pd.Series(table["percent_change"].to_numpy(), index=table["borough_code"])
        if not change.notna().any():
            return None
        return plot_borough_choropleth(
            change, f"{title}: % change on last year", diverging=True, label="% change"
        )
    from mpsanalysis.errors import ParameterError

    raise ParameterError(f"kind {kind!r} of the borough map is not 'rate' or 'change'")


def _per_residents(table: pd.DataFrame) -> str:
    """'per 1,000 residents' (or per 100,000) for a table of borough rates."""
    return f"per {int(table.attrs.get('per', 1000)):,} residents"  # the funnel's is a float


def borough_map_figure(report: ReportLike, measure_id: str, kind: str = "rate") -> Figure | None:
    """The borough map of the rate per 1,000 residents (``kind="rate"``) or of the %
    change on last year (``kind="change"``); None when there is nothing to map."""
    table = borough_map_table(report, measure_id)
    return None if _note(table) else _map_figure(table, kind)


def borough_map_html(report: ReportLike, measure_id: str) -> str:
    """Borough maps of the FYTD rate per 1,000 and of the change on last year (the same on
    every page of the objective: :func:`_same_on_every_page`)."""
    return _same_on_every_page(_borough_map_html, report, measure_id)


def _borough_map_html(measure, period_end, classification: str, label: str, drawing) -> str:
    table = _rates_table(measure, period_end, classification)
    note = _note(table)
    if note:
        return _p(note)
    title, residents = table.attrs["measure"], _per_residents(table)
    highest = table.loc[table["rate"].idxmax()]
    fig = _map_figure(table, "rate")
    parts = [
        figure_html(
            fig,
            f"Map of {title.lower()} {residents} by "
            f"borough, {label}; highest in {highest['borough']} "
            f"({highest['rate']:.2f}). The values are in the table below the maps.",
            f"{title} {residents}, {label}. Colour scale: cividis "
            "(colour-blind safe; darker is lower).",
        )
    ]
    fig = _map_figure(table, "change")
    if fig is None and table["previous"].isna().all():
        last = periods.same_period_last_year(periods.fytd_window(period_end))
        parts.append(
            _p(
                f"No map of the change on last year: {last.label} is not all published in "
                "the crime categories of this period, so there is no comparison (as in "
                "the headline)."
            )
        )
    if fig is not None:
        change = table["percent_change"]
        rises = int((change > 0).sum())
        parts.append(
            figure_html(
                fig,
                f"Map of the % change in {title.lower()} on "
                f"last year by borough: {rises} of {change.notna().sum()} "
                "boroughs rose. The values are in the table below the maps.",
                f"{title}: % change on the same period last year. Colour scale: purple "
                "(fall) to orange (rise), centred on no change (PuOr, colour-blind safe).",
            )
        )
    rows = [
        [
            str(r.borough),
            _count(r.current),
            f"{r.rate:.2f}" if pd.notna(r.rate) else "n/a",
            format_change(r.percent_change),
        ]
        for r in table.sort_values("borough").itertuples()
    ]
    parts.append(
        table_html(
            ["Borough", "Offences", residents.capitalize(), "Change on last year"],
            rows,
            f"{title} by borough, {label}: the values the maps show",
        )
    )
    return "".join(parts)


def _funnel(report: ReportLike, measure_id: str) -> pd.DataFrame:
    return _funnel_of(borough_map_table(report, measure_id))


def _funnel_of(rates: pd.DataFrame) -> pd.DataFrame:
    """The funnel of a table of borough rates (:func:`_rates_table`), or its note."""
    from mpsanalysis.stats.funnel import compute_funnel

    if _note(rates):
        return rates
    indexed = rates.set_index("borough")
    funnel = compute_funnel(indexed["current"], indexed["population"], per=rates.attrs["per"])
    funnel.attrs["measure"] = rates.attrs["measure"]
    return funnel


def funnel_table(report: ReportLike, measure_id: str) -> pd.DataFrame:
    """Borough rates per 1,000 residents (or the measure's ``rate_per``) against funnel limits
    (:func:`mpsanalysis.stats.funnel.compute_funnel`): ``borough``, ``observed`` and
    ``population`` (int64), ``rate``, ``expected``, ``z``, the 95% and 99.8% limits,
    ``outlier`` and ``phi``. ``attrs``: ``phi``, ``overdispersion_applied``,
    ``target_rate``, ``per``, ``measure``."""
    funnel = _funnel(report, measure_id)
    if _note(funnel):
        return funnel
    table = funnel.rename_axis("borough").reset_index()
    for column in ("observed", "population"):  # counts (compute_funnel works in floats)
        table[column] = table[column].round().astype("int64")
    table.attrs = dict(funnel.attrs)
    return table


def _funnel_figure(funnel: pd.DataFrame, title: str) -> Figure:
    from mpsanalysis.stats.funnel import (
        FUNNEL_LEGEND_COLUMNS,
        FUNNEL_LEGEND_ENTRIES,
        plot_funnel,
    )
    from mpsanalysis.stats.plotting import figure_with_room_below

    fig, ax = figure_with_room_below(8, 4.6, FUNNEL_LEGEND_ENTRIES, columns=FUNNEL_LEGEND_COLUMNS)
    plot_funnel(funnel, title, ax=ax, rate_label=f"Offences {_per_residents(funnel)}")
    return fig


def _funnel_title(label: str, funnel: pd.DataFrame) -> str:
    return f"{funnel.attrs['measure']}: borough rates {_per_residents(funnel)}, {label}"


def funnel_figure(report: ReportLike, measure_id: str) -> Figure | None:
    """The funnel plot of borough rates (None when there are no borough rates)."""
    funnel = _funnel(report, measure_id)
    if _note(funnel):
        return None
    return _funnel_figure(funnel, _funnel_title(report.window.label, funnel))


def funnel_html(report: ReportLike, measure_id: str) -> str:
    """Funnel plot: borough rates per 1,000 with 95% and 99.8% limits allowing for
    over-dispersion by FunnelPlotR's additive random effects (τ², DerSimonian–Laird on
    winsorised z-scores; Spiegelhalter 2005), outlying boroughs named, the method stated
    (the same on every page of the objective: :func:`_same_on_every_page`)."""
    return _same_on_every_page(_funnel_html, report, measure_id)


def _funnel_html(measure, period_end, classification: str, label: str, drawing) -> str:
    funnel = _funnel_of(_rates_table(measure, period_end, classification))
    note = _note(funnel)
    if note:
        return _p(note)
    title = _funnel_title(label, funnel)
    fig = _funnel_figure(funnel, title)
    high = [str(b) for b, o in funnel["outlier"].items() if o == "high"]
    low = [str(b) for b, o in funnel["outlier"].items() if o == "low"]
    method = _funnel_method(funnel)
    text = (
        f"Beyond the 99.8% limits: higher than expected — {', '.join(high) or 'none'}; "
        f"lower — {', '.join(low) or 'none'}."
    )
    # The method is stated once, in the caption (it was also repeated after the chart).
    return figure_html(
        fig,
        f"{title}. {text}",
        title + f". Limits: 95% and 99.8%. {method}",
    ) + _p(text)


def _funnel_method(funnel: pd.DataFrame) -> str:
    """One sentence saying, in plain words, how the funnel limits allow for differences
    between boroughs beyond chance (FunnelPlotR's additive random effects by default; see
    :func:`mpsanalysis.stats.funnel.compute_funnel`). The estimates (``tau2``, ``phi``)
    stay in the funnel table's ``attrs`` for analysts and the formulas in
    docs/statistics.md; the page does not print them.

    Examples
    --------
    >>> f = pd.DataFrame(); f.attrs.update(method="additive", tau2=0.00123, phi=85.2,
    ...                                    overdispersion_applied=True)
    >>> print(_funnel_method(f))  # doctest: +NORMALIZE_WHITESPACE
    The limits are widened for the differences between boroughs that chance alone does
    not explain (the random-effects method of the NHS-R FunnelPlotR package).
    """
    if not funnel.attrs["overdispersion_applied"]:
        return (
            "The limits are those of chance alone: the boroughs differ no more than chance "
            "would make them."
        )
    if funnel.attrs["method"] == "additive":
        return (
            "The limits are widened for the differences between boroughs that chance alone "
            "does not explain (the random-effects method of the NHS-R FunnelPlotR package)."
        )
    return (
        "The limits are widened for the differences between boroughs that chance alone "
        "does not explain (Spiegelhalter's multiplicative method)."
    )


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Section:
    """One report section as data, chart and HTML.

    Attributes
    ----------
    table : callable
        ``table(report, **args) -> pandas.DataFrame``: the section's numbers, tidy, with
        real dtypes. An unavailable source gives an empty frame with ``attrs["note"]``.
    figure : callable or None
        ``figure(report, **args) -> Figure | None``: the section's chart (None when
        there is nothing to draw); None for sections without charts.
    html : callable
        ``html(report, **args) -> str``: the section as the report shows it, rendered
        from the table (and figure).
    """

    table: Callable[..., pd.DataFrame]
    figure: Callable[..., Figure | None] | None
    html: Callable[..., str]


#: The source-based sections by name. Arguments are keywords, as the ``*_html``
#: functions take them:
#:
#: - ``"funnel"``, ``"map"``: ``measure_id``; the map's figure takes ``kind="rate"``
#:   (default) or ``kind="change"``.
#: - ``"wards"``: ``measure_id``, ``top_share=0.2``.
#: - ``"harm"``, ``"young-victims"``: none.
#: - ``"forces"``: ``offences``, ``title``, ``per=1000``.
#: - ``"homicide"``: the table takes ``part="years"`` (default), ``"age-group"``,
#:   ``"sex"``, ``"method"`` or ``"domestic-abuse"``.
#: - ``"stop-search"``: the table takes ``part="overall"`` (default), ``"object"`` or
#:   ``"ethnicity"``.
#: - ``"outcomes"``: the table takes ``part="boroughs"`` (default) or ``"lag"``.
#:
#: Only funnel, map and wards have figures.
SECTIONS: dict[str, Section] = {
    "funnel": Section(funnel_table, funnel_figure, funnel_html),
    "map": Section(borough_map_table, borough_map_figure, borough_map_html),
    "wards": Section(ward_concentration_table, ward_concentration_figure, ward_concentration_html),
    "harm": Section(harm_table, None, harm_html),
    "forces": Section(force_comparison_table, None, force_comparison_html),
    "homicide": Section(homicide_table, None, homicide_html),
    "young-victims": Section(young_victims_table, None, young_victims_html),
    "stop-search": Section(stop_search_table, None, stop_search_html),
    "outcomes": Section(outcomes_table, None, outcomes_html),
}
