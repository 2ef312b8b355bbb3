"""The objective catalogue: objectives, their measures, definitions and targets.

The catalogue is one YAML file (``mpsanalysis/measures/objectives.yaml``), loaded safely and
validated on load, with errors that name the objective, the measure and the field.
Analysts add or change a measure by editing the YAML, never the code.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from mpsanalysis.boroughs import validate_geography
from mpsanalysis.errors import CatalogueError, ParameterError

__all__ = [
    "CATALOGUE_PATH",
    "UNITS",
    "DIRECTIONS",
    "SOURCES",
    "RATES_PER",
    "CLASSIFICATIONS",
    "CategoryFilter",
    "Target",
    "Measure",
    "Objective",
    "load_catalogue",
    "get_objective",
    "objective_ids",
]

CATALOGUE_PATH = Path(__file__).with_name("objectives.yaml")

#: What happened at one of the catalogue's rebase points (``spc_rebase``), in words true
#: of every one of them (the 2017-18 release renamed minor categories, the 2024 release
#: regrouped them). Whether a measure's own count changed there is not known from the
#: files: no month is published in both groupings.
REBASE_REASON = "when the publisher renamed or regrouped its crime categories"
UNITS = ("count", "rate", "proportion", "money")
DIRECTIONS = ("down", "up", "neutral")
SOURCES = ("borough-crime", "extract")
#: The residents a borough rate may be per (a measure's ``rate_per``).
RATES_PER = (1000, 100000)
CLASSIFICATIONS = ("old", "new")
TARGET_TYPES = ("reduction", "minimum-rate", "maximum-rate", "absolute")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class CategoryFilter:
    """Rows of one major category, optionally restricted to some minor categories."""

    major: str
    minor: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """A measure's target.

    ``reduction``: ``percent`` fall on the same period last year. ``minimum-rate`` /
    ``maximum-rate``: a rate of at least / at most ``percent``. ``absolute``: a figure
    ``value`` for the year, to reach (direction up) or stay under (direction down).
    """

    type: str
    percent: float | None = None
    value: float | None = None
    period: str = "year"

    def describe(self, direction: str) -> str:
        """Plain-English statement of the target.

        Examples
        --------
        >>> Target("reduction", percent=7).describe("down")
        '7% reduction on last year'
        >>> Target("absolute", value=225).describe("up")
        'at least 225 in the year'
        """
        if self.type == "reduction":
            return f"{self.percent:g}% reduction on last year"
        if self.type == "minimum-rate":
            return f"rate of at least {self.percent:g}%"
        if self.type == "maximum-rate":
            return f"rate of at most {self.percent:g}%"
        word = "at least" if direction == "up" else "at most"
        return f"{word} {self.value:,.0f} in the {self.period}"


@dataclass(frozen=True)
class Measure:
    """One measure of an objective."""

    id: str
    title: str
    unit: str
    direction: str
    source: str
    categories: dict[str, tuple[CategoryFilter, ...]] = field(default_factory=dict)
    extract_measure: str | None = None
    target: Target | None = None
    target_geography: tuple[str, ...] = ()
    #: The financial years (``2007/08``) the plan set the target for; other years are
    #: not assessed against it. Empty: every year.
    target_years: tuple[str, ...] = ()
    #: Why the plan's target cannot be assessed from these data at all (shown as the
    #: status's reason); empty when it can.
    target_unassessable: str = ""
    proxy: bool = False
    notes: str = ""
    #: Months at which the SPC limits start again, per classification (e.g. a release
    #: that regrouped minor categories): the catalogue's ``spc_rebase`` default unless
    #: the measure sets its own.
    spc_rebase: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Borough rates are per this many residents (:data:`RATES_PER`): 100,000 for a rare
    #: offence such as homicide, whose rates per 1,000 would all show as 0.00.
    rate_per: int = 1000

    def rebase_points(self, classification: str | None) -> tuple[str, ...]:
        """The SPC rebase months (``YYYY-MM``) of one classification of this measure.

        Examples
        --------
        >>> Measure("m", "M", "count", "down", "borough-crime",
        ...         spc_rebase={"new": ("2024-01",)}).rebase_points("new")
        ('2024-01',)
        """
        return self.spc_rebase.get(classification or "", ())

    def describe_categories(self) -> str:
        """Which published categories make up the measure, per classification."""
        parts = []
        for classification, filters in self.categories.items():
            names = []
            for f in filters:
                names.append(f"{f.major}: {', '.join(f.minor)}" if f.minor else f"{f.major} (all)")
            parts.append(f"{classification} classification: {' + '.join(names)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Objective:
    """An objective of a policing plan and its measures."""

    id: str
    title: str
    plan: str
    lead: str
    measures: tuple[Measure, ...]
    #: Arguments of the report sections beyond the core ones, by section name (e.g.
    #: ``{"funnel": {"measure": "personal-robbery"}}``); see :data:`SECTION_FIELDS`.
    sections: dict[str, dict[str, object]] = field(default_factory=dict)

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise ParameterError(f"objective {self.id!r} has no measure {measure_id!r}")


#: Section fields that may also be a list of names (their union): the force
#: comparison's Home Office offences, e.g. the three firearms offence descriptions.
LIST_FIELDS = frozenset({"offences"})

#: The report sections an objective can configure, and their fields: (name, type,
#: required). ``measure`` names one of the objective's measures; ``start`` is a month.
SECTION_FIELDS: dict[str, tuple[tuple[str, type, bool], ...]] = {
    "funnel": (("measure", str, True),),
    "map": (("measure", str, True),),
    "wards": (("measure", str, True),),
    "harm": (),
    "forces": (("offences", str, True), ("title", str, True), ("per", int, False)),
    "homicide": (),
    "young-victims": (),
    "stop-search": (),
    "outcomes": (),
    "evaluation": (
        ("measure", str, True),
        ("start", str, True),
        ("geography", str, False),
        ("operation", str, False),
    ),
}


def _parse_sections(raw, where: str, measure_ids: list[str]) -> dict[str, dict[str, object]]:
    """Validate an objective's ``sections`` mapping (section name to its fields)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(where, "field 'sections' must map a section name to its fields")
    parsed: dict[str, dict[str, object]] = {}
    for name, fields in raw.items():
        here = f"{where}, section '{name}'"
        if name not in SECTION_FIELDS:
            raise _fail(here, f"unknown section: expected one of {', '.join(SECTION_FIELDS)}")
        fields = {} if fields is None else fields
        if not isinstance(fields, dict):
            raise _fail(here, "must be a mapping of fields, e.g. {measure: personal-robbery}")
        spec = SECTION_FIELDS[name]
        unknown = set(fields) - {f for f, _, _ in spec}
        if unknown:
            raise _fail(here, f"unknown field(s) {', '.join(sorted(unknown))}")
        for key, kind, required in spec:
            if key not in fields or fields[key] in (None, ""):
                if required:
                    raise _fail(here, f"field '{key}' is missing")
                continue
            value = fields[key]
            if key in LIST_FIELDS and isinstance(value, list):
                if not value or not all(isinstance(v, str) and v for v in value):
                    raise _fail(here, f"field '{key}' must be a name or a list of names")
                fields[key] = tuple(value)
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                raise _fail(
                    here, f"field '{key}' must be {kind.__name__}, not {type(value).__name__}"
                )
        if "measure" in fields and fields["measure"] not in measure_ids:
            raise _fail(
                here,
                f"field 'measure' is {fields['measure']!r}: expected one of the objective's "
                f"measures ({', '.join(measure_ids)})",
            )
        if "per" in fields and fields["per"] <= 0:
            raise _fail(here, "field 'per' must be a positive whole number, e.g. 1000")
        if "start" in fields and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", str(fields["start"])):
            raise _fail(here, f"field 'start' is {fields['start']!r}: expected a month, YYYY-MM")
        if fields.get("geography"):
            try:
                validate_geography(str(fields["geography"]), "geography")
            except ParameterError as exc:
                raise _fail(here, str(exc)) from None
        parsed[str(name)] = dict(fields)
    return parsed


