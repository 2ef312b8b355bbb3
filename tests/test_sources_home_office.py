"""Tests for mpsanalysis.ingest.sources.home_office: hand-made tables, then the real ones."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest.sources import home_office
from mpsanalysis.stats import forces

PRC_HEADER = (
    "Financial Year,Financial Quarter,Force Name,Offence Description,Offence Group,"
    "Offence Subgroup,Offence Code,Number of Offences"
)
ROBBERY = "Robbery of personal property,Robbery,Robbery of personal property,34B"
MURDER = "Murder,Violence against the person,Homicide,1"
PRC_ROWS = [
    f"2019/20,1,Metropolitan Police,{ROBBERY},20000",
    f"2019/20,2,Metropolitan Police,{ROBBERY},10000",
    f"2019/20,1,Metropolitan Police,{MURDER},30",
    f"2019/20,1,Greater Manchester,{ROBBERY},5000",
    f"2019/20,1,Merseyside,{ROBBERY},3000",
    f"2019/20,2,Merseyside,{MURDER},-1",  # a published negative correction
]


def write(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def tables(tmp_path):
    write(tmp_path / "prc", "prc.csv", PRC_HEADER, PRC_ROWS)
    write(
        tmp_path / "pop",
        "population_policeforces.csv",
        "year,Greater Manchester,Merseyside,Metropolitan Police,City of London",
        ["2019,2500000,1000000,10000000,10000"],
    )
    crime, crime_log = home_office.build_force_crime(tmp_path / "prc")
    population, _ = home_office.build_force_population(tmp_path / "pop")
    return crime["force_crime"], population["force_population"], crime_log


def test_read_prc_normalises_force_names(tmp_path):
    path = write(tmp_path, "prc.csv", PRC_HEADER, [f"2019/20,1,Avon & Somerset,{MURDER},3"])
    got = home_office.read_prc_offences(path)
    assert got["force_name"].tolist() == ["Avon and Somerset"]
    assert list(got.columns) == home_office.FORCE_CRIME_COLUMNS


def test_compare_similar_forces_worked_example(tables):
    crime, population, _ = tables
    got = forces.compare_similar_forces(
        "Robbery",
        similar=["Greater Manchester", "Merseyside"],
        force_crime=crime,
        force_population=population,
    ).set_index("force_name")
    # Met: (20,000 + 10,000) / 10,000,000 x 1,000 = 3.0 per 1,000
    # GMP: 5,000 / 2,500,000 x 1,000 = 2.0; Merseyside: 3,000 / 1,000,000 x 1,000 = 3.0
    # MSF average (2.0 + 3.0) / 2 = 2.5; pooled 8,000 / 3,500,000 x 1,000 = 2.2857
    assert got.loc["Metropolitan Police", "offences"] == 30_000
    assert got["rate"].round(4).to_dict() == {
        "Metropolitan Police": 3.0,
        "Greater Manchester": 2.0,
        "Merseyside": 3.0,
        "MSF average": 2.5,
        "MSF pooled": 2.2857,
    }
    # Met is (3.0 - 2.5) / 2.5 = 20% above the MSF average
    assert got.loc["Metropolitan Police", "pct_vs_msf_average"] == pytest.approx(20.0)
    assert got["role"].tolist() == ["force", "similar", "similar", "msf_average", "msf_pooled"]


def test_compare_similar_forces_filters_and_group(tables):
    crime, population, _ = tables
    # By code, description or subgroup; a force with no matching offences counts 0.
    by_code = forces.compare_similar_forces(
        "1", similar=["Merseyside"], per=10_000, force_crime=crime, force_population=population
    ).set_index("force_name")
    # Met: 30 / 10,000,000 x 10,000 = 0.03; Merseyside: -1 (as published) -> -0.01
    assert by_code.loc["Metropolitan Police", "rate"] == pytest.approx(0.03)
    assert by_code.loc["Merseyside", "offences"] == -1
    by_function = forces.compare_similar_forces(
        lambda t: t["offence_code"].eq("34B"),
        similar=("Merseyside",),
        force_crime=crime,
        force_population=population,
    )
    assert by_function["offences"].iloc[0] == 30_000


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"offence_filter": "Fraud"}, "matches no offence"),
        ({"offence_filter": "Robbery", "force": "Narnia"}, "is not a police force"),
        ({"offence_filter": "Robbery", "similar": ["Metropolitan Police"]}, "its own comparison"),
        ({"offence_filter": "Robbery", "similar": []}, "is empty"),
        ({"offence_filter": "Robbery", "year": "2018/19"}, "no recorded crime for 2018/19"),
        ({"offence_filter": "Robbery", "year": "2019/21"}, "is not a financial year"),
        ({"offence_filter": "Robbery", "similar": ["Kent"]}, "no mid-2019 population for Kent"),
    ],
)
def test_compare_similar_forces_errors(tables, kwargs, message):
    crime, population, _ = tables
    kwargs.setdefault("similar", ["Merseyside"])
    with pytest.raises(ParameterError, match=message):
        forces.compare_similar_forces(force_crime=crime, force_population=population, **kwargs)


def test_build_force_crime_reports_negative_counts(tables):
    _, _, log = tables
    text = " ".join(log["warnings"])
    assert "1 quarterly counts are negative" in text
    assert "Merseyside 1 (-1)" in text  # the annual total is still negative


@pytest.mark.parametrize(
    "row, column, message",
    [
        (f"2019/20,1,Narnia Constabulary,{MURDER},3", "Force Name", "unknown police force"),
        (f"2019/20,5,Kent,{MURDER},3", "Financial Quarter", "'5' is not 1 to 4"),
        (f"2019-2020,1,Kent,{MURDER},3", "Financial Year", "is not a financial year"),
        (f"2019/20,1,Kent,{MURDER},many", "Number of Offences", "count 'many' is not a number"),
    ],
)
def test_bad_prc_rows(tmp_path, row, column, message):
    path = write(tmp_path, "prc.csv", PRC_HEADER, [PRC_ROWS[0], row])
    with pytest.raises(DataValidationError) as info:
        home_office.read_prc_offences(path)
    assert (info.value.row, info.value.column) == (3, column)
    assert message in str(info.value)


def test_renamed_prc_column_and_duplicates(tmp_path):
    renamed = write(tmp_path, "a.csv", PRC_HEADER.replace("Force Name", "Force"), PRC_ROWS)
    with pytest.raises(DataValidationError, match="missing required column 'Force Name'"):
        home_office.read_prc_offences(renamed)
    twice = write(tmp_path, "b.csv", PRC_HEADER, [PRC_ROWS[0], PRC_ROWS[0]])
    with pytest.raises(DataValidationError, match="appears twice"):
        home_office.read_prc_offences(twice)


def test_population_file_rejects_unknown_force_and_negative(tmp_path):
    bad = write(tmp_path, "p1.csv", "year,Narnia", ["2019,5"])
    with pytest.raises(DataValidationError, match="'Narnia' is not a police force"):
        home_office.read_force_population(bad)
    negative = write(tmp_path, "p2.csv", "year,Kent", ["2019,-5"])
    with pytest.raises(DataValidationError, match="population '-5' is negative"):
        home_office.read_force_population(negative)


def test_met_population_checked_against_ons_borough_sums(tmp_path):
    # 32 MPS boroughs of 100,000 each (3,200,000) and the City of London at 10,000.
    rows = []
    for code, name in boroughs.borough_table()[["borough_code", "borough_name"]].itertuples(
        index=False
    ):
        if code.startswith("E09"):
            people = 10_000 if code == "E09000001" else 100_000
            lsoa = f"E01{int(code[3:]):06d}"
            rows.append(f"{lsoa},{name} 001A,{code},{name},{people}")
    write(
        tmp_path / "lsoa",
        "london-mid2019-pop.csv",
        "LSOA11CD,LSOA11NM,LAD11CD,LAD11NM,Persons_All-Ages",
        rows,
    )
    write(
        tmp_path / "pop",
        "population_policeforces.csv",
        "year,Metropolitan Police,City of London",
        ["2018,2900000,9000", "2019,3000000,10000"],
    )
    tables, log = home_office.build_force_population(tmp_path / "pop", tmp_path / "lsoa")
    table = tables["force_population"].set_index(["force_name", "year"])
    # 3,000,000 published vs 3,200,000 ONS: -200,000 = -6.25% -> replaced
    met = table.loc[("Metropolitan Police", 2019)]
    assert (met["population"], met["population_published"]) == (3_200_000, 3_000_000)
    assert met["is_corrected"] and not met["is_suspect"]
    assert table.loc[("Metropolitan Police", 2018), "is_suspect"]  # no ONS check for 2018
    assert not table.loc[("City of London", 2019), "is_corrected"]  # 10,000 = 10,000
    assert "2019: 3,000,000 published vs 3,200,000 (-6.2%)" in " ".join(log["warnings"])


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()


@pytest.fixture(scope="module")
def real():
    if MIRROR is None:
        pytest.skip("no ../shared/data mirror")
    crime, crime_log = home_office.build_force_crime(MIRROR / "home-office" / "prc-pfa-2019-20")
    population, population_log = home_office.build_force_population(
        MIRROR / "home-office" / "force-population-knife-crime",
        MIRROR / "ons" / "lsoa-population-2019-2020",
        MIRROR / "london-datastore" / "population",
    )
    return crime["force_crime"], population["force_population"], crime_log, population_log


@pytest.mark.realdata
def test_real_prc_matches_provenance(real):
    crime, _, log, _ = real
    # PROVENANCE: 23,420 rows, FY2019/20 Q1-Q4, 47 "forces" = 43 territorial + BTP and
    # Action Fraud, CIFAS, UK Finance; 136 offence descriptions.
    assert len(crime) == 23_420
    assert crime["force_name"].nunique() == 47
    assert set(crime["force_name"]) - set(home_office.OTHER_RECORDERS) == set(
        home_office.TERRITORIAL_FORCES
    )
    assert crime["offence_description"].nunique() == 136
    assert sorted(crime["quarter"].unique()) == [1, 2, 3, 4]
    assert any("quarterly counts are negative" in w for w in log["warnings"])


@pytest.mark.realdata
def test_real_met_population_defect_and_msf_table(real):
    crime, population, _, log = real
    # Independent ONS figure: mid-2019 LSOA estimates summed over the 32 MPS boroughs.
    path = MIRROR / "ons" / "lsoa-population-2019-2020" / "london-mid2019-pop.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        ons = sum(
            int(r["Persons_All-Ages"])
            for r in csv.DictReader(handle)
            if r["LAD11CD"] != "E09000001"
        )
    met = population[
        (population["force_name"] == "Metropolitan Police") & (population["year"] == 2019)
    ].iloc[0]
    assert met["population_published"] == 8_390_028 and met["population"] == ons == 8_952_268
    assert any("Metropolitan Police population is wrong" in w for w in log["warnings"])

    table = forces.compare_similar_forces(
        "Homicide", force_crime=crime, force_population=population, per=10_000
    ).set_index("force_name")
    # Met homicides FY2019/20 recomputed from the raw file (subgroup Homicide, 4 quarters).
    raw = (
        MIRROR / "home-office" / "prc-pfa-2019-20" / "prc_pfa_offence_counts_2019-20_quarterly.csv"
    )
    with open(raw, newline="", encoding="utf-8") as handle:
        homicides = sum(
            float(r["Number of Offences"])
            for r in csv.DictReader(handle)
            if r["Force Name"] == "Metropolitan Police" and r["Offence Subgroup"] == "Homicide"
        )
    assert table.loc["Metropolitan Police", "offences"] == homicides
    assert table.loc["Metropolitan Police", "rate"] == pytest.approx(homicides / ons * 10_000)
    assert list(table.index[1:5]) == list(home_office.MPS_SIMILAR_FORCES)
