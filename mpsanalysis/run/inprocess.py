"""The worker as its own kernel: a report's cells run in the worker process.

The warm engine of :mod:`mpsanalysis.run.engine` keeps one IPython kernel per worker and
drives it with papermill's nbclient wrapper: every output of every cell is serialised by
the kernel, sent over ZeroMQ, parsed by the worker (dates included) and turned back
into a notebook output. That hand-over was about a fifth of a full run's processor time,
and the waits between the two processes left cores idle (``docs/performance.md``,
session 14). :class:`InProcessKernel` does what the kernel and nbclient did, in the
worker's own process:

* an IPython :class:`~IPython.core.interactiveshell.InteractiveShell` runs each code
  cell, as ipykernel's shell does (same ``run_cell`` call, history in memory,
  execution counter from 1 after each reset);
* its display publisher, display hook, traceback hook and ``sys.stdout``/``sys.stderr``
  make the messages ipykernel would send, with ipykernel's own ``encode_images`` and
  ``json_clean`` and a JSON round trip through jupyter_client's packer, so an output
  holds exactly what it would after the wire; each becomes the notebook output
  nbformat's ``output_from_msg`` would make (:func:`output_node`), and display-id
  updates and ``clear_output`` are applied as nbclient applies them;
* papermill's :class:`~papermill.engines.NotebookExecutionManager` keeps the notebook's
  and each cell's ``papermill`` record, and a failing cell is reported with nbclient's
  own :class:`~nbclient.exceptions.CellExecutionError`, so the executed notebook (error
  markers included) and the HTML are those of the warm engine
  (``tests/test_inprocess.py`` compares them).

Isolation between reports is the warm kernel's: the same reset
(:func:`mpsanalysis.run.kernel_state.reset`) runs after each report. A worker whose
report failed, whose reset failed or that ran :attr:`ReportEngine.max_runs_per_kernel`
reports is *retired*: the job's result says so and the runner replaces the worker
process (a kernel process was replaced in the same cases). A report that kills its
process (``os._exit``, a crash in a C library) ends the worker, and the runner reports
that job as failed and starts another worker.

Only worker processes started by the runner use this engine (one worker or more): the
runner's own process never runs a report, and Dask's worker threads keep a separate
kernel, so nothing a report does can reach them. What differs from a kernel: output that C libraries write straight to
file descriptors 1 and 2 goes to the worker's terminal, not into the notebook
(ipykernel captures it), and stream output is flushed at the same points as ipykernel's
(each display, the end of the cell) but never split by ipykernel's 0.2 s timer.
"""

from __future__ import annotations

import datetime
import io
import os
import sys
import time
from typing import Any

__all__ = ["InProcessKernel", "CellCapture", "output_node"]

#: ``nbclient.NotebookClient.skip_cells_with_tag`` (default): such cells are not run.
SKIP_TAG = "skip-execution"
#: A cell with this tag may fail without stopping the notebook (nbclient's rule).
RAISES_TAG = "raises-exception"


