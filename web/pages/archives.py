"""Archivist screens: the journal, sealed records (search, package, verify now, DIP), audit
reports and the decisions due at the end of a DUA."""

from __future__ import annotations

import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from engine.domain.errors import InvalidInput, NotFound
from engine.services.archives import (
    ArchiveSetup,
    ArchiveUnavailable,
    archive_setup,
    decide_retention,
    export_package_dip,
    pending_decisions,
    search_packages,
    verify_stored_package,
)
from engine.services.audit import verify_journal
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.common import flash, see_other, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

Archivist = Annotated[TenantAccess, Depends(page_access("archiviste"))]


def _require_package(unit: UowDep, access: TenantAccess, package_id: str) -> None:
    """404 before anything else: an unknown package, or another tenant's, does not exist here."""
    if unit.archives.get(access.tenant.siren, package_id) is None:
        raise NotFound("Paquet d'archives introuvable.")


def _setup(p: PlatformDep) -> ArchiveSetup:
    cached = p.extras.get("archive_setup")
    if not isinstance(cached, ArchiveSetup):
        cached = archive_setup(p.settings)
        p.extras["archive_setup"] = cached
    return cached


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise InvalidInput("Date invalide (format AAAA-MM-JJ attendu).") from exc


@router.get("/c/{tenant}/archives")
def archives(
    request: Request,
    access: Archivist,
    unit: UowDep,
    p: PlatformDep,
    q: Annotated[str, Query(max_length=200)] = "",
    procedure: Annotated[str, Query(max_length=100)] = "",
    numero: Annotated[str, Query(max_length=15)] = "",
    du: Annotated[str, Query(max_length=10)] = "",
    au: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    siren = access.tenant.siren
    seq, head = unit.journal.head(siren)
    packages = search_packages(
        unit,
        siren,
        procedure=procedure,
        act_number=numero,
        closed_from=_day(du),
        closed_to=_day(au),
        keywords=q,
    )
    context = {
        "seq": seq,
        "head": head,
        "report": None,
        "packages": packages,
        "query": {"q": q, "procedure": procedure, "numero": numero, "du": du, "au": au},
        "counts": unit.archives.count_by_state(siren),
        "due": pending_decisions(unit, siren, today=p.clock().date()),
        "runs": unit.archives.runs(siren, limit=10),
    }
    return tenant_page(request, access, "archives.html", context)


@router.post("/c/{tenant}/archives/journal/verifier")
def verify(request: Request, access: Archivist, unit: UowDep) -> Response:
    report = verify_journal(unit, access.tenant.siren)
    seq, head = unit.journal.head(access.tenant.siren)
    context = {"seq": seq, "head": head, "report": report, "packages": None, "query": {}}
    return tenant_page(request, access, "archives.html", context)


def _package_page(
    request: Request, access: Archivist, unit: UowDep, package_id: str, report: object = None
) -> Response:
    package = unit.archives.get(access.tenant.siren, package_id)
    if package is None:
        raise NotFound("Paquet d'archives introuvable.")
    context = {
        "package": package,
        "decisions": unit.archives.decisions(access.tenant.siren, package_id),
        "verification": report,
    }
    return tenant_page(request, access, "archives_package.html", context)


@router.get("/c/{tenant}/archives/paquets/{package_id}")
def package_page(request: Request, access: Archivist, unit: UowDep, package_id: str) -> Response:
    return _package_page(request, access, unit, package_id)


@router.post("/c/{tenant}/archives/paquets/{package_id}/verifier")
def verify_package_now(
    request: Request, access: Archivist, unit: UowDep, p: PlatformDep, package_id: str
) -> Response:
    _require_package(unit, access, package_id)
    report = verify_stored_package(unit, _setup(p), access.tenant.siren, package_id)
    return _package_page(request, access, unit, package_id, report)


@router.get("/c/{tenant}/archives/paquets/{package_id}/dip")
def download_dip(access: Archivist, unit: UowDep, p: PlatformDep, package_id: str) -> Response:
    _require_package(unit, access, package_id)
    directory = Path(tempfile.mkdtemp(prefix="dematflow-dip-"))
    target = directory / f"{package_id}.zip"
    export_package_dip(
        unit, _setup(p), access.tenant.siren, package_id, target, actor=access.actor, now=p.clock()
    )
    unit.commit()
    cleanup = BackgroundTask(_remove, directory)
    return FileResponse(
        target, media_type="application/zip", filename=target.name, background=cleanup
    )


def _remove(directory: Path) -> None:
    for item in directory.iterdir():
        item.unlink()
    directory.rmdir()


@router.post("/c/{tenant}/archives/paquets/{package_id}/sort-final")
def retention_decision(
    request: Request,
    access: Archivist,
    unit: UowDep,
    p: PlatformDep,
    package_id: str,
    decision: Annotated[str, Form(max_length=20)],
    annees: Annotated[int | None, Form()] = None,
    commentaire: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _require_package(unit, access, package_id)
    try:
        result = decide_retention(
            unit,
            _setup(p),
            access.tenant.siren,
            package_id,
            decision=decision,
            actor=access.actor,
            now=p.clock(),
            years=annees,
            comment=commentaire,
        )
    except (InvalidInput, ArchiveUnavailable) as exc:
        flash(request, f"Décision non appliquée : {exc}")
        return see_other(f"/c/{access.tenant.siren}/archives/paquets/{package_id}")
    unit.commit()
    flash(request, result.outcome)
    return see_other(f"/c/{access.tenant.siren}/archives/paquets/{package_id}")


@router.get("/c/{tenant}/archives/audits/{run_id}")
def audit_report(request: Request, access: Archivist, unit: UowDep, run_id: uuid.UUID) -> Response:
    run = unit.archives.run(access.tenant.siren, run_id)
    if run is None:
        raise NotFound("Audit introuvable.")
    findings = unit.archives.findings(access.tenant.siren, run_id)
    return tenant_page(request, access, "archives_audit.html", {"run": run, "findings": findings})
