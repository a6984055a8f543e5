"""The one settings object, read from DEMATFLOW_* variables; built only by entry points."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-in-production"  # noqa: S105 (the refused public default)
"""Known to everyone who read the source: only the embedded `serve` may run with it (and it
replaces it by a per-installation random key)."""
MIN_SECRET_KEY_BYTES = 32


class S3Identity(BaseModel):
    """An S3 credential pair besides the application's writing identity."""

    access_key: str = ""
    secret_key: str = Field(default="", repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.access_key and self.secret_key)


class SecondaryStorageSettings(BaseModel):
    """The second, independent S3 store holding a copy of every package (another MinIO site in
    production). Unset endpoint: one copy only, as before."""

    endpoint: str | None = None
    """host:port of the second S3 endpoint; None: no second copy."""
    access_key: str = ""
    secret_key: str = Field(default="", repr=False)
    secure: bool = False
    region: str = "us-east-1"
    bucket_prefix: str = "dematflow"
    """Prefix of the tenant buckets on that store (same naming as the primary's)."""
    bucket_admin: S3Identity = S3Identity()
    """Bucket administrator on that store, when its writer may not create buckets."""
    holds: S3Identity = S3Identity(access_key="dematflow-holds")
    """That store's legal-hold identity: a hold is placed (and lifted) on both copies."""

    @property
    def configured(self) -> bool:
        return bool(self.endpoint and self.access_key and self.secret_key)


class StorageSettings(BaseModel):
    """S3 object storage (MinIO in production, an embedded SeaweedFS by default)."""

    endpoint: str | None = None
    """host:port of the S3 endpoint; None starts the embedded SeaweedFS under data_dir."""
    access_key: str = "dematflow"
    secret_key: str = Field(default="dematflow-dev-secret", repr=False)
    secure: bool = False
    region: str = "us-east-1"
    bucket_prefix: str = "dematflow"
    journal_seal_period_seconds: float = Field(default=3600.0, gt=0)
    """Period of the journal seals made by the scheduler (besides those made at each tenant
    creation and archived package)."""
    default_retention_days: int = Field(default=30, ge=0)
    """Default COMPLIANCE retention of every tenant bucket: an object written without a
    retention of its own (a package whose DUA is already over) stays locked that long. Set at
    bucket creation and at the start-up check; 0 leaves buckets without one (tests only)."""
    holds: S3Identity = S3Identity(access_key="dematflow-holds")
    """The identity that alone places and lifts legal holds (the archivist's action); the
    writing identity above is denied it (docker/minio/). Empty secret: holds are refused."""
    bucket_admin: S3Identity = S3Identity()
    """Identity creating buckets and setting their Object Lock configuration, only for stores
    where the writing identity may not (the embedded SeaweedFS); empty with MinIO."""
    secondary: SecondaryStorageSettings = SecondaryStorageSettings()
    """The second copy's store (DEMATFLOW_STORAGE__SECONDARY__ENDPOINT, …); unset: one copy."""


class BrokerSettings(BaseModel):
    """Celery broker; None means the embedded filesystem broker under data_dir."""

    url: str | None = None
    key_prefix: str = ""
    """Prefix of every broker key (Redis): lets several platforms or test runs share a Redis."""
    visibility_timeout: int = 120
    """Seconds before an unacknowledged job of a dead worker is delivered again (Redis).
    Every job is bounded well below this (audits run in batches); a job still running when it
    comes back is harmless: jobs are idempotent."""


