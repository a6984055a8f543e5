"""Documents as the web serves them: one document of a tenant, and its bytes."""

from __future__ import annotations

import uuid

from engine.domain.model import Document
from engine.persistence.uow import UnitOfWork

__all__ = ["document_content", "find_document"]


def find_document(uow: UnitOfWork, tenant: str, document_id: uuid.UUID) -> Document:
    """The tenant's document; NotFound for an unknown one or another tenant's."""
    return uow.documents.get(tenant, document_id)


def document_content(uow: UnitOfWork, document: Document) -> bytes:
    """The stored bytes of the document (checked against its digest by the repository)."""
    return uow.documents.content(document)
