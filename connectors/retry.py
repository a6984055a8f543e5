"""Retry policy shared by the connectors: pure functions, so jobs and tests agree on timing."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy", "next_delay"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap and a bounded number of attempts."""

    base_seconds: float = 30.0
    """Delay before the second attempt."""
    factor: float = 2.0
    """Multiplier between two consecutive delays."""
    max_seconds: float = 6 * 3600.0
    """No delay is longer than this."""
    max_attempts: int = 8
    """Attempts in all, the first included; after the last one, give up."""
    jitter: float = 0.1
    """Fraction of the delay that may be added at random (spreads retries of many jobs)."""


def next_delay(policy: RetryPolicy, attempt: int, *, random_fraction: float = 0.0) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), or None to give up.

    ``random_fraction`` in [0, 1) is supplied by the caller (e.g. ``random.random()``) so this
    stays a pure function.
    """
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    if not 0.0 <= random_fraction < 1.0:
        raise ValueError("random_fraction must be in [0, 1)")
    if attempt >= policy.max_attempts:
        return None
    delay = min(policy.base_seconds * policy.factor ** (attempt - 1), policy.max_seconds)
    return delay * (1.0 + policy.jitter * random_fraction)
