"""Is a change real? Exact tests for counts and proportions, in plain English.

Crime counts go up and down by chance. These functions say whether a change between two
periods (or a gap between a rate and its target) is larger than chance alone would
explain, and return a sentence a report can quote.

Every function returns a dict so that report code can pick the figures it needs.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mpsanalysis import periods
from mpsanalysis.errors import DataValidationError, ParameterError

__all__ = [
    "SIGNIFICANCE_LEVEL",
    "compare_poisson_counts",
    "wilson_interval",
    "compare_proportions",
    "assess_rate_against_target",
    "format_p_value",
    "estimate_dispersion",
    "year_on_year_pairs",
    "year_on_year_dispersion",
    "compare_counts_overdispersed",
    "backtest_false_alarm_rate",
]

#: Two-sided p-values below this are reported as statistically significant.
SIGNIFICANCE_LEVEL = 0.05
#: Fewest earlier year-on-year changes from which the FYTD dispersion is estimated.
MIN_DISPERSION_YEARS = 3


def _check_count(value, name: str) -> int:
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a whole number of crimes, not {value!r}")
    if isinstance(value, Integral):
        number = int(value)
    elif isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
        number = int(float(value))
    else:
        raise ParameterError(f"{name} must be a whole number, not {value!r}")
    if number < 0:
        raise ParameterError(f"{name} must not be negative, got {number}")
    return number


def _check_trials(successes: int, trials: int, k_name: str, n_name: str) -> tuple[int, int]:
    k = _check_count(successes, k_name)
    n = _check_count(trials, n_name)
    if n == 0:
        raise ParameterError(f"{n_name} is 0: a proportion needs at least one case")
    if k > n:
        raise ParameterError(f"{k_name} ({k}) is larger than {n_name} ({n})")
    return k, n


def _check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise ParameterError(f"confidence must be a number between 0 and 1, not {confidence!r}")
    if not 0 < confidence < 1:
        raise ParameterError(
            f"confidence {confidence!r} must be between 0 and 1 (e.g. 0.95 for 95%)"
        )
    return float(confidence)


def format_p_value(p_value: float, alpha: float = SIGNIFICANCE_LEVEL) -> str:
    """A p-value as reports quote it, never rounded across the significance level.

    Parameters
    ----------
    p_value : float
        A p-value between 0 and 1.
    alpha : float, default 0.05
        The significance level the verdict beside it uses.

    Returns
    -------
    str
        ``p < 0.001``, ``p = 0.012``, ``p = 0.29``, or with more decimals when the usual
        rounding would land on, or on the wrong side of, ``alpha``.

    Notes
    -----
    Two decimals from 0.1 up, three below 0.1, and "< 0.001" below 0.001, following the
    usual journal convention (e.g. the BMJ's guidance to authors on reporting p-values).
    If the rounded value is not strictly on the same side of ``alpha`` as the p-value
    itself (0.0502 would show as "0.050", 0.04996 as "0.050"), decimals are added, up
    to six, until it is: "p = 0.0502", "p = 0.04996". A p-value exactly equal to
    ``alpha`` is shown as equal to it.

    Examples
    --------
    >>> format_p_value(0.2891), format_p_value(0.0123), format_p_value(0.00002)
    ('p = 0.29', 'p = 0.012', 'p < 0.001')
    >>> format_p_value(0.0502), format_p_value(0.04996)
    ('p = 0.0502', 'p = 0.04996')
    """
    if isinstance(p_value, bool) or not isinstance(p_value, Real) or not 0 <= p_value <= 1:
        raise ParameterError(f"p_value must be a number from 0 to 1, not {p_value!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ParameterError(f"alpha must be a number between 0 and 1, not {alpha!r}")
    p = float(p_value)
    if p < 0.001 and alpha >= 0.001:
        return "p < 0.001"
    decimals = 2 if p >= 0.1 else 3
    while True:
        shown = round(p, decimals)
        if p == alpha:
            right_side = True
        elif p < alpha:
            right_side = shown < alpha
        else:
            right_side = shown > alpha
        if (right_side and (shown > 0 or p == 0)) or decimals >= 6:
            return f"p = {p:.{decimals}f}"
        decimals += 1


def _verdict(change: str, significant: bool, p_value: float) -> str:
    finding = "is statistically significant" if significant else "is within normal variation"
    return f"{change} {finding} ({format_p_value(p_value)})"


def _nothing_to_compare() -> dict:
    """The result of a count comparison when both periods have no crimes."""
    return {
        "current": 0,
        "previous": 0,
        "rate_ratio": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "p_value": 1.0,
        "significant": False,
        "direction": "no change",
        "verdict": "There were no crimes in either period, so there is nothing to compare",
    }


def compare_poisson_counts(current: int, previous: int, exposure_ratio: float = 1.0) -> dict:
    """Exact test of whether a crime count has changed from one period to another.

    Parameters
    ----------
    current : int
        Count in the current period (e.g. this financial year to date).
    previous : int
        Count in the comparison period (e.g. the same months last year).
    exposure_ratio : float, default 1.0
        Exposure of the current period divided by that of the previous one (e.g. ratio of
        days, or of populations); 1 when the periods are alike.

    Returns
    -------
    dict
        ``current``, ``previous``, ``rate_ratio`` (current rate / previous rate),
        ``ci_low``, ``ci_high`` (exact 95% interval of the rate ratio), ``p_value``
        (two-sided), ``significant`` (p < 0.05), ``direction`` (``'increase'``,
        ``'decrease'`` or ``'no change'``) and ``verdict`` (a sentence).

    Notes
    -----
    If the counts are Poisson with rates :math:`\\lambda_1 e_1` and :math:`\\lambda_0 e_0`
    then, given their total :math:`n = X_1 + X_0`,
    :math:`X_1 \\sim \\text{Binomial}(n, \\pi)` with
    :math:`\\pi = \\rho r / (1 + \\rho r)`, where :math:`r = e_1/e_0` is the exposure
    ratio and :math:`\\rho = \\lambda_1/\\lambda_0` the rate ratio. Under "no change"
    (:math:`\\rho = 1`), :math:`\\pi_0 = r/(1+r)`. The p-value is the exact two-sided
    binomial test of :math:`\\pi = \\pi_0` (sum of the probabilities of all outcomes no
    more likely than the one observed; :func:`scipy.stats.binomtest`). The interval for
    :math:`\\rho` maps the Clopper-Pearson interval :math:`(\\pi_L, \\pi_U)` through
    :math:`\\rho = \\pi / ((1-\\pi) r)`.

    Sources: Przyborowski J, Wilenski H (1940) "Homogeneity of results in testing samples
    from Poisson series", *Biometrika* 31:313-323; Clopper CJ, Pearson ES (1934) "The use
    of confidence or fiducial limits illustrated in the case of the binomial",
    *Biometrika* 26:404-413; Breslow NE, Day NE (1987) *Statistical Methods in Cancer
    Research, Vol. II*, IARC, section 2.2.

    Examples
    --------
    >>> result = compare_poisson_counts(5296, 5187)
    >>> result["verdict"]
    'The rise from 5,187 to 5,296 is within normal variation (p = 0.29)'
    >>> round(result["rate_ratio"], 3), result["significant"]
    (1.021, False)
    """
    x1 = _check_count(current, "current")
    x0 = _check_count(previous, "previous")
    if isinstance(exposure_ratio, bool) or not isinstance(exposure_ratio, Real):
        raise ParameterError(f"exposure_ratio must be a positive number, not {exposure_ratio!r}")
    r = float(exposure_ratio)
    if not (math.isfinite(r) and r > 0):
        raise ParameterError(f"exposure_ratio must be a positive number, not {exposure_ratio!r}")
    n = x1 + x0
    if n == 0:
        return _nothing_to_compare()
    pi0 = r / (1.0 + r)
    test = stats.binomtest(x1, n, pi0, alternative="two-sided")
    p_value = float(min(1.0, test.pvalue))
    ci = test.proportion_ci(confidence_level=0.95, method="exact")

    def to_ratio(pi: float) -> float:
        return math.inf if pi >= 1.0 else pi / ((1.0 - pi) * r)

    rate_ratio = math.inf if x0 == 0 else x1 / (x0 * r)
    expected_current = x0 * r  # the current count at an unchanged rate
    if math.isclose(x1, expected_current, rel_tol=1e-12):
        direction = "no change"
    else:
        direction = "increase" if x1 > expected_current else "decrease"
    significant = p_value < SIGNIFICANCE_LEVEL
    if direction == "no change":
        change = f"The count of {x1:,} against {x0:,}"
    else:
        word = "rise" if direction == "increase" else "fall"
        change = f"The {word} from {x0:,} to {x1:,}"
        if r != 1.0:
            change += f" (a rate ratio of {rate_ratio:.3g} after allowing for exposure)"
    return {
        "current": x1,
        "previous": x0,
        "rate_ratio": float(rate_ratio),
        "ci_low": float(to_ratio(ci.low)),
        "ci_high": float(to_ratio(ci.high)),
        "p_value": p_value,
        "significant": bool(significant),
        "direction": direction,
        "verdict": _verdict(change, significant, p_value),
    }


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score confidence interval for a proportion.

    Parameters
    ----------
    successes : int
        Cases with the outcome (e.g. crimes with a sanction detection).
    trials : int
        All cases (e.g. all crimes).
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        ``(lower, upper)`` as proportions between 0 and 1.

    Notes
    -----
    With :math:`\\hat p = k/n` and :math:`z` the :math:`(1+c)/2` normal quantile:

    .. math:: \\frac{\\hat p + \\frac{z^2}{2n} \\pm
              z\\sqrt{\\frac{\\hat p(1-\\hat p)}{n} + \\frac{z^2}{4n^2}}}{1 + z^2/n}

    Source: Wilson EB (1927) "Probable inference, the law of succession, and statistical
    inference", *J Am Stat Assoc* 22:209-212; method 3 of Newcombe RG (1998) "Two-sided
    confidence intervals for the single proportion: comparison of seven methods",
    *Statistics in Medicine* 17:857-872.

    Examples
    --------
    Newcombe (1998), Table II, 81 of 263:

    >>> tuple(round(x, 4) for x in wilson_interval(81, 263))
    (0.2553, 0.3662)
    """
    k, n = _check_trials(successes, trials, "successes", "trials")
    c = _check_confidence(confidence)
    z = float(stats.norm.ppf(0.5 + c / 2.0))
    lower, upper = _wilson_z(k, n, z)
    return (float(lower), float(upper))


def _wilson_z(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score limits for k of n at the normal deviate z (no argument checks)."""
    p = k / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    lower = 0.0 if k == 0 else max(0.0, centre - half)
    upper = 1.0 if k == n else min(1.0, centre + half)
    return lower, upper


def _newcombe_z(k1: int, n1: int, k2: int, n2: int, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for p1 - p2 at the normal deviate z."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson_z(k1, n1, z)
    l2, u2 = _wilson_z(k2, n2, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


#: Largest normal deviate searched when inverting an interval (two-sided p ~ 1e-300).
_Z_MAX = 37.0


def _newcombe_p_value(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Two-sided p-value that matches Newcombe's interval, and its signed deviate.

    The p-value is 1 - c for the confidence level c at which the interval's limit nearest
    zero is exactly zero, so that "p < 0.05" holds exactly when the 95% interval
    excludes zero.
    """
    if k1 * n2 == k2 * n1:
        return 1.0, 0.0
    positive = k1 * n2 > k2 * n1

    def nearest_limit(z: float) -> float:
        low, high = _newcombe_z(k1, n1, k2, n2, z)
        return low if positive else -high

    if nearest_limit(_Z_MAX) > 0:
        z_star = _Z_MAX
    else:
        z_star = float(optimize.brentq(nearest_limit, 0.0, _Z_MAX, xtol=1e-12))
    p_value = float(2 * stats.norm.sf(z_star))
    return p_value, z_star if positive else -z_star


def _percent(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}% ({k:,} of {n:,})"


def compare_proportions(k1: int, n1: int, k2: int, n2: int) -> dict:
    """Test whether a proportion differs between the current and a previous period.

    Parameters
    ----------
    k1, n1 : int
        Current period: cases with the outcome, and all cases (e.g. sanction detections
        and crimes this year).
    k2, n2 : int
        Comparison period, likewise.

    Returns
    -------
    dict
        ``k1``, ``n1``, ``k2``, ``n2``, ``p1``, ``p2`` (the proportions), ``difference``
        (p1 - p2), ``ci_low``, ``ci_high`` (95% interval of the difference), ``z`` (the
        signed normal deviate at which the interval touches zero), ``p_value``
        (two-sided), ``significant`` (True exactly when the 95% interval excludes zero),
        ``direction`` (``'increase'``, ``'decrease'``, ``'no change'``), ``method`` and
        ``verdict``.

    Notes
    -----
    The interval for the difference is Newcombe's hybrid score interval (method 10):
    with Wilson limits :math:`(l_1, u_1)` and :math:`(l_2, u_2)` at the normal deviate
    :math:`z`,

    .. math:: D - \\sqrt{(\\hat p_1-l_1)^2 + (u_2-\\hat p_2)^2},\\quad
              D + \\sqrt{(u_1-\\hat p_1)^2 + (\\hat p_2-l_2)^2}

    The verdict is decided by this interval, and the p-value is the test that the
    interval inverts: the two-sided :math:`p = 2\\Phi(-z^*)` where :math:`z^*` is the
    deviate at which the limit nearest zero is exactly zero (found by Brent's method).
    So "significant" (p < 0.05) and "the 95% interval excludes zero" always agree. A
    pooled z-test would not: for 4 of 20 against 0 of 20 it gives p = 0.035 while the
    interval, -0.0005 to 0.4, includes zero.

    Source: Newcombe RG (1998) "Interval estimation for the difference between
    independent proportions: comparison of eleven methods", *Statistics in Medicine*
    17:873-890; Altman DG et al. (2000) *Statistics with Confidence*, 2nd ed., BMJ Books.

    Examples
    --------
    Newcombe (1998), Table II example (a), 56/70 against 48/80:

    >>> result = compare_proportions(56, 70, 48, 80)
    >>> round(result["ci_low"], 4), round(result["ci_high"], 4)
    (0.0524, 0.3339)
    >>> result["significant"]
    True
    >>> compare_proportions(4, 20, 0, 20)["verdict"]
    'The rise from 0.0% (0 of 20) to 20.0% (4 of 20) is within normal variation (p = 0.0505)'
    """
    k1, n1 = _check_trials(k1, n1, "k1", "n1")
    k2, n2 = _check_trials(k2, n2, "k2", "n2")
    p1, p2 = k1 / n1, k2 / n2
    z95 = float(stats.norm.ppf(0.975))
    ci_low, ci_high = _newcombe_z(k1, n1, k2, n2, z95)
    p_value, z = _newcombe_p_value(k1, n1, k2, n2)
    difference = p1 - p2
    if k1 * n2 == k2 * n1:
        direction = "no change"
        change = f"The proportion of {_percent(k1, n1)} against {_percent(k2, n2)}"
    else:
        direction = "increase" if difference > 0 else "decrease"
        word = "rise" if difference > 0 else "fall"
        change = f"The {word} from {_percent(k2, n2)} to {_percent(k1, n1)}"
    significant = ci_low > 0 or ci_high < 0
    return {
        "k1": k1,
        "n1": n1,
        "k2": k2,
        "n2": n2,
        "p1": p1,
        "p2": p2,
        "difference": difference,
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "z": float(z),
        "p_value": p_value,
        "significant": bool(significant),
        "direction": direction,
        "method": "Newcombe hybrid score interval (method 10) and the test it inverts",
        "verdict": _verdict(change, significant, p_value),
    }


def assess_rate_against_target(k: int, n: int, target: float) -> dict:
    """Is a rate (e.g. a detection rate) significantly above or below its target?

    Parameters
    ----------
    k : int
        Cases with the outcome (e.g. sanction detections).
    n : int
        All cases (e.g. crimes).
    target : float
        The target as a proportion between 0 and 1 (e.g. 0.25 for 25%).

    Returns
    -------
    dict
        ``k``, ``n``, ``rate`` (k/n), ``target``, ``ci_low``, ``ci_high`` (Wilson 95%),
        ``z`` (score statistic), ``p_below`` (one-sided score-test p-value for "the
        true rate is below the target"), ``p_above`` (likewise "above"), ``p_value``
        (two-sided, ``2 * min(p_below, p_above)``), ``significant``, ``position``
        (``'above target'``, ``'below target'`` or ``'consistent with target'``),
        ``method`` and ``verdict``.

    Notes
    -----
    The score test: :math:`z = (\\hat p - \\tau) / \\sqrt{\\tau(1-\\tau)/n}` at the
    target :math:`\\tau`, :math:`p_{below} = \\Phi(z)`, :math:`p_{above} = 1 - \\Phi(z)`.
    The Wilson interval is exactly the set of targets this two-sided test does not
    reject, so the position is read from the interval reported: below target when the
    whole 95% Wilson interval is below it, above when the whole interval is above it,
    and "consistent" otherwise; equivalently the two-sided p-value is below 0.05. An
    exact binomial one-sided test would disagree with the interval: 2 of 20 against 30%
    gives :math:`P(X \\le 2) = 0.035` while the Wilson interval (0.028, 0.301)
    contains 0.30. Sources: Wilson (1927); Agresti A, Coull BA (1998) "Approximate is
    better than 'exact' for interval estimation of binomial proportions", *The American
    Statistician* 52:119-126.

    Examples
    --------
    >>> result = assess_rate_against_target(30, 100, 0.20)
    >>> result["position"], round(result["p_above"], 4)
    ('above target', 0.0062)
    >>> assess_rate_against_target(2, 20, 0.3)["position"]
    'consistent with target'
    """
    k, n = _check_trials(k, n, "k", "n")
    if isinstance(target, bool) or not isinstance(target, Real) or not 0 < target < 1:
        raise ParameterError(
            f"target {target!r} must be a proportion strictly between 0 and 1 (e.g. 0.25)"
        )
    target = float(target)
    rate = k / n
    z = (rate - target) / math.sqrt(target * (1 - target) / n)
    p_below = float(stats.norm.cdf(z))
    p_above = float(stats.norm.sf(z))
    p_value = min(1.0, 2 * min(p_below, p_above))
    low, high = wilson_interval(k, n)
    described = f"The rate of {_percent(k, n)}"
    goal = f"the target of {100 * target:g}%"
    interval = f"95% interval {100 * low:.1f}% to {100 * high:.1f}%"
    if low > target:
        position = "above target"
        verdict = (
            f"{described} is significantly above {goal} ({interval}; {format_p_value(p_value)})"
        )
    elif high < target:
        position = "below target"
        verdict = (
            f"{described} is significantly below {goal} ({interval}; {format_p_value(p_value)})"
        )
    else:
        position = "consistent with target"
        verdict = (
            f"{described} is not significantly different from {goal} "
            f"({interval}; {format_p_value(p_value)})"
        )
    return {
        "k": k,
        "n": n,
        "rate": rate,
        "target": target,
        "ci_low": low,
        "ci_high": high,
        "z": float(z),
        "p_below": p_below,
        "p_above": p_above,
        "p_value": float(p_value),
        "significant": position != "consistent with target",
        "position": position,
        "method": "score test, consistent with the Wilson interval",
        "verdict": verdict,
    }


def estimate_dispersion(monthly: pd.Series) -> dict:
    """Extra-Poisson variation of a monthly count series (quasi-Poisson dispersion).

    Parameters
    ----------
    monthly : pandas.Series
        Monthly counts indexed by monthly :class:`pandas.Period` (e.g. the measure's
        months up to the report's period end). NaN months are left out.

    Returns
    -------
    dict
        ``phi`` (the dispersion used: ``max(1, phi_raw)``), ``phi_raw`` (Pearson
        chi-squared / residual degrees of freedom), ``chi2``, ``df``, ``n_months`` and
        ``method``.

    Notes
    -----
    A Poisson log-linear model with a level for each financial year and an effect for
    each month of the year, :math:`\\log \\mu_{ym} = a_y + b_m`, is fitted to the
    counts by maximum likelihood (statsmodels GLM). The dispersion is Pearson's
    :math:`\\hat\\phi = \\sum (y - \\hat\\mu)^2/\\hat\\mu \\,/\\, (n - p)` (McCullagh P,
    Nelder JA (1989) *Generalized Linear Models*, 2nd ed., section 4.5), floored at 1
    so that a series less variable than Poisson is not treated as more precise. For a
    complete table of years by months the fitted values are the familiar
    row total x column total / grand total.

    Examples
    --------
    >>> idx = pd.period_range("2010-04", periods=24, freq="M")
    >>> flat = pd.Series([100.0] * 24, index=idx)
    >>> estimate_dispersion(flat)["phi"], estimate_dispersion(flat)["df"]
    (1.0, 11)
    """
    import statsmodels.api as sm

    if not isinstance(monthly, pd.Series):
        raise ParameterError("monthly must be a pandas Series of monthly counts")
    values = periods.check_monthly_series(monthly, "monthly").dropna()
    if (values < 0).any():
        first = values[values < 0].index[0]
        raise DataValidationError(f"monthly has a negative count in {first}: {values[first]}")
    years = [periods.financial_year(m) for m in values.index]
    months = [m.month for m in values.index]
    design = pd.get_dummies(
        pd.DataFrame({"year": years, "month": months}).astype(str), drop_first=True
    ).astype(float)
    design.insert(0, "const", 1.0)
    df = len(values) - design.shape[1]
    if df < 1:
        raise ParameterError(
            f"monthly has {len(values)} months: estimating the dispersion needs more months "
            f"than the {design.shape[1]} year and month-of-year parameters (two years or more)"
        )
    if float(values.sum()) == 0:
        raise DataValidationError(
            "monthly is zero in every month: there is no variation to measure"
        )
    y = values.to_numpy(dtype=float)
    with warnings.catch_warnings():
        # A series that the model fits exactly (e.g. flat) triggers statsmodels'
        # separation warning; its chi-squared is then 0 and phi is floored at 1.
        warnings.simplefilter("ignore")
        fit = sm.GLM(y, design.to_numpy(), family=sm.families.Poisson()).fit()
    mu = np.asarray(fit.fittedvalues, dtype=float)
    keep = mu > 1e-8  # cells fitted as structurally zero add nothing to chi-squared
    chi2 = float(np.sum((y[keep] - mu[keep]) ** 2 / mu[keep]))
    phi_raw = chi2 / df
    return {
        "phi": float(max(1.0, phi_raw)),
        "phi_raw": float(phi_raw),
        "chi2": chi2,
        "df": int(df),
        "n_months": len(values),
        "method": "quasi-Poisson: Pearson chi-squared / df of a financial-year + month-of-year "
        "Poisson model, floored at 1",
    }


def year_on_year_pairs(monthly: pd.Series, year: int, months: int) -> list[tuple[int, int, int]]:
    """The same-months comparisons of the years before ``year``: ``(k, c_k, p_k)``.

    Parameters
    ----------
    monthly : pandas.Series
        Monthly counts indexed by monthly :class:`pandas.Period`; NaN months are missing.
    year : int
        The financial year being judged (its own comparison is never included).
    months : int
        How many months from April are compared (1 to 12), as in the FYTD comparison.

    Returns
    -------
    list of tuple
        For each financial year :math:`k < ` ``year`` whose first ``months`` months and
        those of :math:`k-1` all have data and are not both zero: :math:`k`, the count
        :math:`c_k` of year :math:`k` and the count :math:`p_k` of year :math:`k-1`,
        oldest first.

    Examples
    --------
    >>> idx = pd.period_range("2008-04", periods=48, freq="M")
    >>> year_on_year_pairs(pd.Series(10.0, index=idx), 2012, 3)
    [(2009, 30, 30), (2010, 30, 30), (2011, 30, 30)]
    """
    if isinstance(months, bool) or not isinstance(months, Integral) or not 1 <= months <= 12:
        raise ParameterError(f"months {months!r} must be a whole number from 1 to 12")
    values = periods.check_monthly_series(monthly, "monthly").dropna()
    if values.empty:
        return []
    first = periods.financial_year(values.index[0])
    totals = {}
    for k in range(first, year):
        window = pd.period_range(pd.Period(year=k, month=4, freq="M"), periods=months, freq="M")
        if values.index.isin(window).sum() == months:
            totals[k] = int(round(float(values[window].sum())))
    return [
        (k, totals[k], totals[k - 1])
        for k in range(first + 1, year)
        if k in totals and k - 1 in totals and totals[k] + totals[k - 1] > 0
    ]


def year_on_year_dispersion(pairs: list[tuple[int, int, int]] | list[tuple[int, int]]) -> dict:
    """Dispersion of a count's year-on-year changes (between-year quasi-Poisson).

    Parameters
    ----------
    pairs : list of tuple
        Earlier comparisons ``(c_k, p_k)`` or ``(k, c_k, p_k)`` (as
        :func:`year_on_year_pairs` returns), each the same months of year :math:`k`
        and of year :math:`k-1`.

    Returns
    -------
    dict
        ``phi`` (``max(1, phi_raw)``), ``phi_raw`` (the mean of :math:`z_k^2`), ``z``
        (the list of :math:`z_k`), ``df`` (the number of pairs :math:`K`) and ``method``.

    Notes
    -----
    If the counts of two years were Poisson with the same mean, then given
    :math:`c_k + p_k` the scaled difference
    :math:`z_k = (c_k - p_k)/\\sqrt{c_k + p_k}` has mean 0 and variance 1 (it is the
    score statistic of :func:`compare_counts_overdispersed` with :math:`\\phi = 1`).
    Under a quasi-Poisson model of year-on-year change its variance is :math:`\\phi`,
    so :math:`\\hat\\phi = \\frac{1}{K}\\sum_k z_k^2` (mean zero known under "no
    change", hence :math:`K` degrees of freedom), floored at 1. It measures the variation
    that an FYTD comparison is exposed to: changes of level between years as well as
    month-to-month noise (compare the additive over-dispersion estimated from the data's
    own z-scores in funnel plots, Spiegelhalter 2005). It is **not detrended**: a steady
    trend makes the :math:`z_k` share a sign and inflates :math:`\\hat\\phi`, so the
    test is conservative for a series that has been trending, which is the safe side for
    "no change" as the null hypothesis (a detrended estimate would call the continuation of
    an old trend a significant change).

    Examples
    --------
    Four earlier changes of 400 crimes in all: z = 3, -3, 0 and 2, so phi = 22/4:

    >>> result = year_on_year_dispersion([(230, 170), (170, 230), (200, 200), (220, 180)])
    >>> result["phi"], result["df"]
    (5.5, 4)
    """
    z = []
    for pair in pairs:
        c, p = (float(v) for v in pair[-2:])
        if c < 0 or p < 0 or not (math.isfinite(c) and math.isfinite(p)):
            raise ParameterError(f"pair {pair!r} must hold two non-negative counts")
        if c + p == 0:
            raise ParameterError(f"pair {pair!r} is zero in both years: no change to measure")
        z.append((c - p) / math.sqrt(c + p))
    if not z:
        raise ParameterError("pairs is empty: the dispersion needs earlier year-on-year changes")
    phi_raw = float(np.mean(np.square(z)))
    return {
        "phi": max(1.0, phi_raw),
        "phi_raw": phi_raw,
        "z": z,
        "df": len(z),
        "method": "quasi-Poisson dispersion of earlier year-on-year changes: mean of "
        "z_k^2, z_k = (c_k - p_k)/sqrt(c_k + p_k), floored at 1",
    }


def compare_counts_overdispersed(
    current: int,
    previous: int,
    dispersion: float,
    exposure_ratio: float = 1.0,
    df: int | None = None,
) -> dict:
    """Has a count changed, allowing for extra-Poisson variation (quasi-Poisson)?

    Parameters
    ----------
    current, previous : int
        Counts in the current and the comparison period (e.g. FYTD and the same months
        last year).
    dispersion : float
        The dispersion factor :math:`\\phi \\ge 1`, usually
        ``estimate_dispersion(monthly)["phi"]`` of the measure's own monthly series.
    exposure_ratio : float, default 1.0
        Exposure of the current period over that of the previous one.
    df : int, optional
        Degrees of freedom of the dispersion estimate. When given, ``z`` is referred to
        Student's t with ``df`` degrees of freedom (the dispersion is estimated, e.g.
        from ``df`` earlier year-on-year changes by :func:`year_on_year_dispersion`);
        when None, to the normal distribution (dispersion treated as known).

    Returns
    -------
    dict
        The keys of :func:`compare_poisson_counts` (``current``, ``previous``,
        ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``significant``,
        ``direction``, ``verdict``) plus ``dispersion``, ``df``, ``z`` and ``method``.

    Notes
    -----
    Given the total :math:`n = X_1 + X_0`, :math:`X_1` has mean :math:`n\\pi_0` with
    :math:`\\pi_0 = r/(1+r)` under "no change", and quasi-Poisson variance
    :math:`\\phi\\, n \\pi_0 (1-\\pi_0)`. The score statistic is scaled by
    :math:`\\sqrt\\phi`:

    .. math:: z = \\frac{X_1 - n\\pi_0}{\\sqrt{\\phi\\, n\\pi_0(1-\\pi_0)}},
              \\quad p = 2\\Phi(-|z|)

    The 95% interval inverts the same test: the Wilson interval for :math:`\\pi` with
    the deviate :math:`1.96\\sqrt\\phi`, mapped to the rate ratio by
    :math:`\\rho = \\pi / ((1-\\pi) r)`. So the verdict (p < 0.05) holds exactly when
    the interval excludes 1. With :math:`\\phi = 1` this is the ordinary (conditional)
    score test for two Poisson counts. Sources: McCullagh & Nelder (1989) section 4.5
    (quasi-likelihood scaling of test statistics by the dispersion); Wedderburn RWM
    (1974) *Biometrika* 61:439-447. With an estimated dispersion on ``df`` degrees of
    freedom, :math:`z` is referred to :math:`t_{df}` and the deviate is
    :math:`t_{df,0.975}\\sqrt\\phi` (McCullagh & Nelder 1989, section 4.5: the
    quasi-likelihood analogue of the t test).

    Examples
    --------
    A 1.8% fall in violence, 52,000 against 52,950, with the series' dispersion of 80:

    >>> result = compare_counts_overdispersed(52000, 52950, 80.0)
    >>> result["significant"], round(result["z"], 2)
    (False, -0.33)
    >>> compare_poisson_counts(52000, 52950)["significant"]
    True
    >>> round(compare_counts_overdispersed(1100, 1000, 4.0, df=5)["p_value"], 3)
    0.325
    """
    x1 = _check_count(current, "current")
    x0 = _check_count(previous, "previous")
    for name, value in (("dispersion", dispersion), ("exposure_ratio", exposure_ratio)):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ParameterError(f"{name} must be a positive number, not {value!r}")
    phi = float(dispersion)
    if phi < 1:
        raise ParameterError(
            f"dispersion {dispersion!r} must be at least 1 (quasi-Poisson is floored at Poisson)"
        )
    r = float(exposure_ratio)
    if r <= 0:
        raise ParameterError(f"exposure_ratio must be a positive number, not {exposure_ratio!r}")
    if df is not None and (isinstance(df, bool) or not isinstance(df, Integral) or df < 1):
        raise ParameterError(f"df {df!r} must be a whole number of at least 1, or None")
    reference = stats.norm if df is None else stats.t(int(df))
    method = f"quasi-Poisson score test (dispersion {phi:.3g}" + (
        ")" if df is None else f", estimated on {df} degrees of freedom, t reference)"
    )
    n = x1 + x0
    if n == 0:
        return {**_nothing_to_compare(), "dispersion": phi, "df": df, "z": 0.0, "method": method}
    pi0 = r / (1.0 + r)
    z = (x1 - n * pi0) / math.sqrt(phi * n * pi0 * (1 - pi0))
    p_value = float(min(1.0, 2 * reference.sf(abs(z))))
    low_pi, high_pi = _wilson_z(x1, n, float(reference.isf(0.025)) * math.sqrt(phi))

    def to_ratio(pi: float) -> float:
        return math.inf if pi >= 1.0 else pi / ((1.0 - pi) * r)

    rate_ratio = math.inf if x0 == 0 else x1 / (x0 * r)
    expected_current = x0 * r
    if math.isclose(x1, expected_current, rel_tol=1e-12):
        direction = "no change"
        change = f"The count of {x1:,} against {x0:,}"
    else:
        direction = "increase" if x1 > expected_current else "decrease"
        word = "rise" if direction == "increase" else "fall"
        change = f"The {word} from {x0:,} to {x1:,}"
        if r != 1.0:
            change += f" (a rate ratio of {rate_ratio:.3g} after allowing for exposure)"
    significant = p_value < SIGNIFICANCE_LEVEL
    finding = "is statistically significant" if significant else "is within normal variation"
    return {
        "current": x1,
        "previous": x0,
        "rate_ratio": float(rate_ratio),
        "ci_low": float(to_ratio(low_pi)),
        "ci_high": float(to_ratio(high_pi)),
        "p_value": p_value,
        "significant": bool(significant),
        "direction": direction,
        "dispersion": phi,
        "df": df,
        "z": float(z),
        "method": method,
        "verdict": (
            f"{change} {finding} ({format_p_value(p_value)}, quasi-Poisson test allowing"
            f" for variation {phi:.3g} times the Poisson)"
        ),
    }


def backtest_false_alarm_rate(
    series: dict[str, pd.Series],
    months: int = 6,
    alpha: float = SIGNIFICANCE_LEVEL,
    min_years: int = MIN_DISPERSION_YEARS,
) -> pd.DataFrame:
    """How often the FYTD change tests call a change where none was made (back-test).

    Parameters
    ----------
    series : dict of str to pandas.Series
        Monthly count series, named, each indexed by monthly :class:`pandas.Period`.
        Pass periods believed stable (no real change): every comparison made is
        counted as a false alarm when called significant.
    months : int, default 6
        Length of the compared windows: the first ``months`` months of a financial
        year against the same months a year earlier, as the FYTD comparison does.
    alpha : float, default 0.05
        Significance level.
    min_years : int, default 3
        Fewest earlier year-on-year changes the report's dispersion needs.

    Returns
    -------
    pandas.DataFrame
        One row per comparison: ``series``, ``financial_year``, ``current``,
        ``previous``, ``phi_monthly`` (:func:`estimate_dispersion` of the 24 months
        before the year: the reports' rule before), ``phi`` and ``df``
        (:func:`year_on_year_dispersion` of the earlier years: the reports' rule now),
        ``poisson_significant`` (exact Poisson test), ``quasi_monthly_significant`` and
        ``quasi_significant`` (:func:`compare_counts_overdispersed` with each
        dispersion; the second with the t reference on ``df``). The observed false-alarm
        rates are the means of the last three columns, also in
        ``frame.attrs["false_alarm_rate"]`` as ``{"poisson": ..., "quasi_poisson_monthly":
        ..., "quasi_poisson": ...}``.

    Notes
    -----
    For each series and each financial year :math:`y` whose first ``months`` months
    and those of :math:`y-1` are present, with the 24 months before :math:`y` present and
    at least ``min_years`` earlier changes (:func:`year_on_year_pairs`), the dispersions
    are estimated, as a report would, from data before year :math:`y` only (so the test
    never sees the data it judges), and the two windows are compared.

    Examples
    --------
    >>> idx = pd.period_range("2008-04", periods=72, freq="M")
    >>> frame = backtest_false_alarm_rate({"flat": pd.Series(100.0, index=idx)})
    >>> len(frame), frame.attrs["false_alarm_rate"]["quasi_poisson"]
    (2, 0.0)
    """
    if isinstance(months, bool) or not isinstance(months, Integral) or not 1 <= months <= 12:
        raise ParameterError(f"months {months!r} must be a whole number from 1 to 12")
    rows = []
    for name, values in series.items():
        values = periods.check_monthly_series(values, str(name)).dropna()
        years = sorted({periods.financial_year(m) for m in values.index})
        for year in years:
            start = pd.Period(year=year, month=4, freq="M")
            now = pd.period_range(start, periods=months, freq="M")
            then = pd.period_range(start - 12, periods=months, freq="M")
            history = pd.period_range(start - 24, periods=24, freq="M")
            if not (
                values.index.isin(now).sum() == months
                and values.index.isin(then).sum() == months
                and values.index.isin(history).sum() == 24
            ):
                continue
            pairs = year_on_year_pairs(values, year, months)
            if len(pairs) < min_years or float(values.reindex(history).sum()) == 0:
                continue
            between = year_on_year_dispersion(pairs)
            phi_monthly = estimate_dispersion(values.reindex(history))["phi"]
            current, previous = int(values[now].sum()), int(values[then].sum())
            exact = compare_poisson_counts(current, previous)
            monthly = compare_counts_overdispersed(current, previous, phi_monthly)
            quasi = compare_counts_overdispersed(
                current, previous, between["phi"], df=between["df"]
            )
            rows.append(
                {
                    "series": name,
                    "financial_year": year,
                    "current": current,
                    "previous": previous,
                    "phi_monthly": phi_monthly,
                    "phi": between["phi"],
                    "df": between["df"],
                    "poisson_significant": exact["p_value"] < alpha,
                    "quasi_monthly_significant": monthly["p_value"] < alpha,
                    "quasi_significant": quasi["p_value"] < alpha,
                }
            )
    columns = ["series", "financial_year", "current", "previous", "phi_monthly", "phi", "df"]
    flags = ["poisson_significant", "quasi_monthly_significant", "quasi_significant"]
    frame = pd.DataFrame(rows, columns=columns + flags)
    frame.attrs["false_alarm_rate"] = {
        key: float(frame[flag].mean()) if len(frame) else math.nan
        for key, flag in zip(
            ("poisson", "quasi_poisson_monthly", "quasi_poisson"), flags, strict=True
        )
    }
    return frame
