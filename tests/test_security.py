"""Security of unattended runs: safe YAML, no path traversal, a validated scheduler
address, kernels on local IPC sockets (no TCP port), and reports free of secrets and
local paths.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
from pathlib import Path

import pytest

from mpsanalysis import boroughs, cli
from mpsanalysis.errors import CatalogueError, ParameterError
from mpsanalysis.ingest import store
from mpsanalysis.measures import catalogue
from mpsanalysis.run import engine, jobs, runner

PACKAGE = Path(runner.__file__).parents[1]


# ------------------------------------------------------------------------ YAML
@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
        "!!python/name:os.system",
    ],
)
def test_yaml_python_tags_are_refused(tmp_path, tag):
    marker = tmp_path / "executed"
    path = tmp_path / "objectives.yaml"
    path.write_text(
        "objectives:\n  - id: robbery\n    title: x\n    plan: x\n    lead: "
        + tag.format(marker=marker)
        + "\n    measures: []\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=r"^objectives.yaml: not valid YAML"):
        catalogue.load_catalogue(path)
    assert not marker.exists()


def test_no_module_uses_an_unsafe_yaml_loader():
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for unsafe in (
            "yaml.load(",
            "yaml.unsafe_load",
            "yaml.full_load",
            "yaml.Loader",
            "yaml.UnsafeLoader",
            "yaml.FullLoader",
        ):
            assert unsafe not in source, f"{unsafe} in {path.name}"


# ------------------------------------------------------------------- path traversal
@pytest.mark.parametrize("objective", ["../../etc", "../robbery", "/etc/passwd", "robbery/.."])
def test_objective_with_a_path_is_refused(objective):
    with pytest.raises(ParameterError, match="is not in the catalogue"):
        catalogue.get_objective(objective)
    with pytest.raises(ParameterError, match="has no notebook"):
        runner.find_notebook(objective)


@pytest.mark.parametrize("geography", ["../../etc", "/etc/passwd", "..", "~root", "C:\\Windows"])
def test_geography_with_a_path_is_refused(geography):
    with pytest.raises(ParameterError, match="is not London or a London borough"):
        boroughs.validate_geography(geography)


def test_report_file_names_cannot_leave_the_period_folder():
    # Geographies are canonical names before they become file names, and slugs keep
    # only letters, digits and '-'.
    for name in [boroughs.LONDON, *boroughs.borough_names()]:
        job = jobs.Job("robbery", "x.ipynb", name, "2010-10", "", False)
        assert re.fullmatch(r"[a-z0-9-]+", job.stem), job.stem
    assert jobs.slugify("../../etc/passwd") == "etc-passwd"


@pytest.mark.parametrize("name", ["../borough_crime", "/etc/passwd", "a/b", "x.parquet/.."])
def test_store_table_names_cannot_leave_the_store(name):
    with pytest.raises(ValueError, match="must be letters, digits"):
        store.table_path(name)


# -------------------------------------------------------------------- the scheduler
@pytest.mark.parametrize(
    "address",
    [
        "http://example.org:8786",
        "tcp://",
        "tcp://host:8786/../../x",
        "tcp://host:8786;id",
        "tcp://host:8786 --preload evil",
        "file:///etc/passwd",
        "$(id)",
        "tcp://h`id`:1",
    ],
)
def test_malformed_scheduler_address_is_refused_before_anything_runs(tmp_path, address):
    plan = runner.RunPlan(
        "2010-10", "2010-10", [], tmp_path / "reports" / "2010-11" / "2010-10", False, ""
    )
    with pytest.raises(ParameterError, match="is not an address such as tcp://HOST:PORT"):
        runner.execute_plan(plan, scheduler=address)
    assert not (tmp_path / "reports").exists()  # no staging folder, nothing written


# ------------------------------------------------------------------------ kernels
def _manager():
    return engine.kernel_manager_class()(kernel_name="python3")


@pytest.mark.skipif(os.name != "posix", reason="IPC transport is POSIX only")
def test_kernel_manager_uses_ipc_not_tcp():
    manager = _manager()
    assert manager.transport == "ipc"
    assert manager.ip.startswith("/") and not re.fullmatch(r"[\d.:]+", manager.ip)
    # Both engines (warm and papermill) execute notebooks with this kernel manager.
    assert "kernel_manager_class()" in inspect.getsource(engine)


def _tcp_sockets() -> dict[str, tuple[str, str]]:
    """Every TCP socket of this machine: inode -> (local address, state)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9:
                found[fields[9]] = (fields[1], fields[3])
    return found


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            found.add(match.group(1))
    return found


_LOOPBACK = ("0100007F:", "00000000000000000000000001000000:")  # 127.0.0.1, ::1


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_a_started_kernel_listens_on_no_network_interface():
    """The kernel's five channels (shell, iopub, stdin, control, heartbeat) are IPC
    sockets in a private folder. ipykernel itself always opens one more socket, on the
    loopback interface only, to collect the output of processes the notebook forks
    (``IOPubThread(pipe=True)``, authenticated by a random key): nothing listens on a
    network interface."""

    async def check() -> None:
        manager = _manager()
        await manager.start_kernel()
        try:
            client = manager.client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            connection = json.loads(Path(manager.connection_file).read_text())
            assert connection["transport"] == "ipc"
            assert connection["ip"].startswith("/")
            tcp = _tcp_sockets()
            kernel_tcp = [tcp[i] for i in _socket_inodes(manager.provisioner.pid) if i in tcp]
            assert len(kernel_tcp) <= 1  # at most ipykernel's subprocess-output pipe
            for local, _state in kernel_tcp:
                assert local.startswith(_LOOPBACK), f"kernel listens on {local}"
            client.stop_channels()
        finally:
            await manager.shutdown_kernel(now=True)

    asyncio.run(check())


# ------------------------------------------------------------ reports carry no secrets
@pytest.mark.slow
@pytest.mark.realdata
def test_reports_carry_no_secrets_or_local_paths(real_store, tmp_path, monkeypatch):
    secret = "mps-canary-7f3a9c0e1b"  # an environment secret must never reach a report
    monkeypatch.setenv("MPSANALYSIS_TEST_API_TOKEN", secret)
    monkeypatch.setenv("MPSANALYSIS_REPORTS_DIR", str(tmp_path / "reports"))
    assert (
        cli.main(["run", "--period-end", "2010-10", "--objective", "robbery", "--workers", "1"])
        == 0
    )
    reports = tmp_path / "reports"
    files = sorted(  # the published files; the report cache (.cache/) is checked below
        p
        for p in reports.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(reports).parts)
    )
    cached = [p for p in (reports / ".cache").rglob("*") if p.is_file()]
    assert cached  # the run was cached: its copies carry no secret or local path either
    for path in cached:
        text = path.read_text(encoding="utf-8")
        assert secret not in text, path.name
        if path.name in ("report.html.cached", "entry.json"):
            assert str(tmp_path) not in text and str(real_store["data"]) not in text, path.name
    assert {p.suffix for p in files} == {".html", ".ipynb", ".json"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert secret not in text, path.name
        assert "MPSANALYSIS_TEST_API_TOKEN" not in text, path.name
        if path.suffix == ".html":
            for local in (
                str(tmp_path),
                str(real_store["data"]),
                str(Path.home()),
                str(runner.paths.project_root()),
            ):
                assert local not in text, f"{local!r} in {path.name}"
    for path in files:  # the runner's own pages: readable by all, writable by the owner
        if path.name in ("index.html", "manifest.json"):
            assert path.stat().st_mode & 0o777 == 0o644, path.name
