"""Financial-year periods; expected values worked out on a calendar."""

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpsanalysis import periods
from mpsanalysis.errors import ParameterError

M = lambda s: pd.Period(s, "M")  # noqa: E731


@pytest.mark.parametrize(
    "month, fy, label",
    [
        ("2010-04", 2010, "2010/11"),
        ("2011-03", 2010, "2010/11"),
        ("2011-01", 2010, "2010/11"),
        ("2010-03", 2009, "2009/10"),
        ("1999-12", 1999, "1999/00"),
        ("2025-12", 2025, "2025/26"),
    ],
)
def test_financial_year(month, fy, label):
    assert periods.financial_year(month) == fy
    assert periods.financial_year_label(periods.financial_year(month)) == label


@pytest.mark.parametrize(
    "end, start, months",
    # April is month 1 of the financial year; March is month 12.
    [
        ("2010-04", "2010-04", 1),
        ("2010-10", "2010-04", 7),
        ("2011-03", "2010-04", 12),
        ("2011-02", "2010-04", 11),
        ("2024-01", "2023-04", 10),
    ],
)
def test_fytd_window(end, start, months):
    window = periods.fytd_window(end)
    assert window.start == M(start) and window.end == M(end)
    assert len(window) == months == periods.months_elapsed(end)
    assert list(window.months) == list(pd.period_range(start, end, freq="M"))


def test_same_period_last_year_and_rolling():
    last = periods.same_period_last_year(periods.fytd_window("2010-10"))
    assert (last.start, last.end) == (M("2009-04"), M("2009-10"))
    rolling = periods.rolling_12_months("2011-02")
    assert (rolling.start, rolling.end, len(rolling)) == (M("2010-03"), M("2011-02"), 12)


@pytest.mark.parametrize(
    "month, quarter",
    [
        ("2010-04", "2010/11-Q1"),
        ("2010-06", "2010/11-Q1"),
        ("2010-07", "2010/11-Q2"),
        ("2010-12", "2010/11-Q3"),
        ("2011-01", "2010/11-Q4"),
        ("2011-03", "2010/11-Q4"),
    ],
)
def test_quarter_of(month, quarter):
    assert periods.quarter_of(month).label == quarter


def test_quarter_end_and_window():
    q = periods.parse_quarter("2010/11-Q2")
    assert q.end_month == M("2010-09")
    assert (q.window.start, q.window.end) == (M("2010-07"), M("2010-09"))
    assert periods.parse_quarter("2010-11-Q4").end_month == M("2011-03")


@pytest.mark.parametrize(
    "last, expected",
    [
        ("2025-12", "2025/26-Q3"),
        ("2025-11", "2025/26-Q2"),
        ("2025-10", "2025/26-Q2"),
        ("2025-09", "2025/26-Q2"),
        ("2025-03", "2024/25-Q4"),
        ("2025-04", "2024/25-Q4"),
    ],
)
def test_latest_complete_quarter(last, expected):
    assert periods.latest_complete_quarter(last).label == expected
    assert periods.parse_quarter("latest", last_month=last).label == expected


@pytest.mark.parametrize("bad", ["2010-13", "2010-00", "10-10", "2010/10", "", "abcd-ef", "2010-1"])
def test_parse_month_rejects(bad):
    with pytest.raises(ParameterError, match="period_end"):
        periods.parse_month(bad)


@pytest.mark.parametrize("bad", ["2010/12", "2010", "2010/11-Q5", "Q2", "2010/11-Q0", "latest"])
def test_parse_quarter_rejects(bad):
    with pytest.raises(ParameterError):
        periods.parse_quarter(bad)  # 'latest' needs last_month


@given(year=st.integers(1990, 2100), month=st.integers(1, 12))
def test_fytd_properties(year, month):
    end = pd.Period(year=year, month=month, freq="M")
    window = periods.fytd_window(end)
    assert window.start.month == 4
    assert 1 <= len(window) <= 12
    assert periods.financial_year(window.start) == periods.financial_year(end)
    quarter = periods.quarter_of(end)
    assert end in quarter.window
    assert quarter.window.end <= periods.financial_year_window(quarter.financial_year).end
    assert periods.parse_quarter(quarter.label) == quarter
    assert periods.same_period_last_year(window).shift(12) == window
