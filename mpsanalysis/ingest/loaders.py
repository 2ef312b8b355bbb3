"""Loaders for the London Datastore borough-level recorded crime files.

The MPS publishes monthly recorded crime by borough in two classifications:

``old``
    ``Borough, Major Category, Minor Category, YYYYMM, ...`` (2008-01 to 2018-12).
``new``
    ``MajorText, MinorText, LookUp_BoroughName`` (or ``BoroughName`` in the newest
    file), ``YYYYMM, ...`` (2010-04 onwards).

Both are wide (one column per month). :func:`read_borough_crime` validates one file and
returns the tidy monthly table; :func:`combine_vintages` resolves files that overlap.
The two classifications are never added together.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import boroughs
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest.contract import SERIES_START, BoroughCrimeContract, normalise_key

__all__ = [
    "TIDY_COLUMNS",
    "MAX_PLAUSIBLE_COUNT",
    "check_csv_shape",
    "detect_classification",
    "read_borough_crime",
    "combine_vintages",
    "find_missing_months",
    "canonical_category_names",
    "read_text_file",
    "record_lines",
    "name_window",
]

TIDY_COLUMNS = [
    "month",
    "borough_code",
    "borough_name",
    "classification",
    "major_category",
    "minor_category",
    "count",
    "source_file",
]

#: A borough, category and month with more crimes than this is a corrupted value, not a
#: count (the largest real value, 2008-2025, is about 4,100).
MAX_PLAUSIBLE_COUNT = 100_000

# ASCII digits only: ``\d`` would also match "１４８" (fullwidth) or Arabic-Indic digits.
_MONTH_HEADER = re.compile(r"^[0-9]{6}$")
_COUNT = re.compile(r"^[0-9]{1,15}$")
_NAME_WINDOW = re.compile(r"(?<![0-9])([0-9]{6})-([0-9]{6})(?![0-9])")
_LAYOUTS = {
    "old": {"Borough": "borough", "Major Category": "major", "Minor Category": "minor"},
    "new": {"MajorText": "major", "MinorText": "minor", "LookUp_BoroughName": "borough"},
    "new-renamed": {"MajorText": "major", "MinorText": "minor", "BoroughName": "borough"},
}


def read_text_file(path: Path) -> str:
    """A data file's text: UTF-8 (a byte-order mark tolerated), or a DataValidationError
    naming the file (empty, unreadable, or not UTF-8 with the line of the first bad byte).
    """
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataValidationError(f"cannot be read ({exc.strerror})", file=name) from exc
    if not raw.strip():
        raise DataValidationError("the file is empty", file=name)
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark is tolerated
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataValidationError(
            f"is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
            "re-save it as UTF-8 CSV",
            file=name,
            row=line,
        ) from exc


def _count_problem(value: str) -> str | None:
    """Why a count cell is not a count, or None when it is one."""
    stripped = str(value).strip()
    if _COUNT.match(stripped):
        if int(stripped) > MAX_PLAUSIBLE_COUNT:
            return f"is implausibly large (over {MAX_PLAUSIBLE_COUNT:,})"
        return None
    if stripped == "":
        return "is blank"
    if any(unicodedata.category(ch) == "Nd" and not ch.isascii() for ch in stripped):
        return "has non-ASCII digits (counts are written in the digits 0-9 only)"
    try:
        number = float(stripped.replace(",", ""))
    except ValueError:
        return "is not a number"
    if not np.isfinite(number):
        return "is not a number"
    if number < 0:
        return "is negative"
    if number % 1 != 0:
        return "is not a whole number"
    return "is not a whole number written in digits (e.g. 1234)"


def _parse_counts(cells: pd.DataFrame, file: str) -> np.ndarray:
    """The count cells as an int64 array, or a DataValidationError at the first bad cell.

    A count is written in digits only: the publisher never writes ``12.0``, ``1e3`` or
    ``1,234``, so such a cell means the file went through a spreadsheet and is refused.
    """
    text = cells.to_numpy(dtype=object)
    flat = pd.Series(text.reshape(-1), dtype=object).str.strip()
    if flat.str.fullmatch(_COUNT.pattern).all():
        numeric = flat.astype(np.int64).to_numpy().reshape(text.shape)
        if not (numeric > MAX_PLAUSIBLE_COUNT).any():
            return numeric
    # Slow path: find and describe the first bad cell.
    for i, row in enumerate(text):
        for j, value in enumerate(row):
            problem = _count_problem(value)
            if problem:
                raise DataValidationError(
                    f"count {value!r} {problem}",
                    file=file,
                    row=int(cells.index[i]),
                    column=str(cells.columns[j]),
                )
    raise AssertionError("unreachable: a bad cell was detected but not located")


def check_csv_shape(text: str, file: str) -> list[str]:
    """Check that a CSV is rectangular and its header well formed; return the header.

    Every line must have as many fields as the header; no header may be blank or
    repeated; no line may be blank except at the very end (trailing blank lines are
    tolerated). A short last line is reported as a truncated file.

    Parameters
    ----------
    text : str
        The file's text.
    file : str
        File name for error messages.

    Returns
    -------
    list of str
        The header names, stripped of surrounding spaces.

    Raises
    ------
    DataValidationError
        Naming the file, the line and (for a header problem) the column.

    Examples
    --------
    >>> check_csv_shape("a,b\\n1,2\\n", "x.csv")
    ['a', 'b']
    >>> check_csv_shape("a,a\\n1,2\\n", "x.csv")
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.DataValidationError: x.csv, line 1, column 'a': column 'a' appears twice in the header
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise DataValidationError("the first line (the header) is blank", file=file, row=1)
        header = [h.strip() for h in header]
        seen: set[str] = set()
        for position, name in enumerate(header, start=1):
            if name == "":
                raise DataValidationError(
                    f"the header of column {position} is blank", file=file, row=1
                )
            if name in seen:
                raise DataValidationError(
                    f"column {name!r} appears twice in the header",
                    file=file,
                    row=1,
                    column=name,
                )
            seen.add(name)
        blank_line = None
        previous_line = 1
        for record in reader:
            line = previous_line + 1  # the first physical line of this record
            previous_line = reader.line_num
            if not record:
                blank_line = blank_line or line
                continue
            if blank_line is not None:
                raise DataValidationError(
                    "is blank (blank lines are allowed only at the end of the file)",
                    file=file,
                    row=blank_line,
                )
            if len(record) != len(header):
                last = reader.line_num == text.rstrip("\r\n").count("\n") + 1
                hint = (
                    ": the last line is cut short (is the file truncated?)"
                    if last and len(record) < len(header)
                    else ""
                )
                raise DataValidationError(
                    f"has {len(record)} field(s) but the header has {len(header)}{hint}",
                    file=file,
                    row=line,
                )
    except csv.Error as exc:
        raise DataValidationError(
            f"is not a well-formed CSV ({exc})", file=file, row=reader.line_num
        ) from exc
    return header


