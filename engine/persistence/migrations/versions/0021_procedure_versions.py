"""procedure versions: numbers, deployments per tenant, migrations of running cases

Revision ID: 0021_procedure_versions
Revises: 0020_merge

Every definition already stored gets a number (1, 2, … per procedure in deployment order) and
a deployment for every tenant, which is what it was.
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0021_procedure_versions"
down_revision = "0020_merge"
branch_labels = None
depends_on = None


def _spec_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["process_specs.hash"], name=op.f(f"fk_{table}_{column}_process_specs")
    )


def upgrade() -> None:
    versions = op.create_table(
        "procedure_versions",
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("procedure", sa.String(length=100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _spec_fk("procedure_versions", "spec_hash"),
        sa.PrimaryKeyConstraint("spec_hash", name=op.f("pk_procedure_versions")),
        sa.UniqueConstraint("procedure", "number", name="uq_procedure_versions_procedure_number"),
    )
    deployments = op.create_table(
        "procedure_deployments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=True),
        sa.Column("deployed_by", sa.String(length=200), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        _spec_fk("procedure_deployments", "spec_hash"),
        sa.ForeignKeyConstraint(
            ["tenant"], ["tenants.siren"], name=op.f("fk_procedure_deployments_tenant_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_deployments")),
    )
    op.create_index(
        "ix_procedure_deployments_spec", "procedure_deployments", ["spec_hash"], unique=False
    )
    op.create_table(
        "case_migrations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sa.String(length=9), nullable=False),
        sa.Column("from_hash", sa.String(length=64), nullable=False),
        sa.Column("to_hash", sa.String(length=64), nullable=False),
        sa.Column("previous_version", sa.Integer(), nullable=False),
        sa.Column("migrated_version", sa.Integer(), nullable=False),
        sa.Column("previous_status", sa.String(length=20), nullable=False),
        sa.Column("previous_format", sa.String(length=20), nullable=False),
        sa.Column("previous_state", sa.Text(), nullable=False),
        sa.Column("previous_tasks", sa.JSON(), nullable=False),
        sa.Column("migrated_by", sa.String(length=200), nullable=False),
        sa.Column("migrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rolled_back_by", sa.String(length=200), nullable=True),
        sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_migrations_case_id_cases")
        ),
        _spec_fk("case_migrations", "from_hash"),
        _spec_fk("case_migrations", "to_hash"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_migrations")),
    )
    op.create_index(
        "ix_case_migrations_case", "case_migrations", ["case_id", "migrated_at"], unique=False
    )
    specs = sa.table(
        "process_specs",
        sa.column("hash", sa.String),
        sa.column("procedure", sa.String),
        sa.column("deployed_at", sa.DateTime(timezone=True)),
    )
    rows = op.get_bind().execute(
        sa.select(specs.c.hash, specs.c.procedure, specs.c.deployed_at).order_by(
            specs.c.procedure, specs.c.deployed_at, specs.c.hash
        )
    )
    numbers: dict[str, int] = {}
    numbered, deployed = [], []
    for row in rows:
        numbers[row.procedure] = numbers.get(row.procedure, 0) + 1
        numbered.append(
            {
                "spec_hash": row.hash,
                "procedure": row.procedure,
                "number": numbers[row.procedure],
                "created_at": row.deployed_at,
            }
        )
        deployed.append(
            {
                "id": uuid.uuid4(),
                "spec_hash": row.hash,
                "tenant": None,
                "deployed_by": "system:migration",
                "deployed_at": row.deployed_at,
            }
        )
    if numbered:
        op.bulk_insert(versions, numbered)
        op.bulk_insert(deployments, deployed)


def downgrade() -> None:
    op.drop_index("ix_case_migrations_case", table_name="case_migrations")
    op.drop_table("case_migrations")
    op.drop_index("ix_procedure_deployments_spec", table_name="procedure_deployments")
    op.drop_table("procedure_deployments")
    op.drop_table("procedure_versions")
