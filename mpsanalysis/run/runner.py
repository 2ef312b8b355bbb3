"""Run the objective notebooks for a period and write the HTML reports.

``mpsanalysis run`` validates every parameter before any kernel starts, executes each
objective notebook with papermill (in worker processes, or on a Dask cluster), exports
HTML with the house template, and moves complete reports into
``reports/<FY>/<period>/`` only at the end, so a killed run never leaves a half-written
report and never damages the previous ones. A failing notebook does not stop the
others: its partial executed notebook is kept, the index marks it failed and the run
exits non-zero. Each run writes a JSON manifest (parameters, input checksums, package
versions, git commit, timings); report bodies carry no timestamps, so the same data and
parameters give byte-identical HTML. A report whose notebook, parameters, input tables,
package source and library versions are unchanged since a successful run is copied from
``reports/.cache`` instead of executed (:mod:`mpsanalysis.run.cache`; ``--force`` runs
everything), and the manifest says which reports were ``executed``, ``reused`` or
``failed``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mpsanalysis import __version__, boroughs, paths, periods
from mpsanalysis.errors import MpsAnalysisError, ParameterError
from mpsanalysis.ingest import store
from mpsanalysis.measures import catalogue
from mpsanalysis.run.cache import ReportCache, lock_sha256
from mpsanalysis.run.jobs import Job, JobResult, find_notebook, published_notebook_record
from mpsanalysis.run.schedule import ObjectiveAffinity

__all__ = [
    "RunPlan",
    "RunOutcome",
    "plan_run",
    "execute_job",
    "execute_plan",
    "git_commit",
    "previous_quarter_manifest",
]


@dataclass
class RunPlan:
    """A validated run: the period, the jobs and where reports go."""

    period_end: str
    label: str
    jobs: list[Job]
    output_dir: Path
    provisional: bool
    extracts: str
    parameters: dict = field(default_factory=dict)


@dataclass
class RunOutcome:
    """The results of a run."""

    plan: RunPlan
    results: list[JobResult]
    index: Path

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def _last_month() -> pd.Period:
    from mpsanalysis.measures.compute import last_month_available

    return last_month_available()


def _months_present() -> set[pd.Period]:
    """Months some borough crime file supplies: each classification's span minus its gaps."""
    from mpsanalysis.ingest import store

    vintages = store.read_table("borough_crime_vintages")
    gaps = store.read_table("borough_crime_gaps")
    present: set[pd.Period] = set()
    for classification, group in vintages.groupby("classification"):
        span = pd.period_range(group["first_month"].min(), group["last_month"].max(), freq="M")
        missing = set(gaps.loc[gaps["classification"].eq(classification), "month"])
        present |= {month for month in span if month not in missing}
    return present


