"""A catalogue of malformed inputs and what each one does (docs/bad-inputs.md).

Every bad input either stops with a clear error -- the exception type, and a message
naming the file, the line and the column or parameter -- or is tolerated on purpose, in
which case the exact figures are checked against values worked out by hand.

The small files are hand-made. Stores are built in temporary folders from tiny mirrors
(never from, nor into, ../shared/data or the checkout's data/).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis.errors import CatalogueError, DataValidationError
from mpsanalysis.ingest import build, extracts, fetch, loaders, store
from mpsanalysis.measures import catalogue
from mpsanalysis.measures import compute as measures

# ----------------------------------------------------------------------------- fixtures
NEW_HEADER = "MajorText,MinorText,LookUp_BoroughName"
OLD_HEADER = "Borough,Major Category,Minor Category"

#: A valid new-classification file. Hand-worked figures: April 2010 = 120 + 10 + 200 =
#: 330; May 2010 = 98 + 9 + 210 = 317; robbery in Lambeth = 120 + 98 = 218.
GOOD = (
    f"{NEW_HEADER},201004,201005\n"
    "Robbery,Robbery of Personal Property,Lambeth,120,98\n"
    "Robbery,Robbery of Personal Property,Camden,10,9\n"
    "Burglary,Burglary - Residential,Lambeth,200,210\n"
)
GOOD_CELLS = {  # (borough, minor category, month) -> count, written out by hand
    ("Lambeth", "Robbery of Personal Property", "2010-04"): 120,
    ("Lambeth", "Robbery of Personal Property", "2010-05"): 98,
    ("Camden", "Robbery of Personal Property", "2010-04"): 10,
    ("Camden", "Robbery of Personal Property", "2010-05"): 9,
    ("Lambeth", "Burglary - Residential", "2010-04"): 200,
    ("Lambeth", "Burglary - Residential", "2010-05"): 210,
}
OLD = f"{OLD_HEADER},201004,201005\nLambeth,Robbery,Personal Property,150,140\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def cells(tidy: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """The tidy table as {(borough, minor category, month): count}."""
    return {
        (r.borough_name, r.minor_category, str(r.month)): int(r.count) for r in tidy.itertuples()
    }


def assert_figures_of_good(tidy: pd.DataFrame) -> None:
    """The tolerated variants of GOOD give exactly GOOD's hand-worked figures."""
    assert cells(tidy) == GOOD_CELLS
    by_month = tidy.groupby(tidy["month"].astype(str))["count"].sum().to_dict()
    assert by_month == {"2010-04": 330, "2010-05": 317}
    assert tidy["count"].dtype == "int64"


def expect_data_error(path: Path, message: str, line: int | None, column: str | None):
    """read_borough_crime(path) raises a DataValidationError naming file, line, column."""
    with pytest.raises(DataValidationError) as raised:
        loaders.read_borough_crime(path)
    error = raised.value
    assert message in str(error), str(error)
    assert error.file == path.name
    assert error.row == line
    assert error.column == column
    text = str(error)
    assert text.startswith(path.name)
    if line is not None:
        assert f"line {line}" in text
    if column is not None:
        assert f"column {column!r}" in text
    assert "\n" not in text  # one line, fit for the command line
    return error


# ------------------------------------------------------------- tolerated, same figures
def test_plain_file_figures(tmp_path):
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "plain.csv", GOOD)))


def test_byte_order_mark_is_tolerated(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert_figures_of_good(loaders.read_borough_crime(path))


def test_crlf_line_endings_are_tolerated(tmp_path):
    path = write(tmp_path, "crlf.csv", GOOD.replace("\n", "\r\n").encode("utf-8"))
    assert_figures_of_good(loaders.read_borough_crime(path))


def test_bom_and_crlf_together_are_tolerated(tmp_path):
    data = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode("utf-8")
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "both.csv", data)))


def test_reordered_columns_are_tolerated(tmp_path):
    text = (
        "201005,LookUp_BoroughName,201004,MinorText,MajorText\n"
        "98,Lambeth,120,Robbery of Personal Property,Robbery\n"
        "9,Camden,10,Robbery of Personal Property,Robbery\n"
        "210,Lambeth,200,Burglary - Residential,Burglary\n"
    )
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "reordered.csv", text)))


