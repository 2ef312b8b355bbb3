"""Statistical process control: XmR charts in the NHS "Making Data Count" style.

An XmR (individuals and moving range) chart shows a monthly measure with its mean and
process limits. Points inside the limits with no pattern are *common cause* variation:
the noise of a stable process. The rules below pick out *special cause* variation: a
change large or persistent enough to be worth explaining.

The limits come from a fixed baseline (the first 12 to 20 months of each segment) and
are re-computed only at documented rebasing points, such as a change in how a crime is
classified. Missing months are left missing: they never count as zero.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mpsanalysis.errors import ParameterError
from mpsanalysis.periods import check_monthly_series, financial_year, parse_month
from mpsanalysis.stats.plotting import figure_with_room_below, legend_below

__all__ = [
    "XMR_CONSTANT",
    "compute_xmr",
    "classify_variation",
    "summarise_variation",
    "plot_xmr",
    "XMR_LEGEND_ENTRIES",
    "MR_SCREEN_CONSTANT",
    "report_baseline",
    "detect_sustained_signal",
    "chunky_data",
    "CHUNKY_MAX_VALUES",
]

#: Converts the mean moving range into three-sigma limits: 3 / d2 with d2 = 1.128.
XMR_CONSTANT = 2.66

#: Moving ranges above this multiple of the mean moving range are screened out of the
#: limits (D4 = 3.267 for ranges of two; NHSRplotthedots ``screen_outliers = TRUE``).
MR_SCREEN_CONSTANT = 3.267

_DEFAULT_BASELINE = 20
_RECOMMENDED_BASELINE = 12
_RUN_LENGTH = 7
_DIRECTIONS = ("down", "up")
_XMR_COLUMNS = ("value", "mean", "ucl", "lcl", "segment", "special_cause", "signal", "rule")


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) of each run of True in a boolean array."""
    runs = []
    start = None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(flags)))
    return runs


def _segment_rules(values: np.ndarray, mean: float, ucl: float, lcl: float) -> tuple:
    """Special-cause rules for one segment.

    Returns four integer arrays (outside, trend, two_of_three, shift), each holding +1
    where the rule fired high, -1 where it fired low and 0 otherwise, plus a list of
    rule names per point.
    """
    n = len(values)
    present = ~np.isnan(values)
    outside = np.zeros(n, dtype=int)
    trend = np.zeros(n, dtype=int)
    two_of_three = np.zeros(n, dtype=int)
    shift = np.zeros(n, dtype=int)
    names: list[list[str]] = [[] for _ in range(n)]

    with np.errstate(invalid="ignore"):
        outside[present & (values > ucl)] = 1
        outside[present & (values < lcl)] = -1
        side = np.where(present, np.sign(values - mean), 0).astype(int)
        upper_2sigma = mean + 2.0 * (ucl - mean) / 3.0
        lower_2sigma = mean - 2.0 * (mean - lcl) / 3.0
        # Beyond 2 sigma but within the limits: a point beyond a limit is already a
        # signal by rule 1 and does not count towards "two of three" (NHSRplotthedots:
        # close_to_limits = !outside_limits & |y - mean| > 2 sigma).
        near_high = present & (values > upper_2sigma) & (values <= ucl)
        near_low = present & (values < lower_2sigma) & (values >= lcl)

    # Shift: 7 or more consecutive months on the same side of the mean. A point on the
    # mean or a missing month ends the run.
    for sign in (1, -1):
        for start, end in _runs(side == sign):
            if end - start >= _RUN_LENGTH:
                shift[start:end] = sign

    # Trend: 7 or more consecutive months each strictly above (below) the one before,
    # i.e. 6 or more consecutive rises (falls). A tie or a missing month ends the trend.
    steps = np.zeros(max(n - 1, 0), dtype=int)
    if n > 1:
        both = present[1:] & present[:-1]
        with np.errstate(invalid="ignore"):
            steps = np.where(both, np.sign(values[1:] - values[:-1]), 0).astype(int)
    # A point shared by a falling and a rising trend (the bottom of a V, or the top of
    # an inverted V) belongs to the trend that ends at it: the low point of a V is the
    # last point of the fall (low), the peak of an inverted V the last of the rise (high).
    found = [
        (start, end, sign)
        for sign in (1, -1)
        for start, end in _runs(steps == sign)
        if end - start >= _RUN_LENGTH - 1  # steps start..end-1 join points start..end
    ]
    for start, end, sign in found:
        trend[start : end + 1] = sign
    for _, end, sign in found:
        trend[end] = sign  # the shared point goes to the trend that ends at it

    # Two of three: at least 2 of 3 consecutive months beyond 2 sigma on the same side.
    for i in range(max(n - 2, 0)):
        for sign, near in ((1, near_high), (-1, near_low)):
            window = near[i : i + 3]
            if window.sum() >= 2:
                two_of_three[i : i + 3][window] = sign

    for i in range(n):
        if outside[i]:
            names[i].append("above upper limit" if outside[i] > 0 else "below lower limit")
        if trend[i]:
            names[i].append("trend of 7+ rising" if trend[i] > 0 else "trend of 7+ falling")
        if two_of_three[i]:
            names[i].append(
                "2 of 3 beyond 2 sigma above"
                if two_of_three[i] > 0
                else "2 of 3 beyond 2 sigma below"
            )
        if shift[i]:
            names[i].append("run of 7+ above mean" if shift[i] > 0 else "run of 7+ below mean")
    return outside, trend, two_of_three, shift, names


