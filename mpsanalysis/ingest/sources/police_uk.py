"""data.police.uk street-level crime and outcomes files for the Metropolitan Police.

Each month police.uk publishes, per force, a *street* file (one row per crime: month,
anonymised location, LSOA, crime type, last outcome category) and an *outcomes* file
(one row per outcome recorded that month, with the crime's ID). This module validates
and tidies them and gives:

* crimes by LSOA and month (table ``policeuk_street``), with the borough taken from the
  LSOA name ("Camden 001A" is in Camden);
* a positive-outcome flag (charge or summons) for every outcome category string, with
  positive-outcome rates by crime type and borough and Wilson intervals;
* the distribution of months from the crime month to the outcome month.

KNOWN DEFECT of the mirrored copy: its author kept only burglaries (every row has
crime type "Burglary"), so these files can never give an "all crime" figure.
:func:`count_all_crime` refuses to, and the build log says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import boroughs
from mpsanalysis.errors import DataValidationError, check_columns
from mpsanalysis.ingest.sources import _common

__all__ = [
    "crime_type_warning",
    "month_ordinals",
    "OUTCOME_CATEGORIES",
    "POLICE_UK_CRIME_TYPES",
    "CRIME_COLUMNS",
    "STREET_COLUMNS",
    "OUTCOME_COLUMNS",
    "classify_outcomes",
    "assign_borough_from_lsoa",
    "read_street_crime",
    "read_outcomes",
    "summarise_street_crime",
    "build_police_uk",
]

_CHARGED = "charged or summonsed"
_OUT_OF_COURT = "out-of-court disposal"
_NO_ACTION = "no further action"
_OPEN = "under investigation"
_UNKNOWN = "not known"

#: Every outcome category string of police.uk (street files' "Last outcome category" and
#: outcomes files' "Outcome type"): its group, and whether it is a positive outcome.
#: Positive means the suspect was charged or summonsed: "Suspect charged" and every
#: court outcome, which can only follow a charge or summons (a court result that is
#: unavailable, a case unable to proceed, an acquittal). Cautions, penalty notices,
#: warnings and local resolutions are out-of-court disposals, not positive here.
#: "Status update unavailable" (the force sent no update) is not known, and counts as
#: not positive: rates are therefore lower bounds.
OUTCOME_CATEGORIES: dict[str, tuple[str, bool]] = {
    # charged or summonsed, and court outcomes
    "Suspect charged": (_CHARGED, True),
    "Suspect charged as part of another case": (_CHARGED, True),
    "Awaiting court outcome": (_CHARGED, True),
    "Court result unavailable": (_CHARGED, True),
    "Court case unable to proceed": (_CHARGED, True),
    "Defendant found not guilty": (_CHARGED, True),
    "Defendant sent to Crown Court": (_CHARGED, True),
    "Offender sent to prison": (_CHARGED, True),
    "Offender given suspended prison sentence": (_CHARGED, True),
    "Offender given community sentence": (_CHARGED, True),
    "Offender fined": (_CHARGED, True),
    "Offender given conditional discharge": (_CHARGED, True),
    "Offender given absolute discharge": (_CHARGED, True),
    "Offender ordered to pay compensation": (_CHARGED, True),
    "Offender otherwise dealt with": (_CHARGED, True),
    "Offender deprived of property": (_CHARGED, True),
    # out-of-court disposals
    "Offender given a caution": (_OUT_OF_COURT, False),
    "Offender given penalty notice": (_OUT_OF_COURT, False),
    "Offender given a drugs possession warning": (_OUT_OF_COURT, False),
    "Local resolution": (_OUT_OF_COURT, False),
    # no further action
    "Investigation complete; no suspect identified": (_NO_ACTION, False),
    "Unable to prosecute suspect": (_NO_ACTION, False),
    "Formal action is not in the public interest": (_NO_ACTION, False),
    "Further action is not in the public interest": (_NO_ACTION, False),
    "Further investigation is not in the public interest": (_NO_ACTION, False),
    "Action to be taken by another organisation": (_NO_ACTION, False),
    # still open, or unknown
    "Under investigation": (_OPEN, False),
    "Status update unavailable": (_UNKNOWN, False),
    "": (_UNKNOWN, False),
}

#: The crime types police.uk publishes (besides anti-social behaviour).
POLICE_UK_CRIME_TYPES = (
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

#: Row-level crimes (table ``policeuk_crimes``).
CRIME_COLUMNS = [
    "crime_id",
    "month",
    "lsoa_code",
    "lsoa_name",
    "borough_code",
    "borough_name",
    "location_status",
    "crime_type",
    "last_outcome_category",
    "outcome_group",
    "is_positive_outcome",
    "longitude",
    "latitude",
    "source_file",
]

#: Crimes by LSOA and month (table ``policeuk_street``).
STREET_COLUMNS = [
    "month",
    "lsoa_code",
    "lsoa_name",
    "borough_code",
    "borough_name",
    "location_status",
    "crime_type",
    "crimes",
]

#: Row-level outcomes (table ``policeuk_outcomes``).
OUTCOME_COLUMNS = [
    "crime_id",
    "month",
    "lsoa_code",
    "outcome_type",
    "outcome_group",
    "is_positive_outcome",
    "source_file",
]

_STREET_REQUIRED = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
]
_OUTCOME_REQUIRED = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Outcome type",
]
_LSOA_CODE = re.compile(r"^[EW]01\d{6}$")
_LSOA_NAME = re.compile(r"^(?P<district>.+) \d{3}[A-Z]$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_FILE_MONTH = re.compile(r"^(\d{4}-\d{2})-")


def classify_outcomes(categories: pd.Series, file: str | None = None) -> pd.DataFrame:
    """The outcome group and positive flag of each outcome category string.

    Parameters
    ----------
    categories : pandas.Series
        Outcome category strings as published (a frame's index is kept).
    file : str, optional
        The file they come from, named in the error.

    Returns
    -------
    pandas.DataFrame
        ``outcome_group`` and ``is_positive_outcome``, indexed like ``categories``.

    Raises
    ------
    DataValidationError
        At the first string that is not in :data:`OUTCOME_CATEGORIES`: a new category
        must be mapped by hand, never guessed.

    Examples
    --------
    >>> classify_outcomes(pd.Series(["Offender fined", "Local resolution"]))
               outcome_group  is_positive_outcome
    0   charged or summonsed                 True
    1  out-of-court disposal                False
    """
    unknown = ~categories.isin(list(OUTCOME_CATEGORIES))
    if unknown.any():
        where = categories.index[np.argmax(unknown.to_numpy())]
        raise DataValidationError(
            f"outcome category {categories[where]!r} is not a known police.uk outcome; add it "
            "to mpsanalysis.ingest.sources.police_uk.OUTCOME_CATEGORIES with its group",
            file=file,
            row=int(where) if file else None,
        )
    group = {k: v[0] for k, v in OUTCOME_CATEGORIES.items()}
    positive = {k: v[1] for k, v in OUTCOME_CATEGORIES.items()}
    return pd.DataFrame(
        {
            "outcome_group": categories.map(group),
            "is_positive_outcome": categories.map(positive).astype(bool),
        },
        index=categories.index,
    )


def assign_borough_from_lsoa(lsoa_names: pd.Series) -> pd.DataFrame:
    """The London borough of each LSOA, from the name's prefix ("Camden 001A").

    Parameters
    ----------
    lsoa_names : pandas.Series
        LSOA names as published; blank or missing when the crime has no location.

    Returns
    -------
    pandas.DataFrame
        ``borough_code`` and ``borough_name`` (missing outside London), and
        ``location_status``: ``"london"``, ``"outside london"`` (police.uk places some
        Met crimes in neighbouring districts, e.g. "Epping Forest 001A") or
        ``"no location"``.

    Examples
    --------
    >>> assign_borough_from_lsoa(pd.Series(["Camden 001A", "Epping Forest 003B", ""]))
      borough_code borough_name location_status
    0    E09000007       Camden          london
    1          NaN          NaN  outside london
    2          NaN          NaN     no location
    """
    names = lsoa_names.fillna("").astype(str)
    district = names.str.extract(_LSOA_NAME, expand=False)
    unique = district.dropna().unique()
    canonical = {d: boroughs.normalise_borough_name(d) for d in unique}
    borough_name = district.map(canonical)
    codes = {n: boroughs.lookup_borough_code(n) for n in set(canonical.values()) if n}
    status = np.where(
        names.eq(""), "no location", np.where(borough_name.notna(), "london", "outside london")
    )
    return pd.DataFrame(
        {
            "borough_code": borough_name.map(codes),
            "borough_name": borough_name,
            "location_status": status,
        },
        index=lsoa_names.index,
    )


def _check_common(frame: pd.DataFrame, path: Path) -> pd.Series:
    """Checks shared by street and outcomes files; returns the month as Periods."""
    name = path.name
    _common.check_not_blank(frame, ["Month", "Reported by", "Falls within"], name)
    _common.raise_at_first(
        ~frame["Month"].str.match(_MONTH),
        frame,
        "Month",
        "Month {value!r} is not a month: expected YYYY-MM",
        name,
    )
    named = _FILE_MONTH.match(name)
    if named:
        _common.raise_at_first(
            frame["Month"].ne(named.group(1)),
            frame,
            "Month",
            f"Month {{value!r}} does not match the file's month {named.group(1)}",
            name,
        )
    code, lsoa = frame["LSOA code"], frame["LSOA name"]
    _common.raise_at_first(
        code.ne("") & ~code.str.match(_LSOA_CODE),
        frame,
        "LSOA code",
        "LSOA code {value!r} is not an LSOA code (E01 or W01 and six digits)",
        name,
    )
    _common.raise_at_first(
        lsoa.ne("") & ~lsoa.str.match(_LSOA_NAME),
        frame,
        "LSOA name",
        "LSOA name {value!r} is not like 'Camden 001A': cannot tell its borough",
        name,
    )
    _common.raise_at_first(
        code.eq("") != lsoa.eq(""),
        frame,
        "LSOA name",
        "LSOA code and LSOA name must both be given or both be blank",
        name,
    )
    for column in ("Longitude", "Latitude"):
        number = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        _common.raise_at_first(
            frame[column].ne("") & number.isna(),
            frame,
            column,
            f"{column} {{value!r}} is not a number",
            name,
        )
    codes, uniques = pd.factorize(frame["Month"])
    return pd.PeriodIndex(list(uniques), freq="M")[codes]


def read_street_crime(path: str | Path) -> pd.DataFrame:
    """Read and validate one police.uk street-level crime file (row level).

    Parameters
    ----------
    path : str or pathlib.Path
        A ``YYYY-MM-<force>-street.csv`` file.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CRIME_COLUMNS`: one row per published row. ``borough_*`` come
        from the LSOA name (:func:`assign_borough_from_lsoa`); outcome group and
        positive flag from :data:`OUTCOME_CATEGORIES`.

    Raises
    ------
    DataValidationError
        Missing column, blank month/crime type, malformed month or one that differs from
        the file name's month, malformed LSOA code or name, non-numeric coordinates,
        unknown outcome category.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "2017-01-metropolitan-street.csv"
    >>> _ = f.write_text(
    ...     "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    ...     "LSOA name,Crime type,Last outcome category,Context\\n"
    ...     "a1,2017-01,Metropolitan Police Service,Metropolitan Police Service,-0.14,51.55,"
    ...     "On or near X,E01000907,Camden 001A,Burglary,Offender fined,\\n")
    >>> read_street_crime(f)[["month", "borough_name", "crime_type", "is_positive_outcome"]]
         month borough_name crime_type  is_positive_outcome
    0  2017-01       Camden   Burglary                 True
    """
    path = Path(path)
    name = path.name
    frame = _common.read_csv_checked(path, _STREET_REQUIRED, what="police.uk street file")
    months = _check_common(frame, path)
    _common.check_not_blank(frame, ["Crime type"], name)
    outcomes = classify_outcomes(frame["Last outcome category"], name)
    where = assign_borough_from_lsoa(frame["LSOA name"])
    tidy = pd.DataFrame(
        {
            "crime_id": frame["Crime ID"].replace("", np.nan),
            "month": months,
            "lsoa_code": frame["LSOA code"].replace("", np.nan),
            "lsoa_name": frame["LSOA name"].replace("", np.nan),
            "borough_code": where["borough_code"],
            "borough_name": where["borough_name"],
            "location_status": where["location_status"],
            "crime_type": frame["Crime type"],
            "last_outcome_category": frame["Last outcome category"],
            "outcome_group": outcomes["outcome_group"],
            "is_positive_outcome": outcomes["is_positive_outcome"],
            "longitude": pd.to_numeric(frame["Longitude"].replace("", np.nan)),
            "latitude": pd.to_numeric(frame["Latitude"].replace("", np.nan)),
            "source_file": name,
        }
    )
    return tidy[CRIME_COLUMNS].reset_index(drop=True)


def read_outcomes(path: str | Path) -> pd.DataFrame:
    """Read and validate one police.uk outcomes file (row level).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`OUTCOME_COLUMNS`: crime_id, month (of the outcome), lsoa_code,
        outcome_type (as published), outcome_group, is_positive_outcome, source_file.

    Raises
    ------
    DataValidationError
        As :func:`read_street_crime`, plus a blank Crime ID.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "2017-03-metropolitan-outcomes.csv"
    >>> _ = f.write_text(
    ...     "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    ...     "LSOA name,Outcome type\\n"
    ...     "a1,2017-03,Metropolitan Police Service,Metropolitan Police Service,,,No Location,"
    ...     ",,Suspect charged\\n")
    >>> read_outcomes(f)[["crime_id", "month", "outcome_group"]]
      crime_id    month         outcome_group
    0       a1  2017-03  charged or summonsed
    """
    path = Path(path)
    name = path.name
    frame = _common.read_csv_checked(path, _OUTCOME_REQUIRED, what="police.uk outcomes file")
    months = _check_common(frame, path)
    _common.check_not_blank(frame, ["Crime ID", "Outcome type"], name)
    outcomes = classify_outcomes(frame["Outcome type"], name)
    tidy = pd.DataFrame(
        {
            "crime_id": frame["Crime ID"],
            "month": months,
            "lsoa_code": frame["LSOA code"].replace("", np.nan),
            "outcome_type": frame["Outcome type"],
            "outcome_group": outcomes["outcome_group"],
            "is_positive_outcome": outcomes["is_positive_outcome"],
            "source_file": name,
        }
    )
    return tidy[OUTCOME_COLUMNS].reset_index(drop=True)


def summarise_street_crime(crimes: pd.DataFrame) -> pd.DataFrame:
    """Crimes by month, LSOA and crime type (the ``policeuk_street`` table).

    Parameters
    ----------
    crimes : pandas.DataFrame
        Row-level crimes (:func:`read_street_crime`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STREET_COLUMNS`; crimes with no location are one row per month and
        crime type with a missing LSOA.

    Examples
    --------
    >>> c = pd.DataFrame({"month": pd.PeriodIndex(["2017-01"] * 3, freq="M"),
    ...     "lsoa_code": ["E01000907", "E01000907", None],
    ...     "lsoa_name": ["Camden 001A", "Camden 001A", None],
    ...     "borough_code": ["E09000007", "E09000007", None],
    ...     "borough_name": ["Camden", "Camden", None],
    ...     "location_status": ["london", "london", "no location"],
    ...     "crime_type": "Burglary"})
    >>> summarise_street_crime(c)[["lsoa_code", "location_status", "crimes"]]
       lsoa_code location_status  crimes
    0  E01000907          london       2
    1        NaN     no location       1
    """
    keys = STREET_COLUMNS[:-1]
    check_columns(crimes, keys, "summarise_street_crime: the crimes table")
    return (
        crimes.groupby(keys, dropna=False, observed=True)
        .size()
        .reset_index(name="crimes")
        .sort_values(["month", "lsoa_code", "crime_type"], na_position="last")
        .reset_index(drop=True)
    )


def crime_type_warning(crimes: pd.DataFrame) -> str | None:
    present = sorted(crimes["crime_type"].dropna().unique())
    missing = [t for t in POLICE_UK_CRIME_TYPES if t not in present]
    if not missing:
        return None
    return (
        f"the street files contain only {len(present)} of the {len(POLICE_UK_CRIME_TYPES)} "
        f"police.uk crime types ({', '.join(repr(t) for t in present)}; {len(crimes):,} rows): "
        "they were filtered by the file's author, so any 'all crime' figure from them would be "
        "wrong. Use them only for the crime type(s) present; count_all_crime() refuses them."
    )


def month_ordinals(months: pd.Series) -> np.ndarray:
    """Monthly Periods as integers (months since 1970-01), whatever the Series dtype."""
    if isinstance(months.dtype, pd.PeriodDtype):
        return months.array.asi8
    return pd.PeriodIndex(months, freq="M").asi8


def _files(folder: Path, kind: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"*-{kind}.csv") if not p.name.startswith("."))


def build_police_uk(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read every street and outcomes file of a folder into the police.uk tables.

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder, e.g. ``raw_root / "police-uk" / "met-street-burglary-2017-2018"``.

    Returns
    -------
    (dict, dict)
        Tables ``policeuk_street`` (:data:`STREET_COLUMNS`), ``policeuk_crimes``
        (:data:`CRIME_COLUMNS`), ``policeuk_outcomes`` (:data:`OUTCOME_COLUMNS` plus
        ``crime_month`` and ``months_to_outcome``) and ``policeuk_outcome_categories``
        (every category string found, with its group, positive flag and count), and the
        log entry, whose warnings report: the crime-type filtering, duplicate rows,
        crimes without a location or outside London, outcomes without a crime.
    """
    folder = Path(folder)
    street_files = _files(folder, "street")
    outcome_files = _files(folder, "outcomes")
    if not street_files:
        raise DataValidationError(f"no police.uk street files (*-street.csv) in {folder.name}/")
    crimes = pd.concat([read_street_crime(p) for p in street_files], ignore_index=True)
    outcomes = (
        pd.concat([read_outcomes(p) for p in outcome_files], ignore_index=True)
        if outcome_files
        else pd.DataFrame(columns=OUTCOME_COLUMNS)
    )
    warnings: list[str] = []
    filtered = crime_type_warning(crimes)
    if filtered:
        warnings.append(filtered)

    duplicates = crimes.duplicated(keep="first")
    if duplicates.any():
        ids = crimes.loc[duplicates, "crime_id"].nunique()
        warnings.append(
            f"{int(duplicates.sum()):,} street rows repeat another row exactly (same crime ID, "
            f"month, location and outcome; {ids:,} crime IDs). They are kept, as published, so "
            "totals match police.uk; counts of distinct crimes are that much lower."
        )
    status = crimes["location_status"].value_counts()
    if status.get("no location", 0):
        warnings.append(
            f"{int(status['no location']):,} crimes have no location (no LSOA): they count in "
            "London totals but in no borough or LSOA."
        )
    if status.get("outside london", 0):
        outside = crimes.loc[crimes["location_status"].eq("outside london"), "lsoa_name"]
        districts = outside.str.extract(_LSOA_NAME, expand=False).value_counts()
        top = ", ".join(f"{d} {n}" for d, n in districts.head(3).items())
        warnings.append(
            f"{int(status['outside london']):,} Met crimes are placed in LSOAs outside London "
            f"({len(districts)} districts, e.g. {top}; police.uk snaps locations to nearby map "
            "points): they have no borough."
        )

    first = crimes.dropna(subset=["crime_id"]).groupby("crime_id")["month"].min()
    outcomes = outcomes.assign(crime_month=outcomes["crime_id"].map(first))
    matched = outcomes["crime_month"].notna()
    lag = np.full(len(outcomes), np.nan)
    if matched.any():
        lag[matched.to_numpy()] = outcomes.loc[matched, "month"].array.asi8 - month_ordinals(
            outcomes.loc[matched, "crime_month"]
        )
    outcomes["months_to_outcome"] = pd.array(lag, dtype="Int64")
    if len(outcomes):
        last = outcomes["month"].max()
        warnings.append(
            f"the outcomes files hold {len(outcomes):,} outcomes for "
            f"{outcomes['crime_id'].nunique():,} crimes up to {last.strftime('%b %Y')}; "
            f"{int((~matched).sum()):,} refer to crimes not in the street files. Outcomes "
            "published after that month are missing, so lags for recent crimes are "
            "right-censored."
        )
        same_month = (outcomes.loc[matched, "months_to_outcome"] == 0).mean()
        if matched.sum() and same_month > 0.99 and outcomes["month"].nunique() > 1:
            warnings.append(
                f"{same_month:.1%} of the outcomes are in the same month as their crime: each "
                "month's outcomes file was filtered to that month's own crimes (by the file's "
                "author), so outcomes recorded in later months are missing. The distribution of "
                "months from crime to outcome cannot be estimated from these files; use the "
                "street files' 'Last outcome category' for outcome rates."
            )

    categories = (
        pd.concat(
            [
                crimes["last_outcome_category"].value_counts().rename("in_street_files"),
                outcomes["outcome_type"].value_counts().rename("in_outcomes_files"),
            ],
            axis=1,
        )
        .fillna(0)
        .astype("int64")
        .rename_axis("outcome_category")
        .reset_index()
    )
    categories.insert(
        1,
        "outcome_group",
        categories["outcome_category"].map({k: v[0] for k, v in OUTCOME_CATEGORIES.items()}),
    )
    categories.insert(
        2,
        "is_positive_outcome",
        categories["outcome_category"].map({k: v[1] for k, v in OUTCOME_CATEGORIES.items()}),
    )
    tables = {
        "policeuk_street": summarise_street_crime(crimes),
        "policeuk_crimes": crimes,
        "policeuk_outcomes": outcomes,
        "policeuk_outcome_categories": categories.sort_values(
            ["outcome_group", "outcome_category"]
        ).reset_index(drop=True),
    }
    return tables, _common.make_log(
        "policeuk_street", tables, street_files + outcome_files, warnings
    )
