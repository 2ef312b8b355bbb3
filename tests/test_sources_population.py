"""Tests for mpsanalysis.ingest.sources.population: hand-made files, then the real ones."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest import store
from mpsanalysis.ingest.sources import population
from mpsanalysis.stats import rates

BOROUGH_HEADER = "Code,Name,Year,Source,Population"
BOROUGH_ROWS = [
    "E09000007,Camden,2010,ONS MYE,220087",
    "E09000033,Westminster,2010,ONS MYE,219396",
    "E12000007,London,2010,ONS MYE,439483",  # 220,087 + 219,396
    "E09000007,Camden,2012,GLA Population Projections,224000",
    "E09000033,Westminster,2012,GLA Population Projections,226000",
    "E12000007,Greater London,2012,GLA Population Projections,450000",  # exact sum
]
LSOA_HEADER = (
    "LSOA11CD,LSOA11NM,LAD11CD,LAD11NM,Persons_All-Ages,Persons_0-15,Persons_16+,"
    "Males_All-Ages,Females_All-Ages"
)
LSOA_ROWS = [
    "E01000907,Camden 001A,E09000007,Camden,1500,300,1200,700,800",
    "E01000908,Camden 001B,E09000007,Camden,1700,400,1300,800,900",
    "E01004734,Westminster 001A,E09000033,Westminster,2000,500,1500,1000,1000",
]


def write(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_borough_file_flags_projections(tmp_path):
    path = write(tmp_path, "housing-density-borough.csv", BOROUGH_HEADER, BOROUGH_ROWS)
    got = population.read_borough_population_file(path)
    assert list(got.columns) == population.BOROUGH_POPULATION_COLUMNS
    assert len(got) == 4  # London rows are not boroughs
    assert got.set_index(["borough_code", "year"])["is_projection"].to_dict() == {
        ("E09000007", 2010): False,
        ("E09000033", 2010): False,
        ("E09000007", 2012): True,
        ("E09000033", 2012): True,
    }
    tables, log = population.build_borough_population(tmp_path)
    text = " ".join(log["warnings"])
    assert "only 2010-2010 are ONS mid-year estimates; 2012-2012 are" in text
    assert "'Greater London' and 'London'" in text
    assert "add up to within" not in text  # the sums match exactly


@pytest.mark.parametrize(
    "row, column, message",
    [
        ("E09000099,Narnia,2010,ONS MYE,5", "Name", "unknown borough 'Narnia'"),
        ("E09000007,Westminster,2010,ONS MYE,5", "Code", "does not match the borough name"),
        ("E09000007,Camden,2011,ONS MYE,-5", "Population", "population '-5' is negative"),
        ("E09000007,Camden,20x1,ONS MYE,5", "Year", "year '20x1' is not a number"),
        ("W06000001,Anglesey,2010,ONS MYE,5", "Code", "is not a borough (E09)"),
    ],
)
def test_bad_borough_rows(tmp_path, row, column, message):
    path = write(tmp_path, "h.csv", BOROUGH_HEADER, [BOROUGH_ROWS[0], row])
    with pytest.raises(DataValidationError) as info:
        population.read_borough_population_file(path)
    assert (info.value.file, info.value.row, info.value.column) == ("h.csv", 3, column)
    assert message in str(info.value)


def test_renamed_borough_column(tmp_path):
    path = write(tmp_path, "h.csv", BOROUGH_HEADER.replace("Population", "Pop"), BOROUGH_ROWS)
    with pytest.raises(DataValidationError, match="missing required column 'Population'"):
        population.read_borough_population_file(path)


def test_read_borough_population_exact_and_nearest_year(tmp_path):
    write(tmp_path / "raw", "housing-density-borough.csv", BOROUGH_HEADER, BOROUGH_ROWS)
    tables, _ = population.build_borough_population(tmp_path / "raw")
    store.write_table(tables["borough_population"], "borough_population", tmp_path / "store")
    exact = population.read_borough_population(2010, directory=tmp_path / "store")
    assert exact["population"].tolist() == [220087, 219396]
    assert "note" not in exact.attrs
    # 2011 is equally far from 2010 and 2012: the earlier year is used, with a note.
    with pytest.warns(UserWarning, match="no borough population for 2011: using 2010"):
        tie = population.read_borough_population(2011, directory=tmp_path / "store")
    assert tie["year"].unique().tolist() == [2010]
    assert tie.attrs["note"].startswith("no borough population for 2011")
    with pytest.warns(UserWarning, match="using 2012"):
        later = population.read_borough_population(2030, directory=tmp_path / "store")
    assert later["is_projection"].all()
    with pytest.raises(ParameterError, match="must be a whole year"):
        population.read_borough_population("2010", directory=tmp_path / "store")


def test_lsoa_population_and_comparison(tmp_path):
    write(tmp_path / "lsoa", "london-mid2012-pop.csv", LSOA_HEADER, LSOA_ROWS)
    write(tmp_path / "borough", "housing-density-borough.csv", BOROUGH_HEADER, BOROUGH_ROWS)
    tables, log = population.build_lsoa_population(tmp_path / "lsoa", tmp_path / "borough")
    lsoa = tables["lsoa_population"]
    assert list(lsoa.columns) == population.LSOA_POPULATION_COLUMNS
    assert lsoa["year"].unique().tolist() == [2012]  # from the file name
    check = tables["lsoa_population_check"].set_index("borough_code")
    # Camden: 1,500 + 1,700 = 3,200 LSOA sum against 224,000 in the borough file
    assert check.loc["E09000007", "lsoa_total"] == 3_200
    assert check.loc["E09000007", "difference"] == 224_000 - 3_200
    # total: 3,200 + 2,000 = 5,200 vs 450,000 -> +444,800
    assert "sum to 5,200 for the 2 boroughs" in log["warnings"][0]
    assert "GLA projection for 2012 is 450,000 (+444,800" in log["warnings"][0]


def test_read_borough_population_prefers_estimates(tmp_path):
    write(tmp_path / "lsoa", "london-mid2012-pop.csv", LSOA_HEADER, LSOA_ROWS)
    tables, _ = population.build_lsoa_population(tmp_path / "lsoa")
    store.write_table(tables["lsoa_population"], "lsoa_population", tmp_path / "store")
    got = population.read_borough_population(
        2012, directory=tmp_path / "store", prefer_estimates=True
    )
    assert got.set_index("borough_code")["population"].to_dict() == {
        "E09000007": 3_200,
        "E09000033": 2_000,
    }
    assert not got["is_projection"].any()


@pytest.mark.parametrize(
    "row, column, message",
    [
        (
            "E01000909,Camden 001C,E09000007,Camden,1500,300,1100,700,800",
            "Persons_All-Ages",
            "is not the sum of the persons age bands",
        ),  # 300 + 1,100 = 1,400
        (
            "E01000909,Camden 001C,E09000007,Camden,1500,300,1200,700,900",
            "Persons_All-Ages",
            "is not males plus females",
        ),  # 700 + 900 = 1,600
        (
            "E01000909,Camden 001C,E09000033,Camden,1500,300,1200,700,800",
            "LAD11CD",
            "does not match the borough name",
        ),
        (
            "E01000909,Narnia 001C,E09000099,Narnia,1500,300,1200,700,800",
            "LAD11NM",
            "unknown borough 'Narnia'",
        ),
        (
            "E01000909,Camden 001C,E09000007,Camden,-1,0,-1,0,-1",
            "Persons_All-Ages",
            "population '-1' is negative",
        ),
    ],
)
def test_bad_lsoa_rows(tmp_path, row, column, message):
    path = write(tmp_path, "london-mid2019-pop.csv", LSOA_HEADER, [LSOA_ROWS[0], row])
    with pytest.raises(DataValidationError) as info:
        population.read_lsoa_population(path)
    assert (info.value.row, info.value.column) == (3, column)
    assert message in str(info.value)


def test_compute_rate_per_1000():
    counts = pd.Series({"E09000007": 2_200, "E09000033": 5_100})
    pop = pd.Series({"E09000007": 220_000, "E09000033": 255_000})
    # 2,200 / 220,000 x 1,000 = 10.0; 5,100 / 255,000 x 1,000 = 20.0
    assert rates.compute_rate_per_1000(counts, pop).tolist() == [10.0, 20.0]
    with pytest.raises(ParameterError, match="no population for 'E09000001'"):
        rates.compute_rate_per_1000(pd.Series({"E09000001": 5}), pop)
    with pytest.raises(ParameterError, match="must be positive"):
        rates.compute_rate_per_1000(counts, pop.replace(255_000, 0))
    with pytest.raises(ParameterError, match="is negative"):
        rates.compute_rate_per_1000(-counts, pop)


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()


@pytest.fixture(scope="module")
def real():
    if MIRROR is None:
        pytest.skip("no ../shared/data mirror")
    borough = MIRROR / "london-datastore" / "population"
    return (
        population.build_borough_population(borough),
        population.build_lsoa_population(MIRROR / "ons" / "lsoa-population-2019-2020", borough),
    )


@pytest.mark.realdata
def test_real_projection_defect_is_flagged(real):
    (tables, log), _ = real
    table = tables["borough_population"]
    # PROVENANCE: 36 areas x 52 years = 1,872 rows; the 33 boroughs give 1,716.
    assert len(table) == 33 * 52
    assert not table.loc[table["year"] <= 2010, "is_projection"].any()
    assert table.loc[table["year"] >= 2011, "is_projection"].all()
    assert any("2011-2050 are 'GLA Population Projections'" in w for w in log["warnings"])
    # Independent check: ONS MYE 2010 in this file equals the ONS figure in the separate
    # home-office compilation (population_la.csv), while 2011 (a GLA projection) does not.
    with open(MIRROR / "home-office" / "force-population-knife-crime" / "population_la.csv") as f:
        ons = {int(r["year"]): int(r["Barking and Dagenham"]) for r in csv.DictReader(f)}
    bd = table[table["borough_code"] == "E09000002"].set_index("year")["population"]
    assert bd[2010] == ons[2010] == 182_838
    assert bd[2011] != ons[2011] == 187_029


@pytest.mark.realdata
def test_real_lsoa_population(real):
    _, (tables, log) = real
    lsoa = tables["lsoa_population"]
    # PROVENANCE: 4,835 LSOAs per year; mid-2019 sums to 8,961,989 persons.
    assert (lsoa.groupby("year").size() == 4_835).all()
    assert lsoa.loc[lsoa["year"] == 2019, "population"].sum() == 8_961_989
    check = tables["lsoa_population_check"]
    assert check["borough_code"].nunique() == 33
    assert "sum to 8,961,989 for the 33 boroughs" in log["warnings"][0]
