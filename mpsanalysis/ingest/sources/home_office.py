"""Home Office police recorded crime by force, and force populations: similar-force tables.

Two sources:

* ``home-office/prc-pfa-2019-20``: Home Office "Police recorded crime and outcomes open
  data tables", FY2019/20 by quarter, force and Home Office offence code (all 43
  territorial forces, British Transport Police and the national fraud bodies);
* ``home-office/force-population-knife-crime/population_policeforces.csv``: mid-year
  population by police force area, 2009-2019, compiled by a third party from ONS
  estimates (English forces only).

:func:`compare_similar_forces` reproduces the layout of HMIC's most-similar-force (MSF)
tables: offences per 1,000 population for a force, each of its similar forces, and
the similar forces' average. The group is a parameter; the default is the MPS group of
the 2008 HMIC inspection (Greater Manchester, Merseyside, West Midlands, West Yorkshire).

KNOWN DEFECT of the compiled population file: its Metropolitan Police figure is about
6% below the ONS estimates for the 32 London boroughs (it misses boroughs merged in the
compiler's geography). :func:`build_force_population` detects this by comparing the
Met and the City of London with borough sums from ONS sources when they are supplied,
replaces the figure where an ONS check exists (keeping the published value beside it)
and flags the other years as suspect.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import periods
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest.sources import _common

__all__ = [
    "TERRITORIAL_FORCES",
    "OTHER_RECORDERS",
    "MPS_SIMILAR_FORCES",
    "FORCE_CRIME_COLUMNS",
    "FORCE_POPULATION_COLUMNS",
    "normalise_force_name",
    "read_prc_offences",
    "read_force_population",
    "check_force_populations",
    "build_force_crime",
    "build_force_population",
]

#: The 43 territorial police forces of England and Wales (canonical spellings).
TERRITORIAL_FORCES = (
    "Avon and Somerset", "Bedfordshire", "Cambridgeshire", "Cheshire", "City of London",
    "Cleveland", "Cumbria", "Derbyshire", "Devon and Cornwall", "Dorset", "Durham",
    "Dyfed-Powys", "Essex", "Gloucestershire", "Greater Manchester", "Gwent", "Hampshire",
    "Hertfordshire", "Humberside", "Kent", "Lancashire", "Leicestershire", "Lincolnshire",
    "Merseyside", "Metropolitan Police", "Norfolk", "North Wales", "North Yorkshire",
    "Northamptonshire", "Northumbria", "Nottinghamshire", "South Wales", "South Yorkshire",
    "Staffordshire", "Suffolk", "Surrey", "Sussex", "Thames Valley", "Warwickshire",
    "West Mercia", "West Midlands", "West Yorkshire", "Wiltshire",
)  # fmt: skip
#: Recorders in the PRC tables that are not territorial forces.
OTHER_RECORDERS = ("British Transport Police", "Action Fraud", "CIFAS", "UK Finance")
#: HMIC's most similar forces for the MPS (2008 major crime inspection).
MPS_SIMILAR_FORCES = ("Greater Manchester", "Merseyside", "West Midlands", "West Yorkshire")

#: Columns of the ``force_crime`` table.
FORCE_CRIME_COLUMNS = [
    "financial_year",
    "quarter",
    "force_name",
    "offence_code",
    "offence_description",
    "offence_group",
    "offence_subgroup",
    "count",
    "source_file",
]
#: Columns of the ``force_population`` table.
FORCE_POPULATION_COLUMNS = [
    "force_name",
    "year",
    "population",
    "population_published",
    "population_source",
    "is_corrected",
    "is_suspect",
]

_ALIASES = {
    "london city of": "City of London",
    "city of london": "City of London",
    "metropolitan police service": "Metropolitan Police",
    "metropolitan": "Metropolitan Police",
    "northumberland": "Northumbria",  # the knife-crime compilation's misspelling
    "btp": "British Transport Police",
}
_KNOWN = {f.casefold(): f for f in (*TERRITORIAL_FORCES, *OTHER_RECORDERS)}
_PRC_FIELDS = {
    "Financial Year": "financial_year",
    "Financial Quarter": "quarter",
    "Force Name": "force_name",
    "Offence Description": "offence_description",
    "Offence Group": "offence_group",
    "Offence Subgroup": "offence_subgroup",
    "Offence Code": "offence_code",
    "Number of Offences": "count",
}
_PUBLISHED = "ONS mid-year estimate as compiled in population_policeforces.csv"


def normalise_force_name(name: str) -> str | None:
    """The canonical name of a police force (or other PRC recorder), or None.

    Tolerates ``&`` for "and", "London, City of", case and spaces, and the knife-crime
    file's "Northumberland".

    Examples
    --------
    >>> normalise_force_name("Avon & Somerset"), normalise_force_name("London, City of")
    ('Avon and Somerset', 'City of London')
    >>> normalise_force_name("Narnia Constabulary") is None
    True
    """
    key = re.sub(r"\s+", " ", str(name).replace("&", " and ").replace(",", " ")).strip()
    key = key.casefold()
    return _KNOWN.get(key) or _ALIASES.get(key)


def read_prc_offences(path: str | Path) -> pd.DataFrame:
    """Read and validate the Home Office PRC force-area offence counts (quarterly).

    Parameters
    ----------
    path : str or pathlib.Path
        The open data table (one row per financial year, quarter, force, offence code).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FORCE_CRIME_COLUMNS`; ``force_name`` canonical (e.g. "Avon and
        Somerset", "City of London"), ``count`` float64 as published.

    Raises
    ------
    DataValidationError
        Missing column, blank cell, malformed financial year or quarter, unknown force,
        a count that is not a number, a force, quarter and offence code given twice.

    Notes
    -----
    Counts are kept as published: a few quarterly counts are negative (as published;
    presumably corrections to earlier quarters) and UK Finance's fraud counts are not
    whole numbers. :func:`build_force_crime` reports both.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "prc.csv"
    >>> _ = f.write_text("Financial Year,Financial Quarter,Force Name,Offence Description,"
    ...     "Offence Group,Offence Subgroup,Offence Code,Number of Offences\\n"
    ...     "2019/20,1,Avon & Somerset,Murder,Violence against the person,Homicide,1,3.0\\n")
    >>> read_prc_offences(f)[["financial_year", "quarter", "force_name", "count"]]
      financial_year  quarter         force_name  count
    0        2019/20        1  Avon and Somerset    3.0
    """
    path = Path(path)
    name = path.name
    frame = _common.read_csv_checked(path, list(_PRC_FIELDS), what="police recorded crime table")
    _common.check_not_blank(frame, list(_PRC_FIELDS), name)
    labels = frame["Financial Year"].unique()
    valid = {}
    for label in labels:
        try:
            valid[label] = periods.parse_financial_year(label) is not None
        except ParameterError:
            valid[label] = False
    _common.raise_at_first(
        ~frame["Financial Year"].map(valid),
        frame,
        "Financial Year",
        "Financial Year {value!r} is not a financial year (e.g. 2019/20)",
        name,
    )
    _common.raise_at_first(
        ~frame["Financial Quarter"].isin(["1", "2", "3", "4"]),
        frame,
        "Financial Quarter",
        "Financial Quarter {value!r} is not 1 to 4",
        name,
    )
    forces = frame["Force Name"].map(
        {f: normalise_force_name(f) for f in frame["Force Name"].unique()}
    )
    _common.raise_at_first(
        forces.isna(), frame, "Force Name", "unknown police force {value!r}", name
    )
    counts = _common.parse_counts(
        frame, ["Number of Offences"], name, allow_negative=True, allow_fraction=True
    )[:, 0]
    tidy = pd.DataFrame(
        {
            "financial_year": frame["Financial Year"],
            "quarter": frame["Financial Quarter"].astype("int64"),
            "force_name": forces,
            "offence_code": frame["Offence Code"],
            "offence_description": frame["Offence Description"],
            "offence_group": frame["Offence Group"],
            "offence_subgroup": frame["Offence Subgroup"],
            "count": counts,
            "source_file": name,
        }
    )
    keys = ["financial_year", "quarter", "force_name", "offence_code"]
    duplicated = tidy.duplicated(keys, keep=False)
    if duplicated.any():
        lines = [int(i) for i in tidy.index[duplicated]]
        first = tidy.loc[lines[0]]
        raise DataValidationError(
            f"{first['force_name']}, quarter {first['quarter']}, offence {first['offence_code']} "
            f"appears twice (lines {lines[0]}, {lines[1]})",
            file=name,
            row=lines[1],
        )
    return tidy[FORCE_CRIME_COLUMNS].reset_index(drop=True)


def read_force_population(path: str | Path) -> pd.DataFrame:
    """Read and validate the compiled force-area population file (wide: year x force).

    Returns
    -------
    pandas.DataFrame
        Long: ``force_name`` (canonical), ``year``, ``population`` (int), as published.

    Raises
    ------
    DataValidationError
        No ``year`` column, a column that is not a known force, a blank, negative or
        fractional population, a year given twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "population_policeforces.csv"
    >>> _ = f.write_text("year,Merseyside,Metropolitan Police\\n2019,1429910,8390028\\n")
    >>> read_force_population(f)
                force_name  year  population
    0           Merseyside  2019     1429910
    1  Metropolitan Police  2019     8390028
    """
    path = Path(path)
    name = path.name
    frame = _common.read_csv_checked(path, ["year"], what="force population file")
    forces = [c for c in frame.columns if c != "year"]
    for column in forces:
        if normalise_force_name(column) is None:
            raise DataValidationError(
                f"column {column!r} is not a police force", file=name, row=1, column=column
            )
    years = _common.parse_counts(frame, ["year"], name, what="year")[:, 0]
    if pd.Series(years).duplicated().any():
        raise DataValidationError(
            f"year {years[pd.Series(years).duplicated()][0]} appears twice", file=name
        )
    values = _common.parse_counts(frame, forces, name, what="population")
    n_years, n_forces = values.shape
    return pd.DataFrame(
        {
            "force_name": np.tile([normalise_force_name(f) for f in forces], n_years),
            "year": np.repeat(years, n_forces).astype("int64"),
            "population": values.reshape(-1).astype("int64"),
        }
    ).sort_values(["force_name", "year"], ignore_index=True)


def check_force_populations(
    published: pd.DataFrame, reference: pd.DataFrame, tolerance: float = 0.01
) -> pd.DataFrame:
    """Compare published force populations with independent ONS figures.

    Parameters
    ----------
    published : pandas.DataFrame
        ``force_name``, ``year``, ``population`` (:func:`read_force_population`).
    reference : pandas.DataFrame
        ``force_name``, ``year``, ``population``, ``source``: e.g. the Met as the sum of
        ONS estimates for the 32 London boroughs.
    tolerance : float
        Relative difference above which the published figure is wrong (default 1%).

    Returns
    -------
    pandas.DataFrame
        force_name, year, published, reference, source, difference (published minus
        reference), relative_difference, is_wrong.

    Examples
    --------
    >>> pub = pd.DataFrame({"force_name": ["Metropolitan Police"], "year": [2019],
    ...                     "population": [8_390_028]})
    >>> ref = pd.DataFrame({"force_name": ["Metropolitan Police"], "year": [2019],
    ...                     "population": [8_952_268], "source": ["ONS"]})
    >>> check_force_populations(pub, ref)[["difference", "is_wrong"]]
       difference  is_wrong
    0     -562240      True
    """
    merged = published.merge(
        reference.rename(columns={"population": "reference"}), on=["force_name", "year"]
    ).rename(columns={"population": "published"})
    merged["difference"] = merged["published"] - merged["reference"]
    merged["relative_difference"] = merged["difference"] / merged["reference"]
    merged["is_wrong"] = merged["relative_difference"].abs() > tolerance
    columns = [
        "force_name",
        "year",
        "published",
        "reference",
        "source",
        "difference",
        "relative_difference",
        "is_wrong",
    ]
    return merged[columns]


def build_force_crime(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """The ``force_crime`` table from the PRC folder, with its quirks reported."""
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*.csv") if not p.name.startswith("."))
    if not files:
        raise DataValidationError(f"no police recorded crime tables (*.csv) in {folder.name}/")
    crime = pd.concat([read_prc_offences(p) for p in files], ignore_index=True)
    warnings: list[str] = []
    years = sorted(crime["financial_year"].unique())
    warnings.append(
        f"only financial year(s) {', '.join(years)} are supplied: no trend or year-on-year "
        "comparison between forces is possible from this table."
    )
    negative = crime[crime["count"] < 0]
    if len(negative):
        annual = crime.groupby(["financial_year", "force_name", "offence_code"])["count"].sum()
        below = annual[annual < 0]
        example = ", ".join(f"{f} {c} ({v:+.0f})" for (_, f, c), v in below.head(3).items())
        warnings.append(
            f"{len(negative)} quarterly counts are negative (as published; presumably "
            "corrections to earlier quarters), so quarterly figures can mislead; use annual "
            f"totals. {len(below)} force/offence annual total(s) remain negative"
            + (f": {example}." if len(below) else ".")
        )
    fractional = crime[crime["count"] % 1 != 0]
    if len(fractional):
        who = ", ".join(sorted(fractional["force_name"].unique()))
        warnings.append(
            f"{len(fractional)} counts are not whole numbers ({who}: estimated fraud counts)."
        )
    others = sorted(set(crime["force_name"]) - set(TERRITORIAL_FORCES))
    if others:
        warnings.append(
            f"the table includes {len(others)} recorders that are not territorial forces "
            f"({', '.join(others)}): leave them out of force comparisons and totals by area."
        )
    tables = {"force_crime": crime}
    return tables, _common.make_log("force_crime", tables, files, warnings)


def _reference_populations(
    lsoa_population_folder: Path | None, borough_population_folder: Path | None
) -> pd.DataFrame:
    """Met (32 boroughs) and City of London populations from ONS sources, by year."""
    from mpsanalysis.ingest.sources import population

    frames = []
    if lsoa_population_folder is not None:
        tables, _ = population.build_lsoa_population(lsoa_population_folder)
        lsoa = tables["lsoa_population"]
        frames.append(
            lsoa.groupby(["borough_code", "year"], as_index=False)["population"]
            .sum()
            .assign(source="ONS small-area (LSOA) mid-year estimates, summed")
        )
    if borough_population_folder is not None:
        tables, _ = population.build_borough_population(borough_population_folder)
        borough = tables["borough_population"]
        estimates = borough[~borough["is_projection"]]
        frames.append(
            estimates[["borough_code", "year", "population"]].assign(
                source="ONS mid-year estimates (GLA borough file, 1999-2010)"
            )
        )
    if not frames:
        return pd.DataFrame(columns=["force_name", "year", "population", "source"])
    boroughs_by_year = pd.concat(frames, ignore_index=True).drop_duplicates(
        ["borough_code", "year"], keep="first"
    )
    city = boroughs_by_year["borough_code"].eq("E09000001")
    met = (
        boroughs_by_year[~city]
        .groupby(["year", "source"], as_index=False)["population"]
        .sum()
        .assign(force_name="Metropolitan Police")
    )
    counts = boroughs_by_year[~city].groupby("year")["borough_code"].nunique()
    met = met[met["year"].map(counts) == 32]  # only complete years
    city_rows = boroughs_by_year[city].assign(force_name="City of London")
    columns = ["force_name", "year", "population", "source"]
    return pd.concat([met[columns], city_rows[columns]], ignore_index=True)


def build_force_population(
    folder: str | Path,
    lsoa_population_folder: str | Path | None = None,
    borough_population_folder: str | Path | None = None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """The ``force_population`` table, with the Met's understated population detected.

    Parameters
    ----------
    folder : str or pathlib.Path
        ``raw_root / "home-office" / "force-population-knife-crime"``.
    lsoa_population_folder, borough_population_folder : str or pathlib.Path, optional
        ONS sources (``ons/lsoa-population-2019-2020``, ``london-datastore/population``)
        to check the Met and City of London figures against borough sums.

    Returns
    -------
    (dict, dict)
        ``force_population`` (:data:`FORCE_POPULATION_COLUMNS`), ``force_population_check``
        (:func:`check_force_populations`) when references were supplied, and the log.
        Where the published figure is more than 1% off an ONS check, ``population`` is the
        ONS figure, ``population_published`` the original, ``is_corrected`` True; other
        years of a force found wrong are ``is_suspect``.
    """
    folder = Path(folder)
    path = folder / "population_policeforces.csv"
    if not path.exists():
        raise DataValidationError(f"no population_policeforces.csv in {folder.name}/")
    published = read_force_population(path)
    table = published.assign(
        population_published=published["population"],
        population_source=_PUBLISHED,
        is_corrected=False,
        is_suspect=False,
    )
    warnings: list[str] = [
        f"{path.name} is a third-party compilation covering the "
        f"{published['force_name'].nunique()} English forces only (no Welsh forces, no British "
        f"Transport Police), {published['year'].min()}-{published['year'].max()}."
    ]
    reference = _reference_populations(
        Path(lsoa_population_folder) if lsoa_population_folder else None,
        Path(borough_population_folder) if borough_population_folder else None,
    )
    out = {}
    if len(reference):
        check = check_force_populations(published, reference)
        out["force_population_check"] = check
        for force_name, group in check.groupby("force_name"):
            wrong = group[group["is_wrong"]]
            if wrong.empty:
                continue
            for row in wrong.itertuples():
                hit = (table["force_name"] == force_name) & (table["year"] == row.year)
                table.loc[hit, "population"] = int(row.reference)
                table.loc[hit, "population_source"] = row.source
                table.loc[hit, "is_corrected"] = True
            others = (table["force_name"] == force_name) & ~table["year"].isin(wrong["year"])
            table.loc[others, "is_suspect"] = True
            detail = "; ".join(
                f"{r.year}: {int(r.published):,} published vs {int(r.reference):,} "
                f"({r.relative_difference:+.1%})"
                for r in wrong.itertuples()
            )
            warnings.append(
                f"{path.name}: the {force_name} population is wrong where it can be checked "
                f"against ONS borough sums ({detail}): those years are replaced by the ONS "
                f"figure (population_published keeps the original); its other years "
                f"({int(others.sum())}) are flagged is_suspect. Rates per population for "
                f"{force_name} from the published file would be overstated."
            )
    else:
        warnings.append(
            "no ONS borough populations supplied to check the Metropolitan Police figure, which "
            "is known to be understated in this compilation."
        )
    out = {"force_population": table[FORCE_POPULATION_COLUMNS], **out}
    return out, _common.make_log("force_population", out, [path], warnings)
