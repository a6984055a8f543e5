"""Webhook signatures in the Standard Webhooks format (HMAC-SHA256 over id, timestamp, body)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["sign_webhook", "verify_webhook"]

DEFAULT_TOLERANCE_SECONDS = 300


def _signature(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()


def sign_webhook(secret: bytes, *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64>``."""
    if not secret:
        raise ValueError("secret de webhook vide")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + _signature(secret, message_id, timestamp, body),
    }


def verify_webhook(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: right signature and a timestamp close to now (no replays)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get("webhook-id", "")
    try:
        timestamp = int(lowered.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if not message_id or abs(now - timestamp) > tolerance_seconds:
        return False
    expected = _signature(secret, message_id, timestamp, body)
    candidates = [s.partition(",") for s in lowered.get("webhook-signature", "").split()]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, _, sig in candidates)
