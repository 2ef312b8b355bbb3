"""Back-tests of the report's statistical rules on the real series, as Markdown tables.

``python -m mpsanalysis.stats.backtests`` prints the tables that ``docs/statistics.md``
quotes (a test keeps the two equal; none is typed by hand):

1. the observed false-alarm rate of the FYTD change test at 5%: exact Poisson, the
   quasi-Poisson test with the dispersion of the 24 months before the year (the rule
   before) and with the dispersion of earlier year-on-year changes (the reports' rule
   now) (:func:`false_alarm_table`);
2. the share of reports whose SPC chart was a sustained signal (every month a special
   cause one way for more than 12 months) under the old baseline rule (the first 20
   months of the classification) and the report's rule (the 24 months before the
   financial year) (:func:`spc_baseline_table`);
3. the year-end forecast back-test for every measure with public data, London
   (:func:`forecast_table`).

It reads the processed store (``MPSANALYSIS_DATA_DIR``) and takes a few minutes (two
processes make the two long tables side by side: :func:`backtest_markdown`).
"""

from __future__ import annotations

import warnings

import pandas as pd

from mpsanalysis import boroughs, periods
from mpsanalysis.errors import ParameterError
from mpsanalysis.measures import catalogue
from mpsanalysis.measures import compute as measures
from mpsanalysis.stats.forecast import backtest_year_end, summarise_backtest
from mpsanalysis.stats.significance import backtest_false_alarm_rate
from mpsanalysis.stats.spc import compute_xmr, detect_sustained_signal
from mpsanalysis.stats.verdicts import report_xmr

__all__ = [
    "public_measures",
    "false_alarm_table",
    "spc_baseline_table",
    "forecast_table",
    "backtest_markdown",
    "main",
]

#: Financial years whose comparison with the year before is a known real change, left
#: out of the "stable periods": COVID-19 (2020/21 against 2019/20, 2021/22 against
#: 2020/21).
UNSTABLE_YEARS = (2020, 2021)
#: The forecast back-test stops here, so that the COVID-19 year is not in it.
FORECAST_END = "2020-03"
#: The baseline rule the reports used before: the first 20 months of each segment.
OLD_BASELINE_POINTS = 20


def public_measures() -> list[catalogue.Measure]:
    """Every measure with public data (London Datastore borough crime), once each.

    Examples
    --------
    >>> "personal-robbery" in [m.id for m in public_measures()]
    True
    """
    found: dict[str, catalogue.Measure] = {}
    for objective_id in catalogue.objective_ids():
        for m in catalogue.get_objective(objective_id).measures:
            if m.source == "borough-crime" and m.unit == "count":
                found.setdefault(m.id, m)
    return list(found.values())


def _series(
    crime: pd.DataFrame, categories: pd.DataFrame, geographies: list[str]
) -> dict[tuple[str, str, str], pd.Series]:
    out = {}
    for m in public_measures():
        for classification in m.categories:
            for geography in geographies:
                series = measures.measure_monthly(m, geography, classification, crime, categories)
                if series.notna().any():
                    out[(m.id, classification, geography)] = series
    return out


def _excluded_years(m: catalogue.Measure, classification: str, months: int) -> set[int]:
    """Years whose compared windows straddle a COVID year or a rebase point."""
    years = set(UNSTABLE_YEARS)
    for point in m.rebase_points(classification):
        month = periods.parse_month(point)
        for year in (periods.financial_year(month), periods.financial_year(month) + 1):
            start = pd.Period(year=year, month=4, freq="M")
            if start - 12 < month <= start + months - 1:
                years.add(year)
    return years


def _rate(flags: pd.Series) -> str:
    return f"{100 * flags.mean():.1f}%" if len(flags) else "–"


