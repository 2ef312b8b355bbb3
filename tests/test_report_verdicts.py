"""One coherent verdict per measure: the FYTD test allows for over-dispersion, the SPC
limits describe the recent process, and the narrative explains any difference."""

import math

import pandas as pd
import pytest
from scipy import stats

from mpsanalysis.report import objective as report

pytestmark = pytest.mark.realdata


def _sentence(r, measure_id):
    table = r.table("narrative")
    return str(table.loc[table["measure"] == measure_id, "sentence"].iloc[0])


def _year_on_year_phi(monthly: pd.Series, year: int, months: int) -> tuple[float, int]:
    """Mean of z_k^2 over the earlier financial years k < year, z_k = (c_k - p_k) /
    sqrt(c_k + p_k) of the first ``months`` months of k and k - 1, floored at 1 (written
    out here with plain loops, not the package's functions), and the number of pairs."""
    totals = {}
    for k in range(2000, year):
        window = pd.period_range(f"{k}-04", periods=months, freq="M")
        part = monthly.reindex(window)
        if part.notna().all():
            totals[k] = float(part.sum())
    z2 = [
        (totals[k] - totals[k - 1]) ** 2 / (totals[k] + totals[k - 1])
        for k in totals
        if k - 1 in totals and totals[k] + totals[k - 1] > 0
    ]
    return max(1.0, sum(z2) / len(z2)), len(z2)


def test_a_small_fall_in_violence_is_not_called_significant(real_store):
    # Before: "The fall from 104,921 to 103,023 is statistically significant (p < 0.001)"
    # from the exact Poisson test, beside an SPC column saying "common cause". In
    # 2010/11 the series has one earlier April-to-October change (2009/10 against
    # 2008/09), too few to measure year-to-year variation: the report says so.
    r = report.ObjectiveReport("serious-violence", "2010-10")
    sentence = _sentence(r, "violence-against-the-person")
    assert "statistically significant" not in sentence
    row = r._row("violence-against-the-person")
    assert row.significance["tested"] is False
    assert (
        "Not tested for significance: the test needs the changes of at least 3 earlier "
        "years over the same months (April to October) to measure year-to-year "
        "variation, and only 1 is available"
    ) in sentence
    # the SPC verdict of the headline is stated in the same paragraph, with its baseline
    assert (
        r.table("headline")
        .set_index("measure")
        .loc["violence-against-the-person", "variation"]
        .startswith("● Common cause")
    )
    assert "October 2010, is ordinary for this series (common cause" in sentence
    assert "Apr 2008 to Mar 2010" in sentence


def test_fytd_test_uses_the_dispersion_of_earlier_year_on_year_changes(real_store):
    # 2016-12 London violence with injury: 57,495 against 56,191. The dispersion is
    # that of the April-to-December changes of the earlier years in the report's
    # series, and the score statistic is referred to t on that many degrees of freedom.
    r = report.ObjectiveReport("serious-violence", "2016-12")
    row = r._row("violence-with-injury")
    phi, k = _year_on_year_phi(row.result.monthly, 2016, 9)
    assert k >= 3
    n = 57_495 + 56_191
    z = (57_495 - n / 2) / math.sqrt(phi * n / 4)
    p = 2 * stats.t(k).sf(abs(z))
    assert row.significance["dispersion"] == pytest.approx(phi, rel=1e-9)
    assert row.significance["df"] == k
    assert row.significance["p_value"] == pytest.approx(p, rel=1e-6)
    tests = r.table("narrative").set_index("measure").loc["violence-with-injury"]
    assert tests["p_value"] == pytest.approx(p, rel=1e-6)
    assert tests["dispersion"] == pytest.approx(phi, rel=1e-9) and tests["earlier_years"] == k
    sentence = _sentence(r, "violence-with-injury")
    assert f"changed from one year to the next in {k} earlier years" in sentence
    assert "The rise from 56,191 to 57,495 is" in sentence


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
    # 2016-12 London robbery against a 7% reduction target: the shortfall test is the
    # quasi-Poisson one, with the target as the exposure ratio and the dispersion of the
    # earlier year-on-year changes. In 2010-10 it cannot be run, and the reason says so.
    r = report.ObjectiveReport("robbery", "2016-12")
    row = r._row("personal-robbery")
    if row.result.measure.target is None or row.result.measure.target.percent is None:
        pytest.skip("no reduction target for personal robbery in 2016-12")
    c = row.result.comparison
    phi, k = _year_on_year_phi(row.result.monthly, 2016, 9)
    ratio = 1 - row.result.measure.target.percent / 100
    n = c.current + c.previous
    pi0 = ratio / (1 + ratio)
    z = (c.current - n * pi0) / math.sqrt(phi * n * pi0 * (1 - pi0))
    significant = 2 * stats.t(k).sf(abs(z)) < 0.05
    status = row.assessment.status
    assert status in ("not met", "at risk", "met", "on track")
    if status in ("not met", "at risk"):
        assert (status == "not met") == significant
    early = report.ObjectiveReport("robbery", "2010-10")._row("personal-robbery")
    assert "shortfall not tested" in early.assessment.reason


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
    assert "the limits were moved to Oct 2018, after every month" in r.html("spc")
    record = next(m for m in r.summary()["measures"] if m["measure"] == row.result.measure.title)
    assert record["spc_sustained"] is False


