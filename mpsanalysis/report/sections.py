"""Report sections built on the other public sources: wards, homicide, stop and search,
police.uk outcomes, force comparisons, harm and maps.

Each function takes the :class:`~mpsanalysis.report.objective.ObjectiveReport` for its period and
geography and returns HTML. A source missing from the processed store gives a plain
sentence saying so, never a crash. Demographic and ward breakdowns pass through
statistical disclosure control (:mod:`mpsanalysis.stats.disclosure`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from mpsanalysis import boroughs, periods
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest import store
from mpsanalysis.measures import compute as measures
from mpsanalysis.report.html import (
    callout_html,
    escape,
    figure_html,
    format_count,
    format_percent,
    table_html,
)

__all__ = [
    "ward_concentration_html",
    "homicide_html",
    "young_victims_html",
    "stop_search_html",
    "outcomes_html",
    "force_comparison_html",
    "harm_html",
    "borough_map_html",
    "funnel_html",
]


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _read(name: str, **kwargs) -> pd.DataFrame | None:
    try:
        return store.read_table(name, **kwargs)
    except DataValidationError:
        return None


def _not_built(what: str) -> str:
    return _p(
        f"The {what} is not in the processed store: run `mpsanalysis build` (not "
        "--borough-only) to add it."
    )


def _interval(low: float, high: float) -> str:
    return f"{low * 100:.1f}% to {high * 100:.1f}%"


# --------------------------------------------------------------------------- wards
def _ward_window(period_end: pd.Period, months: list[pd.Period]) -> periods.Window | None:
    """The 12 months to the period end if the ward data has them all, else the latest 12
    consecutive months before it, else the earliest 12."""
    present = set(months)
    end = period_end
    while end >= min(present):
        window = periods.rolling_12_months(end)
        if all(m in present for m in window.months):
            return window
        end -= 1
    end = min(present) + 11
    while end <= max(present):
        window = periods.rolling_12_months(end)
        if all(m in present for m in window.months):
            return window
        end += 1
    return None


def ward_concentration_html(report, measure_id: str, top_share: float = 0.2) -> str:
    """Where a crime concentrates: the fewest wards holding 25% and 50% of it, the Lorenz
    curve and Gini coefficient, and the most challenged wards (small counts [c])."""
    import matplotlib.pyplot as plt

    from mpsanalysis.report.html import ward_table_html
    from mpsanalysis.stats.concentration import (
        gini_coefficient,
        plot_lorenz,
        smallest_share_holding,
        top_units,
    )

    measure = report.objective.measure(measure_id)
    filters = measure.categories.get("new", ())
    months = _read("ward_crime", columns=["month"])
    if months is None:
        return _not_built("ward-level crime data")
    window = _ward_window(report.period_end, sorted(months["month"].unique()))
    if window is None or not filters:
        return _p(f"Ward-level data does not cover {measure.title.lower()}.")
    wards = store.read_table(
        "ward_crime",
        filters=[
            ("month", ">=", window.start.to_timestamp()),
            ("month", "<=", window.end.to_timestamp()),
        ],
    )
    rows = wards[measures.category_mask(wards, filters)]
    if report.geography != boroughs.LONDON:
        rows = rows[rows["borough_name"].eq(report.geography)]
    rows = rows[~rows["borough_code"].isin([boroughs.AIRPORTS_CODE, boroughs.UNKNOWN_CODE])]
    if rows.empty:
        return _p(
            f"No ward-level {measure.title.lower()} for {window.label}: the ward files "
            "publish fewer minor categories in later releases."
        )
    counts = rows.groupby(["ward_code", "ward_name", "borough_name"])["count"].sum()
    labels = [f"{name} ({borough})" for _, name, borough in counts.index]
    by_ward = pd.Series(counts.to_numpy(), index=labels)
    quarter = smallest_share_holding(by_ward, 0.25)
    half = smallest_share_holding(by_ward, 0.5)
    gini = gini_coefficient(by_ward)
    where = report.geography
    text = (
        f"In {window.label}, {quarter['n_units']} of {quarter['total_units']} wards in {where} "
        f"({format_percent(quarter['share_of_units'] * 100)}) held a quarter of all "
        f"{measure.title.lower()}, and {half['n_units']} "
        f"({format_percent(half['share_of_units'] * 100)}) held half. The Gini coefficient "
        f"is {gini:.2f} (0 would mean every ward had the same count; 1, all in one ward)."
    )
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    title = f"{measure.title}: concentration across wards, {where}"
    plot_lorenz(by_ward, title, unit_label="wards", ax=ax)
    alt = f"{title}, {window.label}. {text}"
    top = top_units(by_ward, share=top_share)
    table = pd.DataFrame({"Ward": top.index, measure.title: top["count"].astype(int).to_numpy()})
    caption = (
        f"The {len(top)} most challenged wards: together "
        f"{format_percent(top['cumulative_share'].iloc[-1] * 100)} of "
        f"{measure.title.lower()} in {where}, {window.label}"
    )
    return (
        _p(text)
        + figure_html(
            fig,
            alt,
            title + f", {window.label}. Source: London Datastore, MPS recorded crime by ward.",
        )
        + ward_table_html(table, caption, totals=False)
    )


# --------------------------------------------------------------------------- homicide
def _homicide(report) -> pd.DataFrame | None:
    victims = _read("homicide_victims")
    if victims is None:
        return None
    if report.geography != boroughs.LONDON:
        victims = victims[victims["borough_name"].eq(report.geography)]
    return victims


def _years_shown(victims: pd.DataFrame, report, n: int = 10) -> list[int]:
    last_year = min(int(victims["year"].max()), report.period_end.year)
    return list(range(last_year - n + 1, last_year + 1))


def homicide_html(report) -> str:
    """Homicide victims by year, age group, sex, method and domestic abuse, and the
    solved rate with Wilson intervals, from the MPS homicide data."""
    from mpsanalysis.stats.disclosure import suppress_small_counts
    from mpsanalysis.stats.homicide import compute_solved_rate, count_victims_by

    victims = _homicide(report)
    if victims is None:
        return _not_built("MPS homicide data")
    years = _years_shown(victims, report)
    shown = victims[victims["year"].isin(years)]
    if shown.empty:
        return _p("The MPS homicide data has no victims for these years.")
    parts = []
    coverage = (
        f"{victims['month'].min().strftime('%b %Y')} to {victims['month'].max().strftime('%b %Y')}"
    )
    if report.period_end > victims["month"].max():
        parts.append(
            callout_html(
                f"The published MPS homicide data covers {coverage}; the tables below end "
                f"with {years[-1]}, before this report's period.",
                "note",
            )
        )
    solved = compute_solved_rate(shown, by=["year"]).set_index("year")
    rows = []
    for year in years:  # a year without victims (small boroughs) is a row of zeros
        if year in solved.index and solved.at[year, "victims"] > 0:
            r = solved.loc[year]
            rows.append(
                [
                    str(year),
                    format_count(r["victims"]),
                    format_count(r["solved"]),
                    format_percent(r["solved_rate"] * 100),
                    _interval(r["solved_rate_low"], r["solved_rate_high"]),
                ]
            )
        else:
            rows.append([str(year), "0", "0", "no victims", ""])
    parts.append(
        table_html(
            ["Year", "Victims", "Solved", "Solved rate", "95% interval (Wilson)"],
            rows,
            f"Homicide victims and the solved rate by year, {report.geography}",
        )
    )
    parts.append(
        _p(
            "Solved status is as published: recent cases have had less time to be "
            "solved, so the latest years' rates are provisional."
        )
    )
    latest = [y for y in years[-3:]]
    recent = victims[victims["year"].isin(latest)]
    label = f"{latest[0]} to {latest[-1]}"
    if recent.empty:
        parts.append(
            _p(
                f"No homicide victims in {report.geography} from {label}, so there "
                "is no breakdown by age group, sex, method or domestic abuse."
            )
        )
        return "".join(parts)
    for column, title in (
        ("age_group", "age group"),
        ("sex", "sex"),
        ("method", "method"),
        ("domestic_abuse", "domestic abuse"),
    ):
        table = count_victims_by(recent, [column, "year"]).pivot(
            index=column, columns="year", values="victims"
        )
        # every year is a column, with 0 where the geography had no victims that year
        table = table.reindex(columns=latest).fillna(0).astype(int)
        table.columns = [str(c) for c in table.columns]
        table.index = [
            ("Domestic abuse" if v is True else "Not domestic abuse")
            if column == "domestic_abuse"
            else str(v)
            for v in table.index
        ]
        table["Total"] = table.sum(axis=1)
        shown_table = suppress_small_counts(table, [str(y) for y in latest], total_column="Total")
        parts.append(
            table_html(
                [title.capitalize()] + list(shown_table.columns),
                [
                    [idx, *row]
                    for idx, row in zip(
                        shown_table.index, shown_table.to_numpy().tolist(), strict=True
                    )
                ],
                f"Homicide victims by {title}, {report.geography}, {label} "
                "([c]: fewer than the disclosure threshold, or withheld so it cannot be worked out)",
            )
        )
    return "".join(parts)


def young_victims_html(report) -> str:
    """Homicide victims aged under 25 by year, and their share of all victims."""
    from mpsanalysis.stats.homicide import young_victims

    victims = _homicide(report)
    if victims is None:
        return _not_built("MPS homicide data")
    years = _years_shown(victims, report)
    table = young_victims(victims[victims["year"].isin(years)])
    rows = [
        [
            str(r.year),
            format_count(r.young_victims),
            format_count(r.victims),
            format_percent(r.young_share * 100),
            _interval(r.young_share_low, r.young_share_high),
        ]
        for r in table.itertuples()
    ]
    return table_html(
        ["Year", "Victims under 25", "All victims", "Share under 25", "95% interval (Wilson)"],
        rows,
        f"Young homicide victims (aged under 25), {report.geography}",
    )


# --------------------------------------------------------------------------- stop and search
def stop_search_html(report) -> str:
    """Stop and search: searches by month, object of search, arrest and positive-outcome
    rates, and shares and outcome rates by ethnicity, with Wilson intervals."""
    from mpsanalysis.stats.stop_search import compare_ethnicity, summarise_searches

    searches = _read("stop_search")
    if searches is None:
        return _not_built("stop and search data")
    if report.geography != boroughs.LONDON:
        searches = searches[searches["borough_name"].eq(report.geography)]
    first, last = searches["month"].min(), searches["month"].max()
    parts = [
        callout_html(
            f"Stop and search records from data.police.uk cover {first.strftime('%b %Y')} to "
            f"{last.strftime('%b %Y')} only; they are shown for the equality and confidence "
            "questions the committee reports raise, not for this report's period.",
            "note",
        )
    ]
    overall = summarise_searches(searches, by=[])
    o = overall.iloc[0]
    parts.append(
        _p(
            f"{format_count(o.searches)} searches in {report.geography}: "
            f"{format_percent(o.arrest_rate * 100)} led to an arrest (95% interval "
            f"{_interval(o.arrest_rate_low, o.arrest_rate_high)}) and "
            f"{format_percent(o.positive_rate * 100)} to any positive outcome "
            f"({_interval(o.positive_rate_low, o.positive_rate_high)})."
        )
    )
    objects = summarise_searches(searches, by=["object_of_search"]).sort_values(
        "searches", ascending=False
    )
    rows = [
        [
            str(r.object_of_search),
            format_count(r.searches),
            format_percent(r.arrest_rate * 100),
            format_percent(r.positive_rate * 100),
        ]
        for r in objects.itertuples()
    ]
    parts.append(
        table_html(
            ["Object of search", "Searches", "Arrest rate", "Positive outcome rate"],
            rows,
            f"Searches by object of search, {report.geography}",
        )
    )
    for kind, label in (("self_defined", "self-defined"), ("officer_defined", "officer-defined")):
        table = compare_ethnicity(searches, ethnicity=kind)
        rows = [
            [
                str(r.ethnic_group),
                format_count(r.searches),
                format_percent(r.share * 100),
                _interval(r.share_low, r.share_high),
                format_percent(r.arrest_rate * 100),
                _interval(r.arrest_rate_low, r.arrest_rate_high),
            ]
            for r in table.itertuples()
        ]
        parts.append(
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
                f"Searches by {label} ethnicity, {report.geography} (Wilson 95% intervals)",
            )
        )
    return "".join(parts)


# --------------------------------------------------------------------------- outcomes
def outcomes_html(report) -> str:
    """Positive outcomes (charge or summons) by borough from data.police.uk, with Wilson
    intervals, and how long outcomes take to arrive."""
    from mpsanalysis.stats.outcomes import (
        compute_outcome_lag,
        compute_positive_outcome_rate,
    )

    crimes = _read("policeuk_crimes")
    if crimes is None:
        return _not_built("data.police.uk street-level data")
    types = sorted(crimes["crime_type"].unique())
    parts = []
    if len(types) == 1:
        parts.append(
            callout_html(
                f"The data.police.uk files supplied hold {types[0].lower()} only (filtered by "
                "their author): the figures below are for that crime type, never all crime.",
                "warning",
            )
        )
    by_borough = compute_positive_outcome_rate(crimes, by=["borough_name"])
    by_borough = by_borough[by_borough["borough_name"].notna()].sort_values("borough_name")
    if report.geography != boroughs.LONDON:
        by_borough = by_borough[by_borough["borough_name"].eq(report.geography)]
    rows = [
        [
            str(r.borough_name),
            format_count(r.crimes),
            format_percent(r.positive_rate * 100),
            _interval(r.positive_rate_low, r.positive_rate_high),
        ]
        for r in by_borough.itertuples()
    ]
    first, last = crimes["month"].min(), crimes["month"].max()
    parts.append(
        table_html(
            ["Borough", "Crimes", "Charge or summons", "95% interval (Wilson)"],
            rows,
            f"{', '.join(types)}: positive outcomes by borough, {first.strftime('%b %Y')} to "
            f"{last.strftime('%b %Y')} (data.police.uk)",
        )
    )
    outcomes = _read("policeuk_outcomes")
    if outcomes is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warning is read from lag.attrs instead
            lag = compute_outcome_lag(outcomes, crimes)
        parts.append(_p(_describe_lag(lag)))
    return "".join(parts)


def _describe_lag(lag: pd.DataFrame) -> str:
    """A sentence on how long outcomes take, from compute_outcome_lag's distribution."""
    if lag.empty:
        return "No outcome can be matched to its crime, so the time to an outcome is unknown."
    if lag.attrs.get("warning"):
        return str(lag.attrs["warning"])
    if int(lag["months_to_outcome"].max()) == 0:
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
def force_comparison_html(report, offences, title: str, per: int = 1000) -> str:
    """An HMIC-style table: the MPS against its most similar forces, rates per ``per``
    population, and each force's difference from the most-similar-force average."""
    from mpsanalysis.stats.forces import compare_similar_forces

    if _read("force_crime", columns=["financial_year"]) is None:
        return _not_built("Home Office force data")
    table = compare_similar_forces(offences, per=per)
    rows = []
    for r in table.itertuples():
        rows.append(
            [
                str(r.force_name),
                format_count(r.offences),
                f"{r.rate:,.3f}",
                "" if r.role == "msf_average" else f"{r.pct_vs_msf_average:+.0f}%",
            ]
        )
    return table_html(
        ["Force", "Offences", f"Per {per:,} population", "Difference from MSF average"],
        rows,
        f"{title}: the MPS and its most similar forces (MSF), 2019/20 "
        "(Home Office police recorded crime)",
    ) + _p(
        "The most similar forces are HMIC's group for the MPS (Greater Manchester, "
        "Merseyside, West Midlands, West Yorkshire); the group is a parameter of "
        "mpsanalysis.ingest.sources.home_office.compare_similar_forces. MSF average: the "
        "mean of the four forces' rates; MSF pooled: their offences over their "
        "population. Only 2019/20 is supplied, so this table does not change with "
        "the report's period."
    )


