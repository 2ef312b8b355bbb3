"""Report sections on the real store: figures, narrative wording, statuses."""

import pandas as pd
import pytest

from mpsanalysis.errors import ParameterError
from mpsanalysis.report import export
from mpsanalysis.report import objective as report

pytestmark = pytest.mark.realdata

HEADER = "month,geography,measure,value,numerator,denominator\n"


def _extract(tmp_path, numerator, denominator):
    """A one-measure sanction detection extract for Apr-Oct 2010 (7 equal months)."""
    rows = "".join(
        f"2010-{m:02d},London,sanction_detections,,{numerator},{denominator}\n"
        for m in range(4, 11)
    )
    path = tmp_path / "sd.csv"
    path.write_text(HEADER + rows)
    return str(path)


def test_period_beyond_the_data_is_refused(real_store):
    with pytest.raises(ParameterError, match="beyond the data: the latest month available"):
        report.ObjectiveReport("robbery", "2026-01")


def test_narrative_sentence_in_the_reference_style(real_store):
    r = report.ObjectiveReport("homicide", "2010-10")
    sentence = r.narrative_sentences()[0]
    assert sentence.startswith(
        "There have been 69 offences of homicide in London financial "
        "year to date (Apr 2010 to Oct 2010), the same as in the same "
        "period last year (69)."
    )
    # 69 x 12 / 7 = 118.3, two significant figures: "around 120".
    assert sentence.endswith("If the present rate continues, the year will end at around 120.")


@pytest.mark.parametrize(
    "numerator, denominator, status",
    [
        # 19.0% against a 20% target: 1 point short, inside the 2-point tolerance.
        (1900, 10000, "at risk"),
        # 15% of 70,000 over 7 months: 5 points short and significant -> not met.
        (1500, 10000, "not met"),
        # 15% of only 140 offences (3/20 a month): 5 points short, not significant.
        (3, 20, "at risk"),
        (2100, 10000, "on track"),
        # 17.5% of 840 (21 of 120 a month) against 20%: 2.5 points short. Score test
        # z = (0.175 - 0.2) / sqrt(0.2 x 0.8 / 840) = -1.81: one-sided p 0.035, but the
        # Wilson 95% interval, 14.9% to 20.2% (upper worked by hand: centre 0.17648 +
        # half-width 0.02568), contains 20%, so the shortfall is not significant.
        (21, 120, "at risk"),
    ],
)
def test_rate_target_status_uses_the_significance_test(
    real_store, tmp_path, numerator, denominator, status
):
    r = report.ObjectiveReport(
        "confidence-and-outcomes", "2010-10", "London", _extract(tmp_path, numerator, denominator)
    )
    row = next(x for x in r.rows if x.result.measure.id == "sanction-detection-rate")
    assert row.result.fytd_rate == pytest.approx(numerator / denominator * 100)
    assert row.assessment.status == status


def test_headline_marks_proxy_and_shows_the_target(real_store):
    r = report.ObjectiveReport("gun-crime", "2025-12")
    table = r.table("headline").set_index("title")
    assert table.loc["Firearms possession offences", "proxy"]
    assert table.loc["Firearms possession offences", "target"] == "5% reduction on last year"
    assert not table.loc["Gun enabled crime", "supplied"]
    html = r.html("headline")
    assert "Firearms possession offences (proxy)" in html
    assert "data not supplied" in html


def test_a_missing_extract_tells_the_analyst_what_to_add_and_the_reader_only_why(real_store):
    r = report.ObjectiveReport("gun-crime", "2025-12", "Barnet")
    html = r.html("headline") + r.html("notes")
    assert (
        "Gun enabled crime: Not shown: this figure comes from an internal MPS extract, "
        "and none was provided for Barnet." in html
    )
    for instruction in ("data/raw/", "add rows", "gun_enabled_crime", "docs/extracts.md"):
        assert instruction not in html
    assert r.analyst_notes("headline") == [
        "Gun enabled crime: To show it, add rows with measure 'gun_enabled_crime' for Barnet "
        "to a CSV in data/raw/extracts/ (columns: month, geography, measure, value, "
        "numerator, denominator; see docs/extracts.md)."
    ]
    assert r.analyst_notes("trend") == []


