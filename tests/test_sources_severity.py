"""Tests for mpsanalysis.ingest.sources.severity: hand-made weight files, then the real ones."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from mpsanalysis import paths
from mpsanalysis.errors import DataValidationError, ParameterError
from mpsanalysis.ingest.sources import severity
from mpsanalysis.stats import harm

HEADER = (
    "ONS_COUNTS_category,ONS_COUNTS_description,ONS_COUNTS_code,ONS_SEVERITY_weight,"
    "POLICE_UK_CAT_MAP_code,POLICE_UK_CAT_MAP_category"
)
ROWS = [
    "criminal damage and arson,Arson endangering life,56A,826.19,56/1,Criminal Damage and Arson",
    "criminal damage and arson,Arson not endangering life,56B,186.67,56/2,Criminal Damage and Arson",
    "violence,Causing death by careless driving under influence,4.6,1512.0,43986,Violence",
    "violence,Racially aggravated assault with injury,8P,312.9,22129,Violence",
    "violence,Murder,1,7973.39,43831,Violence",
    "violence,Homicide,1/4.1/4.10/4.2,7973.39,43831,Violence",
]


def write(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture
def weights(tmp_path):
    return severity.read_css_weights(write(tmp_path, "css.csv", HEADER, ROWS))


def test_read_weights_repairs_spreadsheet_dates(weights):
    assert list(weights.columns) == severity.SEVERITY_COLUMNS
    # the summary row listing four codes is left out
    assert weights["offence_code"].tolist() == ["56A", "56B", "4.6", "8P", "1"]
    codes = weights.set_index("offence_code")
    # 43986 days after 30 Dec 1899 is 4 June 2020 -> "4/6"; 22129 is 1 August 1960 ->
    # "8/60"; 43831 is 1 January 2020 -> "1/1"
    assert codes.loc["4.6", "policeuk_code"] == "4/6"
    assert codes.loc["8P", "policeuk_code"] == "8/60"
    assert codes.loc["1", "policeuk_code"] == "1/1"
    assert codes["policeuk_code_repaired"].tolist() == [False, False, True, True, True]
    assert codes.loc["4.6", "policeuk_code_published"] == "43986"


@pytest.mark.parametrize(
    "row, column, message",
    [
        ("theft,Shoplifting,46,-11.8,46,Shoplifting", "ONS_SEVERITY_weight", "is negative"),
        ("theft,Shoplifting,46,heavy,46,Shoplifting", "ONS_SEVERITY_weight", "is not a number"),
        ("theft,Shoplifting,46,0,46,Shoplifting", "ONS_SEVERITY_weight", "is not positive"),
        ("theft,Arson twice,56A,5.0,56/1,Arson", "ONS_SEVERITY_weight", "two different weights"),
    ],
)
def test_bad_weight_rows(tmp_path, row, column, message):
    path = write(tmp_path, "bad.csv", HEADER, [ROWS[0], row])
    with pytest.raises(DataValidationError) as info:
        severity.read_css_weights(path)
    assert (info.value.row, info.value.column) == (3, column)
    assert message in str(info.value)


def test_renamed_weight_column(tmp_path):
    path = write(tmp_path, "r.csv", HEADER.replace("ONS_SEVERITY_weight", "weight"), ROWS)
    with pytest.raises(DataValidationError, match="missing required column 'ONS_SEVERITY_weight'"):
        severity.read_css_weights(path)


def test_minor_category_weights(weights):
    counts = pd.Series({"56A": 100, "56B": 900})
    got = severity.map_minor_category_weights(
        weights, counts, categories=["Arson", "ARSON", "Nfib", "Homicide"]
    ).set_index("minor_category")
    # (100 x 826.19 + 900 x 186.67) / 1,000 = 82.619 + 168.003 = 250.622
    assert got.loc["Arson", "severity_weight"] == pytest.approx(250.622)
    assert got.loc["ARSON", "severity_weight"] == pytest.approx(250.622)  # any spelling
    assert got.loc["Arson", "weighting"] == "offence-count weighted mean"
    assert not got.loc["Nfib", "is_mapped"] and got.loc["Nfib", "weighting"] == "no mapping"
    # Homicide covers 1, 4.1, 4.2, 4.10; only 1 has a weight in this file, no counts:
    # unweighted mean of the one weight, and the missing codes are named.
    assert got.loc["Homicide", "severity_weight"] == 7973.39
    assert got.loc["Homicide", "weighting"] == "unweighted mean"
    assert "no weight for 4.1, 4.2, 4.10" in got.loc["Homicide", "note"]
    unweighted = severity.map_minor_category_weights(weights, categories=["Arson"])
    # (826.19 + 186.67) / 2 = 506.43
    assert unweighted["severity_weight"].iloc[0] == pytest.approx(506.43)
    with pytest.raises(ParameterError, match="'Cyber Crime' has no entry"):
        severity.map_minor_category_weights(weights, categories=["Cyber Crime"])


def test_compute_harm_weighted_keeps_other_columns(weights):
    counts = pd.DataFrame(
        {
            "force_name": ["Kent", "Kent", "Kent"],
            "offence_code": ["56A", "1", "AF"],
            "count": [2, 1, 10],
        }
    )
    got = harm.compute_harm_weighted(counts, weights)
    # 2 x 826.19 = 1,652.38; 1 x 7,973.39; AF (fraud) has no weight -> NaN, not 0
    assert got["harm"].tolist()[:2] == pytest.approx([1652.38, 7973.39])
    assert pd.isna(got["harm"].iloc[2]) and got["has_weight"].tolist() == [True, True, False]
    assert got["force_name"].tolist() == ["Kent"] * 3
    with pytest.raises(ParameterError, match="must be a Series"):
        harm.compute_harm_weighted([1, 2], weights)


def test_cchi_weights(tmp_path):
    header = "category,prc_subgroup,cchi_days,national_count_2024_25"
    good = write(tmp_path, "c.csv", header, ["Robbery,Robbery of personal property,365.0,62281"])
    assert severity.read_cchi_weights(good)["cchi_days"].tolist() == [365.0]
    bad = write(tmp_path, "d.csv", header, ["Robbery,Robbery of personal property,-1,62281"])
    with pytest.raises(DataValidationError, match="days '-1' is negative"):
        severity.read_cchi_weights(bad)


def test_build_severity_reports_repairs(tmp_path):
    write(tmp_path / "css", "ons_css_weights_policeuk_join.csv", HEADER, ROWS)
    tables, log = severity.build_severity(tmp_path / "css")
    text = " ".join(log["warnings"])
    assert "3 police.uk codes had been turned into spreadsheet date serials" in text
    assert "1 summary row(s) list several codes (1/4.1/4.10/4.2)" in text
    assert set(tables) == {"severity_weights", "severity_minor_categories"}


# --------------------------------------------------------------------------- real data

MIRROR = paths.default_mirror()


@pytest.fixture(scope="module")
def real():
    if MIRROR is None:
        pytest.skip("no ../shared/data mirror")
    return severity.build_severity(
        MIRROR / "ons" / "crime-severity-weights",
        MIRROR / "other" / "cambridge-crime-harm-index",
        MIRROR / "home-office" / "prc-pfa-2019-20",
    )


@pytest.mark.realdata
def test_real_weights(real):
    tables, log = real
    weights = tables["severity_weights"].set_index("offence_code")
    # PROVENANCE: 134 rows (one a summary of the four homicide codes); arson endangering
    # life weighs 826.19.
    assert len(weights) == 133
    assert weights.loc["56A", "severity_weight"] == pytest.approx(826.19, abs=0.005)
    assert weights.loc["4.6", "policeuk_code"] == "4/6"
    assert weights["policeuk_code_repaired"].sum() == 24
    assert len(tables["cchi_weights"]) == 23  # PROVENANCE: 23 rows
    assert any("spreadsheet date serials" in w for w in log["warnings"])


@pytest.mark.realdata
def test_real_every_published_minor_category_is_mapped(real):
    tables, _ = real
    names = set()
    for folder in ("borough-crime", "ward-crime"):
        for path in sorted((MIRROR / "london-datastore" / folder).glob("*.csv")):
            if "oldclass" in path.name:
                continue
            with open(path, newline="", encoding="utf-8") as handle:
                names |= {r["MinorText"] for r in csv.DictReader(handle)}
    weights = tables["severity_weights"]
    got = severity.map_minor_category_weights(weights, categories=sorted(names))
    unmapped = set(got.loc[~got["is_mapped"], "minor_category"].str.casefold())
    assert unmapped == {"historical fraud and forgery", "fraud and forgery", "nfib"}
    homicide = got[got["minor_category"].str.casefold() == "homicide"]
    assert homicide["severity_weight"].round(2).unique().tolist() == [7973.39]
