"""End to end on the real data: the report's figures against an independent pandas
computation on the raw files, and every notebook executed with its default parameters."""

import json
import re

import pandas as pd
import pytest

from mpsanalysis.report.export import ANALYST_MIMETYPE
from mpsanalysis.run import runner

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

OLD_FILE = "MPS_Borough_Level_Crime_Historic_200801-201612_oldclass.csv"


def _independent_fytd(raw_folder, major, minors=None):
    """Apr-Oct 2010 and Apr-Oct 2009, London, old classification, straight from the CSV."""
    raw = pd.read_csv(raw_folder / OLD_FILE)
    rows = raw[raw["Major Category"] == major]
    if minors:
        rows = rows[rows["Minor Category"].isin(minors)]
    now = [f"2010{m:02d}" for m in range(4, 11)]
    before = [f"2009{m:02d}" for m in range(4, 11)]
    return int(rows[now].to_numpy().sum()), int(rows[before].to_numpy().sum())


def _headline_cells(html, measure_title):
    match = re.search(
        rf'<th scope="row">{re.escape(measure_title)}</th><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>',
        html,
    )
    assert match, f"no headline row for {measure_title}"
    return match.group(1), match.group(2)


@pytest.fixture(scope="module")
def default_run(real_store):
    """Every objective notebook, London, 2010-10 (the notebooks' default parameters)."""
    plan = runner.plan_run(period_end="2010-10")
    outcome = runner.execute_plan(plan, workers=2)
    return outcome


def test_every_notebook_runs_with_default_parameters(default_run):
    failed = [r.error for r in default_run.results if not r.ok]
    assert not failed, failed
    assert len(default_run.results) == 9
    index = (default_run.plan.output_dir / "index.html").read_text()
    for result in default_run.results:
        assert (default_run.plan.output_dir / f"{result.job.stem}.html").exists()
        assert f'href="{result.job.stem}.html"' in index


def test_serious_violence_figures_match_the_raw_files(default_run, real_store):
    html = (default_run.plan.output_dir / "serious-violence.html").read_text()
    folder = real_store["raw"] / "london-datastore" / "borough-crime"
    cases = {
        "Violence against the person": ("Violence Against the Person", None),
        "Violence with injury": (
            "Violence Against the Person",
            ["Assault with Injury", "Wounding/GBH", "Grievous Bodily Harm"],
        ),
        "Homicide": ("Violence Against the Person", ["Murder"]),
        "Robbery of personal property": ("Robbery", ["Personal Property"]),
    }
    for title, (major, minors) in cases.items():
        now, before = _independent_fytd(folder, major, minors)
        assert _headline_cells(html, title) == (f"{now:,}", f"{before:,}"), title
    # The knife measure exists only in the new classification, which starts in April
    # 2010: the report must say there is no comparison, not invent one.
    assert "No single crime classification covers both" in html


def test_extract_measures_without_data_say_what_to_supply(default_run):
    """The page says the figure is not shown and why; what to supply is for the analyst,
    in the executed notebook (an output the HTML export leaves out), not the page."""
    html = (default_run.plan.output_dir / "criminal-networks.html").read_text()
    assert "data not supplied" in html
    assert "Not shown: this figure comes from an internal MPS extract" in html
    assert "criminal_network_disruptions" not in html and "add rows" not in html
    assert "SYNTHETIC" not in html
    notebook = json.loads((default_run.plan.output_dir / "criminal-networks.ipynb").read_text())
    notes = [
        output["data"][ANALYST_MIMETYPE]
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if ANALYST_MIMETYPE in output.get("data", {})
    ]
    assert any(
        "add rows with measure 'criminal_network_disruptions'" in note
        for found in notes
        for note in found["notes"]
    )


def test_sample_extract_reports_say_synthetic_on_every_page(real_store):
    plan = runner.plan_run(
        period_end="2010-10", objectives=["criminal-networks"], extracts="sample"
    )
    outcome = runner.execute_plan(plan, workers=1)
    assert outcome.ok
    html = (plan.output_dir / "criminal-networks.html").read_text()
    # A fixed stamp (repeated on every printed page) and a banner, and each figure marked.
    assert '<div class="synthetic-stamp" role="note">SYNTHETIC DATA</div>' in html
    assert "Criminal network disruptions (S)" in html
    index = (plan.output_dir / "index.html").read_text()
    assert "SYNTHETIC DATA" in index
    manifest = json.loads((plan.output_dir / "manifest.json").read_text())
    entry = next(r for r in manifest["reports"] if r["objective_id"] == "criminal-networks")
    assert entry["synthetic"] is True and entry["extracts"] == "sample"


def test_the_start_here_notebook_runs_with_default_parameters(real_store, tmp_path):
    """The analysts' guided notebook runs like the objective notebooks (it is not a report,
    so the runner never publishes it)."""
    import nbformat
    import papermill

    from mpsanalysis import paths
    from mpsanalysis.run import engine

    notebook = paths.notebooks_dir() / "00_start-here.ipynb"
    with pytest.raises(runner.ParameterError, match="start-here"):
        runner.plan_run(period_end="2016-12", objectives=["start-here"])  # not an objective
    assert all("00_start-here" not in job.notebook for job in runner.plan_run("2016-12").jobs)
    out = tmp_path / "start-here.ipynb"
    # A fresh kernel with Jupyter's inline backend, as in JupyterLab (report kernels draw
    # with Agg and show nothing by themselves).
    nb = papermill.execute_notebook(
        str(notebook), str(out), kernel_name="python3", cwd=str(notebook.parent),
        progress_bar=False, kernel_manager_class=engine.kernel_manager_class(),
    )  # fmt: skip
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert re.search(r"Robbery, Lambeth: [\d,]+ in Apr 2016 to Dec 2016 against [\d,]+", text), text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the custom chart and the restyled report figure
    assert nbformat.validate(nb) is None