def _segment_starts(index: pd.PeriodIndex, rebase_at: Iterable | None) -> list[pd.Period]:
    starts = [index[0]]
    if rebase_at is None:
        return starts
    if isinstance(rebase_at, (str, pd.Period)):
        rebase_at = [rebase_at]
    months = sorted({parse_month(m, "rebase_at") for m in rebase_at})
    for month in months:
        if month <= index[0] or month > index[-1]:
            raise ParameterError(
                f"rebase_at month {month} is outside the series, which runs from "
                f"{index[0]} to {index[-1]} (a rebase must come after the first month)"
            )
        starts.append(month)
    return starts


def compute_xmr(
    values: pd.Series,
    baseline_points: int | None = None,
    rebase_at: Sequence[str | pd.Period] | None = None,
    *,
    baseline: tuple[str | pd.Period, str | pd.Period] | None = None,
    screen_outliers: bool = True,
) -> pd.DataFrame:
    """XmR chart: mean, process limits and special-cause flags for a monthly series.

    Parameters
    ----------
    values : pandas.Series
        The measure (e.g. monthly crime count), indexed by monthly :class:`pandas.Period`.
        Missing months may be NaN or absent; they are shown as missing, never as zero.
    baseline_points : int, optional
        How many months with data, from the start of each segment, fix the mean and
        limits. Default ``min(20, months available)``. Making Data Count recommends 12 to
        20; a warning is given when fewer than 12 are available.
    rebase_at : list of str or pandas.Period, optional
        Months at which a new segment starts with its own baseline (documented changes
        such as a new crime classification), e.g. ``["2014-04"]``.
    baseline : tuple of two months, optional
        ``(first, last)``: fix the mean and limits of the segment containing these
        months on the months from ``first`` to ``last`` inclusive, instead of on its
        first ``baseline_points`` months (e.g. :func:`report_baseline`). The limits are
        drawn over the whole segment. Both months must lie in the same segment.
    screen_outliers : bool, default True
        Leave moving ranges above 3.267 times the mean moving range out of the mean
        moving range used for the limits (NHSRplotthedots ``screen_outliers``).

    Returns
    -------
    pandas.DataFrame
        One row per month from the first to the last month of ``values``, indexed by
        month, with columns ``value``, ``moving_range``, ``mean``, ``ucl``, ``lcl``,
        ``segment`` (1, 2, ...), ``baseline`` (True for the months fixing the limits),
        ``special_cause`` (bool), ``signal`` (``'high'``, ``'low'`` or None: which way the
        special cause points) and ``rule`` (the rules that fired, ``'; '``-separated, or
        ``''``).

    Raises
    ------
    ParameterError
        When the series is not monthly, a rebase month is outside it, or a segment has
        fewer than two months with data (or no pair of consecutive months).

    Notes
    -----
    For each segment, with baseline values :math:`x_1, ..., x_k` (months with data) and
    moving ranges :math:`MR_t = |x_t - x_{t-1}|` taken only between two consecutive
    months that both have data:

    .. math:: \\bar{x} = \\frac{1}{k}\\sum x_i, \\quad
              UCL,\\,LCL = \\bar{x} \\pm 2.66\\,\\overline{MR}

    where :math:`\\overline{MR}` is, with ``screen_outliers``, the mean of the baseline
    moving ranges that are at most :math:`3.267\\,\\overline{MR}_0`, the mean of all of
    them (3.267 = :math:`D_4`, the upper range limit for ranges of two), as
    NHSRplotthedots does by default; :math:`2.66 = 3/d_2` and :math:`d_2 = 1.128` is the bias-correction constant
    for ranges of two observations (Wheeler & Chambers 1992). Sigma is
    :math:`\\overline{MR}/1.128`, so the "2 sigma" line lies two-thirds of the way from
    the mean to a limit. Limits are not truncated at zero.

    Special-cause rules (NHS England & NHS Improvement, *Making Data Count*, 2019;
    *Making Data Count: Getting Started*, 2019), applied within each segment:

    1. a point above the upper or below the lower process limit;
    2. a trend: 7 or more consecutive points each strictly higher (lower) than the one
       before; all points of the trend are flagged;
    3. two out of three consecutive points beyond 2 sigma on the same side of the mean
       and within the process limits (a point beyond a limit is already rule 1); the
       points beyond 2 sigma are flagged;
    4. a shift: 7 or more consecutive points above (or below) the mean; all points of
       the run are flagged.

    A point on the mean or a missing month breaks a run or a trend. A point shared by a
    falling and a rising trend (the bottom of a V, the top of an inverted V) belongs to
    the trend that ends at it, so the bottom of a V is "low" and a peak "high". When rules point in
    different directions, ``signal`` follows the first in the order above (the order used
    by the NHS-R *NHSRplotthedots* package).

    Examples
    --------
    >>> months = pd.period_range("2020-04", periods=12, freq="M")
    >>> xmr = compute_xmr(pd.Series([10, 14, 11, 15, 12, 13, 10, 14, 12, 15, 11, 30.0],
    ...                             index=months))
    >>> float(xmr["mean"].iloc[0].round(3)), float(xmr["ucl"].iloc[0].round(3))
    (13.917, 22.163)

    (The moving range of 19 into the last month exceeds 3.267 x 50/11 = 14.85, so the
    limits use the mean of the other ten, 3.1: 13.917 + 2.66 x 3.1 = 22.163.)
    >>> latest = xmr.loc[pd.Period("2021-03", "M")]
    >>> bool(latest["special_cause"]), latest["signal"], latest["rule"]
    (True, 'high', 'above upper limit')
    """
    series = check_monthly_series(values)
    if baseline_points is not None:
        if isinstance(baseline_points, bool) or not isinstance(baseline_points, (int, np.integer)):
            raise ParameterError(f"baseline_points must be a whole number, not {baseline_points!r}")
        if baseline_points < 2:
            raise ParameterError(
                f"baseline_points is {baseline_points}: at least 2 months are needed "
                "(Making Data Count recommends 12 to 20)"
            )
    if not isinstance(screen_outliers, bool):
        raise ParameterError(f"screen_outliers must be True or False, not {screen_outliers!r}")
    starts = _segment_starts(series.index, rebase_at)
    index = series.index
    fixed: tuple[int, int] | None = None
    if baseline is not None:
        if not isinstance(baseline, (tuple, list)) or len(baseline) != 2:
            raise ParameterError(
                f"baseline must be a pair of months (first, last), not {baseline!r}"
            )
        first, last_month = (parse_month(m, "baseline") for m in baseline)
        if first >= last_month or first < index[0] or last_month > index[-1]:
            raise ParameterError(
                f"baseline {first} to {last_month} must run forwards within the series, "
                f"which runs from {index[0]} to {index[-1]}"
            )
        if sum(1 for s_ in starts[1:] if first < s_ <= last_month):
            raise ParameterError(
                f"baseline {first} to {last_month} crosses a rebase point: it must lie "
                "within one segment"
            )
        fixed = (index.get_loc(first), index.get_loc(last_month))
    x = series.to_numpy()
    n = len(x)
    out = pd.DataFrame(
        {
            "value": x,
            "moving_range": np.nan,
            "mean": np.nan,
            "ucl": np.nan,
            "lcl": np.nan,
            "segment": 0,
            "baseline": False,
            "special_cause": False,
            "signal": pd.Series([None] * n, dtype=object).to_numpy(),
            "rule": "",
        },
        index=index,
    )
    out.index.name = "month"
    out["segment"] = out["segment"].astype(int)
    bounds = [index.get_loc(s) for s in starts] + [n]
    for number, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True), start=1):
        seg = x[a:b]
        present = ~np.isnan(seg)
        available = int(present.sum())
        label = f"the segment starting {index[a]}"
        if available < 2:
            raise ParameterError(
                f"{label} has {available} month(s) with data: at least 2 are needed for "
                "a moving range (12 to 20 are recommended)"
            )
        positions = np.flatnonzero(present)
        if fixed is not None and a <= fixed[0] < b:
            lo, hi = fixed[0] - a, fixed[1] - a
            chosen = positions[(positions >= lo) & (positions <= hi)]
            if len(chosen) < 2:
                raise ParameterError(
                    f"baseline {index[fixed[0]]} to {index[fixed[1]]} has {len(chosen)} "
                    "month(s) with data: at least 2 are needed"
                )
            base_from, base_to = lo, hi
        else:
            k = min(baseline_points or _DEFAULT_BASELINE, available)
            chosen = positions[:k]
            base_from, base_to = 0, positions[k - 1]
        k = len(chosen)
        if k < _RECOMMENDED_BASELINE:
            warnings.warn(
                f"{label} has a baseline of only {k} months; Making Data Count recommends "
                f"at least {_RECOMMENDED_BASELINE}, so its limits are less reliable",
                UserWarning,
                stacklevel=2,
            )
        moving = np.full(len(seg), np.nan)
        moving[1:] = np.abs(np.diff(seg))  # NaN wherever either month is missing
        baseline_mr = moving[base_from + 1 : base_to + 1]
        baseline_mr = baseline_mr[~np.isnan(baseline_mr)]
        if len(baseline_mr) == 0:
            raise ParameterError(
                f"{label} has no two consecutive months with data in its baseline, so no "
                "moving range can be computed"
            )
        mean = float(np.mean(seg[chosen]))
        mr_bar = float(np.mean(baseline_mr))
        if screen_outliers:
            kept = baseline_mr[baseline_mr <= MR_SCREEN_CONSTANT * mr_bar]
            mr_bar = float(np.mean(kept))
        ucl = mean + XMR_CONSTANT * mr_bar
        lcl = mean - XMR_CONSTANT * mr_bar
        outside, trend, two3, shift, names = _segment_rules(seg, mean, ucl, lcl)
        signal = np.zeros(len(seg), dtype=int)
        for rule in (shift, two3, trend, outside):  # later rules take precedence
            signal = np.where(rule != 0, rule, signal)
        rows = out.index[a:b]
        out.loc[rows, "moving_range"] = moving
        out.loc[rows, "mean"] = mean
        out.loc[rows, "ucl"] = ucl
        out.loc[rows, "lcl"] = lcl
        out.loc[rows, "segment"] = number
        out.loc[rows[chosen], "baseline"] = True
        out.loc[rows, "special_cause"] = signal != 0
        out.loc[rows, "signal"] = ["high" if s > 0 else "low" if s < 0 else None for s in signal]
        out.loc[rows, "rule"] = ["; ".join(r) for r in names]
    out["special_cause"] = out["special_cause"].astype(bool)
    out["baseline"] = out["baseline"].astype(bool)
    return out


