"""archive search: keyset-paging indexes per filter, trigram index for keywords (PostgreSQL)

Revision ID: 0013_archive_search
Revises: 0008_merge
"""

from alembic import op

revision = "0013_archive_search"
down_revision = "0008_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_archive_packages_closed", table_name="archive_packages")
    op.create_index(
        "ix_archive_packages_recent", "archive_packages", ["tenant", "closed_at", "package_id"]
    )
    op.create_index(
        "ix_archive_packages_procedure",
        "archive_packages",
        ["tenant", "procedure", "closed_at", "package_id"],
    )
    op.create_index(
        "ix_archive_packages_typologie",
        "archive_packages",
        ["tenant", "typologie", "closed_at", "package_id"],
    )
    op.create_index("ix_archive_packages_act", "archive_packages", ["tenant", "act_number"])
    if op.get_bind().dialect.name == "postgresql":
        # Both are "trusted" contrib extensions (PostgreSQL 13+): the database owner may
        # create them without superuser rights.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.create_index(
            "ix_archive_packages_text",
            "archive_packages",
            ["tenant", "search_text"],
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_archive_packages_text", table_name="archive_packages")
    op.drop_index("ix_archive_packages_act", table_name="archive_packages")
    op.drop_index("ix_archive_packages_typologie", table_name="archive_packages")
    op.drop_index("ix_archive_packages_procedure", table_name="archive_packages")
    op.drop_index("ix_archive_packages_recent", table_name="archive_packages")
    op.create_index("ix_archive_packages_closed", "archive_packages", ["tenant", "closed_at"])
