"""Run the benchmarks: ``python -m benchmarks [--only NAME ...] [--full-run]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from benchmarks.common import (
    RESULTS,
    Section,
    as_dict,
    machine,
    print_table,
    wait_for_free_cores,
)

BENCHMARKS = ("imports", "report", "charts", "fanout", "largedata", "incremental", "speed")


def _run(name: str) -> Section:
    if name == "imports":
        from benchmarks.bench_imports import bench_imports

        return bench_imports()
    if name == "report":
        from benchmarks.bench_report import bench_report

        return bench_report()
    if name == "charts":
        from benchmarks.bench_charts import bench_charts

        return bench_charts()
    if name == "fanout":
        from benchmarks.bench_fanout import bench_fanout

        return bench_fanout()
    if name == "largedata":
        from benchmarks.bench_largedata import bench_largedata

        return bench_largedata()
    if name == "incremental":
        from benchmarks.bench_incremental import bench_incremental

        return bench_incremental()
    if name == "speed":
        from benchmarks.bench_speed import bench_speed

        return bench_speed()
    if name == "full-run":
        from benchmarks.bench_fanout import bench_full_run

        return bench_full_run()
    raise SystemExit(f"unknown benchmark {name!r}: choose from {', '.join(BENCHMARKS)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)"
    )
    parser.add_argument(
        "--full-run",
        action="store_true",
        help="also time every objective for London and all 32 boroughs "
        "and its peak memory (several minutes)",
    )
    args = parser.parse_args(argv)
    names = list(args.only or BENCHMARKS) + (["full-run"] if args.full_run else [])

    from mpsanalysis.ingest import store

    if not store.table_exists("borough_crime"):
        print("benchmarks: the processed store is missing: run `make build` first", file=sys.stderr)
        return 2
    # Reports go to a temporary folder, never into reports/.
    scratch = tempfile.TemporaryDirectory(prefix="mps-bench-")
    os.environ["MPSANALYSIS_REPORTS_DIR"] = scratch.name
    before = machine()
    started = time.perf_counter()
    sections = []
    for name in names:
        print(f"benchmark {name} ...", file=sys.stderr, flush=True)
        wait_for_free_cores(timeout=120)  # other people's jobs on a shared machine
        t = time.perf_counter()
        sections.append(_run(name))
        print(f"benchmark {name}: {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    after = machine()
    scratch.cleanup()
    print(
        f"\nmachine: {before['nproc']} cores, {before['cpu']}, {before['memory']}, "
        f"Python {before['python']}; load average {before['load_average']} before, "
        f"{after['load_average']} after; {time.perf_counter() - started:.0f} s\n"
    )
    ok = print_table(sections)
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "machine": before,
        "load_average_after": after["load_average"],
        "seconds": round(time.perf_counter() - started, 1),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sections": as_dict(sections),
        "all_targets_met": ok,
    }
    text = json.dumps(record, indent=2, default=str) + "\n"
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(text)
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
