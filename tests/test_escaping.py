"""Markup in the data is shown as text, never run: from the HTML helpers to a report in
a browser.

What text from outside the code reaches a report: objective, plan, lead, measure titles
and notes from the objective catalogue (YAML an analyst edits); the name of an extract
file (in the footer); ward names from the London Datastore ward files (ward table);
error messages quoting a bad input (index page); and summary figures and measure names
(index page). Each is tried here with ``<script>`` and friends. Borough names, months
and extract measure names are validated against fixed lists before they get near a
report, so they cannot carry markup.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from mpsanalysis.ingest import extracts
from mpsanalysis.measures import catalogue
from mpsanalysis.report import export
from mpsanalysis.report import html as h
from mpsanalysis.report.html import ward_table_html
from mpsanalysis.report.index import render_index
from mpsanalysis.run import jobs, runner

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
PAYLOADS = [SCRIPT, IMG, '"><svg onload=alert(3)>', "</table></p><b>bold</b>", "&lt;"]


class Elements(HTMLParser):
    """Tags and attributes of a page, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def names(self) -> set[str]:
        return {t for t, _ in self.tags}

    def handlers(self) -> list[str]:
        return [k for _, a in self.tags for k in a if k.startswith("on")]


def assert_inert(page: str, *texts: str) -> None:
    """No element or event handler came from the payloads, and each text reads as is."""
    elements = Elements(page)
    assert not {"script", "svg", "iframe", "object", "embed"} & elements.names()
    assert not [a for t, a in elements.tags if t == "img" and a.get("src") == "x"]
    assert not [t for t, _ in elements.tags if t == "b" and "bold" in "".join(elements.text)]
    assert elements.handlers() == []
    text = "".join(elements.text)
    for expected in texts:
        assert expected in text, f"{expected!r} is not shown as text"


# ----------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("payload", PAYLOADS)
def test_table_html_escapes_header_caption_and_cells(payload):
    page = h.table_html([payload, "n"], [[payload, payload]], payload)
    assert_inert(page, payload)
    assert Elements(page).text.count(payload) == 4


@pytest.mark.parametrize("payload", PAYLOADS)
def test_figure_html_escapes_alt_and_caption(payload):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    page = h.figure_html(fig, f"alt {payload}", f"caption {payload}")
    assert_inert(page, f"caption {payload}")
    (img,) = [a for t, a in Elements(page).tags if t == "img"]
    assert img["alt"] == f"alt {payload}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_callout_and_status_escape(payload):
    assert_inert(h.callout_html(payload, "warning"), payload)
    assert_inert(h.status_html(payload), payload)
    assert 'class="status status-' in h.status_html('a" onclick="x')
    assert "onclick" not in Elements(h.status_html('a" onclick="x')).handlers()


def test_ward_names_are_escaped():
    counts = pd.DataFrame({"Ward": [SCRIPT, IMG], "Robbery": [40, 30]})
    assert_inert(ward_table_html(counts, f"Robbery by ward {SCRIPT}"), SCRIPT, IMG)


class _Plan:
    period_end = "2010-10"
    label = "2010-10"
    provisional = False


class _Result:
    def __init__(self, job, ok, summary=None, error=""):
        self.job, self.ok, self.summary, self.error, self.synthetic = (
            job,
            ok,
            summary,
            error,
            False,
        )


def test_index_escapes_figures_measures_and_errors(tmp_path):
    def job(objective):
        return jobs.Job(
            objective, str(tmp_path / f"01_{objective}.ipynb"), "London", "2010-10", "", False
        )

    summary = {
        "measures": [
            {
                "measure": SCRIPT,
                "figure": IMG,
                "change": PAYLOADS[2],
                "status": PAYLOADS[3],
                "synthetic": False,
            }
        ]
    }
    error = f"robbery (London): cell 2: DataValidationError: unknown geography {SCRIPT!r}"
    page = render_index(
        _Plan(),
        [
            _Result(job("serious-violence"), True, summary),
            _Result(job("robbery"), False, error=error),
        ],
    )
    assert_inert(page, SCRIPT, IMG, PAYLOADS[2], error)


def test_policy_forbids_scripts_in_every_page(tmp_path):
    job = jobs.Job("robbery", str(tmp_path / "08_robbery.ipynb"), "London", "2010-10", "", False)
    pages = [
        export.export_html(nbformat.v4.new_notebook(), job, {}, "c", False),
        render_index(_Plan(), []),
    ]
    for page in pages:
        (meta,) = [
            a
            for t, a in Elements(page).tags
            if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
        ]
        directives = {d.split()[0]: d.split()[1:] for d in meta["content"].split(";") if d.strip()}
        assert directives["script-src"] == ["'none'"]
        assert directives["default-src"] == ["'none'"]
        assert page.index("Content-Security-Policy") < page.index("<body")


# ----------------------------------------------------------------------------- report


