"""The report's rules for its verdicts: the FYTD change test and the SPC baseline.

Each rule works unattended across every report of the matrix (objectives, London and
the boroughs, every quarter) and states what it did, so that a report can say it:

* :func:`assess_fytd_change`: the year to date against the same period last year, with
  the quasi-Poisson test whose dispersion comes from the measure's own earlier
  year-on-year changes over the same months (at least 3 earlier years). Without them it
  does not fall back to the exact Poisson test: it says why it did not test.
* :func:`report_xmr`: the XmR chart of a report, with limits fixed on the 24 months
  before the financial year, or on what is there since a rebase point, dated and stated.

The back-tests of both rules on the real series are in :mod:`mpsanalysis.stats.backtests`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import pandas as pd

from mpsanalysis.errors import ParameterError
from mpsanalysis.periods import check_monthly_series, financial_year, months_elapsed, parse_month
from mpsanalysis.stats.significance import (
    MIN_DISPERSION_YEARS,
    compare_counts_overdispersed,
    format_p_value,
    year_on_year_dispersion,
    year_on_year_pairs,
)
from mpsanalysis.stats.spc import (
    chunky_data,
    compute_xmr,
    detect_sustained_signal,
    report_baseline,
)

__all__ = [
    "MIN_DISPERSION_YEARS",
    "SPC_MIN_BASELINE",
    "assess_fytd_change",
    "report_xmr",
    "month_range_label",
]

#: A run of special causes one way longer than this is a sustained shift.
SUSTAINED_MONTHS = 12
#: Fewest months with data that may fix SPC limits (Making Data Count: 12 to 20).
SPC_MIN_BASELINE = 12


def month_range_label(first: pd.Period, last: pd.Period) -> str:
    """``Apr 2014 to Mar 2016``.

    Examples
    --------
    >>> month_range_label(pd.Period("2014-04", "M"), pd.Period("2016-03", "M"))
    'Apr 2014 to Mar 2016'
    """
    return f"{first.strftime('%b %Y')} to {last.strftime('%b %Y')}"


def assess_fytd_change(
    monthly: pd.Series,
    period_end: str | pd.Period,
    current: float,
    previous: float,
    exposure_ratio: float = 1.0,
) -> dict:
    """Has the year to date changed on the same period last year, beyond normal variation?

    Parameters
    ----------
    monthly : pandas.Series
        The measure's monthly counts (one classification), indexed by monthly
        :class:`pandas.Period`.
    period_end : str or pandas.Period
        Last month of the reporting period.
    current, previous : float
        The year to date and the same period last year (whole numbers).
    exposure_ratio : float, default 1.0
        As :func:`~mpsanalysis.stats.significance.compare_counts_overdispersed` (e.g.
        ``1 - 7/100`` to test against a 7% reduction target).

    Returns
    -------
    dict
        ``tested`` (bool). When tested, every key of
        :func:`~mpsanalysis.stats.significance.compare_counts_overdispersed` plus
        ``years`` (the earlier financial years whose change the dispersion came from).
        When not, ``reason`` and ``verdict`` (a sentence saying why), ``significant``
        None and ``p_value`` NaN.

    Notes
    -----
    The dispersion :math:`\\hat\\phi` is that of the measure's own earlier
    year-on-year changes over the same months (April to the period's month):
    for every earlier financial year :math:`k` of the series whose months and those of
    :math:`k-1` all have data, :math:`z_k = (c_k - p_k)/\\sqrt{c_k + p_k}`, and
    :math:`\\hat\\phi = \\max(1, \\overline{z_k^2})`
    (:func:`~mpsanalysis.stats.significance.year_on_year_dispersion`). It needs at least
    :data:`MIN_DISPERSION_YEARS` such changes; the test refers its statistic to Student's
    t on that many degrees of freedom. It is never silently the exact Poisson test:
    without enough earlier years it is not run.

    Examples
    --------
    Four earlier April-to-June changes, 170 and 230 in turn (z = +3, -3, +3, -3, so
    phi = 9 on 4 degrees of freedom):

    >>> idx = pd.period_range("2011-04", periods=63, freq="M")
    >>> totals = {2011: 170, 2012: 230, 2013: 170, 2014: 230, 2015: 170, 2016: 200}
    >>> values = [totals[2011 + i // 12] / 3 if i % 12 < 3 else 50.0 for i in range(63)]
    >>> result = assess_fytd_change(pd.Series(values, index=idx), "2016-06", 700, 600)
    >>> result["dispersion"], result["df"], result["significant"]
    (9.0, 4, False)
    >>> result["verdict"]
    'The rise from 600 to 700 is within normal variation (p = 0.41; judged against how much the same months changed from one year to the next in 4 earlier years)'
    >>> assess_fytd_change(pd.Series(values, index=idx), "2014-06", 700, 700)["verdict"]
    'Not tested for significance: the test needs the changes of at least 3 earlier years over the same months (April to June) to measure year-to-year variation, and only 2 are available'
    """
    series = check_monthly_series(monthly, "monthly")
    end = parse_month(period_end)
    months = months_elapsed(end)
    year = financial_year(end)
    pairs = year_on_year_pairs(series, year, months)
    if len(pairs) < MIN_DISPERSION_YEARS:
        last = pd.Period(year=year, month=4, freq="M") + months - 1
        span = "April" if months == 1 else f"April to {last.strftime('%B')}"
        reason = (
            f"the test needs the changes of at least {MIN_DISPERSION_YEARS} earlier years "
            f"over the same months ({span}) to measure year-to-year variation, and only "
            f"{len(pairs)} {'is' if len(pairs) == 1 else 'are'} available"
        )
        return {
            "tested": False,
            "significant": None,
            "p_value": math.nan,
            "reason": reason,
            "verdict": f"Not tested for significance: {reason}",
        }
    between = year_on_year_dispersion(pairs)
    result = compare_counts_overdispersed(
        int(round(current)),
        int(round(previous)),
        between["phi"],
        exposure_ratio=exposure_ratio,
        df=between["df"],
    )
    return {
        "tested": True,
        **result,
        "years": [k for k, _, _ in pairs],
        "verdict": _verdict(result),
    }


def _verdict(result: dict) -> str:
    """The test's sentence, in words a reader without statistics follows: what it found,
    the p-value, and what it judged the change against (the same months' changes in the
    earlier years whose spread sets the extra variation; the spread itself, the
    dispersion, is in the result for analysts and the method in docs/statistics.md)."""
    x1, x0 = result["current"], result["previous"]
    if x1 + x0 == 0:
        return str(result["verdict"])
    if result["direction"] == "no change":
        change = f"The count of {x1:,} against {x0:,}"
    else:
        word = "rise" if result["direction"] == "increase" else "fall"
        change = f"The {word} from {x0:,} to {x1:,}"
    finding = (
        "is statistically significant" if result["significant"] else "is within normal variation"
    )
    against = (
        "judged against how much the same months changed from one year to the next in "
        f"{result['df']} earlier years"
    )
    return f"{change} {finding} ({format_p_value(result['p_value'])}; {against})"


def _latest_segment_start(index: pd.PeriodIndex, rebase_at: Sequence[str]) -> pd.Period:
    start = index[0]
    for month in sorted(parse_month(m, "rebase_at") for m in rebase_at):
        if index[0] < month <= index[-1]:
            start = month
    return start


#: How many times in a row one chart may be rebased automatically after a sustained shift.
MAX_AUTOMATIC_REBASES = 3


def report_xmr(
    monthly: pd.Series,
    period_end: str | pd.Period,
    rebase_at: Sequence[str] = (),
    *,
    automatic_rebases: int = MAX_AUTOMATIC_REBASES,
    increment: float | None = None,
) -> tuple[pd.DataFrame | None, dict]:
    """A report's XmR chart, with limits fixed by the unattended baseline rule.

    Parameters
    ----------
    monthly : pandas.Series
        The measure's monthly counts; months after ``period_end`` are dropped.
    period_end : str or pandas.Period
        Last month of the reporting period.
    rebase_at : sequence of str
        The catalogue's rebase points for the series' classification (``YYYY-MM``).
    increment : float, optional
        The measurement increment (1 for counts): when given, a chart whose limits come
        from data too chunky for them (:func:`~mpsanalysis.stats.spc.chunky_data`) is
        not made; the dict's ``chunky`` holds the test's figures and ``reason`` says why.

    Returns
    -------
    (pandas.DataFrame or None, dict)
        The :func:`~mpsanalysis.stats.spc.compute_xmr` frame of the months since the
        last rebase point (or the start of the series) up to ``period_end``, and a dict:
        ``baseline`` (first and last month, or None), ``rule`` (``'report'``,
        ``'since rebase'``, ``'first months'`` or None), ``rebased`` (the rebase month
        the chart starts at, or None) and ``description`` (a phrase for the caption),
        or ``reason`` when there is no chart (with ``months``, the months with data
        since the rebase point or the series' start, when there were too few).

    Notes
    -----
    1. The **24 months before the report's financial year**
       (:func:`~mpsanalysis.stats.spc.report_baseline`), when all have data and no
       rebase point falls after their first month.
    2. Otherwise the months with data from the later of the rebase point (or the series'
       start) and that window's first month, up to the March before the financial year,
       when there are at least 12.
    3. Otherwise the first 12 months with data from the rebase point (these may
       overlap the year being reported, and the caption says so).
    4. Otherwise no chart (fewer than 12 months with data since the rebase).

    Then, if every month for more than 12 up to the latest has been a special cause in
    one direction (:func:`~mpsanalysis.stats.spc.detect_sustained_signal`), the process
    has shifted: the chart is **rebased automatically** at the first month of that run
    and rules 2 to 4 fix the new limits. A limit fixed on months that straddle a shift
    can itself show a second sustained run, so this is repeated, each time at a later
    month, up to ``automatic_rebases`` times (:data:`MAX_AUTOMATIC_REBASES`); the months
    and the reason are in ``auto_rebase`` (the last) and ``description``. A chart still
    flagged after that is left for an analyst (the audit lists it; a rebase point can be
    added to the catalogue).

    Examples
    --------
    >>> idx = pd.period_range("2012-04", periods=57, freq="M")
    >>> values = pd.Series([100.0, 104, 98, 102] * 14 + [100.0], index=idx)
    >>> xmr, info = report_xmr(values, "2016-12")
    >>> info["baseline"], info["rule"]
    ((Period('2014-04', 'M'), Period('2016-03', 'M')), 'report')
    >>> report_xmr(values, "2016-12", rebase_at=["2016-06"])[1]["reason"]
    'fewer than 12 months with data since the limits start again in Jun 2016 (7)'

    A level that drops by 40 from April 2015 is rebased there (rule 2: the 12 months
    from Apr 2015 to Mar 2016):

    >>> shifted = values.where(values.index < pd.Period("2015-04", "M"), values - 40)
    >>> xmr, info = report_xmr(shifted, "2016-12")
    >>> str(info["auto_rebase"]), info["baseline"][0], info["rule"]
    ('2015-04', Period('2015-04', 'M'), 'since rebase')
    """
    xmr, info = _report_xmr(monthly, period_end, rebase_at, automatic_rebases)
    if xmr is None or increment is None:
        return xmr, info
    chunky = chunky_data(xmr, increment)
    if chunky is None:
        return xmr, info
    return None, {
        "baseline": None,
        "rule": None,
        "rebased": info.get("rebased"),
        "chunky": {**chunky, "mean": float(xmr["mean"].iloc[-1])},
        "reason": (
            f"too few a month for process limits (mean {float(xmr['mean'].iloc[-1]):.2f} a "
            f"month; the mean moving range of {chunky['mean_moving_range']:.2f} leaves "
            f"{chunky['possible_values']} possible moving range(s) under the upper range "
            f"limit of {chunky['upper_range_limit']:.2f}: chunky data)"
        ),
    }


def _report_xmr(
    monthly: pd.Series,
    period_end: str | pd.Period,
    rebase_at: Sequence[str],
    automatic_rebases: int,
) -> tuple[pd.DataFrame | None, dict]:
    series = check_monthly_series(monthly, "monthly")
    end = parse_month(period_end)
    series = series[series.index <= end]
    if series.notna().sum() == 0:
        return None, {
            "baseline": None,
            "rule": None,
            "rebased": None,
            "reason": "no data",
            "months": 0,
        }
    series = series.loc[series.first_valid_index() :]
    start = _latest_segment_start(series.index, rebase_at)
    rebased = start if start > series.index[0] else None
    series = series[series.index >= start]
    # In words a committee reader knows: a rebase point is where the limits start again.
    since = (
        f"the limits start again in {start.strftime('%b %Y')}"
        if rebased
        else f"the series starts in {start.strftime('%b %Y')}"
    )
    first, last = report_baseline(end)
    fy_start = pd.Period(year=financial_year(end), month=4, freq="M")
    present = series.dropna()
    if (
        first >= start
        and len(present[(present.index >= first) & (present.index <= last)]) == (last - first).n + 1
    ):
        baseline, rule = (first, last), "report"
        description = f"the 24 months before this financial year ({month_range_label(first, last)})"
    else:
        before = present[(present.index >= max(first, start)) & (present.index < fy_start)]
        if len(before) >= SPC_MIN_BASELINE:
            baseline, rule = (before.index[0], before.index[-1]), "since rebase"
            gap = f"begins before {since}" if first < start else "has months with no data"
            description = (
                f"the {len(before)} months with data from {month_range_label(*baseline)} "
                f"(the usual baseline, the 24 months before this financial year, {gap})"
            )
        elif len(present) >= SPC_MIN_BASELINE:
            baseline = (present.index[0], present.index[SPC_MIN_BASELINE - 1])
            rule = "first months"
            first_months = (
                f"the first {SPC_MIN_BASELINE} months "
                f"{'since the limits start again' if rebased else 'of the series'} "
                f"({month_range_label(*baseline)})"
            )
            description = (
                f"{first_months}, which overlap the year reported"
                if baseline[1] >= fy_start
                else first_months
            )
        else:
            where = f"since {since}" if rebased else "in the series"
            return None, {
                "baseline": None,
                "rule": None,
                "rebased": rebased,
                "reason": f"fewer than {SPC_MIN_BASELINE} months with data {where} ({len(present)})",
                "months": len(present),
            }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            xmr = compute_xmr(series, baseline=baseline)
        except ParameterError as exc:
            return None, {"baseline": None, "rule": None, "rebased": rebased, "reason": str(exc)}
    info = {
        "baseline": baseline,
        "rule": rule,
        "rebased": rebased,
        "description": description,
        "auto_rebase": None,
    }
    sustained = detect_sustained_signal(xmr, months=SUSTAINED_MONTHS)
    if automatic_rebases < 1 or not sustained["sustained"] or sustained["since"] <= start:
        return xmr, info
    # Making Data Count: after a sustained shift, the limits are recalculated from it.
    since = sustained["since"]
    note = (
        f"; the limits were moved to {since.strftime('%b %Y')}, after every month from "
        f"then to {present.index[-1].strftime('%b %Y')} ({sustained['run']} months) had "
        f"been a special cause ({sustained['signal']}) against the limits of "
        f"{month_range_label(*baseline)}"
    )
    moved, moved_info = _report_xmr(monthly, end, [*rebase_at, str(since)], automatic_rebases - 1)
    if moved is None:
        return xmr, info
    if moved_info.get("auto_rebase") is None:  # the last rebase is this one
        moved_info["auto_rebase"] = since
        moved_info["description"] += note
    else:  # a later automatic rebase followed: say both, in order
        moved_info["description"] = moved_info["description"].replace(
            "; the limits were moved", note + "; then the limits were moved", 1
        )
    return moved, moved_info
