"""merge the job interruptions, SAE transfers and personal data branches

Revision ID: 0024_merge
Revises: 0023_job_interruptions, 0023_sae_transfers, 0023_personal_data
"""

revision = "0024_merge"
down_revision = ("0023_job_interruptions", "0023_sae_transfers", "0023_personal_data")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
