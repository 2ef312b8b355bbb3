"""The processed store: validated tidy tables as Parquet files in ``data/processed/``.

Notebooks read these instead of re-parsing raw CSVs. Each table is one Parquet file,
written atomically (to a temporary file, then renamed), so a killed build never leaves a
half-written table. A ``month`` column is stored as the first day of the month (a date,
which DuckDB and pandas both read) and returned as a monthly :class:`pandas.Period`.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError, ParameterError

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
    "derived_table",
    "forget_shared_tables",
    "shared_tables",
    "shared_budget_bytes",
    "keep_only_used",
    "remembered",
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


def _record(path: Path, identity: tuple | None = None) -> None:
    """Note a store file as read (an input of the report), with its identity as read
    (None: work it out now) for every :func:`remembered` computation under way."""
    absolute = str(Path(path).absolute())
    _TABLES_READ.add(absolute)
    _note_for_captures(absolute, identity, True)


def _note_for_captures(absolute: str, identity: tuple | None, is_input: bool) -> None:
    """Note a file read for every :func:`remembered` computation under way: its identity
    as read, and whether it is an input of the report (a store table, which
    :func:`tables_read` lists) or only a file the result depends on (the build log)."""
    if _CAPTURES:
        seen = _identity_or_none(Path(absolute)) if identity is None else identity
        for capture in _CAPTURES:
            before = capture.get(absolute)
            if before is None:
                capture[absolute] = (seen, is_input)
            elif is_input and not before[1]:
                capture[absolute] = (before[0], True)


#: Tables already read in this process, shared by the reports a warm kernel runs one after
#: another: key (path, columns, filters, the file's identity) -> the frame as read.
#: Every read hands out a new shallow copy, and pandas' copy-on-write (the only mode of
#: pandas 3) copies a block before anything writes to it, so no report can change what
#: the next one reads; the file's identity (size, modification time in nanoseconds,
#: inode and device) is checked on every read, and the store replaces a table by
#: renaming a new file over it, so a rebuilt table is always read afresh.
_SHARED: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
#: At most this many frames are kept (least recently used go first): the store has
#: about 30 tables, and a report reads at most a dozen.
SHARED_MAX_FRAMES = 32
#: Environment variable bounding the memory of the kept frames, in MB (default
#: :data:`SHARED_DEFAULT_MB`; 0 keeps none). The reports of a run go objective by
#: objective, so the tables one objective reads are kept for its 33 reports; the borough
#: crime table is about 80 MB in memory, the largest table (stop and search) 110 MB, and
#: a frame larger than the budget is read afresh by every report, as before.
SHARED_MB_VARIABLE = "MPSANALYSIS_TABLE_CACHE_MB"
SHARED_DEFAULT_MB = 160
_SHARED_BYTES: dict[tuple, int] = {}
#: Keys of the frames read since the last :func:`keep_only_used`.
_SHARED_USED: set[tuple] = set()


def shared_budget_bytes() -> int:
    """The memory budget of the kept frames in bytes, from ``MPSANALYSIS_TABLE_CACHE_MB``.

    Raises
    ------
    mpsanalysis.errors.ParameterError
        When the variable is not a number of megabytes, or is negative.

    Examples
    --------
    >>> shared_budget_bytes() == SHARED_DEFAULT_MB * 10**6 or SHARED_MB_VARIABLE in os.environ
    True
    """
    value = os.environ.get(SHARED_MB_VARIABLE, "").strip()
    try:
        megabytes = float(value) if value else SHARED_DEFAULT_MB
    except ValueError:
        megabytes = -1.0
    if not megabytes >= 0:  # also refuses nan
        raise ParameterError(
            f"{SHARED_MB_VARIABLE}={value!r} must be a number of megabytes, 0 or more "
            f"(default {SHARED_DEFAULT_MB}; 0 keeps no table between reports)"
        )
    return int(megabytes * 1e6)


def _file_identity(path: Path) -> tuple[int, int, int, int]:
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_dev)


def _shared(key: tuple, load: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """A new shallow copy of the frame kept under ``key``, loading it on a miss."""
    _SHARED_USED.add(key)
    frame = _SHARED.get(key)
    if frame is not None:
        _SHARED.move_to_end(key)
        return frame.copy(deep=False)
    frame = load()
    budget = shared_budget_bytes()
    size = int(frame.memory_usage(index=True, deep=True).sum())
    if size <= budget:
        _SHARED[key] = frame
        _SHARED_BYTES[key] = size
        while len(_SHARED) > SHARED_MAX_FRAMES or sum(_SHARED_BYTES.values()) > budget:
            oldest, _ = _SHARED.popitem(last=False)
            _SHARED_BYTES.pop(oldest, None)
    return frame.copy(deep=False)


def shared_tables() -> list[str]:
    """The store tables (file names) whose frames this process keeps, for diagnostics.

    Examples
    --------
    >>> forget_shared_tables(); shared_tables()
    []
    """
    return sorted({Path(key[0]).name for key in _SHARED})


def forget_shared_tables() -> None:
    """Drop every frame kept by :func:`read_table` and :func:`derived_table`, and every
    result kept by :func:`remembered`."""
    _SHARED.clear()
    _SHARED_BYTES.clear()
    _SHARED_USED.clear()
    _REMEMBERED.clear()
    _REMEMBERED_USED.clear()


def keep_only_used() -> None:
    """Drop the kept frames that nothing read since the last call.

    The warm engine calls it between reports: the next report of the same objective
    reads the same tables, so they stay, and the tables of the previous objective do not
    linger beside the next objective's, so a kernel holds about one report's tables, as
    it did before frames were kept.

    Examples
    --------
    >>> forget_shared_tables(); keep_only_used(); shared_tables()
    []
    """
    for key in [key for key in _SHARED if key not in _SHARED_USED]:
        del _SHARED[key]
        _SHARED_BYTES.pop(key, None)
    _SHARED_USED.clear()
    for key in [key for key in _REMEMBERED if key not in _REMEMBERED_USED]:
        del _REMEMBERED[key]
    _REMEMBERED_USED.clear()


#: Results of :func:`remembered`: key (function, store folder, pickled arguments) ->
#: (the pickled result, the store files it read: path, identity as read, input or not).
_REMEMBERED: OrderedDict[tuple, tuple[bytes, tuple[tuple[str, Any, bool], ...]]] = OrderedDict()
_REMEMBERED_USED: set[tuple] = set()
#: At most this many results are kept, each at most this many bytes pickled (the
#: results remembered are small tables: a measure's rows, a section's London figures).
REMEMBERED_MAX_RESULTS = 128
REMEMBERED_MAX_BYTES = 4 * 10**6
#: The store files read by each :func:`remembered` computation under way (innermost
#: last): path -> (identity as read, None when the file did not exist; whether it is an
#: input of the report).
_CAPTURES: list[dict[str, tuple[Any, bool]]] = []


def _identity_or_none(path: Path) -> tuple[int, int, int, int] | None:
    try:
        return _file_identity(path)
    except FileNotFoundError:
        return None


def remembered(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, worked out once per version of the store files it reads.

    For the figures every report of an objective works out the same way from the store
    (a measure's rows of the borough crime table, a section's London-wide figures): the
    first call runs ``function`` and notes every store file it read (tables and the build
    log) with the file's identity as read (size, modification time in ns, inode, device);
    a later call with equal arguments, while the store folder is the same and every one
    of those files is unchanged, returns the result without running ``function`` and
    notes the same files as read (:func:`tables_read`, which the report cache keys on).

    Every call returns a new object: the result is kept pickled and each call unpickles
    it, so nothing a report does to what it got reaches the next report. A result is
    not kept when its arguments or itself cannot be pickled, when it is larger than
    :data:`REMEMBERED_MAX_BYTES` pickled, or when working it out raised a warning (the
    warning is shown, and shown again by the next call, which runs ``function`` again).
    ``function`` must depend only on its arguments and the store: never on a raw file,
    the catalogue or the environment. The warm engine keeps, between reports, the
    results the last report used (:func:`keep_only_used`).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_table(pd.DataFrame({"n": [1, 2]}), "numbers", folder)
    >>> def total(add):
    ...     print("working it out")
    ...     return int(read_table("numbers", directory=folder)["n"].sum()) + add
    >>> remembered(total, 10)
    working it out
    13
    >>> remembered(total, 10)
    13
    >>> _ = write_table(pd.DataFrame({"n": [5]}), "numbers", folder)  # a rebuilt table
    >>> remembered(total, 10)
    working it out
    15
    """
    try:
        key = (function, str(paths.processed_dir().absolute()), pickle.dumps(args, protocol=5))
    except Exception:  # arguments that cannot be pickled: nothing to key on
        return function(*args)
    entry = _REMEMBERED.get(key)
    if entry is not None:
        payload, reads = entry
        if all(_identity_or_none(Path(path)) == identity for path, identity, _ in reads):
            for path, identity, is_input in reads:
                if is_input:
                    _TABLES_READ.add(path)
                _note_for_captures(path, identity, is_input)  # for an outer computation
            _REMEMBERED_USED.add(key)
            _REMEMBERED.move_to_end(key)
            return pickle.loads(payload)
        del _REMEMBERED[key]  # a file changed: work it out again
    capture: dict[str, tuple[Any, bool]] = {}
    _CAPTURES.append(capture)
    try:
        with warnings.catch_warnings(record=True) as raised:
            result = function(*args)
    finally:
        _CAPTURES.remove(capture)
    for warning in raised:  # shown as they would have been (the filters still applied)
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    if raised:
        return result
    try:
        payload = pickle.dumps(result, protocol=5)
    except Exception:  # e.g. a figure: not kept
        return result
    if len(payload) <= REMEMBERED_MAX_BYTES:
        reads = tuple((path, identity, is_input) for path, (identity, is_input) in capture.items())
        _REMEMBERED[key] = (payload, reads)
        _REMEMBERED_USED.add(key)
        while len(_REMEMBERED) > REMEMBERED_MAX_RESULTS:
            _REMEMBERED.popitem(last=False)
    return result


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
    identity = _identity_or_missing(path, name)
    key = (str(path.absolute()), tuple(columns) if columns else None, repr(filters), identity)
    return _shared(key, lambda: _read_parquet(path, columns, filters))


