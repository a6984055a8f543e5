"""Opening a task and listing a person's tasks, under the one rule of engine.domain.task_access.

The pages, the API and the engine's `complete_task` all go through `check_task_actor`
(engine.services.delegations), so a task refused on one channel is refused on every one, with
the same French message.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.domain.deadlines import Deadline, DeadlineError
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.model import Actor, HumanTask
from engine.domain.task_access import InboxCase, task_access, task_kind
from engine.ports import UnitOfWork
from engine.services.delegations import ActingFor, actor_login, check_task_actor, delegators_of

MAX_LISTED = 1000
"""Tasks read for one list before filtering and sorting; a person's ready tasks stay far below."""
SOON = timedelta(days=7)

STATES = {
    "en_retard": "Échéance dépassée",
    "proche": "Échéance dans les 7 jours",
    "a_venir": "Échéance plus lointaine",
    "sans_echeance": "Sans échéance",
}
"""Task states a list can be filtered on (from the dossier's next legal deadline)."""
SORTS = {
    "date": "Plus anciennes d'abord",
    "recent": "Plus récentes d'abord",
    "echeance": "Échéance la plus proche d'abord",
}
ASSIGNMENTS = {"moi": "Assignées à moi", "service": "De mon service (non assignées)"}


@dataclass(frozen=True)
class OpenedTask:
    """A ready task the person may act on, and whom they act for."""

    task: HumanTask
    acting_for: ActingFor | None


def open_task(
    uow: UnitOfWork,
    *,
    tenant: str,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    actor: Actor,
    now: datetime,
) -> OpenedTask:
    """The task if the actor may open it (NotFound if it is not ready, Forbidden if not theirs)."""
    task = uow.cases.human_task(tenant, task_id)
    if task is None or task.case_id != case_id:
        raise NotFound("Cette tâche n'existe pas ou a déjà été traitée.")
    acting_for = check_task_actor(
        uow, tenant=tenant, lane=task.lane, assignee=task.assignee, actor=actor, now=now
    )
    return OpenedTask(task, acting_for)


def actionable(
    uow: UnitOfWork, *, tenant: str, actor: Actor, tasks: Collection[HumanTask], now: datetime
) -> set[uuid.UUID]:
    """Ids of those `tasks` the actor may open (to link them on a case page)."""
    login = actor_login(actor)
    deputy_for = set(delegators_of(uow, tenant=tenant, deputy=login, at=now)) if login else set()
    return {
        t.id
        for t in tasks
        if task_access(
            lane=t.lane, assignee=t.assignee, login=login, roles=actor.roles, deputy_for=deputy_for
        ).allowed
    }


@dataclass(frozen=True)
class ListedTask:
    """One row of a task list: the task, its dossier, its deadline, for whom it is done."""

    task: HumanTask
    case: InboxCase
    kind: str | None
    """« Visa » or « Signature » (engine.domain.task_access.task_kind), None for other tasks."""
    deadline: Deadline | None
    """The dossier's next legal deadline (the last one passed when all are)."""
    state: str
    """One of STATES."""
    acting_for: str | None
    """Login of the person the reader stands in for on this task (a deputy's row)."""
    acting_for_name: str | None


@dataclass(frozen=True)
class TaskList:
    tasks: list[ListedTask]
    total: int
    truncated: bool
    """More than MAX_LISTED tasks matched: only the oldest were filtered and sorted."""
    acting: dict[str, str]
    """Login -> name of the people the reader stands in for now."""


def standing_in_for(uow: UnitOfWork, *, tenant: str, login: str, now: datetime) -> dict[str, str]:
    """Login -> display name of the people `login` deputises for now (delegations in force)."""
    names = {}
    for delegator in delegators_of(uow, tenant=tenant, deputy=login, at=now):
        row = uow.users.by_username(delegator)  # a handful at most, whatever the page size
        names[delegator] = str(row.display_name) if row is not None else delegator
    return names


def next_deadline(data: dict[str, Any], now: datetime) -> Deadline | None:
    """The first deadline of the case data still to come, else the last one passed."""
    deadlines = []
    for value in data.values():
        if isinstance(value, dict) and {"schema", "rule", "due"} <= value.keys():
            try:
                deadlines.append(Deadline.from_dict(value))
            except DeadlineError:
                continue
    deadlines.sort(key=lambda d: d.due)
    coming = [d for d in deadlines if not d.has_passed(now)]
    if coming:
        return coming[0]
    return deadlines[-1] if deadlines else None


def deadline_state(deadline: Deadline | None, now: datetime) -> str:
    if deadline is None:
        return "sans_echeance"
    if deadline.has_passed(now):
        return "en_retard"
    return "proche" if deadline.due - now <= SOON else "a_venir"


def _check_choice(value: str | None, choices: Collection[str], what: str) -> str | None:
    if value and value not in choices:
        raise InvalidInput(f"{what} inconnu : « {value[:50]} ».")
    return value or None


def list_tasks(
    uow: UnitOfWork,
    *,
    tenant: str,
    actor: Actor,
    now: datetime,
    lanes: Collection[str] | None = None,
    assignment: str | None = None,
    procedure: str | None = None,
    state: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TaskList:
    """The tasks waiting for the actor: unassigned tasks of their roles (or of `lanes` among
    them), those assigned to them and to the people they deputise for; filtered and sorted."""
    assignment = _check_choice(assignment, ASSIGNMENTS, "Filtre d'assignation")
    state = _check_choice(state, STATES, "État")
    sort = _check_choice(sort, SORTS, "Tri") or "date"
    login = actor_login(actor) or ""
    acting = standing_in_for(uow, tenant=tenant, login=login, now=now)
    roles = sorted(actor.roles & set(lanes)) if lanes is not None else sorted(actor.roles)
    inbox_lanes: list[str] | None = None if assignment == "moi" else roles
    assigned: list[str] | None = None if assignment == "service" else [login, *acting]
    rows = uow.cases.inbox_rows(
        tenant,
        lanes=inbox_lanes,
        assigned_to=assigned,
        procedure=procedure or None,
        limit=MAX_LISTED + 1,
    )
    truncated = len(rows) > MAX_LISTED
    listed = []
    for task, case in rows[:MAX_LISTED]:
        deadline = next_deadline(case.data, now)
        row_state = deadline_state(deadline, now)
        if state and row_state != state:
            continue
        deputy = task.assignee if task.assignee in acting else None
        listed.append(
            ListedTask(
                task=task,
                case=case,
                kind=task_kind(task.name, task.lane, task.assignee),
                deadline=deadline,
                state=row_state,
                acting_for=deputy,
                acting_for_name=acting.get(deputy) if deputy else None,
            )
        )
    _sort(listed, sort)
    return TaskList(listed[offset : offset + limit], len(listed), truncated, acting)


_NEVER = datetime.max.replace(tzinfo=UTC)


def _sort(listed: list[ListedTask], sort: str) -> None:
    if sort == "echeance":
        listed.sort(key=lambda r: (r.deadline.due if r.deadline else _NEVER, r.task.created_at))
    elif sort == "recent":
        listed.sort(key=lambda r: r.task.created_at, reverse=True)
    else:
        listed.sort(key=lambda r: r.task.created_at)
