"""@ctes and SAE polling go round: when each transmission or exchange was last asked about

Revision ID: 0025_polled_at
Revises: 0024_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_polled_at"
down_revision = "0024_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actes_transmissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sae_transfers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sae_transfers", schema=None) as batch_op:
        batch_op.drop_column("polled_at")
    with op.batch_alter_table("actes_transmissions", schema=None) as batch_op:
        batch_op.drop_column("polled_at")
