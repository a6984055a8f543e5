"""Tables of the RGPD purge: which personal data keys of a case were anonymised, which working
documents had their bytes erased (never their row: the journal points at it)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, String, Table, Uuid

from engine.persistence.tables import metadata

personal_data_purges = Table(
    "personal_data_purges",
    metadata,
    Column("case_id", Uuid, ForeignKey("cases.id"), primary_key=True),
    Column("path", String(420), primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("purged_at", DateTime(timezone=True), nullable=False),
    Index("ix_personal_data_purges_tenant", "tenant"),
)
"""A declared data key anonymised in a case (the path, never the value). `closed_at` keeps the
closure the delays counted from (the purge itself saves the case, which moves `updated_at`);
the path `*` says every key the case's declaration lists is done."""

purged_documents = Table(
    "purged_documents",
    metadata,
    Column("document_id", Uuid, ForeignKey("documents.id"), primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("case_id", Uuid, nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("purged_at", DateTime(timezone=True), nullable=False),
)
"""A working document whose bytes were erased: the row stays (its journal entries point at it)
and now names the empty blob; `sha256` and `size` are those of the erased content."""

personal_data_due = Table(
    "personal_data_due",
    metadata,
    Column("case_id", Uuid, ForeignKey("cases.id"), primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Index("ix_personal_data_due_tenant_due", "tenant", "due_at"),
)
"""When a closed case's next declared key falls due (on its tenant's clock): the purge reads a
case again only from then, instead of every closed case at every run."""
