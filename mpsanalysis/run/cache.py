"""The report cache: a report whose inputs have not changed is not executed again.

Each report job has a **cache key**, the SHA-256 of:

* the notebook's cells (type, source and cell metadata, in order) and its notebook-level
  metadata other than the kernelspec and papermill's record; the notebook's file name;
* the job's parameters (period end, geography, provisional) and the name and SHA-256 of
  every extract file the report's footer lists;
* the SHA-256 of every processed store table the report **read, or looked for**, as
  recorded in the kernel while it ran (:func:`mpsanalysis.ingest.store.tables_read`);
* the published files every report's footer or maps depend on (the borough crime CSVs
  and the boundary files of ``data/raw/checksums.json``);
* the package's own source (every ``.py``, ``.yaml`` and template file under
  ``mpsanalysis/``), the versions of the libraries that shape the output
  (:data:`OUTPUT_LIBRARIES`) and the kernel's thread setting.

The inputs a report reads are known only after it has run, so each entry stores the
list of tables it read with their checksums and its key. A later run takes that list,
hashes the same tables as they are now, and recomputes the key: equal keys mean the
report would read exactly the same bytes with the same code, and its HTML and executed
notebook are copied back byte for byte.

Entries live in ``reports/.cache/<job>/<key>/`` (``report.html.cached``,
``report.ipynb.cached``, ``entry.json``). An entry is written in a temporary folder and renamed into place, and
``entry.json`` records the SHA-256 and size of both files and a checksum of itself:
an entry that does not verify (partial, damaged, edited) is deleted, never reused. The
folder can be deleted at any time. Its size is bounded: at most
:func:`max_entries_per_report` entries per report (``MPSANALYSIS_CACHE_ENTRIES``,
default 2) and :func:`max_cache_bytes` in all (``MPSANALYSIS_CACHE_MAX_MB``, default
1024), the least recently used entries going first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mpsanalysis.ingest.fetch import sha256_file

if TYPE_CHECKING:  # pragma: no cover
    from mpsanalysis.run.jobs import Job

__all__ = [
    "CACHE_DIR_NAME",
    "OUTPUT_LIBRARIES",
    "CacheHit",
    "ReportCache",
    "RunContext",
    "lock_sha256",
    "max_cache_bytes",
    "max_entries_per_report",
    "notebook_hash",
    "source_hash",
]

CACHE_DIR_NAME = ".cache"
_FORMAT = 1
#: The cached files' names: not ``*.html``/``*.ipynb``, so that nothing that looks for
#: published pages under the reports folder (a link checker, a web server's listing,
#: the tests) takes a cached copy for a page.
_HTML = "report.html.cached"
_NOTEBOOK = "report.ipynb.cached"
#: Libraries whose version can change a report's bytes (figures, tables, HTML).
OUTPUT_LIBRARIES: tuple[str, ...] = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "geopandas",
    "pyogrio",
    "shapely",
    "pyproj",
    "pyarrow",
    "pillow",
    "papermill",
    "nbconvert",
    "nbformat",
    "nbclient",
    "ipykernel",
    "jinja2",
    "mistune",
    "pyyaml",
)
#: Published files (paths in ``data/raw/checksums.json``) that every report depends on:
#: the footer lists the borough crime files, the maps draw the boundaries.
_GLOBAL_RAW_PREFIXES: tuple[str, ...] = ("london-datastore/borough-crime/", "geography/")
_NOTEBOOK_METADATA_IGNORED = ("kernelspec", "language_info", "papermill", "widgets")
_CELL_METADATA_IGNORED = ("execution", "collapsed", "scrolled")


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def source_hash(package: Path | None = None) -> str:
    """SHA-256 over the package's ``.py``, ``.yaml`` and template files (paths and bytes).

    Parameters
    ----------
    package : pathlib.Path, optional
        The package folder (default: this ``mpsanalysis`` package).
    """
    package = package or Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(package).as_posix()
        if path.suffix in (".py", ".yaml", ".yml") or "/templates/" in f"/{relative}":
            digest.update(relative.encode("utf-8") + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def notebook_hash(path: Path) -> str:
    """SHA-256 of what a notebook executes and shows: every cell's type, source and
    metadata (less execution timings) and the notebook metadata less the kernelspec,
    ``language_info`` and papermill's record. Outputs and cell ids are left out.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}
    >>> nb = {"cells": [cell], "metadata": {"kernelspec": {"name": "a"}}}
    >>> _ = (folder / "a.ipynb").write_text(json.dumps(nb))
    >>> nb["metadata"]["kernelspec"]["name"] = "b"; cell["outputs"] = [{"text": "1"}]
    >>> _ = (folder / "b.ipynb").write_text(json.dumps(nb))
    >>> notebook_hash(folder / "a.ipynb") == notebook_hash(folder / "b.ipynb")
    True
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))

    def text(source: Any) -> str:
        return "".join(source) if isinstance(source, list) else str(source)

    cells = [
        {
            "type": cell.get("cell_type"),
            "source": text(cell.get("source", "")),
            "metadata": {
                k: v
                for k, v in (cell.get("metadata") or {}).items()
                if k not in _CELL_METADATA_IGNORED
            },
            "attachments": cell.get("attachments"),
        }
        for cell in nb.get("cells", [])
    ]
    metadata = {
        k: v for k, v in (nb.get("metadata") or {}).items() if k not in _NOTEBOOK_METADATA_IGNORED
    }
    return _digest({"cells": cells, "metadata": metadata, "nbformat": nb.get("nbformat")})


