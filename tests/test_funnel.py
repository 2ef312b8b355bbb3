"""Tests for mpsanalysis.stats.funnel.

Exact Poisson limits are checked by their defining property, P(X <= E | U) = alpha/2 and
P(X >= E | L) = alpha/2, with the Poisson probabilities summed directly in the test (the
module uses gamma quantiles). The over-dispersion factor is worked by hand for 11 units
whose square roots are whole numbers.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpsanalysis.errors import ParameterError
from mpsanalysis.stats.funnel import compute_funnel, estimate_tau2, funnel_curve, plot_funnel

matplotlib.use("Agg")


def poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed term by term in log space."""
    return sum(math.exp(j * math.log(mu) - mu - math.lgamma(j + 1)) for j in range(k + 1))


# Eleven boroughs of 10,000 people. Counts are perfect squares adding up to 1,100, so
# the overall rate is 1,100 / 110,000 = 0.01 (10 per 1,000) and every expected count is
# E = 100 (sqrt 10). z = 2 (sqrt O - 10):
#   O     25   36   64   81  100  100  100  100  100  169  225
#   z    -10   -8   -4   -2    0    0    0    0    0    6   10
NAMES = [f"B{i:02d}" for i in range(1, 12)]
OBSERVED = pd.Series([25, 36, 64, 81, 100, 100, 100, 100, 100, 169, 225], index=NAMES)
POPULATION = pd.Series([10_000] * 11, index=NAMES)


def test_rates_expected_and_z_by_hand():
    funnel = compute_funnel(OBSERVED, POPULATION, per=1000, overdispersion=False)
    assert funnel.attrs["target_rate"] == pytest.approx(10.0)
    assert funnel["expected"].tolist() == pytest.approx([100.0] * 11)
    assert funnel["rate"].tolist() == pytest.approx(
        [2.5, 3.6, 6.4, 8.1, 10, 10, 10, 10, 10, 16.9, 22.5]
    )
    assert funnel["z"].tolist() == pytest.approx([-10, -8, -4, -2, 0, 0, 0, 0, 0, 6, 10])
    assert list(funnel.columns) == [
        "observed",
        "population",
        "rate",
        "expected",
        "z",
        "lower95",
        "upper95",
        "lower998",
        "upper998",
        "outlier",
        "phi",
        "tau2",
    ]


def test_overdispersion_factor_by_hand():
    # Sorted z: -10 -8 -4 -2 0 0 0 0 0 6 10. With 11 values the 10th and 90th
    # percentiles (linear interpolation, position (11 - 1) x 0.1 = 1 and 9) are the 2nd
    # smallest (-8) and 2nd largest (6). Winsorised: -8 -8 -4 -2 0 0 0 0 0 6 6.
    # phi = (64 + 64 + 16 + 4 + 0 + 36 + 36) / 11 = 220 / 11 = 20.
    funnel = compute_funnel(OBSERVED, POPULATION, method="multiplicative")
    assert funnel["phi"].tolist() == pytest.approx([20.0] * 11)
    assert funnel.attrs["overdispersion_applied"] is True
    plain = compute_funnel(OBSERVED, POPULATION, overdispersion=False)
    assert plain.attrs["overdispersion_applied"] is False
    assert plain["phi"].iloc[0] == pytest.approx(20.0)
    # Inflation on the square-root scale: sqrt(E) -/+ sqrt(20) x (distance without it).
    # Rates per 1,000 with population 10,000: count = rate x 10.
    root_e = 10.0
    for level in ("95", "998"):
        upper, upper_plain = funnel[f"upper{level}"] * 10, plain[f"upper{level}"] * 10
        lower, lower_plain = funnel[f"lower{level}"] * 10, plain[f"lower{level}"] * 10
        np.testing.assert_allclose(
            np.sqrt(upper) - root_e, math.sqrt(20) * (np.sqrt(upper_plain) - root_e)
        )
        np.testing.assert_allclose(
            root_e - np.sqrt(lower), math.sqrt(20) * (root_e - np.sqrt(lower_plain))
        )


def test_exact_poisson_limits_defining_property():
    # E = 100 for every borough; without over-dispersion the count limits (rate x 10)
    # must satisfy P(X <= 100 | U) = alpha/2 and P(X >= 100 | L) = alpha/2.
    funnel = compute_funnel(OBSERVED, POPULATION, overdispersion=False)
    for level, alpha in (("95", 0.05), ("998", 0.002)):
        upper = funnel[f"upper{level}"].iloc[0] * 10
        lower = funnel[f"lower{level}"].iloc[0] * 10
        assert poisson_cdf(100, upper) == pytest.approx(alpha / 2, rel=1e-6)
        assert 1 - poisson_cdf(99, lower) == pytest.approx(alpha / 2, rel=1e-6)
    # Normal-approximation sanity check: 95% upper count ~ 100 + 1.96 x 10 + ~2
    assert 118 < funnel["upper95"].iloc[0] * 10 < 124


