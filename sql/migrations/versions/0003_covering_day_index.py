"""covering index for a franchisee's orders on a service day; one redundant index less

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:30:00

Dispatch counts each candidate's orders on the service day in the capacity states. With
(franchisee_id, scheduled_start) the status of every order in the range is read from the table;
with the status in the index the count reads the index alone (about a third of the time at a
few hundred orders a day). It replaces the two-column index, which it covers.

The single-column ix_work_orders_franchisee_id goes too: both franchisee indexes lead with the
column, so it served no query and cost every insert and every dispatch an index write.
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_work_orders_franchisee_day', 'work_orders', ['franchisee_id', 'scheduled_start', 'status'])
    op.drop_index('ix_work_orders_franchisee_start', table_name='work_orders')
    op.drop_index('ix_work_orders_franchisee_id', table_name='work_orders')


def downgrade() -> None:
    op.create_index('ix_work_orders_franchisee_id', 'work_orders', ['franchisee_id'])
    op.create_index('ix_work_orders_franchisee_start', 'work_orders', ['franchisee_id', 'scheduled_start'])
    op.drop_index('ix_work_orders_franchisee_day', table_name='work_orders')