class PKISettings(BaseModel):
    """Signing PKI; with no TSA URL the local development PKI (data_dir/pki) is used."""

    tsa_url: str | None = None
    """RFC 3161 time-stamping authority of the production PKI."""
    trust_anchors: list[Path] = []
    """DER or PEM certificates of the trust anchors used to validate signatures."""
    pkcs11_module: str | None = None
    """PKCS#11 library of the signing HSM; each signatory's key and certificate carry their
    login as label, the organisation seal the label `seal_label`."""
    pkcs11_token_label: str | None = None
    pkcs11_pin: str | None = Field(default=None, repr=False)
    seal_label: str = "cachet"
    pkcs12_dir: Path | None = None
    """Production without HSM: `<login>.p12` per signatory and `cachet.p12`, passphrase in
    `pkcs12_passphrase` (discouraged: keys in files)."""
    pkcs12_passphrase: str | None = Field(default=None, repr=False)
    dev_dir: Path | None = None
    """Development PKI directory (default data_dir/pki), used when no TSA URL is configured."""
    seal_fingerprints: list[str] = []
    """SHA-256 fingerprints of the designated archive seal certificates (the current one and
    those it replaced: packages keep the seal they were made with); `archives verify` accepts
    no other. Empty: that of the configured seal key's certificate."""
    algorithm_sunsets: dict[str, date] = {}
    """Algorithm (`sha1`, `rsa-2048`…) → the date after which it no longer protects an
    archival timestamp chain: the renewal job renews a chain resting on one before that date
    (within its horizon), not only before the TSA certificate expires. Empty: the library's
    list (`signatures.renewal.DEFAULT_ALGORITHM_SUNSETS`, after the ANSSI's guide)."""
    tenant_seal_fingerprints: dict[str, list[str]] = {}
    """Tenants with a seal of their own: SIREN → SHA-256 fingerprints of their seal
    certificates (their packages accept only those)."""


class SmtpSettings(BaseModel):
    """SMTP relay for notifications; an empty host means not configured (mail jobs wait)."""

    host: str = ""
    port: int = 25
    sender: str = "ne-pas-repondre@dematflow.local"
    sender_name: str = "dematflow"
    security: str = "none"
    """``none``, ``starttls`` or ``tls`` (implicit)."""
    username: str = ""
    password: str = Field(default="", repr=False)
    timeout_seconds: float = 10.0


class ActesSettings(BaseModel):
    """Tiers de télétransmission (@ctes); an empty base_url means not configured."""

    base_url: str = ""
    """Root URL of the tiers (S²LOW-style), e.g. ``https://s2low.example.fr``."""
    client_cert: Path | None = None
    """Client certificate chain (PEM) known to the tiers (mutual TLS)."""
    client_key: Path | None = None
    """Its private key (PEM)."""
    ca_bundle: Path | None = None
    """CA certificates (PEM) trusted for the tiers' server certificate."""
    department: str = "034"
    """Department code (3 characters) used when a tenant has none in ``departments``."""
    departments: dict[str, str] = {}
    """Department code per tenant SIREN."""
    timeout_seconds: float = 30.0
    poll_period_seconds: float = 60.0
    """How often pending transmissions are polled (beat)."""
    watch_days: int = 180
    """Days after the acknowledgement during which prefecture exchanges are still polled."""


class PublicationSettings(BaseModel):
    """Public register of acts (publication électronique, CGCT L2131-1)."""

    base_url: str = "http://127.0.0.1:8000"
    """Public root URL of the web app; register URLs are built from it."""
    retention_days: int | None = None
    """Days an act stays online; None keeps it online permanently (the law asks ≥ 2 months)."""


class WebhookSettings(BaseModel):
    """Outgoing webhooks: which targets are allowed and how deliveries are retried."""

    allowed_networks: list[str] = []
    """Non-public networks allowed as targets (e.g. ``127.0.0.1/32`` for tests); empty: none."""
    allowed_schemes: list[str] = ["https"]
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    base_delay_seconds: float = 30.0
    period_seconds: float = 15.0
    """How often the fan-out and due deliveries run (beat)."""


