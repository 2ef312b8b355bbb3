"""Tests for mpsanalysis.stats.spc (XmR charts, Making Data Count rules).

Every expected mean and limit below is worked out by hand in the comments: mean of the
baseline values, mean of the moving ranges between consecutive months with data, limits
= mean +/- 2.66 x mean moving range, "2 sigma" = two-thirds of the way to a limit.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpsanalysis.errors import ParameterError
from mpsanalysis.stats import spc
from mpsanalysis.stats.spc import (
    classify_variation,
    compute_xmr,
    detect_sustained_signal,
    plot_xmr,
    report_baseline,
    summarise_variation,
)

matplotlib.use("Agg")


def monthly(values, start="2020-04"):
    return pd.Series(
        [np.nan if v is None else float(v) for v in values],
        index=pd.period_range(start, periods=len(values), freq="M"),
    )


# Baseline used by several tests: 12 months alternating 12, 10 (ending on 10).
# mean = (6 x 12 + 6 x 10) / 12 = 11; every moving range = 2, so mean MR = 2;
# UCL = 11 + 2.66 x 2 = 16.32; LCL = 11 - 5.32 = 5.68;
# 2-sigma lines = 11 +/- (2/3) x 5.32 = 11 +/- 3.5467 -> 14.5467 and 7.4533.
BASELINE = [12, 10] * 6


def test_limits_by_hand_for_twelve_points():
    # values 20 24 21 25 22 23 20 24 22 25 21 23: sum = 270, mean = 22.5
    # moving ranges 4 3 4 3 1 3 4 2 3 4 2: sum = 33, mean MR = 33 / 11 = 3.0
    # UCL = 22.5 + 2.66 x 3 = 30.48; LCL = 22.5 - 7.98 = 14.52
    values = monthly([20, 24, 21, 25, 22, 23, 20, 24, 22, 25, 21, 23])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 12 points: no short-baseline warning
        xmr = compute_xmr(values)
    assert xmr["mean"].tolist() == pytest.approx([22.5] * 12)
    assert xmr["ucl"].tolist() == pytest.approx([30.48] * 12)
    assert xmr["lcl"].tolist() == pytest.approx([14.52] * 12)
    assert xmr["moving_range"].iloc[1:].tolist() == pytest.approx([4, 3, 4, 3, 1, 3, 4, 2, 3, 4, 2])
    assert np.isnan(xmr["moving_range"].iloc[0])
    # Points alternate about the mean and stay inside 22.5 +/- 5.32: all common cause.
    assert not xmr["special_cause"].any()
    assert (xmr["rule"] == "").all()
    assert list(xmr.columns[:5]) == ["value", "moving_range", "mean", "ucl", "lcl"]
    assert {"segment", "special_cause", "rule", "signal", "baseline"} <= set(xmr.columns)


def test_default_baseline_is_first_twenty_points():
    # First 20 months alternate 12, 10: mean 11, mean MR 2 -> UCL 16.32, LCL 5.68.
    # Ten later months at 100 must not move the limits (fixed baseline). The 20th month
    # (10) is below the mean, so the run above the mean starts at month 21.
    values = monthly([12, 10] * 10 + [100] * 10)
    xmr = compute_xmr(values)
    assert xmr["mean"].unique().tolist() == pytest.approx([11.0])
    assert xmr["ucl"].unique().tolist() == pytest.approx([16.32])
    assert xmr["baseline"].sum() == 20
    assert xmr["special_cause"].iloc[20:].all()
    assert not xmr["special_cause"].iloc[:20].any()


def test_baseline_points_parameter():
    # baseline_points=12 -> BASELINE limits (mean 11, UCL 16.32) even though the next
    # 12 months (20, 22, ...) are far higher; all of them lie above the UCL.
    values = monthly(BASELINE + [20, 22] * 6)
    xmr = compute_xmr(values, baseline_points=12)
    assert xmr["mean"].iloc[-1] == pytest.approx(11.0)
    assert xmr["ucl"].iloc[-1] == pytest.approx(16.32)
    assert xmr["lcl"].iloc[-1] == pytest.approx(5.68)
    later = xmr.iloc[12:]
    assert later["special_cause"].all()
    assert (later["signal"] == "high").all()
    assert later["rule"].str.contains("above upper limit").all()
    assert later["rule"].str.contains("run of 7\\+ above mean").all()


def test_missing_month_is_not_zero_and_breaks_the_moving_range():
    # Present values 10 12 . 12 10 12 10 12 10 12 10 12 10 (one missing month):
    # 12 values, six 10s and six 12s -> mean 11 (a zero would give 132/13 = 10.15).
    # Moving ranges only between consecutive present months: 10->12 (2), then nine
    # pairs from month 4 onwards, all 2 -> mean MR = 2 (bridging the gap 12->12 would
    # add a 0 and give 20/11). UCL = 11 + 5.32 = 16.32.
    values = monthly([10, 12, None, 12, 10, 12, 10, 12, 10, 12, 10, 12, 10])
    xmr = compute_xmr(values)
    assert xmr["mean"].iloc[0] == pytest.approx(11.0)
    assert xmr["ucl"].iloc[0] == pytest.approx(16.32)
    assert np.isnan(xmr["moving_range"].iloc[2]) and np.isnan(xmr["moving_range"].iloc[3])
    assert np.isnan(xmr["value"].iloc[2])
    assert not xmr["special_cause"].iloc[2]
    assert xmr["baseline"].sum() == 12


def test_months_absent_from_the_index_become_missing_rows():
    values = monthly([10, 12, 10, 12, 10, 12, 10, 12, 10, 12, 10, 12, 10]).drop(
        pd.Period("2020-06", "M")
    )
    xmr = compute_xmr(values)
    assert len(xmr) == 13
    assert np.isnan(xmr.loc[pd.Period("2020-06", "M"), "value"])


def test_outside_limits():
    # 17 > UCL 16.32 and 5 < LCL 5.68
    xmr = compute_xmr(monthly(BASELINE + [11, 17, 11, 5, 11]), baseline_points=12)
    assert xmr["rule"].iloc[13] == "above upper limit"
    assert xmr["signal"].iloc[13] == "high"
    assert xmr["rule"].iloc[15] == "below lower limit"
    assert xmr["signal"].iloc[15] == "low"
    assert xmr["special_cause"].tolist() == [False] * 13 + [True, False, True, False]


def test_shift_of_seven_flags_the_whole_run_and_six_do_not():
    # After the baseline (ending on 10, below the mean of 11), 7 months at 12 are above
    # the mean; none is beyond 2 sigma (14.55).
    seven = compute_xmr(monthly(BASELINE + [12] * 7 + [10]), baseline_points=12)
    assert seven["special_cause"].iloc[12:19].all()
    assert (seven["rule"].iloc[12:19] == "run of 7+ above mean").all()
    assert not seven["special_cause"].iloc[19]
    six = compute_xmr(monthly(BASELINE + [12] * 6 + [10]), baseline_points=12)
    assert not six["special_cause"].any()


def test_point_on_mean_or_missing_month_breaks_a_run():
    on_mean = compute_xmr(monthly(BASELINE + [12, 12, 12, 11, 12, 12, 12]), baseline_points=12)
    assert not on_mean["special_cause"].any()
    gap = compute_xmr(monthly(BASELINE + [13] * 6 + [None] + [13] * 6), baseline_points=12)
    assert not gap["special_cause"].any()
    no_gap = compute_xmr(monthly(BASELINE + [13] * 13), baseline_points=12)
    assert no_gap["special_cause"].iloc[12:].all()


def test_trend_of_seven_strictly_rising():
    # 8 9 10 11 12 13 14: 7 points each higher than the one before, all inside the
    # 2-sigma lines (7.45, 14.55) and crossing the mean, so only the trend rule fires.
    xmr = compute_xmr(monthly(BASELINE + [8, 9, 10, 11, 12, 13, 14, 11]), baseline_points=12)
    assert (xmr["rule"].iloc[12:19] == "trend of 7+ rising").all()
    assert (xmr["signal"].iloc[12:19] == "high").all()
    assert not xmr["special_cause"].iloc[19]
    falling = compute_xmr(monthly(BASELINE + [14, 13, 12, 11, 10, 9, 8]), baseline_points=12)
    assert (falling["rule"].iloc[12:] == "trend of 7+ falling").all()
    assert (falling["signal"].iloc[12:] == "low").all()


@pytest.mark.parametrize(
    "tail",
    [
        [8, 9, 10, 11, 12, 13, 11],  # only 6 rising points
        [8, 9, 10, 10, 11, 12, 13, 14],  # a tie breaks the trend
        [8, 9, 10, None, 11, 12, 13, 14],  # a missing month breaks the trend
    ],
)
def test_no_trend(tail):
    xmr = compute_xmr(monthly(BASELINE + tail), baseline_points=12)
    assert not xmr["rule"].str.contains("trend").any()


def test_two_of_three_beyond_two_sigma():
    # 2-sigma line 14.5467: 15 and 15 in a window of three, same side -> both flagged,
    # the 11 between them is not.
    xmr = compute_xmr(monthly(BASELINE + [11, 15, 11, 15, 11]), baseline_points=12)
    assert xmr["special_cause"].tolist()[12:] == [False, True, False, True, False]
    assert xmr["rule"].iloc[13] == "2 of 3 beyond 2 sigma above"
    # Opposite sides (15 high, 7 low: 7 < 7.4533) do not count.
    mixed = compute_xmr(monthly(BASELINE + [11, 15, 11, 7, 11]), baseline_points=12)
    assert not mixed["special_cause"].any()
    # Two high points four months apart are not within three consecutive months.
    apart = compute_xmr(monthly(BASELINE + [15, 11, 11, 15, 11]), baseline_points=12)
    assert not apart["special_cause"].any()


def test_rebasing_gives_each_segment_its_own_limits():
    # Segment 1 (2020-04..2021-03): BASELINE -> mean 11, UCL 16.32.
    # Segment 2 (2021-04..2022-03): 30 34 31 35 32 33 30 34 32 35 31 33 = previous
    # hand example + 10: mean 32.5, MRs 4 3 4 3 1 3 4 2 3 4 2 -> mean MR 3 ->
    # UCL 40.48, LCL 24.52. The jump 10 -> 30 at the rebase is not a moving range.
    second = [30, 34, 31, 35, 32, 33, 30, 34, 32, 35, 31, 33]
    xmr = compute_xmr(monthly(BASELINE + second), rebase_at=["2021-04"])
    assert xmr["segment"].tolist() == [1] * 12 + [2] * 12
    assert xmr["mean"].iloc[0] == pytest.approx(11.0)
    assert xmr["ucl"].iloc[0] == pytest.approx(16.32)
    assert xmr["mean"].iloc[-1] == pytest.approx(32.5)
    assert xmr["ucl"].iloc[-1] == pytest.approx(40.48)
    assert xmr["lcl"].iloc[-1] == pytest.approx(24.52)
    assert np.isnan(xmr["moving_range"].iloc[12])
    assert not xmr["special_cause"].any()


def test_short_baseline_warns():
    with pytest.warns(UserWarning, match="baseline of only 8 months"):
        compute_xmr(monthly([10, 12] * 4))


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        (pd.Series([1.0, 2.0, 3.0]), {}, "monthly pandas Periods"),
        ([1, 2, 3], {}, "pandas Series"),
        (monthly([1]), {}, "at least 2"),
        (monthly([None, None]), {}, "no months with data"),
        (monthly(BASELINE), {"rebase_at": ["2019-01"]}, "outside the series"),
        (monthly(BASELINE), {"rebase_at": ["2020-13"]}, "not a month"),
        (monthly(BASELINE), {"baseline_points": 1}, "at least 2"),
        (monthly(BASELINE), {"baseline_points": 12.5}, "whole number"),
        (monthly([1, None, 3, None, 5]), {}, "no two consecutive months"),
    ],
)
def test_invalid_arguments(values, kwargs, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ParameterError, match=message):
            compute_xmr(values, **kwargs)


def test_classify_variation_depends_on_direction():
    xmr = compute_xmr(monthly(BASELINE + [11, 17, 11, 5, None]), baseline_points=12)
    down = classify_variation(xmr, "down")
    up = classify_variation(xmr, "up")
    assert down.iloc[12:16].tolist() == ["common cause", "concern", "common cause", "improvement"]
    assert up.iloc[12:16].tolist() == ["common cause", "improvement", "common cause", "concern"]
    assert pd.isna(down.iloc[16])
    with pytest.raises(ParameterError, match="lower is better"):
        classify_variation(xmr, "lower")


@pytest.mark.parametrize(
    ("direction", "target", "expected"),
    [
        # Process limits 5.68 to 16.32 (BASELINE).
        ("down", 20, "consistently passes"),  # UCL 16.32 < 20
        ("down", 3, "consistently fails"),  # LCL 5.68 > 3
        ("down", 12, "hit and miss"),
        ("down", 16.32, "hit and miss"),  # on the limit: not consistently below
        ("up", 20, "consistently fails"),
        ("up", 3, "consistently passes"),
        ("up", 12, "hit and miss"),
    ],
)
def test_assurance(direction, target, expected):
    xmr = compute_xmr(monthly(BASELINE))
    summary = summarise_variation(xmr, direction, target=target)
    assert summary["assurance"] == expected
    assert (
        summary["assurance_label"][0]
        == {
            "consistently passes": "P",
            "consistently fails": "F",
            "hit and miss": "H",  # not "?", the reports' symbol for "not assessed"
        }[expected]
    )


def test_summary_of_latest_point_reads_without_colour():
    xmr = compute_xmr(monthly(BASELINE + [11, 5, None]), baseline_points=12)
    down = summarise_variation(xmr, "down")
    assert down["month"] == pd.Period("2021-05", "M")  # latest month with data
    assert down["value"] == 5.0
    assert down["variation"] == "special cause improvement"
    assert down["variation_label"].startswith("▼")
    assert "improvement" in down["variation_label"]
    assert down["assurance"] is None and down["label"] == down["variation_label"]
    up = summarise_variation(xmr, "up", target=3)
    assert up["variation"] == "special cause concern"
    assert "concern" in up["label"] and "passes" in up["label"]
    common = summarise_variation(compute_xmr(monthly(BASELINE)), "down")
    assert common["variation"] == "common cause"
    assert "Common cause" in common["variation_label"]


def test_summary_rejects_bad_target():
    xmr = compute_xmr(monthly(BASELINE))
    with pytest.raises(ParameterError, match="target"):
        summarise_variation(xmr, "down", target="ten")


def test_plot_uses_distinct_marker_shapes():
    import matplotlib.pyplot as plt

    xmr = compute_xmr(monthly(BASELINE + [11, 17, 11, 5, 11]), baseline_points=12)
    ax = plot_xmr(xmr, "down", "Test chart")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("improvement" in label for label in labels)
    assert any("concern" in label for label in labels)
    assert any("Common cause" in label for label in labels)
    paths = [tuple(map(tuple, c.get_paths()[0].vertices.round(3))) for c in ax.collections]
    assert len(paths) == 3 and len(set(paths)) == 3  # three different marker shapes
    assert ax.get_title() == "Test chart"
    plt.close(ax.figure)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=12, max_size=30
    ),
    scale=st.floats(min_value=0.5, max_value=20),
    shift=st.floats(min_value=-100, max_value=100),
)
def test_affine_change_of_units_moves_limits_alike(values, scale, shift):
    # Property: mean and limits transform as a*x + b (a > 0) and the limits are
    # symmetric about the mean.
    base = compute_xmr(monthly(values))
    moved = compute_xmr(monthly([scale * v + shift for v in values]))
    for column in ("mean", "ucl", "lcl"):
        np.testing.assert_allclose(
            moved[column], scale * base[column] + shift, rtol=1e-9, atol=1e-6
        )
    np.testing.assert_allclose(base["ucl"] - base["mean"], base["mean"] - base["lcl"], atol=1e-9)


# --- issue 15: rules as NHSRplotthedots, screening, baselines ---------------------------

# A baseline of 20 months alternating 10, 12: mean 11, every moving range 2, so
# limits 11 +/- 2.66 x 2 = 5.68 and 16.32, and 2 sigma = 11 +/- (2/3) x 5.32 = 7.453 and
# 14.547.
_ALTERNATING = [10.0, 12.0] * 10


def test_two_of_three_ignores_points_beyond_the_limits():
    # 17 is beyond the upper limit (rule 1); 15 is the only point between 2 sigma and the
    # limit in its window, so "two of three" must not fire for it.
    xmr = compute_xmr(monthly(_ALTERNATING + [17.0, 15.0, 11.0]), baseline_points=20)
    assert xmr["ucl"].iloc[0] == pytest.approx(16.32)
    assert "2 of 3" not in xmr["rule"].iloc[21]
    assert not xmr["special_cause"].iloc[21]
    assert xmr["rule"].iloc[20] == "above upper limit"


def test_two_of_three_needs_the_same_side():
    # 15 (above 14.547) and 7 (below 7.453): one each side, no signal.
    mixed = compute_xmr(monthly(_ALTERNATING + [15.0, 7.0, 11.0]), baseline_points=20)
    assert not mixed["special_cause"].iloc[20:].any()
    # 15, 11, 15: two of three above 2 sigma, within the limits -> both 15s flagged.
    same = compute_xmr(monthly(_ALTERNATING + [15.0, 11.0, 15.0]), baseline_points=20)
    assert same["rule"].iloc[20] == same["rule"].iloc[22] == "2 of 3 beyond 2 sigma above"
    assert same["signal"].iloc[20] == "high" and not same["special_cause"].iloc[21]


def test_moving_range_screening_by_hand():
    # 10, 12 alternating with a spike of 30 at month 11: moving ranges are 2 (17 of them)
    # and 18 twice. Mean MR = (17 x 2 + 36) / 19 = 3.684; 3.267 x 3.684 = 12.04, so both
    # 18s are screened out and the mean MR is 2. Mean = (220 - 10 + 30) / 20 = 12.
    values = [10.0, 12.0] * 5 + [30.0, 12.0] + [10.0, 12.0] * 4
    screened = compute_xmr(monthly(values), baseline_points=20)
    assert screened["mean"].iloc[0] == pytest.approx(12.0)
    assert screened["ucl"].iloc[0] == pytest.approx(12 + 2.66 * 2)
    unscreened = compute_xmr(monthly(values), baseline_points=20, screen_outliers=False)
    assert unscreened["ucl"].iloc[0] == pytest.approx(12 + 2.66 * 70 / 19)
    assert screened["rule"].iloc[10] == "above upper limit"


def test_trend_direction_at_a_peak_and_at_a_trough():
    # Inverted V: 1..7 then 6..1. The peak (7) ends a rise of 6 steps and starts a fall
    # of 6 steps; it belongs to the rise it ends.
    peak = compute_xmr(monthly([1.0, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1]))
    assert "trend of 7+ rising" in peak["rule"].iloc[6]
    assert "falling" not in peak["rule"].iloc[6]
    assert "trend of 7+ falling" in peak["rule"].iloc[7]
    # V: 7..1 then 2..7. The trough ends the fall.
    trough = compute_xmr(monthly([7.0, 6, 5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 7]))
    assert "trend of 7+ falling" in trough["rule"].iloc[6]
    assert "rising" not in trough["rule"].iloc[6]
    assert "trend of 7+ rising" in trough["rule"].iloc[7]


def test_fixed_baseline_window():
    months = pd.period_range("2013-04", periods=48, freq="M")
    values = pd.Series(
        np.r_[np.full(12, 50.0), [100.0, 104.0] * 12, np.full(12, 70.0)], index=months
    )
    xmr = compute_xmr(values, baseline=("2014-04", "2016-03"))
    # Mean of 100, 104 alternating = 102; every moving range inside the window is 4.
    assert xmr["mean"].iloc[0] == pytest.approx(102.0)
    assert xmr["ucl"].iloc[0] == pytest.approx(102 + 2.66 * 4)
    assert list(xmr.index[xmr["baseline"]]) == list(pd.period_range("2014-04", "2016-03", freq="M"))
    with pytest.raises(ParameterError, match="baseline"):
        compute_xmr(values, baseline=("2016-03", "2014-04"))
    with pytest.raises(ParameterError, match="rebase"):
        compute_xmr(values, rebase_at=["2015-04"], baseline=("2014-04", "2016-03"))


def test_report_baseline_is_the_24_months_before_the_financial_year():
    # 2016-12 is in 2016/17, which starts 2016-04: the baseline is 2014-04 to 2016-03.
    assert report_baseline("2016-12") == (pd.Period("2014-04", "M"), pd.Period("2016-03", "M"))
    assert report_baseline("2016-04") == (pd.Period("2014-04", "M"), pd.Period("2016-03", "M"))
    assert report_baseline("2010-10", months=12) == (
        pd.Period("2009-04", "M"),
        pd.Period("2010-03", "M"),
    )


def test_detect_sustained_signal_needs_more_than_12_months():
    base = [100.0, 104, 98, 102] * 3
    twelve = compute_xmr(monthly(base + [60.0, 62, 61, 59] * 3), baseline_points=12)
    found = detect_sustained_signal(twelve)
    assert found["run"] == 12 and found["sustained"] is False
    thirteen = compute_xmr(monthly(base + [60.0, 62, 61, 59] * 3 + [60.0]), baseline_points=12)
    found = detect_sustained_signal(thirteen)
    assert found["run"] == 13 and found["sustained"] is True and found["signal"] == "low"
    assert "13 months" in found["message"]


def test_plot_marks_and_labels_the_baseline():
    months = pd.period_range("2013-04", periods=48, freq="M")
    values = pd.Series(
        np.r_[np.full(12, 50.0), [100.0, 104.0] * 12, np.full(12, 70.0)], index=months
    )
    ax = plot_xmr(compute_xmr(values, baseline=("2014-04", "2016-03")), "down", "Robbery")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Baseline (Apr 2014 to Mar 2016)" in labels
    import matplotlib.pyplot as plt

    plt.close("all")


def _steady(mean_moving_range: float) -> pd.DataFrame:
    """A synthetic XmR frame whose limits use the given mean moving range."""
    months = pd.period_range("2024-01", periods=3, freq="M")
    mean = 5.0
    return pd.DataFrame(
        {"mean": mean, "ucl": mean + spc.XMR_CONSTANT * mean_moving_range, "value": mean},
        index=months,
    )


@pytest.mark.parametrize(
    ("mean_moving_range", "values"),
    [
        (0.0, 0),  # limits on the mean: no moving range lies under them
        (0.25, 1),  # URL 0.82: only 0
        (0.6, 2),  # URL 1.96: 0 and 1
        (3 / 3.267, 3),  # URL exactly 3: 0, 1 and 2 (3 is not below it)
        (0.95, None),  # URL 3.10: 0 to 3, four values, not chunky
        (40.0, None),
    ],
)
def test_chunky_data_counts_the_moving_ranges_under_the_upper_range_limit(
    mean_moving_range, values
):
    found = spc.chunky_data(_steady(mean_moving_range))
    if values is None:
        assert found is None
    else:
        assert found["possible_values"] == values
        assert found["upper_range_limit"] == pytest.approx(3.267 * mean_moving_range)


def test_chunky_data_in_another_increment():
    # money counted in steps of 10: a mean moving range of 5 gives URL 16.3, so 0 and
    # 10 lie below it; in steps of 1 there are 17 values
    assert spc.chunky_data(_steady(5.0), increment=10.0)["possible_values"] == 2
    assert spc.chunky_data(_steady(5.0), increment=1.0) is None


def test_report_xmr_refuses_chunky_counts_only_when_told_the_increment():
    from mpsanalysis.stats.verdicts import report_xmr

    months = pd.period_range("2023-04", periods=33, freq="M")
    counts = pd.Series(0.0, index=months)
    counts[pd.Period("2024-05", "M")] = 1
    counts[pd.Period("2024-07", "M")] = 1
    xmr, info = report_xmr(counts, "2025-12")
    assert xmr is not None  # the chart the reports drew before
    xmr, info = report_xmr(counts, "2025-12", increment=1.0)
    assert xmr is None
    assert info["chunky"]["possible_values"] == 0
    assert info["reason"].startswith("too few a month for process limits")


@pytest.mark.parametrize("size", [(9.0, 4.5), (8.0, 3.4)])
def test_the_legend_is_below_the_axes_and_inside_the_figure(size):
    """Before, ``loc="best"`` put the legend inside the axes, where on real charts it sat
    on a limit line or a point (London violence with injury, 2025/26 Q3: the last entry
    on the lower limit). Now it lies wholly below the axes' tick labels and axis label,
    and inside the figure, so that a one-drawing SVG (which clips lines at the figure's
    edge) keeps the legend's line samples."""
    import base64
    import re

    import matplotlib.pyplot as plt

    from mpsanalysis.report.html import figure_html

    months = pd.period_range("2023-04", periods=24, freq="M")
    values = pd.Series(np.r_[[50.0, 54.0] * 9, [40.0, 38.0, 36.0, 34.0, 33.0, 30.0]], index=months)
    from mpsanalysis.stats.plotting import figure_with_room_below

    fig, ax = figure_with_room_below(*size, entries=spc.XMR_LEGEND_ENTRIES)
    plot_xmr(compute_xmr(values, baseline_points=18), "down", "Legend", ax=ax)
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    month_labels = ax.xaxis.get_tightbbox(renderer)  # tick labels and "Month"
    figure = fig.bbox
    assert legend.y1 < month_labels.y0 < ax.bbox.y0
    assert legend.y0 >= figure.y0 and legend.x0 >= figure.x0 and legend.x1 <= figure.x1
    # The axes keep the size they have in a figure of ``size`` with matplotlib's margins.
    height = ax.get_position().height * fig.get_size_inches()[1]
    assert height == pytest.approx((0.88 - 0.11) * size[1])
    html = figure_html(fig, "alt", "caption")
    svg = base64.b64decode(re.search(r"base64,([^\"]+)\"", html).group(1)).decode()
    legend_svg = svg[svg.index('id="legend_1"') :]
    first_line = legend_svg[: legend_svg.index("</g>")]
    assert '<path d="M ' in first_line  # the "Mean" sample is drawn, not clipped away
    plt.close("all")