def detect_classification(columns: list[str], file: str = "") -> tuple[str, dict[str, str]]:
    """Which classification a header belongs to, and how its columns map to roles.

    Parameters
    ----------
    columns : list of str
        The header.
    file : str
        File name for error messages.

    Returns
    -------
    (str, dict)
        ``"old"`` or ``"new"``, and a mapping of header name to role
        (``borough``, ``major``, ``minor``).

    Raises
    ------
    DataValidationError
        When required columns are missing, naming them.

    Examples
    --------
    >>> detect_classification(["MajorText", "MinorText", "BoroughName", "202401"])[0]
    'new'
    >>> detect_classification(["Borough", "Major Category", "201001"])
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.DataValidationError: x.csv, line 1: missing required column 'Minor Category' (old classification: Borough, Major Category, Minor Category, then YYYYMM month columns)
    """
    file = file or "x.csv"
    present = set(columns)
    for layout, mapping in _LAYOUTS.items():
        if set(mapping) <= present:
            return layout.split("-")[0], mapping
    # Pick the layout that matches best, to name what is missing.
    best = max(_LAYOUTS.items(), key=lambda item: len(set(item[1]) & present))
    layout, mapping = best
    if not set(mapping) & present:
        raise DataValidationError(
            "is not a borough-level crime file: the header has neither 'Borough, Major "
            "Category, Minor Category' (old classification) nor 'MajorText, MinorText, "
            "LookUp_BoroughName' (new classification)",
            file=file,
            row=1,
        )
    missing = [c for c in mapping if c not in present]
    family = layout.split("-")[0]
    expected = ", ".join(mapping)
    raise DataValidationError(
        f"missing required column {missing[0]!r} ({family} classification: {expected}, "
        "then YYYYMM month columns)",
        file=file,
        row=1,
    )


def record_lines(text: str) -> list[int]:
    """The physical line on which each data record starts (blank lines skipped).

    A quoted cell may hold a line break, so record *n* is not always on line *n + 1*;
    error messages use these numbers, which an editor shows.

    Examples
    --------
    >>> record_lines('a,b\\n"x\\ny",1\\n\\nz,2\\n')
    [2, 5]
    """
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    lines = []
    previous = reader.line_num
    for record in reader:
        if record:
            lines.append(previous + 1)
        previous = reader.line_num
    return lines


