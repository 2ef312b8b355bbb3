"""HTML building blocks, the report template and the index page, without a kernel.

The template tests export hand-made executed notebooks (outputs written here, as a
kernel would) with :func:`mpsanalysis.report.export.export_html`, so they run in a second and
check what every report gets: no scripts or fetches, the policy, contents links that
match the heading ids, code hidden, the stamps and the provenance footer.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from mpsanalysis.ingest import extracts
from mpsanalysis.report import export
from mpsanalysis.report import html as h
from mpsanalysis.report.index import render_index
from mpsanalysis.run import jobs

# ----------------------------------------------------------------------------- helpers


class Page(HTMLParser):
    """Elements of a page: tags with attributes, ids, text, <style> contents."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._skip = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]

    @property
    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if "id" in a}

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


# ----------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "value, expected",
    [
        (18_500_000, "£18.5m"),
        (250_000, "£250,000"),
        (-11_600_000, "−£11.6m"),
        (-431_000, "−£431,000"),
        (0, "£0"),
        (-0.4, "£0"),
        (float("nan"), "n/a"),
    ],
)
def test_format_money(value, expected):
    assert h.format_money(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [(1_200_000, "+£1.2m"), (-431_000, "−£431,000"), (0, "£0"), (None, "n/a")],
)
def test_format_money_change(value, expected):
    assert h.format_money_change(value) == expected


# ----------------------------------------------------------------------------- tables


def test_table_html_has_caption_column_and_row_headers():
    page = Page(h.table_html(["Borough", "Offences"], [["Camden", "1,204"]], "Offences"))
    assert page.all("caption") == [{}]
    assert [a["scope"] for a in page.all("th")] == ["col", "col", "row"]


def test_table_html_right_aligns_only_figure_columns():
    text = h.table_html(
        ["Measure", "FYTD", "Change", "Target", "Money"],
        [
            ["Robbery", "18,506", "+1,098 (+6.3%)", "none", "−£11.6m"],
            ["Knife", "1,149", "n/a", "at least 225 in the year", "£0"],
            ["Wards", "[c]", "−34 (−3.4%)", "none", "£16.6m"],
        ],
        "Headline",
    )
    header = re.findall(r'<th scope="col"( class="num")?>([^<]+)</th>', text)
    assert {name for cls, name in header if cls} == {"FYTD", "Change", "Money"}
    assert '<td class="num">[c]</td>' in text
    assert "<td>at least 225 in the year</td>" in text


def test_table_html_leaves_raw_columns_unescaped_and_unaligned():
    cell = h.status_html("on track")
    text = h.table_html(["Measure", "Status"], [["A", cell]], "T", raw_columns=(1,))
    assert f"<td>{cell}</td>" in text


# ----------------------------------------------------------------------------- figures


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([1, 2, 3], [3, 1, 2], marker="o")
    return fig


