"""MPS homicide: victims (one row per victim) and persons proceeded against (PPA).

The London Datastore "MPS Homicide Dashboard data" has two files:

* victims, January 2003 to December 2020: age group, sex, method of killing, domestic
  abuse, recorded month, homicide offence type, solved status, borough, officer-observed
  ethnicity;
* persons proceeded against (charged or summonsed), January 2003 to March 2021: borough,
  gender, age group, self-classified ethnicity, offence type, outcome, month.

This module validates and tidies both and provides the measures of the homicide report:
victims by any breakdown, the solved rate with Wilson intervals, and young victims.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from mpsanalysis import boroughs
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest.sources import _common

__all__ = [
    "VICTIM_COLUMNS",
    "PPA_COLUMNS",
    "YOUNG_AGE_GROUPS",
    "OLDER_AGE_GROUPS",
    "read_homicide_victims",
    "read_homicide_ppa",
    "build_homicide",
]

#: Columns of the tidy victims table (one row per published row; ``victims`` is 1).
VICTIM_COLUMNS = [
    "month",
    "year",
    "borough_code",
    "borough_name",
    "age_group",
    "sex",
    "method",
    "domestic_abuse",
    "offence_type",
    "solved_status",
    "is_solved",
    "ethnicity",
    "victims",
    "source_file",
]

#: Columns of the tidy persons-proceeded-against table.
PPA_COLUMNS = [
    "month",
    "year",
    "borough_code",
    "borough_name",
    "age_group",
    "sex",
    "ethnicity",
    "offence_type",
    "proceedings_outcome",
    "persons",
    "source_file",
]

#: The victim age bands that count as young (under 25). The file's bands are 0 to 12,
#: 13 to 19, 20 to 24, 25 to 34, 35 to 44, 45 to 54, 55 to 64 and 65 and over, so
#: "under 25" is exactly the first three.
YOUNG_AGE_GROUPS = ("0 to 12", "13 to 19", "20 to 24")
OLDER_AGE_GROUPS = ("25 to 34", "35 to 44", "45 to 54", "55 to 64", "65 and over")

_VICTIM_FIELDS = {
    "Count of Victims": "victims",
    "Age Group": "age_group",
    "Sex": "sex",
    "Method of Killing": "method",
    "Domestic Abuse": "domestic_abuse",
    "Recorded Date": "month",
    "Homicide Offence Type": "offence_type",
    "Solved Status": "solved_status",
    "Borough": "borough",
    "Officer Observed Ethnicity": "ethnicity",
}
_PPA_FIELDS = {
    "Count of PPA": "persons",
    "Borough": "borough",
    "Gender": "sex",
    "Age Group": "age_group",
    "Self Classified Ethnicity": "ethnicity",
    "Offence Type": "offence_type",
    "Charged/Summonsed": "proceedings_outcome",
    "Proceedings Date": "month",
}
_SOLVED = {"Solved": True, "Unsolved": False}
_YES_NO = {"Yes": True, "No": False}


_MONTH_NAMES = {
    name: number
    for number in range(1, 13)
    for name in (
        pd.Timestamp(2000, number, 1).strftime("%B").casefold(),
        pd.Timestamp(2000, number, 1).strftime("%b").casefold(),
    )
}


def _parse_month(
    frame: pd.DataFrame, column: str, file: str, corrections: list[str] | None = None
) -> pd.Series:
    """'Jan 2003' or 'January 2003' as monthly Periods.

    A misspelt month name that is close to exactly one month (``Febraury``) is read
    as that month and listed in ``corrections``; anything else is an error.
    """
    lookup: dict[str, pd.Period | None] = {}
    for text in frame[column].unique():
        words = text.split()
        period = None
        if len(words) == 2 and words[1].isdigit() and len(words[1]) == 4:
            word = words[0].casefold()
            number = _MONTH_NAMES.get(word)
            close = difflib.get_close_matches(word, list(_MONTH_NAMES), n=1, cutoff=0.8)
            if number is None and close:
                number = _MONTH_NAMES[close[0]]
                read_as = pd.Period(year=int(words[1]), month=number, freq="M")
                if corrections is not None:
                    corrections.append(f"{text!r} read as {read_as.strftime('%B %Y')!r}")
            if number is not None:
                period = pd.Period(year=int(words[1]), month=number, freq="M")
        lookup[text] = period
    months = frame[column].map(lookup)
    _common.raise_at_first(
        months.isna(),
        frame,
        column,
        f"{column} {{value!r}} is not a month: expected e.g. 'Jan 2003' or 'January 2003'",
        file,
    )
    return months.astype("period[M]")


def _boroughs(frame: pd.DataFrame, file: str) -> tuple[pd.Series, pd.Series]:
    spellings = {v: boroughs.normalise_borough_name(v) for v in frame["Borough"].unique()}
    names = frame["Borough"].map(spellings)
    _common.raise_at_first(
        names.isna(),
        frame,
        "Borough",
        "unknown borough {value!r} (not a London borough or 'Heathrow')",
        file,
    )
    codes = names.map({n: boroughs.lookup_borough_code(n) for n in set(spellings.values()) if n})
    return codes, names


def _tidy_text(series: pd.Series) -> pd.Series:
    """Spaces tidied: the PPA file has 'White ' and 'White' as two values."""
    return series.str.split().str.join(" ")


def _read_counted(
    path: Path,
    fields,
    what: str,
    count_column: str,
    date_column: str,
    corrections: list[str] | None,
):
    """Read one homicide file: the columns present, no blank cell, a positive whole count
    on every row, the month of ``date_column`` and the borough of every row.

    Returns ``(frame, counts, months, codes, names)``; raises
    :class:`~mpsanalysis.errors.DataValidationError` naming the file, line and column.
    """
    name = path.name
    frame = _common.read_csv_checked(path, list(fields), what=what)
    _common.check_not_blank(frame, fields, name)
    counts = _common.parse_counts(frame, [count_column], name)[:, 0]
    _common.raise_at_first(
        pd.Series(counts < 1, index=frame.index),
        frame,
        count_column,
        "count {value!r} is not a positive whole number",
        name,
    )
    months = _parse_month(frame, date_column, name, corrections)
    codes, names = _boroughs(frame, name)
    return frame, counts, months, codes, names


def read_homicide_victims(path: str | Path, corrections: list[str] | None = None) -> pd.DataFrame:
    """Read and validate the homicide victims file.

    Parameters
    ----------
    path : str or pathlib.Path
        The London Datastore "Homicide victims" CSV.
    corrections : list, optional
        When given, a description of every misspelt month name that was read as the
        nearest month (e.g. ``'Febraury 2021'``) is appended to it.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VICTIM_COLUMNS`: month (monthly Period of the recorded date),
        year, borough_code, borough_name (canonical; "Heathrow" is the airports
        pseudo-borough), age_group, sex, method, domestic_abuse (bool), offence_type,
        solved_status (as published: "Solved"/"Unsolved"), is_solved (bool), ethnicity
        (officer observed), victims (int), source_file.

    Raises
    ------
    DataValidationError
        Missing column, blank cell, unknown borough, malformed month, a count that is
        not a positive whole number, a Domestic Abuse value other than Yes/No, a Solved
        Status other than Solved/Unsolved, an age group outside the published bands.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "victims.csv"
    >>> _ = f.write_text(
    ...     "Count of Victims,Age Group,Sex,Method of Killing,Domestic Abuse,Recorded Date,"
    ...     "Homicide Offence Type,Solved Status,Borough,Officer Observed Ethnicity\\n"
    ...     "1,20 to 24,Male,Shooting,No,Jan 2003,Murder,Solved,Hammersmith & Fulham,Black\\n")
    >>> read_homicide_victims(f)[["month", "borough_code", "domestic_abuse", "is_solved"]]
         month borough_code  domestic_abuse  is_solved
    0  2003-01    E09000013           False       True
    """
    path = Path(path)
    name = path.name
    frame, victims, months, codes, names = _read_counted(
        path,
        _VICTIM_FIELDS,
        "homicide victims file",
        "Count of Victims",
        "Recorded Date",
        corrections,
    )
    for column, allowed in (
        ("Domestic Abuse", _YES_NO),
        ("Solved Status", _SOLVED),
        ("Age Group", dict.fromkeys(YOUNG_AGE_GROUPS + OLDER_AGE_GROUPS)),
    ):
        _common.raise_at_first(
            ~frame[column].isin(list(allowed)),
            frame,
            column,
            f"{column} {{value!r}} is not one of {', '.join(map(repr, allowed))}",
            name,
        )
    tidy = pd.DataFrame(
        {
            "month": months,
            "year": months.dt.year.astype("int64"),
            "borough_code": codes,
            "borough_name": names,
            "age_group": frame["Age Group"],
            "sex": frame["Sex"],
            "method": frame["Method of Killing"],
            "domestic_abuse": frame["Domestic Abuse"].map(_YES_NO).astype(bool),
            "offence_type": frame["Homicide Offence Type"],
            "solved_status": frame["Solved Status"],
            "is_solved": frame["Solved Status"].map(_SOLVED).astype(bool),
            "ethnicity": _tidy_text(frame["Officer Observed Ethnicity"]),
            "victims": victims.astype("int64"),
            "source_file": name,
        }
    )
    return tidy[VICTIM_COLUMNS].reset_index(drop=True)


def read_homicide_ppa(path: str | Path, corrections: list[str] | None = None) -> pd.DataFrame:
    """Read and validate the homicide persons-proceeded-against file.

    Parameters
    ----------
    path : str or pathlib.Path
        The London Datastore "Homicide ppa" CSV.
    corrections : list, optional
        As for :func:`read_homicide_victims`: misspelt month names read as the nearest
        month are described here (the published file has ``Febraury 2021``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PPA_COLUMNS`: month (monthly Period of the proceedings date),
        year, borough_code, borough_name, age_group, sex (the file's "Gender"),
        ethnicity (self classified, spaces tidied), offence_type, proceedings_outcome
        (as published, e.g. "Charge or Summons", "Accused is Dead", "Recording Error"),
        persons (int), source_file.

    Raises
    ------
    DataValidationError
        Missing column, blank cell, unknown borough, malformed month, a count that is
        not a positive whole number.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "ppa.csv"
    >>> _ = f.write_text(
    ...     "Count of PPA,Borough,Gender,Age Group,Self Classified Ethnicity,Offence Type,"
    ...     "Charged/Summonsed,Proceedings Date\\n"
    ...     "1,Westminster,Male,40 to 44,White ,Murder,Charge or Summons,January 2003\\n")
    >>> read_homicide_ppa(f)[["month", "borough_code", "ethnicity", "persons"]]
         month borough_code ethnicity  persons
    0  2003-01    E09000033     White        1
    """
    path = Path(path)
    name = path.name
    frame, persons, months, codes, names = _read_counted(
        path, _PPA_FIELDS, "homicide PPA file", "Count of PPA", "Proceedings Date", corrections
    )
    tidy = pd.DataFrame(
        {
            "month": months,
            "year": months.dt.year.astype("int64"),
            "borough_code": codes,
            "borough_name": names,
            "age_group": frame["Age Group"],
            "sex": frame["Gender"],
            "ethnicity": _tidy_text(frame["Self Classified Ethnicity"]),
            "offence_type": frame["Offence Type"],
            "proceedings_outcome": frame["Charged/Summonsed"],
            "persons": persons.astype("int64"),
            "source_file": name,
        }
    )
    return tidy[PPA_COLUMNS].reset_index(drop=True)


def build_homicide(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read both homicide files of a folder into ``homicide_victims`` and ``homicide_ppa``.

    The files are recognised by name: ``*victims*.csv`` and ``*ppa*.csv``.

    Returns
    -------
    (dict, dict)
        The two tables and the log entry. Warnings report data quirks found: values
        written two ways (trailing spaces), rows recorded as a "Recording Error", the
        latest months whose solved status is provisional.
    """
    folder = Path(folder)
    victims_files = sorted(folder.glob("*victims*.csv"))
    ppa_files = sorted(folder.glob("*ppa*.csv"))
    if len(victims_files) != 1 or len(ppa_files) != 1:
        raise DataValidationError(
            f"expected one *victims*.csv and one *ppa*.csv in {folder.name}/, found "
            f"{len(victims_files)} and {len(ppa_files)}"
        )
    victims_fixed: list[str] = []
    ppa_fixed: list[str] = []
    victims = read_homicide_victims(victims_files[0], victims_fixed)
    ppa = read_homicide_ppa(ppa_files[0], ppa_fixed)
    warnings: list[str] = []
    for path, fixed in ((victims_files[0], victims_fixed), (ppa_files[0], ppa_fixed)):
        if fixed:
            warnings.append(
                f"{path.name}: misspelt month name(s) read as the nearest month: "
                f"{'; '.join(sorted(set(fixed)))}."
            )

    raw = pd.read_csv(ppa_files[0], dtype=str, keep_default_na=False)
    spelled_twice = [
        column
        for column in raw.columns
        if raw[column].nunique() > raw[column].str.split().str.join(" ").nunique()
    ]
    if spelled_twice:
        warnings.append(
            f"{ppa_files[0].name}: {', '.join(spelled_twice)} has values written with and "
            "without trailing spaces (e.g. 'White ' and 'White'); spaces were tidied so "
            "each value is counted once."
        )
    errors = ppa[ppa["proceedings_outcome"].str.casefold().str.contains("error")]
    if len(errors):
        warnings.append(
            f"{ppa_files[0].name}: {len(errors)} person(s) proceeded against are recorded "
            "as 'Recording Error'; they are kept with that outcome and should be excluded "
            "from counts of people charged."
        )
    last_year = int(victims["year"].max())
    by_year = victims.groupby("year")[["victims"]].sum()
    by_year["solved"] = victims[victims["is_solved"]].groupby("year")["victims"].sum()
    rates = by_year["solved"].fillna(0) / by_year["victims"]
    earlier = rates.loc[: last_year - 3].median()
    warnings.append(
        f"{victims_files[0].name}: solved status is as at publication; {last_year} has a "
        f"solved rate of {rates.loc[last_year]:.0%} against a median of {earlier:.0%} for "
        f"the years to {last_year - 3}, so the latest years' solved rates are provisional."
    )
    tables = {"homicide_victims": victims, "homicide_ppa": ppa}
    return tables, _common.make_log("homicide", tables, [victims_files[0], ppa_files[0]], warnings)
