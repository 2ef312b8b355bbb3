"""Target 1: one objective report (execute + HTML).

Compared side by side, in interleaved rounds on the same notebook and parameters:

* the naive chain: the ``papermill`` command, then ``jupyter nbconvert --to html``, each
  its own process;
* the floor: a bare kernel start (same IPC kernel manager as the engine) plus importing
  every module the notebook loads in a fresh kernel (found by running it once);
* the warm engine: one report in a worker whose kernel is already running
  (:mod:`mpsanalysis.run.engine`), from parameters to HTML written.

The notebook is the objective whose warm report time is the median of the nine (picked
in the same run); the heaviest objective's ratios are printed too, without a target.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import BIN, Section, at_least, at_most, check, info, median, run, timed

PERIOD = "2010-10"
GEOGRAPHY = "London"
ROUNDS = 2
REPORTS_PER_ROUND = 2


def _kernel_modules(kernel) -> set[str]:
    from mpsanalysis.run import engine

    kernel.settle()
    lines: list[str] = []

    def hook(message):
        if message["msg_type"] == "stream":
            lines.append(message["content"]["text"])

    engine._run(
        kernel.kc.execute_interactive,
        "print(__import__('json').dumps(sorted(__import__('sys').modules)))",
        store_history=False,
        output_hook=hook,
        timeout=120,
    )
    return set(json.loads("".join(lines)))


def notebook_imports(job, staging: Path) -> list[str]:
    """Modules the notebook loads in a fresh kernel (no warm-up)."""
    from mpsanalysis.run import engine

    eng = engine.ReportEngine(preload=())
    try:
        eng.start(Path(job.notebook).parent)
        before = _kernel_modules(eng.kernel)
        result = eng.run_job(job, str(staging), {}, "benchmark")
        if not result.ok:
            raise RuntimeError(result.error)
        after = _kernel_modules(eng.kernel)
    finally:
        eng.close()
    return sorted(after - before)


def floor_once(cwd: str, modules: list[str]) -> tuple[float, float]:
    """(seconds to a ready bare kernel, seconds to import ``modules`` in it)."""
    from mpsanalysis.run import engine
    from mpsanalysis.run.engine import kernel_manager_class

    started = time.perf_counter()
    km = kernel_manager_class()(kernel_name="python3")
    engine._run(km.start_kernel, cwd=cwd, extra_arguments=[engine._HISTORY_IN_MEMORY])
    kc = km.client()
    kc.start_channels()
    try:
        engine._run(kc.wait_for_ready, timeout=120)
        ready = time.perf_counter()
        code = (
            f"import importlib\nfor _m in {modules!r}:\n    try:\n"
            "        importlib.import_module(_m)\n    except Exception:\n        pass\n"
        )
        reply = engine._run(
            kc.execute_interactive,
            code,
            store_history=False,
            output_hook=lambda m: None,
            timeout=300,
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"floor imports failed: {reply['content']}")
        imported = time.perf_counter()
    finally:
        kc.stop_channels()
        engine._run(km.shutdown_kernel, now=True)
    return ready - started, imported - ready


def naive_once(job, folder: Path) -> tuple[float, float]:
    """(papermill command seconds, nbconvert command seconds)."""
    executed = folder / "naive.ipynb"
    p = job.parameters
    papermill = run(
        [
            str(BIN / "papermill"),
            job.notebook,
            str(executed),
            "-k",
            "python3",
            "--cwd",
            str(Path(job.notebook).parent),
            "--no-progress-bar",
            "-p",
            "period_end",
            p["period_end"],
            "-p",
            "geography",
            p["geography"],
            "-p",
            "extracts",
            p["extracts"],
            "-p",
            "provisional",
            str(p["provisional"]),
        ]
    )
    nbconvert = run(
        [
            str(BIN / "jupyter"),
            "nbconvert",
            "--to",
            "html",
            str(executed),
            "--output-dir",
            str(folder),
        ]
    )
    return papermill, nbconvert


def _warm(eng, job, staging: Path, checksums, commit) -> tuple[float, dict]:
    result = eng.run_job(job, str(staging), checksums, commit)
    if not result.ok:
        raise RuntimeError(result.error)
    return result.seconds, dict(eng.timings)


def bench_report() -> Section:
    """Pick the objective whose warm report time is the median of the nine (London), then
    compare naive chain, floor and warm engine on it in interleaved rounds; the heaviest
    objective is measured once for the record."""
    from mpsanalysis.ingest import fetch
    from mpsanalysis.run import engine, runner

    section = Section("report")
    jobs = runner.plan_run(period_end=PERIOD, geographies=[GEOGRAPHY]).jobs
    checksums = fetch.read_checksums()
    commit = runner.git_commit()
    cwd = str(Path(jobs[0].notebook).parent)
    with tempfile.TemporaryDirectory(prefix="mps-bench-report-") as tmp:
        tmp = Path(tmp)
        for name in ("naive", "warm", "papermill", "discover", "cold"):
            (tmp / name).mkdir()
        eng = engine.ReportEngine()
        try:
            eng.start(cwd)
            preloaded = _kernel_modules(eng.kernel)
            survey = {
                job.objective_id: _warm(eng, job, tmp / "warm", checksums, commit)[0]
                for job in jobs
            }
            ranked = sorted(jobs, key=lambda j: survey[j.objective_id])
            job, heaviest = ranked[len(ranked) // 2], ranked[-1]
            modules = notebook_imports(job, tmp / "discover")
            naive, naive_parts, floor, warm, breakdown = [], [], [], [], []
            for _ in range(ROUNDS):
                naive_parts.append(naive_once(job, tmp / "naive"))
                naive.append(sum(naive_parts[-1]))
                floor.append(floor_once(cwd, modules))
                for _ in range(REPORTS_PER_ROUND):
                    seconds, steps = _warm(eng, job, tmp / "warm", checksums, commit)
                    warm.append(seconds)
                    breakdown.append(steps)
            heavy_warm, _ = _warm(eng, heaviest, tmp / "warm", checksums, commit)
        finally:
            eng.close()
        heavy_modules = notebook_imports(heaviest, tmp / "discover")
        heavy_naive = sum(naive_once(heaviest, tmp / "naive"))
        heavy_floor = sum(floor_once(cwd, heavy_modules))

        cold = engine.ReportEngine()
        try:
            cold_start, _ = timed(cold.start, cwd)
            cold_first, _ = _warm(cold, job, tmp / "cold", checksums, commit)
        finally:
            cold.close()
        reference, ref = timed(
            engine.execute_job_papermill, job, str(tmp / "papermill"), checksums, commit
        )
        identical = ref.ok and (
            (tmp / "warm" / f"{job.stem}.html").read_bytes()
            == (tmp / "papermill" / f"{job.stem}.html").read_bytes()
        )
    not_preloaded = [m for m in modules if m not in preloaded]
    floor_total = [a + b for a, b in floor]
    per_report = median(warm)
    name = job.objective_id
    section.figures += [
        info(f"report [{name}]: naive chain (papermill CLI + nbconvert CLI)", median(naive), "s"),
        info(
            f"report [{name}]: floor (bare kernel start + notebook imports)",
            median(floor_total),
            "s",
            f"{len(modules)} modules",
        ),
        info(f"report [{name}]: warm engine, per report", per_report, "s"),
        info(f"report [{name}]: papermill path used before (fresh kernel)", reference, "s"),
        info(f"report [{name}]: cold engine (warm-up + one report)", cold_start + cold_first, "s"),
        at_least(
            f"report [{name}]: speed-up of warm engine over naive chain",
            median(naive) / per_report,
            3.0,
        ),
        at_most(f"report [{name}]: warm engine / floor", per_report / median(floor_total), 1.5),
        info(
            f"report [{name}]: cold engine speed-up over naive chain",
            median(naive) / (cold_start + cold_first),
            "x",
        ),
        check(f"report [{name}]: HTML byte-identical to papermill path", identical),
        info(
            f"report [{name}]: notebook modules the warm-up does not preload",
            len(not_preloaded),
            "modules",
            ", ".join(not_preloaded[:8]),
        ),
        info(
            f"report [heaviest: {heaviest.objective_id}]: speed-up over naive chain",
            heavy_naive / heavy_warm,
            "x",
            f"naive {heavy_naive:.1f} s, warm {heavy_warm:.1f} s",
        ),
        info(
            f"report [heaviest: {heaviest.objective_id}]: warm engine / floor",
            heavy_warm / heavy_floor,
            "x",
            f"floor {heavy_floor:.1f} s",
        ),
    ]
    section.notes = {
        "job": {
            "objective": name,
            "period_end": PERIOD,
            "geography": GEOGRAPHY,
            "chosen_as": "median warm report time of the nine objectives",
        },
        "survey_warm_s": survey,
        "naive_s": naive,
        "floor_s": floor,
        "warm_s": warm,
        "cold_start_s": cold_start,
        "cold_first_report_s": cold_first,
        "papermill_path_s": reference,
        "breakdown": {
            "naive_papermill_command_s": median([a for a, _ in naive_parts]),
            "naive_nbconvert_command_s": median([b for _, b in naive_parts]),
            "kernel_start_s": median([a for a, _ in floor]),
            "notebook_imports_s": median([b for _, b in floor]),
            "cells_and_notebook_write_s": median([b["execute"] for b in breakdown]),
            "html_export_s": median([b["export"] for b in breakdown]),
        },
        "heaviest": {
            "objective": heaviest.objective_id,
            "naive_s": heavy_naive,
            "warm_s": heavy_warm,
            "floor_s": heavy_floor,
        },
        "notebook_modules": len(modules),
    }
    return section
