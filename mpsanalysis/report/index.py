"""The index page of a run: every objective and measure, with figure, change and status.

Status is shown by an icon and a word as well as colour. Each objective's rows are one
``<tbody>`` headed by the objective (``scope="rowgroup"``), so a screen reader announces
which objective and measure a figure belongs to. The page has the same
Content-Security-Policy and stylesheet as the reports: no scripts, nothing fetched.
"""

from __future__ import annotations

from pathlib import Path

from mpsanalysis import paths, periods
from mpsanalysis.ingest import store
from mpsanalysis.measures import catalogue
from mpsanalysis.measures.assessment import STATUS_ICONS, STATUSES
from mpsanalysis.report.html import csp_meta, escape, figure_cell_html, status_html

__all__ = ["write_index", "render_index", "write_reports_home"]


def _css() -> str:
    return (Path(__file__).with_name("templates") / "mpsreport" / "report.css").read_text(
        encoding="utf-8"
    )


def _page(title: str, body: str, stamps: str = "", breadcrumb: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f"{csp_meta()}\n"
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{escape(title)}</title>\n<style>\n{_css()}\n</style>\n</head>\n"
        '<body class="mps-report">\n<a class="skip-link" href="#content">Skip to content</a>\n'
        f"{stamps}{breadcrumb}"
        f'<main id="content">\n{body}\n</main>\n</body>\n</html>\n'
    )


def _objective_rows(result) -> str:
    """One ``<tbody>`` for a report: the objective heads its measures' rows."""
    job = result.job
    objective = catalogue.get_objective(job.objective_id)
    stem = escape(job.stem)
    if not result.ok:
        return (
            f'<tbody><tr><th scope="row">{escape(objective.title)}</th>'
            f"<td>{escape(job.geography)}</td>"
            f'<td colspan="3">Report failed: {escape(result.error)} (partial notebook: '
            f'<a href="{stem}.failed.ipynb">{stem}.failed.ipynb</a>)</td>'
            f'<td><span class="status status-not-met"><span aria-hidden="true">✖</span> '
            "FAILED</span></td></tr></tbody>"
        )
    measures = (result.summary or {}).get("measures", []) or [
        {"measure": "(no measures)", "figure": "", "change": "", "status": "not assessed"}
    ]
    span = len(measures)
    rows = []
    for i, m in enumerate(measures):
        lead = ""
        if i == 0:
            lead = (
                f'<th scope="rowgroup" rowspan="{span}"><a href="{stem}.html">'
                f"{escape(objective.title)}</a></th>"
                f'<td rowspan="{span}">{escape(job.geography)}</td>'
            )
        name = m["measure"] + (" (S)" if m.get("synthetic") else "")
        rows.append(
            f'<tr>{lead}<th scope="row">{escape(name)}</th>'
            f'<td class="num">{figure_cell_html(m["figure"])}</td>'
            f'<td class="num">{figure_cell_html(m["change"])}</td>'
            f"<td>{status_html(m['status'])}</td></tr>"
        )
    return f"<tbody>{''.join(rows)}</tbody>"


def _current_checksum(relative: str, memo: dict[str, str]) -> str:
    """SHA-256 of an input now (a path relative to the processed store, or absolute);
    ``"absent"`` when it is not there."""
    from mpsanalysis.ingest.fetch import sha256_file

    if relative not in memo:
        path = Path(relative)
        if not path.is_absolute():
            path = paths.processed_dir() / relative
        try:
            memo[relative] = sha256_file(path)
        except OSError:
            memo[relative] = "absent"
    return memo[relative]


def out_of_date(results) -> list[tuple[object, list[str]]]:
    """The reports built from inputs that differ from the store now, with the names of
    the changed inputs. A report with no record of its inputs is not judged."""
    memo: dict[str, str] = {}
    stale = []
    for result in results:
        checksums = getattr(result, "input_checksums", None)
        if not result.ok or not checksums:
            continue
        changed = [
            Path(name).name
            for name, digest in sorted(checksums.items())
            if not name.startswith("external:") and _current_checksum(name, memo) != digest
        ]
        if changed:
            stale.append((result, changed))
    return stale


def _revisions_html(limit: int = 20) -> str:
    """Rows of the store's ``revisions`` table, if it has one (else nothing)."""
    try:
        if not store.table_exists("revisions"):
            return ""
        table = store.read_table("revisions")
    except Exception:  # a damaged table is for the build to report, not the index
        return ""
    if table.empty:
        return "<p>The data revises no figure of an earlier period.</p>"
    from mpsanalysis.report.html import table_html

    shown = table.head(limit)
    more = (
        f"<p>{len(table) - limit} more revisions are in the store's revisions table.</p>"
        if len(table) > limit
        else ""
    )
    rows = [[str(v) for v in row] for row in shown.itertuples(index=False)]
    return (
        "<h3>Revised figures</h3><p>Figures for periods already reported that the "
        "latest data revises (from the processed store's revisions table):</p>"
        + table_html([str(c) for c in shown.columns], rows, "Revised figures", row_header=False)
        + more
    )


