"""Statistical disclosure control: hand-worked suppression patterns, an independent check
that no withheld count can be worked back out (linear programming with scipy), the
record-level guard and the ward table.

Every expected pattern below was worked out by hand from the rules in
``mpsanalysis.stats.disclosure`` (primary: 1 to threshold - 1; secondary: a line with one
withheld entry, or whose withheld counts add up to a small number, withholds its next
smallest non-zero count, preferring one that also protects the crossing line).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpsanalysis.errors import ParameterError
from mpsanalysis.report.html import ward_table_html
from mpsanalysis.stats.disclosure import (
    SUPPRESSED,
    DisclosureError,
    check_no_record_level,
    default_threshold,
    find_cells_to_suppress,
    find_derivable_cells,
    suppress_small_counts,
)

C = SUPPRESSED


@pytest.fixture(autouse=True)
def _no_threshold_override(monkeypatch):
    monkeypatch.delenv("MPSANALYSIS_SDC_THRESHOLD", raising=False)


def frame(rows: dict[str, list[int]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def expected(rows: dict[str, list[str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns, dtype=object)


# ------------------------------------------------------------------------- primary


def test_primary_suppression_without_totals():
    table = pd.DataFrame({"Ward": list("abcde"), "Robbery": [0, 1, 9, 10, 1234]})
    shown = suppress_small_counts(table, ["Robbery"])
    assert shown["Robbery"].tolist() == ["0", C, C, "10", "1,234"]
    assert shown["Ward"].tolist() == list("abcde"), "other columns untouched"
    assert table["Robbery"].tolist() == [0, 1, 9, 10, 1234], "input not modified"


def test_threshold_parameter():
    table = pd.DataFrame({"n": [4, 5, 6]})
    assert suppress_small_counts(table, ["n"], threshold=5)["n"].tolist() == [C, "5", "6"]


def test_threshold_from_environment(monkeypatch):
    monkeypatch.setenv("MPSANALYSIS_SDC_THRESHOLD", "3")
    assert default_threshold() == 3
    table = pd.DataFrame({"n": [2, 3]})
    assert suppress_small_counts(table, ["n"])["n"].tolist() == [C, "3"]
    assert suppress_small_counts(table, ["n"], threshold=10)["n"].tolist() == [C, C]


@pytest.mark.parametrize("value", ["ten", "1", "0", "-5", "2.5"])
def test_a_bad_threshold_is_refused(monkeypatch, value):
    monkeypatch.setenv("MPSANALYSIS_SDC_THRESHOLD", value)
    with pytest.raises(ParameterError, match="MPSANALYSIS_SDC_THRESHOLD"):
        default_threshold()


def test_a_row_whose_other_counts_are_zero_withholds_its_total():
    """By hand: r0's 1 and its total 1 are primary. Column c0 then has one withheld
    cell: r1's 10. Row r1 has one: its other count is a zero (known anyway: column c1
    totals 0), so its total 10 is withheld instead, which also protects the column of
    row totals."""
    table = frame({"r0": [1, 0, 1], "r1": [10, 0, 10], "Total": [11, 0, 11]}, ["c0", "c1", "Total"])
    shown = suppress_small_counts(table, ["c0", "c1"], total_row="Total", total_column="Total")
    pd.testing.assert_frame_equal(
        shown,
        expected(
            {"r0": [C, "0", C], "r1": [C, "0", C], "Total": ["11", "0", "11"]},
            ["c0", "c1", "Total"],
        ),
    )


def test_zeros_are_shown_unless_asked():
    table = pd.DataFrame({"n": [0, 12]})
    assert suppress_small_counts(table, ["n"])["n"].tolist() == ["0", "12"]
    assert suppress_small_counts(table, ["n"], suppress_zeros=True)["n"].tolist() == [C, "12"]


# ------------------------------------------------------------------------- secondary


COLUMNS = ["A", "B", "C", "Total"]
GRID = frame(
    {
        "W1": [3, 15, 40, 58],
        "W2": [12, 30, 25, 67],
        "W3": [20, 11, 60, 91],
        "Total": [35, 56, 125, 216],
    },
    COLUMNS,
)


def test_three_by_three_with_totals():
    """By hand: W1.A = 3 is primary. Row W1 has one withheld cell: its smallest other
    count is B = 15 (neither column B nor C needs protecting yet). Column A now has one:
    its smallest other is W2.A = 12. Row W2 now has one: of B = 30 and C = 25, B also
    protects column B (which has only W1.B withheld), so B = 30. Every row and column
    now has 0 or 2 withheld cells adding up to at least 10, the totals are all shown."""
    shown = suppress_small_counts(GRID, ["A", "B", "C"], total_row="Total", total_column="Total")
    pd.testing.assert_frame_equal(
        shown,
        expected(
            {
                "W1": [C, C, "40", "58"],
                "W2": [C, C, "25", "67"],
                "W3": ["20", "11", "60", "91"],
                "Total": ["35", "56", "125", "216"],
            },
            COLUMNS,
        ),
    )


def _bounds(table, mask, rows, cols, total_row, total_column):
    """Smallest and largest value of each withheld count a reader could deduce: linear
    programming over the withheld cells (>= 0) given every published figure."""
    from scipy.optimize import linprog

    cells = [(r, c) for r in mask.index for c in mask.columns if mask.loc[r, c]]
    index = {cell: k for k, cell in enumerate(cells)}
    equations, rhs = [], []
    lines = []
    if total_column:
        lines += [([(r, c) for c in cols], (r, total_column)) for r in mask.index]
    if total_row:
        lines += [([(r, c) for r in rows], (total_row, c)) for c in mask.columns]
    for members, total in lines:
        row, known = np.zeros(len(cells)), 0.0
        for cell in members:
            if cell in index:
                row[index[cell]] += 1
            else:
                known += table.loc[cell]
        if total in index:
            row[index[total]] -= 1
            target = -known
        else:
            target = table.loc[total] - known
        equations.append(row)
        rhs.append(target)
    out = {}
    for cell, k in index.items():
        objective = np.zeros(len(cells))
        objective[k] = 1
        low = linprog(objective, A_eq=np.array(equations), b_eq=rhs, bounds=(0, None))
        high = linprog(-objective, A_eq=np.array(equations), b_eq=rhs, bounds=(0, None))
        assert low.status == 0 and high.status in (0, 3)
        out[cell] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return out


def test_three_by_three_withheld_counts_cannot_be_worked_out():
    """Independent check with scipy: W1.A (truly 3) could be anything from 0 to 15."""
    mask = find_cells_to_suppress(GRID, ["A", "B", "C"], total_row="Total", total_column="Total")
    bounds = _bounds(GRID, mask, ["W1", "W2", "W3"], ["A", "B", "C"], "Total", "Total")
    assert bounds[("W1", "A")] == pytest.approx((0, 15))
    assert all(high - low >= 1 for low, high in bounds.values())


def test_row_totals_only_take_the_smallest_other_count_in_the_row():
    table = frame({"x": [3, 12, 50, 65], "y": [40, 25, 61, 126]}, COLUMNS[:3] + ["Total"])
    shown = suppress_small_counts(table, ["A", "B", "C"], total_column="Total")
    assert shown.loc["x"].tolist() == [C, C, "50", "65"]
    assert shown.loc["y"].tolist() == ["40", "25", "61", "126"]


def test_column_totals_only():
    table = frame({"x": [2, 40], "y": [30, 45], "Total": [32, 85]}, ["A", "B"])
    shown = suppress_small_counts(table, ["A", "B"], total_row="Total")
    assert shown["A"].tolist() == [C, C, "32"]
    assert shown["B"].tolist() == ["40", "45", "85"]


def test_two_small_counts_whose_sum_is_small_need_a_third():
    """3 and 4 are both withheld, but 69 - 12 - 50 = 7 would tell a reader that the two
    add up to 7: the next smallest count (12) is withheld as well."""
    table = frame({"x": [3, 4, 12, 50, 69]}, ["A", "B", "C", "D", "Total"])
    shown = suppress_small_counts(table, ["A", "B", "C", "D"], total_column="Total")
    assert shown.loc["x"].tolist() == [C, C, C, "50", "69"]


def test_a_small_total_is_withheld_and_protected():
    """By hand: x's counts 3 and 4 and its total 7 are primary. Column A then has one
    withheld cell: y.A = 20. Row y has one: y.B = 30 (also protects column B). The
    column of row totals has one (7): y's total 50 is withheld, since 57 - 50 = 7."""
    table = frame({"x": [3, 4, 7], "y": [20, 30, 50], "Total": [23, 34, 57]}, ["A", "B", "Total"])
    shown = suppress_small_counts(table, ["A", "B"], total_row="Total", total_column="Total")
    pd.testing.assert_frame_equal(
        shown,
        expected(
            {"x": [C, C, C], "y": [C, C, C], "Total": ["23", "34", "57"]}, ["A", "B", "Total"]
        ),
    )