def _timestamp() -> str:
    """A message date as nbclient records it in ``cell.metadata.execution``."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CellCapture:
    """The outputs of the notebook being run, built as nbclient builds them from the
    kernel's messages.

    Examples
    --------
    >>> import nbformat
    >>> capture = CellCapture()
    >>> cell = nbformat.v4.new_code_cell("print(1)")
    >>> capture.begin(cell, 0)
    >>> capture.write("stdout", "1\\n")  # buffered until the next flush
    >>> capture.flush()  # as the display publisher does before each display
    >>> capture.message("display_data", {"data": {"text/plain": "2"}, "metadata": {}})
    >>> capture.end()
    >>> [o.output_type for o in cell.outputs]
    ['stream', 'display_data']
    >>> cell.outputs[0].text
    '1\\n'
    """

    def __init__(self) -> None:
        self.cell: Any = None
        self.index = -1
        self.cells: dict[int, Any] = {}
        self._pending: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._clear_on_next = False
        self._display_ids: dict[str, dict[int, list[int]]] = {}

    # -- the notebook and the cell ------------------------------------------------
    def reset(self) -> None:
        """Forget the notebook (display ids) before the next one."""
        self.__init__()  # type: ignore[misc]

    def begin(self, cell, index: int) -> None:
        """Start capturing ``cell`` (its outputs are emptied, as nbclient does)."""
        self.cell, self.index = cell, index
        self.cells[index] = cell
        cell.outputs = []
        self._clear_on_next = False

    def end(self) -> None:
        """Flush the streams into the cell and stop capturing."""
        self.flush()
        self.cell = None

    @property
    def active(self) -> bool:
        return self.cell is not None

    # -- streams ------------------------------------------------------------------
    def write(self, name: str, text: str) -> None:
        self._pending[name].append(text)

    def flush(self) -> None:
        """Send the buffered stream text, stdout first (ipykernel's ``_flush_streams``)."""
        for name in ("stdout", "stderr"):
            parts = self._pending[name]
            if parts:
                text = "".join(parts)
                parts.clear()
                if text:
                    self.message("stream", {"name": name, "text": text})

    # -- messages -----------------------------------------------------------------
    def message(self, msg_type: str, content: dict) -> None:
        """Handle one output message as nbclient's ``process_message`` would."""
        from jupyter_client.session import json_packer, json_unpacker

        if self.cell is None:  # output outside a cell (none in a report): dropped
            return
        content = json_unpacker(json_packer(content))  # what arrives over the wire
        transient = content.get("transient")
        display_id = transient.get("display_id") if transient else None
        if display_id and msg_type in ("execute_result", "display_data", "update_display_data"):
            self._update_display(display_id, content)
        if "execution_count" in content:
            self.cell["execution_count"] = content["execution_count"]
        if msg_type == "update_display_data":
            return
        out = output_node(msg_type, content)
        outputs = self.cell.outputs
        if self._clear_on_next:
            outputs[:] = []
            self._forget_displays(self.index)
            self._clear_on_next = False
        if display_id:
            self._display_ids.setdefault(display_id, {}).setdefault(self.index, []).append(
                len(outputs)
            )
        outputs.append(out)

    def clear_output(self, wait: bool = False) -> None:
        """``IPython.display.clear_output`` (nbclient's ``clear_output``)."""
        self.flush()
        if self.cell is None:
            return
        if wait:
            self._clear_on_next = True
        else:
            self.cell.outputs[:] = []
            self._forget_displays(self.index)

    def _forget_displays(self, index: int) -> None:
        for cell_map in self._display_ids.values():
            if index in cell_map:
                cell_map[index] = []

    def _update_display(self, display_id: str, content: dict) -> None:
        if display_id not in self._display_ids:
            return
        out = output_node("display_data", content)
        for index, positions in self._display_ids[display_id].items():
            outputs = self.cells[index]["outputs"]
            for position in positions:
                outputs[position]["data"] = out["data"]
                outputs[position]["metadata"] = out["metadata"]


#: The fields of each output type taken from its message's content (as nbformat's
#: ``output_from_msg`` takes them).
OUTPUT_FIELDS = {
    "execute_result": ("metadata", "data", "execution_count"),
    "display_data": ("metadata", "data"),
    "stream": ("name", "text"),
    "error": ("ename", "evalue", "traceback"),
}


def output_node(msg_type: str, content: dict):
    """The notebook output of an output message: nbformat's ``output_from_msg`` without
    its schema validation of every output (about 1% of a full run), since the whole
    notebook is validated when it is written (``nbformat.writes``).

    Raises
    ------
    ValueError
        ``msg_type`` is not an output message (as ``output_from_msg`` raises).

    Examples
    --------
    >>> from nbformat.v4 import output_from_msg
    >>> content = {"data": {"text/plain": "42"}, "metadata": {}, "execution_count": 3}
    >>> message = {"header": {"msg_type": "execute_result"}, "content": content}
    >>> output_node("execute_result", content) == output_from_msg(message)
    True
    """
    from nbformat import from_dict

    try:
        fields = OUTPUT_FIELDS[msg_type]
    except KeyError:
        raise ValueError(f"Unrecognized output msg type: {msg_type!r}") from None
    return from_dict({"output_type": msg_type, **{name: content[name] for name in fields}})


class _CellStream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` of the worker: text written while a cell runs
    becomes the cell's stream output; anything else goes to the worker's own stream."""

    def __init__(self, name: str, capture: CellCapture, original) -> None:
        super().__init__()
        self.name = name
        self._capture = capture
        self._original = original

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._original.fileno()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._capture.active:
            self._capture.write(self.name, text)
        else:
            self._original.write(text)
        return len(text)

    def flush(self) -> None:
        if not self._capture.active:
            self._original.flush()


def _shell_class():
    """The shell class (built on first use: IPython is imported only in a worker)."""
    from ipykernel.jsonutil import encode_images, json_clean
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type

    class CapturingDisplayPublisher(DisplayPublisher):
        """ipykernel's ``ZMQDisplayPublisher.publish``, delivered to the capture."""

        def publish(
            self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs
        ):
            capture = self.shell.capture
            capture.flush()
            if metadata is None:
                metadata = {}
            if transient is None:
                transient = {}
            self._validate_data(data, metadata)
            content = {"data": encode_images(data), "metadata": metadata, "transient": transient}
            capture.message(
                "update_display_data" if update else "display_data", json_clean(content)
            )

        def clear_output(self, wait=False):
            self.shell.capture.clear_output(wait)

    class CapturingDisplayHook(DisplayHook):
        """ipykernel's ``ZMQShellDisplayHook``: ``execute_result`` to the capture."""

        msg: dict | None = None

        def start_displayhook(self):
            self.msg = {"data": {}, "metadata": {}}

        def write_output_prompt(self):
            if self.msg is not None:
                self.msg["execution_count"] = self.prompt_count

        def write_format_data(self, format_dict, md_dict=None):
            if self.msg is not None:
                self.msg["data"] = json_clean(encode_images(format_dict))
                self.msg["metadata"] = md_dict

        def finish_displayhook(self):
            self.shell.capture.flush()
            if self.msg is not None and self.msg["data"]:
                self.shell.capture.message("execute_result", self.msg)
            self.msg = None

    class CapturingShell(InteractiveShell):
        """The shell of an in-process kernel (see the module's description)."""

        display_pub_class = Type(CapturingDisplayPublisher)
        displayhook_class = Type(CapturingDisplayHook)
        capture: CellCapture  # set per instance in __init__

        def __init__(self, **kwargs):
            self.capture = CellCapture()
            super().__init__(**kwargs)

        def _showtraceback(self, etype, evalue, stb):
            # ipykernel's ZMQInteractiveShell._showtraceback: an "error" message.
            self.capture.flush()
            self.capture.message(
                "error",
                json_clean({"traceback": stb, "ename": str(etype.__name__), "evalue": str(evalue)}),
            )
            self._last_traceback = stb

    return CapturingShell


class InProcessKernel:
    """Runs notebooks in this process, with the interface of
    :class:`mpsanalysis.run.engine.WarmKernel` (``start``, ``ready``, ``settle``,
    ``call``, ``execute``, ``alive``, ``close``).

    One per process: IPython's shell is a singleton, and a process whose kernel was
    discarded (a failed report, a failed reset) is not used again; :attr:`spent` says
    so and :meth:`start` refuses.

    Parameters
    ----------
    cwd : str
        The notebooks' folder: the working directory while cells run.
    preload : sequence of str
        Modules to import during the warm-up.
    """

    #: A kernel of this process was closed: the process is not clean any more.
    spent = False

    def __init__(self, cwd: str, preload: tuple[str, ...] = ()):
        from mpsanalysis.run import kernel_state

        self.cwd = str(cwd)
        self.preload = tuple(preload)
        self.environment = kernel_state.environment_key()
        self.runs = 0
        self.seconds_to_ready: float | None = None
        self.shell: Any = None
        self._started = 0.0

    @staticmethod
    def _refuse_if_spent() -> None:
        if InProcessKernel.spent:
            raise RuntimeError(
                "this worker's in-process kernel was discarded; the worker must be replaced"
            )

    def start(self) -> InProcessKernel:
        self._refuse_if_spent()
        from mpsanalysis.run import kernel_state

        self._started = time.perf_counter()
        # Before NumPy's first import in this process: its BLAS reads these once.
        for name, value in kernel_state.kernel_environment().items():
            if name in kernel_state.THREAD_VARIABLES:
                os.environ.setdefault(name, value)
        return self

    def ready(self) -> InProcessKernel:
        """Create the shell and run the warm-up (once)."""
        if self.shell is not None:
            return self
        self._refuse_if_spent()
        from ipykernel.compiler import XCachingCompiler
        from traitlets.config import Config

        from mpsanalysis.run import kernel_state

        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        shell_class = _shell_class()
        # ipykernel's compiler: cells are named as in a kernel (warnings, tracebacks).
        self.shell = shell_class.instance(config=config, compiler_class=XCachingCompiler)
        capture = self.shell.capture
        sys.stdout = _CellStream("stdout", capture, sys.__stdout__)
        sys.stderr = _CellStream("stderr", capture, sys.__stderr__)
        os.chdir(self.cwd)
        kernel_state.warm_up(list(self.preload))
        self.seconds_to_ready = time.perf_counter() - self._started
        return self

    def settle(self, timeout: float | None = None) -> None:
        """Nothing is ever pending: the reset runs at the end of :meth:`execute`."""

    def call(self, function: str, *args: Any) -> None:
        """Run a function of :mod:`mpsanalysis.run.kernel_state` (by name, as
        :meth:`WarmKernel.call <mpsanalysis.run.engine.WarmKernel.call>` does)."""
        from mpsanalysis.run import kernel_state

        self.ready()
        getattr(kernel_state, function)(*args)

    def _run_cell(self, cell, index: int) -> None:
        from nbclient.exceptions import CellExecutionError

        shell, capture = self.shell, self.shell.capture
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or not cell.source.strip() or SKIP_TAG in tags:
            return
        cell["metadata"]["execution"] = {}
        timing = cell["metadata"]["execution"]  # the node stored (a dict would be copied)
        capture.begin(cell, index)
        timing["iopub.status.busy"] = _timestamp()
        cell["execution_count"] = shell.execution_count
        timing["iopub.execute_input"] = _timestamp()
        try:
            shell._last_traceback = None
            result = shell.run_cell(cell.source, store_history=True, silent=False)
        finally:
            capture.end()
        timing["shell.execute_reply"] = _timestamp()
        timing["iopub.status.idle"] = _timestamp()
        if result.success:
            return
        error = result.error_before_exec or result.error_in_exec
        reply = {
            "status": "error",
            "traceback": shell._last_traceback or [],
            "ename": str(type(error).__name__),
            "evalue": str(error),
        }
        if RAISES_TAG not in tags:
            raise CellExecutionError.from_cell_and_msg(cell, reply)

    def execute(self, nb, cwd: str | None = None, reads_path: str | None = None):
        """Execute a parameterised notebook, keeping papermill's records; then write the
        tables read to ``reads_path`` and reset the process for the next report."""
        from ipykernel.ipkernel import IPythonKernel
        from nbclient.exceptions import CellExecutionError
        from papermill.engines import NotebookExecutionManager

        from mpsanalysis.run import kernel_state

        self.ready()
        if cwd is not None:
            os.chdir(cwd)
        manager = NotebookExecutionManager(
            nb, output_path=None, progress_bar=False, log_output=False
        )
        manager.notebook_start()
        self.shell.capture.reset()
        try:
            for index, cell in enumerate(manager.nb.cells):
                try:
                    manager.cell_start(cell, index)
                    self._run_cell(cell, index)
                except CellExecutionError as exc:
                    manager.cell_exception(manager.nb.cells[index], cell_index=index, exception=exc)
                    break
                finally:
                    manager.cell_complete(manager.nb.cells[index], cell_index=index)
            manager.nb.metadata["language_info"] = json_round_trip(IPythonKernel.language_info)
            if reads_path is not None:
                kernel_state.dump_reads(reads_path)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
            self.runs += 1
            try:
                kernel_state.reset()
            except Exception as exc:  # this process is not clean: retire it
                print(f"mpsanalysis worker: reset failed ({exc}); retiring", file=sys.stderr)
                self.close()
        return manager.nb

    def alive(self) -> bool:
        return not InProcessKernel.spent

    def close(self) -> None:
        """Mark this process as spent (it cannot be cleaned for another report)."""
        InProcessKernel.spent = True


def json_round_trip(value):
    """``value`` as a kernel message would carry it (jupyter_client's packer).

    Examples
    --------
    >>> json_round_trip({"version": (3, 11)})
    {'version': [3, 11]}
    """
    from jupyter_client.session import json_packer, json_unpacker

    return json_unpacker(json_packer(value))
