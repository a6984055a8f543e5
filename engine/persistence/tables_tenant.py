"""Tables of a tenant's own administration: procedure catalogue, suspended members, settings."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, String, Table, Uuid

from engine.persistence.tables import metadata

tenant_procedures = Table(
    "tenant_procedures",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("procedure", String(100), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("pinned_hash", String(64), ForeignKey("process_specs.hash"), nullable=True),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""A tenant's choice for one procedure. No row: enabled, on the latest deployed version (so a
newly deployed procedure is offered at once and existing tenants keep their behaviour)."""

tenant_suspensions = Table(
    "tenant_suspensions",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("suspended_by", String(200), nullable=False),
    Column("suspended_at", DateTime(timezone=True), nullable=False),
)
"""Members deactivated in one tenant: their roles are kept (reactivation gives them back) but
grant nothing while the row exists. The account itself and its other tenants are untouched."""

tenant_settings = Table(
    "tenant_settings",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("settings", JSON, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""One validated JSON document per tenant (publication page, citizen-request service contacts);
its shape is owned by `engine.services.tenant_settings`."""
