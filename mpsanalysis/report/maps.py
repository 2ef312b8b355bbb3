"""Borough maps: a greyscale-legible choropleth of a value by borough, and small PNGs.

The choropleth uses colour-blind-safe colour maps: ``cividis`` for levels (sequential,
lightness rising monotonically, so it reads the same in grey) and ``PuOr_r`` for
changes (diverging purple-orange, centred on zero with symmetric limits). Every map has
a labelled colour bar with tick labels, the whole of London in frame, and no value
labels unless asked for (the report gives the values in a table beside the map).
Boroughs without a value are hatched and named in the legend, never shown as zero. The
boundaries come from :func:`mpsanalysis.ingest.sources.maps.read_borough_boundaries`.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mpsanalysis import boroughs
from mpsanalysis.errors import ParameterError
from mpsanalysis.ingest.sources.maps import read_borough_boundaries

if TYPE_CHECKING:  # heavy imports only when used
    import geopandas
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_borough_choropleth", "render_png", "render_png_data_uri"]


def _check_values(values: pd.Series, known: set[str]) -> tuple[pd.Series, list[str]]:
    """The numeric values of mappable boroughs, and notes on what cannot be mapped."""
    if not isinstance(values, pd.Series):
        raise ParameterError("values must be a pandas Series indexed by borough_code")
    index = values.index.astype(str)
    if index.duplicated().any():
        raise ParameterError(f"borough_code {index[index.duplicated()][0]!r} appears twice")
    unmapped = {
        boroughs.AIRPORTS_CODE: "Heathrow and London City airports",
        boroughs.UNKNOWN_CODE: "crimes with no borough ('Unknown')",
    }
    unknown = [c for c in index if c not in known and c not in unmapped]
    if unknown:
        raise ParameterError(
            f"values are indexed by {unknown[0]!r}, which is not a borough code on the map "
            "(expected GSS codes E09000001..E09000033)"
        )
    numeric = pd.to_numeric(pd.Series(values.to_numpy(), index=index), errors="coerce")
    bad = numeric.isna() & pd.Series(values.to_numpy(), index=index).notna()
    if bad.any():
        raise ParameterError(
            f"value for {bad.idxmax()!r} is not a number: {values.iloc[bad.argmax()]!r}"
        )
    notes = []
    for code, label in unmapped.items():
        if code in numeric.index:
            if pd.notna(numeric[code]):
                notes.append(f"Not mapped: {label} ({numeric[code]:,.4g})")
            numeric = numeric.drop(code)
    return numeric, notes


def plot_borough_choropleth(
    values: pd.Series,
    title: str,
    cmap: str | None = None,
    ax: Axes | None = None,
    diverging: bool = False,
    *,
    label: str = "",
    boundaries: geopandas.GeoDataFrame | None = None,
    annotate: bool = False,
    value_format: Callable[[float], str] | None = None,
    source: str | None = None,
) -> Figure:
    """A borough choropleth that stays legible in greyscale.

    Parameters
    ----------
    values : pandas.Series
        One number per borough, indexed by GSS ``borough_code``. Boroughs absent or NaN
        are hatched and labelled "no data"; the airports and "Unknown" pseudo-boroughs
        (no polygon) are named in a footnote with their values.
    title : str
        The map's title.
    cmap : str, optional
        A matplotlib colour map. Default ``"cividis"`` (sequential, lightness rising
        monotonically, colour-blind safe) or ``"PuOr_r"`` when ``diverging`` (purple for
        falls, orange for rises; colour-blind safe).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of about 6.5 x 5.5 inches otherwise.
    diverging : bool
        Centre the colour scale on zero with symmetric limits (for changes); the colour
        bar's tick labels then carry a sign ("+10", "−10").
    label : str
        The colour bar's label (what and which unit, e.g. "crimes per 1,000 residents").
    boundaries : geopandas.GeoDataFrame, optional
        Polygons with ``borough_code`` (default :func:`read_borough_boundaries`).
    annotate : bool, default False
        Print each borough's value, rounded by ``value_format``, on the map. Off by
        default: on 33 small boroughs labels overlap, so reports give the values in a
        table instead.
    value_format : callable, optional
        Formats a value for annotations and the footnote (default thousands with up to
        3 significant decimals).
    source : str, optional
        A source line printed under the map.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not shown and not registered with pyplot, so nothing leaks).

    Raises
    ------
    ParameterError
        When ``values`` is not a Series, has a code that is not a borough on the map,
        a duplicate code, or a value that is not a number.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> squares = gpd.GeoDataFrame({"borough_code": ["E09000002", "E09000003"],
    ...     "borough_name": ["Barking and Dagenham", "Barnet"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=27700)
    >>> fig = plot_borough_choropleth(pd.Series({"E09000002": 4.0}), "Test",
    ...                               boundaries=squares, label="rate")
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['no data (1 borough)']
    >>> bool(fig.axes[0].get_xlim()[0] < 0 < 2 < fig.axes[0].get_xlim()[1])  # all in frame
    True
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, TwoSlopeNorm
    from matplotlib.figure import Figure, SubFigure
    from matplotlib.patches import Patch

    shapes = read_borough_boundaries() if boundaries is None else boundaries
    if "borough_code" not in shapes.columns:
        raise ParameterError("boundaries need a 'borough_code' column")
    numeric, notes = _check_values(values, set(shapes["borough_code"].astype(str)))
    fmt = value_format or _format_value
    data = shapes.assign(value=shapes["borough_code"].astype(str).map(numeric))
    present = data[data["value"].notna()]
    missing = data[data["value"].isna()]

    fig: Figure | SubFigure
    if ax is None:
        fig = Figure(figsize=(6.5, 5.5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(title)

    colour_map = colormaps[cmap or ("PuOr_r" if diverging else "cividis")]
    if len(present):
        low, high = float(present["value"].min()), float(present["value"].max())
        norm: Normalize
        if diverging:
            bound = max(abs(low), abs(high)) or 1.0
            norm = TwoSlopeNorm(vmin=-bound, vcenter=0.0, vmax=bound)
        else:
            norm = Normalize(vmin=low, vmax=high if high > low else low + 1)
        present.plot(
            ax=ax,
            color=colour_map(norm(present["value"].to_numpy())),
            edgecolor="white",
            linewidth=0.6,
        )
        mappable = _scalar_mappable(colour_map, norm)
        bar = fig.colorbar(mappable, ax=ax, shrink=0.7, pad=0.02)
        bar.set_label(label)
        if diverging:
            bar.set_ticks(_symmetric_ticks(bound))
            bar.ax.yaxis.set_major_formatter(_signed_tick)
    if len(missing):
        missing.plot(ax=ax, facecolor="white", edgecolor="0.35", hatch="////", linewidth=0.6)
        count = len(missing)
        ax.legend(
            handles=[Patch(facecolor="white", edgecolor="0.35", hatch="////")],
            labels=[f"no data ({count} borough{'s' if count > 1 else ''})"],
            loc="lower left",
            frameon=False,
            fontsize="small",
        )
    # the whole of London in frame, with a small margin, whatever has a value
    x0, y0, x1, y1 = (float(v) for v in shapes.total_bounds)
    margin = 0.02 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - margin, x1 + margin)
    ax.set_ylim(y0 - margin, y1 + margin)
    if annotate:
        for row in present.itertuples():
            point = row.geometry.representative_point()
            ax.annotate(
                fmt(row.value),
                (point.x, point.y),
                ha="center",
                va="center",
                fontsize=6,
                color="black",
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
            )
    footer = "; ".join([*notes, *([source] if source else [])])
    if footer:
        ax.text(0, -0.02, footer, transform=ax.transAxes, fontsize="x-small", va="top")
    return fig if isinstance(fig, Figure) else fig.figure  # a subfigure's root figure


def _scalar_mappable(colour_map, norm):
    from matplotlib.cm import ScalarMappable

    mappable = ScalarMappable(norm=norm, cmap=colour_map)
    mappable.set_array(np.array([]))
    return mappable


def _symmetric_ticks(bound: float) -> list[float]:
    """Ticks for a colour bar from -bound to bound: zero and the same round steps
    (1, 2, 2.5 or 5 times a power of ten) each side, at least two.

    Examples
    --------
    >>> _symmetric_ticks(23.0)
    [-20.0, -10.0, 0.0, 10.0, 20.0]
    >>> _symmetric_ticks(0.5)
    [-0.5, -0.25, 0.0, 0.25, 0.5]
    """
    half = bound / 2
    magnitude = 10 ** math.floor(math.log10(half))
    step = max(m * magnitude for m in (1, 2, 2.5, 5) if m * magnitude <= half)
    n = int(math.floor(bound / step + 1e-9))
    return [round(k * step, 12) + 0.0 for k in range(-n, n + 1)]


def _signed_tick(value: float, _position: object = None) -> str:
    """A colour bar tick with its sign: '+10', '0', '−10' (true minus sign).

    Examples
    --------
    >>> _signed_tick(10.0), _signed_tick(0.0), _signed_tick(-2.5)
    ('+10', '0', '−2.5')
    """
    if round(value, 6) == 0:
        return "0"
    text = f"{abs(value):,.6g}"
    return ("+" if value > 0 else "−") + text


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def render_png(fig: Figure, dpi: int = 90, max_bytes: int = 150_000) -> bytes:
    """The figure as a small PNG for embedding in a report.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    dpi : int
        Resolution (default 90: sharp on screen, small in an HTML report).
    max_bytes : int
        Upper bound on the PNG's size; the resolution is lowered step by step (to no
        less than 50 dpi) until the PNG fits.

    Returns
    -------
    bytes
        The PNG.

    Raises
    ------
    ParameterError
        When the PNG does not fit in ``max_bytes`` even at 50 dpi.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 2)); _ = fig.add_subplot().plot([0, 1], [0, 1])
    >>> png = render_png(fig)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", len(png) < 150_000
    (True, True)
    """
    if dpi < 50:
        raise ParameterError(f"dpi {dpi} is too low to read: use 50 or more (default 90)")
    resolution = dpi
    while True:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=resolution, metadata={"Software": None})
        png = buffer.getvalue()
        if len(png) <= max_bytes:
            return png
        if resolution <= 50:
            raise ParameterError(
                f"the figure's PNG is {len(png):,} bytes even at 50 dpi (limit {max_bytes:,})"
            )
        resolution = max(50, int(resolution * 0.8))


def render_png_data_uri(fig: Figure, dpi: int = 90, max_bytes: int = 150_000) -> str:
    """The figure as a ``data:image/png;base64,...`` URI for an ``<img src=...>``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> render_png_data_uri(Figure(figsize=(1, 1)))[:22]
    'data:image/png;base64,'
    """
    png = render_png(fig, dpi=dpi, max_bytes=max_bytes)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
