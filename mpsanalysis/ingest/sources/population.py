"""Population: borough totals by year (GLA/ONS) and ONS LSOA estimates, and rates.

Two sources:

* ``london-datastore/population/housing-density-borough.csv`` (GLA "Land Area and
  Population Density"): population of the 33 boroughs, London and its halves,
  1999-2050. KNOWN DEFECT for our purposes: only 1999-2010 are ONS mid-year estimates
  ("ONS MYE"); 2011-2050 are GLA *projections*. Every row carries ``is_projection`` and
  the build log warns.
* ``ons/lsoa-population-2019-2020``: ONS small-area mid-year estimates for mid-2019 and
  mid-2020 by 2011 LSOA, which sum to borough estimates. The build compares those sums
  with the borough file and reports the difference.
"""

from __future__ import annotations

import re
import warnings as _warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import boroughs
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest import store
from mpsanalysis.ingest.sources import _common

__all__ = [
    "BOROUGH_POPULATION_COLUMNS",
    "LSOA_POPULATION_COLUMNS",
    "read_borough_population_file",
    "read_borough_population",
    "read_lsoa_population",
    "compare_lsoa_totals",
    "build_borough_population",
    "build_lsoa_population",
]

#: Columns of the ``borough_population`` table (and of :func:`read_borough_population`).
BOROUGH_POPULATION_COLUMNS = [
    "borough_code",
    "borough_name",
    "year",
    "population",
    "source",
    "is_projection",
]
#: Columns of the ``lsoa_population`` table.
LSOA_POPULATION_COLUMNS = ["lsoa_code", "lsoa_name", "borough_code", "year", "population"]

_ESTIMATE = "ONS MYE"
_LONDON_CODE = "E12000007"
_GSS = re.compile(r"^E(09|12|13)\d{6}$")
_BOROUGH_REQUIRED = ["Code", "Name", "Year", "Source", "Population"]
_LSOA_REQUIRED = ["LSOA11CD", "LSOA11NM", "LAD11CD", "LAD11NM", "Persons_All-Ages"]


def _read_area_population(path: Path) -> pd.DataFrame:
    """All rows of the housing-density file (boroughs, London, inner/outer), validated."""
    name = path.name
    frame = _common.read_csv_checked(path, _BOROUGH_REQUIRED, what="borough population file")
    _common.check_not_blank(frame, _BOROUGH_REQUIRED, name)
    _common.raise_at_first(
        ~frame["Code"].str.match(_GSS),
        frame,
        "Code",
        "Code {value!r} is not a borough (E09), region (E12) or London part (E13) code",
        name,
    )
    year = _common.parse_counts(frame, ["Year"], name, what="year")[:, 0]
    _common.raise_at_first(
        pd.Series((year < 1900) | (year > 2100), index=frame.index),
        frame,
        "Year",
        "Year {value!r} is not a year",
        name,
    )
    population = _common.parse_counts(frame, ["Population"], name, what="population")[:, 0]
    is_borough = frame["Code"].str.startswith("E09")
    canonical = frame["Name"].map(
        {n: boroughs.normalise_borough_name(n) for n in frame["Name"].unique()}
    )
    expected = canonical.map({n: boroughs.lookup_borough_code(n) for n in set(canonical.dropna())})
    _common.raise_at_first(
        is_borough & canonical.isna(),
        frame,
        "Name",
        "unknown borough {value!r}",
        name,
    )
    _common.raise_at_first(
        is_borough & expected.ne(frame["Code"]),
        frame,
        "Code",
        "Code {value!r} does not match the borough name on the same line",
        name,
    )
    out = pd.DataFrame(
        {
            "code": frame["Code"],
            "name": frame["Name"].where(~is_borough, canonical),
            "year": year,
            "population": population,
            "source": frame["Source"],
        }
    )
    duplicated = out.duplicated(["code", "year"], keep=False)
    if duplicated.any():
        lines = [int(i) for i in out.index[duplicated]]
        raise DataValidationError(
            f"{out.loc[lines[0], 'code']} {out.loc[lines[0], 'year']} appears twice "
            f"(lines {', '.join(map(str, lines[:4]))})",
            file=name,
            row=lines[1],
        )
    return out


