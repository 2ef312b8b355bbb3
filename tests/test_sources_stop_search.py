"""Tests for mpsanalysis.ingest.sources.stop_search: hand-made files and boxes, then real data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest.sources import stop_search
from mpsanalysis.stats import stop_search as stats_stop_search

HEADER = (
    "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,"
    "Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,"
    "Outcome,Outcome linked to object of search,Removal of more than just outer clothing"
)
PACE = "Police and Criminal Evidence Act 1984 (section 1)"
TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)

# Two 1 km boxes in British National Grid (metres), side by side.
BOXES = gpd.GeoDataFrame(
    {"borough_code": ["E09000033", "E09000007"], "borough_name": ["Westminster", "Camden"]},
    geometry=[box(529000, 180000, 530000, 181000), box(530000, 180000, 531000, 181000)],
    crs=27700,
)


def lat_lon(easting: float, northing: float) -> str:
    lon, lat = TO_WGS84.transform(easting, northing)
    return f"{lat:.6f},{lon:.6f}"


def row(when, where, self_defined, officer, obj, outcome):
    return (
        f"Person search,{when},False,,{where},Male,18-24,{self_defined},{officer},{PACE},"
        f"{obj},{outcome},,"
    )


ROWS = [
    # 1 Westminster box, arrest
    row(
        "2018-06-01T10:00:00+00:00",
        lat_lon(529500, 180500),
        "Black/African/Caribbean/Black British - African",
        "Black",
        "Stolen goods",
        "Arrest",
    ),
    # 2 Westminster box, nothing found
    row(
        "2018-06-02T10:00:00+00:00",
        lat_lon(529200, 180800),
        "White - Irish",
        "White",
        "Controlled drugs",
        "A no further action disposal",
    ),
    # 3 no location, community resolution (positive, not an arrest)
    row(
        "2018-06-03T10:00:00+00:00",
        ",",
        "Other ethnic group - Not stated",
        "Asian",
        "Controlled drugs",
        "Community resolution",
    ),
    # 4 Camden box, summons (positive)
    row(
        "2018-06-04T10:00:00+00:00",
        lat_lon(530500, 180500),
        "Asian/Asian British - Indian",
        "Asian",
        "Offensive weapons",
        "Summons / charged by post",
    ),
    # 5 far outside both boxes (10 km east), arrest, no ethnicity recorded at all
    row("2018-06-05T10:00:00+00:00", lat_lon(541000, 180500), "", "", "Firearms", "Arrest"),
    # 6 50 m north of the Westminster box (on "the river"): snapped; 00:30 BST on 1 June
    row(
        "2018-05-31T23:30:00+00:00",
        lat_lon(529500, 181050),
        "White - Irish",
        "White",
        "Controlled drugs",
        "A no further action disposal",
    ),
]


def write(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


@pytest.fixture
def searches(tmp_path):
    path = write(tmp_path, "2018-06-metropolitan-stop-and-search.csv", ROWS)
    return stop_search.assign_boroughs(stop_search.read_stop_search(path), BOXES)


def test_read_and_assign_boroughs(searches):
    assert list(searches.columns) == stop_search.SEARCH_COLUMNS
    assert searches["borough_name"].fillna("-").tolist() == [
        "Westminster",
        "Westminster",
        "-",
        "Camden",
        "-",
        "Westminster",
    ]
    assert searches["location_status"].tolist() == [
        "in borough",
        "in borough",
        "no location",
        "in borough",
        "outside london",
        "nearest borough",
    ]
    # 23:30 UTC on 31 May is 00:30 BST on 1 June: a June search.
    assert set(searches["month"].astype(str)) == {"2018-06"}
    assert searches["is_arrest"].tolist() == [True, False, False, False, True, False]
    assert searches["is_positive_outcome"].tolist() == [True, False, True, True, True, False]
    assert searches["self_defined_group"].tolist() == [
        "Black",
        "White",
        "Not stated",
        "Asian",
        "Not recorded",
        "White",
    ]


def test_summarise_by_borough(searches):
    summary = stats_stop_search.summarise_searches(searches, by=["borough_name"])
    got = summary.set_index(summary["borough_name"].fillna("none"))
    # Westminster: searches 1, 2, 6 -> 3; arrests 1 (search 1); positive 1
    # Camden: search 4 -> 1 search, 0 arrests, 1 positive (summons)
    # no borough: searches 3 and 5 -> 2; arrests 1 (5); positive 2
    assert got.loc["Westminster", ["searches", "arrests", "positive_outcomes"]].tolist() == [
        3,
        1,
        1,
    ]
    assert got.loc["Camden", ["searches", "arrests", "positive_outcomes"]].tolist() == [1, 0, 1]
    assert got.loc["none", ["searches", "arrests", "positive_outcomes"]].tolist() == [2, 1, 2]
    assert got.loc["Westminster", "arrest_rate"] == pytest.approx(1 / 3)


def test_compare_ethnicity_shares_with_wilson(searches):
    got = stats_stop_search.compare_ethnicity(searches.iloc[:5]).set_index("ethnic_group")
    # Five searches, one in each self-defined group: share 1/5 each. Wilson for 1 of 5:
    #   centre = (0.2 + 3.841459/10) / (1 + 3.841459/5) = 0.584146 / 1.768292 = 0.330344
    #   half   = 1.959964 / 1.768292 * sqrt(0.2*0.8/5 + 3.841459/100) = 1.108394 * 0.265358
    #          = 0.294122  ->  0.0362 to 0.6245
    assert got["searches"].to_dict() == {
        "Asian": 1,
        "Black": 1,
        "Not recorded": 1,
        "Not stated": 1,
        "White": 1,
    }
    assert got.loc["Black", "share"] == pytest.approx(0.2)
    assert got.loc["Black", "share_low"] == pytest.approx(0.0362, abs=5e-5)
    assert got.loc["Black", "share_high"] == pytest.approx(0.6245, abs=5e-5)
    assert got.loc["Black", "arrest_rate"] == 1.0
    officer = stats_stop_search.compare_ethnicity(searches, "officer_defined").set_index(
        "ethnic_group"
    )
    # officer-defined: Black 1, White 2 (searches 2 and 6), Asian 2 (3 and 4), Not recorded 1
    assert officer["searches"].to_dict() == {"Asian": 2, "Black": 1, "Not recorded": 1, "White": 2}
    with pytest.raises(ParameterError, match="must be 'self_defined' or 'officer_defined'"):
        stats_stop_search.compare_ethnicity(searches, "perceived")


@pytest.mark.parametrize(
    "text, group",
    [
        ("White - White British (W1)", "White"),
        ("White - English/Welsh/Scottish/Northern Irish/British", "White"),
        ("Black or Black British - Caribbean (B1)", "Black"),
        ("Asian/Asian British - Chinese", "Asian"),
        ("Chinese or other ethnic group - Chinese (O1)", "Asian"),
        ("Chinese or other ethnic group - Any other ethnic group (O9)", "Other"),
        ("Other ethnic group - Any other ethnic group", "Other"),
        ("Mixed - White and Black Caribbean (M1)", "Mixed"),
        ("Not Stated (NS)", "Not stated"),
        ("Other ethnic group - Not stated", "Not stated"),
    ],
)
def test_self_defined_groups(text, group):
    assert stop_search.map_self_defined_ethnicity(pd.Series([text])).tolist() == [group]


def test_snapping_can_be_turned_off(tmp_path):
    path = write(tmp_path, "2018-06-metropolitan-stop-and-search.csv", ROWS[5:])
    got = stop_search.assign_boroughs(stop_search.read_stop_search(path), BOXES, snap_metres=0)
    assert got["location_status"].tolist() == ["outside london"]


@pytest.mark.parametrize(
    "bad, column, message",
    [
        (
            row(
                "2018-06-01T10:00:00+00:00", ",", "White - Irish", "White", "Firearms", "Sent home"
            ),
            "Outcome",
            "'Sent home' is not a known police.uk outcome",
        ),
        (
            row("2018-06-31T10:00:00+00:00", ",", "White - Irish", "White", "Firearms", "Arrest"),
            "Date",
            "is not a date and time",
        ),
        # 23:30 UTC on 30 June is 00:30 BST on 1 July: not a June search
        (
            row("2018-06-30T23:30:00+00:00", ",", "White - Irish", "White", "Firearms", "Arrest"),
            "Date",
            "is not in the file's month 2018-06",
        ),
        (
            row("2018-06-01T10:00:00+00:00", ",", "White - Irish", "Martian", "Firearms", "Arrest"),
            "Officer-defined ethnicity",
            "'Martian' is not one of",
        ),
        (
            row("2018-06-01T10:00:00+00:00", ",", "Klingon", "White", "Firearms", "Arrest"),
            "Self-defined ethnicity",
            "'Klingon' fits no ethnic group",
        ),
        (
            row(
                "2018-06-01T10:00:00+00:00", "51.5,", "White - Irish", "White", "Firearms", "Arrest"
            ),
            "Longitude",
            "must both be given",
        ),
    ],
)
def test_bad_rows(tmp_path, bad, column, message):
    path = write(tmp_path, "2018-06-metropolitan-stop-and-search.csv", [ROWS[0], bad])
    with pytest.raises(DataValidationError) as info:
        stop_search.read_stop_search(path)
    assert (info.value.row, info.value.column) == (3, column)
    assert message in str(info.value)


def test_renamed_column(tmp_path):
    path = tmp_path / "2018-06-metropolitan-stop-and-search.csv"
    path.write_text(HEADER.replace("Object of search", "Object Of Search") + "\n" + ROWS[0] + "\n")
    with pytest.raises(DataValidationError, match="missing required column 'Object of search'"):
        stop_search.read_stop_search(path)


def test_build_without_boundaries_says_so(tmp_path):
    write(tmp_path, "2018-06-metropolitan-stop-and-search.csv", ROWS)
    tables, log = stop_search.build_stop_search(tmp_path)
    assert log["rows"] == 6 and tables["stop_search"]["borough_code"].isna().all()
    text = " ".join(log["warnings"])
    assert "borough boundaries not supplied" in text
    # the three optional columns are empty on every row of every file
    assert "columns left empty by the force in every file" in text


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()
FOLDER = MIRROR / "police-uk" / "met-stop-search-2017-2018" if MIRROR else None


@pytest.fixture(scope="module")
def real():
    if FOLDER is None or not FOLDER.is_dir():
        pytest.skip("no ../shared/data mirror")
    return stop_search.build_stop_search(FOLDER, MIRROR / "geography" / "borough")


@pytest.mark.realdata
def test_real_counts_match_provenance_and_raw_files(real):
    tables, log = real
    searches = tables["stop_search"]
    # PROVENANCE: 276,208 searches, 9,353-15,521 per monthly file.
    assert len(searches) == 276_208
    per_file = searches.groupby("source_file").size()
    assert (per_file.min(), per_file.max()) == (9_353, 15_521)
    no_location = arrests = 0
    for path in sorted(FOLDER.glob("*.csv")):
        raw = pd.read_csv(path, usecols=["Latitude", "Outcome"], dtype=str)
        no_location += int(raw["Latitude"].isna().sum())
        arrests += int(raw["Outcome"].isin(["Arrest", "Suspect arrested"]).sum())
    assert (searches["location_status"] == "no location").sum() == no_location
    assert stats_stop_search.summarise_searches(searches, by=[])["arrests"].iloc[0] == arrests
    assert f"{no_location:,} of 276,208 searches" in log["warnings"][0]


@pytest.mark.realdata
def test_real_borough_assignment(real):
    tables, _ = real
    searches = tables["stop_search"]
    located = searches[searches["location_status"] != "no location"]
    with_borough = located["borough_code"].notna().mean()
    assert with_borough > 0.99  # nearly every located search falls in a London borough
    by_borough = stats_stop_search.summarise_searches(searches, by=["borough_name"])
    assert by_borough["borough_name"].notna().sum() == 33  # 32 boroughs + City of London
    assert by_borough["searches"].sum() == 276_208  # nothing dropped