def plan_run(
    period_end: str | None = None,
    quarter: str | None = None,
    objectives: list[str] | None = None,
    geographies: list[str] | None = None,
    extracts: str = "",
    allow_provisional: bool = False,
    reports: Path | None = None,
    notebooks: Path | None = None,
) -> RunPlan:
    """Validate the parameters and list the jobs, before any kernel starts.

    Parameters
    ----------
    notebooks : pathlib.Path, optional
        The folder of objective notebooks (default :func:`mpsanalysis.paths.notebooks_dir`),
        e.g. a copy holding a notebook being changed.

    Raises
    ------
    ParameterError
        One line naming the parameter: unknown objective, malformed period or quarter,
        period beyond the data, unknown geography, missing extracts.
    DataValidationError
        An extract file fails validation (naming the file, line and column), so that no
        notebook is started only to fail on it.
    """
    if (period_end is None) == (quarter is None):
        raise ParameterError("give exactly one of --period-end or --quarter")
    last = _last_month()
    present = _months_present()
    first = min(present, default=last)
    provisional = False
    if quarter is not None:
        q = periods.parse_quarter(quarter, last_month=last, present=present)
        end = q.end_month
        label = q.label
        if q.window.start > last:
            raise ParameterError(
                f"quarter '{q.label}' is beyond the data: it starts {q.window.start} and "
                f"the latest month available is {last}"
            )
        if end > last:
            if not allow_provisional:
                raise ParameterError(
                    f"quarter '{q.label}' is not complete in the data (it ends {end}; the "
                    f"latest month available is {last}): use --quarter latest, or "
                    "--allow-provisional to report the months so far as PROVISIONAL"
                )
            provisional, end = True, last
    else:
        end = periods.parse_month(period_end, "period_end")
        label = str(end)
    if end > last:
        raise ParameterError(
            f"period_end '{end}' is beyond the data: the latest month available is {last}"
        )
    if end < first:
        raise ParameterError(
            f"period_end '{end}' is before the data: the first month available is {first}"
        )
    available = catalogue.objective_ids()
    chosen = objectives or available
    for objective_id in chosen:
        catalogue.get_objective(objective_id)  # raises with the list of valid ids
    names: list[str] = []
    for geography in geographies or [boroughs.LONDON]:
        if geography.strip().lower() == "all":
            names += [boroughs.LONDON] + boroughs.borough_names()
        else:
            names.append(boroughs.validate_geography(geography))
    names = list(dict.fromkeys(names))
    if extracts and extracts != "sample":
        extract_path = Path(extracts)
        if not extract_path.exists():
            raise ParameterError(f"--extracts {extract_path.name!r} does not exist")
        extracts = str(extract_path.resolve())
    from mpsanalysis.ingest.extracts import load_extracts

    load_extracts(extracts or None)  # a bad extract fails here, before any kernel
    jobs = []
    for objective_id in dict.fromkeys(chosen):
        notebook = find_notebook(objective_id, notebooks)
        for geography in names:
            jobs.append(
                Job(objective_id, str(notebook), geography, str(end), extracts, provisional)
            )
    fy = periods.financial_year_label(periods.financial_year(end)).replace("/", "-")
    out = (reports or paths.reports_dir()) / fy / label.replace("/", "-")
    parameters = {
        "period_end": str(end),
        "quarter": quarter,
        "objectives": list(dict.fromkeys(chosen)),
        "geographies": names,
        "extracts": "sample" if extracts == "sample" else (Path(extracts).name if extracts else ""),
        "provisional": provisional,
    }
    return RunPlan(str(end), label, jobs, out, provisional, extracts, parameters)


# --------------------------------------------------------------------------- execution
def execute_job(job: Job, staging: str, checksums: dict, commit: str) -> JobResult:
    """Execute one notebook and export its HTML into the staging folder.

    Never raises for a notebook failure: the result says what failed, and the partial
    executed notebook is kept as ``<stem>.failed.ipynb``. The notebook runs in this
    worker's warm kernel (:mod:`mpsanalysis.run.engine`: imports loaded once, namespace and
    caches reset between reports); ``MPSANALYSIS_ENGINE=papermill`` runs it with
    ``papermill.execute_notebook`` in a fresh kernel instead.
    """
    from mpsanalysis.run import engine

    if engine.engine_name() == "papermill":
        return engine.execute_job_papermill(job, staging, checksums, commit)
    return engine.execute_job_warm(job, staging, checksums, commit)


def _progress(total: int):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, unit="report", disable=not sys.stderr.isatty(), file=sys.stderr)


def _run_local(plan: RunPlan, staging: Path, checksums, commit, workers: int) -> list[JobResult]:
    """Run the jobs in worker processes that run the cells themselves (the ``warm``
    engine, even with one worker), or, with the ``kernel`` and ``papermill`` engines and
    one worker, here with a kernel process.

    Each worker is a one-process pool, so the runner chooses which worker runs which
    report: an objective's reports stay on one worker while another objective is left to
    start (:class:`mpsanalysis.run.schedule.ObjectiveAffinity`), and its kernel works out
    the objective's shared figures once.
    """
    from mpsanalysis.run import engine

    results: list[JobResult] = []
    bar = _progress(len(plan.jobs))
    workers = max(1, min(workers, len(plan.jobs)))
    try:
        if workers == 1 and engine.engine_name() != "warm":
            for job in plan.jobs:
                results.append(execute_job(job, str(staging), checksums, commit))
                if bar:
                    bar.update()
        else:
            results = _run_workers(plan, staging, checksums, commit, workers, bar)
    finally:
        engine.close_engines()  # the serial path's kernel; workers close their own
        if bar:
            bar.close()
    return results


