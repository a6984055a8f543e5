"""Tables of procedure versions: numbers, deployments (all tenants or one), case migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from engine.persistence.tables import metadata

procedure_versions = Table(
    "procedure_versions",
    metadata,
    Column("spec_hash", String(64), ForeignKey("process_specs.hash"), primary_key=True),
    Column("procedure", String(100), nullable=False),
    Column("number", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("procedure", "number", name="uq_procedure_versions_procedure_number"),
)
"""The version number of each deployed definition of a procedure (1, 2, … in deployment order)."""

procedure_deployments = Table(
    "procedure_deployments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("spec_hash", String(64), ForeignKey("process_specs.hash"), nullable=False),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=True),
    Column("deployed_by", String(200), nullable=False),
    Column("deployed_at", DateTime(timezone=True), nullable=False),
    Index("ix_procedure_deployments_spec", "spec_hash"),
)
"""Who deployed a version and for whom: `tenant` NULL means every tenant. A definition with no
row (stored before versions were numbered) counts as deployed for every tenant."""

case_migrations = Table(
    "case_migrations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("tenant", String(9), nullable=False),
    Column("from_hash", String(64), ForeignKey("process_specs.hash"), nullable=False),
    Column("to_hash", String(64), ForeignKey("process_specs.hash"), nullable=False),
    Column("previous_version", Integer, nullable=False),
    Column("migrated_version", Integer, nullable=False),
    Column("previous_status", String(20), nullable=False),
    Column("previous_format", String(20), nullable=False),
    Column("previous_state", Text, nullable=False),
    Column("previous_tasks", JSON, nullable=False),
    Column("migrated_by", String(200), nullable=False),
    Column("migrated_at", DateTime(timezone=True), nullable=False),
    Column("rolled_back_by", String(200), nullable=True),
    Column("rolled_back_at", DateTime(timezone=True), nullable=True),
    Index("ix_case_migrations_case", "case_id", "migrated_at"),
)
"""A case moved to another version, with its state as it was (header, task rows, format and
row version), so that a rollback restores it exactly."""