def _crafted_catalogue(folder: Path) -> Path:
    """The real catalogue with markup in the serious-violence objective's free text."""
    data = yaml.safe_load(catalogue.CATALOGUE_PATH.read_text(encoding="utf-8"))
    (objective,) = [o for o in data["objectives"] if o["id"] == "serious-violence"]
    objective["title"] = f"Reduce {SCRIPT} violence"
    objective["plan"] = "</dd><b>bold</b> plan"
    objective["lead"] = IMG
    objective["measures"][0]["title"] = f"{SCRIPT} against the person"
    objective["measures"][0]["notes"] = f"Note with {IMG} and {PAYLOADS[2]}"
    path = folder / "objectives.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


SHOWN = [f"Reduce {SCRIPT} violence", f"{SCRIPT} against the person", IMG, PAYLOADS[2]]


def _sections(report) -> list[str]:
    from mpsanalysis.report.objective import CORE_SECTIONS

    return [report.html(name) for name in ("header", *CORE_SECTIONS)]


@pytest.fixture
def crafted(real_store, tmp_path, monkeypatch) -> Path:
    path = _crafted_catalogue(tmp_path)
    monkeypatch.setattr(catalogue, "CATALOGUE_PATH", path)
    return path


@pytest.mark.realdata
def test_report_sections_show_catalogue_markup_as_text(crafted):
    from mpsanalysis.report.objective import ObjectiveReport

    report = ObjectiveReport("serious-violence", "2010-10", "London", "sample")
    sections = _sections(report)
    assert len(sections) >= 6
    page = "".join(sections)
    assert_inert(page, *SHOWN)


@pytest.mark.realdata
def test_exported_report_shows_catalogue_markup_as_text(crafted, tmp_path):
    from mpsanalysis.report.objective import ObjectiveReport

    report = ObjectiveReport("serious-violence", "2010-10", "London", "sample")
    nb = nbformat.v4.new_notebook()
    for section in (report.html("header"), report.html("headline"), report.html("notes")):
        cell = nbformat.v4.new_code_cell("report.show(...)")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": section})]
        nb.cells += [nbformat.v4.new_markdown_cell("## Section"), cell]
    job = jobs.Job(
        "serious-violence",
        str(tmp_path / "01_serious-violence.ipynb"),
        "London",
        "2010-10",
        "sample",
        False,
    )
    page = export.export_html(nb, job, {}, "c", False)
    assert_inert(page, *SHOWN)
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<script" not in title and "&lt;script&gt;" in title
    assert "</style" not in page.split("<style", 1)[1].split("</style>", 1)[0]


# ----------------------------------------------------------------------------- end to end


def _notebook(path: Path, catalogue_path: Path) -> None:
    """An objective notebook that points the kernel at the crafted catalogue."""
    real = nbformat.read(runner.find_notebook("serious-violence"), as_version=4)
    patch = nbformat.v4.new_code_cell(
        "from pathlib import Path\nfrom mpsanalysis.measures import catalogue\n"
        f"catalogue.CATALOGUE_PATH = Path({str(catalogue_path)!r})"
    )
    restore = nbformat.v4.new_code_cell(
        f"catalogue.CATALOGUE_PATH = Path({str(catalogue.CATALOGUE_PATH)!r})"
    )
    real.cells = [real.cells[0], patch, *real.cells[1:], restore]
    nbformat.write(real, path)


@pytest.mark.slow
@pytest.mark.realdata
def test_markup_from_catalogue_and_file_names_is_inert_end_to_end(
    real_store, tmp_path, monkeypatch
):
    """A notebook run in a kernel with the crafted catalogue and an extract whose file
    name is markup: the HTML shows both as text, and a browser runs nothing."""
    monkeypatch.setenv("MPSANALYSIS_ENGINE", "papermill")  # a fresh kernel, used once
    crafted_path = _crafted_catalogue(tmp_path)
    monkeypatch.setattr(catalogue, "CATALOGUE_PATH", crafted_path)
    notebook = tmp_path / "notebooks" / "01_serious-violence.ipynb"
    notebook.parent.mkdir()
    _notebook(notebook, crafted_path)
    extract = tmp_path / f"{IMG} synthetic.csv"
    shutil.copy(extracts.sample_extract_path(), extract)
    job = jobs.Job("serious-violence", str(notebook), "London", "2010-10", str(extract), False)
    staging = tmp_path / "staging"
    staging.mkdir()
    result = runner.execute_job(job, str(staging), {}, "c")
    assert result.ok, result.error
    page = (staging / f"{job.stem}.html").read_text(encoding="utf-8")
    assert_inert(page, *SHOWN, f"{IMG} synthetic.csv")

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium: HTML checked, browser not")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            web = browser.new_page()
            dialogs, requests = [], []
            web.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            web.on("request", lambda r: requests.append(r.url))
            web.goto((staging / f"{job.stem}.html").as_uri())
            text = web.inner_text("body")
            assert dialogs == []
            assert web.evaluate("() => document.scripts.length") == 0
            assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
            for shown in SHOWN:
                assert shown in text
        finally:
            browser.close()
