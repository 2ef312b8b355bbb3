"""The shared sections of every objective report.

A notebook creates an :class:`ObjectiveReport` from its parameters and displays its
sections; everything is computed here, so notebooks stay short and tell the story.
Every figure shown is computed from the data; every piece of text from data is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from mpsanalysis import boroughs, periods
from mpsanalysis.errors import ParameterError
from mpsanalysis.ingest import extracts
from mpsanalysis.measures import catalogue
from mpsanalysis.measures import compute as measures
from mpsanalysis.measures.assessment import (
    STATUS_ICONS,
    STATUSES,
    Assessment,
    assess_against_target,
)
from mpsanalysis.report import charts
from mpsanalysis.report.html import (
    callout_html,
    escape,
    figure_html,
    format_change,
    format_count,
    format_money,
    format_money_change,
    format_percent,
    status_html,
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
    spc: dict | None = None
    xmr: pd.DataFrame | None = None


#: Documented points at which SPC limits are recalculated: a change in what a series
#: counts. old 2017-01: the 2017-18 release renamed minor categories; new 2024-01: the
#: 2024 release regrouped minor categories (e.g. stalking and harassment).
REBASING_POINTS = {"old": ("2017-01",), "new": ("2024-01",)}
SPC_DISPLAY_MONTHS = 36


def _monthly_target(result: measures.MeasureResult) -> float | None:
    """The target as a monthly figure, for SPC assurance (None without one)."""
    target, c = result.measure.target, result.comparison
    if target is None or c is None:
        return None
    if target.type == "reduction" and c.last_year_total and not math.isnan(c.last_year_total):
        return c.last_year_total * (1 - target.percent / 100) / 12
    if target.type == "absolute":
        return target.value / 12
    return None


def _spc(result: measures.MeasureResult) -> tuple[dict | None, pd.DataFrame | None]:
    """XmR chart data and the latest month's variation for a monthly count measure."""
    m = result.measure
    if m.unit not in ("count", "money") or result.monthly.empty or m.direction == "neutral":
        return None, None
    series = result.monthly[result.monthly.index <= result.period_end]
    series = series.loc[series.first_valid_index() :] if series.notna().any() else series
    if series.notna().sum() < 12:
        return None, None
    import warnings

    from mpsanalysis.stats.spc import compute_xmr, summarise_variation

    rebase = [
        p
        for p in REBASING_POINTS.get(result.classification or "", ())
        if series.index[0] < pd.Period(p, "M") <= series.index[-1]
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            xmr = compute_xmr(series, rebase_at=rebase)
        except ParameterError:
            return None, None
        return summarise_variation(xmr, m.direction, _monthly_target(result)), xmr


def _format_value(unit: str, value: float) -> str:
    return format_money(value) if unit == "money" else format_count(value)


def _significance(result: measures.MeasureResult) -> dict | None:
    c = result.comparison
    if c is None or math.isnan(c.current) or math.isnan(c.previous):
        return None
    if result.measure.unit != "count":
        return None
    from mpsanalysis.stats.significance import compare_poisson_counts

    return compare_poisson_counts(int(c.current), int(c.previous))


def _assess(result: measures.MeasureResult) -> Assessment:
    m = result.measure
    target = m.target
    if target is None:
        return assess_against_target(None, math.nan, direction="up", year_complete=False)
    if m.target_geography and result.geography not in m.target_geography:
        return Assessment(
            "not assessed", math.nan, math.nan, "the target applies to other boroughs"
        )
    complete = periods.months_elapsed(result.period_end) == 12
    if target.type in ("minimum-rate", "maximum-rate"):
        if not result.rate_now:
            return assess_against_target(
                target, math.nan, direction=m.direction, year_complete=complete
            )
        from mpsanalysis.stats.significance import assess_rate_against_target

        k, n = result.rate_now
        test = assess_rate_against_target(int(k), int(n), target.percent / 100)
        # One-sided exact test of a shortfall: is the true rate below a minimum target
        # (p_below), or above a maximum one (p_above)?
        p_shortfall = test["p_below"] if target.type == "minimum-rate" else test["p_above"]
        return assess_against_target(
            target,
            result.fytd_rate,
            direction=m.direction,
            year_complete=complete,
            shortfall_significant=p_shortfall < 0.05,
        )
    c = result.comparison
    if c is None:
        return assess_against_target(
            target, math.nan, direction=m.direction, year_complete=complete
        )
    if target.type == "reduction":
        forecast_change = (
            (c.forecast_run_rate - c.last_year_total) / c.last_year_total * 100
            if c.last_year_total and not math.isnan(c.last_year_total)
            else None
        )
        significant = None
        if not math.isnan(c.current) and not math.isnan(c.previous) and c.previous > 0:
            from mpsanalysis.stats.significance import compare_poisson_counts

            test = compare_poisson_counts(
                int(c.current), int(c.previous), exposure_ratio=1 - target.percent / 100
            )
            significant = bool(test["significant"])
        return assess_against_target(
            target,
            c.percent_change,
            direction=m.direction,
            year_complete=complete,
            forecast=forecast_change,
            shortfall_significant=significant,
        )
    position = c.current if complete else c.forecast_run_rate
    return assess_against_target(target, position, direction=m.direction, year_complete=complete)


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
            spc, xmr = _spc(result)
            self.rows.append(_Row(result, _assess(result), _significance(result), spc, xmr))
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
            parts.append(
                callout_html(
                    "figures marked (S) come from the synthetic sample extract shipped with "
                    "mpsanalysis, not from real police data. Do not quote them.",
                    "synthetic",
                )
            )
        if self.provisional:
            parts.append(
                callout_html(
                    "PROVISIONAL: the data for this period was not complete when this report "
                    "was run; figures will change.",
                    "warning",
                )
            )
        return "".join(parts)

    # ------------------------------------------------------------------ sections
    def header_html(self) -> str:
        """Title block: objective, period, geography, data vintage and status summary."""
        o = self.objective
        counts = self.status_counts
        summary = "; ".join(
            f"{STATUS_ICONS[s]} {s}: {counts[s]}" for s in STATUSES if counts.get(s)
        )
        fy = periods.financial_year_label(periods.financial_year(self.period_end))
        items = [
            ("Plan", o.plan),
            ("Lead", o.lead),
            ("Period", f"financial year {fy} to date: {self.window.label}"),
            ("Geography", self.geography),
            ("Data available to", self.last_month.strftime("%B %Y")),
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
            status = status_html(a.status)
            target = m.target.describe(m.direction) if m.target else "none"
            variation = row.spc["variation_label"] if row.spc else "–"
            if not r.supplied:
                out.append([name, "data not supplied", "", "", "", "", target, status, ""])
            elif m.unit == "proportion":
                change = r.fytd_rate - r.last_year_rate
                out.append(
                    [
                        name,
                        format_percent(r.fytd_rate),
                        format_percent(r.last_year_rate),
                        format_change(change, unit=" pts"),
                        "",
                        "",
                        target,
                        status,
                        variation,
                    ]
                )
            elif r.comparison is None:
                out.append([name, "not published", "", "", "", "", target, status, ""])
            else:
                c = r.comparison
                fmt = partial(_format_value, m.unit)
                if math.isnan(c.change):
                    change = "n/a"
                elif m.unit == "money":
                    change = f"{format_money_change(c.change)} ({format_change(c.percent_change)})"
                else:
                    change = f"{format_change(c.change, 0, '')} ({format_change(c.percent_change)})"
                out.append(
                    [
                        name,
                        fmt(c.current),
                        fmt(c.previous),
                        change,
                        fmt(c.forecast_run_rate),
                        fmt(c.forecast_seasonal),
                        target,
                        status,
                        variation,
                    ]
                )
        return out

    def headline_html(self) -> str:
        """The headline table: FYTD, last year, change, forecasts, target and status."""
        last = periods.same_period_last_year(self.window)
        header = [
            "Measure",
            "This year to date",
            "Same period last year",
            "Change",
            "Year-end forecast (present rate)",
            "Year-end forecast (last year's pattern)",
            "Target",
            "Status",
            "Variation (latest month)",
        ]
        table = table_html(
            header,
            self.headline_rows(),
            caption=f"Headline figures: {self.objective.title}, {self.geography}, "
            f"{self.window.label} against {last.label}",
            raw_columns=(7,),
            classes="data-table headline-table",
        )
        notes = [
            f"{row.result.measure.title}: {row.result.note}" for row in self.rows if row.result.note
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
                text = (
                    f"The {title} in {where} is {format_percent(r.fytd_rate)} financial "
                    f"year to date ({format_count(r.rate_now[0])} of "
                    f"{format_count(r.rate_now[1])})"
                )
                if r.rate_before:
                    text += f", compared with {format_percent(r.last_year_rate)} last year"
                sentences.append(text + ".")
                continue
            c = r.comparison
            fmt = partial(_format_value, m.unit)
            if m.unit == "money":
                text = f"{m.title} in {where} total {fmt(c.current)} financial year to date"
            else:
                text = (
                    f"There have been {fmt(c.current)} offences of {title} in {where} "
                    f"financial year to date ({self.window.label})"
                )
                if m.id.endswith("disruptions") or m.id.endswith("orders"):
                    text = f"There have been {fmt(c.current)} {title} in {where} financial year to date"
            if not math.isnan(c.previous):
                if c.change == 0:
                    text += f", the same as in the same period last year ({fmt(c.previous)})"
                else:
                    word = "an increase" if c.change > 0 else "a reduction"
                    amount = fmt(abs(c.change))
                    text += (
                        f", compared with {fmt(c.previous)} in the same period last year: "
                        f"{word} of {format_percent(abs(c.percent_change))} or {amount}"
                    )
            text += "."
            if row.significance:
                text += f" {row.significance['verdict']}."
            if c.months_elapsed < 12 and not math.isnan(c.forecast_run_rate):
                text += (
                    " If the present rate continues, the year will end at around "
                    f"{fmt(round_for_narrative(c.forecast_run_rate))}."
                )
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
            ylabel = {"money": "£ per month"}.get(r.measure.unit, "Offences per month")
            if r.measure.source == "extract" and r.measure.unit == "count":
                ylabel = "Number per month"
            fig, alt = charts.plot_financial_year_months(
                r.monthly, self.period_end, title, ylabel=ylabel
            )
            caption = f"{title}: this financial year against last. Source: {r.source_label}."
            parts.append(figure_html(fig, alt, caption))
        return "".join(parts) or "<p>No monthly series to chart for this period.</p>"

    def borough_html(self, measure_id: str | None = None) -> str:
        """Boroughs compared on one measure: FYTD rate per 1,000 residents where the
        population is known, else counts."""
        rows = [
            r
            for r in self.rows
            if r.result.measure.source == "borough-crime" and r.result.classification
        ]
        if measure_id:
            rows = [r for r in rows if r.result.measure.id == measure_id]
        if not rows:
            return "<p>No borough-level measure is available for this period.</p>"
        r = rows[0].result
        table = measures.borough_breakdown(
            r.measure, self.period_end, r.classification, self._crime
        )
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
            "; population: GLA/ONS borough population (see data sources)."
            if population is not None
            else "."
        )
        return figure_html(fig, alt, caption)

    def spc_html(self) -> str:
        """XmR charts (statistical process control) for each monthly measure with a
        direction of improvement: is the latest month ordinary variation or a signal?"""
        import matplotlib.pyplot as plt

        from mpsanalysis.stats.spc import plot_xmr

        parts = []
        for row in self.rows:
            if row.xmr is None:
                continue
            r = row.result
            shown = row.xmr.iloc[-SPC_DISPLAY_MONTHS:]
            title = f"{r.measure.title}, {self.geography}: monthly XmR chart"
            fig, ax = plt.subplots(figsize=(8, 3.4))
            plot_xmr(shown, r.measure.direction, title, ax=ax)
            signals = int(shown["special_cause"].sum())
            alt = (
                f"{title}, last {len(shown)} months. Mean {shown['mean'].iloc[-1]:,.0f} a "
                f"month, process limits {max(shown['lcl'].iloc[-1], 0):,.0f} to "
                f"{shown['ucl'].iloc[-1]:,.0f}. {signals} of {len(shown)} months show "
                f"special-cause variation. Latest month: {row.spc['variation_label']}."
            )
            caption = (
                f"{title}. Limits are the mean ± 2.66 × the mean moving range of a fixed "
                "baseline (NHS Making Data Count); points outside the limits or in runs "
                "are signals, marked by shape as well as colour."
            )
            parts.append(figure_html(fig, alt, caption))
            parts.append(escape_paragraph(f"{r.measure.title}, latest month: {row.spc['label']}."))
        if not parts:
            return "<p>No monthly series with a direction of improvement to chart.</p>"
        return "".join(parts)

    def forecast_html(self) -> str:
        """Year-end forecasts side by side: present rate, last year's pattern, and a
        seasonal model with an 80% prediction interval and the chance of meeting the
        target."""
        import warnings

        from mpsanalysis.stats.forecast import forecast_year_end_model, plot_forecast

        if periods.months_elapsed(self.period_end) == 12:
            return "<p>The financial year is complete: the figures above are final.</p>"
        rows, charts = [], []
        for row in self.rows:
            r, c = row.result, row.result.comparison
            if c is None or r.measure.unit not in ("count", "money") or math.isnan(c.current):
                continue
            fmt = partial(_format_value, r.measure.unit)
            target_total = None
            t = r.measure.target
            if t is not None and t.type == "reduction" and not math.isnan(c.last_year_total):
                target_total = c.last_year_total * (1 - t.percent / 100)
            elif t is not None and t.type == "absolute":
                target_total = t.value
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    model = forecast_year_end_model(
                        r.monthly,
                        self.period_end,
                        target=target_total,
                        target_direction="up" if r.measure.direction == "up" else "down",
                    )
                except ParameterError as exc:
                    model = None
                    reason = (
                        "needs 36 months of history"
                        if "36 months" in str(exc)
                        else "a month of the year so far has no data"
                    )
                except (ValueError, np.linalg.LinAlgError):
                    model, reason = None, "the model could not be fitted"
            if model is None:
                rows.append(
                    [
                        r.measure.title,
                        fmt(c.forecast_run_rate),
                        fmt(c.forecast_seasonal),
                        f"not available ({reason})",
                        "",
                        "",
                    ]
                )
                continue
            chance = (
                ""
                if model["prob_meeting_target"] is None
                else format_percent(model["prob_meeting_target"] * 100, 0)
            )
            rows.append(
                [
                    r.measure.title,
                    fmt(c.forecast_run_rate),
                    fmt(c.forecast_seasonal),
                    fmt(model["forecast"]),
                    f"{fmt(model['lower'])} to {fmt(model['upper'])}",
                    chance,
                ]
            )
            if target_total is not None or not charts:
                import matplotlib.pyplot as plt

                fig, ax = plt.subplots(figsize=(8, 3.4))
                title = f"{r.measure.title}, {self.geography}: cumulative total and forecast"
                plot_forecast(model, title, ax=ax)
                alt = (
                    f"{title}. {fmt(model['fytd_actual'])} so far; the model forecasts "
                    f"{fmt(model['forecast'])} for the year, 80% interval "
                    f"{fmt(model['lower'])} to {fmt(model['upper'])}"
                    + (f"; chance of meeting the target {chance}." if chance else ".")
                )
                charts.append(figure_html(fig, alt, title + ". Shaded: 80% prediction interval."))
        if not rows:
            return "<p>No measure has a forecast for this period.</p>"
        table = table_html(
            [
                "Measure",
                "Present rate",
                "Last year's pattern",
                "Seasonal model",
                "Seasonal model, 80% interval",
                "Chance of meeting target",
            ],
            rows,
            caption=f"Year-end forecasts, {self.geography}, from {self.window.label}",
        )
        note = (
            "<p>Present rate: the year so far × 12 / months elapsed (the method of the "
            "committee reports). Last year's pattern: the year so far scaled by last "
            "year's full-year total over its same-period total. Seasonal model: "
            "exponential smoothing with seasonality fitted to every month of history "
            "(docs/statistics.md records how each method performed on past years).</p>"
        )
        return table + note + "".join(charts)

    def evaluation_html(
        self,
        measure_id: str,
        start: str,
        geography: str | None = None,
        months_after: int = 24,
        name: str = "the operation",
    ) -> str:
        """Interrupted time series evaluation of an operation starting in ``start``."""
        import warnings

        from mpsanalysis.stats.evaluation import evaluate_intervention, plot_intervention

        if not start:
            return (
                "<p>No operation to evaluate: set the notebook's evaluation parameters "
                "(measure, first month and geography).</p>"
            )
        where = boroughs.validate_geography(geography or self.geography)
        begin = periods.parse_month(start, "evaluation_start")
        measure = self.objective.measure(measure_id)
        crime = self._crime
        categories = measures.load_category_vintages()
        last = min(self.period_end, begin + months_after - 1)
        best = None
        for classification in measures.CLASSIFICATION_ORDER:
            series = measures.measure_monthly(measure, where, classification, crime, categories)
            series = series[series.index <= last].dropna()
            if len(series[series.index < begin]) >= 12 and len(series[series.index >= begin]) >= 6:
                best = (classification, series)
                break
        if best is None:
            return escape_paragraph(
                f"{measure.title} in {where} cannot be evaluated from {begin.strftime('%B %Y')}"
                f" with data up to {self.period_end.strftime('%B %Y')}: the method needs at "
                "least 12 months before the start and 6 after, in one crime classification."
            )
        classification, series = best
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = evaluate_intervention(series, begin)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 3.6))
        title = f"{measure.title}, {where}: {name} from {begin.strftime('%b %Y')}"
        plot_intervention(result, title, ax=ax)
        step = (
            f"level changed by a factor of {result['step_rate_ratio']:.2f} (95% CI "
            f"{result['step_ci_low']:.2f} to {result['step_ci_high']:.2f})"
        )
        slope = (
            f"monthly trend changed by a factor of {result['slope_rate_ratio']:.3f} (95% "
            f"CI {result['slope_ci_low']:.3f} to {result['slope_ci_high']:.3f})"
        )
        post = result["post_period"]
        text = (
            f"Over the {result['n_after']} months from {begin.strftime('%B %Y')}, "
            f"{measure.title.lower()} in {where} was {format_count(post['observed'].sum())} "
            f"against {format_count(post['counterfactual'].sum())} expected had the earlier "
            f"level, trend and seasonal pattern continued "
            f"({format_change(result['effect_pct'])}). "
            f"At the start the {step}; the {slope}."
        )
        alt = f"{title}. {text}"
        caption = (
            f"{title}: observed, fitted and counterfactual (no operation). Segmented "
            "quasi-Poisson regression with seasonal terms; "
            f"{measures.CLASSIFICATION_LABELS[classification]}."
        )
        return (
            escape_paragraph(text)
            + figure_html(fig, alt, caption)
            + escape_paragraph(
                "A change at the start of an operation is consistent with an effect but does not "
                "prove one: anything else that changed in the same month would show the same way."
            )
        )

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
                        f" This report uses {measures.CLASSIFICATION_LABELS[r.classification]}."
                    )
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
            records.append(
                {
                    "measure": row.result.measure.title,
                    "figure": cells[1],
                    "change": cells[3],
                    "status": row.assessment.status,
                    "synthetic": row.result.synthetic,
                }
            )
        return {
            "objective": self.objective.id,
            "title": self.objective.title,
            "geography": self.geography,
            "period_end": str(self.period_end),
            "synthetic": self.synthetic,
            "provisional": self.provisional,
            "measures": records,
        }

    @staticmethod
    def show_html(html: str) -> None:
        """Display HTML built by a section method (e.g. evaluation_html) in the notebook."""
        from IPython.display import HTML, display

        display(HTML(html))

    def show(self, section: str) -> None:
        """Display a section in the notebook (header, headline, narrative, trend,
        borough, notes, summary)."""
        from IPython.display import HTML, display

        if section == "summary":
            display({SUMMARY_MIMETYPE: self.summary()}, raw=True)
            return
        renderers = {
            "header": self.header_html,
            "headline": self.headline_html,
            "narrative": self.narrative_html,
            "trend": self.trend_html,
            "borough": self.borough_html,
            "notes": self.notes_html,
            "spc": self.spc_html,
            "forecast": self.forecast_html,
        }
        if section not in renderers:
            raise ParameterError(f"section {section!r} is not one of {', '.join(renderers)}")
        display(HTML(renderers[section]()))


def escape_paragraph(text: str) -> str:
    """A paragraph of escaped text."""
    return f"<p>{escape(text)}</p>"


def _borough_population(year: int) -> pd.Series | None:
    """Population by borough GSS code for a year, or None when not in the store."""
    try:
        from mpsanalysis.ingest.sources.population import read_borough_population
    except ImportError:
        return None
    try:
        table = read_borough_population(year)
    except Exception:  # the population table is optional for this chart
        return None
    return table.set_index("borough_code")["population"]
