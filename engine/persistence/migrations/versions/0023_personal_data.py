"""personal data: what the RGPD purge anonymised in each case, the documents it erased, and
when each closed case's next key falls due

Revision ID: 0023_personal_data
Revises: 0022_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_personal_data"
down_revision = "0022_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_data_purges",
        sa.Column("case_id", sa.Uuid(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("path", sa.String(420), primary_key=True),
        sa.Column("tenant", sa.String(9), sa.ForeignKey("tenants.siren"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_personal_data_purges_tenant", "personal_data_purges", ["tenant"])
    op.create_table(
        "purged_documents",
        sa.Column("document_id", sa.Uuid(), sa.ForeignKey("documents.id"), primary_key=True),
        sa.Column("tenant", sa.String(9), sa.ForeignKey("tenants.siren"), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
    )


    op.create_table(
        "personal_data_due",
        sa.Column("case_id", sa.Uuid(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("tenant", sa.String(9), sa.ForeignKey("tenants.siren"), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_personal_data_due_tenant_due", "personal_data_due", ["tenant", "due_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_personal_data_due_tenant_due", table_name="personal_data_due")
    op.drop_table("personal_data_due")
    op.drop_table("purged_documents")
    op.drop_index("ix_personal_data_purges_tenant", table_name="personal_data_purges")
    op.drop_table("personal_data_purges")
