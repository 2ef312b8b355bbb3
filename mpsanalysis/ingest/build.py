"""Build the processed store from the raw files: validate, tidy, resolve vintages.

``mpsanalysis build`` verifies the raw checksums, reads every borough-level crime file,
combines the vintages (the newest file wins a month, classifications kept apart), finds
missing months, builds every other source, and writes the tables into a staging folder
that replaces ``data/processed/`` only when everything has succeeded: a failed or killed
build leaves the previous store intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError, MpsAnalysisError
from mpsanalysis.ingest import completeness, contract, fetch, loaders, revisions, store

__all__ = [
    "BOROUGH_CRIME_FOLDER",
    "build_borough_crime",
    "build_store",
    "compare_republished_tables",
    "recover_store",
    "lock_store",
]

BOROUGH_CRIME_FOLDER = "london-datastore/borough-crime"


#: A month whose London total in one file is below this share of the file's median
#: month is refused as padded or unfinished (the lowest real month, April 2020, is about
#: 75% of the median).
MIN_MONTH_SHARE = 0.5


def _check_month_totals(table: pd.DataFrame) -> None:
    """Refuse a file with a month far below its others (a zero-padded or cut month)."""
    totals = table.groupby("month")["count"].sum()
    if len(totals) < 3 or totals.median() == 0:
        return
    low = totals[totals < MIN_MONTH_SHARE * totals.median()]
    if len(low):
        month = low.index[0]
        raise DataValidationError(
            f"month {month.strftime('%Y%m')} totals {int(low.iloc[0]):,} crimes, under "
            f"{MIN_MONTH_SHARE:.0%} of the file's median month ({int(totals.median()):,}): "
            "a zero-padded or unfinished month",
            file=str(table["source_file"].iat[0]),
            row=1,
            column=month.strftime("%Y%m"),
        )


def _check_releases_present(
    combined: pd.DataFrame, names: list[str], terms: contract.BoroughCrimeContract
) -> None:
    """When the publisher's registered files are built, every registered release's
    months must be supplied: a release missing from the mirror is named."""
    if not any(name in terms.releases for name in names):
        return  # not the publisher's files (e.g. a test's synthetic files)
    for release in terms.releases.values():
        have = set(
            combined.loc[combined["classification"].eq(release.classification), "month"].unique()
        )
        span = pd.period_range(release.first_month, release.last_month, freq="M")
        missing = [m for m in span if m not in have]
        if missing:
            raise DataValidationError(
                f"the registered release {release.file} is missing from the mirror: no file "
                f"supplies {len(missing)} month(s) of the {release.classification} "
                f"classification it covers ({missing[0]} to {missing[-1]}), which every "
                "measure for those months needs; restore it and run `mpsanalysis fetch`",
                file=f"data/raw/{BOROUGH_CRIME_FOLDER}/{release.file}",
            )


def _superseded_rows(tables: list[pd.DataFrame], combined: pd.DataFrame) -> pd.DataFrame:
    """The rows of older files for the months a newer file of this build took over."""
    kept = combined[["classification", "source_file", "month"]].drop_duplicates()
    parts = []
    for table in tables:
        used = kept.loc[kept["source_file"].eq(table["source_file"].iat[0]), "month"]
        part = table[~table["month"].isin(set(used))]
        if len(part):
            parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _respell(names: pd.Series, reference: pd.Series) -> pd.Series:
    """Category names in the spelling ``reference`` uses for the same name (ignoring case
    and spacing), else their own canonical spelling."""
    ref = pd.Series(pd.unique(reference.to_numpy()), dtype=object)
    spelling = dict(zip(ref.map(contract.normalise_key), ref, strict=True))
    own = loaders.canonical_category_names(names)
    keys = names.map(contract.normalise_key)
    return keys.map(spelling).fillna(own)


def fetch_month(raw: Path) -> pd.Period:
    """The month the raw data were fetched: when ``checksums.json`` was last written
    (this month when nothing has been fetched)."""
    target = Path(raw) / fetch.CHECKSUMS_FILE
    if not target.exists():
        return pd.Period.now("M")
    stamp = pd.Timestamp(target.stat().st_mtime, unit="s")
    return pd.Period(stamp, freq="M")


REVISION_KEYS = [
    "classification",
    "month",
    "borough_code",
    "borough_name",
    "major_category",
    "minor_category",
]


def build_borough_crime(
    folder: Path,
    previous: pd.DataFrame | None = None,
    latest_month: pd.Period | None = None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, validate and combine the borough-level crime files of a folder.

    Parameters
    ----------
    folder : pathlib.Path
        The raw borough crime folder.
    previous : pandas.DataFrame, optional
        The previous build's ``borough_crime`` table: the new vintage is compared with it
        over the months both supply (see :mod:`mpsanalysis.ingest.revisions`).
    latest_month : pandas.Period, optional
        The fetch month: no month header may be later.

    Returns
    -------
    (dict, dict)
        Tables by name (``borough_crime``, ``borough_crime_categories``,
        ``borough_crime_vintages``, ``borough_crime_gaps``,
        ``borough_crime_revisions``) and a log entry.
    """
    files = sorted(p for p in Path(folder).glob("*.csv") if not p.name.startswith("."))
    if not files:
        raise DataValidationError(
            f"no borough-level crime files (*.csv) in data/raw/{BOROUGH_CRIME_FOLDER}: "
            "run `mpsanalysis fetch`"
        )
    terms = contract.load_contract()
    tables = []
    contract_warnings: list[str] = []
    for path in files:
        table = loaders.read_borough_crime(path, contract=terms, latest_month=latest_month)
        contract_warnings += contract.check_completeness(table, path.name, terms)
        tables.append(table)
    for table in tables:
        _check_month_totals(table)
    combined, vintages = loaders.combine_vintages(tables)
    _check_releases_present(combined, [p.name for p in files], terms)
    for column in ("major_category", "minor_category"):
        combined[column] = loaders.canonical_category_names(combined[column])
    gaps = loaders.find_missing_months(combined)
    categories = (
        combined.groupby(["classification", "source_file", "major_category", "minor_category"])
        .agg(first_month=("month", "min"), last_month=("month", "max"))
        .reset_index()
    )
    # Each newer vintage against the older one: first the files of this build that
    # overlap (the months a newer file took over), then the previous build's table.
    found = []
    older = _superseded_rows(tables, combined)
    for before in (older, previous):
        if before is None or not len(before):
            continue
        before = before.copy()
        for column in ("major_category", "minor_category"):
            before[column] = _respell(before[column], combined[column])
        changed = revisions.compare_vintages(
            before, combined, REVISION_KEYS, period=("classification", "month")
        )
        revisions.check_losses(
            changed,
            before,
            group=("classification", "month"),
            describe=("month", "borough_name", "major_category", "minor_category"),
            what="borough-level crime",
        )
        found.append(changed)
    changes = (
        pd.concat(found, ignore_index=True)
        if found
        else pd.DataFrame(columns=[*REVISION_KEYS, *revisions.REVISION_COLUMNS])
    )
    warnings = list(contract_warnings)
    if len(changes):
        by_file = changes.groupby(["previous_source_file", "source_file"])
        for (before, after), rows in by_file:
            months = rows["month"]
            warnings.append(
                f"{after or before} revises {len(rows):,} cell(s) of the previous build's "
                f"{before or after} ({months.min()} to {months.max()}, "
                f"{rows['major_category'].nunique()} categories, "
                f"{rows['borough_name'].nunique()} boroughs; net change "
                f"{int(rows['difference'].sum()):+,} crimes). See table "
                "borough_crime_revisions."
            )
    warnings += [
        f"{row.classification} classification: no file supplies {row.month.strftime('%b %Y')}"
        " (reported as a gap, never as zero)"
        for row in gaps.itertuples()
    ]
    unknown = combined[combined["borough_name"].eq("Unknown")]
    if len(unknown):
        warnings.append(
            f"{int(unknown['count'].sum()):,} crimes are published with borough 'Unknown' "
            f"({', '.join(sorted(unknown['source_file'].unique()))}); they count in London "
            "totals but in no borough"
        )
    superseded = vintages[vintages["months_superseded"] > 0]
    for row in superseded.itertuples():
        warnings.append(
            f"{row.source_file}: {row.months_superseded} month(s) superseded by a newer file"
        )
    log = {
        "source": "borough_crime",
        "files": [p.name for p in files],
        "rows": int(len(combined)),
        "tables": [
            "borough_crime",
            "borough_crime_categories",
            "borough_crime_vintages",
            "borough_crime_gaps",
            "borough_crime_revisions",
        ],
        "coverage": {
            c: [str(g["month"].min()), str(g["month"].max())]
            for c, g in combined.groupby("classification")
        },
        "warnings": warnings,
    }
    return (
        {
            "borough_crime": combined,
            "borough_crime_categories": categories,
            "borough_crime_vintages": vintages,
            "borough_crime_gaps": gaps,
            "borough_crime_revisions": changes,
        },
        log,
    )