def read_borough_population_file(path: str | Path) -> pd.DataFrame:
    """Read and validate the GLA borough population file (housing-density-borough.csv).

    Parameters
    ----------
    path : str or pathlib.Path
        The London Datastore "Land Area and Population Density" borough CSV.

    Returns
    -------
    pandas.DataFrame
        The 33 boroughs only, columns :data:`BOROUGH_POPULATION_COLUMNS`: borough_code,
        borough_name (canonical), year, population (int), source (as published) and
        is_projection (True unless the source is "ONS MYE").

    Raises
    ------
    DataValidationError
        Missing column, blank cell, malformed code, unknown borough or a code that does
        not match the name, a year or population that is not a whole number (or a
        negative population), a code and year given twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "housing-density-borough.csv"
    >>> _ = f.write_text("Code,Name,Year,Source,Population\\n"
    ...     "E09000007,Camden,2010,ONS MYE,220087\\n"
    ...     "E09000007,Camden,2011,GLA Population Projections,222000\\n")
    >>> read_borough_population_file(f)[["year", "population", "is_projection"]]
       year  population  is_projection
    0  2010      220087          False
    1  2011      222000           True
    """
    path = Path(path)
    rows = _read_area_population(path)
    rows = rows[rows["code"].str.startswith("E09")]
    table = pd.DataFrame(
        {
            "borough_code": rows["code"],
            "borough_name": rows["name"],
            "year": rows["year"].astype("int64"),
            "population": rows["population"].astype("int64"),
            "source": rows["source"],
            "is_projection": rows["source"].ne(_ESTIMATE),
        }
    )
    return table.sort_values(["year", "borough_code"]).reset_index(drop=True)


def read_borough_population(
    year: int, directory: Path | None = None, prefer_estimates: bool = False
) -> pd.DataFrame:
    """Borough populations for a year, from the processed store.

    Parameters
    ----------
    year : int
        The (mid-)year wanted, e.g. 2019.
    directory : pathlib.Path, optional
        The store folder (default ``data/processed``).
    prefer_estimates : bool
        When True and the store's ``lsoa_population`` has the year, return ONS
        estimates (LSOA sums) instead of the GLA figure, which after 2010 is a
        projection.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BOROUGH_POPULATION_COLUMNS`. When the year is not in the table,
        the nearest available year (the earlier on a tie) is returned, ``year`` says
        which, ``.attrs["note"]`` explains, and a ``UserWarning`` is issued.

    Raises
    ------
    ParameterError
        When ``year`` is not an integer.
    DataValidationError
        When the store has no ``borough_population`` table (run ``mpsanalysis build``).
    """
    if isinstance(year, bool) or not isinstance(year, int | np.integer):
        raise ParameterError(f"year {year!r} must be a whole year, e.g. 2019")
    year = int(year)
    if prefer_estimates and store.table_exists("lsoa_population", directory):
        lsoa = store.read_table("lsoa_population", directory=directory)
        if year in set(lsoa["year"]):
            sums = lsoa[lsoa["year"] == year].groupby("borough_code")["population"].sum()
            names = boroughs.borough_table().set_index("borough_code")["borough_name"]
            out = pd.DataFrame(
                {
                    "borough_code": sums.index,
                    "borough_name": sums.index.map(names),
                    "year": year,
                    "population": sums.to_numpy().astype("int64"),
                    "source": "ONS mid-year estimate (sum of LSOA estimates)",
                    "is_projection": False,
                }
            )
            return out[BOROUGH_POPULATION_COLUMNS]
    table = store.read_table("borough_population", directory=directory)
    available = sorted(set(table["year"]))
    if not available:
        raise DataValidationError("the borough_population table is empty: rebuild the store")
    chosen = year if year in available else min(available, key=lambda y: (abs(y - year), y))
    out = table[table["year"] == chosen][BOROUGH_POPULATION_COLUMNS].reset_index(drop=True)
    if chosen != year:
        note = (
            f"no borough population for {year}: using {chosen}, the nearest year available "
            f"({available[0]} to {available[-1]})"
        )
        out.attrs["note"] = note
        _warnings.warn(note, UserWarning, stacklevel=2)
    return out