def test_the_analyst_note_is_shown_in_the_notebook_and_marked_for_the_export(
    real_store, monkeypatch
):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append((a, k)))
    report.ObjectiveReport("gun-crime", "2025-12", "Barnet").show("headline")
    (table, _), (note, options) = shown
    assert "data not supplied" in table[0].data
    assert options == {"raw": True}
    assert "add rows with measure 'gun_enabled_crime'" in note[0]["text/plain"]
    assert "For the analyst</strong> (not in the published report)" in note[0]["text/html"]
    assert note[0][export.ANALYST_MIMETYPE]["section"] == "headline"


def test_every_section_renders_for_a_borough(real_store):
    r = report.ObjectiveReport("robbery", "2025-12", "Lambeth")
    for name in ("header", *report.CORE_SECTIONS):
        html = r.html(name)
        assert html and "Traceback" not in html
    assert "Lambeth" in r.html("header")


def _disruptions(tmp_path, geography, year):
    """A synthetic extract of 30 criminal network disruptions a month, April to March."""
    rows = "".join(
        f"{year + (m < 4)}-{m:02d},{geography},criminal_network_disruptions,30,,\n"
        for m in (*range(4, 13), 1, 2, 3)
    )
    path = tmp_path / f"disruptions-{geography}-{year}.csv"
    path.write_text(HEADER + rows)
    return str(path)


@pytest.mark.parametrize(
    ("geography", "year", "status", "reason"),
    [
        # 2007/08, London: 12 x 30 = 360 disruptions against at least 225: met.
        ("London", 2007, "met", ""),
        (
            "London",
            2016,
            "not assessed",
            "the target was set for 2007/08; the reference documents give none for 2016/17",
        ),  # fmt: skip
        ("Lambeth", 2007, "not assessed", "the target applies to London as a whole"),
    ],
)
def test_the_disruptions_target_is_assessed_only_where_and_when_it_was_set(
    tmp_path, geography, year, status, reason, real_store
):
    """HMIC (2008): 225 disruptions across the MPS in 2007/08. Before, every year and every
    borough was assessed against it, with "set this year's here" in the notes."""
    r = report.ObjectiveReport(
        "criminal-networks", f"{year + 1}-03", geography, _disruptions(tmp_path, geography, year)
    )
    row = r._row("criminal-network-disruptions")
    assert row.result.comparison.current == 360
    assert row.assessment.status == status
    assert row.assessment.reason == reason if reason else row.assessment.reason != ""


def test_the_gun_boroughs_target_is_shown_and_not_assessed(real_store):
    r = report.ObjectiveReport("gun-crime", "2025-12", "Lambeth")
    row = r._row("gun-enabled-crime")
    assert row.assessment.status == "not assessed"
    assert "do not name them" in row.assessment.reason
    assert r.table("headline").set_index("measure").loc["gun-enabled-crime", "target"] == (
        "5% reduction on last year"
    )
    # Review of session 11: the proxy carried the same target and was assessed for London
    # and each borough ("on track", "at risk"), beside "not assessed" for the plan's own
    # measure. It is not assessed either, for the same reason.
    for geography in ("London", "Lambeth"):
        proxy = report.ObjectiveReport("gun-crime", "2020-09", geography)._row(
            "firearms-possession"
        )
        assert proxy.assessment.status == "not assessed"
        assert "not for London or a single borough" in proxy.assessment.reason
        assert proxy.spc is None or proxy.spc.get("assurance") is None  # no monthly target


def test_a_measure_named_as_offences_reads_as_it_is(real_store):
    """Before: "There have been 17,078 offences of drug trafficking offences"."""
    r = report.ObjectiveReport("drugs-supply", "2025-12")
    table = r.table("narrative").set_index("measure")
    sentence = str(table.loc["drug-trafficking", "sentence"])
    assert sentence.startswith(
        "There have been 17,078 drug trafficking offences in London financial year to date "
        "(Apr 2025 to Dec 2025)"
    )
    assert not any(
        "offences of" in str(s) and str(s).count("offences") > 1 for s in table["sentence"]
    )


def test_a_certain_looking_chance_is_written_over_99(real_store):
    """Lambeth personal robbery, 2025/26 Q3: the simulated chance of meeting the 7%
    reduction target is 1.0 (every simulated year met it), printed "100%"."""
    r = report.ObjectiveReport("robbery", "2025-12", "Lambeth")
    table = r.table("forecast").set_index("measure")
    assert table.loc["personal-robbery", "probability"] >= 0.995
    html = r.html("forecast")
    assert "over 99%" in html and "100%" not in html


