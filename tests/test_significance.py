"""Tests for mpsanalysis.stats.significance.

Expected values come from published tables (Newcombe 1998a/b), from hand arithmetic
shown in comments, or from a direct re-derivation in the test (exact binomial sums with
math.comb; normal tail via math.erfc), never from running the module.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.stats.significance import (
    assess_rate_against_target,
    backtest_false_alarm_rate,
    compare_counts_overdispersed,
    compare_poisson_counts,
    compare_proportions,
    estimate_dispersion,
    format_p_value,
    wilson_interval,
    year_on_year_dispersion,
    year_on_year_pairs,
)
from mpsanalysis.stats.verdicts import assess_fytd_change


def binomial_pmf(k: int, n: int, p: float) -> float:
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


def two_sided_exact_p(k: int, n: int, p: float) -> float:
    """Sum of the probabilities of outcomes no more likely than the observed one."""
    observed = binomial_pmf(k, n, p)
    return min(
        1.0, sum(q for j in range(n + 1) if (q := binomial_pmf(j, n, p)) <= observed * (1 + 1e-7))
    )


# --- compare_poisson_counts -------------------------------------------------------------


def test_poisson_p_value_by_hand_equal_exposure():
    # 12 against 4: n = 16, p0 = 1/2, P(X = j) = C(16, j) / 2^16, symmetric, so
    # p = 2 x [C(16,0)+C(16,1)+C(16,2)+C(16,3)+C(16,4)] / 65536
    #   = 2 x (1 + 16 + 120 + 560 + 1820) / 65536 = 5034 / 65536 = 0.0768127
    result = compare_poisson_counts(12, 4)
    assert result["p_value"] == pytest.approx(5034 / 65536, rel=1e-9)
    assert result["rate_ratio"] == pytest.approx(3.0)
    assert result["direction"] == "increase"
    assert result["significant"] is False
    assert result["verdict"] == "The rise from 4 to 12 is within normal variation (p = 0.077)"


@pytest.mark.parametrize(
    ("current", "previous", "ratio"),
    [(30, 5, 2.0), (7, 19, 0.5), (41, 40, 1.0), (0, 9, 1.3), (250, 180, 1.25)],
)
def test_poisson_p_value_matches_direct_binomial_sum(current, previous, ratio):
    # Conditional test: current ~ Binomial(current + previous, r / (1 + r)).
    n = current + previous
    p0 = ratio / (1 + ratio)
    result = compare_poisson_counts(current, previous, exposure_ratio=ratio)
    assert result["p_value"] == pytest.approx(two_sided_exact_p(current, n, p0), rel=1e-6)


@pytest.mark.parametrize(
    ("current", "previous", "ratio"), [(12, 4, 1.0), (30, 5, 2.0), (7, 19, 0.5)]
)
def test_poisson_rate_ratio_interval_is_clopper_pearson(current, previous, ratio):
    # Clopper-Pearson limits are defined by P(X >= x | pi_L) = 0.025 and
    # P(X <= x | pi_U) = 0.025; map the rate-ratio limits back to pi = rho r / (1 + rho r)
    # and check those tail sums directly.
    n = current + previous
    result = compare_poisson_counts(current, previous, exposure_ratio=ratio)
    pi_low = result["ci_low"] * ratio / (1 + result["ci_low"] * ratio)
    pi_high = result["ci_high"] * ratio / (1 + result["ci_high"] * ratio)
    upper_tail = sum(binomial_pmf(j, n, pi_low) for j in range(current, n + 1))
    lower_tail = sum(binomial_pmf(j, n, pi_high) for j in range(0, current + 1))
    assert upper_tail == pytest.approx(0.025, abs=1e-6)
    assert lower_tail == pytest.approx(0.025, abs=1e-6)
    assert result["ci_low"] < current / (previous * ratio) < result["ci_high"]


def test_poisson_example_from_the_brief():
    # 5,296 against 5,187. Normal approximation as a hand check: n = 10,483, mean under
    # no change = 5,241.5, sd = sqrt(10,483 / 4) = 51.19, z = 54.5 / 51.19 = 1.065,
    # two-sided p = erfc(1.065 / sqrt 2) = 0.287; the exact p agrees to 2 decimals.
    result = compare_poisson_counts(5296, 5187)
    z = 54.5 / math.sqrt(10483 / 4)
    assert result["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)), abs=0.01)
    assert result["verdict"] == "The rise from 5,187 to 5,296 is within normal variation (p = 0.29)"
    assert result["rate_ratio"] == pytest.approx(5296 / 5187)
    assert set(result) == {
        "current",
        "previous",
        "rate_ratio",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "direction",
        "verdict",
    }


def test_poisson_significant_fall():
    # 400 against 520: n = 920, mean 460, sd = sqrt(230) = 15.17, z = -3.96 -> p < 0.001
    result = compare_poisson_counts(400, 520)
    assert result["significant"] is True
    assert result["direction"] == "decrease"
    assert result["verdict"] == "The fall from 520 to 400 is statistically significant (p < 0.001)"


def test_poisson_edge_cases():
    both_zero = compare_poisson_counts(0, 0)
    assert both_zero["p_value"] == 1.0 and both_zero["direction"] == "no change"
    assert math.isnan(both_zero["rate_ratio"])
    same = compare_poisson_counts(50, 50)
    assert same["direction"] == "no change" and same["p_value"] == pytest.approx(1.0)
    from_zero = compare_poisson_counts(5, 0)
    assert from_zero["rate_ratio"] == math.inf and from_zero["ci_high"] == math.inf
    # p = 2 x (1/2)^5 = 0.0625 (only the two extreme outcomes are as unlikely)
    assert from_zero["p_value"] == pytest.approx(0.0625)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 5), "negative"),
        ((2.5, 5), "whole number"),
        (("10", 5), "whole number"),
        ((True, 5), "whole number"),
        ((10, 5, 0.0), "positive"),
        ((10, 5, float("nan")), "positive"),
    ],
)
def test_poisson_invalid_arguments(args, message):
    with pytest.raises(ParameterError, match=message):
        compare_poisson_counts(*args)


@settings(max_examples=60, deadline=None)
@given(a=st.integers(0, 400), b=st.integers(0, 400))
def test_poisson_test_is_symmetric(a, b):
    # Swapping the periods must give the same p-value and a reciprocal rate ratio.
    forward, backward = compare_poisson_counts(a, b), compare_poisson_counts(b, a)
    assert forward["p_value"] == pytest.approx(backward["p_value"], rel=1e-9)
    assert 0 <= forward["p_value"] <= 1
    if a > 0 and b > 0:
        assert forward["rate_ratio"] * backward["rate_ratio"] == pytest.approx(1.0)
        assert forward["ci_low"] * backward["ci_high"] == pytest.approx(1.0, rel=1e-6)


# --- wilson_interval -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        # Newcombe RG (1998) Statistics in Medicine 17:857-872, Table II, method 3
        # (Wilson score interval without continuity correction).
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0000, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_matches_newcombe_table(k, n, expected):
    low, high = wilson_interval(k, n)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_by_hand_at_other_confidence():
    # 5 of 10 at 90%: z = 1.644854, z^2 = 2.705543, centre = 0.5 (symmetric),
    # half = z sqrt(0.025 + z^2/400) / (1 + z^2/10)
    #      = 1.644854 x sqrt(0.0317639) / 1.2705543 = 1.644854 x 0.1782242 / 1.2705543
    #      = 0.2931527 / 1.2705543 = 0.230728
    low, high = wilson_interval(5, 10, confidence=0.90)
    assert low == pytest.approx(0.5 - 0.230728, abs=1e-6)
    assert high == pytest.approx(0.5 + 0.230728, abs=1e-6)


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 2000), fraction=st.floats(0, 1), confidence=st.floats(0.5, 0.999))
def test_wilson_contains_the_estimate(n, fraction, confidence):
    k = round(fraction * n)
    low, high = wilson_interval(k, n, confidence)
    assert 0.0 <= low <= k / n <= high <= 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [((5, 0), "at least one"), ((6, 5), "larger than"), ((1, 5, 1.5), "between 0 and 1")],
)
def test_wilson_invalid(args, message):
    with pytest.raises(ParameterError, match=message):
        wilson_interval(*args)


# --- compare_proportions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe RG (1998) Statistics in Medicine 17:873-890, Table II, method 10
        # (hybrid score interval, no continuity correction), examples (a), (b), (e)-(h).
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((0, 10, 0, 10), (-0.2775, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0000)),
        ((10, 10, 0, 10), (0.6075, 1.0000)),
    ],
)
def test_difference_interval_matches_newcombe_table(counts, expected):
    result = compare_proportions(*counts)
    assert (round(result["ci_low"], 4), round(result["ci_high"], 4)) == expected


def _newcombe_by_formula(k1, n1, k2, n2, z):
    # Newcombe (1998) method 10 written out again here from the paper, with Wilson limits
    # from the quadratic-root form (the package uses the centre +/- half-width form).
    def wilson(k, n):
        p = k / n
        a = 1 + z * z / n
        b = -(2 * p + z * z / n)
        c = p * p
        roots = np.roots([a, b, c])
        return float(min(roots.real)), float(max(roots.real))

    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def test_proportions_verdict_agrees_with_interval_4_of_20_against_0_of_20():
    # Issue 15: the pooled z-test called this significant (z = 0.2 / sqrt(0.1 x 0.9 x
    # 0.1) = 2.108, p = 0.035) while the 95% interval includes zero. By hand, z = 1.96:
    # 0 of 20: u2 = (z^2/20) / (1 + z^2/20) = 0.19207 / 1.19207 = 0.16113
    # 4 of 20: centre = (0.2 + 0.09604) / 1.19207 = 0.24831,
    #          half = 1.96 sqrt(0.008 + 0.0024) / 1.19207 = 0.16768, l1 = 0.08063
    # lower = 0.2 - sqrt(0.11937^2 + 0.16113^2) = 0.2 - 0.20053 = -0.0005 < 0
    result = compare_proportions(4, 20, 0, 20)
    assert result["ci_low"] == pytest.approx(-0.0005, abs=2e-4)
    assert result["significant"] is False
    assert result["p_value"] > 0.05
    assert "within normal variation" in result["verdict"]
    assert "p = 0.050)" not in result["verdict"]
    # The p-value is the level at which the interval just reaches zero.
    z_star = stats.norm.isf(result["p_value"] / 2)
    assert _newcombe_by_formula(4, 20, 0, 20, z_star)[0] == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize(
    "counts", [(56, 70, 48, 80), (9, 10, 3, 10), (4, 20, 0, 20), (3, 50, 11, 50), (1, 3, 2, 3)]
)
def test_proportions_significant_exactly_when_interval_excludes_zero(counts):
    result = compare_proportions(*counts)
    low, high = _newcombe_by_formula(*counts, stats.norm.isf(0.025))
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((low, high), abs=1e-9)
    assert result["significant"] is (low > 0 or high < 0)
    assert (result["p_value"] < 0.05) is result["significant"]
    touched = _newcombe_by_formula(*counts, stats.norm.isf(result["p_value"] / 2))
    nearest = touched[0] if result["difference"] > 0 else touched[1]
    assert nearest == pytest.approx(0.0, abs=1e-8)


def test_proportions_newcombe_example_a_verdict():
    # 56/70 against 48/80: the interval (0.0524, 0.3339) excludes zero.
    result = compare_proportions(56, 70, 48, 80)
    assert result["difference"] == pytest.approx(0.2)
    assert result["direction"] == "increase" and result["significant"] is True
    assert result["verdict"].startswith(
        "The rise from 60.0% (48 of 80) to 80.0% (56 of 70) is statistically significant (p = "
    )


def test_proportions_no_difference():
    result = compare_proportions(0, 10, 0, 20)
    assert result["p_value"] == 1.0 and result["direction"] == "no change"
    assert "within normal variation" in result["verdict"]


# --- assess_rate_against_target --------------------------------------------------------


def test_rate_against_target_score_tails():
    # 30 of 100 against 20%: z = (0.3 - 0.2) / sqrt(0.2 x 0.8 / 100) = 0.1 / 0.04 = 2.5
    # p_above = 1 - Phi(2.5) = 0.5 erfc(2.5 / sqrt 2) = 0.00621; two-sided p = 0.01242.
    # Wilson: centre = (0.3 + 0.019207) / 1.038415 = 0.30740,
    #         half = 1.96 sqrt(0.0021 + 0.00009604) / 1.038415 = 0.08845 -> (21.9%, 39.6%)
    result = assess_rate_against_target(30, 100, 0.20)
    assert result["p_above"] == pytest.approx(0.5 * math.erfc(2.5 / math.sqrt(2)), rel=1e-9)
    assert result["p_value"] == pytest.approx(math.erfc(2.5 / math.sqrt(2)), rel=1e-9)
    assert result["position"] == "above target"
    assert result["verdict"] == (
        "The rate of 30.0% (30 of 100) is significantly above the target of 20% "
        "(95% interval 21.9% to 39.6%; p = 0.012)"
    )
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(wilson_interval(30, 100))


def test_rate_against_target_agrees_with_wilson_2_of_20_against_30pc():
    # Issue 15: the exact one-sided test gave P(X <= 2 | 20, 0.3) = 0.035, "significantly
    # below", while the Wilson interval contains 0.30. By hand: Wilson upper for 2/20 =
    # (0.1 + 0.09604) / 1.19207 + 1.96 sqrt(0.0045 + 0.0024) / 1.19207
    # = 0.16446 + 0.13658 = 0.30104 > 0.30; score z = -0.2 / sqrt(0.21 / 20) = -1.95180,
    # two-sided p = erfc(1.95180 / sqrt 2) = 0.0510.
    result = assess_rate_against_target(2, 20, 0.3)
    assert result["ci_high"] == pytest.approx(0.30104, abs=2e-5)
    assert result["position"] == "consistent with target"
    assert result["significant"] is False
    assert result["p_value"] == pytest.approx(math.erfc(1.95180 / math.sqrt(2)), rel=1e-4)
    assert "not significantly different" in result["verdict"]


def test_rate_below_and_consistent_with_target():
    # 3 of 40 against 25%: z = (0.075 - 0.25) / sqrt(0.1875 / 40) = -2.556 -> below.
    below = assess_rate_against_target(3, 40, 0.25)
    assert below["p_below"] == pytest.approx(0.5 * math.erfc(2.5560 / math.sqrt(2)), rel=1e-3)
    assert below["position"] == "below target" and below["ci_high"] < 0.25
    consistent = assess_rate_against_target(10, 40, 0.25)
    assert consistent["position"] == "consistent with target"
    assert "not significantly different" in consistent["verdict"]


@pytest.mark.parametrize("target", [0, 1, 25, -0.1, "0.25"])
def test_rate_against_target_rejects_bad_target(target):
    with pytest.raises(ParameterError, match="proportion"):
        assess_rate_against_target(3, 40, target)


def test_format_p_value():
    assert format_p_value(0.0004) == "p < 0.001"
    assert format_p_value(0.04) == "p = 0.040"
    assert format_p_value(0.5) == "p = 0.50"


@pytest.mark.parametrize(
    ("p", "alpha", "expected"),
    [
        (0.0502, 0.05, "p = 0.0502"),  # 3 decimals would show 0.050 beside "significant"
        (0.04996, 0.05, "p = 0.04996"),  # 3 and 4 decimals would show 0.050 / 0.0500
        (0.05, 0.05, "p = 0.050"),
        (0.0496, 0.05, "p = 0.0496"),
        (0.1004, 0.1, "p = 0.1004"),  # 2 decimals would show 0.10
        (0.0123, 0.05, "p = 0.012"),
        (0.0004, 0.0005, "p = 0.0004"),
    ],
)
def test_format_p_value_never_rounds_across_alpha(p, alpha, expected):
    assert format_p_value(p, alpha) == expected


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.05"])
def test_format_p_value_rejects_non_p_values(p):
    with pytest.raises(ParameterError, match="p_value"):
        format_p_value(p)


# --- over-dispersed FYTD change test (quasi-Poisson) --------------------------------


def test_estimate_dispersion_matches_closed_form_for_complete_table():
    # Two complete financial years. For a complete years x months table, the Poisson
    # model log mu = year + month has fitted values row total x column total / grand
    # total (the independence model), and df = (2 - 1) x (12 - 1) = 11.
    year1 = np.array([90, 80, 100, 110, 95, 120, 130, 100, 85, 90, 105, 95], dtype=float)
    year2 = np.array([120, 70, 90, 140, 100, 100, 160, 90, 110, 80, 100, 140], dtype=float)
    table = np.vstack([year1, year2])
    fitted = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    chi2 = float(((table - fitted) ** 2 / fitted).sum())
    idx = pd.period_range("2010-04", periods=24, freq="M")
    result = estimate_dispersion(pd.Series(np.concatenate([year1, year2]), index=idx))
    assert result["df"] == 11
    assert result["chi2"] == pytest.approx(chi2, rel=1e-6)
    assert result["phi_raw"] == pytest.approx(chi2 / 11, rel=1e-6)
    assert result["phi"] == pytest.approx(max(1.0, chi2 / 11), rel=1e-6)


def test_estimate_dispersion_floors_at_one_and_refuses_short_or_empty_series():
    idx = pd.period_range("2010-04", periods=24, freq="M")
    assert estimate_dispersion(pd.Series(50.0, index=idx))["phi"] == 1.0
    with pytest.raises(ParameterError, match="two years or more"):
        estimate_dispersion(pd.Series(50.0, index=idx[:12]))
    with pytest.raises(DataValidationError, match="zero in every month"):
        estimate_dispersion(pd.Series(0.0, index=idx))
    with pytest.raises(DataValidationError, match="negative"):
        estimate_dispersion(pd.Series([-1.0] + [5.0] * 23, index=idx))


def test_overdispersed_comparison_by_hand():
    # 1,100 against 1,000, dispersion 4: n = 2,100, pi0 = 0.5,
    # z = (1100 - 1050) / sqrt(4 x 2100 x 0.25) = 50 / 45.8258 = 1.09109,
    # p = erfc(1.09109 / sqrt 2) = 0.2752; with dispersion 1, z = 2.18218, p = 0.0291.
    result = compare_counts_overdispersed(1100, 1000, 4.0)
    assert result["z"] == pytest.approx(1.09109, abs=1e-5)
    assert result["p_value"] == pytest.approx(math.erfc(1.09109 / math.sqrt(2)), rel=1e-4)
    assert result["significant"] is False and result["direction"] == "increase"
    assert "quasi-Poisson" in result["method"] and "quasi-Poisson" in result["verdict"]
    poisson_like = compare_counts_overdispersed(1100, 1000, 1.0)
    assert poisson_like["p_value"] == pytest.approx(math.erfc(2.18218 / math.sqrt(2)), rel=1e-4)
    assert poisson_like["significant"] is True
    # The interval inverts the same test: Wilson for pi = 1100/2100 with deviate
    # 1.96 x 2, solved here as the roots of (1 + z^2/n) pi^2 - (2p + z^2/n) pi + p^2 = 0.
    zz = stats.norm.isf(0.025) * 2.0
    n, p = 2100, 1100 / 2100
    roots = np.sort(np.roots([1 + zz**2 / n, -(2 * p + zz**2 / n), p * p]).real)
    expected = tuple(r / (1 - r) for r in roots)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(expected, rel=1e-9)
    assert result["ci_low"] < 1 < result["ci_high"]


def test_overdispersed_comparison_same_keys_as_poisson_and_refuses_phi_below_one():
    assert set(compare_poisson_counts(10, 12)) <= set(compare_counts_overdispersed(10, 12, 2.0))
    with pytest.raises(ParameterError, match="at least 1"):
        compare_counts_overdispersed(10, 12, 0.5)
    with pytest.raises(ParameterError, match="dispersion"):
        compare_counts_overdispersed(10, 12, float("nan"))


def test_backtest_false_alarm_rate_on_overdispersed_synthetic_series():
    # 30 stable series, seasonal means around 1,000 a month, negative binomial with
    # variance = 20 x mean (size k = mu / 19). No change is ever made, so every
    # significant comparison is a false alarm. The exact Poisson test, which assumes
    # variance = mean, alarms far more often than 5%; the quasi-Poisson test does not.
    rng = np.random.default_rng(20240515)
    idx = pd.period_range("2008-04", periods=120, freq="M")
    season = 1000 * (1 + 0.15 * np.sin(2 * np.pi * np.arange(120) / 12))
    series = {}
    for i in range(30):
        k = season / 19.0
        series[f"s{i}"] = pd.Series(rng.negative_binomial(k, k / (k + season)), index=idx)
    frame = backtest_false_alarm_rate(series, months=6)
    # years 2012/13 to 2017/18 have 24 earlier months and at least 3 earlier changes
    assert len(frame) == 30 * 6
    rates = frame.attrs["false_alarm_rate"]
    assert rates["poisson"] > 0.4
    assert rates["quasi_poisson"] < 0.12
    assert rates["quasi_poisson_monthly"] < 0.12


def test_backtest_between_year_shifts_defeat_the_monthly_dispersion_only():
    # 30 stable series whose level moves from year to year (a log-normal year effect,
    # sd 0.08) with Poisson months around it. Within a year the months are Poisson, so
    # the dispersion of the 24 months before (with a level for each year) is about 1 and
    # the test on it alarms at most comparisons; the dispersion of earlier year-on-year
    # changes includes the shifts, and its test stays near 5%.
    rng = np.random.default_rng(7)
    idx = pd.period_range("2008-04", periods=120, freq="M")
    series = {}
    for i in range(30):
        level = np.repeat(np.exp(rng.normal(0.0, 0.08, 10)), 12)
        series[f"s{i}"] = pd.Series(rng.poisson(1000 * level), index=idx)
    frame = backtest_false_alarm_rate(series, months=6)
    assert len(frame) == 30 * 6
    rates = frame.attrs["false_alarm_rate"]
    assert rates["quasi_poisson_monthly"] > 0.5
    assert rates["quasi_poisson"] < 0.12


def _april_to_june(totals: dict[int, float], missing: tuple[str, ...] = ()) -> pd.Series:
    """Monthly series from Apr 2011 to Jun 2016 whose April-to-June sums are ``totals``
    (a third in each month) and whose other months are 50."""
    idx = pd.period_range("2011-04", "2016-06", freq="M")
    values = pd.Series(
        [totals[m.year] / 3 if m.month in (4, 5, 6) else 50.0 for m in idx], index=idx
    )
    for month in missing:
        values[pd.Period(month, "M")] = np.nan
    return values


def test_year_on_year_dispersion_worked_example():
    # April-to-June totals 450, 550, 500, 500, 600 in 2011/12 to 2015/16:
    #   2012: (550 - 450)/sqrt(1000) = 3.16228, z^2 = 10
    #   2013: (500 - 550)/sqrt(1050),           z^2 = 2500/1050 = 2.380952
    #   2014: (500 - 500)/sqrt(1000) = 0,       z^2 = 0
    #   2015: (600 - 500)/sqrt(1100),           z^2 = 10000/1100 = 9.090909
    # phi = (10 + 2.380952 + 0 + 9.090909)/4 = 5.367965 on 4 degrees of freedom.
    totals = {2011: 450, 2012: 550, 2013: 500, 2014: 500, 2015: 600, 2016: 660}
    series = _april_to_june(totals)
    assert year_on_year_pairs(series, 2016, 3) == [
        (2012, 550, 450),
        (2013, 500, 550),
        (2014, 500, 500),
        (2015, 600, 500),
    ]
    between = year_on_year_dispersion(year_on_year_pairs(series, 2016, 3))
    assert between["phi"] == pytest.approx(5.367965, abs=1e-6)
    assert between["df"] == 4
    # The 2016/17 report at June: 660 against 600, n = 1,260, pi0 = 1/2,
    # z = 30 / sqrt(5.367965 x 1260 / 4) = 30 / 41.12066 = 0.729560, t on 4 df.
    result = assess_fytd_change(series, "2016-06", 660, 600)
    assert result["tested"] and result["years"] == [2012, 2013, 2014, 2015]
    assert result["z"] == pytest.approx(0.729560, abs=1e-6)
    assert result["p_value"] == pytest.approx(2 * stats.t(4).sf(0.729560), rel=1e-5)
    assert result["significant"] is False
    assert result["dispersion"] == pytest.approx(5.367965, abs=1e-6)
    assert result["verdict"].endswith(
        "(p = 0.51; judged against how much the same months changed from one year to the "
        "next in 4 earlier years)"
    )
    # A missing May 2013 removes the changes of 2013 and 2014: 2 are left, too few,
    # and the test is not run (never silently the Poisson test).
    gap = _april_to_june(totals, missing=("2013-05",))
    assert [k for k, _, _ in year_on_year_pairs(gap, 2016, 3)] == [2012, 2015]
    untested = assess_fytd_change(gap, "2016-06", 660, 600)
    assert untested["tested"] is False and untested["significant"] is None
    assert untested["verdict"] == (
        "Not tested for significance: the test needs the changes of at least 3 earlier "
        "years over the same months (April to June) to measure year-to-year variation, "
        "and only 2 are available"
    )


def test_year_on_year_dispersion_floors_at_one_and_refuses_bad_pairs():
    # z = 0, 10/sqrt(200) = 0.7071 (z^2 = 0.5), 0: mean 1/6, floored at 1
    assert year_on_year_dispersion([(100, 100), (110, 90), (50, 50)])["phi"] == 1.0
    with pytest.raises(ParameterError, match="empty"):
        year_on_year_dispersion([])
    with pytest.raises(ParameterError, match="zero in both"):
        year_on_year_dispersion([(0, 0)])


def test_overdispersed_comparison_with_t_reference_by_hand():
    # 1,100 against 1,000, dispersion 4 on 5 df: z = 1.09109 as above, p from t(5);
    # the interval uses the deviate t(5, 0.975) x 2 = 2.570582 x 2.
    result = compare_counts_overdispersed(1100, 1000, 4.0, df=5)
    assert result["p_value"] == pytest.approx(2 * stats.t(5).sf(1.09109), rel=1e-4)
    zz = 2.570582 * 2.0
    n, p = 2100, 1100 / 2100
    roots = np.sort(np.roots([1 + zz**2 / n, -(2 * p + zz**2 / n), p * p]).real)
    expected = tuple(r / (1 - r) for r in roots)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ParameterError, match="df"):
        compare_counts_overdispersed(1100, 1000, 4.0, df=0)
