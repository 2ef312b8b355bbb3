"""A report job and its result: what the runner plans and the engine executes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import ParameterError

__all__ = [
    "Job",
    "JobResult",
    "describe_failure",
    "find_notebook",
    "published_notebook_record",
    "slugify",
]

_NOTEBOOK_NAME = re.compile(r"^(\d{2})_([a-z0-9-]+)\.ipynb$")


def slugify(text: str) -> str:
    """File-name-safe slug of a geography or objective.

    Examples
    --------
    >>> slugify("Hammersmith and Fulham"), slugify("../etc/passwd")
    ('hammersmith-and-fulham', 'etc-passwd')
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def find_notebook(objective_id: str, directory: Path | None = None) -> Path:
    """The notebook of an objective: ``notebooks/NN_<objective-id>.ipynb``."""
    directory = directory or paths.notebooks_dir()
    for path in sorted(directory.glob("*.ipynb")):
        match = _NOTEBOOK_NAME.match(path.name)
        if match and match.group(2) == objective_id:
            return path
    raise ParameterError(
        f"objective {objective_id!r} has no notebook (expected notebooks/NN_{objective_id}.ipynb)"
    )


@dataclass(frozen=True)
class Job:
    """One notebook run: an objective for one geography and period."""

    objective_id: str
    notebook: str
    geography: str
    period_end: str
    extracts: str
    provisional: bool

    @property
    def stem(self) -> str:
        if self.geography == boroughs.LONDON:
            return self.objective_id
        return f"{self.objective_id}-{slugify(self.geography)}"

    @property
    def parameters(self) -> dict:
        return {
            "period_end": self.period_end,
            "geography": self.geography,
            "extracts": self.extracts,
            "provisional": self.provisional,
        }


@dataclass
class JobResult:
    """What happened to one job."""

    job: Job
    ok: bool
    seconds: float
    summary: dict | None = None
    error: str = ""
    synthetic: bool = False
    #: The store tables the report read or looked for (absolute paths), as recorded in
    #: its kernel; ``None`` when not recorded (then the report is not cached).
    inputs: list[str] | None = None
    #: ``executed``, ``reused`` (copied from the cache) or ``failed``.
    status: str = ""
    #: SHA-256 of each input when the report was produced (for the out-of-date check).
    input_checksums: dict[str, str] | None = None
    #: SHA-256 of the lock file of the run that produced a report kept from an earlier run.
    lock_sha256: str | None = None
    #: The worker process that ran the job must not run another (its in-process kernel
    #: was discarded or is used up): the runner replaces it.
    retire_worker: bool = False


def published_notebook_record(nb, job: Job, file_name: str | None = None) -> None:
    """Make papermill's record of where the executed notebook was read and written
    (``metadata.papermill``) the published one, in place: the notebook in the
    repository's ``notebooks/`` folder and the report's own file name (``file_name``,
    by default ``<stem>.ipynb``). The staging
    folder is gone once a run ends, and local paths do not belong in reports.

    Examples
    --------
    >>> job = Job("robbery", "/tmp/x/notebooks/08_robbery.ipynb", "Lambeth", "2025-12", "", False)
    >>> nb = {"metadata": {"papermill": {"input_path": "/tmp/x/notebooks/08_robbery.ipynb",
    ...                                  "output_path": "/tmp/s/robbery-lambeth.ipynb"}}}
    >>> published_notebook_record(nb, job)
    >>> nb["metadata"]["papermill"]
    {'input_path': 'notebooks/08_robbery.ipynb', 'output_path': 'robbery-lambeth.ipynb'}
    """
    record = nb.get("metadata", {}).get("papermill")
    if isinstance(record, dict):
        record["input_path"] = f"notebooks/{Path(job.notebook).name}"
        record["output_path"] = file_name or f"{job.stem}.ipynb"


def describe_failure(exc: BaseException, job: Job) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        cell = exc.exec_count if exc.exec_count is not None else exc.cell_index
        return f"{job.objective_id} ({job.geography}): cell {cell}: {exc.ename}: {exc.evalue}"
    return f"{job.objective_id} ({job.geography}): {type(exc).__name__}: {exc}"
