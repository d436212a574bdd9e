"""Sealed review payloads (text + media preview), four-eyes approvals, console login throttle (#8).

Revision ID: 0007_review_payloads
Revises: 0006_governance

The queued text of existing review items is personal data kept in clear in
``review_queue_items.content``. Alembic runs without the encryption keys (they come from Settings:
``SYNTHGUARD_LEDGER_MASTER_KEY`` or ``<data_dir>/keys``, which a migration never sees), so this
revision creates ``review_payloads``, and the first ``ReviewQueue`` opened with the keys moves every
row whose ``content`` is not empty into ``review_payloads`` sealed and blanks the clear column, in
one transaction per batch (``ReviewQueue.seal_legacy``; idempotent, so it also catches rows a
not-yet-upgraded replica writes during a rolling upgrade). New rows are never written in clear.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_review_payloads"
down_revision = "0006_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_payloads",
        sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary, nullable=True),
        sa.Column("media_type", sa.String(64), nullable=False, server_default=""),
        sa.Column("media_size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("media_sealed", sa.LargeBinary, nullable=True),
        sa.Column("media_note", sa.String(32), nullable=False, server_default=""),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "review_data_keys",
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "gov_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(128), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_role", sa.String(16), nullable=False, server_default=""),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False, server_default=""),
        sa.Column("decided_role", sa.String(16), nullable=False, server_default=""),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_gov_approvals_status", "gov_approvals", ["status", "id"])
    op.create_table(
        "console_login_throttle",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_index("ix_gov_approvals_status", table_name="gov_approvals")
    for table in ("console_login_throttle", "gov_approvals", "review_data_keys", "review_payloads"):
        op.drop_table(table)
