"""Bring the publishers' raw files into ``data/raw/`` and record their checksums.

Files come from a local mirror (``MPSANALYSIS_DATA_MIRROR``, else ``../shared/data``)
with the mirror's folder layout kept, or are downloaded from the publishers' URLs.
Raw files are never modified: each copy is made read-only and its SHA-256 is written to
``data/raw/checksums.json``; :func:`verify_checksums` refuses a file that has changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError, ParameterError

__all__ = [
    "PUBLISHED_FILES",
    "CHECKSUMS_FILE",
    "sha256_file",
    "fetch_from_mirror",
    "download_published",
    "verify_checksums",
    "read_checksums",
]

CHECKSUMS_FILE = "checksums.json"

#: Files the London Datastore publishes ("MPS Recorded Crime: Geographic Breakdown",
#: https://data.london.gov.uk/dataset/recorded_crime_summary), by their place in
#: data/raw/. Used when no local mirror exists. The Datastore re-issues the address of a
#: file when it refreshes it, so these are the last known addresses: when one fails, copy
#: the new one from the dataset page. The old-classification and superseded vintages are
#: no longer served and come from a mirror only. Months come from each file's header,
#: never from its name.
PUBLISHED_FILES = {
    "london-datastore/borough-crime/MPS_Borough_Level_Crime_Historical.csv": (
        "https://data.london.gov.uk/download/recorded_crime_summary/"
        "2bbd58c7-6be6-40ac-99ed-38c0ee411c8e/MPS%20Borough%20Level%20Crime%20%28Historical%29.csv"
    ),
    "london-datastore/borough-crime/MPS_Borough_Level_Crime_recent24m.csv": (
        "https://data.london.gov.uk/download/recorded_crime_summary/"
        "d2e9ccfc-a054-41e3-89fb-53c2bc3ed87a/"
        "MPS%20Borough%20Level%20Crime%20%28most%20recent%2024%20months%29.csv"
    ),
}

_SKIP_SUFFIXES = {".tmp", ".part"}


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, streamed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = f.write_bytes(b"abc")
    >>> sha256_file(f)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(raw: Path | None = None) -> dict[str, dict]:
    """The recorded checksums (empty when nothing has been fetched)."""
    target = (raw or paths.raw_dir()) / CHECKSUMS_FILE
    if not target.exists():
        return {}
    advice = "delete it and run `mpsanalysis fetch` again"
    try:
        records = json.loads(target.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"corrupted ({exc}); {advice}", file=CHECKSUMS_FILE) from exc
    if not isinstance(records, dict):
        raise DataValidationError(
            f"corrupted (expected a mapping of file to checksum); {advice}", file=CHECKSUMS_FILE
        )
    for relative, record in records.items():
        digest = record.get("sha256") if isinstance(record, dict) else None
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise DataValidationError(
                f"corrupted (the entry for {relative!r} has no valid SHA-256); {advice}",
                file=CHECKSUMS_FILE,
            )
    return records


def _write_checksums(raw: Path, records: dict[str, dict]) -> None:
    fd, tmp = tempfile.mkstemp(dir=raw, prefix=".checksums.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(records, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, raw / CHECKSUMS_FILE)


def _install(source: Path, target: Path) -> None:
    """Copy atomically and make the copy read-only."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mirror_files(mirror: Path) -> Iterable[Path]:
    for path in sorted(mirror.rglob("*")):
        if not path.is_file() or path.suffix in _SKIP_SUFFIXES or path.name.startswith("."):
            continue
        if path.parent == mirror and path.name == "README.md":
            continue  # the mirror's own index; data/raw/README.md is the project's
        yield path


def fetch_from_mirror(mirror: Path | None = None, raw: Path | None = None) -> dict[str, dict]:
    """Copy every file of a local mirror into ``data/raw/``, keeping its layout.

    Files already present with the same checksum are left alone.

    Parameters
    ----------
    mirror : pathlib.Path, optional
        The mirror (default :func:`mpsanalysis.paths.default_mirror`).
    raw : pathlib.Path, optional
        The raw folder (default :func:`mpsanalysis.paths.raw_dir`).

    Returns
    -------
    dict
        Checksum records by relative path: sha256, bytes, source.
    """
    mirror = mirror or paths.default_mirror()
    if mirror is None:
        raise ParameterError(
            "no data mirror: set MPSANALYSIS_DATA_MIRROR, pass --from DIR, or put "
            "../shared/data beside the checkout"
        )
    mirror = Path(mirror)
    if not mirror.is_dir():
        raise ParameterError(f"--from {mirror.name!r} is not a folder")
    raw = raw or paths.raw_dir()
    raw.mkdir(parents=True, exist_ok=True)
    records = read_checksums(raw)
    for source in _mirror_files(mirror):
        relative = source.relative_to(mirror).as_posix()
        target = raw / relative
        digest = sha256_file(source)
        if not (
            target.exists()
            and records.get(relative, {}).get("sha256") == digest
            and sha256_file(target) == digest
        ):
            _install(source, target)
        records[relative] = {
            "sha256": digest,
            "bytes": source.stat().st_size,
            "source": f"mirror:{relative}",
        }
    _write_checksums(raw, records)
    return records


def download_published(
    raw: Path | None = None, files: dict[str, str] | None = None, timeout: float = 60
) -> dict[str, dict]:
    """Download the published files into ``data/raw/`` and record their checksums.

    Parameters
    ----------
    raw : pathlib.Path, optional
        The raw folder.
    files : dict, optional
        Relative path to URL (default :data:`PUBLISHED_FILES`).
    timeout : float
        Seconds per request.
    """
    raw = raw or paths.raw_dir()
    raw.mkdir(parents=True, exist_ok=True)
    records = read_checksums(raw)
    for relative, url in (files or PUBLISHED_FILES).items():
        target = raw / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        os.close(fd)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            if os.path.getsize(tmp) == 0:
                raise DataValidationError(f"download from {url} was empty", file=target.name)
            os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            os.replace(tmp, target)
        except OSError as exc:
            raise DataValidationError(
                f"download from {url} failed ({exc})", file=target.name
            ) from exc
        finally:
            Path(tmp).unlink(missing_ok=True)
        records[relative] = {
            "sha256": sha256_file(target),
            "bytes": target.stat().st_size,
            "source": url,
        }
    _write_checksums(raw, records)
    return records


def verify_checksums(raw: Path | None = None) -> dict[str, dict]:
    """Check every recorded raw file against its checksum.

    Raises
    ------
    DataValidationError
        When nothing has been fetched, a file is missing, or a file has changed.
    """
    raw = raw or paths.raw_dir()
    records = read_checksums(raw)
    if not records:
        raise DataValidationError(
            "no raw data has been fetched: run `mpsanalysis fetch` first", file=CHECKSUMS_FILE
        )
    for relative, record in records.items():
        target = raw / relative
        if not target.exists():
            raise DataValidationError(
                "is recorded by fetch but missing from data/raw/: run `mpsanalysis fetch`",
                file=relative,
            )
        if sha256_file(target) != record["sha256"]:
            raise DataValidationError(
                "has changed since it was fetched (SHA-256 differs); raw files are read-only:"
                " run `mpsanalysis fetch` to restore the published copy",
                file=relative,
            )
    return records
