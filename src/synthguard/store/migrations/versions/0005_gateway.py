"""Real-name users, organisations, status history, agreement acceptances, API keys and rate windows.

Revision ID: 0005_gateway
Revises: 0004_watermark
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_gateway"
down_revision = "0004_watermark"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "identity_orgs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("uscc", sa.String(18), nullable=False, unique=True),
        _ts("created_at"),
    )
    op.create_table(
        "identity_users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("doc_type", sa.String(16), nullable=False),
        sa.Column("id_number_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_masked", sa.String(32), nullable=False),
        sa.Column("id_number_hmac", sa.String(64), nullable=False),
        sa.Column("mobile_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("mobile_masked", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        _ts("status_until", nullable=True),
        sa.Column("verification_level", sa.String(16), nullable=False),
        sa.Column("verified_by", sa.String(64), nullable=False),
        _ts("verified_at", nullable=True),
        sa.Column("provider_request_id", sa.String(128), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_identity_users_id_number_hmac", "identity_users", ["id_number_hmac"])
    op.create_table(
        "identity_status_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("until", nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_identity_status_events_user", "identity_status_events", ["user_id", "id"])
    op.create_table(
        "identity_agreements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        _ts("accepted_at"),
        sa.Column("channel", sa.String(32), nullable=False),
    )
    op.create_index("ix_identity_agreements_user", "identity_agreements", ["user_id"])
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(24), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("rate_per_min", sa.Integer(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        _ts("created_at"),
        _ts("last_used_at", nullable=True),
        _ts("revoked_at", nullable=True),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "api_key_windows",
        sa.Column("key_id", sa.String(24), primary_key=True),
        sa.Column("minute", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_key_windows")
    op.drop_index("ix_api_keys_user_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_identity_agreements_user", table_name="identity_agreements")
    op.drop_table("identity_agreements")
    op.drop_index("ix_identity_status_events_user", table_name="identity_status_events")
    op.drop_table("identity_status_events")
    op.drop_index("ix_identity_users_id_number_hmac", table_name="identity_users")
    op.drop_table("identity_users")
    op.drop_table("identity_orgs")
