"""Source-based report sections against independent computations on the raw files."""

import re

import pandas as pd
import pytest

from mpsanalysis.report import objective as report
from mpsanalysis.report import sections

pytestmark = pytest.mark.realdata


def _cells(html, row_header):
    match = re.search(
        rf'<th scope="row">{re.escape(row_header)}</th>((?:<td[^>]*>[^<]*</td>)+)', html
    )
    assert match, f"no row {row_header}"
    return re.findall(r"<td[^>]*>([^<]*)</td>", match.group(1))


@pytest.fixture(scope="module")
def london_2010(real_store):
    return report.ObjectiveReport("homicide", "2010-10")


def test_homicide_victims_and_solved_rate_match_the_raw_file(london_2010, shared_data):
    raw = pd.read_csv(
        shared_data / "london-datastore" / "homicide" / "homicide_victims_2003-2020.csv"
    )
    year = raw["Recorded Date"].str[-4:].astype(int)
    in_2008 = raw[year == 2008]
    victims = int(in_2008["Count of Victims"].sum())
    solved = int(in_2008.loc[in_2008["Solved Status"] == "Solved", "Count of Victims"].sum())
    cells = _cells(sections.homicide_html(london_2010), "2008")
    assert cells[0] == f"{victims:,}" and cells[1] == f"{solved:,}"
    assert cells[2] == f"{solved / victims * 100:.1f}%"


def test_young_victims_are_the_three_bands_under_25(london_2010, shared_data):
    raw = pd.read_csv(
        shared_data / "london-datastore" / "homicide" / "homicide_victims_2003-2020.csv"
    )
    in_2009 = raw[raw["Recorded Date"].str.endswith("2009")]
    young = int(
        in_2009.loc[
            in_2009["Age Group"].isin(["0 to 12", "13 to 19", "20 to 24"]), "Count of Victims"
        ].sum()
    )
    cells = _cells(sections.young_victims_html(london_2010), "2009")
    assert cells[0] == f"{young:,}"


def test_demographic_tables_suppress_small_counts(london_2010):
    html = sections.homicide_html(london_2010)
    assert "[c]" in html  # e.g. victims aged 0 to 12 in a single year are fewer than 10


def test_force_comparison_rate_from_the_raw_file(london_2010, shared_data):
    raw = pd.read_csv(
        shared_data
        / "home-office"
        / "prc-pfa-2019-20"
        / "prc_pfa_offence_counts_2019-20_quarterly.csv"
    )
    met = raw[
        (raw["Force Name"] == "Metropolitan Police")
        & (raw["Offence Subgroup"] == "Robbery of personal property")
    ]
    offences = int(met["Number of Offences"].sum())
    html = sections.force_comparison_html(london_2010, "Robbery of personal property", "Robbery")
    cells = _cells(html, "Metropolitan Police")
    assert cells[0] == f"{offences:,}"
    population = float(cells[0].replace(",", "")) / float(cells[1].replace(",", "")) * 1000
    assert 8.5e6 < population < 9.5e6  # ONS: about 8.95 million in 2019


def test_outcomes_section_warns_about_the_filtered_files(london_2010):
    html = sections.outcomes_html(london_2010)
    assert "burglary only" in html
    assert "does not show how long outcomes take" in html or "cannot be measured" in html


def test_ward_concentration_is_consistent(real_store):
    r = report.ObjectiveReport("robbery", "2025-12")
    html = sections.ward_concentration_html(r, "personal-robbery")
    match = re.search(r"(\d+) of (\d+) wards in London \(([\d.]+)%\) held a quarter", html)
    assert match
    n, total, share = int(match.group(1)), int(match.group(2)), float(match.group(3))
    assert share == pytest.approx(n / total * 100, abs=0.05)
    assert 600 < total < 700


def test_sections_say_when_a_source_is_missing(real_store, monkeypatch, tmp_path):
    monkeypatch.setenv("MPSANALYSIS_DATA_DIR", str(tmp_path))
    r = report.ObjectiveReport.__new__(report.ObjectiveReport)  # no store needed
    r.geography, r.period_end = "London", pd.Period("2010-10", "M")
    assert "not in the processed store" in sections.homicide_html(r)
    assert "not in the processed store" in sections.stop_search_html(r)


def test_homicide_years_without_victims_are_zero_rows_and_columns(real_store, shared_data):
    """Sutton had homicide victims in 2020 but none in 2018 or 2019 (found by the full
    --geography all run, where the breakdown tables failed on the missing year column)."""
    raw = pd.read_csv(
        shared_data / "london-datastore" / "homicide" / "homicide_victims_2003-2020.csv"
    )
    year = raw["Recorded Date"].str[-4:].astype(int)
    sutton = raw[raw["Borough"].str.casefold().eq("sutton")]
    by_year = sutton.groupby(year[sutton.index])["Count of Victims"].sum()
    empty = [y for y in (2018, 2019, 2020) if by_year.get(y, 0) == 0]
    assert empty, "the raw file no longer has a year without victims in Sutton"
    html = sections.homicide_html(report.ObjectiveReport("homicide", "2021-03", "Sutton"))
    for y in empty:
        assert _cells(html, str(y))[:3] == ["0", "0", "no victims"]
    header = re.search(r"by age group, Sutton, 2018 to 2020.*?</thead>", html, re.S)
    assert header and all(f">{y}<" in header.group(0) for y in (2018, 2019, 2020))