def _fail(where: str, message: str) -> CatalogueError:
    return CatalogueError(f"{where}: {message}")


def _require(data: dict, key: str, where: str, kind: type = str):
    if key not in data or data[key] in (None, ""):
        raise _fail(where, f"field '{key}' is missing")
    value = data[key]
    if not isinstance(value, kind):
        raise _fail(where, f"field '{key}' must be {kind.__name__}, not {type(value).__name__}")
    return value


def _choice(data: dict, key: str, allowed: tuple[str, ...], where: str) -> str:
    value = _require(data, key, where)
    if value not in allowed:
        raise _fail(where, f"field '{key}' is {value!r}: expected one of {', '.join(allowed)}")
    return value


def _parse_target(raw, where: str) -> Target | None:
    if raw is None:
        return None
    where = f"{where}, field 'target'"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a mapping such as {type: reduction, percent: 5}")
    unknown = set(raw) - {"type", "percent", "value", "period"}
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    kind = _choice(raw, "type", TARGET_TYPES, where)
    if kind == "absolute":
        value = raw.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise _fail(where, "an absolute target needs 'value', a non-negative number")
        return Target(kind, value=float(value), period=str(raw.get("period", "year")))
    percent = raw.get("percent")
    if not isinstance(percent, int | float) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise _fail(where, f"a {kind} target needs 'percent', a number from 0 to 100")
    return Target(kind, percent=float(percent))


