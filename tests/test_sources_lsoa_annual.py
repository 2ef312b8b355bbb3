"""Tests for mpsanalysis.ingest.sources.lsoa_annual: hand-made files, then the real ones."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest.sources import lsoa_annual

HEADER = "LSOA11CD,LSOA11NM,MSOA11CD,MSOA11NM,LAD11CD,LAD11NM,2019,2020,2021"
CAMDEN = "E09000007,Camden"


def write(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def folder(tmp_path):
    # Robbery: LSOA A 5, 10, 6 and LSOA B 7, 14, 6 -> London 12, 24, 12 in 2019-2021.
    write(
        tmp_path / "lsoa",
        "london-2011-2021-major-robbery.csv",
        HEADER,
        [
            f"E01000907,Camden 001A,E02000166,Camden 001,{CAMDEN},5.0,10.0,6.0",
            f"E01000908,Camden 001B,E02000166,Camden 001,{CAMDEN},7.0,14.0,6.0",
        ],
    )
    write(
        tmp_path / "lsoa",
        "london-2011-2021-major-sexual.csv",
        HEADER,
        [
            f"E01000907,Camden 001A,E02000166,Camden 001,{CAMDEN},0.0,0.0,0.0",
            f"E01000908,Camden 001B,E02000166,Camden 001,{CAMDEN},0.0,0.0,0.0",
        ],
    )
    # The published monthly robbery totals: 1 a month in 2019 and 2021 (12 a year);
    # 2 a month January-June 2020 and 1 a month July-December (6 x 2 + 6 x 1 = 18).
    months = [f"{y}{m:02d}" for y in (2019, 2020, 2021) for m in range(1, 13)]
    counts = [1] * 12 + [2] * 6 + [1] * 6 + [1] * 12
    write(
        tmp_path / "borough",
        "MPS_Borough_Level_Crime_test.csv",
        "MajorText,MinorText,LookUp_BoroughName," + ",".join(months),
        ["Robbery,Robbery of Personal Property,Camden," + ",".join(map(str, counts))],
    )
    return tmp_path


def test_read_tidies_and_flags_2020(folder):
    got = lsoa_annual.read_lsoa_crime_annual(folder / "lsoa" / "london-2011-2021-major-robbery.csv")
    assert list(got.columns) == lsoa_annual.LSOA_CRIME_COLUMNS
    assert len(got) == 2 * 3
    assert got["count"].tolist() == [5, 10, 6, 7, 14, 6]
    assert got["is_reliable"].tolist() == [True, False, True, True, False, True]
    assert set(got["major_category"]) == {"Robbery"} and got["minor_category"].isna().all()


def test_minor_file_is_labelled_as_minor(tmp_path):
    path = write(
        tmp_path,
        "london-2011-2021-minor-theft-bicycle.csv",
        HEADER,
        [f"E01000907,Camden 001A,E02000166,Camden 001,{CAMDEN},1,2,3"],
    )
    got = lsoa_annual.read_lsoa_crime_annual(path)
    assert set(got["category_level"]) == {"minor"}
    assert set(got["major_category"]) == {"Theft"} and set(got["minor_category"]) == {
        "Bicycle Theft"
    }


def test_2020_anomaly_measured_against_published_months(folder):
    tables, log = lsoa_annual.build_lsoa_crime_annual(folder / "lsoa", folder / "borough")
    check = tables["lsoa_crime_annual_2020_check"].set_index("major_category")
    robbery = check.loc["Robbery"]
    # ratio: 24 / ((12 + 12) / 2) = 2.0
    assert robbery["ratio_2020"] == 2.0
    # coverage: LSOA / published = 12/12, 24/18, 12/12
    assert robbery["coverage_2019"] == 1.0
    assert robbery["coverage_2020"] == pytest.approx(24 / 18)
    assert robbery["coverage_2021"] == 1.0
    # twice January-June 2020 = 2 x (6 x 2) = 24 = the 2020 column exactly
    assert robbery["months_doubled"] == 6 and robbery["doubled_fit"] == 1.0
    assert "Sexual Offences" not in check.index  # an all-zero file says nothing
    text = " ".join(log["warnings"])
    assert "2020 is marked unreliable" in text
    assert "2.00 times the mean of 2019 and 2021" in text
    assert "100.0% of 2019 and 100.0% of 2021 but 133.3% of 2020" in text
    assert "twice January to June 2020 within 0.0%" in text


def test_all_zero_file_is_unreliable_and_reported(folder):
    tables, log = lsoa_annual.build_lsoa_crime_annual(folder / "lsoa")
    table = tables["lsoa_crime_annual"]
    sexual = table[table["major_category"] == "Sexual Offences"]
    assert len(sexual) == 6 and not sexual["is_reliable"].any()
    assert any(
        "london-2011-2021-major-sexual.csv: every count is zero" in w for w in log["warnings"]
    )
    # without the borough files the check is internal only, and says so
    assert any("supply the borough-level crime files" in w for w in log["warnings"])


@pytest.mark.parametrize(
    "row, column, message",
    [
        (
            "E01000909,Narnia 001A,E02000166,Narnia 001,E09000099,Narnia,1,2,3",
            "LAD11NM",
            "unknown borough 'Narnia'",
        ),
        (
            f"E01000909,Camden 001C,E02000166,Camden 001,{CAMDEN},1,-2,3",
            "2020",
            "count '-2' is negative",
        ),
        (
            f"E01000909,Camden 001C,E02000166,Camden 001,{CAMDEN},1,2.5,3",
            "2020",
            "count '2.5' is not a whole number",
        ),
        (
            "E01000909,Camden 001C,E02000166,Camden 001,E09000033,Camden,1,2,3",
            "LAD11CD",
            "does not match the borough name",
        ),
        (f"E01000907,Camden 001A,E02000166,Camden 001,{CAMDEN},1,2,3", "LSOA11CD", "appears twice"),
    ],
)
def test_bad_rows(tmp_path, row, column, message):
    good = f"E01000907,Camden 001A,E02000166,Camden 001,{CAMDEN},5,10,6"
    path = write(tmp_path, "london-2011-2021-major-robbery.csv", HEADER, [good, row])
    with pytest.raises(DataValidationError) as info:
        lsoa_annual.read_lsoa_crime_annual(path)
    assert (info.value.row, info.value.column) == (3, column)
    assert message in str(info.value)


def test_renamed_or_extra_columns_and_unknown_file(tmp_path):
    renamed = write(
        tmp_path, "london-2011-2021-major-robbery.csv", HEADER.replace("LSOA11CD", "LSOA"), []
    )
    with pytest.raises(DataValidationError, match="missing required column 'LSOA11CD'"):
        lsoa_annual.read_lsoa_crime_annual(renamed)
    extra = write(
        tmp_path,
        "london-2011-2021-major-drugs.csv",
        HEADER + ",Total",
        [f"E01000907,Camden 001A,E02000166,Camden 001,{CAMDEN},5,10,6,21"],
    )
    with pytest.raises(DataValidationError, match="'Total' is neither an LSOA field nor a year"):
        lsoa_annual.read_lsoa_crime_annual(extra)
    unknown = write(tmp_path, "london-2011-2021-major-fraud.csv", HEADER, [])
    with pytest.raises(DataValidationError, match="is not a known annual LSOA crime file"):
        lsoa_annual.read_lsoa_crime_annual(unknown)


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()


@pytest.fixture(scope="module")
def real():
    if MIRROR is None:
        pytest.skip("no ../shared/data mirror")
    return lsoa_annual.build_lsoa_crime_annual(
        MIRROR / "london-datastore" / "lsoa-crime-annual",
        MIRROR / "london-datastore" / "borough-crime",
    )


@pytest.mark.realdata
def test_real_2020_defect_is_detected(real):
    tables, log = real
    table = tables["lsoa_crime_annual"]
    # PROVENANCE: 13 files x 4,829 LSOAs x 11 years (2011-2021).
    assert len(table) == 13 * 4_829 * 11
    assert not table.loc[table["year"] == 2020, "is_reliable"].any()
    check = tables["lsoa_crime_annual_2020_check"].set_index("major_category")
    london = check.loc["All major categories"]
    # Coverage is steady (about 97-98%) in 2019 and 2021 but jumps in 2020, and the 2020
    # column is reproduced by doubling the first months of 2020 (the historic file).
    assert abs(london["coverage_2019"] - london["coverage_2021"]) < 0.02
    assert london["coverage_2020"] > london["coverage_2019"] + 0.10
    assert london["months_doubled"] == 7 and abs(london["doubled_fit"] - 1) < 0.02
    assert any("2020 is marked unreliable" in w for w in log["warnings"])
    assert any("major-sexual.csv: every count is zero" in w for w in log["warnings"])


@pytest.mark.realdata
def test_real_counts_match_the_raw_file(real):
    tables, _ = real
    path = MIRROR / "london-datastore" / "lsoa-crime-annual" / "london-2011-2021-major-burglary.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        expected = sum(float(r["2019"]) for r in csv.DictReader(handle))
    table = tables["lsoa_crime_annual"]
    got = table.loc[(table["source_file"] == path.name) & (table["year"] == 2019), "count"].sum()
    assert got == expected == 80_371
