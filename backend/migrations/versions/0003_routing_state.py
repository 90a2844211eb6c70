"""routing state

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 22:40:00.000000

A roster version that changes with every write to agents, teams, partners or rules,
kept by triggers so that writes from any process or statement count; routers compare
it with their in-process copy of the roster. Indexes for counting open leads per agent
and the leads one rule offered lately.

Rebuilding one of the watched tables on SQLite (``batch_alter_table`` copies it to a
new table) drops its triggers: such a migration must call ``create_triggers`` again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = ('agents', 'teams', 'partners', 'rules')
NEW_VERSION = {
    'sqlite': "lower(hex(randomblob(16)))",
    'postgresql': "md5(random()::text || clock_timestamp()::text)",
}


def bump(dialect: str) -> str:
    return (
        f"INSERT INTO routing_state (id, roster_version) VALUES (1, {NEW_VERSION[dialect]}) "
        "ON CONFLICT (id) DO UPDATE SET roster_version = excluded.roster_version"
    )


def postgres_function() -> str:
    return (
        "CREATE OR REPLACE FUNCTION bump_roster_version() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN {bump('postgresql')}; RETURN NULL; END $$"
    )


def create_triggers(table: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for action in ('insert', 'update', 'delete'):
            op.execute(
                f"CREATE TRIGGER trg_{table}_{action}_roster_version AFTER {action.upper()} "
                f"ON {table} BEGIN {bump('sqlite')}; END"
            )
        return
    op.execute(
        f"CREATE TRIGGER trg_{table}_roster_version "
        f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION bump_roster_version()"
    )


def drop_triggers(table: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for action in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_{action}_roster_version")
        return
    op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_roster_version ON {table}")


def upgrade() -> None:
    op.create_table('routing_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('roster_version', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_state'))
    )
    dialect = op.get_bind().dialect.name
    op.execute(bump(dialect))
    if dialect != 'sqlite':
        op.execute(postgres_function())
    for table in WATCHED:
        create_triggers(table)

    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index('ix_offers_status_agent', ['status', 'agent_id'], unique=False)
        batch_op.create_index('ix_offers_rule_offered', ['rule_id', 'offered_at'], unique=False)
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index('ix_leads_owner_status', ['owner_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_owner_status')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index('ix_offers_rule_offered')
        batch_op.drop_index('ix_offers_status_agent')

    for table in WATCHED:
        drop_triggers(table)
    if op.get_bind().dialect.name != 'sqlite':
        op.execute("DROP FUNCTION IF EXISTS bump_roster_version()")
    op.drop_table('routing_state')
