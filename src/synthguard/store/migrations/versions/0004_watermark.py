"""Watermarks: the mark ids carried in invisible watermarks, resolving to content ids.

Revision ID: 0004_watermark
Revises: 0003_review
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_watermark"
down_revision = "0003_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Audio marks (20-bit ids) and image/video marks (40-bit ids) share one id space: a mark id is
    # drawn below the smaller limit when it must fit an audio payload, so the key is the id alone.
    op.create_table(
        "watermark_records",
        sa.Column("mark_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("content_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_watermark_records_content_id", "watermark_records", ["content_id"])


def downgrade() -> None:
    op.drop_index("ix_watermark_records_content_id", "watermark_records")
    op.drop_table("watermark_records")