#: Data are too chunky for an XmR chart when this many possible moving ranges, or fewer,
#: lie below the upper range limit (Wheeler's test for chunky data).
CHUNKY_MAX_VALUES = 3


def chunky_data(xmr: pd.DataFrame, increment: float = 1.0) -> dict | None:
    """Whether the latest limits of an XmR chart come from data too chunky for them.

    The measurement increment is too large for the variation when only a few of its
    multiples could be a moving range below the upper range limit,
    :math:`URL = 3.267\\,\\overline{MR}` (:math:`D_4` for ranges of two). Counts move
    in steps of 1: a borough's monthly homicides (0 in most months, 1 in a few) have a
    mean moving range of at most about 0.9, and often 0 once the moving ranges of the
    months with a homicide are screened out as outliers. The limits then lie within a
    count of the mean, or on it, so every month with a homicide, and every run of months
    without one, is flagged as a special cause: false signals, the failure chunky data
    cause (Wheeler, *The Problem of Chunky Data*, Quality Digest, 10 July 2023).

    Parameters
    ----------
    xmr : pandas.DataFrame
        A :func:`compute_xmr` frame; its last segment's limits are tested.
    increment : float
        The measurement increment (1 for counts).

    Returns
    -------
    dict or None
        ``None`` when the data are not chunky; else ``mean_moving_range`` (the one the
        limits use, :math:`(UCL - \\bar{x}) / 2.66`), ``upper_range_limit`` and
        ``possible_values`` (multiples of ``increment`` from 0 below the limit, at most
        :data:`CHUNKY_MAX_VALUES`).

    Examples
    --------
    Fifteen months with two single homicides: the two moving ranges of 1 into each and
    two out of it average 4 / 14 = 0.286, and each (1 > 3.267 x 0.286 = 0.933) is
    screened out, leaving a mean moving range of 0:

    >>> months = pd.period_range("2024-01", periods=15, freq="M")
    >>> counts = pd.Series([0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0.0], index=months)
    >>> chunky_data(compute_xmr(counts))
    {'mean_moving_range': 0.0, 'upper_range_limit': 0.0, 'possible_values': 0}

    Without screening, 0.286 gives a limit of 0.933: only a moving range of 0 lies below
    it. Counts of about 100 a month are not chunky:

    >>> chunky_data(compute_xmr(counts, screen_outliers=False))["possible_values"]
    1
    >>> chunky_data(compute_xmr(counts * 7 + 100 + np.arange(15) % 4 * 9)) is None
    True
    """
    last = xmr.iloc[-1]
    mean_moving_range = max(float(last["ucl"] - last["mean"]) / XMR_CONSTANT, 0.0)
    upper = MR_SCREEN_CONSTANT * mean_moving_range
    # multiples 0, 1, 2, ... of the increment strictly below the limit (a tolerance so
    # that a limit of exactly 3 increments is not read as a hair above it)
    values = math.ceil(upper / increment - 1e-9) if upper > 0 else 0
    if values > CHUNKY_MAX_VALUES:
        return None
    return {
        "mean_moving_range": round(mean_moving_range, 6),
        "upper_range_limit": round(upper, 6),
        "possible_values": values,
    }


