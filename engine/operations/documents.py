"""Documents of a case made by the engine: `documents.render` (a PDF from a template and case
data) and `engine.next_act_number` (the act's number in its series, per tenant and year).

A rendered PDF is stored once per idempotency key as a working document of the case (kind
``rendered``); the collectivité's name (letterhead, PDF author) comes from the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.domain.errors import InvalidInput
from engine.operations.base import (
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    param,
    passing,
)
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
from engine.services.tenant_settings import with_service_contacts

MAX_RENDERED_BYTES = 10_000_000
"""A rendered document larger than this is refused (the renderer's own page limit is lower)."""


# --- documents.render --------------------------------------------------------------------------


def _template(value: Any) -> str:
    if not value:
        raise OperationFailed("modele_inconnu", "Le paramètre « modele » est obligatoire.")
    return str(value)


def _context(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OperationFailed(
            "modele_incomplet",
            "Le paramètre « contexte » doit être un objet (les données du dossier à reprendre).",
        )
    return value


@dataclass(frozen=True)
class RenderParams:
    modele: str = param(_template, required=True)
    """The template's name."""
    contexte: dict[str, Any] = param(_context, required=True)
    """The case data the template shows."""


@dataclass(frozen=True)
class RenderPlan:
    modele: str
    contexte: dict[str, Any]
    issuer: str
    now: datetime


def _prepare_render(uow: UnitOfWork, ctx: OperationContext, params: RenderParams) -> RenderPlan:
    tenant = uow.tenants.get(ctx.tenant)
    if tenant is None:
        raise OperationFailed("rendu_impossible", "Collectivité inconnue.")
    # The tenant's own service contacts (R112-5 CRPA mentions) win over the model's examples.
    contexte = with_service_contacts(uow, ctx.tenant, params.contexte)
    return RenderPlan(params.modele, contexte, tenant.name, ctx.now)


def _render(plan: RenderPlan) -> tuple[str, RenderedPdf]:
    request = RenderRequest(
        template=plan.modele, context=plan.contexte, issuer=plan.issuer, issued_at=plan.now
    )
    try:
        return plan.modele, render_pdf(request)
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


def _record_render(
    uow: UnitOfWork, ctx: OperationContext, outcome: tuple[str, RenderedPdf]
) -> dict[str, Any]:
    modele, rendered = outcome
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
            "task": ctx.operation,
        },
        now=ctx.now,
    )
    return {"document": document.reference()}


RENDER = Operation(
    name="documents.render",
    params=RenderParams,
    prepare=_prepare_render,
    act=_render,
    record=_record_render,
    description="Produit un document PDF du dossier à partir d'un modèle",
)


# --- engine.next_act_number --------------------------------------------------------------------


def _series(value: Any) -> str:
    serie = str(value or "ACTE").upper()
    if not serie.replace("_", "").isalnum() or len(serie) > 6 or not serie.isascii():
        raise OperationFailed("serie_invalide", f"Série de numérotation invalide « {serie} ».")
    return serie


@dataclass(frozen=True)
class NumberingParams:
    serie: str = param(_series)
    """The series (DEL, ARR...); @ctes numbers match ^[0-9A-Z_]{1,15}$."""


def _prepare_numbering(
    uow: UnitOfWork, ctx: OperationContext, params: NumberingParams
) -> NumberingParams:
    del uow, ctx  # the counter is taken in the write transaction
    return params


def _record_numbering(
    uow: UnitOfWork, ctx: OperationContext, params: NumberingParams
) -> dict[str, Any]:
    year = ctx.now.year
    value = uow.tenants.next_counter(ctx.tenant, f"acte:{params.serie}:{year}")
    return {
        "numero": f"{year}_{params.serie}{value:04d}",
        "serie": params.serie,
        "rang": value,
        "annee": year,
    }


NEXT_ACT_NUMBER = Operation(
    name="engine.next_act_number",
    params=NumberingParams,
    prepare=_prepare_numbering,
    act=passing,
    record=_record_numbering,
    description="Attribue le numéro d'acte suivant de la série, par année",
)

OPERATIONS = (RENDER, NEXT_ACT_NUMBER)
