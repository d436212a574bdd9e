"""Review engine: provider risks, versioned keyword library, decisions, human review queue.

Revision ID: 0003_review
Revises: 0002_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_review"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "review_risks",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("group", sa.String(8), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("default_action", sa.String(16), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "review_library_versions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        _ts("created_at"),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
    )
    op.create_table(
        "review_library_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("term", sa.String(512), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("near_term", sa.String(512), nullable=False),
        sa.Column("within", sa.Integer(), nullable=False),
        sa.Column("pinyin", sa.Boolean(), nullable=False),
        sa.Column("initials", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("added_version", sa.Integer(), nullable=False),
        sa.Column("removed_version", sa.Integer(), nullable=True),
        _ts("added_at"),
    )
    op.create_index("ix_review_library_entries_live", "review_library_entries", ["removed_version"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _ts("created_at"),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("user_status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("text_chars", sa.Integer(), nullable=False),
        sa.Column("library_version", sa.Integer(), nullable=False),
        sa.Column("ledger_ref", sa.String(64), nullable=False),
    )
    op.create_index("ix_review_decisions_user", "review_decisions", ["user_id", "created_at"])
    op.create_table(
        "review_queue_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        _ts("due_at"),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        _ts("claimed_at", nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=False),
        _ts("decided_at", nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_review_queue_items_status", "review_queue_items", ["status", "due_at"])
    op.create_table(
        "review_queue_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_review_queue_notes_item", "review_queue_notes", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_review_queue_notes_item", "review_queue_notes")
    op.drop_table("review_queue_notes")
    op.drop_index("ix_review_queue_items_status", "review_queue_items")
    op.drop_table("review_queue_items")
    op.drop_index("ix_review_decisions_user", "review_decisions")
    op.drop_table("review_decisions")
    op.drop_index("ix_review_library_entries_live", "review_library_entries")
    op.drop_table("review_library_entries")
    op.drop_table("review_library_versions")
    op.drop_table("review_risks")
