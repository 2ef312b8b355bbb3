"""Funnel plots: which boroughs' crime rates are unusually high or low?

A borough's rate is compared with the London rate. Small boroughs vary more by chance,
so the control limits form a funnel that narrows as the population grows. Boroughs
outside the 99.8% limits are unlikely to differ by chance alone; between the 95% and
99.8% limits, they may merit a look.

Crime rates between areas usually vary more than pure chance (Poisson variation)
allows, because areas differ in ways the rate does not capture. Without allowing for
this "over-dispersion", most boroughs would be flagged. Following Spiegelhalter (2005),
the limits are widened by a between-borough variance estimated from the data themselves
(FunnelPlotR's additive random effects), or optionally by a multiplicative factor.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd
from scipy import stats

from mpsanalysis.errors import ParameterError
from mpsanalysis.stats.plotting import figure_with_room_below, label_thousands, legend_below

__all__ = [
    "WINSORISE_PROPORTION",
    "FUNNEL_LEGEND_ENTRIES",
    "FUNNEL_LEGEND_COLUMNS",
    "compute_funnel",
    "funnel_curve",
    "plot_funnel",
    "FUNNEL_METHODS",
    "estimate_tau2",
]

#: Over-dispersion adjustments: FunnelPlotR's additive random effects (tau^2, the
#: default) and Spiegelhalter's multiplicative widening by sqrt(phi).
FUNNEL_METHODS = ("additive", "multiplicative")

#: Share of z-scores pulled in at each tail before estimating over-dispersion.
WINSORISE_PROPORTION = 0.10

_LEVELS = {"95": 0.95, "998": 0.998}


def _check_positive_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ParameterError(f"{name} must be a positive number, not {value!r}")
    if value <= 0:
        raise ParameterError(f"{name} must be a positive number, not {value!r}")
    return float(value)


def _poisson_limits(expected: np.ndarray, inflation: float) -> dict[str, np.ndarray]:
    """Control limits on the count scale for each expected count (see compute_funnel)."""
    expected = np.asarray(expected, dtype=float)
    root = np.sqrt(expected)
    limits = {}
    for name, level in _LEVELS.items():
        alpha = 1.0 - level
        lower = np.where(
            expected > 0, stats.gamma.ppf(alpha / 2, np.maximum(expected, 1e-300)), 0.0
        )
        upper = stats.gamma.ppf(1 - alpha / 2, expected + 1.0)
        if inflation != 1.0:
            lower = np.maximum(root - inflation * (root - np.sqrt(lower)), 0.0) ** 2
            upper = (root + inflation * (np.sqrt(upper) - root)) ** 2
        limits[f"lower{name}"] = lower
        limits[f"upper{name}"] = upper
    return limits


def _additive_limits(expected: np.ndarray, tau2: float) -> dict[str, np.ndarray]:
    """Count limits E x (1 +/- z sqrt(1/(4E) + tau2))^2 (see compute_funnel)."""
    expected = np.asarray(expected, dtype=float)
    spread = np.sqrt(1.0 / (4.0 * expected) + tau2)
    limits = {}
    for name, level in _LEVELS.items():
        z = stats.norm.isf((1.0 - level) / 2.0)
        limits[f"lower{name}"] = expected * np.maximum(1.0 - z * spread, 0.0) ** 2
        limits[f"upper{name}"] = expected * (1.0 + z * spread) ** 2
    return limits


def estimate_tau2(z: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """Over-dispersion phi and DerSimonian-Laird tau^2 on the square-root scale.

    Parameters
    ----------
    z : array-like
        Square-root scale z-scores, :math:`2(\\sqrt{O_i} - \\sqrt{E_i})`.
    expected : array-like
        Expected counts :math:`E_i`.

    Returns
    -------
    tuple of float
        ``(phi, tau2)``: phi is the mean of the squared z-scores winsorised at 10% in
        each tail; tau2 is
        :math:`\\max(0, (N\\phi - (N-1)) / (\\sum w - \\sum w^2 / \\sum w))` with
        :math:`w_i = 1/s_i^2 = 4E_i`.

    Examples
    --------
    >>> phi, tau2 = estimate_tau2([-8, 0, 0, 0, 8], [100] * 5)
    >>> round(phi, 6), round(tau2, 6)
    (9.216, 0.0263)
    """
    z = np.asarray(z, dtype=float)
    expected = np.asarray(expected, dtype=float)
    n = len(z)
    phi = float(np.mean(_winsorise(z) ** 2))
    w = 4.0 * expected
    denominator = w.sum() - (w**2).sum() / w.sum()
    if n < 2 or denominator <= 0:
        return phi, 0.0
    tau2 = max(0.0, (n * phi - (n - 1)) / denominator)
    return phi, float(tau2)


def _winsorise(z: np.ndarray, proportion: float = WINSORISE_PROPORTION) -> np.ndarray:
    low, high = np.quantile(z, [proportion, 1.0 - proportion])  # linear (R type 7)
    return np.clip(z, low, high)


def compute_funnel(
    observed: pd.Series,
    population: pd.Series,
    per: float = 1000,
    overdispersion: bool = True,
    method: str = "additive",
) -> pd.DataFrame:
    """Rates per unit with exact Poisson funnel limits, allowing for over-dispersion.

    Parameters
    ----------
    observed : pandas.Series
        Crime count per unit (e.g. borough), indexed by unit name.
    population : pandas.Series
        Population (or other denominator) per unit, same units as ``observed``.
    per : float, default 1000
        Rates are per this many people (e.g. 1000 for "crimes per 1,000 residents").
    overdispersion : bool, default True
        Widen the limits when the estimated over-dispersion :math:`\\hat\\phi`
        exceeds 1.
    method : {'additive', 'multiplicative'}, default 'additive'
        ``'additive'``: FunnelPlotR's random-effects limits with
        :math:`\\tau^2` (DerSimonian-Laird on winsorised z-scores), the default of
        FunnelPlotR when over-dispersion is adjusted for. ``'multiplicative'``:
        Spiegelhalter's widening of the exact Poisson limits by :math:`\\sqrt{\\hat\\phi}`.

    Returns
    -------
    pandas.DataFrame
        Indexed by unit, sorted like ``observed``, with columns ``observed``,
        ``population``, ``rate`` (per ``per``), ``expected`` (count at the overall rate),
        ``z`` (square-root scale z-score, before any over-dispersion adjustment),
        ``lower95``, ``upper95``, ``lower998``, ``upper998`` (limits as rates per
        ``per``), ``outlier`` (``'high'``/``'low'`` beyond the 99.8% limits, ``'high
        (95%)'``/``'low (95%)'`` beyond the 95% limits only, else None) and ``phi`` (the
        estimated over-dispersion factor, the same on every row) and ``tau2`` (the
        between-unit variance on the square-root scale, same on every row). ``attrs``
        holds ``target_rate``, ``per``, ``phi``, ``tau2``, ``method`` and
        ``overdispersion_applied``.

    Raises
    ------
    ParameterError
        When the two Series do not list the same units, a count is missing, negative or
        not whole, a population is not positive, or there are fewer than 3 units.

    Notes
    -----
    *Target and expected counts.* :math:`\\theta = \\sum O_i / \\sum P_i` and
    :math:`E_i = \\theta P_i`.

    *Exact Poisson limits.* For an expected count :math:`E` and level :math:`1-\\alpha`
    (95% and 99.8%), the limits on the count scale are the chi-square (gamma) form of
    the exact Poisson interval, evaluated at :math:`E`:

    .. math:: L = \\tfrac12\\chi^2_{2E,\\,\\alpha/2} = G^{-1}(\\alpha/2;\\,E), \\quad
              U = \\tfrac12\\chi^2_{2(E+1),\\,1-\\alpha/2} = G^{-1}(1-\\alpha/2;\\,E+1)

    where :math:`G^{-1}(q; a)` is the gamma quantile with shape :math:`a`. For a whole
    number :math:`E`, :math:`P(X \\le E \\mid U) = P(X \\ge E \\mid L) = \\alpha/2`; the
    gamma form interpolates smoothly between whole numbers, giving smooth funnels.
    Sources: Garwood F (1936) "Fiducial limits for the Poisson distribution",
    *Biometrika* 28:437-442; Spiegelhalter DJ (2005) "Funnel plots for comparing
    institutional performance", *Statistics in Medicine* 24:1185-1202; Flowers J (2007)
    *Statistical process control methods in public health intelligence*, APHO Technical
    Briefing 2.

    *Over-dispersion* (Spiegelhalter DJ (2005) "Handling over-dispersion of performance
    indicators", *Quality and Safety in Health Care* 14:347-351). Square-root scale
    z-scores :math:`z_i = 2(\\sqrt{O_i} - \\sqrt{E_i})` are winsorised: those below the
    10th percentile are set to it, those above the 90th to it (percentiles by linear
    interpolation, as R's default and the NHS-R *FunnelPlotR* package). Then
    :math:`\\hat\\phi = \\frac{1}{I}\\sum_i z_{i,w}^2` over the :math:`I` units. When
    :math:`\\hat\\phi > 1` (and ``overdispersion`` is True) each limit's distance from
    :math:`E` on the square-root scale is multiplied by :math:`\\sqrt{\\hat\\phi}`:

    .. math:: L^* = \\left(\\sqrt E - \\sqrt{\\hat\\phi}(\\sqrt E - \\sqrt L)\\right)^2,
              \\quad U^* = \\left(\\sqrt E + \\sqrt{\\hat\\phi}(\\sqrt U - \\sqrt E)\\right)^2

    (:math:`L^*` is floored at 0). A rate limit is the count limit divided by
    :math:`P_i` and multiplied by ``per``. This is ``method='multiplicative'``.

    *Additive random effects* (``method='additive'``, the default; Spiegelhalter 2005,
    *QSHC*; as in FunnelPlotR). On the square-root scale the ratio
    :math:`y_i = \\sqrt{O_i/E_i}` has target 1 and standard error
    :math:`s_i = 1/(2\\sqrt{E_i})`, so :math:`z_i = (y_i - 1)/s_i`, the z above. With
    :math:`\\hat\\phi` as above (winsorised), :math:`w_i = 1/s_i^2 = 4E_i` and :math:`N`
    units, the DerSimonian-Laird estimate is

    .. math:: \\hat\\tau^2 = \\max\\left(0, \\frac{N\\hat\\phi - (N-1)}
              {\\sum w_i - \\sum w_i^2 / \\sum w_i}\\right)

    and, when :math:`\\hat\\phi > 1`, the limits are
    :math:`1 \\pm z_{\\alpha}\\sqrt{s_i^2 + \\hat\\tau^2}` on that scale: count limits
    :math:`E_i (1 \\pm z_\\alpha\\sqrt{s_i^2+\\hat\\tau^2})^2` (the lower one floored
    at 0). When no adjustment is applied, the exact Poisson limits are used.

    Examples
    --------
    >>> observed = pd.Series({"A": 50, "B": 30, "C": 20})
    >>> population = pd.Series({"A": 5000, "B": 3000, "C": 2000})
    >>> funnel = compute_funnel(observed, population, per=1000)
    >>> funnel["rate"].tolist(), funnel.attrs["target_rate"]
    ([10.0, 10.0, 10.0], 10.0)
    >>> funnel["outlier"].tolist()
    [None, None, None]
    """
    if not isinstance(observed, pd.Series) or not isinstance(population, pd.Series):
        raise ParameterError("observed and population must be pandas Series indexed by unit")
    per = _check_positive_number(per, "per")
    if method not in FUNNEL_METHODS:
        raise ParameterError(f"method {method!r} must be one of {', '.join(FUNNEL_METHODS)}")
    for name, series in (("observed", observed), ("population", population)):
        if series.index.has_duplicates:
            dup = sorted({str(u) for u in series.index[series.index.duplicated()]})
            raise ParameterError(f"{name} lists unit(s) more than once: {', '.join(dup)}")
    only_obs = [str(u) for u in observed.index.difference(population.index)]
    only_pop = [str(u) for u in population.index.difference(observed.index)]
    if only_obs or only_pop:
        parts = []
        if only_obs:
            parts.append(f"no population for {', '.join(sorted(only_obs))}")
        if only_pop:
            parts.append(f"no count for {', '.join(sorted(only_pop))}")
        raise ParameterError("observed and population list different units: " + "; ".join(parts))
    if len(observed) < 3:
        raise ParameterError(f"a funnel plot needs at least 3 units, got {len(observed)}")
    try:
        obs = pd.to_numeric(observed, errors="raise").astype(float)
        pop = pd.to_numeric(population.reindex(observed.index), errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"observed and population must be numbers: {exc}") from None
    for name, series in (("observed", obs), ("population", pop)):
        bad = series.index[series.isna() | ~np.isfinite(series)]
        if len(bad):
            raise ParameterError(f"{name} is missing for {', '.join(map(str, bad))}")
    if (obs < 0).any() or not np.all(np.mod(obs, 1) == 0):
        bad = obs.index[(obs < 0) | (np.mod(obs, 1) != 0)]
        raise ParameterError(
            f"observed must be whole, non-negative counts; check {', '.join(map(str, bad))}"
        )
    if (pop <= 0).any():
        bad = pop.index[pop <= 0]
        raise ParameterError(f"population must be positive; check {', '.join(map(str, bad))}")
    if obs.sum() == 0:
        raise ParameterError("there are no crimes in any unit, so there is no rate to compare")

    theta = obs.sum() / pop.sum()
    expected = theta * pop.to_numpy()
    z = 2.0 * (np.sqrt(obs.to_numpy()) - np.sqrt(expected))
    phi, tau2 = estimate_tau2(z, expected)
    applied = bool(overdispersion and phi > 1.0)
    if applied and method == "additive":
        limits = _additive_limits(expected, tau2)
    else:
        limits = _poisson_limits(expected, np.sqrt(phi) if applied else 1.0)
    o = obs.to_numpy()
    outlier = np.where(
        o > limits["upper998"],
        "high",
        np.where(
            o < limits["lower998"],
            "low",
            np.where(
                o > limits["upper95"],
                "high (95%)",
                np.where(o < limits["lower95"], "low (95%)", ""),
            ),
        ),
    )
    scale = per / pop.to_numpy()
    out = pd.DataFrame(
        {
            "observed": o,
            "population": pop.to_numpy(),
            "rate": o * scale,
            "expected": expected,
            "z": z,
            "lower95": limits["lower95"] * scale,
            "upper95": limits["upper95"] * scale,
            "lower998": limits["lower998"] * scale,
            "upper998": limits["upper998"] * scale,
            "outlier": [v if v else None for v in outlier],
            "phi": phi,
            "tau2": tau2,
        },
        index=observed.index.copy(),
    )
    # object dtype keeps None (pandas would otherwise infer a string column with NaN)
    out["outlier"] = pd.Series([v if v else None for v in outlier], index=out.index, dtype=object)
    out.attrs.update(
        {
            "target_rate": float(theta * per),
            "per": per,
            "phi": phi,
            "tau2": tau2,
            "method": method,
            "overdispersion_applied": applied,
        }
    )
    return out


def funnel_curve(
    target_rate: float,
    populations,
    per: float = 1000,
    phi: float = 1.0,
    n_points: int = 200,
    tau2: float | None = None,
) -> pd.DataFrame:
    """Smooth funnel limits across a range of populations, for drawing.

    Parameters
    ----------
    target_rate : float
        The overall rate, per ``per`` (``compute_funnel(...).attrs["target_rate"]``).
    populations : array-like
        Populations to span; the curve runs from their minimum to their maximum.
    per : float, default 1000
        Rates are per this many people.
    phi : float, default 1.0
        Over-dispersion factor to apply (limits are widened only when it exceeds 1).
    n_points : int, default 200
        Number of points, spaced evenly on a log scale.
    tau2 : float, optional
        When given (and ``phi`` exceeds 1), draw the additive random-effects limits
        with this :math:`\\tau^2` instead of widening by :math:`\\sqrt\\phi`.

    Returns
    -------
    pandas.DataFrame
        Columns ``population``, ``expected``, ``lower95``, ``upper95``, ``lower998``,
        ``upper998`` (rates per ``per``).

    Notes
    -----
    Uses the same limits as :func:`compute_funnel`.

    Examples
    --------
    >>> curve = funnel_curve(10.0, [1000, 100000], per=1000, n_points=3)
    >>> curve["population"].round().tolist()
    [1000.0, 10000.0, 100000.0]
    >>> bool((curve["upper998"].diff().dropna() < 0).all())  # the funnel narrows
    True
    """
    target_rate = _check_positive_number(target_rate, "target_rate")
    per = _check_positive_number(per, "per")
    phi = _check_positive_number(phi, "phi")
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise ParameterError(f"n_points must be a whole number of at least 2, not {n_points!r}")
    values = np.asarray(populations, dtype=float).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)) or (values <= 0).any():
        raise ParameterError("populations must be positive numbers")
    grid = np.geomspace(values.min(), values.max(), int(n_points))
    expected = target_rate / per * grid
    if tau2 is not None:
        if isinstance(tau2, bool) or not isinstance(tau2, Real) or not tau2 >= 0:
            raise ParameterError(f"tau2 must be a number of at least 0, not {tau2!r}")
    if tau2 is not None and phi > 1:
        limits = _additive_limits(expected, float(tau2))
    else:
        limits = _poisson_limits(expected, np.sqrt(phi) if phi > 1 else 1.0)
    scale = per / grid
    return pd.DataFrame(
        {
            "population": grid,
            "expected": expected,
            **{name: limit * scale for name, limit in limits.items()},
        }
    )


_OUTLIER_STYLES = {
    None: {"marker": "o", "facecolor": "#bfbfbf", "label": "Within 95% limits (●)"},
    "high (95%)": {"marker": "^", "facecolor": "white", "label": "Above 95% limit (△)"},
    "low (95%)": {"marker": "v", "facecolor": "white", "label": "Below 95% limit (▽)"},
    "high": {"marker": "^", "facecolor": "#c00000", "label": "Above 99.8% limit (▲)"},
    "low": {"marker": "v", "facecolor": "#1f4e79", "label": "Below 99.8% limit (▼)"},
}


#: The most entries a funnel plot's legend has (the rate, two limits, five kinds of
#: borough), and its columns (the over-dispersion label is long).
FUNNEL_LEGEND_ENTRIES = 8
FUNNEL_LEGEND_COLUMNS = 2


def plot_funnel(funnel_df: pd.DataFrame, title: str, ax=None, rate_label: str | None = None):
    """Draw a funnel plot with the outlying units labelled by name.

    Parameters
    ----------
    funnel_df : pandas.DataFrame
        The output of :func:`compute_funnel`.
    title : str
        Chart title.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created if omitted.
    rate_label : str, optional
        y-axis label; default "Rate per <per>".

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Units beyond the 95% limits are labelled by name. Markers differ in shape and fill
    (circle within limits, triangles pointing up or down beyond them, hollow for 95%
    and filled for 99.8%) so that the plot reads in greyscale.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> funnel = compute_funnel(pd.Series({"A": 50, "B": 30, "C": 20}),
    ...                         pd.Series({"A": 5000, "B": 3000, "C": 2000}))
    >>> plot_funnel(funnel, "Example").get_title()
    'Example'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    required = ["observed", "population", "rate", "lower998", "upper998", "outlier", "phi"]
    if not isinstance(funnel_df, pd.DataFrame) or any(c not in funnel_df.columns for c in required):
        raise ParameterError("funnel_df must be the DataFrame returned by compute_funnel")

    if ax is None:
        _, ax = figure_with_room_below(8, 5.5, FUNNEL_LEGEND_ENTRIES, columns=FUNNEL_LEGEND_COLUMNS)
    obs = funnel_df["observed"].to_numpy(dtype=float)
    pop = funnel_df["population"].to_numpy(dtype=float)
    per = funnel_df.attrs.get("per")
    if per is None:  # attrs can be lost in pandas operations: recover per from the rates
        positive = obs > 0
        per = float(
            np.median(funnel_df["rate"].to_numpy()[positive] * pop[positive] / obs[positive])
        )
    target = obs.sum() / pop.sum() * per
    phi = float(funnel_df["phi"].iloc[0])
    applied = funnel_df.attrs.get("overdispersion_applied")
    if applied is None:  # which limits were drawn? the ones that reproduce the table
        check = _poisson_limits(funnel_df["expected"].to_numpy(), 1.0)["upper998"] * per / pop
        applied = not np.allclose(check, funnel_df["upper998"].to_numpy())
    additive = funnel_df.attrs.get("method", "additive") == "additive" and "tau2" in funnel_df
    tau2 = float(funnel_df["tau2"].iloc[0]) if additive else None
    curve = funnel_curve(
        target,
        [pop.min() * 0.8, pop.max() * 1.15],
        per=per,
        phi=phi if applied else 1.0,
        tau2=tau2,
    )
    ax.axhline(target, color="black", linewidth=1.2, label=f"Overall rate ({target:.3g})")
    ax.plot(
        curve["population"],
        curve["upper95"],
        color="black",
        linestyle="--",
        linewidth=1,
        label="95% limits" + (" (widened)" if applied else ""),
    )
    ax.plot(curve["population"], curve["lower95"], color="black", linestyle="--", linewidth=1)
    ax.plot(
        curve["population"],
        curve["upper998"],
        color="black",
        linestyle=":",
        linewidth=1.2,
        # The widening (its estimate, tau2 or phi, is in ``funnel_df``) is explained in
        # words by the report's caption; the legend only says that it was applied.
        label="99.8% limits" + (" (widened)" if applied else ""),
    )
    ax.plot(curve["population"], curve["lower998"], color="black", linestyle=":", linewidth=1.2)
    outliers = funnel_df["outlier"].where(funnel_df["outlier"].notna(), None)
    for kind, style in _OUTLIER_STYLES.items():
        mask = np.array([(v is None) if kind is None else (v == kind) for v in outliers])
        if mask.any():
            ax.scatter(
                pop[mask],
                funnel_df["rate"].to_numpy()[mask],
                marker=style["marker"],
                facecolor=style["facecolor"],
                edgecolor="black",
                s=45,
                zorder=3,
                label=style["label"],
            )
    for unit, row in funnel_df[outliers.notna().to_numpy()].iterrows():
        ax.annotate(
            str(unit),
            (row["population"], row["rate"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize="small",
        )
    ax.set_title(title)
    ax.set_xlabel("Population")
    label_thousands(ax.xaxis)
    ax.set_ylabel(rate_label or f"Rate per {per:,g}")
    legend_below(ax, columns=FUNNEL_LEGEND_COLUMNS)  # inside, it sat across the boroughs
    return ax
