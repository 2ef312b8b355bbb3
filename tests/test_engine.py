"""The warm-kernel engine: same results as a fresh kernel, nothing carried between reports.

The reference for every comparison is an independent run: the same notebook in a fresh
kernel (papermill's own ``execute_notebook``, or a new warm kernel), never the engine's
own earlier output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mpsanalysis.report import export
from mpsanalysis.run import engine, jobs, runner

pytestmark = pytest.mark.slow  # every test here starts a kernel

PARAMETERS = (
    'period_end: str = "2010-10"  # last month of the reporting period, YYYY-MM\n'
    'geography: str = "London"  # London or a borough\n'
    'extracts: str = ""  # internal extracts\n'
    "provisional: bool = False  # the period is incomplete"
)

# Everything a notebook could leave behind in a kernel, printed as one JSON line.
STATE_PROBE = """\
import json, os, sys, warnings
import matplotlib, numpy, pandas
from mpsanalysis.measures import catalogue
print(json.dumps({
    "names": sorted(k for k in globals() if not k.startswith("_") and k not in
                    ("In", "Out", "exit", "quit", "get_ipython", "open")),
    "pandas_max_rows": pandas.get_option("display.max_rows"),
    "environ": os.environ.get("MPS_LEAK_TEST"),
    "cwd": os.getcwd(),
    "linewidth": matplotlib.rcParams["lines.linewidth"],
    "warning_filters": len(warnings.filters),
    "numpy_precision": numpy.get_printoptions()["precision"],
    "sys_path_leak": "/nonexistent-leak" in sys.path,
    "cached_in_package": sum(
        f.cache_info().currsize for name, m in list(sys.modules.items())
        if name.startswith("mpsanalysis") and m is not None
        for f in vars(m).values() if hasattr(f, "cache_info")),
    "out_history": len(Out),
}, sort_keys=True))
"""

POLLUTER = """\
import os, sys, warnings
import matplotlib, numpy, pandas
secret = 42
pandas.set_option("display.max_rows", 3)
numpy.set_printoptions(precision=2)
os.environ["MPS_LEAK_TEST"] = "leaked"
os.chdir("/")
matplotlib.rcParams["lines.linewidth"] = 9.0
warnings.simplefilter("ignore")
sys.path.insert(0, "/nonexistent-leak")
from mpsanalysis.measures import catalogue
catalogue.objective_ids()
secret
"""


def _notebook(*sources: str, parameters: bool = True):
    cells = []
    if parameters:
        cell = nbformat.v4.new_code_cell(PARAMETERS)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _write(path: Path, nb) -> str:
    nbformat.write(nb, path)
    return str(path)


def _outputs(nb) -> list:
    """Cell outputs and execution counts, without timing metadata."""
    return [(c.get("execution_count"), c.get("outputs")) for c in nb.cells if c.cell_type == "code"]


@pytest.fixture
def fresh_engine():
    eng = engine.ReportEngine()
    yield eng
    eng.close()


def test_reset_leaves_nothing_from_the_previous_notebook(tmp_path, fresh_engine):
    probe = _write(tmp_path / "probe.ipynb", _notebook(STATE_PROBE))
    polluter = _write(tmp_path / "polluter.ipynb", _notebook(POLLUTER))
    out = str(tmp_path / "out.ipynb")

    fresh = fresh_engine.execute_notebook(probe, out, {})  # first notebook in a new kernel
    fresh_engine.execute_notebook(polluter, out, {})
    after = fresh_engine.execute_notebook(probe, out, {})  # same kernel, after the polluter

    assert fresh_engine.kernels_started == 1
    assert _outputs(after) == _outputs(fresh)
    state = json.loads(after.cells[-1].outputs[0]["text"])
    assert "secret" not in state["names"]
    assert state["environ"] is None and state["cwd"] == str(tmp_path)
    assert state["pandas_max_rows"] != 3 and state["linewidth"] != 9.0
    assert not state["sys_path_leak"] and state["numpy_precision"] == 8
    assert state["cached_in_package"] == 0 and state["out_history"] == 0


SHARED_TABLE_CHANGER = """\
from pathlib import Path
from mpsanalysis.ingest import store
frame = store.read_table("numbers", directory=Path("{folder}"))
frame.loc[0, "n"] = 99
frame["extra"] = 1
frame.drop(index=2, inplace=True)
"""

SHARED_TABLE_PROBE = """\
import json
from pathlib import Path
from mpsanalysis.ingest import store
kept = store.shared_tables()
frame = store.read_table("numbers", directory=Path("{folder}"))
print(json.dumps({{"kept": kept, "columns": list(frame.columns), "n": frame["n"].tolist()}}))
"""


def test_a_table_changed_by_one_report_is_read_unchanged_by_the_next(tmp_path, fresh_engine):
    """The kernel keeps the frames the store read (one read of each table per worker),
    yet a report that changes its copy in place cannot pass the change on, and a table
    rebuilt between two reports is read afresh."""
    import pandas as pd

    from mpsanalysis.ingest import store

    folder = tmp_path / "store"
    store.write_table(pd.DataFrame({"n": [1, 2, 3]}), "numbers", folder)
    changer = _write(
        tmp_path / "changer.ipynb", _notebook(SHARED_TABLE_CHANGER.format(folder=folder))
    )
    probe = _write(tmp_path / "probe.ipynb", _notebook(SHARED_TABLE_PROBE.format(folder=folder)))
    out = str(tmp_path / "out.ipynb")

    def probed() -> dict:
        nb = fresh_engine.execute_notebook(probe, out, {})
        return json.loads(nb.cells[-1].outputs[0]["text"])

    fresh_engine.execute_notebook(changer, out, {})
    after = probed()
    assert after == {"kept": ["numbers.parquet"], "columns": ["n"], "n": [1, 2, 3]}
    store.write_table(pd.DataFrame({"n": [4, 5]}), "numbers", folder)
    assert probed()["n"] == [4, 5]
    assert fresh_engine.kernels_started == 1


CYCLE_MAKER = """\
import builtins, weakref
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a  # a reference cycle: only the cyclic collector frees it
builtins._mps_cycle_probe = weakref.ref(a)  # survives the namespace reset
"""

CYCLE_PROBE = """\
import builtins, gc
print(builtins._mps_cycle_probe() is None, gc.get_freeze_count() > 0)
"""


def test_reset_frees_a_reports_garbage_cycles_and_freezes_only_survivors(tmp_path, fresh_engine):
    """The reset freezes what survives it (imported code) so later collections are cheap;
    a report's own garbage, cycles included, must be collected first, never frozen."""
    maker = _write(tmp_path / "maker.ipynb", _notebook(CYCLE_MAKER))
    probe = _write(tmp_path / "probe.ipynb", _notebook(CYCLE_PROBE))
    out = str(tmp_path / "out.ipynb")
    fresh_engine.execute_notebook(maker, out, {})
    after = fresh_engine.execute_notebook(probe, out, {})
    assert fresh_engine.kernels_started == 1
    assert after.cells[-1].outputs[0]["text"].split() == ["True", "True"]


