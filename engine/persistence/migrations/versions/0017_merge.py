"""merge the councillors, credential version and journal seal head branches

Revision ID: 0017_merge
Revises: 0016_forms, 0016_security, 0016_journal
"""

revision = "0017_merge"
down_revision = ("0016_forms", "0016_security", "0016_journal")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