BRIDGE_COLUMNS = ["A", "B", "C", "D", "Total"]
BRIDGE = frame(
    {
        "r1": [3, 12, 100, 100, 215],
        "r2": [11, 13, 14, 100, 138],
        "r3": [100, 100, 4, 15, 219],
        "r4": [100, 100, 16, 12, 228],
        "Total": [214, 225, 134, 227, 800],
    },
    BRIDGE_COLUMNS,
)


def test_a_cell_that_several_lines_determine_is_found():
    """Two 2 x 2 blocks of withheld cells (r1-r2 x A-B, r3-r4 x C-D) joined by r2.C:
    every row and column has two or more withheld cells, yet by hand
    r2.C = r2's total - r2.D - (A + B totals - shown A, B - r1's withheld pair), i.e.
    rows r1, r2 and columns A, B together give r2.A + r2.B, hence r2.C."""
    hidden = pd.DataFrame(False, index=BRIDGE.index, columns=BRIDGE_COLUMNS)
    for cell in [
        ("r1", "A"),
        ("r1", "B"),
        ("r2", "A"),
        ("r2", "B"),
        ("r3", "C"),
        ("r3", "D"),
        ("r4", "C"),
        ("r4", "D"),
        ("r2", "C"),
    ]:
        hidden.loc[cell] = True
    assert find_derivable_cells(BRIDGE, hidden, BRIDGE_COLUMNS[:4], "Total", "Total") == [
        ("r2", "C")
    ]
    bounds = _bounds(
        BRIDGE,
        hidden[BRIDGE_COLUMNS],
        ["r1", "r2", "r3", "r4"],
        BRIDGE_COLUMNS[:4],
        "Total",
        "Total",
    )
    assert bounds[("r2", "C")] == pytest.approx((14, 14))


