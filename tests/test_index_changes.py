"""The index's "Changes since the previous report" section (mpsanalysis.report.index).

Unit tests on hand-made frames and manifests, then one real-file test: the real borough
crime files are copied, a robbery quarter is run, one count of a past month is edited by
hand in a copy of the newest file, the store is rebuilt (recording
``borough_crime_revisions``) and the quarter re-run.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace as NS

import pandas as pd
import pytest

from mpsanalysis.ingest import build, fetch, store
from mpsanalysis.report import index as index_page
from mpsanalysis.run import runner
from mpsanalysis.run.jobs import Job, JobResult, find_notebook

PERSONAL = "Robbery of personal property"


def _revision_rows(rows: list[tuple]) -> pd.DataFrame:
    """A borough_crime_revisions table from (classification, month, borough, major,
    minor, previous, count) tuples."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "classification",
            "month",
            "borough_name",
            "major_category",
            "minor_category",
            "previous_count",
            "count",
        ],
    )
    frame["borough_code"] = "E09000000"
    frame["difference"] = frame["count"] - frame["previous_count"]
    frame["kind"] = "revised"
    frame["previous_source_file"] = "old.csv"
    frame["source_file"] = "new.csv"
    return frame


REVISIONS = _revision_rows(
    [
        ("new", "2016-09", "Lambeth", "ROBBERY", "ROBBERY OF PERSONAL PROPERTY", 100, 103),
        ("new", "2016-09", "Camden", "Robbery", "Robbery of Personal Property", 50, 49),
        ("new", "2016-09", "Unknown", "Robbery", "Robbery of Personal Property", 0, 2),
        ("new", "2016-08", "Camden", "Robbery", "Robbery of Business Property", 10, 14),
        ("new", "2017-01", "Lambeth", "Robbery", "Robbery of Personal Property", 80, 90),
        ("old", "2016-09", "Lambeth", "Robbery", "Personal Property", 7, 6),
        ("new", "2016-09", "Lambeth", "Burglary", "Burglary - Residential", 40, 45),
    ]
)


#: The store now: the revised cells' new counts, plus unrevised Hackney rows.
CRIME = pd.concat(
    [
        REVISIONS[
            ["classification", "month", "borough_name", "major_category", "minor_category", "count"]
        ],
        pd.DataFrame(
            {
                "classification": ["new", "old", "new"],
                "month": ["2016-09", "2016-09", "2016-08"],
                "borough_name": "Hackney",
                "major_category": "Robbery",
                "minor_category": [
                    "Robbery of Personal Property",
                    "Personal Property",
                    "Robbery of Personal Property",
                ],
                "count": [30, 5, 60],
            }
        ),
    ],
    ignore_index=True,
)


def test_revised_figures_sum_a_measures_categories_per_geography_and_month():
    """By hand: London personal robbery Sep 2016 (new) now = Lambeth 103 + Camden 49 +
    Unknown 2 + Hackney 30 = 184; the revisions add 3 - 1 + 2 = 4, so it was 180.
    Lambeth alone 100 -> 103. Old classification: London now 6 + 5 = 11, was 12; Lambeth
    7 -> 6. Business robbery Aug 2016 in London 10 -> 14, none in Lambeth. Jan 2017 is
    after the period end; burglary feeds no robbery measure; Hackney's unrevised Aug
    2016 personal robbery is no revised figure."""
    out = index_page.revised_figures(
        REVISIONS, [("robbery", "London"), ("robbery", "Lambeth")], "2016-12", CRIME
    )
    got = {
        (r.geography, r.measure, r.classification, r.month): (r.previous_count, r.count)
        for r in out.itertuples()
    }
    assert got == {
        ("London", PERSONAL, "new", "2016-09"): (180, 184),
        ("London", PERSONAL, "old", "2016-09"): (12, 11),
        ("London", "Robbery of business property", "new", "2016-08"): (10, 14),
        ("Lambeth", PERSONAL, "new", "2016-09"): (100, 103),
        ("Lambeth", PERSONAL, "old", "2016-09"): (7, 6),
    }
    assert list(out.columns) == index_page.REVISED_COLUMNS
    assert (out["difference"] == out["count"] - out["previous_count"]).all()
    assert out["difference"].dtype == "int64"


def test_revised_figures_leave_out_months_after_the_period_and_other_objectives():
    later = index_page.revised_figures(REVISIONS, [("robbery", "Lambeth")], "2017-03", CRIME)
    assert "2017-01" in set(later["month"])
    assert index_page.revised_figures(REVISIONS, [("robbery", "Lambeth")], "2016-07", CRIME).empty
    # a revision that nets to zero over a measure's categories is not a revised figure
    zero = _revision_rows(
        [
            ("new", "2016-09", "Lambeth", "Robbery", "Robbery of Personal Property", 10, 12),
            ("new", "2016-09", "Camden", "Robbery", "Robbery of Personal Property", 5, 3),
        ]
    )
    london = index_page.revised_figures(zero, [("robbery", "London")], "2016-12", CRIME)
    assert london.empty


