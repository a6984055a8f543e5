"""Helpers for engine tests: tenants, actors, running jobs in-process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from engine.bootstrap import Platform
from engine.domain.model import Actor, Case
from engine.domain.training import real_time
from engine.operations.base import OperationContext
from engine.operations.runner import JobOutcome, run_job, run_operation
from engine.services import admin
from engine.services import cases as case_services

OPERATOR = Actor.system("tests")
AGENT = Actor("user:agent", frozenset({"agent"}), "Agent")
ELU = Actor("user:maire", frozenset({"elu"}), "Le Maire")


def luhn_siren(prefix: str) -> str:
    """Complete an 8-digit prefix into a SIREN with a valid Luhn key."""
    for last in range(10):
        candidate = f"{prefix}{last}"
        total = 0
        for index, char in enumerate(reversed(candidate)):
            digit = int(char) * (2 if index % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        if total % 10 == 0:
            return candidate
    raise AssertionError(prefix)


SIREN_A = luhn_siren("21340000")
SIREN_B = luhn_siren("21690000")


def make_tenants(platform: Platform) -> None:
    with platform.uow() as uow:
        for siren, name in (
            (SIREN_A, "Commune de Montpellier-le-Test"),
            (SIREN_B, "Commune de Lyon-le-Test"),
        ):
            admin.create_tenant(uow, siren=siren, name=name, actor=OPERATOR, now=platform.clock())
        uow.commit()


def start(
    platform: Platform, procedure: str, data: dict[str, Any] | None = None, tenant: str = SIREN_A
) -> Case:
    with platform.uow() as uow:
        case = case_services.start_case(
            uow,
            tenant=tenant,
            procedure=procedure,
            data=data or {},
            actor=AGENT,
            now=platform.clock(),
        )
        uow.commit()
    return case


def ready(platform: Platform, case: Case, tenant: str = SIREN_A) -> dict[str, uuid.UUID]:
    with platform.uow() as uow:
        return {t.name: t.id for t in uow.cases.human_tasks(tenant, case_id=case.id)}


def complete(
    platform: Platform,
    case: Case,
    task: str,
    data: dict[str, Any],
    actor: Actor = AGENT,
    tenant: str = SIREN_A,
) -> Case:
    task_id = ready(platform, case, tenant)[task]
    with platform.uow() as uow:
        updated = case_services.complete_task(
            uow,
            tenant=tenant,
            case_id=case.id,
            task_id=task_id,
            data=data,
            actor=actor,
            now=platform.clock(),
        )
        uow.commit()
    return updated


def get(platform: Platform, case: Case, tenant: str = SIREN_A) -> Case:
    with platform.uow() as uow:
        return uow.cases.get(tenant, case.id)


def run_pending_jobs(platform: Platform, case: Case) -> list[JobOutcome]:
    outcomes = []
    with platform.uow() as uow:
        jobs = [
            j
            for j in uow.jobs.for_case(case.tenant, case.id)
            if j.state.value in ("pending", "sent")
        ]
    for job in jobs:
        outcomes.append(
            run_job(
                job.id,
                uow_factory=platform.uow,
                operations=platform.operations,
                clock=platform.clock,
            )
        )
    return outcomes


def fixed_clock(moment: datetime) -> Any:
    return lambda: moment


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def call_operation(
    platform: Platform,
    name: str,
    params: dict[str, Any],
    *,
    case_id: uuid.UUID | None = None,
    key: str | None = None,
    tenant: str = SIREN_A,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Run an operation's three phases by its BPMN name, outside a job (no case advances)."""
    ctx = OperationContext(
        tenant=tenant,
        case_id=case_id or uuid.uuid4(),
        operation=name,
        idempotency_key=key or str(uuid.uuid4()),
        now=now or platform.clock(),
        real_now=now or real_time(platform.clock),
        resources=platform.operations.resources,
    )
    operation = platform.operations.get(name)
    return run_operation(operation, ctx, params, platform.uow, lambda _uow, result: result)
