"""Ward-level recorded crime: the London Datastore "MPS Ward Level Crime" 24-month files.

Each file is wide: ``MajorText, MinorText, WardName, WardCode, LookUp_BoroughName`` then
one ``YYYYMM`` column per month. Five snapshots overlap (2017-03 to 2025-12, with a gap
from 2019-03 to 2020-08). This module validates each file, tidies it, takes each month
from the newest file that has it, and reports what changed between snapshots.

Two things make ward series hard to compare over time, and both are reported:

* ward boundaries changed in May 2022: the first two files use the earlier wards
  (``ward_vintage`` ``"2014"``: 2014 wards, with the 2018-19 reviews of some boroughs),
  the last three the May 2022 wards (``"2022"``);
* the MPS reduced the number of minor categories in its later releases (e.g. the
  separate miscellaneous offences became one "Misc Crimes Against Society").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from mpsanalysis import boroughs
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest import loaders
from mpsanalysis.ingest.sources import _common

__all__ = [
    "WARD_COLUMNS",
    "REVISION_COLUMNS",
    "FIRST_2022_WARD_CODE",
    "detect_ward_vintage",
    "read_ward_crime",
    "combine_ward_files",
    "summarise_ward_categories",
    "build_wards",
]

#: Columns of the tidy ward table.
WARD_COLUMNS = [
    "month",
    "ward_code",
    "ward_name",
    "ward_vintage",
    "borough_code",
    "borough_name",
    "major_category",
    "minor_category",
    "count",
    "source_file",
]

#: Columns of the revisions table (cells published differently by two snapshots).
REVISION_COLUMNS = [
    "month",
    "ward_code",
    "ward_name",
    "borough_code",
    "borough_name",
    "major_category",
    "minor_category",
    "superseded_count",
    "count",
    "difference",
    "superseded_file",
    "source_file",
]

#: Ward codes from here upwards were issued for the May 2022 London wards (the lowest
#: new code in the published files is E05013496); earlier London wards are all below
#: E05011500.
FIRST_2022_WARD_CODE = "E05013000"

_REQUIRED = ["MajorText", "MinorText", "WardName", "WardCode", "LookUp_BoroughName"]
_ALIASES = {"BoroughName": "LookUp_BoroughName"}
_WARD_CODE = re.compile(r"^E05\d{6}$")
_KEYS = ["ward_code", "borough_code", "major_category", "minor_category"]


def detect_ward_vintage(codes: Iterable[str]) -> str:
    """Which ward boundaries a set of ward codes belongs to: ``"2014"`` or ``"2022"``.

    Parameters
    ----------
    codes : iterable of str
        GSS ward codes (``E05...``) from one file.

    Returns
    -------
    str
        ``"2022"`` when any code is at or above :data:`FIRST_2022_WARD_CODE` (the May
        2022 London wards), else ``"2014"``.

    Notes
    -----
    Wards whose boundaries did not change in 2022 keep their old codes, so a 2022 file
    also contains some codes below the threshold; one new code is enough to tell.

    Examples
    --------
    >>> detect_ward_vintage(["E05000026", "E05009317"])
    '2014'
    >>> detect_ward_vintage(["E05009317", "E05014053"])
    '2022'
    """
    return "2022" if any(str(c) >= FIRST_2022_WARD_CODE for c in codes) else "2014"


def read_ward_crime(path: str | Path) -> pd.DataFrame:
    """Read and validate one ward-level crime file into the tidy monthly table.

    Parameters
    ----------
    path : str or pathlib.Path
        A London Datastore "MPS Ward Level Crime" CSV.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`WARD_COLUMNS`: month (monthly Period), ward_code, ward_name,
        ward_vintage (``"2014"``/``"2022"``), borough_code (GSS; the airports
        pseudo-code for "Aviation Security (SO18)"), borough_name (canonical),
        major_category and minor_category (as published, spaces tidied), count (int64),
        source_file (the file's name).

    Raises
    ------
    DataValidationError
        Naming the file, line and column: missing column (``BoroughName`` is accepted for
        ``LookUp_BoroughName``), malformed or repeated month header, blank cell, malformed
        ward code, unknown borough, blank, non-numeric, non-integer or negative count,
        duplicate ward/borough/category rows.

    Notes
    -----
    Rows absent from a file mean no crimes in that ward and category over the file's
    months. The ward "Heathrow Villages" appears twice in the 2022 files: under
    Hillingdon and under the pseudo-borough "Aviation Security (SO18)"; the borough is
    part of a row's key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "wards.csv"
    >>> _ = f.write_text(
    ...     "MajorText,MinorText,WardName,WardCode,LookUp_BoroughName,201703,201704\\n"
    ...     "Robbery,Robbery of Personal Property,Abbey,E05000026,Barking and Dagenham,3,5\\n")
    >>> read_ward_crime(f)[["month", "ward_code", "ward_vintage", "borough_code", "count"]]
         month  ward_code ward_vintage borough_code  count
    0  2017-03  E05000026         2014    E09000002      3
    1  2017-04  E05000026         2014    E09000002      5
    """
    path = Path(path)
    name = path.name
    frame = _common.read_csv_checked(
        path, _REQUIRED, aliases=_ALIASES, what="ward-level crime file"
    )
    month_cols = [c for c in frame.columns if c not in _REQUIRED]
    months = _common.parse_yyyymm_headers(month_cols, name)
    _common.check_not_blank(frame, _REQUIRED, name)
    for column in ("MajorText", "MinorText", "WardName"):
        frame[column] = frame[column].str.split().str.join(" ")

    _common.raise_at_first(
        ~frame["WardCode"].str.match(_WARD_CODE),
        frame,
        "WardCode",
        "ward code {value!r} is not a GSS ward code (E05 and six digits)",
        name,
    )
    spellings = frame["LookUp_BoroughName"].unique()
    canonical = {v: boroughs.normalise_borough_name(v) for v in spellings}
    names = frame["LookUp_BoroughName"].map(canonical)
    _common.raise_at_first(
        names.isna(),
        frame,
        "LookUp_BoroughName",
        "unknown borough {value!r} (not a London borough or 'Aviation Security (SO18)')",
        name,
    )
    codes = names.map({n: boroughs.lookup_borough_code(n) for n in set(canonical.values()) if n})
    values = _common.parse_counts(frame, month_cols, name)

    keys = pd.DataFrame(
        {
            "ward_code": frame["WardCode"],
            "borough_code": codes,
            "major_category": frame["MajorText"],
            "minor_category": frame["MinorText"],
        }
    )
    duplicated = keys.duplicated(keep=False)
    if duplicated.any():
        lines = [int(i) for i in keys.index[duplicated]]
        first = keys.loc[lines[0]]
        raise DataValidationError(
            f"duplicate rows for ward {first['ward_code']} / {first['major_category']} / "
            f"{first['minor_category']} (lines {', '.join(map(str, lines[:5]))})",
            file=name,
            row=lines[1],
        )

    n_rows, n_months = values.shape
    rows = np.repeat(np.arange(n_rows), n_months)

    def repeat(column: pd.Series) -> pd.Categorical:
        # Categoricals keep a 24-fold longer table fast to build, join and store.
        categorical = pd.Categorical(column.to_numpy())
        return pd.Categorical.from_codes(categorical.codes[rows], categorical.categories)

    tidy = pd.DataFrame(
        {
            "month": months[np.tile(np.arange(n_months), n_rows)],
            "ward_code": repeat(frame["WardCode"]),
            "ward_name": repeat(frame["WardName"]),
            "ward_vintage": _constant(detect_ward_vintage(frame["WardCode"].unique()), len(rows)),
            "borough_code": repeat(codes),
            "borough_name": repeat(names),
            "major_category": repeat(frame["MajorText"]),
            "minor_category": repeat(frame["MinorText"]),
            "count": values.reshape(-1).astype("int64"),
            "source_file": _constant(name, len(rows)),
        }
    )
    return tidy[WARD_COLUMNS]


def _constant(value: str, length: int) -> pd.Categorical:
    return pd.Categorical.from_codes(np.zeros(length, dtype=np.int8), [value])


_TEXT_COLUMNS = [c for c in WARD_COLUMNS if c not in ("month", "count")]


def _concat(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate tidy ward tables with shared categoricals and one category spelling.

    Category spellings are made consistent with the borough loader's rule
    (:func:`mpsanalysis.ingest.loaders.canonical_category_names`): capitals in the newest
    files and double spaces in the oldest become the older mixed-case spelling.
    """
    dtypes = {}
    for column in _TEXT_COLUMNS:
        values: set[str] = set()
        for table in tables:
            series = table[column]
            cats = (
                series.cat.categories
                if isinstance(series.dtype, pd.CategoricalDtype)
                else series.unique()
            )
            values.update(map(str, cats))
        dtypes[column] = pd.CategoricalDtype(sorted(values))
    frame = pd.concat([t[WARD_COLUMNS].astype(dtypes) for t in tables], ignore_index=True)
    for column in ("major_category", "minor_category"):
        categories = pd.Series(frame[column].cat.categories)
        canonical = loaders.canonical_category_names(categories.str.split().str.join(" "))
        new_categories = pd.Index(sorted(set(canonical)))
        recode = new_categories.get_indexer(canonical)
        codes = frame[column].cat.codes.to_numpy()
        frame[column] = pd.Categorical.from_codes(recode[codes], new_categories)
    return frame


def combine_ward_files(tables: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Combine ward files: each month from the newest file, revisions reported.

    Parameters
    ----------
    tables : list of pandas.DataFrame
        Outputs of :func:`read_ward_crime`, one per file.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The combined tidy table (:data:`WARD_COLUMNS`; text columns categorical,
        categories in one spelling), and the revisions table (:data:`REVISION_COLUMNS`):
        every cell (month, ward code, borough, major and minor category) published by
        both a superseded file and the file used for that month, with different counts.

    Notes
    -----
    The file used for a month is the one whose last month is latest (ties: the later
    file name). Category spellings are made consistent first (capitals in the newest
    files, double spaces in the oldest) with
    :func:`mpsanalysis.ingest.loaders.canonical_category_names`, so a respelled category is
    compared but a renamed or merged one is not. ``difference`` is the newer count
    minus the superseded one.

    Examples
    --------
    Two snapshots overlap in April 2017; the newer one revised 5 to 6:

    >>> def t(name, months, counts):
    ...     return pd.DataFrame({"month": pd.PeriodIndex(months, freq="M"),
    ...         "ward_code": "E05000026", "ward_name": "Abbey", "ward_vintage": "2014",
    ...         "borough_code": "E09000002", "borough_name": "Barking and Dagenham",
    ...         "major_category": "Robbery", "minor_category": "Robbery of Personal Property",
    ...         "count": counts, "source_file": name})
    >>> combined, revisions = combine_ward_files(
    ...     [t("old.csv", ["2017-03", "2017-04"], [3, 5]),
    ...      t("new.csv", ["2017-04", "2017-05"], [6, 2])])
    >>> combined[["month", "count", "source_file"]]
         month  count source_file
    0  2017-03      3     old.csv
    1  2017-04      6     new.csv
    2  2017-05      2     new.csv
    >>> revisions[["month", "superseded_count", "count", "difference"]]
         month  superseded_count  count  difference
    0  2017-04                 5      6           1
    """
    if not tables:
        raise DataValidationError("no ward-level crime files were found")
    combined, revisions, _ = _combine(_concat(tables))
    return combined, revisions


def _combine(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(combined, revisions, superseded cells with their comparison) from a concat."""
    owner = _owner_codes(frame)
    used = owner == frame["source_file"].cat.codes.to_numpy()
    keys = _cell_keys(frame)
    combined = frame.loc[used, WARD_COLUMNS]
    superseded = frame.loc[~used, ["month", *_KEYS, "ward_vintage", "count", "source_file"]]
    superseded = superseded.rename(
        columns={
            "count": "superseded_count",
            "source_file": "superseded_file",
            "ward_vintage": "superseded_vintage",
        }
    )
    superseded["owner_file"] = pd.Categorical.from_codes(
        owner[~used], frame["source_file"].cat.categories
    )
    # Match each superseded cell to the used cell with the same key (or none).
    position = pd.Index(keys[used]).get_indexer(keys[~used])
    matched = position >= 0
    compared = superseded.reset_index(drop=True)
    for column in ("ward_name", "borough_name", "source_file"):
        codes = combined[column].cat.codes.to_numpy()[np.where(matched, position, 0)]
        compared[column] = pd.Categorical.from_codes(
            np.where(matched, codes, -1), dtype=combined[column].dtype
        )
    counts = combined["count"].to_numpy()[np.where(matched, position, 0)].astype(float)
    compared["count"] = np.where(matched, counts, np.nan)
    compared["difference"] = compared["count"] - compared["superseded_count"]
    changed = compared["difference"].ne(0) & compared["count"].notna()
    revisions = compared.loc[changed, REVISION_COLUMNS].copy()
    for column in ("count", "difference"):
        revisions[column] = revisions[column].astype("int64")
    combined = combined.sort_values(
        ["month", "borough_code", "ward_code", "major_category", "minor_category"]
    ).reset_index(drop=True)
    revisions = revisions.sort_values(["month", "ward_code", "minor_category"]).reset_index(
        drop=True
    )
    return combined, revisions, compared


def _cell_keys(frame: pd.DataFrame) -> np.ndarray:
    """One int64 per (month, ward, borough, major, minor) cell, from the shared codes."""
    ordinals = frame["month"].array.asi8
    key = ordinals - ordinals.min()
    for column in _KEYS:
        size = len(frame[column].cat.categories) + 1
        key = key * size + frame[column].cat.codes.to_numpy().astype(np.int64)
    return key


def _owner_codes(frame: pd.DataFrame) -> np.ndarray:
    """For every row, the code of the file used for its month: the latest-ending file."""
    files = frame["source_file"].cat.codes.to_numpy().astype(np.int64)
    ordinals = frame["month"].array.asi8
    last = pd.Series(ordinals).groupby(files).max()
    names = frame["source_file"].cat.categories
    order = sorted(last.index, key=lambda code: (last[code], str(names[code])))
    rank = np.zeros(len(names), dtype=np.int64)
    rank[order] = np.arange(len(order))
    first = ordinals.min()
    best = np.full(ordinals.max() - first + 1, -1, dtype=np.int64)
    pairs = pd.DataFrame({"m": ordinals - first, "f": files}).drop_duplicates()
    pairs = pairs.assign(r=rank[pairs["f"].to_numpy()]).sort_values("r")
    for month, file in zip(pairs["m"], pairs["f"], strict=True):
        best[month] = file  # in rank order: the latest-ending file is written last
    return best[ordinals - first]


def summarise_ward_categories(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """The categories each ward file publishes, with its period and ward vintage.

    Returns
    -------
    pandas.DataFrame
        One row per file and (major, minor) category: source_file, first_month,
        last_month, ward_vintage, major_category, minor_category, in_newest_file (whether
        the newest file still publishes that minor category).

    Examples
    --------
    >>> a = pd.DataFrame({"month": pd.PeriodIndex(["2017-03"], freq="M"),
    ...     "ward_code": "E05000026", "ward_name": "Abbey", "ward_vintage": "2014",
    ...     "borough_code": "E09000002", "borough_name": "Barking and Dagenham",
    ...     "major_category": "Theft", "minor_category": ["Bicycle Theft"], "count": 1,
    ...     "source_file": "a.csv"})
    >>> b = a.assign(month=pd.PeriodIndex(["2024-01"], freq="M"), source_file="b.csv",
    ...     major_category="THEFT", minor_category="BICYCLE THEFT")
    >>> summarise_ward_categories([a, b])[["source_file", "minor_category", "in_newest_file"]]
      source_file minor_category  in_newest_file
    0       a.csv  Bicycle Theft            True
    1       b.csv  Bicycle Theft            True
    """
    return _summarise_categories(_concat(tables))


def _summarise_categories(frame: pd.DataFrame) -> pd.DataFrame:
    spans = frame.groupby("source_file", observed=True).agg(
        first_month=("month", "min"),
        last_month=("month", "max"),
        ward_vintage=("ward_vintage", "first"),
    )
    categories = (
        frame[["source_file", "major_category", "minor_category"]]
        .drop_duplicates()
        .astype(str)
        .merge(
            spans.reset_index().astype({"source_file": str, "ward_vintage": str}), on="source_file"
        )
    )
    newest = str(spans.sort_values("last_month").index[-1])
    latest_minors = set(categories.loc[categories["source_file"].eq(newest), "minor_category"])
    categories["in_newest_file"] = categories["minor_category"].isin(latest_minors)
    columns = [
        "source_file",
        "first_month",
        "last_month",
        "ward_vintage",
        "major_category",
        "minor_category",
        "in_newest_file",
    ]
    return (
        categories[columns]
        .sort_values(["first_month", "major_category", "minor_category"])
        .reset_index(drop=True)
    )


def _month_label(month: pd.Period) -> str:
    return month.strftime("%b %Y")


def _ward_warnings(
    frame: pd.DataFrame,
    combined: pd.DataFrame,
    revisions: pd.DataFrame,
    compared: pd.DataFrame,
    categories: pd.DataFrame,
) -> list[str]:
    warnings: list[str] = []

    # Overlaps and revisions: one warning per (superseded file, newer file) pair.
    groups = compared.groupby(["superseded_file", "owner_file"], sort=True, observed=True)
    for (old, new), group in groups:
        months = sorted(group["month"].unique())
        matched = group["count"].notna()
        changed = group[matched & group["difference"].ne(0)]
        old_vintage = group["superseded_vintage"].astype(str).iat[0]
        new_vintage = str(combined.loc[combined["month"].eq(months[0]), "ward_vintage"].iat[0])
        vintages = (
            f"both {old_vintage} wards"
            if old_vintage == new_vintage
            else f"{old_vintage} wards in the older file, {new_vintage} wards in the newer"
        )
        by_category = changed.groupby("minor_category", observed=True)["difference"].sum()
        largest = ""
        if len(by_category):
            top = by_category.abs().idxmax()
            largest = f" The largest net change is {top!r} ({int(by_category[top]):+,})"
            in_months = frame["month"].isin(months)
            new_minors = set(
                frame.loc[in_months & frame["source_file"].eq(new), "minor_category"].unique()
            ) - set(frame.loc[in_months & frame["source_file"].eq(old), "minor_category"].unique())
            if new_minors:
                largest += (
                    f"; the newer file adds categories {', '.join(sorted(map(repr, new_minors)))}"
                    ", so part of the change is reclassification rather than revision"
                )
            largest += "."
        warnings.append(
            f"{old} and {new} overlap for {len(months)} months ({_month_label(months[0])} to "
            f"{_month_label(months[-1])}; {vintages}): the newer file is used. Of "
            f"{int(matched.sum()):,} cells published by both (same month, ward code, borough "
            f"and category), {len(changed):,} were revised, total difference "
            f"{int(changed['difference'].sum()):+,} crimes (newer minus older; "
            f"{int(changed['difference'].abs().sum()):,} in absolute terms); "
            f"{int((~matched).sum()):,} cells of the older file have no counterpart in the "
            f"newer (different ward boundaries or categories) and cannot be compared.{largest}"
            " See table ward_crime_revisions."
        )

    # Fewer minor categories in later files.
    per_file = (
        categories.groupby("source_file")
        .agg(last_month=("last_month", "first"), minors=("minor_category", "nunique"))
        .sort_values("last_month")
    )
    if per_file["minors"].iloc[-1] < per_file["minors"].max():
        newest = per_file.index[-1]
        earlier = set(categories.loc[categories["source_file"].ne(newest), "minor_category"])
        dropped = sorted(
            earlier - set(categories.loc[categories["source_file"].eq(newest), "minor_category"])
        )
        counts = ", ".join(f"{f}: {n}" for f, n in per_file["minors"].items())
        warnings.append(
            f"later ward files publish fewer minor categories ({counts}): "
            f"{len(dropped)} minor categories of earlier files are absent from {newest} "
            f"(e.g. {', '.join(repr(d) for d in dropped[:4])}), merged into broader ones "
            "such as 'Misc Crimes Against Society' and 'Possession Of Weapons'. Minor-"
            "category ward series are not comparable across releases (see table "
            "ward_crime_categories); compare major categories instead."
        )

    # Ward boundary change.
    is_old = (combined["ward_vintage"] == "2014").to_numpy()
    if is_old.any() and not is_old.all():
        old_codes = set(combined.loc[is_old, "ward_code"].unique())
        new_codes = set(combined.loc[~is_old, "ward_code"].unique())
        first_new = combined.loc[~is_old, "month"].min()
        last_old = combined.loc[is_old, "month"].max()
        warnings.append(
            f"ward boundaries change between {_month_label(last_old)} (2014 wards) and "
            f"{_month_label(first_new)} (May 2022 wards): only {len(old_codes & new_codes)} "
            f"of {len(new_codes)} ward codes exist in both; a ward's series across the "
            "change is not comparable."
        )

    # Months no file supplies.
    present = set(combined["month"].unique())
    span = pd.period_range(min(present), max(present), freq="M")
    missing = [m for m in span if m not in present]
    if missing:
        warnings.append(
            f"no ward file supplies {len(missing)} months ({_month_label(missing[0])} to "
            f"{_month_label(missing[-1])}): reported as a gap, never as zero."
        )

    # The same ward under two boroughs (Heathrow).
    pairs = combined[["ward_code", "ward_name", "borough_code"]].drop_duplicates().astype(str)
    dual = pairs.groupby("ward_code")["borough_code"].nunique()
    dual = dual[dual > 1]
    if len(dual):
        names = sorted(set(pairs.loc[pairs["ward_code"].isin(dual.index), "ward_name"]))
        warnings.append(
            f"{len(dual)} ward code(s) ({', '.join(sorted(dual.index))}: {', '.join(names)}) "
            "are published under two boroughs, one being the airports pseudo-borough "
            "'Aviation Security (SO18)'; group by ward code and borough together, or the "
            "ward is counted twice."
        )
    return warnings


def build_wards(folder: str | Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, validate and combine every ward-level crime file of a folder.

    Parameters
    ----------
    folder : str or pathlib.Path
        The folder of ward files, e.g. ``raw_root / "london-datastore" / "ward-crime"``.

    Returns
    -------
    (dict, dict)
        Tables ``ward_crime`` (:data:`WARD_COLUMNS`), ``ward_crime_revisions``
        (:data:`REVISION_COLUMNS`) and ``ward_crime_categories`` (see
        :func:`summarise_ward_categories`), and the log entry (source, tables, rows,
        files, warnings).

    Raises
    ------
    DataValidationError
        When the folder has no CSV files or a file fails validation.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.glob("*.csv") if not p.name.startswith("."))
    if not files:
        raise DataValidationError(f"no ward-level crime files (*.csv) in {folder.name}/")
    frame = _concat([read_ward_crime(path) for path in files])
    combined, revisions, compared = _combine(frame)
    categories = _summarise_categories(frame)
    warnings = _ward_warnings(frame, combined, revisions, compared, categories)
    out = {
        "ward_crime": combined,
        "ward_crime_revisions": revisions,
        "ward_crime_categories": categories,
    }
    return out, _common.make_log("ward_crime", out, files, warnings)
