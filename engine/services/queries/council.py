"""What the council pages read beside `engine.services.council`: one councillor."""

from __future__ import annotations

import uuid

from engine.domain.tenant_records import Councillor
from engine.persistence.uow import UnitOfWork

__all__ = ["find_councillor"]


def find_councillor(uow: UnitOfWork, tenant: str, councillor_id: uuid.UUID) -> Councillor:
    """The tenant's councillor; NotFound for an unknown one or another tenant's."""
    return uow.council.councillor(tenant, councillor_id)