def report_baseline(period_end: str | pd.Period, months: int = 24) -> tuple[pd.Period, pd.Period]:
    """The unattended baseline rule: the 24 months before the report's financial year.

    Parameters
    ----------
    period_end : str or pandas.Period
        Last month of the reporting period, ``YYYY-MM``.
    months : int, default 24
        Length of the baseline.

    Returns
    -------
    tuple of pandas.Period
        ``(first, last)`` for ``compute_xmr(..., baseline=(first, last))``: ``last`` is
        the March before the financial year of ``period_end``.

    Notes
    -----
    The limits then describe the process of the two years before the year being
    reported, so a report judges its own year against the recent past rather than
    against the first months of the classification. The rule needs no analyst and is
    the same for every report of a financial year.

    Examples
    --------
    >>> report_baseline("2016-12")
    (Period('2014-04', 'M'), Period('2016-03', 'M'))
    >>> report_baseline("2017-03")
    (Period('2014-04', 'M'), Period('2016-03', 'M'))
    """
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 2:
        raise ParameterError(f"months must be a whole number of at least 2, not {months!r}")
    end = parse_month(period_end)
    last = pd.Period(year=financial_year(end), month=3, freq="M")
    return last - (int(months) - 1), last


def detect_sustained_signal(xmr: pd.DataFrame, months: int = 12) -> dict:
    """Have all points been special causes in one direction for more than ``months``?

    Parameters
    ----------
    xmr : pandas.DataFrame
        The output of :func:`compute_xmr`.
    months : int, default 12
        The run is flagged when it is longer than this.

    Returns
    -------
    dict
        ``sustained`` (bool), ``signal`` (``'high'``, ``'low'`` or None), ``run``
        (number of consecutive months up to the latest month with data that are all
        special causes pointing the same way), ``since`` (first month of that run, or
        None) and ``message`` (a sentence for the audit).

    Notes
    -----
    A chart whose every point has been a signal for a year says that its limits no
    longer describe the process: the baseline should be moved. A missing month or a
    common-cause month ends the run.

    Examples
    --------
    >>> months = pd.period_range("2014-04", periods=36, freq="M")
    >>> values = pd.Series([100.0, 104, 98, 102] * 3 + [60.0, 62, 61, 59] * 6, index=months)
    >>> found = detect_sustained_signal(compute_xmr(values, baseline_points=12))
    >>> found["sustained"], found["signal"], found["run"], str(found["since"])
    (True, 'low', 24, '2015-04')
    """
    _check_xmr(xmr)
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise ParameterError(f"months must be a whole number of at least 1, not {months!r}")
    rows = xmr.loc[: xmr["value"].last_valid_index()] if xmr["value"].notna().any() else xmr
    run, signal, since = 0, None, None
    for month in reversed(rows.index):
        row = rows.loc[month]
        if pd.isna(row["value"]) or not row["special_cause"]:
            break
        if signal is None:
            signal = row["signal"]
        elif row["signal"] != signal:
            break
        run, since = run + 1, month
    sustained = run > months
    if sustained:
        message = (
            f"every month since {since} ({run} months) is a special cause ({signal}): "
            "the limits no longer describe the process"
        )
    else:
        message = f"no run of more than {months} special-cause months in one direction"
    return {
        "sustained": bool(sustained),
        "signal": signal if run else None,
        "run": run,
        "since": since,
        "message": message,
    }


