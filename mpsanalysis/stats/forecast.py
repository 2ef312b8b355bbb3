"""Year-end forecasts with prediction intervals, and a backtest of forecasting methods.

The quarterly reports ask "where will the year end?". :mod:`mpsanalysis.measures.metrics` holds the
two simple answers used in the reference reports (the present run rate, and last year's
seasonal profile). This module adds a statistical model of the monthly series
(exponential smoothing or seasonal ARIMA) that gives a range as well as a figure, and the
probability of meeting a year-end target; and :func:`backtest_year_end` measures how well
each method would have done in past years.

The financial year runs from April to March.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from numbers import Real

import numpy as np
import pandas as pd

from mpsanalysis.errors import ParameterError
from mpsanalysis.periods import (
    check_monthly_series,
    financial_year,
    financial_year_label,
    financial_year_window,
    fytd_window,
    parse_month,
)
from mpsanalysis.stats.plotting import label_thousands

__all__ = [
    "MIN_HISTORY_MONTHS",
    "MODEL_METHODS",
    "forecast_year_end_model",
    "backtest_year_end",
    "summarise_backtest",
    "plot_forecast",
]

#: Months with data needed up to the forecast month to fit a seasonal model.
MIN_HISTORY_MONTHS = 36

#: Model-based methods and the model each one fits.
MODEL_METHODS = {
    "ets": "ETS(A,Ad,A): additive errors, damped additive trend, additive seasonality",
    "ets_multiplicative": "ETS(M,Ad,M): multiplicative errors, damped trend, "
    "multiplicative seasonality",
    "sarima": "SARIMA(0,1,1)(0,1,1)12, the 'airline' model",
}
_SIMPLE_METHODS = ("run_rate", "seasonal_profile")
_DIRECTIONS = ("down", "up")


def _check_counts(monthly: pd.Series) -> pd.Series:
    series = check_monthly_series(monthly, "monthly")
    if (series.dropna() < 0).any():
        raise ParameterError("monthly counts must not be negative")
    return series


def _check_fraction(value, name: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < float(value) < 1:
        raise ParameterError(f"{name} {value!r} must be between 0 and 1 ({example})")
    return float(value)


def _fit_and_simulate(
    history: np.ndarray, method: str, horizon: int, n_simulations: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Point forecasts (horizon,) and simulated paths (horizon, n_simulations)."""
    rng = np.random.default_rng(seed)
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if method in ("ets", "ets_multiplicative"):
            from statsmodels.tsa.exponential_smoothing.ets import ETSModel

            kind = "add" if method == "ets" else "mul"
            model = ETSModel(
                history,
                error=kind,
                trend="add",
                damped_trend=True,
                seasonal=kind,
                seasonal_periods=12,
                initialization_method="heuristic",
            )
            fitted = model.fit(disp=False)
        else:
            from statsmodels.tsa.statespace.sarimax import SARIMAX

            model = SARIMAX(history, order=(0, 1, 1), seasonal_order=(0, 1, 1, 12))
            # Parameter standard errors are not used, so skip computing them.
            fitted = model.fit(disp=False, cov_type="none")
        point = np.asarray(fitted.forecast(horizon), dtype=float)
        paths = np.asarray(
            fitted.simulate(horizon, anchor="end", repetitions=n_simulations, rng=rng),
            dtype=float,
        ).reshape(horizon, n_simulations)
    for warning in caught:
        text = f"model fit warning: {warning.category.__name__}: {str(warning.message)[:160]}"
        if text not in messages:
            messages.append(text)
    return point, paths, messages


