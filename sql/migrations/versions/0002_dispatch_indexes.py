"""dispatch indexes: a franchisee's orders by service day and by status

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:30:00

Dispatch counts, for each candidate franchisee, its orders on the service day (capacity) and
its open orders (load). With only the single-column franchisee index those counts read every
order the franchisee ever had; these two make them range scans.
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_work_orders_franchisee_start', 'work_orders', ['franchisee_id', 'scheduled_start'])
    op.create_index('ix_work_orders_franchisee_status', 'work_orders', ['franchisee_id', 'status'])


def downgrade() -> None:
    op.drop_index('ix_work_orders_franchisee_status', table_name='work_orders')
    op.drop_index('ix_work_orders_franchisee_start', table_name='work_orders')