def read_lsoa_population(path: str | Path, year: int | None = None) -> pd.DataFrame:
    """Read and validate an ONS LSOA mid-year population file (London, 2011 LSOAs).

    Parameters
    ----------
    path : str or pathlib.Path
        E.g. ``london-mid2019-pop.csv``.
    year : int, optional
        The mid-year; read from the file name (``mid2019``) when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LSOA_POPULATION_COLUMNS` (population = persons, all ages).

    Raises
    ------
    DataValidationError
        Missing column, malformed LSOA code, unknown borough or a borough code that does
        not match its name, a negative or non-integer count, an LSOA given twice, age
        bands that do not add up to all ages, males and females that do not add up to
        persons, or no year in the file name when ``year`` is not given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "london-mid2019-pop.csv"
    >>> _ = f.write_text("LSOA11CD,LSOA11NM,LAD11CD,LAD11NM,Persons_All-Ages\\n"
    ...     "E01000907,Camden 001A,E09000007,Camden,1500\\n")
    >>> read_lsoa_population(f)
       lsoa_code    lsoa_name borough_code  year  population
    0  E01000907  Camden 001A    E09000007  2019        1500
    """
    path = Path(path)
    name = path.name
    if year is None:
        match = re.search(r"mid-?(\d{4})", name)
        if not match:
            raise DataValidationError(
                "cannot tell the mid-year from the file name (expected e.g. 'mid2019')",
                file=name,
            )
        year = int(match.group(1))
    frame = _common.read_csv_checked(path, _LSOA_REQUIRED, what="ONS LSOA population file")
    _common.check_not_blank(frame, _LSOA_REQUIRED[:4], name)
    _common.check_lsoa_boroughs(frame, name)
    count_columns = [c for c in frame.columns if c.split("_")[0] in ("Persons", "Males", "Females")]
    counts = pd.DataFrame(
        _common.parse_counts(frame, count_columns, name, what="population"),
        index=frame.index,
        columns=count_columns,
    )
    for sex in ("Persons", "Males", "Females"):
        bands = [c for c in count_columns if c.startswith(f"{sex}_") and c != f"{sex}_All-Ages"]
        if bands and f"{sex}_All-Ages" in counts:
            _common.raise_at_first(
                counts[bands].sum(axis=1).ne(counts[f"{sex}_All-Ages"]),
                frame,
                f"{sex}_All-Ages",
                f"{sex}_All-Ages {{value!r}} is not the sum of the {sex.lower()} age bands",
                name,
            )
    if {"Males_All-Ages", "Females_All-Ages"} <= set(counts):
        _common.raise_at_first(
            (counts["Males_All-Ages"] + counts["Females_All-Ages"]).ne(counts["Persons_All-Ages"]),
            frame,
            "Persons_All-Ages",
            "Persons_All-Ages {value!r} is not males plus females",
            name,
        )
    duplicated = frame["LSOA11CD"].duplicated(keep=False)
    if duplicated.any():
        lines = [int(i) for i in frame.index[duplicated]]
        raise DataValidationError(
            f"LSOA {frame.loc[lines[0], 'LSOA11CD']} appears twice (lines {lines[0]}, {lines[1]})",
            file=name,
            row=lines[1],
            column="LSOA11CD",
        )
    table = pd.DataFrame(
        {
            "lsoa_code": frame["LSOA11CD"],
            "lsoa_name": frame["LSOA11NM"],
            "borough_code": frame["LAD11CD"],
            "year": int(year),
            "population": counts["Persons_All-Ages"].astype("int64"),
        }
    )
    return table[LSOA_POPULATION_COLUMNS].reset_index(drop=True)


def compare_lsoa_totals(lsoa: pd.DataFrame, borough: pd.DataFrame) -> pd.DataFrame:
    """LSOA sums per borough and year against the borough table's figure.

    Parameters
    ----------
    lsoa : pandas.DataFrame
        The ``lsoa_population`` table.
    borough : pandas.DataFrame
        The ``borough_population`` table.

    Returns
    -------
    pandas.DataFrame
        borough_code, borough_name, year, lsoa_total, borough_population, source (of the
        borough figure), is_projection, difference (borough minus LSOA sum),
        pct_difference (of the LSOA sum). Years absent from ``borough`` have missing
        borough figures.

    Examples
    --------
    >>> lsoa = pd.DataFrame({"borough_code": "E09000007", "year": 2019,
    ...                      "population": [1500, 1700]})
    >>> borough = pd.DataFrame({"borough_code": ["E09000007"], "borough_name": ["Camden"],
    ...     "year": [2019], "population": [3300], "source": ["GLA"], "is_projection": [True]})
    >>> compare_lsoa_totals(lsoa, borough)[["lsoa_total", "borough_population", "difference"]]
       lsoa_total  borough_population  difference
    0        3200                3300         100
    """
    sums = lsoa.groupby(["borough_code", "year"], as_index=False)["population"].sum()
    sums = sums.rename(columns={"population": "lsoa_total"})
    merged = sums.merge(
        borough.rename(columns={"population": "borough_population"}),
        on=["borough_code", "year"],
        how="left",
    )
    merged["difference"] = merged["borough_population"] - merged["lsoa_total"]
    merged["pct_difference"] = merged["difference"] / merged["lsoa_total"] * 100
    columns = [
        "borough_code",
        "borough_name",
        "year",
        "lsoa_total",
        "borough_population",
        "source",
        "is_projection",
        "difference",
        "pct_difference",
    ]
    return merged[columns]