def forecast_year_end_model(
    monthly: pd.Series,
    period_end: str | pd.Period,
    method: str = "ets",
    target: float | None = None,
    target_direction: str = "down",
    interval: float = 0.80,
    n_simulations: int = 2000,
    seed: int = 0,
) -> dict:
    """Forecast the financial-year total from a seasonal model, with a prediction interval.

    Parameters
    ----------
    monthly : pandas.Series
        Monthly counts indexed by monthly :class:`pandas.Period`. Months after
        ``period_end`` are ignored.
    period_end : str or pandas.Period
        Last month with data to use (``YYYY-MM``); the forecast covers the rest of its
        financial year.
    method : {'ets', 'ets_multiplicative', 'sarima'}, default 'ets'
        The model (see ``MODEL_METHODS``).
    target : float, optional
        Year-end target for the total.
    target_direction : {'down', 'up'}, default 'down'
        ``'down'``: the target is met when the total is at or below it (crime);
        ``'up'``: at or above it.
    interval : float, default 0.80
        Coverage of the prediction interval.
    n_simulations : int, default 2000
        Number of simulated future paths.
    seed : int, default 0
        Seed for the simulations, so results can be reproduced.

    Returns
    -------
    dict
        ``method``, ``period_end``, ``financial_year`` (e.g. ``'2013/14'``),
        ``months_elapsed``, ``months_remaining``, ``fytd_actual``, ``forecast`` (point
        forecast of the year-end total = FYTD actual + forecast of the remaining months),
        ``lower``, ``upper`` (prediction interval of the total), ``interval``, ``target``,
        ``target_direction``, ``prob_meeting_target`` (None without a target),
        ``monthly_forecast`` (Series of point forecasts for the remaining months),
        ``path`` (DataFrame over the 12 months of the year: ``actual``, ``forecast``,
        ``cumulative``, ``cumulative_lower``, ``cumulative_upper``) and ``notes`` (list of
        str: gaps filled, model warnings, a complete year).

    Raises
    ------
    ParameterError
        When a month of the financial year to date has no data, or there are fewer than
        36 months with data up to ``period_end``.

    Notes
    -----
    The model is fitted by maximum likelihood (statsmodels) to every month from the first
    with data up to ``period_end``; ETS initial states come from the heuristic of Hyndman
    et al. (2008, section 2.6.1), the smoothing parameters from maximum likelihood. Gaps
    inside that history are filled by linear interpolation *for fitting only*; the FYTD
    actual uses recorded months only. For
    :math:`h` remaining months, :math:`N` future paths
    :math:`y^{(s)}_{T+1..T+h}` are simulated from the fitted state-space model with
    normal errors; simulated months below zero are set to zero. Then

    .. math:: \\hat Y = A + \\sum_{j=1}^{h} \\hat y_{T+j}, \\qquad
              Y^{(s)} = A + \\sum_{j=1}^{h} y^{(s)}_{T+j}

    where :math:`A` is the FYTD actual. The interval is the
    :math:`((1-c)/2, (1+c)/2)` quantiles of :math:`Y^{(s)}` (80% by default, the usual
    choice for operational planning: Hyndman & Athanasopoulos), and
    ``prob_meeting_target`` is the share of :math:`Y^{(s)}` at or below (``'down'``) or
    at or above (``'up'``) the target. When ``period_end`` is March the year is complete
    and the actual total is returned with a zero-width interval.

    Sources: Hyndman RJ, Koehler AB, Ord JK, Snyder RD (2008) *Forecasting with
    Exponential Smoothing: The State Space Approach*, Springer (ETS models and simulated
    prediction intervals); Gardner ES, McKenzie E (1985) "Forecasting trends in time
    series", *Management Science* 31:1237-1246 (damped trend); Box GEP, Jenkins GM (1970)
    *Time Series Analysis: Forecasting and Control* (airline model); Hyndman RJ,
    Athanasopoulos G (2021) *Forecasting: Principles and Practice*, 3rd ed., OTexts,
    chapters 5, 8 and 9.

    Examples
    --------
    >>> months = pd.period_range("2010-04", periods=55, freq="M")
    >>> season = [100, 110, 120, 130, 125, 115, 105, 95, 90, 85, 95, 100]
    >>> counts = pd.Series([season[i % 12] for i in range(55)], index=months, dtype=float)
    >>> result = forecast_year_end_model(counts, "2014-10")
    >>> result["financial_year"], result["months_remaining"], result["fytd_actual"]
    ('2014/15', 5, 805.0)
    >>> round(result["forecast"])  # 805 so far + 95 + 90 + 85 + 95 + 100
    1270
    """
    series = _check_counts(monthly)
    period_end = parse_month(period_end, "period_end")
    if method not in MODEL_METHODS:
        raise ParameterError(
            f"method {method!r} is not a model: use one of {', '.join(MODEL_METHODS)} "
            "(the run-rate and seasonal-profile forecasts are in mpsanalysis.measures.metrics)"
        )
    if target_direction not in _DIRECTIONS:
        raise ParameterError(
            f"target_direction {target_direction!r} is not valid: use 'down' (target met at "
            "or below) or 'up' (met at or above)"
        )
    if target is not None and (
        isinstance(target, bool) or not isinstance(target, Real) or not math.isfinite(target)
    ):
        raise ParameterError(f"target must be a number, not {target!r}")
    interval = _check_fraction(interval, "interval", "e.g. 0.80 for an 80% interval")
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, (int, np.integer)):
        raise ParameterError(f"n_simulations must be a whole number, not {n_simulations!r}")
    if n_simulations < 100:
        raise ParameterError(f"n_simulations is {n_simulations}: use at least 100 (e.g. 2000)")

    first = series.first_valid_index()
    if period_end < first or period_end > series.index[-1]:
        raise ParameterError(
            f"period_end {period_end} is outside the data, which runs from {first} to "
            f"{series.index[-1]}"
        )
    history = series[first:period_end]
    fy = financial_year(period_end)
    window = fytd_window(period_end)
    fytd = series.reindex(window.months)
    missing_fytd = [str(m) for m in fytd.index[fytd.isna()]]
    if missing_fytd:
        raise ParameterError(
            f"the financial year to date {window.label} has no data for "
            f"{', '.join(missing_fytd)}: the year-end forecast needs every month so far"
        )
    fytd_actual = float(fytd.sum())
    months_elapsed = len(window)
    year_months = financial_year_window(fy).months
    remaining = year_months[months_elapsed:]
    notes: list[str] = []
    result = {
        "method": method,
        "period_end": period_end,
        "financial_year": financial_year_label(fy),
        "months_elapsed": months_elapsed,
        "months_remaining": len(remaining),
        "fytd_actual": fytd_actual,
        "interval": interval,
        "target": None if target is None else float(target),
        "target_direction": target_direction,
        "notes": notes,
    }

    def meets(totals: np.ndarray) -> float | None:
        if target is None:
            return None
        hits = totals <= target if target_direction == "down" else totals >= target
        return float(np.mean(hits))

    actual_path = pd.Series(np.nan, index=year_months)
    actual_path[window.months] = fytd.to_numpy()
    if len(remaining) == 0:
        notes.append(f"The financial year {financial_year_label(fy)} is complete: actual total.")
        cumulative = actual_path.cumsum()
        result.update(
            {
                "forecast": fytd_actual,
                "lower": fytd_actual,
                "upper": fytd_actual,
                "prob_meeting_target": meets(np.array([fytd_actual])),
                "monthly_forecast": pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M")),
                "path": pd.DataFrame(
                    {
                        "actual": actual_path,
                        "forecast": np.nan,
                        "cumulative": cumulative,
                        "cumulative_lower": cumulative,
                        "cumulative_upper": cumulative,
                    }
                ),
            }
        )
        return result

    n_with_data = int(history.notna().sum())
    if n_with_data < MIN_HISTORY_MONTHS:
        raise ParameterError(
            f"a {method} forecast needs at least {MIN_HISTORY_MONTHS} months with data up to "
            f"{period_end}; the series has {n_with_data} ({first} to {period_end})"
        )
    gaps = history.index[history.isna()]
    if len(gaps):
        history = history.interpolate(method="linear")
        notes.append(
            f"{len(gaps)} missing month(s) ({', '.join(str(m) for m in gaps)}) were filled by "
            "linear interpolation for fitting the model only; the FYTD actual uses recorded "
            "months."
        )
    values = history.to_numpy(dtype=float)
    if method == "ets_multiplicative" and (values <= 0).any():
        raise ParameterError(
            "the multiplicative ETS model needs every month above zero; use method='ets'"
        )
    point, paths, messages = _fit_and_simulate(
        values, method, len(remaining), int(n_simulations), int(seed)
    )
    notes.extend(messages)
    paths = np.maximum(paths, 0.0)
    totals = fytd_actual + paths.sum(axis=0)
    low_q, high_q = (1 - interval) / 2, (1 + interval) / 2
    forecast_total = fytd_actual + float(point.sum())
    cumulative_sims = fytd_actual + np.cumsum(paths, axis=0)
    forecast_path = pd.Series(np.nan, index=year_months)
    forecast_path[remaining] = point
    cumulative = actual_path.cumsum()
    cumulative[remaining] = fytd_actual + np.cumsum(point)
    lower_path = cumulative.copy()
    upper_path = cumulative.copy()
    lower_path[remaining] = np.quantile(cumulative_sims, low_q, axis=1)
    upper_path[remaining] = np.quantile(cumulative_sims, high_q, axis=1)
    result.update(
        {
            "forecast": forecast_total,
            "lower": float(np.quantile(totals, low_q)),
            "upper": float(np.quantile(totals, high_q)),
            "prob_meeting_target": meets(totals),
            "monthly_forecast": pd.Series(point, index=remaining, name="forecast"),
            "path": pd.DataFrame(
                {
                    "actual": actual_path,
                    "forecast": forecast_path,
                    "cumulative": cumulative,
                    "cumulative_lower": lower_path,
                    "cumulative_upper": upper_path,
                }
            ),
        }
    )
    result["path"].index.name = "month"
    return result


