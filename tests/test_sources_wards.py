"""Tests for mpsanalysis.ingest.sources.wards (and build_sources' handling of missing folders).

Fixtures are tiny hand-written CSVs; expected values are worked out by hand in comments.
The real-data tests read ../shared/data and check facts stated in its PROVENANCE.txt or
recomputed here with the csv module, independently of the package.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis import boroughs, paths
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest.sources import build_sources, wards

HEADER = "MajorText,MinorText,WardName,WardCode,LookUp_BoroughName"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- reading


def test_read_ward_crime_tidies_one_file(tmp_path):
    path = write(
        tmp_path,
        "w.csv",
        f"{HEADER},201703,201704\n"
        "Robbery,Robbery of Personal Property,Abbey,E05000026,Barking and Dagenham,3,5\n"
        "Theft,Bicycle Theft,Heathrow Villages,E05013570,Aviation Security (SO18),0,2\n",
    )
    got = wards.read_ward_crime(path)
    # 2 rows x 2 months = 4 tidy rows; one 2022 code (E05013570) makes the file '2022'.
    expected = pd.DataFrame(
        {
            "month": pd.PeriodIndex(["2017-03", "2017-04"] * 2, freq="M"),
            "ward_code": ["E05000026"] * 2 + ["E05013570"] * 2,
            "ward_name": ["Abbey"] * 2 + ["Heathrow Villages"] * 2,
            "ward_vintage": ["2022"] * 4,
            "borough_code": ["E09000002"] * 2 + [boroughs.AIRPORTS_CODE] * 2,
            "borough_name": ["Barking and Dagenham"] * 2
            + ["London Heathrow and London City Airports"] * 2,
            "major_category": ["Robbery"] * 2 + ["Theft"] * 2,
            "minor_category": ["Robbery of Personal Property"] * 2 + ["Bicycle Theft"] * 2,
            "count": [3, 5, 0, 2],
            "source_file": ["w.csv"] * 4,
        }
    )
    text = [c for c in wards.WARD_COLUMNS if c not in ("month", "count")]
    pd.testing.assert_frame_equal(
        got.astype({c: str for c in text}), expected.astype({c: str for c in text})
    )


def test_borough_name_column_alias_is_accepted(tmp_path):
    path = write(
        tmp_path,
        "w.csv",
        "MajorText,MinorText,WardName,WardCode,BoroughName,202401\n"
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Abbey,E05000026,Barking and Dagenham,7\n",
    )
    assert wards.read_ward_crime(path)["count"].tolist() == [7]


@pytest.mark.parametrize(
    "row, line, column, message",
    [
        # line 3 = header (1) + first good row (2) + the bad row
        (
            "Theft,Other Theft,Abbey,E05000026,Narnia,1,2",
            3,
            "LookUp_BoroughName",
            "unknown borough 'Narnia'",
        ),
        (
            "Theft,Other Theft,Abbey,E05000026,Barking and Dagenham,1,-2",
            3,
            "201704",
            "count '-2' is negative",
        ),
        (
            "Theft,Other Theft,Abbey,E05000026,Barking and Dagenham,1.5,2",
            3,
            "201703",
            "count '1.5' is not a whole number",
        ),
        (
            "Theft,Other Theft,Abbey,E05000026,Barking and Dagenham,x,2",
            3,
            "201703",
            "count 'x' is not a number",
        ),
        (
            "Theft,Other Theft,Abbey,E05000026,Barking and Dagenham,,2",
            3,
            "201703",
            "count '' is blank",
        ),
        (
            "Theft,Other Theft,Abbey,W05000026,Barking and Dagenham,1,2",
            3,
            "WardCode",
            "is not a GSS ward code",
        ),
        ("Theft,,Abbey,E05000026,Barking and Dagenham,1,2", 3, "MinorText", "MinorText is blank"),
    ],
)
def test_bad_rows_are_reported_with_file_line_and_column(tmp_path, row, line, column, message):
    path = write(
        tmp_path,
        "bad.csv",
        f"{HEADER},201703,201704\n"
        "Robbery,Robbery of Personal Property,Abbey,E05000026,Barking and Dagenham,3,5\n"
        f"{row}\n",
    )
    with pytest.raises(DataValidationError) as info:
        wards.read_ward_crime(path)
    err = info.value
    assert (err.file, err.row, err.column) == ("bad.csv", line, column)
    assert message in str(err)


def test_renamed_column_is_reported(tmp_path):
    path = write(
        tmp_path,
        "renamed.csv",
        "MajorText,MinorText,WardName,Ward Code,LookUp_BoroughName,201703\n"
        "Robbery,Robbery of Personal Property,Abbey,E05000026,Barking and Dagenham,3\n",
    )
    with pytest.raises(DataValidationError, match="missing required column 'WardCode'") as info:
        wards.read_ward_crime(path)
    assert info.value.row == 1


def test_truncated_last_line_is_reported(tmp_path):
    path = write(
        tmp_path,
        "cut.csv",
        f"{HEADER},201703,201704\n"
        "Robbery,Robbery of Personal Property,Abbey,E05000026,Barking and Dagenham,3,5\n"
        "Robbery,Robbery of Personal Property,Alibon,E05000027,Bark",
    )
    with pytest.raises(DataValidationError, match="has 5 field.s. but the header has 7") as info:
        wards.read_ward_crime(path)
    assert info.value.row == 3


@pytest.mark.parametrize("header", ["201713", "2017-03", "March"])
def test_malformed_month_header(tmp_path, header):
    path = write(
        tmp_path,
        "m.csv",
        f"{HEADER},{header}\nRobbery,Robbery of Personal Property,Abbey,E05000026,Barnet,3\n",
    )
    with pytest.raises(DataValidationError, match="is not a month") as info:
        wards.read_ward_crime(path)
    assert info.value.column == header


def test_duplicate_rows_are_rejected(tmp_path):
    row = "Robbery,Robbery of Personal Property,Abbey,E05000026,Barking and Dagenham,3"
    path = write(tmp_path, "d.csv", f"{HEADER},201703\n{row}\n{row}\n")
    with pytest.raises(DataValidationError, match="duplicate rows.*lines 2, 3") as info:
        wards.read_ward_crime(path)
    assert info.value.row == 3


def test_same_ward_under_two_boroughs_is_not_a_duplicate(tmp_path):
    path = write(
        tmp_path,
        "h.csv",
        f"{HEADER},202401\n"
        "Theft,Other Theft,Heathrow Villages,E05013570,Hillingdon,4\n"
        "Theft,Other Theft,Heathrow Villages,E05013570,Aviation Security (SO18),9\n",
    )
    got = wards.read_ward_crime(path)
    assert got["borough_code"].astype(str).tolist() == ["E09000017", boroughs.AIRPORTS_CODE]


@pytest.mark.parametrize(
    "codes, vintage",
    [
        (["E05000026"], "2014"),
        (["E05011489"], "2014"),  # a 2018-19 review ward: still the pre-2022 set
        (["E05009317", "E05013496"], "2022"),
        (["E05014119"], "2022"),
    ],
)
def test_detect_ward_vintage(codes, vintage):
    assert wards.detect_ward_vintage(codes) == vintage


# --------------------------------------------------------------------------- combining


def _two_snapshots(folder: Path) -> None:
    # Older snapshot: Dec 2021 and Jan 2022. Newer: Jan and Feb 2022, in capitals, with
    # the January robbery count revised from 5 to 7 (+2) and one minor category fewer.
    write(
        folder,
        "old_202112-202201.csv",
        f"{HEADER},202112,202201\n"
        "Robbery,Robbery of Personal Property,Abbey,E05000026,Barking and Dagenham,4,5\n"
        "Theft,Bicycle Theft,Abbey,E05000026,Barking and Dagenham,1,1\n"
        "Theft,Other Theft,Abbey,E05000026,Barking and Dagenham,2,3\n",
    )
    write(
        folder,
        "new_202201-202202.csv",
        f"{HEADER},202201,202202\n"
        "ROBBERY,ROBBERY OF PERSONAL PROPERTY,Abbey,E05000026,Barking and Dagenham,7,6\n"
        "THEFT,OTHER THEFT,Abbey,E05000026,Barking and Dagenham,3,2\n",
    )


def test_newer_file_wins_and_revisions_are_reported(tmp_path):
    _two_snapshots(tmp_path)
    tables, log = wards.build_wards(tmp_path)
    combined = tables["ward_crime"]
    jan = combined[combined["month"] == pd.Period("2022-01", "M")]
    # January comes from the newer file: robbery 7 (not 5), other theft 3; the older
    # file's bicycle theft (1) has no counterpart and is not used for January.
    assert jan.set_index(jan["minor_category"].astype(str))["count"].to_dict() == {
        "Other Theft": 3,
        "Robbery of Personal Property": 7,
    }
    assert set(jan["source_file"].astype(str)) == {"new_202201-202202.csv"}
    # December only in the older file: 4 + 1 + 2 = 7 crimes.
    assert combined.loc[combined["month"] == pd.Period("2021-12", "M"), "count"].sum() == 7

    revisions = tables["ward_crime_revisions"]
    assert len(revisions) == 1
    row = revisions.iloc[0]
    assert (row["superseded_count"], row["count"], row["difference"]) == (5, 7, 2)
    assert str(row["minor_category"]) == "Robbery of Personal Property"  # capitals resolved

    text = " ".join(log["warnings"])
    # cells compared in Jan 2022: robbery and other theft = 2; 1 revised by +2;
    # the older file's bicycle theft cell has no counterpart = 1.
    assert "Of 2 cells published by both" in text
    assert "1 were revised, total difference +2 crimes" in text
    assert "1 cells of the older file have no counterpart" in text
    # 3 minor categories in the older file, 2 in the newer.
    assert "fewer minor categories (old_202112-202201.csv: 3, new_202201-202202.csv: 2)" in text
    assert log["rows"] == 7  # Dec: 3 cells (older file) + Jan: 2 + Feb: 2 (newer file)


def test_gap_between_files_is_reported_not_filled(tmp_path):
    write(tmp_path, "a.csv", f"{HEADER},201701\nTheft,Other Theft,Abbey,E05000026,Barnet,1\n")
    write(tmp_path, "b.csv", f"{HEADER},201704\nTheft,Other Theft,Abbey,E05000026,Barnet,2\n")
    tables, log = wards.build_wards(tmp_path)
    # Feb and Mar 2017 are missing: 2 months, and no zero rows are invented.
    assert "no ward file supplies 2 months (Feb 2017 to Mar 2017)" in " ".join(log["warnings"])
    assert tables["ward_crime"]["month"].astype(str).tolist() == ["2017-01", "2017-04"]


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DataValidationError, match="no ward-level crime files"):
        wards.build_wards(tmp_path)


# --------------------------------------------------------------------------- build_sources


def test_build_sources_reports_missing_folders_as_not_supplied(tmp_path):
    logs = build_sources(tmp_path / "raw", tmp_path / "store")
    assert logs, "one log entry per source"
    for log in logs:
        assert set(log) == {"source", "tables", "rows", "files", "warnings"}
        assert log["tables"] == [] and log["rows"] == 0
        assert log["warnings"][0].startswith("not supplied")
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


def test_build_sources_writes_a_present_source_and_raises_on_a_bad_file(tmp_path):
    folder = tmp_path / "raw" / "london-datastore" / "ward-crime"
    folder.mkdir(parents=True)
    _two_snapshots(folder)
    logs = build_sources(tmp_path / "raw", tmp_path / "store")
    ward_log = next(log for log in logs if log["source"] == "ward_crime")
    assert ward_log["tables"] == ["ward_crime", "ward_crime_revisions", "ward_crime_categories"]
    assert (tmp_path / "store" / "ward_crime.parquet").exists()
    others = [log for log in logs if log["source"] != "ward_crime"]
    assert all(log["warnings"][0].startswith("not supplied") for log in others)

    write(folder, "zz_bad.csv", f"{HEADER},202203\nTheft,Other Theft,Abbey,E05000026,Narnia,1\n")
    with pytest.raises(DataValidationError, match="unknown borough 'Narnia'"):
        build_sources(tmp_path / "raw", tmp_path / "store")


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()
WARD_FOLDER = MIRROR / "london-datastore" / "ward-crime" if MIRROR else None


@pytest.fixture(scope="module")
def real_wards():
    if WARD_FOLDER is None or not WARD_FOLDER.is_dir():
        pytest.skip("no ../shared/data mirror")
    return wards.build_wards(WARD_FOLDER)


def _raw_rows(name: str) -> list[dict]:
    with open(WARD_FOLDER / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.realdata
def test_real_first_file_matches_provenance(real_wards):
    tables, _ = real_wards
    combined = tables["ward_crime"]
    # The first file is never superseded (the next starts in 2020-09): all its cells are used.
    first = combined[combined["source_file"] == "MPS_Ward_Level_Crime_201703-201902.csv"]
    # PROVENANCE: rows 22,438; 24 months; 629 wards; 32 boroughs; 53 minor categories.
    assert len(first) == 22_438 * 24
    assert first["ward_code"].nunique() == 629
    assert first["borough_code"].nunique() == 32
    assert first["minor_category"].nunique() == 53
    assert set(first["ward_vintage"].astype(str)) == {"2014"}


@pytest.mark.realdata
def test_real_combined_table(real_wards):
    tables, log = real_wards
    combined = tables["ward_crime"]
    assert list(combined.columns) == wards.WARD_COLUMNS
    # Every month 2017-03..2019-02 and 2020-09..2025-12 exactly once per cell.
    months = {str(m) for m in combined["month"].unique()}
    assert len(months) == 24 + (2025 - 2020) * 12 + 4  # 24 + 64 = 88
    assert "2019-03" not in months and "2020-08" not in months
    keys = ["month", "ward_code", "borough_code", "major_category", "minor_category"]
    assert not combined[keys].duplicated().any()
    # March 2017 London total recomputed from the raw file with the csv module.
    rows = _raw_rows("MPS_Ward_Level_Crime_201703-201902.csv")
    expected = sum(int(r["201703"]) for r in rows)
    got = combined.loc[combined["month"] == pd.Period("2017-03", "M"), "count"].sum()
    assert got == expected
    # Dec 2025 comes from the newest file, in 2022 wards, 679 of them (PROVENANCE).
    dec = combined[combined["month"] == pd.Period("2025-12", "M")]
    assert set(dec["ward_vintage"].astype(str)) == {"2022"}
    assert dec["ward_code"].nunique() == 679
    # Heathrow Villages is kept under the airports pseudo-borough too.
    assert boroughs.AIRPORTS_CODE in set(dec["borough_code"].astype(str))


@pytest.mark.realdata
def test_real_revision_matches_the_raw_files(real_wards):
    tables, _ = real_wards
    revisions = tables["ward_crime_revisions"]
    assert len(revisions) > 0 and revisions["difference"].ne(0).all()
    # Pick one revised cell between the two newest files and read both raw values.
    pair = revisions[
        revisions["superseded_file"]
        .astype(str)
        .eq("MPS_Ward_Level_Crime_202304-202503_2022wards.csv")
        & revisions["minor_category"].astype(str).eq("Possession of Drugs")
    ].iloc[0]
    column = pair["month"].strftime("%Y%m")

    def raw_value(name: str) -> int:
        for r in _raw_rows(name):
            if (
                r["WardCode"] == pair["ward_code"]
                and r["MinorText"] == "POSSESSION OF DRUGS"
                and boroughs.lookup_borough_code(r["LookUp_BoroughName"]) == pair["borough_code"]
            ):
                return int(r[column])
        raise AssertionError("cell not found")

    assert raw_value("MPS_Ward_Level_Crime_202304-202503_2022wards.csv") == pair["superseded_count"]
    assert raw_value("MPS_Ward_Level_Crime_202401-202512_2022wards.csv") == pair["count"]


@pytest.mark.realdata
def test_real_warnings_report_known_defects(real_wards):
    _, log = real_wards
    text = " ".join(log["warnings"])
    # PROVENANCE: 53 minor categories in file 1, about 31 in file 4, 33 in file 5.
    assert "fewer minor categories" in text
    assert "MPS_Ward_Level_Crime_202304-202503_2022wards.csv: 31" in text
    assert "no ward file supplies 18 months (Mar 2019 to Aug 2020)" in text
    assert "ward boundaries change" in text
    assert "'Stalking And Harassment'" in text  # the 2024 file's new category
    assert "E05013570" in text  # Heathrow Villages under two boroughs
    assert len(log["files"]) == 5
