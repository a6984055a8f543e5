"""The connectors error family: every failure says what happened and what to do, in French."""

from __future__ import annotations

import ssl

__all__ = [
    "AcknowledgementConflictError",
    "ConnectorError",
    "DuplicateActError",
    "IdempotencyConflictError",
    "PermanentError",
    "RetryableError",
    "UnsafeTargetError",
    "is_tls_refusal",
]


class ConnectorError(Exception):
    """Base of every connectors error.

    ``message`` tells what happened and ``action`` what to do about it; both are in French
    because the engine shows them to agents as they are.
    """

    def __init__(self, message: str, *, action: str = "", code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.code = code or type(self).__name__

    def __str__(self) -> str:
        return f"{self.message} {self.action}".strip()

    @property
    def retryable(self) -> bool:
        """Whether running the same call again later may succeed."""
        return False


class RetryableError(ConnectorError):
    """A passing failure (timeout, 5xx, connection refused): retry later with the same inputs."""

    @property
    def retryable(self) -> bool:
        return True


class PermanentError(ConnectorError):
    """A failure that retrying will not fix (rejection, invalid input, refused certificate)."""


class DuplicateActError(PermanentError):
    """The tiers de télétransmission already holds another act with the same number."""


class IdempotencyConflictError(PermanentError):
    """The idempotency key was already used for a different content."""


class AcknowledgementConflictError(PermanentError):
    """Two different acknowledgements were received for one transmission."""


class UnsafeTargetError(PermanentError):
    """A webhook target resolves to an address that may not receive traffic."""


def is_tls_refusal(exc: BaseException) -> bool:
    """Whether a transport error was the peer refusing the TLS handshake (a client certificate
    it does not accept, say), rather than the network: worth telling apart, since retrying
    will not help."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) and not isinstance(seen, ssl.SSLEOFError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
