"""Initial schema: accounts, API keys, verification flows and verification sessions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# Ids order ties in every list; byte order ("C") on Postgres matches SQLite's BINARY, so both
# backends list sessions created in the same microsecond in the same order.
ID = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        _timestamp("created"),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        _timestamp("created"),
    )
    op.create_index("ix_api_keys_account_id", "api_keys", ["account_id"])
    op.create_table(
        "verification_flows",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("options", JSON, nullable=False),
        _timestamp("created"),
    )
    op.create_table(
        "verification_sessions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        _timestamp("created"),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("verification_flow", sa.String(64), nullable=True),
        sa.Column("client_reference_id", sa.String(), nullable=True),
        sa.Column("related_customer", sa.String(), nullable=True),
        sa.Column("return_url", sa.String(), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("provided_details", JSON, nullable=True),
        sa.Column("last_error", JSON, nullable=True),
        sa.Column("last_verification_report", sa.String(64), nullable=True),
        sa.Column("verified_outputs", JSON, nullable=True),
        sa.Column("redaction_status", sa.String(32), nullable=True),
        sa.Column("client_secret", sa.String(128), nullable=True),
        _timestamp("client_secret_expires_at", nullable=True),
        sa.Column("url_token", sa.String(64), nullable=True, unique=True),
        _timestamp("url_expires_at", nullable=True),
    )
    scope = ["account_id", "livemode"]
    order = ["created", "id"]
    op.create_index("ix_sessions_scope_created", "verification_sessions", [*scope, *order])
    op.create_index("ix_sessions_scope_status", "verification_sessions", [*scope, "status", *order])
    op.create_index(
        "ix_sessions_scope_client_reference",
        "verification_sessions",
        [*scope, "client_reference_id", *order],
    )
    op.create_index(
        "ix_sessions_scope_customer", "verification_sessions", [*scope, "related_customer", *order]
    )


def downgrade() -> None:
    op.drop_table("verification_sessions")
    op.drop_table("verification_flows")
    op.drop_table("api_keys")
    op.drop_table("accounts")
