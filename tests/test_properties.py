"""Property-based tests (hypothesis): periods round-trip, and the borough crime loader
agrees with totals worked out independently from randomly generated wide tables.

The expected values here never come from the loader: they are computed from the
generated cells with plain Python dictionaries.
"""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mpsanalysis import boroughs, periods
from mpsanalysis.ingest import loaders

SETTINGS = settings(max_examples=60, deadline=None)

# ------------------------------------------------------------------------- periods
months = st.builds(lambda offset: pd.Period("1990-01", freq="M") + offset, st.integers(0, 12 * 60))
years = st.integers(1950, 2090)


@SETTINGS
@given(months)
def test_month_round_trips_through_text(month):
    assert periods.parse_month(str(month)) == month
    assert periods.parse_month(month.strftime("%Y%m")) == month


@SETTINGS
@given(years)
def test_financial_year_label_round_trips(year):
    label = periods.financial_year_label(year)
    assert periods.parse_financial_year(label) == year
    assert periods.parse_financial_year(label.replace("/", "-")) == year


@SETTINGS
@given(years, st.integers(1, 4))
def test_quarter_label_round_trips(year, number):
    quarter = periods.Quarter(year, number)
    assert periods.parse_quarter(quarter.label) == quarter
    assert periods.quarter_of(quarter.end_month) == quarter
    assert [periods.quarter_of(m) for m in quarter.window.months] == [quarter] * 3


@SETTINGS
@given(months)
def test_month_lies_in_its_quarter_and_financial_year(month):
    quarter = periods.quarter_of(month)
    assert month in quarter.window
    assert quarter.financial_year == periods.financial_year(month)
    assert month in periods.financial_year_window(periods.financial_year(month))
    window = periods.fytd_window(month)
    assert window.end == month and window.start.month == 4
    assert len(window) == periods.months_elapsed(month)
    assert 1 <= len(window) <= 12


@SETTINGS
@given(months)
def test_latest_complete_quarter_is_complete_and_latest(month):
    quarter = periods.latest_complete_quarter(month)
    assert quarter.end_month <= month  # complete: all three months are in the data
    assert (month - quarter.end_month).n < 3  # latest: the next quarter is not complete
    assert periods.parse_quarter("latest", last_month=month) == quarter


# -------------------------------------------------------------------------- loaders
CATEGORIES = [
    ("Robbery", "Robbery of Personal Property"),
    ("Robbery", "Robbery of Business Property"),
    ("Burglary", "Burglary - Residential"),
    ("Violence Against the Person", "Homicide"),
    ("Drug Offences", "Possession of Drugs"),
]
FIRST = pd.Period("2010-04", freq="M")


@st.composite
def wide_tables(draw, max_months: int = 8):
    """A valid wide table: cells {(borough, major, minor, month): count} and its layout."""
    names = draw(
        st.lists(st.sampled_from(boroughs.borough_names()), min_size=1, max_size=4, unique=True)
    )
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
    offsets = draw(st.lists(st.integers(0, 35), min_size=1, max_size=max_months, unique=True))
    month_list = [FIRST + o for o in offsets]  # in the drawn order, maybe not sorted
    keys = [(b, major, minor) for b in names for major, minor in categories]
    # A subset of the borough x category rows (files omit rows that are all zero).
    keys = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True))
    counts = st.integers(0, loaders.MAX_PLAUSIBLE_COUNT)
    cells = {(*key, str(m)): draw(counts) for key in keys for m in month_list}
    classification = draw(st.sampled_from(["old", "new"]))
    return {"keys": keys, "months": month_list, "cells": cells, "classification": classification}


def to_csv(table, rows=None, months=None) -> str:
    """Write a generated table in the publisher's layout for its classification."""
    rows = table["keys"] if rows is None else rows
    months = table["months"] if months is None else months
    month_headers = [m.strftime("%Y%m") for m in months]
    lines = []
    if table["classification"] == "old":
        lines.append(",".join(["Borough", "Major Category", "Minor Category", *month_headers]))
        for borough, major, minor in rows:
            values = [str(table["cells"][(borough, major, minor, str(m))]) for m in months]
            lines.append(",".join([borough, major, minor, *values]))
    else:
        lines.append(",".join(["MajorText", "MinorText", "LookUp_BoroughName", *month_headers]))
        for borough, major, minor in rows:
            values = [str(table["cells"][(borough, major, minor, str(m))]) for m in months]
            lines.append(",".join([major, minor, borough, *values]))
    return "\n".join(lines) + "\n"


