"""Webhook endpoints and their deliveries (one row per event and endpoint).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# Byte-order collation on Postgres, as SQLite's default: ties list in the same order on both.
ID = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", ID, primary_key=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        _timestamp("created"),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("enabled_events", JSON, nullable=False),
        sa.Column("api_version", sa.String(64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("previous_secret", sa.String(128), nullable=True),
        _timestamp("previous_secret_expires_at", nullable=True),
    )
    op.create_index(
        "ix_webhook_endpoints_scope_created",
        "webhook_endpoints",
        ["account_id", "livemode", "created", "id"],
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), sa.ForeignKey("events.id"), nullable=False),
        sa.Column(
            "endpoint_id", sa.String(64), sa.ForeignKey("webhook_endpoints.id"), nullable=False
        ),
        _timestamp("created"),
        _timestamp("next_attempt_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _timestamp("succeeded_at", nullable=True),
        _timestamp("last_attempt_at", nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(255), nullable=True),
        sa.Column("last_response", sa.String(), nullable=True),
    )
    # Workers claim due attempts in this order; finished deliveries have no next attempt.
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at", "id"])
    # An event's pending count (`pending_webhooks`), and at most one delivery per endpoint.
    op.create_index(
        "ix_webhook_deliveries_event",
        "webhook_deliveries",
        ["event_id", "endpoint_id"],
        unique=True,
    )
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
