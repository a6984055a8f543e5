"""merge the procedure versions and secondary copies branches

Revision ID: 0022_merge
Revises: 0021_procedure_versions, 0021_secondary_copies
"""

revision = "0022_merge"
down_revision = ("0021_procedure_versions", "0021_secondary_copies")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
