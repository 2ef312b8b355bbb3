"""The report audit: run a sample of the report matrix and read every page as a reviewer.

``mpsanalysis audit`` (``make audit``) runs every objective for London and a few
boroughs, one quarter in every financial year the data covers, and checks each
published page and its executed notebook:

``consistent``
    The index page, the headline table and the narrative give the same figure for
    each measure.
``period``
    No date range shown on the page ends after the report's period (the header's
    "Data available to" line and the provenance footer excepted).
``content``
    Every section shows a table, a chart or a sentence: none is empty.
``text``
    No "nan", "None", "inf" or "-0" in the visible text.
``instructions``
    No section tells the reader to do what only an analyst can: add rows to a file, look
    under ``data/raw/`` or run a command (the extract notes once did, in every report
    with a measure from an internal extract; the analyst now gets them in the notebook).
``unpublished``
    A measure the headline calls "not published" or "data not supplied" has no figure in
    any other table of the page (the harm table once showed such a measure as 0 offences
    and 0.0% of the harm).
``kernel``
    The executed notebook has no error output and nothing on stderr (warnings).
``accessible``
    Every chart has alt text and every table a caption.
``spc``
    No SPC chart has had every point a special cause in one direction for more than
    12 months up to the latest month (its limits no longer describe the process). Read
    from the summary's ``spc_sustained`` and ``spc_message`` per measure
    (``ObjectiveReport.summary``, from ``stats.spc.detect_sustained_signal``).

It prints one row per finding and exits non-zero on any. The checks read only the
published files, so they can be run on any folder of reports (:func:`audit_folder`).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from mpsanalysis import boroughs, periods
from mpsanalysis.errors import ParameterError

__all__ = [
    "AUDIT_BOROUGHS",
    "Finding",
    "audit_folder",
    "audit_page",
    "audit_quarters",
    "run_audit",
]

#: Boroughs audited besides London: a central, an inner and an outer borough.
AUDIT_BOROUGHS = ("Westminster", "Lambeth", "Sutton")

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
)}  # fmt: skip
_MONTH_NAME = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
#: "Mar 2017 to Feb 2018", "April 2016 – December 2016": a range of months shown.
_RANGE = re.compile(
    rf"\b{_MONTH_NAME}\s+(\d{{4}})\s*(?:to|–|-)\s*{_MONTH_NAME}\s+(\d{{4}})\b", re.I
)
_BAD_TOKENS = re.compile(
    r"(?<![\w.])(nan|None|inf|NaN|-inf)(?![\w])|(?<![\w.,])[-−]0(?:\.0+)?(?![\d.,])"
)
#: What an analyst is told to do, which a reviewer's page must not say: adding rows to a
#: file, a path under data/raw/, or a command to run.
_INSTRUCTIONS = re.compile(
    r"\badd rows\b|\bdata/raw/|\brun `?mpsanalysis\b|`mpsanalysis \w+", re.IGNORECASE
)


@dataclass(frozen=True)
class Finding:
    """One problem on one page."""

    report: str
    check: str
    detail: str


class _Page(HTMLParser):
    """Visible text by section (``h2``), images, tables and captions of a report page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[dict] = [{"title": "(top)", "text": [], "items": 0}]
        self.images: list[str | None] = []
        self.tables = 0
        self.captions = 0
        self._skip = 0  # inside <style>, <script>, <footer> or the report header
        self._in_h2 = False
        self._stack: list[tuple[str, bool]] = []

    _VOID = frozenset({"img", "br", "hr", "meta", "link", "input", "col", "source", "wbr"})

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipping = tag in ("style", "script", "footer", "title") or (
            tag == "header" and "report-header" in (attributes.get("class") or "")
        )
        if tag not in self._VOID:
            self._stack.append((tag, skipping))
        self._skip += skipping
        if self._skip:
            if tag not in self._VOID:
                return
            self._skip -= skipping
            return
        if tag == "h2":
            self._in_h2 = True
            self.sections.append({"title": "", "text": [], "items": 0})
        elif tag == "img":
            self.images.append(attributes.get("alt"))
            self.sections[-1]["items"] += 1
        elif tag == "table":
            self.tables += 1
            self.sections[-1]["items"] += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "p":
            self.sections[-1]["items"] += 1

    def handle_endtag(self, tag):
        if not any(open_tag == tag for open_tag, _ in self._stack):
            return  # a stray end tag
        while self._stack:
            open_tag, skipping = self._stack.pop()
            self._skip -= skipping
            if open_tag == tag:
                break
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._skip:
            return
        if self._in_h2:
            self.sections[-1]["title"] += data
        else:
            self.sections[-1]["text"].append(data)


def _read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _month(name: str, year: str) -> pd.Period:
    return pd.Period(year=int(year), month=_MONTHS[name[:3].lower()], freq="M")