def lock_sha256(root: Path | None = None) -> str | None:
    """SHA-256 of ``requirements/lock.txt`` (``None`` when there is no lock file)."""
    from mpsanalysis import paths

    path = (root or paths.project_root()) / "requirements" / "lock.txt"
    return sha256_file(path) if path.is_file() else None


def library_versions() -> dict[str, str]:
    """Python's version and each of :data:`OUTPUT_LIBRARIES`' (``"not installed"``)."""
    import sys
    from importlib import metadata

    versions = {"python": sys.version.split()[0]}
    for name in OUTPUT_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def max_entries_per_report() -> int:
    """Entries kept per report (``MPSANALYSIS_CACHE_ENTRIES``, default 2, at least 1)."""
    return _positive("MPSANALYSIS_CACHE_ENTRIES", 2)


def max_cache_bytes() -> int:
    """Bytes the whole cache may hold (``MPSANALYSIS_CACHE_MAX_MB``, default 1024 MB)."""
    return _positive("MPSANALYSIS_CACHE_MAX_MB", 1024) * 1024 * 1024


def _positive(name: str, default: int) -> int:
    from mpsanalysis.errors import ParameterError

    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ParameterError(f"{name}={raw!r} must be a whole number of 1 or more")
    return value


@dataclass
class RunContext:
    """What every report of a run shares in its key."""

    source: str
    versions: dict[str, str]
    raw_inputs: dict[str, str]
    threads: str

    @classmethod
    def current(cls, checksums: dict[str, dict]) -> RunContext:
        """The context of this checkout and environment; ``checksums`` is
        :func:`mpsanalysis.ingest.fetch.read_checksums`."""
        from mpsanalysis.run import engine

        raw = {
            name: record["sha256"]
            for name, record in sorted(checksums.items())
            if name.startswith(_GLOBAL_RAW_PREFIXES)
        }
        return cls(source_hash(), library_versions(), raw, str(engine.kernel_threads()))


@dataclass
class CacheHit:
    """A verified entry: its folder and record."""

    folder: Path
    entry: dict

    @property
    def html(self) -> Path:
        return self.folder / _HTML

    @property
    def notebook(self) -> Path:
        return self.folder / _NOTEBOOK


