"""data.police.uk outcomes: all-crime counts, positive-outcome rates with Wilson
intervals and the time from crime to outcome (tables read by
:mod:`mpsanalysis.ingest.sources.police_uk`)."""

from __future__ import annotations

import warnings as _warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mpsanalysis.errors import DataValidationError, ParameterError, check_columns
from mpsanalysis.ingest.sources.police_uk import (
    crime_type_warning,
    month_ordinals,
)
from mpsanalysis.stats.rates import add_rate

__all__ = [
    "count_all_crime",
    "compute_positive_outcome_rate",
    "compute_outcome_lag",
]


def count_all_crime(crimes: pd.DataFrame) -> pd.DataFrame:
    """All crime by month, refusing data that do not contain every crime type.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Row-level crimes (:func:`read_street_crime`).

    Returns
    -------
    pandas.DataFrame
        month and crimes (all types).

    Raises
    ------
    DataValidationError
        When any police.uk crime type is absent: the files were filtered (the mirrored
        Met files hold burglary only) and their total is not "all crime".

    Examples
    --------
    >>> c = pd.DataFrame({"month": pd.PeriodIndex(["2017-01"], freq="M"),
    ...                   "crime_type": ["Burglary"]})
    >>> count_all_crime(c)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.DataValidationError: the street files contain only 1 of the 13 ...
    """
    check_columns(crimes, ["month", "crime_type"], "count_all_crime")
    problem = crime_type_warning(crimes)
    if problem:
        raise DataValidationError(problem)
    return crimes.groupby("month").size().reset_index(name="crimes")


def compute_positive_outcome_rate(
    crimes: pd.DataFrame,
    by: Sequence[str] = ("crime_type", "borough_name"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of crimes whose last outcome is a charge or summons, with Wilson intervals.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Row-level crimes (:func:`read_street_crime` or the store's ``policeuk_crimes``).
    by : sequence of str
        Breakdown (default crime type and borough). Crimes outside London or without a
        location form their own group (missing borough), never silently dropped.
    confidence : float
        Confidence level of the Wilson interval.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``crimes``, ``positive_outcomes``, ``positive_rate``,
        ``positive_rate_low``, ``positive_rate_high``.

    Notes
    -----
    positive_rate = crimes whose *last* outcome category is positive
    (:data:`OUTCOME_CATEGORIES`) / all crimes. The last outcome can still change after
    publication (a crime "under investigation" may later be charged), so rates for
    recent months are provisional; "Status update unavailable" counts as not positive.

    Examples
    --------
    3 Camden burglaries, 1 charged: rate 1/3.

    >>> c = pd.DataFrame({"crime_type": "Burglary", "borough_name": "Camden",
    ...                   "is_positive_outcome": [True, False, False]})
    >>> compute_positive_outcome_rate(c)[["borough_name", "crimes", "positive_outcomes"]]
      borough_name  crimes  positive_outcomes
    0       Camden       3                  1
    """
    by = [by] if isinstance(by, str) else list(by)
    if not by:
        raise ParameterError("compute_positive_outcome_rate needs at least one column in `by`")
    check_columns(crimes, [*by, "is_positive_outcome"], "compute_positive_outcome_rate")
    table = (
        crimes.assign(_positive=crimes["is_positive_outcome"].astype(int))
        .groupby(by, dropna=False, observed=True)
        .agg(crimes=("_positive", "size"), positive_outcomes=("_positive", "sum"))
        .reset_index()
    )
    return add_rate(table, "positive_outcomes", "crimes", "positive_rate", confidence)


def compute_outcome_lag(
    outcomes: pd.DataFrame,
    crimes: pd.DataFrame | None = None,
    by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Distribution of months from the crime month to the outcome month.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Row-level outcomes: the store's ``policeuk_outcomes`` (which has
        ``months_to_outcome``), or :func:`read_outcomes` output (``crime_id``, ``month``)
        together with ``crimes``.
    crimes : pandas.DataFrame, optional
        Row-level crimes (``crime_id``, ``month``): needed when ``outcomes`` has no
        ``months_to_outcome`` column.
    by : sequence of str, optional
        Outcome columns to split the distribution by (e.g. ``["outcome_group"]``).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``months_to_outcome`` (0 = same month), ``outcomes``,
        ``share`` and ``cumulative_share`` (within each ``by`` group). Outcomes whose
        crime is unknown are left out (the build log counts them). When 99% or more of
        the lags are 0 although the crimes span several months, ``.attrs["warning"]``
        says why the distribution is not meaningful and a ``UserWarning`` is issued.

    Notes
    -----
    The outcomes files only cover outcomes published up to their last month, so the
    longest lags are under-represented for recent crimes (right-censoring). The mirrored
    Met files are worse: each month's outcomes file was cut down to that month's own
    crimes, so every lag is 0 and the distribution says nothing; quote the warning, not
    the distribution.

    Examples
    --------
    Crime a (Jan) charged in March: 2 months; crime b (Feb) closed in February: 0.

    >>> crimes = pd.DataFrame({"crime_id": ["a", "b"],
    ...     "month": pd.PeriodIndex(["2017-01", "2017-02"], freq="M")})
    >>> outcomes = pd.DataFrame({"crime_id": ["a", "b"],
    ...     "month": pd.PeriodIndex(["2017-03", "2017-02"], freq="M")})
    >>> compute_outcome_lag(outcomes, crimes)
       months_to_outcome  outcomes  share  cumulative_share
    0                  0         1    0.5               0.5
    1                  2         1    0.5               1.0
    """
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if crimes is not None:
        check_columns(crimes, ["crime_id", "month"], "compute_outcome_lag: crimes")
        check_columns(outcomes, ["crime_id", "month"], "compute_outcome_lag: outcomes")
        first = crimes.dropna(subset=["crime_id"]).groupby("crime_id")["month"].min()
        crime_month = outcomes["crime_id"].map(first)
        known = crime_month.notna()
        lag = pd.Series(np.nan, index=outcomes.index)
        lag[known] = outcomes.loc[known, "month"].array.asi8 - month_ordinals(crime_month[known])
    elif "months_to_outcome" in outcomes.columns:
        lag = pd.to_numeric(outcomes["months_to_outcome"], errors="coerce")
    else:
        raise ParameterError(
            "compute_outcome_lag needs outcomes with a months_to_outcome column (the store's "
            "policeuk_outcomes table) or the crimes table to work it out"
        )
    check_columns(outcomes, by, "compute_outcome_lag: outcomes")
    known = lag.notna()
    data = outcomes.loc[known, by].assign(months_to_outcome=lag[known].astype("int64"))
    table = data.groupby([*by, "months_to_outcome"], observed=True).size()
    table = table.reset_index(name="outcomes")
    totals = table.groupby(by)["outcomes"].transform("sum") if by else table["outcomes"].sum()
    table["share"] = table["outcomes"] / totals
    table["cumulative_share"] = (
        table.groupby(by)["share"].cumsum() if by else table["share"].cumsum()
    )
    months = outcomes["month"].nunique() if "month" in outcomes.columns else 0
    zero = (lag[known] == 0).mean() if known.any() else 0.0
    if months > 1 and zero >= 0.99:
        message = (
            f"{zero:.1%} of outcomes are in the month of their crime although the outcomes span "
            f"{months} months: the outcomes files were cut down to each month's own crimes, so "
            "this distribution does not show how long outcomes take."
        )
        table.attrs["warning"] = message
        _warnings.warn(message, UserWarning, stacklevel=2)
    return table
