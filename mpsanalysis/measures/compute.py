"""Compute each catalogue measure for a geography and period.

A measure from the London Datastore is the sum of its categories in *one*
classification: the two classifications are never added together. The comparison of
this financial year to date with the same period last year uses the newest
classification that covers both periods; when none does, the result says so plainly.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import boroughs, paths, periods
from mpsanalysis.errors import ParameterError
from mpsanalysis.ingest import extracts, store
from mpsanalysis.measures import metrics
from mpsanalysis.measures.catalogue import REBASE_REASON, Measure

__all__ = [
    "MeasureResult",
    "load_borough_crime",
    "load_category_vintages",
    "last_month_available",
    "measure_monthly",
    "choose_classification",
    "compute_measure",
    "borough_breakdown",
    "borough_rates",
    "category_mask",
    "measure_mask",
    "measure_rows",
]

CLASSIFICATION_ORDER = ("new", "old")  # newest first
CLASSIFICATION_LABELS = {
    "new": "the current MPS crime classification (from April 2010)",
    "old": "the previous MPS crime classification (2008 to 2018)",
}


def _casefolded(values: pd.Series) -> pd.Series:
    """``values.str.casefold()``, folding each distinct value once.

    The crime table repeats about 130 category names over its 440,000 rows, so folding
    the distinct names and spreading them back (a ``take`` of the column's own array
    type, in Arrow for a string column) is several times faster than folding every
    row: about 40 ms a column, against 135 ms folding each row and 80-160 ms building
    the column from Python strings.

    Examples
    --------
    >>> _casefolded(pd.Series(["Burglary", "BURGLARY", None, "Robbery"])).tolist()
    ['burglary', 'burglary', nan, 'robbery']
    """
    codes, distinct = pd.factorize(values)
    folded = pd.array([text.casefold() for text in distinct], dtype=values.dtype)
    return pd.Series(
        folded.take(codes, allow_fill=True),
        index=values.index,
        name=values.name,
        dtype=values.dtype,
    )


def _with_category_keys(crime: pd.DataFrame) -> pd.DataFrame:
    """The crime table with its category names case-folded once (``major_key``,
    ``minor_key``), the form every measure filter matches against."""
    crime["major_key"] = _casefolded(crime["major_category"])
    crime["minor_key"] = _casefolded(crime["minor_category"])
    return crime


@lru_cache(maxsize=2)
def _read_crime(directory: str, mtime: float) -> pd.DataFrame:
    # One object per report (the engine empties this cache between reports); the
    # store keeps the derived frame for the next report in the same kernel.
    return store.derived_table("borough_crime", _with_category_keys, Path(directory))


def load_borough_crime(directory: Path | None = None) -> pd.DataFrame:
    """The tidy borough crime table from the store (cached while the store is unchanged)."""
    directory = directory or paths.processed_dir()
    path = store.table_path("borough_crime", directory)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _read_crime(str(directory), mtime)


def load_category_vintages(directory: Path | None = None) -> pd.DataFrame:
    """Which categories each file publishes, and for which months it is used."""
    categories = store.read_table("borough_crime_categories", directory=directory)
    categories["major_key"] = categories["major_category"].str.casefold()
    categories["minor_key"] = categories["minor_category"].str.casefold()
    return categories


def last_month_available(directory: Path | None = None) -> pd.Period:
    """The latest month of borough crime in the store."""
    vintages = store.read_table("borough_crime_vintages", directory=directory)
    return vintages["last_month"].max()


_MONTHS_CACHE: dict[int, tuple[weakref.ref, dict]] = {}


def _months_by_file(crime: pd.DataFrame) -> dict[tuple[str, str], set]:
    """The months each file actually supplies (after newer vintages took theirs).

    Cached per table object (by identity, dropped when the table is freed).
    """
    hit = _MONTHS_CACHE.get(id(crime))
    if hit is not None and hit[0]() is crime:
        return hit[1]
    pairs = crime[["classification", "source_file", "month"]].drop_duplicates()
    months = {
        key: set(group["month"]) for key, group in pairs.groupby(["classification", "source_file"])
    }
    _MONTHS_CACHE[id(crime)] = (weakref.ref(crime), months)
    return months


def category_mask(frame: pd.DataFrame, items) -> pd.Series:
    """Rows of ``frame`` in any of the catalogue's category filters ``items``.

    A filter names a major category and, optionally, minor categories; names match
    ignoring case. ``frame`` has ``major_category`` and ``minor_category`` columns, or
    their case-folded ``major_key`` and ``minor_key`` (as the cached crime table has).

    Examples
    --------
    >>> from mpsanalysis.measures.catalogue import CategoryFilter
    >>> frame = pd.DataFrame({"major_category": ["Robbery", "ROBBERY", "Burglary"],
    ...                       "minor_category": ["Personal Property", "Business Property",
    ...                                          "Burglary in a Dwelling"]})
    >>> category_mask(frame, [CategoryFilter("robbery", ("personal property",))]).tolist()
    [True, False, False]
    """
    major = (
        frame["major_key"]
        if "major_key" in frame
        else _casefolded(frame["major_category"].astype(object))
    )
    minor = (
        frame["minor_key"]
        if "minor_key" in frame
        else _casefolded(frame["minor_category"].astype(object))
    )
    mask = pd.Series(False, index=frame.index)
    for item in items:
        hit = major.eq(item.major.casefold())
        if item.minor:
            hit &= minor.isin([m.casefold() for m in item.minor])
        mask |= hit
    return mask


def measure_mask(frame: pd.DataFrame, measure: Measure, classification: str) -> pd.Series:
    """Rows of the borough crime table that count towards ``measure`` in one
    classification (see :func:`category_mask`)."""
    items = measure.categories.get(classification, ())
    return category_mask(frame, items) & frame["classification"].eq(classification)


#: The columns of :func:`measure_rows`.
MEASURE_ROW_COLUMNS = ["month", "borough_name", "minor_category", "count"]


def measure_rows(
    measure: Measure, classification: str, crime: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The rows of the borough crime table that count towards ``measure`` in one
    classification: ``month``, ``borough_name``, ``minor_category`` and ``count``, in
    the table's order.

    With ``crime`` None (the default), the store's table, whose rows for a measure are
    worked out once per version of the table file and kept for the next reports of the
    same kernel (:func:`mpsanalysis.ingest.store.remembered`): every borough's report
    of an objective counts the same rows.

    Examples
    --------
    >>> from mpsanalysis.measures.catalogue import get_objective
    >>> m = get_objective("robbery").measure("personal-robbery")
    >>> crime = pd.DataFrame({"month": pd.PeriodIndex(["2016-04", "2016-04"], freq="M"),
    ...     "borough_name": "Camden", "classification": "new",
    ...     "major_category": "Robbery",
    ...     "minor_category": ["Robbery of Personal Property", "Robbery of Business Property"],
    ...     "count": [30, 4]})
    >>> measure_rows(m, "new", crime)["count"].tolist()
    [30]
    """
    if crime is None:
        return store.remembered(_store_measure_rows, measure, classification)
    return crime.loc[measure_mask(crime, measure, classification), MEASURE_ROW_COLUMNS]


