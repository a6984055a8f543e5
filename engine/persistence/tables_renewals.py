"""Table of archival timestamp renewals: renewed copies of archived signed PDFs.

A package under COMPLIANCE Object Lock cannot change. When the chain of document timestamps
of one of its signed PDFs must be renewed, the renewed PDF is stored as a new locked object
beside the package; each row records one such copy (its key, version and SHA-256) so that the
next renewal starts from the latest copy. Every row carries the tenant's SIREN.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from engine.persistence.tables import metadata

timestamp_renewals = Table(
    "timestamp_renewals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("package_id", String(128), nullable=False),
    Column("source_key", String(1024), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("object_key", String(1024), nullable=False),
    Column("version_id", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("timestamp_at", DateTime(timezone=True), nullable=False),
    Column("tsa_not_after", DateTime(timezone=True), nullable=False),
    Column("previous_tsa_not_after", DateTime(timezone=True), nullable=False),
    Column("retain_until", DateTime(timezone=True), nullable=True),
    Column("renewed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "tenant", "package_id", "source_key", "sequence", name="uq_timestamp_renewals_sequence"
    ),
    Index("ix_timestamp_renewals_package", "tenant", "package_id"),
)
"""One renewed copy of a package's signed PDF (``source_key``: the package object it renews;
``sequence``: 1 for the first renewal of that document, then 2...)."""