def test_report_xmr_says_in_plain_words_why_the_usual_baseline_was_not_used():
    """Each fallback of the report's baseline names its months and its reason without
    the word "rebase" (synthetic series; the baseline months are counted by hand)."""
    from mpsanalysis.stats.verdicts import report_xmr

    idx = pd.period_range("2012-04", periods=57, freq="M")  # Apr 2012 to Dec 2016
    values = pd.Series([100.0, 104, 98, 102] * 14 + [100.0], index=idx)
    # A rebase point inside the usual baseline (Apr 2014 to Mar 2016): the 13 months
    # from Mar 2015 to Mar 2016 are used.
    _, info = report_xmr(values, "2016-12", rebase_at=["2015-03"])
    assert info["rule"] == "since rebase"
    assert info["description"] == (
        "the 13 months with data from Mar 2015 to Mar 2016 (the usual baseline, the 24 "
        "months before this financial year, begins before the limits start again in "
        "Mar 2015)"
    )
    # No rebase, but two months of the usual baseline have no data: the other 22 are used.
    gappy = values.copy()
    gappy[pd.Period("2014-07", "M")] = np.nan
    gappy[pd.Period("2015-01", "M")] = np.nan
    _, info = report_xmr(gappy, "2016-12")
    assert info["description"] == (
        "the 22 months with data from Apr 2014 to Mar 2016 (the usual baseline, the 24 "
        "months before this financial year, has months with no data)"
    )
    # A series that starts inside the usual baseline says so, not "limits start again".
    late = values["2015-01":]
    _, info = report_xmr(late, "2016-12")
    assert info["description"].endswith("begins before the series starts in Jan 2015)")
    # Fewer than 12 months before the year: the first 12 months since the rebase point.
    _, info = report_xmr(values, "2016-12", rebase_at=["2015-10"])
    assert info["rule"] == "first months"
    assert info["description"] == (
        "the first 12 months since the limits start again (Oct 2015 to Sep 2016), which "
        "overlap the year reported"
    )
    for rebase in (["2015-03"], ["2015-10"], []):
        assert "rebase" not in report_xmr(gappy, "2016-12", rebase_at=rebase)[1]["description"]