def _store_crime() -> pd.DataFrame:
    # Straight from the store (never the per-report cache of load_borough_crime), so
    # that store.remembered notes the table as read.
    return store.derived_table("borough_crime", _with_category_keys)


def _store_measure_rows(measure: Measure, classification: str) -> pd.DataFrame:
    return measure_rows(measure, classification, _store_crime())


def _store_months_by_file() -> dict[tuple[str, str], set]:
    return _months_by_file(_store_crime())


def _store_monthly_sums(measure: Measure, classification: str) -> pd.DataFrame:
    """A measure's monthly counts in the store's crime table, one column per borough
    (0 where a borough has no row in a month some borough has) and one for London (all
    rows, including those recorded against no borough), as floats.

    Worked out once per kernel (:func:`mpsanalysis.ingest.store.remembered`): the
    reports of an objective for London and the 32 boroughs each take their column, where
    each used to filter and group the measure's rows again (about 6% of a full run's
    CPU; ``docs/performance.md``, session 14).
    """
    rows = measure_rows(measure, classification, _store_crime())
    table = (
        rows.groupby(["month", "borough_name"], observed=True)["count"]
        .sum()
        .unstack("borough_name", fill_value=0)
        .astype(float)
    )
    table.columns = [str(c) for c in table.columns]
    table[boroughs.LONDON] = rows.groupby("month")["count"].sum().astype(float)
    return table


