"""Tables of the connectors' engine side: @ctes transmissions, mails, publications, webhooks.

Every row carries the tenant's SIREN and every query filters on it. Publications are insert-only:
a published act is never edited (a correction is a new act).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
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

actes_transmissions = Table(
    "actes_transmissions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("act_number", String(15), nullable=False),
    Column("act_unique_id", String(60), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("archive_sha256", String(64), nullable=False),
    Column("state", String(20), nullable=False),
    Column("transaction_id", String(40), nullable=True),
    Column("message", Text, nullable=True),
    Column("ack_id", String(60), nullable=True),
    Column("ack_received_on", Date, nullable=True),
    Column("ack_xml", Text, nullable=True),
    Column("ack_delivered", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("polled_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("tenant", "idempotency_key", name="uq_actes_transmissions_key"),
    Index("ix_actes_transmissions_act", "tenant", "act_unique_id"),
    Index("ix_actes_transmissions_state", "state", "updated_at"),
)
"""One row per transmission of an act. State: submitting (key stored, answer not yet received),
transmitted, acknowledged, rejected (by the prefecture), refused (by the tiers, never sent).
`polled_at`: when the polling job last asked the TdT about it (the watch goes round by it)."""

actes_exchanges = Table(
    "actes_exchanges",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("exchange_id", String(40), primary_key=True),
    Column("transmission_id", Uuid, ForeignKey("actes_transmissions.id"), nullable=False),
    Column("kind", String(2), nullable=False),
    Column("sent_on", Date, nullable=False),
    Column("document_name", String(200), nullable=False),
    Column("delivered", Boolean, nullable=False, default=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
"""Prefecture messages (2A to 5A) seen by polling; `delivered` once the case took them."""

mail_sendings = Table(
    "mail_sendings",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("message_id", String(300), nullable=False),
    Column("pending", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("result", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""A mail job's progress: the Message-ID is fixed before the first try so a retry reuses it;
`pending` lists the recipients still to send to (all, then only those the relay deferred)."""

publications = Table(
    "publications",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("nature", String(30), nullable=False),
    Column("number", String(15), nullable=False),
    Column("subject", Text, nullable=False),
    Column("document_id", Uuid, nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), ForeignKey("blobs.sha256"), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("ack_id", String(60), nullable=False),
    Column("signature", JSON, nullable=False),
    Column("session", String(40), nullable=True),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("online_until", DateTime(timezone=True), nullable=True),
    UniqueConstraint("tenant", "idempotency_key", name="uq_publications_key"),
    Index("ix_publications_tenant_date", "tenant", "published_at"),
)
"""The public register: insert-only rows over immutable, content-addressed blobs."""

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("event_kinds", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_endpoints_tenant", "tenant"),
)

webhook_cursors = Table(
    "webhook_cursors",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)
"""Last journal entry already fanned out to webhooks, per tenant."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("endpoint_id", Uuid, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event_id", String(80), nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
)
"""One event to one endpoint: pending → delivered, or failed after the last attempt."""

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", Uuid, ForeignKey("webhook_deliveries.id"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("tenant", String(9), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
)
"""The delivery log: every attempt with its outcome."""
