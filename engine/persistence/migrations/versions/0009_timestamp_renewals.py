"""timestamp renewals: renewed copies of archived signed PDFs (PAdES-LTA)

Revision ID: 0009_timestamp_renewals
Revises: 0008_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_timestamp_renewals"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timestamp_renewals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("package_id", sa.String(length=128), nullable=False),
        sa.Column("source_key", sa.String(length=1024), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(length=1024), nullable=False),
        sa.Column("version_id", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("timestamp_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tsa_not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_tsa_not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.siren"], name=op.f("fk_timestamp_renewals_tenant_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timestamp_renewals")),
        sa.UniqueConstraint(
            "tenant",
            "package_id",
            "source_key",
            "sequence",
            name="uq_timestamp_renewals_sequence",
        ),
    )
    op.create_index("ix_timestamp_renewals_package", "timestamp_renewals", ["tenant", "package_id"])


def downgrade() -> None:
    op.drop_index("ix_timestamp_renewals_package", table_name="timestamp_renewals")
    op.drop_table("timestamp_renewals")
