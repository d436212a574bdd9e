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
    content_digest: Mapped[str] = mapped_column(String(64))  # hex SHA-256, metadata excluded
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
