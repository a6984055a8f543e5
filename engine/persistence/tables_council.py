"""Table of a tenant's council: the councillors, with their mandate dates and role."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, String, Table, Uuid

from engine.persistence.tables import metadata

councillors = Table(
    "councillors",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("role", String(40), nullable=False),
    Column("mandate_start", Date, nullable=False),
    Column("mandate_end", Date, nullable=True),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_councillors_tenant", "tenant", "name"),
)
"""One mandate of one councillor (a re-elected councillor gets a new row); no end date: the
mandate runs. Convocations, attendance and votes pick from the rows in mandate at the séance."""
