"""journal seals name the head they seal (hash of the last sealed entry)

Revision ID: 0016_journal
Revises: 0015_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_journal"
down_revision = "0015_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("archive_journal_seals") as batch:
        batch.add_column(sa.Column("head_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("archive_journal_seals") as batch:
        batch.drop_column("head_hash")