@dataclass
class ReportCache:
    """The cache folder of a reports folder (``reports/.cache``)."""

    root: Path
    context: RunContext
    _hashes: dict[str, tuple[tuple[int, int], str]] = field(default_factory=dict)
    _notebooks: dict[str, str] = field(default_factory=dict)

    # -- keys -----------------------------------------------------------------
    @staticmethod
    def input_name(path: str) -> str:
        """How an entry names an input: relative to the processed store when inside it
        (so that entries carry no local path and survive moving the data folder),
        else the absolute path.

        Examples
        --------
        >>> from mpsanalysis import paths
        >>> ReportCache.input_name(str(paths.processed_dir() / "borough_crime.parquet"))
        'borough_crime.parquet'
        """
        from mpsanalysis import paths

        try:
            return Path(path).relative_to(paths.processed_dir().absolute()).as_posix()
        except ValueError:
            return str(path)

    @staticmethod
    def input_path(name: str) -> str:
        """The file an entry's input name stands for now (see :meth:`input_name`)."""
        from mpsanalysis import paths

        return name if Path(name).is_absolute() else str(paths.processed_dir().absolute() / name)

    def input_checksum(self, path: str) -> str:
        """SHA-256 of a store table now (``"absent"`` when it does not exist); memoised
        by size and modification time within a run."""
        path = self.input_path(path)
        try:
            stat = os.stat(path)
        except OSError:
            return "absent"
        stamp = (stat.st_size, stat.st_mtime_ns)
        known = self._hashes.get(path)
        if known is None or known[0] != stamp:
            known = (stamp, sha256_file(Path(path)))
            self._hashes[path] = known
        return known[1]

    def _notebook_hash(self, notebook: str) -> str:
        if notebook not in self._notebooks:
            self._notebooks[notebook] = notebook_hash(Path(notebook))
        return self._notebooks[notebook]

    @staticmethod
    def job_id(job: Job) -> str:
        """The folder of a report's entries: objective, geography, period, extracts."""
        extracts = job.extracts if job.extracts in ("", "sample") else Path(job.extracts).name
        name = f"{job.objective_id}|{job.geography}|{job.period_end}|{job.provisional}|{extracts}"
        return f"{job.stem}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"

    @staticmethod
    def extract_files(job: Job) -> dict[str, str]:
        """Name and SHA-256 of each extract file the report's footer lists."""
        from mpsanalysis.ingest import extracts as _extracts

        if job.extracts == "sample":
            files = [_extracts.sample_extract_path()]
        elif job.extracts:
            chosen = Path(job.extracts)
            files = sorted(chosen.glob("*.csv")) if chosen.is_dir() else [chosen]
        else:
            folder = _extracts.extracts_dir()
            files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        return {p.name: sha256_file(p) for p in files if p.is_file()}

    def key(self, job: Job, inputs: dict[str, str]) -> str:
        """The cache key of a job whose recorded inputs have these checksums."""
        parameters = dict(job.parameters)  # the extract's path as given: the notebook shows it
        return _digest(
            {
                "format": _FORMAT,
                "notebook": [Path(job.notebook).name, self._notebook_hash(job.notebook)],
                "parameters": parameters,
                "extract_files": self.extract_files(job),
                "inputs": dict(sorted(inputs.items())),
                "raw_inputs": self.context.raw_inputs,
                "source": self.context.source,
                "versions": self.context.versions,
                "threads": self.context.threads,
            }
        )

    # -- reading --------------------------------------------------------------
    def lookup(self, job: Job) -> CacheHit | None:
        """The entry to reuse for ``job``, verified; ``None`` when there is none.

        An entry whose record or files fail their checksums is deleted.
        """
        folder = self.root / self.job_id(job)
        if not folder.is_dir():
            return None
        candidates = []
        for entry_dir in folder.iterdir():
            record = entry_dir / "entry.json"
            try:
                candidates.append((record.stat().st_mtime_ns, entry_dir))
            except OSError:
                continue
        for _, entry_dir in sorted(candidates, reverse=True):
            entry = _read_entry(entry_dir)
            if entry is None:
                shutil.rmtree(entry_dir, ignore_errors=True)
                continue
            current = {path: self.input_checksum(path) for path in entry["inputs"]}
            if self.key(job, current) != entry["key"] or entry_dir.name != entry["key"]:
                continue
            if not _files_verify(entry_dir, entry):
                shutil.rmtree(entry_dir, ignore_errors=True)
                continue
            os.utime(entry_dir / "entry.json")  # most recently used
            return CacheHit(entry_dir, entry)
        return None

    # -- writing --------------------------------------------------------------
    def store(
        self,
        job: Job,
        inputs: list[str],
        html: Path,
        notebook: Path,
        summary: dict | None,
        synthetic: bool,
        seconds: float,
    ) -> Path:
        """Add an entry for a successful run (written whole, or not at all)."""
        checksums = {self.input_name(path): self.input_checksum(path) for path in sorted(inputs)}
        key = self.key(job, checksums)
        folder = self.root / self.job_id(job)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            files = {}
            for name, source in ((_HTML, html), (_NOTEBOOK, notebook)):
                shutil.copyfile(source, tmp / name)
                files[name] = {
                    "sha256": sha256_file(tmp / name),
                    "bytes": (tmp / name).stat().st_size,
                }
            entry = {
                "format": _FORMAT,
                "key": key,
                "objective_id": job.objective_id,
                "geography": job.geography,
                "period_end": job.period_end,
                "inputs": checksums,
                "files": files,
                "summary": summary,
                "synthetic": synthetic,
                "seconds": round(seconds, 2),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            entry["entry_sha256"] = _digest(entry)
            with open(tmp / "entry.json", "w", encoding="utf-8") as handle:
                json.dump(entry, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            target = folder / key
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    def evict(self) -> int:
        """Apply the bounds (entries per report, total bytes), least recently used
        first, and remove temporary folders left by a killed run; returns how many
        entries were removed."""
        if not self.root.is_dir():
            return 0
        removed = 0
        entries: list[tuple[int, int, Path]] = []
        keep = max_entries_per_report()
        for folder in self.root.iterdir():
            if folder.name.startswith(".tmp-"):
                shutil.rmtree(folder, ignore_errors=True)
                continue
            if not folder.is_dir():
                continue
            mine = []
            for entry_dir in folder.iterdir():
                try:
                    used = (entry_dir / "entry.json").stat().st_mtime_ns
                except OSError:
                    shutil.rmtree(entry_dir, ignore_errors=True)  # partial: no record
                    removed += 1
                    continue
                size = sum(p.stat().st_size for p in entry_dir.iterdir() if p.is_file())
                mine.append((used, size, entry_dir))
            mine.sort(reverse=True)
            for _, _, entry_dir in mine[keep:]:
                shutil.rmtree(entry_dir, ignore_errors=True)
                removed += 1
            entries += mine[:keep]
        total = sum(size for _, size, _ in entries)
        limit = max_cache_bytes()
        for _, size, entry_dir in sorted(entries):
            if total <= limit:
                break
            shutil.rmtree(entry_dir, ignore_errors=True)
            total -= size
            removed += 1
        return removed


def _read_entry(entry_dir: Path) -> dict | None:
    """An entry's record if it parses and its own checksum matches."""
    try:
        entry = json.loads((entry_dir / "entry.json").read_text(encoding="utf-8"))
        claimed = entry.pop("entry_sha256")
        if entry.get("format") != _FORMAT or _digest(entry) != claimed:
            return None
        if not isinstance(entry["inputs"], dict) or not isinstance(entry["files"], dict):
            return None
        return entry
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None


def _files_verify(entry_dir: Path, entry: dict) -> bool:
    for name in (_HTML, _NOTEBOOK):
        record = entry["files"].get(name)
        path = entry_dir / name
        try:
            if record is None or path.stat().st_size != record["bytes"]:
                return False
            if sha256_file(path) != record["sha256"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True
