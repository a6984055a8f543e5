"""circuits: personal task assignment and signature delegations

Revision ID: 0006_circuits
Revises: 0005_connectors
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_circuits"
down_revision = "0005_connectors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=120), nullable=True))
        batch_op.create_index(
            "ix_human_tasks_tenant_assignee", ["tenant", "assignee"], unique=False
        )
    op.create_table(
        "delegations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("delegator", sa.String(length=120), nullable=False),
        sa.Column("deputy", sa.String(length=120), nullable=False),
        sa.Column("starts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.siren"], name=op.f("fk_delegations_tenant_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.create_index("ix_delegations_deputy", ["tenant", "deputy", "ends"], unique=False)
        batch_op.create_index(
            "ix_delegations_delegator", ["tenant", "delegator", "ends"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delegations", schema=None) as batch_op:
        batch_op.drop_index("ix_delegations_delegator")
        batch_op.drop_index("ix_delegations_deputy")
    op.drop_table("delegations")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_tenant_assignee")
        batch_op.drop_column("assignee")
