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
        Section("fanout", [
            info("fan-out: 1 worker", 80.25, "s", "81.9, 78.6"),
            at_least("fan-out: speed-up", 1.75, 1.8),  # missed
            check("fan-out: HTML identical", True),
        ]),
        Section("largedata", [
            at_most("query median", 11.8, 100, "ms"),
            check("labelled synthetic", False, "a | in the detail"),
        ]),
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
