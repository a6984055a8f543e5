"""Tables of the signature circuits: delegations of a person to a named deputy over a period."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table, Text, Uuid

from engine.persistence.tables import metadata

delegations = Table(
    "delegations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("delegator", String(120), nullable=False),
    Column("deputy", String(120), nullable=False),
    Column("starts", DateTime(timezone=True), nullable=False),
    Column("ends", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(200), nullable=True),
    Index("ix_delegations_deputy", "tenant", "deputy", "ends"),
    Index("ix_delegations_delegator", "tenant", "delegator", "ends"),
)
"""Logins, not user ids: assignees and `<task>_par` name people by login. Never deleted:
a revoked delegation keeps its row (the journal and past signatures refer to it)."""
