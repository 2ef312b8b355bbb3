"""Which report a worker runs next: an objective's reports stay on one worker.

Every report of an objective works out some figures the same way (the measure's rows of
the crime table, the similar-force comparison, the all-borough outcomes): a warm kernel
works them out once and keeps them while they stay valid
(:func:`mpsanalysis.ingest.store.remembered`). Handed out in plan order, an objective's
reports alternate between the workers, so every worker works out every objective's
shared figures: with 2 workers, the 54-report fan-out benchmark used 1.08 times the CPU
of 1 worker.

:class:`ObjectiveAffinity` hands reports out so that each objective runs on one worker
for as long as another objective is left to start. A worker whose objective is done
takes the objective nobody has started with the most reports left; when none is left it
takes the last reports of the objective with the most left (work stealing), so no
worker idles while another has a queue. Only those objectives split at the end are
worked out by two kernels. The reports and their HTML are the same whatever the order:
each report runs alone in a reset namespace (:mod:`mpsanalysis.run.engine`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable

from mpsanalysis.run.jobs import Job

__all__ = ["ObjectiveAffinity"]


class ObjectiveAffinity:
    """A queue of jobs per objective, handed to workers with affinity.

    Parameters
    ----------
    jobs : iterable of Job
        The plan's jobs; within an objective they are handed out in this order.

    Examples
    --------
    Two objectives of three reports each (a synthetic plan), two workers:

    >>> from mpsanalysis.run.jobs import Job
    >>> jobs = [Job(o, "nb", g, "2025-12", "", False) for o in "ab" for g in "xyz"]
    >>> queue = ObjectiveAffinity(jobs)
    >>> [queue.next_for(w).objective_id for w in (0, 1, 0, 1, 0)]
    ['a', 'b', 'a', 'b', 'a']

    Worker 0 has finished objective a, and nobody has started another, so it takes the
    last report of b, which worker 1 is still running:

    >>> job = queue.next_for(0)
    >>> job.objective_id, job.geography, queue.next_for(1) is None, len(queue)
    ('b', 'z', True, 0)
    """

    def __init__(self, jobs: Iterable[Job]) -> None:
        self._queues: dict[str, deque[Job]] = {}
        for job in jobs:
            self._queues.setdefault(job.objective_id, deque()).append(job)
        self._started: set[str] = set()
        self._objective_of: dict[Hashable, str] = {}

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def next_for(self, worker: Hashable) -> Job | None:
        """The next job for ``worker``, or ``None`` when every job has been handed out."""
        current = self._objective_of.get(worker)
        if current is not None and self._queues.get(current):
            return self._queues[current].popleft()
        unstarted = [o for o, q in self._queues.items() if q and o not in self._started]
        if unstarted:
            objective = max(unstarted, key=lambda o: len(self._queues[o]))
            self._started.add(objective)
            self._objective_of[worker] = objective
            return self._queues[objective].popleft()
        left = [o for o, q in self._queues.items() if q]
        if not left:
            return None
        objective = max(left, key=lambda o: len(self._queues[o]))
        self._objective_of[worker] = objective
        return self._queues[objective].pop()
