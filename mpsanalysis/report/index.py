"""The index page of a run: every objective and measure, with figure, change and status.

Status is shown by an icon and a word as well as colour. Each objective's rows are one
``<tbody>`` headed by the objective (``scope="rowgroup"``), so a screen reader announces
which objective and measure a figure belongs to. The page has the same
Content-Security-Policy and stylesheet as the reports: no scripts, nothing fetched.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from mpsanalysis import boroughs, paths, periods
from mpsanalysis.ingest import store
from mpsanalysis.measures import catalogue
from mpsanalysis.measures.assessment import STATUS_ICONS, STATUSES
from mpsanalysis.report.html import csp_meta, escape, figure_cell_html, status_html

__all__ = [
    "write_index",
    "render_index",
    "write_reports_home",
    "changes_html",
    "out_of_date",
    "revised_figures",
    "revised_sources",
    "status_changes",
    "REVISED_COLUMNS",
    "REVISED_SOURCE_COLUMNS",
    "STATUS_CHANGE_COLUMNS",
]


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


def target_elsewhere(objective_id: str, measure_title: str) -> list:
    """The other objectives that set a target for the same measure (by catalogue id),
    when this objective sets none: "Robbery of personal property" has no target under
    Reduce serious violence and a 7% reduction under Reduce personal robbery.

    Examples
    --------
    >>> [o.title for o in target_elsewhere("serious-violence", "Robbery of personal property")]
    ['Reduce personal robbery']
    >>> target_elsewhere("robbery", "Robbery of personal property")
    []
    """
    objectives = catalogue.load_catalogue()
    own = next((m for m in objectives[objective_id].measures if m.title == measure_title), None)
    if own is None or own.target is not None:
        return []
    return [
        other
        for other in objectives.values()
        if other.id != objective_id
        and any(m.id == own.id and m.target is not None for m in other.measures)
    ]


def _status_cell(result, record: dict, results) -> str:
    """The status of one measure of a report; a measure with no target here but one
    under another objective says so, with that report's status for the same area when
    the run holds it, so the two rows of the index do not read as a contradiction."""
    cell = status_html(record["status"])
    if record["status"] != "no target":
        return cell
    for other in target_elsewhere(result.job.objective_id, record["measure"]):
        sibling = next(
            (
                r
                for r in results
                if r.ok
                and r.job.objective_id == other.id
                and r.job.geography == result.job.geography
            ),
            None,
        )
        status = next(
            (
                m["status"]
                for m in ((sibling.summary or {}).get("measures", []) if sibling else [])
                if m["measure"] == record["measure"]
            ),
            None,
        )
        where = escape(other.title)
        if sibling is not None:
            where = f'<a href="{escape(sibling.job.stem)}.html">{where}</a>'
        cell += f"<br>target set under {where}" + (f": {status_html(status)}" if status else "")
    return cell


def _objective_rows(result, results=()) -> str:
    """One ``<tbody>`` for a report: the objective heads its measures' rows (``results``:
    the run's reports, for a measure whose target belongs to another objective)."""
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
            f"<td>{_status_cell(result, m, results)}</td></tr>"
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


#: Columns of :func:`revised_figures`.
REVISED_COLUMNS = [
    "objective_id",
    "objective",
    "measure",
    "geography",
    "classification",
    "month",
    "previous_count",
    "count",
    "difference",
]

#: Columns of :func:`status_changes`.
STATUS_CHANGE_COLUMNS = [
    "objective_id",
    "objective",
    "geography",
    "measure",
    "previous_status",
    "status",
]

#: The most revised-figure rows the index shows (the rest are counted, and all are in
#: :func:`revised_figures`).
REVISED_ROWS_SHOWN = 40