def test_suppression_leaves_nothing_derivable():
    mask = find_cells_to_suppress(
        BRIDGE, BRIDGE_COLUMNS[:4], total_row="Total", total_column="Total"
    )
    assert find_derivable_cells(BRIDGE, mask, BRIDGE_COLUMNS[:4], "Total", "Total") == []
    bounds = _bounds(BRIDGE, mask, ["r1", "r2", "r3", "r4"], BRIDGE_COLUMNS[:4], "Total", "Total")
    assert all(high - low >= 1 for low, high in bounds.values())


@st.composite
def count_tables(draw):
    n_rows = draw(st.integers(2, 4))
    n_cols = draw(st.integers(2, 4))
    small_or_large = st.one_of(st.integers(0, 12), st.integers(10, 200))
    values = draw(
        st.lists(
            st.lists(small_or_large, min_size=n_cols, max_size=n_cols),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    table = pd.DataFrame(
        values, columns=[f"c{j}" for j in range(n_cols)], index=[f"r{i}" for i in range(n_rows)]
    )
    table["Total"] = table.sum(axis=1)
    table.loc["Total"] = table.sum(axis=0)
    return table


@pytest.mark.parametrize("suppress_zeros", [False, True])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=count_tables())
def test_no_withheld_count_can_be_worked_out(table, suppress_zeros):
    columns = [c for c in table.columns if c != "Total"]
    rows = [r for r in table.index if r != "Total"]
    mask = find_cells_to_suppress(
        table, columns, total_row="Total", total_column="Total", suppress_zeros=suppress_zeros
    )
    small = (table >= (0 if suppress_zeros else 1)) & (table < 10)
    assert mask[small].fillna(True).all().all(), "every small count withheld"
    for line in [mask.loc[r] for r in mask.index] + [mask[c] for c in mask.columns]:
        assert line.sum() != 1
    for cell, (low, high) in _bounds(table, mask, rows, columns, "Total", "Total").items():
        assert high - low >= 1, f"{cell} is determined: {low}..{high}"


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "table, kwargs, message",
    [
        (pd.DataFrame({"n": [1.5]}), {}, r"row 0, column 'n': 1.5 is not a count"),
        (pd.DataFrame({"n": [-1]}), {}, "is not a count"),
        (pd.DataFrame({"n": [None]}, dtype=float), {}, "is not a count"),
        (pd.DataFrame({"n": ["12a"]}), {}, "is not a count"),
        (pd.DataFrame({"n": [1]}), {"columns": ["m"]}, "column 'm' is not in the table"),
        (
            pd.DataFrame({"n": [1], "t": [1]}),
            {"columns": ["n", "t"], "total_column": "t"},
            "also in columns",
        ),
        (
            pd.DataFrame({"n": [1], "t": [2]}),
            {"total_column": "t"},
            r"row 0: total_column 't' is 2 but the counts add up to 1",
        ),
        (
            pd.DataFrame({"n": [1, 2]}, index=["a", "T"]),
            {"total_row": "T"},
            r"column 'n': total_row 'T' is 2 but the rows add up to 1",
        ),
        (pd.DataFrame({"n": [1]}), {"total_row": "T"}, "not a row label"),
        (pd.DataFrame({"n": [1, 2]}, index=["a", "a"]), {}, "must be unique"),
    ],
)
def test_bad_tables_are_refused(table, kwargs, message):
    kwargs = {"columns": ["n"], **kwargs}
    with pytest.raises(ParameterError, match=message):
        suppress_small_counts(table, **kwargs)


