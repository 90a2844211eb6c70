"""notification delivery

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 02:40:00.000000

Several devices per agent, each labelled and switchable; how many requests a push took;
which channel reached the agent about an offer; and employees' mailed sign-in links with
the long-lived device sessions they start.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=100), nullable=False, server_default='Unknown device'))
        batch_op.add_column(sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('last_success_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_failure_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='1'))

    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_via', sa.String(length=16), nullable=True))

    op.create_table('agent_sign_in_links',
    sa.Column('agent_id', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('used_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_sign_in_links_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_sign_in_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_agent_sign_in_links_token_hash'))
    )
    with op.batch_alter_table('agent_sign_in_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sign_in_links_agent_id'), ['agent_id'], unique=False)

    op.create_table('device_sessions',
    sa.Column('agent_id', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('last_seen_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('revoked_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('link_id', sa.String(length=32), nullable=True),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_device_sessions_agent_id_agents')),
    sa.ForeignKeyConstraint(['link_id'], ['agent_links.id'], name=op.f('fk_device_sessions_link_id_agent_links')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_device_sessions_token_hash'))
    )
    with op.batch_alter_table('device_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_sessions_agent_id'), ['agent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_sessions_agent_id'))
    op.drop_table('device_sessions')

    with op.batch_alter_table('agent_sign_in_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sign_in_links_agent_id'))
    op.drop_table('agent_sign_in_links')

    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('notified_via')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('attempts')

    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('last_failure_at')
        batch_op.drop_column('last_success_at')
        batch_op.drop_column('enabled')
        batch_op.drop_column('label')
