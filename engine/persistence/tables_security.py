"""Tables of the platform's own security: failed login counts shared by every web process."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from engine.persistence.tables import metadata

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Index("ix_login_attempts_window", "window_start"),
)
"""Login attempts counted per key (`u:<username>` or `a:<client address>`) and per short
window (one minute): the limit applies to the sum of the windows of the last quarter hour.
Rows whose window has left the quarter hour are purged on write."""
