"""Élu screens (parapheur): what awaits a visa or a signature, and signing a batch at once.

A batch signs each document separately (engine.services.batch): one refusal leaves the others
signed, and is named with its case.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.model import Document
from engine.domain.task_access import SIGNATORY_LANE
from engine.jobs.runner import TransactionRunner
from engine.services import batch
from engine.services.queries import cases as case_queries
from engine.services.task_access import ListedTask
from engine.services.unit_of_work import UnitOfWork
from web.auth import TenantAccess, page_access
from web.confirmation import confirm_signature, confirmation_for
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, Paging, PagingDep, flash, see_other, tenant_page
from web.pages.task_lists import TaskFilters, TaskFiltersDep, task_list_context
from web.previews import preview_cache
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

Signatory = Annotated[TenantAccess, Depends(page_access(SIGNATORY_LANE))]
BATCH_DECISION = {"decision": "signer"}
"""What a batch signature submits to each task's form."""
MAX_BATCH = 100


def _context(
    request: Request,
    unit: UnitOfWork,
    access: TenantAccess,
    p: PlatformDep,
    page: Paging,
    filters: TaskFilters,
) -> dict[str, Any]:
    """Unassigned élu tasks, the élu's own, and those of whom they stand in for (delegation),
    each with the documents of its case, the last one first (what is to be signed), and whether
    each has a preview."""
    context = task_list_context(request, unit, access, p, page, filters, lanes=[SIGNATORY_LANE])
    rows: list[ListedTask] = context["rows"]
    documents: dict[uuid.UUID, list[Document]] = {}
    for case_id in dict.fromkeys(r.task.case_id for r in rows):
        documents[case_id] = list(
            reversed(case_queries.case_documents(unit, access.tenant.siren, case_id))
        )
    cache = preview_cache(request.app.state.platform)
    shown = [d for docs in documents.values() for d in docs[:1]]
    context.update(documents=documents, previews=cache.available(shown, unit), errors=[])
    context["confirm"] = confirmation_for(unit, access)
    return context


@router.get("/c/{tenant}/parapheur")
def parapheur(
    request: Request,
    access: Signatory,
    unit: UowDep,
    p: PlatformDep,
    page: PagingDep,
    filters: TaskFiltersDep,
) -> Response:
    context = _context(request, unit, access, p, page, filters)
    return tenant_page(request, access, "parapheur.html", context)


def _selected(values: list[str]) -> list[uuid.UUID]:
    task_ids = []
    for value in values[:MAX_BATCH]:
        _case_id, _sep, task_id = value.partition(":")
        try:
            task_ids.append(uuid.UUID(task_id))
        except ValueError:
            continue
    return task_ids


@router.post("/c/{tenant}/parapheur/signer")
def sign_batch(
    request: Request, access: Signatory, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    """Each selected document is signed in its own transaction; refusals are listed by case."""
    selected = _selected([v for v in form.getlist("taches") if isinstance(v, str)])
    errors: list[str] = []
    if not selected:
        errors.append("Cochez au moins un document à signer.")
    elif refused := confirm_signature(
        request, unit, access, form.get("confirmation"), form.get("code_confirmation")
    ):
        errors.append(f"{refused.rstrip('.')} : rien n'a été signé.")
    else:
        # End the request's transaction first: each signature takes its own (SQLite: one writer).
        unit.commit()
        outcomes = batch.sign_batch(
            TransactionRunner(p.uow),
            tenant=access.tenant.siren,
            actor=access.actor,
            task_ids=selected,
            data=dict(BATCH_DECISION),
            now=p.clock(),
        )
        signed = sum(o.done for o in outcomes)
        errors = [
            f"Dossier {o.reference or 'inconnu'} : {o.message} Ce document n'a pas été signé."
            for o in outcomes
            if not o.done
        ]
        if errors:
            errors.insert(0, f"{signed} document(s) signé(s) ; {len(errors)} refusé(s).")
    if errors:
        context = _context(request, unit, access, p, Paging(MAX_BATCH, 0), TaskFilters())
        context.update(errors=errors, links={})
        return tenant_page(request, access, "parapheur.html", context, status=422)
    flash(request, f"{len(selected)} document(s) signé(s).")
    return see_other(f"/c/{access.tenant.siren}/parapheur")
