"""Records of what the connectors carry: @ctes transmissions, mails, publications, webhooks."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "Endpoint",
    "MailSending",
    "MailState",
    "Publication",
    "Transmission",
    "TransmissionState",
]


class TransmissionState(enum.StrEnum):
    """An @ctes transmission's progress; the values are the stored words."""

    SUBMITTING = "submitting"
    TRANSMITTED = "transmitted"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    """Refused by the prefecture after reception."""
    REFUSED = "refused"
    """Refused by the gateway when submitted."""


class MailState(enum.StrEnum):
    SENDING = "sending"
    """Some recipients are still to be sent to (deferred by the server)."""
    SENT = "sent"


class DeliveryState(enum.StrEnum):
    """A webhook delivery's progress; the values are the stored words."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Transmission:
    """One @ctes transmission of an act, as the engine tracks it."""

    id: uuid.UUID
    tenant: str
    case_id: uuid.UUID
    act_number: str
    act_unique_id: str
    idempotency_key: str
    archive_sha256: str
    state: TransmissionState
    transaction_id: str | None
    message: str | None
    ack_id: str | None
    ack_received_on: date | None
    ack_delivered: bool
    created_at: datetime


@dataclass(frozen=True)
class MailSending:
    tenant: str
    idempotency_key: str
    message_id: str
    pending: tuple[str, ...]
    state: MailState
    result: dict[str, Any] | None


@dataclass(frozen=True)
class Publication:
    """One entry of the public register (immutable)."""

    id: uuid.UUID
    tenant: str
    case_id: uuid.UUID
    kind: str
    nature: str
    number: str
    subject: str
    document_id: uuid.UUID
    file_name: str
    sha256: str
    size: int
    ack_id: str
    signature: dict[str, Any]
    session: str | None
    published_at: datetime
    online_until: datetime | None


@dataclass(frozen=True)
class Endpoint:
    id: uuid.UUID
    tenant: str
    url: str
    secret: str
    event_kinds: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    tenant: str
    endpoint_id: uuid.UUID
    event_id: str
    event_type: str
    payload: dict[str, Any]
    occurred_at: datetime
    state: DeliveryState
    attempts: int


@dataclass(frozen=True)
class DeliveryAttempt:
    delivery_id: uuid.UUID
    attempt: int
    succeeded: bool
    status_code: int | None
    duration_ms: int
    error: str
    attempted_at: datetime
