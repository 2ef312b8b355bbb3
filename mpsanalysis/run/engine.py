"""A lean notebook engine: one warm kernel per worker, reused for every report it runs;
in a worker process, the worker itself.

Where the time of one report goes (measured with cProfile and per-step timers; the
figures are in ``docs/performance.md``): the ``papermill`` and ``jupyter nbconvert``
commands each start a Python process and import their libraries (about 3 s each), the
kernel starts (about 1.5 s) and imports pandas, pyarrow, matplotlib and scipy (about
2 s); the notebook's own cells take about 2 s, mostly drawing charts. Only the cells are
work that differs between reports, so this engine pays for everything else once per
worker:

1. **A warm kernel.** The worker starts one IPython kernel (local IPC sockets) and
   imports what the notebooks use (:data:`PRELOAD`) while the worker itself imports
   papermill and nbconvert, so the two start-ups overlap.
2. **papermill's own injection and bookkeeping.** Each job's notebook is read and
   parameterised with papermill's functions (``load_notebook_node``,
   ``parameterize_notebook``) and executed by papermill's nbclient wrapper, with the
   kernel already running: the executed notebook carries the same injected-parameters
   cell, metadata and error markers as a ``papermill.execute_notebook`` run, and the
   HTML is byte-identical (``tests/test_engine.py``).
3. **HTML in the worker**, with :func:`mpsanalysis.report.export.export_html`.
4. **No kernel process in a worker process.** A worker process started by the runner
   (every local ``mpsanalysis run``, one worker or more) runs the cells itself with
   IPython (:class:`mpsanalysis.run.inprocess.InProcessKernel`): the same shell call,
   outputs and papermill records as a kernel driven by nbclient, without the ZeroMQ
   messages between two processes, which were about a fifth of a full run's CPU
   (``docs/performance.md``, session 14). An engine in any other process (Dask's
   worker threads, a direct call of :func:`execute_job_warm`) keeps a kernel process
   (:class:`WarmKernel`), so a report never runs in the process that publishes the
   reports.

Why one report cannot see another's results
-------------------------------------------
After every notebook the kernel is returned to the state it had right after the
warm-up, before anything from a report was loaded
(:func:`mpsanalysis.run.kernel_state.reset`):

* the IPython user namespace is cleared with ``InteractiveShell.reset(new_session=True)``
  (every variable, ``Out``/``_``/``_i`` history, execution counter back to 1), and the
  engine checks that no name is left that was not there after the warm-up;
* every ``functools`` cache in ``mpsanalysis`` modules is emptied, so each report reads
  the processed store afresh (a report that changed a cached table in place could
  otherwise pass the change on);
* process-wide settings a notebook could change are put back: working directory,
  environment variables, ``sys.path``, warning filters (and the "already warned"
  registries), matplotlib's rcParams and open figures, pandas options and NumPy's print
  and error settings;
* the report's garbage is collected, what survives (imported code) is frozen, and the
  collector's thresholds are set to :data:`KERNEL_GC_THRESHOLDS` for the next report.

What stays is imported code, which is exactly what a fresh kernel would import. A kernel
is never reused after a notebook fails, when the reset finds something left over, when
the project's environment variables (``MPSANALYSIS_*``, ``PYTHONPATH``) change, or after
:attr:`ReportEngine.max_runs_per_kernel` reports; in those cases an in-process worker is
retired and the runner starts a new worker process. The test suite runs notebook A and
then B in one kernel (and in one in-process worker) and checks B's output is that of B
run fresh.

``MPSANALYSIS_ENGINE`` chooses the engine (:func:`engine_name`): ``warm`` (the default,
above), ``kernel`` (a kernel process in worker processes too, the engine until session
14) or ``papermill`` (the reference path: ``papermill.execute_notebook`` with a fresh
kernel per report).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mpsanalysis.run.kernel_state import (
    KERNEL_GC_THRESHOLDS,
    THREAD_VARIABLES,
    environment_key,
    kernel_environment,
    kernel_threads,
)

if TYPE_CHECKING:  # pragma: no cover
    from mpsanalysis.run.jobs import Job, JobResult

__all__ = [
    "PRELOAD",
    "KERNEL_NAME",
    "WarmKernel",
    "ReportEngine",
    "get_engine",
    "close_engines",
    "start_worker",
    "execute_job_warm",
    "execute_job_papermill",
    "engine_name",
    "kernel_environment",
    "kernel_threads",
    "KERNEL_GC_THRESHOLDS",
    "THREAD_VARIABLES",
]

KERNEL_NAME = "python3"

#: Modules the objective notebooks load, imported by the warm-up in this order.
#: ``matplotlib.pyplot`` is imported after selecting the Agg backend, as
#: :func:`mpsanalysis.report.charts.setup_style` does before a notebook's first chart.
#: ``benchmarks`` reports how many modules a report still imports after the warm-up.
PRELOAD: tuple[str, ...] = (
    "mpsanalysis.report.objective",
    "mpsanalysis.stats.significance",
    "mpsanalysis.stats.spc",
    "mpsanalysis.stats.forecast",
    "mpsanalysis.stats.evaluation",
    "mpsanalysis.ingest.sources",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "pyarrow.pandas_compat",
    "IPython.display",
    "matplotlib.pyplot",
)

_HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"

#: Optional imports that nothing here uses but that cost seconds in every worker:
#: jsonschema (imported by nbformat) registers an "iri" format checker when
#: ``rfc3987_syntax`` is installed, and that module compiles three Earley grammars at
#: import (3-4 s of CPU on the benchmark machine). Notebook schemas use no "iri"
#: format, so notebook validation is unchanged (``tests/test_engine.py`` checks it).
SKIPPED_OPTIONAL_IMPORTS: tuple[str, ...] = ("rfc3987_syntax",)


def _skip_slow_optional_imports() -> None:
    """Make the imports in :data:`SKIPPED_OPTIONAL_IMPORTS` fail fast (ImportError) in
    this process, unless they are already loaded."""
    for name in SKIPPED_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None blocks an import


#: The values of ``MPSANALYSIS_ENGINE`` (see :func:`engine_name`).
ENGINES = ("warm", "kernel", "papermill")


def engine_name() -> str:
    """Which engine :func:`mpsanalysis.run.runner.execute_job` uses (``MPSANALYSIS_ENGINE``):

    * ``warm`` (default): warm, reset between reports; a worker process started by the
      runner (every local run) runs the cells itself (:mod:`mpsanalysis.run.inprocess`);
      Dask's worker threads, or a direct call in any other process, drive a warm kernel
      process;
    * ``kernel``: a warm kernel process everywhere (the engine until session 14);
    * ``papermill``: ``papermill.execute_notebook`` with a fresh kernel per report.
    """
    from mpsanalysis.errors import ParameterError

    name = os.environ.get("MPSANALYSIS_ENGINE", "warm").strip().lower() or "warm"
    if name not in ENGINES:
        raise ParameterError(
            f"MPSANALYSIS_ENGINE {name!r} is not one of {', '.join(map(repr, ENGINES))}"
        )
    return name


# ----------------------------------------------------------------- in the worker
def kernel_manager_class():
    """A kernel manager on local IPC sockets where the OS allows it.

    The five kernel channels (shell, iopub, stdin, control, heartbeat) use IPC sockets,
    so no kernel channel listens on a TCP port. ipykernel itself still opens one socket
    on 127.0.0.1 for output from processes a notebook forks; it cannot be switched off,
    and it is bound to loopback only (tests/test_security.py checks nothing listens on
    a network interface).

    Each kernel gets its own private folder for its sockets, removed when the kernel
    shuts down, and the environment of :func:`kernel_environment` (one thread for the
    numerical libraries unless set otherwise).
    """
    from jupyter_client.manager import AsyncKernelManager

    class LocalKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._socket_dir = None
            if os.name == "posix":
                self._socket_dir = tempfile.mkdtemp(prefix="mpsk-")
                self.transport = "ipc"
                self.ip = os.path.join(self._socket_dir, "kernel")

        async def _async_start_kernel(self, **kw) -> None:
            kw.setdefault("env", kernel_environment())
            await super()._async_start_kernel(**kw)

        start_kernel = _async_start_kernel

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart and self._socket_dir:
                shutil.rmtree(self._socket_dir, ignore_errors=True)

        cleanup_resources = _async_cleanup_resources

    return LocalKernelManager


def _kernel_call(function: str, *args: Any) -> str:
    """Source that calls a function of :mod:`mpsanalysis.run.kernel_state` in a kernel
    without binding a name."""
    arguments = ", ".join(repr(a) for a in args)
    return f"__import__('mpsanalysis.run.kernel_state', fromlist=['_']).{function}({arguments})"


def _run(coroutine_function, *args, **kwargs):
    from jupyter_core.utils import run_sync

    return run_sync(coroutine_function)(*args, **kwargs)


class WarmKernel:
    """One IPython kernel, started once with :data:`PRELOAD` imported, that executes
    many notebooks one after another and is reset after each.

    Parameters
    ----------
    cwd : str
        The kernel's working directory (the notebooks' folder, as papermill uses).
    preload : sequence of str
        Modules to import during the warm-up.
    startup_timeout : float
        Seconds to wait for the kernel to answer.
    """

    def __init__(
        self, cwd: str, preload: tuple[str, ...] = PRELOAD, startup_timeout: float = 60
    ) -> None:
        self.cwd = str(cwd)
        self.preload = tuple(preload)
        self.startup_timeout = startup_timeout
        self.environment = environment_key()
        self.runs = 0
        self.km: Any = None  # the kernel manager, once started
        self.kc: Any = None  # its blocking client
        self._pending: str | None = None  # msg_id of a helper call not yet answered
        self._current_cwd = self.cwd
        self.seconds_to_ready: float | None = None
        self._started = 0.0

    # -- start-up ------------------------------------------------------------
    def start(self) -> WarmKernel:
        """Launch the kernel process and return at once (see :meth:`ready`)."""
        self._started = time.perf_counter()
        self.km = kernel_manager_class()(kernel_name=KERNEL_NAME)
        _run(self.km.start_kernel, cwd=self.cwd, extra_arguments=[_HISTORY_IN_MEMORY])
        return self

    def ready(self) -> WarmKernel:
        """Wait until the kernel answers and has run the warm-up."""
        if self.km is None:
            self.start()
        if self.kc is None:
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.allow_stdin = False
            _run(self.kc.wait_for_ready, timeout=self.startup_timeout)
            self._pending = self._send(_kernel_call("warm_up", list(self.preload)))
        self.settle()
        if self.seconds_to_ready is None:
            self.seconds_to_ready = time.perf_counter() - self._started
        return self

    # -- helper calls (silent: no output, no history, no names bound) ---------
    def _send(self, code: str) -> str:
        return self.kc.execute(
            code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False
        )

    async def _await_reply(self, msg_id: str, timeout: float | None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            reply = await self.kc.get_shell_msg(timeout=left)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        while True:  # drain this request's iopub messages up to "idle"
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            message = await self.kc.get_iopub_msg(timeout=left)
            if (
                message["parent_header"].get("msg_id") == msg_id
                and message["msg_type"] == "status"
                and message["content"].get("execution_state") == "idle"
            ):
                break
        return reply

    def settle(self, timeout: float | None = 120) -> None:
        """Wait for the last helper call (warm-up, reset); raise if it failed."""
        if self._pending is None:
            return
        msg_id, self._pending = self._pending, None
        reply = _run(self._await_reply, msg_id, timeout)
        content = reply["content"]
        if content.get("status") != "ok":
            raise RuntimeError(
                f"kernel helper failed: {content.get('ename')}: {content.get('evalue')}"
            )

    def call(self, function: str, *args: Any) -> None:
        """Run a kernel-side helper of this module and wait for it."""
        self.settle()
        self._pending = self._send(_kernel_call(function, *args))
        self.settle()

    # -- work -----------------------------------------------------------------
    def execute(self, nb, cwd: str | None = None, reads_path: str | None = None):
        """Execute a parameterised notebook with papermill's nbclient wrapper.

        The reset that follows is sent at once and runs in the kernel while the
        worker exports the HTML; :meth:`settle` (called by the next execution) waits
        for it and raises if it failed. With ``reads_path``, the store tables the
        notebook read are first written there (a JSON list, see
        :func:`mpsanalysis.ingest.store.tables_read`).
        """
        from papermill.clientwrap import PapermillNotebookClient
        from papermill.engines import NotebookExecutionManager
        from papermill.log import logger

        self.ready()
        if cwd is not None and str(cwd) != self._current_cwd:
            self.call("chdir", str(cwd))
            self._current_cwd = str(cwd)
        manager = NotebookExecutionManager(
            nb, output_path=None, progress_bar=False, log_output=False
        )
        manager.notebook_start()
        try:
            client = PapermillNotebookClient(
                manager,
                km=self.km,
                kernel_name=KERNEL_NAME,
                timeout=None,
                startup_timeout=int(self.startup_timeout),
                log=logger,
                log_output=False,
                stdout_file=None,
                stderr_file=None,
            )
            client.kc = self.kc  # the running kernel's client: nothing is started
            client.execute()
            if reads_path is not None:
                self.call("dump_reads", reads_path)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
            self.runs += 1
            if self.alive():
                self._pending = self._send(_kernel_call("reset"))
                self._current_cwd = self.cwd
        return manager.nb

    def alive(self) -> bool:
        try:
            return self.km is not None and bool(_run(self.km.is_alive))
        except Exception:
            return False

    def close(self) -> None:
        """Stop the kernel and remove its sockets (safe to call twice)."""
        kc, km, self.kc, self.km = self.kc, self.km, None, None
        self._pending = None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:  # closing anyway
                pass
        if km is not None:
            try:
                _run(km.shutdown_kernel, now=True)
            except Exception:  # e.g. called from another thread's event loop
                pid = getattr(getattr(km, "provisioner", None), "pid", None)
                if pid:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass


def _warm_export() -> None:
    """Export one empty notebook so the first real report does not pay for nbconvert's
    imports and template loading."""
    import nbformat

    from mpsanalysis.measures import catalogue
    from mpsanalysis.report.export import export_html
    from mpsanalysis.run.jobs import Job

    objective = catalogue.objective_ids()[0]
    job = Job(objective, "warm-up.ipynb", "London", "2010-10", "", False)
    try:
        export_html(nbformat.v4.new_notebook(), job, {}, "warm-up", False)
    except Exception:  # only a warm-up: a real export reports its own errors
        pass


def _finish_job(
    nb, job: Job, executed: Path, checksums: dict, commit: str, started: float
) -> JobResult:
    """Export an executed notebook's HTML beside it and say what happened: the one end
    of both the warm and the papermill path. A failed export keeps the executed notebook
    as ``<stem>.failed.ipynb`` and is the job's failure, never the run's."""
    from mpsanalysis.report.export import export_html, summary_from
    from mpsanalysis.run.jobs import JobResult

    summary = summary_from(nb)
    synthetic = bool(summary and summary.get("synthetic"))
    try:
        html = export_html(nb, job, checksums, commit, synthetic)
    except Exception as exc:
        os.replace(executed, executed.with_name(f"{job.stem}.failed.ipynb"))
        return JobResult(
            job,
            False,
            time.perf_counter() - started,
            error=f"{job.objective_id} ({job.geography}): HTML export: {exc}",
        )
    executed.with_name(f"{job.stem}.html").write_text(html, encoding="utf-8")
    return JobResult(job, True, time.perf_counter() - started, summary=summary, synthetic=synthetic)


class ReportEngine:
    """Runs report jobs in a warm kernel; one per worker process (or per Dask thread).

    Parameters
    ----------
    preload : sequence of str
        Modules the kernel imports before the first report.
    max_runs_per_kernel : int
        Start a new kernel after this many reports (bounds memory growth). 400: a
        full quarter (297 reports) runs without a restart whatever the number of
        workers; at 200, the worker that ran about two thirds of a 2-worker run
        restarted its kernel near the end of the run (a new warm-up, and the tables,
        remembered figures and imports of its objective worked out again). The run's
        peak memory of all processes was the same with 400 (1,683 MB against 1,680
        MB; ``docs/performance.md``, session 13).
    """

    def __init__(
        self,
        preload: tuple[str, ...] = PRELOAD,
        max_runs_per_kernel: int = 400,
        kernel_class: type | None = None,
    ):
        self.preload = tuple(preload)
        self.max_runs_per_kernel = max_runs_per_kernel
        #: :class:`WarmKernel` (a kernel process) or
        #: :class:`mpsanalysis.run.inprocess.InProcessKernel` (this process).
        self.kernel_class = kernel_class or WarmKernel
        self.kernel: Any = None
        self.kernels_started = 0
        self.reports = 0
        self.closed = False
        #: Seconds of the last job's steps: ``execute`` (parameterise, run the cells,
        #: write the notebook) and ``export`` (HTML).
        self.timings: dict[str, float] = {}

    def start(self, cwd: str | os.PathLike | None = None) -> ReportEngine:
        """Start the warm kernel and warm the worker's own imports at the same time."""
        from mpsanalysis import paths

        cwd = str(cwd or paths.notebooks_dir())
        _skip_slow_optional_imports()
        if self.kernel is None:
            self.kernel = self.kernel_class(cwd, self.preload).start()
            self.kernels_started += 1
            import nbformat  # noqa: F401  (the worker's imports, while the kernel boots)
            import papermill.clientwrap  # noqa: F401
            import papermill.execute  # noqa: F401

            _warm_export()
        self.kernel.ready()
        return self

    def _kernel_for(self, cwd: str) -> WarmKernel:
        kernel = self.kernel
        if kernel is not None:
            stale = (
                kernel.environment != environment_key()
                or kernel.runs >= self.max_runs_per_kernel
                or not kernel.alive()
            )
            if not stale:
                try:
                    kernel.settle()  # the previous report's reset
                except Exception:
                    stale = True
            if stale:
                self.discard_kernel()
        if self.kernel is None:
            self.start(cwd)
        assert self.kernel is not None  # start() sets it
        return self.kernel

    def discard_kernel(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None

    def execute_notebook(
        self, notebook: str, output_path: str, parameters: dict, reads_path: str | None = None
    ):
        """Parameterise and execute one notebook the way ``papermill.execute_notebook``
        does; raise ``PapermillExecutionError`` (after writing the notebook with
        papermill's error markers to ``output_path``) when a cell fails."""
        from papermill.execute import (
            prepare_notebook_metadata,
            raise_for_execution_errors,
            remove_error_markers,
        )
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        nb = load_notebook_node(notebook)
        if parameters:  # as papermill: no injected cell without parameters
            nb = parameterize_notebook(nb, parameters, False, kernel_name=KERNEL_NAME)
        nb = prepare_notebook_metadata(nb, notebook, output_path)
        nb = remove_error_markers(nb)
        from papermill.exceptions import PapermillExecutionError
        from papermill.iorw import write_ipynb

        kernel = self._kernel_for(str(Path(notebook).parent))
        try:
            nb = kernel.execute(nb, cwd=str(Path(notebook).parent), reads_path=reads_path)
            raise_for_execution_errors(nb, output_path)
        except BaseException as exc:
            self.discard_kernel()  # a kernel is never reused after a failed notebook
            if not isinstance(exc, PapermillExecutionError):  # e.g. the kernel died
                try:
                    write_ipynb(nb, output_path)  # keep what was executed
                except Exception:
                    pass
            raise
        return nb

    def run_job(self, job: Job, staging: str, checksums: dict, commit: str) -> JobResult:
        """Execute one job and export its HTML into ``staging`` (the contract of
        :func:`mpsanalysis.run.runner.execute_job`: never raises for a notebook failure)."""
        # Before nbformat's first import: a run on one worker imports it here, before
        # the kernel starts (a worker process skips it at its warm-up already).
        _skip_slow_optional_imports()
        import nbformat
        import nbformat.reader

        from mpsanalysis.run.jobs import JobResult, describe_failure, published_notebook_record

        started = time.perf_counter()
        staging_dir = Path(staging)
        executed = staging_dir / f"{job.stem}.ipynb"
        failed = staging_dir / f"{job.stem}.failed.ipynb"
        reads = staging_dir / f"{job.stem}.reads.json"
        inputs: list[str] | None = None
        try:
            nb = self.execute_notebook(job.notebook, str(executed), job.parameters, str(reads))
            try:
                inputs = [str(p) for p in json.loads(reads.read_text(encoding="utf-8"))]
            except (OSError, ValueError, TypeError):
                inputs = None  # not recorded: the report is not cached
            # Written as published here, in the worker, while the other workers run:
            # the runner only moves it into place.
            published_notebook_record(nb, job)
            text = nbformat.writes(nb) + "\n"
            executed.write_text(text, encoding="utf-8")
            # What the papermill path reads back; nbformat.reads would validate the
            # notebook again after nbformat.writes just did (that only logs).
            nb = nbformat.reader.reads(text)
        except Exception as exc:  # any failure of this one notebook is isolated
            if executed.exists():
                os.replace(executed, failed)
            return JobResult(
                job,
                False,
                time.perf_counter() - started,
                error=describe_failure(exc, job),
                retire_worker=self.worker_spent(),
            )
        finally:
            self.reports += 1
            reads.unlink(missing_ok=True)
        executed_at = time.perf_counter()
        result = _finish_job(nb, job, executed, checksums, commit, started)
        if result.ok:
            result.inputs = inputs
        finished = time.perf_counter()
        self.timings = {"execute": executed_at - started, "export": finished - executed_at}
        result.retire_worker = self.worker_spent()
        return result

    def worker_spent(self) -> bool:
        """Whether this process must not run another report: its in-process kernel was
        discarded or has run :attr:`max_runs_per_kernel` reports (the runner then starts
        a new worker). Always false for a kernel process, which is simply replaced."""
        from mpsanalysis.run.inprocess import InProcessKernel

        if self.kernel_class is not InProcessKernel:
            return False
        return InProcessKernel.spent or (
            self.kernel is not None and self.kernel.runs >= self.max_runs_per_kernel
        )

    def close(self) -> None:
        self.discard_kernel()
        self.closed = True


_local = threading.local()
_engines: list[ReportEngine] = []
_lock = threading.Lock()
_atexit_registered = False


def get_engine(kernel_class: type | None = None) -> ReportEngine:
    """This thread's engine (created on first use, with ``kernel_class``; its kernel
    starts on first job)."""
    global _atexit_registered
    engine = getattr(_local, "engine", None)
    if engine is None or engine.closed:
        engine = ReportEngine(kernel_class=kernel_class)
        _local.engine = engine
        with _lock:
            _engines.append(engine)
            if not _atexit_registered:
                atexit.register(close_engines)
                _atexit_registered = True
    return engine


def close_engines() -> int:
    """Stop every warm kernel this process started; returns how many engines closed."""
    with _lock:
        engines = list(_engines)
        _engines.clear()
    for engine in engines:
        engine.close()
    return len(engines)


def start_worker(cwd: str | None = None, in_process: bool = False) -> None:
    """Initialiser of a worker process: start its warm kernel before the first job; with
    ``in_process``, the worker runs the cells itself
    (:class:`mpsanalysis.run.inprocess.InProcessKernel`).

    A failure here is not raised (it would break the whole pool): the first job starts
    the kernel again and reports the error as that job's failure.
    """
    import multiprocessing.util

    multiprocessing.util.Finalize(None, close_engines, exitpriority=10)
    kernel_class = None
    if in_process:
        from mpsanalysis.run.inprocess import InProcessKernel

        kernel_class = InProcessKernel
    try:
        get_engine(kernel_class).start(cwd)
    except Exception as exc:
        print(
            f"mpsanalysis worker: warm kernel not started ({exc}); "
            "starting it with the first report",
            file=sys.stderr,
        )
        get_engine().discard_kernel()


def execute_job_warm(job: Job, staging: str, checksums: dict, commit: str) -> JobResult:
    """:func:`mpsanalysis.run.runner.execute_job` on this thread's warm engine."""
    return get_engine().run_job(job, staging, checksums, commit)


def execute_job_papermill(job: Job, staging: str, checksums: dict, commit: str) -> JobResult:
    """The reference path: ``papermill.execute_notebook`` with a fresh kernel, then
    :func:`mpsanalysis.report.export.export_html` (same contract as ``execute_job``)."""
    import nbformat
    import papermill

    from mpsanalysis.run.jobs import JobResult, describe_failure, published_notebook_record

    started = time.perf_counter()
    staging_dir = Path(staging)
    executed = staging_dir / f"{job.stem}.ipynb"
    try:
        papermill.execute_notebook(
            job.notebook,
            str(executed),
            parameters=job.parameters,
            progress_bar=False,
            request_save_on_cell_execute=False,
            kernel_name=KERNEL_NAME,
            cwd=str(Path(job.notebook).parent),
            kernel_manager_class=kernel_manager_class(),
        )
    except Exception as exc:  # any failure of this one notebook is isolated
        if executed.exists():
            os.replace(executed, staging_dir / f"{job.stem}.failed.ipynb")
        return JobResult(
            job, False, time.perf_counter() - started, error=describe_failure(exc, job)
        )
    nb = nbformat.read(executed, as_version=4)
    published_notebook_record(nb, job)  # as the warm path writes it (ReportEngine.run_job)
    executed.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return _finish_job(nb, job, executed, checksums, commit, started)
