"""SAE transfers: each tenant's SAE endpoint and each versement or elimination request

Revision ID: 0023_sae_transfers
Revises: 0022_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_sae_transfers"
down_revision = "0022_merge"
branch_labels = None
depends_on = None

OPEN = "state IN ('a_envoyer', 'envoye')"


def upgrade() -> None:
    op.create_table(
        "sae_endpoints",
        sa.Column("tenant", sa.String(9), sa.ForeignKey("tenants.siren"), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("vitam_tenant", sa.String(10), nullable=False),
        sa.Column("context_id", sa.String(100), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("secret_ref", sa.String(64), nullable=False),
        sa.Column("tls_cert", sa.String(500), nullable=False),
        sa.Column("tls_key", sa.String(500), nullable=False),
        sa.Column("tls_ca", sa.String(500), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "sae_transfers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.String(9), sa.ForeignKey("tenants.siren"), nullable=False),
        sa.Column("package_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("protocol", sa.String(10), nullable=False),
        sa.Column("message_identifier", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("sae_ids", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("reply_code", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
    )
    op.create_index("ix_sae_transfers_package", "sae_transfers", ["tenant", "package_id"])
    op.create_index("ix_sae_transfers_state", "sae_transfers", ["state", "next_attempt_at"])
    op.create_index(
        "uq_sae_transfers_open",
        "sae_transfers",
        ["tenant", "package_id", "kind"],
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_sae_transfers_open", table_name="sae_transfers")
    op.drop_index("ix_sae_transfers_state", table_name="sae_transfers")
    op.drop_index("ix_sae_transfers_package", table_name="sae_transfers")
    op.drop_table("sae_transfers")
    op.drop_table("sae_endpoints")