def test_figure_html_embeds_a_compressed_png_at_screen_size(monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_CHART_FORMAT", "png")
    raw = io.BytesIO()
    fig = _figure()
    fig.savefig(raw, format="png", dpi=144, bbox_inches="tight")
    text = h.figure_html(fig, "Counts fell in two of three months.", "Test chart. Source: test.")
    src = re.search(r'src="data:image/png;base64,([^"]+)"', text).group(1)
    data = base64.b64decode(src)
    width, height = png_size(data)
    assert data[25] == 3, "a 256-colour palette PNG (colour type 3)"
    assert len(data) < len(raw.getvalue())
    shown = re.search(r'width="(\d+)" height="(\d+)"', text).groups()
    assert (int(shown[0]), int(shown[1])) == (round(width * 96 / 144), round(height * 96 / 144))
    assert 'alt="Counts fell in two of three months."' in text
    assert "<figcaption>Test chart. Source: test.</figcaption>" in text


def _svg_of(text: str) -> str:
    src = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', text)
    assert src, "the chart is an SVG data URI"
    return base64.b64decode(src.group(1)).decode("utf-8")


def test_figure_html_embeds_a_line_chart_as_svg_at_screen_size(monkeypatch):
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    text = h.figure_html(_figure(), "Counts fell in two of three months.", "Test chart.")
    svg = _svg_of(text)
    # The SVG's size is in points (1/72 inch); the page shows it at 96 px an inch.
    width_pt = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', svg).group(1))
    height_pt = float(re.search(r'<svg[^>]* height="([\d.]+)pt"', svg).group(1))
    shown = re.search(r'width="(\d+)" height="(\d+)" alt=', text).groups()
    assert (int(shown[0]), int(shown[1])) == (round(width_pt * 4 / 3), round(height_pt * 4 / 3))
    # A 6 x 3 inch figure cropped to its tight box: a little smaller than 576 x 288 px.
    assert 450 < int(shown[0]) < 576 and 200 < int(shown[1]) < 288
    assert 'alt="Counts fell in two of three months."' in text
    # Vector shapes, text drawn as glyph paths (no font needed), nothing dated, nothing
    # fetched: no href outside the SVG itself, no <image>, no <script>.
    assert "<path" in svg and "<text" not in svg
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert re.findall(r'href="(?!#)[^"]*"', svg) == []
    assert "<image" not in svg and "<script" not in svg
    assert h.find_external_references(text) == []


def test_figure_html_svg_is_the_same_bytes_every_time(monkeypatch):
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    h.forget_drawn_charts()
    first = h.figure_html(_figure(), "a", "b")
    h.forget_drawn_charts()  # drawn again, not taken from the charts already drawn
    second = h.figure_html(_figure(), "a", "b")
    assert first == second


def _counting_draws(monkeypatch) -> list:
    """Record every real drawing :func:`figure_html` makes."""
    calls: list = []
    real = h._draw

    def draw(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(h, "_draw", draw)
    h.forget_drawn_charts()
    return calls


@pytest.mark.parametrize("chart_format", ["svg", "png"])
def test_the_same_chart_is_drawn_once_and_its_html_reused_byte_for_byte(monkeypatch, chart_format):
    monkeypatch.setenv("MPSANALYSIS_CHART_FORMAT", chart_format)
    draws = _counting_draws(monkeypatch)
    keys = []
    real_key = h._drawing_key
    monkeypatch.setattr(h, "_drawing_key", lambda *a: keys.append(1) or real_key(*a))
    first = h.figure_html(_figure(), "Counts fell.", "Test chart.")
    assert keys == []  # words not seen before: the chart cannot be kept, so no key
    second = h.figure_html(_figure(), "Counts fell.", "Test chart.")  # a new, equal figure
    third = h.figure_html(_figure(), "Counts fell.", "Test chart.")
    assert draws == ["Counts fell.", "Counts fell."]  # the second is keyed and kept
    assert len(keys) == 2
    assert second == first and third == first
    h.forget_drawn_charts()
    assert h.figure_html(_figure(), "Counts fell.", "Test chart.") == first  # a fresh drawing
    assert len(draws) == 3


def test_a_chart_that_differs_in_anything_drawn_is_drawn_again(monkeypatch):
    import matplotlib

    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    draws = _counting_draws(monkeypatch)
    base = h.figure_html(_figure(), "a", "b")
    assert h.figure_html(_figure(), "a", "b") == base  # now kept
    changed_data = _figure()
    changed_data.axes[0].lines[0].set_ydata([5, 4, 2])
    pages = [
        h.figure_html(changed_data, "a", "b"),  # one data point
        h.figure_html(_figure(), "another message", "b"),  # the alt text
        h.figure_html(_figure(), "a", "another caption"),  # the caption
    ]
    with matplotlib.rc_context({"axes.edgecolor": "red"}):  # a setting read when drawing
        pages.append(h.figure_html(_figure(), "a", "b"))
    assert len(draws) == 6
    assert all(page != base for page in pages)
    assert len(set(pages)) == 4


def test_a_map_is_keyed_through_geopandas_local_collection_class(monkeypatch):
    import geopandas as gpd
    import matplotlib.pyplot as plt
    from shapely.geometry import box

    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    draws = _counting_draws(monkeypatch)

    def a_map(value: float):
        frame = gpd.GeoDataFrame(
            {"rate": [1.0, value, 10.0]},
            geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        )
        fig, ax = plt.subplots(figsize=(3, 2))
        frame.plot(column="rate", ax=ax)  # a collection of a class local to geopandas
        assert "<locals>" in type(ax.collections[0]).__qualname__
        return fig

    first = h.figure_html(a_map(2.0), "a map", "b")
    assert h.figure_html(a_map(2.0), "a map", "b") == first  # keyed and kept
    assert h.figure_html(a_map(2.0), "a map", "b") == first  # reused
    assert h.figure_html(a_map(5.0), "a map", "b") != first  # the middle box's colour
    assert len(draws) == 3


def test_a_local_class_with_methods_of_its_own_is_never_keyed(monkeypatch):
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    draws = _counting_draws(monkeypatch)

    def chart(width: float):
        class Wide(Line2D):  # its drawing depends on the call that defined it
            def get_linewidth(self):
                return width

        fig, ax = plt.subplots(figsize=(3, 2))
        ax.add_line(Wide([0, 1], [0, 1]))
        return fig

    h.figure_html(chart(1.0), "a", "b")
    h.figure_html(chart(5.0), "a", "b")
    assert len(draws) == 2


def test_a_figure_that_cannot_be_pickled_is_drawn_every_time(monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    draws = _counting_draws(monkeypatch)

    def unpicklable():
        fig = _figure()
        fig.axes[0].yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0f}"))
        return fig

    first = h.figure_html(unpicklable(), "a", "b")
    second = h.figure_html(unpicklable(), "a", "b")
    assert len(draws) == 2 and first == second


def test_figure_html_keeps_a_figure_with_many_shapes_as_png(monkeypatch):
    import matplotlib.pyplot as plt
    import numpy as np

    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    fig, ax = plt.subplots(figsize=(4, 4))
    angles = np.linspace(0, 2 * np.pi, 3000)  # one polygon of 3,000 vertices, like a map
    ax.fill(np.cos(angles), np.sin(angles))
    ax.add_collection(
        __import__("matplotlib.collections").collections.PolyCollection(
            [np.column_stack([np.cos(angles), np.sin(angles)])]
        )
    )
    text = h.figure_html(fig, "A borough map.", "Map.")
    assert 'src="data:image/png;base64,' in text


def test_chart_format_refuses_an_unknown_format(monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_CHART_FORMAT", "gif")
    with pytest.raises(ValueError, match="MPSANALYSIS_CHART_FORMAT='gif'"):
        h.figure_html(_figure(), "a", "b")


def test_figure_html_refuses_a_chart_without_alt_text():
    with pytest.raises(ValueError, match="alt text"):
        h.figure_html(_figure(), "  ", "caption")


# ----------------------------------------------------------------------------- status


@pytest.mark.parametrize("status, icon", [("met", "✔"), ("at risk", "▲"), ("not met", "✖")])
def test_status_is_icon_and_word_not_colour_alone(status, icon):
    page = Page(h.status_html(status))
    assert page.visible_text == f"{icon} {status}"
    assert {"aria-hidden": "true"} in page.all("span")


# ----------------------------------------------------------------------------- fetches


@pytest.mark.parametrize(
    "page",
    [
        '<script src="https://cdn.jsdelivr.net/npm/x.js"></script>',
        "<script>var a = 1;</script>",
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">',
        '<link rel="icon" href="favicon.ico">',
        "<style>@import 'https://example.org/x.css';</style>",
        "<style>body { background: url(https://example.org/bg.png) }</style>",
        "<style>@font-face { src: url('font.woff2') }</style>",
        '<img src="chart.png" alt="a">',
        '<img src="https://example.org/a.png" alt="a">',
        '<img srcset="a.png 2x" alt="a">',
        '<iframe src="about:blank"></iframe>',
        '<p style="background-image: url(x.png)">x</p>',
        '<meta http-equiv="refresh" content="0; url=https://example.org">',
        '<svg><use href="sprite.svg#icon"></use></svg>',
    ],
)
def test_find_external_references_catches_every_kind_of_fetch(page):
    assert h.find_external_references(page)


def test_find_external_references_allows_embedded_and_links():
    page = (
        "<style>/* no url() here */ a { color: red }</style>"
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="x">'
        '<a href="https://data.london.gov.uk/">London Datastore</a><a href="index.html">i</a>'
        '<a href="#s">s</a><svg><use href="#icon"></use></svg>'
    )
    assert h.find_external_references(page) == []


def test_policy_forbids_scripts_and_fetches():
    directives = dict(part.strip().split(" ", 1) for part in h.CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'none'"
    assert directives["connect-src"] == "'none'"
    assert directives["img-src"] == "data:"
    assert "unsafe-eval" not in h.CONTENT_SECURITY_POLICY


def test_css_string_cannot_end_the_string_or_the_style_element():
    text = h.css_string('a "quote" \\ </style><script>')
    assert '"' not in text and "<" not in text
    assert text.count("\\") == 5  # two quotes, the backslash, two '<'


# ----------------------------------------------------------------------------- template


def _job(
    tmp_path: Path,
    extracts: str = "sample",
    provisional: bool = False,
    objective: str = "serious-violence",
) -> jobs.Job:
    notebook = tmp_path / f"01_{objective}.ipynb"
    return jobs.Job(objective, str(notebook), "London", "2010-10", extracts, provisional)


def _html_output(markup: str):
    return nbformat.v4.new_output("display_data", data={"text/html": markup})


HEADINGS = [
    "Headline figures",
    "Boroughs & wards: what's new?",
    "Café *culture* (2010/11)",
    "Year-end forecasts",
]


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('period_end: str = "2010-10"  # secret_parameter_code')
    params.metadata["tags"] = ["parameters"]
    header = nbformat.v4.new_code_cell("report.show('header')  # secret_code")
    header.outputs = [
        _html_output('<header class="report-header"><h1>Reduce serious violence</h1></header>')
    ]
    cells = [params, header]
    for i, title in enumerate(HEADINGS):
        cells.append(nbformat.v4.new_markdown_cell(f"## {title}"))
        code = nbformat.v4.new_code_cell(f"report.show('s{i}')  # secret_code")
        code.outputs = [
            _html_output(
                h.table_html(
                    ["Measure", "FYTD"],
                    [["Homicide", "69"]],
                    f"Section {i}",
                    classes="data-table headline-table",
                )
            )
        ]
        if i == 0:
            code.outputs.append(
                nbformat.v4.new_output(
                    "stream", name="stderr", text="a warning the reader must not see"
                )
            )
            code.outputs.append(
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": "<p>add rows for the analyst only</p>",
                        "text/plain": "add rows for the analyst only",
                        export.ANALYST_MIMETYPE: {"section": "headline", "notes": ["x"]},
                    },
                )
            )
        cells.append(code)
    nb.cells = cells
    return nb


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> str:
    tmp_path = tmp_path_factory.mktemp("export")
    checksums = {
        "london-datastore/borough-crime/MPS_Borough_Level_Crime_Historic.csv": {"sha256": "a" * 64},
        "london-datastore/borough-crime/PROVENANCE.txt": {"sha256": "b" * 64},
        "home-office/other/file.csv": {"sha256": "c" * 64},
    }
    return export.export_html(
        _notebook(),
        _job(tmp_path, provisional=True),
        checksums,
        "0123456789abcdef0123456789abcdef01234567",
        synthetic=True,
    )


def test_report_is_self_contained(exported):
    assert h.find_external_references(exported) == []
    page = Page(exported)
    assert page.all("script") == [] and page.all("link") == []
    assert "require.js" not in exported and "mathjax" not in exported.lower()
    assert "--jp-" not in exported, "no JupyterLab theme stylesheet"


def test_report_carries_the_policy(exported):
    metas = [a for a in Page(exported).all("meta") if a.get("http-equiv")]
    assert metas == [
        {"http-equiv": "Content-Security-Policy", "content": h.CONTENT_SECURITY_POLICY}
    ]
    assert exported.index("Content-Security-Policy") < exported.index("<style")


def test_report_hides_code_prompts_stderr_and_analyst_notes(exported):
    assert "secret_code" not in exported and "secret_parameter_code" not in exported
    assert "a warning the reader must not see" not in exported
    assert "for the analyst only" not in exported
    page = Page(exported)
    classes = " ".join(a.get("class", "") for _, a in page.tags)
    assert "jp-InputPrompt" not in classes and "jp-InputArea" not in classes
    assert "In [" not in page.visible_text and "In\xa0[" not in page.visible_text


def test_contents_links_match_the_heading_ids(exported):
    page = Page(exported)
    links = [
        a["href"]
        for a in page.all("a")
        if a.get("href", "").startswith("#")
        and a.get("class") != "anchor-link"
        and a["href"] != "#content"
    ]
    h2_ids = [
        a["id"]
        for t, a in page.tags
        if t == "h2" and "id" in a and a["id"] not in ("toc-heading", "provenance")
    ]
    assert len(h2_ids) == len(HEADINGS)
    assert links == [f"#{i}" for i in h2_ids] + ["#provenance"]
    titles = re.findall(r'<li><a href="#[^"]*">(.*?)</a></li>', exported)
    assert titles == [
        "Headline figures",
        "Boroughs &amp; wards: what's new?",
        "Café culture (2010/11)",
        "Year-end forecasts",
        "About this report",
    ]


def test_contents_come_after_the_title_block_and_before_the_first_section(exported):
    title = exported.index('class="report-header"')
    toc = exported.index('id="toc-heading"')
    first = exported.index('id="Headline-figures"')
    assert title < toc < first


def test_stamps_and_breadcrumb(exported):
    assert '<div class="synthetic-stamp" role="note">SYNTHETIC DATA</div>' in exported
    assert '<div class="provisional-stamp" role="note">PROVISIONAL</div>' in exported
    assert '@top-right { content: "SYNTHETIC DATA \\B7  PROVISIONAL"' in exported
    assert '<a href="index.html">All reports for this period</a>' in exported


def test_provenance_footer(exported):
    footer = exported[exported.index("<footer") :]
    text = Page(footer).visible_text
    assert "0123456789abcdef0123456789abcdef01234567" in text
    assert "01_serious-violence.ipynb" in text
    # the parameters in words (session 10: "period_end = '2010-10', ..." was code)
    assert "Run for the period ending October 2010, London, provisional data" in text
    assert "period_end" not in text
    assert "the SYNTHETIC sample extract shipped with mpsanalysis" in text
    assert "MPS_Borough_Level_Crime_Historic.csv" in text and "a" * 64 in text
    assert "PROVENANCE.txt" not in text and "file.csv" not in text
    sample = extracts.sample_extract_path()
    import hashlib

    assert hashlib.sha256(sample.read_bytes()).hexdigest() in text
    assert str(Path.home()) not in footer and "/tmp" not in footer


def test_print_title_is_in_the_page_margin(exported):
    assert (
        '@page { @top-left { content: "Reduce serious violence — London — 2010-10"; } }' in exported
    )


def test_a_heading_with_markup_is_refused(tmp_path):
    nb = _notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("## Risks <br> now"))
    with pytest.raises(export.NotebookRunError, match="Risks"):
        export.export_html(nb, _job(tmp_path), {}, "c", False)


def test_script_outputs_are_replaced_by_a_note(tmp_path):
    nb = _notebook()
    code = nbformat.v4.new_code_cell("display(Javascript('alert(1)'))")
    code.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"application/javascript": "alert(1)", "text/plain": "<JS>"}
        )
    ]
    nb.cells.append(code)
    text = export.export_html(nb, _job(tmp_path), {}, "c", False)
    assert "alert(1)" not in text and "<script" not in text
    assert "An interactive output was removed" in text


