"""Instants as the platform keeps them: aware, in UTC when a store hands them back naive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

__all__ = ["assume_utc"]


@overload
def assume_utc(moment: datetime) -> datetime: ...
@overload
def assume_utc(moment: None) -> None: ...
def assume_utc(moment: datetime | None) -> datetime | None:
    """A naive value is taken as UTC (SQLite returns the UTC values it was given without their
    zone); an aware one and None are returned unchanged."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