# --------------------------------------------------------------------------- harm
def harm_html(report) -> str:
    """A harm-weighted view: FYTD counts weighted by the ONS Crime Severity Score."""
    weights = _read("severity_minor_categories")
    if weights is None:
        return _not_built("ONS crime severity weights")
    weight = dict(
        zip(weights["minor_category"].str.casefold(), weights["severity_weight"], strict=True)
    )
    crime = measures.load_borough_crime()
    window = report.window
    rows, total = [], 0.0
    for row in report.rows:
        m = row.result.measure
        classification = row.result.classification
        if (
            m.source != "borough-crime"
            or classification != "new"
            or m.id == "violence-against-the-person"
        ):
            continue
        mask = measures.measure_mask(crime, m, classification)
        inside = crime[mask & crime["month"].between(window.start, window.end)]
        if report.geography != boroughs.LONDON:
            inside = inside[inside["borough_name"].eq(report.geography)]
        by_minor = inside.groupby(inside["minor_category"].str.casefold())["count"].sum()
        missing = [k for k in by_minor.index if k not in weight or pd.isna(weight[k])]
        if missing:
            continue
        harm = float(sum(by_minor[k] * weight[k] for k in by_minor.index))
        total += harm
        rows.append([m.title, format_count(by_minor.sum()), format_count(harm)])
    if not rows:
        return _p(
            "A harm-weighted view needs the current crime classification for the "
            "whole period (from April 2010), with a severity weight for each category."
        )
    for r in rows:
        share = float(r[2].replace(",", "")) / total * 100 if total else math.nan
        r.append(format_percent(share))
    return table_html(
        ["Measure", "Offences (FYTD)", "Harm (severity-weighted)", "Share of harm"],
        rows,
        f"Harm-weighted view, {report.geography}, {window.label}",
    ) + _p(
        "Harm weights each offence by the ONS Crime Severity Score weight of its "
        "category (the average custodial days of sentences, weighted over the "
        "category's Home Office offence codes; see docs/data-sources.md). Counts "
        "show volume; harm shows where the damage is."
    )


