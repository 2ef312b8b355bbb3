"""Holes that a damaged file leaves in the other sources' tables, found on every build.

A file cut at a line end, or with a row or a block of rows deleted, still parses: each
remaining line is valid. The borough crime files are checked against their contract
(:mod:`mpsanalysis.ingest.contract`); this module does the same for the other sources
whose tables have a shape that a lost row breaks:

* a **grid**: the table has a row for every combination of the values of its
  dimensions, e.g. every borough in every year of the population table, or every LSOA in
  every crime category and year of the LSOA table. A deleted row is a missing
  combination (:data:`GRIDS`);
* **consecutive periods**: every month (or year) between a table's first and last has
  rows, e.g. London has had at least three homicide victims in every month since 2003,
  so a month without any is a lost block of rows (:data:`CONSECUTIVE`).

A table that breaks either is refused with a :class:`~mpsanalysis.errors.DataValidationError`
naming the file and the first missing cell, before anything is written to the store.

What this cannot see: one row deleted from a file with one row per event (a homicide
victim, a search, a street-level crime) whose month keeps other rows. Those sources are
checked again against the previous build (:func:`check_republished_losses`), which
refuses a period that vanished or whose total fell by more than half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mpsanalysis.errors import DataValidationError

__all__ = [
    "Grid",
    "GRIDS",
    "CONSECUTIVE",
    "MAX_PERIOD_FALL",
    "check_tables",
    "check_grid",
    "check_consecutive",
    "check_republished_losses",
]


@dataclass(frozen=True)
class Grid:
    """A table that has a row for every combination of its dimensions' values.

    Attributes
    ----------
    table : str
        The store table.
    dimensions : tuple of tuple of str
        Each dimension is one or more columns whose distinct value combinations are its
        values (e.g. ``("force_name", "offence_code")``: the offences a force reports).
    what : str
        What a row is, in words, for the error message.
    file_by : tuple of str
        The columns whose values decide which file a row comes from (one file per
        category of the LSOA files, per financial year of the Home Office's), so that a
        missing row's file can be named; empty when the source is one file.
    """

    table: str
    dimensions: tuple[tuple[str, ...], ...]
    what: str
    file_by: tuple[str, ...] = ()


#: The grids of the other sources, each checked on the real files (every combination
#: is there in the published files).
GRIDS = (
    Grid("borough_population", (("borough_name",), ("year",)), "a borough's population in a year"),
    Grid(
        "lsoa_crime_annual",
        (("lsoa_code",), ("category_level", "major_category", "minor_category"), ("year",)),
        "an LSOA's crimes of a category in a year",
        ("category_level", "major_category", "minor_category"),
    ),
    Grid(
        "force_crime",
        (("force_name", "offence_code"), ("financial_year", "quarter")),
        "a force's count of an offence in a quarter",
        ("financial_year",),
    ),
    Grid("force_population", (("force_name",), ("year",)), "a force's population in a year"),
    Grid("lsoa_population", (("lsoa_code",), ("year",)), "an LSOA's population in a year"),
)

#: Tables whose every period between the first and the last must have rows, and the
#: period column.
CONSECUTIVE = {
    "homicide_victims": "month",
    "homicide_ppa": "month",
    "stop_search": "month",
    "policeuk_crimes": "month",
    "policeuk_outcomes": "month",
    "borough_population": "year",
    "force_population": "year",
}

#: The largest fall of a period's whole total (all cells) from the previous build that a
#: republished source's revisions may explain: revisions move a cell or two (one
#: homicide victim reclassified), never half of a month.
MAX_PERIOD_FALL = 0.5

_HOW = (
    "is the file cut short, or a row deleted? Fetch it again from the publisher; the "
    "store was not changed"
)


def _files(table: pd.DataFrame, log: dict) -> str:
    if "source_file" in table.columns and len(table):
        return ", ".join(sorted(table["source_file"].astype(str).unique()))
    return ", ".join(log.get("files", [])) or "(unknown file)"


def _label(period) -> str:
    """A period as a reader writes it: a month as ``2019-02``, anything else as is."""
    if isinstance(period, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(period).strftime("%Y-%m")
    return str(period)


def _describe(cell: dict) -> str:
    return ", ".join(f"{column} {value}" for column, value in cell.items())


def check_grid(table: pd.DataFrame, grid: Grid, log: dict | None = None) -> None:
    """Refuse a table with a missing combination of its dimensions' values.

    Raises
    ------
    DataValidationError
        Naming the file the missing row belongs in (by ``grid.file_by``; every file of
        the source when that is empty), the first missing combination and how many are
        missing.

    Examples
    --------
    Synthetic populations: Camden has no row for 2020, though both boroughs and both
    years appear elsewhere.

    >>> frame = pd.DataFrame({"borough_name": ["Brent", "Brent", "Camden"],
    ...                       "year": [2019, 2020, 2019]})
    >>> grid = Grid("borough_population", (("borough_name",), ("year",)), "a row")
    >>> check_grid(frame, grid, {"files": ["pop.csv"]})
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.DataValidationError: pop.csv: 1 row(s) of borough_population are missing (a row): the first is borough_name Camden, year 2020, though each of these values has rows elsewhere; is the file cut short, or a row deleted? Fetch it again from the publisher; the store was not changed
    """
    if table.empty:
        return
    columns = [c for dimension in grid.dimensions for c in dimension]
    codes = []
    levels = []
    for dimension in grid.dimensions:
        key = table[list(dimension)]
        code, unique = pd.factorize(
            pd.MultiIndex.from_frame(key) if len(dimension) > 1 else key.iloc[:, 0], sort=True
        )
        codes.append(code.astype("int64"))
        levels.append(unique)
    sizes = [len(level) for level in levels]
    expected = int(np.prod(sizes, dtype="int64"))
    flat = np.ravel_multi_index(codes, sizes)
    present = np.zeros(expected, dtype=bool)
    present[flat] = True
    missing = np.flatnonzero(~present)
    if not len(missing):
        return
    first = np.unravel_index(missing[0], sizes)
    cell: dict = {}
    for dimension, level, at in zip(grid.dimensions, levels, first, strict=True):
        value = level[at]
        values = value if isinstance(value, tuple) else (value,)
        cell.update(zip(dimension, values, strict=True))
    owner = np.ones(len(table), dtype=bool)  # the rows of the missing row's file
    for column in grid.file_by:
        value = cell[column]
        owner &= (table[column].isna() if pd.isna(value) else table[column] == value).to_numpy()
    named = _files(table[owner], log or {})
    raise DataValidationError(
        f"{len(missing):,} row(s) of {grid.table} are missing ({grid.what}): the first is "
        f"{_describe({c: cell[c] for c in columns})}, though each of these values has rows "
        f"elsewhere; {_HOW}",
        file=named,
    )


def _periods(values: pd.Series, column: str) -> pd.Series:
    if column == "year":
        return values.astype("int64")
    if isinstance(values.dtype, pd.PeriodDtype):
        return values
    return pd.PeriodIndex(pd.to_datetime(values), freq="M").to_series(index=values.index)


def check_consecutive(table: pd.DataFrame, name: str, column: str, log: dict | None = None) -> None:
    """Refuse a table with no rows in a period between its first and its last.

    Examples
    --------
    >>> frame = pd.DataFrame({"month": pd.to_datetime(["2019-01-01", "2019-03-01"]),
    ...                       "source_file": "victims.csv"})
    >>> check_consecutive(frame, "homicide_victims", "month")
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.DataValidationError: victims.csv: homicide_victims has no rows for 1 month(s) between its first (2019-01) and its last (2019-03): the first is 2019-02; is the file cut short, or a row deleted? Fetch it again from the publisher; the store was not changed
    """
    if table.empty:
        return
    at = _periods(table[column], column)
    seen = pd.Index(at.unique()).sort_values()
    if column == "year":
        every = pd.RangeIndex(int(seen[0]), int(seen[-1]) + 1)
    else:
        every = pd.period_range(seen[0], seen[-1], freq="M")
    gaps = every.difference(seen)
    if not len(gaps):
        return
    # The file(s) whose rows sit on either side of the first gap.
    before, after = seen[seen < gaps[0]][-1], seen[seen > gaps[0]][0]
    near = table[(at == before).to_numpy() | (at == after).to_numpy()]
    raise DataValidationError(
        f"{name} has no rows for {len(gaps):,} {column}(s) between its first ({seen[0]}) "
        f"and its last ({seen[-1]}): the first is {gaps[0]}; {_HOW}",
        file=_files(near, log or {}),
    )


def check_tables(tables: dict[str, pd.DataFrame], log: dict) -> None:
    """Check every table a source built against :data:`GRIDS` and :data:`CONSECUTIVE`.

    Raises
    ------
    DataValidationError
        At the first hole, naming the file (see :func:`check_grid`,
        :func:`check_consecutive`).
    """
    for grid in GRIDS:
        if grid.table in tables:
            check_grid(tables[grid.table], grid, log)
    for name, column in CONSECUTIVE.items():
        if name in tables:
            check_consecutive(tables[name], name, column, log)


def check_republished_losses(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    table: str,
    period: pd.Series,
    previous_period: pd.Series,
    count: str | None,
) -> None:
    """Refuse a republished table that lost a period (in the middle or at the end), or
    more than half a period's total, since the previous build.

    ``period`` and ``previous_period`` give each row's period; ``count`` is the column
    summed (None: rows are counted).

    Raises
    ------
    DataValidationError
        Naming the file that supplied the lost period before (or supplies it now).

    Examples
    --------
    >>> before = pd.DataFrame({"month": ["2019-01", "2019-02", "2019-02"], "source_file": "v1.csv"})
    >>> after = pd.DataFrame({"month": ["2019-01", "2019-03"], "source_file": "v2.csv"})
    >>> check_republished_losses(before, after, "homicide_victims", after["month"],
    ...                          before["month"], None)
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.DataValidationError: v1.csv: homicide_victims has no rows for 2019-02 any more, which the previous build had (2 rows); is the file cut short, or a row deleted? If the publisher really withdrew these figures, delete data/processed/ and build again
    """
    weights_now = current[count] if count else pd.Series(1, index=current.index)
    weights_before = previous[count] if count else pd.Series(1, index=previous.index)
    now = weights_now.groupby(period.to_numpy()).sum()
    before = weights_before.groupby(previous_period.to_numpy()).sum()
    if now.empty or before.empty:
        return
    how = (
        "is the file cut short, or a row deleted? If the publisher really withdrew these "
        "figures, delete data/processed/ and build again"
    )
    within = before
    lost = before.index.difference(now.index)
    if len(lost):
        first = lost[0]
        rows = previous[(previous_period == first).to_numpy()]
        raise DataValidationError(
            f"{table} has no rows for {_label(first)} any more, which the previous build had "
            f"({int(within[first]):,} {'rows' if count is None else count}); {how}",
            file=_files(rows, {}),
        )
    shared = within.index.intersection(now.index)
    fall = (within[shared] - now[shared]) / within[shared].where(within[shared] > 0)
    fall = fall.dropna()
    if len(fall) and fall.max() > MAX_PERIOD_FALL:
        worst = fall.idxmax()
        rows = current[(period == worst).to_numpy()]
        raise DataValidationError(
            f"{table}'s total for {_label(worst)} falls from {int(within[worst]):,} in the previous "
            f"build to {int(now[worst]):,}, more than revisions explain (at most "
            f"{MAX_PERIOD_FALL:.0%}); {how}",
            file=_files(rows, {}),
        )
