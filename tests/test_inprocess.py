"""The in-process engine: a worker process runs the cells itself.

The reference for every comparison is the kernel-process engine (a warm IPython kernel
driven by papermill's nbclient wrapper, itself checked against
``papermill.execute_notebook`` in ``tests/test_engine.py``), run in this process. The
in-process engine only ever runs in a worker process, so these tests start one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from mpsanalysis.run import engine, inprocess, jobs, runner

from .test_engine import POLLUTER, STATE_PROBE, THREAD_PROBE, _notebook, _write

# Every kind of output a cell can make, and the tags that change how a cell is run.
OUTPUTS = [
    "print('to stdout'); import sys; print('to stderr', file=sys.stderr); print('again')",
    "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))\n6 * 7",
    "import warnings; warnings.warn('a warning, on stderr')",
    "",  # an empty cell is not executed
    "h = display('first', display_id='one')\nprint('between')\nh.update('updated')",
    "from IPython.display import clear_output\nprint('gone')\nclear_output(wait=True)\n"
    "print('kept')",
    "print('gone too'); clear_output()",
    "1 / 0",  # tagged raises-exception: the notebook goes on
    "print('skipped')",  # tagged skip-execution
    "import pandas as pd\npd.DataFrame({'a': [1, 2]})",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\n"
    "display(fig); plt.close(fig)",
    "print(f'{period_end} {geography}')\nundefined_name",  # the failing cell
    "print('never run')",
]


def _outputs_notebook():
    nb = _notebook(*OUTPUTS)
    nb.cells.insert(4, nbformat.v4.new_markdown_cell("A *markdown* cell."))
    for cell in nb.cells:
        if cell.source.startswith("1 / 0"):
            cell.metadata["tags"] = ["raises-exception"]
        if cell.source == "print('skipped')":
            cell.metadata["tags"] = ["skip-execution"]
    return nb


def _comparable(nb: dict) -> dict:
    """An executed notebook without what differs between any two runs: times, cell ids
    and the process id in the file names ipykernel gives cells."""
    nb = json.loads(re.sub(r"ipykernel_[0-9]+", "ipykernel_PID", json.dumps(nb)))
    for key in ("start_time", "end_time", "duration", "output_path"):
        nb["metadata"]["papermill"].pop(key)
    for cell in nb["cells"]:
        cell.pop("id", None)
        record = cell["metadata"].get("papermill", {})
        for key in ("start_time", "end_time", "duration"):
            record.pop(key, None)
        if "execution" in cell["metadata"]:  # the same four times are recorded
            cell["metadata"]["execution"] = sorted(cell["metadata"]["execution"])
    return nb


def _worker_pool(cwd: Path) -> ProcessPoolExecutor:
    """One worker process with the in-process engine, as the runner starts it."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=engine.start_worker,
        initargs=(str(cwd), True),
    )


def _job(notebook: str, geography: str = "London") -> jobs.Job:
    return jobs.Job("serious-violence", notebook, geography, "2011-03", "", False)