def test_month_headers_out_of_order_are_tolerated(tmp_path):
    text = (
        f"{NEW_HEADER},201005,201004\n"
        "Robbery,Robbery of Personal Property,Lambeth,98,120\n"
        "Robbery,Robbery of Personal Property,Camden,9,10\n"
        "Burglary,Burglary - Residential,Lambeth,210,200\n"
    )
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "unordered.csv", text)))


def test_shuffled_rows_are_tolerated(tmp_path):
    lines = GOOD.splitlines(keepends=True)
    text = lines[0] + lines[3] + lines[1] + lines[2]
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "shuffled.csv", text)))


def test_trailing_blank_lines_are_tolerated(tmp_path):
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "tail.csv", GOOD + "\n\n")))


def test_spaces_around_cells_are_tolerated(tmp_path):
    text = GOOD.replace(",120,", ", 120 ,").replace("Camden", " Camden ")
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "spaces.csv", text)))


def test_borough_spelling_variants_are_tolerated(tmp_path):
    text = GOOD.replace("Lambeth,120", "LAMBETH,120")
    assert_figures_of_good(loaders.read_borough_crime(write(tmp_path, "caps.csv", text)))


# ------------------------------------------------------------ refused: borough files
@pytest.mark.parametrize(
    "name, content, message, line, column",
    [
        pytest.param(
            "truncated.csv",
            GOOD[: GOOD.rindex("Lambeth") + 3],
            "the last line is cut short (is the file truncated?)",
            4,
            None,
            id="truncated-mid-row",
        ),
        pytest.param(
            "truncated-text.csv",
            GOOD[: GOOD.rindex("Burglary -")],
            "the last line is cut short",
            4,
            None,
            id="truncated-in-text-columns",
        ),
        pytest.param(
            "latin1.csv",
            GOOD.replace("Burglary - Residential", "Burglary – Résidential").encode(
                "latin-1", errors="replace"
            ),
            "is not UTF-8 text",
            4,
            None,
            id="latin-1-bytes",
        ),
        pytest.param(
            "cp1252.csv",
            GOOD.replace("Camden", "Camden’s").encode("cp1252"),
            "is not UTF-8 text (byte 0x92",
            3,
            None,
            id="cp1252-curly-quote",
        ),
        pytest.param("empty.csv", b"", "the file is empty", None, None, id="empty-file"),
        pytest.param(
            "blank.csv", "\n \n", "the file is empty", None, None, id="whitespace-only-file"
        ),
        pytest.param(
            "header-only.csv",
            f"{NEW_HEADER},201004,201005\n",
            "has a header but no data rows",
            None,
            None,
            id="header-only",
        ),
        pytest.param(
            "renamed.csv",
            OLD.replace("Borough,", "Borugh,"),
            "missing required column 'Borough'",
            1,
            None,
            id="renamed-column",
        ),
        pytest.param(
            "not-crime.csv",
            "name,value\nx,1\n",
            "is not a borough-level crime file",
            1,
            None,
            id="not-a-crime-file",
        ),
        pytest.param(
            "extra.csv",
            GOOD.replace("201005\n", "201005,Notes\n")
            .replace("98\n", "98,x\n")
            .replace("9\n", "9,y\n")
            .replace("210\n", "210,z\n"),
            "column header 'Notes' is not a month",
            1,
            "Notes",
            id="extra-column",
        ),
        pytest.param(
            "blank-header.csv",
            GOOD.replace("201005\n", "201005,\n")
            .replace("98\n", "98,\n")
            .replace("9\n", "9,\n")
            .replace("210\n", "210,\n"),
            "the header of column 6 is blank",
            1,
            None,
            id="blank-header-cell",
        ),
        pytest.param(
            "trailing-comma.csv",
            GOOD.replace("98\n", "98,\n"),
            "has 6 field(s) but the header has 5",
            2,
            None,
            id="extra-field-on-a-line",
        ),
        pytest.param(
            "blank-line.csv",
            GOOD.replace("Camden,10,9\n", "Camden,10,9\n\n"),
            "is blank (blank lines are allowed only at the end",
            4,
            None,
            id="blank-line-in-the-middle",
        ),
        pytest.param(
            "text.csv",
            GOOD.replace(",98", ",n/a"),
            "count 'n/a' is not a number",
            2,
            "201005",
            id="non-numeric-count",
        ),
        pytest.param(
            "negative.csv",
            GOOD.replace(",9\n", ",-9\n"),
            "count '-9' is negative",
            3,
            "201005",
            id="negative-count",
        ),
        pytest.param(
            "huge.csv",
            GOOD.replace(",200,", ",250000,"),
            "count '250000' is implausibly large (over 100,000)",
            4,
            "201004",
            id="huge-count",
        ),
        pytest.param(
            "decimal.csv",
            GOOD.replace(",10,", ",10.5,"),
            "count '10.5' is not a whole number",
            3,
            "201004",
            id="decimal-count",
        ),
        pytest.param(
            "spreadsheet.csv",
            GOOD.replace(",10,", ",10.0,"),
            "count '10.0' is not a whole number written in digits",
            3,
            "201004",
            id="whole-number-with-decimals",
        ),
        pytest.param(
            "exponent.csv",
            GOOD.replace(",200,", ",2e2,"),
            "count '2e2' is not a whole number written in digits",
            4,
            "201004",
            id="scientific-notation",
        ),
        pytest.param(
            "thousands.csv",
            GOOD.replace(",200,", ',"1,200",'),
            "count '1,200' is not a whole number written in digits",
            4,
            "201004",
            id="thousands-separator",
        ),
        pytest.param(
            "nan.csv",
            GOOD.replace(",98", ",NaN"),
            "count 'NaN' is not a number",
            2,
            "201005",
            id="nan-count",
        ),
        pytest.param(
            "blank-count.csv",
            GOOD.replace(",9\n", ",\n"),
            "count '' is blank",
            3,
            "201005",
            id="blank-count",
        ),
        pytest.param(
            "duplicate.csv",
            GOOD + "Robbery,Robbery of Personal Property,Camden,1,2\n",
            "duplicate rows for Camden / Robbery / Robbery of Personal Property (lines 3, 5)",
            5,
            None,
            id="duplicate-rows",
        ),
        pytest.param(
            "duplicate-alias.csv",
            GOOD + "Robbery,Robbery of Personal Property,LAMBETH,1,2\n",
            "duplicate rows for Lambeth",
            5,
            None,
            id="duplicate-rows-spelt-differently",
        ),
        pytest.param(
            "narnia.csv",
            GOOD.replace("Camden", "Narnia"),
            "unknown borough 'Narnia'",
            3,
            "LookUp_BoroughName",
            id="unknown-borough",
        ),
        pytest.param(
            "no-borough.csv",
            GOOD.replace("Camden", ""),
            "LookUp_BoroughName is blank",
            3,
            "LookUp_BoroughName",
            id="blank-borough",
        ),
        pytest.param(
            "dash-month.csv",
            GOOD.replace("201004", "2010-04"),
            "column header '2010-04' is not a month",
            1,
            "2010-04",
            id="month-header-with-dash",
        ),
        pytest.param(
            "month13.csv",
            GOOD.replace("201005", "201013"),
            "column header '201013' is not a month",
            1,
            "201013",
            id="month-header-201013",
        ),
        pytest.param(
            "dup-month.csv",
            GOOD.replace("201005", "201004"),
            "column '201004' appears twice in the header",
            1,
            "201004",
            id="duplicated-month-header",
        ),
    ],
)
def test_malformed_borough_file_is_refused(tmp_path, name, content, message, line, column):
    expect_data_error(write(tmp_path, name, content), message, line, column)