def _refuse_unrecorded(raw: Path, checksums: dict[str, dict]) -> None:
    """Refuse a borough crime file that ``mpsanalysis fetch`` did not bring in.

    Such a file (a hand-edited copy, a download saved by hand) has no checksum, so the
    build log and every report manifest would not record it although it changes the
    figures.
    """
    folder = raw / BOROUGH_CRIME_FOLDER
    for path in sorted(folder.glob("*.csv")):
        relative = path.relative_to(raw).as_posix()
        if not path.name.startswith(".") and relative not in checksums:
            raise DataValidationError(
                "is in data/raw/ but was not brought in by `mpsanalysis fetch` (it has no "
                "checksum in checksums.json): remove it, or add it to the mirror and run "
                "`mpsanalysis fetch`",
                file=relative,
            )


class _StoreLock:
    """An advisory lock on the data folder, released by :meth:`close`."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def lock_store(processed: Path, *, shared: bool) -> _StoreLock:
    """Lock the processed store: shared while a run reads it, exclusive while a build
    replaces it, so a run never mixes tables of two builds and a build never swaps the
    store under a running notebook.

    The lock is taken on the folder that holds the store (no lock file is left
    behind) and released by ``close()``, or by the operating system however the
    process ends.

    Raises
    ------
    MpsAnalysisError
        When the other kind of user holds the store (nothing is changed).
    """
    processed.parent.mkdir(parents=True, exist_ok=True)
    if os.name != "posix":  # pragma: no cover - advisory locks are POSIX only
        return _StoreLock(None)
    import fcntl

    fd = os.open(processed.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        if shared:
            raise MpsAnalysisError(
                "`mpsanalysis build` is rewriting data/processed/: run again when it has "
                "finished (nothing was changed)"
            ) from None
        raise MpsAnalysisError(
            "data/processed/ is in use by a running `mpsanalysis run` or another build: "
            "build again when it has finished (nothing was changed)"
        ) from None
    return _StoreLock(fd)


def recover_store(processed: Path | None = None) -> None:
    """Put back the previous store if a build was killed between its two renames."""
    processed = processed or paths.processed_dir()
    previous = processed.with_name(processed.name + ".previous")
    if not processed.exists() and previous.exists():
        os.replace(previous, processed)
    elif previous.exists():
        shutil.rmtree(previous, ignore_errors=True)


def build_store(
    raw: Path | None = None, processed: Path | None = None, include_sources: bool = True
) -> dict:
    """Build the whole processed store.

    Parameters
    ----------
    raw : pathlib.Path, optional
        The raw folder (default ``data/raw``).
    processed : pathlib.Path, optional
        The store folder (default ``data/processed``).
    include_sources : bool
        Also build the other sources (wards, homicide, police.uk, population, ...).

    Returns
    -------
    dict
        The build log, also written to ``build_log.json`` in the store.
    """
    raw = raw or paths.raw_dir()
    processed = processed or paths.processed_dir()
    lock = lock_store(processed, shared=False)
    try:
        return _build_locked(raw, processed, include_sources)
    finally:
        lock.close()


def _previous_table(processed: Path, name: str) -> pd.DataFrame | None:
    """The previous build's table, or None (no previous build, or it is unreadable)."""
    if not store.table_exists(name, processed):
        return None
    try:
        return store.read_table(name, directory=processed)
    except DataValidationError:
        return None


