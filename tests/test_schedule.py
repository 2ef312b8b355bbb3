"""The order in which workers take reports (mpsanalysis.run.schedule).

The plans here are synthetic: objectives and geographies are letters, not real reports.
"""

from __future__ import annotations

import itertools

import pytest

from mpsanalysis.run.jobs import Job
from mpsanalysis.run.schedule import ObjectiveAffinity


def plan(counts: dict[str, int]) -> list[Job]:
    return [
        Job(objective, "nb", f"g{i}", "2025-12", "", False)
        for objective, n in counts.items()
        for i in range(n)
    ]


def simulate(jobs: list[Job], cost: dict[str, float], workers: int):
    """Run the queue as the runner does, each worker free again after the job's cost;
    return the objectives each worker ran (in order) and the finishing time."""
    queue = ObjectiveAffinity(jobs)
    free_at = {w: 0.0 for w in range(workers)}
    ran: dict[int, list[Job]] = {w: [] for w in range(workers)}
    while True:
        worker = min(free_at, key=lambda w: (free_at[w], w))
        job = queue.next_for(worker)
        if job is None:
            # nothing left for the earliest-free worker means nothing left for anyone
            assert all(queue.next_for(w) is None for w in free_at)
            break
        ran[worker].append(job)
        free_at[worker] += cost[job.objective_id]
    return ran, max(free_at.values())


def test_every_job_handed_out_once():
    jobs = plan({"a": 5, "b": 1, "c": 7, "d": 3})
    ran, _ = simulate(jobs, {"a": 1, "b": 1, "c": 1, "d": 1}, workers=3)
    handed = [job for worker in ran.values() for job in worker]
    assert sorted(handed, key=jobs.index) == jobs


def test_an_objective_stays_on_one_worker_while_another_is_left():
    # 4 objectives of 6 equal reports on 2 workers: each worker runs 2 whole objectives
    jobs = plan({"a": 6, "b": 6, "c": 6, "d": 6})
    ran, finish = simulate(jobs, dict.fromkeys("abcd", 1.0), workers=2)
    objectives = [{job.objective_id for job in ran[w]} for w in (0, 1)]
    assert objectives == [{"a", "c"}, {"b", "d"}]
    assert finish == 12.0
    # within an objective the plan's order is kept
    assert [job.geography for job in ran[0] if job.objective_id == "a"] == [
        f"g{i}" for i in range(6)
    ]


def test_each_objective_is_worked_out_by_one_kernel():
    # The old hand-out (plan order, next job to the next free worker) split every
    # objective between both workers; the kernels that work out an objective's shared
    # figures are the workers that ran it.
    jobs = plan({"a": 4, "b": 4})
    ran, _ = simulate(jobs, {"a": 1, "b": 1}, workers=2)
    kernels_per_objective = {
        o: sum(any(j.objective_id == o for j in ran[w]) for w in ran) for o in "ab"
    }
    assert kernels_per_objective == {"a": 1, "b": 1}


def test_a_worker_with_nothing_of_its_own_steals_from_the_longest_queue():
    # a is ten times as costly as b: the worker that finishes b takes a's last reports
    jobs = plan({"a": 6, "b": 6})
    ran, finish = simulate(jobs, {"a": 10.0, "b": 1.0}, workers=2)
    stolen = [job for job in ran[1] if job.objective_id == "a"]
    assert stolen, "worker 1 idled while worker 0 had a queue"
    assert stolen[0].geography == "g5"  # from the end of a's queue
    # total work is 66; the best split of whole reports is 36 and 30 (or 40 and 26)
    assert finish <= 40.0


def test_largest_unstarted_objective_first():
    queue = ObjectiveAffinity(plan({"a": 1, "b": 3, "c": 2}))
    assert queue.next_for("w1").objective_id == "b"
    assert queue.next_for("w2").objective_id == "c"
    assert queue.next_for("w3").objective_id == "a"
    assert len(queue) == 3


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_no_worker_idles_while_jobs_are_left(workers):
    jobs = plan({"a": 3, "b": 9, "c": 1})
    queue = ObjectiveAffinity(jobs)
    handed = 0
    for worker in itertools.cycle(range(workers)):
        job = queue.next_for(worker)
        if job is None:
            break
        handed += 1
    assert handed == len(jobs) and len(queue) == 0


def test_empty_plan():
    assert ObjectiveAffinity([]).next_for(0) is None