def measure_monthly(
    measure: Measure,
    geography: str,
    classification: str,
    crime: pd.DataFrame | None = None,
    categories: pd.DataFrame | None = None,
) -> pd.Series:
    """Monthly counts of a borough-crime measure in one classification.

    Months a file covers but in which the geography has no row count as 0 (the files
    omit zero rows). Months no file covers, or whose file does not publish the measure's
    categories, are NaN: missing, never zero.

    Parameters
    ----------
    measure : Measure
        A catalogue measure with ``source: borough-crime``.
    geography : str
        ``London`` or a borough name.
    classification : str
        ``old`` or ``new``.
    crime, categories : pandas.DataFrame, optional
        The borough crime table and its category vintages (default: the store's; the
        measure's rows of the store's table are then worked out once a kernel, see
        :func:`measure_rows`).
    """
    if measure.source != "borough-crime":
        raise ParameterError(f"measure {measure.id!r} is not from the borough crime data")
    geography = boroughs.validate_geography(geography)
    categories = load_category_vintages() if categories is None else categories
    if classification not in measure.categories:
        return pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"))
    if crime is None:  # the store's table: every geography's sums worked out at once
        table = store.remembered(_store_monthly_sums, measure, classification)
        if geography in table.columns:
            sums = table[geography]
        else:  # no row for the geography: every covered month is 0
            sums = pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"))
    else:
        rows = measure_rows(measure, classification, crime)
        if geography != boroughs.LONDON:
            rows = rows[rows["borough_name"].eq(geography)]
        sums = rows.groupby("month")["count"].sum().astype(float)
    published = categories[measure_mask(categories, measure, classification)]
    files = set(published["source_file"])
    supplied = store.remembered(_store_months_by_file) if crime is None else _months_by_file(crime)
    covered: set[pd.Period] = set()
    for key in supplied:
        if key[0] == classification and key[1] in files:
            covered.update(supplied[key])
    if not covered:
        return pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"))
    index = pd.period_range(min(covered), max(covered), freq="M")
    series = sums.reindex(index).fillna(0.0)
    series[~index.isin(list(covered))] = math.nan
    series.name = measure.id
    return series


def choose_classification(
    series_by_classification: dict[str, pd.Series], period_end: pd.Period
) -> tuple[str | None, str]:
    """The newest classification covering this FYTD and the same period last year.

    Returns
    -------
    (str or None, str)
        The classification (or the newest covering this year only, or None), and a note
        for the report ("" when the comparison is complete).
    """
    window = periods.fytd_window(period_end)
    last = periods.same_period_last_year(window)

    def covers(series: pd.Series, w: periods.Window) -> bool:
        return not series.reindex(w.months).isna().any()

    for classification in CLASSIFICATION_ORDER:
        series = series_by_classification.get(classification)
        if series is not None and covers(series, window) and covers(series, last):
            return classification, ""
    for classification in CLASSIFICATION_ORDER:
        series = series_by_classification.get(classification)
        if series is not None and covers(series, window):
            missing = [m for m in last.months if pd.isna(series.reindex([m]).iloc[0])]
            gap = ", ".join(m.strftime("%b %Y") for m in missing[:3])
            return classification, (
                f"No single crime classification covers both {window.label} and "
                f"{last.label} ({gap} not in the published data for these categories), "
                "so there is no comparison with last year."
            )
    best: list[pd.Period] | None = None
    for series in series_by_classification.values():
        gaps = [m for m in window.months if pd.isna(series.reindex([m]).iloc[0])]
        if best is None or len(gaps) < len(best):
            best = gaps
    if best and len(best) < len(window):
        months = ", ".join(m.strftime("%b %Y") for m in best[:3])
        more = f" and {len(best) - 3} more" if len(best) > 3 else ""
        return (
            None,
            f"Not published for every month of {window.label} (no data for {months}{more}).",
        )
    return None, f"Not published for {window.label} in the data available."


