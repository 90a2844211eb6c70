"""idempotency digest

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 00:45:00.000000

A digest of the request each stored idempotent reply answered, so a key reused for a
different request is refused instead of silently answered with the first reply.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('idempotent_replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotent_replies', schema=None) as batch_op:
        batch_op.drop_column('request_digest')