# --------------------------------------------------------- missing months are not zero
def make_mirror(root: Path, files: dict[str, str]) -> Path:
    """A tiny mirror with borough crime files in the publisher's folder layout."""
    mirror = root / "mirror"
    for name, text in files.items():
        write(mirror / build.BOROUGH_CRIME_FOLDER, name, text)
    return mirror


def make_store(root: Path, files: dict[str, str]) -> dict[str, Path]:
    """Fetch a tiny mirror into root/data/raw and build the borough store."""
    mirror = make_mirror(root, files)
    raw, processed = root / "data" / "raw", root / "data" / "processed"
    fetch.fetch_from_mirror(mirror, raw)
    build.build_store(raw, processed, include_sources=False)
    return {"mirror": mirror, "raw": raw, "processed": processed, "data": root / "data"}


GAP = (  # June 2010 is in neither file; both years otherwise complete to July
    f"{NEW_HEADER},200904,200905,200906,200907,201004,201005,201007\n"
    "Robbery,Robbery of Personal Property,Lambeth,100,100,100,100,120,98,80\n"
)


def test_missing_month_is_a_gap_not_zero(tmp_path):
    built = make_store(tmp_path, {"gap.csv": GAP})
    gaps = store.read_table("borough_crime_gaps", directory=built["processed"])
    gap_months = {str(m) for m in gaps["month"]}
    # Every month from Aug 2009 to Mar 2010, and Jun 2010, is absent from the file.
    expected = {str(m) for m in pd.period_range("2009-08", "2010-03", freq="M")} | {"2010-06"}
    assert gap_months == expected
    assert set(gaps["classification"]) == {"new"}

    crime = measures.load_borough_crime(built["processed"])
    categories = measures.load_category_vintages(built["processed"])
    measure = catalogue.get_objective("robbery").measure("personal-robbery")
    monthly = measures.measure_monthly(measure, "London", "new", crime, categories)
    assert pd.isna(monthly[pd.Period("2010-06", "M")])  # missing, never 0
    assert monthly[pd.Period("2010-07", "M")] == 80
    # FYTD to May 2010 is complete: 120 + 98 = 218 against 100 + 100 = 200 (+9.0%).
    result = measures.compute_measure(measure, "London", "2010-05", crime, categories)
    assert result.comparison.current == 218
    assert result.comparison.previous == 200
    # FYTD to July 2010 includes the missing June: the sum is NaN, not 120+98+0+80 = 298.
    from mpsanalysis.measures import metrics

    july = metrics.compare_fytd(monthly, "2010-07")
    assert pd.isna(july.current)
    assert "2010-06" in july.missing_months