def _check_xmr(xmr: pd.DataFrame) -> None:
    if not isinstance(xmr, pd.DataFrame):
        raise ParameterError("xmr must be the DataFrame returned by compute_xmr")
    missing = [c for c in _XMR_COLUMNS if c not in xmr.columns]
    if missing:
        raise ParameterError(
            f"xmr is missing column(s) {', '.join(missing)}: pass the output of compute_xmr"
        )


def _check_direction(direction: str) -> None:
    if direction not in _DIRECTIONS:
        raise ParameterError(
            f"direction {direction!r} is not valid: use 'down' when lower is better "
            "(e.g. crime counts) or 'up' when higher is better"
        )


def classify_variation(xmr: pd.DataFrame, direction: str) -> pd.Series:
    """Label each month as improvement, concern or common cause.

    Parameters
    ----------
    xmr : pandas.DataFrame
        The output of :func:`compute_xmr`.
    direction : {'down', 'up'}
        Which way is better: ``'down'`` when lower is better (crime), ``'up'`` when higher
        is better (e.g. a detection rate).

    Returns
    -------
    pandas.Series
        Named ``variation``, indexed like ``xmr``: ``'improvement'`` (special cause in the
        good direction), ``'concern'`` (special cause in the bad direction), ``'common
        cause'``; missing for months without data.

    Notes
    -----
    A special cause is an improvement when its ``signal`` is ``'low'`` and lower is
    better, or ``'high'`` and higher is better; otherwise it is a concern (NHS England &
    NHS Improvement, *Making Data Count*, 2019: orange for concern, blue for improvement).

    Examples
    --------
    >>> months = pd.period_range("2020-04", periods=12, freq="M")
    >>> xmr = compute_xmr(pd.Series([10, 14, 11, 15, 12, 13, 10, 14, 12, 15, 11, 30.0],
    ...                             index=months))
    >>> classify_variation(xmr, "down").iloc[-2:].tolist()
    ['common cause', 'concern']
    """
    _check_xmr(xmr)
    _check_direction(direction)
    good = "low" if direction == "down" else "high"
    labels: list[str | None] = []
    for value, special, signal in zip(
        xmr["value"], xmr["special_cause"], xmr["signal"], strict=True
    ):
        if pd.isna(value):
            labels.append(None)
        elif not special:
            labels.append("common cause")
        else:
            labels.append("improvement" if signal == good else "concern")
    return pd.Series(labels, index=xmr.index, name="variation", dtype=object)


