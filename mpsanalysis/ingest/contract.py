"""The completeness contract of the borough-level crime files, written down once.

For each classification (``old``, ``new``) the contract lists the major and minor
categories the MPS publishes, and for each published release (one file vintage,
identified by its file name) the categories, the boroughs and the category x borough
rows the publisher is known to leave out. It lives in ``contracts/borough_crime.json``
beside this module and is versioned with the package: a new release is added by
:func:`derive_release` from the file once it has been checked by hand.

Every file is checked against it:

* a category that is not one of its classification's categories is an error naming the
  file, the physical line and the value (:func:`unknown_category`);
* a registered release must have every category x borough row except its documented
  absences (:func:`check_completeness`), so a file cut at a line end or a deleted row is
  refused instead of counting as zero;
* an unregistered release (a fresh download) is checked for unknown categories and
  boroughs only; its missing rows are listed in the build log, and the comparison with
  the previous build (:mod:`mpsanalysis.ingest.revisions`) refuses rows that vanish.

Names are compared after :func:`normalise_key`: Unicode NFKC, case folded, runs of
white space collapsed, so ``ROBBERY`` and ``Robbery`` are one category.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from mpsanalysis.errors import DataValidationError

__all__ = [
    "CONTRACT_FILE",
    "SERIES_START",
    "BoroughCrimeContract",
    "Release",
    "normalise_key",
    "load_contract",
    "derive_release",
    "check_completeness",
]

CONTRACT_FILE = Path(__file__).with_name("contracts") / "borough_crime.json"

#: The first month the MPS publishes borough-level crime in either classification. No
#: month header may come before it (a per-classification start would refuse the small
#: synthetic new-classification files used in tests from 2009 onwards).
SERIES_START = pd.Period("2008-01", freq="M")


def normalise_key(text: str) -> str:
    """A name as compared: Unicode NFKC, case folded, white space collapsed.

    Examples
    --------
    >>> normalise_key("  ROBBERY   of Personal\\u00a0Property ")
    'robbery of personal property'
    >>> normalise_key("Ｒobbery") == normalise_key("robbery")
    True
    """
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


@dataclass(frozen=True)
class Release:
    """One published file vintage as the contract records it (names normalised)."""

    file: str
    classification: str
    first_month: pd.Period
    last_month: pd.Period
    categories: frozenset[tuple[str, str]]
    boroughs: frozenset[str]
    known_absences: frozenset[tuple[str, str, str]]
    spelling: dict[str, str]  # normalised name -> as published, for messages


@dataclass(frozen=True)
class BoroughCrimeContract:
    """Categories by classification, boroughs, and the registered releases."""

    categories: dict[str, frozenset[tuple[str, str]]]
    boroughs: frozenset[str]
    releases: dict[str, Release]

    def unknown_category(self, classification: str, major: str, minor: str) -> bool:
        """Whether a (major, minor) pair is not one of the classification's categories."""
        key = (normalise_key(major), normalise_key(minor))
        return key not in self.categories.get(classification, frozenset())


