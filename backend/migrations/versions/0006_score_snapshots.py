"""score snapshots

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 02:00:00.000000

Each agent's pursuit score once per UTC day, the points of the trend managers see:
decayed statistics cannot be evaluated at an instant before their last update.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('score_snapshots',
    sa.Column('agent_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('observations', sa.Integer(), nullable=False),
    sa.Column('taken_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_score_snapshots_agent_id_agents')),
    sa.PrimaryKeyConstraint('agent_id', 'day', name=op.f('pk_score_snapshots'))
    )


def downgrade() -> None:
    op.drop_table('score_snapshots')
