"""Documents registered through automatic persisted queries, shared by every process.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Byte-order collation on Postgres, as SQLite's default: eviction breaks ties in the same order.
HASH = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "persisted_queries",
        sa.Column("sha256", HASH, primary_key=True),
        sa.Column("query", sa.String(), nullable=False),
        _timestamp("created"),
        _timestamp("last_used"),
    )
    # Eviction deletes from the old end of this index; lookups use the primary key.
    op.create_index("ix_persisted_queries_last_used", "persisted_queries", ["last_used", "sha256"])


def downgrade() -> None:
    op.drop_table("persisted_queries")
