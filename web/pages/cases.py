"""Clerk screens: catalogue of procedures, inbox, list of cases, case page, task forms."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from engine.domain.errors import Conflict, FormValidationError
from engine.domain.model import HumanTask
from engine.persistence.uow import UnitOfWork
from engine.services import cases as case_services
from engine.services.admin import check_password
from web.auth import TenantAccess, client_address, page_access
from web.deps import PlatformDep, UowDep
from web.forms import errors_by_field, fields_of, read_form
from web.pages.common import FormDep, PagingDep, flash, see_other, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

READERS = ("agent", "elu", "archiviste")
"""Roles that see a tenant's cases (the tenant admin manages people, not cases)."""
CONFIRM_LANES = frozenset({"elu"})
"""Tasks of these lanes (visas and signatures) ask for the password again, every time."""

Clerk = Annotated[TenantAccess, Depends(page_access("agent"))]
Reader = Annotated[TenantAccess, Depends(page_access(*READERS))]
Member = Annotated[TenantAccess, Depends(page_access())]


@router.get("/c/{tenant}/procedures")
def catalogue(request: Request, access: Clerk, unit: UowDep) -> Response:
    procedures = unit.specs.catalogue()
    return tenant_page(request, access, "catalogue.html", {"procedures": procedures})


@router.post("/c/{tenant}/procedures/{procedure}/demarrer")
def start(
    request: Request, procedure: str, access: Clerk, unit: UowDep, p: PlatformDep
) -> Response:
    case = case_services.start_case(
        unit,
        tenant=access.tenant.siren,
        procedure=procedure,
        data={},
        actor=access.actor,
        now=p.clock(),
    )
    unit.commit()
    flash(request, f"Dossier {case.reference} créé.")
    mine = [
        t
        for t in unit.cases.human_tasks(access.tenant.siren, case_id=case.id)
        if t.lane is None or t.lane in access.roles
    ]
    base = f"/c/{access.tenant.siren}/dossiers/{case.id}"
    return see_other(f"{base}/taches/{mine[0].id}" if mine else base)


@router.get("/c/{tenant}/taches")
def inbox(
    request: Request, access: Member, unit: UowDep, page: PagingDep, role: str | None = None
) -> Response:
    lanes = sorted(access.roles & {role}) if role else sorted(access.roles)
    tasks = unit.cases.human_tasks(
        access.tenant.siren, lanes=lanes, limit=page.limit + 1, offset=page.offset
    )
    more = len(tasks) > page.limit
    links = page.links(request, page.offset + page.limit + (1 if more else 0))
    context = {"tasks": tasks[: page.limit], "role": role, "links": links}
    return tenant_page(request, access, "inbox.html", context)


@router.get("/c/{tenant}/dossiers")
def case_list(
    request: Request,
    access: Reader,
    unit: UowDep,
    page: PagingDep,
    statut: str | None = None,
    procedure: str | None = None,
) -> Response:
    cases, total = unit.cases.search(
        access.tenant.siren,
        status=statut or None,
        procedure=procedure or None,
        limit=page.limit,
        offset=page.offset,
    )
    context = {
        "cases": cases,
        "total": total,
        "statut": statut,
        "procedure": procedure,
        "procedures": unit.specs.catalogue(),
        "links": page.links(request, total),
        "offset": page.offset,
    }
    return tenant_page(request, access, "cases.html", context)


@router.get("/c/{tenant}/dossiers/{case_id}")
def case_page(request: Request, case_id: uuid.UUID, access: Reader, unit: UowDep) -> Response:
    case = unit.cases.get(access.tenant.siren, case_id)
    tasks = unit.cases.human_tasks(access.tenant.siren, case_id=case_id)
    events = unit.journal.for_case(access.tenant.siren, case_id)
    context = {"case": case, "tasks": tasks, "events": events}
    return tenant_page(request, access, "case.html", context)


def _task(
    unit: UnitOfWork, access: TenantAccess, case_id: uuid.UUID, task_id: uuid.UUID
) -> HumanTask:
    for task in unit.cases.human_tasks(access.tenant.siren, case_id=case_id):
        if task.id == task_id:
            if task.lane and task.lane not in access.roles:
                raise HTTPException(403, f"Cette tâche revient au rôle « {task.lane} ».")
            return task
    raise HTTPException(404, "Cette tâche n'existe pas ou a déjà été traitée.")


def _task_page(
    request: Request,
    access: TenantAccess,
    unit: UowDep,
    case_id: uuid.UUID,
    task: HumanTask,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    case = unit.cases.get(access.tenant.siren, case_id)
    context = {
        "case": case,
        "task": task,
        "fields": fields_of(task.form, values, errors),
        "general": general or [],
        "confirm": task.lane in CONFIRM_LANES,
    }
    return tenant_page(request, access, "task.html", context, status=status)


@router.get("/c/{tenant}/dossiers/{case_id}/taches/{task_id}")
def task_form(
    request: Request, case_id: uuid.UUID, task_id: uuid.UUID, access: Reader, unit: UowDep
) -> Response:
    task = _task(unit, access, case_id, task_id)
    return _task_page(request, access, unit, case_id, task)


def confirm_password(
    request: Request, unit: UnitOfWork, access: TenantAccess, password: str
) -> bool:
    """Re-authentication before a visa or signature; failures count as failed logins."""
    row = unit.users.by_id(access.principal.user_id)
    limiter = request.app.state.login_limiter
    address = client_address(request)
    if limiter.retry_after(access.principal.username, address):
        return False
    if row is not None and check_password(row.password_hash, password):
        return True
    limiter.failed(access.principal.username, address)
    return False


@router.post("/c/{tenant}/dossiers/{case_id}/taches/{task_id}")
def submit_task(
    request: Request,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    access: Reader,
    unit: UowDep,
    p: PlatformDep,
    form: FormDep,
) -> Response:
    task = _task(unit, access, case_id, task_id)
    data = read_form(task.form, form)
    show = {k: v for k, v in form.items() if isinstance(v, str)}
    if task.lane in CONFIRM_LANES:
        password = form.get("confirmation")
        if not isinstance(password, str) or not confirm_password(request, unit, access, password):
            general = [
                "Mot de passe de confirmation incorrect : votre décision n'a pas été enregistrée."
            ]
            return _task_page(
                request, access, unit, case_id, task, values=show, general=general, status=403
            )
    version = form.get("version")
    try:
        case_services.complete_task(
            unit,
            tenant=access.tenant.siren,
            case_id=case_id,
            task_id=task_id,
            data=data,
            actor=access.actor,
            now=p.clock(),
            expected_version=int(version)
            if isinstance(version, str) and version.isdigit()
            else None,
        )
    except FormValidationError as exc:
        errors, general = errors_by_field(task.form, exc.errors)
        return _task_page(
            request,
            access,
            unit,
            case_id,
            task,
            values=show,
            errors=errors,
            general=general,
            status=422,
        )
    except Conflict as exc:
        return _task_page(
            request, access, unit, case_id, task, values=show, general=[str(exc)], status=409
        )
    unit.commit()
    flash(request, f"« {task.title} » : enregistré.")
    return see_other(f"/c/{access.tenant.siren}/dossiers/{case_id}")