def _notebook_with_charts() -> nbformat.NotebookNode:
    """Two charts as the reports embed them (a real SVG and PNG, base64 in an ``<img>``
    of an HTML output), one of them twice, beside a table."""
    from matplotlib.figure import Figure

    nb = _notebook()
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([1, 3, 2])
    images = []
    for kind, fmt in (("svg+xml", "svg"), ("png", "png")):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        images.append(f'<img src="data:image/{kind};base64,{data}" alt="A {fmt} chart">')
    chart = nbformat.v4.new_code_cell("report.show('trend')")
    chart.outputs = [_html_output(f"<figure>{images[0]}{images[1]}</figure><p>{images[0]}</p>")]
    nb.cells.append(chart)
    return nb


def test_images_set_aside_give_the_page_exported_with_them(tmp_path):
    """The export sets the images' base64 data aside while nbconvert parses the page
    and puts it back: the page is byte for byte the one exported with the data in."""
    nb = _notebook_with_charts()
    job = _job(tmp_path)
    aside = export._exported(nb, job, {}, "c", False, images_aside=True)
    whole = export._exported(nb, job, {}, "c", False, images_aside=False)
    assert aside == whole
    assert aside.count("data:image/svg+xml;base64,") == 2
    assert "mpsanalysis-image-" not in aside
    assert export.export_html(nb, job, {}, "c", False) == whole
    # and the notebook given to the export is left as it was
    assert "mpsanalysis-image-" not in json.dumps(nb)