GC_CHANGER = """\
import gc
gc.set_threshold(7, 7, 7)
print(gc.get_threshold())
"""

GC_PROBE = """\
import gc
print(*gc.get_threshold())
"""


def test_reports_run_with_the_kernel_gc_thresholds_whatever_the_last_one_set(
    tmp_path, fresh_engine
):
    """A report runs with the engine's collection thresholds (fewer collections while
    it runs; the reset collects everything), and one that changes them does not pass
    its own to the next."""
    from mpsanalysis.run.engine import KERNEL_GC_THRESHOLDS

    changer = _write(tmp_path / "changer.ipynb", _notebook(GC_CHANGER))
    probe = _write(tmp_path / "probe.ipynb", _notebook(GC_PROBE))
    out = str(tmp_path / "out.ipynb")
    first = fresh_engine.execute_notebook(probe, out, {})
    fresh_engine.execute_notebook(changer, out, {})
    after = fresh_engine.execute_notebook(probe, out, {})
    assert fresh_engine.kernels_started == 1
    expected = [str(n) for n in KERNEL_GC_THRESHOLDS]
    assert first.cells[-1].outputs[0]["text"].split() == expected
    assert after.cells[-1].outputs[0]["text"].split() == expected
    assert KERNEL_GC_THRESHOLDS != (700, 10, 10)  # not Python's defaults


