"""Repository of SAE endpoints and transfers (``sae_endpoints``, ``sae_transfers``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from engine.domain.errors import Conflict
from engine.domain.sae_transfers import SaeEndpoint, SaeTransfer, TransferKind, TransferState
from engine.domain.times import assume_utc
from engine.persistence.tables_sae import sae_endpoints, sae_transfers

__all__ = ["SaeRepository"]


def _maybe(value: datetime | None) -> datetime | None:
    return assume_utc(value) if value is not None else None


def _transfer(row: Row[Any]) -> SaeTransfer:
    return SaeTransfer(
        id=row.id,
        tenant=row.tenant,
        package_id=row.package_id,
        kind=TransferKind(row.kind),
        state=TransferState(row.state),
        protocol=row.protocol,
        message_identifier=row.message_identifier,
        requested_by=row.requested_by,
        requested_at=assume_utc(row.requested_at),
        updated_at=assume_utc(row.updated_at),
        reference=row.reference,
        sae_ids=tuple(row.sae_ids or ()),
        reasons=tuple(row.reasons or ()),
        reply_code=row.reply_code,
        attempts=row.attempts,
        next_attempt_at=_maybe(row.next_attempt_at),
        sent_at=_maybe(row.sent_at),
        answered_at=_maybe(row.answered_at),
        comment=row.comment,
    )


class SaeRepository:
    """Always scoped by tenant, except the worker's queue of work due."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def endpoint(self, tenant: str) -> SaeEndpoint | None:
        row = self.conn.execute(
            select(sae_endpoints).where(sae_endpoints.c.tenant == tenant)
        ).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values["updated_at"] = assume_utc(values["updated_at"])
        return SaeEndpoint(**values)

    def save_endpoint(self, endpoint: SaeEndpoint) -> None:
        values = asdict(endpoint)
        c = sae_endpoints.c
        self.conn.execute(delete(sae_endpoints).where(c.tenant == endpoint.tenant))
        self.conn.execute(insert(sae_endpoints).values(**values))

    def add(self, transfer: SaeTransfer) -> None:
        """Record a new exchange; :class:`Conflict` when one is already open for the package."""
        values = asdict(transfer)
        values["kind"] = transfer.kind.value
        values["state"] = transfer.state.value
        values["sae_ids"] = list(transfer.sae_ids)
        values["reasons"] = list(transfer.reasons)
        savepoint = self.conn.begin_nested()
        try:
            self.conn.execute(insert(sae_transfers).values(**values))
        except IntegrityError as exc:
            savepoint.rollback()
            raise Conflict("Un échange avec le SAE est déjà en cours pour ce paquet.") from exc
        savepoint.commit()

    def update(self, transfer_id: uuid.UUID, now: datetime, **values: Any) -> None:
        for key in ("sae_ids", "reasons"):
            if key in values:
                values[key] = list(values[key])
        if isinstance(values.get("state"), TransferState):
            values["state"] = values["state"].value
        self.conn.execute(
            update(sae_transfers)
            .where(sae_transfers.c.id == transfer_id)
            .values(updated_at=now, **values)
        )

    def get(self, tenant: str, transfer_id: uuid.UUID) -> SaeTransfer | None:
        c = sae_transfers.c
        row = self.conn.execute(
            select(sae_transfers).where(c.tenant == tenant, c.id == transfer_id)
        ).first()
        return _transfer(row) if row is not None else None

    def lock(self, transfer_id: uuid.UUID) -> SaeTransfer | None:
        """Re-read one exchange under a row lock (one worker advances it at a time)."""
        row = self.conn.execute(
            select(sae_transfers).where(sae_transfers.c.id == transfer_id).with_for_update()
        ).first()
        return _transfer(row) if row is not None else None

    def for_package(self, tenant: str, package_id: str) -> list[SaeTransfer]:
        """Every exchange about the package, the latest first."""
        c = sae_transfers.c
        rows = self.conn.execute(
            select(sae_transfers)
            .where(c.tenant == tenant, c.package_id == package_id)
            .order_by(c.requested_at.desc())
        )
        return [_transfer(r) for r in rows]

    def recent(
        self, tenant: str, *, states: tuple[TransferState, ...] = (), limit: int = 100
    ) -> list[SaeTransfer]:
        c = sae_transfers.c
        query = select(sae_transfers).where(c.tenant == tenant)
        if states:
            query = query.where(c.state.in_([s.value for s in states]))
        rows = self.conn.execute(query.order_by(c.updated_at.desc()).limit(limit))
        return [_transfer(r) for r in rows]

    def unresolved(self, tenant: str, *, limit: int = 20) -> list[SaeTransfer]:
        """Refused or failed exchanges that no later exchange about the same package and kind
        has replaced (one statement: the archives page counts its queries)."""
        c = sae_transfers.c
        later = sae_transfers.alias("later")
        replaced = (
            select(later.c.id)
            .where(
                later.c.tenant == c.tenant,
                later.c.package_id == c.package_id,
                later.c.kind == c.kind,
                later.c.requested_at > c.requested_at,
            )
            .exists()
        )
        rows = self.conn.execute(
            select(sae_transfers)
            .where(
                c.tenant == tenant,
                c.state.in_([TransferState.REJECTED.value, TransferState.FAILED.value]),
                ~replaced,
            )
            .order_by(c.updated_at.desc())
            .limit(limit)
        )
        return [_transfer(r) for r in rows]

    def due(self, now: datetime, *, limit: int = 200) -> list[SaeTransfer]:
        """At most `limit`: exchanges to send (due now), the oldest first, then those whose reply
        is awaited, the longest unpolled first (`mark_polled`), with a quarter of the places
        (one at least): past `limit` replies awaited, new packages are still sent and every
        awaited reply is still read in turn."""
        c = sae_transfers.c
        to_send = (c.state == TransferState.QUEUED.value) & (
            or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)
        )
        reserve = max(limit // 4, 1) if limit > 1 else 0
        first = [
            _transfer(r)
            for r in self.conn.execute(
                select(sae_transfers).where(to_send).order_by(c.requested_at).limit(limit - reserve)
            )
        ]
        awaited = self.conn.execute(
            select(sae_transfers)
            .where(c.state == TransferState.SENT.value)
            .order_by(c.polled_at.asc().nulls_first(), c.requested_at)
            .limit(limit - len(first))
        )
        return first + [_transfer(r) for r in awaited]

    def mark_polled(self, ids: list[uuid.UUID], at: datetime) -> None:
        """The polling job asked the SAE about these exchanges' replies at `at`."""
        if ids:
            self.conn.execute(
                update(sae_transfers).where(sae_transfers.c.id.in_(ids)).values(polled_at=at)
            )