def _manifest(status: str, geography: str = "London") -> dict:
    return {
        "parameters": {"period_end": "2016-09", "provisional": False},
        "reports": [
            {
                "objective_id": "robbery",
                "geography": geography,
                "ok": True,
                "summary": {"measures": [{"measure": PERSONAL, "status": status}]},
            }
        ],
    }


def _now(status: str, geography: str = "London", ok: bool = True) -> NS:
    job = NS(objective_id="robbery", geography=geography, period_end="2016-12")
    return NS(job=job, ok=ok, summary={"measures": [{"measure": PERSONAL, "status": status}]})


def test_status_changes_compare_the_same_objective_geography_and_measure():
    changed = index_page.status_changes(_manifest("on track"), [_now("off track")])
    assert changed[["geography", "measure", "previous_status", "status"]].values.tolist() == [
        ["London", PERSONAL, "on track", "off track"]
    ]
    assert index_page.status_changes(_manifest("on track"), [_now("on track")]).empty
    # another geography, or no previous run, is not compared
    assert index_page.status_changes(_manifest("met", "Lambeth"), [_now("not met")]).empty
    assert index_page.status_changes(None, [_now("not met")]).empty


def _results(status="executed"):
    notebook = str(find_notebook("robbery"))
    job = Job("robbery", notebook, "London", "2016-12", "", False)
    summary = {"measures": [{"measure": PERSONAL, "status": "off track"}]}
    return [JobResult(job, True, 1.0, summary=summary, status=status)]


def test_changes_section_is_empty_with_nothing_to_report(tmp_path, monkeypatch):
    """An empty revisions table (a first build) and no status change: no section, so a
    fresh run's index is unchanged."""
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path))
    store.write_table(REVISIONS.head(0), "borough_crime_revisions")
    assert index_page.changes_html(_results(), "2016-12", None) == ""
    same = ("2016/17-Q2", _manifest("off track"))
    assert index_page.changes_html(_results(), "2016-12", same) == ""


def test_changes_section_shows_status_changes_and_revised_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path))
    store.write_table(REVISIONS, "borough_crime_revisions")
    crime = CRIME.assign(month=pd.PeriodIndex(CRIME["month"], freq="M"))
    store.write_table(crime.assign(source_file="new.csv"), "borough_crime")
    html = index_page.changes_html(_results(), "2016-12", ("2016/17-Q2", _manifest("on track")))
    assert "Changes since the previous report" in html
    assert "Status in 2016/17-Q2" in html
    status = html.split("<h3>Status changes")[1].split("<h3>Revised figures")[0]
    assert "on track" in status and "off track" in status and PERSONAL in status
    revised = html.split("<h3>Revised figures")[1]
    assert '<td>Sep 2016</td><td class="num">180</td><td class="num">184</td>' in revised
    assert '<td class="num">+4</td>' in revised
    assert "Jan 2017" not in revised  # after the period end
    # no previous quarter: said so
    html = index_page.changes_html(_results(), "2016-12", None)
    assert "There is no earlier report to compare with" in html


def _write_manifest(folder: Path, period_end: str, provisional: bool = False) -> None:
    folder.mkdir(parents=True)
    manifest = {"parameters": {"period_end": period_end, "provisional": provisional}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("period_end", "folder", "its_end", "expected"),
    [
        ("2016-12", "2016-17/2016-17-Q2", "2016-09", "2016/17-Q2"),  # a --quarter run
        ("2016-12", "2016-17/2016-09", "2016-09", "2016/17-Q2"),  # a --period-end run
        ("2016-11", "2016-17/2016-09", "2016-09", "2016/17-Q2"),  # mid-quarter
        ("2016-06", "2015-16/2015-16-Q4", "2016-03", "2015/16-Q4"),  # across a year
        ("2016-12", "2016-17/2016-06", "2016-06", None),  # two quarters back
    ],
)
def test_previous_quarter_manifest_is_found_by_label_or_month(
    tmp_path, period_end, folder, its_end, expected
):
    _write_manifest(tmp_path / folder, its_end)
    plan = NS(period_end=period_end, output_dir=tmp_path / "x" / "y")
    found = runner.previous_quarter_manifest(plan)
    assert (found[0] if found else None) == expected


def test_previous_quarter_manifest_ignores_a_provisional_run(tmp_path):
    _write_manifest(tmp_path / "2016-17" / "2016-17-Q2", "2016-08", provisional=True)
    plan = NS(period_end="2016-12", output_dir=tmp_path / "2016-17" / "2016-12")
    assert runner.previous_quarter_manifest(plan) is None


# ------------------------------------------------------------------ real files
NEWEST = "MPS_Borough_Level_Crime_recent24m_202401-202512.csv"
#: The hand revision: Westminster robbery of personal property, August 2025, published
#: as 254 (checked below); raised by 400.
ROW = b"ROBBERY,ROBBERY OF PERSONAL PROPERTY,Westminster,"
AUG_2025 = 19  # 202401 is the first month column