def test_an_image_token_not_found_once_exports_the_page_with_its_data(tmp_path, monkeypatch):
    """A token that does not come back exactly once (here: one more than was set aside)
    is never guessed at: the page is exported again with the images in."""
    nb = _notebook_with_charts()
    job = _job(tmp_path)
    whole = export._exported(nb, job, {}, "c", False, images_aside=False)
    real = export._set_images_aside

    def one_too_many(notebook):
        payloads, nonce = real(notebook)
        return [*payloads, "QUJD"], nonce

    monkeypatch.setattr(export, "_set_images_aside", one_too_many)
    assert export._exported(nb, job, {}, "c", False, images_aside=True) is None
    assert export.export_html(nb, job, {}, "c", False) == whole


def test_empty_notebook_exports(tmp_path):
    """The warm-up export of the engine: no cells, no contents list."""
    text = export.export_html(
        nbformat.v4.new_notebook(), _job(tmp_path, extracts=""), {}, "c", False
    )
    assert '<nav class="toc"' not in text and 'id="provenance"' in text


def test_the_export_validates_the_notebook_once_and_still_refuses_an_invalid_one(
    tmp_path, monkeypatch
):
    checked: list[int] = []
    real = nbformat.validate
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("## A section"))
    broken = nbformat.v4.new_code_cell("1")
    broken.outputs = [nbformat.NotebookNode(output_type="not an output type")]

    def validate(*args, **kwargs):
        checked.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(nbformat, "validate", validate)
    export.export_html(nb, _job(tmp_path, extracts=""), {}, "c", False)
    assert len(checked) == 1  # not once after each of nbconvert's preprocessors
    nb.cells.append(broken)
    with pytest.raises(nbformat.ValidationError):
        export.export_html(nb, _job(tmp_path, extracts=""), {}, "c", False)