def audit_page(
    name: str,
    html: str,
    period_end: str,
    summary: dict | None = None,
    notebook: dict | None = None,
    index_text: str | None = None,
) -> list[Finding]:
    """Every finding on one published page (see the module's list of checks).

    Parameters
    ----------
    name : str
        The report's file name, for the findings.
    html : str
        The published page.
    period_end : str
        The report's last month, ``YYYY-MM``.
    summary : dict, optional
        The report's machine-readable summary (the manifest's ``summary``).
    notebook : dict, optional
        The executed notebook (JSON).
    index_text : str, optional
        The visible text of the period's index page.

    Examples
    --------
    >>> page = ('<h2>Where</h2><p>In Mar 2017 to Feb 2018, 12 wards held a quarter.</p>'
    ...         '<h2>Empty</h2><h2>Rates</h2><p>Change: -0%</p><img src="x.png">'
    ...         '<h2>Cash</h2><p>Add rows to a CSV in data/raw/extracts/.</p>')
    >>> for f in audit_page("robbery.html", page, "2016-12"):
    ...     print(f.check, "|", f.detail)
    period | section 'Where' shows Mar 2017 to Feb 2018, after the period's end (2016-12)
    content | section 'Empty' shows nothing: no table, chart or sentence
    text | section 'Rates' shows '-0'
    instructions | section 'Cash' tells the reader to act: 'Add rows to a CSV in data/raw/extracts/.'
    accessible | a chart has no alt text
    """
    end = periods.parse_month(period_end, "period_end")
    page = _read_page(html)
    findings = []

    def add(check: str, detail: str) -> None:
        findings.append(Finding(name, check, detail))

    for section in page.sections[1:]:
        title = " ".join(section["title"].split())
        text = " ".join("".join(section["text"]).split())
        for match in _RANGE.finditer(text):
            last = _month(match.group(3), match.group(4))
            if last > end:
                add("period", f"section {title!r} shows {match.group(0)}, after the "
                              f"period's end ({end})")  # fmt: skip
        if not section["items"] and not text:
            add("content", f"section {title!r} shows nothing: no table, chart or sentence")
        for match in _BAD_TOKENS.finditer(text):
            add("text", f"section {title!r} shows {match.group(0)!r}")
        told = _INSTRUCTIONS.search(text)  # one finding a section
        if told:
            add("instructions", f"section {title!r} tells the reader to act: "
                                f"{text[max(0, told.start() - 40):told.end() + 40]!r}")  # fmt: skip
    for alt in page.images:
        if not alt or not alt.strip():
            add("accessible", "a chart has no alt text")
    if page.tables > page.captions:
        add("accessible", f"{page.tables - page.captions} table(s) without a caption")
    if summary:
        findings += _consistency(name, page, summary, index_text)
        findings += _spc_findings(name, summary)
        findings += _unpublished_findings(name, html, summary)
    if notebook:
        findings += _kernel_findings(name, notebook)
    return findings


def _section_text(page: _Page, title: str) -> str:
    for section in page.sections:
        if " ".join(section["title"].split()) == title:
            return " ".join("".join(section["text"]).split())
    return ""


def _consistency(name: str, page: _Page, summary: dict, index_text: str | None) -> list[Finding]:
    """The headline table, the narrative and the index give each measure's figure."""
    out = []
    headline = _section_text(page, "Headline figures")
    narrative = _section_text(page, "Summary")
    for record in summary.get("measures", []):
        figure = str(record.get("figure") or "")
        if not re.search(r"\d", figure):  # "data not supplied", "not published"
            continue
        measure = record.get("measure", "")
        if figure not in headline:
            out.append(Finding(name, "consistent",
                               f"{measure}: {figure} is not in the headline table"))  # fmt: skip
        if index_text is not None and figure not in index_text:
            out.append(Finding(name, "consistent",
                               f"{measure}: {figure} is not on the index page"))  # fmt: skip
        lead = measure[:1].lower() + measure[1:]
        mentions = [s for s in re.split(r"(?<=\.)\s+(?=[A-Z])", narrative) if lead in s]
        if mentions and not any(figure in s for s in mentions):
            out.append(Finding(name, "consistent",
                               f"{measure}: the narrative does not give {figure}"))  # fmt: skip
    return out


_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
_CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)