# ------------------------------------------------------------------------- record level


@pytest.mark.parametrize(
    "name",
    [
        "Crime ID",
        "id",
        "ID",
        "Persistent ID",
        "crime_id",
        "CrimeID",
        "crimeId",
        "victim_ref",
        "PNC number",
        "Suspect Identifier",
        "name",
        "Surname",
        "Date of birth",
        "DOB",
        "URN",
        "occurrence_no",
        "CRIS number",
        "custody_record_number",
    ],
)
def test_record_level_columns_are_refused(name):
    with pytest.raises(DisclosureError, match=re.escape(repr(name))):
        check_no_record_level(pd.DataFrame({name: ["x"], "count": [1]}), "the breakdown")


def test_an_identifier_in_the_index_is_refused():
    table = pd.DataFrame({"count": [1]}, index=pd.Index(["abc"], name="crime_id"))
    with pytest.raises(DisclosureError, match="'crime_id'"):
        check_no_record_level(table)


@pytest.mark.parametrize(
    "name",
    [
        "ward_code",
        "WardName",
        "LSOA code",
        "month",
        "count",
        "borough",
        "major_category",
        "Offences",
        "Total",
        "Identified offences",
        "Video",
        "valid",
        "Rate per 1,000",
    ],
)
def test_aggregate_columns_pass(name):
    check_no_record_level(pd.DataFrame({name: ["x"], "count": [1]}))


# ------------------------------------------------------------------------- ward table


WARDS = pd.DataFrame(
    {
        "Ward": ["Abbey", "Brunswick", "Castle", "Dockside"],
        "Code": ["E05000001", "E05000002", "E05000003", "E05000004"],
        "Robbery": [4, 30, 22, 18],
        "Burglary": [15, 0, 41, 26],
    }
)


def _cells(html: str) -> list[list[str]]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in body.split("</tr>")[:-1]]


def test_ward_table_shows_c_where_small_counts_were():
    """By hand, with a Total column and an all-wards Total row: Abbey's 4 is primary.
    Row Abbey then has one withheld: its other count, 15. Column Robbery has one: the
    smallest other non-zero, Dockside's 18 (Castle 22, Brunswick 30). Row Dockside has
    one: its other count, 26, which also protects column Burglary (15 withheld)."""
    html = ward_table_html(WARDS, "Robbery and burglary by ward, Apr to Oct 2019")
    assert _cells(html) == [
        ["Abbey", "E05000001", C, C, "19"],
        ["Brunswick", "E05000002", "30", "0", "30"],
        ["Castle", "E05000003", "22", "41", "63"],
        ["Dockside", "E05000004", C, C, "44"],
        ["Total (all wards shown)", "", "74", "82", "156"],
    ]
    assert "<caption>Robbery and burglary by ward, Apr to Oct 2019</caption>" in html
    assert re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', html) == [
        "Ward",
        "Code",
        "Robbery",
        "Burglary",
        "Total",
    ]
    assert "counts from 1 to 9 are not shown" in html and "4 cells withheld" in html


def test_ward_table_threshold_and_no_totals():
    html = ward_table_html(WARDS, "Wards", threshold=20, totals=False)
    assert _cells(html) == [
        ["Abbey", "E05000001", C, C],
        ["Brunswick", "E05000002", "30", "0"],
        ["Castle", "E05000003", "22", "41"],
        ["Dockside", "E05000004", C, "26"],
    ]
    assert "counts from 1 to 19" in html


