"""Borough crime loaders on small hand-made files; expected values worked by hand."""

import pandas as pd
import pytest

from mpsanalysis.errors import DataValidationError
from mpsanalysis.ingest import loaders

from .conftest import NEW_HEADER, OLD_HEADER

NEW = (
    f"{NEW_HEADER},201004,201005,201006\n"
    "Robbery,Robbery of Personal Property,Lambeth,120,98,101\n"
    "Robbery,Robbery of Personal Property,Westminster,200,210,190\n"
    "Violence Against the Person,Homicide,Lambeth,1,0,2\n"
)
OLD = (
    f"{OLD_HEADER},201004,201005\n"
    "Lambeth,Robbery,Personal Property,150,140\n"
    "Lambeth,Violence Against the Person,Murder,1,1\n"
)


def test_new_classification_tidy_table(tmp_csv):
    tidy = loaders.read_borough_crime(tmp_csv("new.csv", NEW))
    assert list(tidy.columns) == loaders.TIDY_COLUMNS
    assert len(tidy) == 3 * 3  # 3 rows x 3 months
    assert set(tidy["classification"]) == {"new"}
    assert set(tidy["source_file"]) == {"new.csv"}
    lambeth_robbery = tidy[(tidy.borough_name == "Lambeth") & (tidy.major_category == "Robbery")]
    assert lambeth_robbery["count"].tolist() == [120, 98, 101]
    assert lambeth_robbery["month"].tolist() == [
        pd.Period(m, "M") for m in ("2010-04", "2010-05", "2010-06")
    ]
    assert set(tidy["borough_code"]) == {"E09000022", "E09000033"}  # Lambeth, Westminster
    # London total for May 2010: 98 + 210 + 0 = 308
    assert tidy.loc[tidy.month == pd.Period("2010-05", "M"), "count"].sum() == 308


def test_old_classification(tmp_csv):
    tidy = loaders.read_borough_crime(tmp_csv("old.csv", OLD))
    assert set(tidy["classification"]) == {"old"}
    assert tidy["count"].sum() == 150 + 140 + 1 + 1


def test_renamed_borough_column_of_newest_file(tmp_csv):
    text = NEW.replace("LookUp_BoroughName", "BoroughName")
    tidy = loaders.read_borough_crime(tmp_csv("newest.csv", text))
    assert tidy["count"].sum() == 120 + 98 + 101 + 200 + 210 + 190 + 1 + 0 + 2


@pytest.mark.parametrize(
    "text, message, line, column",
    [
        (NEW.replace("Westminster", "Narnia"), "unknown borough 'Narnia'", 3, "LookUp_BoroughName"),
        (NEW.replace(",98,", ",-98,"), "count '-98' is negative", 2, "201005"),
        (NEW.replace(",98,", ",9.5,"), "is not a whole number", 2, "201005"),
        (NEW.replace(",98,", ",lots,"), "is not a number", 2, "201005"),
        (NEW.replace(",98,", ",,"), "is blank", 2, "201005"),
        (NEW.replace("201005", "2010-05"), "is not a month", 1, "2010-05"),
        (NEW.replace("201005", "201013"), "is not a month", 1, "201013"),
        (NEW + "Robbery,Robbery of Personal Property,Lambeth,1,2,3\n", "duplicate rows", 5, None),
    ],
)
def test_validation_names_file_line_and_column(tmp_csv, text, message, line, column):
    with pytest.raises(DataValidationError) as raised:
        loaders.read_borough_crime(tmp_csv("bad.csv", text))
    error = raised.value
    assert message in str(error)
    assert error.file == "bad.csv"
    assert error.row == line
    assert error.column == column
    assert str(error).startswith("bad.csv, line ")


def test_missing_required_column(tmp_csv):
    text = (
        NEW.replace("MinorText,", "")
        .replace("Robbery of Personal Property,", "")
        .replace("Homicide,", "")
    )
    with pytest.raises(DataValidationError, match="missing required column 'MinorText'"):
        loaders.read_borough_crime(tmp_csv("bad.csv", text))


def test_unknown_label_is_kept_as_its_own_pseudo_borough(tmp_csv):
    tidy = loaders.read_borough_crime(tmp_csv("u.csv", NEW.replace("Westminster", "Unknown")))
    unknown = tidy[tidy.borough_name == "Unknown"]
    assert unknown["count"].tolist() == [200, 210, 190]
    assert set(unknown["borough_code"]) == {"X00000000"}


def _frame(name, months, value, classification="new"):
    idx = pd.PeriodIndex(months, freq="M")
    return pd.DataFrame(
        {
            "month": idx,
            "borough_code": "E09000022",
            "borough_name": "Lambeth",
            "classification": classification,
            "major_category": "Robbery",
            "minor_category": "Robbery of Personal Property",
            "count": value,
            "source_file": name,
        }
    )


def test_newer_vintage_wins_overlapping_months():
    older = _frame("older.csv", ["2021-10", "2021-11", "2021-12"], 5)
    newer = _frame("newer.csv", ["2021-12", "2022-01"], 7)
    combined, vintages = loaders.combine_vintages([newer, older])
    by_month = combined.set_index("month")["count"]
    # Dec 2021 is in both: the newer file (last month Jan 2022) wins with 7.
    assert by_month.to_dict() == {
        pd.Period("2021-10", "M"): 5,
        pd.Period("2021-11", "M"): 5,
        pd.Period("2021-12", "M"): 7,
        pd.Period("2022-01", "M"): 7,
    }
    older_row = vintages.set_index("source_file").loc["older.csv"]
    assert (older_row.months_used, older_row.months_superseded) == (2, 1)


def test_classifications_are_never_combined():
    old = _frame("old.csv", ["2010-04"], 150, "old")
    new = _frame("new.csv", ["2010-04"], 120, "new")
    combined, _ = loaders.combine_vintages([old, new])
    assert sorted(combined["count"].tolist()) == [120, 150]  # both kept, apart
    assert combined.groupby("classification")["count"].sum().to_dict() == {"new": 120, "old": 150}


def test_missing_month_is_a_gap_not_zero():
    frame = _frame("a.csv", ["2023-10", "2023-11", "2024-01"], 3)
    gaps = loaders.find_missing_months(frame)
    assert gaps["month"].tolist() == [pd.Period("2023-12", "M")]


@pytest.mark.realdata
def test_real_files_load_and_show_the_known_gap(shared_data):
    folder = shared_data / "london-datastore" / "borough-crime"
    tables = [loaders.read_borough_crime(p) for p in sorted(folder.glob("*.csv"))]
    combined, vintages = loaders.combine_vintages(tables)
    gaps = loaders.find_missing_months(combined)
    assert gaps.values.tolist() == [["new", pd.Period("2023-12", "M")]]
    spans = combined.groupby("classification")["month"].agg(["min", "max"])
    assert str(spans.loc["old", "min"]) == "2008-01" and str(spans.loc["old", "max"]) == "2018-12"
    assert str(spans.loc["new", "min"]) == "2010-04" and str(spans.loc["new", "max"]) == "2025-12"
    # Independent check: London VAP April 2010 from the raw file with plain pandas.
    raw = pd.read_csv(folder / "MPS_Borough_Level_Crime_Historical_201004-202111.csv")
    expected = raw.loc[raw["MajorText"] == "Violence Against the Person", "201004"].sum()
    got = combined[
        (combined.classification == "new")
        & (combined.month == pd.Period("2010-04", "M"))
        & (combined.major_category == "Violence Against the Person")
    ]["count"].sum()
    assert got == expected
