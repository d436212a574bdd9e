"""SQLAlchemy 2 models: the state every replica must see lives here, never only in memory.

Tables of the foundation: ``signing_keys`` (public halves of every key that ever signed a label, so
``verify`` can tell "unknown key" from "altered") and ``label_records`` (one row per label issued or
propagated: the content ID resolves here). Later capabilities add their own tables and migrations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, String, Text
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
