"""How concentrated is crime? Lorenz curves, the Gini coefficient and the "top wards".

Crime is not spread evenly: a few wards (or boroughs, or streets) hold a large share of
it. These functions answer questions such as "how many wards account for a fifth of all
violent crime?" from a Series of counts per unit.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd

from mpsanalysis.errors import ParameterError

__all__ = [
    "compute_lorenz",
    "gini_coefficient",
    "smallest_share_holding",
    "top_units",
    "plot_lorenz",
]


def _check_counts(counts: pd.Series) -> pd.Series:
    if not isinstance(counts, pd.Series):
        raise ParameterError("counts must be a pandas Series of crime counts indexed by unit name")
    if counts.empty:
        raise ParameterError("counts is empty: there are no units to compare")
    if counts.index.has_duplicates:
        names = sorted({str(u) for u in counts.index[counts.index.duplicated()]})
        raise ParameterError(f"counts lists unit(s) more than once: {', '.join(names)}")
    try:
        values = pd.to_numeric(counts, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"counts must be numbers: {exc}") from None
    missing = values.index[values.isna()]
    if len(missing):
        raise ParameterError(
            "counts is missing for unit(s) "
            + ", ".join(map(str, missing[:5]))
            + ("..." if len(missing) > 5 else "")
            + ": fill them or drop them explicitly before measuring concentration"
        )
    if not np.isfinite(values.to_numpy()).all():
        raise ParameterError("counts contains an infinite value")
    if (values < 0).any():
        raise ParameterError("counts must not be negative")
    if values.sum() <= 0:
        raise ParameterError("counts add up to zero: there is no crime to share out")
    return values


def _check_share(share: float) -> float:
    if isinstance(share, bool) or not isinstance(share, Real) or not 0 < share <= 1:
        raise ParameterError(f"share {share!r} must be a proportion above 0 and at most 1")
    return float(share)


def _ranked(values: pd.Series) -> pd.Series:
    """Units from highest to lowest count; ties in name order, so results are stable."""
    counts = values.to_numpy()
    names = np.array([str(unit) for unit in values.index], dtype=str)
    order = np.lexsort((names, -counts))  # the last key sorts first; stable
    return pd.Series(counts[order], index=pd.Index(values.index[order], name="unit"))


def compute_lorenz(counts: pd.Series) -> pd.DataFrame:
    """Cumulative share of units against cumulative share of crime (highest first).

    Parameters
    ----------
    counts : pandas.Series
        Crime count per unit (e.g. ward), indexed by unit name.

    Returns
    -------
    pandas.DataFrame
        One row per unit, ranked from the highest count (rank 1), indexed by ``rank``,
        with columns ``unit``, ``count``, ``share`` (of all crime), ``cumulative_count``,
        ``share_of_units`` (rank / number of units) and ``share_of_crime`` (cumulative).

    Notes
    -----
    This is the "concentration curve" view used for hot-spot analysis: units are sorted
    in *descending* order, so the curve lies above the diagonal and reads directly as
    "the top x% of wards hold y% of the crime". The classical Lorenz curve (ascending
    order) is its reflection through the point (0.5, 0.5); both enclose the same area
    with the diagonal, so both give the same Gini coefficient. Source: Lorenz MO (1905)
    "Methods of measuring the concentration of wealth", *Publ Am Stat Assoc* 9:209-219;
    Eck JE, Lee Y, O SH, Martinez N (2017) "Compared to what? Estimating the relative
    concentration of crime at places using systematic and other reviews", *Crime Science*
    6:8.

    Examples
    --------
    >>> lorenz = compute_lorenz(pd.Series({"A": 10, "B": 30, "C": 60}))
    >>> lorenz[["unit", "share_of_units", "share_of_crime"]].round(3).values.tolist()
    [['C', 0.333, 0.6], ['B', 0.667, 0.9], ['A', 1.0, 1.0]]
    """
    values = _check_counts(counts)
    ranked = _ranked(values)
    total = ranked.sum()
    n = len(ranked)
    out = pd.DataFrame(
        {
            "unit": ranked.index.to_numpy(),
            "count": ranked.to_numpy(),
            "share": ranked.to_numpy() / total,
            "cumulative_count": ranked.cumsum().to_numpy(),
            "share_of_units": np.arange(1, n + 1) / n,
            "share_of_crime": ranked.cumsum().to_numpy() / total,
        },
        index=pd.RangeIndex(1, n + 1, name="rank"),
    )
    return out


def gini_coefficient(counts: pd.Series) -> float:
    """Gini coefficient of crime across units: 0 = spread evenly, near 1 = concentrated.

    Parameters
    ----------
    counts : pandas.Series
        Crime count per unit, indexed by unit name.

    Returns
    -------
    float
        Between 0 and (n - 1) / n for n units.

    Notes
    -----
    With counts sorted in ascending order :math:`x_{(1)} \\le \\dots \\le x_{(n)}`:

    .. math:: G = \\frac{2\\sum_{i=1}^{n} i\\,x_{(i)}}{n\\sum_i x_i} - \\frac{n+1}{n}

    which equals half the relative mean absolute difference,
    :math:`\\sum_i\\sum_j |x_i - x_j| / (2 n^2 \\bar x)`. This is the uncorrected
    (population) Gini; its maximum for n units is (n - 1)/n. Source: Gini C (1912)
    *Variabilità e mutabilità*; formula as in Damgaard C, Weiner J (2000) "Describing
    inequality in plant size or fecundity", *Ecology* 81:1139-1142.

    Examples
    --------
    Ascending 10, 30, 60: G = 2(1·10 + 2·30 + 3·60) / (3·100) - 4/3 = 5/3 - 4/3 = 1/3.

    >>> round(gini_coefficient(pd.Series({"A": 10, "B": 30, "C": 60})), 6)
    0.333333
    """
    values = np.sort(_check_counts(counts).to_numpy())
    n = len(values)
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum(ranks * values) / (n * values.sum()) - (n + 1) / n)


def smallest_share_holding(counts: pd.Series, share: float) -> dict:
    """The fewest units that together hold at least ``share`` of the crime.

    Parameters
    ----------
    counts : pandas.Series
        Crime count per unit, indexed by unit name.
    share : float
        Share of all crime, above 0 and at most 1 (e.g. 0.25 or 0.5).

    Returns
    -------
    dict
        ``n_units`` (how many units), ``total_units``, ``share_of_units``
        (``n_units / total_units``), ``share_of_crime`` (the share those units actually
        hold, at least ``share``), ``crime`` (their count), ``total_crime``, ``units``
        (their names, highest first) and ``sentence`` (e.g. ``'2 of 10 units (20.0%) hold
        55.0% of the crime'``).

    Notes
    -----
    Units are taken from the highest count down until their cumulative count reaches
    ``share`` × total: no smaller set can hold as much, since any other set of the
    same size holds at most as much. Ties at the boundary are broken by unit name.

    Examples
    --------
    >>> counts = pd.Series({"A": 10, "B": 30, "C": 60})
    >>> result = smallest_share_holding(counts, 0.5)
    >>> result["n_units"], result["units"], result["share_of_crime"]
    (1, ['C'], 0.6)
    """
    target = _check_share(share)
    lorenz = compute_lorenz(counts)
    total = float(lorenz["count"].sum())
    # Compare counts (not shares) to avoid rounding, with a tolerance of one part in 10^12.
    reached = lorenz["cumulative_count"].to_numpy() >= target * total * (1 - 1e-12)
    n_units = int(np.argmax(reached)) + 1
    chosen = lorenz.iloc[:n_units]
    crime = float(chosen["count"].sum())
    total_units = len(lorenz)
    share_units = n_units / total_units
    share_crime = crime / total
    sentence = (
        f"{n_units} of {total_units} units ({100 * share_units:.1f}%) hold "
        f"{100 * share_crime:.1f}% of the crime"
    )
    return {
        "n_units": n_units,
        "total_units": total_units,
        "share_of_units": share_units,
        "share_of_crime": share_crime,
        "crime": crime,
        "total_crime": total,
        "units": chosen["unit"].tolist(),
        "sentence": sentence,
    }


def top_units(counts: pd.Series, share: float = 0.2) -> pd.DataFrame:
    """The most challenged units: the fewest that hold at least ``share`` of the crime.

    For example, "34 wards are responsible for 20% of all violent crime".

    Parameters
    ----------
    counts : pandas.Series
        Crime count per unit, indexed by unit name.
    share : float, default 0.2
        Share of all crime the listed units must hold together.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit``, highest count first, with columns ``count``, ``share`` (of
        all crime) and ``cumulative_share``.

    Notes
    -----
    The same selection as :func:`smallest_share_holding`.

    Examples
    --------
    >>> counts = pd.Series({"A": 10, "B": 30, "C": 60})
    >>> top_units(counts, share=0.7)  # doctest: +NORMALIZE_WHITESPACE
          count  share  cumulative_share
    unit
    C      60.0    0.6               0.6
    B      30.0    0.3               0.9
    """
    result = smallest_share_holding(counts, share)
    lorenz = compute_lorenz(counts).iloc[: result["n_units"]]
    out = pd.DataFrame(
        {
            "count": lorenz["count"].to_numpy(),
            "share": lorenz["share"].to_numpy(),
            "cumulative_share": lorenz["share_of_crime"].to_numpy(),
        },
        index=pd.Index(lorenz["unit"].to_numpy(), name="unit"),
    )
    return out


def plot_lorenz(counts: pd.Series, title: str, unit_label: str = "units", ax=None):
    """Draw the concentration curve: share of units (highest first) against share of crime.

    Parameters
    ----------
    counts : pandas.Series
        Crime count per unit, indexed by unit name.
    title : str
        Chart title.
    unit_label : str, default "units"
        What the units are, for the axis label (e.g. ``"wards"``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created if omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The dashed diagonal is perfect equality; the Gini coefficient is shown in the legend.
    Dotted guides mark where the curve reaches 20% and 50% of the crime.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_lorenz(pd.Series({"A": 10, "B": 30, "C": 60}), "Example", "wards")
    >>> ax.get_xlabel()
    'Share of wards (highest crime first)'
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    lorenz = compute_lorenz(counts)
    gini = gini_coefficient(counts)
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5.5))
    x = np.r_[0.0, lorenz["share_of_units"].to_numpy()]
    y = np.r_[0.0, lorenz["share_of_crime"].to_numpy()]
    ax.plot(
        x,
        y,
        color="#1f4e79",
        linewidth=2,
        marker="o" if len(x) <= 40 else None,
        markersize=3,
        label=f"Concentration curve (Gini {gini:.2f})",
    )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="Even spread")
    for level in (0.2, 0.5):
        result = smallest_share_holding(counts, level)
        ax.plot(
            [result["share_of_units"]] * 2,
            [0, result["share_of_crime"]],
            color="black",
            linestyle=":",
            linewidth=1,
        )
        ax.annotate(
            f"{result['n_units']} {unit_label}: {100 * result['share_of_crime']:.0f}%",
            (result["share_of_units"], result["share_of_crime"]),
            textcoords="offset points",
            xytext=(6, -12),
            fontsize="small",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"Share of {unit_label} (highest crime first)")
    ax.set_ylabel("Share of crime")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    return ax
