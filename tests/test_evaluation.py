"""Tests for mpsanalysis.stats.evaluation (interrupted time series).

Synthetic series are built in the tests from known parameters: a noise-free series must
give back exactly the rate ratios it was built with, and seeded Poisson series with a
known step of 0.7 must give intervals that contain 0.7 about as often as they claim.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mpsanalysis.errors import ParameterError
from mpsanalysis.stats.evaluation import evaluate_intervention, plot_intervention

matplotlib.use("Agg")

MONTHS = pd.period_range("2010-04", periods=72, freq="M")  # 48 before, 24 from 2014-04
T = np.arange(72, dtype=float)
CALENDAR_MONTH = np.array([m.month for m in MONTHS], dtype=float)
POST = (T >= 48).astype(float)
SEASON = 0.10 * np.sin(2 * np.pi * CALENDAR_MONTH / 12) + 0.05 * np.cos(
    2 * np.pi * CALENDAR_MONTH / 12
)


def expected_counts(step=0.7, slope=0.99, base=200.0, trend=0.002):
    """mu_t = base exp(trend t) step^P (slope)^((t-48) P) exp(season): the true model."""
    log_mu = (
        math.log(base)
        + trend * T
        + math.log(step) * POST
        + math.log(slope) * (T - 48) * POST
        + SEASON
    )
    return np.exp(log_mu)


def test_noise_free_series_recovers_the_parameters_it_was_built_with():
    mu = expected_counts(step=0.7, slope=0.99)
    result = evaluate_intervention(pd.Series(mu, index=MONTHS), "2014-04")
    assert result["step_rate_ratio"] == pytest.approx(0.7, rel=1e-6)
    assert result["slope_rate_ratio"] == pytest.approx(0.99, rel=1e-6)
    assert result["dispersion"] == pytest.approx(0.0, abs=1e-8)
    # Counterfactual: the same model without the step and slope terms.
    counterfactual = np.exp(math.log(200) + 0.002 * T + SEASON)
    np.testing.assert_allclose(result["table"]["counterfactual"], counterfactual, rtol=1e-6)
    np.testing.assert_allclose(result["table"]["fitted"], mu, rtol=1e-6)
    post = result["post_period"]
    assert post.index[0] == pd.Period("2014-04", "M") and len(post) == 24
    np.testing.assert_allclose(post["difference"], mu[48:] - counterfactual[48:], rtol=1e-6)
    assert result["n_before"] == 48 and result["n_after"] == 24
    assert "exactly" in " ".join(result["notes"])


def test_month_dummies_recover_a_step_with_arbitrary_seasonality():
    # Seasonal multipliers with no Fourier shape; April is the reference month.
    factors = {4: 1.0, 5: 1.3, 6: 0.8, 7: 1.1, 8: 0.9, 9: 1.2, 10: 1.0, 11: 0.7, 12: 1.4,
               1: 0.9, 2: 1.05, 3: 0.95}  # fmt: skip
    season = np.array([factors[int(m)] for m in CALENDAR_MONTH])
    mu = 300 * np.exp(-0.001 * T) * np.where(T >= 48, 1.25, 1.0) * season
    result = evaluate_intervention(pd.Series(mu, index=MONTHS), "2014-04", seasonal="dummies")
    assert result["step_rate_ratio"] == pytest.approx(1.25, rel=1e-6)
    assert result["slope_rate_ratio"] == pytest.approx(1.0, abs=1e-8)


def test_poisson_series_ci_contains_the_injected_step():
    rng = np.random.default_rng(20240401)
    y = rng.poisson(expected_counts(step=0.7, slope=1.0)).astype(float)
    result = evaluate_intervention(pd.Series(y, index=MONTHS), "2014-04")
    assert result["step_ci_low"] < 0.7 < result["step_ci_high"]
    assert result["slope_ci_low"] < 1.0 < result["slope_ci_high"]
    assert result["step_p_value"] < 0.001
    # Poisson data: dispersion near 1 (Pearson X2/df has sd about sqrt(2/63) = 0.18).
    assert 0.5 < result["dispersion"] < 1.6


def test_interval_coverage_over_many_seeded_series():
    # 60 independent Poisson series with a true step of 0.7: a 95% interval should
    # contain 0.7 in about 57 of 60; binomial(60, 0.95) gives fewer than 52 with
    # probability below 0.5%.
    rng = np.random.default_rng(7)
    mu = expected_counts(step=0.7, slope=1.0)
    covered = 0
    for _ in range(60):
        y = pd.Series(rng.poisson(mu).astype(float), index=MONTHS)
        result = evaluate_intervention(y, "2014-04")
        covered += result["step_ci_low"] < 0.7 < result["step_ci_high"]
    assert covered >= 52


def test_overdispersed_counts_raise_the_dispersion():
    # Negative binomial with mean mu and size k = 50 has variance mu + mu^2 / 50, so
    # Pearson dispersion ~ 1 + mu / 50 ~ 1 + 200 / 50 = 5 for mu around 200.
    rng = np.random.default_rng(11)
    mu = expected_counts(step=0.7, slope=1.0)
    k = 50.0
    y = rng.negative_binomial(k, k / (k + mu)).astype(float)
    result = evaluate_intervention(pd.Series(y, index=MONTHS), "2014-04")
    assert 3.0 < result["dispersion"] < 7.5
    assert result["step_ci_low"] < 0.7 < result["step_ci_high"]
    assert any("Poisson" in note for note in result["notes"])


def test_missing_months_are_left_out_not_zero():
    mu = expected_counts(step=0.8, slope=1.0)
    series = pd.Series(mu, index=MONTHS)
    series.iloc[[5, 30, 60]] = np.nan
    result = evaluate_intervention(series, "2014-04")
    assert result["step_rate_ratio"] == pytest.approx(0.8, rel=1e-6)  # zeros would bias it
    assert result["n_before"] == 46 and result["n_after"] == 23
    assert "3 month(s) with no data" in result["notes"][0]
    assert np.isnan(result["table"]["observed"].iloc[5])
    assert np.isfinite(result["table"]["fitted"].iloc[5])


def test_summary_sentence():
    result = evaluate_intervention(pd.Series(expected_counts(0.7, 1.0), index=MONTHS), "2014-04")
    assert result["summary"].startswith("From 2014-04, the count was 30% lower than")


@pytest.mark.parametrize(
    ("start", "length", "message"),
    [
        ("2011-02", 72, "at least 12 months"),  # only 10 months before
        ("2015-11", 72, "at least 12 months"),  # only 5 months from the start
        ("2010-04", 72, "after the first month"),
        ("2030-01", 72, "no later than the last month"),
        ("2014-13", 72, "not a month"),
    ],
)
def test_invalid_start(start, length, message):
    series = pd.Series(expected_counts()[:length], index=MONTHS[:length])
    with pytest.raises(ParameterError, match=message):
        evaluate_intervention(series, start)


def test_invalid_options():
    series = pd.Series(expected_counts(), index=MONTHS)
    with pytest.raises(ParameterError, match="seasonal"):
        evaluate_intervention(series, "2014-04", seasonal="weekly")
    with pytest.raises(ParameterError, match="n_harmonics"):
        evaluate_intervention(series, "2014-04", n_harmonics=7)
    with pytest.raises(ParameterError, match="negative"):
        evaluate_intervention(-series, "2014-04")


def test_plot_intervention():
    import matplotlib.pyplot as plt

    result = evaluate_intervention(pd.Series(expected_counts(), index=MONTHS), "2014-04")
    ax = plot_intervention(result, "Operation Example")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Expected without the operation" in labels and "Start (2014-04)" in labels
    plt.close(ax.figure)


# --- issue 15: separation and all-zero series in plain words ---------------------------


def test_every_month_after_the_start_zero_is_refused_in_plain_words():
    # Before: a step rate ratio of about 4e-12 with no warning.
    counts = pd.Series(np.where(T >= 48, 0.0, 50.0), index=MONTHS)
    with pytest.raises(ParameterError, match="every month from 2014-04 is zero"):
        evaluate_intervention(counts, "2014-04", seasonal="none")


def test_every_month_before_the_start_zero_is_refused():
    counts = pd.Series(np.where(T >= 48, 30.0, 0.0), index=MONTHS)
    with pytest.raises(ParameterError, match="every month before 2014-04 is zero"):
        evaluate_intervention(counts, "2014-04", seasonal="none")


def test_all_zero_series_is_refused_in_plain_words():
    # Before: a raw statsmodels error.
    counts = pd.Series(0.0, index=MONTHS)
    with pytest.raises(ParameterError, match="every month of the series is zero"):
        evaluate_intervention(counts, "2014-04")
