"""Connectors to the outside world: @ctes (prefecture), mail, webhooks. A leaf library."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

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

__getattr__, __dir__, _LAZY_NAMES = lazy_loader.attach(
    __name__,
    submod_attrs={
        "actes.acknowledgement": [
            "Acknowledgement",
            "ExchangeKind",
            "parse_acknowledgement",
            "reconcile_acknowledgement",
        ],
        "actes.client": [
            "ClientTls",
            "PrefectureExchange",
            "Submission",
            "TdtClient",
            "TdtConfig",
            "TransmissionState",
        ],
        "actes.envelope": ["ActesArchive", "build_archive"],
        "actes.model": [
            "ActesFile",
            "ActesTransmission",
            "Finding",
            "Nature",
            "ValidationReport",
            "validate_transmission",
        ],
        "actes.status": ["TransactionStatus"],
        "errors": [
            "AcknowledgementConflictError",
            "ConnectorError",
            "DuplicateActError",
            "IdempotencyConflictError",
            "PermanentError",
            "RetryableError",
            "UnsafeTargetError",
        ],
        "mail.mailer": [
            "Attachment",
            "Notification",
            "SentMessage",
            "SmtpConfig",
            "send_notification",
        ],
        "mail.rendering": ["NotificationKind", "RenderedMail", "render_notification"],
        "retry": ["RetryPolicy", "next_delay"],
        "webhooks.delivery": [
            "DeliveryRecord",
            "WebhookEndpoint",
            "WebhookEvent",
            "deliver_webhook",
        ],
        "webhooks.signing": ["sign_webhook", "verify_webhook"],
        "webhooks.targets": ["TargetPolicy", "check_target_url"],
    },
)
"""Where each public name lives: imported from there on first use (PEP 562, by lazy_loader), so that importing
one light module of the package (`connectors.errors`…) does not load every library behind the others."""
