"""Financial-year periods: the calendar of police performance reporting.

The police financial year runs from April to March and is labelled by its two calendar
years, e.g. ``2010/11`` for April 2010 to March 2011. Quarter 1 is April to June.
Months are :class:`pandas.Period` values with monthly frequency.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mpsanalysis.errors import ParameterError

__all__ = [
    "check_monthly_series",
    "Window",
    "Quarter",
    "parse_month",
    "financial_year",
    "financial_year_label",
    "parse_financial_year",
    "financial_year_window",
    "fytd_window",
    "same_period_last_year",
    "months_elapsed",
    "rolling_12_months",
    "quarter_of",
    "parse_quarter",
    "latest_complete_quarter",
]

_MONTH_RE = re.compile(r"^(\d{4})-?(\d{2})$")
_FY_RE = re.compile(r"^(\d{4})[/-](\d{2})$")
_QUARTER_RE = re.compile(r"^(\d{4}[/-]\d{2})-?Q([1-4])$", re.IGNORECASE)


def parse_month(value: str | pd.Period, parameter: str = "period_end") -> pd.Period:
    """A month from ``YYYY-MM`` (or ``YYYYMM``), validated.

    Parameters
    ----------
    value : str or pandas.Period
        The month.
    parameter : str
        The parameter's name, used in the error message.

    Raises
    ------
    ParameterError
        When the value is not a month.

    Examples
    --------
    >>> parse_month("2010-10")
    Period('2010-10', 'M')
    >>> parse_month("2010-13")
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.ParameterError: period_end '2010-13' is not a month: expected YYYY-MM
    """
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    match = _MONTH_RE.match(str(value).strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
        raise ParameterError(f"{parameter} {value!r} is not a month: expected YYYY-MM")
    return pd.Period(year=int(match.group(1)), month=int(match.group(2)), freq="M")


def financial_year(month: str | pd.Period) -> int:
    """The financial year a month falls in, as the calendar year of its April.

    Examples
    --------
    >>> financial_year("2010-10"), financial_year("2011-03"), financial_year("2011-04")
    (2010, 2010, 2011)
    """
    month = parse_month(month, "month")
    return month.year if month.month >= 4 else month.year - 1


def financial_year_label(start_year: int) -> str:
    """The label of a financial year: ``2010/11``.

    Examples
    --------
    >>> financial_year_label(2010), financial_year_label(1999)
    ('2010/11', '1999/00')
    """
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def parse_financial_year(label: str, parameter: str = "financial_year") -> int:
    """The start year of a financial year label such as ``2010/11`` (or ``2010-11``).

    Examples
    --------
    >>> parse_financial_year("2010/11")
    2010
    >>> parse_financial_year("2010/12")
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.ParameterError: financial_year '2010/12' is not a financial year: expected e.g. 2010/11
    """
    match = _FY_RE.match(str(label).strip())
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ParameterError(
            f"{parameter} {label!r} is not a financial year: expected e.g. 2010/11"
        )
    return int(match.group(1))


@dataclass(frozen=True)
class Window:
    """A run of consecutive months, first and last included.

    Examples
    --------
    >>> w = Window(parse_month("2010-04"), parse_month("2010-10"))
    >>> len(w), w.label
    (7, 'Apr 2010 to Oct 2010')
    """

    start: pd.Period
    end: pd.Period

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ParameterError(f"window ends ({self.end}) before it starts ({self.start})")

    @property
    def months(self) -> pd.PeriodIndex:
        """Every month of the window."""
        return pd.period_range(self.start, self.end, freq="M")

    def __len__(self) -> int:
        return (self.end - self.start).n + 1

    def __contains__(self, month: object) -> bool:
        return isinstance(month, pd.Period) and self.start <= month <= self.end

    def shift(self, months: int) -> Window:
        """The same window moved by a number of months."""
        return Window(self.start + months, self.end + months)

    @property
    def label(self) -> str:
        """Human label, e.g. ``Apr 2010 to Oct 2010``."""
        return f"{self.start.strftime('%b %Y')} to {self.end.strftime('%b %Y')}"


def financial_year_window(start_year: int) -> Window:
    """April to March of a financial year.

    Examples
    --------
    >>> financial_year_window(2010).label
    'Apr 2010 to Mar 2011'
    """
    return Window(
        pd.Period(year=start_year, month=4, freq="M"),
        pd.Period(year=start_year + 1, month=3, freq="M"),
    )


def fytd_window(period_end: str | pd.Period) -> Window:
    """The financial year to date ending in ``period_end``.

    Examples
    --------
    >>> fytd_window("2010-10").label
    'Apr 2010 to Oct 2010'
    >>> fytd_window("2011-02").label
    'Apr 2010 to Feb 2011'
    """
    end = parse_month(period_end)
    return Window(pd.Period(year=financial_year(end), month=4, freq="M"), end)


def same_period_last_year(window: Window) -> Window:
    """The same months one year earlier.

    Examples
    --------
    >>> same_period_last_year(fytd_window("2010-10")).label
    'Apr 2009 to Oct 2009'
    """
    return window.shift(-12)


def months_elapsed(period_end: str | pd.Period) -> int:
    """Months of the financial year completed by the end of ``period_end`` (1 to 12).

    Examples
    --------
    >>> months_elapsed("2010-04"), months_elapsed("2010-10"), months_elapsed("2011-03")
    (1, 7, 12)
    """
    return len(fytd_window(period_end))


def rolling_12_months(period_end: str | pd.Period) -> Window:
    """The 12 months ending in ``period_end``.

    Examples
    --------
    >>> rolling_12_months("2010-10").label
    'Nov 2009 to Oct 2010'
    """
    end = parse_month(period_end)
    return Window(end - 11, end)


@dataclass(frozen=True, order=True)
class Quarter:
    """A financial-year quarter: Q1 is April to June.

    Examples
    --------
    >>> q = Quarter(2010, 2)
    >>> q.label, str(q.end_month), q.window.label
    ('2010/11-Q2', '2010-09', 'Jul 2010 to Sep 2010')
    """

    financial_year: int
    number: int

    def __post_init__(self) -> None:
        if self.number not in (1, 2, 3, 4):
            raise ParameterError(f"quarter number {self.number} is not 1 to 4")

    @property
    def label(self) -> str:
        return f"{financial_year_label(self.financial_year)}-Q{self.number}"

    @property
    def end_month(self) -> pd.Period:
        return pd.Period(year=self.financial_year, month=4, freq="M") + 3 * self.number - 1

    @property
    def window(self) -> Window:
        return Window(self.end_month - 2, self.end_month)


def quarter_of(month: str | pd.Period) -> Quarter:
    """The financial-year quarter a month falls in.

    Examples
    --------
    >>> quarter_of("2010-10").label, quarter_of("2011-01").label
    ('2010/11-Q3', '2010/11-Q4')
    """
    month = parse_month(month, "month")
    fy = financial_year(month)
    offset = (month - pd.Period(year=fy, month=4, freq="M")).n
    return Quarter(fy, offset // 3 + 1)


def latest_complete_quarter(
    last_month: str | pd.Period, present: Collection[pd.Period] | None = None
) -> Quarter:
    """The most recent quarter whose three months all fall on or before ``last_month``
    (and, when ``present`` is given, are all in it: a quarter with a month that no file
    supplies is skipped).

    Examples
    --------
    >>> latest_complete_quarter("2025-12").label
    '2025/26-Q3'
    >>> latest_complete_quarter("2025-11").label
    '2025/26-Q2'
    >>> months = set(pd.period_range("2023-04", "2024-02", freq="M")) - {pd.Period("2023-12")}
    >>> latest_complete_quarter("2024-02", present=months).label
    '2023/24-Q2'
    """
    last = parse_month(last_month, "last_month")
    quarter = quarter_of(last)
    if quarter.end_month != last:
        quarter = quarter_of(quarter.end_month - 3)
    if present is None:
        return quarter
    earliest = min(present, default=last)
    while quarter.end_month >= earliest:
        if all(month in present for month in quarter.window.months):
            return quarter
        quarter = quarter_of(quarter.end_month - 3)
    raise ParameterError("quarter 'latest': no quarter has all three months in the data")


def parse_quarter(
    value: str,
    last_month: str | pd.Period | None = None,
    present: Collection[pd.Period] | None = None,
) -> Quarter:
    """A quarter from ``2010/11-Q2`` (or ``2010-11-Q2``), or ``latest``.

    Parameters
    ----------
    value : str
        The quarter label, or ``latest`` for the latest complete quarter.
    last_month : str or pandas.Period, optional
        The last month with data; required for ``latest``.

    Examples
    --------
    >>> parse_quarter("2010/11-Q2").label
    '2010/11-Q2'
    >>> parse_quarter("latest", last_month="2023-11").label
    '2023/24-Q2'
    >>> parse_quarter("2010-Q5")
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.ParameterError: quarter '2010-Q5' is not a quarter: expected e.g. 2010/11-Q2 or 'latest'
    """
    text = str(value).strip()
    if text.lower() == "latest":
        if last_month is None:
            raise ParameterError("quarter 'latest' needs the last month with data")
        return latest_complete_quarter(last_month, present)
    match = _QUARTER_RE.match(text)
    if not match:
        raise ParameterError(
            f"quarter {value!r} is not a quarter: expected e.g. 2010/11-Q2 or 'latest'"
        )
    return Quarter(parse_financial_year(match.group(1), "quarter"), int(match.group(2)))


def check_monthly_series(values: pd.Series, name: str = "values") -> pd.Series:
    """Check a monthly series and return it as floats on a complete monthly PeriodIndex.

    Absent months become NaN, never zero. Every statistic on monthly counts starts here.

    Examples
    --------
    >>> s = pd.Series([3, 5], index=pd.PeriodIndex(["2010-04", "2010-06"], freq="M"))
    >>> check_monthly_series(s).tolist()
    [3.0, nan, 5.0]
    """
    if not isinstance(values, pd.Series):
        raise ParameterError(f"{name} must be a pandas Series indexed by month")
    if not isinstance(values.index, pd.PeriodIndex) or values.index.freqstr not in ("M", "ME"):
        raise ParameterError(
            f"{name} must be indexed by monthly pandas Periods "
            "(e.g. pd.period_range('2010-04', periods=24, freq='M'))"
        )
    if values.index.has_duplicates:
        duplicated = sorted({str(m) for m in values.index[values.index.duplicated()]})
        raise ParameterError(f"{name} has more than one value for month(s) {', '.join(duplicated)}")
    try:
        numbers = pd.to_numeric(values, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numbers: {exc}") from None
    if np.isinf(numbers.to_numpy()).any():
        raise ParameterError(f"{name} contains an infinite value")
    if numbers.notna().sum() == 0:
        raise ParameterError(f"{name} has no months with data")
    numbers = numbers.sort_index()
    full = pd.period_range(numbers.index.min(), numbers.index.max(), freq="M")
    return numbers.reindex(full)
