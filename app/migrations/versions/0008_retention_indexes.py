"""Indexes the retention purges read: events by age, hosted links by expiry and by spend time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The purge deletes the oldest events first, a batch at a time.
    op.create_index("ix_events_created", "events", ["created"])
    # A link goes once it was spent, or expired, long enough ago: one index for each side.
    op.create_index("ix_verification_links_expires_at", "verification_links", ["expires_at"])
    op.create_index("ix_verification_links_spent_at", "verification_links", ["spent_at"])


def downgrade() -> None:
    op.drop_index("ix_verification_links_spent_at", table_name="verification_links")
    op.drop_index("ix_verification_links_expires_at", table_name="verification_links")
    op.drop_index("ix_events_created", table_name="events")
