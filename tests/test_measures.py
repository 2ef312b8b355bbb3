"""Measures from a small hand-made store: one classification per comparison, gaps kept."""

import math

import pandas as pd
import pytest

from mpsanalysis.ingest import build, fetch
from mpsanalysis.measures import compute as measures
from mpsanalysis.measures.catalogue import CategoryFilter, Measure

from .conftest import NEW_HEADER, OLD_HEADER, write_csv


def _months(start, end):
    return [m.strftime("%Y%m") for m in pd.period_range(start, end, freq="M")]


@pytest.fixture
def small_store(tmp_path):
    """Old classification 2009-04..2010-12 and new 2010-04..2011-03 without 2010-08."""
    mirror = tmp_path / "mirror" / "london-datastore" / "borough-crime"
    old_months = _months("2009-04", "2010-12")
    write_csv(
        mirror,
        "old.csv",
        f"{OLD_HEADER},{','.join(old_months)}\n"
        f"Lambeth,Robbery,Personal Property,{','.join(['10'] * len(old_months))}\n"
        f"Camden,Robbery,Personal Property,{','.join(['5'] * len(old_months))}\n",
    )
    new_months = [m for m in _months("2010-04", "2011-03") if m != "201008"]
    write_csv(
        mirror,
        "new.csv",
        f"{NEW_HEADER},{','.join(new_months)}\n"
        f"Robbery,Robbery of Personal Property,Lambeth,{','.join(['7'] * len(new_months))}\n"
        f"Robbery,Robbery of Personal Property,Camden,{','.join(['3'] * len(new_months))}\n",
    )
    raw, processed = tmp_path / "data" / "raw", tmp_path / "data" / "processed"
    fetch.fetch_from_mirror(tmp_path / "mirror", raw)
    build.build_store(raw, processed, include_sources=False)
    crime = measures.load_borough_crime(processed)
    categories = measures.load_category_vintages(processed)
    return crime, categories


ROBBERY = Measure(
    id="personal-robbery",
    title="Robbery of personal property",
    unit="count",
    direction="down",
    source="borough-crime",
    categories={
        "old": (CategoryFilter("Robbery", ("Personal Property",)),),
        "new": (CategoryFilter("ROBBERY", ("robbery of personal property",)),),
    },
)


def test_london_series_sums_boroughs_within_one_classification(small_store):
    crime, categories = small_store
    old = measures.measure_monthly(ROBBERY, "London", "old", crime, categories)
    new = measures.measure_monthly(ROBBERY, "London", "new", crime, categories)
    assert old[pd.Period("2010-04", "M")] == 15  # 10 + 5, never 15 + 10
    assert new[pd.Period("2010-04", "M")] == 10  # 7 + 3
    assert math.isnan(new[pd.Period("2010-08", "M")])  # the gap is missing, not zero


def test_comparison_uses_the_newest_classification_covering_both_periods(small_store):
    crime, categories = small_store
    # Oct 2010: last year (Apr-Oct 2009) exists only in the old classification.
    result = measures.compute_measure(ROBBERY, "Lambeth", "2010-10", crime, categories)
    assert result.classification == "old"
    assert result.comparison.current == 70  # 7 months x 10
    assert result.comparison.previous == 70
    assert result.note == ""


def test_gap_month_means_no_single_classification_and_says_so(small_store):
    crime, categories = small_store
    # Dec 2010 FYTD needs Apr-Dec 2009 (old only) and Aug 2010 (missing in new): old wins.
    assert (
        measures.compute_measure(ROBBERY, "London", "2010-12", crime, categories).classification
        == "old"
    )
    # Mar 2011: old stops in Dec 2010, new lacks Aug 2010 -> nothing covers the year.
    result = measures.compute_measure(ROBBERY, "London", "2011-03", crime, categories)
    assert result.classification is None
    assert "Aug 2010" in result.note


def test_borough_breakdown(small_store):
    crime, _ = small_store
    table = measures.borough_breakdown(ROBBERY, "2010-10", "old", crime)
    assert table.loc["Lambeth", "current"] == 70 and table.loc["Camden", "current"] == 35
    assert table.loc["Westminster", "current"] == 0  # no rows: zero crimes recorded
    assert len(table) == 32


def test_measure_rows_from_the_store_are_worked_out_once_and_equal_the_tables(
    real_store, monkeypatch
):
    """The rows a measure counts, from the store's table (kept between reports), are the
    rows the catalogue's filters select from the table itself; the second report's call
    does not select again."""
    from mpsanalysis.ingest import store
    from mpsanalysis.measures.catalogue import get_objective

    store.forget_shared_tables()
    measure = get_objective("robbery").measure("personal-robbery")
    crime = measures.load_borough_crime()
    expected = crime[
        crime["classification"].eq("new")
        & crime["major_category"].str.casefold().eq("robbery")
        & crime["minor_category"].str.casefold().eq("robbery of personal property")
    ][["month", "borough_name", "minor_category", "count"]]
    assert len(expected) > 1000
    first = measures.measure_rows(measure, "new")
    pd.testing.assert_frame_equal(first, expected)
    selections = []
    real = measures.measure_mask
    monkeypatch.setattr(measures, "measure_mask", lambda *a: selections.append(a) or real(*a))
    store.keep_only_used()  # the end of a report
    second = measures.measure_rows(measure, "new")
    pd.testing.assert_frame_equal(second, expected)
    assert selections == [] and second is not first
    store.forget_shared_tables()
    measures.measure_rows(measure, "new")
    assert len(selections) == 1


@pytest.mark.parametrize("dtype", ["str", object])
def test_casefolded_category_names_equal_pandas_casefold(dtype):
    """Folding each distinct name once and spreading it back gives pandas' own
    ``str.casefold()`` of every row: values, missing rows, dtype and index (a missing
    name of an object column is NaN rather than None; either matches no category)."""
    from mpsanalysis.measures.compute import _casefolded

    names = pd.Series(
        ["Theft", "THEFT", None, "Straße", "Robbery", "theft", None, "ROBBERY"] * 3,
        index=range(100, 124),
        name="minor_category",
        dtype=dtype,
    )
    folded = _casefolded(names)
    expected = names.str.casefold()
    pd.testing.assert_series_equal(folded.fillna("-"), expected.fillna("-"))
    assert folded.isna().tolist() == names.isna().tolist()
    assert folded.iloc[3] == "strasse"
