"""Damage harness: copies of the real borough crime files, damaged systematically.

For every damage the property is: either the build fails with a message naming the
damaged file, or every published figure is unchanged (the combined ``borough_crime``
table is identical, or else the FYTD comparison of every borough-crime measure for a
few periods and geographies equals the clean store's). Never a different figure with
exit 0. A sample runs in ``make test``; the whole set is marked ``damage``
(``make test-damage``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis.errors import MpsAnalysisError
from mpsanalysis.ingest import build, fetch, store
from mpsanalysis.measures import compute
from mpsanalysis.measures.catalogue import load_catalogue

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / build.BOROUGH_CRIME_FOLDER
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data") / build.BOROUGH_CRIME_FOLDER
HIST = "MPS_Borough_Level_Crime_Historical_201004-202111.csv"
OLD = "MPS_Borough_Level_Crime_Historic_200801-201612_oldclass.csv"
NEWEST = "MPS_Borough_Level_Crime_recent24m_202401-202512.csv"

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")

PERIODS = ["2010-12", "2016-12", "2021-03", "2025-12"]
GEOGRAPHIES = ["London", "Westminster", "Lambeth"]


def _build(files: dict[str, bytes], root: Path) -> Path:
    mirror = root / "mirror" / build.BOROUGH_CRIME_FOLDER
    mirror.mkdir(parents=True)
    for name, data in files.items():
        (mirror / name).write_bytes(data)
    data_dir = root / "data"
    fetch.fetch_from_mirror(root / "mirror", data_dir / "raw")
    build.build_store(data_dir / "raw", data_dir / "processed", include_sources=False)
    return data_dir / "processed"


def _figures(processed: Path) -> dict:
    crime = compute.load_borough_crime(processed)
    categories = compute.load_category_vintages(processed)
    out = {}
    for objective in load_catalogue().values():
        for measure in objective.measures:
            if measure.source != "borough-crime":
                continue
            for period in PERIODS:
                for geography in GEOGRAPHIES:
                    r = compute.compute_measure(measure, geography, period, crime, categories)
                    out[(measure.id, period, geography)] = repr(r.comparison)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    files = {p.name: p.read_bytes() for p in sorted(SHARED.glob("*.csv"))}
    processed = _build(files, tmp_path_factory.mktemp("clean"))
    return files, processed, store.read_table("borough_crime", directory=processed)


# ------------------------------------------------------------------ the damages
def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def truncate_line_end(d):  # the example of issue 17: whole rows lost
    lines = _lines(d.rstrip(b"\n"))
    return _join(lines[:-40]) + b"\n"


def truncate_mid_line(d):
    return d[: len(d) * 2 // 3]


def drop_row(d):
    lines = _lines(d)
    return _join(lines[:500] + lines[501:])


def duplicate_row(d):
    lines = _lines(d)
    return _join(lines[:500] + [lines[500]] + lines[500:])


def duplicate_recased(d):
    lines = _lines(d)
    return _join(lines[:500] + [lines[500].upper()] + lines[500:])


def recase_row(d):
    lines = _lines(d)
    head, rest = lines[500].split(b",", 1)
    return _join(lines[:500] + [head.upper() + b"," + rest] + lines[501:])


def unknown_category(d):
    lines = _lines(d)
    cells = lines[500].split(b",")
    cells[1] = b"Robbery of Personal Propperty"
    return _join(lines[:500] + [b",".join(cells)] + lines[501:])


def _cell(d, column, value):
    lines = _lines(d)
    cells = lines[300].split(b",")
    cells[column] = value
    return _join(lines[:300] + [b",".join(cells)] + lines[301:])


def corrupt_borough(d):
    return _cell(d, 0 if d.startswith(b"Borough") else 2, b"Lambeht")


def count_text(d):
    return _cell(d, 10, b"12x")


def count_negative(d):
    return _cell(d, 10, b"-4")


def count_fraction(d):
    return _cell(d, 10, b"4.5")


def count_fullwidth(d):
    return _cell(d, 10, "１４８".encode())


def count_blank(d):
    return _cell(d, 10, b"")


def count_huge(d):
    return _cell(d, 10, b"99999999")


def _header(d, change):
    lines = _lines(d)
    cells = lines[0].split(b",")
    change(cells)
    return _join([b",".join(cells)] + lines[1:])


def shift_months(d):  # every month header one month earlier
    def change(cells):
        months = pd.period_range("2010-03", periods=len(cells) - 3, freq="M")
        cells[3:] = [m.strftime("%Y%m").encode() for m in months]

    return _header(d, change)


def duplicate_month(d):
    return _header(d, lambda c: c.__setitem__(5, c[4]))


def misspell_month(d):
    return _header(d, lambda c: c.__setitem__(5, c[5].replace(b"0", b"O", 1)))


def future_month(d):
    return _header(d, lambda c: c.__setitem__(len(c) - 1, b"209912"))


def zero_pad_tail(d):
    lines = _lines(d.rstrip(b"\n"))
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(b",")
        cells[-3:] = [b"0", b"0", b"0"]
        out.append(b",".join(cells))
    return _join(out) + b"\n"


def latin1(d):
    return d.decode("utf-8").replace("Barking", "Bárking").encode("latin-1")


def utf16(d):
    return d.decode("utf-8").encode("utf-16")


def crlf(d):
    return d.replace(b"\n", b"\r\n")


def cr_only(d):
    return d.replace(b"\n", b"\r")


def bom(d):
    return b"\xef\xbb\xbf" + d


DAMAGES = {
    f.__name__: f
    for f in [
        truncate_line_end,
        truncate_mid_line,
        drop_row,
        duplicate_row,
        duplicate_recased,
        recase_row,
        unknown_category,
        corrupt_borough,
        count_text,
        count_negative,
        count_fraction,
        count_fullwidth,
        count_blank,
        count_huge,
        shift_months,
        duplicate_month,
        misspell_month,
        future_month,
        zero_pad_tail,
        latin1,
        utf16,
        crlf,
        cr_only,
        bom,
    ]
}
FAST = {
    "truncate_line_end",
    "duplicate_recased",
    "unknown_category",
    "count_fullwidth",
    "future_month",
    "crlf",
}


def _check(clean, name: str, files: dict[str, bytes], tmp_path: Path, damaged_file: str):
    _, clean_processed, clean_table = clean
    try:
        processed = _build(files, tmp_path)
    except MpsAnalysisError as exc:
        assert damaged_file in str(exc), f"{name}: the message does not name the file: {exc}"
        print(f"\nDAMAGE {name}: refused: {str(exc)[:160]}")
        return "refused"
    table = store.read_table("borough_crime", directory=processed)
    if table.equals(clean_table):
        print(f"\nDAMAGE {name}: built, store unchanged")
        return "unchanged"
    assert _figures(processed) == _figures(clean_processed), f"{name}: a figure changed"
    print(f"\nDAMAGE {name}: built, store differs, every figure compared unchanged")
    return "figures unchanged"


#: Damages that exercise code shared by both layouts (decoding, CSV shape, header and
#: count parsing): tried on the new-classification file only, to keep the set quick.
NEW_ONLY = {
    "latin1",
    "utf16",
    "crlf",
    "cr_only",
    "bom",
    "count_fraction",
    "count_blank",
    "count_huge",
    "duplicate_month",
    "misspell_month",
    "shift_months",
}


def _params(fast_only: bool):
    out = []
    for name in DAMAGES:
        for target in (HIST,) if name in NEW_ONLY else (HIST, OLD):
            marks = [] if (name in FAST and target == HIST) else [pytest.mark.damage]
            if fast_only and marks:
                continue
            out.append(
                pytest.param(
                    name, target, marks=marks, id=f"{name}-{'new' if target == HIST else 'old'}"
                )
            )
    return out


@pytest.mark.parametrize(("damage", "target"), _params(fast_only=False))
def test_damaged_file_is_refused_or_changes_nothing(clean, tmp_path, damage, target):
    files = dict(clean[0])
    files[target] = DAMAGES[damage](files[target])
    _check(clean, damage, files, tmp_path, target)


@pytest.mark.parametrize("target", [HIST, pytest.param(NEWEST, marks=pytest.mark.damage)])
def test_removed_file_is_refused_naming_it(clean, tmp_path, target):
    files = {k: v for k, v in clean[0].items() if k != target}
    with pytest.raises(MpsAnalysisError, match=target):
        _build(files, tmp_path)


def test_truncated_at_line_end_refused_not_a_lower_robbery_figure(clean, tmp_path):
    """Issue 17: cut at a line end, London personal robbery Apr-Dec 2016 fell from
    16,422 to 15,062 with exit 0. Now the build is refused naming the file."""
    files = dict(clean[0])
    files[HIST] = truncate_line_end(files[HIST])
    with pytest.raises(MpsAnalysisError, match=f"{HIST}.*missing"):
        _build(files, tmp_path)


# ------------------------------------------- refreshed vintages against the previous build
REFRESHED = "MPS_Borough_Level_Crime_Historical.csv"  # the Datastore's download name


def _rebuild_over(clean, files: dict[str, bytes], root: Path) -> Path:
    """Build ``files`` where the clean store is the previous build."""
    data_dir = root / "data"
    shutil.copytree(clean[1], data_dir / "processed")
    mirror = root / "mirror" / build.BOROUGH_CRIME_FOLDER
    mirror.mkdir(parents=True)
    for name, data in files.items():
        (mirror / name).write_bytes(data)
    fetch.fetch_from_mirror(root / "mirror", data_dir / "raw")
    build.build_store(data_dir / "raw", data_dir / "processed", include_sources=False)
    return data_dir / "processed"


def _refreshed(clean, change) -> dict[str, bytes]:
    files = {k: v for k, v in clean[0].items() if k != HIST}
    files[REFRESHED] = change(clean[0][HIST])
    return files


def test_clean_store_has_the_published_robbery_figure(clean):
    """London personal robbery Apr-Dec 2016 is 16,422 (issue 17, from the raw file)."""
    measure = load_catalogue()["robbery"].measure("personal-robbery")
    crime = compute.load_borough_crime(clean[1])
    cats = compute.load_category_vintages(clean[1])
    result = compute.compute_measure(measure, "London", "2016-12", crime, cats)
    assert result.comparison.current == 16_422


def test_refreshed_file_cut_at_a_line_end_is_refused_by_the_vintage_comparison(clean, tmp_path):
    """Unregistered (a fresh download): the contract cannot list its rows, but the rows
    with crimes that the previous build had are missing over the shared months."""
    files = _refreshed(clean, truncate_line_end)
    with pytest.raises(MpsAnalysisError, match=rf"{REFRESHED}.*missing over the months"):
        _rebuild_over(clean, files, tmp_path)


def test_refreshed_file_revising_one_cell_is_recorded(clean, tmp_path):
    """A genuine revision (Barking and Dagenham arson, April 2010, 6 -> 9) builds and is
    listed in borough_crime_revisions and the build log."""

    def revise(d):
        old = b"Arson and Criminal Damage,Arson,Barking and Dagenham,6,5,"
        assert old in d
        return d.replace(old, b"Arson and Criminal Damage,Arson,Barking and Dagenham,9,5,", 1)

    processed = _rebuild_over(clean, _refreshed(clean, revise), tmp_path)
    table = store.read_table("borough_crime_revisions", directory=processed)
    assert len(table) == 1
    row = table.iloc[0]
    assert (str(row["month"]), row["borough_name"], row["minor_category"]) == (
        "2010-04",
        "Barking and Dagenham",
        "Arson",
    )
    assert (row["previous_count"], row["count"], row["difference"], row["kind"]) == (
        6,
        9,
        3,
        "revised",
    )
    log = (processed / "build_log.json").read_text()
    assert "revises 1 cell(s)" in log


def test_newer_vintage_in_the_same_build_cut_at_a_line_end_is_refused(clean, tmp_path):
    """Both vintages in the mirror, no previous build: the newer file (it wins the months
    by its name) lost rows that the older one has over the months both supply."""
    files = dict(clean[0])
    files["MPS_Borough_Level_Crime_Historical_refreshed.csv"] = truncate_line_end(files[HIST])
    with pytest.raises(MpsAnalysisError, match=r"_refreshed\.csv.*missing over the months"):
        _build(files, tmp_path)


def test_newer_vintage_in_the_same_build_revising_a_cell_is_recorded(clean, tmp_path):
    files = dict(clean[0])
    old = b"Arson and Criminal Damage,Arson,Barking and Dagenham,6,5,"
    new = b"Arson and Criminal Damage,Arson,Barking and Dagenham,6,7,"
    files["MPS_Borough_Level_Crime_Historical_refreshed.csv"] = files[HIST].replace(old, new, 1)
    processed = _build(files, tmp_path)
    table = store.read_table("borough_crime_revisions", directory=processed)
    assert table[["previous_count", "count", "difference"]].values.tolist() == [[5, 7, 2]]
    assert str(table["month"].iat[0]) == "2010-05"
    assert table["previous_source_file"].iat[0] == HIST
