"""Cases, tasks and messages of a tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from engine.bootstrap import Platform
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork
from engine.services import cases as case_services
from web.api.schemas import (
    CancelCase,
    CaseDetail,
    CaseOut,
    CompleteTask,
    DeliverMessage,
    EventOut,
    Page,
    StartCase,
    TaskOut,
)
from web.deps import platform, tenant_actor, uow

router = APIRouter(prefix="/api/tenants/{tenant}", tags=["dossiers"])

ActorDep = Annotated[Actor, Depends(tenant_actor)]
UowDep = Annotated[UnitOfWork, Depends(uow)]
PlatformDep = Annotated[Platform, Depends(platform)]


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CaseOut)
def start_case(
    tenant: str, body: StartCase, actor: ActorDep, unit: UowDep, p: PlatformDep
) -> CaseOut:
    case = case_services.start_case(
        unit, tenant=tenant, procedure=body.procedure, data=body.data, actor=actor, now=p.clock()
    )
    unit.commit()
    return CaseOut.of(case)


@router.get("/cases", response_model=Page)
def list_cases(
    tenant: str,
    actor: ActorDep,
    unit: UowDep,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    procedure: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page:
    cases, total = unit.cases.search(
        tenant, status=status_filter, procedure=procedure, limit=limit, offset=offset
    )
    return Page(items=[CaseOut.of(c) for c in cases], total=total, limit=limit, offset=offset)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def case_detail(tenant: str, case_id: uuid.UUID, actor: ActorDep, unit: UowDep) -> CaseDetail:
    case = unit.cases.get(tenant, case_id)
    tasks = unit.cases.human_tasks(tenant, case_id=case_id)
    events = unit.journal.for_case(tenant, case_id)
    base = CaseOut.of(case).model_dump()
    return CaseDetail(
        **base,
        data=case.data,
        tasks=[TaskOut.of(t) for t in tasks],
        timeline=[EventOut.of(e) for e in events],
    )


@router.get("/tasks", response_model=list[TaskOut])
def my_tasks(
    tenant: str,
    actor: ActorDep,
    unit: UowDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TaskOut]:
    tasks = unit.cases.human_tasks(tenant, lanes=sorted(actor.roles), limit=limit, offset=offset)
    return [TaskOut.of(t) for t in tasks]


@router.post("/cases/{case_id}/tasks/{task_id}", response_model=CaseOut)
def complete_task(
    tenant: str,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    body: CompleteTask,
    actor: ActorDep,
    unit: UowDep,
    p: PlatformDep,
) -> CaseOut:
    case = case_services.complete_task(
        unit,
        tenant=tenant,
        case_id=case_id,
        task_id=task_id,
        data=body.data,
        actor=actor,
        now=p.clock(),
        expected_version=body.version,
    )
    unit.commit()
    return CaseOut.of(case)


@router.post("/cases/{case_id}/cancel", response_model=CaseOut)
def cancel_case(
    tenant: str, case_id: uuid.UUID, body: CancelCase, actor: ActorDep, unit: UowDep, p: PlatformDep
) -> CaseOut:
    case = case_services.cancel_case(
        unit, tenant=tenant, case_id=case_id, reason=body.reason, actor=actor, now=p.clock()
    )
    unit.commit()
    return CaseOut.of(case)


@router.post("/messages", response_model=CaseOut)
def deliver_message(
    tenant: str, body: DeliverMessage, actor: ActorDep, unit: UowDep, p: PlatformDep
) -> CaseOut:
    case = case_services.deliver_message(
        unit,
        tenant=tenant,
        message=body.name,
        correlation=body.correlation,
        payload=body.payload,
        actor=actor,
        now=p.clock(),
    )
    unit.commit()
    return CaseOut.of(case)


@router.get("/cases/{case_id}/timeline", response_model=list[EventOut])
def case_timeline(tenant: str, case_id: uuid.UUID, actor: ActorDep, unit: UowDep) -> list[EventOut]:
    return [EventOut.of(e) for e in case_services.timeline(unit, tenant, case_id)]