def revised_figures(
    revisions: pd.DataFrame,
    reports: Iterable[tuple[str, str]],
    period_end: str | pd.Period,
    crime: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Figures of already-reported months that a build revised, per measure and place.

    Each changed cell of the borough crime store (``borough_crime_revisions``: one row per
    classification, month, borough and category) is counted towards every catalogue
    measure whose categories it falls in (:func:`mpsanalysis.measures.compute.measure_mask`,
    the rule the reports count by), for each report ``(objective_id, geography)``:
    London takes every row (all boroughs, airports and ``Unknown``, as London figures
    do), a borough only its own rows. Months after ``period_end`` are left out. ``count``
    is the measure's total for the month in the store now (``crime``) and
    ``previous_count`` that total less the revisions' net ``difference``: the whole
    month's figure as reported before, not only the revised cells.

    Parameters
    ----------
    revisions : pandas.DataFrame
        The ``borough_crime_revisions`` table (columns in ``docs/data-sources.md``).
    reports : iterable of (str, str)
        The reports on the page, as (objective id, geography).
    period_end : str or pandas.Period
        The last month of the page's period.
    crime : pandas.DataFrame, optional
        The ``borough_crime`` table now (default: read from the store).

    Returns
    -------
    pandas.DataFrame
        :data:`REVISED_COLUMNS`, one row per objective, measure, geography,
        classification and month whose total changed (``difference`` = ``count`` -
        ``previous_count``, integers), in catalogue and month order.

    Examples
    --------
    >>> rows = pd.DataFrame({"classification": ["new", "new"], "month": ["2016-09", "2016-09"],
    ...     "borough_name": ["Lambeth", "Camden"], "major_category": ["Robbery", "Robbery"],
    ...     "minor_category": ["Robbery of Personal Property"] * 2,
    ...     "previous_count": [100, 50], "count": [103, 49], "difference": [3, -1]})
    >>> crime = rows[["classification", "month", "borough_name", "major_category",
    ...     "minor_category", "count"]]
    >>> crime = pd.concat([crime, crime.head(1).assign(borough_name="Hackney", count=20)])
    >>> out = revised_figures(rows, [("robbery", "London"), ("robbery", "Lambeth")], "2016-12",
    ...                       crime)
    >>> out.loc[out["measure"].eq("Robbery of personal property"),
    ...         ["geography", "month", "previous_count", "count", "difference"]]
      geography    month  previous_count  count  difference
    0    London  2016-09             170    172           2
    1   Lambeth  2016-09             100    103           3
    """
    from mpsanalysis.measures.compute import measure_mask

    end = periods.parse_month(period_end, "period_end")
    frame = revisions.copy()
    frame["month"] = pd.PeriodIndex(frame["month"].astype(str), freq="M")
    frame = frame[frame["month"] <= end]
    for column in ("previous_count", "count", "difference"):
        frame[column] = frame[column].astype("int64")
    if frame.empty:
        return pd.DataFrame(columns=REVISED_COLUMNS).astype(
            {c: "int64" for c in ("previous_count", "count", "difference")}
        )
    if crime is None:
        from mpsanalysis.measures.compute import load_borough_crime

        crime = load_borough_crime()
    now = crime[
        ["classification", "month", "borough_name", "major_category", "minor_category", "count"]
    ].copy()
    now["month"] = pd.PeriodIndex(now["month"].astype(str), freq="M")
    cells = frame[["classification", "month"]].drop_duplicates()
    now = now.merge(cells, on=["classification", "month"])  # only the revised months
    out = []
    for objective_id, geography in dict.fromkeys(reports):
        objective = catalogue.get_objective(objective_id)
        here = frame if geography == boroughs.LONDON else frame[frame["borough_name"].eq(geography)]
        if here.empty:
            continue
        for measure in objective.measures:
            if measure.source != "borough-crime":
                continue
            for classification in measure.categories:
                rows = here[measure_mask(here, measure, classification).to_numpy()]
                if rows.empty:
                    continue
                change = rows.groupby("month")["difference"].sum()
                change = change[change.ne(0)]
                if change.empty:
                    continue
                place = (
                    now if geography == boroughs.LONDON else now[now["borough_name"].eq(geography)]
                )
                place = place[measure_mask(place, measure, classification).to_numpy()]
                total = place.groupby("month")["count"].sum()
                for month, difference in change.items():
                    current = int(total.get(month, 0))
                    out.append(
                        {
                            "objective_id": objective_id,
                            "objective": objective.title,
                            "measure": measure.title,
                            "geography": geography,
                            "classification": classification,
                            "month": str(month),
                            "previous_count": current - int(difference),
                            "count": current,
                            "difference": int(difference),
                        }
                    )
    table = pd.DataFrame(out, columns=REVISED_COLUMNS)
    for column in ("previous_count", "count", "difference"):
        table[column] = table[column].astype("int64")
    return table


def status_changes(previous: dict | None, results) -> pd.DataFrame:
    """Measures whose status differs from the previous quarter's run.

    Parameters
    ----------
    previous : dict or None
        The previous quarter's ``manifest.json`` (as read), or None.
    results : list of JobResult
        The reports on this page; a measure is compared with the previous run's report
        of the same objective and geography, matched by the measure's title. Failed
        reports, and measures with no earlier report, are not compared.

    Returns
    -------
    pandas.DataFrame
        :data:`STATUS_CHANGE_COLUMNS`, in the page's order.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> job = NS(objective_id="robbery", geography="London")
    >>> before = {"reports": [{"objective_id": "robbery", "geography": "London", "ok": True,
    ...     "summary": {"measures": [{"measure": "Robbery of personal property",
    ...                               "status": "met"}]}}]}
    >>> now = NS(job=job, ok=True, summary={"measures": [
    ...     {"measure": "Robbery of personal property", "status": "not met"}]})
    >>> status_changes(before, [now])[["measure", "previous_status", "status"]]
                            measure previous_status   status
    0  Robbery of personal property             met  not met
    """
    earlier: dict[tuple[str, str, str], str] = {}
    for entry in (previous or {}).get("reports", []) or []:
        if not isinstance(entry, dict) or not entry.get("ok"):
            continue
        for m in (entry.get("summary") or {}).get("measures", []) or []:
            key = (str(entry.get("objective_id")), str(entry.get("geography")), str(m["measure"]))
            earlier[key] = str(m.get("status", ""))
    out = []
    for result in results:
        if not result.ok:
            continue
        job = result.job
        for m in (result.summary or {}).get("measures", []) or []:
            before = earlier.get((job.objective_id, job.geography, m["measure"]))
            if before is not None and before != m["status"]:
                out.append(
                    {
                        "objective_id": job.objective_id,
                        "objective": catalogue.get_objective(job.objective_id).title,
                        "geography": job.geography,
                        "measure": m["measure"],
                        "previous_status": before,
                        "status": m["status"],
                    }
                )
    return pd.DataFrame(out, columns=STATUS_CHANGE_COLUMNS)


#: Columns of :func:`revised_sources`.
REVISED_SOURCE_COLUMNS = [
    "table",
    "source",
    "period",
    "previous_count",
    "count",
    "difference",
    "cells",
    "reports",
]


def _tables_read(result) -> set[str]:
    """The store tables a report read, by name (``homicide_victims``)."""
    names = [*(getattr(result, "input_checksums", None) or {}), *(result.inputs or [])]
    return {Path(name).name.removesuffix(".parquet") for name in names}


def revised_sources(
    source_revisions: pd.DataFrame, results, period_end: str | pd.Period
) -> pd.DataFrame:
    """Periods already reported whose figures in another republished source the latest
    build revised, for the sources the reports on the page read.

    Parameters
    ----------
    source_revisions : pandas.DataFrame
        The store's ``source_revisions`` table (one row per changed cell of a republished
        source other than the borough crime files; ``docs/data-sources.md``).
    results : iterable of JobResult
        The reports on the page; a report's tables are those its run recorded reading.
    period_end : str or pandas.Period
        The last month of the page's period: a period that starts after it is left out.

    Returns
    -------
    pandas.DataFrame
        :data:`REVISED_SOURCE_COLUMNS`, one row per source and period:
        ``previous_count`` and ``count`` are the period's whole total in the source (all
        of London), before and now; ``cells`` the number of changed cells; ``reports``
        the reports on the page that read the source, by objective.

    Examples
    --------
    Synthetic rows: a homicide victim added in May 2019, read by two homicide reports:

    >>> from types import SimpleNamespace as NS
    >>> rows = pd.DataFrame({"table": "homicide_victims", "period": "2019-05",
    ...     "first_month": "2019-05", "cell": ["borough_name: Brent"], "difference": [1],
    ...     "previous_period_total": [11], "period_total": [12]})
    >>> job = lambda g: NS(objective_id="homicide", geography=g)
    >>> reads = {"homicide_victims.parquet": "..."}
    >>> results = [NS(job=job(g), inputs=None, input_checksums=reads) for g in ("London", "Brent")]
    >>> out = revised_sources(rows, results, "2025-12")
    >>> out[["period", "previous_count", "count", "difference", "cells"]]
        period  previous_count  count  difference  cells
    0  2019-05              11     12           1      1
    >>> out["reports"].iat[0]
    'Reduce homicide and bring offenders to justice (2 reports)'
    """
    end = periods.parse_month(period_end, "period_end")
    frame = source_revisions[
        pd.PeriodIndex(source_revisions["first_month"].astype(str), freq="M") <= end
    ]
    if frame.empty:
        return pd.DataFrame(columns=REVISED_SOURCE_COLUMNS)
    from mpsanalysis.ingest.revisions import REPUBLISHED

    titles = {spec.table: spec.title for spec in REPUBLISHED}
    readers: dict[str, dict[str, int]] = {}
    for result in results:
        for table in _tables_read(result):
            objective = catalogue.get_objective(result.job.objective_id).title
            counted = readers.setdefault(table, {})
            counted[objective] = counted.get(objective, 0) + 1
    out = []
    for (table, period), rows in frame.groupby(["table", "period"], sort=False):
        if table not in readers:
            continue
        before, now = int(rows["previous_period_total"].iat[0]), int(rows["period_total"].iat[0])
        out.append(
            {
                "table": table,
                "source": titles.get(table, table),
                "period": period,
                "previous_count": before,
                "count": now,
                "difference": now - before,
                "cells": len(rows),
                "reports": "; ".join(
                    f"{objective} ({n} report{'s' if n > 1 else ''})"
                    for objective, n in readers[table].items()
                ),
            }
        )
    return pd.DataFrame(out, columns=REVISED_SOURCE_COLUMNS)


def _store_table(name: str) -> pd.DataFrame | None:
    """A table of the store, or None when there is none."""
    try:
        if not store.table_exists(name):
            return None
        return store.read_table(name)
    except Exception:  # a damaged table is for the build to report, not the index
        return None


def _store_revisions() -> pd.DataFrame | None:
    """The store's ``borough_crime_revisions`` table, or None when there is none."""
    return _store_table("borough_crime_revisions")


