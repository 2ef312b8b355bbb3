"""Annual recorded crime per LSOA, 2011-2021, one file per MPS major category.

The files (``london-datastore/lsoa-crime-annual``) were derived by a third party from
the MPS monthly LSOA files: one row per 2011 LSOA, one column per calendar year, one
file per major category (and two minor categories).

KNOWN DEFECTS, detected and reported by :func:`build_lsoa_crime_annual`:

* the 2020 column is wrong: the author's notebook adds the historic file's 2020 months
  to themselves (``2020_x + 2020_x``) instead of adding the recent file's months. Every
  2020 row has ``is_reliable`` False, and the build measures the anomaly: the ratio of
  2020 to the mean of 2019 and 2021 across London and, when the MPS borough-level
  monthly file is supplied, the ratio of the LSOA total to the published total in each
  year and the number of 2020 months that, doubled, reproduce the 2020 column;
* a file whose every count is zero (sexual offences) is marked unreliable in every year.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import boroughs
from mpsanalysis.errors import DataValidationError, ParameterError, check_columns
from mpsanalysis.ingest.sources import _common

__all__ = [
    "LSOA_CRIME_COLUMNS",
    "CATEGORY_FILES",
    "UNRELIABLE_YEAR",
    "read_lsoa_crime_annual",
    "measure_2020_anomaly",
    "build_lsoa_crime_annual",
]

#: Columns of the ``lsoa_crime_annual`` table.
LSOA_CRIME_COLUMNS = [
    "lsoa_code",
    "lsoa_name",
    "borough_code",
    "borough_name",
    "year",
    "category_level",
    "major_category",
    "minor_category",
    "count",
    "is_reliable",
    "source_file",
]

#: File slug -> (level, MPS major category, MPS minor category or None). The major files
#: hold all minor categories of that major category: their totals match the MPS
#: borough-level file's major categories (e.g. "arson" is the whole of "Arson and
#: Criminal Damage"). Never add a minor file to its major file.
CATEGORY_FILES: dict[str, tuple[str, str, str | None]] = {
    "major-arson": ("major", "Arson and Criminal Damage", None),
    "major-burglary": ("major", "Burglary", None),
    "major-drugs": ("major", "Drug Offences", None),
    "major-misc": ("major", "Miscellaneous Crimes Against Society", None),
    "major-public-order": ("major", "Public Order Offences", None),
    "major-robbery": ("major", "Robbery", None),
    "major-sexual": ("major", "Sexual Offences", None),
    "major-theft-all": ("major", "Theft", None),
    "major-vehicle-offences": ("major", "Vehicle Offences", None),
    "major-violence": ("major", "Violence Against the Person", None),
    "major-weapons": ("major", "Possession of Weapons", None),
    "minor-theft-bicycle": ("minor", "Theft", "Bicycle Theft"),
    "minor-theft-vehicle": ("minor", "Vehicle Offences", "Theft or Taking of a Motor Vehicle"),
}

#: The year whose column the file's author double counted.
UNRELIABLE_YEAR = 2020

_REQUIRED = ["LSOA11CD", "LSOA11NM", "LAD11CD", "LAD11NM"]
_FILE = re.compile(r"^london-\d{4}-\d{4}-(?P<slug>.+)\.csv$")
_YEAR = re.compile(r"^\d{4}$")


def read_lsoa_crime_annual(path: str | Path) -> pd.DataFrame:
    """Read and validate one annual LSOA crime file into the tidy table.

    Parameters
    ----------
    path : str or pathlib.Path
        ``london-2011-2021-<slug>.csv`` with a slug of :data:`CATEGORY_FILES`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LSOA_CRIME_COLUMNS`; ``is_reliable`` is False for
        :data:`UNRELIABLE_YEAR` (and every year of a file whose counts are all zero).

    Raises
    ------
    DataValidationError
        Unknown file slug, missing column, a column that is neither an LSOA field nor a
        year, malformed LSOA code, unknown borough or a code that does not match its
        name, a blank, negative or fractional count, an LSOA given twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "london-2011-2021-major-robbery.csv"
    >>> _ = f.write_text("LSOA11CD,LSOA11NM,MSOA11CD,MSOA11NM,LAD11CD,LAD11NM,2019,2020\\n"
    ...     "E01000907,Camden 001A,E02000166,Camden 001,E09000007,Camden,4.0,10.0\\n")
    >>> read_lsoa_crime_annual(f)[["year", "major_category", "count", "is_reliable"]]
       year major_category  count  is_reliable
    0  2019        Robbery      4         True
    1  2020        Robbery     10        False
    """
    path = Path(path)
    name = path.name
    match = _FILE.match(name)
    if not match or match.group("slug") not in CATEGORY_FILES:
        raise DataValidationError(
            "is not a known annual LSOA crime file: expected london-YYYY-YYYY-<category>.csv "
            f"with a category of {', '.join(CATEGORY_FILES)}",
            file=name,
        )
    level, major, minor = CATEGORY_FILES[match.group("slug")]
    frame = _common.read_csv_checked(path, _REQUIRED, what="annual LSOA crime file")
    extra = {"MSOA11CD", "MSOA11NM"}
    years = [c for c in frame.columns if _YEAR.match(c)]
    odd = [c for c in frame.columns if c not in _REQUIRED and c not in extra and c not in years]
    if odd:
        raise DataValidationError(
            f"column {odd[0]!r} is neither an LSOA field nor a year (YYYY)",
            file=name,
            row=1,
            column=odd[0],
        )
    if not years:
        raise DataValidationError("has no year columns (YYYY)", file=name, row=1)
    _common.check_not_blank(frame, _REQUIRED, name)
    canonical = _common.check_lsoa_boroughs(frame, name)
    duplicated = frame["LSOA11CD"].duplicated(keep=False)
    if duplicated.any():
        lines = [int(i) for i in frame.index[duplicated]]
        raise DataValidationError(
            f"LSOA {frame.loc[lines[0], 'LSOA11CD']} appears twice (lines {lines[0]}, {lines[1]})",
            file=name,
            row=lines[1],
            column="LSOA11CD",
        )
    values = _common.parse_counts(frame, years, name)
    all_zero = not values.any()
    n_rows, n_years = values.shape
    rows = np.repeat(np.arange(n_rows), n_years)
    year = np.tile(np.array([int(y) for y in years]), n_rows)

    def repeat(column: pd.Series) -> pd.Categorical:
        categorical = pd.Categorical(column.to_numpy())
        return pd.Categorical.from_codes(categorical.codes[rows], categorical.categories)

    tidy = pd.DataFrame(
        {
            "lsoa_code": repeat(frame["LSOA11CD"]),
            "lsoa_name": repeat(frame["LSOA11NM"]),
            "borough_code": repeat(frame["LAD11CD"]),
            "borough_name": repeat(canonical),
            "year": year.astype("int64"),
            "category_level": level,
            "major_category": major,
            "minor_category": minor,
            "count": values.reshape(-1).astype("int64"),
            "is_reliable": (year != UNRELIABLE_YEAR) & (not all_zero),
            "source_file": name,
        }
    )
    return tidy[LSOA_CRIME_COLUMNS]


def measure_2020_anomaly(
    tidy: pd.DataFrame, monthly_reference: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Measure the 2020 double count, per major category and for London.

    Parameters
    ----------
    tidy : pandas.DataFrame
        The annual LSOA table (major-category files are used; all-zero files ignored).
    monthly_reference : pandas.DataFrame, optional
        Published London totals by ``major_category`` and ``month`` (monthly Periods),
        ``count``: e.g. the MPS borough-level file (new classification) summed over
        boroughs.

    Returns
    -------
    pandas.DataFrame
        One row per major category and one for ``"All major categories"``:
        count_2019, count_2020, count_2021, ratio_2020 (2020 / mean of 2019 and 2021);
        with a reference also reference_2019, reference_2020, reference_2021,
        coverage_2019/2020/2021 (LSOA total / reference total), months_doubled (the k for
        which twice January..k 2020 of the reference is closest to the 2020 column) and
        doubled_fit (that doubled total / the 2020 column).

    Notes
    -----
    Without a double count, coverage is about the same every year (the LSOA files omit
    crimes with no location and the airports) and ``ratio_2020`` tracks the published
    change. A 2020 coverage well above the other years', reproduced by doubling the
    first months of 2020, is the signature of ``2020_x + 2020_x``.

    Examples
    --------
    2019: 10, 2020: 30, 2021: 20 -> ratio 30 / 15 = 2.0.

    >>> t = pd.DataFrame({"category_level": "major", "major_category": "Robbery",
    ...     "year": [2019, 2020, 2021], "count": [10, 30, 20]})
    >>> measure_2020_anomaly(t)[["major_category", "count_2020", "ratio_2020"]]
             major_category  count_2020  ratio_2020
    0               Robbery          30         2.0
    1  All major categories          30         2.0
    """
    check_columns(tidy, ["category_level", "major_category", "year", "count"], "tidy")
    major = tidy[tidy["category_level"] == "major"]
    totals = major.groupby(["major_category", "year"], observed=True)["count"].sum().unstack()
    totals = totals[totals.sum(axis=1) > 0]  # all-zero files say nothing
    for year in (2019, 2020, 2021):
        if year not in totals.columns:
            raise ParameterError(f"the table has no {year}: cannot measure the 2020 anomaly")
    totals.loc["All major categories"] = totals.sum()
    out = pd.DataFrame(
        {
            "major_category": totals.index,
            "count_2019": totals[2019].to_numpy(),
            "count_2020": totals[2020].to_numpy(),
            "count_2021": totals[2021].to_numpy(),
        }
    )
    out["ratio_2020"] = out["count_2020"] / ((out["count_2019"] + out["count_2021"]) / 2)
    if monthly_reference is None:
        return out
    check_columns(monthly_reference, ["major_category", "month", "count"], "monthly_reference")
    reference = monthly_reference[monthly_reference["major_category"].isin(totals.index)]
    reference = reference.assign(
        year=reference["month"].dt.year, month_number=reference["month"].dt.month
    )
    by_year = reference.groupby(["major_category", "year"])["count"].sum().unstack()
    by_year.loc["All major categories"] = by_year.sum()
    months_2020 = (
        reference[reference["year"] == 2020]
        .groupby(["major_category", "month_number"])["count"]
        .sum()
        .unstack()
    )
    months_2020.loc["All major categories"] = months_2020.sum()
    cumulative = months_2020.cumsum(axis=1)
    rows = []
    for category in out["major_category"]:
        row = {}
        for year in (2019, 2020, 2021):
            published = by_year[year].get(category, np.nan) if year in by_year else np.nan
            row[f"reference_{year}"] = published
            lsoa = out.loc[out["major_category"] == category, f"count_{year}"].iat[0]
            row[f"coverage_{year}"] = lsoa / published if published else np.nan
        if category in cumulative.index:
            doubled = 2 * cumulative.loc[category]
            lsoa_2020 = out.loc[out["major_category"] == category, "count_2020"].iat[0]
            k = int((doubled - lsoa_2020).abs().idxmin())
            row["months_doubled"] = k
            row["doubled_fit"] = doubled[k] / lsoa_2020 if lsoa_2020 else np.nan
        rows.append(row)
    return pd.concat([out, pd.DataFrame(rows)], axis=1)


def _monthly_reference(folder: Path) -> pd.DataFrame | None:
    """London totals by major category and month from the MPS borough-level files."""
    from mpsanalysis.ingest import loaders

    files = sorted(p for p in folder.glob("*.csv") if "oldclass" not in p.name)
    tables = [loaders.read_borough_crime(p) for p in files]
    tables = [t for t in tables if (t["classification"] == "new").all()]
    if not tables:
        return None
    combined, _ = loaders.combine_vintages(tables)
    needed = pd.period_range("2019-01", "2021-12", freq="M")
    missing = needed.difference(pd.PeriodIndex(combined["month"].unique(), freq="M"))
    if len(missing):
        raise DataValidationError(
            f"the new-classification borough-level crime files supply no figures for "
            f"{len(missing)} month(s) of 2019-2021 (first {missing[0]}), which the annual "
            "LSOA crime source (lsoa_crime_annual) needs to verify its 2020 column: is "
            "MPS_Borough_Level_Crime_Historical_201004-202111.csv missing from the mirror? "
            "Restore it and run `mpsanalysis fetch`",
            file="data/raw/london-datastore/borough-crime/",
        )
    totals = combined.groupby(["major_category", "month"], as_index=False)["count"].sum()
    names = pd.Series(totals["major_category"].unique())
    canonical = dict(zip(names, loaders.canonical_category_names(names), strict=True))
    totals["major_category"] = totals["major_category"].map(canonical)
    return totals.groupby(["major_category", "month"], as_index=False)["count"].sum()


def build_lsoa_crime_annual(
    folder: str | Path, borough_crime_folder: str | Path | None = None
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read every annual LSOA crime file into ``lsoa_crime_annual`` and measure its defects.

    Parameters
    ----------
    folder : str or pathlib.Path
        ``raw_root / "london-datastore" / "lsoa-crime-annual"``.
    borough_crime_folder : str or pathlib.Path, optional
        ``raw_root / "london-datastore" / "borough-crime"``: when given, the 2020
        anomaly is checked against the published monthly totals.

    Returns
    -------
    (dict, dict)
        ``lsoa_crime_annual`` (:data:`LSOA_CRIME_COLUMNS`) and
        ``lsoa_crime_annual_2020_check`` (:func:`measure_2020_anomaly`), and the log.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*.csv") if not p.name.startswith("."))
    if not files:
        raise DataValidationError(f"no annual LSOA crime files (*.csv) in {folder.name}/")
    tables = [read_lsoa_crime_annual(p) for p in files]
    text = [
        "lsoa_code",
        "lsoa_name",
        "borough_code",
        "borough_name",
        "category_level",
        "major_category",
        "minor_category",
        "source_file",
    ]
    tidy = _common.concat_categorical(tables, text)
    warnings: list[str] = []

    reference = None
    if borough_crime_folder is not None and Path(borough_crime_folder).is_dir():
        reference = _monthly_reference(Path(borough_crime_folder))
    years = set(tidy["year"])
    check = None
    if {2019, 2020, 2021} <= years:
        check = measure_2020_anomaly(tidy, reference)
        london = check.set_index("major_category").loc["All major categories"]
        message = (
            f"{UNRELIABLE_YEAR} is marked unreliable (is_reliable False): the file's author "
            "computed the 2020 column as the historic file's 2020 months added to themselves "
            "(PROVENANCE caveat). Measured: London's 2020 total of all major categories is "
            f"{london['ratio_2020']:.2f} times the mean of 2019 and 2021"
        )
        if reference is not None and "coverage_2020" in check.columns:
            message += (
                f"; against the MPS borough-level monthly totals the LSOA files hold "
                f"{london['coverage_2019']:.1%} of 2019 and {london['coverage_2021']:.1%} of "
                f"2021 but {london['coverage_2020']:.1%} of 2020, and the 2020 column equals "
                f"twice January to {pd.Timestamp(2020, int(london['months_doubled']), 1):%B} "
                f"2020 within {abs(london['doubled_fit'] - 1):.1%}"
            )
        else:
            message += " (supply the borough-level crime files to verify against them)"
        warnings.append(message + ". Do not use 2020 from these files.")
    elif UNRELIABLE_YEAR in years:
        warnings.append(f"{UNRELIABLE_YEAR} is marked unreliable (PROVENANCE caveat).")

    for table in tables:
        if table["count"].sum() == 0:
            warnings.append(
                f"{table['source_file'].iat[0]}: every count is zero in every year "
                f"({table['major_category'].iat[0]} is not published at LSOA level, or was lost "
                "by the file's author): all its rows are marked unreliable; never read them as "
                "zero crime."
            )
    present = set(tidy["borough_code"].astype(str))
    absent = [
        n
        for c, n in boroughs.borough_table()[["borough_code", "borough_name"]].itertuples(
            index=False
        )
        if c.startswith("E09") and c not in present
    ]
    if absent:
        warnings.append(
            f"no LSOAs for {', '.join(absent)} ({tidy['lsoa_code'].nunique():,} LSOAs in all): "
            "London totals from these files exclude them."
        )
    out = {"lsoa_crime_annual": tidy}
    if check is not None:
        out["lsoa_crime_annual_2020_check"] = check
    return out, _common.make_log("lsoa_crime_annual", out, files, warnings)
