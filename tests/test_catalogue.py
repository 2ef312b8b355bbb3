"""The objective catalogue: the shipped YAML is valid and errors name what is wrong."""

import pytest

from mpsanalysis.errors import CatalogueError, ParameterError
from mpsanalysis.measures import catalogue

REQUIRED_OBJECTIVES = {
    "serious-violence",
    "protect-young-people",
    "criminal-networks",
    "gun-crime",
    "drugs-supply",
    "homicide",
    "sexual-offences",
    "robbery",
    "confidence-and-outcomes",
}

BASE = """
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


def test_shipped_catalogue_has_every_objective():
    loaded = catalogue.load_catalogue()
    assert REQUIRED_OBJECTIVES <= set(loaded)
    for objective in loaded.values():
        assert objective.measures, objective.id


def test_reference_targets_are_in_the_catalogue():
    robbery = catalogue.get_objective("robbery").measure("personal-robbery")
    assert (robbery.target.type, robbery.target.percent) == ("reduction", 7.0)
    sd = catalogue.get_objective("confidence-and-outcomes").measure("sanction-detection-rate")
    assert (sd.target.type, sd.target.percent) == ("minimum-rate", 20.0)
    gun = catalogue.get_objective("gun-crime").measure("gun-enabled-crime")
    # The plan's 11 "gun boroughs" are not named in the reference documents: the target
    # is kept, with why it cannot be assessed, and no list of boroughs is made up.
    assert (gun.target.type, gun.target.percent) == ("reduction", 5.0)
    assert gun.target_geography == () and "do not name them" in gun.target_unassessable
    disruptions = catalogue.get_objective("criminal-networks").measure(
        "criminal-network-disruptions"
    )
    assert disruptions.target.value == 225
    assert disruptions.target_years == ("2007/08",)
    assert disruptions.target_geography == ("London",)


def test_no_placeholder_is_left_in_the_catalogue():
    text = catalogue.CATALOGUE_PATH.read_text(encoding="utf-8").lower()
    for placeholder in ("set this year", "to be replaced", "assumption", "todo", "tbc"):
        assert placeholder not in text, placeholder


def test_proxy_measures_are_labelled():
    proxy = catalogue.get_objective("gun-crime").measure("firearms-possession")
    assert proxy.proxy and "Proxy" in proxy.notes


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("unit: count", "unit: pounds"),
            "objective 'robbery', measure 'personal-robbery': field 'unit' is 'pounds'",
        ),
        (("direction: down", "direction: sideways"), "field 'direction' is 'sideways'"),
        (
            ("    title: Reduce personal robbery\n", ""),
            "objective 'robbery': field 'title' is missing",
        ),
        (("{new: [", "{newest: ["), "unknown classification 'newest'"),
        (("percent: 7", "percent: 700"), "field 'target': a reduction target needs 'percent'"),
        (
            ("source: borough-crime", "source: extract"),
            "measure 'personal-robbery': field 'extract_measure' is missing",
        ),
        (("direction: down", "direction: neutral"), "needs direction up or down"),
        (("measures:", "measure:"), "objective 'robbery': field 'measures' is missing"),
    ],
)
def test_malformed_catalogue_names_objective_and_field(change, message):
    with pytest.raises(CatalogueError) as raised:
        catalogue.parse_catalogue(BASE.replace(*change), "bad.yaml")
    assert message in str(raised.value)
    assert str(raised.value).startswith("bad.yaml: ")


def test_unsafe_yaml_is_refused():
    with pytest.raises(CatalogueError, match="not valid YAML"):
        catalogue.parse_catalogue("objectives: !!python/object/apply:os.system ['true']")


def test_unknown_objective_lists_valid_ids():
    with pytest.raises(ParameterError, match="expected one of serious-violence"):
        catalogue.get_objective("../../etc/passwd")


def test_added_measure_is_picked_up_from_yaml(tmp_path):
    text = (
        BASE
        + """      - id: business-robbery
        title: Robbery of business property
        unit: count
        direction: down
        source: borough-crime
        categories: {new: [{major: Robbery, minor: [Robbery of Business Property]}]}
