"""Every published source other than the borough-level crime files.

One module per source, each with a ``read_*`` function per file, the measures that
source supports, and a ``build_*`` function that turns its raw folder into validated
tidy tables plus a log entry:

====================  =============================================  =========================
module                raw folder (under ``data/raw``)                 tables
====================  =============================================  =========================
``wards``             london-datastore/ward-crime                     ward_crime, ...
``homicide``          london-datastore/homicide                       homicide_victims, _ppa
``police_uk``         police-uk/met-street-burglary-2017-2018         policeuk_street, ...
``stop_search``       police-uk/met-stop-search-2017-2018             stop_search
``population``        london-datastore/population, ons/lsoa-...       borough_population, ...
``lsoa_annual``       london-datastore/lsoa-crime-annual              lsoa_crime_annual
``home_office``       home-office/prc-pfa-2019-20, .../force-pop...   force_crime, ...
``severity``          ons/crime-severity-weights, other/cambridge...  severity_weights, ...
``maps``              geography/borough                               (boundaries for maps)
====================  =============================================  =========================

:func:`build_sources` runs them all. A source whose folder is missing gives a log entry
with the warning "not supplied" rather than an error; an error in a file that *is*
present raises :class:`~mpsanalysis.errors.DataValidationError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest import completeness, store

__all__ = ["FOLDERS", "build_sources"]

#: Where each source's files live, relative to the raw root (the mirror's layout).
FOLDERS = {
    "ward_crime": "london-datastore/ward-crime",
    "homicide": "london-datastore/homicide",
    "policeuk_street": "police-uk/met-street-burglary-2017-2018",
    "stop_search": "police-uk/met-stop-search-2017-2018",
    "population": "london-datastore/population",
    "lsoa_population": "ons/lsoa-population-2019-2020",
    "lsoa_crime_annual": "london-datastore/lsoa-crime-annual",
    "force_crime": "home-office/prc-pfa-2019-20",
    "force_population": "home-office/force-population-knife-crime",
    "severity_weights": "ons/crime-severity-weights",
    "cchi_weights": "other/cambridge-crime-harm-index",
    "borough_boundaries": "geography/borough",
    "borough_crime": "london-datastore/borough-crime",
}

Builder = Callable[[Path], tuple[dict[str, pd.DataFrame], dict]]


def _present(raw_root: Path, key: str) -> Path | None:
    folder = raw_root / FOLDERS[key]
    pattern = "*.shp" if key == "borough_boundaries" else "*.csv"
    if key == "borough_boundaries" and folder.is_dir() and not any(folder.glob(pattern)):
        pattern = "*.geojson"
    return folder if folder.is_dir() and any(folder.glob(pattern)) else None


def _not_supplied(source: str, raw_root: Path, *keys: str) -> dict:
    where = " and ".join(f"data/raw/{FOLDERS[k]}" for k in keys)
    return {
        "source": source,
        "tables": [],
        "rows": 0,
        "files": [],
        "warnings": [f"not supplied: no files in {where}; its tables were not built"],
    }


def _builders(raw_root: Path) -> list[tuple[str, tuple[str, ...], Callable[[], tuple]]]:
    """(source, required folder keys, zero-argument build) for every source."""
    from mpsanalysis.ingest.sources import (
        home_office,
        homicide,
        lsoa_annual,
        maps,
        police_uk,
        population,
        severity,
        stop_search,
        wards,
    )

    def folder(key: str) -> Path:
        """A required folder: the builders run only when it is present."""
        path = _present(raw_root, key)
        if path is None:  # pragma: no cover - build_sources skips absent sources
            raise DataValidationError(f"not supplied: no files in data/raw/{FOLDERS[key]}")
        return path

    def optional(key: str) -> Path | None:
        return _present(raw_root, key)

    boundaries = raw_root / FOLDERS["borough_boundaries"]
    return [
        ("ward_crime", ("ward_crime",), lambda: wards.build_wards(folder("ward_crime"))),
        ("homicide", ("homicide",), lambda: homicide.build_homicide(folder("homicide"))),
        (
            "policeuk_street",
            ("policeuk_street",),
            lambda: police_uk.build_police_uk(folder("policeuk_street")),
        ),
        (
            "stop_search",
            ("stop_search",),
            lambda: stop_search.build_stop_search(
                folder("stop_search"), boundaries if boundaries.is_dir() else None
            ),
        ),
        (
            "borough_population",
            ("population",),
            lambda: population.build_borough_population(folder("population")),
        ),
        (
            "lsoa_population",
            ("lsoa_population",),
            lambda: population.build_lsoa_population(
                folder("lsoa_population"), optional("population")
            ),
        ),
        (
            "lsoa_crime_annual",
            ("lsoa_crime_annual",),
            lambda: lsoa_annual.build_lsoa_crime_annual(
                folder("lsoa_crime_annual"), borough_crime_folder=optional("borough_crime")
            ),
        ),
        (
            "force_crime",
            ("force_crime",),
            lambda: home_office.build_force_crime(folder("force_crime")),
        ),
        (
            "force_population",
            ("force_population",),
            lambda: home_office.build_force_population(
                folder("force_population"),
                lsoa_population_folder=optional("lsoa_population"),
                borough_population_folder=optional("population"),
            ),
        ),
        (
            "severity_weights",
            ("severity_weights",),
            lambda: severity.build_severity(
                folder("severity_weights"),
                cchi_folder=optional("cchi_weights"),
                prc_folder=optional("force_crime"),
            ),
        ),
        (
            "borough_boundaries",
            ("borough_boundaries",),
            lambda: maps.build_borough_boundaries(boundaries),
        ),
    ]


def build_sources(raw_root: Path, store_dir: Path | None = None) -> list[dict]:
    """Build every source's tables from the raw folder and write them to the store.

    Parameters
    ----------
    raw_root : pathlib.Path
        The raw folder with the mirror's layout (``data/raw``, or the mirror itself).
    store_dir : pathlib.Path, optional
        Where to write the tables (default: the processed store).

    Returns
    -------
    list of dict
        One log entry per source: ``source``, ``tables`` (names written), ``rows`` (of
        the main table), ``files`` (names read), ``warnings`` (plain-English
        descriptions of every known defect detected; ``"not supplied: ..."`` when the
        source's folder is missing).

    Raises
    ------
    DataValidationError
        When a file that is present fails validation (naming file, line and column), or
        a table it gives has a hole a damaged file leaves
        (:func:`mpsanalysis.ingest.completeness.check_tables`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> empty = pathlib.Path(tempfile.mkdtemp())
    >>> logs = build_sources(empty, empty / "store")
    >>> logs[0]["source"], logs[0]["warnings"][0][:13]
    ('ward_crime', 'not supplied:')
    """
    raw_root = Path(raw_root)
    logs: list[dict] = []
    for source, keys, build in _builders(raw_root):
        if any(_present(raw_root, key) is None for key in keys):
            logs.append(_not_supplied(source, raw_root, *keys))
            continue
        tables, log = build()
        completeness.check_tables(tables, log)  # holes a damaged file leaves
        for name, table in tables.items():
            store.write_table(table, name, store_dir)
        logs.append(log)
    return logs
