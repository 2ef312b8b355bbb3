"""data.police.uk stop and search records for the Metropolitan Police.

One row per search: date and time, type, approximate latitude and longitude (no
borough), gender, age range, self-defined and officer-defined ethnicity, legislation,
object of search and outcome. This module validates and tidies the monthly files,
assigns each located search to a borough by point-in-polygon with the borough
boundaries, maps every outcome string to an arrest flag and a positive-outcome flag,
and gives searches, arrest rates and positive-outcome rates by any breakdown, including
self-defined and officer-defined ethnicity, with Wilson intervals.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis.errors import DataValidationError, ParameterError, check_columns
from mpsanalysis.ingest.sources import _common

__all__ = [
    "SEARCH_COLUMNS",
    "OUTCOME_MAPPING",
    "SNAP_METRES",
    "map_self_defined_ethnicity",
    "read_stop_search",
    "assign_boroughs",
    "build_stop_search",
]

#: Columns of the tidy ``stop_search`` table (one row per search).
SEARCH_COLUMNS = [
    "month",
    "datetime",
    "search_type",
    "latitude",
    "longitude",
    "borough_code",
    "borough_name",
    "location_status",
    "gender",
    "age_range",
    "self_defined_ethnicity",
    "self_defined_group",
    "officer_defined_ethnicity",
    "legislation",
    "object_of_search",
    "outcome",
    "outcome_group",
    "is_arrest",
    "is_positive_outcome",
    "source_file",
]

#: Every Outcome string: (outcome group, is an arrest, is a positive outcome).
#: police.uk changed its wording during 2017 ("Suspect arrested" became "Arrest",
#: "Nothing found - no further action" became "A no further action disposal"); both
#: wordings map to the same group. A positive outcome is any outcome other than no
#: further action (arrest, summons or charge, caution, warning, penalty notice,
#: community or local resolution), as in the Home Office's stop and search statistics.
OUTCOME_MAPPING: dict[str, tuple[str, bool, bool]] = {
    "Suspect arrested": ("arrest", True, True),
    "Arrest": ("arrest", True, True),
    "Suspect summonsed to court": ("summons or charge", False, True),
    "Summons / charged by post": ("summons or charge", False, True),
    "Offender cautioned": ("caution", False, True),
    "Caution (simple or conditional)": ("caution", False, True),
    "Offender given drugs possession warning": ("drugs warning", False, True),
    "Khat or Cannabis warning": ("drugs warning", False, True),
    "Offender given penalty notice": ("penalty notice", False, True),
    "Penalty Notice for Disorder": ("penalty notice", False, True),
    "Local resolution": ("community resolution", False, True),
    "Community resolution": ("community resolution", False, True),
    "Article found - Detailed outcome unavailable": ("find, outcome unavailable", False, True),
    "Nothing found - no further action": ("no further action", False, False),
    "A no further action disposal": ("no further action", False, False),
    "Suspected psychoactive substances seized - No further action": (
        "no further action",
        False,
        False,
    ),
}

#: Searches located up to this far outside every borough polygon (on the Thames, which
#: the generalised boundaries leave out, or on the boundary line) are given the nearest
#: borough; further out they are "outside london".
SNAP_METRES = 100.0

_REQUIRED = [
    "Type",
    "Date",
    "Latitude",
    "Longitude",
    "Gender",
    "Age range",
    "Self-defined ethnicity",
    "Officer-defined ethnicity",
    "Legislation",
    "Object of search",
    "Outcome",
]
_FILE_MONTH = re.compile(r"^(\d{4}-\d{2})-")
_SELF_DEFINED_PREFIXES = (
    ("White", "White"),
    ("Black", "Black"),
    ("Asian", "Asian"),
    ("Mixed", "Mixed"),
)
_OFFICER_DEFINED = {"White", "Black", "Asian", "Other", "Mixed"}


def map_self_defined_ethnicity(values: pd.Series) -> pd.Series:
    """The broad group (ONS 2011 census) of each self-defined ethnicity string.

    Parameters
    ----------
    values : pandas.Series
        Self-defined ethnicity as published (both police.uk wordings, e.g.
        ``"Black or Black British - African (B2)"`` and
        ``"Black/African/Caribbean/Black British - African"``); missing allowed.

    Returns
    -------
    pandas.Series
        ``White``, ``Black``, ``Asian``, ``Mixed``, ``Other``, ``Not stated`` (the person
        declined) or ``Not recorded`` (missing); NaN for a string that fits no rule.

    Notes
    -----
    The group is the text before " - " ("White", "Black...", "Asian...", "Mixed...").
    "Chinese" is Asian, as in the 2011 census (the older wording grouped it with "other
    ethnic group"); "Any other ethnic group" is Other, including the older "Chinese or
    other ethnic group - Any other ethnic group (O9)"; "Not stated" and "Not Stated (NS)"
    are Not stated.

    Examples
    --------
    >>> map_self_defined_ethnicity(pd.Series([
    ...     "White - Irish", "Chinese or other ethnic group - Chinese (O1)",
    ...     "Chinese or other ethnic group - Any other ethnic group (O9)",
    ...     "Other ethnic group - Not stated", None])).tolist()
    ['White', 'Asian', 'Other', 'Not stated', 'Not recorded']
    """
    unique = pd.Series(values.dropna().unique())
    groups = dict(zip(unique, _group_ethnicity(unique), strict=True))
    result = values.map(groups).astype(object)
    result[values.isna()] = "Not recorded"
    return result


def _group_ethnicity(values: pd.Series) -> pd.Series:
    text = values.fillna("").astype(str).str.strip()
    result = pd.Series(np.nan, index=values.index, dtype=object)
    result[text.eq("")] = "Not recorded"
    lower = text.str.casefold()
    result[lower.str.contains("not stated")] = "Not stated"
    result[result.isna() & lower.str.contains("any other ethnic group")] = "Other"
    result[result.isna() & lower.str.contains("chinese")] = "Asian"
    for prefix, group in _SELF_DEFINED_PREFIXES:
        result[result.isna() & text.str.startswith(prefix)] = group
    return result


def read_stop_search(path: str | Path) -> pd.DataFrame:
    """Read and validate one police.uk stop-and-search file.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``YYYY-MM-<force>-stop-and-search.csv`` file.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SEARCH_COLUMNS` with the borough columns missing and
        ``location_status`` "located" or "no location" (see :func:`assign_boroughs`).
        ``month`` is the month of the search in London time (the Date column is UTC:
        a search at 00:30 BST on 1 June is in June); ``datetime`` is the UTC time.

    Raises
    ------
    DataValidationError
        Missing column, malformed date, a search dated in another month than the file
        name's, a latitude without a longitude (or outside -90..90), unknown Outcome
        string, unknown self-defined or officer-defined ethnicity.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "2017-06-metropolitan-stop-and-search.csv"
    >>> _ = f.write_text(
    ...     "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,"
    ...     "Gender,Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,"
    ...     "Object of search,Outcome,Outcome linked to object of search,"
    ...     "Removal of more than just outer clothing\\n"
    ...     "Person search,2017-05-31T23:30:00+00:00,False,,51.5,-0.12,Male,18-24,"
    ...     "White - Irish,White,Misuse of Drugs Act 1971 (section 23),Controlled drugs,"
    ...     "Arrest,,\\n")
    >>> read_stop_search(f)[["month", "self_defined_group", "is_arrest"]]
         month self_defined_group  is_arrest
    0  2017-06              White       True
    """
    return _read_file(Path(path))[0]


_OPTIONAL = (
    "Outcome linked to object of search",
    "Removal of more than just outer clothing",
    "Policing operation",
)


def _read_file(path: Path) -> tuple[pd.DataFrame, set[str]]:
    """The tidy searches of one file, and which optional columns it leaves empty."""
    name = path.name
    frame = _common.read_csv_checked(path, _REQUIRED, what="police.uk stop-and-search file")
    _common.check_not_blank(frame, ["Type", "Date", "Legislation"], name)
    empty = {c for c in _OPTIONAL if c in frame.columns and frame[c].eq("").all()}

    when = pd.to_datetime(frame["Date"], utc=True, errors="coerce", format="ISO8601")
    _common.raise_at_first(
        when.isna(), frame, "Date", "Date {value!r} is not a date and time (ISO 8601)", name
    )
    local = when.dt.tz_convert("Europe/London").dt.tz_localize(None)
    month = local.dt.to_period("M")
    named = _FILE_MONTH.match(name)
    if named:
        expected = pd.Period(named.group(1), freq="M").ordinal
        _common.raise_at_first(
            pd.Series(month.array.asi8 != expected, index=frame.index),
            frame,
            "Date",
            f"search dated {{value!r}} is not in the file's month {named.group(1)} (London time)",
            name,
        )

    coordinates = {}
    for column, limit in (("Latitude", 90), ("Longitude", 180)):
        number = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        _common.raise_at_first(
            (frame[column].ne("") & number.isna()) | (number.abs() > limit),
            frame,
            column,
            f"{column} {{value!r}} is not a coordinate",
            name,
        )
        coordinates[column] = number
    _common.raise_at_first(
        coordinates["Latitude"].isna() != coordinates["Longitude"].isna(),
        frame,
        "Longitude",
        "Latitude and Longitude must both be given or both be blank",
        name,
    )

    _common.raise_at_first(
        ~frame["Outcome"].isin(list(OUTCOME_MAPPING)),
        frame,
        "Outcome",
        "Outcome {value!r} is not a known police.uk outcome: add it to "
        "mpsanalysis.ingest.sources.stop_search.OUTCOME_MAPPING",
        name,
    )
    self_group = map_self_defined_ethnicity(frame["Self-defined ethnicity"].replace("", np.nan))
    _common.raise_at_first(
        self_group.isna(),
        frame,
        "Self-defined ethnicity",
        "Self-defined ethnicity {value!r} fits no ethnic group",
        name,
    )
    officer = frame["Officer-defined ethnicity"]
    _common.raise_at_first(
        officer.ne("") & ~officer.isin(_OFFICER_DEFINED),
        frame,
        "Officer-defined ethnicity",
        f"Officer-defined ethnicity {{value!r}} is not one of {', '.join(sorted(_OFFICER_DEFINED))}",
        name,
    )
    outcome = frame["Outcome"]
    located = coordinates["Latitude"].notna()
    tidy = pd.DataFrame(
        {
            "month": month,
            "datetime": when,
            "search_type": frame["Type"],
            "latitude": coordinates["Latitude"],
            "longitude": coordinates["Longitude"],
            "borough_code": pd.Series(np.nan, index=frame.index, dtype="str"),
            "borough_name": pd.Series(np.nan, index=frame.index, dtype="str"),
            "location_status": np.where(located, "located", "no location"),
            "gender": frame["Gender"].replace("", "Not recorded"),
            "age_range": frame["Age range"].replace("", "Not recorded"),
            "self_defined_ethnicity": frame["Self-defined ethnicity"].replace("", np.nan),
            "self_defined_group": self_group,
            "officer_defined_ethnicity": officer.replace("", "Not recorded"),
            "legislation": frame["Legislation"],
            "object_of_search": frame["Object of search"].replace("", "Not recorded"),
            "outcome": outcome,
            "outcome_group": outcome.map({k: v[0] for k, v in OUTCOME_MAPPING.items()}),
            "is_arrest": outcome.map({k: v[1] for k, v in OUTCOME_MAPPING.items()}).astype(bool),
            "is_positive_outcome": outcome.map(
                {k: v[2] for k, v in OUTCOME_MAPPING.items()}
            ).astype(bool),
            "source_file": name,
        }
    )
    return tidy[SEARCH_COLUMNS].reset_index(drop=True), empty


def assign_boroughs(
    searches: pd.DataFrame,
    boundaries,
    snap_metres: float = SNAP_METRES,
) -> pd.DataFrame:
    """Give each located search its borough by point-in-polygon.

    Parameters
    ----------
    searches : pandas.DataFrame
        Searches with ``latitude`` and ``longitude`` (WGS84 degrees).
    boundaries : geopandas.GeoDataFrame
        Borough polygons with ``borough_code`` and ``borough_name``
        (:func:`mpsanalysis.ingest.sources.maps.read_borough_boundaries`).
    snap_metres : float
        A point outside every polygon but within this distance of one takes the nearest
        borough (the generalised boundaries leave out the Thames).

    Returns
    -------
    pandas.DataFrame
        A copy of ``searches`` with ``borough_code``, ``borough_name`` and
        ``location_status``: ``"in borough"``, ``"nearest borough"`` (snapped),
        ``"outside london"`` or ``"no location"``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> one = gpd.GeoDataFrame({"borough_code": ["E09000033"], "borough_name": ["Westminster"]},
    ...     geometry=[box(528000, 178000, 532000, 182000)], crs=27700)
    >>> s = pd.DataFrame({"latitude": [51.51, 52.0, None], "longitude": [-0.14, -1.0, None]})
    >>> assign_boroughs(s, one)[["borough_name", "location_status"]]
      borough_name location_status
    0  Westminster      in borough
    1          NaN  outside london
    2          NaN     no location
    """
    import geopandas as gpd

    if snap_metres < 0:
        raise ParameterError(f"snap_metres {snap_metres} must not be negative")
    check_columns(searches, ["latitude", "longitude"], "assign_boroughs: searches")
    check_columns(boundaries, ["borough_code", "borough_name"], "assign_boroughs")
    out = searches.copy()
    located = out["latitude"].notna() & out["longitude"].notna()
    code = pd.Series(np.nan, index=out.index, dtype="str")
    name = pd.Series(np.nan, index=out.index, dtype="str")
    status = pd.Series(np.where(located, "outside london", "no location"), index=out.index)
    if located.any():
        shapes = boundaries.to_crs(27700)[["borough_code", "borough_name", "geometry"]]
        points = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(
                out.loc[located, "longitude"], out.loc[located, "latitude"]
            ),
            index=out.index[located],
            crs=4326,
        ).to_crs(27700)
        inside = gpd.sjoin(points, shapes, how="left", predicate="within")
        inside = inside[~inside.index.duplicated(keep="first")]
        hit = inside["borough_code"].notna()
        code[inside.index[hit]] = inside.loc[hit, "borough_code"]
        name[inside.index[hit]] = inside.loc[hit, "borough_name"]
        status[inside.index[hit]] = "in borough"
        if snap_metres > 0 and (~hit).any():
            near = gpd.sjoin_nearest(
                points.loc[inside.index[~hit]], shapes, how="inner", max_distance=snap_metres
            )
            near = near[~near.index.duplicated(keep="first")]
            code[near.index] = near["borough_code"]
            name[near.index] = near["borough_name"]
            status[near.index] = "nearest borough"
    out["borough_code"] = code
    out["borough_name"] = name
    out["location_status"] = status
    return out


def build_stop_search(
    folder: str | Path, boundaries_folder: str | Path | None = None
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read every stop-and-search file of a folder into the ``stop_search`` table.

    Parameters
    ----------
    folder : str or pathlib.Path
        E.g. ``raw_root / "police-uk" / "met-stop-search-2017-2018"``.
    boundaries_folder : str or pathlib.Path, optional
        The borough boundaries (``raw_root / "geography" / "borough"``); without them no
        borough is assigned and the log says so.

    Returns
    -------
    (dict, dict)
        ``stop_search`` (:data:`SEARCH_COLUMNS`) and the log entry, whose warnings count
        searches without a location, outside London and snapped to the nearest borough,
        and report the change of outcome wording and columns the force left empty.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*-stop-and-search.csv") if not p.name.startswith("."))
    if not files:
        raise DataValidationError(
            f"no stop-and-search files (*-stop-and-search.csv) in {folder.name}/"
        )
    read = [_read_file(p) for p in files]
    searches = pd.concat([tidy for tidy, _ in read], ignore_index=True)
    always_empty = set.intersection(*(empty for _, empty in read))
    warnings: list[str] = []
    total = len(searches)
    if boundaries_folder is not None:
        from mpsanalysis.ingest.sources import maps

        searches = assign_boroughs(searches, maps.read_borough_boundaries(boundaries_folder))
        status = searches["location_status"].value_counts()
        warnings.append(
            f"{int(status.get('no location', 0)):,} of {total:,} searches "
            f"({status.get('no location', 0) / total:.1%}) have no location and so no borough; "
            f"{int(status.get('outside london', 0)):,} are located outside every London borough; "
            f"{int(status.get('nearest borough', 0)):,} fall just outside the generalised "
            f"boundaries (on the Thames or a boundary line, within {SNAP_METRES:.0f} m) and "
            "take the nearest borough. Borough figures therefore undercount."
        )
    else:
        warnings.append(
            "borough boundaries not supplied (geography/borough): no search has a borough."
        )
    wordings = searches.groupby("outcome")["month"].agg(["min", "max"])
    for old, new in (
        ("Suspect arrested", "Arrest"),
        ("Nothing found - no further action", "A no further action disposal"),
    ):
        if old in wordings.index and new in wordings.index:
            warnings.append(
                f"the Outcome wording changes: {old!r} is used {wordings.loc[old, 'min']} to "
                f"{wordings.loc[old, 'max']}, {new!r} {wordings.loc[new, 'min']} to "
                f"{wordings.loc[new, 'max']}; both are mapped to the same outcome group."
            )
    self_stated = searches["self_defined_group"].isin(["Not stated", "Not recorded"]).mean()
    warnings.append(
        f"{self_stated:.1%} of searches have no self-defined ethnicity (not stated or not "
        "recorded); shares by self-defined ethnicity are of the remaining searches plus these "
        "two groups."
    )
    raw_empty = sorted(always_empty)
    if raw_empty:
        warnings.append(
            f"columns left empty by the force in every file: {', '.join(raw_empty)}; "
            "find rates linked to the object of search cannot be computed."
        )
    tables = {"stop_search": searches}
    return tables, _common.make_log("stop_search", tables, files, warnings)