def _parse_categories(raw, where: str) -> dict[str, tuple[CategoryFilter, ...]]:
    where = f"{where}, field 'categories'"
    if not isinstance(raw, dict) or not raw:
        raise _fail(where, "must map a classification (old, new) to category filters")
    parsed = {}
    for classification, filters in raw.items():
        if classification not in CLASSIFICATIONS:
            raise _fail(where, f"unknown classification {classification!r} (old or new)")
        if not isinstance(filters, list) or not filters:
            raise _fail(where, f"'{classification}' must be a list of {{major, minor}} filters")
        items = []
        for item in filters:
            if not isinstance(item, dict) or "major" not in item:
                raise _fail(where, f"each '{classification}' filter needs a 'major' category")
            minor = item.get("minor", [])
            if isinstance(minor, str):
                minor = [minor]
            if not isinstance(minor, list) or not all(isinstance(m, str) for m in minor):
                raise _fail(where, f"'minor' under {item['major']!r} must be a list of names")
            items.append(CategoryFilter(str(item["major"]), tuple(minor)))
        parsed[classification] = tuple(items)
    return parsed


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _parse_rebase(raw, where: str) -> dict[str, tuple[str, ...]]:
    """Validate an ``spc_rebase`` mapping: classification to a list of months."""
    where = f"{where}, field 'spc_rebase'"
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(where, "must map a classification (old, new) to a list of months")
    parsed = {}
    for classification, months in raw.items():
        if classification not in CLASSIFICATIONS:
            raise _fail(where, f"unknown classification {classification!r} (old or new)")
        if not isinstance(months, list) or not all(
            isinstance(m, str) and _MONTH.match(m) for m in months
        ):
            raise _fail(where, f"'{classification}' must be a list of months, e.g. [\"2024-01\"]")
        parsed[str(classification)] = tuple(sorted(months))
    return parsed


