"""Delegations of signature: who stands in for whom, when. Every query is scoped by tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from engine.domain.errors import NotFound
from engine.domain.model import Delegation
from engine.domain.times import assume_utc as _aware
from engine.persistence.tables_circuits import delegations


def _delegation(row: Row[Any]) -> Delegation:
    starts, ends, created = _aware(row.starts), _aware(row.ends), _aware(row.created_at)
    assert starts is not None and ends is not None and created is not None
    return Delegation(
        id=row.id,
        tenant=row.tenant,
        delegator=row.delegator,
        deputy=row.deputy,
        starts=starts,
        ends=ends,
        reason=row.reason,
        created_by=row.created_by,
        created_at=created,
        revoked_at=_aware(row.revoked_at),
        revoked_by=row.revoked_by,
    )


class DelegationRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, delegation: Delegation) -> None:
        self.conn.execute(
            insert(delegations).values(
                id=delegation.id,
                tenant=delegation.tenant,
                delegator=delegation.delegator,
                deputy=delegation.deputy,
                starts=delegation.starts,
                ends=delegation.ends,
                reason=delegation.reason,
                created_by=delegation.created_by,
                created_at=delegation.created_at,
            )
        )

    def get(self, tenant: str, delegation_id: uuid.UUID) -> Delegation:
        row = self.conn.execute(
            select(delegations).where(
                delegations.c.tenant == tenant, delegations.c.id == delegation_id
            )
        ).first()
        if row is None:
            raise NotFound("Délégation introuvable.")
        return _delegation(row)

    def revoke(self, tenant: str, delegation_id: uuid.UUID, *, by: str, now: datetime) -> None:
        self.conn.execute(
            update(delegations)
            .where(
                delegations.c.tenant == tenant,
                delegations.c.id == delegation_id,
                delegations.c.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_by=by)
        )

    def active(
        self,
        tenant: str,
        at: datetime,
        *,
        deputy: str | None = None,
        delegator: str | None = None,
    ) -> list[Delegation]:
        """Delegations in force at `at` (not revoked, `starts <= at < ends`)."""
        c = delegations.c
        query = select(delegations).where(
            c.tenant == tenant, c.revoked_at.is_(None), c.starts <= at, c.ends > at
        )
        if deputy is not None:
            query = query.where(c.deputy == deputy)
        if delegator is not None:
            query = query.where(c.delegator == delegator)
        return [_delegation(r) for r in self.conn.execute(query.order_by(c.starts, c.id))]

    def for_person(self, tenant: str, login: str, *, since: datetime) -> list[Delegation]:
        """Delegations given or received by `login` that end after `since` (revoked included)."""
        c = delegations.c
        query = select(delegations).where(
            c.tenant == tenant, (c.delegator == login) | (c.deputy == login), c.ends > since
        )
        return [_delegation(r) for r in self.conn.execute(query.order_by(c.starts, c.id))]
