"""prospect keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 02:40:00.000000

The blocking-key index repeat inquiries are coalesced through, a lead's phone
extension kept apart from its number, and the earlier lead of a returning prospect.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('prospect_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('lead_id', sa.String(length=32), nullable=False),
    sa.Column('inquiry_id', sa.String(length=32), nullable=True),
    sa.Column('received_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=False),
    sa.Column('last_name', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=300), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('city', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_prospect_keys_lead_id_leads')),
    sa.ForeignKeyConstraint(['inquiry_id'], ['inquiries.id'], name=op.f('fk_prospect_keys_inquiry_id_inquiries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prospect_keys'))
    )
    op.create_index('ix_prospect_keys_lookup', 'prospect_keys', ['kind', 'key', 'received_at'], unique=False)
    op.create_index('ix_prospect_keys_lead', 'prospect_keys', ['lead_id', 'kind'], unique=False)
    op.create_index(op.f('ix_prospect_keys_inquiry_id'), 'prospect_keys', ['inquiry_id'], unique=False)
    op.add_column('leads', sa.Column('phone_extension', sa.String(length=16), nullable=True))
    op.add_column('leads', sa.Column('previous_lead_id', sa.String(length=32), nullable=True))
    op.create_index(op.f('ix_leads_previous_lead_id'), 'leads', ['previous_lead_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_leads_previous_lead_id'), table_name='leads')
    with op.batch_alter_table('leads') as batch:
        batch.drop_column('previous_lead_id')
        batch.drop_column('phone_extension')
    op.drop_index(op.f('ix_prospect_keys_inquiry_id'), table_name='prospect_keys')
    op.drop_index('ix_prospect_keys_lead', table_name='prospect_keys')
    op.drop_index('ix_prospect_keys_lookup', table_name='prospect_keys')
    op.drop_table('prospect_keys')
