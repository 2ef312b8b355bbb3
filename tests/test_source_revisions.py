"""Revisions of the republished sources other than the borough crime files.

``mpsanalysis.ingest.revisions`` (``tally``, ``compare_republished``), the build's
``source_revisions`` table (``build.compare_republished_tables``) and the index's
"Revised figures of other sources" (``report.index.revised_sources``). Unit tests use
small synthetic frames; the last test edits a copy of the real homicide victims file by
hand, rebuilds the store over the real one and reads the table, the build log and the
index section.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest

from mpsanalysis.ingest import build, fetch, store
from mpsanalysis.ingest.revisions import (
    REPUBLISHED,
    SOURCE_REVISION_COLUMNS,
    Republished,
    compare_republished,
    tally,
)
from mpsanalysis.report import index as index_page

SEARCHES = Republished("stop_search", ("borough_name", "outcome"), None, "month", "searches", "S")


def _searches(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Synthetic searches: (month, borough, outcome), one row each."""
    frame = pd.DataFrame(rows, columns=["month", "borough_name", "outcome"])
    frame["month"] = pd.to_datetime(frame["month"])
    frame["latitude"] = np.arange(len(frame), dtype=float)
    frame["source_file"] = "searches.csv"
    return frame


BEFORE = _searches(
    [
        ("2017-01-01", "Camden", "Arrest"),
        ("2017-01-01", "Camden", "Arrest"),
        ("2017-01-01", "Brent", None),
        ("2017-02-01", "Brent", "Arrest"),
        ("2017-03-01", "Brent", "Arrest"),
    ]
)


def test_unchanged_rows_in_another_order_are_no_revision():
    shuffled = BEFORE.sample(frac=1, random_state=3)
    assert compare_republished(BEFORE, shuffled, SEARCHES).empty
    # a column the comparison does not count (a search's position) is no revision
    moved = BEFORE.assign(latitude=BEFORE["latitude"] + 1)
    assert compare_republished(BEFORE, moved, SEARCHES).empty


def test_changed_cells_over_shared_months_only():
    """By hand: January loses a Camden arrest and gains a Brent arrest (total 3 both
    times); February's only search has no outcome now; March is not in the new file and
    April not in the old one, so neither is compared."""
    after = _searches(
        [
            ("2017-01-01", "Camden", "Arrest"),
            ("2017-01-01", "Brent", "Arrest"),
            ("2017-01-01", "Brent", None),
            ("2017-02-01", "Brent", None),
            ("2017-04-01", "Brent", "Arrest"),
        ]
    )
    out = compare_republished(BEFORE, after, SEARCHES)
    assert list(out.columns) == SOURCE_REVISION_COLUMNS
    got = {
        (r.period, r.cell): (
            r.previous_count,
            r.count,
            r.kind,
            r.previous_period_total,
            r.period_total,
        )
        for r in out.itertuples()
    }
    assert got == {
        ("2017-01", "borough_name: Brent; outcome: Arrest"): (0, 1, "added", 3, 3),
        ("2017-01", "borough_name: Camden; outcome: Arrest"): (2, 1, "revised", 3, 3),
        ("2017-02", "borough_name: Brent"): (0, 1, "added", 1, 1),
        ("2017-02", "borough_name: Brent; outcome: Arrest"): (1, 0, "withdrawn", 1, 1),
    }
    assert set(out["table"]) == {"stop_search"}
    assert (out["difference"] == out["count"] - out["previous_count"]).all()


def test_years_and_financial_quarters_are_periods():
    population = Republished(
        "borough_population", ("borough_name",), "population", "year", "people", "P"
    )
    frame = pd.DataFrame(
        {"year": [2020, 2021], "borough_name": "Camden", "population": [270_029.0, 279_516.0]}
    )
    out = compare_republished(frame, frame.assign(population=[270_029.0, 280_000.0]), population)
    assert out[["period", "first_month", "previous_count", "count"]].values.tolist() == [
        ["2021", "2021-01", 279_516, 280_000]
    ]
    crime = Republished(
        "force_crime", ("force_name", "offence_code"), "count", "financial_quarter", "crimes", "F"
    )
    quarters = pd.DataFrame(
        {
            "financial_year": "2019/20",
            "quarter": [1, 4],
            "force_name": "Kent",
            "offence_code": "8N",
            "count": [10.0, 12.0],
            "source_file": "prc.csv",
        }
    )
    table = tally(quarters, crime)
    # Q1 of 2019/20 starts April 2019, Q4 January 2020
    assert table[["period", "first_month", "count"]].values.tolist() == [
        ["2019/20 Q1", "2019-04", 10],
        ["2019/20 Q4", "2020-01", 12],
    ]


def test_every_republished_table_is_built_with_the_columns_compared(real_store):
    for spec in REPUBLISHED:
        path = store.table_path(spec.table, real_store["processed"])
        assert path.exists(), spec.table
        columns = set(pd.read_parquet(path).columns)
        assert set(spec.columns) <= columns, spec.table