# --------------------------------------------------------------------------- maps, funnel
def _borough_rates(report, measure_id: str):
    rows = [r for r in report.rows if r.result.measure.id == measure_id]
    if not rows or rows[0].result.classification is None:
        return None
    r = rows[0].result
    table = measures.borough_breakdown(
        r.measure, report.period_end, r.classification, report._crime
    )
    from mpsanalysis.ingest.sources.population import read_borough_population

    try:
        population = read_borough_population(periods.financial_year(report.period_end))
    except (DataValidationError, ValueError):
        return None
    pop = population.set_index("borough_code")["population"]
    table["population"] = pop.reindex(table["borough_code"]).to_numpy()
    return r, table


def funnel_html(report, measure_id: str) -> str:
    """Funnel plot: borough rates per 1,000 with Poisson limits adjusted for
    over-dispersion (Spiegelhalter 2005), outlying boroughs named."""
    import matplotlib.pyplot as plt

    from mpsanalysis.stats.funnel import compute_funnel, plot_funnel

    found = _borough_rates(report, measure_id)
    if found is None:
        return _p("No borough rates for this measure and period.")
    r, table = found
    funnel = compute_funnel(table["current"], table["population"], per=1000)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    title = f"{r.measure.title}: borough rates per 1,000 residents, {report.window.label}"
    plot_funnel(funnel, title, ax=ax, rate_label="Offences per 1,000 residents")
    high = [i for i, o in funnel["outlier"].items() if o == "high"]
    low = [i for i, o in funnel["outlier"].items() if o == "low"]
    text = (
        f"Beyond the 99.8% limits: higher than expected — {', '.join(high) or 'none'}; "
        f"lower — {', '.join(low) or 'none'}. Over-dispersion factor "
        f"{funnel.attrs['phi']:.1f}"
        + (" (limits widened)." if funnel.attrs["overdispersion_applied"] else ".")
    )
    return figure_html(
        fig,
        f"{title}. {text}",
        title + ". Limits: exact Poisson 95% and 99.8%, widened for over-dispersion.",
    ) + _p(text)