class OidcSettings(BaseModel):
    """OpenID Connect login for agents (ProConnect); disabled unless `issuer` is set.

    Only the issuer's origin is ever contacted: every endpoint of its discovery document must
    live there. See docs/oidc.md."""

    issuer: str = ""
    """Issuer URL, e.g. ``https://auth.agentconnect.gouv.fr/api/v2``; its discovery document is
    ``<issuer>/.well-known/openid-configuration``. Empty: OIDC login is off."""
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    client_secret_file: Path | None = None
    """File holding the client secret (Docker/Kubernetes secret); wins over `client_secret`."""
    scopes: list[str] = ["openid", "given_name", "usual_name", "email", "uid", "siret", "idp_id"]
    acr_values: str = "eidas1"
    """Requested authentication level; empty sends none."""
    redirect_base_url: str = "http://127.0.0.1:8000"
    """Public root URL of the web app, as registered with the provider (no trailing slash)."""
    provider_name: str = "ProConnect"
    """Shown on the login button: « Se connecter avec <provider_name> »."""
    provisioning: Literal["invitation", "agent"] = "invitation"
    """First login of an unknown agent whose SIRET maps to a tenant: ``invitation`` lets in only
    an account a tenant admin created beforehand with the agent's e-mail (linked on first
    login); ``agent`` creates the account with the clerk role. Never more than that."""
    tenant_by_siret: dict[str, str] = {}
    """Explicit SIRET → tenant SIREN mapping (e.g. a CCAS whose agents work for the commune),
    checked before the SIREN rule (the 9 first digits of the SIRET are the tenant's SIREN)."""
    allowed_tenants: list[str] = []
    """SIRENs of the tenants open to OIDC login; empty: every tenant."""
    timeout_seconds: float = 10.0
    leeway_seconds: int = 60
    """Clock skew tolerated on `exp`/`iat`."""

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)

    def secret(self) -> str:
        if self.client_secret_file is not None:
            return self.client_secret_file.read_text(encoding="utf-8").strip()
        return self.client_secret


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
    smtp: SmtpSettings = SmtpSettings()
    actes: ActesSettings = ActesSettings()
    publication: PublicationSettings = PublicationSettings()
    webhooks: WebhookSettings = WebhookSettings()
    oidc: OidcSettings = OidcSettings()
    max_upload_bytes: int = 50 * 1024 * 1024
    anonymous_max_body_bytes: int = 64 * 1024
    """Largest body of a request without session or credentials (login, token, callbacks)."""
    secret_key: str = Field(default=DEFAULT_SECRET_KEY, repr=False)
    """Signs session cookies, API tokens and citizen follow-up links (32 random bytes or more)."""
    operation_modules: list[str] = []
    """Extra modules whose `OPERATIONS` tuple adds service-task operations to the product's
    (engine.bootstrap): the extension point a worker process is given by environment."""
    worker_stale_after: int = 120
    """Seconds after which a job handed to the broker and not finished is sent again."""
    worker_max_interruptions: int = 20
    worker_interruption_patience: int = 900
    """A job whose worker died while running it (killed, out of memory) goes dead only after
    `worker_max_interruptions` such deaths and this many seconds since the first: a crash-
    looping host does not dead-letter healthy jobs, a job that kills its worker every time ends
    for an operator. Failures of the operation itself are counted apart (runner.MAX_ATTEMPTS)."""
    fair_share_depth: int = 64
    """Jobs of one worker queue handed to the broker and not finished, at most: the others wait
    in the jobs table and are released one by one, the tenant with the fewest jobs in flight
    first (engine.worker.fair_share). At least the worker processes consuming the queue; 0 hands
    every job over at once (no fair share between tenants)."""
    internal_networks: list[str] = [
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ]
    """Client networks that read /metrics, the details of /health/ready, /api/docs and
    /openapi.json without an operator session (Prometheus, orchestrator, operators' network).
    Behind a reverse proxy, the client address is the proxy's unless uvicorn trusts its
    X-Forwarded-For (FORWARDED_ALLOW_IPS, as docker/compose.yaml sets it)."""
    web_host: str = "127.0.0.1"
    web_port: int = 8000

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        """Resolved once, against the cwd of the entry point: every path derived from it stays
        valid for child processes started with another cwd (the default `var` is relative)."""
        return value.expanduser().resolve()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dematflow.sqlite3').resolve()}"

    def secret_key_problem(self) -> str | None:
        """Why `secret_key` must not sign anything in production (one French line), or None."""
        if self.secret_key == DEFAULT_SECRET_KEY:
            return (
                "DEMATFLOW_SECRET_KEY n'est pas défini : la clé par défaut, publique, est refusée "
                "hors de « dematflow serve » (ex. : openssl rand -base64 48)"
            )
        size = len(self.secret_key.encode())
        if size < MIN_SECRET_KEY_BYTES:
            return (
                f"DEMATFLOW_SECRET_KEY est trop courte ({size} octets) : "
                f"{MIN_SECRET_KEY_BYTES} octets aléatoires au moins (ex. : openssl rand -base64 48)"
            )
        return None
