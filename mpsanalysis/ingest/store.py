"""The processed store: validated tidy tables as Parquet files in ``data/processed/``.

Notebooks read these instead of re-parsing raw CSVs. Each table is one Parquet file,
written atomically (to a temporary file, then renamed), so a killed build never leaves a
half-written table. A ``month`` column is stored as the first day of the month (a date,
which DuckDB and pandas both read) and returned as a monthly :class:`pandas.Period`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError

__all__ = [
    "read_json",
    "not_supplied",
    "table_path",
    "write_table",
    "read_table",
    "table_exists",
    "write_json",
    "write_text_atomic",
    "tables_read",
    "forget_tables_read",
]

#: Absolute paths of the store tables this process has read or looked for since the
#: last :func:`forget_tables_read`: the inputs of the report being run, which
#: :mod:`mpsanalysis.run.cache` keys the report on (a table looked for and found
#: missing is an input too: the report says "no data" until it is built).
_TABLES_READ: set[str] = set()


def tables_read() -> list[str]:
    """The store tables read (or looked for) in this process, as sorted absolute paths.

    Examples
    --------
    >>> forget_tables_read()
    >>> table_exists("no_such_table", Path("/tmp"))
    False
    >>> tables_read()
    ['/tmp/no_such_table.parquet']
    >>> forget_tables_read(); tables_read()
    []
    """
    return sorted(_TABLES_READ)


def forget_tables_read() -> None:
    """Start a new record of the tables read (the warm engine calls it between reports)."""
    _TABLES_READ.clear()


def _record(path: Path) -> None:
    _TABLES_READ.add(str(Path(path).absolute()))


def table_path(name: str, directory: Path | None = None) -> Path:
    """Path of a table in the store."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"table name {name!r} must be letters, digits, '-' or '_'")
    return (directory or paths.processed_dir()) / f"{name}.parquet"


def table_exists(name: str, directory: Path | None = None) -> bool:
    """Whether the table has been built (recorded as an input: see :func:`tables_read`)."""
    path = table_path(name, directory)
    _record(path)
    return path.exists()


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, name: str, directory: Path | None = None) -> Path:
    """Write a tidy table to the store atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table. A ``month`` column of monthly Periods is stored as a date.
    name : str
        Table name, e.g. ``borough_crime``.
    directory : pathlib.Path, optional
        Store folder (default :func:`mpsanalysis.paths.processed_dir`).

    Returns
    -------
    pathlib.Path
        Where the table was written.
    """
    out = df.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.PeriodDtype):
            out[column] = out[column].dt.to_timestamp().astype("datetime64[ms]")
    target = table_path(name, directory)
    _atomic_write(target, lambda tmp: out.to_parquet(tmp, index=False))
    return target


def read_table(
    name: str,
    columns: Sequence[str] | None = None,
    filters: list[tuple[str, str, Any]] | None = None,
    directory: Path | None = None,
) -> pd.DataFrame:
    """Read a table from the store.

    Parameters
    ----------
    name : str
        Table name.
    columns : sequence of str, optional
        Columns to read (all by default).
    filters : list of (column, op, value), optional
        Row filters pushed down to Parquet, e.g. ``[("classification", "==", "new")]``.
    directory : pathlib.Path, optional
        Store folder.

    Raises
    ------
    DataValidationError
        When the table is missing (run ``mpsanalysis build``) or unreadable (corrupted).
    """
    path = table_path(name, directory)
    _record(path)
    if not path.exists():
        raise DataValidationError(
            f"the processed store has no table {name!r}: run `mpsanalysis build` first",
            file=path.name,
        )
    try:
        df = pd.read_parquet(path, columns=list(columns) if columns else None, filters=filters)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataValidationError(
            f"the processed table is unreadable ({type(exc).__name__}: {exc}); "
            "delete data/processed/ and run `mpsanalysis build` again",
            file=path.name,
        ) from exc
    for column in df.columns:
        if column == "month" or column.endswith("_month"):
            if pd.api.types.is_datetime64_any_dtype(df[column]):
                df[column] = df[column].dt.to_period("M")
    return df


def write_json(data: Any, name: str, directory: Path | None = None) -> Path:
    """Write a JSON document (e.g. the build log) into the store atomically."""
    target = (directory or paths.processed_dir()) / f"{name}.json"

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")

    _atomic_write(target, write)
    return target


def read_json(name: str, directory: Path | None = None) -> Any:
    """A JSON document written by :func:`write_json` (e.g. the build log), or None when
    the store has none."""
    path = (directory or paths.processed_dir()) / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def not_supplied(source: str, directory: Path | None = None) -> str | None:
    """The build log's "not supplied" note for a source whose raw files were absent when
    the store was built (e.g. ``"not supplied: no files in data/raw/..."``), else None."""
    log = read_json("build_log", directory) or {}
    for entry in log.get("sources", []):
        if entry.get("source") == source:
            for warning in entry.get("warnings", []):
                if str(warning).startswith("not supplied"):
                    return str(warning)
    return None


def write_text_atomic(path: Path, text: str) -> Path:
    """Write a text file so that it is either the old or the new one, never half of
    either: a temporary file beside it, flushed to disk, made readable (0644), then renamed
    over the target. A failed write (disk full) leaves no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)

    _atomic_write(path, write)
    return path
