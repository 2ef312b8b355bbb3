"""Charts and sections that are the same on many pages are worked out once per kernel,
and every page still gets the bytes that working them out for that page gives.

Synthetic charts for the mechanism (labelled synthetic in their titles); the real store
for the borough ranking, the maps and the funnel plot.
"""

from __future__ import annotations

import pytest

from mpsanalysis import boroughs
from mpsanalysis.ingest import store
from mpsanalysis.report import html as h
from mpsanalysis.report import sections
from mpsanalysis.report.objective import ObjectiveReport

_PLAIN, _OWN = "#9db0d3", "#1d3c78"


def _bars(highlight: int | None, values=(3.0, 1.0, 4.0, 1.5, 5.0), changes_edge=False):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.5))
    names = [f"Unit {i}" for i in range(len(values))]
    bars = ax.barh(names, values, color=_PLAIN, edgecolor="#333333", linewidth=0.4)
    if highlight is not None:
        bars[highlight].set_facecolor(_OWN)
        bars[highlight].set_hatch("//")
        if changes_edge:  # a second change that the two edits do not make
            bars[highlight].set_linewidth(2)
    ax.set_title("SYNTHETIC bars")
    return fig


def _counting_drawings(monkeypatch) -> list[int]:
    drawn: list[int] = []
    real = h._svg_drawing

    def drawing(fig):
        drawn.append(1)
        return real(fig)

    monkeypatch.setattr(h, "_svg_drawing", drawing)
    h.forget_drawn_charts()
    return drawn


def test_every_bar_highlighted_is_the_bytes_of_drawing_it_so(monkeypatch):
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    drawn = _counting_drawings(monkeypatch)
    pages = [
        h.highlighted_figure_html(_bars, k, 5, _PLAIN, "synthetic", "SYNTHETIC bars.", "Bars.")
        for k in range(5)
    ]
    assert len(drawn) == 2  # no bar highlighted, and the first page's bar
    h.forget_drawn_charts()
    # Each page drawn on its own, the way it was before: a full drawing per page.
    direct = [h.figure_html(_bars(k), "SYNTHETIC bars.", "Bars.") for k in range(5)]
    assert pages == direct
    assert len(set(pages)) == 5


def test_a_highlight_that_changes_more_than_the_fill_is_drawn_on_every_page(monkeypatch):
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    drawn = _counting_drawings(monkeypatch)

    def build(k):
        return _bars(k, changes_edge=True)

    pages = [
        h.highlighted_figure_html(build, k, 5, _PLAIN, "edge", "SYNTHETIC bars.", "Bars.")
        for k in range(3)
    ]
    assert len(drawn) == 2 + 2  # learning (two drawings) failed; then one drawing a page
    h.forget_drawn_charts()
    assert pages == [h.figure_html(build(k), "SYNTHETIC bars.", "Bars.") for k in range(3)]


def test_a_fill_colour_used_elsewhere_in_the_chart_is_never_edited(monkeypatch):
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)

    def build(k):
        fig = _bars(k)
        fig.axes[0].axvline(2.0, color=_PLAIN)  # a line of the bars' colour
        fig.axes[0].fill_betweenx([0, 1], 0, 1, color=_PLAIN)  # and a shape
        return fig

    pages = [
        h.highlighted_figure_html(build, k, 5, _PLAIN, "shape", "SYNTHETIC bars.", "Bars.")
        for k in (1, 3)
    ]
    h.forget_drawn_charts()
    assert pages == [h.figure_html(build(k), "SYNTHETIC bars.", "Bars.") for k in (1, 3)]


def test_no_highlight_and_png_charts_are_drawn_as_before(monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_CHART_FORMAT", "png")
    h.forget_drawn_charts()
    page = h.highlighted_figure_html(_bars, 2, 5, _PLAIN, "png", "SYNTHETIC bars.", "Bars.")
    assert 'src="data:image/png' in page
    assert page == h.figure_html(_bars(2), "SYNTHETIC bars.", "Bars.")
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT")
    plain = h.highlighted_figure_html(_bars, None, 5, _PLAIN, "none", "SYNTHETIC bars.", "Bars.")
    assert plain == h.figure_html(_bars(None), "SYNTHETIC bars.", "Bars.")


def test_the_same_settings_with_other_data_are_another_chart(monkeypatch):
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    h.forget_drawn_charts()
    first = h.highlighted_figure_html(_bars, 1, 5, _PLAIN, ("data", 1), "SYNTHETIC.", "Bars.")

    def other(k):
        return _bars(k, values=(9.0, 1.0, 4.0, 1.5, 5.0))

    second = h.highlighted_figure_html(other, 1, 5, _PLAIN, ("data", 2), "SYNTHETIC.", "Bars.")
    assert first != second
    h.forget_drawn_charts()
    assert second == h.figure_html(other(1), "SYNTHETIC.", "Bars.")


@pytest.mark.realdata
@pytest.mark.parametrize("objective, period", [("robbery", "2025-12"), ("homicide", "2016-12")])
def test_every_boroughs_ranking_is_the_bytes_of_drawing_it_for_that_borough(
    real_store, monkeypatch, objective, period
):
    """All 32 boroughs, on the real store: the ranking each page shows equals the chart
    drawn for that page alone (``plot_borough_comparison`` with the borough highlighted)."""
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    drawings = _counting_drawings(monkeypatch)
    names = [b for b in boroughs.borough_names() if b != boroughs.LONDON]
    reports = {b: ObjectiveReport(objective, period, b) for b in names}
    shown = {b: reports[b].html("borough") for b in names}
    assert len(drawings) == 2  # learnt from the first borough's page, then edited
    for borough in names:
        h.forget_drawn_charts()
        drawn = h.figure_html(reports[borough].figure("borough"), "a", "b")
        image = drawn[drawn.index("<img") : drawn.index(' alt="')]
        assert image in shown[borough], borough
    assert len(set(shown.values())) == len(names)


@pytest.mark.realdata
@pytest.mark.parametrize("section", ["map", "funnel"])
def test_a_section_shared_by_every_page_is_worked_out_once_and_still_read(
    real_store, monkeypatch, section
):
    monkeypatch.delenv("MPSANALYSIS_CHART_FORMAT", raising=False)
    store.forget_shared_tables()
    h.forget_drawn_charts()
    render = {"map": "_borough_map_html", "funnel": "_funnel_html"}[section]
    calls: list[str] = []
    real = getattr(sections, render)

    def counted(*args):
        calls.append(args[0].id)
        return real(*args)

    monkeypatch.setattr(sections, render, counted)
    pages = {}
    for geography in ("London", "Barnet", "Sutton"):
        report = ObjectiveReport("serious-violence", "2025-12", geography)
        store.forget_tables_read()
        pages[geography] = report.html(section)
        # the tables the section reads are this page's inputs, worked out or not
        assert any(p.endswith("borough_population.parquet") for p in store.tables_read())
        assert any(p.endswith("borough_crime.parquet") for p in store.tables_read())
    assert len(calls) == 1
    assert pages["Barnet"] == pages["London"] == pages["Sutton"]
    store.forget_shared_tables()
    h.forget_drawn_charts()
    fresh = ObjectiveReport("serious-violence", "2025-12", "Sutton").html(section)
    assert fresh == pages["Sutton"] and len(calls) == 2
