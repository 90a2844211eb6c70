"""indexes no query reads

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:00:00.000000

No query looks offers up by broadcast or leads up by the lead they return to, yet every
offer and lead written paid for those two indexes. The index the contact chase reads
keeps only offers with a contact deadline: an offer gets one when it is accepted, so
the many offers never accepted stay out of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ('offers', 'ix_offers_broadcast_id', 'broadcast_id'),
    ('leads', 'ix_leads_previous_lead_id', 'previous_lead_id'),
)
WITH_DEADLINE = sa.text('contact_due_at IS NOT NULL')


def upgrade() -> None:
    for table, index, _column in DROPPED:
        op.drop_index(index, table_name=table)
    op.drop_index('ix_offers_status_contact_due', table_name='offers')
    op.create_index(
        'ix_offers_status_contact_due',
        'offers',
        ['status', 'contact_due_at'],
        sqlite_where=WITH_DEADLINE,
        postgresql_where=WITH_DEADLINE,
    )


def downgrade() -> None:
    op.drop_index('ix_offers_status_contact_due', table_name='offers')
    op.create_index('ix_offers_status_contact_due', 'offers', ['status', 'contact_due_at'])
    for table, index, column in DROPPED:
        op.create_index(index, table, [column], unique=False)
