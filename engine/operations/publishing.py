"""`connectors.publish`: the act goes online in the collectivité's public register, once.

An act is published once signed and transmitted (its prefecture acknowledgement on record);
the list of a session's deliberations needs none. Rows and files are immutable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from engine.domain.connector_records import Publication
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.model import Document
from engine.operations.base import (
    Done,
    Operation,
    OperationContext,
    OperationFailed,
    param,
    passing,
)
from engine.persistence.uow import UnitOfWork
from engine.services.documents import document_from_reference
from engine.services.publication import LIST_KIND, NATURE_LABELS, entry_of, online_until
from engine.settings import PublicationSettings


def _nature(value: Any) -> str:
    nature = str(value or "")
    if nature not in NATURE_LABELS:
        raise OperationFailed("publication_invalide", f"Nature inconnue « {nature} ».")
    return nature


def _subject(value: Any) -> str:
    subject = str(value or "").strip()
    if not subject:
        raise OperationFailed("publication_invalide", "L'objet de l'acte publié est obligatoire.")
    return subject


@dataclass(frozen=True)
class PublishParams:
    document: Any = param(required=True)
    """The PDF to publish (the signed act, or the session's list)."""
    nature: str = param(_nature, required=True)
    """@ctes nature code ("1"...) or liste_deliberations."""
    objet: str = param(_subject, required=True)
    numero: str = param(lambda value: str(value or "")[:15])
    identifiant_ar: str = param(lambda value: str(value or ""))
    """The prefecture's acknowledgement id (required for an act)."""
    validation: dict[str, Any] = param(lambda value: dict(value) if isinstance(value, dict) else {})
    """The signature's validation summary, shown beside the act."""
    seance: str | None = param(lambda value: str(value)[:40] if value else None)


@dataclass(frozen=True)
class PublishPlan:
    params: PublishParams
    document: Document


def _result(settings: PublicationSettings, publication: Publication) -> dict[str, Any]:
    entry = entry_of(settings, publication)
    return {
        "url": entry.url,
        "publie_le": publication.published_at.isoformat(),
        "publication": str(publication.id),
        "fichier": entry.download_url,
    }


def _check_transmitted(uow: UnitOfWork, tenant: str, ack_id: str) -> None:
    """An act is published once signed and transmitted: its AR must be on record here."""
    rows = uow.actes.for_act(tenant, ack_id) if ack_id else []
    if not any(row.state == "acknowledged" and row.ack_id == ack_id for row in rows):
        raise OperationFailed(
            "acte_non_transmis",
            f"L'acte ne peut être publié : aucun accusé de réception « {ack_id} » n'est "
            "enregistré. Attendre l'accusé de réception de la préfecture puis relancer.",
        )


def _prepare(uow: UnitOfWork, ctx: OperationContext, params: PublishParams) -> PublishPlan | Done:
    existing = uow.publications.by_key(ctx.tenant, ctx.idempotency_key)
    if existing is not None:
        return Done(_result(ctx.settings.publication, existing))
    if params.nature != LIST_KIND:
        _check_transmitted(uow, ctx.tenant, params.identifiant_ar)
    try:
        document = document_from_reference(uow, ctx.tenant, params.document)
    except (InvalidInput, NotFound) as exc:
        raise OperationFailed("publication_invalide", f"Document inutilisable : {exc}") from exc
    if document.media_type != "application/pdf":
        raise OperationFailed("publication_invalide", "Seuls les PDF sont publiés.")
    return PublishPlan(params, document)


def _record(uow: UnitOfWork, ctx: OperationContext, plan: PublishPlan) -> dict[str, Any]:
    settings = ctx.settings.publication
    existing = uow.publications.by_key(ctx.tenant, ctx.idempotency_key)
    if existing is not None:
        return _result(settings, existing)
    params, document = plan.params, plan.document
    publication = Publication(
        id=uuid.uuid4(),
        tenant=ctx.tenant,
        case_id=ctx.case_id,
        kind=LIST_KIND if params.nature == LIST_KIND else "acte",
        nature=params.nature,
        number=params.numero,
        subject=params.objet,
        document_id=document.id,
        file_name=document.name,
        sha256=document.sha256,
        size=document.size,
        ack_id=params.identifiant_ar,
        signature=params.validation,
        session=params.seance,
        published_at=ctx.now,
        online_until=online_until(settings, ctx.now),
    )
    uow.publications.add(publication, idempotency_key=ctx.idempotency_key)
    uow.journal.append(
        tenant=ctx.tenant,
        kind="act.published",
        case_id=ctx.case_id,
        actor="system:publication",
        payload={
            "publication": str(publication.id),
            "nature": params.nature,
            "numero": publication.number,
            "sha256": document.sha256,
            "identifiant_ar": params.identifiant_ar,
        },
        now=ctx.now,
    )
    return _result(settings, publication)


PUBLISH = Operation(
    name="connectors.publish",
    params=PublishParams,
    prepare=_prepare,
    act=passing,
    record=_record,
    queue="connectors",
    description="Publie l'acte sur le registre public de la collectivité",
)

OPERATIONS = (PUBLISH,)