def test_ward_table_from_an_index():
    counts = pd.DataFrame(
        {"Robbery": [4, 30, 22]}, index=pd.Index(["Abbey", "Brunswick", "Castle"], name="Ward")
    )
    html = ward_table_html(counts, "Robbery by ward")
    assert _cells(html) == [["Abbey", C], ["Brunswick", "30"], ["Castle", C], ["Total", "56"]]


def test_ward_table_refuses_record_level_data():
    records = pd.DataFrame({"Crime ID": ["a1", "b2"], "Ward": ["Abbey", "Abbey"], "count": [1, 1]})
    with pytest.raises(DisclosureError, match="Crime ID"):
        ward_table_html(records, "Crimes")


def test_ward_table_escapes_ward_names():
    counts = pd.DataFrame({"Ward": ["<script>alert(1)</script>"], "Robbery": [25]})
    html = ward_table_html(counts, "Robbery <b>by</b> ward")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# ------------------------------------------------- totals published in another table
def test_a_published_total_row_is_never_withheld_and_a_small_column_is_withheld_whole():
    """Victims by sex in three years whose totals (4, 12, 0) another table publishes.
    By hand: 2019 (4 victims) is withheld whole, since any split of 4 gives people away;
    2020 has Female 3 (small) and Male 9 (small): both withheld, and their sum 12 is the
    published total, above the threshold of 10, so a reader knows only that they add up
    to 12; 2021 has no victims, so its zeros are shown (known, about nobody). The total
    row is never withheld. Without the published totals, Male 2019 (4 = 4 - 0) would
    have followed from them."""
    t = pd.DataFrame(
        {"2019": [0, 4, 4], "2020": [3, 9, 12], "2021": [0, 0, 0]},
        index=["Female", "Male", "All"],
    )
    t["Total"] = t.sum(axis=1)
    mask = find_cells_to_suppress(
        t, ["2019", "2020", "2021"], total_row="All", total_column="Total",
        total_row_published=True,
    )  # fmt: skip
    assert mask.loc["All"].tolist() == [False, False, False, False]
    assert mask.loc[["Female", "Male"], "2019"].all() and mask.loc[["Female", "Male"], "2020"].all()
    assert not mask.loc[["Female", "Male"], "2021"].any()
    assert mask.loc[["Female", "Male"], "Total"].all()  # 3 and 13: 13 - 9 would give 2019's 4
    assert find_derivable_cells(t, mask, ["2019", "2020", "2021"], "All", "Total") == []


def test_a_published_subtotal_is_an_equation_too():
    """Ages 0-12 (8), 13-19 (13) and 20-24 (20) add up to the under-25 victims (41) that
    another report publishes; 25-64 (70) and 65 and over (9) make 120 in all. Without
    the subtotal, 8 and 9 are withheld (both small; together 17, enough), and 13 and 20
    shown, so 0-12 = 41 - 13 - 20 = 8: the London 2014 case a reviewer found. With the
    subtotal as an equation, another band under 25 is withheld with it."""
    t = pd.DataFrame(
        {"2014": [8, 13, 20, 70, 9, 41, 120]},
        index=["0 to 12", "13 to 19", "20 to 24", "25 to 64", "65 and over", "Under 25", "All"],
    )
    young = ["0 to 12", "13 to 19", "20 to 24"]
    plain = find_cells_to_suppress(t.drop(index="Under 25"), ["2014"], total_row="All",
                                   total_row_published=True)  # fmt: skip
    assert plain["2014"].tolist() == [True, False, False, False, True, False]
    leaked = plain.reindex(t.index).fillna(False)
    derived = find_derivable_cells(t, leaked, ["2014"], "All", subtotal_rows={"Under 25": young})
    assert sorted(derived) == [("0 to 12", "2014"), ("65 and over", "2014")]  # then 17 - 8
    mask = find_cells_to_suppress(t, ["2014"], total_row="All", total_row_published=True,
                                  subtotal_rows={"Under 25": young})  # fmt: skip
    assert mask.loc["0 to 12", "2014"] and mask.loc[["13 to 19", "20 to 24"], "2014"].any()
    assert not mask.loc[["Under 25", "All"], "2014"].any()
    assert find_derivable_cells(t, mask, ["2014"], "All", subtotal_rows={"Under 25": young}) == []