def backtest_year_end(
    monthly: pd.Series,
    forecast_month: int = 10,
    methods: Sequence[str] = ("run_rate", "seasonal_profile", "ets"),
) -> pd.DataFrame:
    """How well would each method have forecast past year-end totals?

    Parameters
    ----------
    monthly : pandas.Series
        Monthly counts indexed by monthly :class:`pandas.Period`.
    forecast_month : int, default 10
        Calendar month at whose end each forecast is made (10 = October, 7 months into the
        financial year). Any month but March (when the year is complete).
    methods : sequence of str
        Any of ``'run_rate'``, ``'seasonal_profile'`` (from :mod:`mpsanalysis.measures.metrics`),
        ``'ets'``, ``'ets_multiplicative'``, ``'sarima'``.

    Returns
    -------
    pandas.DataFrame
        One row per financial year and method, with columns ``financial_year`` (e.g.
        ``'2013/14'``), ``method``, ``forecast``, ``actual``, ``error`` (forecast minus
        actual) and ``pct_error`` (100 × error / actual).

    Raises
    ------
    ParameterError
        When no financial year has complete data and enough history for every method.

    Notes
    -----
    A year is back-tested when all 12 of its months have data and every requested method
    can be run from the forecast month, so that all methods are compared on the same
    years: ``seasonal_profile`` needs the previous year complete, the models need 36
    months with data up to the forecast month. Only data up to the forecast month are
    used for each forecast (no look-ahead). Run rate: FYTD × 12 / months elapsed.
    Seasonal profile: FYTD × (last year's total / last year's same-period total).
    Models: :func:`forecast_year_end_model` (point forecast).

    Examples
    --------
    >>> months = pd.period_range("2010-04", periods=72, freq="M")
    >>> counts = pd.Series([100.0 if m.month in (4, 5, 6, 7, 8, 9, 10) else 200.0
    ...                     for m in months], index=months)
    >>> table = backtest_year_end(counts, methods=("run_rate", "seasonal_profile"))
    >>> table[["financial_year", "method", "forecast", "actual"]].head(2).values.tolist()
    [['2011/12', 'run_rate', 1200.0, 1700.0], ['2011/12', 'seasonal_profile', 1700.0, 1700.0]]
    """
    series = _check_counts(monthly)
    if (
        isinstance(forecast_month, bool)
        or not isinstance(forecast_month, (int, np.integer))
        or not 1 <= forecast_month <= 12
        or forecast_month == 3
    ):
        raise ParameterError(
            f"forecast_month {forecast_month!r} must be a calendar month number from 1 to 12 "
            "other than 3 (March closes the year)"
        )
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in _SIMPLE_METHODS and m not in MODEL_METHODS]
    if not methods or unknown:
        valid = ", ".join((*_SIMPLE_METHODS, *MODEL_METHODS))
        raise ParameterError(f"unknown method(s) {', '.join(map(str, unknown))}: use {valid}")
    if any(m in _SIMPLE_METHODS for m in methods):
        from mpsanalysis.measures.metrics import forecast_run_rate, forecast_seasonal_profile

    elapsed = (forecast_month - 4) % 12 + 1
    first, last = series.first_valid_index(), series.index[-1]

    def complete(fy: int) -> bool:
        months = financial_year_window(fy).months
        return bool(series.reindex(months).notna().all())

    rows = []
    for fy in range(financial_year(first), financial_year(last) + 1):
        if not complete(fy):
            continue
        origin = pd.Period(
            year=fy if forecast_month >= 4 else fy + 1, month=forecast_month, freq="M"
        )
        if "seasonal_profile" in methods and not complete(fy - 1):
            continue
        if any(m in MODEL_METHODS for m in methods):
            if int(series[first:origin].notna().sum()) < MIN_HISTORY_MONTHS:
                continue
        year = series.reindex(financial_year_window(fy).months)
        actual = float(year.sum())
        fytd_total = float(year.iloc[:elapsed].sum())
        for method in methods:
            if method == "run_rate":
                forecast = forecast_run_rate(fytd_total, elapsed)
            elif method == "seasonal_profile":
                last_year = series.reindex(financial_year_window(fy - 1).months)
                forecast = forecast_seasonal_profile(
                    fytd_total, float(last_year.iloc[:elapsed].sum()), float(last_year.sum())
                )
            else:
                forecast = forecast_year_end_model(
                    series[:origin], origin, method=method, n_simulations=200
                )["forecast"]
            error = float(forecast) - actual
            rows.append(
                {
                    "financial_year": financial_year_label(fy),
                    "method": method,
                    "forecast": float(forecast),
                    "actual": actual,
                    "error": error,
                    "pct_error": 100.0 * error / actual if actual else math.nan,
                }
            )
    if not rows:
        raise ParameterError(
            "no financial year has complete data and enough history for every method "
            f"({', '.join(methods)}); models need {MIN_HISTORY_MONTHS} months up to the "
            "forecast month and the seasonal profile needs the previous year complete"
        )
    return pd.DataFrame(
        rows, columns=["financial_year", "method", "forecast", "actual", "error", "pct_error"]
    )


