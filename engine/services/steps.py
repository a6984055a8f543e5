"""Persisting one step of a case: state, status, what it waits for, jobs, and its journal entry."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.domain.errors import ModelError
from engine.domain.model import Case, CaseStatus, HumanTask, TaskRows
from engine.ports import UnitOfWork
from engine.runtime.facade import EMPTY_SNAPSHOT, CaseRuntime, Snapshot
from engine.runtime.specs import ParsedProcess, cached_process, parsed_from_files

SUMMARY_MAX_KEYS = 200


def load_process(uow: UnitOfWork, spec_hash: str) -> ParsedProcess:
    cached = cached_process(spec_hash)
    if cached is not None:
        return cached
    return parsed_from_files(spec_hash, uow.specs.files(spec_hash))


@dataclass
class LoadedCase:
    """A case read for one step: its row, its runtime, and what it waited for before the step."""

    case: Case
    runtime: CaseRuntime
    before: Snapshot
    tasks: TaskRows
    """The task rows as read: the next save writes only those that changed."""


def load_case(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> LoadedCase:
    case, header, state_format, tasks = uow.cases.get_with_state(tenant, case_id)
    runtime = CaseRuntime.restore(load_process(uow, case.spec_hash), header, state_format, tasks)
    before = runtime.snapshot() if case.status == CaseStatus.RUNNING else EMPTY_SNAPSHOT
    return LoadedCase(case, runtime, before, tasks)


def job_key(case_id: uuid.UUID, task_id: uuid.UUID, attempt: int) -> str:
    return f"{case_id}:{task_id}:{attempt}"


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    keys = list(data)[:SUMMARY_MAX_KEYS]
    return {k: data[k] for k in keys}


def save_step(
    uow: UnitOfWork,
    case: Case,
    runtime: CaseRuntime,
    *,
    now: datetime,
    expected_version: int | None,
    before: Snapshot = EMPTY_SNAPSHOT,
    stored_tasks: TaskRows | None = None,
    status: CaseStatus | None = None,
    error: str | None = None,
    cancel_reason: str | None = None,
) -> Case:
    """Write the case after a step, under its version check, and queue its new jobs.

    The waits index (human tasks, timers, messages) is updated by difference with `before`,
    what the case waited for when it was loaded, so a step writes only what changed.
    """
    if status is None:
        status = CaseStatus.COMPLETED if runtime.completed else CaseStatus.RUNNING
        if case.status in (CaseStatus.ERROR, CaseStatus.CANCELLED) and not runtime.completed:
            status = case.status
    active = status == CaseStatus.RUNNING
    after = runtime.snapshot() if active else EMPTY_SNAPSHOT
    data = runtime.data
    title = str(data.get("objet") or data.get("titre") or case.title)[:500]
    updated = dataclasses.replace(
        case,
        title=title,
        status=status,
        data=_summary(data),
        current_steps=after.current_steps if active else (),
        updated_at=now,
        error=error if status == CaseStatus.ERROR else None,
        cancel_reason=cancel_reason or case.cancel_reason,
        version=(expected_version + 1) if expected_version is not None else 1,
    )
    dumped = runtime.dump()
    if expected_version is None:
        uow.cases.insert(updated, state=dumped)
    else:
        uow.cases.update(
            updated,
            expected_version=expected_version,
            state=dumped,
            stored_tasks=stored_tasks or {},
        )
    _update_waits(uow, updated, before, after, now)
    for call in after.service_calls:
        uow.jobs.add_once(
            tenant=case.tenant,
            case_id=case.id,
            task_id=call.task_id,
            operation=call.operation,
            params=call.params,
            idempotency_key=job_key(case.id, call.task_id, 1),
            now=now,
        )
    return updated


def _update_waits(
    uow: UnitOfWork, case: Case, before: Snapshot, after: Snapshot, now: datetime
) -> None:
    old_tasks = {t.id for t in before.ready}
    new_tasks = {t.id: t for t in after.ready}
    added = [
        HumanTask(
            id=t.id,
            case_id=case.id,
            tenant=case.tenant,
            name=t.name,
            title=t.title,
            lane=t.lane,
            form=t.form,
            created_at=now,
            assignee=t.assignee,
        )
        for task_id, t in new_tasks.items()
        if task_id not in old_tasks
    ]
    removed = [task_id for task_id in old_tasks if task_id not in new_tasks]
    uow.cases.change_human_tasks(case, added=added, removed=removed)
    timers = [(w.task_id, w.name, w.due_at) for w in after.timers]
    if timers != [(w.task_id, w.name, w.due_at) for w in before.timers]:
        uow.cases.replace_timers(case, timers)
    messages = [(w.message, w.correlation) for w in after.messages]
    if messages != [(w.message, w.correlation) for w in before.messages]:
        uow.cases.replace_message_waits(case, messages)


def save_failed(
    uow: UnitOfWork, loaded: LoadedCase, error: ModelError, *, actor: str, now: datetime
) -> Case:
    """A step of the case failed in its model: keep its state, put it in error, say so."""
    updated = save_loaded(uow, loaded, now=now, status=CaseStatus.ERROR, error=str(error))
    uow.journal.append(
        tenant=loaded.case.tenant,
        kind="case.error",
        case_id=loaded.case.id,
        actor=actor,
        payload={"error": str(error)},
        now=now,
    )
    return updated


def save_loaded(
    uow: UnitOfWork,
    loaded: LoadedCase,
    *,
    now: datetime,
    status: CaseStatus | None = None,
    error: str | None = None,
    cancel_reason: str | None = None,
) -> Case:
    """Save a case loaded by `load_case` after its step (version check, changed rows only)."""
    return save_step(
        uow,
        loaded.case,
        loaded.runtime,
        now=now,
        expected_version=loaded.case.version,
        before=loaded.before,
        stored_tasks=loaded.tasks,
        status=status,
        error=error,
        cancel_reason=cancel_reason,
    )