_VARIATION_LABELS = {
    ("common cause", None): "● Common cause – no significant change",
    ("improvement", "high"): "▲ Special cause – improvement (higher)",
    ("improvement", "low"): "▼ Special cause – improvement (lower)",
    ("concern", "high"): "▲ Special cause – concern (higher)",
    ("concern", "low"): "▼ Special cause – concern (lower)",
}

_ASSURANCE_LABELS = {
    "consistently passes": "P – consistently passes the target",
    "consistently fails": "F – consistently fails the target",
    # Not "?" (Making Data Count's icon): on these pages "?" is the status "not assessed".
    "hit and miss": "H – hit and miss: the target lies within the process limits",
}


def summarise_variation(xmr: pd.DataFrame, direction: str, target: float | None = None) -> dict:
    """The latest month's variation and, with a target, the assurance verdict.

    Parameters
    ----------
    xmr : pandas.DataFrame
        The output of :func:`compute_xmr`.
    direction : {'down', 'up'}
        ``'down'`` when lower is better, ``'up'`` when higher is better.
    target : float, optional
        The monthly target on the same scale as the values.

    Returns
    -------
    dict
        ``month`` (the latest month with data), ``value``, ``mean``, ``ucl``, ``lcl`` (of
        that month's segment), ``variation`` (``'common cause'``, ``'special cause
        improvement'`` or ``'special cause concern'``), ``rule`` (rules fired at that
        month), ``variation_label`` (text icon readable without colour, e.g. ``'▼ Special
        cause – improvement (lower)'``), ``target``, ``assurance`` (``'consistently
        passes'``, ``'consistently fails'``, ``'hit and miss'`` or None without a target),
        ``assurance_label`` (e.g. ``'P – consistently passes the target'`` or None) and
        ``label`` (the two labels joined by ``' | '``).

    Notes
    -----
    Assurance compares the target with the process limits of the latest segment
    (NHS England & NHS Improvement, *Making Data Count*, 2019). When lower is better:
    the process consistently passes if ``ucl < target``, consistently fails if
    ``lcl > target``, and is hit and miss otherwise (the target lies within the limits,
    so it will be met in some months and missed in others by chance alone). When higher
    is better the comparisons are reversed.

    Examples
    --------
    >>> months = pd.period_range("2020-04", periods=12, freq="M")
    >>> xmr = compute_xmr(pd.Series([10, 12, 11, 13, 12, 11, 10, 12, 13, 11, 12, 11.0],
    ...                             index=months))
    >>> summary = summarise_variation(xmr, "down", target=20)
    >>> summary["variation"], summary["assurance"]
    ('common cause', 'consistently passes')
    >>> summary["label"]
    '● Common cause – no significant change | P – consistently passes the target'
    """
    _check_xmr(xmr)
    _check_direction(direction)
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, (int, float, np.number)):
            raise ParameterError(f"target must be a number, not {target!r}")
        if not np.isfinite(target):
            raise ParameterError(f"target must be a finite number, not {target!r}")
    present = xmr[xmr["value"].notna()]
    if present.empty:
        raise ParameterError("xmr has no months with data")
    latest = present.iloc[-1]
    month = present.index[-1]
    kind = classify_variation(present.iloc[[-1]], direction).iloc[0]
    variation = "common cause" if kind == "common cause" else f"special cause {kind}"
    signal = None if kind == "common cause" else latest["signal"]
    variation_label = _VARIATION_LABELS[(kind, signal)]
    mean, ucl, lcl = float(latest["mean"]), float(latest["ucl"]), float(latest["lcl"])
    assurance = None
    if target is not None:
        passes_all = ucl < target if direction == "down" else lcl > target
        fails_all = lcl > target if direction == "down" else ucl < target
        if passes_all:
            assurance = "consistently passes"
        elif fails_all:
            assurance = "consistently fails"
        else:
            assurance = "hit and miss"
    assurance_label = _ASSURANCE_LABELS.get(assurance) if assurance else None
    label = variation_label if assurance_label is None else f"{variation_label} | {assurance_label}"
    return {
        "month": month,
        "value": float(latest["value"]),
        "mean": mean,
        "ucl": ucl,
        "lcl": lcl,
        "variation": variation,
        "rule": latest["rule"],
        "variation_label": variation_label,
        "target": None if target is None else float(target),
        "assurance": assurance,
        "assurance_label": assurance_label,
        "label": label,
    }


