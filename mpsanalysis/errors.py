"""Exceptions raised by mpsanalysis.

Every error an analyst can meet derives from :class:`MpsAnalysisError`, so the command
line and the runner can print one clear line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "MpsAnalysisError",
    "DataValidationError",
    "ParameterError",
    "CatalogueError",
    "NotebookRunError",
    "check_columns",
]


class MpsAnalysisError(Exception):
    """Base class of every error that mpsanalysis raises on purpose."""


class ParameterError(MpsAnalysisError, ValueError):
    """A parameter (period, objective, geography, option) is not valid."""


class CatalogueError(MpsAnalysisError, ValueError):
    """The objective catalogue (YAML) is malformed: names the objective and field."""


class DataValidationError(MpsAnalysisError, ValueError):
    """An input file fails validation.

    Parameters
    ----------
    message : str
        What is wrong, in words an analyst understands.
    file : str, optional
        The file's name (never its absolute path, so reports stay free of local paths).
    row : int, optional
        The 1-based line number in the file (the header is line 1).
    column : str, optional
        The column at fault.

    Examples
    --------
    >>> str(DataValidationError("count is negative: -3", file="a.csv", row=7, column="201004"))
    "a.csv, line 7, column '201004': count is negative: -3"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        where = []
        if file:
            where.append(str(file))
        if row is not None:
            where.append(f"line {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class NotebookRunError(MpsAnalysisError, RuntimeError):
    """An objective notebook failed: names the objective, the cell and the exception."""


def check_columns(frame: Any, columns: Iterable[str], what: str) -> None:
    """A ParameterError naming the first column a tidy table lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"{what} has no column {missing[0]!r} (columns are: {', '.join(map(str, frame))})"
        )
