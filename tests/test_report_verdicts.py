"""One coherent verdict per measure: the FYTD test allows for over-dispersion, the SPC
limits describe the recent process, and the narrative explains any difference."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mpsanalysis.report import objective as report

pytestmark = pytest.mark.realdata


def _sentence(r, measure_id):
    table = r.table("narrative")
    return str(table.loc[table["measure"] == measure_id, "sentence"].iloc[0])


def _independence_phi(values: pd.Series) -> float:
    """Pearson chi-squared / df of a complete 2 financial years x 12 months table, from
    the closed form row total x column total / grand total (not the package's GLM)."""
    table = values.to_numpy(dtype=float).reshape(2, 12)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return max(1.0, chi2 / 11)  # df = 24 - (1 + 1 + 11)


def test_a_small_fall_in_violence_is_not_called_significant(real_store):
    # Before: "The fall from 104,921 to 103,023 is statistically significant (p < 0.001)"
    # from the exact Poisson test, beside an SPC column saying "common cause".
    r = report.ObjectiveReport("serious-violence", "2010-10")
    sentence = _sentence(r, "violence-against-the-person")
    assert "statistically significant (p < 0.001)" not in sentence
    row = r._row("violence-against-the-person")
    window = row.result.monthly["2008-04":"2010-03"]
    assert window.notna().all() and len(window) == 24
    phi = _independence_phi(window)
    # quasi-Poisson score test by hand: n = 207,944, pi0 = 1/2
    n = 103_023 + 104_921
    z = (103_023 - n / 2) / math.sqrt(phi * n / 4)
    p = 2 * stats.norm.sf(abs(z))
    assert p > 0.05
    assert row.significance["p_value"] == pytest.approx(p, rel=1e-6)
    assert "The fall from 104,921 to 103,023 is within normal variation" in sentence
    # the SPC verdict of the headline is stated in the same paragraph, with its baseline
    assert (
        r.table("headline")
        .set_index("measure")
        .loc["violence-against-the-person", "variation"]
        .startswith("● Common cause")
    )
    assert "October 2010, is ordinary for this series (common cause" in sentence
    assert "Apr 2008 to Mar 2010" in sentence


def test_a_significant_change_beside_a_common_cause_month_is_explained(real_store):
    r = report.ObjectiveReport("serious-violence", "2010-10")
    row = r._row("violence-with-injury")
    # 40,959 against 42,951 (-4.6%): significant even allowing for over-dispersion,
    # while October 2010 is within its limits. Both are said, and why they differ.
    phi = _independence_phi(row.result.monthly["2008-04":"2010-03"])
    n = 40_959 + 42_951
    z = (40_959 - n / 2) / math.sqrt(phi * n / 4)
    assert 2 * stats.norm.sf(abs(z)) < 0.05
    assert row.significance["significant"] and row.spc["variation"] == "common cause"
    sentence = _sentence(r, "violence-with-injury")
    assert "The fall from 42,951 to 40,959 is statistically significant" in sentence
    assert "common cause" in sentence
    assert "although no single recent month stands out on its own" in sentence


def test_robbery_2016_spc_limits_come_from_the_two_years_before(real_store):
    # Before: limits from Apr 2010 to Nov 2011 (mean about 2,880 a month), and all 36
    # points shown were "special cause - improvement".
    r = report.ObjectiveReport("robbery", "2016-12")
    spc = r.table("spc", "personal-robbery").set_index("month")
    shown = spc.iloc[-report.SPC_DISPLAY_MONTHS :]
    assert not shown["special_cause"].all()
    baseline = spc.index[spc["baseline"]]
    assert (baseline.min(), baseline.max()) == (
        pd.Period("2014-04", "M"),
        pd.Period("2016-03", "M"),
    )
    monthly = r._row("personal-robbery").result.monthly["2014-04":"2016-03"]
    assert spc["mean"].iloc[-1] == pytest.approx(monthly.mean())
    # the caption names the baseline; the summary says the chart is not a sustained signal
    assert "Apr 2014 to Mar 2016" in r.html("spc")
    assert "a fixed baseline" not in r.html("spc")
    record = r.summary()["measures"][0]
    assert record["spc_sustained"] is False


def test_reduction_target_uses_the_overdispersed_test(real_store):
    # 2010-10 London robbery: a 7% reduction target missed (+6.3%). The shortfall test
    # is the quasi-Poisson one, with the target as the exposure ratio.
    r = report.ObjectiveReport("robbery", "2010-10")
    row = r._row("personal-robbery")
    c = row.result.comparison
    window = row.result.monthly["2008-04":"2010-03"]
    phi = _independence_phi(window)
    ratio = 0.93
    n = c.current + c.previous
    pi0 = ratio / (1 + ratio)
    z = (c.current - n * pi0) / math.sqrt(phi * n * pi0 * (1 - pi0))
    expected = "not met" if 2 * stats.norm.sf(abs(z)) < 0.05 else "at risk"
    assert row.assessment.status == expected


def test_a_sustained_shift_is_rebased_and_said(real_store):
    # 2020-03 London business robbery: every month from Oct 2018 to Mar 2020 (18) is
    # above the mean of the baseline Apr 2017 to Mar 2019 (a shift, rule 4), and Sep
    # 2018 is not, so the report's limits no longer describe the process. The chart is
    # rebased at Oct 2018 and the narrative and caption say so.
    r = report.ObjectiveReport("robbery", "2020-03")
    row = r._row("business-robbery")
    monthly = row.result.monthly
    mean = monthly["2017-04":"2019-03"].mean()
    assert (monthly["2018-10":"2020-03"] > mean).all()
    assert monthly[pd.Period("2018-09", "M")] <= mean
    assert row.spc_baseline["auto_rebase"] == pd.Period("2018-10", "M")
    assert r.table("spc", "business-robbery")["month"].min() == pd.Period("2018-10", "M")
    assert "The limits were moved to Oct 2018" in _sentence(r, "business-robbery")
    assert "rebased automatically at Oct 2018" in r.html("spc")
    record = next(m for m in r.summary()["measures"] if m["measure"] == row.result.measure.title)
    assert record["spc_sustained"] is False
