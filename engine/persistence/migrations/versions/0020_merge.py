"""merge the second factor and training clock branches

Revision ID: 0020_merge
Revises: 0019_second_factor, 0019_training
"""

revision = "0020_merge"
down_revision = ("0019_second_factor", "0019_training")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
