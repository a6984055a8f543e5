"""Working documents of a tenant: upload a PDF, read it back, list a case's documents."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from engine.domain.errors import InvalidInput
from engine.domain.task_access import CASE_READERS
from engine.services.documents import check_upload, receive_upload
from engine.services.queries import cases as case_queries
from engine.services.queries import documents as document_queries
from web.auth import TenantAccess, api_access
from web.deps import PlatformDep, UowDep
from web.pdf_responses import pdf_response

router = APIRouter(prefix="/api/tenants/{tenant}", tags=["documents"])

Clerk = Annotated[TenantAccess, Depends(api_access("agent"))]
Reader = Annotated[TenantAccess, Depends(api_access(*CASE_READERS))]


@router.post("/documents", status_code=status.HTTP_201_CREATED)
async def upload(
    tenant: str, fichier: UploadFile, access: Clerk, unit: UowDep, p: PlatformDep
) -> dict[str, Any]:
    """Upload a PDF (size limit in `max_upload_bytes`); returns the reference a form field holds.

    The file goes through the platform's intake (bounded parse, structure, encryption, active
    content); active content is removed and listed in `contenu_actif_retire`."""
    limit = p.settings.max_upload_bytes
    content = await fichier.read(limit + 1)
    if len(content) > limit:
        raise InvalidInput(f"Fichier trop volumineux (maximum {limit // 1_000_000} Mo).")
    checked = await run_in_threadpool(
        check_upload,
        fichier.filename or "document.pdf",
        content,
        max_bytes=limit,
        from_citizen=False,
    )
    document = receive_upload(
        unit, checked, tenant=tenant, actor=access.actor, now=p.clock(), max_bytes=limit
    )
    unit.commit()
    return {**document.reference(), "contenu_actif_retire": list(checked.removed)}


@router.get("/documents/{document_id}")
def download(document_id: uuid.UUID, access: Reader, unit: UowDep) -> Response:
    """The document as an attachment (the HTML viewer is the only place shown inline)."""
    document = document_queries.find_document(unit, access.tenant.siren, document_id)
    content = document_queries.document_content(unit, document)
    digest = {"Digest": f"sha-256={document.sha256}"}  # every stored document is a PDF
    return pdf_response(content, document.name, headers=digest)


@router.get("/cases/{case_id}/documents")
def case_documents(case_id: uuid.UUID, access: Reader, unit: UowDep) -> list[dict[str, Any]]:
    """The documents of a case (uploaded, rendered, signed, sealed), oldest first."""
    case_queries.find_case(unit, access.tenant.siren, case_id)
    return [
        {
            **d.reference(),
            "genre": d.kind,
            "cree_le": d.created_at.isoformat(),
            "derive_de": str(d.derived_from) if d.derived_from else None,
        }
        for d in case_queries.case_documents(unit, access.tenant.siren, case_id)
    ]