@pytest.mark.slow
def test_outputs_errors_and_records_match_the_kernel_engine(tmp_path):
    notebook = _write(tmp_path / "outputs.ipynb", _outputs_notebook())
    job = _job(notebook, "Lambeth")
    kernel_dir, worker_dir = tmp_path / "kernel", tmp_path / "worker"
    kernel_dir.mkdir()
    worker_dir.mkdir()
    reference = engine.ReportEngine()
    try:
        expected = reference.run_job(job, str(kernel_dir), {}, "test")
    finally:
        reference.close()
    with _worker_pool(tmp_path) as pool:
        result = pool.submit(runner.execute_job, job, str(worker_dir), {}, "test").result()

    assert not expected.ok and not result.ok  # the notebook fails at its NameError cell
    assert "NameError" in result.error and result.error == expected.error
    assert result.retire_worker and not expected.retire_worker
    name = f"{job.stem}.failed.ipynb"
    want = json.loads((kernel_dir / name).read_text(encoding="utf-8"))
    got = json.loads((worker_dir / name).read_text(encoding="utf-8"))
    assert _comparable(got) == _comparable(want)

    # code cells: the parameters, papermill's injected parameters, then OUTPUTS in order
    executed = nbformat.read(worker_dir / name, as_version=4)  # multi-line text joined
    cells = [c for c in executed.cells if c.cell_type == "code"][2:]
    texts = [[o["text"] for o in c.outputs if "text" in o] for c in cells]
    assert texts[0] == ["to stdout\nagain\n", "to stderr\n"]  # stdout flushed first
    assert cells[1]["outputs"][0]["data"]["text/html"] == "<b>bold</b>"
    assert cells[1]["outputs"][1]["data"]["text/plain"] == "42"
    assert cells[1]["outputs"][1]["execution_count"] == cells[1]["execution_count"]
    assert "a warning, on stderr" in texts[2][0]
    assert cells[3]["execution_count"] is None  # the empty cell
    assert cells[4]["outputs"][0]["data"]["text/plain"] == "'updated'"  # display updated
    assert texts[4] == ["between\n"]
    assert texts[5] == ["kept\n"]  # cleared when the next output came
    assert texts[6] == []
    assert cells[7]["outputs"][0]["ename"] == "ZeroDivisionError"
    assert cells[8]["outputs"] == [] and cells[8]["execution_count"] is None  # skipped
    assert "text/html" in cells[9]["outputs"][0]["data"]  # a DataFrame
    # a figure, displayed as a kernel displays it after the warm-up selects Agg
    assert cells[10]["outputs"][0]["data"]["text/plain"].startswith("<Figure size")
    assert texts[11] == ["2011-03 Lambeth\n"]
    assert cells[11]["outputs"][1]["ename"] == "NameError"
    assert cells[12]["execution_count"] is None  # not run after the failure
    counts = [c["execution_count"] for c in cells if c["execution_count"] is not None]
    assert counts == list(range(3, 3 + len(counts)))  # 1 and 2: the parameter cells
    papermill = executed.metadata.papermill
    assert papermill["exception"] is True and papermill["parameters"]["geography"] == "Lambeth"
    assert executed.metadata.language_info.name == "python"


@pytest.mark.slow
def test_a_worker_is_reset_between_reports_as_a_kernel_is(tmp_path):
    """Report B after report A in one worker prints the same state as B in a new worker."""
    polluter = _write(tmp_path / "polluter.ipynb", _notebook(POLLUTER))
    probe = _write(tmp_path / "probe.ipynb", _notebook(STATE_PROBE))
    chain, fresh = tmp_path / "chain", tmp_path / "fresh"
    chain.mkdir()
    fresh.mkdir()
    with _worker_pool(tmp_path) as pool:
        first = pool.submit(runner.execute_job, _job(polluter, "Hackney"), str(chain), {}, "t")
        second = pool.submit(runner.execute_job, _job(probe), str(chain), {}, "t")
        assert first.result().ok and second.result().ok
        assert not first.result().retire_worker
    with _worker_pool(tmp_path) as pool:
        assert pool.submit(runner.execute_job, _job(probe), str(fresh), {}, "t").result().ok

    def state(folder: Path) -> dict:
        nb = nbformat.read(folder / "serious-violence.ipynb", as_version=4)
        return json.loads(nb.cells[-1].outputs[0]["text"])

    assert state(chain) == state(fresh)
    assert "secret" not in state(chain)["names"] and state(chain)["environ"] is None
    assert state(chain)["cwd"] == str(tmp_path) and state(chain)["out_history"] == 0


