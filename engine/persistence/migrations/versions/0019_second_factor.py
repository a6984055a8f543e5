"""second factor (TOTP) with recovery codes, tenants' requirements, progressive login delays

Revision ID: 0019_second_factor
Revises: 0018_passwords
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_second_factor"
down_revision = "0018_passwords"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_table(
        "second_factors",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.String(length=300), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("demanded_by", sa.String(length=200), nullable=True),
        sa.Column("demanded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_second_factors_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_second_factors")),
    )
    op.create_table(
        "second_factor_recovery_codes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_second_factor_recovery_codes_user_id_users"),
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "code_hash", name=op.f("pk_second_factor_recovery_codes")
        ),
    )
    op.create_table(
        "second_factor_requirements",
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant"],
            ["tenants.siren"],
            name=op.f("fk_second_factor_requirements_tenant_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant", "role", name=op.f("pk_second_factor_requirements")),
    )

def downgrade() -> None:
    op.drop_table("second_factor_requirements")
    op.drop_table("second_factor_recovery_codes")
    op.drop_table("second_factors")
    op.drop_table("login_failures")
