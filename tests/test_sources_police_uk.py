"""Tests for mpsanalysis.ingest.sources.police_uk: hand-made street/outcomes files, then real ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest.sources import police_uk
from mpsanalysis.stats import outcomes

STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context"
)
OUTCOME_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Outcome type"
)
MPS = "Metropolitan Police Service,Metropolitan Police Service"


def street_row(crime_id, month, lsoa_code, lsoa_name, outcome, crime_type="Burglary"):
    where = "-0.1,51.5,On or near X" if lsoa_code else ",,No Location"
    return f"{crime_id},{month},{MPS},{where},{lsoa_code},{lsoa_name},{crime_type},{outcome},"


def outcome_row(crime_id, month, outcome):
    return f"{crime_id},{month},{MPS},-0.1,51.5,On or near X,E01000907,Camden 001A,{outcome}"


def write(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def folder(tmp_path):
    write(
        tmp_path,
        "2017-01-metropolitan-street.csv",
        STREET_HEADER,
        [
            street_row("a1", "2017-01", "E01000907", "Camden 001A", "Offender fined"),
            street_row(
                "a2",
                "2017-01",
                "E01000907",
                "Camden 001A",
                "Investigation complete; no suspect identified",
            ),
            street_row("a3", "2017-01", "E01000908", "Camden 002B", "Status update unavailable"),
            street_row("a4", "2017-01", "", "", "Local resolution"),
        ],
    )
    dup = street_row("b2", "2017-02", "E01001001", "Hackney 001A", "Offender given a caution")
    write(
        tmp_path,
        "2017-02-metropolitan-street.csv",
        STREET_HEADER,
        [
            street_row(
                "b1",
                "2017-02",
                "E01021500",
                "Epping Forest 001A",
                "Suspect charged as part of another case",
            ),
            dup,
            dup,
        ],
    )
    write(
        tmp_path,
        "2017-02-metropolitan-outcomes.csv",
        OUTCOME_HEADER,
        [
            outcome_row("a1", "2017-02", "Suspect charged"),
            outcome_row("b1", "2017-02", "Suspect charged"),
            outcome_row("b2", "2017-02", "Offender given a caution"),
        ],
    )
    return tmp_path


@pytest.fixture
def built(folder):
    return police_uk.build_police_uk(folder)


def test_every_outcome_string_in_the_data_is_mapped():
    # The strings found in the 2017-18 Met files (street and outcomes), all mapped.
    found = [
        "Status update unavailable",
        "Investigation complete; no suspect identified",
        "Court result unavailable",
        "Offender sent to prison",
        "Defendant found not guilty",
        "Offender given suspended prison sentence",
        "Offender given community sentence",
        "Awaiting court outcome",
        "Court case unable to proceed",
        "Offender given a caution",
        "Local resolution",
        "Suspect charged as part of another case",
        "Offender fined",
        "Offender given conditional discharge",
        "Offender otherwise dealt with",
        "Offender ordered to pay compensation",
        "Defendant sent to Crown Court",
        "Offender given penalty notice",
        "Offender given a drugs possession warning",
        "Offender given absolute discharge",
        "Formal action is not in the public interest",
        "Suspect charged",
        "Offender deprived of property",
    ]
    got = police_uk.classify_outcomes(pd.Series(found))
    positive = set(pd.Series(found)[got["is_positive_outcome"].to_numpy()])
    assert positive == {
        "Court result unavailable",
        "Offender sent to prison",
        "Defendant found not guilty",
        "Offender given suspended prison sentence",
        "Offender given community sentence",
        "Awaiting court outcome",
        "Court case unable to proceed",
        "Suspect charged as part of another case",
        "Offender fined",
        "Offender given conditional discharge",
        "Offender otherwise dealt with",
        "Offender ordered to pay compensation",
        "Defendant sent to Crown Court",
        "Offender given absolute discharge",
        "Suspect charged",
        "Offender deprived of property",
    }


def test_boroughs_from_lsoa_names():
    got = police_uk.assign_borough_from_lsoa(
        pd.Series(["Kensington and Chelsea 001A", "Thurrock 016C", "", None])
    )
    assert got["borough_code"].tolist()[0] == "E09000020"
    assert got["location_status"].tolist() == [
        "london",
        "outside london",
        "no location",
        "no location",
    ]


def test_positive_outcome_rate_by_borough(built):
    tables, _ = built
    got = outcomes.compute_positive_outcome_rate(tables["policeuk_crimes"]).set_index(
        "borough_name", drop=False
    )
    # Camden: a1 fined (positive), a2 no suspect, a3 status unavailable -> 1 of 3
    # Hackney: b2 twice (exact duplicate, kept as published), caution -> 0 of 2
    # no borough: a4 (no location, local resolution) and b1 (Epping Forest, charged) -> 1 of 2
    camden = got.loc["Camden"]
    assert (camden["crimes"], camden["positive_outcomes"]) == (3, 1)
    assert camden["positive_rate"] == pytest.approx(1 / 3)
    assert (got.loc["Hackney", "crimes"], got.loc["Hackney", "positive_outcomes"]) == (2, 0)
    no_borough = got[got["borough_name"].isna()]
    assert no_borough[["crimes", "positive_outcomes"]].iloc[0].tolist() == [2, 1]
    # Wilson for 0 of 2: lower bound exactly 0, upper z^2/(n+z^2) = 3.8415/5.8415 = 0.6576
    assert got.loc["Hackney", "positive_rate_low"] == 0
    assert got.loc["Hackney", "positive_rate_high"] == pytest.approx(0.6576, abs=1e-4)


def test_street_table_counts_by_lsoa_and_month(built):
    tables, _ = built
    street = tables["policeuk_street"]
    jan = street[street["month"] == pd.Period("2017-01", "M")]
    # Camden 001A: a1, a2 = 2; Camden 002B: a3 = 1; no location: a4 = 1
    assert jan.set_index(jan["lsoa_code"].fillna("none"))["crimes"].to_dict() == {
        "E01000907": 2,
        "E01000908": 1,
        "none": 1,
    }
    assert street["crimes"].sum() == 7  # 4 in January + 3 in February


def test_outcome_lag(built):
    tables, _ = built
    lag = outcomes.compute_outcome_lag(tables["policeuk_outcomes"], tables["policeuk_crimes"])
    # a1: crime Jan, outcome Feb -> 1; b1, b2: Feb -> Feb -> 0. Shares 2/3 and 1/3.
    assert lag["months_to_outcome"].tolist() == [0, 1]
    assert lag["outcomes"].tolist() == [2, 1]
    assert lag["share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert lag["cumulative_share"].tolist() == pytest.approx([2 / 3, 1.0])
    # the stored table carries months_to_outcome, so the crimes are not needed
    again = outcomes.compute_outcome_lag(tables["policeuk_outcomes"])
    pd.testing.assert_frame_equal(again, lag)
    assert "warning" not in lag.attrs


def test_build_warnings(built):
    _, log = built
    text = " ".join(log["warnings"])
    assert "contain only 1 of the 13 police.uk crime types ('Burglary'; 7 rows)" in text
    assert "1 street rows repeat another row exactly" in text
    assert "1 crimes have no location" in text
    assert "1 Met crimes are placed in LSOAs outside London" in text
    assert "same month as their crime" not in text  # 2 of 3 only: not the filtering defect


def test_count_all_crime_refuses_filtered_files(built):
    tables, _ = built
    with pytest.raises(DataValidationError, match="'all crime' figure from them would be wrong"):
        outcomes.count_all_crime(tables["policeuk_crimes"])


def test_count_all_crime_with_every_type():
    crimes = pd.DataFrame(
        {
            "month": pd.PeriodIndex(["2017-01"] * 13 + ["2017-02"], freq="M"),
            "crime_type": list(police_uk.POLICE_UK_CRIME_TYPES) + ["Burglary"],
        }
    )
    got = outcomes.count_all_crime(crimes)
    assert got["crimes"].tolist() == [13, 1]


def test_same_month_outcomes_are_detected(folder):
    # Only outcomes for crimes of the same month, in two months: the author's filtering.
    write(
        folder,
        "2017-02-metropolitan-outcomes.csv",
        OUTCOME_HEADER,
        [outcome_row("b1", "2017-02", "Suspect charged")],
    )
    write(
        folder,
        "2017-01-metropolitan-outcomes.csv",
        OUTCOME_HEADER,
        [outcome_row("a1", "2017-01", "Offender fined")],
    )
    tables, log = police_uk.build_police_uk(folder)
    assert "100.0% of the outcomes are in the same month as their crime" in " ".join(
        log["warnings"]
    )
    with pytest.warns(UserWarning, match="cut down to each month's own crimes"):
        lag = outcomes.compute_outcome_lag(tables["policeuk_outcomes"])
    assert lag["outcomes"].tolist() == [2] and "warning" in lag.attrs


@pytest.mark.parametrize(
    "row, column, message",
    [
        (
            street_row("x", "2017-01", "E01000907", "Camden 001A", "Sent to the moon"),
            None,
            "'Sent to the moon' is not a known police.uk outcome",
        ),
        (
            street_row("x", "2017-01", "E01000907", "Narnia", "Offender fined"),
            "LSOA name",
            "'Narnia' is not like 'Camden 001A'",
        ),
        (
            street_row("x", "2017-02", "E01000907", "Camden 001A", "Offender fined"),
            "Month",
            "does not match the file's month 2017-01",
        ),
        (
            street_row("x", "2017-13", "E01000907", "Camden 001A", "Offender fined"),
            "Month",
            "'2017-13' is not a month",
        ),
        (
            street_row("x", "2017-01", "X01000907", "Camden 001A", "Offender fined"),
            "LSOA code",
            "'X01000907' is not an LSOA code",
        ),
    ],
)
def test_bad_street_rows(tmp_path, row, column, message):
    good = street_row("a1", "2017-01", "E01000907", "Camden 001A", "Offender fined")
    path = write(tmp_path, "2017-01-metropolitan-street.csv", STREET_HEADER, [good, row])
    with pytest.raises(DataValidationError) as info:
        police_uk.read_street_crime(path)
    assert info.value.file == "2017-01-metropolitan-street.csv"
    assert info.value.row == 3 and info.value.column == column
    assert message in str(info.value)


def test_renamed_column(tmp_path):
    header = STREET_HEADER.replace("Crime type", "Crime Type")
    row = street_row("a1", "2017-01", "E01000907", "Camden 001A", "Offender fined")
    path = write(tmp_path, "2017-01-metropolitan-street.csv", header, [row])
    with pytest.raises(DataValidationError, match="missing required column 'Crime type'"):
        police_uk.read_street_crime(path)


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()
FOLDER = MIRROR / "police-uk" / "met-street-burglary-2017-2018" if MIRROR else None


@pytest.fixture(scope="module")
def real():
    if FOLDER is None or not FOLDER.is_dir():
        pytest.skip("no ../shared/data mirror")
    return police_uk.build_police_uk(FOLDER)


@pytest.mark.realdata
def test_real_burglary_only_filtering_is_detected(real):
    tables, log = real
    crimes = tables["policeuk_crimes"]
    # PROVENANCE: 156,469 street rows, Crime type == "Burglary" in every row; 24 months.
    assert len(crimes) == 156_469
    assert set(crimes["crime_type"]) == {"Burglary"}
    assert crimes["month"].nunique() == 24
    assert any("contain only 1 of the 13 police.uk crime types" in w for w in log["warnings"])
    with pytest.raises(DataValidationError):
        outcomes.count_all_crime(crimes)
    # PROVENANCE: 19,421 outcomes rows.
    assert len(tables["policeuk_outcomes"]) == 19_421
    assert any("same month as their crime" in w for w in log["warnings"])
    with pytest.warns(UserWarning, match="cut down to each month's own crimes"):
        lag = outcomes.compute_outcome_lag(tables["policeuk_outcomes"])
    assert lag["months_to_outcome"].tolist() == [0]


@pytest.mark.realdata
def test_real_counts_match_the_raw_files(real):
    tables, _ = real
    no_location = positive = rows = 0
    positive_strings = {k for k, (_, p) in police_uk.OUTCOME_CATEGORIES.items() if p}
    for path in sorted(FOLDER.glob("*-street.csv")):
        raw = pd.read_csv(path, usecols=["LSOA code", "Last outcome category"], dtype=str)
        rows += len(raw)
        no_location += int(raw["LSOA code"].isna().sum())
        positive += int(raw["Last outcome category"].isin(positive_strings).sum())
    crimes = tables["policeuk_crimes"]
    assert (crimes["location_status"] == "no location").sum() == no_location
    overall = outcomes.compute_positive_outcome_rate(crimes, by=["crime_type"]).iloc[0]
    assert (overall["crimes"], overall["positive_outcomes"]) == (rows, positive)
    assert tables["policeuk_street"]["crimes"].sum() == rows
    # every outcome string found in the data is in the mapping table
    categories = tables["policeuk_outcome_categories"]
    assert categories["outcome_group"].notna().all()
