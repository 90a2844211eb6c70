"""pursuit scores

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 00:10:00.000000

Each agent's decayed evidence for the pursuit score with its run of missed offers and
whether it is unreachable; the pooled evidence of each team and partner company.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agent_evidence',
    sa.Column('agent_id', sa.String(length=32), nullable=False),
    sa.Column('peer_group', sa.String(length=48), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('misses', sa.Integer(), nullable=False),
    sa.Column('unreachable_since', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('unreachable_reason', sa.String(length=32), nullable=True),
    sa.Column('restored_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('restored_by', sa.String(length=100), nullable=True),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_evidence_agent_id_agents')),
    sa.PrimaryKeyConstraint('agent_id', name=op.f('pk_agent_evidence'))
    )
    with op.batch_alter_table('agent_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_evidence_peer_group'), ['peer_group'], unique=False)

    op.create_table('group_evidence',
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_group_evidence'))
    )


def downgrade() -> None:
    op.drop_table('group_evidence')
    with op.batch_alter_table('agent_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_evidence_peer_group'))

    op.drop_table('agent_evidence')
