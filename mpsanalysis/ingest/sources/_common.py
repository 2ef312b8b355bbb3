"""Shared helpers for the source loaders: checked CSV reading, counts, intervals, logs.

Private to :mod:`mpsanalysis.ingest.sources`; the public functions live in the topic modules.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest.loaders import read_text_file as read_text

_YYYYMM = re.compile(r"^([0-9]{4})([0-9]{2})$")


def read_csv_checked(
    path: str | Path,
    required: Sequence[str],
    *,
    aliases: dict[str, str] | None = None,
    what: str = "file",
) -> pd.DataFrame:
    """Read a CSV as text with the data lines' numbers as the index (header is line 1).

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file.
    required : sequence of str
        Columns that must be present (after stripping spaces from the header).
    aliases : dict, optional
        Accepted alternative header names, mapped to the required name
        (e.g. ``{"BoroughName": "LookUp_BoroughName"}``).
    what : str
        What the file should be, for the error message.

    Returns
    -------
    pandas.DataFrame
        Every cell as a stripped string (blank cells are ``""``); fully blank lines are
        dropped, the index is each row's 1-based line number.

    Raises
    ------
    DataValidationError
        Unreadable, empty or non-UTF-8 file, malformed CSV, missing required column.
    """
    path = Path(path)
    name = path.name
    text = read_text(path)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except pd.errors.ParserError as exc:
        raise DataValidationError(f"is not a well-formed CSV ({exc})", file=name) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError("the file has no header", file=name) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_last_line(text, len(frame.columns), name)
    if aliases:
        frame = frame.rename(
            columns={k: v for k, v in aliases.items() if k in frame.columns and v not in frame}
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"missing required column {missing[0]!r}: is this a {what}? "
            f"(expected columns {', '.join(required)})",
            file=name,
            row=1,
            column=missing[0],
        )
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    blank_line = frame.eq("").all(axis=1)
    frame = frame[~blank_line]
    if frame.empty:
        raise DataValidationError("has a header but no data rows", file=name)
    return frame


def _check_last_line(text: str, n_columns: int, name: str) -> None:
    """A truncated download ends mid-row: the last line then has too few fields."""
    body = text.rstrip("\r\n")
    cut = body.rfind("\n")
    last = body[cut + 1 :].rstrip("\r")
    if cut < 0 or not last.strip():
        return
    fields = next(csv.reader([last]))
    if len(fields) < n_columns:
        raise DataValidationError(
            f"has {len(fields)} field(s) but the header has {n_columns}: the last line is cut "
            "short (is the file truncated?)",
            file=name,
            row=body.count("\n") + 1,
        )


def raise_at_first(
    mask: pd.Series, frame: pd.DataFrame, column: str, message: str, file: str
) -> None:
    """Raise a DataValidationError at the first row where ``mask`` is True.

    ``message`` may use ``{value}`` for the offending cell.
    """
    if mask.any():
        line = mask.index[np.argmax(mask.to_numpy())]
        value = frame.loc[line, column] if column in frame.columns else None
        raise DataValidationError(
            message.format(value=value), file=file, row=int(line), column=column
        )


def check_not_blank(frame: pd.DataFrame, columns: Iterable[str], file: str) -> None:
    """Every listed column has a value on every row."""
    for column in columns:
        raise_at_first(frame[column].eq(""), frame, column, f"{column} is blank", file)


def parse_counts(
    frame: pd.DataFrame,
    columns: Sequence[str],
    file: str,
    *,
    allow_negative: bool = False,
    allow_fraction: bool = False,
    what: str = "count",
) -> np.ndarray:
    """Parse count cells into a 2-D array, raising at the first bad cell.

    A cell is bad when it is blank, has a character other than ASCII (digits are 0-9
    only: Python would read "１４８" as 148), is not a number, not a whole number (unless
    ``allow_fraction``) or negative (unless ``allow_negative``). Whole numbers written
    with a decimal point (``12.0``) are accepted.

    Returns
    -------
    numpy.ndarray
        int64 when fractions are not allowed, else float64; shape (rows, columns).
    """
    cells = frame[list(columns)]
    for j, column in enumerate(columns):
        text = cells[column]
        if not pd.api.types.is_numeric_dtype(text):
            foreign = ~text.astype(str).map(str.isascii)
            if foreign.any():  # float() would read "１４８" as 148: digits are ASCII only
                i = int(np.flatnonzero(foreign.to_numpy())[0])
                raise DataValidationError(
                    f"{what} {text.iat[i]!r} has non-ASCII characters (counts are written "
                    "in the digits 0-9 only)",
                    file=file,
                    row=int(cells.index[i]),
                    column=columns[j],
                )
    try:
        values = cells.astype("float64").to_numpy()
    except (ValueError, TypeError):
        values = cells.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if not allow_fraction:
        bad |= np.where(np.isfinite(values), values % 1 != 0, False)
    if not allow_negative:
        bad |= np.where(np.isfinite(values), values < 0, False)
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raw = cells.iat[i, j]
        number = values[i, j]
        if raw == "":
            problem = "is blank"
        elif not np.isfinite(number):
            problem = "is not a number"
        elif number % 1 != 0 and not allow_fraction:
            problem = "is not a whole number"
        else:
            problem = "is negative"
        raise DataValidationError(
            f"{what} {raw!r} {problem}", file=file, row=int(cells.index[i]), column=columns[j]
        )
    return values if allow_fraction else values.astype(np.int64)


def parse_yyyymm_headers(columns: Sequence[str], file: str) -> pd.PeriodIndex:
    """Month headers ``YYYYMM`` as monthly Periods; raises on a malformed or repeated one."""
    months = []
    for column in columns:
        match = _YYYYMM.match(str(column).strip())
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise DataValidationError(
                f"column header {column!r} is not a month: expected YYYYMM (e.g. 201703)",
                file=file,
                row=1,
                column=str(column),
            )
        months.append(f"{match.group(1)}-{match.group(2)}")
    index = pd.PeriodIndex(months, freq="M")
    repeated = index.duplicated()
    if repeated.any():
        column = columns[int(np.argmax(repeated))]
        raise DataValidationError(
            f"month {column!r} appears twice in the header", file=file, row=1, column=column
        )
    if len(index) == 0:
        raise DataValidationError("has no month columns (YYYYMM)", file=file, row=1)
    return index


def concat_categorical(tables: Sequence[pd.DataFrame], columns: Iterable[str]) -> pd.DataFrame:
    """Concatenate tables whose ``columns`` become categoricals sharing one set of values.

    Concatenating categoricals with different categories would fall back to slow
    strings; unioning the categories first keeps long tables fast.
    """
    dtypes = {}
    for column in columns:
        values: set[str] = set()
        for table in tables:
            series = table[column]
            if isinstance(series.dtype, pd.CategoricalDtype):
                values.update(series.cat.categories)
            else:
                values.update(series.dropna().unique())
        dtypes[column] = pd.CategoricalDtype(sorted(values))
    return pd.concat([t.astype(dtypes) for t in tables], ignore_index=True)


def make_log(
    source: str,
    tables: dict[str, pd.DataFrame],
    files: Iterable[Path | str],
    warnings: list[str],
    main_table: str | None = None,
) -> dict:
    """A build-log entry: source, tables, rows (of the main table), files, warnings."""
    names = list(tables)
    main = main_table or (names[0] if names else None)
    return {
        "source": source,
        "tables": names,
        "rows": int(len(tables[main])) if main else 0,
        "files": sorted(Path(f).name for f in files),
        "warnings": list(warnings),
    }


def fmt_int(value: float) -> str:
    """A whole number with thousands separators and an explicit sign when negative."""
    return f"{int(round(value)):,}"


_LSOA_2011 = re.compile(r"^E01\d{6}$")


def check_lsoa_boroughs(frame: pd.DataFrame, file: str) -> pd.Series:
    """Validate the LSOA11CD, LAD11NM and LAD11CD columns of an LSOA-level file.

    Every LSOA code must be a 2011 English LSOA code, every borough name a London
    borough, and every borough code the GSS code of the name on the same line.

    Returns
    -------
    pandas.Series
        The canonical borough name of each row.
    """
    raise_at_first(
        ~frame["LSOA11CD"].str.match(_LSOA_2011),
        frame,
        "LSOA11CD",
        "LSOA code {value!r} is not a 2011 LSOA code (E01 and six digits)",
        file,
    )
    from mpsanalysis import boroughs

    canonical = frame["LAD11NM"].map(
        {n: boroughs.normalise_borough_name(n) for n in frame["LAD11NM"].unique()}
    )
    raise_at_first(canonical.isna(), frame, "LAD11NM", "unknown borough {value!r}", file)
    codes = canonical.map({n: boroughs.lookup_borough_code(n) for n in set(canonical)})
    raise_at_first(
        codes.ne(frame["LAD11CD"]),
        frame,
        "LAD11CD",
        "LAD11CD {value!r} does not match the borough name on the same line",
        file,
    )
    return canonical