def test_a_complete_year_without_figures_does_not_call_them_final(real_store):
    r = report.ObjectiveReport("criminal-networks", "2017-03")
    assert all(row.result.comparison is None for row in r.rows)
    assert r.html("forecast") == (
        "<p>The financial year is complete; no measure has figures for it.</p>"
    )


def test_a_comparison_across_a_regrouping_says_so(real_store):
    """2024/25 Q1: Apr-Jun 2024 against Apr-Jun 2023, across the catalogue's rebase point
    of January 2024 (the 2024 release regrouped the categories). The SPC section said
    the limits start again there while the headline compared across it silently (violence
    with injury -19.0%). 2025/26 compares two periods after it: no such note."""
    r = report.ObjectiveReport("serious-violence", "2024-06")
    note = r.table("headline").set_index("measure").loc["violence-with-injury", "note"]
    assert note == (
        "The comparison with last year spans January 2024, when the publisher renamed or "
        "regrouped its crime categories: part of the change may come from that."
    )
    later = report.ObjectiveReport("serious-violence", "2025-12").table("headline")
    assert not later["note"].fillna("").str.contains("spans").any()


def test_a_year_without_a_comparison_says_only_that(real_store):
    """Review of session 10: 2024/25 Q4 needs December 2023, which no file publishes.
    The note said "there is no comparison with last year" and then "The comparison with
    last year spans January 2024 ...: part of the change may come from that", and the
    robbery target's assessment said "no figure for this period" beside a headline
    figure of 26,662."""
    r = report.ObjectiveReport("robbery", "2025-03")
    headline = r.table("headline").set_index("measure")
    note = headline.loc["personal-robbery", "note"]
    assert note == (
        "No single crime classification covers both Apr 2024 to Mar 2025 and Apr 2023 to "
        "Mar 2024 (Dec 2023 not in the published data for these categories), so there is "
        "no comparison with last year."
    )
    assert headline.loc["personal-robbery", "current"] > 0
    row = r._row("personal-robbery")
    assert row.assessment.status == "not assessed"
    assert row.assessment.reason == (
        "there is no comparison with last year (see the note under the headline figures), "
        "so the reduction target cannot be judged"
    )
    assert "no figure for this period" not in r.html("notes")


def test_a_tie_at_the_top_or_bottom_of_the_borough_ranking_is_not_given_to_one_borough(
    real_store,
):
    """Homicides, 2024/25 Q1: many boroughs had none, and the chart's text named one of
    them "lowest" (Brent). It now says how many share it, counted here from the table
    (per 100,000 residents since session 9, so the tie is boroughs with no homicide)."""
    r = report.ObjectiveReport("homicide", "2024-06")
    table = r.table("borough")
    shown = table["rate_per_100000"].map("{:,.2f}".format)
    lowest = shown[table["rate_per_100000"].idxmin()]
    tied = int((shown == lowest).sum())
    assert tied > 1 and tied == int((table["count"] == 0).sum())
    _, alt, _ = r._borough_figure()
    assert f"lowest: {tied} boroughs ({lowest})" in alt


def _sentence(r, measure_id):
    table = r.table("narrative")
    return " ".join(table.loc[table["measure"] == measure_id, "sentence"])


def test_a_steady_change_within_normal_variation_says_why_both_hold(real_store):
    # London personal robbery, Apr to Dec 2025 against Apr to Dec 2024 (London Datastore):
    # the test calls the 13.7% fall within normal variation, while every month fell.
    r = report.ObjectiveReport("robbery", "2025-12", "London")
    row = next(x for x in r.rows if x.result.measure.id == "personal-robbery")
    trend = r.table("trend", measure="personal-robbery").dropna(subset=["value"])
    assert not row.significance["significant"]
    now = trend[trend["this_year"]].set_index("month")["value"]
    before = trend[~trend["this_year"]].set_index("month")["value"]
    before.index = before.index + 12  # the same month a year later
    lower = int((now < before.reindex(now.index)).sum())
    assert (lower, len(now)) == (9, 9)
    shift = row.spc_baseline["auto_rebase"]
    text = _sentence(r, "personal-robbery")
    assert (
        "Each of the 9 months was lower than the same month last year, and the monthly "
        f"chart finds a sustained shift from {shift.strftime('%b %Y')} (its limits start "
        "again there, so it judges later months against the new level), so the level has "
        "moved; but changes of this size from one year to the next have happened before"
    ) in text
    assert "within normal variation" in text  # the test's own verdict is kept


