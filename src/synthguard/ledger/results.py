"""Result models of the ledger: what the CLI prints (table or ``--json``) and the HTTP API returns.

Hashes are standard base64, as in checkpoints and RFC 9162 tooling; times are ISO 8601 UTC.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class _Result(BaseModel):
    schema_: int = Field(default=SCHEMA_VERSION, alias="schema")
    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class AppendResult(_Result):
    seq: int
    leaf_hash: str
    logged_at: str
    duplicate: bool = False


class CheckpointResult(_Result):
    origin: str
    size: int
    root: str
    note: str = Field(description="The signed note (C2SP tlog-checkpoint), verbatim.")
    verifier_key: str = Field(description="signed-note verifier key: <name>+<key id>+<base64 key>")


class EntryProof(BaseModel):
    seq: int
    leaf: str = Field(description="The exact leaf bytes (canonical JSON, UTF-8) that were hashed.")
    leaf_hash: str
    proof: list[str] = Field(description="RFC 9162 inclusion path, base64 hashes, leaf to root.")


class ProofResult(_Result):
    content_id: str
    checkpoint: CheckpointResult
    entries: list[EntryProof]


class ConsistencyResult(_Result):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class PurgeResult(_Result):
    ran_at: str
    retention_days: int
    cutoff: str
    personal_records_erased: int
    entries_unlinked: int
    keys_destroyed: list[str]
    purge_entry_seq: int = Field(description="The ledger entry that records this purge.")


class LedgerStats(_Result):
    origin: str
    size: int
    root: str
    stored_hashes: int
    personal_records: int
    latest_checkpoint_size: int | None
    first_logged_at: str | None
    last_logged_at: str | None
    last_purge: dict[str, Any] | None
    retention_days: int
    event_types: dict[str, int]


class ExportResult(_Result):
    path: str
    entries: int
    tree_size: int
    root: str
    include_personal: bool
    export_entry_seq: int | None = Field(description="The ledger entry that records this export.")
    ledger_damaged: str = Field(
        default="", description="Why the export could not be logged, if it could not."
    )


class Finding(BaseModel):
    code: str
    message: str
    message_zh: str
    seq: int | None = None
    severity: str = "error"  # error | warning


class BundleReport(_Result):
    source: str
    ok: bool
    origin: str = ""
    tree_size: int = 0
    root: str = ""
    entries_checked: int = 0
    proofs_verified: int = 0
    personal_verified: int = 0
    findings: list[Finding] = Field(default_factory=list)


class C2paResult(_Result):
    source: str
    path: str = ""
    present: bool = False
    state: str = Field(default="", description="Invalid | Valid | Trusted (c2pa-rs validation state)")
    failures: list[str] = Field(
        default_factory=list, description="c2pa failure codes, e.g. dataHash.mismatch"
    )
    content_id: str = ""
    label: dict[str, str] | None = None
    digital_source_type: str = ""
    claim_generator: str = ""
    signer: str = ""
