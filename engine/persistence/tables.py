"""Database schema (SQLAlchemy Core). Every tenant-owned row carries the tenant's SIREN."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("siren", String(9), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("training", Boolean, nullable=False, server_default=false()),
    Column("clock_offset_seconds", BigInteger, nullable=False, server_default="0"),
)
"""`training` flags a training space (espace de formation); its cases run on the real time plus
`clock_offset_seconds`, which only grows (`engine.domain.training`)."""

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("username", String(120), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(254), nullable=True),
    Column("password_hash", String(200), nullable=True),
    Column("is_operator", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Carried by session cookies and API tokens; raised to end them all (logout, password,
    # roles, deactivation).
    Column("credential_version", Integer, nullable=False, default=0, server_default="0"),
    # Set by an admin (reset, creation): it only opens the page to choose a new password.
    Column("password_temporary", Boolean, nullable=False, default=False, server_default=false()),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("role", String(40), primary_key=True),
)

oidc_identities = Table(
    "oidc_identities",
    metadata,
    Column("issuer", String(300), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("siret", String(14), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("issuer", "user_id", name="uq_oidc_identities_issuer_user"),
)
"""An account's identity at an OpenID provider (`sub` of ProConnect): one per provider."""

process_specs = Table(
    "process_specs",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("procedure", String(100), nullable=False),
    Column("process_id", String(200), nullable=False),
    Column("title", String(300), nullable=False),
    Column("files", JSON, nullable=False),
    Column("deployed_at", DateTime(timezone=True), nullable=False),
    Index("ix_process_specs_procedure", "procedure", "deployed_at"),
)

process_spec_files = Table(
    "process_spec_files",
    metadata,
    Column("spec_hash", String(64), ForeignKey("process_specs.hash"), primary_key=True),
    Column("name", String(300), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("procedure", String(100), nullable=False),
    Column("spec_hash", String(64), ForeignKey("process_specs.hash"), nullable=False),
    Column("reference", String(40), nullable=False),
    Column("title", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("serializer_version", String(20), nullable=False),
    Column("state", Text, nullable=False),
    Column("summary", JSON, nullable=False),
    Column("current_steps", JSON, nullable=False),
    Column("error", Text, nullable=True),
    Column("cancel_reason", Text, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "reference", name="uq_cases_tenant_reference"),
    Index("ix_cases_tenant_status", "tenant", "status", "updated_at"),
)

case_tasks = Table(
    "case_tasks",
    metadata,
    Column("case_id", Uuid, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(36), primary_key=True),
    Column("scope", String(36), nullable=False),
    Column("body", Text, nullable=False),
)
"""One row per workflow task: a step rewrites only the tasks it changed. `scope` is empty for
the top workflow and the subprocess id for a subprocess's tasks."""

human_tasks = Table(
    "human_tasks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("tenant", String(9), nullable=False),
    Column("name", String(200), nullable=False),
    Column("title", String(300), nullable=False),
    Column("lane", String(100), nullable=True),
    Column("form", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("assignee", String(120), nullable=True),
    Index("ix_human_tasks_tenant_lane", "tenant", "lane"),
    Index("ix_human_tasks_case", "case_id"),
    Index("ix_human_tasks_tenant_assignee", "tenant", "assignee"),
)
"""`assignee`: login of the one person who may complete the task (signature circuits)."""

jobs = Table(
    "jobs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), nullable=False),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=False),
    Column("task_id", Uuid, nullable=False),
    Column("operation", String(100), nullable=False),
    Column("params", JSON, nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("deliveries", Integer, nullable=False, default=0),
    Column("interruptions", Integer, nullable=False, default=0, server_default="0"),
    Column("first_interrupted_at", DateTime(timezone=True), nullable=True),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_jobs_state", "state", "updated_at"),
    Index("ix_jobs_case", "case_id"),
)

timers = Table(
    "timers",
    metadata,
    Column("case_id", Uuid, ForeignKey("cases.id"), primary_key=True),
    Column("task_id", Uuid, primary_key=True),
    Column("tenant", String(9), nullable=False),
    Column("name", String(200), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Index("ix_timers_due", "due_at"),
)

message_waits = Table(
    "message_waits",
    metadata,
    Column("case_id", Uuid, ForeignKey("cases.id"), primary_key=True),
    Column("message", String(200), primary_key=True),
    Column("tenant", String(9), nullable=False),
    Column("correlation", JSON, nullable=False),
    Column("correlation_key", String(500), nullable=False),
    Index("ix_message_waits_lookup", "tenant", "message", "correlation_key"),
)

journal = Table(
    "journal",
    metadata,
    Column("tenant", String(9), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(60), nullable=False),
    Column("case_id", Uuid, nullable=True),
    Column("actor", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_journal_case", "case_id", "seq"),
)

journal_heads = Table(
    "journal_heads",
    metadata,
    Column("tenant", String(9), ForeignKey("tenants.siren"), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("tenant", String(9), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

operation_effects = Table(
    "operation_effects",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("tenant", String(9), nullable=False),
    Column("operation", String(100), nullable=False),
    Column("result", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
)
"""Working-document bytes, content-addressed: the same bytes are stored once."""

documents = Table(
    "documents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", String(9), ForeignKey("tenants.siren"), nullable=False),
    Column("case_id", Uuid, ForeignKey("cases.id"), nullable=True),
    Column("name", String(255), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), ForeignKey("blobs.sha256"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("derived_from", Uuid, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_documents_tenant_case", "tenant", "case_id"),
)

# The connectors' and archives' tables share `metadata` (one schema, one migration history).
from engine.persistence import tables_archives as tables_archives  # noqa: E402

# Signature delegations (circuits) share `metadata` too.
from engine.persistence import tables_circuits as tables_circuits  # noqa: E402
from engine.persistence import tables_connectors as tables_connectors  # noqa: E402

# A tenant's councillors (the council as data) share `metadata` too.
from engine.persistence import tables_council as tables_council  # noqa: E402

# What the RGPD purge anonymised shares `metadata` too.
from engine.persistence import tables_personal_data as tables_personal_data  # noqa: E402

# Requests citizens file on the public form share `metadata` too.
from engine.persistence import tables_public as tables_public  # noqa: E402

# Renewed archival timestamps (copies beside locked packages) share `metadata` too.
from engine.persistence import tables_renewals as tables_renewals  # noqa: E402

# Transfers to the tenants' SAE (versements, elimination requests) share `metadata` too.
from engine.persistence import tables_sae as tables_sae  # noqa: E402

# Failed-login counts shared by every web process share `metadata` too.
from engine.persistence import tables_security as tables_security  # noqa: E402

# A tenant's own administration (catalogue, suspended members, settings) shares `metadata` too.
from engine.persistence import tables_tenant as tables_tenant  # noqa: E402

# Procedure versions, their deployments and case migrations share `metadata` too.
from engine.persistence import tables_versions as tables_versions  # noqa: E402
