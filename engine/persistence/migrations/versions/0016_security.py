"""credential version on users: raised to end every session and token of an account

Revision ID: 0016_security
Revises: 0015_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_security"
down_revision = "0015_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("credential_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credential_version")
