"""Repositories of the connectors' tables; every query is scoped by tenant."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update

from engine.domain.connector_records import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Endpoint,
    MailSending,
    MailState,
    Publication,
    Transmission,
    TransmissionState,
)
from engine.domain.times import assume_utc as _aware
from engine.persistence import tables_connectors as c


def _transmission(row: Row[Any]) -> Transmission:
    return Transmission(
        id=row.id,
        tenant=row.tenant,
        case_id=row.case_id,
        act_number=row.act_number,
        act_unique_id=row.act_unique_id,
        idempotency_key=row.idempotency_key,
        archive_sha256=row.archive_sha256,
        state=TransmissionState(row.state),
        transaction_id=row.transaction_id,
        message=row.message,
        ack_id=row.ack_id,
        ack_received_on=row.ack_received_on,
        ack_delivered=bool(row.ack_delivered),
        created_at=_aware(row.created_at),
    )


class ActesRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def for_act(self, tenant: str, act_unique_id: str) -> list[Transmission]:
        rows = self.conn.execute(
            select(c.actes_transmissions)
            .where(
                c.actes_transmissions.c.tenant == tenant,
                c.actes_transmissions.c.act_unique_id == act_unique_id,
            )
            .order_by(c.actes_transmissions.c.created_at)
        )
        return [_transmission(r) for r in rows]

    def count_sent(self, tenant: str) -> int:
        """The tenant's transmissions that reached the tiers de télétransmission."""
        query = select(func.count()).where(
            c.actes_transmissions.c.tenant == tenant,
            c.actes_transmissions.c.transaction_id.is_not(None),
        )
        return int(self.conn.execute(query).scalar_one())

    def get(self, tenant: str, transmission_id: uuid.UUID) -> Transmission | None:
        row = self.conn.execute(
            select(c.actes_transmissions).where(
                c.actes_transmissions.c.tenant == tenant,
                c.actes_transmissions.c.id == transmission_id,
            )
        ).first()
        return _transmission(row) if row else None

    def add(
        self,
        *,
        tenant: str,
        case_id: uuid.UUID,
        act_number: str,
        act_unique_id: str,
        idempotency_key: str,
        archive_sha256: str,
        now: datetime,
    ) -> uuid.UUID:
        transmission_id = uuid.uuid4()
        self.conn.execute(
            insert(c.actes_transmissions).values(
                id=transmission_id,
                tenant=tenant,
                case_id=case_id,
                act_number=act_number,
                act_unique_id=act_unique_id,
                idempotency_key=idempotency_key,
                archive_sha256=archive_sha256,
                state=TransmissionState.SUBMITTING,
                ack_delivered=False,
                created_at=now,
                updated_at=now,
            )
        )
        return transmission_id

    def update(self, tenant: str, transmission_id: uuid.UUID, now: datetime, **values: Any) -> None:
        self.conn.execute(
            update(c.actes_transmissions)
            .where(
                c.actes_transmissions.c.tenant == tenant,
                c.actes_transmissions.c.id == transmission_id,
            )
            .values(updated_at=now, **values)
        )

    def to_poll(self, *, watch_since: datetime, limit: int) -> list[Transmission]:
        """Across tenants (the beat job), at most `limit`: first those awaited (sent and
        unanswered, or answered but not yet taken by the case), then those acknowledged
        recently enough for prefecture letters to come. Each group goes round, the longest
        unpolled first (`mark_polled`); the watched ones keep a quarter of the places, one at
        least. Before, the oldest acknowledged acts filled every poll, and past 200 of them
        (days, for 300 communes) no acknowledgement was collected again."""
        t = c.actes_transmissions.c
        awaited = or_(
            t.state == TransmissionState.TRANSMITTED,
            and_(
                t.state.in_([TransmissionState.ACKNOWLEDGED, TransmissionState.REJECTED]),
                t.ack_delivered.is_(False),
            ),
        )
        watched = and_(
            t.state == TransmissionState.ACKNOWLEDGED,
            t.ack_delivered.is_(True),
            t.created_at >= watch_since,
        )

        def oldest_polled(where: Any, count: int) -> list[Transmission]:
            rows = self.conn.execute(
                select(c.actes_transmissions)
                .where(where)
                .order_by(t.polled_at.asc().nulls_first(), t.updated_at)
                .limit(count)
            )
            return [_transmission(r) for r in rows]

        first = oldest_polled(awaited, limit - (max(limit // 4, 1) if limit > 1 else 0))
        return first + oldest_polled(watched, limit - len(first))

    def mark_polled(self, ids: list[uuid.UUID], at: datetime) -> None:
        """The polling job asked the TdT about these transmissions at `at`."""
        if ids:
            self.conn.execute(
                update(c.actes_transmissions)
                .where(c.actes_transmissions.c.id.in_(ids))
                .values(polled_at=at)
            )

    def ack_xml(self, tenant: str, transmission_id: uuid.UUID) -> bytes | None:
        value = self.conn.execute(
            select(c.actes_transmissions.c.ack_xml).where(
                c.actes_transmissions.c.tenant == tenant,
                c.actes_transmissions.c.id == transmission_id,
            )
        ).scalar_one_or_none()
        return value.encode("iso-8859-1") if isinstance(value, str) else None

    def exchange_states(self, tenant: str, transmission_id: uuid.UUID) -> dict[str, bool]:
        """Exchange id → delivered, for the exchanges already seen."""
        rows = self.conn.execute(
            select(c.actes_exchanges.c.exchange_id, c.actes_exchanges.c.delivered).where(
                c.actes_exchanges.c.tenant == tenant,
                c.actes_exchanges.c.transmission_id == transmission_id,
            )
        )
        return {r.exchange_id: bool(r.delivered) for r in rows}

    def add_exchange(
        self,
        *,
        tenant: str,
        transmission_id: uuid.UUID,
        exchange_id: str,
        kind: str,
        sent_on: date,
        document_name: str,
        now: datetime,
    ) -> None:
        self.conn.execute(
            insert(c.actes_exchanges).values(
                tenant=tenant,
                exchange_id=exchange_id,
                transmission_id=transmission_id,
                kind=kind,
                sent_on=sent_on,
                document_name=document_name,
                delivered=False,
                received_at=now,
            )
        )

    def mark_exchange_delivered(self, tenant: str, exchange_id: str) -> None:
        self.conn.execute(
            update(c.actes_exchanges)
            .where(
                c.actes_exchanges.c.tenant == tenant,
                c.actes_exchanges.c.exchange_id == exchange_id,
            )
            .values(delivered=True)
        )


class MailRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, tenant: str, idempotency_key: str) -> MailSending | None:
        row = self.conn.execute(
            select(c.mail_sendings).where(
                c.mail_sendings.c.tenant == tenant,
                c.mail_sendings.c.idempotency_key == idempotency_key,
            )
        ).first()
        if row is None:
            return None
        return MailSending(
            row.tenant,
            row.idempotency_key,
            row.message_id,
            tuple(row.pending),
            MailState(row.state),
            dict(row.result) if row.result is not None else None,
        )

    def add(
        self,
        *,
        tenant: str,
        idempotency_key: str,
        case_id: uuid.UUID,
        message_id: str,
        pending: list[str],
        now: datetime,
    ) -> None:
        self.conn.execute(
            insert(c.mail_sendings).values(
                tenant=tenant,
                idempotency_key=idempotency_key,
                case_id=case_id,
                message_id=message_id,
                pending=pending,
                state=MailState.SENDING,
                created_at=now,
                updated_at=now,
            )
        )

    def update(self, tenant: str, idempotency_key: str, now: datetime, **values: Any) -> None:
        self.conn.execute(
            update(c.mail_sendings)
            .where(
                c.mail_sendings.c.tenant == tenant,
                c.mail_sendings.c.idempotency_key == idempotency_key,
            )
            .values(updated_at=now, **values)
        )


def _publication(row: Row[Any]) -> Publication:
    return Publication(
        id=row.id,
        tenant=row.tenant,
        case_id=row.case_id,
        kind=row.kind,
        nature=row.nature,
        number=row.number,
        subject=row.subject,
        document_id=row.document_id,
        file_name=row.file_name,
        sha256=row.sha256,
        size=int(row.size),
        ack_id=row.ack_id,
        signature=dict(row.signature),
        session=row.session,
        published_at=_aware(row.published_at),
        online_until=_aware(row.online_until) if row.online_until is not None else None,
    )


class PublicationRepository:
    """Insert and read only: there is deliberately no update or delete."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, publication: Publication, *, idempotency_key: str) -> None:
        values = {k: getattr(publication, k) for k in Publication.__dataclass_fields__}
        self.conn.execute(insert(c.publications).values(idempotency_key=idempotency_key, **values))

    def by_key(self, tenant: str, idempotency_key: str) -> Publication | None:
        row = self.conn.execute(
            select(c.publications).where(
                c.publications.c.tenant == tenant,
                c.publications.c.idempotency_key == idempotency_key,
            )
        ).first()
        return _publication(row) if row else None

    def online(
        self,
        tenant: str,
        now: datetime,
        *,
        kind: str | None = None,
        publication_id: uuid.UUID | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Publication]:
        p = c.publications.c
        query = select(c.publications).where(
            p.tenant == tenant,
            p.published_at <= now,
            or_(p.online_until.is_(None), p.online_until > now),
        )
        if kind is not None:
            query = query.where(p.kind == kind)
        if publication_id is not None:
            query = query.where(p.id == publication_id)
        rows = self.conn.execute(
            query.order_by(p.published_at.desc(), p.id).limit(limit).offset(offset)
        )
        return [_publication(r) for r in rows]


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        row.id,
        row.tenant,
        row.endpoint_id,
        row.event_id,
        row.event_type,
        dict(row.payload),
        _aware(row.occurred_at),
        DeliveryState(row.state),
        int(row.attempts),
    )


class WebhookRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_endpoint(self, endpoint: Endpoint, now: datetime) -> None:
        self.conn.execute(
            insert(c.webhook_endpoints).values(
                id=endpoint.id,
                tenant=endpoint.tenant,
                url=endpoint.url,
                secret=endpoint.secret,
                event_kinds=list(endpoint.event_kinds),
                active=endpoint.active,
                created_at=now,
            )
        )

    def endpoints(self, tenant: str, *, active_only: bool = True) -> list[Endpoint]:
        query = select(c.webhook_endpoints).where(c.webhook_endpoints.c.tenant == tenant)
        if active_only:
            query = query.where(c.webhook_endpoints.c.active.is_(True))
        rows = self.conn.execute(query.order_by(c.webhook_endpoints.c.created_at))
        return [
            Endpoint(r.id, r.tenant, r.url, r.secret, tuple(r.event_kinds), bool(r.active))
            for r in rows
        ]

    def deactivate(self, tenant: str, endpoint_id: uuid.UUID) -> None:
        self.conn.execute(
            update(c.webhook_endpoints)
            .where(c.webhook_endpoints.c.tenant == tenant, c.webhook_endpoints.c.id == endpoint_id)
            .values(active=False)
        )

    def tenants_with_endpoints(self) -> list[str]:
        rows = self.conn.execute(
            select(c.webhook_endpoints.c.tenant)
            .where(c.webhook_endpoints.c.active.is_(True))
            .distinct()
        )
        return [r.tenant for r in rows]

    def cursor(self, tenant: str) -> int | None:
        value = self.conn.execute(
            select(c.webhook_cursors.c.seq).where(c.webhook_cursors.c.tenant == tenant)
        ).scalar_one_or_none()
        return int(value) if value is not None else None

    def set_cursor(self, tenant: str, seq: int) -> None:
        if self.cursor(tenant) is None:
            self.conn.execute(insert(c.webhook_cursors).values(tenant=tenant, seq=seq))
        else:
            self.conn.execute(
                update(c.webhook_cursors)
                .where(c.webhook_cursors.c.tenant == tenant)
                .values(seq=seq)
            )

    def add_delivery(self, delivery: Delivery, now: datetime) -> None:
        self.conn.execute(
            insert(c.webhook_deliveries).values(
                id=delivery.id,
                tenant=delivery.tenant,
                endpoint_id=delivery.endpoint_id,
                event_id=delivery.event_id,
                event_type=delivery.event_type,
                payload=delivery.payload,
                occurred_at=delivery.occurred_at,
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )

    def due(self, now: datetime, *, limit: int) -> list[Delivery]:
        d = c.webhook_deliveries.c
        rows = self.conn.execute(
            select(c.webhook_deliveries)
            .where(d.state == DeliveryState.PENDING, d.next_attempt_at <= now)
            .order_by(d.next_attempt_at)
            .limit(limit)
        )
        return [_delivery(r) for r in rows]

    def get_delivery(self, tenant: str, delivery_id: uuid.UUID) -> Delivery | None:
        row = self.conn.execute(
            select(c.webhook_deliveries)
            .where(
                c.webhook_deliveries.c.tenant == tenant, c.webhook_deliveries.c.id == delivery_id
            )
            .with_for_update()
        ).first()
        return _delivery(row) if row else None

    def endpoint(self, tenant: str, endpoint_id: uuid.UUID) -> Endpoint | None:
        return next(
            (e for e in self.endpoints(tenant, active_only=False) if e.id == endpoint_id), None
        )

    def record_attempt(
        self,
        delivery: Delivery,
        attempt: DeliveryAttempt,
        *,
        state: str,
        next_attempt_at: datetime,
    ) -> None:
        self.conn.execute(
            insert(c.webhook_attempts).values(
                delivery_id=attempt.delivery_id,
                attempt=attempt.attempt,
                tenant=delivery.tenant,
                succeeded=attempt.succeeded,
                status_code=attempt.status_code,
                duration_ms=attempt.duration_ms,
                error=attempt.error,
                attempted_at=attempt.attempted_at,
            )
        )
        self.conn.execute(
            update(c.webhook_deliveries)
            .where(
                c.webhook_deliveries.c.tenant == delivery.tenant,
                c.webhook_deliveries.c.id == delivery.id,
            )
            .values(
                state=state,
                attempts=attempt.attempt,
                next_attempt_at=next_attempt_at,
                updated_at=attempt.attempted_at,
            )
        )

    def deliveries(self, tenant: str, *, limit: int = 100) -> list[Delivery]:
        rows = self.conn.execute(
            select(c.webhook_deliveries)
            .where(c.webhook_deliveries.c.tenant == tenant)
            .order_by(c.webhook_deliveries.c.created_at.desc())
            .limit(limit)
        )
        return [_delivery(r) for r in rows]

    def attempts(self, tenant: str, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
        a = c.webhook_attempts.c
        rows = self.conn.execute(
            select(c.webhook_attempts)
            .where(a.tenant == tenant, a.delivery_id == delivery_id)
            .order_by(a.attempt)
        )
        return [
            DeliveryAttempt(
                r.delivery_id,
                r.attempt,
                bool(r.succeeded),
                r.status_code,
                r.duration_ms,
                r.error,
                _aware(r.attempted_at),
            )
            for r in rows
        ]