def name_window(file: str) -> tuple[pd.Period, pd.Period] | None:
    """The months a file's published name says it covers (``..._201004-202111.csv``).

    Examples
    --------
    >>> name_window("MPS_Borough_Level_Crime_recent24m_202401-202512.csv")
    (Period('2024-01', 'M'), Period('2025-12', 'M'))
    >>> name_window("MPS_Borough_Level_Crime_Historical.csv") is None
    True
    """
    match = _NAME_WINDOW.search(file)
    if not match:
        return None
    try:
        first, last = (pd.Period(f"{m[:4]}-{m[4:]}", freq="M") for m in match.groups())
    except ValueError:
        return None
    return first, last


def _check_month_range(months: list[str], file: str, latest: pd.Period | None) -> None:
    """Month headers between the series start and the fetch month, and as the name says."""
    periods_ = [pd.Period(f"{m.strip()[:4]}-{m.strip()[4:]}", freq="M") for m in months]
    latest = latest or pd.Period.now("M")
    for column, month in zip(months, periods_, strict=True):
        if month < SERIES_START or month > latest:
            raise DataValidationError(
                f"month header {column!r} is outside {SERIES_START} (the first month the "
                f"MPS publishes) to {latest} (the month the data were fetched)",
                file=file,
                row=1,
                column=column,
            )
    window = name_window(file)
    if window is not None and (min(periods_), max(periods_)) != window:
        raise DataValidationError(
            f"the month headers run from {min(periods_)} to {max(periods_)}, but the file's "
            f"name says {window[0]} to {window[1]}",
            file=file,
            row=1,
        )


def _month_columns(columns: list[str], roles: dict[str, str], file: str) -> list[str]:
    months = []
    for column in columns:
        if column in roles:
            continue
        text = str(column).strip()
        if not _MONTH_HEADER.match(text) or not 1 <= int(text[4:]) <= 12:
            raise DataValidationError(
                f"column header {column!r} is not a month: expected YYYYMM (e.g. 201004)",
                file=file,
                row=1,
                column=str(column),
            )
        months.append(column)
    if not months:
        raise DataValidationError("has no month columns (YYYYMM)", file=file, row=1)
    seen: set[str] = set()
    for column in months:
        if column.strip() in seen:
            raise DataValidationError(
                f"month {column!r} appears twice in the header", file=file, row=1, column=column
            )
        seen.add(column.strip())
    return months