def changes_html(results) -> str:
    """The "Changes since the previous report" section: reports that failed, reports
    reused from the cache, reports built from an older data vintage than the store now,
    and revised figures. Empty when there is nothing to say."""
    items = []

    def name(result) -> str:
        objective = catalogue.get_objective(result.job.objective_id)
        return f"{objective.title} ({result.job.geography})"

    failed = [r for r in results if not r.ok]
    if failed:
        items.append("<li>Failed: " + "; ".join(escape(name(r)) for r in failed) + ".</li>")
    reused = [r for r in results if getattr(r, "status", "") == "reused"]
    if reused:
        items.append(
            f"<li>Reused unchanged from an earlier run ({len(reused)} of {len(results)}: "
            "same notebook, parameters, code, library versions and input data): "
            + "; ".join(escape(name(r)) for r in reused)
            + ".</li>"
        )
    stale = out_of_date(results)
    if stale:
        items.append(
            "<li><strong>OUT OF DATE:</strong> built from older data than the store "
            "now holds; re-run them before quoting their figures: "
            + "; ".join(
                f"{escape(name(r))} (changed: {escape(', '.join(changed))})" for r, changed in stale
            )
            + ".</li>"
        )
    revisions = _revisions_html()
    if not items and not revisions:
        return ""
    listing = f"<ul>{''.join(items)}</ul>" if items else ""
    return f'<h2 id="changes">Changes since the previous report</h2>{listing}{revisions}'


def render_index(plan, results) -> str:
    """The index page HTML for a run's results."""
    end = periods.parse_month(plan.period_end)
    window = periods.fytd_window(end)
    fy = periods.financial_year_label(periods.financial_year(end))
    title = f"Policing plan objectives: {plan.label}"
    synthetic = any(r.synthetic for r in results)
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p>Financial year {escape(fy)} to date: {escape(window.label)}. "
        f"{sum(r.ok for r in results)} of {len(results)} reports produced. "
        "Each objective links to its report.</p>",
    ]
    stamps = ""
    if synthetic or plan.provisional:
        stamps = (
            '<div class="stamps">'
            + ('<div class="synthetic-stamp" role="note">SYNTHETIC DATA</div>' if synthetic else "")
            + (
                '<div class="provisional-stamp" role="note">PROVISIONAL</div>'
                if plan.provisional
                else ""
            )
            + "</div>\n"
        )
    if synthetic:
        parts.append(
            '<div class="callout callout-synthetic" role="note"><strong>SYNTHETIC '
            "DATA:</strong> figures marked (S) come from the synthetic sample "
            "extract, not from real police data. Do not quote them.</div>"
        )
    if plan.provisional:
        parts.append(
            '<div class="callout callout-warning" role="note"><strong>Warning:'
            "</strong> PROVISIONAL: the data for this quarter is not complete; "
            "figures will change.</div>"
        )
    header = (
        "<thead><tr>"
        + "".join(
            f'<th scope="col"{cls}>{h}</th>'
            for h, cls in (
                ("Objective", ""),
                ("Geography", ""),
                ("Measure", ""),
                ("Figure (FYTD)", ' class="num"'),
                ("Change on last year", ' class="num"'),
                ("Status", ""),
            )
        )
        + "</tr></thead>"
    )
    changes = changes_html(results)
    if changes:
        parts.append(changes)
    table = (
        '<table class="data-table index-table"><caption>Every objective and measure, with '
        f"its figure, change and status</caption>{header}"
        f"{''.join(_objective_rows(r) for r in results)}</table>"
    )
    legend = (
        '<h2 id="status-key">Status key</h2><ul class="status-key">'
        + "".join(f"<li>{status_html(s)}</li>" for s in STATUSES if s in STATUS_ICONS)
        + "</ul><p>Status is carried by the icon and the word; colour only helps. "
        "The rules are in each report's <em>Definitions and caveats</em>.</p>"
    )
    about = (
        '<h2 id="about">About this run</h2><p>The run record '
        '(<a href="manifest.json">manifest.json</a>) lists the parameters, every input '
        "file and its SHA-256 checksum, the package versions and the git commit. Each "
        "report's footer gives the same for that report.</p>"
    )
    breadcrumb = (
        '<nav class="breadcrumb" aria-label="Breadcrumb">'
        '<a href="../../index.html">All reporting periods</a></nav>\n'
    )
    return _page(title, "\n".join(parts) + table + legend + about, stamps, breadcrumb)


def _write(path: Path, text: str) -> Path:
    return store.write_text_atomic(path, text)


def write_index(plan, results) -> Path:
    """Write ``index.html`` for the run's period, and refresh the reports home page."""
    path = _write(plan.output_dir / "index.html", render_index(plan, results))
    write_reports_home(plan.output_dir.parent.parent)
    return path


def write_reports_home(reports: Path) -> Path:
    """``reports/index.html``: a link to every period's index, newest first."""
    indexes = sorted(reports.glob("*/*/index.html"), reverse=True)
    items = (
        "".join(
            f'<li><a href="{escape(p.relative_to(reports).as_posix())}">'
            f"Financial year {escape(p.parent.parent.name.replace('-', '/'))}: "
            f"{escape(p.parent.name)}</a></li>"
            for p in indexes
        )
        or "<li>No reports have been run yet.</li>"
    )
    body = (
        "<h1>Policing plan performance reports</h1>"
        f'<nav aria-label="Reporting periods"><ul>{items}</ul></nav>'
    )
    return _write(reports / "index.html", _page("Policing plan performance reports", body))
