"""Run the objective notebooks for a period and write the HTML reports.

``mpsanalysis run`` validates every parameter before any kernel starts, executes each
objective notebook with papermill (in worker processes, or on a Dask cluster), exports
HTML with the house template, and moves complete reports into
``reports/<FY>/<period>/`` only at the end, so a killed run never leaves a half-written
report and never damages the previous ones. A failing notebook does not stop the
others: its partial executed notebook is kept, the index marks it failed and the run
exits non-zero. Each run writes a JSON manifest (parameters, input checksums, package
versions, git commit, timings); report bodies carry no timestamps, so the same data and
parameters give byte-identical HTML.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from mpsanalysis import __version__, boroughs, catalogue, paths, periods, store
from mpsanalysis.engine import _kernel_manager_class  # noqa: F401  (re-exported: its old home)
from mpsanalysis.errors import MpsAnalysisError, NotebookRunError, ParameterError

__all__ = [
    "Job",
    "JobResult",
    "RunPlan",
    "RunOutcome",
    "find_notebook",
    "plan_run",
    "execute_job",
    "execute_plan",
    "export_html",
    "slugify",
]

SUMMARY_MIMETYPE = "application/vnd.mpsanalysis.summary+json"
_TEMPLATES = Path(__file__).with_name("templates")
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
    from mpsanalysis.measures import last_month_available

    return last_month_available()


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
    provisional = False
    if quarter is not None:
        q = periods.parse_quarter(quarter, last_month=last)
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
    from mpsanalysis.extracts import load_extracts

    load_extracts(extracts or None)  # a bad extract fails here, before any kernel
    jobs = []
    for objective_id in dict.fromkeys(chosen):
        notebook = find_notebook(objective_id, notebooks)
        for geography in names:
            jobs.append(Job(objective_id, str(notebook), geography, str(end), extracts,
                            provisional))
    fy = periods.financial_year_label(periods.financial_year(end)).replace("/", "-")
    out = (reports or paths.reports_dir()) / fy / label.replace("/", "-")
    parameters = {
        "period_end": str(end), "quarter": quarter, "objectives": list(dict.fromkeys(chosen)),
        "geographies": names, "extracts": "sample" if extracts == "sample" else
        (Path(extracts).name if extracts else ""), "provisional": provisional,
    }
    return RunPlan(str(end), label, jobs, out, provisional, extracts, parameters)


# --------------------------------------------------------------------------- execution
def _report_css() -> str:
    return (_TEMPLATES / "mpsreport" / "report.css").read_text(encoding="utf-8")


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.project_root(), capture_output=True,
            text=True, timeout=10, check=False,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _toc(nb) -> list[dict]:
    """The contents list: every ``##`` heading of the markdown cells, in order.

    Each item has the heading's text (``title``), the id nbconvert gives it in the HTML
    (``anchor``, computed by nbconvert's own markdown filter, so the link always matches)
    and the index of its cell (``cell``).

    Raises
    ------
    NotebookRunError
        A heading that nbconvert cannot give an id to (it contains raw HTML).
    """
    import html as _html

    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    items = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or not re.search(r"^##\s", cell.source, re.M):
            continue
        rendered = markdown2html_mistune(cell.source)
        for match in re.finditer(r"<h2(?: id=\"([^\"]*)\")?>(.*?)</h2>", rendered, re.S):
            anchor, inner = match.groups()
            inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)
            title = _html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
            if anchor is None:
                raise NotebookRunError(
                    f"heading {title!r} in cell {index} has markup nbconvert cannot give an "
                    "id to: write it as plain text so the contents can link to it"
                )
            items.append({"title": title, "anchor": _html.unescape(anchor), "cell": index})
    return items


def _footer_html(job: Job, checksums: dict[str, dict], commit: str) -> str:
    """The provenance footer: software and commit, notebook, parameters, the internal
    extract and every published data file read, with full SHA-256 checksums (a reviewer
    can check a copy with ``sha256sum``). File names only: no local paths."""
    import hashlib

    from mpsanalysis import extracts as _extracts
    from mpsanalysis.html import escape, table_html

    def sha256(path: Path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    data_rows = [
        [Path(k).name, "London Datastore: MPS recorded crime by borough", v["sha256"]]
        for k, v in sorted(checksums.items())
        if k.startswith("london-datastore/borough-crime/") and k.endswith(".csv")
    ]
    source = job.extracts
    if source == "sample":
        files = [_extracts.sample_extract_path()]
        extract_label = "the SYNTHETIC sample extract shipped with mpsanalysis"
    elif source:
        chosen = Path(source)
        files = sorted(chosen.glob("*.csv")) if chosen.is_dir() else [chosen]
        extract_label = f"{chosen.name} (supplied for this run)"
    else:
        folder = _extracts.extracts_dir()
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        extract_label = "data/raw/extracts/" + ("" if files else " (none present)")
    for path in files:
        if path.is_file():
            data_rows.append([path.name, "Internal extract", sha256(path)])
    parameters = {**job.parameters, "extracts": (
        "sample" if source == "sample" else (Path(source).name if source else ""))}
    params = ", ".join(f"{k} = {v!r}" for k, v in parameters.items())
    meta = [
        ("Produced by", f"mpsanalysis {escape(__version__)}"),
        ("Git commit", f"<code>{escape(commit)}</code>"),
        ("Notebook", f"<code>{escape(Path(job.notebook).name)}</code>"),
        ("Parameters", f"<code>{escape(params)}</code>"),
        ("Internal extracts", escape(extract_label)),
        ("Methods", "every statistic, its formula and its source are described in the "
                    "project's <code>docs/methodology.md</code>; disclosure control in "
                    "<code>docs/reports.md</code>"),
        ("Run record", "<code>manifest.json</code> beside this report lists every input "
                       "file, its checksum and the package versions"),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in meta)
    table = table_html(
        ["Data file", "Source", "SHA-256 checksum"],
        [[name, src, f"<code>{escape(digest)}</code>"] for name, src, digest in data_rows],
        "Data files read (published files: London Datastore, Open Government Licence)",
        raw_columns=(2,), classes="data-table provenance-files",
    )
    return f'<dl class="provenance-meta">{items}</dl>{table}'


_EXPORTERS = threading.local()


def _html_exporter():
    """This thread's HTML exporter with the house template, built on first use.

    Building an ``HTMLExporter`` loads and compiles its Jinja templates (0.23 s against
    0.06 s for an export with a built one), so each worker builds it once. One per
    thread, because Dask workers export from several threads at once.
    """
    exporter = getattr(_EXPORTERS, "exporter", None)
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name="mpsreport", extra_template_basedirs=[str(_TEMPLATES)],
        )
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
        exporter.anchor_link_text = ""
        _EXPORTERS.exporter = exporter
    return exporter


def export_html(nb, job: Job, checksums: dict[str, dict], commit: str,
                synthetic: bool) -> str:
    """Export an executed notebook to self-contained HTML with the house template.

    Code, prompts, stderr and the machine-readable summary are left out; the contents
    list is built from the ``##`` headings; the provenance footer is added. The finished
    page is checked for anything that would fetch from outside it (scripts, stylesheets,
    fonts, images not embedded): finding one is an error, never a silent fix.

    Raises
    ------
    NotebookRunError
        The page is not self-contained, or a heading cannot be linked from the contents.
    """
    import copy

    from mpsanalysis.html import CONTENT_SECURITY_POLICY, css_string, find_external_references

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            o for o in cell.outputs
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            and SUMMARY_MIMETYPE not in o.get("data", {})
        ]
    exporter = _html_exporter()
    objective = catalogue.get_objective(job.objective_id)
    title = f"{objective.title} — {job.geography} — {job.period_end}"
    nb.metadata["title"] = title
    toc = _toc(nb)
    resources = {
        "report_css": _report_css(),
        "report_csp": CONTENT_SECURITY_POLICY,
        "report_print_title": css_string(title),
        "report_toc": toc,
        "report_toc_at": toc[0]["cell"] if toc else -1,
        "report_footer": _footer_html(job, checksums, commit),
        "report_synthetic": synthetic,
        "report_provisional": job.provisional,
        "report_index_link": True,
        "metadata": {"name": job.stem},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    problems = find_external_references(body)
    if problems:
        raise NotebookRunError(
            f"the report would fetch from outside itself: {'; '.join(problems[:5])}"
        )
    return body


def _summary_from(nb) -> dict | None:
    """The report's machine-readable summary, as plain JSON types.

    Plain types, not nbformat's ``NotebookNode``: a result sent back from a worker
    process is unpickled in the main process, and a ``NotebookNode`` inside it would
    make that process import nbformat there and then (over a second, during which the
    pool hands out no work).
    """
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIMETYPE in data:
                return json.loads(json.dumps(data[SUMMARY_MIMETYPE]))
    return None


def _describe_failure(exc: BaseException, job: Job) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        cell = exc.exec_count if exc.exec_count is not None else exc.cell_index
        return f"{job.objective_id} ({job.geography}): cell {cell}: {exc.ename}: {exc.evalue}"
    return f"{job.objective_id} ({job.geography}): {type(exc).__name__}: {exc}"


def execute_job(job: Job, staging: str, checksums: dict, commit: str) -> JobResult:
    """Execute one notebook and export its HTML into the staging folder.

    Never raises for a notebook failure: the result says what failed, and the partial
    executed notebook is kept as ``<stem>.failed.ipynb``. The notebook runs in this
    worker's warm kernel (:mod:`mpsanalysis.engine`: imports loaded once, namespace and
    caches reset between reports); ``MPSANALYSIS_ENGINE=papermill`` runs it with
    ``papermill.execute_notebook`` in a fresh kernel instead.
    """
    from mpsanalysis import engine

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
    """Run the jobs here (one worker) or in worker processes, each with a warm kernel
    started as the worker starts, so kernel start-up overlaps across workers."""
    from mpsanalysis import engine

    results: list[JobResult] = []
    bar = _progress(len(plan.jobs))
    workers = max(1, min(workers, len(plan.jobs)))
    try:
        if workers == 1:
            for job in plan.jobs:
                results.append(execute_job(job, str(staging), checksums, commit))
                if bar:
                    bar.update()
        else:
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            cwd = str(Path(plan.jobs[0].notebook).parent)
            initializer = engine.start_worker if engine.engine_name() == "warm" else None
            with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                     initializer=initializer,
                                     initargs=(cwd,) if initializer else ()) as pool:
                futures = [pool.submit(execute_job, job, str(staging), checksums, commit)
                           for job in plan.jobs]
                for future in as_completed(futures):
                    results.append(future.result())
                    if bar:
                        bar.update()
    finally:
        engine.close_engines()  # the serial path's kernel; workers close their own
        if bar:
            bar.close()
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

    from mpsanalysis import engine

    with Client(address, timeout="20s") as client:
        try:
            # The shared arguments travel inside the function (a dict given to map as a
            # keyword would be taken for a task).
            task = functools.partial(execute_job, staging=str(staging), checksums=checksums,
                                     commit=commit)
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
    """Write a text file atomically (see :func:`mpsanalysis.store.write_text_atomic`)."""
    store.write_text_atomic(path, text)


def _package_versions() -> dict[str, str]:
    from importlib import metadata

    names = ["pandas", "numpy", "statsmodels", "scipy", "matplotlib", "papermill", "nbconvert",
             "nbclient", "ipykernel", "pyarrow", "duckdb", "pyyaml"]
    versions = {"python": sys.version.split()[0], "mpsanalysis": __version__}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def execute_plan(plan: RunPlan, workers: int | None = None,
                 scheduler: str | None = None) -> RunOutcome:
    """Execute a plan and publish the reports atomically; print a one-line-per-failure
    summary."""
    from mpsanalysis import fetch
    from mpsanalysis.index import write_index

    if workers is not None and workers < 1:
        raise ParameterError(f"--workers {workers} must be at least 1")
    if scheduler is not None:
        _check_scheduler(scheduler)
    from mpsanalysis import engine

    engine.kernel_threads()  # a bad MPSANALYSIS_KERNEL_THREADS is refused before any kernel
    workers = workers or os.cpu_count() or 1
    checksums = fetch.read_checksums()
    commit = _git_commit()
    try:  # uncommitted changes to tracked files: the commit alone does not reproduce it
        dirty = bool(subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.project_root(),
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip())
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
    from mpsanalysis.build import lock_store

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

    def publish_notebook(source: Path, target: Path, job: Job) -> None:
        """Move an executed notebook into place, with papermill's record of where it
        was read and written made relative (the staging folder no longer exists and
        local paths do not belong in reports)."""
        nb = json.loads(source.read_text(encoding="utf-8"))
        record = nb.get("metadata", {}).get("papermill")
        if isinstance(record, dict):
            record["input_path"] = f"notebooks/{Path(job.notebook).name}"
            record["output_path"] = target.name
            source.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                              encoding="utf-8")
        os.replace(source, target)

    def kept_from_earlier_run(plan: RunPlan, done: set) -> list[JobResult]:
        """Reports of this period folder from an earlier run that this run did not
        redo, read back from its manifest."""
        try:
            earlier = json.loads((plan.output_dir / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return []
        before = earlier.get("parameters", {}) if isinstance(earlier, dict) else {}
        if (before.get("period_end"), before.get("provisional")) != (plan.period_end,
                                                                     plan.provisional):
            return []  # reports of another period end are not carried into this index
        redone = {(j.objective_id, j.geography) for j in done}
        kept = []
        for entry in earlier.get("reports", []):
            try:
                job = Job(*(entry[k] for k in ("objective_id", "notebook", "geography",
                                               "period_end", "extracts", "provisional")))
                catalogue.get_objective(job.objective_id)
            except (KeyError, TypeError, MpsAnalysisError):
                continue
            if (job.objective_id, job.geography) in redone:
                continue
            suffix = ".html" if entry.get("ok") else ".failed.ipynb"
            if not (plan.output_dir / f"{job.stem}{suffix}").exists():
                continue
            redone.add((job.objective_id, job.geography))
            kept.append(JobResult(job, bool(entry.get("ok")), float(entry.get("seconds", 0)),
                                  summary=entry.get("summary"), error=entry.get("error", ""),
                                  synthetic=bool(entry.get("synthetic"))))
        return kept

    try:
        if scheduler:
            results = _run_dask(plan, staging, checksums, commit, scheduler)
        else:
            results = _run_local(plan, staging, checksums, commit, workers)
        order = {job: i for i, job in enumerate(plan.jobs)}
        results.sort(key=lambda r: order[r.job])
        for result in results:  # publish: move complete files into place
            stem = result.job.stem
            if result.ok:
                publish_notebook(staging / f"{stem}.ipynb", plan.output_dir / f"{stem}.ipynb",
                                 result.job)
                os.replace(staging / f"{stem}.html", plan.output_dir / f"{stem}.html")
                (plan.output_dir / f"{stem}.failed.ipynb").unlink(missing_ok=True)
            elif (staging / f"{stem}.failed.ipynb").exists():
                publish_notebook(staging / f"{stem}.failed.ipynb",
                                 plan.output_dir / f"{stem}.failed.ipynb", result.job)
        # A run of some objectives only (e.g. re-running one that failed) keeps the
        # period's other reports in the index and manifest, as long as they are for the
        # same period end and their report is still in the folder.
        listed = results + kept_from_earlier_run(plan, {r.job for r in results})
        rank = {o: i for i, o in enumerate(catalogue.objective_ids())}
        places = [boroughs.LONDON] + boroughs.borough_names()
        listed.sort(key=lambda r: (rank.get(r.job.objective_id, len(rank)),
                                   places.index(r.job.geography)
                                   if r.job.geography in places else len(places)))
        index = write_index(plan, listed)
        manifest = {
            "parameters": plan.parameters,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": round(time.time() - started, 1),
            "workers": 0 if scheduler else workers,
            "scheduler": "dask" if scheduler else "local",
            "git_commit": commit,
            "git_dirty": dirty,
            "package_versions": _package_versions(),
            "input_files": {k: v["sha256"] for k, v in sorted(checksums.items())},
            "reports": [
                {**asdict(r.job), "notebook": Path(r.job.notebook).name, "ok": r.ok,
                 "seconds": round(r.seconds, 1), "error": r.error, "synthetic": r.synthetic,
                 "summary": r.summary, "from_earlier_run": r not in results}
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
    print(f"{len(results) - len(failed)} of {len(results)} reports written to "
          f"{_display_path(plan.output_dir)} (index: index.html)")
    for r in failed:
        print(f"FAILED {r.error}", file=sys.stderr)
    return RunOutcome(plan, results, index)


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(paths.project_root()))
    except ValueError:
        return str(path)


def run_or_raise(**kwargs) -> RunOutcome:
    """Plan and execute; raise NotebookRunError when any notebook failed (for scripts)."""
    outcome = execute_plan(plan_run(**{k: v for k, v in kwargs.items()
                                       if k not in ("workers", "scheduler")}),
                           workers=kwargs.get("workers"), scheduler=kwargs.get("scheduler"))
    if not outcome.ok:
        raise NotebookRunError("; ".join(r.error for r in outcome.results if not r.ok))
    return outcome


__all__ += ["run_or_raise"]
