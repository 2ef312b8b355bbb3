"""FYTD comparisons and forecasts, including back-tests on the reference reports."""

import math

import pandas as pd
import pytest

from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.measures import metrics
from mpsanalysis.report.objective import round_for_narrative


def test_compare_fytd_by_hand():
    # Apr 2009 - Mar 2010: 10 a month (year 120); Apr-Jun 2010: 12, 15, 9.
    idx = pd.period_range("2009-04", "2010-06", freq="M")
    values = [10.0] * 12 + [12.0, 15.0, 9.0]
    c = metrics.compare_fytd(pd.Series(values, index=idx), "2010-06")
    assert c.months_elapsed == 3
    assert c.current == 36.0  # 12 + 15 + 9
    assert c.previous == 30.0  # 10 + 10 + 10
    assert c.change == 6.0
    assert c.percent_change == pytest.approx(20.0)  # 6 / 30
    assert c.last_year_total == 120.0
    assert c.forecast_run_rate == pytest.approx(144.0)  # 36 * 12 / 3
    assert c.forecast_seasonal == pytest.approx(144.0)  # 36 * 120 / 30


def test_seasonal_profile_differs_from_run_rate_when_last_year_was_seasonal():
    # Last year: 20 a month Apr-Sep, 10 a month Oct-Mar (total 180); this year 22 a month.
    idx = pd.period_range("2009-04", "2010-09", freq="M")
    values = [20.0] * 6 + [10.0] * 6 + [22.0] * 6
    c = metrics.compare_fytd(pd.Series(values, index=idx), "2010-09")
    assert c.forecast_run_rate == pytest.approx(264.0)  # 132 * 12 / 6
    assert c.forecast_seasonal == pytest.approx(198.0)  # 132 * 180 / 120


def test_missing_month_is_never_zero():
    idx = pd.period_range("2009-04", "2010-06", freq="M")
    series = pd.Series(10.0, index=idx).drop(pd.Period("2010-05", "M"))
    c = metrics.compare_fytd(series, "2010-06")
    assert math.isnan(c.current) and math.isnan(c.change)
    assert c.missing_months == ("2010-05",)


def test_reference_child_abuse_figures():
    """MPA Strategic and Operational Policing Committee, 9 December 2010, para 20.

    "5,296 offences FYTD ... an increase of 2% or 109 offences ... it should reach
    around 9,000 for the financial year ... The sanction detection rate is at 26%
    (1,354)." Period: 1 April to 31 October 2010 (7 months).
    """
    current, change = 5296, 109
    previous = current - change  # 5,187
    assert round(metrics.percent_change(current, previous)) == 2  # 2.1% -> "2%"
    forecast = metrics.forecast_run_rate(current, 7)  # 5,296 x 12 / 7 = 9,078.9
    assert forecast == pytest.approx(9078.857, abs=0.01)
    assert round(forecast, -3) == 9000  # "around 9,000"
    assert round_for_narrative(forecast) == 9100  # our two-significant-figure wording
    assert round(1354 / current * 100) == 26  # "26% (1,354)"


def test_reference_criminal_network_figures():
    """Same report, para 28-29: 250 disruptions FYTD against 277; "around 420"; £18.5m of
    assets "around £30m" at year end."""
    assert 250 - 277 == -27  # "twenty-seven fewer"
    assert metrics.forecast_run_rate(250, 7) == pytest.approx(428.57, abs=0.01)
    assert abs(metrics.forecast_run_rate(250, 7) - 420) / 420 < 0.03
    assets = metrics.forecast_run_rate(18.5e6, 7)  # 31.7m
    assert abs(assets - 30e6) / 30e6 < 0.06  # "around £30m"


@pytest.mark.parametrize("months", [0, 13, -1])
def test_run_rate_rejects_bad_months(months):
    with pytest.raises(ValueError, match="months_elapsed"):
        metrics.forecast_run_rate(10, months)


# --- issue 15: the helpers refuse what they cannot count ------------------------------


@pytest.mark.parametrize("months", [7.9, 0, 13, 6.5, float("nan"), True, "7"])
def test_forecast_run_rate_refuses_fractional_or_invalid_months(months):
    # 7.9 used to be truncated silently to 7 (100 x 12 / 7 = 171.4 instead of an error).
    with pytest.raises(ParameterError, match="months_elapsed"):
        metrics.forecast_run_rate(100, months)


@pytest.mark.parametrize("total", [-1, float("nan"), float("inf"), None])
def test_forecast_run_rate_refuses_negative_or_missing_totals(total):
    with pytest.raises(ParameterError, match="fytd_total"):
        metrics.forecast_run_rate(total, 6)


def test_forecast_run_rate_accepts_whole_float_months():
    # 90 over 6.0 months: 90 x 12 / 6 = 180.
    assert metrics.forecast_run_rate(90, 6.0) == 180.0


def test_forecast_seasonal_profile_refuses_negative_counts():
    with pytest.raises(ParameterError, match="last_year_total"):
        metrics.forecast_seasonal_profile(10, 5, -7)
    with pytest.raises(ParameterError, match="fytd_total"):
        metrics.forecast_seasonal_profile(float("nan"), 5, 7)
    assert math.isnan(metrics.forecast_seasonal_profile(10, float("nan"), 7))


def test_compare_fytd_refuses_negative_counts():
    idx = pd.period_range("2009-04", "2010-06", freq="M")
    values = [10.0] * 12 + [12.0, -3.0, 9.0]
    with pytest.raises(DataValidationError, match="negative count in 2010-05"):
        metrics.compare_fytd(pd.Series(values, index=idx), "2010-06")