def _unpublished_findings(name: str, html: str, summary: dict) -> list[Finding]:
    """Table rows that give a figure for a measure the headline has no figure for.

    Examples
    --------
    >>> summary = {"measures": [{"measure": "Knife possession", "figure": "not published"}]}
    >>> page = ("<table><tr><th>Knife possession</th><td>not published</td></tr></table>"
    ...         "<table><tr><th>Knife possession</th><td>0</td><td>0.0%</td></tr></table>")
    >>> [f.detail for f in _unpublished_findings("r.html", page, summary)]
    ['Knife possession: the headline has no figure for it, but a table gives 0']
    """
    from html import unescape

    missing = {
        record.get("measure", "")
        for record in summary.get("measures", [])
        if not re.search(r"\d", str(record.get("figure") or ""))
    }
    out = []
    for row in _ROW.findall(html):
        cells = [" ".join(unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in _CELL.findall(row)]
        if len(cells) > 1 and cells[0] in missing and re.search(r"\d", cells[1]):
            out.append(
                Finding(
                    name,
                    "unpublished",
                    f"{cells[0]}: the headline has no figure for it, but a table gives {cells[1]}",
                )
            )
    return out


def _spc_findings(name: str, summary: dict) -> list[Finding]:
    """SPC charts whose every point has been a signal one way for over 12 months.

    Examples
    --------
    >>> summary = {"measures": [{"measure": "Robbery", "spc_sustained": True,
    ...     "spc_message": "every month since 2024-12 (13 months) is a special cause (low)"}]}
    >>> [f.detail for f in _spc_findings("r.html", summary)]
    ['Robbery: every month since 2024-12 (13 months) is a special cause (low)']
    """
    return [
        Finding(name, "spc", f"{record.get('measure', '')}: {record.get('spc_message')}")
        for record in summary.get("measures", [])
        if record.get("spc_sustained")
    ]


def _kernel_findings(name: str, notebook: dict) -> list[Finding]:
    out = []
    for number, cell in enumerate(notebook.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                out.append(Finding(name, "kernel", f"cell {number}: {output.get('ename')}: "
                                                   f"{output.get('evalue')}"))  # fmt: skip
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = "".join(output.get("text", "")).strip().splitlines()
                out.append(Finding(name, "kernel", f"cell {number} wrote to stderr: "
                                                   f"{text[0] if text else ''}"))  # fmt: skip
    return out


def _visible_text(html: str) -> str:
    page = _read_page(html)
    return " ".join(" ".join("".join(s["text"]).split()) for s in page.sections)


def audit_folder(folder: Path) -> list[Finding]:
    """Audit every report a run published in ``folder`` (its ``manifest.json``)."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise ParameterError(f"{folder} has no manifest.json: it is not a folder of reports")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    index = folder / "index.html"
    index_text = _visible_text(index.read_text(encoding="utf-8")) if index.exists() else None
    findings = []
    for report in manifest.get("reports", []):
        stem = report["objective_id"]
        if report["geography"] != boroughs.LONDON:
            stem += "-" + re.sub(r"[^a-z0-9]+", "-", report["geography"].lower()).strip("-")
        if not report.get("ok"):
            findings.append(Finding(f"{stem}.html", "kernel", f"failed: {report.get('error')}"))
            continue
        page = folder / f"{stem}.html"
        notebook = folder / f"{stem}.ipynb"
        findings += audit_page(
            page.name,
            page.read_text(encoding="utf-8"),
            report["period_end"],
            report.get("summary"),
            json.loads(notebook.read_text(encoding="utf-8")) if notebook.exists() else None,
            index_text,
        )
    return findings


def audit_quarters(last_month: pd.Period, first_month: pd.Period) -> list[str]:
    """One complete quarter in every financial year from ``first_month`` to
    ``last_month``, rotating through Q1 to Q4 so that every quarter is audited.

    The year of ``first_month`` comes first (2008-01 is in 2007/08's fourth quarter);
    a year whose rotated quarter is not complete in the data takes its next one.

    Examples
    --------
    >>> audit_quarters(pd.Period("2011-03", "M"), pd.Period("2008-01", "M"))
    ['2007/08-Q4', '2008/09-Q2', '2009/10-Q3', '2010/11-Q4']
    """
    quarters = []
    first_year = periods.financial_year(first_month)
    for offset, year in enumerate(range(first_year, periods.financial_year(last_month) + 1)):
        for step in range(4):
            q = (offset + step) % 4 + 1
            label = f"{periods.financial_year_label(year)}-Q{q}"
            quarter = periods.parse_quarter(label)
            if quarter.window.start >= first_month and quarter.end_month <= last_month:
                quarters.append(label)
                break
    return quarters


def run_audit(
    quarters: list[str] | None = None,
    geographies: list[str] | None = None,
    objectives: list[str] | None = None,
    workers: int | None = None,
    output: Path | None = None,
) -> list[Finding]:
    """Run the audit sample and return every finding (empty: every page passed)."""
    from mpsanalysis.measures.compute import last_month_available, load_borough_crime
    from mpsanalysis.run import runner

    if quarters is None:
        crime = load_borough_crime()
        quarters = audit_quarters(last_month_available(), crime["month"].min())
    chosen = geographies or [boroughs.LONDON, *AUDIT_BOROUGHS]
    root = Path(output) if output else Path(tempfile.mkdtemp(prefix="mpsanalysis-audit-"))
    findings: list[Finding] = []
    for quarter in quarters:
        plan = runner.plan_run(
            quarter=quarter, objectives=objectives, geographies=chosen, reports=root
        )
        runner.execute_plan(plan, workers=workers)
        findings += [
            Finding(f"{plan.label}/{f.report}", f.check, f.detail)
            for f in audit_folder(plan.output_dir)
        ]
    return findings


def format_findings(findings: list[Finding]) -> str:
    """The findings as a plain-text table (or a line saying there are none)."""
    if not findings:
        return "audit: no findings"
    width = max(len(f.report) for f in findings)
    lines = [f"{'report':<{width}}  {'check':<10}  detail"]
    lines += [f"{f.report:<{width}}  {f.check:<10}  {f.detail}" for f in findings]
    lines.append(f"audit: {len(findings)} finding(s)")
    return "\n".join(lines)
