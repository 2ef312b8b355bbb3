"""Target 5: import hygiene.

``import mpsanalysis.report.objective`` (what every notebook does first) must not load matplotlib,
statsmodels, geopandas or scipy; the import time is measured with ``-X importtime``.
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import Section, check, info, median

HEAVY = ("matplotlib", "statsmodels", "geopandas", "scipy")
MODULES = (
    "mpsanalysis",
    "mpsanalysis.report.objective",
    "mpsanalysis.run.runner",
    "mpsanalysis.run.engine",
)


def _import(module: str) -> tuple[float, list[str]]:
    code = (
        f"import json, sys\nimport {module}\n"
        f"print(json.dumps([h for h in {HEAVY!r} if h in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    last = [line for line in out.stderr.splitlines() if line.startswith("import time:")]
    total_us = int(last[-1].split("|")[1]) if last else 0
    return total_us / 1e6, json.loads(out.stdout.strip().splitlines()[-1])


def bench_imports() -> Section:
    section = Section("imports")
    for module in MODULES:
        seconds = []
        heavy: list[str] = []
        for _ in range(3):
            s, heavy = _import(module)
            seconds.append(s)
        section.figures.append(info(f"imports: import {module}", median(seconds), "s"))
        section.figures.append(
            check(f"imports: {module} loads no heavy library", not heavy, ", ".join(heavy))
        )
    return section
