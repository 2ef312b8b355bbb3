"""Tests for mpsanalysis.stats.concentration.

The Gini coefficient is checked against the mean-absolute-difference definition (the
module uses the ordered-sum formula); the smallest share-holding set is checked against
a brute-force search over all subsets; small cases are worked by hand.
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpsanalysis.errors import ParameterError
from mpsanalysis.stats.concentration import (
    compute_lorenz,
    gini_coefficient,
    plot_lorenz,
    smallest_share_holding,
    top_units,
)

matplotlib.use("Agg")

# Ten wards, total 100 crimes.
WARDS = pd.Series(
    [7, 30, 1, 15, 10, 8, 20, 5, 3, 1],
    index=[f"Ward {c}" for c in "ABCDEFGHIJ"],
)


def gini_by_mean_difference(values) -> float:
    """G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * n * n * x.mean())


def brute_force_smallest(values, share) -> int:
    """Fewest units (any subset) whose counts add up to at least share x total."""
    total = sum(values)
    for k in range(1, len(values) + 1):
        if any(sum(c) >= share * total for c in itertools.combinations(values, k)):
            return k
    raise AssertionError("unreachable")


def test_lorenz_by_hand():
    # Sorted high to low: B 30, G 20, D 15, E 10, F 8, A 7, H 5, I 3, C 1, J 1
    # cumulative: 30 50 65 75 83 90 95 98 99 100 (of 100)
    lorenz = compute_lorenz(WARDS)
    assert lorenz["unit"].tolist() == [f"Ward {c}" for c in "BGDEFAHICJ"]
    assert lorenz["share_of_crime"].tolist() == pytest.approx(
        [0.30, 0.50, 0.65, 0.75, 0.83, 0.90, 0.95, 0.98, 0.99, 1.00]
    )
    assert lorenz["share_of_units"].tolist() == pytest.approx([i / 10 for i in range(1, 11)])
    assert lorenz.index.tolist() == list(range(1, 11))
    # Ties (C and J both 1) are listed in name order.
    assert lorenz["unit"].iloc[-2:].tolist() == ["Ward C", "Ward J"]


def test_gini_by_hand_and_extremes():
    # 10, 30, 60: |differences| over ordered pairs = 2 x (20 + 50 + 30) = 200;
    # G = 200 / (2 x 9 x 33.33) = 1/3
    assert gini_coefficient(pd.Series([10, 30, 60], index=list("abc"))) == pytest.approx(1 / 3)
    assert gini_coefficient(pd.Series([5, 5, 5, 5], index=list("abcd"))) == pytest.approx(0.0)
    # One unit holds everything: G = (n - 1) / n = 3/4 for n = 4.
    assert gini_coefficient(pd.Series([0, 0, 0, 9], index=list("abcd"))) == pytest.approx(0.75)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=40).filter(lambda v: sum(v) > 0))
def test_gini_equals_mean_difference_definition(values):
    series = pd.Series(values, index=[f"u{i}" for i in range(len(values))])
    gini = gini_coefficient(series)
    assert gini == pytest.approx(gini_by_mean_difference(values), abs=1e-12)
    assert -1e-12 <= gini <= (len(values) - 1) / len(values) + 1e-12


@pytest.mark.parametrize(
    ("share", "n_units", "held"),
    [
        (0.25, 1, 0.30),  # B alone: 30%
        (0.50, 2, 0.50),  # B + G = 50 exactly reaches a half
        (0.51, 3, 0.65),  # needs D too
        (0.90, 6, 0.90),
        (1.00, 10, 1.00),  # C and J (1 each) are needed for all of it
    ],
)
def test_smallest_share_holding_by_hand(share, n_units, held):
    result = smallest_share_holding(WARDS, share)
    assert result["n_units"] == n_units
    assert result["share_of_crime"] == pytest.approx(held)
    assert result["share_of_units"] == pytest.approx(n_units / 10)
    assert result["total_units"] == 10 and result["total_crime"] == 100


def test_sentence():
    result = smallest_share_holding(WARDS, 0.5)
    assert result["sentence"] == "2 of 10 units (20.0%) hold 50.0% of the crime"
    assert result["units"] == ["Ward B", "Ward G"]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 50), min_size=1, max_size=8).filter(lambda v: sum(v) > 0),
    share=st.sampled_from([0.1, 0.2, 0.25, 0.5, 0.75, 0.9, 1.0]),
)
def test_smallest_share_holding_is_minimal(values, share):
    series = pd.Series(values, index=[f"u{i}" for i in range(len(values))])
    result = smallest_share_holding(series, share)
    assert result["n_units"] == brute_force_smallest(values, share)
    assert result["crime"] >= share * sum(values) - 1e-9


def test_top_units_table():
    table = top_units(WARDS, share=0.6)  # B 30 + G 20 + D 15 = 65 >= 60
    assert table.index.tolist() == ["Ward B", "Ward G", "Ward D"]
    assert table["count"].tolist() == [30, 20, 15]
    assert table["share"].tolist() == pytest.approx([0.30, 0.20, 0.15])
    assert table["cumulative_share"].tolist() == pytest.approx([0.30, 0.50, 0.65])
    assert top_units(WARDS).index.tolist() == ["Ward B"]  # default 20%: B holds 30%


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (pd.Series([1, np.nan], index=["a", "b"]), "missing for unit"),
        (pd.Series([1, -2], index=["a", "b"]), "negative"),
        (pd.Series([0, 0], index=["a", "b"]), "zero"),
        (pd.Series([1, 2], index=["a", "a"]), "more than once"),
        (pd.Series([], dtype=float), "empty"),
        ([1, 2], "pandas Series"),
    ],
)
def test_invalid_counts(counts, message):
    with pytest.raises(ParameterError, match=message):
        gini_coefficient(counts)


@pytest.mark.parametrize("share", [0, -0.1, 1.5, "half"])
def test_invalid_share(share):
    with pytest.raises(ParameterError, match="share"):
        smallest_share_holding(WARDS, share)


def test_plot_lorenz():
    import matplotlib.pyplot as plt

    ax = plot_lorenz(WARDS, "Violence by ward", unit_label="wards")
    assert ax.get_title() == "Violence by ward"
    # Ascending 1 1 3 5 7 8 10 15 20 30: sum i x_(i) = 1+2+9+20+35+48+70+120+180+300 = 785
    # G = 2 x 785 / (10 x 100) - 11/10 = 1.57 - 1.10 = 0.47
    assert "Gini 0.47" in ax.get_legend().get_texts()[0].get_text()
    plt.close(ax.figure)