def test_missing_month_is_listed_by_find_missing_months(tmp_path):
    tidy = loaders.read_borough_crime(write(tmp_path, "gap.csv", GAP))
    missing = loaders.find_missing_months(tidy)
    assert "2010-06" in {str(m) for m in missing["month"]}
    assert "2010-04" not in {str(m) for m in missing["month"]}


# ----------------------------------------------------------- the store and the raw tree
def test_corrupted_parquet_store_says_rebuild(tmp_path):
    built = make_store(tmp_path, {"good.csv": GOOD})
    target = built["processed"] / "borough_crime.parquet"
    target.write_bytes(b"\x00garbage, not a parquet file\xff" * 10)
    with pytest.raises(DataValidationError) as raised:
        store.read_table("borough_crime", directory=built["processed"])
    message = str(raised.value)
    assert raised.value.file == "borough_crime.parquet"
    assert message.startswith("borough_crime.parquet: the processed table is unreadable")
    assert "run `mpsanalysis build` again" in message


def test_truncated_parquet_store_says_rebuild(tmp_path):
    built = make_store(tmp_path, {"good.csv": GOOD})
    target = built["processed"] / "borough_crime_vintages.parquet"
    target.write_bytes(target.read_bytes()[:40])
    with pytest.raises(DataValidationError, match="run `mpsanalysis build` again"):
        measures.last_month_available(built["processed"])


def test_missing_store_says_build_first(tmp_path):
    with pytest.raises(DataValidationError, match="run `mpsanalysis build` first") as raised:
        store.read_table("borough_crime", directory=tmp_path)
    assert raised.value.file == "borough_crime.parquet"


@pytest.mark.parametrize(
    "content, message",
    [
        pytest.param(b"\x89\xff\x00garbage", "corrupted", id="garbage-bytes"),
        pytest.param(
            b'{"london-datastore/x.csv": {"sha256": "ab', "corrupted", id="truncated-json"
        ),
        pytest.param(b"[]", "expected a mapping of file to checksum", id="wrong-shape"),
        pytest.param(
            b'{"a.csv": {"sha256": "not-a-digest"}}',
            "the entry for 'a.csv' has no valid SHA-256",
            id="bad-digest",
        ),
    ],
)
def test_corrupted_checksums_json(tmp_path, content, message):
    built = make_store(tmp_path, {"good.csv": GOOD})
    (built["raw"] / fetch.CHECKSUMS_FILE).write_bytes(content)
    with pytest.raises(DataValidationError) as raised:
        build.build_store(built["raw"], built["processed"], include_sources=False)
    assert raised.value.file == "checksums.json"
    assert message in str(raised.value)
    assert "run `mpsanalysis fetch` again" in str(raised.value)


