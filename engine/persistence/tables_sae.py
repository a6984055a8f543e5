"""Tables of transfers to the tenants' SAE: each tenant's endpoint and each exchange with it."""

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
    Uuid,
    text,
)

from engine.persistence.tables import metadata

sae_endpoints = Table(
    "sae_endpoints",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("url", String(500), nullable=False),
    Column("vitam_tenant", String(10), nullable=False),
    Column("context_id", String(100), nullable=False),
    Column("username", String(200), nullable=False),
    Column("secret_ref", String(64), nullable=False),
    Column("tls_cert", String(500), nullable=False),
    Column("tls_key", String(500), nullable=False),
    Column("tls_ca", String(500), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""Where a tenant's SAE is and how to authenticate (a secret's name, never the secret)."""

sae_transfers = Table(
    "sae_transfers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("package_id", String(128), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("protocol", String(10), nullable=False),
    Column("message_identifier", String(200), nullable=False),
    Column("reference", String(200), nullable=True),
    Column("sae_ids", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("reply_code", String(40), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("comment", Text, nullable=False),
    Column("polled_at", DateTime(timezone=True), nullable=True),
    Index("ix_sae_transfers_package", "tenant", "package_id"),
    Index("ix_sae_transfers_state", "state", "next_attempt_at"),
    Index(
        "uq_sae_transfers_open",
        "tenant",
        "package_id",
        "kind",
        unique=True,
        postgresql_where=text("state IN ('a_envoyer', 'envoye')"),
        sqlite_where=text("state IN ('a_envoyer', 'envoye')"),
    ),
)
"""One exchange (versement or elimination request) with the SAE; at most one open per package
and kind."""
