"""Deliver one case event to one tenant endpoint and describe the outcome for the delivery log."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from connectors.errors import UnsafeTargetError
from connectors.webhooks.signing import sign_webhook
from connectors.webhooks.targets import (
    GuardedTransport,
    Resolver,
    TargetPolicy,
    check_target_url,
    resolve_host,
)

__all__ = ["DeliveryRecord", "WebhookEndpoint", "WebhookEvent", "deliver_webhook", "event_body"]

USER_AGENT = "dematflow-webhooks/1"
MAX_ERROR_BODY = 512


@dataclass(frozen=True)
class WebhookEndpoint:
    """A tenant's subscription."""

    url: str
    """Target URL (https, public address unless the policy allows otherwise)."""
    secret: bytes
    """Shared HMAC secret (at least 24 random bytes)."""
    tenant: str
    """The tenant (collectivité SIREN) the events belong to."""


@dataclass(frozen=True)
class WebhookEvent:
    """A case event to announce."""

    id: str
    """Unique and stable across retries: receivers deduplicate on it (``webhook-id``)."""
    type: str
    """E.g. ``case.completed``, ``actes.acknowledged``."""
    occurred_at: dt.datetime
    """When it happened (aware datetime)."""
    data: Mapping[str, object] = field(default_factory=dict)
    """JSON-serializable details."""


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery attempt, as the delivery log keeps it."""

    event_id: str
    """The event delivered."""
    url: str
    """Where."""
    attempt: int
    """1 for the first try."""
    succeeded: bool
    """A 2xx answer was received."""
    retryable: bool
    """A failure worth another attempt (network, timeout, 5xx, 408, 429...)."""
    status_code: int | None
    """HTTP status, None if no answer."""
    duration_ms: int
    """Time from the request to the answer or the failure."""
    error: str
    """What went wrong, in French; empty on success."""


_Record = Callable[[bool, bool, "int | None", str], DeliveryRecord]


def event_body(endpoint: WebhookEndpoint, event: WebhookEvent) -> bytes:
    """The JSON body (stable key order, UTF-8)."""
    document = {
        "id": event.id,
        "type": event.type,
        "tenant": endpoint.tenant,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.data,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def deliver_webhook(
    endpoint: WebhookEndpoint,
    event: WebhookEvent,
    *,
    policy: TargetPolicy,
    attempt: int = 1,
    timeout_seconds: float = 10.0,
    now: int | None = None,
    resolver: Resolver = resolve_host,
) -> DeliveryRecord:
    """POST the signed event once; never raises for the target's failures (see the record)."""
    body = event_body(endpoint, event)
    timestamp = int(time.time()) if now is None else now
    headers = {
        **sign_webhook(endpoint.secret, message_id=event.id, timestamp=timestamp, body=body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    started = time.monotonic()

    def record(succeeded: bool, retryable: bool, code: int | None, error: str) -> DeliveryRecord:
        elapsed = int((time.monotonic() - started) * 1000)
        return DeliveryRecord(
            event.id, endpoint.url, attempt, succeeded, retryable, code, elapsed, error
        )

    transport = GuardedTransport(policy, resolver=resolver)
    try:
        check_target_url(endpoint.url, policy=policy, resolver=resolver)
        with httpx.Client(
            transport=transport, timeout=timeout_seconds, follow_redirects=False
        ) as client:
            response = client.post(endpoint.url, content=body, headers=headers)
    except UnsafeTargetError as exc:
        return record(False, False, None, str(exc))
    except httpx.TimeoutException:
        return record(False, True, None, f"Délai dépassé ({timeout_seconds:g} s) sans réponse.")
    except httpx.HTTPError as exc:
        return record(False, True, None, f"Échec de connexion : {exc or type(exc).__name__}.")
    finally:
        transport.close()
    return _judge(response, record)


def _judge(response: httpx.Response, record: _Record) -> DeliveryRecord:
    code = response.status_code
    if 200 <= code < 300:
        return record(True, False, code, "")
    excerpt = response.text[:MAX_ERROR_BODY].strip()
    if 300 <= code < 400:
        return record(
            False, False, code, "Redirection refusée : configurer l'URL finale du webhook."
        )
    if code == 410:
        return record(
            False, False, code, "Le destinataire indique que ce webhook n'existe plus (410)."
        )
    return record(False, True, code, f"Réponse HTTP {code} du destinataire. {excerpt}".strip())