def _run_workers(plan: RunPlan, staging: Path, checksums, commit, workers: int, bar):
    import multiprocessing

    from mpsanalysis.run import engine

    context = multiprocessing.get_context("spawn")
    cwd = str(Path(plan.jobs[0].notebook).parent.resolve())
    name = engine.engine_name()
    in_process = name == "warm"  # the worker runs the cells (mpsanalysis.run.inprocess)
    staging_path = str(Path(staging).resolve())  # an in-process worker works elsewhere

    def new_pool() -> ProcessPoolExecutor:
        if name == "papermill":
            return ProcessPoolExecutor(max_workers=1, mp_context=context)
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=engine.start_worker,
            initargs=(cwd, in_process),
        )

    queue = ObjectiveAffinity(plan.jobs)
    results: list[JobResult] = []
    pools = [new_pool() for _ in range(workers)]
    retired: list[ProcessPoolExecutor] = []
    running: dict[Future, tuple[int, Job]] = {}

    def submit(worker: int) -> None:
        job = queue.next_for(worker)
        if job is not None:
            future = pools[worker].submit(execute_job, job, staging_path, checksums, commit)
            running[future] = (worker, job)

    def replace(worker: int) -> None:
        retired.append(pools[worker])
        pools[worker].shutdown(wait=False)
        pools[worker] = new_pool()

    try:
        for worker in range(workers):
            submit(worker)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                worker, job = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:  # the report ended its worker process
                    result = JobResult(
                        job,
                        False,
                        0.0,
                        error=(
                            f"{job.objective_id} ({job.geography}): the worker process "
                            f"running this report stopped ({exc}); a new worker runs the "
                            "remaining reports"
                        ),
                        retire_worker=True,
                    )
                results.append(result)
                if bar:
                    bar.update()
                if result.retire_worker:
                    replace(worker)
                submit(worker)
    finally:
        for future in running:
            future.cancel()
        for pool in pools + retired:
            pool.shutdown(wait=True, cancel_futures=True)
    return results


def _run_dask(plan: RunPlan, staging: Path, checksums, commit, address: str) -> list[JobResult]:
    """Run the jobs on a Dask cluster: one task per report, each worker thread keeping a
    warm kernel for the run; the kernels are stopped when the run ends. Workers need
    mpsanalysis installed and the same paths (notebooks, data, staging) as this machine.
    """
    _check_scheduler(address)
    try:
        from distributed import Client
    except ImportError as exc:
        raise ParameterError("--scheduler needs the 'distributed' package installed") from exc
    import functools

    from mpsanalysis.run import engine

    with Client(address, timeout="20s") as client:
        try:
            # The shared arguments travel inside the function (a dict given to map as a
            # keyword would be taken for a task).
            task = functools.partial(
                execute_job, staging=str(staging), checksums=checksums, commit=commit
            )
            futures = client.map(task, plan.jobs, key="mpsanalysis-report", pure=False)
            return client.gather(futures)
        finally:
            try:
                client.run(engine.close_engines)
            except Exception as exc:  # the results stand; say the kernels may linger
                print(f"note: could not stop the workers' kernels ({exc})", file=sys.stderr)


def _check_scheduler(address: str) -> None:
    """Refuse a --scheduler value that is not a Dask address such as tcp://HOST:PORT."""
    if not re.match(r"^(tcp|tls|inproc|ucx)://[\w.\-\[\]:]+$", address):
        raise ParameterError(f"--scheduler {address!r} is not an address such as tcp://HOST:PORT")


def _atomic_text(path: Path, text: str) -> None:
    """Write a text file atomically (see :func:`mpsanalysis.ingest.store.write_text_atomic`)."""
    store.write_text_atomic(path, text)


