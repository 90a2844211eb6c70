"""redundant indexes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:40:00.000000

Four single-column indexes whose column already leads a composite index: every query
they served is served by the composite one, and every lead and offer written paid for
keeping them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ('leads', 'ix_leads_status', 'status'),
    ('leads', 'ix_leads_owner_id', 'owner_id'),
    ('leads', 'ix_leads_received_at', 'received_at'),
    ('offers', 'ix_offers_agent_id', 'agent_id'),
)


def upgrade() -> None:
    for table, index, _column in DROPPED:
        op.drop_index(index, table_name=table)


def downgrade() -> None:
    for table, index, column in DROPPED:
        op.create_index(index, table, [column], unique=False)
