"""Statistical disclosure control for published tables: small counts and record-level data.

Reports go to committees and are published, so a breakdown by a small area (a ward) or
a small group must not let a reader learn about an identifiable person or incident.
Two safeguards live here:

* :func:`suppress_small_counts` replaces counts from 1 to ``threshold - 1`` by the GSS
  symbol ``[c]`` (confidential) and then suppresses further cells where a published
  total would let a reader work a suppressed count back out (secondary suppression);
* :func:`check_no_record_level` refuses a table that still carries a crime or person
  identifier, i.e. one row per record rather than a count.

:func:`protect_ward_table` puts both together for the ward breakdown of a report.

The threshold is 10 unless the environment variable ``MPSANALYSIS_SDC_THRESHOLD`` says
otherwise (read at each call, so a run can set it), and any call can pass its own.

Sources
-------
* Government Analysis Function, "Symbols in tables: definitions and help":
  https://analysisfunction.civilservice.gov.uk/policy-store/symbols-in-tables-definitions-and-help/
  (``[c]`` confidential information, ``[x]`` not available, ``[z]`` not applicable).
* ONS, "Comparison of post-tabular statistical disclosure control methods" (the "10-5
  rule": counts below 10 suppressed):
  https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/populationestimates/methodologies/comparisonofposttabularstatisticaldisclosurecontrolmethods
* ONS / GSS disclosure control guidance for tables produced from administrative
  sources: a suppressed cell must not be derivable from the other cells and published
  totals, so suppression is applied row-wise and column-wise (secondary suppression).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mpsanalysis.errors import MpsAnalysisError, ParameterError

__all__ = [
    "DEFAULT_THRESHOLD",
    "SUPPRESSED",
    "THRESHOLD_ENV",
    "DisclosureError",
    "default_threshold",
    "find_cells_to_suppress",
    "find_derivable_cells",
    "suppress_small_counts",
    "check_no_record_level",
    "protect_ward_table",
]

#: Counts from 1 to ``DEFAULT_THRESHOLD - 1`` are suppressed unless configured otherwise.
DEFAULT_THRESHOLD = 10
#: Environment variable that overrides :data:`DEFAULT_THRESHOLD` for a run.
THRESHOLD_ENV = "MPSANALYSIS_SDC_THRESHOLD"
#: The GSS symbol for a value withheld to protect confidentiality.
SUPPRESSED = "[c]"


class DisclosureError(MpsAnalysisError, ValueError):
    """A table would disclose record-level data and must not be published."""


def default_threshold() -> int:
    """The suppression threshold: ``MPSANALYSIS_SDC_THRESHOLD`` if set, else 10.

    Raises
    ------
    ParameterError
        The variable is not a whole number of at least 2 (a threshold of 1 would
        suppress nothing, which a published report must never do by accident).

    Examples
    --------
    >>> import os
    >>> os.environ.pop("MPSANALYSIS_SDC_THRESHOLD", None) and None
    >>> default_threshold()
    10
    """
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    if not raw:
        return DEFAULT_THRESHOLD
    return _check_threshold(raw, THRESHOLD_ENV)


def _check_threshold(value, name: str = "threshold") -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ParameterError(
            f"{name} {value!r} is not a whole number: expected e.g. 10 (counts below it "
            "are suppressed)"
        ) from None
    if number < 2:
        raise ParameterError(
            f"{name} {number} is below 2: counts from 1 to threshold - 1 are suppressed, "
            "so the smallest useful threshold is 2"
        )
    return number


def _validate_counts(table: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The counts of ``columns`` as an integer array, or a ParameterError naming the cell."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError(
            f"column {missing[0]!r} is not in the table (columns: "
            f"{', '.join(map(str, table.columns))})"
        )
    values = np.empty((len(table), len(columns)), dtype=np.int64)
    for j, column in enumerate(columns):
        series = pd.to_numeric(table[column], errors="coerce")
        for i, (label, raw, number) in enumerate(
            zip(table.index, table[column], series, strict=True)
        ):
            if pd.isna(number) or number < 0 or number != int(number):
                raise ParameterError(
                    f"row {label!r}, column {column!r}: {raw!r} is not a count (a whole "
                    "number, 0 or more); disclosure control works on counts only"
                )
            values[i, j] = int(number)
    return values


def _derivable_cells(lines, withheld: np.ndarray, values: np.ndarray) -> list[tuple[int, int]]:
    """Withheld entries whose value a reader can pin down from the published figures.

    The unknowns are the withheld entries, each a count (0 or more); every line is the
    equation "its counts add up to its total", with the published entries moved to the
    right-hand side. For each unknown, linear programming (scipy's HiGHS) finds the
    smallest and largest value the equations and ``>= 0`` allow; when they are less
    than 1 apart the count is known. This catches a cell fixed by several lines
    together, and one fixed by a zero bound (e.g. withheld zeros in a row that must add
    up to nothing), which counting withheld cells per line cannot see.
    """
    unknowns = [(int(r), int(c)) for r, c in zip(*np.nonzero(withheld), strict=True)]
    if not unknowns or not lines:
        return []
    from scipy.optimize import linprog

    position = {c: k for k, c in enumerate(unknowns)}
    matrix = np.zeros((len(lines), len(unknowns)))
    rhs = np.zeros(len(lines))
    for row, (cells, total) in enumerate(lines):
        known = 0
        for cell in cells:
            if cell in position:
                matrix[row, position[cell]] = 1.0
            else:
                known += int(values[cell])
        if total in position:
            matrix[row, position[total]] = -1.0
            rhs[row] = -known
        else:
            rhs[row] = int(values[total]) - known
    used = np.any(matrix != 0, axis=1)
    matrix, rhs = matrix[used], rhs[used]
    found: list[tuple[int, int]] = []
    for cell, k in position.items():
        if not matrix[:, k].any():
            continue  # in no published equation: nothing bounds it
        objective = np.zeros(len(unknowns))
        objective[k] = 1.0
        low = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
        if low.status != 0:  # pragma: no cover - the true counts always satisfy the lines
            raise DisclosureError(f"the table's totals are inconsistent ({low.message})")
        if high.status == 0 and -high.fun - low.fun < 1 - 1e-9:
            found.append(cell)
    return found


def _structure(table, columns, total_row, total_column, subtotal_rows=None):
    """Validate a table with its totals; return the counts (rows x (columns + total
    column)), those column names and the lines: (cells added up, cell of their total).
    ``subtotal_rows`` maps a row label to the rows it adds up (a published subtotal,
    e.g. victims under 25): not a row of its own in the totals, and a line per column."""
    subtotal_rows = dict(subtotal_rows or {})
    for label, parts in subtotal_rows.items():
        missing = [r for r in [label, *parts] if r not in table.index]
        if missing:
            raise ParameterError(f"subtotal_rows: {missing[0]!r} is not a row label of the table")
    columns = list(columns)
    if total_column is not None and total_column in columns:
        raise ParameterError(
            f"total_column {total_column!r} is also in columns: list only the counts it "
            "totals in columns"
        )
    if len(set(columns)) != len(columns):
        raise ParameterError("columns lists a column twice")
    if total_row is not None and total_row not in table.index:
        raise ParameterError(f"total_row {total_row!r} is not a row label of the table")
    if table.index.has_duplicates:
        raise ParameterError("row labels (the index) must be unique")
    all_columns = columns + ([total_column] if total_column is not None else [])
    values = _validate_counts(table, all_columns)
    n_rows, n_cols = values.shape
    inner_cols = list(range(len(columns)))
    total_j = len(columns) if total_column is not None else None
    total_i = table.index.get_loc(total_row) if total_row is not None else None
    sub_i = {table.index.get_loc(label): [table.index.get_loc(r) for r in parts]
             for label, parts in subtotal_rows.items()}  # fmt: skip
    inner_rows = [i for i in range(n_rows) if i != total_i and i not in sub_i]

    if total_j is not None:
        for i in inner_rows + ([total_i] if total_i is not None else []):
            if values[i, inner_cols].sum() != values[i, total_j]:
                raise ParameterError(
                    f"row {table.index[i]!r}: total_column {total_column!r} is "
                    f"{values[i, total_j]} but the counts add up to "
                    f"{values[i, inner_cols].sum()}"
                )
    if total_i is not None:
        for j in range(n_cols):
            if values[inner_rows, j].sum() != values[total_i, j]:
                raise ParameterError(
                    f"column {all_columns[j]!r}: total_row {total_row!r} is "
                    f"{values[total_i, j]} but the rows add up to {values[inner_rows, j].sum()}"
                )

    # Each line is an equation: (the cells it adds up, the cell holding its total).
    lines: list[tuple[list[tuple[int, int]], tuple[int, int]]] = []
    if total_j is not None:
        lines += [([(i, j) for j in inner_cols], (i, total_j)) for i in inner_rows]
    if total_i is not None:
        lines += [([(i, j) for i in inner_rows], (total_i, j)) for j in inner_cols]
    if total_i is not None and total_j is not None:
        lines.append(([(total_i, j) for j in inner_cols], (total_i, total_j)))
        lines.append(([(i, total_j) for i in inner_rows], (total_i, total_j)))
    for label_i, part_rows in sub_i.items():
        for j in range(n_cols):
            if values[part_rows, j].sum() != values[label_i, j]:
                raise ParameterError(
                    f"column {all_columns[j]!r}: subtotal row {table.index[label_i]!r} is "
                    f"{values[label_i, j]} but its rows add up to {values[part_rows, j].sum()}"
                )
            lines.append(([(i, j) for i in part_rows], (label_i, j)))
        if total_j is not None:
            lines.append(([(label_i, j) for j in inner_cols], (label_i, total_j)))

    return values, all_columns, lines


def find_cells_to_suppress(
    table: pd.DataFrame,
    columns: list[str],
    threshold: int | None = None,
    total_row: str | None = None,
    total_column: str | None = None,
    suppress_zeros: bool = False,
    total_row_published: bool = False,
    subtotal_rows: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Which cells to withhold: primary (small counts) and secondary suppression.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows labelled by the index (e.g. wards); ``columns`` hold counts.
    columns : list of str
        The count columns to protect, not including ``total_column``.
    threshold : int, optional
        Counts from 1 to ``threshold - 1`` are suppressed; default
        :func:`default_threshold` (10, or ``MPSANALYSIS_SDC_THRESHOLD``).
    total_row : str, optional
        Index label of a published row of column totals.
    total_column : str, optional
        Name of a published column of row totals.
    suppress_zeros : bool
        Also suppress zeros (see Notes). Default False.
    total_row_published : bool
        The ``total_row``'s counts are published elsewhere, whole (e.g. victims per year
        in another table of the report): they are never withheld, and a column whose
        total is under the threshold is withheld whole, since any breakdown of so few
        would give its members away; a count the published totals alone pin down (all
        zeros in a column whose total is 0, or outside a subtotal equal to its column's
        total) is public already and shown. Needs ``total_row``.
    subtotal_rows : dict, optional
        Rows of the table that are published subtotals of other rows, published
        elsewhere whole like the total row (e.g. ``{"Under 25": ["0 to 12", "13 to 19",
        "20 to 24"]}``): each is an equation per column, never withheld. Needs
        ``total_row_published``.

    Returns
    -------
    pandas.DataFrame
        Booleans, True where the cell is withheld, with the table's index and the
        columns ``columns`` (+ ``total_column``).

    Notes
    -----
    *Primary suppression.* Every count ``c`` with ``1 <= c < threshold`` (and ``c == 0``
    when ``suppress_zeros``), totals included.

    *Secondary suppression.* A published total makes its line (a row with its row
    total, a column with its column total, and the totals row and totals column with
    the grand total) an equation, so a line is unsafe when

    * exactly one of its entries is withheld: it equals the total minus the others; or
    * its total is shown and the withheld counts add up to less than ``threshold``:
      that sum (total minus the shown counts) is itself a small count (or zero, which
      would give every withheld count away).

    While any line is unsafe, take the first (rows in table order, then columns, then
    the totals row and the totals column) and also withhold the next smallest non-zero
    count still shown in it, preferring one whose crossing line (its column, for a row)
    is itself unsafe, so that one cell protects both lines (the classic 2 x 2 pattern
    rather than a cascade across the table). When no non-zero count is left, the line's
    total is withheld instead; a zero only when the total is withheld already
    (withholding a zero protects little: the withheld pair would add up to the small
    count, and a zero in a column whose total is 0 is known anyway). Each step
    withholds one more cell, so this stops. Lines without a published total are not equations and
    need no secondary suppression.

    *Audit.* Two withheld cells per line is not always enough: a withheld cell can
    still follow from several lines together (a "bridge" between two groups of withheld
    cells), or from the fact that counts are never negative (withheld zeros in a line
    that must add up to nothing). So the published figures are finally solved as a
    linear programme (:func:`find_derivable_cells`): any withheld cell whose smallest and
    largest possible values are less than 1 apart gets one more cell withheld in its
    lines (same choice as above), and the rules run again.

    *Zeros.* Shown by default: a count of zero recorded crimes identifies nobody and the
    absence of crime is itself a finding a committee needs. For tables of people (e.g.
    victims by age and sex) a zero can disclose something about everyone else in the
    row (that all of them fall in the other categories: "group disclosure"); use
    ``suppress_zeros=True`` there.

    Totals must equal the sum of the counts they total (the table is checked): a total
    that also counts categories not shown would make the equations above wrong. Add an
    "Other" column instead.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [3, 20], "b": [40, 50]}, index=["x", "y"])
    >>> find_cells_to_suppress(t, ["a", "b"]).to_dict("list")
    {'a': [True, False], 'b': [False, False]}
    """
    limit = default_threshold() if threshold is None else _check_threshold(threshold)
    if total_row_published and total_row is None:
        raise ParameterError("total_row_published needs total_row: the row of published totals")
    if subtotal_rows and not total_row_published:
        raise ParameterError("subtotal_rows needs total_row_published: they are published")
    values, all_columns, lines = _structure(table, columns, total_row, total_column, subtotal_rows)

    withheld = (values >= 1) & (values < limit)
    if suppress_zeros:
        withheld |= values == 0
    fixed = np.zeros_like(withheld)  # published elsewhere: never withheld
    if total_row_published:
        total_i = table.index.get_loc(total_row)
        fixed[total_i, :] = True
        for label in subtotal_rows or {}:
            fixed[table.index.get_loc(label), :] = True
        inner = [i for i in range(len(table)) if not fixed[i, 0]]
        for j in range(len(columns)):
            if values[total_i, j] < limit:  # a breakdown of so few is not shown
                withheld[inner, j] = True
        if total_column is not None and values[total_i, len(columns)] < limit:
            withheld[inner, :] = True
        # What the published totals alone pin down is public already, and shown: a year
        # with no victims (every entry 0), a subtotal of 0 (its rows 0 that year), and a
        # subtotal equal to the year's total (every other row 0: one victim, under 25).
        for j in range(values.shape[1]):
            if values[total_i, j] == 0:
                fixed[inner, j] = True
        for label, parts in (subtotal_rows or {}).items():
            at, rows = table.index.get_loc(label), [table.index.get_loc(r) for r in parts]
            others = [i for i in inner if i not in rows]
            for j in range(values.shape[1]):
                if values[at, j] == 0:
                    fixed[rows, j] = True
                if values[at, j] == values[total_i, j]:
                    fixed[others, j] = True
        withheld &= ~fixed
        if withheld[inner].sum() + fixed[inner].sum() == len(inner) * values.shape[1]:
            # every count is withheld or public: no line can tell more than the
            # published totals (the usual borough, with fewer than 10 victims a year)
            return pd.DataFrame(withheld, index=table.index, columns=all_columns)

    def needs_protection(line) -> bool:
        cells, total = line
        hidden = [c for c in cells if withheld[c]]
        if len(hidden) + bool(withheld[total]) == 1:
            return True  # the one withheld entry = total - the others
        if withheld[total] or not hidden:
            return False
        if all(withheld[c] or fixed[c] for c in cells):
            # all withheld (or known from published totals): the line tells only what
            # its total and those published figures already say
            return False
        combined = sum(int(values[c]) for c in hidden)
        return combined < limit  # the withheld counts' sum is published, and small

    lines_of: dict[tuple[int, int], list[int]] = {}
    for number, (cells, total) in enumerate(lines):
        for cell in [*cells, total]:
            lines_of.setdefault(cell, []).append(number)

    def protect(number: int) -> bool:
        """Withhold one more entry of line ``number`` (see Notes for the choice);
        False when every entry of the line is withheld already."""
        cells, total = lines[number]
        shown = [c for c in cells if not withheld[c] and not fixed[c]]
        pool = [c for c in shown if values[c] > 0]
        if not pool and not withheld[total] and not fixed[total]:
            withheld[total] = True
            return True
        pool = pool or shown
        if not pool:
            return False

        def preference(cell):
            crossing = [n for n in lines_of[cell] if n != number]
            pairs = any(needs_protection(lines[n]) for n in crossing)
            return (not pairs, values[cell], cell)

        withheld[min(pool, key=preference)] = True
        return True

    while True:
        pending = [n for n, line in enumerate(lines) if needs_protection(line)]
        if pending:
            if not protect(pending[0]):  # pragma: no cover - a line always has a shown entry
                raise DisclosureError("secondary suppression found no cell to withhold")
            continue
        derivable = _derivable_cells(lines, withheld, values)
        if not derivable:
            break
        if not any(protect(n) for n in lines_of[derivable[0]]):
            raise DisclosureError(  # pragma: no cover - every entry of its lines is withheld
                f"cannot protect row {table.index[derivable[0][0]]!r}, column "
                f"{all_columns[derivable[0][1]]!r}: publish the table without totals"
            )
    return pd.DataFrame(withheld, index=table.index, columns=all_columns)


def find_derivable_cells(
    table: pd.DataFrame,
    withheld: pd.DataFrame,
    columns: list[str],
    total_row: str | None = None,
    total_column: str | None = None,
    subtotal_rows: dict[str, list[str]] | None = None,
) -> list[tuple]:
    """Withheld cells that a reader can work out exactly from the published figures.

    An audit for any suppressed table (e.g. one prepared by hand): for each withheld
    cell, the smallest and largest values consistent with every published figure (rows
    and columns add up to their totals, counts are 0 or more) are found by linear
    programming; a cell whose range is narrower than 1 is disclosed.

    Parameters
    ----------
    table : pandas.DataFrame
        The true counts, with their totals.
    withheld : pandas.DataFrame
        True where a cell is withheld; the index of ``table`` and the columns
        ``columns`` (+ ``total_column``).
    columns, total_row, total_column, subtotal_rows
        As for :func:`find_cells_to_suppress`.

    Returns
    -------
    list of (row label, column name)
        Empty when every withheld cell is safe from exact recovery.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [3, 20, 23], "b": [40, 50, 90]}, index=["x", "y", "T"])
    >>> hidden = pd.DataFrame({"a": [True, False, False], "b": [False] * 3}, index=t.index)
    >>> find_derivable_cells(t, hidden, ["a", "b"], total_row="T")
    [('x', 'a')]
    """
    values, all_columns, lines = _structure(table, columns, total_row, total_column, subtotal_rows)
    mask = withheld.reindex(index=table.index, columns=all_columns).fillna(False)
    found = _derivable_cells(lines, mask.to_numpy(dtype=bool), values)
    return [(table.index[i], all_columns[j]) for i, j in found]


def suppress_small_counts(
    table: pd.DataFrame,
    columns: list[str],
    threshold: int | None = None,
    total_row: str | None = None,
    total_column: str | None = None,
    suppress_zeros: bool = False,
    total_row_published: bool = False,
    subtotal_rows: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """A display table: counts as text with thousands separators, withheld ones "[c]".

    Applies :func:`find_cells_to_suppress` (primary suppression of counts from 1 to
    ``threshold - 1``, then secondary suppression wherever a published total would let
    a reader work a withheld count out). Other columns are left as they are.

    Parameters
    ----------
    table, columns, threshold, total_row, total_column, suppress_zeros
        As for :func:`find_cells_to_suppress`.
    total_row_published, subtotal_rows
        As for :func:`find_cells_to_suppress`. ``threshold`` defaults to
        :func:`default_threshold`: 10, or ``MPSANALYSIS_SDC_THRESHOLD``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` in which ``columns`` and ``total_column`` hold strings.

    Examples
    --------
    A row with one small count and a published total: the 3 is withheld, and so is
    the smallest other count in its row (12), which would otherwise give 3 = 65 - 12 - 50.

    >>> t = pd.DataFrame({"Robbery": [3, 40], "Burglary": [12, 25],
    ...                   "Theft": [50, 61], "Total": [65, 126]}, index=["Ward A", "Ward B"])
    >>> suppress_small_counts(t, ["Robbery", "Burglary", "Theft"], total_column="Total")
           Robbery Burglary Theft Total
    Ward A     [c]      [c]    50    65
    Ward B      40       25    61   126
    """
    mask = find_cells_to_suppress(
        table,
        columns,
        threshold,
        total_row,
        total_column,
        suppress_zeros,
        total_row_published,
        subtotal_rows,
    )
    out = table.copy()
    for column in mask.columns:
        counts = pd.to_numeric(table[column]).astype("int64")
        text = [
            SUPPRESSED if hidden else f"{int(v):,}"
            for v, hidden in zip(counts, mask[column], strict=True)
        ]
        out[column] = pd.Series(text, index=table.index, dtype=object)
    return out


# Names of columns that identify one crime or one person: a table that has one is
# record-level data, not a statistic.
_ID_ENTITIES = {
    "crime",
    "person",
    "persistent",
    "victim",
    "suspect",
    "offender",
    "nominal",
    "record",
    "incident",
    "occurrence",
    "case",
    "custody",
    "arrest",
    "stop",
    "search",
    "cad",
    "pnc",
    "warrant",
    "individual",
    "subject",
    "accused",
    "witness",
    "defendant",
    "cris",
    "athena",
    "niche",
    "patient",
    "user",
    "row",
    "unique",
}
_ID_SUFFIXES = {"id", "ids", "identifier", "ref", "reference", "number", "no", "num", "urn", "key"}
_ID_EXACT = {
    "id",
    "uid",
    "uuid",
    "urn",
    "crn",
    "pncid",
    "pnc",
    "crimeref",
    "crimeid",
    "persistentid",
    "nhsnumber",
    "nino",
    "name",
    "fullname",
    "surname",
    "forename",
    "firstname",
    "lastname",
    "dateofbirth",
    "dob",
    "birthdate",
}


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def _is_identifier(name) -> bool:
    tokens = _tokens(name)
    if not tokens:
        return False
    if "".join(tokens) in _ID_EXACT:
        return True
    return (
        len(tokens) >= 2
        and tokens[-1] in _ID_SUFFIXES
        and any(t in _ID_ENTITIES for t in tokens[:-1])
    )


def check_no_record_level(table: pd.DataFrame, what: str = "table") -> None:
    """Refuse a table that carries a crime or person identifier (record-level data).

    A published breakdown must hold counts, never one row per crime or per person. A
    column (or index level) named like an identifier - ``Crime ID``, ``id``,
    ``Persistent ID``, ``victim_ref``, ``PNC number``, ``name``, ``date of birth`` - is
    taken as proof the table is still record-level. Area codes (``ward_code``,
    ``LSOA code``) are not identifiers.

    Raises
    ------
    DisclosureError
        Naming the column.

    Examples
    --------
    >>> check_no_record_level(pd.DataFrame({"ward_code": ["E05000026"], "count": [12]}))
    >>> check_no_record_level(pd.DataFrame({"Crime ID": ["a1"], "Month": ["2019-01"]}),
    ...                       "ward breakdown")
    Traceback (most recent call last):
    ...
    mpsanalysis.stats.disclosure.DisclosureError: ward breakdown has a column 'Crime ID' that identifies individual crimes or people: publish counts, not records
    """
    names = list(table.columns) + [n for n in table.index.names if n is not None]
    for name in names:
        if _is_identifier(name):
            raise DisclosureError(
                f"{what} has a column {str(name)!r} that identifies individual crimes or "
                "people: publish counts, not records"
            )


def _unused(name: str, taken) -> str:
    """``name``, or ``name`` with trailing spaces until it is not already taken."""
    while name in set(map(str, taken)):
        name += " "
    return name


def protect_ward_table(
    counts: pd.DataFrame,
    threshold: int | None = None,
    totals: bool = True,
) -> pd.DataFrame:
    """A ward table with small counts withheld as "[c]", ready to show.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per ward. Text columns (e.g. ``Ward``, ``Code``) label the rows; the
        first of them (or the index, if there is none) becomes the row header. Every
        numeric column is a count (e.g. one per crime category or per month).
    threshold : int, optional
        Default :func:`default_threshold`.
    totals : bool
        Add a "Total" row (all wards) and, with two or more count columns, a "Total"
        column, and protect them. Default True: a ward table sits beside borough totals
        published elsewhere in the report, so a lone withheld ward would otherwise be
        recoverable by subtraction; with the totals in the table, secondary suppression
        makes sure it is not.

    Returns
    -------
    pandas.DataFrame
        The rows to show, indexed by the row label, cells as text ("[c]" withheld).
        ``attrs`` holds ``labels`` (text columns), ``value_columns`` (count columns,
        with the total column), ``row_label`` and ``threshold``.

    Raises
    ------
    DisclosureError
        The table carries a crime or person identifier.
    ParameterError
        No count column, or a count that is not a whole number >= 0.

    Examples
    --------
    >>> wards = pd.DataFrame({"Ward": ["Abbey", "Brunswick"], "Robbery": [4, 30]})
    >>> protect_ward_table(wards, totals=False)["Robbery"].tolist()
    ['[c]', '30']
    """
    check_no_record_level(counts, "the ward table")
    limit = default_threshold() if threshold is None else _check_threshold(threshold)
    frame = counts.copy()
    numeric = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    labels = [c for c in frame.columns if c not in numeric]
    if not numeric:
        raise ParameterError("the ward table has no count column (numeric columns)")
    if labels:
        row_label = labels[0]
        frame.index = frame[row_label].astype(str)
    else:
        row_label = frame.index.name or "Ward"
        frame.index = frame.index.astype(str)
    total_row = total_column = None
    if totals:
        _validate_counts(frame, numeric)
        if len(numeric) >= 2:
            total_column = _unused("Total", frame.columns)
            frame[total_column] = frame[numeric].sum(axis=1)
        total_row = _unused("Total", frame.index)
        values = [c for c in frame.columns if c not in labels]
        record: dict[object, object] = {c: int(frame[c].sum()) for c in values}
        record.update({c: "" for c in labels})
        if labels:
            record[labels[0]] = "Total (all wards shown)"
        frame.loc[total_row] = pd.Series(record)
    shown = suppress_small_counts(frame, numeric, limit, total_row, total_column)
    shown.attrs.update(
        labels=labels,
        value_columns=numeric + ([total_column] if total_column else []),
        row_label=row_label,
        threshold=limit,
    )
    return shown
