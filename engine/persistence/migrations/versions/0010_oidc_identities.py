"""oidc identities: the provider subject (`sub`) linked to an account

Revision ID: 0010_oidc_identities
Revises: 0008_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_oidc_identities"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_identities",
        sa.Column("issuer", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oidc_identities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("issuer", "subject", name=op.f("pk_oidc_identities")),
        sa.UniqueConstraint("issuer", "user_id", name="uq_oidc_identities_issuer_user"),
    )


def downgrade() -> None:
    op.drop_table("oidc_identities")
