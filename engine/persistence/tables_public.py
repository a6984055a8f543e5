"""Tables of the public side: requests citizens filed online and how they follow them."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, UniqueConstraint, Uuid

from engine.persistence.tables import metadata

public_requests = Table(
    "public_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False, unique=True),
    Column("reference", String(40), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "reference", name="uq_public_requests_reference"),
)
"""A request filed on the public form. Only the SHA-256 of the follow-up link's token is kept:
the token itself is shown once on the confirmation page and never stored."""