def _period_label(period: str) -> str:
    """A month ``2019-05`` as ``May 2019``; a year or financial quarter as it is."""
    if len(period) == 7 and period[4] == "-":
        return f"{periods.parse_month(period):%b %Y}"
    return period


def _sources_html(results, period_end: str) -> str:
    """The revised periods of the other sources the reports on the page read."""
    changed = _store_table("source_revisions")
    if changed is None or changed.empty or not results:
        return ""
    table = revised_sources(changed, results, period_end)
    if table.empty:
        return ""
    from mpsanalysis.report.html import table_html

    shown = table.head(REVISED_ROWS_SHOWN)
    more = (
        f"<p>{len(table) - REVISED_ROWS_SHOWN:,} more revised periods are not shown: "
        "see the store's source_revisions table.</p>"
        if len(table) > REVISED_ROWS_SHOWN
        else ""
    )
    rows = [
        [
            r.source,
            _period_label(r.period),
            f"{r.previous_count:,}",
            f"{r.count:,}",
            f"{r.difference:+,}",
            f"{r.cells:,}",
            r.reports,
        ]
        for r in shown.itertuples(index=False)
    ]
    return (
        "<h3>Revised figures of other sources</h3><p>Periods already reported whose "
        "figures the latest build of the data revises, in the other published sources "
        "that the reports on this page read. Each row gives the period's total for all "
        "of London before and now, and how many of the source's figures changed (a "
        "record moved between boroughs or categories changes figures without changing "
        "the total):</p>"
        + table_html(
            ["Source", "Period", "Was", "Now", "Difference", "Figures changed", "Read by"],
            rows,
            "Revised figures of other sources, old against new",
            row_header=False,
        )
        + more
    )


