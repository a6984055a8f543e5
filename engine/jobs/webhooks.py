"""Periodic webhook delivery: fan-out of journal entries, then one attempt per due delivery.

Events are journal entries (hash-chained, so nothing is missed): a cursor per tenant marks what
was fanned out. Each (endpoint, event) pair is a delivery row retried with exponential backoff;
every attempt is kept in the delivery log. Each tenant's fan-out and each delivery attempt is
its own transaction, the delivery re-read under a row lock (a concurrent run skips it).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors import WebhookEndpoint, WebhookEvent, deliver_webhook, next_delay
from engine.domain.connector_records import Delivery, DeliveryAttempt, DeliveryState
from engine.domain.journal import canonical_json
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork
from engine.services.webhooks import retry_policy, secret_bytes, target_policy
from engine.settings import WebhookSettings

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass
class WebhookRunReport:
    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def fan_out(uow: UnitOfWork, tenant: str, *, now: datetime, batch: int = 1000) -> int:
    """Turn the tenant's new journal entries into deliveries; the cursor moves in the same
    transaction, so an entry is fanned out exactly once. A new endpoint starts from now."""
    endpoints = uow.webhooks.endpoints(tenant)
    head, _ = uow.journal.head(tenant)
    cursor = uow.webhooks.cursor(tenant)
    if cursor is None:
        uow.webhooks.set_cursor(tenant, head)
        return 0
    created = 0
    last = cursor
    for entry in uow.journal.iter_entries(tenant, after_seq=cursor, batch=batch):
        last = entry.seq
        payload = {
            "dossier": str(entry.case_id) if entry.case_id else None,
            "sequence": entry.seq,
            "empreinte": entry.hash,
            "details": entry.payload
            if len(canonical_json(entry.payload)) <= MAX_PAYLOAD_BYTES
            else {},
        }
        for endpoint in endpoints:
            if entry.kind in endpoint.event_kinds:
                uow.webhooks.add_delivery(
                    Delivery(
                        id=uuid.uuid4(),
                        tenant=tenant,
                        endpoint_id=endpoint.id,
                        event_id=f"{tenant}-{entry.seq}",
                        event_type=entry.kind,
                        payload=payload,
                        occurred_at=entry.recorded_at,
                        state=DeliveryState.PENDING,
                        attempts=0,
                    ),
                    now,
                )
                created += 1
        if entry.seq - cursor >= batch:
            break
    if last != cursor:
        uow.webhooks.set_cursor(tenant, last)
    return created


def deliver_one(
    uow: UnitOfWork, settings: WebhookSettings, delivery: Delivery, *, now: datetime
) -> str:
    """One attempt of one delivery; returns its new state (delivered, pending or failed)."""
    endpoint = uow.webhooks.endpoint(delivery.tenant, delivery.endpoint_id)
    if endpoint is None:
        return delivery.state
    attempt = delivery.attempts + 1
    record = deliver_webhook(
        WebhookEndpoint(endpoint.url, secret_bytes(endpoint.secret), delivery.tenant),
        WebhookEvent(
            delivery.event_id, delivery.event_type, delivery.occurred_at, delivery.payload
        ),
        policy=target_policy(settings),
        attempt=attempt,
        timeout_seconds=settings.timeout_seconds,
        now=int(now.timestamp()),
    )
    delay = next_delay(retry_policy(settings), attempt, random_fraction=random.random())  # noqa: S311
    if record.succeeded:
        state = "delivered"
    elif record.retryable and delay is not None and endpoint.active:
        state = "pending"
    else:
        state = "failed"
    uow.webhooks.record_attempt(
        delivery,
        DeliveryAttempt(
            delivery.id,
            attempt,
            record.succeeded,
            record.status_code,
            record.duration_ms,
            record.error,
            now,
        ),
        state=state,
        next_attempt_at=now + timedelta(seconds=delay or 0),
    )
    return state


def run_webhooks(
    uow_factory: Callable[[], UnitOfWork],
    settings: WebhookSettings,
    *,
    now: datetime,
    batch: int = 100,
) -> WebhookRunReport:
    """The periodic job: fan out new journal entries, then try every due delivery once."""
    report = WebhookRunReport()
    runner = TransactionRunner(uow_factory)
    tenants = runner.read(lambda uow: uow.webhooks.tenants_with_endpoints())
    for tenant in tenants:
        report.fanned_out += runner.write(fan_out, tenant, now=now)
    due = runner.read(lambda uow: uow.webhooks.due(now, limit=batch))
    for candidate in due:
        state = runner.write(_attempt, settings, candidate, now=now)
        report.delivered += state == "delivered"
        report.retried += state == "pending"
        report.failed += state == "failed"
    return report


def _attempt(
    uow: UnitOfWork, settings: WebhookSettings, candidate: Delivery, *, now: datetime
) -> str | None:
    """Re-read under a row lock (a concurrent run may have taken it meanwhile), then deliver."""
    delivery = uow.webhooks.get_delivery(candidate.tenant, candidate.id)
    if delivery is None or delivery.state != "pending":
        return None
    return deliver_one(uow, settings, delivery, now=now)