def _identity_or_missing(path: Path, name: str) -> tuple[int, int, int, int]:
    """The identity of a table about to be read, noted as read (:func:`_record`); a
    missing table is noted too (an input: the report says "no data" until it is built)."""
    try:
        identity = _file_identity(path)
    except FileNotFoundError:
        _record(path)
        raise DataValidationError(
            f"the processed store has no table {name!r}: run `mpsanalysis build` first",
            file=path.name,
        ) from None
    _record(path, identity)
    return identity


def _read_parquet(path: Path, columns, filters) -> pd.DataFrame:
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


def derived_table(
    name: str,
    derive: Callable[[pd.DataFrame], pd.DataFrame],
    directory: Path | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``derive(read_table(name, columns))``, computed once per version of the table file.

    For a frame every report builds the same way from one table (the borough crime
    table with its case-folded category keys, the ward boundaries of each month): the
    result is kept like a table read (a new shallow copy each time, refreshed when the
    file changes), keyed on the function object itself, so two functions never share a
    result (a lambda made afresh on each call is simply never reused).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_table(pd.DataFrame({"n": [1, 2]}), "numbers", folder)
    >>> derived_table("numbers", lambda df: df.assign(twice=df["n"] * 2), folder)["twice"].tolist()
    [2, 4]
    """
    path = table_path(name, directory)
    identity = _identity_or_missing(path, name)
    wanted = tuple(columns) if columns else None
    key = (str(path.absolute()), "derived", derive, wanted, identity)
    return _shared(key, lambda: derive(_read_parquet(path, columns, None)))


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
    _note_for_captures(str(path.absolute()), None, False)  # a remembered result reads it
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
