"""Connectors to the outside world: @ctes (prefecture), mail, webhooks. A leaf library."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.actes.acknowledgement import (
        Acknowledgement,
        ExchangeKind,
        parse_acknowledgement,
        reconcile_acknowledgement,
    )
    from connectors.actes.client import (
        ClientTls,
        PrefectureExchange,
        Submission,
        TdtClient,
        TdtConfig,
        TransmissionState,
    )
    from connectors.actes.envelope import ActesArchive, build_archive
    from connectors.actes.model import (
        ActesFile,
        ActesTransmission,
        Finding,
        Nature,
        ValidationReport,
        validate_transmission,
    )
    from connectors.actes.status import TransactionStatus
    from connectors.errors import (
        AcknowledgementConflictError,
        ConnectorError,
        DuplicateActError,
        IdempotencyConflictError,
        PermanentError,
        RetryableError,
        UnsafeTargetError,
    )
    from connectors.mail.mailer import (
        Attachment,
        Notification,
        SentMessage,
        SmtpConfig,
        send_notification,
    )
    from connectors.mail.rendering import NotificationKind, RenderedMail, render_notification
    from connectors.retry import RetryPolicy, next_delay
    from connectors.webhooks.delivery import (
        DeliveryRecord,
        WebhookEndpoint,
        WebhookEvent,
        deliver_webhook,
    )
    from connectors.webhooks.signing import sign_webhook, verify_webhook
    from connectors.webhooks.targets import TargetPolicy, check_target_url

__all__ = [
    "Acknowledgement",
    "AcknowledgementConflictError",
    "ActesArchive",
    "ActesFile",
    "ActesTransmission",
    "Attachment",
    "ClientTls",
    "ConnectorError",
    "DeliveryRecord",
    "DuplicateActError",
    "ExchangeKind",
    "Finding",
    "IdempotencyConflictError",
    "Nature",
    "Notification",
    "NotificationKind",
    "PermanentError",
    "PrefectureExchange",
    "RenderedMail",
    "RetryPolicy",
    "RetryableError",
    "SentMessage",
    "SmtpConfig",
    "Submission",
    "TargetPolicy",
    "TdtClient",
    "TdtConfig",
    "TransactionStatus",
    "TransmissionState",
    "UnsafeTargetError",
    "ValidationReport",
    "WebhookEndpoint",
    "WebhookEvent",
    "build_archive",
    "check_target_url",
    "deliver_webhook",
    "next_delay",
    "parse_acknowledgement",
    "reconcile_acknowledgement",
    "render_notification",
    "send_notification",
    "sign_webhook",
    "validate_transmission",
    "verify_webhook",
]

_EXPORTS: dict[str, str] = {
    "Acknowledgement": "connectors.actes.acknowledgement",
    "ExchangeKind": "connectors.actes.acknowledgement",
    "parse_acknowledgement": "connectors.actes.acknowledgement",
    "reconcile_acknowledgement": "connectors.actes.acknowledgement",
    "ClientTls": "connectors.actes.client",
    "PrefectureExchange": "connectors.actes.client",
    "Submission": "connectors.actes.client",
    "TdtClient": "connectors.actes.client",
    "TdtConfig": "connectors.actes.client",
    "TransmissionState": "connectors.actes.client",
    "ActesArchive": "connectors.actes.envelope",
    "build_archive": "connectors.actes.envelope",
    "ActesFile": "connectors.actes.model",
    "ActesTransmission": "connectors.actes.model",
    "Finding": "connectors.actes.model",
    "Nature": "connectors.actes.model",
    "ValidationReport": "connectors.actes.model",
    "validate_transmission": "connectors.actes.model",
    "TransactionStatus": "connectors.actes.status",
    "AcknowledgementConflictError": "connectors.errors",
    "ConnectorError": "connectors.errors",
    "DuplicateActError": "connectors.errors",
    "IdempotencyConflictError": "connectors.errors",
    "PermanentError": "connectors.errors",
    "RetryableError": "connectors.errors",
    "UnsafeTargetError": "connectors.errors",
    "Attachment": "connectors.mail.mailer",
    "Notification": "connectors.mail.mailer",
    "SentMessage": "connectors.mail.mailer",
    "SmtpConfig": "connectors.mail.mailer",
    "send_notification": "connectors.mail.mailer",
    "NotificationKind": "connectors.mail.rendering",
    "RenderedMail": "connectors.mail.rendering",
    "render_notification": "connectors.mail.rendering",
    "RetryPolicy": "connectors.retry",
    "next_delay": "connectors.retry",
    "DeliveryRecord": "connectors.webhooks.delivery",
    "WebhookEndpoint": "connectors.webhooks.delivery",
    "WebhookEvent": "connectors.webhooks.delivery",
    "deliver_webhook": "connectors.webhooks.delivery",
    "sign_webhook": "connectors.webhooks.signing",
    "verify_webhook": "connectors.webhooks.signing",
    "TargetPolicy": "connectors.webhooks.targets",
    "check_target_url": "connectors.webhooks.targets",
}
"""Where each public name lives: imported from there on first use (PEP 562), so that importing
one light module of the package (`connectors.errors`…) does not load every library behind the others."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
