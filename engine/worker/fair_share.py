"""Fair share of the workers between tenants: one commune's burst does not starve the others.

Jobs wait in the jobs table (the outbox, state `pending`) and are handed to the broker a few at
a time per worker queue: at most `Settings.fair_share_depth` of a queue are in flight (`sent` or
`running`). Each release fills the free places one job at a time, each time to the tenant with
the fewest jobs of that queue in flight (ties: the oldest waiting job first), so a commune with
one act waiting goes before the 900th act of a commune that sent a thousand. On Redis the
message also carries a priority from that count (0, served first, for a tenant with nothing in
flight): it overtakes the messages already queued. The embedded file broker ignores priorities;
there the bounded depth alone keeps a small tenant's job behind at most `depth` others.

Releases run after each commit that queued jobs (the dispatcher), after each job a worker
finishes (its place is free) and from the outbox relay (beat), which also hands over again the
jobs handed over long ago and never finished (the worker died, the broker lost them). A job is
claimed (`pending` → `sent`, under its row lock) in a committed transaction before it is sent,
so concurrent releases never send it twice; if sending fails it goes back to the outbox.
Everything shared lives in PostgreSQL (the jobs table) and Redis: any number of producers and
worker processes may release at once, the depth is then a soft bound.
"""

from __future__ import annotations

import heapq
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.domain.model import Job, JobState
from engine.operations.base import OperationFailed, OperationRegistry
from engine.persistence.uow import UnitOfWork

log = logging.getLogger(__name__)

PRIORITY_STEPS = (0, 3, 6, 9)
"""Redis priority levels (kombu's default `priority_steps`, set explicitly in the broker
options); 0 is served first."""

Send = Callable[[uuid.UUID, str, int], None]
"""Hands one job to the broker: (job id, queue, priority)."""


@dataclass(frozen=True)
class Release:
    job: Job
    queue: str
    in_flight: int
    """The tenant's jobs of this queue in flight when this one was chosen."""

    @property
    def priority(self) -> int:
        return priority_for(self.in_flight)


def priority_for(in_flight: int) -> int:
    """Redis priority of a tenant's next job: first for a tenant with nothing in flight, last
    from four on (the levels are coarse: kombu keeps one list per level)."""
    if in_flight == 0:
        return PRIORITY_STEPS[0]
    if in_flight == 1:
        return PRIORITY_STEPS[1]
    if in_flight <= 3:
        return PRIORITY_STEPS[2]
    return PRIORITY_STEPS[3]


def plan_release(
    waiting: Sequence[Job], in_flight: Mapping[str, int], places: int, queue: str
) -> list[Release]:
    """Up to `places` of `waiting` (one queue's outbox, oldest first), max-min fair: each place
    goes to the tenant with the fewest jobs in flight counting those chosen before it."""
    by_tenant: dict[str, list[tuple[int, Job]]] = defaultdict(list)
    for age, job in enumerate(waiting):
        by_tenant[job.tenant].append((age, job))
    heap = [(in_flight.get(tenant, 0), jobs[0][0], tenant) for tenant, jobs in by_tenant.items()]
    heapq.heapify(heap)
    chosen: list[Release] = []
    next_of = dict.fromkeys(by_tenant, 0)
    while heap and len(chosen) < places:
        count, _age, tenant = heapq.heappop(heap)
        jobs = by_tenant[tenant]
        _, job = jobs[next_of[tenant]]
        chosen.append(Release(job, queue, count))
        next_of[tenant] += 1
        if next_of[tenant] < len(jobs):
            heapq.heappush(heap, (count + 1, jobs[next_of[tenant]][0], tenant))
    return chosen


class Pump:
    """The platform's job dispatcher (`JobDispatcher`): releases jobs fairly after a commit."""

    def __init__(
        self,
        send: Send,
        operations: OperationRegistry,
        uow_factory: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        *,
        depth: int,
    ) -> None:
        self._send = send
        self._operations = operations
        self._uow = uow_factory
        self._clock = clock
        self.depth = depth
        """0: no bound (every job handed over at once, no fair share)."""

    def __call__(self, jobs: Sequence[tuple[uuid.UUID, str]]) -> None:
        """After a commit that queued `jobs`: release what the queues have room for. Raises
        when the broker is down (the unit of work logs it; the jobs stay in the outbox)."""
        self.release(queues={self.queue_of(operation) for _, operation in jobs})

    def queue_of(self, operation: str) -> str:
        try:
            return self._operations.get(operation).queue
        except OperationFailed:
            return "engine"  # an operation no longer registered: its job fails on the engine

    def release(self, *, queues: set[str] | None = None) -> int:
        """Hand over the jobs the queues have room for, fairly; the number handed over."""
        with self._uow() as uow:
            waiting = uow.jobs.outbox_heads(per_tenant=self.depth or None)
            flying = uow.jobs.in_flight()
        plan = self._plan(waiting, flying, queues)
        if not plan:
            return 0
        now = self._clock()
        with self._uow() as uow:
            claimed = [item for item in plan if uow.jobs.claim_for_broker(item.job.id, now)]
            uow.commit()
        self._hand_over(claimed)
        return len(claimed)

    def _plan(
        self, waiting: list[Job], flying: dict[tuple[str, str], int], queues: set[str] | None
    ) -> list[Release]:
        waiting_by_queue: dict[str, list[Job]] = defaultdict(list)
        for job in waiting:
            queue = self.queue_of(job.operation)
            if queues is None or queue in queues:
                waiting_by_queue[queue].append(job)
        flying_by_queue: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (tenant, operation), count in flying.items():
            flying_by_queue[self.queue_of(operation)][tenant] += count
        plan: list[Release] = []
        for queue, jobs in sorted(waiting_by_queue.items()):
            in_flight = flying_by_queue[queue]
            places = len(jobs) if not self.depth else self.depth - sum(in_flight.values())
            plan.extend(plan_release(jobs, in_flight, places, queue))
        return plan

    def _hand_over(self, claimed: list[Release]) -> None:
        sent = 0
        try:
            for item in claimed:
                # Without a depth, no fair share: every message at the same level (FIFO).
                self._send(item.job.id, item.queue, item.priority if self.depth else 0)
                sent += 1
        except Exception:
            with self._uow() as uow:
                uow.jobs.return_to_outbox([item.job.id for item in claimed[sent:]], self._clock())
                uow.commit()
            raise

    def resend_stale(self, *, stale_after: timedelta) -> int:
        """Hand over again the jobs handed over `stale_after` ago or more and not finished (a
        worker killed mid-job, a broker that lost its messages); jobs are idempotent."""
        now = self._clock()
        with self._uow() as uow:
            stale = uow.jobs.unfinished(
                older_than=now - stale_after,
                states=[JobState.SENT, JobState.RUNNING],
                limit=500,
            )
            uow.jobs.mark_sent_again([job.id for job in stale], now)
            uow.commit()
        for job in stale:
            self._send(job.id, self.queue_of(job.operation), PRIORITY_STEPS[0])
        if stale:
            log.info("%d traitement(s) remis au courtier après %s", len(stale), stale_after)
        return len(stale)


RUN_JOB = "dematflow.run_job"


def release_after_each_job(release: Callable[[], None]) -> None:
    """In a worker: once a job's task ends (done, failed, retry planned), its place in the queue
    is free: release the next jobs then, not at the relay's next beat."""
    from celery.signals import task_postrun

    def after_task(sender: object = None, **_kwargs: object) -> None:
        if getattr(sender, "name", None) == RUN_JOB:
            release()

    task_postrun.connect(after_task, weak=False, dispatch_uid="dematflow.fair_share")
