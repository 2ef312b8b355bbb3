"""Borough boundaries for maps (the choropleth itself is :mod:`mpsanalysis.report.maps`).

The boundaries are the ONS generalised (20 m) local authority district polygons of
December 2022 for London, in British National Grid (EPSG:27700), from
``geography/borough/london-2021-lad22-gen20.shp`` (the full-resolution GeoJSON in the
same folder is used only when the shapefile is absent). They are read once per folder
and cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import DataValidationError

if TYPE_CHECKING:  # heavy imports only when used
    import geopandas

__all__ = [
    "BOUNDARY_FILE",
    "BOUNDARY_FOLDER",
    "read_borough_boundaries",
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
