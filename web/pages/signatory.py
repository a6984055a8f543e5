"""Élu screens (parapheur): what awaits a visa or a signature, and signing a batch at once."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import DematflowError
from engine.services import cases as case_services
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.cases import confirm_password
from web.pages.common import FormDep, PagingDep, flash, see_other, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

Signatory = Annotated[TenantAccess, Depends(page_access("elu"))]
BATCH_DECISION = {"decision": "signer"}
"""What a batch signature submits to each task's form."""
MAX_BATCH = 100


@router.get("/c/{tenant}/parapheur")
def parapheur(request: Request, access: Signatory, unit: UowDep, page: PagingDep) -> Response:
    tasks = unit.cases.human_tasks(
        access.tenant.siren, lanes=["elu"], limit=page.limit + 1, offset=page.offset
    )
    more = len(tasks) > page.limit
    links = page.links(request, page.offset + page.limit + (1 if more else 0))
    context = {"tasks": tasks[: page.limit], "links": links, "errors": []}
    return tenant_page(request, access, "parapheur.html", context)


def _selected(values: list[str]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    pairs = []
    for value in values[:MAX_BATCH]:
        case_id, _sep, task_id = value.partition(":")
        try:
            pairs.append((uuid.UUID(case_id), uuid.UUID(task_id)))
        except ValueError:
            continue
    return pairs


@router.post("/c/{tenant}/parapheur/signer")
def sign_batch(
    request: Request, access: Signatory, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    """All or nothing: one transaction; if one task refuses, none is signed and it is named."""
    selected = _selected([v for v in form.getlist("taches") if isinstance(v, str)])
    errors: list[str] = []
    password = form.get("confirmation")
    if not selected:
        errors.append("Cochez au moins un document à signer.")
    elif not isinstance(password, str) or not confirm_password(request, unit, access, password):
        errors.append("Mot de passe de confirmation incorrect : rien n'a été signé.")
    else:
        for case_id, task_id in selected:
            try:
                case_services.complete_task(
                    unit,
                    tenant=access.tenant.siren,
                    case_id=case_id,
                    task_id=task_id,
                    data=dict(BATCH_DECISION),
                    actor=access.actor,
                    now=p.clock(),
                )
            except DematflowError as exc:
                case = unit.cases.get(access.tenant.siren, case_id)
                errors.append(f"Dossier {case.reference} : {exc}. Rien n'a été signé.")
                break
    if errors:
        tasks = unit.cases.human_tasks(access.tenant.siren, lanes=["elu"], limit=100)
        context = {"tasks": tasks, "links": {}, "errors": errors}
        return tenant_page(request, access, "parapheur.html", context, status=422)
    unit.commit()
    flash(request, f"{len(selected)} document(s) signé(s).")
    return see_other(f"/c/{access.tenant.siren}/parapheur")
