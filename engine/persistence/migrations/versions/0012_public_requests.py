"""public requests: citizens' online requests and the hash of their follow-up token

Revision ID: 0012_public_requests
Revises: 0008_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_public_requests"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_public_requests_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.siren"], name=op.f("fk_public_requests_tenant_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_requests")),
        sa.UniqueConstraint("case_id", name=op.f("uq_public_requests_case_id")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_public_requests_token_sha256")),
        sa.UniqueConstraint("tenant", "reference", name="uq_public_requests_reference"),
    )


def downgrade() -> None:
    op.drop_table("public_requests")