def _revisions_html(results, period_end: str) -> str:
    """The revised figures of the reports on the page, old against new (or nothing)."""
    revisions = _store_revisions()
    if revisions is None or revisions.empty or not results:
        return ""
    table = revised_figures(
        revisions, [(r.job.objective_id, r.job.geography) for r in results], period_end
    )
    if table.empty:
        return ""
    from mpsanalysis.report.html import table_html

    shown = table.head(REVISED_ROWS_SHOWN)
    more = (
        f"<p>{len(table) - REVISED_ROWS_SHOWN:,} more revised figures are not shown: "
        "see the store's borough_crime_revisions table.</p>"
        if len(table) > REVISED_ROWS_SHOWN
        else ""
    )
    rows = [
        [
            f"{r.objective} ({r.geography})",
            r.measure,
            f"{periods.parse_month(r.month):%b %Y}",
            f"{r.previous_count:,}",
            f"{r.count:,}",
            f"{r.difference:+,}",
        ]
        for r in shown.itertuples(index=False)
    ]
    return (
        "<h3>Revised figures</h3><p>Monthly counts of months already reported that the "
        "latest build of the data revises (the publisher republished them), summed over "
        "the measure's categories for the report's geography:</p>"
        + table_html(
            ["Report", "Measure", "Month", "Was", "Now", "Difference"],
            rows,
            "Revised figures, old against new",
            row_header=False,
        )
        + more
    )