def summarise_backtest(backtest: pd.DataFrame) -> pd.DataFrame:
    """Accuracy of each method over the back-tested years.

    Parameters
    ----------
    backtest : pandas.DataFrame
        The output of :func:`backtest_year_end`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``method`` (in first-appearance order), with columns ``years``,
        ``mape`` (mean absolute % error), ``mean_pct_error`` (bias: positive means
        over-forecast) and ``max_abs_pct_error``.

    Notes
    -----
    :math:`\\text{MAPE} = \\frac{1}{n}\\sum |100 (F - A)/A|` (Hyndman & Koehler (2006) "Another
    look at measures of forecast accuracy", *Int J Forecasting* 22:679-688).

    Examples
    --------
    >>> table = pd.DataFrame({"financial_year": ["2013/14", "2014/15"],
    ...                       "method": ["run_rate", "run_rate"], "forecast": [110.0, 95.0],
    ...                       "actual": [100.0, 100.0], "error": [10.0, -5.0],
    ...                       "pct_error": [10.0, -5.0]})
    >>> summarise_backtest(table).loc["run_rate"].tolist()
    [2.0, 7.5, 2.5, 10.0]
    """
    needed = {"method", "pct_error", "financial_year"}
    if not isinstance(backtest, pd.DataFrame) or not needed <= set(backtest.columns):
        raise ParameterError("backtest must be the DataFrame returned by backtest_year_end")
    order = list(dict.fromkeys(backtest["method"]))
    grouped = backtest.groupby("method", sort=False)["pct_error"]
    out = pd.DataFrame(
        {
            "years": grouped.count(),
            "mape": grouped.apply(lambda s: s.abs().mean()),
            "mean_pct_error": grouped.mean(),
            "max_abs_pct_error": grouped.apply(lambda s: s.abs().max()),
        }
    ).reindex(order)
    out.index.name = "method"
    return out