@dataclass
class MeasureResult:
    """Everything the report needs about one measure for one geography and period."""

    measure: Measure
    geography: str
    period_end: pd.Period
    source_label: str
    monthly: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    comparison: metrics.FytdComparison | None = None
    classification: str | None = None
    note: str = ""  # for the report's readers
    how_to_supply: str = ""  # for the analyst: what to add to fill the gap (never published)
    supplied: bool = True
    synthetic: bool = False
    rate_now: tuple[float, float] | None = None  # (numerator, denominator) FYTD
    rate_before: tuple[float, float] | None = None

    @property
    def fytd_rate(self) -> float:
        if not self.rate_now or not self.rate_now[1]:
            return math.nan
        return self.rate_now[0] / self.rate_now[1] * 100

    @property
    def last_year_rate(self) -> float:
        if not self.rate_before or not self.rate_before[1]:
            return math.nan
        return self.rate_before[0] / self.rate_before[1] * 100


def _extract_result(measure: Measure, geography: str, end: pd.Period, extract_table):
    if measure.extract_measure is None:  # the catalogue requires it for extract measures
        raise ParameterError(f"measure {measure.id!r} names no extract measure")
    series = extracts.extract_series(extract_table, measure.extract_measure, geography)
    if series.empty:
        return MeasureResult(
            measure,
            geography,
            end,
            "internal extract",
            supplied=False,
            note=(
                "Not shown: this figure comes from an internal MPS extract, and none was "
                f"provided for {geography}."
            ),
            how_to_supply=(
                f"To show it, add rows with measure '{measure.extract_measure}' for "
                f"{geography} to a CSV in data/raw/extracts/ (columns: month, geography, "
                "measure, value, numerator, denominator; see docs/extracts.md)."
            ),
        )
    synthetic = bool(series["synthetic"].any())
    label = "internal extract (SYNTHETIC sample)" if synthetic else "internal extract"
    result = MeasureResult(measure, geography, end, label, synthetic=synthetic)
    window = periods.fytd_window(end)
    last = periods.same_period_last_year(window)
    if measure.unit == "proportion":
        now = series.reindex(window.months)
        before = series.reindex(last.months)
        if now["denominator"].isna().any():
            result.note = f"The extract does not cover every month of {window.label}."
            return result
        result.rate_now = (float(now["numerator"].sum()), float(now["denominator"].sum()))
        if not before["denominator"].isna().any():
            result.rate_before = (
                float(before["numerator"].sum()),
                float(before["denominator"].sum()),
            )
        result.monthly = series["value"]
        return result
    result.monthly = series["value"].astype(float)
    result.comparison = metrics.compare_fytd(result.monthly, end)
    if result.comparison.missing_months and math.isnan(result.comparison.current):
        result.note = f"The extract does not cover every month of {window.label}."
    return result


