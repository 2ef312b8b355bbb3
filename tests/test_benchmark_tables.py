"""The benchmarks' verdict and the table copied into docs/performance.md."""

from __future__ import annotations

import json

from benchmarks.common import (
    Section,
    as_dict,
    at_least,
    at_most,
    check,
    info,
    markdown_table,
    print_table,
    sections_from_json,
)


def _sections() -> list[Section]:
    return [
        Section(
            "fanout",
            [
                info("fan-out: 1 worker", 80.25, "s", "81.9, 78.6"),
                at_least("fan-out: speed-up", 1.75, 1.8),  # missed
                check("fan-out: HTML identical", True),
            ],
        ),
        Section(
            "largedata",
            [
                at_most("query median", 11.8, 100, "ms"),
                check("labelled synthetic", False, "a | in the detail"),
            ],
        ),
    ]


def test_a_missed_target_makes_the_verdict_false(capsys):
    assert print_table(_sections()) is False
    assert print_table([Section("x", [at_least("speed-up", 1.8, 1.8)])]) is True
    out = capsys.readouterr().out
    assert "fan-out: speed-up" in out and "FAIL" in out


def test_markdown_table_rows_cells_and_escaping():
    lines = markdown_table(_sections()).splitlines()
    assert lines[0] == "| benchmark | measured | target | result | detail |"
    assert lines[2] == "| fan-out: 1 worker | 80.25 s |  |  | 81.9, 78.6 |"
    assert lines[3] == "| fan-out: speed-up | 1.75x | >= 1.8x | FAIL |  |"
    assert lines[4] == "| fan-out: HTML identical | yes | true | PASS |  |"
    assert lines[5] == "| query median | 11.8 ms | <= 100 ms | PASS |  |"
    assert lines[6] == "| labelled synthetic | no | true | FAIL | a \\| in the detail |"
    assert len(lines) == 7


def test_results_file_round_trip(tmp_path):
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"machine": {}, "sections": as_dict(_sections())}))
    _, sections = sections_from_json(path)
    assert markdown_table(sections) == markdown_table(_sections())


def test_fanout_speed_up_counts_the_target_runs_and_repeats_a_busy_one(monkeypatch, tmp_path):
    """bench_fanout with the command replaced: which runs count, which are repeated."""
    import benchmarks.bench_fanout as fanout

    calls = []
    # seconds per call, in ORDER: 1w, 2w (busy after: repeated), 2w, 2w-default x2, 2w, 1w
    seconds = iter([80.0, 60.0, 42.0, 48.0, 50.0, 40.0, 76.0])

    def run_cli(folder, workers, environment=None, **_):
        calls.append((workers, environment["MPSANALYSIS_KERNEL_THREADS"]))
        folder.mkdir(parents=True)  # the benchmark deletes each run's reports
        return {
            "seconds": next(seconds),
            "peak_mb": 1000.0 * workers,
            "cpu_s": 80.0,
            "other_cores": 0.02,
            "failed": [],
        }

    probes = iter([1.9, 1.6, 1.9, 1.9, 1.9, 1.9, 1.9])  # after each run
    monkeypatch.setattr(fanout, "run_cli", run_cli)
    monkeypatch.setattr(fanout, "_html", lambda folder: {f"{i}.html": b"same" for i in range(54)})
    monkeypatch.setattr(fanout, "wait_for_free_cores", lambda: 1.95)
    monkeypatch.setattr(fanout, "parallel_capacity", lambda: next(probes))
    monkeypatch.setattr(fanout, "_objectives", lambda: tuple("abcdefghi"))
    section = fanout.bench_fanout()
    figures = {f.benchmark: f for f in section.figures}
    assert calls == [(1, "1"), (2, "1"), (2, "1"), (2, "0"), (2, "0"), (2, "1"), (1, "1")]
    speed_up = figures["fan-out: speed-up of 2 workers over 1"]
    assert abs(speed_up.value - (80 + 76) / (42 + 40)) < 1e-9  # 1.902: the busy 60 s dropped
    assert speed_up.passed is True
    default = figures[
        "fan-out: 2 workers, kernels with the libraries' default threads (mean of 2 runs)"
    ]
    assert default.value == 49.0
    assert [r["seconds"] for r in section.notes["discarded_runs"]] == [60.0]
    free = figures["fan-out: free cores before each run (busy loop: 2 at once against 1)"]
    assert "kept after two busy probes" not in free.detail  # the repeat was not busy


def test_speed_runs_each_side_twice_in_the_order_old_new_new_old(monkeypatch, tmp_path):
    """bench_speed with git and the command replaced: the order of the runs, and ratios of
    sums (a machine slowing down during the benchmark weighs on both sides alike)."""
    import subprocess

    import benchmarks.bench_speed as speed

    calls = []
    # (seconds, CPU, peak MB) per run, in ORDER: old, new, new, old; the machine slows.
    measured = iter(
        [
            (200.0, 380.0, 2000.0),
            (90.0, 170.0, 1700.0),
            (110.0, 200.0, 1750.0),
            (240.0, 450.0, 1980.0),
        ]
    )

    def run_cli(folder, workers, environment=None, program=(), **_):
        calls.append("before" if program else "now")
        folder.mkdir(parents=True)
        for i in range(297):
            (folder / f"{i}.html").write_text("page")
        seconds, cpu, peak = next(measured)
        return {"seconds": seconds, "cpu_s": cpu, "peak_mb": peak, "failed": []}

    class Done:
        returncode, stdout, stderr = 0, "", ""

    monkeypatch.setattr(speed, "_git", lambda *args, **kwargs: Done())
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: Done())
    monkeypatch.setattr(speed, "run_cli", run_cli)
    monkeypatch.setattr(speed, "wait_for_free_cores", lambda: 1.95)
    section = speed.bench_speed()
    figures = {f.benchmark: f for f in section.figures}
    assert calls == ["before", "now", "now", "before"]
    time = figures["speed: time per report, now / before"]
    assert abs(time.value - (90 + 110) / (200 + 240)) < 1e-9  # 0.4545
    assert time.passed is False
    assert abs(figures["speed: CPU per report, now / before"].value - 370 / 830) < 1e-9
    memory = figures["speed: peak memory, now / before"]
    assert abs(memory.value - 1750 / 2000) < 1e-9 and memory.passed is True
    assert "mean of 2" in " ".join(figures)
