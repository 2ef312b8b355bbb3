"""The London borough lookup: names as the publishers spell them, and GSS codes.

The Metropolitan Police area covers the 32 London boroughs. The City of London has its
own force but appears in some files, and the MPS publishes a pseudo-borough for the
airports (Heathrow and London City), which has no GSS code.
"""

from __future__ import annotations

import re

import pandas as pd

from mpsanalysis.errors import ParameterError

__all__ = [
    "AIRPORTS_CODE",
    "UNKNOWN_CODE",
    "UNKNOWN_NAME",
    "LONDON",
    "CITY_OF_LONDON",
    "borough_table",
    "borough_names",
    "normalise_borough_name",
    "lookup_borough_code",
    "validate_geography",
]

LONDON = "London"
#: The borough with its own police force (the City of London Police), outside the MPS.
CITY_OF_LONDON = "City of London"
AIRPORTS_CODE = "X00000001"  # pseudo-code: the airports have no GSS code
UNKNOWN_CODE = "X00000000"  # pseudo-code: crimes the MPS publishes with borough "Unknown"
UNKNOWN_NAME = "Unknown"
_AIRPORTS_NAME = "London Heathrow and London City Airports"

_BOROUGHS: tuple[tuple[str, str], ...] = (
    ("E09000001", CITY_OF_LONDON),
    ("E09000002", "Barking and Dagenham"),
    ("E09000003", "Barnet"),
    ("E09000004", "Bexley"),
    ("E09000005", "Brent"),
    ("E09000006", "Bromley"),
    ("E09000007", "Camden"),
    ("E09000008", "Croydon"),
    ("E09000009", "Ealing"),
    ("E09000010", "Enfield"),
    ("E09000011", "Greenwich"),
    ("E09000012", "Hackney"),
    ("E09000013", "Hammersmith and Fulham"),
    ("E09000014", "Haringey"),
    ("E09000015", "Harrow"),
    ("E09000016", "Havering"),
    ("E09000017", "Hillingdon"),
    ("E09000018", "Hounslow"),
    ("E09000019", "Islington"),
    ("E09000020", "Kensington and Chelsea"),
    ("E09000021", "Kingston upon Thames"),
    ("E09000022", "Lambeth"),
    ("E09000023", "Lewisham"),
    ("E09000024", "Merton"),
    ("E09000025", "Newham"),
    ("E09000026", "Redbridge"),
    ("E09000027", "Richmond upon Thames"),
    ("E09000028", "Southwark"),
    ("E09000029", "Sutton"),
    ("E09000030", "Tower Hamlets"),
    ("E09000031", "Waltham Forest"),
    ("E09000032", "Wandsworth"),
    ("E09000033", "Westminster"),
    (AIRPORTS_CODE, _AIRPORTS_NAME),
)

# Spellings seen in published files, keyed by their normalised form.
_ALIASES = {
    "aviation security so18": _AIRPORTS_NAME,
    "heathrow": _AIRPORTS_NAME,
    "london heathrow and london city airports": _AIRPORTS_NAME,
    "city of westminster": "Westminster",
    "kingston": "Kingston upon Thames",
    "richmond": "Richmond upon Thames",
    "city": CITY_OF_LONDON,
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(name).lower().replace("&", " and ")).strip()


_BY_KEY = {_key(name): name for _, name in _BOROUGHS}
_BY_KEY.update(_ALIASES)
_CODE = {name: code for code, name in _BOROUGHS}


def borough_table() -> pd.DataFrame:
    """The lookup as a table.

    Returns
    -------
    pandas.DataFrame
        Columns ``borough_code``, ``borough_name``, ``is_pseudo`` (True for the airports)
        and ``in_mps`` (False for the City of London, which has its own force).

    Examples
    --------
    >>> table = borough_table()
    >>> len(table), int(table["in_mps"].sum())
    (34, 33)
    """
    table = pd.DataFrame(_BOROUGHS, columns=["borough_code", "borough_name"])
    table["is_pseudo"] = table["borough_code"].eq(AIRPORTS_CODE)
    table["in_mps"] = table["borough_code"].ne("E09000001")
    return table


def borough_names(include_pseudo: bool = False) -> list[str]:
    """The 32 MPS boroughs (and the airports if asked), alphabetically.

    Examples
    --------
    >>> len(borough_names()), borough_names()[0]
    (32, 'Barking and Dagenham')
    """
    names = [
        name
        for code, name in _BOROUGHS
        if code != "E09000001" and (include_pseudo or code != AIRPORTS_CODE)
    ]
    return sorted(names)


def normalise_borough_name(name: str) -> str | None:
    """The canonical spelling of a borough name, or None when it is not one.

    Case, punctuation, ``&`` and known aliases are tolerated.

    Examples
    --------
    >>> normalise_borough_name("HAMMERSMITH & FULHAM")
    'Hammersmith and Fulham'
    >>> normalise_borough_name("Aviation Security (SO18)")
    'London Heathrow and London City Airports'
    >>> normalise_borough_name("Narnia") is None
    True
    """
    return _BY_KEY.get(_key(name))


def lookup_borough_code(name: str) -> str | None:
    """The GSS code for a borough name (any accepted spelling), or None.

    Examples
    --------
    >>> lookup_borough_code("Westminster")
    'E09000033'
    """
    canonical = normalise_borough_name(name)
    return _CODE.get(canonical) if canonical else None


def validate_geography(geography: str, parameter: str = "geography") -> str:
    """Check a report geography: ``London`` or one borough. Returns its canonical name.

    Raises
    ------
    ParameterError
        When the name is neither London nor a known borough.

    Examples
    --------
    >>> validate_geography("london")
    'London'
    >>> validate_geography("tower hamlets")
    'Tower Hamlets'
    """
    if not isinstance(geography, str) or not geography.strip():
        raise ParameterError(f"{parameter} is empty: expected 'London' or a borough name")
    if _key(geography) == "london":
        return LONDON
    canonical = normalise_borough_name(geography)
    if canonical is None:
        raise ParameterError(
            f"{parameter} {geography!r} is not London or a London borough "
            f"(e.g. 'Lambeth'; see mpsanalysis.boroughs.borough_names())"
        )
    return canonical