def plot_forecast(result: dict, title: str, ax=None, unit: str = "crimes"):
    """Fan chart of the cumulative financial-year total with its prediction interval.

    Parameters
    ----------
    result : dict
        The output of :func:`forecast_year_end_model`.
    title : str
        Chart title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created if omitted.
    unit : str, default "crimes"
        What is counted, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Solid line with dots: cumulative actual; dashed line: cumulative point forecast;
    hatched band: the prediction interval; dotted line: the target, if any.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> months = pd.period_range("2010-04", periods=48, freq="M")
    >>> counts = pd.Series(100.0, index=months)
    >>> ax = plot_forecast(forecast_year_end_model(counts, "2013-03"), "Complete year")
    >>> ax.get_title()
    'Complete year'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    if not isinstance(result, dict) or "path" not in result:
        raise ParameterError("result must be the dict returned by forecast_year_end_model")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    path = result["path"]
    dates = path.index.to_timestamp()
    done = path["actual"].notna().to_numpy()
    ax.plot(
        dates[done],
        path["cumulative"].to_numpy()[done],
        color="black",
        marker="o",
        markersize=4,
        linewidth=1.8,
        label="Actual (cumulative)",
    )
    if (~done).any():
        start = int(np.flatnonzero(done)[-1])
        span = slice(start, None)
        ax.plot(
            dates[span],
            path["cumulative"].to_numpy()[span],
            color="#1f4e79",
            linestyle="--",
            linewidth=1.8,
            label=f"Forecast ({result['method']})",
        )
        ax.fill_between(
            dates[span],
            path["cumulative_lower"].to_numpy()[span],
            path["cumulative_upper"].to_numpy()[span],
            facecolor="#9dc3e6",
            edgecolor="#1f4e79",
            hatch="//",
            alpha=0.5,
            label=f"{100 * result['interval']:.0f}% prediction interval",
        )
    if result.get("target") is not None:
        ax.axhline(
            result["target"],
            color="#c00000",
            linestyle=":",
            linewidth=1.5,
            label=f"Target ({result['target']:,.0f})",
        )
    ax.set_title(title)
    ax.set_xlabel(f"Financial year {result['financial_year']}")
    ax.set_ylabel(f"Cumulative {unit}")
    label_thousands(ax.yaxis)
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    return ax