def compute_measure(
    measure: Measure,
    geography: str,
    period_end: str | pd.Period,
    crime: pd.DataFrame | None = None,
    categories: pd.DataFrame | None = None,
    extract_table: pd.DataFrame | None = None,
) -> MeasureResult:
    """Compute one measure: monthly series, FYTD comparison, forecasts and notes.

    Examples
    --------
    A measure with no extract supplied says so, and tells the analyst what to supply,
    instead of failing:

    >>> from mpsanalysis.measures.catalogue import get_objective
    >>> m = get_objective("criminal-networks").measure("criminal-network-disruptions")
    >>> no_rows = extracts.load_extracts("sample").iloc[0:0]
    >>> r = compute_measure(m, "London", "2010-10", extract_table=no_rows)
    >>> r.supplied, r.note.startswith("Not shown"), "data/raw/extracts/" in r.how_to_supply
    (False, True, True)
    """
    end = periods.parse_month(period_end)
    geography = boroughs.validate_geography(geography)
    if measure.source == "extract":
        table = extracts.load_extracts(None) if extract_table is None else extract_table
        return _extract_result(measure, geography, end, table)
    categories = load_category_vintages() if categories is None else categories
    by_class = {
        c: measure_monthly(measure, geography, c, crime, categories) for c in measure.categories
    }
    classification, note = choose_classification(by_class, end)
    result = MeasureResult(
        measure,
        geography,
        end,
        "London Datastore, MPS recorded crime by borough",
        classification=classification,
        note=note,
    )
    if classification is None:
        return result
    result.monthly = by_class[classification]
    comparison = metrics.compare_fytd(result.monthly, end)
    result.comparison = comparison
    crossed = _rebase_crossed(measure.rebase_points(classification), end)
    if crossed is not None and not math.isnan(comparison.previous):  # a change to qualify
        said = (
            f"The comparison with last year spans {crossed.strftime('%B %Y')}, "
            f"{REBASE_REASON}: part of the change may come from that."
        )
        result.note = f"{result.note} {said}" if result.note else said
    return result


def _rebase_crossed(rebase_points, period_end: pd.Period) -> pd.Period | None:
    """The rebase point (``YYYY-MM``) that falls after the start of last year's period and
    no later than this period's end, so that the two periods are counted differently in
    part; None when there is none.

    Examples
    --------
    >>> _rebase_crossed(("2024-01",), pd.Period("2024-06", "M"))  # Apr-Jun 2024 against 2023
    Period('2024-01', 'M')
    >>> _rebase_crossed(("2024-01",), pd.Period("2025-12", "M")) is None  # both after
    True
    """
    window = periods.fytd_window(period_end)
    first = periods.same_period_last_year(window).start
    for point in rebase_points:
        month = pd.Period(point, freq="M")
        if first < month <= window.end:
            return month
    return None