def _status_html(previous: tuple[str, dict] | None, results) -> str:
    """Status changes against the previous quarter's run (or nothing to say)."""
    if previous is None:
        return ""
    label, manifest = previous
    changed = status_changes(manifest, results)
    if changed.empty:
        return ""
    from mpsanalysis.report.html import table_html

    rows = [
        [
            f"{r.objective} ({r.geography})",
            r.measure,
            status_html(r.previous_status),
            status_html(r.status),
        ]
        for r in changed.itertuples(index=False)
    ]
    return (
        f"<h3>Status changes</h3><p>Measures whose status differs from the previous "
        f"quarter's report ({escape(label)}):</p>"
        + table_html(
            ["Report", "Measure", f"Status in {label}", "Status now"],
            rows,
            "Status changes since the previous quarter",
            row_header=False,
            raw_columns=(2, 3),
        )
    )


def changes_html(
    results, period_end: str | None = None, previous: tuple[str, dict] | None = None
) -> str:
    """The "Changes since the previous report" section: measures whose status changed
    since the previous quarter's run, revised figures of months already reported,
    reports that failed, reports reused from the cache and reports built from an older
    data vintage than the store now. Empty when there is nothing to say.

    ``previous`` is (label, manifest) of the previous quarter's run, or None when there
    is none; ``period_end`` defaults to the reports' own."""
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
    if period_end is None and results:
        period_end = max(str(r.job.period_end) for r in results)
    revisions = (
        _revisions_html(results, period_end) + _sources_html(results, period_end)
        if period_end
        else ""
    )
    statuses = _status_html(previous, results)
    if not items and not revisions and not statuses:
        return ""
    if previous is None:
        compared = (
            "<p>There is no earlier report to compare with: no run for the previous "
            "quarter is in the reports folder.</p>"
        )
    elif not statuses:
        compared = (
            f"<p>No measure's status changed since the previous quarter's report "
            f"({escape(previous[0])}).</p>"
        )
    else:
        compared = ""
    listing = f"<ul>{''.join(items)}</ul>" if items else ""
    return (
        f'<h2 id="changes">Changes since the previous report</h2>{compared}{statuses}'
        f"{listing}{revisions}"
    )


def render_index(plan, results, previous: tuple[str, dict] | None = None) -> str:
    """The index page HTML for a run's results; ``previous`` is (label, manifest) of
    the previous quarter's run, for the changes section."""
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
                ("Financial year to date", ' class="num"'),
                ("Change on last year", ' class="num"'),
                ("Status", ""),
            )
        )
        + "</tr></thead>"
    )
    changes = changes_html(results, plan.period_end, previous)
    if changes:
        parts.append(changes)
    table = (
        '<table class="data-table index-table"><caption>Every objective and measure, with '
        f"its figure, change and status</caption>{header}"
        f"{''.join(_objective_rows(r, results) for r in results)}</table>"
    )
    legend = (
        '<h2 id="status-key">Status key</h2><ul class="status-key">'
        + "".join(f"<li>{status_html(s)}</li>" for s in STATUSES if s in STATUS_ICONS)
        + "</ul><p>Status is carried by the icon and the word; colour only helps. "
        # The rule a reader needs to read an 8.7% fall against a 7% reduction target
        # marked "at risk" (Barnet personal robbery, 2025/26 Q3).
        "Before the year ends, a target is on track when both the year so far and the "
        "year-end forecast at the present rate meet it, and at risk when only the year "
        "so far does, or when the shortfall is small or within normal variation; so a "
        "fall larger than a reduction target is at risk when the forecast for the whole "
        "year misses it. "
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


def write_index(plan, results, previous: tuple[str, dict] | None = None) -> Path:
    """Write ``index.html`` for the run's period, and refresh the reports home page."""
    path = _write(plan.output_dir / "index.html", render_index(plan, results, previous))
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