# ----------------------------------------------------------------------------- index


class _Plan:
    period_end = "2010-10"
    label = "2010-10"
    provisional = True


class _Result:
    def __init__(self, job, ok=True, summary=None, error="", synthetic=False):
        self.job, self.ok, self.summary, self.error, self.synthetic = (
            job,
            ok,
            summary,
            error,
            synthetic,
        )


def test_index_groups_measures_under_their_objective(tmp_path):
    summary = {
        "measures": [
            {
                "measure": "Homicide",
                "figure": "69",
                "change": "0 (0.0%)",
                "status": "met",
                "synthetic": False,
            },
            {
                "measure": "Cash seized",
                "figure": "£13.1m",
                "change": "−£431,000 (−3.2%)",
                "status": "at risk",
                "synthetic": True,
            },
        ]
    }
    results = [
        _Result(_job(tmp_path), summary=summary, synthetic=True),
        _Result(
            _job(tmp_path, objective="robbery"),
            ok=False,
            error="robbery (London): cell 3: KeyError: 'x'",
        ),
    ]
    text = render_index(_Plan(), results)
    page = Page(text)
    assert h.find_external_references(text) == []
    assert [a.get("scope") for a in page.all("th")][:6] == ["col"] * 6
    groups = [a for a in page.all("th") if a.get("scope") == "rowgroup"]
    assert groups == [{"scope": "rowgroup", "rowspan": "2"}]
    assert '<a href="serious-violence.html">Reduce serious violence</a>' in text
    assert '<a href="robbery.failed.ipynb">' in text
    assert "Cash seized (S)" in text and "SYNTHETIC DATA" in text and "PROVISIONAL" in text
    assert "▲</span> at risk" in text
    assert '<a href="manifest.json">' in text and '<a href="../../index.html">' in text


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        # a value that rounds to zero prints without a sign (was "-0.0%", "-0%")
        (lambda v: h.format_percent(v), -0.04, "0.0%"),
        (lambda v: h.format_percent(v, 0), -0.4, "0%"),
        (lambda v: h.format_percent(v, 0), -0.6, "-1%"),
        (lambda v: h.format_change(v, 0), -0.0556, "0%"),
        (lambda v: h.format_change(v, 0), 0.4, "0%"),
        (lambda v: h.format_count(v), -0.4, "0"),
        (lambda v: h.format_money(v), -0.4, "£0"),
    ],
)
def test_values_that_round_to_zero_have_no_sign(function, value, expected):
    assert function(value) == expected