def test_injected_parameters_and_metadata_match_papermill(tmp_path, fresh_engine):
    import papermill

    source = _write(tmp_path / "nb.ipynb", _notebook("print(period_end, geography, provisional)"))
    parameters = {"period_end": "2011-03", "geography": "Lambeth", "provisional": True}
    warm = fresh_engine.execute_notebook(source, str(tmp_path / "warm.ipynb"), parameters)
    reference = papermill.execute_notebook(
        source,
        str(tmp_path / "pm.ipynb"),
        parameters=parameters,
        progress_bar=False,
        kernel_name="python3",
        cwd=str(tmp_path),
    )
    assert [c.source for c in warm.cells] == [c.source for c in reference.cells]
    assert [c.metadata.get("tags") for c in warm.cells] == [
        c.metadata.get("tags") for c in reference.cells
    ]
    assert _outputs(warm) == _outputs(reference)
    assert warm.cells[-1].outputs[0]["text"] == "2011-03 Lambeth True\n"
    assert warm.metadata.papermill.parameters == reference.metadata.papermill.parameters


def _job(notebook: str, objective: str = "serious-violence") -> jobs.Job:
    return jobs.Job(objective, notebook, "London", "2010-10", "", False)


def test_failed_notebook_is_kept_and_its_kernel_is_not_reused(tmp_path, fresh_engine):
    broken = _write(
        tmp_path / "broken.ipynb", _notebook("x = 1", "raise ValueError('deliberate failure')")
    )
    dying = _write(tmp_path / "dying.ipynb", _notebook("import os; os._exit(3)"))
    fine = _write(tmp_path / "fine.ipynb", _notebook("print('fine')"))
    staging = tmp_path / "staging"
    staging.mkdir()

    first = fresh_engine.run_job(_job(broken), str(staging), {}, "test")
    assert not first.ok and "ValueError: deliberate failure" in first.error
    failed = nbformat.read(staging / "serious-violence.failed.ipynb", as_version=4)
    assert any("papermill-error-cell-tag" in c.metadata.get("tags", []) for c in failed.cells)
    assert not (staging / "serious-violence.ipynb").exists()
    assert fresh_engine.kernel is None  # thrown away

    second = fresh_engine.run_job(_job(dying), str(staging), {}, "test")
    assert not second.ok and second.error
    assert fresh_engine.kernel is None

    third = fresh_engine.run_job(_job(fine), str(staging), {}, "test")
    assert third.ok, third.error
    assert (staging / "serious-violence.html").exists()
    assert fresh_engine.kernels_started == 3


def test_changed_environment_starts_a_new_kernel(tmp_path, fresh_engine, monkeypatch):
    probe = _write(
        tmp_path / "env.ipynb",
        _notebook("import os; print(os.environ.get('MPSANALYSIS_DATA_DIR'))", parameters=False),
    )
    out = str(tmp_path / "out.ipynb")
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path / "one"))
    first = fresh_engine.execute_notebook(probe, out, {})
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path / "two"))
    second = fresh_engine.execute_notebook(probe, out, {})
    assert first.cells[0].outputs[0]["text"].strip().endswith("one")
    assert second.cells[0].outputs[0]["text"].strip().endswith("two")
    assert fresh_engine.kernels_started == 2


THREAD_PROBE = """\
import json, os
import numpy, scipy.linalg
from threadpoolctl import threadpool_info
print(json.dumps({
    "pools": sorted({(p["internal_api"], p["num_threads"]) for p in threadpool_info()}),
    "environ": {k: os.environ.get(k) for k in
                ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")},
}))
"""


def _thread_probe(eng, tmp_path) -> dict:
    probe = _write(tmp_path / "threads.ipynb", _notebook(THREAD_PROBE, parameters=False))
    nb = eng.execute_notebook(probe, str(tmp_path / "threads-out.ipynb"), {})
    return json.loads(nb.cells[0].outputs[0]["text"])


