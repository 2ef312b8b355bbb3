"""Did an operation work? Interrupted time series for monthly crime counts.

The months before an operation started show the trend and the seasonal pattern; the
model projects them forward as the *counterfactual* (what would have happened without
the operation) and measures the change in level (step) and in trend (slope) since the
start. Counts are modelled on the log scale, so both changes are rate ratios: a step of
0.80 means 20% fewer crimes than expected from the start month on.
"""

from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np
import pandas as pd

from mpsanalysis.errors import ParameterError
from mpsanalysis.periods import check_monthly_series, parse_month
from mpsanalysis.stats.plotting import figure_with_room_below, legend_below

__all__ = [
    "MIN_MONTHS_BEFORE",
    "INTERVENTION_LEGEND_ENTRIES",
    "MIN_MONTHS_AFTER",
    "evaluate_intervention",
    "plot_intervention",
]

#: Months with data needed before the start to estimate the trend and seasonality.
MIN_MONTHS_BEFORE = 12
#: Months with data needed from the start on to estimate the step and slope change.
MIN_MONTHS_AFTER = 6

_SEASONAL = ("fourier", "dummies", "none")


def _design(months: pd.PeriodIndex, start: pd.Period, seasonal: str, n_harmonics: int):
    t = np.asarray([(m - months[0]).n for m in months], dtype=float)
    t0 = float((start - months[0]).n)
    post = (t >= t0).astype(float)
    columns = {
        "intercept": np.ones(len(months)),
        "time": t,
        "step": post,
        "slope_change": (t - t0) * post,
    }
    month_of_year = np.asarray([m.month for m in months], dtype=float)
    if seasonal == "fourier":
        for k in range(1, n_harmonics + 1):
            angle = 2.0 * np.pi * k * month_of_year / 12.0
            if k < 6:  # sin(pi m) is zero for whole m, so the 6th sine is dropped
                columns[f"sin{k}"] = np.sin(angle)
            columns[f"cos{k}"] = np.cos(angle)
    elif seasonal == "dummies":
        for month in range(1, 13):
            if month != 4:  # April, the first month of the financial year, is the reference
                columns[f"month_{month:02d}"] = (month_of_year == month).astype(float)
    return pd.DataFrame(columns, index=months)