def _parse_measure(
    raw, objective_id: str, index: int, default_rebase: dict[str, tuple[str, ...]] | None = None
) -> Measure:
    where = f"objective '{objective_id}', measure {index + 1}"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a mapping")
    measure_id = _require(raw, "id", where)
    where = f"objective '{objective_id}', measure '{measure_id}'"
    if not _ID.match(measure_id):
        raise _fail(where, "field 'id' must be lower-case words joined by '-'")
    known = {
        "id",
        "title",
        "unit",
        "direction",
        "source",
        "categories",
        "extract_measure",
        "target",
        "target_geography",
        "target_years",
        "target_unassessable",
        "proxy",
        "notes",
        "spc_rebase",
        "rate_per",
    }
    unknown = set(raw) - known
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
    source = _choice(raw, "source", SOURCES, where)
    categories: dict = {}
    extract_measure = None
    if source == "borough-crime":
        categories = _parse_categories(raw.get("categories"), where)
    else:
        extract_measure = _require(raw, "extract_measure", where)
    geography = raw.get("target_geography") or []
    if not isinstance(geography, list):
        raise _fail(where, "field 'target_geography' must be a list of borough names")
    try:
        geography = tuple(validate_geography(g, "target_geography") for g in geography)
    except ParameterError as exc:
        raise _fail(where, str(exc)) from None
    years = raw.get("target_years") or []
    if not isinstance(years, list) or not all(
        isinstance(y, str) and re.fullmatch(r"\d{4}/\d{2}", y) for y in years
    ):
        raise _fail(where, "field 'target_years' must be a list of financial years like 2007/08")
    direction = _choice(raw, "direction", DIRECTIONS, where)
    rate_per = raw.get("rate_per", 1000)
    if rate_per not in RATES_PER or isinstance(rate_per, bool):
        raise _fail(where, f"field 'rate_per' must be one of {', '.join(map(str, RATES_PER))}")
    target = _parse_target(raw.get("target"), where)
    if (years or raw.get("target_unassessable")) and target is None:
        raise _fail(where, "fields 'target_years' and 'target_unassessable' need a 'target'")
    if target is not None and direction == "neutral":
        raise _fail(
            where,
            "field 'target' needs direction up or down, not neutral (a "
            "measure with no direction of improvement has no target)",
        )
    return Measure(
        id=measure_id,
        title=_require(raw, "title", where),
        unit=_choice(raw, "unit", UNITS, where),
        direction=direction,
        source=source,
        categories=categories,
        extract_measure=extract_measure,
        target=target,
        target_geography=geography,
        target_years=tuple(years),
        target_unassessable=str(raw.get("target_unassessable", "") or "").strip(),
        proxy=bool(raw.get("proxy", False)),
        notes=str(raw.get("notes", "") or "").strip(),
        rate_per=int(rate_per),
        spc_rebase=_parse_rebase(raw["spc_rebase"], where)
        if "spc_rebase" in raw
        else dict(default_rebase or {})
        if source == "borough-crime"
        else {},
    )


def _parse_objective(
    raw, index: int, default_rebase: dict[str, tuple[str, ...]] | None = None
) -> Objective:
    where = f"objective {index + 1}"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a mapping")
    objective_id = _require(raw, "id", where)
    where = f"objective '{objective_id}'"
    if not _ID.match(objective_id):
        raise _fail(where, "field 'id' must be lower-case words joined by '-'")
    measures_raw = _require(raw, "measures", where, list)
    measures = tuple(
        _parse_measure(m, objective_id, i, default_rebase) for i, m in enumerate(measures_raw)
    )
    ids = [m.id for m in measures]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise _fail(where, f"measure id {dupes[0]!r} is used twice")
    return Objective(
        id=objective_id,
        title=_require(raw, "title", where),
        plan=_require(raw, "plan", where),
        lead=_require(raw, "lead", where),
        measures=measures,
        sections=_parse_sections(raw.get("sections"), where, ids),
    )


