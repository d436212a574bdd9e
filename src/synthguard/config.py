"""One typed Settings object, built once by an entry point (CLI root, ``create_app``) and passed down.

Every field reads from a ``SYNTHGUARD_`` environment variable, so a test or a second replica can
point everything at a scratch store with ``SYNTHGUARD_DATA_DIR`` / ``SYNTHGUARD_DATABASE_URL``.
Provider codes are validated at start-up (TC260-PG-20252A): they are derived from the legal entity,
so software must not invent them.
"""

from __future__ import annotations

from pathlib import Path

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
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

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