def evaluate_intervention(
    monthly: pd.Series,
    start: str | pd.Period,
    seasonal: str = "fourier",
    n_harmonics: int = 2,
    confidence: float = 0.95,
) -> dict:
    """Segmented quasi-Poisson regression of monthly counts around an operation's start.

    Parameters
    ----------
    monthly : pandas.Series
        Monthly crime counts indexed by monthly :class:`pandas.Period`. Missing months
        (NaN or absent) are left out of the fit, never counted as zero.
    start : str or pandas.Period
        First month of the operation (``YYYY-MM``).
    seasonal : {'fourier', 'dummies', 'none'}, default 'fourier'
        Seasonal terms: ``n_harmonics`` sine/cosine pairs, or 11 month-of-year dummies
        (April is the reference), or none.
    n_harmonics : int, default 2
        Number of Fourier pairs (1 to 6) when ``seasonal='fourier'``.
    confidence : float, default 0.95
        Level of the confidence intervals.

    Returns
    -------
    dict
        ``start``; ``step_rate_ratio``, ``step_ci_low``, ``step_ci_high``,
        ``step_p_value`` (change in level at the start month); ``slope_rate_ratio``,
        ``slope_ci_low``, ``slope_ci_high``, ``slope_p_value`` (change in the monthly
        trend, per month); ``dispersion`` (Pearson chi-square / residual df);
        ``n_before``, ``n_after`` (months with data); ``seasonal``; ``effect`` (observed
        minus counterfactual over the months from the start with data, and ``effect_pct``
        relative to the counterfactual); ``table`` (every month: ``observed``,
        ``fitted``, ``counterfactual``, ``post``); ``post_period`` (months from the start:
        ``observed``, ``fitted``, ``counterfactual``, ``difference`` = observed minus
        counterfactual); ``summary`` (a sentence); ``notes`` (list of str); ``model`` (the
        statsmodels results).

    Raises
    ------
    ParameterError
        With fewer than 12 months with data before ``start`` or fewer than 6 from it;
        when every month is zero; and when every month before, or every month from,
        the start is zero (the model is then separated: the fitted level on that side
        is zero, the step would be reported as a rate ratio of about 0 or infinity
        with no usable interval).

    Notes
    -----
    The model for the count :math:`Y_t` in month :math:`t` (months since the first) is

    .. math:: \\log E[Y_t] = \\beta_0 + \\beta_1 t + \\beta_2 P_t + \\beta_3 (t - t_0) P_t
              + \\sum_{k=1}^{K} \\left[\\gamma_k \\sin\\frac{2\\pi k m_t}{12}
              + \\delta_k \\cos\\frac{2\\pi k m_t}{12}\\right]

    where :math:`P_t = 1` from the start month :math:`t_0` on, and :math:`m_t` is the
    calendar month. The step is :math:`e^{\\beta_2}` (the level change in the start
    month itself) and the slope change is :math:`e^{\\beta_3}` per month. It is fitted as
    a Poisson GLM with the variance inflated by the Pearson dispersion
    :math:`\\hat\\phi = X^2/(n-p)` (quasi-Poisson), so standard errors are multiplied by
    :math:`\\sqrt{\\hat\\phi}`; intervals are Wald intervals on the log scale. The
    counterfactual is the fitted model with :math:`\\beta_2 = \\beta_3 = 0`.

    Sources: Bernal JL, Cummins S, Gasparrini A (2017) "Interrupted time series
    regression for the evaluation of public health interventions: a tutorial",
    *International Journal of Epidemiology* 46:348-355; Wagner AK et al. (2002)
    "Segmented regression analysis of interrupted time series studies in medication use
    research", *J Clin Pharm Ther* 27:299-309; McCullagh P, Nelder JA (1989) *Generalized
    Linear Models*, 2nd ed., section 4.5 (quasi-likelihood dispersion).

    The design assumes no other change happened at the same time, and that the pre-period
    trend would have continued; check both before quoting the result.

    Examples
    --------
    >>> months = pd.period_range("2012-04", periods=36, freq="M")
    >>> t = np.arange(36)
    >>> counts = pd.Series(np.round(500 * np.exp(-0.002 * t) * np.where(t >= 24, 0.8, 1.0)),
    ...                    index=months)
    >>> result = evaluate_intervention(counts, "2014-04", seasonal="none")
    >>> round(result["step_rate_ratio"], 2)
    0.8
    """
    series = check_monthly_series(monthly, "monthly")
    if (series.dropna() < 0).any():
        raise ParameterError("monthly counts must not be negative")
    start = parse_month(start, "start")
    if seasonal not in _SEASONAL:
        raise ParameterError(
            f"seasonal {seasonal!r} is not valid: use 'fourier', 'dummies' or 'none'"
        )
    if seasonal == "fourier" and (
        isinstance(n_harmonics, bool)
        or not isinstance(n_harmonics, (int, np.integer))
        or not 1 <= n_harmonics <= 6
    ):
        raise ParameterError(f"n_harmonics must be a whole number from 1 to 6, not {n_harmonics!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ParameterError(f"confidence {confidence!r} must be between 0 and 1 (e.g. 0.95)")
    if not series.index[0] < start <= series.index[-1]:
        raise ParameterError(
            f"start {start} must fall after the first month ({series.index[0]}) and no "
            f"later than the last month ({series.index[-1]}) of the series"
        )
    present = series.notna()
    n_before = int(present[series.index < start].sum())
    n_after = int(present[series.index >= start].sum())
    if n_before < MIN_MONTHS_BEFORE or n_after < MIN_MONTHS_AFTER:
        raise ParameterError(
            f"an interrupted time series needs at least {MIN_MONTHS_BEFORE} months with data "
            f"before the start and {MIN_MONTHS_AFTER} from it; the series has {n_before} "
            f"before {start} and {n_after} from {start}"
        )
    observed = series.dropna()
    if float(observed.sum()) == 0:
        raise ParameterError(
            "every month of the series is zero, so there is no level or trend to model "
            "and no change to measure"
        )
    for side, months in (
        ("before", observed[observed.index < start]),
        ("from", observed[observed.index >= start]),
    ):
        if float(months.sum()) == 0:
            raise ParameterError(
                f"every month {side} {start} is zero ({months.index[0]} to "
                f"{months.index[-1]}): the regression cannot estimate the step (it would "
                "report a rate ratio of about 0 or infinity with no usable interval); "
                "describe the counts directly instead"
            )
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    notes = []
    missing = series.index[~present]
    if len(missing):
        notes.append(
            f"{len(missing)} month(s) with no data were left out of the fit: "
            + ", ".join(str(m) for m in missing)
        )
    design = _design(series.index, start, seasonal, n_harmonics)
    y = series[present].to_numpy()
    x = design[present.to_numpy()]
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with warnings.catch_warnings():
        # An exact fit (zero dispersion) triggers these; it is reported in the notes.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        result = GLM(y, x, family=families.Poisson()).fit(scale="X2")
    if result.scale < 1e-12:
        notes.append("The model fits the counts exactly, so the intervals have zero width.")
    alpha = 1.0 - confidence
    ci = result.conf_int(alpha=alpha)
    params = result.params
    counterfactual_design = design.copy()
    counterfactual_design[["step", "slope_change"]] = 0.0
    fitted = result.predict(design)
    counterfactual = result.predict(counterfactual_design)
    table = pd.DataFrame(
        {
            "observed": series.to_numpy(),
            "fitted": np.asarray(fitted),
            "counterfactual": np.asarray(counterfactual),
            "post": design["step"].to_numpy() == 1.0,
        },
        index=series.index,
    )
    table.index.name = "month"
    post_period = table.loc[table["post"], ["observed", "fitted", "counterfactual"]].copy()
    post_period["difference"] = post_period["observed"] - post_period["counterfactual"]
    with_data = post_period["observed"].notna()
    effect = float(post_period.loc[with_data, "difference"].sum())
    expected = float(post_period.loc[with_data, "counterfactual"].sum())
    effect_pct = 100.0 * effect / expected if expected > 0 else math.nan
    step = float(np.exp(params["step"]))
    step_low, step_high = (float(v) for v in np.exp(ci.loc["step"]))
    slope = float(np.exp(params["slope_change"]))
    slope_low, slope_high = (float(v) for v in np.exp(ci.loc["slope_change"]))
    level = f"{100 * confidence:g}%"
    change = "lower" if step < 1 else "higher"
    summary = (
        f"From {start}, the count was {abs(100 * (step - 1)):.0f}% {change} than the "
        f"pre-{start} trend and seasonality predict (step rate ratio {step:.2f}, {level} CI "
        f"{step_low:.2f} to {step_high:.2f}); the trend changed by a factor of {slope:.3f} "
        f"a month ({level} CI {slope_low:.3f} to {slope_high:.3f})."
    )
    if result.scale > 1.5:
        notes.append(
            f"Counts vary {result.scale:.1f} times as much as a Poisson process would; "
            "the intervals allow for this (quasi-Poisson)."
        )
    return {
        "start": start,
        "step_rate_ratio": step,
        "step_ci_low": step_low,
        "step_ci_high": step_high,
        "step_p_value": float(result.pvalues["step"]),
        "slope_rate_ratio": slope,
        "slope_ci_low": slope_low,
        "slope_ci_high": slope_high,
        "slope_p_value": float(result.pvalues["slope_change"]),
        "dispersion": float(result.scale),
        "n_before": n_before,
        "n_after": n_after,
        "seasonal": seasonal if seasonal != "fourier" else f"fourier ({n_harmonics} pairs)",
        "effect": effect,
        "effect_pct": effect_pct,
        "table": table,
        "post_period": post_period,
        "summary": summary,
        "notes": notes,
        "model": result,
    }


#: The entries of an intervention chart's legend (observed, fitted, counterfactual,
#: start), all in one row below the chart.
INTERVENTION_LEGEND_ENTRIES = 4


def plot_intervention(result: dict, title: str, ax=None):
    """Draw observed counts, the fitted model, the counterfactual and the start month.

    Parameters
    ----------
    result : dict
        The output of :func:`evaluate_intervention`.
    title : str
        Chart title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created if omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Observed counts are points; the fitted model a solid line; the counterfactual (no
    operation) a dashed line from the start month; the start a dotted vertical line.
    Line styles differ so that the chart reads in greyscale.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> months = pd.period_range("2012-04", periods=36, freq="M")
    >>> counts = pd.Series(np.r_[[500.0] * 24, [400.0] * 12], index=months)
    >>> ax = plot_intervention(evaluate_intervention(counts, "2014-04", seasonal="none"), "Op X")
    >>> ax.get_title()
    'Op X'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    if not isinstance(result, dict) or "table" not in result or "start" not in result:
        raise ParameterError("result must be the dict returned by evaluate_intervention")

    if ax is None:
        _, ax = figure_with_room_below(
            9, 4.5, INTERVENTION_LEGEND_ENTRIES, columns=INTERVENTION_LEGEND_ENTRIES
        )
    table = result["table"]
    dates = table.index.to_timestamp()
    post = table["post"].to_numpy()
    ax.scatter(dates, table["observed"], color="#404040", s=14, zorder=3, label="Observed")
    ax.plot(dates, table["fitted"], color="#1f4e79", linewidth=1.8, label="Fitted model")
    first_post = int(np.argmax(post))
    ax.plot(
        dates[first_post:],
        table["counterfactual"].to_numpy()[first_post:],
        color="#c55a11",
        linestyle="--",
        linewidth=1.8,
        label="Expected without the operation",
    )
    ax.axvline(
        result["start"].to_timestamp(),
        color="black",
        linestyle=":",
        linewidth=1.2,
        label=f"Start ({result['start']})",
    )
    ax.set_title(title)
    ax.set_xlabel("Month")
    ax.set_ylabel("Count")
    legend_below(ax, columns=INTERVENTION_LEGEND_ENTRIES)
    return ax