def test_revised_sources_keep_periods_up_to_the_page_and_sources_it_read():
    rows = pd.DataFrame(
        {
            "table": ["homicide_victims", "homicide_victims", "homicide_victims", "stop_search"],
            "period": ["2019-05", "2019-05", "2026-01", "2017-01"],
            "first_month": ["2019-05", "2019-05", "2026-01", "2017-01"],
            "cell": ["a", "b", "c", "d"],
            "difference": [1, -1, 1, 5],
            "previous_period_total": [12, 12, 9, 100],
            "period_total": [12, 12, 10, 105],
        }
    )
    reader = NS(
        job=NS(objective_id="homicide", geography="London"),
        inputs=["/x/homicide_victims.parquet"],
        input_checksums=None,
    )
    out = index_page.revised_sources(rows, [reader], "2025-12")
    # 2026-01 is after the page's period; nobody on the page read stop_search
    assert out[
        ["table", "period", "previous_count", "count", "difference", "cells"]
    ].values.tolist() == [["homicide_victims", "2019-05", 12, 12, 0, 2]]
    assert out["source"].iat[0] == "Homicide victims (London Datastore)"


def _revise_homicide(text: str) -> tuple[str, dict]:
    """Duplicate the first May 2019 victim (one more victim) and mark the next solved May
    2019 victim as unsolved; return the file and what was read from it by hand."""
    lines = text.splitlines(keepends=True)
    rows = [next(csv.reader(io.StringIO(line))) for line in lines[1:]]
    header = next(csv.reader(io.StringIO(lines[0])))
    date, solved = header.index("Recorded Date"), header.index("Solved Status")
    may = [i for i, row in enumerate(rows) if row[date] == "May 2019"]
    first = may[0]
    second = next(i for i in may[1:] if rows[i][solved] == "Solved" and rows[i] != rows[first])
    total = sum(int(rows[i][0]) for i in may)
    edited = lines[1 + second].replace(",Solved,", ",Unsolved,", 1)
    assert edited != lines[1 + second]
    lines[1 + second] = edited
    lines.insert(1 + first, lines[1 + first])
    return "".join(lines), {"total": total, "duplicated": rows[first], "reclassified": rows[second]}


@pytest.mark.slow
@pytest.mark.realdata
def test_hand_revision_of_the_real_homicide_file(real_store, shared_data, tmp_path, monkeypatch):
    """Real files: the homicide victims file is copied and edited by hand (one May 2019
    victim more; another May 2019 victim's case unsolved now), and the store rebuilt
    over the session's real build. Expected, counted from the published file: May 2019
    had 12 victims, now 13; three cells change (+1 for the duplicated victim's cell, -1
    and +1 for the reclassified one); no other table changes."""
    mirror = tmp_path / "mirror"
    shutil.copytree(shared_data, mirror)
    path = mirror / "london-datastore" / "homicide" / "homicide_victims_2003-2020.csv"
    text, published = _revise_homicide(path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(real_store["processed"], data / "processed")  # the previous build
    fetch.fetch_from_mirror(mirror, data / "raw")
    log = build.build_store(data / "raw", data / "processed", include_sources=True)

    changes = store.read_table("source_revisions", directory=data / "processed")
    assert set(changes["table"]) == {"homicide_victims"}
    assert set(changes["period"]) == {"2019-05"}
    assert published["total"] == 12
    assert changes["previous_period_total"].unique().tolist() == [published["total"]]
    assert changes["period_total"].unique().tolist() == [published["total"] + 1]
    assert int(changes["difference"].sum()) == 1
    assert sorted(changes["difference"]) == [-1, 1, 1]
    unsolved = changes[changes["difference"].eq(1) & changes["cell"].str.contains("Unsolved")]
    assert len(unsolved) == 1
    borough = published["reclassified"][8]
    assert f"borough_name: {borough}" in unsolved["cell"].iat[0]

    entry = next(e for e in log["sources"] if e["source"] == "homicide")
    note = [w for w in entry["warnings"] if w.startswith("homicide_victims: this build revises")]
    assert note == [
        "homicide_victims: this build revises 3 cell(s) of the previous build, 2019-05 to "
        "2019-05 (1 period; net change +1 victims). See table source_revisions."
    ]
    written = json.loads((data / "processed" / "build_log.json").read_text())
    assert written["sources"][-1]["tables"] == ["source_revisions"]

    # the index of a page with a homicide report read from this store
    reader = NS(
        job=NS(objective_id="homicide", geography="London", period_end="2025-12"),
        ok=True,
        status="executed",
        inputs=[str(data / "processed" / "homicide_victims.parquet")],
        input_checksums=None,
    )
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(data))
    section = index_page.changes_html([reader], "2025-12")
    other = section.split("<h3>Revised figures of other sources")[1]
    assert "<td>Homicide victims (London Datastore)</td><td>May 2019</td>" in other
    assert (
        '<td class="num">12</td><td class="num">13</td><td class="num">+1</td>'
        '<td class="num">3</td><td>Reduce homicide and bring offenders to justice (1 report)'
        "</td>"
    ) in other