def parse_catalogue(text: str, source: str = "objectives.yaml") -> dict[str, Objective]:
    """Parse and validate catalogue YAML.

    Examples
    --------
    >>> text = '''
    ... objectives:
    ...   - id: robbery
    ...     title: Reduce personal robbery
    ...     plan: VCD 2006
    ...     lead: TP
    ...     measures:
    ...       - id: personal-robbery
    ...         title: Robbery of personal property
    ...         unit: count
    ...         direction: down
    ...         source: borough-crime
    ...         categories: {new: [{major: Robbery, minor: [Robbery of Personal Property]}]}
    ...         target: {type: reduction, percent: 7}
    ... '''
    >>> parse_catalogue(text)["robbery"].measures[0].target
    Target(type='reduction', percent=7.0, value=None, period='year')
    >>> parse_catalogue(text.replace("unit: count", "unit: pounds"))
    Traceback (most recent call last):
    ...
    mpsanalysis.errors.CatalogueError: objectives.yaml: objective 'robbery', measure 'personal-robbery': field 'unit' is 'pounds': expected one of count, rate, proportion, money
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{source}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("objectives"), list):
        raise CatalogueError(f"{source}: must have a top-level 'objectives' list")
    unknown = set(data) - {"objectives", "spc_rebase"}
    if unknown:
        raise CatalogueError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    try:
        default_rebase = _parse_rebase(data.get("spc_rebase"), "top level")
    except CatalogueError as exc:
        raise CatalogueError(f"{source}: {exc}") from None
    objectives: dict[str, Objective] = {}
    for index, raw in enumerate(data["objectives"]):
        try:
            objective = _parse_objective(raw, index, default_rebase)
        except CatalogueError as exc:
            raise CatalogueError(f"{source}: {exc}") from None
        if objective.id in objectives:
            raise CatalogueError(f"{source}: objective '{objective.id}' is defined twice")
        objectives[objective.id] = objective
    return objectives


#: Catalogues already parsed in this process: path -> (the file's bytes, the parsed
#: catalogue pickled). Parsing the YAML takes about 60 ms, and the warm engine empties the
#: cache of :func:`_load_cached` before every report; a file with the same bytes is
#: unpickled instead (new objects each time, so no report sees another's).
_PARSED: dict[str, tuple[bytes, bytes]] = {}


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> dict[str, Objective]:
    raw = Path(path).read_bytes()
    kept = _PARSED.get(path)
    if kept is not None and kept[0] == raw:
        return pickle.loads(kept[1])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(
            f"{Path(path).name}: is not UTF-8 text (offset {exc.start}); re-save it as UTF-8"
        ) from exc
    objectives = parse_catalogue(text, Path(path).name)
    if len(_PARSED) >= 8:
        _PARSED.clear()
    _PARSED[path] = (raw, pickle.dumps(objectives, protocol=5))
    return objectives


def load_catalogue(path: str | Path | None = None) -> dict[str, Objective]:
    """Load the objective catalogue (default: the one shipped in the package)."""
    path = Path(path) if path else CATALOGUE_PATH
    if not path.exists():
        raise CatalogueError(f"{path.name}: the catalogue file does not exist")
    return _load_cached(str(path), path.stat().st_mtime)


def objective_ids(path: str | Path | None = None) -> list[str]:
    """The objective ids, in catalogue order."""
    return list(load_catalogue(path))


def get_objective(objective_id: str, path: str | Path | None = None) -> Objective:
    """One objective, or a ParameterError listing the valid ids.

    Examples
    --------
    >>> get_objective("robbery").title
    'Reduce personal robbery'
    """
    catalogue = load_catalogue(path)
    if objective_id not in catalogue:
        raise ParameterError(
            f"objective {objective_id!r} is not in the catalogue: expected one of "
            f"{', '.join(catalogue)}"
        )
    return catalogue[objective_id]


def catalogue_markdown(path: str | Path | None = None) -> str:
    """The catalogue as Markdown (docs/measures.md is this text; a test keeps them equal)."""
    lines = [
        "# Measures",
        "",
        "Generated from `mpsanalysis/measures/objectives.yaml` by "
        '`python -c "from mpsanalysis.measures.catalogue import catalogue_markdown; '
        'print(catalogue_markdown())" > docs/measures.md`. Do not edit by hand.',
        "",
    ]
    for objective in load_catalogue(path).values():
        lines += [
            f"## {objective.title} (`{objective.id}`)",
            "",
            f"Plan: {objective.plan}. Lead: {objective.lead}.",
            "",
            "| measure | unit | better | source and definition | target |",
            "|---|---|---|---|---|",
        ]
        for m in objective.measures:
            better = {"down": "lower", "up": "higher", "neutral": "no direction"}[m.direction]
            if m.source == "borough-crime":
                definition = "London Datastore: " + m.describe_categories()
            else:
                definition = f"internal extract: `{m.extract_measure}`"
            if m.proxy:
                definition += " (proxy)"
            if m.rate_per != 1000:
                definition += f"; borough rates per {m.rate_per:,} residents"
            target = m.target.describe(m.direction) if m.target else ""
            if m.target_geography:
                target += f" in {', '.join(m.target_geography)}"
            if m.target_years:
                target += f" (set for {', '.join(m.target_years)})"
            if m.target_unassessable:
                target += f"; not assessed: {m.target_unassessable}"
            lines.append(
                f"| {m.title} (`{m.id}`) | {m.unit} | {better} | {definition} | {target} |"
            )
        notes = [f"- {m.title}: {m.notes}" for m in objective.measures if m.notes]
        lines += [""] + (notes + [""] if notes else [])
    return "\n".join(lines)
