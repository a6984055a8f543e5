"""merge the circuits and archives branches

Revision ID: 0008_merge
Revises: 0006_circuits, 0007_archives
"""

revision = "0008_merge"
down_revision = ("0006_circuits", "0007_archives")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
