"""Operator screens for procedure versions: which version each tenant starts on, deploying a
stored version for one more tenant or all, and migrating running cases (dry run, apply case
by case, rollback)."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from engine.domain.errors import DematflowError
from engine.domain.model import Actor
from engine.services import procedure_versions as pv
from engine.services.queries import accounts as account_queries
from web.auth import Principal, page_operator
from web.deps import PlatformDep, UowDep
from web.pages.common import flash, see_other
from web.security import check_csrf
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
Operator = Annotated[Principal, Depends(page_operator)]
MAX_CASES_PER_POST = 500


def _actor(principal: Principal) -> Actor:
    return Actor(f"user:{principal.username}", frozenset({"operator"}), principal.display_name)


def _plan_url(procedure: str, target: str, tenant: str) -> str:
    query = {"procedure": procedure, "cible": target}
    if tenant:
        query["collectivite"] = tenant
    return "/exploitation/versions/migration?" + urlencode(query)


@router.get("/exploitation/versions")
def versions(request: Request, principal: Operator, unit: UowDep) -> Response:
    all_versions, rows = pv.tenant_versions(unit)
    return render(
        request,
        "operator_versions.html",
        {
            "versions": all_versions,
            "rows": rows,
            "tenants": account_queries.all_tenants(unit),
            "migrations": pv.recent_migrations(unit),
            "labels": {v.hash: v.label for v in all_versions},
            # Newest first within a procedure: the first title seen is the current one.
            "titles": {v.procedure: v.title for v in reversed(all_versions)},
            "flash": request.session.pop("flash", None),
        },
    )


@router.post("/exploitation/versions/deployer")
def deploy(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    version: Annotated[str, Form(max_length=64)] = "",
    pour: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Deploy a stored version for one more tenant (`pour` = SIREN) or for all (`toutes`)."""
    tenant = None if pour == "toutes" else pour
    try:
        bundle = pv.stored_bundle(unit, version)
        deployed = pv.deploy_version(
            unit,
            bundle,
            operations=p.operations,
            tenant=tenant,
            actor=_actor(principal),
            now=p.clock(),
        )
    except DematflowError as exc:
        flash(request, f"Déploiement impossible : {exc}")
        return see_other("/exploitation/versions")
    unit.commit()
    scope = f"la collectivité {tenant}" if tenant else "toutes les collectivités"
    if deployed.recorded:
        flash(request, f"« {deployed.title} » v{deployed.number} déployée pour {scope}.")
    else:
        flash(request, f"« {deployed.title} » v{deployed.number} l'était déjà pour {scope}.")
    return see_other("/exploitation/versions")


@router.get("/exploitation/versions/migration")
def plan(
    request: Request,
    principal: Operator,
    unit: UowDep,
    procedure: str = "",
    cible: str = "",
    collectivite: str = "",
) -> Response:
    """Dry run: nothing is written."""
    tenants = [collectivite] if collectivite else None
    try:
        migration = pv.plan_migration(
            unit, procedure=procedure[:100], target=cible[:64], tenants=tenants
        )
    except DematflowError as exc:
        flash(request, f"Migration impossible à préparer : {exc}")
        return see_other("/exploitation/versions")
    return render(
        request,
        "operator_migration.html",
        {
            "plan": migration,
            "collectivite": collectivite,
            "flash": request.session.pop("flash", None),
        },
    )


@router.post("/exploitation/versions/migration")
def apply(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    procedure: Annotated[str, Form(max_length=100)] = "",
    cible: Annotated[str, Form(max_length=64)] = "",
    collectivite: Annotated[str, Form(max_length=20)] = "",
    dossier: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    """Apply the migration to one case (`dossier` = `SIREN:id`) or to every migrable case of
    the plan (`dossier` = `tous`), each in its own transaction."""
    back = _plan_url(procedure, cible, collectivite)
    tenants = [collectivite] if collectivite else None
    try:
        migration = pv.plan_migration(unit, procedure=procedure, target=cible, tenants=tenants)
    except DematflowError as exc:
        flash(request, f"Migration impossible : {exc}")
        return see_other("/exploitation/versions")
    # The request's own unit ends here (on SQLite it would hold the write lock): each case
    # moves in a transaction of its own.
    unit.commit()
    if dossier == "tous":
        chosen = list(migration.migrable)[:MAX_CASES_PER_POST]
    else:
        chosen = [c for c in migration.cases if f"{c.tenant}:{c.case_id}" == dossier]
        if not chosen:
            flash(request, "Ce dossier n'est plus à migrer vers cette version.")
            return see_other(back)
    moved, refused = [], []
    for case in chosen:
        try:
            with p.uow() as case_unit:
                pv.apply_migration(
                    case_unit,
                    tenant=case.tenant,
                    case_id=case.case_id,
                    target=migration.target.hash,
                    actor=_actor(principal),
                    now=p.clock(),
                )
                case_unit.commit()
        except DematflowError as exc:
            refused.append(f"{case.reference} : {exc}")
            continue
        moved.append(case.reference)
    message = f"{len(moved)} dossier(s) passé(s) en {migration.target.label}"
    if moved:
        message += " : " + ", ".join(moved)
    if refused:
        message += ". Non migré(s) : " + " ; ".join(refused)
    flash(request, message + ".")
    return see_other(back)


@router.post("/exploitation/versions/dossiers/{tenant}/{case_id}/revenir")
def rollback(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    tenant: str,
    case_id: uuid.UUID,
) -> Response:
    try:
        pv.rollback_migration(
            unit, tenant=tenant, case_id=case_id, actor=_actor(principal), now=p.clock()
        )
    except DematflowError as exc:
        flash(request, f"Retour impossible : {exc}")
        return see_other("/exploitation/versions#migrations")
    unit.commit()
    flash(request, "Dossier revenu à la version précédente de sa procédure.")
    return see_other("/exploitation/versions#migrations")