def test_report_kernels_run_numerical_libraries_on_one_thread(tmp_path, fresh_engine, monkeypatch):
    pytest.importorskip("threadpoolctl")
    for name in engine.THREAD_VARIABLES + ("MPSANALYSIS_KERNEL_THREADS",):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    seen = _thread_probe(fresh_engine, tmp_path)
    # numpy and scipy each load an OpenBLAS (or MKL): every pool found is one thread
    assert seen["pools"], "threadpoolctl found no BLAS or OpenMP library in the kernel"
    assert {threads for _, threads in seen["pools"]} == {1}, seen
    assert set(seen["environ"].values()) == {"1"}
    assert dict(os.environ) == before  # the worker's own environment is left as it was


def test_kernel_threads_follow_the_setting_and_an_explicit_variable(tmp_path, monkeypatch):
    pytest.importorskip("threadpoolctl")
    for name in engine.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MPSANALYSIS_KERNEL_THREADS", "2")
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # set by the user: kept as it is
    eng = engine.ReportEngine()
    try:
        seen = _thread_probe(eng, tmp_path)
    finally:
        eng.close()
    assert seen["environ"] == {
        "OPENBLAS_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "3",
        "OMP_NUM_THREADS": "2",
    }
    # OpenBLAS never starts more threads than there are cores
    expected = min(2, os.cpu_count() or 1)
    assert {threads for api, threads in seen["pools"] if api == "openblas"} == {expected}, seen


def test_kernel_sockets_are_removed_on_close(tmp_path):
    eng = engine.ReportEngine().start(tmp_path)
    folder = Path(eng.kernel.km._socket_dir)
    assert folder.is_dir()
    eng.close()
    assert not folder.exists()


def test_importing_the_package_loads_no_heavy_library():
    modules = [
        "mpsanalysis",
        "mpsanalysis.report.objective",
        "mpsanalysis.measures.compute",
        "mpsanalysis.run.runner",
        "mpsanalysis.cli",
        "mpsanalysis.run.engine",
        "mpsanalysis.report.charts",
        "mpsanalysis.ingest.store",
        "benchmarks.largedata",
    ]
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\n"
        "print(sorted(h for h in ('matplotlib', 'statsmodels', 'geopandas', 'scipy') "
        "if h in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ------------------------------------------------------------------ real notebooks
@pytest.mark.realdata
def test_a_then_b_in_one_kernel_equals_b_fresh(real_store, tmp_path):
    """Notebook A then B in one warm kernel: B's HTML is byte-identical to B run with
    papermill in a fresh kernel, and to B as the first notebook of a new warm kernel."""
    plan = runner.plan_run(
        period_end="2010-10", objectives=["robbery", "serious-violence"], geographies=["Lambeth"]
    )
    job_a, job_b = plan.jobs
    staging = {name: tmp_path / name for name in ("chain", "papermill", "first")}
    for folder in staging.values():
        folder.mkdir()
    chained = engine.ReportEngine()
    first = engine.ReportEngine()
    try:
        assert chained.run_job(job_a, str(staging["chain"]), {}, "test").ok
        assert chained.run_job(job_b, str(staging["chain"]), {}, "test").ok
        assert chained.kernels_started == 1
        assert first.run_job(job_b, str(staging["first"]), {}, "test").ok
    finally:
        chained.close()
        first.close()
    reference = engine.execute_job_papermill(job_b, str(staging["papermill"]), {}, "test")
    assert reference.ok, reference.error
    html = {k: (v / f"{job_b.stem}.html").read_bytes() for k, v in staging.items()}
    assert html["chain"] == html["papermill"]
    assert html["first"] == html["papermill"]


@pytest.mark.realdata
def test_every_objective_html_identical_to_papermill(real_store, tmp_path):
    """All objectives one after another in one warm kernel, each compared byte for byte
    with the reference path (papermill, fresh kernel) run straight after it."""
    plan = runner.plan_run(period_end="2010-10")
    warm, reference = tmp_path / "warm", tmp_path / "papermill"
    warm.mkdir()
    reference.mkdir()
    eng = engine.ReportEngine()
    try:
        for job in plan.jobs:
            result = eng.run_job(job, str(warm), {}, "test")
            assert result.ok, result.error
            expected = engine.execute_job_papermill(job, str(reference), {}, "test")
            assert expected.ok, expected.error
            assert (warm / f"{job.stem}.html").read_bytes() == (
                reference / f"{job.stem}.html"
            ).read_bytes(), job.stem
        assert eng.kernels_started == 1
    finally:
        eng.close()


