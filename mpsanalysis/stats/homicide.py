"""Homicide victims counted by group, solved rates and young victims, with Wilson
intervals (the table is read by :mod:`mpsanalysis.ingest.sources.homicide`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mpsanalysis.errors import ParameterError, check_columns
from mpsanalysis.ingest.sources.homicide import OLDER_AGE_GROUPS, YOUNG_AGE_GROUPS
from mpsanalysis.stats.rates import add_rate

__all__ = [
    "count_victims_by",
    "compute_solved_rate",
    "young_victims",
]


def _check_by(victims: pd.DataFrame, by: Sequence[str] | None, function: str) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        by = [by]
    by = list(by)
    check_columns(victims, by, f"{function}: the victims table")
    return by


def count_victims_by(victims: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Number of victims by any breakdown of the victims table.

    Parameters
    ----------
    victims : pandas.DataFrame
        The tidy victims table (:func:`read_homicide_victims` or the store's
        ``homicide_victims``).
    by : list of str
        Columns to break down by, e.g. ``["year", "method"]``.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns and ``victims`` (the sum of the count column), sorted.
        Combinations with no victims are not listed.

    Examples
    --------
    >>> v = pd.DataFrame({"year": [2019, 2019, 2020], "method": ["Shooting", "Shooting",
    ...     "Blunt Implement"], "victims": [1, 1, 1]})
    >>> count_victims_by(v, ["year", "method"])
       year           method  victims
    0  2019         Shooting        2
    1  2020  Blunt Implement        1
    """
    check_columns(victims, ["victims"], "count_victims_by: the victims table")
    by = _check_by(victims, by, "count_victims_by")
    if not by:
        raise ParameterError("count_victims_by needs at least one column in `by`")
    return victims.groupby(by, observed=True, as_index=False)["victims"].sum()


def compute_solved_rate(
    victims: pd.DataFrame, by: list[str] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Share of victims whose homicide is solved, with Wilson confidence intervals.

    Parameters
    ----------
    victims : pandas.DataFrame
        The tidy victims table (needs ``is_solved`` and ``victims``).
    by : list of str, optional
        Columns to break down by (e.g. ``["year"]``); all victims when omitted.
    confidence : float
        Confidence level of the interval (default 0.95).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``solved``, ``victims``, ``solved_rate`` (solved / victims),
        ``solved_rate_low`` and ``solved_rate_high``.

    Notes
    -----
    "Solved" is the file's Solved Status at the time of publication: recent cases have
    had less time to be solved, so the latest years' rates are provisional and tend to
    rise in later releases. The interval is the Wilson score interval (Wilson, 1927),
    which stays inside 0 to 1 for small boroughs and rates near 100%.

    Examples
    --------
    9 of 10 victims solved: rate 0.9, Wilson 95% interval 0.596 to 0.982.

    >>> v = pd.DataFrame({"is_solved": [True] * 9 + [False], "victims": 1})
    >>> compute_solved_rate(v).round(3)
       solved  victims  solved_rate  solved_rate_low  solved_rate_high
    0       9       10          0.9            0.596             0.982
    """
    check_columns(victims, ["is_solved", "victims"], "compute_solved_rate")
    by = _check_by(victims, by, "compute_solved_rate")
    data = victims.assign(solved=victims["victims"].where(victims["is_solved"], 0))
    if by:
        table = data.groupby(by, observed=True, as_index=False)[["solved", "victims"]].sum()
    else:
        table = pd.DataFrame(
            {"solved": [int(data["solved"].sum())], "victims": [int(data["victims"].sum())]}
        )
    return add_rate(table, "solved", "victims", "solved_rate", confidence)


def young_victims(victims: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Victims aged under 25 by year, and their share of all victims.

    Parameters
    ----------
    victims : pandas.DataFrame
        The tidy victims table (needs ``year``, ``age_group``, ``victims``).
    confidence : float
        Confidence level of the interval on the share.

    Returns
    -------
    pandas.DataFrame
        year, young_victims (aged under 25), victims (all ages), young_share,
        young_share_low, young_share_high (Wilson).

    Notes
    -----
    The file's age bands are 0 to 12, 13 to 19, 20 to 24, 25 to 34, 35 to 44, 45 to 54,
    55 to 64 and 65 and over; under 25 is exactly :data:`YOUNG_AGE_GROUPS` (0 to 12,
    13 to 19, 20 to 24), with no band straddling the boundary. A band outside this list
    is an error rather than a guess.

    Examples
    --------
    2019: 2 of 3 victims under 25 (13 to 19 and 20 to 24; 25 to 34 is not).

    >>> v = pd.DataFrame({"year": 2019, "age_group": ["13 to 19", "20 to 24", "25 to 34"],
    ...                   "victims": 1})
    >>> young_victims(v)[["year", "young_victims", "victims"]]
       year  young_victims  victims
    0  2019              2        3
    """
    check_columns(victims, ["year", "age_group", "victims"], "young_victims")
    known = set(YOUNG_AGE_GROUPS + OLDER_AGE_GROUPS)
    unknown = sorted(set(victims["age_group"].astype(str)) - known)
    if unknown:
        raise ParameterError(
            f"age group {unknown[0]!r} is not one of the published bands "
            f"({', '.join(YOUNG_AGE_GROUPS + OLDER_AGE_GROUPS)}): cannot tell if it is under 25"
        )
    young = victims["age_group"].isin(YOUNG_AGE_GROUPS)
    data = victims.assign(young_victims=victims["victims"].where(young, 0))
    table = data.groupby("year", as_index=False)[["young_victims", "victims"]].sum()
    return add_rate(table, "young_victims", "victims", "young_share", confidence)
