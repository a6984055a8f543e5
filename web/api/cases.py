"""Cases, tasks, messages and signals of a tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from engine.domain.errors import NotFound
from engine.domain.model import Actor, HumanTask
from engine.domain.task_access import CASE_READERS, asks_password
from engine.services import cases as case_services
from engine.services import task_access as task_services
from engine.services.messages import MessageOrigin
from engine.services.queries import cases as case_queries
from web.api.schemas import (
    CancelCase,
    CaseDetail,
    CaseOut,
    CompleteTask,
    DeliverMessage,
    EventOut,
    ListedTaskOut,
    Page,
    SendSignal,
    StartCase,
    TaskOut,
)
from web.auth import Principal, TenantAccess, api_access, api_principal
from web.deps import PlatformDep, UowDep

router = APIRouter(prefix="/api/tenants/{tenant}", tags=["dossiers"])


Clerk = Annotated[TenantAccess, Depends(api_access("agent"))]
Reader = Annotated[TenantAccess, Depends(api_access(*CASE_READERS))]
Member = Annotated[TenantAccess, Depends(api_access())]


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def start_case(
    tenant: str, body: StartCase, access: Clerk, unit: UowDep, p: PlatformDep
) -> CaseOut:
    case = case_services.start_case(
        unit,
        tenant=tenant,
        procedure=body.procedure,
        data=body.data,
        actor=access.actor,
        now=p.clock(),
    )
    unit.commit()
    return CaseOut.of(case)


@router.get("/cases", response_model=Page)
def list_cases(
    tenant: str,
    access: Reader,
    unit: UowDep,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    procedure: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page:
    cases, total = case_queries.search_cases(
        unit, tenant, status=status_filter, procedure=procedure, limit=limit, offset=offset
    )
    return Page(items=[CaseOut.of(c) for c in cases], total=total, limit=limit, offset=offset)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def case_detail(tenant: str, case_id: uuid.UUID, access: Reader, unit: UowDep) -> CaseDetail:
    folder = case_queries.case_folder(unit, tenant, case_id, with_documents=False)
    case, tasks, events = folder.case, folder.tasks, folder.events
    base = CaseOut.of(case).model_dump()
    return CaseDetail(
        **base,
        data=case.data,
        tasks=[TaskOut.of(t) for t in tasks],
        timeline=[EventOut.of(e) for e in events],
    )


@router.get("/tasks", response_model=list[ListedTaskOut])
def my_tasks(
    tenant: str,
    access: Member,
    unit: UowDep,
    p: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    procedure: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[str | None, Query(max_length=30, description="en_retard, proche…")] = None,
    sort: Annotated[str | None, Query(max_length=30, description="date, recent, echeance")] = None,
) -> list[ListedTaskOut]:
    """Unassigned tasks of my roles, and those assigned to me or to whom I deputise for (each
    says on whose behalf), with the dossier each belongs to."""
    listing = task_services.list_tasks(
        unit,
        tenant=tenant,
        actor=access.actor,
        now=p.clock(),
        procedure=procedure,
        state=state,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return [ListedTaskOut.of(r) for r in listing.tasks]


@router.get("/cases/{case_id}/tasks/{task_id}", response_model=TaskOut)
def open_task(
    tenant: str,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    access: Member,
    unit: UowDep,
    p: PlatformDep,
) -> TaskOut:
    """A ready task, if I may act on it: assigned to me or to whom I deputise for, or
    unassigned and of one of my roles (403 otherwise)."""
    opened = task_services.open_task(
        unit, tenant=tenant, case_id=case_id, task_id=task_id, actor=access.actor, now=p.clock()
    )
    return TaskOut.of(opened.task, acting_for=opened.acting_for)


@router.post("/cases/{case_id}/tasks/{task_id}", response_model=CaseOut)
def complete_task(
    tenant: str,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    body: CompleteTask,
    access: Member,
    unit: UowDep,
    p: PlatformDep,
) -> CaseOut:
    # One read of the task: two reads would let a concurrent completion commit in between and
    # turn a lost race into a 404. Not ready: the engine says why, done meanwhile (409) or
    # unknown (404).
    try:
        task: HumanTask | None = task_services.open_task(
            unit, tenant=tenant, case_id=case_id, task_id=task_id, actor=access.actor, now=p.clock()
        ).task
    except NotFound:
        task = None
    if task and asks_password(task.lane) and not access.principal.password_confirmed:
        raise HTTPException(
            403, "Un visa ou une signature se confirme par mot de passe (HTTP Basic)."
        )
    case = case_services.complete_task(
        unit,
        tenant=tenant,
        case_id=case_id,
        task_id=task_id,
        data=body.data,
        actor=access.actor,
        now=p.clock(),
        expected_version=body.version,
    )
    unit.commit()
    return CaseOut.of(case)


@router.post("/cases/{case_id}/cancel", response_model=CaseOut)
def cancel_case(
    tenant: str, case_id: uuid.UUID, body: CancelCase, access: Clerk, unit: UowDep, p: PlatformDep
) -> CaseOut:
    case = case_services.cancel_case(
        unit,
        tenant=tenant,
        case_id=case_id,
        reason=body.reason,
        actor=access.actor,
        now=p.clock(),
    )
    unit.commit()
    return CaseOut.of(case)


def _message_sender(
    tenant: str, unit: UowDep, principal: Annotated[Principal, Depends(api_principal)]
) -> TenantAccess | Principal:
    """The platform operator, or a member of the tenant (the procedure's `messages:` decides)."""
    if principal.is_operator:
        return principal
    return api_access()(tenant, unit, principal)


@router.post("/messages", response_model=CaseOut)
def deliver_message(
    tenant: str,
    body: DeliverMessage,
    sender: Annotated[TenantAccess | Principal, Depends(_message_sender)],
    unit: UowDep,
    p: PlatformDep,
) -> CaseOut:
    """A member delivers a message their procedure declares for one of their roles; the platform
    operator, one declared for `operator`, always with a reason (journaled)."""
    origin = _origin(sender, body.reason)
    case = case_services.deliver_message(
        unit,
        tenant=tenant,
        message=body.name,
        correlation=body.correlation,
        payload=body.payload,
        origin=origin,
        now=p.clock(),
    )
    unit.commit()
    return CaseOut.of(case)


def _origin(sender: TenantAccess | Principal, reason: str | None) -> MessageOrigin:
    if isinstance(sender, Principal):
        operator = Actor(
            user_id=f"user:{sender.username}",
            roles=frozenset({"operator"}),
            display_name=sender.display_name,
        )
        return MessageOrigin.operator(operator, reason or "")
    return MessageOrigin.person(sender.actor)


@router.post("/cases/{case_id}/signals/{signal}", response_model=CaseOut)
def send_signal(
    tenant: str,
    case_id: uuid.UUID,
    signal: Annotated[str, Path(min_length=1, max_length=200)],
    sender: Annotated[TenantAccess | Principal, Depends(_message_sender)],
    unit: UowDep,
    p: PlatformDep,
    body: SendSignal | None = None,
) -> CaseOut:
    """Send a signal the case's procedure declares (`signals:`) for one of the member's roles,
    or for `operator` (with a reason, journaled); its catch events fire."""
    case = case_services.deliver_signal(
        unit,
        tenant=tenant,
        case_id=case_id,
        signal=signal,
        origin=_origin(sender, body.reason if body else None),
        now=p.clock(),
    )
    unit.commit()
    return CaseOut.of(case)


@router.get("/cases/{case_id}/timeline", response_model=list[EventOut])
def case_timeline(tenant: str, case_id: uuid.UUID, access: Reader, unit: UowDep) -> list[EventOut]:
    return [EventOut.of(e) for e in case_services.timeline(unit, tenant, case_id)]
