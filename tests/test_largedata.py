"""SYNTHETIC LSOA-level data: shares, exact totals, labelling, store and queries.

Expected shares are worked out by hand from the tiny tables below; expected totals are
the published (here: hand-made) borough counts the LSOA rows must add up to.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from benchmarks import largedata
from mpsanalysis.errors import DataValidationError

YEARS = list(range(2011, 2022))


def _annual(key: str, borough: str, counts: dict[str, list[float]]) -> pd.DataFrame:
    """Long annual table: counts[lsoa] = one value per year 2011..2021."""
    rows = []
    for lsoa, values in counts.items():
        for year, value in zip(YEARS, values, strict=True):
            rows.append((key, lsoa, f"{lsoa} name", borough, year, float(value)))
    return pd.DataFrame(
        rows, columns=["share_key", "lsoa_code", "lsoa_name", "borough_name", "year", "count"]
    )


# Camden: two LSOAs. Robbery: A has 1 in 4 in 2019, 3 in 4 in 2021; 2020 is nonsense.
ROBBERY = {"A": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1000, 3], "B": [3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 1]}
ALL = {"A": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], "B": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}


def _small_annual() -> pd.DataFrame:
    return pd.concat(
        [
            _annual("major-robbery", "Camden", ROBBERY),
            _annual("major-sexual", "Camden", {"A": [0] * 11, "B": [0] * 11}),  # all zeros
            _annual("all", "Camden", ALL),
            _annual("major-robbery", "Sutton", {"C": [5] * 11}),
            _annual("major-sexual", "Sutton", {"C": [0] * 11}),
            _annual("all", "Sutton", {"C": [5] * 11}),
        ],
        ignore_index=True,
    )


def _crime(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["borough_name", "major_category", "minor_category", "month", "count"]
    )
    frame["month"] = pd.PeriodIndex(frame["month"], freq="M")
    frame["classification"] = "new"
    return frame


SMALL_CRIME = _crime(
    [
        ("Camden", "Robbery", "Robbery of Personal Property", "2019-12", 40),
        ("Camden", "Robbery", "Robbery of Personal Property", "2020-01", 25),
        ("Camden", "Robbery", "Robbery of Business Property", "2020-01", 3),
        ("Camden", "Sexual Offences", "Rape", "2020-01", 7),
        ("Camden", "Fraud And Forgery", "Fraud And Forgery", "2020-01", 0),
        ("Sutton", "Robbery", "Robbery of Personal Property", "2020-01", 9),
        # 2020-02 deliberately absent: not published, so no rows (never zeros)
    ]
)


def test_2020_shares_are_the_mean_of_2019_and_2021():
    shares = largedata.lsoa_shares(_small_annual(), [2019, 2020, 2021])
    robbery = shares[
        (shares["share_key"] == "major-robbery") & (shares["borough_name"] == "Camden")
    ].set_index(["year", "lsoa_code"])
    assert robbery.loc[(2019, "A"), "share"] == pytest.approx(0.25)
    assert robbery.loc[(2021, "A"), "share"] == pytest.approx(0.75)
    assert robbery.loc[(2020, "A"), "share"] == pytest.approx(0.5)  # not 1000 / 1000
    assert robbery.loc[(2020, "B"), "share"] == pytest.approx(0.5)


@pytest.mark.parametrize("year, source", [(2010, 2011), (2024, 2021), (2015, 2015)])
def test_years_outside_the_files_use_the_nearest_year(year, source):
    shares = largedata.lsoa_shares(_small_annual(), [year])
    a = shares[(shares["share_key"] == "major-robbery") & (shares["lsoa_code"] == "A")]
    assert a["share"].iloc[0] == pytest.approx(
        ROBBERY["A"][source - 2011] / (ROBBERY["A"][source - 2011] + ROBBERY["B"][source - 2011])
    )


def test_a_category_with_no_crime_in_its_file_uses_all_crime_shares():
    shares = largedata.lsoa_shares(_small_annual(), [2020])
    sexual = shares[(shares["share_key"] == "major-sexual") & (shares["borough_name"] == "Camden")]
    assert sexual["share"].tolist() == pytest.approx([0.5, 0.5])


def test_lsoa_counts_add_up_to_the_published_borough_counts():
    frames = dict(largedata.generate_synthetic_lsoa_crime(SMALL_CRIME, _small_annual()))
    assert set(frames) == {"Camden", "Sutton"}
    for borough, frame in frames.items():
        assert frame["synthetic"].all()
        totals = (
            frame.groupby(["minor_category", "month"], observed=True)["count"]
            .sum()
            .rename("lsoa_total")
        )
        published = (
            SMALL_CRIME[SMALL_CRIME["borough_name"] == borough]
            .assign(month=lambda f: f["month"].dt.to_timestamp())
            .set_index(["minor_category", "month"])["count"]
        )
        joined = pd.concat([published, totals], axis=1)
        assert (joined["count"] == joined["lsoa_total"]).all(), joined
    camden = frames["Camden"]
    assert set(camden["lsoa_code"]) == {"A", "B"}
    assert len(camden) == 5 * 2  # every LSOA for every published row, zeros included
    assert pd.Timestamp("2020-02-01") not in set(camden["month"])


def test_the_same_seed_gives_the_same_table_and_another_seed_does_not():
    def draw(seed):
        return dict(
            largedata.generate_synthetic_lsoa_crime(SMALL_CRIME, _small_annual(), seed=seed)
        )["Camden"]

    pd.testing.assert_frame_equal(draw(1), draw(1))
    assert not draw(1)["count"].equals(draw(2)["count"])


def test_negative_counts_are_refused():
    bad = SMALL_CRIME.assign(count=-1)
    with pytest.raises(DataValidationError, match="negative"):
        dict(largedata.generate_synthetic_lsoa_crime(bad, _small_annual()))


def test_store_is_labelled_synthetic_and_queries_agree(tmp_path):
    log = largedata.build_synthetic_store(tmp_path, crime=SMALL_CRIME, annual=_small_annual())
    assert log["table"] == largedata.TABLE and log["table"].startswith("synthetic_")
    assert log["synthetic"] is True and log["rows"] == 5 * 2 + 1 * 1
    files = sorted(largedata.synthetic_store_path(tmp_path).glob("borough=*/part-0.parquet"))
    assert [f.parent.name for f in files] == ["borough=camden", "borough=sutton"]
    for file in files:
        assert pq.read_schema(file).metadata[b"synthetic"] == b"true"
        assert pc.all(pq.read_table(file, columns=["synthetic"]).column("synthetic")).as_py()
    stored = pd.read_parquet(files[0])
    expected = (
        stored[
            (stored["major_category"] == "Robbery")
            & (stored["minor_category"] == "Robbery of Personal Property")
        ]
        .groupby(["lsoa_code", "month"], observed=True)["count"]
        .sum()
    )

    got = largedata.query_lsoa_months(
        "Camden", "Robbery", ["Robbery of Personal Property"], "2019-04", "2020-03", tmp_path
    )
    assert got["count"].tolist() == expected.tolist()
    assert got["month"].astype(str).tolist() == ["2019-12", "2020-01"] * 2

    raw = largedata.write_raw_csv(tmp_path / "raw" / largedata.RAW_CSV_NAME, tmp_path)
    assert raw.name.startswith("SYNTHETIC")
    header = raw.read_text().splitlines()[0]
    assert header.startswith('"synthetic"') and '"202001"' in header
    baseline = largedata.query_raw_csv(
        raw, "Camden", "Robbery", ["Robbery of Personal Property"], "2019-04", "2020-03"
    )
    pd.testing.assert_frame_equal(got, baseline, check_dtype=False)


def test_rebuilding_replaces_the_table_whole(tmp_path):
    largedata.build_synthetic_store(tmp_path, crime=SMALL_CRIME, annual=_small_annual())
    only_sutton = SMALL_CRIME[SMALL_CRIME["borough_name"] == "Sutton"]
    largedata.build_synthetic_store(tmp_path, crime=only_sutton, annual=_small_annual())
    parts = [p.name for p in largedata.synthetic_store_path(tmp_path).iterdir()]
    assert parts == ["borough=sutton"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
@pytest.mark.realdata
def test_real_scale_table_has_ten_million_rows_and_published_totals(real_store, tmp_path):
    from mpsanalysis import boroughs
    from mpsanalysis.measures import compute as measures

    log = largedata.build_synthetic_store(tmp_path)
    assert log["rows"] >= 10_000_000 and log["boroughs"] == 32
    import duckdb

    root = largedata.synthetic_store_path(tmp_path)
    with duckdb.connect() as con:
        synthetic = con.execute(
            "SELECT borough_name::VARCHAR AS borough_name, month, sum(count) AS total "
            f"FROM read_parquet('{root}/*/*.parquet') GROUP BY ALL"
        ).df()
    crime = measures.load_borough_crime()
    published = (
        crime[
            crime["classification"].eq("new") & crime["borough_name"].isin(boroughs.borough_names())
        ]
        .groupby(["borough_name", "month"])["count"]
        .sum()
        .rename("published")
    )
    synthetic["month"] = pd.to_datetime(synthetic["month"]).dt.to_period("M")
    joined = (
        synthetic.set_index(["borough_name", "month"])["total"]
        .to_frame()
        .join(published, how="outer")
    )
    assert joined.notna().all().all()
    assert (joined["total"] == joined["published"]).all()
