"""training spaces: a tenant flagged formation runs on its own clock (real time plus an offset)

Revision ID: 0019_training
Revises: 0018_passwords
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_training"
down_revision = "0018_passwords"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("training", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("clock_offset_seconds", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("clock_offset_seconds")
        batch.drop_column("training")
