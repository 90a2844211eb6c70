"""street address

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 08:30:00.000000

A lead's street line as the prospect wrote it, and its folded form beside each filed
prospect key, so coalescing can weigh one address and block on it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('leads', sa.Column('address', sa.String(length=300), nullable=True))
    op.add_column(
        'prospect_keys',
        sa.Column('address', sa.String(length=300), nullable=False, server_default=''),
    )


def downgrade() -> None:
    with op.batch_alter_table('prospect_keys') as batch:
        batch.drop_column('address')
    with op.batch_alter_table('leads') as batch:
        batch.drop_column('address')
