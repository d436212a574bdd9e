"""Evidence ledger: Merkle log entries and hashes, sealed personal data, data keys, checkpoints.

Revision ID: 0002_ledger
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

# INTEGER on SQLite aliases the rowid; BIGINT elsewhere (10^10 entries do not fit in 32 bits).
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("seq", KEY, primary_key=True, autoincrement=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("content_id", sa.String(64), nullable=True),
        sa.Column("logged_at_us", sa.BigInteger(), nullable=False),
        sa.Column("user_ref", sa.String(64), nullable=True),
        sa.Column("idem_key", sa.String(128), nullable=True),
    )
    # No index on time: it never decreases along seq, so a time range is found by bisecting seq.
    op.create_index("ix_ledger_entries_content_id", "ledger_entries", ["content_id"])
    user_set = sa.text("user_ref IS NOT NULL")
    op.create_index(
        "ix_ledger_entries_user_ref",
        "ledger_entries",
        ["user_ref"],
        sqlite_where=user_set,
        postgresql_where=user_set,
    )
    idem_set = sa.text("idem_key IS NOT NULL")
    op.create_index(
        "ux_ledger_entries_idem_key",
        "ledger_entries",
        ["idem_key"],
        unique=True,
        sqlite_where=idem_set,
        postgresql_where=idem_set,
    )
    op.create_table(
        "ledger_hashes",
        sa.Column("id", KEY, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "ledger_personal",
        sa.Column("seq", KEY, primary_key=True, autoincrement=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "ledger_data_keys",
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("destroyed_at_us", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", KEY, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_data_keys")
    op.drop_table("ledger_personal")
    for name in (
        "ux_ledger_entries_idem_key",
        "ix_ledger_entries_user_ref",
        "ix_ledger_entries_content_id",
    ):
        op.drop_index(name, "ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_hashes")