def build_borough_population(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """The ``borough_population`` table from the London Datastore population folder.

    The log warns that the figures after 2010 are GLA projections (the known defect),
    and reports how far the 33 boroughs' sum is from the file's London total.
    """
    folder = Path(folder)
    path = folder / "housing-density-borough.csv"
    if not path.exists():
        raise DataValidationError(f"no housing-density-borough.csv in {folder.name}/")
    rows = _read_area_population(path)
    table = read_borough_population_file(path)
    warnings: list[str] = []
    estimates = table.loc[~table["is_projection"], "year"]
    projections = table.loc[table["is_projection"], "year"]
    if len(projections):
        sources = ", ".join(sorted(set(table.loc[table["is_projection"], "source"])))
        warnings.append(
            f"{path.name}: only {estimates.min()}-{estimates.max()} are ONS mid-year estimates; "
            f"{projections.min()}-{projections.max()} are {sources!r}, not ONS estimates "
            "(flagged is_projection). Rates for those years use projected populations; prefer "
            "ONS estimates where available (lsoa_population for 2019 and 2020)."
        )
    london = rows[rows["code"].eq(_LONDON_CODE)].drop_duplicates("year").set_index("year")
    sums = table.groupby("year")["population"].sum()
    common = sums.index.intersection(london.index)
    if len(common):
        gap = (sums[common] - london.loc[common, "population"]).abs()
        if gap.max() > 0:
            warnings.append(
                f"{path.name}: the 33 boroughs add up to within {int(gap.max()):,} of the "
                f"London total in every year ({int((gap > 0).sum())} years differ, by rounding)."
            )
    names = rows.loc[rows["code"].eq(_LONDON_CODE), "name"].unique()
    if len(names) > 1:
        warnings.append(
            f"{path.name}: {_LONDON_CODE} is named {' and '.join(map(repr, sorted(names)))} in "
            "different years; only the code is used."
        )
    tables = {"borough_population": table}
    return tables, _common.make_log("borough_population", tables, [path], warnings)


def build_lsoa_population(
    folder: str | Path, borough_folder: str | Path | None = None
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The ``lsoa_population`` table from the ONS LSOA files, checked against boroughs.

    Parameters
    ----------
    folder : str or pathlib.Path
        ``raw_root / "ons" / "lsoa-population-2019-2020"``.
    borough_folder : str or pathlib.Path, optional
        The London Datastore population folder: when given, each year's LSOA sums are
        compared with its borough figures (table ``lsoa_population_check``).
    """
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*.csv") if not p.name.startswith("."))
    if not files:
        raise DataValidationError(f"no LSOA population files (*.csv) in {folder.name}/")
    lsoa = pd.concat([read_lsoa_population(p) for p in files], ignore_index=True)
    duplicated = lsoa.duplicated(["lsoa_code", "year"])
    if duplicated.any():
        raise DataValidationError(
            f"LSOA {lsoa.loc[duplicated, 'lsoa_code'].iloc[0]} has two populations for "
            f"{lsoa.loc[duplicated, 'year'].iloc[0]} (two files for one year?)"
        )
    warnings: list[str] = []
    tables = {"lsoa_population": lsoa}
    totals = lsoa.groupby("year")["population"].sum()
    counts = lsoa.groupby("year")["lsoa_code"].nunique()
    if borough_folder is not None:
        borough, _ = build_borough_population(borough_folder)
        check = compare_lsoa_totals(lsoa, borough["borough_population"])
        tables["lsoa_population_check"] = check
        for year, group in check.groupby("year"):
            if group["borough_population"].isna().all():
                warnings.append(f"no borough figure for {year} to check the LSOA sums against.")
                continue
            diff = int(group["difference"].sum())
            worst = group.loc[group["pct_difference"].abs().idxmax()]
            kind = "GLA projection" if group["is_projection"].any() else "ONS estimate"
            warnings.append(
                f"ONS mid-{year} LSOA estimates ({counts[year]:,} LSOAs) sum to "
                f"{int(totals[year]):,} for the {group['borough_code'].nunique()} boroughs; the "
                f"borough file's {kind} for {year} is {int(group['borough_population'].sum()):,} "
                f"({diff:+,}, {diff / totals[year]:+.1%}); the largest borough difference is "
                f"{worst['borough_name']} ({int(worst['difference']):+,}, "
                f"{worst['pct_difference']:+.1f}%). See table lsoa_population_check."
            )
    return tables, _common.make_log(
        "lsoa_population", tables, files, warnings, main_table="lsoa_population"
    )
