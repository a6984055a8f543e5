"""Outgoing webhooks per tenant: endpoints, fan-out of journal entries, deliveries with backoff.

Events are journal entries (hash-chained, so nothing is missed): a cursor per tenant marks what
was fanned out. Each (endpoint, event) pair is a delivery row retried with exponential backoff;
every attempt is kept in the delivery log. Targets are checked when registered and again at
each connection (no SSRF, no DNS rebinding): only public addresses unless the operator allows
a network in settings.
"""

from __future__ import annotations

import base64
import logging
import random
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors import (
    RetryPolicy,
    TargetPolicy,
    UnsafeTargetError,
    WebhookEndpoint,
    WebhookEvent,
    check_target_url,
    deliver_webhook,
    next_delay,
)
from engine.domain.connector_records import Delivery, DeliveryAttempt, DeliveryState, Endpoint
from engine.domain.errors import InvalidInput
from engine.domain.journal import canonical_json
from engine.persistence.uow import UnitOfWork
from engine.settings import WebhookSettings

log = logging.getLogger(__name__)

EVENT_KINDS = frozenset(
    {
        "case.started",
        "case.completed",
        "case.cancelled",
        "case.error",
        "task.completed",
        "message.received",
        "mail.sent",
        "actes.transmitted",
        "actes.acknowledged",
        "actes.rejected",
        "actes.letter_received",
        "act.published",
    }
)
"""Journal kinds a tenant may subscribe to."""
MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class RegisteredEndpoint:
    endpoint: Endpoint
    secret: str
    """Shown once to the tenant's admin: the receiver verifies signatures with it."""


@dataclass
class WebhookRunReport:
    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def target_policy(settings: WebhookSettings) -> TargetPolicy:
    return TargetPolicy(
        allowed_networks=tuple(settings.allowed_networks),
        allowed_schemes=tuple(settings.allowed_schemes),
    )


def retry_policy(settings: WebhookSettings) -> RetryPolicy:
    return RetryPolicy(base_seconds=settings.base_delay_seconds, max_attempts=settings.max_attempts)


def add_endpoint(
    uow: UnitOfWork,
    settings: WebhookSettings,
    *,
    tenant: str,
    url: str,
    event_kinds: Sequence[str],
    now: datetime,
) -> RegisteredEndpoint:
    """Validate the URL (public address only) and the kinds; the secret is generated here."""
    if uow.tenants.get(tenant) is None:
        raise InvalidInput("Collectivité inconnue.")
    unknown = sorted(set(event_kinds) - EVENT_KINDS)
    if unknown or not event_kinds:
        raise InvalidInput(
            f"Événements inconnus ou absents : {', '.join(unknown) or '(aucun)'} ; "
            f"possibles : {', '.join(sorted(EVENT_KINDS))}."
        )
    try:
        check_target_url(url, policy=target_policy(settings))
    except UnsafeTargetError as exc:
        raise InvalidInput(str(exc)) from exc
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    endpoint = Endpoint(uuid.uuid4(), tenant, url, secret, tuple(sorted(set(event_kinds))), True)
    uow.webhooks.add_endpoint(endpoint, now)
    return RegisteredEndpoint(endpoint, secret)


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


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
        WebhookEndpoint(endpoint.url, _secret_bytes(endpoint.secret), delivery.tenant),
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
    with uow_factory() as uow:
        tenants = uow.webhooks.tenants_with_endpoints()
    for tenant in tenants:
        with uow_factory() as uow:
            report.fanned_out += fan_out(uow, tenant, now=now)
            uow.commit()
    with uow_factory() as uow:
        due = uow.webhooks.due(now, limit=batch)
    for candidate in due:
        with uow_factory() as uow:
            # Re-read under a row lock: a concurrent run may have taken it meanwhile.
            delivery = uow.webhooks.get_delivery(candidate.tenant, candidate.id)
            if delivery is None or delivery.state != "pending":
                continue
            state = deliver_one(uow, settings, delivery, now=now)
            uow.commit()
        report.delivered += state == "delivered"
        report.retried += state == "pending"
        report.failed += state == "failed"
    return report
