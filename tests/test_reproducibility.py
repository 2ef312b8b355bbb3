"""Reproducibility: the same data and parameters give byte-identical reports, wherever
they are written, and every run leaves a manifest to reproduce it from.

Slow: two runs of two objectives (one from the published data, one from an internal
extract given by its path), each into its own reports folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis import __version__, cli, paths
from mpsanalysis.ingest import extracts

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

PERIOD_DIR = Path("2010-11") / "2010-10"
OBJECTIVES = ["robbery", "criminal-networks"]


def _run(reports: Path, extract: Path, monkeypatch) -> Path:
    monkeypatch.setenv("MPSANALYSIS_REPORTS_DIR", str(reports))
    args = ["run", "--period-end", "2010-10", "--workers", "2", "--extracts", str(extract)]
    for objective in OBJECTIVES:
        args += ["--objective", objective]
    assert cli.main(args) == 0
    return reports


@pytest.fixture(scope="module")
def two_runs(real_store, tmp_path_factory):
    """The same period run twice, into two different folders, with the extract copied to
    a third (so no local path can hide in the output unnoticed)."""
    root = tmp_path_factory.mktemp("repro")
    extract = root / "my extracts" / "sample_extract_SYNTHETIC.csv"
    extract.parent.mkdir()
    shutil.copyfile(extracts.sample_extract_path(), extract)
    with pytest.MonkeyPatch.context() as monkeypatch:
        first = _run(root / "first", extract, monkeypatch)
        time.sleep(1.1)  # a timestamp in a report would now differ
        second = _run(root / "elsewhere" / "second", extract, monkeypatch)
    return {"root": root, "first": first, "second": second, "extract": extract, "store": real_store}


def _pages(reports: Path) -> list[Path]:
    return sorted(reports.rglob("*.html"))


def test_same_period_twice_gives_byte_identical_html(two_runs):
    first, second = two_runs["first"], two_runs["second"]
    names = [p.relative_to(first).as_posix() for p in _pages(first)]
    assert names == [p.relative_to(second).as_posix() for p in _pages(second)]
    assert set(names) == {
        "index.html",
        f"{PERIOD_DIR.as_posix()}/index.html",
        f"{PERIOD_DIR.as_posix()}/robbery.html",
        f"{PERIOD_DIR.as_posix()}/criminal-networks.html",
    }
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_manifest_records_parameters_inputs_versions_and_commit(two_runs):
    manifest = json.loads((two_runs["first"] / PERIOD_DIR / "manifest.json").read_text())
    assert manifest["parameters"] == {
        "period_end": "2010-10",
        "quarter": None,
        "objectives": OBJECTIVES,
        "geographies": ["London"],
        "extracts": "sample_extract_SYNTHETIC.csv",
        "provisional": False,
    }
    # Input checksums: worked out here from the raw files themselves.
    raw = two_runs["store"]["raw"]
    folder = raw / "london-datastore" / "borough-crime"
    for path in sorted(folder.glob("*.csv")):
        relative = path.relative_to(raw).as_posix()
        assert manifest["input_files"][relative] == hashlib.sha256(path.read_bytes()).hexdigest()
    versions = manifest["package_versions"]
    assert versions["mpsanalysis"] == __version__
    assert versions["pandas"] == pd.__version__
    for name in ("papermill", "nbconvert", "numpy", "pyarrow"):
        assert versions[name] == metadata.version(name)
    commit = manifest["git_commit"]
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", commit)
    if commit != "unknown":  # the commit the run was made from is in this history
        ancestor = subprocess.run(
            ["git", "merge-base", "--is-ancestor", commit, "HEAD"],
            cwd=paths.project_root(),
            capture_output=True,
            check=False,
        )
        assert ancestor.returncode == 0
    # Uncommitted changes to the code are recorded: the commit alone would not
    # reproduce such a run.
    if commit != "unknown":
        assert isinstance(manifest["git_dirty"], bool)
    else:  # not run from a git checkout
        assert manifest["git_dirty"] is None
    reports = {r["objective_id"]: r for r in manifest["reports"]}
    assert set(reports) == set(OBJECTIVES)
    assert all(r["ok"] and r["period_end"] == "2010-10" for r in reports.values())
    assert reports["robbery"]["notebook"] == "08_robbery.ipynb"
    assert reports["criminal-networks"]["extracts"] == "sample_extract_SYNTHETIC.csv"


_TIMESTAMP = re.compile(
    r"\b20\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d"  # ISO date and time
    r"|\b[0-2]\d:[0-5]\d:[0-5]\d\b"  # a clock time
)


def _forbidden_strings(two_runs) -> list[str]:
    today = time.localtime()
    return [
        str(two_runs["root"]),
        str(two_runs["store"]["data"]),
        str(paths.project_root()),
        str(Path.home()),
        "/root/",
        "/work/",
        "/home/",
        "/tmp/",
        "/private/var/",
        "my extracts",
        time.strftime("%Y-%m-%d", today),
        time.strftime("%d %B %Y", today),
        time.strftime("%d/%m/%Y", today),
    ]


@pytest.mark.parametrize("run", ["first", "second"])
def test_no_timestamp_or_local_path_in_any_page(two_runs, run):
    pages = _pages(two_runs[run])
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for forbidden in _forbidden_strings(two_runs):
            assert forbidden not in text, f"{forbidden!r} in {page.name}"
        found = _TIMESTAMP.search(text)
        assert found is None, f"timestamp {found.group(0)!r} in {page.name}"


def test_published_notebooks_and_manifest_carry_no_local_paths(two_runs):
    folder = two_runs["first"] / PERIOD_DIR
    manifest = (folder / "manifest.json").read_text(encoding="utf-8")
    for forbidden in _forbidden_strings(two_runs)[:5]:
        assert forbidden not in manifest, f"{forbidden!r} in manifest.json"
    # The executed notebook is the audit record of what ran (its injected parameters
    # include the extract's path as given), but it never names the staging folder it
    # was written in nor the checkout it was read from.
    notebook = (folder / "robbery.ipynb").read_text(encoding="utf-8")
    for forbidden in [".staging-", str(paths.project_root())]:
        assert forbidden not in notebook, f"{forbidden!r} in robbery.ipynb"
    record = json.loads((folder / "robbery.ipynb").read_text())["metadata"]["papermill"]
    assert record["input_path"] == "notebooks/08_robbery.ipynb"
    assert record["output_path"] == "robbery.ipynb"
