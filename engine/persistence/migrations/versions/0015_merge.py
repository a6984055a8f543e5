"""merge the renewals, OIDC, catalogue, public requests, archive search and login throttle branches

Revision ID: 0015_merge
Revises: 0009_timestamp_renewals, 0010_oidc_identities, 0011_tenant_catalogue,
    0012_public_requests, 0013_archive_search, 0014_login_attempts
"""

revision = "0015_merge"
down_revision = (
    "0009_timestamp_renewals",
    "0010_oidc_identities",
    "0011_tenant_catalogue",
    "0012_public_requests",
    "0013_archive_search",
    "0014_login_attempts",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