def test_index_names_the_objective_that_holds_a_measures_target(tmp_path):
    """Session 10: the index showed "Robbery of personal property" as "no target" under
    Reduce serious violence and "on track" under Reduce personal robbery, two rows that
    read as a contradiction. The first now says where its target is set, with that
    report's status for the same area."""

    def record(status):
        return {"measure": "Robbery of personal property", "figure": "17,812",
                "change": "−2,820 (−13.7%)", "status": status, "synthetic": False}  # fmt: skip

    violence = _Result(_job(tmp_path), summary={"measures": [record("no target")]})
    robbery = _Result(
        _job(tmp_path, objective="robbery"), summary={"measures": [record("on track")]}
    )
    text = render_index(_Plan(), [violence, robbery])
    rows = re.findall(r"<tr>.*?</tr>", text)
    violence_row = next(r for r in rows if 'href="serious-violence.html"' in r)
    assert "– no target" not in violence_row  # the icon and the word are in spans
    assert "no target</span><br>target set under " in violence_row
    assert '<a href="robbery.html">Reduce personal robbery</a>: ' in violence_row
    assert "✔</span> on track" in violence_row
    robbery_row = next(r for r in rows if 'rowspan="1"><a href="robbery.html">' in r)
    assert "target set under" not in robbery_row
    # the robbery objective not in the run: the cell still names it, without a status
    text = render_index(_Plan(), [violence])
    assert "no target</span><br>target set under Reduce personal robbery</td>" in text


def test_the_status_key_says_why_a_fall_beyond_the_target_can_be_at_risk(tmp_path):
    """Review of session 11: the 2025/26 Q3 index showed Barnet personal robbery, down
    8.7% against a 7% reduction target, "at risk", with nothing on the index to say why
    (the present-rate forecast for the year was up 0.5%). The status key now gives the
    rule, which is the assessment's own, checked here on those figures."""
    from mpsanalysis.measures.assessment import Target, assess_against_target

    def status(position, forecast):
        return assess_against_target(
            Target("reduction", percent=7), position, direction="down",
            year_complete=False, forecast=forecast,
        ).status  # fmt: skip

    assert status(-8.7, 0.5) == "at risk"  # the year so far meets it, the forecast not
    assert status(-8.7, -8.0) == "on track"  # both meet it
    text = render_index(_Plan(), [_Result(_job(tmp_path), summary={"measures": []})])
    assert (
        "a target is on track when both the year so far and the year-end forecast at the "
        "present rate meet it, and at risk when only the year so far does"
    ) in text
