"""Tests for mpsanalysis.ingest.sources.homicide: tiny hand-made files, then the real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest.sources import homicide
from mpsanalysis.stats import homicide as stats_homicide

VICTIMS_HEADER = (
    "Count of Victims,Age Group,Sex,Method of Killing,Domestic Abuse,Recorded Date,"
    "Homicide Offence Type,Solved Status,Borough,Officer Observed Ethnicity"
)
PPA_HEADER = (
    "Count of PPA,Borough,Gender,Age Group,Self Classified Ethnicity,Offence Type,"
    "Charged/Summonsed,Proceedings Date"
)
VICTIM_ROWS = [
    "1,0 to 12,Female,Other Method of Killing,Yes,Mar 2019,Murder,Solved,Lambeth,White",
    "1,25 to 34,Male,Knife or Sharp Implement,No,Jun 2019,Murder,Unsolved,Lambeth,Black",
    "1,20 to 24,Male,Shooting,No,Dec 2019,Murder,Solved,Kingston Upon Thames,Black",
    "1,65 and over,Female,Blunt Implement,Yes,Jan 2020,Manslaughter,Solved,Heathrow,Asian",
    "1,13 to 19,Male,Knife or Sharp Implement,No,Feb 2020,Murder,Unsolved,Lambeth,Black",
]


def write(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def victims(tmp_path):
    return homicide.read_homicide_victims(
        write(tmp_path, "victims.csv", VICTIMS_HEADER, VICTIM_ROWS)
    )


def test_read_victims(victims):
    assert list(victims.columns) == homicide.VICTIM_COLUMNS
    assert victims["month"].astype(str).tolist() == [
        "2019-03",
        "2019-06",
        "2019-12",
        "2020-01",
        "2020-02",
    ]
    assert victims["year"].tolist() == [2019, 2019, 2019, 2020, 2020]
    # "Kingston Upon Thames" -> canonical spelling; "Heathrow" -> airports pseudo-borough
    assert victims["borough_code"].tolist() == [
        "E09000022",
        "E09000022",
        "E09000021",
        boroughs.AIRPORTS_CODE,
        "E09000022",
    ]
    assert victims["domestic_abuse"].tolist() == [True, False, False, True, False]
    assert victims["is_solved"].tolist() == [True, False, True, True, False]
    assert victims["solved_status"].tolist()[:2] == ["Solved", "Unsolved"]  # as published


def test_count_victims_by(victims):
    got = stats_homicide.count_victims_by(victims, ["year", "sex"])
    # 2019: F 1 (0 to 12), M 2; 2020: F 1, M 1
    expected = pd.DataFrame(
        {
            "year": [2019, 2019, 2020, 2020],
            "sex": ["Female", "Male", "Female", "Male"],
            "victims": [1, 2, 1, 1],
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    with pytest.raises(ParameterError, match="no column 'weapon'"):
        stats_homicide.count_victims_by(victims, ["weapon"])


def test_compute_solved_rate_with_wilson_interval(victims):
    got = stats_homicide.compute_solved_rate(victims, ["year"])
    # 2019: 2 solved of 3.  Wilson, z = 1.959964, z^2 = 3.841459:
    #   centre = (2/3 + 3.841459/6) / (1 + 3.841459/3) = 1.306910 / 2.280486 = 0.573084
    #   half   = 1.959964 / 2.280486 * sqrt((2/3)(1/3)/3 + 3.841459/36)
    #          = 0.859450 * sqrt(0.074074 + 0.106707) = 0.859450 * 0.425183 = 0.365424
    #   -> 0.2077 to 0.9385 (Newcombe 1998 gives 0.2077 to 0.9385 for 2/3)
    row = got.set_index("year").loc[2019]
    assert (row["solved"], row["victims"]) == (2, 3)
    assert row["solved_rate"] == pytest.approx(2 / 3)
    assert row["solved_rate_low"] == pytest.approx(0.2077, abs=5e-5)
    assert row["solved_rate_high"] == pytest.approx(0.9385, abs=5e-5)
    # 2020: 1 of 2
    assert got.set_index("year").loc[2020, "solved_rate"] == 0.5
    # all years together: 3 of 5
    overall = stats_homicide.compute_solved_rate(victims)
    assert overall[["solved", "victims"]].iloc[0].tolist() == [3, 5]


def test_young_victims(victims):
    got = stats_homicide.young_victims(victims).set_index("year")
    # 2019: 0 to 12 and 20 to 24 are under 25, 25 to 34 is not -> 2 of 3
    # 2020: 13 to 19 is, 65 and over is not -> 1 of 2
    assert got["young_victims"].to_dict() == {2019: 2, 2020: 1}
    assert got["victims"].to_dict() == {2019: 3, 2020: 2}
    assert got.loc[2020, "young_share"] == 0.5


def test_young_victims_refuses_an_unknown_band(victims):
    odd = victims.assign(age_group="18 to 29")
    with pytest.raises(ParameterError, match="'18 to 29' is not one of the published bands"):
        stats_homicide.young_victims(odd)


@pytest.mark.parametrize(
    "row, column, message",
    [
        (
            "1,20 to 24,Male,Shooting,No,Dec 2019,Murder,Solved,Narnia,Black",
            "Borough",
            "unknown borough 'Narnia'",
        ),
        (
            "-1,20 to 24,Male,Shooting,No,Dec 2019,Murder,Solved,Lambeth,Black",
            "Count of Victims",
            "count '-1' is negative",
        ),
        (
            "1,20 to 24,Male,Shooting,Maybe,Dec 2019,Murder,Solved,Lambeth,Black",
            "Domestic Abuse",
            "'Maybe' is not one of",
        ),
        (
            "1,20 to 24,Male,Shooting,No,Dec 2019,Murder,Pending,Lambeth,Black",
            "Solved Status",
            "'Pending' is not one of",
        ),
        (
            "1,20 to 24,Male,Shooting,No,Jam 2019,Murder,Solved,Lambeth,Black",
            "Recorded Date",
            "'Jam 2019' is not a month",
        ),
        (
            "1,18 to 24,Male,Shooting,No,Dec 2019,Murder,Solved,Lambeth,Black",
            "Age Group",
            "'18 to 24' is not one of",
        ),
    ],
)
def test_bad_victim_rows(tmp_path, row, column, message):
    path = write(tmp_path, "bad.csv", VICTIMS_HEADER, [VICTIM_ROWS[0], row])
    with pytest.raises(DataValidationError) as info:
        homicide.read_homicide_victims(path)
    assert (info.value.file, info.value.row, info.value.column) == ("bad.csv", 3, column)
    assert message in str(info.value)


def test_renamed_column(tmp_path):
    header = VICTIMS_HEADER.replace("Solved Status", "Solved")
    path = write(tmp_path, "renamed.csv", header, VICTIM_ROWS)
    with pytest.raises(DataValidationError, match="missing required column 'Solved Status'"):
        homicide.read_homicide_victims(path)


def test_ppa_tidies_spaces_and_reads_a_misspelt_month(tmp_path):
    path = write(
        tmp_path,
        "ppa.csv",
        PPA_HEADER,
        [
            "1,Croydon,Male,35 to 39,White,Murder,Charge or Summons,Febraury 2021",
            "1,Croydon,Female,20 to 24,White ,Murder,Accused is Dead,March 2021",
        ],
    )
    fixed: list[str] = []
    ppa = homicide.read_homicide_ppa(path, fixed)
    assert ppa["month"].astype(str).tolist() == ["2021-02", "2021-03"]
    assert fixed == ["'Febraury 2021' read as 'February 2021'"]
    assert ppa["ethnicity"].tolist() == ["White", "White"]
    assert ppa["proceedings_outcome"].tolist() == ["Charge or Summons", "Accused is Dead"]


def test_build_homicide_reports_quirks(tmp_path):
    write(tmp_path, "homicide_victims.csv", VICTIMS_HEADER, VICTIM_ROWS)
    write(
        tmp_path,
        "homicide_ppa.csv",
        PPA_HEADER,
        [
            "1,Croydon,Male,35 to 39,White,Murder,Recording Error,Febraury 2021",
            "1,Croydon,Male,35 to 39,White ,Murder,Charge or Summons,March 2021",
        ],
    )
    tables, log = homicide.build_homicide(tmp_path)
    assert log["tables"] == ["homicide_victims", "homicide_ppa"] and log["rows"] == 5
    text = " ".join(log["warnings"])
    assert "'Febraury 2021' read as 'February 2021'" in text
    assert "trailing spaces" in text
    assert "1 person(s) proceeded against are recorded as 'Recording Error'" in text


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()
FOLDER = MIRROR / "london-datastore" / "homicide" if MIRROR else None


@pytest.fixture(scope="module")
def real():
    if FOLDER is None or not FOLDER.is_dir():
        pytest.skip("no ../shared/data mirror")
    return homicide.build_homicide(FOLDER)


@pytest.mark.realdata
def test_real_homicide_matches_provenance(real):
    tables, log = real
    victims, ppa = tables["homicide_victims"], tables["homicide_ppa"]
    # PROVENANCE: victims rows 2,544, Jan 2003..Dec 2020; PPA rows 3,894 to March 2021.
    assert len(victims) == 2_544 and victims["victims"].sum() == 2_544
    assert (str(victims["month"].min()), str(victims["month"].max())) == ("2003-01", "2020-12")
    assert len(ppa) == 3_894
    assert (str(ppa["month"].min()), str(ppa["month"].max())) == ("2003-01", "2021-03")
    # The one Heathrow victim is the airports pseudo-borough, not dropped.
    assert (victims["borough_code"] == boroughs.AIRPORTS_CODE).sum() == 1
    assert "'Febraury 2021' read as 'February 2021'" in " ".join(log["warnings"])


@pytest.mark.realdata
def test_real_solved_and_young_counts_match_the_raw_file(real):
    tables, _ = real
    with open(FOLDER / "homicide_victims_2003-2020.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    solved = sum(r["Solved Status"] == "Solved" for r in rows)
    young_2019 = sum(
        r["Recorded Date"].endswith("2019")
        and r["Age Group"] in ("0 to 12", "13 to 19", "20 to 24")
        for r in rows
    )
    rate = stats_homicide.compute_solved_rate(tables["homicide_victims"])
    assert rate[["solved", "victims"]].iloc[0].tolist() == [solved, 2_544]
    young = stats_homicide.young_victims(tables["homicide_victims"]).set_index("year")
    assert young.loc[2019, "young_victims"] == young_2019


def test_fullwidth_digits_in_a_count_are_refused(tmp_path):
    # Python's float("１") is 1.0: the shared count parser must refuse non-ASCII digits
    # in every source, as the borough loader does (digits are 0-9 only).
    row = VICTIM_ROWS[1].replace("1,25 to 34", "１,25 to 34", 1)
    path = write(tmp_path, "wide.csv", VICTIMS_HEADER, [VICTIM_ROWS[0], row])
    with pytest.raises(DataValidationError, match="non-ASCII") as info:
        homicide.read_homicide_victims(path)
    assert (info.value.file, info.value.row) == ("wide.csv", 3)
