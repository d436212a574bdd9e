"""SQLAlchemy 2 models: the state every replica must see lives here, never only in memory.

Tables of the foundation: ``signing_keys`` (public halves of every key that ever signed a label, so
``verify`` can tell "unknown key" from "altered") and ``label_records`` (one row per label issued or
propagated: the content ID resolves here). Later capabilities add their own tables and migrations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class SigningKey(Base):
    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)  # base64url raw public key
    role: Mapped[str] = mapped_column(String(16))  # producer | propagator | external
    owner_code: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LabelRecord(Base):
    __tablename__ = "label_records"
    __table_args__ = (Index("ix_label_records_content_id", "content_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_id: Mapped[str] = mapped_column(String(64))  # ProduceID or PropagateID we issued
    role: Mapped[str] = mapped_column(String(16))  # produce | propagate
    file_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    content_digest: Mapped[str] = mapped_column(String(64))  # hex, metadata excluded: SG1 SHA-256, SG2 BLAKE3
    label_json: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- review engine (issue #5; migration 0003_review) ----------------------------------------------
# Imported here so Alembic's metadata and every replica see one schema; the logic is in review/.


class ReviewRisk(Base):
    """A provider-defined risk category (the 31 TC260-003 risks are built in, not stored)."""

    __tablename__ = "review_risks"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column(String(8))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    default_action: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewLibraryVersion(Base):
    """One published version of the keyword library; replicas poll ``max(version)`` to hot-reload."""

    __tablename__ = "review_library_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    added: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)


class ReviewLibraryEntry(Base):
    """A keyword entry, live from ``added_version`` until ``removed_version`` (exclusive)."""

    __tablename__ = "review_library_entries"
    __table_args__ = (Index("ix_review_library_entries_live", "removed_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(512))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[int] = mapped_column(Integer, default=3)
    mode: Mapped[str] = mapped_column(String(8), default="exact")
    near_term: Mapped[str] = mapped_column(String(512), default="")
    within: Mapped[int] = mapped_column(Integer, default=0)
    pinyin: Mapped[bool] = mapped_column(Boolean, default=False)
    initials: Mapped[bool] = mapped_column(Boolean, default=False)
    action: Mapped[str] = mapped_column(String(16), default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    added_version: Mapped[int] = mapped_column(Integer)
    removed_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewDecision(Base):
    """Every review decision (Art. 10: keep records); the text itself is kept only as a digest."""

    __tablename__ = "review_decisions"
    __table_args__ = (Index("ix_review_decisions_user", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    service: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[str] = mapped_column(String(128), default="")
    user_status: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    spans: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    text_sha256: Mapped[str] = mapped_column(String(64))
    text_chars: Mapped[int] = mapped_column(Integer, default=0)
    library_version: Mapped[int] = mapped_column(Integer, default=0)
    ledger_ref: Mapped[str] = mapped_column(String(64), default="")


class ReviewQueueItem(Base):
    """Content waiting for a human reviewer; ``lock_version`` makes claims race-free."""

    __tablename__ = "review_queue_items"
    __table_args__ = (Index("ix_review_queue_items_status", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")
    level: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    service: Mapped[str] = mapped_column(String(32), default="")
    direction: Mapped[str] = mapped_column(String(8), default="")
    user_id: Mapped[str] = mapped_column(String(128), default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    content: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str] = mapped_column(String(128), default="")
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str] = mapped_column(String(128), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default="")
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class ReviewQueueNote(Base):
    __tablename__ = "review_queue_notes"
    __table_args__ = (Index("ix_review_queue_notes_item", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default="note")  # note | claim | decide | escalate
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- evidence ledger (issue #7; migration 0002_ledger; written by synthguard.ledger only) -----------
# Integer keys are plain INTEGER on SQLite so they alias the rowid (a B-tree keyed by the value).
LedgerInt = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One leaf of the Merkle log: ``leaf`` is the exact canonical JSON that was hashed."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        # Time needs no index: it never decreases along seq, so a time range is a seq range.
        # Partial indexes: most entries have no user or idempotency key, and appends stay fast.
        Index("ix_ledger_entries_content_id", "content_id"),
        Index(
            "ix_ledger_entries_user_ref",
            "user_ref",
            sqlite_where=text("user_ref IS NOT NULL"),
            postgresql_where=text("user_ref IS NOT NULL"),
        ),
        Index(
            "ux_ledger_entries_idem_key",
            "idem_key",
            unique=True,
            sqlite_where=text("idem_key IS NOT NULL"),
            postgresql_where=text("idem_key IS NOT NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(LedgerInt, primary_key=True, autoincrement=False)
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    event_type: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    logged_at_us: Mapped[int] = mapped_column(BigInteger)  # UTC microseconds, as in the leaf
    user_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # HMAC pseudonym; purged
    idem_key: Mapped[str | None] = mapped_column(String(128), nullable=True)


class LedgerHash(Base):
    """Every Merkle node, keyed by Go tlog's stored hash index; written once, never updated."""

    __tablename__ = "ledger_hashes"

    id: Mapped[int] = mapped_column(LedgerInt, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerPersonal(Base):
    """Personal data of an entry, AES-GCM sealed under its period's data key; erased at retention."""

    __tablename__ = "ledger_personal"

    seq: Mapped[int] = mapped_column(LedgerInt, primary_key=True, autoincrement=False)
    period: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerDataKey(Base):
    """A period's data key, wrapped by the master key; destroying it crypto-shreds the period."""

    __tablename__ = "ledger_data_keys"

    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at_us: Mapped[int] = mapped_column(BigInteger)
    destroyed_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LedgerCheckpoint(Base):
    """Every checkpoint the log signed (the audit trail of the log itself)."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(LedgerInt, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at_us: Mapped[int] = mapped_column(BigInteger)


# --- governance and console (issue #8; migration 0006_governance; written by synthguard.governance) ----


class GovAction(Base):
    """The staff audit trail: every console/governance action with who, role, what and why."""

    __tablename__ = "gov_actions"
    __table_args__ = (Index("ix_gov_actions_target", "target_kind", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(128), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    ledger_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class GovIncident(Base):
    """An illegal-content incident (Art. 10): what, when, which content IDs and users, actions taken."""

    __tablename__ = "gov_incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32), default="staff")  # review | complaint | staff
    risk_code: Mapped[str] = mapped_column(String(64), default="")
    content_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    measures: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | reported | closed
    queue_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GovRefutation(Base):
    """A rumour refutation (Art. 11) attached to one content ID."""

    __tablename__ = "gov_refutations"
    __table_args__ = (Index("ix_gov_refutations_content", "content_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_id: Mapped[str] = mapped_column(String(64))
    notice_zh: Mapped[str] = mapped_column(Text)
    notice_en: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published | withdrawn
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(128), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GovComplaint(Base):
    """A public complaint or report (Art. 12) with its deadline and the feedback given."""

    __tablename__ = "gov_complaints"
    __table_args__ = (Index("ix_gov_complaints_status", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    category: Mapped[str] = mapped_column(String(32))
    content_id: Mapped[str] = mapped_column(String(64), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | in_progress | answered
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    assigned_to: Mapped[str] = mapped_column(String(128), default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answered_by: Mapped[str] = mapped_column(String(128), default="")
    feedback: Mapped[str] = mapped_column(Text, default="")


class GovConsent(Base):
    """Separate consent of a person whose face or voice is edited (Art. 14)."""

    __tablename__ = "gov_consents"
    __table_args__ = (Index("ix_gov_consents_user", "user_id"),)

    consent_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128))  # the service user who obtained the consent
    subject_name: Mapped[str] = mapped_column(String(200))  # the person whose face/voice is edited
    subject_ref: Mapped[str] = mapped_column(String(200), default="")
    uses: Mapped[list[str]] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(64), default="")
    evidence_sha256: Mapped[str] = mapped_column(String(64), default="")
    evidence_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(128), default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str] = mapped_column(String(128), default="")
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class GovFiling(Base):
    """Filing numbers and link (Art. 19); the newest row is in force, older rows are the history."""

    __tablename__ = "gov_filings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    algorithm_number: Mapped[str] = mapped_column(String(64), default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    genai_number: Mapped[str] = mapped_column(String(128), default="")
    icp_number: Mapped[str] = mapped_column(String(64), default="")
    psb_number: Mapped[str] = mapped_column(String(64), default="")
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GovAssessment(Base):
    """An algorithm review or security self-assessment (Art. 7, 15, 20) and its checklist."""

    __tablename__ = "gov_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # algorithm_review | security_self
    title: Mapped[str] = mapped_column(String(300))
    trigger: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | completed
    items: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_by: Mapped[str] = mapped_column(String(128), default="")
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GovEvidence(Base):
    """An evidence file (consent recording, assessment attachment), stored by its SHA-256."""

    __tablename__ = "gov_evidence"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsoleUser(Base):
    """A staff account of the console; ``password_hash`` is scrypt (RFC 7914) with its parameters."""

    __tablename__ = "console_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | reviewer | auditor
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsoleSession(Base):
    """A server-side console session; the cookie holds a random token, the store only its SHA-256."""

    __tablename__ = "console_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- watermarks (issue #4; migration 0004_watermark; written by synthguard.watermark via core) -----


class WatermarkRecord(Base):
    """A mark id issued for one piece of content: what a detected watermark payload resolves to."""

    __tablename__ = "watermark_records"
    __table_args__ = (Index("ix_watermark_records_content_id", "content_id"),)

    mark_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    modality: Mapped[str] = mapped_column(String(16))  # image | video | audio | text
    content_id: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- real-name users and API keys (issue #6; migration 0005_gateway; written by synthguard.identity) --


class IdentityOrg(Base):
    """An organisation user (enterprise), identified by its unified social credit code (GB 32100)."""

    __tablename__ = "identity_orgs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdentityUser(Base):
    """A service user (Art. 9): ID number and mobile AES-GCM sealed, shown masked, HMAC for duplicates."""

    __tablename__ = "identity_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    org_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    doc_type: Mapped[str] = mapped_column(String(16), default="")
    id_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    id_number_masked: Mapped[str] = mapped_column(String(32), default="")
    id_number_hmac: Mapped[str] = mapped_column(String(64), default="", index=True)
    mobile_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    mobile_masked: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="unverified")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    verification_level: Mapped[str] = mapped_column(String(16), default="")  # format | 2e | 3e | liveness
    verified_by: Mapped[str] = mapped_column(String(64), default="")
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    provider_request_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdentityStatusEvent(Base):
    """Every status change of a user, with who, why and until when (the sanction history)."""

    __tablename__ = "identity_status_events"
    __table_args__ = (Index("ix_identity_status_events_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    previous: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    actor: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdentityAgreement(Base):
    """A user's acceptance of the service agreement and labeling-method notice (Art. 8; Measures Art. 9)."""

    __tablename__ = "identity_agreements"
    __table_args__ = (Index("ix_identity_agreements_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(64))
    text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    channel: Mapped[str] = mapped_column(String(32), default="")


class ApiKey(Base):
    """An API key: only the SHA-256 of the secret is stored; ``prefix`` identifies it in lists."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16), default="user")  # user | admin
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    rate_per_min: Mapped[int] = mapped_column(Integer, default=0)  # 0: unlimited
    quota: Mapped[int] = mapped_column(Integer, default=0)  # 0: unlimited
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiKeyWindow(Base):
    """Requests per key per minute: the rate limit every replica shares."""

    __tablename__ = "api_key_windows"

    key_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


# --- review payloads, four-eyes approvals, login throttle (issue #8; migration 0007_review_payloads) --


class ReviewPayload(Base):
    """The text and media of a queued review item, AES-GCM sealed under its month's data key
    (review/payloads.py); the sealed columns are erased when the item's retention ends."""

    __tablename__ = "review_payloads"

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    period: Mapped[str] = mapped_column(String(16))
    text_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    media_type: Mapped[str] = mapped_column(String(64), default="")
    media_size: Mapped[int] = mapped_column(BigInteger, default=0)
    media_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    media_note: Mapped[str] = mapped_column(String(32), default="")  # "" | too_large | erased
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReviewDataKey(Base):
    """A month's review data key wrapped by a key derived from the ledger master key; destroying it
    crypto-shreds every payload sealed that month (backups included)."""

    __tablename__ = "review_data_keys"

    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GovApproval(Base):
    """A four-eyes request: a consequential action waits here until a second staff member approves."""

    __tablename__ = "gov_approvals"
    __table_args__ = (Index("ix_gov_approvals_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # user.ban|user.unban|refutation.publish|incident.report
    target_id: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected|...
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_role: Mapped[str] = mapped_column(String(16), default="")
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(128), default="")
    decided_role: Mapped[str] = mapped_column(String(16), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class ConsoleLoginThrottle(Base):
    """Failed console logins per account (``user:<name>``) or client (``ip:<addr>``), shared by replicas."""

    __tablename__ = "console_login_throttle"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