def test_a_second_sustained_shift_is_rebased_too(real_store):
    # 2015-03 London personal robbery: one automatic rebase fixes limits on 12 months
    # that straddle a later fall, and every month from Feb 2014 to Mar 2015 (14) is then
    # below them. Making Data Count recalculates after each sustained shift, so the chart
    # is rebased a second time (the audit flagged this chart when only one was allowed).
    from mpsanalysis.stats import spc, verdicts

    r = report.ObjectiveReport("robbery", "2015-03")
    row = r._row("personal-robbery")
    rebase = row.result.measure.rebase_points(row.result.classification)
    once, _ = verdicts.report_xmr(row.result.monthly, "2015-03", rebase, automatic_rebases=1)
    flagged = spc.detect_sustained_signal(once, months=verdicts.SUSTAINED_MONTHS)
    assert flagged["sustained"] and flagged["since"] == pd.Period("2014-02", "M")
    assert row.spc_baseline["auto_rebase"] == pd.Period("2014-02", "M")
    assert "; then the limits were moved to Feb 2014" in row.spc_baseline["description"]
    record = next(m for m in r.summary()["measures"] if m["measure"] == row.result.measure.title)
    assert record["spc_sustained"] is False


def test_a_boroughs_homicides_are_too_chunky_for_an_xmr_chart(real_store):
    """Barnet's homicides, 2025/26 Q3: the baseline Jan 2024 to Mar 2025 has one homicide
    in May and one in July 2024 (read from the store's monthly series below), so 2 of
    15 months: mean 2 / 15 = 0.13. The moving ranges are 1, 1, 1, 1 and ten 0s, mean
    4 / 14 = 0.286; each 1 is above 3.267 x 0.286 = 0.933 and screened out, so the
    limits rest on a mean moving range of 0 and every month was a special cause (24 of
    24 before). The report has no XmR chart for it and says why; London's homicides
    (about 9 a month) keep theirs."""
    r = report.ObjectiveReport("serious-violence", "2025-12", geography="Barnet")
    monthly = r._row("homicide").result.monthly
    baseline = monthly.loc["2024-01":"2025-03"]
    assert baseline.sum() == 2 and len(baseline) == 15
    row = r._row("homicide")
    assert row.xmr is None and row.spc is None
    assert row.spc_baseline["chunky"] == {
        "mean_moving_range": 0.0,
        "upper_range_limit": 0.0,
        "possible_values": 0,
        "mean": pytest.approx(2 / 15),
    }
    assert "homicide" not in set(r.table("spc")["measure"])
    spc_html = r._render_spc()
    # The page said "the changes from one month to the next average 0.00": the screened
    # mean, which a reader checking the 4 changes of 1 takes for a wrong figure.
    assert (
        "Homicide, Barnet: no XmR chart. The counts are too small for process limits (a "
        "mean of 0.13 a month). Worked out from the month-to-month changes, the limits "
        "would sit on the mean itself, so they would mark ordinary months as unusual "
        "(chunky data)."
    ) in spc_html
    assert "average 0.00" not in spc_html
    assert "latest month" not in _sentence(r, "homicide")
    london = report.ObjectiveReport("serious-violence", "2025-12")
    assert london._row("homicide").xmr is not None


