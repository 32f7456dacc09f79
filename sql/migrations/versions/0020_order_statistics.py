"""work-order statistics: daily roll-ups of orders, refusals and surveys, and per-order lead times

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-05 11:00:00

The order, franchisee and satisfaction reports read these instead of the raw order tables
(tickets/order_rollups.py): order_stats per local day, hour of booking, channel, service,
district, franchisee and status; order_leads one slim row per order with its lead times (the
percentiles stay exact); refusal_stats per day of the refusal and refusing franchisee;
survey_stats per day asked and worker. Days to recompute are marked in order_stat_dirty.
"""
import sqlalchemy as sa
from alembic import op


revision = '0020'
down_revision = '0017'
branch_labels = None
depends_on = None

ORDER_MEASURES = ('booked', 'dispatched', 'completed', 'cancelled', 'open', 'refusals', 'redispatches',
                  'accept_known', 'accepted_in_time', 'started', 'started_in_time')
LEGS = ('book_dispatch', 'dispatch_accept', 'accept_start', 'start_complete', 'book_complete')


def _int(name: str, big: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger() if big else sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        'order_stats',
        sa.Column('day', sa.Date(), nullable=False), _int('hour'),
        sa.Column('channel', sa.String(length=12), nullable=False), _int('service_id'), _int('district_id'),
        _int('franchisee_id'), sa.Column('status', sa.String(length=16), nullable=False),
        *(_int(n) for n in ORDER_MEASURES), _int('penalty_fen', True), _int('revenue_fen', True),
        sa.PrimaryKeyConstraint('day', 'hour', 'channel', 'service_id', 'district_id', 'franchisee_id', 'status'))
    op.create_table(
        'order_leads',
        sa.Column('order_id', sa.Integer(), nullable=False), sa.Column('day', sa.Date(), nullable=False),
        _int('hour'), sa.Column('channel', sa.String(length=12), nullable=False), _int('service_id'),
        _int('district_id'), _int('franchisee_id'), sa.Column('status', sa.String(length=16), nullable=False),
        *(sa.Column(leg, sa.Float(), nullable=True) for leg in LEGS),
        sa.PrimaryKeyConstraint('order_id'))
    op.create_index('ix_order_leads_day', 'order_leads', ['day'])
    op.create_table(
        'refusal_stats',
        sa.Column('day', sa.Date(), nullable=False), _int('service_id'), _int('district_id'), _int('franchisee_id'),
        _int('rejects'), _int('expiries'),
        sa.PrimaryKeyConstraint('day', 'service_id', 'district_id', 'franchisee_id'))
    op.create_table(
        'survey_stats',
        sa.Column('day', sa.Date(), nullable=False), _int('service_id'), _int('district_id'), _int('franchisee_id'),
        _int('worker_id'), _int('surveys'), _int('answered'), _int('score_sum'),
        *(_int(f'score_{n}') for n in range(1, 6)),
        sa.PrimaryKeyConstraint('day', 'service_id', 'district_id', 'franchisee_id', 'worker_id'))
    op.create_table('order_stat_dirty', sa.Column('day', sa.Date(), nullable=False), sa.PrimaryKeyConstraint('day'))


def downgrade() -> None:
    op.drop_index('ix_order_leads_day', table_name='order_leads')
    for table in ('order_stat_dirty', 'survey_stats', 'refusal_stats', 'order_leads', 'order_stats'):
        op.drop_table(table)
