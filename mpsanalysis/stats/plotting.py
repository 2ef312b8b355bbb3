"""What the statistics' standard charts share: a legend below the axes, never over data,
and counts on an axis written with thousands separators.

Inside the axes, matplotlib's ``loc="best"`` legend of an XmR chart sat on the limit
lines and the points, and a funnel plot's eight entries sat across its boroughs. The
standard charts (:func:`~mpsanalysis.stats.spc.plot_xmr`,
:func:`~mpsanalysis.stats.funnel.plot_funnel`,
:func:`~mpsanalysis.stats.evaluation.plot_intervention`) put it below the axes, in
rows, and :func:`figure_with_room_below` makes a figure whose axes have the size they
would have without the legend and enough height below them to hold it, inside the
figure (a one-drawing SVG, ``report/svg.py``, clips lines at the figure's edge).
"""

from __future__ import annotations

import math

__all__ = [
    "LEGEND_DROP_POINTS",
    "LEGEND_ROW_POINTS",
    "LEGEND_PAD_POINTS",
    "figure_with_room_below",
    "legend_below",
    "thousands",
    "label_thousands",
]

#: How far below the axes a legend starts, in points: below the tick labels and the
#: axis label at the house style's sizes.
LEGEND_DROP_POINTS = 34
#: The height of a row of legend entries in small text, and the legend's padding (its
#: own border and its distance from the anchor), in points: measured 13.5 a row and 6.5
#: in all on the XmR, funnel and intervention charts.
LEGEND_ROW_POINTS = 14
LEGEND_PAD_POINTS = 10


def figure_with_room_below(width: float, height: float, entries: int, columns: int = 3):
    """A figure and axes with room below the axes for a legend of ``entries`` entries
    in ``columns`` columns.

    The axes have the size and place they would have in a ``width`` x ``height`` inch
    figure with matplotlib's margins; the figure is taller by what the margin below the
    axes lacks to hold the tick labels, the axis label and the legend
    (:data:`LEGEND_DROP_POINTS`, plus :data:`LEGEND_ROW_POINTS` per row and
    :data:`LEGEND_PAD_POINTS`), all of it below the axes.

    Examples
    --------
    Two rows of three: the margin below must be (34 + 2 x 14 + 10) / 72 = 1.0 inch,
    and matplotlib's is 0.11 x 3.4 = 0.374, so the figure is 0.626 inches taller:

    >>> fig, ax = figure_with_room_below(8, 3.4, entries=5)
    >>> [round(float(v), 3) for v in fig.get_size_inches()]
    [8.0, 4.026]
    >>> round(float(ax.get_position().height) * 4.026, 3), round((0.88 - 0.11) * 3.4, 3)
    (2.618, 2.618)
    >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    import matplotlib.pyplot as plt

    rows = math.ceil(entries / columns)
    below = (LEGEND_DROP_POINTS + rows * LEGEND_ROW_POINTS + LEGEND_PAD_POINTS) / 72
    room = max(0.0, below - plt.rcParams["figure.subplot.bottom"] * height)
    total = height + room
    fig, ax = plt.subplots(figsize=(width, total))
    params = fig.subplotpars
    fig.subplots_adjust(
        bottom=(params.bottom * height + room) / total,
        top=1 - (1 - params.top) * height / total,
    )
    return fig, ax


def legend_below(ax, columns: int = 3) -> None:
    """The axes' legend, below its tick labels and axis label, in ``columns`` columns,
    small and without a frame.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = figure_with_room_below(6, 3, entries=2, columns=2)
    >>> _ = ax.plot([0, 1], label="a"), ax.plot([1, 0], label="b")
    >>> legend_below(ax, columns=2)
    >>> fig.canvas.draw()
    >>> box = ax.get_legend().get_window_extent()
    >>> bool(box.y1 < ax.bbox.y0 and box.y0 >= 0)
    True
    >>> plt.close(fig)
    """
    from matplotlib.transforms import offset_copy

    below = offset_copy(ax.transAxes, fig=ax.figure, y=-LEGEND_DROP_POINTS, units="points")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=below,
        ncol=columns,
        fontsize="small",
        frameon=False,
    )


def thousands(value: float, _position: int | None = None) -> str:
    """A tick label with thousands separators (a named function, not a lambda, so that the
    figure can be pickled: :func:`mpsanalysis.report.html.figure_html` keys drawn charts
    on the pickle).

    Examples
    --------
    >>> thousands(12345.0), thousands(250000)
    ('12,345', '250,000')
    """
    return f"{value:,.0f}"


def label_thousands(axis) -> None:
    """Write an axis's whole-number tick labels with thousands separators (250,000, not
    250000), as the reports write counts.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 250_000])
    >>> label_thousands(ax.yaxis)
    >>> ax.yaxis.get_major_formatter()(250000)
    '250,000'
    >>> plt.close(fig)
    """
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(thousands))