def _package_versions() -> dict[str, str]:
    from importlib import metadata

    names = [
        "pandas",
        "numpy",
        "statsmodels",
        "scipy",
        "matplotlib",
        "papermill",
        "nbconvert",
        "nbclient",
        "ipykernel",
        "pyarrow",
        "duckdb",
        "pyyaml",
    ]
    versions = {"python": sys.version.split()[0], "mpsanalysis": __version__}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def execute_plan(
    plan: RunPlan,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
) -> RunOutcome:
    """Execute a plan and publish the reports atomically; print a one-line-per-failure
    summary.

    A report whose cache key matches an earlier successful run's
    (:mod:`mpsanalysis.run.cache`) is not executed: its HTML and notebook are copied from
    ``reports/.cache`` and the manifest says ``reused``. ``force`` executes every report.
    """
    from mpsanalysis.ingest import fetch
    from mpsanalysis.report.index import write_index

    if workers is not None and workers < 1:
        raise ParameterError(f"--workers {workers} must be at least 1")
    if scheduler is not None:
        _check_scheduler(scheduler)
    from mpsanalysis.run import engine

    engine.kernel_threads()  # a bad MPSANALYSIS_KERNEL_THREADS is refused before any kernel
    store.shared_budget_bytes()  # and a bad MPSANALYSIS_TABLE_CACHE_MB
    workers = workers or os.cpu_count() or 1
    checksums = fetch.read_checksums()
    commit = git_commit()
    try:  # uncommitted changes to tracked files: the commit alone does not reproduce it
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=paths.project_root(),
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        dirty = None  # not a git checkout
    root = plan.output_dir.parent.parent
    root.mkdir(parents=True, exist_ok=True)
    # One run at a time per reports folder: a second run (a timer firing while an
    # analyst's run is going) would otherwise delete the first one's staging folder.
    # The lock is released by the operating system however this process ends.
    lock = open(root / ".run.lock", "a")  # held until the end of the run
    if os.name == "posix":
        import fcntl

        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise MpsAnalysisError(
                "another `mpsanalysis run` is writing to this reports folder: wait for it "
                "to finish (nothing was changed)"
            ) from None
    # The notebooks read data/processed/: a build must not replace it meanwhile.
    from mpsanalysis.ingest.build import lock_store

    try:
        store_lock = lock_store(paths.processed_dir(), shared=True)
    except MpsAnalysisError:
        lock.close()
        raise
    for stale in root.glob(".staging-*"):  # left behind by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    plan.output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    started = time.time()

    def publish_failed_notebook(source: Path, target: Path, job: Job) -> None:
        """Move a failed notebook into place, with papermill's record of where it was
        read and written made relative (a report's notebook is written so by its
        worker already, :meth:`mpsanalysis.run.engine.ReportEngine.run_job`)."""
        nb = json.loads(source.read_text(encoding="utf-8"))
        if isinstance(nb.get("metadata", {}).get("papermill"), dict):
            published_notebook_record(nb, job, target.name)
            source.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(source, target)

    def kept_from_earlier_run(plan: RunPlan, done: set) -> list[JobResult]:
        """Reports of this period folder from an earlier run that this run did not
        redo, read back from its manifest."""
        try:
            earlier = json.loads((plan.output_dir / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return []
        before = earlier.get("parameters", {}) if isinstance(earlier, dict) else {}
        if (before.get("period_end"), before.get("provisional")) != (
            plan.period_end,
            plan.provisional,
        ):
            return []  # reports of another period end are not carried into this index
        redone = {(j.objective_id, j.geography) for j in done}
        kept = []
        for entry in earlier.get("reports", []):
            try:
                job = Job(
                    *(
                        entry[k]
                        for k in (
                            "objective_id",
                            "notebook",
                            "geography",
                            "period_end",
                            "extracts",
                            "provisional",
                        )
                    )
                )
                catalogue.get_objective(job.objective_id)
            except (KeyError, TypeError, MpsAnalysisError):
                continue
            if (job.objective_id, job.geography) in redone:
                continue
            suffix = ".html" if entry.get("ok") else ".failed.ipynb"
            if not (plan.output_dir / f"{job.stem}{suffix}").exists():
                continue
            redone.add((job.objective_id, job.geography))
            kept.append(
                JobResult(
                    job,
                    bool(entry.get("ok")),
                    float(entry.get("seconds", 0)),
                    summary=entry.get("summary"),
                    error=entry.get("error", ""),
                    synthetic=bool(entry.get("synthetic")),
                    status=str(entry.get("status") or ""),
                    input_checksums=entry.get("inputs")
                    if isinstance(entry.get("inputs"), dict)
                    else None,
                    lock_sha256=entry.get("lock_sha256"),
                )
            )
        return kept

    try:
        from mpsanalysis.run.cache import CACHE_DIR_NAME, ReportCache, RunContext

        report_cache = ReportCache(root / CACHE_DIR_NAME, RunContext.current(checksums))
        reused, to_run = _reuse_from_cache(plan.jobs, report_cache, staging, force)
        results = list(reused)
        if to_run:
            run_plan = dataclasses.replace(plan, jobs=to_run)
            if scheduler:
                results += _run_dask(run_plan, staging, checksums, commit, scheduler)
            else:
                results += _run_local(run_plan, staging, checksums, commit, workers)
        for result in results:
            if not result.status:
                result.status = "executed" if result.ok else "failed"
        order = {job: i for i, job in enumerate(plan.jobs)}
        results.sort(key=lambda r: order[r.job])
        for result in results:  # publish: move complete files into place
            stem = result.job.stem
            if result.status == "reused":  # already the published bytes
                os.replace(staging / f"{stem}.ipynb", plan.output_dir / f"{stem}.ipynb")
                os.replace(staging / f"{stem}.html", plan.output_dir / f"{stem}.html")
                (plan.output_dir / f"{stem}.failed.ipynb").unlink(missing_ok=True)
            elif result.ok:  # written as published by its worker
                os.replace(staging / f"{stem}.ipynb", plan.output_dir / f"{stem}.ipynb")
                os.replace(staging / f"{stem}.html", plan.output_dir / f"{stem}.html")
                (plan.output_dir / f"{stem}.failed.ipynb").unlink(missing_ok=True)
            elif (staging / f"{stem}.failed.ipynb").exists():
                publish_failed_notebook(
                    staging / f"{stem}.failed.ipynb",
                    plan.output_dir / f"{stem}.failed.ipynb",
                    result.job,
                )
        _store_in_cache(report_cache, results, plan.output_dir)
        # A run of some objectives only (e.g. re-running one that failed) keeps the
        # period's other reports in the index and manifest, as long as they are for the
        # same period end and their report is still in the folder.
        listed = results + kept_from_earlier_run(plan, {r.job for r in results})
        rank = {o: i for i, o in enumerate(catalogue.objective_ids())}
        places = [boroughs.LONDON] + boroughs.borough_names()
        listed.sort(
            key=lambda r: (
                rank.get(r.job.objective_id, len(rank)),
                places.index(r.job.geography) if r.job.geography in places else len(places),
            )
        )
        index = write_index(plan, listed, previous_quarter_manifest(plan))
        lock_hash = lock_sha256()
        this_run = {id(r) for r in results}  # by identity: comparing results is slow
        manifest: dict[str, Any] = {
            "parameters": plan.parameters,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": round(time.time() - started, 1),
            "workers": 0 if scheduler else workers,
            "scheduler": "dask" if scheduler else "local",
            "git_commit": commit,
            "git_dirty": dirty,
            "package_versions": _package_versions(),
            "lock_sha256": lock_hash,
            "store_tables": _store_tables(report_cache),
            "input_files": {k: v["sha256"] for k, v in sorted(checksums.items())},
            "reports": [
                {
                    **asdict(r.job),
                    "notebook": Path(r.job.notebook).name,
                    "ok": r.ok,
                    "seconds": round(r.seconds, 1),
                    "error": r.error,
                    "synthetic": r.synthetic,
                    "summary": r.summary,
                    "from_earlier_run": id(r) not in this_run,
                    "status": r.status or ("executed" if r.ok else "failed"),
                    "inputs": r.input_checksums,
                    "lock_sha256": lock_hash if id(r) in this_run else r.lock_sha256,
                }
                for r in listed
            ],
        }
        for report in manifest["reports"]:
            if report["extracts"] not in ("", "sample"):
                report["extracts"] = Path(report["extracts"]).name
        _atomic_text(plan.output_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        store_lock.close()
        lock.close()
    failed = [r for r in results if not r.ok]
    print(
        f"{len(results) - len(failed)} of {len(results)} reports written to "
        f"{_display_path(plan.output_dir)} (index: index.html)"
    )
    for r in failed:
        print(f"FAILED {r.error}", file=sys.stderr)
    return RunOutcome(plan, results, index)


def previous_quarter_manifest(plan: RunPlan) -> tuple[str, dict] | None:
    """The manifest of the run for the quarter before this run's period, if there is one.

    The previous quarter is the one before the quarter that holds ``plan.period_end``.
    Its run is looked for in the same reports folder, under
    ``<FY>/<quarter label>/manifest.json`` (a ``--quarter`` run) and then
    ``<FY>/<YYYY-MM>/manifest.json`` (a ``--period-end`` run for the quarter's last
    month); a provisional run, one for another period end, or an unreadable manifest is
    not used.

    Returns
    -------
    (str, dict) or None
        The quarter's label (e.g. ``2016/17-Q2``) and the manifest as read.
    """
    quarter = periods.quarter_of(periods.quarter_of(plan.period_end).window.start - 1)
    end = str(quarter.end_month)
    fy = periods.financial_year_label(quarter.financial_year).replace("/", "-")
    root = plan.output_dir.parent.parent
    for folder in (quarter.label.replace("/", "-"), end):
        try:
            manifest = json.loads((root / fy / folder / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        parameters = manifest.get("parameters") if isinstance(manifest, dict) else None
        if (
            isinstance(parameters, dict)
            and parameters.get("period_end") == end
            and not parameters.get("provisional")
        ):
            return quarter.label, manifest
    return None


def _reuse_from_cache(
    jobs: list[Job], report_cache: ReportCache, staging: Path, force: bool
) -> tuple[list[JobResult], list[Job]]:
    """Copy the reports whose cache entry verifies into ``staging``; the other jobs are
    to be executed. A cache that cannot be read is a miss, never an error."""
    reused: list[JobResult] = []
    to_run: list[Job] = []
    for job in jobs:
        hit = None
        if not force:
            try:
                hit = report_cache.lookup(job)
                if hit is not None:
                    shutil.copyfile(hit.html, staging / f"{job.stem}.html")
                    shutil.copyfile(hit.notebook, staging / f"{job.stem}.ipynb")
            except OSError as exc:
                print(f"note: cache entry for {job.stem} not used ({exc})", file=sys.stderr)
                hit = None
        if hit is None:
            to_run.append(job)
            continue
        entry = hit.entry
        reused.append(
            JobResult(
                job,
                True,
                0.0,
                summary=entry.get("summary"),
                synthetic=bool(entry.get("synthetic")),
                inputs=[report_cache.input_path(name) for name in entry["inputs"]],
                status="reused",
                input_checksums=_relative_inputs(entry["inputs"]),
            )
        )
    return reused, to_run


def _relative_inputs(checksums: dict[str, str]) -> dict[str, str]:
    """Input checksums keyed by path relative to the processed store (an input outside
    it by its file name only, marked ``external:``)."""
    out = {}
    for name, digest in sorted(checksums.items()):
        if Path(name).is_absolute():  # no local path in the manifest: the name only
            out[f"external:{Path(name).name}"] = digest
        else:
            out[name] = digest
    return out


def _store_in_cache(report_cache: ReportCache, results: list[JobResult], folder: Path) -> None:
    """Add each newly executed report (with recorded inputs) to the cache, then apply
    the cache's bounds. A cache that cannot be written costs the next run time only."""
    for result in results:
        if result.status != "executed" or result.inputs is None:
            continue
        stem = result.job.stem
        try:
            entry = report_cache.store(
                result.job,
                result.inputs,
                folder / f"{stem}.html",
                folder / f"{stem}.ipynb",
                result.summary,
                result.synthetic,
                result.seconds,
            )
            record = json.loads((entry / "entry.json").read_text(encoding="utf-8"))
            result.input_checksums = _relative_inputs(record["inputs"])
        except (OSError, ValueError, KeyError) as exc:
            print(f"note: {stem} not cached ({exc})", file=sys.stderr)
    try:
        report_cache.evict()
    except OSError as exc:
        print(f"note: cache not trimmed ({exc})", file=sys.stderr)


def _store_tables(report_cache: ReportCache) -> dict[str, str]:
    """SHA-256 of every table in the processed store now: the data vintage of the run."""
    folder = paths.processed_dir()
    if not folder.is_dir():
        return {}
    return {
        p.name: report_cache.input_checksum(str(p.absolute()))
        for p in sorted(folder.glob("*.parquet"))
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=paths.project_root(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(paths.project_root()))
    except ValueError:
        return str(path)