def test_no_steady_change_sentence_for_a_mixed_or_significant_change(real_store):
    # Lambeth violence with injury rose 0.3% (some months up, some down); London drug
    # trafficking rose significantly (p = 0.024).
    lambeth = report.ObjectiveReport("serious-violence", "2025-12", "Lambeth")
    assert "level has moved" not in _sentence(lambeth, "violence-with-injury")
    london = report.ObjectiveReport("drugs-supply", "2025-12", "London")
    row = next(x for x in london.rows if x.result.measure.id == "drug-trafficking")
    assert row.significance["significant"]
    assert "level has moved" not in _sentence(london, "drug-trafficking")


def test_at_risk_says_which_forecast_misses_and_by_how_much(real_store):
    """Barnet personal robbery, 2025/26 Q3: 386 against 423 (8.7% down, inside the 7%
    reduction target), but 386 x 12 / 9 = 514.7 for the year against 2024/25's total
    (read from the monthly series): up on last year. The reason said only "the year-end
    forecast does not", while the table's other forecast (last year's pattern) meets it."""
    r = report.ObjectiveReport("robbery", "2025-12", "Barnet")
    row = r._row("personal-robbery")
    monthly = row.result.monthly
    last_year = monthly.loc["2024-04":"2025-03"].sum()
    present_rate = 386 * 12 / 9
    change = (present_rate - last_year) / last_year * 100
    assert change > 0
    assert row.assessment.status == "at risk"
    assert row.assessment.reason == (
        "the year so far meets 7% reduction on last year (8.7% down on last year) but the "
        f"year-end forecast at the present rate does not ({change:.1f}% up on last year)"
    )


def test_measures_without_a_direction_say_why_they_have_no_spc_chart(real_store):
    """Sexual offences, London, 2025/26 Q3: rape and other sexual offences have figures
    but no direction of improvement; the section said only "No monthly series with a
    direction of improvement to chart", and a reader of "Reduce sexual offences" could
    not tell why."""
    r = report.ObjectiveReport("sexual-offences", "2025-12")
    undirected = [x.result.measure.id for x in r.rows if x.result.measure.direction == "neutral"]
    assert undirected == ["rape", "other-sexual-offences"]
    html = r.html("spc")
    assert (
        "Rape and other sexual offences: no chart, since no direction of improvement is "
        "assumed for them" in html
    )
    assert "No monthly series with a direction" not in html


def test_a_target_set_for_another_year_or_area_says_so_in_the_headline(real_store):
    """Criminal network disruptions: the plan's 225 was for London as a whole in 2007/08;
    a Barnet page in 2025/26 showed a bare "at least 225 in the year"."""
    barnet = report.ObjectiveReport("criminal-networks", "2025-12", "Barnet")
    target = barnet.table("headline").set_index("measure").loc["criminal-network-disruptions"]
    assert target["target"] == "at least 225 in the year (set for 2007/08, for London as a whole)"
    assert target["status"] == "not assessed"
    london = report.ObjectiveReport("criminal-networks", "2007-12")
    assert london.table("headline").set_index("measure").loc[
        "criminal-network-disruptions", "target"
    ] == ("at least 225 in the year (set for 2007/08)")


def test_hit_and_miss_gives_the_monthly_target_against_the_limits(real_store, newest_release):
    """Session 10: London personal robbery, 2025/26 Q3, showed "hit and miss: the target
    lies within the process limits" beside "on track" and a 95% chance of meeting the
    target, with nothing saying why both hold. The SPC paragraph now gives the target
    as a monthly figure, from 2024/25's total read here from the raw file, against the
    chart's limits, and says that the headline status judges the whole year."""
    raw = newest_release()
    personal = raw[raw["MinorText"].str.casefold() == "robbery of personal property"]
    year = [str(m) for m in pd.period_range("2024-04", "2025-03", freq="M").strftime("%Y%m")]
    last_year = int(personal[year].to_numpy().sum())
    monthly = last_year * 0.93 / 12
    r = report.ObjectiveReport("robbery", "2025-12", "London")
    spc = r._row("personal-robbery").spc
    assert spc["assurance"] == "hit and miss" and spc["target"] == pytest.approx(monthly)
    html = r.html("spc")
    assert (
        f"The target works out at {monthly:,.0f} a month (7% below last year&#x27;s "
        f"{last_year:,}, over 12 months), inside the limits of {spc['lcl']:,.0f} to "
        f"{spc['ucl']:,.0f}, so ordinary months fall on either side of it by chance alone. "
        "The headline status judges the year as a whole."
    ) in html
    assert spc["lcl"] < monthly < spc["ucl"]


