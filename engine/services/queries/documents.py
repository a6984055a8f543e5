"""Documents as the web serves them: one document of a tenant, and its bytes."""

from __future__ import annotations

import uuid

from engine.domain.errors import NotFound
from engine.domain.model import Document
from engine.persistence.uow import UnitOfWork
from engine.services.documents import ERASED_SHA256

__all__ = ["document_content", "find_document"]


def find_document(uow: UnitOfWork, tenant: str, document_id: uuid.UUID) -> Document:
    """The tenant's document; NotFound for an unknown one or another tenant's."""
    return uow.documents.get(tenant, document_id)


def document_content(uow: UnitOfWork, document: Document) -> bytes:
    """The stored bytes of the document (checked against its digest by the repository); a
    document whose bytes the RGPD purge erased is not found, and says why."""
    if document.size == 0 and document.sha256 == ERASED_SHA256:
        raise NotFound("Ce document a été effacé au terme de sa durée de conservation (RGPD).")
    return uow.documents.content(document)
