"""Outgoing webhooks per tenant: registering endpoints, the policies their deliveries follow.

Targets are checked when registered and again at each connection (no SSRF, no DNS rebinding):
only public addresses unless the operator allows a network in settings. Fan-out and delivery
are the periodic job `engine.jobs.webhooks`.
"""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors import (
    RetryPolicy,
    TargetPolicy,
    UnsafeTargetError,
    check_target_url,
)
from engine.domain.connector_records import Endpoint
from engine.domain.errors import InvalidInput
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


@dataclass(frozen=True)
class RegisteredEndpoint:
    endpoint: Endpoint
    secret: str
    """Shown once to the tenant's admin: the receiver verifies signatures with it."""


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


def secret_bytes(secret: str) -> bytes:
    """The signing key behind an endpoint's `whsec_` secret."""
    return base64.b64decode(secret.removeprefix("whsec_"))