"""
    )
    path = tmp_path / "objectives.yaml"
    path.write_text(text)
    measures = catalogue.load_catalogue(path)["robbery"].measures
    assert [m.id for m in measures] == ["personal-robbery", "business-robbery"]


def test_docs_measures_is_generated_from_the_catalogue():
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "measures.md"
    assert doc.read_text() == catalogue.catalogue_markdown() + "\n", (
        "docs/measures.md is out of date: regenerate it (command at the top of the file)"
    )


SECTIONS = """    sections:
      funnel: {measure: personal-robbery}
      forces: {offences: Robbery of personal property, title: Robbery, per: 1000}
      evaluation: {measure: personal-robbery, start: "2011-04", geography: Lambeth}
"""
WITH_SECTIONS = BASE.replace("    lead: TP\n", "    lead: TP\n" + SECTIONS)


def test_section_arguments_come_from_the_catalogue():
    sections = catalogue.parse_catalogue(WITH_SECTIONS)["robbery"].sections
    assert sections["funnel"] == {"measure": "personal-robbery"}
    assert sections["forces"]["per"] == 1000
    assert sections["evaluation"]["start"] == "2011-04"


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("funnel: {measure: personal-robbery}", "funnel: {measure: robbery}"),
            "objective 'robbery', section 'funnel': field 'measure' is 'robbery'",
        ),
        (("funnel:", "funel:"), "objective 'robbery', section 'funel': unknown section"),
        (("per: 1000", "per: 0"), "section 'forces': field 'per' must be a positive"),
        (("per: 1000", "per: lots"), "section 'forces': field 'per' must be int, not str"),
        ((", title: Robbery", ""), "section 'forces': field 'title' is missing"),
        (
            ("offences: Robbery of personal property", "offences: []"),
            "section 'forces': field 'offences' must be a name or a list of names",
        ),
        (
            ("offences: Robbery of personal property", "offences: [Robbery, 81]"),
            "section 'forces': field 'offences' must be a name or a list of names",
        ),
        (('start: "2011-04"', 'start: "April 2011"'), "section 'evaluation': field 'start'"),
        (("geography: Lambeth", "geography: Atlantis"), "section 'evaluation':"),
        (
            ("{measure: personal-robbery}", "{measure: personal-robbery, colour: red}"),
            "section 'funnel': unknown field(s) colour",
        ),
    ],
)
def test_malformed_section_arguments_name_objective_section_and_field(change, message):
    with pytest.raises(CatalogueError) as raised:
        catalogue.parse_catalogue(WITH_SECTIONS.replace(*change), "bad.yaml")
    assert message in str(raised.value)


def test_shipped_section_arguments_match_the_former_notebook_calls():
    """The values typed into the notebooks before they moved to the catalogue."""
    objectives = catalogue.load_catalogue()
    sv = objectives["serious-violence"].sections
    assert sv["evaluation"] == {
        "measure": "violence-with-injury",
        "start": "2011-04",
        "geography": "Waltham Forest",
        "operation": "Operation Connect",
    }
    assert objectives["gun-crime"].sections["forces"]["per"] == 100000
    assert objectives["gun-crime"].sections["forces"]["offences"] == (
        "Possession of firearms with intent",
        "Possession of firearms offences",
        "Other firearms offences",
    )
    assert objectives["homicide"].sections["forces"]["per"] == 100000
    assert objectives["robbery"].sections["wards"] == {"measure": "personal-robbery"}
    assert objectives["drugs-supply"].sections["map"] == {"measure": "drug-trafficking"}


def test_force_comparisons_use_the_rate_base_of_the_objectives_measures():
    """Session 10: the drugs and sexual offences reports ranked boroughs per 1,000
    residents and compared forces per 10,000, two rate bases on one page for the same
    offences. Every force comparison now uses a rate base one of its measures uses."""
    for objective in catalogue.load_catalogue().values():
        forces = objective.sections.get("forces")
        if forces:
            assert forces.get("per", 1000) in {m.rate_per for m in objective.measures}, objective.id
