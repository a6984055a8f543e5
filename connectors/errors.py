"""The connectors error family: every failure says what happened and what to do, in French."""

from __future__ import annotations

__all__ = [
    "AcknowledgementConflictError",
    "ConnectorError",
    "DuplicateActError",
    "IdempotencyConflictError",
    "PermanentError",
    "RetryableError",
    "UnsafeTargetError",
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
