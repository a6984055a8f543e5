"""Tables of the electronic archive: sealed packages, journal seals, audits, retention.

The object store holds the proof (locked packages and seals); these rows hold what the platform
needs to find, audit and decide on them. Every row carries the tenant's SIREN.
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
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from engine.persistence.tables import metadata

archive_packages = Table(
    "archive_packages",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("package_id", String(128), primary_key=True),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("procedure", String(100), nullable=False),
    Column("typologie", String(100), nullable=False),
    Column("title", String(500), nullable=False),
    Column("act_number", String(15), nullable=True),
    Column("actes_id", String(60), nullable=True),
    Column("search_text", Text, nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("state", String(20), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("frozen", JSON, nullable=False),
    Column("bucket", String(63), nullable=True),
    Column("seal_sha512", String(128), nullable=True),
    Column("objects", JSON, nullable=True),
    # {"secondary": {"bucket", "objects"}, "repairs": {"primary"|"secondary": {key: version}}}
    Column("copies", JSON, nullable=True),
    Column("total_bytes", BigInteger, nullable=True),
    Column("dua_rule", String(100), nullable=False),
    Column("dua_end", Date, nullable=False),
    Column("final_action", String(10), nullable=False),
    Column("retain_until", DateTime(timezone=True), nullable=True),
    Column("legal_hold", Boolean, nullable=False, default=False),
    Column("archived_at", DateTime(timezone=True), nullable=True),
    Column("destroyed_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "case_id", name="uq_archive_packages_case"),
    Index("ix_archive_packages_state", "tenant", "state", "dua_end"),
    # The archivist's search, most recent first with keyset paging (migration 0013): one
    # index per filter, tenant first, each ending with the sort key.
    Index("ix_archive_packages_recent", "tenant", "closed_at", "package_id"),
    Index("ix_archive_packages_procedure", "tenant", "procedure", "closed_at", "package_id"),
    Index("ix_archive_packages_typologie", "tenant", "typologie", "closed_at", "package_id"),
    Index("ix_archive_packages_act", "tenant", "act_number"),
    # Keywords (LIKE '%mot%'): trigrams, with the tenant in the same GIN index (btree_gin).
    # PostgreSQL only: SQLite scans the tenant's rows.
    Index(
        "ix_archive_packages_text",
        "tenant",
        "search_text",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql"),
)
"""One package per closed case. State: waiting (inputs frozen, not yet stored and verified:
`last_error` says why), archived, transferred, destroyed. `frozen` keeps what the package is
built from (closing time, journal extent, validation reports) so that every retry builds the
same bytes."""

archive_journal_seals = Table(
    "archive_journal_seals",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("merkle_root", String(64), nullable=False),
    Column("previous", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("sealed_at", DateTime(timezone=True), nullable=False),
    Column("token", LargeBinary, nullable=False),
    Column("object_key", String(300), nullable=False),
    Column("version_id", String(200), nullable=False),
    Column("head_hash", String(64), nullable=True),
)
"""Periodic seals of each tenant's journal (also stored under Object Lock). `head_hash`: the
hash of the last sealed entry (empty for seals made before it was recorded)."""

archive_audit_runs = Table(
    "archive_audit_runs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("cursor", String(128), nullable=True),
    Column("batches", Integer, nullable=False, default=0),
    Column("packages_checked", Integer, nullable=False, default=0),
    Column("objects_checked", Integer, nullable=False, default=0),
    Column("bytes_read", BigInteger, nullable=False, default=0),
    Column("findings_count", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Index("ix_archive_audit_runs_tenant", "tenant", "started_at"),
)
"""A fixity audit of one tenant, resumable: `cursor` is the last package audited."""

archive_audit_findings = Table(
    "archive_audit_findings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Uuid, ForeignKey("archive_audit_runs.id"), nullable=False),
    Column("tenant", String(9), nullable=False),
    Column("package_id", String(128), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("path", String(500), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_archive_audit_findings_run", "run_id"),
)

archive_retention_rules = Table(
    "archive_retention_rules",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("typologie", String(100), primary_key=True),
    Column("rule_id", String(100), nullable=False),
    Column("years", Integer, nullable=False),
    Column("final_action", String(10), nullable=False),
    Column("access_rule", String(20), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""A tenant's own retention schedule entries; they override the default schedule."""

archive_retention_decisions = Table(
    "archive_retention_decisions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("package_id", String(128), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("years", Integer, nullable=True),
    Column("comment", Text, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    Index("ix_archive_retention_decisions_pkg", "tenant", "package_id"),
)
"""Every decision taken at the end of a DUA: extend, transfer, destroy (approved), refused."""
