"""SYNTHETIC LSOA-level crime at scale, for testing how the pipeline copes with big data.

Nothing here is real LSOA data. Each of the 32 boroughs' real monthly counts (London
Datastore borough file, current classification) is shared out among the borough's
LSOAs at random, in proportion to the LSOA's real share of the borough's crime that
year (London Datastore annual LSOA counts). The result has the shape of an LSOA-level
extract — every LSOA x month x minor category the borough file publishes, zeros
included, about 45 million rows — so that the store, the queries and the notebooks can
be measured at that size. Every table, file and column says so: the table is
``synthetic_lsoa_crime``, each row has ``synthetic = true``, the Parquet files carry
``synthetic: true`` metadata, and the raw CSV is named ``SYNTHETIC_...``.

Method
------
For borough *b*, month *m* and minor category *c* with published count *n*, the LSOA
counts are one multinomial draw ``Multinomial(n, p)``, where ``p`` is each LSOA's share
of borough *b*'s crimes of the matching annual category in calendar year *y(m)*. So the
LSOA counts always add up exactly to the published borough count.

* Shares come from ``london-datastore/lsoa-crime-annual`` (2011 LSOAs; one file per
  major category, plus bicycle theft and theft or taking of a motor vehicle). Minor
  categories with their own file use it; others use their major category's file.
* The 2020 column of those files is known to be wrong (the file's author double
  counted half of the year), so 2020 is never used: months in 2020 use the mean of the
  2019 and 2021 shares. Months before 2011 use 2011, months after 2021 use 2021.
* Where the file for a category has no crime at all in a borough and year (the sexual
  offences file is all zeros; fraud has no file), the LSOA's share of all crime that
  year is used.
* The airports pseudo-borough and crimes published with borough "Unknown" have no LSOAs
  and are left out. A month the borough file does not publish (December 2023) has no
  rows: missing, never zero.

The draw is seeded per borough (``numpy.random.SeedSequence([seed, borough number])``),
so the same inputs and seed give the same table on any machine and in any order.

Storage and queries
-------------------
The processed table is Parquet partitioned by borough
(``data/processed/synthetic_lsoa_crime/borough=<slug>/part-0.parquet``), sorted by
major category, minor category, month and LSOA, with dictionary-encoded text and
row-group statistics. :func:`query_lsoa_months` reads it with DuckDB: the borough
selects one file, and the category and month filters skip row groups, so a
notebook-style query reads a few megabytes, not the whole table.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError, ParameterError

__all__ = [
    "TABLE",
    "RAW_CSV_NAME",
    "SEED",
    "SHARE_FILES",
    "read_lsoa_annual",
    "lsoa_shares",
    "borough_series",
    "disaggregate_borough",
    "generate_synthetic_lsoa_crime",
    "build_synthetic_store",
    "synthetic_store_path",
    "write_raw_csv",
    "query_lsoa_months",
    "query_raw_csv",
]

TABLE = "synthetic_lsoa_crime"
RAW_CSV_NAME = "SYNTHETIC_MPS_LSOA_Level_Crime.csv"
SEED = 20100401
FOLDER = "london-datastore/lsoa-crime-annual"
UNRELIABLE_YEARS = (2020,)  # double counted by the file's author: never used for shares
FIRST_YEAR, LAST_YEAR = 2011, 2021

#: Annual LSOA file (``london-2011-2021-<stem>.csv``) for each major category of the
#: current classification; minor categories with a file of their own.
SHARE_FILES: dict[str, str] = {
    "Arson and Criminal Damage": "major-arson",
    "Burglary": "major-burglary",
    "Drug Offences": "major-drugs",
    "Miscellaneous Crimes Against Society": "major-misc",
    "Possession of Weapons": "major-weapons",
    "Public Order Offences": "major-public-order",
    "Robbery": "major-robbery",
    "Sexual Offences": "major-sexual",
    "Theft": "major-theft-all",
    "Vehicle Offences": "major-vehicle-offences",
    "Violence Against the Person": "major-violence",
}
MINOR_SHARE_FILES: dict[tuple[str, str], str] = {
    ("Theft", "Bicycle Theft"): "minor-theft-bicycle",
    ("Vehicle Offences", "Theft or Taking of a Motor Vehicle"): "minor-theft-vehicle",
}
ALL_CRIME = "all"  # the sum of the major files: the fallback share

_ROW_GROUP = 131_072


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --------------------------------------------------------------------------- shares
def read_lsoa_annual(raw: Path | None = None) -> pd.DataFrame:
    """The annual LSOA files as one long table.

    Returns
    -------
    pandas.DataFrame
        ``share_key`` (file stem, or ``all`` for the sum of the major files),
        ``lsoa_code``, ``lsoa_name``, ``borough_name``, ``year``, ``count``.

    Raises
    ------
    DataValidationError
        A file is missing or lacks the expected columns.
    """
    folder = (raw or paths.raw_dir()) / FOLDER
    stems = list(SHARE_FILES.values()) + list(MINOR_SHARE_FILES.values())
    frames = []
    for stem in stems:
        path = folder / f"london-2011-2021-{stem}.csv"
        if not path.exists():
            raise DataValidationError(
                "the annual LSOA crime file is missing: run `mpsanalysis fetch`", file=path.name
            )
        table = pd.read_csv(path)
        years = [str(y) for y in range(FIRST_YEAR, LAST_YEAR + 1)]
        needed = ["LSOA11CD", "LSOA11NM", "LAD11NM", *years]
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise DataValidationError(f"missing columns {missing}", file=path.name)
        long = table.melt(
            id_vars=["LSOA11CD", "LSOA11NM", "LAD11NM"],
            value_vars=years,
            var_name="year",
            value_name="count",
        )
        long["share_key"] = stem
        frames.append(long)
    annual = pd.concat(frames, ignore_index=True).rename(
        columns={"LSOA11CD": "lsoa_code", "LSOA11NM": "lsoa_name", "LAD11NM": "borough_name"}
    )
    annual["year"] = annual["year"].astype(int)
    annual["count"] = annual["count"].fillna(0.0).astype(float)
    majors = annual[annual["share_key"].isin(list(SHARE_FILES.values()))]
    total = majors.groupby(["lsoa_code", "lsoa_name", "borough_name", "year"], as_index=False)[
        "count"
    ].sum()
    total["share_key"] = ALL_CRIME
    return pd.concat([annual, total], ignore_index=True)[
        ["share_key", "lsoa_code", "lsoa_name", "borough_name", "year", "count"]
    ]


def _share_year(year: int) -> tuple[int, ...]:
    """The reliable years whose shares stand for ``year`` (averaged when two)."""
    if year in UNRELIABLE_YEARS:
        return (year - 1, year + 1)
    return (min(max(year, FIRST_YEAR), LAST_YEAR),)


def lsoa_shares(annual: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """Each LSOA's share of its borough's crimes, per share key and year.

    2020 is never read (its column is wrong): a year's shares are those of
    :func:`_share_year`. A (borough, key, year) with no crimes in its file takes the
    ``all`` key's shares.

    Returns
    -------
    pandas.DataFrame
        ``share_key``, ``borough_name``, ``year``, ``lsoa_code``, ``share`` (each
        borough's shares add up to 1).

    Examples
    --------
    >>> annual = pd.DataFrame({
    ...     "share_key": ["all"] * 6, "lsoa_code": ["A", "B"] * 3,
    ...     "lsoa_name": ["A", "B"] * 3, "borough_name": ["X"] * 6,
    ...     "year": [2019, 2019, 2020, 2020, 2021, 2021],
    ...     "count": [1.0, 3.0, 1000.0, 0.0, 3.0, 1.0]})
    >>> lsoa_shares(annual, [2020])["share"].tolist()  # (1/4 + 3/4) / 2, 2020 ignored
    [0.5, 0.5]
    """
    reliable = annual[~annual["year"].isin(UNRELIABLE_YEARS)]
    totals = reliable.groupby(["share_key", "borough_name", "year"])["count"].transform("sum")
    share = (reliable["count"] / totals).where(totals > 0)
    wide = (
        reliable.assign(share=share)
        .set_index(["share_key", "borough_name", "lsoa_code", "year"])["share"]
        .unstack("year")
    )
    out = []
    for year in years:
        sources = [y for y in _share_year(year)]
        part = wide[sources].mean(axis=1, skipna=False).rename("share").reset_index()
        part["year"] = year
        out.append(part)
    shares = pd.concat(out, ignore_index=True)
    fallback = shares[shares["share_key"] == ALL_CRIME].drop(columns="share_key")
    merged = shares.merge(
        fallback, on=["borough_name", "year", "lsoa_code"], suffixes=("", "_all"), how="left"
    )
    merged["share"] = merged["share"].fillna(merged["share_all"])
    return merged[["share_key", "borough_name", "year", "lsoa_code", "share"]]


def _share_key(major: str, minor: str) -> str:
    return MINOR_SHARE_FILES.get((major, minor)) or SHARE_FILES.get(major, ALL_CRIME)


# --------------------------------------------------------------------------- generate
def borough_series(crime: pd.DataFrame | None = None) -> pd.DataFrame:
    """The real monthly counts to disaggregate: current classification, 32 boroughs."""
    from mpsanalysis import boroughs
    from mpsanalysis.measures import compute as measures

    crime = measures.load_borough_crime() if crime is None else crime
    names = set(boroughs.borough_names())
    rows = crime[crime["classification"].eq("new") & crime["borough_name"].isin(names)]
    return rows[["borough_name", "major_category", "minor_category", "month", "count"]]


def _repeat_categorical(values: pd.Series, times: int) -> pd.Categorical:
    import numpy as np

    codes, categories = pd.factorize(values, sort=True)
    return pd.Categorical.from_codes(np.repeat(codes, times), categories=categories)


def disaggregate_borough(
    rows: pd.DataFrame,
    shares: pd.DataFrame,
    seed: int = SEED,
    borough_number: int = 0,
) -> pd.DataFrame:
    """One borough's monthly counts shared out among its LSOAs (multinomial draws).

    Parameters
    ----------
    rows : pandas.DataFrame
        One borough's ``major_category``, ``minor_category``, ``month`` (Period) and
        ``count``.
    shares : pandas.DataFrame
        That borough's :func:`lsoa_shares` for the years of ``rows``.
    seed, borough_number : int
        Seed of the draw (the same seed and number give the same table).

    Returns
    -------
    pandas.DataFrame
        ``month``, ``lsoa_code``, ``major_category``, ``minor_category``, ``count``
        (int32), ``synthetic`` (True): every LSOA for every row of ``rows``, zeros
        included, sorted by category, month and LSOA; per row of ``rows`` the LSOA
        counts add up to its count.
    """
    import numpy as np

    if rows.empty:
        raise ParameterError("no borough rows to disaggregate")
    if (rows["count"] < 0).any():
        raise DataValidationError("negative counts cannot be shared out among LSOAs")
    rng = np.random.default_rng(np.random.SeedSequence([seed, borough_number]))
    rows = rows.sort_values(["major_category", "minor_category", "month"], kind="stable")
    rows = rows.assign(
        share_key=[
            _share_key(a, b)
            for a, b in zip(rows["major_category"], rows["minor_category"], strict=True)
        ],
        year=rows["month"].dt.year,
    )
    lsoas = sorted(shares["lsoa_code"].unique())
    table = shares.pivot_table(
        index=["share_key", "year"], columns="lsoa_code", values="share", aggfunc="first"
    ).reindex(columns=lsoas)
    counts = rows["count"].to_numpy(dtype=np.int64)
    drawn = np.zeros((len(rows), len(lsoas)), dtype=np.int64)
    keys = list(zip(rows["share_key"], rows["year"], strict=True))
    positions: dict[tuple[str, int], list[int]] = {}
    for i, key in enumerate(keys):
        positions.setdefault(key, []).append(i)
    for key in sorted(positions):
        p = table.loc[key].to_numpy(dtype=float)
        if np.isnan(p).any() or not np.isclose(p.sum(), 1.0):
            raise DataValidationError(f"LSOA shares for {key} do not add up to 1")
        index = np.asarray(positions[key])
        drawn[index] = rng.multinomial(counts[index], p / p.sum())
    n_lsoa = len(lsoas)
    frame = pd.DataFrame(
        {
            "month": np.repeat(rows["month"].dt.to_timestamp().to_numpy(), n_lsoa),
            "lsoa_code": pd.Categorical.from_codes(
                np.tile(np.arange(n_lsoa), len(rows)), categories=lsoas
            ),
            "major_category": _repeat_categorical(rows["major_category"], n_lsoa),
            "minor_category": _repeat_categorical(rows["minor_category"], n_lsoa),
            "count": drawn.ravel().astype(np.int32),
        }
    )
    frame["month"] = frame["month"].astype("datetime64[ms]")
    frame["synthetic"] = True
    return frame


def generate_synthetic_lsoa_crime(
    crime: pd.DataFrame | None = None,
    annual: pd.DataFrame | None = None,
    seed: int = SEED,
    boroughs_to_do: Sequence[str] | None = None,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield ``(borough, table)`` for each borough, one at a time (bounded memory)."""
    series = borough_series(crime)
    annual = read_lsoa_annual() if annual is None else annual
    names = sorted(series["borough_name"].unique())
    unknown = set(boroughs_to_do or ()) - set(names)
    if unknown:
        raise ParameterError(f"no borough crime rows for {sorted(unknown)}")
    years = sorted(series["month"].dt.year.unique())
    shares = lsoa_shares(annual, years)
    without = sorted(set(names) - set(shares["borough_name"]))
    if without:
        raise DataValidationError(f"no LSOAs in the annual LSOA files for {without}")
    for number, name in enumerate(names):
        if boroughs_to_do and name not in boroughs_to_do:
            continue
        rows = series[series["borough_name"].eq(name)]
        yield (
            name,
            disaggregate_borough(rows, shares[shares["borough_name"].eq(name)], seed, number),
        )


def synthetic_store_path(directory: Path | None = None) -> Path:
    """Folder of the partitioned synthetic table in the processed store."""
    return (directory or paths.processed_dir()) / TABLE


def build_synthetic_store(
    directory: Path | None = None,
    crime: pd.DataFrame | None = None,
    annual: pd.DataFrame | None = None,
    seed: int = SEED,
    boroughs_to_do: Sequence[str] | None = None,
) -> dict:
    """Generate the SYNTHETIC LSOA table and write it, partitioned by borough.

    The table is written to a temporary folder and renamed into place at the end, so
    a killed build leaves the previous table (or none), never half of one.

    Returns
    -------
    dict
        Build log: ``table``, ``rows``, ``boroughs``, ``bytes``, ``seconds``, ``path``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    target = synthetic_store_path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{TABLE}.", dir=target.parent))
    rows = 0
    written = []
    try:
        for borough, frame in generate_synthetic_lsoa_crime(crime, annual, seed, boroughs_to_do):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            table = table.append_column(
                "borough_name",
                pa.DictionaryArray.from_arrays(
                    pa.array([0] * len(frame), pa.int8()), pa.array([borough])
                ),
            )
            table = table.replace_schema_metadata(
                {
                    "synthetic": "true",
                    "table": TABLE,
                    "seed": str(seed),
                    "method": "real borough counts shared among LSOAs by multinomial draws "
                    "with real annual LSOA shares (not real LSOA data)",
                }
            )
            folder = staging / f"borough={_slug(borough)}"
            folder.mkdir()
            pq.write_table(
                table,
                folder / "part-0.parquet",
                row_group_size=_ROW_GROUP,
                compression="zstd",
                write_statistics=True,
            )
            rows += len(frame)
            written.append(borough)
        if target.exists():
            old = target.with_name(f".{TABLE}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in target.rglob("*.parquet"))
    return {
        "table": TABLE,
        "synthetic": True,
        "rows": rows,
        "boroughs": len(written),
        "bytes": size,
        "seconds": round(time.perf_counter() - started, 2),
        "path": str(target),
    }


# --------------------------------------------------------------------------- raw CSV
def write_raw_csv(path: Path, directory: Path | None = None) -> Path:
    """Write the synthetic table as a publisher-style wide CSV (one row per LSOA and
    minor category, one column per month ``YYYYMM``; blank where not published), with
    a ``synthetic`` column that is always true.

    Used as the baseline of the query benchmark: what an analyst would have if the
    data came as the raw file. Written one borough at a time (bounded memory).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    files = _store_files(directory)
    months = sorted(
        {
            m
            for f in files
            for m in pq.read_table(f, columns=["month"]).column("month").unique().to_pylist()
        }
    )
    labels = [m.strftime("%Y%m") for m in months]
    month_index = pd.DatetimeIndex(months)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = None
    try:
        for file in files:
            frame = pq.read_table(file).to_pandas()
            keys = ["major_category", "minor_category", "lsoa_code"]
            codes = [frame[k].cat.codes.to_numpy(np.int64) for k in keys]
            sizes = [len(frame[k].cat.categories) for k in keys]
            combined = (codes[0] * sizes[1] + codes[1]) * sizes[2] + codes[2]
            row, unique = pd.factorize(combined, sort=True)
            column = month_index.get_indexer(frame["month"])
            grid = np.full((len(unique), len(labels)), -1, dtype=np.int64)
            grid[row, column] = frame["count"].to_numpy()
            lsoa = unique % sizes[2]
            minor = (unique // sizes[2]) % sizes[1]
            major = unique // sizes[2] // sizes[1]
            borough = str(frame["borough_name"].iloc[0])
            columns = {
                "synthetic": pa.array(np.ones(len(unique), dtype=bool)),
                "lsoa_code": pa.array(frame["lsoa_code"].cat.categories[lsoa].astype(str)),
                "borough_name": pa.array([borough] * len(unique)),
                "major_category": pa.array(
                    frame["major_category"].cat.categories[major].astype(str)
                ),
                "minor_category": pa.array(
                    frame["minor_category"].cat.categories[minor].astype(str)
                ),
            }
            for j, label in enumerate(labels):
                values = grid[:, j]
                columns[label] = pa.array(values, pa.int64(), mask=values < 0)
            table = pa.table(columns)
            if writer is None:
                writer = pacsv.CSVWriter(str(tmp), table.schema)
            writer.write_table(table)
        writer.close()
        writer = None
        os.replace(tmp, path)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return path


def _store_files(directory: Path | None) -> list[str]:
    files = sorted(synthetic_store_path(directory).glob("borough=*/part-0.parquet"))
    if not files:
        raise DataValidationError("no synthetic table: run build_synthetic_store first", file=TABLE)
    return [str(f) for f in files]


# --------------------------------------------------------------------------- queries
def _months(start: str | pd.Period, end: str | pd.Period) -> tuple[pd.Period, pd.Period]:
    from mpsanalysis import periods

    first, last = periods.parse_month(start, "start"), periods.parse_month(end, "end")
    if first > last:
        raise ParameterError(f"start {first} is after end {last}")
    return first, last


@functools.lru_cache(maxsize=1)
def _duckdb():
    """One in-memory DuckDB connection per process (it holds no tables, only the
    engine: opening a connection costs about 30 ms, a cursor on it almost nothing)."""
    import duckdb

    return duckdb.connect()


def query_lsoa_months(
    borough: str,
    major: str,
    minors: Sequence[str] | None = None,
    start: str | pd.Period = "2019-04",
    end: str | pd.Period = "2019-10",
    directory: Path | None = None,
) -> pd.DataFrame:
    """Monthly counts per LSOA of one measure in one borough (SYNTHETIC data), read
    with DuckDB from the partitioned store.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code``, ``month`` (Period), ``count``, sorted by LSOA and month.
    """
    from mpsanalysis import boroughs

    name = boroughs.validate_geography(borough)
    first, last = _months(start, end)
    folder = synthetic_store_path(directory) / f"borough={_slug(name)}"
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise DataValidationError(
            f"no synthetic LSOA data for {name}: run the synthetic build", file=TABLE
        )
    sql = (
        "SELECT lsoa_code, month, sum(count)::BIGINT AS count FROM read_parquet(?) "
        "WHERE major_category = ? AND month BETWEEN ? AND ?"
    )
    params: list = [[str(f) for f in files], major, first.to_timestamp(), last.to_timestamp()]
    if minors:
        sql += f" AND minor_category IN ({', '.join('?' for _ in minors)})"
        params += list(minors)
    sql += " GROUP BY lsoa_code, month ORDER BY lsoa_code, month"
    with _duckdb().cursor() as cursor:
        frame = cursor.execute(sql, params).df()
    frame["lsoa_code"] = frame["lsoa_code"].astype(str)
    frame["month"] = pd.to_datetime(frame["month"]).dt.to_period("M")
    return frame


def query_raw_csv(
    path: Path,
    borough: str,
    major: str,
    minors: Sequence[str] | None = None,
    start: str | pd.Period = "2019-04",
    end: str | pd.Period = "2019-10",
) -> pd.DataFrame:
    """The same query as :func:`query_lsoa_months`, answered by reading the raw CSV
    with pandas (the benchmark's baseline)."""
    first, last = _months(start, end)
    raw = pd.read_csv(path)
    rows = raw[raw["borough_name"].eq(borough) & raw["major_category"].eq(major)]
    if minors:
        rows = rows[rows["minor_category"].isin(list(minors))]
    wanted = [m.strftime("%Y%m") for m in pd.period_range(first, last, freq="M")]
    columns = [c for c in wanted if c in rows.columns]
    long = rows.melt(
        id_vars=["lsoa_code"], value_vars=columns, var_name="month", value_name="count"
    ).dropna(subset=["count"])
    out = long.groupby(["lsoa_code", "month"], as_index=False)["count"].sum()
    out["count"] = out["count"].astype("int64")
    out["lsoa_code"] = out["lsoa_code"].astype(str)
    out["month"] = pd.to_datetime(out["month"], format="%Y%m").dt.to_period("M")
    return out.sort_values(["lsoa_code", "month"], ignore_index=True)