def test_chunky_sentence_lists_the_possible_changes(real_store):
    """Hackney's homicides: mean moving range 0.86 (not screened), upper range limit
    3.267 x 0.857 = 2.80: the changes 0, 1 and 2 lie under it, three values."""
    r = report.ObjectiveReport("homicide", "2025-12", geography="Hackney")
    chunky = r._row("homicide").spc_baseline["chunky"]
    assert chunky["possible_values"] == 3
    assert chunky["upper_range_limit"] == pytest.approx(3.267 * chunky["mean_moving_range"])
    assert (
        "the limits would allow only changes of 0, 1 or 2 from one month to the next"
        in r._render_spc()
    )


def test_too_few_months_since_a_rebase_is_said_not_hidden(real_store):
    """2024/25 Q1 (June 2024): the catalogue's rebase point for the new classification is
    January 2024, so each measure has January to June 2024, 6 months, against the 12
    that limits need (fallback 4 of ``report_xmr``). Before, the SPC section said "No
    monthly series with a direction of improvement to chart", which was untrue: four
    such series are in the report."""
    r = report.ObjectiveReport("serious-violence", "2024-06")
    row = r._row("violence-with-injury")
    assert row.xmr is None and row.spc is None
    assert row.result.monthly.loc["2024-01":"2024-06"].notna().sum() == 6
    assert row.spc_baseline["months"] == 6
    assert str(row.spc_baseline["rebased"]) == "2024-01"
    spc_html = r._render_spc()
    assert "No monthly series with a direction of improvement" not in spc_html
    assert (
        "Violence with injury, London: no XmR chart. Process limits need at least 12 "
        "months of data, and there are 6 months with data since January 2024, where its "
        "limits start again (when the publisher renamed or regrouped its crime categories)."
    ) in spc_html
    directed = [
        w.result.measure.title
        for w in r.rows
        if w.result.measure.direction != "neutral" and w.result.measure.unit == "count"
    ]
    assert len(directed) == 4
    assert all(f"{title}, London: no XmR chart." in spc_html for title in directed)
    # Nine months later each series has 15 months: a chart, and no such sentence.
    later = report.ObjectiveReport("serious-violence", "2025-03")
    assert later._row("violence-with-injury").xmr is not None
    assert "Process limits need at least" not in later._render_spc()


def test_the_test_sentence_says_what_the_change_was_judged_against_in_plain_words(real_store):
    """2016/17 Q4, London violence against the person: the sentence said "allowing for
    year-to-year variation 1,160 times that of a Poisson count", jargon a committee does
    not read. It now says what the change was judged against; the dispersion stays in
    the analysts' result."""
    r = report.ObjectiveReport("serious-violence", "2017-03")
    sentence = _sentence(r, "violence-against-the-person")
    significance = r._row("violence-against-the-person").significance
    assert significance["dispersion"] > 1000
    assert "Poisson" not in sentence and "dispersion" not in sentence
    assert (
        "judged against how much the same months changed from one year to the next in "
        f"{len(significance['years'])} earlier years)"
    ) in sentence


def test_a_small_mean_is_given_to_one_decimal_in_the_chart_text(real_store):
    """Lambeth's homicides, 2025/26 Q3: 7 in the 15 baseline months, a mean of 0.47 a
    month, which the chart's alt text gave as "Mean 1 a month"."""
    r = report.ObjectiveReport("homicide", "2025-12", geography="Lambeth")
    mean = r._row("homicide").xmr["mean"].iloc[-1]
    assert mean < 1
    _, alt, _ = r._spc_figure("homicide")
    assert f"Mean {mean:.1f} a month" in alt
    london = report.ObjectiveReport("serious-violence", "2025-12")
    _, alt, _ = london._spc_figure("violence-with-injury")
    assert "Mean 5,461 a month" in alt  # whole numbers from 10 a month up


