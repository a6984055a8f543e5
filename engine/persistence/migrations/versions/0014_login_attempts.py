"""login attempts counted in the database, shared by every web process

Revision ID: 0014_login_attempts
Revises: 0008_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_login_attempts"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_window", "login_attempts", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_window", table_name="login_attempts")
    op.drop_table("login_attempts")
