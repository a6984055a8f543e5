"""The SMTP relay as the mail connector needs it, from the platform's settings."""

from __future__ import annotations

from connectors import SmtpConfig
from engine.settings import SmtpSettings


def relay_config(settings: SmtpSettings) -> SmtpConfig:
    """The configured relay; callers check `settings.host` first (no relay, no mail)."""
    return SmtpConfig(
        host=settings.host,
        port=settings.port,
        sender=settings.sender,
        sender_name=settings.sender_name,
        security=settings.security,
        username=settings.username,
        password=settings.password,
        timeout_seconds=settings.timeout_seconds,
    )
