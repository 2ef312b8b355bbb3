"""Target 4: the SYNTHETIC LSOA x month x minor category table.

* the processed-store build (generate + write partitioned Parquet) runs in its own
  process: wall time and that process's peak resident memory (``wait4``);
* the raw CSV (publisher-style, wide) is written once, as the baseline;
* a notebook-style query — one borough, one measure, the financial year to date,
  counts per LSOA and month — is run for each of the 32 boroughs with DuckDB on the
  store (median), and a few times by reading the raw CSV with pandas (median). Both
  answers must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.common import Section, at_least, at_most, check, info, median, timed

MAJOR = "Violence Against the Person"
MINORS = ("Violence with Injury",)
START, END = "2019-04", "2019-10"  # FYTD to October 2019
CSV_RUNS = 3

_BUILD = """
import json, sys
from pathlib import Path
from benchmarks import largedata
print(json.dumps(largedata.build_synthetic_store(Path(sys.argv[1]))))
"""


def build_in_child(directory: Path) -> tuple[dict, float, float]:
    """(build log, wall seconds, peak MB) of the build in a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", _BUILD, str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    out, err = process.stdout.read(), process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"synthetic build failed:\n{err[-4000:]}")
    return json.loads(out.strip().splitlines()[-1]), seconds, usage.ru_maxrss / 1024


def bench_largedata() -> Section:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from benchmarks import largedata
    from mpsanalysis import boroughs

    section = Section("largedata")
    with tempfile.TemporaryDirectory(prefix="mps-bench-large-") as tmp:
        tmp = Path(tmp)
        log, build_s, build_mb = build_in_child(tmp)
        first = next(largedata.synthetic_store_path(tmp).glob("borough=*/part-0.parquet"))
        metadata = pq.read_schema(first).metadata or {}
        flagged = pq.read_table(first, columns=["synthetic"]).column("synthetic")
        labelled = (
            metadata.get(b"synthetic") == b"true"
            and pc.all(flagged).as_py()
            and log["table"].startswith("synthetic")
        )
        raw = tmp / "raw" / largedata.RAW_CSV_NAME
        csv_write_s, _ = timed(largedata.write_raw_csv, raw, tmp)

        names = boroughs.borough_names()
        largedata.query_lsoa_months(names[0], MAJOR, MINORS, START, END, tmp)  # warm-up
        query_s, answers = [], {}
        for name in names:
            seconds, answer = timed(
                largedata.query_lsoa_months, name, MAJOR, MINORS, START, END, tmp
            )
            query_s.append(seconds)
            answers[name] = answer
        csv_s = []
        for name in names[:CSV_RUNS]:
            seconds, baseline = timed(largedata.query_raw_csv, raw, name, MAJOR, MINORS, START, END)
            csv_s.append(seconds)
            try:
                pd.testing.assert_frame_equal(answers[name], baseline, check_dtype=False)
                same = True
            except AssertionError:
                same = False
        raw_mb = raw.stat().st_size / 2**20
    ratio = median(csv_s) / median(query_s)
    section.figures += [
        at_least(
            "large data: rows (LSOA x month x minor category)", log["rows"], 10_000_000, "rows"
        ),
        check("large data: labelled synthetic (table name, column, metadata)", labelled),
        info(
            "large data: processed-store build time",
            build_s,
            "s",
            f"{log['bytes'] / 2**20:.1f} MB of Parquet",
        ),
        info("large data: processed-store build peak memory", build_mb, "MB"),
        info("large data: raw CSV write (once, baseline)", csv_write_s, "s", f"{raw_mb:.0f} MB"),
        at_most(
            "large data: query median (DuckDB on the store)", median(query_s) * 1000, 100, "ms"
        ),
        info("large data: same query reading the raw CSV (pandas)", median(csv_s), "s"),
        at_least("large data: query speed-up over raw CSV", ratio, 50.0),
        check("large data: store and raw CSV answers equal", same),
    ]
    section.notes = {
        "log": log,
        "build_s": build_s,
        "build_peak_mb": build_mb,
        "query_ms": [round(s * 1000, 2) for s in query_s],
        "csv_s": csv_s,
        "raw_csv_mb": raw_mb,
        "query": {"major": MAJOR, "minors": MINORS, "start": START, "end": END},
    }
    return section
