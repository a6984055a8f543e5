"""A tenant's councillors, and the deliberation projects waiting for a séance."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, or_, select, update

from engine.domain.errors import NotFound
from engine.domain.tenant_records import Councillor
from engine.persistence import tables as t
from engine.persistence.tables_council import councillors


def _councillor(row: Row[Any]) -> Councillor:
    return Councillor(
        id=row.id,
        tenant=row.tenant,
        name=row.name,
        email=row.email,
        role=row.role,
        mandate_start=row.mandate_start,
        mandate_end=row.mandate_end,
    )


class CouncilRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def councillors(self, tenant: str, *, at: date | None = None) -> list[Councillor]:
        """The tenant's councillors (only those in mandate on `at` when given), by name."""
        c = councillors.c
        query = select(councillors).where(c.tenant == tenant)
        if at is not None:
            query = query.where(
                c.mandate_start <= at, or_(c.mandate_end.is_(None), c.mandate_end >= at)
            )
        rows = self.conn.execute(query.order_by(c.name, c.mandate_start)).all()
        return [_councillor(r) for r in rows]

    def councillor(self, tenant: str, councillor_id: uuid.UUID) -> Councillor:
        c = councillors.c
        row = self.conn.execute(
            select(councillors).where(c.tenant == tenant, c.id == councillor_id)
        ).first()
        if row is None:
            raise NotFound("Conseiller introuvable.")
        return _councillor(row)

    def save(self, councillor: Councillor, *, by: str, now: datetime) -> None:
        """Insert the councillor, or update the row with the same id and tenant."""
        values = {
            "name": councillor.name,
            "email": councillor.email,
            "role": councillor.role,
            "mandate_start": councillor.mandate_start,
            "mandate_end": councillor.mandate_end,
            "updated_by": by,
            "updated_at": now,
        }
        c = councillors.c
        changed = self.conn.execute(
            update(councillors)
            .where(c.tenant == councillor.tenant, c.id == councillor.id)
            .values(**values)
        ).rowcount
        if not changed:
            self.conn.execute(
                councillors.insert().values(id=councillor.id, tenant=councillor.tenant, **values)
            )

    def remove(self, tenant: str, councillor_id: uuid.UUID) -> None:
        c = councillors.c
        removed = self.conn.execute(
            delete(councillors).where(c.tenant == tenant, c.id == councillor_id)
        ).rowcount
        if not removed:
            raise NotFound("Conseiller introuvable.")

    def waiting_cases(
        self, tenant: str, message: str, *, limit: int
    ) -> list[tuple[str, uuid.UUID]]:
        """(correlation key, case id) of the cases of the tenant waiting for a message."""
        w = t.message_waits.c
        rows = self.conn.execute(
            select(w.correlation_key, w.case_id)
            .where(w.tenant == tenant, w.message == message)
            .order_by(w.correlation_key)
            .limit(limit)
        )
        return [(r.correlation_key, r.case_id) for r in rows]
