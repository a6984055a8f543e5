"""Requests filed on the public form, found by the hash of their follow-up token."""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, insert, select

from engine.domain.tenant_records import PublicRequest
from engine.persistence.tables_public import public_requests


class PublicRequestRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, request: PublicRequest, *, token_sha256: str) -> None:
        self.conn.execute(
            insert(public_requests).values(
                id=request.id,
                tenant=request.tenant,
                case_id=request.case_id,
                reference=request.reference,
                token_sha256=token_sha256,
                created_at=request.created_at,
            )
        )

    def by_token_hash(self, tenant: str, token_sha256: str) -> PublicRequest | None:
        """The request of this tenant whose token has this hash; None for any other token."""
        c = public_requests.c
        return self._one(c.tenant == tenant, c.token_sha256 == token_sha256)

    def by_case(self, tenant: str, case_id: uuid.UUID) -> PublicRequest | None:
        c = public_requests.c
        return self._one(c.tenant == tenant, c.case_id == case_id)

    def _one(self, *conditions: Any) -> PublicRequest | None:
        c = public_requests.c
        row = self.conn.execute(
            select(c.id, c.tenant, c.case_id, c.reference, c.created_at).where(*conditions)
        ).first()
        if row is None:
            return None
        created = row.created_at
        return PublicRequest(
            id=row.id,
            tenant=row.tenant,
            case_id=row.case_id,
            reference=row.reference,
            created_at=created if created.tzinfo is not None else created.replace(tzinfo=UTC),
        )
