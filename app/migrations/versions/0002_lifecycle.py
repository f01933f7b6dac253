"""The verification lifecycle: hosted-page links, reports, events and background jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
# BIGINT identity on Postgres; SQLite only auto-increments an INTEGER PRIMARY KEY.
SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _session() -> sa.Column:
    return sa.Column(
        "session_id", sa.String(64), sa.ForeignKey("verification_sessions.id"), nullable=False
    )


def _account() -> sa.Column:
    return sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "verification_links",
        sa.Column("token", sa.String(64), primary_key=True),
        _session(),
        _timestamp("expires_at"),
        _timestamp("spent_at", nullable=True),
    )
    op.create_index("ix_verification_links_session_id", "verification_links", ["session_id"])
    # Sessions made before this revision get their current link recorded.
    op.execute(
        "INSERT INTO verification_links (token, session_id, expires_at) "
        "SELECT url_token, id, url_expires_at FROM verification_sessions WHERE url_token IS NOT NULL"
    )

    op.create_table(
        "verification_reports",
        sa.Column("id", ID, primary_key=True),
        _account(),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        _timestamp("created"),
        _session(),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("client_reference_id", sa.String(), nullable=True),
        sa.Column("options", JSON, nullable=False),
        *(
            sa.Column(check, JSON, nullable=True)
            for check in ("document", "id_number", "selfie", "email", "phone")
        ),
    )
    scope = ["account_id", "livemode"]
    order = ["created", "id"]
    op.create_index("ix_reports_scope_created", "verification_reports", [*scope, *order])
    op.create_index(
        "ix_reports_scope_session", "verification_reports", [*scope, "session_id", *order]
    )
    op.create_index("ix_reports_scope_type", "verification_reports", [*scope, "type", *order])

    op.create_table(
        "events",
        sa.Column("sequence", SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        _account(),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        _timestamp("created"),
        sa.Column("type", sa.String(64), nullable=False),
        _session(),
        sa.Column("data", JSON, nullable=False),
    )
    op.create_index("ix_events_scope_sequence", "events", [*scope, "sequence"])
    op.create_index("ix_events_scope_session", "events", [*scope, "session_id", "sequence"])
    op.create_index("ix_events_scope_type", "events", [*scope, "type", "sequence"])

    op.create_table(
        "jobs",
        sa.Column("id", SEQUENCE, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        _session(),
        _timestamp("run_at"),
        sa.Column("payload", JSON, nullable=False),
    )
    op.create_index("ix_jobs_due", "jobs", ["run_at", "id"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("events")
    op.drop_table("verification_reports")
    op.drop_table("verification_links")