def _edit_raw(path: Path, text: str) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # fetch made it read-only
    path.write_text(text, encoding="utf-8")


def test_raw_file_edited_after_fetch_is_refused_and_store_kept(tmp_path):
    built = make_store(tmp_path, {"good.csv": GOOD})
    before = {p.name: p.read_bytes() for p in built["processed"].iterdir()}
    raw_file = built["raw"] / build.BOROUGH_CRIME_FOLDER / "good.csv"
    _edit_raw(raw_file, GOOD.replace(",120,", ",121,"))
    with pytest.raises(DataValidationError) as raised:
        build.build_store(built["raw"], built["processed"], include_sources=False)
    assert raised.value.file == f"{build.BOROUGH_CRIME_FOLDER}/good.csv"
    assert "has changed since it was fetched" in str(raised.value)
    after = {p.name: p.read_bytes() for p in built["processed"].iterdir()}
    assert after == before  # the previous store is untouched


def test_raw_file_deleted_after_fetch_is_refused(tmp_path):
    built = make_store(tmp_path, {"good.csv": GOOD})
    (built["raw"] / build.BOROUGH_CRIME_FOLDER / "good.csv").unlink()
    with pytest.raises(DataValidationError, match="missing from data/raw/") as raised:
        build.build_store(built["raw"], built["processed"], include_sources=False)
    assert raised.value.file == f"{build.BOROUGH_CRIME_FOLDER}/good.csv"


def test_raw_file_not_brought_in_by_fetch_is_refused(tmp_path):
    built = make_store(tmp_path, {"good.csv": GOOD})
    write(built["raw"] / build.BOROUGH_CRIME_FOLDER, "my-fixed-copy.csv", GOOD)
    with pytest.raises(
        DataValidationError, match="was not brought in by `mpsanalysis fetch`"
    ) as raised:
        build.build_store(built["raw"], built["processed"], include_sources=False)
    assert raised.value.file == f"{build.BOROUGH_CRIME_FOLDER}/my-fixed-copy.csv"


# ------------------------------------------------------------------------ extracts
EXTRACT_HEADER = "month,geography,measure,value,numerator,denominator\n"


@pytest.mark.parametrize(
    "row, message, line, column",
    [
        pytest.param(
            "2010-04,London,<script>alert(1)</script>,1,,",
            "measure '<script>alert(1)</script>' must be lower case",
            2,
            "measure",
            id="script-in-measure",
        ),
        pytest.param(
            "2010-04,<script>alert(1)</script>,cash_seized,1,,",
            "unknown geography '<script>alert(1)</script>'",
            2,
            "geography",
            id="script-in-geography",
        ),
        pytest.param(
            "2010-04,Gotham,cash_seized,1,,",
            "unknown geography 'Gotham'",
            2,
            "geography",
            id="bad-geography",
        ),
        pytest.param(
            "2010-04,London,sanction_detections,,60,50",
            "numerator must be between 0 and a non-zero denominator",
            2,
            "numerator",
            id="numerator-over-denominator",
        ),
        pytest.param(
            "2010-04,London,sanction_detections,25.0,10,50",
            "value 25 disagrees with numerator/denominator (20.0%)",
            2,
            "value",
            id="inconsistent-value",
        ),
        pytest.param(
            "2010-04,London,sanction_detections,20,10,",
            "numerator and denominator must be given together",
            2,
            "denominator",
            id="numerator-without-denominator",
        ),
        pytest.param(
            "2010-13,London,cash_seized,1,,",
            "month '2010-13' is not YYYY-MM",
            2,
            "month",
            id="bad-month",
        ),
        pytest.param(
            "2010-04,London,cash_seized,-5,,",
            "must be a non-negative number",
            2,
            "value",
            id="negative-value",
        ),
        pytest.param(
            "2010-04,London,cash_seized,lots,,",
            "value 'lots' is not a number",
            2,
            "value",
            id="non-numeric-value",
        ),
        pytest.param(
            "2010-04,London,cash_seized,1,,,extra",
            "has 7 field(s) but the header has 6",
            2,
            None,
            id="extra-field",
        ),
        pytest.param(
            "2010-04,London,cash_se", "the last line is cut short", 2, None, id="truncated-extract"
        ),
    ],
)
def test_malformed_extract_is_refused(tmp_path, row, message, line, column):
    path = write(tmp_path, "extract.csv", EXTRACT_HEADER + row + "\n")
    with pytest.raises(DataValidationError) as raised:
        extracts.read_extract(path)
    error = raised.value
    assert message in str(error), str(error)
    assert (error.file, error.row, error.column) == ("extract.csv", line, column)