@lru_cache(maxsize=4)
def load_contract(path: Path = CONTRACT_FILE) -> BoroughCrimeContract:
    """The contract from its JSON file (cached).

    Examples
    --------
    >>> c = load_contract()
    >>> sorted(c.categories)
    ['new', 'old']
    >>> c.unknown_category("old", "ROBBERY", "personal  property")
    False
    >>> c.unknown_category("old", "Robbery", "Robbery of Personal Property")
    True
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    releases = {}
    categories: dict[str, set[tuple[str, str]]] = {}
    for file, spec in data["releases"].items():
        cats = frozenset((normalise_key(a), normalise_key(b)) for a, b in spec["categories"])
        categories.setdefault(spec["classification"], set()).update(cats)
        releases[file] = Release(
            file=file,
            classification=spec["classification"],
            first_month=pd.Period(spec["first_month"], freq="M"),
            last_month=pd.Period(spec["last_month"], freq="M"),
            categories=cats,
            boroughs=frozenset(normalise_key(b) for b in spec["boroughs"]),
            known_absences=frozenset(
                (normalise_key(a), normalise_key(b), normalise_key(c))
                for a, b, c in spec["known_absences"]
            ),
            spelling={
                normalise_key(name): name
                for name in [*(n for pair in spec["categories"] for n in pair), *spec["boroughs"]]
            },
        )
    return BoroughCrimeContract(
        categories={k: frozenset(v) for k, v in categories.items()},
        boroughs=frozenset(normalise_key(b) for b in data["boroughs"]),
        releases=releases,
    )


def derive_release(tidy: pd.DataFrame) -> dict:
    """The contract entry of one checked file: its span, categories, boroughs and the
    category x borough rows it leaves out (its known absences).

    Used once per new release, after the file has been checked by hand; the output goes
    into ``contracts/borough_crime.json`` under the file's name.

    Examples
    --------
    >>> t = pd.DataFrame({"classification": "new", "month": pd.PeriodIndex(["2024-01"] * 3,
    ...     freq="M"), "borough_name": ["Camden", "Camden", "Lambeth"],
    ...     "major_category": ["Robbery"] * 3, "minor_category": ["A", "B", "A"]})
    >>> derive_release(t)["known_absences"]
    [['Robbery', 'B', 'Lambeth']]
    """
    cats = sorted(set(zip(tidy["major_category"], tidy["minor_category"], strict=True)))
    names = sorted(set(tidy["borough_name"]))
    present = set(
        zip(tidy["major_category"], tidy["minor_category"], tidy["borough_name"], strict=True)
    )
    absences = [[a, b, n] for a, b in cats for n in names if (a, b, n) not in present]
    return {
        "classification": str(tidy["classification"].iloc[0]),
        "first_month": str(tidy["month"].min()),
        "last_month": str(tidy["month"].max()),
        "categories": [list(c) for c in cats],
        "boroughs": names,
        "known_absences": absences,
    }


def check_completeness(
    tidy: pd.DataFrame, file: str, contract: BoroughCrimeContract | None = None
) -> list[str]:
    """Check one file's rows against its release; return warnings for the build log.

    For a registered release (the file's name is in the contract) every category x
    borough row must be present except the documented absences, and the span must be
    the recorded one; anything else is refused. An unregistered file gets one warning
    saying so and how many category x borough rows it leaves out.

    Raises
    ------
    DataValidationError
        Naming the file and the first missing row, and how many are missing.
    """
    contract = contract or load_contract()
    release = contract.releases.get(file)
    rows = tidy[["major_category", "minor_category", "borough_name"]].drop_duplicates()
    keys = {
        (normalise_key(a), normalise_key(b), normalise_key(n))
        for a, b, n in rows.itertuples(index=False)
    }
    if release is None:
        cats = {(a, b) for a, b, _ in keys}
        names = {n for _, _, n in keys}
        missing = sum((a, b, n) not in keys for a, b in cats for n in names)
        return [
            f"{file}: not a release registered in the completeness contract "
            f"(contracts/borough_crime.json); checked for unknown categories and boroughs "
            f"only, {missing:,} category x borough row(s) absent"
        ]
    first, last = tidy["month"].min(), tidy["month"].max()
    if (first, last) != (release.first_month, release.last_month):
        raise DataValidationError(
            f"months {first} to {last}, but this release covers {release.first_month} to "
            f"{release.last_month} (contracts/borough_crime.json)",
            file=file,
            row=1,
        )
    expected = {
        (a, b, n)
        for a, b in release.categories
        for n in release.boroughs
        if (a, b, n) not in release.known_absences
    }
    missing_rows = sorted(expected - keys)
    if missing_rows:
        a, b, n = (release.spelling.get(k, k) for k in missing_rows[0])
        raise DataValidationError(
            f"{len(missing_rows):,} category x borough row(s) of this release are missing, "
            f"the first {n!r} / {a!r} / {b!r} (is the file truncated or edited? "
            "release contents: contracts/borough_crime.json)",
            file=file,
        )
    return []
