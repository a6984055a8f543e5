"""job interruptions: runs cut short by their worker's death, counted apart from attempts

Revision ID: 0023_job_interruptions
Revises: 0022_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_job_interruptions"
down_revision = "0022_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("interruptions", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("first_interrupted_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("first_interrupted_at")
        batch_op.drop_column("interruptions")