def test_a_shift_inside_last_years_months_gets_a_like_for_like_comparison(
    real_store, newest_release
):
    """Session 10: London drug trafficking, Apr to Dec 2025, rose 33.1% on the year to
    date, but the chart's sustained shift began in Sep 2024, inside last year's months:
    the rise mixes months before and after the step. The summary now compares only the
    months after it; expected values from the raw 2024 release."""
    raw = newest_release()
    trafficking = raw[raw["MinorText"].str.casefold() == "trafficking of drugs"]

    def total(first, last):
        months = pd.period_range(first, last, freq="M").strftime("%Y%m")
        return int(trafficking[list(months)].to_numpy().sum())

    now, before = total("2025-09", "2025-12"), total("2024-09", "2024-12")
    assert now < before  # down like for like, while the year to date is up
    r = report.ObjectiveReport("drugs-supply", "2025-12")
    assert str(r._row("drug-trafficking").spc_baseline["auto_rebase"]) == "2024-09"
    sentence = (
        "The monthly chart&#x27;s shift from Sep 2024 began inside last year&#x27;s "
        "comparison months (Apr 2024 to Dec 2024), so the year-to-date change mixes months "
        "before and after it. Comparing only the months after it (Sep 2025 to Dec 2025 "
        f"against Sep 2024 to Dec 2024): {now:,} against {before:,}, a fall of "
        f"{(before - now) / before * 100:.1f}%."
    )
    assert sentence in r.html("narrative")
    # The analyst's narrative table holds the same figures.
    narrative = r.table("narrative").set_index("measure")
    row = narrative.loc["drug-trafficking"]
    assert str(row["like_for_like_from"]) == "2025-09"
    assert (row["like_for_like_current"], row["like_for_like_previous"]) == (now, before)
    assert narrative.drop("drug-trafficking")["like_for_like_current"].isna().all()
    # no such sentence where the shift is too recent for three months after it
    # (London personal robbery: shift from Dec 2024, one month after it)
    robbery = report.ObjectiveReport("robbery", "2025-12")
    assert "Comparing only the months after it" not in robbery.html("narrative")
    assert robbery.table("narrative")["like_for_like_from"].isna().all()


def test_a_month_inside_the_limits_is_not_said_to_stand_out(real_store):
    """Review of session 10: Hackney violence against the person, Dec 2016: 580, inside
    the limits of 417 to 675, was "higher than the process" and "stands out"; the
    signal was a run of months above the average. The summary now says so."""
    r = report.ObjectiveReport("serious-violence", "2016-12", "Hackney")
    spc = r._row("violence-against-the-person").spc
    assert spc["lcl"] < spc["value"] < spc["ucl"] and "run" in spc["rule"]
    text = r.html("narrative")
    assert (
        "The latest month, December 2016, is a special cause (concern): it is inside the "
        "process limits, but it is one of 7 or more months in a row above the average of "
        "Apr 2014 to Mar 2016, a sign that the level has shifted."
    ) in text
    assert "The month stands out" not in text


def test_three_months_the_same_way_are_not_called_a_moved_level(real_store):
    """Review of session 10: 2021/22 Q1, London knife possession: "Each of the 3 months
    was higher than the same month last year, so the level has moved" beside p = 0.79,
    with two of the three months up by under 2%. Three months the same way happen by
    chance a quarter of the time; the sentence now needs at least six."""
    r = report.ObjectiveReport("serious-violence", "2021-06")
    text = r.html("narrative")
    assert "Each of the 3 months" not in text and "so the level has moved" not in text
    # six or more months still get it (London personal robbery, Apr to Dec 2025)
    assert "so the level has moved" in report.ObjectiveReport("robbery", "2025-12").html(
        "narrative"
    )