@pytest.mark.slow
def test_an_in_process_worker_runs_numerical_libraries_on_one_thread(tmp_path, monkeypatch):
    """As a kernel process does: the thread variables are set before NumPy is loaded."""
    pytest.importorskip("threadpoolctl")
    for name in engine.THREAD_VARIABLES + ("MPSANALYSIS_KERNEL_THREADS",):
        monkeypatch.delenv(name, raising=False)
    probe = _write(tmp_path / "threads.ipynb", _notebook(THREAD_PROBE, parameters=False))
    with _worker_pool(tmp_path) as pool:
        assert pool.submit(runner.execute_job, _job(probe), str(tmp_path), {}, "t").result().ok
    nb = nbformat.read(tmp_path / "serious-violence.ipynb", as_version=4)
    seen = json.loads(nb.cells[-1].outputs[0]["text"])
    assert seen["pools"], "threadpoolctl found no BLAS or OpenMP library in the worker"
    assert {threads for _, threads in seen["pools"]} == {1}, seen
    assert set(seen["environ"].values()) == {"1"}


@pytest.mark.slow
def test_failed_retired_and_dead_workers_are_replaced_by_the_runner(tmp_path):
    pid = "import os; print(os.getpid())"
    notebooks = {
        "London": _write(tmp_path / "a.ipynb", _notebook(pid)),
        "Barnet": _write(tmp_path / "b.ipynb", _notebook(pid, "raise ValueError('deliberate')")),
        "Brent": _write(tmp_path / "c.ipynb", _notebook("import os; os._exit(3)")),
        "Camden": _write(tmp_path / "d.ipynb", _notebook(pid)),
        "Ealing": _write(tmp_path / "e.ipynb", _notebook(pid)),
    }
    plan = runner.RunPlan(
        "2011-03", "2011-03", [_job(nb, g) for g, nb in notebooks.items()], tmp_path, False, ""
    )
    staging = tmp_path / "staging"
    staging.mkdir()
    results = {r.job.geography: r for r in runner._run_workers(plan, staging, {}, "t", 1, None)}

    assert [g for g, r in results.items() if r.ok] == ["London", "Camden", "Ealing"]
    assert "ValueError: deliberate" in results["Barnet"].error
    assert "worker process running this report stopped" in results["Brent"].error
    assert results["Barnet"].retire_worker and results["Brent"].retire_worker

    def pid_of(geography: str) -> int:
        stem = _job(notebooks[geography], geography).stem
        nb = nbformat.read(staging / f"{stem}.ipynb", as_version=4)
        return int(nb.cells[-1].outputs[0]["text"])

    # London ran in the first worker; Camden and Ealing in the one started after Brent's.
    assert pid_of("London") != pid_of("Camden") == pid_of("Ealing")
    assert (staging / f"{_job(notebooks['Barnet'], 'Barnet').stem}.failed.ipynb").exists()


def test_an_in_process_worker_is_spent_after_its_last_run_or_a_discard(monkeypatch):
    eng = engine.ReportEngine(max_runs_per_kernel=3, kernel_class=inprocess.InProcessKernel)
    eng.kernel = SimpleNamespace(runs=2)
    assert not eng.worker_spent()
    eng.kernel.runs = 3
    assert eng.worker_spent()
    eng.kernel.runs = 0
    monkeypatch.setattr(inprocess.InProcessKernel, "spent", True)
    assert eng.worker_spent()
    with pytest.raises(RuntimeError, match="must be replaced"):
        inprocess.InProcessKernel(".").start()
    kernel_engine = engine.ReportEngine(max_runs_per_kernel=3)
    kernel_engine.kernel = SimpleNamespace(runs=3)
    assert not kernel_engine.worker_spent()  # a kernel process is replaced, not the worker