def borough_breakdown(
    measure: Measure,
    period_end: str | pd.Period,
    classification: str,
    crime: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """FYTD and same period last year for every borough, in one classification.

    A period with a month the classification does not publish for the measure (December
    2023 is in no file) has no total: its column is NaN for every borough, and so are
    the change and the % change, never a sum over the months that happen to be there
    (which compared 12 months of 2024/25 with 11 of 2023/24).

    Returns
    -------
    pandas.DataFrame
        Indexed by borough name (the 32 boroughs): borough_code, current, previous,
        change, percent_change.
    """
    end = periods.parse_month(period_end)
    rows = measure_rows(measure, classification, crime)
    window = periods.fytd_window(end)
    last = periods.same_period_last_year(window)
    published = set(rows["month"].unique())
    table = boroughs.borough_table()
    table = table[table["in_mps"] & ~table["is_pseudo"]].set_index("borough_name")
    out = pd.DataFrame(index=table.index)
    out["borough_code"] = table["borough_code"]
    for label, w in (("current", window), ("previous", last)):
        inside = rows[rows["month"].between(w.start, w.end)]
        out[label] = inside.groupby("borough_name")["count"].sum().reindex(out.index).fillna(0)
        if any(m not in published for m in w.months):
            out[label] = np.nan
    out["change"] = out["current"] - out["previous"]
    out["percent_change"] = [
        metrics.percent_change(c, p) for c, p in zip(out["current"], out["previous"], strict=True)
    ]
    return out


def borough_rates(
    measure: Measure,
    period_end: str | pd.Period,
    classification: str,
    crime: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Borough counts this financial year to date and last year, with the population and
    the rate per 1,000 residents (per 100,000 for a measure whose catalogue entry sets
    ``rate_per: 100000``): the one place borough rates are computed.

    Parameters
    ----------
    measure : Measure
        A catalogue measure with ``source: borough-crime``.
    period_end : str or pandas.Period
        The last month of the financial year to date.
    classification : str
        ``old`` or ``new`` (see :func:`choose_classification`).
    crime : pandas.DataFrame, optional
        The borough crime table (default :func:`load_borough_crime`).
    population : pandas.DataFrame, optional
        Columns ``borough_code`` and ``population``; default the store's borough
        population for the year the financial year starts in
        (:func:`mpsanalysis.ingest.sources.population.read_borough_population`, which
        takes the nearest year available and warns when the year is missing).

    Returns
    -------
    pandas.DataFrame
        One row per borough (the 32, in name order) with columns ``borough``,
        ``borough_code``, ``current`` (int64) and ``previous`` (Int64; <NA> for every
        borough when a month of last year's period is not published in the
        classification), ``percent_change`` (float, NaN when last year was 0 or is
        missing), ``population`` (int64) and
        ``rate`` (float, offences per ``measure.rate_per`` residents this financial year
        to date, 1,000 unless the catalogue says otherwise); ``attrs["per"]``.

    Raises
    ------
    DataValidationError
        When the store has no borough population table.
    ParameterError
        When a borough has no population, or a population is not positive.

    Notes
    -----
    rate = 1,000 × current / population (the HMIC "per 1,000 population" convention), or
    100,000 × current / population for a rare offence (homicide, firearms possession).

    Examples
    --------
    >>> from mpsanalysis.measures.catalogue import get_objective
    >>> m = get_objective("robbery").measure("personal-robbery")
    >>> codes = boroughs.borough_table()
    >>> codes = codes[codes["in_mps"] & ~codes["is_pseudo"]]
    >>> months = pd.PeriodIndex(["2015-04", "2015-05", "2016-04", "2016-05"], freq="M")
    >>> crime = pd.DataFrame({"month": months,
    ...     "borough_name": "Camden", "classification": "new",
    ...     "major_category": "Robbery", "minor_category": "Robbery of Personal Property",
    ...     "count": [10, 0, 30, 20]})
    >>> population = pd.DataFrame({"borough_code": codes["borough_code"], "population": 250_000})
    >>> table = borough_rates(m, "2016-05", "new", crime, population)
    >>> table.loc[table["borough"].eq("Camden"), ["current", "previous", "rate"]]
       current  previous  rate
    5       50        10   0.2
    >>> gap = borough_rates(m, "2016-05", "new", crime[crime["month"] != "2015-05"], population)
    >>> gap.loc[gap["borough"].eq("Camden"), ["current", "previous", "percent_change"]]
       current  previous  percent_change
    5       50      <NA>             NaN
    """
    end = periods.parse_month(period_end)
    if population is None:
        from mpsanalysis.ingest.sources.population import read_borough_population

        population = read_borough_population(periods.financial_year(end))
    table = borough_breakdown(measure, end, classification, crime)
    by_code = population.set_index("borough_code")["population"]
    missing = [c for c in table["borough_code"] if c not in by_code.index]
    if missing:
        raise ParameterError(f"no population for borough {missing[0]!r}: cannot compute its rate")
    pop = pd.to_numeric(by_code.reindex(table["borough_code"])).to_numpy()
    if (pop <= 0).any():
        raise ParameterError(
            f"population for borough {table['borough_code'].iloc[int((pop <= 0).argmax())]!r} "
            "is not positive"
        )
    out = pd.DataFrame(
        {
            "borough": table.index.astype(str),
            "borough_code": table["borough_code"].to_numpy(),
            "current": table["current"].astype("int64").to_numpy(),
            "previous": pd.array(table["previous"].round(), dtype="Int64"),
            "percent_change": table["percent_change"].astype(float).to_numpy(),
            "population": pop.astype("int64"),
        }
    )
    out["rate"] = out["current"] / out["population"] * measure.rate_per
    out.attrs["per"] = measure.rate_per
    return out
