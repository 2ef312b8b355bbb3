"""The statistics' standard charts put their legend below the axes, never over the data
(``mpsanalysis/stats/plotting.py``), on the real charts of a report."""

from __future__ import annotations

import base64
import re

import matplotlib.pyplot as plt
import pytest

from mpsanalysis.report import objective as report
from mpsanalysis.report.html import figure_html

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def london():
    return report.ObjectiveReport("serious-violence", "2025-12")


@pytest.mark.parametrize(
    ("section", "measure", "entries"),
    [
        ("spc", "violence-with-injury", 5),  # mean, limits, baseline, two kinds of point
        ("funnel", None, 7),  # rate, two limits, four kinds of borough (two columns)
        ("evaluation", None, 4),
    ],
)
def test_the_legend_lies_below_the_axes_inside_the_figure(london, section, measure, entries):
    """London, 2025/26 Q3. Before, the funnel plot's legend sat across the boroughs in
    the middle of the chart, and the XmR chart's on its lower limit line. Now each
    legend lies wholly below the axes' tick labels and axis label and inside the figure,
    and the SVG in the page draws every line sample of it (a line outside the figure
    would be clipped away)."""
    fig = london.figure(section, measure) if measure else london.figure(section)
    (ax,) = [a for a in fig.axes if a.get_legend() is not None]
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    labels = ax.xaxis.get_tightbbox(renderer)
    assert len(ax.get_legend().get_texts()) == entries
    assert legend.y1 < labels.y0 < ax.bbox.y0
    assert legend.y0 >= fig.bbox.y0 and legend.x0 >= fig.bbox.x0 and legend.x1 <= fig.bbox.x1
    lines = [h for h in ax.get_legend().get_lines() if len(h.get_xdata())]
    svg = base64.b64decode(re.search(r'base64,([^"]+)"', figure_html(fig, "a", "c")).group(1))
    part = svg.decode()[svg.decode().index('id="legend_1"') :]
    drawn = re.findall(r'<g id="line2d_\d+">\s*<path d="M ', part)
    assert len(drawn) >= len(lines) > 0
    plt.close("all")


@pytest.mark.parametrize(("section", "axis"), [("forecast", "y"), ("funnel", "x")])
def test_counts_on_an_axis_have_thousands_separators(london, section, axis):
    """The forecast's cumulative crimes (London, up to about 250,000) and the funnel
    plot's populations (150,000 to 500,000) were written 250000 and 150000; the report
    writes counts as 250,000 everywhere else."""
    fig = london.figure(section)
    ax = fig.axes[0]
    fig.canvas.draw()
    labels = [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")()]
    large = [label for label in labels if len(label.replace(",", "").lstrip("−-")) > 3]
    assert large and all("," in label for label in large)
    assert all(f"{int(label.replace(',', '')):,}" == label for label in large if label[0].isdigit())
    plt.close("all")
