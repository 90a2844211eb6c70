"""lead search terms

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04 02:50:00.000000

The words of each lead's name, company, email and phone, indexed so the console's search
reads matching leads through the index at any number of leads; existing leads are filled
in. Two indexes let the leads list page newest first, with or without a status.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.create_table('lead_search_terms',
    sa.Column('lead_id', sa.String(length=32), nullable=False),
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_search_terms_lead_id_leads')),
    sa.PrimaryKeyConstraint('lead_id', 'term', name=op.f('pk_lead_search_terms'))
    )
    op.create_index('ix_lead_search_terms_term', 'lead_search_terms', ['term'], unique=False, postgresql_ops={'term': 'varchar_pattern_ops'})
    op.create_index('ix_leads_received_id', 'leads', ['received_at', 'id'], unique=False)
    op.create_index('ix_leads_status_received_id', 'leads', ['status', 'received_at', 'id'], unique=False)
    _fill_existing()


def _fill_existing() -> None:
    from backend.console.models import SEARCHED, lead_terms

    bind = op.get_bind()
    leads = sa.table('leads', sa.column('id'), *(sa.column(key) for key in SEARCHED))
    terms = sa.table('lead_search_terms', sa.column('lead_id'), sa.column('term'))
    last = ''
    while True:
        page = bind.execute(
            sa.select(leads).where(leads.c.id > last).order_by(leads.c.id).limit(BATCH)
        ).mappings().all()
        if not page:
            return
        rows = [{'lead_id': r['id'], 'term': t} for r in page for t in sorted(lead_terms(dict(r)))]
        if rows:
            bind.execute(sa.insert(terms), rows)
        last = page[-1]['id']


def downgrade() -> None:
    op.drop_index('ix_leads_status_received_id', table_name='leads')
    op.drop_index('ix_leads_received_id', table_name='leads')
    op.drop_index('ix_lead_search_terms_term', table_name='lead_search_terms')
    op.drop_table('lead_search_terms')
