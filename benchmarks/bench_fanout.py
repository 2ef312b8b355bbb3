"""Target 2: the per-borough fan-out, 1 worker against 2, as a user runs it.

Each configuration is the ``mpsanalysis run`` command in its own process (wall time
from start to exit, worker and kernel start-up included), on the same subset: the first
two objectives of the catalogue for London and seven boroughs (16 reports). The two runs must write
byte-identical HTML. The peak resident memory of the whole process tree (command,
workers, kernels) is sampled during the 2-worker run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.common import (
    BIN,
    Section,
    TreeMemory,
    at_least,
    check,
    info,
    parallel_capacity,
)

OBJECTIVES = ("serious-violence", "protect-young-people")  # the catalogue's first two
GEOGRAPHIES = ("London", "Barnet", "Camden", "Croydon", "Hackney", "Lambeth", "Newham",
               "Westminster")
PERIOD = "2010-10"


def run_cli(reports: Path, workers: int, objectives=OBJECTIVES, geographies=GEOGRAPHIES,
            period: str = PERIOD) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree) of one ``mpsanalysis run``."""
    command = [str(BIN / "mpsanalysis"), "run", "--period-end", period,
               "--workers", str(workers)]
    for objective in objectives:
        command += ["--objective", objective]
    for geography in geographies:
        command += ["--geography", geography]
    env = {**os.environ, "MPSANALYSIS_REPORTS_DIR": str(reports)}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    with TreeMemory(process.pid) as memory:
        out, err = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{out[-2000:]}\n{err[-4000:]}")
    return seconds, memory.peak_mb


def _html(reports: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in reports.rglob("*.html") if p.name != "index.html"}


def bench_fanout() -> Section:
    section = Section("fanout")
    jobs = len(OBJECTIVES) * len(GEOGRAPHIES)
    with tempfile.TemporaryDirectory(prefix="mps-bench-fanout-") as tmp:
        tmp = Path(tmp)
        capacity_before = parallel_capacity()
        one, _ = run_cli(tmp / "w1", 1)
        two, peak = run_cli(tmp / "w2", 2)
        capacity_after = parallel_capacity()
        html1, html2 = _html(tmp / "w1"), _html(tmp / "w2")
    same = len(html1) == jobs and html1 == html2
    section.figures += [
        info(f"fan-out: {jobs} reports, 1 worker", one, "s"),
        info(f"fan-out: {jobs} reports, 2 workers", two, "s"),
        at_least("fan-out: speed-up of 2 workers over 1", one / two, 1.8),
        check("fan-out: HTML identical, 1 and 2 workers", same),
        info("fan-out: peak memory of the 2-worker run (all processes)", peak, "MB"),
        info("fan-out: cores free for this run (busy-loop test before, after)",
             min(capacity_before, capacity_after), "cores",
             f"{capacity_before:.2f} before, {capacity_after:.2f} after; below about 1.9 "
             "other work on the machine limits any speed-up"),
    ]
    section.notes = {"jobs": jobs, "objectives": OBJECTIVES, "geographies": GEOGRAPHIES,
                     "seconds_1_worker": one, "seconds_2_workers": two, "peak_mb": peak,
                     "cores_free_before": capacity_before, "cores_free_after": capacity_after}
    return section


def bench_full_run() -> Section:
    """Every objective for London and the 32 boroughs (not in the default set: long)."""
    from mpsanalysis import catalogue

    section = Section("full-run")
    with tempfile.TemporaryDirectory(prefix="mps-bench-full-") as tmp:
        seconds, peak = run_cli(Path(tmp), os.cpu_count() or 1,
                                objectives=tuple(catalogue.objective_ids()),
                                geographies=("all",))
        reports = len(_html(Path(tmp)))
    section.figures += [
        info(f"full run: {reports} reports, --geography all", seconds, "s"),
        info("full run: peak memory (all processes)", peak, "MB"),
    ]
    section.notes = {"reports": reports, "seconds": seconds, "peak_mb": peak}
    return section
