"""Internal extracts: the template, validation, and the SYNTHETIC sample."""

import pandas as pd
import pytest

from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest import extracts

HEADER = "month,geography,measure,value,numerator,denominator\n"


def test_valid_extract_and_proportion_value(tmp_csv):
    path = tmp_csv(
        "extract.csv",
        HEADER + "2010-04,London,sanction_detections,,1354,5296\n"
        '2010-04,Lambeth,cash_seized,"£12,500",,\n',
    )
    table = extracts.read_extract(path)
    sd = table[table.measure == "sanction_detections"].iloc[0]
    assert sd["value"] == pytest.approx(1354 / 5296 * 100)  # 25.57%
    cash = table[table.measure == "cash_seized"].iloc[0]
    assert (cash["geography"], cash["value"]) == ("Lambeth", 12500.0)
    assert not table["synthetic"].any()


@pytest.mark.parametrize(
    "row, message, column",
    [
        ("2010-13,London,cash_seized,1,,", "month '2010-13' is not YYYY-MM", "month"),
        ("2010-04,Gotham,cash_seized,1,,", "unknown geography 'Gotham'", "geography"),
        ("2010-04,London,Cash Seized,1,,", "must be lower case", "measure"),
        ("2010-04,London,cash_seized,-5,,", "must be a non-negative number", "value"),
        ("2010-04,London,cash_seized,abc,,", "is not a number", "value"),
        (
            "2010-04,London,sd,,10,",
            "numerator and denominator must be given together",
            "denominator",
        ),
        ("2010-04,London,sd,,20,10", "numerator must be between", "numerator"),
        ("2010-04,London,sd,50,10,40", "disagrees with numerator/denominator", "value"),
        ("2010-04,London,cash_seized,,,", "value is blank", "value"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_csv, row, message, column):
    with pytest.raises(DataValidationError) as raised:
        extracts.read_extract(tmp_csv("x.csv", HEADER + row + "\n"))
    assert message in str(raised.value)
    assert (raised.value.file, raised.value.row, raised.value.column) == ("x.csv", 2, column)


def test_duplicate_rows_and_missing_column(tmp_csv):
    with pytest.raises(DataValidationError, match=r"duplicate row .*\(also line 2\)"):
        extracts.read_extract(tmp_csv("d.csv", HEADER + "2010-04,London,m,1,,\n" * 2))
    with pytest.raises(DataValidationError, match="missing required column 'value'"):
        extracts.read_extract(tmp_csv("c.csv", "month,geography,measure\n2010-04,London,m\n"))


def test_sample_is_marked_synthetic_and_valid():
    table = extracts.load_extracts("sample")
    assert table["synthetic"].all()
    assert table["month"].min() == pd.Period("2009-04", "M")
    # The shipped file is exactly what the documented generator makes.
    regenerated = extracts.make_sample_extract()
    assert len(regenerated) == len(table)
    assert (
        regenerated["value"].astype(float).round(2).to_numpy() == table["value"].round(2).to_numpy()
    ).all()


def test_no_extracts_folder_gives_empty_table(monkeypatch, tmp_path):
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path))
    assert extracts.load_extracts("").empty
