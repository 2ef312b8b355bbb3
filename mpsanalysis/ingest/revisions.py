"""Compare a new vintage of a monthly table with the previous one over shared months.

A refreshed publisher's file may revise past months (late-recorded crimes, reclassified
records). :func:`compare_vintages` lists every cell whose count changed between the
previous processed store and the new build, over the months both supply, and
:func:`check_losses` refuses a new vintage that has lost what revisions do not explain:
rows with crimes that vanish, or a month whose total falls by more than
:data:`MAX_MONTH_FALL`. A file cut at a line end, or edited, is caught this way even
when it is not a release registered in the completeness contract.

The revisions table (columns :data:`REVISION_COLUMNS`) is documented in
``docs/data-sources.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mpsanalysis.errors import DataValidationError

__all__ = [
    "REVISION_COLUMNS",
    "MAX_MONTH_FALL",
    "REPUBLISHED",
    "SOURCE_REVISION_COLUMNS",
    "Republished",
    "check_losses",
    "compare_republished",
    "compare_vintages",
    "describe_revisions",
    "period_of",
    "tally",
]

#: Columns of a revisions table, after the table's own key columns.
REVISION_COLUMNS = [
    "previous_count",
    "count",
    "difference",
    "kind",
    "previous_source_file",
    "source_file",
]

#: The largest fall of one month's total (one classification, all of London) that a
#: revision may explain. Published revisions of the borough files move a month's total
#: by well under 1%; a larger fall means lost rows.
MAX_MONTH_FALL = 0.02


def compare_vintages(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    keys: Sequence[str],
    period: Sequence[str] = ("month",),
) -> pd.DataFrame:
    """Cells whose count differs between two vintages, over the periods both supply.

    Parameters
    ----------
    previous, current : pandas.DataFrame
        Tidy tables with ``keys``, ``count`` and ``source_file`` columns.
    keys : sequence of str
        Columns identifying a cell (including the period columns).
    period : sequence of str
        Columns whose shared values define the overlap (e.g. classification, month).

    Returns
    -------
    pandas.DataFrame
        ``keys`` then :data:`REVISION_COLUMNS`; ``kind`` is ``revised``, ``added`` (no
        previous row) or ``withdrawn`` (no current row). A missing row counts as 0 in
        ``difference``.

    Examples
    --------
    >>> prev = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-02"], "cat": ["A", "B", "A"],
    ...     "count": [5, 2, 9], "source_file": "old.csv"})
    >>> cur = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-03"], "cat": ["A", "C", "A"],
    ...     "count": [6, 1, 4], "source_file": "new.csv"})
    >>> compare_vintages(prev, cur, ["month", "cat"])[["cat", "previous_count", "count", "kind"]]
      cat  previous_count  count       kind
    0   A               5      6    revised
    1   B               2      0  withdrawn
    2   C               0      1      added
    """
    keys, period = list(keys), list(period)
    shared = previous[period].drop_duplicates().merge(current[period].drop_duplicates())
    left = previous.merge(shared, on=period)[[*keys, "count", "source_file"]]
    right = current.merge(shared, on=period)[[*keys, "count", "source_file"]]
    both = left.merge(right, on=keys, how="outer", suffixes=("_prev", ""), indicator=True)
    both["kind"] = np.select(
        [both["_merge"].eq("left_only"), both["_merge"].eq("right_only")],
        ["withdrawn", "added"],
        "revised",
    )
    both["previous_count"] = both["count_prev"].fillna(0).astype("int64")
    both["count"] = both["count"].fillna(0).astype("int64")
    both["difference"] = both["count"] - both["previous_count"]
    both["previous_source_file"] = both["source_file_prev"].fillna("")
    # A withdrawn row has no current file: name the file that now supplies its period.
    owner = current.drop_duplicates(period).set_index(period)["source_file"]
    at = pd.MultiIndex.from_frame(both[period]) if len(period) > 1 else both[period[0]]
    both["source_file"] = both["source_file"].fillna(
        pd.Series(owner.reindex(at).to_numpy(), index=both.index)
    )
    both["source_file"] = both["source_file"].fillna("")
    changed = both["difference"].ne(0) | both["kind"].ne("revised")
    changed &= ~(both["kind"].ne("revised") & both["difference"].eq(0))  # zero rows
    out = both.loc[changed, [*keys, *REVISION_COLUMNS]]
    return out.sort_values(keys).reset_index(drop=True)


def check_losses(
    revisions: pd.DataFrame,
    previous: pd.DataFrame,
    group: Sequence[str],
    describe: Sequence[str],
    what: str,
) -> None:
    """Refuse a new vintage whose shared months lost what revisions do not explain.

    Raises when a row with crimes in the previous vintage is withdrawn, or when a
    ``group`` (e.g. classification and month) falls by more than :data:`MAX_MONTH_FALL`
    of its previous total.

    Raises
    ------
    DataValidationError
        Naming the new file, the first lost row or month and the size of the loss.
    """
    lost = revisions[revisions["kind"].eq("withdrawn") & revisions["previous_count"].gt(0)]
    how = (
        "if the publisher really withdrew or revised these figures, delete "
        "data/processed/ and build again (the comparison is with the previous build)"
    )
    if len(lost):
        first = lost.iloc[0]
        where = " / ".join(str(first[c]) for c in describe)
        raise DataValidationError(
            f"{len(lost):,} row(s) with crimes in the previous build's "
            f"{first['previous_source_file']} are missing over the months both supply, the "
            f"first {where} ({int(first['previous_count']):,} crimes): is the file "
            f"truncated? ({what}; {how})",
            file=str(lost["source_file"].iloc[0] or first["previous_source_file"]),
        )
    if revisions.empty:
        return
    shared = previous.merge(revisions[list(group)].drop_duplicates(), on=list(group))
    before = shared.groupby(list(group))["count"].sum()
    change = revisions.groupby(list(group))["difference"].sum()
    fall = (-change / before.reindex(change.index)).fillna(0)
    worst = fall.idxmax()
    if fall[worst] > MAX_MONTH_FALL:
        rows = revisions.set_index(list(group)).loc[[worst]]
        label = " / ".join(map(str, worst if isinstance(worst, tuple) else (worst,)))
        raise DataValidationError(
            f"the total for {label} falls by {fall[worst]:.1%} "
            f"({int(before[worst]):,} to {int(before[worst] + change[worst]):,}) from the "
            f"previous build, more than revisions explain (at most {MAX_MONTH_FALL:.0%}); "
            f"{how}",
            file=str(rows["source_file"].iloc[0]),
        )


# --------------------------------------------------------------- other republished sources
@dataclass(frozen=True)
class Republished:
    """A store table built from files a publisher republishes, revising past periods.

    Attributes
    ----------
    table : str
        The store table.
    cells : tuple of str
        Columns that, with the period, identify a cell whose count is compared.
    count : str or None
        The column summed over a cell; ``None`` counts the table's rows (one row per
        search, per crime, per outcome).
    period : str
        ``"month"`` (a ``month`` column), ``"year"`` (a ``year`` column) or
        ``"financial_quarter"`` (``financial_year`` such as ``2019/20`` and ``quarter``
        1-4).
    unit : str
        What the count counts, for the build log.
    title : str
        The source in plain words, for the reports' index.
    """

    table: str
    cells: tuple[str, ...]
    count: str | None
    period: str
    unit: str
    title: str

    @property
    def columns(self) -> list[str]:
        """The columns of the table the comparison reads."""
        period = {"month": ["month"], "year": ["year"]}.get(
            self.period, ["financial_year", "quarter"]
        )
        count = [self.count] if self.count else []
        return [*period, *self.cells, *count, *(["source_file"] if self.source_file else [])]

    @property
    def source_file(self) -> bool:
        """Whether the table names the file each row came from."""
        return self.table not in {"borough_population", "force_population"}


#: The store tables of republished sources compared with the previous build, besides the
#: borough crime files (``borough_crime_revisions``, with their own checks of losses).
#: Their changed cells go to the ``source_revisions`` table (``docs/data-sources.md``).
REPUBLISHED = (
    Republished(
        "ward_crime",
        ("borough_name", "ward_code", "ward_name", "major_category", "minor_category"),
        "count",
        "month",
        "crimes",
        "Ward crime (London Datastore)",
    ),
    Republished(
        "homicide_victims",
        (
            "borough_name",
            "offence_type",
            "method",
            "domestic_abuse",
            "solved_status",
            "age_group",
            "sex",
            "ethnicity",
        ),
        "victims",
        "month",
        "victims",
        "Homicide victims (London Datastore)",
    ),
    Republished(
        "homicide_ppa",
        ("borough_name", "offence_type", "proceedings_outcome", "age_group", "sex", "ethnicity"),
        "persons",
        "month",
        "persons proceeded against",
        "Persons proceeded against for homicide (London Datastore)",
    ),
    Republished(
        "stop_search",
        (
            "borough_name",
            "search_type",
            "legislation",
            "object_of_search",
            "outcome",
            "gender",
            "age_range",
            "self_defined_group",
            "officer_defined_ethnicity",
        ),
        None,
        "month",
        "searches",
        "Stop and search (data.police.uk)",
    ),
    Republished(
        "policeuk_crimes",
        ("borough_name", "crime_type", "last_outcome_category"),
        None,
        "month",
        "crimes",
        "Street-level crimes (data.police.uk)",
    ),
    Republished(
        "policeuk_outcomes",
        ("outcome_type",),
        None,
        "month",
        "outcomes",
        "Outcomes of street-level crimes (data.police.uk)",
    ),
    Republished(
        "force_crime",
        ("force_name", "offence_code"),
        "count",
        "financial_quarter",
        "crimes",
        "Police recorded crime by force (Home Office)",
    ),
    Republished(
        "lsoa_crime_annual",
        ("borough_name", "lsoa_code", "category_level", "major_category", "minor_category"),
        "count",
        "year",
        "crimes",
        "Crime by small area and year (London Datastore)",
    ),
    Republished(
        "borough_population",
        ("borough_name",),
        "population",
        "year",
        "people",
        "Borough population (ONS and GLA)",
    ),
    Republished(
        "force_population",
        ("force_name",),
        "population",
        "year",
        "people",
        "Police force area population (ONS)",
    ),
)

#: Columns of the ``source_revisions`` table.
SOURCE_REVISION_COLUMNS = [
    "table",
    "period",
    "first_month",
    "cell",
    *REVISION_COLUMNS,
    "previous_period_total",
    "period_total",
]


def tally(frame: pd.DataFrame, spec: Republished) -> pd.DataFrame:
    """A republished table's counts per period and cell, ready for :func:`compare_vintages`.

    Returns
    -------
    pandas.DataFrame
        ``period`` (``YYYY-MM``, ``YYYY`` or ``YYYY/YY Qn``), ``first_month`` (the
        period's first month, ``YYYY-MM``), the cell columns as text (a missing value is
        empty), ``count`` (int64) and ``source_file`` (the first file of the cell).

    Examples
    --------
    Synthetic searches (one row each):

    >>> spec = Republished("stop_search", ("borough_name",), None, "month", "searches", "")
    >>> rows = pd.DataFrame({"month": pd.to_datetime(["2017-01-01"] * 3 + ["2017-02-01"]),
    ...     "borough_name": ["Camden", "Camden", "Brent", "Camden"], "source_file": "a.csv"})
    >>> tally(rows, spec)
        period first_month borough_name  count source_file
    0  2017-01     2017-01        Brent      1       a.csv
    1  2017-01     2017-01       Camden      2       a.csv
    2  2017-02     2017-02       Camden      1       a.csv
    """
    out = pd.DataFrame(index=frame.index)
    if spec.period == "month":
        months = pd.PeriodIndex(pd.to_datetime(frame["month"]), freq="M").astype(str)
        out["period"] = months
        out["first_month"] = months
    elif spec.period == "year":
        out["period"] = frame["year"].astype("int64").astype(str)
        out["first_month"] = out["period"] + "-01"
    else:
        start = frame["financial_year"].astype(str).str[:4].astype("int64")
        month = 4 + 3 * (frame["quarter"].astype("int64") - 1)
        year = start + (month > 12)
        month = (month - 1) % 12 + 1
        out["period"] = frame["financial_year"].astype(str) + " Q" + frame["quarter"].astype(str)
        out["first_month"] = year.astype(str) + "-" + month.astype(str).str.zfill(2)
    for column in spec.cells:
        out[column] = frame[column].astype("string").fillna("").astype(str)
    out["count"] = frame[spec.count].astype("float64") if spec.count else 1.0
    out["source_file"] = frame["source_file"].astype(str) if spec.source_file else spec.table
    keys = ["period", "first_month", *spec.cells]
    grouped = out.groupby(keys, sort=True, dropna=False)
    tallied = grouped.agg(count=("count", "sum"), source_file=("source_file", "first"))
    tallied["count"] = tallied["count"].round().astype("int64")
    return tallied.reset_index()


def compare_republished(
    previous: pd.DataFrame, current: pd.DataFrame, spec: Republished
) -> pd.DataFrame:
    """The cells of a republished table that changed since the previous build.

    Compared over the periods both builds supply, as :func:`compare_vintages` does.

    Returns
    -------
    pandas.DataFrame
        :data:`SOURCE_REVISION_COLUMNS`: ``cell`` names the cell as ``column: value``
        pairs; ``previous_period_total`` and ``period_total`` are the period's whole
        total (every cell) in the previous build and now.

    Examples
    --------
    Synthetic homicide victims: a victim of January 2019 moved from Camden to Brent and
    one added in February:

    >>> spec = Republished("homicide_victims", ("borough_name",), "victims", "month", "victims", "")
    >>> before = pd.DataFrame({"month": pd.to_datetime(["2019-01-01", "2019-01-01",
    ...     "2019-02-01"]), "borough_name": ["Camden", "Brent", "Camden"], "victims": 1,
    ...     "source_file": "v1.csv"})
    >>> after = before.assign(borough_name=["Brent", "Brent", "Camden"], source_file="v2.csv")
    >>> after = pd.concat([after, after.tail(1)])
    >>> out = compare_republished(before, after, spec)
    >>> out[["period", "cell", "previous_count", "count"]]
        period                  cell  previous_count  count
    0  2019-01   borough_name: Brent               1      2
    1  2019-01  borough_name: Camden               1      0
    2  2019-02  borough_name: Camden               1      2
    >>> out["kind"].tolist(), out["previous_period_total"].tolist(), out["period_total"].tolist()
    (['revised', 'withdrawn', 'revised'], [2, 2, 1], [2, 2, 2])
    """
    # Only the periods whose rows differ are tallied: a fingerprint of each period's rows
    # (the sum of the rows' hashes, blind to their order) is cheap even for the ward
    # table's 1.9 million rows; tallying every cell as text is not.
    at_before, at_now = period_of(previous, spec), period_of(current, spec)
    prints = [_fingerprints(f, spec, at) for f, at in ((previous, at_before), (current, at_now))]
    shared = prints[0].index.intersection(prints[1].index)
    differ = shared[prints[0][shared].to_numpy() != prints[1][shared].to_numpy()]
    if not len(differ):
        return pd.DataFrame(columns=SOURCE_REVISION_COLUMNS)
    previous = previous[at_before.isin(differ).to_numpy()]
    current = current[at_now.isin(differ).to_numpy()]
    before, now = tally(previous, spec), tally(current, spec)
    keys = ["period", "first_month", *spec.cells]
    changed = compare_vintages(before, now, keys, period=("period",))
    if changed.empty:
        return pd.DataFrame(columns=SOURCE_REVISION_COLUMNS)
    totals = [t.groupby("period")["count"].sum() for t in (before, now)]
    changed["previous_period_total"] = changed["period"].map(totals[0]).astype("int64")
    changed["period_total"] = changed["period"].map(totals[1]).astype("int64")
    changed["table"] = spec.table
    cells = changed[list(spec.cells)]
    changed["cell"] = [
        "; ".join(
            f"{column}: {value}"
            for column, value in zip(spec.cells, row, strict=True)
            if value != ""
        )
        for row in cells.itertuples(index=False)
    ]
    return changed[SOURCE_REVISION_COLUMNS].reset_index(drop=True)


def period_of(frame: pd.DataFrame, spec: Republished) -> pd.Series:
    """Each row's period as stored (month, year, or financial year and quarter).

    Examples
    --------
    >>> spec = Republished("force_crime", (), "count", "financial_quarter", "crimes", "")
    >>> period_of(pd.DataFrame({"financial_year": ["2019/20"], "quarter": [2]}), spec).tolist()
    ['2019/20 Q2']
    """
    if spec.period in ("month", "year"):
        return frame[spec.period]
    return frame["financial_year"].astype(str) + " Q" + frame["quarter"].astype(str)


def _fingerprints(frame: pd.DataFrame, spec: Republished, at: pd.Series) -> pd.Series:
    """A fingerprint per period of the compared columns' rows, whatever their order."""
    columns = [c for c in spec.columns if c != "source_file"]
    hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    codes, uniques = pd.factorize(at, sort=True, use_na_sentinel=False)
    sums = np.zeros(len(uniques), dtype="uint64")
    np.add.at(sums, codes, hashes)  # wraps modulo 2**64, as intended
    counts = np.bincount(codes, minlength=len(uniques)).astype("uint64")
    return pd.Series(sums ^ counts, index=pd.Index(uniques))


def describe_revisions(changed: pd.DataFrame, spec: Republished) -> str:
    """The build log's line for a republished table's revisions.

    Examples
    --------
    >>> rows = pd.DataFrame({"period": ["2019-01", "2019-02"], "difference": [1, -3]})
    >>> spec = Republished("homicide_victims", ("borough_name",), "victims", "month", "victims", "")
    >>> describe_revisions(rows, spec)
    'homicide_victims: this build revises 2 cell(s) of the previous build, 2019-01 to 2019-02 (2 periods; net change -2 victims). See table source_revisions.'
    """
    periods = changed["period"]
    count = periods.nunique()
    return (
        f"{spec.table}: this build revises {len(changed):,} cell(s) of the previous build, "
        f"{periods.min()} to {periods.max()} ({count:,} period{'s' if count != 1 else ''}; net change "
        f"{int(changed['difference'].sum()):+,} {spec.unit}). See table source_revisions."
    )