def test_extract_with_latin1_bytes_names_the_line(tmp_path):
    data = (
        EXTRACT_HEADER + "2010-04,London,cash_seized,1,,\n2010-05,London,cash_seized,£2,,\n"
    ).encode("latin-1")
    with pytest.raises(DataValidationError, match="is not UTF-8 text") as raised:
        extracts.read_extract(write(tmp_path, "extract.csv", data))
    assert (raised.value.file, raised.value.row) == ("extract.csv", 3)


def test_extract_extra_column_is_named(tmp_path):
    path = write(
        tmp_path,
        "extract.csv",
        "month,geography,measure,value,comment\n2010-04,London,cash_seized,1,x\n",
    )
    with pytest.raises(DataValidationError, match="unexpected column 'comment'") as raised:
        extracts.read_extract(path)
    assert raised.value.column == "comment"


def test_extract_consistent_proportion_is_read_exactly(tmp_path):
    # Tolerated: BOM, CRLF, £ and thousands separators in money; value implied when blank.
    text = (
        EXTRACT_HEADER + "2010-04,London,sanction_detections,,10302,50500\n"
        '2010-04,Lambeth,cash_seized,"£1,250.50",,\n'
    ).replace("\n", "\r\n")
    path = write(tmp_path, "extract.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    table = extracts.read_extract(path)
    rate = table[table.measure == "sanction_detections"].iloc[0]
    assert rate["value"] == pytest.approx(10302 / 50500 * 100)  # 20.40 %
    cash = table[table.measure == "cash_seized"].iloc[0]
    assert (cash["geography"], cash["value"]) == ("Lambeth", 1250.5)


# ------------------------------------------------------------------------ catalogue
CATALOGUE = """
objectives:
  - id: robbery
    title: Reduce personal robbery
    plan: VCD 2006
    lead: TP
    measures:
      - id: personal-robbery
        title: Robbery of personal property
        unit: count
        direction: down
        source: borough-crime
        categories: {new: [{major: Robbery, minor: [Robbery of Personal Property]}]}
        target: {type: reduction, percent: 7}
"""


@pytest.mark.parametrize(
    "old, new, field, detail",
    [
        pytest.param(
            "unit: count",
            "unit: pounds",
            "field 'unit'",
            "is 'pounds': expected one of count, rate, proportion, money",
            id="bad-unit",
        ),
        pytest.param(
            "direction: down",
            "direction: sideways",
            "field 'direction'",
            "is 'sideways': expected one of down, up, neutral",
            id="bad-direction",
        ),
        pytest.param(
            "        title: Robbery of personal property\n",
            "",
            "field 'title'",
            "is missing",
            id="missing-field",
        ),
        pytest.param(
            "{new: [",
            "{newest: [",
            "field 'categories'",
            "unknown classification 'newest' (old or new)",
            id="unknown-classification",
        ),
        pytest.param(
            "direction: down",
            "direction: neutral",
            "field 'target'",
            "needs direction up or down, not neutral",
            id="target-on-neutral-measure",
        ),
        pytest.param(
            "percent: 7",
            "percent: 170",
            "field 'target'",
            "needs 'percent', a number from 0 to 100",
            id="target-percent-over-100",
        ),
        pytest.param(
            "unit: count",
            "unit: count\n        colour: red",
            "unknown field(s)",
            "colour",
            id="unknown-field",
        ),
        pytest.param(
            "unit: count",
            "unit: count\n        rate_per: 10000",
            "field 'rate_per'",
            "must be one of 1000, 100000",
            id="bad-rate-per",
        ),
    ],
)
def test_malformed_catalogue_names_objective_measure_and_field(old, new, field, detail):
    assert old in CATALOGUE
    with pytest.raises(CatalogueError) as raised:
        catalogue.parse_catalogue(CATALOGUE.replace(old, new))
    message = str(raised.value)
    assert message.startswith("objectives.yaml: objective 'robbery', measure 'personal-robbery'")
    assert field in message
    assert detail in message


def test_catalogue_python_object_tag_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    tag = f'!!python/object/apply:os.system ["touch {marker}"]'
    text = CATALOGUE.replace("lead: TP", f"lead: {tag}")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        catalogue.parse_catalogue(text)
    assert not marker.exists()


def test_catalogue_that_is_not_utf8_is_refused(tmp_path):
    path = write(tmp_path, "objectives.yaml", CATALOGUE.replace("TP", "Tñ").encode("latin-1"))
    with pytest.raises(CatalogueError, match=r"objectives.yaml: is not UTF-8 text"):
        catalogue.load_catalogue(path)


# ----------------------------------------------------------------- the command line
UNKNOWN_BOROUGH = GOOD.replace("Camden", "Gotham City")


def test_cli_build_with_unknown_borough_prints_one_line_and_exits_2(tmp_path):
    root = tmp_path / "work"
    mirror = make_mirror(root, {"good.csv": GOOD})
    data = root / "data"
    fetch.fetch_from_mirror(mirror, data / "raw")
    build.build_store(data / "raw", data / "processed", include_sources=False)
    before = (data / "processed" / "borough_crime.parquet").read_bytes()
    # The publisher's next file has a borough nobody has heard of.
    write(mirror / build.BOROUGH_CRIME_FOLDER, "next.csv", UNKNOWN_BOROUGH)
    fetch.fetch_from_mirror(mirror, data / "raw")
    env = {**os.environ, "MPSANALYSIS_DATA_DIR": str(data)}
    env.pop("MPSANALYSIS_REPORTS_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "mpsanalysis", "build"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "mpsanalysis build: error: next.csv, line 3, column 'LookUp_BoroughName': unknown "
        "borough 'Gotham City' (not one of the 32 London boroughs, the City of London or the "
        "airports)"
    ]
    assert "Traceback" not in done.stderr
    assert (data / "processed" / "borough_crime.parquet").read_bytes() == before
    assert not list(data.glob(".processed-staging-*"))  # the failed build cleaned up


def test_cli_run_on_corrupted_store_prints_one_line_and_exits_2(tmp_path):
    built = make_store(tmp_path, {"good.csv": GOOD})
    (built["processed"] / "borough_crime_vintages.parquet").write_bytes(b"garbage")
    env = {
        **os.environ,
        "MPSANALYSIS_DATA_DIR": str(built["data"]),
        "MPSANALYSIS_REPORTS_DIR": str(tmp_path / "reports"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mpsanalysis", "run", "--period-end", "2010-05"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(
        "mpsanalysis run: error: borough_crime_vintages.parquet: the processed table is unreadable"
    )
    assert not (tmp_path / "reports").exists()  # nothing was started


# ------------------------------------------------------- issue 17: exact messages
def _new_file(tmp_path, body: str, name: str = "x.csv"):
    path = tmp_path / name
    path.write_text("MajorText,MinorText,LookUp_BoroughName,201004,201005\n" + body)
    return path


def test_fullwidth_digits_are_not_a_count(tmp_path):
    path = _new_file(tmp_path, "Robbery,Robbery of Personal Property,Lambeth,１４８,3\n")
    with pytest.raises(DataValidationError, match=r"x.csv, line 2, column '201004'.*ASCII"):
        loaders.read_borough_crime(path)


def test_line_number_after_a_quoted_line_break_is_the_physical_line(tmp_path):
    path = _new_file(
        tmp_path,
        'Robbery,"Robbery of\nPersonal Property",Lambeth,1,2\n'
        "Robbery,Robbery of Personal Property,Lambeth,-1,2\n",
    )
    with pytest.raises(DataValidationError, match=r"line 4, column '201004'"):
        loaders.read_borough_crime(path)


def test_duplicate_differing_only_in_case_is_refused(tmp_path):
    path = _new_file(
        tmp_path,
        "Robbery,Robbery of Personal Property,Lambeth,1,2\n"
        "ROBBERY,ROBBERY OF PERSONAL  PROPERTY,Lambeth,1,2\n",
    )
    with pytest.raises(DataValidationError, match=r"x.csv, line 3: duplicate rows"):
        loaders.read_borough_crime(path)


def test_unknown_category_is_refused_with_its_line(tmp_path):
    from mpsanalysis.ingest import contract

    path = _new_file(tmp_path, "Robbery,Robbery of Personal Propperty,Lambeth,1,2\n")
    with pytest.raises(DataValidationError, match=r"x.csv, line 2.*unknown category"):
        loaders.read_borough_crime(path, contract=contract.load_contract())


def test_month_header_in_the_future_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(
        "MajorText,MinorText,LookUp_BoroughName,201004,209912\n"
        "Robbery,Robbery of Personal Property,Lambeth,1,2\n"
    )
    with pytest.raises(DataValidationError, match=r"column '209912'.*outside"):
        loaders.read_borough_crime(path, latest_month=pd.Period("2026-01", freq="M"))


def test_month_headers_must_match_the_name_window(tmp_path):
    path = _new_file(
        tmp_path,
        "Robbery,Robbery of Personal Property,Lambeth,1,2\n",
        name="crime_201004-201006.csv",
    )
    with pytest.raises(DataValidationError, match=r"name says 2010-04 to 2010-06"):
        loaders.read_borough_crime(path)


def test_revisions_table_lists_revised_cells():
    from mpsanalysis.ingest import revisions

    keys = ["month", "borough_name"]
    prev = pd.DataFrame(
        {
            "month": ["2024-01"] * 2,
            "borough_name": ["Camden", "Lambeth"],
            "count": [100, 50],
            "source_file": "a.csv",
        }
    )
    cur = prev.assign(count=[101, 50], source_file="b.csv")
    table = revisions.compare_vintages(prev, cur, keys)
    assert table[["borough_name", "previous_count", "count", "difference"]].values.tolist() == [
        ["Camden", 100, 101, 1]
    ]
    lost = revisions.compare_vintages(prev, cur.iloc[:1], keys)
    with pytest.raises(DataValidationError, match="Lambeth"):
        revisions.check_losses(lost, prev, ["month"], ["month", "borough_name"], "test")


# ------------------------------------------------------ issue 17: periods in the data
@pytest.fixture
def store_with_gap(tmp_path, monkeypatch):
    """New classification April to December 2010 without November (a gap)."""
    months = [m for m in pd.period_range("2010-04", "2010-12", freq="M") if m.month != 11]
    mirror = tmp_path / "mirror" / build.BOROUGH_CRIME_FOLDER
    mirror.mkdir(parents=True)
    (mirror / "gap.csv").write_text(
        "MajorText,MinorText,LookUp_BoroughName,"
        + ",".join(m.strftime("%Y%m") for m in months)
        + "\nRobbery,Robbery of Personal Property,Lambeth,"
        + ",".join(["10"] * len(months))
        + "\n"
    )
    data = tmp_path / "data"
    fetch.fetch_from_mirror(tmp_path / "mirror", data / "raw")
    build.build_store(data / "raw", data / "processed", include_sources=False)
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(data))
    monkeypatch.setenv("MPSANALYSIS_REPORTS_DIR", str(tmp_path / "reports"))


def test_quarter_latest_skips_a_quarter_with_a_missing_month(store_with_gap):
    from mpsanalysis.run import runner

    plan = runner.plan_run(quarter="latest")
    assert plan.period_end == "2010-09"  # 2010/11-Q2; Q3 lacks November 2010


def test_period_end_before_the_data_is_refused(store_with_gap):
    from mpsanalysis.errors import ParameterError
    from mpsanalysis.run import runner

    with pytest.raises(ParameterError, match=r"period_end '2010-03' is before the data"):
        runner.plan_run(period_end="2010-03")
