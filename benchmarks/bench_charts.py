"""The chart path alone: a report's CPU with every chart a PNG (as before) and with the
default encoding (line and bar charts as SVG drawn once, maps as PNG). Information, no
target: the 1/3 target is measured on whole runs by ``benchmarks/bench_speed.py``.

The old path and the new one run side by side in one benchmark run, on the same
warm engine code, the same reports and the same worker: every objective for London at
one period, in interleaved rounds (old, new, new, old ...). Before each report the
kernel drops the tables and charts it kept from the last one, so each report is timed
as if it were the first of its kind. The old path is the chart
encoding used before (``MPSANALYSIS_CHART_FORMAT=png``: every chart a palette PNG);
the new one is the default (``svg``: line and bar charts as SVG, maps as PNG).

Each path has its own warm kernel, started with its setting (a kernel is never reused
across a change of an ``MPSANALYSIS_*`` variable). The cost of a report is CPU time, not
wall time, because the machine is shared: the kernel process's CPU from the start of
the report to the end of its reset, plus this worker's CPU for the same span (writing
the notebook, exporting the HTML). Wall time is printed beside it.

Checked as well: the new path's HTML is byte-identical in every round, and differs from
the old path's only inside chart ``<img>`` tags (their ``src``, ``width`` and
``height``).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from benchmarks.common import Section, check, info, median

PERIOD = "2016-12"
GEOGRAPHY = "London"
ROUNDS = 2
VARIABLE = "MPSANALYSIS_CHART_FORMAT"
_IMG_TAG = re.compile(r"<img [^>]*>")
_CHART_ATTRIBUTES = re.compile(r' (src="data:image/[a-z+]+;base64,[^"]*"|width="\d+"|height="\d+")')


def _without_images(page: str) -> str:
    """The page with every ``<img>`` tag's data URI, width and height taken out (the
    exporter may write the attributes in any order; ``alt`` stays)."""
    return _IMG_TAG.sub(lambda m: _CHART_ATTRIBUTES.sub("", m.group(0)), page)


def _kernel_cpu(eng) -> float:
    import psutil

    times = psutil.Process(eng.kernel.km.provisioner.pid).cpu_times()
    return times.user + times.system


def _one(eng, job, staging: Path, checksums, commit) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, HTML) of one report, its kernel's reset included."""
    kernel = eng._kernel_for(str(Path(job.notebook).parent))
    kernel.call("forget_kept")  # no table or chart kept from the last round
    kernel.settle()
    kernel_before, worker_before = _kernel_cpu(eng), time.process_time()
    started = time.perf_counter()
    result = eng.run_job(job, str(staging), checksums, commit)
    if not result.ok:
        raise RuntimeError(result.error)
    eng.kernel.settle()  # the reset after the report is part of its cost
    wall = time.perf_counter() - started
    cpu = (_kernel_cpu(eng) - kernel_before) + (time.process_time() - worker_before)
    return cpu, wall, (staging / f"{job.stem}.html").read_text(encoding="utf-8")


def bench_charts(rounds: int = ROUNDS) -> Section:
    from mpsanalysis.ingest import fetch
    from mpsanalysis.run import engine, runner

    section = Section("charts")
    jobs = runner.plan_run(period_end=PERIOD, geographies=[GEOGRAPHY]).jobs
    checksums = fetch.read_checksums()
    commit = runner.git_commit()
    cwd = str(Path(jobs[0].notebook).parent)
    before = os.environ.get(VARIABLE)
    engines: dict[str, engine.ReportEngine] = {}
    cpu: dict[str, list[float]] = {"png": [], "svg": []}
    wall: dict[str, list[float]] = {"png": [], "svg": []}
    pages: dict[str, list[dict[str, str]]] = {"png": [], "svg": []}
    per_objective: dict[str, dict[str, list[float]]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="mps-bench-charts-") as tmp:
            for fmt in ("png", "svg"):
                os.environ[VARIABLE] = fmt
                engines[fmt] = engine.ReportEngine().start(cwd)
                (Path(tmp) / fmt).mkdir()
                for job in jobs:  # one untimed report each: the first one warms caches
                    _one(engines[fmt], job, Path(tmp) / fmt, checksums, commit)
            for r in range(rounds):
                for fmt in ("png", "svg") if r % 2 == 0 else ("svg", "png"):
                    os.environ[VARIABLE] = fmt
                    pages[fmt].append({})
                    for job in jobs:
                        c, w, page = _one(engines[fmt], job, Path(tmp) / fmt, checksums, commit)
                        cpu[fmt].append(c)
                        wall[fmt].append(w)
                        pages[fmt][-1][job.objective_id] = page
                        per_objective.setdefault(job.objective_id, {"png": [], "svg": []})
                        per_objective[job.objective_id][fmt].append(c)
    finally:
        for eng in engines.values():
            eng.close()
        if before is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = before

    old, new = sum(cpu["png"]) / len(cpu["png"]), sum(cpu["svg"]) / len(cpu["svg"])
    old_wall, new_wall = sum(wall["png"]) / len(wall["png"]), sum(wall["svg"]) / len(wall["svg"])
    stable = all(p == pages["svg"][0] for p in pages["svg"]) and all(
        p == pages["png"][0] for p in pages["png"]
    )
    differing = [
        objective
        for objective, page in pages["svg"][0].items()
        if _without_images(page) != _without_images(pages["png"][0][objective])
    ]
    n = len(jobs)
    label = f"per report ({n} objectives, {GEOGRAPHY} {PERIOD}, {rounds} rounds each)"
    heavy = max(per_objective, key=lambda o: median(per_objective[o]["png"]))
    section.figures += [
        info(f"charts: old path (PNG charts), CPU {label}", old, "s"),
        info(f"charts: new path (SVG charts), CPU {label}", new, "s"),
        info(
            "charts: new path's CPU per report over the old path's",
            new / old,
            "x",
            "the chart path alone, nothing kept between reports (the 1/3 target is the "
            "speed benchmark's, on whole runs); "
            f"wall per report: old {old_wall:.2f} s, new {new_wall:.2f} s "
            f"({new_wall / old_wall:.2f}x; the machine is shared, so CPU is the measure)",
        ),
        info(
            f"charts: heaviest objective ({heavy}), CPU per report, new over old",
            median(per_objective[heavy]["svg"]) / median(per_objective[heavy]["png"]),
            "x",
            f"old {median(per_objective[heavy]['png']):.2f} s, "
            f"new {median(per_objective[heavy]['svg']):.2f} s",
        ),
        check("charts: HTML byte-identical in every round of each path", stable),
        check(
            "charts: old and new HTML differ only inside chart <img> tags",
            not differing,
            ", ".join(differing),
        ),
    ]
    section.notes["cpu_seconds"] = cpu
    section.notes["wall_seconds"] = wall
    return section
