"""secondary copies: where each package's second copy is, and the repairs made by the audit

Revision ID: 0021_secondary_copies
Revises: 0020_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_secondary_copies"
down_revision = "0020_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("archive_packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("copies", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("archive_packages", schema=None) as batch_op:
        batch_op.drop_column("copies")
