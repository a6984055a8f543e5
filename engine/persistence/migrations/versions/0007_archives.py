"""archives: sealed packages, journal seals, audits, retention schedule and decisions

Revision ID: 0007_archives
Revises: 0005_connectors
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_archives"
down_revision = "0005_connectors"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant"], ["tenants.siren"], name=op.f(f"fk_{table}_tenant_tenants")
    )


def upgrade() -> None:
    op.create_table(
        "archive_packages",
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("package_id", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("procedure", sa.String(length=100), nullable=False),
        sa.Column("typologie", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("act_number", sa.String(length=15), nullable=True),
        sa.Column("actes_id", sa.String(length=60), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("frozen", sa.JSON(), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=True),
        sa.Column("seal_sha512", sa.String(length=128), nullable=True),
        sa.Column("objects", sa.JSON(), nullable=True),
        sa.Column("total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("dua_rule", sa.String(length=100), nullable=False),
        sa.Column("dua_end", sa.Date(), nullable=False),
        sa.Column("final_action", sa.String(length=10), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_archive_packages_case_id_cases")
        ),
        _tenant_fk("archive_packages"),
        sa.PrimaryKeyConstraint("tenant", "package_id", name=op.f("pk_archive_packages")),
        sa.UniqueConstraint("tenant", "case_id", name="uq_archive_packages_case"),
    )
    op.create_index("ix_archive_packages_state", "archive_packages", ["tenant", "state", "dua_end"])
    op.create_index("ix_archive_packages_closed", "archive_packages", ["tenant", "closed_at"])
    op.create_table(
        "archive_journal_seals",
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("merkle_root", sa.String(length=64), nullable=False),
        sa.Column("previous", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("object_key", sa.String(length=300), nullable=False),
        sa.Column("version_id", sa.String(length=200), nullable=False),
        _tenant_fk("archive_journal_seals"),
        sa.PrimaryKeyConstraint("tenant", "number", name=op.f("pk_archive_journal_seals")),
    )
    op.create_table(
        "archive_audit_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.String(length=128), nullable=True),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("packages_checked", sa.Integer(), nullable=False),
        sa.Column("objects_checked", sa.Integer(), nullable=False),
        sa.Column("bytes_read", sa.BigInteger(), nullable=False),
        sa.Column("findings_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _tenant_fk("archive_audit_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_audit_runs")),
    )
    op.create_index("ix_archive_audit_runs_tenant", "archive_audit_runs", ["tenant", "started_at"])
    op.create_table(
        "archive_audit_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("package_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["archive_audit_runs.id"],
            name=op.f("fk_archive_audit_findings_run_id_archive_audit_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_audit_findings")),
    )
    op.create_index("ix_archive_audit_findings_run", "archive_audit_findings", ["run_id"])
    op.create_table(
        "archive_retention_rules",
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("typologie", sa.String(length=100), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("final_action", sa.String(length=10), nullable=False),
        sa.Column("access_rule", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("archive_retention_rules"),
        sa.PrimaryKeyConstraint("tenant", "typologie", name=op.f("pk_archive_retention_rules")),
    )
    op.create_table(
        "archive_retention_decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("package_id", sa.String(length=128), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("years", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        _tenant_fk("archive_retention_decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_retention_decisions")),
    )
    op.create_index(
        "ix_archive_retention_decisions_pkg",
        "archive_retention_decisions",
        ["tenant", "package_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_archive_retention_decisions_pkg", table_name="archive_retention_decisions")
    op.drop_table("archive_retention_decisions")
    op.drop_table("archive_retention_rules")
    op.drop_index("ix_archive_audit_findings_run", table_name="archive_audit_findings")
    op.drop_table("archive_audit_findings")
    op.drop_index("ix_archive_audit_runs_tenant", table_name="archive_audit_runs")
    op.drop_table("archive_audit_runs")
    op.drop_table("archive_journal_seals")
    op.drop_index("ix_archive_packages_closed", table_name="archive_packages")
    op.drop_index("ix_archive_packages_state", table_name="archive_packages")
    op.drop_table("archive_packages")
