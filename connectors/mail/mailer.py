"""Send notifications over SMTP and describe what was sent, for the journal."""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import socket
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from connectors.errors import PermanentError, RetryableError
from connectors.mail.rendering import Filters, NotificationKind, render_notification

__all__ = [
    "Attachment",
    "Notification",
    "SentMessage",
    "SmtpConfig",
    "build_message",
    "send_notification",
]

RETRY_LATER = "Rien n'est perdu : l'envoi sera relancé automatiquement."


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP relay."""

    host: str
    """Relay host name or address."""
    port: int = 25
    """Relay port (587 with STARTTLS, 465 with implicit TLS)."""
    sender: str = "ne-pas-repondre@dematflow.local"
    """Envelope and From address."""
    sender_name: str = "dematflow"
    """Display name in From."""
    security: str = "none"
    """``none``, ``starttls`` or ``tls`` (implicit)."""
    username: str = ""
    """Login, when the relay wants one."""
    password: str = ""
    """Password for that login."""
    timeout_seconds: float = 10.0
    """Connect and command timeout."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with the message (e.g. the council session's documents)."""

    filename: str
    """Name shown to the recipient."""
    content: bytes
    """The file's bytes."""
    mime_type: str = "application/pdf"
    """``maintype/subtype``."""


@dataclass(frozen=True)
class Notification:
    """One notification to send."""

    kind: NotificationKind
    """Which template."""
    to: tuple[str, ...]
    """Recipients' addresses."""
    context: Mapping[str, object]
    """Values for the template."""
    attachments: tuple[Attachment, ...] = ()
    """Files to join."""
    message_id: str = ""
    """Message-ID to reuse on a retry (``<...@...>``); empty: a new one."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra headers (e.g. ``X-Dematflow-Case``)."""


@dataclass(frozen=True)
class SentMessage:
    """What the relay accepted, for the journal."""

    message_id: str
    """The Message-ID header."""
    recipients: tuple[str, ...]
    """Addresses the relay accepted."""
    refused: Mapping[str, str]
    """Addresses the relay refused for good, with its answer."""
    deferred: Mapping[str, str]
    """Addresses the relay refused for now: send again to them only, same ``message_id``."""
    subject: str
    """Subject line."""
    sha256: str
    """Fingerprint of the exact bytes sent."""
    size: int
    """Their length."""


def build_message(
    notification: Notification, *, config: SmtpConfig, filters: Filters
) -> EmailMessage:
    """The MIME message: text part always, HTML alternative, then attachments; `filters` are
    the French formats of the templates (see `connectors.mail.rendering.FORMAT_FILTERS`)."""
    if not notification.to:
        raise ValueError("aucun destinataire")
    attached = [a.filename for a in notification.attachments]
    rendered = render_notification(
        notification.kind,
        {"sender_name": config.sender_name, "attachments": attached, **notification.context},
        filters=filters,
    )
    message = EmailMessage()
    message["From"] = f"{config.sender_name} <{config.sender}>"
    message["To"] = ", ".join(notification.to)
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = config.sender.rpartition("@")[2] or "dematflow.local"
    message["Message-ID"] = notification.message_id or make_msgid(uuid.uuid4().hex, domain)
    for name, value in notification.headers.items():
        message[name] = value
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for attachment in notification.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def send_notification(
    notification: Notification, *, config: SmtpConfig, filters: Filters
) -> SentMessage:
    """Send one notification rendered with `filters`; RetryableError when the relay is down or
    says "later"."""
    message = build_message(notification, config=config, filters=filters)
    data = message.as_bytes(policy=email.policy.SMTP)  # CRLF, lines within RFC 5321 limits
    try:
        refused = _deliver(config, list(notification.to), data)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refusal(exc.recipients) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentError(
            "Le serveur de courriel a refusé l'identification.",
            action="Vérifier l'identifiant et le mot de passe SMTP dans la configuration.",
            code="smtp_auth",
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise _by_code(exc.smtp_code, exc.smtp_error) from exc
    except (OSError, smtplib.SMTPException) as exc:  # refused, timeout, disconnected, TLS
        raise RetryableError(
            f"Le serveur de courriel est injoignable ({exc or type(exc).__name__}).",
            action=RETRY_LATER,
            code="smtp_unreachable",
        ) from exc
    accepted = tuple(a for a in notification.to if a not in refused)
    return SentMessage(
        message_id=str(message["Message-ID"]),
        recipients=accepted,
        refused={a: _reply(c, t) for a, (c, t) in refused.items() if c >= 500},
        deferred={a: _reply(c, t) for a, (c, t) in refused.items() if c < 500},
        subject=str(message["Subject"]),
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def _deliver(config: SmtpConfig, to: list[str], data: bytes) -> dict[str, tuple[int, bytes]]:
    smtp_class = smtplib.SMTP_SSL if config.security == "tls" else smtplib.SMTP
    with smtp_class(
        config.host,
        config.port,
        timeout=config.timeout_seconds,
        local_hostname=socket.getfqdn() or "localhost",
    ) as smtp:
        if config.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password)
        return smtp.sendmail(config.sender, to, data)


def _reply(code: int, text: bytes) -> str:
    return f"{code} {text.decode(errors='replace')}"


def _refusal(recipients: Mapping[str, tuple[int, bytes]]) -> PermanentError | RetryableError:
    detail = ", ".join(f"{a} ({code})" for a, (code, _text) in recipients.items())
    if any(code < 500 for code, _text in recipients.values()):
        return RetryableError(
            f"Le serveur de courriel a différé des destinataires : {detail}.",
            action=RETRY_LATER,
            code="smtp_deferred",
        )
    return PermanentError(
        f"Le serveur de courriel a refusé tous les destinataires : {detail}.",
        action="Vérifier les adresses électroniques des destinataires.",
        code="smtp_recipients_refused",
    )


def _by_code(code: int, text: bytes | str) -> PermanentError | RetryableError:
    reply = text.decode(errors="replace") if isinstance(text, bytes) else text
    if code < 500:
        return RetryableError(
            f"Le serveur de courriel a différé l'envoi ({code} {reply}).",
            action=RETRY_LATER,
            code="smtp_deferred",
        )
    return PermanentError(
        f"Le serveur de courriel a refusé le message ({code} {reply}).",
        action="Vérifier l'adresse d'expédition et la taille des pièces jointes.",
        code="smtp_refused",
    )
