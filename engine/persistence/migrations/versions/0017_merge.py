"""merge the councillors and credential version branches

Revision ID: 0017_merge
Revises: 0016_forms, 0016_security
"""

revision = "0017_merge"
down_revision = ("0016_forms", "0016_security")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
