"""call statistics: queue_log lines, follower offsets, 15-minute roll-ups

Revision ID: 0009
Revises: 0013
Create Date: 2026-12-05 07:00:00

Asterisk's queue_log is imported line by line (each once, by a hash of the line); reports read
the roll-ups call_stats (call_totals: the same summed over queue, agent and branch) and menu_stats, recomputed per 15-minute interval marked in stat_dirty.
calls gains updated_at (the roll-up job finds changed calls by it) and wrap_seconds.
"""
import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0013'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _int(name: str, big: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger() if big else sa.Integer(), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('wrap_seconds', sa.Integer(), nullable=True))
        # Existing rows get the migration's time: the first roll-up run reads them all.
        batch.add_column(sa.Column('updated_at', sa.DateTime(), nullable=False,
                                   server_default=sa.text("CURRENT_TIMESTAMP")))
    with op.batch_alter_table('calls') as batch:
        batch.alter_column('updated_at', server_default=None)
        batch.create_index('ix_calls_updated_at', ['updated_at'])
    op.create_table(
        'queue_log_files',
        sa.Column('path', sa.String(length=255), nullable=False),
        _int('device', True), _int('inode', True), _int('offset', True), _int('line_no'),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('path'))
    op.create_table(
        'queue_log',
        sa.Column('id', BIG_ID, nullable=False),
        _int('line_key', True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('entered_at', sa.DateTime(), nullable=False),
        sa.Column('callid', sa.String(length=64), nullable=False),
        sa.Column('queue', sa.String(length=64), nullable=False),
        sa.Column('agent', sa.String(length=128), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        *(sa.Column(f'data{i}', sa.String(length=255), nullable=False) for i in range(1, 5)),
        sa.Column('data5', sa.Text(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('line_key'))
    op.create_index('ix_queue_log_entered_at', 'queue_log', ['entered_at'])
    op.create_index('ix_queue_log_callid', 'queue_log', ['callid'])
    op.create_index('ix_queue_log_call_id', 'queue_log', ['call_id'])
    op.create_index('ix_queue_log_event_at', 'queue_log', ['event', 'at'])
    op.create_table(
        'call_stats',
        sa.Column('bucket', sa.DateTime(), nullable=False),
        sa.Column('transport', sa.String(length=12), nullable=False),
        sa.Column('queue', sa.String(length=64), nullable=False),
        _int('agent_id'),
        sa.Column('agent', sa.String(length=128), nullable=False),
        sa.Column('branch', sa.String(length=32), nullable=False),
        *(_int(n) for n in ('calls', 'self_served', 'menu_abandoned', 'failed', 'callbacks', 'called_back',
                            'offered', 'answered', 'answered_in_sl', 'abandoned', 'short_abandoned', 'timeouts')),
        _int('wait_sum', True), _int('wait_max'), _int('hold_sum', True), _int('talk_sum', True),
        _int('wrap_sum', True), _int('refusals'),
        sa.PrimaryKeyConstraint('bucket', 'transport', 'queue', 'agent_id', 'agent', 'branch'))
    op.create_table(
        'call_totals',
        sa.Column('bucket', sa.DateTime(), nullable=False),
        sa.Column('transport', sa.String(length=12), nullable=False),
        *(_int(n) for n in ('calls', 'self_served', 'menu_abandoned', 'failed', 'callbacks', 'called_back',
                            'offered', 'answered', 'answered_in_sl', 'abandoned', 'short_abandoned', 'timeouts')),
        _int('wait_sum', True), _int('wait_max'), _int('hold_sum', True), _int('talk_sum', True),
        _int('wrap_sum', True), _int('refusals'),
        sa.PrimaryKeyConstraint('bucket', 'transport'))
    op.create_table(
        'menu_stats',
        sa.Column('bucket', sa.DateTime(), nullable=False),
        sa.Column('transport', sa.String(length=12), nullable=False),
        sa.Column('branch', sa.String(length=32), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('hangup_node', sa.String(length=32), nullable=False),
        _int('calls'),
        sa.PrimaryKeyConstraint('bucket', 'transport', 'branch', 'outcome', 'hangup_node'))
    op.create_table('stat_dirty', sa.Column('bucket', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('bucket'))
    op.create_table('stat_watermarks', sa.Column('name', sa.String(length=32), nullable=False),
                    sa.Column('value', sa.DateTime(), nullable=False), sa.PrimaryKeyConstraint('name'))


def downgrade() -> None:
    for table in ('stat_watermarks', 'stat_dirty', 'menu_stats', 'call_totals', 'call_stats', 'queue_log', 'queue_log_files'):
        op.drop_table(table)
    with op.batch_alter_table('calls') as batch:
        batch.drop_index('ix_calls_updated_at')
        batch.drop_column('updated_at')
        batch.drop_column('wrap_seconds')
