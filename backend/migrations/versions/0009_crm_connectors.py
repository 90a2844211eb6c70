"""crm connectors

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 02:30:00.000000

CRM connections with encrypted credentials, the records leads are linked to, the durable
outbox of status write-backs, and inbound webhook deliveries kept before they are acted on.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table('crm_connections',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('sync_all', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('paused_until', UTC_TIME, nullable=True),
    sa.Column('last_success_at', UTC_TIME, nullable=True),
    sa.Column('last_error_at', UTC_TIME, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('reconciled_at', UTC_TIME, nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_connections'))
    )
    op.create_table('crm_links',
    sa.Column('connection_id', sa.String(length=32), nullable=False),
    sa.Column('lead_id', sa.String(length=32), nullable=False),
    sa.Column('inquiry_id', sa.String(length=32), nullable=True),
    sa.Column('object_type', sa.String(length=32), nullable=True),
    sa.Column('record_id', sa.String(length=64), nullable=True),
    sa.Column('written', sa.JSON(), nullable=False),
    sa.Column('remote_status', sa.String(length=100), nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['crm_connections.id'], name=op.f('fk_crm_links_connection_id_crm_connections')),
    sa.ForeignKeyConstraint(['inquiry_id'], ['inquiries.id'], name=op.f('fk_crm_links_inquiry_id_inquiries')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_crm_links_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_links')),
    sa.UniqueConstraint('connection_id', 'lead_id', name='uq_crm_links_connection_lead')
    )
    op.create_index('ix_crm_links_record', 'crm_links', ['connection_id', 'object_type', 'record_id'], unique=False)
    op.create_index(op.f('ix_crm_links_lead_id'), 'crm_links', ['lead_id'], unique=False)
    op.create_table('crm_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('connection_id', sa.String(length=32), nullable=False),
    sa.Column('lead_id', sa.String(length=32), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTC_TIME, nullable=False),
    sa.Column('lease_until', UTC_TIME, nullable=True),
    sa.Column('leased_by', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('delivered_at', UTC_TIME, nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['crm_connections.id'], name=op.f('fk_crm_outbox_connection_id_crm_connections')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_crm_outbox_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_outbox'))
    )
    op.create_index('ix_crm_outbox_due', 'crm_outbox', ['status', 'next_attempt_at'], unique=False)
    op.create_index('ix_crm_outbox_lead', 'crm_outbox', ['connection_id', 'lead_id', 'status'], unique=False)
    op.create_table('crm_inbound',
    sa.Column('connection_id', sa.String(length=32), nullable=False),
    sa.Column('delivery_id', sa.String(length=100), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=64), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTC_TIME, nullable=False),
    sa.Column('lease_until', UTC_TIME, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('lead_id', sa.String(length=32), nullable=True),
    sa.Column('received_at', UTC_TIME, nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['crm_connections.id'], name=op.f('fk_crm_inbound_connection_id_crm_connections')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_crm_inbound_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_inbound')),
    sa.UniqueConstraint('connection_id', 'delivery_id', name='uq_crm_inbound_connection_delivery')
    )
    op.create_index('ix_crm_inbound_status', 'crm_inbound', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_crm_inbound_status', table_name='crm_inbound')
    op.drop_table('crm_inbound')
    op.drop_index('ix_crm_outbox_lead', table_name='crm_outbox')
    op.drop_index('ix_crm_outbox_due', table_name='crm_outbox')
    op.drop_table('crm_outbox')
    op.drop_index(op.f('ix_crm_links_lead_id'), table_name='crm_links')
    op.drop_index('ix_crm_links_record', table_name='crm_links')
    op.drop_table('crm_links')
    op.drop_table('crm_connections')
