"""Incremental runs (:mod:`mpsanalysis.run.cache`): what a re-run costs, and what it redoes.

Every objective of the catalogue for London (9 reports) for one period, 2 workers, into
a fresh reports folder, against a copy of the processed store and of the notebooks (so
that a table and a notebook can be changed without touching the real ones). Four runs,
each timed from planning to the index written (``plan_run`` + ``execute_plan`` in this
process; the command's own start-up, about a second, is in neither figure):

1. a full run with an empty cache: every report executed;
2. the same run again: every report must be reused, byte for byte, in at most 5% of
   the full run's time;
3. after one notebook changes (a code cell gains a comment): only that objective's
   report may run, counted from the manifest's ``status``;
4. after one store table changes bytes (``homicide_victims``, rewritten with another
   Parquet compression: same rows, other bytes): only the reports whose manifest lists
   it among their inputs may run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import Section, at_most, check, info

PERIOD_END = "2016-12"
CHANGED_TABLE = "homicide_victims"
CHANGED_OBJECTIVE = "robbery"


def _statuses(folder: Path) -> dict[str, str]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {r["objective_id"]: r["status"] for r in manifest["reports"]}


def _readers(folder: Path, table: str) -> set[str]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {
        r["objective_id"]
        for r in manifest["reports"]
        if f"{table}.parquet" in (r.get("inputs") or {})
    }


def _pages(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.html")) if p.name != "index.html"}


def bench_incremental() -> Section:
    import pandas as pd

    from mpsanalysis import paths
    from mpsanalysis.run import runner

    section = Section("incremental")
    saved = {k: os.environ.get(k) for k in ("MPSANALYSIS_DATA_DIR", "MPSANALYSIS_REPORTS_DIR")}
    with tempfile.TemporaryDirectory(prefix="mps-bench-incremental-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        (data).mkdir()
        shutil.copytree(paths.processed_dir(), data / "processed")
        (data / "raw").symlink_to(paths.raw_dir().resolve(), target_is_directory=True)
        notebooks = tmp / "notebooks"
        shutil.copytree(paths.notebooks_dir(), notebooks)
        reports = tmp / "reports"
        try:
            os.environ["MPSANALYSIS_DATA_DIR"] = str(data)
            os.environ["MPSANALYSIS_REPORTS_DIR"] = str(reports)

            def run() -> tuple[float, Path]:
                started = time.perf_counter()
                plan = runner.plan_run(period_end=PERIOD_END, notebooks=notebooks)
                runner.execute_plan(plan, workers=2)
                return time.perf_counter() - started, plan.output_dir

            full, folder = run()
            first = _statuses(folder)
            pages = _pages(folder)
            readers = _readers(folder, CHANGED_TABLE)

            again, _ = run()
            second = _statuses(folder)
            pages_again = _pages(folder)

            from mpsanalysis.run.jobs import find_notebook

            notebook = find_notebook(CHANGED_OBJECTIVE, notebooks)
            nb = json.loads(notebook.read_text(encoding="utf-8"))
            cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
            source = cell["source"]
            cell["source"] = (source if isinstance(source, str) else "".join(source)) + (
                "\n# changed for the benchmark"
            )
            notebook.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
            after_notebook_s, _ = run()
            third = _statuses(folder)

            table = data / "processed" / f"{CHANGED_TABLE}.parquet"
            pd.read_parquet(table).to_parquet(table, index=False, compression="gzip")
            after_table_s, _ = run()
            fourth = _statuses(folder)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    n = len(first)
    ran = {
        name: sorted(k for k, v in s.items() if v == "executed")
        for name, s in (("notebook", third), ("table", fourth))
    }
    section.figures += [
        info(f"incremental: full run, {n} reports, empty cache", full, "s"),
        info(f"incremental: unchanged re-run, {n} reports", again, "s"),
        at_most(
            "incremental: unchanged re-run / full run",
            again / full,
            0.05,
            detail=f"{again:.2f} s against {full:.1f} s",
        ),
        check(
            "incremental: unchanged re-run reuses every report, same HTML",
            all(v == "executed" for v in first.values())
            and all(v == "reused" for v in second.values())
            and len(pages) == n
            and pages_again == pages,
            f"{sum(v == 'reused' for v in second.values())} of {n} reused",
        ),
        info("incremental: re-run after one notebook changed", after_notebook_s, "s"),
        check(
            f"incremental: after {CHANGED_OBJECTIVE}'s notebook changed only it runs",
            ran["notebook"] == [CHANGED_OBJECTIVE],
            f"executed: {', '.join(ran['notebook']) or 'none'}",
        ),
        info(f"incremental: re-run after {CHANGED_TABLE} changed", after_table_s, "s"),
        check(
            f"incremental: after {CHANGED_TABLE} changed only its readers run",
            bool(readers) and ran["table"] == sorted(readers),
            f"executed: {', '.join(ran['table']) or 'none'}; readers in the manifest: "
            f"{', '.join(sorted(readers))}",
        ),
    ]
    section.notes.update(
        statuses={"full": first, "unchanged": second, "notebook": third, "table": fourth}
    )
    return section
