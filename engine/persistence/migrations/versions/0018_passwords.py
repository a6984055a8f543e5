"""temporary passwords: one set by an admin only opens the page to choose a new one

Revision ID: 0018_passwords
Revises: 0017_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_passwords"
down_revision = "0017_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("password_temporary", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_temporary")
