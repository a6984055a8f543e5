"""`documents.render`: produce a case's PDF document from a template and case data.

The template (``modele``) and the data (``contexte``) come from the BPMN; the collectivité's
name (letterhead, PDF author) from the tenant. The PDF is stored once per idempotency key as a
working document of the case (kind ``rendered``) and the case data receives its reference.
"""

from __future__ import annotations

from typing import Any

from engine.domain.errors import InvalidInput
from engine.persistence.uow import UnitOfWork
from engine.rendering import (
    FontMissing,
    MissingFields,
    RenderedPdf,
    RenderError,
    RenderLimitExceeded,
    RenderRequest,
    TemplateError,
    UnknownTemplate,
    render_pdf,
)
from engine.services.documents import store_document
from engine.services.operations import (
    OperationContext,
    OperationFailed,
    OperationRetry,
    once,
)
from engine.services.tenant_settings import with_service_contacts

__all__ = ["MAX_RENDERED_BYTES", "OPERATION", "render_document"]

OPERATION = "documents.render"
MAX_RENDERED_BYTES = 10_000_000
"""A rendered document larger than this is refused (the renderer's own page limit is lower)."""


def _render(
    modele: str, contexte: dict[str, Any], issuer: str, ctx: OperationContext
) -> RenderedPdf:
    request = RenderRequest(template=modele, context=contexte, issuer=issuer, issued_at=ctx.now)
    try:
        return render_pdf(request)
    except MissingFields as exc:
        raise OperationFailed("modele_incomplet", str(exc)) from exc
    except UnknownTemplate as exc:
        raise OperationFailed("modele_inconnu", str(exc)) from exc
    except RenderLimitExceeded as exc:
        raise OperationFailed("document_trop_volumineux", str(exc)) from exc
    except FontMissing as exc:
        # Broken installation, not a business outcome: retried until an operator fixes it.
        raise OperationRetry(str(exc)) from exc
    except TemplateError as exc:
        raise OperationFailed("modele_invalide", str(exc)) from exc
    except RenderError as exc:
        raise OperationFailed("rendu_impossible", str(exc)) from exc


def _store(
    uow: UnitOfWork, ctx: OperationContext, modele: str, rendered: RenderedPdf
) -> dict[str, Any]:
    try:
        document = store_document(
            uow,
            tenant=ctx.tenant,
            name=rendered.file_name,
            content=rendered.pdf,
            actor_id="system:documents",
            now=ctx.now,
            max_bytes=MAX_RENDERED_BYTES,
            kind="rendered",
            case_id=ctx.case_id,
        )
    except InvalidInput as exc:
        raise OperationFailed("rendu_impossible", str(exc)) from exc
    uow.journal.append(
        tenant=ctx.tenant,
        kind="document.rendered",
        case_id=ctx.case_id,
        actor="system:documents",
        payload={
            "document": str(document.id),
            "sha256": document.sha256,
            "modele": modele,
            "pages": rendered.pages,
            "task": ctx.task_name,
        },
        now=ctx.now,
    )
    return {"document": document.reference()}


def render_document(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """Render ``params["modele"]`` with ``params["contexte"]``; returns ``{"document": ref}``."""
    modele = str(params.get("modele") or "")
    contexte = params.get("contexte")
    if not modele:
        raise OperationFailed("modele_inconnu", "Le paramètre « modele » est obligatoire.")
    if not isinstance(contexte, dict):
        raise OperationFailed(
            "modele_incomplet",
            "Le paramètre « contexte » doit être un objet (les données du dossier à reprendre).",
        )
    with ctx.unit_of_work() as uow:
        remembered = uow.jobs.recall_effect(ctx.idempotency_key)
        if remembered is not None:
            return remembered
        tenant = uow.tenants.get(ctx.tenant)
        # The tenant's own service contacts (R112-5 CRPA mentions) win over the model's examples.
        contexte = with_service_contacts(uow, ctx.tenant, contexte)
    if tenant is None:
        raise OperationFailed("rendu_impossible", "Collectivité inconnue.")
    # Rendering happens outside any transaction; `once` checks the key again before storing.
    rendered = _render(modele, contexte, tenant.name, ctx)
    return once(ctx, OPERATION, lambda uow: _store(uow, ctx, modele, rendered))
