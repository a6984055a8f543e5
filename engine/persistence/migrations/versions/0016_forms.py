"""a tenant's councillors, with mandate dates and role

Revision ID: 0016_forms
Revises: 0015_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_forms"
down_revision = "0015_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "councillors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("mandate_start", sa.Date(), nullable=False),
        sa.Column("mandate_end", sa.Date(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.siren"], name=op.f("fk_councillors_tenant_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_councillors")),
    )
    op.create_index("ix_councillors_tenant", "councillors", ["tenant", "name"])


def downgrade() -> None:
    op.drop_index("ix_councillors_tenant", table_name="councillors")
    op.drop_table("councillors")
