"""Archivist screens: the journal, sealed records (search, package, verify now, DIP), audit
reports and the decisions due at the end of a DUA."""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from archiving import ArchivingError
from archiving.destruction import MAX_VISA_BYTES, EliminationVisa
from engine.domain.errors import Forbidden, InvalidInput, NotFound
from engine.services.archives.decisions import (
    decide_retention,
    destruction_record,
    pending_decisions,
)
from engine.services.archives.exports import export_package_dip, verify_stored_package
from engine.services.archives.holds import set_legal_hold
from engine.services.archives.journal_checks import check_journal_completeness, verify_journal
from engine.services.archives.search import (
    SEARCH_COUNT_CAP,
    SEARCH_PAGE_SIZE,
    SearchFilters,
    search_archives,
)
from engine.services.archives.setup import ArchiveSetup, ArchiveUnavailable
from engine.services.archives.transfer import read_endpoint, rejected_transfers, transfers_for
from engine.services.queries import archives as archive_queries
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep, archive_setup_of
from web.display import TYPOLOGY_LABELS
from web.pages import archives_transfer
from web.pages.common import flash, see_other, tenant_page
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
router.include_router(archives_transfer.router)

Archivist = Annotated[TenantAccess, Depends(page_access("archiviste"))]


def _require_package(unit: UowDep, access: TenantAccess, package_id: str) -> None:
    """404 before anything else: an unknown package, or another tenant's, does not exist here."""
    if archive_queries.find_package(unit, access.tenant.siren, package_id) is None:
        raise NotFound("Paquet d'archives introuvable.")


def _setup(p: PlatformDep) -> ArchiveSetup:
    return archive_setup_of(p)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise InvalidInput("Date invalide (format AAAA-MM-JJ attendu).") from exc


TYPOLOGIES = TYPOLOGY_LABELS
"""The typologies of the default retention schedule, as the search form offers them."""
DUE_SHOWN = 20
"""Decisions listed at once, the oldest DUA first: each decision taken brings the next."""


@router.get("/c/{tenant}/archives")
def archives(
    request: Request,
    access: Archivist,
    unit: UowDep,
    p: PlatformDep,
    q: Annotated[str, Query(max_length=200)] = "",
    procedure: Annotated[str, Query(max_length=100)] = "",
    typologie: Annotated[str, Query(max_length=100)] = "",
    numero: Annotated[str, Query(max_length=15)] = "",
    du: Annotated[str, Query(max_length=10)] = "",
    au: Annotated[str, Query(max_length=10)] = "",
    apres: Annotated[str, Query(max_length=200)] = "",
    taille: Annotated[int, Query(ge=1, le=200)] = SEARCH_PAGE_SIZE,
) -> Response:
    siren = access.tenant.siren
    seq, head = archive_queries.journal_head(unit, siren)
    filters = SearchFilters(
        procedure=procedure,
        typologie=typologie,
        act_number=numero,
        closed_from=_day(du),
        closed_to=_day(au),
        keywords=q,
    )
    result = search_archives(unit, siren, filters, after=apres, page_size=taille)
    query = {"q": q, "procedure": procedure, "typologie": typologie, "numero": numero}
    query |= {"du": du, "au": au}
    kept = {k: v for k, v in query.items() if v}
    if taille != SEARCH_PAGE_SIZE:
        kept["taille"] = str(taille)
    base = f"/c/{siren}/archives"
    context = {
        "seq": seq,
        "head": head,
        "report": None,
        "packages": result.packages,
        "result": result,
        "cap": SEARCH_COUNT_CAP,
        "typologies": TYPOLOGIES,
        "query": query,
        "first_url": f"{base}?{urlencode(kept)}" if apres else None,
        "next_url": (
            f"{base}?{urlencode({**kept, 'apres': result.next_cursor})}"
            if result.next_cursor
            else None
        ),
        "counts": archive_queries.package_counts(unit, siren, cap=SEARCH_COUNT_CAP),
        "due": pending_decisions(unit, siren, today=p.clock().date(), limit=DUE_SHOWN + 1),
        "due_shown": DUE_SHOWN,
        "runs": archive_queries.recent_audits(unit, siren, limit=10),
        "sae_rejected": rejected_transfers(unit, siren),
    }
    return tenant_page(request, access, "archives.html", context)


@router.post("/c/{tenant}/archives/journal/verifier")
def verify(request: Request, access: Archivist, unit: UowDep, p: PlatformDep) -> Response:
    """The full check of `dematflow audit verify`: chain, Merkle seals and their timestamps
    read from the locked store, head extending the last seal, records against the journal.
    When the store or the seal cannot be reached, the chain alone is checked and the page
    says the seals were not verified (never « intègre » on the chain alone)."""
    siren = access.tenant.siren
    report: object = None
    chain_only: object = None
    unavailable = ""
    try:
        report = check_journal_completeness(unit, _setup(p), siren)
    except (ArchiveUnavailable, ArchivingError) as exc:
        unavailable = str(exc)
        chain_only = verify_journal(unit, siren)
    seq, head = archive_queries.journal_head(unit, siren)
    context = {
        "seq": seq,
        "head": head,
        "report": report,
        "chain_only": chain_only,
        "unavailable": unavailable,
        "packages": None,
        "query": {},
    }
    return tenant_page(request, access, "archives.html", context)


