"""The package's folders are the pipeline: each layer imports only from layers below it,
and no module uses another module's private names (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mpsanalysis"
#: Layer of each top-level module or sub-package, in data-flow order.
LAYERS = {
    "__init__": 0, "errors": 0, "paths": 0, "periods": 0, "boroughs": 0,
    "ingest": 1, "measures": 2, "stats": 3, "report": 4, "run": 5,
    "cli": 6, "__main__": 6,
}  # fmt: skip


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, list[str], list[str]]]:
    """(line, module parts after 'mpsanalysis', imported names) of every import."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "mpsanalysis":
                out.append((node.lineno, parts[1:], [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "mpsanalysis":
                    out.append((node.lineno, parts[1:], []))
    return out


def _layer_of(path: Path) -> int:
    return LAYERS[path.relative_to(PACKAGE).parts[0].removesuffix(".py")]


def test_every_module_has_a_layer():
    unknown = (
        {p.relative_to(PACKAGE).parts[0] for p in _modules()}
        - {f"{name}.py" for name in LAYERS}
        - set(LAYERS)
    )
    assert not unknown, f"add these to LAYERS and docs/architecture.md: {sorted(unknown)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_from_lower_layers(path):
    own = _layer_of(path)
    upward = []
    for line, parts, names in _imports(path):
        targets = [parts[0]] if parts else names
        for target in targets:
            if LAYERS.get(target, 0) > own:
                upward.append(f"line {line}: {'.'.join(['mpsanalysis', *parts])} {names}")
    assert not upward, f"{path.name} imports from a higher layer: {upward}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_names_from_other_modules(path):
    # A package's private helper module (e.g. ingest/sources/_common.py) may be used by
    # its siblings in the same package, and by no one else.
    package = list(path.relative_to(PACKAGE).parent.parts)
    private = [
        f"line {line}: {name} from {'.'.join(parts)}"
        for line, parts, names in _imports(path)
        for name in names
        if name.startswith("_")
        and name != "__version__"
        and not (parts == package and (PACKAGE.joinpath(*parts) / f"{name}.py").exists())
    ]
    assert not private, f"{path.name} imports private names: {private}"


def test_the_layer_check_would_catch_an_upward_import(tmp_path):
    bad = PACKAGE / "ingest" / "loaders.py"
    assert _layer_of(bad) == 1
    parts = _imports(bad)
    assert all(LAYERS.get((p[0] if p else n[0]), 0) <= 1 for _, p, n in parts)
    fake = tmp_path / "fake.py"
    fake.write_text("from mpsanalysis.report import html\n")
    assert _imports(fake) == [(1, ["report"], ["html"])]
    assert LAYERS["report"] > LAYERS["ingest"]
