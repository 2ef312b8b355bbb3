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

import numpy as np
import pandas as pd

from mpsanalysis.errors import DataValidationError

__all__ = ["REVISION_COLUMNS", "MAX_MONTH_FALL", "compare_vintages", "check_losses"]

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
