"""One typed Settings object, built once by an entry point (CLI root, ``create_app``) and passed down.

Every field reads from a ``SYNTHGUARD_`` environment variable, so a test or a second replica can
point everything at a scratch store with ``SYNTHGUARD_DATA_DIR`` / ``SYNTHGUARD_DATABASE_URL``.
Provider codes are validated at start-up (TC260-PG-20252A): they are derived from the legal entity,
so software must not invent them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from synthguard.labels.model import provider_code_problem


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNTHGUARD_", extra="forbid")

    data_dir: Path = Field(default=Path("var"), description="Where the store, keys and uploads live.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite at <data_dir>/synthguard.db."
    )
    provider_code: str = Field(
        default="",
        description="ContentProducer: the 27-character provider code (TC260-PG-20252A) of this service.",
    )
    propagator_code: str = Field(
        default="",
        description="ContentPropagator when acting as a platform; empty means provider_code.",
    )
    fsync: bool = Field(default=True, description="fsync labeled files before the atomic rename.")
    label_signature: Literal["ed25519", "sm2"] = Field(
        default="ed25519",
        description="ReservedCode1 form: ed25519 (SG1, signs label + content) or sm2 "
        "(TC260-PG-202511A SecurityData, SM3withSM2).",
    )
    label_digest: Literal["blake3", "sha256"] = Field(
        default="blake3",
        description="Content digest inside synthguard signatures: blake3 (SG2, ~3.5x faster) or "
        "sha256 (SG1). Both verify either way; SM2 SecurityData always binds SHA-256.",
    )
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    filing_number: str = Field(default="", description="Algorithm filing number shown with labels (Art. 19).")
    filing_url: str = Field(default="", description="Link to the public filing record (Art. 19).")
    explicit_position: str = Field(default="bottom-right", description="Explicit image/video label position.")
    explicit_lang: str = Field(default="zh-en", description="Explicit label language: zh, en or zh-en.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Evidence ledger (synthguard.ledger, issue #7).
    ledger_origin: str = Field(
        default="synthguard.local/ledger",
        description="C2SP checkpoint origin and key name; set it to your domain, never change it later.",
    )
    ledger_retention_days: int = Field(
        default=184,
        description="Days before personal data in ledger entries is erased; >= 184 (6 months, CSL Art. 21).",
    )
    ledger_master_key: str = Field(
        default="",
        description="Base64 32-byte key wrapping the ledger data keys; "
        "empty: <data_dir>/keys/ledger-master.key. Replicas must share it.",
    )
    ledger_batch_max: int = Field(
        default=1000, ge=1, le=10_000, description="Ledger.submit: most entries one background commit takes."
    )
    ledger_batch_wait_ms: float = Field(
        default=2.0, ge=0.0, le=1000.0, description="Ledger.submit: how long an entry waits for company."
    )
    # C2PA Content Credentials (synthguard.ledger.c2pa). Paths to PEM files.
    c2pa_cert_chain: Path | None = Field(default=None, description="Signing chain PEM: leaf first, then CAs.")
    c2pa_private_key: Path | None = Field(default=None, description="Private key PEM of the chain's leaf.")
    c2pa_algorithm: str = Field(default="es256", description="es256|es384|es512|ps256|ps384|ps512|ed25519")
    c2pa_trust_anchors: Path | None = Field(default=None, description="Root CA PEMs readers trust (optional)")
    c2pa_tsa_url: str = Field(default="", description="RFC 3161 time-stamp authority URL; empty: none.")
    # Review engine (synthguard.review, issue #5).
    review_max_bytes: int = Field(
        default=16 * 1024**2, ge=1024, description="Largest text one review call accepts (UTF-8 bytes)."
    )
    review_library_poll_s: float = Field(
        default=1.0, ge=0.0, description="How often a replica checks the store for a new library version."
    )
    review_policy_file: Path | None = Field(default=None, description="JSON rules tried before the defaults.")
    review_queue_deadline_h: float = Field(default=24.0, gt=0, description="Hours a reviewer has per item.")
    review_moderation_url: str = Field(
        default="", description="The provider's moderation model or cloud API (review/classifiers/http.py)."
    )
    review_moderation_timeout_s: float = Field(default=2.0, gt=0)
    review_moderation_fail: str = Field(
        default="review", pattern="^(pass|review|block)$", description="Action when moderation calls fail."
    )
    review_media_max_bytes: int = Field(
        default=20 * 1024**2,
        ge=0,
        description="Largest media item kept (encrypted) with a queued review item for the console "
        "preview; larger items keep only their SHA-256 digest.",
    )
    review_retention_days: int = Field(
        default=184,
        ge=184,
        description="Days the sealed text/media of a decided review item is kept (>= 6 months, "
        "Cybersecurity Law Art. 21); `synthguard review purge` erases it after that.",
    )

    # Real-name users, API keys and the OpenAI-compatible gateway (identity/, gateway/, issue #6).
    identity_key: str = Field(
        default="",
        description="Base64 32-byte AES-GCM key for ID numbers at rest; empty: <data_dir>/keys/identity.key. "
        "Replicas must share it.",
    )
    identity_verifier: str = Field(
        default="offline", pattern="^(offline|http)$", description="Real-name verifier: offline or http."
    )
    identity_verifier_url: str = Field(
        default="", description="The provider's real-name API (http verifier)."
    )
    identity_verifier_token: str = Field(default="", description="Bearer token for the real-name API.")
    identity_verifier_timeout_s: float = Field(default=5.0, gt=0)
    apikey_rate_per_min: int = Field(
        default=600, ge=0, description="Default per-key requests/minute; 0: none."
    )
    apikey_quota: int = Field(default=0, ge=0, description="Default per-key request quota; 0: unlimited.")
    gateway_upstreams: dict[str, str] = Field(
        default_factory=lambda: {
            "demo": "builtin:demo",
            "demo-image": "builtin:demo",
            "demo-tts": "builtin:demo",
        },
        description='Model -> OpenAI-compatible base URL (".../v1"); "builtin:demo" is the offline demo.',
    )
    gateway_upstream_keys: dict[str, str] = Field(
        default_factory=dict, description="Model -> API key sent upstream (never shown to clients)."
    )
    gateway_stream_mode: str = Field(
        default="balanced",
        pattern="^(strict|balanced|audit)$",
        description="strict: release text only after a full review of its sentence; balanced: keyword "
        "hold-back; audit: forward at once and only record.",
    )
    gateway_on_hit: str = Field(
        default="auto",
        pattern="^(auto|mask|stop)$",
        description="On a streamed hit: the policy's action, "
        "always mask, or always stop with finish_reason content_filter.",
    )
    gateway_notice_position: str = Field(default="start", pattern="^(start|end)$")
    gateway_max_body_bytes: int = Field(default=25 * 1024**2, ge=1024)
    gateway_upstream_timeout_s: float = Field(default=60.0, gt=0)
    gateway_keepalive_s: float = Field(default=1.0, ge=0, description="':' comment while text is held.")
    agreement_version: str = Field(default="2025-09", description="Service agreement version users accept.")

    # Governance and console (synthguard.governance / synthguard.console, issue #8).
    complaint_sla_h: float = Field(
        default=72.0, gt=0, description="Published time limit for answering a complaint (Art. 12), in hours."
    )
    console_session_h: float = Field(default=8.0, gt=0, description="Console session lifetime in hours.")
    console_secure_cookies: bool = Field(default=False, description="Mark console cookies Secure (HTTPS).")
    console_password_cost: int = Field(
        default=15, ge=10, le=20, description="log2 of scrypt's N for new console passwords (15: ~32 MiB)."
    )
    public_upload_max_bytes: int = Field(
        default=20 * 1024**2,
        ge=1024,
        description="Largest file the public pages and evidence uploads accept.",
    )
    algorithm_review_days: int = Field(
        default=180, ge=1, description="Interval of the periodic algorithm review (Art. 15), in days."
    )
    console_four_eyes: bool = Field(
        default=True,
        description="Ban/unban, publishing a refutation and reporting an incident need a second staff "
        "member's approval; turn off only for a team of one reviewer.",
    )
    console_login_max_failures: int = Field(
        default=5, ge=1, description="Failed console logins per account (x4 per client IP) before a lockout."
    )
    console_login_lockout_s: float = Field(
        default=900.0, gt=0, description="Seconds a console account or client IP stays locked out."
    )

    @field_validator("provider_code", "propagator_code")
    @classmethod
    def _check_code(cls, value: str) -> str:
        if value:
            problem = provider_code_problem(value)
            if problem:
                raise ValueError(f"{value!r}: {problem}")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'synthguard.db'}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def platform_code(self) -> str:
        return self.propagator_code or self.provider_code
