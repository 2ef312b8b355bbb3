"""environment.yml (conda) and pyproject.toml (pip) must declare the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb", "types-pyyaml": "types-pyyaml"}


def _split(spec: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in ("test", "bench"):
        specs = specs + data["project"]["optional-dependencies"][extra]
    return dict(_split(s) for s in specs)


def _conda() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for item in env["dependencies"]:
        if not isinstance(item, str):
            continue
        name, version = _split(item)
        if name in ("python", "pip"):
            continue
        out[CONDA_TO_PYPI.get(name, name)] = version
    return out


def test_same_packages():
    pip, conda = _pyproject(), _conda()
    assert set(pip) == set(conda), (
        f"only in pyproject: {sorted(set(pip) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(pip))}"
    )


def test_same_minimum_versions():
    pip, conda = _pyproject(), _conda()
    differ = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda.get(name)}
    assert not differ, f"version constraints differ (pyproject, environment.yml): {differ}"


def test_environment_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_section and "-e ." in pip_section[0]["pip"]
