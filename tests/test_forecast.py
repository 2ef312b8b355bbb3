"""Tests for mpsanalysis.stats.forecast.

Synthetic series are built in the tests with known year-end totals (worked by hand in the
comments); seeded Poisson series check that the 80% prediction interval covers the true
total about as often as it claims. One test (marked ``realdata``) back-tests the methods
on the published London "Violence with Injury" series.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mpsanalysis import paths
from mpsanalysis.errors import ParameterError
from mpsanalysis.stats.forecast import (
    backtest_year_end,
    forecast_year_end_model,
    plot_forecast,
    summarise_backtest,
)

matplotlib.use("Agg")

# A purely seasonal pattern, April to March; its yearly total is
# 100+110+120+130+125+115+105 (Apr-Oct = 805) + 95+90+85+95+100 (Nov-Mar = 465) = 1270.
SEASON = [100, 110, 120, 130, 125, 115, 105, 95, 90, 85, 95, 100]


def seasonal_series(n_months: int, start: str = "2010-04") -> pd.Series:
    months = pd.period_range(start, periods=n_months, freq="M")
    return pd.Series([float(SEASON[i % 12]) for i in range(n_months)], index=months)


@pytest.mark.parametrize("method", ["ets", "ets_multiplicative", "sarima"])
def test_noise_free_seasonal_series_forecasts_the_known_total(method):
    # 2010-04 .. 2014-10 (55 months): FYTD 2014/15 = 805, remaining 465, total 1270.
    result = forecast_year_end_model(
        seasonal_series(55), "2014-10", method=method, n_simulations=100
    )
    assert result["fytd_actual"] == 805.0
    assert result["months_elapsed"] == 7 and result["months_remaining"] == 5
    assert result["financial_year"] == "2014/15"
    assert abs(result["forecast"] - 1270) / 1270 < 0.01
    assert result["lower"] <= result["forecast"] <= result["upper"]
    assert result["upper"] - result["lower"] < 0.02 * 1270
    assert result["method"] == method


def test_prediction_interval_coverage_on_seeded_poisson_series():
    # 20 independent series: level 2000 with +/-10% seasonality, slight upward trend and
    # Poisson noise; forecast from October 2014 and check the true 2014/15 total lies in
    # the 80% interval. Expect 16 of 20; Binomial(20, 0.8) gives 10 or fewer with
    # probability 0.26%.
    rng = np.random.default_rng(2014)
    months = pd.period_range("2010-04", periods=60, freq="M")  # to 2015-03
    t = np.arange(60)
    mean = 2000 * (1 + 0.10 * np.sin(2 * np.pi * t / 12)) * (1 + 0.002 * t)
    covered = 0
    for _ in range(20):
        y = pd.Series(rng.poisson(mean).astype(float), index=months)
        actual = y["2014-04":"2015-03"].sum()
        result = forecast_year_end_model(y, "2014-10", n_simulations=1000)
        covered += result["lower"] <= actual <= result["upper"]
    assert covered >= 11


def test_complete_year_returns_the_actual():
    series = seasonal_series(48)  # 2010-04 .. 2014-03
    result = forecast_year_end_model(series, "2014-03", target=1300)
    assert result["forecast"] == result["lower"] == result["upper"] == 1270.0
    assert result["months_remaining"] == 0
    assert result["prob_meeting_target"] == 1.0  # 1270 <= 1300
    assert (
        forecast_year_end_model(series, "2014-03", target=1300, target_direction="up")[
            "prob_meeting_target"
        ]
        == 0.0
    )
    assert "complete" in result["notes"][0]


def test_months_after_period_end_are_ignored():
    series = seasonal_series(55)
    noisy_future = pd.concat(
        [series, pd.Series([99999.0] * 5, index=pd.period_range("2014-11", periods=5, freq="M"))]
    )
    a = forecast_year_end_model(series, "2014-10")
    b = forecast_year_end_model(noisy_future, "2014-10")
    assert (a["forecast"], a["lower"], a["upper"]) == (b["forecast"], b["lower"], b["upper"])


def test_january_forecast_covers_february_and_march():
    series = seasonal_series(46)  # 2010-04 .. 2014-01
    result = forecast_year_end_model(series, "2014-01")
    assert result["financial_year"] == "2013/14"
    assert result["months_elapsed"] == 10 and result["months_remaining"] == 2
    assert [str(m) for m in result["monthly_forecast"].index] == ["2014-02", "2014-03"]
    # FYTD Apr-Jan = 1270 - 95 - 100 = 1075
    assert result["fytd_actual"] == 1075.0


def test_path_ends_at_the_year_end_figures():
    rng = np.random.default_rng(3)
    months = pd.period_range("2010-04", periods=55, freq="M")
    y = pd.Series(rng.poisson(1000, size=55).astype(float), index=months)
    result = forecast_year_end_model(y, "2014-10")
    path = result["path"]
    assert len(path) == 12 and str(path.index[-1]) == "2015-03"
    assert path["cumulative"].iloc[-1] == pytest.approx(result["forecast"])
    assert path["cumulative_lower"].iloc[-1] == pytest.approx(result["lower"])
    assert path["cumulative_upper"].iloc[-1] == pytest.approx(result["upper"])
    assert path["cumulative"].iloc[6] == pytest.approx(y["2014-04":"2014-10"].sum())


def test_probability_of_meeting_target():
    rng = np.random.default_rng(5)
    months = pd.period_range("2010-04", periods=55, freq="M")
    y = pd.Series(rng.poisson(1000, size=55).astype(float), index=months)
    base = forecast_year_end_model(y, "2014-10")
    assert forecast_year_end_model(y, "2014-10", target=1e6)["prob_meeting_target"] == 1.0
    assert forecast_year_end_model(y, "2014-10", target=0)["prob_meeting_target"] == 0.0
    up = forecast_year_end_model(y, "2014-10", target=1e6, target_direction="up")
    assert up["prob_meeting_target"] == 0.0
    # At the point forecast the chance is near a half (the simulated total is symmetric).
    middle = forecast_year_end_model(y, "2014-10", target=base["forecast"])
    assert 0.35 < middle["prob_meeting_target"] < 0.65


def test_gaps_in_history_are_interpolated_for_fitting_only():
    series = seasonal_series(55)
    series.loc[pd.Period("2012-06", "M")] = np.nan
    result = forecast_year_end_model(series, "2014-10")
    assert "2012-06" in result["notes"][0] and "interpolation" in result["notes"][0]
    assert result["fytd_actual"] == 805.0
    assert abs(result["forecast"] - 1270) / 1270 < 0.01


def test_missing_month_in_the_year_to_date_is_an_error():
    series = seasonal_series(55)
    series.loc[pd.Period("2014-06", "M")] = np.nan
    with pytest.raises(ParameterError, match="no data for 2014-06"):
        forecast_year_end_model(series, "2014-10")


def test_too_little_history_names_the_months_available():
    # 2010-04 .. 2012-10 is 31 months
    with pytest.raises(ParameterError, match=r"has 31 \(2010-04 to 2012-10\)"):
        forecast_year_end_model(seasonal_series(31), "2012-10")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "run_rate"}, "not a model"),
        ({"target_direction": "lower"}, "target_direction"),
        ({"interval": 80}, "interval"),
        ({"n_simulations": 10}, "at least 100"),
        ({"target": "many"}, "target"),
        ({"period_end": "2030-01"}, "outside the data"),
    ],
)
def test_invalid_arguments(kwargs, message):
    arguments = {"monthly": seasonal_series(55), "period_end": "2014-10"} | kwargs
    with pytest.raises(ParameterError, match=message):
        forecast_year_end_model(**arguments)


def test_backtest_by_hand():
    # 100 a month April-October and 200 November-March: every year 700 by October,
    # 1700 in all. Run rate: 700 x 12 / 7 = 1200, error -500, -29.41%.
    # Seasonal profile: 700 x 1700 / 700 = 1700, error 0. ETS: within 1% of 1700.
    # Years with 36 months up to October: 2013/14 (43 months from 2010-04) onwards.
    months = pd.period_range("2010-04", periods=72, freq="M")  # to 2016-03
    counts = pd.Series([100.0 if 4 <= m.month <= 10 else 200.0 for m in months], index=months)
    table = backtest_year_end(counts)
    assert list(table.columns) == [
        "financial_year",
        "method",
        "forecast",
        "actual",
        "error",
        "pct_error",
    ]
    assert table["financial_year"].unique().tolist() == ["2013/14", "2014/15", "2015/16"]
    assert table["method"].tolist() == ["run_rate", "seasonal_profile", "ets"] * 3
    run_rate = table[table["method"] == "run_rate"]
    assert run_rate["forecast"].tolist() == pytest.approx([1200.0] * 3)
    assert run_rate["error"].tolist() == pytest.approx([-500.0] * 3)
    assert run_rate["pct_error"].tolist() == pytest.approx([-500 / 1700 * 100] * 3)
    profile = table[table["method"] == "seasonal_profile"]
    assert profile["error"].tolist() == pytest.approx([0.0] * 3, abs=1e-9)
    ets = table[table["method"] == "ets"]
    assert (ets["pct_error"].abs() < 1).all()
    assert (table["actual"] == 1700.0).all()


def test_backtest_simple_methods_use_years_with_a_previous_year():
    # Without a model, 2011/12 onwards qualify (2010/11 has no previous year).
    months = pd.period_range("2010-04", periods=36, freq="M")
    counts = pd.Series([100.0 if 4 <= m.month <= 10 else 200.0 for m in months], index=months)
    table = backtest_year_end(counts, methods=("run_rate", "seasonal_profile"))
    assert table["financial_year"].unique().tolist() == ["2011/12", "2012/13"]
    only_run_rate = backtest_year_end(counts, methods=["run_rate"])
    assert only_run_rate["financial_year"].tolist() == ["2010/11", "2011/12", "2012/13"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"forecast_month": 3}, "other than 3"),
        ({"forecast_month": 13}, "1 to 12"),
        ({"methods": ("crystal_ball",)}, "unknown method"),
    ],
)
def test_backtest_invalid_arguments(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        backtest_year_end(seasonal_series(72), **kwargs)


def test_backtest_without_enough_history():
    with pytest.raises(ParameterError, match="no financial year"):
        backtest_year_end(seasonal_series(30))


def test_summarise_backtest_by_hand():
    table = pd.DataFrame(
        {
            "financial_year": ["2013/14", "2014/15", "2013/14", "2014/15"],
            "method": ["run_rate", "run_rate", "ets", "ets"],
            "forecast": [104.0, 97.0, 101.0, 99.0],
            "actual": [100.0] * 4,
            "error": [4.0, -3.0, 1.0, -1.0],
            "pct_error": [4.0, -3.0, 1.0, -1.0],
        }
    )
    summary = summarise_backtest(table)
    assert summary.index.tolist() == ["run_rate", "ets"]
    # run rate: MAPE (4 + 3) / 2 = 3.5, bias (4 - 3) / 2 = 0.5, worst 4
    assert summary.loc["run_rate"].tolist() == [2.0, 3.5, 0.5, 4.0]
    assert summary.loc["ets"].tolist() == [2.0, 1.0, 0.0, 1.0]


def test_plot_forecast():
    import matplotlib.pyplot as plt

    result = forecast_year_end_model(seasonal_series(55), "2014-10", target=1300)
    ax = plot_forecast(result, "Violence with injury")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "80% prediction interval" in labels and "Target (1,300)" in labels
    plt.close(ax.figure)


def london_borough_crime_folder() -> Path | None:
    """The London Datastore borough crime folder in the shared data mirror, if present."""
    mirror = paths.default_mirror()
    return None if mirror is None else mirror / "london-datastore" / "borough-crime"


@pytest.mark.realdata
def test_backtest_on_london_violence_with_injury():
    folder = london_borough_crime_folder()
    if folder is None or not folder.is_dir():
        pytest.skip("the shared data mirror (../shared/data) is not beside the checkout")
    source = folder / "MPS_Borough_Level_Crime_Historical_201004-202111.csv"
    if not source.exists():
        pytest.skip(f"real data file not found: {source.name}")
    wide = pd.read_csv(source)
    rows = wide[wide["MinorText"] == "Violence with Injury"]
    month_columns = [c for c in wide.columns if str(c).isdigit() and len(str(c)) == 6]
    totals = rows[month_columns].sum()
    monthly = pd.Series(
        totals.to_numpy(dtype=float),
        index=pd.PeriodIndex([f"{c[:4]}-{c[4:]}" for c in month_columns], freq="M"),
    )
    assert str(monthly.index[0]) == "2010-04" and monthly.notna().all()
    # Up to March 2020: back-tested years 2013/14 (first with 36 months to October)
    # to 2019/20.
    table = backtest_year_end(monthly[:"2020-03"])
    years = [f"{y}/{(y + 1) % 100:02d}" for y in range(2013, 2020)]
    assert table["financial_year"].unique().tolist() == years
    assert len(table) == len(years) * 3
    assert table.groupby(["financial_year", "method"]).size().eq(1).all()
    ets = table[table["method"] == "ets"]
    assert np.isfinite(ets["error"]).all() and np.isfinite(ets["pct_error"]).all()
    # Actual totals are the plain sums of the published monthly figures.
    actual_2019 = monthly["2019-04":"2020-03"].sum()
    assert table.loc[table["financial_year"] == "2019/20", "actual"].iloc[0] == actual_2019
    assert math.isfinite(summarise_backtest(table).loc["ets", "mape"])
