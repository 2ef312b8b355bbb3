"""The shared sections of every objective report.

A notebook creates an :class:`ObjectiveReport` from its parameters and displays its
sections; everything is computed here, so notebooks stay short and tell the story.
Every figure shown is computed from the data; every piece of text from data is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from mpsanalysis import boroughs, periods
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest import extracts
from mpsanalysis.measures import catalogue
from mpsanalysis.measures import compute as measures
from mpsanalysis.measures.assessment import (
    STATUS_ICONS,
    STATUSES,
    Assessment,
    assess_against_target,
)
from mpsanalysis.measures.catalogue import REBASE_REASON
from mpsanalysis.report import charts
from mpsanalysis.report.export import ANALYST_MIMETYPE, SUMMARY_MIMETYPE
from mpsanalysis.report.html import (
    callout_html,
    escape,
    figure_html,
    format_change,
    format_count,
    format_money,
    format_money_change,
    format_percent,
    join_in_words,
    lower_first,
    status_html,
    table_html,
)

__all__ = ["ObjectiveReport", "SUMMARY_MIMETYPE", "round_for_narrative", "check_period"]


def round_for_narrative(value: float) -> float:
    """Round a forecast to two significant figures for "around N" sentences.

    Examples
    --------
    >>> round_for_narrative(9079.4), round_for_narrative(428.6), round_for_narrative(31.7)
    (9100.0, 430.0, 32.0)
    """
    if value is None or math.isnan(value) or value == 0:
        return value
    digits = 2 - int(math.floor(math.log10(abs(value)))) - 1
    return float(round(value, digits))


def check_period(period_end: str | pd.Period, last_month: pd.Period) -> pd.Period:
    """Validate a reporting period against the data: a month, not beyond the last one.

    Examples
    --------
    >>> check_period("2026-01", pd.Period("2025-12", "M"))
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.ParameterError: period_end '2026-01' is beyond the data: the latest month available is 2025-12
    """
    end = periods.parse_month(period_end)
    if end > last_month:
        raise ParameterError(
            f"period_end '{end}' is beyond the data: the latest month available is {last_month}"
        )
    return end


@dataclass
class _Row:
    result: measures.MeasureResult
    assessment: Assessment
    significance: dict | None
    spc: dict | None = None
    xmr: pd.DataFrame | None = None
    #: How the SPC limits were fixed (``report_xmr``'s dict), or why there is no chart.
    spc_baseline: dict | None = None
    #: ``detect_sustained_signal`` of the chart (None without one).
    sustained: dict | None = None


SPC_DISPLAY_MONTHS = 36


def _monthly_target(result: measures.MeasureResult) -> float | None:
    """The target as a monthly figure, for SPC assurance (None without one, or when the
    target does not apply to this report's area or year)."""
    target, c = result.measure.target, result.comparison
    if target is None or c is None or _why_not_assessed(result):
        return None
    if (
        target.type == "reduction"
        and target.percent is not None
        and c.last_year_total
        and not math.isnan(c.last_year_total)
    ):
        return c.last_year_total * (1 - target.percent / 100) / 12
    if target.type == "absolute" and target.value is not None:
        return target.value / 12
    return None


def _spc(result: measures.MeasureResult) -> tuple[dict | None, pd.DataFrame | None, dict | None]:
    """XmR chart data, the latest month's variation and how the limits were fixed, for a
    monthly count measure (limits: :func:`mpsanalysis.stats.verdicts.report_xmr`)."""
    m = result.measure
    if m.unit not in ("count", "money") or result.monthly.empty or m.direction == "neutral":
        return None, None, None
    from mpsanalysis.stats.spc import summarise_variation
    from mpsanalysis.stats.verdicts import report_xmr

    xmr, info = report_xmr(
        result.monthly,
        result.period_end,
        m.rebase_points(result.classification),
        increment=1.0 if m.unit == "count" else None,
    )
    if xmr is None:
        return None, None, info
    return summarise_variation(xmr, m.direction, _monthly_target(result)), xmr, info


def _format_value(unit: str, value: float) -> str:
    return format_money(value) if unit == "money" else format_count(value)


def _significance(result: measures.MeasureResult) -> dict | None:
    """The FYTD change test (quasi-Poisson, dispersion from the measure's own series), or
    a dict saying why it was not run; None for measures that are not counts."""
    c = result.comparison
    if c is None or math.isnan(c.current) or math.isnan(c.previous):
        return None
    if result.measure.unit != "count":
        return None
    from mpsanalysis.stats.verdicts import assess_fytd_change

    return assess_fytd_change(result.monthly, result.period_end, c.current, c.previous)


def _why_not_assessed(result: measures.MeasureResult) -> str | None:
    """Why a measure's target does not apply to this report (its area or its year), or
    None when it does (or there is no target)."""
    m = result.measure
    if m.target is None:
        return None
    if m.target_unassessable:
        return m.target_unassessable
    if m.target_geography and result.geography not in m.target_geography:
        where = (
            "London as a whole" if m.target_geography == (boroughs.LONDON,) else "other boroughs"
        )
        return f"the target applies to {where}"
    if m.target_years:
        year = periods.financial_year_label(periods.financial_year(result.period_end))
        if year not in m.target_years:
            return (
                f"the target was set for {', '.join(m.target_years)}; the reference "
                f"documents give none for {year}"
            )
    return None


def _assess(result: measures.MeasureResult) -> Assessment:
    m = result.measure
    target = m.target
    if target is None:
        return assess_against_target(None, math.nan, direction="up", year_complete=False)
    reason = _why_not_assessed(result)
    if reason:
        return Assessment("not assessed", math.nan, math.nan, reason)
    complete = periods.months_elapsed(result.period_end) == 12
    if target.type in ("minimum-rate", "maximum-rate"):
        if not result.rate_now or target.percent is None:
            return assess_against_target(
                target, math.nan, direction=m.direction, year_complete=complete
            )
        from mpsanalysis.stats.significance import assess_rate_against_target

        k, n = result.rate_now
        test = assess_rate_against_target(int(k), int(n), target.percent / 100)
        # The shortfall is significant when the whole 95% Wilson interval is on the
        # wrong side of the target (the verdict the report prints with the interval).
        shortfall = "below target" if target.type == "minimum-rate" else "above target"
        return assess_against_target(
            target,
            result.fytd_rate,
            direction=m.direction,
            year_complete=complete,
            shortfall_significant=test["position"] == shortfall,
        )
    c = result.comparison
    if c is None:
        return assess_against_target(
            target, math.nan, direction=m.direction, year_complete=complete
        )
    if target.type == "reduction" and target.percent is not None:
        if math.isnan(c.previous):  # no comparison: a reduction has nothing to measure
            return Assessment(
                "not assessed",
                math.nan,
                math.nan,
                "there is no comparison with last year (see the note under the headline "
                "figures), so the reduction target cannot be judged",
            )
        forecast_change = (
            (c.forecast_run_rate - c.last_year_total) / c.last_year_total * 100
            if c.last_year_total and not math.isnan(c.last_year_total)
            else None
        )
        significant = None
        untested = None
        if not math.isnan(c.current) and not math.isnan(c.previous) and c.previous > 0:
            from mpsanalysis.stats.verdicts import assess_fytd_change

            test = assess_fytd_change(
                result.monthly,
                result.period_end,
                c.current,
                c.previous,
                exposure_ratio=1 - target.percent / 100,
            )
            if test["tested"]:
                significant = bool(test["significant"])
            else:
                untested = f"shortfall not tested: {test['reason']}"
        return assess_against_target(
            target,
            c.percent_change,
            direction=m.direction,
            year_complete=complete,
            forecast=forecast_change,
            shortfall_significant=significant,
            untested_reason=untested,
        )
    position = c.current if complete else c.forecast_run_rate
    return assess_against_target(target, position, direction=m.direction, year_complete=complete)


def _target_text(m, geography: str) -> str | None:
    """The target as the headline shows it, with the year and the area it was set for
    when the catalogue limits them: "at least 225 in the year (set for 2007/08, for
    London as a whole)" on a borough's page in 2025/26, not a bare "at least 225 in the
    year" that reads as this year's target for the borough."""
    if m.target is None:
        return None
    limits = []
    if m.target_years:
        limits.append(f"set for {', '.join(m.target_years)}")
    if m.target_geography and geography not in m.target_geography:
        where = ", ".join(m.target_geography)
        limits.append(f"for {where} as a whole" if where == boroughs.LONDON else f"for {where}")
    text = m.target.describe(m.direction)
    return f"{text} ({', '.join(limits)})" if limits else text


def _assurance_sentence(row: _Row) -> str:
    """What the SPC assurance verdict means for the target, with the figures: the
    target as a monthly figure against the limits, and that the year as a whole is
    judged elsewhere. "Hit and miss" beside a year that is on track read as a
    contradiction (London personal robbery, 2025/26 Q3: hit and miss, and a 95% chance
    of meeting the target).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> from mpsanalysis.measures.catalogue import Target
    >>> measure = NS(target=Target("reduction", percent=7.0), direction="down", unit="count")
    >>> row = NS(result=NS(measure=measure, comparison=NS(last_year_total=1200.0)),
    ...          spc={"assurance": "hit and miss", "target": 93.0, "lcl": 80.0, "ucl": 110.0})
    >>> print(_assurance_sentence(row).strip())  # doctest: +NORMALIZE_WHITESPACE
    The target works out at 93 a month (7% below last year's 1,200, over 12 months),
    inside the limits of 80 to 110, so ordinary months fall on either side of it by chance
    alone. The headline status judges the year as a whole.
    """
    spc = row.spc or {}
    verdict, monthly = spc.get("assurance"), spc.get("target")
    if verdict is None or monthly is None:
        return ""
    m, target, comparison = row.result.measure, row.result.measure.target, row.result.comparison
    if target is None or comparison is None:  # no monthly target without them
        return ""
    shape = (lambda v: f"{v:,.1f}") if abs(monthly) < 10 else (lambda v: f"{v:,.0f}")
    lcl, ucl = max(spc["lcl"], 0.0), spc["ucl"]
    if target.type == "reduction":
        how = (
            f"{target.percent:g}% below last year's "
            f"{format_count(comparison.last_year_total)}, over 12 months"
        )
    else:
        how = f"the year's target of {format_count(target.value)} over 12 months"
    start = f" The target works out at {shape(monthly)} a month ({how}),"
    if verdict == "hit and miss":
        return (
            f"{start} inside the limits of {shape(lcl)} to {shape(ucl)}, so ordinary months "
            "fall on either side of it by chance alone. The headline status judges the "
            "year as a whole."
        )
    lower_is_better = m.direction == "down"
    if verdict == "consistently passes":
        side = (
            f"above the upper limit of {shape(ucl)}"
            if lower_is_better
            else (f"below the lower limit of {shape(lcl)}")
        )
        return (
            f"{start} {side}, so ordinary months meet it. The headline status judges the "
            "year as a whole."
        )
    side = (
        f"below the lower limit of {shape(lcl)}"
        if lower_is_better
        else (f"above the upper limit of {shape(ucl)}")
    )
    # Not "no month meets it": a special-cause month can (London robbery, April 2021,
    # below the monthly target with a 40% chance of meeting it for the year).
    return (
        f"{start} {side}, so ordinary months miss it: meeting it needs a lasting change in "
        "the level. The headline status and the forecast judge the year as a whole."
    )


def _month_name(month: pd.Period) -> str:
    return month.strftime("%B %Y")


#: The COVID-19 national lockdowns and restrictions in England, first and last month
#: (23 March 2020 to the end of the third lockdown's stay-at-home order, 29 March 2021),
#: when most recorded crime fell sharply and then recovered (drug offences rose).
PANDEMIC_MONTHS = (pd.Period("2020-03", "M"), pd.Period("2021-03", "M"))


def pandemic_note(period_end: pd.Period) -> str:
    """A note when this year or last year's comparison months fall within
    :data:`PANDEMIC_MONTHS` ('' otherwise): year-on-year changes, the test's "changes of
    this size have happened before" and the forecast from last year's pattern then
    compare with, or are built on, months unlike any other (2021/22 Q1: Westminster
    personal robbery +155% on Apr to Jun 2020).

    Examples
    --------
    >>> print(pandemic_note(pd.Period("2021-06", "M")))  # doctest: +NORMALIZE_WHITESPACE
    The same period last year, Apr 2020 to Jun 2020, fell within the COVID-19 lockdowns
    and restrictions (March 2020 to March 2021), when recorded crime changed sharply:
    most offences fell, while some that police find through their own activity, such as
    drug offences, rose. Changes on last year, and the year-end forecasts, reflect those
    months.
    >>> pandemic_note(pd.Period("2019-12", "M"))
    ''
    """
    window = periods.fytd_window(period_end)
    last = periods.same_period_last_year(window)
    first, final = PANDEMIC_MONTHS
    # a report written before they ended does not name their end
    span = (
        f"{first.strftime('%B %Y')} to {final.strftime('%B %Y')}"
        if period_end >= final
        else f"from {first.strftime('%B %Y')}"
    )

    def overlaps(w) -> bool:
        return w.start <= final and w.end >= first

    def how(w) -> str:  # wholly within, or in part
        return "within" if w.start >= first and w.end <= final else "partly within"

    restrictions = f"the COVID-19 lockdowns and restrictions ({span})"
    if overlaps(window) and overlaps(last):
        which = (
            f"This year to date, {window.label}, falls {how(window)} {restrictions}, and the "
            f"same period last year, {last.label}, {how(last)} them"
        )
    elif overlaps(window):
        which = f"This year to date, {window.label}, falls {how(window)} {restrictions}"
    elif overlaps(last):
        which = f"The same period last year, {last.label}, fell {how(last)} {restrictions}"
    else:
        return ""
    # a complete year has no forecast to mention
    forecast = ", and the year-end forecasts," if len(window) < 12 else ""
    # Not "crime fell": drug offences, found mostly by police activity, rose (London
    # drug trafficking, Apr to Sep 2020: +62% on 2019).
    return (
        f"{which}, when recorded crime changed sharply: most offences fell, while some "
        "that police find through their own activity, such as drug offences, rose. "
        f"Changes on last year{forecast} reflect those months."
    )


#: The fewest months of the year to date behind "so the level has moved": every month
#: of n moving the same way happens by chance alone with probability 2 x 0.5^n, a
#: quarter for 3 months (Q1 pages said it of three months, two of them up by under 2%)
#: and 3% for 6.
STEADY_MIN_MONTHS = 6


def _steady_change(row: _Row) -> str:
    """Why a change the FYTD test calls within normal variation can still be steady: the
    sentence, when every month (or, beside a sustained shift on the SPC chart that began
    after the start of last year's period, three in four months) moved the way the year
    to date did; '' otherwise.

    The test asks whether the year's change is larger than the swings between earlier
    years; the months and the chart ask whether the level has moved. Both can be true,
    and the page says so rather than leave "within normal variation" beside a fall in
    every month (London personal robbery, Apr to Dec 2025: 9 of 9 months lower, a shift
    from Dec 2024, p = 0.55).
    """
    sig, info, r = row.significance, row.spc_baseline or {}, row.result
    c = r.comparison
    if sig is None or not sig.get("tested") or sig["significant"]:
        return ""
    if c is None or math.isnan(c.change) or c.change == 0:
        return ""
    window = periods.fytd_window(r.period_end)
    last = periods.same_period_last_year(window)
    now = r.monthly.reindex(window.months).to_numpy(dtype=float)
    before = r.monthly.reindex(last.months).to_numpy(dtype=float)
    n = len(now)
    if n < STEADY_MIN_MONTHS or np.isnan(now).any() or np.isnan(before).any():
        return ""
    higher = c.change > 0
    same_way = int(((now > before) if higher else (now < before)).sum())
    shift = info.get("auto_rebase")
    shift_between = shift is not None and shift > last.months[0]
    if same_way < n and not (shift_between and same_way * 4 >= n * 3):
        return ""
    word = "higher" if higher else "lower"
    months = (
        f"Each of the {n} months was {word} than the same month last year"
        if same_way == n
        else f"{same_way} of the {n} months were {word} than the same month last year"
    )
    chart = (
        f", and the monthly chart finds a sustained shift from {shift.strftime('%b %Y')}"
        " (its limits start again there, so it judges later months against the new level)"
        if shift is not None and shift_between
        else ""
    )
    return (
        f"{months}{chart}, so the level has moved; but changes of this size from one year "
        "to the next have happened before in this series, which is why the test does not "
        "call it beyond normal variation."
    )


#: The fewest months after a shift that the like-for-like comparison needs.
LIKE_FOR_LIKE_MIN_MONTHS = 3


def _like_for_like_figures(row: _Row) -> dict | None:
    """The months after the SPC chart's sustained shift, this year against last, when
    the shift began inside last year's comparison months (None otherwise, or with fewer
    than :data:`LIKE_FOR_LIKE_MIN_MONTHS` such months or any of them missing).

    Returns a dict: ``shift`` (the month the limits were moved to), ``months`` (this
    year's months after it), ``current`` and ``previous`` (their totals this year and
    in the same months last year). London drug trafficking, Apr to Dec 2025: after a
    shift from Sep 2024, Sep to Dec 2025 had 6,818 against 7,498 in Sep to Dec 2024.
    """
    info, r = row.spc_baseline or {}, row.result
    shift, c = info.get("auto_rebase"), r.comparison
    if shift is None or c is None or math.isnan(c.change):
        return None
    window = periods.fytd_window(r.period_end)
    last = periods.same_period_last_year(window)
    if not last.months[0] < shift <= last.months[-1]:
        return None
    after = [m for m in window.months if m - 12 >= shift]
    if len(after) < LIKE_FOR_LIKE_MIN_MONTHS:
        return None
    now = r.monthly.reindex(after)
    before = r.monthly.reindex([m - 12 for m in after])
    if now.isna().any() or before.isna().any():
        return None
    return {
        "shift": shift,
        "months": after,
        "current": float(now.sum()),
        "previous": float(before.sum()),
    }


def _like_for_like(row: _Row) -> str:
    """The sentence for :func:`_like_for_like_figures` ('' when there are none): the
    year-to-date change mixes months before and after the step, so the months after it
    are compared on their own.

    London drug trafficking, Apr to Dec 2025: up 33.1% on the year to date, after a
    shift from Sep 2024; Sep to Dec 2025 against Sep to Dec 2024 was down 9.1%.
    """
    figures = _like_for_like_figures(row)
    if figures is None:
        return ""
    shift, after = figures["shift"], figures["months"]
    total_now, total_before = figures["current"], figures["previous"]
    last = periods.same_period_last_year(periods.fytd_window(row.result.period_end))
    unit = row.result.measure.unit

    def span(months) -> str:
        return f"{months[0].strftime('%b %Y')} to {months[-1].strftime('%b %Y')}"

    if total_now == total_before:
        change = "the same"
    elif total_before == 0:
        change = "up from none"
    else:
        pct = (total_now - total_before) / total_before * 100
        change = f"{'a rise' if pct > 0 else 'a fall'} of {abs(pct):.1f}%"
    return (
        f"The monthly chart's shift from {shift.strftime('%b %Y')} began inside last "
        f"year's comparison months ({last.label}), so the year-to-date change mixes months "
        f"before and after it. Comparing only the months after it ({span(after)} against "
        f"{span([m - 12 for m in after])}): {_format_value(unit, total_now)} against "
        f"{_format_value(unit, total_before)}, {change}."
    )


def _coherence(row: _Row) -> str:
    """Sentences that put the FYTD test and the SPC verdict of one measure side by side,
    explaining where they differ ('' when there is neither)."""
    steady = _steady_change(row)
    parts = _test_and_chart(row, steady_said=bool(steady))
    like = _like_for_like(row)
    return " ".join([*parts, *(p for p in (steady, like) if p)])


def _earlier_signals(row: _Row) -> str:
    """Beside a significant year-to-date change whose latest month is ordinary: whether
    earlier months of the year were signals on the chart (Hackney personal robbery,
    Apr to Sep 2020: April to July below the lower limit, September ordinary)."""
    lead = "The year to date differs from last year by more than normal variation"
    xmr = row.xmr
    window = periods.fytd_window(row.result.period_end).months
    flagged = []
    if xmr is not None and "special_cause" in xmr:
        months = xmr.loc[xmr.index.isin(window)]
        flagged = list(months.index[months["special_cause"].fillna(False).astype(bool)])
    if not flagged:
        return f"{lead}, although no month of this year stands out on its own on the chart."
    named = join_in_words([m.strftime("%B") for m in flagged])
    were = "was a signal" if len(flagged) == 1 else "were signals"
    return (
        f"{lead}: {named} {were} on the chart (special causes), though the latest month "
        "is ordinary."
    )


def _test_and_chart(row: _Row, steady_said: bool = False) -> list[str]:
    sig, spc, info = row.significance, row.spc, row.spc_baseline
    c = row.result.comparison
    parts = []
    if sig is not None:
        parts.append(f"{sig['verdict']}.")
    if spc is None or info is None or info.get("baseline") is None:
        return parts
    baseline = info["baseline"]
    span = f"{baseline[0].strftime('%b %Y')} to {baseline[1].strftime('%b %Y')}"
    moved = (
        f" The limits were moved to {info['auto_rebase'].strftime('%b %Y')}, when a "
        "sustained shift began."
        if info.get("auto_rebase") is not None
        else ""
    )
    month = _month_name(spc["month"])
    direction = row.result.measure.direction
    if spc["variation"] == "common cause":
        parts.append(
            f"The latest month, {month}, is ordinary for this series (common cause: "
            f"within the process limits worked out from {span})." + moved
        )
        if sig is not None and sig.get("tested") and sig["significant"]:
            parts.append(_earlier_signals(row))
        return parts
    improvement = spc["variation"] == "special cause improvement"
    lower = improvement == (direction == "down")
    kind = "improvement" if improvement else "concern"
    side = "lower" if lower else "higher"
    beyond = "limit" in str(spc.get("rule") or "")
    parts.append(
        f"The latest month, {month}, is a special cause ({kind}): "
        + (
            f"{side} than the process of {span}."
            if beyond
            else _run_signal(str(spc.get("rule") or ""), not lower, span)
        )
        + moved
    )
    change = c.change if c is not None and not math.isnan(c.change) else 0.0
    fytd_up = change > 0
    if change != 0 and lower == fytd_up:
        word = "up" if fytd_up else "down"
        parts.append(
            f"The chart compares each month with {span}; the year-to-date figures compare "
            f"with last year. So the month is {side} than that baseline while the year "
            f"to date is {word} on last year."
        )
    elif sig is not None and sig.get("tested") and not sig["significant"] and not steady_said:
        what = "The month stands out" if beyond else "The chart signals a change"
        parts.append(
            f"{what} against {span}, but the year to date is within normal "
            "variation of the same period last year."
        )
    return parts


def _run_signal(rule: str, high: bool, span: str) -> str:
    """Why a month inside the process limits is still a special cause: the run, trend or
    two-of-three rule it belongs to, in words (Hackney violence, Dec 2016: 580, inside
    limits of 417 to 675, was "higher than the process" and "stands out", while the
    signal was nine months in a row above the average).

    Examples
    --------
    >>> print(_run_signal("run of 7+ above mean", True, "Apr 2014 to Mar 2016"))
    it is inside the process limits, but it is one of 7 or more months in a row above the average of Apr 2014 to Mar 2016, a sign that the level has shifted.
    """
    if "run" in rule:
        how = (
            f"it is one of 7 or more months in a row {'above' if high else 'below'} the "
            f"average of {span}, a sign that the level has shifted"
        )
    elif "trend" in rule:
        how = (
            f"it ends 7 or more months in a row each {'higher' if high else 'lower'} than "
            "the one before"
        )
    else:
        how = (
            f"it is one of two of the last three months close to the "
            f"{'upper' if high else 'lower'} limit of {span}"
        )
    return f"it is inside the process limits, but {how}."


#: Sections computed here from the borough crime series and the extracts.
CORE_SECTIONS = (
    "headline",
    "narrative",
    "trend",
    "spc",
    "forecast",
    "borough",
    "evaluation",
    "notes",
)
#: Core sections that have a chart (``figure(name, measure)``).
CORE_FIGURES = ("trend", "spc", "forecast", "borough", "evaluation")

_HEADLINE_HEADER = [
    "Measure",
    "This year to date",
    "Same period last year",
    "Change",
    "Year-end forecast (present rate)",
    "Year-end forecast (last year's pattern)",
    "Target",
    "Status",
    "Variation (latest month)",
]


def _float(value: float | None) -> float:
    """A figure as a float, missing (None) as NaN."""
    return math.nan if value is None else float(value)


def _nullable_int(values) -> pd.Series:
    """Whole-number figures as nullable integers (``Int64``), missing as ``<NA>``."""
    return pd.Series(values, dtype="float64").round().astype("Int64")


class ObjectiveReport:
    """Everything an objective report shows, for one period and geography.

    Each section's numbers come first, as a DataFrame (:meth:`table`); charts are
    matplotlib figures (:meth:`figure`); :meth:`html` and :meth:`show` render a section
    from those, and only rendering formats numbers as text.

    Parameters
    ----------
    objective_id : str
        An objective in the catalogue, e.g. ``serious-violence``.
    period_end : str
        Last month of the reporting period, ``YYYY-MM``.
    geography : str
        ``London`` or a borough name.
    extract_source : str
        Internal extracts: "" for ``data/raw/extracts/``, ``sample`` for the SYNTHETIC
        sample, or a file or folder.
    provisional : bool
        The data for the period is not complete: every page says PROVISIONAL.
    """

    def __init__(
        self,
        objective_id: str,
        period_end: str,
        geography: str = "London",
        extract_source: str = "",
        provisional: bool = False,
    ) -> None:
        self.objective = catalogue.get_objective(objective_id)
        self.geography = boroughs.validate_geography(geography)
        self.last_month = measures.last_month_available()
        self.period_end = check_period(period_end, self.last_month)
        self.window = periods.fytd_window(self.period_end)
        self.provisional = provisional
        self.extract_table = extracts.load_extracts(extract_source)
        crime = measures.load_borough_crime()
        categories = measures.load_category_vintages()
        self.rows: list[_Row] = []
        for measure in self.objective.measures:
            # crime None: the store's table, whose rows for a measure a kernel works out
            # once for all the reports it runs (measures.measure_rows)
            result = measures.compute_measure(
                measure, self.geography, self.period_end, None, categories, self.extract_table
            )
            spc, xmr, baseline = _spc(result)
            sustained = None
            if xmr is not None:
                from mpsanalysis.stats.spc import detect_sustained_signal

                sustained = detect_sustained_signal(xmr, months=12)
            self.rows.append(
                _Row(
                    result,
                    _assess(result),
                    _significance(result),
                    spc,
                    xmr,
                    baseline,
                    sustained,
                )
            )
        #: The borough crime table (the processed store's ``borough_crime``).
        self.crime: pd.DataFrame = crime
        self._tables: dict[tuple, pd.DataFrame] = {}
        self._models: dict[str, dict | None] = {}
        self._evaluations: dict[tuple, dict | None] = {}

    # ------------------------------------------------------------------ helpers
    @property
    def synthetic(self) -> bool:
        """Whether any figure comes from the SYNTHETIC sample extract."""
        return any(row.result.synthetic for row in self.rows)

    @property
    def status_counts(self) -> Counter:
        return Counter(row.assessment.status for row in self.rows)

    def _row(self, measure_id: str) -> _Row:
        for row in self.rows:
            if row.result.measure.id == measure_id:
                return row
        raise ParameterError(f"objective {self.objective.id!r} has no measure {measure_id!r}")

    def _banner(self) -> str:
        parts = []
        if self.synthetic:
            parts.append(
                callout_html(
                    "figures marked (S) come from the synthetic sample extract shipped with "
                    "mpsanalysis, not from real police data. Do not quote them.",
                    "synthetic",
                )
            )
        if self.provisional:
            parts.append(
                callout_html(
                    "PROVISIONAL: the data for this period was not complete when this report "
                    "was run; figures will change.",
                    "warning",
                )
            )
        return "".join(parts)

    # ------------------------------------------------------------------ public API
    def table(self, name: str, measure: str | None = None, **options) -> pd.DataFrame:
        """A section's numbers as a tidy DataFrame (cached: computed once per report).

        Parameters
        ----------
        name : str
            A core section (:data:`CORE_SECTIONS`) or one of ``sections.SECTIONS``.
        measure : str, optional
            A measure id, for sections about one measure (``borough``, ``evaluation``,
            ``funnel``, ``map``, ``wards``); defaults to the catalogue's choice. For
            ``trend``, ``spc`` and ``forecast`` it keeps only that measure's rows.
        **options
            ``evaluation``: ``start``, ``geography``, ``operation``, ``months_after``,
            overriding the catalogue; other sections: their arguments.
        """
        if name not in CORE_SECTIONS:
            from mpsanalysis.report import sections

            section = sections.SECTIONS[self._known(name)]
            if section.table is None:
                raise ParameterError(f"section {name!r} has no table yet")
            return section.table(self, **self._section_args(name, measure, options))
        if name in ("borough", "evaluation"):
            key: tuple = (name, *sorted(self._core_args(name, measure, options).items()))
        else:
            key = (name,)
        if key not in self._tables:
            build = getattr(self, f"_{name}_table")
            if name in ("borough", "evaluation"):
                self._tables[key] = build(**self._core_args(name, measure, options))
            else:
                self._tables[key] = build()
        table = self._tables[key]
        if measure is not None and name in ("trend", "spc", "forecast", "headline", "notes"):
            self._row(measure)
            return table[table["measure"] == measure].reset_index(drop=True)
        return table

    def figure(self, name: str, measure: str | None = None, **options):
        """A section's chart as a :class:`matplotlib.figure.Figure` (a new one each call,
        to restyle freely).

        ``trend``, ``spc`` and ``forecast`` draw one measure (default: the first that has
        the chart); ``borough`` and ``evaluation`` the measure the catalogue names.
        """
        if name not in CORE_SECTIONS:
            from mpsanalysis.report import sections

            section = sections.SECTIONS[self._known(name)]
            if section.figure is None:
                raise ParameterError(f"section {name!r} has no chart")
            return section.figure(self, **self._section_args(name, measure, options))
        if name not in CORE_FIGURES:
            raise ParameterError(
                f"section {name!r} has no chart: charts are {', '.join(CORE_FIGURES)}"
            )
        if name in ("borough", "evaluation"):
            drawn = getattr(self, f"_{name}_figure")(**self._core_args(name, measure, options))
        else:
            if measure is None:
                table = self.table(name)
                ids = list(dict.fromkeys(table["measure"]))
                if name == "forecast":
                    ids = [i for i in ids if self._models.get(i) is not None]
                if not ids:
                    raise ParameterError(f"no measure has a {name} chart for this period")
                measure = ids[0]
            drawn = getattr(self, f"_{name}_figure")(measure)
        if drawn is None:
            raise ParameterError(f"no {name} chart for {measure or 'this report'} this period")
        return drawn[0]

    def html(self, name: str, measure: str | None = None, **options) -> str:
        """A section rendered as HTML (what :meth:`show` displays)."""
        if name == "header":
            return self._header_html()
        if name not in CORE_SECTIONS:
            from mpsanalysis.report import sections

            return sections.SECTIONS[self._known(name)].html(
                self, **self._section_args(name, measure, options)
            )
        render = getattr(self, f"_render_{name}")
        if name in ("borough", "evaluation"):
            return render(**self._core_args(name, measure, options))
        if measure is not None:
            raise ParameterError(f"section {name!r} shows every measure: no measure argument")
        return render()

    def show(self, name: str, measure: str | None = None, **options) -> None:
        """Display a section in the notebook: ``header``, ``summary``, a core section
        (:data:`CORE_SECTIONS`) or one of ``sections.SECTIONS``."""
        from IPython.display import HTML, display

        if name == "summary":
            display({SUMMARY_MIMETYPE: self.summary()}, raw=True)
            return
        display(HTML(self.html(name, measure, **options)))
        notes = self.analyst_notes(name, measure, **options)
        if notes:
            items = "".join(f"<li>{escape(n)}</li>" for n in notes)
            display(
                {
                    "text/html": f"<p><strong>For the analyst</strong> (not in the published "
                    f"report):</p><ul>{items}</ul>",
                    "text/plain": "For the analyst (not in the published report):\n"
                    + "\n".join(f"- {n}" for n in notes),
                    ANALYST_MIMETYPE: {"section": name, "notes": notes},
                },
                raw=True,
            )

    def analyst_notes(self, name: str, measure: str | None = None, **options) -> list[str]:
        """What the analyst can do to fill a gap in section ``name`` (with the section's
        ``measure`` and ``options``, as for :meth:`html`): the extract rows to add for a
        measure with no data, or the parameters that choose an operation to evaluate.
        Shown under the section in the notebook, never in the published page
        (:data:`~mpsanalysis.report.export.ANALYST_MIMETYPE`). A note names the measure,
        e.g. "Criminal network disruptions: To show it, add rows with measure
        'criminal_network_disruptions' for Barnet to a CSV in data/raw/extracts/ ..."
        (``tests/test_report.py``).
        """
        if name == "headline":
            return [
                f"{row.result.measure.title}: {row.result.how_to_supply}"
                for row in self.rows
                if row.result.how_to_supply
            ]
        if name == "evaluation":
            args = self._core_args(name, measure, options)
            if not args["start"] or not args["measure_id"]:
                return [
                    "To evaluate an operation, set the notebook's evaluation parameters "
                    "(evaluation_measure, evaluation_start, evaluation_geography)."
                ]
        return []

    @staticmethod
    def show_html(html: str) -> None:
        """Display HTML built elsewhere in the notebook."""
        from IPython.display import HTML, display

        display(HTML(html))

    # ------------------------------------------------------------------ arguments
    def _known(self, name: str) -> str:
        from mpsanalysis.report import sections

        if name not in sections.SECTIONS:
            names = ", ".join(("header", "summary", *CORE_SECTIONS, *sections.SECTIONS))
            raise ParameterError(f"section {name!r} is not one of {names}")
        return name

    def _section_args(self, name: str, measure: str | None, options: dict) -> dict:
        """Arguments of a sections.py section: the catalogue's, then the caller's."""
        args = dict(self.objective.sections.get(name, {}))
        if "measure" in args:
            args["measure_id"] = args.pop("measure")
        if measure is not None:
            args["measure_id"] = measure
        args.update(options)
        return args

    def _core_args(self, name: str, measure: str | None, options: dict) -> dict:
        if name == "borough":
            if options:
                raise ParameterError(f"section 'borough' takes no options ({', '.join(options)})")
            return {"measure_id": measure}
        args = dict(self.objective.sections.get("evaluation", {}))
        unknown = set(options) - {"start", "geography", "operation", "months_after"}
        if unknown:
            raise ParameterError(
                f"section 'evaluation' has no option(s) {', '.join(sorted(unknown))}"
            )
        args.update({k: v for k, v in options.items()})
        if measure is not None:
            args["measure"] = measure
        return {
            "measure_id": args.get("measure") or None,
            "start": args.get("start") or "",
            "geography": args.get("geography") or None,
            "operation": args.get("operation") or "the operation",
            "months_after": int(str(args.get("months_after", 24))),
        }

    # ------------------------------------------------------------------ header
    def _header_html(self) -> str:
        """Title block: objective, period, geography, data vintage and status summary."""
        o = self.objective
        counts = self.status_counts
        summary = "; ".join(
            f"{STATUS_ICONS[s]} {s}: {counts[s]}" for s in STATUSES if counts.get(s)
        )
        fy = periods.financial_year_label(periods.financial_year(self.period_end))
        items = [
            ("Plan", o.plan),
            ("Lead", o.lead),
            ("Period", f"financial year {fy} to date: {self.window.label}"),
            ("Geography", self.geography),
            ("Data available to", self._vintage()),
            ("Status", summary),
        ]
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
        return (
            f'<header class="report-header"><h1>{escape(o.title)}</h1>'
            f'<dl class="report-meta">{rows}</dl></header>{self._banner()}'
        )

    def _vintage(self) -> str:
        """The header's data vintage; for a past period it says that the figures are as
        revised since (a reviewer asked whether a 2020 report showed 2020's figures as
        known then or as revised to 2025)."""
        latest = self.last_month.strftime("%B %Y")
        if self.last_month <= self.period_end:
            return latest
        return (
            f"{latest}: this period's figures as published up to then, with any "
            "revisions to its months"
        )

    # ------------------------------------------------------------------ headline
    def _headline_table(self) -> pd.DataFrame:
        """One row per measure: the year to date against the same period last year."""
        records = []
        for row in self.rows:
            r, a = row.result, row.assessment
            m, c = r.measure, r.comparison
            record = {
                "measure": m.id,
                "title": m.title,
                "unit": m.unit,
                "current": math.nan,
                "previous": math.nan,
                "change": math.nan,
                "percent_change": math.nan,
                "forecast_present_rate": math.nan,
                "forecast_last_year_pattern": math.nan,
                "target": _target_text(m, self.geography),
                "status": a.status,
                "variation": row.spc["variation_label"] if row.spc else None,
                "supplied": bool(r.supplied),
                "published": bool(r.supplied and (m.unit == "proportion" or c is not None)),
                "synthetic": bool(r.synthetic),
                "proxy": bool(m.proxy),
                "note": r.note or None,
            }
            if r.supplied and m.unit == "proportion":
                record.update(
                    current=_float(r.fytd_rate),
                    previous=_float(r.last_year_rate),
                    change=_float(r.fytd_rate) - _float(r.last_year_rate),
                )
            elif r.supplied and c is not None:
                record.update(
                    current=_float(c.current),
                    previous=_float(c.previous),
                    change=_float(c.change),
                    percent_change=_float(c.percent_change),
                    forecast_present_rate=_float(c.forecast_run_rate),
                    forecast_last_year_pattern=_float(c.forecast_seasonal),
                )
            records.append(record)
        table = pd.DataFrame.from_records(records)
        for column in ("measure", "title", "unit", "target", "status", "variation", "note"):
            table[column] = table[column].astype("string")
        for column in ("supplied", "published", "synthetic", "proxy"):
            table[column] = table[column].astype(bool)
        for column in (
            "current",
            "previous",
            "change",
            "percent_change",
            "forecast_present_rate",
            "forecast_last_year_pattern",
        ):
            table[column] = table[column].astype("float64")
        table.attrs.update(
            period=self.window.label,
            last_year=periods.same_period_last_year(self.window).label,
            geography=self.geography,
        )
        return table

    def _headline_cells(self) -> list[list[str]]:
        """The headline table formatted as text cells, one row per measure."""
        out = []
        for t in self.table("headline").itertuples(index=False):
            name = t.title + (" (proxy)" if t.proxy else "") + (" (S)" if t.synthetic else "")
            status = status_html(str(t.status))
            target = "none" if pd.isna(t.target) else str(t.target)
            variation = "–" if pd.isna(t.variation) else str(t.variation)
            if not t.supplied:
                out.append([name, "data not supplied", "", "", "", "", target, status, ""])
            elif t.unit == "proportion":
                out.append(
                    [
                        name,
                        format_percent(t.current),
                        format_percent(t.previous),
                        format_change(t.change, unit=" pts"),
                        "",
                        "",
                        target,
                        status,
                        variation,
                    ]
                )
            elif not t.published:
                out.append([name, "not published", "", "", "", "", target, status, ""])
            else:
                fmt = partial(_format_value, str(t.unit))
                if math.isnan(t.change):
                    change = "n/a"
                elif t.unit == "money":
                    change = f"{format_money_change(t.change)} ({format_change(t.percent_change)})"
                else:
                    change = f"{format_change(t.change, 0, '')} ({format_change(t.percent_change)})"
                out.append(
                    [
                        name,
                        fmt(t.current),
                        fmt(t.previous),
                        change,
                        fmt(t.forecast_present_rate),
                        fmt(t.forecast_last_year_pattern),
                        target,
                        status,
                        variation,
                    ]
                )
        return out

    def _render_headline(self) -> str:
        table = self.table("headline")
        html = table_html(
            _HEADLINE_HEADER,
            self._headline_cells(),
            caption=f"Headline figures: {self.objective.title}, {self.geography}, "
            f"{table.attrs['period']} against {table.attrs['last_year']}",
            raw_columns=(7,),
            classes="data-table headline-table",
        )
        notes = [f"{t.title}: {t.note}" for t in table.itertuples(index=False) if pd.notna(t.note)]
        return html + "".join(callout_html(n, "note") for n in notes)

    # ------------------------------------------------------------------ narrative
    def _narrative_table(self) -> pd.DataFrame:
        """One row per sentence of the summary: the measure it is about, the text, and the
        year-to-date test behind it (p-value, the dispersion of the earlier years'
        changes and how many there were; missing when the change was not tested), and
        the like-for-like comparison the sentence gives after a shift inside last year's
        months (the first month compared, this year's total and last year's)."""
        sentences: list[tuple[str, str, dict | None]] = []
        like: dict[str, dict | None] = {}
        where = "London" if self.geography == boroughs.LONDON else self.geography
        for row in self.rows:
            r = row.result
            m = r.measure
            title = lower_first(m.title)
            if not r.supplied or (r.comparison is None and m.unit != "proportion"):
                continue
            if m.unit == "proportion":
                if not r.rate_now:
                    continue
                text = (
                    f"The {title} in {where} is {format_percent(r.fytd_rate)} financial "
                    f"year to date ({format_count(r.rate_now[0])} of "
                    f"{format_count(r.rate_now[1])})"
                )
                if r.rate_before:
                    text += f", compared with {format_percent(r.last_year_rate)} last year"
                sentences.append((m.id, text + ".", None))
                continue
            c = r.comparison
            assert c is not None
            fmt = partial(_format_value, m.unit)
            if m.unit == "money":
                text = f"{m.title} in {where} total {fmt(c.current)} financial year to date"
            else:
                # "17,078 drug trafficking offences", not "offences of drug trafficking
                # offences": a title that already names offences is used as it is.
                counted = title if "offences" in title.split() else f"offences of {title}"
                # "There has been 1 offence of homicide", not "There have been 1 offences".
                have = "There has been" if c.current == 1 else "There have been"
                if c.current == 1:
                    counted = counted.replace("offences", "offence", 1)
                text = (
                    f"{have} {fmt(c.current)} {counted} in {where} "
                    f"financial year to date ({self.window.label})"
                )
                if m.id.endswith("disruptions") or m.id.endswith("orders"):
                    text = f"{have} {fmt(c.current)} {title} in {where} financial year to date"
            if not math.isnan(c.previous):
                if c.change == 0:
                    text += f", the same as in the same period last year ({fmt(c.previous)})"
                else:
                    word = "an increase" if c.change > 0 else "a reduction"
                    amount = fmt(abs(c.change))
                    # from none last year there is no percentage: "an increase of 1"
                    by = (
                        f"{format_percent(abs(c.percent_change))} or {amount}"
                        if not math.isnan(c.percent_change)
                        else amount
                    )
                    text += (
                        f", compared with {fmt(c.previous)} in the same period last year: "
                        f"{word} of {by}"
                    )
            text += "."
            verdicts = _coherence(row)
            if verdicts:
                text += f" {verdicts}"
            if c.months_elapsed < 12 and not math.isnan(c.forecast_run_rate):
                text += (
                    " If the present rate continues, the year will end at around "
                    f"{fmt(round_for_narrative(c.forecast_run_rate))}."
                )
            tested = row.significance if (row.significance or {}).get("tested") else None
            sentences.append((m.id, text.replace("..", "."), tested))
            like[m.id] = _like_for_like_figures(row)
        first = [like.get(s[0]) for s in sentences]
        return pd.DataFrame(
            {
                "measure": pd.Series([s[0] for s in sentences], dtype="string"),
                "sentence": pd.Series([s[1] for s in sentences], dtype="string"),
                "p_value": pd.Series(
                    [t["p_value"] if t else np.nan for _, _, t in sentences], dtype="float64"
                ),
                "dispersion": pd.Series(
                    [t["dispersion"] if t else np.nan for _, _, t in sentences], dtype="float64"
                ),
                "earlier_years": pd.Series(
                    [t["df"] if t else None for _, _, t in sentences], dtype="Int64"
                ),
                # The like-for-like comparison after a shift inside last year's months
                # (:func:`_like_for_like_figures`; missing where there is none).
                "like_for_like_from": pd.Series(
                    [f["months"][0] if f else pd.NaT for f in first],
                    dtype=pd.PeriodDtype("M"),
                ),
                "like_for_like_current": pd.Series(
                    [f["current"] if f else np.nan for f in first], dtype="float64"
                ),
                "like_for_like_previous": pd.Series(
                    [f["previous"] if f else np.nan for f in first], dtype="float64"
                ),
            }
        )

    def narrative_sentences(self) -> list[str]:
        """Plain sentences in the style of the reference reports, built from the figures."""
        return [str(s) for s in self.table("narrative")["sentence"]]

    def _render_narrative(self) -> str:
        sentences = self.narrative_sentences()
        if not sentences:
            return "<p>No measure has figures for this period.</p>"
        pandemic = pandemic_note(self.period_end)
        lead = callout_html(pandemic, "note") if pandemic else ""
        return lead + "".join(f"<p>{escape(s)}</p>" for s in sentences)

    # ------------------------------------------------------------------ trend
    def _trend_table(self) -> pd.DataFrame:
        """Month by month, this financial year (to the period end) and last, per measure."""
        fy = periods.financial_year(self.period_end)
        frames = []
        for row in self.rows:
            r = row.result
            if r.measure.unit not in ("count", "money") or r.monthly.empty:
                continue
            for year in (fy - 1, fy):
                months = periods.financial_year_window(year).months
                values = r.monthly.reindex(months).to_numpy(dtype="float64")
                values = np.where([m <= self.period_end for m in months], values, np.nan)
                frames.append(
                    pd.DataFrame(
                        {
                            "measure": r.measure.id,
                            "financial_year": periods.financial_year_label(year),
                            "this_year": year == fy,
                            "month": pd.PeriodIndex(months, freq="M"),
                            "value": values,
                        }
                    )
                )
        columns = ["measure", "financial_year", "this_year", "month", "value"]
        if not frames:
            return _empty(columns, {"month": "period[M]", "value": "float64", "this_year": bool})
        table = pd.concat(frames, ignore_index=True)
        table["measure"] = table["measure"].astype("string")
        table["financial_year"] = table["financial_year"].astype("string")
        return table[columns]

    def _trend_figure(self, measure_id: str):
        row = self._row(measure_id)
        r = row.result
        table = self.table("trend", measure_id)
        if table.empty:
            return None
        series = table.set_index("month")["value"]
        title = f"{r.measure.title}, {self.geography}"
        ylabel = {"money": "£ per month"}.get(r.measure.unit, "Offences per month")
        if r.measure.source == "extract" and r.measure.unit == "count":
            ylabel = "Number per month"
        fig, alt = charts.plot_financial_year_months(series, self.period_end, title, ylabel=ylabel)
        caption = f"{title}: this financial year against last. Source: {r.source_label}."
        return fig, alt, caption

    def _render_trend(self) -> str:
        parts = []
        for measure_id in dict.fromkeys(self.table("trend")["measure"]):
            drawn = self._trend_figure(str(measure_id))
            if drawn is not None:
                parts.append(figure_html(*drawn))
        return "".join(parts) or "<p>No monthly series to chart for this period.</p>"

    # ------------------------------------------------------------------ SPC
    def _spc_table(self) -> pd.DataFrame:
        """The XmR chart data of every monthly measure with a direction of improvement."""
        frames = []
        for row in self.rows:
            if row.xmr is None:
                continue
            frame = row.xmr.copy()
            frame.index = pd.PeriodIndex(frame.index, freq="M", name="month")
            frame = frame.reset_index()
            frame.insert(0, "measure", row.result.measure.id)
            frames.append(frame)
        if not frames:
            return _empty(["measure", "month", "value", "mean", "ucl", "lcl", "special_cause"])
        table = pd.concat(frames, ignore_index=True)
        table["measure"] = table["measure"].astype("string")
        table.attrs["latest"] = {
            row.result.measure.id: dict(row.spc) for row in self.rows if row.spc is not None
        }
        return table

    def _spc_figure(self, measure_id: str):
        from mpsanalysis.stats.plotting import figure_with_room_below
        from mpsanalysis.stats.spc import XMR_LEGEND_ENTRIES, plot_xmr

        row = self._row(measure_id)
        table = self.table("spc", measure_id)
        if table.empty or row.spc is None:
            return None
        r = row.result
        shown = table.drop(columns="measure").set_index("month").iloc[-SPC_DISPLAY_MONTHS:]
        title = f"{r.measure.title}, {self.geography}: monthly XmR chart"
        fig, ax = figure_with_room_below(8, 3.4, entries=XMR_LEGEND_ENTRIES)
        plot_xmr(shown, r.measure.direction, title, ax=ax)
        signals = int(shown["special_cause"].sum())
        info = row.spc_baseline or {}
        description = info.get("description", "a fixed baseline")
        mean, lcl, ucl = (shown[c].iloc[-1] for c in ("mean", "lcl", "ucl"))
        # One decimal below 10 a month ("0.7", not "1"); whole numbers above.
        shape = "{:,.1f}" if abs(mean) < 10 else "{:,.0f}"
        alt = (
            f"{title}, last {len(shown)} months. Mean {shape.format(mean)} a month, process "
            f"limits {shape.format(max(lcl, 0))} to {shape.format(ucl)}, from {description}. "
            f"{signals} of {len(shown)} months {'shows' if signals == 1 else 'show'} "
            f"special-cause variation. Latest month: {row.spc['variation_label']}."
        )
        rebased = info.get("rebased")
        caption = (
            f"{title}. The limits mark the range that ordinary months fall in, worked out "
            f"from the shaded baseline: {description} (the NHS Making Data Count method). "
            "Points outside the limits or in runs are signals, marked by shape as well as "
            "colour."
        )
        if rebased is not None and info.get("auto_rebase") is None:
            caption += (
                f" The chart starts in {rebased.strftime('%b %Y')}, {REBASE_REASON}; its "
                "limits start again there."
            )
        return fig, alt, caption

    def _chunky_sentence(self, row: _Row) -> str:
        """Why a count measure has no XmR chart: too few events a month."""
        chunky = row.spc_baseline["chunky"]  # type: ignore[index]
        values = [str(v) for v in range(chunky["possible_values"])]
        if not values:
            limits = "the limits would sit on the mean itself"
        elif len(values) == 1:
            limits = "the limits would allow no change at all from one month to the next"
        else:
            limits = (
                f"the limits would allow only changes of {', '.join(values[:-1])} or "
                f"{values[-1]} from one month to the next"
            )
        # The moving ranges behind the limits (after the large ones are screened out,
        # often 0) are in row.spc_baseline["chunky"] for analysts; the page gives the
        # consequence, not the screened average, which read as a wrong figure.
        return (
            f"{row.result.measure.title}, {self.geography}: no XmR chart. The counts are "
            f"too small for process limits (a mean of {chunky['mean']:.2f} a month). "
            # The allowed changes follow from the month-to-month changes, not from the
            # mean: a reviewer read 0.79 a month allowing fewer than 0.46 as a mistake.
            f"Worked out from the month-to-month changes, {limits}, so they would mark "
            "ordinary months as unusual (chunky data). The monthly counts are in the "
            "section This year against last."
        )

    def _no_chart_sentence(self, row: _Row) -> str:
        """Why a measure with a direction of improvement has no XmR chart: too few
        months since its series starts or since what it counts changed."""
        from mpsanalysis.stats.verdicts import SPC_MIN_BASELINE

        info = row.spc_baseline or {}
        title = f"{row.result.measure.title}, {self.geography}: no XmR chart."
        months = info.get("months")
        if months is None:  # the limits could not be worked out
            return f"{title} The process limits could not be worked out ({info['reason']})."
        if months == 0:
            return f"{title} No month up to {_month_name(self.period_end)} has data."
        rebased = info.get("rebased")
        since = (
            f"since {_month_name(rebased)}, where its limits start again ({REBASE_REASON})"
            if rebased is not None
            else "in the series"
        )
        return (
            f"{title} Process limits need at least {SPC_MIN_BASELINE} months of data, and "
            f"there {'is' if months == 1 else 'are'} {months} "
            f"month{'' if months == 1 else 's'} with data {since}. The monthly counts are "
            "under This year against last."
        )

    def _render_spc(self) -> str:
        parts = []
        table = self.table("spc")
        charted = set(table["measure"])
        for row in self.rows:
            measure_id = row.result.measure.id
            if measure_id not in charted:
                info = row.spc_baseline or {}
                if info.get("chunky") is not None:
                    parts.append(escape_paragraph(self._chunky_sentence(row)))
                elif info.get("reason"):
                    parts.append(escape_paragraph(self._no_chart_sentence(row)))
                continue
            drawn = self._spc_figure(str(measure_id))
            if drawn is None or row.spc is None:
                continue
            parts.append(figure_html(*drawn))
            parts.append(
                escape_paragraph(
                    f"{row.result.measure.title}, latest month: {row.spc['label']}."
                    + _assurance_sentence(row)
                )
            )
        # A measure with figures but no direction of improvement has no chart: say so,
        # rather than leave a reader to wonder where its chart went.
        undirected = [
            row.result.measure.title if not i else lower_first(row.result.measure.title)
            for i, row in enumerate(
                r
                for r in self.rows
                if r.result.measure.direction == "neutral"
                and r.result.measure.id not in charted
                and r.result.monthly.notna().any()
            )
        ]
        if undirected:
            one = len(undirected) == 1
            parts.append(
                escape_paragraph(
                    f"{join_in_words(undirected)}: no chart, since no direction of improvement is assumed for "
                    f"{'it' if one else 'them'} (a rise can mean more reporting or more "
                    "proactive policing; see Definitions and caveats)."
                )
            )
        if not parts:
            return "<p>No monthly series with a direction of improvement to chart.</p>"
        return "".join(parts)

    # ------------------------------------------------------------------ forecast
    def _forecast_table(self) -> pd.DataFrame:
        """Year-end forecasts per count or money measure: present rate, last year's
        pattern, and a seasonal model with its 80% interval and chance of the target."""
        import warnings

        from mpsanalysis.stats.forecast import forecast_year_end_model

        records = []
        complete = periods.months_elapsed(self.period_end) == 12
        for row in self.rows if not complete else []:
            r, c = row.result, row.result.comparison
            if c is None or r.measure.unit not in ("count", "money") or math.isnan(c.current):
                continue
            target_total = None
            t = r.measure.target
            if t is not None and t.type == "reduction" and not math.isnan(c.last_year_total):
                assert t.percent is not None
                target_total = c.last_year_total * (1 - t.percent / 100)
            elif t is not None and t.type == "absolute":
                target_total = t.value
            reason = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    model = forecast_year_end_model(
                        r.monthly,
                        self.period_end,
                        target=target_total,
                        target_direction="up" if r.measure.direction == "up" else "down",
                    )
                except ParameterError as exc:
                    model = None
                    reason = (
                        "needs 36 months of history"
                        if "36 months" in str(exc)
                        else "a month of the year so far has no data"
                    )
                except (ValueError, np.linalg.LinAlgError):
                    model, reason = None, "the model could not be fitted"
            self._models[r.measure.id] = model
            records.append(
                {
                    "measure": r.measure.id,
                    "title": r.measure.title,
                    "unit": r.measure.unit,
                    "year_to_date": _float(c.current),
                    "present_rate": _float(c.forecast_run_rate),
                    "last_year_pattern": _float(c.forecast_seasonal),
                    "model": math.nan if model is None else float(model["forecast"]),
                    "lower": math.nan if model is None else float(model["lower"]),
                    "upper": math.nan if model is None else float(model["upper"]),
                    "probability": math.nan
                    if model is None or model["prob_meeting_target"] is None
                    else float(model["prob_meeting_target"]),
                    "target_total": _float(target_total),
                    "unavailable": reason,
                }
            )
        columns = [
            "measure",
            "title",
            "unit",
            "year_to_date",
            "present_rate",
            "last_year_pattern",
            "model",
            "lower",
            "upper",
            "probability",
            "target_total",
            "unavailable",
        ]
        table = pd.DataFrame.from_records(records, columns=columns)
        for column in ("measure", "title", "unit", "unavailable"):
            table[column] = table[column].astype("string")
        for column in columns[3:-1]:
            table[column] = table[column].astype("float64")
        table.attrs["year_complete"] = complete
        return table

    def _forecast_figure(self, measure_id: str):
        import matplotlib.pyplot as plt

        from mpsanalysis.stats.forecast import plot_forecast

        self._row(measure_id)
        table = self.table("forecast", measure_id)
        model = self._models.get(measure_id)
        if table.empty or model is None:
            return None
        t = table.iloc[0]
        fmt = partial(_format_value, str(t["unit"]))
        chance = _chance(t["probability"])
        fig, ax = plt.subplots(figsize=(8, 3.4))
        title = f"{t['title']}, {self.geography}: cumulative total and forecast"
        plot_forecast(model, title, ax=ax)
        alt = (
            f"{title}. {fmt(model['fytd_actual'])} so far; the model forecasts "
            f"{fmt(t['model'])} for the year, 80% interval "
            f"{fmt(t['lower'])} to {fmt(t['upper'])}"
            + (f"; chance of meeting the target {chance}." if chance else ".")
        )
        return (
            fig,
            alt,
            (
                f"{title}. Shaded: the range the running total is expected to stay within 8 "
                "times in 10 (an 80% prediction interval)."
            ),
        )

    def _render_forecast(self) -> str:
        if periods.months_elapsed(self.period_end) == 12:
            if not any(row.result.comparison is not None for row in self.rows):
                return "<p>The financial year is complete; no measure has figures for it.</p>"
            return "<p>The financial year is complete: the figures above are final.</p>"
        table = self.table("forecast")
        rows: list[list[str]] = []
        shown: list[str] = []
        for t in table.itertuples(index=False):
            fmt = partial(_format_value, str(t.unit))
            if pd.notna(t.unavailable):
                rows.append(
                    [
                        t.title,
                        fmt(t.present_rate),
                        fmt(t.last_year_pattern),
                        f"not available ({t.unavailable})",
                        "",
                        "",
                    ]
                )
                continue
            rows.append(
                [
                    t.title,
                    fmt(t.present_rate),
                    fmt(t.last_year_pattern),
                    fmt(t.model),
                    f"{fmt(t.lower)} to {fmt(t.upper)}",
                    _chance(t.probability),
                ]
            )
            if not math.isnan(t.target_total) or not shown:
                drawn = self._forecast_figure(str(t.measure))
                if drawn is not None:
                    shown.append(figure_html(*drawn))
        if not rows:
            return "<p>No measure has a forecast for this period.</p>"
        header = [
            "Measure",
            "Present rate",
            "Last year's pattern",
            "Seasonal model",
            "Seasonal model, 80% interval",
            "Chance of meeting target",
        ]
        if not any(row[-1] for row in rows):  # no measure has a chance: no empty column
            header, rows = header[:-1], [row[:-1] for row in rows]
        html = table_html(
            header,
            rows,
            caption=f"Year-end forecasts, {self.geography}, from the year to date "
            f"({self.window.label})",
        )
        note = (
            "<p>Present rate: the year so far × 12 / months elapsed (the method of the "
            "committee reports). Last year's pattern: the year so far scaled by last "
            "year's full-year total over its same-period total. Seasonal model: "
            "exponential smoothing with seasonality fitted to every month of history "
            "(docs/statistics.md records how each method performed on past years).</p>"
        )
        return html + note + "".join(shown)

    # ------------------------------------------------------------------ boroughs
    def _borough_row(self, measure_id: str | None) -> _Row | None:
        rows = [
            r
            for r in self.rows
            if r.result.measure.source == "borough-crime" and r.result.classification
        ]
        if measure_id:
            rows = [r for r in rows if r.result.measure.id == measure_id]
        return rows[0] if rows else None

    def _borough_table(self, measure_id: str | None = None) -> pd.DataFrame:
        """Boroughs on one measure: FYTD offences, population and the rate per 1,000
        residents (``rate_per_1000``), or per 100,000 (``rate_per_100000``) for a rare
        offence whose catalogue entry sets ``rate_per: 100000`` (homicide)."""
        row = self._borough_row(measure_id)
        per = row.result.measure.rate_per if row is not None else 1000
        columns = ["borough", "borough_code", "count", "population", f"rate_per_{per}"]
        if row is None:
            return _empty(columns)
        r = row.result
        assert r.classification is not None
        try:
            rates = measures.borough_rates(r.measure, self.period_end, r.classification)
            has_population = True
        except (DataValidationError, ParameterError):  # no population: counts only
            rates = measures.borough_breakdown(
                r.measure, self.period_end, r.classification
            ).reset_index(names="borough")
            rates["population"], rates["rate"] = np.nan, np.nan
            has_population = False
        current = rates["current"].to_numpy(dtype="float64")
        pop = rates["population"].to_numpy(dtype="float64")
        table = pd.DataFrame(
            {
                "borough": pd.Series(rates["borough"].to_numpy(), dtype="string"),
                "borough_code": pd.Series(rates["borough_code"].to_numpy(), dtype="string"),
                "count": _nullable_int(current),
                "population": _nullable_int(pop),
                f"rate_per_{per}": current / pop * per,
            }
        )
        table.attrs.update(
            measure=r.measure.id,
            title=r.measure.title,
            source_label=r.source_label,
            has_population=has_population,
            per=per,
            london_rate=float(current.sum() / pop.sum() * per) if has_population else math.nan,
            boroughs_total=float(current.sum()),
            london_total=self._london_total(r.measure, r.classification),
        )
        return table

    def _london_total(self, measure, classification: str) -> float:
        """London's count of ``measure`` this financial year to date, which also holds the
        offences the data records against no borough ("Unknown", the airports)."""
        london = measures.measure_monthly(measure, boroughs.LONDON, classification)
        return float(london.reindex(self.window.months).sum(min_count=1))

    def _borough_chart(self, measure_id: str | None = None) -> dict | None:
        """What the borough ranking shows: the arguments of
        :func:`~mpsanalysis.report.charts.plot_borough_comparison` and the caption."""
        table = self.table("borough", measure_id)
        if "measure" not in table.attrs:
            return None
        has_population = table.attrs["has_population"]
        index = pd.Index(table["borough"].astype(object), name="borough_name")
        if has_population:
            per = table.attrs["per"]
            values = pd.Series(table[f"rate_per_{per}"].to_numpy(), index=index)
            label = f"Offences per {per:,} residents, financial year to date"
            london = table.attrs["london_rate"]
        else:
            values = pd.Series(table["count"].astype("float64").to_numpy(), index=index)
            label, london = "Offences, financial year to date", None
        highlight = None if self.geography == boroughs.LONDON else self.geography
        title = f"{table.attrs['title']} by borough, {self.window.label}"
        # Only the crime files are listed in the footer: the note says which.
        caption = (
            f"{title}. Source: {table.attrs['source_label']} (the files are listed under About this report)"
            + ("; population: GLA/ONS borough population estimates." if has_population else ".")
        )
        unallocated = table.attrs["london_total"] - table.attrs["boroughs_total"]
        if unallocated >= 0.5:  # counts: a whole offence or more
            caption += (
                f" The {len(table)} boroughs' {format_count(table.attrs['boroughs_total'])} offences "
                f"are fewer than London's {format_count(table.attrs['london_total'])}: "
                f"{format_count(unallocated)} {'was' if unallocated == 1 else 'were'} "
                "recorded against no borough (in the "
                "data as 'Unknown' or the airports)."
            )
        return dict(
            values=values,
            title=title,
            xlabel=label,
            highlight=highlight,
            london_value=london,
            caption=caption,
        )

    def _borough_figure(self, measure_id: str | None = None):
        chart = self._borough_chart(measure_id)
        if chart is None:
            return None
        caption = chart.pop("caption")
        fig, alt = charts.plot_borough_comparison(**chart)
        return fig, alt, caption

    def _render_borough(self, measure_id: str | None = None) -> str:
        chart = self._borough_chart(measure_id)
        if chart is None:
            return "<p>No borough-level measure is available for this period.</p>"
        return charts.borough_comparison_html(**chart)

    # ------------------------------------------------------------------ evaluation
    def _evaluate(
        self,
        measure_id: str | None,
        start: str,
        geography: str | None,
        operation: str,
        months_after: int,
    ) -> dict:
        """The evaluation's inputs and (when it can be fitted) its result, cached."""
        key = (measure_id, start, geography, operation, months_after)
        if key in self._evaluations:
            return self._evaluations[key]  # type: ignore[return-value]
        import warnings

        from mpsanalysis.stats.evaluation import evaluate_intervention

        out: dict = {"start": start, "operation": operation, "result": None}
        if not start or not measure_id:
            self._evaluations[key] = out
            return out
        where = boroughs.validate_geography(geography or self.geography)
        begin = periods.parse_month(start, "evaluation_start")
        measure = self.objective.measure(measure_id)
        out.update(measure=measure, where=where, begin=begin)
        categories = measures.load_category_vintages()
        last = min(self.period_end, begin + months_after - 1)
        for classification in measures.CLASSIFICATION_ORDER:
            series = measures.measure_monthly(measure, where, classification, None, categories)
            series = series[series.index <= last].dropna()
            if len(series[series.index < begin]) >= 12 and len(series[series.index >= begin]) >= 6:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out["result"] = evaluate_intervention(series, begin)
                out["classification"] = classification
                break
        self._evaluations[key] = out
        return out

    def _evaluation_table(self, **args) -> pd.DataFrame:
        """Interrupted time series of an operation: month, observed, fitted and
        counterfactual counts; the effect figures are in ``.attrs``."""
        found = self._evaluate(**args)
        result = found["result"]
        columns = ["month", "observed", "fitted", "counterfactual", "after_start"]
        if result is None:
            table = _empty(columns)
            table.attrs.update(evaluated=False)
            return table
        data = result["table"]
        table = pd.DataFrame(
            {
                "month": pd.PeriodIndex(data.index, freq="M"),
                "observed": data["observed"].to_numpy(dtype="float64"),
                "fitted": data["fitted"].to_numpy(dtype="float64"),
                "counterfactual": data["counterfactual"].to_numpy(dtype="float64"),
                "after_start": data["post"].to_numpy(dtype=bool),
            }
        )
        post = result["post_period"]
        table.attrs.update(
            evaluated=True,
            measure=found["measure"].id,
            geography=found["where"],
            start=found["begin"],
            operation=found["operation"],
            classification=found["classification"],
            months_after=int(result["n_after"]),
            observed_after=float(post["observed"].sum()),
            expected_after=float(post["counterfactual"].sum()),
            effect=float(result["effect"]),
            effect_pct=float(result["effect_pct"]),
            step_rate_ratio=float(result["step_rate_ratio"]),
            step_ci_low=float(result["step_ci_low"]),
            step_ci_high=float(result["step_ci_high"]),
            slope_rate_ratio=float(result["slope_rate_ratio"]),
            slope_ci_low=float(result["slope_ci_low"]),
            slope_ci_high=float(result["slope_ci_high"]),
        )
        return table

    def _evaluation_title(self, found: dict) -> str:
        return (
            f"{found['measure'].title}, {found['where']}: {found['operation']} from "
            f"{found['begin'].strftime('%b %Y')}"
        )

    def _evaluation_figure(self, **args):
        from mpsanalysis.stats.evaluation import INTERVENTION_LEGEND_ENTRIES, plot_intervention
        from mpsanalysis.stats.plotting import figure_with_room_below

        found = self._evaluate(**args)
        if found["result"] is None:
            return None
        fig, ax = figure_with_room_below(
            8, 3.6, INTERVENTION_LEGEND_ENTRIES, columns=INTERVENTION_LEGEND_ENTRIES
        )
        plot_intervention(found["result"], self._evaluation_title(found), ax=ax)
        return (fig,)

    def _render_evaluation(self, **args) -> str:
        found = self._evaluate(**args)
        if not found["start"] or "measure" not in found and found["result"] is None:
            return "<p>No operation is evaluated in this report.</p>"
        measure, where, begin = found["measure"], found["where"], found["begin"]
        if found["result"] is None:
            return escape_paragraph(
                f"{measure.title} in {where} cannot be evaluated from {begin.strftime('%B %Y')}"
                f" with data up to {self.period_end.strftime('%B %Y')}: the method needs at "
                "least 12 months before the start and 6 after, in one crime classification."
            )
        e = self.table("evaluation", **_evaluation_options(args))
        a = e.attrs
        title = self._evaluation_title(found)
        step = (
            f"level changed by a factor of {a['step_rate_ratio']:.2f} (95% interval "
            f"{a['step_ci_low']:.2f} to {a['step_ci_high']:.2f})"
        )
        slope = (
            f"monthly trend changed by a factor of {a['slope_rate_ratio']:.3f} (95% "
            f"interval {a['slope_ci_low']:.3f} to {a['slope_ci_high']:.3f})"
        )
        evaluated_to = begin + a["months_after"] - 1
        earlier = (
            f"An earlier operation: {found['operation']} began in {begin.strftime('%B %Y')}, "
            f"and the months evaluated here ended in {evaluated_to.strftime('%B %Y')}, "
            f"before this report's period ({self.window.label}). "
            if evaluated_to < self.window.months[0]
            else ""
        )
        text = earlier + (
            f"Over the {a['months_after']} months from {begin.strftime('%B %Y')}, "
            f"{measure.title.lower()} in {where} was {format_count(a['observed_after'])} "
            f"against {format_count(a['expected_after'])} expected had the earlier "
            f"level, trend and seasonal pattern continued "
            f"({format_change(a['effect_pct'])}). "
            f"At the start the {step}; the {slope}."
        )
        clear = [
            name
            for name, low, high in (
                ("level", a["step_ci_low"], a["step_ci_high"]),
                ("trend", a["slope_ci_low"], a["slope_ci_high"]),
            )
            if not low <= 1 <= high  # the 95% interval excludes no change
        ]
        if clear:
            text += (
                f" The change in the {clear[0]} is clear: its 95% interval leaves out no "
                "change (a factor of 1)."
                if len(clear) == 1
                else " Both changes are clear: their 95% intervals leave out no change (a "
                "factor of 1)."
            )
            caveat = (
                "A change at the start of an operation is consistent with an effect but does "
                "not prove one: anything else that changed in the same month would show the "
                "same way."
            )
        else:
            text += (
                " Neither change is clear: both 95% intervals include no change (a factor of 1)."
            )
            caveat = (
                "So these figures do not show that the operation changed the level or the "
                "trend; they do not show that it had no effect either, only that any effect "
                "was too small to tell apart from the ordinary ups and downs."
            )
        (fig,) = self._evaluation_figure(**args)
        caption = (
            f"{title}: observed, fitted, and expected had there been no operation. Fitted "
            "by a regression on the months before and after the start that allows for the "
            f"seasons. Counts in {measures.CLASSIFICATION_LABELS[found['classification']]}."
        )
        return (
            escape_paragraph(text)
            + figure_html(fig, f"{title}. {text}", caption)
            + escape_paragraph(caveat)
        )

    # ------------------------------------------------------------------ notes
    def _notes_table(self) -> pd.DataFrame:
        """Definitions of the measures: source, categories, classification, caveats."""
        records = []
        for row in self.rows:
            m, r = row.result.measure, row.result
            records.append(
                {
                    "measure": m.id,
                    "title": m.title,
                    "source": m.source,
                    "definition": m.describe_categories()
                    if m.source == "borough-crime"
                    else m.extract_measure,
                    "classification": r.classification
                    if m.source == "borough-crime" and r.classification
                    else None,
                    "proxy": bool(m.proxy),
                    "notes": m.notes or None,
                    "assessment": row.assessment.reason,
                }
            )
        table = pd.DataFrame.from_records(
            records,
            columns=[
                "measure",
                "title",
                "source",
                "definition",
                "classification",
                "proxy",
                "notes",
                "assessment",
            ],
        )
        for column in table.columns:
            if column != "proxy":
                table[column] = table[column].astype("string")
        table["proxy"] = table["proxy"].astype(bool)
        return table

    def _regrouped(self, note) -> str:
        """', in its categories as regrouped in January 2024' when a rebase point of the
        measure's classification (a release that renamed or regrouped its categories)
        falls within or before this report's period: the 2024/25 pages said only "the
        current MPS crime classification (from April 2010)", while their figures come
        from the regrouped 2024 release ('' otherwise)."""
        measure = self.objective.measure(str(note.measure))
        points = [
            pd.Period(p, "M")
            for p in measure.rebase_points(str(note.classification))
            if pd.Period(p, "M") <= self.period_end
        ]
        if not points:
            return ""
        return f", in its categories as renamed or regrouped in {points[-1].strftime('%B %Y')}"

    def _render_notes(self) -> str:
        items = []
        for t in self.table("notes").itertuples(index=False):
            text = f"<strong>{escape(t.title)}</strong>: "
            if t.source == "borough-crime":
                text += escape(f"London Datastore categories — {t.definition}.")
                if pd.notna(t.classification):
                    label = measures.CLASSIFICATION_LABELS[str(t.classification)]
                    text += escape(f" This report uses {label}{self._regrouped(t)}.")
            else:
                # Not "not published": some of these figures are published elsewhere
                # (public confidence by MOPAC's survey), just not in the files read here.
                text += escape(
                    "internal MPS extract (the figure is not in the published files this "
                    "report reads)."
                )
            if t.proxy:
                text += " <em>Proxy measure.</em>"
            if pd.notna(t.notes):
                text += " " + escape(t.notes)
            text += escape(f" Assessment: {t.assessment}.")
            items.append(f"<li>{text}</li>")
        return f'<ul class="measure-notes">{"".join(items)}</ul>'

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict:
        """Machine-readable summary for the index page (figures formatted from the
        headline table)."""
        records = []
        table = self.table("headline")
        for t, cells, row in zip(
            table.itertuples(index=False), self._headline_cells(), self.rows, strict=True
        ):
            records.append(
                {
                    "measure": str(t.title),
                    "figure": cells[1],
                    "change": cells[3],
                    "status": str(t.status),
                    "synthetic": bool(t.synthetic),
                    "spc_sustained": bool(row.sustained and row.sustained["sustained"]),
                    "spc_message": row.sustained["message"] if row.sustained else None,
                }
            )
        return {
            "objective": self.objective.id,
            "title": self.objective.title,
            "geography": self.geography,
            "period_end": str(self.period_end),
            "synthetic": self.synthetic,
            "provisional": self.provisional,
            "measures": records,
        }


def _evaluation_options(args: dict) -> dict:
    """Evaluation arguments (as from ``_core_args``) as ``table`` keywords."""
    return {
        "measure": args["measure_id"],
        "start": args["start"],
        "geography": args["geography"],
        "operation": args["operation"],
        "months_after": args["months_after"],
    }


def _chance(probability: float) -> str:
    """The chance of meeting a target as text ('' when there is no target); a simulated
    chance is never certain, so it is never written 100% or 0%.

    Examples
    --------
    >>> _chance(0.951), _chance(0.9996), _chance(0.003), _chance(float("nan"))
    ('95%', 'over 99%', 'under 1%', '')
    """
    if math.isnan(probability):
        return ""
    if probability >= 0.995:
        return "over 99%"
    if probability < 0.005:
        return "under 1%"
    return format_percent(probability * 100, 0)


def _empty(columns: list[str], dtypes: dict | None = None) -> pd.DataFrame:
    """An empty table with the given columns (text unless ``dtypes`` says otherwise)."""
    dtypes = dtypes or {}
    return pd.DataFrame(
        {c: pd.Series(dtype=dtypes.get(c, "string" if c in _TEXT else "float64")) for c in columns}
    )


_TEXT = {"measure", "financial_year", "borough", "borough_code", "title", "unit"}


def escape_paragraph(text: str) -> str:
    """A paragraph of escaped text."""
    return f"<p>{escape(text)}</p>"
