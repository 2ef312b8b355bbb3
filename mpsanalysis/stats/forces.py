"""The MPS against its most similar forces: rates per population and differences
from the most-similar-force average (tables read by
:mod:`mpsanalysis.ingest.sources.home_office`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import periods
from mpsanalysis.errors import ParameterError
from mpsanalysis.ingest import store
from mpsanalysis.ingest.sources.home_office import MPS_SIMILAR_FORCES, normalise_force_name

__all__ = [
    "compare_similar_forces",
]


def _match_offences(
    crime: pd.DataFrame, offence_filter: str | Sequence[str] | Callable[[pd.DataFrame], pd.Series]
) -> pd.Series:
    if callable(offence_filter):
        mask = pd.Series(offence_filter(crime), index=crime.index)
        if mask.dtype != bool:
            raise ParameterError("offence_filter must return a True/False value per row")
        return mask
    wanted = [offence_filter] if isinstance(offence_filter, str) else list(offence_filter)
    if not wanted or not all(isinstance(w, str) for w in wanted):
        raise ParameterError(
            "offence_filter must be an offence code, description, subgroup or group name, a "
            "list of them, or a function of the force_crime table"
        )
    keys = {w.casefold().strip() for w in wanted}
    mask = pd.Series(False, index=crime.index)
    for column in ("offence_code", "offence_description", "offence_subgroup", "offence_group"):
        mask |= crime[column].astype(str).str.casefold().isin(keys)
    return mask


def compare_similar_forces(
    offence_filter: str | Sequence[str] | Callable[[pd.DataFrame], pd.Series],
    force: str = "Metropolitan Police",
    similar: Sequence[str] = MPS_SIMILAR_FORCES,
    year: str = "2019/20",
    per: int = 1000,
    *,
    force_crime: pd.DataFrame | None = None,
    force_population: pd.DataFrame | None = None,
    directory: Path | None = None,
) -> pd.DataFrame:
    """Offences per 1,000 population: a force, its most similar forces and their average.

    Parameters
    ----------
    offence_filter : str, list of str, or callable
        Which offences: a Home Office offence code ("1"), description ("Murder"),
        subgroup ("Homicide") or group ("Robbery"), matched without regard to case, or a
        list of them (their union), or a function returning a True/False Series for the
        ``force_crime`` table.
    force : str
        The force reported on (any spelling :func:`normalise_force_name` accepts).
    similar : sequence of str
        Its comparison group (default HMIC's MSF group for the MPS).
    year : str
        Financial year, e.g. "2019/20".
    per : int
        Rate base (1,000 as in HMIC's tables; 10,000 for rare offences).
    force_crime, force_population : pandas.DataFrame, optional
        The tables (default: read from the store).
    directory : pathlib.Path, optional
        The store folder.

    Returns
    -------
    pandas.DataFrame
        One row for ``force`` (role "force"), one per similar force ("similar"), then
        "msf_average" (unweighted mean of the similar forces' rates, as HMIC's "MSF ave.")
        and "msf_pooled" (their offences over their population). Columns: force_name,
        role, financial_year, offences, population, rate, per, pct_vs_msf_average (the
        rate's difference from the MSF average, in %).

    Raises
    ------
    ParameterError
        Unknown force, a force in its own group, an empty group, no data for the year,
        an offence filter that matches nothing, or a force without a population for the
        financial year's starting mid-year.

    Notes
    -----
    rate = offences in the financial year / population × ``per``, with the mid-year
    population of the year the financial year starts in (FY2019/20: mid-2019), as in
    ONS and HMIC tables. The ``force_population`` table's ``population`` (corrected where
    an ONS check exists) is used; check ``is_suspect`` there before relying on a rate.

    Examples
    --------
    >>> crime = pd.DataFrame({"financial_year": "2019/20", "quarter": 1,
    ...     "force_name": ["Metropolitan Police", "Merseyside", "West Midlands"],
    ...     "offence_code": "1", "offence_description": "Murder",
    ...     "offence_group": "Violence against the person", "offence_subgroup": "Homicide",
    ...     "count": [90.0, 10.0, 30.0]})
    >>> pop = pd.DataFrame({"force_name": ["Metropolitan Police", "Merseyside", "West Midlands"],
    ...     "year": 2019, "population": [9_000_000, 1_000_000, 3_000_000]})
    >>> compare_similar_forces("Homicide", similar=["Merseyside", "West Midlands"],
    ...     per=10_000, force_crime=crime, force_population=pop)[["force_name", "rate"]]
                force_name  rate
    0  Metropolitan Police   0.1
    1           Merseyside   0.1
    2        West Midlands   0.1
    3          MSF average   0.1
    4           MSF pooled   0.1
    """
    if not isinstance(per, int | np.integer) or per <= 0:
        raise ParameterError(f"per {per!r} must be a positive whole number such as 1000")
    start = periods.parse_financial_year(year, "year")
    label = periods.financial_year_label(start)
    subject = normalise_force_name(force)
    if subject is None:
        raise ParameterError(f"force {force!r} is not a police force in England and Wales")
    if isinstance(similar, str):
        similar = [similar]
    group = []
    for name in similar:
        canonical = normalise_force_name(name)
        if canonical is None:
            raise ParameterError(f"similar force {name!r} is not a police force")
        if canonical == subject:
            raise ParameterError(f"{subject} cannot be in its own comparison group")
        group.append(canonical)
    if not group:
        raise ParameterError("the comparison group `similar` is empty")

    crime = (
        force_crime
        if force_crime is not None
        else store.read_table("force_crime", directory=directory)
    )
    pop = (
        force_population
        if force_population is not None
        else store.read_table("force_population", directory=directory)
    )
    crime = crime[crime["financial_year"] == label]
    if crime.empty:
        raise ParameterError(f"no recorded crime for {label} in the force_crime table")
    mask = _match_offences(crime, offence_filter)
    if not mask.any():
        raise ParameterError(
            f"offence_filter {offence_filter!r} matches no offence code, description, "
            "subgroup or group"
        )
    offences = crime[mask].groupby("force_name")["count"].sum()
    population = pop[pop["year"] == start].set_index("force_name")["population"]
    rows = []
    for name, role in [(subject, "force"), *((g, "similar") for g in group)]:
        if name not in population.index:
            raise ParameterError(f"no mid-{start} population for {name} in force_population")
        count = float(offences.get(name, 0.0))
        rows.append(
            {
                "force_name": name,
                "role": role,
                "offences": count,
                "population": float(population[name]),
                "rate": count / float(population[name]) * per,
            }
        )
    table = pd.DataFrame(rows)
    similar_rows = table[table["role"] == "similar"]
    average = similar_rows["rate"].mean()
    pooled_offences = similar_rows["offences"].sum()
    pooled_population = similar_rows["population"].sum()
    table = pd.concat(
        [
            table,
            pd.DataFrame(
                [
                    {
                        "force_name": "MSF average",
                        "role": "msf_average",
                        "offences": np.nan,
                        "population": np.nan,
                        "rate": average,
                    },
                    {
                        "force_name": "MSF pooled",
                        "role": "msf_pooled",
                        "offences": pooled_offences,
                        "population": pooled_population,
                        "rate": pooled_offences / pooled_population * per,
                    },
                ]
            ),
        ],
        ignore_index=True,
    )
    table["financial_year"] = label
    table["per"] = int(per)
    table["pct_vs_msf_average"] = (table["rate"] - average) / average * 100 if average else np.nan
    columns = [
        "force_name",
        "role",
        "financial_year",
        "offences",
        "population",
        "rate",
        "per",
        "pct_vs_msf_average",
    ]
    return table[columns]
