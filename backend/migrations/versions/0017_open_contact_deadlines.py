"""the contact chase reads only open deadlines

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:30:00.000000

An accepted offer kept its contact deadline after its owner made contact, and after it
was withdrawn, so the chase's index grew with every lead ever accepted and each sweep
walked past all of them. A first contact, or a close without one, now clears the
deadline, and the index holds only accepted offers that still have one. Deadlines of
leads already contacted or closed are cleared here; a downgrade cannot bring them back,
and nothing reads them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status = 'accepted' AND contact_due_at IS NOT NULL")
WITH_DEADLINE = sa.text('contact_due_at IS NOT NULL')


def upgrade() -> None:
    op.execute(
        "UPDATE offers SET contact_due_at = NULL"
        " WHERE status = 'accepted' AND contact_due_at IS NOT NULL"
        " AND lead_id IN (SELECT id FROM leads"
        " WHERE first_contact_at IS NOT NULL OR status IN ('won', 'lost'))"
    )
    op.drop_index('ix_offers_status_contact_due', table_name='offers')
    op.create_index(
        'ix_offers_status_contact_due',
        'offers',
        ['status', 'contact_due_at'],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index('ix_offers_status_contact_due', table_name='offers')
    op.create_index(
        'ix_offers_status_contact_due',
        'offers',
        ['status', 'contact_due_at'],
        sqlite_where=WITH_DEADLINE,
        postgresql_where=WITH_DEADLINE,
    )
