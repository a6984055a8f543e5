"""The one settings object, read from DEMATFLOW_* variables; built only by entry points."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StorageSettings(BaseModel):
    """S3 object storage (MinIO in production, an embedded SeaweedFS by default)."""

    endpoint: str | None = None
    """host:port of the S3 endpoint; None starts the embedded SeaweedFS under data_dir."""
    access_key: str = "dematflow"
    secret_key: str = Field(default="dematflow-dev-secret", repr=False)
    secure: bool = False
    region: str = "us-east-1"
    bucket_prefix: str = "dematflow"
    embedded_port: int = 8333


class BrokerSettings(BaseModel):
    """Celery broker; None means the embedded filesystem broker under data_dir."""

    url: str | None = None
    visibility_timeout: int = 120
    """Seconds before an unacknowledged job of a dead worker is delivered again (Redis).
    Every job is bounded well below this (audits run in batches); a job still running when it
    comes back is harmless: jobs are idempotent."""


class PKISettings(BaseModel):
    """Signing PKI; empty values mean the local development PKI built on first start."""

    tsa_url: str | None = None
    trust_anchors: list[Path] = []
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_pin: str | None = Field(default=None, repr=False)


class Settings(BaseSettings):
    """Platform configuration. With nothing set, the embedded default works."""

    model_config = SettingsConfigDict(env_prefix="DEMATFLOW_", env_nested_delimiter="__")

    data_dir: Path = Path("var")
    database_url: str | None = None
    """SQLAlchemy URL; None means SQLite in data_dir (the embedded default)."""
    processes_dir: Path = Path(__file__).resolve().parent.parent / "processes"
    broker: BrokerSettings = BrokerSettings()
    storage: StorageSettings = StorageSettings()
    pki: PKISettings = PKISettings()
    max_upload_bytes: int = 50 * 1024 * 1024
    secret_key: str = Field(default="change-me-in-production", repr=False)
    operation_modules: list[str] = []
    """Extra modules with `register(registry, settings)` adding service-task operations."""
    worker_stale_after: int = 120
    """Seconds after which a job handed to the broker and not finished is sent again."""
    web_host: str = "127.0.0.1"
    web_port: int = 8000

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dematflow.sqlite3').resolve()}"
