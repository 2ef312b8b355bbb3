"""The shared sections of every objective report.

A notebook creates an :class:`ObjectiveReport` from its parameters and displays its
sections; everything is computed here, so notebooks stay short and tell the story.
Every figure shown is computed from the data; every piece of text from data is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from mpsanalysis import boroughs, catalogue, charts, extracts, measures, periods
from mpsanalysis.assessment import STATUS_ICONS, Assessment, assess_against_target
from mpsanalysis.errors import ParameterError
from mpsanalysis.html import (
    callout_html,
    escape,
    figure_html,
    format_change,
    format_count,
    format_money,
    format_percent,
    table_html,
)

__all__ = ["ObjectiveReport", "SUMMARY_MIMETYPE", "round_for_narrative", "check_period"]

SUMMARY_MIMETYPE = "application/vnd.mpsanalysis.summary+json"


def round_for_narrative(value: float) -> float:
    """Round a forecast to two significant figures for "around N" sentences.

    Examples
    --------
    >>> round_for_narrative(9079.4), round_for_narrative(428.6), round_for_narrative(31.7)
    (9100.0, 430.0, 32.0)
    """
    if value is None or math.isnan(value) or value == 0:
        return value
    digits = 2 - int(math.floor(math.log10(abs(value)))) - 1
    return float(round(value, digits))


def check_period(period_end: str | pd.Period, last_month: pd.Period) -> pd.Period:
    """Validate a reporting period against the data: a month, not beyond the last one.

    Examples
    --------
    >>> check_period("2026-01", pd.Period("2025-12", "M"))
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.ParameterError: period_end '2026-01' is beyond the data: the latest month available is 2025-12
    """
    end = periods.parse_month(period_end)
    if end > last_month:
        raise ParameterError(
            f"period_end '{end}' is beyond the data: the latest month available is {last_month}"
        )
    return end


@dataclass
class _Row:
    result: measures.MeasureResult
    assessment: Assessment
    significance: dict | None


def _format_value(unit: str, value: float) -> str:
    return format_money(value) if unit == "money" else format_count(value)


def _significance(result: measures.MeasureResult) -> dict | None:
    c = result.comparison
    if c is None or math.isnan(c.current) or math.isnan(c.previous):
        return None
    if result.measure.unit != "count":
        return None
    from mpsanalysis.significance import compare_poisson_counts

    return compare_poisson_counts(int(c.current), int(c.previous))


def _assess(result: measures.MeasureResult) -> Assessment:
    m = result.measure
    target = m.target
    if target is None:
        return assess_against_target(None, math.nan, direction="up", year_complete=False)
    if m.target_geography and result.geography not in m.target_geography:
        return Assessment("not assessed", math.nan, math.nan,
                          "the target applies to other boroughs")
    complete = periods.months_elapsed(result.period_end) == 12
    if target.type in ("minimum-rate", "maximum-rate"):
        if not result.rate_now:
            return assess_against_target(target, math.nan, direction=m.direction,
                                         year_complete=complete)
        from mpsanalysis.significance import assess_rate_against_target

        k, n = result.rate_now
        test = assess_rate_against_target(int(k), int(n), target.percent / 100)
        return assess_against_target(
            target, result.fytd_rate, direction=m.direction, year_complete=complete,
            shortfall_significant=test.get("p_value", 1.0) < 0.05,
        )
    c = result.comparison
    if c is None:
        return assess_against_target(target, math.nan, direction=m.direction,
                                     year_complete=complete)
    if target.type == "reduction":
        forecast_change = (
            (c.forecast_run_rate - c.last_year_total) / c.last_year_total * 100
            if c.last_year_total and not math.isnan(c.last_year_total) else None
        )
        significant = None
        if not math.isnan(c.current) and not math.isnan(c.previous) and c.previous > 0:
            from mpsanalysis.significance import compare_poisson_counts

            test = compare_poisson_counts(int(c.current), int(c.previous),
                                          exposure_ratio=1 - target.percent / 100)
            significant = bool(test["significant"])
        return assess_against_target(
            target, c.percent_change, direction=m.direction, year_complete=complete,
            forecast=forecast_change, shortfall_significant=significant,
        )
    position = c.current if complete else c.forecast_run_rate
    return assess_against_target(target, position, direction=m.direction,
                                 year_complete=complete)


class ObjectiveReport:
    """Everything an objective report shows, for one period and geography.

    Parameters
    ----------
    objective_id : str
        An objective in the catalogue, e.g. ``serious-violence``.
    period_end : str
        Last month of the reporting period, ``YYYY-MM``.
    geography : str
        ``London`` or a borough name.
    extract_source : str
        Internal extracts: "" for ``data/raw/extracts/``, ``sample`` for the SYNTHETIC
        sample, or a file or folder.
    provisional : bool
        The data for the period is not complete: every page says PROVISIONAL.
    """

    def __init__(
        self,
        objective_id: str,
        period_end: str,
        geography: str = "London",
        extract_source: str = "",
        provisional: bool = False,
    ) -> None:
        self.objective = catalogue.get_objective(objective_id)
        self.geography = boroughs.validate_geography(geography)
        self.last_month = measures.last_month_available()
        self.period_end = check_period(period_end, self.last_month)
        self.window = periods.fytd_window(self.period_end)
        self.provisional = provisional
        self.extract_table = extracts.load_extracts(extract_source)
        crime = measures.load_borough_crime()
        categories = measures.load_category_vintages()
        self.rows: list[_Row] = []
        for measure in self.objective.measures:
            result = measures.compute_measure(
                measure, self.geography, self.period_end, crime, categories, self.extract_table
            )
            self.rows.append(_Row(result, _assess(result), _significance(result)))
        self._crime = crime

    # ------------------------------------------------------------------ helpers
    @property
    def synthetic(self) -> bool:
        """Whether any figure comes from the SYNTHETIC sample extract."""
        return any(row.result.synthetic for row in self.rows)

    @property
    def status_counts(self) -> Counter:
        return Counter(row.assessment.status for row in self.rows)

    def _banner(self) -> str:
        parts = []
        if self.synthetic:
            parts.append(callout_html(
                "figures marked (S) come from the synthetic sample extract shipped with "
                "mpsanalysis, not from real police data. Do not quote them.", "synthetic"))
        if self.provisional:
            parts.append(callout_html(
                "PROVISIONAL: the data for this period was not complete when this report "
                "was run; figures will change.", "warning"))
        return "".join(parts)

    # ------------------------------------------------------------------ sections
    def header_html(self) -> str:
        """Title block: objective, period, geography, data vintage and status summary."""
        o = self.objective
        counts = self.status_counts
        summary = ", ".join(
            f"{STATUS_ICONS[s]} {n} {s}" for s, n in sorted(counts.items()) if n
        )
        fy = periods.financial_year_label(periods.financial_year(self.period_end))
        items = [
            ("Objective", o.title),
            ("Plan", o.plan),
            ("Lead", o.lead),
            ("Period", f"financial year {fy} to date: {self.window.label}"),
            ("Geography", self.geography),
            ("Data up to", self.last_month.strftime("%B %Y")),
            ("Status", summary),
        ]
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items)
        return (
            f'<header class="report-header"><h1>{escape(o.title)}</h1>'
            f'<dl class="report-meta">{rows}</dl></header>{self._banner()}'
        )

    def headline_rows(self) -> list[list[str]]:
        """The headline table's cells (text), one row per measure."""
        out = []
        for row in self.rows:
            r, a = row.result, row.assessment
            m = r.measure
            name = m.title + (" (proxy)" if m.proxy else "") + (" (S)" if r.synthetic else "")
            status = (
                f'<span class="status status-{escape(a.status.replace(" ", "-"))}">'
                f'<span aria-hidden="true">{STATUS_ICONS[a.status]}</span> {escape(a.status)}</span>'
            )
            target = m.target.describe(m.direction) if m.target else "none"
            if not r.supplied:
                out.append([name, "data not supplied", "", "", "", "", target, status])
            elif m.unit == "proportion":
                change = r.fytd_rate - r.last_year_rate
                out.append([
                    name, format_percent(r.fytd_rate), format_percent(r.last_year_rate),
                    format_change(change, unit=" pts"), "", "", target, status,
                ])
            elif r.comparison is None:
                out.append([name, "not published", "", "", "", "", target, status])
            else:
                c = r.comparison
                fmt = (lambda v: _format_value(m.unit, v))
                change = "n/a" if math.isnan(c.change) else (
                    f"{format_change(c.change, 0, '') if m.unit != 'money' else format_money(c.change)}"
                    f" ({format_change(c.percent_change)})"
                )
                out.append([
                    name, fmt(c.current), fmt(c.previous), change,
                    fmt(c.forecast_run_rate), fmt(c.forecast_seasonal), target, status,
                ])
        return out

    def headline_html(self) -> str:
        """The headline table: FYTD, last year, change, forecasts, target and status."""
        last = periods.same_period_last_year(self.window)
        header = [
            "Measure", f"FYTD {self.window.label}", f"Same period last year ({last.label})",
            "Change", "Year-end forecast (present rate)", "Year-end forecast (last year's pattern)",
            "Target", "Status",
        ]
        table = table_html(
            header, self.headline_rows(),
            caption=f"Headline figures: {self.objective.title}, {self.geography}, "
                    f"{self.window.label}",
            raw_columns=(7,), classes="data-table headline-table",
        )
        notes = [
            f"{row.result.measure.title}: {row.result.note}"
            for row in self.rows if row.result.note
        ]
        notes_html = "".join(callout_html(n, "note") for n in notes)
        return table + notes_html

    def narrative_sentences(self) -> list[str]:
        """Plain sentences in the style of the reference reports, built from the figures."""
        sentences = []
        where = "London" if self.geography == boroughs.LONDON else self.geography
        for row in self.rows:
            r = row.result
            m = r.measure
            title = m.title[0].lower() + m.title[1:]
            if not r.supplied or (r.comparison is None and m.unit != "proportion"):
                continue
            if m.unit == "proportion":
                if not r.rate_now:
                    continue
                text = (f"The {title} in {where} is {format_percent(r.fytd_rate)} financial "
                        f"year to date ({format_count(r.rate_now[0])} of "
                        f"{format_count(r.rate_now[1])})")
                if r.rate_before:
                    text += f", compared with {format_percent(r.last_year_rate)} last year"
                sentences.append(text + ".")
                continue
            c = r.comparison
            fmt = (lambda v: _format_value(m.unit, v))
            if m.unit == "money":
                text = f"{m.title} in {where} total {fmt(c.current)} financial year to date"
            else:
                text = (f"There have been {fmt(c.current)} offences of {title} in {where} "
                        f"financial year to date ({self.window.label})")
                if m.id.endswith("disruptions") or m.id.endswith("orders"):
                    text = f"There have been {fmt(c.current)} {title} in {where} financial year to date"
            if not math.isnan(c.previous):
                if c.change == 0:
                    text += f", the same as in the same period last year ({fmt(c.previous)})"
                else:
                    word = "an increase" if c.change > 0 else "a reduction"
                    amount = fmt(abs(c.change))
                    text += (f", compared with {fmt(c.previous)} in the same period last year: "
                             f"{word} of {format_percent(abs(c.percent_change))} or {amount}")
            text += "."
            if row.significance:
                text += f" {row.significance['verdict']}."
            if c.months_elapsed < 12 and not math.isnan(c.forecast_run_rate):
                text += (" If the present rate continues, the year will end at around "
                         f"{fmt(round_for_narrative(c.forecast_run_rate))}.")
            sentences.append(text.replace("..", "."))
        return sentences

    def narrative_html(self) -> str:
        sentences = self.narrative_sentences()
        if not sentences:
            return "<p>No measure has figures for this period.</p>"
        return "".join(f"<p>{escape(s)}</p>" for s in sentences)

    def trend_html(self) -> str:
        """This financial year against last, month by month, for each count measure."""
        parts = []
        for row in self.rows:
            r = row.result
            if r.measure.unit not in ("count", "money") or r.monthly.empty:
                continue
            title = f"{r.measure.title}, {self.geography}"
            fig, alt = charts.plot_financial_year_months(r.monthly, self.period_end, title)
            caption = f"{title}: this financial year against last. Source: {r.source_label}."
            parts.append(figure_html(fig, alt, caption))
        return "".join(parts) or "<p>No monthly series to chart for this period.</p>"

    def borough_html(self, measure_id: str | None = None) -> str:
        """Boroughs compared on one measure: FYTD rate per 1,000 residents where the
        population is known, else counts."""
        rows = [r for r in self.rows if r.result.measure.source == "borough-crime"
                and r.result.classification]
        if measure_id:
            rows = [r for r in rows if r.result.measure.id == measure_id]
        if not rows:
            return "<p>No borough-level measure is available for this period.</p>"
        r = rows[0].result
        table = measures.borough_breakdown(r.measure, self.period_end, r.classification,
                                           self._crime)
        values, label, london = table["current"], "Offences, financial year to date", None
        population = _borough_population(periods.financial_year(self.period_end))
        if population is not None:
            pop = population.reindex(table["borough_code"]).to_numpy()
            values = table["current"] / pop * 1000
            label = "Offences per 1,000 residents, financial year to date"
            london = table["current"].sum() / pop.sum() * 1000
        highlight = None if self.geography == boroughs.LONDON else self.geography
        title = f"{r.measure.title} by borough, {self.window.label}"
        fig, alt = charts.plot_borough_comparison(values, title, label, highlight, london)
        caption = f"{title}. Source: {r.source_label}" + (
            "; population: GLA/ONS borough population (see data sources)." if population is not None
            else "."
        )
        return figure_html(fig, alt, caption)

    def notes_html(self) -> str:
        """Definitions of the measures: categories per classification, proxies, caveats."""
        items = []
        for row in self.rows:
            m, r = row.result.measure, row.result
            text = f"<strong>{escape(m.title)}</strong>: "
            if m.source == "borough-crime":
                text += escape(f"London Datastore categories — {m.describe_categories()}.")
                if r.classification:
                    text += escape(
                        f" This report uses {measures.CLASSIFICATION_LABELS[r.classification]}.")
            else:
                text += escape(f"internal extract measure '{m.extract_measure}'.")
            if m.proxy:
                text += " <em>Proxy measure.</em>"
            if m.notes:
                text += " " + escape(m.notes)
            text += escape(f" Assessment: {row.assessment.reason}.")
            items.append(f"<li>{text}</li>")
        return f'<ul class="measure-notes">{"".join(items)}</ul>'

    def summary(self) -> dict:
        """Machine-readable summary for the index page."""
        records = []
        for row, cells in zip(self.rows, self.headline_rows(), strict=True):
            records.append({
                "measure": row.result.measure.title,
                "figure": cells[1],
                "change": cells[3],
                "status": row.assessment.status,
                "synthetic": row.result.synthetic,
            })
        return {
            "objective": self.objective.id,
            "title": self.objective.title,
            "geography": self.geography,
            "period_end": str(self.period_end),
            "synthetic": self.synthetic,
            "provisional": self.provisional,
            "measures": records,
        }

    def show(self, section: str) -> None:
        """Display a section in the notebook (header, headline, narrative, trend,
        borough, notes, summary)."""
        from IPython.display import HTML, display

        if section == "summary":
            display({SUMMARY_MIMETYPE: self.summary()}, raw=True)
            return
        renderers = {
            "header": self.header_html, "headline": self.headline_html,
            "narrative": self.narrative_html, "trend": self.trend_html,
            "borough": self.borough_html, "notes": self.notes_html,
        }
        if section not in renderers:
            raise ParameterError(f"section {section!r} is not one of {', '.join(renderers)}")
        display(HTML(renderers[section]()))


def _borough_population(year: int) -> pd.Series | None:
    """Population by borough GSS code for a year, or None when not in the store."""
    try:
        from mpsanalysis.sources.population import read_borough_population
    except ImportError:
        return None
    try:
        table = read_borough_population(year)
    except Exception:  # the population table is optional for this chart
        return None
    return table.set_index("borough_code")["population"]