def test_outliers_with_and_without_overdispersion():
    # Without the adjustment, counts of 25, 36 and 64 (sqrt 5, 6, 8) are far below
    # E = 100 and 169, 225 far above: all beyond 99.8% (roughly 100 +/- 31).
    plain = compute_funnel(OBSERVED, POPULATION, overdispersion=False)
    assert plain["outlier"].tolist()[:3] == ["low", "low", "low"]
    assert plain["outlier"].tolist()[4:9] == [None] * 5
    assert plain["outlier"].tolist()[9:] == ["high", "high"]
    # With phi = 20 the 95% half-width on the square-root scale is about
    # 1.96 / 2 x sqrt(20) = 4.38: sqrt O from 5.6 to 14.4. So only 25 (sqrt 5) and 225
    # (sqrt 15) are beyond 95%, and none beyond 99.8% (about 3.1 to 16.9).
    adjusted = compute_funnel(OBSERVED, POPULATION)
    assert adjusted["outlier"].tolist() == ["low (95%)"] + [None] * 9 + ["high (95%)"]


def test_no_overdispersion_when_phi_below_one():
    # Counts exactly at the expected values: z = 0, phi = 0, limits are not shrunk.
    observed = pd.Series({"A": 50, "B": 30, "C": 20})
    population = pd.Series({"A": 5000, "B": 3000, "C": 2000})
    funnel = compute_funnel(observed, population)
    assert funnel["phi"].iloc[0] == 0.0
    assert funnel.attrs["overdispersion_applied"] is False
    plain = compute_funnel(observed, population, overdispersion=False)
    pd.testing.assert_frame_equal(funnel, plain)


def test_population_order_does_not_matter():
    shuffled = POPULATION.iloc[::-1]
    a = compute_funnel(OBSERVED, POPULATION)
    b = compute_funnel(OBSERVED, shuffled)
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 5000), st.integers(1000, 400_000)), min_size=3, max_size=33
    ).filter(lambda rows: sum(r[0] for r in rows) > 0),
    overdispersion=st.booleans(),
)
def test_limits_are_nested_around_the_target(data, overdispersion):
    names = [f"u{i}" for i in range(len(data))]
    observed = pd.Series([r[0] for r in data], index=names)
    population = pd.Series([r[1] for r in data], index=names)
    funnel = compute_funnel(observed, population, per=1000, overdispersion=overdispersion)
    target = funnel.attrs["target_rate"]
    tol = 1e-9
    assert (funnel["lower998"] <= funnel["lower95"] + tol).all()
    assert (funnel["lower95"] <= target + tol).all()
    assert (funnel["upper95"] >= target - tol).all()
    assert (funnel["upper998"] >= funnel["upper95"] - tol).all()
    assert (funnel["lower998"] >= 0).all()


def test_funnel_curve_matches_unit_limits_and_narrows():
    funnel = compute_funnel(OBSERVED, POPULATION, overdispersion=False)
    curve = funnel_curve(10.0, [10_000, 10_000 * 1.0001], per=1000, n_points=2)
    for column in ("lower95", "upper95", "lower998", "upper998"):
        assert curve[column].iloc[0] == pytest.approx(funnel[column].iloc[0])
    wide = funnel_curve(10.0, [1_000, 1_000_000], per=1000, n_points=50)
    assert (np.diff(wide["upper998"]) < 0).all() and (np.diff(wide["lower998"]) > 0).all()
    inflated = funnel_curve(10.0, [1_000, 1_000_000], per=1000, phi=4.0, n_points=50)
    assert (inflated["upper95"] > wide["upper95"]).all()


@pytest.mark.parametrize(
    ("observed", "population", "message"),
    [
        (
            pd.Series({"A": 1, "B": 2, "C": 3}),
            pd.Series({"A": 10, "B": 20, "D": 30}),
            "different units",
        ),
        (
            pd.Series({"A": 1, "B": -2, "C": 3}),
            pd.Series({"A": 10, "B": 20, "C": 30}),
            "non-negative",
        ),
        (pd.Series({"A": 1, "B": 2.5, "C": 3}), pd.Series({"A": 10, "B": 20, "C": 30}), "whole"),
        (pd.Series({"A": 1, "B": 2, "C": 3}), pd.Series({"A": 10, "B": 0, "C": 30}), "positive"),
        (pd.Series({"A": 1, "B": None, "C": 3}), pd.Series({"A": 10, "B": 20, "C": 30}), "missing"),
        (pd.Series({"A": 0, "B": 0, "C": 0}), pd.Series({"A": 10, "B": 20, "C": 30}), "no crimes"),
        (pd.Series({"A": 1, "B": 2}), pd.Series({"A": 10, "B": 20}), "at least 3"),
    ],
)
def test_invalid_input(observed, population, message):
    with pytest.raises(ParameterError, match=message):
        compute_funnel(observed, population)


