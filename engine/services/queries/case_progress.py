"""Where a case stands in its model: each element done, current or waiting, with dates and
actors, for the case diagram and its text alternative."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from engine.domain.errors import NotFound
from engine.domain.model import Case, CaseStatus, HumanTask, JournalEntry
from engine.domain.tenant_records import SpecVersion
from engine.runtime.specs import ProcessBundle
from engine.runtime.trail import NodeVisit
from engine.services.steps import load_case, load_process
from engine.services.unit_of_work import UnitOfWork

__all__ = [
    "CaseProgress",
    "StepProgress",
    "StepVisit",
    "case_progress",
    "procedure_versions",
    "progress_of",
    "version_bundle",
]

_DIGEST = re.compile(r"[0-9a-f]{64}")
StepState = Literal["done", "current", "waiting"]


@dataclass(frozen=True)
class StepVisit:
    """One pass through an element, or its current state."""

    at: datetime | None
    """When it was done (or since when it is open); None when nothing dates it."""
    actor: str | None
    """Journal actor (`user:login`, `system:worker`...), None for an automatic step."""
    open: bool = False
    """True for the pass that is under way (a task to do, a timer or message awaited)."""
    due: datetime | None = None
    """For a timer awaited: when it fires."""
    waits_for: str | None = None
    """Who may act (login of the assignee) or the lane, for a task to do."""
    bookkeeping: bool = False
    """The engine's own work (a gateway, a script, a loop's task): drawn, not listed."""
    message: str | None = None
    """For a message awaited: its name (as the procedure declares it)."""


@dataclass(frozen=True)
class StepProgress:
    """What one BPMN element of the case's model went through."""

    element: str
    """The BPMN id of the element (in the called or embedded process when `within` is set)."""
    name: str
    state: StepState
    """`current` (a task to do or a job at work), `waiting` (timer, message), else `done`."""
    visits: tuple[StepVisit, ...] = field(default_factory=tuple)
    within: str | None = None
    """The top-level element (call activity, sub-process) a nested step runs under."""


@dataclass(frozen=True)
class CaseProgress:
    case: Case
    bundle: ProcessBundle
    steps: dict[str, StepProgress]
    """In the order the case reached them; by BPMN element id for the main process, by
    `container/element` for the steps of a called or embedded process."""


def _job_task(entry: JournalEntry) -> str | None:
    key = str(entry.payload.get("key") or "")
    parts = key.split(":")
    return parts[1] if len(parts) == 3 else None


def _dated(
    visits: Sequence[NodeVisit], events: Iterable[JournalEntry]
) -> dict[uuid.UUID, tuple[datetime, str]]:
    """Date and actor of each done visit the journal tells of (by task id, else by event name,
    in order); a visit the journal does not name ran right after the last one it does."""
    by_task: dict[str, tuple[datetime, str]] = {}
    by_event: dict[tuple[str, str], deque[tuple[datetime, str]]] = defaultdict(deque)
    started: tuple[datetime, str] | None = None
    for entry in events:
        when = (entry.recorded_at, entry.actor)
        if entry.kind == "task.completed" and entry.payload.get("task_id"):
            by_task[str(entry.payload["task_id"])] = when
        elif entry.kind == "job.succeeded" and (task := _job_task(entry)):
            by_task[task] = when
        elif entry.kind == "timer.fired":
            by_event["timer", str(entry.payload.get("timer") or "")].append(when)
        elif entry.kind == "message.received":
            by_event["message", str(entry.payload.get("message") or "")].append(when)
        elif entry.kind == "signal.received":
            by_event["signal", str(entry.payload.get("signal") or "")].append(when)
        elif entry.kind == "case.started" and started is None:
            started = when
    dated: dict[uuid.UUID, tuple[datetime, str]] = {}
    last = started
    for visit in visits:
        if visit.state != "done":
            continue
        found = by_task.get(str(visit.task_id))
        if found is None and visit.event is not None and by_event[visit.event]:
            found = by_event[visit.event].popleft()
        if found is not None:
            last = found
            dated[visit.task_id] = found
        elif last is not None:  # automatic: same moment, no person
            dated[visit.task_id] = (last[0], "")
    return dated


def progress_of(
    visits: Sequence[NodeVisit],
    events: Sequence[JournalEntry],
    tasks: Sequence[HumanTask],
    timers: dict[uuid.UUID, datetime],
) -> dict[str, StepProgress]:
    """Fold the visits of each element into one step (the pure part of `case_progress`)."""
    dated = _dated(visits, events)
    open_tasks = {task.id: task for task in tasks}
    grouped: dict[str, list[NodeVisit]] = {}
    for visit in visits:
        key = visit.node if visit.within is None else f"{visit.within}/{visit.node}"
        grouped.setdefault(key, []).append(visit)
    steps: dict[str, StepProgress] = {}
    for key, passes in grouped.items():
        shown: list[StepVisit] = []
        state: StepState = "done"
        for visit in passes:
            if visit.state == "done":
                at, actor = dated.get(visit.task_id, (None, ""))
                shown.append(StepVisit(at, actor or None, bookkeeping=visit.bookkeeping))
                continue
            human = open_tasks.get(visit.task_id)
            if visit.state in ("ready", "running"):
                state = "current"
            elif state != "current":
                state = "waiting"
            shown.append(
                StepVisit(
                    human.created_at if human else None,
                    None,
                    open=True,
                    due=timers.get(visit.task_id),
                    waits_for=(human.assignee or human.lane) if human else None,
                    bookkeeping=visit.bookkeeping,
                    message=visit.event[1] if visit.event and visit.event[0] == "message" else None,
                )
            )
        if any(visit.waits_for for visit in shown):
            # A multi-instance's own task runs beside its instances: the person's turn says it.
            shown = [v for v in shown if not v.open or v.waits_for or v.due is not None]
        first = passes[0]
        steps[key] = StepProgress(first.node, first.name, state, tuple(shown), first.within)
    return steps


def case_progress(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> CaseProgress:
    """The case's path through its own model version (NotFound for another tenant's case)."""
    loaded = load_case(uow, tenant, case_id)
    case, runtime = loaded.case, loaded.runtime
    visits = runtime.trail()
    if case.status in (CaseStatus.COMPLETED, CaseStatus.CANCELLED):  # it waits for nothing
        visits = [visit for visit in visits if visit.state == "done"]
    timers = {wait.task_id: wait.due_at for wait in loaded.before.timers}
    steps = progress_of(
        visits,
        uow.journal.for_case(tenant, case_id),
        uow.cases.human_tasks(tenant, case_id=case_id),
        timers,
    )
    return CaseProgress(case, runtime.parsed.bundle, steps)


def procedure_versions(uow: UnitOfWork) -> list[SpecVersion]:
    """Every deployed version of every procedure, newest first within a procedure."""
    return uow.tenant_admin.versions()


def version_bundle(uow: UnitOfWork, digest: str) -> ProcessBundle:
    """The files of one deployed version (NotFound for an unknown digest)."""
    if not _DIGEST.fullmatch(digest):
        raise NotFound("version de procédure introuvable")
    return load_process(uow, digest).bundle
