"""Borough maps: the boundaries, a greyscale-legible choropleth, and small PNGs.

The boundaries are the ONS generalised (20 m) local authority district polygons of
December 2022 for London, in British National Grid (EPSG:27700), from
``geography/borough/london-2021-lad22-gen20.shp`` (the full-resolution GeoJSON in the
same folder is used only when the shapefile is absent). They are read once per folder
and cached.

The choropleth uses a sequential colour map whose lightness rises monotonically
(``cividis`` by default), so it reads the same when printed in grey; boroughs without
a value are hatched and named in the legend, never shown as zero.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import DataValidationError, ParameterError

if TYPE_CHECKING:  # heavy imports only when used
    import geopandas
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "BOUNDARY_FILE",
    "BOUNDARY_FOLDER",
    "read_borough_boundaries",
    "plot_borough_choropleth",
    "render_png",
    "render_png_data_uri",
    "build_borough_boundaries",
]

#: The generalised borough shapefile (British National Grid).
BOUNDARY_FILE = "london-2021-lad22-gen20.shp"
#: Its folder relative to the raw root (the mirror's layout).
BOUNDARY_FOLDER = "geography/borough"
_GEOJSON_FILE = "London_Borough_Excluding_MHW.geojson"
_BNG = 27700
_CACHE: dict[Path, geopandas.GeoDataFrame] = {}


def _default_folder() -> Path:
    for root in (paths.raw_dir(), paths.default_mirror()):
        if root is not None and (root / BOUNDARY_FOLDER).is_dir():
            return root / BOUNDARY_FOLDER
    raise DataValidationError(
        f"no borough boundaries: data/raw/{BOUNDARY_FOLDER} is missing (run `mpsanalysis fetch`)"
    )


def read_borough_boundaries(folder: str | Path | None = None) -> geopandas.GeoDataFrame:
    """The 33 London borough polygons in British National Grid, read once and cached.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        The boundary folder (default ``data/raw/geography/borough``, else the mirror's).

    Returns
    -------
    geopandas.GeoDataFrame
        ``borough_code`` (GSS), ``borough_name`` (canonical spelling), ``geometry``;
        CRS EPSG:27700. A copy of the cached table, so callers may modify it.

    Raises
    ------
    DataValidationError
        When neither boundary file is there, or the file does not hold the 33 London
        boroughs with codes and names that agree with :mod:`mpsanalysis.boroughs`.
    """
    folder = Path(folder).resolve() if folder is not None else _default_folder().resolve()
    if folder not in _CACHE:
        _CACHE[folder] = _read_boundaries(folder)
    return _CACHE[folder].copy()


def _read_boundaries(folder: Path) -> geopandas.GeoDataFrame:
    import geopandas as gpd

    shp, geojson = folder / BOUNDARY_FILE, folder / _GEOJSON_FILE
    if shp.exists():
        path, code, name = shp, "LAD22CD", "LAD22NM"
    elif geojson.exists():
        path, code, name = geojson, "GSS_CODE", "NAME"
    else:
        raise DataValidationError(
            f"no borough boundary file ({BOUNDARY_FILE} or {_GEOJSON_FILE}) in {folder.name}/"
        )
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for a damaged file
        raise DataValidationError(
            f"cannot be read as boundaries ({type(exc).__name__})", file=path.name
        ) from exc
    for column in (code, name):
        if column not in frame.columns:
            raise DataValidationError(f"missing field {column!r}", file=path.name, column=column)
    if frame.crs is None:
        raise DataValidationError("has no coordinate reference system (.prj)", file=path.name)
    frame = frame.to_crs(_BNG)
    for number, (gss, label) in enumerate(zip(frame[code], frame[name], strict=True), start=1):
        expected = boroughs.lookup_borough_code(str(label))
        if expected is None or expected != gss or not str(gss).startswith("E09"):
            raise DataValidationError(
                f"feature {number}: {label!r} with code {gss!r} is not a London borough",
                file=path.name,
                column=code,
            )
    if frame[code].nunique() != 33 or len(frame) != 33:
        raise DataValidationError(
            f"holds {frame[code].nunique()} distinct boroughs in {len(frame)} features; "
            "expected the 33 London boroughs (including the City of London)",
            file=path.name,
        )
    out = gpd.GeoDataFrame(
        {
            "borough_code": frame[code].astype(str).to_numpy(),
            "borough_name": [boroughs.normalise_borough_name(str(n)) for n in frame[name]],
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    return out.sort_values("borough_code").reset_index(drop=True)


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
    annotate: bool | None = None,
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
        monotonically) or ``"PuOr_r"`` when ``diverging``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure of about 6.5 x 5.5 inches otherwise.
    diverging : bool
        Centre the colour scale on zero (for changes); values are then printed on each
        borough as well, because a diverging scale loses its sign in greyscale.
    label : str
        The colour bar's label (what and which unit, e.g. "crimes per 1,000 residents").
    boundaries : geopandas.GeoDataFrame, optional
        Polygons with ``borough_code`` (default :func:`read_borough_boundaries`).
    annotate : bool, optional
        Print each borough's value on the map (default: only when ``diverging``).
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
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, TwoSlopeNorm
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    shapes = read_borough_boundaries() if boundaries is None else boundaries
    if "borough_code" not in shapes.columns:
        raise ParameterError("boundaries need a 'borough_code' column")
    numeric, notes = _check_values(values, set(shapes["borough_code"].astype(str)))
    fmt = value_format or _format_value
    data = shapes.assign(value=shapes["borough_code"].astype(str).map(numeric))
    present = data[data["value"].notna()]
    missing = data[data["value"].isna()]

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
    if annotate if annotate is not None else diverging:
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
    return fig


def _scalar_mappable(colour_map, norm):
    from matplotlib.cm import ScalarMappable

    mappable = ScalarMappable(norm=norm, cmap=colour_map)
    mappable.set_array(np.array([]))
    return mappable


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


def build_borough_boundaries(folder: str | Path) -> tuple[dict, dict]:
    """Validate the boundary files at build time (no table: maps read them directly).

    Returns
    -------
    (dict, dict)
        No tables, and a log entry naming the file read and its caveats.
    """
    folder = Path(folder)
    frame = read_borough_boundaries(folder)
    used = BOUNDARY_FILE if (folder / BOUNDARY_FILE).exists() else _GEOJSON_FILE
    area = frame.geometry.area.sum() / 1e6
    warnings = [
        f"{used}: {len(frame)} boroughs, {area:,.0f} km2; the generalised boundaries follow "
        "the river banks, so points on the Thames fall outside every borough (stop and search "
        "snaps them to the nearest borough within 100 m)."
    ]
    files = sorted(
        p.name for p in folder.iterdir() if p.suffix in (".shp", ".dbf", ".shx", ".prj", ".geojson")
    )
    return {}, {
        "source": "borough_boundaries",
        "tables": [],
        "rows": len(frame),
        "files": files,
        "warnings": warnings,
    }
