"""Export an executed objective notebook to the published, self-contained HTML page.

The house nbconvert template (``templates/mpsreport``) leaves code and prompts out; this
module adds the contents list, the provenance footer and the checks that the page
fetches nothing from outside itself. It reads a job through :class:`ReportJob`, so it
needs nothing from the run layer above it.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
from pathlib import Path
from typing import Any, Protocol

from mpsanalysis import __version__
from mpsanalysis.errors import NotebookRunError
from mpsanalysis.measures import catalogue

__all__ = [
    "ANALYST_MIMETYPE",
    "SUMMARY_MIMETYPE",
    "ReportJob",
    "export_html",
    "html_exporter",
    "summary_from",
    "table_of_contents",
]

#: The mimetype of the machine-readable summary a report displays for the index page.
SUMMARY_MIMETYPE = "application/vnd.mpsanalysis.summary+json"
#: Marks a notebook output meant for the analyst only (what to do to fill a gap, such as
#: the extract rows to add): JupyterLab shows its HTML, the published page leaves it out.
ANALYST_MIMETYPE = "application/vnd.mpsanalysis.analyst+json"
_TEMPLATES = Path(__file__).with_name("templates")


class ReportJob(Protocol):
    """What the export needs to know of a job (see :class:`mpsanalysis.run.jobs.Job`)."""

    @property
    def objective_id(self) -> str: ...

    @property
    def notebook(self) -> str: ...

    @property
    def geography(self) -> str: ...

    @property
    def period_end(self) -> str: ...

    @property
    def extracts(self) -> str: ...

    @property
    def provisional(self) -> bool: ...

    @property
    def stem(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]: ...


def _report_css() -> str:
    return (_TEMPLATES / "mpsreport" / "report.css").read_text(encoding="utf-8")


def table_of_contents(nb) -> list[dict]:
    """The contents list: every ``##`` heading of the markdown cells, in order.

    Each item has the heading's text (``title``), the id nbconvert gives it in the HTML
    (``anchor``, computed by nbconvert's own markdown filter, so the link always matches)
    and the index of its cell (``cell``).

    Raises
    ------
    NotebookRunError
        A heading that nbconvert cannot give an id to (it contains raw HTML).
    """
    import html as _html

    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    items = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or not re.search(r"^##\s", cell.source, re.M):
            continue
        rendered = markdown2html_mistune(cell.source)
        for match in re.finditer(r"<h2(?: id=\"([^\"]*)\")?>(.*?)</h2>", rendered, re.S):
            anchor, inner = match.groups()
            inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)
            title = _html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
            if anchor is None:
                raise NotebookRunError(
                    f"heading {title!r} in cell {index} has markup nbconvert cannot give an "
                    "id to: write it as plain text so the contents can link to it"
                )
            items.append({"title": title, "anchor": _html.unescape(anchor), "cell": index})
    return items


def _run_for(parameters: dict) -> str:
    """The notebook's parameters in words for the footer (the exact values are in the
    run record, ``manifest.json``); a parameter without words of its own is shown as
    ``name = value``.

    Examples
    --------
    >>> _run_for({"period_end": "2010-10", "geography": "Lambeth", "extracts": "",
    ...           "provisional": False})
    'the period ending October 2010, Lambeth, final data'
    >>> _run_for({"period_end": "2025-12", "geography": "London", "extracts": "sample",
    ...           "provisional": True, "evaluation_start": "2024-04"})
    "the period ending December 2025, London, provisional data, evaluation_start = '2024-04'"
    """
    words = []
    for name, value in parameters.items():
        if name == "period_end":
            year, month = str(value).split("-")[:2]
            ending = datetime.date(int(year), int(month), 1).strftime("%B %Y")
            words.append(f"the period ending {ending}")
        elif name == "geography":
            words.append(str(value))
        elif name == "provisional":
            words.append("provisional data" if value else "final data")
        elif name != "extracts":  # its own line, "Internal extracts"
            words.append(f"{name} = {value!r}")
    return ", ".join(words)


def _footer_html(job: ReportJob, checksums: dict[str, dict], commit: str) -> str:
    """The provenance footer: software and commit, notebook, parameters, the internal
    extract and every published data file read, with full SHA-256 checksums (a reviewer
    can check a copy with ``sha256sum``). File names only: no local paths."""

    from mpsanalysis.ingest import extracts as _extracts
    from mpsanalysis.ingest.fetch import sha256_file
    from mpsanalysis.report.html import escape, table_html

    data_rows = [
        [Path(k).name, "London Datastore: MPS recorded crime by borough", v["sha256"]]
        for k, v in sorted(checksums.items())
        if k.startswith("london-datastore/borough-crime/") and k.endswith(".csv")
    ]
    source = job.extracts
    if source == "sample":
        files = [_extracts.sample_extract_path()]
        extract_label = "the SYNTHETIC sample extract shipped with mpsanalysis"
    elif source:
        chosen = Path(source)
        files = sorted(chosen.glob("*.csv")) if chosen.is_dir() else [chosen]
        extract_label = f"{chosen.name} (supplied for this run)"
    else:
        folder = _extracts.extracts_dir()
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        n = sum(1 for path in files if path.is_file())
        extract_label = (
            f"{n} file{'s' if n != 1 else ''} from the MPS extracts folder (listed below)"
            if n
            else "none provided"
        )
    for path in files:
        if path.is_file():
            data_rows.append([path.name, "Internal extract", sha256_file(path)])
    meta = [
        ("Produced by", f"mpsanalysis {escape(__version__)}"),
        ("Git commit", f"<code>{escape(commit)}</code>"),
        ("Notebook", f"<code>{escape(Path(job.notebook).name)}</code>"),
        ("Run for", escape(_run_for(job.parameters))),
        ("Internal extracts", escape(extract_label)),
        (
            "Methods",
            "every statistic, its formula and its source are described in the "
            "project's <code>docs/methodology.md</code>; disclosure control in "
            "<code>docs/reports.md</code>",
        ),
        (
            "Run record",
            "<code>manifest.json</code> beside this report lists every input "
            "file, its checksum and the package versions",
        ),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in meta)
    table = table_html(
        ["Data file", "Source", "SHA-256 checksum"],
        [[name, src, f"<code>{escape(digest)}</code>"] for name, src, digest in data_rows],
        "Data files read (published files: London Datastore, Open Government Licence)",
        raw_columns=(2,),
        classes="data-table provenance-files",
    )
    return f'<dl class="provenance-meta">{items}</dl>{table}'


_EXPORTERS = threading.local()


def html_exporter():
    """This thread's HTML exporter with the house template, built on first use.

    Building an ``HTMLExporter`` loads and compiles its Jinja templates (0.23 s against
    0.06 s for an export with a built one), so each worker builds it once. One per
    thread, because Dask workers export from several threads at once.
    """
    exporter = getattr(_EXPORTERS, "exporter", None)
    if exporter is None:
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name="mpsreport",
            extra_template_basedirs=[str(_TEMPLATES)],
        )
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
        exporter.anchor_link_text = ""
        # nbconvert validates the notebook against its schema after each of its 12
        # preprocessors by default; once, after the last, gives the same page and the
        # same error for an invalid notebook, in half the export time of a long report.
        exporter.optimistic_validation = True
        _EXPORTERS.exporter = exporter
    return exporter


def export_html(
    nb, job: ReportJob, checksums: dict[str, dict], commit: str, synthetic: bool
) -> str:
    """Export an executed notebook to self-contained HTML with the house template.

    Code, prompts, stderr, the machine-readable summary and the analysts' own notes
    (outputs marked :data:`ANALYST_MIMETYPE`) are left out; the contents
    list is built from the ``##`` headings; the provenance footer is added. The finished
    page is checked for anything that would fetch from outside it (scripts, stylesheets,
    fonts, images not embedded): finding one is an error, never a silent fix.

    Raises
    ------
    NotebookRunError
        The page is not self-contained, or a heading cannot be linked from the contents.
    """
    page = _exported(nb, job, checksums, commit, synthetic, images_aside=True)
    if page is None:  # an image's token was not found once: export with the images in
        page = _exported(nb, job, checksums, commit, synthetic, images_aside=False)
    assert page is not None  # only a page whose images were set aside can be None
    return page


def _exported(
    nb,
    job: ReportJob,
    checksums: dict[str, dict],
    commit: str,
    synthetic: bool,
    images_aside: bool,
) -> str | None:
    """:func:`export_html`, with the images' data set aside while nbconvert works
    (:func:`_set_images_aside`) when ``images_aside``; ``None`` when they cannot be put
    back exactly."""
    import copy

    from mpsanalysis.report.html import (
        CONTENT_SECURITY_POLICY,
        css_string,
        find_external_references,
    )

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            o
            for o in cell.outputs
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            and SUMMARY_MIMETYPE not in o.get("data", {})
            and ANALYST_MIMETYPE not in o.get("data", {})
        ]
    exporter = html_exporter()
    objective = catalogue.get_objective(job.objective_id)
    title = f"{objective.title} — {job.geography} — {job.period_end}"
    nb.metadata["title"] = title
    toc = table_of_contents(nb)
    resources = {
        "report_css": _report_css(),
        "report_csp": CONTENT_SECURITY_POLICY,
        "report_print_title": css_string(title),
        "report_toc": toc,
        "report_toc_at": toc[0]["cell"] if toc else -1,
        "report_footer": _footer_html(job, checksums, commit),
        "report_synthetic": synthetic,
        "report_provisional": job.provisional,
        "report_index_link": True,
        "metadata": {"name": job.stem},
    }
    payloads, nonce = _set_images_aside(nb) if images_aside else ([], "")
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    problems = find_external_references(body)
    if problems:
        raise NotebookRunError(
            f"the report would fetch from outside itself: {'; '.join(problems[:5])}"
        )
    return _images_put_back(body, payloads, nonce) if payloads else body


#: The base64 data of an embedded image (``data:image/...;base64,``), in HTML outputs.
_IMAGE_DATA = re.compile(r"(data:image/[a-z0-9.+-]+;base64,)([A-Za-z0-9+/]+={0,2})")


def _set_images_aside(nb) -> tuple[list[str], str]:
    """Replace the base64 data of every embedded image in the notebook's HTML outputs
    with a short token, in place; return the data, in token order, and the tokens'
    nonce.

    nbconvert's HTML exporter parses and writes out the whole page with BeautifulSoup
    (to give images alt text and cells tab stops), and the images' data were most of
    what it parsed: about two thirds of a chart-heavy page's export. Base64 data and
    the tokens are made only of characters that neither the parser nor the writer
    changes anywhere in a page (no ``&``, ``<``, ``>`` or quotes), so the page with
    the data put back is byte for byte the page exported with them.
    """
    import uuid

    nonce = uuid.uuid4().hex
    payloads: list[str] = []

    def aside(match: re.Match) -> str:
        payloads.append(match.group(2))
        return f"{match.group(1)}mpsanalysis-image-{nonce}-{len(payloads) - 1}"

    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            html = data.get("text/html")
            if isinstance(html, list):
                html = "".join(html)
            if isinstance(html, str) and "base64," in html:
                data["text/html"] = _IMAGE_DATA.sub(aside, html)
    return payloads, nonce


def _images_put_back(body: str, payloads: list[str], nonce: str) -> str | None:
    """The page with each token replaced by its image data, or ``None`` when a token is
    not in the page exactly once (nothing is then guessed: the caller exports again)."""
    token = re.compile(f"mpsanalysis-image-{nonce}-([0-9]+)")
    found = [int(index) for index in token.findall(body)]
    if sorted(found) != list(range(len(payloads))):
        return None
    return token.sub(lambda match: payloads[int(match.group(1))], body)


def summary_from(nb) -> dict | None:
    """The report's machine-readable summary, as plain JSON types.

    Plain types, not nbformat's ``NotebookNode``: a result sent back from a worker
    process is unpickled in the main process, and a ``NotebookNode`` inside it would
    make that process import nbformat there and then (over a second, during which the
    pool hands out no work).
    """
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIMETYPE in data:
                return json.loads(json.dumps(data[SUMMARY_MIMETYPE]))
    return None
