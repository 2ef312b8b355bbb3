"""Holes that a damaged file leaves in the other sources' tables (``ingest/completeness.py``).

Synthetic frames worked by hand for each rule, then copies of the real files with a row
or a block of rows deleted, built with the source's own builder: each is refused with a
message naming the file, where before it built into a table with figures missing. The
clean real files pass.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest import build, completeness, store
from mpsanalysis.ingest.revisions import REPUBLISHED
from mpsanalysis.ingest.sources import FOLDERS, home_office, homicide, lsoa_annual, population

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")


# ----------------------------------------------------------------- synthetic, by hand
def test_a_full_grid_passes_and_one_missing_cell_is_named():
    """Two forces x two offences x two quarters of 2019/20 (one file) and the same of
    2020/21 (another), all 16 rows: passes. Delete Kent's offence 2 in Q2 of 2019/20: 1
    of 16 missing, named with the file of its financial year."""
    rows = [
        (force, offence, year, quarter, f"prc-{year[:4]}.csv")
        for force in ("Kent", "Essex")
        for offence in ("1", "2")
        for year in ("2019/20", "2020/21")
        for quarter in (1, 2)
    ]
    frame = pd.DataFrame(
        rows, columns=["force_name", "offence_code", "financial_year", "quarter", "source_file"]
    )
    grid = next(g for g in completeness.GRIDS if g.table == "force_crime")
    completeness.check_grid(frame, grid)
    holed = frame[
        ~(
            frame["force_name"].eq("Kent")
            & frame["offence_code"].eq("2")
            & frame["financial_year"].eq("2019/20")
            & frame["quarter"].eq(2)
        )
    ]
    with pytest.raises(DataValidationError) as err:
        completeness.check_grid(holed, grid)
    assert err.value.file == "prc-2019.csv"
    assert "1 row(s) of force_crime are missing" in str(err.value)
    assert "force_name Kent, offence_code 2, financial_year 2019/20, quarter 2" in str(err.value)


def test_a_grid_dimension_missing_for_one_value_only():
    """An LSOA deleted from one category's file: the LSOA is in the other category, so
    the grid (2 LSOAs x 2 categories x 1 year = 4) lacks one cell."""
    frame = pd.DataFrame(
        {
            "lsoa_code": ["A", "B", "A"],
            "category_level": "major",
            "major_category": ["Violence", "Violence", "Robbery"],
            "minor_category": "",
            "year": 2019,
            "source_file": ["violence.csv", "violence.csv", "robbery.csv"],
        }
    )
    grid = next(g for g in completeness.GRIDS if g.table == "lsoa_crime_annual")
    with pytest.raises(DataValidationError) as err:
        completeness.check_grid(frame, grid)
    assert "lsoa_code B, category_level major, major_category Robbery" in str(err.value)
    # The file named is the one the missing row belongs in: the category's file.
    assert err.value.file == "robbery.csv"


def test_consecutive_periods():
    months = pd.to_datetime(["2019-01-01", "2019-02-01", "2019-04-01", "2019-05-01"])
    frame = pd.DataFrame({"month": months, "source_file": ["a.csv"] * 2 + ["b.csv"] * 2})
    with pytest.raises(DataValidationError) as err:
        completeness.check_consecutive(frame, "homicide_victims", "month")
    assert "no rows for 1 month(s) between its first (2019-01) and its last (2019-05)" in str(
        err.value
    )
    assert "the first is 2019-03" in str(err.value)
    assert err.value.file == "a.csv, b.csv"  # the files either side of the gap
    completeness.check_consecutive(
        frame[frame["month"] < "2019-03-01"], "homicide_victims", "month"
    )
    years = pd.DataFrame({"year": [2009, 2010, 2012]})
    with pytest.raises(DataValidationError, match="the first is 2011"):
        completeness.check_consecutive(years, "force_population", "year", {"files": ["p.csv"]})


def _victims(months: list[str], file: str) -> pd.DataFrame:
    return pd.DataFrame({"month": months, "source_file": file})


def test_a_republished_table_that_lost_a_period_or_half_of_one_is_refused():
    """Before: 2 victims in January, 4 in February, 2 in March. A revision moving one
    victim passes; a file without March (cut at the end) or without February (a block
    deleted) is refused naming the previous build's file; February falling from 4 to 1
    (75% > 50%) is refused naming the new file; 4 to 2 (50%) passes."""
    before = _victims(["2019-01"] * 2 + ["2019-02"] * 4 + ["2019-03"] * 2, "v1.csv")

    def check(after: pd.DataFrame) -> None:
        completeness.check_republished_losses(
            before, after, "homicide_victims", after["month"], before["month"], None
        )

    check(_victims(["2019-01"] * 3 + ["2019-02"] * 3 + ["2019-03"] * 2 + ["2019-04"], "v2.csv"))
    for kept, month in (
        (["2019-01"] * 2 + ["2019-02"] * 4, "2019-03"),
        (["2019-01"] * 2 + ["2019-03"] * 2, "2019-02"),
    ):
        with pytest.raises(DataValidationError) as err:
            check(_victims(kept, "v2.csv"))
        assert f"no rows for {month} any more" in str(err.value)
        assert err.value.file == "v1.csv"
    with pytest.raises(DataValidationError) as err:
        check(_victims(["2019-01"] * 2 + ["2019-02"] + ["2019-03"] * 2, "v2.csv"))
    assert "total for 2019-02 falls from 4 in the previous build to 1" in str(err.value)
    assert err.value.file == "v2.csv"
    check(_victims(["2019-01"] * 2 + ["2019-02"] * 2 + ["2019-03"] * 2, "v2.csv"))


# ----------------------------------------------------------------- real files, damaged
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")


def _copy(source_key: str, tmp_path: Path) -> Path:
    folder = tmp_path / FOLDERS[source_key]
    shutil.copytree(SHARED / FOLDERS[source_key], folder)
    return folder


def _drop_lines(path: Path, start: int, count: int = 1) -> None:
    """Delete ``count`` data lines from ``start`` (1-based physical line) at line ends."""
    lines = path.read_bytes().split(b"\n")
    del lines[start - 1 : start - 1 + count]
    path.write_bytes(b"\n".join(lines))


BUILDERS = {
    "population": population.build_borough_population,
    "force_crime": home_office.build_force_crime,
    "lsoa_crime_annual": lsoa_annual.build_lsoa_crime_annual,
    "homicide": homicide.build_homicide,
    "force_population": home_office.build_force_population,
    "lsoa_population": population.build_lsoa_population,
}


@needs_data
@pytest.mark.realdata
@pytest.mark.parametrize("source_key", sorted(BUILDERS))
def test_the_real_files_are_complete(source_key, tmp_path):
    tables, log = BUILDERS[source_key](SHARED / FOLDERS[source_key])
    completeness.check_tables(tables, log)


@needs_data
@pytest.mark.realdata
@pytest.mark.parametrize(
    ("source_key", "file", "line", "count", "message"),
    [
        # One borough-year row (line 700 of 1,717: a row of Hammersmith and Fulham).
        (
            "population",
            "housing-density-borough.csv",
            700,
            1,
            "1 row(s) of borough_population are missing",
        ),
        # One force's offence in one quarter.
        (
            "force_crime",
            "prc_pfa_offence_counts_2019-20_quarterly.csv",
            5000,
            1,
            "1 row(s) of force_crime are missing",
        ),
        # One LSOA from the violence file (11 years of it).
        (
            "lsoa_crime_annual",
            "london-2011-2021-major-violence.csv",
            2000,
            1,
            "11 row(s) of lsoa_crime_annual are missing",
        ),
        # One LSOA of the mid-2019 estimates (it is in the mid-2020 file).
        (
            "lsoa_population",
            "london-mid2019-pop.csv",
            1500,
            1,
            "1 row(s) of lsoa_population are missing",
        ),
        # A year of the force populations (one row per year).
        (
            "force_population",
            "population_policeforces.csv",
            6,
            1,
            "force_population has no rows for 1 year(s) between its first (2009)",
        ),
    ],
)
def test_a_real_file_with_rows_deleted_is_refused_naming_it(
    source_key, file, line, count, message, tmp_path
):
    folder = _copy(source_key, tmp_path)
    _drop_lines(folder / file, line, count)
    with pytest.raises(DataValidationError) as err:
        tables, log = BUILDERS[source_key](folder)
        completeness.check_tables(tables, log)
    assert message in str(err.value)
    # The file itself, or (a table without a source_file column: the LSOA populations)
    # the source's files, among them this one.
    assert err.value.file == file or (
        source_key == "lsoa_population" and file in err.value.file.split(", ")
    )


@needs_data
@pytest.mark.realdata
def test_a_homicide_file_missing_a_block_of_months_is_refused(tmp_path):
    """The victims file lists victims month by month: deleting the lines of June 2010
    (every victim of that month) leaves a month without a homicide, which London has
    never had (at least 4 a month, 2003-2020)."""
    folder = _copy("homicide", tmp_path)
    path = folder / "homicide_victims_2003-2020.csv"
    lines = path.read_text().split("\n")
    kept = [line for line in lines if ",Jun 2010," not in line]
    assert len(lines) - len(kept) >= 4
    path.write_text("\n".join(kept))
    tables, log = homicide.build_homicide(folder)
    with pytest.raises(DataValidationError) as err:
        completeness.check_tables(tables, log)
    assert "homicide_victims has no rows for 1 month(s)" in str(err.value)
    assert "the first is 2010-06" in str(err.value)
    assert err.value.file == "homicide_victims_2003-2020.csv"


@needs_data
@pytest.mark.realdata
def test_a_republished_homicide_file_cut_at_a_line_end_is_refused_against_the_previous_build(
    tmp_path,
):
    """A republished victims file cut at a line end after its December 2019 victims:
    each line left is valid and the months are consecutive, so nothing inside the file
    shows it; against the previous build, 2020 has vanished."""
    tables, _ = homicide.build_homicide(SHARED / FOLDERS["homicide"])
    previous, new = tmp_path / "previous", tmp_path / "new"
    for name, table in tables.items():
        store.write_table(table, name, previous)
    folder = _copy("homicide", tmp_path)
    path = folder / "homicide_victims_2003-2020.csv"
    lines = path.read_text().split("\n")
    path.write_text("\n".join(line for line in lines if " 2020," not in line))
    cut, log = homicide.build_homicide(folder)
    completeness.check_tables(cut, log)  # nothing inside the file shows it
    for name, table in cut.items():
        store.write_table(table, name, new)
    assert {spec.table for spec in REPUBLISHED} >= {"homicide_victims"}
    with pytest.raises(DataValidationError) as err:
        build.compare_republished_tables(previous, new)
    assert "homicide_victims has no rows for 2020-01 any more" in str(err.value)
    assert err.value.file == "homicide_victims_2003-2020.csv"
