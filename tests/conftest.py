"""Shared fixtures: hand-made borough crime files and a real-data store built once.

Real data comes from ../shared/data (read-only); everything written goes to pytest's
temporary folders via MPSANALYSIS_DATA_DIR and MPSANALYSIS_REPORTS_DIR, so tests never
touch the checkout's data/ or reports/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mpsanalysis import paths

OLD_HEADER = "Borough,Major Category,Minor Category"
NEW_HEADER = "MajorText,MinorText,LookUp_BoroughName"


def write_csv(folder: Path, name: str, text: str) -> Path:
    """Write a small hand-made CSV and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def tmp_csv(tmp_path):
    """Factory: tmp_csv(name, text) -> path of a hand-made CSV."""
    return lambda name, text: write_csv(tmp_path, name, text)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real published data beside the checkout (skip when it is not there)."""
    mirror = paths.default_mirror()
    if mirror is None or not (mirror / "london-datastore" / "borough-crime").is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return mirror


#: The newest borough crime release in ../shared/data (Jan 2024 to Dec 2025, wide).
NEWEST_RELEASE = "MPS_Borough_Level_Crime_recent24m_202401-202512.csv"


@pytest.fixture(scope="session")
def newest_release(shared_data):
    """The newest borough crime release as published, read with pandas alone (one column
    per month, YYYYMM): expected values for tests, independent of the package's loaders.
    Each test gets its own copy."""
    import pandas as pd

    frame = pd.read_csv(shared_data / "london-datastore" / "borough-crime" / NEWEST_RELEASE)
    return lambda: frame.copy()


@pytest.fixture(scope="session")
def real_store(tmp_path_factory, shared_data):
    """A data folder with the real raw files fetched and the borough store built.

    Sets MPSANALYSIS_DATA_DIR and MPSANALYSIS_REPORTS_DIR for the whole session, so the
    notebook kernels the runner starts see the same folders.
    """
    from mpsanalysis.ingest import build, fetch

    root = tmp_path_factory.mktemp("mps")
    data, reports = root / "data", root / "reports"
    saved = {k: os.environ.get(k) for k in ("MPSANALYSIS_DATA_DIR", "MPSANALYSIS_REPORTS_DIR")}
    os.environ["MPSANALYSIS_DATA_DIR"] = str(data)
    os.environ["MPSANALYSIS_REPORTS_DIR"] = str(reports)
    fetch.fetch_from_mirror(shared_data, data / "raw")
    build.build_store(data / "raw", data / "processed", include_sources=True)
    yield {"data": data, "raw": data / "raw", "processed": data / "processed", "reports": reports}
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


#: Debian's Chromium, which .ci/run installs, and the flags every browser test starts it
#: with (Playwright adds --headless; the machine's closed network refuses the rest).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium_browser():
    """Headless Chromium driven by Playwright (skipped, with the reason, where it is not
    installed)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium is not installed at /usr/bin/chromium "
            "(CI installs the Debian 'chromium' package; see .ci/run)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