def load(text: str, name: str = "wide.csv") -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        return loaders.read_borough_crime(path)


def tidy_cells(tidy: pd.DataFrame) -> dict[tuple, int]:
    return {
        (r.borough_name, r.major_category, r.minor_category, str(r.month)): int(r.count)
        for r in tidy.itertuples()
    }


@SETTINGS
@given(wide_tables())
def test_tidy_table_holds_every_wide_cell_and_total(table):
    tidy = load(to_csv(table))
    assert tidy_cells(tidy) == table["cells"]  # every cell, once, with its value
    assert len(tidy) == len(table["keys"]) * len(table["months"])
    assert set(tidy["classification"]) == {table["classification"]}
    # Totals by month and by borough, worked out independently from the cells.
    by_month: dict[str, int] = defaultdict(int)
    by_borough: dict[str, int] = defaultdict(int)
    for (borough, _major, _minor, month), count in table["cells"].items():
        by_month[month] += count
        by_borough[borough] += count
    got_month = tidy.groupby(tidy["month"].astype(str))["count"].sum().to_dict()
    assert got_month == dict(by_month)
    assert tidy.groupby("borough_name")["count"].sum().to_dict() == dict(by_borough)
    assert int(tidy["count"].sum()) == sum(table["cells"].values())
    codes = dict(zip(tidy["borough_name"], tidy["borough_code"], strict=True))
    assert all(codes[b] == boroughs.lookup_borough_code(b) for b in codes)


@SETTINGS
@given(wide_tables(), st.randoms(use_true_random=False))
def test_shuffling_rows_and_month_columns_changes_nothing(table, rng: random.Random):
    rows, months_shuffled = list(table["keys"]), list(table["months"])
    rng.shuffle(rows)
    rng.shuffle(months_shuffled)
    plain = load(to_csv(table))
    shuffled = load(to_csv(table, rows, months_shuffled))
    pd.testing.assert_frame_equal(plain, shuffled)


@SETTINGS
@given(wide_tables())
def test_missing_months_are_exactly_the_gaps_in_the_span(table):
    tidy = load(to_csv(table))
    present = set(table["months"])
    span = pd.period_range(min(present), max(present), freq="M")
    expected = [m for m in span if m not in present]
    missing = loaders.find_missing_months(tidy)
    assert list(missing["month"]) == expected
    assert set(missing["classification"]) <= {table["classification"]}


@st.composite
def vintages(draw):
    """Two to four files of one classification over overlapping runs of months, each
    with its own counts, as {name: table}."""
    n_files = draw(st.integers(2, 4))
    names = draw(
        st.lists(st.sampled_from(boroughs.borough_names()), min_size=1, max_size=2, unique=True)
    )
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True))
    keys = [(b, major, minor) for b in names for major, minor in categories]
    files = {}
    for index in range(n_files):
        start = draw(st.integers(0, 12))
        length = draw(st.integers(1, 8))
        month_list = [FIRST + start + i for i in range(length)]
        cells = {(*key, str(m)): draw(st.integers(0, 5000)) for key in keys for m in month_list}
        name = f"vintage_{draw(st.integers(0, 99)):02d}_{index}.csv"
        files[name] = {"keys": keys, "months": month_list, "cells": cells, "classification": "new"}
    return files


@settings(max_examples=30, deadline=None)
@given(vintages())
def test_combine_vintages_takes_each_month_from_the_newest_file(files):
    tables = [load(to_csv(table), name) for name, table in files.items()]
    combined, vintage_table = loaders.combine_vintages(tables)
    # Independently: the newest file is the one whose last month is latest; on a tie,
    # the later file name.
    newest_first = sorted(files, key=lambda n: (max(files[n]["months"]), n), reverse=True)
    expected = {}
    owner = {}
    for name in reversed(newest_first):  # oldest first, so newer files overwrite
        for key, count in files[name]["cells"].items():
            expected[key] = count
            owner[key[3]] = name
    assert tidy_cells(combined) == expected
    for row in combined[["month", "source_file"]].drop_duplicates().itertuples():
        assert row.source_file == owner[str(row.month)]
    used = vintage_table.set_index("source_file")["months_used"].to_dict()
    for name in files:
        assert used[name] == sum(1 for m in owner.values() if m == name)
    assert not combined.duplicated(
        ["month", "borough_name", "major_category", "minor_category"]
    ).any()
