"""tenant administration: procedure catalogue, member suspensions, settings

Revision ID: 0011_tenant_catalogue
Revises: 0008_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_tenant_catalogue"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant"], ["tenants.siren"], name=op.f(f"fk_{table}_tenant_tenants")
    )


def upgrade() -> None:
    op.create_table(
        "tenant_procedures",
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("procedure", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("pinned_hash", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pinned_hash"],
            ["process_specs.hash"],
            name=op.f("fk_tenant_procedures_pinned_hash_process_specs"),
        ),
        _tenant_fk("tenant_procedures"),
        sa.PrimaryKeyConstraint("tenant", "procedure", name=op.f("pk_tenant_procedures")),
    )
    op.create_table(
        "tenant_suspensions",
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("suspended_by", sa.String(length=200), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("tenant_suspensions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tenant_suspensions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("tenant", "user_id", name=op.f("pk_tenant_suspensions")),
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("tenant_settings"),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenant_settings")),
    )


def downgrade() -> None:
    op.drop_table("tenant_settings")
    op.drop_table("tenant_suspensions")
    op.drop_table("tenant_procedures")
