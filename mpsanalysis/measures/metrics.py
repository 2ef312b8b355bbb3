"""Financial-year-to-date comparisons and simple year-end forecasts.

These are the figures of the quarterly reports to the police authority: the count so
far this financial year, the same period last year, the change, and where the year is
heading if the present rate continues.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Integral, Real

import pandas as pd

from mpsanalysis import periods
from mpsanalysis.errors import DataValidationError, ParameterError

__all__ = [
    "FytdComparison",
    "compare_fytd",
    "percent_change",
    "forecast_run_rate",
    "forecast_seasonal_profile",
    "sum_window",
]


def percent_change(current: float, previous: float) -> float:
    """Percentage change from ``previous`` to ``current``; NaN when previous is 0 or missing.

    Examples
    --------
    >>> round(percent_change(5296, 5187), 1)
    2.1
    >>> math.isnan(percent_change(3, 0))
    True
    """
    if previous is None or current is None:
        return math.nan
    if pd.isna(previous) or pd.isna(current) or previous == 0:
        return math.nan
    return (current - previous) / previous * 100.0


def _check_total(value, name: str) -> float:
    """A count total: a finite, non-negative number (not bool)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number of crimes, not {value!r}")
    if value < 0:
        raise ParameterError(f"{name} must not be negative, got {value!r}")
    return float(value)


def forecast_run_rate(fytd_total: float, months_elapsed: int) -> float:
    """Year-end forecast at the present monthly rate: FYTD × 12 / months elapsed.

    This is the method of the reference reports ("if the number of reported offences
    continues at the present rate, it should reach around 9,000").

    Parameters
    ----------
    fytd_total : float
        The total so far this financial year.
    months_elapsed : int
        Months of the financial year completed (1 to 12).

    Examples
    --------
    The Child Abuse Investigation Command, April to October 2010 (7 months):

    >>> round(forecast_run_rate(5296, 7))
    9079

    Fractional months, NaN and negative totals are refused:

    >>> forecast_run_rate(100, 7.9)
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.ParameterError: months_elapsed 7.9 must be a whole number of months from 1 to 12
    """
    value: object = months_elapsed
    whole = (isinstance(value, Integral) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )
    if not whole or not 1 <= months_elapsed <= 12:
        raise ParameterError(
            f"months_elapsed {months_elapsed!r} must be a whole number of months from 1 to 12"
        )
    total = _check_total(fytd_total, "fytd_total")
    return total * 12.0 / int(months_elapsed)


def forecast_seasonal_profile(
    fytd_total: float, last_year_fytd: float, last_year_total: float
) -> float:
    """Year-end forecast assuming this year follows last year's seasonal profile.

    forecast = FYTD × (last year's full-year total / last year's same-period total).

    Examples
    --------
    Last year 4,000 by October and 7,000 for the year; 4,400 so far this year:

    >>> forecast_seasonal_profile(4400, 4000, 7000)
    7700.0

    A missing (NaN) or zero figure for last year gives NaN; the current total must be
    a finite count, and no total may be negative.
    """
    _check_total(fytd_total, "fytd_total")
    for name, value in (("last_year_fytd", last_year_fytd), ("last_year_total", last_year_total)):
        if value is not None and not pd.isna(value) and value < 0:
            raise ParameterError(f"{name} must not be negative, got {value!r}")
    if last_year_fytd is None or pd.isna(last_year_fytd) or last_year_fytd <= 0:
        return math.nan
    if last_year_total is None or pd.isna(last_year_total):
        return math.nan
    return float(fytd_total) * float(last_year_total) / float(last_year_fytd)


def sum_window(monthly: pd.Series, window: periods.Window) -> tuple[float, list[pd.Period]]:
    """Sum a monthly series over a window, and list the window's months with no data.

    A month that is absent or NaN is missing, never zero: the sum is NaN when any month
    is missing, and the missing months are returned so the report can say which.

    Examples
    --------
    >>> s = pd.Series([1.0, 2.0, None], index=pd.period_range("2010-04", periods=3, freq="M"))
    >>> sum_window(s, periods.fytd_window("2010-05"))
    (3.0, [])
    >>> total, missing = sum_window(s, periods.fytd_window("2010-06"))
    >>> math.isnan(total), [str(m) for m in missing]
    (True, ['2010-06'])
    """
    values = monthly.reindex(window.months)
    missing = [m for m, v in values.items() if pd.isna(v)]
    if missing:
        return math.nan, missing
    return float(values.sum()), []


@dataclass(frozen=True)
class FytdComparison:
    """The headline figures for one measure and one financial-year-to-date window."""

    period_end: str
    months_elapsed: int
    current: float
    previous: float
    change: float
    percent_change: float
    last_year_total: float
    forecast_run_rate: float
    forecast_seasonal: float
    missing_months: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def compare_fytd(monthly: pd.Series, period_end: str | pd.Period) -> FytdComparison:
    """Compare the financial year to date with the same period last year.

    Parameters
    ----------
    monthly : pandas.Series
        Counts indexed by monthly :class:`pandas.Period`; missing months absent or NaN.
    period_end : str or pandas.Period
        Last month of the reporting period, ``YYYY-MM``.

    Returns
    -------
    FytdComparison
        current and previous totals, absolute and % change, last year's full-year total,
        and the run-rate and seasonal-profile year-end forecasts. Figures that depend on
        a missing month are NaN and the months are listed in ``missing_months``.

    Examples
    --------
    >>> idx = pd.period_range("2009-04", "2010-10", freq="M")
    >>> s = pd.Series(100.0, index=idx)
    >>> s[s.index >= pd.Period("2010-04", "M")] = 110.0
    >>> c = compare_fytd(s, "2010-10")
    >>> c.current, c.previous, c.change, round(c.percent_change, 1), c.forecast_run_rate
    (770.0, 700.0, 70.0, 10.0, 1320.0)
    >>> c.forecast_seasonal, c.last_year_total
    (1320.0, 1200.0)
    """
    end = periods.parse_month(period_end)
    negative = monthly[monthly < 0]
    if len(negative):
        raise DataValidationError(
            f"monthly has a negative count in {negative.index[0]}: {negative.iloc[0]!r}"
        )
    window = periods.fytd_window(end)
    last_window = periods.same_period_last_year(window)
    current, missing_now = sum_window(monthly, window)
    previous, missing_then = sum_window(monthly, last_window)
    last_year_total, missing_year = sum_window(
        monthly, periods.financial_year_window(periods.financial_year(end) - 1)
    )
    elapsed = len(window)
    run_rate = math.nan if math.isnan(current) else forecast_run_rate(current, elapsed)
    seasonal = (
        math.nan
        if math.isnan(current)
        else forecast_seasonal_profile(current, previous, last_year_total)
    )
    missing = sorted({str(m) for m in missing_now + missing_then + missing_year})
    return FytdComparison(
        period_end=str(end),
        months_elapsed=elapsed,
        current=current,
        previous=previous,
        change=current - previous,
        percent_change=percent_change(current, previous),
        last_year_total=last_year_total,
        forecast_run_rate=run_rate,
        forecast_seasonal=seasonal,
        missing_months=tuple(missing),
    )