def test_pages_whose_months_fall_in_the_pandemic_say_so(real_store):
    """Review of session 10: 2021/22 Q1 compared every measure with Apr to Jun 2020, the
    first lockdown, and no page said so (Westminster personal robbery +155%, called a
    change "of this size" that "has happened before"). The summary now opens with a
    note; a report written before the restrictions ended does not name their end."""
    text = report.ObjectiveReport("robbery", "2021-06", "Westminster").html("narrative")
    assert (
        "The same period last year, Apr 2020 to Jun 2020, fell within the COVID-19 "
        "lockdowns and restrictions (March 2020 to March 2021)"
    ) in text
    during = report.ObjectiveReport("robbery", "2020-09").html("narrative")
    assert "This year to date, Apr 2020 to Sep 2020, falls within the COVID-19 lockdowns" in during
    assert "(from March 2020)" in during and "March 2021" not in during
    # "Most offences fell, while ... drug offences rose": London personal robbery and
    # drug trafficking, Apr to Sep 2020 against 2019 (each from its own monthly series).
    assert "most offences fell, while some that police find" in during

    def change(objective, measure):
        monthly = report.ObjectiveReport(objective, "2020-09")._row(measure).result.monthly
        return monthly["2020-04":"2020-09"].sum() - monthly["2019-04":"2019-09"].sum()

    assert change("robbery", "personal-robbery") < 0 < change("drugs-supply", "drug-trafficking")
    assert "Changes on last year, and the year-end forecasts, reflect" in during
    complete = report.ObjectiveReport("robbery", "2021-03").html("narrative")
    assert "Changes on last year reflect those months" in complete  # no forecast to name
    assert "COVID-19" not in report.ObjectiveReport("robbery", "2019-12").html("narrative")
    assert "COVID-19" not in report.ObjectiveReport("robbery", "2022-06").html("narrative")


def test_a_chart_after_the_2024_regrouping_says_why_its_baseline_is_short(real_store):
    """2025/26 Q3, Waltham Forest: the usual baseline (Apr 2023 to Mar 2025) begins
    before the January 2024 regrouping, so the limits come from the 15 months January
    2024 to March 2025 (counted from the store below). The alt text and caption say so in
    plain words; they used to say "not all available since the rebase at Jan 2024"."""
    r = report.ObjectiveReport("serious-violence", "2025-12", geography="Waltham Forest")
    row = r._row("violence-with-injury")
    assert row.result.monthly.loc["2024-01":"2025-03"].notna().sum() == 15
    html = r._render_spc()
    assert (
        "from the 15 months with data from Jan 2024 to Mar 2025 (the usual baseline, the "
        "24 months before this financial year, begins before the limits start again in "
        "Jan 2024)"
    ) in html
    assert (
        "The chart starts in Jan 2024, when the publisher renamed or regrouped its crime "
        "categories; its limits start again there."
    ) in html
    assert "rebase" not in html.lower()


def test_a_significant_change_names_the_earlier_months_that_were_signals(real_store):
    """Review of session 11: Hackney personal robbery, Apr to Sep 2020. The change on last
    year is significant and September is ordinary, and the summary said "no single
    recent month stands out on its own", while April to July were below the lower limit.
    The limits are worked out here from the monthly counts of the baseline (Apr 2018 to
    Mar 2020: mean plus or minus 2.66 mean moving ranges)."""
    r = report.ObjectiveReport("robbery", "2020-09", "Hackney")
    row = r._row("personal-robbery")
    assert row.significance["significant"] and row.spc["variation"] == "common cause"
    monthly = row.result.monthly
    base = monthly["2018-04":"2020-03"]
    lower = base.mean() - 2.66 * base.diff().abs().mean()
    below = [m.strftime("%B") for m, v in monthly["2020-04":"2020-09"].items() if v < lower]
    assert below == ["April", "May", "June", "July"]
    sentence = _sentence(r, "personal-robbery")
    assert "no month of this year stands out" not in sentence
    assert (
        "The year to date differs from last year by more than normal variation: April, May, "
        "June and July were signals on the chart (special causes), though the latest month "
        "is ordinary."
    ) in sentence
