"""Every setting of the service, read once from the environment (or `.env`).

The worker, the API and the launcher all use this one module, so a setting means the same
thing everywhere. Names are the environment variables in upper case (`DATABASE_URL`, ...).
"""

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "escalations"

    # Storage: SQLite for the embedded stack, PostgreSQL in production.
    database_url: str = "sqlite:///.data/escalations.db"
    # Each escalation's own key (`case_key`), in a database of its own so that backups of the
    # records and of the keys are kept apart (erasure destroys the key); unset: in DATABASE_URL.
    case_key_database_url: str | None = None

    # Policy ladders and the agency directory (TOML files, see docs/operations.md).
    policy_file: Path | None = None
    directory_file: Path | None = None

    # Notifications: contacts with an email go by SMTP when SMTP_HOST is set, else to the log.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_seconds: float = 10.0
    smtp_from: str = "escalations@localhost"
    # Without SMTP_HOST, the mails the service would send (notifications and sign-in links) are
    # appended here, whole, for a newcomer to read (`make run` sets DATA_DIR/mail.log); unset:
    # the log shows their subjects only.
    mail_log_file: Path | None = None
    webhook_timeout_seconds: float = 10.0
    public_url: str = "http://127.0.0.1:8000"

    # Payload encryption (AES-256-GCM, core/payload_crypto.py). Keys come from PAYLOAD_KEYS
    # ("id:base64key,...", from a secret in production; the first encrypts, all decrypt) or else
    # from PAYLOAD_KEY_FILE, created with one fresh key (mode 0600) on first start.
    # `python -m core.payload_crypto new-key` prints a key for rotation.
    payload_keys: SecretStr | None = None
    payload_key_file: Path = Path(".data/payload-keys.json")
    codec_cors_origin: str = "http://127.0.0.1:8233"
    # The Temporal UI signed in with the partnership's OpenID Connect provider may pass its user's
    # access token to the codec (api/oidc.py); unset: the codec takes keys and sessions only.
    codec_oidc_issuer: str | None = None
    codec_oidc_audience: str | None = None
    codec_oidc_jwks_url: str | None = None

    # People's sign-in with OpenID Connect providers beside the mailed link
    # (web/identity_providers.py, docs/operations.md): a TOML file of providers and/or one
    # provider from the OIDC_* variables.
    oidc_providers_file: Path | None = None
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_provider_name: str = "your organisation's account"
    oidc_email_verified_by_organisation: bool = False

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Failed authentications one client address may make in the window before it gets 429s.
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0)

    # How often the reconciler's Temporal Schedule closes records whose workflow ended outside
    # the service (terminated, timed out, missing); see worker/reconciler.py.
    reconcile_every_minutes: int = Field(default=5, ge=1, le=1440)
    # Retention (core/retention.py): an ISO 8601 duration after closure that overrides the policy
    # file's [retention] rule ("PT5S" in tests); the eraser's schedule runs every minute.
    retention_after_close: timedelta | None = Field(default=None, gt=timedelta(0))
    # People's sign-in links (web/): requests per address and per client address in 15 minutes.
    sign_in_limit_per_address: int = Field(default=5, ge=1)
    sign_in_limit_per_client: int = Field(default=30, ge=1)

    # Worker health (docs/operations.md#worker-health): each worker refreshes its row every
    # WORKER_HEARTBEAT_SECONDS; /healthz is red when no worker was seen for
    # WORKER_STALE_AFTER_SECONDS, and the business unit is mailed after WORKER_ALERT_AFTER_SECONDS.
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0)
    worker_stale_after_seconds: float = Field(default=30.0, gt=0)
    worker_alert_after_seconds: float = Field(default=300.0, gt=0)
    # The worker's Prometheus metrics (the Temporal SDK's and the service's own) on this port;
    # unset: none. WORKER_METRICS_HOST: 0.0.0.0 in a container.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # An action that needs the worker is answered within ACTION_TIMEOUT_SECONDS: done, or 503
    # and never applied (the workflow refuses it once that time has passed).
    action_timeout_seconds: float = Field(default=8.0, gt=0, le=9)
    # The partnership's Ed25519 key that signs inspectors' audit exports (core/export_signing.py);
    # created with mode 0600 on first use. `python -m api export-public-key` prints its public half.
    export_signing_key_file: Path = Path(".data/export-signing-key.pem")
    # Headless Chromium prints subject access bundles to PDF; unset or missing: no PDF in them.
    chromium_path: Path | None = Path("/usr/bin/chromium")

    log_format: Literal["console", "json"] = "json"
    log_level: str = "INFO"

    # The embedded stack (`make run`, launcher/stack.py): the directory it keeps its state in
    # (SQLite, Temporal's temporal.db, payload and demo keys) and the Temporal Web UI's port.
    data_dir: Path = Path(".data")
    # On its first start (an empty database) the embedded stack raises demo escalations on the
    # policy file's `demo` ladder, through the API; DEMO_DATA=0 raises none.
    demo_data: bool = True
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    # SQLite pragmas for the dev server's temporal.db ("name=value,..."; empty: its defaults).
    # WAL with synchronous=normal survives a crash of any process but may lose the last
    # transactions on a power cut (docs/operations.md).
    temporal_sqlite_pragmas: str = "journal_mode=wal,synchronous=normal"


@lru_cache
def get_settings() -> Settings:
    return Settings()