@pytest.mark.realdata
def test_execute_job_contract_unchanged(real_store, tmp_path, monkeypatch):
    """runner.execute_job writes <stem>.html and <stem>.ipynb, with any engine (in this
    process, ``warm`` and ``kernel`` both use a kernel process)."""
    job = runner.plan_run(period_end="2010-10", objectives=["homicide"]).jobs[0]
    for name in ("warm", "kernel", "papermill"):
        monkeypatch.setenv("MPSANALYSIS_ENGINE", name)
        staging = tmp_path / name
        staging.mkdir()
        result = runner.execute_job(job, str(staging), {}, "test")
        assert result.ok, result.error
        assert result.summary and result.summary["objective"] == "homicide"
        assert {p.name for p in staging.iterdir()} == {"homicide.html", "homicide.ipynb"}
    engine.close_engines()
    for name in ("warm", "kernel"):
        assert (tmp_path / name / "homicide.html").read_bytes() == (
            tmp_path / "papermill" / "homicide.html"
        ).read_bytes()


def test_unknown_engine_name_is_refused(monkeypatch):
    from mpsanalysis.errors import ParameterError

    monkeypatch.setenv("MPSANALYSIS_ENGINE", "turbo")
    with pytest.raises(ParameterError, match="'warm', 'kernel', 'papermill'"):
        engine.engine_name()


def test_summary_sent_back_from_a_worker_is_plain_json():
    """A result crossing from a worker process must not need nbformat to unpickle."""
    import pickle

    nb = nbformat.v4.new_notebook()
    summary = {"objective": "robbery", "measures": [{"measure": "Robbery", "figure": "1,234"}]}
    nb.cells.append(
        nbformat.v4.new_code_cell(
            outputs=[
                nbformat.v4.new_output("display_data", data={export.SUMMARY_MIMETYPE: summary})
            ]
        )
    )
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # as the engine reads it back
    assert isinstance(
        nb.cells[0].outputs[0].data[export.SUMMARY_MIMETYPE]["measures"][0], nbformat.NotebookNode
    )  # what the fix guards against
    got = export.summary_from(nb)
    assert got == summary
    assert b"nbformat" not in pickle.dumps(got)


def test_html_exporter_is_built_once_per_thread():
    import threading

    first = export.html_exporter()
    assert export.html_exporter() is first
    assert first.exclude_input and first.exclude_output_prompt
    other = []
    thread = threading.Thread(target=lambda: other.append(export.html_exporter()))
    thread.start()
    thread.join()
    assert other[0] is not first


def test_a_one_worker_run_skips_the_slow_optional_import_and_still_validates(tmp_path):
    """Session 10: a run on one worker imported nbformat in ``run_job`` before the kernel
    started, so ``rfc3987_syntax`` (three Earley grammars compiled at import, about 3 s
    of CPU) was loaded in that process; the skip only happened in worker processes. In
    a fresh process, ``run_job`` (here of a notebook that does not exist, which fails
    before any kernel starts) must leave it unloaded, and notebook validation must
    still catch an invalid notebook."""
    script = f"""
import sys
from mpsanalysis.run import engine, jobs
job = jobs.Job("robbery", {str(tmp_path / "missing.ipynb")!r}, "London", "2016-12", "", False)
result = engine.ReportEngine().run_job(job, {str(tmp_path)!r}, {{}}, "")
assert not result.ok and "missing.ipynb" in result.error, result.error
assert sys.modules.get("rfc3987_syntax") is None, "rfc3987_syntax was imported"
import nbformat
nb = nbformat.v4.new_notebook()
nbformat.validate(nb)
nb.cells.append({{"cell_type": "code", "source": 1}})
try:
    nbformat.validate(nb)
except nbformat.ValidationError:
    print("invalid caught")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "invalid caught"