# Colours follow Making Data Count (grey, blue improvement, orange concern); marker
# shapes differ too so that the chart reads in greyscale and for colour-blind readers.
_POINT_STYLES = {
    "common cause": {"marker": "o", "color": "#7f7f7f", "label": "Common cause (●)"},
    "improvement": {"marker": "D", "color": "#1f77b4", "label": "Special cause – improvement (◆)"},
    "concern": {"marker": "X", "color": "#e67e00", "label": "Special cause – concern (✖)"},
}


#: The most entries an XmR chart's legend has: mean, limits, baseline and three kinds of
#: point.
XMR_LEGEND_ENTRIES = 6


def plot_xmr(xmr: pd.DataFrame, direction: str, title: str, ax=None):
    """Draw an XmR chart: values, mean, process limits and coloured, shaped points.

    Parameters
    ----------
    xmr : pandas.DataFrame
        The output of :func:`compute_xmr`.
    direction : {'down', 'up'}
        ``'down'`` when lower is better, ``'up'`` when higher is better.
    title : str
        Chart title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created if omitted. The legend goes below the
        axes: give them room there
        (:func:`~mpsanalysis.stats.plotting.figure_with_room_below` with
        :data:`XMR_LEGEND_ENTRIES` entries).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Common cause points are grey circles, improvements blue diamonds and concerns
    orange crosses, so the chart is legible without colour. Each segment has its own
    mean (solid) and process limits (dashed). The months that fix the limits (the
    ``baseline`` column) are shaded and labelled "Baseline (first to last month)". The
    legend is below the axes, so it never covers a point or a limit line.

    Examples
    --------
    >>> months = pd.period_range("2020-04", periods=12, freq="M")
    >>> xmr = compute_xmr(pd.Series([10, 14, 11, 15, 12, 13, 10, 14, 12, 15, 11, 30.0],
    ...                             index=months))
    >>> ax = plot_xmr(xmr, "down", "Example")
    >>> ax.get_title()
    'Example'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    _check_xmr(xmr)
    _check_direction(direction)

    if ax is None:
        _, ax = figure_with_room_below(9, 4.5, entries=XMR_LEGEND_ENTRIES)
    dates = xmr.index.to_timestamp()
    ax.plot(dates, xmr["value"], color="#4d4d4d", linewidth=1, zorder=1)
    for segment, rows in xmr.groupby("segment", sort=True):
        seg_dates = rows.index.to_timestamp()
        first = segment == xmr["segment"].min()
        ax.plot(
            seg_dates, rows["mean"], color="black", linewidth=1.2, label="Mean" if first else None
        )
        ax.plot(
            seg_dates,
            rows["ucl"],
            color="black",
            linestyle="--",
            linewidth=1,
            label="Process limits" if first else None,
        )
        ax.plot(seg_dates, rows["lcl"], color="black", linestyle="--", linewidth=1)
    if "baseline" in xmr.columns:
        for _, rows in xmr[xmr["baseline"].astype(bool)].groupby("segment", sort=True):
            first_month, last_month = rows.index.min(), rows.index.max()
            ax.axvspan(
                first_month.to_timestamp(),
                (last_month + 1).to_timestamp(),
                color="#d9d9d9",
                alpha=0.5,
                zorder=0,
                label=f"Baseline ({first_month.strftime('%b %Y')} to "
                f"{last_month.strftime('%b %Y')})",
            )
    kinds = classify_variation(xmr, direction)
    for kind, style in _POINT_STYLES.items():
        mask = (kinds == kind).to_numpy()
        if mask.any():
            ax.scatter(
                dates[mask],
                xmr["value"].to_numpy()[mask],
                marker=style["marker"],
                color=style["color"],
                edgecolor="black",
                linewidth=0.5,
                s=40,
                zorder=3,
                label=style["label"],
            )
    better = "lower is better" if direction == "down" else "higher is better"
    ax.set_title(title)
    ax.set_xlabel("Month")
    ax.set_ylabel(f"Value ({better})")
    legend_below(ax)  # inside the plot it sat on the limit lines or the points
    return ax