def test_capture_clears_on_the_next_output_and_updates_displays_in_any_cell():
    capture = inprocess.CellCapture()
    first, second = nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")

    def display(text: str, display_id: str | None = None, update: bool = False) -> None:
        content = {"data": {"text/plain": text}, "metadata": {}}
        if display_id:
            content["transient"] = {"display_id": display_id}
        capture.message("update_display_data" if update else "display_data", content)

    capture.begin(first, 0)
    display("one", "progress")
    capture.write("stdout", "text")
    capture.clear_output(wait=True)  # flushes "text" first, clears at the next output
    assert [o.output_type for o in first.outputs] == ["display_data", "stream"]
    display("two")
    capture.end()
    assert [o.data["text/plain"] for o in first.outputs] == ["two"]

    capture.begin(first, 0)
    display("three", "progress")
    capture.end()
    capture.begin(second, 1)
    display("four", "progress", update=True)  # updates the first cell, adds nothing here
    capture.write("stderr", "late")
    capture.end()
    assert first.outputs[0].data["text/plain"] == "four"
    assert [o.output_type for o in second.outputs] == ["stream"]
    assert second.outputs[0].name == "stderr" and second.outputs[0].text == "late"


def test_cell_stream_captures_only_while_a_cell_runs(tmp_path):
    capture = inprocess.CellCapture()
    with open(tmp_path / "original.txt", "w+", encoding="utf-8") as original:
        stream = inprocess._CellStream("stdout", capture, original)
        stream.write("outside\n")
        capture.begin(nbformat.v4.new_code_cell("x"), 0)
        stream.write("inside\n")
        with pytest.raises(TypeError, match="must be str"):
            stream.write(b"bytes")  # type: ignore[arg-type]
        cell = capture.cell
        capture.end()
        original.seek(0)
        assert original.read() == "outside\n"
    assert cell.outputs[0].text == "inside\n"
    assert not stream.isatty() and stream.encoding == "utf-8"


@pytest.mark.slow
@pytest.mark.realdata
def test_every_objective_html_and_notebook_match_the_kernel_engine(real_store, tmp_path):
    """All objectives one after another in one in-process worker, each compared with the
    kernel-process engine's report, byte for byte (HTML) and output for output."""
    plan = runner.plan_run(period_end="2010-10", reports=tmp_path / "reports")
    worker, kernel = tmp_path / "worker", tmp_path / "kernel"
    worker.mkdir()
    kernel.mkdir()
    results = runner._run_workers(plan, worker, {}, "test", 1, None)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert not any(r.retire_worker for r in results)
    reference = engine.ReportEngine()
    try:
        for job in plan.jobs:
            assert reference.run_job(job, str(kernel), {}, "test").ok
    finally:
        reference.close()
    for job in plan.jobs:
        assert (worker / f"{job.stem}.html").read_bytes() == (
            kernel / f"{job.stem}.html"
        ).read_bytes(), job.stem
        got = json.loads((worker / f"{job.stem}.ipynb").read_text(encoding="utf-8"))
        want = json.loads((kernel / f"{job.stem}.ipynb").read_text(encoding="utf-8"))
        assert _comparable(got) == _comparable(want), job.stem
    assert os.getcwd() != str(Path(plan.jobs[0].notebook).parent)  # this process untouched


@pytest.mark.parametrize(
    "msg_type, content",
    [
        ("stream", {"name": "stderr", "text": "a\nb\n"}),
        ("display_data", {"data": {"text/html": "<b>x</b>"}, "metadata": {"a": 1}}),
        ("execute_result", {"data": {"text/plain": "1"}, "metadata": {}, "execution_count": 7}),
        ("error", {"ename": "ValueError", "evalue": "bad", "traceback": ["line 1", "line 2"]}),
    ],
)
def test_output_nodes_are_nbformats_outputs(msg_type, content):
    from nbformat.v4 import output_from_msg

    expected = output_from_msg({"header": {"msg_type": msg_type}, "content": content})
    got = inprocess.output_node(msg_type, {**content, "transient": {}})
    assert got == expected and type(got) is type(expected)
    assert type(got.get("data", got)) is type(expected.get("data", expected))  # nodes


def test_an_unknown_message_is_not_an_output():
    with pytest.raises(ValueError, match="Unrecognized output msg type"):
        inprocess.output_node("status", {"execution_state": "idle"})