def read_borough_crime(
    path: str | Path,
    contract: BoroughCrimeContract | None = None,
    latest_month: pd.Period | None = None,
) -> pd.DataFrame:
    """Read and validate one borough-level crime file into the tidy monthly table.

    Parameters
    ----------
    path : str or pathlib.Path
        A London Datastore "MPS Borough Level Crime" CSV, either classification.
    contract : BoroughCrimeContract, optional
        When given, a category that is not one of the classification's categories is
        refused (naming the line). ``build`` always passes it.
    latest_month : pandas.Period, optional
        The month the data were fetched; no month header may be later (default: this
        month).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TIDY_COLUMNS`: month (monthly Period), borough_code (GSS),
        borough_name, classification (``old``/``new``), major_category, minor_category,
        count (int64) and source_file (the file's name).

    Raises
    ------
    DataValidationError
        Naming the file, line and column: empty or non-UTF-8 file, missing required
        column, malformed or repeated month header, unknown borough, blank,
        non-integer, negative or implausibly large count, duplicate rows.

    Notes
    -----
    Tolerated, by design: a UTF-8 byte-order mark, CRLF line endings, columns in any
    order, month columns out of order, surrounding spaces, a borough written as
    ``Unknown`` (kept as its own pseudo-borough so London totals match the publisher).
    Rows absent from a file mean zero crimes for that borough and category; months
    absent from a file are *not* zero and are never filled.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "tiny.csv"
    >>> _ = f.write_text("MajorText,MinorText,LookUp_BoroughName,201004,201005\\n"
    ...                  "Robbery,Robbery of Personal Property,Lambeth,120,98\\n")
    >>> read_borough_crime(f)[["month", "borough_code", "count"]].to_string(index=False)
    '  month borough_code  count\\n2010-04    E09000022    120\\n2010-05    E09000022     98'
    """
    path = Path(path)
    name = path.name
    text = read_text_file(path)
    check_csv_shape(text, name)  # rectangular: no cut-short, shifted or blank lines
    physical_lines = record_lines(text)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserError as exc:
        raise DataValidationError(f"is not a well-formed CSV ({exc})", file=name) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError("the file has no header", file=name) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    classification, roles = detect_classification(list(frame.columns), name)
    month_cols = _month_columns(list(frame.columns), roles, name)
    _check_month_range(month_cols, name, latest_month)
    if frame.empty:
        raise DataValidationError("has a header but no data rows", file=name)

    role_of = {role: column for column, role in roles.items()}
    if len(physical_lines) != len(frame):  # pragma: no cover - both read the same CSV
        raise AssertionError(f"{name}: csv and pandas disagree on the number of records")
    frame.index = pd.Index(physical_lines)  # the header is line 1

    # Text columns: blanks and unknown boroughs.
    for role in ("borough", "major", "minor"):
        column = role_of[role]
        frame[column] = frame[column].str.strip()
        blank = frame[column].eq("")
        if blank.any():
            line = int(frame.index[blank.argmax()])
            raise DataValidationError(f"{column} is blank", file=name, row=line, column=column)
    borough_col = role_of["borough"]
    names = frame[borough_col].map(boroughs.normalise_borough_name)
    is_unknown_label = frame[borough_col].str.lower().eq("unknown")
    names = names.where(~is_unknown_label, boroughs.UNKNOWN_NAME)
    bad = names.isna()
    if bad.any():
        line = int(frame.index[bad.argmax()])
        value = frame.loc[line, borough_col]
        raise DataValidationError(
            f"unknown borough {value!r} (not one of the 32 London boroughs, the City of "
            "London or the airports)",
            file=name,
            row=line,
            column=borough_col,
        )
    codes = names.map(
        lambda n: (
            boroughs.UNKNOWN_CODE if n == boroughs.UNKNOWN_NAME else boroughs.lookup_borough_code(n)
        )
    )

    # Counts: every cell a non-negative integer of plausible size.
    values = _parse_counts(frame[month_cols], name)

    if contract is not None:
        major, minor = frame[role_of["major"]], frame[role_of["minor"]]
        unknown = pd.Series(
            [
                contract.unknown_category(classification, a, b)
                for a, b in zip(major, minor, strict=True)
            ],
            index=frame.index,
        )
        if unknown.any():
            line = int(frame.index[unknown.argmax()])
            raise DataValidationError(
                f"unknown category {major[line]!r} / {minor[line]!r}: not one of the "
                f"{classification} classification's categories (contracts/borough_crime.json)",
                file=name,
                row=line,
                column=role_of["minor"],
            )

    keys = pd.DataFrame(
        {
            "borough_name": names,
            "major_category": frame[role_of["major"]],
            "minor_category": frame[role_of["minor"]],
        }
    )
    # Duplicates after normalising case, white space and Unicode (NFKC): the measures
    # match category names ignoring case, so "ROBBERY" and "Robbery" are one row.
    duplicated = keys.apply(lambda c: c.map(normalise_key)).duplicated(keep=False)
    if duplicated.any():
        dup_lines = [int(i) for i in keys.index[duplicated]]
        first = keys.loc[dup_lines[0]]
        raise DataValidationError(
            f"duplicate rows for {first['borough_name']} / {first['major_category']} / "
            f"{first['minor_category']} (lines {', '.join(map(str, dup_lines[:5]))})",
            file=name,
            row=dup_lines[1],
        )

    n_rows, n_months = values.shape
    month_index = pd.PeriodIndex([f"{m.strip()[:4]}-{m.strip()[4:]}" for m in month_cols], freq="M")
    tidy = pd.DataFrame(
        {
            "month": month_index[np.tile(np.arange(n_months), n_rows)],
            "borough_code": np.repeat(codes.to_numpy(), n_months),
            "borough_name": np.repeat(names.to_numpy(), n_months),
            "major_category": np.repeat(keys["major_category"].to_numpy(), n_months),
            "minor_category": np.repeat(keys["minor_category"].to_numpy(), n_months),
            "count": values.reshape(-1),
        }
    )
    tidy["classification"] = classification
    tidy["source_file"] = name
    tidy["count"] = tidy["count"].astype("int64")
    return (
        tidy[TIDY_COLUMNS]
        .sort_values(["month", "borough_code", "major_category", "minor_category"])
        .reset_index(drop=True)
    )


