"""Tables of the platform's own security: login attempts and delays shared by every web process,
second factors (TOTP) with their recovery codes, and the tenants' second-factor requirements."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Table, Uuid

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

login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
)
"""Consecutive failed logins of one account from one source (`u:<username>|<address>`, with
`|appareil` from a known device) and when the last one happened: the next attempt waits a
delay that grows with the count. A success deletes the row."""

second_factors = Table(
    "second_factors",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("secret", String(300), nullable=True),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("demanded_by", String(200), nullable=True),
    Column("demanded_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""A member's TOTP second factor. `secret` is Fernet-encrypted with a key derived from the
platform's secret key (never stored in clear); set and unconfirmed during enrolment, confirmed
once a first code was given. `last_step` is the TOTP time step last accepted: a code of that
step or an earlier one is refused (no replay). `demanded_*`: a tenant admin required this
member to set one up at their next login."""

second_factor_recovery_codes = Table(
    "second_factor_recovery_codes",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("code_hash", String(64), primary_key=True),
    Column("used_at", DateTime(timezone=True), nullable=True),
)
"""One-time recovery codes, stored as SHA-256 hashes (random 50-bit codes: a slow hash adds
nothing against a stolen table, and attempts are throttled like logins)."""

second_factor_requirements = Table(
    "second_factor_requirements",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("role", String(40), primary_key=True),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""The roles of a tenant whose members must have a second factor (élus, admins); one row per
role required."""