def compare_republished_tables(
    previous_dir: Path, new_dir: Path
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Compare every republished source's table in a new build with the previous build.

    For each table of :data:`mpsanalysis.ingest.revisions.REPUBLISHED` present in both
    folders, the cells whose counts changed over the periods both builds supply
    (:func:`mpsanalysis.ingest.revisions.compare_republished`). A previous table that
    cannot be read, or that lacks a column the comparison needs (a store of an older
    layout), is not compared. A cell's change is not refused: these sources' cells are
    fine-grained (one homicide victim reclassified withdraws a cell), so a revision is
    reported, not judged. A period that vanished, or whose total fell by more than half,
    is refused (:func:`mpsanalysis.ingest.completeness.check_republished_losses`): that
    is a damaged file, not a revision. The borough crime files keep their own checks.

    Returns
    -------
    (pandas.DataFrame, dict)
        The ``source_revisions`` table (:data:`~mpsanalysis.ingest.revisions.SOURCE_REVISION_COLUMNS`;
        empty on a first build or when nothing changed) and a build-log line per table
        with revisions.
    """
    found, notes = [], {}
    for spec in revisions.REPUBLISHED:
        paths_ = [store.table_path(spec.table, folder) for folder in (previous_dir, new_dir)]
        if not all(path.exists() for path in paths_):
            continue
        try:
            before = pd.read_parquet(paths_[0], columns=spec.columns)
        except Exception:  # an older or damaged store: nothing to compare with
            continue
        now = pd.read_parquet(paths_[1], columns=spec.columns)
        completeness.check_republished_losses(
            before,
            now,
            spec.table,
            revisions.period_of(now, spec),
            revisions.period_of(before, spec),
            spec.count,
        )
        changed = revisions.compare_republished(before, now, spec)
        if len(changed):
            found.append(changed)
            notes[spec.table] = revisions.describe_revisions(changed, spec)
    if not found:
        return pd.DataFrame(columns=revisions.SOURCE_REVISION_COLUMNS), notes
    return pd.concat(found, ignore_index=True), notes


def _build_locked(raw: Path, processed: Path, include_sources: bool) -> dict:
    recover_store(processed)
    for stale in processed.parent.glob(".processed-staging-*"):  # a killed build's
        shutil.rmtree(stale, ignore_errors=True)
    checksums = fetch.verify_checksums(raw)
    _refuse_unrecorded(raw, checksums)
    staging = Path(tempfile.mkdtemp(prefix=".processed-staging-", dir=processed.parent))
    try:
        tables, log = build_borough_crime(
            raw / BOROUGH_CRIME_FOLDER,
            previous=_previous_table(processed, "borough_crime"),
            latest_month=fetch_month(raw),
        )
        for name, table in tables.items():
            store.write_table(table, name, staging)
        logs = [log]
        if include_sources:
            from mpsanalysis.ingest import sources  # heavy (geopandas): only when building

            logs += sources.build_sources(raw, staging)
        changes, notes = compare_republished_tables(processed, staging)
        store.write_table(changes, "source_revisions", staging)
        for entry in logs:
            entry["warnings"] = [
                *entry.get("warnings", []),
                *(notes[t] for t in entry.get("tables", []) if t in notes),
            ]
        logs.append(
            {
                "source": "source_revisions",
                "files": [],
                "rows": int(len(changes)),
                "tables": ["source_revisions"],
                "warnings": [],
            }
        )
        build_log = {
            "sources": logs,
            "raw_files": {k: v["sha256"] for k, v in sorted(checksums.items())},
        }
        store.write_json(build_log, "build_log", staging)
        for keep in (".gitkeep", "README.md"):
            if (processed / keep).exists():
                shutil.copy2(processed / keep, staging / keep)
        previous = processed.with_name(processed.name + ".previous")
        if processed.exists():
            os.replace(processed, previous)
        os.replace(staging, processed)
        shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return build_log
