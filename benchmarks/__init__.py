"""Benchmarks of issue 7, "Fast quarterly runs at any scale".

``python -m benchmarks`` (or ``make bench``) runs them all and prints one table:
benchmark, measured figure, target, PASS/FAIL; it exits non-zero when a target is
missed. Every target is a ratio of two things measured side by side in the same run
(never an absolute time), or a size or a yes/no check. Figures and the machine are
written to ``benchmarks/results/`` (git-ignored); ``docs/performance.md`` records a run.

=============  ==========================================================================
module         what it measures
=============  ==========================================================================
bench_imports  import time of the package; no heavy library loaded at import
bench_report   one report: warm engine against the naive CLI chain and the floor
bench_fanout   54 reports (every objective, London + 5 boroughs, latest quarter) with
               1 and 2 worker processes, runs in the order 1, 2, 2, 1 (``mpsanalysis run``)
bench_largedata 45 million SYNTHETIC LSOA rows: build, query against the raw CSV
=============  ==========================================================================

The benchmarks use the processed store in ``data/`` (``make build``) and write
everything else to temporary folders.
"""