def _package_page(
    request: Request, access: Archivist, unit: UowDep, package_id: str, report: object = None
) -> Response:
    package = archive_queries.find_package(unit, access.tenant.siren, package_id)
    if package is None:
        raise NotFound("Paquet d'archives introuvable.")
    context = {
        "package": package,
        "reports": _validation_reports(package.frozen),
        "decisions": archive_queries.package_decisions(unit, access.tenant.siren, package_id),
        "verification": report,
        "transfers": transfers_for(unit, access.tenant.siren, package_id),
        "sae_endpoint": read_endpoint(unit, access.tenant.siren),
    }
    return tenant_page(request, access, "archives_package.html", context)


def _validation_reports(frozen: dict[str, Any]) -> list[dict[str, object]]:
    """The signature validation reports frozen into the package: name, verdict, summary."""
    found = []
    reports = frozen.get("reports")
    for name, text in sorted(reports.items() if isinstance(reports, dict) else []):
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            data = None
        if not isinstance(data, dict):
            data = {"valid": False, "summary": "rapport illisible"}
        found.append(
            {"name": name, "valid": data.get("valid") is True, "summary": data.get("summary", "")}
        )
    return found


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


def _visa(
    decision: str, reference: str, issued_on: str, upload: UploadFile | None
) -> EliminationVisa | None:
    """The visa d'élimination typed in the form (only for a destruction; checked and required
    by the service)."""
    if decision != "destroy":
        return None
    if not reference.strip() or not issued_on or upload is None or not upload.filename:
        return None  # refused by the service, after the checks of the DUA and of a hold
    content = upload.file.read(MAX_VISA_BYTES + 1)
    if len(content) > MAX_VISA_BYTES:
        raise InvalidInput("bordereau d'élimination visé trop volumineux (20 Mo au plus).")
    return EliminationVisa(reference, _day(issued_on) or date.min, content)


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
    visa_reference: Annotated[str, Form(max_length=100)] = "",
    visa_date: Annotated[str, Form(max_length=10)] = "",
    visa_bordereau: Annotated[UploadFile | None, File()] = None,
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
            visa=_visa(decision, visa_reference, visa_date, visa_bordereau),
        )
    except (InvalidInput, ArchiveUnavailable, Forbidden) as exc:
        flash(request, f"Décision non appliquée : {exc}")
        return see_other(f"/c/{access.tenant.siren}/archives/paquets/{package_id}")
    unit.commit()
    flash(request, result.outcome)
    return see_other(f"/c/{access.tenant.siren}/archives/paquets/{package_id}")


@router.post("/c/{tenant}/archives/paquets/{package_id}/gel")
def legal_hold(
    request: Request,
    access: Archivist,
    unit: UowDep,
    p: PlatformDep,
    package_id: str,
    action: Annotated[str, Form(max_length=10)],
    motif: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Place (`action=placer`) or lift (`action=lever`) a legal hold, with a reason."""
    _require_package(unit, access, package_id)
    url = f"/c/{access.tenant.siren}/archives/paquets/{package_id}"
    if action not in {"placer", "lever"}:
        flash(request, "Gel non appliqué : action inconnue.")
        return see_other(url)
    try:
        count = set_legal_hold(
            unit,
            _setup(p),
            access.tenant.siren,
            package_id,
            on=action == "placer",
            actor=access.actor,
            now=p.clock(),
            reason=motif,
        )
    except (InvalidInput, ArchiveUnavailable, Forbidden) as exc:
        flash(request, f"Gel non appliqué : {exc}")
        return see_other(url)
    unit.commit()
    flash(
        request,
        f"Conservation pour litige placée sur {count} version(s)."
        if action == "placer"
        else f"Conservation pour litige levée sur {count} version(s).",
    )
    return see_other(url)


@router.get("/c/{tenant}/archives/paquets/{package_id}/bordereau-elimination")
def download_destruction_record(
    access: Archivist, unit: UowDep, p: PlatformDep, package_id: str
) -> Response:
    """The sealed destruction record (notification, seal, visa PDF) as a zip."""
    _require_package(unit, access, package_id)
    data = destruction_record(unit, _setup(p), access.tenant.siren, package_id)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="elimination-{package_id}.zip"'},
    )


@router.get("/c/{tenant}/archives/audits/{run_id}")
def audit_report(request: Request, access: Archivist, unit: UowDep, run_id: uuid.UUID) -> Response:
    run = archive_queries.audit_run(unit, access.tenant.siren, run_id)
    if run is None:
        raise NotFound("Audit introuvable.")
    findings = archive_queries.audit_findings(unit, access.tenant.siren, run_id)
    return tenant_page(request, access, "archives_audit.html", {"run": run, "findings": findings})
