"""The report cache (mpsanalysis.run.cache): keys, verification, bounds, and real runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis import cli, paths
from mpsanalysis.ingest import store
from mpsanalysis.ingest.fetch import sha256_file
from mpsanalysis.report import index as index_page
from mpsanalysis.run import cache
from mpsanalysis.run.jobs import Job, JobResult, find_notebook


# ------------------------------------------------------------------ helpers
def _context() -> cache.RunContext:
    return cache.RunContext("source-1", {"pandas": "2.2.0"}, {"a.csv": "0" * 64}, "1")


def _job(notebook: Path, geography: str = "London") -> Job:
    return Job("criminal-networks", str(notebook), geography, "2016-12", "", False)


@pytest.fixture()
def setup(tmp_path):
    """A notebook copy, one input table, two report files and an empty cache."""
    notebook = tmp_path / "03_criminal-networks.ipynb"
    shutil.copyfile(find_notebook("criminal-networks"), notebook)
    table = tmp_path / "store" / "t.parquet"
    table.parent.mkdir()
    table.write_bytes(b"table version 1")
    html, ipynb = tmp_path / "r.html", tmp_path / "r.ipynb"
    html.write_text("<html>report</html>\n")
    ipynb.write_text('{"cells": []}\n')
    report_cache = cache.ReportCache(tmp_path / "reports" / ".cache", _context())
    return {
        "notebook": notebook,
        "table": table,
        "html": html,
        "ipynb": ipynb,
        "cache": report_cache,
        "job": _job(notebook),
    }


def _store(s, job=None):
    return s["cache"].store(
        job or s["job"], [str(s["table"])], s["html"], s["ipynb"], {"measures": []}, False, 2.0
    )


# ------------------------------------------------------------------ keys
def test_hit_after_store_gives_the_same_bytes(setup):
    entry = _store(setup)
    hit = setup["cache"].lookup(setup["job"])
    assert hit is not None and hit.folder == entry
    assert hit.html.read_bytes() == b"<html>report</html>\n"
    assert hit.notebook.read_bytes() == b'{"cells": []}\n'
    assert hit.entry["inputs"] == {str(setup["table"]): sha256_file(setup["table"])}


def test_inputs_in_the_store_are_named_relative_to_it(setup, monkeypatch):
    """An entry names a store table relative to the store (no local path in the cache),
    and still finds it after the data folder moves."""
    data = setup["table"].parent.parent / "data"
    (data / "processed").mkdir(parents=True)
    table = data / "processed" / "t.parquet"
    table.write_bytes(b"table version 1")
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(data))
    setup["cache"].store(
        setup["job"], [str(table)], setup["html"], setup["ipynb"], None, False, 1.0
    )
    entry = setup["cache"].lookup(setup["job"]).entry
    assert list(entry["inputs"]) == ["t.parquet"]
    assert str(data) not in json.dumps(entry)
    moved = data.parent / "moved"
    data.rename(moved)
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(moved))
    assert cache.ReportCache(setup["cache"].root, _context()).lookup(setup["job"]) is not None


def test_changed_input_table_misses_and_restored_bytes_hit_again(setup):
    _store(setup)
    setup["table"].write_bytes(b"table version 2")
    assert cache.ReportCache(setup["cache"].root, _context()).lookup(setup["job"]) is None
    setup["table"].write_bytes(b"table version 1")
    assert cache.ReportCache(setup["cache"].root, _context()).lookup(setup["job"]) is not None


def test_deleted_input_table_misses(setup):
    _store(setup)
    setup["table"].unlink()
    assert cache.ReportCache(setup["cache"].root, _context()).lookup(setup["job"]) is None


def test_other_geography_parameters_source_or_versions_miss(setup):
    _store(setup)
    assert setup["cache"].lookup(_job(setup["notebook"], "Lambeth")) is None
    later = Job("criminal-networks", str(setup["notebook"]), "London", "2017-01", "", False)
    assert setup["cache"].lookup(later) is None
    for changed in (
        cache.RunContext("source-2", {"pandas": "2.2.0"}, {"a.csv": "0" * 64}, "1"),
        cache.RunContext("source-1", {"pandas": "2.2.1"}, {"a.csv": "0" * 64}, "1"),
        cache.RunContext("source-1", {"pandas": "2.2.0"}, {"a.csv": "1" * 64}, "1"),
        cache.RunContext("source-1", {"pandas": "2.2.0"}, {"a.csv": "0" * 64}, "None"),
    ):
        assert cache.ReportCache(setup["cache"].root, changed).lookup(setup["job"]) is None


def test_code_cell_change_misses_but_outputs_and_kernelspec_do_not(setup):
    _store(setup)
    nb = json.loads(setup["notebook"].read_text())
    nb["metadata"]["kernelspec"] = {"name": "other", "display_name": "Other"}
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x\n"]}]
    code["execution_count"] = 7
    setup["notebook"].write_text(json.dumps(nb))
    assert cache.ReportCache(setup["cache"].root, _context()).lookup(setup["job"]) is not None
    source = code["source"]
    code["source"] = (source if isinstance(source, str) else "".join(source)) + "\n# changed"
    setup["notebook"].write_text(json.dumps(nb))
    assert cache.ReportCache(setup["cache"].root, _context()).lookup(setup["job"]) is None


def test_markdown_change_misses(setup):
    _store(setup)
    nb = json.loads(setup["notebook"].read_text())
    text = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    text["source"] = "# Another heading"
    setup["notebook"].write_text(json.dumps(nb))
    assert cache.ReportCache(setup["cache"].root, _context()).lookup(setup["job"]) is None


def test_source_hash_changes_with_a_template(tmp_path):
    package = tmp_path / "pkg"
    (package / "report" / "templates").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "report" / "templates" / "page.css").write_text("p {}\n")
    (package / "notes.txt").write_text("not part of the output\n")
    before = cache.source_hash(package)
    (package / "notes.txt").write_text("changed\n")
    assert cache.source_hash(package) == before
    (package / "report" / "templates" / "page.css").write_text("p { margin: 0 }\n")
    assert cache.source_hash(package) != before


# ------------------------------------------------------------------ damaged entries
@pytest.mark.parametrize(
    "damage",
    [
        "html_byte",
        "html_truncated",
        "notebook_missing",
        "record_truncated",
        "record_edited",
        "record_missing",
    ],
)
def test_damaged_entry_is_never_reused_and_is_removed(setup, damage):
    entry = _store(setup)
    if damage == "html_byte":
        data = bytearray((entry / "report.html.cached").read_bytes())
        data[3] ^= 0x01  # same size, one bit different
        (entry / "report.html.cached").write_bytes(bytes(data))
    elif damage == "html_truncated":
        (entry / "report.html.cached").write_bytes(b"<html>rep")
    elif damage == "notebook_missing":
        (entry / "report.ipynb.cached").unlink()
    elif damage == "record_truncated":
        text = (entry / "entry.json").read_text()
        (entry / "entry.json").write_text(text[: len(text) // 2])
    elif damage == "record_edited":
        record = json.loads((entry / "entry.json").read_text())
        record["summary"] = {"measures": [{"figure": "999"}]}
        (entry / "entry.json").write_text(json.dumps(record))
    elif damage == "record_missing":
        (entry / "entry.json").unlink()
    assert setup["cache"].lookup(setup["job"]) is None
    if damage != "record_missing":  # an entry without a record is never even read
        assert not entry.exists()


def test_partial_entry_from_a_killed_run_is_not_seen_and_is_swept(setup):
    tmp = setup["cache"].root / ".tmp-killed"
    tmp.mkdir(parents=True)
    (tmp / "report.html.cached").write_text("half")
    assert setup["cache"].lookup(setup["job"]) is None
    setup["cache"].evict()
    assert not tmp.exists()


# ------------------------------------------------------------------ bounds
def test_entries_per_report_bound_keeps_the_most_recently_used(setup, monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_CACHE_ENTRIES", "2")
    first = _store(setup)
    setup["table"].write_bytes(b"table version 2")
    second = _store(setup)
    setup["table"].write_bytes(b"table version 3")
    third = _store(setup)
    import os

    os.utime(first / "entry.json", (1, 1))
    os.utime(second / "entry.json", (2, 2))
    assert setup["cache"].evict() == 1
    assert not first.exists() and second.exists() and third.exists()


def test_total_size_bound_removes_least_recently_used(setup, monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_CACHE_MAX_MB", "1")
    setup["html"].write_bytes(b"x" * 700_000)
    old = _store(setup)
    new = _store(setup, _job(setup["notebook"], "Lambeth"))
    import os

    os.utime(old / "entry.json", (1, 1))
    assert setup["cache"].evict() == 1
    assert not old.exists() and new.exists()


def test_bad_bound_setting_is_refused(monkeypatch):
    from mpsanalysis.errors import ParameterError

    monkeypatch.setenv("MPSANALYSIS_CACHE_ENTRIES", "0")
    with pytest.raises(ParameterError, match="MPSANALYSIS_CACHE_ENTRIES"):
        cache.max_entries_per_report()


# ------------------------------------------------------------------ recording reads
def test_store_records_tables_read_and_looked_for(tmp_path):
    store.forget_tables_read()
    store.write_table(pd.DataFrame({"a": [1]}), "one", tmp_path)
    store.forget_tables_read()
    store.read_table("one", directory=tmp_path)
    store.table_exists("two", tmp_path)
    assert store.tables_read() == sorted(
        [str((tmp_path / "one.parquet").absolute()), str((tmp_path / "two.parquet").absolute())]
    )
    store.forget_tables_read()
    assert store.tables_read() == []


# ------------------------------------------------------------------ index section
def _result(job, ok=True, status="executed", inputs=None, error=""):
    return JobResult(
        job, ok, 1.0, summary={"measures": []}, error=error, status=status, input_checksums=inputs
    )


def test_changes_section_lists_failed_reused_and_out_of_date(tmp_path, monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path))
    processed = paths.processed_dir()
    processed.mkdir(parents=True)
    (processed / "t.parquet").write_bytes(b"now")
    current = sha256_file(processed / "t.parquet")
    notebook = find_notebook("criminal-networks")
    london = Job("criminal-networks", str(notebook), "London", "2016-12", "", False)
    lambeth = Job("criminal-networks", str(notebook), "Lambeth", "2016-12", "", False)
    camden = Job("criminal-networks", str(notebook), "Camden", "2016-12", "", False)
    html = index_page.changes_html(
        [
            _result(london, status="reused", inputs={"t.parquet": current}),
            _result(lambeth, inputs={"t.parquet": "0" * 64}),
            _result(camden, ok=False, status="failed", error="cell 3: boom"),
        ]
    )
    assert "Changes since the previous report" in html
    title = "Reduce serious and organised crime by disrupting criminal networks"
    assert f"Failed: {title} (Camden)." in html
    assert "Reused unchanged from an earlier run (1 of 3" in html
    out_of_date = html.split("OUT OF DATE")[1]
    assert "(Lambeth) (changed: t.parquet)" in out_of_date
    assert "(London)" not in out_of_date
    assert "Revised figures" not in html  # no revisions table in this store


def test_changes_section_is_empty_when_nothing_changed_and_no_revisions(tmp_path, monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path))
    job = Job(
        "criminal-networks", str(find_notebook("criminal-networks")), "London", "2016-12", "", False
    )
    assert index_page.changes_html([_result(job)]) == ""


# The revised figures (from borough_crime_revisions) and status changes are tested in
# tests/test_index_changes.py.


# ------------------------------------------------------------------ real runs
@pytest.mark.slow
@pytest.mark.realdata
def test_second_run_reuses_byte_for_byte_force_and_changed_table_execute(
    real_store, tmp_path, monkeypatch
):
    """One small real report run four times: executed, reused (same bytes), executed
    again after its cache entry is damaged, and executed after a table it reads
    changes bytes; --force executes it whatever the cache holds."""
    reports = tmp_path / "reports"
    monkeypatch.setenv("MPSANALYSIS_REPORTS_DIR", str(reports))
    args = ["run", "--period-end", "2010-10", "--objective", "criminal-networks", "--workers", "1"]
    folder = reports / "2010-11" / "2010-10"

    def run(*extra) -> list[str]:
        assert cli.main(args + list(extra)) == 0
        manifest = json.loads((folder / "manifest.json").read_text())
        return [r["status"] for r in manifest["reports"]]

    assert run() == ["executed"]
    first_html = (folder / "criminal-networks.html").read_bytes()
    first_nb = (folder / "criminal-networks.ipynb").read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text())
    inputs = manifest["reports"][0]["inputs"]
    assert "borough_crime.parquet" in inputs and "homicide_victims.parquet" not in inputs
    assert manifest["lock_sha256"] == cache.lock_sha256()

    assert run() == ["reused"]
    assert (folder / "criminal-networks.html").read_bytes() == first_html
    assert (folder / "criminal-networks.ipynb").read_bytes() == first_nb
    assert "Reused unchanged" in (folder / "index.html").read_text()

    # damage the entry: it is not reused, and the page published is the right one
    (entry,) = (reports / ".cache").glob("criminal-networks-*/*/report.html.cached")
    entry.write_bytes(entry.read_bytes().replace(b"</html>", b"</html><!-- x -->"))
    assert run() == ["executed"]
    assert (folder / "criminal-networks.html").read_bytes() == first_html

    # a table it does not read changes: still reused
    processed = real_store["processed"]
    victims = processed / "homicide_victims.parquet"
    saved_victims = victims.read_bytes()
    categories = processed / "borough_crime_categories.parquet"
    saved_categories = categories.read_bytes()
    try:
        pd.read_parquet(victims).to_parquet(victims, index=False, compression="gzip")
        assert run() == ["reused"]
        # a table it reads changes bytes (same rows, other compression): executed
        pd.read_parquet(categories).to_parquet(categories, index=False, compression="gzip")
        assert run() == ["executed"]
        assert run("--force") == ["executed"]
    finally:
        victims.write_bytes(saved_victims)
        categories.write_bytes(saved_categories)
