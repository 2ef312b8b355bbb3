"""Fan-out: every objective for London and each borough, on worker processes or Dask.

The reference for "same results" is the one-worker run in this process: parallel and
distributed runs must write byte-identical HTML for every report.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from mpsanalysis import boroughs
from mpsanalysis.errors import ParameterError
from mpsanalysis.run import engine, runner
from mpsanalysis.run.jobs import Job

OBJECTIVE = "criminal-networks"  # the quickest notebook: these tests are about the runner
GEOGRAPHIES = ["London", "Hackney", "Sutton"]


def _html(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.html") if p.name != "index.html"}


@pytest.mark.realdata
def test_geography_all_is_london_and_the_32_boroughs(real_store):
    plan = runner.plan_run(
        period_end="2010-10", objectives=["robbery", "homicide"], geographies=["all"]
    )
    geographies = [job.geography for job in plan.jobs if job.objective_id == "robbery"]
    assert len(boroughs.borough_names()) == 32
    assert geographies == [boroughs.LONDON] + boroughs.borough_names()
    assert len(plan.jobs) == 2 * 33
    assert len({job.stem for job in plan.jobs}) == len(plan.jobs)  # no report overwrites another


@pytest.mark.slow
@pytest.mark.realdata
def test_two_workers_write_the_same_reports_as_one(real_store, tmp_path):
    one = runner.execute_plan(
        runner.plan_run(
            period_end="2010-10",
            objectives=[OBJECTIVE],
            geographies=GEOGRAPHIES,
            reports=tmp_path / "one",
        ),
        workers=1,
    )
    two = runner.execute_plan(
        runner.plan_run(
            period_end="2010-10",
            objectives=[OBJECTIVE],
            geographies=GEOGRAPHIES,
            reports=tmp_path / "two",
        ),
        workers=2,
    )
    assert one.ok and two.ok
    html_one, html_two = _html(one.plan.output_dir), _html(two.plan.output_dir)
    assert len(html_one) == len(GEOGRAPHIES)
    assert html_one == html_two
    assert [r.job for r in two.results] == two.plan.jobs  # published in plan order


@pytest.mark.slow
@pytest.mark.realdata
def test_a_failing_notebook_does_not_stop_the_other_workers(real_store, tmp_path):
    plan = runner.plan_run(
        period_end="2010-10",
        objectives=[OBJECTIVE],
        geographies=GEOGRAPHIES,
        reports=tmp_path / "reports",
    )
    broken = tmp_path / "broken.ipynb"
    nb = nbformat.read(plan.jobs[1].notebook, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure')"))
    nbformat.write(nb, broken)
    jobs = list(plan.jobs)
    jobs[1] = Job(
        jobs[1].objective_id,
        str(broken),
        jobs[1].geography,
        jobs[1].period_end,
        jobs[1].extracts,
        jobs[1].provisional,
    )
    plan.jobs = jobs
    outcome = runner.execute_plan(plan, workers=2)
    assert not outcome.ok
    failed = [r for r in outcome.results if not r.ok]
    assert [r.job.geography for r in failed] == [GEOGRAPHIES[1]]
    assert "RuntimeError: deliberate failure" in failed[0].error
    out = plan.output_dir
    assert (out / f"{jobs[1].stem}.failed.ipynb").exists()
    assert not (out / f"{jobs[1].stem}.html").exists()
    assert (out / f"{jobs[0].stem}.html").exists() and (out / f"{jobs[2].stem}.html").exists()


def test_scheduler_address_is_checked_before_connecting(tmp_path):
    plan = runner.RunPlan("2010-10", "2010-10", [], tmp_path / "2010-11" / "2010-10", False, "")
    with pytest.raises(ParameterError, match="tcp://HOST:PORT"):
        runner._run_dask(plan, tmp_path, {}, "test", "http://example.org:8786")


@pytest.mark.slow
@pytest.mark.realdata
def test_dask_cluster_writes_the_same_reports_as_a_local_run(real_store, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = runner.execute_plan(
        runner.plan_run(
            period_end="2010-10",
            objectives=[OBJECTIVE],
            geographies=GEOGRAPHIES,
            reports=tmp_path / "local",
        ),
        workers=1,
    )
    # Loopback only: the scheduler and workers listen on 127.0.0.1.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        protocol="tcp",
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = runner.execute_plan(
            runner.plan_run(
                period_end="2010-10",
                objectives=[OBJECTIVE],
                geographies=GEOGRAPHIES,
                reports=tmp_path / "dask",
            ),
            scheduler=cluster.scheduler_address,
        )
        with distributed.Client(cluster) as client:  # the run stopped the warm kernels
            alive = client.run(lambda: len(engine._engines))
    assert local.ok and remote.ok
    assert _html(local.plan.output_dir) == _html(remote.plan.output_dir)
    assert len(_html(remote.plan.output_dir)) == len(GEOGRAPHIES)
    assert set(alive.values()) == {0}


@pytest.mark.slow
@pytest.mark.realdata
def test_cli_geography_all_runs_every_borough(real_store, tmp_path, monkeypatch):
    """``mpsanalysis run --geography all`` for one objective: London and 32 boroughs."""
    from mpsanalysis import cli

    monkeypatch.setenv("MPSANALYSIS_REPORTS_DIR", str(tmp_path))
    workers = str(min(2, os.cpu_count() or 1))
    assert (
        cli.main(
            [
                "run",
                "--period-end",
                "2010-10",
                "--objective",
                OBJECTIVE,
                "--geography",
                "all",
                "--workers",
                workers,
            ]
        )
        == 0
    )
    out = next(tmp_path.glob("*/2010-10"))
    assert len(_html(out)) == 33
    assert (out / "index.html").exists() and (out / "manifest.json").exists()
    shutil.rmtree(out)
