"""Target: a full run with no cache takes at most a third of the time per report it took
when issue 16 was filed, at no more peak memory.

"Before" is the code itself, not a figure copied from an old run: the benchmark checks
out :data:`BASELINE_COMMIT` (``main`` when the issue was filed) into a temporary git
worktree, builds that code's own processed store from the same raw data, and runs its
``mpsanalysis run --quarter latest --geography all`` (297 reports) with the same workers
and libraries, in the same benchmark run, on the same machine; then this checkout's run
of the same command into an empty reports folder (so its cache has nothing to reuse).
Each side runs twice, in the order old, new, new, old (:data:`ORDER`), and the ratios
are of the two runs' sums. Each run first waits for two free cores.

Measured per report: the wall time of the whole command (start-up included) over the
reports it wrote, and the CPU of every process over the same. Peak memory is the
resident memory of the whole process tree (command, workers, kernels), sampled.

Needs git and the repository's history (a shallow clone without the commit skips the
benchmark with a note). Takes about four full runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_fanout import run_cli
from benchmarks.common import ROOT, Section, at_most, info, wait_for_free_cores

#: ``main`` when issue 16 was filed (end of session 3): the warm engine the target is
#: measured against.
BASELINE_COMMIT = "29d047523812730c509a621c28360f7f2968bc63"
TARGET_TIME = 1 / 3
TARGET_MEMORY = 1.0


#: The runs, in order: the old code and this code twice each, the second pair in the
#: other order, so that a machine that speeds up or slows down during the benchmark
#: (this shared one moves by 10-20% over minutes) weighs on both sides alike.
ORDER = ("before", "now", "now", "before")


def _summed(runs: list[dict]) -> dict:
    """Runs of one side added up: seconds, CPU and reports summed, the highest peak."""
    return {
        "seconds": sum(r["seconds"] for r in runs),
        "cpu_s": sum(r["cpu_s"] for r in runs),
        "reports": sum(r["reports"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "failed": [f for r in runs for f in r.get("failed", [])],
        "each": runs,
    }


def _git(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def _reports(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*.html") if p.name != "index.html")


def bench_speed() -> Section:
    from mpsanalysis import paths

    section = Section("speed")
    if _git("cat-file", "-e", f"{BASELINE_COMMIT}^{{commit}}").returncode:
        section.figures.append(
            info("speed: skipped, the baseline commit is not in this clone", 0, "")
        )
        return section
    _git("worktree", "prune")  # a worktree left by an interrupted run
    mirror = paths.default_mirror()
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="mps-bench-speed-") as tmp:
        scratch = Path(tmp)
        tree = scratch / "baseline"
        added = _git("worktree", "add", "--detach", str(tree), BASELINE_COMMIT)
        if added.returncode:
            raise RuntimeError(f"git worktree add failed: {added.stderr}")
        try:
            old_env = {
                "PYTHONPATH": str(tree),
                "MPSANALYSIS_DATA_DIR": str(scratch / "baseline-data"),
                **({"MPSANALYSIS_DATA_MIRROR": str(mirror)} if mirror else {}),
            }
            python = (sys.executable, "-m", "mpsanalysis")
            for step in ("fetch", "build"):
                subprocess.run(
                    [*python, step],
                    cwd=tree,
                    env={**os.environ, **old_env},
                    check=True,
                    capture_output=True,
                )
            setups = {"before": (old_env, python, tree), "now": ({}, (), None)}
            rounds: dict[str, list[dict]] = {"before": [], "now": []}
            for number, label in enumerate(ORDER):
                extra, program, cwd = setups[label]
                wait_for_free_cores()
                reports = scratch / f"reports-{number}-{label}"
                run = run_cli(
                    reports,
                    workers,
                    geographies=("all",),
                    environment=extra,
                    program=program,
                    cwd=cwd,
                )
                run["reports"] = _reports(reports)
                rounds[label].append(run)
        finally:
            _git("worktree", "remove", "--force", str(tree))
    runs = {label: _summed(done) for label, done in rounds.items()}
    before, now = runs["before"], runs["now"]
    per_before = before["seconds"] / before["reports"]
    per_now = now["seconds"] / now["reports"]
    cpu_before = before["cpu_s"] / before["reports"]
    cpu_now = now["cpu_s"] / now["reports"]
    section.figures += [
        info(
            f"speed: full run before ({BASELINE_COMMIT[:7]}), mean of {len(rounds['before'])}",
            before["seconds"] / len(rounds["before"]),
            "s",
            f"{_each(rounds['before'])}; {workers} workers",
        ),
        info(
            f"speed: full run now, empty cache, mean of {len(rounds['now'])}",
            now["seconds"] / len(rounds["now"]),
            "s",
            f"{_each(rounds['now'])}; {workers} workers",
        ),
        at_most(
            "speed: time per report, now / before",
            per_now / per_before,
            TARGET_TIME,
            "x",
            f"{per_now:.2f} s against {per_before:.2f} s a report",
        ),
        info(
            "speed: CPU per report, now / before",
            cpu_now / cpu_before,
            "x",
            f"{cpu_now:.2f} s against {cpu_before:.2f} s a report",
        ),
        at_most(
            "speed: peak memory, now / before",
            now["peak_mb"] / before["peak_mb"],
            TARGET_MEMORY,
            "x",
            f"{now['peak_mb']:,.0f} MB against {before['peak_mb']:,.0f} MB (all processes)",
        ),
    ]
    section.notes = {"baseline_commit": BASELINE_COMMIT, "order": list(ORDER), "runs": runs}
    return section


def _each(runs: list[dict]) -> str:
    return ", ".join(
        f"{r['seconds']:.1f} s (CPU {r['cpu_s']:.0f} s, {r['reports']} reports)" for r in runs
    )
