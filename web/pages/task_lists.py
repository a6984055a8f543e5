"""Task lists: the inbox (every role) and the rows the parapheur shows, each saying which dossier
a task belongs to, with filters and sorting as plain GET parameters (no JavaScript needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from engine.domain.french import format_date_fr
from engine.services import task_access as task_services
from engine.services.archives.transfer import rejected_transfers
from engine.services.queries import cases as case_queries
from engine.services.unit_of_work import UnitOfWork
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.cases import countdown
from web.pages.common import Paging, PagingDep, tenant_page

router = APIRouter(include_in_schema=False)

Member = Annotated[TenantAccess, Depends(page_access())]


def task_list_context(
    request: Request,
    unit: UnitOfWork,
    access: TenantAccess,
    p: PlatformDep,
    page: Paging,
    filters: TaskFilters,
    *,
    lanes: list[str] | None = None,
) -> dict[str, Any]:
    """Rows, filters and paging links of a task list (inbox, parapheur), from plain GET
    parameters so that they work without JavaScript."""
    listing = task_services.list_tasks(
        unit,
        tenant=access.tenant.siren,
        actor=access.actor,
        now=p.clock(),
        lanes=lanes if lanes is not None else ([filters.role] if filters.role else None),
        assignment=filters.assignation,
        procedure=filters.procedure,
        state=filters.etat,
        sort=filters.tri,
        limit=page.limit,
        offset=page.offset,
    )
    now = p.clock()
    due = {
        r.task.id: (format_date_fr(r.deadline.local_date), *countdown(r.deadline, now))
        for r in listing.tasks
        if r.deadline is not None
    }
    return {
        "due": due,
        "rows": listing.tasks,
        "total": listing.total,
        "truncated": listing.truncated,
        "acting": listing.acting,
        "filters": filters,
        "assignations": task_services.ASSIGNMENTS,
        "states": task_services.STATES,
        "sorts": task_services.SORTS,
        "procedures": case_queries.procedure_catalogue(unit),
        "links": page.links(request, listing.total),
    }


@dataclass(frozen=True)
class TaskFilters:
    """The GET parameters of a task list (all optional)."""

    role: str | None = None
    assignation: str | None = None
    procedure: str | None = None
    etat: str | None = None
    tri: str | None = None


def task_filters(
    role: Annotated[str | None, Query(max_length=30)] = None,
    assignation: Annotated[str | None, Query(max_length=30)] = None,
    procedure: Annotated[str | None, Query(max_length=100)] = None,
    etat: Annotated[str | None, Query(max_length=30)] = None,
    tri: Annotated[str | None, Query(max_length=30)] = None,
) -> TaskFilters:
    return TaskFilters(role or None, assignation or None, procedure or None, etat or None, tri)


TaskFiltersDep = Annotated[TaskFilters, Depends(task_filters)]


@router.get("/c/{tenant}/taches")
def inbox(
    request: Request,
    access: Member,
    unit: UowDep,
    p: PlatformDep,
    page: PagingDep,
    filters: TaskFiltersDep,
) -> Response:
    """Unassigned tasks of my roles, tasks assigned to me and to those I deputise for; for an
    archivist, also the versements the SAE refused, to take up with its reasons."""
    context = task_list_context(request, unit, access, p, page, filters)
    if "archiviste" in access.roles:
        context["sae_rejected"] = rejected_transfers(unit, access.tenant.siren)
    return tenant_page(request, access, "inbox.html", context)