def false_alarm_table(
    crime: pd.DataFrame, categories: pd.DataFrame, windows: tuple[int, ...] = (3, 6, 9, 12)
) -> str:
    """Observed false-alarm rates of the FYTD tests at 5%, as a Markdown table.

    Every public measure, both classifications, London and the 32 boroughs: for each
    financial year, the first ``months`` months against the same months a year earlier
    (:func:`~mpsanalysis.stats.significance.backtest_false_alarm_rate`: the dispersion
    from the 24 months before the year, and from the earlier years' changes over the
    same months, at least 3), leaving out the years in :data:`UNSTABLE_YEARS`,
    comparisons that straddle a rebase point and years the report would not test (fewer
    than 3 earlier changes, or 24 months of history all zero). Six-month windows are run
    for every geography; the other lengths for London only (the run takes minutes per
    window).
    """
    geographies = [boroughs.LONDON, *boroughs.borough_names()]
    by_measure = {m.id: m for m in public_measures()}
    rows = []
    for months in windows:
        chosen = geographies if months == 6 else [boroughs.LONDON]
        frames = []
        for (measure_id, classification, geography), series in _series(
            crime, categories, chosen
        ).items():
            frame = backtest_false_alarm_rate({geography: series}, months=months)
            drop = _excluded_years(by_measure[measure_id], classification, months)
            frames.append(frame[~frame["financial_year"].isin(drop)])
        table = pd.concat(frames, ignore_index=True)
        for label, part in (
            ("London", table[table["series"] == boroughs.LONDON]),
            ("32 boroughs", table[table["series"] != boroughs.LONDON]),
        ):
            if part.empty:
                continue
            rows.append(
                f"| {months} | {label} | {len(part):,} | {_rate(part['poisson_significant'])} "
                f"| {_rate(part['quasi_monthly_significant'])} "
                f"| {_rate(part['quasi_significant'])} |"
            )
    header = [
        "| months compared | geography | comparisons | exact Poisson: share called "
        "significant | quasi-Poisson, φ of the 24 months before (old rule) | "
        "quasi-Poisson, φ of earlier year-on-year changes (reports now) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    return "\n".join(header + rows)


def spc_baseline_table(crime: pd.DataFrame, categories: pd.DataFrame) -> str:
    """Reports whose SPC chart is a sustained signal, before and after the baseline rule.

    For every December from the first with two years of data to the latest, every public
    measure with a direction of improvement, London and the 32 boroughs, in the
    classification the report would use (:func:`~mpsanalysis.measures.compute.
    choose_classification`): the chart as the reports drew it before (the first 20
    months of the segment, rebased at the catalogue's points) and as they draw it now
    (:func:`~mpsanalysis.stats.verdicts.report_xmr`, also without its automatic rebase),
    and whether
    :func:`~mpsanalysis.stats.spc.detect_sustained_signal` flags it.
    """
    geographies = [boroughs.LONDON, *boroughs.borough_names()]
    last = measures.last_month_available()
    first_year = crime["month"].min().year + 1
    ends = [
        pd.Period(year=y, month=12, freq="M")
        for y in range(first_year, last.year + 1)
        if pd.Period(year=y, month=12, freq="M") <= last
    ]
    directed = [m for m in public_measures() if m.direction != "neutral"]
    rules = ("old", "report", "new")
    counts = {r: [0, 0] for r in rules}  # [charts, sustained]
    latest = {r: [0, 0] for r in rules}  # [charts, latest month a special cause]
    for m in directed:
        for geography in geographies:
            by_class = {
                c: measures.measure_monthly(m, geography, c, crime, categories)
                for c in m.categories
            }
            for end in ends:
                classification, _ = measures.choose_classification(by_class, end)
                if classification is None:
                    continue
                series = by_class[classification]
                series = series[series.index <= end]
                if series.notna().sum() < 12:
                    continue
                series = series.loc[series.first_valid_index() :]
                rebase = [
                    p
                    for p in m.rebase_points(classification)
                    if series.index[0] < pd.Period(p, "M") <= series.index[-1]
                ]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        old = compute_xmr(series, rebase_at=rebase)
                    except ParameterError:
                        old = None
                plain, _ = report_xmr(
                    series, end, m.rebase_points(classification), automatic_rebases=0
                )
                new, _ = report_xmr(series, end, m.rebase_points(classification))
                for rule, xmr in (("old", old), ("report", plain), ("new", new)):
                    if xmr is None:
                        continue
                    counts[rule][0] += 1
                    counts[rule][1] += detect_sustained_signal(xmr)["sustained"]
                    present = xmr[xmr["value"].notna()]
                    latest[rule][1] += bool(present["special_cause"].iloc[-1])
                    latest[rule][0] += 1
    names = {
        "old": f"first {OLD_BASELINE_POINTS} months of the classification (before)",
        "report": "24 months before the financial year, no automatic rebase",
        "new": "24 months before the financial year, then automatic rebase (now)",
    }
    rows = [
        "| baseline rule | charts | sustained signal (> 12 months one way) | latest month a "
        "special cause |",
        "|---|---:|---:|---:|",
    ]
    for rule in rules:
        n, sustained = counts[rule]
        rows.append(
            f"| {names[rule]} | {n:,} | {sustained:,} ({100 * sustained / n:.1f}%) | "
            f"{latest[rule][1]:,} ({100 * latest[rule][1] / latest[rule][0]:.1f}%) |"
        )
    rows.append("")
    rows.append(
        f"Reports: every December from {ends[0].strftime('%b %Y')} to "
        f"{ends[-1].strftime('%b %Y')}, {len(directed)} measures with a direction of "
        f"improvement, London and the 32 boroughs."
    )
    return "\n".join(rows)


def forecast_table(crime: pd.DataFrame, categories: pd.DataFrame) -> str:
    """Year-end forecast accuracy for every public measure, London, new classification.

    Forecasts from October (7 months elapsed) of each year with every method available
    (:func:`~mpsanalysis.stats.forecast.backtest_year_end` with its default methods),
    on the series up to :data:`FORECAST_END` (before COVID-19).
    """
    rows = [
        "| measure | method | years | MAPE (%) | bias (%) | worst (%) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in public_measures():
        if "new" not in m.categories:
            continue
        series = measures.measure_monthly(m, boroughs.LONDON, "new", crime, categories)
        series = series[series.index <= pd.Period(FORECAST_END, "M")].dropna()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary = summarise_backtest(backtest_year_end(series))
        for method, t in summary.iterrows():
            rows.append(
                f"| {m.title} | {method} | {int(t['years'])} | {t['mape']:.2f} | "
                f"{t['mean_pct_error']:+.2f} | {t['max_abs_pct_error']:.2f} |"
            )
    return "\n".join(rows).replace("+-", "−").replace("| -", "| −")


#: The tables, by name, and the function that makes each from the crime table and its
#: category vintages.
TABLES = {
    "false_alarm": "false_alarm_table",
    "spc_baseline": "spc_baseline_table",
    "forecast": "forecast_table",
}


def _table(name: str) -> str:
    """One table, from the store (run in a worker process by :func:`backtest_markdown`)."""
    crime = measures.load_borough_crime()
    categories = measures.load_category_vintages()
    return globals()[TABLES[name]](crime, categories)


def backtest_markdown(workers: int | None = None) -> dict[str, str]:
    """The three tables, by name (``false_alarm``, ``spc_baseline``, ``forecast``).

    Parameters
    ----------
    workers : int, optional
        Processes to make the tables in (default: one per core, at most two, since the
        false-alarm and SPC tables take about the same time and the forecast one
        seconds); 1 makes them one after the other in this process. Each table is
        deterministic and reads only the store, so the text is the same either way
        (``tests/test_backtests.py`` runs it with two).
    """
    import os

    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, not {workers}")
    crime = measures.load_borough_crime()
    months = crime["month"]
    vintage = (
        f"Data: the processed borough crime store, {months.min().strftime('%b %Y')} to "
        f"{months.max().strftime('%b %Y')}."
    )
    if workers == 1:
        tables = {name: _table(name) for name in TABLES}
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the caller may hold threads (a test session's kernels).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {name: pool.submit(_table, name) for name in TABLES}
            tables = {name: future.result() for name, future in futures.items()}
    tables["false_alarm"] += "\n\n" + vintage
    return tables


def main() -> None:
    """Print the tables as Markdown."""
    tables = backtest_markdown()
    for name, text in tables.items():
        print(f"### {name}\n\n{text}\n")


if __name__ == "__main__":
    main()
