"""The index page of a run: every objective and measure, with figure, change and status.

Status is shown by an icon and a word as well as colour. Each row links to its report.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mpsanalysis import catalogue, periods
from mpsanalysis.assessment import STATUS_ICONS
from mpsanalysis.html import escape

__all__ = ["write_index", "render_index", "write_reports_home"]


def _css() -> str:
    return (Path(__file__).with_name("templates") / "mpsreport" / "report.css").read_text(
        encoding="utf-8"
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">\n"
        f"<title>{escape(title)}</title>\n<style>\n{_css()}\n</style>\n</head>\n"
        f'<body class="mps-report">\n<main id="content">\n{body}\n</main>\n</body>\n</html>\n'
    )


def _status_html(status: str) -> str:
    icon = STATUS_ICONS.get(status, "?")
    return (
        f'<span class="status status-{escape(status.replace(" ", "-"))}">'
        f'<span aria-hidden="true">{icon}</span> {escape(status)}</span>'
    )


def render_index(plan, results) -> str:
    """The index page HTML for a run's results."""
    end = periods.parse_month(plan.period_end)
    window = periods.fytd_window(end)
    title = f"Policing plan objectives: {plan.label}"
    synthetic = any(r.synthetic for r in results)
    parts = [f"<h1>{escape(title)}</h1>",
             f"<p>Financial year to date: {escape(window.label)}. "
             f"{sum(r.ok for r in results)} of {len(results)} reports produced.</p>"]
    if synthetic:
        parts.append('<div class="synthetic-stamp" role="note">SYNTHETIC DATA</div>'
                     '<div class="callout callout-synthetic" role="note"><strong>SYNTHETIC '
                     'DATA:</strong> figures marked (S) come from the synthetic sample '
                     "extract, not from real police data.</div>")
    if plan.provisional:
        parts.append('<div class="callout callout-warning" role="note"><strong>Warning:'
                     "</strong> PROVISIONAL: the data for this quarter is not complete.</div>")
    header = "<thead><tr>" + "".join(
        f'<th scope="col">{h}</th>' for h in
        ("Objective", "Geography", "Measure", "Figure (FYTD)", "Change on last year", "Status")
    ) + "</tr></thead>"
    rows = []
    for result in results:
        job = result.job
        objective = catalogue.get_objective(job.objective_id)
        link = f'<a href="{escape(job.stem)}.html">{escape(objective.title)}</a>'
        if not result.ok:
            rows.append(
                f'<tr><th scope="row">{escape(objective.title)}</th>'
                f"<td>{escape(job.geography)}</td>"
                f'<td colspan="3">Report failed: {escape(result.error)} (partial notebook: '
                f'<a href="{escape(job.stem)}.failed.ipynb">{escape(job.stem)}.failed.ipynb</a>)'
                f'</td><td><span class="status status-not-met"><span aria-hidden="true">✖'
                "</span> FAILED</span></td></tr>"
            )
            continue
        measures = (result.summary or {}).get("measures", [])
        for i, m in enumerate(measures):
            first = f'<th scope="row">{link}</th><td>{escape(job.geography)}</td>' if i == 0 else \
                '<th scope="row"></th><td></td>'
            name = m["measure"] + (" (S)" if m.get("synthetic") else "")
            rows.append(
                f"<tr>{first}<td>{escape(name)}</td><td>{escape(m['figure'])}</td>"
                f"<td>{escape(m['change'])}</td><td>{_status_html(m['status'])}</td></tr>"
            )
    table = (
        '<table class="data-table"><caption>Every objective and measure, with its figure, '
        f"change and status</caption>{header}<tbody>{''.join(rows)}</tbody></table>"
    )
    legend = ("<p>Status: " + "; ".join(
        f"{STATUS_ICONS[s]} {s}" for s in ("met", "on track", "at risk", "not met", "no target",
                                          "not assessed")) + ".</p>")
    return _page(title, "\n".join(parts) + table + legend)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def write_index(plan, results) -> Path:
    """Write ``index.html`` for the run's period, and refresh the reports home page."""
    path = _write(plan.output_dir / "index.html", render_index(plan, results))
    write_reports_home(plan.output_dir.parent.parent)
    return path


def write_reports_home(reports: Path) -> Path:
    """``reports/index.html``: a link to every period's index."""
    indexes = sorted(reports.glob("*/*/index.html"), reverse=True)
    items = "".join(
        f'<li><a href="{escape(p.relative_to(reports).as_posix())}">'
        f"{escape(p.parent.parent.name.replace('-', '/'))}: {escape(p.parent.name)}</a></li>"
        for p in indexes
    )
    body = f"<h1>Policing plan performance reports</h1><ul>{items}</ul>"
    return _write(reports / "index.html", _page("Policing plan performance reports", body))
