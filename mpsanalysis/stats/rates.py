"""Rates and their Wilson intervals, for many groups at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpsanalysis.errors import ParameterError
from mpsanalysis.stats.significance import wilson_interval

__all__ = [
    "wilson_bounds",
    "add_rate",
    "compute_rate_per_1000",
]


def wilson_bounds(
    successes: np.ndarray | pd.Series | float,
    trials: np.ndarray | pd.Series | float,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score intervals for many proportions at once. NaN where ``trials`` is 0.

    Notes
    -----
    Each interval is :func:`mpsanalysis.stats.significance.wilson_interval` (Wilson, 1927;
    Newcombe, 1998, method 3), so every report shares one implementation.

    Examples
    --------
    8 of 10 (Newcombe's table gives 0.4902 to 0.9433):

    >>> low, high = wilson_bounds([8, 0], [10, 0])
    >>> [round(float(v), 4) for v in low], [round(float(v), 4) for v in high]
    ([0.4902, nan], [0.9433, nan])
    """
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence {confidence!r} must be between 0 and 1, e.g. 0.95")
    x, n = np.broadcast_arrays(np.asarray(successes, dtype=float), np.asarray(trials, dtype=float))
    low = np.full(x.shape, np.nan)
    high = np.full(x.shape, np.nan)
    for index in np.ndindex(x.shape):
        if n[index] > 0:
            low[index], high[index] = wilson_interval(
                x[index].item(), n[index].item(), confidence=confidence
            )
    return low, high


def add_rate(
    table: pd.DataFrame,
    successes: str,
    trials: str,
    rate: str,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Add ``rate``, ``<rate>_low`` and ``<rate>_high`` (Wilson) columns to a table."""
    out = table.copy()
    x = out[successes].to_numpy(dtype=float)
    n = out[trials].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[rate] = np.where(n > 0, x / n, np.nan)
    low, high = wilson_bounds(x, n, confidence)
    out[f"{rate}_low"] = low
    out[f"{rate}_high"] = high
    return out


def compute_rate_per_1000(counts: pd.Series, population: pd.Series) -> pd.Series:
    """Rate per 1,000 residents: counts / population × 1,000, aligned on the index.

    Parameters
    ----------
    counts : pandas.Series
        Counts indexed by area (e.g. borough_code); NaN stays NaN.
    population : pandas.Series
        Population indexed the same way (extra areas are ignored).

    Returns
    -------
    pandas.Series
        ``rate_per_1000``, indexed like ``counts``.

    Raises
    ------
    ParameterError
        When an area of ``counts`` has no population, a population is zero or negative,
        or a count is negative: never a silent NaN or infinity.

    Notes
    -----
    rate = 1000 × count / population (the HMIC "per 1,000 population" convention). For
    financial-year counts use the mid-year population of the year the financial year
    starts in (FY2019/20: mid-2019), as the ONS does.

    Examples
    --------
    >>> counts = pd.Series({"E09000007": 2_200, "E09000033": 5_100})
    >>> population = pd.Series({"E09000007": 220_000, "E09000033": 255_000, "E09000001": 9_700})
    >>> compute_rate_per_1000(counts, population)
    E09000007    10.0
    E09000033    20.0
    Name: rate_per_1000, dtype: float64
    """
    if not isinstance(counts, pd.Series) or not isinstance(population, pd.Series):
        raise ParameterError("counts and population must both be pandas Series indexed by area")
    if population.index.duplicated().any():
        raise ParameterError(
            f"population has {population.index[population.index.duplicated()][0]!r} twice"
        )
    missing = [k for k in counts.index if k not in population.index]
    if missing:
        raise ParameterError(f"no population for {missing[0]!r}: cannot compute its rate")
    aligned = pd.to_numeric(population.reindex(counts.index), errors="coerce")
    if aligned.isna().any() or (aligned <= 0).any():
        bad = aligned.index[(aligned.isna() | (aligned <= 0)).to_numpy()][0]
        raise ParameterError(f"population for {bad!r} is {population[bad]!r}: must be positive")
    values = pd.to_numeric(counts, errors="coerce")
    if (values < 0).any():
        raise ParameterError(f"count for {values.idxmin()!r} is negative: {values.min()}")
    return (values / aligned * 1000).rename("rate_per_1000")