def combine_vintages(tables: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Combine files of one or both classifications, the newest vintage winning a month.

    Within a classification, a month supplied by two files is taken from the file whose
    last month is later (ties: the later file name). Classifications are kept apart.

    Parameters
    ----------
    tables : list of pandas.DataFrame
        Outputs of :func:`read_borough_crime`.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The combined tidy table, and a vintage table with one row per file:
        classification, source_file, first_month, last_month, months_used,
        months_superseded.

    Examples
    --------
    >>> def f(name, months, value):
    ...     idx = pd.PeriodIndex(months, freq="M")
    ...     return pd.DataFrame({"month": idx, "borough_code": "E09000022",
    ...         "borough_name": "Lambeth", "classification": "new", "major_category": "Robbery",
    ...         "minor_category": "Robbery of Personal Property", "count": value,
    ...         "source_file": name})
    >>> combined, vintages = combine_vintages(
    ...     [f("a.csv", ["2010-04", "2010-05"], 1), f("b.csv", ["2010-05", "2010-06"], 2)])
    >>> combined[["month", "count", "source_file"]].to_string(index=False)
    '  month  count source_file\\n2010-04      1       a.csv\\n2010-05      2       b.csv\\n2010-06      2       b.csv'
    >>> vintages[["source_file", "months_used", "months_superseded"]].to_string(index=False)
    'source_file  months_used  months_superseded\\n      a.csv            1                  1\\n      b.csv            2                  0'
    """
    if not tables:
        raise DataValidationError("no borough-level crime files were found")
    frame = pd.concat(tables, ignore_index=True)
    spans = (
        frame.groupby(["classification", "source_file"])["month"]
        .agg(first_month="min", last_month="max")
        .reset_index()
    )
    spans["rank"] = (
        spans.sort_values(["last_month", "source_file"]).groupby("classification").cumcount()
    )
    owner = (
        frame[["classification", "month", "source_file"]]
        .drop_duplicates()
        .merge(
            spans[["classification", "source_file", "rank"]], on=["classification", "source_file"]
        )
        .sort_values("rank")
        .drop_duplicates(["classification", "month"], keep="last")
    )
    combined = frame.merge(
        owner[["classification", "month", "source_file"]],
        on=["classification", "month", "source_file"],
    )
    used = owner.groupby(["classification", "source_file"]).size().rename("months_used")
    total = frame.groupby(["classification", "source_file"])["month"].nunique()
    vintages = spans.drop(columns="rank").set_index(["classification", "source_file"])
    vintages["months_used"] = used.reindex(vintages.index).fillna(0).astype(int)
    vintages["months_superseded"] = (total - vintages["months_used"]).astype(int)
    combined = combined.sort_values(
        ["classification", "month", "borough_code", "major_category", "minor_category"]
    ).reset_index(drop=True)
    return combined, vintages.reset_index().sort_values(["classification", "first_month"])


def find_missing_months(tidy: pd.DataFrame) -> pd.DataFrame:
    """Months inside each classification's span that no file supplies.

    Examples
    --------
    >>> t = pd.DataFrame({"classification": "new",
    ...     "month": pd.PeriodIndex(["2023-10", "2023-11", "2024-01"], freq="M")})
    >>> find_missing_months(t).to_string(index=False)
    'classification   month\\n           new 2023-12'
    """
    rows = []
    for classification, group in tidy.groupby("classification"):
        present = set(group["month"].unique())
        span = pd.period_range(min(present), max(present), freq="M")
        rows += [(classification, m) for m in span if m not in present]
    return pd.DataFrame(rows, columns=["classification", "month"])


def canonical_category_names(names: pd.Series) -> pd.Series:
    """One spelling per category name, whatever the case it was published in.

    The newest files publish categories in capitals (``ROBBERY OF PERSONAL PROPERTY``);
    the mixed-case spelling of an older file is preferred, else title case.

    Examples
    --------
    >>> s = pd.Series(["Robbery of Personal Property", "ROBBERY OF PERSONAL PROPERTY",
    ...                "TRAFFICKING OF DRUGS"])
    >>> canonical_category_names(s).tolist()
    ['Robbery of Personal Property', 'Robbery of Personal Property', 'Trafficking Of Drugs']
    """
    unique = pd.Series(pd.unique(names.to_numpy()), dtype=object)
    keys = unique.str.casefold().str.split().str.join(" ")
    preferred: dict[str, str] = {}
    for key, name in zip(keys, unique, strict=True):
        if key not in preferred or (preferred[key].isupper() and not name.isupper()):
            preferred[key] = name
    fixed = {k: (v.title() if v.isupper() else v) for k, v in preferred.items()}
    spelling = {name: fixed[key] for name, key in zip(unique, keys, strict=True)}
    return names.map(spelling)