def borough_map_html(report, measure_id: str) -> str:
    """Borough maps of the FYTD rate per 1,000 and of the change on last year."""
    from mpsanalysis.report.maps import plot_borough_choropleth

    found = _borough_rates(report, measure_id)
    if found is None:
        return _p("No borough rates for this measure and period.")
    r, table = found
    rate = pd.Series(
        (table["current"] / table["population"] * 1000).to_numpy(), index=table["borough_code"]
    )
    change = pd.Series(table["percent_change"].to_numpy(), index=table["borough_code"])
    parts = []
    top = rate.idxmax()
    name = table.index[list(table["borough_code"]).index(top)]
    fig = plot_borough_choropleth(
        rate, f"{r.measure.title} per 1,000 residents", label="per 1,000 residents"
    )
    parts.append(
        figure_html(
            fig,
            f"Map of {r.measure.title.lower()} per 1,000 residents by "
            f"borough, {report.window.label}; highest in {name} "
            f"({rate.max():.2f}).",
            f"{r.measure.title} per 1,000 residents, {report.window.label}.",
        )
    )
    if change.notna().any():
        fig = plot_borough_choropleth(
            change, f"{r.measure.title}: % change on last year", diverging=True, label="% change"
        )
        rises = int((change > 0).sum())
        parts.append(
            figure_html(
                fig,
                f"Map of the % change in {r.measure.title.lower()} on "
                f"last year by borough: {rises} of {change.notna().sum()} "
                "boroughs rose.",
                f"{r.measure.title}: % change on the same period last year.",
            )
        )
    return "".join(parts)


# --------------------------------------------------------------------------- registry
# TEMPORARY (branch report-core only): the minimal registry that ObjectiveReport's
# dispatch needs until branch report-sections, which rewrites this module with
# Section.table and Section.figure for every section, is merged. Take that branch's
# version of this block at the merge.
@dataclass(frozen=True)
class Section:
    """A report section built on other sources: its table, chart and HTML."""

    html: Callable[..., str]
    table: Callable[..., pd.DataFrame] | None = None
    figure: Callable[..., object] | None = None


SECTIONS: dict[str, Section] = {
    "funnel": Section(funnel_html),
    "map": Section(borough_map_html),
    "wards": Section(ward_concentration_html),
    "harm": Section(harm_html),
    "forces": Section(force_comparison_html),
    "homicide": Section(homicide_html),
    "young-victims": Section(young_victims_html),
    "stop-search": Section(stop_search_html),
    "outcomes": Section(outcomes_html),
}