def test_invalid_per():
    with pytest.raises(ParameterError, match="per"):
        compute_funnel(OBSERVED, POPULATION, per=0)


def test_plot_labels_outliers_by_name():
    import matplotlib.pyplot as plt

    funnel = compute_funnel(OBSERVED, POPULATION)
    ax = plot_funnel(funnel, "Violence by borough")
    labels = {t.get_text() for t in ax.texts}
    assert labels == {"B01", "B11"}  # the two boroughs beyond the 95% limits
    markers = [tuple(map(tuple, c.get_paths()[0].vertices.round(3))) for c in ax.collections]
    assert len(set(markers)) == len(markers) == 3  # circle, up and down triangles
    plt.close(ax.figure)


# --- additive random effects (tau^2), FunnelPlotR's only adjustment ----------------------


def test_additive_tau2_and_limits_by_hand():
    # phi = 20 (above). N = 11, E = 100 for all, s^2 = 1/(4E) = 0.0025, w = 400.
    # sum w = 4,400; sum w^2 / sum w = 1,760,000 / 4,400 = 400; denominator = 4,000.
    # tau^2 = (11 x 20 - 10) / 4,000 = 210 / 4,000 = 0.0525.
    # sqrt-ratio limits 1 +/- z sqrt(0.0025 + 0.0525) = 1 +/- z x 0.2345208;
    # 95%: z = 1.959964 -> 1 +/- 0.459652 -> ratios 0.540348^2 = 0.291976 and
    # 1.459652^2 = 2.130584; as rates (target 10 per 1,000): 2.91976 and 21.30584.
    funnel = compute_funnel(OBSERVED, POPULATION)
    assert funnel.attrs["method"] == "additive"
    assert funnel.attrs["tau2"] == pytest.approx(0.0525)
    assert funnel["tau2"].iloc[0] == pytest.approx(0.0525)
    assert funnel["lower95"].iloc[0] == pytest.approx(2.91976, rel=1e-5)
    assert funnel["upper95"].iloc[0] == pytest.approx(21.30584, rel=1e-5)
    # 99.8%: z = 3.090232 -> 1 +/- 0.724724: rates 10 x 0.275276^2 = 0.757769 and
    # 10 x 1.724724^2 = 29.74673.
    assert funnel["lower998"].iloc[0] == pytest.approx(0.757769, rel=1e-4)
    assert funnel["upper998"].iloc[0] == pytest.approx(29.74673, rel=1e-5)
    # sqrt(O/E) = 0.5 (25) is below 0.5403 and 1.5 (225) above 1.4597: 95% only.
    assert funnel["outlier"].tolist() == ["low (95%)"] + [None] * 9 + ["high (95%)"]


def test_additive_tau2_with_unequal_sizes_against_numpy():
    # Unequal populations: tau^2 computed here with numpy from the formula, with the
    # winsorising done by sorting rather than np.quantile/clip.
    observed = pd.Series([30, 80, 150, 400, 260, 90, 510, 45], index=list("ABCDEFGH"))
    population = pd.Series(
        [4_000, 9_000, 15_000, 30_000, 25_000, 12_000, 40_000, 6_000], index=list("ABCDEFGH")
    )
    o, p = observed.to_numpy(float), population.to_numpy(float)
    e = o.sum() / p.sum() * p
    z = 2 * (np.sqrt(o) - np.sqrt(e))
    zs = np.sort(z)
    n = len(z)
    pos_low, pos_high = 0.1 * (n - 1), 0.9 * (n - 1)
    q_low = zs[int(pos_low)] + (pos_low % 1) * (zs[int(pos_low) + 1] - zs[int(pos_low)])
    q_high = zs[int(pos_high)] + (pos_high % 1) * (zs[int(pos_high) + 1] - zs[int(pos_high)])
    zw = np.array([min(max(v, q_low), q_high) for v in z])
    phi = (zw**2).mean()
    w = 4 * e
    tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    assert tau2 > 0
    funnel = compute_funnel(observed, population)
    assert funnel.attrs["phi"] == pytest.approx(phi)
    assert funnel.attrs["tau2"] == pytest.approx(tau2)
    upper = e * (1 + 1.959964 * np.sqrt(1 / (4 * e) + tau2)) ** 2 * 1000 / p
    np.testing.assert_allclose(funnel["upper95"], upper, rtol=1e-6)
    assert estimate_tau2(z, e) == pytest.approx((phi, tau2))


def test_additive_limits_are_not_applied_without_overdispersion():
    funnel = compute_funnel(OBSERVED, POPULATION, overdispersion=False)
    assert funnel.attrs["overdispersion_applied"] is False
    assert funnel["outlier"].tolist()[:3] == ["low", "low", "low"]
    with pytest.raises(ParameterError, match="method"):
        compute_funnel(OBSERVED, POPULATION, method="spiegelhalter")