def test_consistently_fails_does_not_say_no_month_meets_the_target(real_store):
    """Review of session 10: London personal robbery, 2021/22 Q1: "F – consistently fails
    ... so no ordinary month meets it" beside a 40% chance of meeting the target for the
    year, and April 2021 already below the monthly target (a special-cause month). The
    sentence now says ordinary months miss it and that the year is judged elsewhere."""
    r = report.ObjectiveReport("robbery", "2021-06")
    spc = r._row("personal-robbery").spc
    assert spc["assurance"] == "consistently fails"
    april = r._row("personal-robbery").result.monthly[pd.Period("2021-04", "M")]
    assert april < spc["target"] < spc["lcl"]
    html = r.html("spc")
    assert "no ordinary month meets it" not in html
    assert (
        f"below the lower limit of {spc['lcl']:,.0f}, so ordinary months miss it: meeting it "
        "needs a lasting change in the level. The headline status and the forecast judge "
        "the year as a whole."
    ) in html


def test_definitions_name_the_2024_regrouping(real_store):
    """Review of session 10: the 2024/25 definitions said only "This report uses the
    current MPS crime classification (from April 2010)", while the figures come from the
    2024 release, which regrouped the categories (the catalogue's rebase point)."""
    notes = report.ObjectiveReport("serious-violence", "2025-03").html("notes")
    assert (
        "This report uses the current MPS crime classification (from April 2010), in its "
        "categories as renamed or regrouped in January 2024."
    ) in notes
    earlier = report.ObjectiveReport("serious-violence", "2016-12").html("notes")
    assert "regrouped" not in earlier


def test_the_forecast_table_has_no_empty_chance_column(real_store):
    """2025/26 Q3: no homicide measure has a target, so no row has a chance of meeting
    one and the column is left out; personal robbery's 7% reduction target keeps it."""
    homicide = report.ObjectiveReport("homicide", "2025-12")
    assert homicide.table("forecast")["probability"].isna().all()
    assert "Chance of meeting target" not in homicide._render_forecast()
    robbery = report.ObjectiveReport("robbery", "2025-12")
    assert robbery.table("forecast")["probability"].notna().any()
    assert "Chance of meeting target" in robbery._render_forecast()


def test_an_extract_measure_is_not_called_unpublished(real_store):
    """Public confidence is published (MOPAC's survey), just not in the files this
    project reads; the definitions used to call every extract measure "not published"."""
    notes = report.ObjectiveReport("confidence-and-outcomes", "2025-12").html("notes")
    assert "not published" not in notes
    assert notes.count("the figure is not in the published files this report reads") == 3


def test_the_header_says_a_past_periods_figures_are_as_revised_since(real_store):
    """Review of session 11: a report for Apr to Sep 2020 said "Data available to
    December 2025" with nothing to say whether its figures were 2020's or as revised
    since. The latest report's header gives the month alone."""
    past = report.ObjectiveReport("robbery", "2020-09").html("header")
    assert (
        "December 2025: this period&#x27;s figures as published up to then, with any "
        "revisions to its months"
    ) in past
    latest = report.ObjectiveReport("robbery", "2025-12").html("header")
    assert "<dd>December 2025</dd>" in latest


def test_every_sanction_detection_rate_says_what_a_sanction_detection_is(real_store):
    """Review of session 11: "sanction detection rate" was never defined on any page.
    Each such measure's definition now says what counts as one."""
    from mpsanalysis.measures import catalogue

    rates = [
        (objective.id, m.id)
        for objective in catalogue.load_catalogue().values()
        for m in objective.measures
        if "sanction-detection" in m.id
    ]
    assert len(rates) == 4
    for objective_id, measure_id in rates:
        notes = report.ObjectiveReport(objective_id, "2025-12").html("notes")
        title = catalogue.get_objective(objective_id).measure(measure_id).title
        item = notes.split(f"<strong>{title}</strong>")[1].split("</li>")[0]
        assert "A sanction detection is an offence cleared up with a formal sanction" in item