def _revise(data: bytes) -> bytes:
    start = data.index(ROW)
    end = data.index(b"\n", start)
    fields = data[start:end].split(b",")
    assert fields[3 + AUG_2025] == b"254"  # the published count, read from the file
    fields[3 + AUG_2025] = b"654"
    return data[:start] + b",".join(fields) + data[end:]


@pytest.mark.slow
@pytest.mark.realdata
def test_hand_revision_in_a_copy_shows_in_the_index(real_store, shared_data, tmp_path, monkeypatch):
    """Real files: robbery (London, Westminster) for 2025/26 Q2 and Q3; then Westminster
    personal robbery of August 2025 is raised from 254 to 654 in a copy of the newest
    file, the store rebuilt and Q3 re-run.

    Expected, by hand from the published figures: the revised month shows 254 -> 654
    (+400) for Westminster; London's August 2025 total rises by the same 400. Westminster's
    Apr-Dec 2025 personal robbery was 2,087 against 2,553 the year before (on track for a
    7% reduction, as in Q2); 2,487 is a fall of 2.6%, short of the 7% target, so its
    status changes from Q2's "on track". London's 17,812 + 400 = 18,212 against 20,632
    stays on track (no change listed for London).
    """
    mirror = tmp_path / "mirror" / build.BOROUGH_CRIME_FOLDER
    mirror.mkdir(parents=True)
    for path in sorted((shared_data / "london-datastore" / "borough-crime").glob("*.csv")):
        shutil.copyfile(path, mirror / path.name)
    data, reports = tmp_path / "data", tmp_path / "reports"
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(data))
    monkeypatch.setenv("MPSANALYSIS_REPORTS_DIR", str(reports))

    def rebuild() -> None:
        fetch.fetch_from_mirror(tmp_path / "mirror", data / "raw")
        build.build_store(data / "raw", data / "processed", include_sources=False)
        # The other sources are unchanged: their tables (the same bytes) come from the
        # session's full build instead of being built again.
        for table in real_store["processed"].glob("*.parquet"):
            if not table.name.startswith("borough_crime"):
                shutil.copyfile(table, data / "processed" / table.name)

    def run(quarter: str) -> tuple[Path, dict]:
        plan = runner.plan_run(
            quarter=quarter, objectives=["robbery"], geographies=["London", "Westminster"]
        )
        outcome = runner.execute_plan(plan, workers=1)
        assert outcome.ok
        manifest = json.loads((plan.output_dir / "manifest.json").read_text())
        return plan.output_dir, manifest

    rebuild()
    assert store.read_table("borough_crime_revisions").empty  # a first build
    q3 = reports / "2025-26" / "2025-26-Q3"
    run("2025/26-Q2")
    _, before = run("2025/26-Q3")
    fresh = (q3 / "index.html").read_text()
    assert "Changes since the previous report" not in fresh  # nothing to report

    mirror_file = mirror / NEWEST
    mirror_file.write_bytes(_revise(mirror_file.read_bytes()))
    rebuild()
    revisions = store.read_table("borough_crime_revisions")
    assert revisions[["borough_name", "previous_count", "count"]].values.tolist() == [
        ["Westminster", 254, 654]
    ]

    folder, after = run("2025/26-Q3")
    assert [r["status"] for r in after["reports"]] == ["executed", "executed"]
    page = (folder / "index.html").read_text()
    section = page.split('<h2 id="changes">')[1].split('<table class="data-table index-table"')[0]
    revised = section.split("<h3>Revised figures")[1]
    cells = '<td>Aug 2025</td><td class="num">{:,}</td><td class="num">{:,}</td>'
    assert cells.format(254, 654) in revised  # Westminster
    # London's August 2025 personal robbery, summed from the published file by hand
    published = 0
    with open(shared_data / "london-datastore" / "borough-crime" / NEWEST) as handle:
        for row in csv.reader(handle):
            if row[1].casefold() == "robbery of personal property":
                published += int(row[3 + AUG_2025])
    assert cells.format(published, published + 400) in revised  # London
    status = section.split("<h3>Status changes")[1].split("<h3>")[0]
    assert "Westminster" in status and "(London)" not in status
    assert "Status in 2025/26-Q2" in status and "on track" in status
    figures = {
        (r["geography"], m["measure"]): m["figure"]
        for r in after["reports"]
        for m in r["summary"]["measures"]
    }
    old = {
        (r["geography"], m["measure"]): m["figure"]
        for r in before["reports"]
        for m in r["summary"]["measures"]
    }
    assert (old[("Westminster", PERSONAL)], figures[("Westminster", PERSONAL)]) == (
        "2,087",
        "2,487",
    )
    assert figures[("London", PERSONAL)] == "18,212"

    # unchanged since: both reused, and the revisions are still shown
    folder, again = run("2025/26-Q3")
    assert [r["status"] for r in again["reports"]] == ["reused", "reused"]
    page = (folder / "index.html").read_text()
    assert "Reused unchanged from an earlier run (2 of 2" in page
    assert cells.format(254, 654) in page
    if os.environ.get("MPSANALYSIS_SHOW_CHANGES"):  # for docs/reports.md
        print(page.split('<h2 id="changes">')[1].split('<table class="data-table index-table"')[0])
