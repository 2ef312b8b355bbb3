"""Stop and search: arrest and positive-outcome rates, and shares by ethnicity, with
Wilson intervals (the table is read by :mod:`mpsanalysis.ingest.sources.stop_search`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mpsanalysis.errors import ParameterError, check_columns
from mpsanalysis.stats.rates import add_rate

__all__ = [
    "summarise_searches",
    "compare_ethnicity",
]


def summarise_searches(
    searches: pd.DataFrame,
    by: Sequence[str] = ("month", "borough_name"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Searches, arrest rate and positive-outcome rate by any breakdown.

    Parameters
    ----------
    searches : pandas.DataFrame
        The tidy searches (``stop_search`` table).
    by : sequence of str
        Breakdown, e.g. ``["month", "borough_name"]`` (default) or
        ``["object_of_search"]``. Searches with no borough form their own group.
    confidence : float
        Confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``searches``, ``arrests``, ``arrest_rate`` (+ ``_low``,
        ``_high``), ``positive_outcomes``, ``positive_rate`` (+ ``_low``, ``_high``).

    Examples
    --------
    >>> s = pd.DataFrame({"object_of_search": ["Firearms", "Firearms", "Stolen goods"],
    ...     "is_arrest": [True, False, False], "is_positive_outcome": [True, True, False]})
    >>> summarise_searches(s, by=["object_of_search"])[
    ...     ["object_of_search", "searches", "arrests", "positive_outcomes"]]
      object_of_search  searches  arrests  positive_outcomes
    0         Firearms         2        1                  2
    1     Stolen goods         1        0                  0
    """
    by = [by] if isinstance(by, str) else list(by)
    check_columns(searches, [*by, "is_arrest", "is_positive_outcome"], "summarise_searches")
    data = searches.assign(
        _arrest=searches["is_arrest"].astype(int),
        _positive=searches["is_positive_outcome"].astype(int),
    )
    if by:
        table = (
            data.groupby(by, dropna=False, observed=True)
            .agg(
                searches=("_arrest", "size"),
                arrests=("_arrest", "sum"),
                positive_outcomes=("_positive", "sum"),
            )
            .reset_index()
        )
    else:
        table = pd.DataFrame(
            {
                "searches": [len(data)],
                "arrests": [int(data["_arrest"].sum())],
                "positive_outcomes": [int(data["_positive"].sum())],
            }
        )
    table = add_rate(table, "arrests", "searches", "arrest_rate", confidence)
    return add_rate(table, "positive_outcomes", "searches", "positive_rate", confidence)


def compare_ethnicity(
    searches: pd.DataFrame,
    ethnicity: str = "self_defined",
    by: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of searches and outcome rates by ethnic group, with Wilson intervals.

    Parameters
    ----------
    searches : pandas.DataFrame
        The tidy searches.
    ethnicity : {"self_defined", "officer_defined"}
        Which ethnicity: the person's own (grouped with
        :func:`map_self_defined_ethnicity`) or the officer's.
    by : sequence of str, optional
        Further breakdown (e.g. ``["borough_name"]``); shares are within each group.
    confidence : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``ethnic_group``, ``searches``, ``share`` (of searches in the
        ``by`` group, + ``_low``, ``_high``), ``arrests``, ``arrest_rate`` (+ interval),
        ``positive_outcomes``, ``positive_rate`` (+ interval).

    Notes
    -----
    Shares are of searches, not of the population: comparing them with residents'
    ethnicity needs population figures (and the searched are not only residents).
    "Not stated" and "Not recorded" are kept as groups so that shares add up to 1.

    Examples
    --------
    >>> s = pd.DataFrame({"self_defined_group": ["Black", "Black", "White", "White"],
    ...     "is_arrest": [True, False, False, False], "is_positive_outcome": True})
    >>> compare_ethnicity(s)[["ethnic_group", "searches", "share", "arrest_rate"]]
      ethnic_group  searches  share  arrest_rate
    0        Black         2    0.5          0.5
    1        White         2    0.5          0.0
    """
    columns = {"self_defined": "self_defined_group", "officer_defined": "officer_defined_ethnicity"}
    if ethnicity not in columns:
        raise ParameterError(f"ethnicity {ethnicity!r} must be 'self_defined' or 'officer_defined'")
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    column = columns[ethnicity]
    check_columns(searches, [column], "compare_ethnicity")
    table = summarise_searches(
        searches.rename(columns={column: "ethnic_group"}), [*by, "ethnic_group"], confidence
    )
    totals = table.groupby(by)["searches"].transform("sum") if by else table["searches"].sum()
    table = table.assign(_total=totals)
    table = add_rate(table, "searches", "_total", "share", confidence).drop(columns="_total")
    order = [
        *by,
        "ethnic_group",
        "searches",
        "share",
        "share_low",
        "share_high",
        "arrests",
        "arrest_rate",
        "arrest_rate_low",
        "arrest_rate_high",
        "positive_outcomes",
        "positive_rate",
        "positive_rate_low",
        "positive_rate_high",
    ]
    return table[order]
