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


# ------------------------------------------------------------------ the lock file
LOCK = ROOT / "requirements" / "lock.txt"


def _lock() -> dict[str, tuple[str, list[str]]]:
    """Package -> (exact version, hashes) from requirements/lock.txt."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line)
        if match:
            current = match.group(1).lower().replace("_", "-")
            entries[current] = (match.group(2), [])
        elif current and "--hash=sha256:" in line:
            entries[current][1].append(line.split("--hash=sha256:")[1].split()[0])
    return entries


def test_lock_pins_every_declared_package_exactly_with_hashes():
    lock = _lock()
    assert lock, "requirements/lock.txt holds no pinned package"
    missing = sorted(set(_pyproject()) - set(lock))
    assert not missing, f"declared in pyproject.toml but not locked (run `make lock`): {missing}"
    unhashed = sorted(name for name, (_, hashes) in lock.items() if not hashes)
    assert not unhashed, f"locked without a hash: {unhashed}"
    for name, (_, hashes) in lock.items():
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_locked_versions_satisfy_pyproject_and_environment_yml():
    from packaging.specifiers import SpecifierSet

    lock = _lock()
    for source, declared in (("pyproject.toml", _pyproject()), ("environment.yml", _conda())):
        wrong = {
            name: (spec, lock[name][0])
            for name, spec in declared.items()
            if name in lock and spec and lock[name][0] not in SpecifierSet(spec)
        }
        assert not wrong, f"{source} constraint not met by the lock (spec, locked): {wrong}"


def test_lock_was_made_from_pyproject_with_the_test_and_bench_extras():
    header = LOCK.read_text().splitlines()[:3]
    command = " ".join(header)
    for part in (
        "uv pip compile pyproject.toml",
        "--extra test",
        "--extra bench",
        "--generate-hashes",
    ):
        assert part in command, f"lock header lacks {part!r}: {command}"


def test_makefile_installs_from_the_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile
    assert "--no-deps -e ." in makefile
    assert "make setup" in (ROOT / ".ci" / "run").read_text()
